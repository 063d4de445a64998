"""Word representations from an HMM's states (Grave, Obozinski & Bach 2013): the Viterbi
state of a token, its posterior over states in context, and the context-free p(state | word)
of its type, all as pure functions of a family's parameters."""

from __future__ import annotations

import numpy as np

from .._registry import REPRESENTATIONS
from .families import normalize_rows, scatter_rows

__all__ = ["REPRESENTATIONS", "stationary", "type_table", "average_posterior", "top_k"]

def stationary(start: np.ndarray, transition: np.ndarray) -> np.ndarray:
    """Stationary distribution of the chain (the long-run state frequencies), used as the
    state prior p(z) of type-level representations; falls back to power iteration."""
    K = transition.shape[0]
    a = np.asarray(transition, dtype=np.float64)
    try:
        m = a.T - np.eye(K)
        m[-1, :] = 1.0
        rhs = np.zeros(K)
        rhs[-1] = 1.0
        p = np.linalg.solve(m, rhs)
        if np.all(np.isfinite(p)) and p.min() > -1e-8:
            p = np.clip(p, 0.0, None)
            return p / p.sum()
    except np.linalg.LinAlgError:
        pass
    p = np.asarray(start, dtype=np.float64)
    for _ in range(200):
        p = p @ a
    return p / p.sum()


def type_table(start, transition, emission, dtype=np.float64) -> np.ndarray:
    """p(state | word) of every type, shape (V, K): p(word | state) p(state) normalized,
    with p(state) the stationary distribution of the chain."""
    prior = stationary(start, transition)
    table = np.asarray(emission, dtype=np.float64).T * prior[None, :]
    return normalize_rows(table).astype(dtype)


def average_posterior(ids: np.ndarray, marginals: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Each type's posterior averaged over its tokens (``ids``, ``marginals``); types
    absent from the tokens keep their row of ``fallback`` (V, K)."""
    V, K = fallback.shape
    acc = np.zeros((V, K))
    scatter_rows(ids, marginals, acc)
    n = np.bincount(ids, minlength=V)
    out = fallback.astype(np.float64, copy=True)
    seen = n > 0
    out[seen] = acc[seen] / n[seen, None]
    return out.astype(fallback.dtype)


def top_k(dense: np.ndarray, k: int):
    """Top-k columns of each row: (ids int32 (n, k), weights (n, k)), by weight descending.

    ``k`` larger than the number of columns gives them all."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"top_k must be an int >= 1, got {k!r}")
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}")
    n, K = dense.shape
    k = min(int(k), K)
    if k < K:
        idx = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    else:
        idx = np.broadcast_to(np.arange(K), (n, K)).copy()
    w = np.take_along_axis(dense, idx, axis=1)
    order = np.argsort(-w, axis=1, kind="stable")
    return (np.take_along_axis(idx, order, axis=1).astype(np.int32),
            np.take_along_axis(w, order, axis=1))
