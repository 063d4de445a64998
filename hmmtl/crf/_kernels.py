"""Numba kernels of the CRF-style labelers.

The feature layout (see :class:`hmmtl.crf.features.Layout`) has three levels:

token --(entries: slot, value)--> slot --(CSR)--> attribute --(CSR)--> (label, weight index)

A *slot* is one (column, window offset, value) triple such as (word, -1, type "the"); many
tokens share a slot, so scores are first computed per slot (``slot_scores``), then summed
per token (``token_unary``).  The gradient runs the same path backwards: per-slot sums of
token marginals, then per weight (``pair_sums``, over the attribute -> slot transpose).

The per-slot sums take two routes.  A word-type slot holds a handful of tokens: it gathers
their marginals over the slot -> token transpose (``slot_sums``).  A *dense* slot (an extra
feature's value such as an HMM state at an offset, a POS tag, the bias) holds a large share of
all tokens, and there are many entries of such slots per token (153 with three HMMs' Viterbi
states and top-8 posteriors and type distributions at three offsets): gathered slot by slot,
each token's marginal row would be read from memory once per entry, which made the gradient
about four times as slow as the forward pass over the same entries.  Dense slots instead
accumulate token by token (``dense_slot_sums``), each token's row read once, into a small
table of their own.  Every parallel loop writes only rows (or chunk tables) it owns, and
chunks are fixed by the data, so results do not depend on the number of threads.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..inference._numba import _fb_sequence_log, _fb_sequence_scaled, _shifted_exp_matrix

NEG_INF = -np.inf


class TokenFeatures(NamedTuple):
    """The features of a batch of sentences, as the training kernels read them.

    ``offsets`` (n_sequences + 1,) bound the sentences; ``tok_slot`` / ``tok_val``
    (n_tokens, n_entries) give each token's slots (``< 0``: none) and their values;
    ``slot_ptr`` / ``slot_attr`` (CSR) the attributes of each slot.
    """

    offsets: np.ndarray
    tok_slot: np.ndarray
    tok_val: np.ndarray
    slot_ptr: np.ndarray
    slot_attr: np.ndarray


class ChainWeights(NamedTuple):
    """The scores of the perceptron, or their accumulators for averaging.

    ``weights`` (n_attributes, K); ``transition`` (K, K); ``start``, ``end`` (K,);
    ``group_transition`` (G, K, K), ``group_start``, ``group_end`` (G, K): each group's
    offsets (G = 0 without groups).
    """

    weights: np.ndarray
    transition: np.ndarray
    start: np.ndarray
    end: np.ndarray
    group_transition: np.ndarray
    group_start: np.ndarray
    group_end: np.ndarray

    @classmethod
    def zeros(cls, n_attributes: int, n_labels: int, n_groups: int) -> ChainWeights:
        K, G = n_labels, n_groups
        return cls(np.zeros((n_attributes, K)), np.zeros((K, K)), np.zeros(K), np.zeros(K),
                   np.zeros((G, K, K)), np.zeros((G, K)), np.zeros((G, K)))


class PairIndex(NamedTuple):
    """The weights of each attribute: ``attr_ptr`` (n_attributes + 1,) bounds attribute
    ``a``'s weights, ``pair_label`` (n_pairs,) gives each weight's label."""

    attr_ptr: np.ndarray
    pair_label: np.ndarray


class SgdSchedule(NamedTuple):
    """Step sizes and penalties of :func:`sgd_l1_epoch`: the learning rate is
    ``eta0 * decay ** (step / n_steps_per_epoch)``; ``c1`` the L1, ``c2`` the L2 weight."""

    n_steps_per_epoch: int
    eta0: float
    decay: float
    c1: float
    c2: float


@njit(cache=True, parallel=True)
def gather_column(ids, vals, offsets, window, slot_base, stride, n_values, pad_left, pad_right,
                  out_slot, out_val, col0):
    """Fill the entries ``col0 .. col0 + len(window) * k`` of each token from one column.

    ``ids`` (n_tokens, k) are the column's values per token (``< 0`` or ``>= n_values`` = none);
    the entry of offset ``window[o]`` takes the value of the neighbour at that offset, as slot
    ``slot_base + o * stride + value``.  Outside the sentence the entry is the padding value
    ``pad_left`` / ``pad_right`` when those are ``>= 0``, else none.
    """
    n_seq = offsets.shape[0] - 1
    k = ids.shape[1]
    n_win = window.shape[0]
    for s in prange(n_seq):
        t0 = offsets[s]
        t1 = offsets[s + 1]
        for t in range(t0, t1):
            c = col0
            for oi in range(n_win):
                u = t + window[oi]
                base = slot_base + oi * stride
                if u < t0 or u >= t1:
                    pad = pad_left if u < t0 else pad_right
                    for j in range(k):
                        if j == 0 and pad >= 0:
                            out_slot[t, c] = base + pad
                            out_val[t, c] = 1.0
                        else:
                            out_slot[t, c] = -1
                            out_val[t, c] = 0.0
                        c += 1
                else:
                    for j in range(k):
                        v = ids[u, j]
                        if v < 0 or v >= n_values or vals[u, j] == 0.0:
                            out_slot[t, c] = -1
                            out_val[t, c] = 0.0
                        else:
                            out_slot[t, c] = base + v
                            out_val[t, c] = vals[u, j]
                        c += 1


@njit(cache=True)
def remap_slot_attributes(slot_ptr, slot_attr, attr_map):
    """The slot x attribute CSR (``slot_ptr``, ``slot_attr``: provisional attribute ids)
    with each id mapped through ``attr_map`` and the unknown (outside it) or dropped (-1)
    left out: (int64 pointers, int32 final ids)."""
    n_slots = slot_ptr.shape[0] - 1
    n_map = attr_map.shape[0]
    ptr = np.zeros(n_slots + 1, dtype=np.int64)
    out = np.empty(slot_attr.shape[0], dtype=np.int32)
    n = 0
    for s in range(n_slots):
        for q in range(slot_ptr[s], slot_ptr[s + 1]):
            a = slot_attr[q]
            if a >= 0 and a < n_map:
                m = attr_map[a]
                if m >= 0:
                    out[n] = m
                    n += 1
        ptr[s + 1] = n
    return ptr, out[:n].copy()


@njit(cache=True)
def first_occurrence(local, n_values):
    """The index of the first token of each value of ``local`` (int64 ids in
    ``[0, n_values)``), -1 for a value that does not occur."""
    first = np.full(n_values, -1, dtype=np.int64)
    for t in range(local.shape[0]):
        v = local[t]
        if first[v] < 0:
            first[v] = t
    return first


@njit(cache=True, parallel=True)
def add_column_scores(unary, scores, ids, vals, offsets, window, slot_base, stride, n_values,
                      pad_left, pad_right):
    """Add one column's slot scores to each token's unary scores (n_tokens, K) in place:
    the entries :func:`gather_column` would lay out for the column, scored at once, in the
    same order (so the sums equal :func:`token_unary`'s over the gathered layout, bit for
    bit) without the (n_tokens, n_entries) layout ever being written."""
    n_seq = offsets.shape[0] - 1
    k = ids.shape[1]
    n_win = window.shape[0]
    K = scores.shape[1]
    for s in prange(n_seq):
        t0 = offsets[s]
        t1 = offsets[s + 1]
        for t in range(t0, t1):
            for oi in range(n_win):
                u = t + window[oi]
                base = slot_base + oi * stride
                if u < t0 or u >= t1:
                    pad = pad_left if u < t0 else pad_right
                    if pad >= 0:
                        slot = base + pad
                        for y in range(K):
                            unary[t, y] += 1.0 * scores[slot, y]
                else:
                    for j in range(k):
                        v = ids[u, j]
                        w = vals[u, j]
                        if v >= 0 and v < n_values and w != 0.0:
                            slot = base + v
                            for y in range(K):
                                unary[t, y] += w * scores[slot, y]


@njit(cache=True, parallel=True)
def slot_scores(weights, slot_ptr, slot_attr, attr_ptr, pair_label, n_labels, chunk_bounds):
    """Score of each (slot, label): the sum of the weights of the slot's attributes paired
    with that label.  Returns (n_slots, n_labels).  ``chunk_bounds`` splits the slots into
    contiguous chunks of about equal work, one per parallel task."""
    n_slots = slot_ptr.shape[0] - 1
    out = np.zeros((n_slots, n_labels), dtype=np.float64)
    for c in prange(chunk_bounds.shape[0] - 1):
        for s in range(chunk_bounds[c], chunk_bounds[c + 1]):
            for q in range(slot_ptr[s], slot_ptr[s + 1]):
                a = slot_attr[q]
                for p in range(attr_ptr[a], attr_ptr[a + 1]):
                    out[s, pair_label[p]] += weights[p]
    return out


@njit(cache=True, parallel=True)
def token_unary(scores, tok_slot, tok_val):
    """Unary log-potentials (n_tokens, n_labels): the value-weighted sum of each token's slot
    scores."""
    n_tokens, n_entries = tok_slot.shape
    K = scores.shape[1]
    out = np.zeros((n_tokens, K), dtype=np.float64)
    for i in prange(n_tokens):
        for e in range(n_entries):
            s = tok_slot[i, e]
            if s >= 0:
                v = tok_val[i, e]
                for y in range(K):
                    out[i, y] += v * scores[s, y]
    return out


@njit(cache=True, parallel=True)
def slot_sums(token_weights, ent_ptr, ent_token, ent_val, chunk_bounds):
    """Per-slot sums of ``token_weights`` (n_tokens, K) over the tokens that activate each
    slot (value-weighted), using the slot -> entry transpose ``ent_ptr`` / ``ent_token`` /
    ``ent_val``.  Returns (n_slots, K).  Chunks balance entries: a few slots (the bias, a
    frequent POS tag) hold a large share of all tokens."""
    n_slots = ent_ptr.shape[0] - 1
    K = token_weights.shape[1]
    out = np.zeros((n_slots, K), dtype=np.float64)
    for c in prange(chunk_bounds.shape[0] - 1):
        for s in range(chunk_bounds[c], chunk_bounds[c + 1]):
            for q in range(ent_ptr[s], ent_ptr[s + 1]):
                i = ent_token[q]
                v = ent_val[q]
                for y in range(K):
                    out[s, y] += v * token_weights[i, y]
    return out


@njit(cache=True, parallel=True)
def dense_slot_sums(token_weights, tok_slot, tok_val, dense_row, n_dense, token_bounds):
    """Per-slot sums of ``token_weights`` (n_tokens, K) for the dense slots, token by token.

    ``dense_row`` (n_slots,) maps a slot to its row in the result (-1: not dense).  Each chunk
    of tokens (``token_bounds``, fixed by the data) adds into its own table, and the tables
    are summed in chunk order.  Returns (n_dense, K).
    """
    n_chunks = token_bounds.shape[0] - 1
    K = token_weights.shape[1]
    n_entries = tok_slot.shape[1]
    parts = np.zeros((n_chunks, n_dense, K), dtype=np.float64)
    for c in prange(n_chunks):
        part = parts[c]
        row = np.empty(K, dtype=np.float64)  # the token's row, read once
        for i in range(token_bounds[c], token_bounds[c + 1]):
            for y in range(K):
                row[y] = token_weights[i, y]
            for e in range(n_entries):
                s = tok_slot[i, e]
                if s < 0:
                    continue
                r = dense_row[s]
                if r < 0:
                    continue
                v = tok_val[i, e]
                for y in range(K):
                    part[r, y] += v * row[y]
    return parts.sum(axis=0)  # chunk by chunk, in order


@njit(cache=True, parallel=True)
def pair_sums(slot_totals, attr_ptr, pair_label, attr_slot_ptr, attr_slot, chunk_bounds):
    """Per-weight sums: weight ``p`` of attribute ``a`` and label ``y`` collects
    ``slot_totals[s, y]`` over the slots ``s`` holding ``a``.  Returns (n_pairs,)."""
    n_attr = attr_ptr.shape[0] - 1
    out = np.zeros(attr_ptr[n_attr], dtype=np.float64)
    for c in prange(chunk_bounds.shape[0] - 1):
        for a in range(chunk_bounds[c], chunk_bounds[c + 1]):
            p0 = attr_ptr[a]
            p1 = attr_ptr[a + 1]
            if p1 == p0:
                continue
            for q in range(attr_slot_ptr[a], attr_slot_ptr[a + 1]):
                s = attr_slot[q]
                for p in range(p0, p1):
                    out[p] += slot_totals[s, pair_label[p]]
    return out


@njit(cache=True)
def _viterbi_one(unary, transition, start, end, out):
    """Viterbi of one sequence (unary: (T, K)); writes the path into ``out``."""
    T, K = unary.shape
    back = np.empty((T, K), dtype=np.int32)
    delta = np.empty(K)
    new = np.empty(K)
    for k in range(K):
        delta[k] = start[k] + unary[0, k]
    for t in range(1, T):
        for j in range(K):
            best = NEG_INF
            arg = 0
            for i in range(K):
                v = delta[i] + transition[i, j]
                if v > best:
                    best = v
                    arg = i
            back[t, j] = arg
            new[j] = best + unary[t, j]
        for j in range(K):
            delta[j] = new[j]
    best = NEG_INF
    arg = 0
    for k in range(K):
        v = delta[k] + end[k]
        if v > best:
            best = v
            arg = k
    out[T - 1] = arg
    for t in range(T - 1, 0, -1):
        arg = back[t, arg]
        out[t - 1] = arg


@njit(cache=True)
def _sentence_tables(transition, start, end, group_transition, group_start, group_end, g,
                     trans, st, en):
    """Write the transition, start and end scores of a sentence of group ``g`` into
    ``trans``, ``st``, ``en``: the shared ones, plus group ``g``'s offsets when ``g >= 0``."""
    K = transition.shape[0]
    for i in range(K):
        st[i] = start[i]
        en[i] = end[i]
        for j in range(K):
            trans[i, j] = transition[i, j]
    if g >= 0:
        for i in range(K):
            st[i] += group_start[g, i]
            en[i] += group_end[g, i]
            for j in range(K):
                trans[i, j] += group_transition[g, i, j]


