"""The local executor: every partition in this process, the Numba kernels' threads inside.

The reference the Dask and Spark executors are tested against: same partitions, same
reading of files, statistics added left to right in partition order.
"""

from __future__ import annotations

from .sources import plan_partitions, read_partition

__all__ = ["LocalExecutor", "sum_stats", "selected"]


def sum_stats(parts):
    """Sum additive statistics left to right, skipping ``None`` (an empty partition);
    None when every part is None."""
    total = None
    for part in parts:
        if part is None:
            continue
        total = part if total is None else total + part
    return total


def selected(part, index):
    """``part`` restricted to the sequences ``index`` (all of them when None)."""
    return part if index is None else part.select(index)


class LocalExecutor:
    """Runs each step over the partitions in this process.

    Parameters
    ----------
    n_partitions : int, default=1
        Partitions of an in-memory corpus.  One is fastest (the kernels are parallel over
        sequences); more reproduce a cluster's partitioning on one machine.  Files are one
        partition each.

    Examples
    --------
    >>> from hmmtl.executors import LocalExecutor
    >>> ex = LocalExecutor()
    >>> parts = ex.load([["a", "b"], ["c"]])
    >>> ex.map_sum(len, parts)
    2
    """

    def __init__(self, n_partitions: int = 1):
        if int(n_partitions) < 1:
            raise ValueError(f"n_partitions must be >= 1, got {n_partitions}")
        self.n_partitions = int(n_partitions)

    def load(self, corpus) -> list:
        """The partitions of ``corpus`` (see :func:`~hmmtl.executors.sources.plan_partitions`),
        files read now."""
        return [read_partition(s) for s in plan_partitions(corpus, self.n_partitions)]

    def map(self, fn, parts, *args) -> list:
        """``[fn(*args, part) for part in parts]``: new partitions, kept."""
        return [fn(*args, p) for p in parts]

    def collect(self, fn, parts, *args) -> list:
        """Small per-partition results, in partition order."""
        return [fn(*args, p) for p in parts]

    def map_sum(self, fn, parts, *args, select=None):
        """Sum of ``fn(*args, part)`` over the partitions (or over ``select``, a list of
        ``(partition index, sequence indices)``), left to right."""
        if select is None:
            return sum_stats(fn(*args, p) for p in parts)
        return sum_stats(fn(*args, selected(parts[i], idx)) for i, idx in select)

    def release(self, parts) -> None:
        """Nothing to free: the partitions are ordinary objects."""
