"""Benchmark: domain adaptation in one command, measured as a user runs it.

1. ``hmmtl train --format nltk:conll2000:train --unlabeled EWT-TEXT [--preset P]``: a POS
   tagger trained on WSJ with HMMs learned on the WSJ words plus the words of the five EWT
   train files (written as plain text, one sentence a line); training wall seconds.  A plain
   ``hmmtl train`` (no HMMs) is the reference row.
2. ``hmmtl evaluate --json`` on each EWT domain's test (and dev) file, XPOS: accuracy and
   OOV accuracy (word forms absent from the labeled training words), mean over the domains.
3. Tagging from raw tokens (CoNLL-2000 test + the EWT test files, one sentence a line):
   ``hmmtl tag`` wall time (start-up, feature extraction and the HMM features included), its
   peak memory and the model file's size, plain and adapted, against sklearn-crfsuite's
   standard set-up (``../shared/anchors/crfsuite_standard.py``: its features computed and
   the sentences tagged in the same run, on the same tokens).

    HMMTL_DATA=../shared/data python benchmarks/bench_adapt.py [--presets auto,thorough]
        [--no-anchor] [--quick] [--write]

Prints a table and one JSON line; ``--write`` also writes benchmarks/results/adapt.md.
``--quick`` trains on 2,000 sentences and tags a tenth of the text (a smoke run, figures
not comparable).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EWT_DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")


def hmmtl_command() -> list[str]:
    exe = shutil.which("hmmtl")
    return [exe] if exe else [sys.executable, "-m", "hmmtl"]


def run_measured(cmd: list[str], env: dict) -> tuple[float, int, str, float]:
    """Wall seconds, peak resident memory (bytes), stdout and CPU seconds (user + system)
    of ``cmd``, run through a small wrapper process so that the peak is this command's
    alone."""
    wrapper = ("import resource, subprocess, sys\n"
               "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
               "sys.stdout.buffer.write(p.stdout)\n"
               "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
               "sys.stderr.write(f'\\nPEAK_KB {u.ru_maxrss} CPU_S {u.ru_utime + u.ru_stime}\\n')\n"
               "sys.exit(p.returncode)")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], env=env, capture_output=True,
                          text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    peak_kb, _, cpu_s = proc.stderr.rsplit("PEAK_KB", 1)[1].split()[:3]
    return elapsed, int(peak_kb) * 1024, proc.stdout, float(cpu_s)


IN_PROCESS = ("import json, sys, time\n"
              "from hmmtl import serialize\n"
              "model = serialize.load(sys.argv[1])\n"
              "with open(sys.argv[2], encoding='utf-8') as f:\n"
              "    sentences = [line.split() for line in f if line.strip()]\n"
              "model.predict([['Kernels', 'compiled', 'here', '.']])\n"
              "t = time.perf_counter()\n"
              "model.predict(sentences)\n"
              "print(json.dumps({'tag_s': time.perf_counter() - t,\n"
              "                  'tokens': sum(map(len, sentences))}))\n")


def in_process_speed(model: Path, to_tag: Path, env: dict) -> float:
    """Tokens per second of ``predict`` on the raw tokens of ``to_tag`` in a fresh process,
    the model loaded and its kernels compiled first (as the anchor is timed: its features
    computed and the sentences tagged, no start-up)."""
    proc = subprocess.run([sys.executable, "-c", IN_PROCESS, str(model), str(to_tag)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"in-process tagging failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return r["tokens"] / r["tag_s"]


def data_folder(parser, data) -> tuple[Path, dict]:
    """The corpora folder given as ``--data`` (or ``$HMMTL_DATA``), resolved, and the
    environment of the ``hmmtl`` commands a benchmark runs (``HMMTL_DATA`` set to it); a
    missing folder is the parser's error."""
    if not data or not Path(data).is_dir():
        parser.error("give --data DIR or set HMMTL_DATA")
    folder = Path(data).resolve()
    return folder, dict(os.environ, HMMTL_DATA=str(folder))


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs"


def write_text(path: Path, sentences) -> int:
    path.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    return sum(map(len, sentences))


