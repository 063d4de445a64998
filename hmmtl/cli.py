"""The ``hmmtl`` command line: a thin layer over the library.

Each command is one small function ``cmd_<name>(args) -> int`` that parses nothing and
computes little: it reads corpora through :mod:`hmmtl.io`, calls an estimator, and writes a
model file (:mod:`hmmtl.serialize`) or a corpus.  Heavy modules (the estimators, Numba
kernels) are imported inside the commands, so ``hmmtl --help`` is instant.

Exit status: 0 on success, 1 when a command fails at run time (bad input file, missing
model, ...: ``hmmtl: error: <message>`` on stderr, the traceback only with ``--debug``),
2 for a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Iterable, Iterator, Sequence

__all__ = ["main", "build_parser", "CommandError"]

PROG = "hmmtl"
FORMATS = ("conllu", "conll", "text")
REPRESENTATION_CHOICES = ("viterbi", "posterior", "type", "type_cluster")
#: sentences per batch when tagging a stream: bounds memory on inputs of any size
TAG_BATCH_SENTENCES = 2000


class CommandError(Exception):
    """A run-time failure with a message for the user (exit status 1)."""


# ============================================================================ utilities
def _log(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def _import_optional(module: str, what: str):
    """Import ``module`` or explain which part of hmmtl is missing."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module or module.startswith(exc.name + ".")):
            raise CommandError(f"{what} is not available in this installation of hmmtl "
                               f"({module} is missing)") from exc
        raise


def _io():
    return _import_optional("hmmtl.io", "reading corpora")


def _io_function(name: str, what: str):
    func = getattr(_io(), name, None)
    if func is None:
        raise CommandError(f"{what} is not available in this installation of hmmtl "
                           f"(hmmtl.io.{name} is missing)")
    return func


def _accepted(func_or_cls, kwargs: dict) -> dict:
    """The subset of ``kwargs`` that ``func_or_cls`` accepts (None values dropped)."""
    target = func_or_cls.__init__ if isinstance(func_or_cls, type) else func_or_cls
    params = inspect.signature(target).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {k: v for k, v in kwargs.items() if v is not None}
    return {k: v for k, v in kwargs.items() if v is not None and k in params}


def _estimator_params(cls, wanted: dict[str, tuple[object, Sequence[str], str | None]]) -> dict:
    """Map command-line options to estimator parameters.

    ``wanted`` maps an option to ``(value, candidate parameter names, flag)``; the first
    candidate the estimator accepts gets the value.  An option the user gave (``flag`` not
    None) that the estimator cannot take is an error, not silently ignored.
    """
    names = set(inspect.signature(cls.__init__).parameters) - {"self"}
    out = {}
    for _, (value, candidates, flag) in wanted.items():
        if value is None:
            continue
        for cand in candidates:
            if cand in names:
                out[cand] = value
                break
        else:
            if flag is not None:
                raise CommandError(f"{flag} is not supported by {cls.__name__} in this hmmtl "
                                   f"version (it takes {', '.join(sorted(names))})")
    return out


def _check_output(path: str | None, what: str = "output") -> None:
    """Fail before any work when the output folder is missing."""
    if path is None or path == "-":
        return
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise CommandError(f"cannot write {what} {path!r}: folder {str(folder)!r} does not "
                           f"exist; create it first")
    if p.is_dir():
        raise CommandError(f"cannot write {what} {path!r}: it is a folder; give a file name")


def _check_inputs(paths: Iterable[str]) -> None:
    for p in paths:
        if p != "-" and not Path(p).exists():
            raise CommandError(f"{p}: no such file")
        if p != "-" and Path(p).is_dir():
            raise CommandError(f"{p}: is a folder; give the corpus files inside it")


def _data_dir(arg: str | None) -> Path | None:
    """``--data``, else ``$HMMTL_DATA``; an explicit folder that does not exist is an error."""
    if arg:
        p = Path(arg)
        if not p.is_dir():
            raise CommandError(f"--data {arg!r}: no such folder")
        return p.resolve()
    env = os.environ.get("HMMTL_DATA")
    if env and Path(env).is_dir():
        return Path(env).resolve()
    return None


def _infer_format(path: str, default: str | None) -> str:
    name = Path(path).name.lower()
    if name.endswith(".conllu"):
        return "conllu"
    if name.endswith((".conll", ".iob", ".bio", ".tsv")) or name.startswith("eng.") \
            or name.split(".")[-1] in ("train", "testa", "testb"):
        return "conll"
    if name.endswith((".txt", ".tok")):
        return "text"
    if default is not None:
        return default
    raise CommandError(f"{path}: cannot tell its format from the name; give --format "
                       f"(conllu, conll or text)")


