"""Type-level feature templates for the CRF-style labelers.

Features are computed once per distinct word *type* (``"Brexiting"`` -> ``["w=brexiting",
"p1=b", ..., "s3=ing", "shape=Xxxxx", "sshape=Xx", "initcap"]``), never per token.  A
sentence's tokens then pick up their own type's features and their neighbours' (window
``-2..+2``, each offset a different feature: ``f`` at ``-1`` is not ``f`` at ``0``), gathered in
compiled code by :mod:`hmmtl.crf._kernels` from a sparse type x feature table, flat token type
ids and ``offsets``.

Templates
---------
Built-in templates are named by strings:

* ``"lower"``: lowercased identity ``w=...``
* ``"word"``: case-sensitive identity ``W=...``
* ``"prefix"``: prefixes of 1..4 characters ``p1=...`` .. ``p4=...``
* ``"suffix"``: suffixes of 1..4 characters ``s1=...`` .. ``s4=...``
* ``"shape"``: word shape (``Xxxx-dd``: upper ``X``, lower ``x``, digit ``d``) ``shape=...``
* ``"short_shape"``: shape with repeats collapsed (``Xx-d``) ``sshape=...``
* ``"flags"``: ``initcap``, ``allcap``, ``hascap``, ``digit``, ``alldigit``, ``hyphen``,
  ``punct``, ``allpunct``

A user template is a callable ``word -> list of feature strings``; to be saved with a model it
must be a module-level function (stored as ``"module:qualname"`` and imported when loading).
Different templates should write different strings (the built-ins use distinct prefixes): a
string two templates both produce counts once, for the first of them.

Per-offset templates
--------------------
``window`` may map each offset to its own templates, e.g. ``{-1: ["lower", "suffix"],
0: DEFAULT_TEMPLATES, 1: ["lower"]}``: the word types are still featurized once (with the union
of the templates), and each (offset, type) slot keeps the features of that offset's templates.
"""

from __future__ import annotations

import importlib
import itertools
import operator
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ..serialize import (ModelFileError, array_prefix, check_index_array, check_pointer_array,
                        check_shape)

__all__ = [
    "DEFAULT_TEMPLATES",
    "BUILTIN_TEMPLATES",
    "word_features",
    "word_shape",
    "short_shape",
    "TypeFeaturizer",
    "TypeValues",
    "stable_hash",
    "template_names",
    "resolve_templates",
    "register_template",
    "check_saved_templates",
    "PAD_LEFT",
    "PAD_RIGHT",
]

DEFAULT_TEMPLATES = ("lower", "prefix", "suffix", "shape", "short_shape", "flags")

# The out-of-sentence neighbours are two pseudo types whose only feature says which side.
PAD_LEFT = "__BOS__"
PAD_RIGHT = "__EOS__"
_PAD_FEATURES = {PAD_LEFT: ["BOS"], PAD_RIGHT: ["EOS"]}

_PUNCT = re.compile(r"[^\w\s]")
_ALLPUNCT = re.compile(r"^[^\w\s]+$")
_DIGIT = re.compile(r"\d")


_SHAPE_TABLE = str.maketrans(
    {**dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "X"),
     **dict.fromkeys("abcdefghijklmnopqrstuvwxyz", "x"),
     **dict.fromkeys("0123456789", "d")})
_RUNS = re.compile(r"(.)\1+")
#: the replacement of a run by its character, called by ``_RUNS.sub`` in C (a template
#: string such as ``r"\1"`` is expanded by Python code at every match)
_RUN_CHAR = operator.methodcaller("group", 1)


def word_shape(word: str) -> str:
    """``"McDonald's-2"`` -> ``"XxXxxxxx'x-d"``: upper ``X``, lower ``x``, digit ``d``.

    >>> word_shape("Brexit-2019")
    'Xxxxxx-dddd'
    """
    if word.isascii():
        return word.translate(_SHAPE_TABLE)
    out = []
    for ch in word:
        if ch.isupper():
            out.append("X")
        elif ch.islower():
            out.append("x")
        elif ch.isdigit():
            out.append("d")
        else:
            out.append(ch)
    return "".join(out)


def short_shape(word: str) -> str:
    """Word shape with runs of one character class collapsed.

    >>> short_shape("Brexit-2019")
    'Xx-d'
    """
    return _RUNS.sub(_RUN_CHAR, word_shape(word))


def _lower(word):
    return ["w=" + word.lower()]


def _word(word):
    return ["W=" + word]


def _prefix(word):
    lw = word.lower()
    return [f"p{k}={lw[:k]}" for k in range(1, min(4, len(lw)) + 1)]


def _suffix(word):
    lw = word.lower()
    return [f"s{k}={lw[-k:]}" for k in range(1, min(4, len(lw)) + 1)]


def _shape(word):
    return ["shape=" + word_shape(word)]


def _short_shape(word):
    return ["sshape=" + _RUNS.sub(_RUN_CHAR, word_shape(word))]


def _flags(word):
    f = []
    if word[:1].isupper():
        f.append("initcap")
    if word.isupper():
        f.append("allcap")
    elif not word.islower() and word.lower() != word:
        f.append("hascap")
    if _DIGIT.search(word):
        f.append("digit")
        if word.isdigit():
            f.append("alldigit")
    if "-" in word:
        f.append("hyphen")
    if _PUNCT.search(word):
        f.append("punct")
        if _ALLPUNCT.match(word):
            f.append("allpunct")
    return f


class _WordBatch:
    """Distinct word types featurized together: each built-in template runs once over the
    whole batch (list comprehensions in C-level loops), not once per word; the lowercased
    words, their lengths and shapes are computed once and shared between templates."""

    def __init__(self, words):
        self.words = words
        self.n = len(words)
        self._lower = self._lengths = self._shape = None

    @property
    def lower(self):
        if self._lower is None:
            self._lower = [w.lower() for w in self.words]
        return self._lower

    @property
    def lengths(self):
        if self._lengths is None:
            self._lengths = np.fromiter(map(len, self.lower), dtype=np.int64, count=self.n)
        return self._lengths

    @property
    def shape(self):
        if self._shape is None:
            self._shape = list(map(word_shape, self.words))
        return self._shape

    def where(self, mask):
        """Indices of the words where ``mask`` (an iterable of bools) holds."""
        return np.flatnonzero(np.fromiter(mask, dtype=bool, count=self.n))


def _affix_passes(batch, suffix: bool):
    out = []
    lows, lengths = batch.lower, batch.lengths
    for k in range(1, 5):
        head = f"s{k}=" if suffix else f"p{k}="
        if lengths.shape[0] and lengths.min() >= k:
            idx, ws = None, lows
        else:
            idx = np.flatnonzero(lengths >= k)
            ws = [lows[i] for i in idx.tolist()]
        out.append((idx, [head + w[-k:] for w in ws] if suffix else
                    [head + w[:k] for w in ws]))
    return out


def _flag_passes(batch):
    words, lows, where = batch.words, batch.lower, batch.where
    upper = np.fromiter(map(str.isupper, words), dtype=bool, count=batch.n)
    lower = np.fromiter(map(str.islower, words), dtype=bool, count=batch.n)
    cased = np.fromiter(map(str.__ne__, lows, words), dtype=bool, count=batch.n)
    digit = where(map(bool, map(_DIGIT.search, words)))
    punct = where(map(bool, map(_PUNCT.search, words)))
    # allcap and hascap exclude each other: one pass keeps _flags' order
    cap = np.flatnonzero(upper | (~lower & cased))
    cap_names = np.where(upper[cap], "allcap", "hascap").tolist()
    dw = [words[i] for i in digit.tolist()]
    pw = [words[i] for i in punct.tolist()]
    alldigit = digit[np.fromiter(map(str.isdigit, dw), dtype=bool, count=len(dw))]
    allpunct = punct[np.fromiter(map(bool, map(_ALLPUNCT.match, pw)), dtype=bool,
                                 count=len(pw))]
    hyphen = where(map(str.__contains__, words, ["-"] * batch.n))
    initcap = where(map(str.isupper, [w[:1] for w in words]))
    passes = [(initcap, "initcap"), (cap, cap_names), (digit, "digit"), (alldigit, "alldigit"),
              (hyphen, "hyphen"), (punct, "punct"), (allpunct, "allpunct")]
    return [(idx, names if isinstance(names, list) else [names] * idx.shape[0])
            for idx, names in passes]


def _short_shapes(batch):
    uniq = {s: "sshape=" + _RUNS.sub(_RUN_CHAR, s) for s in set(batch.shape)}
    return [(None, list(map(uniq.__getitem__, batch.shape)))]


# word batch -> [(word indices or None for all, feature strings)], one pair per pass; each
# gives the same features, in the same order, as the template word by word
_BATCH_TEMPLATES = {
    _lower: lambda b: [(None, ["w=" + w for w in b.lower])],
    _word: lambda b: [(None, ["W=" + w for w in b.words])],
    _prefix: lambda b: _affix_passes(b, suffix=False),
    _suffix: lambda b: _affix_passes(b, suffix=True),
    _shape: lambda b: [(None, ["shape=" + s for s in b.shape])],
    _short_shape: _short_shapes,
    _flags: _flag_passes,
}


BUILTIN_TEMPLATES: dict[str, Callable[[str], list]] = {
    "lower": _lower,
    "word": _word,
    "prefix": _prefix,
    "suffix": _suffix,
    "shape": _shape,
    "short_shape": _short_shape,
    "flags": _flags,
}


#: custom templates a model file may name: "module:qualname" -> function
_REGISTERED_TEMPLATES: dict[str, Callable[[str], list]] = {}


