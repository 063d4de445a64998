"""The HMM estimators: scikit-learn style front ends of :mod:`hmmtl.hmm.families`.

An estimator checks its settings, turns its input into encoded partitions on an executor
(in this process by default), hands a family and the partitions to the EM driver
(:func:`hmmtl.hmm.em.run_em`), and keeps the parameters it returns as fitted attributes.
Prediction, scoring and representations call the family's pure functions on the fitted
parameters.
"""

from __future__ import annotations

import numbers
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .._base import BaseEstimator, check_is_fitted, check_random_state
from ..data import LabelSet, RaggedBatch, Vocabulary, unflatten
from ..serialize import ModelFileMixin
from ..executors.local import LocalExecutor
from ..executors.sources import Sentences
from .em import ConvergenceMonitor, run_em
from .families import HMMFamily, HMMParams, Priors, Tie
from .inputs import (SentenceEncoder, as_batch, count_partition, describe, encode_domains,
                     FitInput, InputKind)
from .representations import REPRESENTATIONS, average_posterior, top_k, type_table
from .sampling import sample_ids

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._typing import Lengths, TokenLists
    from ..executors.sources import Files

    #: What an HMM reads: token lists, integer ids (with ``lengths``), a RaggedBatch, or a
    #: Sentences / Files source read where the E-step runs.
    HMMInput = TokenLists | np.ndarray | RaggedBatch | Sentences | Files
    #: Labels of the sentences (None: an unlabeled sentence or token), or flat int ids.
    HMMLabels = list | np.ndarray

__all__ = ["CategoricalHMM", "MultiDomainHMM", "check_int", "compact_emissions",
           "expand_emissions", "EMISSION_STORAGES"]


@overload
def check_int(name: str, value, minimum: int | None = None, *,
              optional: Literal[False] = False) -> int: ...
@overload
def check_int(name: str, value, minimum: int | None = None, *,
              optional: bool) -> int | None: ...
def check_int(name: str, value, minimum: int | None = None, *,
              optional: bool = False) -> int | None:
    """``value`` as an int, refusing floats (4.7 states), bools and strings with a
    TypeError, and values below ``minimum`` with a ValueError."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


#: how a model file may hold an emission table (meta ``emission_storage``): ``"float"``,
#: probabilities (any float dtype, the default), or ``"log-float16"``, the float16 table of
#: :func:`compact_emissions` (format version 3)
EMISSION_STORAGES = ("float", "log-float16")


def compact_emissions(emission_prob: np.ndarray) -> np.ndarray:
    """Emission probabilities (..., n_types) as float16 log-probabilities relative to each
    row's most probable word (a quarter of the float64 size; relative error < 0.4 %
    per entry).  :func:`expand_emissions` inverts it, and ``compact_emissions`` of its
    result gives the same float16 table back, so a table rounded once survives any number
    of save / load cycles unchanged.  (Probabilities themselves underflow float16: its
    smallest positive value is 6e-8, above most words' probability.)"""
    with np.errstate(divide="ignore"):
        log_p = np.log(np.asarray(emission_prob, dtype=np.float64))
    return (log_p - log_p.max(axis=-1, keepdims=True)).astype(np.float16)


def expand_emissions(compact: np.ndarray) -> np.ndarray:
    """Normalized float64 emission probabilities from :func:`compact_emissions`."""
    log_p = compact.astype(np.float64)
    log_p -= np.log(np.exp(log_p).sum(axis=-1, keepdims=True))
    return np.exp(log_p)


def check_compact_emissions(compact: np.ndarray, name: str = "emission_prob") -> np.ndarray:
    """A table of :func:`compact_emissions` read from a file, checked before it is
    expanded: float16, no NaN or +inf, every entry <= 0 and each row's largest exactly 0
    (what :func:`compact_emissions` writes); else ValueError naming what is wrong."""
    arr = np.asarray(compact)
    if arr.dtype != np.float16 or arr.ndim < 2:
        raise ValueError(f"model file: {name} stored as log-float16 must be a float16 array "
                         f"of 2 or more dimensions, got dtype {arr.dtype} and shape "
                         f"{arr.shape}")
    if arr.size == 0 or arr.shape[-1] == 0:
        raise ValueError(f"model file: {name} stored as log-float16 is empty (shape "
                         f"{arr.shape})")
    if np.isnan(arr).any():
        raise ValueError(f"model file: {name} (log-float16) holds NaN")
    if (arr > 0).any():
        idx = tuple(int(i) for i in np.argwhere(arr > 0)[0])
        raise ValueError(f"model file: {name} (log-float16) holds {float(arr[idx]):.4g} at "
                         f"{idx}; log-probabilities relative to the row's largest are <= 0")
    bad = arr.max(axis=-1) != 0
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(np.atleast_1d(bad))[0])
        raise ValueError(f"model file: {name} (log-float16) row {idx} has largest value "
                         f"{float(arr.max(axis=-1)[idx]):.4g}, expected 0")
    return arr


