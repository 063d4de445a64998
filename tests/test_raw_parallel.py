"""``hmmtl tag --input raw --jobs N``: raw text split and tagged in worker processes gives
the same bytes as one process, whatever the number of workers, the size of a unit of work
or of a batch; units are cut after blank lines only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hmmtl import LinearChainCRF
from hmmtl.cli._raw import _units, default_jobs
from hmmtl.io.segment import _PARAGRAPH
from test_raw_input import X, Y  # the training sentences of the raw-text tests

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = ["I can't believe it's not butter!", "Mr. Smith is here.",
             "The dog barks at 10:30 a.m. on Jan. 5th, e.g. at www.example.com today.",
             "\u201cWait\u2026\u201d she said (quietly).", "U.S. officials met in Bogot\u00e1."]


def _text(n_paragraphs: int) -> str:
    """Paragraphs of one to four lines, separated by blank lines of varied white space."""
    paragraphs = []
    for i in range(n_paragraphs):
        lines = [" ".join(SENTENCES[(i + k + j) % len(SENTENCES)] for j in range(1 + i % 3))
                 for k in range(1 + i % 4)]
        paragraphs.append("\n".join(lines))
    seps = ["\n\n", "\n \n", "\n\n\n", "\n\t\n"]
    return "".join(p + seps[i % len(seps)] for i, p in enumerate(paragraphs))


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("par") / "m.hmmtl"
    LinearChainCRF(max_iterations=20).fit(X, Y).save(path)
    return str(path)


@pytest.mark.parametrize("unit_chars", [1, 50, 400, 10_000])
def test_units_cover_the_text_and_are_cut_after_blank_lines_only(unit_chars):
    text = _text(40)
    pieces = [(None, text[:700], 0), (None, text[700:], 700)]  # as _raw_blocks gives them
    units = list(_units(iter(pieces), unit_chars))
    flat = [p for u in units for p in u]
    assert "".join(t for _, t, _ in flat) == text
    for _, t, offset in flat:
        assert text[offset:offset + len(t)] == t
    for unit in units[:-1]:
        _, last, offset = unit[-1]
        # a unit ends with a blank line, or where the input's own pieces end
        assert _PARAGRAPH.search(last[-4:]) or offset + len(last) == 700
    if unit_chars <= 50:
        assert len(units) > 20
    assert sum(map(len, units)) == len(flat)


def test_json_lines_documents_are_never_cut():
    docs = [(k, "A b. " * 50, 0) for k in range(1, 6)]
    units = list(_units(iter(docs), 60))
    assert [p for u in units for p in u] == docs


def test_default_jobs_is_the_usable_cpus_at_most_8():
    assert 1 <= default_jobs() <= min(8, os.cpu_count() or 1)


def _python(*argv, env_extra=None):
    """Run Python with this checkout first on its path."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               **(env_extra or {}))
    return subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True,
                          env=env, timeout=300)


def _run(*argv, env_extra=None):
    return _python("-m", "hmmtl", *argv, env_extra=env_extra)


@pytest.mark.parametrize("output", ["conllu", "jsonl", "conll"])
def test_worker_processes_write_the_same_bytes_as_one_process(model_path, tmp_path, output):
    source = tmp_path / "big.txt"
    source.write_text(_text(900), encoding="utf-8")  # about 190k characters: several units
    outs = {}
    for jobs in (1, 2, 3):
        out = tmp_path / f"out{jobs}.{output}"
        r = _run("tag", "--model", model_path, "--input", "raw", "--output-format", output,
                 "--jobs", jobs, "--batch-size", 7, "-o", out, source)
        assert r.returncode == 0, r.stderr
        assert ("worker processes" in r.stderr) == (jobs > 1), r.stderr
        outs[jobs] = out.read_bytes()
    assert outs[1] == outs[2] == outs[3]
    if output == "jsonl":
        text = source.read_text(encoding="utf-8")
        lines = [json.loads(line) for line in outs[2].decode().splitlines()]
        assert [s["sent_id"] for s in lines] == list(range(1, len(lines) + 1))
        assert all(text[t["start"]:t["end"]] == t["form"] for s in lines for t in s["tokens"])