def register_template(func: Callable[[str], list], name: str | None = None):
    """Allow model files to use the custom template ``func`` (saved under ``name``, by
    default ``"module:qualname"``); returns ``func``, so it works as a decorator.

    A model file names its templates; loading it looks names up among the built-in templates
    and the registered ones only, never importing what a file names (that would run code
    chosen by the file).  Register a custom template before loading a model that uses it.
    """
    if not callable(func):
        raise TypeError(f"register_template needs a callable word -> list of str, got {func!r}")
    if name is None:
        name = template_names([func])[0]
    if name in BUILTIN_TEMPLATES:
        raise ValueError(f"{name!r} is a built-in template name")
    _REGISTERED_TEMPLATES[name] = func
    return func


def check_saved_templates(names, where: str = "the model file") -> None:
    """Refuse template names read from a file that are neither built-in nor registered
    (:func:`register_template`): a ``ValueError`` naming them."""
    from ..serialize import ModelFileError

    if names is None:
        return
    if isinstance(names, str):
        names = [names]
    if isinstance(names, dict):
        names = [n for v in names.values() for n in ([v] if isinstance(v, str) else v or [])]
    if not isinstance(names, (list, tuple)):
        raise ModelFileError(f"{where}: feature templates must be a list of names, got "
                             f"{type(names).__name__}")
    for name in names:
        if not isinstance(name, str):
            raise ModelFileError(f"{where}: feature template names must be strings, got "
                                 f"{name!r}")
        if name not in BUILTIN_TEMPLATES and name not in _REGISTERED_TEMPLATES:
            raise ModelFileError(
                f"{where} uses the feature template {name!r}, which is not built in "
                f"({', '.join(sorted(BUILTIN_TEMPLATES))}); hmmtl does not import code a "
                f"model file names.  If you trust the file, call "
                f"hmmtl.crf.features.register_template(function) before loading it")


def resolve_templates(templates) -> list[Callable[[str], list]]:
    """Turn template names (built-in, registered, or ``"module:qualname"``) and callables into
    callables."""
    if templates is None:
        templates = DEFAULT_TEMPLATES
    if isinstance(templates, str) or callable(templates):
        templates = [templates]
    out = []
    for t in templates:
        if callable(t):
            out.append(t)
        elif isinstance(t, str) and t in BUILTIN_TEMPLATES:
            out.append(BUILTIN_TEMPLATES[t])
        elif isinstance(t, str) and t in _REGISTERED_TEMPLATES:
            out.append(_REGISTERED_TEMPLATES[t])
        elif isinstance(t, str) and ":" in t:
            mod, _, qual = t.partition(":")
            obj = importlib.import_module(mod)
            for part in qual.split("."):
                obj = getattr(obj, part)
            out.append(obj)
        else:
            raise ValueError(f"unknown feature template {t!r}: expected one of "
                             f"{sorted(BUILTIN_TEMPLATES)}, a callable word -> list of str, "
                             f"or 'module:function'")
    return out


def template_names(templates) -> list[str]:
    """JSON-able names of ``templates`` (for saving a model).

    Raises
    ------
    ValueError
        For a callable that cannot be imported back by name (a lambda or a local function).
    """
    if templates is None:
        return list(DEFAULT_TEMPLATES)
    if isinstance(templates, str) or callable(templates):
        templates = [templates]
    names = []
    for t in templates:
        if isinstance(t, str):
            names.append(t)
            continue
        name = next((k for k, v in (*BUILTIN_TEMPLATES.items(),
                                    *_REGISTERED_TEMPLATES.items()) if v is t), None)
        if name is None:
            qual = getattr(t, "__qualname__", "")
            mod = getattr(t, "__module__", None)
            if not mod or "<" in qual:
                raise ValueError(f"template {t!r} cannot be saved: use a module-level function "
                                 f"(saved as 'module:qualname'), not a lambda or local function")
            name = f"{mod}:{qual}"
        names.append(name)
    return names


def word_features(word: str, templates=None) -> list[str]:
    """Feature strings of one word type (duplicates removed, order kept).

    >>> word_features("Dogs", ["lower", "suffix"])
    ['w=dogs', 's1=s', 's2=gs', 's3=ogs', 's4=dogs']
    """
    return _type_features(word, resolve_templates(templates))[0]


def _type_features(word, funcs):
    """(feature strings, index in ``funcs`` of the template of each) of one word type; the
    padding types' one feature has template index -1 (it counts at every offset)."""
    if word in _PAD_FEATURES:
        return list(_PAD_FEATURES[word]), [-1]
    feats, which = [], []
    for i, f in enumerate(funcs):
        fs = f(word)
        feats.extend(fs)
        which.extend([i] * len(fs))
    if len(set(feats)) < len(feats):
        first: dict[str, int] = {}
        for f, i in zip(feats, which):
            first.setdefault(f, i)
        feats, which = list(first), list(first.values())
    return feats, which


def _type_rows(words, funcs):
    """Features of several word types: (row lengths, feature strings laid end to end, the
    int8 template index of each), each row as :func:`_type_features` gives it.  Built-in
    templates run batch-wise (:data:`_BATCH_TEMPLATES`)."""
    lengths, strings, which, order = _type_rows_unordered(words, funcs)
    if order is not None:
        strings = [strings[j] for j in order.tolist()]
    return lengths, strings, which


def _type_rows_unordered(words, funcs):
    """:func:`_type_rows` before its strings are put in row order: (row lengths, feature
    strings, the int8 template index of each entry in row order, ``order``); entry ``e``
    of the rows is ``strings[order[e]]`` (``order`` None: the strings are in row order).
    A caller that maps the strings to numbers maps them first and orders the numbers, which
    is cheaper than ordering the strings."""
    n = len(words)
    batchable = (all(f in _BATCH_TEMPLATES for f in funcs)
                 and len(set(map(id, funcs))) == len(funcs)
                 and not any(w in _PAD_FEATURES for w in words))
    if not batchable:  # user templates may repeat a string: word by word, deduplicated
        rows = [_type_features(w, funcs) for w in words]
        lengths = np.fromiter((len(f) for f, _ in rows), dtype=np.int64, count=n)
        flat = [f for fs, _ in rows for f in fs]  # per type, not per token
        which = np.fromiter((i for _, ws in rows for i in ws), dtype=np.int8, count=len(flat))
        return lengths, flat, which, None
    batch = _WordBatch(words)
    owners, whichs, strings = [], [], []
    for i, f in enumerate(funcs):
        for idx, strs in _BATCH_TEMPLATES[f](batch):
            owners.append(np.arange(n, dtype=np.int64) if idx is None else idx)
            whichs.append(np.full(len(strs), i, dtype=np.int8))
            strings.extend(strs)
    owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
    order = np.argsort(owner, kind="stable")  # word-major, template order within a word
    which = np.concatenate(whichs)[order] if whichs else np.zeros(0, dtype=np.int8)
    return np.bincount(owner, minlength=n).astype(np.int64), strings, which, order


def stable_hash(strings: Sequence[str]) -> np.ndarray:
    """Deterministic 32-bit hashes (CRC-32) of strings, int64; same across runs and machines."""
    return np.fromiter(map(zlib.crc32, map(str.encode, strings)), dtype=np.int64,
                       count=len(strings))


def _csr_rows(ptr, columns, rows):
    """Lengths of rows ``rows`` of a CSR table and those rows of each array in ``columns``,
    laid end to end (vectorized gather)."""
    lengths = ptr[rows + 1] - ptr[rows]
    total = int(lengths.sum())
    starts = np.repeat(ptr[rows] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    index = starts + np.arange(total)
    return lengths, [c[index] for c in columns]


class _TypeTable(NamedTuple):
    """CSR rows of a few word types: int64 row pointers, base feature ids, int8 templates."""
    ptr: np.ndarray
    feature: np.ndarray
    template: np.ndarray


_EMPTY_TABLE = _TypeTable(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64),
                          np.zeros(0, dtype=np.int8))


class TypeLookup(NamedTuple):
    """What :meth:`TypeFeaturizer.lookup` returns: the type id of each token, and the rows
    of the types unseen in fit (ids from ``len(types)`` on), which belong to this call."""
    type_ids: np.ndarray
    unseen: _TypeTable


