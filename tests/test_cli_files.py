"""The command line's inputs and outputs: an output is never one of the inputs (same file,
however spelled), an output folder that cannot be written is found before the work, every
input format is recognized on stdin as in a named file, NLTK splits are what they say, the
label column is chosen, remembered and written back where it came from, and a model that
does not tag is refused where tags are needed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hmmtl
from hmmtl.cli import main
from test_cli import CONLL_NER, CONLLU

ROOT = Path(hmmtl.__file__).resolve().parent.parent
TEXT = "the dog barks .\na cat sleeps .\nthe cats sleep\n"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def hmmtl_process(*argv, stdin=None, stdout=subprocess.PIPE, cwd=None):
    """``hmmtl ARGS`` in a fresh process (for real stdin / stdout redirections)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hmmtl", *map(str, argv)], stdin=stdin,
                          stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    (d / "train.conllu").write_text(CONLLU * 3, encoding="utf-8")
    assert main(["train", "--train", str(d / "train.conllu"), "--tag-column", "upos",
                 "--max-iter", "20", "--quiet", "--out", str(d / "upos.hmmtl")]) == 0
    (d / "text.txt").write_text(TEXT * 3, encoding="utf-8")
    assert main(["train-hmm", "--text", str(d / "text.txt"), "--states", "3", "--iter", "2",
                 "--quiet", "--out", str(d / "hmm.hmmtl")]) == 0
    return d


@pytest.fixture
def files(tmp_path):
    (tmp_path / "train.conllu").write_text(CONLLU * 3, encoding="utf-8")
    (tmp_path / "ner.conll").write_text(CONLL_NER * 2, encoding="utf-8")
    (tmp_path / "text.txt").write_text(TEXT, encoding="utf-8")
    return tmp_path


# ============================================================================ output = input
def _same_file_cases(m):
    """(id, argv builder(folder) -> (argv, the input that must survive))."""
    tagger, hmm = str(m / "upos.hmmtl"), str(m / "hmm.hmmtl")

    def train_over_train(d):
        return ["train", "--train", d / "train.conllu", "--out", d / "train.conllu"], "train.conllu"

    def train_over_dev(d):
        shutil.copy(d / "train.conllu", d / "dev.conllu")
        return (["train", "--train", d / "train.conllu", "--dev", d / "dev.conllu",
                 "--out", d / "dev.conllu"], "dev.conllu")

    def train_over_hmm(d):
        shutil.copy(hmm, d / "h.hmmtl")
        return (["train", "--train", d / "train.conllu", "--hmm", d / "h.hmmtl",
                 "--out", d / "h.hmmtl"], "h.hmmtl")

    def train_hmm_over_text(d):
        return (["train-hmm", "--text", d / "text.txt", "--states", "2",
                 "--out", d / "text.txt"], "text.txt")

    def tag_over_input(d):
        return ["tag", "--model", tagger, d / "text.txt", "-o", d / "text.txt"], "text.txt"

    def tag_over_model(d):
        shutil.copy(tagger, d / "m.hmmtl")
        return ["tag", "--model", d / "m.hmmtl", d / "text.txt", "-o", d / "m.hmmtl"], "m.hmmtl"

    def tag_other_spelling(d):
        (d / "sub").mkdir()
        return (["tag", "--model", tagger, d / "text.txt", "-o",
                 f"{d}/sub/../text.txt"], "text.txt")

    def tag_hard_link(d):
        os.link(d / "text.txt", d / "link.txt")
        return ["tag", "--model", tagger, d / "text.txt", "-o", d / "link.txt"], "text.txt"

    def tag_symbolic_link(d):
        os.symlink(d / "text.txt", d / "symlink.txt")
        return ["tag", "--model", tagger, d / "symlink.txt", "-o", d / "text.txt"], "text.txt"

    def experiment_over_data(d):
        return (["experiment", "domain-adaptation", "--data", d, "--out", d, "--quick"],
                "train.conllu")

    def demo_over_data(d):
        return ["demo", "--data", d, "--out", d, "--quick"], "train.conllu"

    def models_over_data(d):
        return ["models", "build", "--data", d, "--out", d, "--only", "en-chunk"], "train.conllu"

    def adapt_over_unlabeled(d):
        return (["adapt", "--model", tagger, "--unlabeled", d / "text.txt", "--data", d,
                 "--out", d / "text.txt"], "text.txt")

    return {f.__name__: f for f in (train_over_train, train_over_dev, train_over_hmm,
                                    train_hmm_over_text, tag_over_input, tag_over_model,
                                    tag_other_spelling, tag_hard_link, tag_symbolic_link,
                                    experiment_over_data, demo_over_data, models_over_data,
                                    adapt_over_unlabeled)}


