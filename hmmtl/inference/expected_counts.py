"""The E-step of categorical HMMs: expected counts, emission-count accumulation and k-best
inference.

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

from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

from ._blocked import (_block_bounds, block_buffers, clear_failed, scaled_backward,
                       scaled_forward)
from ._host import _n_threads, one_blas_thread

__all__ = ["ExpectedCounts", "SymbolEmissions", "EStepAccumulators", "hmm_expected_counts",
           "hmm_e_step_blocked", "segment_bounds", "scatter_by_id", "kbest_forward_backward"]


class ExpectedCounts(NamedTuple):
    """Result of :func:`hmm_expected_counts`.

    start : float64 ndarray of shape (n_states,)
        Expected count of each state at the first position of a sequence.
    pair_counts : float64 ndarray of shape (n_states, n_states)
        Expected transition counts.
    emission : float64 ndarray of shape (n_features, n_states)
        Expected count of each (symbol, state) pair.
    log_z : float64 ndarray of shape (n_sequences,)
        Log-likelihood of each sequence (``-inf`` where the labels leave no path).
    """

    start: np.ndarray
    pair_counts: np.ndarray
    emission: np.ndarray
    log_z: np.ndarray


class SymbolEmissions(NamedTuple):
    """The emissions as :func:`hmm_e_step_blocked` reads them: token ``t`` is symbol
    ``ids[t]`` (int32, n_tokens), whose factors are row ``ids[t]`` of ``emission_t``
    (n_features, n_states), the emission probabilities transposed; with ``use_labels``, a
    token with ``labels[t] >= 0`` (int32, n_tokens) keeps only that state."""

    ids: np.ndarray
    labels: np.ndarray
    use_labels: bool
    emission_t: np.ndarray


class EStepAccumulators(NamedTuple):
    """What :func:`hmm_e_step_blocked` adds to and writes: per-thread accumulators
    ``start`` (n_threads, n_states), ``pair_counts`` (n_threads, n_states, n_states) and
    ``emission`` (n_threads, n_features, n_states), float64 and zero on entry; ``log_z``
    and ``bad`` (n_sequences,)."""

    start: np.ndarray
    pair_counts: np.ndarray
    emission: np.ndarray
    log_z: np.ndarray
    bad: np.ndarray


#: Largest size of the per-thread (n_features, n_states) accumulators of the fused E-step;
#: beyond it the marginals are written out and scattered into one table.
FUSED_ACCUMULATOR_BYTES = 1 << 28

#: Tokens per block of the fused E-step (as :data:`hmmtl.inference.BLOCK_ROWS`).
EM_BLOCK_ROWS = 4096

#: Token x state entries whose marginals the unfused and k-best E-steps hold at once.
_BLOCK_ELEMENTS = 1 << 23

def _allowed(labels, K):
    if labels is None or not np.any(labels >= 0):
        return None
    lab = labels >= 0
    allowed = np.ones((labels.shape[0], K), dtype=bool)
    allowed[lab] = False
    allowed[np.flatnonzero(lab), labels[lab]] = True
    return allowed


def _token_blocks(offsets, K):
    """(first, end) sequence index of contiguous blocks of at most about ``_BLOCK_ELEMENTS``
    token-state entries."""
    from . import chunk_sequences

    n_blocks = max(1, -(-int(offsets[-1]) * K // _BLOCK_ELEMENTS))
    bounds = chunk_sequences(offsets, n_blocks).tolist()
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if a < b]


def hmm_expected_counts(ids, offsets, emission, transition, start, labels=None, *,
                        kbest=None, fused=None) -> ExpectedCounts:
    """Expected sufficient statistics of a categorical HMM over a ragged batch of symbols:
    the E-step of Baum-Welch.

    The exact E-step runs forward-backward on blocks of sequences whose recursion steps are
    matrix products (as :func:`hmmtl.inference.forward_backward`), in probability space
    with per-position scaling (Rabiner 1989), and adds each token's posterior straight into
    its thread's (n_features, n_states) table: no marginals are written out, no exponentials
    taken.  A sequence whose scaled recursion fails is redone exactly in log space.

    Parameters
    ----------
    ids : int ndarray of shape (n_tokens,)
        Symbol of each token, in ``[0, n_features)``.
    offsets : int ndarray of shape (n_sequences + 1,)
    emission : ndarray of shape (n_states, n_features)
        ``p(symbol | state)``; its float type (float64 or float32) is the precision of the
        recursions (counts are accumulated in float64).
    transition : ndarray of shape (n_states, n_states)
    start : ndarray of shape (n_states,)
        Probabilities, not logs.
    labels : int ndarray of shape (n_tokens,), optional
        Tokens with ``labels >= 0`` are clamped to that state.
    kbest : int, optional
        Beam of the ``kbest`` largest forward entries per position (Grave et al. 2013);
        the counts are those of the pruned lattice (exact when ``kbest >= n_states``).
    fused : bool, optional
        Accumulate the emission counts inside the forward-backward kernel (default: when
        the per-thread tables fit in :data:`FUSED_ACCUMULATOR_BYTES`); False writes the
        marginals out and scatters them.  Same results.

    Returns
    -------
    ExpectedCounts

    Examples
    --------
    >>> import numpy as np
    >>> r = hmm_expected_counts(np.array([0, 1]), np.array([0, 2]), np.full((2, 2), 0.5),
    ...                         np.full((2, 2), 0.5), np.full(2, 0.5))
    >>> r.emission.tolist(), round(float(r.log_z[0]), 6)
    ([[0.5, 0.5], [0.5, 0.5]], -1.386294)
    """
    emission = np.asarray(emission)
    K, V = emission.shape
    dt = np.float32 if emission.dtype == np.float32 else np.float64
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if labels is not None:
        labels = np.ascontiguousarray(labels, dtype=np.int32)
    transition = np.ascontiguousarray(transition, dtype=dt)
    start = np.ascontiguousarray(start, dtype=dt)
    if kbest is not None:
        return _expected_kbest(ids, offsets, emission, transition, start, labels, int(kbest))
    if fused is None:
        fused = _n_threads() * V * K * 8 <= FUSED_ACCUMULATOR_BYTES
    if not fused:
        return _expected_scattered(ids, offsets, emission, transition, start, labels)
    from ._blocked import block_layout

    emission_t = np.ascontiguousarray(emission.T, dtype=dt)
    n_seq = offsets.shape[0] - 1
    log_z = np.zeros(n_seq, dtype=np.float64)
    bad = np.zeros(n_seq, dtype=np.bool_)
    layout = block_layout(offsets, EM_BLOCK_ROWS)
    n_threads = _n_threads()
    use_labels = labels is not None and bool(np.any(labels >= 0))
    acc = EStepAccumulators(np.zeros((n_threads, K)), np.zeros((n_threads, K, K)),
                            np.zeros((n_threads, V, K)), log_z, bad)
    emissions = SymbolEmissions(ids, labels if use_labels else ids, use_labels, emission_t)
    # blocks come longest first and go to whichever thread is free (dynamic scheduling)
    with one_blas_thread(), numba.parallel_chunksize(1):
        hmm_e_step_blocked(emissions, transition, start, layout, offsets, acc)
    counts = acc.emission[0]
    for w in range(1, n_threads):
        counts += acc.emission[w]
    pairs = acc.pair_counts.sum(axis=0) * transition
    result = ExpectedCounts(acc.start.sum(axis=0), pairs, counts, log_z)
    if bad.any():
        result = _redo_in_log_space(result, np.flatnonzero(bad), ids, offsets, emission,
                                    transition, start, labels)
    return result


def _redo_in_log_space(result, redo, ids, offsets, emission, transition, start, labels):
    """Counts of the sequences ``redo`` by the exact log-space forward-backward, added to
    ``result`` (their log Z replaced)."""
    from ..data import token_positions

    tokens, sub_offsets = token_positions(offsets, redo)
    sub = _expected_scattered(ids[tokens], sub_offsets, emission, transition, start,
                              None if labels is None else labels[tokens])
    log_z = result.log_z.copy()
    log_z[redo] = sub.log_z
    return ExpectedCounts(result.start + sub.start, result.pair_counts + sub.pair_counts,
                          result.emission + sub.emission, log_z)


def _expected_scattered(ids, offsets, emission, transition, start, labels):
    """The E-step through :func:`hmmtl.inference.forward_backward` (marginals written out,
    in blocks) and a scatter of the marginals by symbol."""
    from . import forward_backward

    K, V = emission.shape
    dt = np.float32 if emission.dtype == np.float32 else np.float64
    with np.errstate(divide="ignore"):
        log_emit_t = np.ascontiguousarray(np.log(emission).T.astype(dt, copy=False))
        log_trans = np.log(np.asarray(transition, dtype=np.float64))
        log_start = np.log(np.asarray(start, dtype=np.float64))
    st, pairs, counts = np.zeros(K), np.zeros((K, K)), np.zeros((V, K))
    log_z = np.zeros(offsets.shape[0] - 1)
    for a, b in _token_blocks(offsets, K):
        t0, t1 = int(offsets[a]), int(offsets[b])
        offs = offsets[a:b + 1] - t0
        sub_ids = ids[t0:t1]
        fb = forward_backward(log_emit_t, log_trans, offs, start=log_start,
                              allowed=_allowed(None if labels is None else labels[t0:t1], K),
                              backend="numba", unary_index=sub_ids, check_finite=False)
        firsts = offs[:-1][np.diff(offs) > 0]
        st += fb.marginals[firsts].sum(axis=0, dtype=np.float64)
        pairs += fb.pair_counts
        scatter_by_id(sub_ids, fb.marginals, counts)
        log_z[a:b] = fb.log_z
    return ExpectedCounts(st, pairs, counts, log_z)


def _expected_kbest(ids, offsets, emission, transition, start, labels, k):
    from . import chunk_sequences

    K, V = emission.shape
    emit_t = np.ascontiguousarray(np.asarray(emission, dtype=np.float64).T)
    trans = np.ascontiguousarray(transition, dtype=np.float64)
    start_p = np.ascontiguousarray(start, dtype=np.float64)
    st, pairs, counts = np.zeros(K), np.zeros((K, K)), np.zeros((V, K))
    log_z = np.zeros(offsets.shape[0] - 1)
    for a, b in _token_blocks(offsets, K):
        t0, t1 = int(offsets[a]), int(offsets[b])
        offs = np.ascontiguousarray(offsets[a:b + 1] - t0)
        sub_ids = ids[t0:t1]
        allowed = _allowed(None if labels is None else labels[t0:t1], K)
        use_mask = allowed is not None
        if allowed is None:
            allowed = np.ones((1, 1), dtype=bool)
        chunks = chunk_sequences(offs, 4 * _n_threads())
        beam, marg, pc, lz = kbest_forward_backward(sub_ids, offs, chunks, emit_t, trans,
                                                    start_p, allowed, use_mask, k, True)
        firsts = offs[:-1][np.diff(offs) > 0]
        fb, fm = beam[firsts].ravel(), marg[firsts].ravel()
        keep = fb >= 0
        st += np.bincount(fb[keep], weights=fm[keep], minlength=K)
        pairs += pc
        scatter_by_id(sub_ids, marg, counts, index=beam)
        log_z[a:b] = lz
    return ExpectedCounts(st, pairs, counts, log_z)


# reassociation lets LLVM vectorize the sums and maxima over states; NaN and inf keep their
# meaning (no 'nnan' / 'ninf'), so the scaling-failure checks stay
@njit(cache=True, parallel=True, fastmath={"reassoc", "contract"})
def hmm_e_step_blocked(emissions, a, start_p, layout, offsets, acc):
    """Blocked scaled forward-backward of an HMM with the expected counts accumulated
    in place.

    ``emissions`` is a :class:`SymbolEmissions`, ``a`` (K, K) and ``start_p`` (K,) the
    transition and start probabilities, ``layout`` a
    :class:`~hmmtl.inference._blocked.BlockLayout` and ``acc`` an
    :class:`EStepAccumulators`.  Each block runs on one thread, which adds its counts to its
    own row of the accumulators -- ``acc.start`` (n_threads, K), ``acc.pair_counts``
    (n_threads, K, K) *without* the transition factor (the caller multiplies by ``a``),
    ``acc.emission`` (n_threads, V, K) -- so the ``prange`` loop has no races.  Token
    ``t``'s emission factors are row ``ids[t]`` of ``emission_t`` (probabilities scaled by
    their maximum; a labeled token keeps only its label's entry).  Writes ``acc.log_z`` and
    ``acc.bad`` (scaling failed: the caller redoes the sequence exactly; it adds nothing
    here) per sequence.
    """
    ids, labels, use_labels, emission_t = emissions
    order, seq_ptr, row_ptr, step_ptr, step_start, step_n, row_token = layout
    start_acc, pair_acc, emission_acc, log_z, bad = acc
    K = emission_t.shape[1]
    n_blocks = seq_ptr.shape[0] - 1
    dt = emission_t.dtype
    a_t = np.ascontiguousarray(a.T)
    for blk in prange(n_blocks):
        tid = numba.get_thread_id()
        counts = emission_acc[tid]
        pairs = pair_acc[tid]
        r0, nrows, s0, S, p0, L = _block_bounds(blk, row_ptr, seq_ptr, step_ptr)
        e, alpha, scale, lz, failed = block_buffers(nrows, S, K, dt)
        # emission factors p(w | k) / max_k p(w | k), the log of the maximum kept in scale
        # until the forward pass adds it to log Z; a labeled token keeps its label
        for r in range(nrows):
            tok = row_token[r0 + r]
            v = ids[tok]
            lab = labels[tok] if use_labels else -1
            m = 0.0
            if lab >= 0:
                for k in range(K):
                    e[r, k] = 0.0
                m = emission_t[v, lab]
                if m > 0.0:
                    e[r, lab] = 1.0
            else:
                for k in range(K):
                    m = max(m, emission_t[v, k])
                if m > 0.0:
                    inv = 1.0 / m
                    for k in range(K):
                        e[r, k] = emission_t[v, k] * inv
                else:
                    for k in range(K):
                        e[r, k] = 0.0
            scale[r] = np.log(m) if m > 0.0 else 0.0
        scaled_forward(alpha, e, a, start_p, scale, lz, failed, step_start, step_n, p0, L)
        # no end factors: each sequence's beta starts at one (its alpha sums to one)
        beta_end = np.ones((S, K), dtype=dt)
        clear_failed(alpha, e, scale, failed, beta_end, order, offsets, step_start, s0, p0)
        scaled_backward(alpha, e, a_t, scale, beta_end, pairs, True, step_start, step_n, p0, L)
        cs = step_start[p0]
        for b in range(step_n[p0]):
            for k in range(K):
                start_acc[tid, k] += alpha[cs + b, k]
        # alpha now holds the posteriors: add them to the symbols' rows
        for r in range(nrows):
            v = ids[row_token[r0 + r]]
            for k in range(K):
                counts[v, k] += alpha[r, k]
        for b in range(S):
            sq = order[s0 + b]
            log_z[sq] = -np.inf if failed[b] else lz[b]
            bad[sq] = failed[b]


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
def scatter_rows(order, bounds, ids, index, values, out, dense):
    """``out[ids[t], index[t, j]] += values[t, j]`` for every token ``t`` (``index < 0``
    marks an empty slot); with ``dense``, ``index[t, j] = j`` (``index`` is not read):
    ``out[ids[t]] += values[t]``.

    order : int64 (n_tokens,) -- tokens sorted by id; bounds : chunk bounds into ``order``
    that never split a run of equal ids; values : (n_tokens, k); out : float64 (V, K).
    """
    kk = values.shape[1]
    n_chunks = bounds.shape[0] - 1
    for c in prange(n_chunks):
        for p in range(bounds[c], bounds[c + 1]):
            t = order[p]
            v = ids[t]
            for j in range(kk):
                s = j if dense else index[t, j]
                if s >= 0:
                    out[v, s] += values[t, j]


def scatter_by_id(ids, values, out, index=None) -> None:
    """``out[ids[t]] += values[t]`` (or, with ``index``, ``out[ids[t], index[t, j]] +=
    values[t, j]``) for the tokens with ``ids[t] >= 0``: the tokens are visited in order of
    their id, each thread owning whole ids (rows of ``out``), so there are no races."""
    ids = np.asarray(ids)
    order = np.argsort(ids, kind="stable")
    order = order[int(np.searchsorted(ids[order], 0, side="left")):]
    if order.shape[0] == 0:
        return
    bounds = segment_bounds(ids[order], 4 * _n_threads())
    dense = index is None
    scatter_rows(order, bounds, ids, np.zeros((1, 1), np.int32) if dense else index,
                 np.ascontiguousarray(values), out, dense)


@njit(cache=True)
def _kth_largest(a, k):
    """The ``k``-th largest value of ``a`` (1-based), by quickselect in place (``a`` is
    reordered; no allocation, unlike ``np.partition``)."""
    lo, hi = 0, a.shape[0] - 1
    target = k - 1   # position in descending order
    while lo < hi:
        pivot = a[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while a[i] > pivot:
                i += 1
            while a[j] < pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            return a[target]
    return a[target]


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
    thr = _kth_largest(scratch, k)
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
