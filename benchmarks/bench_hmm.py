"""Benchmark: unsupervised EM of hmmtl.CategoricalHMM against hmmlearn's CategoricalHMM.

Data: the words of all EWT train files plus CoNLL-2000 train, lowercased, words seen at least
twice (others by their unknown-word signature): about 416k tokens.  Both libraries start from
identical parameters and run without priors (hmmlearn's Dirichlet prior 1.0 = our pseudocount
0); hmmlearn uses ``implementation="scaling"``, its fastest.

Rows:

* **EM iteration** (K = 128 by default, float64, exact): ours is the median time of one
  iteration inside a multi-iteration ``fit`` called as a user calls it, on the token lists
  (``monitor_.seconds``); the one-off set-up of that call (vocabulary, encoding,
  initialization) is reported apart.  hmmlearn's is its ``fit`` time divided by its
  iterations, on the ids.  hmmlearn runs on the whole data when that fits in
  ``--hmmlearn-budget`` seconds, else on a prefix, its time extrapolated linearly in tokens
  (its cost is linear in tokens); the table says which.
* **Whole fit** (K = 64 on the first ~125k tokens, 10 iterations, hmmlearn's default): the
  whole ``fit`` call of each on the same ids; ours also on the token lists (vocabulary and
  encoding included), beside.
* **k-best** and **float32**: separate rows (per iteration), not counted in the targets.
* **Viterbi**: ``predict`` against hmmlearn's ``decode``.

Each row also times ours with Numba held to one thread (hmmlearn's one): on a shared
machine that ratio is the less disturbed one; the targets count the default (all threads).
The E-step kernel alone is also timed in CPU seconds on one thread (its wall time on an idle
core, whatever else runs), with the GFLOP/s it reaches counting 6 K^2 flops a token.

The log-likelihoods of both after the same iterations on the same tokens are printed beside
(they agree to about 1e-14 relative).

Usage::

    HMMTL_DATA=../shared/data python benchmarks/bench_hmm.py [--quick] [--iters 3]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hmmtl import CategoricalHMM, RaggedBatch, Vocabulary
from hmmtl.hmm import HMMFamily

EWT_DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")
VOCAB = dict(min_count=2, lowercase=True)
NO_PRIOR = dict(start_prior=0.0, transition_prior=0.0, emission_prior=0.0)


def load_corpus(data: Path) -> list[list[str]]:
    """EWT train (all domains) + CoNLL-2000 train, hmmtl's own readers."""
    import zipfile

    from hmmtl.io import read_conll, read_conllu

    sents = []
    for d in EWT_DOMAINS:
        sents += read_conllu(data / "ud" / "en_ewt" / f"en_ewt-{d}-train.conllu").sentences
    with zipfile.ZipFile(data / "nltk_data" / "corpora" / "conll2000.zip") as z:
        name = next(n for n in z.namelist() if n.endswith("train.txt"))
        text = z.read(name).decode("utf-8")
    sents += read_conll(text.splitlines(), columns=("word", "pos", "chunk")).sentences
    return sents


def start_params(K: int, batch: RaggedBatch, V: int, seed: int = 0) -> dict:
    """Random first parameters as hmmtl draws them (unigram-informed emissions)."""
    family = HMMFamily(K, V)
    p = family.init_params(family.summarize(batch), seed)
    return dict(start_prob=p.start, transition_prob=p.transition, emission_prob=p.emission)


def prefix(sents, n_tokens: int):
    out, n = [], 0
    for s in sents:
        if n >= n_tokens:
            break
        out.append(s)
        n += len(s)
    return out


def ours_fit(sents, K, init, n_iter, **kw):
    m = CategoricalHMM(K, n_iter=n_iter, tol=-np.inf, init=init, **VOCAB, **NO_PRIOR, **kw)
    t = time.perf_counter()
    m.fit(sents)
    return m, time.perf_counter() - t


def hmmlearn_fit(batch, K, V, init, n_iter):
    from hmmlearn.hmm import CategoricalHMM as HL

    m = HL(n_components=K, n_features=V, n_iter=n_iter, tol=-np.inf, init_params="",
           params="ste", implementation="scaling")
    m.startprob_ = init["start_prob"].copy()
    m.transmat_ = init["transition_prob"].copy()
    m.emissionprob_ = init["emission_prob"].copy()
    X = batch.ids[:, None].astype(np.int64)
    t = time.perf_counter()
    m.fit(X, batch.lengths)
    return m, time.perf_counter() - t


