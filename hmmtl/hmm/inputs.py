"""How data enters the HMM estimators: counting raw partitions (vocabulary, label sets),
encoding them into :class:`~hmmtl.data.RaggedBatch` partitions, describing encoded ones, and
coercing the inputs of ``predict`` / ``score`` / ``transform``.

The functions that run on partitions (:func:`count_partition`, :class:`SentenceEncoder`,
:func:`describe`) are pure and picklable: executors run them where the data lies.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from ..data import LabelSet, RaggedBatch, Vocabulary, check_sentences, check_strings, flatten

__all__ = ["InputCounts", "count_partition", "SentenceEncoder", "Description",
           "describe", "encode_domains", "is_sentence_list", "first_token", "as_batch",
           "check_sentences", "InputKind", "input_kind", "FitInput"]


# ----------------------------------------------------------------------------- counting
@dataclass(eq=False)
class InputCounts:
    """Word counts and label values of raw partitions (additive)."""

    words: Counter = field(default_factory=Counter)
    labels: dict = field(default_factory=dict)   # task -> set of labels
    n_sentences: int = 0

    def __add__(self, other: InputCounts) -> InputCounts:
        labels = {t: set(v) for t, v in self.labels.items()}
        for t, v in other.labels.items():
            labels.setdefault(t, set()).update(v)
        return InputCounts(self.words + other.words, labels, self.n_sentences + other.n_sentences)


def count_partition(lowercase: bool, part) -> InputCounts:
    """Word counts (lowercased when asked) and the labels of each task in a raw partition."""
    from ..executors.sources import Sentences

    if not isinstance(part, Sentences):
        raise TypeError(f"expected raw sentences, got {type(part).__name__}")
    words: Counter = Counter()
    try:
        for sent in part.tokens:
            if isinstance(sent, str):
                raise TypeError("expected token lists, got a string; wrap a sentence as "
                                "[tokens]")
            words.update(map(str.lower, sent) if lowercase else sent)
        strings = all(issubclass(t, str) for t in set(map(type, words)))
    except TypeError:
        strings = False
    if not strings:  # name the first token that is not a string
        flat, offsets = flatten(part.tokens)
        check_strings(flat, offsets, "X")
    labels = {}
    for task, seqs in (part.labels or {}).items():
        seen: set[str] = set()
        for seq in seqs:
            if seq is not None:
                seen.update(x for x in seq if x is not None)
        labels[task] = seen
    return InputCounts(words, labels, len(part.tokens))


# ----------------------------------------------------------------------------- domains
def encode_domains(domains, names: list | None, n_domains: int, n_sequences: int) -> np.ndarray:
    """Domain ids (int32) of one entry per sequence: names looked up in ``names``, or ints
    in ``[0, n_domains)`` when ``names`` is None."""
    domains = list(domains) if not isinstance(domains, np.ndarray) else domains
    if len(domains) != n_sequences:
        raise ValueError(f"domains has {len(domains)} entries but X has {n_sequences} "
                         f"sequences")
    if names is None:
        arr = np.asarray(domains)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"domains must be ints in [0, {n_domains}) since n_domains "
                             f"is an int; got {arr.dtype} values")
    else:
        index = {n: i for i, n in enumerate(names)}
        arr = np.fromiter((index.get(d, -1) for d in domains), dtype=np.int64,
                          count=len(domains))
        if arr.size and arr.min() < 0:
            bad = int(np.flatnonzero(arr < 0)[0])
            raise ValueError(f"domains[{bad}] = {domains[bad]!r} is not one of {names!r}")
    arr = arr.astype(np.int32)
    if arr.size and (arr.min() < 0 or arr.max() >= n_domains):
        raise ValueError(f"domain ids must lie in [0, {n_domains}), got "
                         f"[{arr.min()}, {arr.max()}]")
    return arr


# ----------------------------------------------------------------------------- encoding
@dataclass(frozen=True)
class SentenceEncoder:
    """Raw sentences -> :class:`~hmmtl.data.RaggedBatch` (words through the vocabulary, the
    labels of ``task`` through ``labels``, domains through ``domain_names``).

    vocabulary : Vocabulary
    labels : LabelSet, optional
    task : str, optional
        The task whose labels become ``batch.labels``.
    domain_names : list, optional
        Domain names (None: domains are ints, or not used when ``n_domains`` is None).
    n_domains : int or None
        None: domains are dropped (a single-domain model).
    """

    vocabulary: Vocabulary
    labels: LabelSet | None = None
    task: str | None = None
    domain_names: list | None = None
    n_domains: int | None = None

    def __call__(self, part) -> RaggedBatch:
        batch = self.vocabulary.encode(part.tokens)
        labels = None
        if self.labels is not None and part.labels and self.task in part.labels:
            labels = self.labels.encode_for(part.tokens, part.labels[self.task])
        domains = None
        if self.n_domains is not None:
            if part.domains is None:
                raise ValueError("a multi-domain HMM needs the domain of each sentence: "
                                 "pass domains=[...], (sentences, domains) partitions, files "
                                 "with domains, or RaggedBatch partitions with domains")
            domains = encode_domains(part.domains, self.domain_names, self.n_domains,
                                     batch.n_sequences)
        return RaggedBatch(batch.ids, batch.offsets, labels, domains)


def encode_words(vocabulary: Vocabulary, sentences) -> tuple[np.ndarray, np.ndarray]:
    """Ids and offsets of sentences; an empty sentence is kept (it has no tokens to tag and
    adds nothing to the statistics), as for every other model."""
    flat, offsets = flatten(sentences)
    check_strings(flat, offsets, "X")
    return vocabulary.encode_tokens(flat), offsets


# ----------------------------------------------------------------------------- encoded data
@dataclass(eq=False)
class Description:
    """Sizes and id ranges of encoded partitions (additive; maxima combine by ``max``)."""

    n_sequences: int = 0
    n_tokens: int = 0
    max_id: int = -1
    min_id: int = 0
    max_label: int = -1
    has_labels: bool = False
    has_domains: bool = True

    def __add__(self, other: Description) -> Description:
        return Description(self.n_sequences + other.n_sequences, self.n_tokens + other.n_tokens,
                           max(self.max_id, other.max_id), min(self.min_id, other.min_id),
                           max(self.max_label, other.max_label),
                           self.has_labels or other.has_labels,
                           self.has_domains and other.has_domains)


def describe(batch: RaggedBatch) -> Description:
    n = batch.n_tokens
    return Description(batch.n_sequences, n, int(batch.ids.max()) if n else -1,
                       int(batch.ids.min()) if n else 0,
                       int(batch.labels.max()) if batch.labels is not None and n else -1,
                       batch.labels is not None, batch.domains is not None)


# ----------------------------------------------------------------------------- predict inputs
def is_sentence_list(X) -> bool:
    if isinstance(X, np.ndarray) or not isinstance(X, (list, tuple)):
        return False
    for s in X:
        return isinstance(s, (list, tuple, np.ndarray))
    return False


def first_token(X):
    for s in X:
        for w in s:
            return w
    return None


class InputKind(Enum):
    """What a model's input ``X`` is, decided once by :func:`input_kind`."""

    #: one :class:`~hmmtl.data.RaggedBatch`
    BATCH = "a RaggedBatch"
    #: a list of RaggedBatch partitions
    PARTITIONS = "RaggedBatch partitions"
    #: token lists of strings (or sentences that are all empty)
    TOKEN_LISTS = "token lists"
    #: lists of integer ids, one per sequence
    ID_LISTS = "lists of integer ids"
    #: a NumPy array of ids (with ``lengths``)
    ARRAY = "an array of ids"
    #: anything else: files, an executor's collection, a flat list of ids
    OTHER = "another source"

    @property
    def is_encoded(self) -> bool:
        """Integer ids, which skip the vocabulary."""
        return self in (InputKind.BATCH, InputKind.PARTITIONS, InputKind.ID_LISTS,
                        InputKind.ARRAY)


