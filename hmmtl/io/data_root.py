"""Where the corpora are: the one lookup of the data folder.

Code reaches the corpora through a folder given by the caller (``--data DIR``,
``data_dir=...``) or, when none is given, the ``HMMTL_DATA`` environment variable; this is
the only place that reads it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV", "data_root", "find_data_root"]

#: the environment variable that names the corpora folder
DATA_ENV = "HMMTL_DATA"


def data_root(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The corpora folder as given: ``data_dir`` when given, else ``$HMMTL_DATA`` when set,
    else None.  Whether it exists is left to the caller.

    Examples
    --------
    >>> data_root("/srv/corpora")
    PosixPath('/srv/corpora')
    """
    if data_dir is not None and str(data_dir):
        return Path(data_dir)
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else None


def find_data_root(data_dir: str | os.PathLike | None = None) -> Path | None:
    """:func:`data_root` as an absolute path when it is an existing folder, else None (a
    ``data_dir`` that is given but missing is not replaced by ``$HMMTL_DATA``)."""
    root = data_root(data_dir)
    return root.resolve() if root is not None and root.is_dir() else None
