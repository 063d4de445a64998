"""The ``hmmtl`` command line: a thin layer over the library.

One module per command (``info``, ``train_hmm``, ``train``, ``tag``, ``evaluate``,
``experiment``, ``demo``), each with ``add_parser(subparsers)`` and ``run(args) -> int``;
what they share (argument types, input reading, model files, atomic output) is in
``_common``.  A command reads corpora through :mod:`hmmtl.io`, calls an estimator, and writes
a model file (:mod:`hmmtl.serialize`) or a corpus.  Heavy modules (the estimators, Numba
kernels) are imported inside ``run``, so ``hmmtl --help`` is instant.

Exit status: 0 on success, 1 when a command fails at run time (bad input file, missing
model, ...: ``hmmtl: error: <message>`` on stderr, the traceback only with ``--debug``),
2 for a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import adapt, demo, evaluate, experiment, info, models, tag, train, train_hmm
from ._common import PROG, CommandError, Formatter

__all__ = ["main", "build_parser", "CommandError"]

#: the command modules, in the order ``hmmtl --help`` lists them
COMMANDS = (info, train_hmm, train, tag, evaluate, experiment, demo, models, adapt)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=Formatter,
        description="HMMs and CRF-style sequence labelers that share latent states across "
                    "domains and tasks.",
        epilog="Run 'hmmtl COMMAND --help' for the options of a command.\n"
               "Corpora are found through --data DIR or the HMMTL_DATA environment variable.")
    parser.add_argument("-V", "--version", action="version", version=f"hmmtl {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="show the full traceback when something fails")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


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
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
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


def console_main() -> None:
    """The ``hmmtl`` program (and ``python -m hmmtl``): :func:`main`, then the process ends
    with its exit status.  After a command that loaded Numba (and with it LLVM), tearing
    the interpreter down takes about a tenth of a second on the 2-core machine -- as long
    as tagging 30,000 tokens -- and serves nothing: every file a command writes is
    complete and in place before :func:`main` returns.  So such a process flushes standard
    output and error and exits at once; one that ran Dask or Spark exits normally, so that
    their exit handlers stop their clients."""
    code = main()
    if "numba" in sys.modules and not any(name in sys.modules for name in _EXIT_HANDLERS):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more to write
                pass
        os._exit(code)
    sys.exit(code)


#: libraries whose exit handlers must run (their clients, threads and child processes)
_EXIT_HANDLERS = ("pyspark", "distributed")

