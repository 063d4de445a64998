"""Which format a corpus file is in: from its name when the name tells, else from its first
lines, so that a file and the same bytes on standard input are read alike.

The rules, in order (``sniff_format``):

* CoNLL-U: the first line that is not a ``#`` comment has 10 tab-separated fields and an
  integer ID (``1``, a range ``3-4`` or an empty node ``5.1``);
* CoNLL: the first line starts with ``-DOCSTART-``; or most lines (80 %) have the same number
  of columns, two or more, and the lines are tab-separated or come in blocks separated by
  blank lines (sentences); or all lines have the same number of columns and their last
  column is an IOB tag or their second a Penn Treebank / UD tag;
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
from collections.abc import Iterable

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
    if n == len(content) and _tag_columns(content):
        return "conll"
    if n == len(content):
        return None
    return "text"


_IOB = re.compile(r"^(?:O|[BIESLU]-\S+)$")
_PENN = frozenset("""CC CD DT EX FW IN JJ JJR JJS LS MD NN NNS NNP NNPS PDT POS PRP PRP$ RB RBR
RBS RP SYM TO UH VB VBD VBG VBN VBP VBZ WDT WP WP$ WRB -LRB- -RRB- -NONE- . , : `` '' $ #
ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ VERB X""".split())


def _tag_columns(content: list[str]) -> bool:
    """Every line's last column an IOB tag (``O``, ``B-PER``) or every line's second column a
    Penn Treebank or UD tag: a CoNLL file (``CRICKET NNP I-NP O``), not words."""
    rows = [line.split() for line in content]
    return all(_IOB.match(r[-1]) for r in rows) or all(r[1] in _PENN for r in rows)


def peek_lines(stream, n: int = SNIFF_LINES):
    """``(head, lines)``: the first ``n`` lines of ``stream`` and an iterator over all its
    lines, the head included, so that a stream can be sniffed and still read in full (and
    streamed: only ``n`` lines are held)."""
    head = list(itertools.islice(stream, n))
    return head, itertools.chain(head, stream)


# ------------------------------------------------------------------ raw text, encodings
#: every input kind the readers of unlabeled text and ``hmmtl tag`` accept: ``text`` is
#: tokenized text (one sentence a line), ``raw`` running text, ``jsonl`` one JSON object
#: a line with a ``"text"`` field (raw text)
INPUT_FORMATS = ("conllu", "conll", "text", "raw", "jsonl")
GZIP_MAGIC = b"\x1f\x8b"

_ATTACHED = re.compile(r"[^\W\d_]{2,}[,.;:!?](?=\s|$)|[^\W_]n['\u2019]t\b"
                       r"|[^\W_]['\u2019](?:s|re|ll|ve|m|d)\b")
_SPACED = re.compile(r"(?:^|\s)[,.;:!?](?=\s|$)|\s(?:'s|n't|'re|'ll|'ve|'m|'d)(?=\s|$)")


def format_from_name_gz(name: str) -> str | None:
    """:func:`format_from_name` of a name without its ``.gz``; ``.jsonl`` names JSON
    lines."""
    base = name[:-3] if name.lower().endswith(".gz") else name
    if base.lower().endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return format_from_name(base)


def sniff_encoding(head: bytes) -> str | None:
    """The encoding of a file other than UTF-8 that its first bytes show, or None (UTF-8,
    with or without its byte-order mark): ``"UTF-32LE"`` / ``"UTF-32BE"`` /
    ``"UTF-16LE"`` / ``"UTF-16BE"``, from a byte-order mark or, without one, from where the
    NUL bytes fall (every other byte of ASCII text in UTF-16, three in four in UTF-32).

    Examples
    --------
    >>> sniff_encoding("hello\\n".encode("utf-16-le")), sniff_encoding(b"hello")
    ('UTF-16LE', None)
    >>> sniff_encoding("\\ufeffhi".encode("utf-32-be"))
    'UTF-32BE'
    """
    if head.startswith((b"\xff\xfe\x00\x00",)):
        return "UTF-32LE"
    if head.startswith(b"\x00\x00\xfe\xff"):
        return "UTF-32BE"
    if head.startswith(b"\xff\xfe"):
        return "UTF-16LE"
    if head.startswith(b"\xfe\xff"):
        return "UTF-16BE"
    sample = head[:4096]
    n = len(sample) - len(sample) % 4
    if n < 4 or b"\x00" not in sample:
        return None
    nul = [sample[k:n:4].count(0) / (n // 4) for k in range(4)]
    if min(nul[1:3]) > 0.9 and nul[0] < 0.5 and nul[3] > 0.9:
        return "UTF-32LE"
    if min(nul[:3]) > 0.9 and nul[3] < 0.5:
        return "UTF-32BE"
    even, odd = (nul[0] + nul[2]) / 2, (nul[1] + nul[3]) / 2
    if odd > 0.6 and even < 0.1:
        return "UTF-16LE"
    if even > 0.6 and odd < 0.1:
        return "UTF-16BE"
    return None


def check_encoding(head: bytes, name: str) -> None:
    """Refuse a UTF-16 or UTF-32 file (with or without a byte-order mark), naming its
    encoding and how to convert it, and a binary file (NUL bytes).

    Raises
    ------
    FormatError
    """
    from ._source import FormatError

    encoding = sniff_encoding(head)
    if encoding is not None:
        bom = head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"))
        how = "its byte-order mark" if bom else "where its NUL bytes fall, no byte-order mark"
        raise FormatError(name, None, f"this file is {encoding}, not UTF-8 (told by {how}); "
                          f"convert it first: iconv -f {encoding} -t UTF-8 {name} > out.txt")
    if b"\x00" in head:
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raise FormatError(name, line, "a NUL byte: this is a binary file, not text; expected "
                          "plain text (raw or one tokenized sentence a line), JSON lines, "
                          "CoNLL or CoNLL-U")


def sniff_jsonl(lines: Iterable) -> bool:
    """True when the first non-empty line is a JSON object with a ``"text"`` field."""
    import json

    for line in lines:
        line = _text(line).strip()
        if not line:
            continue
        if not line.startswith("{"):
            return False
        try:
            obj = json.loads(line)
        except ValueError:
            return False
        return isinstance(obj, dict) and isinstance(obj.get("text"), str)
    return False


def sniff_text_kind(lines: Iterable) -> str | None:
    """``"raw"`` (running text: punctuation and clitics attached to words, ``word,``
    ``can't``), ``"text"`` (tokenized, one sentence a line: `` , `` `` 's ``), or None
    when the first lines show both about as often (the caller asks for ``--input``).
    Lines without such evidence are tokenized text (the tokens would be the same).

    Examples
    --------
    >>> sniff_text_kind(["I can't believe it's not butter!"])
    'raw'
    >>> sniff_text_kind(["The dog barks .", "It is n't ."])
    'text'
    >>> sniff_text_kind(["hello world"]), sniff_text_kind(["Mr. Smith said so ."])
    ('text', 'text')
    """
    from .segment import DEFAULT_ABBREVIATIONS

    attached = spaced = 0
    for line in lines:
        line = _text(line)
        # "Mr." stays whole in tokenized text too: no evidence either way
        attached += sum(1 for m in _ATTACHED.findall(line)
                        if not (m[-1] == "." and m[:-1].lower() in DEFAULT_ABBREVIATIONS))
        spaced += len(_SPACED.findall(line))
    if attached >= 4 * spaced and attached:
        return "raw"
    if spaced >= 4 * attached:
        return "text"
    return None


def sniff_input(lines: Iterable) -> str | None:
    """The kind of an input from its first lines (decoded or bytes): one of
    :data:`INPUT_FORMATS`, or None when it cannot be told (CoNLL or text; raw or
    tokenized text)."""
    lines = list(lines)
    if sniff_jsonl(lines):
        return "jsonl"
    fmt = sniff_format(lines)
    if fmt != "text":
        return fmt
    return sniff_text_kind(lines)
