"""``hmmtl train --algorithm recognizer``: the NER study's recognizer trained on the user's
own files (clusters and HMM on the training words plus ``--unlabeled``, ``--lexicon``, the
file's columns and documents), tagged and evaluated through the same commands as every
model; options that do not apply are refused by name."""

from __future__ import annotations

import json

import pytest

from hmmtl.serialize import load, read_manifest
from model_zoo import cli

PETS = ["dog", "cat", "bird"]
PLACES = ["Paris", "London", "Rome"]
PEOPLE = ["Smith", "Jones"]


def _document(k: int) -> str:
    """A CoNLL-2003-like document: word, POS, chunk, entity columns."""
    rows = ["-DOCSTART- -X- -X- O", ""]
    for i in range(8):
        place, person = PLACES[(i + k) % 3], PEOPLE[(i + k) % 2]
        rows += ["Mr. NNP B-NP B-PER", f"{person} NNP I-NP I-PER", "went VBD B-VP O",
                 "to TO B-PP O", f"{place} NNP B-NP B-LOC", "with IN B-PP O",
                 "the DT B-NP O", f"{PETS[i % 3]} NN I-NP O", ". . O O", ""]
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rec")
    (folder / "train.conll").write_text("".join(_document(k) for k in range(4)))
    (folder / "test.conll").write_text(_document(5))
    # unlabeled text: raw running text, with a word the training data never has
    (folder / "news.txt").write_text(
        "Mr. Smith flew to Madrid with the dog.\n\nMr. Jones went to Madrid.\n" * 5)
    return folder


@pytest.fixture(scope="module")
def model(files):
    out = files / "ner.hmmtl"
    assert cli("train", "--train", files / "train.conll", "--tag-column", 3, "--algorithm",
               "recognizer", "--input-columns", "pos=1", "--unlabeled", files / "news.txt",
               "--max-iter", 30, "-q", "--out", out) == 0
    return out


def test_the_recognizer_learns_from_the_file_its_columns_and_the_text(model):
    from hmmtl.ner import NamedEntityRecognizer

    m = load(model)
    assert isinstance(m, NamedEntityRecognizer)
    assert read_manifest(model)["info"] == {"tag_column": "col3", "tag_meaning": "ner"}
    assert m.input_columns_ == {"pos": 1}
    assert m.uses_documents_  # four -DOCSTART- documents
    # the clusters learned from the training words and the unlabeled text
    assert "Madrid" in m.clusters.words_ and "Paris" in m.clusters.words_


def test_unlabeled_max_tokens_reads_the_texts_first_sentences(files, tmp_path):
    """--unlabeled-max-tokens: the clusters learn from the text's first sentences only."""
    text = tmp_path / "text.txt"
    text.write_text("Mr. Smith went to Madrid .\n" * 4 + "Mr. Jones flew to Quito .\n" * 5)
    seen = {}
    for limit in (12, 1000):
        out = tmp_path / f"ner{limit}.hmmtl"
        assert cli("train", "--train", files / "train.conll", "--tag-column", 3, "--algorithm",
                   "recognizer", "--unlabeled", text, "--unlabeled-max-tokens", limit,
                   "--max-iter", 10, "-q", "--out", out) == 0
        seen[limit] = "Quito" in load(out).clusters.words_
    assert seen == {12: False, 1000: True}


def test_tag_and_evaluate_read_the_models_column(model, files, capsys):
    assert cli("tag", "--model", model, files / "test.conll") == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if line.strip() and not line.startswith("-DOCSTART-")]
    assert all(len(r) == 5 for r in rows)
    assert [r[4] for r in rows[:5]] == ["B-PER", "I-PER", "O", "O", "B-LOC"]
    assert cli("evaluate", "--model", model, "--test", files / "test.conll", "--json") == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] == 1.0 and set(scores["per_type"]) == {"LOC", "PER"}


def test_a_lexicon_file_is_read(files, tmp_path):
    from hmmtl.ner.gazetteers import Lexicon

    lexicon = Lexicon({"city": ["Paris", "London", "Rome", "Madrid"]}).save(tmp_path / "l.model")
    out = tmp_path / "lex.hmmtl"
    assert cli("train", "--train", files / "train.conll", "--tag-column", 3, "--algorithm",
               "recognizer", "--lexicon", lexicon, "--max-iter", 10, "-q", "--out", out) == 0
    m = load(out)
    assert m.lexicon.n_entries == 4 and m.input_columns_ == {}


@pytest.mark.parametrize("extra, message", [
    (["--algorithm", "recognizer", "--hmm", "x.hmmtl"], "--hmm is not an option of --algorithm "
                                                        "recognizer"),
    (["--algorithm", "recognizer", "--task", "pos"], "--task pos does not apply"),
    (["--algorithm", "recognizer", "--input-columns", "pos=1,ner=3"], "is the column of the "
                                                                      "entities"),
    (["--lexicon", "lists"], "--lexicon is an option of --algorithm recognizer"),
    (["--algorithm", "recognizer", "--lexicon", "nowhere"], "--lexicon nowhere"),
])
def test_options_that_do_not_apply_are_refused(files, tmp_path, capsys, extra, message):
    assert cli("train", "--train", files / "train.conll", "--tag-column", 3, *extra,
               "--out", tmp_path / "m.hmmtl") == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.hmmtl").exists()
