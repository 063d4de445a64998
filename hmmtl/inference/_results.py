"""The results of the inference functions, shared by every backend."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ForwardBackwardResult(NamedTuple):
    """Result of :func:`hmmtl.inference.forward_backward`.

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
    """Result of :func:`hmmtl.inference.viterbi`: the best path (int32, -1 where no path is
    allowed) and its score per sequence."""

    path: np.ndarray
    score: np.ndarray
