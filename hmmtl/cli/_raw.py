"""``hmmtl tag --input raw``: running text (or JSON lines of it) split into sentences and
tokens with their character offsets, tagged, and written as CoNLL-U (``# sent_id``,
``# text``, ``SpaceAfter=No`` and ``TokenRange=start:end`` in MISC, as UDPipe writes them),
CoNLL or JSON lines.  Streamed: about a megabyte of text is held at a time."""

from __future__ import annotations

import gc
import itertools
import operator
from collections.abc import Iterable
from typing import NamedTuple

from ..tagging.door import is_multi_task, predict, predict_flat
from ._common import CommandError

#: output formats of raw input
RAW_OUTPUTS = ("conllu", "conll", "jsonl")
#: characters of text in one unit of work of the worker processes (``jobs`` > 1): a unit
#: split and tagged by one worker (the larger: each unit is tagged in batches of its own; on
#: the 2-core machine 128k characters gave the shortest runs on 326k tokens of newsgroup
#: text, against 64k and 256k), or, for a model with document features, a unit split by one
#: worker before the sentences are cut into batches
UNIT_CHARS = 1 << 17
SPLIT_UNIT_CHARS = 1 << 16


def tag_place(model, info: dict, column) -> str | tuple:
    """Where the tags go in CoNLL-U: ``"xpos"``, ``"upos"``, or a MISC key (``"NE"``,
    ``"Chunk"``): ``--tag-column`` when given, else the place of the model's tag meaning
    (the one column rule, :func:`hmmtl.tagging.door.model_meaning`), else XPOS (raw text has
    no gold column to keep).  A multi-task model: ``((task, place), ...)`` in task order,
    each task at the place of its meaning (:func:`hmmtl.tagging.door.task_meanings`), a
    task without one, or whose place an earlier task took, in MISC under its name."""
    from ..io.columns import conllu_place
    from ..tagging.door import is_multi_task, model_meaning, task_meanings

    if is_multi_task(model):
        if column is not None:
            raise CommandError("--tag-column chooses one column; a multi-task model writes "
                               "each task at the place of its meaning (POS in XPOS or UPOS, "
                               "chunks and entities in MISC)")
        places: list = []
        for task, meaning in task_meanings(model, info).items():
            at = conllu_place(meaning) or f"misc:{task}"
            at = at[5:] if at.startswith("misc:") else at
            places.append((task, task if at in {p for _, p in places} else at))
        return tuple(places)
    if column is not None:
        name = str(column)
        if name.lower().startswith("misc:"):
            return name[5:]
        return name.lower() if name.lower() in ("xpos", "upos") else name
    place = conllu_place(model_meaning(model, info)) or "xpos"
    return place[5:] if place.startswith("misc:") else place


def _texts(lines, fmt: str, name: str):
    """(document number or None, text, offset of the text in the input) pieces."""
    from ..io.text import RAW_BLOCK_CHARS, _jsonl_texts, _raw_blocks

    if fmt == "jsonl":
        for k, text in enumerate(_jsonl_texts(lines, name), 1):
            yield k, text, 0
        return
    offset = 0
    for block in _raw_blocks(lines, name, RAW_BLOCK_CHARS):
        yield None, block, offset
        offset += len(block)


class _Sentences(NamedTuple):
    """Sentences of raw text, flat: the tokens of all sentences one after the other
    (``forms``, ``starts``, ``ends``, ``space_after``: offsets into the input for raw text,
    into the document's text for JSON lines), ``lengths`` tokens per sentence, and per
    sentence its ``texts`` (from its first token's start to its last token's end) and
    ``docs`` (the document number on a document's first sentence, else None)."""
    forms: list
    starts: list
    ends: list
    space_after: list
    lengths: list
    texts: list
    docs: list

    def head(self, k: int) -> tuple[_Sentences, _Sentences]:
        """The first ``k`` sentences and the rest."""
        t = sum(self.lengths[:k])
        return (_Sentences(*(f[:t] for f in self[:4]), *(f[:k] for f in self[4:])),
                _Sentences(*(f[t:] for f in self[:4]), *(f[k:] for f in self[4:])))

    @classmethod
    def join(cls, parts) -> _Sentences:
        return cls(*(list(itertools.chain.from_iterable(f)) for f in zip(*parts)))


