"""The one way hmmtl writes an output file: whole or not at all, and never over a device.

Every writer of the package (tagged files, corpora, model files, study reports and plots)
goes through :class:`OutputFile`:

* a **regular file**, or a path that does not exist yet, is written to a temporary file in
  the same folder, flushed to disk (``fsync``) and renamed over the path only once complete,
  so that a reader never sees half a file and an earlier file survives any failure.  The
  new file gets the permissions a plain ``open(path, "w")`` would give it: those of the file
  it replaces, else ``0o666 & ~umask`` (``0o644`` under the usual umask ``022``);
* a path that exists and is **not a regular file** (a character device such as
  ``/dev/null``, a FIFO, a socket, a ``/dev/fd/N`` pipe of the shell's ``>(...)``,
  ``/dev/stdout``) is opened and written through: renaming a file over it would replace
  the device or the pipe with a regular file that its reader never sees.  Such a write is
  not atomic (a failed run leaves what was written so far), as with any stream;
* a **folder** is refused with an error that says to give a file name.

A symbolic link is followed: its target is what gets replaced, the link stays.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from typing import Any
from pathlib import Path

__all__ = ["OutputFile", "is_stream_target", "write_bytes", "write_text"]

#: the kernel's names of open files (``/dev/stdout``, ``/dev/fd/3``, ``/proc/self/fd/3``),
#: always written through: even when one stands for a regular file, that file is what the
#: shell opened, and replacing it by name would write past the shell's open file
_OPEN_FILE_NAMES = re.compile(r"^/(dev/(fd/\d+|stdout|stderr)|proc/(self|thread-self|\d+)/fd/\d+)$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_stream_target(path: str | os.PathLike) -> bool:
    """Whether ``path`` is written through rather than replaced: it exists and is not a
    regular file or a folder (device, FIFO, socket, pipe), or it is the kernel's name of an
    open file (``/dev/stdout``, ``/dev/fd/N``).  Such a path needs no writable folder."""
    text = os.fspath(path)
    if _OPEN_FILE_NAMES.match(text):
        return True
    try:
        mode = os.stat(text).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


class OutputFile:
    """An output file being written (see the module's description for what happens to
    each kind of path).

    Use it as a context manager: the file is committed when the block ends normally and
    discarded (the temporary file removed, an earlier file left as it was) when it raises.
    ``stream`` is the file object to write to: text (UTF-8, line ends written as given) or,
    with ``binary=True``, bytes.

    Parameters
    ----------
    path : str or path-like
    binary : bool, default False
    what : str, default "output"
        What is written, for error messages ("model file", "results").

    Raises
    ------
    IsADirectoryError
        ``path`` is a folder.
    FileNotFoundError
        The folder of ``path`` does not exist.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with OutputFile(os.path.join(folder, "out.txt")) as f:
    ...     _ = f.stream.write("one line\\n")
    >>> open(os.path.join(folder, "out.txt")).read()
    'one line\\n'
    """

    def __init__(self, path: str | os.PathLike, *, binary: bool = False,
                 what: str = "output"):
        self.path = Path(path)
        self.binary = binary
        self.tmp: str | None = None
        mode = "wb" if binary else "w"
        text_args: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": ""}
        if self.path.is_dir():
            raise IsADirectoryError(f"cannot write {what} {str(path)!r}: it is a folder; give a "
                                    f"file name such as {str(self.path / 'out')!r}")
        if is_stream_target(self.path):
            self.stream = open(self.path, mode, **text_args)  # noqa: SIM115 - closed by close()
            return
        target = Path(os.path.realpath(self.path)) if self.path.is_symlink() else self.path
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise FileNotFoundError(f"cannot write {what} {str(path)!r}: folder "
                                    f"{str(folder)!r} does not exist; create it first")
        try:
            self._mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            self._mode = 0o666 & ~_umask()
        self.target = target
        fd, self.tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        try:
            self.stream = os.fdopen(fd, mode, **text_args)
        except BaseException:
            os.close(fd)
            os.unlink(self.tmp)
            raise

    @property
    def atomic(self) -> bool:
        """False when the path is written through (a device, a FIFO, a pipe)."""
        return self.tmp is not None

    def commit(self) -> None:
        """Finish the file: flushed, and (regular files) synced and renamed into place."""
        if self.tmp is None:
            try:
                self.stream.flush()
            finally:
                self.stream.close()
            return
        try:
            self.stream.flush()
            os.fsync(self.stream.fileno())
            self.stream.close()
            # mkstemp creates the file private (0600); give it the mode of a plain open()
            os.chmod(self.tmp, self._mode)
            os.replace(self.tmp, self.target)
        except BaseException:
            self.discard()
            raise
        self.tmp = None

    def discard(self) -> None:
        """Give up: the temporary file is removed, an earlier file at the path stays."""
        try:
            self.stream.close()
        except OSError:
            pass
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except FileNotFoundError:
                pass
            self.tmp = None

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def write_text(path: str | os.PathLike, text: str, *, what: str = "output") -> Path:
    """Write ``text`` (UTF-8, line ends as given) to ``path`` with :class:`OutputFile`."""
    with OutputFile(path, what=what) as out:
        out.stream.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes, *, what: str = "output") -> Path:
    """Write ``data`` to ``path`` with :class:`OutputFile`."""
    with OutputFile(path, binary=True, what=what) as out:
        out.stream.write(data)
    return Path(path)