class TypeFeaturizer:
    """Sparse type x base-feature table, built and extended one word type at a time.

    Parameters
    ----------
    templates : sequence of str or callable, optional
        Feature templates (see the module docstring); default :data:`DEFAULT_TEMPLATES`.
    hashing : bool, default=False
        When True, base features are identified by :func:`stable_hash` of their string (no
        feature vocabulary, unseen features of new words still count); when False by their
        index in :attr:`features`, built from the words seen in :meth:`fit`, and features of
        new words that were never seen are dropped.

    Attributes
    ----------
    types : list of str
        The known word types; ``types[0]`` and ``types[1]`` are the padding pseudo types.
    features : list of str
        Base feature vocabulary (dictionary mode).
    type_ptr, type_feature, type_template : ndarray
        CSR rows of the type x base-feature table (int64 row pointers, int64 base ids, and
        the int8 index of each entry's template in ``templates``, -1 for the padding
        features).
    """

    def __init__(self, templates=None, hashing: bool = False):
        self.templates = templates
        self.hashing = bool(hashing)
        self._funcs = resolve_templates(templates)
        if len(self._funcs) > 127:
            raise ValueError(f"at most 127 templates, got {len(self._funcs)}")
        self.types: list[str] = []
        self.type_index: dict[str, int] = {}
        self.features: list[str] = []
        self.feature_index: dict[str, int] = {}
        self.type_ptr = np.zeros(1, dtype=np.int64)
        self.type_feature = np.zeros(0, dtype=np.int64)
        self.type_template = np.zeros(0, dtype=np.int8)
        self._add_types([PAD_LEFT, PAD_RIGHT], grow=True)

    # -- building
    def _rows(self, words, grow):
        """(row lengths, base ids, template indices) of ``words``; with ``grow`` unseen
        feature strings join the vocabulary, else they get id -1 (dictionary mode)."""
        if grow and not self.hashing:  # new features numbered in row order
            lengths, flat, which = _type_rows(words, self._funcs)
            index = self.feature_index
            for f in flat:
                if f not in index:
                    index[f] = len(self.features)
                    self.features.append(f)
            order = None
        else:  # the strings mapped to numbers as they come, the numbers put in row order
            lengths, flat, which, order = _type_rows_unordered(words, self._funcs)
        if self.hashing:
            ids = stable_hash(flat)
        else:
            ids = np.fromiter(map(self.feature_index.get, flat, itertools.repeat(-1)),
                              dtype=np.int64, count=len(flat))
        return lengths, ids if order is None else ids[order], which

    def _add_types(self, words, grow):
        lengths, ids, which = self._rows(words, grow)
        start = len(self.types)
        for i, w in enumerate(words):
            self.type_index[w] = start + i
        self.types.extend(words)
        ptr = np.concatenate([self.type_ptr, self.type_ptr[-1] + np.cumsum(lengths)])
        self.type_ptr = ptr.astype(np.int64)
        self.type_feature = np.concatenate([self.type_feature, ids])
        self.type_template = np.concatenate([self.type_template, which])

    def fit(self, flat_tokens: Sequence[str]) -> TypeFeaturizer:
        """Add every distinct word of ``flat_tokens`` as a known type (growing the feature
        vocabulary)."""
        new = [w for w in dict.fromkeys(flat_tokens) if w not in self.type_index]
        if new:
            self._add_types(new, grow=True)
        return self

    # -- types met after fit: a table of this call's own, never stored in the featurizer
    def lookup(self, flat_tokens: Sequence[str], types: tuple | None = None,
               memo: dict | None = None) -> TypeLookup:
        """Type ids of ``flat_tokens``, for :meth:`rows`.

        Known types keep their ids (``< len(types)``); the distinct types unseen in
        :meth:`fit` get ids from ``len(types)`` on, into a table of their rows made for this
        call alone (:attr:`TypeLookup.unseen`).  Nothing of the featurizer changes, so one
        featurizer serves any number of threads at once, and a token's features never depend
        on what was looked up before.

        Parameters
        ----------
        flat_tokens : sequence of str
        types : tuple of (list of str, int64 ndarray), optional
            The distinct tokens of ``flat_tokens`` in order of first appearance and each
            token's index among them (:func:`~hmmtl.data.factorize`): each distinct token is
            then looked up once and the ids gathered (the same ids).
        memo : dict, optional
            With ``types``: a dict that holds what this featurizer looked up for these
            ``types`` before (the result is stored there and taken from there; the dict
            belongs to one batch of text, see :class:`~hmmtl.crf.labelers.ConvertedText`).

        Returns
        -------
        TypeLookup
            ``type_ids`` : ndarray of shape (n_tokens,), int64, and ``unseen``, the rows of
            the unseen types (pass it on to :meth:`rows`).
        """
        if types is not None:  # each distinct token looked up once, then gathered
            key = ("TypeFeaturizer.lookup", id(self))
            hit = None if memo is None else memo.get(key)
            if hit is not None and hit[0] is self and hit[1] is types:
                return hit[2]
            distinct, which = types
            found = self.lookup(distinct)
            result = TypeLookup(found.type_ids[which], found.unseen)
            if memo is not None:  # the featurizer and types kept: their ids stay theirs
                memo[key] = (self, types, result)
            return result
        tokens = flat_tokens if isinstance(flat_tokens, list) else list(flat_tokens)
        ids = np.fromiter(map(self.type_index.get, tokens, [-1] * len(tokens)), dtype=np.int64,
                          count=len(tokens))
        missing = np.flatnonzero(ids < 0)
        if not missing.size:
            return TypeLookup(ids, _EMPTY_TABLE)
        miss = [tokens[i] for i in missing.tolist()]
        new = list(dict.fromkeys(miss))
        index = dict(zip(new, range(len(self.types), len(self.types) + len(new))))
        ids[missing] = np.fromiter(map(index.__getitem__, miss), dtype=np.int64, count=len(miss))
        lengths, base, which = self._rows(new, grow=False)
        ptr = np.zeros(len(new) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        return TypeLookup(ids, _TypeTable(ptr, base, which))

    def rows(self, type_ids: np.ndarray, unseen: _TypeTable | None = None):
        """Rows of the table for ``type_ids`` (ids of the fitted types, or of the types
        unseen in fit with the ``unseen`` table that :meth:`lookup` returned with them),
        laid end to end.

        Returns
        -------
        lengths : ndarray of shape (len(type_ids),), int64
        base, template : ndarray
            The base feature ids (-1: unknown in dictionary mode) and template indices of
            the rows' entries.
        """
        n_known = len(self.types)
        type_ids = np.asarray(type_ids, dtype=np.int64)
        side = type_ids >= n_known
        if not side.any():
            lengths, (base, which) = _csr_rows(self.type_ptr,
                                               (self.type_feature, self.type_template),
                                               type_ids)
            return lengths, base, which
        if unseen is None:
            unseen = _EMPTY_TABLE
        n_unseen = unseen.ptr.shape[0] - 1
        if int(type_ids.max()) >= n_known + n_unseen:
            raise IndexError(f"type id {int(type_ids.max())} is neither a fitted type (< "
                             f"{n_known}) nor one of the {n_unseen} unseen types given; pass "
                             f"rows() the unseen table that lookup() returned with the ids")
        lengths = np.empty(type_ids.shape[0], dtype=np.int64)
        parts = []
        for mask, ptr, cols, ids in (
                (~side, self.type_ptr, (self.type_feature, self.type_template), type_ids),
                (side, unseen.ptr, (unseen.feature, unseen.template), type_ids - n_known)):
            lengths[mask], got = _csr_rows(ptr, cols, ids[mask])
            parts.append((np.flatnonzero(mask), got))
        # back in the order of type_ids: each row's entries follow its position
        owner = np.concatenate([np.repeat(pos, lengths[pos]) for pos, _ in parts])
        order = np.argsort(owner, kind="stable")
        base = np.concatenate([got[0] for _, got in parts])[order]
        which = np.concatenate([got[1] for _, got in parts])[order]
        return lengths, base, which

    # -- persistence
    def to_state(self):
        arrays = {"type_ptr": self.type_ptr, "type_feature": self.type_feature,
                  "type_template": self.type_template.astype(np.int16)}
        meta = {"templates": template_names(self.templates), "hashing": self.hashing,
                "types": self.types[2:], "features": self.features}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays, meta) -> TypeFeaturizer:
        check_saved_templates(meta["templates"])
        tf = cls(meta["templates"], hashing=meta["hashing"])
        tf.types = [PAD_LEFT, PAD_RIGHT] + list(meta["types"])
        tf.type_index = {w: i for i, w in enumerate(tf.types)}
        tf.features = list(meta["features"])
        tf.feature_index = {f: i for i, f in enumerate(tf.features)}
        feature = check_shape(arrays["type_feature"], "type_feature", (None,))
        tf.type_ptr = check_pointer_array(arrays["type_ptr"], "type_ptr", len(tf.types),
                                          feature.shape[0])
        # base feature ids: CRC-32 values when hashing, else indices of the feature
        # vocabulary (-1: a feature never seen in training)
        low, high = (0, 1 << 32) if tf.hashing else (-1, len(tf.features))
        tf.type_feature = check_index_array(feature, "type_feature", low, high)
        if "type_template" in arrays:  # index of each entry's template, -1: the padding
            tf.type_template = check_index_array(
                arrays["type_template"], "type_template", -1, len(tf._funcs),
                feature.shape).astype(np.int8)
        else:  # files written before per-offset templates: every template at every offset
            tf.type_template = np.zeros(feature.shape[0], dtype=np.int8)
        return tf


# ============================================================================ feature space
def normalize_window(window, what="window") -> tuple[int, ...]:
    """``2`` -> ``(-2, -1, 0, 1, 2)``; a sequence of ints is kept (sorted, unique)."""
    if isinstance(window, (int, np.integer)):
        if window < 0:
            raise ValueError(f"{what} must be >= 0 or a sequence of offsets, got {window}")
        return tuple(range(-int(window), int(window) + 1))
    try:
        offs = tuple(sorted({int(o) for o in window}))
    except TypeError:
        raise TypeError(
            f"{what} must be an int or a sequence of int offsets, got {window!r}") from None
    if not offs:
        raise ValueError(f"{what} must hold at least one offset, got {window!r}")
    return offs


def normalize_ngrams(ngrams, what="extra_ngrams") -> dict:
    """``{name: [(o1, o2, ...), ...]}``: n-gram features of extra ``name`` over the window
    offsets of each tuple (two or more distinct offsets, kept in order); None -> ``{}``."""
    if ngrams is None:
        return {}
    if not isinstance(ngrams, Mapping):
        raise TypeError(f"{what} must be a dict {{extra name: [offset tuples]}}, got "
                        f"{type(ngrams).__name__}")
    out = {}
    for name, grams in ngrams.items():
        if not isinstance(name, str):
            raise TypeError(f"{what}: extra names must be str, got {name!r}")
        norm = normalize_grams(grams, f"{what}[{name!r}]")
        if norm:
            out[name] = norm
    return out


