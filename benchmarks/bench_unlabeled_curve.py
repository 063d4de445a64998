"""Benchmark: POS domain adaptation against the amount of unlabeled text, as a user runs it.

For each amount N of unlabeled text (default 0.2M, 1M, 3M, 10M tokens):

1. ``hmmtl train --format nltk:conll2000:train --tag-column pos --data DIR --unlabeled
   FILES... --unlabeled-max-tokens N --out M``: a POS tagger trained on WSJ with HMMs learned
   on the WSJ words plus the first N tokens of the text, the files in this order: the words
   of the five EWT train files (CoNLL-U, 0.2M tokens), 20 Newsgroups
   (``text/en/20newsgroups.jsonl.gz``, raw text), NLTK's movie reviews (written once as
   tokenized text in a temporary folder), Reuters-21578 (``text/en/reuters21578.jsonl.gz``);
   the wall and CPU seconds and the peak memory of the one command.
2. ``hmmtl evaluate --json`` on each EWT domain's dev (or test) file, XPOS: accuracy and OOV
   accuracy (word forms absent from the labeled training words), and their means.

    HMMTL_DATA=../shared/data python benchmarks/bench_unlabeled_curve.py
        [--sizes 200000,1000000,3000000,10000000] [--split dev|test|dev,test]
        [--hmm-param KEY=VALUE ...] [--plot FILE] [--log FILE]

Prints a table and one JSON line; with matplotlib installed, ``--plot`` writes the curve
(accuracy and OOV accuracy against the tokens of text, log scale).  ``--log`` appends one
JSON line per finished size (long runs keep what they measured).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_adapt import (EWT_DOMAINS, anchor_speed, data_folder, evaluate, hmmtl_command,  # noqa: E402
                         in_process_speed, load_average, prepare, run_measured)

SIZES = (200_000, 1_000_000, 3_000_000, 10_000_000)


def text_files(data: Path, folder: Path) -> list[str]:
    """The unlabeled text, in the order it is read: EWT train words, 20 Newsgroups, movie
    reviews (extracted from NLTK's zip as tokenized text), Reuters-21578."""
    ewt = data / "ud" / "en_ewt"
    files = [str(ewt / f"en_ewt-{d}-train.conllu") for d in EWT_DOMAINS]
    files.append(str(data / "text" / "en" / "20newsgroups.jsonl.gz"))
    reviews = folder / "movie_reviews.txt"
    with zipfile.ZipFile(data / "nltk_data" / "corpora" / "movie_reviews.zip") as z, \
            open(reviews, "w", encoding="utf-8") as out:
        for name in sorted(z.namelist()):
            if name.endswith(".txt") and ("/pos/" in name or "/neg/" in name):
                out.write(z.read(name).decode("utf-8"))
    files.append(str(reviews))
    files.append(str(data / "text" / "en" / "reuters21578.jsonl.gz"))
    return files


def run_size(n: int, files: list[str], data: Path, folder: Path, env: dict, splits,
             hmm_params, keep: Path | None = None, clusters: int | None = None,
             word_clusters: str | None = None) -> dict:
    model = (keep or folder) / f"pos-{n}.hmmtl"
    cmd = [*hmmtl_command(), "train", "--format", "nltk:conll2000:train", "--tag-column",
           "pos", "--data", str(data), "--unlabeled", *files, "--unlabeled-max-tokens",
           str(n), "--out", str(model), "-q"]
    for p in hmm_params:
        cmd += ["--hmm-param", p]
    if clusters:
        cmd += ["--clusters", str(clusters)]
    if word_clusters:
        cmd += ["--word-clusters", word_clusters]
    load = load_average()
    wall, peak, _, cpu = run_measured(cmd, env)
    row = {"tokens": n, "train_s": wall, "train_cpu_s": cpu, "train_peak_bytes": peak,
           "file_bytes": model.stat().st_size, "load_before": load, "clusters": clusters,
           "word_clusters": word_clusters,
           "load_after": load_average()}
    for split in splits:
        row[split] = evaluate(model, data, env, split)
    if keep is None:
        model.unlink()
    return row


def plain_row(data: Path, folder: Path, env: dict, splits) -> dict:
    model = folder / "plain.hmmtl"
    wall, peak, _, cpu = run_measured(
        [*hmmtl_command(), "train", "--format", "nltk:conll2000:train", "--tag-column", "pos",
         "--data", str(data), "--out", str(model), "-q"], env)
    row = {"tokens": 0, "train_s": wall, "train_cpu_s": cpu, "train_peak_bytes": peak,
           "file_bytes": model.stat().st_size}
    for split in splits:
        row[split] = evaluate(model, data, env, split)
    return row


def _pct(x) -> str:
    return f"{100 * x:.2f}"


def report(result: dict) -> str:
    lines = []
    rows = result["rows"]
    for split in result["splits"]:
        for metric, label in (("accuracy", "accuracy"), ("oov_accuracy", "OOV accuracy")):
            lines.append(f"EWT {split} {label}")
            lines.append("| unlabeled tokens | --hmm-param | " + " | ".join(EWT_DOMAINS)
                         + " | mean | train s (CPU s) | peak MB | file MB |")
            lines.append("|" + " --- |" * (len(EWT_DOMAINS) + 6))
            for r in rows:
                cells = [_pct(r[split][d][metric]) for d in EWT_DOMAINS]
                cells.append(f"**{_pct(r[split]['mean'][metric])}**")
                cells.append(f"{r['train_s']:.0f} ({r['train_cpu_s']:.0f})")
                cells.append(f"{r['train_peak_bytes'] / 2**20:.0f}")
                cells.append(f"{r['file_bytes'] / 2**20:.1f}")
                name = "none (plain)" if r["tokens"] == 0 else f"{r['tokens']:,}"
                given = _setting(r, "(preset auto)")
                lines.append(f"| {name} | {given} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def _setting(row: dict, preset: str) -> str:
    """A row's settings: its --hmm-param values (``preset`` when none), --clusters and
    --word-clusters."""
    name = " ".join(row.get("hmm_params") or []) or preset
    return (name + (f" --clusters {row['clusters']}" if row.get("clusters") else "")
            + (f" --word-clusters {row['word_clusters']}" if row.get("word_clusters") else ""))


def plot(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [r for r in result["rows"] if r["tokens"]]
    groups: dict = {}
    for r in rows:  # one line per setting (--hmm-param), in order of tokens
        groups.setdefault(_setting(r, "preset auto"), []).append(r)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, metric, label in ((axes[0], "accuracy", "accuracy %"),
                              (axes[1], "oov_accuracy", "OOV accuracy %")):
        for split in result["splits"]:
            for name, group in groups.items():
                group = sorted(group, key=lambda r: r["tokens"])
                ax.plot([r["tokens"] for r in group],
                        [100 * r[split]["mean"][metric] for r in group], "o-",
                        label=f"EWT {split} mean, {name}")
        ax.axhline({"accuracy": 88.0, "oov_accuracy": 70.0}[metric], color="grey", ls="--",
                   label="target (test)")
        ax.set_xscale("log")
        ax.set_xlabel("unlabeled tokens")
        ax.set_ylabel(label)
        ax.legend(fontsize=6)
    for name, group in groups.items():
        group = sorted(group, key=lambda r: r["tokens"])
        xs = [r["tokens"] for r in group]
        axes[2].plot(xs, [r["train_s"] / 60 for r in group], "o-", label=f"wall, {name}")
        axes[2].plot(xs, [r["train_cpu_s"] / 60 for r in group], "s--", label=f"CPU, {name}")
    axes[2].axhline(20, color="grey", ls="--", label="20 min")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("unlabeled tokens")
    axes[2].set_ylabel("hmmtl train, minutes")
    axes[2].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"),
                        help="corpora folder (default: $HMMTL_DATA)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="comma-separated amounts of unlabeled text (tokens)")
    parser.add_argument("--split", default="dev",
                        help="dev, test, dev,test, or none (train only, with --keep)")
    parser.add_argument("--hmm-param", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to hmmtl train --hmm-param")
    parser.add_argument("--plain", action="store_true", help="also a plain tagger (no HMMs)")
    parser.add_argument("--clusters", type=int, metavar="C",
                        help="hmmtl train --clusters C: Brown clusters learned on the same text "
                             "beside the HMMs")
    parser.add_argument("--word-clusters", metavar="K,K,...",
                        help="hmmtl train --word-clusters: word-vector clusters learned on the "
                             "same text beside the HMMs")
    parser.add_argument("--plot", help="write the curve here (PNG; needs matplotlib)")
    parser.add_argument("--log", help="append one JSON line per finished size")
    parser.add_argument("--keep", help="keep the models in this folder (pos-N.hmmtl)")
    parser.add_argument("--from-log", nargs="+", metavar="LOG",
                        help="no run: the table and plot of the rows of --log files")
    parser.add_argument("--speed", nargs="+", metavar="MODEL",
                        help="no run: tagging speed of these models (predict, in a process "
                             "that has loaded the model) and of sklearn-crfsuite's standard "
                             "set-up on the same raw tokens (CoNLL-2000 test + EWT test)")
    parser.add_argument("--anchors", default=str(HERE.parent.parent / "shared" / "anchors"),
                        help="folder of crfsuite_standard.py (for --speed)")
    parser.add_argument("--score", metavar="MODEL",
                        help="only score this model (kept with --keep) on --split")
    args = parser.parse_args(argv)
    data, env = data_folder(parser, args.data)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    splits = [s for s in args.split.split(",") if s and s != "none"]
    if args.from_log:
        rows = [json.loads(line) for log in args.from_log
                for line in Path(log).read_text(encoding="utf-8").splitlines() if line.strip()]
        result = {"benchmark": "unlabeled_curve", "splits": splits, "rows": rows,
                  "cores": os.cpu_count()}
        print(report(result))
        if args.plot and plot(result, Path(args.plot)):
            print(f"plot: {args.plot}")
        return result
    if args.speed:
        with tempfile.TemporaryDirectory(prefix="hmmtl-speed-") as tmp:
            prep = prepare(data, Path(tmp), False)
            speeds = {m: in_process_speed(Path(m), prep["to_tag"], env) for m in args.speed}
            anchor = anchor_speed(data, prep["tag_sentences"], Path(args.anchors), False)
        out = {"benchmark": "unlabeled_curve_speed", "n_tokens": prep["n_tag"],
               "crfsuite_tokens_per_s": anchor["tokens_per_s"],
               "models": {m: {"predict_tokens_per_s": v, "file_bytes": Path(m).stat().st_size,
                              "vs_crfsuite": v / anchor["tokens_per_s"]}
                          for m, v in speeds.items()}, "load": load_average()}
        for m, r in out["models"].items():
            print(f"{m}: {r['predict_tokens_per_s']:,.0f} tokens/s, "
                  f"{r['vs_crfsuite']:.2f}x sklearn-crfsuite "
                  f"({anchor['tokens_per_s']:,.0f} tokens/s), {r['file_bytes'] / 2**20:.1f} MB")
        print(json.dumps(out, sort_keys=True))
        return out
    if args.score:
        scored = {split: evaluate(Path(args.score), data, env, split) for split in splits}
        for split in splits:
            print(f"EWT {split}: " + ", ".join(
                f"{d} {_pct(scored[split][d]['accuracy'])} (OOV "
                f"{_pct(scored[split][d]['oov_accuracy'])})" for d in (*EWT_DOMAINS, "mean")))
        print(json.dumps({"benchmark": "unlabeled_curve", "model": args.score, **scored},
                         sort_keys=True))
        return scored
    rows = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="hmmtl-curve-") as tmp:
        folder = Path(tmp)
        files = text_files(data, folder)
        if args.plain:
            rows.append(plain_row(data, folder, env, splits))
        for n in sizes:
            row = run_size(n, files, data, folder, env, splits, args.hmm_param,
                           Path(args.keep) if args.keep else None, args.clusters,
                           args.word_clusters)
            row["hmm_params"] = args.hmm_param
            rows.append(row)
            if args.log:
                with open(args.log, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row, sort_keys=True) + "\n")
    result = {"benchmark": "unlabeled_curve", "splits": splits, "rows": rows,
              "hmm_params": args.hmm_param, "cores": os.cpu_count(),
              "seconds": time.time() - started}
    print(report(result))
    print(json.dumps(result, sort_keys=True))
    if args.plot and plot(result, Path(args.plot)):
        print(f"plot: {args.plot}")
    return result


if __name__ == "__main__":
    main()
