"""Hierarchical word clusters from unlabeled text: Brown clustering.

:class:`BrownClusters` learns the class-based bigram clustering of Brown et al. (1992) with
the windowed algorithm of Liang (2005): the words, most frequent first, enter one at a time
among ``n_clusters`` active clusters, and after each the two clusters whose merge loses the
least average mutual information between adjacent clusters are merged; at the end the
clusters are merged down to one.  The merge tree gives every word a bit string (its *path*)
whose prefixes are clusters at every grain; prefixes of 4, 6, 10 and 20 bits are the usual
features of a named-entity tagger (Miller et al. 2004; Ratinov & Roth 2009; Turian et al.
2010).

The O(n_clusters^2)-per-word work runs in compiled code (:mod:`hmmtl._cluster_kernels`);
words are featurized per type and gathered per token with NumPy.
"""

from __future__ import annotations

import collections
from typing import Sequence

import numpy as np

from ._base import BaseEstimator, check_is_fitted
from .data import factorize, flatten

__all__ = ["BrownClusters", "bigram_counts", "tree_paths", "DEFAULT_PREFIXES"]

#: path prefix lengths used as features (Ratinov & Roth 2009)
DEFAULT_PREFIXES = (4, 6, 10, 20)

#: pair loops run on Numba's threads from this many active clusters on (below, a parallel
#: region is too short to pay for waking the threads, and a busy machine stalls it)
PARALLEL_FROM = 384


def bigram_counts(ids: np.ndarray, offsets: np.ndarray, n_words: int):
    """Counts of adjacent word pairs within sentences, as CSR tables both ways.

    Parameters
    ----------
    ids : int ndarray of shape (n_tokens,)
        Word ids; ``< 0`` for words left out (their bigrams are not counted).
    offsets : int64 ndarray of shape (n_sentences + 1,)
    n_words : int

    Returns
    -------
    out_table, in_table : tuple (ptr, word, count)
        ``out_table`` lists for each word the words that follow it and how often;
        ``in_table`` the words that precede it.
    """
    from scipy import sparse

    ids = np.asarray(ids, dtype=np.int64)
    follows = np.ones(ids.shape[0], dtype=bool)
    follows[offsets[:-1]] = False          # first token of a sentence: no left neighbour
    right = np.flatnonzero(follows)
    right = right[(ids[right] >= 0) & (ids[right - 1] >= 0)]
    m = sparse.csr_matrix((np.ones(right.shape[0], dtype=np.int64), (ids[right - 1], ids[right])),
                          shape=(n_words, n_words))
    m.sum_duplicates()
    mt = m.T.tocsr()
    mt.sum_duplicates()

    def table(a):
        return (a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data.astype(np.int64))

    return table(m), table(mt)


def tree_paths(merges: np.ndarray, n_words: int, n_flat: int = 0) -> list[str]:
    """Root-to-leaf bit strings of the words (leaves ``0 .. n_words - 1``) of a merge tree.

    ``merges[k] = (left, right)`` makes node ``n_words + k`` with ``left`` under bit ``0``
    and ``right`` under bit ``1``.  The first ``n_flat`` merges only gather words into
    clusters (the windowed phase of Brown clustering: a word joining a cluster adds no
    level to the hierarchy), so their nodes add no bit: all words of a cluster share its
    path.  A word never merged (a single word) gets ``""``.

    >>> tree_paths(np.array([[0, 1], [3, 2]]), 3)
    ['00', '01', '1']
    >>> tree_paths(np.array([[0, 1], [3, 2]]), 3, n_flat=1)
    ['0', '0', '1']
    """
    n_nodes = n_words + merges.shape[0]
    made = n_words + np.arange(merges.shape[0])
    parent = np.full(n_nodes, -1, dtype=np.int64)
    parent[merges[:, 0]] = made
    parent[merges[:, 1]] = made
    bit = np.full(n_nodes, "", dtype=object)
    hier = np.arange(merges.shape[0]) >= n_flat   # merges that add a level
    bit[merges[hier, 0]] = "0"
    bit[merges[hier, 1]] = "1"
    # a node's parent is made after it: fill paths from the root down, once per node
    path = [""] * n_nodes
    for node in range(n_nodes - 1, -1, -1):
        p = parent[node]
        if p >= 0:
            path[node] = path[p] + bit[node]
    return path[:n_words]