def _column_arg(value: str | None):
    """``--tag-column``: a name (``xpos``, ``upos``, ``ner``) or a 0-based column index."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


# ---------------------------------------------------------------------------- reading
def _read_one(source, fmt: str, *, name: str | None = None, data_dir=None):
    """Read one file (or stream, or list of lines) into a :class:`hmmtl.io.Corpus`."""
    readers = {"conllu": ("read_conllu", "reading CoNLL-U"),
               "conll": ("read_conll", "reading CoNLL column files"),
               "text": ("read_text", "reading plain text")}
    if fmt in readers:
        reader = _io_function(*readers[fmt])
        return reader(source, **_accepted(reader, {"name": name}))
    if fmt.startswith("nltk:"):
        load_nltk = _io_function("load_nltk", "reading NLTK corpora")
        corpus_name, _, split = fmt[5:].partition(":")
        return load_nltk(corpus_name, **_accepted(load_nltk, {"data_dir": data_dir,
                                                              "split": split or None}))
    raise CommandError(f"unknown format {fmt!r}: expected conllu, conll, text or nltk:NAME")


def _read_corpus(paths: Sequence[str], fmt: str | None, *, data_dir=None, default=None):
    """Read and concatenate ``paths`` (or the NLTK corpus ``fmt == "nltk:NAME"``)."""
    if fmt and fmt.startswith("nltk:"):
        return _read_one(None, fmt, data_dir=data_dir)
    _check_inputs(paths)
    corpora = []
    for p in paths:
        f = fmt or _infer_format(p, default)
        corpora.append(_read_one(sys.stdin if p == "-" else p, f,
                                 name="<stdin>" if p == "-" else None))
    if len(corpora) == 1:
        return corpora[0]
    concat = getattr(_io(), "concat")
    return concat(corpora)


def _tag_column_labels(corpus, column, option="--tag-column"):
    try:
        return corpus.column(column)
    except (KeyError, IndexError) as exc:
        msg = exc.args[0] if exc.args else str(exc)
        raise CommandError(f"{option} {column!r}: {msg}") from None


def _iter_text_sentences(paths: Sequence[str], fmt: str | None, lowercase: bool):
    """Token lists of unlabeled text, file by file (text files streamed line by line)."""
    _check_inputs(paths)
    for p in paths:
        f = fmt or _infer_format(p, "text")
        source = sys.stdin if p == "-" else p
        if f == "text":  # streamed: only the token lists are kept
            iter_text = _io_function("iter_text", "reading plain text")
            for batch in iter_text(source, lowercase=lowercase):
                yield from batch
            continue
        sentences = _read_one(source, f, name="<stdin>" if p == "-" else None).sentences
        if lowercase:
            sentences = [[w.lower() for w in s] for s in sentences]
        yield from sentences


# ---------------------------------------------------------------------------- models
def _load_model(path: str):
    from .serialize import load

    if not Path(path).exists():
        raise CommandError(f"model file {path!r} does not exist")
    return load(path)


def _save_model(model, path: str, args) -> None:
    from .serialize import save

    save(model, path)
    _log(args, f"wrote {type(model).__name__} to {path}")


def _predict(model, sentences):
    if not hasattr(model, "predict"):
        raise CommandError(f"a {type(model).__name__} model does not tag text")
    if not sentences:
        return []
    pred = model.predict(sentences)
    return [[str(t) for t in s] for s in pred]


def _labeler_of(model):
    return getattr(model, "labeler_", model)


def _known_words(model):
    """Words seen in labeled training, for OOV accuracy; None when the model does not say."""
    for obj in (model, _labeler_of(model)):
        known = getattr(obj, "known_words_", None)
        if known is not None:
            return known
        space = getattr(obj, "feature_space_", None)
        featurizer = getattr(space, "featurizer_", None)
        index = getattr(featurizer, "type_index", None)
        if index is not None:
            return index
        vocab = getattr(obj, "vocabulary_", None)
        if vocab is not None and hasattr(vocab, "__contains__"):
            return vocab
    return None


def _model_labels(model):
    labels = getattr(_labeler_of(model), "labels_", None)
    if labels is None:
        labels = getattr(model, "labels_", None)
    return None if labels is None else set(labels)


# ============================================================================ commands
def cmd_info(args) -> int:
    """Print versions, parallelism, accelerators and data found."""
    from . import _info

    report = _info.collect(data=args.data)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    else:
        print(_info.format_report(report))
    return 0


def cmd_train_hmm(args) -> int:
    """Unsupervised HMM on raw text, CoNLL or CoNLL-U files."""
    _check_output(args.out, "model")
    _check_inputs(args.text)
    hmm_module = _import_optional("hmmtl.hmm", "training HMMs")
    cls = hmm_module.CategoricalHMM
    params = _estimator_params(cls, {
        "states": (args.states, ("n_states",), "--states"),
        "iter": (args.iter, ("n_iter", "max_iter"), "--iter"),
        "tol": (args.tol, ("tol",), "--tol"),
        "online": ("online" if args.online else None, ("algorithm", "em"), "--online"),
        "batch": (args.batch_size, ("batch_size",), "--batch-size"),
        "kbest": (args.kbest, ("k_best", "kbest", "top_k", "beam"), "--kbest"),
        "min_count": (args.min_count, ("min_count",), "--min-count"),
        "lowercase": (True if args.lowercase else None, ("lowercase",), None),
        "dtype": (args.dtype, ("dtype",), "--dtype"),
        "restarts": (args.restarts, ("n_init", "n_restarts"), "--restarts"),
        "seed": (args.seed, ("random_state",), None),
        "verbose": (not args.quiet, ("verbose",), None),
    })
    if args.dask:
        return _train_hmm_on_dask(args, params)
    # lowercase in the reader when the model cannot do it itself
    lower_here = bool(args.lowercase) and "lowercase" not in params
    sentences = list(_iter_text_sentences(args.text, args.format, lower_here))
    if not sentences:
        raise CommandError("no sentences in the input text")
    n_tokens = sum(map(len, sentences))
    _log(args, f"training a {args.states}-state HMM on {len(sentences)} sentences, "
               f"{n_tokens} tokens")
    model = cls(**params).fit(sentences)
    monitor = getattr(model, "monitor_", None)
    history = getattr(monitor, "log_likelihoods", None) or getattr(monitor, "history", None)
    if history:
        _log(args, f"log-likelihood per token after {len(history)} iterations: "
                   f"{history[-1] / max(n_tokens, 1):.4f}")
    _save_model(model, args.out, args)
    return 0


def _train_hmm_on_dask(args, params) -> int:
    """``train-hmm --dask ADDRESS|local``: the E-step runs on Dask workers, which read the
    text files themselves; only sufficient statistics come back."""
    distributed = _import_optional("hmmtl.distributed", "--dask (pip install 'hmmtl[dask]')")
    params = dict(params)
    n_states = params.pop("n_states")
    n_iter = params.pop("n_iter", 20)
    online = params.pop("algorithm", None) == "online"
    verbose = params.pop("verbose", True)
    _log(args, f"training a {n_states}-state HMM on Dask ({args.dask}) from "
               f"{len(args.text)} file(s)")
    model = distributed.train_hmm_distributed(
        args.dask, [str(p) for p in args.text], n_states=n_states, n_iter=n_iter,
        online=online, format=args.format or "text", verbose=verbose, **params)
    _save_model(model, args.out, args)
    return 0


def _labeler_params(args) -> dict:
    crf = _import_optional("hmmtl.crf", "training labelers")
    cls = crf.AveragedPerceptron if args.algorithm == "perceptron" else crf.LinearChainCRF
    return _estimator_params(cls, {
        "c1": (args.c1, ("c1",), "--c1"),
        "c2": (args.c2, ("c2",), "--c2"),
        "max_iter": (args.max_iter, ("max_iterations", "n_epochs", "max_iter"), "--max-iter"),
        "seed": (args.seed, ("random_state",), None),
        "verbose": (not args.quiet, ("verbose",), None),
    })


def cmd_train(args) -> int:
    """Supervised labeler (CRF or perceptron), optionally with HMM features."""
    _check_output(args.out, "model")
    data_dir = _data_dir(args.data)
    nltk_format = bool(args.format and args.format.startswith("nltk:"))
    if not args.train and not nltk_format:
        raise CommandError("give the training data: --train FILE... or --format nltk:NAME")
    corpus = _read_corpus([] if nltk_format else args.train, args.format, data_dir=data_dir)
    column = _column_arg(args.tag_column)
    tags = _tag_column_labels(corpus, column)
    sentences = corpus.sentences
    if not sentences:
        raise CommandError("no sentences in the training data")

    dev = None
    if args.dev:
        if args.dev[0].startswith("nltk:"):  # e.g. --dev nltk:conll2000:test
            dev_corpus = _read_corpus([], args.dev[0], data_dir=data_dir)
        else:
            dev_corpus = _read_corpus(args.dev, None if nltk_format else args.format,
                                      data_dir=data_dir)
        dev = (dev_corpus.sentences, _tag_column_labels(dev_corpus, column, "--tag-column (dev)"))

    hmms = [_load_model(p) for p in (args.hmm or [])]
    for path, h in zip(args.hmm or [], hmms):
        if not hasattr(h, "transform"):
            raise CommandError(f"--hmm {path}: holds a {type(h).__name__}, not an HMM")
    representations = None
    if args.represent:
        representations = tuple(r.strip() for r in args.represent.split(",") if r.strip())
        bad = [r for r in representations if r not in REPRESENTATION_CHOICES]
        if bad:
            raise CommandError(f"--represent {args.represent!r}: unknown {bad}; choose from "
                               f"{','.join(REPRESENTATION_CHOICES)}")
        if not hmms:
            raise CommandError("--represent needs --hmm MODEL (an HMM trained with train-hmm)")

    pipeline = _import_optional("hmmtl.transfer.pipeline", "the tagging pipeline")
    kwargs = {"labeler": args.algorithm, "labeler_params": _labeler_params(args),
              "hmm": (hmms[0] if len(hmms) == 1 else hmms) if hmms else None,
              "random_state": args.seed}
    if representations:
        kwargs["representations"] = representations
    if args.top_k is not None:
        kwargs["top_k"] = args.top_k
    tagger = pipeline.Tagger(**kwargs)
    _log(args, f"training a {args.algorithm} on {len(sentences)} sentences, "
               f"{sum(map(len, sentences))} tokens"
               + (f" with {len(hmms)} HMM(s): {','.join(tagger.representations)}"
                  if hmms else ""))
    fit_kwargs = _accepted(tagger.fit, {"dev": dev, "verbose": not args.quiet})
    tagger.fit(sentences, tags, **fit_kwargs)
    if dev is not None:
        _log(args, f"dev accuracy: {tagger.score(*dev):.4f}")
    _save_model(tagger, args.out, args)
    return 0


def _chunks_of_lines(stream, fmt: str, batch: int) -> Iterator[tuple[int, list[str]]]:
    """Cut a line stream into pieces of about ``batch`` sentences, each a valid file of
    its own (cuts only at a blank line followed by a non-blank one), with the 1-based
    number of its first line.  Keeps memory bounded whatever the input size."""
    start, count, piece = 1, 0, []
    prev_blank = False
    for line in stream:
        blank = not line.strip()
        if fmt == "text":
            if not blank and count >= batch:
                yield start, piece
                start += len(piece)
                piece, count = [], 0
            piece.append(line)
            count += not blank
            continue
        if not blank and prev_blank and count >= batch:
            yield start, piece
            start += len(piece)
            piece, count = [], 0
        if blank and not prev_blank:
            count += 1
        piece.append(line)
        prev_blank = blank
    if piece:
        yield start, piece


def _shift_error(exc, name: str, first_line: int):
    """A reader's error on a piece of a stream, with the line number in the whole input."""
    from .io import FormatError

    line = getattr(exc, "line", None)
    return FormatError(name, None if line is None else line + first_line - 1,
                       getattr(exc, "reason", str(exc)))


