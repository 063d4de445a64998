"""Sharing latent structure across tasks: a multi-task HMM and alternating structure optimization.

:class:`MultiTaskHMM`
    One chain of hidden states shared by every task.  Each state emits the word and, for each
    task whose labels a sentence carries, that task's label: the emission of a token is
    factored as ``p(w | z) * prod_t p(y_t | z)``.  Labels a sentence lacks are marginalized, so
    corpora annotated for different tasks (POS here, chunks there, entities elsewhere) and
    unlabeled text train one model by EM.  Any task's labels are then predicted from the words
    alone, or from the words plus the labels of other tasks.

:class:`AlternatingStructureOptimization`
    Ando & Zhang's (2005) shared low-dimensional projection ``Theta`` of the token features,
    learned from the weight vectors of every task's labels.  ``Theta @ x`` is a dense
    representation that each task's CRF takes as extra features
    (``LinearChainCRF.fit(X, y, extra={"aso": theta_x})``).

References
----------
Ando, R. K. and Zhang, T. (2005). A framework for learning predictive structures from multiple
tasks and unlabeled data. JMLR 6.
Grave, E., Obozinski, G. and Bach, F. (2013). Hidden Markov tree models for semantic class
induction. CoNLL.
Matsuzaki, T., Miyao, Y. and Tsujii, J. (2005). Probabilistic CFG with latent annotations. ACL
(splitting each label into latent sub-states, as ``init="labels"`` does).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numba import njit, prange

from .._base import BaseEstimator, check_is_fitted, check_random_state
from ..data import LabelSet, Vocabulary, flatten, unflatten
from ..hmm import ConvergenceMonitor
from ..inference import chunk_sequences, forward_backward, viterbi

__all__ = [
    "AlternatingStructureOptimization",
    "MultiTaskHMM",
    "scatter_add_rows",
    "window_feature_matrix",
]


# ----------------------------------------------------------------------------- kernels
@njit(cache=True, parallel=True)
def _scatter_add_rows_kernel(index, weights, token_bounds, n_rows):
    """``out[index[t]] += weights[t]`` for every token with ``index[t] >= 0``.

    Each chunk of whole sequences (``token_bounds``) owns its accumulator, so the ``prange``
    loop has no races; the accumulators are summed at the end.
    """
    n_chunks = token_bounds.shape[0] - 1
    K = weights.shape[1]
    acc = np.zeros((n_chunks, n_rows, K), dtype=np.float64)
    for c in prange(n_chunks):
        for t in range(token_bounds[c], token_bounds[c + 1]):
            r = index[t]
            if r >= 0:
                for k in range(K):
                    acc[c, r, k] += weights[t, k]
    out = np.zeros((n_rows, K), dtype=np.float64)
    for c in range(n_chunks):
        for r in range(n_rows):
            for k in range(K):
                out[r, k] += acc[c, r, k]
    return out


def _n_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def scatter_add_rows(index, weights, offsets, n_rows: int) -> np.ndarray:
    """Sum the rows of ``weights`` by ``index``: expected emission counts from marginals.

    Parameters
    ----------
    index : int ndarray of shape (n_tokens,)
        Target row of each token (a word or label id); ``-1`` skips the token.
    weights : ndarray of shape (n_tokens, n_states)
    offsets : int64 ndarray of shape (n_sequences + 1,)
        Sequences are kept whole within one thread's chunk.
    n_rows : int

    Returns
    -------
    ndarray of shape (n_rows, n_states), float64

    Examples
    --------
    >>> import numpy as np
    >>> scatter_add_rows(np.array([1, -1, 1]), np.ones((3, 2)), np.array([0, 2, 3]), 2).tolist()
    [[0.0, 0.0], [2.0, 2.0]]
    """
    index = np.ascontiguousarray(index, dtype=np.int64)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[0] != index.shape[0]:
        raise ValueError(f"weights must have shape ({index.shape[0]}, n_states), "
                         f"got {weights.shape}")
    if index.size and index.max() >= n_rows:
        raise ValueError(f"index holds {index.max()} but n_rows = {n_rows}")
    offsets = np.asarray(offsets, dtype=np.int64)
    bounds = np.ascontiguousarray(offsets[chunk_sequences(offsets, _n_threads())])
    return _scatter_add_rows_kernel(index, weights, bounds, int(n_rows))


# ----------------------------------------------------------------------------- helpers
def _normalize_rows(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0),
                       1.0 / counts.shape[-1])
    return out


def _safe_log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


def _dirichlet_log_prior(prob: np.ndarray, pseudocount: float) -> float:
    """sum(pseudocount * log prob): the log-density (up to a constant) of a Dirichlet prior
    with concentration 1 + pseudocount, whose MAP estimate is (counts + pseudocount) / total."""
    if pseudocount <= 0:
        return 0.0
    with np.errstate(divide="ignore"):
        return float(pseudocount * np.log(prob).sum())


def _allocate_substates(n_states: int, label_counts: np.ndarray) -> np.ndarray:
    """Label of each state when ``n_states`` states split ``len(label_counts)`` labels: every
    label gets one state, the rest go to labels in proportion to their frequency (largest
    remainder).  Label order is kept, so with ``n_states == n_labels`` state k is label k."""
    L = label_counts.shape[0]
    extra = n_states - L
    share = np.ones(L, dtype=np.int64)
    if extra > 0:
        freq = label_counts / max(label_counts.sum(), 1.0)
        quota = freq * extra
        base = np.floor(quota).astype(np.int64)
        rest = extra - int(base.sum())
        order = np.argsort(-(quota - base), kind="stable")
        base[order[:rest]] += 1
        share += base
    return np.repeat(np.arange(L, dtype=np.int64), share)


# ----------------------------------------------------------------------------- the model
class MultiTaskHMM(BaseEstimator):
    """Hidden Markov model whose states are shared by several labeling tasks.

    Each hidden state ``z`` emits the word ``w`` and, for every task ``t`` whose labels a
    sentence carries, a label ``y_t``: ``p(w, y | z) = p(w | z) * prod_t p(y_t | z)``.  The
    log-potential of a token in state ``z`` is therefore
    ``log p(w | z) + sum over labeled tasks of log p(y_t | z)``; labels a sentence lacks
    are summed out (they add nothing).  Training is MAP-EM (Baum-Welch with Dirichlet
    pseudocounts) over labeled, partly labeled and unlabeled sentences at once.  With more
    states than labels, states refine labels (several latent sub-states per tag).

    Parameters
    ----------
    n_states : int, default=64
        Number of hidden states ``K`` shared by all tasks.
    n_iter : int, default=20
        Largest number of EM iterations.
    tol : float, default=1e-2
        Stop when the MAP objective gains less than ``tol`` in an iteration (hmmlearn's and
        :class:`~hmmtl.CategoricalHMM`'s rule).
    init : {"labels", "random"}, default="labels"
        ``"labels"``: the states are split among the labels of ``init_task`` (every label gets
        at least one state, frequent labels more) and the first parameters are relative counts
        over the labeled tokens, with random jitter between sub-states of one label.
        ``"random"``: random parameters.
    init_task : str or None
        Task whose labels seed the states with ``init="labels"``; default: among the tasks
        with at most ``n_states`` labels, the one with the most labels.
    start_prior, transition_prior, emission_prior, label_prior : float
        Dirichlet pseudocounts added to the expected counts in the M-step (the MAP estimate
        under a Dirichlet prior of concentration ``1 + pseudocount``).
    init_noise : float, default=0.1
        Relative size of the random jitter that breaks the symmetry between sub-states.
    min_count : int, default=1
        Words seen fewer times map to their unknown-word signature.
    lowercase : bool, default=False
    random_state : int, RandomState or None
    verbose : bool, default=False
        Show a tqdm progress bar over EM iterations.

    Attributes
    ----------
    vocabulary_ : Vocabulary
    tasks_ : list of str
    labelsets_ : dict of str -> LabelSet
    start_prob_ : ndarray of shape (n_states,)
    transition_prob_ : ndarray of shape (n_states, n_states)
    emission_prob_ : ndarray of shape (n_states, n_words)
        ``p(w | z)``.
    label_prob_ : dict of str -> ndarray of shape (n_states, n_labels)
        ``p(y_t | z)`` per task.
    state_labels_ : ndarray of shape (n_states,) or None
        Label (of ``init_task_``) each state was seeded from.
    monitor_ : hmmtl.hmm.ConvergenceMonitor
        ``monitor_.history`` holds the MAP objective (log-likelihood of words and given labels
        plus log prior) at the start of each iteration, EM never lowers it;
        ``monitor_.log_likelihoods`` the log-likelihood alone.

    Examples
    --------
    >>> X = [["the", "dog", "runs"], ["a", "cat", "sleeps"], ["the", "cat"]]
    >>> y = {"pos": [["DT", "NN", "VBZ"], None, ["DT", "NN"]],
    ...      "chunk": [None, ["B-NP", "I-NP", "B-VP"], None]}
    >>> m = MultiTaskHMM(n_states=4, n_iter=5, random_state=0).fit(X, y)
    >>> m.predict([["a", "dog", "sleeps"]], task="pos")
    [['DT', 'NN', 'VBZ']]
    """

    def __init__(self, n_states: int = 64, *, n_iter: int = 20, tol: float = 1e-2,
                 init: str = "labels", init_task: str | None = None,
                 start_prior: float = 1.0, transition_prior: float = 1.0,
                 emission_prior: float = 0.1, label_prior: float = 0.1,
                 init_noise: float = 0.1, min_count: int = 1, lowercase: bool = False,
                 random_state=None, verbose: bool = False):
        self.n_states = n_states
        self.n_iter = n_iter
        self.tol = tol
        self.init = init
        self.init_task = init_task
        self.start_prior = start_prior
        self.transition_prior = transition_prior
        self.emission_prior = emission_prior
        self.label_prior = label_prior
        self.init_noise = init_noise
        self.min_count = min_count
        self.lowercase = lowercase
        self.random_state = random_state
        self.verbose = verbose

    # -- input handling
    @staticmethod
    def _check_sentences(X, name: str = "X") -> list:
        if isinstance(X, (str, bytes)):
            raise TypeError(f"{name} must be a list of token lists, got a string")
        X = list(X)
        for i, s in enumerate(X[:1]):
            if isinstance(s, str):
                raise TypeError(f"{name} must be a list of token lists, but {name}[{i}] is the "
                                f"string {s!r}; wrap one sentence as [tokens]")
        return X

    @staticmethod
    def _check_label_sequences(X, y) -> dict:
        """``y`` as {task: list of label lists}, lengths checked against ``X``."""
        if y is None:
            return {}
        if not isinstance(y, Mapping):
            raise TypeError(f"labels must be a dict task -> list of label lists (None for "
                            f"sentences without that task), got {type(y).__name__}")
        out = {}
        for task, seqs in y.items():
            if seqs is None:
                continue
            seqs = list(seqs)
            if len(seqs) != len(X):
                raise ValueError(f"task {task!r} has {len(seqs)} label sequences but there are "
                                 f"{len(X)} sentences; use None for a sentence without labels")
            out[task] = seqs
        return out

    def _encode_labels(self, X, y) -> dict:
        """``y`` as {task: flat int32 label ids, -1 where missing}, with the fitted label sets."""
        out = {}
        for task, seqs in self._check_label_sequences(X, y).items():
            if task not in self.labelsets_:
                raise ValueError(f"unknown task {task!r}; the model knows {self.tasks_}")
            try:
                out[task] = self.labelsets_[task].encode_for(X, seqs)
            except ValueError as e:
                raise ValueError(f"task {task!r}: {e}") from None
        return out

    def _encode(self, X):
        flat, offsets = flatten(X)
        if np.any(np.diff(offsets) == 0):
            bad = int(np.flatnonzero(np.diff(offsets) == 0)[0])
            raise ValueError(f"sentence {bad} is empty; every sentence needs at least one token")
        return self.vocabulary_.encode_tokens(flat), offsets

    # -- parameters in log space
    def _log_params(self):
        return (_safe_log(self.start_prob_), _safe_log(self.transition_prob_),
                _safe_log(self.emission_prob_),
                {t: _safe_log(p) for t, p in self.label_prob_.items()})

    def _unary(self, ids, labels: dict, log_emission, log_label, *, skip=None) -> np.ndarray:
        """Per-token log-potentials ``log p(w|z) + sum_t log p(y_t|z)`` over given labels."""
        unary = np.ascontiguousarray(log_emission.T[ids])
        for task, lab in labels.items():
            if task == skip:
                continue
            mask = lab >= 0
            if mask.any():
                unary[mask] += log_label[task].T[lab[mask]]
        return unary

    def _log_prior(self) -> float:
        lp = _dirichlet_log_prior(self.start_prob_, self.start_prior)
        lp += _dirichlet_log_prior(self.transition_prob_, self.transition_prior)
        lp += _dirichlet_log_prior(self.emission_prob_, self.emission_prior)
        for p in self.label_prob_.values():
            lp += _dirichlet_log_prior(p, self.label_prior)
        return lp

    # -- fitting
    def _validate_params(self):
        if int(self.n_states) < 1:
            raise ValueError(f"n_states must be >= 1, got {self.n_states}")
        if self.init not in ("labels", "random"):
            raise ValueError(f"init must be 'labels' or 'random', got {self.init!r}")
        for name in ("start_prior", "transition_prior", "emission_prior",
                     "label_prior", "init_noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if int(self.n_iter) < 1:
            raise ValueError(f"n_iter must be >= 1, got {self.n_iter}")

    def fit(self, X, y=None):
        """Fit by MAP-EM on sentences labeled for any subset of tasks.

        Parameters
        ----------
        X : list of list of str
            Sentences (token lists).
        y : dict of str -> list of (list of str or None), optional
            For each task, the labels of every sentence, ``None`` for a sentence (or a token)
            without that task's labels.  Without ``y`` the model is an unsupervised HMM.

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._check_sentences(X)
        if not X:
            raise ValueError("X holds no sentences")
        rng = check_random_state(self.random_state)
        self.vocabulary_ = Vocabulary(min_count=self.min_count, lowercase=self.lowercase).fit(X)
        sequences = self._check_label_sequences(X, y)
        # a task without a single label in X carries no information: left out
        self.labelsets_ = {t: ls for t, ls in ((t, LabelSet().fit(seqs))
                                               for t, seqs in sequences.items()) if len(ls)}
        self.tasks_ = list(self.labelsets_)
        labels = self._encode_labels(X, {t: sequences[t] for t in self.tasks_})
        ids, offsets = self._encode(X)
        V = len(self.vocabulary_)
        self._initialize(ids, offsets, labels, rng)

        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter)
        iterations = range(int(self.n_iter))
        if self.verbose:
            from tqdm.auto import tqdm

            iterations = tqdm(iterations, desc="MultiTaskHMM EM", unit="iter")
        for _ in iterations:
            log_start, log_trans, log_emit, log_label = self._log_params()
            unary = self._unary(ids, labels, log_emit, log_label)
            fb = forward_backward(unary, log_trans, offsets, start=log_start)
            if not np.all(np.isfinite(fb.log_z)):
                bad = int(np.flatnonzero(~np.isfinite(fb.log_z))[0])
                raise FloatingPointError(
                    f"sentence {bad} has probability zero under the model (its labels "
                    f"contradict each other under zero-probability parameters); use positive "
                    f"label_prior / emission_prior")
            log_likelihood = float(fb.log_z.sum())
            objective = log_likelihood + self._log_prior()
            self.monitor_.report(objective, log_likelihood)
            if self.verbose:
                iterations.set_postfix(objective_per_token=objective / ids.shape[0])
            gamma = fb.marginals
            start_counts = gamma[offsets[:-1]].sum(axis=0)
            emit_counts = scatter_add_rows(ids, gamma, offsets, V).T
            label_counts = {t: scatter_add_rows(lab, gamma, offsets,
                                                len(self.labelsets_[t])).T
                            for t, lab in labels.items()}
            self._m_step(start_counts, fb.pair_counts, emit_counts, label_counts)
            if self.monitor_.converged:
                break
        self.n_iter_ = self.monitor_.iter
        return self

    def _m_step(self, start_counts, transition_counts, emission_counts, label_counts):
        self.start_prob_ = _normalize_rows(start_counts + self.start_prior)
        self.transition_prob_ = _normalize_rows(transition_counts + self.transition_prior)
        self.emission_prob_ = _normalize_rows(emission_counts + self.emission_prior)
        self.label_prob_ = {t: _normalize_rows(c + self.label_prior)
                            for t, c in label_counts.items()}

    def _initialize(self, ids, offsets, labels, rng):
        """First parameters: an M-step on pseudo-counts built from the labels of one task
        (each state inherits the counts of the label it refines, split evenly among that
        label's sub-states, times random jitter), or random parameters."""
        K = int(self.n_states)
        V = len(self.vocabulary_)
        n_tokens = ids.shape[0]
        init_task = None
        if self.init == "labels" and labels:
            if self.init_task is not None:
                if self.init_task not in labels:
                    raise ValueError(f"init_task={self.init_task!r} is not among the tasks "
                                     f"{list(labels)}")
                init_task = self.init_task
                if len(self.labelsets_[init_task]) > K:
                    raise ValueError(
                        f"init_task {init_task!r} has {len(self.labelsets_[init_task])} labels "
                        f"but n_states = {K}; use n_states >= "
                        f"{len(self.labelsets_[init_task])}, another init_task or init='random'")
            else:
                fitting = [t for t in labels if len(self.labelsets_[t]) <= K]
                if fitting:
                    init_task = max(fitting, key=lambda t: len(self.labelsets_[t]))
        self.init_task_ = init_task

        def jitter(shape):
            return 1.0 + self.init_noise * rng.uniform(-1.0, 1.0, size=shape)

        if init_task is None:
            self.state_labels_ = None
            self.start_prob_ = _normalize_rows(rng.dirichlet(np.ones(K)) * jitter(K))
            self.transition_prob_ = _normalize_rows(rng.dirichlet(np.ones(K), size=K))
            word_counts = np.bincount(ids, minlength=V).astype(np.float64)
            self.emission_prob_ = _normalize_rows(word_counts[None, :] * jitter((K, V))
                                                  + self.emission_prior)
            self.label_prob_ = {t: _normalize_rows(rng.dirichlet(np.ones(len(ls)), size=K))
                                for t, ls in self.labelsets_.items()}
            return

        lab0 = labels[init_task]
        L0 = len(self.labelsets_[init_task])
        state_labels = _allocate_substates(K, np.bincount(lab0[lab0 >= 0], minlength=L0)
                                           .astype(np.float64))
        n_sub = np.bincount(state_labels, minlength=L0).astype(np.float64)
        self.state_labels_ = state_labels.astype(np.int32)
        # Soft assignment of each token to labels of init_task: one-hot where labeled,
        # none where not (those tokens are spread evenly over all states).
        has = lab0 >= 0
        unlab_w = np.bincount(ids[~has], minlength=V).astype(np.float64)
        lab_w = np.zeros((V, L0))
        np.add.at(lab_w, (ids[has], lab0[has]), 1.0)
        emit = (lab_w[:, state_labels] / n_sub[state_labels]).T + unlab_w[None, :] / K
        self.emission_prob_ = _normalize_rows(emit * jitter((K, V)) + self.emission_prior)
        self.label_prob_ = {}
        for t, lab in labels.items():
            Lt = len(self.labelsets_[t])
            if t == init_task:
                # Each sub-state emits its own label: the label's count split among its
                # sub-states, plus the pseudocount (exactly one-hot when it is zero).
                c = np.zeros((K, Lt))
                label_total = np.bincount(lab[lab >= 0], minlength=Lt).astype(np.float64)
                c[np.arange(K), state_labels] = label_total[state_labels] / n_sub[state_labels]
                self.label_prob_[t] = _normalize_rows(c + self.label_prior)
                continue
            both = has & (lab >= 0)
            only = ~has & (lab >= 0)
            cooc = np.zeros((L0, Lt))
            np.add.at(cooc, (lab0[both], lab[both]), 1.0)
            solo = np.bincount(lab[only], minlength=Lt).astype(np.float64)
            c = cooc[state_labels] / n_sub[state_labels][:, None] + solo[None, :] / K
            self.label_prob_[t] = _normalize_rows(c * jitter((K, Lt)) + self.label_prior)
        # Label bigrams of init_task (consecutive labeled tokens within a sentence).
        starts = offsets[:-1]
        first = lab0[starts]
        start_c = np.bincount(first[first >= 0], minlength=L0).astype(np.float64)
        self.start_prob_ = _normalize_rows(start_c[state_labels] / n_sub[state_labels]
                                          * jitter(K) + self.start_prior)
        prev = np.ones(n_tokens, dtype=bool)
        prev[starts] = False  # token t has a predecessor in its sentence
        pos = np.flatnonzero(prev)
        a, b = lab0[pos - 1], lab0[pos]
        ok = (a >= 0) & (b >= 0)
        big = np.zeros((L0, L0))
        np.add.at(big, (a[ok], b[ok]), 1.0)
        trans = big[state_labels][:, state_labels] / np.outer(n_sub[state_labels],
                                                              n_sub[state_labels])
        self.transition_prob_ = _normalize_rows(trans * jitter((K, K)) + self.transition_prior)

    # -- inference
    def _prepare(self, X, given):
        check_is_fitted(self, "emission_prob_")
        X = self._check_sentences(X)
        ids, offsets = self._encode(X)
        labels = self._encode_labels(X, given)
        return ids, offsets, labels

    def _check_task(self, task):
        check_is_fitted(self, "emission_prob_")
        if task not in self.tasks_:
            raise ValueError(f"unknown task {task!r}; the model predicts {self.tasks_}")

    def _posteriors(self, ids, offsets, labels):
        log_start, log_trans, log_emit, log_label = self._log_params()
        unary = self._unary(ids, labels, log_emit, log_label)
        fb = forward_backward(unary, log_trans, offsets, start=log_start, compute_pairs=False)
        self._check_finite(fb.log_z)
        return fb

    @staticmethod
    def _check_finite(log_z):
        if not np.all(np.isfinite(log_z)):
            bad = int(np.flatnonzero(~np.isfinite(log_z))[0])
            raise ValueError(f"sentence {bad}: the given labels have probability zero under "
                             f"the model (no state emits them together); drop or fix them")

    def score_samples(self, X, y=None) -> np.ndarray:
        """Log-probability of each sentence and its given labels, ``log p(x, y_given)``.

        Returns
        -------
        ndarray of shape (n_sentences,)
        """
        ids, offsets, labels = self._prepare(X, y)
        log_start, log_trans, log_emit, log_label = self._log_params()
        unary = self._unary(ids, labels, log_emit, log_label)
        fb = forward_backward(unary, log_trans, offsets, start=log_start, compute_pairs=False)
        return fb.log_z

    def score(self, X, y=None) -> float:
        """Total log-probability of the sentences and their given labels."""
        return float(self.score_samples(X, y).sum())

    def transform(self, X, kind: str = "posterior", given=None) -> np.ndarray:
        """Hidden-state representations of each token, aligned with the flattened tokens.

        Parameters
        ----------
        X : list of list of str
        kind : {"posterior", "viterbi"}
            ``"posterior"``: p(z | x, given labels), shape (n_tokens, n_states);
            ``"viterbi"``: the state on the most probable path, int32 of shape (n_tokens,).
        given : dict of str -> list of label lists, optional
            Labels to condition on.
        """
        ids, offsets, labels = self._prepare(X, given)
        if kind == "posterior":
            return self._posteriors(ids, offsets, labels).marginals
        if kind == "viterbi":
            log_start, log_trans, log_emit, log_label = self._log_params()
            unary = self._unary(ids, labels, log_emit, log_label)
            r = viterbi(unary, log_trans, offsets, start=log_start)
            self._check_finite(r.score)
            return r.path
        raise ValueError(f"kind must be 'posterior' or 'viterbi', got {kind!r}")

    def predict_proba(self, X, task: str, given=None) -> np.ndarray:
        """``p(y_task | x, given labels)`` of each token: ``sum_z p(z | x, ...) p(y | z)``.

        Tokens whose ``task`` label is given get that label with probability one.

        Returns
        -------
        ndarray of shape (n_tokens, n_labels)
            Columns follow ``labelsets_[task].labels``.
        """
        self._check_task(task)
        ids, offsets, labels = self._prepare(X, given)
        own = labels.get(task)
        # Condition on every given label except the task's own, then clamp the own ones:
        # p(y_i | x, y_given) for a given position is the given label itself.
        fb = self._posteriors(ids, offsets, labels)
        proba = fb.marginals @ self.label_prob_[task]
        if own is not None:
            mask = own >= 0
            proba[mask] = 0.0
            proba[np.flatnonzero(mask), own[mask]] = 1.0
        return proba

    def predict(self, X, task: str, given=None, decode: str = "posterior") -> list[list[str]]:
        """Labels of ``task`` for each sentence.

        Parameters
        ----------
        X : list of list of str
        task : str
        given : dict of str -> list of label lists, optional
            Known labels of any task, ``None`` where unknown.  Labels of other tasks are
            conditioned on; labels of ``task`` itself are kept as they are (constrained
            decoding) and inform the rest of the sentence.
        decode : {"posterior", "viterbi"}
            ``"posterior"``: each token's most probable label,
            ``argmax_y sum_z p(z | x) p(y | z)``.
            ``"viterbi"``: the most probable joint sequence of states *and* labels,
            ``argmax_{z, y} p(x, z, y)`` (exact: a token's label depends on its state only, so
            ``max_y log p(y | z)`` folds into the state's log-potential), whose labels are
            ``argmax_y p(y | z_i)`` along the best state path.  This is not the most probable
            label sequence with states summed out, which is intractable in general.

        Returns
        -------
        list of list of str
        """
        self._check_task(task)
        ids, offsets, labels = self._prepare(X, given)
        own = labels.get(task)
        if decode == "posterior":
            fb = self._posteriors(ids, offsets, labels)
            pred = np.argmax(fb.marginals @ self.label_prob_[task], axis=1)
        elif decode == "viterbi":
            log_start, log_trans, log_emit, log_label = self._log_params()
            unary = self._unary(ids, labels, log_emit, log_label, skip=task)
            best_label = np.argmax(log_label[task], axis=1)  # (K,)
            unary += log_label[task].max(axis=1)[None, :]
            if own is not None:
                mask = own >= 0
                if mask.any():
                    unary[mask] += log_label[task].T[own[mask]] - log_label[task].max(axis=1)
            r = viterbi(unary, log_trans, offsets, start=log_start)
            self._check_finite(r.score)
            pred = best_label[r.path]
        else:
            raise ValueError(f"decode must be 'posterior' or 'viterbi', got {decode!r}")
        if own is not None:
            pred = np.where(own >= 0, own, pred)
        return unflatten(self.labelsets_[task].decode(pred), offsets)

    # -- persistence
    def _get_state(self):
        check_is_fitted(self, "emission_prob_")
        arrays = {"startprob": self.start_prob_, "transmat": self.transition_prob_,
                  "emission_prob": self.emission_prob_}
        for i, t in enumerate(self.tasks_):
            arrays[f"label_prob_{i}"] = self.label_prob_[t]
        if self.state_labels_ is not None:
            arrays["state_labels"] = self.state_labels_
        meta = {
            "params": self.get_params(),
            "vocabulary": self.vocabulary_.to_dict(),
            "tasks": list(self.tasks_),
            "labelsets": [self.labelsets_[t].to_dict() for t in self.tasks_],
            "init_task": self.init_task_,
            "history": list(self.monitor_.history),
            "log_likelihoods": list(self.monitor_.log_likelihoods),
        }
        if not isinstance(meta["params"]["random_state"], (int, type(None))):
            meta["params"]["random_state"] = None
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        m = cls(**meta["params"])
        m.vocabulary_ = Vocabulary.from_dict(meta["vocabulary"])
        m.tasks_ = list(meta["tasks"])
        m.labelsets_ = {t: LabelSet.from_dict(d) for t, d in zip(m.tasks_, meta["labelsets"])}
        m.start_prob_ = np.asarray(arrays["startprob"], dtype=np.float64)
        m.transition_prob_ = np.asarray(arrays["transmat"], dtype=np.float64)
        m.emission_prob_ = np.asarray(arrays["emission_prob"], dtype=np.float64)
        m.label_prob_ = {t: np.asarray(arrays[f"label_prob_{i}"], dtype=np.float64)
                         for i, t in enumerate(m.tasks_)}
        K = m.start_prob_.shape[0]
        if m.transition_prob_.shape != (K, K) or m.emission_prob_.shape != (K, len(m.vocabulary_)):
            raise ValueError(f"inconsistent model arrays: startprob {m.start_prob_.shape}, "
                             f"transmat {m.transition_prob_.shape}, emission_prob "
                             f"{m.emission_prob_.shape}, vocabulary {len(m.vocabulary_)}")
        m.state_labels_ = (np.asarray(arrays["state_labels"], dtype=np.int32)
                           if "state_labels" in arrays else None)
        m.init_task_ = meta.get("init_task")
        m.monitor_ = ConvergenceMonitor(m.tol, m.n_iter)
        m.monitor_.history = list(meta.get("history", []))
        m.monitor_.log_likelihoods = list(meta.get("log_likelihoods", []))
        m.monitor_.iter = len(m.monitor_.history)
        return m

    def save(self, path) -> None:
        """Write the model to ``path`` (hmmtl model file, no pickle)."""
        from ..serialize import save

        save(self, path)

    @classmethod
    def load(cls, path) -> MultiTaskHMM:
        from ..serialize import load

        return load(path, expected_class=cls)


