"""Where a partition of training or tagging data comes from, and how it is read.

Every executor cuts its input into partitions the same way and reads each one with
:func:`read_partition`, wherever that runs (this process, a Dask worker, a Spark executor),
so that a file is read identically everywhere: its format is taken from its name as the
command line does (``.conllu`` is CoNLL-U, ``.conll`` / ``.iob`` / ``eng.train`` ... are
CoNLL column files, anything else plain text), by hmmtl's own readers, whose errors name the
file and the line.

A raw partition is :class:`Sentences` (token lists, optionally labels of some tasks and a
domain per sentence); an encoded one is a :class:`~hmmtl.data.RaggedBatch`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from ..data import RaggedBatch

__all__ = ["FORMATS", "Files", "Sentences", "FilePart", "infer_format", "plan_partitions",
           "read_partition", "split_evenly"]

FORMATS = ("text", "conll", "conllu")


def infer_format(path, default: str | None = "text") -> str:
    """The format of a corpus file as every hmmtl command reads it: what its name says
    (:func:`hmmtl.io.detect.format_from_name`), else what its first lines look like
    (:func:`hmmtl.io.detect.sniff_format`), else ``default`` (None: an error).

    Examples
    --------
    >>> infer_format("en_ewt-ud-dev.conllu"), infer_format("eng.testb")
    ('conllu', 'conll')
    """
    from ..io.detect import SNIFF_LINES, format_from_name, peek_lines, sniff_format

    fmt = format_from_name(os.fspath(path))
    if fmt is None and Path(path).is_file():
        with open(path, "rb") as f:
            head, _ = peek_lines(f, SNIFF_LINES)
        fmt = sniff_format(head)
    if fmt is not None:
        return fmt
    if default is None:
        raise ValueError(f"{os.fspath(path)}: cannot tell whether this is CoNLL (one token a "
                         f"line) or plain text (one sentence a line); give format='conll' or "
                         f"format='text'")
    return default


@dataclass
class Sentences:
    """A partition of raw sentences.

    Attributes
    ----------
    tokens : list of token lists
    labels : dict of str -> list of (label list or None), optional
        Labels of each task, one entry per sentence (None: the sentence is unlabeled for
        that task; None inside a list: that token is).
    domains : list, optional
        Domain of each sentence (names or ints).
    """

    tokens: list
    labels: dict | None = None
    domains: list | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    def part(self, a: int, b: int) -> Sentences:
        return Sentences(self.tokens[a:b],
                         None if self.labels is None else {t: v[a:b]
                                                           for t, v in self.labels.items()},
                         None if self.domains is None else self.domains[a:b])


@dataclass(frozen=True)
class Files:
    """Corpus files read where the work runs, one partition each.

    Parameters
    ----------
    paths : sequence of str or Path
    format : {"text", "conll", "conllu"} or a sequence of them (one per file), optional
        Default: each file's as its name says, else as its first lines look
        (:func:`infer_format`), as the ``hmmtl`` commands read files.
    labels : str, sequence of str, or dict of task -> column, optional
        Column(s) read as labels (``"xpos"``; ``("pos", "chunk")`` for a multi-task model,
        each task named by its column; ``{"pos": "xpos"}``).  Default: none (words only).
    domains : str or sequence of str, optional
        Domain of every sentence, or one per file.  Default: the domains the reader gives
        (``"default"`` for plain text).
    """

    paths: tuple
    format: Any = None
    labels: Any = None
    domains: Any = None

    def __post_init__(self):
        object.__setattr__(self, "paths", tuple(os.fspath(p) for p in self.paths))
        formats = self.format if isinstance(self.format, (list, tuple)) else [self.format]
        if isinstance(self.format, (list, tuple)):
            if len(formats) != len(self.paths):
                raise ValueError(f"format has {len(formats)} entries for {len(self.paths)} "
                                 f"files; give one per file or one string")
            object.__setattr__(self, "format", tuple(formats))
        for f in formats:
            if f is not None and f not in FORMATS:
                raise ValueError(f"format must be one of {FORMATS}, got {f!r}")
        if self.domains is not None and not isinstance(self.domains, str) \
                and len(self.domains) != len(self.paths):
            raise ValueError(f"domains has {len(self.domains)} entries for "
                             f"{len(self.paths)} files; give one per file or one string")

    def parts(self) -> list[FilePart]:
        missing = [p for p in self.paths if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"corpus file(s) not found: {missing[:5]}")
        labels = self.labels
        if isinstance(labels, str):
            labels = {labels: labels}
        elif labels is not None and not isinstance(labels, dict):
            labels = {c: c for c in labels}
        out = []
        for i, p in enumerate(self.paths):
            domain = self.domains if isinstance(self.domains, str) or self.domains is None \
                else self.domains[i]
            fmt = self.format[i] if isinstance(self.format, tuple) else self.format
            out.append(FilePart(p, fmt or infer_format(p, None),
                                None if labels is None else tuple(labels.items()), domain))
        return out


@dataclass(frozen=True)
class FilePart:
    """One file to read: path, format, (task, column) pairs of labels, domain override."""

    path: str
    format: str
    labels: tuple | None = None
    domain: str | None = None


def read_partition(source, corpus: bool = False):
    """The data of one partition: a :class:`FilePart` read now (as :class:`Sentences`, or
    with ``corpus=True`` as the :class:`hmmtl.io.Corpus` with every column, for tagging),
    anything else as it is."""
    if not isinstance(source, FilePart):
        return source
    from .. import io

    readers: dict[str, Callable[..., Any]] = {"conllu": io.read_conllu, "conll": io.read_conll,
                                              "text": io.read_text}
    data = readers[source.format](source.path)
    if source.domain is not None:
        data = data.with_domain(source.domain)
    if corpus:
        return data
    labels = None
    if source.labels is not None:
        labels = {}
        for task, column in source.labels:
            try:
                labels[task] = data.column(column)
            except (KeyError, IndexError) as exc:
                msg = exc.args[0] if exc.args else str(exc)
                raise ValueError(f"{source.path}: no label column {column!r} ({msg})") from None
    return Sentences([list(s) for s in data.sentences], labels, list(data.domains))


def split_evenly(n_items: int, n_parts: int) -> list[tuple[int, int]]:
    """(start, end) of ``n_parts`` contiguous slices of about equal size (at least one)."""
    n_parts = max(1, min(int(n_parts), max(n_items, 1)))
    bounds = np.linspace(0, n_items, n_parts + 1).round().astype(np.int64).tolist()
    return list(zip(bounds[:-1], bounds[1:]))


def _is_paths(corpus) -> bool:
    return (isinstance(corpus, (list, tuple)) and len(corpus) > 0
            and all(isinstance(p, (str, os.PathLike)) for p in corpus))


def _describe(corpus) -> str:
    return type(corpus).__name__ + (f" of length {len(corpus)}" if hasattr(corpus, "__len__")
                                    else "")


def plan_partitions(corpus, n_partitions: int) -> list:
    """The partition sources of ``corpus``: small, picklable descriptions that
    :func:`read_partition` turns into data.

    * :class:`Files` or a list of paths: one :class:`FilePart` per file (files must exist);
    * :class:`Sentences` or a list of token lists: ``n_partitions`` contiguous slices;
    * a list of ``(sentences, domains)`` pairs: one partition each;
    * a :class:`~hmmtl.data.RaggedBatch`: ``n_partitions`` slices of about equal tokens;
      a list of them: one partition each.
    """
    if isinstance(corpus, Files):
        return corpus.parts()
    if _is_paths(corpus):
        if not any(Path(p).is_file() for p in corpus):
            raise TypeError(f"expected a list of token lists (one list per sentence) or corpus "
                            f"files; got a list of strings none of which is a file: "
                            f"{[os.fspath(p) for p in corpus[:5]]}")
        return Files(tuple(corpus)).parts()
    if isinstance(corpus, RaggedBatch):
        return corpus.split(max(1, min(int(n_partitions), max(corpus.n_sequences, 1))))
    if isinstance(corpus, Sentences):
        return [corpus.part(a, b) for a, b in split_evenly(len(corpus), n_partitions)]
    if hasattr(corpus, "select") and hasattr(corpus, "n_sequences"):   # other encoded data
        return [corpus]
    if isinstance(corpus, (list, tuple)) and corpus:
        first = corpus[0]
        if all(isinstance(p, RaggedBatch) for p in corpus):
            return list(corpus)
        if isinstance(first, tuple) and len(first) == 2 and isinstance(first[0], list) \
                and first[0] and isinstance(first[0][0], (list, tuple)):
            return [Sentences([list(s) for s in sents], None, list(doms))
                    for sents, doms in corpus]
        if isinstance(first, str):
            raise TypeError("expected a list of token lists, file paths, RaggedBatch "
                            "partitions or a distributed collection; got a list of strings "
                            f"that are not existing files (first: {first!r})")
        if isinstance(first, (list, tuple)):
            return plan_partitions(Sentences(list(corpus)), n_partitions)
    if isinstance(corpus, (list, tuple)) and not corpus:
        return [Sentences([])]
    raise TypeError(f"corpus must be files (paths or hmmtl.executors.Files), a list of token "
                    f"lists, (sentences, domains) partitions, a RaggedBatch or a list of "
                    f"RaggedBatch partitions; got {_describe(corpus)}")