class BrownClusters(BaseEstimator):
    """Brown clustering of words (hierarchical, by bigram mutual information).

    Parameters
    ----------
    n_clusters : int, default=1000
        Active clusters ``C`` of the windowed algorithm (the number of leaves-level clusters
        the tree is cut at); work grows as ``C^2`` per word.
    min_count : int, default=3
        Words seen fewer times are not clustered (they get no path).
    max_vocab : int, optional
        Keep at most this many of the most frequent words.
    lowercase : bool, default=False
        Cluster lowercased words (case matters for named entities: off by default).
    n_jobs : int, optional
        Threads for the pair loops (at most Numba's thread count; None: all of them).  With
        ``1`` the loops run serially, which is faster on a machine busy with other work.
    verbose : bool, default=False
        tqdm progress over the words.

    Attributes
    ----------
    words_ : list of str
        Clustered words, most frequent first (ties: alphabetical).
    counts_ : ndarray of shape (n_words,)
        Their counts in the training text.
    merges_ : int ndarray of shape (n_words - 1, 2)
        Merge tree: step ``k`` joins nodes ``merges_[k]`` into node ``n_words + k`` (words
        are nodes ``0 .. n_words - 1``).
    merge_loss_ : ndarray of shape (n_words - 1,)
        Loss of average mutual information of each merge, times the number of bigrams.
    paths_ : list of str
        Bit string of each word (root to leaf).
    n_bigrams_ : int

    Examples
    --------
    >>> text = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "dog", "ran"]] * 5
    >>> bc = BrownClusters(n_clusters=3, min_count=1).fit(text)
    >>> bc.cluster_of(["cat"])[0][:1] == bc.cluster_of(["dog"])[0][:1]
    True
    """

    def __init__(self, n_clusters: int = 1000, min_count: int = 3, max_vocab: int | None = None,
                 lowercase: bool = False, n_jobs: int | None = None, verbose: bool = False):
        self.n_clusters = n_clusters
        self.min_count = min_count
        self.max_vocab = max_vocab
        self.lowercase = lowercase
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_params(self):
        if not isinstance(self.n_clusters, (int, np.integer)) or self.n_clusters < 2:
            raise ValueError(f"n_clusters must be an int >= 2, got {self.n_clusters!r}")
        if not isinstance(self.min_count, (int, np.integer)) or self.min_count < 1:
            raise ValueError(f"min_count must be an int >= 1, got {self.min_count!r}")
        if self.max_vocab is not None and self.max_vocab < 2:
            raise ValueError(f"max_vocab must be None or >= 2, got {self.max_vocab!r}")

    def fit(self, sentences, y=None) -> "BrownClusters":
        """Cluster the words of ``sentences`` (a list of token lists).

        Returns
        -------
        self
        """
        from . import _cluster_kernels as K

        self._check_params()
        if isinstance(sentences, (str, bytes)) or (len(sentences) and isinstance(sentences[0],
                                                                                  str)):
            raise TypeError("sentences must be a list of token lists, not a single sentence")
        flat, offsets = flatten(sentences)
        if self.lowercase:
            flat = [w.lower() for w in flat]
        counter = collections.Counter(flat)
        vocab = sorted((w for w, c in counter.items() if c >= self.min_count),
                       key=lambda w: (-counter[w], w))
        if self.max_vocab is not None:
            vocab = vocab[: int(self.max_vocab)]
        if len(vocab) < 2:
            raise ValueError(f"need at least 2 words seen >= min_count={self.min_count} times "
                             f"to cluster, got {len(vocab)}")
        index = dict(zip(vocab, range(len(vocab))))
        ids = np.fromiter(map(index.get, flat, [-1] * len(flat)), dtype=np.int64,
                          count=len(flat))
        V = len(vocab)
        out_table, in_table = bigram_counts(ids, offsets, V)
        word_left = _row_sums(out_table)
        word_right = _row_sums(in_table)
        total = int(word_left.sum())
        if total == 0:
            raise ValueError("the text has no pair of adjacent clustered words")
        C = min(int(self.n_clusters), V)
        S = C + 1
        counts = np.zeros((S, S), dtype=np.int64)
        counts_t = np.zeros((S, S), dtype=np.int64)
        fmats = tuple(np.zeros((S, S)) for _ in range(4))
        fvecs = tuple(np.zeros(S) for _ in range(8))
        # left, right, active, node_of_slot, best_col, row_m, col_m, free, size, head, tail,
        # row_n, col_n, nbr_out, nbr_in
        ivecs = [np.zeros(S, dtype=np.int64) for _ in range(15)]
        ivecs[7][:] = np.arange(S - 1, -1, -1)  # free slots, slot 0 taken first
        words = (np.full(V, -1, dtype=np.int64), np.full(V, -1, dtype=np.int64))
        merges = np.zeros((V - 1, 2), dtype=np.int64)
        merge_loss = np.zeros(V - 1)
        counters = np.array([0, S, 0], dtype=np.int64)
        graph = out_table + in_table
        args = (C, PARALLEL_FROM, float(np.log(total)), K.xlogx_table(), graph,
                (word_left, word_right), counts, counts_t, fmats, fvecs, tuple(ivecs), words,
                merges, merge_loss, counters)
        bar = None
        if self.verbose:
            from ._progress import progress_bar

            bar = progress_bar(total=V, desc=f"Brown clusters (C={C})")
        step = 256
        with _numba_threads(self.n_jobs) as n_threads:
            if n_threads == 1:
                args = (args[0], S + 1) + args[2:]  # serial pair loops
            for lo in range(0, V, step):  # the outer loop stays in Python for progress
                hi = min(lo + step, V)
                K.brown_steps(lo, hi, hi == V, *args)
                if bar is not None:
                    bar.update(hi - lo)
        if bar is not None:
            bar.close()
        self.words_ = vocab
        self.counts_ = np.array([counter[w] for w in vocab], dtype=np.int64)
        self.merges_ = merges
        self.merge_loss_ = merge_loss
        self.n_bigrams_ = total
        self._set_paths(tree_paths(merges, V, max(V - C, 0)))
        return self

    # ------------------------------------------------------------------ lookup
    def _set_paths(self, paths: list[str]) -> None:
        self.paths_ = paths
        self.word_index_ = dict(zip(self.words_, range(len(self.words_))))
        self._prefix_tables: dict = {}  # prefixes -> (table, n_ids), built once each

    def _lookup_ids(self, types: Sequence[str]) -> np.ndarray:
        """Word id of each type: the word itself, else (for a word not clustered) its
        lowercased or capitalized form (``"REUTERS"`` -> ``"Reuters"``), else -1."""
        index = self.word_index_
        out = np.full(len(types), -1, dtype=np.int64)
        for i, w in enumerate(types):  # per type, not per token
            if self.lowercase:
                w = w.lower()
            j = index.get(w)
            if j is None and not self.lowercase:
                j = index.get(w.capitalize())
                if j is None:
                    j = index.get(w.lower())
            if j is not None:
                out[i] = j
        return out

    def cluster_of(self, words: Sequence[str]) -> list[str]:
        """Bit-string path of each word (``""`` for a word without a cluster)."""
        check_is_fitted(self, "paths_")
        ids = self._lookup_ids(list(words))
        return [self.paths_[i] if i >= 0 else "" for i in ids.tolist()]

    def prefix_table(self, prefixes: Sequence[int] = DEFAULT_PREFIXES):
        """Integer ids of the path prefixes of every clustered word.

        Returns
        -------
        table : int64 ndarray of shape (n_words, len(prefixes))
            ``table[w, k]`` identifies the first ``prefixes[k]`` bits of word ``w``'s path
            (its whole path when shorter); ids are distinct across columns.
        n_ids : int
            Number of distinct ids.
        """
        check_is_fitted(self, "paths_")
        prefixes = _check_prefixes(prefixes)
        cached = self._prefix_tables.get(prefixes)
        if cached is None:
            table = np.zeros((len(self.paths_), len(prefixes)), dtype=np.int64)
            index: dict = {}
            for k, n in enumerate(prefixes):
                keys = [(k, p[:n]) for p in self.paths_]  # per word type
                table[:, k] = [index.setdefault(key, len(index)) for key in keys]
            table.flags.writeable = False
            cached = self._prefix_tables[prefixes] = (table, len(index))
        return cached

    def transform(self, sentences, prefixes: Sequence[int] = DEFAULT_PREFIXES) -> np.ndarray:
        """Path-prefix ids of the flattened tokens of ``sentences``.

        Returns
        -------
        int32 ndarray of shape (n_tokens, len(prefixes))
            Ids of :meth:`prefix_table` (categorical features), ``-1`` for words without a
            cluster.
        """
        flat, _ = flatten(sentences)
        return self.transform_tokens(flat, prefixes)

    def transform_tokens(self, tokens: Sequence[str], prefixes=DEFAULT_PREFIXES) -> np.ndarray:
        """As :meth:`transform`, for a flat sequence of tokens."""
        types, type_ids = factorize(tokens)
        return self.transform_types(types, prefixes)[type_ids]

    def transform_types(self, types: Sequence[str], prefixes=DEFAULT_PREFIXES) -> np.ndarray:
        """Path-prefix ids of distinct word types, int32 of shape (n_types, len(prefixes))
        (``-1`` for words without a cluster); gather them per token by type index."""
        table, _ = self.prefix_table(prefixes)
        word = self._lookup_ids(types)
        return np.where(word[:, None] >= 0, table[np.maximum(word, 0)], -1).astype(np.int32)

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "paths_")
        arrays = {"counts": self.counts_, "merges": self.merges_,
                  "merge_loss": self.merge_loss_}
        meta = {"params": self.get_params(), "words": list(self.words_),
                "n_bigrams": int(self.n_bigrams_)}
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        model = cls(**meta["params"])
        words = list(meta["words"])
        V = len(words)
        merges = np.asarray(arrays["merges"], dtype=np.int64)
        counts = np.asarray(arrays["counts"], dtype=np.int64)
        loss = np.asarray(arrays["merge_loss"], dtype=np.float64)
        if counts.shape != (V,) or merges.shape != (max(V - 1, 0), 2) or loss.shape != (
                max(V - 1, 0),):
            raise ValueError(f"Brown clusters of {V} words need counts ({V},), merges "
                             f"({V - 1}, 2) and merge_loss ({V - 1},), got {counts.shape}, "
                             f"{merges.shape}, {loss.shape}")
        made = V + np.arange(merges.shape[0])
        if merges.size and (merges.min() < 0 or np.any(merges >= made[:, None])):
            raise ValueError("Brown cluster merges refer to nodes outside the tree")
        if np.unique(merges).shape[0] != merges.size:
            raise ValueError("Brown cluster merges use a node twice")
        model.words_ = words
        model.counts_ = counts
        model.merges_ = merges
        model.merge_loss_ = loss
        model.n_bigrams_ = int(meta["n_bigrams"])
        n_clusters = min(int(model.n_clusters), V)
        model._set_paths(tree_paths(merges, V, max(V - n_clusters, 0)))
        return model

    def save(self, path):
        """Write the clusters to one model file (see :mod:`hmmtl.serialize`)."""
        from . import serialize

        return serialize.save(self, path)

    @classmethod
    def load(cls, path) -> "BrownClusters":
        from . import serialize

        return serialize.load(path, expected_class=cls)


class _numba_threads:
    """Context manager: run Numba's parallel loops on ``n_jobs`` threads (None: all);
    yields the number of threads used."""

    def __init__(self, n_jobs):
        if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1):
            raise ValueError(f"n_jobs must be None or a positive int, got {n_jobs!r}")
        self.n_jobs = n_jobs

    def __enter__(self):
        import numba

        self.saved = numba.get_num_threads()
        n = self.saved if self.n_jobs is None else min(int(self.n_jobs),
                                                        numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(n)
        return n

    def __exit__(self, *exc):
        import numba

        numba.set_num_threads(self.saved)
        return False


def _row_sums(table) -> np.ndarray:
    ptr, _, count = table
    rows = np.repeat(np.arange(ptr.shape[0] - 1), np.diff(ptr))
    return np.bincount(rows, weights=count, minlength=ptr.shape[0] - 1).astype(np.int64)


def _check_prefixes(prefixes) -> tuple[int, ...]:
    try:
        out = tuple(int(p) for p in prefixes)
    except TypeError:
        raise TypeError(f"prefixes must be a sequence of ints, got {prefixes!r}") from None
    if not out or min(out) < 1:
        raise ValueError(f"prefixes must be positive path lengths, got {prefixes!r}")
    return out
