"""Evaluation of sequence labelers: token accuracy, accuracy on out-of-vocabulary words, a
per-label report, and entity (chunk) precision / recall / F1 as the CoNLL scorer
``conlleval`` computes them.

Every function takes gold and predicted labels as lists of label lists (NLTK style) or as
flat sequences with ``offsets`` (int64, length n_sentences + 1).  Labels are plain strings;
a predicted label never seen in the gold data is simply wrong.
"""

from __future__ import annotations

import itertools
import operator
from typing import NamedTuple

import numpy as np

from .data import Vocabulary
from .io.schemes import _as_flat, chunk_spans, convert_scheme, detect_scheme

__all__ = ["accuracy", "oov_accuracy", "oov_mask", "per_label_report", "entity_scores",
           "entity_f1", "EntityScores", "format_entity_report", "comparable_schemes"]


def _check_labels(flat: list, what: str) -> None:
    """Labels are strings: an integer or mixed label list is a TypeError, not a silent
    comparison of numbers with names."""
    if not all(map(isinstance, flat, itertools.repeat(str))):
        bad = next(x for x in flat if not isinstance(x, str))
        kinds = sorted({type(x).__name__ for x in flat})
        raise TypeError(f"{what} labels must be strings (e.g. 'NN', 'B-PER'), got "
                        f"{type(bad).__name__} {bad} among types {', '.join(kinds)}; "
                        f"decode label ids to their names first")


def comparable_schemes(y_true, y_pred, *, offsets=None):
    """Gold and predicted chunk labels in one tagging scheme, before any token is counted.

    When both are chunk labels (:func:`hmmtl.io.schemes.detect_scheme`) in different
    schemes (an IOB2 model on IOB1 gold, a BIOES one on IOB2 gold), or either is IOB1,
    both are converted to IOB2, which keeps every chunk: token accuracy then compares the
    same chunks spelled the same way.  Otherwise both come back unchanged.

    Returns
    -------
    (y_true, y_pred, info)
        ``info`` is ``{}`` when nothing was converted, else ``{"gold": scheme,
        "predicted": scheme, "compared_as": "iob2", "description": str}``.

    >>> g, p, info = comparable_schemes([["I-PER", "O"]], [["B-PER", "O"]])
    >>> g, info["gold"], info["predicted"]
    ([['B-PER', 'O']], 'iob1', 'iob2')
    """
    gold = detect_scheme(y_true, offsets)
    pred = detect_scheme(y_pred, offsets)
    if gold is None or pred is None or (gold == pred and gold != "iob1"):
        return y_true, y_pred, {}
    # IOB1 is converted even on both sides: a predicted chunk that opens with a stray I-
    # reads as IOB1 too, and IOB1's B-/I- choice depends on the chunk before
    pair = f"gold labels are {gold.upper()}, predictions {pred.upper()}" if gold != pred \
        else f"gold labels and predictions are {gold.upper()}"
    info = {"gold": gold, "predicted": pred, "compared_as": "iob2",
            "description": f"{pair}: both converted to IOB2 (the same chunks) before "
                           f"counting tokens"}
    return (convert_scheme(y_true, "iob2", offsets=offsets),
            convert_scheme(y_pred, "iob2", offsets=offsets), info)


def _pair(y_true, y_pred, offsets=None) -> tuple[list, list, np.ndarray]:
    """Flatten gold and predicted labels and check that they align sentence by sentence."""
    flat_true, off_true, _ = _as_flat(y_true, offsets)
    flat_pred, off_pred, _ = _as_flat(y_pred, offsets)
    _check_labels(flat_true, "gold")
    _check_labels(flat_pred, "predicted")
    if off_true.shape != off_pred.shape:
        raise ValueError(f"got {off_true.size - 1} gold sentences but {off_pred.size - 1} "
                         f"predicted ones")
    if not np.array_equal(off_true, off_pred):
        lt, lp = np.diff(off_true), np.diff(off_pred)
        i = int(np.flatnonzero(lt != lp)[0])
        raise ValueError(f"sentence {i} has {lt[i]} gold labels but {lp[i]} predicted labels")
    return flat_true, flat_pred, off_true


