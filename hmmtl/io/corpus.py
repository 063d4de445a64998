"""The corpus container shared by every reader and writer."""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field, replace
from collections.abc import Callable, Sequence

import numpy as np

from ..data import LabelSet, RaggedBatch, Vocabulary, lengths_to_offsets, unflatten

__all__ = ["Corpus", "concat"]

_WORD_ALIASES = ("word", "words", "form", "token", "tokens")


def _take(values: list | None, index: np.ndarray) -> list | None:
    if values is None:
        return None
    if index.size == 0:
        return []
    if index.size == 1:
        return [values[int(index[0])]]
    return list(operator.itemgetter(*index.tolist())(values))


@dataclass(eq=False)
class Corpus:
    """Sentences with any number of aligned tag columns, per-sentence domains and ids, and
    what a writer needs to give the file back byte for byte.

    Parameters
    ----------
    columns : dict of str -> list of list of str
        Column name -> one label list per sentence, all aligned with the word column.  The
        order of the keys is the order of the columns in the file.
    word_column : str
        Name of the column holding the words (``"form"`` for CoNLL-U, ``"word"`` otherwise).
    domains : list of str, length n_sentences
        Domain of each sentence (web genre, Brown category, ...).
    sent_ids, doc_ids : list of str, length n_sentences
        Sentence and document identifiers (``# sent_id`` / ``# newdoc id`` in CoNLL-U,
        ``-DOCSTART-`` counts in CoNLL files, file ids for NLTK corpora).
    source : str or None
        Where the corpus was read from.
    label_column : str or None
        The column that labelers train on by default (``"xpos"`` for CoNLL-U, the last
        column of a CoNLL file, ``"pos"`` / ``"chunk"`` / ``"ner"`` for NLTK corpora).
    format : {"conllu", "conll", "text"}
        The format the corpus was read from (its writer: :func:`hmmtl.io.write_conllu`,
        :func:`hmmtl.io.write_conll` or :func:`hmmtl.io.write_text`).
    extras : list, length n_sentences, or None
        Per sentence, the lines of the file that are not tokens of the tag sequence, as
        ``(position, line)`` pairs, ``position`` being the number of tokens before the line:
        CoNLL-U comments, multiword-token ranges (``3-4``) and empty nodes (``5.1``).
    separators : list, length n_sentences, or None
        Per sentence, the raw lines between it and the sentence before (blank lines,
        ``-DOCSTART-`` lines), or None where there is just the usual single blank line.
    layout : dict
        File-level details: ``newline``, ``final_newline``, ``bom``, ``trailer`` (the lines
        after the last sentence) and ``sep`` (the column separator of a CoNLL file).

    Notes
    -----
    Iterating over a corpus yields its token lists, as NLTK's ``sents()`` does, so a corpus
    can be passed wherever a list of token lists is expected.
    """

    columns: dict
    word_column: str = "word"
    domains: list | None = None
    sent_ids: list | None = None
    doc_ids: list | None = None
    source: str | None = None
    label_column: str | None = None
    format: str = "conll"
    extras: list | None = None
    separators: list | None = None
    layout: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.columns, dict) or not self.columns:
            raise ValueError("columns must be a non-empty dict of column name -> label lists")
        if self.word_column not in self.columns:
            raise ValueError(f"word column {self.word_column!r} is not among the columns "
                             f"{list(self.columns)}")
        words = self.columns[self.word_column]
        n = len(words)
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=n)
        for name, col in self.columns.items():
            if col is words:
                continue
            if len(col) != n:
                raise ValueError(f"column {name!r} has {len(col)} sentences but the word column "
                                 f"has {n}")
            other = np.fromiter(map(len, col), dtype=np.int64, count=n)
            bad = np.flatnonzero(other != lengths)
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"sentence {i} has {lengths[i]} words but {other[i]} labels in "
                                 f"column {name!r}")
        if self.domains is None:
            self.domains = ["default"] * n
        if self.sent_ids is None:
            self.sent_ids = [str(i + 1) for i in range(n)]
        if self.doc_ids is None:
            self.doc_ids = [None] * n
        for what in ("domains", "sent_ids", "doc_ids", "extras", "separators"):
            value = getattr(self, what)
            if value is not None and len(value) != n:
                raise ValueError(f"{what} has length {len(value)} but there are {n} sentences")
        if self.label_column is not None and self.label_column not in self.columns:
            raise ValueError(f"label column {self.label_column!r} is not among the columns "
                             f"{list(self.columns)}")

    # ------------------------------------------------------------------ access
    @property
    def sentences(self) -> list[list[str]]:
        """The token lists (the word column)."""
        return self.columns[self.word_column]

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def column_name(self, key) -> str:
        """The name of column ``key``: a name (case-insensitive; ``word`` / ``form`` for the
        word column), an index in file order, or None for :attr:`label_column`."""
        if isinstance(key, (int, np.integer)):
            names = self.column_names
            if not -len(names) <= key < len(names):
                raise IndexError(f"column index {key} is out of range: this corpus has "
                                 f"{len(names)} columns {names}")
            return names[key]
        if key in self.columns:
            return key
        if key is None and self.label_column is not None:
            return self.label_column
        if isinstance(key, str) and key.lower() in _WORD_ALIASES:
            return self.word_column
        if isinstance(key, str) and key.lower() in self.columns:
            return key.lower()
        raise KeyError(f"no column {key!r}; this corpus has columns {self.column_names}")

    def column(self, key=None) -> list[list[str]]:
        """One label list per sentence of column ``key`` (name, or index in file order;
        None = :attr:`label_column`)."""
        return self.columns[self.column_name(key)]

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self):
        return iter(self.sentences)

    @property
    def n_sentences(self) -> int:
        return len(self.sentences)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter(map(len, self.sentences), dtype=np.int64, count=len(self))

    @property
    def offsets(self) -> np.ndarray:
        """``offsets`` of the flattened tokens, int64 of shape (n_sentences + 1,)."""
        return lengths_to_offsets(self.lengths)

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum())

    def flat(self, key=None) -> list[str]:
        """All labels of column ``key`` (or all words when ``key="word"``) in one list."""
        return list(itertools.chain.from_iterable(self.column(key)))

    def tagged_sents(self, key=None) -> list[list[tuple[str, str]]]:
        """NLTK-style ``[[(word, tag), ...], ...]`` for column ``key``."""
        return [list(zip(w, t)) for w, t in zip(self.sentences, self.column(key))]

    def domain_names(self) -> list[str]:
        """Distinct domains in order of first appearance."""
        assert self.domains is not None  # set by __post_init__
        return list(dict.fromkeys(self.domains))

    # ------------------------------------------------------------------ selection
    def _index(self, index) -> np.ndarray:
        n = len(self)
        if isinstance(index, slice):
            return np.arange(n)[index]
        if isinstance(index, (int, np.integer)):
            if not -n <= index < n:
                raise IndexError(f"sentence index {index} is out of range for {n} sentences")
            return np.array([index % n])
        index = np.asarray(index)
        if index.dtype == bool:
            if index.shape != (n,):
                raise ValueError(f"boolean mask has shape {index.shape}, expected ({n},)")
            return np.flatnonzero(index)
        if index.size == 0:
            return np.zeros(0, np.int64)
        if not np.issubdtype(index.dtype, np.integer):
            raise TypeError(f"expected sentence indices (ints), a boolean mask or a slice, got "
                            f"dtype {index.dtype}")
        if index.min() < -n or index.max() >= n:
            raise IndexError(f"sentence indices out of range: expected [{-n}, {n}) for {n} "
                             f"sentences, got [{index.min()}, {index.max()}]")
        return index.astype(np.int64) % max(n, 1)

    def select(self, index) -> Corpus:
        """The sentences ``index`` (ints, boolean mask or slice) as a new corpus, keeping their
        domains, ids, comments and separators."""
        idx = self._index(index)
        return replace(
            self,
            columns={k: _take(v, idx) for k, v in self.columns.items()},
            domains=_take(self.domains, idx), sent_ids=_take(self.sent_ids, idx),
            doc_ids=_take(self.doc_ids, idx), extras=_take(self.extras, idx),
            separators=_take(self.separators, idx), layout=dict(self.layout),
        )

    def __getitem__(self, index) -> Corpus:
        return self.select(index)

    def with_domain(self, domain: str | Callable | Sequence[str]) -> Corpus:
        """A copy whose domains are ``domain`` (one name, a name per sentence, or a function
        of ``(sent_id, doc_id)``)."""
        n = len(self)
        if isinstance(domain, str):
            domains = [domain] * n
        elif callable(domain):
            assert self.sent_ids is not None and self.doc_ids is not None  # __post_init__
            domains = list(map(domain, self.sent_ids, self.doc_ids))
        else:
            domains = list(domain)
            if len(domains) != n:
                raise ValueError(f"got {len(domains)} domains for {n} sentences")
        return replace(self, domains=domains)

    def with_column(self, name: str, labels, *, label_column: bool = False) -> Corpus:
        """A copy with column ``name`` replaced (or appended, when new) by ``labels``: one
        label list per sentence, or a flat sequence of ``n_tokens`` labels."""
        if isinstance(labels, np.ndarray) or (len(labels) and isinstance(labels[0], str)):
            flat = labels.tolist() if isinstance(labels, np.ndarray) else list(labels)
            if len(flat) != self.n_tokens:
                raise ValueError(f"got {len(flat)} labels for {self.n_tokens} tokens")
            labels = unflatten(flat, self.offsets)
        else:
            labels = [list(s) for s in labels]
        columns = dict(self.columns)
        columns[name] = labels
        return replace(self, columns=columns,
                       label_column=name if label_column else self.label_column)

    # ------------------------------------------------------------------ batches
    def to_batch(self, vocab: Vocabulary, label_set: LabelSet | None = None, column=None,
                 domain_index=None, *, unknown: str = "error") -> RaggedBatch:
        """Encode as a :class:`hmmtl.data.RaggedBatch`.

        Parameters
        ----------
        vocab : Vocabulary
            Fitted vocabulary for the words.
        label_set : LabelSet, optional
            When given, the labels of ``column`` (default :attr:`label_column`) are encoded.
        domain_index : dict or sequence of str, optional
            Domain name -> id (a sequence gives ids by position).  Default: the corpus's
            domains in order of first appearance.  The names are kept in
            ``batch.meta["domain_names"]``.
        unknown : {"error", "missing"}
            Labels not in ``label_set``: raise, or mark the token unlabeled (-1).
        """
        batch = vocab.encode(self.sentences)
        labels = None
        if label_set is not None:
            labels = label_set.encode_flat(self.flat(column), unknown=unknown)
        if domain_index is None:
            domain_index = self.domain_names()
        if not isinstance(domain_index, dict):
            domain_index = {d: i for i, d in enumerate(domain_index)}
        assert self.domains is not None  # set by __post_init__
        ids = np.fromiter(map(domain_index.get, self.domains, itertools.repeat(-1)),
                          dtype=np.int64, count=len(self))
        if ids.size and ids.min() < 0:
            missing = sorted({d for d, i in zip(self.domains, ids.tolist()) if i < 0})
            raise ValueError(f"domains {missing} are not in domain_index {list(domain_index)}; "
                             f"add them or relabel with corpus.with_domain(...)")
        names = [None] * (max(domain_index.values()) + 1 if domain_index else 0)
        for d, i in domain_index.items():
            names[i] = d
        return RaggedBatch(batch.ids, batch.offsets, labels=labels, domains=ids,
                           meta={"domain_names": names, "source": self.source})

    def __repr__(self) -> str:
        return (f"Corpus(n_sentences={len(self)}, n_tokens={self.n_tokens}, "
                f"columns={self.column_names}, domains={self.domain_names()[:8]}, "
                f"source={self.source!r})")


