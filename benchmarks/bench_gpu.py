"""GPU throughput: forward-backward and Viterbi with ``backend="cupy"`` against the Numba CPU
kernels, tokens/s for K in {64, 256, 1024} on ~10M tokens, in one run.

Needs CuPy and a CUDA GPU; without them it says so and exits with status 0.  The CPU side
(slow at K = 1024) is timed on a prefix within ``--budget`` seconds and its rate extrapolated
(the ``timed`` column says how many tokens were timed).  Parameters are moved to the GPU
once, as in an EM loop; the unary potentials of each batch are uploaded inside the timer and
the results stay on the device (``return_device=True``) apart from ``log_z``.

    python benchmarks/bench_gpu.py            # full: ~10M tokens
    python benchmarks/bench_gpu.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_inference import draw_lengths

from hmmtl.inference import forward_backward, viterbi


def gpu_or_none():
    try:
        import cupy
    except ImportError:
        return None, "CuPy is not installed (pip install 'hmmtl[gpu]')"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - any CUDA runtime error means no usable GPU
        return None, f"no usable CUDA GPU ({exc})"
    if n < 1:
        return None, "no CUDA GPU"
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return cupy, name.decode() if isinstance(name, bytes) else str(name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tokens", type=int, default=None, help="tokens per K (default 10M)")
    ap.add_argument("--states", type=int, nargs="+", default=None)
    ap.add_argument("--batch-elements", type=int, default=1 << 27,
                    help="tokens x K per call (one E-step mini-batch)")
    ap.add_argument("--budget", type=float, default=None, help="CPU seconds per measurement")
    args = ap.parse_args(argv)
    cupy, gpu = gpu_or_none()
    if cupy is None:
        print(f"bench_gpu: skipped: {gpu}; run it on a machine with a GPU")
        print(json.dumps(dict(benchmark="gpu", skipped=True, reason=gpu)))
        return 0
    n_tokens = args.tokens or (200_000 if args.quick else 10_000_000)
    states = args.states or ([64, 256] if args.quick else [64, 256, 1024])
    budget = args.budget or (2.0 if args.quick else 30.0)
    rng = np.random.default_rng(0)
    lengths = draw_lengths(rng, n_tokens, None)
    print(f"# GPU: {gpu}; {int(lengths.sum()):,} tokens in {len(lengths):,} sentences; "
          f"CPU: {os.cpu_count()} cores (Numba)")
    print(f"{'K':>5} {'task':>4} {'cupy tok/s':>12} {'numba tok/s':>12} {'cpu timed':>10} "
          f"{'speed-up':>9}")
    rows = []
    for K in states:
        batch_tokens = max(1, args.batch_elements // K)
        offsets_all = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        # one batch of potentials, reused for every batch of the corpus (same shapes)
        n_seq_batch = max(1, int(np.searchsorted(offsets_all, batch_tokens, side="right")) - 1)
        off = offsets_all[: n_seq_batch + 1]
        n_batch = int(off[-1])
        n_batches = max(1, round(lengths.sum() / n_batch))
        u = rng.standard_normal((n_batch, K)) * 1.5
        u -= np.log(np.exp(u).sum(axis=1))[:, None]
        transition = np.log(rng.dirichlet(np.full(K, 0.5), size=K))
        start = np.log(rng.dirichlet(np.ones(K)))
        t_dev, s_dev = cupy.asarray(transition), cupy.asarray(start)
        for kind in ("fb", "vit"):
            def gpu_call():
                ud = cupy.asarray(u)
                if kind == "fb":
                    r = forward_backward(ud, t_dev, off, s_dev, backend="cupy",
                                         return_device=True)
                    r.log_z.get()
                else:
                    r = viterbi(ud, t_dev, off, s_dev, backend="cupy", return_device=True)
                    r.score.get()
                cupy.cuda.Device().synchronize()

            gpu_call()  # compile kernels, warm the memory pool
            t = time.perf_counter()
            for _ in range(n_batches):
                gpu_call()
            gpu_rate = n_batch * n_batches / (time.perf_counter() - t)

            def cpu_call(n_seq):
                o = off[: n_seq + 1]
                f = forward_backward if kind == "fb" else viterbi
                f(u[: o[-1]], transition, o, start, backend="numba")

            n_pilot = max(1, int(np.searchsorted(off, min(n_batch, 2_000_000 // K))))
            cpu_call(n_pilot)
            t = time.perf_counter()
            cpu_call(n_pilot)
            rate = off[n_pilot] / (time.perf_counter() - t)
            n_seq = max(1, min(n_seq_batch, int(np.searchsorted(off, rate * budget))))
            t = time.perf_counter()
            cpu_call(n_seq)
            cpu_rate = off[n_seq] / (time.perf_counter() - t)
            rows.append(dict(K=K, task=kind, cupy_tokens_per_s=round(gpu_rate, 1),
                             numba_tokens_per_s=round(cpu_rate, 1),
                             numba_timed_tokens=int(off[n_seq]),
                             speedup=round(gpu_rate / cpu_rate, 2)))
            print(f"{K:>5} {kind:>4} {gpu_rate:>12,.0f} {cpu_rate:>12,.0f} {int(off[n_seq]):>10,} "
                  f"{gpu_rate / cpu_rate:>8.1f}x", flush=True)
    print(json.dumps(dict(benchmark="gpu", gpu=gpu, tokens=int(lengths.sum()), rows=rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
