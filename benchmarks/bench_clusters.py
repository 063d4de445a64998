"""Benchmark: Brown clustering at scale, streamed from raw text files.

Brown clusters (:meth:`hmmtl.ner.clusters.BrownClusters.fit_stream`) are learned on the first
0.2M / 1M / 3M / 8M tokens of Reuters-21578 then 20 Newsgroups
(``text/en/reuters21578.jsonl.gz``, ``text/en/20newsgroups.jsonl.gz``), read by the one
raw-text reader (:func:`hmmtl.io.iter_unlabeled`) and counted batch by batch
(:class:`hmmtl.ner.clusters.BigramCounter`): the text is never held as token lists.  Each size
runs in its own process, so that its peak resident memory is its own.  For each size: the
seconds to read and count, to cluster, the vocabulary ``V``, the distinct bigrams, the peak
memory, and the clustering's CPU time against the windowed algorithm's ``V C^2`` cost
(nanoseconds per unit of ``V C^2``: constant when the cost grows as the algorithm's; CPU
time, as wall time on a shared machine says more about the other users).

    HMMTL_DATA=/path/to/data python benchmarks/bench_clusters.py \\
        [--sizes 0.2,1,3,8] [--clusters 500] [--min-count 2] [--save DIR]

``--save DIR`` writes ``brown-<size>M.model`` for each size (the NER curve reads them).
Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TEXTS = ("text/en/reuters21578.jsonl.gz", "text/en/20newsgroups.jsonl.gz")


def stream(root: Path, n_tokens: int):
    """The first ``n_tokens`` tokens (whole sentences) of the texts, one sentence at a time."""
    from hmmtl.io import iter_unlabeled

    n = 0
    for name in TEXTS:
        for s in iter_unlabeled(root / name, warn=lambda m: None):
            yield s
            n += len(s)
            if n >= n_tokens:
                return


def worker(args) -> dict:
    import resource

    from hmmtl.ner.clusters import BigramCounter, BrownClusters

    root = Path(args.data or os.environ.get("HMMTL_DATA", ""))
    n_tokens = int(float(args.worker) * 1e6)
    t0, c0 = time.perf_counter(), time.process_time()
    counter = BigramCounter().update_stream(stream(root, n_tokens))
    t_count, cpu_count = time.perf_counter() - t0, time.process_time() - c0
    model = BrownClusters(n_clusters=args.clusters, min_count=args.min_count, n_jobs=args.jobs)
    t0, c0 = time.perf_counter(), time.process_time()
    model._check_params()
    model._fit_counter(counter)
    t_cluster, cpu_cluster = time.perf_counter() - t0, time.process_time() - c0
    V = len(model.words_)
    C = min(args.clusters, V)
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        model.save(Path(args.save) / f"brown-{args.worker}M.model")
    return {"size_m": float(args.worker), "tokens": counter.n_tokens, "types": counter.n_words,
            "pairs": counter.n_pairs, "V": V, "C": C, "count_s": round(t_count, 2),
            "cluster_s": round(t_cluster, 2), "count_cpu_s": round(cpu_count, 2),
            "cluster_cpu_s": round(cpu_cluster, 2),
            "ns_per_VC2": round(cpu_cluster / (V * C * C) * 1e9, 3),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="corpora folder (default HMMTL_DATA)")
    ap.add_argument("--sizes", default="0.2,1,3,8", help="millions of tokens, comma-separated")
    ap.add_argument("--clusters", type=int, default=500)
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=None, help="Numba threads (default all)")
    ap.add_argument("--save", help="folder for the fitted clusters")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args)), flush=True)
        return
    rows = []
    for size in args.sizes.split(","):
        cmd = [sys.executable, __file__, "--worker", size, "--clusters", str(args.clusters),
               "--min-count", str(args.min_count)]
        for opt, val in (("--data", args.data), ("--save", args.save), ("--jobs", args.jobs)):
            if val is not None:
                cmd += [opt, str(val)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        row = json.loads(out.rsplit("RESULT ", 1)[1])
        rows.append(row)
        print(f"{row['size_m']}M done: {row}", file=sys.stderr, flush=True)
    print("| text (M tokens) | tokens | types | V (min count) | bigrams | C | count s (CPU) | "
          "cluster s (CPU) | CPU ns per V C^2 | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size_m']} | {r['tokens']:,} | {r['types']:,} | {r['V']:,} | "
              f"{r['pairs']:,} | {r['C']} | {r['count_s']} ({r['count_cpu_s']}) | "
              f"{r['cluster_s']} ({r['cluster_cpu_s']}) | {r['ns_per_VC2']} | "
              f"{r['peak_mb']} |")
    print(json.dumps({"bench": "clusters", "min_count": args.min_count, "rows": rows}))


if __name__ == "__main__":
    main()