def input_kind(X) -> InputKind:
    """The :class:`InputKind` of ``X``, from its type and its first token."""
    if isinstance(X, RaggedBatch):
        return InputKind.BATCH
    if isinstance(X, (list, tuple)) and X and all(isinstance(p, RaggedBatch) for p in X):
        return InputKind.PARTITIONS
    if is_sentence_list(X):
        tok = first_token(X)
        return InputKind.TOKEN_LISTS if tok is None or isinstance(tok, str) \
            else InputKind.ID_LISTS
    if isinstance(X, np.ndarray):
        return InputKind.ARRAY
    return InputKind.OTHER


@dataclass(frozen=True, eq=False)
class FitInput:
    """The training input of an HMM as ``fit`` received it, its kind found once.

    X : the data (token lists, ids, RaggedBatch or partitions, files, a collection)
    kind : InputKind
    y, lengths, domains : as given to ``fit`` (None when absent)
    """

    X: Any
    kind: InputKind
    y: Any = None
    lengths: Any = None
    domains: Any = None

    @classmethod
    def of(cls, X, y=None, lengths=None, domains=None) -> FitInput:
        return cls(X, input_kind(X), y, lengths, domains)


def as_batch(X, lengths, vocabulary: Vocabulary | None, n_features: int,
             kind: InputKind | None = None):
    """``(batch, kind)`` of a model's input: token lists (``kind="tokens"``, encoded with
    ``vocabulary``), integer ids with ``lengths``, or a RaggedBatch (``kind="ids"``); ids
    are checked against ``n_features``.  ``kind``: the :class:`InputKind` of ``X`` when
    the caller has found it already."""
    if isinstance(X, (list, tuple, str, bytes)):
        X = check_sentences(X)
    what = input_kind(X) if kind is None else kind
    if what is InputKind.BATCH:
        batch, kind_name = X, "ids"
    elif what in (InputKind.TOKEN_LISTS, InputKind.ID_LISTS):
        X = list(X)
        tok = first_token(X)
        flat, offsets = flatten(X)
        # sentences that are all empty are token lists of a model of words: a list of
        # empty answers, as for any other sentences, not a flat array
        if isinstance(tok, str) or (tok is None and vocabulary is not None):
            check_strings(flat, offsets, "X")
            if lengths is not None:
                raise ValueError("lengths is for flat integer input; got a list of token "
                                 "lists, whose lengths are known")
            if vocabulary is None:
                raise ValueError("this model was fitted on integer ids, but X holds "
                                 "strings; pass ids (with lengths) instead")
            batch, kind_name = RaggedBatch(vocabulary.encode_tokens(flat), offsets), "tokens"
        else:
            ids = np.asarray(flat) if flat else np.zeros(0, np.int32)
            if ids.size and not np.issubdtype(ids.dtype, np.integer):
                raise TypeError(f"expected token lists of strings or integer ids, got "
                                f"tokens of type {type(tok).__name__}")
            batch = RaggedBatch(ids.astype(np.int32) if ids.size else np.zeros(0, np.int32),
                                offsets)
            kind_name = "ids"
    else:
        ids = np.asarray(X)
        if ids.ndim == 2 and ids.shape[-1] == 1:
            ids = ids[:, 0]
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(f"X must be a list of token lists, or integer ids of shape "
                             f"(n_samples,) or (n_samples, 1) with lengths; got an array "
                             f"of shape {ids.shape} and dtype {ids.dtype}")
        batch, kind_name = RaggedBatch.from_lengths(ids, lengths), "ids"
    if batch.n_tokens and batch.ids.min() < 0:
        raise ValueError(f"ids must be >= 0, got {int(batch.ids.min())}")
    if batch.n_tokens and batch.ids.max() >= n_features:
        bad = int(np.flatnonzero(batch.ids >= n_features)[0])
        raise ValueError(f"X[{bad}] = {batch.ids[bad]} is out of range: the model has "
                         f"n_features_ = {n_features} symbols")
    return batch, kind_name
