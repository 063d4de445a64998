"""``hmmtl tag``: tag files or stdin, writing the same format with the predicted column."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator

from ._common import (FORMATS, STDIN, AtomicOutput, CommandError, add_command,
                      check_inputs, check_output, check_tag_column, column_arg, input_name,
                      input_places, load_labeler, log, model_meaning, positive_int, predict,
                      resolve_input, with_notation)

#: sentences per batch when tagging a stream: bounds memory on inputs of any size
TAG_BATCH_SENTENCES = 2000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
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
    p.add_argument("--output-format", choices=("conllu", "conll", "jsonl"),
                   help="output of raw text and JSON lines (default conllu: # text, "
                        "SpaceAfter=No and TokenRange=start:end in MISC)")
    p.add_argument("--tag-column", metavar="COL", type=column_arg,
                   help="column for the predictions, overwriting what it holds (CoNLL-U "
                        "default: the column of the model's tags: upos, xpos, MISC NE= for "
                        "entities, MISC Chunk= for chunks, never a column the model reads; "
                        "CoNLL default: a new last column).  Never the words or IDs; no "
                        "negative indexes")
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


def _units(stream, fmt: str) -> Iterator[tuple[list, int, bool]]:
    """The stream as units that a batch never splits: ``(lines, n_sentences,
    starts_document)``.  A unit is a run of non-blank lines (one line in plain text) with
    the blank lines after it; a CoNLL ``-DOCSTART-`` run holds no sentence and starts a
    document, a CoNLL-U sentence starts one when its comments hold ``# newdoc``.  Lines
    before the first non-blank one form a unit of their own."""
    lines: list = []
    content = tail = False  # the unit has non-blank lines / blank lines after them
    n_sent, doc = 0, False
    for line in stream:
        blank = not line.strip()
        if not blank and (tail or (fmt == "text" and content)):
            yield lines, n_sent, doc
            lines, content, tail, n_sent, doc = [], False, False, 0, False
        lines.append(line)
        if blank:
            tail = tail or content
            continue
        if fmt == "conll":
            if _starts_with(line, "-DOCSTART-"):
                doc = doc or not content
            elif not n_sent:
                n_sent = 1
        elif fmt == "conllu":
            doc = doc or (not n_sent and _starts_with(line, "# newdoc"))
            n_sent = n_sent or not _starts_with(line, "#")
        else:
            n_sent = 1
        content = True
    if lines:
        yield lines, n_sent, doc


def chunks_of_lines(stream, fmt: str, batch: int,
                    documents: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Cut a line stream into pieces of about ``batch`` sentences, each a valid file of
    its own (cuts only at a blank line followed by a non-blank one), with the 1-based
    number of its first line.  Keeps memory bounded whatever the input size.

    With ``documents`` (a model that reads whole documents), once the stream has shown a
    document (a CoNLL ``-DOCSTART-`` line, a CoNLL-U ``# newdoc`` comment), it is cut only
    where a document starts: a document is never split, and one longer than ``batch``
    sentences makes a longer piece (memory is bounded by the longest document).  Every
    piece holds a sentence, except the only piece of an input without any: document
    headers, comments and blank lines go with the sentences after them, or at the end of
    the input with the last piece."""
    start, count = 1, 0
    piece: list[str] = []
    seen_document = False
    ready = None  # the last complete piece, held until it is known not to be the last
    for lines, n_sent, starts_document in _units(stream, fmt):
        seen_document = seen_document or starts_document
        at_boundary = starts_document or not (documents and seen_document)
        if count >= batch and at_boundary:
            if ready is not None:
                yield ready
            ready = (start, piece)
            start += len(piece)
            piece, count = [], 0
        piece.extend(lines)
        count += n_sent
    if ready is not None and not count:  # only headers or blank lines after the last cut
        ready = (ready[0], ready[1] + piece)
        piece = []
    if ready is not None:
        yield ready
    if piece:
        yield start, piece


def _starts_with(line, prefix: str) -> bool:
    if isinstance(line, bytes):
        return line.lstrip(b" \t").startswith(prefix.encode())
    return line.lstrip(" \t").startswith(prefix)


def _shift_error(exc, name: str, first_line: int):
    """A reader's error on a piece of a stream, with the line number in the whole input."""
    from ..io import FormatError

    line = getattr(exc, "line", None)
    return FormatError(name, None if line is None else line + first_line - 1,
                       getattr(exc, "reason", str(exc)))


def _read_piece(lines, fmt: str, name: str):
    from .. import io

    readers: dict[str, Callable[..., io.Corpus]] = {
        "conllu": io.read_conllu, "conll": io.read_conll, "text": io.read_text}
    reader = readers[fmt]
    return reader(lines, name=name)