@njit(cache=True)
def perceptron_epoch(order, groups, features, labels, scores, totals, counter):
    """One epoch of the structured perceptron over sentences in ``order``.

    ``features`` is a :class:`TokenFeatures`, ``labels`` (n_tokens,) the gold label ids;
    ``scores`` and ``totals`` are :class:`ChainWeights`: the current scores and their
    accumulators, both updated in place.

    Averaging uses the lazy trick (Daume III, 2006): each update ``d`` made at step ``c`` also
    adds ``c * d`` to the accumulator, and the average is ``w - acc / c`` at the end, so no
    per-step pass over all weights is needed.  ``weights`` is (n_attributes, K).

    Per-group offsets (feature augmentation of the transition features): ``groups``
    (n_sequences,) holds each sentence's group, -1 for none.  A sentence of group ``g >= 0``
    is decoded with the shared scores plus ``group_transition[g]`` (G, K, K),
    ``group_start[g]`` and ``group_end[g]`` (G, K), and a mistake on it updates both (each
    with its accumulator); a sentence of group -1 uses and updates the shared scores only.
    Without groups: every group -1 and G = 0.
    Returns the step counter and the number of token errors.
    """
    offsets, tok_slot, tok_val, slot_ptr, slot_attr = features
    (weights, transition, start, end, group_transition, group_start, group_end) = scores
    (weights_acc, transition_acc, start_acc, end_acc, group_transition_acc, group_start_acc,
     group_end_acc) = totals
    K = transition.shape[0]
    n_errors = 0
    trans = np.empty((K, K))
    st = np.empty(K)
    en = np.empty(K)
    for idx in range(order.shape[0]):
        s = order[idx]
        t0 = offsets[s]
        t1 = offsets[s + 1]
        T = t1 - t0
        if T == 0:
            continue
        g = groups[s]
        _sentence_tables(transition, start, end, group_transition, group_start, group_end, g,
                         trans, st, en)
        unary = np.zeros((T, K))
        for t in range(T):
            for e in range(tok_slot.shape[1]):
                sl = tok_slot[t0 + t, e]
                if sl < 0:
                    continue
                v = tok_val[t0 + t, e]
                for q in range(slot_ptr[sl], slot_ptr[sl + 1]):
                    a = slot_attr[q]
                    for y in range(K):
                        unary[t, y] += v * weights[a, y]
        pred = np.empty(T, dtype=np.int32)
        _viterbi_one(unary, trans, st, en, pred)
        c = float(counter)
        wrong = False
        for t in range(T):
            gl = labels[t0 + t]
            p = pred[t]
            if gl != p:
                wrong = True
                n_errors += 1
                for e in range(tok_slot.shape[1]):
                    sl = tok_slot[t0 + t, e]
                    if sl < 0:
                        continue
                    v = tok_val[t0 + t, e]
                    for q in range(slot_ptr[sl], slot_ptr[sl + 1]):
                        a = slot_attr[q]
                        weights[a, gl] += v
                        weights_acc[a, gl] += c * v
                        weights[a, p] -= v
                        weights_acc[a, p] -= c * v
        if wrong:
            for k in range(2):  # k = 0: gold path (+1), k = 1: predicted path (-1)
                d = 1.0 if k == 0 else -1.0
                y0 = labels[t0] if k == 0 else pred[0]
                y1 = labels[t1 - 1] if k == 0 else pred[T - 1]
                start[y0] += d
                start_acc[y0] += c * d
                end[y1] += d
                end_acc[y1] += c * d
                if g >= 0:
                    group_start[g, y0] += d
                    group_start_acc[g, y0] += c * d
                    group_end[g, y1] += d
                    group_end_acc[g, y1] += c * d
                for t in range(1, T):
                    yi = labels[t0 + t - 1] if k == 0 else pred[t - 1]
                    yj = labels[t0 + t] if k == 0 else pred[t]
                    transition[yi, yj] += d
                    transition_acc[yi, yj] += c * d
                    if g >= 0:
                        group_transition[g, yi, yj] += d
                        group_transition_acc[g, yi, yj] += c * d
        counter += 1
    return counter, n_errors


