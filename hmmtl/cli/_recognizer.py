"""``hmmtl train --algorithm recognizer``: the named-entity recognizer of ``hmmtl experiment
ner`` (:class:`~hmmtl.ner.NamedEntityRecognizer`, the recipe of
:data:`hmmtl.studies.ner.RECIPES` for English) trained on the user's own files: Brown
clusters and an HMM learned on the training words plus the ``--unlabeled`` text, NLTK's
gazetteers when the corpora folder has them, large name lists with ``--lexicon``, the
file's columns with ``--input-columns`` and its ``-DOCSTART-`` documents."""

from __future__ import annotations

import argparse

from ._common import CommandError, log, save_model, training_data
from ._ner_recipe import (nltk_gazetteer, read_lexicon, recognizer, representations,
                          unlabeled_sentences)

#: options of ``hmmtl train`` that the recognizer does not take
_NOT_TAKEN = {"hmm": "--hmm", "represent": "--represent", "top_k": "--top-k",
              "preset": "--preset", "hmm_param": "--hmm-param", "dev": "--dev",
              "c1": "--c1"}


def train_recognizer(args: argparse.Namespace) -> int:
    """Train and save the recognizer (see the module's description)."""
    for name, flag in _NOT_TAKEN.items():
        if getattr(args, name, None):
            raise CommandError(f"{flag} is not an option of --algorithm recognizer (it learns "
                               f"its own clusters and HMM from --unlabeled)")
    if args.unlabeled_max_tokens and not args.unlabeled:
        raise CommandError("--unlabeled-max-tokens is a setting of --unlabeled: give the "
                           "text with --unlabeled FILE")
    if args.task not in ("auto", "ner"):
        raise CommandError(f"--algorithm recognizer recognizes named entities: --task "
                           f"{args.task} does not apply")
    folder, corpus, column = training_data(args, [args.lexicon] if args.lexicon else [])
    tags = corpus.column(column)
    sentences = corpus.sentences
    columns, values = _input_columns(args.input_columns, corpus, args.tag_column)
    documents = list(corpus.doc_ids) if len(set(corpus.doc_ids)) > 1 else None
    unlabeled = unlabeled_sentences(args.unlabeled, args.text_format,
                                    args.unlabeled_max_tokens)
    lexicon = read_lexicon(args.lexicon)
    gazetteer = nltk_gazetteer(folder)
    model = recognizer(representations(sentences, unlabeled, args), columns, gazetteer,
                       lexicon, args)
    n_text = getattr(unlabeled, "n_sentences", 0)  # read by now
    log(args, f"training the recognizer on {len(sentences)} sentences, "
              f"{sum(map(len, sentences))} tokens of column {column}"
              + (f", reading columns {', '.join(columns)}" if columns else "")
              + (f", {len(set(documents))} documents" if documents else "")
              + (f", clusters and HMM on {n_text} more sentences" if n_text else "")
              + ("" if gazetteer is None else ", NLTK gazetteers")
              + ("" if lexicon is None else f", {lexicon.n_entries} lexicon entries"))
    model.fit(sentences, tags, columns=values or None, documents=documents,
              unlabeled=unlabeled if n_text else None)
    save_model(model, args.out, args, info={"tag_column": column, "tag_meaning": "ner"})
    return 0


def _input_columns(spec, corpus, tag_column) -> tuple[dict, dict]:
    """``--input-columns NAME=COL,...``: {name: column index (None: by its meaning)} for the
    model and {name: the column's labels} for training."""
    if not spec:
        return {}, {}
    from ._tasks import _task_labels, parse_tasks

    wanted = parse_tasks(spec)
    for name, col in wanted.items():
        if col is not None and str(col) == str(tag_column):
            raise CommandError(f"--input-columns {spec}: {name}={col} is the column of the "
                               f"entities (--tag-column); a model never reads its own labels")
    index = {k: (v if isinstance(v, int) else None) for k, v in wanted.items()}
    values = {k: _task_labels(corpus, k, v, f"--input-columns {spec}")
              for k, v in wanted.items()}
    return index, values
