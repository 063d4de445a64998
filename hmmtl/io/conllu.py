"""CoNLL-U (Universal Dependencies) reader and writer.

The tag sequence of a sentence is its word lines (integer IDs 1..n).  Multiword-token ranges
(``3-4``) and empty nodes (``5.1``) are not tokens of that sequence; they and the comment
lines are kept, with their positions, so that :func:`write_conllu` gives the file back byte
for byte.  See https://universaldependencies.org/format.html.
"""

from __future__ import annotations

import operator
import re
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from ._source import (FormatError, assign_separators, atomic_write, find_blocks, join_lines,
                      layout_lines, read_source, split_lines)
from .corpus import Corpus

if TYPE_CHECKING:
    from .._typing import Target, TextSource

__all__ = ["read_conllu", "write_conllu", "CONLLU_COLUMNS"]

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
_N_COLUMNS = len(CONLLU_COLUMNS)
# CoNLL-U file names of the regrouped EWT: en_ewt-<domain>-<split>.conllu
_FILE_DOMAIN = re.compile(r"^[^-]+-(?P<domain>[A-Za-z]+)-(?:train|dev|test)$")
_ID_DOMAIN = re.compile(r"^(?P<domain>[A-Za-z]+)-.")
_RANGE = re.compile(r"^(\d+)-(\d+)$")
_EMPTY = re.compile(r"^(\d+)\.(\d+)$")
_ID_STRINGS: list[str] = []


def _id_strings(n: int) -> list[str]:
    if len(_ID_STRINGS) < n:
        _ID_STRINGS.extend(map(str, range(len(_ID_STRINGS) + 1, 2 * n + 1)))
    return _ID_STRINGS[:n]


def _comment_value(line: str) -> str | None:
    _, eq, value = line.partition("=")
    return value.strip() if eq else None


def _resolve_domains(domain, name, sent_ids, doc_ids) -> list[str]:
    n = len(sent_ids)
    if isinstance(domain, str):
        return [domain] * n
    if callable(domain):
        return list(map(domain, sent_ids, doc_ids))
    if domain is not None:
        raise TypeError(f"domain must be a str, a function of (sent_id, doc_id) or None, got "
                        f"{type(domain).__name__}")
    # EWT ids look like "email-enronsent19_01-0001": the genre is the prefix
    out = []
    for sid, did in zip(sent_ids, doc_ids):
        m = _ID_DOMAIN.match(did or "") or _ID_DOMAIN.match(sid or "")
        out.append(m.group("domain") if m else None)
    if all(d is not None for d in out):
        return cast("list[str]", out)
    stem = Path(name).name.split(".")[0] if name and not name.startswith("<") else "default"
    m = _FILE_DOMAIN.match(stem)
    fallback = m.group("domain") if m else stem
    return [d if d is not None else fallback for d in out]


def read_conllu(source: TextSource, domain: str | Callable | None = None, *,
                name: str | None = None) -> Corpus:
    """Read a CoNLL-U file.

    Parameters
    ----------
    source : str, os.PathLike, text or binary stream, or iterable of lines
        The file (``sys.stdin`` works).
    domain : str, callable or None
        Domain of every sentence; or a function ``(sent_id, doc_id) -> str``; or None: the
        alphabetic prefix of the ``# newdoc id`` / ``# sent_id`` (``email-enron...`` ->
        ``email``), else the ``<domain>`` of a file named ``<corpus>-<domain>-<split>.conllu``,
        else the file name.
    name : str, optional
        Name used in messages (default: the path or the stream's name).

    Returns
    -------
    Corpus
        Columns ``id, form, lemma, upos, xpos, feats, head, deprel, deps, misc``;
        ``word_column="form"``, ``label_column="xpos"``.

    Raises
    ------
    FormatError
        With ``path:line`` for: an empty file, a line without 10 tab-separated columns, an
        empty field, IDs not 1..n in order, a bad range or empty-node ID, a sentence without
        words, bytes that are not UTF-8.
    """
    text, name = read_source(source, name)
    lines, layout = split_lines(text)
    if not any(lines):
        raise FormatError(name, None, "empty file: expected CoNLL-U sentences (word lines of "
                          "10 tab-separated columns, blank line after each sentence)")
    is_blank = np.fromiter(map(operator.not_, lines), dtype=bool, count=len(lines))
    starts, ends = find_blocks(is_blank)
    separators = assign_separators(lines, starts, ends, layout)
    n_sent = len(starts)
    cols: list[list] = [[None] * n_sent for _ in range(_N_COLUMNS)]
    extras: list = [None] * n_sent
    sent_ids: list = [None] * n_sent
    doc_ids: list = [None] * n_sent
    doc = None
    n_docs = 0
    for s, (a, b) in enumerate(zip(starts, ends)):
        rows: list[list[str]] = []
        extra = []
        for k in range(a, b):
            line = lines[k]
            if line[0] == "#":
                extra.append((len(rows), line))
                if line.startswith("# sent_id"):
                    sent_ids[s] = _comment_value(line)
                elif line.startswith("# newdoc"):
                    n_docs += 1
                    doc = _comment_value(line) or f"{Path(name).name}#doc{n_docs}"
                continue
            fields = line.split("\t")
            if len(fields) != _N_COLUMNS or "" in fields:
                _bad_line(name, k + 1, line, fields)
            if fields[0].isdigit():
                rows.append(fields)
            else:
                _check_special_id(name, k + 1, fields[0], len(rows))
                extra.append((len(rows), line))
        if not rows:
            raise FormatError(name, b, "sentence has no word lines (only comments, ranges or "
                              "empty nodes); expected lines with IDs 1, 2, ...")
        ids = [r[0] for r in rows]
        if ids != _id_strings(len(rows)):
            j = next(i for i, (x, y) in enumerate(zip(ids, _id_strings(len(rows)))) if x != y)
            line_no = _line_of_row(lines, a, b, j)
            raise FormatError(name, line_no, f"word ID {ids[j]!r} out of order: expected {j + 1} "
                              f"(IDs must run 1, 2, ..., n within each sentence)")
        for c, values in enumerate(zip(*rows)):
            cols[c][s] = list(values)
        extras[s] = extra or None
        doc_ids[s] = doc
        if sent_ids[s] is None:
            sent_ids[s] = f"{Path(name).name}:{a + 1}"
    layout["sep"] = "\t"
    return Corpus(
        columns=dict(zip(CONLLU_COLUMNS, cols)), word_column="form",
        domains=_resolve_domains(domain, name, sent_ids, doc_ids), sent_ids=sent_ids,
        doc_ids=doc_ids, source=name, label_column="xpos", format="conllu", extras=extras,
        separators=separators, layout=layout,
    )


