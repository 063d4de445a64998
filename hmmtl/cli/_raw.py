"""``hmmtl tag --input raw``: running text (or JSON lines of it) split into sentences and
tokens with their character offsets, tagged, and written as CoNLL-U (``# sent_id``,
``# text``, ``SpaceAfter=No`` and ``TokenRange=start:end`` in MISC, as UDPipe writes them),
CoNLL or JSON lines.  Streamed: about a megabyte of text is held at a time."""

from __future__ import annotations

import json

from ._common import CommandError, predict

#: output formats of raw input
RAW_OUTPUTS = ("conllu", "conll", "jsonl")
#: a model's training column -> where CoNLL-U keeps its tags
_CONLLU_PLACE = {"pos": "xpos", "tag": "xpos", "xpos": "xpos", "upos": "upos",
                 "ner": "NE", "ne": "NE", "entity": "NE", "chunk": "Chunk", "iob": "Chunk"}


def tag_place(model, info: dict, column) -> str:
    """Where the tags go in CoNLL-U: ``"xpos"``, ``"upos"``, or a MISC key (``"NE"``,
    ``"Chunk"``, or the training column's name): ``--tag-column`` when given, else what the
    model was trained on (its file's ``tag_column``), else NE for a recognizer, XPOS
    otherwise."""
    if column is not None:
        name = str(column)
        return name.lower() if name.lower() in ("xpos", "upos") else name
    trained = info.get("tag_column")
    if trained is None:
        return "NE" if type(model).__name__ == "NamedEntityRecognizer" else "xpos"
    return _CONLLU_PLACE.get(str(trained).lower(), str(trained))


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


def _sentences(segmenter, pieces):
    """(document, sentence text, start, end, forms, starts, ends, space_after) per
    sentence; offsets into the input (raw) or into the document's text (JSON lines)."""
    for doc, text, offset in pieces:
        starts, ends, breaks = segmenter.spans(text)
        bounds = breaks + [len(starts)]
        n = len(text)
        first = True
        for a, b in zip(bounds, bounds[1:]):
            s, e = starts[a:b], ends[a:b]
            forms = [text[i:j] for i, j in zip(s, e)]
            space = [j >= n or text[j].isspace() for j in e]
            yield (doc if first else None, text[s[0]:e[-1]], s[0] + offset, e[-1] + offset,
                   forms, [i + offset for i in s], [j + offset for j in e], space)
            first = False


def _write_conllu(out, sent_id, sentence, tags, place):
    doc, text, _, _, forms, starts, ends, space = sentence
    rows = []
    if doc is not None:
        rows.append(f"# newdoc id = {doc}\n")
    rows.append(f"# sent_id = {sent_id}\n# text = {' '.join(text.split())}\n")
    for i, (form, a, b, sp, tag) in enumerate(zip(forms, starts, ends, space, tags), 1):
        misc = [] if place in ("xpos", "upos") else [f"{place}={tag}"]
        if not sp:
            misc.append("SpaceAfter=No")
        misc.append(f"TokenRange={a}:{b}")
        upos, xpos = (tag, "_") if place == "upos" else (("_", tag) if place == "xpos"
                                                        else ("_", "_"))
        rows.append(f"{i}\t{form}\t_\t{upos}\t{xpos}\t_\t_\t_\t_\t{'|'.join(misc)}\n")
    rows.append("\n")
    out.write("".join(rows))


def _write_conll(out, sent_id, sentence, tags, place):
    forms = sentence[4]
    out.write("".join(f"{f}\t{t}\n" for f, t in zip(forms, tags)) + "\n")


def _write_jsonl(out, sent_id, sentence, tags, place):
    doc, text, start, end, forms, starts, ends, space = sentence
    obj = {"sent_id": sent_id, "text": text, "start": start, "end": end,
           "tokens": [{"form": f, "start": a, "end": b, "tag": t, "space_after": sp}
                      for f, a, b, t, sp in zip(forms, starts, ends, tags, space)]}
    if doc is not None:
        obj["doc"] = doc
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


_WRITERS = {"conllu": _write_conllu, "conll": _write_conll, "jsonl": _write_jsonl}


def tag_raw(model, source, name: str, fmt: str, out, *, place: str, output: str,
            batch: int, first_id: int = 1) -> tuple[int, int]:
    """Tag raw text (``fmt`` ``"raw"``) or JSON lines of it (``"jsonl"``) from ``source``
    (a path or a binary line stream) and write ``output``; returns (sentences, tokens)."""
    import itertools

    from ..io import FormatError
    from ..io.segment import Segmenter
    from ..io.text import open_input

    if output not in _WRITERS:
        raise CommandError(f"--output-format {output!r}: expected one of {', '.join(RAW_OUTPUTS)}")
    segmenter = getattr(model, "segmenter_", None) or Segmenter.default("english")
    write = _WRITERS[output]
    stream, close = open_input(source)
    n_sent = n_tok = 0
    try:
        sentences = _sentences(segmenter, _texts(stream, fmt, name))
        while True:
            chunk = list(itertools.islice(sentences, batch))
            if not chunk:
                break
            predicted = predict(model, [s[4] for s in chunk])
            for k, (sentence, tags) in enumerate(zip(chunk, predicted)):
                write(out, first_id + n_sent + k, sentence, tags, place)
            n_sent += len(chunk)
            n_tok += sum(len(s[4]) for s in chunk)
    except FormatError as exc:
        raise CommandError(str(exc)) from None
    finally:
        if close:
            stream.close()
    if not n_sent:
        raise CommandError(f"{name}: no text (empty, or only white space): expected raw text")
    return n_sent, n_tok
