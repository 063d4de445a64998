"""``hmmtl demo``: the domain-adaptation demo on real data, or on synthetic data when there
is none (:mod:`hmmtl.studies.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import CommandError, add_command, check_output_folder, data_dir


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers, "demo", run, "a small domain-adaptation demo (real or synthetic data)",
        "Train a CRF POS tagger on WSJ, plain and adapted to web text in one call (HMMs "
        "learned on the training words plus unlabeled web text give features), and print "
        "the accuracy table.  Without corpora (--data, HMMTL_DATA or "
        "NLTK's data path) the same runs on a synthetic multi-domain corpus.")
    p.add_argument("--data", metavar="DIR", help="corpora folder (default: $HMMTL_DATA)")
    p.add_argument("--out", metavar="DIR", help="also write the table to this folder")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run of the same steps on much smaller data (seconds)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")


def run(args: argparse.Namespace) -> int:
    from ..studies import demo

    if args.data and not Path(args.data).is_dir():
        raise CommandError(f"--data {args.data!r}: no such folder")
    if args.out:
        folder = data_dir(args.data)
        check_output_folder(args.out, "results", inputs=[str(folder) if folder else None])
    demo.run_demo(data_dir=args.data, out=args.out, quick=args.quick, random_state=args.seed,
                  progress=not args.quiet)
    return 0
