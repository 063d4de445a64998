"""Plain tokenized text: one sentence a line, tokens separated by whitespace.  The unlabeled
data of the HMMs; :func:`iter_text` streams files of any size in batches."""

from __future__ import annotations

import functools

import itertools
import os
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..data import RaggedBatch, Vocabulary
from ._source import FormatError, atomic_write, read_source, source_name
from .corpus import Corpus

if TYPE_CHECKING:
    from .segment import Segmenter
    from .._typing import Target, TextSource, TokenLists

__all__ = ["iter_text", "read_text", "write_text", "read_unlabeled", "iter_unlabeled",
           "check_plain_text", "split_long", "open_input", "MAX_SENTENCE_TOKENS",
           "TokenStream"]

_BOM = "\ufeff"


def _split(text: str) -> list[str]:
    # not str.splitlines: it also breaks at U+2028, \x1c ... which web text contains
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _strip_bom(lines: list[str]) -> list[str]:
    """The first lines of a file without its byte-order mark, which is not part of a word
    (the CoNLL and CoNLL-U readers drop it too)."""
    if lines and lines[0].startswith(_BOM):
        lines[0] = lines[0][1:]
    return lines


def _decode_batch(chunk: list[bytes], name: str, first_line: int) -> list[str]:
    try:
        return _split(b"".join(chunk).decode("utf-8"))
    except UnicodeDecodeError:
        for k, raw in enumerate(chunk):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FormatError(name, first_line + k, f"byte 0x{raw[exc.start]:02x} at column "
                                  f"{exc.start + 1} is not valid UTF-8; expected a UTF-8 file, "
                                  f"try re-encoding it, e.g. `iconv -f latin1 -t utf-8`") from None
        raise


def _line_batches(source, batch_size: int, name: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, decoded lines) of ``batch_size`` lines at a time."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{name}: no such file")
        with open(path, "rb") as f:
            line = 1
            while True:
                chunk = list(itertools.islice(f, batch_size))
                if not chunk:
                    return
                yield line, _decode_batch(chunk, name, line)
                line += len(chunk)
        return
    it = iter(source)
    line = 1
    while True:
        try:
            chunk = list(itertools.islice(it, batch_size))
        except UnicodeDecodeError as exc:
            raise FormatError(name, line, f"not valid UTF-8 at or after this line ({exc.reason})"
                              ) from None
        if not chunk:
            return
        if isinstance(chunk[0], (bytes, bytearray)):
            yield line, _decode_batch([c if c.endswith(b"\n") else c + b"\n" for c in chunk],
                                      name, line)
        else:
            yield line, [c.rstrip("\r\n") for c in chunk]
        line += len(chunk)


