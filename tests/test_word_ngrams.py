"""N-gram features of the words (``ngrams``): the attributes enumerated by hand on a tiny
case, unseen words, save / load, pruning, hashing, and the chunk defaults inside the
multi-task model (a POS column under the names it has there)."""

from __future__ import annotations

import numpy as np
import pytest

from hmmtl import LinearChainCRF
from hmmtl.crf.features import FeatureSpace
from hmmtl.serialize import ModelFileError, load

X = [["the", "dog", "runs"], ["a", "cat"]]
POS = [["DT", "NN", "VBZ"], ["DT", "NN"]]
CHUNK = [["B-NP", "I-NP", "B-VP"], ["B-NP", "I-NP"]]
FLAT = [w for s in X for w in s]
OFFSETS = np.array([0, 3, 5])


def _decode(fs, spec, key):
    """The words of an n-gram key ('<' / '>' outside the sentence, '?' unknown)."""
    types = fs.featurizer_.types
    base = spec["source_values"] + 2
    words = []
    for o in reversed(spec["ngram"]):
        key, d = divmod(key, base)
        words.append(("<" if o < 0 else ">") if d == 0 else "?" if d == 1 else types[d - 2])
    return tuple(reversed(words))


def test_word_bigrams_enumerated_by_hand():
    fs = FeatureSpace(templates=["lower"], window=[0], extra_window=[0], bias=False,
                      ngrams=[(-1, 0), (0, 1)]).fit(FLAT, OFFSETS)
    specs = {s["name"]: s for s in fs.extra_specs_}
    assert list(specs) == ["words@-1,0", "words@0,1"]
    left = {_decode(fs, specs["words@-1,0"], k) for k in specs["words@-1,0"]["keys"]}
    assert left == {("<", "the"), ("the", "dog"), ("dog", "runs"), ("<", "a"), ("a", "cat")}
    right = {_decode(fs, specs["words@0,1"], k) for k in specs["words@0,1"]["keys"]}
    assert right == {("the", "dog"), ("dog", "runs"), ("runs", ">"), ("a", "cat"),
                     ("cat", ">")}
    # 5 words at offset 0, then 5 + 5 bigrams: every one an attribute of its own
    assert fs.n_attributes_ == 5 + 5 + 5
    lay = fs.train_layout_
    assert lay.tok_slot.shape == (5, 3)  # the word, its left bigram, its right bigram
    # each token's bigram slot holds one attribute; the five tokens' left bigrams differ
    attrs = [lay.slot_attr[lay.slot_ptr[s]:lay.slot_ptr[s + 1]].tolist()
             for s in lay.tok_slot[:, 1]]
    assert all(len(a) == 1 for a in attrs) and len({a[0] for a in attrs}) == 5


def test_an_unseen_word_or_pair_gives_no_ngram_and_no_type_layout():
    fs = FeatureSpace(templates=["lower"], window=[0], extra_window=[0], bias=False,
                      ngrams=[(-1, 0)]).fit(FLAT, OFFSETS, {"pos": POS})
    test = ["the", "cow", "dog", "a", "cat"]
    off = np.array([0, 3, 5])
    lay = fs.transform(test, off, {"pos": [["DT", "NN", "NN"], ["DT", "NN"]]})
    col = 2  # the word, the POS column at 0, then the word bigram
    seen = lay.tok_slot[:, col] >= 0
    # (<, the) and (<, a), (a, cat) were seen; (the, cow) and (cow, dog) were not
    assert seen.tolist() == [True, False, False, True, True]
    assert fs.transform_types(test, off, {"pos": [["DT", "NN", "NN"], ["DT", "NN"]]}) is None


def test_word_ngrams_need_two_distinct_offsets():
    with pytest.raises(ValueError, match="two or more distinct"):
        FeatureSpace(ngrams=[(0, 0)])
    with pytest.raises(TypeError, match="sequence of int"):
        FeatureSpace(ngrams=[3])


@pytest.fixture(scope="module")
def chunker():
    X10, P10, C10 = X * 10, POS * 10, CHUNK * 10
    return LinearChainCRF(task="chunk", max_iterations=30, ngrams=[(-1, 0), (0, 1)]).fit(
        X10, C10, extra={"pos": P10})