CASES = sorted(_same_file_cases(Path("/")))


@pytest.mark.parametrize("case", CASES)
def test_output_that_is_an_input_is_refused_and_the_input_kept(capsys, files, models, case):
    argv, kept = _same_file_cases(models)[case](files)
    before = {p.name: p.read_bytes() for p in files.iterdir() if p.is_file()}
    code, _, err = run(capsys, *argv)
    assert code == 1, err
    assert "it is the input" in err and "(the same file)" in err, err
    assert "Traceback" not in err
    after = {p.name: p.read_bytes() for p in files.iterdir() if p.is_file()}
    assert after == before, "an input was changed"
    assert kept in before


def _command_of(case: str) -> str:
    return (case.split("_over_")[0] if "_over_" in case else case.split("_")[0]).replace("_", "-")


def test_every_command_with_an_output_is_covered():
    """A new command with an output must join the cases above."""
    from hmmtl.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    with_output = {name for name, p in sub.choices.items()
                   if any(a.dest in ("out", "output") for a in p._actions)}
    assert with_output == {"train", "train-hmm", "tag", "experiment", "demo", "models", "adapt"}
    assert with_output == {_command_of(case) for case in CASES}


def test_stdout_appended_to_the_input_is_refused(files, models):
    """``hmmtl tag in.txt >> in.txt`` would read its own output."""
    target = files / "text.txt"
    before = target.read_bytes()
    with open(target, "ab") as out:
        proc = hmmtl_process("tag", "--model", models / "upos.hmmtl", target, stdout=out)
    assert proc.returncode == 1
    assert "cannot write output to standard output: it is the input" in proc.stderr.decode()
    assert target.read_bytes() == before


def test_output_that_is_stdin_is_refused(files, models):
    """``hmmtl tag -o in.txt < in.txt``."""
    target = files / "text.txt"
    before = target.read_bytes()
    with open(target, "rb") as stdin:
        proc = hmmtl_process("tag", "--model", models / "upos.hmmtl", "-o", target,
                             stdin=stdin)
    assert proc.returncode == 1
    assert "it is the input standard input" in proc.stderr.decode()
    assert target.read_bytes() == before


# ============================================================================ writability
def _immutable(folder: Path):
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not allowed here: {done.stderr.decode().strip()}")
    return folder


def _writing_cases():
    """(id, argv builder(folder, models, out) -> argv, function that would do the work)."""
    return {
        "train": lambda d, m, out: ["train", "--train", d / "train.conllu", "--out",
                                    out / "m.hmmtl"],
        "train-hmm": lambda d, m, out: ["train-hmm", "--text", d / "text.txt", "--states",
                                        "2", "--out", out / "h.hmmtl"],
        "tag": lambda d, m, out: ["tag", "--model", m / "upos.hmmtl", d / "text.txt", "-o",
                                  out / "t.conll"],
        "experiment": lambda d, m, out: ["experiment", "domain-adaptation", "--data", d,
                                         "--out", out / "results"],
        "demo": lambda d, m, out: ["demo", "--data", d, "--quick", "--out", out / "results"],
    }


@pytest.fixture
def no_work(monkeypatch):
    """Every command's work fails the test if it starts."""
    def work(*args, **kwargs):
        raise AssertionError("the work started before the output folder was checked")

    from hmmtl.cli import experiment
    from hmmtl.hmm import CategoricalHMM
    from hmmtl.studies import demo
    from hmmtl.transfer.pipeline import Tagger

    monkeypatch.setattr(Tagger, "fit", work)
    monkeypatch.setattr(CategoricalHMM, "fit", work)
    monkeypatch.setattr(Tagger, "predict", work)
    monkeypatch.setattr(experiment, "find_study", work)
    monkeypatch.setattr(demo, "run_demo", work)


