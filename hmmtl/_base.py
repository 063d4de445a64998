"""scikit-learn's estimator contract, without importing scikit-learn.

hmmtl's estimators follow scikit-learn's conventions (``__init__`` stores keyword arguments,
``get_params`` / ``set_params``, ``sklearn.base.clone`` works, fitted state ends in ``_``,
randomness through ``random_state``).  Importing ``sklearn.base`` costs over a second (it pulls
in ``scipy.stats`` and pandas), which a command-line tagger pays on every call; this module
provides the same contract in a few lines so that loading a model does not.

The developer protocol scikit-learn calls on an estimator is here too, so that ``clone``,
``cross_val_score``, ``GridSearchCV`` and ``Pipeline`` work from scikit-learn 1.3 on:
``__sklearn_tags__`` (1.6 and later; it imports ``sklearn.utils`` only when scikit-learn asks,
which it has then imported itself), ``__sklearn_is_fitted__`` and ``__sklearn_clone__``.
Older versions read no tags from an estimator that defines none (their defaults fit).
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any

import numpy as np

__all__ = ["BaseEstimator", "NotFittedError", "check_is_fitted", "check_random_state",
           "token_accuracy"]


class NotFittedError(ValueError, AttributeError):
    """Raised when a method needs a fitted estimator (like scikit-learn's ``NotFittedError``,
    it is both a ValueError and an AttributeError)."""


def _is_fitted(estimator) -> bool:
    return any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))


class BaseEstimator:
    """``get_params`` / ``set_params`` / ``repr`` as scikit-learn's ``BaseEstimator``, and
    the protocol scikit-learn's model selection and pipelines call."""

    #: ``fit`` needs the labels ``y`` (scikit-learn's ``target_tags.required``)
    _requires_y: bool = False
    #: parameters that take an already fitted estimator to be used as it is (an HMM whose
    #: states become features): ``clone`` passes a fitted one through unchanged, as
    #: scikit-learn's ``FrozenEstimator`` would, instead of cloning it unfitted
    _fitted_params: tuple = ()

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        for p in params:
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}.__init__ must not take *args "
                                   "(scikit-learn's estimator convention)")
        return sorted(p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (and, with ``deep``, those of nested estimators as
        ``name__param``)."""
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set constructor parameters (``name__param`` reaches nested estimators)."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for estimator "
                                 f"{type(self).__name__}; valid parameters are "
                                 f"{sorted(self._get_param_names())}")
            if delim:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    # -- scikit-learn's developer protocol
    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=self._requires_y),
                    transformer_tags=TransformerTags() if hasattr(self, "transform") else None,
                    # lists of token lists, not a 2-D array
                    input_tags=InputTags(two_d_array=False, string=True))

    def __sklearn_is_fitted__(self) -> bool:
        return _is_fitted(self)

    def __sklearn_clone__(self):
        from sklearn.base import clone

        params = self.get_params(deep=False)
        for name, value in params.items():
            parts = value if isinstance(value, (list, tuple)) else [value]
            frozen = name in self._fitted_params and parts and all(
                hasattr(p, "get_params") and _is_fitted(p) for p in parts)
            if not frozen:
                params[name] = clone(value, safe=False)
        return type(self)(**params)

    def __repr__(self) -> str:
        init = inspect.signature(type(self).__init__).parameters
        shown = []
        for name in self._get_param_names():
            value = getattr(self, name, None)
            default = init[name].default if name in init else inspect.Parameter.empty
            same = value is default
            if not same:
                try:
                    same = bool(value == default)
                except Exception:  # noqa: BLE001 - arrays and other objects without a plain ==
                    same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def check_is_fitted(estimator, attributes=None) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has the fitted ``attributes``
    (default: any attribute ending in ``_``)."""
    if attributes is None:
        fitted = _is_fitted(estimator)
    else:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(hasattr(estimator, a) for a in names)
    if not fitted:
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. "
                             "Call 'fit' with appropriate arguments before using this "
                             "estimator.")


def check_random_state(seed) -> np.random.RandomState:
    """A ``RandomState`` from None (the global one), an int, or a ``RandomState``."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(int(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def token_accuracy(gold, predicted) -> float:
    """Fraction of tokens whose predicted tag equals the gold tag: the ``score`` of every
    labeler (CRF, perceptron, Tagger, domain-augmented CRF), so that scikit-learn's model
    selection compares them on one measure.

    A gold tag the model never saw is an error like any other wrong tag (a fold of
    ``cross_val_score`` whose rare tag is missing from its training part still gets a
    score); no sentences at all is a ValueError, as there is nothing to score.

    >>> token_accuracy([["DT", "NN"], ["XX"]], [["DT", "VB"], ["VB"]])
    0.3333333333333333
    """
    from .metrics import accuracy

    gold = list(gold)
    if not gold:
        raise ValueError("no sentences to score: X and y are empty; give score at least one "
                         "sentence with its tags")
    return accuracy(gold, predicted)
