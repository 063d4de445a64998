"""Hidden Markov models over words: supervised, unsupervised (batch and online EM),
semi-supervised, k-best, and tied across domains.

:class:`CategoricalHMM` is a scikit-learn style estimator over sequences of discrete symbols
(words through a :class:`~hmmtl.data.Vocabulary` with unknown-word signatures, or integer ids
with ``lengths`` as in hmmlearn).  :class:`MultiDomainHMM` shares one state space across
domains and lets each parameter block (start, transitions, emissions) be shared, per domain,
or -- for emissions -- hierarchical, ``p_d(w|z) = lambda_d p(w|z) + (1 - lambda_d) q_d(w|z)``.

The HMM states give word representations (Grave, Obozinski & Bach 2013, "Domain adaptation
for sequence labeling using hidden Markov models"): the Viterbi state of a token, its posterior
over states, and the context-free p(state | word) of its type (:meth:`CategoricalHMM.transform`).

Data flow: inputs become a :class:`~hmmtl.data.RaggedBatch`; the E-step gathers the log
emission probabilities of the tokens (one fancy index per block of tokens), runs
:func:`hmmtl.inference.forward_backward`, and scatters the marginals into expected emission
counts with a compiled segment sum; the M-step normalizes counts plus Dirichlet pseudocounts.
The E-step / M-step split (:meth:`CategoricalHMM._e_step`, :meth:`CategoricalHMM._m_step`,
:class:`HMMStats` additive over partitions of the data) lets EM run distributed.

References
----------
Rabiner (1989), A tutorial on hidden Markov models.  Liang & Klein (2009), Online EM for
unsupervised models (stepwise EM).  Grave, Obozinski & Bach (2013).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ._base import BaseEstimator, check_is_fitted, check_random_state
from .data import LabelSet, RaggedBatch, Vocabulary, flatten, lengths_to_offsets, token_positions

__all__ = ["CategoricalHMM", "MultiDomainHMM", "HMMStats", "ConvergenceMonitor"]

# Tokens x states held at once in the E-step (unary + marginals); bounds memory at large K.
_BLOCK_ELEMENTS = 1 << 23
_TIE_BLOCKS = ("start", "transitions", "emissions")


# ----------------------------------------------------------------------------- statistics
@dataclass(eq=False)
class HMMStats:
    """Expected sufficient statistics of an HMM (additive over partitions of the data).

    Attributes
    ----------
    start : ndarray of shape (n_states,) or (n_domains, n_states)
        Expected counts of the first state of each sequence.
    transition : ndarray of shape (n_states, n_states) or (n_domains, n_states, n_states)
        Expected transition counts.
    emission : ndarray of shape (n_states, n_features) or (n_domains, n_states, n_features)
        Expected emission counts (for hierarchical emissions: the part explained by the
        shared distribution).
    log_likelihood : float
        Log-likelihood of the data under the parameters of the E-step.
    n_tokens : int
    emission_domain : ndarray of shape (n_domains, n_states, n_features), optional
        Hierarchical emissions only: the part of the counts explained by each domain's own
        distribution.
    domain_tokens : ndarray of shape (n_domains,), optional
        Hierarchical emissions only: the expected number of emitted tokens per domain.

    ``a + b`` adds every field, so statistics of data partitions sum to those of the whole.
    """

    start: np.ndarray
    transition: np.ndarray
    emission: np.ndarray
    log_likelihood: float = 0.0
    n_tokens: int = 0
    emission_domain: np.ndarray | None = None
    domain_tokens: np.ndarray | None = None

    def __add__(self, other: "HMMStats") -> "HMMStats":
        if isinstance(other, int) and other == 0:  # so that sum(list_of_stats) works
            return self
        if not isinstance(other, HMMStats):
            return NotImplemented
        out = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if (a is None) != (b is None):
                raise ValueError(f"cannot add HMMStats: field {f.name!r} is missing on one side")
            out[f.name] = None if a is None else a + b
        return HMMStats(**out)

    __radd__ = __add__

    def scaled(self, factor: float) -> "HMMStats":
        """Every field multiplied by ``factor`` (online EM's interpolation)."""
        out = {}
        for f in fields(self):
            a = getattr(self, f.name)
            out[f.name] = None if a is None else a * factor
        return HMMStats(**out)


class ConvergenceMonitor:
    """Per-iteration record of EM.

    Attributes
    ----------
    history : list of float
        The objective EM increases, at each iteration, for the parameters of that
        iteration's E-step: the log-likelihood plus the Dirichlet log-prior of the
        pseudocounts (equal to the log-likelihood when the priors are 0).  For online EM,
        the sum over the pass of the mini-batch log-likelihoods.
    log_likelihoods : list of float
        The log-likelihood alone, same iterations.
    iter : int
        Iterations done.
    converged : bool
        The objective improved by less than ``tol`` (in absolute value, hmmlearn's rule).
    """

    def __init__(self, tol: float, n_iter: int, verbose: bool = False):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history: list[float] = []
        self.log_likelihoods: list[float] = []
        self.iter = 0

    def report(self, objective: float, log_likelihood: float) -> None:
        self.history.append(float(objective))
        self.log_likelihoods.append(float(log_likelihood))
        self.iter += 1

    @property
    def converged(self) -> bool:
        h = self.history
        return len(h) >= 2 and (h[-1] - h[-2]) < self.tol

    def __repr__(self) -> str:
        return (f"ConvergenceMonitor(iter={self.iter}, converged={self.converged}, "
                f"last={self.history[-1] if self.history else None})")


# ----------------------------------------------------------------------------- helpers
def _normalize_rows(a: np.ndarray) -> np.ndarray:
    """Rows scaled to sum to one; an all-zero row becomes uniform."""
    s = a.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = a / s
    bad = ~np.isfinite(out).all(axis=-1) | (s[..., 0] <= 0)
    if np.any(bad):
        out[bad] = 1.0 / a.shape[-1]
    return out


def _safe_log(a, dtype=None) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = np.log(a)
    return out if dtype is None else out.astype(dtype, copy=False)


def _xlogy(c, p) -> float:
    """sum(c * log p) with 0 * log 0 = 0."""
    c = np.asarray(c)
    p = np.asarray(p)
    mask = c != 0
    if not np.any(mask):
        return 0.0
    with np.errstate(divide="ignore"):
        return float(np.sum(c[mask] * np.log(p[mask])))


def _sequence_blocks(offsets: np.ndarray, n_states: int) -> np.ndarray:
    """Bounds (over sequences) of contiguous blocks holding at most about _BLOCK_ELEMENTS
    token-state entries each."""
    from .inference import chunk_sequences

    n_tokens = int(offsets[-1])
    n_blocks = max(1, math.ceil(n_tokens * n_states / _BLOCK_ELEMENTS))
    return chunk_sequences(offsets, n_blocks)


def _n_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _scatter_rows(ids: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """``out[ids[t]] += rows[t]`` (out: float64 (V, K)) in compiled code."""
    from ._hmm_kernels import scatter_rows, segment_bounds

    if ids.shape[0] == 0:
        return
    order = np.argsort(ids, kind="stable")
    bounds = segment_bounds(ids[order], 4 * _n_threads())
    scatter_rows(order, bounds, ids, np.ascontiguousarray(rows), out)


def _stationary(start: np.ndarray, transition: np.ndarray) -> np.ndarray:
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


class _Input:
    """A batch plus how the caller gave it (to shape the outputs alike)."""

    __slots__ = ("batch", "kind")

    def __init__(self, batch: RaggedBatch, kind: str):
        self.batch = batch
        self.kind = kind  # "tokens" | "ids"


def _is_sentence_list(X) -> bool:
    if isinstance(X, np.ndarray) or not isinstance(X, (list, tuple)):
        return False
    for s in X:
        return isinstance(s, (list, tuple, np.ndarray))
    return False


def _first_token(X):
    for s in X:
        for w in s:
            return w
    return None


# ----------------------------------------------------------------------------- estimator
class CategoricalHMM(BaseEstimator):
    """Hidden Markov model with categorical (word) emissions.

    Parameters
    ----------
    n_states : int, default=16
        Number of hidden states (when fitting without labels; with labels the states are
        the labels).
    algorithm : {"batch", "online"}, default="batch"
        Batch Baum-Welch, or online (stepwise) EM over mini-batches (Liang & Klein 2009).
    n_iter : int, default=20
        EM iterations (batch) or passes over the data (online).
    tol : float, default=1e-4
        Stop when the objective improves by less than ``tol`` (hmmlearn's rule).
    batch_size : int, default=1000
        Sequences per mini-batch of online EM.
    stepsize_alpha : float, default=0.7
        Online EM step ``eta_t = (t + 2) ** -stepsize_alpha``, in (0.5, 1].
    start_prior, transition_prior, emission_prior : float, default=0.1, 0.1, 0.01
        Dirichlet pseudocounts added to the expected counts (MAP-EM); for supervised
        training, add-lambda smoothing.  0 gives maximum likelihood (hmmlearn's prior 1.0).
    kbest : int or None, default=None
        Train with k-best approximate inference: keep the ``kbest`` largest entries of
        each forward message (Grave et al. used 16 for 128 states).  Exact when
        ``kbest >= n_states``.  Scoring and decoding stay exact.
    n_init : int, default=1
        Random restarts; the run of highest final objective is kept.
    init : "random" or dict, default="random"
        Random initialization, or a dict with arrays ``"start_prob"``,
        ``"transition_prob"``, ``"emission_prob"`` to start from.
    random_state : int, RandomState or None
    dtype : {"float64", "float32"}, default="float64"
    n_features : int or None
        Number of symbols for integer input (default: inferred as ``max(id) + 1``).
    min_count, max_vocab, lowercase
        Vocabulary settings for string input (words seen fewer than ``min_count`` times
        are represented by their unknown-word signature).
    backend : str, default="auto"
        Backend of :func:`hmmtl.inference.forward_backward` / ``viterbi``.
    verbose : bool, default=False
        Show a tqdm progress bar over EM iterations.

    Attributes
    ----------
    start_prob_ : ndarray of shape (n_states,)
    transition_prob_ : ndarray of shape (n_states, n_states)
    emission_prob_ : ndarray of shape (n_states, n_features)
    vocabulary_ : Vocabulary or None
        None for integer input.
    labels_ : LabelSet or None
        The label set when fitted with labels (states are labels).
    n_features_ : int
    n_states_ : int
    monitor_ : ConvergenceMonitor

    Examples
    --------
    >>> from hmmtl import CategoricalHMM
    >>> sents = [["the", "dog", "barks"], ["a", "cat", "sleeps"]] * 20
    >>> hmm = CategoricalHMM(n_states=3, n_iter=5, random_state=0).fit(sents)
    >>> hmm.emission_prob_.shape[0], len(hmm.predict([["the", "cat", "barks"]])[0])
    (3, 3)
    """

    def __init__(self, n_states: int = 16, *, algorithm: str = "batch", n_iter: int = 20,
                 tol: float = 1e-4, batch_size: int = 1000, stepsize_alpha: float = 0.7,
                 start_prior: float = 0.1, transition_prior: float = 0.1,
                 emission_prior: float = 0.01, kbest: int | None = None, n_init: int = 1,
                 init: Any = "random", random_state=None, dtype: str = "float64",
                 n_features: int | None = None, min_count: int = 1,
                 max_vocab: int | None = None, lowercase: bool = False, backend: str = "auto",
                 verbose: bool = False):
        self.n_states = n_states
        self.algorithm = algorithm
        self.n_iter = n_iter
        self.tol = tol
        self.batch_size = batch_size
        self.stepsize_alpha = stepsize_alpha
        self.start_prior = start_prior
        self.transition_prior = transition_prior
        self.emission_prior = emission_prior
        self.kbest = kbest
        self.n_init = n_init
        self.init = init
        self.random_state = random_state
        self.dtype = dtype
        self.n_features = n_features
        self.min_count = min_count
        self.max_vocab = max_vocab
        self.lowercase = lowercase
        self.backend = backend
        self.verbose = verbose

    # ------------------------------------------------------------------ parameters
    _PARAMS = ("start_prob_", "transition_prob_", "emission_prob_")

    def _check_params(self) -> None:
        if self.algorithm not in ("batch", "online"):
            raise ValueError(f"algorithm must be 'batch' or 'online', got {self.algorithm!r}")
        if int(self.n_states) < 1:
            raise ValueError(f"n_states must be >= 1, got {self.n_states}")
        if int(self.n_iter) < 1:
            raise ValueError(f"n_iter must be >= 1, got {self.n_iter}")
        if int(self.n_init) < 1:
            raise ValueError(f"n_init must be >= 1, got {self.n_init}")
        if self.dtype not in ("float64", "float32", np.float64, np.float32):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        for name in ("start_prior", "transition_prior", "emission_prior"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0 (a pseudocount), got {getattr(self, name)}")
        if self.kbest is not None and int(self.kbest) < 1:
            raise ValueError(f"kbest must be None or >= 1, got {self.kbest}")
        if self.algorithm == "online":
            if not 0.5 < float(self.stepsize_alpha) <= 1.0:
                raise ValueError(f"stepsize_alpha must be in (0.5, 1] for online EM to "
                                 f"converge, got {self.stepsize_alpha}")
            if int(self.batch_size) < 1:
                raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (isinstance(self.init, str) and self.init == "random") and not isinstance(self.init, dict):
            raise ValueError(f"init must be 'random' or a dict of arrays 'start_prob', "
                             f"'transition_prob', 'emission_prob', got {self.init!r}")

    @property
    def _float(self):
        return np.float32 if self.dtype in ("float32", np.float32) else np.float64

    def _get_param_arrays(self) -> dict:
        return {name: getattr(self, name) for name in self._PARAMS}

    def _set_param_arrays(self, params: dict) -> None:
        for name, value in params.items():
            setattr(self, name, value)

    def _init_params(self, n_features: int, random_state=None, counts=None) -> None:
        """Random initial parameters (or those of ``init`` when it is a dict).

        Emissions start at the unigram distribution of ``counts`` (when given) times a
        random factor 0.01 + U(0, 1)^3, which breaks the symmetry of states without starting
        far from the data; without counts, uniform random rows as in hmmlearn.
        """
        rs = check_random_state(random_state)
        K, V = self.n_states_, int(n_features)
        dt = self._float
        if isinstance(self.init, dict):
            given = {"start_prob": (K,), "transition_prob": (K, K), "emission_prob": (K, V)}
            for key, shape in given.items():
                if key not in self.init:
                    raise ValueError(f"init dict lacks {key!r}; expected keys {sorted(given)}")
                arr = np.asarray(self.init[key], dtype=np.float64)
                if arr.shape != shape:
                    raise ValueError(f"init[{key!r}] must have shape {shape}, got {arr.shape}")
            self.start_prob_ = _normalize_rows(np.array(self.init["start_prob"], dtype=np.float64)).astype(dt)
            self.transition_prob_ = _normalize_rows(np.array(self.init["transition_prob"], dtype=np.float64)).astype(dt)
            self.emission_prob_ = _normalize_rows(np.array(self.init["emission_prob"], dtype=np.float64)).astype(dt)
            return
        self.start_prob_ = _normalize_rows(rs.rand(K) + 1e-3).astype(dt)
        self.transition_prob_ = _normalize_rows(rs.rand(K, K) + 1e-3).astype(dt)
        if counts is not None:
            unigram = (np.asarray(counts, dtype=np.float64) + 0.5)
            emission = unigram[None, :] * (0.01 + rs.rand(K, V) ** 3)
        else:
            emission = rs.rand(K, V) + 1e-3
        self.emission_prob_ = _normalize_rows(emission).astype(dt)

    def _log_prior(self) -> float:
        """Dirichlet log-prior (up to a constant) of the current parameters."""
        out = 0.0
        if self.start_prior:
            out += self.start_prior * _xlogy(np.ones_like(self.start_prob_), self.start_prob_)
        if self.transition_prior:
            out += self.transition_prior * _xlogy(np.ones_like(self.transition_prob_),
                                                  self.transition_prob_)
        if self.emission_prior:
            out += self.emission_prior * _xlogy(np.ones_like(self.emission_prob_),
                                                self.emission_prob_)
        return float(out)

    # ------------------------------------------------------------------ inputs
    def encode(self, X, lengths=None) -> RaggedBatch:
        """The :class:`~hmmtl.data.RaggedBatch` of ``X`` (token lists or ids + lengths)."""
        return self._as_input(X, lengths).batch

    def _as_input(self, X, lengths=None, domains=None, *, fitting: bool = False) -> _Input:
        if isinstance(X, RaggedBatch):
            batch = X
            kind = "ids"
            if fitting:
                self.vocabulary_ = None
            if domains is not None:
                batch = RaggedBatch(batch.ids, batch.offsets, batch.labels,
                                    self._encode_domains(domains, batch.n_sequences))
        elif _is_sentence_list(X):
            X = list(X)
            tok = _first_token(X)
            if isinstance(tok, str):
                if lengths is not None:
                    raise ValueError("lengths is for flat integer input; got a list of token "
                                     "lists, whose lengths are known")
                if fitting:
                    self.vocabulary_ = Vocabulary(min_count=self.min_count,
                                                  max_size=self.max_vocab,
                                                  lowercase=self.lowercase).fit(X)
                elif getattr(self, "vocabulary_", None) is None:
                    raise ValueError("this model was fitted on integer ids, but X holds "
                                     "strings; pass ids (with lengths) instead")
                flat, offsets = flatten(X)
                batch = RaggedBatch(self.vocabulary_.encode_tokens(flat), offsets)
                kind = "tokens"
            else:
                flat, offsets = flatten(X)
                ids = np.asarray(flat)
                if ids.size and not np.issubdtype(ids.dtype, np.integer):
                    raise TypeError(f"expected token lists of strings or integer ids, got "
                                    f"tokens of type {type(tok).__name__}")
                batch = RaggedBatch(ids.astype(np.int32) if ids.size else np.zeros(0, np.int32),
                                    offsets)
                kind = "ids"
                if fitting:
                    self.vocabulary_ = None
        else:
            ids = np.asarray(X)
            if ids.ndim == 2 and ids.shape[1] == 1:
                ids = ids[:, 0]
            if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
                raise ValueError(f"X must be a list of token lists, or integer ids of shape "
                                 f"(n_samples,) or (n_samples, 1) with lengths; got an array "
                                 f"of shape {ids.shape} and dtype {ids.dtype}")
            batch = RaggedBatch.from_lengths(ids, lengths)
            kind = "ids"
            if fitting:
                self.vocabulary_ = None
        if fitting and kind == "ids" and getattr(self, "vocabulary_", None) is None:
            n_feat = int(batch.ids.max()) + 1 if batch.n_tokens else 1
            if self.n_features is not None:
                if n_feat > int(self.n_features):
                    raise ValueError(f"X holds id {n_feat - 1} but n_features = "
                                     f"{self.n_features}; ids must lie in [0, n_features)")
                n_feat = int(self.n_features)
            self.n_features_ = n_feat
        elif fitting:
            self.n_features_ = len(self.vocabulary_)
        if batch.n_tokens and batch.ids.min() < 0:
            raise ValueError(f"ids must be >= 0, got {int(batch.ids.min())}")
        if not fitting and batch.n_tokens and batch.ids.max() >= self.n_features_:
            bad = int(np.flatnonzero(batch.ids >= self.n_features_)[0])
            raise ValueError(f"X[{bad}] = {batch.ids[bad]} is out of range: the model has "
                             f"n_features_ = {self.n_features_} symbols")
        if domains is not None and not isinstance(X, RaggedBatch):
            batch = RaggedBatch(batch.ids, batch.offsets, batch.labels,
                                self._encode_domains(domains, batch.n_sequences))
        return _Input(batch, kind)

    def _encode_domains(self, domains, n_sequences):  # overridden by MultiDomainHMM
        raise TypeError("domains are for MultiDomainHMM; CategoricalHMM has one domain")

    def _encode_labels(self, y, batch: RaggedBatch, *, fitting: bool) -> np.ndarray:
        """Flat int32 label ids (-1 = unlabeled) of ``y`` for ``batch``."""
        if isinstance(y, np.ndarray) and y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
            if y.shape[0] != batch.n_tokens:
                raise ValueError(f"y has {y.shape[0]} labels but X has {batch.n_tokens} tokens")
            if fitting:
                self.labels_ = None
            return y.astype(np.int32)
        y = list(y)
        if len(y) != batch.n_sequences:
            raise ValueError(f"y has {len(y)} label sequences but X has {batch.n_sequences} "
                             f"sequences")
        if fitting:
            self.labels_ = LabelSet().fit(y)
        elif getattr(self, "labels_", None) is None:
            raise ValueError("this model was not fitted with labels")
        pseudo = [range(n) for n in batch.lengths.tolist()]
        return self.labels_.encode_for(pseudo, y)

    # ------------------------------------------------------------------ E-step
    def _domain_params(self, domain: int):
        """Effective (start, transition, emission) probabilities of a domain."""
        return self.start_prob_, self.transition_prob_, self.emission_prob_

    def _groups(self, batch: RaggedBatch):
        """(domain, sequence index or None for all) pairs to run inference on."""
        return [(0, None)]

    def _allowed(self, labels: np.ndarray | None, K: int):
        if labels is None:
            return None
        lab = labels >= 0
        if not lab.any():
            return None
        allowed = np.ones((labels.shape[0], K), dtype=bool)
        allowed[lab] = False
        allowed[np.flatnonzero(lab), labels[lab]] = True
        return allowed

    def _expected_counts(self, batch: RaggedBatch, params, *, want_emission=True):
        """Expected counts of one domain's batch: (start (K,), transition (K, K),
        emission (V, K) float64, log_likelihood).  Labeled tokens are clamped."""
        from .inference import forward_backward

        start_p, trans_p, emit_p = params
        K, V = trans_p.shape[0], emit_p.shape[1]
        dt = self._float
        start = np.zeros(K)
        trans = np.zeros((K, K))
        emission = np.zeros((V, K)) if want_emission else None
        ll = 0.0
        if batch.n_tokens == 0:
            return start, trans, emission, ll
        labels = batch.labels
        if labels is not None and labels.size and labels.max() >= K:
            raise ValueError(f"label id {int(labels.max())} is out of range for {K} states")
        if self.kbest is not None and int(self.kbest) < K:
            return self._expected_counts_kbest(batch, params, int(self.kbest))
        log_start = _safe_log(start_p, np.float64)
        log_trans = _safe_log(trans_p, np.float64)
        log_emit_t = np.ascontiguousarray(_safe_log(emit_p, dt).T)  # (V, K)
        offsets = batch.offsets
        for a, b in itertools.pairwise(_sequence_blocks(offsets, K).tolist()):
            if a == b:
                continue
            t0, t1 = int(offsets[a]), int(offsets[b])
            offs = offsets[a:b + 1] - t0
            ids = batch.ids[t0:t1]
            allowed = self._allowed(None if labels is None else labels[t0:t1], K)
            # the log emission table and the ids go in as they are: the kernel gathers rows,
            # and logs of probabilities need no NaN scan
            fb = forward_backward(log_emit_t, log_trans, offs, start=log_start,
                                  allowed=allowed, backend=self.backend, unary_index=ids,
                                  check_finite=False)
            firsts = offs[:-1][np.diff(offs) > 0]
            start += fb.marginals[firsts].sum(axis=0, dtype=np.float64)
            trans += fb.pair_counts
            if want_emission:
                _scatter_rows(ids, fb.marginals, emission)
            ll += float(fb.log_z.sum())
        return start, trans, emission, ll

    def _expected_counts_kbest(self, batch, params, k):
        from ._hmm_kernels import kbest_forward_backward, scatter_sparse_rows, segment_bounds
        from .inference import chunk_sequences

        start_p, trans_p, emit_p = params
        K, V = trans_p.shape[0], emit_p.shape[1]
        emit_t = np.ascontiguousarray(np.asarray(emit_p, dtype=np.float64).T)
        trans = np.ascontiguousarray(trans_p, dtype=np.float64)
        start_p = np.ascontiguousarray(start_p, dtype=np.float64)
        start = np.zeros(K)
        pairs = np.zeros((K, K))
        emission = np.zeros((V, K))
        ll = 0.0
        offsets = batch.offsets
        labels = batch.labels
        for a, b in itertools.pairwise(_sequence_blocks(offsets, K).tolist()):
            if a == b:
                continue
            t0, t1 = int(offsets[a]), int(offsets[b])
            offs = np.ascontiguousarray(offsets[a:b + 1] - t0)
            ids = batch.ids[t0:t1]
            allowed = self._allowed(None if labels is None else labels[t0:t1], K)
            use_mask = allowed is not None
            if allowed is None:
                allowed = np.ones((1, 1), dtype=bool)
            chunks = chunk_sequences(offs, 4 * _n_threads())
            beam, marg, pc, log_z = kbest_forward_backward(ids, offs, chunks, emit_t, trans,
                                                           start_p, allowed, use_mask, k, True)
            firsts = offs[:-1][np.diff(offs) > 0]
            fb, fm = beam[firsts].ravel(), marg[firsts].ravel()
            keep = fb >= 0
            start += np.bincount(fb[keep], weights=fm[keep], minlength=K)
            pairs += pc
            order = np.argsort(ids, kind="stable")
            bounds = segment_bounds(ids[order], 4 * _n_threads())
            scatter_sparse_rows(order, bounds, ids, beam, marg, emission)
            ll += float(log_z.sum())
        return start, pairs, emission, ll

    def _label_counts(self, batch: RaggedBatch, params):
        """Counts of a fully labeled batch (supervised), same layout as _expected_counts;
        the log-likelihood is that of the words and labels together."""
        start_p, trans_p, emit_p = params
        K, V = trans_p.shape[0], emit_p.shape[1]
        lab = batch.labels.astype(np.int64)
        if lab.size and (lab.min() < 0 or lab.max() >= K):
            raise ValueError(f"labels must lie in [0, {K}) for supervised counts")
        offs = batch.offsets
        lengths = np.diff(offs)
        firsts = offs[:-1][lengths > 0]
        start = np.bincount(lab[firsts], minlength=K).astype(np.float64)
        not_last = np.ones(lab.shape[0], dtype=bool)
        not_last[offs[1:][lengths > 0] - 1] = False
        src = lab[not_last]
        dst = lab[np.flatnonzero(not_last) + 1]
        trans = np.bincount(src * K + dst, minlength=K * K).astype(np.float64).reshape(K, K)
        emission = np.bincount(batch.ids.astype(np.int64) * K + lab,
                               minlength=V * K).astype(np.float64).reshape(V, K)
        ll = (_xlogy(start, start_p) + _xlogy(trans, trans_p) + _xlogy(emission, np.asarray(emit_p).T))
        return start, trans, emission, ll

    def _counts_for(self, batch, params):
        if batch.labels is not None and batch.n_tokens and batch.labels.min() >= 0:
            return self._label_counts(batch, params)
        return self._expected_counts(batch, params)

    def _e_step(self, batch: RaggedBatch) -> HMMStats:
        """Expected sufficient statistics of ``batch`` under the current parameters.

        Labeled tokens (``batch.labels >= 0``) are clamped to their label; a fully labeled
        batch gives its exact counts.  The result is additive: the statistics of a
        partition of the sequences sum to those of the whole.
        """
        start, trans, emission, ll = self._counts_for(batch, self._domain_params(0))
        return HMMStats(start=start, transition=trans, emission=emission.T, log_likelihood=ll,
                        n_tokens=batch.n_tokens)

    def _m_step(self, stats: HMMStats) -> None:
        """New parameters from expected counts plus the Dirichlet pseudocounts."""
        dt = self._float
        self.start_prob_ = _normalize_rows(stats.start + float(self.start_prior)).astype(dt)
        self.transition_prob_ = _normalize_rows(stats.transition + float(self.transition_prior)).astype(dt)
        self.emission_prob_ = np.ascontiguousarray(
            _normalize_rows(stats.emission + float(self.emission_prior)), dtype=dt)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, lengths=None):
        """Fit by EM (unsupervised), by counting (``y`` fully labeled), or by EM with the
        labeled positions clamped (``y`` with ``None`` for unlabeled sentences or tokens).

        Parameters
        ----------
        X : list of token lists, or int array of shape (n_samples,) / (n_samples, 1), or
            RaggedBatch (its ``labels`` are used when ``y`` is None)
        y : list of label lists (``None`` entries = unlabeled), or int array of shape
            (n_samples,) with -1 for unlabeled tokens; optional
        lengths : int array of shape (n_sequences,), for integer ``X``

        Returns
        -------
        self
        """
        return self._fit(X, y, lengths, None)

    def _fit(self, X, y, lengths, domains):
        self._check_params()
        rs = check_random_state(self.random_state)
        inp = self._as_input(X, lengths, domains, fitting=True)
        batch = inp.batch
        if batch.n_tokens == 0:
            raise ValueError("X holds no tokens; expected at least one non-empty sequence")
        self._prepare_domains(batch)
        labels = None
        if y is not None:
            labels = self._encode_labels(y, batch, fitting=True)
        elif isinstance(X, RaggedBatch) and X.labels is not None:
            labels = X.labels
            self.labels_ = None
        else:
            self.labels_ = None
        if labels is not None and labels.size and labels.max() < 0:
            labels = None
        if labels is not None:
            n_lab = len(self.labels_) if self.labels_ is not None else int(labels.max()) + 1
            self.n_states_ = n_lab if self.labels_ is not None else max(int(self.n_states), n_lab)
            batch = RaggedBatch(batch.ids, batch.offsets, labels, batch.domains)
        else:
            self.n_states_ = int(self.n_states)
        fully_labeled = labels is not None and labels.min() >= 0
        counts = np.bincount(batch.ids, minlength=self.n_features_)
        best, best_obj, best_monitor = None, -np.inf, None
        for restart in range(int(self.n_init) if not fully_labeled else 1):
            self._init_params(self.n_features_, rs, counts)
            if labels is not None:
                self._init_from_labels(batch)
            monitor = ConvergenceMonitor(self.tol, int(self.n_iter), self.verbose)
            if fully_labeled and not self._needs_em_with_labels():
                self._m_step(self._e_step(batch))
                stats = self._e_step(batch)
                monitor.report(stats.log_likelihood + self._log_prior(), stats.log_likelihood)
            elif self.algorithm == "online":
                self._fit_online(batch, monitor, rs)
            else:
                self._fit_batch(batch, monitor)
            obj = monitor.history[-1]
            if best is None or obj > best_obj:
                best, best_obj, best_monitor = self._get_param_arrays(), obj, monitor
        self._set_param_arrays(best)
        self.monitor_ = best_monitor
        return self

    def _needs_em_with_labels(self) -> bool:
        return False

    def _prepare_domains(self, batch):
        pass

    def _init_from_labels(self, batch: RaggedBatch) -> None:
        """Start from the counts of the labeled tokens, blended with the random start so
        that no word gets probability zero under every state."""
        lab = batch.labels
        mask = lab >= 0
        random_params = self._get_param_arrays()
        # counts over labeled tokens only: label counts on sequences of labeled tokens
        # would invent transitions across gaps, so use unigram emission counts and
        # transitions between adjacent labeled tokens of the same sequence
        K, V = self.n_states_, self.n_features_
        seq = batch.token_sequence_index()
        adj = mask[:-1] & mask[1:] & (seq[:-1] == seq[1:])
        src, dst = lab[:-1][adj].astype(np.int64), lab[1:][adj].astype(np.int64)
        trans = np.bincount(src * K + dst, minlength=K * K).reshape(K, K).astype(np.float64)
        firsts = batch.offsets[:-1][np.diff(batch.offsets) > 0]
        fl = lab[firsts]
        start = np.bincount(fl[fl >= 0], minlength=K).astype(np.float64)
        emission = np.bincount(lab[mask].astype(np.int64) * V + batch.ids[mask],
                               minlength=K * V).reshape(K, V).astype(np.float64)
        self._m_step(HMMStats(start=start, transition=trans, emission=emission))
        labeled_params = self._get_param_arrays()
        dt = self._float
        blended = {}
        for name, value in labeled_params.items():
            if name == "mixing_weight_":
                blended[name] = value
                continue
            blended[name] = (0.9 * np.asarray(value, np.float64)
                             + 0.1 * np.asarray(random_params[name], np.float64)).astype(dt)
        self._set_param_arrays(blended)

    def _iterations(self):
        rng = range(int(self.n_iter))
        if self.verbose:
            from tqdm.auto import tqdm

            return tqdm(rng, desc=f"{type(self).__name__} EM", unit="iter")
        return rng

    @staticmethod
    def _show_progress(bar, log_likelihood: float, n_tokens: int) -> None:
        """Log-likelihood per token of the last iteration on the progress bar."""
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(ll_per_token=f"{log_likelihood / max(n_tokens, 1):.4f}")

    def _fit_batch(self, batch, monitor) -> None:
        bar = self._iterations()
        for _ in bar:
            stats = self._e_step(batch)
            monitor.report(stats.log_likelihood + self._log_prior(), stats.log_likelihood)
            self._show_progress(bar, stats.log_likelihood, batch.n_tokens)
            self._m_step(stats)
            if monitor.converged:
                break

    def _fit_online(self, batch, monitor, rs) -> None:
        """Stepwise EM (Liang & Klein 2009): running statistics
        ``s <- (1 - eta_t) s + eta_t * s_batch`` with ``eta_t = (t + 2) ** -alpha``, the
        mini-batch statistics scaled to the size of the corpus; the first mini-batch sets
        ``s``.  One iteration = one pass over the shuffled sequences."""
        n_seq = batch.n_sequences
        bs = int(self.batch_size)
        # start from the statistics the initial parameters imply, so that words absent
        # from the first mini-batches keep some probability even without priors
        running = self._stats_from_params(batch)
        t = 0
        bar = self._iterations()
        for _ in bar:
            perm = rs.permutation(n_seq)
            ll_pass, prior_pass = 0.0, 0.0
            for lo in range(0, n_seq, bs):
                mb = batch.select(perm[lo:lo + bs])
                if mb.n_tokens == 0:
                    continue
                stats = self._e_step(mb)
                ll_pass += stats.log_likelihood
                prior_pass = self._log_prior()
                scaled = stats.scaled(batch.n_tokens / mb.n_tokens)
                if running is None:
                    running = scaled
                else:
                    eta = (t + 2.0) ** (-float(self.stepsize_alpha))
                    running = running.scaled(1.0 - eta) + scaled.scaled(eta)
                t += 1
                self._m_step(running)
            monitor.report(ll_pass + prior_pass, ll_pass)
            self._show_progress(bar, ll_pass, batch.n_tokens)
            if monitor.converged:
                break

    def _stats_from_params(self, batch: RaggedBatch) -> HMMStats | None:
        """Pseudo-statistics of the corpus size for which the M-step returns the current
        parameters (states equally occupied)."""
        K = self.n_states_
        n, n_seq = batch.n_tokens, batch.n_sequences
        return HMMStats(start=n_seq * np.asarray(self.start_prob_, np.float64),
                        transition=(n - n_seq) / K * np.asarray(self.transition_prob_, np.float64),
                        emission=n / K * np.asarray(self.emission_prob_, np.float64))

    # ------------------------------------------------------------------ inference
    def _validate_probabilities(self) -> None:
        """Refuse parameters that are not probability distributions (set by hand, or
        loaded from elsewhere) before they reach the kernels, naming the attribute."""
        for name in ("start_prob_", "transition_prob_", "emission_prob_",
                     "domain_emission_prob_"):
            p = getattr(self, name, None)
            if p is None:
                continue
            p = np.asarray(p, dtype=np.float64)
            if np.isnan(p).any():
                raise ValueError(f"{name} contains NaN; every row must be a probability "
                                 "distribution")
            if (p < 0).any():
                idx = tuple(int(i) for i in np.argwhere(p < 0)[0])
                raise ValueError(f"{name} has a negative entry at {idx} ({p[idx]:.4g}); "
                                 "probabilities must be >= 0")
            sums = p.sum(axis=-1)
            bad = np.abs(sums - 1.0) > 1e-6 * max(1, p.shape[-1]) ** 0.5
            if bad.any():
                idx = tuple(int(i) for i in np.argwhere(np.atleast_1d(bad))[0])
                raise ValueError(f"{name} row {idx} sums to {np.atleast_1d(sums)[idx]:.6g}, "
                                 "not 1; normalize it (p / p.sum(axis=-1, keepdims=True))")

    def _run_groups(self, batch: RaggedBatch, fn):
        """Apply ``fn(sub_batch, params, domain)`` per domain group; returns the list of
        (token positions or None, sequence index or None, result)."""
        self._validate_probabilities()
        out = []
        for d, index in self._groups(batch):
            if index is None:
                out.append((None, None, fn(batch, self._domain_params(d), d)))
            else:
                if index.size == 0:
                    continue
                out.append((token_positions(batch.offsets, index)[0], index,
                            fn(batch.select(index), self._domain_params(d), d)))
        return out

    def _posteriors(self, batch: RaggedBatch, want_log_z=False):
        """Posterior marginals (n_tokens, K) and log-likelihood per sequence (exact)."""
        from .inference import forward_backward

        K = self.n_states_
        dt = self._float

        def fn(sub, params, d):
            start_p, trans_p, emit_p = params
            log_emit_t = np.ascontiguousarray(_safe_log(emit_p, dt).T)
            marg = np.zeros((sub.n_tokens, K), dtype=dt)
            log_z = np.zeros(sub.n_sequences)
            log_trans = _safe_log(trans_p, np.float64)
            log_start = _safe_log(start_p, np.float64)
            offsets = sub.offsets
            for a, b in itertools.pairwise(_sequence_blocks(offsets, K).tolist()):
                if a == b:
                    continue
                t0, t1 = int(offsets[a]), int(offsets[b])
                offs = offsets[a:b + 1] - t0
                allowed = self._allowed(None if sub.labels is None else sub.labels[t0:t1], K)
                fb = forward_backward(log_emit_t, log_trans, offs, start=log_start,
                                      allowed=allowed, compute_pairs=False,
                                      backend=self.backend, unary_index=sub.ids[t0:t1],
                                      check_finite=False)
                marg[t0:t1] = fb.marginals
                log_z[a:b] = fb.log_z
            return marg, log_z

        return self._merge(batch, self._run_groups(batch, fn), [(K,), ()], [dt, np.float64])

    def _merge(self, batch, results, shapes, dtypes):
        """Put per-group results (token arrays, sequence arrays) back in batch order."""
        if len(results) == 1 and results[0][0] is None:
            return results[0][2]
        tok = np.zeros((batch.n_tokens,) + shapes[0], dtype=dtypes[0])
        seq = np.zeros((batch.n_sequences,) + shapes[1], dtype=dtypes[1])
        for pos, index, (t_arr, s_arr) in results:
            tok[pos] = t_arr
            seq[index] = s_arr
        return tok, seq

    def _viterbi(self, batch: RaggedBatch):
        from .inference import viterbi

        K = self.n_states_
        dt = self._float

        def fn(sub, params, d):
            start_p, trans_p, emit_p = params
            log_emit_t = np.ascontiguousarray(_safe_log(emit_p, dt).T)
            path = np.zeros(sub.n_tokens, dtype=np.int32)
            score = np.zeros(sub.n_sequences)
            offsets = sub.offsets
            for a, b in itertools.pairwise(_sequence_blocks(offsets, K).tolist()):
                if a == b:
                    continue
                t0, t1 = int(offsets[a]), int(offsets[b])
                offs = offsets[a:b + 1] - t0
                allowed = self._allowed(None if sub.labels is None else sub.labels[t0:t1], K)
                r = viterbi(log_emit_t, _safe_log(trans_p, np.float64), offs,
                            start=_safe_log(start_p, np.float64), allowed=allowed,
                            backend=self.backend, unary_index=sub.ids[t0:t1],
                            check_finite=False)
                path[t0:t1] = r.path
                score[a:b] = r.score
            return path, score

        return self._merge(batch, self._run_groups(batch, fn), [(), ()], [np.int32, np.float64])

    # ------------------------------------------------------------------ public API
    def score_samples(self, X, lengths=None) -> np.ndarray:
        """Log-likelihood of each sequence, ndarray of shape (n_sequences,)."""
        check_is_fitted(self, "emission_prob_")
        return self._posteriors(self._as_input(X, lengths).batch)[1]

    def score(self, X, lengths=None) -> float:
        """Total log-likelihood of ``X``."""
        return float(np.sum(self.score_samples(X, lengths)))

    def perplexity(self, X, lengths=None) -> float:
        """Per-token perplexity ``exp(-log-likelihood / n_tokens)``."""
        check_is_fitted(self, "emission_prob_")
        batch = self._as_input(X, lengths).batch
        ll = float(np.sum(self._posteriors(batch)[1]))
        return float(np.exp(-ll / max(batch.n_tokens, 1)))

    def _decode_states(self, inp: _Input, path: np.ndarray):
        if inp.kind != "tokens":
            return path
        flat = self.labels_.decode(path) if self.labels_ is not None else path.tolist()
        from .data import unflatten

        return unflatten(flat, inp.batch.offsets)

    def predict(self, X, lengths=None):
        """Viterbi decoding (a RaggedBatch's ``labels >= 0`` clamp those positions).

        Returns
        -------
        list of lists (labels, or state ids when fitted without labels) for token-list
        input; int32 ndarray of shape (n_samples,) for integer input.
        """
        check_is_fitted(self, "emission_prob_")
        inp = self._as_input(X, lengths)
        return self._decode_states(inp, self._viterbi(inp.batch)[0])

    def decode(self, X, lengths=None):
        """hmmlearn's ``decode``: (total Viterbi log-probability, flat int32 state path)."""
        check_is_fitted(self, "emission_prob_")
        path, score = self._viterbi(self._as_input(X, lengths).batch)
        return float(score.sum()), path

    def predict_proba(self, X, lengths=None) -> np.ndarray:
        """Posterior state marginals, ndarray of shape (n_samples, n_states) (flat tokens)."""
        check_is_fitted(self, "emission_prob_")
        return self._posteriors(self._as_input(X, lengths).batch)[0]

    def _type_table(self, domain: int = 0) -> np.ndarray:
        """p(state | word) for every type, (V, K): p(word | state) p(state), normalized,
        with p(state) the stationary distribution of the domain's chain."""
        start_p, trans_p, emit_p = self._domain_params(domain)
        prior = _stationary(start_p, trans_p)
        table = np.asarray(emit_p, dtype=np.float64).T * prior[None, :]
        return _normalize_rows(table).astype(self._float)

    def type_distribution(self, words=None, *, X=None, lengths=None) -> np.ndarray:
        """Type-level state distributions.

        Parameters
        ----------
        words : list of str or int ids, optional
            Rows to return (unseen words through their unknown-word signature); default
            all ``n_features_`` types.
        X, lengths : corpus, optional
            When given, each type's row is its average posterior over the tokens of ``X``
            (in context); types absent from ``X`` keep the context-free p(state | word).

        Returns
        -------
        ndarray of shape (n_types, n_states)
        """
        check_is_fitted(self, "emission_prob_")
        table = self._type_table(0)
        if X is not None:
            table = self._average_posterior(self._as_input(X, lengths).batch, table)
        return table[self._word_ids(words)] if words is not None else table

    def _average_posterior(self, batch: RaggedBatch, fallback: np.ndarray) -> np.ndarray:
        marg = self._posteriors(batch)[0]
        acc = np.zeros((self.n_features_, self.n_states_))
        _scatter_rows(batch.ids, marg, acc)
        n = np.bincount(batch.ids, minlength=self.n_features_)
        out = fallback.astype(np.float64, copy=True)
        seen = n > 0
        out[seen] = acc[seen] / n[seen, None]
        return out.astype(self._float)

    def _word_ids(self, words) -> np.ndarray:
        words = list(words)
        if words and isinstance(words[0], str):
            if getattr(self, "vocabulary_", None) is None:
                raise ValueError("this model was fitted on integer ids; pass ids as words")
            return self.vocabulary_.encode_tokens(words)
        ids = np.asarray(words, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_features_):
            raise ValueError(f"word ids must lie in [0, {self.n_features_})")
        return ids

    def transform(self, X, lengths=None, kind: str = "viterbi", top_k: int | None = None):
        """Word representations, aligned with the flattened tokens of ``X``.

        Parameters
        ----------
        kind : {"viterbi", "posterior", "type", "type_cluster"}
            ``"viterbi"``: int32 (n_tokens,), the state on the Viterbi path;
            ``"posterior"``: (n_tokens, n_states) posteriors in context;
            ``"type"``: (n_tokens, n_states) context-free p(state | word) of each token's
            type; ``"type_cluster"``: its argmax, int32 (n_tokens,).
        top_k : int, optional
            For "posterior" and "type": return ``(ids, weights)``, int32 and float arrays
            of shape (n_tokens, top_k), the top-k states by weight (descending).
        """
        check_is_fitted(self, "emission_prob_")
        batch = self._as_input(X, lengths).batch
        if kind == "viterbi":
            return self._viterbi(batch)[0]
        if kind == "posterior":
            dense = self._posteriors(batch)[0]
        elif kind in ("type", "type_cluster"):
            dense = self._type_features(batch)
            if kind == "type_cluster":
                return np.argmax(dense, axis=1).astype(np.int32)
        else:
            raise ValueError(f"kind must be 'viterbi', 'posterior', 'type' or 'type_cluster', "
                             f"got {kind!r}")
        if top_k is None:
            return dense
        return _top_k(dense, int(top_k))

    def _type_features(self, batch: RaggedBatch) -> np.ndarray:
        return self._type_table(0)[batch.ids]

    def sample(self, n_sequences: int = 1, lengths=10, random_state=None):
        """Draw sequences from the model.

        Parameters
        ----------
        n_sequences : int
        lengths : int or array of shape (n_sequences,)
        random_state : int, RandomState or None

        Returns
        -------
        X, states
            For a model fitted on words: lists of token lists (vocabulary types) and of
            state lists (labels when fitted with labels).  For integer input: flat int
            arrays of shape (sum(lengths),) each.
        """
        check_is_fitted(self, "emission_prob_")
        rs = check_random_state(random_state)
        ids, states, offsets = self._sample_ids(n_sequences, lengths, rs, domains=None)
        if getattr(self, "vocabulary_", None) is None:
            return ids, states
        from .data import unflatten

        words = unflatten(self.vocabulary_.decode(ids), offsets)
        st = self.labels_.decode(states) if self.labels_ is not None else states.tolist()
        return words, unflatten(st, offsets)

    def _sample_ids(self, n_sequences, lengths, rs, domains):
        n_sequences = int(n_sequences)
        lengths = np.broadcast_to(np.asarray(lengths, dtype=np.int64), (n_sequences,)).copy()
        if lengths.size and lengths.min() < 1:
            raise ValueError(f"lengths must be >= 1, got {int(lengths.min())}")
        offsets = lengths_to_offsets(lengths)
        n_tokens = int(offsets[-1])
        states = np.zeros(n_tokens, dtype=np.int32)
        ids = np.zeros(n_tokens, dtype=np.int32)
        doms = np.zeros(n_sequences, dtype=np.int64) if domains is None else np.asarray(domains)
        K = self.n_states_
        for d in np.unique(doms).tolist():
            start_p, trans_p, emit_p = self._domain_params(int(d))
            cum_t = np.cumsum(np.asarray(trans_p, np.float64), axis=1)
            cum_s = np.cumsum(np.asarray(start_p, np.float64))
            seqs = np.flatnonzero(doms == d)
            z = np.minimum(np.searchsorted(cum_s / cum_s[-1], rs.rand(seqs.size), side="right"),
                           K - 1)
            # walk all sequences of this domain in step, one position at a time
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

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "emission_prob_")
        params = self.get_params(deep=False)
        if isinstance(params.get("init"), dict):
            params["init"] = "random"
        if params.get("dtype") in (np.float32, np.float64):
            params["dtype"] = np.dtype(params["dtype"]).name
        vocab = getattr(self, "vocabulary_", None)
        labels = getattr(self, "labels_", None)
        monitor = getattr(self, "monitor_", None)
        meta = {
            "params": params,
            "n_features": int(self.n_features_),
            "n_states": int(self.n_states_),
            "vocabulary": None if vocab is None else vocab.to_dict(),
            "labels": None if labels is None else labels.to_dict(),
            "history": [] if monitor is None else [float(h) for h in monitor.history],
            "converged": bool(monitor.converged) if monitor is not None else False,
        }
        meta.update(self._extra_meta())
        arrays = {name.rstrip("_"): np.asarray(getattr(self, name)) for name in self._PARAMS}
        return arrays, meta

    def _extra_meta(self) -> dict:
        return {}

    @classmethod
    def _from_state(cls, arrays, meta):
        model = cls(**meta["params"])
        model.n_features_ = int(meta["n_features"])
        model.n_states_ = int(meta["n_states"])
        model.vocabulary_ = (None if meta.get("vocabulary") is None
                             else Vocabulary.from_dict(meta["vocabulary"]))
        model.labels_ = None if meta.get("labels") is None else LabelSet.from_dict(meta["labels"])
        model._load_extra_meta(meta)
        for name in model._PARAMS:
            key = name.rstrip("_")
            if key not in arrays:
                raise ValueError(f"model file lacks the array {key!r}")
            setattr(model, name, np.asarray(arrays[key], dtype=model._param_dtype(name)))
        model._check_loaded_shapes()
        monitor = ConvergenceMonitor(model.tol, int(model.n_iter), False)
        monitor.history = list(meta.get("history", []))
        monitor.log_likelihoods = list(monitor.history)
        monitor.iter = len(monitor.history)
        model.monitor_ = monitor
        return model

    def _load_extra_meta(self, meta) -> None:
        pass

    def _param_dtype(self, name: str):
        return self._float

    def _expected_shapes(self) -> dict:
        K, V = self.n_states_, self.n_features_
        return {"start_prob_": (K,), "transition_prob_": (K, K), "emission_prob_": (K, V)}

    def _check_loaded_shapes(self) -> None:
        for name, shape in self._expected_shapes().items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"model file: {name} has shape {getattr(self, name).shape}, "
                                 f"expected {shape}")

    def save(self, path) -> None:
        """Save to ``path`` without pickle (see :mod:`hmmtl.serialize`)."""
        from . import serialize

        serialize.save(self, path)

    @classmethod
    def load(cls, path):
        """Load a model saved by :meth:`save`."""
        from . import serialize

        return serialize.load(path, expected_class=cls)


