"""Benchmark: unsupervised EM of hmmtl.CategoricalHMM against hmmlearn's CategoricalHMM.

Data: the words of all EWT train files plus CoNLL-2000 train, lowercased, words seen at least
twice (others by their unknown-word signature).  Both libraries start from identical
parameters, run without priors (hmmlearn's Dirichlet prior 1.0 = our pseudocount 0), and are
timed per EM iteration.  hmmlearn (``implementation="scaling"``, its fastest) runs on the full
data only where that finishes in reasonable time; otherwise on a prefix of the sentences, and
its time is extrapolated linearly in the number of tokens (its cost is linear in tokens): the
table says which.

Usage::

    HMMTL_DATA=../shared/data python benchmarks/bench_hmm.py [--quick] [--states 32,128,512]

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from hmmtl import CategoricalHMM, Vocabulary

EWT_DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")


def read_conllu_words(path):
    from hmmtl.io import read_conllu

    return read_conllu(path).sentences


def load_corpus(data: Path):
    sents = []
    for d in EWT_DOMAINS:
        sents += read_conllu_words(data / "ud" / "en_ewt" / f"en_ewt-{d}-train.conllu")
    import nltk

    nltk.data.path.insert(0, str(data / "nltk_data"))
    from nltk.corpus import conll2000

    sents += [list(s) for s in conll2000.sents("train.txt")]
    return sents


def init_params(K, V, counts, seed):
    m = CategoricalHMM(K)
    m.n_states_, m.n_features_ = K, V
    m._init_params(V, seed, counts)
    return dict(start_prob=m.start_prob_, transition_prob=m.transition_prob_,
                emission_prob=m.emission_prob_)


def ours_fit(batch, K, init, n_iter, **kw):
    m = CategoricalHMM(K, n_iter=n_iter, tol=-np.inf, init=init, start_prior=0,
                       n_features=init["emission_prob"].shape[1],
                       transition_prior=0, emission_prior=0, **kw)
    t = time.perf_counter()
    m.fit(batch)
    return m, time.perf_counter() - t


def hmmlearn_fit(batch, K, V, init, n_iter):
    from hmmlearn.hmm import CategoricalHMM as HL

    m = HL(n_components=K, n_features=V, n_iter=n_iter, tol=-np.inf, init_params="",
           params="ste", implementation="scaling")
    m.startprob_ = init["start_prob"].copy()
    m.transmat_ = init["transition_prob"].copy()
    m.emissionprob_ = init["emission_prob"].copy()
    t = time.perf_counter()
    m.fit(batch.ids[:, None].astype(np.int64), batch.lengths)
    return m, time.perf_counter() - t


def prefix(batch, n_tokens):
    n_seq = int(np.searchsorted(batch.offsets, n_tokens, side="right"))
    return batch[: max(1, min(n_seq, batch.n_sequences))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("HMMTL_DATA"))
    ap.add_argument("--quick", action="store_true", help="a small slice, seconds")
    ap.add_argument("--states", default=None, help="comma-separated K values")
    ap.add_argument("--iters", type=int, default=None, help="EM iterations timed per K")
    ap.add_argument("--hmmlearn-budget", type=float, default=None,
                    help="seconds of hmmlearn work allowed per K (sets its data prefix)")
    args = ap.parse_args(argv)
    if not args.data:
        sys.exit("set HMMTL_DATA or pass --data DIR (the corpora directory)")
    data = Path(args.data)
    sents = load_corpus(data)
    if args.quick:
        sents = sents[:1500]
    states = [int(k) for k in (args.states or ("16,32" if args.quick else "32,128,512")).split(",")]
    n_iter = args.iters or (2 if args.quick else 3)
    budget = args.hmmlearn_budget or (5.0 if args.quick else 60.0)

    vocab = Vocabulary(min_count=2, lowercase=True).fit(sents)
    batch = vocab.encode(sents)
    V = len(vocab)
    counts = np.bincount(batch.ids, minlength=V)
    print(f"corpus: {batch.n_sequences} sentences, {batch.n_tokens} tokens, V = {V}")

    # compile (or load cached) kernels outside the timings
    warm = batch[:50]
    ours_fit(warm, 4, init_params(4, V, counts, 0), 1)
    ours_fit(warm, 4, init_params(4, V, counts, 0), 1, kbest=2)
    CategoricalHMM(4, n_iter=1, random_state=0).fit(warm).predict(warm)

    rows, results = [], {"corpus_tokens": batch.n_tokens, "vocabulary": V, "em": [],
                         "viterbi": [], "online": [], "kbest": []}
    for K in states:
        init = init_params(K, V, counts, 0)
        ours, t_ours = ours_fit(batch, K, init, n_iter)
        per_iter = t_ours / n_iter
        ll_ours = ours.score(batch) / batch.n_tokens
        # hmmlearn on the whole data or a prefix, sized by a probe of one iteration
        probe = prefix(batch, 20_000)
        _, t_probe = hmmlearn_fit(probe, K, V, init, 1)
        rate = t_probe / probe.n_tokens  # hmmlearn seconds per token per iteration
        sub_tokens = int(min(batch.n_tokens, budget / max(rate, 1e-12) / n_iter))
        sub = batch if sub_tokens >= batch.n_tokens else prefix(batch, max(sub_tokens, 2000))
        hl, t_hl = hmmlearn_fit(sub, K, V, init, n_iter)
        hl_per_iter = t_hl / n_iter * batch.n_tokens / sub.n_tokens
        # same log-likelihood: our model run on exactly hmmlearn's data
        same = ours if sub is batch else ours_fit(sub, K, init, n_iter)[0]
        ll_a = same.score(sub) / sub.n_tokens
        ll_b = hl.score(sub.ids[:, None].astype(np.int64), sub.lengths) / sub.n_tokens
        full = sub is batch
        entry = dict(K=K, ours_s_per_iter=per_iter, hmmlearn_s_per_iter=hl_per_iter,
                     hmmlearn_measured_on_tokens=sub.n_tokens, hmmlearn_extrapolated=not full,
                     speedup=hl_per_iter / per_iter, ll_per_token_ours=ll_ours,
                     ll_per_token_compare_ours=ll_a, ll_per_token_compare_hmmlearn=ll_b,
                     ll_rel_diff=abs(ll_a - ll_b) / abs(ll_b))
        results["em"].append(entry)
        rows.append(entry)
        print(f"K={K:4d} EM: ours {per_iter:8.2f} s/iter   hmmlearn {hl_per_iter:9.2f} s/iter"
              f"{'' if full else ' (extrapolated from %d tokens)' % sub.n_tokens}   "
              f"x{hl_per_iter / per_iter:6.1f}   ll/token after {n_iter} it: ours {ll_a:.6f} "
              f"hmmlearn {ll_b:.6f}", flush=True)

        # Viterbi: ours on the whole batch vs hmmlearn decode on its prefix
        t = time.perf_counter()
        path = ours.predict(batch)
        t_vit = time.perf_counter() - t
        vsub = prefix(batch, min(sub.n_tokens, 50_000))
        hl.startprob_, hl.transmat_ = ours.start_prob_.copy(), ours.transition_prob_.copy()
        hl.emissionprob_ = ours.emission_prob_.copy()
        t = time.perf_counter()
        lp, hl_path = hl.decode(vsub.ids[:, None].astype(np.int64), vsub.lengths,
                                algorithm="viterbi")
        t_hl_vit = (time.perf_counter() - t) * batch.n_tokens / vsub.n_tokens
        agree = float(np.mean(hl_path == path[: vsub.n_tokens]))
        results["viterbi"].append(dict(K=K, ours_s=t_vit, hmmlearn_s=t_hl_vit,
                                       hmmlearn_extrapolated=vsub.n_tokens < batch.n_tokens,
                                       speedup=t_hl_vit / t_vit, path_agreement=agree))
        print(f"K={K:4d} Viterbi: ours {t_vit:7.2f} s   hmmlearn decode {t_hl_vit:8.2f} s"
              f"{'' if vsub.n_tokens == batch.n_tokens else ' (extrapolated)'}   "
              f"x{t_hl_vit / t_vit:6.1f}   path agreement {agree:.4f}", flush=True)

    # online EM vs batch EM: log-likelihood per token after each pass
    K_on = states[0]
    init = init_params(K_on, V, counts, 0)
    for passes in (1, 2, 3) if not args.quick else (1, 2):
        on, t_on = ours_fit(batch, K_on, init, passes, algorithm="online", batch_size=500,
                            random_state=0)
        bt, t_bt = ours_fit(batch, K_on, init, passes)
        e = dict(K=K_on, passes=passes, online_ll=on.score(batch) / batch.n_tokens,
                 batch_ll=bt.score(batch) / batch.n_tokens, online_s=t_on, batch_s=t_bt)
        results["online"].append(e)
        print(f"K={K_on} after {passes} pass(es): online EM ll/token {e['online_ll']:.4f} "
              f"({t_on:.1f} s)   batch EM {e['batch_ll']:.4f} ({t_bt:.1f} s)", flush=True)

    # k-best trade-off at K = 128 (or the largest K of a quick run)
    K_kb = 128 if 128 in states or not args.quick else max(states)
    init = init_params(K_kb, V, counts, 0)
    for k in (8, 16, 32, None):
        if k is not None and k >= K_kb:
            continue
        m, t = ours_fit(batch, K_kb, init, n_iter, kbest=k)
        e = dict(K=K_kb, kbest=k, s_per_iter=t / n_iter, ll_per_token=m.score(batch) / batch.n_tokens)
        results["kbest"].append(e)
        print(f"K={K_kb} kbest={k}: {t / n_iter:7.2f} s/iter, exact ll/token after {n_iter} it "
              f"{e['ll_per_token']:.4f}", flush=True)

    print()
    print("| K | hmmtl s/iter | hmmlearn s/iter | speed-up | ll/token hmmtl | ll/token hmmlearn |")
    print("|---|---|---|---|---|---|")
    for e in results["em"]:
        mark = "*" if e["hmmlearn_extrapolated"] else ""
        print(f"| {e['K']} | {e['ours_s_per_iter']:.2f} | {e['hmmlearn_s_per_iter']:.1f}{mark} | "
              f"{e['speedup']:.1f}x | {e['ll_per_token_compare_ours']:.6f} | "
              f"{e['ll_per_token_compare_hmmlearn']:.6f} |")
    print(json.dumps({"benchmark": "hmm", "quick": args.quick, "n_iter": n_iter, **results}))


if __name__ == "__main__":
    main()
