"""Every example the README, the documentation and the commands' ``--help`` show runs and
does what it says.

A code block of README.md or of a page under ``docs/`` runs when the line before it is
``<!-- example: NAME -->`` (invisible on GitHub and in the built pages).  Shell blocks run
command by command (the lines that start with ``hmmtl`` or pipe ``echo`` into it), through
bash, in a folder of small files with the names and columns the examples use (CoNLL-U with
UPOS and XPOS, CoNLL-2003-style ``eng.train``, plain text, and an NLTK data folder whose
``conll2000.zip`` holds a few sentences of the real format); the studies run on the real
corpora with ``--preset tiny`` and the demo with ``--quick`` (their documented smoke sizes).
Python blocks run as written, those that read the corpora on the first 300 sentences of each
split.  Blocks of the same name in two places (the README's Quickstart and command line,
repeated in the docs) must be the same text.  The ``--help`` epilogs' examples run too.
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
#: the pages whose examples run, in the order their shell examples run (later blocks use
#: the models earlier ones train)
PAGES = ("README.md", "docs/guide/tagging.md", "docs/guide/training.md",
         "docs/guide/adaptation.md", "docs/guide/multitask.md", "docs/guide/gpu.md",
         "docs/cli.md")
SHELL = ("bash", "console", "sh", "")

WORDS = ("The dog barks .", "A cat sleeps on the mat .", "Stocks rose 3 % in New York .",
         "He said the market was calm .", "the cats sleep", "Prices fell sharply .")
CONLL2000 = ("Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\npound NN I-NP\nis VBZ B-VP\n"
             "widely RB I-VP\nexpected VBN I-VP\n. . O\n\n"
             "The DT B-NP\ndog NN I-NP\nbarks VBZ B-VP\n. . O\n\n")
ARTICLE = "John Smith flew to Paris on Monday. He met Mary Jones of Acme Corp. there.\n"
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


def marked_blocks(text: str, source: str) -> list[tuple[str, str, str, str]]:
    """``(name, language, code, source)`` of each block marked ``<!-- example: NAME -->``."""
    pattern = r"^<!-- example: ([\w-]+) -->\n```(\w*)\n(.*?)^```"
    return [(m.group(1), m.group(2), m.group(3), source)
            for m in re.finditer(pattern, text, re.S | re.M)]


def documented_blocks() -> list[tuple[str, str, str, str]]:
    out = []
    for page in PAGES:
        out += marked_blocks((ROOT / page).read_text(encoding="utf-8"), page)
    return out


BLOCKS = documented_blocks()
PYTHON = {name: (code, source) for name, lang, code, source in BLOCKS if lang == "python"}


def documented_commands() -> list[str]:
    """The commands of every marked shell block, each once, in page order."""
    out = []
    for _, lang, code, _ in BLOCKS:
        if lang in SHELL:
            out += [c for c in _commands(code) if c not in out]
    return out


def readme_commands() -> list[str]:
    return _commands(next(code for name, _, code, source in BLOCKS
                          if name == "cli" and source == "README.md"))


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
    names = {name for name, *_ in BLOCKS}
    assert {"raw-text", "tag-text", "cli", "ready-made", "load-en-ner", "train-cli",
            "hmms-of-your-own", "adapt-in-python", "multitask-cli", "gpu-arrays"} <= names
    readme = [name for name, *_, source in BLOCKS if source == "README.md"]
    assert readme[:2] == ["raw-text", "tag-text"], "the README's Quickstart starts with raw text"
    docs_pages = {source for *_, source in BLOCKS if source.startswith("docs/")}
    assert len(docs_pages) >= 6


def test_blocks_of_the_same_name_are_the_same():
    """The README's examples are repeated in the docs: a change to one must reach the other."""
    seen: dict[str, tuple[str, str]] = {}
    for name, _, code, source in BLOCKS:
        if name in seen:
            assert code == seen[name][0], f"example {name!r} differs: {seen[name][1]}, {source}"
        seen.setdefault(name, (code, source))
    assert sum(1 for name, *_ in BLOCKS if name in ("raw-text", "tag-text", "cli")) >= 6


