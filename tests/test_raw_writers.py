"""The batch writers of ``hmmtl tag --input raw`` (``hmmtl/cli/_raw.py``) write the bytes of
the per-token writers they replaced: those are kept here as the reference (one f-string and,
for JSON lines, one ``json.dumps`` per sentence), and both run on texts with quotes,
backslashes, control characters, non-ASCII letters, abbreviations, documents and batches of
every size.  The tokenizer's regular expression, which skips the white space before a token
in the same match, is checked against the plain alternation too."""

from __future__ import annotations

import io
import itertools
import json
import re

import pytest

from hmmtl.cli import _raw
from hmmtl.io import segment
from hmmtl.io.segment import Segmenter

TEXTS = [
    'He said "stop\\now" \x01 and left.  Mr. Smith didn\'t care!\n\nNew   paragraph\there...',
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u2019tis \u201cquoted\u201d \U0001F600 :) e.g. U.S. "
    "costs $3.14 (approx.) -- see www.example.com/a?b=c or mail a.b@c.org.",
    "x",
    "   \n\n  ",
    "Ends without a period and with space after   ",
    'Backslash \\ quote " tab\tend. 50% off! "%s" and %d stay.',
]


# ------------------------------------------------------------------ the reference writers
def _reference_sentences(segmenter, pieces):
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


def _reference_conllu(out, sent_id, sentence, tags, place):
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


def _reference_conll(out, sent_id, sentence, tags, place):
    out.write("".join(f"{f}\t{t}\n" for f, t in zip(sentence[4], tags)) + "\n")


def _reference_jsonl(out, sent_id, sentence, tags, place):
    doc, text, start, end, forms, starts, ends, space = sentence
    obj = {"sent_id": sent_id, "text": text, "start": start, "end": end,
           "tokens": [{"form": f, "start": a, "end": b, "tag": t, "space_after": sp}
                      for f, a, b, t, sp in zip(forms, starts, ends, tags, space)]}
    if doc is not None:
        obj["doc"] = doc
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


REFERENCE = {"conllu": _reference_conllu, "conll": _reference_conll, "jsonl": _reference_jsonl}


def _tag(form: str) -> str:
    """A made-up tag that itself needs escaping now and then."""
    return {'"': "''", "\\": "SYM\\", "%": "%s"}.get(form, form[:1].upper() + "X")


def _pieces(as_documents: bool):
    if as_documents:  # JSON lines: one document each, offsets into the document
        return [(k, text, 0) for k, text in enumerate(TEXTS, 1)]
    pieces, offset = [], 0
    for text in TEXTS:  # raw blocks: offsets into the whole input
        pieces.append((None, text, offset))
        offset += len(text)
    return pieces


def _reference(output, pieces, place, first_id):
    out = io.StringIO()
    for k, sentence in enumerate(_reference_sentences(Segmenter.default(), pieces), first_id):
        REFERENCE[output](out, k, sentence, [_tag(f) for f in sentence[4]], place)
    return out.getvalue()


def _batched(output, pieces, place, first_id, batch):
    out, n = io.StringIO(), 0
    for chunk in _raw._batches(_raw._segmented(Segmenter.default(), pieces), batch):
        out.write(_raw._WRITERS[output](chunk, [_tag(f) for f in chunk.forms], first_id + n,
                                        place))
        n += len(chunk.lengths)
    return out.getvalue()


@pytest.mark.parametrize("output", sorted(REFERENCE))
@pytest.mark.parametrize("place", ["xpos", "upos", "NE", "50%"])
@pytest.mark.parametrize("as_documents", [False, True])
@pytest.mark.parametrize("batch", [1, 3, 1000])
def test_batch_writers_give_the_bytes_of_the_per_token_writers(output, place, as_documents,
                                                                batch):
    pieces = _pieces(as_documents)
    expected = _reference(output, pieces, place, first_id=7)
    got = _batched(output, pieces, place, first_id=7, batch=batch)
    assert expected.count("\n") >= 9  # the sample has sentences to compare (9 in JSON lines)
    assert got == expected


def test_batches_keep_every_sentence_once_in_order():
    parts = list(_raw._segmented(Segmenter.default(), _pieces(True)))
    whole = _raw._Sentences.join(parts)
    for batch in (1, 2, 5, 10_000):
        chunks = list(_raw._batches(iter(parts), batch))
        assert all(len(c.lengths) == batch for c in chunks[:-1])
        assert 1 <= len(chunks[-1].lengths) <= batch
        assert _raw._Sentences.join(chunks) == whole
    assert sum(whole.lengths) == len(whole.forms)
    assert [d for d in whole.docs if d is not None] == [1, 2, 3, 5, 6]  # 4 has no token


