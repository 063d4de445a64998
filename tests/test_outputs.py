"""Where outputs go: one writer for the whole package (:mod:`hmmtl.io.atomic`).

A regular file is replaced whole (temporary file, fsync, rename) with the mode a plain
``open`` gives; a character device, a FIFO or a ``/dev/fd/N`` pipe given as the output is
written through and is still what it was afterwards; a folder is refused.  The CLI's
``-o`` / ``--out`` and the study reports use that writer."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import hmmtl
from hmmtl.cli import main
from hmmtl.io.atomic import OutputFile, is_stream_target, write_text
from test_cli import CONLLU

ROOT = Path(hmmtl.__file__).resolve().parent.parent
TEXT = "the dog barks .\na cat sleeps .\n"


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    d = tmp_path_factory.mktemp("tagger")
    (d / "train.conllu").write_text(CONLLU * 3, encoding="utf-8")
    assert main(["train", "--train", str(d / "train.conllu"), "--tag-column", "upos",
                 "--max-iter", "10", "--quiet", "--out", str(d / "upos.hmmtl")]) == 0
    (d / "in.txt").write_text(TEXT, encoding="utf-8")
    return d


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _char_device(folder: Path) -> Path:
    """A character device with /dev/null's numbers, made in ``folder`` (root only)."""
    if os.geteuid() != 0:
        pytest.skip("making a character device needs root")
    path = folder / "null"
    null = os.stat("/dev/null")
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, null.st_rdev)
    except PermissionError:
        pytest.skip("mknod is not permitted here (a container without CAP_MKNOD)")
    return path


