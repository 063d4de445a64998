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
train-hmm``) and ``clusters`` (fitted Brown clusters), their per-token features are computed
once per batch and handed to every task's labeler.  Input columns of the file (``columns``:
the POS column of CoNLL-2000, the POS and chunk columns of CoNLL-2003) are read by every task
beside the predicted labels of the earlier tasks (a task never reads the column of its own
name or of a later task); the model then needs them to tag, as a chunker trained on a POS
column does.  A task may be labeled by a model of its own (``task_models``, e.g. the
:class:`~hmmtl.ner.NamedEntityRecognizer` for ``ner``), which gets the file's columns and the
earlier tasks' predictions as its input columns, the documents, and the unlabeled text.

References: Wolpert (1992), *Stacked generalization*; Sutton & McCallum (2005), *Joint
parsing and semantic role labeling* (cascades of CRFs); Collobert et al. (2011), *Natural
language processing (almost) from scratch* (POS, chunks and entities from one model).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import serialize
from .._base import BaseEstimator, check_is_fitted, check_random_state
from .._text_api import TextTagging
from ..crf.features import share_featurizers
from ..crf.labelers import converted_for
from ..data import check_label_lists, check_sentences, check_strings, factorize, flatten

if TYPE_CHECKING:

    from .._typing import TokenLists

__all__ = ["MultiTaskTagger", "TASK_ORDER", "cross_validated_predictions"]

