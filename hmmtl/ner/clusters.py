"""Hierarchical word clusters from unlabeled text: Brown clustering.

:class:`BrownClusters` learns the class-based bigram clustering of Brown et al. (1992) with
the windowed algorithm of Liang (2005): the words, most frequent first, enter one at a time
among ``n_clusters`` active clusters, and after each the two clusters whose merge loses the
least average mutual information between adjacent clusters are merged; at the end the
clusters are merged down to one.  The merge tree gives every word a bit string (its *path*)
whose prefixes are clusters at every grain; prefixes of 4, 6, 10 and 20 bits are the usual
features of a named-entity tagger (Miller et al. 2004; Ratinov & Roth 2009; Turian et al.
2010).

The O(n_clusters^2)-per-word work runs in compiled code (:mod:`hmmtl.ner._cluster_kernels`);
words are featurized per type and gathered per token with NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._base import BaseEstimator, check_is_fitted
from ..data import factorize, flatten
from ..serialize import ModelFileMixin

if TYPE_CHECKING:

    from .._typing import TokenLists

__all__ = ["BrownClusters", "BigramCounter", "bigram_counts", "tree_paths", "DEFAULT_PREFIXES",
           "learn_clusters", "least_count"]

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


class BigramCounter:
    """Word and adjacent-pair counts of text given batch by batch.

    Each batch of sentences is flattened, its words looked up once per type in a growing
    index, and its pairs (within sentences) counted as sorted int64 keys
    ``left << 32 | right`` merged into the running table with NumPy: memory is bounded by
    the vocabulary and the distinct pairs, never by the text.

    Parameters
    ----------
    lowercase : bool, default=False

    Attributes
    ----------
    n_tokens : int
    n_words : int
        Distinct words seen.

    Examples
    --------
    >>> c = BigramCounter().update([["a", "b", "a"]]).update([["a", "b"]])
    >>> vocab, counts, out_table, in_table = c.tables(min_count=1)
    >>> vocab, counts.tolist(), out_table[2].tolist()
    (['a', 'b'], [3, 2], [2, 1])
    """

    def __init__(self, lowercase: bool = False):
        self.lowercase = bool(lowercase)
        self._index: dict = {}
        self._word_counts = np.zeros(0, dtype=np.int64)
        self._keys = np.zeros(0, dtype=np.int64)
        self._pair_counts = np.zeros(0, dtype=np.int64)
        self.n_tokens = 0

    @property
    def n_words(self) -> int:
        return len(self._index)

    @property
    def n_pairs(self) -> int:
        """Distinct adjacent pairs seen."""
        return int(self._keys.shape[0])

    def update(self, sentences) -> BigramCounter:
        """Add the counts of one batch (a list of token lists)."""
        if isinstance(sentences, (str, bytes)) or (len(sentences) and isinstance(sentences[0],
                                                                                  str)):
            raise TypeError("sentences must be a list of token lists, not a single sentence")
        flat, offsets = flatten(sentences)
        if not flat:
            return self
        if self.lowercase:
            flat = [w.lower() for w in flat]
        types, type_ids = factorize(flat)
        index = self._index
        # per type: the growing index of all words seen
        word_of_type = np.fromiter((index.setdefault(w, len(index)) for w in types), np.int64,
                                   len(types))
        if len(index) >= 1 << 31:
            raise ValueError(f"more than 2^31 distinct words ({len(index)}); pass lowercased "
                             f"or filtered text")
        ids = word_of_type[type_ids]
        self.n_tokens += ids.shape[0]
        counts = np.bincount(ids, minlength=len(index)).astype(np.int64)
        counts[: self._word_counts.shape[0]] += self._word_counts
        self._word_counts = counts
        follows = np.ones(ids.shape[0], dtype=bool)
        follows[np.asarray(offsets[:-1], dtype=np.int64)] = False
        right = np.flatnonzero(follows)
        keys = (ids[right - 1] << 32) | ids[right]
        keys, n = np.unique(keys, return_counts=True)
        self._merge(keys, n.astype(np.int64))
        return self

    def _merge(self, keys, counts):
        if self._keys.shape[0] == 0:
            self._keys, self._pair_counts = keys, counts
            return
        all_keys = np.concatenate([self._keys, keys])
        all_counts = np.concatenate([self._pair_counts, counts])
        order = np.argsort(all_keys, kind="mergesort")  # two sorted runs
        all_keys, all_counts = all_keys[order], all_counts[order]
        first = np.ones(all_keys.shape[0], dtype=bool)
        first[1:] = all_keys[1:] != all_keys[:-1]
        starts = np.flatnonzero(first)
        self._keys = all_keys[starts]
        self._pair_counts = np.add.reduceat(all_counts, starts)

    def update_stream(self, sentences, batch_tokens: int = 1_000_000,
                      progress=None) -> BigramCounter:
        """Add the counts of a stream of sentences, ``batch_tokens`` tokens at a time.

        ``progress``, when given, is called with the tokens counted so far after each
        batch.
        """
        if batch_tokens < 1:
            raise ValueError(f"batch_tokens must be >= 1, got {batch_tokens!r}")
        batch, n = [], 0
        for s in sentences:  # per sentence: the reader yields them one at a time
            batch.append(s)
            n += len(s)
            if n >= batch_tokens:
                self.update(batch)
                batch, n = [], 0
                if progress is not None:
                    progress(self.n_tokens)
        if batch:
            self.update(batch)
            if progress is not None:
                progress(self.n_tokens)
        return self

    def tables(self, min_count: int = 1, max_vocab: int | None = None):
        """The words seen at least ``min_count`` times (at most ``max_vocab``), most
        frequent first (ties: alphabetical), their counts, and the pair counts among them
        as CSR tables both ways (see :func:`bigram_counts`).

        Returns
        -------
        vocab : list of str
        counts : int64 ndarray of shape (n_vocab,)
        out_table, in_table : tuple (ptr, word, count)
        """
        from scipy import sparse

        words = list(self._index)
        wc = self._word_counts
        keep = np.flatnonzero(wc >= int(min_count))
        kept_words = [words[i] for i in keep.tolist()]
        # most frequent first, ties alphabetical: sort by word, then stably by count
        by_word = sorted(range(len(kept_words)), key=kept_words.__getitem__)
        order = keep[np.asarray(by_word, dtype=np.int64)] if by_word else keep
        order = order[np.argsort(-wc[order], kind="stable")]
        if max_vocab is not None:
            order = order[: int(max_vocab)]
        vocab = [words[i] for i in order.tolist()]
        V = len(vocab)
        new_id = np.full(len(words), -1, dtype=np.int64)
        new_id[order] = np.arange(V)
        left = new_id[self._keys >> 32]
        right = new_id[self._keys & 0xFFFFFFFF]
        ok = (left >= 0) & (right >= 0)
        m = sparse.csr_matrix((self._pair_counts[ok], (left[ok], right[ok])), shape=(V, V))
        m.sum_duplicates()
        mt = m.T.tocsr()
        mt.sum_duplicates()

        def table(a):
            return (a.indptr.astype(np.int64), a.indices.astype(np.int64),
                    a.data.astype(np.int64))

        return vocab, wc[order].astype(np.int64), table(m), table(mt)


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


class BrownClusters(ModelFileMixin, BaseEstimator):
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

    def fit(self, sentences: Sequence[Sequence[str]], y: None = None) -> BrownClusters:
        """Cluster the words of ``sentences`` (a list of token lists).

        Returns
        -------
        self
        """
        self._check_params()
        if isinstance(sentences, (str, bytes)) or (len(sentences) and isinstance(sentences[0],
                                                                                  str)):
            raise TypeError("sentences must be a list of token lists, not a single sentence")
        counter = BigramCounter(lowercase=self.lowercase).update(sentences)
        return self._fit_counter(counter)

    def fit_stream(self, sentences: TokenLists, batch_tokens: int = 1_000_000) -> BrownClusters:
        """Cluster the words of a stream of sentences, never held in memory as a whole.

        Word and bigram counts are accumulated ``batch_tokens`` tokens at a time
        (:class:`BigramCounter`), so memory is bounded by the vocabulary and the distinct
        bigrams, not by the length of the text.  On the same sentences the clusters are
        those of :meth:`fit`.

        Parameters
        ----------
        sentences : iterable of list of str
            E.g. :func:`hmmtl.io.iter_unlabeled` over text files.
        batch_tokens : int, default=1_000_000

        Returns
        -------
        self
        """
        self._check_params()
        counter = BigramCounter(lowercase=self.lowercase)
        progress = None
        if self.verbose:
            import time

            t0 = time.perf_counter()

            def progress(n):
                dt = time.perf_counter() - t0
                print(f"[brown] counted {n:,} tokens, {counter.n_words:,} words, "
                      f"{counter.n_pairs:,} pairs ({n / max(dt, 1e-9):,.0f} tokens/s)",
                      flush=True)
        counter.update_stream(sentences, batch_tokens=batch_tokens, progress=progress)
        return self._fit_counter(counter)

    def _fit_counter(self, counter: BigramCounter) -> BrownClusters:
        from . import _cluster_kernels as K

        vocab, word_counts, out_table, in_table = counter.tables(self.min_count,
                                                                 self.max_vocab)
        V = len(vocab)
        if V < 2:
            raise ValueError(f"need at least 2 words seen >= min_count={self.min_count} times "
                             f"to cluster, got {V}")
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
            from .._progress import progress_bar

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
        self.counts_ = word_counts
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

    def transform(self, sentences: TokenLists,
                  prefixes: Sequence[int] = DEFAULT_PREFIXES) -> np.ndarray:
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


def learn_clusters(sentences, tags, unlabeled, n_clusters: int, notation: str = "auto",
                   verbose: bool = False):
    """``n_clusters`` Brown clusters on the training words and then the ``unlabeled``
    text, for :class:`~hmmtl.transfer.pipeline.Tagger`'s ``clusters`` (what ``hmmtl train
    --clusters C`` gives it).

    The text (token lists, or a stream such as :class:`hmmtl.io.text.TokenStream`) is read
    once, a chunk at a time, its words written in the training words' notation as the
    tagger writes them with ``notation="auto"`` (``"keep"``: as given); word pairs are
    counted (:class:`BigramCounter`), the text never kept.  A word needs
    :func:`least_count` occurrences (as the NER recipe).

    Returns
    -------
    BrownClusters
    """
    from ..io.notation import detect_notation
    from ..transfer.pipeline import unlabeled_batches

    pairs = BigramCounter().update(sentences)
    n_sentences = len(sentences)
    model_notation = (detect_notation(flatten(sentences)[0], flatten(tags)[0])
                      if notation == "auto" else None)
    for batch in unlabeled_batches(unlabeled if unlabeled is not None else (), model_notation):
        pairs.update(batch.sentences)
        n_sentences += len(batch.sentences)
    return BrownClusters(n_clusters=n_clusters, min_count=least_count(n_sentences),
                         verbose=verbose)._fit_counter(pairs)


def least_count(n_sentences: int) -> int:
    """The least count of a word that clusters (and the NER recipe's HMM) learn from text
    of ``n_sentences`` sentences: 3 above 50,000, else 2."""
    return 3 if n_sentences > 50_000 else 2
