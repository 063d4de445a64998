"""The multi-task HMM family as pure functions: parameters, additive statistics, E-step and
M-step of the HMM whose states emit the word and the label of every task a token carries
(:class:`~hmmtl.transfer.multitask_hmm.MultiTaskHMM` is its estimator).

It follows the protocol of :mod:`hmmtl.hmm.families` (``summarize``, ``init_params``,
``e_step``, ``m_step``, ``log_prior``, ``posteriors``, ``viterbi``), so the one EM driver
(:func:`hmmtl.hmm.run_em`) trains it on any executor.

References
----------
Ando & Zhang (2005) and Matsuzaki, Miyao & Tsujii (2005) for the sub-state initialization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._base import check_random_state
from ..data import RaggedBatch, Vocabulary, token_positions
# the additive-statistics base and the Dirichlet prior are shared with the HMM families
from ..hmm.families import (Priors, _Additive, _dirichlet_log_prior, normalize_rows, safe_log,
                            scatter_rows)
from ..hmm.inputs import encode_words

__all__ = ["TaskBatch", "TaskEncoder", "MultiTaskParams", "MultiTaskStats", "MultiTaskSummary",
           "MultiTaskFamily", "allocate_substates"]


@dataclass
class TaskBatch:
    """A :class:`~hmmtl.data.RaggedBatch` of words with the labels of several tasks.

    batch : RaggedBatch
    task_labels : int32 ndarray of shape (n_tokens, n_tasks)
        Label id of each token for each task, ``-1`` where not given.
    """

    batch: RaggedBatch
    task_labels: np.ndarray

    def __post_init__(self):
        self.task_labels = np.ascontiguousarray(self.task_labels, dtype=np.int32)
        if self.task_labels.ndim != 2 or self.task_labels.shape[0] != self.batch.n_tokens:
            raise ValueError(f"task_labels must have shape (n_tokens={self.batch.n_tokens}, "
                             f"n_tasks), got {self.task_labels.shape}")

    @property
    def n_tokens(self) -> int:
        return self.batch.n_tokens

    @property
    def n_sequences(self) -> int:
        return self.batch.n_sequences

    def select(self, index) -> TaskBatch:
        index = np.asarray(index, dtype=np.int64)
        pos, _ = token_positions(self.batch.offsets, index)
        return TaskBatch(self.batch.select(index), self.task_labels[pos])


@dataclass(frozen=True)
class TaskEncoder:
    """Raw sentences -> :class:`TaskBatch`: words through the
    vocabulary, each task's labels through its label set (-1 where not given)."""

    vocabulary: Vocabulary
    labelsets: tuple   # (task, LabelSet) pairs, in task order

    def __call__(self, part):
        ids, offsets = encode_words(self.vocabulary, part.tokens)
        labels = np.full((ids.shape[0], len(self.labelsets)), -1, dtype=np.int32)
        for t, (task, ls) in enumerate(self.labelsets):
            seqs = (part.labels or {}).get(task)
            if seqs is None:
                continue
            if len(seqs) != len(part.tokens):
                raise ValueError(f"task {task!r} has {len(seqs)} label sequences but there "
                                 f"are {len(part.tokens)} sentences; use None for a sentence "
                                 f"without labels")
            try:
                labels[:, t] = ls.encode_for(part.tokens, seqs)
            except ValueError as e:
                raise ValueError(f"task {task!r}: {e}") from None
        return TaskBatch(RaggedBatch(ids, offsets), labels)


class MultiTaskParams(NamedTuple):
    """start (K,), transition (K, K), emission (K, V) = p(w | z), and per task a (K, L_t)
    table p(y_t | z)."""

    start: np.ndarray
    transition: np.ndarray
    emission: np.ndarray
    labels: tuple


@dataclass(eq=False)
class MultiTaskStats(_Additive):
    """Expected counts of a multi-task HMM (additive): start (K,), transition (K, K),
    emission (K, V), labels (tuple of (K, L_t)), log-likelihood of the words and the given
    labels, tokens."""

    start: np.ndarray
    transition: np.ndarray
    emission: np.ndarray
    labels: tuple
    log_likelihood: float = 0.0
    n_tokens: int = 0


@dataclass(eq=False)
class MultiTaskSummary(_Additive):
    """Counts the multi-task initialization needs (additive).  With ``L0`` the labels of the
    seeding task: ``seed_words`` (V, L0) words under each seed label, ``unseeded_words`` (V,)
    words without one, ``seed_labels`` (L0,), ``co_occurrence`` (tuple per task of
    (L0, L_t)), ``solo_labels`` (tuple per task of (L_t,): labels on unseeded tokens),
    ``task_labels`` (tuple per task of (L_t,)), ``seed_start`` (L0,) and ``seed_bigrams``
    (L0, L0) over adjacent seeded tokens."""

    n_sequences: int
    n_tokens: int
    word_counts: np.ndarray
    unseeded_words: np.ndarray
    seed_words: np.ndarray
    seed_labels: np.ndarray
    co_occurrence: tuple
    solo_labels: tuple
    task_labels: tuple
    seed_start: np.ndarray
    seed_bigrams: np.ndarray


