"""Linear-chain CRF labelers over type-level features.

* :mod:`~hmmtl.crf.labelers` -- :class:`LinearChainCRF` and :class:`AveragedPerceptron`,
  the per-task defaults (:data:`TASK_DEFAULTS`) and the label-scheme constraints;
* :mod:`~hmmtl.crf.features` -- the feature templates, computed once per word type, and the
  feature space the labelers share (:func:`~hmmtl.crf.features.register_template` for a
  template of one's own);
* :mod:`~hmmtl.crf._kernels` -- the compiled kernels: gathering features per token, the
  gradient's sums, the SGD and perceptron epochs.
"""

from __future__ import annotations

from .labelers import (TASK_DEFAULTS, AveragedPerceptron, LinearChainCRF, constraint_masks,
                       detect_scheme, detect_task)

__all__ = ["LinearChainCRF", "AveragedPerceptron", "constraint_masks", "detect_scheme",
           "detect_task", "TASK_DEFAULTS"]
