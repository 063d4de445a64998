"""``hmmtl evaluate``: token accuracy, OOV accuracy and entity F1 of a model on gold data."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._common import (CommandError, add_command, column_arg, column_of_meaning,
                      corpus_sources, data_dir, gold_labels, label_column, load_labeler,
                      model_labels, model_meaning, predict, read_corpus, with_notation)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers, "evaluate", run, "accuracy, OOV accuracy and entity F1 of a model",
        "Tag the test files and compare with their gold column: token accuracy, accuracy "
        "on words unseen in training (OOV), and entity precision / recall / F1 (conlleval "
        "semantics), overall and per entity type, when the tags are BIO / BIOES / BILOU.  "
        "Gold labels the model never saw count as errors and are listed in a warning.  A "
        "model that reads other columns of the file (POS, chunk tags) or its document "
        "boundaries gets them.",
        "examples:\n  hmmtl evaluate --model pos.hmmtl --test en_ewt-*-test.conllu "
        "--tag-column xpos --by-domain\n"
        "  hmmtl evaluate --model wsj.hmmtl --format nltk:conll2000 --test test "
        "--tag-column pos --data DIR")
    p.add_argument("--model", required=True, metavar="MODEL", help="model file")
    p.add_argument("--test", nargs="+", action="extend", required=True, metavar="FILE",
                   help="gold files ('-' for stdin) or nltk:NAME:SPLIT; with --format "
                        "nltk:NAME, split names (--format nltk:conll2000 --test test); "
                        "repeating --test adds files")
    p.add_argument("--tag-column", metavar="COL", type=column_arg,
                   help="gold column: name or 0-based index, in CoNLL-U also misc:KEY (ner "
                        "and chunk are MISC NE= and Chunk=); never the words; default: the "
                        "column the model was trained on when the test data has it, else the "
                        "column of the model's tags (upos, xpos, chunk, ner: recorded in the "
                        "model file, else told by its labels)")
    p.add_argument("--tasks", metavar="NAME=COL,...",
                   help="a multi-task model: the gold column of each task in the test files, "
                        "e.g. pos=1,chunk=2,ner=3 (default: the columns --tasks named in "
                        "training, else the column of each task's meaning)")
    p.add_argument("--format", metavar="FMT",
                   help="conllu, conll, text or nltk:NAME (default: from the file name, else "
                        "from its first lines)")
    p.add_argument("--data", metavar="DIR", help="corpora folder for nltk:NAME")
    p.add_argument("--by-domain", action="store_true", help="also report each domain")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (accuracy, oov_accuracy, n_tokens, f1, "
                        "per_type, by_domain, notation)")
    p.add_argument("--notation", choices=("auto", "keep"), default="auto",
                   help="auto (default): words are mapped to how the model's training words "
                        "write brackets and quotes, and gold bracket and quote tags are read "
                        "in the model's notation (-LRB- or (, ``/'' or \"), as the output "
                        "says; keep: words and gold tags are used as written")


def _labeler_of(model):
    return getattr(model, "labeler_", model)


def _known_words(model):
    """Words seen in labeled training, for OOV accuracy; None when the model does not say."""
    for obj in (model, _labeler_of(model)):
        known = getattr(obj, "known_words_", None)
        if known is not None:
            return known
        space = getattr(obj, "feature_space_", None)
        featurizer = getattr(space, "featurizer_", None)
        index = getattr(featurizer, "type_index", None)
        if index is not None:
            return index
        vocab = getattr(obj, "vocabulary_", None)
        if vocab is not None and hasattr(vocab, "__contains__"):
            return vocab
    return None


def _model_labels(model):
    labels = model_labels(model)
    return None if labels is None else set(labels)


def _is_bio(labels) -> bool:
    labels = {lab for lab in labels if lab is not None}
    return bool(labels) and all(lab == "O" or (len(lab) > 2 and lab[1] == "-" and
                                               lab[0] in "BIESLU") for lab in labels) \
        and any(lab != "O" for lab in labels)


def _scores(gold, predicted, words, known, entities: bool) -> dict:
    import numpy as np

    from ..data import flatten
    from ..metrics import entity_scores

    g, _ = flatten(gold)
    p, _ = flatten(predicted)
    w, _ = flatten(words)
    n = len(g)
    correct = np.asarray(g, dtype=object) == np.asarray(p, dtype=object)
    out: dict[str, Any] = {"n_tokens": n, "accuracy": float(correct.mean()) if n else None}
    if known is not None:
        oov = ~np.fromiter(map(known.__contains__, w), dtype=bool, count=n)
        out["n_oov"] = int(oov.sum())
        out["oov_accuracy"] = float(correct[oov].mean()) if oov.any() else None
    else:
        out["n_oov"], out["oov_accuracy"] = None, None
    if entities:
        # conlleval's and seqeval's semantics: no gold entity gives recall 0 (and precision
        # 0 when some are predicted), not a missing row
        scores = entity_scores(gold, predicted)
        out.update(precision=scores.precision, recall=scores.recall, f1=scores.f1,
                   per_type=scores.per_type)
    return out


def gold_column(corpus, column, info: dict, model=None) -> tuple[str, list]:
    """``(name, labels)`` of the gold column: ``--tag-column``; else the column the model
    was trained on when the test data has it; else the column of the model's tag meaning
    (:func:`model_meaning`, the rule of :mod:`hmmtl.io.columns`); else the data's own label
    column (:func:`label_column`)."""
    if column is not None:
        return gold_labels(corpus, column)
    trained = info.get("tag_column")
    if isinstance(trained, str) and trained in corpus.columns and \
            trained != corpus.word_column and not (corpus.format == "conllu"
                                                   and trained in ("id", "form")):
        return trained, corpus.columns[trained]
    meaning = model_meaning(model, info) if model is not None else None
    name, labels = column_of_meaning(corpus, meaning)
    if name is not None and labels is not None:
        return name, labels
    if meaning in ("ner", "chunk") and corpus.format == "conllu":
        raise CommandError(f"{corpus.source or 'the test data'}: the model's tags are "
                           f"{'entities' if meaning == 'ner' else 'chunks'}, kept in CoNLL-U "
                           f"as MISC {'NE' if meaning == 'ner' else 'Chunk'}=, which no token "
                           f"has; give --tag-column")
    name = label_column(corpus, None)
    return name, corpus.columns[name]


def run(args: argparse.Namespace) -> int:
    from ..metrics import comparable_schemes

    folder = data_dir(args.data)
    sources = corpus_sources(args.test, args.format, "--test")
    model, info = load_labeler(args.model)
    from ._tasks import is_multi_task

    if is_multi_task(model):  # one block per task
        return _evaluate_tasks(args, model, info)
    if args.tasks is not None:
        raise CommandError(f"--tasks names the columns of a multi-task model's tasks; "
                           f"{args.model} labels one task (its gold column: --tag-column)")
    corpus = read_corpus(sources, data_dir=folder)
    _, gold = gold_column(corpus, column_arg(args.tag_column), info, model)
    words = corpus.sentences
    model = with_notation(model, args.notation)
    predicted = predict(model, words, corpus)
    notation = _model_notation(model) if args.notation == "auto" else None
    mapped = {}
    if notation is not None:
        # what the model saw and the gold tags it is scored against, in its notation
        words, gold, mapped = _in_notation(notation, words, gold, _maps_words(model))
    # one tagging scheme for gold and predictions before any token is counted
    gold, predicted, schemes = comparable_schemes(gold, predicted)
    seen = _model_labels(model)
    if seen is not None and schemes:
        # the labels were converted to IOB2: what the model knows is its chunk types
        types = {lab[2:] for lab in seen if lab != "O"}
        seen = {"O"} | {f"{p}-{t}" for t in types for p in "BI"}
    if seen is not None:
        unseen = sorted({t for s in gold for t in s} - seen)
        if unseen:
            shown = ", ".join(unseen[:20]) + (" ..." if len(unseen) > 20 else "")
            print(f"hmmtl: warning: {len(unseen)} gold label(s) never seen by the model count "
                  f"as errors: {shown}", file=sys.stderr)
    known = _known_words(model)
    entities = _is_bio(set(_flat(gold)) | set(_flat(predicted)) | set(model_labels(model) or ()))
    result = _scores(gold, predicted, words, known, entities)
    if args.by_domain:
        domains = list(corpus.domains)
        by_domain = {}
        for d in dict.fromkeys(domains):
            idx = [i for i, x in enumerate(domains) if x == d]
            by_domain[d] = _scores([gold[i] for i in idx], [predicted[i] for i in idx],
                                   [words[i] for i in idx], known, entities)
        result["by_domain"] = by_domain
    else:
        result["by_domain"] = None
    result["notation"] = mapped or None
    result["schemes"] = schemes or None
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        if mapped:
            print(f"notation: {mapped['description']}")
        if schemes:
            print(f"schemes: {schemes['description']}")
        print(_format_scores(result))
    return 0


def _flat(sequences):
    import itertools

    return itertools.chain.from_iterable(sequences)


def _maps_words(model) -> bool:
    """Whether the model maps the words it tags to its notation (not one trained or loaded
    with ``notation="keep"``)."""
    params = model.get_params() if hasattr(model, "get_params") else {}
    return params.get("notation", "auto") != "keep"


def _model_notation(model):
    """The model's notation when it records one with something to map (else None)."""
    notation = getattr(model, "notation_", None)
    return notation if notation else None