class _FifoReader(threading.Thread):
    """Reads a FIFO to its end in a thread (a writer blocks until a reader opens it)."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.data = path, None

    def run(self):
        with open(self.path, "rb") as f:
            self.data = f.read()


def _fifo(folder: Path) -> Path:
    path = folder / "fifo"
    os.mkfifo(path)
    return path


# ============================================================================ the writer
def test_regular_file_replaced_whole_with_the_mode_of_open(tmp_path, umask_022):
    path = tmp_path / "out.txt"
    write_text(path, "one\n")
    assert path.read_text() == "one\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    os.chmod(path, 0o640)  # an existing file keeps its mode, as with open(path, "w")
    write_text(path, "two\n")
    assert path.read_text() == "two\n" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary left


def test_a_failed_write_leaves_the_earlier_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("earlier\n")
    with pytest.raises(RuntimeError), OutputFile(path) as out:
        out.stream.write("half")
        raise RuntimeError("stop")
    assert path.read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_symbolic_link_is_followed_not_replaced(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_text(link, "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"it is a folder; give a file name"):
        OutputFile(tmp_path)


def test_char_device_is_written_through(tmp_path):
    device = _char_device(tmp_path)
    assert is_stream_target(device)
    write_text(device, "discarded\n")
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_fifo_is_written_through(tmp_path):
    fifo = _fifo(tmp_path)
    reader = _FifoReader(fifo)
    reader.start()
    write_text(fifo, "through the pipe\n")
    reader.join(10)
    assert reader.data == b"through the pipe\n"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_model_file_to_a_fifo_loads_from_what_the_reader_got(tmp_path):
    """Model files (``--out``) to a pipe are written through too: the bytes are a model."""
    from hmmtl import load, save
    from hmmtl.crf import AveragedPerceptron

    model = AveragedPerceptron(n_epochs=2).fit([["a", "b"], ["b", "a"]], [["X", "Y"], ["Y", "X"]])
    fifo = _fifo(tmp_path)
    reader = _FifoReader(fifo)
    reader.start()
    save(model, fifo)
    reader.join(30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    (tmp_path / "copy.hmmtl").write_bytes(reader.data)
    assert load(tmp_path / "copy.hmmtl").predict([["a", "b"]]) == model.predict([["a", "b"]])


# ============================================================================ the CLI
def test_tag_output_to_a_char_device_keeps_the_device(tagger, tmp_path, capsys):
    device = _char_device(tmp_path)
    assert main(["tag", "--model", str(tagger / "upos.hmmtl"), "-q", "-o", str(device),
                 str(tagger / "in.txt")]) == 0
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_tag_output_to_a_fifo_reaches_its_reader(tagger, tmp_path, capsys):
    fifo = _fifo(tmp_path)
    reader = _FifoReader(fifo)
    reader.start()
    assert main(["tag", "--model", str(tagger / "upos.hmmtl"), "-q", "-o", str(fifo),
                 str(tagger / "in.txt")]) == 0
    reader.join(30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert main(["tag", "--model", str(tagger / "upos.hmmtl"), str(tagger / "in.txt")]) == 0
    assert reader.data.decode() == capsys.readouterr().out


def test_tag_output_to_a_dev_fd_pipe(tagger):
    """``-o >(gzip > x.gz)``: the shell passes /dev/fd/N, a pipe; it is written through,
    not refused because /dev/fd is not a writable folder."""
    read_end, write_end = os.pipe()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "hmmtl", "tag", "--model",
                             str(tagger / "upos.hmmtl"), "-q", "-o", f"/dev/fd/{write_end}",
                             str(tagger / "in.txt")], pass_fds=(write_end,), env=env,
                            stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        data = f.read()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    lines = data.decode().splitlines()
    assert lines[0].split("\t")[0] == "the" and len([x for x in lines if x]) == 8


def test_tag_output_to_dev_stdout_redirected_to_a_file(tagger, tmp_path):
    """``-o /dev/stdout`` with standard output redirected to a regular file: the file the
    shell opened gets the output (it is not replaced by name in /proc)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "out.conll", "wb") as out:
        inode = os.fstat(out.fileno()).st_ino
        proc = subprocess.run([sys.executable, "-m", "hmmtl", "tag", "--model",
                               str(tagger / "upos.hmmtl"), "-q", "-o", "/dev/stdout",
                               str(tagger / "in.txt")], env=env, stdout=out,
                              stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    assert os.stat(tmp_path / "out.conll").st_ino == inode
    assert (tmp_path / "out.conll").read_text().startswith("the\t")


def test_train_out_to_a_char_device(tagger, tmp_path):
    device = _char_device(tmp_path)
    assert main(["train", "--train", str(tagger / "train.conllu"), "--tag-column", "upos",
                 "--max-iter", "2", "--quiet", "--out", str(device)]) == 0
    assert stat.S_ISCHR(os.stat(device).st_mode)


# ============================================================================ reports
def test_study_report_files_are_readable_by_others(tmp_path, umask_022):
    """Results of ``hmmtl experiment`` / ``demo`` are written with the mode of a plain
    open (0644 under umask 022), not left private (0600) like a temporary file."""
    from hmmtl.studies.report import write_json, write_report

    records = [{"setting": "crf", "representation": "none", "text": "none", "n_states": 0,
                "seed": 0, "notation": "normalized", "split": "test", "domain": "news",
                "accuracy": 0.9, "oov_accuracy": 0.8, "n_tokens": 10, "n_oov": 2}]
    paths = write_report(records, tmp_path, name="results", title="t")["paths"]
    files = [p for p in paths.values() if p is not None] + [write_json({"a": 1},
                                                                      tmp_path / "r.json")]
    assert len(files) >= 4
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, path


# ============================================================================ progress
def test_progress_in_a_log_file_is_a_few_lines(tagger, tmp_path):
    """A training run whose standard error is a file writes a few lines of progress, not
    one redraw per iteration (400 perceptron epochs here)."""
    import re

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "log.txt", "wb") as log:
        proc = subprocess.run([sys.executable, "-m", "hmmtl", "train", "--train",
                               str(tagger / "train.conllu"), "--tag-column", "upos",
                               "--algorithm", "perceptron", "--max-iter", "400", "--out",
                               str(tmp_path / "m.hmmtl")], env=env, stderr=log, timeout=300)
    text = (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert proc.returncode == 0, text
    lines = [s for s in re.split(r"[\r\n]", text) if s.strip()]
    assert any("perceptron" in s and "%" in s for s in lines), text  # a bar was shown
    assert len(lines) < 50, f"{len(lines)} lines of progress: {lines[:10]}"


def test_progress_on_a_terminal_is_tqdm(monkeypatch):
    import io

    from hmmtl._progress import progress_bar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        bar = progress_bar(total=500, desc="steps", file=stream, leave=True)
        for i in range(500):
            bar.set_postfix(step=i)
            bar.update()
        bar.close()
    assert log.getvalue().count("\r") <= 3 < terminal.getvalue().count("\r")
    assert "500/500" in log.getvalue()
