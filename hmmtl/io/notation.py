"""Penn Treebank notation, both ways, for words and bracket tags.

Corpora disagree on how brackets and quotes are written:

============  ======================  ==========================
corpus        words                   bracket tags
============  ======================  ==========================
treebank      ``-LRB-`` ``-LCB-``     ``-LRB-`` ``-RRB-``
              `````` ``''``
conll2000     ``-LRB-`` ``-LCB-``     ``(`` ``)``
              `````` ``''``
EWT (UD)      ``(`` ``[`` ``"``       ``-LRB-`` ``-RRB-`` (XPOS)
Brown         ``(`` `````` ``''``     ``(`` ``)``
NPS chat      ``(`` ``"``             ``(`` ``)``
============  ======================  ==========================

``words="ptb"`` writes words the treebank way (``(`` -> ``-LRB-``, straight ``"`` ->
``````/``''`` alternately within a sentence, opening first); ``words="plain"`` the other way
(``-LRB-`` -> ``(``, ``````/``''`` -> ``"``).  ``tags="ptb"`` turns bracket tags into
``-LRB-``/``-RRB-`` ..., ``tags="plain"`` into ``(``/``)`` ....  So a model trained on WSJ
reads web text written the other way.  Lookups are done once per word type.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..data import flatten, unflatten
from .corpus import Corpus

__all__ = ["normalize_words", "normalize_tags", "normalize_notation", "PTB_BRACKETS"]

PTB_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "{": "-LCB-", "}": "-RCB-", "[": "-LSB-",
                "]": "-RSB-"}
_TO_PTB = dict(PTB_BRACKETS)
_TO_PLAIN = {v: k for k, v in PTB_BRACKETS.items()}
_TO_PLAIN_WORDS = dict(_TO_PLAIN, **{"``": '"', "''": '"'})
_OPEN_QUOTE, _CLOSE_QUOTE = "``", "''"


def _check(to, what):
    if to not in ("ptb", "plain"):
        raise ValueError(f"{what} must be 'ptb', 'plain' or None, got {to!r}")


def _map_flat(flat: list, table: dict) -> list:
    return list(map(table.get, flat, flat))


def normalize_words(sentences, to: str = "ptb") -> list[list[str]]:
    """Words of ``sentences`` (a list of token lists, or one token list) in PTB (``"ptb"``)
    or plain (``"plain"``) notation.

    >>> normalize_words([['He', 'said', '"', '(', 'hi', ')', '"']])
    [['He', 'said', '``', '-LRB-', 'hi', '-RRB-', "''"]]
    >>> normalize_words([['``', 'a', '-LCB-', "''"]], to="plain")
    [['"', 'a', '{', '"']]
    """
    _check(to, "to")
    single = bool(sentences) and isinstance(sentences[0], str)
    flat, offsets = flatten([sentences] if single else sentences)
    if to == "plain":
        out = _map_flat(flat, _TO_PLAIN_WORDS)
    else:
        out = _map_flat(flat, _TO_PTB)
        is_quote = np.fromiter(map('"'.__eq__, flat), dtype=bool, count=len(flat))
        if is_quote.any():
            # the k-th straight quote of a sentence opens when k is odd (1st, 3rd, ...)
            counts = np.cumsum(is_quote)
            before = np.concatenate([[0], counts])[offsets[:-1]]
            within = counts - np.repeat(before, np.diff(offsets))
            for i in np.flatnonzero(is_quote).tolist():
                out[i] = _OPEN_QUOTE if within[i] % 2 == 1 else _CLOSE_QUOTE
    result = unflatten(out, offsets)
    return result[0] if single else result


def normalize_tags(tag_sequences, to: str = "ptb") -> list[list[str]]:
    """Bracket tags of ``tag_sequences`` as ``-LRB-``/``-RRB-``/... (``"ptb"``) or
    ``(``/``)``/... (``"plain"``); other tags unchanged.

    >>> normalize_tags([['NN', '(', ')']])
    [['NN', '-LRB-', '-RRB-']]
    """
    _check(to, "to")
    single = bool(tag_sequences) and isinstance(tag_sequences[0], str)
    flat, offsets = flatten([tag_sequences] if single else tag_sequences)
    out = unflatten(_map_flat(flat, _TO_PTB if to == "ptb" else _TO_PLAIN), offsets)
    return out[0] if single else out


def normalize_notation(data, *, words: str | None = None, tags: str | None = None,
                       columns=None):
    """Normalize words and/or bracket tags of a :class:`Corpus` (returns a new corpus) or of
    a list of token lists (words only).

    Parameters
    ----------
    data : Corpus or list of list of str
    words, tags : {"ptb", "plain", None}
        Target notation; None leaves them as they are.
    columns : list of str, optional
        Tag columns to normalize (default: the corpus's label column; for CoNLL-U, XPOS).

    Examples
    --------
    A WSJ-trained tagger sees ``-LRB-`` where EWT writes ``(``:

    >>> normalize_notation([['(', 'see', 'above', ')']], words="ptb")
    [['-LRB-', 'see', 'above', '-RRB-']]
    """
    if words is not None:
        _check(words, "words")
    if tags is not None:
        _check(tags, "tags")
    if not isinstance(data, Corpus):
        if tags is not None:
            raise TypeError("tags can only be normalized in a Corpus; use "
                            "normalize_tags(tag_lists)")
        return normalize_words(data, words) if words is not None else data
    new_columns = dict(data.columns)
    if words is not None:
        new_columns[data.word_column] = normalize_words(data.sentences, words)
    if tags is not None:
        if columns is None:
            columns = [data.label_column or "xpos"]
        for key in columns:
            name = data.column_name(key)
            new_columns[name] = normalize_tags(data.columns[name], tags)
    return replace(data, columns=new_columns)
