"""``hmmtl tag``: tag files or stdin, writing the same format with the predicted column."""

from __future__ import annotations

import sys
from typing import Iterator

from ._common import (CONLLU_NAMES, FORMATS, STDIN, AtomicOutput, CommandError, add_command,
                      check_inputs, check_output, column_arg, input_name, load_labeler, log,
                      positive_int, predict, resolve_input, with_notation)

#: sentences per batch when tagging a stream: bounds memory on inputs of any size
TAG_BATCH_SENTENCES = 2000


def add_parser(subparsers) -> None:
    p = add_command(
        subparsers, "tag", run, "tag files or stdin",
        "Tag CoNLL-U, CoNLL or plain text and write the same format with the predicted "
        "column (plain tokenized text in, two-column CoNLL out).  Reads stdin when no file "
        "is given; streams large inputs in batches.",
        "examples:\n"
        "  hmmtl tag --model pos.hmmtl test.conllu > tagged.conllu\n"
        "  echo 'The dog barks .' | hmmtl tag --model pos.hmmtl\n"
        "  hmmtl tag --model pos.hmmtl --spark 'local[2]' test.conllu -o tagged.conllu")
    p.add_argument("files", nargs="*", metavar="FILE", help="input files (default: stdin)")
    p.add_argument("--model", required=True, metavar="MODEL", help="model file")
    p.add_argument("--format", choices=FORMATS,
                   help="input format (default: from the file name, else from its first "
                        "lines, stdin too)")
    p.add_argument("--input", choices=("auto", "raw", "tokenized", "conll", "conllu", "jsonl"),
                   default="auto",
                   help="what the input is: raw running text (split into sentences and "
                        "tokens with their offsets), tokenized text (one sentence a line), "
                        "CoNLL, CoNLL-U, JSON lines with a \"text\" field; auto (default): "
                        "from the name and the first lines, asking when they cannot tell")
    p.add_argument("--output-format", choices=("conllu", "conll", "jsonl"), default="conllu",
                   help="output of raw text and JSON lines (default conllu: # text, "
                        "SpaceAfter=No and TokenRange=start:end in MISC)")
    p.add_argument("--tag-column", metavar="COL",
                   help="column for the predictions (CoNLL-U default: the column the model "
                        "was trained on, e.g. upos or xpos; CoNLL default: a new last column)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write here (atomically) instead of stdout")
    p.add_argument("--batch-size", type=positive_int, default=TAG_BATCH_SENTENCES, metavar="N",
                   help=f"sentences tagged at a time (default {TAG_BATCH_SENTENCES})")
    p.add_argument("--spark", metavar="MASTER",
                   help="tag the files on Spark (a master URL: spark://host:7077, local[4]), "
                        "one task per file, the model loaded once per executor; the output "
                        "is the same as without this option")
    p.add_argument("--notation", choices=("auto", "keep"), default="auto",
                   help="auto (default): words are mapped to how the model's training words "
                        "write brackets and quotes (-LRB- or (, ``/'' or \"), and predicted "
                        "bracket and quote tags are written as the input file's tag column "
                        "writes them (decided once per file); keep: neither")
    p.add_argument("--quiet", "-q", action="store_true", help="no messages")


#: a piece of a stream cut at document boundaries holds at most this many batches
MAX_BATCHES_PER_DOCUMENT_PIECE = 20


