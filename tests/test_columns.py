"""One column rule for every format (:mod:`hmmtl.io.columns`), tag-column validation, options
given twice, chunk schemes in ``evaluate`` and ``--dev`` checks: the command line on small
files written here, and a recognizer on CoNLL-2003 given as CoNLL and as CoNLL-U."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

import hmmtl
from hmmtl.cli import COMMANDS, main
from hmmtl.cli._common import Once
from hmmtl.io import read_conll, read_conllu
from hmmtl.io.columns import misc_values, tag_meaning, with_misc_values

from test_cli import CONLL_NER, CONLLU, run


@pytest.fixture
def files(tmp_path):
    (tmp_path / "train.conllu").write_text(CONLLU * 3, encoding="utf-8")
    (tmp_path / "test.conllu").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "ner.conll").write_text(CONLL_NER * 3, encoding="utf-8")
    return tmp_path


# ----------------------------------------------------------------------------- meanings
def test_tag_meaning_of_label_sets():
    assert tag_meaning(["NOUN", "VERB", "PUNCT"]) == "upos"
    assert tag_meaning(["NN", "VBZ", "DT", ".", "-LRB-"]) == "xpos"
    assert tag_meaning(["O", "B-PER", "I-ORG", "B-MISC"]) == "ner"
    assert tag_meaning(["O", "S-LOC", "E-PER"]) == "ner"
    assert tag_meaning(["B-NP", "I-NP", "B-VP", "O"]) == "chunk"
    assert tag_meaning(["A", "B"]) is None
    assert tag_meaning(["_"]) is None


def test_misc_values_read_and_written_keep_other_items():
    misc = [["_", "SpaceAfter=No", "NE=B-PER|SpaceAfter=No"]]
    assert misc_values(misc, "NE") == [["O", "O", "B-PER"]]
    assert misc_values(misc, "Chunk") is None
    out = with_misc_values(misc, "NE", [["B-LOC", "O", "I-PER"]])
    assert out == [["NE=B-LOC", "SpaceAfter=No|NE=O", "NE=I-PER|SpaceAfter=No"]]


# ----------------------------------------------------------------------------- options
def _subparsers():
    parser = argparse.ArgumentParser(prog="hmmtl")
    sub = parser.add_subparsers(dest="command")
    for command in COMMANDS:
        command.add_parser(sub)
    return sub.choices


def _once_options():
    for name, p in _subparsers().items():
        for action in p._actions:
            if isinstance(action, Once) and action.option_strings:
                yield name, action


ONCE = list(_once_options())
#: a valid value of the options that do not take a number
VALUES = {"--texts": "source", "--languages": "eng", "--format": "conll"}


def test_every_command_has_single_valued_options():
    commands = {name for name, _ in ONCE}
    assert commands == {"info", "train-hmm", "train", "tag", "evaluate", "experiment", "demo",
                        "models", "adapt"}
    names = {(name, a.option_strings[0]) for name, a in ONCE}
    assert {("train", "--out"), ("tag", "--model"), ("evaluate", "--model"),
            ("train-hmm", "--states"), ("experiment", "--out")} <= names


@pytest.mark.parametrize("command,option", [(n, a.option_strings[0]) for n, a in ONCE],
                         ids=[f"{n} {a.option_strings[0]}" for n, a in ONCE])
def test_single_valued_option_given_twice_is_refused(capsys, command, option):
    action = {(n, a.option_strings[0]): a for n, a in ONCE}[(command, option)]
    value = str(action.choices[0]) if action.choices else VALUES.get(option, "1")
    prefix = ["domain-adaptation"] if command == "experiment" else []
    code, _, err = run(capsys, command, *prefix, option, value, option, value)
    assert code == 2
    assert f"argument {'/'.join(action.option_strings)}: given twice" in err
    assert "give it once" in err


def _parse(*argv):
    parser = hmmtl.cli.build_parser()
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("argv,dest", [
    (["train", "--train", "a", "--train", "b", "c", "--out", "m"], "train"),
    (["train", "--unlabeled", "a", "--unlabeled", "b", "c", "--out", "m"], "unlabeled"),
    (["train", "--dev", "a", "--dev", "b", "c", "--out", "m"], "dev"),
    (["evaluate", "--model", "m", "--test", "a", "--test", "b", "c"], "test"),
    (["train-hmm", "--text", "a", "--text", "b", "c", "--states", "2", "--out", "m"], "text"),
])
def test_file_options_accumulate(argv, dest):
    assert getattr(_parse(*argv), dest) == ["a", "b", "c"]


def test_repeated_train_and_test_use_every_file(capsys, files):
    (files / "more.conllu").write_text(CONLLU.replace("dog", "wolf"), encoding="utf-8")
    out = files / "pos.hmmtl"
    code, _, err = run(capsys, "train", "--train", str(files / "test.conllu"), "--train",
                       str(files / "more.conllu"), "--max-iter", "5", "--out", str(out))
    assert code == 0, err
    assert "on 6 sentences" in err
    code, stdout, err = run(capsys, "evaluate", "--model", str(out), "--test",
                            str(files / "test.conllu"), "--test", str(files / "more.conllu"),
                            "--json")
    assert code == 0, err
    assert json.loads(stdout)["n_tokens"] == 2 * sum(
        map(len, read_conllu(files / "test.conllu").sentences))


# ----------------------------------------------------------------------------- tag columns
@pytest.mark.parametrize("value,message", [
    ("-1", "negative indexes are not supported"),
    ("0", "column 0 is the word"),
    ("form", "is the word column"),
    ("ID", "is the word column"),
    ("word", "is the word column"),
])
@pytest.mark.parametrize("command", ["tag", "evaluate", "train"])
def test_word_and_negative_tag_columns_refused_by_every_command(capsys, files, command,
                                                                value, message):
    argv = {"tag": ["tag", "--model", "m", str(files / "ner.conll")],
            "evaluate": ["evaluate", "--model", "m", "--test", str(files / "ner.conll")],
            "train": ["train", "--train", str(files / "ner.conll"), "--out", "m"]}[command]
    code, _, err = run(capsys, *argv, "--tag-column", value)
    assert code == 2
    assert "argument --tag-column" in err and message in err


def test_tag_column_1_is_form_in_conllu(capsys, files):
    path = files / "pos.hmmtl"
    assert main(["train", "--train", str(files / "train.conllu"), "--max-iter", "5", "-q",
                 "--out", str(path)]) == 0
    before = (files / "test.conllu").read_bytes()
    for command in (["tag", "--model", str(path), str(files / "test.conllu")],
                    ["evaluate", "--model", str(path), "--test", str(files / "test.conllu")]):
        code, out, err = run(capsys, *command, "--tag-column", "1")
        assert code == 1 and "FORM" in err and out == ""
    assert (files / "test.conllu").read_bytes() == before
    # on CoNLL, column 1 is a tag column: overwritten when asked explicitly
    code, out, err = run(capsys, "tag", "--model", str(path), str(files / "ner.conll"),
                         "--tag-column", "1")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines() if line.strip()] == [
        line.split()[0] for line in (files / "ner.conll").read_text().splitlines()
        if line.strip()]


# ----------------------------------------------------------------------------- tag meaning
def _upos_tagger_saved_from_python(path):
    from hmmtl.transfer.pipeline import Tagger

    corpus = read_conllu(path.parent / "train.conllu")
    tagger = Tagger(labeler_params={"max_iterations": 20}).fit(corpus.sentences,
                                                               corpus.column("upos"))
    hmmtl.save(tagger, path)
    return path


def test_upos_tagger_saved_from_python_fills_upos_and_keeps_gold_xpos(capsys, files):
    model = _upos_tagger_saved_from_python(files / "upos.hmmtl")
    code, out, err = run(capsys, "tag", "--model", str(model), str(files / "test.conllu"))
    assert code == 0, err
    (files / "out.conllu").write_text(out, encoding="utf-8")
    tagged, gold = read_conllu(files / "out.conllu"), read_conllu(files / "test.conllu")
    assert tagged.column("xpos") == gold.column("xpos")
    assert {t for s in tagged.column("upos") for t in s} <= {"DET", "NOUN", "VERB", "PUNCT"}
    assert tagged.column("misc") == gold.column("misc")
    # evaluate scores it against UPOS, not XPOS, with no --tag-column
    code, out, err = run(capsys, "evaluate", "--model", str(model), "--test",
                         str(files / "test.conllu"), "--json")
    assert code == 0, err
    upos = json.loads(out)["accuracy"]
    code, out, err = run(capsys, "evaluate", "--model", str(model), "--test",
                         str(files / "test.conllu"), "--tag-column", "xpos", "--json")
    assert upos > 0.5 and json.loads(out)["accuracy"] == 0.0


def test_model_whose_labels_say_nothing_is_not_written_over_xpos(capsys, files):
    from hmmtl.transfer.pipeline import Tagger

    corpus = read_conllu(files / "train.conllu")
    tags = [["A" if len(w) > 3 else "B" for w in s] for s in corpus.sentences]
    model = files / "ab.hmmtl"
    hmmtl.save(Tagger(labeler_params={"max_iterations": 5}).fit(corpus.sentences, tags), model)
    code, out, err = run(capsys, "tag", "--model", str(model), str(files / "test.conllu"))
    assert code == 1 and out == ""
    assert "records no tag column" in err and "--tag-column" in err
    code, out, err = run(capsys, "tag", "--model", str(model), str(files / "test.conllu"),
                         "--tag-column", "misc:AB")
    assert code == 0, err
    (files / "ab.conllu").write_text(out, encoding="utf-8")
    tagged = read_conllu(files / "ab.conllu")
    assert tagged.column("xpos") == corpus.column("xpos")[:3]
    assert {t for s in misc_values(tagged.column("misc"), "AB") for t in s} <= {"A", "B"}


# ----------------------------------------------------------------------------- schemes
def _iob1(lines: str) -> str:
    """The IOB1 spelling of the IOB2 lines of CONLL_NER (whose chunks never touch)."""
    return lines.replace("B-", "I-")


def test_iob2_model_on_iob1_gold_is_scored_in_one_scheme(capsys, files):
    model = files / "ner.hmmtl"
    assert main(["train", "--train", str(files / "ner.conll"), "--tag-column", "2",
                 "--max-iter", "20", "-q", "--out", str(model)]) == 0
    iob1 = _iob1(CONLL_NER)
    assert "I-PER" in iob1 and "B-PER" not in iob1
    (files / "iob1.conll").write_text(iob1, encoding="utf-8")
    (files / "iob2.conll").write_text(CONLL_NER, encoding="utf-8")
    scores = {}
    for name in ("iob1", "iob2"):
        code, out, err = run(capsys, "evaluate", "--model", str(model), "--test",
                             str(files / f"{name}.conll"), "--tag-column", "2", "--json")
        assert code == 0, err
        assert "never seen" not in err  # B-PER of the model and I-PER of IOB1 gold agree
        scores[name] = json.loads(out)
    assert scores["iob1"]["accuracy"] == scores["iob2"]["accuracy"] == 1.0
    assert scores["iob1"]["f1"] == scores["iob2"]["f1"]
    assert scores["iob1"]["schemes"]["gold"] == "iob1"
    assert scores["iob1"]["schemes"]["predicted"] == "iob2"
    assert scores["iob2"]["schemes"] is None
    code, out, _ = run(capsys, "evaluate", "--model", str(model), "--test",
                       str(files / "iob1.conll"), "--tag-column", "2")
    assert "schemes: gold labels are IOB1, predictions IOB2: both converted to IOB2" in out


def test_entity_scores_without_gold_entities_are_reported(capsys, files):
    model = files / "ner.hmmtl"
    assert main(["train", "--train", str(files / "ner.conll"), "--tag-column", "2",
                 "--max-iter", "20", "-q", "--out", str(model)]) == 0
    no_entity = "".join(f"{w} {p} O\n" if w else "\n" for w, p in [
        ("John", "NNP"), ("visited", "VBD"), ("Paris", "NNP"), ("", "")])
    (files / "none.conll").write_text(no_entity, encoding="utf-8")
    code, out, err = run(capsys, "evaluate", "--model", str(model), "--test",
                         str(files / "none.conll"), "--tag-column", "2", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["precision"] == 0.0 and result["recall"] == 0.0 and result["f1"] == 0.0


# ----------------------------------------------------------------------------- --dev
def test_dev_tags_unknown_to_training_are_refused_before_training(capsys, files):
    dev = files / "dev.conll"
    dev.write_text(CONLL_NER.replace("B-LOC", "B-GPE"), encoding="utf-8")
    out = files / "m.hmmtl"
    code, _, err = run(capsys, "train", "--train", str(files / "ner.conll"), "--tag-column",
                       "2", "--dev", str(dev), "--out", str(out))
    assert code == 1 and not out.exists()
    assert f"--dev {dev}: 1 tag(s) on 3 token(s) are not tags of the training data" in err
    assert "'B-GPE'" in err and "training" not in err.split("error:")[0]


def test_conll_train_pairs_with_conllu_dev_by_meaning(capsys, files):
    corpus = read_conllu(files / "train.conllu")
    lines = ["\n".join(f"{w} {t}" for w, t in zip(s, x)) + "\n\n"
             for s, x in zip(corpus.sentences, corpus.column("xpos"))]
    (files / "train.conll").write_text("".join(lines), encoding="utf-8")
    out = files / "m.hmmtl"
    code, _, err = run(capsys, "train", "--train", str(files / "train.conll"), "--dev",
                       str(files / "test.conllu"), "--max-iter", "5", "--out", str(out))
    assert code == 0, err  # col1 (PTB tags) pairs with XPOS
    code, _, err = run(capsys, "train", "--train", str(files / "train.conll"), "--dev",
                       str(files / "test.conllu"), "--dev-tag-column", "upos",
                       "--max-iter", "5", "--out", str(files / "m2.hmmtl"))
    assert code == 1 and "--dev-tag-column" in err and "'NOUN'" in err


# ----------------------------------------------------------------------------- notation
def test_notation_message_true_for_a_model_that_keeps_words(capsys, tmp_path):
    train = ("The DT\n-LRB- -LRB-\ndog NN\n-RRB- -RRB-\nbarks VBZ\n. .\n\n") * 4
    test = "The DT\n( -LRB-\ndog NN\n) -RRB-\nbarks VBZ\n. .\n\n"
    (tmp_path / "train.conll").write_text(train, encoding="utf-8")
    (tmp_path / "test.conll").write_text(test, encoding="utf-8")
    for notation in ("auto", "keep"):
        model = tmp_path / f"{notation}.hmmtl"
        assert main(["train", "--train", str(tmp_path / "train.conll"), "--notation",
                     notation, "--max-iter", "10", "-q", "--out", str(model)]) == 0
        code, out, err = run(capsys, "evaluate", "--model", str(model), "--test",
                             str(tmp_path / "test.conll"), "--json")
        assert code == 0, err
        mapped = json.loads(out)["notation"]
        if notation == "auto":
            assert mapped["words_mapped"] == 2
        else:  # the model tags "(" as written: no word was mapped, none is said to be
            assert mapped is None or mapped["words_mapped"] == 0


# ----------------------------------------------------------------------------- CoNLL-2003
N_SENTENCES = 200


def _as_conllu(corpus) -> str:
    """CoNLL-2003 sentences as CoNLL-U: POS in XPOS, chunks and entities in MISC, one
    ``# newdoc`` per document."""
    lines, doc = [], None
    for s, (words, pos, chunk, ner) in enumerate(zip(corpus.sentences, corpus.column(1),
                                                     corpus.column(2), corpus.column(3))):
        if corpus.doc_ids[s] != doc:
            doc = corpus.doc_ids[s]
            lines.append(f"# newdoc id = d{doc}\n")
        lines.append(f"# sent_id = s{s + 1}\n")
        for i, (w, p, c, n) in enumerate(zip(words, pos, chunk, ner), 1):
            lines.append(f"{i}\t{w}\t_\t_\t{p}\t_\t_\t_\t_\tChunk={c}|NE={n}\n")
        lines.append("\n")
    return "".join(lines)


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory, require_file):
    """A small recognizer (POS and chunk input columns, documents) saved as the NER study
    saves its models, and one saved with no info; the first eng.testa sentences as CoNLL
    and as CoNLL-U."""
    from hmmtl.ner import NamedEntityRecognizer
    from hmmtl.studies.ner import save_recognizer

    d = tmp_path_factory.mktemp("ner")
    train = read_conll(require_file("conll2003/eng.train"))[:600]
    testa_path = require_file("conll2003/eng.testa")
    model = NamedEntityRecognizer(columns={"pos": 1, "chunk": 2}, n_folds=2, two_stage=False,
                                  auto_lists=False, labeler_params={"max_iterations": 30})
    model.fit(train.sentences, train.column(3),
              columns={"pos": train.column(1), "chunk": train.column(2)},
              documents=list(train.doc_ids))
    assert model.input_columns_ == {"pos": 1, "chunk": 2}
    recorded = save_recognizer(model, d / "ner-eng.model")
    bare = model.save(d / "bare.model")
    lines = testa_path.read_text(encoding="utf-8").splitlines(keepends=True)
    blanks = np.flatnonzero([not line.strip() for line in lines])
    text = "".join(lines[: blanks[N_SENTENCES + 1] + 1])  # the -DOCSTART- block is not one
    (d / "sample.conll").write_text(text, encoding="utf-8")
    sample = read_conll(d / "sample.conll")
    (d / "sample.conllu").write_text(_as_conllu(sample), encoding="utf-8")
    return d, recorded, bare, sample


