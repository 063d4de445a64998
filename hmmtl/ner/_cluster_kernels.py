"""Numba kernels of Brown clustering (Brown et al. 1992), in the windowed form of Liang (2005).

Words are taken in decreasing order of frequency.  The ``C`` most frequent start as ``C``
clusters; each further word enters as a cluster of its own and the two clusters whose merge
loses the least average mutual information (AMI) between adjacent clusters are merged, so
``C`` clusters are active between steps.  When every word is in, the ``C`` clusters are
merged down to one; the merge history is a binary tree whose root-to-leaf bit strings are
the words' hierarchical cluster paths.

Everything is in bigram *counts* (integers, exact under merging): with ``n(c, d)`` the
number of times a word of ``c`` is followed by a word of ``d``, ``l(c)`` / ``r(d)`` the
left / right marginal counts of the clusters over all bigrams of the vocabulary and ``T``
the total number of bigrams, the AMI of the active clusters is ``(1 / T) * sum_{c, d}
q(c, d)`` with

    q(c, d) = n(c, d) * (log n(c, d) + log T - log l(c) - log r(d))       (0 when n = 0)

and the loss of merging ``i`` and ``j`` (in the same units) is

    L(i, j) = S(i) + S(j) - q(i, j) - q(j, i) - M(i, j),
    S(i)    = sum_d q(i, d) + sum_d q(d, i) - q(i, i),
    M(i, j) = sum_{d != i, j} [q(s, d) + q(d, s)] + q(s, s),   s = i merged with j.

The table of all pairwise losses is kept up to date in O(C^2) per step as in Liang's
thesis (section 3.2): after merging ``a`` and ``b`` into ``m``, the loss of every other pair
changes only through its terms with ``a``, ``b`` and ``m``.  ``n log n`` comes from a table
for small counts, so the inner loops are integer adds, a table read and a multiply-add.
Every parallel loop writes only rows of the loss table it owns.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

#: counts below this read ``n log n`` from a table (512 KB, stays in cache)
XLOGX_TABLE_SIZE = 1 << 16


def xlogx_table(size: int = XLOGX_TABLE_SIZE) -> np.ndarray:
    """``n log n`` for ``n = 0 .. size - 1`` (0 for ``n = 0``)."""
    n = np.arange(size, dtype=np.float64)
    out = np.zeros(size)
    out[1:] = n[1:] * np.log(n[1:])
    return out


@njit(cache=True, inline="always")
def _term(n, log_left, log_right, log_total, table):
    """``q`` of a cell with count ``n`` and log marginals ``log_left``, ``log_right``."""
    if n <= 0:
        return 0.0
    if n < table.shape[0]:
        xl = table[n]
    else:
        xl = n * np.log(n)
    return xl + n * (log_total - log_left - log_right)



# ----------------------------------------------------------------------------- state
# The state of a run lives in arrays, over ``S = C + 1`` cluster slots:
#   counts[i, j] = n(i, j), counts_t = its transpose (so that columns are read as rows),
#   q[i, j], loss[i, j] (upper triangle i < j only), log_left_pair[i, j] = log(l(i) + l(j)),
#   log_right_pair likewise (both symmetric), left / right marginal counts and their logs,
#   row_q[i] = sum_d q(i, d), col_q[i] = sum_d q(d, i), row_n / col_n the same for counts,
#   active = the active slots in increasing order (so p < r in it means slot i < slot j).


class LossState(NamedTuple):
    """The arrays of a run's state that the loss of a merge reads, over the ``S`` cluster
    slots (see the comment above), with ``log_total`` = log T and ``table`` = ``n log n`` of
    small counts (:func:`xlogx_table`).  ``loss`` is written; the others are read."""

    active: np.ndarray
    counts: np.ndarray
    counts_t: np.ndarray
    q: np.ndarray
    loss: np.ndarray
    row_q: np.ndarray
    col_q: np.ndarray
    row_n: np.ndarray
    col_n: np.ndarray
    log_left: np.ndarray
    log_right: np.ndarray
    log_left_pair: np.ndarray
    log_right_pair: np.ndarray
    log_total: float
    table: np.ndarray


@njit(cache=True, inline="always")
def _balanced_row(h, side, n):
    """Row ``h`` (side 0) or ``n - 1 - h`` (side 1) of a triangular loop over ``n`` rows, so
    that each task ``h`` gets the same work; -1 for the middle row's second visit."""
    p = np.int64(h)
    if side == 1:
        if n - 1 - p == p:
            return -1
        p = n - 1 - p
    return p


