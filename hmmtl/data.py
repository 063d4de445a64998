"""Ragged batches, vocabularies and label sets: the one data structure of hmmtl.

A batch of sequences is a flat array of token ids plus ``offsets`` (int64, length
``n_sequences + 1``, ``offsets[0] == 0``, ``offsets[-1] == n_tokens``).  Sequence ``i``
occupies ``ids[offsets[i]:offsets[i + 1]]``.  Labels (int32, ``-1`` for unlabeled) and
per-sequence domain ids ride along.  Everything downstream (kernels, estimators, CLI)
consumes this structure; conversion from Python token lists happens once, per word *type*.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "RaggedBatch",
    "Vocabulary",
    "LabelSet",
    "check_offsets",
    "lengths_to_offsets",
    "offsets_to_lengths",
    "token_positions",
    "flatten",
    "lookup_per_type",
    "factorize",
    "check_sentences",
    "sentence_chunks",
    "rereadable",
    "check_tokens",
    "check_strings",
    "check_label_lists",
    "unknown_signature",
    "UNK",
]

UNK = "<unk>"


# ----------------------------------------------------------------------------- offsets
def lengths_to_offsets(lengths) -> np.ndarray:
    """Turn per-sequence lengths into ``offsets`` (int64, length ``n + 1``)."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1-D, got shape {lengths.shape}")
    if (lengths.size and not np.issubdtype(lengths.dtype, np.integer)
            and not np.all(np.mod(lengths, 1) == 0)):
        raise ValueError("lengths must be whole numbers")
    lengths = lengths.astype(np.int64)
    if lengths.size and lengths.min() < 0:
        bad = int(np.flatnonzero(lengths < 0)[0])
        raise ValueError(f"lengths must be >= 0, but lengths[{bad}] = {lengths[bad]}")
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def offsets_to_lengths(offsets) -> np.ndarray:
    offsets = np.asarray(offsets, dtype=np.int64)
    return np.diff(offsets)