@njit(cache=True)
def _sentence_marginals(unary, transition, start, end, marginals, pair_acc):
    """Forward-backward of one sentence (unary: (T, K)); fills ``marginals`` and adds the
    pair marginals to ``pair_acc``.  Returns log Z.  Scaled recursion, log-space fallback."""
    allowed = np.ones((1, 1), dtype=np.bool_)
    a, tmax = _shifted_exp_matrix(transition)
    sp, smax = _shifted_exp_matrix(start)
    ep, emax = _shifted_exp_matrix(end)
    T = unary.shape[0]
    for i in range(pair_acc.shape[0]):
        for j in range(pair_acc.shape[1]):
            pair_acc[i, j] = 0.0
    lz = _fb_sequence_scaled(unary, allowed, False, a, tmax, sp, smax, ep, emax, 0, T,
                             marginals, pair_acc, True)
    if np.isnan(lz):
        for i in range(pair_acc.shape[0]):
            for j in range(pair_acc.shape[1]):
                pair_acc[i, j] = 0.0
        lz = _fb_sequence_log(unary, allowed, False, transition, start, end, 0, T, marginals,
                              pair_acc, True)
    return lz


@njit(cache=True)
def _apply_l1(w, i, u, q):
    """Cumulative L1 penalty of Tsuruoka et al. (2009) on weight ``i``."""
    z = w[i]
    if z > 0.0:
        w[i] = max(0.0, z - (u + q[i]))
    elif z < 0.0:
        w[i] = min(0.0, z + (u - q[i]))
    q[i] += w[i] - z


