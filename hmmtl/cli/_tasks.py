"""Several tasks in one model from the command line: ``hmmtl train --tasks``, and the
per-task columns of ``hmmtl tag`` and ``hmmtl evaluate`` for a
:class:`~hmmtl.transfer.multitask.MultiTaskTagger`.

``hmmtl tag`` tags every task through the tagging door (:mod:`hmmtl.tagging`).

``--tasks NAME=COL,NAME=COL`` names each task and the column of its labels (a 0-based
index or a column name; in CoNLL-U the name alone: ``pos`` is XPOS, ``upos`` UPOS,
``chunk`` MISC ``Chunk=``, ``ner`` MISC ``NE=``, the one column rule of
:mod:`hmmtl.io.columns`).  Given once, it applies to every ``--train`` file; given once per
``--train`` file, the i-th applies to the i-th file, so each corpus carries the tasks it
has (CoNLL-2000: POS and chunks; CoNLL-2003: POS, chunks, entities; EWT: POS).

``--input-columns NAME=COL,...`` names columns of the training files that the tasks read as
features (the POS column of CoNLL-2000 for the chunker); the model records them, and ``hmmtl
tag`` / ``hmmtl evaluate`` then read them from their input, as for a single-task model that
reads input columns.
"""

from __future__ import annotations

import argparse
from typing import Any, NamedTuple

from ..tagging.door import is_multi_task
from ._common import (CommandError, check_output, column_arg, corpus_sources, data_dir,
                      gold_labels, input_files, log, read_corpus, save_model,
                      unlabeled_files)

__all__ = ["parse_tasks", "train_tasks", "task_gold", "is_multi_task"]


def parse_tasks(text: str) -> dict:
    """``"pos=1,chunk=2,ner=3"`` -> ``{"pos": 1, "chunk": 2, "ner": 3}``; a task without
    ``=COL`` (``"pos,chunk"``) is read from the column of its meaning (``None``)."""
    tasks = {}
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        name, _, column = part.partition("=")
        name = name.strip()
        if not name or ":" in name:
            raise CommandError(f"--tasks {text!r}: {part!r} is not NAME or NAME=COLUMN; "
                               f"e.g. --tasks pos=1,chunk=2,ner=3")
        if name in tasks:
            raise CommandError(f"--tasks {text!r}: task {name!r} is given twice")
        try:
            tasks[name] = column_arg(column.strip()) if column.strip() else None
        except argparse.ArgumentTypeError as exc:  # say which option
            raise CommandError(f"--tasks {text!r}: column {column!r} of {name!r}: {exc}") \
                from None
    if not tasks:
        raise CommandError(f"--tasks {text!r} names no task; e.g. --tasks pos=1,chunk=2")
    return tasks


def parse_cascade(text: str):
    """``--cascade``: ``"auto"`` -> ``"auto"``, ``"all"`` -> True, ``"none"`` -> False,
    ``"chunk:pos,ner:pos+chunk"`` -> ``{"chunk": ["pos"], "ner": ["pos", "chunk"]}``
    (MultiTaskTagger's ``cascade``)."""
    text = str(text).strip()
    if text == "auto":
        return text
    if text in ("all", "none"):
        return text == "all"
    out: dict = {}
    for part in (p.strip() for p in text.split(",")):
        task, sep, earlier = part.partition(":")
        reads = [t.strip() for t in earlier.split("+")]
        if not sep or not task.strip() or not all(reads) or task.strip() in out:
            raise CommandError(f"--cascade {text!r}: expected auto, all, none or "
                               f"TASK:EARLIER+EARLIER,... (e.g. chunk:pos,ner:pos+chunk), "
                               f"got {part!r}")
        out[task.strip()] = reads
    return out


def _task_labels(corpus, name: str, column, spec: str) -> list:
    """The labels of task ``name`` in ``corpus``: column ``column`` when given, else the
    column of the task's meaning (CoNLL-U: XPOS, UPOS, MISC ``Chunk=`` / ``NE=``)."""
    from ._common import input_column

    if column is not None:
        try:
            _, labels = gold_labels(corpus, column, f"--tasks {spec}")
        except CommandError as exc:
            raise CommandError(f"{exc} (the column of task {name!r}; "
                               f"{corpus.source or 'the data'} has {len(corpus.columns)} "
                               f"columns)") from None
        return labels
    labels = input_column(corpus, name, None)
    if labels is None:
        raise CommandError(f"--tasks {spec}: {corpus.source or 'the data'} has no column for "
                           f"task {name!r}; give its column, e.g. {name}=2")
    return labels


