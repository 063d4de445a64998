"""LinearChainCRF and AveragedPerceptron: gradients, brute force, constraints, extras, state,
and accuracy floors on the real corpora."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from hmmtl.io import iob1_to_iob2
from hmmtl.crf import (TASK_DEFAULTS, AveragedPerceptron, LinearChainCRF, constraint_masks,
                       detect_scheme)
from hmmtl.crf.labelers import _Problem
from hmmtl.data import flatten
from hmmtl.inference import forward_backward

from crf_helpers import WORDS, brute_force, central_differences, random_corpus


def _random_extra(rng, X):
    n = sum(map(len, X))
    return {"state": rng.integers(-1, 4, n),
            "post": (rng.integers(0, 3, (n, 2)), rng.random((n, 2))),
            "vec": rng.normal(size=(n, 2)),
            "pos": [[str(t) for t in rng.integers(0, 2, len(s))] for s in X]}


# ----------------------------------------------------------------------------- gradient
@pytest.fixture(params=["gathered", "dense"])
def slot_route(request, monkeypatch):
    """Per-slot sums through the slot -> token transpose, or (every slot counted as dense)
    token by token."""
    if request.param == "dense":
        monkeypatch.setattr(_Problem, "DENSE_SLOT_TOKENS", 1)
    return request.param


@pytest.mark.parametrize("with_extra", [False, True])
def test_gradient_matches_central_finite_differences(with_extra, slot_route):
    rng = np.random.default_rng(0)
    X, y = random_corpus(rng)
    extra = _random_extra(rng, X) if with_extra else None
    crf = LinearChainCRF(c2=0.3, templates=["lower", "suffix"], window=1)
    prob = crf._build_problem(X, y, extra)
    K = len(crf.labels_)
    n_pairs = crf.pair_label_.shape[0]
    theta = rng.normal(scale=0.5, size=n_pairs + K * K + 2 * K)
    f, g = crf._objective(theta, prob, n_pairs, K)
    assert math.isfinite(f)
    idx = rng.choice(theta.size, size=min(40, theta.size), replace=False)
    # always include transitions, start and end
    idx = np.unique(np.concatenate([idx, np.arange(n_pairs, theta.size)]))
    num = central_differences(lambda t: crf._objective(t, prob, n_pairs, K, want_grad=False),
                              theta, idx)
    np.testing.assert_allclose(g[idx], num, rtol=1e-5, atol=1e-6)


def test_slot_totals_are_the_token_slot_incidence_product(monkeypatch):
    """Per-slot sums of token weights, whichever route each slot takes, equal A^T W with A
    the value-weighted token x slot incidence matrix."""
    rng = np.random.default_rng(3)
    X, y = random_corpus(rng, n_sent=40)
    extra = _random_extra(rng, X)
    monkeypatch.setattr(_Problem, "DENSE_SLOT_TOKENS", 12)  # some slots of each route
    crf = LinearChainCRF(templates=["lower", "suffix"], window=1)
    prob = crf._build_problem(X, y, extra)
    assert 0 < prob.dense_slots.shape[0] < prob.layout.n_slots
    lay = prob.layout
    weights = rng.normal(size=(lay.tok_slot.shape[0], 3))
    A = np.zeros((lay.tok_slot.shape[0], lay.n_slots))
    for i, (slots, vals) in enumerate(zip(lay.tok_slot, lay.tok_val)):
        for s, v in zip(slots, vals):
            if s >= 0:
                A[i, s] += v
    np.testing.assert_allclose(prob.slot_totals(weights), A.T @ weights, atol=1e-12)


# ----------------------------------------------------------------------------- brute force
def _fitted_random_crf(seed=1, labels=("A", "B", "C")):
    rng = np.random.default_rng(seed)
    X, y = random_corpus(rng, labels=labels)
    crf = LinearChainCRF(max_iterations=5, templates=["lower", "suffix"], window=1).fit(X, y)
    crf.coef_ = rng.normal(size=crf.coef_.shape)
    K = len(crf.labels_)
    crf.transition_ = rng.normal(size=(K, K))
    crf.start_ = rng.normal(size=K)
    crf.end_ = rng.normal(size=K)
    return crf, rng


def test_log_partition_marginals_and_probabilities_against_brute_force():
    crf, _ = _fitted_random_crf()
    sent = ["John", "runs", "in", "Paris"]
    flat, off = flatten([sent])
    unary = crf._unary(crf.feature_space_.transform(flat, off))
    log_z, marg, scores = brute_force(unary, crf.transition_, crf.start_, crf.end_)
    r = forward_backward(unary, crf.transition_, off, crf.start_, crf.end_)
    assert r.log_z[0] == pytest.approx(log_z, rel=1e-10)
    np.testing.assert_allclose(r.marginals, marg, atol=1e-10)
    np.testing.assert_allclose(crf.predict_marginals([sent])[0], marg, atol=1e-10)
    # sequence probabilities: the Viterbi path and any given path
    best = max(scores, key=scores.get)
    assert crf.predict([sent])[0] == crf.labels_.decode(best)
    assert crf.predict_proba([sent])[0] == pytest.approx(np.exp(scores[best] - log_z))
    some = (2, 0, 1, 1)
    p = crf.sequence_probability([sent], [crf.labels_.decode(some)])[0]
    assert p == pytest.approx(np.exp(scores[some] - log_z))


# ----------------------------------------------------------------------------- constraints
def _valid(tags, scheme):
    prev = "O"
    for t in tags:
        p, typ = (t[0], t[2:]) if t != "O" else ("O", None)
        if scheme == "BIO":
            if p == "I" and not (prev != "O" and prev[2:] == typ):
                return False
        else:
            inside = prev[0] in "BI" and prev != "O"
            if inside and not (p in "IE" and prev[2:] == typ):
                return False
            if not inside and p in "IE":
                return False
        prev = t
    return scheme == "BIO" or prev == "O" or prev[0] in "ES"


BIO = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
BIOES = ("O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC")


@pytest.mark.parametrize("scheme,labels", [("BIO", BIO), ("BIOES", BIOES)])
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), words=st.lists(st.sampled_from(WORDS), min_size=1,
                                                   max_size=7))
def test_constrained_decoding_never_emits_an_invalid_sequence(scheme, labels, seed, words):
    crf, rng = _CONSTRAINED[scheme]
    rng = np.random.default_rng(seed)
    crf.coef_ = rng.normal(scale=3.0, size=crf.coef_.shape)
    K = len(crf.labels_)
    crf.transition_ = rng.normal(scale=3.0, size=(K, K))
    crf.start_ = rng.normal(scale=3.0, size=K)
    crf.end_ = rng.normal(scale=3.0, size=K)
    tags = crf.predict([words])[0]
    assert _valid(tags, scheme), tags
    m = crf.predict_marginals([words])[0]
    _, ok_s, _ = constraint_masks(crf.labels_.labels, scheme)
    assert np.all(m[0, ~ok_s] == 0)


def _constrained_model(scheme, labels):
    rng = np.random.default_rng(5)
    X, y = random_corpus(rng, n_sent=6, labels=labels)
    return LinearChainCRF(max_iterations=1, constraint=scheme, window=0,
                          templates=["lower"]).fit(X, y), rng


_CONSTRAINED = {"BIO": _constrained_model("BIO", BIO), "BIOES": _constrained_model("BIOES", BIOES)}


def test_constraint_auto_detects_the_scheme():
    iob2 = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    iob1 = [["I-PER", "I-PER", "O"], ["O", "I-LOC"]]
    bioes = [["B-PER", "E-PER", "O"], ["S-LOC"]]
    labs = lambda ys: sorted({t for s in ys for t in s})  # noqa: E731
    assert detect_scheme(iob2, labs(iob2)) == "BIO"
    assert detect_scheme(iob1, labs(iob1)) is None
    assert detect_scheme(bioes, labs(bioes)) == "BIOES"
    assert detect_scheme([["NN", "VB"]], ["NN", "VB"]) is None
    X = [["a", "b", "c"], ["d", "e"]]
    assert LinearChainCRF(constraint="auto", max_iterations=1).fit(X, iob2).constraint_ == "BIO"
    with pytest.raises(ValueError, match="constraint"):
        LinearChainCRF(constraint="IOB9", max_iterations=1).fit(X, iob2)


# ----------------------------------------------------------------------------- training
def test_training_is_deterministic():
    rng = np.random.default_rng(3)
    X, y = random_corpus(rng, n_sent=30)
    a = LinearChainCRF(max_iterations=15, random_state=0).fit(X, y)
    b = LinearChainCRF(max_iterations=15, random_state=0).fit(X, y)
    assert np.array_equal(a.coef_, b.coef_) and np.array_equal(a.transition_, b.transition_)
    p = AveragedPerceptron(n_epochs=3, random_state=7).fit(X, y)
    q = AveragedPerceptron(n_epochs=3, random_state=7).fit(X, y)
    assert np.array_equal(p.coef_, q.coef_) and np.array_equal(p.transition_, q.transition_)


def _copy_task(n_sent=60, seed=0):
    """Label = a function of the word: learnable from features alone."""
    rng = np.random.default_rng(seed)
    X = [[WORDS[i] for i in rng.integers(0, len(WORDS), rng.integers(2, 7))]
         for _ in range(n_sent)]
    y = [["N" if w in ("dog", "cat", "Paris", "John") else "V" if w in ("runs", "sleeps")
          else "F" for w in s] for s in X]
    return X, y


@pytest.mark.parametrize("cls,kw", [(LinearChainCRF, {"max_iterations": 50}),
                                    (AveragedPerceptron, {"n_epochs": 5, "random_state": 0})])
def test_learns_and_tags_unseen_words_through_their_features(cls, kw):
    X, y = _copy_task()
    model = cls(**kw).fit(X, y)
    assert model.score(X, y) == 1.0
    # unseen words: defined features (shape / suffix), a valid label each
    tags = model.predict([["Zorro", "xyzzy", "42", "runs"]])[0]
    assert len(tags) == 4 and set(tags) <= {"N", "V", "F"} and tags[3] == "V"
    # NLTK interface
    assert model.tag(["the", "dog"]) == [("the", "F"), ("dog", "N")]
    assert model.tag_sents([["cat"], ["runs"]]) == [[("cat", "N")], [("runs", "V")]]
    gold = [list(zip(s, t)) for s, t in zip(X[:5], y[:5])]
    assert model.accuracy(gold) == 1.0 == model.evaluate(gold)


@pytest.mark.parametrize("cls", [LinearChainCRF, AveragedPerceptron])
def test_unknown_labels_at_score_time_count_as_errors(cls):
    X, y = _copy_task(20)
    model = cls(**({"max_iterations": 5} if cls is LinearChainCRF else {"n_epochs": 2,
                                                                        "random_state": 0}))
    model.fit(X, y)
    test = [["the", "dog"], ["cat"]]
    pred = model.predict(test)
    # one tag the model never saw: that token is wrong, the others count as usual
    gold = [[pred[0][0], "ZZ"], list(pred[1])]
    assert model.score(test, gold) == pytest.approx(2 / 3)
    assert model.score([["the"]], [["ZZ"]]) == 0.0
    with pytest.raises(ValueError, match="1 tokens but 2 labels"):
        model.score([["the"]], [["N", "N"]])
    with pytest.raises(ValueError, match="no sentences to score"):
        model.score([], [])
    with pytest.raises(TypeError, match=r"y\[0\]\[0\] is the int 3"):
        model.score([["the"]], [[3]])
    with pytest.raises(TypeError, match="list of token lists"):
        model.predict(["the", "dog"])


@pytest.mark.parametrize("kind", ["categorical", "weighted", "dense", "strings"])
def test_informative_extras_change_predictions(kind):
    """Words are noise; the label is only in the extra feature."""
    rng = np.random.default_rng(1)
    X = [[WORDS[i] for i in rng.integers(0, len(WORDS), rng.integers(2, 6))] for _ in range(80)]
    n = sum(map(len, X))
    z = rng.integers(0, 3, n)
    y_flat = np.array(["A", "B", "C"])[z]
    off = np.cumsum([0] + [len(s) for s in X])
    y = [y_flat[a:b].tolist() for a, b in zip(off[:-1], off[1:])]
    if kind == "categorical":
        extra = {"h": z}
    elif kind == "weighted":
        extra = {"h": (np.stack([z, (z + 1) % 3], 1), np.tile([[0.9, 0.1]], (n, 1)))}
    elif kind == "dense":
        extra = {"h": np.eye(3)[z] * 2.0}
    else:
        extra = {"h": [[f"t{v}" for v in z[a:b]] for a, b in zip(off[:-1], off[1:])]}
    plain = LinearChainCRF(max_iterations=20).fit(X, y)
    rich = LinearChainCRF(max_iterations=20, extra_window=(0,)).fit(X, y, extra=extra)
    assert plain.score(X, y) < 0.8
    assert rich.score(X, y, extra=extra) == 1.0
    assert rich.predict(X, extra=extra) != plain.predict(X)


def test_l1_gives_sparse_weights_and_early_stopping_and_warm_start():
    X, y = _copy_task(80)
    dense = LinearChainCRF(max_iterations=30).fit(X, y)
    sparse_ = LinearChainCRF(c1=1.0, c2=0.01, max_iterations=30).fit(X, y)
    assert np.mean(sparse_.coef_ == 0) > 0.3 > np.mean(dense.coef_ == 0)
    assert sparse_.score(X, y) == 1.0
    sgd = LinearChainCRF(algorithm="sgd-l1", c1=0.5, c2=0.0, max_iterations=8,
                         random_state=0).fit(X, y)
    assert sgd.score(X, y) == 1.0 and np.mean(sgd.coef_ == 0) > 0.3
    assert sgd.loss_curve_[-1] < sgd.loss_curve_[0]
    again = LinearChainCRF(algorithm="sgd-l1", c1=0.5, c2=0.0, max_iterations=8,
                           random_state=0).fit(X, y)
    assert np.array_equal(again.coef_, sgd.coef_)
    es = LinearChainCRF(max_iterations=60, early_stopping_rounds=2, tol=0).fit(
        X, y, X_dev=X[:10], y_dev=y[:10])
    assert es.n_iter_ < 60 and es.score(X[:10], y[:10]) == 1.0
    cold = LinearChainCRF(max_iterations=3).fit(X, y)
    warm = LinearChainCRF(max_iterations=3, warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert warm.loss_curve_[0] < cold.loss_curve_[0]


def test_clone_and_params():
    crf = LinearChainCRF(c2=0.5, window=(-1, 0, 1), constraint="BIO")
    c = clone(crf)
    assert c.get_params() == crf.get_params() and not hasattr(c, "coef_")
    p = clone(AveragedPerceptron(n_epochs=3))
    assert p.n_epochs == 3


@pytest.mark.parametrize("cls,kw", [(LinearChainCRF, {"max_iterations": 20}),
                                    (AveragedPerceptron, {"n_epochs": 3, "random_state": 0})])
def test_state_round_trip(cls, kw, tmp_path):
    rng = np.random.default_rng(2)
    X, y = random_corpus(rng, n_sent=20)
    extra = _random_extra(rng, X)
    model = cls(n_features=2 ** 12, **kw) if cls is LinearChainCRF else cls(**kw)
    model.fit(X, y, extra=extra)
    arrays, meta = model._get_state()
    meta = json.loads(json.dumps(meta))
    assert all(a.dtype != object for a in arrays.values())
    again = cls._from_state(arrays, meta)
    Xn, _ = random_corpus(np.random.default_rng(9), n_sent=5)
    Xn[0][0] = "unseen-Word"
    en = _random_extra(np.random.default_rng(9), Xn)
    assert again.predict(Xn, extra=en) == model.predict(Xn, extra=en)
    np.testing.assert_allclose(again.predict_proba(Xn, extra=en), model.predict_proba(Xn, extra=en))
    assert again.get_params() == model.get_params()
    path = model.save(tmp_path / "m.hmmtl") or tmp_path / "m.hmmtl"
    loaded = cls.load(path)
    assert loaded.predict(Xn, extra=en) == model.predict(Xn, extra=en)


def _bracket_task(n_sent=40, seed=0):
    """Sentences with brackets written as words, their tags in the PTB notation."""
    X, y = _copy_task(n_sent, seed)
    for i in range(0, n_sent, 3):
        X[i] = X[i][:1] + ["("] + X[i][1:] + [")"]
        y[i] = y[i][:1] + ["-LRB-"] + y[i][1:] + ["-RRB-"]
    return X, y


@pytest.mark.parametrize("cls,kw", [(LinearChainCRF, {"max_iterations": 20}),
                                    (AveragedPerceptron, {"n_epochs": 3, "random_state": 0})])
def test_converted_text_fits_and_tags_as_the_token_lists(cls, kw):
    """A door (the Tagger) hands a labeler its sentences converted once: the same model and
    tags as from the token lists, the door's notation taken as the labeler's, and words the
    door wrote in the model's notation not mapped again (words of no stated notation are)."""
    from hmmtl.crf.labelers import ConvertedText
    from hmmtl.data import unflatten
    from hmmtl.io.notation import Notation, detect_notation

    X, y = _bracket_task()
    flat, offsets = flatten(X)
    notation = detect_notation(flat, y)
    assert notation != Notation()  # the words write brackets: there is something to map
    a = cls(**kw).fit(X, y)
    b = cls(**kw).fit(ConvertedText(X, flat, offsets, notation), y)
    (arrays_a, meta_a), (arrays_b, meta_b) = a._get_state(), b._get_state()
    assert meta_a == meta_b and arrays_a.keys() == arrays_b.keys()
    assert all(np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a)
    assert b.notation_ == notation
    # a notation the door states is taken as it is, not detected again
    assert cls(**kw).fit(ConvertedText(X, flat, offsets, Notation()), y).notation_ == Notation()

    Xt = [["the", "-LRB-", "dog", "-RRB-", "runs"], ["John", "sleeps"]]
    flat_t, offsets_t = flatten(Xt)
    mapped = notation.map_flat_words(flat_t, offsets_t)
    assert mapped != flat_t
    tags = a.predict(Xt)
    assert b.predict(ConvertedText(unflatten(mapped, offsets_t), mapped, offsets_t,
                                   notation)) == tags
    assert b.predict(ConvertedText(Xt, flat_t, offsets_t)) == tags  # mapped by the labeler
    # stated to be in the model's notation: used as given; of no stated notation: mapped
    assert a._model_tokens(ConvertedText(Xt, flat_t, offsets_t, notation))[1] == flat_t
    assert a._model_tokens(ConvertedText(Xt, flat_t, offsets_t))[1] == mapped
    assert a._model_tokens(Xt)[1] == mapped
    if cls is LinearChainCRF:  # a dev set converted once gives the same early stopping
        dev = ConvertedText(Xt, flat_t, offsets_t, notation)
        yt = [["F", "-LRB-", "N", "-RRB-", "V"], ["N", "V"]]
        c = cls(**kw).fit(X, y, X_dev=Xt, y_dev=yt)
        d = cls(**kw).fit(ConvertedText(X, flat, offsets, notation), y, X_dev=dev, y_dev=yt)
        assert np.array_equal(c.coef_, d.coef_) and c.n_iter_ == d.n_iter_


