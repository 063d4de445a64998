"""Expectation-maximization and tagging on a Dask cluster.

The corpus is cut into partitions that live on the workers for the whole fit, encoded once.
Each EM iteration then

1. sends the current parameters to the workers once (one future that every task refers
   to: each worker receives them once, no task carries them);
2. runs the E-step of the model (``model._e_step(batch)``) on every partition, where the
   data lies, giving additive sufficient statistics (expected start, transition and emission
   counts, log-likelihood, token count);
3. sums those statistics by a tree reduction whose shape depends only on the partition
   indices (partition 0 + 1, 2 + 3, ...), so that the floating-point sum, and hence the
   fitted parameters, do not depend on which worker finished first;
4. runs the M-step (``model._m_step(stats)``) on the client.

Only parameters (K² + K·V numbers) go out and only statistics of the same size come back,
whatever the size of the corpus.  A partition is made by a task (read from a file, taken from
a ``dask.bag`` or carried in the task itself), never scattered, so that when a worker dies the
scheduler rebuilds its partitions and reruns its E-steps elsewhere: the iteration completes
with the same sums.

The fit follows ``model.fit`` step for step (vocabulary, initialization, restarts,
convergence rule), so that it gives the parameters ``model.fit`` gives on one machine, up to
the order of floating-point additions.  Online (stepwise) EM draws each mini-batch across all
partitions: the client draws the pass's permutation of all sequences with the model's random
state, as ``model.fit`` does, and each mini-batch's sequences are taken from the partitions
that hold them; the client interpolates the summed statistics into the running ones with
step size ``(t + 2) ** -alpha`` (Liang & Klein 2009).

Dask is imported only when one of these functions runs: ``import hmmtl`` does not import it.

Examples
--------
>>> from dask.distributed import Client, LocalCluster          # doctest: +SKIP
>>> from hmmtl import CategoricalHMM                             # doctest: +SKIP
>>> from hmmtl.distributed import fit_em                         # doctest: +SKIP
>>> with LocalCluster(n_workers=2, processes=True) as cluster, Client(cluster) as client:
...     hmm = fit_em(CategoricalHMM(n_states=64, n_iter=20), ["a.txt", "b.txt"], client)
...     paths = tag_to_shards(hmm, ["a.txt", "b.txt"], "tagged/", client)
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .data import RaggedBatch, Vocabulary

__all__ = [
    "DistributedEM",
    "fit_em",
    "build_vocabulary",
    "tag_to_shards",
    "add_tag_column",
    "train_hmm_distributed",
    "sum_stats",
    "get_client",
]

_TEXT_FORMATS = ("text", "conllu", "conll")


# ============================================================================ statistics
def _add_values(a, b):
    if a is None or b is None:
        if a is None and b is None:
            return None
        raise ValueError("cannot add statistics where one side is None and the other is not")
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.add(a, b)
    return a + b


def _add_two(a, b):
    """``a + b`` for one of: an object with its own ``__add__`` (not a tuple's), a dataclass,
    a named tuple, a dict, an array or a number -- fieldwise for the containers."""
    if a is None:
        return b
    if b is None:
        return a
    if type(a) is not type(b):
        raise TypeError(f"cannot add statistics of types {type(a).__name__} and {type(b).__name__}")
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        if "__add__" in type(a).__dict__:
            return a + b
        values = {f.name: _add_values(getattr(a, f.name), getattr(b, f.name))
                  for f in dataclasses.fields(a) if f.init}
        return type(a)(**values)
    if isinstance(a, tuple) and hasattr(a, "_fields"):
        if "__add__" in type(a).__dict__:
            return a + b
        return type(a)(*map(_add_values, a, b))
    if isinstance(a, dict):
        if a.keys() != b.keys():
            raise ValueError(f"statistics have different fields: {sorted(a)} vs {sorted(b)}")
        return {k: _add_values(a[k], b[k]) for k in a}
    return _add_values(a, b)


def sum_stats(*parts):
    """Sum sufficient statistics left to right, skipping ``None`` (an empty partition).

    The order of the arguments fixes the order of the floating-point additions: a caller that
    always passes the same partitions in the same order gets bit-identical sums.
    """
    total = None
    for part in parts:
        total = _add_two(total, part)
    return total


def _scale_stats(stats, factor: float):
    """Every floating-point array or number in ``stats`` times ``factor``."""
    def scale(v):
        if v is None or isinstance(v, (bool, np.bool_)):
            return v
        if isinstance(v, np.ndarray):
            return v * factor if np.issubdtype(v.dtype, np.floating) else v * factor
        if isinstance(v, (int, float, np.number)):
            return v * factor
        return v

    if dataclasses.is_dataclass(stats) and not isinstance(stats, type):
        return type(stats)(**{f.name: scale(getattr(stats, f.name))
                              for f in dataclasses.fields(stats) if f.init})
    if isinstance(stats, tuple) and hasattr(stats, "_fields"):
        return type(stats)(*map(scale, stats))
    if isinstance(stats, dict):
        return {k: scale(v) for k, v in stats.items()}
    return scale(stats)


def _stats_nbytes(stats) -> int:
    if stats is None:
        return 0
    if dataclasses.is_dataclass(stats) and not isinstance(stats, type):
        values = [getattr(stats, f.name) for f in dataclasses.fields(stats)]
    elif isinstance(stats, tuple):
        values = list(stats)
    elif isinstance(stats, dict):
        values = list(stats.values())
    else:
        values = [stats]
    return int(sum(v.nbytes if isinstance(v, np.ndarray) else 8 for v in values if v is not None))


def _stat(stats, name: str, default=None):
    if isinstance(stats, dict):
        return stats.get(name, default)
    return getattr(stats, name, default)


# ============================================================================ parameters
def _is_parameter(name: str, value) -> bool:
    """Fitted arrays (``start_prob_``, ``transition_prob_``, ``emission_prob_``,
    per-domain arrays, interpolation weights ...) are what the E-step reads and the M-step
    changes; everything else of the estimator (vocabulary, settings) is constant during a fit."""
    return name.endswith("_") and not name.startswith("__") and isinstance(value, np.ndarray)


def _parameters(model) -> dict[str, np.ndarray]:
    names = getattr(model, "_PARAMS", None)
    if names is not None:   # the estimator's own list of parameter arrays
        return {n: getattr(model, n) for n in names if hasattr(model, n)}
    return {k: v for k, v in vars(model).items() if _is_parameter(k, v)}


def _template(model):
    """A shallow copy of the estimator without its parameter arrays: sent to each worker
    once per fit; each task puts the iteration's broadcast parameters into a copy of it."""
    t = copy.copy(model)
    for name in list(_parameters(model)):
        delattr(t, name)
    if hasattr(t, "monitor_"):
        t.monitor_ = None
    return t


def _with_parameters(template, params: dict):
    m = copy.copy(template)
    m.__dict__.update(params)
    return m


# ============================================================================ worker tasks
def _read_file(path: str, fmt: str):
    """One file, read on a worker: token lists (plain text, one sentence a line) or a
    :class:`hmmtl.io.Corpus` (CoNLL-U, CoNLL), which keeps its other columns and domains."""
    if fmt == "text":
        with open(path, encoding="utf-8") as f:
            return [line.split() for line in f if line.strip()]
    if fmt == "conllu":
        from .io import read_conllu

        return read_conllu(path)
    if fmt == "conll":
        from .io.conll import read_conll

        return read_conll(path)
    raise ValueError(f"format must be one of {_TEXT_FORMATS}, got {fmt!r}")


def _load(source, fmt: str | None):
    """The data of a partition source: a path read here, or the data itself."""
    if isinstance(source, (str, os.PathLike)):
        return _read_file(os.fspath(source), fmt or "text")
    return source


def _split_domains(data):
    """``(sentences, domains or None)`` of a partition: a Corpus, a ``(sentences, domains)``
    pair, a list of ``(tokens, domain)`` items (a bag of pairs) or a list of token lists."""
    if hasattr(data, "sentences") and hasattr(data, "domains"):   # hmmtl.io.Corpus
        return list(data.sentences), list(data.domains)
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], list):
        return list(data[0]), list(data[1])
    data = list(data)
    if data and isinstance(data[0], tuple) and len(data[0]) == 2:
        return [list(t) for t, _ in data], [d for _, d in data]
    return data, None