def normalize_grams(grams, what="ngrams") -> list:
    """``[(o1, o2, ...), ...]``: the window offsets of each n-gram (two or more distinct
    offsets in -16..16, kept in order), duplicates dropped; None -> ``[]``."""
    norm: list = []
    for g in grams or ():
        try:
            offs = tuple(int(o) for o in g)
        except TypeError:
            raise TypeError(f"{what}: each n-gram must be a sequence of int offsets, got "
                            f"{g!r}") from None
        if len(offs) < 2 or len(set(offs)) != len(offs) or any(abs(o) > 16 for o in offs):
            raise ValueError(f"{what}: an n-gram needs two or more distinct offsets in "
                             f"-16..16, got {g!r}")
        if offs not in norm:
            norm.append(offs)
    return norm


#: the name before ``@offsets`` of the word n-gram features (``words@-1,0``)
WORD_NGRAM = "words"


def _ngram_keys(ids: np.ndarray, n_values: int, offsets: np.ndarray,
                ngram: Sequence[int]) -> np.ndarray:
    """One integer per token naming the values of column ``ids`` (one id per token, ``< 0``
    or ``>= n_values`` unknown) at the offsets of ``ngram`` within the token's sentence:
    digits in base ``n_values + 2`` (0: outside the sentence, 1: unknown, ``id + 2``)."""
    n = ids.shape[0]
    base = n_values + 2
    digit = np.where((ids >= 0) & (ids < n_values), ids + 2, 1).astype(np.int64)
    sentence = np.repeat(np.arange(offsets.shape[0] - 1), np.diff(offsets))
    pos = np.arange(n)
    key = np.zeros(n, dtype=np.int64)
    for o in ngram:
        j = pos + o
        inside = (j >= 0) & (j < n)
        jc = np.clip(j, 0, max(n - 1, 0))
        inside &= sentence[jc] == sentence
        key = key * base + np.where(inside, digit[jc], 0)
    return key


def _template_list(templates) -> list:
    if templates is None:
        return list(DEFAULT_TEMPLATES)
    if isinstance(templates, str) or callable(templates):
        return [templates]
    return list(templates)


def window_templates(window, templates=None):
    """The offsets of ``window`` and the templates at each.

    ``window`` is an int (``2``: offsets ``-2..2``), a sequence of offsets (each with
    ``templates``), or a mapping ``{offset: templates}`` (``None``: ``templates``).

    Returns
    -------
    offsets : tuple of int
        Increasing.
    union : list
        The distinct templates of all offsets (names or callables, as given), in order of
        appearance: the templates of the word types' featurizer.
    mask : ndarray of shape (n_offsets, len(union) + 1), bool
        ``mask[i, j]``: template ``union[j]`` counts at ``offsets[i]``; the last column (the
        padding features, template index -1) is True.
    """
    if isinstance(window, Mapping):
        items = []
        for o, t in window.items():
            try:
                items.append((int(o), templates if t is None else t))
            except (TypeError, ValueError):
                raise TypeError(f"window keys must be int offsets, got {o!r}") from None
        if not items:
            raise ValueError("window must hold at least one offset, got an empty mapping")
        if len({o for o, _ in items}) < len(items):
            raise ValueError(f"window maps an offset twice: {sorted(o for o, _ in items)}")
        items.sort(key=lambda it: it[0])
    else:
        items = [(o, templates) for o in normalize_window(window)]
    union: list = []
    funcs: list = []
    rows: list = []
    for _, t in items:
        specs = _template_list(t)
        row = []
        for spec, f in zip(specs, resolve_templates(specs)):
            j = next((j for j, g in enumerate(funcs) if g is f), None)
            if j is None:
                j = len(funcs)
                funcs.append(f)
                union.append(spec)
            row.append(j)
        rows.append(row)
    mask = np.zeros((len(items), len(union) + 1), dtype=bool)
    mask[:, -1] = True
    for i, row in enumerate(rows):
        mask[i, row] = True
    return tuple(o for o, _ in items), union, mask


_MIX_A = np.uint64(0x9E3779B97F4A7C15)
_MIX_B = np.uint64(0xC2B2AE3D27D4EB4F)


def _hash_mix(base_hash, column: int, offset: int, n_features: int) -> np.ndarray:
    """Feature index of (column, window offset, base feature hash) in a table of n_features."""
    h = np.asarray(base_hash, dtype=np.uint64) * _MIX_A
    h ^= np.uint64(((column * 1000003 + offset + 64) * int(_MIX_B)) & 0xFFFFFFFFFFFFFFFF)
    h ^= h >> np.uint64(29)
    return (h % np.uint64(n_features)).astype(np.int64)


class Layout:
    """Everything the kernels need about one batch of tokens.

    tok_slot : int32 ndarray of shape (n_tokens, n_entries)
        Slots (rows of the slot x attribute table) that token ``i`` activates, ``-1`` = none.
        A slot is one (column, window offset, value) triple, e.g. (word, -1, type "the").
    tok_val : float64 ndarray of shape (n_tokens, n_entries)
        The value of each entry (1 for indicator features).
    slot_ptr, slot_attr : CSR of the slot x attribute table (int64, int32)
        The attributes (feature ids before they are paired with labels) of each slot.
    """

    __slots__ = ("tok_slot", "tok_val", "slot_ptr", "slot_attr", "offsets")

    def __init__(self, tok_slot, tok_val, slot_ptr, slot_attr, offsets):
        self.tok_slot = tok_slot
        self.tok_val = tok_val
        self.slot_ptr = slot_ptr
        self.slot_attr = slot_attr
        self.offsets = offsets

    @property
    def n_slots(self) -> int:
        return self.slot_ptr.shape[0] - 1


class TypeLayout(NamedTuple):
    """The features of a batch of tokens grouped by word type
    (:meth:`FeatureSpace.transform_types`): a token's unary scores are the sum of a few rows
    of a type table, whose rows are sums of slot scores.

    tok_row : int32 ndarray of shape (n_tokens, n_row_offsets + 1)
        The row of the type table for each window offset of the token (its neighbour's type
        there, or a row for a neighbour outside the sentence), then the bias row.
    tok_val : float64 ndarray of the same shape, all ones.
    row_slot, row_val : ndarray of shape (n_rows, n_entries)
        The slots (``-1``: none) and values that make each row of the type table.
    slot_ptr, slot_attr : CSR of the slot x attribute table (int64, int32)
    offsets : int64 ndarray of shape (n_sentences + 1,)
    """
    tok_row: np.ndarray
    tok_val: np.ndarray
    row_slot: np.ndarray
    row_val: np.ndarray
    slot_ptr: np.ndarray
    slot_attr: np.ndarray
    offsets: np.ndarray


class ColumnLayout(NamedTuple):
    """The features of a batch of tokens for prediction where they are not functions of the
    word type (:meth:`FeatureSpace.predict_layout`): the columns the token layout would be
    gathered from, scored column by column into the unary table
    (:func:`~hmmtl.crf._kernels.add_column_scores`), so that the (n_tokens, n_entries)
    layout is never written; the sums are those of the token layout, in the same order.

    columns : list of tuple
        ``(ids, vals, window, slot_base, stride, n_values, pad_left, pad_right)`` of the
        word column, then of each extra, in the order of the token layout's entries.
    bias_slot : int
        The bias slot (-1: none).
    slot_ptr, slot_attr : CSR of the slot x attribute table (int64, int32)
    offsets : int64 ndarray of shape (n_sentences + 1,)
    n_tokens : int
    """
    columns: list
    bias_slot: int
    slot_ptr: np.ndarray
    slot_attr: np.ndarray
    offsets: np.ndarray
    n_tokens: int


class _SlotTable(NamedTuple):
    """The slots of a batch (:meth:`FeatureSpace._slot_table`): the word type slots of each
    window offset (``offset index * n_used + local type id``), then each extra's block of
    slots (``columns``: ``(spec, ids, vals, first slot)``), then the bias slot (-1: none),
    with their provisional attributes as a CSR.  ``first``: the first token of each local
    type (-1: none), where found; a column whose index is in ``typed`` holds one row per
    local type (the rows of its tokens' types), not one per token."""
    offsets: np.ndarray
    type_ids: np.ndarray
    local: np.ndarray
    n_used: int
    columns: list
    bias_slot: int
    slot_ptr: np.ndarray
    slot_attr: np.ndarray
    first: np.ndarray | None = None
    typed: frozenset = frozenset()

    def token_columns(self) -> list:
        """``columns`` with one row per token (a typed column's rows gathered)."""
        return [(spec, ids[self.local], vals[self.local], base) if k in self.typed
                else (spec, ids, vals, base)
                for k, (spec, ids, vals, base) in enumerate(self.columns)]


@dataclass(frozen=True, eq=False)
class TypeValues:
    """An extra feature given per word type instead of per token: ``table`` holds each
    type's value in a form ``extra`` takes per token (an int array, a float array, or an
    ``(ids, weights)`` pair of arrays, with one row per type), and ``index`` (n_tokens,)
    the type of each token.  It is the same feature as the per-token value :meth:`gather`
    gives (``dtypes``: the dtypes the gathered arrays are converted to, None: as stored).
    A labeler that sums features per word type in prediction reads only the rows of the
    types of a batch; everywhere else the value is gathered per token."""

    table: Any
    index: np.ndarray
    dtypes: tuple | None = None

    def rows(self, at: np.ndarray):
        """The value of the types ``at`` (rows of ``table``, in its form)."""
        if isinstance(self.table, tuple):
            dtypes = self.dtypes or (None,) * len(self.table)
            return tuple(np.ascontiguousarray(t[at], dtype=dt)
                         for t, dt in zip(self.table, dtypes))
        return np.ascontiguousarray(self.table[at],
                                    dtype=None if self.dtypes is None else self.dtypes[0])

    def gather(self):
        """The per-token value (``table``'s rows of ``index``)."""
        return self.rows(self.index)


