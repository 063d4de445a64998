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
    own2002 = load_nltk("conll2002", data_dir=data_dir, split="ned.testa")
    original = nltk_corpora._own_files
    try:
        nltk_corpora._own_files = lambda name, root, split: None  # NLTK's reader instead
        ref = load_nltk("conll2000", data_dir=data_dir, split=["test", "train"])
        ref2002 = load_nltk("conll2002", data_dir=data_dir, split="ned.testa")
    finally:
        nltk_corpora._own_files = original
    for field in dataclasses.fields(own):
        assert getattr(own, field.name) == getattr(ref, field.name), field.name
    # CoNLL-2002: the same sentences, words and tags; the documents are the file's
    # -DOCSTART- documents, where NLTK's reader gives one per file
    for field in dataclasses.fields(own2002):
        if field.name != "doc_ids":
            assert getattr(own2002, field.name) == getattr(ref2002, field.name), field.name
    assert len(set(ref2002.doc_ids)) == 1 < len(set(own2002.doc_ids))
