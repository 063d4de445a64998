"""Distributed EM on Dask: time per EM iteration with 1 and 2 worker processes, the
scheduler's overhead per iteration, and the bytes sent per iteration.

    python benchmarks/bench_distributed.py --quick            # seconds, synthetic corpus
    HMMTL_DATA=../shared/data python benchmarks/bench_distributed.py --states 32 --iter 5

The corpus is the words of the EWT train files plus CoNLL-2000 train when ``HMMTL_DATA``
(or ``--data``) holds them, else sentences sampled from a random HMM.  The anchor is
single-machine EM (``model._e_step`` + ``model._m_step`` on the whole corpus, in this process,
with Numba's default threads).  Each worker has one thread (one Numba thread); the overhead of
an iteration is its wall time minus the slowest worker's E-step compute time (from the task
stream) minus the M-step.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def _synthetic(n_sentences: int, n_words: int, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    K = 8
    trans = rng.dirichlet(np.full(K, 0.3), size=K)
    emit = rng.dirichlet(np.full(n_words, 0.05), size=K)
    lengths = rng.integers(5, 40, n_sentences)
    out = []
    for T in lengths.tolist():
        z = int(rng.integers(K))
        states = np.empty(T, dtype=np.int64)
        for t in range(T):
            states[t] = z
            z = int(rng.choice(K, p=trans[z]))
        ids = [int(rng.choice(n_words, p=emit[s])) for s in states]
        out.append([f"w{i}" for i in ids])
    return out


def _real(data: Path) -> list[list[str]] | None:
    from hmmtl.io import read_conllu
    from hmmtl.io.conll import read_conll

    ewt = sorted((data / "ud" / "en_ewt").glob("en_ewt-*-train.conllu"))
    if not ewt:
        return None
    sentences = [s for p in ewt for s in read_conllu(p).sentences]
    import zipfile

    z = data / "nltk_data" / "corpora" / "conll2000.zip"
    if z.exists():
        with zipfile.ZipFile(z) as f:
            name = [n for n in f.namelist() if n.endswith("train.txt")][0]
            text = f.read(name).decode("utf-8")
        sentences += read_conll(text.splitlines(), columns=("word", "pos", "chunk")).sentences
    return sentences


def _task_compute(task_stream, prefix="hmmtl-e-step") -> dict[str, float]:
    """Seconds of E-step compute per worker in a task stream."""
    per_worker: dict[str, float] = {}
    for t in task_stream:
        if not str(t["key"]).startswith(prefix):
            continue
        for ss in t["startstops"]:
            if ss["action"] == "compute":
                per_worker[t["worker"]] = per_worker.get(t["worker"], 0.0) + ss["stop"] - ss["start"]
    return per_worker


def run(args) -> dict:
    from dask.distributed import Client, LocalCluster, get_task_stream

    from hmmtl.distributed import DistributedEM
    from hmmtl.hmm import CategoricalHMM

    data = args.data or os.environ.get("HMMTL_DATA")
    sentences, source = None, "synthetic"
    if data and not args.quick:
        sentences = _real(Path(data))
        source = "EWT train + CoNLL-2000 train" if sentences else source
    if sentences is None:
        sentences = _synthetic(300 if args.quick else 20000, 200 if args.quick else 5000)
    n_tokens = sum(map(len, sentences))

    def model():
        return CategoricalHMM(n_states=args.states, n_iter=args.iter, tol=-np.inf,
                              random_state=0, lowercase=True, min_count=2)

    # anchor: single-machine EM in this process
    ref = model()
    ref.fit(sentences[:50])  # compile the kernels outside the timing
    ref = model()
    ref.vocabulary_ = None
    from sklearn.utils import check_random_state

    from hmmtl.data import Vocabulary

    ref.vocabulary_ = Vocabulary(min_count=2, lowercase=True).fit(sentences)
    ref.n_features_ = len(ref.vocabulary_)
    ref.n_states_ = args.states
    batch = ref.encode(sentences)
    ref._init_params(ref.n_features_, check_random_state(0), np.bincount(batch.ids, minlength=ref.n_features_))
    local = []
    for _ in range(args.iter):
        t0 = time.perf_counter()
        ref._m_step(ref._e_step(batch))
        local.append(time.perf_counter() - t0)
    rows = [{"setup": "single machine", "workers": 0, "iter_s": float(np.median(local)),
             "e_step_s": None, "overhead_s": None, "bytes_out": 0, "bytes_back": 0}]

    for n_workers in (1, 2):
        env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0", env=env) as cluster, Client(cluster) as client:
            em = DistributedEM(client, n_partitions=2 * n_workers)
            m = model()
            em.prepare(m, sentences)
            m.n_iter = 1
            em.fit(m)  # warm-up: loads the compiled kernels on the workers
            walls, computes, m_steps = [], [], []
            for _ in range(args.iter):
                with get_task_stream(client) as ts:
                    em.fit(m, init=False)
                timing = em.timings_[-1]
                per_worker = _task_compute(ts.data)
                walls.append(timing["wall"])
                computes.append(max(per_worker.values()) if per_worker else 0.0)
                m_steps.append(timing["m_step"])
            walls, computes, m_steps = map(np.asarray, (walls, computes, m_steps))
            n_parts = len(em.partitions_)
            # parameters: once to the scheduler and once to each worker; statistics: one per
            # partition (an upper bound: sums made on the worker that holds both inputs move
            # nothing) plus the total to the client
            bytes_out = timing["params_bytes"] * (1 + n_workers)
            bytes_back = timing["stats_bytes"] * (n_parts + 1)
            rows.append({"setup": f"dask, {n_workers} worker process(es)", "workers": n_workers,
                         "iter_s": float(np.median(walls)), "e_step_s": float(np.median(computes)),
                         "overhead_s": float(np.median(walls - computes - m_steps)),
                         "bytes_out": int(bytes_out), "bytes_back": int(bytes_back)})
            assert np.allclose(m.emission_prob_.sum(axis=1), 1.0)
    return {"source": source, "n_sentences": len(sentences), "n_tokens": n_tokens,
            "n_states": args.states, "n_types": len(ref.vocabulary_), "rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small synthetic corpus, seconds")
    ap.add_argument("--states", type=int, default=32)
    ap.add_argument("--iter", type=int, default=5)
    ap.add_argument("--data", default=None, help="corpora folder (default: $HMMTL_DATA)")
    args = ap.parse_args(argv)
    if args.quick:
        args.states, args.iter = min(args.states, 8), min(args.iter, 2)
    res = run(args)
    print(f"corpus: {res['source']}, {res['n_sentences']} sentences, {res['n_tokens']} tokens, "
          f"{res['n_types']} types, K = {res['n_states']}")
    print(f"{'setup':32s} {'s/iter':>8s} {'E-step s':>9s} {'overhead s':>10s} "
          f"{'MB out':>8s} {'MB back':>8s}")
    for r in res["rows"]:
        f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"{r['setup']:32s} {r['iter_s']:8.3f} {f(r['e_step_s']):>9s} "
              f"{f(r['overhead_s']):>10s} {r['bytes_out'] / 1e6:8.2f} {r['bytes_back'] / 1e6:8.2f}")
    single = res["rows"][0]["iter_s"]
    one, two = res["rows"][1], res["rows"][2]
    print(json.dumps({"benchmark": "distributed_em", "corpus": res["source"],
                      "n_tokens": res["n_tokens"], "n_states": res["n_states"],
                      "single_machine_s_per_iter": single,
                      "dask_1_worker_s_per_iter": one["iter_s"],
                      "dask_2_workers_s_per_iter": two["iter_s"],
                      "speedup_2_vs_1_workers": one["iter_s"] / two["iter_s"],
                      "ratio_2_workers_vs_single_machine": two["iter_s"] / single,
                      "overhead_s_per_iter_2_workers": two["overhead_s"],
                      "bytes_per_iter_2_workers": two["bytes_out"] + two["bytes_back"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