# ----------------------------------------------------------------------------- real data
def _conll2000(require_file, split):
    """Words, POS and chunk tags of CoNLL-2000 ``split``; skips without the corpus (fails
    under HMMTL_REQUIRE_DATA=1, through the shared ``require_file``)."""
    import nltk
    from nltk.corpus.reader import ConllChunkCorpusReader

    path = require_file("nltk_data/corpora/conll2000.zip")
    nltk.data.path.insert(0, str(path.parents[1]))
    root = nltk.data.find("corpora/conll2000.zip/conll2000/")
    reader = ConllChunkCorpusReader(root, [f"{split}.txt"], ("NP", "VP", "PP"))
    sents = reader.iob_sents(f"{split}.txt")
    return ([[w for w, _, _ in s] for s in sents], [[p for _, p, _ in s] for s in sents],
            [[c for _, _, c in s] for s in sents])


def _read_conll2003(path):
    """(words, pos, chunk, ner) of a CoNLL-2003 file, through hmmtl's reader."""
    from hmmtl.io import read_conll
    from hmmtl.io.conll import CONLL2003_COLUMNS

    corpus = read_conll(path, columns=CONLL2003_COLUMNS)
    return tuple(corpus.column(c) for c in CONLL2003_COLUMNS)


def _f1(gold, pred):
    from hmmtl.metrics import entity_f1

    return 100 * float(entity_f1(gold, pred))