def _segmented(segmenter, pieces):
    """A :class:`_Sentences` per piece of text that has a token: the token lists are built
    by C-level maps over the segmenter's offsets, never by a Python loop over tokens."""
    for doc, text, offset in pieces:
        forms, starts, ends, breaks = segmenter.token_spans(text)
        if starts:
            yield _sentences(doc, text, offset, forms, starts, ends, breaks)


def _sentences(doc, text: str, offset: int, forms, starts, ends, breaks) -> _Sentences:
    """The :class:`_Sentences` of a piece of text from its tokens (offsets into ``text``:
    lists, or arrays of 64-bit integers as :func:`_split_unit` sends them) and the indices
    of the tokens that start a sentence: the spaces, the sentences' bounds and the offsets
    computed on arrays, made lists once."""
    import numpy as np

    starts, ends, breaks = (np.asarray(a, dtype=np.int64) for a in (starts, ends, breaks))
    # the tokens cover every character but white space, so a token has a space after
    # it when the next one starts later; after the last token of the piece comes white
    # space or the end of the text (counted as a space)
    space = np.ones(starts.shape[0], dtype=bool)
    np.less(ends[:-1], starts[1:], out=space[:-1])
    lasts = np.append(breaks[1:] - 1, starts.shape[0] - 1)
    texts = list(map(text.__getitem__, map(slice, starts[breaks].tolist(),
                                           ends[lasts].tolist())))
    return _Sentences(forms, (starts + offset).tolist(), (ends + offset).tolist(),
                      space.tolist(), (lasts - breaks + 1).tolist(), texts,
                      [doc] + [None] * (breaks.shape[0] - 1))


def _batches(parts, batch: int):
    """:class:`_Sentences` of ``batch`` sentences (the last may have fewer) from pieces of
    any size."""
    pending, count = [], 0
    for part in parts:
        while part is not None:
            room = batch - count
            if len(part.lengths) > room:
                head, part = part.head(room)
            else:
                head, part = part, None
            pending.append(head)
            count += len(head.lengths)
            if count >= batch:
                yield _Sentences.join(pending) if len(pending) > 1 else pending[0]
                pending, count = [], 0
    if pending:
        yield _Sentences.join(pending) if len(pending) > 1 else pending[0]


def _token_ranges(lengths):
    """(first, end) token index of each sentence."""
    ends = list(itertools.accumulate(lengths))
    return zip([0] + ends[:-1], ends)


class _Rendered(NamedTuple):
    """The output of a batch with its sentence numbers left open, so that a worker process
    can write a batch before it knows how many sentences come before it: sentence ``i`` is
    ``heads[i] + str(first_id + i) + tails[i]``; ``heads`` is None for a format that numbers
    no sentence (``tails`` is then the whole text)."""
    heads: list | None
    tails: list

    def text(self, first_id: int) -> str:
        if self.heads is None:
            return "".join(self.tails)
        ids = map(str, range(first_id, first_id + len(self.tails)))
        return "".join(itertools.chain.from_iterable(zip(self.heads, ids, self.tails)))


def _render_conllu(sentences: _Sentences, tags: list, place) -> _Rendered:
    """CoNLL-U of a batch: each sentence from one template of its length (token numbers
    written in it, :func:`_fill`).  ``place`` a tuple (a multi-task model): ``tags`` holds
    a tuple of the tasks' tags per token."""
    if isinstance(place, tuple):
        return _render_conllu_tasks(sentences, tags, place)
    # the columns from LEMMA to MISC's TokenRange= of each (tag, SpaceAfter) pair, written
    # once per batch
    if place == "upos":
        middle = "_\t{}\t_\t_\t_\t_\t_\t{}TokenRange=".format
    elif place == "xpos":
        middle = "_\t_\t{}\t_\t_\t_\t_\t{}TokenRange=".format
    else:
        middle = ("_\t_\t_\t_\t_\t_\t_\t" + place.replace("{", "{{").replace("}", "}}")
                  + "={}|{}TokenRange=").format
    between = {(t, space): middle(t, _SPACE_AFTER[space])
               for t in set(tags) for space in (True, False)}
    return _conllu(sentences, "\t%s\t%s%d:%d\n",
                   [sentences.forms,
                    map(between.__getitem__, zip(tags, sentences.space_after)),
                    sentences.starts, sentences.ends])