# ----------------------------------------------------------------------------- ASO
_PAD_LEFT = "__BOS__"
_PAD_RIGHT = "__EOS__"


def window_feature_matrix(flat_tokens, offsets, *, window: int = 1, templates=None,
                          n_hash: int = 2 ** 18):
    """Sparse token x feature matrix: each token's type-level features and its neighbours'.

    Features are computed once per distinct word type (:func:`hmmtl.features.word_features`),
    hashed into ``n_hash`` columns (reproducible: scikit-learn's MurmurHash3
    ``FeatureHasher``), then gathered for every token at offsets ``-window..window`` (each
    offset its own block of columns; out-of-sentence neighbours are padding types), by
    sparse row indexing: no Python loop over tokens.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_tokens, n_hash * (2 * window + 1))
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction import FeatureHasher

    from ..features import word_features

    offsets = np.asarray(offsets, dtype=np.int64)
    n_tokens = int(offsets[-1])
    tokens = np.asarray(list(flat_tokens), dtype=object)
    if tokens.shape[0] != n_tokens:
        raise ValueError(f"offsets end at {n_tokens} but there are {tokens.shape[0]} tokens")
    uniq, inverse = np.unique(tokens, return_inverse=True) if n_tokens else (
        np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64))
    types = uniq.tolist() + [_PAD_LEFT, _PAD_RIGHT]
    feats = [word_features(w, templates) for w in uniq.tolist()] + [["BOS"], ["EOS"]]
    table = FeatureHasher(n_features=n_hash, input_type="string",
                          alternate_sign=False).transform(feats).tocsr()
    table.data[:] = 1.0
    inverse = inverse.ravel().astype(np.int64)
    pad_left, pad_right = len(types) - 2, len(types) - 1
    lengths = np.diff(offsets)
    pos = np.arange(n_tokens, dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    length_of = np.repeat(lengths, lengths)
    blocks = []
    for o in range(-window, window + 1):
        inside = (pos + o >= 0) & (pos + o < length_of)
        rows = np.where(inside, inverse[np.clip(np.arange(n_tokens) + o, 0, max(n_tokens - 1, 0))],
                        pad_left if o < 0 else pad_right)
        blocks.append(table[rows])
    return sp.hstack(blocks, format="csr")


class AlternatingStructureOptimization(BaseEstimator):
    """A shared low-dimensional projection of token features learned from several tasks.

    Alternating structure optimization (Ando & Zhang 2005): every label of every task is a
    linear prediction problem over the same sparse token features ``x``.  Its weights are
    ``u_l = w_l + Theta^T v_l``, a problem-specific part plus a part in a subspace ``Theta``
    (``n_components`` rows) shared by all problems.  ASO alternates between fitting the
    problems with ``Theta`` fixed (features ``[x, Theta x]``) and setting ``Theta`` to the top
    left singular vectors of the stacked weights ``[u_1 ... u_m]``.  The result,
    ``Theta x`` (:meth:`transform`), goes to each task's CRF as dense extra features, so that
    what POS and chunking learned about the features reaches the NER labeler and back.

    The problems are fitted one-vs-rest with the modified Huber loss (as Ando & Zhang did) by
    scikit-learn's ``SGDClassifier``.

    Parameters
    ----------
    n_components : int, default=50
        Dimension ``h`` of the shared subspace (at most the number of prediction problems:
        one per label, one for a two-label task).
    n_rounds : int, default=2
        Alternations (1 = fit the problems once and take the SVD, "SVD-ASO").
    alpha : float, default=1e-5
        L2 penalty of the problem-specific weights.
    n_epochs : int, default=5
    window : int, default=1
        Features of the tokens at offsets ``-window..window``.
    templates : sequence, optional
        Type-level templates (:mod:`hmmtl.features`).
    n_hash : int, default=2**18
    min_count : int, default=2
        Feature columns seen in fewer training tokens are dropped.
    n_auxiliary : int, default=0
        Auxiliary problems from unlabeled text (Ando & Zhang's semi-supervised ASO, section
        5 of the paper): with ``n_auxiliary = m > 0``, (a) predict which of the ``m`` most
        frequent words of the text stands at a position from the features of its
        neighbours alone (offsets ``-window..-1, 1..window``), and (b) predict the word to
        the left and the word to the right from the position's own features.  Labels are
        not needed, so any amount of text can teach them; each set gets its own projection
        of its own view of the features (``auxiliary_components`` rows each), which
        :meth:`transform` appends to the task projection.  Needs ``window >= 1``.
    auxiliary_components : int, default=50
        Rows of each auxiliary projection.
    max_auxiliary_tokens : int or None, default=500_000
        The auxiliary problems are fitted on at most this many tokens (whole sentences,
        drawn at random) of the unlabeled text.
    output_scale : float, default=1.0
        :meth:`transform` returns standardized values times this.  A CRF's L2 penalty
        weighs a dense feature scaled by ``a`` like the unscaled one under ``1 / a**2``
        times the penalty: below 1, the labeler leans on these features less (0.2 was best
        for NER on CoNLL-2003 testa in the multi-task study).
    random_state : int, RandomState or None
    verbose : bool

    Attributes
    ----------
    theta_ : ndarray of shape (n_components, n_kept_features)
    columns_ : int64 ndarray of shape (n_kept_features,)
        Hashed columns kept.
    auxiliary_theta_ : dict
        ``"context"`` / ``"word"`` -> (projection (h, n_view_columns), view columns int64)
        of the auxiliary problems (empty without them).
    auxiliary_words_ : list of str
        The words the auxiliary problems predict.
    mean_, scale_ : ndarray of shape (n_output_features,)
        Standardization of the output on the training tokens.
    singular_values_ : ndarray
    tasks_ : list of str
    """

    def __init__(self, n_components: int = 50, *, n_rounds: int = 2, alpha: float = 1e-5,
                 n_epochs: int = 5, window: int = 1, templates=None, n_hash: int = 2 ** 18,
                 min_count: int = 2, n_auxiliary: int = 0, auxiliary_components: int = 50,
                 max_auxiliary_tokens: int | None = 500_000, output_scale: float = 1.0,
                 random_state=None, verbose: bool = False):
        self.n_components = n_components
        self.n_rounds = n_rounds
        self.alpha = alpha
        self.n_epochs = n_epochs
        self.window = window
        self.templates = templates
        self.n_hash = n_hash
        self.min_count = min_count
        self.n_auxiliary = n_auxiliary
        self.auxiliary_components = auxiliary_components
        self.max_auxiliary_tokens = max_auxiliary_tokens
        self.output_scale = output_scale
        self.random_state = random_state
        self.verbose = verbose

    def _features(self, X):
        flat, offsets = flatten(MultiTaskHMM._check_sentences(X))
        return window_feature_matrix(flat, offsets, window=int(self.window),
                                     templates=self.templates, n_hash=int(self.n_hash))

    def fit(self, X, y, *, unlabeled=None):
        """Learn ``Theta`` from the labels of every task (and the auxiliary problems).

        Parameters
        ----------
        X : list of list of str
        y : dict of str -> list of (list of str or None)
            Labels of each task; ``None`` for sentences (or tokens) without them.  May be
            empty (or None) with ``n_auxiliary > 0``: the auxiliary problems alone.
        unlabeled : list of list of str, optional
            Text for the auxiliary problems (``n_auxiliary > 0``); default ``X``.
        """
        import scipy.sparse as sp
        from sklearn.linear_model import SGDClassifier

        rng = check_random_state(self.random_state)
        X = MultiTaskHMM._check_sentences(X)
        if y is None:
            y = {}
        if not isinstance(y, Mapping) or (not y and int(self.n_auxiliary) <= 0):
            raise TypeError("y must be a non-empty dict task -> list of label lists (or "
                            "empty with n_auxiliary > 0: auxiliary problems only)")
        F_all = self._features(X)
        self.columns_ = self._kept_columns(F_all)
        F = F_all[:, self.columns_].tocsr()
        n_feat = F.shape[1]
        self.labelsets_ = {}
        problems = []
        for task, seqs in y.items():
            ls = LabelSet().fit(seqs)
            if len(ls) < 2:
                raise ValueError(f"task {task!r} has {len(ls)} distinct labels; need >= 2")
            lab = ls.encode_for(X, list(seqs))
            rows = np.flatnonzero(lab >= 0)
            self.labelsets_[task] = ls
            problems.append((task, rows, lab[rows]))
        self.tasks_ = list(self.labelsets_)
        h = min(int(self.n_components), n_feat)
        theta = None
        rounds = range(max(int(self.n_rounds), 1) if problems else 0)
        if self.verbose:
            from tqdm.auto import tqdm

            rounds = tqdm(rounds, desc="ASO rounds")
        for _ in rounds:
            weights = []
            if theta is not None:
                proj = F @ theta.T
                # scale the shared part up so that the common L2 penalty barely restrains v:
                # Ando & Zhang leave v unpenalized
                boost = 1.0 / np.maximum(proj.std(axis=0), 1e-12)
                aug = sp.hstack([F, sp.csr_matrix(proj * boost)], format="csr")
            for task, rows, lab in problems:
                clf = SGDClassifier(loss="modified_huber", alpha=float(self.alpha),
                                    max_iter=int(self.n_epochs), tol=None,
                                    random_state=rng.randint(2 ** 31 - 1))
                if theta is None:
                    clf.fit(F[rows], lab)
                    weights.append(clf.coef_)
                else:
                    clf.fit(aug[rows], lab)
                    w, v = clf.coef_[:, :n_feat], clf.coef_[:, n_feat:] * boost
                    weights.append(w + v @ theta)
            U = np.vstack(weights)  # (n_problems, n_feat)
            # rows of Vt: left singular vectors of U^T, i.e. the shared directions
            _, s, vt = np.linalg.svd(U, full_matrices=False)
            theta = vt[:min(h, vt.shape[0])]
            self.singular_values_ = s
        if theta is None:  # no labeled task: the auxiliary projections alone
            theta = np.zeros((0, n_feat))
            self.singular_values_ = np.zeros(0)
        self.theta_ = np.ascontiguousarray(theta)
        self.auxiliary_theta_, self.auxiliary_words_ = {}, []
        if int(self.n_auxiliary) > 0:
            self._fit_auxiliary(X if unlabeled is None else
                                MultiTaskHMM._check_sentences(unlabeled, "unlabeled"), rng)
        proj = self._project(F_all)
        self.mean_ = proj.mean(axis=0)
        self.scale_ = np.maximum(proj.std(axis=0), 1e-12)
        return self

    def _kept_columns(self, F) -> np.ndarray:
        """Hashed columns of ``F`` seen in at least ``min_count`` tokens (int64)."""
        counts = np.asarray((F > 0).sum(axis=0)).ravel()
        return np.flatnonzero(counts >= int(self.min_count)).astype(np.int64)

    def _view_columns(self, view: str, kept: np.ndarray) -> np.ndarray:
        """Of the hashed columns ``kept``, those of the centre block (``"word"``) or of the
        neighbours' blocks (``"context"``)."""
        block = kept // int(self.n_hash)
        centre = int(self.window)
        return kept[block == centre] if view == "word" else kept[block != centre]

    def _fit_auxiliary(self, text, rng) -> None:
        """Projections of the auxiliary problems (see ``n_auxiliary``).

        Each set of problems ("which of the m words is this", from one view of the features)
        is solved in closed form: least squares with the Gram matrix of the (binary) view
        features replaced by its diagonal, i.e. weights ``W = D_f^-1 X^T Y`` (``D_f`` the
        feature counts, ``Y`` the one-hot targets), whose shared subspace (the top singular
        vectors, with both sides scaled by the square roots of their counts as in CCA) is
        the projection.  One sparse product and one truncated SVD, where a solver per
        problem would cost a pass over the text per word.
        """
        from sklearn.utils.extmath import randomized_svd
        import scipy.sparse as sp

        if int(self.window) < 1:
            raise ValueError("n_auxiliary > 0 needs window >= 1 (the context view is the "
                             f"neighbours' features), got window={self.window}")
        text = [s for s in text if len(s)]
        if not text:
            raise ValueError("the auxiliary problems need unlabeled text, got none")
        limit = self.max_auxiliary_tokens
        if limit is not None:
            order = rng.permutation(len(text))
            lengths = np.fromiter((len(text[i]) for i in order), np.int64, len(order))
            n_keep = max(1, int(np.searchsorted(np.cumsum(lengths), int(limit))) + 1)
            text = [text[i] for i in np.sort(order[:n_keep])]
        flat, offsets = flatten(text)
        F = window_feature_matrix(flat, offsets, window=int(self.window),
                                  templates=self.templates, n_hash=int(self.n_hash))
        kept = self._kept_columns(F)
        # targets: the n_auxiliary most frequent (lowercased) words
        lower = np.asarray([w.lower() for w in flat], dtype=object)
        types, ids, freq = np.unique(lower, return_inverse=True, return_counts=True)
        top = np.argsort(-freq, kind="stable")[:int(self.n_auxiliary)]
        m = top.shape[0]
        self.auxiliary_words_ = types[top].tolist()
        cls = np.full(types.shape[0], -1, dtype=np.int64)
        cls[top] = np.arange(m)
        target = cls[ids.ravel()]
        n = target.shape[0]
        lengths = np.diff(offsets)
        pos = np.arange(n) - np.repeat(offsets[:-1], lengths)
        last = np.repeat(lengths, lengths) - 1
        left = np.where(pos > 0, np.roll(target, 1), -1)
        right = np.where(pos < last, np.roll(target, -1), -1)
        h = int(self.auxiliary_components)

        def one_hot(y, shift):
            rows = np.flatnonzero(y >= 0)
            return sp.csr_matrix((np.ones(rows.shape[0]), (rows, y[rows] + shift)),
                                 shape=(n, 2 * m))

        def fit_view(view, Y):
            cols = self._view_columns(view, kept)
            Fv = F[:, cols].tocsr()
            Fv.data[:] = 1.0
            f_count = np.asarray(Fv.sum(axis=0)).ravel()
            y_count = np.asarray(Y.sum(axis=0)).ravel()
            C = (Fv.T @ Y).tocsr()
            smooth = 1.0
            row_scale = 1.0 / np.sqrt(f_count + smooth)
            C = sp.diags(row_scale) @ C @ sp.diags(1.0 / np.sqrt(y_count + smooth))
            k = max(1, min(h, min(C.shape) - 1))
            U, _, _ = randomized_svd(C, k, n_iter=5, random_state=rng.randint(2 ** 31 - 1))
            theta = (U * row_scale[:, None]).T
            self.auxiliary_theta_[view] = (np.ascontiguousarray(theta), cols)

        fit_view("context", one_hot(target, 0))
        fit_view("word", one_hot(left, 0) + one_hot(right, m))

    def _project(self, F) -> np.ndarray:
        """``[Theta x, Theta_context x_context, Theta_word x_word]`` (unstandardized)."""
        parts = [F[:, self.columns_] @ self.theta_.T]
        for view in ("context", "word"):
            if view in getattr(self, "auxiliary_theta_", {}):
                theta, cols = self.auxiliary_theta_[view]
                parts.append(F[:, cols] @ theta.T)
        return np.hstack(parts) if len(parts) > 1 else parts[0]

    def transform(self, X) -> np.ndarray:
        """Standardized ``Theta x`` of every token (with the auxiliary projections after
        it) times ``output_scale``, shape (n_tokens, n_output_features)."""
        check_is_fitted(self, "theta_")
        z = (self._project(self._features(X)) - self.mean_) / self.scale_
        return z * float(self.output_scale) if float(self.output_scale) != 1.0 else z

    def _get_state(self):
        check_is_fitted(self, "theta_")
        params = self.get_params()
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None
        if params["templates"] is not None:
            params["templates"] = list(params["templates"])
        arrays = {"theta": self.theta_, "columns": self.columns_, "mean": self.mean_,
                  "scale": self.scale_, "singular_values": self.singular_values_}
        for view, (theta, cols) in self.auxiliary_theta_.items():
            arrays[f"auxiliary_theta_{view}"] = theta
            arrays[f"auxiliary_columns_{view}"] = cols
        meta = {"params": params, "tasks": self.tasks_,
                "labelsets": [self.labelsets_[t].to_dict() for t in self.tasks_],
                "auxiliary_views": list(self.auxiliary_theta_),
                "auxiliary_words": list(self.auxiliary_words_)}
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        m = cls(**meta["params"])
        m.theta_ = np.asarray(arrays["theta"], dtype=np.float64)
        m.columns_ = np.asarray(arrays["columns"], dtype=np.int64)
        m.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        m.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
        m.singular_values_ = np.asarray(arrays["singular_values"], dtype=np.float64)
        m.tasks_ = list(meta["tasks"])
        m.labelsets_ = {t: LabelSet.from_dict(d) for t, d in zip(m.tasks_, meta["labelsets"])}
        m.auxiliary_theta_ = {}
        for view in meta.get("auxiliary_views", []):
            if view not in ("context", "word"):
                raise ValueError(f"unknown auxiliary view {view!r} in the model file")
            m.auxiliary_theta_[view] = (
                np.asarray(arrays[f"auxiliary_theta_{view}"], dtype=np.float64),
                np.asarray(arrays[f"auxiliary_columns_{view}"], dtype=np.int64))
        m.auxiliary_words_ = list(meta.get("auxiliary_words", []))
        n_out = m.theta_.shape[0] + sum(t.shape[0] for t, _ in m.auxiliary_theta_.values())
        if m.mean_.shape != (n_out,) or m.scale_.shape != (n_out,):
            raise ValueError(f"model file: mean/scale have shapes {m.mean_.shape} / "
                             f"{m.scale_.shape}, expected ({n_out},)")
        return m

    def save(self, path) -> None:
        """Write the fitted projection to ``path`` (hmmtl model file, no pickle)."""
        from ..serialize import save

        save(self, path)

    @classmethod
    def load(cls, path) -> AlternatingStructureOptimization:
        from ..serialize import load

        return load(path, expected_class=cls)
