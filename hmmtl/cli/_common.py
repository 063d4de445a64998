"""What the commands share: the error type, argument types, the data folder, input reading
and format inference, model loading and saving, and atomic output files.

Nothing heavy is imported at module level, so ``hmmtl --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from typing import Iterable, Sequence

PROG = "hmmtl"
FORMATS = ("conllu", "conll", "text")
REPRESENTATION_CHOICES = ("viterbi", "posterior", "type", "type_cluster")


class CommandError(Exception):
    """A run-time failure with a message for the user (exit status 1)."""


def log(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


# ---------------------------------------------------------------------------- parser
class Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32)


def add_command(subparsers, name: str, run, help_: str, description: str,
                epilog: str | None = None) -> argparse.ArgumentParser:
    """A sub-command's parser, which accepts ``--debug`` too and dispatches to ``run``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback when something fails")
    description = textwrap.fill(description, width=78)
    p = subparsers.add_parser(name, help=help_, description=description, epilog=epilog,
                              formatter_class=Formatter, parents=[common])
    p.set_defaults(func=run)
    return p


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got "
                                         f"{text!r}") from None


def column_arg(value: str | None):
    """``--tag-column``: a name (``xpos``, ``upos``, ``ner``) or a 0-based column index."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return value


# ---------------------------------------------------------------------------- files
def check_output(path: str | None, what: str = "output") -> None:
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


def check_inputs(paths: Iterable[str]) -> None:
    for p in paths:
        if p != "-" and not Path(p).exists():
            raise CommandError(f"{p}: no such file")
        if p != "-" and Path(p).is_dir():
            raise CommandError(f"{p}: is a folder; give the corpus files inside it")


def data_dir(arg: str | None) -> Path | None:
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


def infer_format(path: str, default: str | None) -> str:
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


class AtomicOutput:
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


# ---------------------------------------------------------------------------- reading
def read_one(source, fmt: str, *, name: str | None = None, data_dir=None):
    """Read one file (or stream, or list of lines) into a :class:`hmmtl.io.Corpus`."""
    from .. import io

    if fmt == "conllu":
        return io.read_conllu(source, name=name)
    if fmt == "conll":
        return io.read_conll(source, name=name)
    if fmt == "text":
        return io.read_text(source, name=name)
    if fmt.startswith("nltk:"):
        corpus_name, _, split = fmt[5:].partition(":")
        return io.load_nltk(corpus_name, data_dir=data_dir, split=split or None)
    raise CommandError(f"unknown format {fmt!r}: expected conllu, conll, text or nltk:NAME")


def read_corpus(paths: Sequence[str], fmt: str | None, *, data_dir=None, default=None):
    """Read and concatenate ``paths`` (or the NLTK corpus ``fmt == "nltk:NAME"``)."""
    if fmt and fmt.startswith("nltk:"):
        return read_one(None, fmt, data_dir=data_dir)
    check_inputs(paths)
    corpora = []
    for p in paths:
        f = fmt or infer_format(p, default)
        corpora.append(read_one(sys.stdin if p == "-" else p, f,
                                name="<stdin>" if p == "-" else None))
    if len(corpora) == 1:
        return corpora[0]
    from ..io import concat

    return concat(corpora)


def tag_column_labels(corpus, column, option="--tag-column"):
    try:
        return corpus.column(column)
    except (KeyError, IndexError) as exc:
        msg = exc.args[0] if exc.args else str(exc)
        raise CommandError(f"{option} {column!r}: {msg}") from None


def iter_text_sentences(paths: Sequence[str], fmt: str | None):
    """Token lists of unlabeled text, file by file (text files streamed line by line)."""
    check_inputs(paths)
    for p in paths:
        f = fmt or infer_format(p, "text")
        source = sys.stdin if p == "-" else p
        if f == "text":  # streamed: only the token lists are kept
            from ..io import iter_text

            for batch in iter_text(source):
                yield from batch
            continue
        yield from read_one(source, f, name="<stdin>" if p == "-" else None).sentences


# ---------------------------------------------------------------------------- models
def load_model(path: str):
    from ..serialize import load

    if not Path(path).exists():
        raise CommandError(f"model file {path!r} does not exist")
    return load(path)


def save_model(model, path: str, args) -> None:
    from ..serialize import save

    save(model, path)
    log(args, f"wrote {type(model).__name__} to {path}")


def model_inputs(model, corpus) -> dict:
    """What a model reads from a file besides the words, as keyword arguments of its
    ``predict``: the columns it declares in ``input_columns_`` (name -> 0-based column index
    of the file it was trained on, or None; found by name, else by index) and, when
    ``uses_documents_`` is true, the document of each sentence."""
    kwargs = {}
    wanted = getattr(model, "input_columns_", None) or {}
    if wanted:
        if corpus is None:
            raise CommandError(f"this {type(model).__name__} reads the input column(s) "
                               f"{', '.join(wanted)}: give a CoNLL file that has them")
        columns = {}
        for name, index in wanted.items():
            if name in corpus.columns:
                columns[name] = corpus.column(name)
            elif index is not None and 0 < index < len(corpus.columns):
                columns[name] = corpus.column(index)
            else:
                raise CommandError(f"{corpus.source or 'the input'}: this "
                                   f"{type(model).__name__} reads the column {name!r} "
                                   f"(column {index} of its training files), which the "
                                   f"input does not have")
        kwargs["columns"] = columns
    if getattr(model, "uses_documents_", False) and corpus is not None:
        kwargs["documents"] = list(corpus.doc_ids)
    return kwargs


def predict(model, sentences, corpus=None):
    """Tags of ``sentences`` (the words of ``corpus`` when given, whose other columns and
    documents are passed to a model that reads them, see :func:`model_inputs`)."""
    if not hasattr(model, "predict"):
        raise CommandError(f"a {type(model).__name__} model does not tag text")
    if not sentences:
        return []
    pred = model.predict(sentences, **model_inputs(model, corpus))
    return [[str(t) for t in s] for s in pred]