@njit(cache=True)
def sgd_l1_epoch(order, groups, n_groups, features, labels, pairs, theta, q, u, step,
                 schedule):
    """One epoch of SGD with the cumulative L1 penalty (Tsuruoka, Tsujii & Ananiadou, 2009).

    ``features`` is a :class:`TokenFeatures`, ``labels`` (n_tokens,) the gold label ids,
    ``pairs`` the :class:`PairIndex` of the weights, ``schedule`` a :class:`SgdSchedule`.

    ``theta`` = [pair weights, transition (K*K), start (K), end (K), group transitions
    (G*K*K), group starts (G*K), group ends (G*K)] with ``G = n_groups`` (0: no groups);
    ``q`` the penalty applied so far to each weight, ``u`` the penalty each weight could
    have received (both updated in place).  The learning rate decays exponentially,
    ``eta0 * decay ** (step / n_steps_per_epoch)``.  An L2 term ``c2`` is applied to the
    weights a sentence touches (lazily).

    ``groups`` (n_sequences,) holds each sentence's group, -1 for none.  A sentence of group
    ``g >= 0`` is scored with the shared plus group ``g``'s transition, start and end scores,
    and its step moves both by the same gradient, each with its own L2 and L1 terms; a
    sentence of group -1 uses and moves the shared scores only.
    Returns (u, step, negative log-likelihood of the epoch).
    """
    offsets, tok_slot, tok_val, slot_ptr, slot_attr = features
    attr_ptr, pair_label = pairs
    n_steps_per_epoch, eta0, decay, c1, c2 = schedule
    n_pairs = pair_label.shape[0]
    G = n_groups
    # n_theta - n_pairs = (G + 1) * (K * K + 2 * K) = (G + 1) * ((K + 1) ** 2 - 1)
    K = int(np.sqrt(1.0 + (theta.shape[0] - n_pairs) / (G + 1)) + 0.5) - 1
    start_dim = n_pairs + K * K
    base = n_pairs + K * K + 2 * K
    gs_base = base + G * K * K
    ge_base = gs_base + G * K
    N = float(n_steps_per_epoch)
    nll = 0.0
    pair_acc = np.zeros((K, K))
    # views of theta's blocks (they follow its updates)
    theta_trans = theta[n_pairs:start_dim].reshape((K, K))
    theta_start = theta[start_dim:start_dim + K]
    theta_end = theta[start_dim + K:base]
    theta_gtrans = theta[base:gs_base].reshape((G, K, K))
    theta_gstart = theta[gs_base:ge_base].reshape((G, K))
    theta_gend = theta[ge_base:ge_base + G * K].reshape((G, K))
    transition = np.empty((K, K))
    start = np.empty(K)
    end = np.empty(K)
    for idx in range(order.shape[0]):
        s = order[idx]
        t0 = offsets[s]
        t1 = offsets[s + 1]
        T = t1 - t0
        if T == 0:
            continue
        g = groups[s]
        eta = eta0 * decay ** (step / N)
        step += 1
        u += eta * c1 / N
        _sentence_tables(theta_trans, theta_start, theta_end, theta_gtrans, theta_gstart,
                         theta_gend, g, transition, start, end)
        unary = np.zeros((T, K))
        for t in range(T):
            for e in range(tok_slot.shape[1]):
                sl = tok_slot[t0 + t, e]
                if sl < 0:
                    continue
                v = tok_val[t0 + t, e]
                for qq in range(slot_ptr[sl], slot_ptr[sl + 1]):
                    a = slot_attr[qq]
                    for p in range(attr_ptr[a], attr_ptr[a + 1]):
                        unary[t, pair_label[p]] += v * theta[p]
        marg = np.zeros((T, K))
        lz = _sentence_marginals(unary, transition, start, end, marg, pair_acc)
        gold = start[labels[t0]] + end[labels[t1 - 1]]
        for t in range(T):
            gold += unary[t, labels[t0 + t]]
            if t > 0:
                gold += transition[labels[t0 + t - 1], labels[t0 + t]]
        nll += lz - gold
        # observation weights: empirical - expected, then L2 and the L1 penalty
        for t in range(T):
            y = labels[t0 + t]
            for e in range(tok_slot.shape[1]):
                sl = tok_slot[t0 + t, e]
                if sl < 0:
                    continue
                v = tok_val[t0 + t, e]
                for qq in range(slot_ptr[sl], slot_ptr[sl + 1]):
                    a = slot_attr[qq]
                    for p in range(attr_ptr[a], attr_ptr[a + 1]):
                        lab = pair_label[p]
                        gr = -v * marg[t, lab]
                        if lab == y:
                            gr += v
                        theta[p] += eta * (gr - 2.0 * c2 / N * theta[p])
        for t in range(T):
            for e in range(tok_slot.shape[1]):
                sl = tok_slot[t0 + t, e]
                if sl < 0:
                    continue
                for qq in range(slot_ptr[sl], slot_ptr[sl + 1]):
                    a = slot_attr[qq]
                    for p in range(attr_ptr[a], attr_ptr[a + 1]):
                        _apply_l1(theta, p, u, q)
        # shared (copy 0) and, for a sentence of a group, its offsets (copy 1)
        for copy in range(2 if g >= 0 else 1):
            tb = n_pairs if copy == 0 else base + g * K * K
            sb = start_dim if copy == 0 else gs_base + g * K
            eb = start_dim + K if copy == 0 else ge_base + g * K
            for i in range(K):
                for j in range(K):
                    p = tb + i * K + j
                    theta[p] += eta * (-pair_acc[i, j] - 2.0 * c2 / N * theta[p])
            for t in range(1, T):
                theta[tb + labels[t0 + t - 1] * K + labels[t0 + t]] += eta
            for k in range(K):
                p = sb + k
                theta[p] += eta * (-marg[0, k] - 2.0 * c2 / N * theta[p])
                p = eb + k
                theta[p] += eta * (-marg[T - 1, k] - 2.0 * c2 / N * theta[p])
            theta[sb + labels[t0]] += eta
            theta[eb + labels[t1 - 1]] += eta
            for i in range(K * K):
                _apply_l1(theta, tb + i, u, q)
            for k in range(K):
                _apply_l1(theta, sb + k, u, q)
                _apply_l1(theta, eb + k, u, q)
    return u, step, nll


