"""Feature augmentation for several labeled domains (Daumé III, 2007, "Frustratingly easy
domain adaptation").

Every observation feature ``f`` gets a shared copy ``f`` and one copy per domain ``d|f``; a
token of domain ``d`` fires ``f`` and ``d|f``.  The CRF then learns weights that transfer
(on the shared copies) and corrections that hold in one domain only (on the domain copies).
At test time a known domain uses both copies; an unknown domain only the shared ones.

How it meets the CRF's feature machinery: features are computed per word *type* by the
templates of :mod:`hmmtl.crf.features`, and gathered per token in compiled code.  Here a token of
domain ``d`` is presented to the CRF as the type ``"d\\x1fword"`` (``\\x1f`` is the ASCII unit
separator, absent from text), and each built-in template is wrapped
(:func:`augmented_template`) so that such a type yields the template's features of ``word``
plus the same features prefixed with ``d|`` (and a per-domain bias ``d|bias``).  Types are
still featurized once each, window features of neighbours carry their copies too (the
neighbours belong to the same sentence, hence the same domain), and nothing loops over
tokens.  Per-token extra features (HMM representations) given as categorical or weighted
categorical arrays get a domain copy as a second extra feature whose ids are shifted into a
per-domain block.

Transitions get the same treatment (``per_domain_transitions=True``, the default): the
labeler is fit with each sentence's domain index as its ``groups``
(:meth:`hmmtl.crf.LinearChainCRF.fit`), so besides the shared transition, start and end
scores ``T, s, e`` each domain ``d`` has offsets ``T_d, s_d, e_d``, and a sentence of
domain ``d`` is scored with ``T + T_d``, ``s + s_d``, ``e + e_d`` -- the augmentation of the
transition features, L2-penalized like every other weight.  A sentence of an unknown
domain, and every sentence when ``predict`` gets no domains, uses ``T, s, e`` only.  This
holds for both labelers (CRF by L-BFGS or SGD, and the averaged perceptron, whose mistake on
a sentence of domain ``d`` updates the shared scores and ``d``'s offsets).  With
``per_domain_transitions=False`` the transition, start and end scores are shared only.

What is shared only: the global bias of the CRF, and dense real-valued or string-column
extras.

With a single training domain the domain copies would duplicate the shared features exactly
(they would only halve the L2 penalty on them), so none are made, of the observation
features or of the transitions: the model *is* the plain CRF on the same data, and the two
give identical weights and predictions.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._base import BaseEstimator, check_is_fitted
from .. import serialize
from .._text_api import TextTagging
from ..data import check_sentences
from ..crf.features import BUILTIN_TEMPLATES, DEFAULT_TEMPLATES, register_template
from .pipeline import make_labeler

if TYPE_CHECKING:

    from .._typing import Extra, LabelLists, TokenLists

__all__ = ["DomainAugmentedCRF", "augment_tokens", "augment_extra", "extra_sizes",
           "augmented_template", "DOMAIN_SEP"]

#: separates the domain from the word in an augmented token type
DOMAIN_SEP = "\x1f"


def _wrap(name: str, base):
    def template(word: str) -> list:
        dom, sep, w = word.partition(DOMAIN_SEP)
        if not sep:
            return base(word)
        feats = base(w)
        return feats + [f"{dom}|{f}" for f in feats]

    template.__name__ = template.__qualname__ = f"augmented_{name}"
    template.__module__ = __name__
    template.__doc__ = (f"Template {name!r} with a shared and a per-domain copy of each "
                        f"feature of a ``'domain\\x1fword'`` type.")
    return template


def _domain_bias(word: str) -> list:
    dom, sep, _ = word.partition(DOMAIN_SEP)
    return [f"{dom}|bias"] if sep else []


_domain_bias.__qualname__ = _domain_bias.__name__ = "augmented_bias"

# module-level functions, so that a saved model names them ("module:qualname"), registered
# as templates model files may use
augmented_bias = register_template(_domain_bias)
for _name, _base in list(BUILTIN_TEMPLATES.items()):
    globals()[f"augmented_{_name}"] = register_template(_wrap(_name, _base))
del _name, _base


def augmented_template(name: str):
    """The augmenting wrapper of built-in template ``name`` (e.g. ``"suffix"``)."""
    if not isinstance(name, str) or name not in BUILTIN_TEMPLATES:
        raise ValueError(f"feature augmentation wraps the built-in templates "
                         f"{sorted(BUILTIN_TEMPLATES)}, got {name!r}; for a custom template "
                         f"add a module-level function that handles 'domain\\x1fword' types")
    return globals()[f"augmented_{name}"]


def augment_tokens(sentences, domains, known_domains) -> list:
    """Sentences with each token written as ``"domain\\x1fword"`` for sentences of a known
    domain; sentences of other domains (or ``None``) are left as they are."""
    if domains is None:
        return [list(s) for s in sentences]
    if len(domains) != len(sentences):
        raise ValueError(f"got {len(sentences)} sentences but {len(domains)} domains; give "
                         f"one domain per sentence")
    known = set(known_domains)
    out = []
    for s, d in zip(sentences, domains):  # per sentence: one C-level map over its tokens
        if d in known:
            prefix = f"{d}{DOMAIN_SEP}"
            out.append(list(map(prefix.__add__, s)))
        else:
            out.append(list(s))
    return out


def _domain_index(domains, known_domains) -> np.ndarray:
    """Index of each sentence's domain in ``known_domains``, -1 for an unknown domain."""
    index = {d: i for i, d in enumerate(known_domains)}
    return np.fromiter((index.get(d, -1) for d in domains), dtype=np.int64,
                       count=len(domains))


