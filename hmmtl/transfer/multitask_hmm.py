"""A multi-task HMM: one chain of hidden states shared by every labeling task.

Each state emits the word and, for each task whose labels a sentence carries, that task's
label: the emission of a token is factored as ``p(w | z) * prod_t p(y_t | z)``.  Labels a
sentence lacks are marginalized, so corpora annotated for different tasks (POS here, chunks
there, entities elsewhere) and unlabeled text train one model by EM.  Any task's labels are
then predicted from the words alone, or from the words plus the labels of other tasks.

The model is a thin user of
:class:`~hmmtl.transfer.multitask_family.MultiTaskFamily` (E- and M-steps) and of the EM driver
:func:`hmmtl.hmm.run_em`; it can train on any executor.

References
----------
Matsuzaki, T., Miyao, Y. and Tsujii, J. (2005). Probabilistic CFG with latent annotations.
ACL (splitting each label into latent sub-states, as ``init="labels"`` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from functools import partial

import numpy as np

from .._base import BaseEstimator, check_is_fitted
from ..data import LabelSet, Vocabulary, check_sentences, unflatten
from ..serialize import ModelFileMixin
from ..executors.local import LocalExecutor
from ..executors.sources import Sentences
from ..hmm.em import ConvergenceMonitor, run_em
from ..hmm.estimators import check_int
from ..hmm.families import Priors
from ..hmm.inputs import count_partition, is_sentence_list
from .multitask_family import MultiTaskFamily, MultiTaskParams, TaskBatch, TaskEncoder

if TYPE_CHECKING:
    from .._typing import TokenLists
    from ..executors.sources import Files

    #: Labels of each task, ``None`` for a sentence (or token) without them.
    TaskLabels = Mapping[str, Sequence[Sequence[str | None] | None]]

__all__ = ["MultiTaskHMM"]


class MultiTaskHMM(ModelFileMixin, BaseEstimator):
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

    # -- settings
    def _validate_params(self):
        check_int("n_states", self.n_states, 1)
        check_int("n_iter", self.n_iter, 1)
        if self.init not in ("labels", "random"):
            raise ValueError(f"init must be 'labels' or 'random', got {self.init!r}")
        for name in ("start_prior", "transition_prior", "emission_prior",
                     "label_prior", "init_noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def _priors(self) -> Priors:
        return Priors(float(self.start_prior), float(self.transition_prior),
                      float(self.emission_prior), float(self.label_prior))

    def _family(self) -> MultiTaskFamily:
        seed = None if self.init_task_ is None else self.tasks_.index(self.init_task_)
        return MultiTaskFamily(int(self.n_states), len(self.vocabulary_),
                               tuple(len(self.labelsets_[t]) for t in self.tasks_), seed,
                               float(self.init_noise))

    def _params(self) -> MultiTaskParams:
        return MultiTaskParams(self.start_prob_, self.transition_prob_, self.emission_prob_,
                               tuple(self.label_prob_[t] for t in self.tasks_))

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

    def _choose_init_task(self) -> str | None:
        K = int(self.n_states)
        if self.init != "labels" or not self.tasks_:
            return None
        if self.init_task is not None:
            if self.init_task not in self.tasks_:
                raise ValueError(f"init_task={self.init_task!r} is not among the tasks "
                                 f"{self.tasks_}")
            n = len(self.labelsets_[self.init_task])
            if n > K:
                raise ValueError(f"init_task {self.init_task!r} has {n} labels but n_states = "
                                 f"{K}; use n_states >= {n}, another init_task or init='random'")
            return self.init_task
        fitting = [t for t in self.tasks_ if len(self.labelsets_[t]) <= K]
        return max(fitting, key=lambda t: len(self.labelsets_[t])) if fitting else None

    # -- fitting
    def fit(self, X: TokenLists | Files | Sentences, y: TaskLabels | None = None, *,
            executor: Any = None) -> MultiTaskHMM:
        """Fit by MAP-EM on sentences labeled for any subset of tasks.

        Parameters
        ----------
        X : list of list of str
            Sentences (token lists); with an ``executor`` also files
            (:class:`hmmtl.executors.Files` with ``labels=`` naming the task columns).
        y : dict of str -> list of (list of str or None), optional
            For each task, the labels of every sentence, ``None`` for a sentence (or a token)
            without that task's labels.  Without ``y`` the model is an unsupervised HMM.
        executor : LocalExecutor, DaskExecutor or SparkExecutor, optional
            Where the E-step runs (default: this process).

        Returns
        -------
        self
        """
        self._validate_params()
        executor = LocalExecutor() if executor is None else executor
        if is_sentence_list(X) or isinstance(X, (str, bytes)) or (
                isinstance(X, (list, tuple)) and not X):
            X = check_sentences(X)
            if not X:
                raise ValueError("X holds no sentences")
            X = Sentences(X, self._check_label_sequences(X, y) or None)
        elif y is not None:
            raise TypeError("y goes with a list of token lists; files carry their labels "
                            "(Files(..., labels=columns))")
        raw = executor.load(X)
        try:
            counts = executor.map_sum(partial(count_partition, bool(self.lowercase)), raw)
            self.vocabulary_ = Vocabulary(min_count=self.min_count,
                                          lowercase=self.lowercase).fit_counts(counts.words)
            # a task without a single label carries no information: left out
            self.labelsets_ = {t: LabelSet(sorted(v)) for t, v in counts.labels.items() if v}
            self.tasks_ = list(self.labelsets_)
            self.init_task_ = self._choose_init_task()
            encoder = TaskEncoder(self.vocabulary_, tuple(self.labelsets_.items()))
            parts = executor.map(encoder, raw)
        finally:
            executor.release(raw)
        try:
            family = self._family()
            result = run_em(family, parts, executor, priors=self._priors(),
                            n_iter=self.n_iter, tol=self.tol, random_state=self.random_state,
                            verbose=self.verbose, desc="MultiTaskHMM EM")
        finally:
            executor.release(parts)
        params = result.params
        self.start_prob_, self.transition_prob_, self.emission_prob_ = params[:3]
        self.label_prob_ = dict(zip(self.tasks_, params.labels))
        self.state_labels_ = family.state_labels(result.summary)
        self.monitor_ = result.monitor
        self.n_iter_ = self.monitor_.iter
        return self

    # -- inference
    def _prepare(self, X, given) -> TaskBatch:
        check_is_fitted(self, "emission_prob_")
        X = check_sentences(X)
        given = self._check_label_sequences(X, given)
        for task in given:
            if task not in self.labelsets_:
                raise ValueError(f"unknown task {task!r}; the model knows {self.tasks_}")
        encoder = TaskEncoder(self.vocabulary_, tuple(self.labelsets_.items()))
        return encoder(Sentences(X, given))

    def _check_task(self, task):
        check_is_fitted(self, "emission_prob_")
        if task not in self.tasks_:
            raise ValueError(f"unknown task {task!r}; the model predicts {self.tasks_}")

    @staticmethod
    def _check_finite(log_z):
        if not np.all(np.isfinite(log_z)):
            bad = int(np.flatnonzero(~np.isfinite(log_z))[0])
            raise ValueError(f"sentence {bad}: the given labels have probability zero under "
                             f"the model (no state emits them together); drop or fix them")

    def _posteriors(self, data: TaskBatch):
        marginals, log_z = self._family().posteriors(self._params(), data)
        self._check_finite(log_z)
        return marginals

    def score_samples(self, X, y=None) -> np.ndarray:
        """Log-probability of each sentence and its given labels, ``log p(x, y_given)``.

        Returns
        -------
        ndarray of shape (n_sentences,)
        """
        return self._family().posteriors(self._params(), self._prepare(X, y))[1]

    def score(self, X: TokenLists, y: TaskLabels | None = None) -> float:
        """Total log-probability of the sentences and their given labels."""
        return float(self.score_samples(X, y).sum())

    def transform(self, X: TokenLists, kind: str = "posterior",
                  given: TaskLabels | None = None) -> np.ndarray:
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
        if kind not in ("posterior", "viterbi"):
            raise ValueError(f"kind must be 'posterior' or 'viterbi', got {kind!r}")
        data = self._prepare(X, given)
        if kind == "posterior":
            return self._posteriors(data)
        path, score = self._family().viterbi(self._params(), data)
        self._check_finite(score)
        return path

    def predict_proba(self, X: TokenLists, task: str,
                      given: TaskLabels | None = None) -> np.ndarray:
        """``p(y_task | x, given labels)`` of each token: ``sum_z p(z | x, ...) p(y | z)``.

        Tokens whose ``task`` label is given get that label with probability one.

        Returns
        -------
        ndarray of shape (n_tokens, n_labels)
            Columns follow ``labelsets_[task].labels``.
        """
        self._check_task(task)
        data = self._prepare(X, given)
        t = self.tasks_.index(task)
        proba = self._posteriors(data) @ self.label_prob_[task]
        own = data.task_labels[:, t]
        mask = own >= 0
        proba[mask] = 0.0
        proba[np.flatnonzero(mask), own[mask]] = 1.0
        return proba

    def predict(self, X: TokenLists, task: str, given: TaskLabels | None = None,
                decode: str = "posterior") -> list[list[str]]:
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
        if decode not in ("posterior", "viterbi"):
            raise ValueError(f"decode must be 'posterior' or 'viterbi', got {decode!r}")
        data = self._prepare(X, given)
        t = self.tasks_.index(task)
        if decode == "posterior":
            pred = np.argmax(self._posteriors(data) @ self.label_prob_[task], axis=1)
        else:
            path, score = self._family().viterbi(self._params(), data, task=t)
            self._check_finite(score)
            pred = np.argmax(self.label_prob_[task], axis=1)[path]
        own = data.task_labels[:, t]
        pred = np.where(own >= 0, own, pred)
        return unflatten(self.labelsets_[task].decode(pred), data.batch.offsets)

    # -- persistence
    def _get_state(self):
        check_is_fitted(self, "emission_prob_")
        arrays = {"startprob": self.start_prob_, "transmat": self.transition_prob_,
                  "emission_prob": self.emission_prob_}
        for i, t in enumerate(self.tasks_):
            arrays[f"label_prob_{i}"] = self.label_prob_[t]
        if self.state_labels_ is not None:
            arrays["state_labels"] = self.state_labels_
        meta: dict[str, Any] = {
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
        """The model of a file, every array's shape and range checked against the
        vocabulary and label sets of the manifest before any kernel sees it."""
        m = cls(**meta["params"])
        m.vocabulary_ = Vocabulary.from_dict(meta["vocabulary"])
        m.tasks_ = list(meta["tasks"])
        m.labelsets_ = {t: LabelSet.from_dict(d) for t, d in zip(m.tasks_, meta["labelsets"])}
        if len(m.labelsets_) != len(m.tasks_):
            raise ValueError("model file: tasks and label sets do not match")
        V = len(m.vocabulary_)
        K = np.asarray(arrays["startprob"]).shape[0] if np.ndim(arrays["startprob"]) == 1 else -1
        expected = {"startprob": (K,), "transmat": (K, K), "emission_prob": (K, V)}
        for i, t in enumerate(m.tasks_):
            expected[f"label_prob_{i}"] = (K, len(m.labelsets_[t]))
        for name, shape in expected.items():
            if name not in arrays:
                raise ValueError(f"model file lacks the array {name!r}")
            arr = np.asarray(arrays[name])
            if arr.shape != shape or K < 1:
                raise ValueError(f"inconsistent model arrays: {name} has shape {arr.shape}, "
                                 f"expected {shape} (vocabulary {V}, {K} states)")
            if not np.issubdtype(arr.dtype, np.floating) or not np.isfinite(arr).all() \
                    or (arr < 0).any() or not np.allclose(arr.sum(axis=-1), 1.0, atol=1e-6):
                raise ValueError(f"model file: {name} is not a table of probability rows")
        m.start_prob_ = np.asarray(arrays["startprob"], dtype=np.float64)
        m.transition_prob_ = np.asarray(arrays["transmat"], dtype=np.float64)
        m.emission_prob_ = np.asarray(arrays["emission_prob"], dtype=np.float64)
        m.label_prob_ = {t: np.asarray(arrays[f"label_prob_{i}"], dtype=np.float64)
                         for i, t in enumerate(m.tasks_)}
        m.state_labels_ = None
        m.init_task_ = meta.get("init_task")
        if m.init_task_ is not None and m.init_task_ not in m.tasks_:
            raise ValueError(f"model file: init_task {m.init_task_!r} is not a task")
        if "state_labels" in arrays:
            s = np.asarray(arrays["state_labels"])
            n_lab = len(m.labelsets_[m.init_task_]) if m.init_task_ is not None else 0
            if s.shape != (K,) or not np.issubdtype(s.dtype, np.integer) or (
                    s.size and (s.min() < 0 or s.max() >= n_lab)):
                raise ValueError(f"model file: state_labels must be {K} label ids of "
                                 f"init_task in [0, {n_lab})")
            m.state_labels_ = s.astype(np.int32)
        m.monitor_ = ConvergenceMonitor.restored(m.tol, m.n_iter, meta.get("history", []),
                                                 meta.get("log_likelihoods", []))
        m.n_iter_ = m.monitor_.iter
        return m