_EXTRA_DOC = """
Per-token extra features (``extra``): a dict ``{name: value}``, every value aligned with the
flattened tokens of the sentences (``n_tokens`` = total number of tokens), one of

* ``int ndarray (n_tokens,)`` -- **categorical** ids (an HMM Viterbi state, a word cluster);
  ``< 0`` means none.  Feature ``name=id`` at each window offset.
* ``int ndarray (n_tokens, k)`` -- several categorical ids per token (all weight 1, ``< 0`` none).
* ``(ids, weights)``: a tuple of ``int ndarray (n_tokens, k)`` and ``float ndarray (n_tokens, k)``
  -- **weighted categorical** (top-k HMM posteriors): feature ``name=id`` with value ``weight``.
* ``float ndarray (n_tokens,)`` or ``(n_tokens, d)`` -- **real-valued** features ``name[j]``.
* ``list of lists of str``, one list per sentence -- a **string column** (POS tags for
  chunking or NER): feature ``name=string``.
* :class:`~hmmtl.crf.features.TypeValues` ``(table, index)`` -- any array form above given
  per word type: ``table`` holds one row per type, ``index`` (n_tokens,) the type of each
  token; the same feature as ``table[index]``, which prediction reads at the types of a
  batch only where the word's features are summed per type.

Each extra is added at the window offsets ``extra_window`` (a sequence of ints, or a dict
``{name: offsets}``); positions outside the sentence contribute nothing.  ``extra_ngrams``
(``{name: [(o1, o2, ...), ...]}``) adds n-gram features of a one-value extra (a string
column, or categorical ids): one feature per combination of its values at the offsets of
each tuple (e.g. ``pos[-1]|pos[0]``), the sentence's edges included as values of their own;
an n-gram of an extra that is not given is not formed.  ``ngrams`` (``[(o1, o2, ...),
...]``) adds n-gram features of the words themselves (``words@-1,0``: the word types, as
written, at -1 and 0; an n-gram with a word unseen in fit is no feature).  The same names and
kinds must be given to ``predict`` as to ``fit``; ids or strings unseen in training are ignored.
"""



def _same_featurizer(a: TypeFeaturizer, b: TypeFeaturizer) -> bool:
    return (a.hashing == b.hashing and template_names(a.templates) == template_names(b.templates)
            and a.types == b.types and a.features == b.features
            and np.array_equal(a.type_ptr, b.type_ptr)
            and np.array_equal(a.type_feature, b.type_feature)
            and np.array_equal(a.type_template, b.type_template))


def share_featurizers(spaces: Iterable[FeatureSpace]) -> None:
    """Let fitted feature spaces whose type featurizers are equal (the same templates, word
    types, feature vocabulary and table: labelers trained on the same words, such as a
    recognizer's two stages or the POS and chunk tasks of a multi-task model) hold one
    featurizer object: it is read-only after fit, so sharing it changes no feature, saves
    its memory once, and lets labelers that tag one text in turn look its words up once
    (the ``memo`` of :meth:`TypeFeaturizer.lookup`)."""
    kept: list[TypeFeaturizer] = []
    for fs in spaces:
        tf = getattr(fs, "featurizer_", None)
        if tf is None:
            continue
        for other in kept:
            if other is tf or _same_featurizer(other, tf):
                fs.featurizer_ = other
                break
        else:
            kept.append(tf)


