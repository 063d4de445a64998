"""MultiTaskHMM, ASO and the multi-task experiment."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from hmmtl.transfer.multitask_hmm import MultiTaskHMM


# ----------------------------------------------------------------------------- fixtures
def _sample_corpus(n_sent, rng, length=8):
    """Sentences from a 6-state HMM.  State z emits words from its own small set (with some
    noise), task "coarse" labels z // 2 and task "parity" labels z % 2."""
    K = 6
    trans = rng.dirichlet(np.ones(K) * 0.5, size=K)
    start = np.full(K, 1.0 / K)
    words = [[f"w{z}_{i}" for i in range(5)] for z in range(K)]
    X, coarse, parity = [], [], []
    for _ in range(n_sent):
        z = rng.choice(K, p=start)
        sent, c, p = [], [], []
        for _ in range(length):
            if rng.random() < 0.1:
                sent.append(f"w{rng.integers(K)}_{rng.integers(5)}")
            else:
                sent.append(words[z][rng.integers(5)])
            c.append(f"C{z // 2}")
            p.append("even" if z % 2 == 0 else "odd")
            z = rng.choice(K, p=trans[z])
        X.append(sent)
        coarse.append(c)
        parity.append(p)
    return X, coarse, parity


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    # fixed transition matrix across calls: sample once, then split
    X, coarse, parity = _sample_corpus(400, rng)
    return X, coarse, parity


# ----------------------------------------------------------------------------- inference
def test_score_matches_brute_force_enumeration():
    """log p(x, y_given) = log sum over all state paths of the factored joint."""
    X = [["a", "b", "a"], ["b", "c"]]
    y = {"t1": [["P", "Q", "P"], None], "t2": [None, ["u", "v"]]}
    m = MultiTaskHMM(n_states=3, n_iter=2, init="random", random_state=0).fit(X, y)
    sent = ["a", "c", "b"]
    given = {"t1": [["P", None, "Q"]], "t2": [[None, "v", None]]}
    w = m.vocabulary_.encode_tokens(sent)
    l1 = [m.labelsets_["t1"].labels.index("P"), None, m.labelsets_["t1"].labels.index("Q")]
    l2 = [None, m.labelsets_["t2"].labels.index("v"), None]
    total = 0.0
    for path in itertools.product(range(3), repeat=3):
        p = m.start_prob_[path[0]]
        for i, z in enumerate(path):
            if i:
                p *= m.transition_prob_[path[i - 1], z]
            p *= m.emission_prob_[z, w[i]]
            if l1[i] is not None:
                p *= m.label_prob_["t1"][z, l1[i]]
            if l2[i] is not None:
                p *= m.label_prob_["t2"][z, l2[i]]
        total += p
    assert m.score([sent], given) == pytest.approx(np.log(total), rel=1e-10)
    # with no labels given, the labels are summed out: p(x) alone
    total_x = 0.0
    for path in itertools.product(range(3), repeat=3):
        p = m.start_prob_[path[0]] * m.emission_prob_[path[0], w[0]]
        for i in range(1, 3):
            p *= m.transition_prob_[path[i - 1], path[i]] * m.emission_prob_[path[i], w[i]]
        total_x += p
    assert m.score([sent]) == pytest.approx(np.log(total_x), rel=1e-10)