def _text_to_conll(sentences, predicted):
    io_mod = _io()
    return io_mod.Corpus(columns={"word": [list(s) for s in sentences], "tag": predicted},
                         word_column="word", label_column="tag", format="conll")


def _write_corpus(corpus, out, predicted, column, fmt: str) -> None:
    if fmt == "text":
        corpus = _text_to_conll(corpus.sentences, predicted)
        _io_function("write_conll", "writing CoNLL")(corpus, out, sep="\t")
    elif fmt == "conllu":
        _io_function("write_conllu", "writing CoNLL-U")(corpus, out, labels=predicted,
                                                         column=column or "xpos")
    else:
        write_conll = _io_function("write_conll", "writing CoNLL")
        if column is None:  # append the predictions as a new last column
            corpus = corpus.with_column("predicted", predicted)
            write_conll(corpus, out)
        else:
            write_conll(corpus, out, labels=predicted, column=column)


class _AtomicOutput:
    """A text file written through a temporary file in the same folder and renamed into
    place on success, so a failed run leaves any earlier file intact (streamed, unlike
    building the whole output in memory)."""

    def __init__(self, path: str):
        import tempfile

        self.path = Path(path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        fd, self.tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.",
                                        suffix=".tmp")
        self.stream = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.stream.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


def _tag_stream(model, stream, name: str, fmt: str, column, out, batch: int) -> tuple[int, int]:
    """Tag one input piece by piece; returns (sentences, tokens)."""
    io_mod = _io()
    n_sent = n_tok = 0
    pieces = 0
    for first_line, lines in _chunks_of_lines(stream, fmt, batch):
        if pieces and not any(line.strip() for line in lines):
            continue  # blank lines after the last sentence of a text file
        pieces += 1
        try:
            corpus = _read_one(lines, fmt, name=name)
        except io_mod.FormatError as exc:
            raise _shift_error(exc, name, first_line) from None
        predicted = _predict(model, corpus.sentences)
        _write_corpus(corpus, out, predicted, column, fmt)
        n_sent += len(corpus.sentences)
        n_tok += sum(map(len, corpus.sentences))
    if not pieces:  # an empty input: let the reader say so, in its words
        _read_one([], fmt, name=name)
    return n_sent, n_tok