# ============================================================================ a sandbox
@pytest.fixture
def sandbox(tmp_path):
    text = "\n".join(WORDS * 6) + "\n"
    for name in ("a.txt", "web.txt", "wsj.txt", "tokens.txt", "part-1.txt", "part-2.txt"):
        (tmp_path / name).write_text(text, encoding="utf-8")
    for name in ("b.conllu", "train.conllu", "test.conllu", "en_ewt-email-test.conllu",
                 "en_ewt-weblog-test.conllu"):
        (tmp_path / name).write_text(CONLLU * 3, encoding="utf-8")
    for name in ("eng.train", "eng.testa", "eng.testb"):
        (tmp_path / name).write_text(ENG_TRAIN * 3, encoding="utf-8")
    (tmp_path / "conll2000.conll").write_text(CONLL2000 * 3, encoding="utf-8")
    (tmp_path / "ewt.conllu").write_text(CONLLU * 3, encoding="utf-8")
    (tmp_path / "article.txt").write_text(ARTICLE, encoding="utf-8")
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
    if words[1] == "train" and "--tasks" in words:  # one model, one column per task
        info = read_manifest(cwd / words[words.index("--out") + 1])["info"]
        given = [w for i, w in enumerate(words) if i and words[i - 1] == "--tasks"]
        names = {spec.split("=")[0] for task in given for spec in task.split(",")}
        assert set(info["tasks"]) == names, (command, info)
    elif words[1] == "train":
        out = cwd / words[words.index("--out") + 1]
        column = words[words.index("--tag-column") + 1] if "--tag-column" in words else None
        info = read_manifest(out)["info"]
        assert info["tag_column"] == (column if column and not column.isdigit() else
                                      info["tag_column"]), (command, info)
        if "nltk:conll2000" in command:
            assert info["tag_column"] == "pos"
            tags = load(out).predict([["The", "dog", "barks", "."]])[0]
            assert tags[0] == "DT" and tags[-1] == ".", tags
    if "--input" in words and words[words.index("--input") + 1] == "raw":  # CoNLL-U out
        if "echo" in words:
            assert f"# text = {words[1]}" in stdout.splitlines(), stdout[:500]
        rows = [line.split("\t") for line in stdout.splitlines() if line[:1].isdigit()]
        assert rows and all(len(r) == 10 and "TokenRange=" in r[9] for r in rows), stdout[:500]
        if "echo" in words and words[words.index("--model") + 1] == "en-pos":
            assert (rows[0][1], rows[0][4]) == ("I", "PRP"), rows[0]
        if words[words.index("--model") + 1] == "en-ner":  # entities in MISC NE=
            assert any("NE=B-PER" in r[9] for r in rows), stdout[:500]
        return
    if words[1] == "tag" and "<" in words and words[words.index("<") + 1] == "tokens.txt":
        first = (cwd / words[words.index(">") + 1]).read_text().split("\n")[0].split("\t")
        assert first == ["The", "DT"], first  # text in: two-column CoNLL out
    if words[1] == "tag" and "|" in command:  # text in: two-column CoNLL out
        rows = [line.split("\t") for line in stdout.splitlines() if line]
        assert [r[0] for r in rows] == ["The", "dog", "barks", "."] and all(len(r) == 2
                                                                           for r in rows)


def _real_data() -> Path | None:
    root = os.environ.get("HMMTL_DATA")
    return Path(root).resolve() if root and Path(root).is_dir() else None


def test_documented_command_line_examples(sandbox):
    """The marked shell examples of the README and the docs, each command once."""
    commands = documented_commands()
    assert set(readme_commands()) <= set(commands)
    if _real_data() is None:
        commands = [c for c in commands if " experiment " not in f" {c} "]
    run_all(commands, sandbox, _real_data())
    assert (sandbox / "news.hmmtl").exists() and (sandbox / "wsj-web.hmmtl").exists()
    assert (sandbox / "shared.hmmtl").exists()


def test_help_examples(sandbox):
    commands = help_commands()
    if _real_data() is None:
        commands = [c for c in commands if " experiment " not in f" {c} "]
    run_all(commands, sandbox, _real_data())


