"""``hmmtl train --algorithm recognizer``: the named-entity recognizer of ``hmmtl experiment
ner`` (:class:`~hmmtl.ner.NamedEntityRecognizer`, the recipe of
:data:`hmmtl.studies.ner.RECIPES` for English) trained on the user's own files: Brown
clusters and an HMM learned on the training words plus the ``--unlabeled`` text, NLTK's
gazetteers when the corpora folder has them, large name lists with ``--lexicon``, the
file's columns with ``--input-columns`` and its ``-DOCSTART-`` documents."""

from __future__ import annotations

import argparse
from typing import cast

from ._common import CommandError, log, save_model, training_data

#: options of ``hmmtl train`` that the recognizer does not take
_NOT_TAKEN = {"hmm": "--hmm", "represent": "--represent", "top_k": "--top-k",
              "preset": "--preset", "hmm_param": "--hmm-param", "dev": "--dev",
              "c1": "--c1", "unlabeled_max_tokens": "--unlabeled-max-tokens"}


def train_recognizer(args: argparse.Namespace) -> int:
    """Train and save the recognizer (see the module's description)."""
    for name, flag in _NOT_TAKEN.items():
        if getattr(args, name, None):
            raise CommandError(f"{flag} is not an option of --algorithm recognizer (it learns "
                               f"its own clusters and HMM from --unlabeled)")
    if args.task not in ("auto", "ner"):
        raise CommandError(f"--algorithm recognizer recognizes named entities: --task "
                           f"{args.task} does not apply")
    folder, corpus, column = training_data(args, [args.lexicon] if args.lexicon else [])
    tags = corpus.column(column)
    sentences = corpus.sentences
    columns, values = _input_columns(args.input_columns, corpus, args.tag_column)
    documents = list(corpus.doc_ids) if len(set(corpus.doc_ids)) > 1 else None
    unlabeled = _unlabeled(args.unlabeled, args.text_format)
    lexicon = read_lexicon(args.lexicon)
    gazetteer = _nltk_gazetteer(folder)
    model = recognizer(representations(sentences + unlabeled, args), columns, gazetteer,
                       lexicon, args)
    log(args, f"training the recognizer on {len(sentences)} sentences, "
              f"{sum(map(len, sentences))} tokens of column {column}"
              + (f", reading columns {', '.join(columns)}" if columns else "")
              + (f", {len(set(documents))} documents" if documents else "")
              + (f", clusters and HMM on {len(unlabeled)} more sentences" if unlabeled
                 else "")
              + ("" if gazetteer is None else ", NLTK gazetteers")
              + ("" if lexicon is None else f", {lexicon.n_entries} lexicon entries"))
    model.fit(sentences, tags, columns=values or None, documents=documents,
              unlabeled=unlabeled or None)
    save_model(model, args.out, args, info={"tag_column": column, "tag_meaning": "ner"})
    return 0


def read_lexicon(path):
    """The ``--lexicon`` name lists (a folder or a lexicon model file), or None."""
    if not path:
        return None
    from ..studies.ner import read_lexicon as read

    try:
        return read(path)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(f"--lexicon {path}: {exc}") from None


def representations(text, args) -> tuple:
    """The Brown clusters and the HMM of the NER study's English recipe
    (:data:`hmmtl.studies.ner.RECIPES`), learned on ``text`` (token lists)."""
    from ..studies.ner import HMM_ITERATIONS, RECIPES, _clusters, _hmm

    recipe = RECIPES["eng"]
    progress = not args.quiet
    return (_clusters(text, recipe["clusters"], progress),
            _hmm(text, recipe["hmm_states"], HMM_ITERATIONS, progress))


def recognizer(learned: tuple, columns: dict, gazetteer, lexicon, args):
    """The English recipe of the NER study (:data:`hmmtl.studies.ner.RECIPES`) with the
    clusters and HMM of :func:`representations`."""
    from ..ner import NamedEntityRecognizer
    from ..studies.ner import COMMON, RECIPES

    recipe = RECIPES["eng"]
    progress = not args.quiet
    clusters, hmm = learned
    labeler_params: dict = {**cast(dict, COMMON["labeler_params"])}
    if args.max_iter is not None:
        labeler_params["max_iterations"] = args.max_iter
    if args.c2 is not None:
        labeler_params["c2"] = args.c2
    return NamedEntityRecognizer(
        **{**COMMON, "labeler_params": labeler_params}, columns=columns, clusters=clusters,
        hmm=hmm, gazetteer=gazetteer, auto_lists=recipe["recognizer"]["auto_lists"],
        lexicon=lexicon, random_state=args.seed, verbose=progress)


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


def _unlabeled(paths, fmt) -> list:
    """The sentences of the ``--unlabeled`` files (the clusters, the HMM and the automatic
    lists learn from them), read by the one reader of unlabeled text."""
    if not paths:
        return []
    from ._common import iter_text_sentences

    out = list(iter_text_sentences(paths, fmt))
    if not out:
        raise CommandError(f"--unlabeled {' '.join(map(str, paths))}: no sentence")
    return out


def _nltk_gazetteer(folder):
    """NLTK's gazetteers and first names when the corpora folder has them, else None."""
    if folder is None:
        return None
    from ..ner.gazetteers import Gazetteer, load_nltk_gazetteers

    try:
        return Gazetteer(load_nltk_gazetteers(folder))
    except FileNotFoundError:
        return None