def cmd_tag(args) -> int:
    """Tag files or stdin, writing the same format with the predicted column."""
    _check_output(args.output, "output")
    inputs = args.files or ["-"]
    _check_inputs(inputs)
    model = _load_model(args.model)
    column = _column_arg(args.tag_column)
    target = _AtomicOutput(args.output) if args.output else None
    out = target.stream if target else sys.stdout
    n_sent = n_tok = 0
    try:
        for path in inputs:
            fmt = args.format or (_infer_format(path, "text") if path != "-" else "text")
            name = "<stdin>" if path == "-" else path
            # bytes in: the reader decodes and names the line of any bad byte
            stream = getattr(sys.stdin, "buffer", sys.stdin) if path == "-" else open(path, "rb")
            try:
                s, t = _tag_stream(model, stream, name, fmt, column, out, args.batch_size)
            finally:
                if path != "-":
                    stream.close()
            n_sent, n_tok = n_sent + s, n_tok + t
        if target:
            target.commit()
    except BaseException:
        if target:
            target.discard()
        raise
    if target:
        _log(args, f"tagged {n_sent} sentences, {n_tok} tokens -> {args.output}")
    else:
        sys.stdout.flush()
    return 0


def _is_bio(labels) -> bool:
    labels = {lab for lab in labels if lab is not None}
    return bool(labels) and all(lab == "O" or (len(lab) > 2 and lab[1] == "-" and
                                               lab[0] in "BIES") for lab in labels) \
        and any(lab != "O" for lab in labels)


