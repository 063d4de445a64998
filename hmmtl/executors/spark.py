"""The Spark executor: partitions in a cached RDD, one hmmtl partition per Spark partition.

An E-step (:meth:`SparkExecutor.map_sum`) broadcasts the parameters (``SparkContext.broadcast``:
one copy per executor), runs ``family.e_step`` on each partition where it is cached, and
combines the additive statistics with ``treeAggregate``, whose tree is fixed by the
partition indices.  Only parameters go out and only statistics come back.  A task that
fails is retried by Spark (``spark.task.maxFailures``; ``local[N,F]`` in local mode) on its
partition, rebuilt from its source if lost: the sums are the same.

Files are read on the executors by the same reader as everywhere else
(:func:`hmmtl.executors.sources.read_partition`); a Spark DataFrame gives its token column
(and optional label and domain columns); an RDD of token lists (or ``(tokens, domain)``
pairs) keeps its partitions.

PySpark is imported only when this module is: ``import hmmtl`` does not import it.

Examples
--------
>>> from hmmtl import CategoricalHMM                                   # doctest: +SKIP
>>> from hmmtl.executors.spark import SparkExecutor, spark_session     # doctest: +SKIP
>>> spark = spark_session("local[2]")                                  # doctest: +SKIP
>>> hmm = CategoricalHMM(64).fit(["a.txt", "b.conllu"], executor=SparkExecutor(spark))
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from .local import selected, sum_stats
from .sources import Sentences, plan_partitions, read_partition

try:
    import pyspark  # noqa: F401
    from pyspark import StorageLevel
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hmmtl.executors.spark needs PySpark: pip install 'hmmtl[spark]'") from exc

__all__ = ["SparkExecutor", "spark_session", "session_on", "spark_context"]


def spark_session(master: str | None = None, app_name: str = "hmmtl", **conf):
    """A SparkSession (the active one, or a new one on ``master`` such as ``"local[2]"``
    or ``"spark://host:7077"``) whose Python workers run this interpreter (so that they
    import the same hmmtl), with the web UI off; ``conf`` are extra Spark settings
    (``{"spark.executor.memory": "4g"}``, dots as in Spark)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).config("spark.ui.enabled", "false")
    if master is not None:
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, str(value))
    return builder.getOrCreate()