@pytest.mark.parametrize("command", sorted(_writing_cases()))
@pytest.mark.parametrize("kind", ["parent-is-a-file", "immutable-folder"])
def test_unwritable_output_folder_is_found_before_the_work(capsys, files, models, no_work,
                                                           command, kind):
    if kind == "parent-is-a-file":
        out = files / "text.txt"  # a regular file where a folder should be: root can't either
        expected = "is not a folder"
    else:
        out = files / "locked"
        out.mkdir()
        _immutable(out)
        expected = "is not writable (Operation not permitted)"
    try:
        code, _, err = run(capsys, *_writing_cases()[command](files, models, out))
    finally:
        if kind == "immutable-folder":
            subprocess.run(["chattr", "-i", str(out)], check=True)
    assert code == 1, err
    assert expected in err, err
    assert "Traceback" not in err


# ============================================================================ stdin formats
def _tag_stdin(models, data: bytes, *extra):
    return hmmtl_process("tag", "--model", models / "upos.hmmtl", *extra,
                         stdin=_pipe(data))


def _pipe(data: bytes):
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    return r


@pytest.mark.parametrize("fmt", ["conllu", "conll", "text"])
def test_tag_reads_every_format_on_stdin_as_from_a_file(files, models, fmt):
    data = {"conllu": CONLLU.encode(), "conll": b"the DT\ndog NN\n\na DT\ncat NN\n",
            "text": TEXT.encode()}[fmt]
    name = {"conllu": "x.conllu", "conll": "x.conll", "text": "x.txt"}[fmt]
    (files / name).write_bytes(data)
    piped = _tag_stdin(models, data)
    named = hmmtl_process("tag", "--model", models / "upos.hmmtl", files / name)
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout == named.stdout
    if fmt == "conllu":  # the comments pass through, never tagged as words
        assert b"# sent_id = weblog-1-0001\n" in piped.stdout
    if fmt == "conll":  # the gold column is kept, the predictions come after it
        assert piped.stdout.split(b"\n")[0].startswith(b"the\tDT\t") or \
            piped.stdout.split(b"\n")[0].startswith(b"the DT ")


def test_a_file_without_a_telling_name_is_sniffed_too(files, models, capsys):
    (files / "data").write_text(CONLLU, encoding="utf-8")
    code, out, err = run(capsys, "tag", "--model", models / "upos.hmmtl", files / "data")
    assert code == 0, err
    assert out.startswith("# newdoc id = weblog-1\n")


def test_ambiguous_stdin_asks_for_format(models):
    proc = _tag_stdin(models, b"the dog\na cat\n")
    assert proc.returncode == 1
    assert proc.stderr.decode().strip() == (
        "hmmtl: error: <stdin>: cannot tell whether this is CoNLL (one token a line) or plain "
        "text (one sentence a line); give --format conll or --format text")
    proc = _tag_stdin(models, b"the dog\na cat\n", "--format", "text")
    assert proc.returncode == 0
    assert [line.split("\t")[0] for line in proc.stdout.decode().splitlines()] == [
        "the", "dog", "", "a", "cat", ""]


@pytest.mark.parametrize("fmt", ["conllu", "conll", "text"])
def test_train_hmm_reads_stdin_in_every_format(files, fmt):
    data = {"conllu": CONLLU * 2, "conll": CONLL_NER, "text": TEXT}[fmt].encode()
    out = files / "h.hmmtl"
    proc = hmmtl_process("train-hmm", "--text", "-", "--states", "2", "--iter", "1", "--quiet",
                         "--out", out, stdin=_pipe(data))
    assert proc.returncode == 0, proc.stderr.decode()
    from hmmtl.serialize import load

    words = set(load(out).vocabulary_.types)
    assert {"dog", "cat"} & words or {"John", "Paris"} & words
    # words only: no CoNLL-U comment, no tag, no -DOCSTART- became a word
    assert not words & {"#", "DET", "NN", "NNP", "B-PER", "-DOCSTART-", "sent_id"}


def test_train_and_evaluate_read_stdin(files, models):
    out = files / "m.hmmtl"
    proc = hmmtl_process("train", "--train", "-", "--tag-column", "xpos", "--max-iter", "5",
                         "--quiet", "--out", out, stdin=_pipe((CONLLU * 2).encode()))
    assert proc.returncode == 0, proc.stderr.decode()
    proc = hmmtl_process("evaluate", "--model", out, "--test", "-", "--json",
                         stdin=_pipe(CONLLU.encode()))
    assert proc.returncode == 0, proc.stderr.decode()
    from hmmtl.io import read_conllu

    assert json.loads(proc.stdout)["n_tokens"] == read_conllu([CONLLU]).n_tokens == 11


