"""How much of the EWT test (or dev) set a POS tagger trained on CoNLL-2000 (WSJ) cannot get
right whatever its representations: the tokens whose gold XPOS is one of the English Web
Treebank's additions to the Penn Treebank tags (ADD, AFX, GW, HYPH, NFP, XX), which the
WSJ training data never shows, per domain, among all tokens and among the OOV tokens (word
forms absent from the labeled training words, both as their files write them), with the
ceiling they put on the accuracy and the OOV accuracy of the issue's targets (means over
the five domains).

    HMMTL_DATA=../shared/data python benchmarks/ewt_tag_ceiling.py [--split test]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from hmmtl.io import load_nltk, read_conllu

DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")
#: the EWT's tags that the Penn Treebank's WSJ files do not use
EWT_ONLY = frozenset({"ADD", "AFX", "GW", "HYPH", "NFP", "XX"})


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"))
    parser.add_argument("--split", default="test", choices=("test", "dev"))
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give --data or set HMMTL_DATA")
    data = Path(args.data)
    train = load_nltk("conll2000", data_dir=data / "nltk_data", split="train")
    known = {w for s in train.sentences for w in s}
    train_tags = {t for s in train.column("pos") for t in s}
    assert not (EWT_ONLY & train_tags), "the WSJ training tags hold an EWT-only tag"
    rows = {}
    for d in DOMAINS:
        corpus = read_conllu(str(data / "ud" / "en_ewt" / f"en_ewt-{d}-{args.split}.conllu"))
        n = oov = only = only_oov = 0
        for words, tags in zip(corpus.sentences, corpus.column("xpos")):
            for w, t in zip(words, tags):
                unseen = w not in known
                n, oov = n + 1, oov + unseen
                if t in EWT_ONLY:
                    only, only_oov = only + 1, only_oov + unseen
        rows[d] = {"tokens": n, "oov": oov, "ewt_only": only, "ewt_only_oov": only_oov,
                   "share": 100 * only / n, "share_oov": 100 * only_oov / oov}
    mean = {k: statistics.mean(r[k] for r in rows.values()) for k in ("share", "share_oov")}
    result = {"benchmark": "ewt_tag_ceiling", "split": args.split, "domains": rows,
              "mean_share": mean["share"], "mean_share_oov": mean["share_oov"],
              "ceiling_accuracy": 100 - mean["share"],
              "ceiling_oov_accuracy": 100 - mean["share_oov"]}
    print(f"EWT {args.split}: tokens whose gold tag is an EWT-only tag "
          f"({', '.join(sorted(EWT_ONLY))})")
    print(f"{'domain':<12}{'tokens':>8}{'EWT-only':>10}{'share %':>9}{'OOV':>7}"
          f"{'EWT-only OOV':>14}{'share %':>9}")
    for d, r in rows.items():
        print(f"{d:<12}{r['tokens']:>8}{r['ewt_only']:>10}{r['share']:>9.2f}{r['oov']:>7}"
              f"{r['ewt_only_oov']:>14}{r['share_oov']:>9.2f}")
    print(f"{'mean':<12}{'':>8}{'':>10}{mean['share']:>9.2f}{'':>7}{'':>14}"
          f"{mean['share_oov']:>9.2f}")
    print(f"ceiling of a tagger trained on CoNLL-2000: accuracy {100 - mean['share']:.2f}, "
          f"OOV accuracy {100 - mean['share_oov']:.2f} (means over the domains)")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
