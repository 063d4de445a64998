"""``hmmtl train``: a supervised labeler (CRF or perceptron), HMM features optional."""

from __future__ import annotations

import argparse

from .._registry import REPRESENTATIONS
from ._common import (CommandError, add_command, column_arg, column_of_meaning, corpus_sources,
                      gold_labels, input_files, label_column, load_model, log, nonneg_float,
                      positive_int, read_corpus, save_model, training_data)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
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
        "--out wsj.hmmtl\n"
        "  hmmtl train --train eng.train --tag-column 3 --algorithm recognizer \\\n"
        "      --input-columns pos=1,chunk=2 --unlabeled web.txt --out ner.hmmtl\n"
        "  hmmtl train --train eng.train --format conll --tasks pos=1,chunk=2,ner=3 \\\n"
        "      --algorithm recognizer --unlabeled web.txt --out pos-chunk-ner.hmmtl")
    p.add_argument("--train", nargs="*", action="extend", default=None, metavar="FILE",
                   help="training files ('-' for stdin) or nltk:NAME[:SPLIT]; with --format "
                        "nltk:NAME, split names (--format nltk:conll2000 --train train); "
                        "repeating --train adds files")
    p.add_argument("--format", metavar="FMT",
                   help="conllu, conll, text, or nltk:NAME[:SPLIT] (treebank, conll2000, "
                        "brown, conll2002, nps_chat; e.g. nltk:conll2000:train; conll2000 and "
                        "conll2002 need a split); default: from the file name, else from its "
                        "first lines")
    p.add_argument("--tag-column", metavar="COL", type=column_arg,
                   help="column of the tags: a name (xpos, upos, pos, chunk, ner) or a 0-based "
                        "index >= 1 (never the words); needed when the data has several label "
                        "columns (CoNLL-U: default xpos).  The model remembers it, and what "
                        "its tags are (upos, xpos, chunk, ner), for tag and evaluate")
    p.add_argument("--algorithm", choices=("crf", "perceptron", "recognizer"), default="crf",
                   help="labeler (default crf); recognizer: the named-entity recognizer of "
                        "'hmmtl experiment ner' (Brown clusters and an HMM learned on the "
                        "training words and --unlabeled, NLTK's gazetteers from --data, "
                        "--lexicon, the file's -DOCSTART- documents, --input-columns); with "
                        "--tasks, the ner task's model (the other tasks stay CRFs)")
    p.add_argument("--lexicon", metavar="PATH",
                   help="recognizer: large name lists as evidence (a folder such as "
                        "DATA/lexicon/en, or a lexicon model file)")
    p.add_argument("--task", choices=("auto", "pos", "chunk", "ner"), default="auto",
                   help="the crf's default features and regularization for this kind of "
                        "tagging (default auto: chunk or ner for span tags such as B-NP / "
                        "I-PER, as spans cover most tokens or few, else pos)")
    p.add_argument("--text-format", choices=("text", "raw", "jsonl", "conll", "conllu"),
                   help="format of the --unlabeled files (default: from the name, else the "
                        "first lines): text is tokenized, one sentence a line; raw is running "
                        "text; jsonl has one object a line with a \"text\" field")
    p.add_argument("--unlabeled", nargs="+", action="extend", metavar="FILE",
                   help="unlabeled text of the target domain: tokenized, one sentence a line, "
                        "or CoNLL / CoNLL-U files (.conll, .conllu: their words are used); "
                        "HMMs learned on it and on the training words give the features; "
                        "with --tasks, Brown clusters and an HMM learned once on it and the "
                        "training words are features of every task; repeating --unlabeled "
                        "adds files")
    p.add_argument("--unlabeled-max-tokens", type=positive_int, metavar="N",
                   help="read at most N tokens of the --unlabeled text (its first sentences, "
                        "files in the order given); default: all of it.  The text is streamed "
                        "and kept as word ids, so millions of tokens fit in memory")
    p.add_argument("--hmm-param", action="append", metavar="KEY=VALUE", default=None,
                   help="a setting of the HMMs learned with --unlabeled over the preset's "
                        "(repeat for several): n_hmms, n_states, n_iter, min_count, "
                        "max_vocab, algorithm (batch, online), batch_size, kbest, dtype, ...; "
                        "e.g. --hmm-param algorithm=online --hmm-param n_iter=3")
    p.add_argument("--clusters", type=positive_int, metavar="C",
                   help="with --unlabeled (one task): C Brown clusters learned on the training "
                        "words and the unlabeled text (streamed: word pairs counted), their path "
                        "prefixes features beside the HMMs' (web POS, EWT dev, 500 clusters: "
                        "+0.10 / +0.24 / +0.00 accuracy with 0.2M / 3M / 10M tokens of text)")
    p.add_argument("--word-clusters", metavar="K,K,...",
                   help="with --unlabeled (one task): word-vector clusters learned on the "
                        "training words and the unlabeled text in the HMMs' reading of it "
                        "(each word's PMI with the frequent words around it, cut by k-means "
                        "at each grain K), each grain's cluster a feature beside the HMMs'; "
                        "e.g. --word-clusters 64,256,1024")
    p.add_argument("--preset", choices=("auto", "thorough"),
                   help="HMM ensemble learned with --unlabeled: auto (default; a few minutes) "
                        "or thorough (more HMMs, slower)")
    p.add_argument("--hmm", action="append", metavar="MODEL",
                   help="HMM model whose states become features (repeat for several)")
    p.add_argument("--represent", metavar="KINDS",
                   help="representations of the HMM(s): comma-separated of "
                        f"{','.join(REPRESENTATIONS)} (default type)")
    p.add_argument("--top-k", type=positive_int, metavar="k",
                   help="posterior / type features keep their k most probable states "
                        "(default 4)")
    p.add_argument("--dev", nargs="+", action="extend", metavar="FILE",
                   help="development files, nltk:NAME:SPLIT, or a split of the --format "
                        "corpus (early stopping); repeating --dev adds files.  Their tags "
                        "must all be tags of the training data (checked before training)")
    p.add_argument("--dev-tag-column", metavar="COL", type=column_arg,
                   help="column of the dev tags (default: the training column when the dev "
                        "data has one of that name, else the column of the same meaning: "
                        "a CoNLL column of PTB tags pairs with CoNLL-U XPOS, of UD tags with "
                        "UPOS)")
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
    p.add_argument("--tasks", action="append", metavar="NAME=COL,...",
                   help="several tasks in one model (a MultiTaskTagger): each task's name and "
                        "column, e.g. pos=1,chunk=2,ner=3 (CoNLL-U: the name alone); once for "
                        "every --train file, or once per file in the same order")
    p.add_argument("--input-columns", metavar="NAME=COL,...",
                   help="columns of every --train file that the model reads as features, "
                        "e.g. pos=1 (the POS column of CoNLL-2000): with one task "
                        "(--tag-column COL, --task chunk) the tagger reads them (chunking: "
                        "with its POS n-grams); with --tasks beside the earlier tasks' "
                        "predictions (a task reads those of the tasks before it and of no "
                        "task, never its own); tag and evaluate then need them")
    p.add_argument("--cascade", default="auto", metavar="SPEC",
                   help="with --tasks: which earlier tasks' predictions each task reads: auto "
                        "(default: those of the earlier tasks whose column --input-columns "
                        "does not give), all (every earlier task), none (the tasks share the "
                        "featurization and the --unlabeled representations only), or "
                        "TASK:EARLIER+EARLIER,... (e.g. chunk:pos,ner:pos+chunk; a task not "
                        "named reads none)")
    p.add_argument("--folds", type=int, default=3, metavar="K",
                   help="with --tasks: folds of the cross-validated predictions the later "
                        "tasks read (default 3; 0: gold labels of the earlier tasks)")
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


