"""One run of the CoNLL-2000 chunker on dev (the last 894 sentences of train held out, as
``RECIPES["en-chunk"]``), or with ``--test`` trained on all of train and scored on test:
``python benchmarks/chunk_ngrams_dev.py NAME 'JSON of LinearChainCRF parameters' [--test]``
(``"pos": false`` in the JSON: from the words only).  Needs HMMTL_DATA.  Prints one JSON
line: F1, training seconds, tagging tokens/s, model size, attributes, the load."""
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from hmmtl.io import load_nltk
from hmmtl import LinearChainCRF
from hmmtl.metrics import entity_f1

name, cfg = sys.argv[1], json.loads(sys.argv[2])
test = "--test" in sys.argv
root = Path(os.environ["HMMTL_DATA"])
train = load_nltk("conll2000", data_dir=root / "nltk_data", split="train")
W, P, C = train.sentences, train.column("pos"), train.column("chunk")
if test:
    t = load_nltk("conll2000", data_dir=root / "nltk_data", split="test")
    Xtr, Ptr, Ctr = W, P, C
    Xev, Pev, Cev = t.sentences, t.column("pos"), t.column("chunk")
else:
    cut = len(W) - 894
    Xtr, Ptr, Ctr = W[:cut], P[:cut], C[:cut]
    Xev, Pev, Cev = W[cut:], P[cut:], C[cut:]
use_pos = cfg.pop("pos", True)
t0 = time.time()
crf = LinearChainCRF(task="chunk", random_state=0, **cfg)
crf.fit(Xtr, Ctr, extra={"pos": Ptr} if use_pos else None)
tt = time.time() - t0
crf.predict(Xev[:50], extra={"pos": Pev[:50]} if use_pos else None)
t0 = time.time()
pred = crf.predict(Xev, extra={"pos": Pev} if use_pos else None)
tp = time.time() - t0
ntok = sum(map(len, Xev))
f1 = entity_f1(Cev, pred)
with tempfile.TemporaryDirectory() as d:
    crf.save(d + "/m.hmmtl")
    size = os.path.getsize(d + "/m.hmmtl")
out = {"name": name, "split": "test" if test else "dev", "f1": round(100 * f1, 2),
       "train_s": round(tt, 1), "tok_per_s": int(ntok / tp), "iters": crf.n_iter_,
       "n_attr": crf.feature_space_.n_attributes_, "n_pairs": int(crf.coef_.shape[0]),
       "size_mb": round(size / 1e6, 2), "load": os.getloadavg()[0], "cfg": sys.argv[2]}
print(json.dumps(out), flush=True)
