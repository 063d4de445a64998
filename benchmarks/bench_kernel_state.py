"""Timing of the training kernels whose state is bundled in named tuples.

Runs ``perceptron_epoch`` (``AveragedPerceptron.fit``), ``sgd_l1_epoch``
(``LinearChainCRF(algorithm="sgd-l1").fit``) and ``forward_backward_blocked``
(``hmmtl.inference.forward_backward`` with 24 states) through their public callers, so
the same script times any version of the package.  For each: the first call in the process
(compile time, or loading from Numba's cache when it is warm) and the best of ``--repeat``
later calls.  Prints one JSON line.

    HMMTL_DATA=../shared/data NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/bench_kernel_state.py
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def _timed(fn, repeat):
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return {"first_s": round(first, 3), "best_s": round(best, 4)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import hmmtl
    from hmmtl import AveragedPerceptron, LinearChainCRF
    from hmmtl.inference import forward_backward
    from hmmtl.io import read_conll

    corpus = read_conll(Path(os.environ["HMMTL_DATA"]) / "conll2003" / "eng.train")
    X = corpus.sentences[:args.sentences]
    y = corpus.column(1)[:args.sentences]
    groups = np.arange(len(X)) % 3 - 1
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 40, 3000)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    K = 24
    unary = rng.normal(size=(int(offsets[-1]), K))
    trans = rng.normal(size=(K, K))
    out = {"package": str(Path(hmmtl.__file__).parent), "sentences": len(X),
           "perceptron_epoch": _timed(
               lambda: AveragedPerceptron(n_epochs=2, random_state=0).fit(X, y, groups=groups),
               args.repeat),
           "sgd_l1_epoch": _timed(
               lambda: LinearChainCRF(task="pos", algorithm="sgd-l1", max_iterations=2,
                                      random_state=0).fit(X, y, groups=groups),
               args.repeat),
           "forward_backward_blocked": _timed(
               lambda: forward_backward(unary, trans, offsets, backend="numba"), args.repeat)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
