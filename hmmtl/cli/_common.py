"""What the commands share: the error type, argument types, the data folder, input reading
and format inference, model loading and saving, and atomic output files.

Nothing heavy is imported at module level, so ``hmmtl --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import tempfile
import textwrap
from pathlib import Path
from collections.abc import Callable, Iterable, Sequence
from typing import Any

PROG = "hmmtl"
FORMATS = ("conllu", "conll", "text")
STDIN = "-"


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
    # every option that stores one value refuses to be given twice (see Once)
    p.register("action", None, Once)
    p.register("action", "store", Once)
    p.set_defaults(func=run)
    return p


def _shown(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


class Once(argparse.Action):
    """An option that takes one value (``--model``, ``--out``, ``--states``) and is refused
    when given twice, instead of the last one silently winning.  Every command's parser
    uses it for ``store`` options (:func:`add_command`); options that take several files
    (``--train``, ``--test``, ``--unlabeled``, ``--dev``, ``--text``) use ``extend``, so that
    repeating them adds files, and say so in their help."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = getattr(namespace, "_options_given", None)
        if given is None:
            given = set()
            namespace._options_given = given
        if self.dest in given:
            raise argparse.ArgumentError(
                self, f"given twice (first {_shown(getattr(namespace, self.dest))}, then "
                      f"{_shown(values)}); it takes one value, and the last one would "
                      f"silently win: give it once")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


def _number(convert, kind: str, bounded: str, ok):
    """An argparse type: ``convert`` the text, then require ``ok(value)``."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not ok(value):  # NaN fails every comparison, so it is refused too
            raise argparse.ArgumentTypeError(f"expected {bounded}, got {text}")
        return value

    return parse


positive_int = _number(int, "a positive integer", "a positive integer", lambda v: v >= 1)
nonneg_float = _number(float, "a number", "a number >= 0", lambda v: v >= 0)


def int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got "
                                         f"{text!r}") from None


def column_arg(value):
    """``--tag-column`` (an argparse type, also applied to a value already parsed): a name
    (``xpos``, ``upos``, ``ner``, ``misc:NE``) or a 0-based column index.  The word column
    (index 0, ``word``; in CoNLL-U ``id`` and ``form``) and negative indexes are refused
    here, the same way for ``tag``, ``evaluate`` and ``train``; CoNLL-U's index 1 (FORM) is
    refused where the format is known (:func:`check_tag_column`)."""
    if value is None or isinstance(value, int):
        number = value
    else:
        try:
            number = int(value)
        except ValueError:
            number = None
    if number is not None:
        if number < 0:
            raise argparse.ArgumentTypeError(
                f"expected a column name or a 0-based index >= 1, got {number}: negative "
                f"indexes are not supported; count from the first column (0 is the word)")
        if number == 0:
            raise argparse.ArgumentTypeError(
                "column 0 is the word (CoNLL) or the token ID (CoNLL-U), never a tag column; "
                "give the index of a tag column (>= 1) or its name")
        return number
    if value is None:
        return None
    from ..io.columns import is_word_column

    if not value.strip():
        raise argparse.ArgumentTypeError("expected a column name or index, got ''")
    if is_word_column(value, "conllu"):
        raise argparse.ArgumentTypeError(
            f"{value!r} is the word column (or the CoNLL-U token ID), never a tag column; "
            f"give a tag column: upos, xpos, misc:NE, a CoNLL index >= 1 ...")
    return value


def check_tag_column(column, fmt: str, option: str = "--tag-column"):
    """``column`` (from :func:`column_arg`) checked against the input's format: never
    CoNLL-U's ID or FORM.  A CoNLL-U index becomes the column's name."""
    column = column_arg(column)
    if fmt != "conllu" or not isinstance(column, int):
        return column
    from ..io import CONLLU_COLUMNS

    if column == 1:
        raise CommandError(f"{option} 1 is FORM (the words) of CoNLL-U, never a tag column; "
                           f"give upos, xpos, misc:NE ...")
    if column >= len(CONLLU_COLUMNS):
        raise CommandError(f"{option} {column}: column index {column} is out of range: "
                           f"CoNLL-U has {len(CONLLU_COLUMNS)} columns (0-9: "
                           f"{', '.join(CONLLU_COLUMNS)})")
    return CONLLU_COLUMNS[column]


# ---------------------------------------------------------------------------- outputs
def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _stream_stat(stream) -> os.stat_result | None:
    """The file behind ``stream`` (stdin, stdout) when it is a regular file, else None."""
    try:
        st = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def check_not_an_input(path: str | None, inputs: Iterable[str | None], what: str) -> None:
    """Refuse an output that is one of the inputs: the same file (device and inode, however
    it is spelled: links, ``./``, symbolic links), ``-`` standing for stdin / stdout."""
    out = _stream_stat(sys.stdout) if path in (None, STDIN) else _stat(path)
    if out is None:
        return
    shown = "standard output" if path in (None, STDIN) else repr(path)
    for item in inputs:
        if item is None:
            continue
        st = _stream_stat(sys.stdin) if item == STDIN else _stat(item)
        if st is not None and _same_file(out, st):
            source = "standard input" if item == STDIN else repr(item)
            raise CommandError(f"cannot write {what} to {shown}: it is the input {source} "
                               f"(the same file); write the {what} to another file")


def check_writable(folder: Path, what: str, path: str) -> None:
    """Create and remove a file in ``folder`` now, so that an unwritable output folder
    (permissions, read-only or immutable file system) is found before the work, not after."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".hmmtl-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CommandError(f"cannot write {what} {path!r}: folder {str(folder)!r} is not "
                           f"writable ({reason})") from None


