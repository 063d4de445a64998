"""``hmmtl tag`` through the tagging door against another checkout of hmmtl: the same bytes,
and the wall time of the command (median of ``--repeat`` runs, the two trees alternating).

Usage::

    python benchmarks/bench_tag_door.py --baseline /path/to/other/checkout \\
        --model en-pos $HMMTL_DATA/ud/en_ewt/en_ewt-email-dev.conllu

Each tree runs ``python -m hmmtl tag --model MODEL FILE -o OUT --quiet`` with
``PYTHONPATH`` set to the tree, so that each imports its own hmmtl.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def run(tree: Path, model: str, files: list, out: Path, extra: list) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hmmtl", "tag", "--model", model, *files, "-o",
                    str(out), "--quiet", *extra], check=True, env=env, cwd=tree)
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", required=True, help="another checkout of hmmtl")
    p.add_argument("--model", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("files", nargs="+")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                   help="more options of hmmtl tag (both trees)")
    args = p.parse_args()
    trees = {"baseline": Path(args.baseline).resolve(), "this": HERE}
    times = {k: [] for k in trees}
    with tempfile.TemporaryDirectory() as folder:
        outs = {k: Path(folder) / f"{k}.out" for k in trees}
        for _ in range(args.repeat):
            for name, tree in trees.items():
                times[name].append(run(tree, args.model, args.files, outs[name], args.extra))
        same = outs["baseline"].read_bytes() == outs["this"].read_bytes()
        size = outs["this"].stat().st_size
    print("| tree | median wall (s) | runs (s) |\n|---|---|---|")
    for name in trees:
        shown = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"| {name} ({trees[name]}) | {statistics.median(times[name]):.2f} | {shown} |")
    print(f"\nsame output bytes: {same} ({size} bytes)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
