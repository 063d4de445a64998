"""Benchmark: the name lists of ``lexicon/en`` in the English recognizer.

The matcher at scale (build and match CPU seconds, table size) for the hashed n-gram
:class:`hmmtl.ner.gazetteers.Lexicon` against the token trie
:class:`hmmtl.ner.gazetteers.Gazetteer`
on the same cleaned entries, over the ~300k tokens of CoNLL-2003 (train + testa + testb);
then (``--clusters FILE``, a ``BrownClusters`` model file such as those of
``bench_clusters.py --save``) dev F1 of one-stage recognizers (the English recipe without
HMM) with all the lists, none, and each left out (``--ablation``,
:func:`hmmtl.studies.ner.lexicon_contributions`), and with ``--test`` the test F1 of the
recognizer with all the lists (scored once, for the setting chosen on dev) and its model
file's size.

    HMMTL_DATA=/path/to/data python benchmarks/bench_lexicon.py [--clusters FILE]
        [--ablation] [--test] [--out DIR]

Prints its figures and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def matcher_at_scale(root: Path) -> list:
    from hmmtl.data import flatten
    from hmmtl.ner.gazetteers import LEXICON_FILES, Gazetteer, Lexicon, clean_entry
    from hmmtl.studies.ner import load_ner_data

    lists = {}
    for name, files in LEXICON_FILES.items():
        out = []
        for f in files:
            with open(root / "lexicon" / "en" / f, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    out.extend(clean_entry(line))
        lists[name] = out
    d = load_ner_data(root, "eng")
    flat, offsets = flatten(d["train"].sentences + d["dev"].sentences + d["test"].sentences)
    rows = []
    for cls in (Lexicon, Gazetteer):
        t = time.process_time()
        m = cls(lists)
        nbytes = sum(a.nbytes for a in m._arrays()) if cls is Gazetteer else m.nbytes()
        build = time.process_time() - t
        m.match(flat[:20], [0, 20])  # compile
        t = time.process_time()
        ids = m.match(flat, offsets)
        rows.append({"matcher": cls.__name__, "build_cpu_s": round(build, 2),
                     "table_mb": round(nbytes / 1e6, 1), "tokens": len(flat),
                     "match_cpu_s": round(time.process_time() - t, 3),
                     "tokens_with_feature": round(float((ids >= 0).any(1).mean()), 3)})
        print(rows[-1], flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="corpora folder (default HMMTL_DATA)")
    ap.add_argument("--clusters", help="a BrownClusters model file for the recognizers")
    ap.add_argument("--ablation", action="store_true", help="each list's dev contribution")
    ap.add_argument("--test", action="store_true", help="test F1 of the all-lists recognizer")
    ap.add_argument("--out", default=".", help="folder for the lexicon and recognizer files")
    args = ap.parse_args()
    from hmmtl.ner.clusters import BrownClusters
    from hmmtl.ner.gazetteers import Gazetteer, load_lexicon, load_nltk_gazetteers
    from hmmtl.ner import NamedEntityRecognizer
    from hmmtl.studies.ner import (_evaluate, _fit, _recognizer, lexicon_contributions,
                                   load_ner_data, save_recognizer)

    root = Path(args.data or os.environ.get("HMMTL_DATA", ""))
    out = Path(args.out)
    result = {"bench": "lexicon", "matchers": matcher_at_scale(root)}
    lex = load_lexicon(root)
    result["lexicon_file_bytes"] = os.path.getsize(lex.save(out / "lexicon-en.model"))
    result["list_sizes"] = lex.list_sizes()
    if args.clusters:
        clusters = BrownClusters.load(args.clusters)
        data = load_ner_data(root, "eng")
        gaz = Gazetteer(load_nltk_gazetteers(root))
        if args.ablation:
            result["ablation"] = lexicon_contributions(data, lex, clusters, gaz)
        if args.test:
            model = _recognizer("eng", {"two_stage": False, "lexicon": lex}, (clusters, None),
                                gaz)
            _fit(model, data["train"], "eng", None)
            path = save_recognizer(model, out / "ner-eng-lexicon.model")
            back = NamedEntityRecognizer.load(path)
            result["chosen"] = {"dev_f1": _evaluate(back, data["dev"], "eng")["f1"],
                                "test_f1": _evaluate(back, data["test"], "eng")["f1"],
                                "model_bytes": os.path.getsize(path)}
            print(result["chosen"], flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