def run(args: argparse.Namespace) -> int:
    if args.lexicon and args.algorithm != "recognizer":
        raise CommandError("--lexicon is an option of --algorithm recognizer")
    if args.clusters and (args.algorithm == "recognizer" or args.tasks or args.input_columns):
        raise CommandError("--clusters is an option of one task from the words (the "
                           "recognizer and --tasks learn their own Brown clusters with "
                           "--unlabeled)")
    if args.word_clusters and (args.algorithm == "recognizer" or args.tasks
                               or args.input_columns or not args.unlabeled):
        raise CommandError("--word-clusters is an option of one task from the words, with "
                           "--unlabeled text to learn them from")
    if args.algorithm == "recognizer" and not args.tasks:
        from ._recognizer import train_recognizer

        return train_recognizer(args)
    if args.input_columns and not args.tasks:  # one task reading input columns
        args.tasks = [_single_task(args)]
        args.tag_column = None
    if args.tasks:  # several tasks in one model: cli/_tasks.py
        from ._tasks import train_tasks

        return train_tasks(args, labeler_params(args))
    dev_sources = corpus_sources(args.dev, args.format, "--dev", primary=False)
    folder, corpus, column = training_data(args, dev_sources, args.hmm)
    tags = corpus.column(column)
    sentences = corpus.sentences

    meaning = _meaning(column, tags)
    dev = None
    if dev_sources:
        dev_corpus = read_corpus(dev_sources, data_dir=folder)
        dev = (dev_corpus.sentences,
               dev_tags(dev_corpus, column, meaning, args.dev_tag_column, tags,
                        input_files(dev_sources)))
    if args.unlabeled and args.hmm:
        raise CommandError("--unlabeled learns its own HMMs; give either --unlabeled or --hmm")
    if (args.unlabeled_max_tokens or args.hmm_param) and not args.unlabeled:
        raise CommandError("--unlabeled-max-tokens and --hmm-param are settings of "
                           "--unlabeled: give the text with --unlabeled FILE")
    hmm_params = _hmm_params(args.hmm_param)
    unlabeled = (_read_unlabeled(args.unlabeled, args.text_format, args.unlabeled_max_tokens)
                 if args.unlabeled else None)
    hmms = [load_model(p)[0] for p in (args.hmm or [])]
    for path, h in zip(args.hmm or [], hmms):
        if not hasattr(h, "transform"):
            raise CommandError(f"--hmm {path}: holds a {type(h).__name__}, not an HMM")
    representations = None
    if args.represent:
        representations = tuple(r.strip() for r in args.represent.split(",") if r.strip())
        bad = [r for r in representations if r not in REPRESENTATIONS]
        if bad:
            raise CommandError(f"--represent {args.represent!r}: unknown {bad}; choose from "
                               f"{','.join(REPRESENTATIONS)}")
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
    if hmm_params:
        kwargs["hmm_params"] = hmm_params
    if args.clusters:
        from ..ner.clusters import learn_clusters

        kwargs["clusters"] = learn_clusters(sentences, tags, unlabeled, args.clusters,
                                            args.notation, not args.quiet)
    if args.word_clusters:
        from ..ner.vectors import WordVectorClusters

        kwargs["word_clusters"] = WordVectorClusters(
            n_clusters=_grains(args.word_clusters), random_state=args.seed,
            verbose=not args.quiet)
    tagger = Tagger(**kwargs)
    log(args, f"training a {args.algorithm} on {len(sentences)} sentences, "
              f"{sum(map(len, sentences))} tokens of column {column}"
              + (f" with {len(hmms)} HMM(s): {','.join(tagger.representations)}"
                 if hmms else "")
              + (f", HMMs ({learned}) on them and the unlabeled text (streamed)"
                 if unlabeled is not None else ""))
    try:
        tagger.fit(sentences, tags, unlabeled=unlabeled, dev=dev, verbose=not args.quiet)
    except (TypeError, ValueError) as exc:
        if not hmm_params:
            raise
        raise CommandError(f"--hmm-param: {exc}") from None
    summary = getattr(tagger, "text_summary_", None)
    if unlabeled is not None and summary:
        log(args, f"HMMs learned on {summary['n_sentences']} sentences, "
                  f"{summary['n_tokens']} tokens ({unlabeled.n_tokens} unlabeled), "
                  f"{summary['n_types']} distinct tokens, a vocabulary of "
                  f"{summary['vocabulary']} ids")
    if dev is not None:
        log(args, f"dev accuracy: {tagger.score(*dev):.4f}")
    save_model(tagger, args.out, args, info={"tag_column": column, "tag_meaning": meaning})
    return 0