def test_byte_order_mark_of_plain_text_is_not_part_of_a_word(files, models, capsys):
    (files / "bom.txt").write_bytes(b"\xef\xbb\xbfThe dog barks .\n")
    code, out, err = run(capsys, "tag", "--model", models / "upos.hmmtl", files / "bom.txt")
    assert code == 0, err
    assert out.split("\t")[0] == "The"
    from hmmtl.io import iter_text, read_text

    assert read_text(files / "bom.txt").sentences[0][0] == "The"
    assert next(iter_text(files / "bom.txt"))[0][0] == "The"


# ============================================================================ columns
def test_a_model_writes_its_predictions_to_the_column_it_was_trained_on(files, models, capsys):
    """Trained on UPOS: the predictions go to UPOS; the gold XPOS stays as it was."""
    test = files / "train.conllu"
    code, out, err = run(capsys, "tag", "--model", models / "upos.hmmtl", test)
    assert code == 0, err
    gold = [line.split("\t") for line in test.read_text().splitlines()
            if line and not line.startswith("#")]
    tagged = [line.split("\t") for line in out.splitlines() if line and not line.startswith("#")]
    assert [g[4] for g in gold] == [t[4] for t in tagged]  # XPOS untouched
    assert {t[3] for t in tagged} <= {"DET", "NOUN", "VERB", "PUNCT", "_"}
    code, out, err = run(capsys, "tag", "--model", models / "upos.hmmtl", "--tag-column",
                         "xpos", test)
    tagged = [line.split("\t") for line in out.splitlines() if line and not line.startswith("#")]
    assert {t[4] for t in tagged} <= {"DET", "NOUN", "VERB", "PUNCT", "_"}


def test_evaluate_scores_the_column_the_model_was_trained_on(files, models, capsys):
    code, out, err = run(capsys, "evaluate", "--model", models / "upos.hmmtl", "--test",
                         files / "train.conllu", "--json")
    assert code == 0, err
    assert "never seen by the model" not in err  # it compared UPOS with UPOS, not XPOS
    assert json.loads(out)["accuracy"] > 0.9


def test_several_label_columns_need_a_choice(files, capsys):
    code, _, err = run(capsys, "train", "--train", files / "ner.conll", "--out",
                       files / "m.hmmtl")
    assert code == 1
    assert "has several label columns (col1, col2); choose one with --tag-column" in err
    code, _, err = run(capsys, "train", "--train", files / "ner.conll", "--tag-column", "2",
                       "--max-iter", "3", "--quiet", "--out", files / "m.hmmtl")
    assert code == 0, err


def test_a_model_that_does_not_tag_is_refused(files, models, capsys):
    for command in (["tag", "--model", models / "hmm.hmmtl", files / "text.txt"],
                    ["evaluate", "--model", models / "hmm.hmmtl", "--test",
                     files / "train.conllu"]):
        code, out, err = run(capsys, *command)
        assert code == 1 and out == ""
        assert ("holds a CategoricalHMM, which gives hidden states, not tags; give a model "
                "trained with 'hmmtl train'") in err


# ============================================================================ NLTK splits
def test_nltk_test_split_is_the_test_split(data_dir, tmp_path, capsys):
    """``--format nltk:conll2000 --test test`` and ``--test nltk:conll2000:test`` score the
    47,377 tokens of the test split, not train + test."""
    model = tmp_path / "m.hmmtl"
    (tmp_path / "tiny.conll").write_text("Confidence NN\nin IN\nthe DT\npound NN\n\n",
                                         encoding="utf-8")
    assert main(["train", "--train", str(tmp_path / "tiny.conll"), "--max-iter", "2",
                 "--quiet", "--out", str(model)]) == 0
    capsys.readouterr()
    for argv in (["--format", "nltk:conll2000", "--test", "test"],
                 ["--test", "nltk:conll2000:test"]):
        code, out, err = run(capsys, "evaluate", "--model", model, "--data", data_dir,
                             "--tag-column", "pos", "--json", *argv)
        assert code == 0, err
        assert json.loads(out)["n_tokens"] == 47377