def _count_task(source, fmt, lowercase: bool) -> Counter:
    sentences, _ = _split_domains(_load(source, fmt))
    flat = itertools.chain.from_iterable(sentences)
    return Counter(map(str.lower, flat) if lowercase else flat)


def _sum_counters(*counters) -> Counter:
    total: Counter = Counter()
    for c in counters:
        total.update(c)
    return total


def _is_multi_domain(model) -> bool:
    return hasattr(model, "n_domains")


def _encode_task(template, source, fmt) -> RaggedBatch:
    data = _load(source, fmt)
    if isinstance(data, RaggedBatch):
        return data
    sentences, domains = _split_domains(data)
    if _is_multi_domain(template):
        if domains is None:
            raise ValueError("a MultiDomainHMM needs the domain of each sentence: give "
                             "(sentences, domains) partitions, a bag of (tokens, domain) "
                             "pairs, CoNLL(-U) files, or RaggedBatch partitions with domains")
        return template.encode(sentences, domains=domains)
    return template.encode(sentences)


def _describe_task(batch: RaggedBatch, n_features: int) -> np.ndarray:
    """``[n_sequences, n_tokens, has_domains, max_id]`` of an encoded partition."""
    return np.array([batch.n_sequences, batch.n_tokens, batch.domains is not None,
                     int(batch.ids.max()) if batch.n_tokens else -1], dtype=np.int64)


def _bincount_task(batch: RaggedBatch, n_features: int) -> np.ndarray:
    return np.bincount(batch.ids, minlength=n_features)


def _sum_arrays(*arrays) -> np.ndarray:
    total = arrays[0].copy()
    for a in arrays[1:]:
        total += a
    return total


def _identity(value):
    return value


def _e_step_task(template, params, batch: RaggedBatch, index=None):
    """Statistics of a partition (``index``: of those of its sequences only, in that order)."""
    if index is not None:
        batch = batch.select(index)
    if batch.n_sequences == 0:
        return None
    return _with_parameters(template, params)._e_step(batch)


# ============================================================================ client side
def get_client(client=None):
    """A ``dask.distributed.Client``: the one given, one connected to an address string, or
    the current default client."""
    try:
        from dask.distributed import Client, default_client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("hmmtl.distributed needs Dask: pip install 'hmmtl[dask]'") from exc
    if client is None:
        try:
            return default_client()
        except ValueError:
            raise ValueError("no Dask client: pass client=Client(...) (or an address such as "
                             "'tcp://scheduler:8786'), or create a Client first") from None
    if isinstance(client, str):
        return Client(client)
    return client