def run_python(name: str, monkeypatch, request) -> tuple[list, dict]:
    """Run the example's code (the corpora cut to the first 300 sentences of each split)
    and return what it printed and its namespace."""
    code, source = PYTHON[name]
    if "../shared/data" in code:
        data_dir = request.getfixturevalue("data_dir")
        import hmmtl.io
        from hmmtl.io import Corpus

        load, read = hmmtl.io.load_nltk, hmmtl.io.read_conllu

        def first(corpus: Corpus) -> Corpus:
            return corpus[:300]

        monkeypatch.setattr(hmmtl.io, "load_nltk", lambda *a, **k: first(load(*a, **k)))
        monkeypatch.setattr(hmmtl.io, "read_conllu", lambda *a, **k: first(read(*a, **k)))
        code = code.replace("../shared/data", str(data_dir))
    printed: list = []
    namespace = {"print": lambda *a: printed.append(a)}
    exec(compile(code, f"{source} (example {name})", "exec"), namespace)
    return printed, namespace


def test_example_adapt_in_python(sandbox, monkeypatch, request):
    """``Tagger(hmm="auto")`` with unlabeled text: a POS tagger in one model file."""
    monkeypatch.chdir(sandbox)
    (tagged,), = run_python("adapt-in-python", monkeypatch, request)[0]
    words = [w for w, _ in tagged]
    tags = [t for _, t in tagged]
    assert words == ["i", "cant", "find", "it", "(", "again", ")", "!"]
    # POS tags of the training data (not chunk tags); "it" is a frequent training word.  The
    # tag of "!" (unseen in the 300 training sentences) is left to the tiny model
    known = {t for s in first_300_tags(request.getfixturevalue("data_dir")) for t in s}
    assert set(tags) <= known and tags[3] == "PRP", tags
    assert (sandbox / "pos-web.hmmtl").exists()


def first_300_tags(data_dir) -> list:
    """The POS tags of the first 300 CoNLL-2000 train sentences (what the example learns)."""
    from hmmtl.io import load_nltk

    return load_nltk("conll2000", data_dir=data_dir, split="train")[:300].column("pos")


def test_example_hmms_of_your_own(sandbox, monkeypatch, request):
    """An HMM learned on the words, then a Tagger with its representations: a POS tagger."""
    monkeypatch.chdir(sandbox)
    accuracy, tagged = run_python("hmms-of-your-own", monkeypatch, request)[0][0]
    assert accuracy > 0.8
    tags = [t for _, t in tagged]
    assert tags[0] == "DT" and tags[-1] == "." and not any(t[:2] in ("B-", "I-") for t in tags)


def test_example_tag_text(monkeypatch, request):
    """``tag_text`` splits two sentences and gives offsets that point into the text."""
    printed, _namespace = run_python("tag-text", monkeypatch, request)
    text = "Mr. Smith can't come. He is ill."
    assert [p[0] for p in printed] == ["Mr. Smith can't come.", "He is ill."]
    tokens = [t for p in printed for t in p[1]]
    assert all(text[start:end] == form for form, start, end, _ in tokens)
    assert [f for f, *_ in tokens][:4] == ["Mr.", "Smith", "ca", "n't"]
    assert tokens[0][3] == "NNP" and tokens[-1][3] == "."


def test_example_load_en_ner(monkeypatch, request):
    (tags,), = run_python("load-en-ner", monkeypatch, request)[0][0]
    assert tags[:2] == ["B-PER", "I-PER"] and tags[4] == "B-LOC" and tags[-1] == "O"


def test_example_gpu_arrays(monkeypatch, request):
    """The GPU example's kernels (on NumPy where CuPy is absent, the identical array code)."""
    pytest.importorskip("numpy")
    code, source = PYTHON["gpu-arrays"]
    try:
        import cupy  # noqa: F401
    except ImportError:
        code = code.replace('backend="cupy"', 'backend="numpy"')
        PYTHON["gpu-arrays:numpy"] = (code, source)
        monkeypatch.setitem(PYTHON, "gpu-arrays", (code, source))
    namespace = run_python("gpu-arrays", monkeypatch, request)[1]
    marginals = namespace["result"].marginals
    marginals = getattr(marginals, "get", lambda: marginals)()
    assert marginals.shape == (10, 4)
    assert abs(float(marginals.sum()) - 10.0) < 1e-6
    assert len(namespace["paths"].path) == 10


def test_every_python_example_has_a_test():
    tested = {"adapt-in-python", "hmms-of-your-own", "tag-text", "load-en-ner", "gpu-arrays"}
    assert set(PYTHON) - {"gpu-arrays:numpy"} == tested
