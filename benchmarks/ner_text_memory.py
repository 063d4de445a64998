"""Peak memory of the NER recipe's Brown clusters and HMM learned on raw text: the text read
into token lists (as the NER study does) against streamed (as ``hmmtl train --algorithm
recognizer --unlabeled`` does), on the first N tokens of Reuters-21578 and 20 Newsgroups.

    HMMTL_DATA=../shared/data python benchmarks/ner_text_memory.py stream --tokens 10000000
    HMMTL_DATA=../shared/data python benchmarks/ner_text_memory.py lists --tokens 10000000

Run each way in its own process (the peak is the process's).  Prints one line and a JSON
line: tokens, sentences, peak resident memory, seconds and the clusters' and the HMM's
vocabulary sizes (equal both ways: the same clusters and HMM).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

TEXTS = ("reuters21578.jsonl.gz", "20newsgroups.jsonl.gz")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("lists", "stream"))
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"))
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give --data or set HMMTL_DATA")
    from hmmtl.cli import _ner_recipe
    from hmmtl.cli._common import iter_text_sentences
    from hmmtl.io.text import TokenStream
    from hmmtl.studies import ner as study

    paths = [str(Path(args.data) / "text" / "en" / name) for name in TEXTS]
    stream = TokenStream(lambda: iter_text_sentences(paths, None), args.tokens)
    t0 = time.perf_counter()
    if args.mode == "lists":
        text = list(stream)
        recipe = study.RECIPES["eng"]
        clusters = study._clusters(text, recipe["clusters"], False)
        hmm = study._hmm(text, recipe["hmm_states"], study.HMM_ITERATIONS, False)
    else:
        clusters, hmm, _ = _ner_recipe.representations([], stream,
                                                    argparse.Namespace(quiet=True))
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = {"benchmark": "ner_text_memory", "mode": args.mode, "tokens": stream.n_tokens,
           "sentences": stream.n_sentences, "peak_mb": round(peak_mb),
           "seconds": round(seconds, 1), "cluster_words": len(clusters.words_),
           "hmm_words": len(hmm.vocabulary_)}
    print(f"{args.mode}: {row['tokens']:,} tokens, {row['sentences']:,} sentences, peak "
          f"{row['peak_mb']:,} MB, {row['seconds']} s, {row['cluster_words']} cluster words, "
          f"{row['hmm_words']} HMM words")
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
