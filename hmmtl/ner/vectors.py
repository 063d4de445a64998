"""Distributional word clusters from unlabeled text: count-based word vectors cut by k-means.

:class:`WordVectorClusters` gives every word seen ``min_count`` times or more in the text a
vector: its positive pointwise mutual information with the ``n_contexts`` most frequent
(lowercased) words at each position of a window of ``window`` words on both sides, the
context counts smoothed by the power 0.75 (Levy, Goldberg & Dagan 2015), reduced by a
randomized SVD to ``n_components`` dimensions (``U sqrt(S)``, rows normalized).  k-means cuts
the vectors into clusters at several grains (``n_clusters``): the word-embedding cluster
features of ixa-pipe-nerc (Agerri & Rigau 2016) and of Turian et al. (2010), from counts
instead of a neural model.  They complement the Brown clusters, which see only the next
word.

The text is read once as a stream, kept as word ids (4 bytes a token,
:class:`hmmtl.transfer.pipeline.EncodedText`, shared with the HMM when both learn from one
reading: :func:`hmmtl.studies.ner.learn_representations`); the co-occurrence table is
counted in blocks of sentences with NumPy (never a loop over tokens) into a sparse matrix
over the kept words and the contexts; words are featurized per type and gathered per token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._base import BaseEstimator, check_is_fitted
from ..serialize import ModelFileMixin

if TYPE_CHECKING:
    from .._typing import TokenLists

__all__ = ["WordVectorClusters", "cooccurrence_table", "ppmi_matrix", "ppmi_vectors"]

#: tokens counted at a time into the co-occurrence table (bounds the temporary arrays)
BLOCK_TOKENS = 1_000_000


def cooccurrence_table(ids: np.ndarray, offsets: np.ndarray, target: np.ndarray,
                       context: np.ndarray, window: int, n_targets: int, n_contexts: int):
    """Counts of (word, context at each relative position) within sentences.

    Parameters
    ----------
    ids : int ndarray of shape (n_tokens,)
        Type id of every token.
    offsets : int64 ndarray of shape (n_sentences + 1,)
    target, context : int ndarray of shape (n_types,)
        Each type's row (a kept word) and its context column, ``-1`` for none.
    window : int
        Positions ``-window .. -1, 1 .. window``; column ``block * n_contexts + context``,
        the blocks in that order.
    n_targets, n_contexts : int

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_targets, 2 * window * n_contexts), float64
    """
    from scipy import sparse

    shifts = [d for d in range(-window, window + 1) if d]
    shape = (int(n_targets), len(shifts) * int(n_contexts))
    table = sparse.csr_matrix(shape, dtype=np.float64)
    target = np.asarray(target, np.int64)
    context = np.asarray(context, np.int64)
    offsets = np.asarray(offsets, np.int64)
    n_sent = offsets.shape[0] - 1
    s = 0
    while s < n_sent:  # blocks of whole sentences of about BLOCK_TOKENS tokens
        e = int(np.searchsorted(offsets, offsets[s] + BLOCK_TOKENS, side="right")) - 1
        e = min(max(e, s + 1), n_sent)
        lo, hi = int(offsets[s]), int(offsets[e])
        tok = np.asarray(ids[lo:hi], np.int64)
        rows_t, cols_c = target[tok], context[tok]
        sentence = np.repeat(np.arange(e - s), np.diff(offsets[s:e + 1]))
        rows, cols = [], []
        n = tok.shape[0]
        for block, d in enumerate(shifts):
            a = np.arange(max(0, -d), n - max(0, d))
            b = a + d
            ok = (sentence[a] == sentence[b]) & (rows_t[a] >= 0) & (cols_c[b] >= 0)
            rows.append(rows_t[a[ok]])
            cols.append(cols_c[b[ok]] + block * n_contexts)
        r, c = np.concatenate(rows), np.concatenate(cols)
        part = sparse.csr_matrix((np.ones(r.shape[0]), (r, c)), shape=shape)
        part.sum_duplicates()
        table = table + part
        s = e
    return table


def ppmi_matrix(table, power: float = 0.75):
    """The positive PMI of a co-occurrence ``table`` (sparse, counts), the context counts
    smoothed by ``power``: ``max(0, log(n(w, c) / n(w) / p(c)))`` with ``p(c)`` the context's
    count to the power ``power`` over their sum; zero where ``n(w, c) = 0``.  CSR, float64."""
    from scipy import sparse

    coo = table.tocoo()
    row = np.asarray(table.sum(1)).ravel()
    col = np.asarray(table.sum(0)).ravel() ** power
    col /= max(col.sum(), 1e-300)
    with np.errstate(divide="ignore"):
        pmi = np.log(coo.data / row[coo.row] / col[coo.col])
    ok = pmi > 0
    return sparse.csr_matrix((pmi[ok], (coo.row[ok], coo.col[ok])), shape=table.shape)


def ppmi_vectors(table, n_components: int, power: float = 0.75, random_state=0) -> np.ndarray:
    """Rows of unit length: the randomized SVD (``U sqrt(S)``) of the positive PMI of a
    co-occurrence ``table`` (:func:`ppmi_matrix`)."""
    from sklearn.utils.extmath import randomized_svd

    ppmi = ppmi_matrix(table, power)
    k = int(min(n_components, min(table.shape) - 1))
    if k < 1 or ppmi.nnz == 0:
        return np.zeros((table.shape[0], 1))
    u, s, _ = randomized_svd(ppmi, k, n_iter=5, random_state=random_state)
    vectors = u * np.sqrt(s)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


class WordVectorClusters(ModelFileMixin, BaseEstimator):
    """Clusters of count-based word vectors at several grains, learned on unlabeled text.

    Parameters
    ----------
    n_clusters : sequence of int, default=(64, 256, 1024)
        k of each k-means cut (one feature per grain); at most the number of words kept.
    window : int, default=2
        Context positions on each side.
    n_components : int, default=100
        Dimensions of the vectors.
    min_count : int, default=3
        Words (as written) seen fewer times get no cluster.
    n_contexts : int, default=10000
        Context words: the most frequent lowercased words.
    n_draws : int, default=1
        k-means cuts per grain, each from its own seed (``random_state + draw``): every cut
        a feature, so that no one draw of k-means decides.
    random_state : int, default=0
        Seed of the SVD and of k-means.
    verbose : bool, default=False

    Attributes
    ----------
    words_ : list of str
        The words with a cluster, most frequent first (ties: first seen first).
    labels_ : int16 ndarray of shape (n_words, n_grains * n_draws)
        Each word's cluster at each grain (the draws of a grain side by side).
    n_tokens_ : int
        Tokens of the text learned from.

    Examples
    --------
    >>> text = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "ran"],
    ...         ["a", "dog", "ran"]] * 5
    >>> wc = WordVectorClusters(n_clusters=(2,), n_components=2, min_count=2).fit(text)
    >>> table = wc.transform_types(["cat", "dog", "unseen"])
    >>> bool(table[0, 0] == table[1, 0]), int(table[2, 0])
    (True, -1)
    """

    def __init__(self, n_clusters=(64, 256, 1024), window=2, n_components=100, min_count=3,
                 n_contexts=10000, n_draws=1, random_state=0, verbose=False):
        self.n_clusters = n_clusters
        self.window = window
        self.n_components = n_components
        self.min_count = min_count
        self.n_contexts = n_contexts
        self.n_draws = n_draws
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        ks = self.n_clusters
        if isinstance(ks, (int, np.integer)) or not ks or not all(
                isinstance(k, (int, np.integer)) and k >= 1 for k in ks):
            raise ValueError(f"n_clusters must be a sequence of ints >= 1, got {ks!r}")
        for name in ("window", "n_components", "min_count", "n_contexts", "n_draws"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if not isinstance(self.random_state, (int, np.integer)):
            raise ValueError(f"random_state must be an int, got {self.random_state!r}")

    # ------------------------------------------------------------------ fit
    def fit(self, sentences: TokenLists, y: None = None) -> WordVectorClusters:
        """Learn the clusters of the words of ``sentences`` (token lists, or a stream of
        them read once a chunk at a time)."""
        return self.fit_stream(sentences)

    def fit_stream(self, sentences: TokenLists) -> WordVectorClusters:
        """Learn from a stream of sentences read once, kept as word ids (4 bytes a token)."""
        from ..data import sentence_chunks
        from ..transfer.pipeline import STREAM_CHUNK, EncodedText, TextBatch

        self._check_params()
        if isinstance(sentences, (str, bytes)):
            raise TypeError("sentences must be token lists, not a string")
        encoded = EncodedText()
        for chunk in sentence_chunks(sentences, STREAM_CHUNK):
            if chunk and isinstance(chunk[0], str):
                raise TypeError("sentences must be a list of token lists, not one sentence")
            encoded.add(TextBatch.of(chunk))
        return self._fit_encoded(encoded)

    def _fit_encoded(self, encoded) -> WordVectorClusters:
        """Learn from a text already read as ids (:class:`EncodedText`, before its
        ``release``)."""
        import time

        self._check_params()
        types, counts, ids, offsets = encoded.token_ids()
        counts = np.asarray(counts, np.int64)
        keep = np.flatnonzero(counts >= int(self.min_count))
        keep = keep[np.argsort(-counts[keep], kind="stable")]
        if keep.shape[0] < 2:
            raise ValueError(f"word vectors need at least 2 words seen min_count="
                             f"{self.min_count} times or more; the text has "
                             f"{keep.shape[0]} ({encoded.n_tokens} tokens)")
        target = np.full(len(types), -1, np.int64)
        target[keep] = np.arange(keep.shape[0])
        low: dict[str, int] = {}
        low_of_type = []
        for w, n in zip(types, counts.tolist()):  # per type
            key = w.lower()
            low_of_type.append(key)
            low[key] = low.get(key, 0) + n
        contexts = sorted(low, key=lambda w: (-low[w], w))[:int(self.n_contexts)]
        context_index = {w: k for k, w in enumerate(contexts)}
        context = np.fromiter((context_index.get(w, -1) for w in low_of_type), np.int64,
                              len(low_of_type))
        t0 = time.perf_counter()
        table = cooccurrence_table(ids, offsets, target, context, int(self.window),
                                   keep.shape[0], len(contexts))
        t1 = time.perf_counter()
        vectors = ppmi_vectors(table, int(self.n_components), random_state=self.random_state)
        del table
        t2 = time.perf_counter()
        self.labels_ = np.stack([self._kmeans(vectors, int(k), draw) for k in self.n_clusters
                                 for draw in range(int(self.n_draws))], 1).astype(np.int16)
        self.words_ = [types[i] for i in keep.tolist()]
        self.n_tokens_ = int(encoded.n_tokens)
        self._set_index()
        if self.verbose:
            print(f"[word vectors] {len(self.words_)} words, {encoded.n_tokens} tokens: "
                  f"counts {t1 - t0:.1f} s, vectors {t2 - t1:.1f} s, k-means "
                  f"{time.perf_counter() - t2:.1f} s", flush=True)
        return self

    def _kmeans(self, vectors: np.ndarray, k: int, draw: int = 0) -> np.ndarray:
        from sklearn.cluster import MiniBatchKMeans

        k = min(k, vectors.shape[0])
        if k <= 1:
            return np.zeros(vectors.shape[0], np.int64)
        return MiniBatchKMeans(n_clusters=k, random_state=int(self.random_state) + draw, n_init=3,
                               batch_size=8192, max_iter=100).fit_predict(vectors)

    def _column_clusters(self) -> np.ndarray:
        """The number of clusters of each column of :attr:`labels_` (each grain's, once per
        draw)."""
        return np.repeat(np.asarray(self.n_clusters, np.int64), int(self.n_draws))

    def _set_index(self):
        self._index = {w: i for i, w in enumerate(self.words_)}
        # each column's first id; a grain has at most as many clusters as words (_kmeans)
        sizes = np.minimum(self._column_clusters(), max(len(self.words_), 1))
        self._column_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)

    # ------------------------------------------------------------------ features
    def transform_types(self, types: Sequence[str]) -> np.ndarray:
        """Cluster ids of distinct word types at every grain and draw, int32 of shape
        (n_types, n_grains * n_draws) (``-1`` for words without a cluster); gather them per
        token by type index.  The ids are distinct across columns (column ``c``'s clusters
        follow those of the columns before it, as the Brown clusters' prefix ids do), so a
        labeler reading the table as one categorical feature never confuses cluster 5 of one
        grain with cluster 5 of another; :attr:`n_ids_` of them in all."""
        check_is_fitted(self, "labels_")
        index = self._index
        rows = np.fromiter((index.get(w, -1) for w in types), np.int64, len(types))
        out = self.labels_[np.maximum(rows, 0)].astype(np.int32) + self._column_offsets[:-1]
        out[rows < 0] = -1
        return out

    @property
    def n_ids_(self) -> int:
        """The number of distinct ids :meth:`transform_types` gives (every column's
        clusters)."""
        check_is_fitted(self, "labels_")
        return int(self._column_offsets[-1])

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "labels_")
        params = self.get_params()
        params["n_clusters"] = [int(k) for k in params["n_clusters"]]
        return ({"labels": self.labels_},
                {"params": params, "words": list(self.words_), "n_tokens": self.n_tokens_})

    @classmethod
    def _from_state(cls, arrays, meta):
        params = dict(meta["params"])
        params["n_clusters"] = tuple(params["n_clusters"])
        model = cls(**params)
        model._check_params()
        words = [str(w) for w in meta["words"]]
        labels = np.asarray(arrays["labels"])
        ks = model._column_clusters()
        if labels.dtype != np.int16 or labels.shape != (len(words), ks.shape[0]):
            raise ValueError(f"word-vector clusters of {len(words)} words at {ks.shape[0]} "
                             f"grains and draws need int16 labels of shape ({len(words)}, "
                             f"{ks.shape[0]}), got {labels.dtype} {labels.shape}")
        if labels.size and (labels.min() < 0 or np.any(labels >= ks[None, :])):
            raise ValueError("word-vector cluster ids outside 0 .. n_clusters - 1")
        if len(set(words)) != len(words):
            raise ValueError("word-vector clusters list a word twice")
        model.words_ = words
        model.labels_ = labels
        model.n_tokens_ = int(meta["n_tokens"])
        model._set_index()
        return model