def token_positions(offsets, index) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the tokens of sequences ``index`` (in that order), and the offsets
    of those sequences laid end to end: ``(positions, new_offsets)``."""
    offsets = np.asarray(offsets, dtype=np.int64)
    index = np.asarray(index, dtype=np.int64)
    lengths = offsets[index + 1] - offsets[index]
    new_offsets = lengths_to_offsets(lengths)
    positions = (np.arange(new_offsets[-1], dtype=np.int64) - np.repeat(new_offsets[:-1], lengths)
                 + np.repeat(offsets[index], lengths))
    return positions, new_offsets


def check_offsets(offsets, n_tokens: int | None = None, *, name: str = "offsets",
                  allow_empty_sequences: bool = True) -> np.ndarray:
    """Validate ``offsets`` and return them as a contiguous int64 array.

    Raises
    ------
    ValueError
        With the offending position and values in the message.
    """
    offsets = np.asarray(offsets)
    if offsets.ndim != 1 or offsets.size < 1:
        raise ValueError(f"{name} must be a 1-D array of length n_sequences + 1 >= 1, "
                         f"got shape {offsets.shape}")
    if not np.issubdtype(offsets.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {offsets.dtype}")
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if offsets[0] != 0:
        raise ValueError(f"{name}[0] must be 0, got {offsets[0]}")
    steps = np.diff(offsets)
    if steps.size and steps.min() < (0 if allow_empty_sequences else 1):
        bad = int(np.flatnonzero(steps < (0 if allow_empty_sequences else 1))[0])
        what = ("non-decreasing" if allow_empty_sequences
                else "strictly increasing (no empty sequence)")
        raise ValueError(f"{name} must be {what}, but {name}[{bad}] = {offsets[bad]} "
                         f"and {name}[{bad + 1}] = {offsets[bad + 1]}")
    if n_tokens is not None and offsets[-1] != n_tokens:
        raise ValueError(f"{name}[-1] = {offsets[-1]} but there are {n_tokens} tokens; "
                         f"lengths must sum to the number of tokens")
    return offsets


def sentence_chunks(sentences, size: int):
    """Lists of ``size`` sentences of an iterable of token lists (a list, a generator, a
    re-readable stream of files) at a time: text read a chunk at a time, never whole.

    >>> list(sentence_chunks(iter([["a"], ["b"], ["c"]]), 2))
    [[['a'], ['b']], [['c']]]
    """
    if isinstance(sentences, (str, bytes)):
        raise TypeError("unlabeled= expects token lists (a list, or an iterable streamed), "
                        f"got the string {sentences[:40]!r}")
    it = iter(sentences)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield chunk


def rereadable(sentences):
    """``sentences`` as something that can be read more than once: a sequence or a
    re-readable stream (an object whose ``iter()`` starts afresh, such as
    :class:`hmmtl.io.text.TokenStream` over files) as it is, a one-shot iterator (a
    generator) read into a list."""
    return list(sentences) if iter(sentences) is sentences else sentences


def check_sentences(sentences, name: str = "X") -> list:
    """``sentences`` as a list of token lists; a string, or a list holding strings where
    token lists belong (``"The cat sat"``, ``["The cat sat"]``), is a TypeError rather than
    sentences of characters.  The types are checked in C (``map(type)``), not per token.

    Examples
    --------
    >>> check_sentences([["The", "cat"], ("sat",)])
    [['The', 'cat'], ('sat',)]
    >>> check_sentences("The cat sat")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    TypeError: X must be a list of token lists, got the string 'The cat sat'; split it into
    tokens and wrap one sentence as [tokens]
    """
    if isinstance(sentences, (str, bytes)):
        raise TypeError(f"{name} must be a list of token lists, got the string "
                        f"{sentences[:40]!r}; split it into tokens and wrap one sentence as "
                        f"[tokens]")
    sentences = list(sentences)
    if any(issubclass(t, (str, bytes)) for t in set(map(type, sentences))):
        i, s = next((i, s) for i, s in enumerate(sentences) if isinstance(s, (str, bytes)))
        raise TypeError(f"{name} must be a list of token lists, but {name}[{i}] is the string "
                        f"{s[:40]!r}; split it into tokens and wrap one sentence as [tokens]")
    return sentences


def check_strings(flat: list, offsets, name: str = "X", what: str = "token",
                  allow_none: bool = False) -> None:
    """Every item of the flat ``flat`` (sentences laid end to end, ``offsets``) is a string
    (or None, with ``allow_none``); else a TypeError naming the first other one by its
    position, ``name[i][j]``.  The types are checked in C (``map(type)``), not per token.

    >>> check_strings(["a", "b", 3], np.array([0, 2, 3]), "y", "tag")
    ... # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    TypeError: y[1][0] is the int 3, but every tag must be a string; convert them first
    (e.g. [[str(t) for t in s] for s in y])
    """
    kinds = set(map(type, flat))
    if all(issubclass(t, str) or (allow_none and t is type(None)) for t in kinds):
        return
    k = next(k for k, w in enumerate(flat)
             if not (isinstance(w, str) or (allow_none and w is None)))
    offsets = np.asarray(offsets)
    i = int(np.searchsorted(offsets, k, side="right")) - 1
    raise TypeError(f"{name}[{i}][{k - int(offsets[i])}] is the {type(flat[k]).__name__} "
                    f"{flat[k]!r}, but every {what} must be a string; convert them first "
                    f"(e.g. [[str(t) for t in s] for s in {name}])")


def check_label_lists(labels, offsets, name: str = "y", what: str = "tag",
                      allow_none: bool = False) -> list:
    """``labels`` as a list of label lists aligned with sentences of ``offsets``: one
    sequence per sentence (not a string), as many labels as tokens, every label a string.

    Returns
    -------
    flat : list
        The labels laid end to end.
    """
    if isinstance(labels, (str, bytes)):
        raise TypeError(f"{name} must be a list of {what} lists, got the string "
                        f"{labels[:40]!r}")
    labels = list(labels)
    lengths = np.diff(np.asarray(offsets))
    if len(labels) != lengths.shape[0]:
        raise ValueError(f"got {lengths.shape[0]} sentences but {len(labels)} {what} "
                         f"sequences in {name}")
    bad = [i for i, t in enumerate(map(type, labels))
           if issubclass(t, (str, bytes)) or not hasattr(t, "__len__")]
    if bad:
        i = bad[0]
        raise TypeError(f"{name}[{i}] is the {type(labels[i]).__name__} {labels[i]!r}, but "
                        f"{name} must hold one {what} list per sentence")
    got = np.fromiter(map(len, labels), dtype=np.int64, count=len(labels))
    if not np.array_equal(got, lengths):
        i = int(np.flatnonzero(got != lengths)[0])
        raise ValueError(f"sentence {i} has {lengths[i]} tokens but {got[i]} {what}s in "
                         f"{name}[{i}]")
    flat = list(itertools.chain.from_iterable(labels))
    check_strings(flat, offsets, name, what, allow_none)
    return flat


def check_tokens(tokens, name: str = "tokens") -> list:
    """One sentence as a list of tokens; a string is a TypeError, not a list of characters."""
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"{name} must be a list of tokens, got the string {tokens[:40]!r}; "
                        f"split it first, e.g. {tokens[:40]!r}.split()")
    return list(tokens)


def flatten(sentences: Iterable[Sequence]) -> tuple[list, np.ndarray]:
    """Flatten a list of token lists into one list and its ``offsets``, without a Python loop
    per token (``itertools.chain`` and ``map(len)`` run in C)."""
    sentences = check_sentences(sentences, "sentences")
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    flat = list(itertools.chain.from_iterable(sentences))
    return flat, lengths_to_offsets(lengths)


def lookup_per_type(tokens: list, cache: dict, compute, max_size: int = 100_000) -> np.ndarray:
    """An int per token, computed once per distinct token and remembered in ``cache`` for
    later calls (a stream tagged in batches meets the same words again; the cache starts
    afresh beyond ``max_size`` entries).

    Safe when several threads share ``cache``: ``compute`` must give a token's value from the
    token alone, and this call's values are read from its own table, so another thread
    emptying or filling the cache meanwhile changes nothing of the result.

    Parameters
    ----------
    tokens : list of str
    cache : dict
        token -> value, updated in place (whole-dict operations only, atomic under the GIL).
    compute : callable
        Distinct tokens (a list) -> their values (an iterable of ints).

    Returns
    -------
    ndarray of shape (len(tokens),), int64

    >>> cache = {}
    >>> lookup_per_type(["a", "bb", "a"], cache, lambda ws: map(len, ws)).tolist(), cache
    ([1, 2, 1], {'a': 1, 'bb': 2})
    """
    values = np.fromiter(map(cache.get, tokens, itertools.repeat(-1)), dtype=np.int64,
                         count=len(tokens))
    new = np.flatnonzero(values < 0)
    if new.size:
        missing = [tokens[i] for i in new.tolist()]
        words = list(dict.fromkeys(missing))
        computed = dict(zip(words, compute(words)))
        values[new] = np.fromiter(map(computed.__getitem__, missing), dtype=np.int64,
                                  count=new.size)
        if len(cache) + len(words) > max_size:
            cache.clear()
        cache.update(computed)
    return values


def factorize(tokens: Sequence) -> tuple[list, np.ndarray]:
    """The distinct values of ``tokens`` (in order of first appearance) and each token's
    index among them, with no Python loop per token (``dict`` building and ``map`` run in C),
    so that features can be computed once per type and gathered per token.

    >>> factorize(["the", "cat", "the"])
    (['the', 'cat'], array([0, 1, 0]))
    """
    types = list(dict.fromkeys(tokens))
    index = dict(zip(types, range(len(types))))
    ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    return types, ids


def unflatten(flat: Sequence, offsets) -> list[list]:
    """Inverse of :func:`flatten`: split a flat sequence at ``offsets`` into lists."""
    offsets = np.asarray(offsets, dtype=np.int64)
    flat = list(flat) if not isinstance(flat, list) else flat
    return [flat[a:b] for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


# ----------------------------------------------------------------------------- batch
@dataclass
class RaggedBatch:
    """A batch of integer sequences stored flat.

    Parameters
    ----------
    ids : ndarray of shape (n_tokens,), int32
        Token (observation) ids.
    offsets : ndarray of shape (n_sequences + 1,), int64
    labels : ndarray of shape (n_tokens,), int32, optional
        Label ids, ``-1`` where a token is unlabeled.
    domains : ndarray of shape (n_sequences,), int32, optional
        Domain (or task) id of each sequence.
    """

    ids: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray | None = None
    domains: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.ids = np.ascontiguousarray(self.ids)
        if self.ids.ndim != 1:
            raise ValueError(f"ids must be 1-D (n_tokens,), got shape {self.ids.shape}")
        if self.ids.size and not np.issubdtype(self.ids.dtype, np.integer):
            raise TypeError(f"ids must be integers, got dtype {self.ids.dtype}")
        self.ids = self.ids.astype(np.int32, copy=False)
        self.offsets = check_offsets(self.offsets, self.ids.shape[0])
        if self.labels is not None:
            labels = np.ascontiguousarray(self.labels)
            if labels.shape != self.ids.shape:
                raise ValueError(f"labels have shape {labels.shape} but ids have shape "
                                 f"{self.ids.shape}")
            if labels.size and not np.issubdtype(labels.dtype, np.integer):
                raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
            self.labels = labels.astype(np.int32, copy=False)
        if self.domains is not None:
            domains = np.ascontiguousarray(self.domains)
            if domains.shape != (self.n_sequences,):
                raise ValueError(f"domains must have shape ({self.n_sequences},), "
                                 f"got {domains.shape}")
            if domains.size and not np.issubdtype(domains.dtype, np.integer):
                raise TypeError(f"domains must be integers, got dtype {domains.dtype}")
            self.domains = domains.astype(np.int32, copy=False)

    # -- construction
    @classmethod
    def from_lengths(cls, ids, lengths=None, labels=None, domains=None) -> RaggedBatch:
        """hmmlearn-style input: flat ids and per-sequence ``lengths`` (None = one sequence)."""
        ids = np.asarray(ids)
        if ids.ndim == 2 and ids.shape[1] == 1:
            ids = ids[:, 0]
        if ids.ndim != 1:
            raise ValueError(f"X must have shape (n_samples,) or (n_samples, 1), got {ids.shape}")
        if lengths is None:
            lengths = [ids.shape[0]]
        lengths = np.asarray(lengths)
        total = int(lengths.sum()) if lengths.size else 0
        if total != ids.shape[0]:
            raise ValueError(f"lengths sum to {total} but X has {ids.shape[0]} tokens")
        if lengths.size and lengths.min() < 1:
            bad = int(np.flatnonzero(lengths < 1)[0])
            raise ValueError(f"all lengths must be >= 1, but lengths[{bad}] = {lengths[bad]}")
        return cls(ids, lengths_to_offsets(lengths), labels=labels, domains=domains)

    # -- properties
    @property
    def n_sequences(self) -> int:
        return self.offsets.shape[0] - 1

    @property
    def n_tokens(self) -> int:
        return self.ids.shape[0]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return self.n_sequences

    def validate(self, n_types: int | None = None, n_labels: int | None = None,
                 n_domains: int | None = None) -> RaggedBatch:
        """Check id ranges; raise ValueError naming the first offending position."""
        def _range(arr, hi, what, lo=0):
            if arr is None or arr.size == 0 or hi is None:
                return
            bad = np.flatnonzero((arr < lo) | (arr >= hi))
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"{what}[{i}] = {arr[i]} is out of range [{lo}, {hi}) "
                                 f"({bad.size} such entries)")
        _range(self.ids, n_types, "ids")
        _range(self.labels, n_labels, "labels", lo=-1)
        _range(self.domains, n_domains, "domains")
        return self

    def sequence(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i]:self.offsets[i + 1]]

    def token_sequence_index(self) -> np.ndarray:
        """Sequence index of every token, shape (n_tokens,)."""
        return np.repeat(np.arange(self.n_sequences, dtype=np.int64), self.lengths)

    def select(self, index) -> RaggedBatch:
        """A new batch holding the sequences ``index`` (array of ints or boolean mask),
        vectorized."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        index = index.astype(np.int64)
        pos, new_offsets = token_positions(self.offsets, index)
        return RaggedBatch(
            self.ids[pos], new_offsets,
            labels=None if self.labels is None else self.labels[pos],
            domains=None if self.domains is None else self.domains[index],
            meta=dict(self.meta),
        )

    def __getitem__(self, item) -> RaggedBatch:
        if isinstance(item, slice):
            return self.select(np.arange(self.n_sequences)[item])
        if isinstance(item, (int, np.integer)):
            return self.select([item])
        return self.select(item)

    def split(self, n_parts: int) -> list[RaggedBatch]:
        """Split into ``n_parts`` contiguous batches of about equal token counts."""
        if n_parts < 1:
            raise ValueError(f"n_parts must be >= 1, got {n_parts}")
        targets = np.linspace(0, self.n_tokens, n_parts + 1)
        cuts = np.searchsorted(self.offsets, targets[1:-1])
        bounds = np.concatenate([[0], cuts, [self.n_sequences]])
        return [self.select(np.arange(a, b)) for a, b in zip(bounds[:-1], bounds[1:])]

    @staticmethod
    def concatenate(batches: Sequence[RaggedBatch]) -> RaggedBatch:
        batches = list(batches)
        if not batches:
            return RaggedBatch(np.zeros(0, np.int32), np.zeros(1, np.int64))
        ids = np.concatenate([b.ids for b in batches])
        lengths = np.concatenate([b.lengths for b in batches])
        labels = None
        if any(b.labels is not None for b in batches):
            labels = np.concatenate([b.labels if b.labels is not None
                                     else np.full(b.n_tokens, -1, np.int32) for b in batches])
        domains = None
        if any(b.domains is not None for b in batches):
            domains = np.concatenate([b.domains if b.domains is not None
                                      else np.zeros(b.n_sequences, np.int32) for b in batches])
        return RaggedBatch(ids, lengths_to_offsets(lengths), labels=labels, domains=domains)

    def to_lists(self, decode=None) -> list[list]:
        """Back to Python lists (of ids, or of strings through ``decode``, e.g.
        ``vocab.decode``)."""
        flat = self.ids if decode is None else decode(self.ids)
        flat = flat.tolist() if isinstance(flat, np.ndarray) else list(flat)
        return unflatten(flat, self.offsets)


