"""Tagging: one door for every model and every way of running it.

:func:`tag` takes any fitted model (a labeler, a Tagger, a recognizer, a multi-task model,
an HMM) and a corpus as :mod:`hmmtl.io` reads it, and returns the tags and the column they
go to, by the one column rule of :mod:`hmmtl.io.columns`: the model reads the input columns
it was trained with, the documents and the domains of the corpus; its tags go to the column
of their meaning (CoNLL-U: UPOS, XPOS, MISC ``NE=`` / ``Chunk=``; CoNLL: a new last column);
bracket and quote tags are written as the corpus's own tag column writes them.

``hmmtl tag`` (files, standard input, raw text), ``hmmtl tag --dask`` and ``--spark``, the
Dask helpers of :mod:`hmmtl.tagging.dask` and the Spark ML stage of
:mod:`hmmtl.tagging.spark` all call the same functions (:mod:`hmmtl.tagging.door`,
:mod:`hmmtl.tagging.files`), so they write the same bytes for the same input.

Examples
--------
>>> from hmmtl.crf import LinearChainCRF
>>> from hmmtl.io import read_conll
>>> from hmmtl.tagging import tag, write
>>> crf = LinearChainCRF(max_iterations=20).fit([["the", "dog", "barks"]],
...                                             [["DT", "NN", "VBZ"]])
>>> corpus = read_conll(["the\\tDT\\n", "cat\\tNN\\n", "barks\\tVBZ\\n"])
>>> tagged = tag(crf, corpus)
>>> tagged.tags, tagged.where is None     # CoNLL: a new last column
([['DT', 'NN', 'VBZ']], True)
"""

from __future__ import annotations

import os
from typing import NamedTuple

from .door import (Plan, TaggingError, input_column, input_places, is_multi_task, model_inputs,
                   model_labels, model_meaning, place, plan, predict, tag_corpus,
                   task_meanings, with_notation)
from .files import cached_model, chunks_of_lines, tag_file, tag_stream, write_tagged

__all__ = ["tag", "write", "Tagged", "Plan", "TaggingError", "predict", "plan", "place",
           "model_inputs", "model_meaning", "model_labels", "task_meanings", "input_column",
           "input_places", "is_multi_task", "with_notation", "tag_corpus", "tag_stream",
           "tag_file", "write_tagged", "chunks_of_lines", "cached_model", "load_model"]


class Tagged(NamedTuple):
    """The tags of a corpus: ``tags`` (one list per sentence; for a multi-task model a dict
    of them per task), ``where`` they go (a CoNLL-U column or ``misc:KEY``; a CoNLL column,
    None for a new last column; per task, its meaning) and the whole :class:`Plan`."""
    tags: object
    where: object
    plan: Plan


def load_model(model):
    """``(model, info)``: a fitted model as it is (no info), or the model saved in a file
    or named as a ready-made model (``"en-pos"``) and the info saved with it."""
    if not isinstance(model, (str, os.PathLike)):
        return model, {}
    from ..models import resolve
    from ..serialize import load, read_manifest

    path = resolve(model)
    return load(path), read_manifest(path)["info"]


def tag(model, corpus, *, info: dict | None = None, column=None, notation: str = "auto",
        kind: str = "viterbi", prefix: str = "") -> Tagged:
    """Tag ``corpus`` with ``model``, as every door of hmmtl does.

    Parameters
    ----------
    model : fitted model, or a model file / ready-made model name
    corpus : hmmtl.io.Corpus
        As read by :mod:`hmmtl.io` (its input columns, documents and domains are passed to
        a model that reads them; its tag column decides the notation of the tags).
    info : dict, optional
        What the model file records (``tag_column``, ``tag_meaning`` ...); read from the
        file when ``model`` is a path.
    column : str or int, optional
        Where the tags go instead of the column of their meaning.
    notation : {"auto", "keep"}
        ``auto``: words mapped to the model's training notation and bracket / quote tags
        written as the corpus writes them; ``keep``: neither.
    kind, prefix
        For HMMs: ``"viterbi"``, ``"posterior"`` or ``"type"`` states, and a prefix
        (``"S"`` gives ``S12``).
    """
    name = os.fspath(model) if isinstance(model, (str, os.PathLike)) else "the model"
    model, found = load_model(model)
    info = found if info is None else info
    p = plan(model, corpus.format, info=info, column=column, notation=notation,
             source=corpus, model_name=name, kind=kind, prefix=prefix)
    return Tagged(tag_corpus(model, corpus, p), p.where, p)


def write(corpus, tagged: Tagged, out) -> None:
    """``corpus`` with the tags of :func:`tag` written to ``out`` (a path, written
    atomically, or a text stream), in the corpus's format."""
    if isinstance(out, (str, os.PathLike)):
        from ..io.atomic import OutputFile

        with OutputFile(os.fspath(out), what="output") as target:
            write_tagged(corpus, target.stream, tagged.tags, tagged.plan)
        return
    write_tagged(corpus, out, tagged.tags, tagged.plan)