def test_a_model_with_document_features_sees_the_batches_of_one_process(model_path, tmp_path):
    """A model whose tags depend on the batch (document features) is tagged in the batches
    of one process: units split by the workers, the sentences cut into ``--batch-size``
    batches here, each batch tagged by a worker; the bytes are those of one process."""
    source = tmp_path / "big.txt"
    source.write_text(_text(300), encoding="utf-8")
    script = f"""
import io, sys
from hmmtl import load
from hmmtl.cli import _raw
model = load({model_path!r})
model.uses_documents_ = True  # chooses the path only: its tags do not change
paths = []
for name in ("_same_batches", "_unit_by_unit"):
    real = getattr(_raw, name)
    setattr(_raw, name, lambda *a, _real=real, _name=name: paths.append(_name) or _real(*a))
for jobs in (2, 1):  # workers first: this process's own tagging starts Numba's threads
    out = io.StringIO()
    _raw.tag_raw(model, {str(source)!r}, "big.txt", "raw", out, place="xpos",
                 output="conllu", batch=7, jobs=jobs, unit_chars=400)
    sys.stdout.write(out.getvalue() + "\\f")
print(paths, file=sys.stderr)
"""
    r = _python("-c", script)
    assert r.returncode == 0, r.stderr
    assert "['_same_batches']" in r.stderr  # jobs 2 only, and by the document path
    two, one, _ = r.stdout.split("\f")
    assert one == two and one.count("# sent_id") > 1000
    cli = _run("tag", "--model", model_path, "--input", "raw", "--batch-size", 7, "-j", 2,
               "-o", tmp_path / "cli.conllu", source)
    assert cli.returncode == 0, cli.stderr
    assert (tmp_path / "cli.conllu").read_text(encoding="utf-8") == one


def test_json_lines_input_in_worker_processes(model_path, tmp_path):
    source = tmp_path / "docs.jsonl"
    with open(source, "w", encoding="utf-8") as f:
        for k in range(600):
            f.write(json.dumps({"id": k, "text": _text(1 + k % 5)}) + "\n")
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"docs{jobs}.conllu"
        r = _run("tag", "--model", model_path, "--input", "jsonl", "-j", jobs, "-o", out, source)
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0].count(b"# newdoc id = ") == 600


def test_a_bad_byte_far_into_the_input_is_named_with_workers(model_path, tmp_path):
    source = tmp_path / "bad.txt"
    good = _text(900).encode()
    source.write_bytes(good + b"caf\xe9 ok.\n")
    out = tmp_path / "out.conllu"
    r = _run("tag", "--model", model_path, "--input", "raw", "-j", 2, "-o", out, source)
    assert r.returncode == 1
    line = good.count(b"\n") + 1
    assert f"bad.txt:{line}: byte 0xe9" in r.stderr
    assert not out.exists()  # the output is written atomically: nothing on an error


def test_jobs_must_be_a_positive_number_or_auto(model_path, tmp_path):
    r = _run("tag", "--model", model_path, "--jobs", "0", tmp_path / "x.txt")
    assert r.returncode == 2 and "--jobs" in r.stderr


def test_the_command_forks_its_taggers_warm_after_a_splitter(model_path, tmp_path):
    """``hmmtl tag`` (``warm=True``): a splitter process splits while this process loads
    Numba's kernels under a fork-safe threading layer; the taggers forked after it write
    the bytes of one process, for one input and for the next one of the same command."""
    source = tmp_path / "big.txt"
    source.write_text(_text(600), encoding="utf-8")
    script = f"""
import io, sys
from hmmtl import load
from hmmtl.cli import _raw
model = load({model_path!r})
paths = []
for name in ("_split_then_tag", "_unit_by_unit"):
    real = getattr(_raw, name)
    setattr(_raw, name, lambda *a, _real=real, _name=name: paths.append(_name) or _real(*a))
for jobs in (2, 2, 1):  # the second input: this process's threads already run
    out = io.StringIO()
    _raw.tag_raw(model, {str(source)!r}, "big.txt", "raw", out, place="xpos",
                 output="jsonl", batch=7, jobs=jobs, unit_chars=3000, warm=True)
    sys.stdout.write(out.getvalue() + "\\f")
import numba
print(paths, numba.threading_layer(), file=sys.stderr)
"""
    r = _python("-c", script)
    assert r.returncode == 0, r.stderr
    assert "['_split_then_tag', '_split_then_tag']" in r.stderr
    assert r.stderr.split()[-1] in ("workqueue", "tbb")
    first, second, one, _ = r.stdout.split("\f")
    assert first == second == one and one.count('"sent_id"') > 1000