def check_output(path: str | None, what: str = "output", *, inputs: Iterable = ()) -> None:
    """Before any work: the output file's folder exists and is writable, the output is not
    a folder, and it is none of ``inputs``.  ``None`` or ``-`` is standard output."""
    inputs = list(inputs)
    if path is None or path == STDIN:
        check_not_an_input(None, inputs, what)
        return
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist; create it first"
        raise CommandError(f"cannot write {what} {path!r}: folder {str(folder)!r} {reason}")
    if p.is_dir():
        raise CommandError(f"cannot write {what} {path!r}: it is a folder; give a file name")
    check_not_an_input(path, inputs, what)
    from ..io.atomic import is_stream_target

    if not is_stream_target(path):  # a device or a pipe is written through, not replaced
        check_writable(folder, what, path)


def check_output_folder(path: str, what: str, *, inputs: Iterable = ()) -> None:
    """Before any work: ``path`` is a writable folder, or can be created (with its missing
    parents) in a writable one, and is none of the input folders ``inputs``."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise CommandError(f"cannot write {what} to {path!r}: it is a file, not a folder")
    folder = p
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise CommandError(f"cannot write {what} to {path!r}: {str(folder)!r} is not a folder")
    check_not_an_input(path, inputs, what)
    check_writable(folder, what, path)


def AtomicOutput(path: str):
    """The output file ``path`` being written, by the package's one writer
    (:class:`hmmtl.io.atomic.OutputFile`): a regular file through a temporary file renamed
    into place on ``commit()`` (a failed run leaves any earlier file intact, ``discard()``),
    a device, FIFO or pipe (``/dev/null``, ``>(gzip > x.gz)``) written through."""
    from ..io.atomic import OutputFile

    return OutputFile(path, what="output")


# ---------------------------------------------------------------------------- inputs
def data_dir(arg: str | None) -> Path | None:
    """``--data``, else ``$HMMTL_DATA``; an explicit folder that does not exist is an error."""
    from ..io.data_root import find_data_root

    if arg and not Path(arg).is_dir():
        raise CommandError(f"--data {arg!r}: no such folder")
    return find_data_root(arg or None)


def check_inputs(paths: Iterable[str]) -> None:
    for p in paths:
        if p != STDIN and not Path(p).exists():
            raise CommandError(f"{p}: no such file")
        if p != STDIN and Path(p).is_dir():
            raise CommandError(f"{p}: is a folder; give the corpus files inside it")


def input_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


def resolve_input(path: str, fmt: str | None) -> tuple[str, Any]:
    """``(format, source)`` of one input file or of standard input (``-``).

    The format is ``fmt`` when given, else what the file name says, else what the first
    lines look like (:func:`hmmtl.io.detect.sniff_input`), for files and stdin alike; a
    file named as text whose lines are CoNLL or CoNLL-U is refused (the message says
    both), and raw running text is told from tokenized text by its lines.  UTF-16 / UTF-32
    input is refused naming its encoding; gzip files are read decompressed.  ``source`` is
    the path, or an iterator over the lines (bytes) that gives the lines read ahead back
    first, so that stdin is still streamed."""
    fmt, source, opened = open_resolved(path, fmt)
    if opened is not None:
        if not isinstance(opened, gzip_type()):
            opened.close()
            return fmt, path
        return fmt, source
    return fmt, source


def open_resolved(path: str, fmt: str | None) -> tuple[str, Any, Any]:
    """``(format, stream, opened)``: the format of one input as :func:`resolve_input`
    tells it, and its lines.  A file is opened once, here: ``stream`` is the open binary
    file (decompressed for gzip), back at its start after its first lines were read,
    seekable so that it can be read again without opening it again; ``opened`` is that
    file, for the caller to close.  Standard input gives an iterator over its lines (the
    lines read ahead first) and ``opened`` None."""
    import itertools

    from ..io import FormatError
    from ..io.detect import SNIFF_LINES, check_encoding, format_from_name_gz, peek_lines
    from ..io.text import _choose, open_input

    name = input_name(path)
    opened = None
    if path == STDIN:
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        if hasattr(stream, "peek") and stream.peek(2)[:2] == b"\x1f\x8b":
            stream = gzip_type()(fileobj=stream, mode="rb")  # gzip piped in
        head, source = peek_lines(stream, SNIFF_LINES)
    else:
        opened, _ = open_input(path)
        head = list(itertools.islice(opened, SNIFF_LINES))
        opened.seek(0)
        source = opened
    try:
        if head and isinstance(head[0], bytes):
            check_encoding(b"".join(head[:20])[:4096], name)
        if fmt is not None:
            return fmt, source, opened
        from ..io.detect import sniff_input

        named = format_from_name_gz(path) if path != STDIN else None
        return _choose(named, sniff_input(head), head, name), source, opened
    except FormatError as exc:
        if opened is not None:
            opened.close()
        raise CommandError(str(exc).replace("--text-format", "--format")) from None
    except BaseException:
        if opened is not None:
            opened.close()
        raise


def gzip_type():
    """The gzip reader of the command line: broken data is a FormatError naming the input."""
    from ..io.text import _named_gzip_file

    return _named_gzip_file()


def read_file(path: str, fmt: str | None):
    """One input file, or stdin, as a :class:`hmmtl.io.Corpus`."""
    from .. import io

    fmt, source = resolve_input(path, fmt)
    readers: dict[str, Callable[..., Any]] = {
        "conllu": io.read_conllu, "conll": io.read_conll, "text": io.read_text}
    if fmt in ("raw", "jsonl"):
        what = "raw running text" if fmt == "raw" else "JSON lines"
        raise CommandError(f"{input_name(path)}: looks like {what}, which has no labels here; "
                           f"expected CoNLL-U or CoNLL (or give --format if it is one)")
    if fmt not in readers:
        raise CommandError(f"unknown format {fmt!r}: expected conllu, conll or text")
    return readers[fmt](source, name=input_name(path))


def _nltk_spec(text: str) -> tuple[str, str | None]:
    name, _, split = text[len("nltk:"):].partition(":")
    return name, split or None


#: NLTK corpora made of splits that must not be mixed (train / test, or languages)
_SPLIT_CORPORA = {"conll2000": "train, test", "conll2002": "esp.train, esp.testa, ..."}


def corpus_sources(items: Sequence[str] | None, fmt: str | None, option: str, *,
                   primary: bool = True) -> list:
    """What ``--train`` / ``--dev`` / ``--test`` name: ``("nltk", corpus, split)`` or
    ``("file", path, format)`` per source.

    An item is a file, ``-`` (stdin) or ``nltk:NAME[:SPLIT]``; with ``--format nltk:NAME``
    an item that is not a file is a split of that corpus (``--format nltk:conll2000
    --test test``), and ``--format nltk:NAME:SPLIT`` alone names the data of the
    ``primary`` option (``--train``, ``--test``; not ``--dev``, empty when not given).  A
    corpus made of splits is never read whole by default."""
    items = list(items or [])
    nltk_name = nltk_split = None
    if fmt and fmt.startswith("nltk:"):
        nltk_name, nltk_split = _nltk_spec(fmt)
    elif fmt is not None and fmt not in FORMATS:
        raise CommandError(f"--format {fmt!r}: expected conllu, conll, text or nltk:NAME[:SPLIT]")
    if not items:
        if not primary:
            return []
        if nltk_name is None:
            raise CommandError(f"give the data: {option} FILE... or --format nltk:NAME:SPLIT")
        assert fmt is not None  # nltk:NAME:SPLIT
        items = [fmt]
    sources = []
    for item in items:
        if item.startswith("nltk:"):
            name, split = _nltk_spec(item)
        elif nltk_name is not None and item != STDIN and not Path(item).exists():
            if primary and nltk_split is not None and item != nltk_split:
                raise CommandError(f"{option} {item!r} and --format {fmt!r} name different "
                                   f"splits; give the split once: --format nltk:{nltk_name} "
                                   f"{option} SPLIT")
            name, split = nltk_name, item
        else:
            sources.append(("file", item, None if nltk_name else fmt))
            continue
        if split is None and name in _SPLIT_CORPORA:
            raise CommandError(f"nltk:{name} has splits ({_SPLIT_CORPORA[name]}) that are "
                               f"not meant to be mixed; name one: nltk:{name}:SPLIT, or "
                               f"--format nltk:{name} {option} SPLIT")
        sources.append(("nltk", name, split))
    check_distinct_files([s[1] for s in sources if s[0] == "file"], option)
    if len({s for s in sources if s[0] == "nltk"}) < sum(s[0] == "nltk" for s in sources):
        raise CommandError(f"{option} names the same NLTK corpus split twice; give each once")
    return sources


def _identity(path: str):
    """What makes two spellings the same input: (device, inode) of a file, ``-`` for
    stdin, else the text (a path that does not exist, reported later)."""
    if path == STDIN:
        return STDIN
    st = _stat(path)
    return (st.st_dev, st.st_ino) if st is not None else os.path.normpath(path)


def check_distinct_files(paths: Sequence[str] | None, option: str) -> None:
    """Refuse an option that names one file twice (however spelled: ``a.txt`` and
    ``./a.txt``, a link): its sentences would count twice, silently."""
    seen: dict = {}
    for path in paths or []:
        key = _identity(path)
        if key in seen:
            same = "" if seen[key] == path else f" (as {seen[key]!r})"
            raise CommandError(f"{option} names the file {path!r} twice{same}; its sentences "
                               f"would count twice: give each file once")
        seen[key] = path


def unlabeled_files(paths: Sequence[str] | None, train_sources: Sequence,
                    option: str = "--unlabeled") -> Sequence[str] | None:
    """``--unlabeled`` files, each once (a file named twice is refused), without a
    ``--train`` file given again: its words are already in the text the HMMs learn from
    (the training words plus the unlabeled text), so it is dropped with a warning."""
    if not paths:
        return paths
    check_distinct_files(paths, option)
    train = {_identity(s[1]): s[1] for s in train_sources if s[0] == "file"}
    kept = []
    for path in paths:
        if path != STDIN and _identity(path) in train:
            warn(f"{option} {path!r} is the --train file {train[_identity(path)]!r}; the "
                 f"training words are already learned from, so it is not read again")
            continue
        kept.append(path)
    if not kept:
        raise CommandError(f"{option}: every file given is a --train file; give unlabeled "
                           f"text of the target domain")
    return kept


def input_files(*groups) -> list[str]:
    """The files (and ``-``) among groups of sources and plain paths, for the output checks."""
    out = []
    for group in groups:
        for item in group or []:
            if isinstance(item, tuple):
                if item[0] == "file":
                    out.append(item[1])
            elif item is not None:
                out.append(item)
    return out


def read_corpus(sources: Sequence, *, data_dir=None):
    """The sources of :func:`corpus_sources`, read and concatenated into one Corpus."""
    from .. import io

    check_inputs([s[1] for s in sources if s[0] == "file"])
    corpora = []
    for kind, name, detail in sources:
        if kind == "nltk":
            corpora.append(io.load_nltk(name, data_dir=data_dir, split=detail))
        else:
            corpora.append(read_file(name, detail))
    return corpora[0] if len(corpora) == 1 else io.concat(corpora)


def label_column(corpus, column, option: str = "--tag-column") -> str:
    """The name of the label column: ``column`` (a name or an index, never the words) when
    given; else the corpus's only label column; else, for CoNLL-U, XPOS.  A corpus with
    several label columns and no choice is an error, not a silent pick."""
    if column is not None:
        column = check_tag_column(column, corpus.format, option)
        try:
            name = corpus.column_name(column)
        except (KeyError, IndexError) as exc:
            raise CommandError(f"{option} {column!r}: {exc.args[0]}") from None
        if name == corpus.word_column:
            raise CommandError(f"{option} {column!r} is the word column of "
                               f"{corpus.source or 'the data'}, never a tag column")
        return name
    if corpus.format == "conllu":
        return "xpos"
    labels = [c for c in corpus.column_names if c != corpus.word_column]
    if len(labels) == 1:
        return labels[0]
    where = corpus.source or "the data"
    if not labels:
        raise CommandError(f"{where} has no label column (only words)")
    raise CommandError(f"{where} has several label columns ({', '.join(labels)}); choose one "
                       f"with {option} (a name or a 0-based index)")


def column_of_meaning(corpus, meaning: str | None) -> tuple[str | None, list | None]:
    """``(name, labels)`` of the column of ``corpus`` that holds tags of ``meaning`` (the
    rule of :mod:`hmmtl.io.columns`), or ``(None, None)``.  CoNLL-U: UPOS, XPOS, or the
    MISC key (``misc:NE``); other formats: the column of that name, else the one column
    whose tags have that meaning."""
    from ..io.columns import MEANINGS, conllu_place, meaning_of, misc_values, tag_meaning

    if meaning not in MEANINGS:
        return None, None
    if corpus.format == "conllu":
        place = conllu_place(meaning)
        assert place is not None  # every meaning has a place in CoNLL-U
        if place.startswith("misc:"):
            values = misc_values(corpus.columns["misc"], place[5:])
            return (place, values) if values is not None else (None, None)
        return place, corpus.columns[place]
    named = [c for c in corpus.column_names
             if c != corpus.word_column and meaning_of(c) == meaning]
    if len(named) == 1:
        return named[0], corpus.columns[named[0]]
    found = [c for c in corpus.column_names if c != corpus.word_column and
             tag_meaning(set(corpus.flat(c))) == meaning]
    if len(found) == 1:
        return found[0], corpus.columns[found[0]]
    return None, None


def gold_labels(corpus, column, option: str = "--tag-column") -> tuple[str, list]:
    """``(name, labels)`` of an explicit ``column``: a column of the corpus, or in CoNLL-U a
    MISC key (``misc:NE``, or a meaning kept there: ``ner``, ``chunk``)."""
    from ..io.columns import MISC_KEYS, meaning_of, misc_values

    column = check_tag_column(column, corpus.format, option)
    if corpus.format == "conllu" and isinstance(column, str) and column not in corpus.columns:
        key = column[5:] if column.lower().startswith("misc:") else \
            MISC_KEYS.get(meaning_of(column) or "")
        if key:
            values = misc_values(corpus.columns["misc"], key)
            if values is None:
                raise CommandError(f"{option} {column}: no token of {corpus.source or 'the data'}"
                                   f" has {key}= in its MISC column")
            return f"misc:{key}", values
    name = label_column(corpus, column, option)
    return name, corpus.columns[name]


# ---------------------------------------------------------------------------- tagging
# What a model reads and where its tags go is decided by the tagging door
# (hmmtl.tagging.door); the commands call it through these names, imported when called.
def model_labels(model) -> list | None:
    """The labels a model predicts: :func:`hmmtl.tagging.door.model_labels`."""
    from ..tagging.door import model_labels as labels

    return labels(model)


def model_meaning(model, info: dict) -> str | None:
    """What a model's tags are: :func:`hmmtl.tagging.door.model_meaning`, the one rule of
    ``tag`` and ``evaluate``."""
    from ..tagging.door import model_meaning as meaning

    return meaning(model, info)


def input_column(corpus, name: str, index):
    """The column a model reads: :func:`hmmtl.tagging.door.input_column`."""
    from ..tagging.door import input_column as column

    return column(corpus, name, index)


def with_notation(model, notation: str):
    """``model`` as ``--notation`` asks: :func:`hmmtl.tagging.door.with_notation`."""
    from ..tagging.door import with_notation as notated

    return notated(model, notation)


def predict(model, sentences, corpus=None):
    """Tags of ``sentences`` (the words of ``corpus`` when given, whose input columns,
    documents and domains go to a model that reads them) through the tagging door
    (:func:`hmmtl.tagging.door.predict`)."""
    from ..tagging.door import predict as door_predict

    return door_predict(model, sentences, corpus)


def warn(message: str) -> None:
    """A warning on stderr (shown under ``-q`` too: ``-q`` hushes progress, not warnings)."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def iter_text_sentences(paths: Sequence[str], fmt: str | None, segmenter=None):
    """Token lists of unlabeled text, file by file, streamed (:func:`hmmtl.io.iter_unlabeled`:
    tokenized or raw text, JSON lines, gzip, CoNLL, CoNLL-U), the format of each told as for
    every other input (:func:`resolve_input`); over-long sentences are cut, with a warning."""
    from ..io import FormatError, iter_unlabeled

    check_inputs(paths)
    for path in paths:
        f, source = resolve_input(path, fmt)
        try:
            yield from iter_unlabeled(source, f, name=input_name(path), segmenter=segmenter,
                                      warn=warn)
        except FormatError as exc:
            raise CommandError(str(exc)) from None


