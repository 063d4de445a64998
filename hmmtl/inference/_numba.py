"""Numba kernels for linear-chain inference over ragged batches.

Each thread owns a chunk of whole sequences and its own accumulator (pair counts), so the
``prange`` loops have no races.  Forward-backward runs in probability space with
per-position scaling (fast); a sequence whose scaled recursion breaks down (a zero or
non-finite normalizer, as happens when transitions span hundreds of nats and a mask forces an
unlikely path) is redone exactly in log space.  Results are the same either way.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

NEG_INF = -np.inf


@njit(cache=True)
def _exp_shift(x, out):
    """out = exp(x - max(x)); returns max(x) (``-inf`` when every entry is ``-inf``)."""
    m = NEG_INF
    for k in range(x.shape[0]):
        if x[k] > m:
            m = x[k]
    if m == NEG_INF:
        for k in range(x.shape[0]):
            out[k] = 0.0
        return m
    for k in range(x.shape[0]):
        out[k] = np.exp(x[k] - m)
    return m


@njit(cache=True)
def _logsumexp(x):
    m = NEG_INF
    for k in range(x.shape[0]):
        if x[k] > m:
            m = x[k]
    if m == NEG_INF:
        return m
    s = 0.0
    for k in range(x.shape[0]):
        s += np.exp(x[k] - m)
    return m + np.log(s)


@njit(cache=True)
def _masked_row(unary, allowed, t, use_mask, out):
    for k in range(unary.shape[1]):
        if use_mask and not allowed[t, k]:
            out[k] = NEG_INF
        else:
            out[k] = unary[t, k]


@njit(cache=True)
def _fb_sequence_scaled(unary, allowed, use_mask, a, tmax, start_p, smax, end_p, emax,
                        t0, t1, marginals, pair_acc, want_pairs):
    """Scaled forward-backward of one sequence.  Returns log Z, or NaN when scaling failed."""
    K = unary.shape[1]
    T = t1 - t0
    row = np.empty(K, dtype=unary.dtype)
    e = np.empty(K, dtype=unary.dtype)
    tmp = np.empty(K, dtype=unary.dtype)
    scales = np.empty(T, dtype=np.float64)
    log_z = 0.0
    # forward: marginals[t] holds alpha_hat_t until the backward pass turns it into gamma_t
    _masked_row(unary, allowed, t0, use_mask, row)
    m = _exp_shift(row, e)
    if m == NEG_INF:
        return np.nan
    c = 0.0
    for k in range(K):
        v = start_p[k] * e[k]
        marginals[t0, k] = v
        c += v
    if not (c > 0.0) or not np.isfinite(c):
        return np.nan
    for k in range(K):
        marginals[t0, k] /= c
    log_z += np.log(c) + m + smax
    for t in range(t0 + 1, t1):
        _masked_row(unary, allowed, t, use_mask, row)
        m = _exp_shift(row, e)
        if m == NEG_INF:
            return np.nan
        for j in range(K):
            tmp[j] = 0.0
        for i in range(K):
            ai = marginals[t - 1, i]
            if ai != 0.0:
                for j in range(K):
                    tmp[j] += ai * a[i, j]
        c = 0.0
        for j in range(K):
            v = tmp[j] * e[j]
            marginals[t, j] = v
            c += v
        if not (c > 0.0) or not np.isfinite(c):
            return np.nan
        for j in range(K):
            marginals[t, j] /= c
        scales[t - t0] = c
        log_z += np.log(c) + m + tmax
    c_end = 0.0
    for k in range(K):
        c_end += marginals[t1 - 1, k] * end_p[k]
    if not (c_end > 0.0) or not np.isfinite(c_end):
        return np.nan
    log_z += np.log(c_end) + emax
    # backward
    beta = np.empty(K, dtype=unary.dtype)
    beta_next = np.empty(K, dtype=unary.dtype)
    for k in range(K):
        beta[k] = end_p[k] / c_end
    for t in range(t1 - 1, t0, -1):
        # beta holds beta_hat_t; finish gamma_t, then step to t-1
        _masked_row(unary, allowed, t, use_mask, row)
        m = _exp_shift(row, e)
        c = scales[t - t0]
        for j in range(K):
            marginals[t, j] *= beta[j]
            e[j] *= beta[j] / c          # e_t * beta_hat_t / c_t
        for i in range(K):
            s = 0.0
            for j in range(K):
                s += a[i, j] * e[j]
            beta_next[i] = s
        if want_pairs:
            for i in range(K):
                ai = marginals[t - 1, i]
                if ai != 0.0:
                    for j in range(K):
                        pair_acc[i, j] += ai * a[i, j] * e[j]
        for i in range(K):
            beta[i] = beta_next[i]
    for k in range(K):
        marginals[t0, k] *= beta[k]
    return log_z


@njit(cache=True)
def _fb_sequence_log(unary, allowed, use_mask, transition, start, end, t0, t1,
                     marginals, pair_acc, want_pairs):
    """Exact log-space forward-backward of one sequence (the fallback).  Returns log Z."""
    K = unary.shape[1]
    T = t1 - t0
    la = np.empty((T, K), dtype=np.float64)
    lb = np.empty((T, K), dtype=np.float64)
    row = np.empty(K, dtype=np.float64)
    tmp = np.empty(K, dtype=np.float64)
    for k in range(K):
        if use_mask and not allowed[t0, k]:
            la[0, k] = NEG_INF
        else:
            la[0, k] = start[k] + unary[t0, k]
    for t in range(1, T):
        for j in range(K):
            if use_mask and not allowed[t0 + t, j]:
                la[t, j] = NEG_INF
                continue
            for i in range(K):
                tmp[i] = la[t - 1, i] + transition[i, j]
            la[t, j] = _logsumexp(tmp) + unary[t0 + t, j]
    for k in range(K):
        lb[T - 1, k] = end[k]
        row[k] = la[T - 1, k] + end[k]
    log_z = _logsumexp(row)
    for t in range(T - 2, -1, -1):
        for j in range(K):
            if use_mask and not allowed[t0 + t + 1, j]:
                row[j] = NEG_INF
            else:
                row[j] = unary[t0 + t + 1, j] + lb[t + 1, j]
        for i in range(K):
            for j in range(K):
                tmp[j] = transition[i, j] + row[j]
            lb[t, i] = _logsumexp(tmp)
    if log_z == NEG_INF:
        for t in range(T):
            for k in range(K):
                marginals[t0 + t, k] = 0.0
        return log_z
    for t in range(T):
        for k in range(K):
            marginals[t0 + t, k] = np.exp(la[t, k] + lb[t, k] - log_z)
    if want_pairs:
        for t in range(T - 1):
            for j in range(K):
                if use_mask and not allowed[t0 + t + 1, j]:
                    row[j] = NEG_INF
                else:
                    row[j] = unary[t0 + t + 1, j] + lb[t + 1, j] - log_z
            for i in range(K):
                if la[t, i] == NEG_INF:
                    continue
                for j in range(K):
                    v = la[t, i] + transition[i, j] + row[j]
                    if v > NEG_INF:
                        pair_acc[i, j] += np.exp(v)
    return log_z


@njit(cache=True)
def _shifted_exp_matrix(x):
    m = NEG_INF
    for v in x.ravel():
        if v > m:
            m = v
    if m == NEG_INF:
        m = 0.0
    return np.exp(x - m), m


@njit(cache=True, parallel=True)
def forward_backward_kernel(unary, transition, start, end, allowed, use_mask, offsets,
                            chunk_bounds, pair_groups, n_groups, want_pairs):
    """Forward-backward over a ragged batch.

    Returns marginals (n_tokens, K), pair counts (n_groups, K, K) and log Z per sequence.
    ``chunk_bounds`` splits the sequences into chunks, one accumulator each.
    """
    n_tokens, K = unary.shape
    n_seq = offsets.shape[0] - 1
    n_chunks = chunk_bounds.shape[0] - 1
    marginals = np.zeros((n_tokens, K), dtype=unary.dtype)
    log_z = np.zeros(n_seq, dtype=np.float64)
    acc = np.zeros((n_chunks, n_groups, K, K), dtype=unary.dtype)
    a, tmax = _shifted_exp_matrix(transition)
    start_p, smax = _shifted_exp_matrix(start)
    end_p, emax = _shifted_exp_matrix(end)
    a = a.astype(unary.dtype)
    start_p = start_p.astype(unary.dtype)
    end_p = end_p.astype(unary.dtype)
    pair_tmp = np.zeros((n_chunks, K, K), dtype=unary.dtype)
    for c in prange(n_chunks):
        for s in range(chunk_bounds[c], chunk_bounds[c + 1]):
            t0 = offsets[s]
            t1 = offsets[s + 1]
            if t1 == t0:
                continue
            g = pair_groups[s]
            if want_pairs:
                for i in range(K):
                    for j in range(K):
                        pair_tmp[c, i, j] = 0.0
            lz = _fb_sequence_scaled(unary, allowed, use_mask, a, tmax, start_p, smax,
                                     end_p, emax, t0, t1, marginals, pair_tmp[c], want_pairs)
            if np.isnan(lz):
                if want_pairs:
                    for i in range(K):
                        for j in range(K):
                            pair_tmp[c, i, j] = 0.0
                lz = _fb_sequence_log(unary, allowed, use_mask, transition, start, end,
                                      t0, t1, marginals, pair_tmp[c], want_pairs)
            log_z[s] = lz
            if want_pairs:
                for i in range(K):
                    for j in range(K):
                        acc[c, g, i, j] += pair_tmp[c, i, j]
    pair_counts = np.zeros((n_groups, K, K), dtype=np.float64)
    for c in range(n_chunks):
        for g in range(n_groups):
            for i in range(K):
                for j in range(K):
                    pair_counts[g, i, j] += acc[c, g, i, j]
    return marginals, pair_counts, log_z


@njit(cache=True, parallel=True)
def viterbi_kernel(unary, unary_index, gathered, transition, start, end, allowed, use_mask,
                   offsets, chunk_bounds):
    """Viterbi over a ragged batch in log space.  Returns the path (int32) and its score;
    a sequence with no allowed path gets score ``-inf`` and path ``-1``."""
    K = unary.shape[1]
    n_tokens = offsets[-1]
    n_chunks = chunk_bounds.shape[0] - 1
    n_seq = offsets.shape[0] - 1
    path = np.full(n_tokens, -1, dtype=np.int32)
    score = np.full(n_seq, NEG_INF, dtype=np.float64)
    for c in prange(n_chunks):
        delta = np.empty(K, dtype=np.float64)
        new = np.empty(K, dtype=np.float64)
        longest = 0
        for s in range(chunk_bounds[c], chunk_bounds[c + 1]):
            longest = max(longest, offsets[s + 1] - offsets[s])
        back = np.empty((max(longest, 1), K), dtype=np.int32)  # one buffer per chunk
        for s in range(chunk_bounds[c], chunk_bounds[c + 1]):
            t0 = offsets[s]
            t1 = offsets[s + 1]
            T = t1 - t0
            if T == 0:
                score[s] = 0.0
                continue
            for k in range(K):
                if use_mask and not allowed[t0, k]:
                    delta[k] = NEG_INF
                else:
                    delta[k] = start[k] + unary[unary_index[t0] if gathered else t0, k]
            for t in range(1, T):
                u = unary_index[t0 + t] if gathered else t0 + t
                # i outer, j inner: rows of ``transition`` are contiguous, so the max-plus
                # step vectorizes; strict ">" in increasing i keeps ties on the lowest state
                arg_row = back[t]
                d0 = delta[0]
                for j in range(K):
                    new[j] = d0 + transition[0, j]
                    arg_row[j] = 0
                for i in range(1, K):
                    di = delta[i]
                    if di == NEG_INF:
                        continue
                    for j in range(K):
                        v = di + transition[i, j]
                        if v > new[j]:
                            new[j] = v
                            arg_row[j] = i
                if use_mask:
                    for j in range(K):
                        if allowed[t0 + t, j]:
                            delta[j] = new[j] + unary[u, j]
                        else:
                            delta[j] = NEG_INF
                else:
                    for j in range(K):
                        delta[j] = new[j] + unary[u, j]
            best = NEG_INF
            arg = -1
            for k in range(K):
                v = delta[k] + end[k]
                if v > best:
                    best = v
                    arg = k
            if arg < 0:
                continue
            score[s] = best
            path[t1 - 1] = arg
            for t in range(T - 1, 0, -1):
                arg = back[t, arg]
                path[t0 + t - 1] = arg
    return path, score


# ----------------------------------------------------------------------------- fused row steps
# The array backend (hmmtl.inference._array) runs its matrix products through BLAS, which has
# its own threads; these fuse the element-wise work between two products into one pass over
# the block.  They are serial on purpose: BLAS threads still spinning after a product would
# compete with a parallel loop for the same cores.


@njit(cache=True)
def gather_exp_rows(unary, token, allowed, use_mask, e, row_max):
    """e[r] = exp(unary[token[r]] - max) with masked states at 0; row_max[r] = that max
    (0 where every state is masked or -inf; ``e[r]`` is then all zero)."""
    K = unary.shape[1]
    for r in range(token.shape[0]):
        t = token[r]
        m = NEG_INF
        for k in range(K):
            v = unary[t, k]
            if use_mask and not allowed[t, k]:
                v = NEG_INF
            e[r, k] = v
            if v > m:
                m = v
        if m == NEG_INF:
            m = 0.0
        row_max[r] = m
        for k in range(K):
            e[r, k] = np.exp(e[r, k] - m)


@njit(cache=True)
def emit_normalize_rows(x, e, scale):
    """x *= e row-wise, scale[b] = sum_k x[b, k], then rows with a positive sum divided by it."""
    n, K = x.shape
    for b in range(n):
        s = 0.0
        for k in range(K):
            v = x[b, k] * e[b, k]
            x[b, k] = v
            s += v
        scale[b] = s
        if s > 0.0:
            inv = 1.0 / s
            for k in range(K):
                x[b, k] *= inv


@njit(cache=True)
def backward_rows(alpha, e, beta, scale):
    """alpha *= beta (alpha becomes the marginals) and e = e * beta / scale, row-wise."""
    n, K = alpha.shape
    for b in range(n):
        inv = 1.0 / scale[b]
        for k in range(K):
            bk = beta[b, k]
            alpha[b, k] *= bk
            e[b, k] *= bk * inv