@pytest.mark.slow
def test_pos_conll2000(require_file):
    X, pos, _ = _conll2000(require_file, "train")
    Xt, post, _ = _conll2000(require_file, "test")
    crf = LinearChainCRF(max_iterations=POS_ITERATIONS).fit(X, pos)
    assert crf.score(Xt, post) >= 0.965


def _bigrams(tags):
    return [[a + "|" + b for a, b in zip(["<s>"] + s[:-1], s)] for s in tags]


@pytest.mark.slow
def test_chunking_conll2000(require_file):
    X, pos, chunk = _conll2000(require_file, "train")
    Xt, post, chunkt = _conll2000(require_file, "test")
    crf = LinearChainCRF(max_iterations=CHUNK_ITERATIONS, constraint="auto",
                         extra_window=(-2, -1, 0, 1, 2))
    crf.fit(X, chunk, extra={"pos": pos, "pos_bigram": _bigrams(pos)})
    assert crf.constraint_ == "BIO"
    pred = crf.predict(Xt, extra={"pos": post, "pos_bigram": _bigrams(post)})
    assert _f1(chunkt, pred) >= 93.0


@pytest.mark.slow
def test_ner_conll2003(require_file):
    tr = _read_conll2003(require_file("conll2003/eng.train"))
    tb = _read_conll2003(require_file("conll2003/eng.testb"))
    crf = LinearChainCRF(max_iterations=NER_ITERATIONS, constraint="auto")
    crf.fit(tr[0], iob1_to_iob2(tr[3]), extra={"pos": tr[1]})
    assert crf.constraint_ == "BIO"
    assert _f1(iob1_to_iob2(tb[3]), crf.predict(tb[0], extra={"pos": tb[1]})) >= 80.0