def _equal(flat_true: list, flat_pred: list) -> np.ndarray:
    return np.fromiter(map(operator.eq, flat_true, flat_pred), dtype=bool, count=len(flat_true))


def accuracy(y_true, y_pred, *, offsets=None) -> float:
    """Fraction of tokens whose predicted label equals the gold label.

    >>> accuracy([["DT", "NN"], ["VB"]], [["DT", "VB"], ["VB"]])
    0.6666666666666666
    """
    flat_true, flat_pred, _ = _pair(y_true, y_pred, offsets)
    if not flat_true:
        raise ValueError("accuracy of zero tokens is undefined; got empty label sequences")
    return float(_equal(flat_true, flat_pred).mean())


def oov_mask(words, train_words, *, offsets=None) -> np.ndarray:
    """Boolean mask over the flattened ``words``: True where a word was not seen in training.

    ``train_words`` is a fitted :class:`hmmtl.Vocabulary` (a word is known when it has its
    own id, not an unknown-word signature) or any collection of training words.
    """
    flat, _, _ = _as_flat(words, offsets)
    if isinstance(train_words, Vocabulary):
        return ~train_words.is_known(train_words.encode_tokens(flat))
    if not isinstance(train_words, (set, frozenset, dict)):
        train_words = set(train_words)
    known = np.fromiter(map(train_words.__contains__, flat), dtype=bool, count=len(flat))
    return ~known


def oov_accuracy(y_true, y_pred, *, words=None, train_words=None, mask=None,
                 offsets=None) -> float:
    """Accuracy on out-of-vocabulary tokens.

    Give either ``mask`` (True for OOV tokens; flat, or one list per sentence) or ``words``
    (the tokens) and ``train_words`` (training vocabulary, see :func:`oov_mask`).  Returns
    NaN when there is no OOV token.
    """
    flat_true, flat_pred, _ = _pair(y_true, y_pred, offsets)
    if mask is None:
        if words is None or train_words is None:
            raise ValueError("oov_accuracy needs mask=..., or words=... and train_words=...")
        mask = oov_mask(words, train_words, offsets=offsets)
    else:
        mask = np.asarray(list(itertools.chain.from_iterable(mask))
                          if len(mask) and not np.isscalar(mask[0]) else mask, dtype=bool)
    if mask.shape != (len(flat_true),):
        raise ValueError(f"OOV mask has {mask.size} entries for {len(flat_true)} tokens")
    if not mask.any():
        return float("nan")
    return float(_equal(flat_true, flat_pred)[mask].mean())


def per_label_report(y_true, y_pred, *, labels=None, offsets=None) -> dict:
    """Precision, recall, F1 and support of each label, over tokens.

    Returns
    -------
    dict
        label -> ``{"precision", "recall", "f1", "support"}``, labels sorted (or in the order
        of ``labels``); a label never predicted has precision 0.
    """
    from sklearn.metrics import precision_recall_fscore_support

    flat_true, flat_pred, _ = _pair(y_true, y_pred, offsets)
    if labels is None:
        labels = sorted(set(flat_true) | set(flat_pred))
    index = {lab: i for i, lab in enumerate(labels)}
    t = np.fromiter(map(index.get, flat_true, itertools.repeat(-1)), np.int64, len(flat_true))
    p = np.fromiter(map(index.get, flat_pred, itertools.repeat(-1)), np.int64, len(flat_pred))
    prec, rec, f1, support = precision_recall_fscore_support(
        t, p, labels=np.arange(len(labels)), zero_division=0)
    return {lab: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                  "support": int(support[i])} for i, lab in enumerate(labels)}