class FeatureSpace:
    """Maps tokens (and per-token extras) to slots and attributes; holds the feature dictionary.

    An *attribute* is an observation feature (``"s3=ing"`` at offset ``-1``, ``pos=NN`` at
    ``0``, the bias); the labelers pair attributes with labels.  Attributes are identified by
    a dictionary built in :meth:`fit` (kept when seen at least ``min_freq`` times in training)
    or, when ``n_features`` is given, by hashing into ``n_features`` buckets (reproducible:
    CRC-32 based, independent of the Python hash seed).
    """ + _EXTRA_DOC

    def __init__(self, templates=None, window=2, extra_window=(-1, 0, 1), min_freq: int = 1,
                 n_features: int | None = None, bias: bool = True, extra_ngrams=None,
                 ngrams=None):
        self.templates = templates
        self.window, self.type_templates, self.offset_mask = window_templates(window, templates)
        self.extra_window = extra_window
        self.extra_ngrams = normalize_ngrams(extra_ngrams)
        self.ngrams = normalize_grams(ngrams)
        self.min_freq = int(min_freq)
        self.n_features = None if n_features is None else int(n_features)
        self.bias = bool(bias)
        if self.min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        if self.n_features is not None and self.n_features < 1:
            raise ValueError(f"n_features must be a positive int or None, got {n_features}")

    # -- extras
    def _extra_window(self, name):
        ew = self.extra_window
        if isinstance(ew, dict):
            if name not in ew:
                return normalize_window(0, f"extra_window[{name!r}]")
            return normalize_window(ew[name], f"extra_window[{name!r}]")
        return normalize_window(ew, "extra_window")

    @staticmethod
    def _parse_extra(name, value, n_tokens, offsets, spec=None):
        """-> (kind, ids (n, k) int64, vals (n, k) float64, info) with info = n_values or vocab."""
        where = f"extra[{name!r}]"
        if isinstance(value, TypeValues):
            value = value.gather()
        if isinstance(value, tuple) and len(value) == 2 and all(
                isinstance(v, np.ndarray) for v in value):
            ids, w = np.asarray(value[0]), np.asarray(value[1], dtype=np.float64)
            if ids.ndim == 1:
                ids, w = ids[:, None], w[:, None]
            if ids.shape != w.shape or ids.shape[0] != n_tokens:
                raise ValueError(f"{where}: weighted categorical ids and weights must both have "
                                 f"shape (n_tokens={n_tokens}, k), got {ids.shape} and {w.shape}")
            if not np.issubdtype(ids.dtype, np.integer):
                raise TypeError(f"{where}: weighted categorical ids must be integers, got "
                                f"{ids.dtype}")
            kind = "weighted"
            ids = ids.astype(np.int64)
            vals = w
        elif isinstance(value, np.ndarray):
            if value.shape[:1] != (n_tokens,) or value.ndim > 2:
                raise ValueError(f"{where} must have shape (n_tokens={n_tokens},) or "
                                 f"(n_tokens, k), got {value.shape}; extras are aligned with the "
                                 f"flattened tokens of X")
            arr = value if value.ndim == 2 else value[:, None]
            if np.issubdtype(arr.dtype, np.integer):
                kind = "categorical"
                ids = arr.astype(np.int64)
                vals = np.ones(ids.shape, dtype=np.float64)
            elif np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool:
                kind = "dense"
                vals = arr.astype(np.float64)
                if not np.isfinite(vals).all():
                    raise ValueError(f"{where} holds NaN or inf")
                ids = np.broadcast_to(np.arange(arr.shape[1], dtype=np.int64), arr.shape).copy()
            else:
                raise TypeError(f"{where}: expected an int or float array, got dtype {arr.dtype}")
        elif isinstance(value, (list, tuple)):
            flat, offs = _flatten_lists(value, where)
            if not np.array_equal(offs, offsets):
                raise ValueError(f"{where}: a string column must have one list per sentence with "
                                 f"one string per token; its lengths differ from X's")
            kind = "strings"
            if spec is None:
                vocab = sorted(set(flat))
            else:
                vocab = spec["vocab"]
            index = {s: i for i, s in enumerate(vocab)}
            ids = np.fromiter(map(index.get, flat, [-1] * len(flat)), dtype=np.int64,
                              count=len(flat))[:, None]
            vals = np.ones(ids.shape, dtype=np.float64)
            return kind, ids, vals, vocab
        else:
            raise TypeError(f"{where}: expected an int array (categorical), (ids, weights) "
                            f"arrays, a float array (real-valued) or a list of string lists, got "
                            f"{type(value).__name__}")
        if spec is not None:
            if spec["kind"] != kind:
                raise ValueError(f"{where} was {spec['kind']} in fit but is {kind} now")
            if kind == "dense" and ids.shape[1] != spec["n_values"]:
                raise ValueError(f"{where} had {spec['n_values']} columns in fit but has "
                                 f"{ids.shape[1]} now")
            info = spec["n_values"]
        else:
            info = int(ids.shape[1]) if kind == "dense" else int(max(ids.max(initial=-1), -1) + 1)
        return kind, ids, vals, info

    # -- fit / transform
    def fit(self, flat_tokens, offsets, extra=None) -> FeatureSpace:
        """Build the type table and the feature dictionary from training tokens.

        Returns self; ``transform`` of the same data is then available as :attr:`train_layout_`.
        """
        self.featurizer_ = TypeFeaturizer(self.type_templates, hashing=self.n_features is not None)
        self.featurizer_.fit(flat_tokens)
        n_tokens = len(flat_tokens)
        self.extra_specs_ = []
        for name in sorted(extra or {}):
            kind, _ids, _vals, info = self._parse_extra(name, extra[name], n_tokens, offsets)
            spec = {"name": name, "kind": kind, "window": list(self._extra_window(name))}
            if kind == "strings":
                spec["vocab"] = info
                spec["n_values"] = len(info)
            else:
                spec["n_values"] = max(int(info), 1)
            self.extra_specs_.append(spec)
        self.extra_specs_ += self._ngram_specs(extra or {}, n_tokens, offsets, flat_tokens)
        # provisional attribute ids (dictionary mode): word block, then each extra, then bias
        n_base = len(self.featurizer_.features)
        start = len(self.window) * n_base
        for spec in self.extra_specs_:
            spec["attr_start"] = start
            start += len(spec["window"]) * spec["n_values"]
        self.bias_attr_ = start
        n_prov = start + 1 if self.n_features is None else self.n_features
        self.attr_map_ = np.arange(n_prov, dtype=np.int64)
        layout, _ = self._layout(flat_tokens, offsets, extra, fitting=True)
        # frequency cutoff: attribute count = number of tokens whose entries activate it
        used = layout.tok_slot[layout.tok_slot >= 0]
        slot_count = np.bincount(used, minlength=layout.n_slots)
        slot_len = np.diff(layout.slot_ptr)
        attr_count = np.bincount(layout.slot_attr, weights=np.repeat(slot_count, slot_len),
                                 minlength=n_prov)
        keep = attr_count >= self.min_freq
        self.attr_map_ = np.full(n_prov, -1, dtype=np.int64)
        self.attr_map_[keep] = np.arange(int(keep.sum()))
        self.n_attributes_ = int(keep.sum())
        self.train_layout_ = _remap_layout(layout, self.attr_map_)
        return self

    def _ngram_specs(self, extra, n_tokens, offsets, flat_tokens) -> list:
        """The specs of the n-gram features of the words (:attr:`ngrams`, source None: the
        word types, as written) and of the extras given to fit (:attr:`extra_ngrams`): each
        n-gram's value combinations seen in training (their keys, sorted)."""
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        by_name = {s["name"]: s for s in self.extra_specs_}
        sources = []  # (option, spec name, source, its ids, its number of values, n-grams)
        if self.ngrams:
            tf = self.featurizer_
            type_ids = np.fromiter(map(tf.type_index.__getitem__, flat_tokens),
                                   dtype=np.int64, count=n_tokens)
            sources.append(("ngrams", WORD_NGRAM, None, type_ids, len(tf.types), self.ngrams))
        for name, grams in sorted(self.extra_ngrams.items()):
            source = by_name.get(name)
            if source is None:
                continue
            if source["kind"] not in ("strings", "categorical"):
                raise ValueError(f"extra_ngrams[{name!r}]: n-grams need a string column or "
                                 f"categorical ids, got a {source['kind']} extra")
            _kind, ids, _vals, _ = self._parse_extra(name, extra[name], n_tokens, offsets,
                                                     spec=source)
            if ids.shape[1] != 1:
                raise ValueError(f"extra_ngrams[{name!r}]: n-grams need one value per token, "
                                 f"got {ids.shape[1]}")
            sources.append((f"extra_ngrams[{name!r}]", name, name, ids[:, 0],
                            source["n_values"], grams))
        specs = []
        for option, label, source_name, ids, nv, grams in sources:
            if (nv + 2) ** max(len(g) for g in grams) >= 2 ** 62:
                raise ValueError(f"{option}: {nv} values are too many for n-grams of this "
                                 f"length")
            for g in grams:
                keys = np.unique(_ngram_keys(ids, nv, offsets, g))
                spec: dict[str, Any] = {"name": f"{label}@{','.join(map(str, g))}",
                                        "kind": "ngram", "source": source_name}
                if source_name is None:  # the word types: their number, checked on load
                    spec["source_values"] = nv
                spec.update({"ngram": list(g), "window": [0], "keys": keys.tolist(),
                             "n_values": max(int(keys.shape[0]), 1)})
                specs.append(spec)
        return specs

    def _ngram_column(self, spec, source_ids, offsets):
        """The (ids, values) of an n-gram spec: the index of each token's key among the
        keys seen in training, -1 for an unseen combination."""
        if spec["source"] is None:  # the word types (those unseen in fit: unknown)
            n_values = spec["source_values"]
        else:
            n_values = next(s for s in self.extra_specs_
                            if s["name"] == spec["source"])["n_values"]
        key = _ngram_keys(source_ids[:, 0], n_values, offsets, spec["ngram"])
        keys, dense = self._ngram_index(spec, (n_values + 2) ** len(spec["ngram"]))
        if dense is not None:  # a small key space: the index of every key at hand
            ids = dense[key].astype(np.int64)[:, None]
        else:
            at = np.searchsorted(keys, key)
            found = at < keys.shape[0]
            found[found] = keys[at[found]] == key[found]
            ids = np.where(found, at, -1).astype(np.int64)[:, None]
        return ids, np.ones(ids.shape, dtype=np.float64)

    #: the largest key space of an n-gram spec whose keys get a dense index (int32 each)
    _DENSE_NGRAM_KEYS = 1 << 20

    def _ngram_index(self, spec, n_keys: int):
        """The sorted keys of an n-gram spec as an array and, where the key space has at
        most :attr:`_DENSE_NGRAM_KEYS` keys, each key's index among them (-1: unseen), made
        on first use and kept (read-only: threads may share them; two threads making one
        at once make the same)."""
        cache = self.__dict__.setdefault("_ngram_indexes", {})
        hit = cache.get(spec["name"])
        if hit is not None and hit[0] is spec["keys"]:
            return hit[1], hit[2]
        keys = np.asarray(spec["keys"], dtype=np.int64)
        dense = None
        if n_keys <= self._DENSE_NGRAM_KEYS and (not keys.size or (
                keys[0] >= 0 and keys[-1] < n_keys)):
            dense = np.full(n_keys, -1, dtype=np.int32)
            dense[keys] = np.arange(keys.shape[0], dtype=np.int32)
        cache[spec["name"]] = (spec["keys"], keys, dense)
        return keys, dense

    def transform(self, flat_tokens, offsets, extra=None) -> Layout:
        """Slots and attributes of new tokens (unseen word types are featurized here)."""
        layout, _ = self._layout(flat_tokens, offsets, extra, fitting=False)
        return _remap_layout(layout, self.attr_map_)

    def transform_types(self, flat_tokens, offsets, extra=None) -> TypeLayout | None:
        """The features of new tokens grouped by word type, for prediction: every feature
        of a token at window offset ``o`` is a feature of the word type at ``o``, so the
        scores of each (offset, type) pair are summed once (the rows of a type table) and a
        token's unary scores are the sum of ``len(offsets) + 1`` rows (one per offset and
        the bias) instead of one row per feature entry.

        Valid when every extra is a function of the token's word type (the HMMs' type-level
        representations, a case profile, a word-type table: checked here, value by value);
        returns None when one is not (an HMM's in-context posteriors, a POS column), and the
        token layout of :meth:`transform` is then the one to use.  None too when a token has
        fewer than twice as many feature entries as rows to sum (no extras, a narrow one):
        the token layout is then the less work.  The unary scores equal those of
        :meth:`transform` up to floating-point rounding (the same terms, summed per offset
        first).
        """
        row_offsets = self._wants_types(len(flat_tokens), extra)
        if row_offsets is None:
            return None
        return self._type_layout(self._slot_table(flat_tokens, offsets, extra, fitting=False),
                                 row_offsets)

    def _wants_types(self, n_tokens: int, extra) -> list | None:
        """The offsets of the rows of a type layout, None when it would not be less work
        (see :meth:`transform_types`) or the extras are not those of fit."""
        if not n_tokens or not self.extra_specs_:
            return None
        if any(s["kind"] == "ngram" for s in self.extra_specs_):
            return None  # an n-gram is a function of the neighbours' values, not of a type
        if set(extra or {}) != {s["name"] for s in self.extra_specs_}:
            return None  # the token layout says what is wrong
        win = list(self.window)
        row_offsets = sorted(set(win).union(*(s["window"] for s in self.extra_specs_)))
        n_entries = len(win) + int(self.bias) + sum(
            len(s["window"]) * _entry_width(extra[s["name"]]) for s in self.extra_specs_)
        return None if n_entries < 2 * (len(row_offsets) + 1) else row_offsets

    def predict_layout(self, flat_tokens, offsets, extra=None, types=None,
                       memo=None) -> TypeLayout | ColumnLayout:
        """The layout prediction sums: :meth:`transform_types`'s where it applies, else the
        columns of :meth:`transform`'s token layout, not gathered (:class:`ColumnLayout`),
        the slots of the batch found once either way (``types`` and ``memo``: see
        :meth:`TypeFeaturizer.lookup`)."""
        by_type = self._wants_types(len(flat_tokens), extra)
        table = self._slot_table(flat_tokens, offsets, extra, fitting=False, types=types,
                                 memo=memo, typed=by_type is not None)
        layout = None if by_type is None else self._type_layout(table, by_type)
        return self._column_layout(table) if layout is None else layout

    def _column_layout(self, table: _SlotTable) -> ColumnLayout:
        """The :class:`ColumnLayout` of a batch's slots: the columns :meth:`_token_layout`
        gathers, in its order."""
        n_tokens = table.local.shape[0]
        columns = [(table.local[:, None], np.ones((n_tokens, 1)),
                    np.asarray(self.window, np.int64), 0, table.n_used, table.n_used, 0, 1)]
        for spec, ids, vals, slot_base in table.token_columns():
            nv = spec["n_values"]
            columns.append((ids, vals, np.asarray(spec["window"], np.int64), slot_base, nv, nv,
                            -1, -1))
        ptr, attr = _remap_attributes(table.slot_ptr, table.slot_attr, self.attr_map_)
        return ColumnLayout(columns, table.bias_slot if self.bias else -1, ptr, attr,
                            table.offsets, n_tokens)

    def _type_layout(self, table: _SlotTable, row_offsets: list) -> TypeLayout | None:
        """The :class:`TypeLayout` of a batch's slots, None when an extra is not a function
        of the word type."""
        n_tokens = table.local.shape[0]
        win = list(self.window)
        n_used, local = table.n_used, table.local
        # the first token of each word type: every column must hold, for every token, the
        # value of its type's first token
        from ._kernels import first_occurrence

        first = first_occurrence(local, n_used) if table.first is None else table.first
        typed = []
        for k, (spec, ids, vals, base) in enumerate(table.columns):
            if k in table.typed:  # one row per type already
                typed.append((spec, ids, vals, base))
                continue
            ids_t, vals_t = ids[first], vals[first]
            if not (np.array_equal(ids_t[local], ids) and np.array_equal(vals_t[local], vals)):
                return None
            typed.append((spec, ids_t, vals_t, base))
        stride = n_used + 2  # the types, then the rows of a neighbour left / right of the sentence
        n_entries = 1 + sum(ids_t.shape[1] for _, ids_t, _, _ in typed)
        n_rows = len(row_offsets) * stride + 1
        row_slot = np.full((n_rows, n_entries), -1, dtype=np.int32)
        row_val = np.zeros((n_rows, n_entries), dtype=np.float64)
        types = np.arange(n_used)
        real = first >= 0  # a type that occurs (the padding types may not)
        for ri, o in enumerate(row_offsets):
            rows = ri * stride
            if o in win:  # the word type's slot (outside the sentence: the padding type's)
                wi = win.index(o)
                row_slot[rows:rows + n_used, 0] = wi * n_used + types
                row_slot[rows + n_used, 0] = wi * n_used + 0
                row_slot[rows + n_used + 1, 0] = wi * n_used + 1
                row_val[rows:rows + n_used + 2, 0] = 1.0
            col = 1
            for spec, ids_t, vals_t, base in typed:
                k = ids_t.shape[1]
                if o in spec["window"]:  # outside the sentence an extra gives nothing
                    nv = spec["n_values"]
                    ok = (ids_t >= 0) & (ids_t < nv) & (vals_t != 0.0) & real[:, None]
                    slot = base + spec["window"].index(o) * nv + ids_t
                    row_slot[rows:rows + n_used, col:col + k] = np.where(ok, slot, -1)
                    row_val[rows:rows + n_used, col:col + k] = np.where(ok, vals_t, 0.0)
                col += k
        bias_row = n_rows - 1
        if table.bias_slot >= 0:
            row_slot[bias_row, 0] = table.bias_slot
            row_val[bias_row, 0] = 1.0
        from ._kernels import gather_column

        n_win = len(row_offsets)
        tok_row = np.full((n_tokens, n_win + 1), -1, dtype=np.int32)
        tok_val = np.ones((n_tokens, n_win + 1), dtype=np.float64)
        gather_column(local[:, None], np.ones((n_tokens, 1)), table.offsets,
                      np.asarray(row_offsets, np.int64), 0, stride, n_used, n_used, n_used + 1,
                      tok_row, tok_val, 0)
        tok_row[:, n_win] = bias_row
        tok_val[:, n_win] = 1.0
        slot_ptr, slot_attr = _remap_attributes(table.slot_ptr, table.slot_attr, self.attr_map_)
        return TypeLayout(tok_row, tok_val, row_slot, row_val, slot_ptr, slot_attr,
                          table.offsets)

    def _slot_table(self, flat_tokens, offsets, extra, fitting, types=None,
                    memo=None, typed: bool = False) -> _SlotTable:
        """The slots of a batch (each used (offset, word type) pair, each extra's (offset,
        value) pairs, the bias) with their provisional attributes, and the columns of the
        extras.  ``typed``: an extra given as :class:`TypeValues` whose types are a
        function of the word types here is read at the first token of each word type only
        (one row per type: for :meth:`_type_layout`); else every extra per token."""
        n_tokens = len(flat_tokens)
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        extra = dict(extra or {})
        names = [s["name"] for s in self.extra_specs_ if s["kind"] != "ngram"]
        if sorted(extra) != names:
            raise ValueError(f"extra features were {names} in fit but got {sorted(extra)}; "
                             f"pass the same names to fit and predict")
        tf = self.featurizer_
        if fitting:
            type_ids = np.fromiter(map(tf.type_index.__getitem__, flat_tokens), dtype=np.int64,
                                   count=n_tokens)
        else:
            type_ids, unseen = tf.lookup(flat_tokens, types, memo)
        # only the types present (and the two padding types) get slots
        used, local = np.unique(np.concatenate([[0, 1], type_ids]), return_inverse=True)
        local = local.ravel()[2:].astype(np.int64)
        n_used = used.shape[0]
        lengths, base, which = tf.rows(used, None if fitting else unseen)
        rows = np.repeat(np.arange(n_used), lengths)
        known = base >= 0
        base, rows, which = base[known], rows[known], which[known]
        n_base = len(tf.features)
        win = self.window
        every = self.offset_mask.all()
        slot_lens, slot_attrs = [], []
        for oi, o in enumerate(win):
            b, r = base, rows
            if not every:  # this offset's templates only
                keep = self.offset_mask[oi][which]
                b, r = base[keep], rows[keep]
            slot_lens.append(np.bincount(r, minlength=n_used))
            if self.n_features is None:
                slot_attrs.append(oi * n_base + b)
            else:
                slot_attrs.append(_hash_mix(b, 0, o, self.n_features))
        slot_base = len(win) * n_used
        columns: list = []
        parsed: dict = {None: type_ids[:, None]}  # the sources of n-grams: words, extras
        first: np.ndarray | None = None
        typed_columns: list = []
        for ci, spec in enumerate(self.extra_specs_):
            if spec["kind"] == "ngram":
                ids, vals = self._ngram_column(spec, parsed[spec["source"]], offsets)
                size = ids.size
            else:
                value = extra[spec["name"]]
                per_type = None
                if typed and not fitting and isinstance(value, TypeValues):
                    if first is None:
                        from ._kernels import first_occurrence

                        first = first_occurrence(local, n_used)
                    per_type = self._typed_column(spec, value, local, first)
                if per_type is not None:
                    ids, vals = per_type
                    typed_columns.append(len(columns))
                    size = n_tokens * ids.shape[1]
                else:
                    ids, vals = self._extra_column(spec, value, n_tokens, offsets, memo)
                    size = ids.size
                parsed[spec["name"]] = ids
            ew = spec["window"]
            nv = spec["n_values"]
            values = None  # every value has its slots
            if not fitting and nv > size:
                # more values than the batch has entries (word n-grams, a small batch):
                # slots only for the values present, the column's ids renumbered to them
                values, ids = _present_values(ids, vals, nv)
                spec = dict(spec, n_values=values.shape[0])
            columns.append((spec, ids, vals, slot_base))
            n_slots = len(ew) * spec["n_values"]
            slot_base += n_slots
            slot_lens.append(np.ones(n_slots, dtype=np.int64))
            if values is None:
                values = np.arange(nv)
            if self.n_features is None:
                slot_attrs.append(spec["attr_start"]
                                  + (np.arange(len(ew))[:, None] * nv + values).ravel())
            else:
                names = (np.asarray(spec["vocab"], dtype=object)[values].tolist()
                         if spec["kind"] == "strings" else values.tolist())
                keys = [f"{spec['name']}|{o}|{v}" for o in ew for v in names]
                slot_attrs.append(_hash_mix(stable_hash(keys), ci + 1, 0, self.n_features))
        bias_slot = -1
        if self.bias:
            bias_slot = slot_base
            slot_lens.append(np.ones(1, dtype=np.int64))
            slot_attrs.append(np.array([self.bias_attr_ if self.n_features is None else
                                        _hash_mix(stable_hash(["__bias__"]), 999, 0,
                                                  self.n_features)[0]], dtype=np.int64))
        slot_len = np.concatenate(slot_lens)
        slot_ptr = np.zeros(slot_len.shape[0] + 1, dtype=np.int64)
        np.cumsum(slot_len, out=slot_ptr[1:])
        slot_attr = np.concatenate(slot_attrs).astype(np.int64)
        return _SlotTable(offsets, type_ids, local, n_used, columns, bias_slot, slot_ptr,
                          slot_attr, first, frozenset(typed_columns))

    def _typed_column(self, spec, value: TypeValues, local, first):
        """The (ids, vals) of a :class:`TypeValues` extra at the first token of each local
        type (rows of the types absent from the batch: none), checked as a per-token value
        is; None when its types are not a function of the word types (the per-token value
        is then the one to read)."""
        index = np.asarray(value.index)
        if index.shape != local.shape or not isinstance(value.table, (np.ndarray, tuple)):
            return None  # the per-token path says what is wrong
        real = first >= 0
        at = index[np.where(real, first, 0)]
        if not np.array_equal(at[local], index):
            return None
        _kind, ids, vals, _ = self._parse_extra(spec["name"], value.rows(at), at.shape[0],
                                                None, spec=spec)
        if not real.all():
            ids, vals = ids.copy(), vals.copy()
            ids[~real], vals[~real] = -1, 0.0
        return ids, vals

    def _extra_column(self, spec, value, n_tokens, offsets, memo):
        """The (ids, vals) of the extra ``spec`` from its ``value``; a string column (a
        list of tag lists) parsed once per ``memo`` (the labelers reading one text in turn
        get the same lists, e.g. a recognizer's stages its POS column) for a vocabulary."""
        key = ("FeatureSpace.extra", spec["name"], id(value))
        strings = (memo is not None and spec["kind"] == "strings"
                   and isinstance(value, (list, tuple)))
        hit = memo.get(key) if strings else None
        if hit is not None and hit[0] is value and hit[1] == spec.get("vocab"):
            return hit[2]
        _kind, ids, vals, _ = self._parse_extra(spec["name"], value, n_tokens, offsets,
                                                spec=spec)
        if strings:
            memo[key] = (value, spec.get("vocab"), (ids, vals))
        return ids, vals

    def _layout(self, flat_tokens, offsets, extra, fitting):
        table = self._slot_table(flat_tokens, offsets, extra, fitting)
        return self._token_layout(table), table.type_ids

    def _token_layout(self, table: _SlotTable) -> Layout:
        """The token layout (provisional attributes) of a batch's slots: each token's
        entries, one per window offset of the word and of each extra's values, then the
        bias."""
        from ._kernels import gather_column

        n_tokens = table.local.shape[0]
        offsets, local, n_used = table.offsets, table.local, table.n_used
        win = self.window
        n_entries = len(win) + int(self.bias) + sum(
            len(spec["window"]) * ids.shape[1] for spec, ids, _, _ in table.columns)
        tok_slot = np.full((n_tokens, n_entries), -1, dtype=np.int32)
        tok_val = np.zeros((n_tokens, n_entries), dtype=np.float64)
        gather_column(local[:, None], np.ones((n_tokens, 1)), offsets, np.asarray(win, np.int64),
                      0, n_used, n_used, 0, 1, tok_slot, tok_val, 0)
        col = len(win)
        for spec, ids, vals, slot_base in table.columns:
            ew = spec["window"]
            nv = spec["n_values"]
            gather_column(ids, vals, offsets, np.asarray(ew, np.int64), slot_base, nv, nv,
                          -1, -1, tok_slot, tok_val, col)
            col += len(ew) * ids.shape[1]
        if self.bias:
            tok_slot[:, col] = table.bias_slot
            tok_val[:, col] = 1.0
        return Layout(tok_slot, tok_val, table.slot_ptr, table.slot_attr, offsets)

    # -- persistence
    def to_state(self):
        arrays, meta = self.featurizer_.to_state()
        arrays = {"featurizer_" + k: v for k, v in arrays.items()}
        arrays["attr_map"] = self.attr_map_
        meta = {"featurizer": meta, "window": list(self.window),
                "window_templates": [np.flatnonzero(row[:-1]).tolist()
                                     for row in self.offset_mask],
                "extra_window": self.extra_window if not isinstance(self.extra_window, tuple)
                else list(self.extra_window),
                "min_freq": self.min_freq, "n_features": self.n_features, "bias": self.bias,
                "extra_ngrams": {k: [list(g) for g in v] for k, v in self.extra_ngrams.items()},
                "ngrams": [list(g) for g in self.ngrams],
                "extra_specs": self.extra_specs_, "bias_attr": int(self.bias_attr_),
                "n_attributes": self.n_attributes_}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays, meta) -> FeatureSpace:
        templates = meta["featurizer"]["templates"]
        check_saved_templates(templates)
        window = meta["window"]
        if "window_templates" in meta:  # else (older files): every template at every offset
            chosen = meta["window_templates"]
            if not (isinstance(chosen, list) and len(chosen) == len(window) and all(
                    isinstance(js, list) and all(
                        isinstance(j, int) and 0 <= j < len(templates) for j in js)
                    for js in chosen)):
                raise ModelFileError(f"window_templates must give, for each of the "
                                     f"{len(window)} offsets, indices of the "
                                     f"{len(templates)} templates; got {chosen!r}")
            window = {o: [templates[j] for j in js] for o, js in zip(window, chosen)}
        try:
            fs = cls(templates, window, meta["extra_window"], meta["min_freq"],
                     meta["n_features"], meta["bias"], meta.get("extra_ngrams"),
                     meta.get("ngrams"))
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"invalid feature settings in the file: {e}") from None
        with array_prefix("featurizer_"):
            fs.featurizer_ = TypeFeaturizer.from_state(
                {k[len("featurizer_"):]: v for k, v in arrays.items()
                 if k.startswith("featurizer_")}, meta["featurizer"])
        fs.extra_specs_ = meta["extra_specs"]
        fs.bias_attr_ = meta["bias_attr"]
        fs.n_attributes_ = meta["n_attributes"]
        # the layout of the provisional attributes, as fit made it (dictionary mode: the
        # word block, each extra's block, the bias; hashing: n_features buckets)
        n_base = len(fs.featurizer_.features)
        start = len(fs.window) * n_base
        for spec in fs.extra_specs_:
            n_values = spec.get("n_values")
            if not isinstance(n_values, int) or n_values < 1 or spec.get("attr_start") != start:
                raise ModelFileError(f"extra feature {spec.get('name')!r} has an invalid "
                                     f"layout in the file")
            if spec.get("kind") == "strings" and len(spec.get("vocab", ())) != n_values:
                raise ModelFileError(f"extra feature {spec.get('name')!r}: n_values does not "
                                     f"match its vocabulary")
            if spec.get("kind") == "ngram":
                _check_ngram_spec(spec, fs.extra_specs_, len(fs.featurizer_.types))
            start += len(spec["window"]) * n_values
        if fs.n_features is None and fs.bias_attr_ != start:
            raise ModelFileError(f"bias attribute {fs.bias_attr_} does not follow the feature "
                                 f"blocks (expected {start})")
        n_prov = start + 1 if fs.n_features is None else fs.n_features
        if not isinstance(fs.n_attributes_, int) or not 0 <= fs.n_attributes_ <= n_prov:
            raise ModelFileError(f"n_attributes {fs.n_attributes_!r} is not in [0, {n_prov}]")
        fs.attr_map_ = check_index_array(arrays["attr_map"], "attr_map", -1, fs.n_attributes_,
                                         (n_prov,))
        return fs