POS_ITERATIONS = 60
CHUNK_ITERATIONS = 50
NER_ITERATIONS = 50


# ----------------------------------------------------------------------------- task defaults
def _span_corpus(rng, n_sent, outside):
    """Sentences tagged with B-X / I-X spans; ``outside``: the share of O tokens."""
    X, y = [], []
    for _ in range(n_sent):
        n = int(rng.integers(3, 8))
        X.append([WORDS[i] for i in rng.integers(0, len(WORDS), n)])
        tags, prev = [], "O"
        for _ in range(n):
            if rng.random() < outside:
                tag = "O"
            else:
                kind = "NP" if rng.random() < 0.5 else "VP"
                tag = ("I-" if prev[2:] == kind and rng.random() < 0.5 else "B-") + kind
            tags.append(tag)
            prev = tag
        y.append(tags)
    return X, y


def test_the_task_and_its_defaults_come_from_the_tags():
    rng = np.random.default_rng(4)
    X, y = random_corpus(rng, n_sent=20, labels=("DT", "NN", "VBZ"))
    crf = LinearChainCRF(max_iterations=3).fit(X, y)
    assert crf.task_ == "pos"
    assert crf.feature_space_.window == tuple(sorted(TASK_DEFAULTS["pos"]["window"]))
    assert crf.settings_["c2"] == TASK_DEFAULTS["pos"]["c2"]
    Xc, yc = _span_corpus(rng, 30, outside=0.1)
    assert LinearChainCRF(max_iterations=3).fit(Xc, yc).task_ == "chunk"
    Xn, yn = _span_corpus(rng, 30, outside=0.9)
    ner = LinearChainCRF(max_iterations=3).fit(Xn, yn)
    assert ner.task_ == "ner"
    assert ner.settings_["window"] == {o: list(t)
                                       for o, t in TASK_DEFAULTS["ner"]["window"].items()}
    # a task given by name wins; parameters given explicitly win over the task's defaults
    forced = LinearChainCRF(task="chunk", c2=0.7, max_iterations=3).fit(Xn, yn)
    assert forced.task_ == "chunk" and forced.settings_["c2"] == 0.7
    assert forced.settings_["extra_window"] == TASK_DEFAULTS["chunk"]["extra_window"]
    # templates without a window: those templates at each of the task's offsets
    own = LinearChainCRF(templates=["lower"], max_iterations=3).fit(X, y)
    assert own.feature_space_.window == tuple(sorted(TASK_DEFAULTS["pos"]["window"]))
    assert own.feature_space_.offset_mask[:, :-1].all()
    assert own.feature_space_.type_templates == ["lower"]
    with pytest.raises(ValueError, match="task must be 'auto' or one of"):
        LinearChainCRF(task="parsing").fit(X, y)
    with pytest.raises(ValueError, match="c1 and c2 must be >= 0"):
        LinearChainCRF(c2=-1.0).fit(X, y)


