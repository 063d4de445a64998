"""Word-vector clusters (:mod:`hmmtl.ner.vectors`): the co-occurrence counts against counting
by hand, the PPMI against its formula, the clusters of words that share their contexts, one
reading shared with the HMM, the file, and the recognizer that reads them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hmmtl import serialize
from hmmtl.ner import NamedEntityRecognizer
from hmmtl.ner.vectors import (WordVectorClusters, cooccurrence_table, ppmi_matrix,
                               ppmi_vectors)

from ner_helpers import documents


def _corpus(n: int, seed: int) -> list:
    """Sentences of two interchangeable animals, two interchangeable verbs and two places."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        animal = ["cat", "dog"][int(rng.integers(2))]
        verb = ["sat", "slept"][int(rng.integers(2))]
        place = ["Paris", "Rome"][int(rng.integers(2))]
        out.append(["the", animal, verb, "in", place, "."])
    return out


def test_cooccurrence_counts_are_those_counted_by_hand(monkeypatch):
    """Every (word, context at each position) pair within a sentence, in blocks of
    sentences smaller than the text (blocks of 7 tokens)."""
    from hmmtl.ner import vectors

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 9, 40)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n_types = 12
    ids = rng.integers(0, n_types, int(offsets[-1]))
    target = np.array([0, 1, -1, 2, 3, -1, 4, 5, 6, -1, 7, 8])
    context = np.array([0, -1, 1, 2, -1, 3, 0, 1, -1, 2, 3, 4])
    window, n_t, n_c = 2, 9, 5
    monkeypatch.setattr(vectors, "BLOCK_TOKENS", 7)
    table = cooccurrence_table(ids, offsets, target, context, window, n_t, n_c).toarray()
    shifts = [-2, -1, 1, 2]
    ref = np.zeros((n_t, len(shifts) * n_c))
    for s in range(len(lengths)):
        sent = ids[offsets[s]:offsets[s + 1]]
        for i, j in itertools.product(range(len(sent)), repeat=2):
            d = j - i
            if d in shifts and target[sent[i]] >= 0 and context[sent[j]] >= 0:
                ref[target[sent[i]], shifts.index(d) * n_c + context[sent[j]]] += 1
    np.testing.assert_array_equal(table, ref)
    assert table.sum() > 0


def test_ppmi_is_its_formula():
    from scipy import sparse

    counts = np.array([[4, 0, 1, 2], [0, 3, 3, 0], [1, 1, 0, 5]], float)
    got = ppmi_matrix(sparse.csr_matrix(counts), power=0.75).toarray()
    row = counts.sum(1, keepdims=True)
    col = counts.sum(0, keepdims=True) ** 0.75
    with np.errstate(divide="ignore"):
        pmi = np.log(counts / row / (col / col.sum()))
    np.testing.assert_allclose(got, np.where(counts > 0, np.maximum(pmi, 0), 0), rtol=1e-12)
    big = np.random.default_rng(0).poisson(2.0, (20, 30)).astype(float)
    vec = ppmi_vectors(sparse.csr_matrix(big), 5)
    assert vec.shape == (20, 5)
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), 1.0)
    # the rows' cosines approximate those of the PPMI rows' best rank-5 reconstruction
    u, s, _ = np.linalg.svd(ppmi_matrix(sparse.csr_matrix(big)).toarray())
    full = u[:, :5] * np.sqrt(s[:5])
    full /= np.linalg.norm(full, axis=1, keepdims=True)
    np.testing.assert_allclose(vec @ vec.T, full @ full.T, atol=1e-3)


def test_words_of_the_same_contexts_share_a_cluster():
    wc = WordVectorClusters(n_clusters=(3, 6), n_components=4, min_count=2).fit(_corpus(200, 0))
    table = wc.transform_types(["cat", "dog", "sat", "slept", "Paris", "Rome", "zebra"])
    assert table.dtype == np.int32 and table.shape == (7, 2)
    fine = table[:, 1]  # 9 words, 6 clusters: the three pairs and "the", "in", "."
    assert fine[0] == fine[1] and fine[2] == fine[3] and fine[4] == fine[5]
    assert len({fine[0], fine[2], fine[4]}) == 3
    coarse = table[:, 0]
    assert coarse[0] == coarse[1] and coarse[2] == coarse[3] and coarse[4] == coarse[5]
    assert (table[6] == -1).all()  # never seen
    assert wc.n_tokens_ == 1200
    counts = {w: sum(s.count(w) for s in _corpus(200, 0)) for w in wc.words_}
    assert [counts[w] for w in wc.words_] == sorted(counts.values(), reverse=True)


