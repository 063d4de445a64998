"""POS domain adaptation: train on newswire (WSJ), tag web text (English Web Treebank).

    python examples/pos_domain_adaptation.py [--data DIR] [--quick]

A CRF trained on CoNLL-2000 (WSJ, Penn Treebank tags) is tested on the five web domains of
EWT (XPOS column, same tagset), with and without the features of an HMM learned on
unlabeled text of both domains: the WSJ sentences and the words of the EWT train files
(their tags are not used).  Web words never seen in the WSJ labeled data share HMM states
with known words, which is where the HMM features help (Grave, Obozinski & Bach, 2013).

Notation is normalized on both sides (``-LRB-`` vs ``(``, PTB quotes) so that the comparison
measures tagging rather than spelling.  Needs the corpora (``--data DIR`` or ``HMMTL_DATA``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"), help="corpora folder")
    parser.add_argument("--quick", action="store_true", help="small and fast")
    parser.add_argument("--states", type=int, help="HMM states (default 16 quick, 128 full)")
    args = parser.parse_args(argv)
    ewt = Path(args.data or "") / "ud" / "en_ewt"
    if not args.data or not ewt.is_dir():
        sys.exit("this example needs the corpora: pass --data DIR or set HMMTL_DATA to the folder "
                 "holding nltk_data/ and ud/en_ewt/")

    from hmmtl import CategoricalHMM, Tagger
    from hmmtl.io import load_nltk, normalize_notation, read_conllu
    from hmmtl.metrics import accuracy, oov_accuracy

    t0 = time.perf_counter()
    n_train, n_text, n_test = (300, 150, 60) if args.quick else (None, None, None)
    n_states = args.states or (16 if args.quick else 128)
    n_iter = 5 if args.quick else 20

    def norm(corpus, column):
        return normalize_notation(corpus, words="ptb", tags="ptb", columns=[column])

    wsj = norm(load_nltk("conll2000", data_dir=args.data, split="train"), "pos")[:n_train]
    unlabeled = list(wsj.sentences)
    tests = {}
    for d in DOMAINS:
        unlabeled += read_conllu(ewt / f"en_ewt-{d}-train.conllu").sentences[:n_text]
        tests[d] = norm(read_conllu(ewt / f"en_ewt-{d}-test.conllu"), "xpos")[:n_test]
    print(f"labeled WSJ: {len(wsj)} sentences; unlabeled WSJ + web text: {len(unlabeled)} "
          f"sentences; HMM: {n_states} states")

    hmm = CategoricalHMM(n_states=n_states, n_iter=n_iter, lowercase=True, min_count=2,
                         random_state=0).fit(unlabeled)
    crf_params = {"max_iterations": 30 if args.quick else 100}
    taggers = {
        "CRF": Tagger(labeler_params=crf_params),
        "CRF + HMM features": Tagger(hmm=hmm, labeler_params=crf_params),
    }
    for tagger in taggers.values():
        tagger.fit(wsj.sentences, wsj.column("pos"))

    known = {w for s in wsj.sentences for w in s}
    head = f"{'domain':<10}" + "".join(f"{name + ' acc':>26}{'OOV acc':>10}" for name in taggers)
    print(head)
    means = {name: [0.0, 0.0] for name in taggers}
    for d, test in tests.items():
        row = f"{d:<10}"
        for name, tagger in taggers.items():
            pred = tagger.predict(test.sentences)
            acc = accuracy(test.column("xpos"), pred)
            oov = oov_accuracy(test.column("xpos"), pred, words=test.sentences, train_words=known)
            means[name][0] += acc / len(tests)
            means[name][1] += oov / len(tests)
            row += f"{100 * acc:>26.2f}{100 * oov:>10.2f}"
        print(row)
    print(f"{'mean':<10}" + "".join(f"{100 * a:>26.2f}{100 * o:>10.2f}" for a, o in means.values()))
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
