"""HMM families as pure functions: parameters, additive statistics, E-step and M-step.

A *family* is a small frozen object holding what is fixed during a fit (number of states and
symbols, how blocks are tied across domains, the inference used in the E-step, the float
type).  Its methods are pure functions of parameters and data:

* ``summarize(batch) -> summary`` -- counts that initialization needs (additive);
* ``init_params(summary, random_state) -> params``;
* ``e_step(params, batch) -> stats`` -- expected sufficient statistics (additive: the
  statistics of a partition of the sequences sum to those of the whole);
* ``m_step(stats, priors) -> params`` -- normalized counts plus Dirichlet pseudocounts;
* ``log_prior(params, priors)``, ``posteriors(params, batch)``, ``viterbi(params, batch)``.

Nothing here holds state between calls, so the EM driver (:mod:`hmmtl.hmm.em`) can run the
E-step wherever the data lies -- in this process, on Dask workers, on Spark executors -- and
add the statistics that come back.

:class:`HMMFamily` covers the plain categorical HMM (one domain, everything shared) and the
multi-domain HMM (each block shared, per domain or, for emissions, hierarchical); its E-step is
exact forward-backward, k-best (a beam over states) or counting (fully labeled data), with
labeled positions clamped.  The multi-task family, whose states also emit the labels of
several tasks, follows the same protocol in :mod:`hmmtl.transfer.multitask_family`.

References
----------
Rabiner (1989), A tutorial on hidden Markov models.  Grave, Obozinski & Bach (2013), Domain
adaptation for sequence labeling using hidden Markov models.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields
from typing import ClassVar, NamedTuple

import numpy as np

from .._base import check_random_state
from ..data import RaggedBatch, token_positions

__all__ = [
    "Tie", "Priors", "HMMParams", "HMMStats", "DataSummary", "HMMFamily",
    "normalize_rows", "safe_log", "scatter_rows",
]

SHARED, PER_DOMAIN, HIERARCHICAL = "shared", "per_domain", "hierarchical"
TIE_BLOCKS = ("start", "transitions", "emissions")

# Tokens x states held at once by the inference that keeps per-token results (posteriors,
# Viterbi, k-best); bounds memory at large K.
_BLOCK_ELEMENTS = 1 << 23


# ----------------------------------------------------------------------------- helpers
def normalize_rows(a: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Rows (last axis) of non-negative counts scaled to sum to one, in ``dtype``; a row
    that sums to zero (or to NaN / inf) becomes uniform."""
    a = np.asarray(a, dtype=np.float64)
    s = a.sum(axis=-1, keepdims=True)
    bad = ~(np.isfinite(s[..., 0]) & (s[..., 0] > 0))
    if np.any(bad):
        s = np.where(bad[..., None], 1.0, s)
    out = np.divide(a, s, dtype=np.float64).astype(dtype, copy=False)
    if np.any(bad):
        out[bad] = 1.0 / a.shape[-1]
    return np.ascontiguousarray(out)


def safe_log(a, dtype=None) -> np.ndarray:
    """``log(a)`` with ``log 0 = -inf`` and no warning."""
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


def _dirichlet_log_prior(prob, pseudocount: float) -> float:
    """``pseudocount * sum(log prob)``: the log-density (up to a constant) of a Dirichlet
    prior of concentration ``1 + pseudocount``, whose MAP estimate is
    ``(counts + pseudocount) / total``."""
    return float(pseudocount) * _xlogy(np.ones_like(prob), prob) if pseudocount else 0.0