def concat(corpora: Sequence[Corpus]) -> Corpus:
    """Concatenate corpora that have the same columns, keeping each sentence's domain, ids,
    comments and separators.  File-level layout comes from the first corpus, the trailer
    from the last."""
    corpora = list(corpora)
    if not corpora:
        raise ValueError("concat needs at least one corpus")
    first = corpora[0]
    for c in corpora[1:]:
        if c.column_names != first.column_names:
            raise ValueError(f"cannot concatenate corpora with columns {first.column_names} and "
                             f"{c.column_names}; select or rename columns first")
    chain = itertools.chain.from_iterable

    def cat(attr):
        values = [getattr(c, attr) for c in corpora]
        if all(v is None for v in values):
            return None
        return list(chain(v if v is not None else [None] * len(c)
                          for v, c in zip(values, corpora)))

    layout = dict(first.layout)
    if "trailer" in corpora[-1].layout:
        layout["trailer"] = corpora[-1].layout["trailer"]
    layout["final_newline"] = corpora[-1].layout.get("final_newline", True)
    sources = list(dict.fromkeys(c.source for c in corpora if c.source))
    return replace(
        first,
        columns={k: list(chain(c.columns[k] for c in corpora)) for k in first.columns},
        domains=cat("domains"), sent_ids=cat("sent_ids"), doc_ids=cat("doc_ids"),
        extras=cat("extras"), separators=cat("separators"), layout=layout,
        source=";".join(sources) if sources else None,
    )
