"""``hmmtl train``: a supervised labeler (CRF or perceptron), HMM features optional."""

from __future__ import annotations

from ._common import (REPRESENTATION_CHOICES, CommandError, add_command, check_inputs,
                      check_output, column_arg, corpus_sources, data_dir, input_files,
                      input_name, label_column, load_model, log, nonneg_float, positive_int,
                      read_corpus, resolve_input, save_model)


def add_parser(subparsers) -> None:
    p = add_command(
        subparsers, "train", run, "supervised tagger (CRF or perceptron), HMM features optional",
        "Train a sequence labeler on tagged data and save it as one model file.  With "
        "--unlabeled, an ensemble of HMMs is first learned on the training words plus that "
        "text (typically of the domain to be tagged) and their states become features: "
        "domain adaptation in one command, and the model file holds everything tagging "
        "needs.  With --hmm, the states of HMMs trained by 'hmmtl train-hmm' are features.",
        "examples:\n"
        "  hmmtl train --train train.conllu --tag-column xpos --out pos.hmmtl\n"
        "  hmmtl train --format nltk:conll2000:train --tag-column pos --data DIR \\\n"
        "      --unlabeled web.txt --out pos-web.hmmtl\n"
        "  hmmtl train --train eng.train --format conll --tag-column 3 \\\n"
        "      --hmm hmm128.hmmtl --represent viterbi,posterior --out ner.hmmtl\n"
        "  hmmtl train --format nltk:conll2000:train --tag-column pos --data DIR "
        "--out wsj.hmmtl")
    p.add_argument("--train", nargs="*", default=None, metavar="FILE",
                   help="training files ('-' for stdin) or nltk:NAME[:SPLIT]; with --format "
                        "nltk:NAME, split names (--format nltk:conll2000 --train train)")
    p.add_argument("--format", metavar="FMT",
                   help="conllu, conll, text, or nltk:NAME[:SPLIT] (treebank, conll2000, "
                        "brown, conll2002, nps_chat; e.g. nltk:conll2000:train; conll2000 and "
                        "conll2002 need a split); default: from the file name, else from its "
                        "first lines")
    p.add_argument("--tag-column", metavar="COL",
                   help="column of the tags: a name (xpos, upos, pos, chunk, ner) or a 0-based "
                        "index; needed when the data has several label columns (CoNLL-U: "
                        "default xpos).  The model remembers it for tag and evaluate")
    p.add_argument("--algorithm", choices=("crf", "perceptron"), default="crf",
                   help="labeler (default crf)")
    p.add_argument("--task", choices=("auto", "pos", "chunk", "ner"), default="auto",
                   help="the crf's default features and regularization for this kind of "
                        "tagging (default auto: chunk or ner for span tags such as B-NP / "
                        "I-PER, as spans cover most tokens or few, else pos)")
    p.add_argument("--text-format", choices=("text", "raw", "jsonl", "conll", "conllu"),
                   help="format of the --unlabeled files (default: from the name, else the "
                        "first lines): text is tokenized, one sentence a line; raw is running "
                        "text; jsonl has one object a line with a \"text\" field")
    p.add_argument("--unlabeled", nargs="+", metavar="FILE",
                   help="unlabeled text of the target domain: tokenized, one sentence a line, "
                        "or CoNLL / CoNLL-U files (.conll, .conllu: their words are used); "
                        "HMMs learned on it and on the training words give the features")
    p.add_argument("--preset", choices=("auto", "thorough"),
                   help="HMM ensemble learned with --unlabeled: auto (default; a few minutes) "
                        "or thorough (more HMMs, slower)")
    p.add_argument("--hmm", action="append", metavar="MODEL",
                   help="HMM model whose states become features (repeat for several)")
    p.add_argument("--represent", metavar="KINDS",
                   help="representations of the HMM(s): comma-separated of "
                        f"{','.join(REPRESENTATION_CHOICES)} (default type)")
    p.add_argument("--top-k", type=positive_int, metavar="k",
                   help="posterior / type features keep their k most probable states "
                        "(default 4)")
    p.add_argument("--dev", nargs="+", metavar="FILE",
                   help="development files, nltk:NAME:SPLIT, or a split of the --format "
                        "corpus (early stopping)")
    p.add_argument("--c1", type=nonneg_float, help="L1 regularization (crf)")
    p.add_argument("--c2", type=nonneg_float, help="L2 regularization (crf)")
    p.add_argument("--max-iter", type=positive_int, metavar="N",
                   help="optimizer iterations (crf) or epochs (perceptron)")
    p.add_argument("--data", metavar="DIR",
                   help="corpora folder for nltk:NAME (default: $HMMTL_DATA)")
    p.add_argument("--notation", choices=("auto", "keep"), default="auto",
                   help="auto (default): the model maps the words it tags (and --unlabeled "
                        "text) to how its training words write brackets and quotes (-LRB- or "
                        "(, ``/'' or \"); keep: words are used as written")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or messages")
    p.add_argument("--out", required=True, metavar="MODEL", help="output model file")