# ---------------------------------------------------------------------------- models
def load_model(path: str):
    """The model in ``path`` (a file, or a ready-made model's name: ``en-pos``) and the
    ``info`` saved with it."""
    from ..models import resolve
    from ..serialize import load_with_info

    found = resolve(path)  # an existing file wins over a name; unknown: the names listed
    return load_with_info(found)


def load_labeler(path: str, option: str = "--model"):
    """A model that tags sentences (and its info); an HMM or a feature model is refused."""
    from .._text_api import TextTagging

    model, info = load_model(path)
    kind = type(model).__name__
    # a labeler (predict gives one tag per token) offers tag_text: ask the class
    if not isinstance(model, TextTagging):
        what = ("gives hidden states, not tags" if "HMM" in kind else "does not tag sentences")
        raise CommandError(f"{option} {path}: holds a {kind}, which {what}; give a model "
                           f"trained with 'hmmtl train'")
    return model, info


def save_model(model, path: str, args, info: dict | None = None) -> None:
    from ..serialize import save

    save(model, path, info=info)
    log(args, f"wrote {type(model).__name__} to {path}")


def training_data(args, *inputs):
    """The ``--train`` data read once the output is checked (never over an input: the
    training files, ``--unlabeled`` -- each once, a training file dropped from it --, and
    the files of ``inputs``): the corpora folder, the corpus and the name of its label
    column."""
    train_sources = corpus_sources(args.train, args.format, "--train")
    args.unlabeled = unlabeled_files(args.unlabeled, train_sources)
    check_output(args.out, "model", inputs=input_files(train_sources, args.unlabeled, *inputs))
    folder = data_dir(args.data)
    corpus = read_corpus(train_sources, data_dir=folder)
    column = label_column(corpus, column_arg(args.tag_column))
    if not corpus.sentences:
        raise CommandError("no sentences in the training data")
    return folder, corpus, column
