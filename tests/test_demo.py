"""``hmmtl demo`` runs with and without corpora."""

from __future__ import annotations

import io
import re

import pytest

from hmmtl.studies.demo import find_demo_data, run_demo

_NUMBER_ROW = re.compile(r"^\| CRF[^|]*\|( [01]\.\d{4} \|)+")


def _table_rows(text):
    return [line for line in text.splitlines() if _NUMBER_ROW.match(line)]


def test_demo_without_data_runs_on_synthetic_data_and_says_so(tmp_path, monkeypatch):
    import nltk

    monkeypatch.delenv("HMMTL_DATA", raising=False)
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "no-nltk-data")])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_demo_data(empty) == ("synthetic", None)
    out = io.StringIO()
    res = run_demo(data_dir=empty, quick="tiny", stream=out, out=tmp_path / "report")
    text = out.getvalue()
    assert res["synthetic"] and res["data"] == "synthetic"
    assert "no corpus data found" in text and "SYNTHETIC" in text
    rows = _table_rows(text)
    assert len(rows) == 4  # two settings x (accuracy, OOV accuracy)
    assert (tmp_path / "report" / "demo.md").exists()
    # the synthetic target words are mostly unseen: the HMM features must help there
    acc = {(r["setting"], r["domain"]): r["accuracy"] for r in res["records"]}
    assert acc[("CRF + HMM features", "web (target)")] > acc[("CRF", "web (target)")]


@pytest.mark.slow
def test_demo_with_data_prints_a_table_on_real_corpora(data_dir):
    out = io.StringIO()
    res = run_demo(data_dir=data_dir, quick="tiny", stream=out)
    text = out.getvalue()
    assert res["data"] == "ewt" and not res["synthetic"]
    assert "SYNTHETIC" not in text
    assert "| CRF + HMM features |" in text and "answers" in text and "weblog" in text
    assert len(_table_rows(text)) == 4
    for r in res["records"]:
        assert 0.0 <= r["accuracy"] <= 1.0
