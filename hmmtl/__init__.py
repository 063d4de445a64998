"""hmmtl: hidden Markov models and CRF-style sequence labelers that share latent states
across tasks and domains."""

from __future__ import annotations

# Before anything imports numba: cache compiled kernels in a per-user folder when the
# package folder is read-only (Numba reads NUMBA_CACHE_DIR at import).
from ._cache import configure_numba_cache as _configure_numba_cache

_configure_numba_cache()

__version__ = "0.1.0"

from ._registry import MODEL_CLASSES as _MODEL_CLASSES  # noqa: E402
from .data import LabelSet, RaggedBatch, Vocabulary  # noqa: E402

#: every model class of the registry, and the two functions of model files, imported from
#: their module on first use
_LAZY = {
    **_MODEL_CLASSES,
    "save": "hmmtl.serialize",
    "load": "hmmtl.models",  # a file, or a ready-made model by name ("en-ner")
}

# *_LAZY: the names (strings) of the lazily imported classes and functions
__all__ = ["RaggedBatch", "Vocabulary", "LabelSet", "warmup", "__version__", *_LAZY]  # noqa: PLE0604


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hmmtl' has no attribute {name!r}")


def warmup() -> None:
    """Compile (or load from cache) the core kernels now, so first calls are fast."""
    import numpy as np

    from .inference import forward_backward, viterbi

    for dtype in (np.float64, np.float32):
        u = np.zeros((3, 2), dtype=dtype)
        allowed = np.ones((3, 2), dtype=bool)
        for mask in (None, allowed):
            forward_backward(u, np.zeros((2, 2)), np.array([0, 3]), allowed=mask,
                             backend="numba")
            # the array backend's fused host steps (used by backend="auto" for many states)
            forward_backward(u, np.zeros((2, 2)), np.array([0, 3]), allowed=mask,
                             backend="numpy")
        viterbi(u, np.zeros((2, 2)), np.array([0, 3]))
    # the blocked kernels (from 8 states on) and the HMM E-step
    from .inference.expected_counts import hmm_expected_counts

    ids, offsets = np.zeros(3, dtype=np.int32), np.array([0, 3])
    for dtype in (np.float64, np.float32):
        table = np.full((8, 8), 1 / 8, dtype=dtype)
        forward_backward(np.log(table[:, :3].T), np.log(table), offsets, backend="numba")
        for labels in (None, np.array([-1, 0, -1], dtype=np.int32)):
            hmm_expected_counts(ids, offsets, table, table, table[0], labels=labels)
