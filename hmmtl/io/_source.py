"""Where text enters hmmtl: paths, open streams and iterables of lines, decoded strictly as
UTF-8, with errors that name the file and the line; and atomic writes."""

from __future__ import annotations

import io
import os
from pathlib import Path

__all__ = ["FormatError", "read_source", "atomic_write", "source_name"]


class FormatError(ValueError):
    """Malformed input.  ``path`` names the file (or stream), ``line`` is the 1-based line
    number (None when the problem concerns the whole file), and the message starts with
    ``path:line:`` as compilers print it."""

    def __init__(self, path, line, message: str):
        self.path = str(path) if path is not None else "<input>"
        self.line = line
        self.reason = message
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        # raised on a Dask worker or a Spark executor, it travels back pickled
        return type(self), (self.path, self.line, self.reason)


def source_name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return "<input>"


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FormatError(name, line, f"byte 0x{data[exc.start]:02x} at column {col} is not "
                          f"valid UTF-8; expected a UTF-8 file, try re-encoding it, e.g. "
                          f"`iconv -f latin1 -t utf-8`") from None
    return text


def read_source(source, name: str | None = None) -> tuple[str, str]:
    """Read all text of ``source`` -> ``(text, name)``.

    ``source`` is a path (str or os.PathLike), an open text or binary stream (e.g.
    ``sys.stdin``), or an iterable of lines (with or without their line ends).  Line ends
    are kept as they are so that writers can reproduce the file byte for byte.
    """
    if name is None:
        name = source_name(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{name}: no such file; check the path (corpora are found "
                                    f"through HMMTL_DATA or --data)")
        return _decode(path.read_bytes(), name), name
    if isinstance(source, (bytes, bytearray)):
        return _decode(bytes(source), name), name
    if hasattr(source, "read"):
        try:
            data = source.read()
        except UnicodeDecodeError as exc:
            raise FormatError(name, None, f"not valid UTF-8 ({exc.reason}); expected a UTF-8 "
                              f"stream") from None
        if isinstance(data, (bytes, bytearray)):
            return _decode(bytes(data), name), name
        return data, name
    lines = list(source)
    if lines and isinstance(lines[0], (bytes, bytearray)):
        return _decode(b"".join(x if x.endswith(b"\n") else x + b"\n" for x in lines), name), name
    for line in lines[:1]:
        if not isinstance(line, str):
            raise TypeError(f"expected a path, a text stream or an iterable of str lines, got "
                            f"an iterable of {type(line).__name__}")
    # lines from a file keep their "\n"; lines from a list usually do not
    return "".join(x if x.endswith("\n") else x + "\n" for x in lines), name


def split_lines(text: str) -> tuple[list[str], dict]:
    """Split ``text`` into lines and record what a byte-exact writer needs: the line end
    (``"\\n"`` or ``"\\r\\n"``), whether the last line ends with one, and a byte-order mark."""
    layout = {"newline": "\n", "final_newline": True, "bom": False}
    if text.startswith("\ufeff"):
        layout["bom"] = True
        text = text[1:]
    if "\r\n" in text:
        layout["newline"] = "\r\n"
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        layout["final_newline"] = False
    return lines, layout


def join_lines(lines: list[str], layout: dict) -> str:
    nl = layout.get("newline", "\n")
    text = nl.join(lines)
    if lines and layout.get("final_newline", True):
        text += nl
    if layout.get("bom"):
        text = "\ufeff" + text
    return text


def atomic_write(path, text: str) -> None:
    """Write ``text`` (UTF-8, line ends as given) to ``path`` with the package's one output
    writer (:class:`hmmtl.io.atomic.OutputFile`: a regular file replaced whole through a
    temporary file, a device or pipe written through).  ``path`` may also be an open text
    or binary stream (written directly)."""
    if hasattr(path, "write"):
        if isinstance(path, io.TextIOBase) or "b" not in getattr(path, "mode", "w"):
            try:
                path.write(text)
                return
            except TypeError:
                pass
        path.write(text.encode("utf-8"))
        return
    from .atomic import write_text

    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"{path}: folder {parent} does not exist; create it first")
    write_text(path, text)


def find_blocks(is_separator) -> tuple[list[int], list[int]]:
    """Start and end (exclusive) line indices of the runs of non-separator lines."""
    import numpy as np

    content = ~np.asarray(is_separator, dtype=bool)
    padded = np.concatenate([[False], content, [False]]).astype(np.int8)
    steps = np.diff(padded)
    return np.flatnonzero(steps == 1).tolist(), np.flatnonzero(steps == -1).tolist()


def assign_separators(lines, starts, ends, layout) -> list:
    """Per block, the raw lines between it and the previous block (None for the usual single
    blank line, or nothing before the first block); the lines after the last block go to
    ``layout["trailer"]``."""
    separators = []
    prev = 0
    for k, a in enumerate(starts):
        between = lines[prev:a]
        usual = [""] if k else []
        separators.append(None if between == usual else between)
        prev = ends[k]
    layout["trailer"] = lines[prev:]
    return separators


def layout_lines(blocks, separators, layout) -> list[str]:
    """Inverse of :func:`assign_separators`: interleave blocks (lists of lines) with their
    separators and append the trailer."""
    out: list[str] = []
    for k, block in enumerate(blocks):
        sep = separators[k] if separators is not None else None
        if sep is None:
            if k:
                out.append("")
        else:
            out.extend(sep)
        out.extend(block)
    trailer = layout.get("trailer")
    out.extend([""] if trailer is None else trailer)
    return out
