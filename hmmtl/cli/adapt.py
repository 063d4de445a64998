"""``hmmtl adapt``: a ready-made model learned again for the user's own text."""

from __future__ import annotations

import argparse

from ._common import add_command, check_output, data_dir, log


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    add = add_command(
        subparsers, "adapt", run, "a ready-made model learned again for your own text",
        "Adapt a ready-made model (see 'hmmtl models') to the text you will tag: the model "
        "knows the labeled corpus and the recipe it was built from (its build record); "
        "hmmtl reads that corpus from --data, learns the HMM representations again on its "
        "words plus your unlabeled text and trains the labeler again: the model 'hmmtl "
        "train --unlabeled' gives with the recipe's settings (--prune makes the file as "
        "small as the ready-made model's, at the cost of a few tags).  The new model "
        "file is used like any other: 'hmmtl tag "
        "--model mine.hmmtl'.  For example: 'hmmtl adapt --model en-pos --unlabeled "
        "my-web-text.txt --data DIR --out mine.hmmtl' (a few minutes, as 'hmmtl models "
        "build' for that model).",
        "--unlabeled reads what 'hmmtl train --unlabeled' reads: raw or tokenized text, "
        "JSON lines with a \"text\" field, gzip, CoNLL / CoNLL-U (their words).")
    add.add_argument("--model", required=True, metavar="NAME",
                     help="a ready-made model (en-pos, en-chunk, en-ner, es-ner, nl-ner) or a "
                          "file written by 'hmmtl models build'")
    add.add_argument("--unlabeled", required=True, nargs="+", action="extend", metavar="FILE",
                     help="your text (raw or tokenized text, JSON lines, gzip, CoNLL, "
                          "CoNLL-U); repeating --unlabeled adds files")
    add.add_argument("--data", metavar="DIR",
                     help="corpora folder holding the model's labeled corpus (default: "
                          "$HMMTL_DATA)")
    add.add_argument("--out", required=True, metavar="MODEL", help="output model file")
    add.add_argument("--prune", action="store_true",
                     help="prune and store the model as the ready-made model is (small "
                          "weights dropped, float16 storage): a file 3-5x smaller, a few "
                          "tags may change")
    add.add_argument("--quiet", "-q", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    from ..models import resolve
    from ..studies.ready_models import adapt
    from .train import _read_unlabeled

    source = resolve(args.model)
    check_output(args.out, "model", inputs=[str(source), *args.unlabeled])
    # streamed: read by each part that learns from it, never held as token lists
    unlabeled = _read_unlabeled(args.unlabeled)
    model, info = adapt(args.model, unlabeled, data_dir=data_dir(args.data),
                        prune=args.prune, progress=not args.quiet)
    if args.prune:
        from ..prune import save_compact

        save_compact(model, args.out, info=info)  # stored as compactly as the shipped model
    else:
        from ..serialize import save

        save(model, args.out, info=info)
    size = info["adapted"]
    log(args, f"adapted {args.model} to {size['sentences']} sentences ({size['tokens']} tokens) "
              f"of {', '.join(args.unlabeled)}")
    return 0
