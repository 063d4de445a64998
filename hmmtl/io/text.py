"""Plain tokenized text: one sentence a line, tokens separated by whitespace.  The unlabeled
data of the HMMs; :func:`iter_text` streams files of any size in batches."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Iterator

from ..data import RaggedBatch, Vocabulary
from ._source import FormatError, atomic_write, read_source, source_name
from .corpus import Corpus

__all__ = ["iter_text", "read_text", "write_text"]

_BOM = "\ufeff"


def _split(text: str) -> list[str]:
    # not str.splitlines: it also breaks at U+2028, \x1c ... which web text contains
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _strip_bom(lines: list[str]) -> list[str]:
    """The first lines of a file without its byte-order mark, which is not part of a word
    (the CoNLL and CoNLL-U readers drop it too)."""
    if lines and lines[0].startswith(_BOM):
        lines[0] = lines[0][1:]
    return lines


def _decode_batch(chunk: list[bytes], name: str, first_line: int) -> list[str]:
    try:
        return _split(b"".join(chunk).decode("utf-8"))
    except UnicodeDecodeError:
        for k, raw in enumerate(chunk):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FormatError(name, first_line + k, f"byte 0x{raw[exc.start]:02x} at column "
                                  f"{exc.start + 1} is not valid UTF-8; expected a UTF-8 file, "
                                  f"try re-encoding it, e.g. `iconv -f latin1 -t utf-8`") from None
        raise


def _line_batches(source, batch_size: int, name: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, decoded lines) of ``batch_size`` lines at a time."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{name}: no such file")
        with open(path, "rb") as f:
            line = 1
            while True:
                chunk = list(itertools.islice(f, batch_size))
                if not chunk:
                    return
                yield line, _decode_batch(chunk, name, line)
                line += len(chunk)
        return
    it = iter(source)
    line = 1
    while True:
        try:
            chunk = list(itertools.islice(it, batch_size))
        except UnicodeDecodeError as exc:
            raise FormatError(name, line, f"not valid UTF-8 at or after this line ({exc.reason})"
                              ) from None
        if not chunk:
            return
        if isinstance(chunk[0], (bytes, bytearray)):
            yield line, _decode_batch([c if c.endswith(b"\n") else c + b"\n" for c in chunk],
                                      name, line)
        else:
            yield line, [c.rstrip("\r\n") for c in chunk]
        line += len(chunk)


def iter_text(source, batch_size: int = 10_000, *, vocab: Vocabulary | None = None,
              lowercase: bool = False) -> Iterator[list[list[str]] | RaggedBatch]:
    """Stream a tokenized text file in batches of sentences, so the corpus never has to fit
    in memory.

    Parameters
    ----------
    source : str, os.PathLike, binary or text stream, or iterable of lines
    batch_size : int
        Lines read per batch (blank lines count, but yield no sentence).
    vocab : Vocabulary, optional
        When given, each batch is encoded and yielded as a :class:`RaggedBatch` of ids, so
        only integer arrays are kept.
    lowercase : bool
        Lowercase tokens as they are read.

    Yields
    ------
    list of list of str, or RaggedBatch
        Blank lines are not sentences and are skipped.

    Raises
    ------
    FormatError
        Bytes that are not UTF-8, with the line.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    name = source_name(source)
    for first_line, lines in _line_batches(source, batch_size, name):
        if first_line == 1:
            lines = _strip_bom(lines)
        if lowercase:
            lines = list(map(str.lower, lines))
        sentences = [s for s in map(str.split, lines) if s]
        if not sentences:
            continue
        yield vocab.encode(sentences) if vocab is not None else sentences


def read_text(source, domain: str | None = None, *, lowercase: bool = False,
              name: str | None = None) -> Corpus:
    """Read a whole tokenized text file (one sentence a line) into a :class:`Corpus` with a
    single ``"word"`` column.  Blank lines are not sentences and are skipped; sentence ids are
    ``file:line``.  Raises :class:`FormatError` for an empty file or bad UTF-8."""
    text, name = read_source(source, name)
    lines = _strip_bom(_split(text))
    if lowercase:
        lines = list(map(str.lower, lines))
    tokens = list(map(str.split, lines))
    keep = [i for i, t in enumerate(tokens) if t]
    if not keep:
        raise FormatError(name, None, "empty file: expected one tokenized sentence a line")
    base = Path(name).name
    stem = base.split(".")[0] if not name.startswith("<") else "default"
    return Corpus(columns={"word": [tokens[i] for i in keep]}, word_column="word",
                  domains=[domain or stem] * len(keep),
                  sent_ids=[f"{base}:{i + 1}" for i in keep], doc_ids=[base] * len(keep),
                  source=name, format="text")


def write_text(corpus, path) -> None:
    """Write token lists (a :class:`Corpus` or a list of token lists) one sentence a line,
    tokens separated by a space, atomically."""
    sentences = corpus.sentences if isinstance(corpus, Corpus) else corpus
    atomic_write(path, "".join(" ".join(s) + "\n" for s in sentences))
