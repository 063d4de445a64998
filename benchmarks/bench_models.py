"""Benchmark: the ready-made models, measured as a user runs them (``hmmtl evaluate --model
NAME``), and ``hmmtl adapt``.

1. ``en-ner``, ``es-ner``, ``nl-ner`` on CoNLL-2003 ``eng.testb`` / CoNLL-2002
   ``esp.testb`` / ``ned.testb``: entity F1 (conlleval), against the recognizers of
   ``hmmtl experiment ner`` (which read the files' POS / chunk columns; their F1 is cited
   from ``benchmarks/results/ner.md`` unless ``--ner-models DIR`` gives that run's models,
   then measured here in the same run);
2. ``en-pos`` on the EWT test files, XPOS accuracy by domain and pooled;
3. ``en-chunk`` on CoNLL-2000 test, chunk F1;
4. (``--adapt``) ``hmmtl adapt --model en-pos --unlabeled EWT-TRAIN-WORDS`` (and with
   ``--prune``) against ``hmmtl train --format nltk:conll2000:train --tag-column pos
   --unlabeled`` the same text: EWT test accuracy and file size of each (each a few
   minutes of training).

    HMMTL_DATA=../shared/data python benchmarks/bench_models.py [--adapt]
        [--ner-models DIR] [--write]

Prints a table and one JSON line; ``--write`` also writes benchmarks/results/models.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: test F1 of hmmtl experiment ner's recognizers with the same text and name lists as the
#: ready models: ``--lexicon DATA/lexicon/en`` for all three, eng also with ``--unlabeled
#: DATA/text/en/reuters21578.jsonl.gz`` (benchmarks/results/ner_lexicon_reuters.md,
#: ner_lexicon_es_nl.md); the study's default (no lists) gives 86.94 / 80.42 / 82.71
STUDY_F1 = {"eng": 87.98, "esp": 81.65, "ned": 83.63}
STUDY_CITED = {"eng": "cited: the study with the same lists and text, ner_lexicon_reuters.md",
               "esp": "cited: the study with the same lists, ner_lexicon_es_nl.md",
               "ned": "cited: the study with the same lists, ner_lexicon_es_nl.md"}
NER = {"en-ner": ("eng", ["{data}/conll2003/eng.testb"], ["--tag-column", "3"]),
       "es-ner": ("esp", ["nltk:conll2002:esp.testb"], ["--tag-column", "ner"]),
       "nl-ner": ("ned", ["nltk:conll2002:ned.testb"], ["--tag-column", "ner"])}


def hmmtl(*args: str) -> tuple[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hmmtl", *args], capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"hmmtl {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout, time.perf_counter() - t


def evaluate(model: str, tests: list[str], data: str, *extra: str) -> dict:
    out, seconds = hmmtl("evaluate", "--model", model, "--test", *tests, "--data", data,
                         "--json", *extra)
    result = json.loads(out)
    result["seconds"] = seconds
    return result


def ewt(data: str, split: str) -> list[str]:
    return sorted(str(p) for p in Path(data, "ud", "en_ewt").glob(f"en_ewt-*-{split}.conllu"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("HMMTL_DATA"))
    ap.add_argument("--adapt", action="store_true", help="also measure hmmtl adapt")
    ap.add_argument("--ner-models", metavar="DIR",
                    help="models of 'hmmtl experiment ner' (ner-eng.model ...) to measure in "
                         "the same run")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    if not args.data or not Path(args.data).is_dir():
        ap.error("give --data DIR or set HMMTL_DATA")
    data = str(Path(args.data).resolve())
    rows, result = [], {"models": {}}
    for name, (lang, tests, cols) in NER.items():
        r = evaluate(name, [t.format(data=data) for t in tests], data, *cols)
        study = STUDY_F1[lang]
        how = STUDY_CITED[lang]
        if args.ner_models:
            s = evaluate(str(Path(args.ner_models) / f"ner-{lang}.model"),
                         [t.format(data=data) for t in tests], data, *cols)
            study, how = round(100 * s["f1"], 2), "measured in this run"
        result["models"][name] = {"f1": r["f1"], "study_f1": study, "study": how,
                                  "seconds": r["seconds"]}
        rows.append((name, Path(tests[0]).name.split(":")[-1], "entity F1",
                     f"{100 * r['f1']:.2f}", f"{study:.2f} ({how})"))
    r = evaluate("en-pos", ewt(data, "test"), data, "--tag-column", "xpos", "--by-domain")
    result["models"]["en-pos"] = {"accuracy": r["accuracy"], "by_domain": {
        d: v["accuracy"] for d, v in r["by_domain"].items()}, "seconds": r["seconds"]}
    for d, v in r["by_domain"].items():
        rows.append(("en-pos", f"EWT {d} test", "XPOS accuracy", f"{100 * v['accuracy']:.2f}",
                     ""))
    rows.append(("en-pos", "EWT test (pooled)", "XPOS accuracy", f"{100 * r['accuracy']:.2f}",
                 ""))
    r = evaluate("en-chunk", ["nltk:conll2000:test"], data, "--tag-column", "chunk")
    result["models"]["en-chunk"] = {"f1": r["f1"], "seconds": r["seconds"]}
    rows.append(("en-chunk", "CoNLL-2000 test", "chunk F1", f"{100 * r['f1']:.2f}", ""))
    if args.adapt:
        with tempfile.TemporaryDirectory() as tmp:
            text = ewt(data, "train")
            _, t_adapt = hmmtl("adapt", "--model", "en-pos", "--unlabeled", *text, "--data",
                               data, "--out", f"{tmp}/adapted.hmmtl", "-q")
            _, t_pruned = hmmtl("adapt", "--model", "en-pos", "--unlabeled", *text, "--data",
                                data, "--out", f"{tmp}/pruned.hmmtl", "--prune", "-q")
            _, t_train = hmmtl("train", "--format", "nltk:conll2000:train", "--tag-column",
                               "pos", "--data", data, "--unlabeled", *text, "--out",
                               f"{tmp}/trained.hmmtl", "-q")
            scored = {name: evaluate(f"{tmp}/{name}.hmmtl", ewt(data, "test"), data,
                                     "--tag-column", "xpos")
                      for name in ("adapted", "pruned", "trained")}
            mb = {name: Path(tmp, f"{name}.hmmtl").stat().st_size / 1e6 for name in scored}
            result["adapt"] = {
                "adapt_accuracy": scored["adapted"]["accuracy"],
                "adapt_prune_accuracy": scored["pruned"]["accuracy"],
                "train_accuracy": scored["trained"]["accuracy"],
                "adapt_s": t_adapt, "adapt_prune_s": t_pruned, "train_s": t_train,
                "adapt_bytes": Path(tmp, "adapted.hmmtl").stat().st_size,
                "adapt_prune_bytes": Path(tmp, "pruned.hmmtl").stat().st_size,
                "train_bytes": Path(tmp, "trained.hmmtl").stat().st_size}
            reference = (f"{100 * scored['trained']['accuracy']:.3f} (hmmtl train "
                         f"--unlabeled, same text, {mb['trained']:.2f} MB)")
            rows.append(("hmmtl adapt en-pos (EWT train words)", "EWT test (pooled)",
                         "XPOS accuracy",
                         f"{100 * scored['adapted']['accuracy']:.3f} "
                         f"({mb['adapted']:.2f} MB)", reference))
            rows.append(("hmmtl adapt en-pos --prune (EWT train words)", "EWT test (pooled)",
                         "XPOS accuracy",
                         f"{100 * scored['pruned']['accuracy']:.3f} ({mb['pruned']:.2f} MB)",
                         reference))
    header = ("model", "test set", "metric", "score", "reference")
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(lines)
    print(table)
    print(json.dumps(result, sort_keys=True))
    if args.write:
        (ROOT / "benchmarks" / "results" / "models.md").write_text(
            "# Ready-made models\n\nCommand: `HMMTL_DATA=../shared/data python "
            "benchmarks/bench_models.py" + (" --adapt" if args.adapt else "") +
            " --write`\n\n" + table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