def test_a_threading_layer_that_cannot_fork_keeps_the_cold_workers(model_path, tmp_path):
    """A user's GNU OpenMP layer (not fork-safe once running): the workers are forked
    before any kernel runs and load Numba themselves; the same bytes."""
    source = tmp_path / "big.txt"
    source.write_text(_text(600), encoding="utf-8")
    outs = []
    for jobs in (1, 2):
        out = tmp_path / f"omp{jobs}.conllu"
        r = _run("tag", "--model", model_path, "--input", "raw", "-j", jobs, "-o", out, source,
                 env_extra={"NUMBA_THREADING_LAYER": "omp"})
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"# sent_id") > 1000


def test_standard_output_is_complete_when_the_command_exits_at_once(model_path, tmp_path):
    """The command's process ends without the interpreter's teardown once Numba is loaded
    (:func:`hmmtl.cli.console_main`): what it wrote to standard output through a pipe is
    all there, and a failure still exits with status 1 and its message."""
    source = tmp_path / "big.txt"
    source.write_text(_text(600), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    to_file = _run("tag", "--model", model_path, "--input", "raw", "--output-format", "jsonl",
                   "-o", out, source)
    to_pipe = _run("tag", "--model", model_path, "--input", "raw", "--output-format", "jsonl",
                   source)
    assert to_file.returncode == to_pipe.returncode == 0, to_pipe.stderr
    assert to_pipe.stdout.encode() == out.read_bytes() and len(to_pipe.stdout) > 100_000
    bad = _run("tag", "--model", model_path, "--input", "conll", "-j", 1, source)
    assert bad.returncode == 1 and "error" in bad.stderr


@pytest.fixture(scope="module")
def tasks_model(tmp_path_factory):
    """A multi-task model (POS and chunks) trained through the command line."""
    import model_zoo as zoo
    from test_multitask_tagger import CHUNKS, POS
    from test_multitask_tagger import SENTENCES as MT_SENTENCES

    folder = tmp_path_factory.mktemp("mtraw")
    zoo.write_conll(folder / "train.conll", MT_SENTENCES, POS, CHUNKS)
    assert zoo.cli("train", "--train", folder / "train.conll", "--format", "conll", "--tasks",
                   "pos=1,chunk=2", "--max-iter", 20, "--folds", 2, "--quiet", "--out",
                   folder / "m.hmmtl") == 0
    return str(folder / "m.hmmtl")


def test_raw_text_through_a_multi_task_model(tasks_model, tmp_path):
    """``hmmtl tag --input raw`` with a multi-task model: every task's tags, in the places of
    the multi-task door (CoNLL-U: POS in XPOS, chunks in MISC ``Chunk=``; CoNLL: one column
    per task in task order; JSON lines: ``"tags": {task: tag}``), the model's predictions of
    the text's tokens, the same bytes with worker processes; ``--tag-column`` refused."""
    from hmmtl import load

    source = tmp_path / "big.txt"
    source.write_text(_text(700), encoding="utf-8")
    outs = {}
    for output in ("jsonl", "conllu", "conll"):
        for jobs in (1, 2):
            out = tmp_path / f"o{jobs}.{output}"
            r = _run("tag", "--model", tasks_model, "--input", "raw", "--output-format", output,
                     "--jobs", jobs, "--batch-size", 50, "-o", out, source)
            assert r.returncode == 0, r.stderr
            outs[output, jobs] = out.read_text(encoding="utf-8")
        assert outs[output, 1] == outs[output, 2]
    lines = [json.loads(line) for line in outs["jsonl", 1].splitlines()]
    words = [[t["form"] for t in s["tokens"]] for s in lines]
    pred = load(tasks_model).predict(words)
    assert [[t["tags"]["pos"] for t in s["tokens"]] for s in lines] == pred["pos"]
    assert [[t["tags"]["chunk"] for t in s["tokens"]] for s in lines] == pred["chunk"]
    pos = [t for s in pred["pos"] for t in s]
    chunk = [t for s in pred["chunk"] for t in s]
    rows = [line.split("\t") for line in outs["conllu", 1].splitlines()
            if line and not line.startswith("#")]
    assert [r[4] for r in rows] == pos and {r[3] for r in rows} == {"_"}
    assert [r[9].split("|")[0] for r in rows] == [f"Chunk={c}" for c in chunk]
    assert all(r[9].endswith(f"TokenRange={t['start']}:{t['end']}")
               for r, t in zip(rows, (t for s in lines for t in s["tokens"])))
    conll = [line.split("\t") for line in outs["conll", 1].splitlines() if line]
    assert [r[1:] for r in conll] == [[p, c] for p, c in zip(pos, chunk)]
    r = _run("tag", "--model", tasks_model, "--input", "raw", "--tag-column", "xpos", source)
    assert r.returncode == 1 and "multi-task model writes each task" in r.stderr
