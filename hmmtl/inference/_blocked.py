"""Numba forward-backward for many states: blocks of sequences, one GEMM per step.

With K states the recursion costs K^2 multiply-adds per token.  Done one sequence at a time
(as in :mod:`._numba` and in hmmlearn) that work is a vector-matrix product, bound by
memory traffic.  Here sequences are sorted by length and cut into blocks of about
``block_rows`` tokens; inside a block they are laid out time-major, so that the sequences
still running at step ``t`` are the first ``n_t`` rows of that step and the step is one
matrix product ``(n_t, K) @ (K, K)`` -- BLAS's best case.  Each thread owns whole blocks and
its own pair-count accumulator (``prange`` over chunks of blocks), and BLAS runs one thread
per caller (the threads are Numba's), so both cores do GEMMs without oversubscription.

Scaling is per position and per sequence as in the reference kernel; a sequence whose scaled
recursion fails is flagged and redone exactly (log space) by the caller.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

NEG_INF = -np.inf


class BlockLayout(NamedTuple):
    """Sequences in blocks of similar length, time-major inside each (:func:`block_layout`).

    ::

        order        (n_nonempty,)   sequence index, sorted by decreasing length
        seq_ptr      (n_blocks + 1,) block -> range in ``order``
        row_ptr      (n_blocks + 1,) block -> range of rows (tokens)
        step_ptr     (n_blocks + 1,) block -> range in ``step_start`` / ``step_n``
        step_start   (total steps,)  first row of step t, relative to the block
        step_n       (total steps,)  number of sequences still running at step t
        row_token    (n_tokens,)     token index of each row
    """

    order: np.ndarray
    seq_ptr: np.ndarray
    row_ptr: np.ndarray
    step_ptr: np.ndarray
    step_start: np.ndarray
    step_n: np.ndarray
    row_token: np.ndarray


class Emissions(NamedTuple):
    """The unary log-potentials as the blocked kernels read them.

    Token ``t`` reads row ``unary_index[t]`` of ``unary`` (n_rows, K) when ``gathered``,
    else row ``t``; with ``use_mask``, ``allowed`` (n_tokens, K) masks states out.
    """

    unary: np.ndarray
    unary_index: np.ndarray
    gathered: bool
    allowed: np.ndarray
    use_mask: bool


class ScaledChain(NamedTuple):
    """Transition, start and end scores as exponentials shifted by their maxima:
    ``a = exp(transition - tmax)``, ``start_p = exp(start - smax)``,
    ``end_p = exp(end - emax)``."""

    a: np.ndarray
    tmax: float
    start_p: np.ndarray
    smax: float
    end_p: np.ndarray
    emax: float


class LogChain(NamedTuple):
    """Transition (K, K), start (K,) and end (K,) log-potentials, float64 and
    C-contiguous, as :func:`viterbi_blocked` reads them."""

    transition: np.ndarray
    start: np.ndarray
    end: np.ndarray


class ViterbiOutput(NamedTuple):
    """What :func:`viterbi_blocked` writes: ``path`` (n_tokens,) int32 and ``score``
    (n_sequences,) float64, filled beforehand with ``-1`` and ``-inf`` (0 for empty
    sequences)."""

    path: np.ndarray
    score: np.ndarray


class BlockedOutput(NamedTuple):
    """What :func:`forward_backward_blocked` writes: ``marginals`` (n_tokens, K),
    ``log_z`` and ``bad`` (n_sequences,), and the pair counts of each thread in
    ``pair_acc`` (n_threads, K, K)."""

    marginals: np.ndarray
    log_z: np.ndarray
    bad: np.ndarray
    pair_acc: np.ndarray


def block_layout(offsets: np.ndarray, block_rows: int, include=None):
    """Group sequences into blocks of similar length (time-major layout inside each).

    Returns a :class:`BlockLayout` of int64 arrays.
    """
    lengths = np.diff(offsets)
    if include is not None:  # sequences left out are treated as empty
        lengths = np.where(include, lengths, 0)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    lens = lengths[order]
    n = order.shape[0]
    if n == 0:
        z = np.zeros(1, np.int64)
        e = np.zeros(0, np.int64)
        return BlockLayout(order.astype(np.int64), z, z, z, e, e, e)
    cum = np.concatenate([[0], np.cumsum(lens)])
    # cut where the cumulative token count passes multiples of block_rows
    cuts = np.searchsorted(cum, np.arange(block_rows, cum[-1], block_rows), side="left")
    seq_ptr = np.unique(np.concatenate([[0], cuts, [n]])).astype(np.int64)
    row_ptr = cum[seq_ptr].astype(np.int64)
    max_len = lens[seq_ptr[:-1]]
    step_ptr = np.concatenate([[0], np.cumsum(max_len)]).astype(np.int64)
    n_blocks = seq_ptr.shape[0] - 1
    # step_n[t] of block b = number of its sequences with length > t
    block_of_step = np.repeat(np.arange(n_blocks), max_len)
    t_of_step = np.arange(step_ptr[-1]) - step_ptr[block_of_step]
    neg = -lens
    # sequences of block b occupy order[seq_ptr[b]:seq_ptr[b+1]], lengths decreasing
    step_n = (np.searchsorted(neg, -t_of_step, side="left")
              - seq_ptr[block_of_step]).astype(np.int64)
    step_n = np.minimum(step_n, (seq_ptr[1:] - seq_ptr[:-1])[block_of_step])
    step_start = np.zeros(step_ptr[-1], dtype=np.int64)
    csum = np.cumsum(step_n)
    step_start[1:] = csum[:-1]
    step_start -= np.repeat(step_start[step_ptr[:-1]], max_len)
    # row of (sequence j in block, t) = step_start[t] + j; its token = offsets[seq] + t
    seq_block = np.repeat(np.arange(n_blocks), seq_ptr[1:] - seq_ptr[:-1])
    j_in_block = np.arange(n) - seq_ptr[seq_block]
    tok_seq = np.repeat(np.arange(n), lens)
    t_tok = np.arange(cum[-1]) - cum[tok_seq]
    blk = seq_block[tok_seq]
    rows = row_ptr[blk] + step_start[step_ptr[blk] + t_tok] + j_in_block[tok_seq]
    row_token = np.empty(cum[-1], dtype=np.int64)
    row_token[rows] = offsets[order][tok_seq] + t_tok
    order = order.astype(np.int64)
    return BlockLayout(order.astype(np.int64), seq_ptr, row_ptr, step_ptr, step_start, step_n,
                       row_token)


@njit(cache=True)
def _block_bounds(blk, row_ptr, seq_ptr, step_ptr):
    """First row and row count, first sequence and sequence count, first step and step
    count of block ``blk``."""
    r0 = row_ptr[blk]
    s0 = seq_ptr[blk]
    p0 = step_ptr[blk]
    return (r0, row_ptr[blk + 1] - r0, s0, seq_ptr[blk + 1] - s0, p0,
            step_ptr[blk + 1] - p0)


@njit(cache=True)
def block_buffers(nrows, S, K, dt):
    """Working arrays of one block: emission factors and forward messages (nrows, K),
    per-row scales, per-sequence log Z and failure flags."""
    return (np.empty((nrows, K), dtype=dt), np.empty((nrows, K), dtype=dt),
            np.empty(nrows, dtype=np.float64), np.zeros(S, dtype=np.float64),
            np.zeros(S, dtype=np.bool_))


@njit(cache=True)
def scaled_forward(alpha, e, a, start_p, scale, lz, failed, step_start, step_n, p0, L):
    """Forward pass over one block (time-major rows): ``alpha[t] = (alpha[t-1] @ a) * e[t]``
    (``start_p * e[0]`` at the first step), each row normalized.

    On entry ``scale[row]`` holds the log shift of the row's emission factors, added with
    the log normalizer to ``lz`` (per sequence of the block); on exit it holds the row's
    normalizer.  A row that sums to zero or overflows flags its sequence in ``failed``
    (its rows then count for nothing and the caller redoes it exactly).
    """
    K = alpha.shape[1]
    for t in range(L):
        cs = step_start[p0 + t]
        nt = step_n[p0 + t]
        if t > 0:
            ps = step_start[p0 + t - 1]
            np.dot(alpha[ps:ps + nt], a, alpha[cs:cs + nt])
        for b in range(nt):
            row = cs + b
            m = scale[row]
            s = 0.0
            if t == 0:
                for k in range(K):
                    v = start_p[k] * e[row, k]
                    alpha[row, k] = v
                    s += v
            else:
                for k in range(K):
                    v = alpha[row, k] * e[row, k]
                    alpha[row, k] = v
                    s += v
            if not (s > 0.0) or not np.isfinite(s):
                failed[b] = True
                for k in range(K):
                    alpha[row, k] = 0.0
                scale[row] = 1.0
            else:
                inv = 1.0 / s
                for k in range(K):
                    alpha[row, k] *= inv
                lz[b] += np.log(s) + m
                scale[row] = s


@njit(cache=True)
def clear_failed(alpha, e, scale, failed, beta_end, order, offsets, step_start, s0, p0):
    """Zero the rows of the sequences flagged in ``failed`` so that they add nothing to
    the block's counts (their ``beta_end`` becomes 1)."""
    K = alpha.shape[1]
    for b in range(failed.shape[0]):
        if failed[b]:
            length = offsets[order[s0 + b] + 1] - offsets[order[s0 + b]]
            for t in range(length):
                row = step_start[p0 + t] + b
                scale[row] = 1.0
                for k in range(K):
                    alpha[row, k] = 0.0
                    e[row, k] = 0.0
            for k in range(K):
                beta_end[b, k] = 1.0