def _scores(gold, predicted, words, known) -> dict:
    import numpy as np

    from .data import flatten

    g, offsets = flatten(gold)
    p, _ = flatten(predicted)
    w, _ = flatten(words)
    n = len(g)
    correct = np.asarray(g, dtype=object) == np.asarray(p, dtype=object)
    out = {"n_tokens": n, "accuracy": float(correct.mean()) if n else None}
    if known is not None:
        oov = ~np.fromiter(map(known.__contains__, w), dtype=bool, count=n)
        out["n_oov"] = int(oov.sum())
        out["oov_accuracy"] = float(correct[oov].mean()) if oov.any() else None
    else:
        out["n_oov"], out["oov_accuracy"] = None, None
    if _is_bio(g):
        out.update(_entity_scores(gold, predicted))
    return out


def _entity_scores(gold, predicted) -> dict:
    metrics = _import_optional("hmmtl.metrics", "entity scoring")
    for name in ("entity_scores", "entity_prf", "span_f1", "conlleval"):
        func = getattr(metrics, name, None)
        if func is not None:
            break
    else:
        raise CommandError("entity scoring is not available (hmmtl.metrics has no "
                           "entity_scores)")
    result = func(gold, predicted)
    if isinstance(result, dict):
        get = result.get
        return {"precision": get("precision"), "recall": get("recall"), "f1": get("f1")}
    precision, recall, f1 = (getattr(result, k, None) for k in ("precision", "recall", "f1"))
    if f1 is None and isinstance(result, tuple):
        precision, recall, f1 = result[:3]
    return {"precision": precision, "recall": recall, "f1": f1}


def cmd_evaluate(args) -> int:
    """Token accuracy, OOV accuracy and (BIO tag sets) entity P/R/F1 of a model."""
    data_dir = _data_dir(args.data)
    model = _load_model(args.model)
    corpus = _read_corpus(args.test, args.format, data_dir=data_dir)
    column = _column_arg(args.tag_column)
    gold = _tag_column_labels(corpus, column)
    words = corpus.sentences
    predicted = _predict(model, words)
    seen = _model_labels(model)
    if seen is not None:
        unseen = sorted({t for s in gold for t in s} - seen)
        if unseen:
            shown = ", ".join(unseen[:20]) + (" ..." if len(unseen) > 20 else "")
            print(f"hmmtl: warning: {len(unseen)} gold label(s) never seen by the model count "
                  f"as errors: {shown}", file=sys.stderr)
    known = _known_words(model)
    result = _scores(gold, predicted, words, known)
    if args.by_domain:
        domains = list(corpus.domains)
        by_domain = {}
        for d in dict.fromkeys(domains):
            idx = [i for i, x in enumerate(domains) if x == d]
            by_domain[d] = _scores([gold[i] for i in idx], [predicted[i] for i in idx],
                                   [words[i] for i in idx], known)
        result["by_domain"] = by_domain
    else:
        result["by_domain"] = None
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(_format_scores(result))
    return 0


def _fmt(x, pct=True):
    if x is None:
        return "-"
    return f"{100 * x:.2f}" if pct else str(x)


