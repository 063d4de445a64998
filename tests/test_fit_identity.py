"""Refactorings of the training code must not change what it learns.

Small fits on CoNLL-2003 (``eng.train``, fixed seeds): a LinearChainCRF (L-BFGS, with and
without a dev set), one trained by SGD with the L1 penalty, an AveragedPerceptron (with and
without groups) and a two-stage NamedEntityRecognizer.  Each model's arrays and metadata are
reduced to SHA-256 digests and compared with ``tests/data/fit_identity.json`` (the code it
was first written with gave bit-identical models to the code that split the fits into stages
and bundled the kernels' state), together with the tags each model gives held-out sentences.

The digests are of the exact integer arrays and of the floats to six significant digits:
summation order (Numba threads, BLAS kernels) moves the last bits of a weight, which is not a
change of what the code learns.  They were written on x86-64 Linux with NumPy/SciPy from
PyPI; another BLAS, CPU or library version may round differently, so the test runs where the
reference was written (same platform, CPU model and NumPy / SciPy / Numba versions) unless
``HMMTL_FIT_IDENTITY=1`` asks for it elsewhere.  Rewrite the reference (only for a change
that is meant to change the models) with ``python tests/test_fit_identity.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import pytest

REFERENCE = Path(__file__).parent / "data" / "fit_identity.json"
N_TRAIN, N_DEV, N_TEST = 300, 60, 80


def _corpus(path: Path):
    from hmmtl.io import read_conll

    corpus = read_conll(path)
    X, pos, y = corpus.sentences, corpus.column(1), corpus.column(3)
    docs = corpus.doc_ids
    return X, pos, y, docs


def _slices(path: Path):
    X, pos, y, docs = _corpus(path)
    a, b, c = N_TRAIN, N_TRAIN + N_DEV, N_TRAIN + N_DEV + N_TEST
    return {"train": (X[:a], pos[:a], y[:a], docs[:a]),
            "dev": (X[a:b], pos[a:b], y[a:b], docs[a:b]),
            "test": (X[b:c], pos[b:c], y[b:c], docs[b:c])}


def _groups(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) % 3 - 1  # groups -1, 0, 1


def fit_all(path: Path) -> dict:
    """Fit each case; return ``{name: (model, tags of the test sentences)}``."""
    from hmmtl import AveragedPerceptron, LinearChainCRF, NamedEntityRecognizer

    parts = _slices(path)
    X, pos, y, docs = parts["train"]
    Xd, _, yd, _ = parts["dev"]
    Xt, post, _, docst = parts["test"]
    out = {}
    crf = LinearChainCRF(task="pos", max_iterations=15).fit(X, pos)
    out["crf_lbfgs"] = (crf, crf.predict(Xt))
    crf = LinearChainCRF(task="ner", max_iterations=12, early_stopping_rounds=3).fit(
        X, y, X_dev=Xd, y_dev=yd)
    out["crf_lbfgs_dev"] = (crf, crf.predict(Xt))
    crf = LinearChainCRF(task="pos", algorithm="sgd-l1", max_iterations=4,
                         random_state=0).fit(X, pos)
    out["crf_sgd_l1"] = (crf, crf.predict(Xt))
    crf = LinearChainCRF(task="ner", algorithm="sgd-l1", max_iterations=3, random_state=1
                         ).fit(X, y, groups=_groups(len(X)), X_dev=Xd, y_dev=yd,
                               groups_dev=_groups(len(Xd)))
    out["crf_sgd_l1_groups"] = (crf, crf.predict(Xt))
    ap = AveragedPerceptron(n_epochs=4, random_state=0).fit(X, pos)
    out["perceptron"] = (ap, ap.predict(Xt))
    ap = AveragedPerceptron(n_epochs=3, random_state=2).fit(X, y, groups=_groups(len(X)))
    out["perceptron_groups"] = (ap, ap.predict(Xt))
    ner = NamedEntityRecognizer(columns=("pos",), n_folds=2, context_words=50,
                                labeler_params={"max_iterations": 10}, random_state=0)
    ner.fit(X, y, columns={"pos": pos}, documents=docs, unlabeled=Xd)
    out["ner"] = (ner, ner.predict(Xt, columns={"pos": post}, documents=docst))
    return out


#: significant digits of the floats compared: summation order (threads, BLAS kernels, a
#: compiled-kernel cache from another build) moves the last bits of a weight, never the
#: sixth significant digit; a change in what the code learns moves far more
DIGITS = 6


def _rounded(a: np.ndarray) -> np.ndarray:
    """Floats to :data:`DIGITS` significant digits (infinities and NaN kept)."""
    a = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(a) & (a != 0)
    exponent = np.zeros_like(a)
    exponent[finite] = np.floor(np.log10(np.abs(a[finite])))
    out = a.copy()
    out[finite] = np.round(a[finite] / 10.0 ** exponent[finite], DIGITS - 1) \
        * 10.0 ** exponent[finite]
    return out


def _plain(value):
    """JSON metadata with its floats rounded like the arrays."""
    if isinstance(value, float):
        return float(_rounded(np.array([value]))[0])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _digest(value) -> str:
    h = hashlib.sha256()
    if isinstance(value, np.ndarray):
        h.update(str(value.dtype).encode())
        h.update(str(value.shape).encode())
        if value.dtype.kind == "f":
            value = _rounded(value)
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(json.dumps(_plain(value), sort_keys=True, default=str).encode())
    return h.hexdigest()[:24]


def fingerprint(model) -> dict:
    """Digests of the model's arrays and of its metadata (timings left out)."""
    arrays, meta = model._get_state()
    meta = {k: v for k, v in meta.items() if k != "fit_times"}
    fp = {f"array:{k}": _digest(np.asarray(v)) for k, v in sorted(arrays.items())}
    fp["meta"] = _digest(meta)
    return fp


def _where_written() -> str:
    """The platform and the numeric libraries' versions: exact bits are compared only where
    they are the ones the reference was written with."""
    import numba
    import scipy

    return (f"{platform.system()}-{platform.machine()} {_cpu()} numpy-{np.__version__} "
            f"scipy-{scipy.__version__} numba-{numba.__version__}")


def _cpu() -> str:
    """The CPU model (BLAS picks its kernels, and so its rounding, by CPU)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return "-".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or "unknown-cpu"


def test_fits_are_unchanged(require_file):
    if not REFERENCE.exists():
        pytest.fail(f"{REFERENCE} is missing; write it with python {__file__} --write")
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    if ref["platform"] != _where_written() and os.environ.get("HMMTL_FIT_IDENTITY") != "1":
        pytest.skip(f"reference written on {ref['platform']}, this is {_where_written()}")
    fits = fit_all(require_file("conll2003/eng.train"))
    assert sorted(fits) == sorted(ref["cases"])
    for name, (model, tags) in fits.items():
        want = ref["cases"][name]
        assert tags == want["tags"], f"{name}: the tags of the test sentences changed"
        got = fingerprint(model)
        changed = sorted(k for k in set(got) | set(want["fingerprint"])
                         if got.get(k) != want["fingerprint"].get(k))
        assert not changed, f"{name}: these parts of the model changed: {changed}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(f"usage: python {sys.argv[0]} --write  (HMMTL_DATA must be set)")
    fits = fit_all(Path(os.environ["HMMTL_DATA"]) / "conll2003" / "eng.train")
    ref = {"platform": _where_written(),
           "cases": {name: {"fingerprint": fingerprint(m), "tags": tags}
                     for name, (m, tags) in fits.items()}}
    REFERENCE.write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE}")
