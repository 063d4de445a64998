"""Input columns a recognizer supplies itself (``column_taggers``): the embedded tagger is
trained on the training file's column, the recognizer on that tagger's cross-validated
predictions, and raw text (no column) is tagged through the tagger's predictions; the
tagger survives save / load; the shipped Dutch recognizer uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hmmtl
from hmmtl.ner import NamedEntityRecognizer
from hmmtl.serialize import load
from hmmtl.transfer.multitask import cross_validated_predictions
from ner_helpers import documents

ROOT = Path(__file__).resolve().parents[1]


def _corpus(n_docs, seed):
    """Documents of three sentences (``Mr. X spoke .``, ``X said so .`` twice); the POS
    column tags names NNP, other words X, and one word of the first document the tag RARE,
    which no other fold has."""
    X, y, pos, docs = documents(n_docs, seed)
    X[0].append("zork")
    y[0].append("O")
    pos[0].append("RARE")
    return X, y, pos, docs


PARAMS = {"columns": {"pos": 1}, "column_taggers": ("pos",), "n_folds": 3,
          "column_tagger_params": {"max_iterations": 30},
          "labeler_params": {"max_iterations": 30}, "train_lists": False,
          "auto_lists": False}


@pytest.fixture(scope="module")
def fitted():
    X, y, pos, docs = _corpus(60, seed=0)
    seen = {}
    model = NamedEntityRecognizer(**PARAMS)
    prepare = model._prepare

    def spy(X_, columns, documents, fitting, *args, **kwargs):
        if fitting:
            seen["columns"] = columns
        return prepare(X_, columns, documents, fitting, *args, **kwargs)

    model._prepare = spy
    model.fit(X, y, columns={"pos": pos}, documents=docs)
    del model._prepare
    return model, (X, y, pos, docs), seen["columns"]


def test_the_recognizer_trains_on_cross_validated_predictions(fitted):
    model, (X, _, pos, _), trained_on = fitted
    assert model.input_columns_ == {} and set(model.column_taggers_) == {"pos"}
    assert "col.pos" in model.features_
    column = trained_on["pos"]
    # exactly the predictions of taggers trained on the other folds of the recognizer
    assert column == cross_validated_predictions(model._column_tagger, X, pos, model.fold_)
    # not the gold column: the tag RARE is in one fold only, so no fold model predicts it
    assert pos[0][-1] == "RARE" and column[0][-1] != "RARE"
    assert all(t != "RARE" for s in column for t in s)
    # the embedded tagger itself is trained on all the data: it knows RARE
    assert "RARE" in model.column_taggers_["pos"].labels_.labels


def test_text_without_the_column_is_tagged_through_the_tagger(fitted):
    model = fitted[0]
    Xt, yt, _, docst = _corpus(20, seed=1)
    predicted = model.column_taggers_["pos"].predict(Xt)
    extra = model._prepare(Xt, None, docst, fitting=False).extra
    assert extra["col.pos"] == predicted
    assert model.predict(Xt, documents=docst) == \
        model.predict(Xt, columns={"pos": predicted}, documents=docst)
    # a column given on request (the file's own tags) is used instead
    given = [["X"] * len(s) for s in Xt]
    assert model._prepare(Xt, {"pos": given}, docst, fitting=False).extra["col.pos"] == \
        given
    assert model.score(Xt, yt, documents=docst) > 0.8
    sentences = model.tag_text("Mr. Bakra spoke . Bakra said so .")
    tags = [t.tag for s in sentences for t in s.tokens]
    assert len(tags) == 8 and tags[1] == "B-PER"


def test_column_tagger_round_trips_save_and_load(fitted, tmp_path):
    model, _, _ = fitted
    path = model.save(tmp_path / "ner.hmmtl")
    back = load(path)
    assert set(back.column_taggers_) == {"pos"} and back.input_columns_ == {}
    assert back.get_params()["column_taggers"] == ("pos",)
    Xt, _, _, docst = _corpus(20, seed=2)
    assert back.column_taggers_["pos"].predict(Xt) == model.column_taggers_["pos"].predict(Xt)
    assert back.predict(Xt, documents=docst) == model.predict(Xt, documents=docst)
    text = "The Dravo Corp grew . Dravo said so ."
    assert back.tag_text(text) == model.tag_text(text)
    # the command line tags raw text with it: no input column needed
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "hmmtl", "tag", "--model", str(path),
                           "--input", "raw"], input=text + "\n", capture_output=True,
                          text=True, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines() if line[:1].isdigit()]
    assert [r[1] for r in rows] == [t.form for s in model.tag_text(text) for t in s.tokens]


def test_pruning_reaches_the_column_tagger(fitted, tmp_path):
    """``hmmtl.prune`` prunes the embedded tagger with the recognizer's CRFs; the compact
    file predicts as the pruned model."""
    from hmmtl.prune import prune, save_compact

    model, _, _ = fitted
    pruned = load(model.save(tmp_path / "full.hmmtl"))
    stats = prune(pruned, 0.05, "float16")
    assert {"stage1", "stage2", "column.pos"} <= set(stats)
    assert stats["column.pos"].pairs_after < stats["column.pos"].pairs_before
    back = load(save_compact(pruned, tmp_path / "small.hmmtl"))
    Xt, _, _, docst = _corpus(20, seed=5)
    assert back.column_taggers_["pos"].predict(Xt) == pruned.column_taggers_["pos"].predict(Xt)
    assert back.predict(Xt, documents=docst) == pruned.predict(Xt, documents=docst)


def test_a_model_without_column_taggers_keeps_its_file_layout(tmp_path):
    X, y, pos, docs = _corpus(20, seed=3)
    model = NamedEntityRecognizer(columns={"pos": 1}, n_folds=2,
                                  labeler_params={"max_iterations": 10})
    model.fit(X, y, columns={"pos": pos}, documents=docs)
    assert model.column_taggers_ == {} and model.input_columns_ == {"pos": 1}
    from hmmtl.serialize import read_manifest

    path = model.save(tmp_path / "plain.hmmtl")
    meta = read_manifest(path)["meta"]
    assert "column_taggers" not in meta["params"]
    assert not any(k.startswith("column.") for k in meta["children"])
    assert load(path).column_taggers_ == {}
    with pytest.raises(ValueError, match="uses the input column 'pos'"):
        load(path).predict(X[:2])


def test_column_tagger_errors():
    X, y, pos, _ = _corpus(10, seed=4)
    with pytest.raises(ValueError, match=r"column_taggers \['pos'\] learn from the training "
                                         r"data's column, which fit did not get"):
        NamedEntityRecognizer(**PARAMS).fit(X, y)
    with pytest.raises(ValueError, match=r"column_taggers \['chunk'\] must be input columns "
                                         r"of columns=\['pos'\]"):
        NamedEntityRecognizer(**{**PARAMS, "column_taggers": ("chunk",)}).fit(
            X, y, columns={"pos": pos})


def test_cross_validated_predictions_checks_its_folds():
    from hmmtl import LinearChainCRF

    X = [["a", "b"]] * 4
    with pytest.raises(ValueError, match="one entry per sentence of X"):
        cross_validated_predictions(LinearChainCRF, X, [["A", "B"]] * 4, np.zeros(3))
    with pytest.raises(ValueError, match="needs at least two folds"):
        cross_validated_predictions(LinearChainCRF, X, [["A", "B"]] * 4, np.zeros(4))


# ----------------------------------------------------------------------------- shipped models
DUTCH = [["Premier", "Kok", "bezocht", "gisteren", "Amsterdam", "."],
         ["Jan", "de", "Vries", "werkt", "bij", "Philips", "in", "Eindhoven", "."]]


@pytest.mark.parametrize("name,sentences", [("nl-ner", DUTCH)])
def test_shipped_recognizers_supply_their_pos_column(name, sentences):
    """The shipped recognizers whose recipe has a column tagger: raw text in, the file and
    the name give the same tags."""
    from hmmtl.models import MODELS, data_folder
    from hmmtl.studies.ready_models import RECIPES

    assert RECIPES[name]["recognizer"]["column_taggers"] == ["pos"]

    by_name, by_file = hmmtl.load(name), load(data_folder() / MODELS[name]["file"])
    assert by_name.input_columns_ == {} and set(by_name.column_taggers_) == {"pos"}
    assert by_name.predict(sentences) == by_file.predict(sentences)
    text = " ".join(" ".join(s) for s in sentences)
    tagged = by_name.tag_text(text)
    assert [[t.tag for t in s.tokens] for s in tagged] == by_file.predict(
        [[t.form for t in s.tokens] for s in tagged])
    assert any(t.tag != "O" for s in tagged for t in s.tokens)
