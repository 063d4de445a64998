"""The tagging door: what a fitted model reads from a corpus, the tags it gives, and the
column they go to.

Every way of tagging -- :func:`hmmtl.tagging.tag`, ``hmmtl tag`` (files, standard input,
raw text), ``hmmtl tag --dask`` / ``--spark``, :func:`hmmtl.tagging.dask.tag_to_shards` and
the Spark ML stage :class:`hmmtl.tagging.spark.HmmtlTagger` -- goes through the functions
here, so that they read the same input columns, documents and domains, write the tags to the
same column (the one column rule of :mod:`hmmtl.io.columns`) and map bracket and quote
notation the same way, once per input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from ..io.notation import Notation

__all__ = ["TaggingError", "Plan", "is_multi_task", "is_hmm", "model_labels", "model_meaning",
           "task_meanings", "takes_domains", "input_column", "input_places", "model_inputs",
           "with_notation", "predict", "predict_flat", "conllu_column", "place",
           "needs_notation", "tag_notation",
           "plan",
           "tag_corpus"]

#: a CoNLL column a model was trained on, as CoNLL-U names it
CONLLU_NAMES = {"pos": "xpos", "tag": "xpos"}


class TaggingError(ValueError):
    """A model and an input that do not fit (a column the model reads is missing, the tags
    have nowhere to go); the message says what to give."""


# ---------------------------------------------------------------------------- the model
def is_multi_task(model) -> bool:
    """A model that tags several tasks at once (``predict`` gives ``{task: tags}``)."""
    return type(model).__name__ == "MultiTaskTagger"


def is_hmm(model) -> bool:
    """An HMM: its tags are hidden states (numbers), which have no meaning of their own."""
    return hasattr(model, "n_states") and model_labels(model) is None


def model_labels(model) -> list | None:
    """The labels a model predicts (its label set; a recognizer's from its entity types),
    None when the model does not say."""
    for obj in (model, getattr(model, "labeler_", None)):
        labels = getattr(obj, "labels_", None)
        if labels is not None:
            return [str(x) for x in getattr(labels, "labels", labels)]
    types = getattr(model, "entity_types_", None)
    if types is not None:
        return ["O"] + [f"{p}-{t}" for t in types for p in "BI"]
    return None


def model_meaning(model, info: dict | None) -> str | None:
    """What a model's tags are (``upos``, ``xpos``, ``chunk``, ``ner``): as its file records
    it (``tag_meaning``, or a ``tag_column`` with a meaning: ``pos`` is XPOS), else as its
    label set tells (:func:`hmmtl.io.columns.tag_meaning`), else None.  The one rule of
    tagging and of ``hmmtl evaluate``."""
    from ..io.columns import MEANINGS, meaning_of, tag_meaning

    recorded = (info or {}).get("tag_meaning")
    if recorded in MEANINGS:
        return recorded
    meaning = meaning_of((info or {}).get("tag_column"))
    if meaning is not None:
        return meaning
    labels = model_labels(model)
    return tag_meaning(labels) if labels else None


def task_meanings(model, info: dict | None = None) -> dict:
    """What each task of a multi-task model tags (upos, xpos, chunk, ner, or None): as its
    file records it (``task_meanings``), else told by the task's labels, else by its name."""
    from ..io.columns import meaning_of, tag_meaning

    recorded = (info or {}).get("task_meanings") or {}
    out = {}
    for task in model.tasks_:
        labels = model_labels(model.labelers_[task])
        told = tag_meaning(labels) if labels else None
        found = told if told is not None else meaning_of(task)
        out[task] = recorded.get(task, found)
    return out


def takes_domains(model) -> bool:
    """A model whose ``predict`` uses each sentence's domain (a DomainAugmentedCRF, a
    MultiDomainHMM)."""
    return hasattr(model, "domains_") or hasattr(model, "n_domains")


def input_column(corpus, name: str, index):
    """The column ``name`` of a model's ``input_columns_`` (trained on column ``index`` of
    a CoNLL file, or None) in ``corpus``, by the one column rule (:mod:`hmmtl.io.columns`):
    a column of that name; in CoNLL-U, the column of its meaning (``pos`` -> XPOS,
    ``chunk`` -> MISC ``Chunk=``, ``ner`` -> MISC ``NE=``), never ID or FORM; in other
    formats, the trained index.  None when the corpus has none."""
    from ..io.columns import MISC_KEYS, meaning_of, misc_values

    if corpus.format == "conllu":
        if name in corpus.columns and name not in ("id", "form"):
            return corpus.columns[name]
        meaning = meaning_of(name)
        if meaning in ("upos", "xpos"):
            column = corpus.columns[meaning]
            empty = all(t == "_" for s in column for t in s)
            return None if empty else column
        if meaning in MISC_KEYS:
            return misc_values(corpus.columns["misc"], MISC_KEYS[meaning])
        return None
    if name in corpus.columns and name != corpus.word_column:
        return corpus.columns[name]
    if index is not None and 0 < index < len(corpus.columns):
        return corpus.column(index)
    return None


def input_places(model, fmt: str) -> set:
    """The CoNLL-U columns (``xpos``, ``misc:Chunk`` ...) a model reads, which its
    predictions never overwrite unless a column is chosen."""
    from ..io.columns import conllu_place, meaning_of

    if fmt != "conllu":
        return set()
    wanted = getattr(model, "input_columns_", None) or {}
    return {conllu_place(meaning_of(n)) or n for n in wanted}


def model_inputs(model, corpus) -> dict:
    """What a model reads from a corpus besides the words, as keyword arguments of its
    ``predict``: the columns it declares in ``input_columns_`` (name -> 0-based column index
    of the file it was trained on, or None), found by :func:`input_column`; when
    ``uses_documents_`` is true, the document of each sentence; for a model that takes
    domains (:func:`takes_domains`), the domain of each sentence."""
    kwargs: dict[str, Any] = {}
    wanted = getattr(model, "input_columns_", None) or {}
    if wanted:
        if corpus is None:
            raise TaggingError(f"this {type(model).__name__} reads the input column(s) "
                               f"{', '.join(wanted)}: give a CoNLL or CoNLL-U file that has "
                               f"them")
        columns = {}
        for name, index in wanted.items():
            found = input_column(corpus, name, index)
            if found is None:
                where = (f"column {index} of its CoNLL training files" if index is not None
                         else "its training data named it so, without a column number")
                if corpus.format == "conllu":
                    from ..io.columns import conllu_place, meaning_of

                    at = conllu_place(meaning_of(name))
                    hint = (f"CoNLL-U keeps it in {at.upper() if ':' not in at else at}"
                            if at else "CoNLL-U has no column of that meaning")
                else:
                    hint = f"the input has {len(corpus.columns)} columns"
                raise TaggingError(f"{corpus.source or 'the input'}: this "
                                   f"{type(model).__name__} reads the column {name!r} "
                                   f"({where}), which the input does not have ({hint}); give "
                                   f"a file with that column")
            columns[name] = found
        kwargs["columns"] = columns
    if corpus is not None and getattr(model, "uses_documents_", False):
        kwargs["documents"] = list(corpus.doc_ids)
    if corpus is not None and takes_domains(model) and corpus.domains is not None:
        kwargs["domains"] = [None if d is None else str(d) for d in corpus.domains]
    return kwargs


def with_notation(model, notation: str):
    """``model`` as ``notation`` asks: with ``"keep"``, a shallow copy that takes words as
    written (the model itself is left as loaded, e.g. one cached per worker process)."""
    if notation not in ("auto", "keep"):
        raise ValueError(f"notation must be 'auto' or 'keep', got {notation!r}")
    if notation != "keep" or "notation" not in model.get_params():
        return model
    import copy

    model = copy.copy(model)
    model.set_params(notation="keep")
    return model


# ---------------------------------------------------------------------------- the tags
def _as_strings(tags, lengths, prefix: str) -> list[list[str]]:
    if isinstance(tags, np.ndarray):   # one flat array of tags
        if tags.shape[0] != int(lengths.sum()):
            raise ValueError(f"the model returned {tags.shape[0]} tags for "
                             f"{int(lengths.sum())} tokens")
        flat = [f"{prefix}{t}" for t in tags.tolist()]
        bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    if not prefix:  # str() of each tag by a C-level map: no Python loop per token
        return [list(map(str, row)) for row in tags]
    return [[f"{prefix}{t}" for t in row] for row in tags]


def predict_flat(model, sentences=None, *, flat: list | None = None, lengths=None
                 ) -> list[str]:
    """:func:`predict`'s tags of a single-task model end to end, one flat list (for the
    writers of raw text, which write tokens in a row): a model with a flat path of its own
    (``_predict_flat``: the Tagger) gives them without cutting them into sentences.

    The sentences are token lists, or come flat (as raw text is split): ``flat`` the tokens
    end to end and ``lengths`` the tokens of each sentence; the Tagger then never makes
    token lists of them."""
    import itertools

    from ..data import unflatten

    def strings(tags: list) -> list[str]:  # str itself, not a subclass
        return tags if all(type(t) is str for t in set(tags)) else list(map(str, tags))

    flat_path = None if is_multi_task(model) else getattr(model, "_predict_flat", None)
    if sentences is None:
        if flat is None or lengths is None:
            raise TypeError("predict_flat takes sentences, or flat and lengths")
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.ndim != 1 or (lengths < 0).any() or int(lengths.sum()) != len(flat):
            raise ValueError(f"lengths must be the tokens of each sentence, adding up to the "
                             f"{len(flat)} tokens of flat")
        offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if flat_path is not None:
            return strings(flat_path(flat=flat, offsets=offsets))
        sentences = unflatten(flat, offsets)
    if flat_path is None:
        return list(itertools.chain.from_iterable(predict(model, sentences)))
    return strings(flat_path(sentences))


def predict(model, sentences, corpus=None, *, kind: str = "viterbi", prefix: str = ""):
    """The model's tags of ``sentences`` as strings, one list per sentence (a dict of them
    per task for a multi-task model): the single adapter every way of tagging calls.

    Parameters
    ----------
    model : fitted labeler or HMM
    sentences : list of token lists
        The words (of ``corpus`` when given).
    corpus : hmmtl.io.Corpus, optional
        Where the other inputs of the model come from (:func:`model_inputs`): its input
        columns, documents and domains.
    kind : {"viterbi", "posterior", "type"}
        For an HMM: ``predict`` (Viterbi), or the most probable state of
        ``transform(kind=)``.
    prefix : str
        Put before each tag (``"S"`` gives ``S12`` for an HMM's state 12).
    """
    if kind not in ("viterbi", "posterior", "type"):
        raise ValueError(f"kind must be 'viterbi', 'posterior' or 'type', got {kind!r}")
    if is_multi_task(model):
        if not sentences:
            return {t: [] for t in model.tasks_}
        return {t: [[f"{prefix}{x}" for x in row] for row in tags]
                for t, tags in model.predict(sentences,
                                             **model_inputs(model, corpus)).items()}
    if not sentences:
        return []
    extra = model_inputs(model, corpus)
    if kind == "viterbi":
        tags = model.predict(sentences, **extra)
    else:
        tags = model.transform(sentences, kind=kind, **extra)
        if isinstance(tags, np.ndarray) and tags.ndim == 2:
            tags = tags.argmax(axis=1)   # posterior or type distribution -> its best state
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    return _as_strings(tags, lengths, prefix)


# ---------------------------------------------------------------------------- the column
def conllu_column(model, info: dict | None, column=None, model_name: str = "the model") -> str:
    """The CoNLL-U column the tags of a single-task model go to (``misc:NE`` for a key of
    MISC).

    ``column`` when given (never ID or FORM; ``ner`` / ``chunk`` are MISC keys); else the
    CoNLL-U column the model was trained on, else the place of the model's tag meaning
    (:func:`model_meaning`: recorded, else told by its label set): UPOS, XPOS, MISC ``NE=``
    for entities, MISC ``Chunk=`` for chunks; an HMM's states (no meaning) go to XPOS.
    Without ``column`` the tags never go to a column the model reads, and a labeler whose
    tags say nothing is refused rather than written over XPOS."""
    from ..io import CONLLU_COLUMNS
    from ..io.columns import conllu_place, meaning_of

    if column is not None:
        if isinstance(column, int):
            if column < 2 or column >= len(CONLLU_COLUMNS):
                raise TaggingError(f"column {column}: not a tag column of CoNLL-U (2-9)")
            return CONLLU_COLUMNS[column]
        if column.lower().startswith("misc:") and len(column) > 5:
            return "misc:" + column[5:]
        if column.lower() in CONLLU_COLUMNS:
            return column.lower()
        at = conllu_place(meaning_of(column))
        if at is None:
            raise TaggingError(f"--tag-column {column!r}: CoNLL-U has no such column; give "
                               f"one of {', '.join(CONLLU_COLUMNS[2:])} or misc:KEY")
        return at
    trained = (info or {}).get("tag_column")
    if isinstance(trained, str) and trained.lower() in CONLLU_COLUMNS[2:]:
        at = trained.lower()
    else:
        at = conllu_place(model_meaning(model, info))
        if at is None and is_hmm(model):
            at = "xpos"
        if at is None:
            shown = f"was trained on column {trained!r}" if trained is not None else \
                "records no tag column"
            raise TaggingError(f"the model {model_name} {shown}, and its labels do not tell "
                               f"what they are (UD or Penn Treebank POS tags, chunks, "
                               f"entities); give --tag-column (upos, xpos, misc:NE ...)")
    if at in input_places(model, "conllu"):
        raise TaggingError(f"the model {model_name} reads the column {at} that its "
                           f"predictions would go to; give --tag-column to choose where "
                           f"they go")
    return at


def place(model, info: dict | None, fmt: str, column=None, model_name: str = "the model"):
    """Where the tags of one input of format ``fmt`` go: for a single-task model, a
    CoNLL-U column (:func:`conllu_column`), or for CoNLL the column ``column`` (None: a new
    last column); for a multi-task model, ``{task: meaning}`` (CoNLL-U: each task in the
    column of its meaning, else MISC ``task=``; CoNLL: one new column per task)."""
    if is_multi_task(model):
        if column is not None:
            raise TaggingError("--tag-column chooses one column; a multi-task model writes "
                               "one per task (CoNLL: appended; CoNLL-U: by each task's "
                               "meaning)")
        return task_meanings(model, info)
    if fmt == "conllu":
        return conllu_column(model, info, column, model_name)
    return column


# ---------------------------------------------------------------------------- notation
def _mapping(own, found):
    from ..io.notation import Notation

    mapping = Notation(tag_brackets=found.tag_brackets if found.tag_brackets
                       and found.tag_brackets != own.tag_brackets else None,
                       tag_quotes=found.tag_quotes if found.tag_quotes
                       and found.tag_quotes != own.tag_quotes else None)
    return mapping if mapping else None


def needs_notation(model, fmt: str, where):
    """The column whose notation decides how tags are written (None: nothing to map)."""
    own = getattr(model, "notation_", None)
    if is_multi_task(model) or fmt == "text" or not (own and (own.tag_brackets or
                                                           own.tag_quotes)):
        return None
    if where is None:
        return "xpos" if fmt == "conllu" else None  # a new CoNLL column: the model's notation
    if isinstance(where, str) and where.startswith("misc:"):
        return None  # MISC holds no bracket or quote tags
    return where


def tag_notation(model, fmt: str, where, source):
    """How the input's own tag column ``where`` writes bracket and quote tags, when the
    model's tags are written another way: the :class:`~hmmtl.io.notation.Notation` to map
    predicted tags with, or None.  ``source`` is a :class:`~hmmtl.io.Corpus` or the lines
    of a whole file (read once here: decided for the whole input, so that a sentence's tags
    never depend on its batch)."""
    column = needs_notation(model, fmt, where)
    if column is None:
        return None
    from ..io import Corpus
    from ..io.notation import detect_notation, tag_notation_of_lines

    if isinstance(source, Corpus):
        try:
            values = source.columns[column] if column in source.columns else \
                source.column(column)
        except (KeyError, IndexError, TypeError):
            return None
        found = detect_notation(tags=values)
    else:
        found = tag_notation_of_lines(source, fmt, column)
    return _mapping(model.notation_, found)


class Plan(NamedTuple):
    """How one input is tagged: its format, where the tags go (:func:`place`), the
    notation predicted tags are written in (None: the model's own), the ``--notation``
    choice, and the prediction ``kind`` and ``prefix`` (HMMs)."""
    fmt: str
    where: Any
    notation: Notation | None = None
    keep: str = "auto"
    kind: str = "viterbi"
    prefix: str = ""


def plan(model, fmt: str, *, info: dict | None = None, column=None, notation: str = "auto",
         source=None, model_name: str = "the model", kind: str = "viterbi",
         prefix: str = "") -> Plan:
    """The :class:`Plan` of one input of format ``fmt``: where the tags go, and, with
    ``notation="auto"``, how ``source`` (the input as a Corpus or its lines) writes them."""
    where = place(model, info, fmt, column, model_name)
    mapping = None
    if notation == "auto" and source is not None:
        mapping = tag_notation(model, fmt, where, source)
    return Plan(fmt, where, mapping, notation, kind, prefix)


def tag_corpus(model, corpus, plan: Plan):
    """The tags of ``corpus`` (a list per sentence, or a dict of them per task) as the plan
    says: the model as ``plan.keep`` asks, its inputs from the corpus, tags mapped to the
    input's notation."""
    model = with_notation(model, plan.keep)
    predicted = predict(model, corpus.sentences, corpus, kind=plan.kind, prefix=plan.prefix)
    if plan.notation is not None and not isinstance(predicted, dict):
        predicted = plan.notation.map_tags(predicted)
    return predicted