class EntityScores(NamedTuple):
    """Entity-level scores.  ``per_type`` maps each type to ``{"precision", "recall",
    "f1", "support"}`` (support = number of gold entities)."""

    precision: float
    recall: float
    f1: float
    n_true: int
    n_pred: int
    n_correct: int
    per_type: dict


def _prf(correct, n_pred, n_true):
    precision = correct / n_pred if n_pred else 0.0
    recall = correct / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def entity_scores(y_true, y_pred, *, scheme: str = "auto", offsets=None) -> EntityScores:
    """Entity (chunk) precision, recall and F1 with conlleval's semantics.

    An entity is correct when gold and prediction have a chunk with the same first token,
    last token and type.  Chunks are found as conlleval finds them (see
    :func:`hmmtl.io.chunk_spans`): ``I-X`` after ``O`` or after another type starts a chunk,
    a type change ends one, so IOB1 and IOB2 need no conversion; BIOES ``E-``/``S-`` close
    chunks as in seqeval's default mode.  Chunks never cross sentence boundaries.

    Parameters
    ----------
    y_true, y_pred : list of list of str, or flat sequences with ``offsets``
    scheme : {"auto", "iob1", "iob2", "bioes"}
        Prefixes allowed; a label with another prefix (or no prefix) raises ValueError.

    Examples
    --------
    >>> s = entity_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
    >>> round(s.f1, 3), s.n_correct, s.n_true
    (0.5, 1, 2)
    """
    flat_true, flat_pred, offs = _pair(y_true, y_pred, offsets)
    gold = chunk_spans(flat_true, offs, scheme=scheme)
    pred = chunk_spans(flat_pred, offs, scheme=scheme, types=gold.types)
    types = gold.types  # extended in place with types only predicted
    n_types = max(len(types), 1)
    width = len(flat_true) + 1

    def keys(c):
        return (c.start * width + c.end) * n_types + c.type

    hits = np.intersect1d(keys(gold), keys(pred), assume_unique=True)
    hit_type = hits % n_types
    n_true_t = np.bincount(gold.type, minlength=len(types))
    n_pred_t = np.bincount(pred.type, minlength=len(types))
    n_hit_t = np.bincount(hit_type, minlength=len(types))
    per_type = {}
    for i in np.argsort(np.asarray(types, dtype=object), kind="stable").tolist():
        if n_true_t[i] == 0 and n_pred_t[i] == 0:
            continue
        p, r, f = _prf(int(n_hit_t[i]), int(n_pred_t[i]), int(n_true_t[i]))
        per_type[types[i]] = {"precision": p, "recall": r, "f1": f, "support": int(n_true_t[i])}
    n_correct, n_pred, n_true = int(hits.size), int(pred.start.size), int(gold.start.size)
    p, r, f = _prf(n_correct, n_pred, n_true)
    return EntityScores(p, r, f, n_true, n_pred, n_correct, per_type)


def entity_f1(y_true, y_pred, *, scheme: str = "auto", offsets=None) -> float:
    """Entity-level (micro) F1; see :func:`entity_scores`."""
    return entity_scores(y_true, y_pred, scheme=scheme, offsets=offsets).f1


def format_entity_report(scores: EntityScores, token_accuracy: float | None = None) -> str:
    """A conlleval-style text report (percentages, two decimals)."""
    head = (f"processed: found {scores.n_pred} phrases; correct: {scores.n_correct}; "
            f"gold: {scores.n_true}.")
    lines = [head]
    acc = f"accuracy: {100 * token_accuracy:6.2f}%; " if token_accuracy is not None else ""
    lines.append(f"{acc}precision: {100 * scores.precision:6.2f}%; recall: "
                 f"{100 * scores.recall:6.2f}%; FB1: {100 * scores.f1:6.2f}")
    for t, s in scores.per_type.items():
        lines.append(f"{t:>17}: precision: {100 * s['precision']:6.2f}%; recall: "
                     f"{100 * s['recall']:6.2f}%; FB1: {100 * s['f1']:6.2f}  {s['support']}")
    return "\n".join(lines)