def _conllu(sentences: _Sentences, row: str, columns: list) -> _Rendered:
    """CoNLL-U of a batch from the %-template of a token's ``row`` after its ID and the
    ``columns`` that fill it: each sentence's template (its ``# text``, then the row of each
    token with its ID written) made once per length, filled by :func:`_fill`."""
    def template_of(k: int) -> str:
        return "\n# text = %s\n" + "".join(f"{i}{row}" for i in range(1, k + 1)) + "\n"

    texts = zip(map(" ".join, map(str.split, sentences.texts)))
    return _Rendered(_conllu_heads(sentences),
                     _fill(sentences.lengths, template_of, texts, _token_arguments(*columns),
                           len(columns)))


def _token_arguments(*columns) -> list:
    """The columns of the tokens (sequences or iterables of one value per token) laid out
    token by token, ``[c0[0], c1[0], ..., c0[1], c1[1], ...]``, by slice assignments."""
    width = len(columns)
    first = columns[0]
    args: list = [None] * (width * len(first))
    for k, column in enumerate(columns):
        args[k::width] = column
    return args


def _fill(lengths, template_of, heads, args: list, width: int) -> list[str]:
    """One string per sentence: the %-template of its length (``template_of(k)``, made once
    per length in the batch) filled with the sentence's ``heads`` tuple, then its tokens'
    ``width`` arguments each, read from ``args`` (:func:`_token_arguments`) -- C-level
    maps, no Python loop over the tokens or the sentences."""
    templates = {k: template_of(k) for k in set(lengths)}
    ends = list(itertools.accumulate(map(width.__mul__, lengths)))
    slices = map(slice, itertools.chain((0,), ends), ends)
    return list(map(str.__mod__, map(templates.__getitem__, lengths),
                    map(operator.add, heads, map(tuple, map(args.__getitem__, slices)))))


def _conllu_heads(sentences: _Sentences) -> list:
    """What comes before each sentence's number: ``# sent_id = ``, after ``# newdoc id =``
    on a document's first sentence."""
    return [_CONLLU_HEAD if doc is None else f"# newdoc id = {doc}\n{_CONLLU_HEAD}"
            for doc in sentences.docs]


def _render_conllu_tasks(sentences: _Sentences, tags: list, place: tuple) -> _Rendered:
    """:func:`_render_conllu` of a multi-task model: the tasks at UPOS and XPOS there, the
    others in MISC (``Chunk=B-NP|NE=O|``) before ``SpaceAfter`` and ``TokenRange``."""
    n = len(sentences.forms)
    index = {at: k for k, (_, at) in enumerate(place)}
    columns = [map(operator.itemgetter(index[at]), tags) if at in index else ["_"] * n
               for at in ("upos", "xpos")]
    misc_at = [(k, at) for k, (_, at) in enumerate(place) if at not in ("upos", "xpos")]
    template = "".join(f"{at.replace('%', '%%')}=%s|" for _, at in misc_at)
    picked = operator.itemgetter(*[k for k, _ in misc_at]) if misc_at else None
    misc: Iterable[str] = (map(template.__mod__, map(picked, tags)) if picked is not None
                           else [""] * n)
    space = map(_SPACE_AFTER.__getitem__, sentences.space_after)
    return _conllu(sentences, "\t%s\t_\t%s\t%s\t_\t_\t_\t_\t%s%sTokenRange=%d:%d\n",
                   [sentences.forms, *columns, misc, space, sentences.starts, sentences.ends])


def _render_conll(sentences: _Sentences, tags: list, place) -> _Rendered:
    if isinstance(place, tuple):  # a multi-task model: one column per task, in task order
        tags = list(map("\t".join, tags))
    args = _token_arguments(sentences.forms, tags)
    return _Rendered(None, _fill(sentences.lengths, _conll_template,
                                 itertools.repeat(()), args, 2))


def _conll_template(k: int) -> str:
    return "%s\t%s\n" * k + "\n"


