"""Dev only: the NER study's recognizer of one language over recognizer settings.

Each variant trains the recognizer as ``hmmtl experiment ner`` does
(``hmmtl.studies.ner.train_recognizer``) with some settings changed, and scores it on the
language's dev file (eng.testa / esp.testa / ned.testa); the test files are not read.  The
Brown clusters and the HMM are learned once and reused by every variant (same text, same
seeds: the same models each time).

    HMMTL_DATA=../shared/data python benchmarks/ner_dev_sweep.py esp --lexicon \\
        --variants "c2=1.0;c2=2.0;c2=4.0"
    HMMTL_DATA=../shared/data python benchmarks/ner_dev_sweep.py eng --lexicon \\
        --unlabeled ../shared/data/text/en/reuters21578.jsonl.gz --variants "iters=200;iters=300"

Variants (``;``-separated, each ``key=value,...``): ``c2`` / ``c1`` / ``iters`` (the CRFs'
regularization and L-BFGS iterations), ``folds`` (the first stage's cross-validation), or a
parameter of the recognizer (``auto_lists=1``); the empty variant is the recipe itself.
Prints one JSON line per variant.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import time


def corpora_root(parser: argparse.ArgumentParser, data):
    """The corpora folder of ``--data`` (default: ``$HMMTL_DATA``); the parser's error
    when there is none."""
    from hmmtl.io.data_root import find_data_root

    root = find_data_root(data)
    if root is None:
        parser.error("no corpora folder: give --data or set HMMTL_DATA")
    return root


@contextlib.contextmanager
def representations_learned_once():
    """While the block runs, the study's ``learn_representations`` (the Brown clusters and
    the HMM of ``train_recognizer``) learns once per setting (clusters, states,
    iterations) and gives the same models again: every variant reads the same text with
    the same seeds, so the models would be the same."""
    from hmmtl.studies import ner as study

    learn = study.learn_representations
    learned: dict = {}

    def learn_once(text, n_clusters, n_states, n_iter, *a, word_vectors=None, **k):
        key = (n_clusters, n_states, n_iter)
        if key not in learned:  # the word vectors, if any, in the same reading
            clusters, hmm, seconds = learn(text, n_clusters, n_states, n_iter, *a,
                                           word_vectors=word_vectors, **k)
            learned[key] = (clusters, hmm, seconds)
            return clusters, hmm, dict(seconds)
        clusters, hmm, seconds = learned[key]
        seconds = {k: v for k, v in seconds.items() if k != "vectors"}
        if word_vectors is not None:  # learned again: their settings vary
            t0 = time.perf_counter()
            word_vectors.fit_stream(text)
            seconds["vectors"] = time.perf_counter() - t0
        return clusters, hmm, seconds

    study.learn_representations = learn_once
    try:
        yield
    finally:
        study.learn_representations = learn


def main(argv=None) -> int:
    from hmmtl.studies import ner as study

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("lang", choices=sorted(study.LANGUAGES))
    p.add_argument("--variants", default="")
    p.add_argument("--lexicon", action="store_true",
                   help="the lexicon/en name lists of the corpora folder")
    p.add_argument("--unlabeled", nargs="*", default=(),
                   help="more unlabeled text files (as hmmtl experiment ner --unlabeled)")
    p.add_argument("--data", default=None, help="corpora folder (default: $HMMTL_DATA)")
    args = p.parse_args(argv)
    root = corpora_root(p, args.data)
    data = study.load_ner_data(root, args.lang)
    lexicon = study.read_lexicon(f"{root}/lexicon/en") if args.lexicon else None
    common, recipe = copy.deepcopy(study.COMMON), copy.deepcopy(study.RECIPES[args.lang])
    with representations_learned_once():
        try:
            for variant in args.variants.split(";"):
                study.COMMON = copy.deepcopy(common)
                study.RECIPES[args.lang] = spec = copy.deepcopy(recipe)
                params = spec["recognizer"].setdefault(
                    "labeler_params", copy.deepcopy(common["labeler_params"]))
                for kv in filter(None, variant.split(",")):
                    key, value = kv.split("=")
                    if key in ("c1", "c2"):
                        params[key] = float(value)
                    elif key == "iters":
                        params["max_iterations"] = int(value)
                    elif key == "folds":
                        spec["recognizer"]["n_folds"] = int(value)
                    else:
                        spec["recognizer"][key] = (value == "1") if value in ("0", "1") else value
                t0 = time.perf_counter()
                model, info, _ = study.train_recognizer(root, args.lang, data, lexicon=lexicon,
                                                        unlabeled=args.unlabeled)
                dev = study._evaluate(model, data["dev"], args.lang)
                print(json.dumps({"lang": args.lang, "lexicon": args.lexicon,
                                  "variant": variant or "recipe",
                                  "dev_f1": round(100 * dev["f1"], 2),
                                  "iterations": [c.n_iter_ for c in (model.stage1_,
                                                                     model.stage2_) if c],
                                  "fit_s": round(info["fit_s"]),
                                  "seconds": round(time.perf_counter() - t0)}), flush=True)
        finally:
            study.COMMON, study.RECIPES[args.lang] = common, recipe
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
