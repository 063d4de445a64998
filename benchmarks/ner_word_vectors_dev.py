"""Dev only: distributional word clusters beside the Brown clusters in the English recognizer.

Each word of the English NER study's unlabeled text (``hmmtl experiment ner``'s text plus the
``--unlabeled`` files, default Reuters-21578) seen at least 3 times gets a vector: its
positive PMI with the 10,000 most frequent lowercased words at each position of a window
(``--window``, both sides), context counts smoothed by the power 0.75 (Levy, Goldberg &
Dagan 2015), reduced by a randomized SVD to ``--dim`` dimensions (``U sqrt(S)``, rows
normalized); k-means (scikit-learn's ``MiniBatchKMeans``, seed 0) cuts the vectors into
``--ks`` clusters at each grain, the word2vec-cluster features of ixa-pipe-nerc (Agerri &
Rigau 2016).  The recognizer reads each grain's cluster of the words at -1, 0, +1 as it reads
the Brown path prefixes.  Every variant trains the study's recipe (the lexicon lists of
``--lexicon``, the Brown clusters and the HMM learned once and reused) and scores eng.testa;
the test files are not read.

    HMMTL_DATA=../shared/data python benchmarks/ner_word_vectors_dev.py \\
        --variants "none;2:100:64,256,1024;5:200:100,500,2000"

Variants (``;``-separated): ``none`` (the recipe) or ``WINDOW:DIM:K,K,...``.  Prints one
JSON line per variant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ner_dev_sweep import corpora_root, representations_learned_once

#: the context words of the vectors: the most frequent lowercased words
N_CONTEXTS = 10_000


def count_words(text, chunk: int = 20_000) -> tuple[list, np.ndarray]:
    """The distinct words of ``text`` (a stream of token lists read once) and their counts."""
    from hmmtl.data import factorize, flatten, sentence_chunks

    index: dict = {}
    counts = np.zeros(0, dtype=np.int64)
    for sentences in sentence_chunks(text, chunk):
        flat, _ = flatten(sentences)
        types, ids = factorize(flat)
        rows = np.fromiter((index.setdefault(w, len(index)) for w in types), np.int64,
                           len(types))
        counts = np.concatenate([counts, np.zeros(len(index) - counts.shape[0], np.int64)])
        np.add.at(counts, rows, np.bincount(ids, minlength=len(types)))
    return list(index), counts


def word_vectors(text, window: int, dim: int, min_count: int = 3, chunk: int = 20_000,
                 seed: int = 0) -> tuple[list, np.ndarray]:
    """(words, vectors): the PPMI-SVD vectors of the words of ``text`` seen ``min_count``
    times or more, most frequent first."""
    from scipy import sparse
    from sklearn.utils.extmath import randomized_svd

    from hmmtl.data import factorize, flatten, sentence_chunks

    words, counts = count_words(text, chunk)
    keep = np.flatnonzero(counts >= min_count)
    keep = keep[np.argsort(-counts[keep], kind="stable")]
    vocab = [words[i] for i in keep]
    word_index = {w: k for k, w in enumerate(vocab)}
    low: dict = {}
    for w, n in zip(words, counts.tolist()):
        low[w.lower()] = low.get(w.lower(), 0) + n
    contexts = sorted(low, key=low.__getitem__, reverse=True)[:N_CONTEXTS]
    context_index = {w: k for k, w in enumerate(contexts)}
    shifts = [d for d in range(-window, window + 1) if d]
    n_cols = len(contexts) * len(shifts)
    table = sparse.csr_matrix((len(vocab), n_cols), dtype=np.float64)
    for sentences in sentence_chunks(text, chunk):
        flat, offsets = flatten(sentences)
        types, ids = factorize(flat)
        target = np.fromiter((word_index.get(w, -1) for w in types), np.int64, len(types))[ids]
        context = np.fromiter((context_index.get(w.lower(), -1) for w in types), np.int64,
                              len(types))[ids]
        sentence = np.repeat(np.arange(offsets.shape[0] - 1), np.diff(offsets))
        rows, cols = [], []
        n = ids.shape[0]
        for block, d in enumerate(shifts):
            a = np.arange(max(0, -d), n - max(0, d))
            b = a + d
            ok = (sentence[a] == sentence[b]) & (target[a] >= 0) & (context[b] >= 0)
            rows.append(target[a[ok]])
            cols.append(context[b[ok]] + block * len(contexts))
        r, c = np.concatenate(rows), np.concatenate(cols)
        table = table + sparse.csr_matrix((np.ones(r.shape[0]), (r, c)), shape=table.shape)
    coo = table.tocoo()
    total = coo.data.sum()
    row = np.asarray(table.sum(1)).ravel()
    col = np.asarray(table.sum(0)).ravel() ** 0.75
    col /= col.sum()
    pmi = np.log(coo.data / row[coo.row] / col[coo.col])
    ok = pmi > 0
    ppmi = sparse.csr_matrix((pmi[ok], (coo.row[ok], coo.col[ok])), shape=table.shape)
    del total
    u, s, _ = randomized_svd(ppmi, dim, n_iter=5, random_state=seed)
    vectors = u * np.sqrt(s)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vocab, vectors


class VectorClusters:
    """k-means clusters of word vectors at several grains, per word type."""

    def __init__(self, words, vectors, ks, seed: int = 0):
        from sklearn.cluster import MiniBatchKMeans

        self.index = {w: k for k, w in enumerate(words)}
        self.labels = np.stack([
            MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=8192,
                            max_iter=100).fit_predict(vectors) for k in ks], 1).astype(np.int32)

    def transform_types(self, types) -> np.ndarray:
        rows = np.fromiter((self.index.get(w, -1) for w in types), np.int64, len(types))
        return np.where(rows[:, None] >= 0, self.labels[np.maximum(rows, 0)], -1).astype(np.int32)


def main(argv=None) -> int:
    from hmmtl.ner import recognizer as rec
    from hmmtl.studies import ner as study

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", default="none;2:100:64,256,1024")
    p.add_argument("--unlabeled", nargs="*", default=None,
                   help="more text (default: the data folder's Reuters-21578)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the SVD and of k-means (default 0)")
    p.add_argument("--data", default=None, help="corpora folder (default: $HMMTL_DATA)")
    args = p.parse_args(argv)
    root = corpora_root(p, args.data)
    files = (args.unlabeled if args.unlabeled is not None
             else [str(root / "text" / "en" / "reuters21578.jsonl.gz")])
    data = study.load_ner_data(root, "eng")
    lexicon = study.read_lexicon(root / "lexicon" / "en")
    clusters: list = [None]
    prepare = rec.NamedEntityRecognizer._prepare

    def prepare_with_vectors(self, X, columns, documents, fitting, with_columns=True,
                             exclude=None):
        batch = prepare(self, X, columns, documents, fitting, with_columns, exclude)
        if clusters[0] is not None and (fitting or "brown.vectors" in self.features_):
            types = batch.types
            batch.extra["brown.vectors"] = clusters[0].transform_types(types.types)[types.ids]
        return batch

    rec.NamedEntityRecognizer._prepare = prepare_with_vectors
    try:
        with representations_learned_once():
            for variant in args.variants.split(";"):
                t0 = time.perf_counter()
                if variant == "none":
                    clusters[0] = None
                else:
                    window, dim, ks = variant.split(":")
                    text = study.Texts(study.unlabeled_text(root, "eng", data["train"],
                                                            files).values())
                    words, vectors = word_vectors(text, int(window), int(dim), seed=args.seed)
                    clusters[0] = VectorClusters(words, vectors, [int(k) for k in ks.split(",")],
                                                 seed=args.seed)
                t1 = time.perf_counter()
                model, _, _ = study.train_recognizer(root, "eng", data, lexicon=lexicon,
                                                     unlabeled=files)
                dev = study._evaluate(model, data["dev"], "eng")
                print(json.dumps({"variant": variant, "seed": args.seed,
                                  "dev_f1": round(100 * dev["f1"], 2),
                                  "dev_f1_by_type": {t: round(100 * s["f1"], 2)
                                                     for t, s in dev["per_type"].items()},
                                  "vectors_s": round(t1 - t0),
                                  "seconds": round(time.perf_counter() - t0)}), flush=True)
    finally:
        rec.NamedEntityRecognizer._prepare = prepare
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
