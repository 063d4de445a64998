"""Every example runs in its quick mode (as a user runs it: ``python examples/X.py``) and
prints results that make sense."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hmmtl

ROOT = Path(hmmtl.__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NUMBER = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


def run_example(name: str, *args: str, data=None, timeout: int = 300) -> str:
    env = dict(os.environ)
    env.pop("HMMTL_DATA", None)
    cmd = [sys.executable, str(EXAMPLES / name), "--quick", *args]
    if data is not None:
        cmd += ["--data", str(data)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def numbers(pattern: str, text: str) -> list[float]:
    found = re.findall(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return [float(x) for x in found]


def test_every_example_is_tested_and_has_a_docstring():
    tested = set(re.findall(r'run_example\("(\w+\.py)"', Path(__file__).read_text()))
    for path in EXAMPLES.glob("*.py"):
        assert path.name in tested, f"examples/{path.name} has no test"
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and f"python examples/{path.name}" in doc


@pytest.mark.slow
def test_quickstart_on_conll2000(data_dir):
    out = run_example("quickstart.py", data=data_dir)
    (acc,) = numbers(r"accuracy: " + NUMBER, out)
    assert 0.8 < acc <= 1.0
    assert "('Rockwell', 'NNP')" in out  # the first test sentence, tagged


def test_quickstart_without_data_says_synthetic(tmp_path):
    out = run_example("quickstart.py", data=tmp_path)  # a folder without corpora
    assert "SYNTHETIC" in out
    (acc,) = numbers(r"accuracy: " + NUMBER, out)
    assert 0.5 < acc <= 1.0
    assert re.search(r"\[\('\w+', 'T\d'\)", out)


@pytest.mark.slow
def test_pos_domain_adaptation(data_dir):
    out = run_example("pos_domain_adaptation.py", data=data_dir)
    for domain in ("answers", "email", "newsgroup", "reviews", "weblog", "mean"):
        m = re.search(rf"(?m)^{domain}((?:\s+[\d.]+){{4}})\s*$", out)
        assert m, f"no row for {domain} in:\n{out}"
        row = [float(x) for x in m.group(1).split()]
        assert all(0 <= x <= 100 for x in row), row
        assert row[0] > 50 and row[2] > 50  # accuracy of both taggers on web text


@pytest.mark.slow
def test_ner_hmm_features(data_dir):
    out = run_example("ner_hmm_features.py", data=data_dir)
    f1 = numbers(r"eng\.testb entity P\s+[\d.]+\s+R\s+[\d.]+\s+F1\s+" + NUMBER, out)
    assert len(f1) == 2 and all(30 < x <= 100 for x in f1)


def test_multitask(data_dir):
    out = run_example("multitask.py", data=data_dir)
    f1 = numbers(r"NER entity F1 on eng\.testb:\s+" + NUMBER, out)
    assert len(f1) == 2 and all(20 < x <= 100 for x in f1)
    (pos,) = numbers(r"POS: accuracy " + NUMBER, out)
    assert 0 < pos <= 100


def test_gpu_inference_falls_back_or_agrees():
    out = run_example("gpu_inference.py")
    assert "running backend='cupy'" in out or "backend='numpy' instead" in out
    rows = re.findall(r"(?m)^\s+(\d+)\s+\d+\s+\S+\s+\S+\s+(\S+)\s+(True|False)\s*$", out)
    assert len(rows) == 2
    for _, diff, equal in rows:
        assert float(diff) < 1e-8 and equal == "True"
    assert "agrees with numba: True" in out


def test_dask_em_matches_one_machine(tmp_path):
    pytest.importorskip("dask.distributed", reason="Dask is not installed")
    out = run_example("dask_em.py", data=tmp_path)  # synthetic text: no corpora there
    assert "SYNTHETIC" in out
    (diff,) = numbers(r"single-machine parameters: " + NUMBER, out)
    assert diff < 1e-8
    m = re.search(r"log-likelihood per iteration: (.*)", out)
    ll = [float(x) for x in m.group(1).split(", ")]
    assert len(ll) == 5 and all(b >= a - 1e-6 for a, b in zip(ll, ll[1:]))  # EM never goes down