def _render_jsonl(sentences: _Sentences, tags: list, place) -> _Rendered:
    """JSON lines of a batch, the bytes of ``json.dumps(..., ensure_ascii=False)``: strings
    escaped by :mod:`json`'s own encoder, each sentence from one template of its length
    (:func:`_fill`).  A multi-task model (``place`` a tuple): ``"tags": {task: tag, ...}``
    instead of ``"tag"``."""
    from json.encoder import encode_basestring

    forms = list(map(encode_basestring, sentences.forms))
    if isinstance(place, tuple):
        fields = ", ".join(f"{encode_basestring(task).replace('%', '%%')}: %s"
                           for task, _ in place)
        token = _JSON_TOKEN.replace('"tag": %s', '"tags": {' + fields + '}')
        columns = [forms, sentences.starts, sentences.ends,
                   *(map(encode_basestring, map(operator.itemgetter(k), tags))
                     for k in range(len(place))),
                   map(_JSON_BOOL.__getitem__, sentences.space_after)]
    else:  # the end of a token of each (tag, space_after) pair written once per batch
        last = {(t, space): f', "tag": {encode_basestring(t)}, "space_after": '
                            f'{_JSON_BOOL[space]}}}'
                for t in set(tags) for space in (True, False)}
        token = _JSON_TOKEN_START
        columns = [forms, sentences.starts, sentences.ends,
                   map(last.__getitem__, zip(tags, sentences.space_after))]
    starts, ends = sentences.starts, sentences.ends
    firsts = itertools.accumulate(sentences.lengths, initial=0)
    lasts = itertools.accumulate(sentences.lengths, initial=-1)
    next(lasts)
    heads = zip(map(encode_basestring, sentences.texts), map(starts.__getitem__, firsts),
                map(ends.__getitem__, lasts))

    def template_of(k: int) -> str:
        return _JSON_SENTENCE.format(", ".join([token] * k))

    tails = _fill(sentences.lengths, template_of, heads, _token_arguments(*columns),
                  len(columns))
    for i in itertools.compress(itertools.count(),
                                map(operator.is_not, sentences.docs, itertools.repeat(None))):
        # a document's first sentence ends with the document's number
        tails[i] = f'{tails[i][:-2]}, "doc": {sentences.docs[i]}}}\n'
    return _Rendered([_JSON_HEAD] * len(tails), tails)


def _writer(render):
    """A writer of a batch with its first sentence number, from its renderer."""
    def write(sentences: _Sentences, tags: list, first_id: int, place: str) -> str:
        return render(sentences, tags, place).text(first_id)
    write.__doc__ = render.__doc__
    return write


_SPACE_AFTER = {True: "", False: "SpaceAfter=No|"}
_JSON_BOOL = {True: "true", False: "false"}
_JSON_TOKEN = '{"form": %s, "start": %d, "end": %d, "tag": %s, "space_after": %s}'
_JSON_TOKEN_START = '{"form": %s, "start": %d, "end": %d%s'
#: a JSON line's sentence after its number, its tokens' templates at ``{}``
_JSON_SENTENCE = ', "text": %s, "start": %d, "end": %d, "tokens": [{}]}}\n'
_CONLLU_HEAD = "# sent_id = "
_JSON_HEAD = '{"sent_id": '
_RENDERERS = {"conllu": _render_conllu, "conll": _render_conll, "jsonl": _render_jsonl}
#: writers of a batch of sentences: (sentences, tags, first sentence number, place) -> text
_WRITERS = {name: _writer(render) for name, render in _RENDERERS.items()}