def _format_scores(result: dict) -> str:
    has_f1 = "f1" in result
    head = ["domain", "tokens", "accuracy", "OOV tokens", "OOV accuracy"] + (
        ["precision", "recall", "F1"] if has_f1 else [])
    rows = []

    def row(name, r):
        cells = [name, str(r["n_tokens"]), _fmt(r["accuracy"]), _fmt(r.get("n_oov"), False),
                 _fmt(r.get("oov_accuracy"))]
        if has_f1:
            cells += [_fmt(r.get("precision")), _fmt(r.get("recall")), _fmt(r.get("f1"))]
        rows.append(cells)

    for d, r in (result.get("by_domain") or {}).items():
        row(str(d), r)
    row("all", result)
    widths = [max(len(c[i]) for c in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(cells, widths))) for cells in [head] + rows]
    return "\n".join(lines)


_STUDIES = {
    "domain-adaptation": ("run_domain_adaptation", ("hmmtl.transfer.experiments",)),
    "feature-augmentation": ("run_feature_augmentation", ("hmmtl.transfer.experiments",)),
    "multi-task": ("run_multi_task", ("hmmtl.transfer.experiments",
                                      "hmmtl.transfer.multitask_experiment",
                                      "hmmtl.transfer.multitask")),
}


def _find_study(study: str):
    func_name, modules = _STUDIES[study]
    for module in modules:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        func = getattr(mod, func_name, None)
        if func is not None:
            return func
    raise CommandError(f"the {study} study is not available in this installation of hmmtl "
                       f"({func_name} is missing from {', '.join(modules)})")


def cmd_experiment(args) -> int:
    """Run a study and write its tables and plot."""
    data_dir = _data_dir(args.data)
    if data_dir is None:
        raise CommandError("the studies need the corpora: give --data DIR or set HMMTL_DATA")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise CommandError(f"cannot write results to {args.out!r}: folder "
                           f"{str(out.parent)!r} does not exist")
    func = _find_study(args.study)
    quick = args.preset if args.preset else (True if args.quick else False)
    kwargs = {"data_dir": data_dir, "out_dir": out, "quick": quick,
              "seeds": args.seeds, "states": args.states,
              "representations": args.representations, "progress": not args.quiet}
    if args.hmms is not None:
        kwargs["n_hmms"] = args.hmms
    if args.texts is not None:
        kwargs["texts"] = args.texts
    if args.hmm_iter is not None:
        kwargs["hmm_iter"] = args.hmm_iter
    result = func(**_accepted(func, kwargs))
    _log(args, f"results written to {out}")
    if isinstance(result, dict) and result.get("markdown") and not args.quiet:
        print(result["markdown"])
    return 0


def cmd_demo(args) -> int:
    """The domain-adaptation demo on real data, or on synthetic data when there is none."""
    demo = _import_optional("hmmtl.demo", "the demo")
    data = args.data
    if data and not Path(data).is_dir():
        raise CommandError(f"--data {data!r}: no such folder")
    if args.out:
        _check_output(os.path.join(args.out, "x"), "results")
    kwargs = {"data_dir": data, "out": args.out, "quick": True if args.quick else None,
              "random_state": args.seed, "progress": not args.quiet}
    demo.run_demo(**_accepted(demo.run_demo, kwargs))
    return 0


# ============================================================================ parser
class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32)


def _add(sub, name, func, help_, description, epilog=None):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback when something fails")
    description = textwrap.fill(description, width=78)
    p = sub.add_parser(name, help=help_, description=description, epilog=epilog,
                       formatter_class=_Formatter, parents=[common])
    p.set_defaults(func=func)
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got "
                                         f"{text!r}") from None


