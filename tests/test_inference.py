"""hmmtl.inference: every backend against brute-force enumeration of all paths on tiny
problems, against the Numba reference on random shapes, and on long, extreme sequences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmmtl.inference import (
    BLOCKED_MIN_STATES,
    VITERBI_BLOCKED_MIN_STATES,
    _array,
    _resolve_backend,
    forward_backward,
    posterior_decode,
    viterbi,
)

# "numpy-generic" runs the array backend without the fused host steps: exactly the
# expressions that run on a GPU under CuPy.
BACKENDS = ["numba", "numpy", "numpy-generic"]


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    if request.param == "numpy-generic":
        monkeypatch.setattr(_array, "FUSED_HOST_STEPS", False)
        return "numpy"
    return request.param


def brute_force(unary, transition, start, end, allowed):
    """log Z, marginals, pair counts, best path and its score of one sequence, by
    enumerating every path (None / -inf when no path is allowed)."""
    L, K = unary.shape
    paths = np.array(list(itertools.product(range(K), repeat=L))).reshape(-1, L)
    if allowed is not None:
        paths = paths[allowed[np.arange(L), paths].all(axis=1)]
    marginals = np.zeros((L, K))
    pairs = np.zeros((K, K))
    if not len(paths):
        return -np.inf, marginals, pairs, None, -np.inf
    scores = start[paths[:, 0]] + end[paths[:, -1]] + unary[np.arange(L), paths].sum(axis=1)
    scores += transition[paths[:, :-1], paths[:, 1:]].sum(axis=1)
    log_z = np.logaddexp.reduce(scores)
    w = np.exp(scores - log_z)
    for t in range(L):
        np.add.at(marginals[t], paths[:, t], w)
    for t in range(L - 1):
        np.add.at(pairs, (paths[:, t], paths[:, t + 1]), w)
    best = int(np.argmax(scores))
    return log_z, marginals, pairs, paths[best], scores[best]


def random_problem(rng, K, lengths, with_ends=True, mask_density=None, scale=2.0):
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(offsets[-1])
    unary = rng.normal(size=(n, K)) * scale
    transition = rng.normal(size=(K, K)) * scale
    start = rng.normal(size=K) if with_ends else None
    end = rng.normal(size=K) if with_ends else None
    allowed = None if mask_density is None else rng.random((n, K)) < mask_density
    return unary, transition, offsets, start, end, allowed


def check_against_brute_force(backend, unary, transition, offsets, start, end, allowed,
                              pair_groups=None):
    K = unary.shape[1]
    s0 = np.zeros(K) if start is None else start
    e0 = np.zeros(K) if end is None else end
    fb = forward_backward(unary, transition, offsets, start, end, allowed,
                          pair_groups=pair_groups, backend=backend)
    vit = viterbi(unary, transition, offsets, start, end, allowed, backend=backend)
    post = posterior_decode(unary, transition, offsets, start, end, allowed, backend=backend)
    n_groups = 1 if pair_groups is None else int(pair_groups.max()) + 1
    expected_pairs = np.zeros((n_groups, K, K))
    for s in range(offsets.shape[0] - 1):
        a, b = offsets[s], offsets[s + 1]
        if a == b:
            assert fb.log_z[s] == 0.0 and vit.score[s] == 0.0
            continue
        log_z, marg, pairs, path, score = brute_force(
            unary[a:b], transition, s0, e0, None if allowed is None else allowed[a:b])
        expected_pairs[0 if pair_groups is None else pair_groups[s]] += pairs
        np.testing.assert_allclose(fb.marginals[a:b], marg, atol=1e-10, rtol=0)
        if path is None:
            assert fb.log_z[s] == -np.inf and vit.score[s] == -np.inf
            assert (vit.path[a:b] == -1).all() and (post[a:b] == -1).all()
            continue
        assert abs(fb.log_z[s] - log_z) < 1e-10
        np.testing.assert_array_equal(vit.path[a:b], path)
        assert abs(vit.score[s] - score) < 1e-10
        np.testing.assert_array_equal(post[a:b], marg.argmax(axis=1))
    got = fb.pair_counts if pair_groups is not None else fb.pair_counts[None]
    np.testing.assert_allclose(got, expected_pairs, atol=1e-10, rtol=0)
    return fb, vit


# ----------------------------------------------------------------------------- brute force

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_ends", [False, True])
@pytest.mark.parametrize("mask_density", [None, 0.7])
def test_brute_force(backend, seed, with_ends, mask_density):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(1, 5))
    lengths = rng.integers(1, 7 if K <= 3 else 6, size=int(rng.integers(1, 4)))
    check_against_brute_force(backend, *random_problem(rng, K, lengths, with_ends,
                                                       mask_density))


def test_brute_force_pair_groups(backend):
    rng = np.random.default_rng(11)
    problem = random_problem(rng, 3, [4, 2, 5, 1, 3, 4], mask_density=0.8)
    groups = np.array([2, 0, 2, 1, 0, 2])
    fb, _ = check_against_brute_force(backend, *problem, pair_groups=groups)
    assert fb.pair_counts.shape == (3, 3, 3)
    fb4 = forward_backward(*problem, pair_groups=groups, n_groups=4, backend=backend)
    assert fb4.pair_counts.shape == (4, 3, 3) and not fb4.pair_counts[3].any()


def test_textbook_two_state_chain(backend):
    # p(z1=0) = p(z1=1) = 1/2, sticky transitions 0.9, one observation favouring state 0
    unary = np.log([[0.8, 0.2], [0.5, 0.5]])
    transition = np.log([[0.9, 0.1], [0.1, 0.9]])
    start = np.log([0.5, 0.5])
    fb = forward_backward(unary, transition, [0, 2], start, backend=backend)
    z = 0.5 * 0.8 * 0.5 + 0.5 * 0.2 * 0.5  # sum over z1 of p(z1) p(x1|z1) * 0.5
    assert fb.log_z[0] == pytest.approx(np.log(z), abs=1e-12)
    np.testing.assert_allclose(fb.marginals[0], [0.8, 0.2], atol=1e-12)
    np.testing.assert_allclose(fb.marginals[1], [0.8 * 0.9 + 0.2 * 0.1, 0.8 * 0.1 + 0.2 * 0.9],
                               atol=1e-12)
    np.testing.assert_allclose(fb.pair_counts, [[0.72, 0.08], [0.02, 0.18]], atol=1e-12)


def test_mask_allowing_exactly_one_path(backend):
    rng = np.random.default_rng(3)
    unary, transition, offsets, start, end, _ = random_problem(rng, 4, [5, 1, 6])
    path = rng.integers(0, 4, size=offsets[-1])
    allowed = np.zeros(unary.shape, dtype=bool)
    allowed[np.arange(offsets[-1]), path] = True
    fb, vit = check_against_brute_force(backend, unary, transition, offsets, start, end,
                                        allowed)
    np.testing.assert_array_equal(vit.path, path)
    np.testing.assert_allclose(fb.log_z, vit.score, atol=1e-12)
    np.testing.assert_allclose(fb.marginals, allowed.astype(float), atol=1e-12)


def test_mask_allowing_no_path(backend):
    rng = np.random.default_rng(4)
    unary, transition, offsets, start, end, _ = random_problem(rng, 3, [3, 4, 2])
    allowed = np.ones(unary.shape, dtype=bool)
    allowed[4] = False  # second sequence: a token with no allowed state
    fb, vit = check_against_brute_force(backend, unary, transition, offsets, start, end,
                                        allowed)
    assert fb.log_z[1] == -np.inf and np.isfinite(fb.log_z[[0, 2]]).all()
    assert not fb.marginals[3:7].any()
    assert (vit.path[3:7] == -1).all() and (vit.path[:3] >= 0).all()
    # a path cut by transitions of -inf rather than by the mask
    transition = np.full((2, 2), -np.inf)
    transition[0, 1] = 0.0
    fb = forward_backward(np.zeros((3, 2)), transition, [0, 3], backend=backend)
    vit = viterbi(np.zeros((3, 2)), transition, [0, 3], backend=backend)
    assert fb.log_z[0] == -np.inf and vit.score[0] == -np.inf and (vit.path == -1).all()


def test_empty_sequences_inside_a_batch(backend):
    rng = np.random.default_rng(5)
    problem = random_problem(rng, 3, [0, 3, 0, 0, 2, 0], mask_density=0.9)
    fb, _ = check_against_brute_force(backend, *problem)
    assert fb.log_z.shape == (6,) and fb.log_z[[0, 2, 3, 5]].tolist() == [0.0] * 4


@pytest.mark.parametrize("offsets", [[0], [0, 0], [0, 0, 0]])
def test_empty_batch(backend, offsets):
    unary = np.zeros((0, 3))
    fb = forward_backward(unary, np.zeros((3, 3)), offsets, backend=backend)
    vit = viterbi(unary, np.zeros((3, 3)), offsets, backend=backend)
    n_seq = len(offsets) - 1
    assert fb.marginals.shape == (0, 3) and fb.pair_counts.shape == (3, 3)
    assert not fb.pair_counts.any()
    np.testing.assert_array_equal(fb.log_z, np.zeros(n_seq))
    assert vit.path.shape == (0,) and vit.path.dtype == np.int32
    np.testing.assert_array_equal(vit.score, np.zeros(n_seq))
    assert posterior_decode(unary, np.zeros((3, 3)), offsets, backend=backend).shape == (0,)


def test_uniform_transitions_are_a_mixture_model(backend):
    # with transitions independent of the previous state, each token's posterior is the
    # normalized product of its own potentials: the chain factorizes into a mixture model
    rng = np.random.default_rng(6)
    unary = rng.normal(size=(40, 5))
    prior = rng.normal(size=5)
    transition = np.tile(prior, (5, 1))
    fb = forward_backward(unary, transition, [0, 7, 40], start=prior, backend=backend)
    expected = np.exp(unary + prior)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fb.marginals, expected, atol=1e-12)
    log_z = [np.logaddexp.reduce(unary[a:b] + prior, axis=1).sum() for a, b in [(0, 7), (7, 40)]]
    np.testing.assert_allclose(fb.log_z, log_z, atol=1e-10)


# ----------------------------------------------------------------------------- properties

@st.composite
def problems(draw):
    K = draw(st.integers(1, 6))
    lengths = draw(st.lists(st.integers(0, 9), min_size=0, max_size=8))
    seed = draw(st.integers(0, 2**31 - 1))
    masked = draw(st.booleans())
    with_ends = draw(st.booleans())
    rng = np.random.default_rng(seed)
    return random_problem(rng, K, lengths, with_ends, 0.75 if masked else None,
                          scale=draw(st.sampled_from([0.5, 3.0, 30.0])))


@settings(max_examples=30, deadline=None)
@given(problems())
def test_backends_agree_with_numba(problem):
    ref = forward_backward(*problem, backend="numba")
    ref_vit = viterbi(*problem, backend="numba")
    offsets = problem[2]
    lengths = np.diff(offsets)
    finite = np.isfinite(ref.log_z)
    # properties of the reference itself
    sums = ref.marginals.sum(axis=1)
    live = np.repeat(finite, lengths)
    np.testing.assert_allclose(sums[live], 1.0, atol=1e-9)
    assert not ref.marginals[~live].any()
    n_transitions = np.sum(np.where(finite, np.maximum(lengths - 1, 0), 0))
    assert ref.pair_counts.sum() == pytest.approx(n_transitions, abs=1e-8)
    assert (ref.log_z[finite] >= ref_vit.score[finite] - 1e-9).all()
    assert ((ref_vit.path >= 0) == live).all()
    for generic in (False, True):
        _array.FUSED_HOST_STEPS = not generic
        try:
            got = _array.forward_backward(*problem, backend="numpy", block_elements=64)
            vit = _array.viterbi(*problem, backend="numpy", block_elements=64)
        finally:
            _array.FUSED_HOST_STEPS = True
        np.testing.assert_allclose(got.marginals, ref.marginals, atol=1e-10, rtol=0)
        np.testing.assert_allclose(got.pair_counts, ref.pair_counts, atol=1e-9, rtol=1e-12)
        np.testing.assert_allclose(got.log_z, ref.log_z, atol=1e-9, rtol=1e-12)
        np.testing.assert_array_equal(vit.path, ref_vit.path)
        np.testing.assert_allclose(vit.score, ref_vit.score, atol=1e-9, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(problems())
def test_viterbi_score_is_the_score_of_its_path(problem):
    unary, transition, offsets, start, end, allowed = problem
    K = unary.shape[1]
    start = np.zeros(K) if start is None else start
    end = np.zeros(K) if end is None else end
    vit = viterbi(*problem)
    for s in range(offsets.shape[0] - 1):
        a, b = offsets[s], offsets[s + 1]
        p = vit.path[a:b]
        if a == b or p[0] < 0:
            continue
        score = start[p[0]] + end[p[-1]] + unary[np.arange(a, b), p].sum()
        score += transition[p[:-1], p[1:]].sum()
        assert vit.score[s] == pytest.approx(score, abs=1e-9)
        if allowed is not None:
            assert allowed[np.arange(a, b), p].all()


# ----------------------------------------------------------------------------- numerics

@pytest.mark.slow
@pytest.mark.parametrize("backend_name", ["numba", "numpy"])
def test_long_peaked_sequence_has_no_underflow(backend_name):
    rng = np.random.default_rng(7)
    n, K = 100_000, 6
    unary = rng.normal(size=(n, K)) * 40.0  # peaked: hundreds of nats between states
    transition = np.log(rng.dirichlet(np.full(K, 0.3), size=K))
    offsets = [0, n]
    fb = forward_backward(unary, transition, offsets, backend=backend_name)
    assert np.isfinite(fb.marginals).all() and np.isfinite(fb.log_z).all()
    np.testing.assert_allclose(fb.marginals.sum(axis=1), 1.0, atol=1e-9)
    assert fb.pair_counts.sum() == pytest.approx(n - 1, rel=1e-9)
    vit = viterbi(unary, transition, offsets)
    assert fb.log_z[0] >= vit.score[0] - 1e-6 * abs(vit.score[0])
    if backend_name == "numpy":
        ref = forward_backward(unary, transition, offsets, backend="numba")
        assert fb.log_z[0] == pytest.approx(ref.log_z[0], rel=1e-12)
        np.testing.assert_allclose(fb.marginals, ref.marginals, atol=1e-9)


@pytest.mark.parametrize("backend_name", ["numba", "numpy"])
def test_extreme_transitions_use_the_log_space_fallback(backend_name):
    # transitions of -800 nats underflow exp() to 0 in the scaled recursion; the mask forces
    # a switch of state every 1,000 tokens, so the only allowed path uses them
    n, switch = 20_000, 1_000
    transition = np.array([[0.0, -800.0], [-800.0, 0.0]])
    state = (np.arange(n) // switch) % 2
    allowed = np.zeros((n, 2), dtype=bool)
    allowed[np.arange(n), state] = True
    unary = np.zeros((n, 2))
    offsets = [0, 5, n]  # a short easy sequence in the same batch keeps its scaled result
    fb = forward_backward(unary, transition, offsets, allowed=allowed, backend=backend_name)
    n_switches = n // switch - 1
    assert fb.log_z[1] == pytest.approx(-800.0 * n_switches, abs=1e-9)
    assert fb.log_z[0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(fb.marginals, allowed.astype(float), atol=1e-12)
    counts = np.zeros((2, 2))
    for a, b in [(0, 5), (5, n)]:
        np.add.at(counts, (state[a:b - 1], state[a + 1:b]), 1)
    np.testing.assert_allclose(fb.pair_counts, counts, atol=1e-9)
    vit = viterbi(unary, transition, offsets, allowed=allowed, backend=backend_name)
    np.testing.assert_array_equal(vit.path, state)


@pytest.mark.parametrize("backend_name", ["numba", "numpy"])
def test_float32_agrees_with_float64(backend_name):
    rng = np.random.default_rng(8)
    unary, transition, offsets, start, end, allowed = random_problem(
        rng, 8, rng.integers(1, 40, size=50), mask_density=0.9)
    f64 = forward_backward(unary, transition, offsets, start, end, allowed, backend=backend_name)
    f32 = forward_backward(unary.astype(np.float32), transition, offsets, start, end, allowed,
                           backend=backend_name)
    assert f32.marginals.dtype == np.float32 and f32.log_z.dtype == np.float64
    live = np.isfinite(f64.log_z)
    np.testing.assert_allclose(f32.marginals, f64.marginals, atol=2e-5)
    np.testing.assert_allclose(f32.log_z[live], f64.log_z[live], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(f32.pair_counts, f64.pair_counts, rtol=1e-4, atol=1e-3)
    v32 = viterbi(unary.astype(np.float32), transition, offsets, start, end, allowed,
                  backend=backend_name)
    v64 = viterbi(unary.astype(np.float32).astype(np.float64), transition, offsets, start, end,
                  allowed, backend=backend_name)
    np.testing.assert_array_equal(v32.path, v64.path)


def test_array_backend_blocks_do_not_change_results():
    rng = np.random.default_rng(9)
    problem = random_problem(rng, 5, rng.integers(0, 30, size=80), mask_density=0.9)
    groups = rng.integers(0, 3, size=80)
    ref = forward_backward(*problem, pair_groups=groups, backend="numba")
    for block_elements in (5, 64, 1 << 20):  # smaller than one sequence, a few, all
        got = _array.forward_backward(*problem, pair_groups=groups, backend="numpy",
                                      block_elements=block_elements)
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a, b, atol=1e-10)


def test_large_k_array_backend_agrees_with_numba():
    rng = np.random.default_rng(10)
    K = 160
    unary, transition, offsets, start, end, _ = random_problem(
        rng, K, rng.integers(1, 25, size=30), scale=1.0)
    ref = forward_backward(unary, transition, offsets, start, end, backend="numba")
    got = forward_backward(unary, transition, offsets, start, end, backend="numpy")
    np.testing.assert_allclose(got.marginals, ref.marginals, atol=1e-10)
    np.testing.assert_allclose(got.pair_counts, ref.pair_counts, atol=1e-9)
    np.testing.assert_allclose(got.log_z, ref.log_z, atol=1e-9)
    vit = viterbi(unary, transition, offsets, start, end, backend="numpy")
    ref_vit = viterbi(unary, transition, offsets, start, end, backend="numba")
    np.testing.assert_array_equal(vit.path, ref_vit.path)


def test_auto_backend_choice():
    """``"auto"`` is Numba for host arrays of any size (CuPy only for device arrays); a
    named backend is kept; an unknown one is refused with the list."""
    for shape in [(2, 3), (2, 512), (0, 4)]:
        assert _resolve_backend("auto", np.zeros(shape)) == "numba"
    for backend in ("numba", "numpy"):
        assert _resolve_backend(backend, np.zeros((2, 3))) == backend
    with pytest.raises(ValueError, match="backend must be one of"):
        _resolve_backend("gpu", np.zeros((2, 3)))


@pytest.mark.parametrize("K", [BLOCKED_MIN_STATES, 13])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("block_rows", [1, 7, 4096])
def test_blocked_kernel_matches_the_scalar_kernel(K, masked, block_rows, monkeypatch):
    """The blocked (GEMM) Numba path and the per-sequence path agree, including empty
    sequences, pair groups, masks and blocks smaller than one sequence."""
    import hmmtl.inference as inf

    rng = np.random.default_rng(K + block_rows)
    lengths = rng.integers(0, 12, size=40)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    unary = rng.normal(size=(offsets[-1], K)) * 3
    transition, start, end = rng.normal(size=(K, K)), rng.normal(size=K), rng.normal(size=K)
    allowed = rng.random((offsets[-1], K)) < 0.7 if masked else None
    groups = rng.integers(0, 3, size=40)
    monkeypatch.setattr(inf, "BLOCK_ROWS", block_rows)
    args = (unary, transition, offsets, start, end, allowed)
    got = inf._forward_backward_blocked(*prepare_args(*args), groups, 3, True)
    ref = inf.forward_backward_scalar(*prepare_args(*args), groups, 3, True)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, atol=1e-9)


@pytest.mark.parametrize("K", [3, 8, 19, 64])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("block_rows, tile", [(1, 1), (7, 3), (1024, 8)])
def test_blocked_viterbi_matches_the_per_sequence_kernel(K, masked, block_rows, tile,
                                                         monkeypatch):
    """The blocked Viterbi (scores only, back pointers recomputed) gives the per-sequence
    kernel's paths and scores exactly, ties included (integer potentials make many), with
    empty sequences, masks that leave some sequences no path, any K (the max-plus step is
    unrolled over 8 states), blocks smaller than a sequence and any tile size."""
    import hmmtl.inference as inf
    from hmmtl.inference._numba import viterbi_kernel

    rng = np.random.default_rng(K * 100 + block_rows + tile)
    lengths = rng.integers(0, 14, size=60)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(offsets[-1])
    unary = rng.integers(-3, 1, size=(n, K)).astype(np.float64)
    transition = rng.integers(-2, 1, size=(K, K)).astype(np.float64)
    transition[rng.random((K, K)) < 0.2] = -np.inf
    start, end = rng.integers(-1, 1, size=K) * 1.0, rng.integers(-1, 1, size=K) * 1.0
    allowed = None
    if masked:
        allowed = rng.random((n, K)) < 0.6
        allowed[offsets[np.flatnonzero(lengths)[0]]] = False  # one sequence without a path
    monkeypatch.setattr(inf, "VITERBI_BLOCK_ROWS", block_rows)
    monkeypatch.setattr(inf, "VITERBI_TILE", tile)
    monkeypatch.setattr(inf, "VITERBI_BLOCKED_MIN_STATES", 1)
    got = viterbi(unary, transition, offsets, start, end, allowed)
    u, tr, off, st, en, al, use_mask = prepare_args(unary, transition, offsets, start, end,
                                                    allowed)
    ref_path, ref_score = viterbi_kernel(u, np.zeros(0, np.int64), False, tr, st, en, al,
                                         use_mask, off, inf.chunk_sequences(off, 3))
    np.testing.assert_array_equal(got.score, ref_score)
    np.testing.assert_array_equal(got.path, ref_path)
    if masked:
        assert np.isneginf(got.score).any() and np.isfinite(got.score).any()
    assert (got.score[lengths == 0] == 0).all()


def prepare_args(unary, transition, offsets, start, end, allowed):
    from hmmtl.inference import _prepare

    return _prepare(unary, transition, offsets, start, end, allowed)


def test_blocked_kernel_redoes_failed_sequences_exactly():
    """Transitions spanning 2,000 nats with a mask forcing switches break the scaled
    recursion; those sequences are redone in log space and the totals stay exact."""
    K = BLOCKED_MIN_STATES
    transition = np.full((K, K), -2000.0)
    np.fill_diagonal(transition, 0.0)
    lengths = [4, 3, 5]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    allowed = np.ones((12, K), dtype=bool)
    allowed[0, 1:] = False
    allowed[1, :] = False
    allowed[1, 1] = True  # sequence 0 must switch 0 -> 1: a -2000 nat step
    unary = np.zeros((12, K))
    r = forward_backward(unary, transition, offsets, allowed=allowed)
    ref = forward_backward(unary, transition, offsets, allowed=allowed, backend="numpy")
    assert r.log_z[0] < -1999
    np.testing.assert_allclose(r.log_z, ref.log_z, rtol=1e-12)
    np.testing.assert_allclose(r.marginals, ref.marginals, atol=1e-10)
    np.testing.assert_allclose(r.pair_counts, ref.pair_counts, atol=1e-9)


def test_return_device_is_a_no_op_on_the_host():
    fb = forward_backward(np.zeros((3, 2)), np.zeros((2, 2)), [0, 3], backend="numpy",
                          return_device=True)
    assert isinstance(fb.marginals, np.ndarray)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("backend_name", ["numba", "numpy"])
@pytest.mark.parametrize("change, error, match", [
    (dict(unary=np.zeros(4)), ValueError, r"unary must have shape \(n_tokens, n_states\), "
                                          r"got shape \(4,\)"),
    (dict(unary=np.zeros((4, 0))), ValueError, "at least one state"),
    (dict(transition=np.zeros((3, 2))), ValueError,
     r"transition must have shape \(2, 2\) \(n_states = 2 from unary\), got shape \(3, 2\)"),
    (dict(start=np.zeros(3)), ValueError, r"start must have shape \(2,\)"),
    (dict(end=np.zeros((2, 1))), ValueError, r"end must have shape \(2,\)"),
    (dict(unary=np.array([[0, 0], [0, np.nan], [0, 0], [0, 0]])), ValueError,
     r"unary contains NaN \(first at index \(1, 1\)\)"),
    (dict(transition=np.array([[0, np.inf], [0, 0]])), ValueError, r"transition contains \+inf"),
    (dict(unary=np.zeros((4, 2), dtype=complex)), TypeError, "unary must be a float array"),
    (dict(offsets=[0, 3]), ValueError, r"offsets\[-1\] = 3 but there are 4 tokens"),
    (dict(offsets=[0, 3, 2, 4]), ValueError, "offsets must be non-decreasing"),
    (dict(offsets=[1, 4]), ValueError, r"offsets\[0\] must be 0"),
    (dict(offsets=[0.0, 4.0]), TypeError, "offsets must hold integers"),
    (dict(allowed=np.ones((4, 3), dtype=bool)), ValueError, r"allowed must have shape \(4, 2\)"),
    (dict(allowed=np.ones((4, 2))), TypeError, "allowed must be a boolean mask, got dtype float64"),
])
def test_bad_input(backend_name, change, error, match):
    args = dict(unary=np.zeros((4, 2)), transition=np.zeros((2, 2)), offsets=[0, 1, 4],
                start=None, end=None, allowed=None)
    args.update(change)
    with pytest.raises(error, match=match):
        forward_backward(**args, backend=backend_name)
    with pytest.raises(error, match=match):
        viterbi(**args, backend=backend_name)


def test_bad_pair_groups_and_backend():
    args = (np.zeros((4, 2)), np.zeros((2, 2)), [0, 1, 4])
    with pytest.raises(ValueError, match=r"pair_groups must have shape \(2,\)"):
        forward_backward(*args, pair_groups=[0, 1, 1])
    with pytest.raises(ValueError, match=r"pair_groups must lie in \[0, 2\), got values in "
                                         r"\[0, 5\]"):
        forward_backward(*args, pair_groups=[0, 5], n_groups=2, backend="numpy")
    with pytest.raises(ValueError, match="backend must be one of"):
        forward_backward(*args, backend="torch")


def test_integer_potentials_are_accepted():
    fb = forward_backward(np.zeros((3, 2), dtype=np.int64), np.zeros((2, 2), dtype=int), [0, 3])
    assert fb.marginals.dtype == np.float64
    np.testing.assert_allclose(fb.marginals, 0.5)


# ----------------------------------------------------------------------------- GPU

def _cupy_or_skip():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA GPU")
    except Exception as exc:  # noqa: BLE001 - any CUDA runtime error means no usable GPU
        pytest.skip(f"no usable CUDA GPU ({exc})")
    return cupy


@pytest.mark.gpu
@pytest.mark.parametrize("masked", [False, True])
def test_cupy_agrees_with_numba(masked):
    cupy = _cupy_or_skip()
    rng = np.random.default_rng(12)
    problem = random_problem(rng, 37, rng.integers(0, 40, size=120),
                             mask_density=0.8 if masked else None)
    groups = rng.integers(0, 2, size=120)
    ref = forward_backward(*problem, pair_groups=groups, backend="numba")
    got = forward_backward(*problem, pair_groups=groups, backend="cupy")
    for a, b in zip(got, ref):
        assert isinstance(a, np.ndarray)
        np.testing.assert_allclose(a, b, atol=1e-10)
    vit = viterbi(*problem, backend="cupy")
    ref_vit = viterbi(*problem, backend="numba")
    np.testing.assert_array_equal(vit.path, ref_vit.path)
    np.testing.assert_allclose(vit.score, ref_vit.score, atol=1e-10)
    # parameters on the device, results kept there
    dev = [None if x is None else cupy.asarray(x) for x in problem]
    dev[2] = problem[2]
    got = forward_backward(*dev, return_device=True)
    assert isinstance(got.marginals, cupy.ndarray)
    np.testing.assert_allclose(got.marginals.get(), ref.marginals, atol=1e-10)


@pytest.mark.gpu
def test_cupy_log_space_fallback():
    _cupy_or_skip()
    transition = np.array([[0.0, -800.0], [-800.0, 0.0]])
    allowed = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)
    fb = forward_backward(np.zeros((3, 2)), transition, [0, 3], allowed=allowed, backend="cupy")
    assert fb.log_z[0] == pytest.approx(-800.0)


def test_cupy_backend_without_gpu_says_so():
    try:
        _cupy_or_skip()
    except pytest.skip.Exception:
        with pytest.raises((ImportError, RuntimeError), match="backend='cupy' needs"):
            forward_backward(np.zeros((3, 2)), np.zeros((2, 2)), [0, 3], backend="cupy")
        return
    pytest.skip("a GPU is present")


@pytest.mark.parametrize("K", [3, BLOCKED_MIN_STATES + 1, VITERBI_BLOCKED_MIN_STATES + 3])
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_unary_index_gathers_rows_like_fancy_indexing(K, backend):
    """An emission table plus observed ids gives exactly what the materialized unary does."""
    rng = np.random.default_rng(K)
    table = rng.normal(size=(7, K))
    ids = rng.integers(0, 7, size=30)
    offsets = np.array([0, 4, 4, 11, 30])
    transition, start = rng.normal(size=(K, K)), rng.normal(size=K)
    allowed = rng.random((30, K)) < 0.8
    ref = forward_backward(table[ids], transition, offsets, start, allowed=allowed,
                           backend=backend)
    got = forward_backward(table, transition, offsets, start, allowed=allowed,
                           unary_index=ids, check_finite=False, backend=backend)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, atol=1e-12)
    ref_v = viterbi(table[ids], transition, offsets, start, allowed=allowed, backend=backend)
    got_v = viterbi(table, transition, offsets, start, allowed=allowed, unary_index=ids,
                    backend=backend)
    np.testing.assert_array_equal(got_v.path, ref_v.path)
    np.testing.assert_allclose(got_v.score, ref_v.score, atol=1e-12)
    with pytest.raises(ValueError, match=r"unary_index must lie in \[0, 7\)"):
        forward_backward(table, transition, offsets, unary_index=ids + 1 + (ids == 6) * 0 + 6,
                         backend=backend)
