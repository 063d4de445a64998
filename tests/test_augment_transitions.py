"""Per-domain transition, start and end scores: the CRF's ``groups`` and feature augmentation.

A sentence of group (domain) ``g`` is scored with ``T + T_g``, ``s + s_g``, ``e + e_g``; a
sentence of group -1 (an unknown domain) with ``T, s, e`` only.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hmmtl.crf import AveragedPerceptron, LinearChainCRF
from hmmtl.data import flatten
from hmmtl.serialize import ModelFileError
from hmmtl.transfer.augment import DomainAugmentedCRF

from crf_helpers import brute_force, central_differences, random_corpus

SMALL = {"templates": ["lower", "suffix"], "window": 1}


@pytest.fixture
def one_thread():
    """One Numba thread: the finite differences make hundreds of kernel calls on a tiny
    problem, where waking threads costs more than the work (the kernels' results do not
    depend on the number of threads)."""
    import numba

    saved = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(saved)


# ----------------------------------------------------------------------------- gradient
@pytest.mark.parametrize("n_groups", [2, 3])
def test_grouped_gradient_matches_central_finite_differences(n_groups, one_thread):
    rng = np.random.default_rng(n_groups)
    X, y = random_corpus(rng, n_sent=14)
    # every group present, and sentences of no group (-1) that use the shared scores only
    groups = np.resize(np.arange(-1, n_groups), len(X))
    rng.shuffle(groups)
    crf = LinearChainCRF(c2=0.3, **SMALL)
    prob = crf._build_problem(X, y, None, groups=groups)
    assert prob.n_groups == n_groups
    K = len(crf.labels_)
    n_pairs = crf.pair_label_.shape[0]
    n_theta = n_pairs + (n_groups + 1) * (K * K + 2 * K)
    assert prob.empirical.shape == (n_theta,)
    theta = rng.normal(scale=0.5, size=n_theta)
    f, g = crf._objective(theta, prob, n_pairs, K)
    assert math.isfinite(f) and g.shape == (n_theta,)
    # a sample of the pair weights; every shared and per-group transition, start, end
    idx = rng.choice(n_pairs, size=min(30, n_pairs), replace=False)
    idx = np.unique(np.concatenate([idx, np.arange(n_pairs, n_theta)]))
    num = central_differences(
        lambda t: crf._objective(t, prob, n_pairs, K, want_grad=False), theta, idx)
    np.testing.assert_allclose(g[idx], num, rtol=1e-5, atol=1e-6)


def test_grouped_objective_is_the_sum_of_per_sentence_log_likelihoods():
    """The objective is -sum_n log p(y_n | x_n) + c2 |theta|^2, each sentence scored with its
    own group's summed potentials (brute force over all paths)."""
    rng = np.random.default_rng(7)
    X, y = random_corpus(rng, n_sent=6, labels=("A", "B"), max_len=4)
    groups = np.array([0, 1, -1, 1, 0, 2])
    crf = LinearChainCRF(c2=0.2, **SMALL)
    prob = crf._build_problem(X, y, None, groups=groups)
    K = len(crf.labels_)
    n_pairs = crf.pair_label_.shape[0]
    theta = rng.normal(size=n_pairs + 4 * (K * K + 2 * K))
    crf._set_theta(theta, n_pairs, K)
    assert crf.group_transition_.shape == (3, K, K)
    unary = crf._unary(prob.layout)
    off = prob.offsets
    expected = crf.c2 * float(theta @ theta)
    for n, g in enumerate(groups):
        lab = crf.labels_.encode_flat(y[n])
        tr, st, en = crf._decode_tables(int(g))
        log_z, _, scores = brute_force(unary[off[n]:off[n + 1]], tr, st, en)
        expected -= scores[tuple(lab)] - log_z
    assert crf._objective(theta, prob, n_pairs, K, want_grad=False) == \
        pytest.approx(expected, rel=1e-10)


