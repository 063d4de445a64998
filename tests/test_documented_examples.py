"""Every example the README and the commands' ``--help`` show runs and does what it says.

The commands are read from README.md (the block of the "Command line" section, the
Quickstart code) and from each command's ``--help`` epilog, and run as written, through
bash, in a folder of small files with the names and columns the examples use (CoNLL-U with
UPOS and XPOS, CoNLL-2003-style ``eng.train``, plain text, and an NLTK data folder whose
``conll2000.zip`` holds a few sentences of the real format).  The studies run on the real
corpora with ``--preset tiny`` and the demo with ``--quick`` (their documented smoke sizes);
the Quickstart runs on the first 300 sentences of each split.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hmmtl
from test_cli import CONLLU

ROOT = Path(hmmtl.__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

WORDS = ("The dog barks .", "A cat sleeps on the mat .", "Stocks rose 3 % in New York .",
         "He said the market was calm .", "the cats sleep", "Prices fell sharply .")
CONLL2000 = ("Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\npound NN I-NP\nis VBZ B-VP\n"
             "widely RB I-VP\nexpected VBN I-VP\n. . O\n\n"
             "The DT B-NP\ndog NN I-NP\nbarks VBZ B-VP\n. . O\n\n")
ENG_TRAIN = ("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
             "German JJ B-NP B-MISC\ncall NN I-NP O\n. . O O\n\n"
             "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n\n")


# ============================================================================ extraction
def _commands(block: str) -> list[str]:
    """Shell command lines of a code block: continuations joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", block)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("hmmtl ") or (line.startswith("echo ") and "| hmmtl" in line):
            words = shlex.split(line, comments=True)
            out.append(line.split(" #")[0].strip() if words else line)
    return out


def readme_section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def readme_commands() -> list[str]:
    block = re.search(r"```\n(.*?)```", readme_section("Command line"), re.S).group(1)
    return _commands(block)


def help_commands() -> list[str]:
    from hmmtl.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    out = []
    for name in ("info", "train-hmm", "train", "tag", "evaluate", "experiment", "demo"):
        out += _commands(sub.choices[name].epilog or "")
    return out


def test_the_examples_are_found():
    readme, helps = readme_commands(), help_commands()
    assert len(readme) >= 8 and any("train --format nltk:conll2000" in c for c in readme)
    assert len(helps) >= 7 and any("| hmmtl tag" in c for c in helps)


# ============================================================================ a sandbox
@pytest.fixture
def sandbox(tmp_path):
    text = "\n".join(WORDS * 6) + "\n"
    for name in ("a.txt", "web.txt", "wsj.txt", "tokens.txt", "part-1.txt", "part-2.txt"):
        (tmp_path / name).write_text(text, encoding="utf-8")
    for name in ("b.conllu", "train.conllu", "test.conllu", "en_ewt-email-test.conllu",
                 "en_ewt-weblog-test.conllu"):
        (tmp_path / name).write_text(CONLLU * 3, encoding="utf-8")
    (tmp_path / "eng.train").write_text(ENG_TRAIN * 3, encoding="utf-8")
    corpora = tmp_path / "data" / "nltk_data" / "corpora"
    corpora.mkdir(parents=True)
    with zipfile.ZipFile(corpora / "conll2000.zip", "w") as z:
        z.writestr("conll2000/train.txt", CONLL2000 * 5)
        z.writestr("conll2000/test.txt", CONLL2000 * 2)
    return tmp_path


def as_run(command: str, data: Path, real_data: Path | None) -> str:
    """The command with its data folder pointed at the sandbox's (or, for the studies, the
    real corpora) and the studies and the demo at their smoke sizes."""
    words = shlex.split(command, comments=True)
    if "experiment" in words or "demo" in words:
        folder = str(real_data) if real_data else str(data)
        command = command.replace("../shared/data", folder).replace(" DIR", f" {folder}")
        command = command.split(" #")[0]
        return command + (" --preset tiny" if "experiment" in words else
                          "" if "--quick" in words else " --quick")
    return command.replace("../shared/data", str(data)).replace("--data DIR", f"--data {data}")