@pytest.mark.parametrize("outside", [None, 0.1, 0.9])
def test_train_command_without_options_builds_the_default_model(tmp_path, outside):
    """``hmmtl train`` with no labeler options trains what ``LinearChainCRF()`` trains on the
    same sentences: the same task, features and weights."""
    from hmmtl import load
    from hmmtl.cli import main

    rng = np.random.default_rng(5)
    if outside is None:
        X, y = random_corpus(rng, n_sent=40, labels=("DT", "NN", "VBZ"))
    else:
        X, y = _span_corpus(rng, 40, outside)
    path = tmp_path / "train.conll"
    path.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(ws, ts)) + "\n"
                            for ws, ts in zip(X, y)), encoding="utf-8")
    assert main(["train", "--train", str(path), "--format", "conll", "--out",
                 str(tmp_path / "m.hmmtl"), "--quiet"]) == 0
    cli = load(tmp_path / "m.hmmtl").labeler_
    api = LinearChainCRF().fit(X, y)
    assert cli.task_ == api.task_ == {None: "pos", 0.1: "chunk", 0.9: "ner"}[outside]
    assert cli.feature_space_.window == api.feature_space_.window
    np.testing.assert_array_equal(cli.coef_, api.coef_)
    np.testing.assert_array_equal(cli.transition_, api.transition_)
