"""CoNLL column files (CoNLL-2000 chunking, CoNLL-2002/2003 NER): one token a line, columns
separated by spaces or tabs, a blank line after each sentence, ``-DOCSTART-`` lines between
documents."""

from __future__ import annotations

import itertools
import operator
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._source import (FormatError, assign_separators, atomic_write, find_blocks, join_lines,
                      layout_lines, read_source, split_lines)
from .conllu import _target_column
from .corpus import Corpus

if TYPE_CHECKING:
    from .._typing import Target, TextSource

__all__ = ["read_conll", "write_conll", "CONLL2000_COLUMNS", "CONLL2002_COLUMNS",
           "CONLL2003_COLUMNS"]

CONLL2000_COLUMNS = ("word", "pos", "chunk")
CONLL2002_COLUMNS = ("word", "pos", "ner")  # Dutch; the Spanish files have ("word", "ner")
CONLL2003_COLUMNS = ("word", "pos", "chunk", "ner")
DOCSTART = "-DOCSTART-"


def read_conll(source: TextSource, columns: Sequence[str] | None = None, *, sep: str | None = None,
               domain: str | Callable | None = None, word_column: str | None = None,
               label_column: str | None = None, docstart: str = DOCSTART,
               name: str | None = None) -> Corpus:
    """Read a CoNLL column file.

    Parameters
    ----------
    source : str, os.PathLike, text or binary stream, or iterable of lines
    columns : sequence of str, optional
        Column names, e.g. :data:`CONLL2003_COLUMNS` = ``("word", "pos", "chunk", "ner")``.
        Default: ``"word"`` then ``"col1"``, ``"col2"``, ...  Columns are also reachable by
        index (``corpus.column(3)``).
    sep : {None, " ", "\\t"}
        Column separator; None splits on any run of whitespace.  Writers use a tab when the
        first token line holds one, else a space.
    domain : str or callable, optional
        Domain of every sentence, or a function ``(sent_id, doc_id) -> str``.  Default: the
        file name up to its first dot (``eng`` for ``eng.train``).
    word_column, label_column : str, optional
        Default: the first and the last column.
    docstart : str
        Lines starting with this mark a document boundary.  They are neither sentences nor
        part of one: a ``-DOCSTART-`` line never produces an empty sentence, and the
        sentence after it gets a new ``doc_id``.

    Returns
    -------
    Corpus
        ``format="conll"``; writing it back with :func:`write_conll` reproduces the file
        byte for byte (blank lines, ``-DOCSTART-`` lines, line ends included) as long as its
        columns are separated by exactly one separator.

    Raises
    ------
    FormatError
        An empty file, a token line whose number of columns differs from the first token
        line's (or from ``len(columns)``), bytes that are not UTF-8.
    """
    text, name = read_source(source, name)
    lines, layout = split_lines(text)
    n_lines = len(lines)
    if not any(map(str.strip, lines)):
        raise FormatError(name, None, "empty file: expected one token a line, columns "
                          "separated by spaces or tabs, a blank line after each sentence")
    blank = np.fromiter(map(str.isspace, lines), dtype=bool, count=n_lines)
    blank |= np.fromiter(map(len, lines), dtype=np.int64, count=n_lines) == 0
    is_doc = np.fromiter(map(str.startswith, lines, itertools.repeat(docstart)), dtype=bool,
                         count=n_lines) if docstart else np.zeros(n_lines, bool)
    starts, ends = find_blocks(blank | is_doc)
    if not starts:
        raise FormatError(name, None, f"no sentences: the file holds only blank or {docstart} "
                          f"lines")
    separators = assign_separators(lines, starts, ends, layout)
    # document index of each sentence: number of DOCSTART lines before its first line
    doc_index = np.cumsum(is_doc)[np.asarray(starts)] if len(starts) else np.zeros(0, np.int64)
    first = lines[starts[0]]
    if sep is None:
        layout["sep"] = "\t" if "\t" in first.strip() else " "
        splitter: Callable[[str], list[str]] = str.split
    elif sep in (" ", "\t"):
        layout["sep"] = sep
        splitter = operator.methodcaller("split", sep)
    else:
        raise ValueError(f"sep must be None, ' ' or '\\t', got {sep!r}")
    n_cols = len(columns) if columns is not None else len(splitter(first.strip()))
    if columns is None:
        columns = ("word",) + tuple(f"col{i}" for i in range(1, n_cols))
    columns = tuple(columns)
    if len(set(columns)) != len(columns):
        raise ValueError(f"column names must be distinct, got {columns}")
    n_sent = len(starts)
    cols: list[list] = [[None] * n_sent for _ in range(n_cols)]
    for s, (a, b) in enumerate(zip(starts, ends)):
        rows = list(map(splitter, lines[a:b]))
        widths = set(map(len, rows))
        if widths != {n_cols}:
            j = next(i for i, r in enumerate(rows) if len(r) != n_cols)
            how = ("columns" if sep is None
                   else f"{'tab' if sep == chr(9) else 'space'}-separated columns")
            raise FormatError(name, a + j + 1, f"expected {n_cols} {how} ({' '.join(columns)}), "
                              f"got {len(rows[j])}: {lines[a + j][:60]!r}")
        for c, values in enumerate(zip(*rows)):
            cols[c][s] = list(values)
    base = Path(name).name
    stem = base.split(".")[0] if not name.startswith("<") else "default"
    sent_ids = [f"{base}:{a + 1}" for a in starts]
    doc_ids = [f"{base}#doc{d}" for d in doc_index.tolist()]
    if domain is None:
        domains = [stem] * n_sent
    elif isinstance(domain, str):
        domains = [domain] * n_sent
    elif callable(domain):
        domains = list(map(domain, sent_ids, doc_ids))
    else:
        raise TypeError(f"domain must be a str, a function of (sent_id, doc_id) or None, got "
                        f"{type(domain).__name__}")
    return Corpus(
        columns=dict(zip(columns, cols)), word_column=word_column or columns[0],
        domains=domains, sent_ids=sent_ids, doc_ids=doc_ids, source=name,
        label_column=label_column or (columns[-1] if n_cols > 1 else None), format="conll",
        separators=separators, layout=layout,
    )