def _grains(text: str) -> tuple:
    """``--word-clusters K,K,...`` as a tuple of ints >= 2."""
    try:
        grains = tuple(int(k) for k in text.split(",") if k.strip())
    except ValueError:
        grains = ()
    if not grains or min(grains) < 2:
        raise CommandError(f"--word-clusters {text!r}: expected numbers of clusters >= 2 "
                           f"separated by commas, e.g. 64,256,1024")
    return grains


def _single_task(args) -> str:
    """``--tasks`` of one task for ``--tag-column COL --input-columns ...``: the task named
    by ``--task`` (chunk, ner, pos), else by the column's meaning, else ``tags``, and its
    column.  The model is then a one-task :class:`~hmmtl.transfer.multitask.MultiTaskTagger`,
    the model that records its input columns and reads them in ``hmmtl tag`` and ``hmmtl
    evaluate``."""
    from ..io.columns import meaning_of

    if args.tag_column is None:
        raise CommandError(f"--input-columns {args.input_columns} reads columns beside the "
                           f"tags: give the column of the tags too, e.g. --tag-column 2")
    column = args.tag_column
    if args.task != "auto":
        name = args.task
    else:
        meaning = meaning_of(column)
        name = {"xpos": "pos", "upos": "pos"}.get(meaning or "", meaning or "tags")
    from ._tasks import parse_tasks

    if name in parse_tasks(args.input_columns):
        raise CommandError(f"--input-columns {args.input_columns}: {name!r} is the task "
                           f"itself (--tag-column {column}); a task never reads its own "
                           f"column")
    return f"{name}={column}"