def _text_list(text: str) -> list[str]:
    from .transfer.experiments import TEXTS

    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in TEXTS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated texts among "
                                         f"{', '.join(TEXTS)}, got {text!r}")
    return items


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Formatter,
        description="HMMs and CRF-style sequence labelers that share latent states across "
                    "domains and tasks.",
        epilog="Run 'hmmtl COMMAND --help' for the options of a command.\n"
               "Corpora are found through --data DIR or the HMMTL_DATA environment variable.")
    parser.add_argument("-V", "--version", action="version", version=f"hmmtl {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show the full traceback when something fails")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    # -- info
    p = _add(sub, "info", cmd_info, "versions, threads, BLAS, GPU and data found",
             "Print the versions of hmmtl and its dependencies, Numba's threads and threading "
             "layer, the BLAS in use, whether CuPy / a GPU and Dask are available, the data "
             "folder and the corpora in it, and where compiled kernels are cached.")
    p.add_argument("--data", metavar="DIR", help="corpora folder (default: $HMMTL_DATA)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    # -- train-hmm
    p = _add(sub, "train-hmm", cmd_train_hmm, "unsupervised HMM on raw text (word representations)",
             "Train a CategoricalHMM with EM on unlabeled text and save it.  Its states give "
             "word representations for 'hmmtl train --hmm'.",
             "example:\n  hmmtl train-hmm --text wsj.txt web.txt --states 128 --iter 30 "
             "--lowercase --min-count 2 --out hmm128.hmmtl")
    p.add_argument("--text", nargs="+", required=True, metavar="FILE",
                   help="input files ('-' for stdin): one tokenized sentence a line, or CoNLL / "
                        "CoNLL-U (words only are used)")
    p.add_argument("--format", choices=FORMATS,
                   help="input format (default: from the file name, else text)")
    p.add_argument("--states", type=_positive_int, required=True, metavar="K",
                   help="number of hidden states")
    p.add_argument("--iter", type=_positive_int, metavar="N", help="EM iterations")
    p.add_argument("--tol", type=_nonneg_float, metavar="TOL",
                   help="stop when the log-likelihood gains less than TOL")
    p.add_argument("--online", action="store_true",
                   help="online (stepwise) EM over mini-batches, for large corpora")
    p.add_argument("--batch-size", type=_positive_int, metavar="N",
                   help="sentences per mini-batch of online EM")
    p.add_argument("--kbest", type=_positive_int, metavar="k",
                   help="k-best approximate forward-backward (keep k states per position)")
    p.add_argument("--lowercase", action="store_true", help="lowercase the words")
    p.add_argument("--min-count", type=_positive_int, metavar="N",
                   help="words seen fewer than N times map to unknown-word signatures")
    p.add_argument("--restarts", type=_positive_int, metavar="N",
                   help="random restarts, keeping the best")
    p.add_argument("--dtype", choices=("float64", "float32"), help="parameter precision")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the E-step on a Dask cluster: a scheduler address "
                        "(tcp://host:8786) or 'local' for worker processes on this machine")
    p.add_argument("--seed", type=int, metavar="S", default=0, help="random seed (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    p.add_argument("--out", required=True, metavar="MODEL", help="output model file")

    # -- train
    p = _add(sub, "train", cmd_train, "supervised tagger (CRF or perceptron), HMM features optional",
             "Train a sequence labeler on tagged data and save it as one model file.  With "
             "--hmm, the states of HMMs trained by 'hmmtl train-hmm' are features.",
             "examples:\n"
             "  hmmtl train --train train.conllu --tag-column xpos --out pos.hmmtl\n"
             "  hmmtl train --train eng.train --format conll --tag-column 3 \\\n"
             "      --hmm hmm128.hmmtl --represent viterbi,posterior --out ner.hmmtl\n"
             "  hmmtl train --format nltk:conll2000 --tag-column pos --data DIR --out wsj.hmmtl")
    p.add_argument("--train", nargs="*", default=None, metavar="FILE",
                   help="training files (not needed with --format nltk:NAME)")
    p.add_argument("--format", metavar="FMT",
                   help="conllu, conll, or nltk:NAME[:SPLIT] (treebank, conll2000, brown, "
                        "conll2002, nps_chat; e.g. nltk:conll2000:train); default: from the "
                        "file name")
    p.add_argument("--tag-column", metavar="COL",
                   help="column of the tags: a name (xpos, upos, pos, chunk, ner) or a 0-based "
                        "index (default: the format's label column: xpos, the last column)")
    p.add_argument("--algorithm", choices=("crf", "perceptron"), default="crf",
                   help="labeler (default crf)")
    p.add_argument("--hmm", action="append", metavar="MODEL",
                   help="HMM model whose states become features (repeat for several)")
    p.add_argument("--represent", metavar="KINDS",
                   help="representations of the HMM(s): comma-separated of "
                        f"{','.join(REPRESENTATION_CHOICES)} (default viterbi,posterior,type)")
    p.add_argument("--top-k", type=_positive_int, metavar="k",
                   help="posterior / type features keep their k most probable states")
    p.add_argument("--dev", nargs="+", metavar="FILE", help="development files, or nltk:NAME:SPLIT (early stopping)")
    p.add_argument("--c1", type=_nonneg_float, help="L1 regularization (crf)")
    p.add_argument("--c2", type=_nonneg_float, help="L2 regularization (crf)")
    p.add_argument("--max-iter", type=_positive_int, metavar="N",
                   help="optimizer iterations (crf) or epochs (perceptron)")
    p.add_argument("--data", metavar="DIR", help="corpora folder for nltk:NAME (default: $HMMTL_DATA)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    p.add_argument("--out", required=True, metavar="MODEL", help="output model file")

    # -- tag
    p = _add(sub, "tag", cmd_tag, "tag files or stdin",
             "Tag CoNLL-U, CoNLL or plain text and write the same format with the predicted "
             "column (plain tokenized text in, two-column CoNLL out).  Reads stdin when no file "
             "is given; streams large inputs in batches.",
             "examples:\n"
             "  hmmtl tag --model pos.hmmtl test.conllu > tagged.conllu\n"
             "  echo 'The dog barks .' | hmmtl tag --model pos.hmmtl")
    p.add_argument("files", nargs="*", metavar="FILE", help="input files (default: stdin)")
    p.add_argument("--model", required=True, metavar="MODEL", help="model file")
    p.add_argument("--format", choices=FORMATS,
                   help="input format (default: from the file name, else text)")
    p.add_argument("--tag-column", metavar="COL",
                   help="column for the predictions (CoNLL-U default xpos; CoNLL default: a "
                        "new last column)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write here (atomically) instead of stdout")
    p.add_argument("--batch-size", type=_positive_int, default=TAG_BATCH_SENTENCES, metavar="N",
                   help=f"sentences tagged at a time (default {TAG_BATCH_SENTENCES})")
    p.add_argument("--quiet", "-q", action="store_true", help="no messages")

    # -- evaluate
    p = _add(sub, "evaluate", cmd_evaluate, "accuracy, OOV accuracy and entity F1 of a model",
             "Tag the test files and compare with their gold column: token accuracy, accuracy "
             "on words unseen in training (OOV), and entity precision / recall / F1 (conlleval "
             "semantics) when the tags are BIO / BIOES.  Gold labels the model never saw count "
             "as errors and are listed in a warning.",
             "example:\n  hmmtl evaluate --model pos.hmmtl --test en_ewt-*-test.conllu "
             "--tag-column xpos --by-domain")
    p.add_argument("--model", required=True, metavar="MODEL", help="model file")
    p.add_argument("--test", nargs="+", required=True, metavar="FILE", help="gold files")
    p.add_argument("--tag-column", metavar="COL", help="gold column: name or 0-based index")
    p.add_argument("--format", metavar="FMT", help="conllu, conll or nltk:NAME")
    p.add_argument("--data", metavar="DIR", help="corpora folder for nltk:NAME")
    p.add_argument("--by-domain", action="store_true", help="also report each domain")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (accuracy, oov_accuracy, n_tokens, f1, by_domain)")

    # -- experiment
    p = _add(sub, "experiment", cmd_experiment, "run a study (domain adaptation, multi-task)",
             "Run one of hmmtl's studies on the corpora and write Markdown, CSV and JSON "
             "tables and a PNG plot to --out.",
             "example:\n  hmmtl experiment domain-adaptation --data ../shared/data "
             "--out results/da --quick")
    p.add_argument("study", choices=sorted(_STUDIES), help="which study")
    p.add_argument("--data", metavar="DIR", help="corpora folder (default: $HMMTL_DATA)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder")
    p.add_argument("--quick", action="store_true", help="a smoke run of a few minutes")
    p.add_argument("--preset", choices=("quick", "tiny", "full"), help=argparse.SUPPRESS)
    p.add_argument("--seeds", type=_int_list, metavar="S,S,...", help="random seeds")
    p.add_argument("--states", type=_int_list, metavar="K,K,...", help="HMM sizes")
    p.add_argument("--representations", type=lambda s: [x for x in s.split(";") if x],
                   metavar="R;R;...",
                   help="representation sets, e.g. 'none;viterbi;viterbi+posterior+type'")
    p.add_argument("--texts", type=_text_list, metavar="T,T,...",
                   help="domain-adaptation: unlabeled text of the HMMs, among source, target, "
                        "both, transductive (both + the words of the dev and test files)")
    p.add_argument("--hmm-iter", type=_positive_int, metavar="N",
                   help="domain-adaptation: EM iterations of each HMM (default 30)")
    p.add_argument("--hmms", type=int, metavar="N",
                   help="domain-adaptation: HMMs per setting (an ensemble of seeds whose "
                        "representations are all features; default 5, 1 with --quick)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")

    # -- demo
    p = _add(sub, "demo", cmd_demo, "a small domain-adaptation demo (real or synthetic data)",
             "Train an HMM on source and target text and a CRF with and without its "
             "features, and print the accuracy table.  Without corpora (--data, HMMTL_DATA or "
             "NLTK's data path) the same runs on a synthetic multi-domain corpus.")
    p.add_argument("--data", metavar="DIR", help="corpora folder (default: $HMMTL_DATA)")
    p.add_argument("--out", metavar="DIR", help="also write the table to this folder")
    p.add_argument("--quick", action="store_true", help="smaller, faster")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    return parser


# ============================================================================ main
def _user_error(exc: BaseException) -> bool:
    """Errors that are about the input, not hmmtl: print the message only."""
    return isinstance(exc, (CommandError, ValueError, OSError, KeyError, IndexError,
                            LookupError, UnicodeError, MemoryError))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hmmtl`` command line; return the exit status (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required (run '{PROG} --help')", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (hmmtl tag ... | head): not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:  # noqa: BLE001 - the command line reports every failure
        if args.debug:
            import traceback

            traceback.print_exc()
        if _user_error(exc):
            message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            print(f"{PROG}: error: {message}", file=sys.stderr)
        else:
            print(f"{PROG}: error: {type(exc).__name__}: {exc} (run with --debug for the "
                  f"traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
