"""scikit-learn's estimator contract, without importing scikit-learn.

hmmtl's estimators follow scikit-learn's conventions (``__init__`` stores keyword arguments,
``get_params`` / ``set_params``, ``sklearn.base.clone`` works, fitted state ends in ``_``,
randomness through ``random_state``).  Importing ``sklearn.base`` costs over a second (it pulls
in ``scipy.stats`` and pandas), which a command-line tagger pays on every call; this module
provides the same contract in a few lines so that loading a model does not.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np

__all__ = ["BaseEstimator", "NotFittedError", "check_is_fitted", "check_random_state"]


class NotFittedError(ValueError, AttributeError):
    """Raised when a method needs a fitted estimator (like scikit-learn's ``NotFittedError``,
    it is both a ValueError and an AttributeError)."""


class BaseEstimator:
    """``get_params`` / ``set_params`` / ``repr`` as scikit-learn's ``BaseEstimator``."""

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
        out = {}
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
                except Exception:  # arrays and other objects without a plain ==
                    same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def check_is_fitted(estimator, attributes=None) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has the fitted ``attributes``
    (default: any attribute ending in ``_``)."""
    if attributes is None:
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))
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
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")