def _categorical_ids(value):
    """The id array of a categorical (int array) or weighted categorical ((ids, weights))
    extra feature, or None for other extras (dense, strings), which are shared only."""
    if isinstance(value, tuple) and len(value) == 2:
        return np.asarray(value[0])
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.integer):
        return value
    return None


def extra_sizes(extra) -> dict:
    """``n_values`` (one more than the largest id) of each categorical extra feature of the
    training data; :func:`augment_extra` lays the domain copies out with it."""
    sizes = {}
    for name, value in (extra or {}).items():
        ids = _categorical_ids(value)
        if ids is not None:
            sizes[name] = max(int(ids.max(initial=-1)) + 1, 1)
    return sizes


def augment_extra(extra, sentences, domains, known_domains, sizes: dict) -> dict | None:
    """Add a per-domain copy of categorical / weighted categorical extras.

    The copy of feature ``name`` is ``name + "@domain"``: its ids are shifted by
    ``domain_index * sizes[name]`` (``sizes`` from :func:`extra_sizes` on the training
    data, so that a sentence gets the same ids in any batch), and it is absent (id -1) on
    sentences of unknown domains and for ids the training data did not have.  Other extras,
    and extras not in ``sizes``, are shared only.
    """
    if not extra or domains is None:
        return extra
    code = _domain_index(domains, known_domains)
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    tok_code = np.repeat(code, lengths)
    out = dict(extra)
    for name, value in extra.items():
        ids = _categorical_ids(value)
        if ids is None or name not in sizes:
            continue
        n_values = sizes[name]
        shift = tok_code.reshape((-1,) + (1,) * (ids.ndim - 1))
        new = np.where((shift >= 0) & (ids >= 0) & (ids < n_values), ids + shift * n_values,
                       -1).astype(ids.dtype)
        out[f"{name}@domain"] = (new, np.asarray(value[1])) if isinstance(value, tuple) else new
    return out


