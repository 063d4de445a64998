"""One rule for columns: what a tag column *means* (``upos``, ``xpos``, ``chunk``, ``ner``)
and where each format keeps a column of that meaning.

A model records the columns it reads and the column it predicts by meaning (a name such as
``pos`` or ``chunk``, and for a CoNLL file the index it was trained on).  Each format maps a
meaning to its own column:

========  ==============================  ==========================================
meaning   CoNLL-U                         CoNLL (and NLTK corpora)
========  ==============================  ==========================================
upos      UPOS                            the column of that name, else the trained
xpos      XPOS (``pos``, ``tag`` too)     index (inputs) or the one column whose
chunk     MISC ``Chunk=`` (or a column    tags have that meaning (gold)
          of that name)
ner       MISC ``NE=``
========  ==============================  ==========================================

A model whose file records no meaning gets one from its label set
(:func:`tag_meaning`): the 17 UD tags are UPOS, Penn Treebank tags XPOS, BIO / BIOES labels
of chunk types (NP, VP, PP ...) chunks, other BIO labels (PER, LOC, ORG, MISC ...) entities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["MEANINGS", "UPOS_TAGS", "PTB_TAGS", "CHUNK_TYPES", "MISC_KEYS", "meaning_of",
           "tag_meaning", "misc_values", "with_misc_values", "conllu_place", "is_word_column",
           "check_input_columns"]

MEANINGS = ("upos", "xpos", "chunk", "ner")
#: column names that carry a meaning
_ALIASES = {"upos": "upos", "xpos": "xpos", "pos": "xpos", "tag": "xpos", "chunk": "chunk",
            "ner": "ner", "ne": "ner", "entity": "ner", "entities": "ner"}
#: the MISC key that holds a column of this meaning in CoNLL-U
MISC_KEYS = {"chunk": "Chunk", "ner": "NE"}
#: the Universal Dependencies part-of-speech tags (v2)
UPOS_TAGS = frozenset("ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM "
                      "VERB X".split())
#: the Penn Treebank tags, with the punctuation tags and the additions of the English Web
#: Treebank (ADD, AFX, GW, HYPH, NFP, XX)
PTB_TAGS = frozenset("CC CD DT EX FW IN JJ JJR JJS LS MD NN NNS NNP NNPS PDT POS PRP PRP$ RB "
                     "RBR RBS RP SYM TO UH VB VBD VBG VBN VBP VBZ WDT WP WP$ WRB -LRB- -RRB- "
                     "-LCB- -RCB- ( ) . , : `` '' \" # $ ADD AFX GW HYPH NFP XX -NONE-".split())
#: the phrase types of CoNLL-2000 chunking
CHUNK_TYPES = frozenset("NP VP PP ADJP ADVP SBAR PRT CONJP INTJ LST UCP".split())
_PREFIXES = frozenset("BIESLU")
_EMPTY = frozenset({"_", "", None})


def meaning_of(name) -> str | None:
    """The meaning of a column name (``pos`` -> ``xpos``), None for a name without one
    (``col3``, an index)."""
    return _ALIASES.get(name.lower()) if isinstance(name, str) else None


def is_word_column(column, fmt: str) -> bool:
    """Whether ``column`` (a name or an index) is the word column (or, in CoNLL-U, the
    token ID), which predictions and gold labels never are."""
    if isinstance(column, int):
        return column == 0 or (fmt == "conllu" and column == 1)
    return isinstance(column, str) and column.lower() in ("id", "form", "word", "words")


def tag_meaning(labels: Iterable) -> str | None:
    """What a set of tags is: ``"upos"``, ``"xpos"``, ``"chunk"``, ``"ner"``, or None when
    it does not tell.

    >>> tag_meaning(["NOUN", "VERB", "DET"]), tag_meaning(["NN", "VBZ", "DT", "."])
    ('upos', 'xpos')
    >>> tag_meaning(["O", "B-PER", "I-LOC"]), tag_meaning(["B-NP", "I-VP", "O"])
    ('ner', 'chunk')
    """
    labels = {str(x) for x in labels if x not in _EMPTY}
    if not labels:
        return None
    spans = [lab for lab in labels if lab != "O"]
    if all(len(lab) > 2 and lab[1] == "-" and lab[0] in _PREFIXES for lab in spans) and spans:
        types = {lab[2:] for lab in spans}
        return "chunk" if types <= CHUNK_TYPES else "ner"
    if labels <= UPOS_TAGS:
        return "upos"
    if 2 * len(labels & PTB_TAGS) >= len(labels):
        return "xpos"
    return None


def conllu_place(meaning: str | None) -> str | None:
    """Where CoNLL-U keeps a column of ``meaning``: ``upos``, ``xpos``, ``misc:NE``,
    ``misc:Chunk``; None for no meaning."""
    if meaning in ("upos", "xpos"):
        return meaning
    if meaning in MISC_KEYS:
        return f"misc:{MISC_KEYS[meaning]}"
    return None


def _misc_get(misc: str, key: str):
    if misc in _EMPTY:
        return None
    prefix = key + "="
    for item in misc.split("|"):
        if item.startswith(prefix):
            return item[len(prefix):]
    return None


def misc_values(misc: list, key: str, missing: str = "O") -> list | None:
    """The values of ``key`` in a CoNLL-U MISC column (one list per sentence; ``missing``
    where a token has no such key), or None when no token has it."""
    found = [[_misc_get(m, key) for m in sentence] for sentence in misc]
    if not any(v is not None for s in found for v in s):
        return None
    return [[missing if v is None else v for v in s] for s in found]


def _misc_set(misc: str, key: str, value: str) -> str:
    prefix = key + "="
    items = [] if misc in _EMPTY else misc.split("|")
    for i, item in enumerate(items):
        if item.startswith(prefix):
            items[i] = prefix + value
            return "|".join(items)
    return "|".join(items + [prefix + value])


def with_misc_values(misc: list, key: str, values: list) -> list:
    """``misc`` with ``key=value`` set on every token (replacing an earlier value of
    ``key`` where it stands, else added last; the other items kept)."""
    return [[_misc_set(m, key, v) for m, v in zip(ms, vs)] for ms, vs in zip(misc, values)]


def check_input_columns(columns) -> dict:
    """A model's ``columns`` parameter -> {name: file column index or None}.

    ``columns`` names the input columns a model reads: a name, a list of names (found by
    meaning, :func:`meaning_of`), or a mapping of names to 0-based file column indices
    (``None``: by meaning)."""
    if columns is None:
        return {}
    if isinstance(columns, str):
        columns = [columns]
    if isinstance(columns, Mapping):
        out = {}
        for k, v in columns.items():
            if v is not None and (not isinstance(v, (int, np.integer)) or v < 1):
                raise ValueError(f"columns[{k!r}] must be a 0-based file column index >= 1 "
                                 f"(column 0 holds the words) or None, got {v!r}")
            out[str(k)] = None if v is None else int(v)
        return out
    return {str(k): None for k in columns}
