"""Drawing sequences from an HMM family's parameters."""

from __future__ import annotations

import numpy as np

from ..data import lengths_to_offsets

__all__ = ["sample_ids"]


def sample_ids(family, params, n_sequences: int, lengths, rs, domains=None):
    """States and symbols of ``n_sequences`` sequences of the given ``lengths`` (an int or
    one per sequence), each in its domain (default 0).

    Returns ``ids`` (int32, n_tokens), ``states`` (int32, n_tokens) and ``offsets``.
    All sequences of a domain are walked in step, one position at a time.
    """
    n_sequences = int(n_sequences)
    lengths = np.broadcast_to(np.asarray(lengths, dtype=np.int64), (n_sequences,)).copy()
    if lengths.size and lengths.min() < 1:
        raise ValueError(f"lengths must be >= 1, got {int(lengths.min())}")
    offsets = lengths_to_offsets(lengths)
    n_tokens = int(offsets[-1])
    states = np.zeros(n_tokens, dtype=np.int32)
    ids = np.zeros(n_tokens, dtype=np.int32)
    doms = np.zeros(n_sequences, dtype=np.int64) if domains is None else np.asarray(domains)
    K = family.n_states
    for d in np.unique(doms).tolist():
        start_p, trans_p, emit_p = family.domain_params(params, int(d))
        cum_t = np.cumsum(np.asarray(trans_p, np.float64), axis=1)
        cum_s = np.cumsum(np.asarray(start_p, np.float64))
        seqs = np.flatnonzero(doms == d)
        z = np.minimum(np.searchsorted(cum_s / cum_s[-1], rs.rand(seqs.size), side="right"),
                       K - 1)
        for t in range(int(lengths[seqs].max()) if seqs.size else 0):
            live = seqs[lengths[seqs] > t]
            zl = z[lengths[seqs] > t]
            if t > 0:
                u = rs.rand(live.size)
                rows = cum_t[zl]
                zl = np.minimum((rows < (u * rows[:, -1])[:, None]).sum(axis=1), K - 1)
                z[lengths[seqs] > t] = zl
            states[offsets[live] + t] = zl
        pos = np.flatnonzero(np.isin(np.repeat(np.arange(n_sequences), lengths), seqs))
        emit = np.asarray(emit_p, np.float64)
        for k in np.unique(states[pos]).tolist():
            at = pos[states[pos] == k]
            cum = np.cumsum(emit[k])
            ids[at] = np.minimum(np.searchsorted(cum, rs.rand(at.size) * cum[-1],
                                                 side="right"), emit.shape[1] - 1)
    return ids, states, offsets