def _meaning(column: str, tags) -> str | None:
    """What the training tags are (``upos``, ``xpos``, ``chunk``, ``ner``): the column's
    name when it has a meaning, else what the tags tell (:func:`hmmtl.io.columns.tag_meaning`)."""
    from ..io.columns import meaning_of, tag_meaning

    return meaning_of(column) or tag_meaning({t for s in tags for t in s})


def dev_tags(dev_corpus, column: str, meaning, dev_column, tags, files) -> list:
    """The tags of the ``--dev`` data, checked before any training: the column
    ``--dev-tag-column``, else the training column's name, else the column of the same
    meaning (:func:`column_of_meaning`: a CoNLL column of PTB tags pairs with CoNLL-U
    XPOS).  Every dev tag must be a training tag: a dev tag the model can never predict
    makes early stopping score a model on what it cannot learn, so it is refused here,
    naming the tags and the files, rather than failing after training."""
    option = "--dev-tag-column" if dev_column is not None else "--tag-column (dev)"
    if dev_column is not None:
        _, labels = gold_labels(dev_corpus, dev_column, "--dev-tag-column")
    elif column in dev_corpus.columns and column != dev_corpus.word_column:
        labels = dev_corpus.columns[column]
    else:
        name, found = column_of_meaning(dev_corpus, meaning)
        if name is None or found is None:
            found = dev_corpus.columns[label_column(dev_corpus, None, option)]
        labels = found
    known = {t for s in tags for t in s}
    flat = [t for s in labels for t in s]
    unseen = sorted(set(flat) - known)
    if unseen:
        n_tokens = sum(t not in known for t in flat)
        shown = ", ".join(map(repr, unseen[:8])) + (" ..." if len(unseen) > 8 else "")
        raise CommandError(f"--dev {' '.join(files) or 'data'}: {len(unseen)} tag(s) on "
                           f"{n_tokens} token(s) are not tags of the training data "
                           f"({len(known)} tags): {shown}; give dev data tagged with the "
                           f"same tag set, or the right column with --dev-tag-column")
    return labels


def _read_unlabeled(paths, fmt=None, max_tokens=None):
    """The sentences of the --unlabeled files as a stream the HMMs' training reads once
    (:class:`hmmtl.io.text.TokenStream`): tokenized or raw text, JSON lines, gzip, CoNLL
    (:func:`iter_text_sentences`, the one reader of unlabeled text); each file's format
    told as for every other input, and the first file's checked before any training."""
    from ..io.text import TokenStream
    from ._common import iter_text_sentences

    if next(iter_text_sentences(paths[:1], fmt), None) is None:
        raise CommandError(f"--unlabeled {paths[0]}: no sentence")
    return TokenStream(lambda: iter_text_sentences(paths, fmt), max_tokens)


#: --hmm-param values read as numbers (the others stay strings)
_NUMERIC = ("n_hmms", "n_states", "n_iter", "min_count", "max_vocab", "batch_size", "kbest",
            "neighbours", "n_init", "tol", "stepsize_alpha", "start_prior",
            "transition_prior", "emission_prior")


def _hmm_params(items) -> dict:
    """``--hmm-param KEY=VALUE`` settings as a dict (numbers read as numbers)."""
    params: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--hmm-param {item!r}: expected KEY=VALUE, e.g. n_iter=5")
        if key in _NUMERIC:
            try:
                number = float(value)
            except ValueError:
                raise CommandError(f"--hmm-param {item!r}: {key} takes a number") from None
            params[key] = int(number) if number.is_integer() and key not in (
                "tol", "stepsize_alpha") and not key.endswith("_prior") else number
        elif value.lower() in ("true", "false"):
            params[key] = value.lower() == "true"
        else:
            params[key] = value
    return params