def tag_raw(model, source, name: str, fmt: str, out, *, place: str | tuple, output: str,
            batch: int, first_id: int = 1, jobs: int = 1, unit_chars: int | None = None,
            log=None, warm: bool = False) -> tuple[int, int]:
    """Tag raw text (``fmt`` ``"raw"``) or JSON lines of it (``"jsonl"``) from ``source``
    (a path or a binary line stream) and write ``output``; returns (sentences, tokens).

    ``jobs`` > 1: segmentation and tagging run in that many worker processes (see
    :func:`_tag_parallel`) when the input has more than one unit of ``unit_chars``
    characters (default :data:`UNIT_CHARS`, or :data:`SPLIT_UNIT_CHARS` for a model with
    document features) and the platform can fork them; the output is the same bytes as with
    one.
    ``log``: called with a message when worker processes are used.  ``warm``: this process
    may load Numba's kernels and start its threading layer (fork-safe) before forking the
    workers, so that they start warm (:func:`_split_then_tag`); only for a process that
    tags from one thread, such as ``hmmtl tag`` (the layer chosen then, the work queue where
    TBB is not installed, is not safe for tagging from several threads at once)."""
    from ..io import FormatError
    from ..io.segment import Segmenter
    from ..io.text import open_input

    if output not in _WRITERS:
        raise CommandError(f"--output-format {output!r}: expected one of {', '.join(RAW_OUTPUTS)}")
    segmenter = getattr(model, "segmenter_", None) or Segmenter.default("english")
    render = _RENDERERS[output]
    stream, close = open_input(source)
    # Python's cyclic garbage collector runs seldom meanwhile (forked workers inherit it):
    # splitting and tagging allocate hundreds of thousands of short-lived containers that
    # reference counting frees, and the collector's passes over them cost about 6 % of
    # the work
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    _keep_freed_memory()
    try:
        pieces = _texts(stream, fmt, name)
        if jobs > 1 and parallel_possible():
            if unit_chars is None:
                unit_chars = (SPLIT_UNIT_CHARS if getattr(model, "uses_documents_", False)
                              else UNIT_CHARS)
            units = _units(pieces, unit_chars)
            first = list(itertools.islice(units, 2))
            if len(first) > 1:  # more than one unit of work: worth the processes
                if log is not None:
                    log(f"{name}: splitting and tagging in {jobs} worker processes")
                n_sent, n_tok = _tag_parallel(
                    model, segmenter, itertools.chain(first, units), out, place=place,
                    render=render, batch=batch, first_id=first_id, jobs=jobs, warm=warm)
            else:
                n_sent, n_tok = _tag_serial(model, segmenter, itertools.chain(*first), out,
                                            place, render, batch, first_id)
        else:
            n_sent, n_tok = _tag_serial(model, segmenter, pieces, out, place, render, batch,
                                        first_id)
    except FormatError as exc:
        raise CommandError(str(exc)) from None
    finally:
        gc.set_threshold(*thresholds)
        if close:
            stream.close()
    if not n_sent:
        raise CommandError(f"{name}: no text (empty, or only white space): expected raw text")
    return n_sent, n_tok


