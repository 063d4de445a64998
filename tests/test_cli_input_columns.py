"""``hmmtl train --tag-column COL --input-columns NAME=COL``: one task that reads columns of
the file as features (a chunker reading the POS column), and ``hmmtl tag`` / ``hmmtl
evaluate`` that then need those columns."""

from __future__ import annotations

import json

import pytest

import model_zoo as zoo
from model_zoo import CHUNKS, POS, SENTENCES


@pytest.fixture(scope="module")
def chunker(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chunker")
    train = folder / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS)
    model = folder / "chunker.hmmtl"
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tag-column", 2,
                "--task", "chunk", "--input-columns", "pos=1", "--max-iter", 20, "--quiet",
                "--out", model) == 0
    return folder, model


def test_the_chunker_reads_the_pos_column_with_its_ngrams(chunker):
    from hmmtl.crf import TASK_DEFAULTS
    from hmmtl.serialize import load, read_manifest

    _, path = chunker
    model = load(path)
    assert model.tasks_ == ["chunk"]
    assert model.input_columns_ == {"pos": 1}
    crf = model.labelers_["chunk"]
    assert crf.task_ == "chunk"
    specs = crf.feature_space_.extra_specs_
    assert [s["name"] for s in specs if s["kind"] != "ngram"] == ["file:pos"]
    # the chunk task's POS n-grams come with the column
    assert {tuple(s["ngram"]) for s in specs if s["kind"] == "ngram"} == {
        tuple(g) for g in TASK_DEFAULTS["chunk"]["extra_ngrams"]["file:pos"]}
    assert len(TASK_DEFAULTS["chunk"]["extra_ngrams"]["file:pos"]) >= 4
    assert read_manifest(path)["info"]["tasks"] == {"chunk": 2}


def test_tag_and_evaluate_read_the_column(chunker, capsys):
    folder, model = chunker
    test = folder / "test.conll"
    zoo.write_conll(test, SENTENCES[:6], POS[:6], CHUNKS[:6])
    out = folder / "tagged.conll"
    assert zoo.cli("tag", "--model", model, "--output", out, test) == 0
    rows = [line.split() for line in out.read_text().splitlines() if line.strip()]
    assert len(rows) == sum(map(len, SENTENCES[:6]))
    assert all(len(r) == 4 for r in rows)  # word, POS, gold chunk, predicted chunk
    assert sum(r[2] == r[3] for r in rows) / len(rows) > 0.9
    capsys.readouterr()
    assert zoo.cli("evaluate", "--model", model, "--test", test, "--format", "conll",
                "--json") == 0
    assert json.loads(capsys.readouterr().out)["tasks"]["chunk"]["f1"] > 0.8


def test_a_file_without_the_column_is_refused_naming_file_and_column(chunker, capsys):
    folder, model = chunker
    words = folder / "words.conll"
    zoo.write_conll(words, SENTENCES[:3])
    capsys.readouterr()
    assert zoo.cli("tag", "--model", model, "--output", folder / "x.conll", words) != 0
    err = capsys.readouterr().err
    assert str(words) in err and "reads the column 'pos'" in err


def test_input_columns_need_the_tag_column_and_never_the_task_itself(tmp_path, capsys):
    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS)
    assert zoo.cli("train", "--train", train, "--format", "conll", "--input-columns", "pos=1",
                "--quiet", "--out", tmp_path / "a.hmmtl") != 0
    assert "give the column of the tags too" in capsys.readouterr().err
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tag-column", 2,
                "--task", "chunk", "--input-columns", "chunk=1", "--quiet",
                "--out", tmp_path / "b.hmmtl") != 0
    assert "never reads its own column" in capsys.readouterr().err
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tag-column", 2,
                "--input-columns", "pos=1", "--algorithm", "perceptron", "--quiet",
                "--out", tmp_path / "c.hmmtl") != 0
    assert "--input-columns train CRFs" in capsys.readouterr().err