def labeler_params(args) -> dict:
    """The labeler's parameters the options set: LinearChainCRF's ``task``, ``c1``, ``c2``
    and ``max_iterations``, or AveragedPerceptron's ``n_epochs``."""
    if args.algorithm == "perceptron":
        for flag, value in (("--c1", args.c1), ("--c2", args.c2)):
            if value is not None:
                raise CommandError(f"{flag} is an option of the crf, not of the perceptron")
        if args.task != "auto":
            raise CommandError("--task is an option of the crf, not of the perceptron")
        params = {"n_epochs": args.max_iter}
    else:
        params = {"task": args.task, "c1": args.c1, "c2": args.c2,
                  "max_iterations": args.max_iter}
    params.update(random_state=args.seed, verbose=not args.quiet)
    return {k: v for k, v in params.items() if v is not None}


def run(args) -> int:
    train_sources = corpus_sources(args.train, args.format, "--train")
    dev_sources = corpus_sources(args.dev, args.format, "--dev", primary=False)
    check_output(args.out, "model",
                 inputs=input_files(train_sources, dev_sources, args.hmm, args.unlabeled))
    folder = data_dir(args.data)
    corpus = read_corpus(train_sources, data_dir=folder)
    column = label_column(corpus, column_arg(args.tag_column))
    tags = corpus.column(column)
    sentences = corpus.sentences
    if not sentences:
        raise CommandError("no sentences in the training data")

    dev = None
    if dev_sources:
        dev_corpus = read_corpus(dev_sources, data_dir=folder)
        dev = (dev_corpus.sentences, dev_corpus.column(
            label_column(dev_corpus, column, "--tag-column (dev)")))

    if args.unlabeled and args.hmm:
        raise CommandError("--unlabeled learns its own HMMs; give either --unlabeled or --hmm")
    unlabeled = _read_unlabeled(args.unlabeled, args.text_format) if args.unlabeled else None
    hmms = [load_model(p)[0] for p in (args.hmm or [])]
    for path, h in zip(args.hmm or [], hmms):
        if not hasattr(h, "transform"):
            raise CommandError(f"--hmm {path}: holds a {type(h).__name__}, not an HMM")
    representations = None
    if args.represent:
        representations = tuple(r.strip() for r in args.represent.split(",") if r.strip())
        bad = [r for r in representations if r not in REPRESENTATION_CHOICES]
        if bad:
            raise CommandError(f"--represent {args.represent!r}: unknown {bad}; choose from "
                               f"{','.join(REPRESENTATION_CHOICES)}")
        if not hmms and not unlabeled and not args.preset:
            raise CommandError("--represent needs --unlabeled FILE or --hmm MODEL")

    from ..transfer.pipeline import Tagger

    learned = args.preset or ("auto" if unlabeled else None)
    kwargs = {"labeler": args.algorithm, "labeler_params": labeler_params(args),
              "hmm": (hmms[0] if len(hmms) == 1 else hmms) if hmms else learned,
              "notation": args.notation, "random_state": args.seed}
    if representations:
        kwargs["representations"] = representations
    if args.top_k is not None:
        kwargs["top_k"] = args.top_k
    tagger = Tagger(**kwargs)
    log(args, f"training a {args.algorithm} on {len(sentences)} sentences, "
              f"{sum(map(len, sentences))} tokens of column {column}"
              + (f" with {len(hmms)} HMM(s): {','.join(tagger.representations)}"
                 if hmms else "")
              + (f", HMMs ({learned}) on them and {len(unlabeled)} unlabeled sentences, "
                 f"{sum(map(len, unlabeled))} tokens" if unlabeled else ""))
    tagger.fit(sentences, tags, unlabeled=unlabeled, dev=dev, verbose=not args.quiet)
    if dev is not None:
        log(args, f"dev accuracy: {tagger.score(*dev):.4f}")
    save_model(tagger, args.out, args, info={"tag_column": column})
    return 0


def _read_unlabeled(paths, fmt=None) -> list:
    """The sentences of the --unlabeled files, read before any training: tokenized or raw
    text, JSON lines, gzip, CoNLL (:func:`iter_text_sentences`, the one reader of unlabeled
    text); each file's format told as for every other input."""
    from ._common import iter_text_sentences

    return list(iter_text_sentences(paths, fmt))