def train_tasks(args, labeler_params: dict) -> int:
    """``hmmtl train --tasks``: one :class:`MultiTaskTagger` from every ``--train`` file and
    the tasks each one carries."""
    sources = corpus_sources(args.train, args.format, "--train")
    if len(args.tasks) not in (1, len(sources)):
        raise CommandError(f"--tasks is given {len(args.tasks)} times for {len(sources)} "
                           f"--train source(s): give it once (every file carries the same "
                           f"tasks) or once per --train file, in the same order")
    for option in ("hmm", "dev", "represent", "preset", "tag_column", "hmm_param"):
        if getattr(args, option, None):
            flag = "--" + option.replace("_", "-")
            raise CommandError(f"{flag} is not yet supported with --tasks or "
                               f"--input-columns; leave it out")
    if getattr(args, "unlabeled_max_tokens", None) and not args.unlabeled:
        raise CommandError("--unlabeled-max-tokens is a setting of --unlabeled: give the "
                           "text with --unlabeled FILE")
    if args.algorithm == "perceptron":
        raise CommandError("--tasks and --input-columns train CRFs (and, with --algorithm "
                           "recognizer, the recognizer for the ner task); leave out "
                           "--algorithm perceptron")
    recognize = args.algorithm == "recognizer"
    args.unlabeled = unlabeled_files(args.unlabeled, sources)
    check_output(args.out, "model", inputs=input_files(sources, args.unlabeled,
                                                       [args.lexicon] if args.lexicon else []))
    specs = args.tasks * len(sources) if len(args.tasks) == 1 else args.tasks
    folder = data_dir(args.data)
    X: list = []
    per_file: list = []
    documents: list = []
    wanted = parse_tasks(args.input_columns) if getattr(args, "input_columns", None) else {}
    inputs: dict = {name: [] for name in wanted}
    for k, (source, spec) in enumerate(zip(sources, specs)):
        tasks = parse_tasks(spec)
        corpus = read_corpus([source], data_dir=folder)
        per_file.append((len(X), len(corpus.sentences),
                         {t: _task_labels(corpus, t, c, spec) for t, c in tasks.items()}))
        for name, column in wanted.items():
            inputs[name] += _task_labels(corpus, name, column, f"--input-columns "
                                                              f"{args.input_columns}")
        X += corpus.sentences
        documents += [(k, d) for d in corpus.doc_ids]  # a file's documents are its own
    if not X:
        raise CommandError("no sentences in the training data")
    names = list(dict.fromkeys(t for _, _, labels in per_file for t in labels))
    if recognize and "ner" not in names:
        raise CommandError(f"--algorithm recognizer labels the task named ner; --tasks names "
                           f"{', '.join(names)}")
    y = {t: [None] * len(X) for t in names}
    for start, n, labels in per_file:
        for t, values in labels.items():
            y[t][start:start + n] = values
    from ..transfer.multitask import MultiTaskTagger

    params = {k: v for k, v in labeler_params.items()
              if k not in ("task", "random_state", "verbose")}
    cascade = parse_cascade(getattr(args, "cascade", "auto"))
    unknown = sorted({t for k, v in (cascade.items() if isinstance(cascade, dict) else ())
                      for t in [k, *v]} - set(names))
    if unknown:
        raise CommandError(f"--cascade {args.cascade}: {', '.join(unknown)} is no task of "
                           f"--tasks ({', '.join(names)})")
    shared = _shared_representations(args, X, recognize, folder)  # minutes on large text
    model = MultiTaskTagger(labeler_params=params or None, n_folds=args.folds, cascade=cascade,
                            notation=args.notation, random_state=args.seed,
                            verbose=not args.quiet,
                            columns={k: (v if isinstance(v, int) else None)
                                     for k, v in wanted.items()} or None,
                            **shared.params)
    log(args, f"training {len(names)} tasks ({', '.join(names)}) on {len(X)} sentences, "
              f"{sum(map(len, X))} tokens" + shared.message)
    try:
        model.fit(X, y, columns=inputs or None,
                  documents=documents if len(set(documents)) > 1 else None,
                  unlabeled=shared.text)
    except ValueError as exc:  # a cascade the task order or the recognizer cannot take
        if not (recognize or isinstance(cascade, dict)):
            raise
        raise CommandError(f"--tasks {' '.join(args.tasks)} --cascade {args.cascade}"
                           + (" --algorithm recognizer" if recognize else "")
                           + f": {exc}") from None
    columns = {t: c for spec in specs for t, c in parse_tasks(spec).items()}
    save_model(model, args.out, args, info={"tasks": columns,
                                            "task_meanings": task_meanings(model)})
    return 0


