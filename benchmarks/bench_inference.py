"""Forward-backward and Viterbi throughput: hmmtl's Numba kernels and array backend against
hmmlearn's compiled routines (``hmmlearn._hmmc``), on the same data, in one run.

Sentence lengths follow CoNLL-2000 (WSJ) and UD English EWT when ``HMMTL_DATA`` / ``--data``
points at the corpora, else a gamma distribution of the same mean.  hmmlearn is called once
per sequence, as ``hmmlearn.hmm`` does; at large K every backend that would take longer than
``--budget`` seconds on the whole corpus is timed on a prefix of it and its rate extrapolated
(the ``timed`` column says how many tokens were timed).

Also reports the machine's float64 matrix-multiply rate (``np.dot`` of 2048x256 by 256x256 on
all cores: the higher of OpenBLAS's own threads and one one-thread GEMM per core in
parallel, the way the kernels use the cores) and the fraction of it that each task reaches
("GEMM %"), counting the
matrix-product work each task does per token: 2*K^2 flops for each of the forward pass, the
backward pass and the expected transition counts, i.e. 6*K^2 for ``fb`` (marginals and
pair counts, as hmmlearn's E-step computes them) and for ``em`` (hmmtl's HMM E-step:
:func:`hmmtl.inference.expected_counts.hmm_expected_counts`, with the emission counts
accumulated in the kernel), 4*K^2 for ``fb-m`` (marginals only, ``compute_pairs=False``).
hmmlearn's column for ``em`` is its forward-backward with pair counts, without the emission
counts it adds in Python afterwards.

    python benchmarks/bench_inference.py            # full: ~1M tokens, K in 16..512
    python benchmarks/bench_inference.py --quick    # seconds
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hmmtl.inference import forward_backward, viterbi
from hmmtl.inference.expected_counts import hmm_expected_counts

#: matrix-product flops per token and K^2 of each task (None: not counted)
FLOPS = {"fb": 6, "fb-m": 4, "em": 6, "vit": None}


def corpus_lengths(data):
    """Sentence lengths of CoNLL-2000 train and the EWT train files, or None."""
    if not data:
        return None
    lengths = []
    for path in sorted(glob.glob(os.path.join(data, "ud", "en_ewt", "*-train.conllu"))):
        n = 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    if n:
                        lengths.append(n)
                    n = 0
                elif not line.startswith("#") and line.split("\t", 1)[0].isdigit():
                    n += 1
        if n:
            lengths.append(n)
    try:
        import nltk

        nltk.data.path.insert(0, os.path.join(data, "nltk_data"))
        from nltk.corpus import conll2000

        lengths.extend(map(len, conll2000.sents("train.txt")))
    except Exception as exc:  # noqa: BLE001 - the EWT lengths alone are still realistic
        print(f"(CoNLL-2000 unavailable: {exc})", file=sys.stderr)
    return np.array(lengths) if lengths else None


def draw_lengths(rng, n_tokens, source):
    if source is None:  # mean ~20 tokens, long right tail, as in newswire and web text
        source = np.clip(rng.gamma(2.2, 9.0, size=50_000).astype(np.int64) + 1, 1, 250)
    lengths = rng.choice(source, size=int(n_tokens / source.mean() * 1.2) + 10)
    cum = np.cumsum(lengths)
    return lengths[: max(1, int(np.searchsorted(cum, n_tokens)) + 1)]


def gemm_rate_per_core(reps=40):
    """float64 GEMM rate with every Numba thread running its own one-thread BLAS GEMM of
    the same shape (the way the blocked kernels use the cores)."""
    import numba
    from numba import njit, prange

    from hmmtl.inference._host import one_blas_thread

    @njit(parallel=True)
    def work(a, b, c, reps):
        for t in prange(a.shape[0]):
            for _ in range(reps):
                np.dot(a[t], b, c[t])

    T = numba.get_num_threads()
    a = np.random.default_rng(0).random((T, 2048, 256))
    b = np.random.default_rng(1).random((256, 256))
    c = np.empty((T, 2048, 256))
    best = np.inf
    with one_blas_thread(), numba.parallel_chunksize(1):
        work(a, b, c, 1)
        for _ in range(5):
            t = time.perf_counter()
            work(a, b, c, reps)
            best = min(best, time.perf_counter() - t)
    return 2 * 2048 * 256 * 256 * reps * T / best


def gemm_rate(reps=40):
    a = np.random.default_rng(0).random((2048, 256))
    b = np.random.default_rng(1).random((256, 256))
    c = np.empty((2048, 256))
    np.dot(a, b, out=c)
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            np.dot(a, b, out=c)
        best = min(best, time.perf_counter() - t)
    return 2 * 2048 * 256 * 256 * reps / best


class Problem:
    """A random HMM with K states over sentences of the given lengths (log space)."""

    def __init__(self, rng, K, lengths, max_elements):
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        # bound memory: large K is timed on a prefix anyway
        n_seq = max(1, int(np.searchsorted(offsets, max_elements // K, side="right")) - 1)
        self.offsets = offsets[: n_seq + 1]
        n = int(self.offsets[-1])
        self.K = K
        # per-token log-potentials shaped like log emission probabilities (log-softmax)
        u = rng.standard_normal((n, K)) * 1.5
        u -= np.log(np.exp(u).sum(axis=1))[:, None]
        self.unary = u
        self.transition = np.log(rng.dirichlet(np.full(K, 0.5), size=K))
        self.start = np.log(rng.dirichlet(np.ones(K)))
        self.rng = rng

    def symbols(self, V=5000):
        """Symbol ids (Zipf-like) and a (K, V) emission table, for the HMM E-step."""
        if not hasattr(self, "ids"):
            n = int(self.offsets[-1])
            self.emission = self.rng.dirichlet(np.full(V, 0.3), size=self.K)
            self.ids = np.minimum(self.rng.zipf(1.3, size=n) - 1, V - 1).astype(np.int32)
        return self.ids, self.emission

    def prefix(self, n_tokens):
        """Number of sequences covering about ``n_tokens`` tokens."""
        return max(1, int(np.searchsorted(self.offsets, n_tokens)))


def run_ours(p, n_seq, kind, backend):
    off = p.offsets[: n_seq + 1]
    u = p.unary[: off[-1]]
    if kind in ("fb", "fb-m"):
        forward_backward(u, p.transition, off, p.start, backend=backend,
                         compute_pairs=kind == "fb")
    elif kind == "em":
        ids, emission = p.symbols()
        hmm_expected_counts(ids[: off[-1]], off, emission, np.exp(p.transition),
                            np.exp(p.start))
    else:
        viterbi(u, p.transition, off, p.start, backend=backend)


def run_hmmlearn(p, n_seq, kind, cache):
    from hmmlearn import _hmmc

    startprob = np.exp(p.start)
    transmat = np.exp(p.transition)
    off = p.offsets
    if kind in ("fb", "em"):
        # frameprob = exp(log-likelihood) is hmmlearn's _compute_likelihood; computed outside
        # the timer (our time includes the exp)
        if "frameprob" not in cache:
            cache["frameprob"] = np.exp(p.unary)
        fp_all = cache["frameprob"]
        t = time.perf_counter()
        for s in range(n_seq):
            fp = fp_all[off[s]:off[s + 1]]
            _log_prob, fwd, scaling = _hmmc.forward_scaling(startprob, transmat, fp)
            bwd = _hmmc.backward_scaling(startprob, transmat, fp, scaling)
            post = fwd * bwd
            post /= post.sum(axis=1, keepdims=True)
            if fp.shape[0] > 1:
                _hmmc.compute_scaling_xi_sum(fwd, transmat, bwd, fp)
        return time.perf_counter() - t
    log_start = p.start
    log_trans = p.transition
    t = time.perf_counter()
    for s in range(n_seq):
        _hmmc.viterbi(log_start, log_trans, p.unary[off[s]:off[s + 1]])
    return time.perf_counter() - t


def timed(fn, n_tokens_total, budget, p, pilot_tokens, repeats):
    """Tokens/s of ``fn(n_seq)`` (returns its own time, or None to be timed here), on the
    whole problem or on a prefix sized to ``budget`` seconds.  Returns (rate, timed_tokens)."""
    def one(n_seq):
        t = time.perf_counter()
        inner = fn(n_seq)
        return inner if inner is not None else time.perf_counter() - t

    n_tokens_total = min(n_tokens_total, int(p.offsets[-1]))
    n_pilot = p.prefix(pilot_tokens)
    one(n_pilot)  # compile / warm caches
    dt = one(n_pilot)
    rate = p.offsets[n_pilot] / dt
    n_tokens = min(n_tokens_total, max(pilot_tokens, int(rate * budget)))
    n_seq = p.prefix(n_tokens)
    best = min(one(n_seq) for _ in range(repeats))
    return p.offsets[n_seq] / best, int(p.offsets[n_seq])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    ap.add_argument("--data", default=os.environ.get("HMMTL_DATA"),
                    help="corpora directory for realistic sentence lengths (HMMTL_DATA)")
    ap.add_argument("--tokens", type=int, default=None, help="tokens per K (default 1M)")
    ap.add_argument("--states", type=int, nargs="+", default=None)
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds per measurement before extrapolating from a prefix")
    ap.add_argument("--no-hmmlearn", action="store_true")
    ap.add_argument("--max-elements", type=int, default=1 << 27,
                    help="bound on tokens x K held in memory (a prefix is timed beyond it)")
    args = ap.parse_args(argv)
    n_tokens = args.tokens or (20_000 if args.quick else 1_000_000)
    states = args.states or ([16, 64] if args.quick else [16, 64, 128, 256, 512])
    budget = args.budget or (1.0 if args.quick else 10.0)
    repeats = 1 if args.quick else 2
    rng = np.random.default_rng(0)
    source = corpus_lengths(args.data)
    length_source = "CoNLL-2000 + EWT train" if source is not None else "synthetic gamma"
    lengths = draw_lengths(rng, n_tokens, source)
    has_hmmlearn = not args.no_hmmlearn
    if has_hmmlearn:
        try:
            import hmmlearn._hmmc  # noqa: F401
        except ImportError:
            has_hmmlearn = False
    # the machine's GEMM rate: OpenBLAS's own threads, or one BLAS thread per core with the
    # cores in parallel (on a shared machine the first collapses); the higher is the bound
    gemm_blas = gemm_rate(10 if args.quick else 40)
    gemm_cores = gemm_rate_per_core(10 if args.quick else 40)
    gemm = max(gemm_blas, gemm_cores)
    import numba

    print(f"# {int(lengths.sum()):,} tokens in {len(lengths):,} sentences "
          f"(lengths: {length_source}, mean {lengths.mean():.1f}, max {lengths.max()}); "
          f"{os.cpu_count()} cores, numba threads {numba.get_num_threads()}; "
          f"float64 GEMM {gemm / 1e9:.1f} GFLOP/s (OpenBLAS threads {gemm_blas / 1e9:.1f}, "
          f"one BLAS thread per core {gemm_cores / 1e9:.1f})")
    rows = []
    header = (f"{'K':>5} {'task':>4} {'backend':>9} {'tokens/s':>12} {'timed':>9} "
              f"{'vs hmmlearn':>11} {'GEMM %':>7}")
    print(header)
    print("-" * len(header))
    for K in states:
        p = Problem(np.random.default_rng(K), K, lengths, args.max_elements)
        pilot = min(n_tokens, max(2_000, 400_000 // K))
        cache = {}
        hmmlearn_rates = {}
        for kind in ("fb", "fb-m", "em", "vit"):
            res = {}
            backends = ["numba"] if kind == "em" else ["numba", "numpy"]
            for be in backends:
                res[be] = timed(lambda n, p=p, kind=kind, be=be: run_ours(p, n, kind, be),
                                n_tokens, budget, p, pilot, repeats)
            if has_hmmlearn and kind == "em":
                res["hmmlearn"] = hmmlearn_rates["fb"]  # the same hmmlearn E-step as for "fb"
            elif has_hmmlearn and kind != "fb-m":
                res["hmmlearn"] = hmmlearn_rates[kind] = timed(
                    lambda n, p=p, kind=kind, cache=cache: run_hmmlearn(p, n, kind, cache),
                    n_tokens, budget, p, pilot, 1)
            for be, (rate, n_timed) in res.items():
                ratio = rate / res["hmmlearn"][0] if "hmmlearn" in res else None
                frac = FLOPS[kind] * K * K * rate / gemm if FLOPS[kind] else None
                rows.append(dict(K=K, task=kind, backend=be, tokens_per_s=round(rate, 1),
                                 timed_tokens=n_timed, vs_hmmlearn=ratio and round(ratio, 2),
                                 gemm_fraction=frac and round(frac, 4)))
                print(f"{K:>5} {kind:>4} {be:>9} {rate:>12,.0f} {n_timed:>9,} "
                      f"{'' if ratio is None else f'{ratio:.1f}x':>11} "
                      f"{'' if frac is None else f'{100 * frac:.1f}':>7}", flush=True)
        del p, cache

    def pick(K, task, backend):
        for r in rows:
            if (r["K"], r["task"], r["backend"]) == (K, task, backend):
                return r
        return None

    summary = {}
    for K in states:
        for task in ("fb", "fb-m", "em", "vit"):
            best = max((r for r in rows if r["K"] == K and r["task"] == task
                        and r["backend"] != "hmmlearn"), key=lambda r: r["tokens_per_s"])
            h = pick(K, task, "hmmlearn")
            summary[f"{task}_K{K}"] = dict(
                ours=best["backend"], ours_tokens_per_s=best["tokens_per_s"],
                hmmlearn_tokens_per_s=h and h["tokens_per_s"],
                ratio=h and round(best["tokens_per_s"] / h["tokens_per_s"], 2),
                gemm_fraction=best["gemm_fraction"])
    print(json.dumps(dict(benchmark="inference", tokens=int(lengths.sum()),
                          lengths=length_source, quick=args.quick, gemm_gflops=round(gemm / 1e9, 1),
                          gemm_gflops_blas_threads=round(gemm_blas / 1e9, 1),
                          gemm_gflops_per_core=round(gemm_cores / 1e9, 1),
                          machine=f"{platform.machine()} {os.cpu_count()} cores",
                          summary=summary, rows=rows)))


if __name__ == "__main__":
    main()