def chunks_of_lines(stream, fmt: str, batch: int,
                    documents: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Cut a line stream into pieces of about ``batch`` sentences, each a valid file of
    its own (cuts only at a blank line followed by a non-blank one), with the 1-based
    number of its first line.  Keeps memory bounded whatever the input size.

    With ``documents`` (a model that reads whole documents), a CoNLL stream is cut only
    before a ``-DOCSTART-`` line, unless a piece reaches
    :data:`MAX_BATCHES_PER_DOCUMENT_PIECE` batches."""
    start, count, piece = 1, 0, []
    prev_blank = False
    for line in stream:
        blank = not line.strip()
        if documents and fmt == "conll" and not blank and prev_blank and count >= batch and \
                not _starts_document(line) and count < MAX_BATCHES_PER_DOCUMENT_PIECE * batch:
            piece.append(line)
            prev_blank = blank
            continue
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


def _starts_document(line) -> bool:
    return (line.lstrip(b" \t") if isinstance(line, bytes) else line.lstrip(" \t")).startswith(
        b"-DOCSTART-" if isinstance(line, bytes) else "-DOCSTART-")


def _shift_error(exc, name: str, first_line: int):
    """A reader's error on a piece of a stream, with the line number in the whole input."""
    from ..io import FormatError

    line = getattr(exc, "line", None)
    return FormatError(name, None if line is None else line + first_line - 1,
                       getattr(exc, "reason", str(exc)))


def _read_piece(lines, fmt: str, name: str):
    from .. import io

    reader = {"conllu": io.read_conllu, "conll": io.read_conll, "text": io.read_text}[fmt]
    return reader(lines, name=name)


def _write_corpus(corpus, out, predicted, column, fmt: str) -> None:
    from ..io import Corpus, write_conll, write_conllu

    if fmt == "text":
        corpus = Corpus(columns={"word": [list(s) for s in corpus.sentences], "tag": predicted},
                        word_column="word", label_column="tag", format="conll")
        write_conll(corpus, out, sep="\t")
    elif fmt == "conllu":
        write_conllu(corpus, out, labels=predicted, column=column)
    elif column is None:  # append the predictions as a new last column
        write_conll(corpus.with_column("predicted", predicted), out)
    else:
        write_conll(corpus, out, labels=predicted, column=column)


def output_notation(model, source, fmt: str, column):
    """How the input's own tag column writes bracket and quote tags, when the model's tags
    are written another way: ``(notation, source)``, the notation None when nothing needs
    mapping.  It is decided from the whole input, once, so a sentence's tags never depend
    on its batch: a file is read once more for it; standard input (an iterator over its
    lines) is first kept in a temporary file, which is returned as the source."""
    own = getattr(model, "notation_", None)
    if fmt == "text" or not (own and (own.tag_brackets or own.tag_quotes)):
        return None, source
    if column is None:
        if fmt != "conllu":
            return None, source  # a new column: the model's notation
        column = "xpos"
    from ..io.notation import Notation, tag_notation_of_lines

    if isinstance(source, str):
        with open(source, "rb") as f:
            found = tag_notation_of_lines(f, fmt, column)
    else:
        import tempfile

        spool = tempfile.SpooledTemporaryFile(max_size=1 << 26)
        spool.writelines(source)
        spool.seek(0)
        found = tag_notation_of_lines(spool, fmt, column)
        spool.seek(0)
        source = spool
    mapping = Notation(tag_brackets=found.tag_brackets if found.tag_brackets
                       and found.tag_brackets != own.tag_brackets else None,
                       tag_quotes=found.tag_quotes if found.tag_quotes
                       and found.tag_quotes != own.tag_quotes else None)
    return (mapping if mapping else None), source


def _tag_stream(model, stream, name: str, fmt: str, column, out, batch: int,
                notation=None) -> tuple[int, int]:
    """Tag one input piece by piece (predicted tags written in ``notation`` when given);
    returns (sentences, tokens)."""
    from ..io import FormatError

    n_sent = n_tok = 0
    pieces = 0
    documents = bool(getattr(model, "uses_documents_", False))
    for first_line, lines in chunks_of_lines(stream, fmt, batch, documents):
        if pieces and not any(line.strip() for line in lines):
            continue  # blank lines after the last sentence of a text file
        pieces += 1
        try:
            corpus = _read_piece(lines, fmt, name)
        except FormatError as exc:
            raise _shift_error(exc, name, first_line) from None
        predicted = predict(model, corpus.sentences, corpus)
        if notation is not None:
            predicted = notation.map_tags(predicted)
        _write_corpus(corpus, out, predicted, column, fmt)
        n_sent += len(corpus.sentences)
        n_tok += sum(map(len, corpus.sentences))
    if not pieces:  # an empty input: let the reader say so, in its words
        _read_piece([], fmt, name)
    return n_sent, n_tok


def conllu_column(column, info: dict, model_path: str) -> str:
    """The CoNLL-U column predictions go to: ``--tag-column``, else the column the model
    was trained on (``pos`` is XPOS), else XPOS for a model file that does not say."""
    if column is not None:
        return column
    trained = info.get("tag_column")
    if trained is None:
        return "xpos"
    from ..io import CONLLU_COLUMNS

    name = CONLLU_NAMES.get(trained, trained)
    if name not in CONLLU_COLUMNS or name in ("id", "form"):
        raise CommandError(f"the model {model_path} was trained on column {trained!r}, which "
                           f"CoNLL-U does not have; give --tag-column (e.g. misc)")
    return name


def _tag_file(model_path: str, batch: int, notation_choice: str, job: tuple):
    """The tagged text of one file (``job``: its format, prediction column, path and the
    notation its predicted tags are written in), and its sentence and token counts; runs on
    a Spark executor."""
    import io

    from ..spark import cached_model

    fmt, where, path, notation = job
    model = with_notation(cached_model(model_path), notation_choice)
    out = io.StringIO()
    with open(path, "rb") as stream:
        n_sent, n_tok = _tag_stream(model, stream, input_name(path), fmt, where, out, batch,
                                    notation)
    return out.getvalue(), n_sent, n_tok


def _tag_on_spark(args, inputs, column, info, out, model) -> tuple[int, int]:
    """Each file tagged on a Spark executor (its format, column and output notation decided
    here as without ``--spark``); the outputs written here, in order."""
    from functools import partial

    from ..executors.spark import SparkExecutor, session_on

    if STDIN in inputs:
        raise CommandError("--spark tags files on the executors; give files, not stdin")
    jobs = []
    for path in inputs:
        fmt, _ = resolve_input(path, input_format(args))
        if fmt in ("raw", "jsonl"):
            raise CommandError(f"{path}: raw text is tagged here, not on Spark; leave out --spark")
        where = conllu_column(column, info, args.model) if fmt == "conllu" else column
        notation = None
        if args.notation == "auto":
            notation, _ = output_notation(model, path, fmt, where)
        jobs.append((fmt, where, path, notation))
    with session_on(args.spark) as spark:
        results = SparkExecutor(spark).run(
            partial(_tag_file, args.model, args.batch_size, args.notation), jobs)
    for text, _, _ in results:
        out.write(text)
    return sum(r[1] for r in results), sum(r[2] for r in results)


def input_format(args):
    """``--format``, else ``--input`` (``tokenized`` is the format ``text``), else None."""
    chosen = {"auto": None, "tokenized": "text"}.get(args.input, args.input)
    if args.format and chosen and args.format != chosen:
        raise CommandError(f"--format {args.format} and --input {args.input} disagree; give one")
    return args.format or chosen


def run(args) -> int:
    inputs = args.files or [STDIN]
    check_inputs(inputs)
    check_output(args.output, "output", inputs=[*inputs, args.model])
    model, info = load_labeler(args.model)
    model = with_notation(model, args.notation)
    column = column_arg(args.tag_column)
    target = AtomicOutput(args.output) if args.output else None
    out = target.stream if target else sys.stdout
    n_sent = n_tok = 0
    try:
        if args.spark:
            n_sent, n_tok = _tag_on_spark(args, inputs, column, info, out, model)
        for path in inputs if not args.spark else ():
            fmt, given = resolve_input(path, input_format(args))
            if fmt in ("raw", "jsonl"):  # raw text: cli/_raw.py
                from ._raw import tag_place, tag_raw

                s, t = tag_raw(model, given, input_name(path), fmt, out,
                               place=tag_place(model, info, column), output=args.output_format,
                               batch=args.batch_size, first_id=n_sent + 1)
                n_sent, n_tok = n_sent + s, n_tok + t
                continue
            where = conllu_column(column, info, args.model) if fmt == "conllu" else column
            notation, source = None, given
            if args.notation == "auto":
                notation, source = output_notation(model, given, fmt, where)
            # bytes in: the reader decodes and names the line of any bad byte
            stream = open(source, "rb") if isinstance(source, str) else source
            try:
                s, t = _tag_stream(model, stream, input_name(path), fmt, where, out,
                                   args.batch_size, notation)
            finally:
                if stream is not given:  # a file, or stdin kept in a temporary file
                    stream.close()
            n_sent, n_tok = n_sent + s, n_tok + t
        if target:
            target.commit()
    except BaseException:
        if target:
            target.discard()
        raise
    if target:
        log(args, f"tagged {n_sent} sentences, {n_tok} tokens -> {args.output}")
    else:
        sys.stdout.flush()
    return 0