@pytest.mark.parametrize("argv, message", [
    (["train", "--format", "nltk:conll2000", "--tag-column", "pos"],
     "nltk:conll2000 has splits (train, test) that are not meant to be mixed; name one"),
    (["evaluate", "--format", "nltk:conll2000:train", "--test", "test", "--model", "m"],
     "--test 'test' and --format 'nltk:conll2000:train' name different splits"),
])
def test_nltk_splits_are_never_mixed_silently(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, *argv, *(["--out", tmp_path / "m.hmmtl"]
                                        if argv[0] == "train" else []))
    assert code == 1 and message in err, err


def test_train_hmm_on_dask_reads_the_format_the_local_path_reads(files, capsys):
    """``--dask local`` on a .conllu file learns from its words, as the local path does
    (it read every column as a word)."""
    pytest.importorskip("dask.distributed")
    from hmmtl.serialize import load

    vocabularies = {}
    for where in ("local", "dask"):
        out = files / f"{where}.hmmtl"
        argv = ["train-hmm", "--text", files / "train.conllu", "--states", "2", "--iter", "1",
                "--quiet", "--out", out] + (["--dask", "local"] if where == "dask" else [])
        code, _, err = run(capsys, *argv)
        assert code == 0, err
        vocabularies[where] = load(out).vocabulary_.types
    assert vocabularies["dask"] == vocabularies["local"]
    assert "DET" not in vocabularies["dask"] and "nsubj" not in vocabularies["dask"]


# ============================================================================ batches
def _documents():
    """Documents of 1 to 9 sentences where only the document tells an entity: a pet
    owner's "dog" and "cat" are pets (B-PET) in every sentence, a stray's are not (O), and
    only one sentence of each document says which ("my pet dog", "a stray dog")."""
    import random

    rng = random.Random(0)
    docs = []
    for d, n in enumerate([3, 1, 9, 2, 5, 1, 7, 4, 6, 3, 8, 2]):
        animal, pet = rng.choice(["dog", "cat"]), d % 2 == 0
        tag = "B-PET" if pet else "O"
        cue = (["my", "pet", animal, "runs"] if pet else ["a", "stray", animal, "runs"])
        doc = [(cue, ["O", "O", tag, "O"])]
        for _ in range(n - 1):
            words = [rng.choice(["the", "a", "this"]), animal,
                     rng.choice(["sleeps", "eats", "sings"]), "."]
            doc.append((words, ["O", tag, "O", "O"]))
        rng.shuffle(doc)
        docs.append(doc)
    return docs


def _conll_2003(docs) -> str:
    """CoNLL-2003 layout: a -DOCSTART- line and a blank line before each document, an empty
    document (two -DOCSTART- in a row) and one at the very end."""
    out = []
    for k, doc in enumerate(docs):
        out.append("-DOCSTART- -X- O\n\n")
        if k == 2:
            out.append("-DOCSTART- -X- O\n\n")
        for words, tags in doc:
            out.append("".join(f"{w} {'NN' if w.isalpha() else '.'} {t}\n"
                               for w, t in zip(words, tags)) + "\n")
    return "".join(out) + "-DOCSTART- -X- O\n"


def _conllu_newdoc(docs) -> str:
    out = []
    for d, doc in enumerate(docs):
        for s, (words, _) in enumerate(doc):
            head = f"# newdoc id = d{d}\n" if s == 0 else ""
            out.append(head + f"# sent_id = d{d}-{s}\n" + "".join(
                f"{i}\t{w}\t{w}\tX\tX\t_\t0\tdep\t_\t_\n" for i, w in enumerate(words, 1))
                + "\n")
    return "".join(out)


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    """A NamedEntityRecognizer trained with documents (it reads whole documents)."""
    from model_zoo import _recognizer

    from hmmtl.serialize import save

    docs = _documents()
    X = [w for doc in docs for w, _ in doc]
    y = [t for doc in docs for _, t in doc]
    ids = [d for d, doc in enumerate(docs) for _ in doc]
    model = _recognizer().fit(X, y, documents=ids)
    assert model.uses_documents_
    return save(model, tmp_path_factory.mktemp("ner") / "ner.hmmtl")