def _load_without_refresh(dispatcher) -> None:
    """Let ``dispatcher`` read its compiled code from Numba's on-disk cache without first
    refreshing Numba's registries.

    Numba's ``Cache.load_overload`` calls ``target_context.refresh()`` before it reads a
    cached function, and the first such call imports and installs every implementation
    Numba has (NumPy's functions, linear algebra with SciPy's BLAS, typed containers,
    random generators, third-party extensions): about 0.4 s of CPU time, a sixth of tagging
    a 300k-token text, for registries that only compiling reads.  Cached machine code needs
    Numba's runtime (NRT) alone, which is initialized here.  A compilation (a cache miss,
    any other function) refreshes the registries itself (``CompilerBase``), so nothing is
    lost.  Only this dispatcher's cache object changes; a Numba without these internals
    keeps its own loading.
    """
    cache = getattr(dispatcher, "_cache", None)
    load = getattr(cache, "_load_overload", None)
    guard = getattr(cache, "_guard_against_spurious_io_errors", None)
    if load is None or guard is None:
        return
    from numba.core.runtime import nrt

    def load_overload(sig, target_context):
        nrt.rtsys.initialize(target_context)
        with guard():
            return load(sig, target_context)

    cache.load_overload = load_overload  # type: ignore[union-attr]


def _prediction_kernels():
    from ..inference._blocked import viterbi_blocked
    from ..inference._numba import viterbi_kernel

    return (add_column_scores, first_occurrence, gather_column, remap_slot_attributes,
            slot_scores, token_unary, viterbi_blocked, viterbi_kernel)


# the kernels of prediction (features, unary scores, Viterbi) load without the refresh
for _kernel in _prediction_kernels():
    _load_without_refresh(_kernel)
