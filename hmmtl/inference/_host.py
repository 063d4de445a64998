"""Host-side drivers of the per-sequence Numba kernels: how sequences are cut into chunks
for the threads, and the scalar forward-backward (scaled, each failing sequence redone in
exact log space) that the other backends fall back on.  Numba is imported on first call."""

from __future__ import annotations

import numpy as np


def _n_threads() -> int:
    try:
        import numba

        return int(numba.get_num_threads())
    except Exception:  # noqa: BLE001 pragma: no cover - no usable threading layer: one thread
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


def forward_backward_scalar(unary, transition, offsets, start, end, allowed, use_mask,
                            pair_groups, n_groups, compute_pairs):
    """The per-sequence Numba forward-backward on prepared host arrays; returns
    ``(marginals, pair_counts of shape (n_groups, K, K), log_z)``."""
    from ._numba import forward_backward_kernel

    chunks = chunk_sequences(offsets, 4 * _n_threads())
    return forward_backward_kernel(unary, transition, start, end, allowed, use_mask, offsets,
                                   chunks, pair_groups, int(n_groups), bool(compute_pairs))


_BLAS = None


def one_blas_thread():
    """A context in which BLAS runs one thread per caller, for kernels whose Numba threads
    each call BLAS on their own blocks.  The threadpool controller is built once (building
    it scans the loaded libraries), after loading the BLAS that Numba's ``np.dot`` calls
    (SciPy's), so that it limits that one too."""
    global _BLAS
    if _BLAS is None:
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")