# ----------------------------------------------------------------------------- signatures
_SUFFIXES: tuple[str, ...]
_SUFFIXES = ("ing", "ed", "ly", "ion", "ions", "er", "ers", "est", "al", "ity", "ty", "ic",
             "ous", "ive", "able", "ible", "ment", "ness", "ful", "less", "ize", "ise", "ism",
             "ist", "ent", "ant", "ence", "ance", "y", "s", "'s", "es", "en", "age", "ery")
_SUFFIXES = tuple(sorted(set(_SUFFIXES), key=len, reverse=True))
#: the suffixes by length, longest first (at most one of a length ends a word)
_SUFFIXES_BY_LENGTH = tuple((n, frozenset(s for s in _SUFFIXES if len(s) == n))
                            for n in sorted({len(s) for s in _SUFFIXES}, reverse=True))
_HAS_DIGIT = re.compile(r"\d")
_ALL_DIGIT_PUNCT = re.compile(r"^[\d.,:/\-+%]+$")
_ALPHA = re.compile(r"[^\W\d_]")


def _signature_levels(word: str, sentence_initial: bool = False) -> tuple[str, str, str]:
    """The signatures of ``word`` with suffix (levels 3-4), with hyphen / digit marks only
    (level 2) and with casing only (level 1), from one look at the word."""
    if _ALL_DIGIT_PUNCT.match(word) and _HAS_DIGIT.search(word):
        return ("<unk-NUM>",) * 3
    if not _ALPHA.search(word):
        sig = "<unk-PUNCT>" if not _HAS_DIGIT.search(word) else "<unk-NUM>"
        return (sig,) * 3
    if word.isupper() and len(word) > 1:
        case = "ALLC"
    elif word[0].isupper():
        case = "INITC" if not sentence_initial else "SINITC"
    elif any(c.isupper() for c in word):
        case = "MIXC"
    else:
        case = "LC"
    marks = case + ("-DIG" if _HAS_DIGIT.search(word) else "") + ("-DASH" if "-" in word else "")
    full = marks
    lw = word.lower()
    if len(lw) > 3:
        for n, suffixes in _SUFFIXES_BY_LENGTH:
            if len(lw) > n + 1 and lw[-n:] in suffixes:
                full = marks + "-" + lw[-n:]
                break
    return f"<unk-{full}>", f"<unk-{marks}>", f"<unk-{case}>"