def _top_k(dense: np.ndarray, k: int):
    """Top-k columns of each row: (ids int32 (n, k), weights (n, k)), by weight descending."""
    n, K = dense.shape
    k = max(1, min(k, K))
    if k < K:
        idx = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    else:
        idx = np.broadcast_to(np.arange(K), (n, K)).copy()
    w = np.take_along_axis(dense, idx, axis=1)
    order = np.argsort(-w, axis=1, kind="stable")
    return (np.take_along_axis(idx, order, axis=1).astype(np.int32),
            np.take_along_axis(w, order, axis=1))


# ----------------------------------------------------------------------------- multi-domain
class MultiDomainHMM(CategoricalHMM):
    """An HMM whose sequences come from several domains (or tasks) sharing one state space.

    Each parameter block is shared across domains or per domain, as ``tie`` says; emissions
    may also be hierarchical: ``p_d(w|z) = lambda_d p(w|z) + (1 - lambda_d) q_d(w|z)`` with
    ``lambda_d`` learned by EM (each emission's responsibility is split between the shared
    and the domain part).  Labeled source text and unlabeled target text can be mixed in
    one fit (``y`` with ``None`` for unlabeled sentences).

    Parameters
    ----------
    n_states : int, default=16
    n_domains : int or list of str, default=2
        Number of domains, or their names (then ``domains=`` takes names).
    tie : dict, optional
        ``{"start": "shared"|"per_domain", "transitions": "shared"|"per_domain",
        "emissions": "shared"|"per_domain"|"hierarchical"}``; missing keys default to
        shared start and transitions and hierarchical emissions.
    **other parameters : as :class:`CategoricalHMM`.

    Attributes
    ----------
    start_prob_ : (n_states,) shared, or (n_domains, n_states)
    transition_prob_ : (n_states, n_states) shared, or (n_domains, n_states, n_states)
    emission_prob_ : (n_states, n_features) shared (for hierarchical: the shared part
        p(w|z)), or (n_domains, n_states, n_features)
    domain_emission_prob_ : (n_domains, n_states, n_features), hierarchical only: q_d(w|z)
    mixing_weight_ : (n_domains,), hierarchical only: lambda_d
    domains_ : list of domain names (str) or of ints
    """

    _DEFAULT_TIE = {"start": "shared", "transitions": "shared", "emissions": "hierarchical"}

    def __init__(self, n_states: int = 16, n_domains=2, *, tie: dict | None = None,
                 algorithm: str = "batch", n_iter: int = 20, tol: float = 1e-4,
                 batch_size: int = 1000, stepsize_alpha: float = 0.7,
                 start_prior: float = 0.1, transition_prior: float = 0.1,
                 emission_prior: float = 0.01, kbest: int | None = None, n_init: int = 1,
                 init: Any = "random", random_state=None, dtype: str = "float64",
                 n_features: int | None = None, min_count: int = 1,
                 max_vocab: int | None = None, lowercase: bool = False, backend: str = "auto",
                 verbose: bool = False):
        super().__init__(n_states, algorithm=algorithm, n_iter=n_iter, tol=tol,
                         batch_size=batch_size, stepsize_alpha=stepsize_alpha,
                         start_prior=start_prior, transition_prior=transition_prior,
                         emission_prior=emission_prior, kbest=kbest, n_init=n_init, init=init,
                         random_state=random_state, dtype=dtype, n_features=n_features,
                         min_count=min_count, max_vocab=max_vocab, lowercase=lowercase,
                         backend=backend, verbose=verbose)
        self.n_domains = n_domains
        self.tie = tie

    # ------------------------------------------------------------------ settings
    @property
    def _tie(self) -> dict:
        tie = dict(self._DEFAULT_TIE)
        if self.tie is not None:
            unknown = set(self.tie) - set(_TIE_BLOCKS)
            if unknown:
                raise ValueError(f"tie keys must be among {_TIE_BLOCKS}, got {sorted(unknown)}")
            tie.update(self.tie)
        for block in ("start", "transitions"):
            if tie[block] not in ("shared", "per_domain"):
                raise ValueError(f"tie[{block!r}] must be 'shared' or 'per_domain', "
                                 f"got {tie[block]!r}")
        if tie["emissions"] not in ("shared", "per_domain", "hierarchical"):
            raise ValueError(f"tie['emissions'] must be 'shared', 'per_domain' or "
                             f"'hierarchical', got {tie['emissions']!r}")
        return tie

    @property
    def _domain_names(self) -> list:
        if isinstance(self.n_domains, (int, np.integer)):
            if int(self.n_domains) < 1:
                raise ValueError(f"n_domains must be >= 1, got {self.n_domains}")
            return list(range(int(self.n_domains)))
        names = list(self.n_domains)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"domain names must be unique and non-empty, got {names!r}")
        return names

    @property
    def _PARAMS(self):
        if self._tie["emissions"] == "hierarchical":
            return CategoricalHMM._PARAMS + ("domain_emission_prob_", "mixing_weight_")
        return CategoricalHMM._PARAMS

    def _check_params(self) -> None:
        super()._check_params()
        self._tie  # validates
        self._domain_names
        if isinstance(self.init, dict):
            raise ValueError("MultiDomainHMM supports init='random' only")

    def _encode_domains(self, domains, n_sequences):
        names = self._domain_names
        domains = list(domains) if not isinstance(domains, np.ndarray) else domains
        if len(domains) != n_sequences:
            raise ValueError(f"domains has {len(domains)} entries but X has {n_sequences} "
                             f"sequences")
        if isinstance(self.n_domains, (int, np.integer)):
            arr = np.asarray(domains)
            if arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise ValueError(f"domains must be ints in [0, {len(names)}) since n_domains "
                                 f"is an int; got {arr.dtype} values")
        else:
            index = {n: i for i, n in enumerate(names)}
            arr = np.fromiter((index.get(d, -1) for d in domains), dtype=np.int64,
                              count=len(domains))
            if arr.size and arr.min() < 0:
                bad = int(np.flatnonzero(arr < 0)[0])
                raise ValueError(f"domains[{bad}] = {domains[bad]!r} is not one of {names!r}")
        arr = arr.astype(np.int32)
        if arr.size and (arr.min() < 0 or arr.max() >= len(names)):
            raise ValueError(f"domain ids must lie in [0, {len(names)}), got "
                             f"[{arr.min()}, {arr.max()}]")
        return arr

    def _prepare_domains(self, batch):
        if batch.domains is None:
            raise ValueError("MultiDomainHMM.fit needs the domain of each sequence: pass "
                             "domains=[...] (one per sequence) or a RaggedBatch with domains")
        self.domains_ = self._domain_names
        self.n_domains_ = len(self.domains_)

    def _batch_domains(self, batch):
        if batch.domains is None:
            if self.n_domains_ == 1:
                return np.zeros(batch.n_sequences, dtype=np.int32)
            raise ValueError("pass domains=[...] (one per sequence): this model has "
                             f"{self.n_domains_} domains {self.domains_!r}")
        if batch.domains.size and batch.domains.max() >= self.n_domains_:
            raise ValueError(f"domain id {int(batch.domains.max())} is out of range for "
                             f"{self.n_domains_} domains")
        return batch.domains

    def _groups(self, batch):
        doms = self._batch_domains(batch)
        return [(d, np.flatnonzero(doms == d)) for d in range(self.n_domains_)]

    # ------------------------------------------------------------------ parameters
    def _domain_params(self, d: int):
        tie = self._tie
        start = self.start_prob_ if tie["start"] == "shared" else self.start_prob_[d]
        trans = self.transition_prob_ if tie["transitions"] == "shared" else self.transition_prob_[d]
        if tie["emissions"] == "shared":
            emit = self.emission_prob_
        elif tie["emissions"] == "per_domain":
            emit = self.emission_prob_[d]
        else:
            lam = float(self.mixing_weight_[d])
            emit = (lam * np.asarray(self.emission_prob_, np.float64)
                    + (1.0 - lam) * np.asarray(self.domain_emission_prob_[d], np.float64))
            emit = emit.astype(self._float)
        return start, trans, emit

    def domain_params(self, domain):
        """Effective ``(start_prob, transition_prob, emission_prob)`` of one domain (name or
        index), with shapes (K,), (K, K), (K, V)."""
        check_is_fitted(self, "emission_prob_")
        return self._domain_params(self._domain_index(domain))

    def _domain_index(self, domain) -> int:
        if isinstance(domain, (int, np.integer)) and isinstance(self.n_domains, (int, np.integer)):
            d = int(domain)
        elif domain in self.domains_:
            d = self.domains_.index(domain)
        elif isinstance(domain, (int, np.integer)):
            d = int(domain)
        else:
            raise ValueError(f"unknown domain {domain!r}; domains are {self.domains_!r}")
        if not 0 <= d < self.n_domains_:
            raise ValueError(f"domain index {d} is out of range for {self.n_domains_} domains")
        return d

    def _init_params(self, n_features: int, random_state=None, counts=None) -> None:
        rs = check_random_state(random_state)
        super()._init_params(n_features, rs, counts)
        tie, D = self._tie, self.n_domains_
        dt = self._float
        noise = lambda a: _normalize_rows(np.asarray(a, np.float64)  # noqa: E731
                                          * (0.75 + 0.5 * rs.rand(*a.shape))).astype(dt)
        if tie["start"] == "per_domain":
            self.start_prob_ = np.stack([noise(self.start_prob_) for _ in range(D)])
        if tie["transitions"] == "per_domain":
            self.transition_prob_ = np.stack([noise(self.transition_prob_) for _ in range(D)])
        if tie["emissions"] == "per_domain":
            self.emission_prob_ = np.stack([noise(self.emission_prob_) for _ in range(D)])
        elif tie["emissions"] == "hierarchical":
            self.domain_emission_prob_ = np.stack([noise(self.emission_prob_) for _ in range(D)])
            self.mixing_weight_ = np.full(D, 0.5)

    def _log_prior(self) -> float:
        out = super()._log_prior()
        if self.emission_prior:
            if self._tie["emissions"] == "hierarchical":
                out += self.emission_prior * _xlogy(np.ones_like(self.domain_emission_prob_),
                                                    self.domain_emission_prob_)
        return float(out)

    def _needs_em_with_labels(self) -> bool:
        return self._tie["emissions"] == "hierarchical"

    def _stats_from_params(self, batch):
        return None  # online EM starts from the first mini-batch

    # ------------------------------------------------------------------ EM
    def _e_step(self, batch: RaggedBatch) -> HMMStats:
        """Per-domain expected counts; blocks tied across domains are summed.

        For hierarchical emissions, each domain's emission counts are split between the
        shared part (``emission``) and the domain part (``emission_domain``) in proportion
        to ``lambda_d p(w|z)`` and ``(1 - lambda_d) q_d(w|z)``.
        """
        tie, D, K, V = self._tie, self.n_domains_, self.n_states_, self.n_features_
        start = np.zeros((D, K))
        trans = np.zeros((D, K, K))
        shared_emission = np.zeros((V, K))
        per_domain = np.zeros((D, K, V)) if tie["emissions"] != "shared" else None
        domain_tokens = np.zeros(D) if tie["emissions"] == "hierarchical" else None
        ll = 0.0
        doms = self._batch_domains(batch)
        for d in range(D):
            index = np.flatnonzero(doms == d)
            if index.size == 0:
                continue
            sub = batch if index.size == batch.n_sequences else batch.select(index)
            params = self._domain_params(d)
            s, t, e, l_d = self._counts_for(sub, params)
            start[d] = s
            trans[d] = t
            ll += l_d
            if tie["emissions"] == "shared":
                shared_emission += e
            elif tie["emissions"] == "per_domain":
                per_domain[d] = e.T
            else:
                lam = float(self.mixing_weight_[d])
                p_shared = lam * np.asarray(self.emission_prob_, np.float64).T
                p_mix = np.asarray(params[2], np.float64).T
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = np.where(p_mix > 0, p_shared / p_mix, 0.0)
                shared_part = e * ratio
                shared_emission += shared_part
                per_domain[d] = (e - shared_part).T
                domain_tokens[d] = e.sum()
        if tie["start"] == "shared":
            start = start.sum(axis=0)
        if tie["transitions"] == "shared":
            trans = trans.sum(axis=0)
        if tie["emissions"] == "per_domain":
            emission = per_domain
            per_domain = None
        else:
            emission = shared_emission.T
        return HMMStats(start=start, transition=trans, emission=emission, log_likelihood=ll,
                        n_tokens=batch.n_tokens, emission_domain=per_domain,
                        domain_tokens=domain_tokens)

    def _m_step(self, stats: HMMStats) -> None:
        dt = self._float
        self.start_prob_ = _normalize_rows(stats.start + float(self.start_prior)).astype(dt)
        self.transition_prob_ = _normalize_rows(stats.transition + float(self.transition_prior)).astype(dt)
        self.emission_prob_ = np.ascontiguousarray(
            _normalize_rows(stats.emission + float(self.emission_prior)), dtype=dt)
        if self._tie["emissions"] == "hierarchical" and stats.emission_domain is not None:
            self.domain_emission_prob_ = np.ascontiguousarray(
                _normalize_rows(stats.emission_domain + float(self.emission_prior)), dtype=dt)
            if stats.domain_tokens is not None:
                own = stats.emission_domain.sum(axis=(1, 2))
                lam = np.array(getattr(self, "mixing_weight_", np.full(len(own), 0.5)),
                               dtype=np.float64)
                seen = stats.domain_tokens > 0
                lam[seen] = 1.0 - own[seen] / stats.domain_tokens[seen]
                self.mixing_weight_ = np.clip(lam, 0.0, 1.0)

    def _init_from_labels(self, batch: RaggedBatch) -> None:
        lab = batch.labels
        mask = lab >= 0
        random_params = {k: np.array(v, copy=True) for k, v in self._get_param_arrays().items()}
        K, V, D = self.n_states_, self.n_features_, self.n_domains_
        tie = self._tie
        doms = self._batch_domains(batch)
        seq = batch.token_sequence_index()
        tok_dom = doms[seq]
        adj = mask[:-1] & mask[1:] & (seq[:-1] == seq[1:])
        src, dst = lab[:-1][adj].astype(np.int64), lab[1:][adj].astype(np.int64)
        dsrc = tok_dom[:-1][adj].astype(np.int64)
        trans = np.bincount((dsrc * K + src) * K + dst, minlength=D * K * K).reshape(D, K, K)
        firsts = batch.offsets[:-1][np.diff(batch.offsets) > 0]
        fl, fd = lab[firsts].astype(np.int64), tok_dom[firsts].astype(np.int64)
        start = np.bincount(fd[fl >= 0] * K + fl[fl >= 0], minlength=D * K).reshape(D, K)
        em = np.bincount((tok_dom[mask].astype(np.int64) * K + lab[mask]) * V + batch.ids[mask],
                         minlength=D * K * V).reshape(D, K, V).astype(np.float64)
        stats = HMMStats(
            start=start.astype(np.float64) if tie["start"] == "per_domain" else start.sum(0) * 1.0,
            transition=(trans.astype(np.float64) if tie["transitions"] == "per_domain"
                        else trans.sum(0) * 1.0),
            emission=em if tie["emissions"] == "per_domain" else em.sum(0),
            emission_domain=em if tie["emissions"] == "hierarchical" else None)
        self._m_step(stats)
        dt = self._float
        blended = {}
        for name, value in self._get_param_arrays().items():
            if name == "mixing_weight_":
                blended[name] = np.full(D, 0.5)
                continue
            blended[name] = (0.9 * np.asarray(value, np.float64)
                             + 0.1 * np.asarray(random_params[name], np.float64)).astype(dt)
        self._set_param_arrays(blended)

    # ------------------------------------------------------------------ public API
    def fit(self, X, y=None, lengths=None, domains=None):
        """Fit on sequences of several domains.

        Parameters
        ----------
        X, y, lengths : as :meth:`CategoricalHMM.fit`
        domains : sequence of shape (n_sequences,)
            Domain of each sequence (names when ``n_domains`` lists names, else ints);
            may be omitted when ``X`` is a RaggedBatch with ``domains``.
        """
        return self._fit(X, y, lengths, domains)

    def encode(self, X, lengths=None, domains=None) -> RaggedBatch:
        return self._as_input(X, lengths, domains).batch

    def score_samples(self, X, lengths=None, domains=None) -> np.ndarray:
        check_is_fitted(self, "emission_prob_")
        return self._posteriors(self._as_input(X, lengths, domains).batch)[1]

    def score(self, X, lengths=None, domains=None) -> float:
        return float(np.sum(self.score_samples(X, lengths, domains)))

    def perplexity(self, X, lengths=None, domains=None) -> float:
        check_is_fitted(self, "emission_prob_")
        batch = self._as_input(X, lengths, domains).batch
        ll = float(np.sum(self._posteriors(batch)[1]))
        return float(np.exp(-ll / max(batch.n_tokens, 1)))

    def predict(self, X, lengths=None, domains=None):
        check_is_fitted(self, "emission_prob_")
        inp = self._as_input(X, lengths, domains)
        return self._decode_states(inp, self._viterbi(inp.batch)[0])

    def decode(self, X, lengths=None, domains=None):
        check_is_fitted(self, "emission_prob_")
        path, score = self._viterbi(self._as_input(X, lengths, domains).batch)
        return float(score.sum()), path

    def predict_proba(self, X, lengths=None, domains=None) -> np.ndarray:
        check_is_fitted(self, "emission_prob_")
        return self._posteriors(self._as_input(X, lengths, domains).batch)[0]

    def transform(self, X, lengths=None, kind: str = "viterbi", top_k: int | None = None,
                  domains=None):
        check_is_fitted(self, "emission_prob_")
        batch = self._as_input(X, lengths, domains).batch
        return super().transform(batch, kind=kind, top_k=top_k)

    def _type_features(self, batch: RaggedBatch) -> np.ndarray:
        doms = self._batch_domains(batch)
        out = np.zeros((batch.n_tokens, self.n_states_), dtype=self._float)
        tok_dom = doms[batch.token_sequence_index()]
        for d in range(self.n_domains_):
            at = np.flatnonzero(tok_dom == d)
            if at.size:
                out[at] = self._type_table(d)[batch.ids[at]]
        return out

    def type_distribution(self, words=None, *, X=None, lengths=None, domains=None,
                          domain=None) -> np.ndarray:
        """As :meth:`CategoricalHMM.type_distribution`, for one ``domain`` (name or index;
        default: the first)."""
        check_is_fitted(self, "emission_prob_")
        table = self._type_table(0 if domain is None else self._domain_index(domain))
        if X is not None:
            table = self._average_posterior(self._as_input(X, lengths, domains).batch, table)
        return table[self._word_ids(words)] if words is not None else table

    def sample(self, n_sequences: int = 1, lengths=10, random_state=None, domains=None):
        """As :meth:`CategoricalHMM.sample`; ``domains`` (n_sequences,) picks each
        sequence's domain (default: the first domain).  Returns ``(X, states)``."""
        check_is_fitted(self, "emission_prob_")
        rs = check_random_state(random_state)
        doms = None
        if domains is not None:
            doms = self._encode_domains(domains, int(n_sequences))
        ids, states, offsets = self._sample_ids(n_sequences, lengths, rs, domains=doms)
        if getattr(self, "vocabulary_", None) is None:
            return ids, states
        from .data import unflatten

        words = unflatten(self.vocabulary_.decode(ids), offsets)
        st = self.labels_.decode(states) if self.labels_ is not None else states.tolist()
        return words, unflatten(st, offsets)

    # ------------------------------------------------------------------ persistence
    def _extra_meta(self) -> dict:
        return {"domains": list(self.domains_)}

    def _load_extra_meta(self, meta) -> None:
        self.domains_ = list(meta["domains"])
        self.n_domains_ = len(self.domains_)

    def _param_dtype(self, name: str):
        return np.float64 if name == "mixing_weight_" else self._float

    def _expected_shapes(self) -> dict:
        """Per-domain blocks carry a leading (n_domains,) axis."""
        D = self.n_domains_
        tie = self._tie
        shapes = super()._expected_shapes()
        for name, block in (("start_prob_", "start"), ("transition_prob_", "transitions"),
                            ("emission_prob_", "emissions")):
            if tie[block] == "per_domain":
                shapes[name] = (D, *shapes[name])
        if tie["emissions"] == "hierarchical":
            shapes["domain_emission_prob_"] = (D, *shapes["emission_prob_"])
            shapes["mixing_weight_"] = (D,)
        return shapes
