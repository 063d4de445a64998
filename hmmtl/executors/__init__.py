"""Executors: where the E-step runs.

An executor holds a corpus cut into partitions and runs pure functions over them.  The EM
driver (:func:`hmmtl.hmm.em.run_em`) needs only four operations, the same for every
executor:

``load(corpus) -> parts``
    Partitions of a corpus (files are read where the partitions live);
``map(fn, parts, *args) -> parts``
    ``fn(*args, part)`` on each partition, the results kept there (encoding);
``collect(fn, parts, *args) -> list``
    Small per-partition results brought back in partition order (sizes);
``map_sum(fn, parts, *args, select=None)``
    The sum of ``fn(*args, part)`` over the partitions: the E-step, with the parameters in
    ``args`` sent once to each machine and only the additive statistics coming back.

Executors: :class:`LocalExecutor` (this process, Numba's threads),
:class:`hmmtl.executors.dask.DaskExecutor` and :class:`hmmtl.executors.spark.SparkExecutor`
(imported on demand: ``import hmmtl`` loads neither Dask nor Spark).

Examples
--------
>>> from hmmtl import CategoricalHMM
>>> from hmmtl.executors import LocalExecutor
>>> sents = [["the", "dog", "barks"], ["a", "cat", "sleeps"]] * 10
>>> hmm = CategoricalHMM(3, n_iter=3, random_state=0)
>>> hmm.fit(sents, executor=LocalExecutor(n_partitions=2)).n_states_
3
"""

from .local import LocalExecutor, sum_stats
from .sources import Files, Sentences, infer_format

__all__ = ["LocalExecutor", "Files", "Sentences", "infer_format", "sum_stats"]
