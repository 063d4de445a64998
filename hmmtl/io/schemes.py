"""Chunk tagging schemes (IOB1, IOB2, BIOES / IOBES, BILOU) and chunk extraction with conlleval
semantics.

A chunk label is ``O`` or a prefix and a type joined by ``-`` (``B-PER``, ``I-NP``).  Chunks are
read as the CoNLL evaluation script ``conlleval`` reads them: a chunk starts at ``B-``, at an
``I-`` after ``O`` or after a chunk of another type, and ends before ``O``, ``B-`` or a change
of type; so IOB1 and IOB2 are read by the same rules.  For BIOES (which conlleval predates) an
``E-`` or ``S-`` also closes the chunk and an ``S-`` opens one, as in seqeval's default mode.
BILOU (Ratinov & Roth 2009: Begin, Inside, Last, Outside, Unit) is BIOES with ``L`` for ``E``
and ``U`` for ``S``, and is read the same way.

All functions work on whole corpora at once: the per-token rules are NumPy operations over
the flattened labels, and string work is done once per distinct label.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from ..data import lengths_to_offsets, unflatten

__all__ = ["Chunks", "chunk_spans", "convert_scheme", "detect_scheme", "iob1_to_iob2",
           "iob2_to_iob1",
           "iob2_to_bioes", "bioes_to_iob2", "iob1_to_bioes", "iob2_to_bilou",
           "bilou_to_iob2", "SCHEMES"]

SCHEMES = ("iob1", "iob2", "bioes", "bilou")
_O, _B, _I, _E, _S = 0, 1, 2, 3, 4
_PREFIX = {"B": _B, "I": _I, "E": _E, "S": _S, "L": _E, "U": _S}
_ALLOWED = {"iob1": "BI", "iob2": "BI", "iob": "BI", "bio": "BI", "bioes": "BIES",
            "iobes": "BIES", "bilou": "BILU", "auto": "BIESLU"}
_TARGETS = {"iob1": "iob1", "iob2": "iob2", "bioes": "bioes", "iobes": "bioes",
            "bilou": "bilou"}
_NAMES = {"bilou": "OBILU"}  # prefix letter of each code in a target scheme
_DEFAULT_NAMES = "OBIES"


class Chunks(NamedTuple):
    """Chunks of a batch of label sequences.

    Attributes
    ----------
    start, end : ndarray of shape (n_chunks,), int64
        Flat token positions; ``end`` is exclusive.
    type : ndarray of shape (n_chunks,), int64
        Index into ``types``.
    types : list of str
        Chunk types (``"PER"``, ``"NP"`` ...), sorted.
    """

    start: np.ndarray
    end: np.ndarray
    type: np.ndarray
    types: list


def _scheme_prefixes(scheme: str) -> str:
    key = scheme.lower()
    if key not in _ALLOWED:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of iob1, iob2, bioes, "
                         f"bilou, auto")
    return _ALLOWED[key]


def _as_flat(labels, offsets=None) -> tuple[list, np.ndarray, bool]:
    """(flat labels, offsets, was_nested) from a list of label lists, one label list, or a
    flat sequence with ``offsets``."""
    if offsets is not None:
        flat = labels.tolist() if isinstance(labels, np.ndarray) else list(labels)
        offsets = np.asarray(offsets, dtype=np.int64)
        if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != len(flat) \
                or np.any(np.diff(offsets) < 0):
            raise ValueError(f"offsets must run from 0 to the number of labels ({len(flat)}) "
                             f"without decreasing, got {offsets[:3].tolist()} ... "
                             f"{offsets[-1:].tolist()}")
        return flat, offsets, False
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    labels = list(labels)
    if labels and not isinstance(labels[0], str) and hasattr(labels[0], "__len__"):
        lengths = np.fromiter(map(len, labels), dtype=np.int64, count=len(labels))
        return list(itertools.chain.from_iterable(labels)), lengths_to_offsets(lengths), True
    return labels, np.array([0, len(labels)], dtype=np.int64), False


def _parse(flat: list, scheme: str, type_names: list | None = None):
    """Per token: prefix code (O, B, I, E, S) and type id (-1 for O).  Parsing is done once
    per distinct label."""
    allowed = _scheme_prefixes(scheme)
    distinct = list(dict.fromkeys(flat))
    prefix = np.empty(len(distinct), dtype=np.int8)
    type_of: list[str | None] = []
    for k, label in enumerate(distinct):
        if label == "O":
            prefix[k] = _O
            type_of.append(None)
            continue
        head, dash, rest = label.partition("-") if isinstance(label, str) else ("", "", "")
        if not dash or head not in _PREFIX or not rest:
            raise ValueError(f"label {label!r} is not a chunk label: expected 'O' or a prefix "
                             f"({', '.join(allowed)}) and a type, e.g. 'B-PER'")
        if head not in allowed:
            raise ValueError(f"label {label!r} is not a {scheme.upper()} label (prefixes "
                             f"{', '.join(allowed)}); try scheme='bioes'")
        prefix[k] = _PREFIX[head]
        type_of.append(rest)
    if type_names is None:
        type_names = sorted({t for t in type_of if t is not None})
    type_index = {t: i for i, t in enumerate(type_names)}
    for t in type_of:
        if t is not None and t not in type_index:
            type_index[t] = len(type_names)
            type_names.append(t)
    type_id = np.array([-1 if t is None else type_index[t] for t in type_of], dtype=np.int64)
    which = {lab: k for k, lab in enumerate(distinct)}
    codes = np.fromiter(map(which.__getitem__, flat), dtype=np.int64, count=len(flat))
    return prefix[codes], type_id[codes], type_names


def _boundaries(tag: np.ndarray, typ: np.ndarray, offsets: np.ndarray):
    """Chunk start and end flags per token, with conlleval's rules (extended to E- and S-
    as seqeval does).  ``end[i]`` means a chunk ends *at* token i."""
    n = tag.shape[0]
    first = np.zeros(n, dtype=bool)
    last = np.zeros(n, dtype=bool)
    lengths = np.diff(offsets)
    first[offsets[:-1][lengths > 0]] = True
    last[offsets[1:][lengths > 0] - 1] = True
    # neighbours within the sentence; outside it is "O"
    prev_tag = np.empty_like(tag)
    prev_typ = np.empty_like(typ)
    prev_tag[1:], prev_typ[1:] = tag[:-1], typ[:-1]
    prev_tag[first], prev_typ[first] = _O, -1
    next_tag = np.empty_like(tag)
    next_typ = np.empty_like(typ)
    next_tag[:-1], next_typ[:-1] = tag[1:], typ[1:]
    next_tag[last], next_typ[last] = _O, -1

    def start_of_chunk(p, t, pt, tt):
        return ((t == _B) | (t == _S)
                | (((p == _E) | (p == _S) | (p == _O)) & ((t == _E) | (t == _I)))
                | ((t != _O) & (pt != tt)))

    def end_of_chunk(p, t, pt, tt):
        return ((p == _E) | (p == _S)
                | (((p == _B) | (p == _I)) & ((t == _B) | (t == _S) | (t == _O)))
                | ((p != _O) & (pt != tt)))

    start = start_of_chunk(prev_tag, tag, prev_typ, typ)
    end = end_of_chunk(tag, next_tag, typ, next_typ)
    return start, end


def chunk_spans(labels, offsets=None, *, scheme: str = "auto", types: list | None = None) -> Chunks:
    """The chunks (entities) of label sequences, as conlleval finds them.

    Parameters
    ----------
    labels : list of list of str, or flat sequence of str
        One label list per sentence; or all labels flat with ``offsets``; a single flat list
        without ``offsets`` is one sentence.
    offsets : array of shape (n_sentences + 1,), optional
    scheme : {"auto", "iob1", "iob2", "bioes", "bilou"}
        Prefixes allowed (``B``/``I`` for IOB1 and IOB2, ``B``/``I``/``E``/``S`` for BIOES,
        ``B``/``I``/``L``/``U`` for BILOU, all of them for "auto"); the chunk rules are the
        same.  A label with another prefix raises ValueError.
    types : list of str, optional
        Type names to index (new types are appended); pass the same list to compare chunks
        of two label sequences by type id.

    Returns
    -------
    Chunks
        ``(start, end, type, types)``, flat token positions, ``end`` exclusive.

    Examples
    --------
    >>> c = chunk_spans([["B-PER", "I-PER", "O", "I-LOC"]])
    >>> c.start.tolist(), c.end.tolist(), [c.types[t] for t in c.type]
    ([0, 3], [2, 4], ['PER', 'LOC'])
    """
    flat, offsets, _ = _as_flat(labels, offsets)
    tag, typ, type_names = _parse(flat, scheme, types)
    start, end = _boundaries(tag, typ, offsets)
    starts = np.flatnonzero(start)
    ends = np.flatnonzero(end) + 1
    if starts.shape != ends.shape:  # cannot happen with labels that passed _parse
        raise AssertionError("unbalanced chunk boundaries")
    return Chunks(starts, ends, typ[starts], type_names)


def _render(tag: np.ndarray, typ: np.ndarray, type_names: list, out_prefix: np.ndarray,
            offsets, nested: bool, letters: str = _DEFAULT_NAMES):
    """Labels from an output prefix code per token and the type per token (``letters``:
    the prefix letter of each code)."""
    # each distinct (prefix, type) pair is formatted once
    key = out_prefix.astype(np.int64) * (len(type_names) + 1) + (typ + 1)
    uniq, inverse = np.unique(key, return_inverse=True)
    names = []
    for k in uniq.tolist():
        p, t = divmod(k, len(type_names) + 1)
        names.append("O" if p == _O else f"{letters[p]}-{type_names[t - 1]}")
    flat = np.array(names, dtype=object)[inverse.ravel()].tolist()
    return unflatten(flat, offsets) if nested else flat


def convert_scheme(labels, target: str, *, source: str = "auto", offsets=None):
    """Rewrite chunk labels in the tagging scheme ``target`` ("iob1", "iob2", "bioes" or
    "bilou").

    The chunks are found with conlleval's rules (see :func:`chunk_spans`), so any input that
    conlleval reads (including an IOB2 file with stray ``I-`` after ``O``) converts to a
    well-formed sequence with the same chunks.

    Parameters
    ----------
    labels : list of list of str, a single list of str, or flat with ``offsets``
    target : {"iob1", "iob2", "bioes", "iobes", "bilou"}
    source : {"auto", "iob1", "iob2", "bioes", "bilou"}
        Prefixes accepted in the input.

    Returns
    -------
    Same nesting as the input: a list of label lists, or one flat list.
    """
    if target.lower() not in _TARGETS:
        raise ValueError(f"unknown target scheme {target!r}; expected one of {SCHEMES}")
    target = _TARGETS[target.lower()]
    flat, offsets, nested = _as_flat(labels, offsets)
    if not flat:
        return unflatten([], offsets) if nested else []
    tag, typ, type_names = _parse(flat, source)
    start, end = _boundaries(tag, typ, offsets)
    inside = tag != _O
    out = np.where(inside, _I, _O).astype(np.int8)
    if target == "iob2":
        out[start] = _B
    elif target in ("bioes", "bilou"):
        out[start & ~end] = _B
        out[end & ~start] = _E
        out[start & end] = _S
    else:  # iob1: B only where a chunk directly follows a chunk of the same type
        first = np.zeros(len(flat), bool)
        first[offsets[:-1][np.diff(offsets) > 0]] = True
        prev_end = np.zeros(len(flat), bool)
        prev_end[1:] = end[:-1]
        prev_same = np.zeros(len(flat), bool)
        prev_same[1:] = typ[:-1] == typ[1:]
        out[start & prev_end & prev_same & ~first] = _B
    return _render(tag, typ, type_names, out, offsets, nested,
                   _NAMES.get(target, _DEFAULT_NAMES))


def iob1_to_iob2(labels, offsets=None):
    """IOB1 (``B-`` only between touching chunks of one type) -> IOB2 (``B-`` opens every
    chunk).

    >>> iob1_to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"])
    ['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC']
    """
    return convert_scheme(labels, "iob2", source="iob1", offsets=offsets)


def iob2_to_iob1(labels, offsets=None):
    """IOB2 -> IOB1."""
    return convert_scheme(labels, "iob1", source="iob2", offsets=offsets)


def iob2_to_bioes(labels, offsets=None):
    """IOB2 -> BIOES (``S-`` for one-token chunks, ``E-`` closing longer ones).

    >>> iob2_to_bioes(["B-PER", "I-PER", "O", "B-LOC"])
    ['B-PER', 'E-PER', 'O', 'S-LOC']
    """
    return convert_scheme(labels, "bioes", source="iob2", offsets=offsets)


def iob1_to_bioes(labels, offsets=None):
    """IOB1 -> BIOES."""
    return convert_scheme(labels, "bioes", source="iob1", offsets=offsets)


def bioes_to_iob2(labels, offsets=None):
    """BIOES -> IOB2.

    >>> bioes_to_iob2(["B-PER", "E-PER", "O", "S-LOC"])
    ['B-PER', 'I-PER', 'O', 'B-LOC']
    """
    return convert_scheme(labels, "iob2", source="bioes", offsets=offsets)


def iob2_to_bilou(labels, offsets=None):
    """IOB2 -> BILOU (``U-`` for one-token chunks, ``L-`` closing longer ones).

    >>> iob2_to_bilou(["B-PER", "I-PER", "I-PER", "O", "B-LOC"])
    ['B-PER', 'I-PER', 'L-PER', 'O', 'U-LOC']
    """
    return convert_scheme(labels, "bilou", source="iob2", offsets=offsets)


def bilou_to_iob2(labels, offsets=None):
    """BILOU -> IOB2.

    >>> bilou_to_iob2(["B-PER", "L-PER", "O", "U-LOC"])
    ['B-PER', 'I-PER', 'O', 'B-LOC']
    """
    return convert_scheme(labels, "iob2", source="bilou", offsets=offsets)


def detect_scheme(labels, offsets=None) -> str | None:
    """The tagging scheme of chunk labels: ``"bilou"`` (``L-`` / ``U-`` used), ``"bioes"``
    (``E-`` / ``S-``), ``"iob1"`` (some chunk opens with ``I-``: after ``O``, after another
    type, or first in its sentence), ``"iob2"`` (every chunk opens with ``B-``, or no
    chunk at all); None when the labels are not all chunk labels (``O`` or a prefix and a
    type).

    >>> detect_scheme([["I-PER", "I-PER", "O", "B-LOC"]]), detect_scheme([["B-PER", "O"]])
    ('iob1', 'iob2')
    >>> detect_scheme([["S-PER", "O"]]), detect_scheme([["NN", "VB"]]) is None
    ('bioes', True)
    """
    flat, offsets, _ = _as_flat(labels, offsets)
    distinct = set(flat)
    heads = set()
    for label in distinct:
        if label == "O":
            continue
        head, dash, rest = label.partition("-") if isinstance(label, str) else ("", "", "")
        if not dash or head not in _PREFIX or not rest:
            return None
        heads.add(head)
    if heads & {"L", "U"}:
        return "bilou"
    if heads & {"E", "S"}:
        return "bioes"
    if "I" not in heads:
        return "iob2"
    tag, typ, _ = _parse(flat, "auto")
    start, _ = _boundaries(tag, typ, offsets)
    return "iob1" if bool(np.any(start & (tag == _I))) else "iob2"
