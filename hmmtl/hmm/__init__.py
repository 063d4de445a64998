"""Hidden Markov models over words: supervised, unsupervised (batch and online EM),
semi-supervised, k-best, and tied across domains.

:class:`CategoricalHMM` is a scikit-learn style estimator over sequences of discrete symbols
(words through a :class:`~hmmtl.data.Vocabulary` with unknown-word signatures, or integer ids
with ``lengths`` as in hmmlearn).  :class:`MultiDomainHMM` shares one state space across
domains and lets each parameter block (start, transitions, emissions) be shared, per domain,
or -- for emissions -- hierarchical, ``p_d(w|z) = lambda_d p(w|z) + (1 - lambda_d) q_d(w|z)``.
The HMM states give word representations (Grave, Obozinski & Bach 2013): the Viterbi state of
a token, its posterior over states, and the context-free p(state | word) of its type.

The package is cut along jobs:

* :mod:`~hmmtl.hmm.families` -- the HMM families as pure functions: parameters, additive
  statistics, ``e_step(params, batch) -> stats``, ``m_step(stats, priors) -> params``;
* :mod:`~hmmtl.hmm.em` -- one EM driver (initialization, restarts, convergence monitor,
  batch and online schedules, progress) over any executor (:mod:`hmmtl.executors`);
* :mod:`~hmmtl.hmm.inputs` -- counting, encoding and describing the data;
* :mod:`~hmmtl.hmm.estimators` -- the estimators, thin users of the above;
* :mod:`~hmmtl.hmm.representations`, :mod:`~hmmtl.hmm.sampling`.

References
----------
Rabiner (1989), A tutorial on hidden Markov models.  Liang & Klein (2009), Online EM for
unsupervised models (stepwise EM).  Grave, Obozinski & Bach (2013).
"""

from .em import ConvergenceMonitor, run_em
from .estimators import CategoricalHMM, MultiDomainHMM
from .families import HMMFamily, HMMParams, HMMStats, Priors, Tie

__all__ = ["CategoricalHMM", "MultiDomainHMM", "HMMStats", "HMMParams", "HMMFamily",
           "Priors", "Tie", "ConvergenceMonitor", "run_em"]