def _findall_spans(text, pos=0, endpos=None):
    """The token spans of the (space, token) pairs of ``_TOKEN.findall``: their lengths
    added up from ``pos``, as the segmenter computes them."""
    found = segment._TOKEN.findall(text, pos, len(text) if endpos is None else endpos)
    bounds = list(itertools.accumulate(map(len, itertools.chain.from_iterable(found)),
                                       initial=pos))
    return list(zip(bounds[1::2], bounds[2::2]))


def test_the_tokenizer_skipping_white_space_finds_the_tokens_of_the_plain_alternation():
    plain = re.compile(segment._TOKEN_PATTERN)
    # the tokens with the one backreference the pattern had (a repeated character)
    before = re.compile(segment._TOKEN_PATTERN.replace(
        segment._REPEATS, r"([-=*+#~_<>$^])\1+"))
    for text in TEXTS + ["  \t lead", "trail  \n", "a--b ***  ===> <3 can't gonna", "",
                         "--=-== ~~~ ^^^ $$$ ## #x __ ++ -+- <<>> !!?"]:
        expected = [m.span() for m in plain.finditer(text)]
        assert expected == [m.span() for m in before.finditer(text)]
        assert [m.span(2) for m in segment._TOKEN.finditer(text)] == expected
        assert _findall_spans(text) == expected
        for pos, endpos in itertools.combinations(range(0, len(text) + 1, 7), 2):
            expected = [m.span() for m in plain.finditer(text, pos, endpos)]
            assert [m.span(2) for m in segment._TOKEN.finditer(text, pos, endpos)] == expected
            assert _findall_spans(text, pos, endpos) == expected


#: the run-together spellings as one flat alternation (the specification; the tokenizer
#: has them grouped by first letter behind a check of it, for speed)
_FLAT_RUN_TOGETHER = (
    r"(?<![^\W_])(?i:can(?=not" + segment._END + r")|(?:wan|gon)(?=na" + segment._END + r")"
    r"|(?:got|out)(?=ta" + segment._END + r")|a(?=lot" + segment._END + r")"
    r"|i(?=(?:m|ve)" + segment._END + r")|that(?=s" + segment._END + r")"
    r"|(?:do|does|did|is|was|have|has|had|could|would|should|are|were|ca)(?=nt"
    + segment._END + r"))")


def test_the_grouped_run_together_words_split_as_the_flat_alternation():
    words = ("cannot wanna gonna gotta outta alot im ive thats dont doesnt didnt isnt wasnt "
             "havent hasnt hadnt couldnt wouldnt shouldnt arent werent cant").split()
    variants = [w for word in words for w in (word, word.upper(), word.title(),
                                              word[:-1] + word[-1].upper())]
    near = ["cannots", "xcannot", "_dont", "dont_", "dont1", "1dont", "can't", "ca-nt", "Kant",
            "wantt", "outtake", "alots", "image", "island", "thatsa", "doe", "hadn't",
            "\u017fhouldnt", "\u0130m", "\u0131snt", "http://x.org/dont", "wwwdont"]
    text = " ".join(variants + near) + " " + ". ".join(variants) + "dont!cannot?gonna,im;"
    flat = re.compile(r"(\s*+)(" + segment._TOKEN_PATTERN.replace(
        segment._RUN_TOGETHER, _FLAT_RUN_TOGETHER) + ")")
    assert flat.pattern != segment._TOKEN.pattern
    assert segment._TOKEN.findall(text) == flat.findall(text)
    for t in TEXTS:
        assert segment._TOKEN.findall(t) == flat.findall(t)
    tokens = [t for _, t in segment._TOKEN.findall("Cannot DONT gonna Im")]
    assert tokens == ["Can", "not", "DO", "NT", "gon", "na", "I", "m"]


def test_punctuation_tried_first_gives_the_tokens_of_the_full_alternation():
    """The lone punctuation branch tried first (for speed) changes no token: every mark it
    takes is one that no other alternative can start a longer token with."""
    full = re.compile(r"(\s*+)(" + segment._TOKEN_PATTERN.replace(
        segment._PUNCT_ALONE + "|", "", 1) + ")")
    assert full.pattern != segment._TOKEN.pattern
    marks = ",()[]{}\"/\\%&@|.?!:;-'=+*#~_<>$^`"
    followers = marks + "aZ9 \t\n.@+-)(DPpO3*|/\\o^'\u2019"
    text = " ".join(a + b + c for a in marks for b in followers for c in ("", "x", "."))
    text += (" a.b@c.org .x@y.com x.@y.com :) :-) ;-( :D :P =) ... .. ?! !? ?? !!"
             " (a) [b] {c} \"d\" 50% A&B a/b w/o e.g. U.S. 3.14 1,000 10:30 ,5 .5 -.5")
    for t in [text, *TEXTS]:
        assert segment._TOKEN.findall(t) == full.findall(t)
    assert [w for _, w in segment._TOKEN.findall("a.b@c.org .x@y.com :-) ... x.")] == [
        "a.b@c.org", ".x@y.com", ":-)", "...", "x", "."]


