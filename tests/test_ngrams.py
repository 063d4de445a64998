"""N-gram features of an extra column (``extra_ngrams``): the attributes enumerated by hand on
a tiny case, unseen combinations, the sentence edges, save / load, a damaged file, and the
CRF that reads them."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from hmmtl import LinearChainCRF
from hmmtl.crf.features import FeatureSpace, normalize_ngrams
from hmmtl import serialize
from hmmtl.serialize import ModelFileError, load, save

X = [["the", "dog", "runs"], ["a", "cat"]]
POS = [["DT", "NN", "VBZ"], ["DT", "NN"]]
FLAT = [w for s in X for w in s]
OFFSETS = np.array([0, 3, 5])


def _ngram_values(fs, layout, spec_name):
    """{token index: the n-gram value (tuple of tags, '<' / '>' for the edges, '?' unseen)}
    read back from the layout's slots of the spec."""
    spec = next(s for s in fs.extra_specs_ if s["name"] == spec_name)
    src = next(s for s in fs.extra_specs_ if s["name"] == spec["source"])
    vocab, base = src["vocab"], src["n_values"] + 2
    first = fs.extra_specs_.index(spec)
    # the slots of this spec follow the word slots and the blocks of the specs before it
    out = {}
    for t in range(layout.tok_slot.shape[0]):
        col = len(fs.window) + sum(len(s["window"]) for s in fs.extra_specs_[:first])
        slot = int(layout.tok_slot[t, col])
        if slot < 0:
            out[t] = None
            continue
        start = slot - _block_start(fs, layout, first)
        key = spec["keys"][start]
        digits = []
        for _ in spec["ngram"]:
            key, d = divmod(key, base)
            digits.append("<>"[0] if d == 0 else "?" if d == 1 else vocab[d - 2])
        out[t] = tuple(reversed(digits))
    return out


def _block_start(fs, layout, index):
    """The first slot of extra spec ``index`` in a token layout of X."""
    n_used = len(np.unique(np.concatenate([[0, 1], fs.featurizer_.lookup(FLAT)[0]])))
    start = len(fs.window) * n_used
    for s in fs.extra_specs_[:index]:
        start += len(s["window"]) * s["n_values"]
    return start


def test_normalize_ngrams_checks_its_argument():
    assert normalize_ngrams(None) == {}
    assert normalize_ngrams({"pos": [[-1, 0], (-1, 0), (0, 1, 2)]}) == \
        {"pos": [(-1, 0), (0, 1, 2)]}
    assert normalize_ngrams({"pos": []}) == {}
    for bad in ({"pos": [(0,)]}, {"pos": [(0, 0)]}, {"pos": [(0, 40)]}):
        with pytest.raises(ValueError, match="two or more distinct"):
            normalize_ngrams(bad)
    with pytest.raises(TypeError):
        normalize_ngrams([(-1, 0)])


def test_bigrams_are_the_tags_at_their_offsets_within_the_sentence():
    fs = FeatureSpace(window=0, extra_window=(0,), extra_ngrams={"pos": [(-1, 0), (0, 1)]})
    fs.fit(FLAT, OFFSETS, {"pos": POS})
    names = [s["name"] for s in fs.extra_specs_]
    assert names == ["pos", "pos@-1,0", "pos@0,1"]
    lay = fs.transform(FLAT, OFFSETS, {"pos": POS})
    left = _ngram_values(fs, lay, "pos@-1,0")
    right = _ngram_values(fs, lay, "pos@0,1")
    # "<" stands for either edge of the sentence (one value: outside)
    assert left == {0: ("<", "DT"), 1: ("DT", "NN"), 2: ("NN", "VBZ"), 3: ("<", "DT"),
                    4: ("DT", "NN")}
    assert right == {0: ("DT", "NN"), 1: ("NN", "VBZ"), 2: ("VBZ", "<"), 3: ("DT", "NN"),
                     4: ("NN", "<")}
    # the distinct values seen in training are the spec's values
    assert fs.extra_specs_[1]["n_values"] == 3 and fs.extra_specs_[2]["n_values"] == 4


def test_unseen_combinations_and_unknown_tags_give_no_feature():
    fs = FeatureSpace(window=0, extra_window=(0,), extra_ngrams={"pos": [(-1, 0)]})
    fs.fit(FLAT, OFFSETS, {"pos": POS})
    lay = fs.transform(FLAT, OFFSETS, {"pos": [["DT", "VBZ", "XX"], ["DT", "NN"]]})
    vals = _ngram_values(fs, lay, "pos@-1,0")
    assert vals[0] == ("<", "DT") and vals[3] == ("<", "DT") and vals[4] == ("DT", "NN")
    assert vals[1] is None and vals[2] is None   # DT VBZ never seen; XX unknown


def test_ngrams_of_an_extra_not_given_are_not_formed_and_bad_kinds_are_refused():
    fs = FeatureSpace(window=0, extra_ngrams={"chunk": [(-1, 0)]}).fit(FLAT, OFFSETS,
                                                                       {"pos": POS})
    assert [s["name"] for s in fs.extra_specs_] == ["pos"]
    dense = np.ones((5, 2))
    with pytest.raises(ValueError, match="string column or categorical"):
        FeatureSpace(window=0, extra_ngrams={"x": [(-1, 0)]}).fit(FLAT, OFFSETS, {"x": dense})


