"""Tests of hmmtl.hmm: EM, supervised counts, semi-supervision, k-best, multi-domain ties,
agreement with hmmlearn, persistence, and real-corpus quality."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.base import clone

from hmmtl import CategoricalHMM, MultiDomainHMM, RaggedBatch
from hmmtl.data import lengths_to_offsets
from hmmtl.hmm import HMMFamily, HMMParams
from hmmtl.inference import forward_backward
from hmmtl.inference.expected_counts import hmm_expected_counts

NO_PRIOR = dict(start_prior=0.0, transition_prior=0.0, emission_prior=0.0)


# ----------------------------------------------------------------------------- helpers
def random_params(rs, K, V, peaked=1.0):
    s = rs.rand(K) + 0.1
    A = rs.rand(K, K) ** peaked + 0.01
    B = rs.rand(K, V) ** peaked + 0.01
    return s / s.sum(), A / A.sum(1, keepdims=True), B / B.sum(1, keepdims=True)


def random_data(rs, n_seq=40, V=6, lo=2, hi=15):
    lengths = rs.randint(lo, hi, size=n_seq)
    return rs.randint(0, V, size=int(lengths.sum())), lengths


def sample_hmm(rs, s, A, B, n_seq, length):
    K, V = B.shape
    n = n_seq * length
    z = np.zeros(n, dtype=np.int64)
    x = np.zeros(n, dtype=np.int64)
    for i in range(n_seq):
        for t in range(length):
            p = s if t == 0 else A[z[i * length + t - 1]]
            z[i * length + t] = rs.choice(K, p=p)
            x[i * length + t] = rs.choice(V, p=B[z[i * length + t]])
    return x, z, np.full(n_seq, length)


def brute_force_counts(x, lengths, s, A, B):
    """Expected counts and log-likelihood by enumerating every state path."""
    K, V = B.shape
    start, trans, emis, ll = np.zeros(K), np.zeros((K, K)), np.zeros((K, V)), 0.0
    for seq in np.split(x, np.cumsum(lengths)[:-1]):
        T = len(seq)
        paths = np.array(list(itertools.product(range(K), repeat=T)))
        p = s[paths[:, 0]] * np.prod(B[paths, seq], axis=1)
        for t in range(1, T):
            p = p * A[paths[:, t - 1], paths[:, t]]
        z = p.sum()
        ll += np.log(z)
        w = p / z
        np.add.at(start, paths[:, 0], w)
        for t in range(T):
            np.add.at(emis, (paths[:, t], seq[t]), w)
            if t:
                np.add.at(trans, (paths[:, t - 1], paths[:, t]), w)
    return start, trans, emis, ll


def with_params(model, s, A, B):
    """``model`` holding the given parameters, as if fitted on integer ids."""
    model.n_states_, model.n_features_ = B.shape
    model.vocabulary_, model.labels_ = None, None
    model.start_prob_, model.transition_prob_, model.emission_prob_ = s, A, B
    return model


def fitted_id_model(K=3, V=5, seed=0, **kw):
    rs = np.random.RandomState(seed)
    x, lengths = random_data(rs, V=V)
    return CategoricalHMM(K, n_iter=3, random_state=seed, **kw).fit(x, lengths=lengths), x, lengths


# ----------------------------------------------------------------------------- E-step
def test_e_step_matches_brute_force_enumeration():
    rs = np.random.RandomState(1)
    K, V = 3, 4
    s, A, B = random_params(rs, K, V)
    x, lengths = random_data(rs, n_seq=5, V=V, lo=1, hi=6)
    st = HMMFamily(K, V).e_step(HMMParams(s, A, B), RaggedBatch.from_lengths(x, lengths))
    bs, bt, be, bll = brute_force_counts(x, lengths, s, A, B)
    np.testing.assert_allclose(st.start, bs, rtol=1e-10)
    np.testing.assert_allclose(st.transition, bt, rtol=1e-10)
    np.testing.assert_allclose(st.emission, be, rtol=1e-10)
    assert st.log_likelihood == pytest.approx(bll, rel=1e-12)
    assert st.n_tokens == x.size


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_expected_counts_kernel_matches_brute_force_with_labels(fused, dtype):
    """The fused E-step kernel and the marginals-then-scatter path, with clamped labels,
    in both precisions (float32 within its rounding)."""
    rs = np.random.RandomState(11)
    K, V = 4, 5
    s, A, B = random_params(rs, K, V)
    x, lengths = random_data(rs, n_seq=6, V=V, lo=1, hi=6)
    labels = np.where(rs.rand(x.size) < 0.3, rs.randint(0, K, x.size), -1).astype(np.int32)
    # brute force with clamped labels: zero the emission of other states at those tokens
    offsets = lengths_to_offsets(lengths)
    bs, bt, be, bll = np.zeros(K), np.zeros((K, K)), np.zeros((K, V)), 0.0
    for a, b in zip(offsets[:-1], offsets[1:]):
        seq, lab = x[a:b], labels[a:b]
        paths = np.array(list(itertools.product(range(K), repeat=b - a)))
        ok = np.all((lab < 0) | (paths == lab), axis=1)
        p = s[paths[:, 0]] * np.prod(B[paths, seq], axis=1) * ok
        for t in range(1, b - a):
            p = p * A[paths[:, t - 1], paths[:, t]]
        bll += np.log(p.sum())
        w = p / p.sum()
        np.add.at(bs, paths[:, 0], w)
        for t in range(b - a):
            np.add.at(be, (paths[:, t], seq[t]), w)
            if t:
                np.add.at(bt, (paths[:, t - 1], paths[:, t]), w)
    r = hmm_expected_counts(x, offsets, B.astype(dtype), A, s, labels=labels, fused=fused)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r.start, bs, **tol)
    np.testing.assert_allclose(r.pair_counts, bt, **tol)
    np.testing.assert_allclose(r.emission.T, be, **tol)
    assert r.log_z.sum() == pytest.approx(bll, rel=1e-12 if dtype == np.float64 else 1e-6)


def test_expected_counts_redo_sequences_whose_scaling_fails():
    """A sequence whose scaled recursion breaks down (a clamped label of emission
    probability zero) gets log Z = -inf and adds nothing; the others are unaffected."""
    rs = np.random.RandomState(12)
    K, V = 3, 4
    s, A, B = random_params(rs, K, V)
    B[1, 2] = 0.0
    B /= B.sum(1, keepdims=True)
    x = np.array([0, 2, 1, 3, 0, 1])
    offsets = np.array([0, 3, 6])
    labels = np.array([-1, 1, -1, -1, -1, -1], dtype=np.int32)
    r = hmm_expected_counts(x, offsets, B, A, s, labels=labels)
    alone = hmm_expected_counts(x[3:], [0, 3], B, A, s)
    assert r.log_z[0] == -np.inf and r.log_z[1] == pytest.approx(alone.log_z[0], rel=1e-12)
    np.testing.assert_allclose(r.emission, alone.emission, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.pair_counts, alone.pair_counts, rtol=1e-12, atol=1e-15)


def test_stats_are_additive_over_partitions():
    m, x, lengths = fitted_id_model()
    batch = RaggedBatch.from_lengths(x, lengths)
    parts = batch.split(3)
    family = HMMFamily(m.n_states_, m.n_features_)
    params = HMMParams(m.start_prob_, m.transition_prob_, m.emission_prob_)
    whole, summed = family.e_step(params, batch), sum(family.e_step(params, p) for p in parts)
    for name in ("start", "transition", "emission"):
        np.testing.assert_allclose(getattr(summed, name), getattr(whole, name), rtol=1e-10)
    assert summed.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-12)
    assert summed.n_tokens == whole.n_tokens


def test_scatter_kernel_equals_add_at():
    from hmmtl.hmm.families import scatter_rows

    rs = np.random.RandomState(0)
    ids = rs.randint(-1, 50, size=1000).astype(np.int32)   # -1: skipped
    rows = rs.rand(1000, 7)
    out = np.zeros((50, 7))
    scatter_rows(ids, rows, out)
    ref = np.zeros((50, 7))
    np.add.at(ref, ids[ids >= 0], rows[ids >= 0])
    np.testing.assert_allclose(out, ref, rtol=1e-12)


# ----------------------------------------------------------------------------- hmmlearn
@pytest.mark.parametrize("n_iter", [1, 5])
def test_same_log_likelihood_as_hmmlearn(n_iter):
    hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")
    rs = np.random.RandomState(0)
    K, V = 3, 6
    x, lengths = random_data(rs, V=V)
    s, A, B = random_params(rs, K, V)
    # hmmlearn's Dirichlet prior 1.0 adds no pseudocount, as our prior 0 does
    ref = hmmlearn_hmm.CategoricalHMM(n_components=K, n_features=V, n_iter=n_iter, tol=-np.inf,
                                      init_params="", params="ste")
    ref.startprob_, ref.transmat_, ref.emissionprob_ = s.copy(), A.copy(), B.copy()
    ref.fit(x[:, None], lengths)
    ours = CategoricalHMM(K, n_iter=n_iter, tol=-np.inf, init=dict(
        start_prob=s, transition_prob=A, emission_prob=B), **NO_PRIOR).fit(x, lengths=lengths)
    a, b = ref.score(x[:, None], lengths), ours.score(x, lengths)
    assert b == pytest.approx(a, rel=1e-8)
    np.testing.assert_allclose(ours.monitor_.history, list(ref.monitor_.history), rtol=1e-8)
    np.testing.assert_allclose(ours.transition_prob_, ref.transmat_, atol=1e-10)
    np.testing.assert_allclose(ours.emission_prob_, ref.emissionprob_, atol=1e-10)
    # Viterbi agrees with hmmlearn's decode
    lp_ref, path_ref = ref.decode(x[:, None], lengths)
    lp, path = ours.decode(x, lengths)
    assert lp == pytest.approx(lp_ref, rel=1e-10)

    def joint(z):  # log p(x, z); paths may differ only between equally good ties
        firsts = lengths_to_offsets(lengths)[:-1]
        nxt = np.setdiff1d(np.arange(x.size), firsts)
        return (np.log(ours.start_prob_[z[firsts]]).sum()
                + np.log(ours.transition_prob_[z[nxt - 1], z[nxt]]).sum()
                + np.log(ours.emission_prob_[z, x]).sum())

    assert joint(path) == pytest.approx(joint(path_ref), rel=1e-10)
    assert np.mean(path == path_ref) > 0.95


# ----------------------------------------------------------------------------- EM monotone
TIES = [
    None,
    {"start": "shared", "transitions": "shared", "emissions": "shared"},
    {"start": "per_domain", "transitions": "shared", "emissions": "per_domain"},
    {"start": "shared", "transitions": "per_domain", "emissions": "shared"},
    {"start": "per_domain", "transitions": "per_domain", "emissions": "hierarchical"},
    {"start": "shared", "transitions": "shared", "emissions": "hierarchical"},
]


@pytest.mark.parametrize("tie", TIES, ids=lambda t: "categorical" if t is None else "-".join(
    v[:4] for v in t.values()))
@pytest.mark.parametrize("prior", [0.0, 0.5])
def test_em_never_lowers_the_objective(tie, prior):
    rs = np.random.RandomState(3)
    x, lengths = random_data(rs, n_seq=30, V=7)
    kw = dict(n_iter=15, tol=-np.inf, random_state=0, start_prior=prior,
              transition_prior=prior, emission_prior=prior)
    if tie is None:
        m = CategoricalHMM(3, **kw).fit(x, lengths=lengths)
    else:
        m = MultiDomainHMM(3, 2, tie=tie, **kw).fit(x, lengths=lengths,
                                                    domains=np.arange(30) % 2)
    h = np.asarray(m.monitor_.history)
    assert len(h) == 15
    assert np.all(np.diff(h) >= -1e-9 * np.abs(h[1:])), np.diff(h)
    assert h[-1] > h[0] + 1.0  # it actually learned something


def test_em_monotone_with_kbest_exact_and_float32():
    rs = np.random.RandomState(4)
    x, lengths = random_data(rs, n_seq=30, V=7)
    m = CategoricalHMM(4, n_iter=10, tol=-np.inf, random_state=0, dtype="float32").fit(
        x, lengths=lengths)
    h = np.asarray(m.monitor_.history)
    assert np.all(np.diff(h) >= -1e-4 * np.abs(h[1:]))
    assert m.emission_prob_.dtype == np.float32
    m64 = CategoricalHMM(4, n_iter=10, tol=-np.inf, random_state=0).fit(x, lengths=lengths)
    assert m.score(x, lengths) == pytest.approx(m64.score(x, lengths), rel=1e-4)


# ----------------------------------------------------------------------------- recovery
def test_recovers_a_known_hmm_up_to_permutation():
    rs = np.random.RandomState(0)
    s = np.array([0.6, 0.4])
    A = np.array([[0.8, 0.2], [0.3, 0.7]])
    B = np.array([[0.6, 0.3, 0.05, 0.05], [0.05, 0.05, 0.4, 0.5]])
    x, _, lengths = sample_hmm(rs, s, A, B, n_seq=100, length=40)
    m = CategoricalHMM(2, n_iter=100, tol=1e-4, n_init=2, random_state=1, **NO_PRIOR).fit(
        x, lengths=lengths)
    best = min(itertools.permutations(range(2)),
               key=lambda p: np.abs(m.emission_prob_[list(p)] - B).max())
    p = list(best)
    # tolerance: 4,000 tokens give standard errors of about 0.01-0.02 on these probabilities
    assert np.abs(m.emission_prob_[p] - B).max() < 0.05
    assert np.abs(m.transition_prob_[np.ix_(p, p)] - A).max() < 0.06


# ----------------------------------------------------------------------------- supervised
TAGGED = [
    (["the", "dog", "barks"], ["D", "N", "V"]),
    (["a", "dog", "sleeps"], ["D", "N", "V"]),
    (["dogs", "bark"], ["N", "V"]),
]


def test_supervised_counts_equal_hand_computation():
    X = [w for w, _ in TAGGED]
    y = [t for _, t in TAGGED]
    m = CategoricalHMM(**NO_PRIOR).fit(X, y)
    assert m.labels_.labels == ["D", "N", "V"]
    D, N, V = 0, 1, 2
    # starts: D, D, N
    np.testing.assert_allclose(m.start_prob_, [2 / 3, 1 / 3, 0])
    # transitions: D->N twice, N->V three times; V never transits (uniform row)
    np.testing.assert_allclose(m.transition_prob_[D], [0, 1, 0])
    np.testing.assert_allclose(m.transition_prob_[N], [0, 0, 1])
    np.testing.assert_allclose(m.transition_prob_[V], [1 / 3] * 3)
    voc = m.vocabulary_
    e = m.emission_prob_
    assert e[N, voc.index("dog")] == pytest.approx(2 / 3)
    assert e[N, voc.index("dogs")] == pytest.approx(1 / 3)
    assert e[D, voc.index("the")] == pytest.approx(1 / 2)
    assert e[V, voc.index("bark")] == pytest.approx(1 / 3)
    # add-lambda smoothing: (count + lambda) / (total + lambda * V)
    ms = CategoricalHMM(start_prior=0, transition_prior=0, emission_prior=0.5).fit(X, y)
    nv = ms.n_features_
    assert ms.emission_prob_[N, voc.index("dog")] == pytest.approx((2 + 0.5) / (3 + 0.5 * nv))
    assert ms.predict([["the", "dogs", "sleeps"]]) == [["D", "N", "V"]]


def test_semi_supervised_labeled_positions_keep_their_label():
    rs = np.random.RandomState(0)
    s, A, B = random_params(rs, 3, 8, peaked=3.0)
    x, z, lengths = sample_hmm(rs, s, A, B, n_seq=60, length=12)
    names = np.array(["A", "B", "C"])
    offsets = lengths_to_offsets(lengths)
    X = [[f"w{i}" for i in x[a:b]] for a, b in zip(offsets[:-1], offsets[1:])]
    y = []
    for i, (a, b) in enumerate(zip(offsets[:-1], offsets[1:])):
        if i % 3 == 0:
            y.append(None)  # unlabeled sentence
        else:
            tags = names[z[a:b]].tolist()
            tags[1] = None  # unlabeled token
            y.append(tags)
    m = CategoricalHMM(n_iter=10, random_state=0).fit(X, y)
    assert m.n_states_ == 3 and m.labels_.labels == ["A", "B", "C"]
    h = np.asarray(m.monitor_.history)
    assert np.all(np.diff(h) >= -1e-9 * np.abs(h[1:]))
    # clamp labels opposite to what the model would choose: decoding must keep them
    batch = m.encode(X)
    free = m.transform(batch, kind="viterbi")
    forced = (free + 1) % 3
    labels = np.full(batch.n_tokens, -1, np.int32)
    labels[::4] = forced[::4]
    clamped = RaggedBatch(batch.ids, batch.offsets, labels)
    path = m.predict(clamped)
    post = m.predict_proba(clamped)
    np.testing.assert_array_equal(path[::4], forced[::4])
    np.testing.assert_allclose(post[np.arange(0, batch.n_tokens, 4), forced[::4]], 1.0, atol=1e-12)
    # the states are the labels: tagging is nearly as good as with the true parameters
    oracle = with_params(CategoricalHMM(3), s, A, B)
    acc_oracle = np.mean(oracle.predict(x, lengths) == z)
    assert np.mean(free == z) > acc_oracle - 0.05


# ----------------------------------------------------------------------------- k-best
def test_kbest_with_k_equal_to_n_states_is_exact():
    rs = np.random.RandomState(2)
    K, V = 5, 9
    x, lengths = random_data(rs, n_seq=25, V=V)
    m = CategoricalHMM(K, n_iter=2, random_state=0).fit(x, lengths=lengths)
    args = (x, lengths_to_offsets(lengths), m.emission_prob_, m.transition_prob_,
            m.start_prob_)
    exact, kb = hmm_expected_counts(*args), hmm_expected_counts(*args, kbest=K)
    for a, b in zip(exact[:3], kb[:3]):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    assert kb.log_z.sum() == pytest.approx(exact.log_z.sum(), rel=1e-12)
    # also with labeled positions clamped
    labels = np.where(rs.rand(x.size) < 0.3, rs.randint(0, K, x.size), -1).astype(np.int32)
    exact = hmm_expected_counts(*args, labels=labels)
    kb = hmm_expected_counts(*args, labels=labels, kbest=K)
    np.testing.assert_allclose(kb.emission, exact.emission, rtol=1e-9, atol=1e-12)
    assert kb.log_z.sum() == pytest.approx(exact.log_z.sum(), rel=1e-12)


def test_kbest_smaller_beam_is_close_and_trains():
    rs = np.random.RandomState(5)
    K, V = 12, 30
    s, A, B = random_params(rs, K, V, peaked=4.0)
    x, _, lengths = sample_hmm(rs, s, A, B, n_seq=40, length=20)
    args = (x, lengths_to_offsets(lengths), B, A, s)
    exact, kb = hmm_expected_counts(*args), hmm_expected_counts(*args, kbest=6)
    # per-token log-likelihood
    assert abs(kb.log_z.sum() - exact.log_z.sum()) / x.size < 0.02
    assert kb.emission.sum() == pytest.approx(x.size)  # each token's posterior sums to one
    # measured: total variation of about 0.06 per token between beam and exact posteriors
    assert np.abs(kb.emission - exact.emission).sum() / 2 / x.size < 0.1
    fit = CategoricalHMM(K, kbest=6, n_iter=8, tol=-np.inf, random_state=0).fit(x, lengths=lengths)
    assert fit.monitor_.history[-1] > fit.monitor_.history[0]


# ----------------------------------------------------------------------------- online EM
def test_online_em_improves_likelihood():
    rs = np.random.RandomState(6)
    s, A, B = random_params(rs, 4, 12, peaked=3.0)
    x, _, lengths = sample_hmm(rs, s, A, B, n_seq=300, length=10)
    family = HMMFamily(4, 12)
    first = family.init_params(family.summarize(RaggedBatch.from_lengths(x, lengths)), 0)
    init = with_params(CategoricalHMM(4), *first[:3])
    start = dict(start_prob=init.start_prob_, transition_prob=init.transition_prob_,
                 emission_prob=init.emission_prob_)
    ll0 = init.score(x, lengths)
    online = CategoricalHMM(4, algorithm="online", batch_size=30, n_iter=3, tol=-np.inf,
                            init=start, random_state=0).fit(x, lengths=lengths)
    batch = CategoricalHMM(4, n_iter=3, tol=-np.inf, init=start).fit(x, lengths=lengths)
    ll_online, ll_batch = online.score(x, lengths), batch.score(x, lengths)
    assert ll_online > ll0 + 0.02 * x.size
    # ten updates per pass make three passes of online EM at least as good as 3 batch steps
    assert ll_online > ll_batch
    assert len(online.monitor_.history) == 3


# ----------------------------------------------------------------------------- multi-domain
def shifted_domains(rs, n_seq=80, length=12):
    """Two domains, same chain; domain 1 emits from a different distribution."""
    K, V = 3, 10
    s, A, B0 = random_params(rs, K, V, peaked=3.0)
    B1 = np.roll(B0, 5, axis=1)
    x0, _, l0 = sample_hmm(rs, s, A, B0, n_seq // 2, length)
    x1, _, l1 = sample_hmm(rs, s, A, B1, n_seq // 2, length)
    x = np.concatenate([x0, x1])
    lengths = np.concatenate([l0, l1])
    domains = np.array(["news"] * (n_seq // 2) + ["web"] * (n_seq // 2))
    return x, lengths, domains


def test_tied_blocks_identical_untied_differ():
    rs = np.random.RandomState(7)
    x, lengths, domains = shifted_domains(rs)
    tie = {"start": "shared", "transitions": "shared", "emissions": "per_domain"}
    m = MultiDomainHMM(3, ["news", "web"], tie=tie, n_iter=20, random_state=0).fit(
        x, lengths=lengths, domains=domains)
    s0, a0, e0 = m.domain_params("news")
    s1, a1, e1 = m.domain_params("web")
    np.testing.assert_array_equal(s0, s1)
    np.testing.assert_array_equal(a0, a1)
    assert m.transition_prob_.shape == (3, 3) and m.emission_prob_.shape == (2, 3, 10)
    assert np.abs(e0 - e1).max() > 0.2
    # hierarchical: domain parts differ, shared part common, lambdas learned in [0, 1]
    h = MultiDomainHMM(3, ["news", "web"], n_iter=20, random_state=0).fit(
        x, lengths=lengths, domains=domains)
    assert h.emission_prob_.shape == (3, 10) and h.domain_emission_prob_.shape == (2, 3, 10)
    assert np.all((h.mixing_weight_ >= 0) & (h.mixing_weight_ <= 1))
    assert not np.allclose(h.mixing_weight_, 0.5)
    assert np.abs(h.domain_params("news")[2] - h.domain_params("web")[2]).max() > 0.1
    # a shared-emission model fits the shifted data worse than per-domain emissions
    shared = MultiDomainHMM(3, ["news", "web"], tie={"emissions": "shared"}, n_iter=20,
                            random_state=0).fit(x, lengths=lengths, domains=domains)
    assert m.score(x, lengths, domains) > shared.score(x, lengths, domains)
    with pytest.raises(ValueError, match="pass domains"):
        m.predict(x, lengths)
    with pytest.raises(ValueError, match="is not one of"):
        m.predict(x, lengths, domains=["news", "blog"] * 40)


def test_multidomain_labeled_source_unlabeled_target():
    rs = np.random.RandomState(8)
    x, lengths, domains = shifted_domains(rs, n_seq=40, length=8)
    offsets = lengths_to_offsets(lengths)
    X = [[f"w{i}" for i in x[a:b]] for a, b in zip(offsets[:-1], offsets[1:])]
    # label the source by a deterministic rule of the word, leave the target unlabeled
    y = [[("L" if int(w[1:]) < 5 else "H") for w in s] if d == "news" else None
         for s, d in zip(X, domains)]
    m = MultiDomainHMM(n_domains=["news", "web"], n_iter=5, random_state=0).fit(
        X, y, domains=domains)
    assert m.labels_.labels == ["H", "L"] and m.n_states_ == 2
    pred = m.predict(X[:20], domains=domains[:20])
    flat = list(itertools.chain.from_iterable(pred))
    gold = list(itertools.chain.from_iterable(y[:20]))
    assert np.mean([a == b for a, b in zip(flat, gold)]) > 0.9


# ----------------------------------------------------------------------------- representations
def test_transform_kinds_are_consistent():
    X = [["the", "dog", "barks"], ["a", "cat", "sleeps"], ["the", "cat", "barks"]] * 10
    m = CategoricalHMM(4, n_iter=5, random_state=0, min_count=2).fit(X)
    test = [["the", "Zebra", "barks"], ["unseenly", "dog"]]
    n = 5
    vit = m.transform(test, kind="viterbi")
    assert vit.dtype == np.int32 and vit.shape == (n,)
    post = m.transform(test, kind="posterior")
    assert post.shape == (n, 4)
    np.testing.assert_allclose(post.sum(1), 1.0, atol=1e-10)
    ids, w = m.transform(test, kind="posterior", top_k=2)
    assert ids.shape == (n, 2) and ids.dtype == np.int32
    np.testing.assert_allclose(w[:, 0], post.max(1))
    assert np.all(w[:, 0] >= w[:, 1])
    typ = m.transform(test, kind="type")
    np.testing.assert_allclose(typ.sum(1), 1.0, atol=1e-10)
    np.testing.assert_array_equal(m.transform(test, kind="type_cluster"), typ.argmax(1))
    # unseen words are represented through their signature, like the vocabulary encodes them
    table = m.type_distribution()
    assert table.shape == (m.n_features_, 4)
    enc = m.vocabulary_.encode_tokens(["the", "Zebra", "barks", "unseenly", "dog"])
    np.testing.assert_allclose(typ, table[enc])
    np.testing.assert_allclose(m.type_distribution(["Zebra"]), table[enc[1:2]])
    # p(z|w) proportional to p(w|z) p(z)
    from hmmtl.hmm.representations import stationary

    p = stationary(m.start_prob_, m.transition_prob_)
    ref = m.emission_prob_[:, enc[0]] * p
    np.testing.assert_allclose(typ[0], ref / ref.sum(), rtol=1e-10)
    # average posterior of each type over a corpus
    avg = m.type_distribution(X=X)
    the = m.vocabulary_.index("the")
    batch = m.encode(X)
    full = m.predict_proba(X)
    np.testing.assert_allclose(avg[the], full[batch.ids == the].mean(0), rtol=1e-10)
    with pytest.raises(ValueError, match="kind must be"):
        m.transform(test, kind="brown")


def test_sample_and_score_agree():
    rs = np.random.RandomState(9)
    K, V = 3, 6
    s, A, B = random_params(rs, K, V, peaked=2.0)
    m = with_params(CategoricalHMM(K), s, A, B)
    x, z = m.sample(400, 25, random_state=0)
    assert x.shape == z.shape == (10000,)
    lengths = np.full(400, 25)
    # the sampled states' empirical transitions match the model
    zz = z.reshape(400, 25)
    counts = np.zeros((K, K))
    np.add.at(counts, (zz[:, :-1].ravel(), zz[:, 1:].ravel()), 1)
    assert np.abs(counts / counts.sum(1, keepdims=True) - A).max() < 0.05
    emp = np.zeros((K, V))
    np.add.at(emp, (z, x), 1)
    assert np.abs(emp / emp.sum(1, keepdims=True) - B).max() < 0.05
    # per-sentence scores sum to the total; perplexity is exp of the per-token loss
    per = m.score_samples(x, lengths)
    assert per.shape == (400,)
    assert m.score(x, lengths) == pytest.approx(per.sum())
    assert m.perplexity(x, lengths) == pytest.approx(np.exp(-per.sum() / x.size))
    # forward_backward on the gathered unary agrees
    r = forward_backward(np.log(B.T[x]), np.log(A), lengths_to_offsets(lengths), start=np.log(s))
    np.testing.assert_allclose(per, r.log_z, rtol=1e-12)


# ----------------------------------------------------------------------------- API / errors
def test_sklearn_clone_and_params():
    m = MultiDomainHMM(8, ["a", "b"], tie={"emissions": "per_domain"}, kbest=4, dtype="float32")
    c = clone(m)
    assert c.get_params() == m.get_params()
    assert c.get_params()["tie"] == {"emissions": "per_domain"}
    c.set_params(n_states=5)
    assert c.n_states == 5 and m.n_states == 8
    h = CategoricalHMM(n_states=3, lowercase=True)
    assert clone(h).get_params() == h.get_params()
    with pytest.raises(Exception, match="not fitted"):
        CategoricalHMM().predict([["a"]])


def test_input_errors_name_what_went_wrong():
    m, x, lengths = fitted_id_model()
    with pytest.raises(ValueError, match="lengths sum to"):
        m.score(x, lengths[:-1])
    with pytest.raises(ValueError, match="out of range"):
        m.predict(np.array([0, 1, 99]))
    with pytest.raises(ValueError, match="strings"):
        m.predict([["a", "b"]])
    with pytest.raises(ValueError, match="n_iter must be"):
        CategoricalHMM(n_iter=0).fit(x, lengths=lengths)
    with pytest.raises(ValueError, match="tie"):
        MultiDomainHMM(tie={"emission": "shared"}).fit(x, lengths=lengths,
                                                       domains=[0] * len(lengths))
    with pytest.raises(ValueError, match="needs the domain"):
        MultiDomainHMM().fit(x, lengths=lengths)
    with pytest.raises(ValueError, match="sentence 0 has 3 tokens but 2 labels"):
        CategoricalHMM().fit([["a", "b", "c"]], [["X", "Y"]])


def _roundtrip(model, tmp_path):
    path = tmp_path / "model.hmmtl"
    model.save(path)
    return type(model).load(path)


def test_save_load_round_trip(tmp_path):
    X = [w for w, _ in TAGGED] * 3
    y = [t for _, t in TAGGED] * 3
    sup = CategoricalHMM(min_count=1).fit(X, y)
    unsup = CategoricalHMM(3, n_iter=3, random_state=0, dtype="float32").fit(X)
    rs = np.random.RandomState(7)
    x, lengths, domains = shifted_domains(rs, n_seq=20, length=6)
    md = MultiDomainHMM(3, ["news", "web"], n_iter=3, random_state=0).fit(
        x, lengths=lengths, domains=domains)
    test = [["the", "cats", "bark"], ["dogs", "sleep", "Quickly"]]
    for model in (sup, unsup):
        back = _roundtrip(model, tmp_path)
        assert back.predict(test) == model.predict(test)
        np.testing.assert_array_equal(back.predict_proba(test), model.predict_proba(test))
        assert back.vocabulary_ == model.vocabulary_
        assert back.get_params() == model.get_params()
        assert back.emission_prob_.dtype == model.emission_prob_.dtype
    back = _roundtrip(md, tmp_path)
    np.testing.assert_array_equal(back.predict(x, lengths, domains),
                                  md.predict(x, lengths, domains))
    np.testing.assert_array_equal(back.mixing_weight_, md.mixing_weight_)
    assert back.score(x, lengths, domains) == md.score(x, lengths, domains)


# ----------------------------------------------------------------------------- real corpora
def read_conllu_words(path):
    from hmmtl.io import read_conllu

    return read_conllu(path).sentences


EWT_DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")


@pytest.mark.slow
def test_unsupervised_hmm_beats_unigram_on_ewt_dev(require_file):
    train = list(itertools.chain.from_iterable(
        read_conllu_words(require_file(f"ud/en_ewt/en_ewt-{d}-train.conllu")) for d in EWT_DOMAINS))
    dev = list(itertools.chain.from_iterable(
        read_conllu_words(require_file(f"ud/en_ewt/en_ewt-{d}-dev.conllu")) for d in EWT_DOMAINS))
    m = CategoricalHMM(16, n_iter=20, random_state=0, lowercase=True, min_count=2,
                       emission_prior=0.01).fit(train)
    dev_batch = m.encode(dev)
    hmm_ll = m.score(dev_batch) / dev_batch.n_tokens
    # smoothed unigram model on the same vocabulary (add-0.5)
    counts = np.bincount(m.encode(train).ids, minlength=m.n_features_) + 0.5
    uni_ll = float(np.log(counts / counts.sum())[dev_batch.ids].mean())
    # measured: HMM -6.03, unigram -6.41 nats per token on EWT dev (margin 0.385)
    assert hmm_ll >= uni_ll + 0.3, (hmm_ll, uni_ll)


@pytest.mark.slow
def test_supervised_hmm_tagger_on_conll2000(data_dir, require_file):
    require_file("nltk_data/corpora/conll2000.zip")
    import nltk

    nltk.data.path.insert(0, str(data_dir / "nltk_data"))
    from nltk.corpus import conll2000

    train = conll2000.tagged_sents("train.txt")
    test = conll2000.tagged_sents("test.txt")
    X = [[w for w, _ in s] for s in train]
    y = [[t for _, t in s] for s in train]
    m = CategoricalHMM(min_count=2, transition_prior=0.1, emission_prior=0.01).fit(X, y)
    pred = m.predict([[w for w, _ in s] for s in test])
    gold = list(itertools.chain.from_iterable([t for _, t in s] for s in test))
    acc = np.mean(np.asarray(list(itertools.chain.from_iterable(pred))) == np.asarray(gold))
    assert acc >= 0.95, acc


@pytest.mark.parametrize("make_X, kind", [
    (lambda: [["a", "b"], ["b"]], "TOKEN_LISTS"),
    (lambda: [[0, 1], [1]], "ID_LISTS"),
    (lambda: RaggedBatch(np.array([0, 1, 1], np.int32), np.array([0, 2, 3])), "BATCH"),
    (lambda: [RaggedBatch(np.array([0, 1], np.int32), np.array([0, 2])),
              RaggedBatch(np.array([1], np.int32), np.array([0, 1]))], "PARTITIONS"),
])
def test_fit_finds_the_input_kind_once(make_X, kind, monkeypatch):
    """fit looks at its input once (into a FitInput) and every later step reads that kind:
    the same model as before, with one call of input_kind and none of the sniffers."""
    from hmmtl.hmm import estimators, inputs

    calls = {"input_kind": 0, "is_sentence_list": 0}

    def counting(name, func):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return func(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(inputs, "input_kind", counting("input_kind", inputs.input_kind))
    sniffer = counting("is_sentence_list", inputs.is_sentence_list)
    for module in (inputs, estimators):  # wherever the estimator could reach it
        monkeypatch.setattr(module, "is_sentence_list", sniffer, raising=False)
    model = CategoricalHMM(n_states=2, n_iter=2, random_state=0).fit(make_X())
    # a list is looked into once (by input_kind); a RaggedBatch needs no look at all
    lists = kind in ("TOKEN_LISTS", "ID_LISTS")
    assert calls == {"input_kind": 1, "is_sentence_list": int(lists)}
    assert estimators.InputKind[kind] is inputs.input_kind(make_X())
    assert model.emission_prob_.shape == (2, model.n_features_)
