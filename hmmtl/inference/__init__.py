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

import numpy as np

from ..data import token_positions
from ._array import check_groups, is_device_array, prepare
from ._host import _n_threads, chunk_sequences, forward_backward_scalar, one_blas_thread
from ._results import ForwardBackwardResult, ViterbiResult

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


def _prepare(unary, transition, offsets, start, end, allowed):
    return prepare(np, unary, transition, offsets, start, end, allowed)


def _resolve_backend(backend: str, unary, *, kind: str = "forward_backward") -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend != "auto":
        return backend
    if is_device_array(unary):
        return "cupy"
    return "numba"


def forward_backward(unary, transition, offsets, start=None, end=None, allowed=None, *,
                     pair_groups=None, n_groups=None, compute_pairs: bool = True,
                     backend: str = "auto", return_device: bool = False, unary_index=None,
                     check_finite: bool = True) -> ForwardBackwardResult:
    """Posterior marginals, expected transition counts and log normalizers of a linear chain.

    Fast in probability space with per-position scaling (Rabiner 1989); a sequence whose
    scaled recursion breaks down (extreme potentials, masks forcing unlikely paths) is redone
    exactly in log space.  The choice is internal; the results are the same.

    Parameters
    ----------
    unary : ndarray of shape (n_tokens, n_states)
        Log-potentials (float64, or float32 for single precision; the marginals come back
        in the same precision).
    transition : ndarray of shape (n_states, n_states)
        ``transition[i, j]`` is the log-potential of moving from state i to state j.
    offsets : int ndarray of shape (n_sequences + 1,)
        Sequence ``s`` is ``unary[offsets[s]:offsets[s + 1]]``; empty sequences get
        ``log_z = 0`` and no marginals.
    start, end : ndarray of shape (n_states,), optional
        Log-potentials of the first and last state (None: zeros).
    allowed : bool ndarray of shape (n_tokens, n_states), optional
        Only paths through allowed states count (partially labeled data).
    pair_groups : int ndarray of shape (n_sequences,), optional
        Group (domain) of each sequence; pair counts are then summed per group.
    n_groups : int, optional
        Number of groups (default ``pair_groups.max() + 1``).
    compute_pairs : bool, default=True
        Skip the pair counts when False (they come back as zeros).
    backend : {"auto", "numba", "numpy", "cupy"}, default="auto"
        ``"numba"``: compiled kernels, parallel over sequences (the reference).
        ``"numpy"`` / ``"cupy"``: sequences grouped by length so that each step of the
        recursion is one matrix product (fastest for many states; ``"cupy"`` on a GPU,
        parameters may then be CuPy arrays).  ``"auto"``: ``"cupy"`` for CuPy inputs,
        else ``"numba"`` (which itself runs blocks of sequences as matrix products from
        ``BLOCKED_MIN_STATES`` states on).
    return_device : bool, default=False
        With ``backend="cupy"``, return CuPy arrays (for an EM loop that keeps its
        parameters on the GPU) instead of NumPy arrays.
    unary_index : int ndarray of shape (n_tokens,), optional
        Token ``t`` uses row ``unary_index[t]`` of ``unary``, which is then a table of any
        number of rows -- for an HMM, the (n_features, n_states) log emission table and the
        observed ids, gathered inside the kernel instead of as an n_tokens x K copy.
    check_finite : bool, default=True
        Scan ``unary`` for NaN / +inf (skip it for potentials known to be valid logs).

    Returns
    -------
    ForwardBackwardResult
        ``marginals`` (n_tokens, n_states), ``pair_counts`` (n_states, n_states) or
        (n_groups, n_states, n_states) in float64, ``log_z`` (n_sequences,) in float64
        (``-inf`` where ``allowed`` leaves no path; the marginals are then zero).

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
    backend = _resolve_backend(backend, unary)
    gather = unary_index is not None and backend == "numba" and np.ndim(unary) == 2 \
        and np.shape(unary)[1] >= BLOCKED_MIN_STATES
    if unary_index is not None and not gather:
        unary = np.asarray(unary)[_check_index(unary_index, np.shape(unary)[0])]
        unary_index = None
    if backend in ("numpy", "cupy"):
        from . import _array

        return _array.forward_backward(unary, transition, offsets, start, end, allowed,
                                       pair_groups=pair_groups, n_groups=n_groups,
                                       compute_pairs=compute_pairs, backend=backend,
                                       return_device=return_device)
    if gather:
        unary_index = _check_index(unary_index, np.shape(unary)[0])
    unary, transition, offsets, start, end, allowed, use_mask = prepare(
        np, unary, transition, offsets, start, end, allowed, check_finite=check_finite,
        n_tokens=None if unary_index is None else unary_index.shape[0])
    n_seq = offsets.shape[0] - 1
    pair_groups, n_groups, grouped = check_groups(pair_groups, n_groups, n_seq)
    if unary.shape[1] >= BLOCKED_MIN_STATES:
        marginals, pair_counts, log_z = _forward_backward_blocked(
            unary, transition, offsets, start, end, allowed, use_mask, pair_groups,
            n_groups, compute_pairs, unary_index)
    else:
        marginals, pair_counts, log_z = forward_backward_scalar(
            unary, transition, offsets, start, end, allowed, use_mask, pair_groups,
            n_groups, compute_pairs)
    if not grouped:
        pair_counts = pair_counts[0]
    return ForwardBackwardResult(marginals, pair_counts, log_z)


#: From this many states on, the Numba backend runs sequences in blocks whose recursion
#: steps are matrix products (:mod:`._blocked`); below it, one sequence per loop
#: (:mod:`._numba`).  Both give the same results; the blocked kernel was faster from
#: K = 8 on the 2-core benchmark machine.
BLOCKED_MIN_STATES = 8

#: Tokens per block of the blocked kernel: enough sequences per step for an efficient GEMM,
#: few enough that a block's working set stays in cache.
BLOCK_ROWS = 4096


def _shifted_exp(x):
    m = float(x.max()) if x.size else 0.0
    if m == -np.inf:
        m = 0.0
    return np.exp(x - m), m


def _check_index(unary_index, n_rows) -> np.ndarray:
    idx = np.asarray(unary_index)
    if idx.ndim != 1:
        raise ValueError(f"unary_index must be 1-D (n_tokens,), got shape {idx.shape}")
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"unary_index must hold integers, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= n_rows):
        raise ValueError(f"unary_index must lie in [0, {n_rows}) (the rows of unary), got "
                         f"values in [{idx.min()}, {idx.max()}]")
    return np.ascontiguousarray(idx, dtype=np.int64)


def _forward_backward_blocked(unary, transition, offsets, start, end, allowed, use_mask,
                              pair_groups, n_groups, compute_pairs, unary_index=None):
    """Blocked (GEMM) forward-backward; sequences whose scaling fails are redone by the
    scalar kernel, which falls back to exact log space."""
    import numba

    from ._blocked import (BlockedOutput, Emissions, ScaledChain, block_layout,
                           forward_backward_blocked)

    K = unary.shape[1]
    n_tokens = int(offsets[-1])
    n_seq = offsets.shape[0] - 1
    dt = unary.dtype
    gathered = unary_index is not None
    if not gathered:
        unary_index = np.zeros(0, dtype=np.int64)
    a, tmax = _shifted_exp(transition)
    start_p, smax = _shifted_exp(start)
    end_p, emax = _shifted_exp(end)
    a, start_p, end_p = a.astype(dt), start_p.astype(dt), end_p.astype(dt)
    marginals = np.zeros((n_tokens, K), dtype=dt)
    log_z = np.zeros(n_seq, dtype=np.float64)
    bad = np.zeros(n_seq, dtype=np.bool_)
    pair_counts = np.zeros((n_groups, K, K), dtype=np.float64)
    # each Numba thread calls BLAS on its own blocks: one BLAS thread per caller; blocks
    # (longest first) go to whichever thread is free
    pair_acc = np.zeros((_n_threads(), K, K), dtype=dt)
    emissions = Emissions(unary, unary_index, gathered, allowed, use_mask)
    chain = ScaledChain(a, tmax, start_p, smax, end_p, emax)
    out = BlockedOutput(marginals, log_z, bad, pair_acc)
    with one_blas_thread(), numba.parallel_chunksize(1):
        for g in range(n_groups):
            include = None if n_groups == 1 else (pair_groups == g)
            layout = block_layout(offsets, BLOCK_ROWS, include)
            pair_acc[:] = 0.0
            forward_backward_blocked(emissions, chain, layout, offsets, bool(compute_pairs),
                                     out)
            pair_counts[g] = pair_acc.sum(axis=0, dtype=np.float64) * a
    if bad.any():
        redo = np.flatnonzero(bad)
        tokens, sub_offsets = token_positions(offsets, redo)
        rows = unary_index[tokens] if gathered else tokens
        m, p, lz = forward_backward_scalar(
            np.ascontiguousarray(unary[rows]), transition, sub_offsets, start, end,
            np.ascontiguousarray(allowed[tokens]) if use_mask else allowed, use_mask,
            np.ascontiguousarray(pair_groups[redo]), n_groups, compute_pairs)
        marginals[tokens] = m
        log_z[redo] = lz
        pair_counts += p
    return marginals, pair_counts, log_z


def viterbi(unary, transition, offsets, start=None, end=None, allowed=None, *,
            backend: str = "auto", return_device: bool = False, unary_index=None,
            check_finite: bool = True) -> ViterbiResult:
    """Most probable state sequence of each sequence (max-product, in log space).

    Parameters are those of :func:`forward_backward`.  ``backend="auto"`` picks
    ``"cupy"`` for CuPy inputs and the Numba kernels otherwise (the vectorized max-plus step
    of the NumPy backend does not beat them on a CPU at any number of states).

    Returns
    -------
    ViterbiResult
        ``path`` : int32 ndarray of shape (n_tokens,); ``score`` : float64 ndarray of shape
        (n_sequences,), the log-potential of the best path (``-inf`` and path ``-1`` where
        ``allowed`` leaves no path; 0 for an empty sequence).  Ties go to the lowest state.

    Examples
    --------
    >>> import numpy as np
    >>> from hmmtl.inference import viterbi
    >>> unary = np.log([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> transition = np.log([[0.9, 0.1], [0.1, 0.9]])
    >>> viterbi(unary, transition, [0, 3]).path.tolist()
    [0, 0, 0]
    """
    backend = _resolve_backend(backend, unary, kind="viterbi")
    if unary_index is not None:
        unary_index = _check_index(unary_index, np.shape(unary)[0])
        if backend != "numba":
            unary = np.asarray(unary)[unary_index]
            unary_index = None
    if backend in ("numpy", "cupy"):
        from . import _array

        return _array.viterbi(unary, transition, offsets, start, end, allowed, backend=backend,
                              return_device=return_device)
    unary, transition, offsets, start, end, allowed, use_mask = prepare(
        np, unary, transition, offsets, start, end, allowed, check_finite=check_finite,
        n_tokens=None if unary_index is None else unary_index.shape[0])
    gathered = unary_index is not None
    unary = unary.astype(np.float64, copy=False)
    if not gathered:
        unary_index = np.zeros(0, np.int64)
    if unary.shape[1] >= VITERBI_BLOCKED_MIN_STATES:
        return _viterbi_blocked(unary, unary_index, gathered, transition, start, end,
                                allowed, use_mask, offsets)
    chunks = chunk_sequences(offsets, 4 * _n_threads())
    from ._numba import viterbi_kernel

    path, score = viterbi_kernel(unary, unary_index, gathered, transition, start, end,
                                 allowed, use_mask, offsets, chunks)
    return ViterbiResult(path, score)


#: From this many states on, Viterbi runs in blocks of sequences (:func:`._blocked.
#: viterbi_blocked`: scores only, back pointers recomputed on the best path); below it the
#: per-sequence kernel, whose set-up costs less, was faster on the 2-core benchmark machine.
VITERBI_BLOCKED_MIN_STATES = 32

#: Tokens per block of the blocked Viterbi (its scores are kept for the backtrace) and
#: sequences per tile of its max-plus step (their new scores stay in the L1 cache).
VITERBI_BLOCK_ROWS = 1024
VITERBI_TILE = 8


def _viterbi_blocked(unary, unary_index, gathered, transition, start, end, allowed, use_mask,
                     offsets) -> ViterbiResult:
    from ._blocked import Emissions, LogChain, ViterbiOutput, block_layout, viterbi_blocked

    out = ViterbiOutput(np.full(int(offsets[-1]), -1, dtype=np.int32),
                        np.where(np.diff(offsets) == 0, 0.0, -np.inf))
    layout = block_layout(offsets, VITERBI_BLOCK_ROWS)
    chunks = chunk_sequences(layout.row_ptr, 4 * _n_threads())
    chain = LogChain(np.ascontiguousarray(transition, dtype=np.float64),
                     np.ascontiguousarray(start, dtype=np.float64),
                     np.ascontiguousarray(end, dtype=np.float64))
    viterbi_blocked(Emissions(unary, unary_index, gathered, allowed, use_mask), chain, layout,
                    offsets, chunks, VITERBI_TILE, out)
    return ViterbiResult(out.path, out.score)


def posterior_decode(unary, transition, offsets, start=None, end=None, allowed=None, *,
                     backend: str = "auto") -> np.ndarray:
    """Max-marginal decoding: the state of highest posterior at each token.

    Returns an int32 ndarray of shape (n_tokens,); ``-1`` for the tokens of sequences that
    ``allowed`` leaves without a path.  Parameters are those of :func:`forward_backward`.
    """
    r = forward_backward(unary, transition, offsets, start, end, allowed,
                         compute_pairs=False, backend=backend)
    path = np.argmax(r.marginals, axis=1).astype(np.int32)
    if r.marginals.shape[0]:
        path[r.marginals.max(axis=1) <= 0] = -1
    return path