def _check_ngram_spec(spec: dict, specs: list, n_types: int) -> None:
    """An n-gram spec read from a file: its source is a one-value extra of the file (or the
    word types, source None, with the file's number of types), its offsets and keys are well
    formed (keys strictly increasing, within the key range)."""
    name = spec.get("name")
    if spec.get("source") is None:
        n_values = n_types if spec.get("source_values") == n_types else None
    else:
        source = next((s for s in specs if s.get("name") == spec.get("source")
                       and s.get("kind") in ("strings", "categorical")), None)
        n_values = None if source is None else source.get("n_values")
    ngram, keys = spec.get("ngram"), spec.get("keys")
    ok = (isinstance(n_values, int) and isinstance(ngram, list) and len(ngram) >= 2
          and all(isinstance(o, int) and abs(o) <= 16 for o in ngram)
          and len(set(ngram)) == len(ngram) and spec.get("window") == [0]
          and isinstance(keys, list) and all(isinstance(k, int) for k in keys)
          and len(keys) in (spec["n_values"], 0))
    if ok and keys and isinstance(n_values, int) and isinstance(ngram, list):
        arr = np.asarray(keys, dtype=np.int64)
        top = (n_values + 2) ** len(ngram)
        ok = bool(np.all(np.diff(arr) > 0) and arr[0] >= 0 and arr[-1] < top)
    if not ok:
        raise ModelFileError(f"extra feature {name!r}: an invalid n-gram in the file")