def test_cluster_ids_are_distinct_across_grains_and_draws():
    # a labeler reads the table as one categorical feature: cluster 0 of the coarse grain
    # must not be the same feature as cluster 0 of the fine one
    wc = WordVectorClusters(n_clusters=(3, 6), n_components=4, min_count=2, n_draws=2).fit(
        _corpus(200, 0))
    table = wc.transform_types(wc.words_)
    assert table.shape == (len(wc.words_), 4)
    bounds = np.concatenate([[0], np.cumsum([3, 3, 6, 6])])
    for c in range(4):
        assert bounds[c] <= table[:, c].min() and table[:, c].max() < bounds[c + 1]
        np.testing.assert_array_equal(table[:, c] - bounds[c], wc.labels_[:, c])
    assert wc.n_ids_ == 18
    # fewer words than clusters: a grain has as many ids as words
    small = WordVectorClusters(n_clusters=(2, 50), n_components=2, min_count=2).fit(
        _corpus(50, 1))
    n = len(small.words_)
    assert n < 50 and small.n_ids_ == 2 + n
    assert small.transform_types(small.words_)[:, 1].max() < small.n_ids_


def test_rare_words_get_no_cluster_and_too_little_text_is_refused():
    text = _corpus(50, 1) + [["hapax", "cat"]]
    wc = WordVectorClusters(n_clusters=(2,), n_components=2, min_count=2).fit(text)
    assert "hapax" not in wc.words_ and wc.transform_types(["hapax"])[0, 0] == -1
    with pytest.raises(ValueError, match="at least 2 words"):
        WordVectorClusters(min_count=5).fit([["a", "b"]])
    with pytest.raises(ValueError, match="n_clusters"):
        WordVectorClusters(n_clusters=64).fit(text)
    with pytest.raises(ValueError, match="window"):
        WordVectorClusters(window=0).fit(text)


def test_each_draw_of_a_grain_is_a_cut_of_its_own():
    wc = WordVectorClusters(n_clusters=(2, 5), n_components=3, min_count=2, n_draws=2,
                            random_state=4).fit(_corpus(100, 6))
    assert wc.labels_.shape == (len(wc.words_), 4)
    one = WordVectorClusters(n_clusters=(2, 5), n_components=3, min_count=2,
                             random_state=4).fit(_corpus(100, 6))
    np.testing.assert_array_equal(wc.labels_[:, [0, 2]], one.labels_)  # draw 0: the seed
    assert wc.labels_[:, :2].max() <= 1 and wc.labels_[:, 2:].max() <= 4


def test_a_stream_gives_what_a_list_gives():
    text = _corpus(120, 2)
    a = WordVectorClusters(n_clusters=(2, 4), n_components=3, min_count=2).fit(text)
    b = WordVectorClusters(n_clusters=(2, 4), n_components=3, min_count=2).fit_stream(
        iter(text))
    assert a.words_ == b.words_
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_learned_in_the_hmms_reading_they_are_the_clusters_of_their_own():
    """``learn_representations(word_vectors=...)`` fits them from the word ids the HMM
    reads: the same words and clusters as a reading of their own."""
    from hmmtl.studies.ner import learn_representations

    text = _corpus(150, 3)
    shared = WordVectorClusters(n_clusters=(2, 4), n_components=3, min_count=2)
    clusters, hmm, seconds = learn_representations(iter(text), 4, 3, 2, False,
                                                   word_vectors=shared)
    own = WordVectorClusters(n_clusters=(2, 4), n_components=3, min_count=2).fit(text)
    assert shared.words_ == own.words_ and "vectors" in seconds
    np.testing.assert_array_equal(shared.labels_, own.labels_)
    assert hmm.emission_prob_.shape[0] == 3 and clusters.words_


def test_the_file_keeps_them_and_refuses_what_does_not_fit(tmp_path):
    wc = WordVectorClusters(n_clusters=(2, 3), n_components=3, min_count=2).fit(_corpus(80, 4))
    path = tmp_path / "wc.hmmtl"
    serialize.save(wc, path)
    back = serialize.load(path)
    assert back.words_ == wc.words_ and back.get_params() == wc.get_params()
    np.testing.assert_array_equal(back.labels_, wc.labels_)
    words = ["cat", "Rome", "none"]
    np.testing.assert_array_equal(back.transform_types(words), wc.transform_types(words))
    arrays, meta = wc._get_state()
    bad = {"labels": arrays["labels"].astype(np.int64)}
    with pytest.raises(ValueError, match="int16 labels"):
        WordVectorClusters._from_state(bad, meta)
    over = {"labels": np.full_like(arrays["labels"], 5)}
    with pytest.raises(ValueError, match="outside"):
        WordVectorClusters._from_state(over, meta)
    twice = {**meta, "words": [meta["words"][0]] * len(meta["words"])}
    with pytest.raises(ValueError, match="twice"):
        WordVectorClusters._from_state(arrays, twice)


def _ner_data():
    X, y, _, _ = documents(40, 0)
    text = _corpus(60, 5) + X
    return X, y, text


