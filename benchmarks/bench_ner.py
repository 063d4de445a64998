"""Benchmark: hmmtl's named-entity recognizers against sklearn-crfsuite in its standard set-up.

The anchor is the NER variant of ``shared/anchors/crfsuite_standard.py`` (its feature
functions are used as they are): per token the word features of the standard set-up, the
lowercased words at -1 and +1, and the file's POS and chunk tags at -1, 0, +1;
``CRF(algorithm="lbfgs", c1=0.1, c2=0.01, max_iterations=100,
all_possible_transitions=True)``, IOB1 converted to IOB2, ``-DOCSTART-`` dropped.  The
CoNLL-2002 files of NLTK carry a POS column for Spanish and Dutch too (no chunk column): the
anchor and hmmtl both use it there.

hmmtl's side is the recognizer of ``hmmtl experiment ner``: ``--models DIR`` scores the
``ner-<lang>.model`` files that command wrote (their training time is read from its
``ner.json``); without it they are trained here by the study's own code.  Both are scored
with conlleval semantics (seqeval for the anchor, :func:`hmmtl.metrics.entity_scores` for
hmmtl, which a test checks against seqeval); tagging speed is from raw tokens (and the
file's columns) for both, feature extraction included.

    HMMTL_DATA=/path/to/data python benchmarks/bench_ner.py [--models DIR] \\
        [--languages eng,esp,ned] [--anchors /path/to/shared/anchors]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path


def load_anchor(anchors: Path):
    spec = importlib.util.spec_from_file_location("crfsuite_standard",
                                                  anchors / "crfsuite_standard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def anchor_features(anchor, corpus, lang):
    from hmmtl.studies.ner import LANGUAGES

    names = list(LANGUAGES[lang]["columns"])
    cols = [corpus.column(LANGUAGES[lang]["columns"][n]) for n in names]
    return [anchor.with_columns(anchor.sent2features(words), [c[i] for c in cols], names)
            for i, words in enumerate(corpus.sentences)]


def run_anchor(anchor, data, lang):
    import sklearn_crfsuite
    from seqeval.metrics import f1_score

    from hmmtl.io import iob1_to_iob2
    from hmmtl.studies.ner import LANGUAGES

    label = LANGUAGES[lang]["label"]
    X = anchor_features(anchor, data["train"], lang)
    y = iob1_to_iob2(data["train"].column(label))
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.01, max_iterations=100,
                               all_possible_transitions=True)
    t = time.perf_counter()
    crf.fit(X, y)
    out = {"fit_s": time.perf_counter() - t}
    for split in ("dev", "test"):
        corpus = data[split]
        t = time.perf_counter()
        pred = crf.predict(anchor_features(anchor, corpus, lang))
        seconds = time.perf_counter() - t
        out[f"{split}_f1"] = f1_score(iob1_to_iob2(corpus.column(label)), pred)
        out[f"{split}_tok_s"] = sum(map(len, corpus.sentences)) / seconds
    return out


def run_hmmtl(data, lang, models: Path | None, root: Path):
    from hmmtl.metrics import entity_scores
    from hmmtl.ner import NamedEntityRecognizer
    from hmmtl.studies import ner as study

    if models is not None:
        model = NamedEntityRecognizer.load(models / f"ner-{lang}.model")
        report = json.loads((models / "ner.json").read_text(encoding="utf-8"))
        fit_s = report["models"][lang]["total_s"]
    else:
        t = time.perf_counter()
        model, _, _ = study.train_recognizer(root, lang, data)
        fit_s = time.perf_counter() - t
    out = {"fit_s": fit_s}
    for split in ("dev", "test"):
        corpus = data[split]
        columns, documents = study._inputs(corpus, lang)
        model.predict(corpus.sentences[:20], columns={k: v[:20] for k, v in columns.items()},
                      documents=None if documents is None else documents[:20])  # warm up
        t, cpu = time.perf_counter(), time.process_time()
        pred = model.predict(corpus.sentences, columns=columns, documents=documents)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        n_tokens = sum(map(len, corpus.sentences))
        out[f"{split}_f1"] = entity_scores(study._gold(corpus, lang), pred).f1
        out[f"{split}_tok_s"] = n_tokens / seconds
        # tokens per second of CPU time (all threads): what a busy machine still measures
        out[f"{split}_tok_cpu_s"] = n_tokens / cpu
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="folder written by 'hmmtl experiment ner'")
    parser.add_argument("--languages", default="eng,esp,ned")
    parser.add_argument("--anchors", type=Path,
                        default=Path(__file__).resolve().parents[1].parent / "shared" /
                        "anchors", help="folder of crfsuite_standard.py")
    args = parser.parse_args(argv)
    root = Path(os.environ.get("HMMTL_DATA", ""))
    if not (root / "conll2003").is_dir():
        sys.exit("set HMMTL_DATA to the corpora folder")
    from hmmtl.studies.ner import LANGUAGES, load_ner_data

    anchor = load_anchor(args.anchors)
    rows = []
    for lang in args.languages.split(","):
        data = load_ner_data(root, lang)
        a = run_anchor(anchor, data, lang)
        h = run_hmmtl(data, lang, args.models, root)
        rows.append({"language": lang, "crfsuite": a, "hmmtl": h})
        print(f"{LANGUAGES[lang]['name']}: done", file=sys.stderr, flush=True)
    print("| language | system | training s | dev F1 | test F1 | tagging tok/s (test) | "
          "tok per CPU s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        for system in ("crfsuite", "hmmtl"):
            x = r[system]
            cpu = f"{x['test_tok_cpu_s']:,.0f}" if "test_tok_cpu_s" in x else ""
            print(f"| {r['language']} | {system} | {x['fit_s']:.0f} | {100 * x['dev_f1']:.2f} | "
                  f"{100 * x['test_f1']:.2f} | {x['test_tok_s']:,.0f} | {cpu} |")
    summary = {r["language"]: {
        "ours_fit_s": round(r["hmmtl"]["fit_s"], 1),
        "crfsuite_fit_s": round(r["crfsuite"]["fit_s"], 1),
        "fit_ratio": round(r["hmmtl"]["fit_s"] / r["crfsuite"]["fit_s"], 2),
        "tag_speedup": round(r["hmmtl"]["test_tok_s"] / r["crfsuite"]["test_tok_s"], 2),
        "ours_tok_s": round(r["hmmtl"]["test_tok_s"]),
        "ours_tok_per_cpu_s": round(r["hmmtl"]["test_tok_cpu_s"]),
        "f1_dev": round(100 * r["hmmtl"]["dev_f1"], 2),
        "f1_test": round(100 * r["hmmtl"]["test_f1"], 2),
        "crfsuite_f1_dev": round(100 * r["crfsuite"]["dev_f1"], 2),
        "crfsuite_f1_test": round(100 * r["crfsuite"]["test_f1"], 2)} for r in rows}
    print(json.dumps({"benchmark": "ner", "models": str(args.models) if args.models else None,
                      "summary": summary}))


if __name__ == "__main__":
    main()
