"""``hmmtl tag``: tag files or stdin, writing the same format with the predicted column."""

from __future__ import annotations

import sys
from typing import Iterator

from ._common import (CONLLU_NAMES, FORMATS, STDIN, AtomicOutput, CommandError, add_command,
                      check_inputs, check_output, column_arg, input_name, load_labeler, log,
                      positive_int, predict, resolve_input)

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
        "  echo 'The dog barks .' | hmmtl tag --model pos.hmmtl")
    p.add_argument("files", nargs="*", metavar="FILE", help="input files (default: stdin)")
    p.add_argument("--model", required=True, metavar="MODEL", help="model file")
    p.add_argument("--format", choices=FORMATS,
                   help="input format (default: from the file name, else from its first "
                        "lines, stdin too)")
    p.add_argument("--tag-column", metavar="COL",
                   help="column for the predictions (CoNLL-U default: the column the model "
                        "was trained on, e.g. upos or xpos; CoNLL default: a new last column)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write here (atomically) instead of stdout")
    p.add_argument("--batch-size", type=positive_int, default=TAG_BATCH_SENTENCES, metavar="N",
                   help=f"sentences tagged at a time (default {TAG_BATCH_SENTENCES})")
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


def _tag_stream(model, stream, name: str, fmt: str, column, out, batch: int) -> tuple[int, int]:
    """Tag one input piece by piece; returns (sentences, tokens)."""
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


def run(args) -> int:
    inputs = args.files or [STDIN]
    check_inputs(inputs)
    check_output(args.output, "output", inputs=[*inputs, args.model])
    model, info = load_labeler(args.model)
    column = column_arg(args.tag_column)
    target = AtomicOutput(args.output) if args.output else None
    out = target.stream if target else sys.stdout
    n_sent = n_tok = 0
    try:
        for path in inputs:
            fmt, source = resolve_input(path, args.format)
            where = conllu_column(column, info, args.model) if fmt == "conllu" else column
            # bytes in: the reader decodes and names the line of any bad byte
            stream = open(source, "rb") if isinstance(source, str) else source
            try:
                s, t = _tag_stream(model, stream, input_name(path), fmt, where, out,
                                   args.batch_size)
            finally:
                if isinstance(source, str):
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