def _make_kernels(parallel: bool):
    """The pair-loop kernels, compiled serial or parallel (only the pair loops are worth
    threads, and only when the table is large: a busy machine stalls small regions)."""
    loop = prange if parallel else range

    @njit(cache=True, parallel=parallel)
    def update_after_add(f, active, n_active, counts_t, counts, q, loss, log_left, log_right,
                         log_left_pair, log_right_pair, log_total, table):
        # pairs (i, j) already present gain their terms with the new cluster f
        n = n_active
        for h in loop((n + 1) // 2):
            for side in range(2):
                p = _balanced_row(h, side, n)
                if p < 0:
                    continue
                i = active[p]
                if i == f:
                    continue
                n_if = counts_t[f, i]     # n(i, f)
                n_fi = counts[f, i]       # n(f, i)
                qi = q[i, f] + q[f, i]
                for r in range(p + 1, n):
                    j = active[r]
                    if j == f:
                        continue
                    a = n_if + counts_t[f, j]
                    b = n_fi + counts[f, j]
                    if a == 0 and b == 0:
                        continue
                    delta = qi + q[j, f] + q[f, j]
                    delta -= _term(a, log_left_pair[i, j], log_right[f], log_total, table)
                    delta -= _term(b, log_left[f], log_right_pair[i, j], log_total, table)
                    loss[i, j] += delta

    @njit(cache=True, parallel=parallel)
    def update_after_merge(a, b, active, n_active, counts, counts_t, loss, log_left,
                           log_right, log_left_pair, log_right_pair, log_total, table, row_m,
                           col_m, delta_single, log_left_m, log_right_m):
        # pairs without a and b: their terms with a and b give way to their terms with m
        n = n_active
        lla = log_left[a]
        lra = log_right[a]
        llb = log_left[b]
        lrb = log_right[b]
        for h in loop((n + 1) // 2):
            for side in range(2):
                p = _balanced_row(h, side, n)
                if p < 0:
                    continue
                i = active[p]
                if i == a or i == b:
                    continue
                n_ia = counts_t[a, i]
                n_ai = counts[a, i]
                n_ib = counts_t[b, i]
                n_bi = counts[b, i]
                n_im = col_m[i]
                n_mi = row_m[i]
                di = delta_single[i]
                for r in range(p + 1, n):
                    j = active[r]
                    if j == a or j == b:
                        continue
                    lls = log_left_pair[i, j]
                    lrs = log_right_pair[i, j]
                    delta = di + delta_single[j]
                    delta += _term(n_ia + counts_t[a, j], lls, lra, log_total, table)
                    delta += _term(n_ai + counts[a, j], lla, lrs, log_total, table)
                    delta += _term(n_ib + counts_t[b, j], lls, lrb, log_total, table)
                    delta += _term(n_bi + counts[b, j], llb, lrs, log_total, table)
                    delta -= _term(n_im + col_m[j], lls, log_right_m, log_total, table)
                    delta -= _term(n_mi + row_m[j], log_left_m, lrs, log_total, table)
                    loss[i, j] += delta

    @njit(cache=True, parallel=parallel)
    def losses_with(m, active, n_active, counts, counts_t, q, loss, row_q, col_q, log_left,
                    log_right, log_left_pair, log_right_pair, log_total, table):
        # L(m, c) from scratch for every active c, O(C) each
        for p in loop(n_active):
            c = active[p]
            if c == m:
                continue
            lls = log_left_pair[m, c]
            lrs = log_right_pair[m, c]
            merged = 0.0
            for r in range(n_active):
                d = active[r]
                if d == m or d == c:
                    continue
                merged += _term(counts[m, d] + counts[c, d], lls, log_right[d], log_total,
                                table)
                merged += _term(counts_t[m, d] + counts_t[c, d], log_left[d], lrs, log_total,
                                table)
            n_ss = counts[m, m] + counts[m, c] + counts[c, m] + counts[c, c]
            merged += _term(n_ss, lls, lrs, log_total, table)
            single = row_q[m] + col_q[m] - q[m, m] + row_q[c] + col_q[c] - q[c, c]
            v = single - q[m, c] - q[c, m] - merged
            if c < m:
                loss[c, m] = v
            else:
                loss[m, c] = v

    @njit(cache=True, parallel=parallel)
    def row_minima(active, n_active, loss, best_val, best_col):
        for p in loop(n_active):
            i = active[p]
            bv = np.inf
            bc = -1
            for r in range(p + 1, n_active):
                j = active[r]
                if loss[i, j] < bv:
                    bv = loss[i, j]
                    bc = j
            best_val[p] = bv
            best_col[p] = bc

    return update_after_add, update_after_merge, losses_with, row_minima


(_update_after_add, _update_after_merge, _losses_with, _row_minima) = _make_kernels(False)
(_update_after_add_par, _update_after_merge_par, _losses_with_par,
 _row_minima_par) = _make_kernels(True)


@njit(cache=True)
def _safe_log(x):
    return np.log(x) if x > 0 else -np.inf


@njit(cache=True, inline="always")
def _merged_side(base, n_rest, log_own, log_pair, neighbours, n_neighbours, c, row_f, row_c,
                 log_other, log_total, table):
    """One side (the row or the column) of the merged cluster ``s = f + c`` in L(f, c):
    off ``f``'s neighbours a term is ``c``'s own with the marginal of ``c`` replaced by that
    of ``s`` (``base`` = the sum of ``c``'s terms, ``n_rest`` = their counts); on them, the
    count of ``f`` is added.  ``row_f`` / ``row_c`` are the counts on this side."""
    out = base
    if n_rest > 0:
        out += n_rest * (log_own - log_pair)
    for k in range(n_neighbours):
        d = neighbours[k]
        if d == c:
            continue
        n_cd = row_c[d]
        out += _term(row_f[d] + n_cd, log_pair, log_other[d], log_total, table)
        out -= _term(n_cd, log_pair, log_other[d], log_total, table)
    return out


@njit(cache=True)
def _losses_with_new(f, n_active, state, nbr_out, n_out, nbr_in, n_in):
    """L(f, c) for every active ``c``, for a cluster ``f`` that has just joined, in
    O(C * degree(f)): off ``f``'s neighbours ``d`` a merged term is ``q(c, d)`` with the
    marginal of ``c`` replaced by that of ``f + c``.  ``state`` is the :class:`LossState`
    (``state.loss`` is written); ``nbr_out[:n_out]`` / ``nbr_in[:n_in]`` are the active
    clusters that ``f`` precedes / follows at least once."""
    active = state.active
    counts = state.counts
    counts_t = state.counts_t
    q = state.q
    loss = state.loss
    row_q = state.row_q
    col_q = state.col_q
    row_n = state.row_n
    col_n = state.col_n
    log_left = state.log_left
    log_right = state.log_right
    log_total = state.log_total
    table = state.table
    for p in range(n_active):
        c = active[p]
        if c == f:
            continue
        lls = state.log_left_pair[f, c]
        lrs = state.log_right_pair[f, c]
        # sum over d != f, c of q(s, d) (row) and of q(d, s) (column)
        row = _merged_side(row_q[c] - q[c, c] - q[c, f], row_n[c] - counts[c, c] - counts[c, f],
                           log_left[c], lls, nbr_out, n_out, c, counts[f], counts[c],
                           log_right, log_total, table)
        col = _merged_side(col_q[c] - q[c, c] - q[f, c], col_n[c] - counts[c, c] - counts[f, c],
                           log_right[c], lrs, nbr_in, n_in, c, counts_t[f], counts_t[c],
                           log_left, log_total, table)
        n_ss = counts[f, f] + counts[f, c] + counts[c, f] + counts[c, c]
        merged = row + col + _term(n_ss, lls, lrs, log_total, table)
        single = row_q[f] + col_q[f] - q[f, f] + row_q[c] + col_q[c] - q[c, c]
        v = single - q[f, c] - q[c, f] - merged
        if c < f:
            loss[c, f] = v
        else:
            loss[f, c] = v


@njit(cache=True)
def _insert_sorted(active, n_active, x):
    p = n_active
    while p > 0 and active[p - 1] > x:
        active[p] = active[p - 1]
        p -= 1
    active[p] = x


@njit(cache=True)
def _remove_sorted(active, n_active, x):
    p = 0
    while active[p] != x:
        p += 1
    for r in range(p, n_active - 1):
        active[r] = active[r + 1]


@njit(cache=True)
def brown_steps(w_lo, w_hi, finish, n_clusters, parallel_from, log_total, table, graph,
                word_margins, counts, counts_t, fmats, fvecs, ivecs, words, merges, merge_loss,
                counters):
    """Add words ``w_lo .. w_hi - 1`` (each followed by the best merge once more than
    ``n_clusters`` clusters are active), then, with ``finish``, merge down to one cluster.

    ``graph`` = (out_ptr, out_word, out_count, in_ptr, in_word, in_count): the bigram counts
    of each word with the words after / before it (word ids in decreasing frequency);
    ``word_margins`` = (left, right) marginal counts of the words.  ``merges[k]`` receives
    the tree nodes merged at step ``k`` (words are nodes ``0 .. V - 1``, the node made by
    merge ``k`` is ``V + k``), ``merge_loss[k]`` its loss.  ``counters`` = [active clusters,
    free slots, merges done] is updated in place, so calls can be chained.  Pair loops run
    on threads while at least ``parallel_from`` clusters are active.
    """
    out_ptr, out_word, out_count, in_ptr, in_word, in_count = graph
    word_left, word_right = word_margins
    q, loss, log_left_pair, log_right_pair = fmats
    log_left, log_right, row_q, col_q, best_val, delta_single, q_row_m, q_col_m = fvecs
    (left, right, active, node_of_slot, best_col, row_m, col_m, free, size, head, tail, row_n,
     col_n, nbr_out, nbr_in) = ivecs
    slot_of_word, next_word = words
    state = LossState(active, counts, counts_t, q, loss, row_q, col_q, row_n, col_n, log_left,
                      log_right, log_left_pair, log_right_pair, log_total, table)
    n_words = slot_of_word.shape[0]
    n_active = counters[0]
    n_free = counters[1]
    n_merges = counters[2]
    w = w_lo
    while True:
        if w < w_hi:
            # -- word w joins as a cluster of its own, in slot f
            n_free -= 1
            f = free[n_free]
            for p in range(n_active):
                d = active[p]
                counts[f, d] = 0
                counts[d, f] = 0
                counts_t[f, d] = 0
                counts_t[d, f] = 0
            counts[f, f] = 0
            for k in range(out_ptr[w], out_ptr[w + 1]):
                u = out_word[k]
                if u < w:
                    counts[f, slot_of_word[u]] += out_count[k]
                elif u == w:
                    counts[f, f] += out_count[k]
            for k in range(in_ptr[w], in_ptr[w + 1]):
                u = in_word[k]
                if u < w:
                    counts[slot_of_word[u], f] += in_count[k]
            counts_t[f, f] = counts[f, f]
            slot_of_word[w] = f
            next_word[w] = -1
            head[f] = w
            tail[f] = w
            size[f] = 1
            node_of_slot[f] = w
            left[f] = word_left[w]
            right[f] = word_right[w]
            log_left[f] = _safe_log(left[f])
            log_right[f] = _safe_log(right[f])
            rq = 0.0
            cq = 0.0
            rn = 0
            cn = 0
            n_out = 0
            n_in = 0
            for p in range(n_active):
                d = active[p]
                counts_t[d, f] = counts[f, d]
                counts_t[f, d] = counts[d, f]
                if counts[f, d] > 0:
                    nbr_out[n_out] = d
                    n_out += 1
                if counts[d, f] > 0:
                    nbr_in[n_in] = d
                    n_in += 1
                q[f, d] = _term(counts[f, d], log_left[f], log_right[d], log_total, table)
                q[d, f] = _term(counts[d, f], log_left[d], log_right[f], log_total, table)
                row_q[d] += q[d, f]
                col_q[d] += q[f, d]
                row_n[d] += counts[d, f]
                col_n[d] += counts[f, d]
                rq += q[f, d]
                cq += q[d, f]
                rn += counts[f, d]
                cn += counts[d, f]
                log_left_pair[f, d] = _safe_log(left[f] + left[d])
                log_left_pair[d, f] = log_left_pair[f, d]
                log_right_pair[f, d] = _safe_log(right[f] + right[d])
                log_right_pair[d, f] = log_right_pair[f, d]
            q[f, f] = _term(counts[f, f], log_left[f], log_right[f], log_total, table)
            row_q[f] = rq + q[f, f]
            col_q[f] = cq + q[f, f]
            row_n[f] = rn + counts[f, f]
            col_n[f] = cn + counts[f, f]
            _insert_sorted(active, n_active, f)
            n_active += 1
            if n_active >= parallel_from:
                _update_after_add_par(f, active, n_active, counts_t, counts, q, loss, log_left,
                                      log_right, log_left_pair, log_right_pair, log_total,
                                      table)
            else:
                _update_after_add(f, active, n_active, counts_t, counts, q, loss, log_left,
                                  log_right, log_left_pair, log_right_pair, log_total, table)
            _losses_with_new(f, n_active, state, nbr_out, n_out, nbr_in, n_in)
            w += 1
            if n_active <= n_clusters:
                continue
        elif not finish or n_active <= 1:
            break
        # -- merge the pair of least loss
        if n_active >= parallel_from:
            _row_minima_par(active, n_active, loss, best_val, best_col)
        else:
            _row_minima(active, n_active, loss, best_val, best_col)
        best = np.inf
        a = active[0]
        b = active[1]
        for p in range(n_active):
            if best_col[p] >= 0 and best_val[p] < best:
                best = best_val[p]
                a = active[p]
                b = best_col[p]
        best = loss[a, b]
        if size[a] < size[b]:  # keep the bigger cluster's slot: fewer words to relabel
            a, b = b, a
        merges[n_merges, 0] = node_of_slot[a]
        merges[n_merges, 1] = node_of_slot[b]
        merge_loss[n_merges] = best
        left_m = left[a] + left[b]
        right_m = right[a] + right[b]
        log_left_m = _safe_log(left_m)
        log_right_m = _safe_log(right_m)
        for p in range(n_active):
            d = active[p]
            if d == a or d == b:
                continue
            row_m[d] = counts[a, d] + counts[b, d]
            col_m[d] = counts[d, a] + counts[d, b]
            q_row_m[d] = _term(row_m[d], log_left_m, log_right[d], log_total, table)
            q_col_m[d] = _term(col_m[d], log_left[d], log_right_m, log_total, table)
            delta_single[d] = (q_row_m[d] + q_col_m[d]
                               - (q[d, a] + q[a, d] + q[d, b] + q[b, d]))
        n_mm = counts[a, a] + counts[a, b] + counts[b, a] + counts[b, b]
        if n_active >= parallel_from:
            _update_after_merge_par(a, b, active, n_active, counts, counts_t, loss, log_left,
                                    log_right, log_left_pair, log_right_pair, log_total, table,
                                    row_m, col_m, delta_single, log_left_m, log_right_m)
        else:
            _update_after_merge(a, b, active, n_active, counts, counts_t, loss, log_left,
                                log_right, log_left_pair, log_right_pair, log_total, table,
                                row_m, col_m, delta_single, log_left_m, log_right_m)
        q_mm = _term(n_mm, log_left_m, log_right_m, log_total, table)
        rq = q_mm
        cq = q_mm
        rn = n_mm
        cn = n_mm
        for p in range(n_active):
            d = active[p]
            if d == a or d == b:
                continue
            row_q[d] += q_col_m[d] - q[d, a] - q[d, b]
            col_q[d] += q_row_m[d] - q[a, d] - q[b, d]
            counts[a, d] = row_m[d]
            counts[d, a] = col_m[d]
            counts_t[d, a] = row_m[d]
            counts_t[a, d] = col_m[d]
            q[a, d] = q_row_m[d]
            q[d, a] = q_col_m[d]
            rq += q_row_m[d]
            cq += q_col_m[d]
            rn += row_m[d]
            cn += col_m[d]
            log_left_pair[a, d] = _safe_log(left_m + left[d])
            log_left_pair[d, a] = log_left_pair[a, d]
            log_right_pair[a, d] = _safe_log(right_m + right[d])
            log_right_pair[d, a] = log_right_pair[a, d]
        counts[a, a] = n_mm
        counts_t[a, a] = n_mm
        q[a, a] = q_mm
        row_q[a] = rq
        col_q[a] = cq
        row_n[a] = rn
        col_n[a] = cn
        left[a] = left_m
        right[a] = right_m
        log_left[a] = log_left_m
        log_right[a] = log_right_m
        # b leaves the active list and its words move to a
        _remove_sorted(active, n_active, b)
        n_active -= 1
        free[n_free] = b
        n_free += 1
        u = head[b]
        while u >= 0:
            slot_of_word[u] = a
            u = next_word[u]
        next_word[tail[a]] = head[b]
        tail[a] = tail[b]
        size[a] += size[b]
        node_of_slot[a] = n_words + n_merges
        n_merges += 1
        if n_active >= parallel_from:
            _losses_with_par(a, active, n_active, counts, counts_t, q, loss, row_q, col_q,
                             log_left, log_right, log_left_pair, log_right_pair, log_total,
                             table)
        else:
            _losses_with(a, active, n_active, counts, counts_t, q, loss, row_q, col_q,
                         log_left, log_right, log_left_pair, log_right_pair, log_total, table)
    counters[0] = n_active
    counters[1] = n_free
    counters[2] = n_merges