def test_the_crf_file_keeps_word_ngrams(chunker, tmp_path):
    path = tmp_path / "c.hmmtl"
    chunker.save(path)
    back = load(path)
    assert back.ngrams == [[-1, 0], [0, 1]]
    names = [s["name"] for s in back.feature_space_.extra_specs_]
    assert "words@-1,0" in names and "pos@-1,0,1" in names  # the chunk task's POS n-grams
    test = ["a", "dog", "runs", "the", "cat"]
    pos = [["DT", "NN", "VBZ"], ["DT", "NN"]]
    u1 = chunker._unary(chunker.feature_space_.transform(test, OFFSETS, {"pos": pos}))
    u2 = back._unary(back.feature_space_.transform(test, OFFSETS, {"pos": pos}))
    np.testing.assert_allclose(u1, u2)
    assert back.predict([["the", "dog", "runs"]], extra={"pos": [POS[0]]}) == [CHUNK[0]]


def test_a_word_ngram_of_another_vocabulary_is_refused(chunker, tmp_path):
    from hmmtl.serialize import read_manifest

    path = tmp_path / "c.hmmtl"
    chunker.save(path)
    import copy

    arrays, meta = chunker._get_state()
    meta = copy.deepcopy(meta)  # the state shares its specs with the model
    spec = next(s for s in meta["features"]["extra_specs"] if s["name"] == "words@-1,0")
    spec["source_values"] += 1
    with pytest.raises(ModelFileError, match="invalid n-gram"):
        type(chunker)._from_state(arrays, meta)
    assert read_manifest(path)["format_version"] >= 4


def test_pruning_keeps_the_ngram_features(chunker, tmp_path):
    import copy

    from hmmtl.prune import prune_crf

    pruned = copy.deepcopy(chunker)
    stats = prune_crf(pruned, threshold=float(np.quantile(np.abs(chunker.coef_), 0.3)))
    assert stats.pairs_after < stats.pairs_before
    kept = [s for s in pruned.feature_space_.extra_specs_ if s["kind"] == "ngram"]
    assert len(kept) == len([s for s in chunker.feature_space_.extra_specs_
                             if s["kind"] == "ngram"])
    test = [["the", "dog", "runs"], ["a", "cat"]]
    assert pruned.predict(test, extra={"pos": POS}) == chunker.predict(test, extra={"pos": POS})
    path = tmp_path / "p.hmmtl"
    pruned.save(path)
    back = load(path)
    lay = back.feature_space_.transform(FLAT, OFFSETS, {"pos": POS})
    np.testing.assert_allclose(back._unary(lay), pruned._unary(
        pruned.feature_space_.transform(FLAT, OFFSETS, {"pos": POS})))


def test_hashing_mode_reads_word_ngrams():
    crf = LinearChainCRF(task="chunk", max_iterations=30, n_features=2 ** 12,
                         ngrams=[(-1, 0)]).fit(X * 10, CHUNK * 10, extra={"pos": POS * 10})
    assert "words@-1,0" in [s["name"] for s in crf.feature_space_.extra_specs_]
    assert crf.predict(X, extra={"pos": POS}) == CHUNK


def test_the_multitask_chunker_reads_pos_ngrams_of_the_file_and_of_the_cascade():
    from hmmtl.transfer.multitask import MultiTaskTagger

    X10, P10, C10 = X * 10, POS * 10, CHUNK * 10
    model = MultiTaskTagger(n_folds=0, labeler_params={"max_iterations": 20}, random_state=0,
                            columns={"pos": 1}).fit(X10, {"chunk": C10}, columns={"pos": P10})
    names = [s["name"] for s in model.labelers_["chunk"].feature_space_.extra_specs_]
    assert "file:pos@-1,0,1" in names and "file:pos@-2,-1" in names
    cascade = MultiTaskTagger(n_folds=0, labeler_params={"max_iterations": 20},
                              random_state=0).fit(X10, {"pos": P10, "chunk": C10})
    names = [s["name"] for s in cascade.labelers_["chunk"].feature_space_.extra_specs_]
    assert "task:pos@0,1,2" in names
    assert not [n for n in (s["name"] for s in cascade.labelers_["pos"].feature_space_
                            .extra_specs_) if "@" in n]