def prepare(data: Path, folder: Path, quick: bool) -> dict:
    """The unlabeled text, the training data (a CoNLL file with --quick), and the text to
    tag."""
    from hmmtl.io import load_nltk, read_conllu

    ewt = data / "ud" / "en_ewt"
    unlabeled = folder / "ewt-train-words.txt"
    n_unlabeled = write_text(unlabeled, [s for d in EWT_DOMAINS for s in
                                         read_conllu(ewt / f"en_ewt-{d}-train.conllu").sentences])
    test = load_nltk("conll2000", data_dir=data, split="test").sentences
    test += [s for d in EWT_DOMAINS for s in read_conllu(ewt / f"en_ewt-{d}-test.conllu").sentences]
    if quick:
        test = test[::10]
    to_tag = folder / "to-tag.txt"
    n_tag = write_text(to_tag, test)
    train = ["--format", "nltk:conll2000:train", "--tag-column", "pos", "--data", str(data)]
    if quick:
        c = load_nltk("conll2000", data_dir=data, split="train")[:2000]
        path = folder / "train.conll"
        path.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(s, ts))
                                    for s, ts in zip(c.sentences, c.column("pos"))) + "\n",
                        encoding="utf-8")
        train = ["--train", str(path)]
    return {"unlabeled": unlabeled, "n_unlabeled": n_unlabeled, "to_tag": to_tag,
            "n_tag": n_tag, "tag_sentences": test, "train": train}


def evaluate(model: Path, data: Path, env: dict, split: str) -> dict:
    out = {}
    for d in EWT_DOMAINS:
        test = data / "ud" / "en_ewt" / f"en_ewt-{d}-{split}.conllu"
        _, _, stdout, _ = run_measured([*hmmtl_command(), "evaluate", "--model", str(model),
                                     "--test", str(test), "--tag-column", "xpos", "--json"],
                                    env)
        r = json.loads(stdout.strip().splitlines()[-1])
        out[d] = {"accuracy": r["accuracy"], "oov_accuracy": r["oov_accuracy"],
                  "n_oov": r["n_oov"], "n_tokens": r["n_tokens"]}
    out["mean"] = {k: sum(out[d][k] for d in EWT_DOMAINS) / len(EWT_DOMAINS)
                   for k in ("accuracy", "oov_accuracy")}
    return out


def anchor_speed(data: Path, sentences, anchors: Path, quick: bool) -> dict:
    """sklearn-crfsuite, standard set-up: trained on CoNLL-2000 train, then its features
    computed and the sentences tagged, timed (tokens / s)."""
    sys.path.insert(0, str(anchors))
    import sklearn_crfsuite
    from crfsuite_standard import sent2features

    from hmmtl.io import load_nltk

    c = load_nltk("conll2000", data_dir=data, split="train")
    if quick:
        c = c[:2000]
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.01, max_iterations=100,
                               all_possible_transitions=True)
    t = time.perf_counter()
    crf.fit([sent2features(s) for s in c.sentences], c.column("pos"))
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    crf.predict([sent2features(s) for s in sentences])
    tag_s = time.perf_counter() - t
    n = sum(map(len, sentences))
    return {"fit_s": fit_s, "tag_s": tag_s, "tokens_per_s": n / tag_s}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"),
                        help="corpora folder (default: $HMMTL_DATA)")
    parser.add_argument("--presets", default="auto,thorough",
                        help="comma-separated presets of hmmtl train --unlabeled")
    parser.add_argument("--anchors", default=str(ROOT.parent / "shared" / "anchors"),
                        help="folder of crfsuite_standard.py")
    parser.add_argument("--no-anchor", action="store_true", help="skip sklearn-crfsuite")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--write", action="store_true",
                        help="write benchmarks/results/adapt.md")
    args = parser.parse_args(argv)
    data, env = data_folder(parser, args.data)
    presets = [p for p in args.presets.split(",") if p]
    load_before = load_average()
    rows, models = {}, {}
    with tempfile.TemporaryDirectory(prefix="hmmtl-adapt-") as tmp:
        folder = Path(tmp)
        prep = prepare(data, folder, args.quick)
        settings = [("plain", [])] + [(p, ["--unlabeled", str(prep["unlabeled"]), "--preset", p])
                                      for p in presets]
        for name, extra in settings:
            model = folder / f"{name}.hmmtl"
            fit_s, fit_peak, _, fit_cpu = run_measured([*hmmtl_command(), "train",
                                                        *prep["train"], *extra, "--out",
                                                        str(model), "-q"], env)
            models[name] = model
            rows[name] = {"train_s": fit_s, "train_cpu_s": fit_cpu, "train_peak_bytes": fit_peak,
                          "file_bytes": model.stat().st_size,
                          "test": evaluate(model, data, env, "test"),
                          "dev": evaluate(model, data, env, "dev")}
            tag_cmd = [*hmmtl_command(), "tag", "--model", str(model), str(prep["to_tag"]),
                       "-o", str(folder / "tagged.conll"), "-q"]
            run_measured(tag_cmd, env)  # kernels compiled once, outside the timing
            tag_s, tag_peak, _, tag_cpu = run_measured(tag_cmd, env)
            rows[name].update(tag_s=tag_s, tag_cpu_s=tag_cpu, tag_peak_bytes=tag_peak,
                              tag_tokens_per_s=prep["n_tag"] / tag_s,
                              predict_tokens_per_s=in_process_speed(model, prep["to_tag"],
                                                                    env))
        anchor = None if args.no_anchor else anchor_speed(data, prep["tag_sentences"],
                                                         Path(args.anchors), args.quick)
    result = {"benchmark": "adapt", "n_unlabeled_tokens": prep["n_unlabeled"],
              "n_tagged_tokens": prep["n_tag"], "rows": rows, "crfsuite": anchor,
              "load_before": load_before, "load_after": load_average(), "quick": args.quick}
    plain = rows["plain"]
    for name in presets:
        r = rows[name]
        r["file_ratio"] = r["file_bytes"] / plain["file_bytes"]
        r["tag_memory_ratio"] = r["tag_peak_bytes"] / plain["tag_peak_bytes"]
    if anchor:
        for name in ["plain"] + list(presets):
            r = rows[name]
            r["tag_speed_vs_crfsuite"] = r["tag_tokens_per_s"] / anchor["tokens_per_s"]
            r["predict_speed_vs_crfsuite"] = (r["predict_tokens_per_s"] /
                                              anchor["tokens_per_s"])
    text = report(result, presets)
    print(text)
    print(json.dumps(result, sort_keys=True))
    if args.write:
        out = ROOT / "benchmarks" / "results" / "adapt.md"
        out.write_text(results_markdown(result, text, argv), encoding="utf-8")
    return result


