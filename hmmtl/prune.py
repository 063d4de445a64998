"""Smaller model files: feature pruning and compact weight storage.

A CRF trained with L2 regularization keeps a weight for every (attribute, label) pair seen
in training, most of them tiny.  :func:`prune_crf` drops the pairs whose weight is below a
threshold in absolute value, then the attributes left without any pair, then the base
features (``"s3=ing"``) that no kept attribute uses, and with them the word types' entries
for those features (the feature vocabulary and the type table are most of a CRF's file).
:func:`prune` does this for every CRF inside a model (a :class:`~hmmtl.transfer.Tagger`'s
labeler, both stages of a :class:`~hmmtl.ner.NamedEntityRecognizer`) and rounds its
floating-point tables to the precision they are to be stored in; :func:`save_compact`
writes such a model with the narrower dtypes (CRF weights as float16, other tables as
float32).  Model files keep their format: every loader already reads any float dtype into
float64, so a compact file is an ordinary model file and loads with :func:`hmmtl.load`.

The HMMs a :class:`~hmmtl.ner.NamedEntityRecognizer` keeps whole are most of its file (an
emission table of 64 states by 44k English word types is 11.2 MB as float32).
:func:`round_floats` rounds such a table to float16 log-probabilities relative to each
state's most probable word (``emissions="log-float16"``, :func:`hmmtl.hmm.estimators.
compact_emissions`: float16 cannot hold the probabilities themselves, most of which are
below its smallest positive value) and the HMM stores it so (model format version 3); the
loader checks the table (float16, entries <= 0, each row's largest 0) and restores
normalized float64 probabilities.  Measured on en-ner (``benchmarks/results/models_size.md``):
the table is half its float32 size, and eng.testa and eng.testb F1 are unchanged.

The model as pruned in memory and the model loaded from its compact file predict the same
tags (the values are rounded in memory to what the file stores).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, NamedTuple
from collections.abc import Mapping

import numpy as np

__all__ = ["PruneStats", "prune_crf", "prune", "round_floats", "save_compact",
           "crf_parts", "WEIGHT_DTYPES", "EMISSION_PRECISIONS"]

#: storage precision of the CRF weights -> numpy dtype
WEIGHT_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}
#: how :func:`round_floats` may round a recognizer's HMM emission tables: as the other
#: tables (``"table"``), or to float16 log-probabilities (``"log-float16"``)
EMISSION_PRECISIONS = ("table", "log-float16")


class PruneStats(NamedTuple):
    """What :func:`prune_crf` removed."""

    pairs_before: int
    pairs_after: int
    attributes_before: int
    attributes_after: int
    features_before: int
    features_after: int


def _round_to(values: np.ndarray, precision: str) -> np.ndarray:
    """``values`` rounded to ``precision`` and back to float64 (infinities kept)."""
    if precision not in WEIGHT_DTYPES:
        raise ValueError(f"precision must be one of {sorted(WEIGHT_DTYPES)}, got "
                         f"{precision!r}")
    dtype = WEIGHT_DTYPES[precision]
    if dtype is np.float16:
        finite = np.abs(values[np.isfinite(values)])
        if finite.size and finite.max() > np.finfo(np.float16).max:
            raise ValueError(f"a weight of {finite.max():.4g} does not fit float16 (max "
                             f"{np.finfo(np.float16).max:.0f}); use precision='float32'")
    return np.asarray(values, dtype=np.float64).astype(dtype).astype(np.float64)


def prune_crf(crf, threshold: float = 0.0, precision: str = "float64") -> PruneStats:
    """Drop the small weights of a fitted :class:`~hmmtl.crf.LinearChainCRF` (or
    :class:`~hmmtl.crf.AveragedPerceptron`) in place.

    Parameters
    ----------
    crf : fitted labeler with ``coef_``, ``attr_ptr_``, ``pair_label_`` and
        ``feature_space_`` (dictionary mode: ``n_features=None``)
    threshold : float, default=0.0
        Pairs with ``|weight| <= threshold`` are removed (0: only exact zeros, e.g. of L1).
    precision : {"float64", "float32", "float16"}
        The kept weights are rounded to this precision (what :func:`save_compact` stores).

    Returns
    -------
    PruneStats

    Notes
    -----
    A removed pair contributes ``weight * value`` to a label's score; removing pairs with
    ``|weight| <= threshold`` changes a score by at most ``threshold`` times the number of
    the token's active attributes, so a small threshold leaves nearly every tag as it was.
    Tests and :mod:`benchmarks.bench_models` measure the effect on accuracy and F1.
    """
    fs = crf.feature_space_
    if fs.n_features is not None:
        raise ValueError("prune_crf needs a dictionary feature space (n_features=None); "
                         "a hashed one has no vocabulary to shrink")
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    coef = _round_to(crf.coef_, precision)
    n_attr = int(fs.n_attributes_)
    attr_ptr = np.asarray(crf.attr_ptr_, dtype=np.int64)
    pair_attr = np.repeat(np.arange(n_attr), np.diff(attr_ptr))
    keep_pair = np.abs(coef) > threshold
    # the bias attribute stays whatever its weights (it sets each label's base score)
    bias = int(fs.attr_map_[fs.bias_attr_]) if fs.bias else -1
    if bias >= 0:
        keep_pair |= pair_attr == bias
    counts = np.bincount(pair_attr[keep_pair], minlength=n_attr)
    keep_attr = counts > 0
    new_attr = np.full(n_attr, -1, dtype=np.int64)
    new_attr[keep_attr] = np.arange(int(keep_attr.sum()))

    # provisional attribute ids: the word block (offset-major, n_base per offset), then
    # the extras' blocks, then the bias; map them to the kept attributes
    old_map = np.asarray(fs.attr_map_, dtype=np.int64)
    mapped = np.where(old_map >= 0, new_attr[np.maximum(old_map, 0)], -1)
    tf = fs.featurizer_
    n_base = len(tf.features)
    n_win = len(fs.window)
    word_block = mapped[: n_win * n_base].reshape(n_win, n_base)
    keep_base = np.any(word_block >= 0, axis=0)
    new_base = np.full(n_base, -1, dtype=np.int64)
    new_base[keep_base] = np.arange(int(keep_base.sum()))
    n_base_new = int(keep_base.sum())
    shift = n_win * (n_base - n_base_new)
    tail = mapped[n_win * n_base:]
    attr_map = np.concatenate([word_block[:, keep_base].ravel(), tail]).astype(np.int64)

    # the type table: entries of removed base features go (rows shrink, types stay)
    entry_type = np.repeat(np.arange(len(tf.types)), np.diff(tf.type_ptr))
    keep_entry = keep_base[tf.type_feature] if tf.type_feature.size else \
        np.zeros(0, dtype=bool)
    type_len = np.bincount(entry_type[keep_entry], minlength=len(tf.types))
    type_ptr = np.zeros(len(tf.types) + 1, dtype=np.int64)
    np.cumsum(type_len, out=type_ptr[1:])
    stats = PruneStats(int(coef.shape[0]), int(keep_pair.sum()), n_attr,
                       int(keep_attr.sum()), n_base, n_base_new)

    # commit: the labeler's weights, then the feature space (nothing is changed above)
    crf.coef_ = coef[keep_pair]
    crf.pair_label_ = np.asarray(crf.pair_label_)[keep_pair]
    ptr = np.zeros(stats.attributes_after + 1, dtype=np.int64)
    np.cumsum(counts[keep_attr], out=ptr[1:])
    crf.attr_ptr_ = ptr
    # a featurizer of its own: another labeler may share the one it had
    # (share_featurizers), and that one keeps its features
    pruned_tf = copy.copy(tf)
    pruned_tf.features = [f for f, k in zip(tf.features, keep_base.tolist()) if k]
    pruned_tf.feature_index = {f: i for i, f in enumerate(pruned_tf.features)}
    pruned_tf.type_feature = new_base[tf.type_feature[keep_entry]]
    pruned_tf.type_template = tf.type_template[keep_entry]
    pruned_tf.type_ptr = type_ptr
    fs.featurizer_ = pruned_tf
    for spec in fs.extra_specs_:
        spec["attr_start"] = int(spec["attr_start"]) - shift
    fs.bias_attr_ = int(fs.bias_attr_) - shift
    fs.attr_map_ = attr_map
    fs.n_attributes_ = stats.attributes_after
    if hasattr(fs, "train_layout_"):
        del fs.train_layout_  # built with the old attribute ids
    return stats


def crf_parts(model) -> dict[str, Any]:
    """The CRF-style labelers inside ``model`` by name (``labeler``, ``stage1``, ...)."""
    parts = {}
    for name in ("labeler_", "stage1_", "stage2_"):
        part = getattr(model, name, None)
        if part is not None and hasattr(part, "coef_"):
            parts[name.rstrip("_")] = part
    # a recognizer's embedded column taggers (NamedEntityRecognizer.column_taggers_)
    for name, part in sorted((getattr(model, "column_taggers_", None) or {}).items()):
        parts[f"column.{name}"] = part
    if hasattr(model, "coef_") and hasattr(model, "feature_space_"):
        parts["model"] = model
    return parts


def round_floats(model, precision: str = "float32", emissions: str = "table") -> int:
    """Round the float tables of ``model`` that :func:`save_compact` stores narrower (a
    Tagger's type tables, the emission tables of a recognizer's HMMs) to ``precision``, in
    place; returns how many tables were rounded.

    ``emissions="log-float16"`` rounds a recognizer's HMM emission tables to float16
    log-probabilities instead (:func:`~hmmtl.hmm.estimators.compact_emissions`, each row
    normalized again) and marks the HMM to store them so (``emission_storage_``)."""
    from .hmm.estimators import compact_emissions, expand_emissions

    if emissions not in EMISSION_PRECISIONS:
        raise ValueError(f"emissions must be one of {EMISSION_PRECISIONS}, got "
                         f"{emissions!r}")
    n = 0
    tables = getattr(model, "type_tables_", None) or {}
    for name, table in list(tables.items()):
        if isinstance(table, tuple):
            tables[name] = (table[0], _round_to(table[1], precision))
        else:
            tables[name] = _round_to(table, precision)
        n += 1
    for hmm in getattr(model, "hmms_", None) or ():
        if hasattr(model, "stage1_") and hasattr(hmm, "emission_prob_"):
            # the recognizer stores its HMMs whole: round and renormalize each row
            if emissions == "log-float16":
                dtype = hmm.emission_prob_.dtype
                hmm.emission_prob_ = expand_emissions(
                    compact_emissions(hmm.emission_prob_)).astype(dtype)
                hmm.emission_storage_ = "log-float16"
            else:
                e = _round_to(hmm.emission_prob_, precision)
                hmm.emission_prob_ = _round_to(e / e.sum(axis=1, keepdims=True), precision)
            n += 1
    return n


def prune(model, threshold: float = 0.0, precision: str = "float16",
          table_precision: str = "float32", emissions: str = "table") -> dict[str, PruneStats]:
    """Prune every CRF inside ``model`` (:func:`prune_crf`) and round its other tables
    (:func:`round_floats`), in place.

    Parameters
    ----------
    model : LinearChainCRF, AveragedPerceptron, Tagger or NamedEntityRecognizer (fitted)
    threshold : float
        Weights with ``|w| <= threshold`` are removed.
    precision : str
        Precision of the kept CRF weights.
    table_precision : str
        Precision of the type tables (and of HMM emission tables with
        ``emissions="table"``); ``"float64"`` rounds nothing.
    emissions : {"table", "log-float16"}
        How a recognizer's HMM emission tables are rounded and stored (see
        :func:`round_floats`).

    Returns
    -------
    dict
        :class:`PruneStats` of each CRF by name.
    """
    parts = crf_parts(model)
    if not parts:
        raise TypeError(f"{type(model).__name__} holds no CRF to prune; give a Tagger, a "
                        f"NamedEntityRecognizer, a LinearChainCRF or an AveragedPerceptron")
    if emissions not in EMISSION_PRECISIONS:
        raise ValueError(f"emissions must be one of {EMISSION_PRECISIONS}, got "
                         f"{emissions!r}")
    stats = {name: prune_crf(part, threshold, precision) for name, part in parts.items()}
    if table_precision != "float64" or emissions != "table":
        round_floats(model, table_precision, emissions)
    return stats


#: integer arrays of a CRF that its loader reads through ``check_index_array`` (any
#: integer dtype, converted to int64): stored in the narrowest integer dtype
_INDEX_ARRAYS = ("attr_ptr", "pair_label", "attr_map", "featurizer_type_feature",
                 "featurizer_type_ptr", "featurizer_type_template")


def _leaf(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _narrow(name: str, arr: np.ndarray) -> np.ndarray:
    """``arr`` in the narrowest dtype that holds its values exactly: float16 for CRF
    weights (``coef``), float32 for other float tables (their kernels compile for float32
    too), the smallest signed integer type for a CRF's index arrays."""
    leaf = _leaf(name)
    if arr.size == 0:
        return arr
    if arr.dtype.kind in "iu":
        if leaf not in _INDEX_ARRAYS:
            return arr
        low, high = int(arr.min()), int(arr.max())
        for dtype in (np.int8, np.int16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= low and high <= info.max:
                return arr.astype(dtype)
        return arr
    if arr.dtype != np.float64:
        return arr
    choices = (np.float16, np.float32) if leaf == "coef" else (np.float32,)
    for float_type in choices:
        narrow = arr.astype(float_type)
        same = (narrow.astype(np.float64) == arr) | (np.isnan(arr) & np.isnan(narrow))
        if same.all():
            return narrow
    return arr


def save_compact(model, path, *, info: Mapping | None = None) -> Path:
    """Write ``model`` as :func:`hmmtl.save` does, each float array in the narrowest dtype
    that holds its values exactly (see :func:`prune` for the rounding).

    The file is an ordinary hmmtl model file (its loaders read float16 / float32 arrays
    as float64): :func:`hmmtl.load` gives a model that predicts as ``model`` does.
    """
    from . import serialize

    return serialize.save(model, path, info=info, arrays_as=_narrow)
