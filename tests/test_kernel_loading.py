"""The kernels of prediction load from Numba's on-disk cache without refreshing Numba's
registries (``_kernels._load_without_refresh``): a fresh process tags with the cached code,
gives the tags of this process, and never imports the implementations only compiling needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from hmmtl.crf import LinearChainCRF
from hmmtl.crf import _kernels

from crf_helpers import random_corpus

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
import hmmtl
model = hmmtl.load(sys.argv[1])
tags = model.predict(json.loads(sys.argv[2]))
print(json.dumps({"tags": tags, "numpy_lowering": "numba.np.arraymath" in sys.modules}))
"""


def test_a_fresh_process_tags_with_the_cached_kernels_without_the_refresh(tmp_path):
    rng = np.random.default_rng(11)
    X, y = random_corpus(rng, n_sent=40, max_len=8)
    model = LinearChainCRF(window=1, max_iterations=20).fit(X, y)
    path = tmp_path / "crf.hmmtl"
    model.save(path)
    # a batch large enough for the parallel kernels; this process compiles and caches them
    # when the cache is cold
    X_new = random_corpus(np.random.default_rng(12), n_sent=400, max_len=9)[0]
    expected = model.predict(X_new)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", PROBE, str(path), json.dumps(X_new)],
                         capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["tags"] == expected
    assert got["numpy_lowering"] is False


def test_a_dispatcher_without_a_cache_keeps_its_own_loading():
    class NoCache:
        pass

    class Dispatcher:
        _cache = NoCache()

    d = Dispatcher()
    _kernels._load_without_refresh(d)
    assert not hasattr(d._cache, "load_overload")
    # the prediction kernels have the light loading
    for kernel in _kernels._prediction_kernels():
        assert kernel._cache.load_overload.__name__ == "load_overload"
        assert "load_overload" in vars(kernel._cache)
