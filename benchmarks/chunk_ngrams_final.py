"""The CoNLL-2000 chunker, the chunk defaults before n-grams against the new ones in one
process: dev (the last 894 sentences of train held out), then the new defaults' test figure
(trained on all of train).  ``python benchmarks/chunk_ngrams_final.py`` (with the POS
column) or ``... words`` (from the words only).  Needs HMMTL_DATA."""
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from hmmtl.io import load_nltk
from hmmtl import LinearChainCRF
from hmmtl.metrics import entity_f1

words_only = "words" in sys.argv
root = Path(os.environ["HMMTL_DATA"])
tr = load_nltk("conll2000", data_dir=root / "nltk_data", split="train")
te = load_nltk("conll2000", data_dir=root / "nltk_data", split="test")
W, P, C = tr.sentences, tr.column("pos"), tr.column("chunk")
cut = len(W) - 894
OLD = {"extra_ngrams": {}, "ngrams": ()}


def run(name, params, Xtr, Ptr, Ctr, Xev, Pev, Cev, split):
    ex = (lambda p: None) if words_only else (lambda p: {"pos": p})
    t0 = time.time()
    crf = LinearChainCRF(task="chunk", random_state=0, **params).fit(Xtr, Ctr, extra=ex(Ptr))
    train_s = time.time() - t0
    crf.predict(Xev[:50], extra=ex(Pev[:50]))
    best = 1e9
    for _ in range(3):
        t0 = time.time()
        pred = crf.predict(Xev, extra=ex(Pev))
        best = min(best, time.time() - t0)
    with tempfile.TemporaryDirectory() as d:
        crf.save(d + "/m.hmmtl")
        size = os.path.getsize(d + "/m.hmmtl")
    out = {"name": name, "split": split, "pos_column": not words_only,
           "f1": round(100 * entity_f1(Cev, pred), 2), "train_s": round(train_s, 1),
           "tok_per_s": int(sum(map(len, Xev)) / best), "size_mb": round(size / 1e6, 2),
           "n_attributes": crf.feature_space_.n_attributes_, "n_iter": crf.n_iter_,
           "load": round(os.getloadavg()[0], 1)}
    print(json.dumps(out), flush=True)


run("old defaults", OLD, W[:cut], P[:cut], C[:cut], W[cut:], P[cut:], C[cut:], "dev")
run("new defaults", {}, W[:cut], P[:cut], C[:cut], W[cut:], P[cut:], C[cut:], "dev")
run("new defaults", {}, W, P, C, te.sentences, te.column("pos"), te.column("chunk"), "test")