def allocate_substates(n_states: int, label_counts: np.ndarray) -> np.ndarray:
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


@dataclass(frozen=True)
class MultiTaskFamily:
    """HMMs whose states emit the word and the label of every task a token carries:
    ``p(w, y | z) = p(w | z) prod_t p(y_t | z)``; labels not given are summed out.

    Parameters
    ----------
    n_states, n_features : int
    n_labels : tuple of int
        Labels of each task.
    seed_task : int or None
        Index of the task whose labels seed the states (see :meth:`init_params`); None for
        a random start.
    init_noise : float
        Relative size of the random jitter between sub-states.
    """

    n_states: int
    n_features: int
    n_labels: tuple
    seed_task: int | None = None
    init_noise: float = 0.1

    needs_em_with_labels = True

    # ------------------------------------------------------------------ initialization
    def summarize(self, data: TaskBatch) -> MultiTaskSummary:
        V = self.n_features
        ids = data.batch.ids
        offsets = data.batch.offsets
        n = data.n_tokens
        words = np.bincount(ids, minlength=V).astype(np.float64)
        s = self.seed_task
        L0 = self.n_labels[s] if s is not None else 0
        lab0 = data.task_labels[:, s] if s is not None else np.full(n, -1, np.int32)
        has = lab0 >= 0
        unseeded = np.bincount(ids[~has], minlength=V).astype(np.float64)
        seed_words = np.zeros((V, L0))
        np.add.at(seed_words, (ids[has], lab0[has]), 1.0)
        seed_labels = np.bincount(lab0[has], minlength=L0).astype(np.float64)
        cooc, solo, totals = [], [], []
        for t, Lt in enumerate(self.n_labels):
            lab = data.task_labels[:, t]
            both = has & (lab >= 0)
            c = np.zeros((L0, Lt))
            np.add.at(c, (lab0[both], lab[both]), 1.0)
            cooc.append(c)
            solo.append(np.bincount(lab[~has & (lab >= 0)], minlength=Lt).astype(np.float64))
            totals.append(np.bincount(lab[lab >= 0], minlength=Lt).astype(np.float64))
        starts = offsets[:-1][np.diff(offsets) > 0]
        first = lab0[starts]
        seed_start = np.bincount(first[first >= 0], minlength=L0).astype(np.float64)
        prev = np.ones(n, dtype=bool)
        prev[starts] = False  # token t has a predecessor in its sentence
        pos = np.flatnonzero(prev)
        a, b = lab0[pos - 1], lab0[pos]
        ok = (a >= 0) & (b >= 0)
        bigrams = np.zeros((L0, L0))
        np.add.at(bigrams, (a[ok], b[ok]), 1.0)
        return MultiTaskSummary(data.n_sequences, n, words, unseeded, seed_words, seed_labels,
                                tuple(cooc), tuple(solo), tuple(totals), seed_start, bigrams)

    def state_labels(self, summary: MultiTaskSummary) -> np.ndarray | None:
        """Seed label of each state (None without a seeding task)."""
        if self.seed_task is None:
            return None
        return allocate_substates(self.n_states, summary.seed_labels).astype(np.int32)

    def init_params(self, summary: MultiTaskSummary, random_state=None, *, init=None,
                    priors: Priors = Priors()) -> MultiTaskParams:
        """The states split among the labels of the seeding task (every label at least one
        state, frequent labels more); first parameters are relative counts over the seeded
        tokens, each state inheriting the counts of the label it refines split evenly among
        that label's sub-states, times random jitter (unseeded tokens spread evenly over all
        states).  Without a seeding task: random parameters, emissions at the unigram
        distribution times jitter."""
        rng = check_random_state(random_state)
        K, V = self.n_states, self.n_features

        def jitter(shape):
            return 1.0 + self.init_noise * rng.uniform(-1.0, 1.0, size=shape)

        if self.seed_task is None:
            start = normalize_rows(rng.dirichlet(np.ones(K)) * jitter(K))
            trans = normalize_rows(rng.dirichlet(np.ones(K), size=K))
            emission = normalize_rows(summary.word_counts[None, :] * jitter((K, V))
                                      + priors.emission)
            labels = tuple(normalize_rows(rng.dirichlet(np.ones(Lt), size=K))
                           for Lt in self.n_labels)
            return MultiTaskParams(start, trans, emission, labels)
        seeded = self.state_labels(summary)
        assert seeded is not None  # a seeding task
        state_labels = seeded.astype(np.int64)
        L0 = self.n_labels[self.seed_task]
        n_sub = np.bincount(state_labels, minlength=L0).astype(np.float64)
        sub = n_sub[state_labels]
        emit = (summary.seed_words[:, state_labels] / sub).T + summary.unseeded_words[None, :] / K
        emission = normalize_rows(emit * jitter((K, V)) + priors.emission)
        label_probs = []
        for t, Lt in enumerate(self.n_labels):
            if t == self.seed_task:
                # each sub-state emits its own label: the label's count split among its
                # sub-states, plus the pseudocount (exactly one-hot when it is zero)
                c = np.zeros((K, Lt))
                c[np.arange(K), state_labels] = summary.task_labels[t][state_labels] / sub
                label_probs.append(normalize_rows(c + priors.label))
                continue
            c = summary.co_occurrence[t][state_labels] / sub[:, None] \
                + summary.solo_labels[t][None, :] / K
            label_probs.append(normalize_rows(c * jitter((K, Lt)) + priors.label))
        start = normalize_rows(summary.seed_start[state_labels] / sub * jitter(K) + priors.start)
        trans = summary.seed_bigrams[state_labels][:, state_labels] / np.outer(sub, sub)
        trans = normalize_rows(trans * jitter((K, K)) + priors.transition)
        return MultiTaskParams(start, trans, emission, tuple(label_probs))

    def online_start(self, params, n_tokens, n_sequences):
        return None

    # ------------------------------------------------------------------ E-step / M-step
    def unary(self, params: MultiTaskParams, data: TaskBatch, *, skip: int | None = None):
        """Per-token log-potentials ``log p(w|z) + sum_t log p(y_t|z)`` over the given labels
        (task ``skip`` left out), shape (n_tokens, K)."""
        unary = np.ascontiguousarray(safe_log(params.emission).T[data.batch.ids])
        for t, table in enumerate(params.labels):
            if t == skip:
                continue
            lab = data.task_labels[:, t]
            mask = lab >= 0
            if mask.any():
                unary[mask] += safe_log(table).T[lab[mask]]
        return unary

    def e_step(self, params: MultiTaskParams, data: TaskBatch) -> MultiTaskStats:
        """Expected counts of states, transitions, words and given labels."""
        from ..inference import forward_backward

        K = self.n_states
        offsets = data.batch.offsets
        fb = forward_backward(self.unary(params, data), safe_log(params.transition), offsets,
                              start=safe_log(params.start))
        if not np.all(np.isfinite(fb.log_z)):
            bad = int(np.flatnonzero(~np.isfinite(fb.log_z))[0])
            raise FloatingPointError(
                f"sentence {bad} has probability zero under the model (its labels "
                f"contradict each other under zero-probability parameters); use positive "
                f"label_prior / emission_prior")
        gamma = fb.marginals
        firsts = offsets[:-1][np.diff(offsets) > 0]
        start = gamma[firsts].sum(axis=0)
        emission = np.zeros((self.n_features, K))
        scatter_rows(data.batch.ids, gamma, emission)
        labels = []
        for t, Lt in enumerate(self.n_labels):
            acc = np.zeros((Lt, K))
            scatter_rows(data.task_labels[:, t], gamma, acc)
            labels.append(np.ascontiguousarray(acc.T))
        return MultiTaskStats(start, fb.pair_counts, np.ascontiguousarray(emission.T),
                              tuple(labels), float(fb.log_z.sum()), data.n_tokens)

    def m_step(self, stats: MultiTaskStats, priors: Priors = Priors()) -> MultiTaskParams:
        return MultiTaskParams(normalize_rows(stats.start + priors.start),
                               normalize_rows(stats.transition + priors.transition),
                               normalize_rows(stats.emission + priors.emission),
                               tuple(normalize_rows(c + priors.label) for c in stats.labels))

    def log_prior(self, params: MultiTaskParams, priors: Priors = Priors()) -> float:
        out = (_dirichlet_log_prior(params.start, priors.start)
               + _dirichlet_log_prior(params.transition, priors.transition)
               + _dirichlet_log_prior(params.emission, priors.emission))
        for table in params.labels:
            out += _dirichlet_log_prior(table, priors.label)
        return float(out)

    # ------------------------------------------------------------------ inference
    def posteriors(self, params: MultiTaskParams, data: TaskBatch):
        """Posterior state marginals (n_tokens, K) and ``log p(x, y_given)`` per sentence."""
        from ..inference import forward_backward

        fb = forward_backward(self.unary(params, data), safe_log(params.transition),
                              data.batch.offsets, start=safe_log(params.start),
                              compute_pairs=False)
        return fb.marginals, fb.log_z

    def viterbi(self, params: MultiTaskParams, data: TaskBatch, *, task: int | None = None):
        """Best state path and its score; with ``task``, the best joint path of states and
        that task's labels (``max_y log p(y | z)`` folded into each state's potential,
        given labels of the task kept)."""
        from ..inference import viterbi

        unary = self.unary(params, data, skip=task)
        if task is not None:
            log_label = safe_log(params.labels[task])
            best = log_label.max(axis=1)
            unary += best[None, :]
            own = data.task_labels[:, task]
            mask = own >= 0
            if mask.any():
                unary[mask] += log_label.T[own[mask]] - best
        r = viterbi(unary, safe_log(params.transition), data.batch.offsets,
                    start=safe_log(params.start))
        return r.path, r.score
