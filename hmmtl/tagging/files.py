"""Tagging files and streams through the door: an input cut into pieces of a bounded
number of sentences (a document never split for a model that reads documents), each piece
read by :mod:`hmmtl.io`, tagged by :func:`hmmtl.tagging.door.tag_corpus` and written back in
its format with the tags in the column of the plan.  The same functions run in this process
(``hmmtl tag``) and on Dask or Spark workers (``--dask`` / ``--spark``), so every door writes
the same bytes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .door import Plan, needs_notation, plan, tag_corpus, tag_notation

__all__ = ["plan_input", "chunks_of_lines", "write_tagged", "tag_stream", "tag_file", "tag_job",
           "cached_model"]


def _units(stream, fmt: str) -> Iterator[tuple[list, int, bool]]:
    """The stream as units that a batch never splits: ``(lines, n_sentences,
    starts_document)``.  A unit is a run of non-blank lines (one line in plain text) with
    the blank lines after it; a CoNLL ``-DOCSTART-`` run holds no sentence and starts a
    document, a CoNLL-U sentence starts one when its comments hold ``# newdoc``.  Lines
    before the first non-blank one form a unit of their own."""
    lines: list = []
    content = tail = False  # the unit has non-blank lines / blank lines after them
    n_sent, doc = 0, False
    for line in stream:
        blank = not line.strip()
        if not blank and (tail or (fmt == "text" and content)):
            yield lines, n_sent, doc
            lines, content, tail, n_sent, doc = [], False, False, 0, False
        lines.append(line)
        if blank:
            tail = tail or content
            continue
        if fmt == "conll":
            if _starts_with(line, "-DOCSTART-"):
                doc = doc or not content
            elif not n_sent:
                n_sent = 1
        elif fmt == "conllu":
            doc = doc or (not n_sent and _starts_with(line, "# newdoc"))
            n_sent = n_sent or not _starts_with(line, "#")
        else:
            n_sent = 1
        content = True
    if lines:
        yield lines, n_sent, doc


def chunks_of_lines(stream, fmt: str, batch: int,
                    documents: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Cut a line stream into pieces of about ``batch`` sentences, each a valid file of
    its own (cuts only at a blank line followed by a non-blank one), with the 1-based
    number of its first line.  Keeps memory bounded whatever the input size.

    With ``documents`` (a model that reads whole documents), once the stream has shown a
    document (a CoNLL ``-DOCSTART-`` line, a CoNLL-U ``# newdoc`` comment), it is cut only
    where a document starts: a document is never split, and one longer than ``batch``
    sentences makes a longer piece (memory is bounded by the longest document).  Every
    piece holds a sentence, except the only piece of an input without any: document
    headers, comments and blank lines go with the sentences after them, or at the end of
    the input with the last piece."""
    start, count = 1, 0
    piece: list[str] = []
    seen_document = False
    ready = None  # the last complete piece, held until it is known not to be the last
    for lines, n_sent, starts_document in _units(stream, fmt):
        seen_document = seen_document or starts_document
        at_boundary = starts_document or not (documents and seen_document)
        if count >= batch and at_boundary:
            if ready is not None:
                yield ready
            ready = (start, piece)
            start += len(piece)
            piece, count = [], 0
        piece.extend(lines)
        count += n_sent
    if ready is not None and not count:  # only headers or blank lines after the last cut
        ready = (ready[0], ready[1] + piece)
        piece = []
    if ready is not None:
        yield ready
    if piece:
        yield start, piece


def _starts_with(line, prefix: str) -> bool:
    if isinstance(line, bytes):
        return line.lstrip(b" \t").startswith(prefix.encode())
    return line.lstrip(" \t").startswith(prefix)


def _shift_error(exc, name: str, first_line: int):
    """A reader's error on a piece of a stream, with the line number in the whole input."""
    from ..io import FormatError

    line = getattr(exc, "line", None)
    return FormatError(name, None if line is None else line + first_line - 1,
                       getattr(exc, "reason", str(exc)))


def _read_piece(lines, fmt: str, name: str):
    from .. import io

    readers: dict[str, Callable[..., Any]] = {
        "conllu": io.read_conllu, "conll": io.read_conll, "text": io.read_text}
    reader = readers[fmt]
    return reader(lines, name=name)


def write_tagged(corpus, out, predicted, plan: Plan) -> None:
    """``corpus`` written to ``out`` in its format with the tags ``predicted`` where the
    plan says: CoNLL-U in its column (MISC ``KEY=`` for ``misc:KEY``), CoNLL in the column
    given or a new last column, tokenized text as two-column CoNLL (word, tag); a
    multi-task model's tags (a dict) one column per task."""
    from ..io import Corpus, write_conll, write_conllu
    from ..io.columns import with_misc_values

    fmt, column = plan.fmt, plan.where
    if isinstance(predicted, dict):
        _write_tasks(corpus, out, predicted, column, fmt)
    elif fmt == "text":
        corpus = Corpus(columns={"word": [list(s) for s in corpus.sentences], "tag": predicted},
                        word_column="word", label_column="tag", format="conll")
        write_conll(corpus, out, sep="\t")
    elif fmt == "conllu" and isinstance(column, str) and column.startswith("misc:"):
        misc = with_misc_values(corpus.columns["misc"], column[5:], predicted)
        write_conllu(corpus.with_column("misc", misc), out)
    elif fmt == "conllu":
        write_conllu(corpus, out, labels=predicted, column=column)
    elif column is None:  # append the predictions as a new last column
        write_conll(corpus.with_column("predicted", predicted), out)
    else:
        write_conll(corpus, out, labels=predicted, column=column)