def write_conll(corpus: Corpus, path: Target, *, labels: Sequence | None = None,
                column: str | None = None, columns: Sequence[str | int] | None = None,
                sep: str | None = None) -> None:
    """Write ``corpus`` as a CoNLL column file, atomically (temporary file + ``os.replace``).

    Parameters
    ----------
    corpus : Corpus
    path : str, os.PathLike or writable stream
    labels : list of list of str, or flat sequence of n_tokens labels, optional
        Predicted labels.  They replace column ``column`` when it exists, else they are
        appended as a new last column named ``column`` (default: the label column).
    columns : sequence of str or int, optional
        Which columns to write, in order (default: all, in the corpus's order).
    sep : str, optional
        Column separator (default: the one read from a CoNLL file, else a space).

    Notes
    -----
    A corpus read by :func:`read_conll` keeps its blank lines, ``-DOCSTART-`` lines and line
    ends; CoNLL-U comments, ranges and empty nodes have no place here and are left out.
    """
    if labels is not None:
        corpus = corpus.with_column(_target_column(corpus, column, "prediction"), labels)
    names = corpus.column_names if columns is None else [corpus.column_name(c) for c in columns]
    sep = sep or (corpus.layout.get("sep", " ") if corpus.format == "conll" else " ")
    cols = [corpus.columns[k] for k in names]
    blocks = [list(map(sep.join, zip(*(c[s] for c in cols)))) for s in range(len(corpus))]
    same_format = corpus.format == "conll"
    layout = corpus.layout if same_format else {}
    lines = layout_lines(blocks, corpus.separators if same_format else None, layout)
    atomic_write(path, join_lines(lines, layout))
