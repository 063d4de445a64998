"""Tagging on any executor: one function turns a model's predictions into tag strings, so
that every executor (and the command line) writes the same tags."""

from __future__ import annotations

import numpy as np

__all__ = ["tag_sentences", "as_corpus"]


def _takes_domains(model) -> bool:
    return hasattr(model, "n_domains")


def tag_sentences(model, sentences: list, domains=None, kind: str = "viterbi",
                  prefix: str = "") -> list[list[str]]:
    """One list of tag strings per sentence.

    Parameters
    ----------
    model : fitted estimator with ``predict`` (a labeler, an HMM)
        A multi-domain HMM gets each sentence's domain.
    sentences : list of token lists
    domains : list, optional
        Domain of each sentence (used by a multi-domain HMM only).
    kind : {"viterbi", "posterior", "type"}
        ``"viterbi"`` calls ``model.predict``; the others ``model.transform(kind=)`` and
        take the most probable state.
    prefix : str
        Put before each tag (``"S"`` gives ``S12``).
    """
    if not sentences:
        return []
    extra = {"domains": domains} if _takes_domains(model) else {}
    if kind == "viterbi":
        tags = model.predict(sentences, **extra)
    else:
        tags = model.transform(sentences, kind=kind, **extra)
        if isinstance(tags, np.ndarray) and tags.ndim == 2:
            tags = tags.argmax(axis=1)   # posterior or type distribution -> its best state
    lengths = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
    if isinstance(tags, np.ndarray):
        if tags.shape[0] != int(lengths.sum()):
            raise ValueError(f"the model returned {tags.shape[0]} tags for "
                             f"{int(lengths.sum())} tokens")
        flat = [f"{prefix}{t}" for t in tags.tolist()]
        bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return [[f"{prefix}{t}" for t in row] for row in tags]


def as_corpus(data, out_format: str):
    """A :class:`hmmtl.io.Corpus` of a partition (a corpus as read, or raw sentences, whose
    word column is named for ``out_format``)."""
    from ..io import Corpus

    if isinstance(data, Corpus):
        return data
    word = "form" if out_format == "conllu" else "word"
    return Corpus(columns={word: [list(s) for s in data.tokens]}, word_column=word,
                  domains=None if data.domains is None else [str(d) for d in data.domains],
                  format=out_format)
