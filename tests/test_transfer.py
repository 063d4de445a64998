"""Tagger pipeline, HMM representations, feature augmentation, study reports."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from hmmtl.studies.demo import synthetic_corpus
from hmmtl.studies.report import markdown_table, summarize
from hmmtl.transfer.augment import (DOMAIN_SEP, DomainAugmentedCRF, augment_extra,
                                    augment_tokens, extra_sizes)
from hmmtl.transfer.pipeline import Tagger, check_representations, hmm_representations

CRF = {"max_iterations": 15}


@pytest.fixture(scope="module")
def corpus():
    return synthetic_corpus(n_tags=4, n_shared=10, n_specific=10, n_source=60,
                            n_unlabeled=80, n_test=20, random_state=3)


@pytest.fixture(scope="module")
def hmms(corpus):
    from hmmtl import CategoricalHMM

    return [CategoricalHMM(n_states=k, n_iter=3, random_state=s).fit(corpus["text"])
            for k, s in ((4, 0), (6, 1))]


def test_tagger_save_load_gives_identical_predictions(corpus, hmms, tmp_path):
    X, y = corpus["train"]
    Xt = corpus["test"][0]
    tagger = Tagger(hmm=hmms, representations=("viterbi", "posterior", "type"), top_k=3,
                    labeler_params=CRF).fit(X, y)
    path = tagger.save(tmp_path / "tagger.hmmtl")
    loaded = Tagger.load(path)
    assert loaded.predict(Xt) == tagger.predict(Xt)
    assert len(loaded.hmms_) == 2
    assert [h.n_states for h in loaded.hmms_] == [4, 6]
    np.testing.assert_array_equal(loaded.labeler_.coef_, tagger.labeler_.coef_)
    # the representations are features: the labeler has attributes for them
    assert loaded.labeler_.coef_.shape == tagger.labeler_.coef_.shape


def test_tagger_fits_its_own_hmm_on_unlabeled_text(corpus):
    X, y = corpus["train"]
    tagger = Tagger(hmm=5, representations="viterbi+type_cluster",
                    hmm_params={"n_iter": 2}, labeler_params=CRF, random_state=0)
    tagger.fit(X, y, unlabeled=corpus["text"])
    assert tagger.hmms_[0].n_states_ == 5
    assert tagger.representations_ == ("viterbi", "type_cluster")
    tagged = tagger.tag(corpus["test"][0][0])
    assert [w for w, _ in tagged] == corpus["test"][0][0]
    assert 0.0 <= tagger.score(corpus["test"][0], corpus["test"][1]) <= 1.0


def test_tagger_without_hmm_matches_plain_crf(corpus):
    from hmmtl import LinearChainCRF

    X, y = corpus["train"]
    Xt = corpus["test"][0]
    plain = LinearChainCRF(**CRF).fit(X, y)
    assert Tagger(labeler_params=CRF).fit(X, y).predict(Xt) == plain.predict(Xt)


def test_representations_of_unseen_words_are_defined(hmms):
    unseen = [["zzqx", "Blorping", "2,031.5", "e-mails"], ["(", "qwertyuiop"]]
    extra = hmm_representations(hmms[:1], unseen, ("viterbi", "posterior", "type",
                                                   "type_cluster"), top_k=2)
    n_tokens, K = 6, 4
    v = extra["hmm0.viterbi"]
    assert v.shape == (n_tokens,) and v.min() >= 0 and v.max() < K
    c = extra["hmm0.type_cluster"]
    assert c.shape == (n_tokens,) and c.min() >= 0 and c.max() < K
    for kind in ("posterior", "type"):
        ids, w = extra[f"hmm0.{kind}"]
        assert ids.shape == w.shape == (n_tokens, 2)
        assert ids.min() >= 0 and ids.max() < K
        assert np.all(np.isfinite(w)) and np.all(w >= 0) and np.all(w.sum(axis=1) > 0)
    dense = hmm_representations(hmms[:1], unseen, ("posterior",), top_k=None)["hmm0.posterior"]
    np.testing.assert_allclose(dense.sum(axis=1), 1.0, rtol=1e-9)


def test_bad_representation_names_are_rejected():
    with pytest.raises(ValueError, match="unknown representation"):
        check_representations(["viterbi", "brown_cluster"])
    assert check_representations("viterbi+posterior") == ("viterbi", "posterior")


# ----------------------------------------------------------------------------- augmentation
def test_augmentation_with_one_domain_is_the_plain_crf(corpus):
    from hmmtl import LinearChainCRF

    X, y = corpus["train"]
    Xt = corpus["test"][0]
    plain = LinearChainCRF(**CRF).fit(X, y)
    aug = DomainAugmentedCRF(labeler_params=CRF).fit(X, y, domains=["news"] * len(X))
    assert aug.domains_ == []
    np.testing.assert_array_equal(aug.labeler_.coef_, plain.coef_)
    expected = plain.predict(Xt)
    assert aug.predict(Xt, domains=["news"] * len(Xt)) == expected
    assert aug.predict(Xt) == expected


def _bank_data():
    # "bank" is a noun in one domain and a verb in the other: only domain copies can tell
    X = [["the", "bank", "closed"], ["they", "bank", "left"]] * 6
    y = [["DT", "NN", "VBD"], ["PRP", "VB", "VBD"]] * 6
    X = X + [["a", "bank"]] * 6 + [["a", "bank"]] * 6
    y = y + [["DT", "NN"]] * 6 + [["DT", "VB"]] * 6
    dom = ["finance", "rivers"] * 6 + ["finance"] * 6 + ["rivers"] * 6
    return X, y, dom


def test_augmentation_learns_domain_specific_weights_and_falls_back_to_shared(tmp_path):
    X, y, dom = _bank_data()
    params = {"max_iterations": 60, "c2": 0.1}
    aug = DomainAugmentedCRF(labeler_params=params).fit(X, y, domains=dom)
    assert aug.domains_ == ["finance", "rivers"]
    test = [["a", "bank"], ["a", "bank"]]
    assert aug.predict(test, domains=["finance", "rivers"]) == [["DT", "NN"], ["DT", "VB"]]
    # an unknown domain uses the shared weights only: one answer for both sentences
    unknown = aug.predict(test, domains=["legal", "legal"])
    assert unknown[0] == unknown[1] == aug.predict(test)[0]
    path = aug.save(tmp_path / "aug.hmmtl")
    again = DomainAugmentedCRF.load(path)
    assert again.predict(test, domains=["finance", "rivers"]) == [["DT", "NN"], ["DT", "VB"]]
    # the loaded labeler knows each word in its domain's copy, as the fitted one does
    feats, fitted = again.labeler_.feature_space_, aug.labeler_.feature_space_
    assert {f"finance{DOMAIN_SEP}bank", f"rivers{DOMAIN_SEP}bank"} <= set(
        feats.featurizer_.types)
    assert feats.featurizer_.types == fitted.featurizer_.types
    np.testing.assert_array_equal(feats.attr_map_, fitted.attr_map_)


def test_augment_tokens_and_extra_copies():
    sents = [["a", "b"], ["c"], ["d"]]
    out = augment_tokens(sents, ["x", "y", "zz"], ["x", "y"])
    assert out == [[f"x{DOMAIN_SEP}a", f"x{DOMAIN_SEP}b"], [f"y{DOMAIN_SEP}c"], ["d"]]
    extra = {"s": np.array([0, 2, 1, 1], dtype=np.int32),
             "p": (np.array([[0, 1], [1, 2], [2, 0], [1, 0]]), np.full((4, 2), 0.5))}
    sizes = extra_sizes(extra)
    assert sizes == {"s": 3, "p": 3}
    ea = augment_extra(extra, sents, ["x", "y", "zz"], ["x", "y"], sizes)
    np.testing.assert_array_equal(ea["s"], extra["s"])
    # n_values = 3: domain x keeps ids, y shifts by 3, the unknown domain has none
    np.testing.assert_array_equal(ea["s@domain"], [0, 2, 4, -1])
    np.testing.assert_array_equal(ea["p@domain"][0], [[0, 1], [1, 2], [5, 3], [-1, -1]])
    # the layout comes from the training sizes, not from the batch: one sentence alone
    # gets the ids it gets among others, and an id training never had gets no copy
    alone = augment_extra({"s": np.array([1, 5], dtype=np.int32)}, [["c", "e"]], ["y"],
                          ["x", "y"], sizes)
    np.testing.assert_array_equal(alone["s@domain"], [4, -1])
    with pytest.raises(ValueError, match="domains"):
        augment_tokens(sents, ["x"], ["x"])


# ----------------------------------------------------------------------------- reports
def _rec(setting, seed, domain, acc, oov, split="test"):
    return dict(setting=setting, representation=setting, text="-", n_states=0,
                notation="normalized", seed=seed, split=split, domain=domain, accuracy=acc,
                oov_accuracy=oov, n_tokens=10, n_oov=2)


def test_summary_means_and_spreads_over_seeds():
    recs = [_rec("a", 0, "d1", 0.8, 0.5), _rec("a", 1, "d1", 0.9, 0.7),
            _rec("a", 0, "d2", 0.6, 0.1), _rec("a", 1, "d2", 0.7, 0.3)]
    rows = {r["domain"]: r for r in summarize(recs)}
    assert rows["d1"]["accuracy_mean"] == pytest.approx(0.85)
    assert rows["d1"]["accuracy_std"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    # the mean over domains is taken within a seed, then over seeds
    assert rows["mean"]["accuracy_mean"] == pytest.approx(0.75)
    assert rows["mean"]["accuracy_std"] == pytest.approx(np.std([0.7, 0.8], ddof=1))
    assert rows["mean"]["oov_accuracy_mean"] == pytest.approx(0.4)
    table = markdown_table(summarize(recs), baseline="a")
    assert "0.8500 ± 0.0707" in table and "+0.00" in table


# ----------------------------------------------------------------------------- study
@pytest.mark.slow
def test_study_texts_transductive_adds_the_evaluation_words_without_tags():
    from hmmtl.studies.domain_adaptation import TEXTS, StudyData, TaggedSet, _texts

    src, tgt = [["the", "bank"]], [["lol", "ok"], ["gr8"]]
    dev = TaggedSet([["u", "ok"]], [["PRP", "UH"]], ["email"])
    test = TaggedSet([["brb"]], [["UH"]], ["answers"])
    texts = _texts(StudyData(TaggedSet(src, [["DT", "NN"]]), src, tgt, dev, test, True))
    assert set(texts) == set(TEXTS)
    assert texts["both"] == src + tgt
    assert texts["transductive"] == src + tgt + [["u", "ok"], ["brb"]]
    # the evaluation text is the only addition, and it carries no tag
    flat = {w for s in texts["transductive"] for w in s}
    assert not flat & {"PRP", "UH"}


def test_domain_adaptation_rejects_an_unknown_text():
    from hmmtl.studies.domain_adaptation import run_domain_adaptation

    with pytest.raises(ValueError, match="texts must be among 'source', 'target', 'both', "
                                         "'transductive', got \\['web'\\]"):
        run_domain_adaptation("/nonexistent", "/tmp/unused", quick="tiny", texts=("web",),
                              progress=False)


def test_domain_adaptation_quick_runs_end_to_end(data_dir, tmp_path):
    from hmmtl.studies.domain_adaptation import EWT_DOMAINS, run_domain_adaptation

    res = run_domain_adaptation(data_dir, tmp_path, quick="tiny", progress=False)
    paths = res["paths"]
    for key in ("markdown", "csv", "json", "png"):
        assert paths[key] is not None and paths[key].exists() and paths[key].stat().st_size > 0
    with open(paths["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    settings = {r["setting"] for r in rows}
    assert "none" in settings and len(settings) == 2
    for split in ("dev", "test"):
        for setting in settings:
            domains = {r["domain"] for r in rows if r["split"] == split
                       and r["setting"] == setting}
            assert domains == set(EWT_DOMAINS) | {"mean"}
    for r in rows:
        for col in ("accuracy_mean", "oov_accuracy_mean"):
            value = float(r[col])
            assert not math.isnan(value) and 0.0 <= value <= 1.0, (r["setting"], r["domain"])
    # a POS tagger trained on a few hundred WSJ sentences is far better than chance on web text
    mean_none = next(r for r in rows if r["setting"] == "none" and r["domain"] == "mean"
                     and r["split"] == "test")
    assert float(mean_none["accuracy_mean"]) > 0.5
    assert res["selected"] and all(s["n_states"] == 8 for s in res["selected"]
                                   if s["representation"] != "none")


def test_tagger_fit_reads_iterables_of_sentences_once():
    """NLTK users pass generators (``corpus.tagged_sents()``-like iterables): read once,
    the same model as from lists."""
    X = [["the", "dog", "runs"], ["a", "cat", "sleeps"], ["the", "cat", "runs"]] * 4
    y = [["DT", "NN", "VBZ"]] * 12
    params = {"labeler_params": {"max_iterations": 10}}
    from_lists = Tagger(**params).fit(X, y)
    from_generators = Tagger(**params).fit((s for s in X), (t for t in y))
    tagged = Tagger(**params).fit(iter([list(zip(s, t)) for s, t in zip(X, y)]))
    test = [["a", "dog", "sleeps"], ["the", "unicorn"]]
    assert from_generators.predict(test) == tagged.predict(test) == from_lists.predict(test)
    with pytest.raises(TypeError, match=r"tags\[0\]\[1\] is the int 1"):
        Tagger(**params).fit(X, [["DT", 1, "VBZ"]] + y[1:])


def test_tagger_converts_each_text_once(corpus, monkeypatch):
    """fit and predict flatten each text (training, unlabeled, dev, to tag) once, detect the
    notation once and map words to it once per text: every stage after, the labeler
    included, reads that batch (the Tagger owns the notation; its CRF does not redo it)."""
    import sys

    import hmmtl.crf.labelers as labelers
    import hmmtl.transfer.pipeline as pipeline
    from hmmtl.data import Vocabulary
    from hmmtl.io import notation

    calls: dict = {"flatten": 0, "map_flat_words": 0, "map_words": 0, "detect": 0,
                   "encode": 0}
    doors = {pipeline.__name__, labelers.__name__}

    def counting(name, func):
        def wrapper(*args, **kwargs):
            # the calls the Tagger and its labeler make
            calls[name] += sys._getframe(1).f_globals["__name__"] in doors
            return func(*args, **kwargs)
        return wrapper

    for module in (pipeline, labelers):
        monkeypatch.setattr(module, "flatten", counting("flatten", module.flatten))
    monkeypatch.setattr(notation.Notation, "map_flat_words",
                        counting("map_flat_words", notation.Notation.map_flat_words))
    monkeypatch.setattr(notation.Notation, "map_words",
                        counting("map_words", notation.Notation.map_words))
    monkeypatch.setattr(notation, "detect_notation",
                        counting("detect", notation.detect_notation))
    monkeypatch.setattr(labelers, "detect_notation",
                        counting("detect", labelers.detect_notation))
    monkeypatch.setattr(Vocabulary, "encode", counting("encode", Vocabulary.encode))
    X, y = corpus["train"]
    Xt, yt = corpus["test"][:2]
    for labeler in ("crf", "perceptron"):
        calls.update(dict.fromkeys(calls, 0))
        dev = (Xt, yt) if labeler == "crf" else None
        tagger = Tagger(labeler=labeler, labeler_params=CRF if labeler == "crf" else None,
                        hmm="auto", hmm_params={"n_hmms": 2, "n_states": 5, "n_iter": 2},
                        random_state=0)
        tagger.fit(X, y, unlabeled=corpus["text"], dev=dev)
        # texts: training, unlabeled (and dev); only the unlabeled (and dev) are written in
        # the notation
        n_texts = 3 if dev else 2
        assert calls == {"flatten": n_texts, "map_flat_words": n_texts - 1, "map_words": 0,
                         "detect": 1, "encode": 0}, labeler
        assert tagger.labeler_.notation_ == tagger.notation_
        calls.update(dict.fromkeys(calls, 0))
        tags = tagger.predict(Xt)
        assert calls == {"flatten": 1, "map_flat_words": 1, "map_words": 0, "detect": 0,
                         "encode": 0}, labeler
        # the labeler's own door still converts what it is given, with the same result
        calls.update(dict.fromkeys(calls, 0))
        assert tagger.labeler_.predict(Xt, extra=tagger._extra(
            pipeline.TextBatch.of(Xt, tagger.notation_))) == tags
        assert calls["flatten"] == 2 and calls["map_flat_words"] == 2


def test_feature_keys_and_recipes_are_records():
    from hmmtl.transfer.pipeline import NEIGHBOUR_TAGS, RECIPES, FeatureKey, Recipe

    key = FeatureKey(2, "type_cluster")
    assert key.name == "hmm2.type_cluster"
    assert FeatureKey.parse(key.name) == key
    assert FeatureKey.parse("hmm12.posterior") == (12, "posterior", "hmm")
    for other in (NEIGHBOUR_TAGS, "case.profile", "hmmx.type", "hmm3"):
        assert FeatureKey.parse(other) is None
    recipe = Recipe.from_settings(dict(RECIPES["auto"], max_vocab=50, kbest=4))
    assert (recipe.n_hmms, recipe.n_states, recipe.neighbours, recipe.case_profile) == \
        (3, 128, 10, True)
    assert recipe.vocabulary == {"min_count": 2, "max_size": 50, "lowercase": True}
    assert recipe.hmm_params == {"n_iter": 30, "kbest": 4}
    assert recipe.labeler_params == {"c2": 0.3}
    assert Tagger(hmm=7)._recipe() == Recipe(
        1, 7, {"min_count": 1, "max_size": None, "lowercase": False}, {})
    assert Tagger(hmm=None)._recipe() is None
