"""Transfer across domains and tasks, built from the HMMs and labelers.

* :class:`Tagger` (``pipeline``): HMM word representations as features of a CRF or
  perceptron (Grave, Obozinski & Bach 2013).
* :class:`DomainAugmentedCRF` (``augment``): feature augmentation across labeled domains
  (Daumé III 2007).
* :class:`MultiTaskHMM` (``multitask_hmm``): one chain of hidden states shared by several
  labeling tasks.
* :class:`MultiTaskTagger` (``multitask``): POS, chunks, entities (any tasks) in one model,
  a cascade of CRFs on cross-validated predictions of the earlier tasks.
* :class:`AlternatingStructureOptimization` (``aso``): a feature projection shared by the
  tasks' predictors (Ando & Zhang 2005).

Submodules are imported on first use, so ``import hmmtl.transfer`` stays light.  The studies
that use these models live in :mod:`hmmtl.studies`.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "Tagger": "pipeline",
    "hmm_representations": "pipeline",
    "DomainAugmentedCRF": "augment",
    "MultiTaskHMM": "multitask_hmm",
    "MultiTaskTagger": "multitask",
    "AlternatingStructureOptimization": "aso",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
