"""``hmmtl train-hmm``: an unsupervised HMM on raw text, CoNLL or CoNLL-U files."""

from __future__ import annotations

import argparse

from ._common import (FORMATS, STDIN, CommandError, add_command, check_distinct_files,
                      check_inputs, check_output, iter_text_sentences, log, nonneg_float,
                      positive_int, resolve_input, save_model)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers, "train-hmm", run, "unsupervised HMM on raw text (word representations)",
        "Train a CategoricalHMM with EM on unlabeled text and save it.  Its states give "
        "word representations for 'hmmtl train --hmm'.",
        "example:\n  hmmtl train-hmm --text wsj.txt web.txt --states 128 --iter 30 "
        "--lowercase --min-count 2 --out hmm128.hmmtl")
    p.add_argument("--text", nargs="+", action="extend", required=True, metavar="FILE",
                   help="input files ('-' for stdin): one tokenized sentence a line, or CoNLL / "
                        "CoNLL-U (words only are used); repeating --text adds files")
    p.add_argument("--format", choices=(*FORMATS, "raw", "jsonl"),
                   help="input format (default: from the file name, else from its first lines)")
    p.add_argument("--states", type=positive_int, required=True, metavar="K",
                   help="number of hidden states")
    p.add_argument("--iter", type=positive_int, metavar="N", help="EM iterations")
    p.add_argument("--tol", type=nonneg_float, metavar="TOL",
                   help="stop when the log-likelihood gains less than TOL")
    p.add_argument("--online", action="store_true",
                   help="online (stepwise) EM over mini-batches, for large corpora")
    p.add_argument("--batch-size", type=positive_int, metavar="N",
                   help="sentences per mini-batch of online EM")
    p.add_argument("--kbest", type=positive_int, metavar="k",
                   help="k-best approximate forward-backward (keep k states per position)")
    p.add_argument("--lowercase", action="store_true", help="lowercase the words")
    p.add_argument("--min-count", type=positive_int, metavar="N",
                   help="words seen fewer than N times map to unknown-word signatures")
    p.add_argument("--restarts", type=positive_int, metavar="N",
                   help="random restarts, keeping the best")
    p.add_argument("--dtype", choices=("float64", "float32"), help="parameter precision")
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument("--dask", metavar="ADDRESS",
                         help="run the E-step on a Dask cluster: a scheduler address "
                              "(tcp://host:8786) or 'local' for worker processes on this "
                              "machine; the workers read the files")
    cluster.add_argument("--spark", metavar="MASTER",
                         help="run the E-step on Spark: a master URL (spark://host:7077, "
                              "yarn, local[4]); the executors read the files")
    p.add_argument("--seed", type=int, metavar="S", default=0, help="random seed (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    p.add_argument("--out", required=True, metavar="MODEL", help="output model file")


def hmm_params(args) -> dict:
    """The CategoricalHMM parameters the options set (options not given keep the defaults)."""
    params = {"n_states": args.states, "n_iter": args.iter, "tol": args.tol,
              "algorithm": "online" if args.online else None,
              "batch_size": args.batch_size, "kbest": args.kbest,
              "min_count": args.min_count, "lowercase": True if args.lowercase else None,
              "dtype": args.dtype, "n_init": args.restarts, "random_state": args.seed,
              "verbose": not args.quiet}
    return {k: v for k, v in params.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    check_inputs(args.text)
    check_distinct_files(args.text, "--text")
    check_output(args.out, "model", inputs=args.text)
    params = hmm_params(args)
    if args.dask or args.spark:
        return _run_on_cluster(args, params)
    from ..hmm import CategoricalHMM

    sentences = list(iter_text_sentences(args.text, args.format))
    if not sentences:
        raise CommandError("no sentences in the input text")
    n_tokens = sum(map(len, sentences))
    log(args, f"training a {args.states}-state HMM on {len(sentences)} sentences, "
              f"{n_tokens} tokens")
    model = CategoricalHMM(**params).fit(sentences)
    history = model.monitor_.history
    if history:
        log(args, f"log-likelihood per token after {len(history)} iterations: "
                  f"{history[-1] / max(n_tokens, 1):.4f}")
    save_model(model, args.out, args)
    return 0


def _run_on_cluster(args, params) -> int:
    """``--dask`` / ``--spark``: the E-step runs where the files are read (each file as its
    name says, as without these options); only sufficient statistics come back."""
    from ..executors import Files
    from ..hmm import CategoricalHMM

    if STDIN in args.text:
        raise CommandError(f"--{'dask' if args.dask else 'spark'} reads the files on the "
                           f"workers; give files, not '-'")
    # each file's format told here as without --dask / --spark (name, else first lines)
    formats = [resolve_input(path, args.format)[0] for path in args.text]
    if {"raw", "jsonl"} & set(formats):
        raise CommandError("raw text and JSON lines are read here, not on the workers; give "
                           "tokenized text (one sentence a line) or CoNLL with --dask / --spark")
    files = Files(args.text, format=formats)
    where = f"Dask ({args.dask})" if args.dask else f"Spark ({args.spark})"
    log(args, f"training a {args.states}-state HMM on {where} from {len(args.text)} file(s)")
    if args.dask:
        from ..executors.dask import DaskExecutor, client_on

        with client_on(args.dask) as client:  # as a Spark session is opened below
            model = CategoricalHMM(**params).fit(files, executor=DaskExecutor(client))
    else:
        from ..executors.spark import SparkExecutor, session_on

        with session_on(args.spark) as spark:
            model = CategoricalHMM(**params).fit(files, executor=SparkExecutor(spark))
    save_model(model, args.out, args)
    return 0