def _write_corpus(corpus, out, predicted, column, fmt: str) -> None:
    from ..io import Corpus, write_conll, write_conllu

    if fmt == "text":
        corpus = Corpus(columns={"word": [list(s) for s in corpus.sentences], "tag": predicted},
                        word_column="word", label_column="tag", format="conll")
        write_conll(corpus, out, sep="\t")
    elif fmt == "conllu" and isinstance(column, str) and column.startswith("misc:"):
        from ..io.columns import with_misc_values

        misc = with_misc_values(corpus.columns["misc"], column[5:], predicted)
        write_conllu(corpus.with_column("misc", misc), out)
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
    if isinstance(column, str) and column.startswith("misc:"):
        return None, source  # MISC holds no bracket or quote tags
    from ..io.notation import Notation, tag_notation_of_lines

    if isinstance(source, str):
        with open(source, "rb") as f:
            found = tag_notation_of_lines(f, fmt, column)
    else:
        import tempfile

        spool = tempfile.SpooledTemporaryFile(max_size=1 << 26)  # noqa: SIM115 - returned
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


def conllu_column(column, info: dict, model_path: str, model=None) -> str:
    """The CoNLL-U column predictions go to (``misc:NE`` for a key of MISC).

    ``--tag-column`` when given (never ID or FORM; ``ner`` / ``chunk`` are MISC keys);
    else the CoNLL-U column the model was trained on, else the place of the model's tag
    meaning (:func:`model_meaning`: recorded, else told by its label set): UPOS, XPOS,
    MISC ``NE=`` for entities, MISC ``Chunk=`` for chunks.  Without ``--tag-column`` the
    predictions never go to a column the model reads, and a model whose tags say nothing
    is refused rather than written over XPOS."""
    from ..io import CONLLU_COLUMNS
    from ..io.columns import conllu_place, meaning_of

    if column is not None:
        column = check_tag_column(column, "conllu")
        if column.lower().startswith("misc:") and len(column) > 5:
            return "misc:" + column[5:]
        if column.lower() in CONLLU_COLUMNS:
            return column.lower()
        place = conllu_place(meaning_of(column))
        if place is None:
            raise CommandError(f"--tag-column {column!r}: CoNLL-U has no such column; give "
                               f"one of {', '.join(CONLLU_COLUMNS[2:])} or misc:KEY")
        return place
    trained = info.get("tag_column")
    if isinstance(trained, str) and trained.lower() in CONLLU_COLUMNS[2:]:
        place = trained.lower()
    else:
        meaning = model_meaning(model, info) if model is not None else meaning_of(trained)
        place = conllu_place(meaning)
        if place is None:
            shown = f"was trained on column {trained!r}" if trained is not None else \
                "records no tag column"
            raise CommandError(f"the model {model_path} {shown}, and its labels do not tell "
                               f"what they are (UD or Penn Treebank POS tags, chunks, "
                               f"entities); give --tag-column (upos, xpos, misc:NE ...)")
    if model is not None and place in input_places(model, "conllu"):
        raise CommandError(f"the model {model_path} reads the column {place} that its "
                           f"predictions would go to; give --tag-column to choose where "
                           f"they go")
    return place


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
        where = _where(column, info, args.model, model, fmt)
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


def _where(column, info, model_path, model, fmt):
    """The column the predictions of one input go to (None: a new last CoNLL column)."""
    if fmt == "conllu":
        return conllu_column(column, info, model_path, model)
    return check_tag_column(column, fmt)


def input_format(args):
    """``--format``, else ``--input`` (``tokenized`` is the format ``text``), else None."""
    chosen = {"auto": None, "tokenized": "text"}.get(args.input, args.input)
    if args.format and chosen and args.format != chosen:
        raise CommandError(f"--format {args.format} and --input {args.input} disagree; give one")
    return args.format or chosen


def run(args: argparse.Namespace) -> int:
    from ._tasks import is_multi_task, tag_tasks

    inputs = args.files or [STDIN]
    check_inputs(inputs)
    check_output(args.output, "output", inputs=[*inputs, args.model])
    model, info = load_labeler(args.model)
    model = with_notation(model, args.notation)
    column = column_arg(args.tag_column)
    target = AtomicOutput(args.output) if args.output else None
    out = target.stream if target else sys.stdout
    n_sent = n_tok = 0
    multi = is_multi_task(model)  # one column per task: cli/_tasks.py
    try:
        if multi:
            n_sent, n_tok = tag_tasks(args, model, info, inputs, out, input_format(args))
        elif args.spark:
            n_sent, n_tok = _tag_on_spark(args, inputs, column, info, out, model)
        for path in inputs if not (args.spark or multi) else ():
            fmt, given = resolve_input(path, input_format(args))
            if fmt in ("raw", "jsonl"):  # raw text: cli/_raw.py
                from ._raw import tag_place, tag_raw

                s, t = tag_raw(model, given, input_name(path), fmt, out,
                               place=tag_place(model, info, column),
                               output=args.output_format or "conllu",
                               batch=args.batch_size, first_id=n_sent + 1)
                n_sent, n_tok = n_sent + s, n_tok + t
                continue
            if args.output_format is not None:
                raise CommandError(f"--output-format is for raw text and JSON lines; "
                                   f"{input_name(path)} is {fmt}, written back as {fmt}")
            where = _where(column, info, args.model, model, fmt)
            notation, source = None, given
            if args.notation == "auto":
                notation, source = output_notation(model, given, fmt, where)
            # bytes in: the reader decodes and names the line of any bad byte
            stream = open(source, "rb") if isinstance(source, str) else source  # noqa: SIM115 - closed below
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