def _keep_freed_memory() -> None:
    """Ask the C library (glibc's ``mallopt``; elsewhere nothing) to keep the memory that
    tagging frees for its next batch instead of handing it back to the system and faulting
    it in again: arrays of up to 32 MB come from the heap, whose top is returned beyond
    256 MB only.  The batches' arrays cost a third fewer page faults (on the 2-core machine
    about 0.1 s of system time of a 326k-token run); the process keeps about the memory of
    its largest batch, which it needed anyway.  Set for the rest of the process (the command
    ends after tagging)."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 256 << 20)
    mallopt(m_top_pad, 16 << 20)


def _tag_chunk(model, chunk: _Sentences, render, place) -> _Rendered:
    """The output of one batch of sentences, its sentence numbers left open (a multi-task
    model's tags: a tuple of the tasks' tags per token, in the order of ``place``)."""
    tags: list
    if is_multi_task(model):
        pred = predict(model, [chunk.forms[a:b] for a, b in _token_ranges(chunk.lengths)])
        tags = list(zip(*(itertools.chain.from_iterable(pred[task]) for task, _ in place)))
    else:
        tags = predict_flat(model, flat=chunk.forms, lengths=chunk.lengths)
    return render(chunk, tags, place)


def _tag_serial(model, segmenter, pieces, out, place, render, batch, first_id):
    n_sent = n_tok = 0
    for chunk in _batches(_segmented(segmenter, pieces), batch):
        out.write(_tag_chunk(model, chunk, render, place).text(first_id + n_sent))
        n_sent += len(chunk.lengths)
        n_tok += len(chunk.forms)
    return n_sent, n_tok


# ----------------------------------------------------------------------------- processes
def default_jobs() -> int:
    """The worker processes of ``--jobs auto``: the CPUs this process may run on (at most
    8)."""
    import os

    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def parallel_possible() -> bool:
    """Whether worker processes can be forked here: the platform forks (Linux), and Numba's
    parallel threads have not been started in this process or run under a fork-safe layer
    (forking a process that runs GNU OpenMP's threads is not safe)."""
    import multiprocessing
    import sys

    if "fork" not in multiprocessing.get_all_start_methods() or sys.platform == "darwin":
        return False
    layer = _running_layer()
    return layer is None or layer in _FORK_SAFE


def _running_layer() -> str | None:
    """The name of the threading layer Numba's parallel kernels run on in this process, None
    before any has run."""
    import sys

    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is None or not getattr(parallel, "_is_initialized", False):
        return None
    return getattr(parallel, "_threading_layer", "")


#: Numba's threading layers that a process can fork under once they run (Numba's
#: documentation: GNU OpenMP, its other layer on Linux, is not)
_FORK_SAFE = ("workqueue", "tbb")


def _fork_safe_threads() -> bool:
    """Whether this process can run Numba's parallel kernels and fork worker processes
    after: its threading layer, running or to be started, is fork-safe.  Where the layer is
    Numba's default choice (``NUMBA_THREADING_LAYER`` not set), it is set to Numba's
    ``forksafe`` choice here (TBB where installed, else the work queue, which is fork-safe
    but not safe for kernels launched from several threads at once: the command tags from
    one thread)."""
    import os
    import sys

    layer = _running_layer()
    if layer is not None:
        return layer in _FORK_SAFE
    numba = sys.modules.get("numba")
    wanted = str(numba.config.THREADING_LAYER if numba is not None
                 else os.environ.get("NUMBA_THREADING_LAYER", "default")).lower()
    if wanted == "default":
        os.environ["NUMBA_THREADING_LAYER"] = "forksafe"
        if numba is not None:
            numba.config.THREADING_LAYER = "forksafe"
        return True
    return wanted in ("forksafe", "safe", *_FORK_SAFE)


def _units(pieces, unit_chars: int):
    """Lists of (document, text, offset) pieces of about ``unit_chars`` characters: raw text
    cut after a blank line only (a blank line ends every sentence, so the cut changes no
    token and no sentence), a JSON-lines document never cut."""
    from ..io.segment import _PARAGRAPH

    unit: list = []
    size = 0
    for doc, text, offset in pieces:
        if doc is None and len(text) > unit_chars:
            pos = 0
            for m in _PARAGRAPH.finditer(text):
                if m.end() - pos >= unit_chars - size:
                    unit.append((None, text[pos:m.end()], offset + pos))
                    yield unit
                    unit, size, pos = [], 0, m.end()
            text, offset = text[pos:], offset + pos
        unit.append((doc, text, offset))
        size += len(text)
        if size >= unit_chars:
            yield unit
            unit, size = [], 0
    if unit:
        yield unit


#: what the forked worker processes tag with: (model, segmenter, renderer, place, batch)
_WORK: tuple | None = None


def _worker_start() -> None:
    """A worker runs one Numba thread (the processes share the CPUs)."""
    import os
    import sys

    if "numba" in sys.modules:
        sys.modules["numba"].set_num_threads(1)
    else:
        os.environ["NUMBA_NUM_THREADS"] = "1"


def _work() -> tuple:
    if _WORK is None:
        raise RuntimeError("no tagging work set up in this process (see _tag_parallel)")
    return _WORK


def _segment_unit(unit) -> _Sentences | None:
    parts = list(_segmented(_work()[1], unit))
    return _Sentences.join(parts) if parts else None


def _tag_unit(chunk: _Sentences, first_id: int, as_bytes: bool = False) -> str | bytes:
    model, _, render, place, _ = _work()
    return _finished(_tag_chunk(model, chunk, render, place), first_id, as_bytes)


def _finished(rendered: _Rendered, first_id: int, as_bytes: bool) -> str | bytes:
    """A worker's output numbered from ``first_id``: text, or its UTF-8 bytes for a stream
    that takes them (:func:`_byte_sink`)."""
    text = rendered.text(first_id)
    return text.encode("utf-8") if as_bytes else text


def _split_and_tag_unit(unit) -> tuple:
    """(sentences, tokens, output with its sentence numbers open) of a unit of text, split
    and tagged in batches of at most ``batch`` sentences in this worker."""
    return _tag_parts(list(_segmented(_work()[1], unit)))


def _split_unit(unit) -> list:
    """The tokens of each piece of text of a unit, compact for the trip to the process that
    tags them: per piece its tokens' forms joined by spaces (a token holds no white space),
    their starts and ends and its sentences' first tokens as arrays of 64-bit integers;
    None for a piece without a token."""
    from array import array

    segmenter = _work()[1]
    out: list = []
    for _, text, _ in unit:
        forms, starts, ends, breaks = segmenter.token_spans(text)
        out.append((" ".join(forms), array("q", starts), array("q", ends), array("q", breaks))
                   if starts else None)
    return out


def _tag_split_unit(unit, spans, first_id: int, as_bytes: bool) -> tuple:
    """:func:`_split_and_tag_unit` of a unit split by :func:`_split_unit`, whose first
    sentence number is known (the splitter counted the sentences before it): its output
    complete, as UTF-8 bytes with ``as_bytes`` (the writing process then only copies
    them)."""
    k, n, rendered = _tag_parts([_sentences(doc, text, offset, f.split(" "), s, e, b)
                                 for (doc, text, offset), (f, s, e, b) in
                                 ((piece, found) for piece, found in zip(unit, spans)
                                  if found)])
    return k, n, None if rendered is None else _finished(rendered, first_id, as_bytes)


def _tag_parts(parts: list) -> tuple:
    """(sentences, tokens, output with its sentence numbers open) of the sentences of a
    unit, tagged in batches of at most ``batch`` sentences in this worker."""
    model, _, render, place, batch = _work()
    if not parts:
        return 0, 0, None
    sentences = _Sentences.join(parts)
    heads: list = []
    tails: list = []
    numbered = True
    for chunk in _batches([sentences], batch):
        rendered = _tag_chunk(model, chunk, render, place)
        if rendered.heads is None:
            numbered = False
        else:
            heads += rendered.heads
        tails += rendered.tails
    return (len(sentences.lengths), len(sentences.forms),
            _Rendered(heads if numbered else None, tails))


def _tag_parallel(model, segmenter, units, out, *, place, render, batch, first_id, jobs,
                  warm=False):
    """Segmentation and tagging in ``jobs`` forked processes, the output written here in the
    input's order.  A model whose tags of a sentence do not depend on the other sentences of
    its batch (all but those with document features): each unit of text is split, tagged
    and written by one worker, its sentence numbers filled in here.  Else each unit is
    segmented by a worker; the sentences are cut into the same batches of ``batch``
    sentences as without workers (a model with document features, such as nl-ner, sees the
    same batches), and each batch is tagged and written by a worker.  At most about
    ``3 * jobs`` tasks are pending at a time (memory stays bounded).  ``warm`` (and a model
    without document features, and a fork-safe threading layer): :func:`_split_then_tag`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    global _WORK
    _WORK = (model, segmenter, render, place, batch)
    context = multiprocessing.get_context("fork")
    try:
        if warm and not getattr(model, "uses_documents_", False) and _fork_safe_threads():
            return _split_then_tag(model, segmenter, units, out, first_id, jobs, context)
        # a worker that dies (killed, out of memory) fails the command (BrokenProcessPool)
        # instead of leaving it waiting
        pool = ProcessPoolExecutor(jobs, context, _worker_start)
        try:
            if getattr(model, "uses_documents_", False):
                return _same_batches(pool, units, out, batch, first_id, 3 * jobs)
            return _unit_by_unit(pool, units, out, first_id, 3 * jobs)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        _WORK = None


#: a text that reaches every compiled kernel of tagging (see :func:`_warm_up`)
_WARM_TEXT = ("Mr. O'Neil's 3 dogs (and 12,000 cats) can't find www.example.com today! "
              "Does THE U.S. agree?  I dunno... e-mail me at a.b@c.org :)\n\n"
              "Zyxqvbnmq foo-bar.  Ok.")

#: units of text split ahead of the tagging processes (:func:`_split_then_tag`)
SPLIT_AHEAD = 8


def _warm_up(model, segmenter) -> None:
    """Numba's import, the model's compiled kernels (from their on-disk cache) and its
    threading layer, loaded in this process by tagging a short text: the processes forked
    after it tag at once, instead of each loading them again."""
    parts = list(_segmented(segmenter, [(None, _WARM_TEXT, 0)]))
    if parts:
        sentences = _Sentences.join(parts)
        predict(model, [sentences.forms[a:b] for a, b in _token_ranges(sentences.lengths)])


def _split_then_tag(model, segmenter, units, out, first_id: int, jobs: int, context
                    ) -> tuple[int, int]:
    """Raw text split in one process and tagged in ``jobs`` others, forked warm: a splitter
    process is forked first and splits the first units (it needs no compiled code) while
    this process loads Numba and the model's kernels (:func:`_warm_up`, a quarter of a
    second); the tagging processes are forked after that and tag at once, instead of each
    loading Numba again.  Each unit is tagged and written by one tagging process, its
    sentence numbers filled in here, in the input's order."""
    import collections
    from concurrent.futures import ProcessPoolExecutor

    splitter = ProcessPoolExecutor(1, context)
    try:
        split: collections.deque = collections.deque()

        def feed():
            while len(split) < SPLIT_AHEAD:
                unit = next(units, None)
                if unit is None:
                    return
                split.append((unit, splitter.submit(_split_unit, unit)))

        units = iter(units)
        feed()
        _warm_up(model, segmenter)
        taggers = ProcessPoolExecutor(jobs, context, _worker_start)

        as_bytes = _byte_sink(out) is not None

        def tagging():
            first = first_id
            while split:
                unit, spans = split.popleft()
                spans = spans.result()
                feed()
                yield taggers.submit(_tag_split_unit, unit, spans, first, as_bytes)
                first += sum(len(found[3]) for found in spans if found)

        try:
            return _write_in_order(tagging(), out, first_id, 3 * jobs)
        finally:
            taggers.shutdown(wait=True, cancel_futures=True)
    finally:
        splitter.shutdown(wait=True, cancel_futures=True)


