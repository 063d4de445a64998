"""``hmmtl info``: versions, parallelism, accelerators and data found."""

from __future__ import annotations

import argparse
import json

from ._common import add_command


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers, "info", run, "versions, threads, BLAS, GPU and data found",
        "Print the versions of hmmtl and its dependencies, Numba's threads and threading "
        "layer, the BLAS in use, whether CuPy / a GPU and Dask are available, the data "
        "folder and the corpora in it, and where compiled kernels are cached.")
    p.add_argument("--data", metavar="DIR", help="corpora folder (default: $HMMTL_DATA)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from .. import _info

    report = _info.collect(data=args.data)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    else:
        print(_info.format_report(report))
    return 0