@njit(cache=True)
def scaled_backward(alpha, e, a_t, scale, beta_end, pairs, want_pairs, step_start, step_n,
                    p0, L):
    """Backward pass over one block: ``beta[t-1] = (e[t] * beta[t] / scale[t]) @ a.T``
    from each sequence's ``beta_end`` at its last step; turns ``alpha`` into the posterior
    marginals and adds ``alpha[t-1].T @ (e[t] * beta[t] / scale[t])`` to ``pairs`` (the pair
    counts before the transition factor)."""
    S, K = beta_end.shape
    beta = np.empty((S, K), dtype=alpha.dtype)
    w = np.empty((S, K), dtype=alpha.dtype)
    for t in range(L - 1, -1, -1):
        cs = step_start[p0 + t]
        nt = step_n[p0 + t]
        n_next = step_n[p0 + t + 1] if t + 1 < L else 0
        for b in range(n_next, nt):
            for k in range(K):
                beta[b, k] = beta_end[b, k]
        if t > 0:
            for b in range(nt):
                row = cs + b
                inv = 1.0 / scale[row]
                for k in range(K):
                    alpha[row, k] *= beta[b, k]
                    w[b, k] = e[row, k] * beta[b, k] * inv
            np.dot(w[:nt], a_t, beta[:nt])
            if want_pairs:
                ps = step_start[p0 + t - 1]
                pairs += np.dot(alpha[ps:ps + nt].T, w[:nt])
        else:
            for b in range(nt):
                row = cs + b
                for k in range(K):
                    alpha[row, k] *= beta[b, k]