def test_zero_group_offsets_give_the_plain_objective():
    rng = np.random.default_rng(3)
    X, y = random_corpus(rng, n_sent=12)
    groups = rng.integers(0, 3, len(X))
    crf = LinearChainCRF(c2=0.5, **SMALL)
    prob = crf._build_problem(X, y, None, groups=groups)
    K = len(crf.labels_)
    n_pairs = crf.pair_label_.shape[0]
    n_plain = n_pairs + K * K + 2 * K
    theta = rng.normal(size=n_plain)
    f0, g0 = crf._objective(theta, crf._build_problem(X, y, None), n_pairs, K)
    full = np.concatenate([theta, np.zeros(3 * (K * K + 2 * K))])
    f, g = crf._objective(full, prob, n_pairs, K)
    assert f == pytest.approx(f0, rel=1e-12)
    np.testing.assert_allclose(g[:n_plain], g0, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------- brute force
def test_log_z_marginals_viterbi_against_brute_force_with_summed_potentials():
    rng = np.random.default_rng(11)
    X, y = random_corpus(rng, n_sent=12)
    crf = LinearChainCRF(max_iterations=3, **SMALL).fit(X, y, groups=np.resize([0, 1], 12))
    K = len(crf.labels_)
    crf.coef_ = rng.normal(size=crf.coef_.shape)
    crf.transition_ = rng.normal(size=(K, K))
    crf.start_, crf.end_ = rng.normal(size=K), rng.normal(size=K)
    crf.group_transition_ = rng.normal(scale=2.0, size=(2, K, K))
    crf.group_start_ = rng.normal(scale=2.0, size=(2, K))
    crf.group_end_ = rng.normal(scale=2.0, size=(2, K))
    sents = [["John", "runs", "in", "Paris"], ["a", "dog"], ["the", "cat", "sleeps"],
             ["Paris", "."], ["in"]]
    groups = [1, -1, 0, 1, 0]
    flat, off = flatten(sents)
    unary = crf._unary(crf.feature_space_.transform(flat, off))
    marg = crf.predict_marginals(sents, groups=groups)
    paths = crf.predict(sents, groups=groups)
    proba = crf.predict_proba(sents, groups=groups)
    given = [crf.labels_.decode(rng.integers(0, K, len(s))) for s in sents]
    p_given = crf.sequence_probability(sents, given, groups=groups)
    for n, g in enumerate(groups):
        if g >= 0:
            tr = crf.transition_ + crf.group_transition_[g]
            st, en = crf.start_ + crf.group_start_[g], crf.end_ + crf.group_end_[g]
        else:
            tr, st, en = crf.transition_, crf.start_, crf.end_
        log_z, bf_marg, scores = brute_force(unary[off[n]:off[n + 1]], tr, st, en)
        np.testing.assert_allclose(marg[n], bf_marg, atol=1e-10)
        best = max(scores, key=scores.get)
        assert paths[n] == crf.labels_.decode(best)
        assert proba[n] == pytest.approx(np.exp(scores[best] - log_z), rel=1e-9)
        path = tuple(crf.labels_.encode_flat(given[n]))
        assert p_given[n] == pytest.approx(np.exp(scores[path] - log_z), rel=1e-9)
    # the group offsets matter: without groups the same sentences get other marginals
    plain = crf.predict_marginals(sents)
    assert not np.allclose(plain[0], marg[0])
    np.testing.assert_allclose(plain[1], marg[1], atol=1e-12)  # group -1: shared only


# ----------------------------------------------------------------------------- one domain
@pytest.mark.parametrize("labeler,params", [("crf", {"max_iterations": 15}),
                                            ("perceptron", {"n_epochs": 3, "random_state": 0})])
def test_one_domain_is_exactly_the_plain_labeler(labeler, params):
    rng = np.random.default_rng(5)
    X, y = random_corpus(rng, n_sent=30)
    Xt, _ = random_corpus(np.random.default_rng(6), n_sent=8)
    plain = (LinearChainCRF if labeler == "crf" else AveragedPerceptron)(**params).fit(X, y)
    aug = DomainAugmentedCRF(labeler=labeler, labeler_params=params).fit(
        X, y, domains=["news"] * len(X))
    assert aug.domains_ == [] and aug.labeler_.group_transition_.shape[0] == 0
    for name in ("coef_", "transition_", "start_", "end_"):
        np.testing.assert_array_equal(getattr(aug.labeler_, name), getattr(plain, name))
    expected = plain.predict(Xt)
    assert aug.predict(Xt, domains=["news"] * len(Xt)) == expected
    assert aug.predict(Xt, domains=["other"] * len(Xt)) == expected
    assert aug.predict(Xt) == expected
    # plain model files hold no per-group arrays
    arrays, _ = plain._get_state()
    assert not any(k.startswith("group_") for k in arrays)


# ----------------------------------------------------------------------------- synthetic
def _order_flip_data(n=40, seed=0):
    """Two domains with the same words and tag frequencies, differing only in tag order.

    The first word says its tag ("a" -> A, "b" -> B); every other word is "x".  In domain
    ``alt`` the tags alternate (A B A B ...), in ``run`` they repeat (A A A A ...).  With
    ``window=0`` the only evidence for the tag of an "x" is the transitions.
    """
    rng = np.random.default_rng(seed)
    X, y, dom = [], [], []
    for i in range(n):
        d = "alt" if i % 2 == 0 else "run"
        first = "A" if (i // 2) % 2 == 0 else "B"
        length = int(rng.integers(3, 7))
        tags = [first]
        for _ in range(length - 1):
            prev = tags[-1]
            tags.append(("B" if prev == "A" else "A") if d == "alt" else prev)
        X.append([first.lower()] + ["x"] * (length - 1))
        y.append(tags)
        dom.append(d)
    return X, y, dom


ORDER_TEST = [["a", "x", "x", "x", "x"], ["b", "x", "x", "x"],
              ["a", "x", "x", "x", "x"], ["b", "x", "x", "x"]]
ORDER_DOMAINS = ["alt", "alt", "run", "run"]
ORDER_GOLD = [list("ABABA"), list("BABA"), list("AAAAA"), list("BBBB")]


def _accuracy(gold, pred):
    g = list(itertools.chain.from_iterable(gold))
    p = list(itertools.chain.from_iterable(pred))
    return float(np.mean([a == b for a, b in zip(g, p)]))


@pytest.mark.parametrize("labeler,params", [
    ("crf", {"max_iterations": 100, "c2": 0.05}),
    ("crf", {"algorithm": "sgd-l1", "max_iterations": 30, "c2": 0.05, "random_state": 0}),
    ("perceptron", {"n_epochs": 10, "random_state": 0}),
])
def test_domains_that_differ_only_in_tag_order_need_per_domain_transitions(labeler, params):
    X, y, dom = _order_flip_data()
    params = dict(params, window=0)
    per_domain = DomainAugmentedCRF(labeler=labeler, labeler_params=params).fit(
        X, y, domains=dom)
    shared = DomainAugmentedCRF(labeler=labeler, labeler_params=params,
                                per_domain_transitions=False).fit(X, y, domains=dom)
    assert per_domain.labeler_.group_transition_.shape[0] == 2
    assert shared.labeler_.group_transition_.shape[0] == 0
    assert per_domain.predict(ORDER_TEST, domains=ORDER_DOMAINS) == ORDER_GOLD
    # one transition matrix cannot both alternate and repeat (the per-domain observation
    # weights of "x" know no position): at best one domain is right, the other gets
    # 5 of its 9 tokens, 14 / 18 in all
    shared_pred = shared.predict(ORDER_TEST, domains=ORDER_DOMAINS)
    assert shared_pred != ORDER_GOLD
    assert _accuracy(ORDER_GOLD, shared_pred) < 0.8


def test_unknown_domain_uses_the_shared_scores_only():
    X, y, dom = _order_flip_data()
    aug = DomainAugmentedCRF(labeler_params={"max_iterations": 100, "c2": 0.05,
                                             "window": 0}).fit(X, y, domains=dom)
    lab = aug.labeler_
    unknown = aug.predict(ORDER_TEST, domains=["legal"] * 4)
    assert unknown == aug.predict(ORDER_TEST)
    # the same as decoding the plain tokens with the shared tables only
    assert unknown == lab.predict(ORDER_TEST) == lab.predict(ORDER_TEST, groups=[-1] * 4)
    marg = aug.labeler_.predict_marginals(ORDER_TEST)
    # whatever the per-domain offsets are, unknown-domain output does not move ...
    assert aug.domains_ == ["alt", "run"] and lab.labels_.labels == ["A", "B"]
    lab.group_transition_ = np.stack([50.0 * np.eye(2), -50.0 * np.eye(2)])  # swapped
    assert aug.predict(ORDER_TEST, domains=["legal"] * 4) == unknown
    for a, b in zip(lab.predict_marginals(ORDER_TEST, groups=[-1] * 4), marg):
        np.testing.assert_array_equal(a, b)
    # ... while known-domain output does
    assert aug.predict(ORDER_TEST, domains=ORDER_DOMAINS) != ORDER_GOLD


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("labeler,params", [
    ("perceptron", {"n_epochs": 3, "random_state": 0}),
    ("sgd", {"algorithm": "sgd-l1", "c1": 0.05, "max_iterations": 3, "random_state": 0}),
])
def test_fit_with_every_group_minus_one_is_the_fit_without_groups(labeler, params):
    rng = np.random.default_rng(4)
    X, y = random_corpus(rng, n_sent=20)
    Xt, _ = random_corpus(np.random.default_rng(8), n_sent=8)
    cls = AveragedPerceptron if labeler == "perceptron" else LinearChainCRF
    plain = cls(**params, **SMALL).fit(X, y)
    minus_one = cls(**params, **SMALL).fit(X, y, groups=[-1] * len(X))
    assert minus_one.group_transition_.shape == (0,) + plain.transition_.shape
    assert plain.transition_.any()
    for name in ("coef_", "attr_ptr_", "pair_label_", "transition_", "start_", "end_"):
        np.testing.assert_array_equal(getattr(minus_one, name), getattr(plain, name))
    assert minus_one.predict(Xt) == plain.predict(Xt)
    assert minus_one.predict(Xt, groups=[-1] * len(Xt)) == plain.predict(Xt)


def test_epoch_kernels_leave_the_group_offsets_alone_for_sentences_of_no_group():
    """An epoch with groups but every sentence -1 moves the shared scores as an epoch
    without groups (G = 0) does, neither reads nor writes the offsets of any group (the
    last one included: ``-1`` is no index), and gives the same errors / loss."""
    from hmmtl.crf._kernels import (ChainWeights, PairIndex, SgdSchedule, TokenFeatures,
                                    perceptron_epoch, sgd_l1_epoch)

    rng = np.random.default_rng(4)
    X, y = random_corpus(rng, n_sent=20)
    crf = LinearChainCRF(**SMALL)
    prob = crf._build_problem(X, y, None)
    lay = prob.layout
    K = len(crf.labels_)
    n_seq, G = len(X), 2
    order = rng.permutation(n_seq).astype(np.int64)
    none = np.full(n_seq, -1, dtype=np.int64)
    features = TokenFeatures(prob.offsets, lay.tok_slot, lay.tok_val, lay.slot_ptr,
                             lay.slot_attr)

    n_shared = crf.pair_label_.shape[0] + K * K + 2 * K
    theta = rng.normal(scale=0.1, size=n_shared)
    offsets = rng.normal(scale=5.0, size=G * (K * K + 2 * K))
    t0, q0 = theta.copy(), np.zeros(n_shared)
    t2, q2 = np.concatenate([theta, offsets]), np.zeros(n_shared + offsets.size)
    pairs = PairIndex(crf.attr_ptr_, crf.pair_label_)
    schedule = SgdSchedule(n_seq, 0.1, 0.85, 0.01, 0.1)
    r0 = sgd_l1_epoch(order, none, 0, features, prob.labels, pairs, t0, q0, 0.0, 0, schedule)
    r2 = sgd_l1_epoch(order, none, G, features, prob.labels, pairs, t2, q2, 0.0, 0, schedule)
    assert r0 == r2 and r0[1] == n_seq
    assert not np.array_equal(t0, theta)
    np.testing.assert_array_equal(t2[:n_shared], t0)
    np.testing.assert_array_equal(q2[:n_shared], q0)
    np.testing.assert_array_equal(t2[n_shared:], offsets)
    assert not q2[n_shared:].any()

    n_attr = crf.feature_space_.n_attributes_
    scores0, totals0 = ChainWeights.zeros(n_attr, K, 0), ChainWeights.zeros(n_attr, K, 0)
    scores2, totals2 = ChainWeights.zeros(n_attr, K, G), ChainWeights.zeros(n_attr, K, G)
    for part in (scores2, totals2):  # the groups' offsets, which must stay as they are
        for x in part[4:]:
            x[:] = rng.normal(scale=5.0, size=x.shape)
    saved = [x.copy() for x in scores2[4:] + totals2[4:]]
    c0 = c2 = 1
    for _ in range(3):
        c0, e0 = perceptron_epoch(order, none, features, prob.labels, scores0, totals0, c0)
        c2, e2 = perceptron_epoch(order, none, features, prob.labels, scores2, totals2, c2)
        assert (c0, e0) == (c2, e2) and e0 > 0
    shared0 = scores0[:4] + totals0[:4]
    shared2 = scores2[:4] + totals2[:4]
    groups = scores2[4:] + totals2[4:]
    for x0, x2 in zip(shared0, shared2):
        np.testing.assert_array_equal(x0, x2)
    for x, x_saved in zip(groups, saved):
        np.testing.assert_array_equal(x, x_saved)


# ----------------------------------------------------------------------------- persistence
def test_save_load_gives_identical_predictions_for_known_and_unknown_domains(tmp_path):
    X, y, dom = _order_flip_data()
    aug = DomainAugmentedCRF(labeler_params={"max_iterations": 60, "c2": 0.05, "window": 0}
                             ).fit(X, y, domains=dom)
    again = DomainAugmentedCRF.load(aug.save(tmp_path / "aug.hmmtl"))
    assert again.per_domain_transitions is True and again.domains_ == ["alt", "run"]
    for name in ("group_transition_", "group_start_", "group_end_", "transition_"):
        np.testing.assert_array_equal(getattr(again.labeler_, name),
                                      getattr(aug.labeler_, name))
    for domains in (ORDER_DOMAINS, ["legal", "alt", "run", None], None):
        assert again.predict(ORDER_TEST, domains=domains) == \
            aug.predict(ORDER_TEST, domains=domains)
    groups = [0, 1, -1, 1]
    for a, b in zip(again.labeler_.predict_marginals(ORDER_TEST, groups=groups),
                    aug.labeler_.predict_marginals(ORDER_TEST, groups=groups)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,shape", [("group_start_", (2, 3)),
                                        ("group_transition_", (3, 2, 2)),
                                        ("group_end_", (2,))])
def test_mismatched_per_domain_shapes_are_refused(tmp_path, name, shape):
    X, y, dom = _order_flip_data(n=12)
    aug = DomainAugmentedCRF(labeler_params={"max_iterations": 5, "window": 0}).fit(
        X, y, domains=dom)
    assert aug.labeler_.group_transition_.shape == (2, 2, 2)
    setattr(aug.labeler_, name, np.zeros(shape))
    path = aug.save(tmp_path / "bad.hmmtl")
    with pytest.raises(ModelFileError, match=r"per-group arrays .* must have shapes "
                                             r"\(n_groups, 2, 2\), \(n_groups, 2\), "
                                             r"\(n_groups, 2\) for the 2 labels, got"):
        DomainAugmentedCRF.load(path)


def test_per_domain_arrays_must_match_the_domains_and_come_together(tmp_path):
    X, y, dom = _order_flip_data(n=12)
    aug = DomainAugmentedCRF(labeler_params={"max_iterations": 5, "window": 0}).fit(
        X, y, domains=dom)
    lab = aug.labeler_
    lab.group_transition_ = np.zeros((3, 2, 2))
    lab.group_start_, lab.group_end_ = np.zeros((3, 2)), np.zeros((3, 2))
    with pytest.raises(ModelFileError, match=r"per-domain transitions for 3 domains, but "
                                             r"the model has 2 training domains"):
        DomainAugmentedCRF.load(aug.save(tmp_path / "three.hmmtl"))
    crf = LinearChainCRF(max_iterations=3, window=0).fit(X, y, groups=[0, 1] * 6)
    arrays, meta = crf._get_state()
    del arrays["group_end"]
    with pytest.raises(ValueError, match=r"per-group arrays \['group_transition', "
                                         r"'group_start'\] are present but \['group_end'\]"):
        LinearChainCRF._from_state(arrays, meta)


def test_files_without_per_domain_arrays_still_load(tmp_path):
    """A model file written before per-domain transitions (no group arrays, no
    ``per_domain_transitions`` parameter) loads with shared transitions."""
    X, y, dom = _order_flip_data(n=12)
    old = DomainAugmentedCRF(labeler_params={"max_iterations": 10, "window": 0},
                             per_domain_transitions=False).fit(X, y, domains=dom)
    arrays, meta = old._get_state()
    assert not any("group_" in k for k in arrays)
    del meta["params"]["per_domain_transitions"]
    old._get_state = lambda: (arrays, meta)  # what such a file holds
    loaded = DomainAugmentedCRF.load(old.save(tmp_path / "old.hmmtl"))
    assert loaded.per_domain_transitions is False
    assert loaded.labeler_.group_transition_.shape == (0, 2, 2)
    assert loaded.predict(ORDER_TEST, domains=ORDER_DOMAINS) == \
        old.predict(ORDER_TEST, domains=ORDER_DOMAINS)
    assert loaded.predict(ORDER_TEST) == old.predict(ORDER_TEST)


# ----------------------------------------------------------------------------- input checks
def test_group_ids_are_checked_with_clear_messages():
    X, y, _ = _order_flip_data(n=12)
    crf = LinearChainCRF(max_iterations=3, window=0)
    with pytest.raises(ValueError, match=r"one group id per sentence: expected shape \(12,\), "
                                         r"got shape \(11,\)"):
        crf.fit(X, y, groups=[0] * 11)
    with pytest.raises(TypeError, match=r"integer group ids .* got dtype <U"):
        crf.fit(X, y, groups=["alt"] * 12)
    with pytest.raises(ValueError, match=r">= -1 .* got a minimum of -2"):
        crf.fit(X, y, groups=[-2] + [0] * 11)
    crf.fit(X, y, groups=[0, 1, 2] * 4)
    assert crf.group_transition_.shape == (3, 2, 2)
    with pytest.raises(ValueError, match=r"must lie in \[-1, 3\): the model was fit with 3 "
                                         r"groups .* got values up to 3"):
        crf.predict(X[:2], groups=[0, 3])
    with pytest.raises(ValueError, match=r"without groups_dev"):
        crf.fit(X, y, groups=[0, 1] * 6, X_dev=X[:2], y_dev=y[:2])
    crf.fit(X, y, groups=[0, 1] * 6, X_dev=X[:2], y_dev=y[:2], groups_dev=[0, -1])
    assert crf.group_transition_.shape == (2, 2, 2)
    plain = LinearChainCRF(max_iterations=3, window=0).fit(X, y)
    with pytest.raises(ValueError, match=r"must lie in \[-1, 0\)"):
        plain.predict(X[:1], groups=[0])
    assert plain.predict(X[:2], groups=[-1, -1]) == plain.predict(X[:2])


def test_warm_start_keeps_the_groups():
    X, y, _ = _order_flip_data(n=12)
    crf = LinearChainCRF(max_iterations=5, window=0, warm_start=True)
    crf.fit(X, y, groups=[0, 1] * 6)
    crf.fit(X, y, groups=[1, 0] * 6)
    assert crf.group_transition_.shape == (2, 2, 2)
    with pytest.raises(ValueError, match=r"warm_start needs the groups of the fitted model: "
                                         r"it has 2 groups, this fit 3"):
        crf.fit(X, y, groups=[0, 1, 2] * 4)


def test_labeler_without_groups_needs_shared_transitions():
    from sklearn.base import BaseEstimator

    class Majority(BaseEstimator):
        def __init__(self, templates=None):
            self.templates = templates

        def fit(self, X, y, extra=None):
            self.tag_ = y[0][0]
            return self

        def predict(self, X, extra=None):
            return [[self.tag_] * len(s) for s in X]

    X, y, dom = _order_flip_data(n=8)
    with pytest.raises(TypeError, match=r"Majority.fit does not: pass "
                                        r"per_domain_transitions=False"):
        DomainAugmentedCRF(labeler=Majority()).fit(X, y, domains=dom)
    m = DomainAugmentedCRF(labeler=Majority(), per_domain_transitions=False).fit(
        X, y, domains=dom)
    assert m.predict([["a", "x"]], domains=["alt"]) == [[y[0][0]] * 2]
