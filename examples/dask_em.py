"""Distributed EM on Dask: the E-step on the workers, the M-step here.

    python examples/dask_em.py [--data DIR] [--quick] [--address tcp://host:8786]

Starts a ``LocalCluster`` of two worker processes (or connects to ``--address``), cuts the
corpus into partitions that stay on the workers, and fits a :class:`hmmtl.CategoricalHMM`
with :func:`hmmtl.distributed.fit_em`: each iteration sends the parameters once, each worker
returns only expected counts, and they are summed in a fixed tree so that the result does
not depend on which worker finished first.  The same model fitted on one machine gives the
same parameters, which the example checks.  Text: the words of the EWT train files with
``--data DIR`` (or ``HMMTL_DATA``), else a synthetic corpus.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np


def load_text(data, quick):
    ewt = Path(data or "") / "ud" / "en_ewt"
    if data and ewt.is_dir():
        from hmmtl.io import read_conllu

        sentences = []
        for path in sorted(ewt.glob("en_ewt-*-train.conllu")):
            sentences += read_conllu(path).sentences[: 200 if quick else None]
        return sentences, f"words of the EWT train files ({ewt})"
    from hmmtl.studies.demo import synthetic_corpus

    syn = synthetic_corpus(n_unlabeled=300 if quick else 5000, random_state=0)
    return syn["text"], "a SYNTHETIC corpus (no --data / HMMTL_DATA)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"), help="corpora folder")
    parser.add_argument("--quick", action="store_true", help="small and fast")
    parser.add_argument("--address", help="scheduler of an existing cluster (default: start a "
                                          "LocalCluster of 2 worker processes)")
    args = parser.parse_args(argv)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        sys.exit("this example needs Dask: pip install 'hmmtl[dask]'")

    from hmmtl import CategoricalHMM
    from hmmtl.distributed import fit_em

    sentences, what = load_text(args.data, args.quick)
    n_states, n_iter = (8, 5) if args.quick else (64, 20)
    print(f"{len(sentences)} sentences, {sum(map(len, sentences))} tokens: {what}")

    def model():
        return CategoricalHMM(n_states=n_states, n_iter=n_iter, tol=0.0, lowercase=True,
                              min_count=2, random_state=0)

    t0 = time.perf_counter()
    if args.address:
        client, cluster = Client(args.address), None
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    print(f"cluster: {client}  ({time.perf_counter() - t0:.1f} s to start)")
    try:
        t0 = time.perf_counter()
        hmm = fit_em(model(), sentences, client, n_partitions=4)
        t_dask = time.perf_counter() - t0
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    t0 = time.perf_counter()
    local = model().fit(sentences)
    t_local = time.perf_counter() - t0
    ll = hmm.monitor_.log_likelihoods if hasattr(hmm.monitor_, "log_likelihoods") else \
        hmm.monitor_.history
    print(f"Dask EM: {len(ll)} iterations in {t_dask:.1f} s; one machine: {t_local:.1f} s")
    print("log-likelihood per iteration: " + ", ".join(f"{x:.1f}" for x in ll))
    diff = max(float(np.max(np.abs(getattr(hmm, a) - getattr(local, a))))
               for a in ("start_prob_", "transition_prob_", "emission_prob_"))
    print(f"largest difference from the single-machine parameters: {diff:.1e}")
    if diff > 1e-8:
        sys.exit("distributed and single-machine EM disagree")


if __name__ == "__main__":
    main()
