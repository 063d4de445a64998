"""EM and tagging across executors: one process, Dask (2 worker processes) and Spark
(``local[2]``), each beside the local run on the same corpus in one run.

    HMMTL_DATA=../shared/data python benchmarks/bench_distributed.py            # ~1M tokens
    python benchmarks/bench_distributed.py --quick                             # seconds

Corpus: the words of UD English EWT (all files), CoNLL-2000, CoNLL-2003 English and the
Brown corpus up to ``--tokens`` tokens (default 1M), lowercased, min_count 2; a synthetic
corpus without ``HMMTL_DATA``.  For each K (default 64 and 128):

* **EM iteration**: the median wall time of one iteration inside a ``fit`` (batch EM,
  ``monitor_.seconds``) on each executor: local (this process, Numba's threads), Dask
  (``LocalCluster`` of 2 processes, 1 thread each), Spark (``local[2]``: 2 Python workers);
  Dask and Spark models are checked equal to the local one (1e-9 relative).
* **Per-partition cost**: the E-step of one partition of ``--partition-tokens`` tokens on
  one thread (CPU time: its wall time on an idle core), the bytes of its statistics
  (``(K + K^2 + K*V) * 8``) and of the broadcast parameters -- the inputs of the scaling
  estimate printed last (one EM iteration on 1B tokens on 10 to 1,000 machines; the model
  is in ``benchmarks/results/distributed.md``).

Tagging: ``HmmtlTagger`` (a Spark ML stage, Arrow batches) tagging the corpus with an
averaged perceptron trained on CoNLL-2000 (or the synthetic tags), against ``predict`` in
this process; the tags are checked equal.

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hmm import prefix  # the first sentences holding n tokens

VOCAB = dict(lowercase=True, min_count=2)


def real_corpus(data: Path, n_tokens: int):
    """(sentences, tags or None): EWT, CoNLL-2000, CoNLL-2003 and Brown, to n_tokens."""
    import zipfile

    from hmmtl.io import load_nltk, read_conll, read_conllu

    sents = [s for p in sorted((data / "ud" / "en_ewt").glob("*.conllu"))
             for s in read_conllu(p).sentences]
    with zipfile.ZipFile(data / "nltk_data" / "corpora" / "conll2000.zip") as z:
        for name in sorted(n for n in z.namelist() if n.endswith(".txt")):
            text = z.read(name).decode("utf-8")
            sents += read_conll(text.splitlines(), columns=("word", "pos", "chunk")).sentences
    for name in ("eng.train", "eng.testa", "eng.testb"):
        sents += read_conll(data / "conll2003" / name).sentences
    total = sum(map(len, sents))
    if total < n_tokens:
        sents += load_nltk("brown", data_dir=data / "nltk_data").sentences
    return prefix(sents, n_tokens)


def synthetic_corpus(n_tokens: int, n_words: int = 3000, seed: int = 0):
    rng = np.random.default_rng(seed)
    K = 8
    trans = rng.dirichlet(np.full(K, 0.3), size=K)
    emit = rng.dirichlet(np.full(n_words, 0.05), size=K)
    out, n = [], 0
    while n < n_tokens:
        T = int(rng.integers(5, 40))
        z = int(rng.integers(K))
        words = []
        for _ in range(T):
            words.append(f"w{int(rng.choice(n_words, p=emit[z]))}")
            z = int(rng.choice(K, p=trans[z]))
        out.append(words)
        n += T
    return out


def training_tags(data, quick):
    """(sentences, tags) to train the tagger of the tagging rows."""
    if data is None or quick:
        X = synthetic_corpus(20_000, seed=1)
        return X, [[w[-1] for w in s] for s in X]
    from hmmtl.io import load_nltk

    c = load_nltk("conll2000", data_dir=Path(data) / "nltk_data", split="train")
    return c.sentences, c.column("pos")


def model(K, n_iter):
    from hmmtl import CategoricalHMM

    return CategoricalHMM(K, n_iter=n_iter, tol=-np.inf, random_state=0, **VOCAB)


def per_iter(m) -> float:
    return float(np.median(m.monitor_.seconds))


def same(a, b) -> bool:
    for name in ("start_prob_", "transition_prob_", "emission_prob_"):
        x, y = getattr(a, name), getattr(b, name)
        d = np.abs(x - y)
        if not np.all((d <= 1e-9 * np.abs(y)) | ((np.abs(y) < 1e-3) & (d <= 1e-12))):
            return False
    return True


def partition_cost(sentences, K, n_tokens, ref):
    """CPU seconds of one E-step on ``n_tokens`` tokens on one thread (its wall time on an
    idle core, whatever else the machine runs), and the statistics' and parameters' bytes."""
    import numba

    from hmmtl.hmm import HMMFamily, HMMParams

    batch = ref.encode(prefix(sentences, n_tokens))
    family = HMMFamily(K, ref.n_features_)
    params = HMMParams(ref.start_prob_, ref.transition_prob_, ref.emission_prob_)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        family.e_step(params, batch)
        t = time.process_time()
        stats = family.e_step(params, batch)
        sec = time.process_time() - t
    finally:
        numba.set_num_threads(threads)
    stats_bytes = sum(a.nbytes for a in (stats.start, stats.transition, stats.emission))
    params_bytes = sum(a.nbytes for a in params[:3])
    return {"tokens": batch.n_tokens, "e_step_s": sec, "tokens_per_s": batch.n_tokens / sec,
            "stats_bytes": int(stats_bytes), "params_bytes": int(params_bytes)}


def m_step_seconds(K: int, V: int) -> float:
    """Wall time of the M-step (normalizing K x V counts) on this machine."""
    from hmmtl.hmm import HMMFamily, HMMStats

    family = HMMFamily(K, V)
    rng = np.random.default_rng(0)
    stats = HMMStats(rng.random(K), rng.random((K, K)), rng.random((K, V)))
    family.m_step(stats)
    t = time.perf_counter()
    family.m_step(stats)
    return time.perf_counter() - t


def scaling_estimate(costs, machines, cores, gbps, n_tokens, vocab, fan_in=8) -> list[dict]:
    """Seconds of one EM iteration on ``n_tokens`` tokens and a ``vocab``-type vocabulary
    for each number of machines, from the measured per-core E-step rate (see
    benchmarks/results/distributed.md for the model):

    * E-step: ``n_tokens / (P * r)`` with ``P = machines * cores`` partitions (one per core)
      and ``r`` the measured tokens/s of one partition on one thread;
    * broadcast: the parameters, ``S = 8 (K + K^2 + K V)`` bytes, fetched once per machine
      (torrent-style, each machine's link is the bottleneck): ``S / B``;
    * reduction: a tree of fan-in ``f`` over the ``P`` statistics (``S`` bytes each, dense)
      has ``d = ceil(log_f P)`` levels, each combiner receiving ``f`` of them: ``d f S / B``;
    * M-step on the driver: measured here for K x ``vocab``.
    """
    B = gbps * 1e9 / 8
    rows = []
    for c in costs:
        K = c["K"]
        S = 8 * (K + K * K + K * vocab)
        t_m = m_step_seconds(K, vocab)
        for M in machines:
            P = M * cores
            depth = max(1, int(np.ceil(np.log(P) / np.log(fan_in))))
            t_e = n_tokens / (P * c["tokens_per_s"])
            t_b = S / B
            t_r = depth * fan_in * S / B
            total = t_e + t_b + t_r + t_m
            rows.append({"K": K, "machines": M, "partitions": P, "stats_MB": S / 1e6,
                         "depth": depth, "e_step_s": t_e, "broadcast_s": t_b,
                         "reduce_s": t_r, "m_step_s": t_m, "iteration_s": total,
                         "e_step_share": t_e / total})
    return rows


def run(args) -> dict:
    from dask.distributed import Client, LocalCluster

    from hmmtl.crf import AveragedPerceptron
    from hmmtl.executors.dask import DaskExecutor
    from hmmtl.executors.spark import SparkExecutor, spark_session
    from hmmtl.tagging.spark import HmmtlTagger

    data = None if args.quick else (args.data or os.environ.get("HMMTL_DATA"))
    if data:
        sentences, source = real_corpus(Path(data), args.tokens), \
            "EWT + CoNLL-2000 + CoNLL-2003 + Brown"
    else:
        sentences, source = synthetic_corpus(args.tokens), "synthetic"
    n_tokens = sum(map(len, sentences))
    print(f"corpus: {source}, {len(sentences)} sentences, {n_tokens} tokens; "
          f"{os.cpu_count()} cores", flush=True)
    model(4, 1).fit(sentences[:50])   # compile (or load) the kernels outside the timings
    worker_env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    spark = spark_session("local[2]", "hmmtl-bench",
                          **{f"spark.executorEnv.{k}": v for k, v in worker_env.items()},
                          **{"spark.driver.memory": "4g"})
    spark.sparkContext.setLogLevel("ERROR")
    rows, costs = [], []
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=":0", env=worker_env) as cluster, \
                Client(cluster) as client:
            for K in args.states:
                local = model(K, args.iter).fit(sentences)
                V = local.n_features_
                rows.append({"K": K, "executor": "local (1 process, numba threads)",
                             "iter_s": per_iter(local), "equal": True, "V": V})
                print(f"K={K} local: {per_iter(local):.3f} s/iter", flush=True)
                d = model(K, args.iter).fit(sentences, executor=DaskExecutor(
                    client, n_partitions=args.partitions))
                rows.append({"K": K, "executor": "Dask, 2 worker processes",
                             "iter_s": per_iter(d), "equal": same(d, local), "V": V})
                print(f"K={K} dask: {per_iter(d):.3f} s/iter, equal {same(d, local)}",
                      flush=True)
                s = model(K, args.iter).fit(sentences, executor=SparkExecutor(
                    spark, n_partitions=args.partitions))
                rows.append({"K": K, "executor": "Spark local[2]", "iter_s": per_iter(s),
                             "equal": same(s, local), "V": V})
                print(f"K={K} spark: {per_iter(s):.3f} s/iter, equal {same(s, local)}",
                      flush=True)
                cost = partition_cost(sentences, K, args.partition_tokens, local)
                costs.append({"K": K, **cost})
                print(f"K={K} one partition of {cost['tokens']} tokens on one thread: "
                      f"{cost['e_step_s']:.3f} CPU s ({cost['tokens_per_s']:.0f} tokens/s); stats "
                      f"{cost['stats_bytes'] / 1e6:.1f} MB, parameters "
                      f"{cost['params_bytes'] / 1e6:.1f} MB", flush=True)
        # tagging: HmmtlTagger on Spark vs predict in this process
        X, y = training_tags(data, args.quick)
        tagger = AveragedPerceptron(n_epochs=3, random_state=0).fit(X, y)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "pos.hmmtl")
            tagger.save(path)
            tagger.predict(sentences[:100])
            t = time.perf_counter()
            expected = [[str(t) for t in row] for row in tagger.predict(sentences)]
            t_local = time.perf_counter() - t
            df = spark.createDataFrame([(i, s) for i, s in enumerate(sentences)],
                                       ["id", "tokens"]).repartition(args.partitions).cache()
            df.count()
            stage = HmmtlTagger(modelPath=path, outputCol="tags")
            stage.transform(df.limit(10)).collect()   # workers load the model once
            t = time.perf_counter()
            out = stage.transform(df).select("id", "tags").collect()
            t_spark = time.perf_counter() - t
            got = {r.id: list(r.tags) for r in out}
            tag_equal = [got[i] for i in range(len(sentences))] == expected
        tagging = {"tokens": n_tokens, "local_s": t_local, "spark_s": t_spark,
                   "local_tokens_per_s": n_tokens / t_local,
                   "spark_tokens_per_s": n_tokens / t_spark, "equal": tag_equal}
        print(f"tagging: local {t_local:.2f} s, Spark stage {t_spark:.2f} s, equal {tag_equal}",
              flush=True)
    finally:
        spark.stop()
    estimate = scaling_estimate(costs, args.machines, args.cores, args.gbps, args.big_tokens,
                                args.big_vocab)
    return {"source": source, "n_sentences": len(sentences), "n_tokens": n_tokens,
            "rows": rows, "partition_costs": costs, "tagging": tagging,
            "estimate": {"cores_per_machine": args.cores, "network_gbps": args.gbps,
                         "tokens": args.big_tokens, "vocabulary": args.big_vocab,
                         "rows": estimate}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small synthetic corpus, seconds")
    ap.add_argument("--states", type=lambda s: [int(k) for k in s.split(",")],
                    default=[64, 128])
    ap.add_argument("--iter", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--partition-tokens", type=int, default=100_000)
    ap.add_argument("--data", default=None, help="corpora folder (default: $HMMTL_DATA)")
    est = ap.add_argument_group("scaling estimate")
    est.add_argument("--machines", type=lambda s: [int(m) for m in s.split(",")],
                     default=[10, 100, 1000])
    est.add_argument("--cores", type=int, default=16, help="cores per machine")
    est.add_argument("--gbps", type=float, default=10.0, help="network link, Gbit/s")
    est.add_argument("--big-tokens", type=float, default=1e9)
    est.add_argument("--big-vocab", type=int, default=100_000)
    args = ap.parse_args(argv)
    if args.quick:
        args.states, args.iter, args.tokens = [8, 16], 2, 20_000
        args.partition_tokens = 5_000
    res = run(args)
    print()
    print("| K | executor | s / EM iteration | vs local | equal to local |")
    print("|---|---|---|---|---|")
    base = {r["K"]: r["iter_s"] for r in res["rows"] if r["executor"].startswith("local")}
    for r in res["rows"]:
        print(f"| {r['K']} | {r['executor']} | {r['iter_s']:.3f} | "
              f"{r['iter_s'] / base[r['K']]:.2f}x | {r['equal']} |")
    t = res["tagging"]
    print(f"| tagging | local predict | {t['local_tokens_per_s']:,.0f} tokens/s | | |")
    print(f"| tagging | Spark HmmtlTagger local[2] | {t['spark_tokens_per_s']:,.0f} tokens/s | "
          f"{t['local_tokens_per_s'] / t['spark_tokens_per_s']:.2f}x | {t['equal']} |")
    e = res["estimate"]
    print()
    print(f"Estimate: one EM iteration on {e['tokens']:.0e} tokens, V = {e['vocabulary']:,}, "
          f"{e['cores_per_machine']} cores per machine, {e['network_gbps']:g} Gbit/s links, "
          f"dense statistics, tree fan-in 8:")
    print("| K | machines | partitions | stats MB | tree depth | E-step s | broadcast s | "
          "reduce s | M-step s | iteration s | E-step share |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in e["rows"]:
        print(f"| {r['K']} | {r['machines']} | {r['partitions']} | {r['stats_MB']:.0f} | "
              f"{r['depth']} | {r['e_step_s']:.2f} | {r['broadcast_s']:.2f} | "
              f"{r['reduce_s']:.2f} | {r['m_step_s']:.2f} | {r['iteration_s']:.2f} | "
              f"{100 * r['e_step_share']:.0f} % |")
    print(json.dumps({"benchmark": "distributed", "machine": platform.machine(),
                      "cores": os.cpu_count(), **res}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