# ----------------------------------------------------------------------------- EM
@pytest.mark.parametrize("init", ["labels", "random"])
def test_em_never_lowers_the_map_objective(corpus, init):
    X, coarse, parity = corpus
    n = len(X)
    y = {"coarse": [c if i < n // 3 else None for i, c in enumerate(coarse)],
         "parity": [p if n // 3 <= i < 2 * n // 3 else None for i, p in enumerate(parity)]}
    m = MultiTaskHMM(n_states=8, n_iter=15, tol=-np.inf, init=init, random_state=3).fit(X, y)
    h = np.asarray(m.monitor_.history)
    assert len(h) == 15
    assert np.all(np.diff(h) >= -1e-8 * np.abs(h[1:])), np.diff(h)
    assert h[-1] > h[0]


def test_one_task_with_k_equal_to_labels_is_the_supervised_hmm(corpus):
    """Labels fully given, K = number of labels: the states are the labels and EM returns the
    relative counts (plus pseudocounts) of the supervised HMM."""
    X, coarse, _ = corpus
    X, coarse = X[:150], coarse[:150]
    m = MultiTaskHMM(n_states=3, n_iter=3, label_prior=0.0, emission_prior=0.5,
                     transition_prior=1.0, start_prior=1.0, random_state=0)
    m.fit(X, {"coarse": coarse})
    labels = m.labelsets_["coarse"].labels
    assert m.state_labels_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(m.label_prob_["coarse"], np.eye(3))
    # hand counts
    V = len(m.vocabulary_)
    lab = [[labels.index(c) for c in s] for s in coarse]
    start = np.zeros(3)
    trans = np.zeros((3, 3))
    emit = np.zeros((3, V))
    for sent, ls in zip(X, lab):
        start[ls[0]] += 1
        for a, b in zip(ls[:-1], ls[1:]):
            trans[a, b] += 1
        for w, z in zip(m.vocabulary_.encode_tokens(sent), ls):
            emit[z, w] += 1
    np.testing.assert_allclose(m.start_prob_, (start + 1) / (start + 1).sum(), rtol=1e-10)
    np.testing.assert_allclose(m.transition_prob_, (trans + 1) / (trans + 1).sum(1, keepdims=True),
                               rtol=1e-10)
    np.testing.assert_allclose(m.emission_prob_,
                               (emit + 0.5) / (emit + 0.5).sum(1, keepdims=True), rtol=1e-10)
    # Viterbi decoding of the words is then the supervised HMM tagger's Viterbi decoding
    from hmmtl.inference import viterbi

    ids = m.vocabulary_.encode_tokens(X[0])
    ref = viterbi(np.log(m.emission_prob_.T[ids]), np.log(m.transition_prob_), [0, len(ids)],
                  start=np.log(m.start_prob_)).path
    assert m.predict([X[0]], "coarse", decode="viterbi")[0] == [labels[i] for i in ref]


def test_matches_categorical_hmm_supervised_fit(corpus):
    """Same data, same priors: the same parameters as hmmtl.CategoricalHMM's supervised fit."""
    from hmmtl.hmm import CategoricalHMM

    X, coarse, _ = corpus
    X, coarse = X[:150], coarse[:150]
    priors = dict(start_prior=0.3, transition_prior=0.2, emission_prior=0.05)
    ref = CategoricalHMM(n_states=3, **priors).fit(X, coarse)
    m = MultiTaskHMM(n_states=3, n_iter=2, label_prior=0.0, **priors).fit(X, {"coarse": coarse})
    assert ref.labels_.labels == m.labelsets_["coarse"].labels
    assert ref.vocabulary_ == m.vocabulary_
    np.testing.assert_allclose(m.start_prob_, ref.start_prob_, rtol=1e-10)
    np.testing.assert_allclose(m.transition_prob_, ref.transition_prob_, rtol=1e-10)
    np.testing.assert_allclose(m.emission_prob_, ref.emission_prob_, rtol=1e-10)
    test = corpus[0][150:200]
    assert m.predict(test, "coarse", decode="viterbi") == ref.predict(test)


# ----------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("decode", ["posterior", "viterbi"])
def test_constrained_decoding_keeps_given_labels(corpus, decode):
    X, coarse, parity = corpus
    m = MultiTaskHMM(n_states=8, n_iter=5, random_state=0).fit(
        X[:200], {"coarse": coarse[:200], "parity": [None] * 100 + parity[100:200]})
    test = X[200:260]
    rng = np.random.default_rng(5)
    # give a label that is often *wrong* (a random one) at random positions: it must stay
    given = [[rng.choice(["C0", "C1", "C2"]) if rng.random() < 0.3 else None for _ in s]
             for s in test]
    pred = m.predict(test, "coarse", given={"coarse": given}, decode=decode)
    kept = [(g, p) for gs, ps in zip(given, pred) for g, p in zip(gs, ps) if g is not None]
    assert len(kept) > 50
    assert all(g == p for g, p in kept)
    proba = m.predict_proba(test, "coarse", given={"coarse": given})
    flat_given = [g for gs in given for g in gs]
    labels = m.labelsets_["coarse"].labels
    for i, g in enumerate(flat_given):
        if g is not None:
            assert proba[i, labels.index(g)] == 1.0
    np.testing.assert_allclose(proba.sum(1), 1.0)
    # the given labels inform the other positions too (they are not just pasted on)
    free = m.predict_proba(test, "coarse")
    open_pos = np.array([g is None for g in flat_given])
    assert np.abs(proba - free)[open_pos].max() > 1e-3


def test_predicts_a_task_from_another_tasks_data_only():
    """Corpus A carries only "coarse" labels, corpus B only "parity" labels.  The shared states
    let the model predict parity on A's sentences (and coarse on B's) from the words."""
    rng = np.random.default_rng(11)
    X, coarse, parity = _sample_corpus(600, rng)
    a, b, test = slice(0, 250), slice(250, 500), slice(500, 600)
    y = {"coarse": coarse[a] + [None] * 250, "parity": [None] * 250 + parity[b]}
    m = MultiTaskHMM(n_states=6, n_iter=30, init="labels", init_task="coarse",
                     random_state=0).fit(X[:500], y)

    def accuracy(pred, gold):
        return np.mean([p == g for ps, gs in zip(pred, gold) for p, g in zip(ps, gs)])

    acc_parity = accuracy(m.predict(X[test], "parity"), parity[test])
    acc_coarse = accuracy(m.predict(X[test], "coarse"), coarse[test])
    # majority baselines are about 0.5 (parity) and 0.33 (coarse)
    assert acc_parity > 0.85, acc_parity
    assert acc_coarse > 0.85, acc_coarse
    # and on the training sentences that never had parity labels
    acc_a = accuracy(m.predict(X[a], "parity", given={"coarse": coarse[a]}), parity[a])
    assert acc_a > 0.85, acc_a


# ----------------------------------------------------------------------------- state
def test_state_round_trip(tmp_path, corpus):
    X, coarse, parity = corpus
    m = MultiTaskHMM(n_states=7, n_iter=3, random_state=2).fit(
        X[:100], {"coarse": coarse[:100], "parity": [None] * 50 + parity[50:100]})
    path = tmp_path / "mt.hmmtl"
    m.save(path)
    m2 = MultiTaskHMM.load(path)
    assert m2.get_params() == m.get_params()
    assert m2.tasks_ == m.tasks_ and m2.vocabulary_ == m.vocabulary_
    for t in m.tasks_:
        np.testing.assert_array_equal(m2.label_prob_[t], m.label_prob_[t])
    np.testing.assert_array_equal(m2.emission_prob_, m.emission_prob_)
    test = X[100:130] + [["never", "seen", "words"]]
    for t in m.tasks_:
        np.testing.assert_array_equal(m2.predict_proba(test, t), m.predict_proba(test, t))
        assert m2.predict(test, t, decode="viterbi") == m.predict(test, t, decode="viterbi")
    assert m2.monitor_.history == m.monitor_.history
    # scikit-learn's contract: clone gives an unfitted copy with the same parameters
    from sklearn.base import clone

    import hmmtl

    assert hmmtl.MultiTaskHMM is MultiTaskHMM
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "emission_prob_")


def test_bad_input_messages(corpus):
    X, coarse, _ = corpus
    with pytest.raises(ValueError, match="task 'coarse' has 3 label sequences but there are"):
        MultiTaskHMM(n_states=3).fit(X[:5], {"coarse": coarse[:3]})
    with pytest.raises(ValueError, match="has 3 labels but n_states = 2"):
        MultiTaskHMM(n_states=2, init_task="coarse").fit(X[:5], {"coarse": coarse[:5]})
    m = MultiTaskHMM(n_states=3, n_iter=1).fit(X[:5], {"coarse": coarse[:5]})
    with pytest.raises(ValueError, match="unknown task 'ner'"):
        m.predict(X[:2], "ner")
    with pytest.raises(ValueError, match="labels are not in the label set"):
        m.predict(X[:1], "coarse", given={"coarse": [["ZZ"] * len(X[0])]})


# ----------------------------------------------------------------------------- ASO
def test_aso_projection_keeps_what_the_tasks_need(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from hmmtl.transfer.aso import AlternatingStructureOptimization

    rng = np.random.default_rng(4)
    X, coarse, parity = _sample_corpus(500, rng)
    aso = AlternatingStructureOptimization(n_components=6, n_rounds=2, window=0, min_count=1,
                                           random_state=0)
    aso.fit(X[:400], {"coarse": coarse[:200] + [None] * 200,
                      "parity": [None] * 200 + parity[200:400]})
    # 3 + 1 problems (a two-label task is one problem): at most 4 shared directions,
    # orthonormal
    assert aso.theta_.shape[0] == 4
    np.testing.assert_allclose(aso.theta_ @ aso.theta_.T, np.eye(4), atol=1e-8)
    Z = aso.transform(X)
    assert Z.shape == (sum(map(len, X)), 4) and np.isfinite(Z).all()
    # four numbers per token suffice to predict both tasks on held-out sentences
    n_train = sum(map(len, X[:400]))
    for labels in (coarse, parity):
        flat = np.array([t for s in labels for t in s])
        clf = LogisticRegression(max_iter=500).fit(Z[:n_train], flat[:n_train])
        assert clf.score(Z[n_train:], flat[n_train:]) > 0.85
    # unseen words get a representation too, and the model round-trips
    from hmmtl import serialize

    serialize.save(aso, tmp_path / "aso.hmmtl")
    again = serialize.load(tmp_path / "aso.hmmtl")
    test = X[400:] + [["never", "seen"]]
    np.testing.assert_array_equal(again.transform(test), aso.transform(test))


def test_aso_auxiliary_problems_learn_word_classes_from_unlabeled_text(tmp_path):
    """With no labels at all, the auxiliary problems (which word stands here, which words
    stand beside it) on unlabeled text give the words of one hidden state nearby
    projections: each word's nearest other word is from its own state."""
    from hmmtl import serialize
    from hmmtl.transfer.aso import AlternatingStructureOptimization

    rng = np.random.default_rng(7)
    X, coarse, _ = _sample_corpus(1500, rng)
    aso = AlternatingStructureOptimization(n_auxiliary=40, auxiliary_components=6, window=1,
                                           templates=["lower"], min_count=1,
                                           max_auxiliary_tokens=None, random_state=0)
    aso.fit(X[:10], {}, unlabeled=X)
    assert aso.theta_.shape[0] == 0 and set(aso.auxiliary_theta_) == {"context", "word"}
    assert len(aso.auxiliary_words_) == 30          # every word of the corpus is frequent
    words = [f"w{z}_{i}" for z in range(6) for i in range(5)]
    Z = aso.transform([[w] for w in words])
    assert Z.shape == (30, 12)
    word_view = Z[:, 6:]                            # the projection of the word's own features
    unit = word_view / np.linalg.norm(word_view, axis=1, keepdims=True)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    nearest = sim.argmax(axis=1)
    same = np.mean([words[i][1] == words[j][1] for i, j in enumerate(nearest)])
    assert same >= 0.9
    # labels add their own projection in front; output_scale scales everything
    both = AlternatingStructureOptimization(n_components=3, n_auxiliary=40,
                                            auxiliary_components=6, templates=["lower"],
                                            min_count=1, output_scale=0.5, random_state=0)
    both.fit(X[:200], {"coarse": coarse[:200]}, unlabeled=X)
    Zb = both.transform(X[200:260])
    assert Zb.shape[1] == 3 + 12
    np.testing.assert_allclose(both.transform(X[:200]).std(axis=0), 0.5, atol=1e-6)
    serialize.save(both, tmp_path / "aso.hmmtl")
    again = serialize.load(tmp_path / "aso.hmmtl")
    np.testing.assert_array_equal(again.transform(X[200:260]), Zb)
    with pytest.raises(TypeError, match="non-empty dict"):
        AlternatingStructureOptimization().fit(X[:5], {})
    with pytest.raises(ValueError, match="needs window >= 1"):
        AlternatingStructureOptimization(n_auxiliary=5, window=0).fit(X[:5], {})


# ----------------------------------------------------------------------------- the study
def _most_frequent_tag_baseline(data_dir, config) -> dict:
    """Per task, the test score of tagging every word with its most frequent training tag."""
    from collections import Counter, defaultdict

    from hmmtl.studies.multitask import TASKS, _score, load_multi_task_data

    data = load_multi_task_data(
        data_dir, **{k: config[k] for k in ("max_train_sentences", "max_text_sentences",
                                            "max_eval_sentences")})
    out = {}
    for task in TASKS:
        counts: dict = defaultdict(Counter)
        for words, tags in zip(data["train"]["words"], data["train"][task]):
            for w, t in zip(words, tags):
                counts[w][t] += 1
        overall = Counter(t for tags in data["train"][task] for t in tags).most_common(1)[0][0]
        best = {w: c.most_common(1)[0][0] for w, c in counts.items()}
        pred = [[best.get(w, overall) for w in words] for words in data["test"]["words"]]
        out[task] = _score(task, data["test"][task], pred)["score"]
    return out


@pytest.mark.slow
def test_multi_task_study_tiny_run_fills_its_table(data_dir, tmp_path):
    from hmmtl.studies.multitask import TASKS, run_multi_task

    res = run_multi_task(data_dir, tmp_path, preset="tiny", progress=False)
    table = res["table"]
    settings = [row["setting"] for row in table]
    assert settings[0] == "single" and "mt-hmm (direct)" in settings and len(settings) >= 3
    for row in table:
        for task in TASKS:
            for split in ("dev", "test"):
                v = row[f"{task}_{split}"]
                assert isinstance(v, float) and 0.0 <= v <= 1.0, (row["setting"], task, split, v)
    # a CRF that learned something: better than a baseline that tags each test word with
    # its most frequent tag in the same training sentences (unseen words: the most frequent
    # tag of all), scored the same way (NER F1: 0.52 against 0.29 at the tiny preset).
    # Chunks are left out: 10 iterations on 300 sentences come close to that baseline there
    single = table[0]
    baseline = _most_frequent_tag_baseline(data_dir, res["config"])
    for task in ("pos", "ner"):
        assert single[f"{task}_test"] > baseline[task], (task, single, baseline)
    assert single["chunk_test"] > 0.5
    assert set(res["selected"]) == set(TASKS)
    assert all(s != "single" for s in res["selected"].values())
    for name in ("multitask.md", "multitask.csv", "multitask.json", "multitask.png"):
        assert (tmp_path / name).stat().st_size > 0
    doc = json.loads((tmp_path / "multitask.json").read_text())
    assert len(doc["records"]) == len(table) * len(TASKS) * 2
    md = (tmp_path / "multitask.md").read_text()
    assert "| single |" in md and "NER F1 (testb)" in md


@pytest.mark.parametrize("overrides, message", [
    ({"shared_labels": "some"}, "shared_labels must be 'all' or 'other', got 'some'"),
    ({"settings": ("mt-hmm",)}, "settings must include 'single'"),
    ({"settings": ("single", "hmm")}, "settings must include 'single' and come from"),
    ({"n_states": 3}, r"unknown setting\(s\) \['n_states'\]"),
])
def test_multi_task_study_checks_its_settings_before_reading_data(tmp_path, overrides, message):
    """A bad setting fails at once, before any corpus is read (the folder is empty)."""
    from hmmtl.studies.multitask import run_multi_task

    err = TypeError if "n_states" in overrides else ValueError
    with pytest.raises(err, match=message):
        run_multi_task(tmp_path, tmp_path / "out", preset="tiny", progress=False, **overrides)
    assert not (tmp_path / "out").exists()