def one_thread(fn):
    """``fn()`` with Numba held to one thread (hmmlearn runs on one): a ratio that a shared
    machine disturbs less; the default (all threads) is the one the targets count."""
    import numba

    n = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return fn()
    finally:
        numba.set_num_threads(n)


def e_step_cpu_seconds(batch, init, kw) -> float:
    """CPU seconds of one E-step (the kernel on the whole batch): on one thread, its wall
    time on an idle core, whatever else the machine runs."""
    from hmmtl.inference.expected_counts import hmm_expected_counts

    dt = np.float32 if kw.get("dtype") == "float32" else np.float64
    args = (batch.ids, batch.offsets, init["emission_prob"].astype(dt),
            init["transition_prob"].astype(dt), init["start_prob"].astype(dt))
    hmm_expected_counts(*args, kbest=kw.get("kbest"))
    t = time.process_time()
    hmm_expected_counts(*args, kbest=kw.get("kbest"))
    return time.process_time() - t


def ll_per_token(model, batch):
    return model.score(batch) / batch.n_tokens


def hmmlearn_ll(model, batch):
    return model.score(batch.ids[:, None].astype(np.int64), batch.lengths) / batch.n_tokens


def em_iteration_row(sents, vocab, K, n_iter, budget, **kw):
    """Ours per iteration inside a fit on token lists vs hmmlearn per iteration."""
    batch = vocab.encode(sents)
    V = len(vocab)
    init = start_params(K, batch, V)
    ours, total = ours_fit(sents, K, init, n_iter, **kw)
    per_iter = float(np.median(ours.monitor_.seconds))
    setup = total - float(np.sum(ours.monitor_.seconds))
    one = one_thread(lambda: ours_fit(sents, K, init, n_iter, **kw)[0])
    per_iter_1 = float(np.median(one.monitor_.seconds))
    cpu = one_thread(lambda: e_step_cpu_seconds(batch, init, kw))
    # hmmlearn: probe one iteration on 20k tokens, then the whole data or a prefix
    probe = batch[: int(np.searchsorted(batch.offsets, 20_000))]
    _, t_probe = hmmlearn_fit(probe, K, V, init, 1)
    rate = t_probe / probe.n_tokens
    n_hl = int(min(batch.n_tokens, budget / max(rate, 1e-12) / n_iter))
    sub = batch if n_hl >= batch.n_tokens else batch[: int(np.searchsorted(batch.offsets,
                                                                            max(n_hl, 5000)))]
    hl, t_hl = hmmlearn_fit(sub, K, V, init, n_iter)
    hl_per_iter = t_hl / n_iter * batch.n_tokens / sub.n_tokens
    # the same iterations on exactly hmmlearn's tokens (ids, the same vocabulary)
    same = ours if sub is batch else ours_fit(sub, K, init, n_iter, n_features=V, **kw)[0]
    ll_a, ll_b = ll_per_token(same, sub), hmmlearn_ll(hl, sub)
    return dict(K=K, tokens=batch.n_tokens, n_iter=n_iter, **kw, ours_s_per_iter=per_iter,
                ours_setup_s=setup, ours_fit_s=total, ours_1_thread_s_per_iter=per_iter_1,
                e_step_cpu_s=cpu, e_step_gflops=6 * K * K * batch.n_tokens / cpu / 1e9,
                ratio_1_thread=hl_per_iter / per_iter_1, hmmlearn_s_per_iter=hl_per_iter,
                hmmlearn_tokens=sub.n_tokens, hmmlearn_extrapolated=sub is not batch,
                ratio=hl_per_iter / per_iter, ll_per_token_ours=ll_a,
                ll_per_token_hmmlearn=ll_b, ll_rel_diff=abs(ll_a - ll_b) / abs(ll_b)), ours


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("HMMTL_DATA"))
    ap.add_argument("--quick", action="store_true", help="a small slice, seconds")
    ap.add_argument("--states", type=int, default=128, help="K of the EM-iteration row")
    ap.add_argument("--fit-states", type=int, default=64, help="K of the whole-fit row")
    ap.add_argument("--fit-tokens", type=int, default=125_000,
                    help="tokens of the whole-fit row")
    ap.add_argument("--iters", type=int, default=None,
                    help="EM iterations of the per-iteration rows (default 3)")
    ap.add_argument("--fit-iters", type=int, default=10,
                    help="EM iterations of the whole-fit row (default 10, hmmlearn's default)")
    ap.add_argument("--hmmlearn-budget", type=float, default=None,
                    help="seconds of hmmlearn work allowed per row (sets its data prefix)")
    args = ap.parse_args(argv)
    if not args.data:
        sys.exit("set HMMTL_DATA or pass --data DIR (the corpora directory)")
    sents = load_corpus(Path(args.data))
    if args.quick:
        sents = sents[:1500]
        args.states, args.fit_states, args.fit_tokens, args.fit_iters = 32, 16, 10_000, 2
    n_iter = args.iters or (2 if args.quick else 3)
    budget = args.hmmlearn_budget or (5.0 if args.quick else 120.0)
    vocab = Vocabulary(**VOCAB).fit(sents)
    print(f"corpus: {len(sents)} sentences, {sum(map(len, sents))} tokens, V = {len(vocab)}; "
          f"{os.cpu_count()} cores, numba threads {os.environ.get('NUMBA_NUM_THREADS', 'all')}")
    # compile (or load cached) kernels outside the timings
    warm = sents[:50]
    for kw in ({}, {"kbest": 2}, {"dtype": "float32"}):
        CategoricalHMM(4, n_iter=1, random_state=0, **kw).fit(warm).predict(warm)
    from hmmlearn.hmm import CategoricalHMM as HL  # noqa: F401  (import outside the timings)

    results = {"em": [], "fit": [], "viterbi": [], "variants": []}
    K = args.states
    row, model = em_iteration_row(sents, vocab, K, n_iter, budget)
    results["em"].append(row)
    print(f"E-step kernel K={K}, one thread: {row['e_step_cpu_s']:.3f} CPU s "
          f"({row['e_step_gflops']:.1f} GFLOP/s counting 6 K^2 flops a token)", flush=True)
    extrapolated = (f" (extrapolated from {row['hmmlearn_tokens']:d} tokens)"
                    if row["hmmlearn_extrapolated"] else "")
    print(f"EM K={K}: ours {row['ours_s_per_iter']:.3f} s/iter (set-up {row['ours_setup_s']:.3f} s)"
          f"  hmmlearn {row['hmmlearn_s_per_iter']:.2f} s/iter{extrapolated}"
          f"  x{row['ratio']:.1f}  ll/token {row['ll_per_token_ours']:.9f} / "
          f"{row['ll_per_token_hmmlearn']:.9f}", flush=True)

    # the whole fit call at K = 64 on ~125k tokens: on the ids hmmlearn gets, and (beside)
    # on the token lists, the vocabulary included
    small = prefix(sents, args.fit_tokens)
    svocab = Vocabulary(**VOCAB).fit(small)
    sbatch = svocab.encode(small)
    sinit = start_params(args.fit_states, sbatch, len(svocab))
    fit_iters = args.fit_iters
    hl, t_hl = hmmlearn_fit(sbatch, args.fit_states, len(svocab), sinit, fit_iters)
    for what, data, kw in (("ids", sbatch, {"n_features": len(svocab)}),
                           ("token lists", small, {})):
        ours, t_ours = ours_fit(data, args.fit_states, sinit, fit_iters, **kw)
        t_one = one_thread(lambda: ours_fit(data, args.fit_states, sinit, fit_iters, **kw)[1])
        ll_a, ll_b = ll_per_token(ours, sbatch), hmmlearn_ll(hl, sbatch)
        fit_row = dict(K=args.fit_states, tokens=sbatch.n_tokens, n_iter=fit_iters, input=what,
                       ours_fit_s=t_ours, hmmlearn_fit_s=t_hl, ratio=t_hl / t_ours,
                       ours_1_thread_fit_s=t_one, ratio_1_thread=t_hl / t_one,
                       ll_per_token_ours=ll_a, ll_per_token_hmmlearn=ll_b,
                       ll_rel_diff=abs(ll_a - ll_b) / abs(ll_b))
        results["fit"].append(fit_row)
        print(f"whole fit K={args.fit_states} on {sbatch.n_tokens} tokens ({what}), {fit_iters} "
              f"iterations: ours {t_ours:.3f} s  hmmlearn {t_hl:.2f} s  x{t_hl / t_ours:.1f}  "
              f"ll/token {ll_a:.9f} / {ll_b:.9f}", flush=True)

    # k-best and float32 rows (not counted toward the targets)
    for kw in ({"kbest": 16}, {"kbest": 32}, {"dtype": "float32"}):
        if kw.get("kbest", 0) >= K:
            continue
        vrow, _ = em_iteration_row(sents, vocab, K, n_iter, budget / 4, **kw)
        results["variants"].append(vrow)
        print(f"EM K={K} {kw}: ours {vrow['ours_s_per_iter']:.3f} s/iter  hmmlearn (exact, "
              f"float64) {vrow['hmmlearn_s_per_iter']:.2f} s/iter  x{vrow['ratio']:.1f}  "
              f"ll/token {vrow['ll_per_token_ours']:.6f} (exact float64 EM: "
              f"{vrow['ll_per_token_hmmlearn']:.6f})", flush=True)

    # Viterbi: ours on the whole batch vs hmmlearn decode on a prefix
    from hmmlearn.hmm import CategoricalHMM as HLM

    batch = vocab.encode(sents)
    t = time.perf_counter()
    path = model.predict(batch)
    t_vit = time.perf_counter() - t
    vsub = batch[: int(np.searchsorted(batch.offsets, 50_000))]
    hl = HLM(n_components=K, n_features=len(vocab), implementation="scaling", init_params="")
    hl.startprob_, hl.transmat_ = model.start_prob_.copy(), model.transition_prob_.copy()
    hl.emissionprob_ = model.emission_prob_.copy()
    t = time.perf_counter()
    _, hl_path = hl.decode(vsub.ids[:, None].astype(np.int64), vsub.lengths, algorithm="viterbi")
    t_hl_vit = (time.perf_counter() - t) * batch.n_tokens / vsub.n_tokens
    agree = float(np.mean(hl_path == path[: vsub.n_tokens]))
    results["viterbi"].append(dict(K=K, ours_s=t_vit, hmmlearn_s=t_hl_vit, ratio=t_hl_vit / t_vit,
                                   hmmlearn_extrapolated=True, path_agreement=agree))
    print(f"Viterbi K={K}: ours {t_vit:.3f} s  hmmlearn decode {t_hl_vit:.2f} s "
          f"(extrapolated)  x{t_hl_vit / t_vit:.1f}  path agreement {agree:.4f}", flush=True)

    print()
    print("| row | K | tokens | hmmtl | hmmlearn | ratio | hmmtl 1 thread | ratio 1 thread | "
          "ll/token hmmtl | ll/token hmmlearn |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in results["em"] + results["variants"]:
        what = "EM s/iter" + "".join(f", {k}={v}" for k, v in e.items()
                                     if k in ("kbest", "dtype"))
        mark = "*" if e["hmmlearn_extrapolated"] else ""
        print(f"| {what} | {e['K']} | {e['tokens']} | {e['ours_s_per_iter']:.3f} "
              f"(set-up {e['ours_setup_s']:.3f}) | {e['hmmlearn_s_per_iter']:.2f}{mark} | "
              f"{e['ratio']:.1f}x | {e['ours_1_thread_s_per_iter']:.3f} | "
              f"{e['ratio_1_thread']:.1f}x | {e['ll_per_token_ours']:.9f} | "
              f"{e['ll_per_token_hmmlearn']:.9f} |")
    for e in results["fit"]:
        print(f"| whole fit s, {e['n_iter']} iterations, {e['input']} | {e['K']} | {e['tokens']} | "
              f"{e['ours_fit_s']:.3f} | {e['hmmlearn_fit_s']:.2f} | {e['ratio']:.1f}x | "
              f"{e['ours_1_thread_fit_s']:.3f} | {e['ratio_1_thread']:.1f}x | "
              f"{e['ll_per_token_ours']:.9f} | {e['ll_per_token_hmmlearn']:.9f} |")
    for e in results["viterbi"]:
        print(f"| Viterbi s | {e['K']} | {batch.n_tokens} | {e['ours_s']:.3f} | "
              f"{e['hmmlearn_s']:.2f}* | {e['ratio']:.1f}x | | | path agreement "
              f"{e['path_agreement']:.4f} | |")
    print(json.dumps({"benchmark": "hmm", "quick": args.quick, "machine": platform.machine(),
                      "cores": os.cpu_count(), **results}))


if __name__ == "__main__":
    main()
