"""The Dask executor: partitions on the workers of a ``dask.distributed`` cluster.

Each partition is made by a task (read from a file, taken from a ``dask.bag``, or carried
in the task itself), never scattered, so that when a worker dies the scheduler rebuilds its
partitions from their sources and reruns what was lost.  An E-step (:meth:`DaskExecutor.map_sum`)

1. sends the parameters once: one task holds them and every partition's task refers to it,
   so each worker fetches them once;
2. runs ``family.e_step`` on every partition, where the data lies;
3. sums the statistics by a tree reduction whose shape depends only on the partition
   indices (partition 0 + 1, 2 + 3, ...), so that the floating-point sum, and hence the
   fitted parameters, do not depend on which worker finished first.

Only parameters (K^2 + K*V numbers) go out and only statistics of the same size come back,
whatever the size of the corpus.  Dask is imported only when this module is: ``import hmmtl``
does not import it.

Examples
--------
>>> from dask.distributed import Client, LocalCluster          # doctest: +SKIP
>>> from hmmtl import CategoricalHMM                             # doctest: +SKIP
>>> from hmmtl.executors.dask import DaskExecutor                # doctest: +SKIP
>>> with LocalCluster(n_workers=2, processes=True) as cluster, Client(cluster) as client:
...     hmm = CategoricalHMM(n_states=64).fit(["a.txt", "b.conllu"],
...                                           executor=DaskExecutor(client))
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
import uuid

import numpy as np

from .local import selected, sum_stats
from .sources import Files, Sentences, plan_partitions, read_partition

try:
    import dask  # noqa: F401
    from dask.distributed import Client, default_client
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hmmtl.executors.dask needs Dask: pip install 'hmmtl[dask]'") from exc

__all__ = ["DaskExecutor", "client_on", "fit_em", "get_client"]


def get_client(client=None):
    """A ``dask.distributed.Client``: the one given, one connected to an address string, or
    the current default client."""
    if client is None:
        try:
            return default_client()
        except ValueError:
            raise ValueError("no Dask client: pass client=Client(...) (or an address such as "
                             "'tcp://scheduler:8786'), or create a Client first") from None
    if isinstance(client, str):
        return Client(client)
    return client


@contextlib.contextmanager
def client_on(address: str, *, n_workers: int | None = None):
    """A Dask client for the duration of a ``with`` block, as
    :func:`hmmtl.executors.spark.session_on` gives a Spark session: the current default
    client when there is one on ``address`` (or any, for ``"local"``), left running; else
    a new client of the scheduler at ``address`` (``tcp://host:8786``), or for ``"local"``
    of a new ``LocalCluster`` of worker processes on this machine (``n_workers``, default
    one per core, one thread each), closed at the end."""
    try:
        current = default_client()
    except ValueError:
        current = None
    if current is not None and (address == "local" or address == current.scheduler.address):
        yield current
        return
    cluster = None
    if address == "local":
        from dask.distributed import LocalCluster

        n = n_workers or max(1, os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _identity(value):
    return value


def _apply(fn, args, part):
    return fn(*args, part)


def _apply_selected(fn, args, part, index):
    return fn(*args, selected(part, index))


def _sum(*parts):
    return sum_stats(parts)


def _bag_partition(items) -> Sentences:
    """A ``dask.bag`` partition (token lists, or ``(tokens, domain)`` pairs) as sentences."""
    items = list(items)
    if items and isinstance(items[0], tuple) and len(items[0]) == 2:
        return Sentences([list(t) for t, _ in items], None, [d for _, d in items])
    return Sentences([list(t) for t in items])


def _is_bag(corpus) -> bool:
    return type(corpus).__module__.startswith("dask.bag") and hasattr(corpus, "to_delayed")


class DaskExecutor:
    """Runs the steps of a fit over partitions held on Dask workers.

    Parameters
    ----------
    client : dask.distributed.Client, str or None
        The cluster: a client, a scheduler address, or None for the current default client.
    n_partitions : int, optional
        Partitions of an in-memory corpus (a list of sentences, a RaggedBatch); default:
        twice the number of worker threads.  Files are one partition each and a
        ``dask.bag`` keeps its own partitions.
    split_every : int, default=8
        Fan-in of the tree reduction of the statistics.

    Attributes
    ----------
    timings_ : list of dict
        Per :meth:`map_sum` call: ``wall`` seconds (from sending the parameters to holding
        the sum), ``n_tasks``, ``args_bytes`` (one copy of the broadcast arguments).
    """

    def __init__(self, client=None, *, n_partitions: int | None = None, split_every: int = 8):
        if split_every < 2:
            raise ValueError(f"split_every must be >= 2, got {split_every}")
        if n_partitions is not None and int(n_partitions) < 1:
            raise ValueError(f"n_partitions must be >= 1, got {n_partitions}")
        self.client = get_client(client)
        self.n_partitions = n_partitions
        self.split_every = int(split_every)
        self._token = uuid.uuid4().hex[:10]
        self._counter = itertools.count()
        self.timings_: list[dict] = []

    # ------------------------------------------------------------------ plumbing
    def _submit(self, fn, *args, what: str):
        key = f"hmmtl-{what}-{self._token}-{next(self._counter)}"
        return self.client.submit(fn, *args, key=key, pure=False)

    def _broadcast(self, args: tuple):
        """One future holding ``args``, which every task of a step refers to: the values
        travel once per worker, never with each task (and are recomputed if lost)."""
        return self._submit(_identity, args, what="args")

    def _tree_sum(self, futures: list, what: str = "sum"):
        """Sum ``futures`` in a tree fixed by their order (never by completion order)."""
        level = list(futures)
        if not level:
            return None
        while len(level) > 1:
            level = [self._submit(_sum, *level[i:i + self.split_every], what=what)
                     for i in range(0, len(level), self.split_every)]
        return level[0].result()

    def default_partitions(self) -> int:
        if self.n_partitions is not None:
            return int(self.n_partitions)
        return 2 * (sum(self.client.nthreads().values()) or 1)

    # ------------------------------------------------------------------ the four steps
    def load(self, corpus) -> list:
        """Futures of the partitions of ``corpus``: a ``dask.bag`` (of token lists or
        ``(tokens, domain)`` pairs), or anything :func:`~hmmtl.executors.sources.plan_partitions`
        takes (files are read on the workers)."""
        if _is_bag(corpus):
            parts = self.client.compute(corpus.to_delayed())
            return [self._submit(_bag_partition, p, what="read") for p in parts]
        return [self._submit(read_partition, s, what="read")
                for s in plan_partitions(corpus, self.default_partitions())]

    def map(self, fn, parts, *args) -> list:
        """Futures of ``fn(*args, part)`` for every partition, held on the workers."""
        ref = self._broadcast(args)
        return [self._submit(_apply, fn, ref, p, what="map") for p in parts]

    def collect(self, fn, parts, *args) -> list:
        return self.client.gather(self.map(fn, parts, *args))

    def map_sum(self, fn, parts, *args, select=None):
        t0 = time.perf_counter()
        ref = self._broadcast(args)
        if select is None:
            futures = [self._submit(_apply, fn, ref, p, what="e-step") for p in parts]
        else:
            futures = [self._submit(_apply_selected, fn, ref, parts[i], idx, what="e-step")
                       for i, idx in select]
        total = self._tree_sum(futures, "stats-sum")
        self.timings_.append({"wall": time.perf_counter() - t0, "n_tasks": len(futures),
                              "args_bytes": _nbytes(args)})
        return total

    def release(self, parts) -> None:
        """Nothing to do: a partition's data is freed on the workers when no future refers
        to it any more (its task is kept while later partitions depend on it, so that it
        can be rebuilt)."""


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    if hasattr(value, "_asdict"):
        return sum(_nbytes(v) for v in value._asdict().values())
    return 0


# ============================================================================ user helpers
def fit_em(model, corpus, client=None, *, n_partitions: int | None = None,
           format: str | None = None, split_every: int = 8, **params):
    """Fit an hmmtl HMM with the E-step on Dask workers: ``model.fit(corpus,
    executor=DaskExecutor(client))``.

    Parameters
    ----------
    model : CategoricalHMM, MultiDomainHMM or MultiTaskHMM
        Its settings apply; ``**params`` overrides them (``model.set_params``).
    corpus : dask.bag.Bag, list of paths, Files, list of token lists, RaggedBatch, ...
        See :meth:`DaskExecutor.load`.
    format : {"text", "conll", "conllu"}, optional
        Format of corpus files (default: from each file's name).

    Returns
    -------
    model, fitted: the parameters ``model.fit(corpus)`` gives in one process, up to the
    order of floating-point additions.
    """
    if params:
        model.set_params(**params)
    if format is not None and not isinstance(corpus, Files) and not _is_bag(corpus) \
            and isinstance(corpus, (list, tuple)) and corpus \
            and all(isinstance(p, (str, os.PathLike)) for p in corpus):
        corpus = Files(tuple(corpus), format=format)
    executor = DaskExecutor(client, n_partitions=n_partitions, split_every=split_every)
    return model.fit(corpus, executor=executor)