def _pct(x):
    return "-" if x is None else f"{100 * x:.2f}"


def report(result: dict, presets) -> str:
    rows = result["rows"]
    lines = []
    for split in ("test", "dev"):
        for metric, label in (("accuracy", "accuracy"), ("oov_accuracy", "OOV accuracy")):
            lines.append(f"EWT {split} {label}")
            lines.append("| model | " + " | ".join(EWT_DOMAINS) + " | mean | train s (CPU s) |")
            lines.append("|" + " --- |" * (len(EWT_DOMAINS) + 3))
            for name in ["plain"] + list(presets):
                r = rows[name]
                cells = [_pct(r[split][d][metric]) for d in EWT_DOMAINS]
                cells.append(f"**{_pct(r[split]['mean'][metric])}**")
                cells.append(f"{r['train_s']:.0f} ({r['train_cpu_s']:.0f})")
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
    anchor = result["crfsuite"]
    lines.append(f"Tagging {result['n_tagged_tokens']:,} raw tokens (CoNLL-2000 test + EWT "
                 f"test): `predict` in a process that has loaded the model (features "
                 f"included, as the anchor is timed), and `hmmtl tag` wall time including "
                 f"start-up, its peak memory and the model file")
    lines.append("| model | predict tokens/s | vs CRFsuite | hmmtl tag tokens/s | vs CRFsuite | "
                 "peak MB | vs plain | file MB | vs plain |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in ["plain"] + list(presets):
        r = rows[name]
        vs = f"{r['tag_speed_vs_crfsuite']:.2f}x" if anchor else "-"
        vs_p = f"{r['predict_speed_vs_crfsuite']:.2f}x" if anchor else "-"
        lines.append(f"| {name} | {r['predict_tokens_per_s']:,.0f} | {vs_p} | "
                     f"{r['tag_tokens_per_s']:,.0f} | {vs} | "
                     f"{r['tag_peak_bytes'] / 2**20:.0f} | "
                     f"{r.get('tag_memory_ratio', 1.0):.2f}x | {r['file_bytes'] / 2**20:.1f} | "
                     f"{r.get('file_ratio', 1.0):.2f}x |")
    if anchor:
        lines.append(f"| sklearn-crfsuite, standard features | {anchor['tokens_per_s']:,.0f} | "
                     f"1.00x | - | - | - | - | - | - |")
    return "\n".join(lines)


def results_markdown(result: dict, text: str, argv) -> str:
    cmd = "HMMTL_DATA=../shared/data python benchmarks/bench_adapt.py " + " ".join(argv or [])
    return (f"# Domain adaptation in one command\n\nCommand: `{cmd.strip()}`  \n"
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}.  \nLoad: {result['load_before']} before, "
            f"{result['load_after']} after (above about 1 on 2 cores other work shared the "
            f"machine; wall times are then upper bounds).\n\n{text}\n\nJSON:\n\n```\n"
            f"{json.dumps(result, sort_keys=True)}\n```\n")


if __name__ == "__main__":
    main()