def _in_notation(notation, words, gold, map_words: bool = True):
    """Words (when the model maps the words it tags: ``map_words``) and gold tags in
    ``notation``, and what was mapped: counts and a sentence for the output."""
    import numpy as np

    from ..data import flatten

    def changed(before, after):
        if after is before:
            return 0
        a, b = (np.asarray(flatten(x)[0], dtype=object) for x in (before, after))
        return int(np.count_nonzero(a != b))

    new_words = notation.map_words(words) if map_words else words
    new_gold = notation.map_tags(gold)
    n_words, n_tags = changed(words, new_words), changed(gold, new_gold)
    if not (n_words or n_tags):
        return words, gold, {}
    if map_words:
        description = (f"{n_words} word(s) and {n_tags} gold tag(s) mapped to the model's "
                       f"notation ({notation.describe()}); --notation keep scores them as "
                       f"written")
    else:
        description = (f"{n_tags} gold tag(s) mapped to the model's notation "
                       f"({notation.describe()}); words as written (the model keeps them); "
                       f"--notation keep scores the tags as written")
    return new_words, new_gold, {"words_mapped": n_words, "gold_tags_mapped": n_tags,
                                 "model": notation.to_dict(), "description": description}


def _fmt(x, pct=True):
    if x is None:
        return "-"
    return f"{100 * x:.2f}" if pct else str(x)