def test_a_split_unit_gives_the_sentences_of_the_text():
    """What a tagging process rebuilds from the splitter's arrays (:func:`_raw._sentences`
    of them) is the :class:`_raw._Sentences` of the text split in the process itself, at
    any offset."""
    seg = Segmenter.default()
    pieces = [(None, t, off) for t, off in zip(TEXTS, itertools.count(0, 1000)) if t.strip()]
    _raw._WORK = (None, seg, None, "xpos", 100)
    try:
        spans = _raw._split_unit(pieces)
    finally:
        _raw._WORK = None
    got = [_raw._sentences(doc, text, off, f.split(" "), s, e, b)
           for (doc, text, off), (f, s, e, b) in zip(pieces, spans)]
    assert got == list(_raw._segmented(seg, pieces))
    assert sum(len(g.lengths) for g in got) >= 5


# ------------------------------------------------------------------ multi-task places
def _tasks_tags(form: str, place: tuple) -> tuple:
    """Made-up tags of each task, some needing escaping."""
    return tuple(f"{_tag(form)}{k}" if k else _tag(form) for k in range(len(place)))


def _reference_tasks(output, pieces, place, first_id):
    out = io.StringIO()
    for k, sentence in enumerate(_reference_sentences(Segmenter.default(), pieces), first_id):
        doc, text, start, end, forms, starts, ends, space = sentence
        tags = [_tasks_tags(f, place) for f in forms]
        if output == "conll":
            out.write("".join(f"{f}\t" + "\t".join(t) + "\n" for f, t in zip(forms, tags))
                      + "\n")
        elif output == "jsonl":
            obj = {"sent_id": k, "text": text, "start": start, "end": end,
                   "tokens": [{"form": f, "start": a, "end": b,
                               "tags": {task: tag for (task, _), tag in zip(place, t)},
                               "space_after": sp}
                              for f, a, b, t, sp in zip(forms, starts, ends, tags, space)]}
            if doc is not None:
                obj["doc"] = doc
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        else:
            rows = [f"# newdoc id = {doc}\n"] if doc is not None else []
            rows.append(f"# sent_id = {k}\n# text = {' '.join(text.split())}\n")
            for i, (form, a, b, sp, t) in enumerate(zip(forms, starts, ends, space, tags), 1):
                at = {where: tag for (_, where), tag in zip(place, t)}
                misc = [f"{where}={tag}" for (_, where), tag in zip(place, t)
                        if where not in ("upos", "xpos")]
                if not sp:
                    misc.append("SpaceAfter=No")
                misc.append(f"TokenRange={a}:{b}")
                rows.append(f"{i}\t{form}\t_\t{at.get('upos', '_')}\t{at.get('xpos', '_')}"
                            f"\t_\t_\t_\t_\t{'|'.join(misc)}\n")
            rows.append("\n")
            out.write("".join(rows))
    return out.getvalue()


@pytest.mark.parametrize("output", sorted(REFERENCE))
@pytest.mark.parametrize("place", [(("pos", "xpos"), ("chunk", "Chunk"), ("ner", "NE")),
                                   (("a", "upos"), ("b%", "50%"))])
@pytest.mark.parametrize("as_documents", [False, True])
@pytest.mark.parametrize("batch", [1, 1000])
def test_the_writers_of_a_multi_task_model_give_every_task_in_its_place(output, place,
                                                                         as_documents, batch):
    pieces = _pieces(as_documents)
    expected = _reference_tasks(output, pieces, place, first_id=3)
    out, n = io.StringIO(), 0
    for chunk in _raw._batches(_raw._segmented(Segmenter.default(), pieces), batch):
        out.write(_raw._WRITERS[output](chunk, [_tasks_tags(f, place) for f in chunk.forms],
                                        3 + n, place))
        n += len(chunk.lengths)
    assert expected.count("\n") >= 9
    assert out.getvalue() == expected


def test_outputs_sent_as_bytes_keep_their_order_with_the_text_around_them():
    """Worker processes send complete outputs as UTF-8 bytes only where the stream writes
    text as exactly those bytes; text written before and after stays in order."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    assert _raw._byte_sink(out) is raw
    out.write("first\n")
    write = _raw._writer_of(out)
    write("caf\u00e9 one\n".encode("utf-8"))
    write("two\n")
    write(b"three\n")
    out.write("last\n")
    out.flush()
    assert raw.getvalue().decode("utf-8") == "first\ncaf\u00e9 one\ntwo\nthree\nlast\n"
    for other in (io.StringIO(), io.TextIOWrapper(io.BytesIO(), encoding="latin-1")):
        assert _raw._byte_sink(other) is None
        assert _raw._writer_of(other) == other.write
