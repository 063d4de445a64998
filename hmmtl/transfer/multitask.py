"""``MultiTaskTagger``: one model that labels several tasks (POS, chunks, entities).

The tasks see each other through a *cascade*: the tasks are ordered (POS, then chunking,
then NER, then any other task in the order given), and each task's
:class:`~hmmtl.LinearChainCRF` (with that task's defaults, :data:`hmmtl.crf.TASK_DEFAULTS`)
takes the *predicted* labels of the tasks before it as string columns of extra features,
at offsets -1, 0, +1.  So that the columns a labeler is trained on look like those it gets
when tagging, the labels of the earlier tasks on its training sentences are
cross-validated predictions (stacking, Wolpert 1992): the sentences an earlier task was
trained on are cut into ``n_folds`` folds and each fold is tagged by a model of that task
trained on the other folds; sentences the earlier task was not trained on (another corpus)
are tagged by its full model.  Each task may come from a different corpus: a sentence
carries the labels of the tasks it is annotated for, ``None`` for the others, and every
task's labeler is trained on the sentences that carry its labels.

Word representations are shared: with ``hmm`` (fitted HMMs, e.g. from ``hmmtl
train-hmm``), their per-token features are computed once per batch and handed to every
task's labeler.

References: Wolpert (1992), *Stacked generalization*; Sutton & McCallum (2005), *Joint
parsing and semantic role labeling* (cascades of CRFs); Collobert et al. (2011), *Natural
language processing (almost) from scratch* (POS, chunks and entities from one model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import serialize
from .._base import BaseEstimator, check_is_fitted, check_random_state
from .._text_api import TextTagging
from ..data import check_label_lists, check_sentences, check_strings, flatten

if TYPE_CHECKING:

    from .._typing import TokenLists

__all__ = ["MultiTaskTagger", "TASK_ORDER", "cross_validated_predictions"]

#: the order of the cascade for the tasks it knows; other tasks follow in the order given
TASK_ORDER = ("pos", "chunk", "ner")
#: prefix of the extra-feature name holding an earlier task's predicted labels
_INPUT = "task:"


def _task_order(names) -> list[str]:
    names = list(names)
    return [t for t in TASK_ORDER if t in names] + [t for t in names if t not in TASK_ORDER]


def _fold_ids(n: int, n_folds: int, rng) -> np.ndarray:
    """A fold id per item, folds of near-equal size, in a random order."""
    return rng.permutation(np.arange(n) % n_folds)


def _subset_extra(extra: dict, index: np.ndarray, offsets: np.ndarray) -> dict:
    """The extra features of the sentences ``index`` (token rows of per-token arrays,
    sentences of string columns)."""
    if not extra:
        return {}
    starts, ends = offsets[index], offsets[index + 1]
    rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)]) \
        if index.shape[0] else np.zeros(0, dtype=np.int64)
    return take_extra(extra, index, rows)


def take_extra(extra: dict, index: np.ndarray, rows: np.ndarray) -> dict:
    """The extra features of the sentences ``index`` whose tokens are the rows ``rows``:
    per-token arrays (or tuples of them) by row, string columns (one list per sentence) by
    sentence."""
    out: dict[str, Any] = {}
    for name, value in extra.items():
        if isinstance(value, tuple):
            out[name] = tuple(v[rows] for v in value)
        elif isinstance(value, np.ndarray):
            out[name] = value[rows]
        else:
            out[name] = [value[i] for i in index.tolist()]
    return out


def cross_validated_predictions(make_labeler, X, y, folds, extra=None,
                                offsets=None) -> list:
    """Labels of every sentence of ``X`` predicted by a labeler trained on the other folds
    (stacking, Wolpert 1992): what a model downstream of ``make_labeler()``'s labels is
    trained on, so that the labels it reads in training are as noisy as when tagging.

    Parameters
    ----------
    make_labeler : callable
        Returns a new, unfitted labeler (``fit(X, y, extra=...)``, ``predict(X,
        extra=...)``).
    X : list of list of str
    y : list of list of str
        The labels the fold models learn, one sequence per sentence of ``X``.
    folds : int ndarray of shape (n_sentences,)
        The fold of each sentence; a fold's sentences are tagged by a model of the others.
    extra : dict, optional
        Extra features of ``X`` (per-token arrays or per-sentence string columns).
    offsets : int ndarray of shape (n_sentences + 1,), optional
        Token offsets of ``X`` (computed when ``extra`` is given without them).

    Returns
    -------
    list of list of str
        One predicted label sequence per sentence of ``X``.

    >>> from hmmtl import LinearChainCRF
    >>> X = [["the", "dog"], ["a", "cat"]] * 4
    >>> y = [["DT", "NN"]] * 8
    >>> cross_validated_predictions(lambda: LinearChainCRF(max_iterations=10), X, y,
    ...                             np.arange(8) % 2)[:2]
    [['DT', 'NN'], ['DT', 'NN']]
    """
    folds = np.asarray(folds)
    if folds.shape != (len(X),) or len(y) != len(X):
        raise ValueError(f"folds and y must give one entry per sentence of X ({len(X)}), got "
                         f"{folds.shape[0] if folds.ndim else 0} folds and {len(y)} label "
                         f"sequences")
    if extra and offsets is None:
        _, offsets = flatten(X)
    out = [None] * len(X)
    for f in np.unique(folds).tolist():
        held, kept = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
        if not kept.shape[0]:
            raise ValueError(f"every sentence is in fold {f}: cross-validation needs at "
                             f"least two folds")
        model = make_labeler()
        model.fit([X[i] for i in kept.tolist()], [y[i] for i in kept.tolist()],
                  extra=_subset_extra(extra, kept, offsets) or None)
        pred = model.predict([X[i] for i in held.tolist()],
                             extra=_subset_extra(extra, held, offsets) or None)
        for i, p in zip(held.tolist(), pred):
            out[i] = p
    return out


class MultiTaskTagger(TextTagging, serialize.ModelFileMixin, BaseEstimator):
    """Several labeling tasks in one model: a cascade of CRFs, each task reading the
    cross-validated predictions of the tasks before it.

    Parameters
    ----------
    tasks : sequence of str, optional
        The order of the cascade.  Default: ``pos``, ``chunk``, ``ner`` (those present),
        then the other tasks of ``y`` in the order given.
    n_folds : int
        Folds of the cross-validated predictions that the later tasks are trained on
        (``n_folds >= 2``); 0 or 1 trains the later tasks on the earlier tasks' *gold*
        labels where a sentence has them (faster; the columns then differ between training
        and tagging).
    cascade : bool
        False: every task is labeled from the words (and HMM features) alone, the tasks
        sharing only the featurization.
    labeler_params : dict, optional
        Parameters of every task's :class:`~hmmtl.LinearChainCRF`, or ``{task: {...}}``
        per task (a key that is a task name makes the mapping per task).
    hmm : CategoricalHMM or list of them, optional
        Fitted HMMs whose ``representations`` are features of every task.
    representations : sequence of str
        HMM representations (see :class:`~hmmtl.Tagger`), with ``top_k``.
    top_k : int
    notation : {"auto", "keep"}
        Handed to every labeler (see :class:`~hmmtl.LinearChainCRF`).
    random_state : int or None
        Seeds the folds and the labelers.

    Attributes
    ----------
    tasks_ : list of str
        The tasks in cascade order.
    labelers_ : dict of str to LinearChainCRF
        The labeler of each task.
    inputs_ : dict of str to list of str
        The earlier tasks whose predicted labels each task reads.
    hmms_ : list
        The HMMs whose features are shared.

    Examples
    --------
    >>> X = [["the", "dog", "barks"], ["a", "cat", "sleeps"]] * 5
    >>> pos = [["DT", "NN", "VBZ"]] * 10
    >>> chunk = [["B-NP", "I-NP", "B-VP"]] * 10
    >>> model = MultiTaskTagger(n_folds=2, labeler_params={"max_iterations": 20},
    ...                         random_state=0).fit(X, {"pos": pos, "chunk": chunk})
    >>> model.predict([["the", "cat", "sleeps"]])
    {'pos': [['DT', 'NN', 'VBZ']], 'chunk': [['B-NP', 'I-NP', 'B-VP']]}
    """

    #: fitted HMMs given as ``hmm`` are used as they are, also by a clone
    _fitted_params = ("hmm",)

    def __init__(self, tasks=None, n_folds=3, cascade=True, labeler_params=None, hmm=None,
                 representations=("type",), top_k=4, notation="auto", random_state=None,
                 verbose=False):
        self.tasks = tasks
        self.n_folds = n_folds
        self.cascade = cascade
        self.labeler_params = labeler_params
        self.hmm = hmm
        self.representations = representations
        self.top_k = top_k
        self.notation = notation
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ building
    def _params_of(self, task: str, seed) -> dict:
        given = dict(self.labeler_params or {})
        if any(isinstance(v, Mapping) for v in given.values()):
            unknown = sorted(set(given) - set(self.tasks_))
            if unknown:
                raise ValueError(f"labeler_params has per-task entries {unknown} for no task "
                                 f"of this model (tasks {self.tasks_})")
            given = dict(given.get(task) or {})
        from ..crf import TASK_DEFAULTS

        params = {"task": task if task in TASK_DEFAULTS else "auto",
                  "notation": self.notation, "random_state": seed}
        params.update(given)
        return params

    def _labeler(self, task: str, seed):
        from ..crf import LinearChainCRF

        return LinearChainCRF(**self._params_of(task, seed))

    def _given_hmms(self) -> list:
        from .pipeline import given_hmms

        return given_hmms(self.hmm)

    def _shared_features(self, sentences) -> dict:
        """The features every task shares (HMM representations), computed once."""
        if not self.hmms_:
            return {}
        from .pipeline import hmm_representations

        return hmm_representations(self.hmms_, sentences, self.representations_, self.top_k)

    def _check_y(self, X, y, offsets) -> dict:
        if not isinstance(y, Mapping) or not y:
            raise TypeError(f"y must be a non-empty dict of task name -> label lists (None for "
                            f"a sentence without that task), e.g. {{'pos': pos_tags, 'chunk': "
                            f"chunk_tags}}; got {type(y).__name__}")
        out = {}
        for task, labels in y.items():
            if not isinstance(task, str) or not task or ":" in task:
                raise ValueError(f"task names must be non-empty strings without ':', got "
                                 f"{task!r}")
            if labels is None:
                continue
            labels = list(labels)
            if len(labels) != len(X):
                raise ValueError(f"y[{task!r}] has {len(labels)} label sequences but X has "
                                 f"{len(X)} sentences; give None for a sentence without "
                                 f"{task} labels")
            has = np.fromiter((s is not None for s in labels), dtype=bool, count=len(labels))
            index = np.flatnonzero(has)
            if not index.shape[0]:
                continue
            sub = [labels[i] for i in index.tolist()]
            sub_offsets = np.concatenate([[0], np.cumsum(np.diff(offsets)[index])])
            check_label_lists(sub, sub_offsets, f"y[{task!r}]")
            out[task] = (index, sub)
        if not out:
            raise ValueError(f"no sentence carries labels of any task of y ({sorted(y)})")
        return out

    # ------------------------------------------------------------------ API
    def fit(self, X: TokenLists,
            y: Mapping[str, Sequence[Sequence[str] | None]]) -> MultiTaskTagger:
        """Train every task's labeler, in cascade order.

        Parameters
        ----------
        X : list of list of str
        y : dict of str to list of (list of str or None)
            For each task, the labels of every sentence of ``X``, ``None`` for a sentence
            without that task's labels (a task from another corpus).

        Returns
        -------
        self
        """
        X = check_sentences(X, "X")
        if not X:
            raise ValueError("X holds no sentence; give at least one labeled sentence")
        flat, offsets = flatten(X)
        check_strings(flat, offsets, "X")
        labeled = self._check_y(X, y, offsets)
        if self.tasks is not None:
            order = [str(t) for t in self.tasks]
            missing = sorted(set(labeled) - set(order))
            if missing:
                raise ValueError(f"y has labels of {missing}, which tasks={order} leaves out; "
                                 f"add them to tasks or drop them from y")
            order = [t for t in order if t in labeled]
        else:
            order = _task_order(labeled)
        n_folds = int(self.n_folds)
        if n_folds < 0:
            raise ValueError(f"n_folds must be 0, 1 (gold labels as inputs) or >= 2, got "
                             f"{self.n_folds}")
        from .pipeline import check_representations

        self.tasks_ = order
        self.representations_ = check_representations(self.representations)
        self.hmms_ = self._given_hmms()
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(2**31 - 1))
        shared = self._shared_features(X)
        # per task: its label sequences for every sentence (None where absent), and, as
        # the cascade goes, the labels the later tasks read (cross-validated predictions)
        inputs: dict[str, list] = {}
        self.labelers_, self.inputs_ = {}, {}
        for k, task in enumerate(order):
            index, labels = labeled[task]
            earlier = order[:k] if self.cascade else []
            extra = dict(shared)
            extra.update({_INPUT + u: inputs[u] for u in earlier})
            labeler = self._labeler(task, seed)
            if self.verbose:
                print(f"[{task}] {type(labeler).__name__} on {len(index)} sentences"
                      + (f", reading {', '.join(earlier)}" if earlier else ""))
            sub_x = [X[i] for i in index.tolist()]
            labeler.fit(sub_x, labels, extra=_subset_extra(extra, index, offsets) or None)
            self.labelers_[task] = labeler
            self.inputs_[task] = list(earlier)
            if k + 1 < len(order) and self.cascade:
                inputs[task] = self._inputs_for_later(task, labeler, X, extra, offsets, index,
                                                      labels, n_folds, rng, seed)
        self.n_tasks_ = len(order)
        return self

    def _inputs_for_later(self, task, labeler, X, extra, offsets, index, labels, n_folds,
                          rng, seed) -> list:
        """The labels of ``task`` that the later tasks are trained on, one sequence per
        sentence of ``X``: on the sentences ``task`` was trained on, predictions of models
        trained on the other folds (or the gold labels when ``n_folds < 2``); elsewhere the
        full model's predictions."""
        n = len(X)
        out = [None] * n
        others = np.setdiff1d(np.arange(n), index)
        if others.shape[0]:
            pred = labeler.predict([X[i] for i in others.tolist()],
                                   extra=_subset_extra(extra, others, offsets) or None)
            for i, p in zip(others.tolist(), pred):
                out[i] = p
        if n_folds < 2 or index.shape[0] < n_folds:
            for i, t in zip(index.tolist(), labels):
                out[i] = list(t)
            return out
        folds = _fold_ids(index.shape[0], n_folds, rng)
        sub_x = [X[i] for i in index.tolist()]
        pred = cross_validated_predictions(lambda: self._labeler(task, seed), sub_x,
                                           list(labels), folds,
                                           _subset_extra(extra, index, offsets))
        for i, p in zip(index.tolist(), pred):
            out[i] = p
        return out

    def predict(self, X: TokenLists,
                tasks: Sequence[str] | None = None) -> dict[str, list[list[str]]]:
        """The labels of every task (or of ``tasks`` and the tasks they read).

        Parameters
        ----------
        X : list of list of str
        tasks : sequence of str, optional

        Returns
        -------
        dict of str to list of list of str
            Task -> one label list per sentence, in cascade order.
        """
        check_is_fitted(self, "labelers_")
        X = check_sentences(X, "X")
        wanted = self._wanted(tasks)
        if not X:
            return {t: [] for t in wanted}
        check_strings(*flatten(X), "X")
        shared = self._shared_features(X)
        out: dict[str, list] = {}
        for task in self.tasks_:
            if task not in wanted:
                continue
            extra = dict(shared)
            extra.update({_INPUT + u: out[u] for u in self.inputs_[task]})
            out[task] = self.labelers_[task].predict(X, extra=extra or None)
        return {t: out[t] for t in self.tasks_ if t in out}

    def _wanted(self, tasks) -> set:
        if tasks is None:
            return set(self.tasks_)
        tasks = [tasks] if isinstance(tasks, str) else list(tasks)
        unknown = [t for t in tasks if t not in self.tasks_]
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}: this model labels {self.tasks_}")
        wanted, todo = set(), list(tasks)
        while todo:
            t = todo.pop()
            if t not in wanted:
                wanted.add(t)
                todo.extend(self.inputs_[t])
        return wanted

    def score_tasks(self, X, y) -> dict:
        """The score of each task of ``y`` on the sentences that carry its labels: entity
        (chunk) F1 with conlleval semantics for span tags (BIO, BIOES ...), else token
        accuracy.

        Returns
        -------
        dict of str to float
        """
        from ..crf import detect_scheme
        from ..metrics import accuracy, entity_f1

        X = check_sentences(X, "X")
        _, offsets = flatten(X)
        labeled = self._check_y(X, y, offsets)
        unknown = sorted(set(labeled) - set(self.tasks_))
        if unknown:
            raise ValueError(f"y has labels of {unknown}, which this model does not label "
                             f"(tasks {self.tasks_})")
        pred = self.predict(X, tasks=list(labeled))
        scores = {}
        for task in self.tasks_:
            if task not in labeled:
                continue
            index, gold = labeled[task]
            guess = [pred[task][i] for i in index.tolist()]
            labels = {t for s in gold for t in s} | {t for s in guess for t in s}
            spans = detect_scheme(gold, sorted(labels)) is not None
            scores[task] = float(entity_f1(gold, guess) if spans else accuracy(gold, guess))
        return scores

    def score(self, X: TokenLists, y: Mapping[str, Sequence[Sequence[str] | None]]) -> float:
        """The mean over the tasks of :meth:`score_tasks`."""
        scores = self.score_tasks(X, y)
        return float(np.mean(list(scores.values())))

    def tag_sents(self, sentences: Sequence[Sequence[str]]
                  ) -> list[list[tuple[str, dict[str, str]]]]:
        """``[[(word, {task: label, ...}), ...], ...]``."""
        pred = self.predict(sentences)
        return [[(w, {t: pred[t][i][j] for t in pred}) for j, w in enumerate(s)]
                for i, s in enumerate(sentences)]

    def tag(self, tokens: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
        return self.tag_sents([list(tokens)])[0]

    def tag_text(self, text: str, segmenter=None, task: str | None = None) -> list:
        """Split raw ``text`` and tag it for ``task`` (default: the last task of the
        cascade): :meth:`hmmtl.TextTagging.tag_text`, one task's tags per token."""
        check_is_fitted(self, "labelers_")
        task = self.tasks_[-1] if task is None else task
        self._wanted([task])
        return _OneTask(self, task).tag_text(text, segmenter)

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "labelers_")
        children = {f"task{i}": self.labelers_[t] for i, t in enumerate(self.tasks_)}
        children.update({f"hmm{i}": h for i, h in enumerate(self.hmms_)})
        arrays, nested = serialize.pack_nested(children)
        params = self.get_params(deep=False)
        params["hmm"] = "fitted" if self.hmms_ else None
        params["tasks"] = None if params["tasks"] is None else list(params["tasks"])
        params["representations"] = list(self.representations_)
        params["random_state"] = params["random_state"] if isinstance(
            params["random_state"], (int, type(None))) else None
        params["labeler_params"] = None if params["labeler_params"] is None else dict(
            params["labeler_params"])
        meta = {"params": params, "children": nested, "tasks": list(self.tasks_),
                "inputs": {t: list(v) for t, v in self.inputs_.items()},
                "n_hmms": len(self.hmms_)}
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        from ..crf import LinearChainCRF

        children = serialize.unpack_nested(arrays, meta["children"])
        tasks = [str(t) for t in meta["tasks"]]
        hmms = [children[f"hmm{i}"] for i in range(int(meta["n_hmms"]))]
        params = dict(meta["params"])
        params["hmm"] = hmms or None
        params["representations"] = tuple(params["representations"])
        model = cls(**params)
        model.tasks_ = tasks
        model.hmms_ = hmms
        model.representations_ = tuple(params["representations"])
        model.labelers_ = {}
        for i, t in enumerate(tasks):
            child = children.get(f"task{i}")
            if not isinstance(child, LinearChainCRF):
                raise serialize.ModelFileError(f"the labeler of task {t!r} is a "
                                               f"{type(child).__name__}, not a LinearChainCRF")
            model.labelers_[t] = child
        model.inputs_ = {str(t): [str(u) for u in v] for t, v in meta["inputs"].items()}
        if set(model.inputs_) != set(tasks) or any(
                u not in tasks[:tasks.index(t)] for t in tasks for u in model.inputs_[t]):
            raise serialize.ModelFileError(f"the model file's task inputs {model.inputs_} do "
                                           f"not follow its task order {tasks}")
        model.n_tasks_ = len(tasks)
        return model


class _OneTask(TextTagging):
    """A multi-task model seen as the labeler of one of its tasks (for ``tag_text``)."""

    def __init__(self, model, task):
        self.model, self.task = model, task
        self.segmenter_ = getattr(model, "segmenter_", None)

    def predict(self, X):
        return self.model.predict(X, tasks=[self.task])[self.task]