def _format_scores(result: dict) -> str:
    has_f1 = "f1" in result
    head = ["domain", "tokens", "accuracy", "OOV tokens", "OOV accuracy"] + (
        ["precision", "recall", "F1"] if has_f1 else [])
    rows = []

    def row(name, r):
        cells = [name, str(r["n_tokens"]), _fmt(r["accuracy"]), _fmt(r.get("n_oov"), False),
                 _fmt(r.get("oov_accuracy"))]
        if has_f1:
            cells += [_fmt(r.get("precision")), _fmt(r.get("recall")), _fmt(r.get("f1"))]
        rows.append(cells)

    for d, r in (result.get("by_domain") or {}).items():
        row(str(d), r)
    row("all", result)
    lines = _aligned(head, rows)
    if result.get("per_type"):
        lines.append("")
        lines += _aligned(["entity type", "gold", "precision", "recall", "F1"],
                          [[t, str(s["support"]), _fmt(s["precision"]), _fmt(s["recall"]),
                            _fmt(s["f1"])] for t, s in result["per_type"].items()])
    return "\n".join(lines)


def _aligned(head, rows) -> list[str]:
    widths = [max(len(c[i]) for c in [head] + rows) for i in range(len(head))]
    return ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                      enumerate(zip(cells, widths))) for cells in [head] + rows]


def _evaluate_tasks(args, model, info) -> int:
    """A multi-task model: every task the test data has, scored as a single-task
    evaluation (:func:`hmmtl.cli._tasks.task_gold` finds the columns); ``--json`` gives
    ``{"tasks": {task: {...}}}``."""
    from ..metrics import comparable_schemes
    from ._tasks import task_gold

    words, gold, predicted = task_gold(args, model, info)
    results = {}
    for task, labels in gold.items():
        g, p, schemes = comparable_schemes(labels, predicted[task])
        entities = _is_bio(set(_flat(g)) | set(_flat(p)))
        result = _scores(g, p, words, _known_words(model.labelers_[task]), entities)
        result.update(by_domain=None, notation=None, schemes=schemes or None)
        results[task] = result
    if args.json:
        print(json.dumps({"tasks": results}, sort_keys=True))
    else:
        print("\n\n".join(f"task {task}\n{_format_scores(r)}" for task, r in results.items()))
    return 0
