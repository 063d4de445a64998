"""Bad input gets a clear error and loses nothing: one table of cases, each asserting the
exception type (or the exit status of the command line) and the message.

Library cases call a reader, an estimator, a kernel or the model-file functions and expect
``error`` with a message matching ``message`` (a regular expression).  Command-line cases
run :func:`hmmtl.cli.main` and expect exit status 1 and ``hmmtl: error: <message>`` on
stderr, without a traceback; ``cli-warning`` cases expect exit status 0 and a warning.
A ``check`` runs after the case: nothing half-written, earlier files intact.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

import numpy as np
import pytest

from hmmtl.cli import main
from hmmtl.io import FormatError, read_conll, read_conllu, read_text, write_conll, write_conllu
from hmmtl.io import write_text


from hmmtl import AveragedPerceptron, CategoricalHMM, LinearChainCRF, Tagger
from hmmtl.inference import forward_backward, viterbi
from hmmtl.serialize import ModelFileError, load
from hmmtl.transfer.augment import DomainAugmentedCRF

WORD = "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
CONLLU = (
    "# sent_id = a-1\n"
    "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n"
    "2\tdog\tdog\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
    "3\tbarks\tbark\tVERB\tVBZ\t_\t0\troot\t_\t_\n"
    "\n"
)
X = [["the", "dog", "barks"], ["a", "cat", "sleeps"], ["the", "cat", "barks"]] * 2
Y = [["DT", "NN", "VBZ"]] * 6


# ============================================================================ fixtures
@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny fitted models and their files, shared by every case."""
    d = tmp_path_factory.mktemp("models")
    tagger = Tagger(labeler_params={"max_iterations": 15}).fit(X, Y)
    tagger.save(d / "tagger.hmmtl")
    hmm = CategoricalHMM(n_states=2, n_iter=3, random_state=0).fit(X)
    hmm.save(d / "hmm.hmmtl")
    crf = tagger.labeler_
    perceptron = AveragedPerceptron(n_epochs=2).fit(X, Y)
    augmented = DomainAugmentedCRF(labeler_params={"max_iterations": 5}).fit(
        X, Y, domains=["a", "b"] * 3)
    return {"dir": d, "tagger": tagger, "hmm": hmm, "crf": crf, "perceptron": perceptron,
            "augmented": augmented,
            "tagger_path": str(d / "tagger.hmmtl"), "hmm_path": str(d / "hmm.hmmtl")}