@pytest.mark.data
def test_recognizer_tags_conll_and_conllu_alike(capsys, recognizer):
    d, recorded, _, sample = recognizer
    assert len(sample) >= 0.9 * N_SENTENCES  # less the -DOCSTART- blocks
    code, conll_out, err = run(capsys, "tag", "--model", str(recorded),
                               str(d / "sample.conll"))
    assert code == 0, err
    code, conllu_out, err = run(capsys, "tag", "--model", str(recorded),
                                str(d / "sample.conllu"))
    assert code == 0, err
    (d / "out.conll").write_text(conll_out, encoding="utf-8")
    (d / "out.conllu").write_text(conllu_out, encoding="utf-8")
    from_conll = read_conll(d / "out.conll").column(-1)
    tagged = read_conllu(d / "out.conllu")
    assert misc_values(tagged.column("misc"), "Pred") is None
    # entities go to MISC NE=, the gold XPOS (an input of the model) is kept
    assert tagged.column("xpos") == sample.column(1)
    from_conllu = misc_values(tagged.column("misc"), "NE")
    assert from_conllu == from_conll
    assert sum(t != "O" for s in from_conll for t in s) > 100
    assert misc_values(tagged.column("misc"), "Chunk") == sample.column(2)


@pytest.mark.data
def test_recognizer_evaluates_without_tag_column(capsys, recognizer):
    d, recorded, bare, _ = recognizer
    results = []
    for model in (recorded, bare):
        for sample in ("sample.conll", "sample.conllu"):
            code, out, err = run(capsys, "evaluate", "--model", str(model), "--test",
                                 str(d / sample), "--json")
            assert code == 0, err
            results.append(json.loads(out))
    assert all(r["n_tokens"] == results[0]["n_tokens"] for r in results)
    assert all(r["accuracy"] == results[0]["accuracy"] for r in results)
    assert all(r["f1"] == results[0]["f1"] for r in results)
    assert results[0]["f1"] > 0.3


@pytest.mark.data
def test_recognizer_needs_its_input_columns(capsys, recognizer):
    d, recorded, _, _ = recognizer
    text = (d / "sample.conllu").read_text(encoding="utf-8")
    no_chunk = "".join(line.replace("\tChunk=", "\tX=") for line in text.splitlines(True))
    (d / "no-chunk.conllu").write_text(no_chunk, encoding="utf-8")
    code, out, err = run(capsys, "tag", "--model", str(recorded), str(d / "no-chunk.conllu"))
    assert code == 1 and out == ""
    assert "no-chunk.conllu" in err and "reads the column 'chunk'" in err
    assert "misc:Chunk" in err