def _write_tasks(corpus, out, predicted: dict, meanings: dict, fmt: str) -> None:
    """CoNLL-U: each task in the column of its meaning (XPOS, UPOS, MISC ``Chunk=`` /
    ``NE=``), else MISC ``task=``; CoNLL: one column per task appended in task order;
    tokenized text: the word and one column per task."""
    from ..io import Corpus, write_conll, write_conllu
    from ..io.columns import conllu_place, with_misc_values

    if fmt == "conllu":
        for task, labels in predicted.items():
            at = conllu_place(meanings.get(task)) or f"misc:{task}"
            if at.startswith("misc:"):
                corpus = corpus.with_column(
                    "misc", with_misc_values(corpus.columns["misc"], at[5:], labels))
            else:
                corpus = corpus.with_column(at, labels)
        write_conllu(corpus, out)
        return
    if fmt == "text":
        corpus = Corpus(columns={"word": [list(s) for s in corpus.sentences]},
                        word_column="word", format="conll")
        sep = {"sep": "\t"}
    else:
        sep = {}
    for task, labels in predicted.items():
        corpus = corpus.with_column(f"predicted:{task}", labels)
    write_conll(corpus, out, **sep)


def plan_input(model, stream, fmt: str, **options) -> tuple[Plan, object]:
    """The :class:`Plan` of one input (``options``: those of
    :func:`hmmtl.tagging.door.plan`) and the stream to tag it from.  With ``notation="auto"``
    and a model whose bracket and quote tags may be written another way than the input's
    tag column writes them, the whole input is read once for that column's notation first
    (so that a sentence's tags never depend on its batch): a seekable ``stream`` (a file,
    opened once) is read and rewound; any other (standard input) is first kept in a
    temporary file, which is returned and which the caller closes."""
    p = plan(model, fmt, source=None, **options)
    if p.keep != "auto" or needs_notation(model, fmt, p.where) is None:
        return p, stream
    seekable = getattr(stream, "seekable", None)
    if seekable is not None and seekable():
        start = stream.tell()
        mapping = tag_notation(model, fmt, p.where, stream)
        stream.seek(start)
    else:
        import tempfile

        spool = tempfile.SpooledTemporaryFile(max_size=1 << 26)  # noqa: SIM115 - returned
        spool.writelines(stream)
        spool.seek(0)
        mapping = tag_notation(model, fmt, p.where, spool)
        spool.seek(0)
        stream = spool
    return p._replace(notation=mapping), stream


def tag_stream(model, stream, name: str, plan: Plan, out, batch: int) -> tuple[int, int]:
    """Tag one input (a binary line stream) piece by piece as ``plan`` says and write it to
    ``out``; returns (sentences, tokens)."""
    from ..io import FormatError

    n_sent = n_tok = 0
    pieces = 0
    documents = bool(getattr(model, "uses_documents_", False))
    for first_line, lines in chunks_of_lines(stream, plan.fmt, batch, documents):
        pieces += 1
        try:
            corpus = _read_piece(lines, plan.fmt, name)
        except FormatError as exc:
            raise _shift_error(exc, name, first_line) from None
        write_tagged(corpus, out, tag_corpus(model, corpus, plan), plan)
        n_sent += len(corpus.sentences)
        n_tok += sum(map(len, corpus.sentences))
    if not pieces:  # an empty input: let the reader say so, in its words
        _read_piece([], plan.fmt, name)
    return n_sent, n_tok


def tag_file(model, path: str, plan: Plan, batch: int, name: str | None = None):
    """The tagged text of the file ``path`` and its sentence and token counts: what a Dask
    or Spark worker runs for ``hmmtl tag --dask`` / ``--spark`` (``model``: a model, or the
    path of a model file, loaded once per process by :func:`cached_model`)."""
    import io

    from ..io.text import open_input

    if isinstance(model, (str, os.PathLike)):
        model = cached_model(model)
    out = io.StringIO()
    stream, close = open_input(path)
    try:
        n_sent, n_tok = tag_stream(model, stream, name or os.fspath(path), plan, out, batch)
    finally:
        if close:
            stream.close()
    return out.getvalue(), n_sent, n_tok


def tag_job(model, batch: int, job: tuple):
    """:func:`tag_file` of one ``(path, name, plan)`` job with ``model`` (a model file's
    path: loaded once per process): the function the executors run for each file."""
    path, name, file_plan = job
    return tag_file(model, path, file_plan, batch, name)


_MODELS: dict = {}
_LOCK = threading.Lock()


def cached_model(path: str | os.PathLike):
    """The hmmtl model saved at ``path``, loaded once per process (and again only when the
    file changes): what each Spark executor and Dask worker process calls."""
    from .. import serialize

    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = serialize.load(path)
            _MODELS.clear()   # one model per process at a time: bounded memory
            _MODELS[key] = model
    return model
