"""Numba kernels of the HMM estimators: emission-count accumulation and k-best inference.

Expected emission counts are a scatter-add of the rows of the posterior marginals into a
(n_features, n_states) table indexed by token id.  Tokens are visited in order of their id
(one stable ``argsort`` per batch), and the sorted token list is cut into chunks at id
boundaries: each thread owns whole ids, hence whole rows of the table, so the ``prange`` loop
has no races and needs no per-thread copy of a table that can hold 100k x 1,024 entries.

k-best inference (Grave, Obozinski & Bach 2013; a beam over states) keeps the k largest
entries of each forward message, rescaled so that the message keeps its mass; the backward
messages are computed on that same beam (k entries each), so that marginals and pair counts
are those of one consistent pruned lattice.  With k >= n_states nothing is pruned and the
result is exact forward-backward.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["segment_bounds", "scatter_rows", "scatter_sparse_rows", "kbest_forward_backward"]


def segment_bounds(sorted_ids: np.ndarray, n_chunks: int) -> np.ndarray:
    """Cut a sorted id array into about ``n_chunks`` pieces of equal size, never inside a
    run of equal ids (so that each chunk owns its ids).  Returns int64 bounds."""
    n = sorted_ids.shape[0]
    n_chunks = max(1, min(int(n_chunks), max(n, 1)))
    targets = np.linspace(0, n, n_chunks + 1).astype(np.int64)[1:-1]
    if n:
        cuts = np.searchsorted(sorted_ids, sorted_ids[np.minimum(targets, n - 1)], side="left")
    else:
        cuts = np.zeros(0, dtype=np.int64)
    bounds = np.concatenate([[0], cuts, [n]]).astype(np.int64)
    return np.maximum.accumulate(bounds)


@njit(cache=True, parallel=True)
def scatter_rows(order, bounds, ids, rows, out):
    """``out[ids[t]] += rows[t]`` for every token ``t``.

    order : int64 (n_tokens,) -- tokens sorted by id; bounds : chunk bounds into ``order``
    that never split a run of equal ids; rows : (n_tokens, K); out : float64 (V, K).
    """
    K = rows.shape[1]
    n_chunks = bounds.shape[0] - 1
    for c in prange(n_chunks):
        for p in range(bounds[c], bounds[c + 1]):
            t = order[p]
            v = ids[t]
            for k in range(K):
                out[v, k] += rows[t, k]


@njit(cache=True, parallel=True)
def scatter_sparse_rows(order, bounds, ids, index, values, out):
    """``out[ids[t], index[t, j]] += values[t, j]`` (``index < 0`` marks an empty slot)."""
    kk = index.shape[1]
    n_chunks = bounds.shape[0] - 1
    for c in prange(n_chunks):
        for p in range(bounds[c], bounds[c + 1]):
            t = order[p]
            v = ids[t]
            for j in range(kk):
                s = index[t, j]
                if s >= 0:
                    out[v, s] += values[t, j]


@njit(cache=True)
def _top_k(x, k, beam, scratch):
    """Indices of the ``k`` largest entries of ``x`` (ties broken by index) into ``beam``;
    returns how many were written (fewer than ``k`` only when ``x`` has fewer entries)."""
    K = x.shape[0]
    if k >= K:
        for i in range(K):
            beam[i] = i
        return K
    for i in range(K):
        scratch[i] = x[i]
    thr = np.partition(scratch, K - k)[K - k]
    n = 0
    for i in range(K):
        if x[i] > thr:
            beam[n] = i
            n += 1
    for i in range(K):
        if n >= k:
            break
        if x[i] == thr:
            beam[n] = i
            n += 1
    return n


@njit(cache=True, parallel=True)
def kbest_forward_backward(ids, offsets, chunk_bounds, emission_t, transition, start,
                           allowed, use_mask, k, want_pairs):
    """k-best forward-backward of an HMM over a ragged batch of token ids.

    Parameters
    ----------
    ids : int32 (n_tokens,)
    offsets : int64 (n_sequences + 1,)
    chunk_bounds : int64 -- chunks of whole sequences, one per ``prange`` iteration
    emission_t : float64 (V, K) -- p(word | state), transposed so a token's row is contiguous
    transition : float64 (K, K); start : float64 (K,)
    allowed : bool (n_tokens, K) (read only when ``use_mask``)
    k : int -- beam size

    Returns
    -------
    beam : int32 (n_tokens, k) -- states kept at each token (-1 = empty slot)
    marginals : float64 (n_tokens, k) -- posterior of those states on the pruned lattice
    pair_counts : float64 (K, K)
    log_z : float64 (n_sequences,) -- log-likelihood estimate (exact when k >= K)
    """
    n_tokens = ids.shape[0]
    K = transition.shape[0]
    kk = min(k, K)
    n_seq = offsets.shape[0] - 1
    n_chunks = chunk_bounds.shape[0] - 1
    beam = np.full((n_tokens, kk), -1, dtype=np.int32)
    marg = np.zeros((n_tokens, kk), dtype=np.float64)
    log_z = np.zeros(n_seq, dtype=np.float64)
    acc = np.zeros((n_chunks, K, K), dtype=np.float64)
    for c in prange(n_chunks):
        full = np.empty(K, dtype=np.float64)
        scratch = np.empty(K, dtype=np.float64)
        sel = np.empty(K, dtype=np.int64)
        bprev = np.empty(kk, dtype=np.float64)
        bcur = np.empty(kk, dtype=np.float64)
        w = np.empty(kk, dtype=np.float64)
        for s in range(chunk_bounds[c], chunk_bounds[c + 1]):
            t0 = offsets[s]
            t1 = offsets[s + 1]
            if t1 == t0:
                continue
            T = t1 - t0
            nb = np.zeros(T, dtype=np.int64)      # beam size at each position
            lz = 0.0
            dead = False
            # ---- forward on the beam; marg[t] holds the (kept, renormalized) alpha_t
            for t in range(T):
                tok = t0 + t
                v = ids[tok]
                if t == 0:
                    for j in range(K):
                        full[j] = start[j] * emission_t[v, j]
                else:
                    for j in range(K):
                        full[j] = 0.0
                    for q in range(nb[t - 1]):
                        i = beam[tok - 1, q]
                        ai = marg[tok - 1, q]
                        for j in range(K):
                            full[j] += ai * transition[i, j]
                    for j in range(K):
                        full[j] *= emission_t[v, j]
                if use_mask:
                    for j in range(K):
                        if not allowed[tok, j]:
                            full[j] = 0.0
                tot = 0.0
                for j in range(K):
                    tot += full[j]
                if not (tot > 0.0) or not np.isfinite(tot):
                    dead = True
                    break
                n = _top_k(full, kk, sel, scratch)
                kept = 0.0
                for q in range(n):
                    kept += full[sel[q]]
                # the kept entries are rescaled to the whole mass tot, then normalized by it
                for q in range(n):
                    beam[tok, q] = sel[q]
                    marg[tok, q] = full[sel[q]] / kept
                nb[t] = n
                lz += np.log(tot)
            if dead:
                log_z[s] = -np.inf
                for t in range(T):
                    for q in range(kk):
                        beam[t0 + t, q] = -1
                        marg[t0 + t, q] = 0.0
                continue
            log_z[s] = lz
            # ---- backward on the same beam; each message is renormalized (its scale
            # cancels in the marginals) so that long sequences never underflow
            for q in range(nb[T - 1]):
                bcur[q] = 1.0
            for t in range(T - 1, 0, -1):
                tok = t0 + t
                v = ids[tok]
                for q in range(nb[t]):
                    j = beam[tok, q]
                    if use_mask and not allowed[tok, j]:
                        w[q] = 0.0
                    else:
                        w[q] = emission_t[v, j] * bcur[q]
                norm = 0.0
                for p in range(nb[t - 1]):
                    i = beam[tok - 1, p]
                    sm = 0.0
                    for q in range(nb[t]):
                        sm += transition[i, beam[tok, q]] * w[q]
                    bprev[p] = sm
                    norm += marg[tok - 1, p] * sm
                # marginals at t: alpha_t * beta_t, normalized on the lattice
                tot = 0.0
                for q in range(nb[t]):
                    marg[tok, q] *= bcur[q]
                    tot += marg[tok, q]
                if tot > 0.0:
                    for q in range(nb[t]):
                        marg[tok, q] /= tot
                if not (norm > 0.0):
                    norm = 1.0
                if want_pairs:
                    for p in range(nb[t - 1]):
                        i = beam[tok - 1, p]
                        ai = marg[tok - 1, p] / norm
                        for q in range(nb[t]):
                            j = beam[tok, q]
                            acc[c, i, j] += ai * transition[i, j] * w[q]
                for p in range(nb[t - 1]):
                    bcur[p] = bprev[p] / norm
            tot = 0.0
            for q in range(nb[0]):
                marg[t0, q] *= bcur[q]
                tot += marg[t0, q]
            if tot > 0.0:
                for q in range(nb[0]):
                    marg[t0, q] /= tot
    pair_counts = np.zeros((K, K), dtype=np.float64)
    for c in range(n_chunks):
        for i in range(K):
            for j in range(K):
                pair_counts[i, j] += acc[c, i, j]
    return beam, marg, pair_counts, log_z
