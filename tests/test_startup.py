"""What a fresh process pays for: ``import hmmtl`` and reading CoNLL-2000 import no NLTK,
scikit-learn or SciPy."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("nltk", "sklearn", "scipy")


def _modules_after(code: str, env_data=None) -> list[str]:
    import os

    env = dict(os.environ)
    if env_data is not None:
        env["HMMTL_DATA"] = str(env_data)
    probe = (f"{code}\nimport sys\n"
             f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env)
    return eval(out.stdout.strip().splitlines()[-1])  # a list of names printed above


def test_import_hmmtl_and_its_readers_import_no_heavy_package():
    assert _modules_after("import hmmtl, hmmtl.io, hmmtl.data") == []


@pytest.mark.data
def test_conll2000_is_read_without_nltk_and_as_nltk_reads_it(data_dir):
    code = ("from hmmtl.io import load_nltk\n"
            "c = load_nltk('conll2000', split='train')\n"
            "assert len(c) == 8936, len(c)")
    assert _modules_after(code, data_dir) == []
    import hmmtl.io.nltk_corpora as nltk_corpora
    from hmmtl.io import load_nltk

    own = load_nltk("conll2000", data_dir=data_dir, split=["test", "train"])
    original = nltk_corpora._conll2000_files
    try:
        nltk_corpora._conll2000_files = lambda root, split: None  # NLTK's reader instead
        ref = load_nltk("conll2000", data_dir=data_dir, split=["test", "train"])
    finally:
        nltk_corpora._conll2000_files = original
    for field in dataclasses.fields(own):
        assert getattr(own, field.name) == getattr(ref, field.name), field.name
