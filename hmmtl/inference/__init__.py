"""Linear-chain inference over ragged batches: the one dispatch point for all backends.

All functions take log-potentials and ``offsets`` and never an estimator:

* ``unary`` : ndarray of shape (n_tokens, n_states) -- per-token log-potentials
  (for an HMM, the log emission probabilities of the observed tokens);
* ``transition`` : ndarray of shape (n_states, n_states) -- ``transition[i, j]`` scores i -> j;
* ``start`` / ``end`` : ndarray of shape (n_states,) or None (zeros);
* ``offsets`` : int64 ndarray of shape (n_sequences + 1,);
* ``allowed`` : bool ndarray of shape (n_tokens, n_states) or None -- constrained inference.

Backends: ``"numba"`` (the reference, compiled CPU kernels, parallel over sequences),
``"numpy"`` and ``"cupy"`` (one array implementation written against the NumPy API that
batches sequences of equal length so that each step is a matrix product), ``"auto"``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..data import check_offsets

__all__ = [
    "ForwardBackwardResult",
    "ViterbiResult",
    "forward_backward",
    "viterbi",
    "posterior_decode",
    "chunk_sequences",
    "BACKENDS",
]

BACKENDS = ("auto", "numba", "numpy", "cupy")


class ForwardBackwardResult(NamedTuple):
    """Result of :func:`forward_backward`.

    marginals : ndarray of shape (n_tokens, n_states)
        p(z_t = k | x) for each token.
    pair_counts : ndarray of shape (n_states, n_states), or (n_groups, n_states, n_states)
        Expected transition counts sum_t p(z_t = i, z_{t+1} = j | x), summed over the batch
        (per group when ``pair_groups`` is given).
    log_z : ndarray of shape (n_sequences,)
        Log normalizer of each sequence (``-inf`` where no path is allowed).
    """

    marginals: np.ndarray
    pair_counts: np.ndarray
    log_z: np.ndarray


class ViterbiResult(NamedTuple):
    """Result of :func:`viterbi`: the best path (int32, -1 where no path is allowed) and
    its score per sequence."""

    path: np.ndarray
    score: np.ndarray


def _n_threads() -> int:
    try:
        import numba

        return int(numba.get_num_threads())
    except Exception:  # pragma: no cover
        return 1


def chunk_sequences(offsets: np.ndarray, n_chunks: int) -> np.ndarray:
    """Split sequences into ``n_chunks`` contiguous chunks of about equal token counts.

    Returns ``chunk_bounds`` (int64, length n_chunks + 1) over sequence indices.
    """
    n_seq = offsets.shape[0] - 1
    n_chunks = max(1, min(int(n_chunks), max(n_seq, 1)))
    targets = np.linspace(0, offsets[-1], n_chunks + 1)[1:-1]
    cuts = np.searchsorted(offsets[1:], targets, side="left") + 1
    bounds = np.concatenate([[0], np.clip(cuts, 0, n_seq), [n_seq]]).astype(np.int64)
    return np.maximum.accumulate(bounds)


def _as_float(x, name, dtype, shape):
    x = np.asarray(x)
    if x.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        if np.issubdtype(x.dtype, np.integer) or x.dtype == bool:
            x = x.astype(dtype)
        else:
            raise TypeError(f"{name} must be a float array, got dtype {x.dtype}")
    if np.isnan(x).any():
        raise ValueError(f"{name} contains NaN; log-potentials must be finite or -inf")
    if np.isposinf(x).any():
        raise ValueError(f"{name} contains +inf; log-potentials must be finite or -inf")
    return np.ascontiguousarray(x, dtype=dtype)


def _prepare(unary, transition, offsets, start, end, allowed):
    if hasattr(unary, "__cuda_array_interface__"):
        raise TypeError("unary is a CuPy array; use backend='cupy'")
    unary = np.asarray(unary)
    if unary.ndim != 2:
        raise ValueError(f"unary must have shape (n_tokens, n_states), got {unary.shape}")
    dtype = unary.dtype if unary.dtype in (np.float32, np.float64) else np.float64
    n_tokens, K = unary.shape
    if K < 1:
        raise ValueError("unary must have at least one state (column)")
    unary = _as_float(unary, "unary", dtype, (n_tokens, K))
    transition = _as_float(transition, "transition", np.float64, (K, K))
    start = np.zeros(K) if start is None else _as_float(start, "start", np.float64, (K,))
    end = np.zeros(K) if end is None else _as_float(end, "end", np.float64, (K,))
    offsets = check_offsets(offsets, n_tokens)
    if allowed is None:
        use_mask = False
        allowed = np.ones((1, 1), dtype=np.bool_)
    else:
        allowed = np.asarray(allowed)
        if allowed.shape != (n_tokens, K):
            raise ValueError(f"allowed must have shape {(n_tokens, K)}, got {allowed.shape}")
        if allowed.dtype != np.bool_:
            raise TypeError(f"allowed must be a boolean mask, got dtype {allowed.dtype}")
        allowed = np.ascontiguousarray(allowed)
        use_mask = True
    return unary, transition, offsets, start, end, allowed, use_mask


def _resolve_backend(backend: str, K: int) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "numba"
    return backend


def forward_backward(unary, transition, offsets, start=None, end=None, allowed=None, *,
                     pair_groups=None, n_groups=None, compute_pairs: bool = True,
                     backend: str = "auto") -> ForwardBackwardResult:
    """Posterior marginals, expected transition counts and log normalizers of a linear chain.

    Parameters
    ----------
    unary : ndarray of shape (n_tokens, n_states)
        Log-potentials (float64, or float32 for single precision).
    transition : ndarray of shape (n_states, n_states)
    offsets : ndarray of shape (n_sequences + 1,)
    start, end : ndarray of shape (n_states,), optional
    allowed : bool ndarray of shape (n_tokens, n_states), optional
        Only paths through allowed states count (partially labeled data).
    pair_groups : int ndarray of shape (n_sequences,), optional
        Group (domain) of each sequence; pair counts are then summed per group.
    n_groups : int, optional
        Number of groups (default ``pair_groups.max() + 1``).
    compute_pairs : bool, default=True
        Skip the pair counts when False (they come back as zeros).
    backend : {"auto", "numba", "numpy", "cupy"}

    Returns
    -------
    ForwardBackwardResult
        ``(marginals, pair_counts, log_z)``.

    Examples
    --------
    >>> import numpy as np
    >>> from hmmtl.inference import forward_backward
    >>> r = forward_backward(np.zeros((3, 2)), np.log(np.full((2, 2), 0.5)), [0, 3])
    >>> r.marginals.round(3).tolist()
    [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
    >>> round(float(r.log_z[0]), 6)  # log(2) for the start; each step sums to 1
    0.693147
    """
    backend = _resolve_backend(backend, np.shape(unary)[-1] if np.ndim(unary) == 2 else 0)
    if backend in ("numpy", "cupy"):
        from . import _array

        return _array.forward_backward(unary, transition, offsets, start, end, allowed,
                                       pair_groups=pair_groups, n_groups=n_groups,
                                       compute_pairs=compute_pairs, backend=backend)
    unary, transition, offsets, start, end, allowed, use_mask = _prepare(
        unary, transition, offsets, start, end, allowed)
    n_seq = offsets.shape[0] - 1
    grouped = pair_groups is not None
    if grouped:
        pair_groups = np.ascontiguousarray(pair_groups, dtype=np.int64)
        if pair_groups.shape != (n_seq,):
            raise ValueError(f"pair_groups must have shape ({n_seq},), got {pair_groups.shape}")
        if n_groups is None:
            n_groups = int(pair_groups.max()) + 1 if n_seq else 1
        if n_seq and (pair_groups.min() < 0 or pair_groups.max() >= n_groups):
            raise ValueError(f"pair_groups must lie in [0, {n_groups})")
    else:
        pair_groups = np.zeros(n_seq, dtype=np.int64)
        n_groups = 1
    chunks = chunk_sequences(offsets, 4 * _n_threads())
    from ._numba import forward_backward_kernel

    marginals, pair_counts, log_z = forward_backward_kernel(
        unary, transition, start, end, allowed, use_mask, offsets, chunks,
        pair_groups, int(n_groups), bool(compute_pairs))
    if not grouped:
        pair_counts = pair_counts[0]
    return ForwardBackwardResult(marginals, pair_counts, log_z)


def viterbi(unary, transition, offsets, start=None, end=None, allowed=None, *,
            backend: str = "auto") -> ViterbiResult:
    """Most probable state sequence of each sequence (max-product, in log space).

    Parameters are those of :func:`forward_backward`.

    Returns
    -------
    ViterbiResult
        ``path`` : int32 ndarray of shape (n_tokens,); ``score`` : ndarray of shape
        (n_sequences,), the log-potential of the best path (``-inf`` and path ``-1`` where
        ``allowed`` leaves no path).
    """
    backend = _resolve_backend(backend, np.shape(unary)[-1] if np.ndim(unary) == 2 else 0)
    if backend in ("numpy", "cupy"):
        from . import _array

        return _array.viterbi(unary, transition, offsets, start, end, allowed, backend=backend)
    unary, transition, offsets, start, end, allowed, use_mask = _prepare(
        unary, transition, offsets, start, end, allowed)
    chunks = chunk_sequences(offsets, 4 * _n_threads())
    from ._numba import viterbi_kernel

    path, score = viterbi_kernel(unary.astype(np.float64, copy=False), transition, start, end,
                                 allowed, use_mask, offsets, chunks)
    return ViterbiResult(path, score)


def posterior_decode(unary, transition, offsets, start=None, end=None, allowed=None, *,
                     backend: str = "auto") -> np.ndarray:
    """Max-marginal decoding: the state of highest posterior at each token (int32)."""
    r = forward_backward(unary, transition, offsets, start, end, allowed,
                         compute_pairs=False, backend=backend)
    path = np.argmax(r.marginals, axis=1).astype(np.int32)
    if r.marginals.shape[0]:
        path[r.marginals.max(axis=1) <= 0] = -1
    return path
