"""Type-level feature templates and the feature space (dictionary, hashing, extras)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmmtl.data import flatten
from hmmtl.crf.features import (BUILTIN_TEMPLATES, DEFAULT_TEMPLATES, FeatureSpace,
                                TypeFeaturizer, _type_features, _type_rows, resolve_templates,
                                short_shape, template_names, word_features, word_shape)


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


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=20, unique=True))
def test_batch_featurization_equals_the_templates_word_by_word(words):
    funcs = resolve_templates(list(BUILTIN_TEMPLATES))
    lengths, flat, which = _type_rows(words, funcs)
    rows = [_type_features(w, funcs) for w in words]
    assert lengths.tolist() == [len(f) for f, _ in rows]
    assert flat == [f for fs, _ in rows for f in fs]
    assert which.tolist() == [i for _, ws in rows for i in ws]


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
    ids, unseen = tf.lookup(["dogs", "cats", "cats", "walked"])
    assert len(tf.types) == n_types and len(tf.features) == n_feats
    assert ids[0] == tf.type_index["dogs"]
    assert ids[1] == ids[2] >= n_types and ids[3] >= n_types and ids[3] != ids[1]
    _, row, _ = tf.rows(ids[1:2], unseen)
    known = {tf.features[i] for i in row[row >= 0]}
    # "cats" shares its suffixes and shape with "dogs"; its identity is unknown (-1)
    assert {"s1=s", "shape=xxxx", "sshape=x"} <= known
    assert "w=cats" not in known and (row < 0).any()
    _, row, _ = tf.rows(ids[3:4], unseen)
    assert "s2=ed" in {tf.features[i] for i in row[row >= 0]}
    # the ids of unseen types mean something only with the table they came with
    with pytest.raises(IndexError, match="unseen table that lookup"):
        tf.rows(ids[3:4])


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


def _named_attrs_of_token(fs, layout, i):
    """(offset, feature string) pairs of token i's word-type attributes (dictionary mode)."""
    n_base = len(fs.featurizer_.features)
    final_to_prov = {int(f): p for p, f in enumerate(fs.attr_map_) if f >= 0}
    out = set()
    for a in _attrs_of_token(fs, layout, i):
        prov = final_to_prov[a]
        if prov < len(fs.window) * n_base:
            out.add((fs.window[prov // n_base], fs.featurizer_.features[prov % n_base]))
    return out


def test_per_offset_templates_give_each_offset_its_own_features():
    X = [["The", "dogs", "Bark-2"]]
    flat, off = flatten(X)
    window = {-1: ["lower"], 0: ["lower", "suffix"], 1: ["flags"]}
    fs = FeatureSpace(window=window, bias=False).fit(flat, off)
    lay = fs.train_layout_
    assert fs.window == (-1, 0, 1)
    assert _named_attrs_of_token(fs, lay, 0) == {
        (-1, "BOS"), (0, "w=the"), (0, "s1=e"), (0, "s2=he"), (0, "s3=the")}
    assert _named_attrs_of_token(fs, lay, 1) == {
        (-1, "w=the"), (0, "w=dogs"), (0, "s1=s"), (0, "s2=gs"), (0, "s3=ogs"), (0, "s4=dogs"),
        (1, "initcap"), (1, "hascap"), (1, "digit"), (1, "hyphen"), (1, "punct")}
    assert _named_attrs_of_token(fs, lay, 2) == {
        (-1, "w=dogs"), (0, "w=bark-2"), (0, "s1=2"), (0, "s2=-2"), (0, "s3=k-2"),
        (0, "s4=rk-2"), (1, "EOS")}
    # an offset mapped to None takes `templates`
    fs2 = FeatureSpace(templates=["lower"], window={0: None, 1: ["suffix"]}, bias=False)
    fs2.fit(flat, off)
    assert _named_attrs_of_token(fs2, fs2.train_layout_, 0) == {
        (0, "w=the"), (1, "s1=s"), (1, "s2=gs"), (1, "s3=ogs"), (1, "s4=dogs")}
    with pytest.raises(ValueError, match="twice"):
        FeatureSpace(window={1: ["lower"], "1": ["suffix"]})
    with pytest.raises(TypeError, match="int offsets"):
        FeatureSpace(window={"left": ["lower"]})


def test_same_templates_at_every_offset_equal_the_plain_window():
    X = [["The", "cats", "sat"], ["a", "dog", "ran", "off"]]
    flat, off = flatten(X)
    plain = FeatureSpace(window=1).fit(flat, off)
    mapped = FeatureSpace(window={o: list(DEFAULT_TEMPLATES) for o in (-1, 0, 1)}).fit(flat, off)
    new = ["An", "owl", "sat", "off"]
    for a, b in ((plain.train_layout_, mapped.train_layout_),
                 (plain.transform(new, np.array([0, 4])), mapped.transform(new, np.array([0, 4])))):
        for name in ("tok_slot", "tok_val", "slot_ptr", "slot_attr"):
            assert np.array_equal(getattr(a, name), getattr(b, name))


def _token_attributes(fs, layout):
    """Per token, the sorted (attribute, value) pairs it activates (independent of how the
    slots of a batch are numbered)."""
    out = []
    for i in range(layout.tok_slot.shape[0]):
        pairs = []
        for s, v in zip(layout.tok_slot[i], layout.tok_val[i]):
            if s >= 0:
                pairs += [(int(a), float(v)) for a in
                          layout.slot_attr[layout.slot_ptr[s]:layout.slot_ptr[s + 1]]]
        out.append(sorted(pairs))
    return out


@pytest.mark.parametrize("n_features", [None, 2 ** 12])
def test_unseen_types_give_the_features_of_a_fresh_featurizer(n_features):
    train = [["The", "cats", "sat"], ["a", "dog", "ran", "off"]]
    flat, off = flatten(train)
    window = {-1: ["lower", "suffix"], 0: None, 1: ["shape"]}
    new = [["An", "owl", "sat"], ["Owls", "ran"], ["an", "owl", "Hooted", "off"]]
    nflat, noff = flatten(new)
    fresh = FeatureSpace(window=window, n_features=n_features).fit(flat, off)
    expected = _token_attributes(fresh, fresh.transform(nflat, noff))
    # the same space, after earlier calls on other batches, gives each token the same
    # attributes, and keeps nothing of them
    fs = FeatureSpace(window=window, n_features=n_features).fit(flat, off)
    before = {k: v.copy() if isinstance(v, np.ndarray) else list(v) if isinstance(v, list)
              else dict(v) if isinstance(v, dict) else v
              for k, v in vars(fs.featurizer_).items()}
    got = []
    for sent in new + new:
        got += _token_attributes(fs, fs.transform(sent, np.array([0, len(sent)])))
    assert got == expected + expected
    after = vars(fs.featurizer_)
    assert sorted(after) == sorted(before)
    for k, v in before.items():
        assert (np.array_equal(after[k], v) if isinstance(v, np.ndarray) else after[k] == v), k


def test_per_offset_state_round_trip_and_older_files():
    X = [["The", "cats", "sat"], ["a", "dog", "ran", "off"]]
    flat, off = flatten(X)
    new, noff = ["An", "owl", "sat", "off"], np.array([0, 4])
    fs = FeatureSpace(window={-1: ["lower"], 0: None, 2: ["suffix", "flags"]}).fit(flat, off)
    arrays, meta = fs.to_state()
    fs2 = FeatureSpace.from_state(arrays, json.loads(json.dumps(meta)))
    assert fs2.window == fs.window and np.array_equal(fs2.offset_mask, fs.offset_mask)
    assert _token_attributes(fs, fs.transform(new, noff)) == \
        _token_attributes(fs2, fs2.transform(new, noff))
    # a file written before per-offset templates: no template indices, every template at
    # every offset
    plain = FeatureSpace(window=1).fit(flat, off)
    arrays, meta = plain.to_state()
    del arrays["featurizer_type_template"], meta["window_templates"]
    old = FeatureSpace.from_state(arrays, json.loads(json.dumps(meta)))
    assert _token_attributes(old, old.transform(new, noff)) == \
        _token_attributes(plain, plain.transform(new, noff))


def test_a_file_with_bad_per_offset_templates_is_refused():
    from hmmtl.serialize import ModelFileError

    X = [["The", "cats", "sat"], ["a", "dog", "ran", "off"]]
    flat, off = flatten(X)
    fs = FeatureSpace(window={-1: ["lower"], 0: None}).fit(flat, off)
    arrays, meta = fs.to_state()
    bad = json.loads(json.dumps(meta))
    bad["window_templates"][0] = [len(bad["featurizer"]["templates"])]
    with pytest.raises(ModelFileError, match="window_templates"):
        FeatureSpace.from_state(arrays, bad)
    bad = dict(arrays)
    bad["featurizer_type_template"] = np.full_like(arrays["featurizer_type_template"], 99)
    with pytest.raises(ModelFileError, match="featurizer_type_template"):
        FeatureSpace.from_state(bad, meta)
