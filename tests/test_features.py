"""Type-level feature templates and the feature space (dictionary, hashing, extras)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmmtl.data import flatten
from hmmtl.features import (BUILTIN_TEMPLATES, DEFAULT_TEMPLATES, FeatureSpace, TypeFeaturizer,
                            _apply, resolve_templates, short_shape, template_names,
                            word_features, word_shape)


def test_builtin_templates_by_hand():
    assert word_features("Dogs", ["lower", "prefix"]) == ["w=dogs", "p1=d", "p2=do", "p3=dog",
                                                         "p4=dogs"]
    assert word_features("a", ["suffix"]) == ["s1=a"]
    assert word_shape("Brexit-2019") == "Xxxxxx-dddd"
    assert short_shape("Brexit-2019") == "Xx-d"
    assert word_shape("Über") == "Xxxx"
    flags = word_features("Mid-1990s", ["flags"])
    assert flags == ["initcap", "hascap", "digit", "hyphen", "punct"]
    assert word_features("IBM", ["flags"]) == ["initcap", "allcap"]
    assert word_features("1984", ["flags"]) == ["digit", "alldigit"]
    assert word_features("--", ["flags"]) == ["hyphen", "punct", "allpunct"]


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_fast_default_path_equals_the_templates_one_by_one(word):
    # the same templates in another order take the generic path
    generic = [BUILTIN_TEMPLATES[t] for t in reversed(DEFAULT_TEMPLATES)]
    assert sorted(_apply(word, resolve_templates(None))) == sorted(_apply(word, generic))


def _suffix_only(word):
    return ["last=" + word[-1:]]


def test_user_templates_and_their_names():
    feats = word_features("cats", ["lower", _suffix_only])
    assert feats == ["w=cats", "last=s"]
    assert template_names(["lower", _suffix_only]) == ["lower", f"{__name__}:_suffix_only"]
    assert resolve_templates([f"{__name__}:_suffix_only"])[0] is _suffix_only
    with pytest.raises(ValueError, match="lambda"):
        template_names([lambda w: [w]])
    with pytest.raises(ValueError, match="unknown feature template"):
        resolve_templates(["nope"])


def test_unseen_types_get_features_without_growing_the_table():
    tf = TypeFeaturizer().fit(["the", "dogs", "barked"])
    n_types, n_feats = len(tf.types), len(tf.features)
    ids, ptr, feat = tf.lookup(["dogs", "cats", "cats", "walked"])
    assert len(tf.types) == n_types and len(tf.features) == n_feats
    assert ids[0] == tf.type_index["dogs"]
    assert ids[1] == ids[2] >= n_types and ids[3] >= n_types and ids[3] != ids[1]
    row = feat[ptr[ids[1]]:ptr[ids[1] + 1]]
    known = {tf.features[i] for i in row[row >= 0]}
    # "cats" shares its suffixes and shape with "dogs"; its identity is unknown (-1)
    assert {"s1=s", "shape=xxxx", "sshape=x"} <= known
    assert "w=cats" not in known and (row < 0).any()
    row = feat[ptr[ids[3]]:ptr[ids[3] + 1]]
    assert "s2=ed" in {tf.features[i] for i in row[row >= 0]}


def _attrs_of_token(fs, layout, i):
    """The set of attribute ids of token i (through its slots)."""
    out = set()
    for s in layout.tok_slot[i]:
        if s >= 0:
            out.update(layout.slot_attr[layout.slot_ptr[s]:layout.slot_ptr[s + 1]].tolist())
    return out


def test_window_features_are_offset_tagged_and_padded():
    X = [["a", "b"], ["b", "a"]]
    flat, off = flatten(X)
    fs = FeatureSpace(templates=["lower"], window=1, bias=False).fit(flat, off)
    lay = fs.train_layout_
    # 2 types x 3 offsets + BOS@-1 + EOS@+1 (pads at offset 0 are never used)
    assert fs.n_attributes_ == 2 * 3 + 2
    a0, b1 = _attrs_of_token(fs, lay, 0), _attrs_of_token(fs, lay, 1)
    assert len(a0) == len(b1) == 3
    # "a" at offset 0 of token 0 and "a" at offset -1 of token 1 are different attributes
    assert not a0 & b1
    # token 0 of sentence 1 is "b" with BOS to its left and "a" to its right; token 1 of
    # sentence 0 is "b" with "a" to its left and EOS to its right
    b2 = _attrs_of_token(fs, lay, 2)
    assert len(b2 & b1) == 1  # only "w=b"@0
    # the same (offset, feature) on another token maps to the same attribute
    assert _attrs_of_token(fs, lay, 3) & a0  # "a"@0 shared


def test_min_freq_prunes_rare_attributes():
    X = [["the", "cat"], ["the", "dog"], ["the", "cat"]]
    flat, off = flatten(X)
    fs1 = FeatureSpace(templates=["lower"], window=0, bias=False).fit(flat, off)
    fs2 = FeatureSpace(templates=["lower"], window=0, bias=False, min_freq=2).fit(flat, off)
    assert fs1.n_attributes_ == 3  # the, cat, dog
    assert fs2.n_attributes_ == 2  # dog seen once
    lay = fs2.transform(["dog"], np.array([0, 1]))
    assert _attrs_of_token(fs2, lay, 0) == set()


def test_hashing_is_reproducible_and_in_range():
    X = [["The", "cats", "sat"], ["a", "dog", "ran", "off"]]
    flat, off = flatten(X)
    a = FeatureSpace(n_features=2 ** 10).fit(flat, off)
    b = FeatureSpace(n_features=2 ** 10).fit(flat, off)
    assert np.array_equal(a.attr_map_, b.attr_map_)
    la, lb = a.train_layout_, b.train_layout_
    assert np.array_equal(la.slot_attr, lb.slot_attr)
    assert la.slot_attr.max() < a.n_attributes_ <= 2 ** 10
    # an unseen word still hashes its features (the dictionary would drop "w=zebra")
    lay = a.transform(["zebra"], np.array([0, 1]))
    assert len(_attrs_of_token(a, lay, 0)) > 0


def test_extras_kinds_and_errors():
    X = [["a", "b", "c"], ["d"]]
    flat, off = flatten(X)
    extra = {"state": np.array([0, 2, -1, 1]),
             "post": (np.array([[0, 1], [1, 2], [2, 0], [0, 1]]),
                      np.array([[0.7, 0.3], [0.5, 0.5], [1.0, 0.0], [0.9, 0.1]])),
             "vec": np.array([[0.5, -1.0], [0.0, 2.0], [1.0, 1.0], [3.0, 0.0]]),
             "pos": [["DT", "NN", "VB"], ["NN"]]}
    fs = FeatureSpace(templates=["lower"], window=0, extra_window=(-1, 0), bias=False)
    fs.fit(flat, off, extra)
    kinds = {s["name"]: s["kind"] for s in fs.extra_specs_}
    assert kinds == {"state": "categorical", "post": "weighted", "vec": "dense",
                     "pos": "strings"}
    lay = fs.train_layout_
    # token 2 ("c"): state -1 at offset 0 -> no entry; state 2 from offset -1
    n_ent = lay.tok_slot.shape[1]
    assert n_ent == 1 + 2 * (1 + 2 + 2 + 1)
    # weights ride along as values
    vals = set(np.round(lay.tok_val[0], 3).tolist())
    assert {0.7, 0.3, 0.5, -1.0} <= vals
    with pytest.raises(ValueError, match="n_tokens=4"):
        fs.transform(flat, off, {**extra, "state": np.array([0, 1])})
    with pytest.raises(ValueError, match="in fit"):
        fs.transform(flat, off, {"state": extra["state"]})
    with pytest.raises(TypeError, match="extra\\['bad'\\]"):
        FeatureSpace().fit(flat, off, {"bad": "oops"})


def test_feature_space_state_round_trip_is_json_and_exact():
    X = [["The", "cats", "sat"], ["a", "dog", "ran", "off"]]
    flat, off = flatten(X)
    extra = {"pos": [["DT", "NNS", "VBD"], ["DT", "NN", "VBD", "RP"]]}
    fs = FeatureSpace(min_freq=1).fit(flat, off, extra)
    arrays, meta = fs.to_state()
    meta = json.loads(json.dumps(meta))
    assert all(a.dtype != object for a in arrays.values())
    fs2 = FeatureSpace.from_state(arrays, meta)
    new = ["An", "owl", "sat", "off"]
    ex = {"pos": [["DT", "NN", "VBD", "RP"]]}
    l1 = fs.transform(new, np.array([0, 4]), ex)
    l2 = fs2.transform(new, np.array([0, 4]), ex)
    for name in ("tok_slot", "tok_val", "slot_ptr", "slot_attr"):
        assert np.array_equal(getattr(l1, name), getattr(l2, name))