@njit(cache=True, parallel=True)
def forward_backward_blocked(emissions, chain, layout, offsets, want_pairs, out):
    """Blocked scaled forward-backward of the sequences in ``layout.order``.

    ``emissions`` is an :class:`Emissions`, ``chain`` a :class:`ScaledChain`, ``layout`` a
    :class:`BlockLayout` and ``out`` a :class:`BlockedOutput`.  Writes the sequences'
    marginals, log Z and bad flags (scaling failed: redo the sequence exactly) into
    ``out.marginals`` (n_tokens, K), ``out.log_z`` and ``out.bad`` (n_sequences,), and adds
    their pair counts, *not yet* multiplied by the scaled transition matrix ``chain.a`` (the
    caller does it once), into row ``numba.get_thread_id()`` of ``out.pair_acc``
    (n_threads, K, K): each block runs on one thread (blocks go to whichever thread is free
    when the caller sets a parallel chunk size of 1), so the ``prange`` loop has no races.
    """
    unary, unary_index, gathered, allowed, use_mask = emissions
    a, tmax, start_p, smax, end_p, emax = chain
    order, seq_ptr, row_ptr, step_ptr, step_start, step_n, row_token = layout
    marginals, log_z, bad, pair_acc = out
    K = unary.shape[1]
    n_blocks = seq_ptr.shape[0] - 1
    dt = unary.dtype
    a_t = np.ascontiguousarray(a.T)
    for blk in prange(n_blocks):
        pairs = pair_acc[numba.get_thread_id()]
        r0, nrows, s0, S, p0, L = _block_bounds(blk, row_ptr, seq_ptr, step_ptr)
        e, alpha, scale, lz, failed = block_buffers(nrows, S, K, dt)
        # emission factors exp(unary - row max), masked states 0
        for r in range(nrows):
            tok = row_token[r0 + r]
            u = unary_index[tok] if gathered else tok
            m = NEG_INF
            for k in range(K):
                if (not use_mask or allowed[tok, k]) and unary[u, k] > m:
                    m = unary[u, k]
            if m == NEG_INF:
                for k in range(K):
                    e[r, k] = 0.0
                scale[r] = 0.0  # flags the row; m's log term is skipped
            else:
                for k in range(K):
                    if use_mask and not allowed[tok, k]:
                        e[r, k] = 0.0
                    else:
                        e[r, k] = np.exp(unary[u, k] - m)
                scale[r] = m  # keep the shift until the forward pass uses it
        scaled_forward(alpha, e, a, start_p, scale, lz, failed, step_start, step_n, p0, L)
        # end factors; beta of each sequence starts at its last step
        beta_end = np.empty((S, K), dtype=dt)
        for b in range(S):
            length = offsets[order[s0 + b] + 1] - offsets[order[s0 + b]]
            row = step_start[p0 + length - 1] + b
            s = 0.0
            for k in range(K):
                s += alpha[row, k] * end_p[k]
            if not (s > 0.0) or not np.isfinite(s):
                failed[b] = True
                s = 1.0
            for k in range(K):
                beta_end[b, k] = end_p[k] / s
            lz[b] += np.log(s) + smax + emax + (length - 1) * tmax
        # a failed sequence must add nothing to the shared pair counts: zero its rows
        clear_failed(alpha, e, scale, failed, beta_end, order, offsets, step_start, s0, p0)
        scaled_backward(alpha, e, a_t, scale, beta_end, pairs, want_pairs, step_start, step_n,
                        p0, L)
        for r in range(nrows):
            tok = row_token[r0 + r]
            for k in range(K):
                marginals[tok, k] = alpha[r, k]
        for b in range(S):
            sq = order[s0 + b]
            log_z[sq] = lz[b]
            bad[sq] = failed[b]