def test_the_recognizer_reads_them_and_its_file_keeps_them(tmp_path):
    X, y, text = _ner_data()
    wc = WordVectorClusters(n_clusters=(2, 4), n_components=3, min_count=2).fit(text)
    params = dict(columns=(), n_folds=2, two_stage=False, document_features=False,
                  labeler_params={"max_iterations": 20})
    model = NamedEntityRecognizer(word_clusters=wc, **params).fit(X, y)
    assert "vec" in model.features_ and model.word_clusters_ is wc
    plain = NamedEntityRecognizer(**params).fit(X, y)
    assert "vec" not in plain.features_
    assert (model.stage1_.feature_space_.n_attributes_
            > plain.stage1_.feature_space_.n_attributes_)
    path = tmp_path / "ner.hmmtl"
    model.save(path)
    back = serialize.load(path)
    assert back.word_clusters_.words_ == wc.words_
    assert back.predict(X[:20]) == model.predict(X[:20])
    # a recognizer without them writes its file as before: no part, no parameter
    _, meta = plain._get_state()
    assert "word_clusters" not in meta["params"]
    assert not any("word_clusters" in str(k) for k in meta["children"])


def test_the_recognizer_learns_them_in_fit_from_its_text():
    X, y, text = _ner_data()
    todo = WordVectorClusters(n_clusters=(2,), n_components=2, min_count=2)
    model = NamedEntityRecognizer(word_clusters=todo, columns=(), n_folds=2, two_stage=False,
                                  labeler_params={"max_iterations": 10}).fit(
        X, y, unlabeled=text[:60])
    assert not hasattr(todo, "labels_")  # the parameter is left as given
    ref = WordVectorClusters(n_clusters=(2,), n_components=2, min_count=2).fit(text[:60] + X)
    assert model.word_clusters_.words_ == ref.words_
    np.testing.assert_array_equal(model.word_clusters_.labels_, ref.labels_)
    with pytest.raises(TypeError, match="word_clusters"):
        NamedEntityRecognizer(word_clusters=3, columns=(), n_folds=2).fit(X, y)


def test_the_recipe_learns_them_with_the_clusters_and_the_hmm(monkeypatch):
    """A recipe with ``"word_vectors"`` (:data:`hmmtl.studies.ner.RECIPES`): the command
    line's representations learn them in the one reading of the text, its recognizer reads
    them; a recipe without them learns none."""
    import argparse

    from hmmtl.cli import _ner_recipe
    from hmmtl.studies import ner as study

    monkeypatch.setitem(study.RECIPES["eng"], "clusters", 4)
    monkeypatch.setitem(study.RECIPES["eng"], "hmm_states", 3)
    monkeypatch.setattr(study, "HMM_ITERATIONS", 2)
    train, text = _corpus(30, 7), _corpus(90, 8)
    args = argparse.Namespace(quiet=True, seed=0, max_iter=None, c2=None)
    monkeypatch.setitem(study.RECIPES["eng"], "word_vectors", None)
    assert _ner_recipe.representations(train, text, args)[2] is None
    spec = {"n_clusters": [2, 3], "n_components": 3, "min_count": 2}
    monkeypatch.setitem(study.RECIPES["eng"], "word_vectors", spec)
    learned = _ner_recipe.representations(train, text, args)
    own = WordVectorClusters(n_clusters=(2, 3), n_components=3, min_count=2).fit(train + text)
    assert learned[2].words_ == own.words_
    np.testing.assert_array_equal(learned[2].labels_, own.labels_)
    model = _ner_recipe.recognizer(learned, {}, None, None, args)
    assert model.word_clusters is learned[2]
    assert study.word_vectors("eng", scale=0.1).n_clusters == (2, 2)


def test_the_study_gives_them_to_its_recognizers_and_measures_them(monkeypatch):
    """The study's recognizers read the word-vector clusters of its representations; its
    ablation leaves them out in turn only when the recipe has them."""
    from hmmtl.studies import ner as study

    wc = WordVectorClusters(n_clusters=(2,), n_components=2, min_count=2).fit(_corpus(40, 9))
    model = study._recognizer("eng", {}, (None, None, wc), None)
    assert model.word_clusters is wc
    assert study._recognizer("eng", {}, (None, None), None).word_clusters is None
    assert study._recognizer("eng", {"word_clusters": None}, (None, None, wc),
                             None).word_clusters is None
    seen = []
    monkeypatch.setattr(study, "_fit", lambda model, *a: seen.append(model.word_clusters))
    monkeypatch.setattr(study, "_evaluate", lambda *a: {"f1": 0.5})
    cfg = {"max_iterations": 1}
    monkeypatch.setitem(study.RECIPES["eng"], "word_vectors", None)
    rows = study._ablation("eng", {"train": None, "dev": None}, (None, None, wc), None, None,
                           cfg, 0.5, lambda m: None)
    assert "word-vector clusters" not in [r["part"] for r in rows]
    monkeypatch.setitem(study.RECIPES["eng"], "word_vectors", {"n_clusters": [2]})
    seen.clear()
    rows = study._ablation("eng", {"train": None, "dev": None}, (None, None, wc), None, None,
                           cfg, 0.5, lambda m: None)
    parts = [r["part"] for r in rows]
    assert "word-vector clusters" in parts
    # every recognizer reads them but the one that leaves them out
    assert seen.count(None) == 1 and seen.count(wc) == len(seen) - 1