def scatter_rows(ids: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """``out[ids[t]] += rows[t]`` for every token with ``ids[t] >= 0``, in compiled code.

    Parameters
    ----------
    ids : int ndarray of shape (n_tokens,)
        Target row of each token (a word or label id); negative ids are skipped.
    rows : ndarray of shape (n_tokens, n_states)
    out : float64 ndarray of shape (n_rows, n_states), updated in place
    """
    from ..inference.expected_counts import scatter_by_id

    if np.shape(ids)[0]:
        scatter_by_id(ids, rows, out)


def _sequence_blocks(offsets: np.ndarray, n_states: int) -> list[tuple[int, int]]:
    """(first, end) sequence index of contiguous blocks holding at most about
    ``_BLOCK_ELEMENTS`` token-state entries each."""
    from ..inference import chunk_sequences

    n_tokens = int(offsets[-1])
    n_blocks = max(1, math.ceil(n_tokens * n_states / _BLOCK_ELEMENTS))
    bounds = chunk_sequences(offsets, n_blocks).tolist()
    return [(a, b) for a, b in itertools.pairwise(bounds) if a < b]


def _allowed(labels: np.ndarray | None, K: int):
    """Boolean (n_tokens, K) mask clamping labeled tokens (``labels >= 0``), or None."""
    if labels is None:
        return None
    lab = labels >= 0
    if not lab.any():
        return None
    allowed = np.ones((labels.shape[0], K), dtype=bool)
    allowed[lab] = False
    allowed[np.flatnonzero(lab), labels[lab]] = True
    return allowed


def _add_fields(a, b, how=None):
    """Field-wise sum of two dataclass instances (``how[name]`` overrides ``+``)."""
    out: dict[str, object] = {}
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if (x is None) != (y is None):
            raise ValueError(f"cannot add {type(a).__name__}: field {f.name!r} is missing on "
                             f"one side")
        if x is None:
            out[f.name] = None
        elif how is not None and f.name in how:
            out[f.name] = how[f.name](x, y)
        elif isinstance(x, tuple):
            out[f.name] = tuple(u + v for u, v in zip(x, y))
        else:
            out[f.name] = x + y
    return type(a)(**out)


class _Additive:
    """``a + b`` adds field-wise; ``0 + a`` is ``a`` so that ``sum(parts)`` works."""

    _combine: ClassVar[dict] = {}

    def __add__(self, other):
        if isinstance(other, int) and other == 0:
            return self
        if type(other) is not type(self):
            return NotImplemented
        return _add_fields(self, other, self._combine)

    __radd__ = __add__

    def scaled(self, factor: float):
        """Every field multiplied by ``factor`` (online EM's interpolation)."""
        out = {}
        for f in fields(self):  # type: ignore[arg-type]  # the subclasses are dataclasses
            x = getattr(self, f.name)
            out[f.name] = (None if x is None else tuple(v * factor for v in x)
                           if isinstance(x, tuple) else x * factor)
        return type(self)(**out)


# ----------------------------------------------------------------------------- settings
class Tie(NamedTuple):
    """How each block is shared across domains: ``"shared"`` or ``"per_domain"``; emissions
    may also be ``"hierarchical"``, ``p_d(w|z) = lambda_d p(w|z) + (1 - lambda_d) q_d(w|z)``."""

    start: str = SHARED
    transitions: str = SHARED
    emissions: str = SHARED

    @classmethod
    def from_mapping(cls, tie: dict | None, default: Tie) -> Tie:
        """``default`` updated by ``tie`` (keys among ``start``, ``transitions``,
        ``emissions``), validated."""
        values = default._asdict()
        if tie is not None:
            unknown = set(tie) - set(TIE_BLOCKS)
            if unknown:
                raise ValueError(f"tie keys must be among {TIE_BLOCKS}, got {sorted(unknown)}")
            values.update(tie)
        for block in ("start", "transitions"):
            if values[block] not in (SHARED, PER_DOMAIN):
                raise ValueError(f"tie[{block!r}] must be 'shared' or 'per_domain', "
                                 f"got {values[block]!r}")
        if values["emissions"] not in (SHARED, PER_DOMAIN, HIERARCHICAL):
            raise ValueError(f"tie['emissions'] must be 'shared', 'per_domain' or "
                             f"'hierarchical', got {values['emissions']!r}")
        return cls(**values)


class Priors(NamedTuple):
    """Dirichlet pseudocounts added to the expected counts in the M-step (MAP-EM; for
    counting, add-lambda smoothing).  0 gives maximum likelihood."""

    start: float = 0.1
    transition: float = 0.1
    emission: float = 0.01
    label: float = 0.0


# ----------------------------------------------------------------------------- HMM family
class HMMParams(NamedTuple):
    """Parameters of an HMM family, in the family's float type.

    Attributes
    ----------
    start : (K,) shared, or (D, K) per domain
    transition : (K, K) shared, or (D, K, K)
    emission : (K, V) shared (for hierarchical emissions: the shared part p(w|z)), or
        (D, K, V)
    domain_emission : (D, K, V), hierarchical emissions only: q_d(w|z)
    mixing_weight : (D,) float64, hierarchical emissions only: lambda_d
    """

    start: np.ndarray
    transition: np.ndarray
    emission: np.ndarray
    domain_emission: np.ndarray | None = None
    mixing_weight: np.ndarray | None = None


@dataclass(eq=False)
class HMMStats(_Additive):
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


@dataclass(eq=False)
class DataSummary(_Additive):
    """What initialization needs to know of the data, additive over partitions.

    n_sequences, n_tokens, n_labeled : int
    word_counts : int64 ndarray of shape (n_features,)
    label_start, label_transition, label_emission : float64 ndarrays of shapes (D, K),
        (D, K, K), (D, K, V), or None without labels -- counts over the labeled tokens only
        (first tokens, pairs of adjacent labeled tokens, labeled emissions).
    """

    n_sequences: int
    n_tokens: int
    n_labeled: int
    word_counts: np.ndarray
    label_start: np.ndarray | None = None
    label_transition: np.ndarray | None = None
    label_emission: np.ndarray | None = None

    @property
    def fully_labeled(self) -> bool:
        return self.n_tokens > 0 and self.n_labeled == self.n_tokens


def _label_counts(lab: np.ndarray, offsets: np.ndarray, ids: np.ndarray, tok_dom, D: int,
                  K: int, V: int):
    """Counts over the labeled tokens (``lab >= 0``) of each domain: first tokens (D, K),
    adjacent labeled pairs of one sequence (D, K, K), emissions (D, K, V)."""
    mask = lab >= 0
    lengths = np.diff(offsets)
    seq = np.repeat(np.arange(lengths.shape[0]), lengths)
    adj = mask[:-1] & mask[1:] & (seq[:-1] == seq[1:])
    src, dst = lab[:-1][adj].astype(np.int64), lab[1:][adj].astype(np.int64)
    dsrc = tok_dom[:-1][adj].astype(np.int64)
    trans = np.bincount((dsrc * K + src) * K + dst, minlength=D * K * K).reshape(D, K, K)
    firsts = offsets[:-1][lengths > 0]
    fl, fd = lab[firsts].astype(np.int64), tok_dom[firsts].astype(np.int64)
    start = np.bincount(fd[fl >= 0] * K + fl[fl >= 0], minlength=D * K).reshape(D, K)
    em = np.bincount((tok_dom[mask].astype(np.int64) * K + lab[mask]) * V + ids[mask],
                     minlength=D * K * V).reshape(D, K, V)
    return start.astype(np.float64), trans.astype(np.float64), em.astype(np.float64)


@dataclass(frozen=True)
class HMMFamily:
    """Categorical HMMs whose blocks are shared or per domain (a plain HMM: one domain).

    Parameters
    ----------
    n_states, n_features : int
    n_domains : int, default=1
    tie : Tie
        How start, transitions and emissions are shared across domains.
    kbest : int or None
        E-step on a beam of the ``kbest`` best states per position (exact when None or
        ``>= n_states``).
    dtype : {"float64", "float32"}
        Float type of the parameters and of the inference.
    backend : str
        Backend of :func:`hmmtl.inference.forward_backward` / ``viterbi`` for posteriors and
        decoding.
    """

    n_states: int
    n_features: int
    n_domains: int = 1
    tie: Tie = Tie()
    kbest: int | None = None
    dtype: str = "float64"
    backend: str = "auto"

    # ------------------------------------------------------------------ basics
    @property
    def float_type(self):
        return np.float32 if str(self.dtype) == "float32" else np.float64

    @property
    def needs_em_with_labels(self) -> bool:
        """Counting cannot split hierarchical emissions: fully labeled data still runs EM."""
        return self.tie.emissions == HIERARCHICAL

    def domain_params(self, params: HMMParams, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Effective ``(start, transition, emission)`` probabilities of domain ``d``."""
        tie = self.tie
        start = params.start if tie.start == SHARED else params.start[d]
        trans = params.transition if tie.transitions == SHARED else params.transition[d]
        if tie.emissions == SHARED:
            emit = params.emission
        elif tie.emissions == PER_DOMAIN:
            emit = params.emission[d]
        else:
            assert params.mixing_weight is not None and params.domain_emission is not None
            lam = float(params.mixing_weight[d])
            emit = (lam * np.asarray(params.emission, np.float64)
                    + (1.0 - lam) * np.asarray(params.domain_emission[d], np.float64))
            emit = emit.astype(self.float_type)
        return start, trans, emit

    def domains_of(self, batch: RaggedBatch) -> np.ndarray:
        """The domain id of each sequence of ``batch`` (checked)."""
        if self.n_domains == 1:
            return np.zeros(batch.n_sequences, dtype=np.int32)
        if batch.domains is None:
            raise ValueError(f"pass domains=[...] (one per sequence): this model has "
                             f"{self.n_domains} domains")
        if batch.domains.size and (batch.domains.max() >= self.n_domains
                                   or batch.domains.min() < 0):
            raise ValueError(f"domain id {int(batch.domains.max())} is out of range for "
                             f"{self.n_domains} domains")
        return batch.domains

    def groups(self, batch: RaggedBatch) -> list[tuple[int, np.ndarray | None]]:
        """(domain, sequence indices or None for all) pairs to run inference on."""
        if self.n_domains == 1:
            return [(0, None)]
        doms = self.domains_of(batch)
        return [(d, np.flatnonzero(doms == d)) for d in range(self.n_domains)]

    # ------------------------------------------------------------------ initialization
    def summarize(self, batch: RaggedBatch) -> DataSummary:
        """Sizes, unigram counts and (with labels) counts over the labeled tokens."""
        K, V, D = self.n_states, self.n_features, self.n_domains
        words = np.bincount(batch.ids, minlength=V).astype(np.int64)
        lab = batch.labels
        n_labeled = 0 if lab is None else int(np.count_nonzero(lab >= 0))
        out = DataSummary(batch.n_sequences, batch.n_tokens, n_labeled, words)
        if lab is not None:
            if lab.size and lab.max() >= K:
                raise ValueError(f"label id {int(lab.max())} is out of range for {K} states")
            tok_dom = self.domains_of(batch)[batch.token_sequence_index()]
            out.label_start, out.label_transition, out.label_emission = _label_counts(
                lab, batch.offsets, batch.ids, tok_dom, D, K, V)
        return out

    def _random_params(self, rs, counts, init) -> HMMParams:
        K, V = self.n_states, self.n_features
        dt = self.float_type
        if init is not None:
            given = {"start_prob": (K,), "transition_prob": (K, K), "emission_prob": (K, V)}
            for key, shape in given.items():
                if key not in init:
                    raise ValueError(f"init dict lacks {key!r}; expected keys {sorted(given)}")
                arr = np.asarray(init[key], dtype=np.float64)
                if arr.shape != shape:
                    raise ValueError(f"init[{key!r}] must have shape {shape}, got {arr.shape}")
            return HMMParams(*(normalize_rows(np.array(init[k], dtype=np.float64)).astype(dt)
                               for k in ("start_prob", "transition_prob", "emission_prob")))
        start = normalize_rows(rs.rand(K) + 1e-3).astype(dt)
        trans = normalize_rows(rs.rand(K, K) + 1e-3).astype(dt)
        if counts is not None:
            unigram = np.asarray(counts, dtype=np.float64) + 0.5
            emission = unigram[None, :] * (0.01 + rs.rand(K, V) ** 3)
        else:
            emission = rs.rand(K, V) + 1e-3
        return HMMParams(start, trans, normalize_rows(emission).astype(dt))

    def init_params(self, summary: DataSummary | None, random_state=None, *, init=None,
                    priors: Priors = Priors()) -> HMMParams:
        """First parameters.

        Random rows (or those of ``init``, a dict of ``start_prob``, ``transition_prob``,
        ``emission_prob``); emissions start at the unigram distribution of the data times a
        random factor ``0.01 + U(0, 1)^3``, which breaks the symmetry of states without
        starting far from the data.  Per-domain blocks get their own random jitter.  With
        labeled tokens, the parameters start from the counts over them (an M-step), blended
        with the random start (0.9 / 0.1) so that no word gets probability zero under every
        state.
        """
        rs = check_random_state(random_state)
        counts = None if summary is None else summary.word_counts
        base = self._random_params(rs, counts, init)
        tie, D = self.tie, self.n_domains
        dt = self.float_type
        if init is not None and D > 1:
            raise ValueError("a multi-domain HMM supports init='random' only")

        def noise(a):
            return normalize_rows(np.asarray(a, np.float64)
                                  * (0.75 + 0.5 * rs.rand(*a.shape))).astype(dt)

        start, trans, emission = base[:3]
        domain_emission = mixing = None
        if D > 1 or tie != Tie():
            if tie.start == PER_DOMAIN:
                start = np.stack([noise(base.start) for _ in range(D)])
            if tie.transitions == PER_DOMAIN:
                trans = np.stack([noise(base.transition) for _ in range(D)])
            if tie.emissions == PER_DOMAIN:
                emission = np.stack([noise(base.emission) for _ in range(D)])
            elif tie.emissions == HIERARCHICAL:
                domain_emission = np.stack([noise(base.emission) for _ in range(D)])
                mixing = np.full(D, 0.5)
        params = HMMParams(start, trans, emission, domain_emission, mixing)
        if summary is not None and summary.label_emission is not None and summary.n_labeled:
            params = self._blend_with_labels(params, summary, priors)
        return params

    def _blend_with_labels(self, params: HMMParams, summary: DataSummary,
                           priors: Priors) -> HMMParams:
        tie = self.tie
        start, trans, em = summary.label_start, summary.label_transition, summary.label_emission
        assert start is not None and trans is not None and em is not None
        stats = HMMStats(
            start=start if tie.start == PER_DOMAIN else start.sum(0),
            transition=trans if tie.transitions == PER_DOMAIN else trans.sum(0),
            emission=em if tie.emissions == PER_DOMAIN else em.sum(0),
            emission_domain=em if tie.emissions == HIERARCHICAL else None)
        labeled = self.m_step(stats, priors)
        dt = self.float_type

        def blend(a, b):
            if a is None:
                return None
            return (0.9 * np.asarray(a, np.float64) + 0.1 * np.asarray(b, np.float64)).astype(dt)

        return HMMParams(blend(labeled.start, params.start),
                         blend(labeled.transition, params.transition),
                         blend(labeled.emission, params.emission),
                         blend(labeled.domain_emission, params.domain_emission),
                         None if params.mixing_weight is None
                         else np.full(self.n_domains, 0.5))

    def online_start(self, params: HMMParams, n_tokens: int, n_sequences: int):
        """Pseudo-statistics of the corpus size for which the M-step (without priors)
        returns ``params`` (states equally occupied), so that words absent from the first
        mini-batches of online EM keep some probability; None where the family has no such
        statistics (online EM then starts from the first mini-batch)."""
        if self.n_domains != 1 or self.tie != Tie():
            return None
        K = self.n_states
        return HMMStats(start=n_sequences * np.asarray(params.start, np.float64),
                        transition=(n_tokens - n_sequences) / K
                        * np.asarray(params.transition, np.float64),
                        emission=n_tokens / K * np.asarray(params.emission, np.float64))

    # ------------------------------------------------------------------ E-step
    def e_step(self, params: HMMParams, batch: RaggedBatch) -> HMMStats:
        """Expected sufficient statistics of ``batch`` under ``params``.

        Labeled tokens (``batch.labels >= 0``) are clamped to their label; a fully labeled
        domain gives its exact counts.  Blocks tied across domains are summed.  For
        hierarchical emissions each domain's emission counts are split between the shared
        part (``emission``) and the domain part (``emission_domain``) in proportion to
        ``lambda_d p(w|z)`` and ``(1 - lambda_d) q_d(w|z)``.
        """
        tie, D, K, V = self.tie, self.n_domains, self.n_states, self.n_features
        if D == 1 and tie == Tie():
            s, t, e, ll = self._domain_counts(self.domain_params(params, 0), batch)
            return HMMStats(start=s, transition=t, emission=np.ascontiguousarray(e.T),
                            log_likelihood=ll, n_tokens=batch.n_tokens)
        start = np.zeros((D, K))
        trans = np.zeros((D, K, K))
        shared_emission = np.zeros((V, K))
        per_domain = np.zeros((D, K, V)) if tie.emissions != SHARED else None
        domain_tokens = np.zeros(D) if tie.emissions == HIERARCHICAL else None
        ll = 0.0
        for d, index in self.groups(batch):
            if index is not None and index.size == 0:
                continue
            sub = batch if index is None or index.size == batch.n_sequences \
                else batch.select(index)
            dparams = self.domain_params(params, d)
            s, t, e, l_d = self._domain_counts(dparams, sub)
            start[d] = s
            trans[d] = t
            ll += l_d
            if tie.emissions == SHARED:
                shared_emission += e
            elif tie.emissions == PER_DOMAIN:
                assert per_domain is not None
                per_domain[d] = e.T
            else:
                assert per_domain is not None and domain_tokens is not None
                assert params.mixing_weight is not None
                lam = float(params.mixing_weight[d])
                p_shared = lam * np.asarray(params.emission, np.float64).T
                p_mix = np.asarray(dparams[2], np.float64).T
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = np.where(p_mix > 0, p_shared / p_mix, 0.0)
                shared_part = e * ratio
                shared_emission += shared_part
                per_domain[d] = (e - shared_part).T
                domain_tokens[d] = e.sum()
        if tie.start == SHARED:
            start = start.sum(axis=0)
        if tie.transitions == SHARED:
            trans = trans.sum(axis=0)
        if tie.emissions == PER_DOMAIN:
            assert per_domain is not None
            emission, per_domain = per_domain, None
        else:
            emission = np.ascontiguousarray(shared_emission.T)
        return HMMStats(start=start, transition=trans, emission=emission, log_likelihood=ll,
                        n_tokens=batch.n_tokens, emission_domain=per_domain,
                        domain_tokens=domain_tokens)

    def _domain_counts(self, dparams, batch: RaggedBatch):
        """(start (K,), transition (K, K), emission (V, K), log-likelihood) of one domain's
        batch: counted when fully labeled, else expected (exact or k-best)."""
        from ..inference.expected_counts import hmm_expected_counts

        K = self.n_states
        if batch.n_tokens == 0:
            return np.zeros(K), np.zeros((K, K)), np.zeros((self.n_features, K)), 0.0
        labels = batch.labels
        if labels is not None and labels.size and labels.max() >= K:
            raise ValueError(f"label id {int(labels.max())} is out of range for {K} states")
        if labels is not None and labels.min() >= 0:
            return self._counted(dparams, batch)
        kbest = self.kbest if self.kbest is not None and int(self.kbest) < K else None
        start_p, trans_p, emit_p = dparams
        r = hmm_expected_counts(batch.ids, batch.offsets, emit_p, trans_p, start_p,
                                labels=labels, kbest=kbest)
        return r.start, r.pair_counts, r.emission, float(r.log_z.sum())

    def _counted(self, dparams, batch: RaggedBatch):
        """Counts of a fully labeled batch; the log-likelihood is that of the words and
        labels together."""
        start_p, trans_p, emit_p = dparams
        K, V = self.n_states, self.n_features
        assert batch.labels is not None
        lab = batch.labels.astype(np.int64)
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
        ll = (_xlogy(start, start_p) + _xlogy(trans, trans_p)
              + _xlogy(emission, np.asarray(emit_p).T))
        return start, trans, emission, ll

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats: HMMStats, priors: Priors = Priors()) -> HMMParams:
        """New parameters from expected counts plus the Dirichlet pseudocounts; the
        hierarchical mixing weights become the shared part's share of each domain's
        expected tokens (0.5 for a domain without tokens)."""
        dt = self.float_type

        def smoothed(counts, prior):
            return counts + float(prior) if prior else counts

        start = normalize_rows(smoothed(stats.start, priors.start), dt)
        trans = normalize_rows(smoothed(stats.transition, priors.transition), dt)
        emission = normalize_rows(smoothed(stats.emission, priors.emission), dt)
        domain_emission = mixing = None
        if self.tie.emissions == HIERARCHICAL and stats.emission_domain is not None:
            domain_emission = normalize_rows(smoothed(stats.emission_domain, priors.emission),
                                             dt)
            mixing = np.full(self.n_domains, 0.5)
            if stats.domain_tokens is not None:
                own = stats.emission_domain.sum(axis=(1, 2))
                seen = stats.domain_tokens > 0
                mixing[seen] = 1.0 - own[seen] / stats.domain_tokens[seen]
                mixing = np.clip(mixing, 0.0, 1.0)
        return HMMParams(start, trans, emission, domain_emission, mixing)

    def log_prior(self, params: HMMParams, priors: Priors = Priors()) -> float:
        """Dirichlet log-prior (up to a constant) of ``params``."""
        out = (_dirichlet_log_prior(params.start, priors.start)
               + _dirichlet_log_prior(params.transition, priors.transition)
               + _dirichlet_log_prior(params.emission, priors.emission))
        if params.domain_emission is not None:
            out += _dirichlet_log_prior(params.domain_emission, priors.emission)
        return float(out)

    # ------------------------------------------------------------------ inference
    def _per_group(self, params, batch: RaggedBatch, fn, shapes, dtypes):
        """``fn(sub_batch, domain_params)`` per domain group, results put back in batch
        order: (token array, sequence array)."""
        results = []
        for d, index in self.groups(batch):
            if index is None:
                return fn(batch, self.domain_params(params, d))
            if index.size:
                results.append((token_positions(batch.offsets, index)[0], index,
                                fn(batch.select(index), self.domain_params(params, d))))
        tok = np.zeros((batch.n_tokens,) + shapes[0], dtype=dtypes[0])
        seq = np.zeros((batch.n_sequences,) + shapes[1], dtype=dtypes[1])
        for pos, index, (t_arr, s_arr) in results:
            tok[pos] = t_arr
            seq[index] = s_arr
        return tok, seq

    def _blockwise(self, params, batch: RaggedBatch, run, token_shape, token_dtype):
        """``run(log_emission_t, log_transition, offsets, log_start, allowed, ids)`` ->
        (per-token array, per-sequence array) over blocks of sequences of each domain, the
        results put together in batch order."""
        K, dt = self.n_states, self.float_type

        def fn(sub, dparams):
            start_p, trans_p, emit_p = dparams
            log_emit_t = np.ascontiguousarray(safe_log(emit_p, dt).T)
            log_trans, log_start = safe_log(trans_p, np.float64), safe_log(start_p, np.float64)
            tok = np.zeros((sub.n_tokens,) + token_shape, dtype=token_dtype)
            seq = np.zeros(sub.n_sequences)
            offsets = sub.offsets
            for a, b in _sequence_blocks(offsets, K):
                t0, t1 = int(offsets[a]), int(offsets[b])
                allowed = _allowed(None if sub.labels is None else sub.labels[t0:t1], K)
                tok[t0:t1], seq[a:b] = run(log_emit_t, log_trans, offsets[a:b + 1] - t0,
                                           log_start, allowed, sub.ids[t0:t1])
            return tok, seq

        return self._per_group(params, batch, fn, [token_shape, ()],
                               [token_dtype, np.float64])

    def posteriors(self, params: HMMParams, batch: RaggedBatch):
        """Posterior marginals (n_tokens, K) and log-likelihood of each sequence (exact);
        labeled tokens are clamped."""
        from ..inference import forward_backward

        def run(log_emit_t, log_trans, offsets, log_start, allowed, ids):
            fb = forward_backward(log_emit_t, log_trans, offsets, start=log_start,
                                  allowed=allowed, compute_pairs=False, backend=self.backend,
                                  unary_index=ids, check_finite=False)
            return fb.marginals, fb.log_z

        return self._blockwise(params, batch, run, (self.n_states,), self.float_type)

    def viterbi(self, params: HMMParams, batch: RaggedBatch):
        """Most probable state path (int32, n_tokens) and its log-probability per sequence;
        labeled tokens are clamped."""
        from ..inference import viterbi

        def run(log_emit_t, log_trans, offsets, log_start, allowed, ids):
            r = viterbi(log_emit_t, log_trans, offsets, start=log_start, allowed=allowed,
                        backend=self.backend, unary_index=ids, check_finite=False)
            return r.path, r.score

        return self._blockwise(params, batch, run, (), np.int32)