def _line_of_row(lines, a, b, j) -> int:
    seen = -1
    for k in range(a, b):
        line = lines[k]
        if line[0] != "#" and line.split("\t", 1)[0].isdigit():
            seen += 1
            if seen == j:
                return k + 1
    return a + 1


def _bad_line(name, line_no, line, fields):
    if line.isspace():
        raise FormatError(name, line_no, "line holds only whitespace; expected an empty line "
                          "between sentences or a word line")
    if len(fields) != _N_COLUMNS:
        hint = (" (columns look space-separated; CoNLL-U needs tabs)"
                if len(fields) == 1 and len(line.split()) == _N_COLUMNS else "")
        raise FormatError(name, line_no, f"expected {_N_COLUMNS} tab-separated columns, got "
                          f"{len(fields)}{hint}: {line[:60]!r}")
    c = fields.index("")
    raise FormatError(name, line_no, f"column {c + 1} ({CONLLU_COLUMNS[c].upper()}) is empty; "
                      f"use '_' for an unspecified value")


def _check_special_id(name, line_no, id_, n_words):
    m = _RANGE.match(id_)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo != n_words + 1 or hi <= lo:
            raise FormatError(name, line_no, f"multiword-token range {id_!r} is invalid here: "
                              f"expected {n_words + 1}-m with m > {n_words + 1}")
        return
    m = _EMPTY.match(id_)
    if m:
        if int(m.group(1)) != n_words or int(m.group(2)) < 1:
            raise FormatError(name, line_no, f"empty node {id_!r} is invalid here: expected "
                              f"{n_words}.k (k >= 1) after word {n_words}")
        return
    raise FormatError(name, line_no, f"bad ID {id_!r}: expected an integer, a range like 3-4 "
                      f"or an empty node like 5.1")


def _target_column(corpus: Corpus, column, default: str) -> str:
    """The column predicted labels go to: an existing one (by name or index), or a new name."""
    if column is None:
        return corpus.label_column or default
    if isinstance(column, str) and column not in corpus.columns:
        return column
    return corpus.column_name(column)


def _conllu_columns(corpus: Corpus) -> list[list[list[str]]]:
    """The 10 CoNLL-U columns of ``corpus``, filling in what a non-CoNLL-U corpus lacks."""
    renames = {corpus.word_column: "form", "word": "form", "pos": "xpos", "tag": "xpos"}
    named: dict[str, list] = {}
    for key, col in corpus.columns.items():
        named.setdefault(key if key in CONLLU_COLUMNS else renames.get(key, key), col)
    extra = [k for k in named if k not in CONLLU_COLUMNS]
    if extra:
        raise ValueError(f"columns {extra} have no place in CoNLL-U; write this corpus with "
                         f"write_conll, or rename them to CoNLL-U columns {list(CONLLU_COLUMNS)}")
    lengths = corpus.lengths.tolist()
    out = []
    for key in CONLLU_COLUMNS:
        if key in named:
            out.append(named[key])
        elif key == "id":
            out.append([list(map(str, range(1, n + 1))) for n in lengths])
        else:
            out.append([["_"] * n for n in lengths])
    return out


def write_conllu(corpus: Corpus, path: Target, *, labels: Sequence | None = None,
                 column: str | None = None) -> None:
    """Write ``corpus`` as CoNLL-U, atomically (temporary file + ``os.replace``).

    Parameters
    ----------
    corpus : Corpus
        A corpus read by :func:`read_conllu` comes back byte for byte when nothing was
        changed; other corpora get IDs 1..n and ``_`` in the columns they lack.
    path : str, os.PathLike or writable stream
    labels : list of list of str, or flat sequence of n_tokens labels, optional
        Predicted labels to put in ``column``, replacing what was there.
    column : str or int, optional
        Column for ``labels`` (default: the corpus's label column, ``"xpos"``).
    """
    if labels is not None:
        corpus = corpus.with_column(_target_column(corpus, column, "xpos"), labels)
    cols = _conllu_columns(corpus)
    blocks = []
    extras = corpus.extras
    for s in range(len(corpus)):
        token_lines = list(map("\t".join, zip(*(c[s] for c in cols))))
        extra = extras[s] if extras is not None else None
        if extra:
            merged = []
            prev = 0
            for pos, line in extra:
                merged.extend(token_lines[prev:pos])
                merged.append(line)
                prev = max(prev, pos)
            merged.extend(token_lines[prev:])
            token_lines = merged
        blocks.append(token_lines)
    layout = corpus.layout if corpus.format == "conllu" else {}
    lines = layout_lines(blocks, corpus.separators if corpus.format == "conllu" else None, layout)
    atomic_write(path, join_lines(lines, layout))
