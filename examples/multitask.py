"""Several tasks, one set of hidden states: MultiTaskHMM on CoNLL-2003 POS, chunks and NER.

    python examples/multitask.py [--data DIR] [--quick]

The CoNLL-2003 training sentences are split in three parts, each labeled for one task only
(POS, chunking or NER), as if they came from three differently annotated corpora.  A
:class:`hmmtl.MultiTaskHMM` is trained on all of them at once: every hidden state emits the
word and a label of each task, and labels a sentence lacks are summed out.  It is compared
with the same model trained on the NER part alone: sharing states with the other tasks lets
the NER labels benefit from the POS and chunk annotations of the other sentences.  Needs the
corpora (``--data DIR`` or ``HMMTL_DATA``).
"""

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"), help="corpora folder")
    parser.add_argument("--quick", action="store_true", help="small and fast")
    args = parser.parse_args(argv)
    root = Path(args.data or "") / "conll2003"
    if not args.data or not (root / "eng.train").is_file():
        sys.exit("this example needs the corpora: pass --data DIR or set HMMTL_DATA to the folder "
                 "holding conll2003/eng.train")

    from hmmtl import MultiTaskHMM
    from hmmtl.io import CONLL2003_COLUMNS, convert_scheme, read_conll
    from hmmtl.metrics import accuracy, entity_scores

    t0 = time.perf_counter()
    n_train, n_test = (900, 300) if args.quick else (None, None)
    train = read_conll(root / "eng.train", columns=CONLL2003_COLUMNS)[:n_train]
    test = read_conll(root / "eng.testb", columns=CONLL2003_COLUMNS)[:n_test]
    X = train.sentences
    gold = {"pos": train.column("pos"), "chunk": convert_scheme(train.column("chunk"), "iob2"),
            "ner": convert_scheme(train.column("ner"), "iob2")}
    # sentence i is labeled for task i % 3 only: three corpora annotated for different tasks
    tasks = ("pos", "chunk", "ner")
    y = {t: [s if i % 3 == k else None for i, s in enumerate(gold[t])]
         for k, t in enumerate(tasks)}
    n_states, n_iter = (48, 5) if args.quick else (96, 20)
    params = dict(n_states=n_states, n_iter=n_iter, min_count=2, random_state=0)

    # states start as refinements of the NER labels (init_task); POS and chunk labels then
    # shape them through the sentences annotated for those tasks
    multi = MultiTaskHMM(init_task="ner", **params).fit(X, y)
    ner_only = [i for i in range(len(X)) if i % 3 == 2]
    single = MultiTaskHMM(**params).fit([X[i] for i in ner_only],
                                        {"ner": [gold["ner"][i] for i in ner_only]})

    y_test = convert_scheme(test.column("ner"), "iob2")
    print(f"{len(X)} training sentences, a third labeled for each task; {n_states} states")
    for name, model in [("NER only", single), ("POS + chunk + NER", multi)]:
        f1 = entity_scores(y_test, model.predict(test.sentences, task="ner")).f1
        print(f"{name:<20} NER entity F1 on eng.testb: {100 * f1:6.2f}")
    pos = accuracy(test.column("pos"), multi.predict(test.sentences, task="pos"))
    print(f"the multi-task model also tags POS: accuracy {100 * pos:.2f} on eng.testb")
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