class CategoricalHMM(ModelFileMixin, BaseEstimator):
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
    emission_storage_ : {"float", "log-float16"}, optional
        How a model file stores ``emission_prob_`` (:data:`EMISSION_STORAGES`); set by
        :func:`hmmtl.prune.round_floats` once the table is rounded to float16
        log-probabilities, and kept through save / load.  A table that no longer rounds
        to itself (refitted since) is stored as probabilities whatever it says.

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

    # ------------------------------------------------------------------ settings
    _PARAMS = ("start_prob_", "transition_prob_", "emission_prob_")
    #: set only once the emission table is rounded for compact storage (see Attributes)
    emission_storage_: str

    @property
    def _n_domains(self) -> int | None:
        return None  # a single-domain model keeps no domains

    def _check_params(self) -> None:
        if self.algorithm not in ("batch", "online"):
            raise ValueError(f"algorithm must be 'batch' or 'online', got {self.algorithm!r}")
        check_int("n_states", self.n_states, 1)
        check_int("n_iter", self.n_iter, 1)
        check_int("n_init", self.n_init, 1)
        check_int("n_features", self.n_features, 1, optional=True)
        if self.dtype not in ("float64", "float32", np.float64, np.float32):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        for name in ("start_prior", "transition_prior", "emission_prior"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0 (a pseudocount), got {getattr(self, name)}")
        check_int("kbest", self.kbest, 1, optional=True)
        if self.algorithm == "online":
            if not 0.5 < float(self.stepsize_alpha) <= 1.0:
                raise ValueError(f"stepsize_alpha must be in (0.5, 1] for online EM to "
                                 f"converge, got {self.stepsize_alpha}")
            check_int("batch_size", self.batch_size, 1)
        if (not (isinstance(self.init, str) and self.init == "random")
                and not isinstance(self.init, dict)):
            raise ValueError(f"init must be 'random' or a dict of arrays 'start_prob', "
                             f"'transition_prob', 'emission_prob', got {self.init!r}")

    @property
    def _float(self):
        return np.float32 if self.dtype in ("float32", np.float32) else np.float64

    def _priors(self) -> Priors:
        return Priors(float(self.start_prior), float(self.transition_prior),
                      float(self.emission_prior))

    def _family(self) -> HMMFamily:
        return HMMFamily(self.n_states_, self.n_features_, kbest=self.kbest,
                         dtype=np.dtype(self._float).name, backend=self.backend)

    def _params(self) -> HMMParams:
        return HMMParams(self.start_prob_, self.transition_prob_, self.emission_prob_)

    def _set_params(self, params: HMMParams) -> None:
        self.start_prob_, self.transition_prob_, self.emission_prob_ = params[:3]

    # ------------------------------------------------------------------ fitting
    def fit(self, X: HMMInput, y: HMMLabels | None = None, lengths: Lengths | None = None, *,
            executor: Any = None) -> CategoricalHMM:
        """Fit by EM (unsupervised), by counting (``y`` fully labeled), or by EM with the
        labeled positions clamped (``y`` with ``None`` for unlabeled sentences or tokens).

        Parameters
        ----------
        X : list of token lists, int array of shape (n_samples,) / (n_samples, 1), or
            RaggedBatch (its ``labels`` are used when ``y`` is None); with an ``executor``
            also files (paths or :class:`hmmtl.executors.Files`, read where the work runs)
            and the executor's own collections (a ``dask.bag``, a Spark DataFrame or RDD)
        y : list of label lists (``None`` entries = unlabeled), or int array of shape
            (n_samples,) with -1 for unlabeled tokens; optional
        lengths : int array of shape (n_sequences,), for integer ``X``
        executor : LocalExecutor, DaskExecutor or SparkExecutor, optional
            Where the E-step runs (default: this process).  Every executor gives the same
            model up to the order of floating-point additions.

        Returns
        -------
        self
        """
        return self._fit(X, y, lengths, None, executor)

    def _fit(self, X, y, lengths, domains, executor):
        self._check_params()
        executor = LocalExecutor() if executor is None else executor
        parts = self._encode_for_fit(FitInput.of(X, y, lengths, domains), executor)
        try:
            info = executor.map_sum(describe, parts)
            if info is None or info.n_tokens == 0:
                raise ValueError("X holds no tokens; expected at least one non-empty sequence")
            self._set_sizes(info)
            result = run_em(self._family(), parts, executor, priors=self._priors(),
                            n_iter=self.n_iter, tol=self.tol, algorithm=self.algorithm,
                            batch_size=self.batch_size, stepsize_alpha=self.stepsize_alpha,
                            n_init=self.n_init, random_state=self.random_state,
                            init=self.init if isinstance(self.init, dict) else None,
                            verbose=self.verbose, desc=f"{type(self).__name__} EM")
        finally:
            executor.release(parts)
        self._set_params(result.params)
        self.monitor_ = result.monitor
        return self

    def _set_sizes(self, info) -> None:
        if self.vocabulary_ is not None:
            self.n_features_ = len(self.vocabulary_)
        else:
            if info.min_id < 0:
                raise ValueError(f"ids must be >= 0, got {info.min_id}")
            n_feat = info.max_id + 1
            if self.n_features is not None:
                if n_feat > int(self.n_features):
                    raise ValueError(f"X holds id {n_feat - 1} but n_features = "
                                     f"{self.n_features}; ids must lie in [0, n_features)")
                n_feat = int(self.n_features)
            self.n_features_ = max(n_feat, 1)
        if self.labels_ is not None:
            self.n_states_ = len(self.labels_)
        elif info.max_label >= 0:
            self.n_states_ = max(int(self.n_states), info.max_label + 1)
        else:
            self.n_states_ = int(self.n_states)
        if self._n_domains is not None and not info.has_domains:
            raise ValueError(f"{type(self).__name__}.fit needs the domain of each sequence: "
                             "pass domains=[...] (one per sequence) or a RaggedBatch with "
                             "domains")

    def _encode_for_fit(self, data: FitInput, executor):
        """Encoded partitions of the training data on ``executor`` (vocabulary and label
        set made from counts summed over the raw partitions)."""
        self.labels_ = None
        self.vocabulary_ = None
        X, kind, y, lengths, domains = data.X, data.kind, data.y, data.lengths, data.domains
        if kind.is_encoded:
            return executor.load(self._encoded_input(data))
        if y is not None or domains is not None:
            if kind is not InputKind.TOKEN_LISTS:
                raise TypeError("y and domains go with a list of token lists (or integer "
                                "ids); files carry their labels and domains themselves")
            if lengths is not None:
                raise ValueError("lengths is for flat integer input; got a list of token "
                                 "lists, whose lengths are known")
            X = list(X)
            if y is not None and len(y) != len(X):
                raise ValueError(f"y has {len(y)} label sequences but X has {len(X)} "
                                 f"sequences")
            X = Sentences(X, None if y is None else {"y": list(y)},
                          None if domains is None else list(domains))
        elif lengths is not None and kind is InputKind.TOKEN_LISTS:
            raise ValueError("lengths is for flat integer input; got a list of token "
                             "lists, whose lengths are known")
        raw = executor.load(X)
        try:
            counts = executor.map_sum(partial(count_partition, bool(self.lowercase)), raw)
            self.vocabulary_ = Vocabulary(min_count=self.min_count, max_size=self.max_vocab,
                                          lowercase=self.lowercase).fit_counts(counts.words)
            task = self._label_task(counts.labels)
            if task is not None and counts.labels[task]:
                self.labels_ = LabelSet(sorted(counts.labels[task]))
            encoder = SentenceEncoder(self.vocabulary_, self.labels_, task,
                                      self._domain_lookup(), self._n_domains)
            return executor.map(encoder, raw)
        finally:
            executor.release(raw)

    def _label_task(self, labels: dict) -> str | None:
        if len(labels) > 1:
            raise ValueError(f"{type(self).__name__} learns one label column, got "
                             f"{sorted(labels)}; use MultiTaskHMM for several")
        return next(iter(labels), None)

    def _encoded_input(self, data: FitInput):
        """Integer input as one RaggedBatch (or its list of partitions), with labels and
        domains attached."""
        X, kind, y, lengths, domains = data.X, data.kind, data.y, data.lengths, data.domains
        if kind is InputKind.PARTITIONS:
            if y is not None or domains is not None or lengths is not None:
                raise ValueError("RaggedBatch partitions carry their own labels and domains")
            return list(X)
        batch, _ = as_batch(X, lengths, None, np.iinfo(np.int32).max, kind)
        labels = batch.labels
        if y is not None:
            labels = self._encode_int_labels(y, batch)
        doms = batch.domains
        if domains is not None:
            doms = self._encode_domains(domains, batch.n_sequences)
        return RaggedBatch(batch.ids, batch.offsets, labels, doms)

    def _encode_int_labels(self, y, batch: RaggedBatch) -> np.ndarray | None:
        if isinstance(y, np.ndarray) and y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
            if y.shape[0] != batch.n_tokens:
                raise ValueError(f"y has {y.shape[0]} labels but X has {batch.n_tokens} tokens")
            return y.astype(np.int32)
        y = list(y)
        if len(y) != batch.n_sequences:
            raise ValueError(f"y has {len(y)} label sequences but X has {batch.n_sequences} "
                             f"sequences")
        self.labels_ = LabelSet().fit(y)
        if not len(self.labels_):
            self.labels_ = None
            return None
        return self.labels_.encode_for([range(n) for n in batch.lengths.tolist()], y)

    def _encode_domains(self, domains, n_sequences):
        raise TypeError("domains are for MultiDomainHMM; CategoricalHMM has one domain")

    def _domain_names(self):
        return None

    def _domain_lookup(self):
        """Domain names to look domains up in, or None when domains are ints."""
        return None

    # ------------------------------------------------------------------ inference
    def _validate_probabilities(self) -> None:
        """Refuse parameters that are not probability distributions (set by hand, or
        loaded from elsewhere) before they reach the kernels, naming the attribute."""
        for name in self._PARAMS:
            if name == "mixing_weight_":
                continue
            p = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.isfinite(p).all():
                raise ValueError(f"{name} contains NaN or inf; every row must be a "
                                 "probability distribution")
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

    def _fitted(self) -> tuple[HMMFamily, HMMParams]:
        """The family and parameters of the fitted model, checked."""
        check_is_fitted(self, "emission_prob_")
        self._validate_probabilities()
        return self._family(), self._params()

    def _input(self, X, lengths=None, domains=None):
        batch, kind = as_batch(X, lengths, getattr(self, "vocabulary_", None), self.n_features_)
        if domains is not None:
            batch = RaggedBatch(batch.ids, batch.offsets, batch.labels,
                                self._encode_domains(domains, batch.n_sequences))
        return batch, kind

    def encode(self, X, lengths=None) -> RaggedBatch:
        """The :class:`~hmmtl.data.RaggedBatch` of ``X`` (token lists or ids + lengths)."""
        return self._input(X, lengths)[0]

    def _posteriors(self, batch):
        family, params = self._fitted()
        return family.posteriors(params, batch)

    def _viterbi(self, batch):
        family, params = self._fitted()
        return family.viterbi(params, batch)

    def _decode_states(self, kind: str, batch: RaggedBatch, path: np.ndarray):
        if kind != "tokens":
            return path
        flat = self.labels_.decode(path) if self.labels_ is not None else path.tolist()
        return unflatten(flat, batch.offsets)

    # ------------------------------------------------------------------ public API
    def score_samples(self, X, lengths=None) -> np.ndarray:
        """Log-likelihood of each sequence, ndarray of shape (n_sequences,)."""
        check_is_fitted(self, "emission_prob_")
        return self._posteriors(self._input(X, lengths)[0])[1]

    def score(self, X: HMMInput, lengths: Lengths | None = None) -> float:
        """Total log-likelihood of ``X``."""
        return float(np.sum(self.score_samples(X, lengths)))

    def perplexity(self, X, lengths=None) -> float:
        """Per-token perplexity ``exp(-log-likelihood / n_tokens)``."""
        check_is_fitted(self, "emission_prob_")
        batch = self._input(X, lengths)[0]
        ll = float(np.sum(self._posteriors(batch)[1]))
        return float(np.exp(-ll / max(batch.n_tokens, 1)))

    def predict(self, X: HMMInput, lengths: Lengths | None = None) -> list | np.ndarray:
        """Viterbi decoding (a RaggedBatch's ``labels >= 0`` clamp those positions).

        Returns
        -------
        list of lists (labels, or state ids when fitted without labels) for token-list
        input; int32 ndarray of shape (n_samples,) for integer input.
        """
        check_is_fitted(self, "emission_prob_")
        batch, kind = self._input(X, lengths)
        return self._decode_states(kind, batch, self._viterbi(batch)[0])

    def decode(self, X: HMMInput, lengths: Lengths | None = None) -> tuple[float, np.ndarray]:
        """hmmlearn's ``decode``: (total Viterbi log-probability, flat int32 state path)."""
        check_is_fitted(self, "emission_prob_")
        path, score = self._viterbi(self._input(X, lengths)[0])
        return float(score.sum()), path

    def predict_proba(self, X: HMMInput, lengths: Lengths | None = None) -> np.ndarray:
        """Posterior state marginals, ndarray of shape (n_samples, n_states) (flat tokens)."""
        check_is_fitted(self, "emission_prob_")
        return self._posteriors(self._input(X, lengths)[0])[0]

    def _type_table(self, domain: int = 0) -> np.ndarray:
        family, params = self._fitted()
        return type_table(*family.domain_params(params, domain), dtype=self._float)

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
            batch = self._input(X, lengths)[0]
            table = average_posterior(batch.ids, self._posteriors(batch)[0], table)
        return table[self._word_ids(words)] if words is not None else table

    def _word_ids(self, words) -> np.ndarray:
        words = list(words)
        if words and isinstance(words[0], str):
            vocabulary = getattr(self, "vocabulary_", None)
            if vocabulary is None:
                raise ValueError("this model was fitted on integer ids; pass ids as words")
            return vocabulary.encode_tokens(words)
        ids = np.asarray(words, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_features_):
            raise ValueError(f"word ids must lie in [0, {self.n_features_})")
        return ids

    def transform(self, X: HMMInput, lengths: Lengths | None = None, kind: str = "viterbi",
                  top_k: int | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Word representations, aligned with the flattened tokens of ``X``.

        Parameters
        ----------
        kind : {"viterbi", "posterior", "type", "type_cluster"}
            ``"viterbi"``: int32 (n_tokens,), the state on the Viterbi path;
            ``"posterior"``: (n_tokens, n_states) posteriors in context;
            ``"type"``: (n_tokens, n_states) context-free p(state | word) of each token's
            type; ``"type_cluster"``: its argmax, int32 (n_tokens,).
        top_k : int >= 1, optional
            For "posterior" and "type": return ``(ids, weights)``, int32 and float arrays
            of shape (n_tokens, top_k), the top-k states by weight (descending).
        """
        check_is_fitted(self, "emission_prob_")
        return self._transform(self._input(X, lengths)[0], kind, top_k)

    def _transform(self, batch: RaggedBatch, kind: str, k):
        if kind not in REPRESENTATIONS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, REPRESENTATIONS))}, "
                             f"got {kind!r}")
        if k is not None:
            if kind not in ("posterior", "type"):
                raise ValueError(f"top_k goes with kind='posterior' or 'type', not {kind!r}")
            top_k(np.zeros((0, 1)), k)   # refuses top_k=0, 2.5 ... before any work
        if kind == "viterbi":
            return self._viterbi(batch)[0]
        if kind == "posterior":
            dense = self._posteriors(batch)[0]
        else:
            dense = self._type_features(batch)
            if kind == "type_cluster":
                return np.argmax(dense, axis=1).astype(np.int32)
        return dense if k is None else top_k(dense, k)

    def _type_features(self, batch: RaggedBatch) -> np.ndarray:
        return self._type_table(0)[batch.ids]

    def sample(self, n_sequences: int = 1, lengths: int | Lengths = 10,
               random_state: int | np.random.RandomState | None = None
               ) -> tuple[list | np.ndarray, list | np.ndarray]:
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
        return self._sample(n_sequences, lengths, random_state, None)

    def _sample(self, n_sequences, lengths, random_state, domains):
        family, params = self._fitted()
        rs = check_random_state(random_state)
        ids, states, offsets = sample_ids(family, params, n_sequences, lengths, rs, domains)
        vocabulary = getattr(self, "vocabulary_", None)
        if vocabulary is None:
            return ids, states
        words = unflatten(vocabulary.decode(ids), offsets)
        st = self.labels_.decode(states) if self.labels_ is not None else states.tolist()
        return words, unflatten(st, offsets)

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
        if getattr(self, "emission_storage_", "float") == "log-float16":
            compact = compact_emissions(self.emission_prob_)
            dtype = self._param_dtype("emission_prob_")
            # stored compact only when that loses nothing: the table was rounded to it
            if np.array_equal(expand_emissions(compact).astype(dtype),
                              np.asarray(self.emission_prob_, dtype=dtype)):
                arrays["emission_prob"] = compact
                meta["emission_storage"] = "log-float16"
        return arrays, meta

    def _extra_meta(self) -> dict:
        return {}

    @classmethod
    def _from_state(cls, arrays, meta):
        """The model of a file's arrays and manifest, every array checked against the
        manifest (shape, dtype, probabilities) before any kernel sees it."""
        model = cls(**meta["params"])
        model.n_features_ = check_int("model file: n_features", meta["n_features"], 1)
        model.n_states_ = check_int("model file: n_states", meta["n_states"], 1)
        model.vocabulary_ = (None if meta.get("vocabulary") is None
                             else Vocabulary.from_dict(meta["vocabulary"]))
        model.labels_ = None if meta.get("labels") is None else LabelSet.from_dict(meta["labels"])
        if model.vocabulary_ is not None and len(model.vocabulary_) != model.n_features_:
            raise ValueError(f"model file: the vocabulary has {len(model.vocabulary_)} types "
                             f"but n_features = {model.n_features_}")
        if model.labels_ is not None and len(model.labels_) != model.n_states_:
            raise ValueError(f"model file: {len(model.labels_)} labels but n_states = "
                             f"{model.n_states_}")
        model._load_extra_meta(meta)
        storage = meta.get("emission_storage", "float")
        if storage not in EMISSION_STORAGES:
            raise ValueError(f"model file: emission_storage {storage!r} is not one of "
                             f"{EMISSION_STORAGES}")
        shapes = model._expected_shapes()
        for name in model._PARAMS:
            key = name.rstrip("_")
            if key not in arrays:
                raise ValueError(f"model file lacks the array {key!r}")
            arr = np.asarray(arrays[key])
            if name == "emission_prob_" and storage == "log-float16":
                arr = expand_emissions(check_compact_emissions(arr))
            if arr.shape != shapes[name]:
                raise ValueError(f"model file: {name} has shape {arr.shape}, expected "
                                 f"{shapes[name]}")
            if not np.issubdtype(arr.dtype, np.floating):
                raise ValueError(f"model file: {name} has dtype {arr.dtype}, expected floats")
            setattr(model, name, arr.astype(model._param_dtype(name)))
        model._validate_probabilities()
        w = getattr(model, "mixing_weight_", None)
        if w is not None and not (np.isfinite(w).all() and (w >= 0).all() and (w <= 1).all()):
            raise ValueError("model file: mixing_weight must lie in [0, 1]")
        model.monitor_ = ConvergenceMonitor.restored(model.tol, int(model.n_iter),
                                                     meta.get("history", []))
        if storage != "float":
            model.emission_storage_ = storage
        return model

    def _load_extra_meta(self, meta) -> None:
        pass

    def _param_dtype(self, name: str):
        return self._float

    def _expected_shapes(self) -> dict:
        K, V = self.n_states_, self.n_features_
        return {"start_prob_": (K,), "transition_prob_": (K, K), "emission_prob_": (K, V)}


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

    _DEFAULT_TIE = Tie(emissions="hierarchical")

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
    def _tie(self) -> Tie:
        return Tie.from_mapping(self.tie, self._DEFAULT_TIE)

    def _domain_names(self) -> list:
        if isinstance(self.n_domains, (int, np.integer)) and not isinstance(self.n_domains, bool):
            check_int("n_domains", self.n_domains, 1)
            return list(range(int(self.n_domains)))
        names = list(self.n_domains)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"domain names must be unique and non-empty, got {names!r}")
        return names

    @property
    def _n_domains(self) -> int:
        return len(self._domain_names())

    @property
    def _PARAMS(self):  # type: ignore[override]  # the base class's is a class constant
        if self._tie.emissions == "hierarchical":
            return CategoricalHMM._PARAMS + ("domain_emission_prob_", "mixing_weight_")
        return CategoricalHMM._PARAMS

    def _check_params(self) -> None:
        super()._check_params()
        _ = self._tie  # validates
        self._domain_names()
        if isinstance(self.init, dict):
            raise ValueError("MultiDomainHMM supports init='random' only")

    def _family(self) -> HMMFamily:
        return HMMFamily(self.n_states_, self.n_features_, n_domains=self.n_domains_,
                         tie=self._tie, kbest=self.kbest, dtype=np.dtype(self._float).name,
                         backend=self.backend)

    def _set_sizes(self, info) -> None:
        super()._set_sizes(info)
        self.domains_ = self._domain_names()
        self.n_domains_ = len(self.domains_)

    def _params(self) -> HMMParams:
        hier = self._tie.emissions == "hierarchical"
        return HMMParams(self.start_prob_, self.transition_prob_, self.emission_prob_,
                         self.domain_emission_prob_ if hier else None,
                         self.mixing_weight_ if hier else None)

    def _set_params(self, params: HMMParams) -> None:
        super()._set_params(params)
        if self._tie.emissions == "hierarchical":
            self.domain_emission_prob_ = params.domain_emission
            self.mixing_weight_ = params.mixing_weight

    def _domain_lookup(self):
        return None if isinstance(self.n_domains, (int, np.integer)) else self._domain_names()

    def _encode_domains(self, domains, n_sequences):
        return encode_domains(domains, self._domain_lookup(), self._n_domains, n_sequences)

    # ------------------------------------------------------------------ public API
    def domain_params(self, domain):
        """Effective ``(start_prob, transition_prob, emission_prob)`` of one domain (name or
        index), with shapes (K,), (K, K), (K, V)."""
        family, params = self._fitted()
        return family.domain_params(params, self._domain_index(domain))

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

    def fit(self, X: HMMInput, y: HMMLabels | None = None, lengths: Lengths | None = None,
            domains: Sequence | None = None, *, executor: Any = None) -> MultiDomainHMM:
        """Fit on sequences of several domains.

        Parameters
        ----------
        X, y, lengths, executor : as :meth:`CategoricalHMM.fit`
        domains : sequence of shape (n_sequences,)
            Domain of each sequence (names when ``n_domains`` lists names, else ints);
            may be omitted when ``X`` is a RaggedBatch with ``domains`` or files (their
            sentences carry domains).
        """
        return self._fit(X, y, lengths, domains, executor)

    def encode(self, X, lengths=None, domains=None) -> RaggedBatch:
        return self._input(X, lengths, domains)[0]

    def score_samples(self, X, lengths=None, domains=None) -> np.ndarray:
        check_is_fitted(self, "emission_prob_")
        return self._posteriors(self._input(X, lengths, domains)[0])[1]

    def score(self, X: HMMInput, lengths: Lengths | None = None,
              domains: Sequence | None = None) -> float:
        return float(np.sum(self.score_samples(X, lengths, domains)))

    def perplexity(self, X, lengths=None, domains=None) -> float:
        check_is_fitted(self, "emission_prob_")
        batch = self._input(X, lengths, domains)[0]
        ll = float(np.sum(self._posteriors(batch)[1]))
        return float(np.exp(-ll / max(batch.n_tokens, 1)))

    def predict(self, X: HMMInput, lengths: Lengths | None = None,
                domains: Sequence | None = None) -> list | np.ndarray:
        check_is_fitted(self, "emission_prob_")
        batch, kind = self._input(X, lengths, domains)
        return self._decode_states(kind, batch, self._viterbi(batch)[0])

    def decode(self, X: HMMInput, lengths: Lengths | None = None,
               domains: Sequence | None = None) -> tuple[float, np.ndarray]:
        check_is_fitted(self, "emission_prob_")
        path, score = self._viterbi(self._input(X, lengths, domains)[0])
        return float(score.sum()), path

    def predict_proba(self, X: HMMInput, lengths: Lengths | None = None,
                      domains: Sequence | None = None) -> np.ndarray:
        check_is_fitted(self, "emission_prob_")
        return self._posteriors(self._input(X, lengths, domains)[0])[0]

    def transform(self, X: HMMInput, lengths: Lengths | None = None, kind: str = "viterbi",
                  top_k: int | None = None, domains: Sequence | None = None
                  ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "emission_prob_")
        return self._transform(self._input(X, lengths, domains)[0], kind, top_k)

    def _type_features(self, batch: RaggedBatch) -> np.ndarray:
        family = self._fitted()[0]
        doms = family.domains_of(batch)
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
            batch = self._input(X, lengths, domains)[0]
            table = average_posterior(batch.ids, self._posteriors(batch)[0], table)
        return table[self._word_ids(words)] if words is not None else table

    def sample(self, n_sequences: int = 1, lengths: int | Lengths = 10,
               random_state: int | np.random.RandomState | None = None,
               domains: Sequence | None = None
               ) -> tuple[list | np.ndarray, list | np.ndarray]:
        """As :meth:`CategoricalHMM.sample`; ``domains`` (n_sequences,) picks each
        sequence's domain (default: the first domain).  Returns ``(X, states)``."""
        check_is_fitted(self, "emission_prob_")
        doms = None if domains is None else self._encode_domains(domains, int(n_sequences))
        return self._sample(n_sequences, lengths, random_state, doms)

    # ------------------------------------------------------------------ persistence
    def _extra_meta(self) -> dict:
        return {"domains": list(self.domains_)}

    def _load_extra_meta(self, meta) -> None:
        self.domains_ = list(meta["domains"])
        self.n_domains_ = len(self.domains_)
        if self.domains_ != self._domain_names():
            raise ValueError(f"model file: domains {self.domains_!r} do not match n_domains "
                             f"{self.n_domains!r}")

    def _param_dtype(self, name: str):
        return np.float64 if name == "mixing_weight_" else self._float

    def _expected_shapes(self) -> dict:
        """Per-domain blocks carry a leading (n_domains,) axis."""
        D = self.n_domains_
        tie = self._tie
        shapes = super()._expected_shapes()
        for name, block in (("start_prob_", tie.start), ("transition_prob_", tie.transitions),
                            ("emission_prob_", tie.emissions)):
            if block == "per_domain":
                shapes[name] = (D, *shapes[name])
        if tie.emissions == "hierarchical":
            shapes["domain_emission_prob_"] = (D, *shapes["emission_prob_"])
            shapes["mixing_weight_"] = (D,)
        return shapes