def unknown_signature(word: str, *, sentence_initial: bool = False, level: int = 4) -> str:
    """Unknown-word class of ``word``, after the Berkeley parser's ``UNK-...`` signatures.

    Captures capitalization (all caps, initial cap, lowercase), digits, hyphens, and a
    common English suffix, e.g. ``"Brexiting"`` -> ``"<unk-INITC-ing>"``,
    ``"2,031.5"`` -> ``"<unk-NUM>"``.  ``level`` 0 gives just ``"<unk>"``; lower levels
    drop the suffix (2), the hyphen / digit marks (1), and casing (0).

    >>> unknown_signature("Brexiting")
    '<unk-INITC-ing>'
    >>> unknown_signature("2,031.5")
    '<unk-NUM>'
    >>> unknown_signature("e-mails")
    '<unk-LC-DASH-s>'
    >>> unknown_signature("e-mails", level=2)
    '<unk-LC-DASH>'
    """
    if level <= 0 or not word:
        return UNK
    return _signature_levels(word, sentence_initial)[max(0, 3 - level)]


# ----------------------------------------------------------------------------- vocabulary
class Vocabulary:
    """A mapping between word strings and integer ids, with unknown-word signatures.

    Words seen at least ``min_count`` times (and among the ``max_size`` most frequent) get
    their own id.  Rarer words, and words never seen, map to the id of their
    :func:`unknown_signature` class when that class was seen in training (through rare
    words), to a coarser class otherwise, and finally to ``"<unk>"``.  So out-of-vocabulary
    words in a new domain still get informative ids.

    Parameters
    ----------
    min_count : int, default=1
    max_size : int or None
        Largest number of word types (signatures and reserved tokens not counted).
    lowercase : bool, default=False
        Lowercase words before lookup (signatures still see the original casing).
    signatures : bool, default=True
        Use unknown-word signatures; when False every unknown word is ``"<unk>"``.
    reserved : sequence of str
        Tokens given the first ids, in order.  ``"<unk>"`` is always id 0.
    """

    FORMAT_VERSION = 1

    def __init__(self, min_count: int = 1, max_size: int | None = None, lowercase: bool = False,
                 signatures: bool = True, reserved: Sequence[str] = ()):
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        if max_size is not None and max_size < 1:
            raise ValueError(f"max_size must be >= 1 or None, got {max_size}")
        self.min_count = int(min_count)
        self.max_size = max_size
        self.lowercase = bool(lowercase)
        self.signatures = bool(signatures)
        self.reserved = tuple(reserved)
        self._types: list[str] = [UNK] + [r for r in self.reserved if r != UNK]
        self._index: dict[str, int] = {w: i for i, w in enumerate(self._types)}
        self._signature_cache: dict[str, int] = {}
        self.counts_: np.ndarray | None = None
        self.n_words_ = 0  # number of real word types (not signatures / reserved)

    # -- fitting
    def _key(self, word: str) -> str:
        return word.lower() if self.lowercase else word

    def fit(self, sentences: Iterable[Sequence[str]]) -> Vocabulary:
        """Count words of a list of token lists (or a flat iterable of lists streamed)."""
        counter: Counter = Counter()
        for sent in sentences:  # per sentence update runs C-level Counter.update
            if isinstance(sent, str):
                raise TypeError("expected token lists, got a string; wrap a sentence as [tokens]")
            counter.update(map(self._key, sent) if self.lowercase else sent)
        return self.fit_counts(counter)

    def fit_counts(self, counter: dict) -> Vocabulary:
        items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [(w, c) for w, c in items if c >= self.min_count and w not in self._index]
        if self.max_size is not None:
            kept = kept[: self.max_size]
        base = [UNK] + [r for r in self.reserved if r != UNK]
        types = base + [w for w, _ in kept]
        kept_set = {w for w, _ in kept}
        counts = [0] * len(base) + [c for _, c in kept]
        if self.signatures:
            sig_counts: Counter = Counter()
            for w, c in items:
                if w not in kept_set and w not in base:
                    sig_counts[unknown_signature(w)] += c
            for sig, c in sorted(sig_counts.items(), key=lambda kv: (-kv[1], kv[0])):
                if sig != UNK:
                    types.append(sig)
                    counts.append(c)
            counts[0] += sig_counts.get(UNK, 0)
        else:
            counts[0] += sum(c for w, c in items if w not in kept_set and w not in base)
        self._types = types
        self._index = {w: i for i, w in enumerate(types)}
        self._signature_cache = {}
        self.counts_ = np.asarray(counts, dtype=np.int64)
        self.n_words_ = len(kept)
        return self

    # -- lookup
    def __len__(self) -> int:
        return len(self._types)

    @property
    def types(self) -> list[str]:
        return list(self._types)

    def __contains__(self, word: str) -> bool:
        return self._key(word) in self._index

    def index(self, word: str) -> int:
        return int(self.encode_tokens([word])[0])

    def is_known(self, ids) -> np.ndarray:
        """True for ids that stand for a word itself (not a signature or ``<unk>``)."""
        ids = np.asarray(ids)
        first_word = 1 + len([r for r in self.reserved if r != UNK])
        return (ids >= first_word) & (ids < first_word + self.n_words_)

    def signature_id(self, word: str) -> int:
        """Id of the most specific signature of ``word`` seen in training (0: ``<unk>``)."""
        if not self.signatures or not word:
            return 0
        for sig in _signature_levels(word):
            i = self._index.get(sig)
            if i is not None:
                return i
        return 0

    #: unseen word types whose signature id is remembered across calls (then it starts afresh)
    SIGNATURE_CACHE_SIZE = 100_000

    def encode_tokens(self, tokens: Sequence[str]) -> np.ndarray:
        """Ids of a flat list of tokens (int32).  Unknown words get their signature id once
        per type; the ids of unseen types are remembered for later calls (a stream tagged in
        batches meets the same ones again)."""
        tokens = tokens if isinstance(tokens, list) else list(tokens)
        keys = list(map(str.lower, tokens)) if self.lowercase else tokens
        ids = np.fromiter(map(self._index.get, keys, itertools.repeat(-1)),
                          dtype=np.int64, count=len(keys))
        missing = np.flatnonzero(ids < 0)
        if missing.size:
            ids[missing] = lookup_per_type(
                [tokens[i] for i in missing.tolist()], self._signature_cache,
                lambda words: map(self.signature_id, words), self.SIGNATURE_CACHE_SIZE)
        return ids.astype(np.int32)

    def encode(self, sentences: Iterable[Sequence[str]], labels=None, domains=None) -> RaggedBatch:
        """Turn a list of token lists into a :class:`RaggedBatch`."""
        flat, offsets = flatten(sentences)
        return RaggedBatch(self.encode_tokens(flat), offsets, labels=labels, domains=domains)

    def decode(self, ids) -> list[str]:
        types = self._types
        return [types[i] for i in np.asarray(ids).tolist()]

    # -- persistence (JSON-able, no pickle)
    def to_dict(self) -> dict:
        return {
            "format_version": self.FORMAT_VERSION,
            "min_count": self.min_count, "max_size": self.max_size, "lowercase": self.lowercase,
            "signatures": self.signatures, "reserved": list(self.reserved),
            "types": list(self._types), "n_words": self.n_words_,
            "counts": None if self.counts_ is None else self.counts_.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        if d.get("format_version") != cls.FORMAT_VERSION:
            raise ValueError(f"vocabulary format version {d.get('format_version')!r} is not "
                             f"supported (expected {cls.FORMAT_VERSION})")
        v = cls(d["min_count"], d["max_size"], d["lowercase"], d["signatures"], d["reserved"])
        types = list(d["types"])
        if not types or types[0] != UNK or len(set(types)) != len(types):
            raise ValueError("vocabulary types must be unique and start with '<unk>'")
        v._types = types
        v._index = {w: i for i, w in enumerate(types)}
        v.n_words_ = int(d["n_words"])
        v.counts_ = None if d.get("counts") is None else np.asarray(d["counts"], dtype=np.int64)
        return v

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (f"Vocabulary(size={len(self)}, words={self.n_words_}, min_count={self.min_count}, "
                f"lowercase={self.lowercase}, signatures={self.signatures})")


# ----------------------------------------------------------------------------- labels
class LabelSet:
    """Label strings <-> ids.  ``None`` (an unlabeled position) encodes to ``-1``."""

    FORMAT_VERSION = 1

    def __init__(self, labels: Sequence[str] = ()):
        self._labels: list[str] = []
        self._index: dict[str, int] = {}
        for lab in labels:
            self.add(lab)

    def add(self, label: str) -> int:
        if label is None:
            raise ValueError("None is not a label (it marks an unlabeled position)")
        i = self._index.get(label)
        if i is None:
            i = self._index[label] = len(self._labels)
            self._labels.append(label)
        return i

    def fit(self, label_sequences: Iterable[Sequence[str]]) -> LabelSet:
        seen: set[str] = set()
        for seq in label_sequences:
            if seq is None:
                continue
            seen.update(x for x in seq if x is not None)
        for lab in sorted(seen):
            self.add(lab)
        return self

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, label) -> bool:
        return label in self._index

    def __iter__(self):
        return iter(self._labels)

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def encode_flat(self, labels: Sequence, *, unknown: str = "error") -> np.ndarray:
        """Ids (int32) of a flat label list; ``None`` -> -1.

        unknown : {"error", "missing"}
            What to do with labels not in the set: raise a ValueError listing them, or map
            them to -1.
        """
        ids = np.fromiter(map(self._index.get, labels, itertools.repeat(-2)), dtype=np.int64,
                          count=len(labels))
        bad = np.flatnonzero(ids == -2)
        if bad.size:
            is_none = np.fromiter((labels[i] is None for i in bad.tolist()), dtype=bool,
                                  count=bad.size)
            ids[bad[is_none]] = -1
            bad = bad[~is_none]
        if bad.size:
            if unknown == "error":
                names = sorted({str(labels[i]) for i in bad.tolist()})
                shown = ", ".join(map(repr, names[:10])) + (" ..." if len(names) > 10 else "")
                raise ValueError(f"{bad.size} labels are not in the label set "
                                 f"({len(self)} labels): {shown}")
            ids[bad] = -1
        return ids.astype(np.int32)

    def encode(self, label_sequences: Sequence[Sequence], *, unknown: str = "error") -> np.ndarray:
        """Flat ids of a list of label lists (a whole sentence may be None = unlabeled)."""
        seqs = list(label_sequences)
        flat = list(itertools.chain.from_iterable(s if s is not None else () for s in seqs))
        if any(s is None for s in seqs):
            raise ValueError("a whole-sentence None needs its length; "
                             "use encode_for(sentences, labels)")
        return self.encode_flat(flat, unknown=unknown)

    def encode_for(self, sentences: Sequence[Sequence], label_sequences: Sequence, *,
                   unknown: str = "error") -> np.ndarray:
        """Like :meth:`encode`, checking lengths against ``sentences``; a None sentence is
        all unlabeled (-1)."""
        if len(sentences) != len(label_sequences):
            raise ValueError(f"got {len(sentences)} sentences but {len(label_sequences)} label "
                             f"sequences")
        lens = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
        lab_lens = np.fromiter((len(s) if s is not None else -1 for s in label_sequences),
                               dtype=np.int64, count=len(label_sequences))
        bad = np.flatnonzero((lab_lens != lens) & (lab_lens != -1))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"sentence {i} has {lens[i]} tokens but {lab_lens[i]} labels")
        none_idx = np.flatnonzero(lab_lens == -1)
        if none_idx.size:
            label_sequences = list(label_sequences)
            for i in none_idx.tolist():
                label_sequences[i] = [None] * int(lens[i])
        flat = list(itertools.chain.from_iterable(label_sequences))
        return self.encode_flat(flat, unknown=unknown)

    def decode(self, ids) -> list:
        ids = np.asarray(ids)
        if ids.size and ids.min() >= 0:  # gathered in C from an object array of the labels
            table = np.empty(len(self._labels), dtype=object)
            table[:] = self._labels
            return table[ids].tolist()
        labels = self._labels
        return [labels[i] if i >= 0 else None for i in ids.tolist()]

    def to_dict(self) -> dict:
        return {"format_version": self.FORMAT_VERSION, "labels": list(self._labels)}

    @classmethod
    def from_dict(cls, d: dict) -> LabelSet:
        if d.get("format_version") != cls.FORMAT_VERSION:
            raise ValueError(f"label set format version {d.get('format_version')!r} "
                             f"is not supported")
        labels = list(d["labels"])
        if len(set(labels)) != len(labels):
            raise ValueError("label set has duplicate labels")
        return cls(labels)

    def __eq__(self, other) -> bool:
        return isinstance(other, LabelSet) and self._labels == other._labels

    def __repr__(self) -> str:
        return f"LabelSet({self._labels!r})"
