"""Array backend for linear-chain inference, written once against the NumPy API (``xp``).

Used with ``xp = numpy`` for ``backend="numpy"`` and ``xp = cupy`` for ``backend="cupy"``
(CuPy is imported only when asked for).  The point of this backend is large numbers of
states: sequences are sorted by length (longest first) and laid out *time-major*, so that
at step ``t`` the sequences still running form a prefix of the sorted batch and one step of
the recursion over all of them is one matrix product::

    alpha[t] (n_t, K) = (alpha[t-1][:n_t] @ A) * e[t]          (forward, GEMM)
    beta[t-1] (n_t, K) = (e[t] * beta[t] / c[t]) @ A.T          (backward, GEMM)
    pair_counts += alpha[t-1][:n_t].T @ (e[t] * beta[t] / c[t])  (expected transitions, GEMM)

where ``A = exp(transition - max)``, ``e[t] = exp(unary[t] - max)`` and ``c[t]`` the
per-position, per-sequence scaling factors (Rabiner 1989).  The Python loop runs over time
steps (the longest sequence of a block), never over sequences or tokens.

A sequence whose scaled recursion breaks down (a zero or non-finite normalizer, as happens
when transitions span hundreds of nats and a mask forces an unlikely path) is dropped from
the block and redone exactly in log space by the Numba reference kernel on the host; the
result is the same either way.

Viterbi uses the same layout; its max-plus step ``max_i delta[b, i] + transition[i, j]`` is
not a matrix product, so it is vectorized over the block (NumPy) or runs as a fused CUDA
kernel computing max and argmax together (CuPy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import check_offsets, token_positions
from ._host import forward_backward_scalar
from ._results import ForwardBackwardResult, ViterbiResult

NEG_INF = -np.inf

#: Elements (rows x states) of one time-major block; bounds the working memory of a call
#: (about five arrays of this size) independently of the batch size.
BLOCK_ELEMENTS = {"numpy": 1 << 23, "cupy": 1 << 26}

#: Elements of the (rows, K, K) temporary of the vectorized max-plus step on the host.
_MAXPLUS_ELEMENTS = 1 << 20


# ----------------------------------------------------------------------------- backends

def get_xp(backend: str):
    """The array module of ``backend`` ("numpy" or "cupy")."""
    if backend == "numpy":
        return np
    if backend == "cupy":
        try:
            import cupy
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ImportError("backend='cupy' needs CuPy (pip install 'hmmtl[gpu]'); "
                              "use backend='numba' or 'numpy' on a CPU") from exc
        try:
            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device")
        except Exception as exc:  # pragma: no cover - depends on the machine
            raise RuntimeError(f"backend='cupy' needs a CUDA GPU, but none is usable ({exc}); "
                               "use backend='numba' or 'numpy'") from exc
        return cupy
    raise ValueError(f"array backend must be 'numpy' or 'cupy', got {backend!r}")


def is_device_array(x) -> bool:
    """True for CuPy (or other CUDA) arrays."""
    return hasattr(x, "__cuda_array_interface__")


def to_host(x):
    """A NumPy array from a NumPy or CuPy array."""
    if is_device_array(x):
        return x.get()
    return np.asarray(x)


# ----------------------------------------------------------------------------- validation

def check_float(xp, x, name, dtype, shape, *, hint="", check_finite=True):
    """Validate one log-potential array and return it contiguous in ``dtype`` on ``xp``."""
    if xp is np and is_device_array(x):
        raise TypeError(f"{name} is a CuPy array but the backend runs on the CPU; "
                        "pass backend='cupy' or move it with .get()")
    x = xp.asarray(x)
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}{hint}, got shape "
                         f"{tuple(x.shape)}")
    if x.dtype.kind != "f":
        if x.dtype.kind in "iub":
            x = x.astype(dtype)
        else:
            raise TypeError(f"{name} must be a float array, got dtype {x.dtype}; "
                            "pass log-potentials as float64 (or float32)")
    if x.size and check_finite:
        if bool(xp.isnan(x).any()):
            bad = np.unravel_index(int(to_host(xp.argmax(xp.isnan(x).ravel()))), x.shape)
            raise ValueError(f"{name} contains NaN (first at index {tuple(map(int, bad))}); "
                             "log-potentials must be finite or -inf")
        if bool(xp.isposinf(x).any()):
            raise ValueError(f"{name} contains +inf; log-potentials must be finite or -inf")
    return xp.ascontiguousarray(x, dtype=dtype)


def prepare(xp, unary, transition, offsets, start, end, allowed, *, check_finite=True,
            n_tokens=None) -> tuple[Any, Any, np.ndarray, Any, Any, Any, bool]:
    """Validate the common arguments of the inference functions.

    Returns ``unary, transition, offsets, start, end, allowed, use_mask`` with ``unary`` in
    float64 or float32 (its own precision), the parameters in float64, ``offsets`` a host
    int64 array and ``allowed`` a boolean mask (a dummy (1, 1) mask when ``use_mask`` is
    False).  ``n_tokens`` given: ``unary`` is a table whose rows tokens index (any number
    of rows).  ``check_finite=False`` skips the NaN / +inf scan of ``unary`` (for callers
    whose potentials are logs of valid probabilities).
    """
    if xp is np and is_device_array(unary):
        raise TypeError("unary is a CuPy array but the backend runs on the CPU; "
                        "pass backend='cupy' or move it with .get()")
    shape = tuple(np.shape(unary))
    if len(shape) != 2:
        raise ValueError(f"unary must have shape (n_tokens, n_states), got shape {shape}; "
                         "for one state use unary.reshape(-1, 1)")
    n_rows, K = shape
    if n_tokens is None:
        n_tokens = n_rows
    if K < 1:
        raise ValueError(f"unary must have at least one state (column), got shape {shape}")
    kind_dtype = getattr(unary, "dtype", None)
    dtype = kind_dtype if kind_dtype in (np.float32, np.float64) else np.float64
    unary = check_float(xp, unary, "unary", dtype, (n_rows, K), check_finite=check_finite)
    hint = f" (n_states = {K} from unary)"
    transition = check_float(xp, transition, "transition", np.float64, (K, K), hint=hint)
    start = (xp.zeros(K) if start is None
             else check_float(xp, start, "start", np.float64, (K,), hint=hint))
    end = (xp.zeros(K) if end is None
           else check_float(xp, end, "end", np.float64, (K,), hint=hint))
    offsets = check_offsets(to_host(offsets), n_tokens)
    if allowed is None:
        return unary, transition, offsets, start, end, xp.ones((1, 1), dtype=bool), False
    if xp is np and is_device_array(allowed):
        raise TypeError("allowed is a CuPy array but the backend runs on the CPU")
    allowed = xp.asarray(allowed)
    if tuple(allowed.shape) != (n_tokens, K):
        raise ValueError(f"allowed must have shape {(n_tokens, K)} like unary, got shape "
                         f"{tuple(allowed.shape)}")
    if allowed.dtype != np.bool_:
        raise TypeError(f"allowed must be a boolean mask, got dtype {allowed.dtype}; "
                        "try allowed.astype(bool)")
    return unary, transition, offsets, start, end, xp.ascontiguousarray(allowed), True


def check_groups(pair_groups, n_groups, n_seq):
    """Validate ``pair_groups`` / ``n_groups``; returns (int64 groups, n_groups, grouped)."""
    if pair_groups is None:
        return np.zeros(n_seq, dtype=np.int64), 1, False
    pair_groups = to_host(pair_groups)
    if pair_groups.shape != (n_seq,):
        raise ValueError(f"pair_groups must have shape ({n_seq},) (one group per sequence), "
                         f"got shape {pair_groups.shape}")
    if pair_groups.size and not np.issubdtype(pair_groups.dtype, np.integer):
        raise TypeError(f"pair_groups must hold integers, got dtype {pair_groups.dtype}")
    pair_groups = np.ascontiguousarray(pair_groups, dtype=np.int64)
    if n_groups is None:
        n_groups = int(pair_groups.max()) + 1 if n_seq else 1
    n_groups = int(n_groups)
    if n_groups < 1:
        raise ValueError(f"n_groups must be >= 1, got {n_groups}")
    if n_seq and (pair_groups.min() < 0 or pair_groups.max() >= n_groups):
        raise ValueError(f"pair_groups must lie in [0, {n_groups}), got values in "
                         f"[{pair_groups.min()}, {pair_groups.max()}]")
    return pair_groups, n_groups, True


# ----------------------------------------------------------------------------- layout

class _Layout:
    """Time-major layout of a block of sequences sorted by decreasing length.

    ``rows`` of step ``t`` are ``start[t] : start[t] + n_active[t]``; row ``start[t] + b``
    holds token ``t`` of the block's ``b``-th sequence, i.e. token ``token[row]``.
    """

    def __init__(self, seqs, offsets):
        lengths = offsets[seqs + 1] - offsets[seqs]
        self.seqs = seqs
        self.lengths = lengths
        self.n_seq = n = lengths.shape[0]
        self.max_len = L = int(lengths[0])
        self.n_active = np.searchsorted(-lengths, -np.arange(L), side="left")
        self.start = np.zeros(L + 1, dtype=np.int64)
        np.cumsum(self.n_active, out=self.start[1:])
        self.n_rows = int(self.start[-1])
        seq_of_token = np.repeat(np.arange(n), lengths)
        seq_first = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=seq_first[1:])
        t = np.arange(self.n_rows) - seq_first[seq_of_token]
        rows = self.start[t] + seq_of_token
        self.token = np.empty(self.n_rows, dtype=np.int64)
        self.token[rows] = offsets[seqs][seq_of_token] + t
        self.seq_of_row = np.empty(self.n_rows, dtype=np.int64)
        self.seq_of_row[rows] = seq_of_token
        self.last_row = self.start[lengths - 1] + np.arange(n)

    def rows(self, t, n=None):
        s = int(self.start[t])
        return slice(s, s + int(self.n_active[t] if n is None else n))


def _blocks(seqs, offsets, max_rows):
    """Split ``seqs`` (sorted by decreasing length, all non-empty) into consecutive blocks
    of at most ``max_rows`` tokens (a longer single sequence forms its own block)."""
    lengths = offsets[seqs + 1] - offsets[seqs]
    cum = np.cumsum(lengths)
    out = []
    lo = 0
    base = 0
    while lo < seqs.shape[0]:
        hi = int(np.searchsorted(cum, base + max_rows, side="right"))
        hi = max(hi, lo + 1)
        out.append(seqs[lo:hi])
        base = int(cum[hi - 1])
        lo = hi
    return out


def _sorted_groups(offsets, pair_groups, n_groups):
    """Non-empty sequences of each group, sorted by decreasing length (stable)."""
    lengths = np.diff(offsets)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    if n_groups == 1:
        return [order]
    g = pair_groups[order]
    return [order[g == k] for k in range(n_groups)]


def _shifted_exp(xp, x, dtype):
    """(exp(x - max x), max x) with max taken as 0 when every entry is -inf."""
    m = float(to_host(x.max())) if x.size else 0.0
    if m == NEG_INF:
        m = 0.0
    return xp.exp(x - m).astype(dtype), m


# ----------------------------------------------------------------------------- forward-backward

#: On the host, fuse the element-wise work of a step into one threaded pass (Numba); the
#: plain ``xp`` expressions below are the same computation (and what runs on a GPU).
FUSED_HOST_STEPS = True


def _emit_normalize(xp, x, e, scale):
    """x *= e; scale = row sums of x; rows with a positive sum normalized (in place)."""
    if xp is np and FUSED_HOST_STEPS:
        from ._numba import emit_normalize_rows

        emit_normalize_rows(x, e, scale)
        return
    x *= e
    scale[...] = x.sum(axis=1)
    x /= xp.where(scale > 0, scale, 1)[:, None]


def _backward_rows(xp, alpha, e, beta, scale):
    """alpha *= beta (marginals of the step); e = e * beta / scale (the backward message
    before its product with the transposed transitions), in place."""
    if xp is np and FUSED_HOST_STEPS:
        from ._numba import backward_rows

        backward_rows(alpha, e, beta, scale)
        return
    alpha *= beta
    e *= beta
    e /= scale[:, None]


def _fb_block(xp, lay, unary, allowed, use_mask, a, tmax, start_p, smax, end_p, emax,
              want_pairs, force_bad):
    """Scaled forward-backward of one time-major block.

    Returns ``(gamma, pairs, log_z, bad)``: marginals in time-major row order, the block's
    unnormalized pair statistics ``sum_t alpha[t-1].T @ w[t]`` (multiply by ``A`` to get
    expected counts), log Z per sequence and a host mask of sequences whose scaled recursion
    failed (their rows and statistics are zero; they must be redone in log space).
    """
    dtype = unary.dtype
    K = unary.shape[1]
    token = xp.asarray(lay.token)
    seq_of_row = xp.asarray(lay.seq_of_row)
    n = lay.n_seq
    # e = exp(unary - rowmax) over the block, time-major; masked states are -inf -> 0
    if xp is np and FUSED_HOST_STEPS:
        from ._numba import gather_exp_rows

        e = np.empty((lay.n_rows, K), dtype=dtype)
        m = np.empty(lay.n_rows, dtype=dtype)
        gather_exp_rows(unary, lay.token, allowed, use_mask, e, m)
        finite_m = xp.ones(lay.n_rows, dtype=bool)
        # a row with every state masked has e == 0: its scale is 0 and the sequence fails
    else:
        e = unary[token]
        if use_mask:
            e[~allowed[token]] = NEG_INF
        m = e.max(axis=1)
        finite_m = xp.isfinite(m)
        m = xp.where(finite_m, m, 0.0)
        e -= m[:, None]
        xp.exp(e, out=e)
    alpha = xp.empty_like(e)
    scale = xp.empty(lay.n_rows, dtype=dtype)

    r = lay.rows(0)
    xp.multiply(start_p[None, :], e[r], out=alpha[r])
    scale[r] = alpha[r].sum(axis=1)
    alpha[r] /= xp.where(scale[r] > 0, scale[r], 1)[:, None]
    for t in range(1, lay.max_len):
        nt = int(lay.n_active[t])
        cur = lay.rows(t)
        xp.matmul(alpha[lay.rows(t - 1, nt)], a, out=alpha[cur])
        _emit_normalize(xp, alpha[cur], e[cur], scale[cur])
    last = xp.asarray(lay.last_row)
    c_end = alpha[last] @ end_p
    ok_row = (scale > 0) & xp.isfinite(scale) & finite_m
    bad = (xp.bincount(seq_of_row, weights=(~ok_row).astype(np.float64), minlength=n) > 0)
    bad |= ~((c_end > 0) & xp.isfinite(c_end))
    if force_bad is not None:
        bad |= xp.asarray(force_bad)
    bad_row = bad[seq_of_row]
    any_bad = bool(bad.any())
    if any_bad:
        # zero rows keep NaN out of the shared pair statistics
        alpha[bad_row] = 0.0
        e[bad_row] = 0.0
        scale[bad_row] = 1.0
        c_end = xp.where(bad, 1.0, c_end)

    log_terms = xp.log(scale).astype(np.float64) + m.astype(np.float64)
    log_z = xp.bincount(seq_of_row, weights=log_terms, minlength=n)
    lengths = xp.asarray(lay.lengths)
    log_z += smax + emax + (lengths - 1) * tmax + xp.log(c_end).astype(np.float64)
    log_z = xp.where(bad, 0.0, log_z)

    # backward; beta rows of sequences ending at step t start from end / c_end
    a_t = xp.ascontiguousarray(a.T)
    init = (end_p[None, :] / c_end[:, None].astype(dtype)).astype(dtype)
    beta = xp.empty((n, K), dtype=dtype)
    pairs = xp.zeros((K, K), dtype=dtype) if want_pairs else None
    n_next = 0
    for t in range(lay.max_len - 1, -1, -1):
        nt = int(lay.n_active[t])
        if nt > n_next:
            beta[n_next:nt] = init[n_next:nt]
        cur = lay.rows(t)
        # alpha[t] becomes gamma[t] in place: alpha[t] was last needed by step t + 1
        if t > 0:
            w = e[cur]
            _backward_rows(xp, alpha[cur], w, beta[:nt], scale[cur])
            xp.matmul(w, a_t, out=beta[:nt])
            if want_pairs:
                pairs += alpha[lay.rows(t - 1, nt)].T @ w
        else:
            alpha[cur] *= beta[:nt]
        n_next = nt
    gamma = alpha
    # breakdowns the forward test cannot see (overflow of beta for unreachable states)
    tol = 1e-6 if dtype == np.float64 else 5e-2
    row_sum = gamma.sum(axis=1)
    off = ~(xp.abs(row_sum - 1) < tol) & ~bad_row
    if bool(off.any()):
        late = xp.bincount(seq_of_row, weights=off.astype(np.float64), minlength=n) > 0
        return None, None, None, to_host(bad | late)
    return gamma, pairs, log_z, to_host(bad)


def forward_backward(unary, transition, offsets, start=None, end=None, allowed=None, *,
                     pair_groups=None, n_groups=None, compute_pairs=True, backend="numpy",
                     return_device=False, block_elements=None):
    """Array-backend forward-backward; see :func:`hmmtl.inference.forward_backward`."""
    xp = get_xp(backend)
    unary, transition, offsets, start, end, allowed, use_mask = prepare(
        xp, unary, transition, offsets, start, end, allowed)
    n_tokens, K = unary.shape
    n_seq = offsets.shape[0] - 1
    pair_groups, n_groups, grouped = check_groups(pair_groups, n_groups, n_seq)
    dtype = unary.dtype
    a, tmax = _shifted_exp(xp, transition, dtype)
    start_p, smax = _shifted_exp(xp, start, dtype)
    end_p, emax = _shifted_exp(xp, end, dtype)
    marginals = xp.zeros((n_tokens, K), dtype=dtype)
    log_z = xp.zeros(n_seq, dtype=np.float64)
    stats = xp.zeros((n_groups, K, K), dtype=np.float64)
    max_rows = max(1, (block_elements or BLOCK_ELEMENTS[backend]) // K)
    failed = []
    for g, seqs in enumerate(_sorted_groups(offsets, pair_groups, n_groups)):
        for block in _blocks(seqs, offsets, max_rows):
            lay = _Layout(block, offsets)
            force = None
            for _ in range(3):
                gamma, pairs, lz, bad = _fb_block(xp, lay, unary, allowed, use_mask, a, tmax,
                                                  start_p, smax, end_p, emax,
                                                  compute_pairs, force)
                if gamma is not None:
                    break
                force = bad
            if gamma is None:  # pragma: no cover - every sequence is then marked bad
                bad = np.ones(lay.n_seq, dtype=bool)
            else:
                marginals[xp.asarray(lay.token)] = gamma
                log_z[xp.asarray(block)] = lz
                if compute_pairs:
                    stats[g] += pairs.astype(np.float64)
            if bad.any():
                failed.append(block[bad])
    if compute_pairs:
        stats *= a.astype(np.float64)[None]
    if failed:
        _log_space_fallback(xp, np.sort(np.concatenate(failed)), unary, transition, offsets,
                            start, end, allowed, use_mask, pair_groups, n_groups,
                            compute_pairs, marginals, log_z, stats)
    pair_counts = stats if grouped else stats[0]
    if not return_device and xp is not np:
        return ForwardBackwardResult(to_host(marginals), to_host(pair_counts), to_host(log_z))
    return ForwardBackwardResult(marginals, pair_counts, log_z)


def _log_space_fallback(xp, seqs, unary, transition, offsets, start, end, allowed, use_mask,
                        pair_groups, n_groups, compute_pairs, marginals, log_z, stats):
    """Redo ``seqs`` with the Numba reference (scaled, else exact log space) on the host."""
    tokens, sub_offsets = token_positions(offsets, seqs)
    tokens_dev = xp.asarray(tokens)
    host = prepare(np, to_host(unary[tokens_dev]), to_host(transition), sub_offsets,
                   to_host(start), to_host(end),
                   to_host(allowed[tokens_dev]) if use_mask else None)
    sub_marginals, pair_counts, sub_log_z = forward_backward_scalar(
        *host, np.ascontiguousarray(pair_groups[seqs]), n_groups, compute_pairs)
    marginals[tokens_dev] = xp.asarray(sub_marginals)
    log_z[xp.asarray(seqs)] = xp.asarray(sub_log_z)
    if compute_pairs:
        stats += xp.asarray(pair_counts)


# ----------------------------------------------------------------------------- Viterbi

_VITERBI_CUDA = r"""
extern "C" __global__ void viterbi_step_{name}(
        const {T}* __restrict__ delta, const {T}* __restrict__ trans,
        const {T}* __restrict__ unary, {T}* __restrict__ out, int* __restrict__ back,
        const long long n, const int K) {{
    long long idx = (long long)blockDim.x * blockIdx.x + threadIdx.x;
    if (idx >= n * K) return;
    long long b = idx / K;
    int j = (int)(idx % K);
    const {T}* d = delta + b * K;
    {T} best = ({T})__longlong_as_double(0xfff0000000000000ULL);
    int arg = 0;
    for (int i = 0; i < K; ++i) {{
        {T} v = d[i] + trans[(long long)i * K + j];
        if (v > best) {{ best = v; arg = i; }}
    }}
    out[idx] = best + unary[idx];
    back[idx] = arg;
}}
"""

_cuda_kernels: dict = {}


def _cuda_viterbi_step(xp, dtype):
    name = "double" if dtype == np.float64 else "float"
    if name not in _cuda_kernels:
        src = _VITERBI_CUDA.format(name=name, T=name)
        _cuda_kernels[name] = xp.RawKernel(src, f"viterbi_step_{name}")
    return _cuda_kernels[name]


def _maxplus_step(xp, delta, trans, unary_rows, out, back):
    """out[b, j] = max_i delta[b, i] + trans[i, j] + unary_rows[b, j]; back = the argmax i."""
    n, K = delta.shape
    if xp is not np:
        kernel = _cuda_viterbi_step(xp, delta.dtype)
        threads = 256
        grid = (n * K + threads - 1) // threads
        kernel((grid,), (threads,), (delta, trans, unary_rows, out, back,
                                     np.int64(n), np.int32(K)))
        return
    step = max(1, _MAXPLUS_ELEMENTS // (K * K))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        s = delta[lo:hi, :, None] + trans[None, :, :]
        arg = s.argmax(axis=1)
        back[lo:hi] = arg
        np.add(np.take_along_axis(s, arg[:, None, :], axis=1)[:, 0, :], unary_rows[lo:hi],
               out=out[lo:hi])


def _viterbi_block(xp, lay, unary, allowed, use_mask, transition, start, end):
    """Viterbi of one time-major block; returns (path rows time-major, score per sequence)."""
    dtype = transition.dtype
    K = unary.shape[1]
    token = xp.asarray(lay.token)
    u = unary[token].astype(dtype)
    if use_mask:
        u[~allowed[token]] = NEG_INF
    n = lay.n_seq
    back = xp.empty((lay.n_rows, K), dtype=np.int32)
    delta = xp.empty((n, K), dtype=dtype)
    new = xp.empty((n, K), dtype=dtype)
    final = xp.full((n, K), NEG_INF, dtype=dtype)
    r0 = lay.rows(0)
    xp.add(start[None, :], u[r0], out=delta)
    for t in range(1, lay.max_len):
        nt = int(lay.n_active[t])
        n_prev = int(lay.n_active[t - 1])
        if nt < n_prev:
            final[nt:n_prev] = delta[nt:n_prev]
        cur = lay.rows(t)
        _maxplus_step(xp, delta[:nt], transition, u[cur], new[:nt], back[cur])
        delta, new = new, delta
    nt = int(lay.n_active[lay.max_len - 1])
    final[:nt] = delta[:nt]
    final += end[None, :]
    state = final.argmax(axis=1).astype(np.int32)
    score = final[xp.arange(n), state].astype(np.float64)
    dead = ~(score > NEG_INF)
    path = xp.empty(lay.n_rows, dtype=np.int32)
    # backtrack: sequences ending at step t join the running prefix with their final state
    cur_state = xp.empty(n, dtype=np.int32)
    n_next = 0
    for t in range(lay.max_len - 1, -1, -1):
        nt = int(lay.n_active[t])
        if nt > n_next:
            cur_state[n_next:nt] = state[n_next:nt]
        rows = lay.rows(t)
        path[rows] = cur_state[:nt]
        if t > 0:
            cur_state[:nt] = xp.take_along_axis(back[rows], cur_state[:nt, None].astype(np.int64),
                                                axis=1)[:, 0]
        n_next = nt
    path[dead[xp.asarray(lay.seq_of_row)]] = -1
    score = xp.where(dead, NEG_INF, score)
    return path, score


def viterbi(unary, transition, offsets, start=None, end=None, allowed=None, *,
            backend="numpy", return_device=False, block_elements=None):
    """Array-backend Viterbi; see :func:`hmmtl.inference.viterbi`."""
    xp = get_xp(backend)
    unary, transition, offsets, start, end, allowed, use_mask = prepare(
        xp, unary, transition, offsets, start, end, allowed)
    n_tokens, K = unary.shape
    n_seq = offsets.shape[0] - 1
    path = xp.full(n_tokens, -1, dtype=np.int32)
    score = xp.zeros(n_seq, dtype=np.float64)  # an empty sequence scores 0
    max_rows = max(1, (block_elements or BLOCK_ELEMENTS[backend]) // K)
    for seqs in _sorted_groups(offsets, None, 1):
        for block in _blocks(seqs, offsets, max_rows):
            lay = _Layout(block, offsets)
            p, s = _viterbi_block(xp, lay, unary, allowed, use_mask, transition, start, end)
            path[xp.asarray(lay.token)] = p
            score[xp.asarray(block)] = s
    if not return_device and xp is not np:
        return ViterbiResult(to_host(path), to_host(score))
    return ViterbiResult(path, score)
