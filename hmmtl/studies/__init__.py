"""Studies built on the library: the domain-adaptation and feature-augmentation studies
(``domain_adaptation``), the multi-task study (``multitask``), their tables and plots
(``report``) and the ``hmmtl demo`` run (``demo``).

These are users of hmmtl, never used by it: no module outside this package imports it.
"""
