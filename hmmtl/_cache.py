"""Where Numba keeps hmmtl's compiled kernels.

Kernels are compiled with ``cache=True`` so that a second ``hmmtl tag`` starts in well under a
second.  Numba writes its cache next to the source (``__pycache__``), which fails silently when
hmmtl is installed in a read-only location (a system site-packages, a container image).  Then
the cache goes to a per-user folder instead, chosen here before Numba is first imported, since
Numba reads ``NUMBA_CACHE_DIR`` when it is imported.  A ``NUMBA_CACHE_DIR`` set by the user
always wins.

This module must not import numba (nor anything heavy): it runs at ``import hmmtl``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any
from pathlib import Path

__all__ = ["configure_numba_cache", "numba_cache_dir", "user_cache_dir"]

PACKAGE_DIR = Path(__file__).resolve().parent


def user_cache_dir(environ=None) -> Path:
    """The per-user cache folder for hmmtl's kernels: ``$XDG_CACHE_HOME/hmmtl/numba``,
    ``%LOCALAPPDATA%\\hmmtl\\numba`` on Windows, ``~/.cache/hmmtl/numba`` otherwise."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME")
    if not base and sys.platform.startswith("win"):
        base = environ.get("LOCALAPPDATA")
    if not base:
        base = str(Path.home() / ".cache")
    return Path(base) / "hmmtl" / "numba"


def _is_writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (created if missing); tried for real,
    as Numba does, since permission bits say nothing on read-only mounts or as root."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _package_cache_writable(package_dir: Path) -> bool:
    # Numba caches next to each kernel's source file, in that folder's __pycache__.
    folders = [package_dir] + sorted(p for p in package_dir.iterdir()
                                     if p.is_dir() and (p / "__init__.py").exists())
    return all(_is_writable(f / "__pycache__") for f in folders)


def configure_numba_cache(environ=None, package_dir: Path | None = None) -> str | None:
    """Point Numba's cache to :func:`user_cache_dir` when the package folder is read-only.

    Does nothing when ``NUMBA_CACHE_DIR`` is already set or the package can hold its own
    cache.  Safe to call after Numba was imported (the setting is then applied to
    ``numba.config`` too).

    Returns
    -------
    str or None
        The cache folder now in ``NUMBA_CACHE_DIR``, or None when Numba caches in-tree.
    """
    environ = os.environ if environ is None else environ
    if environ.get("NUMBA_CACHE_DIR"):
        return environ["NUMBA_CACHE_DIR"]
    package_dir = PACKAGE_DIR if package_dir is None else Path(package_dir)
    try:
        if _package_cache_writable(package_dir):
            return None
    except OSError:
        pass
    folder = user_cache_dir(environ)
    if not _is_writable(folder):
        return None  # Numba then compiles every run; nothing better to do
    environ["NUMBA_CACHE_DIR"] = str(folder)
    config: Any = sys.modules.get("numba.core.config")
    if config is not None and environ is os.environ:
        config.CACHE_DIR = str(folder)
    return str(folder)


def numba_cache_dir() -> str:
    """Where compiled kernels are cached now, for ``hmmtl info``."""
    folder = os.environ.get("NUMBA_CACHE_DIR")
    if folder:
        return folder
    return f"{PACKAGE_DIR}{os.sep}**{os.sep}__pycache__ (next to the sources)"