def _entry_width(value) -> int:
    """The number of entries per token and window offset of an extra's value (``k`` of an
    ``(n_tokens, k)`` array or of weighted ids, else 1)."""
    if isinstance(value, TypeValues):
        value = value.table
    if isinstance(value, tuple) and len(value) == 2:
        value = value[0]
    shape: tuple = tuple(getattr(value, "shape", ()))
    return int(shape[1]) if len(shape) == 2 else 1


def _flatten_lists(value, where):
    from ..data import flatten

    try:
        flat, offs = flatten(value)
    except TypeError as e:
        raise TypeError(f"{where}: {e}") from None
    return flat, offs


def _present_values(ids: np.ndarray, vals: np.ndarray,
                    n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """The values of a column that occur (an id in ``[0, n_values)`` with a nonzero value),
    sorted, and the column's ids renumbered to their index among them (-1: none)."""
    valid = (ids >= 0) & (ids < n_values) & (vals != 0.0)
    present = np.zeros(n_values, dtype=bool)
    present[ids[valid]] = True
    values = np.flatnonzero(present)
    local = np.full(n_values, -1, dtype=np.int64)
    local[values] = np.arange(values.shape[0])
    return values, np.where(valid, local[np.where(valid, ids, 0)], -1)


def _remap_attributes(slot_ptr: np.ndarray, slot_attr: np.ndarray,
                      attr_map: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The slot x attribute CSR with provisional attribute ids mapped to final ones, the
    unknown / pruned (-1) dropped."""
    from ._kernels import remap_slot_attributes

    return remap_slot_attributes(np.ascontiguousarray(slot_ptr, dtype=np.int64),
                                 np.ascontiguousarray(slot_attr, dtype=np.int64),
                                 np.ascontiguousarray(attr_map, dtype=np.int64))


def _remap_layout(layout: Layout, attr_map: np.ndarray) -> Layout:
    """Map provisional attribute ids to final ones, dropping the unknown / pruned (-1)."""
    ptr, attr = _remap_attributes(layout.slot_ptr, layout.slot_attr, attr_map)
    return Layout(layout.tok_slot, layout.tok_val, ptr, attr, layout.offsets)
