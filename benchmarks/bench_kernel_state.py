"""Timing of the training kernels whose state is bundled in named tuples.

Runs ``perceptron_epoch`` (``AveragedPerceptron.fit``), ``sgd_l1_epoch``
(``LinearChainCRF(algorithm="sgd-l1").fit``), ``forward_backward_blocked``
(``hmmtl.inference.forward_backward`` with 24 states), ``viterbi_blocked``
(``hmmtl.inference.viterbi`` with 64 states) and ``hmm_e_step_blocked``
(``hmmtl.inference.expected_counts.hmm_expected_counts`` with 24 states and 5,000 symbols)
through their public callers, so the same script times any version of the package.  For
each: the first call in the process (compile time, or loading from Numba's cache when it is
warm) and the best of ``--repeat`` later calls; for the three inference kernels also a
SHA-256 of what they return that does not depend on how blocks are shared among threads
(marginals and log Z; path and score; log Z: the pair and emission counts are sums in an
order set by the scheduler), equal between versions whose results are bit-identical.
Prints one JSON line.

    HMMTL_DATA=../shared/data NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/bench_kernel_state.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np


def _timed(fn, repeat, fingerprint=None):
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    out = {"first_s": round(first, 3), "best_s": round(best, 4)}
    if fingerprint is not None:
        digest = hashlib.sha256()
        for array in fingerprint(result):
            digest.update(np.ascontiguousarray(array).tobytes())
        out["sha256"] = digest.hexdigest()[:16]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    import hmmtl
    from hmmtl import AveragedPerceptron, LinearChainCRF
    from hmmtl.inference import forward_backward, viterbi
    from hmmtl.inference.expected_counts import hmm_expected_counts
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
    K_viterbi = 64
    unary_viterbi = rng.normal(size=(int(offsets[-1]), K_viterbi))
    trans_viterbi = rng.normal(size=(K_viterbi, K_viterbi))
    V = 5000
    ids = rng.integers(0, V, int(offsets[-1]))
    emission = rng.dirichlet(np.ones(V), K)
    transition = rng.dirichlet(np.ones(K), K)
    start = rng.dirichlet(np.ones(K))
    out = {"package": str(Path(hmmtl.__file__).parent), "sentences": len(X),
           "perceptron_epoch": _timed(
               lambda: AveragedPerceptron(n_epochs=2, random_state=0).fit(X, y, groups=groups),
               args.repeat),
           "sgd_l1_epoch": _timed(
               lambda: LinearChainCRF(task="pos", algorithm="sgd-l1", max_iterations=2,
                                      random_state=0).fit(X, y, groups=groups),
               args.repeat),
           "forward_backward_blocked": _timed(
               lambda: forward_backward(unary, trans, offsets, backend="numba"), args.repeat,
               fingerprint=lambda r: (r.marginals, r.log_z)),
           "viterbi_blocked": _timed(
               lambda: viterbi(unary_viterbi, trans_viterbi, offsets, backend="numba"),
               args.repeat, fingerprint=lambda r: (r.path, r.score)),
           "hmm_e_step_blocked": _timed(
               lambda: hmm_expected_counts(ids, offsets, emission, transition, start),
               args.repeat, fingerprint=lambda r: (r.log_z,))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