def _is_bag(corpus) -> bool:
    return type(corpus).__module__.startswith("dask.bag") and hasattr(corpus, "to_delayed")


def _is_paths(corpus) -> bool:
    return (isinstance(corpus, (list, tuple)) and len(corpus) > 0
            and all(isinstance(p, (str, os.PathLike)) for p in corpus))


def _split_list(items: list, n_parts: int) -> list[list]:
    n_parts = max(1, min(int(n_parts), max(len(items), 1)))
    bounds = np.linspace(0, len(items), n_parts + 1).round().astype(np.int64)
    return [items[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


def _describe(corpus) -> str:
    return f"{type(corpus).__name__}" + (f" of length {len(corpus)}" if hasattr(corpus, "__len__") else "")


class DistributedEM:
    """EM of an hmmtl HMM whose E-step runs on Dask workers.

    The fit follows ``model.fit`` step for step -- same vocabulary, same initialization
    (random state, unigram counts), same restarts (``n_init``), same convergence rule and,
    for online EM, the same mini-batches (one permutation of all sequences per pass, drawn
    on the client with the model's random state, each mini-batch's sequences looked up in
    the partitions that hold them) -- so that it gives the parameters ``model.fit`` gives on
    one machine, up to the order of floating-point additions.

    Parameters
    ----------
    client : dask.distributed.Client, str or None
        The cluster: a client, a scheduler address, or None for the current default client.
    n_partitions : int, optional
        How many partitions to cut an in-memory corpus into (a list of sentences or one
        :class:`~hmmtl.data.RaggedBatch`); default: twice the number of worker threads.
        Files are one partition each and a ``dask.bag`` keeps its own partitions.
    format : {"text", "conllu", "conll"}, default="text"
        How files given as the corpus are read (on the workers).
    split_every : int, default=8
        Fan-in of the tree reduction of the statistics.
    broadcast : {"task", "scatter"}, default="task"
        How the parameters reach the workers each iteration (see :meth:`_broadcast`):
        once per worker either way; ``"task"`` survives the death of any worker,
        ``"scatter"`` saves one hop.
    max_attempts : int, default=3
        Times an E-step is submitted when scattered parameters were lost with a worker.

    Attributes
    ----------
    partitions_ : list of distributed.Future
        The encoded partitions (:class:`~hmmtl.data.RaggedBatch`), held on the workers.
    partition_sizes_ : ndarray of shape (n_partitions, 2)
        Sequences and tokens of each partition.
    n_sequences_, n_tokens_ : int
        Corpus size.
    timings_ : list of dict
        Per EM iteration (or online mini-batch): ``wall`` seconds, ``scatter`` seconds
        (broadcasting the parameters), ``reduce`` seconds (from submitting the E-steps to
        holding the summed statistics), ``m_step`` seconds, ``params_bytes`` (one copy of the
        parameters; the broadcast sends one copy to each worker), ``stats_bytes`` (one
        partition's statistics) and ``n_tasks``.
    lost_iterations_ : int
        E-steps submitted again because a worker died with the parameters' last copy.
    """

    def __init__(self, client=None, *, n_partitions: int | None = None, format: str = "text",
                 split_every: int = 8, broadcast: str = "task", max_attempts: int = 3):
        if format not in _TEXT_FORMATS:
            raise ValueError(f"format must be one of {_TEXT_FORMATS}, got {format!r}")
        if split_every < 2:
            raise ValueError(f"split_every must be >= 2, got {split_every}")
        if n_partitions is not None and int(n_partitions) < 1:
            raise ValueError(f"n_partitions must be >= 1, got {n_partitions}")
        self.client = get_client(client)
        self.n_partitions = n_partitions
        self.format = format
        self.split_every = int(split_every)
        if broadcast not in ("task", "scatter"):
            raise ValueError(f"broadcast must be 'task' or 'scatter', got {broadcast!r}")
        self.broadcast = broadcast
        self.max_attempts = int(max_attempts)
        self._token = uuid.uuid4().hex[:10]
        self._counter = itertools.count()
        self._template_fut = None
        self._template_for = None
        self.partitions_: list = []
        self.timings_: list[dict] = []
        self.lost_iterations_ = 0

    # ------------------------------------------------------------------ plumbing
    def _key(self, what: str) -> str:
        return f"hmmtl-{what}-{self._token}-{next(self._counter)}"

    def _submit(self, fn, *args, what: str):
        return self.client.submit(fn, *args, key=self._key(what), pure=False)

    def _broadcast(self, value, what: str = "params"):
        """One future of ``value`` that every task of the iteration refers to, so that the
        value travels once per worker, never with each task.

        ``"task"``: a task returning the value -- sent once to the scheduler, computed on one
        worker, fetched once by each other worker that needs it; recomputed if its worker
        dies.  ``"scatter"``: ``client.scatter(broadcast=True)`` puts a copy on every worker
        directly, but scattered data cannot be recomputed: a worker that dies with its last
        copy (the scheduler drops replicas it deems unneeded) cancels the iteration, which
        :meth:`e_step` then resubmits.
        """
        if self.broadcast == "scatter":
            # A list around the value: scatter would send a dict's items as separate keys.
            [future] = self.client.scatter([value], broadcast=True, hash=False)
            return future
        return self._submit(_identity, value, what=what)

    def _template_future(self, model):
        # The estimator without its parameters (vocabulary, settings) travels once per fit,
        # as a task of its own rather than scattered data: the encoded partitions depend on
        # it, and a task can be recomputed when the worker holding it dies.
        if self._template_for is not model:
            self._template_fut = self._submit(_identity, _template(model), what="model")
            # ("task" transport always: the encoded partitions depend on it)
            self._template_for = model
        return self._template_fut

    def _default_n_partitions(self) -> int:
        if self.n_partitions is not None:
            return int(self.n_partitions)
        threads = sum(self.client.nthreads().values()) or 1
        return 2 * threads

    def _sources(self, corpus) -> list:
        """One future or plain value per partition, from which a task can read sentences.

        Nothing is scattered: a partition is rebuilt from its source when its worker dies.
        """
        if _is_bag(corpus):
            return self.client.compute(corpus.to_delayed())
        if isinstance(corpus, RaggedBatch):
            return corpus.split(self._default_n_partitions())
        if _is_paths(corpus):
            missing = [os.fspath(p) for p in corpus if not Path(p).exists()]
            if missing:
                raise FileNotFoundError(f"corpus file(s) not found: {missing[:5]}")
            return [os.fspath(p) for p in corpus]
        if isinstance(corpus, (list, tuple)) and corpus:
            first = corpus[0]
            if all(isinstance(p, RaggedBatch) for p in corpus):
                return list(corpus)
            if isinstance(first, tuple) and len(first) == 2 and isinstance(first[0], list) \
                    and first[0] and isinstance(first[0][0], list):
                return [(list(s), list(d)) for s, d in corpus]   # (sentences, domains) parts
            if isinstance(first, str):
                raise TypeError("expected a list of token lists, file paths, RaggedBatch "
                                "partitions or a dask.bag; got a list of strings that are not "
                                f"existing files (first: {first!r})")
            if isinstance(first, (list, tuple)):
                return _split_list(list(corpus), self._default_n_partitions())
        raise TypeError(f"corpus must be a dask.bag of token lists, a list of file paths, a list "
                        f"of token lists, (sentences, domains) partitions, a RaggedBatch or a "
                        f"list of RaggedBatch partitions; got {_describe(corpus)}")

    def _tree_reduce(self, futures: list, func: Callable, what: str):
        """Sum ``futures`` in a tree fixed by their order (never by completion order)."""
        level = list(futures)
        if not level:
            raise ValueError("the corpus has no partitions")
        while len(level) > 1:
            level = [self._submit(func, *level[i:i + self.split_every], what=what)
                     for i in range(0, len(level), self.split_every)]
        return level[0]

    # ------------------------------------------------------------------ corpus
    def build_vocabulary(self, corpus, vocabulary: Vocabulary) -> Vocabulary:
        """Fit ``vocabulary`` (unfitted) on word counts made on the workers and summed."""
        sources = self._sources(corpus)
        if sources and isinstance(sources[0], RaggedBatch):
            raise ValueError("the corpus is already encoded (RaggedBatch); pass the vocabulary "
                             "it was encoded with, or none for integer ids")
        counts = [self._submit(_count_task, s, self.format, vocabulary.lowercase, what="count")
                  for s in sources]
        total = self._tree_reduce(counts, _sum_counters, "count-sum").result()
        return vocabulary.fit_counts(dict(total))

    def scatter_corpus(self, corpus, model) -> list:
        """Encode the corpus on the workers with ``model``'s vocabulary and keep it there.

        Returns the futures of the encoded partitions (also in :attr:`partitions_`).
        """
        self._template_for = None   # the vocabulary may have changed
        template = self._template_future(model)
        sources = self._sources(corpus)
        self.partitions_ = [self._submit(_encode_task, template, s, self.format, what="encode")
                            for s in sources]
        info = np.asarray(self.client.gather(
            [self._submit(_describe_task, p, 0, what="describe") for p in self.partitions_]),
            dtype=np.int64).reshape(-1, 4)
        self.partition_sizes_ = info[:, :2].copy()
        self.has_domains_ = bool(info[:, 2].all()) and len(info) > 0
        self.max_id_ = int(info[:, 3].max()) if len(info) else -1
        self.n_sequences_ = int(info[:, 0].sum())
        self.n_tokens_ = int(info[:, 1].sum())
        if self.n_tokens_ == 0:
            raise ValueError(f"the corpus ({_describe(corpus)}) holds no tokens; expected at "
                             f"least one non-empty sentence")
        return self.partitions_

    def unigram_counts(self, n_features: int) -> np.ndarray:
        """Token count of every id over the corpus (summed on the workers)."""
        parts = [self._submit(_bincount_task, p, n_features, what="bincount")
                 for p in self.partitions_]
        return self._tree_reduce(parts, _sum_arrays, "bincount-sum").result()

    # ------------------------------------------------------------------ E-step
    def e_step(self, model, selection=None):
        """Sufficient statistics of the corpus under ``model``'s current parameters.

        selection : list of (partition index, sequence indices), optional
            Only these sequences (an online mini-batch); default all.

        A partition whose worker died is rebuilt and its E-step rerun by the scheduler.
        Scattered parameters cannot be rebuilt: if a worker death takes their last copy
        (the scheduler may drop broadcast replicas it deems unneeded), the iteration's
        E-steps are cancelled, and are submitted again here with freshly scattered
        parameters -- the sums are the same, the reduction tree being fixed.
        """
        from concurrent.futures import CancelledError

        for attempt in range(self.max_attempts):
            try:
                return self._e_step_once(model, selection)
            except CancelledError:
                if attempt == self.max_attempts - 1:
                    raise
                self.lost_iterations_ += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def _e_step_once(self, model, selection):
        t0 = time.perf_counter()
        template = self._template_future(model)
        params = _parameters(model)
        params_future = self._broadcast(params)
        t1 = time.perf_counter()
        if selection is None:
            parts = [self._submit(_e_step_task, template, params_future, p, what="e-step")
                     for p in self.partitions_]
        else:
            parts = [self._submit(_e_step_task, template, params_future, self.partitions_[i],
                                  index, what="e-step") for i, index in selection]
        stats = self._tree_reduce(parts, sum_stats, "stats-sum").result()
        t2 = time.perf_counter()
        self._last = {"scatter": t1 - t0, "reduce": t2 - t1, "n_tasks": len(parts),
                      "params_bytes": int(sum(a.nbytes for a in params.values())),
                      "stats_bytes": _stats_nbytes(stats)}
        return stats

    # ------------------------------------------------------------------ fitting
    def prepare(self, model, corpus, *, vocabulary: Vocabulary | None = None):
        """Vocabulary (given, or counted on the workers), encoded partitions on the workers,
        ``n_features_`` / ``n_states_`` / domains set on ``model`` as ``model.fit`` sets them."""
        check = getattr(model, "_check_params", None)
        if check is not None:
            check()
        encoded = isinstance(corpus, RaggedBatch) or (
            isinstance(corpus, (list, tuple)) and corpus
            and all(isinstance(p, RaggedBatch) for p in corpus))
        if vocabulary is not None:
            model.vocabulary_ = vocabulary
        elif encoded:
            model.vocabulary_ = None
        else:
            model.vocabulary_ = self.build_vocabulary(corpus, _new_vocabulary(model))
        if model.vocabulary_ is not None:
            model.n_features_ = len(model.vocabulary_)
        else:
            # ids: n_features_ must be known before encoding checks ids against it
            model.n_features_ = int(getattr(model, "n_features", None) or np.iinfo(np.int32).max)
        self.scatter_corpus(corpus, model)
        if model.vocabulary_ is None:
            n_feat = self.max_id_ + 1
            if getattr(model, "n_features", None) is not None:
                if n_feat > int(model.n_features):
                    raise ValueError(f"the corpus holds id {n_feat - 1} but n_features = "
                                     f"{model.n_features}; ids must lie in [0, n_features)")
                n_feat = int(model.n_features)
            model.n_features_ = n_feat
            self._template_for = None
        model.n_states_ = int(model.n_states)
        model.labels_ = None   # unsupervised: states are not labels
        if _is_multi_domain(model):
            if not self.has_domains_:
                raise ValueError("a MultiDomainHMM needs the domain of each sequence: give "
                                 "(sentences, domains) partitions, a bag of (tokens, domain) "
                                 "pairs, CoNLL(-U) files, or RaggedBatch partitions with domains")
            model._prepare_domains(RaggedBatch(np.zeros(0, np.int32), np.zeros(1, np.int64),
                                               domains=np.zeros(0, np.int32)))
        self._template_for = None
        return model

    def fit(self, model, corpus=None, *, vocabulary: Vocabulary | None = None,
            init: bool = True, verbose: bool | None = None):
        """Fit ``model`` by EM over ``corpus`` (or the partitions already on the workers).

        Parameters
        ----------
        model : CategoricalHMM or MultiDomainHMM
            Its settings (``n_states``, priors, ``n_iter``, ``tol``, ``algorithm``,
            ``batch_size``, ``stepsize_alpha``, ``n_init``, ``random_state``) apply.
        corpus : see :func:`fit_em`; None reuses :attr:`partitions_`.
        vocabulary : Vocabulary, optional
            Use this vocabulary instead of counting one on the workers.
        init : bool, default=True
            Initialize as ``model.fit`` does; False continues from the model's parameters
            (one run, no restarts).
        verbose : bool, optional
            tqdm progress bar (default: ``model.verbose``).

        Returns
        -------
        model
            Fitted in place, with ``monitor_`` as ``model.fit`` leaves it.
        """
        from sklearn.utils import check_random_state

        if corpus is not None:
            self.prepare(model, corpus, vocabulary=vocabulary)
        elif not self.partitions_:
            raise ValueError("no corpus: pass one, or call prepare(model, corpus) first")
        verbose = bool(getattr(model, "verbose", False)) if verbose is None else verbose
        algorithm = getattr(model, "algorithm", "batch")
        if algorithm not in ("batch", "online"):
            raise ValueError(f"algorithm must be 'batch' or 'online', got {algorithm!r}")
        rs = check_random_state(model.random_state)
        n_init = int(getattr(model, "n_init", 1)) if init else 1
        counts = self.unigram_counts(model.n_features_) if init else None
        best, best_obj, best_monitor = None, -np.inf, None
        for _ in range(n_init):
            if init:
                model._init_params(model.n_features_, rs, counts)
            self._template_for = None
            monitor = _make_monitor(model)
            if algorithm == "online":
                self._fit_online(model, monitor, rs, verbose)
            else:
                self._fit_batch(model, monitor, verbose)
            obj = monitor.history[-1]
            if best is None or obj > best_obj:
                best, best_obj, best_monitor = _parameters(model), obj, monitor
        model.__dict__.update(best)
        model.monitor_ = best_monitor
        return model

    def _iterations(self, model, verbose: bool, desc: str):
        rng = range(int(model.n_iter))
        if verbose:
            from tqdm.auto import tqdm

            return tqdm(rng, desc=desc, unit="iter")
        return rng

    def _fit_batch(self, model, monitor, verbose: bool):
        for _ in self._iterations(model, verbose, "distributed EM"):
            t0 = time.perf_counter()
            stats = self.e_step(model)
            ll = float(_stat(stats, "log_likelihood"))
            monitor.report(ll + _log_prior(model), ll)
            t1 = time.perf_counter()
            model._m_step(stats)
            t2 = time.perf_counter()
            self.timings_.append({"wall": t2 - t0, "m_step": t2 - t1, **self._last})
            if monitor.converged:
                break
        return model

    def _selection(self, global_index: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """(partition, local sequence indices) holding the given global sequence indices,
        in partition order; within a partition, in the order given."""
        ends = np.cumsum(self.partition_sizes_[:, 0])
        starts = ends - self.partition_sizes_[:, 0]
        part = np.searchsorted(ends, global_index, side="right")
        out = []
        for p in np.unique(part).tolist():
            mine = global_index[part == p]
            out.append((p, (mine - starts[p]).astype(np.int64)))
        return out

    def _fit_online(self, model, monitor, rs, verbose: bool):
        """Stepwise EM as ``model.fit`` does it (Liang & Klein 2009): one permutation of all
        sequences per pass, mini-batches of ``batch_size`` sequences gathered from the
        partitions that hold them, running statistics
        ``s <- (1 - eta_t) s + eta_t s_batch`` with ``eta_t = (t + 2) ** -alpha``, the
        mini-batch statistics scaled to the corpus size."""
        n_seq = self.n_sequences_
        bs = int(model.batch_size)
        alpha = float(model.stepsize_alpha)
        running = None
        start = getattr(model, "_stats_from_params", None)
        if start is not None:
            # the model's starting statistics need only the corpus size
            from types import SimpleNamespace

            running = start(SimpleNamespace(n_tokens=self.n_tokens_, n_sequences=n_seq))
        t = 0
        for _ in self._iterations(model, verbose, "distributed online EM"):
            perm = rs.permutation(n_seq)
            ll_pass, prior_pass = 0.0, 0.0
            for lo in range(0, n_seq, bs):
                t0 = time.perf_counter()
                prior_pass = _log_prior(model)
                stats = self.e_step(model, self._selection(perm[lo:lo + bs]))
                if stats is None or not _stat(stats, "n_tokens", 0):
                    continue
                ll_pass += float(_stat(stats, "log_likelihood"))
                t1 = time.perf_counter()
                scaled = _scale_stats(stats, self.n_tokens_ / _stat(stats, "n_tokens"))
                if running is None:
                    running = scaled
                else:
                    eta = (t + 2.0) ** (-alpha)
                    running = sum_stats(_scale_stats(running, 1.0 - eta),
                                        _scale_stats(scaled, eta))
                t += 1
                model._m_step(running)
                t2 = time.perf_counter()
                self.timings_.append({"wall": t2 - t0, "m_step": t2 - t1, **self._last})
            monitor.report(ll_pass + prior_pass, ll_pass)
            if monitor.converged:
                break
        return model

    def close(self):
        """Release the partitions and parameters held on the workers."""
        self.partitions_ = []
        self._template_for = None
        self._template_fut = None


def _log_prior(model) -> float:
    fn = getattr(model, "_log_prior", None)
    return float(fn()) if fn is not None else 0.0


def _make_monitor(model):
    from .hmm import ConvergenceMonitor

    return ConvergenceMonitor(model.tol, int(model.n_iter), False)


def _new_vocabulary(model) -> Vocabulary:
    """The unfitted vocabulary that ``model.fit`` builds for token lists."""
    return Vocabulary(min_count=getattr(model, "min_count", 1),
                      max_size=getattr(model, "max_vocab", None),
                      lowercase=getattr(model, "lowercase", False))


# ============================================================================ public helpers
def fit_em(model, corpus, client=None, *, n_partitions: int | None = None,
           vocabulary: Vocabulary | None = None, format: str = "text", init: bool = True,
           split_every: int = 8, verbose: bool | None = None, **params):
    """Fit an HMM by EM with the E-step on Dask workers.

    Parameters
    ----------
    model : CategoricalHMM or MultiDomainHMM
        Its settings (``n_iter``, ``tol``, ``algorithm``, ``batch_size``, ``n_init``,
        ``random_state``, priors ...) apply; ``**params`` overrides them
        (``model.set_params``).
    corpus : dask.bag.Bag, list of str / Path, list of token lists, RaggedBatch, list of RaggedBatch
        * a ``dask.bag`` of token lists (one sentence per item), or of ``(tokens, domain)``
          pairs for a MultiDomainHMM -- its partitions are the partitions;
        * file paths, read on the workers, one partition each (``format``; CoNLL(-U) files
          carry the domains a MultiDomainHMM needs);
        * token lists, cut into ``n_partitions`` (sent to the workers inside the tasks);
        * a list of ``(sentences, domains)`` pairs, one per partition;
        * encoded :class:`~hmmtl.data.RaggedBatch` partitions (integer ids; with
          ``vocabulary`` when they were encoded from words).
    client : dask.distributed.Client, str or None
        A client, a scheduler address, or None for the default client.
    n_partitions : int, optional
        Partitions of an in-memory corpus (default: twice the cluster's threads).
    vocabulary : Vocabulary, optional
        Skip the distributed counting pass and use this one.
    format : {"text", "conllu", "conll"}
        Format of corpus files.
    init : bool, default=True
        False continues EM from the model's current parameters.
    split_every : int, default=8
        Fan-in of the statistics' tree reduction.
    verbose : bool, optional
        Progress bar (default: ``model.verbose``).

    Returns
    -------
    model
        Fitted in place: the parameters ``model.fit(corpus)`` gives on one machine, up to
        the order of floating-point additions (within 1e-9 relative in the tests).
    """
    if params:
        model.set_params(**params)
    em = DistributedEM(client, n_partitions=n_partitions, format=format,
                       split_every=split_every)
    try:
        return em.fit(model, corpus, vocabulary=vocabulary, init=init, verbose=verbose)
    finally:
        em.close()


def build_vocabulary(corpus, client=None, *, min_count: int = 1, max_size: int | None = None,
                     lowercase: bool = False, format: str = "text",
                     n_partitions: int | None = None) -> Vocabulary:
    """A :class:`~hmmtl.data.Vocabulary` fitted on word counts made on the workers and summed:
    the vocabulary ``Vocabulary(...).fit`` gives on the whole corpus."""
    em = DistributedEM(client, n_partitions=n_partitions, format=format)
    return em.build_vocabulary(corpus, Vocabulary(min_count=min_count, max_size=max_size,
                                                  lowercase=lowercase))


# ============================================================================ tagging
def _tags_of(model, sentences: list, domains, kind: str, prefix: str) -> list[list[str]]:
    """One list of tag strings per sentence."""
    if not sentences:
        return []
    extra = {"domains": domains} if _is_multi_domain(model) else {}
    if kind == "viterbi":
        tags = model.predict(sentences, **extra)
    else:
        tags = model.transform(sentences, kind=kind, **extra)
        if isinstance(tags, np.ndarray) and tags.ndim == 2:
            tags = tags.argmax(axis=1)   # posterior or type distribution -> its best state
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    if isinstance(tags, np.ndarray):
        if tags.shape[0] != int(lengths.sum()):
            raise ValueError(f"the model returned {tags.shape[0]} tags for "
                             f"{int(lengths.sum())} tokens")
        flat = [f"{prefix}{t}" for t in tags.tolist()]
        bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return [[f"{prefix}{t}" for t in row] for row in tags]


def _as_corpus(data, out_format: str):
    from .io import Corpus

    if isinstance(data, Corpus):
        return data, list(data.domains)
    sentences, domains = _split_domains(data)
    word = "form" if out_format == "conllu" else "word"
    return Corpus(columns={word: [list(s) for s in sentences]}, word_column=word,
                  domains=None if domains is None else [str(d) for d in domains],
                  format=out_format), domains


def _tag_shard_task(model, source, fmt, path: str, out_format: str, column, kind: str,
                    prefix: str) -> tuple[str, int, int]:
    data = _load(source, fmt)
    domains = None
    if hasattr(data, "sentences") and hasattr(data, "domains"):
        corpus = data
        domains = list(corpus.domains)
    else:
        corpus, domains = _as_corpus(data, out_format)
    tags = _tags_of(model, corpus.sentences, domains, kind, prefix)
    if out_format == "conllu":
        from .io import write_conllu

        write_conllu(corpus, path, labels=tags, column=column or "xpos")
    else:
        from .io.conll import write_conll

        write_conll(corpus, path, labels=tags, column=column or "tag", sep="\t")
    return path, len(corpus), int(sum(map(len, corpus.sentences)))


def tag_to_shards(model, corpus, out_dir, client=None, *, out_format: str = "conllu",
                  column: str | None = None, kind: str = "viterbi", prefix: str = "",
                  format: str = "text", n_partitions: int | None = None) -> list[str]:
    """Tag a large corpus on the workers, one output shard per partition.

    Parameters
    ----------
    model : fitted estimator with ``predict`` (token lists -> tags)
        Broadcast to the workers once.  A MultiDomainHMM gets each sentence's domain.
    corpus : dask.bag.Bag, list of file paths, list of token lists or of (sentences, domains)
        As for :func:`fit_em`, not encoded batches: the shards hold the words.  CoNLL-U and
        CoNLL files keep all their columns, comments and layout; the tag replaces or adds
        ``column``.
    out_dir : str or Path
        Folder (created if its parent exists); shards are ``part-00000.conllu`` ... in
        partition order, each written atomically by :mod:`hmmtl.io`'s writers, so that a
        retried task never leaves half a shard.
    out_format : {"conllu", "conll"}
    column : str, optional
        Column of the tag: default ``"xpos"`` in CoNLL-U, a new last column ``"tag"`` in
        CoNLL (an existing column of that name is replaced).
    kind : {"viterbi", "posterior", "type"}
        ``"viterbi"`` calls ``model.predict``; the others ``model.transform(kind=)`` and
        take the most probable state.
    prefix : str
        Put before each tag (``"S"`` gives ``S12``).
    format : {"text", "conllu", "conll"}
        Format of input files.

    Returns
    -------
    list of str
        The shard paths, in partition order.
    """
    if out_format not in ("conllu", "conll"):
        raise ValueError(f"out_format must be 'conllu' or 'conll', got {out_format!r}")
    out_dir = Path(out_dir)
    if not out_dir.parent.exists():
        raise FileNotFoundError(f"the parent folder of out_dir={str(out_dir)!r} does not exist")
    out_dir.mkdir(exist_ok=True)
    em = DistributedEM(client, n_partitions=n_partitions, format=format)
    sources = em._sources(corpus)
    if sources and isinstance(sources[0], RaggedBatch):
        raise TypeError("tag_to_shards needs words (token lists, files or a bag), "
                        "not encoded RaggedBatch partitions")
    model_future = em._broadcast(model, what="model")
    suffix = ".conllu" if out_format == "conllu" else ".conll"
    futures = [em._submit(_tag_shard_task, model_future, s, format,
                          str(out_dir / f"part-{i:05d}{suffix}"), out_format, column, kind,
                          prefix, what="tag")
               for i, s in enumerate(sources)]
    return [path for path, _, _ in em.client.gather(futures)]


def _tag_frame_partition(df, model, tokens_column: str, column: str, kind: str,
                         domain_column: str | None):
    sentences = [s.split() if isinstance(s, str) else list(s) for s in df[tokens_column].tolist()]
    domains = None if domain_column is None else df[domain_column].tolist()
    out = df.copy()
    out[column] = [[int(t) if t.lstrip("-").isdigit() else t for t in row]
                   for row in _tags_of(model, sentences, domains, kind, "")]
    return out


def add_tag_column(ddf, model, *, tokens_column: str = "tokens", column: str = "tags",
                   kind: str = "viterbi", domain_column: str | None = None, client=None):
    """A ``dask.dataframe`` with a new column of tag lists, one row per sentence.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        With a column ``tokens_column`` holding each sentence: a token list, or a string of
        whitespace-separated tokens.  Dask turns object columns into strings unless
        ``dask.config.set({"dataframe.convert-string": False})``: a column of lists must be
        made under that setting (or stored as tokenized strings).
    model : fitted estimator with ``predict``
        Broadcast once to the workers of ``client`` (the default client; without one the
        model travels inside the graph) and referenced by every partition's task.
    column : str
        Name of the new column: lists of state ids (ints) for an HMM, of labels for a
        labeler.
    kind : {"viterbi", "posterior", "type"}
    domain_column : str, optional
        Column of each sentence's domain, for a MultiDomainHMM.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy; ``.compute()`` or ``.to_parquet(...)`` runs it.
    """
    import pandas as pd

    for name in (tokens_column, domain_column):
        if name is not None and name not in ddf.columns:
            raise KeyError(f"no column {name!r} in the dataframe (columns: "
                           f"{list(ddf.columns)})")
    try:
        model_ref = DistributedEM(client)._broadcast(model, what="model")
    except ValueError:   # no client: the model travels inside the graph
        model_ref = model
    meta = ddf._meta.copy()
    meta[column] = pd.Series([], dtype=object)
    return ddf.map_partitions(_tag_frame_partition, model_ref, tokens_column, column, kind,
                              domain_column, meta=meta)


# ============================================================================ CLI hook
def train_hmm_distributed(address_or_local: str, texts: Sequence[str], *, n_states: int,
                          n_iter: int = 20, online: bool = False, format: str = "text",
                          n_workers: int | None = None, out: str | None = None,
                          verbose: bool = True, model=None, **hmm_params):
    """Train a :class:`~hmmtl.CategoricalHMM` on files with the E-step on Dask.

    What ``hmmtl train-hmm --dask ADDRESS|local`` calls.

    Parameters
    ----------
    address_or_local : str
        A scheduler address (``tcp://host:8786``) or ``"local"`` for a ``LocalCluster`` of
        worker processes on this machine (``n_workers``, default one per core, one thread
        each).
    texts : list of str
        Files read on the workers (``format``: ``"text"`` = one tokenized sentence a line,
        ``"conllu"``, ``"conll"``); with a remote scheduler the workers must see the paths.
    n_states, n_iter, online, **hmm_params
        Settings of the HMM (``tol``, ``kbest``, ``lowercase``, ``min_count``,
        ``random_state``, ``batch_size`` ...).
    model : estimator, optional
        Fit this (unfitted) model instead, e.g. a MultiDomainHMM.
    out : str, optional
        Save the fitted model there (``model.save``, atomic).
    verbose : bool
        Progress bar with the log-likelihood.

    Returns
    -------
    the fitted model
    """
    from dask.distributed import Client, LocalCluster

    if model is None:
        from .hmm import CategoricalHMM

        model = CategoricalHMM(n_states=n_states, n_iter=n_iter,
                               algorithm="online" if online else "batch", **hmm_params)
    missing = [t for t in texts if not Path(t).exists()]
    if address_or_local == "local" and missing:
        raise FileNotFoundError(f"input file(s) not found: {missing[:5]}")
    cluster = None
    if address_or_local == "local":
        n = n_workers or max(1, os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    else:
        client = Client(address_or_local)
    try:
        fit_em(model, [os.fspath(t) for t in texts], client, format=format, verbose=verbose)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if out is not None:
        model.save(out)
    return model
