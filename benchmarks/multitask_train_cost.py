"""Training cost of the multi-task product against the single-task models it replaces, on
CoNLL-2000 (train: the first four fifths of the training file; dev: the last fifth), as the
product study trains them (``hmmtl.studies.multitask``):

* the single-task POS tagger (``hmmtl train`` default: ``Tagger`` on the words),
* the single-task chunker reading the file's POS column (``hmmtl train --task chunk
  --input-columns pos=1``),
* the product, ``multi-task, no cascade`` (the setting dev chose: the file's POS column in,
  Brown clusters and a 64-state HMM learned once on the NER recipe's English text as shared
  features) with the library's defaults, and with ``--old`` also with the settings before
  ``max_iterations="auto"`` / ``cluster_offsets=(0,)`` (150 iterations, the clusters at
  -1, 0, +1).

``--corpus conll2003`` (POS + chunks + entities; dev eng.testa): the same, with the NER
task's single-task model the recognizer of ``hmmtl experiment ner`` (the file's POS and
chunk columns, documents, the same clusters and HMM), which is also the product's NER task.

The shared representations are learned once (not counted: every setting but the single
ones reads them, and the single-task recognizer learns the same) and kept in
``--representations DIR`` (the product study's cache: ``representations-full.*``).  Each
round trains every model once, one after the other; ``--rounds`` rounds; the seconds of each
round are compared within the round (the machine's load moves between rounds).

    HMMTL_DATA=../shared/data NUMBA_NUM_THREADS=1 python benchmarks/multitask_train_cost.py \
        --representations DIR [--rounds 2] [--old]

Prints a table and one JSON line (seconds, dev scores, the ratio product / sum of singles).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"))
    parser.add_argument("--representations", required=True, metavar="DIR",
                        help="the product study's cache of the shared clusters and HMM "
                             "(learned there when missing)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--corpus", choices=("conll2000", "conll2003"), default="conll2000")
    parser.add_argument("--old", action="store_true",
                        help="also the product with max_iterations=None, cluster_offsets=None")
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("give --data or set HMMTL_DATA")
    from hmmtl.crf import LinearChainCRF
    from hmmtl.studies import multitask as study
    from hmmtl.transfer.pipeline import Tagger

    root = Path(args.data)
    cfg = dict(study.PRODUCT_PRESETS["full"], corpora=(args.corpus,))
    tasks, data = study._product_corpora(root, cfg)[args.corpus]
    train, dev = data["train"], data["dev"]
    reps = study._representations(root, cfg, False, cache=Path(args.representations))

    # each returns, once trained, the function that tags dev (timed apart)
    def single_pos():
        model = Tagger(labeler_params={"task": "pos", "random_state": 0},
                       random_state=0).fit(train["words"], train["pos"])
        return lambda: {"pos": model.predict(dev["words"])}

    def single_chunk():
        model = LinearChainCRF(task="chunk", random_state=0).fit(
            train["words"], train["chunk"], extra={"pos": train["pos"]})
        return lambda: {"chunk": model.predict(dev["words"], extra={"pos": dev["pos"]})}

    def single_ner():
        model = study._recognizer(reps, cfg, 0).fit(
            train["words"], train["ner"], columns=study._file_columns(train, tasks),
            documents=train.get("documents"), unlabeled=reps.auto_text)
        return lambda: {"ner": model.predict(dev["words"],
                                             columns=study._file_columns(dev, tasks),
                                             documents=dev.get("documents"))}

    def product(**settings):
        def fit():
            model, fit_kwargs = study._product_model("multi-task, no cascade", cfg, 0, reps,
                                                     tasks)
            model.set_params(**settings)
            kwargs = fit_kwargs(train, tasks)
            if "ner" in tasks:
                kwargs["unlabeled"] = reps.auto_text
            model.fit(train["words"], {t: train[t] for t in tasks}, **kwargs)
            extra = {"documents": dev.get("documents")} if "ner" in tasks else {}
            return lambda: model.predict(dev["words"], columns=study._file_columns(dev, tasks),
                                         **extra)
        return fit

    runs = {"single POS": single_pos, "single chunker (file POS)": single_chunk}
    if "ner" in tasks:
        runs["single NER (the recognizer)"] = single_ner
    runs["product (defaults)"] = product()
    if args.old:
        runs["product (150 iterations, clusters at -1..+1)"] = product(
            max_iterations=None, cluster_offsets=None)
    rounds = []
    scores: dict = {}
    for _ in range(max(1, args.rounds)):
        seconds = {}
        for name, run in runs.items():
            t0 = time.perf_counter()
            tag_dev = run()
            seconds[name] = time.perf_counter() - t0
            scores[name] = {t: round(100 * study._score(t, dev[t], p)["score"], 3)
                            for t, p in tag_dev().items()}
        rounds.append({"seconds": seconds, "load": round(os.getloadavg()[0], 2)})
    threads = os.environ.get("NUMBA_NUM_THREADS", "all")
    print(f"{args.corpus}, {sum(map(len, train['words']))} training tokens; Numba threads "
          f"{threads}; {os.cpu_count()} CPUs")
    print(f"{'model':<48}" + "".join(f"{f'round {i + 1} s':>12}" for i in range(len(rounds)))
          + f"  {'dev'}")
    for name in runs:
        dev_text = ", ".join(f"{t} {v:.2f}" for t, v in scores[name].items())
        print(f"{name:<48}" + "".join(f"{r['seconds'][name]:>12.1f}" for r in rounds)
              + f"  {dev_text}")
    single_names = [n for n in runs if n.startswith("single")]
    singles = [sum(r["seconds"][n] for n in single_names) for r in rounds]
    ratios = [r["seconds"]["product (defaults)"] / s for r, s in zip(rounds, singles)]
    print("sum of the single-task models: " + " / ".join(f"{s:.1f} s" for s in singles)
          + "; product / sum: " + " / ".join(f"{x:.2f}" for x in ratios)
          + "; load average after each round: " + " / ".join(str(r["load"]) for r in rounds))
    print(json.dumps({"benchmark": "multitask_train_cost", "corpus": args.corpus,
                      "threads": threads,
                      "rounds": [{**r, "seconds": {k: round(v, 2) for k, v in
                                                   r["seconds"].items()}} for r in rounds],
                      "sum_single_s": [round(s, 2) for s in singles],
                      "ratio_product_vs_sum": [round(x, 3) for x in ratios],
                      "dev": scores}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
