"""Named-entity recognition on CoNLL-2003 with HMM word representations as CRF features.

    python examples/ner_hmm_features.py [--data DIR] [--quick]

An HMM learned on the words of the CoNLL-2003 files (no labels) gives every token a state, a
posterior over states and a type-level distribution; a CRF over word-type features (identity,
affixes, shape, at offsets -2..2) is trained with and without them, decoding only valid BIO
sequences.  Entity F1 on ``eng.testb`` is computed with conlleval's rules.  Needs the
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

    from hmmtl import CategoricalHMM, Tagger
    from hmmtl.io import CONLL2003_COLUMNS, convert_scheme, read_conll
    from hmmtl.metrics import entity_scores

    t0 = time.perf_counter()
    n_train, n_test = (400, 300) if args.quick else (None, None)
    train = read_conll(root / "eng.train", columns=CONLL2003_COLUMNS)[:n_train]
    testa = read_conll(root / "eng.testa", columns=CONLL2003_COLUMNS)
    test = read_conll(root / "eng.testb", columns=CONLL2003_COLUMNS)[:n_test]
    # the files use IOB1; IOB2 makes every entity start with B-, which BIO decoding needs
    y_train = convert_scheme(train.column("ner"), "iob2")
    y_test = convert_scheme(test.column("ner"), "iob2")

    n_states, n_iter = (16, 5) if args.quick else (64, 20)
    text = train.sentences + testa.sentences[: 500 if args.quick else None] + test.sentences
    hmm = CategoricalHMM(n_states=n_states, n_iter=n_iter, min_count=2,
                         random_state=0).fit(text)
    print(f"HMM: {n_states} states on {len(text)} unlabeled sentences; CRF on {len(train)} "
          f"labeled sentences")

    crf = {"max_iterations": 40 if args.quick else 150, "constraint": "BIO"}
    for name, tagger in [("CRF", Tagger(labeler_params=crf)),
                         ("CRF + HMM features", Tagger(hmm=hmm, labeler_params=crf))]:
        tagger.fit(train.sentences, y_train)
        scores = entity_scores(y_test, tagger.predict(test.sentences))
        print(f"{name:<20} eng.testb entity P {100 * scores.precision:6.2f}  "
              f"R {100 * scores.recall:6.2f}  F1 {100 * scores.f1:6.2f}")
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
