"""``hmmtl tag``: tag files or stdin, writing the same format with the predicted column.

Every input is tagged through the tagging door (:mod:`hmmtl.tagging`): here, on Dask
(``--dask``) or on Spark (``--spark``), the same plan (format, column, notation) decided here
once per file and the same function tagging it, so the output is the same bytes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from ..tagging.files import chunks_of_lines  # noqa: F401  (the batching of streams)
from ._common import (FORMATS, STDIN, AtomicOutput, CommandError, add_command,
                      check_inputs, check_output, check_tag_column, column_arg, input_name,
                      load_labeler, log, open_resolved, positive_int)

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
        "  hmmtl tag --model pos.hmmtl --spark 'local[2]' test.conllu -o tagged.conllu\n"
        "  hmmtl tag --model en-pos --dask local test.conllu -o tagged.conllu")
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
    p.add_argument("--jobs", "-j", type=jobs_arg, default="auto", metavar="N",
                   help="worker processes that split and tag raw text and JSON lines "
                        "(default auto: one per CPU, at most 8, when the input is larger "
                        "than 128k characters, 64k for a model with document features; "
                        "1: none); the output is the same bytes whatever the number")
    p.add_argument("--spark", metavar="MASTER",
                   help="tag the files on Spark (a master URL: spark://host:7077, local[4]), "
                        "one task per file, the model loaded once per executor; the output "
                        "is the same as without this option")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="tag the files on Dask (a scheduler address: tcp://host:8786, or "
                        "local for a cluster of worker processes here), one task per file, "
                        "the model loaded once per worker; the output is the same as without "
                        "this option")
    p.add_argument("--notation", choices=("auto", "keep"), default="auto",
                   help="auto (default): words are mapped to how the model's training words "
                        "write brackets and quotes (-LRB- or (, ``/'' or \"), and predicted "
                        "bracket and quote tags are written as the input file's tag column "
                        "writes them (decided once per file); keep: neither")
    p.add_argument("--quiet", "-q", action="store_true", help="no messages")


def jobs_arg(value: str):
    """``--jobs``: a positive number or ``auto``."""
    if value == "auto":
        return value
    return positive_int(value)


def input_format(args):
    """``--format``, else ``--input`` (``tokenized`` is the format ``text``), else None."""
    chosen = {"auto": None, "tokenized": "text"}.get(args.input, args.input)
    if args.format and chosen and args.format != chosen:
        raise CommandError(f"--format {args.format} and --input {args.input} disagree; give one")
    return args.format or chosen


def _plan(args, model, info, column, fmt: str, stream):
    """The tagging plan of one input (where its tags go, the notation they are written
    in: :func:`hmmtl.tagging.files.plan_input`) and the stream to tag it from."""
    from ..tagging.files import plan_input

    return plan_input(model, stream, fmt, info=info, column=check_tag_column(column, fmt),
                      notation=args.notation, model_name=args.model)


def _tag_here(args, model, info, column, path: str, out, first_id: int) -> tuple[int, int]:
    """One input tagged in this process, the file opened once (its format told from its
    first lines, its tag notation read, then tagged)."""
    from ..tagging import with_notation
    from ..tagging.files import tag_stream

    fmt, stream, opened = open_resolved(path, input_format(args))
    try:
        if fmt in ("raw", "jsonl"):  # raw text: cli/_raw.py
            from ._raw import default_jobs, tag_place, tag_raw

            return tag_raw(with_notation(model, args.notation), stream, input_name(path), fmt,
                           out,
                           place=tag_place(model, info, column),
                           output=args.output_format or "conllu",
                           batch=args.batch_size, first_id=first_id,
                           jobs=default_jobs() if args.jobs == "auto" else args.jobs,
                           log=lambda message: log(args, message), warm=True)
        if args.output_format is not None:
            raise CommandError(f"--output-format is for raw text and JSON lines; "
                               f"{input_name(path)} is {fmt}, written back as {fmt}")
        plan, source = _plan(args, model, info, column, fmt, stream)
        try:
            return tag_stream(model, source, input_name(path), plan, out, args.batch_size)
        finally:
            if source is not stream:  # standard input kept in a temporary file
                source.close()
    finally:
        if opened is not None:
            opened.close()


def _tag_on_cluster(args, model, info, column, inputs, out) -> tuple[int, int]:
    """Each file tagged by one task on Dask or Spark (its format, column and notation
    decided here as without ``--dask`` / ``--spark``, the model file loaded once per worker
    process); the outputs written here, in order."""
    from ..models import resolve

    option = "--dask" if args.dask else "--spark"
    if STDIN in inputs:
        raise CommandError(f"{option} tags files on the workers; give files, not stdin")
    jobs = []
    for path in inputs:
        fmt, stream, opened = open_resolved(path, input_format(args))
        try:
            if fmt in ("raw", "jsonl"):
                raise CommandError(f"{path}: raw text is tagged here, not on the workers; "
                                   f"leave out {option}")
            if args.output_format is not None:
                raise CommandError(f"--output-format is for raw text and JSON lines; "
                                   f"{input_name(path)} is {fmt}, written back as {fmt}")
            plan, _ = _plan(args, model, info, column, fmt, stream)
        finally:
            if opened is not None:
                opened.close()
        jobs.append((os.path.abspath(path), input_name(path), plan))
    model_file = os.path.abspath(resolve(args.model))  # a ready-made model's name too
    tag_files: Callable[..., list]
    if args.dask:
        from ..tagging.dask import tag_files
    else:
        from ..tagging.spark import tag_files
    results = tag_files(args.dask or args.spark, model_file, jobs, args.batch_size)
    for text, _, _ in results:
        out.write(text)
    return sum(r[1] for r in results), sum(r[2] for r in results)


def run(args: argparse.Namespace) -> int:
    inputs = args.files or [STDIN]
    check_inputs(inputs)
    check_output(args.output, "output", inputs=[*inputs, args.model])
    if args.dask and args.spark:
        raise CommandError("--dask and --spark both name where to tag; give one")
    model, info = load_labeler(args.model)
    column = column_arg(args.tag_column)
    target = AtomicOutput(args.output) if args.output else None
    out = target.stream if target else sys.stdout
    n_sent = n_tok = 0
    try:
        if args.dask or args.spark:
            n_sent, n_tok = _tag_on_cluster(args, model, info, column, inputs, out)
        else:
            for path in inputs:
                s, t = _tag_here(args, model, info, column, path, out, n_sent + 1)
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