@pytest.mark.parametrize("fmt", ["conll", "conllu"])
@pytest.mark.parametrize("which", ["document-level NER", "plain POS"])
def test_tag_output_does_not_depend_on_the_batch_size(capsys, tmp_path, models, recognizer,
                                                      fmt, which):
    """``hmmtl tag --batch-size N`` writes the same bytes for every N: a batch never cuts a
    document (a document-level model sees it whole), and a batch that would hold only a
    -DOCSTART- line (CoNLL-2003 with N=1, an empty document) is no error."""
    model = recognizer if which.startswith("document") else models / "upos.hmmtl"
    path = tmp_path / f"in.{fmt}"
    text = (_conll_2003 if fmt == "conll" else _conllu_newdoc)(_documents())
    path.write_text(text, encoding="utf-8")
    outputs = {}
    for batch in (1, 2, 3, 7, 1000):
        code, out, err = run(capsys, "tag", "--model", model, "--batch-size", batch, path)
        assert code == 0, err
        outputs[batch] = out
    assert len(set(outputs.values())) == 1, {b: o[:200] for b, o in outputs.items()}
    if fmt == "conll":
        assert outputs[1].count("-DOCSTART-") == text.count("-DOCSTART-")


def test_the_recognizer_reads_documents_so_cutting_them_would_show(recognizer):
    """The batch test above could fail: on this sample the recognizer's tags change when
    each sentence is made a document of its own (as a batch cut inside a document did)."""
    from hmmtl.serialize import load

    model = load(recognizer)
    docs = _documents()
    X = [w for doc in docs for w, _ in doc]
    whole = model.predict(X, documents=[d for d, doc in enumerate(docs) for _ in doc])
    cut = model.predict(X, documents=list(range(len(X))))
    assert [list(s) for s in whole] != [list(s) for s in cut]


def test_chunks_never_split_a_document():
    from hmmtl.cli.tag import chunks_of_lines

    for fmt, text, marker in (("conll", _conll_2003(_documents()), "-DOCSTART-"),
                              ("conllu", _conllu_newdoc(_documents()), "# newdoc")):
        lines = text.splitlines(keepends=True)
        for batch in (1, 2, 3, 7):
            pieces = list(chunks_of_lines(iter(lines), fmt, batch, documents=True))
            assert "".join("".join(p) for _, p in pieces) == text
            assert len(pieces) > 1
            for _, piece in pieces:
                assert piece[0].startswith(marker)


# ============================================================================ a file twice
def test_unlabeled_file_named_twice_is_refused(capsys, files):
    """The same --unlabeled file twice (however spelled) would count its sentences twice."""
    (files / "web.txt").write_text(TEXT, encoding="utf-8")
    os.link(files / "web.txt", files / "web-link.txt")
    for second in (f"{files}/./web.txt", files / "web-link.txt"):
        code, _, err = run(capsys, "train", "--train", files / "train.conllu", "--tag-column",
                           "upos", "--unlabeled", files / "web.txt", second, "--out",
                           files / "m.hmmtl")
        assert code == 1
        assert "--unlabeled names the file" in err and "twice" in err and "web" in err, err
        assert not (files / "m.hmmtl").exists()


def test_train_file_named_twice_is_refused(capsys, files):
    code, _, err = run(capsys, "train", "--train", files / "train.conllu",
                       f"{files}/../{files.name}/train.conllu", "--tag-column", "upos",
                       "--out", files / "m.hmmtl")
    assert code == 1 and "--train names the file" in err and "twice" in err, err


def test_text_file_named_twice_is_refused(capsys, files):
    code, _, err = run(capsys, "train-hmm", "--text", files / "text.txt", files / "text.txt",
                       "--states", "2", "--out", files / "h.hmmtl")
    assert code == 1 and "--text names the file" in err and "twice" in err, err


def test_unlabeled_repeating_the_train_file_is_dropped_with_a_warning(capsys, files,
                                                                       monkeypatch):
    """--unlabeled naming the --train file: its words are already in the HMMs' text; the
    file is dropped from --unlabeled, with a warning, and the rest is read."""
    from hmmtl.cli import _common

    (files / "web.txt").write_text(TEXT, encoding="utf-8")
    kept = _common.unlabeled_files([str(files / "train.conllu"), str(files / "web.txt")],
                                   [("file", f"{files}/./train.conllu", None)])
    assert kept == [str(files / "web.txt")]
    assert "warning: --unlabeled" in capsys.readouterr().err
    with pytest.raises(_common.CommandError, match=r"every file given is a --train file"):
        _common.unlabeled_files([str(files / "train.conllu")],
                                [("file", str(files / "train.conllu"), None)])