#: the order of the cascade for the tasks it knows; other tasks follow in the order given
TASK_ORDER = ("pos", "chunk", "ner")
#: prefix of the extra-feature name holding an earlier task's predicted labels
_INPUT = "task:"
#: prefix of the extra-feature name holding an input column of the file
_FILE = "file:"
#: the shared representations a CRF task may read (``shared_features``)
_SHARED_KINDS = ("clusters", "hmm")
#: L-BFGS iterations of a CRF task that reads shared representations, with
#: ``max_iterations="auto"`` (the tasks' own default is 150).  Chosen on dev (the held-out
#: fifth of CoNLL-2000 train, POS + chunks, the file's POS column, 500 Brown clusters and a
#: 64-state HMM): chunk F1 94.22-94.30 from 90 iterations on, 94.28 at 130 as at 150, POS
#: accuracy 98.25 at both; with ``cluster_offsets=(0,)`` the product then trains in less
#: time than the single-task POS tagger and chunker together
SHARED_MAX_ITERATIONS = 130


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
    cascade : "auto", bool or dict of str to list of str
        False: every task is labeled from the words (and shared features) alone, the tasks
        sharing only the featurization; True: every task reads the predictions of all the
        tasks before it; a mapping names the earlier tasks each task reads (``{"chunk":
        ["pos"]}``; a task it does not name reads none).  ``"auto"`` (default): every task
        reads the predictions of the earlier tasks whose column the data does not give
        (``columns``): where the file gives the POS column, the chunker reads it and not
        the POS task's predictions as well -- chosen on dev: the product's chunker reading
        both lost 0.09 F1 on the held-out fifth of CoNLL-2000 and 0.14 on eng.testa
        (benchmarks/results/multitask_product.md); on raw text, the predictions are the
        only POS a chunker gets.
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
    columns : sequence of str or mapping of str to int, optional
        Input columns of the data (``fit(columns=...)``, ``predict(columns=...)``) that the
        tasks read as features at offsets -1, 0, +1, beside the earlier tasks' predictions:
        a task reads every column except the one named after it and those named after a
        later task.  A mapping also gives each column's 0-based index in a CoNLL file.
    clusters : BrownClusters, optional
        Fitted Brown clusters whose path prefixes (``cluster_prefixes``) are features of
        every task, computed once per batch.
    cluster_prefixes : sequence of int
    shared_features : "auto", "all" or dict of str to list of str
        Which of the shared representations (``"clusters"``, ``"hmm"``) each CRF task
        reads.  ``"auto"`` (default): every task reads both, except a chunking task, which
        reads the HMM only (chosen on dev: the chunker of the held-out fifth of CoNLL-2000
        train 94.13 -> 94.31 F1, of eng.testa 95.33 -> 95.41, both with the file's POS
        column; benchmarks/results/multitask_product.md); ``"all"``: every task both; a
        mapping names them per task (a task it leaves out reads both).
    task_models : dict of str to estimator, optional
        An unfitted model for a task in place of its CRF (e.g. ``{"ner":
        NamedEntityRecognizer(...)}``): a model whose ``fit(X, y, columns=, documents=,
        unlabeled=)`` and ``predict(X, columns=, documents=)`` take input columns (the
        ``columns`` it reads are set to the file's columns and the earlier tasks'
        predictions, ``task:pos`` ...), without ``clusters`` it gets the model's.  Such a
        task must be the last of the cascade.
    fold_labeler_params : dict, optional
        Overrides of the labeler parameters for the fold models of the cross-validated
        predictions (e.g. ``{"max_iterations": 50}``: cheaper fold models), or ``{task:
        {...}}`` per task.
    max_iterations : "auto", int or None
        L-BFGS iterations of every CRF task (``labeler_params`` and ``fold_labeler_params``
        override it).  ``"auto"`` (default): :data:`SHARED_MAX_ITERATIONS` (130) for a task
        that reads shared representations (``hmm``, ``clusters``), the task's default (150)
        for the others; None: the task's default.  Chosen on dev: the held-out fifth of
        CoNLL-2000 train scores the same at 130 as at 150 iterations (POS 98.25, chunk F1
        94.28), and with ``cluster_offsets`` the product trains faster than the single-task
        POS tagger and chunker together (80-82 s against 84-87 s, 98 s before; one thread).
    cluster_offsets : int, sequence of int or None
        Offsets at which the CRF tasks read the Brown cluster features (as
        :class:`~hmmtl.LinearChainCRF`'s ``extra_window``; their other extra features keep
        the task's offsets); None: the task's ``extra_window`` (-1, 0, +1).  Default ``(0,)``,
        the token's own clusters, chosen on dev: POS accuracy on the held-out fifth of
        CoNLL-2000 train 98.25 -> 98.32 at 150 iterations, 11% fewer weights.
        ``labeler_params`` with an ``extra_window`` overrides it.

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
    clusters_ : BrownClusters or None
    input_columns_ : dict of str to int or None
        The input columns of the data the model reads (name -> file column index, if
        known); ``predict`` needs them.
    file_inputs_ : dict of str to list of str
        The input columns each task reads.
    shared_inputs_ : dict of str to list of str
        The shared features (``brown``, the HMM's feature names) each CRF task reads.
    uses_documents_ : bool
        Whether a task's predictions use document boundaries (``predict(documents=...)``).
    fit_times_ : dict of str to float
        Seconds ``fit`` spent on the shared features, each task's labeler, and each task's
        predictions for the later tasks (the fold models).

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

    #: fitted HMMs and clusters given as ``hmm`` / ``clusters`` are used as they are, also
    #: by a clone
    _fitted_params = ("hmm", "clusters")

    def __init__(self, tasks=None, n_folds=3, cascade="auto", labeler_params=None, hmm=None,
                 representations=("type",), top_k=4, notation="auto", random_state=None,
                 verbose=False, columns=None, clusters=None, cluster_prefixes=(4, 6, 10, 20),
                 task_models=None, fold_labeler_params=None, shared_features="auto",
                 max_iterations="auto", cluster_offsets=(0,)):
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
        self.columns = columns
        self.clusters = clusters
        self.cluster_prefixes = cluster_prefixes
        self.task_models = task_models
        self.fold_labeler_params = fold_labeler_params
        self.shared_features = shared_features
        self.max_iterations = max_iterations
        self.cluster_offsets = cluster_offsets

    # ------------------------------------------------------------------ building
    def _per_task(self, given, task: str, name: str) -> dict:
        given = dict(given or {})
        if any(isinstance(v, Mapping) for v in given.values()):
            unknown = sorted(set(given) - set(self.tasks_))
            if unknown:
                raise ValueError(f"{name} has per-task entries {unknown} for no task of "
                                 f"this model (tasks {self.tasks_})")
            given = dict(given.get(task) or {})
        return given

    def _params_of(self, task: str, seed, fold: bool = False, extra_names=()) -> dict:
        """The parameters of the CRF of ``task`` (``extra_names``: the extra features it
        reads)."""
        from ..crf import TASK_DEFAULTS

        params: dict[str, Any] = {"task": task if task in TASK_DEFAULTS else "auto",
                                  "notation": self.notation, "random_state": seed}
        iterations = self._max_iterations_of(task)
        if iterations is not None:
            params["max_iterations"] = iterations
        if "brown" in extra_names and self.cluster_offsets is not None:
            params["extra_window"] = self._extra_windows(params["task"], extra_names)
        params.update(self._per_task(self.labeler_params, task, "labeler_params"))
        if fold:
            params.update(self._per_task(self.fold_labeler_params, task,
                                         "fold_labeler_params"))
        return params

    def _max_iterations_of(self, task: str) -> int | None:
        """``max_iterations`` of the CRF of ``task`` (None: the task's default)."""
        given = self.max_iterations
        if isinstance(given, str) and given == "auto":
            reads_shared = bool(self.__dict__.get("shared_inputs_", {}).get(task))
            return SHARED_MAX_ITERATIONS if reads_shared else None
        if given is None:
            return None
        if isinstance(given, bool) or not isinstance(given, (int, np.integer)) or given < 1:
            raise ValueError(f"max_iterations must be 'auto', None or an int >= 1, got "
                             f"{given!r}")
        return int(given)

    def _extra_windows(self, kind: str, extra_names) -> dict:
        """``extra_window`` of a CRF reading ``extra_names``: the Brown clusters at
        ``cluster_offsets``, the other extras at the task's offsets."""
        from ..crf import TASK_DEFAULTS
        from ..crf.features import normalize_window

        clusters = normalize_window(self.cluster_offsets, "cluster_offsets")
        # every task's default is the same; a task told by its tags ("auto") gets it too
        base = TASK_DEFAULTS[kind if kind in TASK_DEFAULTS else "pos"]["extra_window"]
        return {name: (clusters if name == "brown" else tuple(base)) for name in extra_names}

    def _labeler(self, task: str, seed, fold: bool = False, extra_names=()):
        from ..crf import LinearChainCRF

        return LinearChainCRF(**self._params_of(task, seed, fold, extra_names))

    def _given_hmms(self) -> list:
        from .pipeline import given_hmms

        return given_hmms(self.hmm)

    def _given_task_models(self) -> dict:
        models = dict(self.task_models or {})
        for task, model in models.items():
            if not (hasattr(model, "fit") and hasattr(model, "predict")):
                raise TypeError(f"task_models[{task!r}] must be an estimator with fit and "
                                f"predict, got {type(model).__name__}")
        return models

    def _task_model(self, task: str, file_columns: Sequence[str], earlier: Sequence[str],
                    seed):
        """The unfitted model of a task of ``task_models``, reading the file's columns and
        the earlier tasks' predictions as its input columns."""
        from sklearn.base import clone

        model = clone(self.task_models[task])
        params = model.get_params(deep=False)
        update: dict[str, Any] = {}
        if "columns" in params:
            update["columns"] = {**{c: self.input_columns_[c] for c in file_columns},
                                 **{_INPUT + u: None for u in earlier}}
        elif file_columns or earlier:
            raise TypeError(f"task_models[{task!r}] ({type(model).__name__}) takes no "
                            f"columns parameter: it cannot read "
                            f"{list(file_columns) + [_INPUT + u for u in earlier]}")
        if "clusters" in params and params["clusters"] is None and self.clusters_ is not None:
            update["clusters"] = self.clusters_
        if "random_state" in params and params["random_state"] is None:
            update["random_state"] = seed
        return model.set_params(**update)

    def _shared_reads(self, task: str, labels, keys) -> list:
        """The keys of the shared features (``keys``) that the CRF of ``task`` reads (see
        the ``shared_features`` parameter)."""
        from ..crf import TASK_DEFAULTS, detect_task

        given = self.shared_features
        if isinstance(given, Mapping):
            kinds = set(given.get(task, _SHARED_KINDS))
            unknown = sorted(kinds - set(_SHARED_KINDS))
            if unknown:
                raise ValueError(f"shared_features[{task!r}] names {unknown}; expected some "
                                 f"of {list(_SHARED_KINDS)}")
        elif given == "all":
            kinds = set(_SHARED_KINDS)
        elif given == "auto":
            kind = self._params_of(task, None)["task"]
            if kind not in TASK_DEFAULTS:  # told by the tags, as the CRF will tell it
                from ..data import factorize

                tags, ids = factorize(flatten(labels)[0])
                kind = detect_task(tags, np.bincount(ids, minlength=len(tags)))
            kinds = {"hmm"} if kind == "chunk" else set(_SHARED_KINDS)
        else:
            raise ValueError(f"shared_features must be 'auto', 'all' or a mapping of task to "
                             f"{list(_SHARED_KINDS)}, got {given!r}")
        return [k for k in keys if ("clusters" if k == "brown" else "hmm") in kinds]

    def _shared_features(self, sentences, flat=None, offsets=None, types=None,
                         typed: bool = False) -> dict:
        """The features every task shares (HMM representations, Brown cluster path
        prefixes), computed once per batch (``flat``, ``offsets``: the tokens, checked;
        ``types``: their distinct tokens, :func:`~hmmtl.data.factorize`).  ``typed``: those
        that are functions of the word type as :class:`~hmmtl.crf.features.TypeValues`
        (for the CRFs' prediction, which reads them per word type where it can)."""
        extra: dict[str, Any] = {}
        if flat is None or offsets is None:
            flat, offsets = flatten(sentences)
            check_strings(flat, offsets, "X")
        if types is None:
            types = factorize(flat)
        if self.hmms_:
            from .pipeline import TextBatch, _EnsembleFeatures

            # one feature maker per fitted model: the HMMs' type-level tables computed
            # once, then gathered for every batch
            # (the key holds the HMMs themselves: compared by identity)
            key = (tuple(self.hmms_), tuple(self.representations_), self.top_k)
            made = self.__dict__.get("_hmm_features")
            if made is None or made[0] != key:
                made = (key, _EnsembleFeatures(self.hmms_, self.representations_, self.top_k))
                self.__dict__["_hmm_features"] = made
            extra.update(made[1](TextBatch.with_types(sentences, flat, offsets, types),
                                 typed))
        if self.clusters_ is not None:
            distinct, ids = types
            table = self.clusters_.transform_types(distinct, tuple(self.cluster_prefixes))
            if typed:
                from ..crf.features import TypeValues

                extra["brown"] = TypeValues(table, ids)
            else:
                extra["brown"] = table[ids]
        return extra

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

    def _check_columns(self, X, columns, wanted) -> dict:
        """The input columns ``wanted`` of ``columns``, checked against ``X``."""
        columns = dict(columns or {})
        missing = [c for c in wanted if columns.get(c) is None]
        if missing:
            raise ValueError(f"this model reads the input column(s) {missing} (columns="
                             f"{sorted(wanted)}); pass columns={{{missing[0]!r}: [...]}} with "
                             f"one tag per token of X")
        out = {}
        for name in wanted:
            col = [list(s) for s in columns[name]]
            if len(col) != len(X) or any(len(a) != len(b) for a, b in zip(col, X)):
                raise ValueError(f"column {name!r} must hold one tag per token of X "
                                 f"({len(X)} sentences of {sum(map(len, X))} tokens), got "
                                 f"{len(col)} sequences of {sum(map(len, col))} tags")
            out[name] = col
        return out

    def _cascade_inputs(self, order, file_columns) -> dict:
        """The earlier tasks whose predictions each task reads (``cascade``; for ``"auto"``,
        those whose column the data does not give among ``file_columns``)."""
        if isinstance(self.cascade, Mapping):
            unknown = sorted(set(self.cascade) - set(order))
            if unknown:
                raise ValueError(f"cascade names {unknown}, which are no task of y ({order})")
            out = {}
            for k, task in enumerate(order):
                given = [str(u) for u in (self.cascade.get(task) or ())]
                bad = [u for u in given if u not in order[:k]]
                if bad:
                    raise ValueError(f"cascade[{task!r}] = {given}: {bad} are not tasks before "
                                     f"{task!r} in the cascade order {order}")
                out[task] = [u for u in order[:k] if u in given]
            return out
        if isinstance(self.cascade, str):
            if self.cascade != "auto":
                raise ValueError(f"cascade must be 'auto', True, False or a mapping of task "
                                 f"to earlier tasks, got {self.cascade!r}")
            return {task: [u for u in order[:k] if u not in file_columns]
                    for k, task in enumerate(order)}
        return {task: (order[:k] if self.cascade else []) for k, task in enumerate(order)}

    def _file_inputs(self, order) -> dict:
        """The file's columns each task reads: all but its own and the later tasks'."""
        out = {}
        for k, task in enumerate(order):
            later = set(order[k:])
            out[task] = [c for c in self.input_columns_ if c not in later]
        return out

    # ------------------------------------------------------------------ API
    def fit(self, X: TokenLists, y: Mapping[str, Sequence[Sequence[str] | None]],
            columns: Mapping[str, Sequence[Sequence[str]]] | None = None,
            documents: Sequence | None = None,
            unlabeled: TokenLists | None = None) -> MultiTaskTagger:
        """Train every task's labeler, in cascade order.

        Parameters
        ----------
        X : list of list of str
        y : dict of str to list of (list of str or None)
            For each task, the labels of every sentence of ``X``, ``None`` for a sentence
            without that task's labels (a task from another corpus).
        columns : dict of str to list of list of str, optional
            The input columns of ``X`` named by the ``columns`` parameter (one tag per
            token of every sentence).
        documents : sequence, optional
            Document id of each sentence, for a task model that uses documents.
        unlabeled : list of list of str, optional
            Unlabeled text for the task models that take it (e.g. the recognizer's lists of
            the entities found in text).

        Returns
        -------
        self
        """
        self.__dict__.pop("_hmm_features", None)  # the kept tables of the HMMs before
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
        from ..io.columns import check_input_columns as _check_columns
        from .pipeline import check_representations

        task_models = self._given_task_models()
        unknown = sorted(set(task_models) - set(order))
        if unknown:
            raise ValueError(f"task_models has models of {unknown}, which are no task of y "
                             f"({order})")
        reads = self._cascade_inputs(order, _check_columns(self.columns))
        read = {u for v in reads.values() for u in v}
        if any(t in task_models for t in read):
            raise ValueError(f"a task of task_models must be the last of the cascade "
                             f"({order}): its predictions are no input of other tasks")
        self.tasks_ = order
        self.representations_ = check_representations(self.representations)
        self.hmms_ = self._given_hmms()
        self.clusters_ = self.clusters
        if self.clusters_ is not None:
            check_is_fitted(self.clusters_)
        given = _check_columns(self.columns)
        self.file_inputs_ = {}
        self.input_columns_ = given
        self.file_inputs_ = self._file_inputs(order)
        self.input_columns_ = {c: given[c] for c in given
                               if any(c in v for v in self.file_inputs_.values())}
        file_columns = self._check_columns(X, columns, self.input_columns_)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(2**31 - 1))
        clock = time.perf_counter()
        shared = self._shared_features(X, flat)
        self.fit_times_ = {"shared features": time.perf_counter() - clock}
        # per task: its label sequences for every sentence (None where absent), and, as
        # the cascade goes, the labels the later tasks read (cross-validated predictions)
        inputs: dict[str, list] = {}
        self.labelers_, self.inputs_ = {}, {}
        self.shared_inputs_ = {}
        self.uses_documents_ = False
        for task in order:
            clock = time.perf_counter()
            index, labels = labeled[task]
            earlier = reads[task]
            sub_x = [X[i] for i in index.tolist()]
            if task in task_models:
                labeler = self._task_model(task, self.file_inputs_[task], earlier, seed)
                cols = {c: [file_columns[c][i] for i in index.tolist()]
                        for c in self.file_inputs_[task]}
                cols.update({_INPUT + u: [inputs[u][i] for i in index.tolist()]
                             for u in earlier})
                if self.verbose:
                    print(f"[{task}] {type(labeler).__name__} on {len(index)} sentences"
                          + (f", reading {', '.join(cols)}" if cols else ""))
                labeler.fit(sub_x, labels, columns=cols or None,
                            documents=None if documents is None else
                            [documents[i] for i in index.tolist()], unlabeled=unlabeled)
                self.uses_documents_ |= bool(getattr(labeler, "uses_documents_", False))
            else:
                self.shared_inputs_[task] = self._shared_reads(task, labels, list(shared))
                extra = {k: shared[k] for k in self.shared_inputs_[task]}
                extra.update({_FILE + c: file_columns[c] for c in self.file_inputs_[task]})
                extra.update({_INPUT + u: inputs[u] for u in earlier})
                labeler = self._labeler(task, seed, extra_names=list(extra))
                if self.verbose:
                    print(f"[{task}] {type(labeler).__name__} on {len(index)} sentences"
                          + (f", reading {', '.join(extra)}" if extra else ""))
                labeler.fit(sub_x, labels, extra=_subset_extra(extra, index, offsets) or None)
                if task in read:
                    self.fit_times_[task] = time.perf_counter() - clock
                    clock = time.perf_counter()
                    inputs[task] = self._inputs_for_later(task, labeler, X, extra, offsets,
                                                          index, labels, n_folds, rng, seed)
                    self.fit_times_[f"{task} predictions for later tasks"] = \
                        time.perf_counter() - clock
                    clock = time.perf_counter()
            self.fit_times_[task] = self.fit_times_.get(task, 0.0) + time.perf_counter() - clock
            self.labelers_[task] = labeler
            self.inputs_[task] = list(earlier)
        self.n_tasks_ = len(order)
        share_featurizers(self._feature_spaces())
        return self

    def _feature_spaces(self) -> list:
        """The feature spaces of every CRF of the tasks (those of a task's recognizer too)."""
        spaces = []
        for labeler in self.labelers_.values():
            if hasattr(labeler, "feature_space_"):
                spaces.append(labeler.feature_space_)
            elif hasattr(labeler, "_feature_spaces"):
                spaces.extend(labeler._feature_spaces())
        return spaces

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
        names = list(extra or {})
        pred = cross_validated_predictions(lambda: self._labeler(task, seed, fold=True,
                                                                 extra_names=names), sub_x,
                                           list(labels), folds,
                                           _subset_extra(extra, index, offsets))
        for i, p in zip(index.tolist(), pred):
            out[i] = p
        return out

    def predict(self, X: TokenLists, tasks: Sequence[str] | None = None,
                columns: Mapping[str, Sequence[Sequence[str]]] | None = None,
                documents: Sequence | None = None) -> dict[str, list[list[str]]]:
        """The labels of every task (or of ``tasks`` and the tasks they read).

        Parameters
        ----------
        X : list of list of str
        tasks : sequence of str, optional
        columns : dict of str to list of list of str, optional
            The input columns of :attr:`input_columns_` (needed when it is not empty).
        documents : sequence, optional
            Document id of each sentence (for a model that uses documents; without it all
            of ``X`` is one document).

        Returns
        -------
        dict of str to list of list of str
            Task -> one label list per sentence, in cascade order.
        """
        check_is_fitted(self, "labelers_")
        X = check_sentences(X, "X")
        wanted = self._wanted(tasks)
        if not X:
            return {t: [] for t in self.tasks_ if t in wanted}  # in cascade order
        flat, offsets = flatten(X)
        check_strings(flat, offsets, "X")
        reads = {c for t in wanted for c in self.file_inputs_[t]}
        file_columns = self._check_columns(X, columns, [c for c in self.input_columns_
                                                        if c in reads])
        # the distinct words, found once for the shared features and every CRF task
        types = factorize(flat)
        shared = self._shared_features(X, flat, offsets, types, typed=True) if any(
            t not in self._model_tasks() for t in wanted) else {}
        out: dict[str, list] = {}
        texts: list = []
        for task in self.tasks_:
            if task not in wanted:
                continue
            if task in self._model_tasks():
                cols = {c: file_columns[c] for c in self.file_inputs_[task]}
                cols.update({_INPUT + u: out[u] for u in self.inputs_[task]})
                out[task] = self.labelers_[task].predict(X, columns=cols or None,
                                                         documents=documents)
                continue
            extra = {k: shared[k] for k in self.shared_inputs_.get(task, shared)}
            extra.update({_FILE + c: file_columns[c] for c in self.file_inputs_[task]})
            extra.update({_INPUT + u: out[u] for u in self.inputs_[task]})
            labeler = self.labelers_[task]
            # the words converted once per notation and looked up once per featurizer
            out[task] = labeler.predict(converted_for(labeler, X, flat, offsets, texts, types),
                                        extra=extra or None)
        return {t: out[t] for t in self.tasks_ if t in out}

    def _model_tasks(self) -> set:
        """The tasks labeled by a model of ``task_models`` (not a LinearChainCRF)."""
        from ..crf import LinearChainCRF

        return {t for t, m in self.labelers_.items() if not isinstance(m, LinearChainCRF)}

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

    def score_tasks(self, X, y, columns=None, documents=None) -> dict:
        """The score of each task of ``y`` on the sentences that carry its labels: entity
        (chunk) F1 with conlleval semantics for span tags (BIO, BIOES ...), else token
        accuracy (``columns`` and ``documents`` as in :meth:`predict`).

        Returns
        -------
        dict of str to float
        """
        from ..io.schemes import detect_scheme
        from ..metrics import accuracy, entity_f1

        X = check_sentences(X, "X")
        _, offsets = flatten(X)
        labeled = self._check_y(X, y, offsets)
        unknown = sorted(set(labeled) - set(self.tasks_))
        if unknown:
            raise ValueError(f"y has labels of {unknown}, which this model does not label "
                             f"(tasks {self.tasks_})")
        pred = self.predict(X, tasks=list(labeled), columns=columns, documents=documents)
        scores = {}
        for task in self.tasks_:
            if task not in labeled:
                continue
            index, gold = labeled[task]
            guess = [pred[task][i] for i in index.tolist()]
            # chunk labels in any scheme (IOB1 gold against IOB2 tags too): entity F1
            spans = detect_scheme(gold) is not None and detect_scheme(guess) is not None
            scores[task] = float(entity_f1(gold, guess) if spans else accuracy(gold, guess))
        return scores

    def score(self, X: TokenLists, y: Mapping[str, Sequence[Sequence[str] | None]],
              columns=None, documents=None) -> float:
        """The mean over the tasks of :meth:`score_tasks`."""
        scores = self.score_tasks(X, y, columns, documents)
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
        if self.clusters_ is not None:
            children["clusters"] = self.clusters_
        arrays, nested = serialize.pack_nested(children)
        params = self.get_params(deep=False)
        params["hmm"] = "fitted" if self.hmms_ else None
        params["clusters"] = None      # the fitted clusters are a child
        params["task_models"] = None   # the fitted task models are the labelers
        params["tasks"] = None if params["tasks"] is None else list(params["tasks"])
        params["representations"] = list(self.representations_)
        params["cluster_prefixes"] = [int(p) for p in params["cluster_prefixes"]]
        if isinstance(params["cluster_offsets"], (int, np.integer)):
            params["cluster_offsets"] = int(params["cluster_offsets"])
        elif params["cluster_offsets"] is not None:
            params["cluster_offsets"] = [int(o) for o in params["cluster_offsets"]]
        if isinstance(params["max_iterations"], np.integer):
            params["max_iterations"] = int(params["max_iterations"])
        params["random_state"] = params["random_state"] if isinstance(
            params["random_state"], (int, type(None))) else None
        if isinstance(params["shared_features"], Mapping):
            params["shared_features"] = {t: list(v)
                                         for t, v in params["shared_features"].items()}
        if isinstance(params["cascade"], Mapping):
            params["cascade"] = {t: list(v) for t, v in params["cascade"].items()}
        for key in ("labeler_params", "fold_labeler_params"):
            params[key] = None if params[key] is None else dict(params[key])
        params["columns"] = None if params["columns"] is None else (
            dict(params["columns"]) if isinstance(params["columns"], Mapping)
            else [params["columns"]] if isinstance(params["columns"], str)
            else list(params["columns"]))
        meta = {"params": params, "children": nested, "tasks": list(self.tasks_),
                "inputs": {t: list(v) for t, v in self.inputs_.items()},
                "n_hmms": len(self.hmms_), "clusters": self.clusters_ is not None,
                "input_columns": dict(self.input_columns_),
                "file_inputs": {t: list(v) for t, v in self.file_inputs_.items()},
                "shared_inputs": {t: list(v) for t, v in self.shared_inputs_.items()},
                "uses_documents": bool(self.uses_documents_)}
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        missing = [k for k in ("input_columns", "file_inputs", "uses_documents", "clusters")
                   if k not in meta]
        if missing:
            raise serialize.ModelFileError(f"this multi-task model file lacks {missing}: it "
                                           f"was written by an earlier development version "
                                           f"of MultiTaskTagger; train it again")
        children = serialize.unpack_nested(arrays, meta["children"])
        tasks = [str(t) for t in meta["tasks"]]
        hmms = [children[f"hmm{i}"] for i in range(int(meta["n_hmms"]))]
        clusters = children.get("clusters") if meta["clusters"] else None
        params = dict(meta["params"])
        params["hmm"] = hmms or None
        params["clusters"] = clusters
        params["representations"] = tuple(params["representations"])
        params["cluster_prefixes"] = tuple(params["cluster_prefixes"])
        if isinstance(params.get("cluster_offsets"), list):
            params["cluster_offsets"] = tuple(params["cluster_offsets"])
        model = cls(**params)
        model.tasks_ = tasks
        model.hmms_ = hmms
        model.clusters_ = clusters
        model.representations_ = tuple(params["representations"])
        model.labelers_ = {}
        for i, t in enumerate(tasks):
            child = children.get(f"task{i}")
            if child is None or not hasattr(child, "predict"):
                raise serialize.ModelFileError(f"the labeler of task {t!r} is a "
                                               f"{type(child).__name__}, not a labeler")
            model.labelers_[t] = child
        model.inputs_ = {str(t): [str(u) for u in v] for t, v in meta["inputs"].items()}
        if set(model.inputs_) != set(tasks) or any(
                u not in tasks[:tasks.index(t)] for t in tasks for u in model.inputs_[t]):
            raise serialize.ModelFileError(f"the model file's task inputs {model.inputs_} do "
                                           f"not follow its task order {tasks}")
        model.input_columns_ = {str(k): (None if v is None else int(v))
                                for k, v in meta["input_columns"].items()}
        model.file_inputs_ = {str(t): [str(c) for c in v]
                              for t, v in meta["file_inputs"].items()}
        if set(model.file_inputs_) != set(tasks) or any(
                c not in model.input_columns_ for v in model.file_inputs_.values() for c in v):
            raise serialize.ModelFileError(f"the model file's input columns "
                                           f"{model.file_inputs_} are not among its columns "
                                           f"{sorted(model.input_columns_)}")
        model.uses_documents_ = bool(meta["uses_documents"])
        # a file of a version before shared_features has none: its CRF tasks read every
        # shared feature, as predict then does
        model.shared_inputs_ = {str(t): [str(k) for k in v] for t, v in
                                meta.get("shared_inputs", {}).items()}
        known = {f"hmm{i}" for i in range(len(hmms))} | ({"brown"} if clusters else set())
        unknown = sorted({k for v in model.shared_inputs_.values() for k in v
                          if k.split(".")[0] not in known})
        if set(model.shared_inputs_) - set(tasks) or unknown:
            raise serialize.ModelFileError(f"the model file's shared inputs "
                                           f"{model.shared_inputs_} name tasks or features "
                                           f"it does not have (tasks {tasks}, features of "
                                           f"{sorted(known)})")
        model.n_tasks_ = len(tasks)
        share_featurizers(model._feature_spaces())
        return model


class _OneTask(TextTagging):
    """A multi-task model seen as the labeler of one of its tasks (for ``tag_text``)."""

    def __init__(self, model, task):
        self.model, self.task = model, task
        self.segmenter_ = getattr(model, "segmenter_", None)

    def predict(self, X):
        return self.model.predict(X, tasks=[self.task])[self.task]