#: The max-plus step reads this many rows of the transition matrix at once, so that each
#: element of the new scores is loaded and stored once per ``UNROLL`` states.
_VITERBI_UNROLL = 8


@njit(cache=True, parallel=True)
def viterbi_blocked(emissions, chain, layout, offsets, chunk_ptr, tile, out):
    """Blocked Viterbi of the sequences in ``layout.order``.

    ``emissions`` is an :class:`Emissions`, ``chain`` a :class:`LogChain`, ``layout`` a
    :class:`BlockLayout` and ``out`` a :class:`ViterbiOutput`; ``chunk_ptr`` cuts the blocks
    into the chunks of the ``prange`` loop (each chunk on one thread).

    The forward pass keeps only scores, no back pointers: the max-plus step of each
    position is then a plain vectorized ``max`` over rows of ``transition``, read once for a
    tile of ``tile`` sequences (unrolled over ``_VITERBI_UNROLL`` states) instead of once per
    sequence.  The back pointer of each position of the best path is recomputed from the
    stored scores during the backtrace (K operations per token instead of K^2); since the
    same floating-point sums are compared in the same order, ties go to the lowest state,
    exactly as in :func:`hmmtl.inference._numba.viterbi_kernel`.

    Writes ``out.path`` (n_tokens,) and ``out.score`` (n_sequences,) of the sequences in
    ``layout.order``; a sequence with no allowed path keeps its ``-1`` / ``-inf``.
    """
    unary, unary_index, gathered, allowed, use_mask = emissions
    transition, start, end = chain
    order, seq_ptr, row_ptr, step_ptr, step_start, step_n, row_token = layout
    path, score = out
    K = unary.shape[1]
    n_chunks = chunk_ptr.shape[0] - 1
    trans_t = np.ascontiguousarray(transition.T)
    U = _VITERBI_UNROLL
    k_unrolled = K - K % U
    for c in prange(n_chunks):
        for blk in range(chunk_ptr[c], chunk_ptr[c + 1]):
            r0, nrows, s0, S, p0, L = _block_bounds(blk, row_ptr, seq_ptr, step_ptr)
            delta = np.empty((nrows, K), dtype=np.float64)
            for t in range(L):
                cs = step_start[p0 + t]
                nt = step_n[p0 + t]
                if t == 0:
                    for b in range(nt):
                        for k in range(K):
                            delta[cs + b, k] = start[k]
                else:
                    ps = step_start[p0 + t - 1]
                    for b0 in range(0, nt, tile):
                        b1 = min(b0 + tile, nt)
                        for b in range(b0, b1):
                            for k in range(K):
                                delta[cs + b, k] = NEG_INF
                        for i in range(0, k_unrolled, U):
                            for b in range(b0, b1):
                                p = ps + b
                                d0 = delta[p, i]
                                d1 = delta[p, i + 1]
                                d2 = delta[p, i + 2]
                                d3 = delta[p, i + 3]
                                d4 = delta[p, i + 4]
                                d5 = delta[p, i + 5]
                                d6 = delta[p, i + 6]
                                d7 = delta[p, i + 7]
                                if max(max(max(d0, d1), max(d2, d3)),
                                       max(max(d4, d5), max(d6, d7))) == NEG_INF:
                                    continue
                                q = cs + b
                                for j in range(K):
                                    v = max(max(max(d0 + transition[i, j],
                                                    d1 + transition[i + 1, j]),
                                                max(d2 + transition[i + 2, j],
                                                    d3 + transition[i + 3, j])),
                                            max(max(d4 + transition[i + 4, j],
                                                    d5 + transition[i + 5, j]),
                                                max(d6 + transition[i + 6, j],
                                                    d7 + transition[i + 7, j])))
                                    delta[q, j] = max(delta[q, j], v)
                        for i in range(k_unrolled, K):
                            for b in range(b0, b1):
                                d = delta[ps + b, i]
                                if d == NEG_INF:
                                    continue
                                q = cs + b
                                for j in range(K):
                                    delta[q, j] = max(delta[q, j], d + transition[i, j])
                for b in range(nt):
                    row = cs + b
                    tok = row_token[r0 + row]
                    u = unary_index[tok] if gathered else tok
                    if use_mask:
                        for k in range(K):
                            if allowed[tok, k]:
                                delta[row, k] += unary[u, k]
                            else:
                                delta[row, k] = NEG_INF
                    else:
                        for k in range(K):
                            delta[row, k] += unary[u, k]
            for b in range(S):
                sq = order[s0 + b]
                t0 = offsets[sq]
                length = offsets[sq + 1] - t0
                row = step_start[p0 + length - 1] + b
                best = NEG_INF
                arg = -1
                for k in range(K):
                    v = delta[row, k] + end[k]
                    if v > best:
                        best = v
                        arg = k
                if arg < 0:
                    continue
                score[sq] = best
                path[t0 + length - 1] = arg
                for t in range(length - 1, 0, -1):
                    prev = step_start[p0 + t - 1] + b
                    col = trans_t[arg]
                    best = NEG_INF
                    arg = 0
                    for i in range(K):
                        v = delta[prev, i] + col[i]
                        if v > best:
                            best = v
                            arg = i
                    path[t0 + t - 1] = arg
