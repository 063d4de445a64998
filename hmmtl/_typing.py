"""Names for the kinds of input the public API takes, for annotations (the modules import
them under ``TYPE_CHECKING``: nothing here runs at ``import hmmtl``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

import numpy as np

__all__ = ["Extra", "Groups", "LabelLists", "Lengths", "PathLike", "Target", "TextSource",
           "TokenLists"]

#: A file path.
PathLike = str | os.PathLike[str]
#: Sentences as lists of tokens, NLTK style: ``[["The", "cat", "sat"], ...]``.
TokenLists = Iterable[Sequence[str]]
#: One list of labels per sentence, aligned with its tokens: ``[["DT", "NN", "VBD"], ...]``.
LabelLists = Iterable[Sequence[str]]
#: Sequence lengths of flat integer input (hmmlearn's ``lengths``).
Lengths = Sequence[int] | np.ndarray
#: Extra per-token inputs of a CRF, by name (see :class:`hmmtl.features.FeatureSpace`).
Extra = Mapping[str, Any]
#: A group id per sentence (its own transition scores), or -1 for none.
Groups = Sequence[int] | np.ndarray
#: Where a reader reads: a path, a text or binary stream, an iterable of lines, or the
#: file's bytes.
TextSource = PathLike | IO[str] | IO[bytes] | Iterable[str] | Iterable[bytes] | bytes
#: Where a writer writes: a path or a writable text stream.
Target = PathLike | IO[str]
