"""Quickstart: an HMM learns word classes from text, a CRF uses them to tag parts of speech.

    python examples/quickstart.py [--data DIR] [--quick]

With the corpora (``--data DIR`` or ``HMMTL_DATA``) it trains on CoNLL-2000 (WSJ, Penn
Treebank tags) and tests on its test set; without them, on a synthetic corpus sampled from a
known HMM.  The ten lines between the markers are the README's quickstart.
"""

import argparse
import os
import sys
import time

from hmmtl.io import nltk_data_dir


def load(data, quick):
    """(train, test) corpora with ``.sentences`` and a ``pos`` column."""
    from hmmtl.io import Corpus, load_nltk

    try:
        found = data is not None and nltk_data_dir(data) is not None
    except FileNotFoundError:  # a folder without NLTK data in it
        found = False
    if found:
        train = load_nltk("conll2000", data_dir=data, split="train")
        test = load_nltk("conll2000", data_dir=data, split="test")
        if quick:
            train, test = train[:300], test[:150]
        return train, test
    print("no corpora found (--data DIR or HMMTL_DATA): using a SYNTHETIC corpus sampled from "
          "a known HMM", file=sys.stderr)
    from hmmtl.studies.demo import synthetic_corpus

    syn = synthetic_corpus(n_source=300 if quick else 800, n_test=100, random_state=0)
    train = Corpus(columns={"word": syn["train"][0], "pos": syn["train"][1]})
    test = Corpus(columns={"word": syn["test"][0], "pos": syn["test"][1]})
    return train, test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"), help="corpora folder")
    parser.add_argument("--quick", action="store_true", help="small and fast")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    train, test = load(args.data, args.quick)
    n_states, n_iter = (16, 5) if args.quick else (64, 20)

    # --- quickstart -------------------------------------------------------------------
    from hmmtl import CategoricalHMM, Tagger

    # word classes learned without labels, from all the text there is
    hmm = CategoricalHMM(n_states=n_states, n_iter=n_iter, lowercase=True, random_state=0)
    hmm.fit(train.sentences + test.sentences)
    # a CRF whose features include each word's HMM state, posterior and type distribution
    tagger = Tagger(hmm=hmm, labeler_params={"max_iterations": 40})
    tagger.fit(train.sentences, train.column("pos"))
    print(f"accuracy: {tagger.score(test.sentences, test.column('pos')):.4f}")
    print(tagger.tag(test.sentences[0]))
    # --- end of quickstart ------------------------------------------------------------

    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