def _byte_sink(out):
    """The binary buffer under the text stream ``out`` where text written to ``out`` reaches
    it as its UTF-8 bytes unchanged (a UTF-8 stream, and line ends not translated on this
    platform), else None: the worker processes then send their output as those bytes, which
    this process writes without decoding and encoding them again."""
    import os

    buffer = getattr(out, "buffer", None)
    encoding = str(getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if buffer is None or encoding != "utf8" or os.linesep != "\n":
        return None
    return buffer


def _writer_of(out):
    """A writer of outputs to ``out``: text written as text, the bytes of
    :func:`_byte_sink` to its buffer (the text layer emptied into it first, so that the
    order of everything written stays that of the calls)."""
    sink = _byte_sink(out)
    if sink is None:
        return out.write
    out.flush()

    def write(payload):
        if isinstance(payload, bytes):
            sink.write(payload)
        else:
            out.write(payload)
            out.flush()
    return write


def _unit_by_unit(pool, units, out, first_id: int, window: int) -> tuple[int, int]:
    return _write_in_order((pool.submit(_split_and_tag_unit, unit) for unit in units), out,
                           first_id, window)


def _write_in_order(futures, out, first_id: int, window: int) -> tuple[int, int]:
    """Write the output of each unit (a future of (sentences, tokens, output with its
    sentence numbers open)) in the order of ``futures``, its sentences numbered from
    ``first_id`` on; ``futures`` is drawn lazily, at most ``window`` of them pending, so
    that a unit is submitted only when there is room (memory stays bounded)."""
    import collections

    n_sent = n_tok = 0
    pending: collections.deque = collections.deque()
    write = _writer_of(out)

    def drain(wait: bool):
        nonlocal n_sent, n_tok
        while pending and (wait or pending[0].done() or len(pending) >= window):
            k, n, rendered = pending.popleft().result()
            if k:
                write(rendered.text(first_id + n_sent) if isinstance(rendered, _Rendered)
                      else rendered)
                n_sent, n_tok = n_sent + k, n_tok + n

    for future in futures:
        pending.append(future)
        drain(False)
    drain(True)
    return n_sent, n_tok


def _same_batches(pool, units, out, batch: int, first_id: int, window: int) -> tuple[int, int]:
    import collections

    n_sent = n_tok = 0
    segmented: collections.deque = collections.deque()
    tagged: collections.deque = collections.deque()
    write = _writer_of(out)
    as_bytes = _byte_sink(out) is not None

    def drain(wait: bool):
        while tagged and (wait or tagged[0].done() or len(tagged) >= window):
            write(tagged.popleft().result())

    def segmentations():
        for unit in units:
            segmented.append(pool.submit(_segment_unit, unit))
            while segmented and (len(segmented) + len(tagged) >= window
                                 or segmented[0].done()):
                part = segmented.popleft().result()
                if part is not None:
                    yield part
                drain(False)
        while segmented:
            part = segmented.popleft().result()
            if part is not None:
                yield part

    for chunk in _batches(segmentations(), batch):
        tagged.append(pool.submit(_tag_unit, chunk, first_id + n_sent, as_bytes))
        n_sent += len(chunk.lengths)
        n_tok += len(chunk.forms)
        drain(False)
    drain(True)
    return n_sent, n_tok