def test_ngrams_are_not_summed_per_word_type():
    fs = FeatureSpace(window=1, extra_ngrams={"pos": [(-1, 0)]}).fit(FLAT, OFFSETS, {"pos": POS})
    assert fs.transform_types(FLAT, OFFSETS, {"pos": POS}) is None


def test_hashing_mode_gives_the_same_tags_as_a_dictionary():
    y = [["B-NP", "I-NP", "B-VP"], ["B-NP", "I-NP"]] * 4
    x, p = X * 4, POS * 4
    a = LinearChainCRF(task="chunk", extra_ngrams={"pos": [(-1, 0)]}, max_iterations=20)
    b = LinearChainCRF(task="chunk", extra_ngrams={"pos": [(-1, 0)]}, max_iterations=20,
                       n_features=2 ** 16)
    a.fit(x, y, extra={"pos": p})
    b.fit(x, y, extra={"pos": p})
    assert a.predict(X, extra={"pos": POS}) == b.predict(X, extra={"pos": POS}) == y[:2]


@pytest.fixture
def chunker():
    words = [["the", "dog", "runs"], ["a", "cat", "sleeps"], ["the", "dog", "saw", "a", "cat"]]
    tags = [["DT", "NN", "VBZ"], ["DT", "NN", "VBZ"], ["DT", "NN", "VBD", "DT", "NN"]]
    chunks = [["B-NP", "I-NP", "B-VP"], ["B-NP", "I-NP", "B-VP"],
              ["B-NP", "I-NP", "B-VP", "B-NP", "I-NP"]]
    model = LinearChainCRF(task="chunk", max_iterations=30, ngrams=(),
                           extra_ngrams={"pos": [(-1, 0), (-1, 0, 1)]})
    return model.fit(words * 3, chunks * 3, extra={"pos": tags * 3}), words, tags


def test_the_crf_reads_ngrams_and_its_file_gives_the_same_scores(chunker, tmp_path):
    model, words, tags = chunker
    assert model.settings_["extra_ngrams"] == {"pos": [(-1, 0), (-1, 0, 1)]}
    assert [s["name"] for s in model.feature_space_.extra_specs_] == \
        ["pos", "pos@-1,0", "pos@-1,0,1"]
    back = load(save(model, tmp_path / "m.hmmtl"))
    assert back.feature_space_.extra_specs_ == json.loads(
        json.dumps(model.feature_space_.extra_specs_))
    for m in (model, back):
        assert m.predict(words, extra={"pos": tags}) == model.predict(words, extra={"pos": tags})
    np.testing.assert_array_equal(back.predict_marginals(words, extra={"pos": tags})[0],
                                  model.predict_marginals(words, extra={"pos": tags})[0])


def test_the_chunk_default_has_no_pos_ngrams_without_a_pos_column(chunker):
    _, words, _ = chunker
    plain = LinearChainCRF(task="chunk", max_iterations=5).fit(
        words, [["B-NP", "I-NP", "B-VP"], ["B-NP", "I-NP", "B-VP"],
                ["B-NP", "I-NP", "B-VP", "B-NP", "I-NP"]])
    # the word bigrams only (the chunk task's default ngrams)
    assert [s["source"] for s in plain.feature_space_.extra_specs_] == [None, None]


@pytest.mark.parametrize("change", [
    lambda s: s.update(keys=list(reversed(s["keys"]))),
    lambda s: s.update(source="nothing"),
    lambda s: s.update(ngram=[0]),
    lambda s: s.update(keys=s["keys"][:-1]),
    lambda s: s.update(keys=[k + 10 ** 9 for k in s["keys"]]),
])
def test_a_damaged_ngram_spec_is_refused(chunker, tmp_path, change):
    model, _, _ = chunker
    path = save(model, tmp_path / "m.hmmtl")
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    manifest = json.loads(members["manifest.json"])
    spec = manifest["meta"]["features"]["extra_specs"][1]
    assert spec["kind"] == "ngram"
    change(spec)
    manifest["manifest_sha256"] = serialize._manifest_digest(manifest)  # checksum made to match
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ModelFileError, match=r"n-gram|extra feature"):
        load(path)


def test_a_file_is_a_zip_with_the_specs_in_its_manifest(chunker, tmp_path):
    model, _, _ = chunker
    path = save(model, tmp_path / "m.hmmtl")
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["format_version"] == 4
    specs = manifest["meta"]["features"]["extra_specs"]
    assert [s["kind"] for s in specs] == ["strings", "ngram", "ngram"]


def test_a_pruned_chunker_with_ngrams_keeps_its_tags(chunker, tmp_path):
    from hmmtl.prune import prune

    model, words, tags = chunker
    before = model.predict_marginals(words, extra={"pos": tags})
    pruned = load(save(model, tmp_path / "m.hmmtl"))
    prune(pruned, 0.0, "float64")
    after = load(save(pruned, tmp_path / "p.hmmtl"))
    for m in (pruned, after):
        got = m.predict_marginals(words, extra={"pos": tags})
        for a, b in zip(got, before):
            np.testing.assert_allclose(a, b, atol=1e-12)
    # a threshold that drops weights: the n-gram blocks stay where the attributes say
    prune(after, 0.05, "float16")
    assert after.predict(words, extra={"pos": tags}) == model.predict(words,
                                                                      extra={"pos": tags})