class _Shared(NamedTuple):
    """What the tasks of ``hmmtl train --tasks`` share beyond the featurization: the
    MultiTaskTagger's ``clusters`` / ``hmm`` / ``task_models`` parameters, the unlabeled
    sentences (a stream of the files, read again by the recognizer's case table and
    automatic lists; None without) and a line for the log."""
    params: dict
    text: Any
    message: str


def _shared_representations(args, X: list, recognize: bool, folder) -> _Shared:
    """With ``--unlabeled`` or ``--algorithm recognizer``: Brown clusters and an HMM (the
    recognizer's recipe) learned once on the training words plus the unlabeled text, read
    by every task; with ``--algorithm recognizer`` the ner task is the recognizer (NLTK's
    gazetteers from ``--data``, ``--lexicon``) over the same clusters and HMM."""
    from ._ner_recipe import (nltk_gazetteer, read_lexicon, recognizer,
                              unlabeled_sentences)
    from ._ner_recipe import representations as learn

    if not args.unlabeled and not recognize:
        return _Shared({}, None, "")
    text = unlabeled_sentences(args.unlabeled, args.text_format,
                               getattr(args, "unlabeled_max_tokens", None))
    clusters, hmm, _ = learned = learn(X, text, args)
    n_text = getattr(text, "n_sentences", 0)  # read by now
    params: dict = {"clusters": clusters, "hmm": hmm}
    message = (", Brown clusters and an HMM on them" + (f" and {n_text} unlabeled "
                                                          f"sentences" if n_text else ""))
    if recognize:
        lexicon = read_lexicon(args.lexicon)
        gazetteer = nltk_gazetteer(folder)
        params["task_models"] = {"ner": recognizer(learned, {}, gazetteer, lexicon, args)}
        message += ("; ner: the recognizer" + ("" if gazetteer is None else
                                              ", NLTK gazetteers")
                    + ("" if lexicon is None else f", {lexicon.n_entries} lexicon entries"))
    return _Shared(params, text if n_text else None, message)


def task_meanings(model) -> dict:
    """What each task's tags are (upos, xpos, chunk, ner, or None): told by its labels,
    else by its name (:func:`hmmtl.tagging.door.task_meanings`)."""
    from ..tagging.door import task_meanings as meanings

    return meanings(model)


def task_gold(args, model, info):
    """What ``hmmtl evaluate`` scores a multi-task model on: the test words, the gold labels
    of every task the test data has (``{task: labels}``, found by the one column rule: the
    column ``--tasks`` named in training, or the column of the task's meaning) and the
    model's predictions of those tasks."""
    from ._common import input_column

    if args.tag_column is not None:
        raise CommandError("--tag-column chooses one column; a multi-task model is scored on "
                           "each task's column (as --tasks named it in training)")
    given = getattr(args, "tasks", None)
    if given is not None:  # the test files' columns, named here
        columns = parse_tasks(given)
        unknown = sorted(set(columns) - set(model.tasks_))
        if unknown:
            raise CommandError(f"--tasks {given}: {unknown} are not tasks of {args.model} "
                               f"(its tasks: {', '.join(model.tasks_)})")
    else:
        columns = (info or {}).get("tasks") or {}
    corpus = read_corpus(corpus_sources(args.test, args.format, "--test"),
                         data_dir=data_dir(args.data))
    words = corpus.sentences
    gold = {}
    for task in model.tasks_:
        column = columns.get(task)
        labels = input_column(corpus, task, column if isinstance(column, int) else None)
        if labels is None and isinstance(column, str) and column in corpus.columns:
            labels = corpus.columns[column]
        if labels is not None:
            gold[task] = labels
    if not gold:
        raise CommandError(f"{corpus.source or 'the test data'} has no column of the tasks "
                           f"{model.tasks_} (columns {columns}); give a file with them, or "
                           f"name them: --tasks {','.join(f'{t}=COL' for t in model.tasks_)}")
    from ..tagging.door import TaggingError, model_inputs

    try:
        inputs = model_inputs(model, corpus)
    except TaggingError as exc:
        raise CommandError(str(exc)) from None
    return words, gold, model.predict(words, tasks=list(gold), **inputs)
