"""Penn Treebank notation, both ways, for words and tags: recorded by models, applied for them.

Corpora disagree on how brackets and quotes are written:

============  ======================  ==========================  ====================
corpus        words                   bracket tags                quote tags
============  ======================  ==========================  ====================
treebank      ``-LRB-`` ``-LCB-``     ``-LRB-`` ``-RRB-``         ````` ``''``
              ````` ``''``
conll2000     ``-LRB-`` ``-LCB-``     ``(`` ``)``                 ````` ``''``
              ````` ``''``
EWT (UD)      ``(`` ``[`` ``"``       ``-LRB-`` ``-RRB-`` (XPOS)  ````` ``''``
Brown         ``(`` ````` ``''``      ``(`` ``)``                 ````` ``''``
NPS chat      ``(`` ``"``             ``(`` ``)``                 ``''``
CoNLL-2003    ``(`` ``"``             ``(`` ``)``                 ``"``
============  ======================  ==========================  ====================

``"ptb"`` writes brackets as ``-LRB-`` ... and quotes as ``````/``''``; ``"plain"`` as
``(`` ... and ``"``.  A straight ``"`` becomes ```````` or ``''`` by its place in its
sentence (the first, third, ... open); curly quotes become ``````/``''`` in PTB notation.

A :class:`Notation` says, separately for brackets and quotes, in words and in tags, which
way a corpus writes them (None where it shows no evidence).  Models record the notation
of their training data (``notation_``) and map incoming words to it
(:meth:`Notation.map_words`); tags are mapped the same way (:meth:`Notation.map_tags`).
Every mapping works per token, and per sentence for the alternation of straight quotes, so
a sentence is mapped the same alone or in any batch.  Lookups are done in C
(``map(dict.get)``), and a batch with nothing to map is returned as it came.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ..data import flatten, unflatten
from .corpus import Corpus

__all__ = ["Notation", "detect_notation", "tag_notation_of_lines", "normalize_words",
           "normalize_tags", "normalize_notation", "PTB_BRACKETS", "NOTATIONS"]

#: the two ways of writing brackets and quotes
NOTATIONS = ("ptb", "plain")
PTB_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "{": "-LCB-", "}": "-RCB-", "[": "-LSB-",
                "]": "-RSB-"}
_PLAIN_BRACKETS = {v: k for k, v in PTB_BRACKETS.items()}
# bracket *tags*: PTB tags every bracket -LRB- / -RRB- (braces and square ones too)
_PTB_BRACKET_TAGS = {"(": "-LRB-", ")": "-RRB-"}
_PLAIN_BRACKET_TAGS = {v: k for k, v in _PTB_BRACKET_TAGS.items()}
_OPEN_QUOTE, _CLOSE_QUOTE, _STRAIGHT_QUOTE = "``", "''", '"'
_PTB_QUOTES = {"\u201c": _OPEN_QUOTE, "\u201d": _CLOSE_QUOTE}  # curly double quotes
_PLAIN_QUOTES = {_OPEN_QUOTE: _STRAIGHT_QUOTE, _CLOSE_QUOTE: _STRAIGHT_QUOTE}

# the evidence of each notation: tokens that only it writes
_EVIDENCE = {
    "brackets": {"ptb": set(_PLAIN_BRACKETS), "plain": set(PTB_BRACKETS)},
    "quotes": {"ptb": {_OPEN_QUOTE, _CLOSE_QUOTE}, "plain": {_STRAIGHT_QUOTE}},
    "bracket_tags": {"ptb": set(_PLAIN_BRACKET_TAGS), "plain": set(_PTB_BRACKET_TAGS)},
}


def _check(to, what):
    if to not in NOTATIONS:
        raise ValueError(f"{what} must be 'ptb', 'plain' or None, got {to!r}")


def _vote(counts, kind: str) -> str | None:
    """The notation with more evidence tokens (None on a tie, e.g. no evidence at all)."""
    ptb = sum(counts.get(t, 0) for t in _EVIDENCE[kind]["ptb"])
    plain = sum(counts.get(t, 0) for t in _EVIDENCE[kind]["plain"])
    return "ptb" if ptb > plain else "plain" if plain > ptb else None


def _table(brackets: str | None, quotes: str | None, *, tags: bool) -> dict:
    """Token -> replacement for mapping into ``brackets`` / ``quotes`` notation (the
    straight quote into PTB notation is not in it: it depends on its place)."""
    table: dict = {}
    if brackets == "ptb":
        table.update(_PTB_BRACKET_TAGS if tags else PTB_BRACKETS)
    elif brackets == "plain":
        table.update(_PLAIN_BRACKET_TAGS if tags else _PLAIN_BRACKETS)
    if quotes == "ptb" and not tags:
        table.update(_PTB_QUOTES)
    elif quotes == "plain":
        table.update(_PLAIN_QUOTES)
    return table


def _map(sequences, table: dict, direct_quotes: bool):
    """``sequences`` (a list of token lists) with ``table`` applied to every token and,
    with ``direct_quotes``, each straight quote made ``````/``''`` by its place in its
    sentence.  Returns the input list itself when no token changes."""
    flat, offsets = flatten(sequences)
    out = _map_flat(flat, offsets, table, direct_quotes)
    return sequences if out is flat else unflatten(out, offsets)


def _map_flat(flat: list, offsets, table: dict, direct_quotes: bool) -> list:
    """:func:`_map` on flat tokens of sentences at ``offsets``; ``flat`` itself when no
    token changes."""
    if not table and not direct_quotes:
        return flat
    present = set(flat)
    if not (present.intersection(table) or (direct_quotes and _STRAIGHT_QUOTE in present)):
        return flat
    out = list(map(table.get, flat, flat))
    if direct_quotes and _STRAIGHT_QUOTE in present:
        # the straight quotes found by the list's own search (a scan in C; the quotes are
        # few); the k-th of a sentence opens when k is odd (1st, 3rd, ...)
        at = []
        find, i = flat.index, -1
        try:
            while True:
                i = find(_STRAIGHT_QUOTE, i + 1)
                at.append(i)
        except ValueError:
            pass
        quotes = np.asarray(at, dtype=np.int64)
        offsets = np.asarray(offsets, dtype=np.int64)
        sentence_start = offsets[np.searchsorted(offsets, quotes, side="right") - 1]
        within = np.arange(1, quotes.shape[0] + 1) - np.searchsorted(quotes, sentence_start)
        for i, k in zip(at, within.tolist()):
            out[i] = _OPEN_QUOTE if k % 2 == 1 else _CLOSE_QUOTE
    return out


def _one_or_many(sequences, func):
    single = bool(sequences) and isinstance(sequences[0], str)
    result = func([list(sequences)] if single else sequences)
    return result[0] if single else result


@dataclass(frozen=True)
class Notation:
    """How brackets and quotes are written in a corpus's words and tags.

    Each field is ``"ptb"`` (``-LRB-``, ``````/``''``), ``"plain"`` (``(``, ``"``) or
    None (no evidence either way: left as it comes).

    Parameters
    ----------
    word_brackets, word_quotes : {"ptb", "plain", None}
    tag_brackets : {"ptb", "plain", None}
        Tags of brackets: ``-LRB-``/``-RRB-`` or ``(``/``)``.
    tag_quotes : {"ptb", "plain", None}
        Tags of quotes: ``````/``''`` or ``"``.

    Examples
    --------
    >>> wsj = detect_notation([["-LRB-", "``", "a", "''", "-RRB-"]],
    ...                       [["(", "``", "DT", "''", ")"]])
    >>> wsj
    Notation(word_brackets='ptb', word_quotes='ptb', tag_brackets='plain', tag_quotes='ptb')
    >>> wsj.map_words([["(", '"', "see", '"', ")"]])
    [['-LRB-', '``', 'see', "''", '-RRB-']]
    >>> Notation(tag_brackets="ptb").map_tags([["(", "NN", ")"]])
    [['-LRB-', 'NN', '-RRB-']]
    """

    word_brackets: str | None = None
    word_quotes: str | None = None
    tag_brackets: str | None = None
    tag_quotes: str | None = None

    def __post_init__(self):
        for name, value in asdict(self).items():
            if value is not None:
                _check(value, name)

    def __bool__(self) -> bool:
        return any(v is not None for v in asdict(self).values())

    def map_words(self, sentences):
        """``sentences`` (token lists, or one token list) written in this notation; the
        input object itself when nothing changes."""
        table = _table(self.word_brackets, self.word_quotes, tags=False)
        return _one_or_many(sentences, lambda s: _map(s, table, self.word_quotes == "ptb"))

    def map_flat_words(self, flat: list, offsets) -> list:
        """:meth:`map_words` on the flat tokens of sentences at ``offsets`` (the list
        itself when nothing changes)."""
        table = _table(self.word_brackets, self.word_quotes, tags=False)
        return _map_flat(flat, np.asarray(offsets, dtype=np.int64), table,
                         self.word_quotes == "ptb")

    def map_tags(self, tag_sequences):
        """Bracket and quote tags of ``tag_sequences`` (tag lists, or one tag list) written
        in this notation (a ``"`` tag alternates ``````/``''`` within its sentence); other
        tags unchanged."""
        table = _table(self.tag_brackets, self.tag_quotes, tags=True)
        return _one_or_many(tag_sequences,
                            lambda s: _map(s, table, self.tag_quotes == "ptb"))

    def words_only(self) -> Notation:
        return replace(self, tag_brackets=None, tag_quotes=None)

    def describe(self) -> str:
        """A short human-readable summary, e.g. ``"words -LRB- ``/''; tags ( )"``."""
        show = {("brackets", "ptb"): "-LRB-", ("brackets", "plain"): "(",
                ("quotes", "ptb"): "``/''", ("quotes", "plain"): '"'}
        words = [show[k, v] for k, v in (("brackets", self.word_brackets),
                                         ("quotes", self.word_quotes)) if v]
        tags = [{"ptb": "-LRB- -RRB-", "plain": "( )"}[self.tag_brackets]] \
            if self.tag_brackets else []
        if self.tag_quotes:
            tags.append(show["quotes", self.tag_quotes])
        parts = ([f"words {' '.join(words)}"] if words else []) + \
                ([f"tags {' '.join(tags)}"] if tags else [])
        return "; ".join(parts) or "no brackets or quotes seen"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Notation:
        """Inverse of :meth:`to_dict`; None (a model saved before notations were recorded)
        is the empty notation, which maps nothing."""
        if d is None:
            return cls()
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown notation fields {sorted(unknown)}")
        return cls(**d)


def detect_notation(words=None, tags=None) -> Notation:
    """The notation a corpus uses, by a vote of the tokens only one notation writes.

    Parameters
    ----------
    words : list of token lists (or one flat list), optional
    tags : list of tag lists (or one flat list), optional
        Decides ``tag_brackets`` (``-LRB-``/``-RRB-`` against ``(``/``)``) and ``tag_quotes``
        (``````/``''`` against ``"``).

    Returns
    -------
    Notation
        Fields without evidence (no bracket or quote at all, or a tie) are None.

    >>> detect_notation([["(", '"', "hi", '"', ")"]])
    Notation(word_brackets='plain', word_quotes='plain', tag_brackets=None, tag_quotes=None)
    """
    from collections import Counter

    found: dict[str, Any] = {}
    if words is not None:
        flat = words if not words or isinstance(words[0], str) else flatten(words)[0]
        counts = Counter(flat)
        found.update(word_brackets=_vote(counts, "brackets"), word_quotes=_vote(counts, "quotes"))
    if tags is not None:
        flat = tags if not tags or isinstance(tags[0], str) else flatten(tags)[0]
        counts = Counter(flat)
        found.update(tag_brackets=_vote(counts, "bracket_tags"),
                     tag_quotes=_vote(counts, "quotes"))
    return Notation(**found)


def tag_notation_of_lines(lines, fmt: str, column) -> Notation:
    """The bracket and quote notation of one tag column of a CoNLL-U or CoNLL file, from a
    pass over its lines (str or bytes) that keeps nothing but the few tags that decide it:
    how a whole file writes its tags, decided once, before any of it is tagged.

    Parameters
    ----------
    lines : iterable of str or bytes
    fmt : {"conllu", "conll"}
    column : int or str
        0-based index, a CoNLL-U column name (``"xpos"``) or ``"colN"`` (CoNLL).

    Returns
    -------
    Notation
        ``tag_brackets`` and ``tag_quotes`` set where the column shows evidence.

    >>> line = "\\t".join(["1", "(", "(", "PUNCT", "-LRB-", "_", "0", "punct", "_", "_"])
    >>> tag_notation_of_lines([line], "conllu", "xpos")
    Notation(word_brackets=None, word_quotes=None, tag_brackets='ptb', tag_quotes=None)
    """
    from .conllu import CONLLU_COLUMNS

    if isinstance(column, str):
        if fmt == "conllu" and column in CONLLU_COLUMNS:
            column = CONLLU_COLUMNS.index(column)
        elif column.startswith("col") and column[3:].isdigit():
            column = int(column[3:])
        else:
            raise ValueError(f"column {column!r}: expected a 0-based index, a CoNLL-U column "
                             f"name or colN")
    wanted = set().union(*(e["ptb"] | e["plain"] for k, e in _EVIDENCE.items()
                           if k != "brackets"))
    found = []
    for line in lines:
        if isinstance(line, (bytes, bytearray)):
            line = line.decode("utf-8", errors="replace")
        fields = line.rstrip("\r\n").split("\t") if fmt == "conllu" else line.split()
        if len(fields) > column and fields[column] in wanted and not line.startswith("#"):
            found.append(fields[column])
    return replace(detect_notation(tags=found), word_brackets=None, word_quotes=None)


def normalize_words(sentences, to: str = "ptb") -> list[list[str]]:
    """Words of ``sentences`` (a list of token lists, or one token list) in PTB (``"ptb"``)
    or plain (``"plain"``) notation.

    >>> normalize_words([['He', 'said', '"', '(', 'hi', ')', '"']])
    [['He', 'said', '``', '-LRB-', 'hi', '-RRB-', "''"]]
    >>> normalize_words([['``', 'a', '-LCB-', "''"]], to="plain")
    [['"', 'a', '{', '"']]
    """
    _check(to, "to")
    return Notation(word_brackets=to, word_quotes=to).map_words(sentences)


def normalize_tags(tag_sequences, to: str = "ptb") -> list[list[str]]:
    """Bracket tags of ``tag_sequences`` as ``-LRB-``/``-RRB-`` (``"ptb"``) or
    ``(``/``)`` (``"plain"``); other tags unchanged.

    >>> normalize_tags([['NN', '(', ')']])
    [['NN', '-LRB-', '-RRB-']]
    """
    _check(to, "to")
    return Notation(tag_brackets=to).map_tags(tag_sequences)


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