def run_all(commands, cwd: Path, real_data: Path | None) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HMMTL_DATA", None)
    shell = f'hmmtl() {{ "{sys.executable}" -m hmmtl "$@"; }}\nset -o pipefail\n'
    for command in commands:
        line = as_run(command, cwd / "data", real_data)
        done = subprocess.run(["bash", "-c", shell + line], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{command}\n-> {line}\n{done.stderr[-3000:]}"
        check_what_it_says(command, cwd, done.stdout)


def check_what_it_says(command: str, cwd: Path, stdout: str) -> None:
    """Beyond exit status 0: a model trained on NLTK's CoNLL-2000 with the POS column is a
    POS tagger; tag writes the tags in the column asked for."""
    from hmmtl.serialize import load, read_manifest

    words = shlex.split(command, comments=True)
    if words[1] == "train":
        out = cwd / words[words.index("--out") + 1]
        column = words[words.index("--tag-column") + 1] if "--tag-column" in words else None
        info = read_manifest(out)["info"]
        assert info["tag_column"] == (column if column and not column.isdigit() else
                                      info["tag_column"]), (command, info)
        if "nltk:conll2000" in command:
            assert info["tag_column"] == "pos"
            tags = load(out).predict([["The", "dog", "barks", "."]])[0]
            assert tags[0] == "DT" and tags[-1] == ".", tags
    if words[1] == "tag" and "|" in command:  # text in: two-column CoNLL out
        rows = [line.split("\t") for line in stdout.splitlines() if line]
        assert [r[0] for r in rows] == ["The", "dog", "barks", "."] and all(len(r) == 2
                                                                           for r in rows)


def _real_data() -> Path | None:
    root = os.environ.get("HMMTL_DATA")
    return Path(root).resolve() if root and Path(root).is_dir() else None


def test_readme_command_line_examples(sandbox):
    commands = readme_commands()
    if _real_data() is None:
        commands = [c for c in commands if " experiment " not in f" {c} "]
    run_all(commands, sandbox, _real_data())
    assert (sandbox / "tagged.conll").read_text().split("\n")[0].split("\t")[0] == "The"


def test_help_examples(sandbox):
    commands = help_commands()
    if _real_data() is None:
        commands = [c for c in commands if " experiment " not in f" {c} "]
    run_all(commands, sandbox, _real_data())


def test_readme_quickstart(sandbox, data_dir, monkeypatch):
    """The Quickstart's two Python examples run (on the first 300 sentences of each corpus):
    the one-command adaptation tags and saves one model file; the explicit HMM + Tagger
    example trains a POS tagger."""
    blocks = re.findall(r"```python\n(.*?)```", readme_section("Quickstart"), re.S)
    assert len(blocks) == 2
    import hmmtl.io
    from hmmtl.io import Corpus

    load, read = hmmtl.io.load_nltk, hmmtl.io.read_conllu

    def first(corpus: Corpus) -> Corpus:
        return corpus[:300]

    monkeypatch.setattr(hmmtl.io, "load_nltk", lambda *a, **k: first(load(*a, **k)))
    monkeypatch.setattr(hmmtl.io, "read_conllu", lambda *a, **k: first(read(*a, **k)))
    monkeypatch.chdir(sandbox)

    def run(code: str) -> list:
        printed = []
        namespace = {"print": lambda *a: printed.append(a)}
        code = code.replace("../shared/data", str(data_dir))
        exec(compile(code, "README.md (Quickstart)", "exec"), namespace)
        return printed

    (tagged,), = run(blocks[0])
    words = [w for w, _ in tagged]
    tags = [t for _, t in tagged]
    assert words == ["i", "cant", "find", "it", "(", "again", ")", "!"]
    assert tags[-1] == "." and not any(t[:2] in ("B-", "I-") for t in tags)
    assert (sandbox / "pos-web.hmmtl").exists()

    accuracy, tagged = run(blocks[1])[0]
    assert accuracy > 0.8
    tags = [t for _, t in tagged]
    assert tags[0] == "DT" and tags[-1] == "." and not any(t[:2] in ("B-", "I-") for t in tags)


def test_readme_quickstart_tags_raw_text_with_a_ready_made_model(tmp_path):
    """The Quickstart's first command runs as written with no corpus (``HMMTL_DATA`` unset)
    in an empty folder, and prints the CoNLL-U lines the README shows."""
    section = readme_section("Quickstart")
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    command = blocks[0].strip()
    assert command.startswith("echo ") and "--model en-pos --input raw" in command
    shown = re.findall(r"\n\n```\n(# sent_id.*?)\n```", section, re.S)[0].splitlines()
    shown = [line for line in shown if line != "..."]
    env = {k: v for k, v in os.environ.items() if k not in ("HMMTL_DATA", "NLTK_DATA")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT)
    script = command.replace("| hmmtl ", f"| {shlex.quote(sys.executable)} -m hmmtl ", 1)
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:len(shown)] == shown
    forms = [line.split("\t")[1] for line in lines if line and not line.startswith("#")]
    assert "".join(forms) == "Ican'tbelieveit'snotbutter!"