def iter_text(source: TextSource, batch_size: int = 10_000, *, vocab: Vocabulary | None = None,
              lowercase: bool = False) -> Iterator[list[list[str]] | RaggedBatch]:
    """Stream a tokenized text file in batches of sentences, so the corpus never has to fit
    in memory.

    Parameters
    ----------
    source : str, os.PathLike, binary or text stream, or iterable of lines
    batch_size : int
        Lines read per batch (blank lines count, but yield no sentence).
    vocab : Vocabulary, optional
        When given, each batch is encoded and yielded as a :class:`RaggedBatch` of ids, so
        only integer arrays are kept.
    lowercase : bool
        Lowercase tokens as they are read.

    Yields
    ------
    list of list of str, or RaggedBatch
        Blank lines are not sentences and are skipped.

    Raises
    ------
    FormatError
        Bytes that are not UTF-8, with the line.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    name = source_name(source)
    for first_line, lines in _line_batches(source, batch_size, name):
        if first_line == 1:
            lines = _strip_bom(lines)
        if lowercase:
            lines = list(map(str.lower, lines))
        sentences = [s for s in map(str.split, lines) if s]
        if not sentences:
            continue
        yield vocab.encode(sentences) if vocab is not None else sentences


def read_text(source: TextSource, domain: str | None = None, *, lowercase: bool = False,
              name: str | None = None) -> Corpus:
    """Read a whole tokenized text file (one sentence a line) into a :class:`Corpus` with a
    single ``"word"`` column.  Blank lines are not sentences and are skipped; sentence ids are
    ``file:line``.  Raises :class:`FormatError` for an empty file or bad UTF-8."""
    text, name = read_source(source, name)
    lines = _strip_bom(_split(text))
    if lowercase:
        lines = list(map(str.lower, lines))
    tokens = list(map(str.split, lines))
    keep = [i for i, t in enumerate(tokens) if t]
    if not keep:
        raise FormatError(name, None, "empty file: expected one tokenized sentence a line")
    base = Path(name).name
    stem = base.split(".")[0] if not name.startswith("<") else "default"
    return Corpus(columns={"word": [tokens[i] for i in keep]}, word_column="word",
                  domains=[domain or stem] * len(keep),
                  sent_ids=[f"{base}:{i + 1}" for i in keep], doc_ids=[base] * len(keep),
                  source=name, format="text")


def write_text(corpus: Corpus | TokenLists, path: Target) -> None:
    """Write token lists (a :class:`Corpus` or a list of token lists) one sentence a line,
    tokens separated by a space, atomically."""
    sentences = corpus.sentences if isinstance(corpus, Corpus) else corpus
    atomic_write(path, "".join(" ".join(s) + "\n" for s in sentences))


def check_plain_text(lines: list[str], name: str) -> None:
    """Refuse what is not plain tokenized text, naming the file and line: a binary file (a
    NUL byte) or a column file (CoNLL-U, CoNLL) given as text, whose ids, lemmas and tags
    would all become "words".

    Raises
    ------
    FormatError
    """
    for i, line in enumerate(lines):
        if "\x00" in line:
            raise FormatError(name, i + 1, "a NUL byte: this is a binary file, not text; expected "
                              "plain tokenized text (one sentence a line), CoNLL or CoNLL-U")
    from .detect import SNIFF_LINES, sniff_format

    kind = sniff_format(lines[:SNIFF_LINES])
    if kind in ("conllu", "conll"):
        i, line = next((i, line) for i, line in enumerate(lines) if line.strip())
        what = "CoNLL-U" if kind == "conllu" else "a CoNLL column file"
        raise FormatError(name, i + 1, f"this looks like {what}, not plain text (one token a "
                          f"line in columns: {line[:50]!r}); give the file a .conllu / .conll "
                          f"name or say its format, and its words are used")


def read_unlabeled(source: TextSource, fmt: str | None = None, *, name: str | None = None,
                   segmenter: Segmenter | None = None,
                   warn: Callable[[str], object] | None = None) -> list[list[str]]:
    """All sentences (token lists) of unlabeled text: :func:`iter_unlabeled` as a list
    (tokenized or raw text, JSON lines, gzip, or the words of a CoNLL / CoNLL-U file).

    Raises
    ------
    FormatError
        A binary file, a column file given as text, bad UTF-8, or no sentence at all.
    """
    return list(iter_unlabeled(source, fmt, name=name, segmenter=segmenter, warn=warn))


# ------------------------------------------------------------------ one reader of text
#: a "sentence" of unlabeled text longer than this is cut (at sentence-final punctuation,
#: else at the limit): one 200,000-token line costs EM far more time and memory than the
#: same tokens in sentences
MAX_SENTENCE_TOKENS = 1000
#: raw text is segmented this many characters (about) at a time, cut at line ends
RAW_BLOCK_CHARS = 1 << 20
_FINAL = frozenset((".", "?", "!", "...", "\u2026"))


def open_input(source):
    """A binary line stream of ``source`` (a path, or a binary / text stream or an iterable
    of lines, given back as it is), decompressed when its first bytes are gzip's magic
    whatever the name; and whether the caller must close it."""

    from .detect import GZIP_MAGIC

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{os.fspath(source)}: no such file")
        f = open(path, "rb")  # noqa: SIM115 - returned, for the caller to close
        if f.peek(2)[:2] == GZIP_MAGIC:
            return _named_gzip_file()(fileobj=f, mode="rb"), True
        return f, True
    return source, False


@functools.cache
def _named_gzip_file():
    """``gzip.GzipFile`` whose reads turn broken or truncated gzip data (``EOFError``,
    ``gzip.BadGzipFile``, ``zlib.error``) into a :class:`FormatError` naming the file
    (gzip is imported on first use)."""
    import gzip
    import zlib

    broken = (EOFError, gzip.BadGzipFile, zlib.error)

    def guarded(method):
        def read(self, *args):
            try:
                return method(self, *args)
            except broken as exc:
                raise FormatError(self.name, None, f"broken gzip data: {exc}") from None
        return read

    return type("NamedGzipFile", (gzip.GzipFile,), {
        m: guarded(getattr(gzip.GzipFile, m))
        for m in ("read", "read1", "readline", "readlines", "peek", "readinto", "seek")})


def split_long(sentences, limit: int = MAX_SENTENCE_TOKENS):
    """``(pieces, n_long, longest)``: the sentences with each one longer than ``limit``
    tokens cut after sentence-final punctuation (``. ? !``), and pieces still longer cut
    every ``limit`` tokens.

    Examples
    --------
    >>> split_long([["a", "b", ".", "c", "d", "e"], ["f"]], limit=3)[0]
    [['a', 'b', '.'], ['c', 'd', 'e'], ['f']]
    """
    out, n_long, longest = [], 0, 0
    for s in sentences:
        if len(s) <= limit:
            out.append(s)
            continue
        n_long += 1
        longest = max(longest, len(s))
        start = 0
        for i, token in enumerate(s):
            if token in _FINAL:
                out.extend(s[a:min(a + limit, i + 1)] for a in range(start, i + 1, limit))
                start = i + 1
        out.extend(s[a:a + limit] for a in range(start, len(s), limit))
    return out, n_long, longest


def _raw_blocks(lines, name: str, block_chars: int) -> Iterator[str]:
    """Decoded text of about ``block_chars`` characters at a time, cut after a blank line
    when there is one (a paragraph ends no later than there), else at a line end."""
    block, size, line_no = [], 0, 1
    for raw in lines:
        try:
            line = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
        except UnicodeDecodeError as exc:
            raise FormatError(name, line_no, f"byte 0x{raw[exc.start]:02x} at column "
                              f"{exc.start + 1} is not valid UTF-8; expected a UTF-8 file, try "
                              f"re-encoding it, e.g. `iconv -f latin1 -t utf-8`") from None
        if line_no == 1:
            line = line.lstrip(_BOM)
        line_no += 1
        block.append(line)
        size += len(line)
        if size >= block_chars and (not line.strip() or size >= 4 * block_chars):
            yield "".join(block)
            block, size = [], 0
    if block:
        yield "".join(block)


def _jsonl_texts(lines, name: str) -> Iterator[str]:
    import json

    for line_no, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise FormatError(name, line_no, f"not a JSON object ({exc}); expected JSON lines, "
                              f"one object a line with a \"text\" field") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            what = type(obj).__name__ if not isinstance(obj, dict) else \
                f"an object with the keys {sorted(obj)[:5]}"
            raise FormatError(name, line_no, f"expected a JSON object with a \"text\" field "
                              f"(a string), got {what}")
        yield obj["text"]


def iter_unlabeled(source: TextSource, fmt: str | None = None, *, name: str | None = None,
                   segmenter: Segmenter | None = None, max_length: int = MAX_SENTENCE_TOKENS,
                   warn: Callable[[str], object] | None = None) -> Iterator[list[str]]:
    """Sentences (token lists) of unlabeled text, streamed: the one reader of ``train
    --unlabeled``, ``train-hmm --text`` and the NER recipe's text.

    Parameters
    ----------
    source : path, binary or text stream, or iterable of lines
        gzip-compressed files (of any format) are told by their first bytes.
    fmt : {"text", "raw", "jsonl", "conll", "conllu"}, optional
        ``text``: tokenized, one sentence a line; ``raw``: running text, split into
        sentences and tokens by ``segmenter``; ``jsonl``: one JSON object a line whose
        ``"text"`` field is raw text.  Default: told from the name, else the first lines
        (:func:`hmmtl.io.detect.sniff_input`); what cannot be told is an error that asks
        for the format.
    segmenter : Segmenter, optional
        For raw text; default :meth:`Segmenter.default`.
    max_length : int
        Longer sentences are cut (:func:`split_long`), and ``warn`` is told once per file.
    warn : callable, optional
        Called with one message; default :func:`warnings.warn`.

    Raises
    ------
    FormatError
        A binary file, UTF-16 / UTF-32, bad UTF-8, a column file named as text, an input
        whose kind cannot be told, or no sentence at all.
    """
    from .detect import (SNIFF_LINES, check_encoding, format_from_name_gz, peek_lines,
                         sniff_input)

    if name is None:
        name = source_name(source)
    stream, close = open_input(source)
    try:
        head, lines = peek_lines(iter(stream), SNIFF_LINES)
        first = head[0] if head else b""
        if isinstance(first, (bytes, bytearray)):
            check_encoding(b"".join(head[:20])[:4096], name)
        elif "\x00" in "".join(head[:20]):
            raise FormatError(name, None, "a NUL byte: this is a binary file, not text")
        named = fmt or (format_from_name_gz(name) if not name.startswith("<") else None)
        sniffed = sniff_input(head)
        if fmt is None:
            fmt = _choose(named, sniffed, head, name)
        n = 0
        n_long = longest = 0
        for batch in _sentences(lines, fmt, name, segmenter):
            batch, k, m = split_long(batch, max_length)
            n_long, longest = n_long + k, max(longest, m)
            n += len(batch)
            yield from batch
        if n_long:
            message = (f"{name}: {n_long} sentence(s) longer than {max_length} tokens (the "
                       f"longest {longest}) cut into pieces of at most {max_length} tokens, "
                       f"after sentence-final punctuation where there is some; "
                       f"expected one sentence a line (or give raw text as --input raw)")
            if warn is None:
                import warnings

                warnings.warn(message, stacklevel=2)
            else:
                warn(message)
        if not n:
            raise FormatError(name, None, "empty file: expected text (raw, or one tokenized "
                              "sentence a line)")
    finally:
        if close:
            stream.close()


def _choose(named, sniffed, head, name) -> str:
    """The format of an input from its name and its first lines: the content wins a
    disagreement only between raw and tokenized text; a column file named as text (or
    the reverse) is an error that says both."""
    what = {"conllu": "CoNLL-U", "conll": "a CoNLL column file", "jsonl": "JSON lines",
            "raw": "raw running text", "text": "tokenized text (one sentence a line)"}
    from .detect import sniff_format

    if named is None:
        if sniffed is None and sniff_format(head) is None:
            raise FormatError(name, None, "cannot tell whether this is CoNLL (one token a "
                              "line) or plain text (one sentence a line); give --format conll "
                              "or --format text")
        if sniffed is None:
            raise FormatError(name, None, "cannot tell whether this is raw running text or "
                              "tokenized text (one sentence a line): punctuation is both "
                              "attached to words and spaced; give --input raw or --input "
                              "tokenized (--text-format for unlabeled text)")
        return sniffed
    if named == "text":
        if sniffed in ("conllu", "conll", "jsonl"):
            line = next((_line(h).rstrip("\r\n") for h in head if _line(h).strip()), "")
            raise FormatError(name, None, f"the name says text but this looks like "
                              f"{what[sniffed]}, not plain text ({line[:50]!r}); give the "
                              f"format (--format {sniffed} / --input {sniffed}) to read it as "
                              f"such, or rename the file")
        from .detect import sniff_text_kind

        kind = sniffed if sniffed is not None else sniff_text_kind(head)
        if kind is None:
            raise FormatError(name, None, "cannot tell whether this is raw running text or "
                              "tokenized text (one sentence a line): punctuation is both "
                              "attached to words and spaced; give --input raw or --input "
                              "tokenized (--text-format for unlabeled text)")
        return kind
    return named


def _line(h) -> str:
    return h.decode("utf-8", "replace") if isinstance(h, (bytes, bytearray)) else h


def _sentences(lines, fmt: str, name: str, segmenter) -> Iterator[list[list[str]]]:
    if fmt in ("raw", "jsonl"):
        if segmenter is None:
            from .segment import Segmenter

            segmenter = Segmenter.default()
        if fmt == "raw":
            texts = _raw_blocks(lines, name, RAW_BLOCK_CHARS)
        else:
            texts = _jsonl_texts(lines, name)
        for text in texts:
            yield segmenter.tokenize(text)
    elif fmt == "text":
        for first_line, batch in _line_batches(lines, 10_000, name):
            if first_line == 1:  # the head decides, as for every input
                check_plain_text(_strip_bom(batch)[:200], name)
            yield [s for s in map(str.split, batch) if s]
    elif fmt in ("conll", "conllu"):
        from .conll import read_conll
        from .conllu import read_conllu

        yield (read_conllu if fmt == "conllu" else read_conll)(lines, name=name).sentences
    else:
        raise ValueError(f"fmt must be one of text, raw, jsonl, conll, conllu; got {fmt!r}")


class TokenStream:
    """Sentences of unlabeled text read again each time they are iterated (never kept),
    stopped after ``max_tokens`` tokens when given: the text of ``train --unlabeled``
    handed to :meth:`hmmtl.Tagger.fit` as a stream.

    Parameters
    ----------
    open_sentences : callable
        Gives a fresh iterator over the sentences (token lists).
    max_tokens : int, optional
        Stop after the sentence that reaches this many tokens (the first sentences in the
        order the files are given).

    Attributes
    ----------
    n_tokens, n_sentences : int
        Tokens and sentences given by the last iteration.

    Examples
    --------
    >>> s = TokenStream(lambda: iter([["a", "b"], ["c"], ["d", "e"]]), max_tokens=3)
    >>> list(s), s.n_tokens
    ([['a', 'b'], ['c']], 3)
    """

    def __init__(self, open_sentences: Callable[[], Iterator[list[str]]],
                 max_tokens: int | None = None):
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1 or None, got {max_tokens}")
        self._open = open_sentences
        self.max_tokens = max_tokens
        self.n_tokens = 0
        self.n_sentences = 0

    def __iter__(self) -> Iterator[list[str]]:
        self.n_tokens = self.n_sentences = 0
        limit = self.max_tokens
        for sentence in self._open():
            self.n_tokens += len(sentence)
            self.n_sentences += 1
            yield sentence
            if limit is not None and self.n_tokens >= limit:
                return