@contextlib.contextmanager
def session_on(master: str, **conf):
    """A SparkSession on ``master`` for the duration of a ``with`` block: the active session
    if there is one (left running), else a new one (stopped at the end)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    spark = active if active is not None else spark_session(master, **conf)
    try:
        yield spark
    finally:
        if active is None:
            spark.stop()


def spark_context(spark=None):
    """The SparkContext of a SparkSession, a SparkContext, a master string, or the active
    session."""
    from pyspark import SparkContext

    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            raise ValueError("no active SparkSession: pass one (hmmtl.executors.spark."
                             "spark_session('local[2]')) or a master URL")
    if isinstance(spark, str):
        spark = spark_session(spark)
    if isinstance(spark, SparkContext):
        return spark
    return spark.sparkContext


def _as_sentences(items) -> Sentences:
    """Items of an RDD partition (token lists, or ``(tokens, domain)`` pairs)."""
    items = list(items)
    if items and isinstance(items[0], tuple) and len(items[0]) == 2:
        return Sentences([list(t) for t, _ in items], None, [d for _, d in items])
    return Sentences([list(t) for t in items])


def _rows_to_sentences(tokens_col, label_cols, domain_col):
    def convert(rows):
        rows = list(rows)
        labels = None
        if label_cols:
            labels = {task: [None if r[col] is None else list(r[col]) for r in rows]
                      for task, col in label_cols}
        domains = None if domain_col is None else [r[domain_col] for r in rows]
        yield Sentences([list(r[tokens_col]) for r in rows], labels, domains)

    return convert


class _Failure:
    """An input error raised on an executor, carried back as a value so that the driver
    raises it as it was raised (a malformed file is not worth Spark's retries, and Spark
    would wrap the error in its own)."""

    def __init__(self, error: BaseException):
        self.error = error


#: errors of the data itself (a malformed file, a bad label, a missing column): returned,
#: not retried.  Anything else fails the task, which Spark retries.
_INPUT_ERRORS = (ValueError, TypeError, LookupError, FileNotFoundError)


def _guarded(fn, args, part):
    if isinstance(part, _Failure):
        return part
    try:
        return fn(*args, part)
    except _INPUT_ERRORS as exc:
        return _Failure(exc)


def _raise_failure(value):
    if isinstance(value, _Failure):
        raise value.error
    return value


def _add(a, b):
    if isinstance(a, _Failure):
        return a
    if isinstance(b, _Failure):
        return b
    return sum_stats((a, b))


class SparkExecutor:
    """Runs the steps of a fit over an RDD with one hmmtl partition per Spark partition.

    Parameters
    ----------
    spark : SparkSession, SparkContext, master URL or None
        None: the active session.
    n_partitions : int, optional
        Partitions of an in-memory corpus (default: ``sc.defaultParallelism``).  Files are
        one partition each; a DataFrame or an RDD keeps its own partitions.
    depth : int, default=2
        Depth of the ``treeAggregate`` that sums the statistics.
    tokens_col, label_cols, domain_col : DataFrame columns
        The column of token arrays; optional label columns (a name, or a dict task ->
        column for a multi-task model); an optional column of domains.

    Attributes
    ----------
    timings_ : list of dict
        Per :meth:`map_sum`: ``wall`` seconds (broadcast, tasks, aggregation) and
        ``n_tasks``.
    """

    def __init__(self, spark=None, *, n_partitions: int | None = None, depth: int = 2,
                 tokens_col: str = "tokens", label_cols=None, domain_col: str | None = None):
        if n_partitions is not None and int(n_partitions) < 1:
            raise ValueError(f"n_partitions must be >= 1, got {n_partitions}")
        if int(depth) < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.sc = spark_context(spark)
        self.n_partitions = n_partitions
        self.depth = int(depth)
        self.tokens_col = tokens_col
        if isinstance(label_cols, str):
            label_cols = {label_cols: label_cols}
        self.label_cols = None if label_cols is None else tuple(dict(label_cols).items())
        self.domain_col = domain_col
        self._broadcasts: dict[int, list] = {}
        self.timings_: list[dict] = []

    def _keep(self, rdd, *broadcasts):
        rdd.persist(StorageLevel.MEMORY_AND_DISK)
        self._broadcasts[rdd.id()] = list(broadcasts)
        return rdd

    # ------------------------------------------------------------------ the four steps
    def load(self, corpus):
        """An RDD of the partitions of ``corpus``: a Spark DataFrame, an RDD of token lists
        (or ``(tokens, domain)`` pairs), or anything
        :func:`~hmmtl.executors.sources.plan_partitions` takes (files read on the
        executors)."""
        from pyspark import RDD

        if hasattr(corpus, "rdd") and hasattr(corpus, "columns"):   # a DataFrame
            if self.tokens_col not in corpus.columns:
                raise KeyError(f"no column {self.tokens_col!r} in the DataFrame (columns: "
                               f"{corpus.columns})")
            rdd = corpus.rdd.mapPartitions(
                _rows_to_sentences(self.tokens_col, self.label_cols, self.domain_col))
            return self._keep(rdd)
        if isinstance(corpus, RDD):
            return self._keep(corpus.mapPartitions(lambda items: [_as_sentences(items)]))
        n = self.n_partitions or self.sc.defaultParallelism
        sources = plan_partitions(corpus, n)
        rdd = self.sc.parallelize(sources, len(sources)).map(
            lambda source: _guarded(read_partition, (), source))
        return self._keep(rdd)

    def map(self, fn, parts, *args):
        bc = self.sc.broadcast(args)
        return self._keep(parts.map(lambda part: _guarded(fn, bc.value, part)), bc)

    def collect(self, fn, parts, *args) -> list:
        bc = self.sc.broadcast(args)
        try:
            return [_raise_failure(v) for v in
                    parts.map(lambda part: _guarded(fn, bc.value, part)).collect()]
        finally:
            bc.destroy()

    def map_sum(self, fn, parts, *args, select=None):
        t0 = time.perf_counter()
        bc = self.sc.broadcast(args)
        try:
            if select is None:
                rdd = parts.map(lambda part: _guarded(fn, bc.value, part))
                n_tasks = parts.getNumPartitions()
            else:
                chosen = dict(select)

                def run(i, it):
                    if i not in chosen:
                        return []
                    return [_guarded(lambda *a: fn(*a[:-1], selected(a[-1], chosen[i])),
                                     bc.value, part) for part in it]

                rdd = parts.mapPartitionsWithIndex(run)
                n_tasks = len(chosen)
            total = _raise_failure(rdd.treeAggregate(None, _add, _add, depth=self.depth))
        finally:
            bc.destroy()
        self.timings_.append({"wall": time.perf_counter() - t0, "n_tasks": n_tasks})
        return total

    def run(self, fn, items, *args) -> list:
        """``[fn(*args, item) for item in items]``, one task per item (files to tag, ...),
        results in order; an input error is raised as it would be in this process."""
        items = list(items)
        if not items:
            return []
        bc = self.sc.broadcast(args)
        try:
            rdd = self.sc.parallelize(items, len(items))
            return [_raise_failure(v) for v in
                    rdd.map(lambda item: _guarded(fn, bc.value, item)).collect()]
        finally:
            bc.destroy()

    def release(self, parts) -> None:
        """Uncache the partitions and free the broadcasts they were made with."""
        parts.unpersist()
        for bc in self._broadcasts.pop(parts.id(), []):
            bc.unpersist()
