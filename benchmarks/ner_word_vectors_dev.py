"""Dev only: distributional word clusters beside the Brown clusters in the English recognizer.

Each variant sets the English recipe's ``"word_vectors"`` (:data:`hmmtl.studies.ner.RECIPES`:
the recognizer's ``word_clusters``, :class:`hmmtl.ner.vectors.WordVectorClusters`): each word
of the study's unlabeled text (``hmmtl experiment ner``'s text plus the ``--unlabeled`` files,
default Reuters-21578) seen at least 3 times gets a vector, its positive PMI with the 10,000
most frequent lowercased words at each position of a window (``WINDOW`` words each side),
reduced by a randomized SVD to ``DIM`` dimensions; k-means cuts the vectors into clusters at
each grain; the recognizer reads each grain's cluster of the words at -1, 0, +1.  Every
variant trains the study's recipe (the lexicon lists of ``lexicon/en``; the Brown clusters and
the HMM learned once and reused) and scores eng.testa; the test files are not read.

    HMMTL_DATA=../shared/data python benchmarks/ner_word_vectors_dev.py \\
        --variants "none;2:100:64,256,1024" --seeds 0 1 2

Variants (``;``-separated): ``none`` (no word vectors) or ``WINDOW:DIM:K,K,...[:DRAWS]``
(``DRAWS`` k-means cuts per grain, each a feature), each
trained with every seed of ``--seeds`` (the seed of the SVD and of k-means).  Prints one
JSON line per variant and seed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ner_dev_sweep import corpora_root, representations_learned_once


def main(argv=None) -> int:
    from hmmtl.studies import ner as study

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", default="none;2:100:64,256,1024")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="seeds of the SVD and of k-means (default 0)")
    p.add_argument("--unlabeled", nargs="*", default=None,
                   help="more text (default: the data folder's Reuters-21578)")
    p.add_argument("--data", default=None, help="corpora folder (default: $HMMTL_DATA)")
    args = p.parse_args(argv)
    root = corpora_root(p, args.data)
    files = (args.unlabeled if args.unlabeled is not None
             else [str(root / "text" / "en" / "reuters21578.jsonl.gz")])
    data = study.load_ner_data(root, "eng")
    lexicon = study.read_lexicon(root / "lexicon" / "en")
    chosen = study.RECIPES["eng"].get("word_vectors")
    try:
        with representations_learned_once():
            for variant in args.variants.split(";"):
                for seed in ([None] if variant == "none" else args.seeds):
                    t0 = time.perf_counter()
                    if variant == "none":
                        study.RECIPES["eng"]["word_vectors"] = None
                    else:
                        window, dim, ks, *draws = variant.split(":")
                        study.RECIPES["eng"]["word_vectors"] = {
                            "window": int(window), "n_components": int(dim),
                            "n_clusters": [int(k) for k in ks.split(",")],
                            "n_draws": int(draws[0]) if draws else 1, "random_state": seed}
                    model, info, _ = study.train_recognizer(root, "eng", data, lexicon=lexicon,
                                                            unlabeled=files)
                    dev = study._evaluate(model, data["dev"], "eng")
                    print(json.dumps({"variant": variant, "seed": seed,
                                      "dev_f1": round(100 * dev["f1"], 2),
                                      "dev_f1_by_type": {t: round(100 * s["f1"], 2)
                                                         for t, s in dev["per_type"].items()},
                                      "vector_words": info.get("vector_words"),
                                      "vectors_s": round(info.get("vectors_s", 0.0)),
                                      "seconds": round(time.perf_counter() - t0)}), flush=True)
    finally:
        study.RECIPES["eng"]["word_vectors"] = chosen
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