class DomainAugmentedCRF(TextTagging, serialize.ModelFileMixin, BaseEstimator):
    """A CRF (or perceptron) with feature augmentation across labeled domains.

    Parameters
    ----------
    labeler : {"crf", "perceptron"}, default="crf"
    labeler_params : dict, optional
        Keyword arguments of the labeler (``c2``, ``max_iterations``, ``window``, ...); its
        ``templates`` must be built-in template names.
    templates : sequence of str, optional
        Built-in templates to augment (default all,
        :data:`hmmtl.crf.features.DEFAULT_TEMPLATES`).
    per_domain_transitions : bool, default=True
        Give each training domain transition, start and end offsets of its own (the
        labeler's ``group_transition_``, ``group_start_``, ``group_end_``, in the order of
        ``domains_``); False: one shared transition matrix, start and end scores.

    Attributes
    ----------
    domains_ : list of str
        Training domains that have their own feature copies (empty when there was one).
    labeler_ : estimator
        The fitted labeler, trained on augmented types (and, with per-domain transitions,
        with the index of each sentence's domain in ``domains_`` as its ``groups``).

    Examples
    --------
    >>> X = [["the", "bank"], ["the", "bank"]] * 5
    >>> y = [["DT", "NN"], ["DT", "VB"]] * 5
    >>> dom = ["finance", "rivers"] * 5
    >>> m = DomainAugmentedCRF(labeler_params={"max_iterations": 50}).fit(X, y, domains=dom)
    >>> m.predict([["the", "bank"]] * 2, domains=["finance", "rivers"])
    [['DT', 'NN'], ['DT', 'VB']]
    """

    _requires_y = True

    def __init__(self, labeler="crf", labeler_params=None, templates=None,
                 per_domain_transitions=True):
        self.labeler = labeler
        self.labeler_params = labeler_params
        self.templates = templates
        self.per_domain_transitions = per_domain_transitions

    def _make_labeler(self, augmented: bool):
        params = dict(self.labeler_params or {})
        if "templates" in params:
            raise ValueError("set the templates through DomainAugmentedCRF(templates=...), "
                             "not labeler_params")
        names = list(DEFAULT_TEMPLATES if self.templates is None else self.templates)
        if augmented:
            params["templates"] = [augmented_template(n) for n in names] + [augmented_bias]
        elif self.templates is not None:  # else the labeler's own default templates
            params["templates"] = names
        return make_labeler(self.labeler, params)

    def fit(self, X: TokenLists, y: LabelLists, domains: Sequence[str] | None = None,
            extra: Extra | None = None) -> DomainAugmentedCRF:
        """Train on sentences ``X`` with tags ``y``; ``domains`` gives each sentence's
        domain (None: one domain, the plain labeler)."""
        X = [list(s) for s in check_sentences(X)]
        if domains is not None and len(domains) != len(X):
            raise ValueError(f"got {len(X)} sentences but {len(domains)} domains")
        names = [] if domains is None else list(dict.fromkeys(domains))
        bad = [d for d in names if not isinstance(d, str) or DOMAIN_SEP in d or "|" in d]
        if bad:
            raise ValueError(f"domain names must be strings without '|' or '\\x1f', got {bad}")
        self.domains_ = names if len(names) > 1 else []
        augmented = bool(self.domains_)
        self.extra_sizes_ = extra_sizes(extra) if augmented else {}
        labeler = self._make_labeler(augmented)
        Xa = augment_tokens(X, domains, self.domains_) if augmented else X
        ea = augment_extra(extra, X, domains, self.domains_, self.extra_sizes_) \
            if augmented else extra
        kwargs: dict[str, Any] = {} if ea is None else {"extra": ea}
        if augmented and self.per_domain_transitions:
            if "groups" not in inspect.signature(labeler.fit).parameters:
                raise TypeError(f"per-domain transitions need a labeler whose fit takes "
                                f"groups (LinearChainCRF, AveragedPerceptron); "
                                f"{type(labeler).__name__}.fit does not: pass "
                                f"per_domain_transitions=False")
            kwargs["groups"] = _domain_index(domains, self.domains_)
        labeler.fit(Xa, y, **kwargs)
        self.labeler_ = labeler
        return self

    def _has_domain_transitions(self) -> bool:
        groups = getattr(self.labeler_, "group_transition_", None)
        return groups is not None and groups.shape[0] > 0

    def predict(self, X: TokenLists, domains: Sequence[str | None] | None = None,
                extra: Extra | None = None) -> list[list[str]]:
        """Tag ``X``; sentences of a training domain use its feature copies (and its
        transition, start and end offsets), others (and all when ``domains`` is None)
        only the shared weights."""
        check_is_fitted(self, "labeler_")
        X = [list(s) for s in check_sentences(X)]
        kwargs: dict[str, Any] = {}
        if self.domains_ and domains is not None:
            Xa = augment_tokens(X, domains, self.domains_)
            ea: Extra | None = augment_extra(extra, X, domains, self.domains_,
                                             self.extra_sizes_)
            if self._has_domain_transitions():
                kwargs["groups"] = _domain_index(domains, self.domains_)
        else:
            Xa = X
            ea = augment_extra(extra, X, [None] * len(X), self.domains_, self.extra_sizes_) \
                if (extra and self.domains_) else extra
        if ea is not None:
            kwargs["extra"] = ea
        return self.labeler_.predict(Xa, **kwargs)

    def score(self, X: TokenLists, y: LabelLists, domains: Sequence[str | None] | None = None,
              extra: Extra | None = None) -> float:
        """Token accuracy of :meth:`predict` against ``y`` (tags never seen in training
        count as errors; no sentences is a ValueError)."""
        from .._base import token_accuracy
        from ..data import check_label_lists, check_sentences, flatten

        X = check_sentences(X, "X")
        check_label_lists(y, flatten(X)[1], "y", "label")
        return token_accuracy(y, self.predict(X, domains=domains, extra=extra) if X else [])

    # -- persistence
    def _get_state(self):
        check_is_fitted(self, "labeler_")
        arrays, nested = serialize.pack_nested({"labeler": self.labeler_})
        meta = {"params": {"labeler": self.labeler if isinstance(self.labeler, str) else "crf",
                           "labeler_params": self.labeler_params,
                           "templates": None if self.templates is None else list(self.templates),
                           "per_domain_transitions": bool(self.per_domain_transitions)},
                "domains": list(self.domains_), "extra_sizes": dict(self.extra_sizes_),
                "children": nested}
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        params = dict(meta["params"])
        # files written before per-domain transitions existed had shared ones only
        params.setdefault("per_domain_transitions", False)
        self = cls(**params)
        self.labeler_ = serialize.unpack_nested(arrays, meta["children"])["labeler"]
        self.domains_ = list(meta["domains"])
        # files written before the sizes were kept: their extras get no domain copies
        self.extra_sizes_ = {str(k): int(v) for k, v in meta.get("extra_sizes", {}).items()}
        groups = getattr(self.labeler_, "group_transition_", None)
        n_groups = 0 if groups is None else groups.shape[0]
        if n_groups not in (0, len(self.domains_)):
            raise ValueError(f"inconsistent model state: the labeler has per-domain "
                             f"transitions for {n_groups} domains, but the model has "
                             f"{len(self.domains_)} training domains {self.domains_}")
        return self