class Env:
    """What a case sees: a fresh folder and the shared models."""

    def __init__(self, tmp_path: Path, models: dict):
        self.tmp = tmp_path
        self.models = models

    def write(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def path(self, name: str) -> str:
        return str(self.tmp / name)

    def hmm_with(self, attr: str, change: Callable[[np.ndarray], None]) -> CategoricalHMM:
        """A copy of the fitted HMM whose ``attr`` was changed in place by ``change``."""
        hmm = load(self.models["hmm_path"])
        value = np.array(getattr(hmm, attr), dtype=np.float64)
        change(value)
        setattr(hmm, attr, value)
        return hmm


@pytest.fixture
def env(tmp_path, models):
    return Env(tmp_path, models)


def _labeler(name):
    """A fresh labeler of each kind, for the cases of ``fit``."""
    return {"tagger": lambda: Tagger(labeler_params={"max_iterations": 5}),
            "crf": lambda: LinearChainCRF(max_iterations=5),
            "perceptron": lambda: AveragedPerceptron(n_epochs=1),
            "augmented": lambda: DomainAugmentedCRF(labeler_params={"max_iterations": 5})}[name]()


@dataclass
class Case:
    id: str
    act: Callable  # lib: (env) -> anything, must raise; cli: (env) -> argv
    message: str  # regular expression searched in the message / stderr
    error: type | None = None  # exception type (lib cases)
    via: str = "lib"  # "lib", "cli" or "cli-warning"
    check: Callable | None = None  # (env, stdout) -> None, run afterwards
    xfail: str | None = None  # a known bug: the reason


def _nothing_in(folder: str):
    def check(env, out):
        assert not Path(folder.format(tmp=env.tmp)).exists(), "a folder was created"
        leftovers = [p.name for p in env.tmp.rglob("*") if p.name.startswith(".")]
        assert not leftovers, f"temporary files left behind: {leftovers}"
    return check


def _old_output_intact(env, out):
    assert (env.tmp / "out.conll").read_text() == "earlier output\n"
    assert not [p.name for p in env.tmp.iterdir() if p.name.endswith(".tmp")]


def _unseen_counted_as_errors(env, out):
    result = json.loads(out)
    assert result["n_tokens"] == 3 and result["accuracy"] == 0.0


# ============================================================================ the table
BAD_HMM = {"NaN": (lambda a: a.__setitem__((0,), np.nan), "NaN"),
           "negative": (lambda a: a.__setitem__((0,), -a[0]), "negative"),
           "non-normalized": (lambda a: a.__imul__(3.0), "sum")}
HMM_PARAMS = ("start_prob_", "transition_prob_", "emission_prob_")
CASES = [
    # -- empty file -----------------------------------------------------------------------
    Case("empty-file-conllu", lambda e: read_conllu(e.write("e.conllu", "")),
         r"e\.conllu: empty file: expected CoNLL-U sentences", FormatError),
    Case("empty-file-conll", lambda e: read_conll(e.write("e.conll", "\n\n")),
         r"e\.conll: empty file: expected one token a line", FormatError),
    Case("empty-file-text", lambda e: read_text(e.write("e.txt", " \n\t\n")),
         r"e\.txt: empty file: expected one tokenized sentence a line", FormatError),
    Case("empty-file-conll-docstart-only",
         lambda e: read_conll(e.write("d.conll", "-DOCSTART- -X- O\n\n")),
         r"d\.conll: no sentences: the file holds only blank or -DOCSTART- lines", FormatError),
    Case("empty-file-cli-tag", lambda e: ["tag", "--model", e.models["tagger_path"],
                                          e.write("e.txt", "")],
         r"e\.txt: empty file", via="cli"),
    Case("empty-file-cli-train", lambda e: ["train", "--train", e.write("e.conllu", ""),
                                            "--out", e.path("m.hmmtl")],
         r"e\.conllu: empty file", via="cli", check=_nothing_in("{tmp}/m.hmmtl")),
    # -- empty sentence -------------------------------------------------------------------
    Case("empty-sentence-conllu-comments-only",
         lambda e: read_conllu(e.write("c.conllu", CONLLU + "# sent_id = a-2\n\n" + CONLLU)),
         r"c\.conllu:6: sentence has no word lines", FormatError),
    Case("empty-sentence-cli-tag",
         lambda e: ["tag", "--model", e.models["tagger_path"],
                    e.write("c.conllu", CONLLU + "# sent_id = a-2\n\n")],
         r"c\.conllu:6: sentence has no word lines", via="cli"),
    Case("empty-sentence-all-empty-crf-fit",
         lambda e: LinearChainCRF().fit([[], []], [[], []]), r"X holds no tokens", ValueError),
    Case("empty-sentence-all-empty-hmm-fit",
         lambda e: CategoricalHMM(n_states=2).fit([[]]),
         r"X holds no tokens; expected at least one non-empty sequence", ValueError),
    # -- wrong number of columns (file:line) ----------------------------------------------
    Case("columns-conll", lambda e: read_conll(e.write("c.conll", "a DT B\nb NN I\n\nc DT\n")),
         r"c\.conll:4: expected 3 columns \(word col1 col2\), got 2: 'c DT'", FormatError),
    Case("columns-conll-named",
         lambda e: read_conll(e.write("n.conll", "John NNP B-NP B-PER\nruns VBZ B-VP\n"),
                              columns=("word", "pos", "chunk", "ner")),
         r"n\.conll:2: expected 4 columns \(word pos chunk ner\), got 3", FormatError),
    Case("columns-conllu", lambda e: read_conllu(e.write("c.conllu", WORD + "2\tdog\tdog\n")),
         r"c\.conllu:2: expected 10 tab-separated columns, got 3: '2\\tdog\\tdog'", FormatError),
    Case("columns-conllu-spaces",
         lambda e: read_conllu(e.write("s.conllu", WORD.replace("\t", " "))),
         r"s\.conllu:1: expected 10 tab-separated columns, got 1 \(columns look "
         r"space-separated; CoNLL-U needs tabs\)", FormatError),
    Case("columns-conllu-empty-field",
         lambda e: read_conllu(e.write("f.conllu", WORD.replace("\tDT\t", "\t\t"))),
         r"f\.conllu:1: column 5 \(XPOS\) is empty; use '_'", FormatError),
    Case("columns-cli-tag",
         lambda e: ["tag", "--model", e.models["tagger_path"], "--format", "conll",
                    e.write("c.conll", "the DT\ndog NN\n\nbarks VBZ x\n")],
         r"c\.conll:4: expected 2 columns", via="cli"),
    Case("columns-cli-tag-later-batch",
         lambda e: ["tag", "--model", e.models["tagger_path"], "--batch-size", "1",
                    e.write("c.conllu", CONLLU * 3 + "1\tdog\n\n")],
         r"c\.conllu:16: expected 10 tab-separated columns, got 2", via="cli"),
    # -- invalid CoNLL-U IDs --------------------------------------------------------------
    Case("conllu-id-not-a-number",
         lambda e: read_conllu(e.write("i.conllu", WORD + WORD.replace("1", "x", 1))),
         r"i\.conllu:2: bad ID 'x': expected an integer, a range like 3-4 or an empty node",
         FormatError),
    Case("conllu-id-out-of-order",
         lambda e: read_conllu(e.write("i.conllu", WORD + WORD.replace("1", "3", 1))),
         r"i\.conllu:2: word ID '3' out of order: expected 2", FormatError),
    Case("conllu-id-repeated", lambda e: read_conllu(e.write("i.conllu", WORD + WORD)),
         r"i\.conllu:2: word ID '1' out of order: expected 2", FormatError),
    Case("conllu-id-bad-range",
         lambda e: read_conllu(e.write("i.conllu", WORD + WORD.replace("1", "4-3", 1))),
         r"i\.conllu:2: multiword-token range '4-3' is invalid here: expected 2-m", FormatError),
    Case("conllu-id-bad-empty-node",
         lambda e: read_conllu(e.write("i.conllu", WORD + WORD.replace("1", "3.1", 1))),
         r"i\.conllu:2: empty node '3\.1' is invalid here: expected 1\.k", FormatError),
    Case("conllu-id-cli-evaluate",
         lambda e: ["evaluate", "--model", e.models["tagger_path"], "--test",
                    e.write("i.conllu", CONLLU + WORD.replace("1", "0", 1))],
         r"i\.conllu:6: word ID '0' out of order: expected 1", via="cli"),
    # -- non-UTF-8 bytes ------------------------------------------------------------------
    Case("bytes-conllu",
         lambda e: read_conllu(e.write("b.conllu", WORD.encode() + b"2\tca\xeft\t_\t_\t_\t_\t_"
                                       b"\t_\t_\t_\n")),
         r"b\.conllu:2: byte 0xef at column 5 is not valid UTF-8; expected a UTF-8 file, try "
         r"re-encoding it, e\.g\. `iconv -f latin1 -t utf-8`", FormatError),
    Case("bytes-conll", lambda e: read_conll(e.write("b.conll", b"a DT\n\n\xff NN\n")),
         r"b\.conll:3: byte 0xff at column 1 is not valid UTF-8", FormatError),
    Case("bytes-text", lambda e: read_text(e.write("b.txt", b"ok\nfine too\nna\xefve\n")),
         r"b\.txt:3: byte 0xef at column 3 is not valid UTF-8", FormatError),
    Case("bytes-cli-tag-text",
         lambda e: ["tag", "--model", e.models["tagger_path"], "--batch-size", "1",
                    e.write("b.txt", b"the dog\nthe cat\nna\xefve dog\n")],
         r"b\.txt:3: byte 0xef at column 3 is not valid UTF-8", via="cli"),
    Case("bytes-cli-train-hmm",
         lambda e: ["train-hmm", "--text", e.write("b.txt", b"the dog\n\xc3\x28\n"),
                    "--states", "2", "--quiet", "--out", e.path("h.hmmtl")],
         r"b\.txt:2: byte 0xc3 at column 1 is not valid UTF-8", via="cli",
         check=_nothing_in("{tmp}/h.hmmtl")),
    # -- a tag column that does not exist -------------------------------------------------
    Case("column-by-name", lambda e: read_conllu(e.write("g.conllu", CONLLU)).column("ner"),
         r"no column 'ner'; this corpus has columns \['id', 'form', 'lemma', 'upos', 'xpos'",
         KeyError),
    Case("column-by-index", lambda e: read_conll(e.write("g.conll", "a DT\n")).column(5),
         r"column index 5 is out of range: this corpus has 2 columns \['word', 'col1'\]",
         IndexError),
    Case("column-cli-train",
         lambda e: ["train", "--train", e.write("g.conllu", CONLLU), "--tag-column", "ner",
                    "--out", e.path("m.hmmtl")],
         r"--tag-column 'ner': no column 'ner'; this corpus has columns", via="cli",
         check=_nothing_in("{tmp}/m.hmmtl")),
    Case("column-cli-evaluate-index",
         lambda e: ["evaluate", "--model", e.models["tagger_path"], "--test",
                    e.write("g.conllu", CONLLU), "--tag-column", "12"],
         r"--tag-column 12: column index 12 is out of range: CoNLL-U has 10 columns",
         via="cli"),
    # -- labels at evaluation the model never saw -----------------------------------------
    Case("unseen-labels-cli-evaluate",
         lambda e: ["evaluate", "--model", e.models["tagger_path"], "--test",
                    e.write("g.conllu", CONLLU), "--tag-column", "upos", "--json"],
         r"hmmtl: warning: 3 gold label\(s\) never seen by the model count as errors: "
         r"DET, NOUN, VERB", via="cli-warning", check=_unseen_counted_as_errors),
    # a labeler's own score counts unseen tags as errors (tests/test_sklearn.py); no
    # sentences at all is refused by every labeler alike
    *[Case(f"score-no-sentences-{model}", (lambda m: lambda e: e.models[m].score([], []))(model),
           r"no sentences to score", ValueError)
      for model in ("tagger", "crf", "perceptron", "augmented")],
    # -- tokens and tags that are not strings, named by their position --------------------
    *[Case(f"not-a-string-{model}-{what}",
           (lambda model, X, Y: lambda e: _labeler(model).fit(X, Y))(model, bad_X, bad_Y),
           message, TypeError)
      for model in ("tagger", "crf", "perceptron", "augmented")
      for what, bad_X, bad_Y, message in [
          ("token", X[:2] + [["the", 3, "barks"]] + X[3:], Y, r"\[2\]\[1\] is the int 3"),
          ("token-none", [[None, "cat"]] + X[1:], [["DT", "NN"]] + Y[1:],
           r"\[0\]\[0\] is the NoneType None"),
          ("int-tags", X, [[0, 1, 2]] * 6, r"\[0\]\[0\] is the int 0"),
          ("mixed-tags", X, Y[:4] + [["DT", "NN", 7]] + Y[5:], r"\[4\]\[2\] is the int 7"),
      ]],
    Case("not-a-string-hmm-predict", lambda e: e.models["hmm"].predict([["the", 2.5]]),
         r"X\[0\]\[1\] is the float 2.5", TypeError),
    # -- a string where tokens or sentences belong ----------------------------------------
    *[Case(f"string-{model}-{what}",
           (lambda model, call, arg: lambda e: getattr(e.models[model], call)(arg))(
               model, call, arg), message, TypeError)
      for model in ("tagger", "crf", "perceptron", "augmented")
      for what, call, arg, message in [
          ("tag", "tag", "The cat sat",
           r"tokens must be a list of tokens, got the string 'The cat sat'; split it first"),
          ("tag-sents", "tag_sents", ["The cat sat", "A dog"],
           r"sentences\[0\] is the string 'The cat sat'; split it into tokens"),
          ("predict", "predict", "The cat sat", r"must be a list of token lists, got the string"),
          ("predict-mixed", "predict", [["The", "cat"], "sat down"],
           r"\[1\] is the string 'sat down'"),
      ] if hasattr(DomainAugmentedCRF if model == "augmented" else Tagger, call)],
    # -- X and y of different lengths -----------------------------------------------------
    Case("lengths-crf-sentences", lambda e: LinearChainCRF().fit(X, Y[:-1]),
         r"got 6 sentences but 5 tag sequences", ValueError),
    Case("lengths-crf-tokens", lambda e: LinearChainCRF().fit(X, [["DT", "NN"]] + Y[1:]),
         r"sentence 0 has 3 tokens but 2 labels", ValueError),
    Case("lengths-perceptron-sentences", lambda e: AveragedPerceptron().fit(X, Y[:-1]),
         r"got 6 sentences but 5 tag sequences", ValueError),
    Case("lengths-perceptron-tokens",
         lambda e: AveragedPerceptron().fit(X, Y[:5] + [["DT", "NN", "VBZ", "."]]),
         r"sentence 5 has 3 tokens but 4 labels", ValueError),
    Case("lengths-hmm-sentences", lambda e: CategoricalHMM().fit(X, Y[:-2]),
         r"y has 4 label sequences but X has 6 sequences", ValueError),
    Case("lengths-hmm-tokens", lambda e: CategoricalHMM().fit(X, [["DT"]] + Y[1:]),
         r"sentence 0 has 3 tokens but 1 labels", ValueError),
    Case("lengths-hmm-flat-ids",
         lambda e: CategoricalHMM().fit(np.arange(10), np.zeros(9, np.int64), lengths=[10]),
         r"y has 9 labels but X has 10 tokens", ValueError),
    Case("lengths-hmm-lengths-sum",
         lambda e: CategoricalHMM(n_states=2).fit(np.arange(10), lengths=[4, 5]),
         r"lengths sum to 9 but X has 10", ValueError),
    Case("lengths-tagger", lambda e: Tagger().fit(X, Y[:3]),
         r"got 6 sentences but 3 tag sequences", ValueError),
    # -- probabilities given to an HMM by hand --------------------------------------------
    *[Case(f"hmm-{problem}-{attr}-{call}",
           (lambda attr, change, call: lambda e: getattr(e.hmm_with(attr, change), call)(X))(
               attr, change, call),
           rf"{attr}.*{word}", ValueError)
      for problem, (change, word) in BAD_HMM.items() for attr in HMM_PARAMS
      for call in ("score", "predict")],
    Case("hmm-wrong-shape-transition",
         lambda e: _set(load(e.models["hmm_path"]), "transition_prob_",
                        np.full((3, 3), 1 / 3)).score(X),
         r"transition must have shape \(2, 2\) \(n_states = 2 from unary\), got shape \(3, 3\)",
         ValueError),
    # -- wrong dtypes and shapes to the kernels -------------------------------------------
    *[Case(f"kernel-{fn.__name__}-{backend}-{what}",
           (lambda fn, backend, kw: lambda e: fn(**{**_KERNEL_ARGS(), **kw, "backend": backend}))(
               fn, backend, kw), message, error)
      for fn in (forward_backward, viterbi) for backend in ("numba", "numpy")
      for what, kw, error, message in [
          ("unary-strings", {"unary": np.array([["a", "b"]] * 3)}, TypeError,
           r"unary must be a float array, got dtype <U1; pass log-potentials as float64"),
          ("unary-1d", {"unary": np.zeros(3)}, ValueError,
           r"unary must have shape \(n_tokens, n_states\), got shape \(3,\); for one state "
           r"use unary\.reshape\(-1, 1\)"),
          ("unary-nan", {"unary": np.full((3, 2), np.nan)}, ValueError,
           r"unary contains NaN \(first at index \(0, 0\)\); log-potentials must be finite"),
          ("transition-shape", {"transition": np.zeros((3, 3))}, ValueError,
           r"transition must have shape \(2, 2\) \(n_states = 2 from unary\), got shape "
           r"\(3, 3\)"),
          ("start-shape", {"start": np.zeros(3)}, ValueError,
           r"start must have shape \(2,\)"),
          ("offsets-float", {"offsets": np.array([0.0, 3.0])}, TypeError,
           r"offsets must hold integers, got dtype float64"),
          ("offsets-sum", {"offsets": np.array([0, 2])}, ValueError,
           r"offsets\[-1\] = 2 but there are 3 tokens"),
          ("offsets-decreasing", {"offsets": np.array([0, 2, 1, 3])}, ValueError,
           r"offsets must be non-decreasing, but offsets\[1\] = 2 and offsets\[2\] = 1"),
          ("allowed-dtype", {"allowed": np.ones((3, 2))}, TypeError,
           r"allowed must be a boolean mask, got dtype float64; try allowed\.astype\(bool\)"),
          ("allowed-shape", {"allowed": np.ones((3, 3), bool)}, ValueError,
           r"allowed must have shape \(3, 2\) like unary, got shape \(3, 3\)"),
      ]],
    Case("kernel-backend-name", lambda e: viterbi(**_KERNEL_ARGS(), backend="gpu"),
         r"backend must be one of \('auto', 'numba', 'numpy', 'cupy'\), got 'gpu'", ValueError),
    # -- a model file of another class ----------------------------------------------------
    Case("model-class-crf-load-hmm", lambda e: LinearChainCRF.load(e.models["hmm_path"]),
         r"hmm\.hmmtl: holds a CategoricalHMM model, expected a LinearChainCRF; load it with "
         r"hmmtl\.load or CategoricalHMM\.load", ModelFileError),
    Case("model-class-hmm-load-tagger", lambda e: CategoricalHMM.load(e.models["tagger_path"]),
         r"tagger\.hmmtl: holds a Tagger model, expected a CategoricalHMM", ModelFileError),
    Case("model-class-by-name", lambda e: load(e.models["hmm_path"], expected_class="Tagger"),
         r"holds a CategoricalHMM model, expected a Tagger", ModelFileError),
    Case("model-class-cli-hmm-features",
         lambda e: ["train", "--train", e.write("g.conllu", CONLLU), "--hmm",
                    e.models["tagger_path"], "--out", e.path("m.hmmtl")],
         r"--hmm .*tagger\.hmmtl: holds a Tagger, not an HMM", via="cli",
         check=_nothing_in("{tmp}/m.hmmtl")),
    Case("model-not-a-model-cli", lambda e: ["tag", "--model", e.write("m.hmmtl", "hello"),
                                             e.write("t.txt", "the dog\n")],
         r"m\.hmmtl: not an hmmtl model file", via="cli"),
    # -- an output path in a missing folder (nothing half-written) ------------------------
    Case("output-model-save", lambda e: e.models["hmm"].save(e.path("no/dir/h.hmmtl")),
         r"cannot write model file '.*no/dir/h\.hmmtl': folder '.*no/dir' does not exist; "
         r"create it first", FileNotFoundError, check=_nothing_in("{tmp}/no")),
    Case("output-write-conllu",
         lambda e: write_conllu(read_conllu(e.write("g.conllu", CONLLU)), e.path("no/g.conllu")),
         r"no/g\.conllu: folder .*no does not exist; create it first", FileNotFoundError,
         check=_nothing_in("{tmp}/no")),
    Case("output-write-conll",
         lambda e: write_conll(read_conll(e.write("g.conll", "a DT\n")), e.path("no/g.conll")),
         r"no/g\.conll: folder .*no does not exist", FileNotFoundError,
         check=_nothing_in("{tmp}/no")),
    Case("output-write-text", lambda e: write_text([["a", "b"]], e.path("no/t.txt")),
         r"no/t\.txt: folder .*no does not exist", FileNotFoundError,
         check=_nothing_in("{tmp}/no")),
    Case("output-cli-tag",
         lambda e: ["tag", "--model", e.models["tagger_path"], "--output", e.path("no/o.conll"),
                    e.write("t.txt", "the dog\n")],
         r"cannot write output '.*no/o\.conll': folder '.*no' does not exist; create it first",
         via="cli", check=_nothing_in("{tmp}/no")),
    Case("output-cli-train",
         lambda e: ["train", "--train", e.write("g.conllu", CONLLU), "--out",
                    e.path("no/m.hmmtl")],
         r"cannot write model '.*no/m\.hmmtl': folder '.*no' does not exist", via="cli",
         check=_nothing_in("{tmp}/no")),
    Case("output-cli-train-hmm",
         lambda e: ["train-hmm", "--text", e.write("t.txt", "the dog\n"), "--states", "2",
                    "--out", e.path("no/h.hmmtl")],
         r"cannot write model '.*no/h\.hmmtl': folder '.*no' does not exist", via="cli",
         check=_nothing_in("{tmp}/no")),
    Case("output-cli-tag-fails-midway-keeps-old-file",
         lambda e: (e.write("out.conll", "earlier output\n"),
                    ["tag", "--model", e.models["tagger_path"], "--batch-size", "1",
                     "--output", e.path("out.conll"),
                     e.write("t.txt", b"the dog\n" * 5 + b"bad \xff\n")])[1],
         r"t\.txt:6: byte 0xff", via="cli", check=_old_output_intact),
]


def _KERNEL_ARGS():  # a constant, rebuilt so no case can alter another's arrays
    return {"unary": np.zeros((3, 2)), "transition": np.zeros((2, 2)),
            "offsets": np.array([0, 3])}


def _set(obj, name, value):
    setattr(obj, name, value)
    return obj


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_bad_input(case: Case, env, capsys):
    out = ""
    if case.via == "lib":
        with pytest.raises(case.error) as info:
            case.act(env)
        message = str(info.value.args[0]) if info.value.args else str(info.value)
        assert re.search(case.message, message), f"message was: {message}"
    else:
        argv = case.act(env)
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        if case.via == "cli":
            assert code == 1, f"exit status {code}, stderr: {err}"
            assert err.startswith("hmmtl: error: "), err
        else:
            assert code == 0, f"exit status {code}, stderr: {err}"
        assert re.search(case.message, err), f"stderr was: {err}"
    if case.check is not None:
        case.check(env, out)


def test_every_case_id_is_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
