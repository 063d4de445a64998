"""Dev only: which of the shared representations the multi-task chunker should read.

The chunk task of a ``MultiTaskTagger`` (the file's POS column as input, no cascade) with the
Brown clusters and the HMM of the product study (``hmmtl experiment multi-task``: learned once
on the NER recipe's English text), with one, the other, both or neither, and with other CRF
``c2``; scored on the study's dev set of the corpus (CoNLL-2000: the held-out last fifth of
train; CoNLL-2003: eng.testa).  The test sets are not read.

    HMMTL_DATA=../shared/data python benchmarks/multitask_chunk_dev.py conll2003 \\
        --representations OUT    # the --out folder of a full product study (its cache)

Variants (``;``-separated, each ``key=value,...``): ``brown=0`` (no clusters), ``hmm=0`` (no
HMM), ``c2=X``; the empty variant is both representations at the chunk defaults.  Prints a
table and one JSON line per variant.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DEFAULT_VARIANTS = "brown=0,hmm=0;;hmm=0;brown=0;c2=0.6;c2=1.0"


def main(argv=None) -> int:
    from hmmtl.io.data_root import find_data_root
    from hmmtl.studies.multitask import (PRODUCT_PRESETS, _product_corpora, _representations,
                                         _score)
    from hmmtl.transfer.multitask import MultiTaskTagger

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("corpus", choices=("conll2000", "conll2003"))
    p.add_argument("--variants", default=DEFAULT_VARIANTS)
    p.add_argument("--data", default=None, help="corpora folder (default: $HMMTL_DATA)")
    p.add_argument("--representations", type=Path, default=Path("results/multi-task"),
                   help="folder of the study's cached representations (learned there if "
                        "absent, about 3 minutes)")
    args = p.parse_args(argv)
    root = find_data_root(args.data)
    if root is None:
        p.error("no corpora folder: give --data or set HMMTL_DATA")
    cfg = dict(PRODUCT_PRESETS["full"], corpora=(args.corpus,))
    data = _product_corpora(Path(root), cfg)[args.corpus][1]
    args.representations.mkdir(parents=True, exist_ok=True)
    reps = _representations(Path(root), cfg, False, cache=args.representations)
    train, dev = data["train"], data["dev"]
    rows = []
    for variant in args.variants.split(";"):
        opts = dict(kv.split("=") for kv in variant.split(",") if kv)
        params = {k: float(opts[k]) for k in ("c1", "c2") if k in opts}
        model = MultiTaskTagger(cascade=False, columns={"pos": 1},
                                clusters=reps.clusters if opts.get("brown", "1") == "1" else None,
                                hmm=reps.hmm if opts.get("hmm", "1") == "1" else None,
                                shared_features="all", labeler_params=params or None,
                                random_state=0)
        t0 = time.perf_counter()
        model.fit(train["words"], {"chunk": train["chunk"]}, columns={"pos": train["pos"]})
        seconds = time.perf_counter() - t0
        pred = model.predict(dev["words"], columns={"pos": dev["pos"]})["chunk"]
        f1 = 100 * _score("chunk", dev["chunk"], pred)["score"]
        rows.append({"corpus": args.corpus, "variant": variant or "both",
                     "dev_f1": round(f1, 2), "train_s": round(seconds, 1)})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n| {args.corpus} chunk variant | dev F1 | training s |\n| --- | --- | --- |")
    for r in rows:
        print(f"| {r['variant']} | {r['dev_f1']:.2f} | {r['train_s']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
