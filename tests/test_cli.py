"""The ``hmmtl`` command line: help, exit codes, errors, and the commands end to end on tiny
files written here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hmmtl
from hmmtl import _cache
from hmmtl.cli import main
from hmmtl.cli.tag import chunks_of_lines

ROOT = Path(hmmtl.__file__).resolve().parent.parent

CONLLU = (
    "# newdoc id = weblog-1\n"
    "# sent_id = weblog-1-0001\n"
    "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
    "2\tdog\tdog\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
    "3\tbarks\tbark\tVERB\tVBZ\t_\t0\troot\t_\t_\n"
    "4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n"
    "\n"
    "# sent_id = weblog-1-0002\n"
    "1\tA\ta\tDET\tDT\t_\t2\tdet\t_\t_\n"
    "2\tcat\tcat\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
    "3-4\tsleeps\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "3\tsleeps\tsleep\tVERB\tVBZ\t_\t0\troot\t_\t_\n"
    "4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n"
    "\n"
    "# sent_id = email-2-0001\n"
    "1\tthe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
    "2\tcats\tcat\tNOUN\tNNS\t_\t3\tnsubj\t_\t_\n"
    "3\tsleep\tsleep\tVERB\tVBP\t_\t0\troot\t_\t_\n"
    "\n"
)

CONLL_NER = (
    "-DOCSTART- -X- O\n\n"
    "John NNP B-PER\nSmith NNP I-PER\nvisited VBD O\nParis NNP B-LOC\n. . O\n\n"
    "Mary NNP B-PER\nlikes VBZ O\nBerlin NNP B-LOC\n\n"
    "-DOCSTART- -X- O\n\n"
    "Paris NNP B-LOC\nis VBZ O\nbig JJ O\n\n"
)

COMMANDS = {
    "info": ["--data", "--json"],
    "train-hmm": ["--text", "--states", "--iter", "--online", "--kbest", "--format",
                  "--lowercase", "--min-count", "--seed", "--quiet", "--out"],
    "train": ["--train", "--format", "--tag-column", "--algorithm", "--hmm", "--represent",
              "--dev", "--c1", "--c2", "--max-iter", "--out"],
    "tag": ["--model", "--format", "--output", "--tag-column", "FILE"],
    "evaluate": ["--model", "--test", "--tag-column", "--format", "--by-domain", "--json"],
    "experiment": ["domain-adaptation", "multi-task", "--data", "--out", "--quick"],
    "demo": ["--data"],
}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path):
    (tmp_path / "train.conllu").write_text(CONLLU * 3, encoding="utf-8")
    (tmp_path / "test.conllu").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "ner.conll").write_text(CONLL_NER * 3, encoding="utf-8")
    (tmp_path / "raw.txt").write_text("the dog barks .\n\na cat sleeps .\nthe cats sleep\n",
                                      encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="module")
def pos_model(tmp_path_factory):
    """A small CRF POS tagger trained through the CLI (shared by the tests below)."""
    d = tmp_path_factory.mktemp("pos")
    (d / "train.conllu").write_text(CONLLU * 3, encoding="utf-8")
    code = main(["train", "--train", str(d / "train.conllu"), "--tag-column", "xpos",
                 "--max-iter", "30", "--quiet", "--out", str(d / "pos.hmmtl")])
    assert code == 0
    return d / "pos.hmmtl"


# ----------------------------------------------------------------------------- parser
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_of_every_command(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: hmmtl {command}")
    for option in COMMANDS[command]:
        assert option in out, option


def test_top_level_help_lists_commands_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in COMMANDS:
        assert command in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"hmmtl {hmmtl.__version__}"


@pytest.mark.parametrize("argv, message", [
    ([], "a command is required"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["tag"], "the following arguments are required: --model"),
    (["train-hmm", "--text", "x.txt", "--states", "0", "--out", "m"],
     "expected a positive integer, got 0"),
    (["train", "--algorithm", "svm", "--out", "m"], "invalid choice: 'svm'"),
    (["tag", "--model", "m", "--format", "xml"], "invalid choice: 'xml'"),
    (["experiment", "nonsense", "--out", "o"], "invalid choice: 'nonsense'"),
    (["experiment", "domain-adaptation", "--out", "o", "--texts", "both,web"],
     "expected comma-separated texts among source, target, both, transductive, got 'both,web'"),
    (["experiment", "domain-adaptation", "--out", "o", "--hmm-iter", "0"],
     "expected a positive integer, got 0"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert "usage: hmmtl" in err


# ----------------------------------------------------------------------------- info
def test_info_prints_versions_and_data(capsys, tmp_path):
    import numba
    import scipy

    data = tmp_path / "data"
    (data / "ud" / "en_ewt").mkdir(parents=True)
    (data / "ud" / "en_ewt" / "en_ewt-email-dev.conllu").write_text("")
    code, out, _ = run(capsys, "info", "--data", str(data))
    assert code == 0
    assert f"hmmtl {hmmtl.__version__}" in out
    assert np.__version__ in out and scipy.__version__ in out and numba.__version__ in out
    assert "numba threads" in out and "threading layer" in out and "kernel cache" in out
    assert "GPU" in out and "Dask" in out
    assert f"data              {data.resolve()} (from --data)" in out
    assert "UD English EWT           ud/en_ewt/ (1 files)" in out
    assert "CoNLL-2003 English       missing" in out


def test_info_json(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HMMTL_DATA", str(tmp_path / "absent"))
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["hmmtl"] == hmmtl.__version__
    assert report["packages"]["numpy"] == np.__version__
    assert report["numba"]["threads"] >= 1
    assert report["data"] == {"source": "HMMTL_DATA", "path": str(tmp_path / "absent"),
                              "found": False, "corpora": {}, "nltk_data": []}
    assert isinstance(report["gpu"]["available"], bool)


def test_info_with_real_data(capsys, data_dir):
    code, out, _ = run(capsys, "info", "--data", str(data_dir))
    assert code == 0
    assert "conll2000 (NLTK)         nltk_data/corpora/conll2000.zip" in out
    assert "CoNLL-2003 English       conll2003/" in out


# ----------------------------------------------------------------------------- import, cache
def test_import_hmmtl_stays_light():
    code = ("import sys, hmmtl; heavy = [m for m in ('cupy', 'dask', 'matplotlib', 'numba', "
            "'sklearn', 'scipy') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_numba_cache_goes_to_user_dir_when_package_is_read_only(tmp_path, monkeypatch):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    monkeypatch.setattr(_cache, "_package_cache_writable", lambda package_dir: False)
    folder = _cache.configure_numba_cache(env)
    assert folder == str(tmp_path / "xdg" / "hmmtl" / "numba")
    assert env["NUMBA_CACHE_DIR"] == folder and Path(folder).is_dir()


def test_numba_cache_user_setting_wins_and_writable_package_keeps_in_tree(tmp_path,
                                                                         monkeypatch):
    env = {"NUMBA_CACHE_DIR": "/somewhere/else", "XDG_CACHE_HOME": str(tmp_path)}
    monkeypatch.setattr(_cache, "_package_cache_writable", lambda package_dir: False)
    assert _cache.configure_numba_cache(env) == "/somewhere/else"
    assert env["NUMBA_CACHE_DIR"] == "/somewhere/else"
    monkeypatch.undo()
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "sub" / "__init__.py").write_text("")
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert _cache.configure_numba_cache(env, package_dir=pkg) is None
    assert "NUMBA_CACHE_DIR" not in env
    assert (pkg / "sub" / "__pycache__").is_dir()


def test_numba_cache_dir_is_set_before_numba_import(tmp_path):
    """In a fresh interpreter whose package folder counts as read-only, numba sees the
    user cache folder as its CACHE_DIR."""
    code = ("import hmmtl._cache as c; c._package_cache_writable = lambda d: False\n"
            "import importlib, sys\n"
            "sys.modules.pop('hmmtl', None)\n"
            "import hmmtl, numba; print(numba.config.CACHE_DIR)")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env, cwd=ROOT)
    assert out.stdout.strip() == str(tmp_path / "hmmtl" / "numba")


# ----------------------------------------------------------------------------- runtime errors
def test_runtime_errors_exit_1_without_traceback(capsys, files):
    code, _, err = run(capsys, "tag", "--model", str(files / "nope.hmmtl"),
                       str(files / "raw.txt"))
    assert code == 1
    assert err.startswith("hmmtl: error: model file") and "does not exist" in err
    assert "Traceback" not in err

    (files / "bad.hmmtl").write_text("not a model")
    code, _, err = run(capsys, "tag", "--model", str(files / "bad.hmmtl"), str(files / "raw.txt"))
    assert code == 1 and "not an hmmtl model file" in err and "Traceback" not in err

    code, _, err = run(capsys, "train", "--train", str(files / "train.conllu"),
                       "--out", str(files / "no" / "dir" / "m.hmmtl"))
    assert code == 1
    assert "folder" in err and "does not exist; create it first" in err

    code, _, err = run(capsys, "train-hmm", "--text", str(files / "missing.txt"), "--states", "2",
                       "--out", str(files / "h.hmmtl"))
    assert code == 1 and "missing.txt: no such file" in err


def test_debug_shows_traceback(capsys, files):
    (files / "bad.hmmtl").write_text("not a model")
    code, _, err = run(capsys, "tag", "--debug", "--model", str(files / "bad.hmmtl"))
    assert code == 1
    assert "Traceback" in err and "ModelFileError" in err


def test_malformed_input_names_file_and_line(capsys, files, pos_model):
    lines = CONLLU.splitlines(keepends=True)
    bad = lines[:13] + ["3\tsleeps\tonly-three-columns\n"] + lines[14:]
    (files / "bad.conllu").write_text("".join(bad))
    for batch in ("1", "1000"):  # the line number is right whichever piece it is in
        code, _, err = run(capsys, "tag", "--model", str(pos_model), "--batch-size", batch,
                           str(files / "bad.conllu"))
        assert code == 1
        assert f"hmmtl: error: {files / 'bad.conllu'}:14:" in err


def test_experiment_and_demo_errors(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("HMMTL_DATA", raising=False)
    code, _, err = run(capsys, "experiment", "domain-adaptation", "--out", str(tmp_path / "o"))
    assert code == 1 and "the studies need the corpora: give --data DIR" in err
    code, _, err = run(capsys, "experiment", "multi-task", "--data", str(tmp_path / "nope"),
                       "--out", str(tmp_path / "o"))
    assert code == 1 and "no such folder" in err


def test_experiment_calls_the_study_with_its_options(capsys, tmp_path, monkeypatch):
    from hmmtl.cli import experiment

    calls = {}

    def study(data_dir=None, out_dir=None, quick=False, *, seeds=None, states=None,
              progress=True):
        calls.update(data_dir=data_dir, out_dir=out_dir, quick=quick, seeds=seeds,
                     states=states, progress=progress)
        return {}

    monkeypatch.setattr(experiment, "find_study", lambda name: study)
    code, _, _ = run(capsys, "experiment", "domain-adaptation", "--data", str(tmp_path),
                     "--out", str(tmp_path / "res"), "--quick", "--seeds", "0,1",
                     "--states", "8,16", "--quiet")
    assert code == 0
    assert calls == {"data_dir": tmp_path.resolve(), "out_dir": tmp_path / "res", "quick": True,
                     "seeds": [0, 1], "states": [8, 16], "progress": False}


def test_experiment_passes_texts_and_hmm_iterations(capsys, tmp_path, monkeypatch):
    from hmmtl.cli import experiment

    calls = {}

    def study(data_dir=None, out_dir=None, quick=False, *, texts=None, hmm_iter=None,
              n_hmms=None, progress=True):
        calls.update(texts=texts, hmm_iter=hmm_iter, n_hmms=n_hmms)
        return {}

    monkeypatch.setattr(experiment, "find_study", lambda name: study)
    code, _, _ = run(capsys, "experiment", "domain-adaptation", "--data", str(tmp_path),
                     "--out", str(tmp_path / "res"), "--texts", "both,transductive",
                     "--hmm-iter", "12", "--hmms", "3", "--quiet")
    assert code == 0
    assert calls == {"texts": ["both", "transductive"], "hmm_iter": 12, "n_hmms": 3}


# ----------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("text, fmt", [(CONLLU * 2, "conllu"), (CONLL_NER, "conll"),
                                       ("a b\n\nc\nd e f\n\n\n", "text")])
def test_chunks_cover_the_input_at_sentence_boundaries(text, fmt):
    lines = text.splitlines(keepends=True)
    for batch in (1, 2, 100):
        pieces = list(chunks_of_lines(iter(lines), fmt, batch))
        assert "".join("".join(p) for _, p in pieces) == text
        starts = [s for s, _ in pieces]
        assert starts[0] == 1
        assert starts == [1 + sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))]
        for _, piece in pieces[1:]:
            assert piece[0].strip()  # never starts with a blank line
        if batch == 1 and fmt == "conllu":
            assert len(pieces) == 6


# ----------------------------------------------------------------------------- end to end
def test_train_tag_evaluate_conllu(capsys, files, pos_model):
    from hmmtl.serialize import load

    model = load(pos_model)
    test = str(files / "test.conllu")
    code, out_small, _ = run(capsys, "tag", "--model", str(pos_model), "--batch-size", "1", test)
    assert code == 0
    code, out, _ = run(capsys, "tag", "--model", str(pos_model), test)
    assert code == 0 and out == out_small
    # same file back, with the predicted XPOS column
    from hmmtl.io import read_conllu

    gold = read_conllu(files / "test.conllu")
    tagged = read_conllu(out.splitlines(keepends=True))
    assert tagged.column("xpos") == model.predict(gold.sentences)
    assert tagged.column("upos") == gold.column("upos")
    assert out.count("# sent_id") == 3 and "3-4\tsleeps" in out

    code, out, _ = run(capsys, "evaluate", "--model", str(pos_model), "--test", test,
                       "--tag-column", "xpos", "--json", "--by-domain")
    assert code == 0
    result = json.loads(out)
    pred = model.predict(gold.sentences)
    flat_g = [t for s in gold.column("xpos") for t in s]
    flat_p = [t for s in pred for t in s]
    assert result["n_tokens"] == len(flat_g) == 11
    assert result["accuracy"] == pytest.approx(np.mean(np.array(flat_g) == np.array(flat_p)))
    assert result["oov_accuracy"] is None  # every test word was seen in training
    assert set(result["by_domain"]) == set(gold.domains)
    assert sum(d["n_tokens"] for d in result["by_domain"].values()) == 11
    assert "f1" not in result  # POS tags are not a BIO tag set


def test_tag_output_file_is_atomic(capsys, files, pos_model):
    out = files / "tagged.conllu"
    out.write_text("previous")
    code, _, err = run(capsys, "tag", "--model", str(pos_model), "--output",
                       str(files / "nodir" / "x.conllu"), str(files / "test.conllu"))
    assert code == 1 and "does not exist" in err
    assert not (files / "nodir").exists()
    (files / "broken.conllu").write_text(CONLLU + "1\tx\n")
    code, _, _ = run(capsys, "tag", "--model", str(pos_model), "--output", str(out),
                     str(files / "broken.conllu"))
    assert code == 1
    assert out.read_text() == "previous"
    assert sorted(p.name for p in files.iterdir() if p.name.startswith(".")) == []
    code, _, err = run(capsys, "tag", "--model", str(pos_model), "--output", str(out),
                       str(files / "test.conllu"))
    assert code == 0 and "tagged 3 sentences, 11 tokens" in err
    assert out.read_text().startswith("# newdoc id = weblog-1\n")


def test_tag_plain_text_gives_conll(capsys, files, pos_model):
    from hmmtl.serialize import load

    code, out, _ = run(capsys, "tag", "--model", str(pos_model), str(files / "raw.txt"))
    assert code == 0
    blocks = [b.splitlines() for b in out.strip("\n").split("\n\n")]
    sentences = [["the", "dog", "barks", "."], ["a", "cat", "sleeps", "."],
                 ["the", "cats", "sleep"]]
    assert [[line.split("\t")[0] for line in b] for b in blocks] == sentences
    assert [[line.split("\t")[1] for line in b] for b in blocks] == \
        load(pos_model).predict(sentences)


def test_evaluate_warns_about_labels_the_model_never_saw(capsys, files, pos_model):
    code, out, err = run(capsys, "evaluate", "--model", str(pos_model), "--test",
                         str(files / "test.conllu"), "--tag-column", "upos", "--json")
    assert code == 0
    assert ("hmmtl: warning: 4 gold label(s) never seen by the model count as errors: "
            "DET, NOUN, PUNCT, VERB") in err
    assert json.loads(out)["accuracy"] == 0.0


def test_evaluate_unknown_column(capsys, files, pos_model):
    code, _, err = run(capsys, "evaluate", "--model", str(pos_model), "--test",
                       str(files / "test.conllu"), "--tag-column", "nosuch")
    assert code == 1
    assert "--tag-column 'nosuch': no column 'nosuch'" in err
    # in CoNLL-U, entities are kept in MISC (NE=): the error says where it looked
    code, _, err = run(capsys, "evaluate", "--model", str(pos_model), "--test",
                       str(files / "test.conllu"), "--tag-column", "ner")
    assert code == 1
    assert "--tag-column ner: no token of" in err and "NE= in its MISC column" in err


def test_train_ner_conll_and_evaluate_f1(capsys, files):
    model = files / "ner.hmmtl"
    code, _, err = run(capsys, "train", "--train", str(files / "ner.conll"), "--format", "conll",
                       "--tag-column", "2", "--algorithm", "perceptron", "--max-iter", "5",
                       "--quiet", "--out", str(model))
    assert code == 0, err
    code, out, _ = run(capsys, "evaluate", "--model", str(model), "--test",
                       str(files / "ner.conll"), "--format", "conll", "--tag-column", "2",
                       "--json")
    assert code == 0
    result = json.loads(out)
    from hmmtl.io import read_conll
    from hmmtl.metrics import entity_scores
    from hmmtl.serialize import load

    corpus = read_conll(files / "ner.conll")
    expected = entity_scores(corpus.column(2), load(model).predict(corpus.sentences))
    assert result["f1"] == pytest.approx(expected.f1)
    assert result["precision"] == pytest.approx(expected.precision)
    # tagging a CoNLL file appends the predictions as a new last column
    code, out, _ = run(capsys, "tag", "--model", str(model), str(files / "ner.conll"))
    assert code == 0
    first = out.split("\n\n")[1].splitlines()[0].split(" ")
    assert first[:3] == ["John", "NNP", "B-PER"] and len(first) == 4


def test_train_hmm_then_tagger_with_hmm_features(capsys, files):
    from hmmtl.serialize import load

    hmm_path = files / "hmm.hmmtl"
    code, _, err = run(capsys, "train-hmm", "--text", str(files / "raw.txt"),
                       str(files / "train.conllu"), "--states", "3", "--iter", "4",
                       "--lowercase", "--seed", "1", "--out", str(hmm_path))
    assert code == 0, err
    assert "log-likelihood per token after" in err and f"wrote CategoricalHMM to {hmm_path}" in err
    hmm = load(hmm_path)
    assert hmm.n_states == 3 and hmm.n_iter == 4 and hmm.lowercase is True
    tagger_path = files / "tagger.hmmtl"
    code, _, err = run(capsys, "train", "--train", str(files / "train.conllu"), "--tag-column",
                       "upos", "--hmm", str(hmm_path), "--represent", "viterbi,posterior",
                       "--max-iter", "10", "--quiet", "--out", str(tagger_path))
    assert code == 0, err
    tagger = load(tagger_path)
    assert tagger.representations_ == ("viterbi", "posterior") and len(tagger.hmms_) == 1
    code, _, err = run(capsys, "train", "--train", str(files / "train.conllu"),
                       "--represent", "viterbi", "--out", str(files / "x.hmmtl"))
    assert code == 1 and "--represent needs --unlabeled FILE or --hmm MODEL" in err
    code, _, err = run(capsys, "train", "--train", str(files / "train.conllu"),
                       "--hmm", str(tagger_path), "--out", str(files / "x.hmmtl"))
    assert code == 1 and "holds a Tagger, not an HMM" in err


def test_python_dash_m_reads_stdin(files, pos_model):
    """``python -m hmmtl`` in a fresh process, text on stdin, CoNLL on stdout."""
    proc = subprocess.run([sys.executable, "-m", "hmmtl", "tag", "--model", str(pos_model)],
                          input="the dog barks .\n", capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == ["the", "dog", "barks", "."]
    assert all(len(r) == 2 and r[1] for r in rows)
    proc = subprocess.run([sys.executable, "-m", "hmmtl", "tag", "--model", "/nonexistent/m"],
                          input="", capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "hmmtl: error: model file '/nonexistent/m' does not exist"


def test_tag_bad_bytes_and_empty_input(capsys, files, pos_model):
    data = (CONLLU * 2).encode("utf-8").replace(b"cats", b"c\xe9ts")  # latin-1 byte, line 17
    (files / "latin.conllu").write_bytes(data)
    for batch in ("1", "1000"):
        code, _, err = run(capsys, "tag", "--model", str(pos_model), "--batch-size", batch,
                           str(files / "latin.conllu"))
        assert code == 1
        assert f"{files / 'latin.conllu'}:17: byte 0xe9" in err and "not valid UTF-8" in err
    (files / "empty.txt").write_text("")
    code, _, err = run(capsys, "tag", "--model", str(pos_model), str(files / "empty.txt"))
    assert code == 1 and "empty file" in err
    (files / "blank_end.txt").write_text("the dog\n" * 3 + "\n\n\n")
    code, out, _ = run(capsys, "tag", "--model", str(pos_model), "--batch-size", "1",
                       str(files / "blank_end.txt"))
    assert code == 0 and out.count("the\t") == 3


def test_demo_calls_run_demo(capsys, tmp_path, monkeypatch):
    from hmmtl.studies import demo

    calls = {}
    monkeypatch.setattr(demo, "run_demo", lambda data_dir=None, out=None, quick=True, *,
                        random_state=0, progress=False, stream=None:
                        calls.update(data_dir=data_dir, out=out, quick=quick,
                                     random_state=random_state, progress=progress))
    code, _, _ = run(capsys, "demo", "--data", str(tmp_path), "--seed", "3", "--quiet")
    assert code == 0
    assert calls == {"data_dir": str(tmp_path), "out": None, "quick": False, "random_state": 3,
                     "progress": False}
    assert run(capsys, "demo", "--quick", "--quiet")[0] == 0 and calls["quick"] is True


def test_train_hmm_on_a_local_dask_cluster(tmp_path):
    """``train-hmm --dask local`` trains through hmmtl.executors.dask and saves a model equal in
    shape to a one-machine fit of the same text."""
    pytest.importorskip("dask.distributed")
    from hmmtl.hmm import CategoricalHMM
    from hmmtl.serialize import load

    text = tmp_path / "t.txt"
    text.write_text("the cat sat\nthe dog ran\na cat ran\nthe dog sat down\n" * 5,
                    encoding="utf-8")
    out = tmp_path / "m.hmmtl"
    rc = main(["train-hmm", "--text", str(text), "--states", "3", "--iter", "3", "--quiet",
               "--dask", "local", "--out", str(out)])
    assert rc == 0 and out.exists()
    dist = load(out)
    local = CategoricalHMM(n_states=3, n_iter=3, random_state=0).fit(
        [line.split() for line in text.read_text().splitlines()])
    assert dist.emission_prob_.shape == local.emission_prob_.shape
    np.testing.assert_allclose(dist.transition_prob_, local.transition_prob_, rtol=1e-9)
