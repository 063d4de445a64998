"""Which format a corpus file is in: from its name when the name tells, else from its first
lines, so that a file and the same bytes on standard input are read alike.

The rules, in order (``sniff_format``):

* CoNLL-U: the first line that is not a ``#`` comment has 10 tab-separated fields and an
  integer ID (``1``, a range ``3-4`` or an empty node ``5.1``);
* CoNLL: the first line starts with ``-DOCSTART-``; or most lines (80 %) have the same number
  of columns, two or more, and the lines are tab-separated or come in blocks separated by
  blank lines (sentences);
* plain text (one tokenized sentence a line): a single line, or lines of varying length;
* anything else (several lines, all with the same number of space-separated columns and no
  blank line between them, which CoNLL and text both allow) is ambiguous: None, and the
  caller asks for ``--format``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Iterable

__all__ = ["FORMATS", "SNIFF_LINES", "format_from_name", "sniff_format", "peek_lines"]

FORMATS = ("conllu", "conll", "text")
#: lines read ahead to tell the format of a stream (they are then given back to the reader)
SNIFF_LINES = 200

_CONLLU_ID = re.compile(r"^[0-9]+([-.][0-9]+)?$")


def format_from_name(name: str) -> str | None:
    """The format a file name says (``x.conllu``, ``x.conll`` / ``.iob`` / ``.bio`` /
    ``.tsv``, CoNLL-2003's ``eng.train`` / ``esp.testa``, ``x.txt`` / ``.tok``), or None.

    Examples
    --------
    >>> format_from_name("en_ewt-ud-dev.conllu"), format_from_name("eng.testb")
    ('conllu', 'conll')
    >>> format_from_name("notes.txt"), format_from_name("data") is None
    ('text', True)
    """
    name = Path(name).name.lower()
    if name.endswith(".conllu"):
        return "conllu"
    if name.endswith((".conll", ".iob", ".bio", ".tsv")) or name.startswith("eng.") \
            or name.split(".")[-1] in ("train", "testa", "testb"):
        return "conll"
    if name.endswith((".txt", ".tok")):
        return "text"
    return None


def _text(line) -> str:
    if isinstance(line, (bytes, bytearray)):
        line = bytes(line).decode("utf-8", errors="replace")
    return line.lstrip("\ufeff").rstrip("\r\n")


def sniff_format(lines: Iterable) -> str | None:
    """The format of a corpus from its first lines (str or bytes): ``"conllu"``,
    ``"conll"``, ``"text"``, or None when CoNLL and plain text are equally plausible.

    Examples
    --------
    >>> sniff_format(["# sent_id = 1", "1\\tThe\\tthe\\tDET\\tDT\\t_\\t2\\tdet\\t_\\t_"])
    'conllu'
    >>> sniff_format(["The DT B-NP", "dog NN I-NP", "", "It PRP B-NP", "barks VBZ B-VP"])
    'conll'
    >>> sniff_format(["The dog barks .", "It sleeps ."])
    'text'
    >>> sniff_format(["the dog", "a cat"]) is None  # two words a line: text, or CoNLL?
    True
    """
    lines = [_text(line) for line in lines]
    content = [line for line in lines if line.strip()]
    if not content:
        return "text"  # the text reader says the input is empty, in its words
    first = next((line for line in content if not line.startswith("#")), None)
    if first is not None:
        fields = first.split("\t")
        if len(fields) == 10 and _CONLLU_ID.match(fields[0]):
            return "conllu"
    if content[0].split()[0] == "-DOCSTART-":
        return "conll"
    if len(content) == 1:
        return "text"
    counts = Counter(len(line.split()) for line in content)
    columns, n = counts.most_common(1)[0]
    if columns < 2 or n < 0.8 * len(content):
        return "text"
    filled = [i for i, line in enumerate(lines) if line.strip()]
    blank_between = filled[-1] - filled[0] + 1 > len(filled)
    tabs = all("\t" in line for line in content)
    if tabs or blank_between:
        return "conll"
    if n == len(content):
        return None
    return "text"


def peek_lines(stream, n: int = SNIFF_LINES):
    """``(head, lines)``: the first ``n`` lines of ``stream`` and an iterator over all its
    lines, the head included, so that a stream can be sniffed and still read in full (and
    streamed: only ``n`` lines are held)."""
    head = list(itertools.islice(stream, n))
    return head, itertools.chain(head, stream)
