"""Seconds of ``Tagger(hmm="auto").fit`` and ``predict`` on a small adaptation task, and a
fingerprint of what they produce (the tags and the saved model's bytes), to compare two
versions of the code on the same machine.

Training: the first ``--n`` sentences of CoNLL-2000 train (PTB tags); unlabeled text: the
first ``--n`` sentences of EWT email train; tagged: EWT email dev.  Run it once per version
(``PYTHONPATH=<checkout>``), alternating, and compare the printed lines (``fit_cpu_s``,
the process's CPU seconds, is steadier than wall seconds on a shared machine; one Numba
thread makes it comparable)::

    HMMTL_DATA=../shared/data NUMBA_NUM_THREADS=1 PYTHONPATH=. \
        python benchmarks/bench_tagger_fit.py --repeat 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
import zipfile

import numpy as np

import hmmtl
from hmmtl._base import token_accuracy
from hmmtl import Tagger
from hmmtl.io.conllu import read_conllu
from hmmtl.io.nltk_corpora import load_nltk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("HMMTL_DATA"),
                        help="the shared data folder (default: HMMTL_DATA)")
    parser.add_argument("--n", type=int, default=400, help="training / unlabeled sentences")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data or set HMMTL_DATA")
    train = load_nltk("conll2000", data_dir=args.data, split="train")
    words, tags = train.sentences[:args.n], train.column("pos")[:args.n]
    ewt = os.path.join(args.data, "ud", "en_ewt")
    unlabeled = read_conllu(os.path.join(ewt, "en_ewt-email-train.conllu")).sentences[:args.n]
    dev = read_conllu(os.path.join(ewt, "en_ewt-email-dev.conllu"))
    for _ in range(args.repeat):
        start, cpu = time.perf_counter(), time.process_time()
        tagger = Tagger(hmm="auto", random_state=0).fit(words, tags, unlabeled=unlabeled)
        fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        pred = tagger.predict(dev.sentences)
        predict_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            path = tagger.save(os.path.join(tmp, "model.hmmtl"))
            with zipfile.ZipFile(path) as z, z.open("arrays.npz") as f:
                arrays = np.load(f)
                digest = hashlib.sha256()
                for key in sorted(arrays.files):
                    digest.update(key.encode() + arrays[key].tobytes())
        print(json.dumps({"code": os.path.dirname(os.path.dirname(hmmtl.__file__)),
                          "fit_s": round(fit_s, 2), "fit_cpu_s": round(fit_cpu_s, 2),
                          "predict_s": round(predict_s, 3),
                          "dev_accuracy": round(token_accuracy(dev.column("xpos"), pred), 4),
                          "tags_sha256": hashlib.sha256(json.dumps(pred).encode()).hexdigest()[:16],
                          "arrays_sha256": digest.hexdigest()[:16]}), flush=True)


if __name__ == "__main__":
    main()
