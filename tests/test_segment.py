"""The segmenter of raw text: EWT's token conventions, Punkt's sentence decisions, offsets
that give the text back, its parameters as JSON, and bad input."""

from __future__ import annotations

import json
import re

import pytest

from hmmtl.io.segment import DEFAULT_ABBREVIATIONS, Segmenter, Sentence, Token


def forms(text, seg=None):
    return [[t.form for t in s.tokens] for s in (seg or Segmenter.default()).segment(text)]


@pytest.mark.parametrize("text, expected", [
    ("I can't go", ["I", "ca", "n't", "go"]),
    ("don't won't isn't", ["do", "n't", "wo", "n't", "is", "n't"]),
    ("it's John's, we'll, I'm, they've, he'd", ["it", "'s", "John", "'s", ",", "we", "'ll",
                                                ",", "I", "'m", ",", "they", "'ve", ",",
                                                "he", "'d"]),
    ("O'Neil's AT&T", ["O'Neil", "'s", "AT&T"]),
    ("Bare-knuckle box", ["Bare", "-", "knuckle", "box"]),
    ("see http://www.google.com/search?q=a&b=c, ok", ["see", "http://www.google.com/search?q=a&b=c",
                                                      ",", "ok"]),
    ("mail Kevin.A.Boone@accenture.com now", ["mail", "Kevin.A.Boone@accenture.com", "now"]),
    ("great :) really :-)", ["great", ":)", "really", ":-)"]),
    ("wait... what -- 3.14 and 1,000 at 10:30", ["wait", "...", "what", "--", "3.14", "and",
                                                 "1,000", "at", "10:30"]),
    ("the U.S. and e.g. this", ["the", "U.S.", "and", "e.g.", "this"]),
    ("(a) [b]", ["(", "a", ")", "[", "b", "]"]),
])
def test_tokens_follow_ewt_conventions(text, expected):
    assert [f for s in forms(text) for f in s] == expected


def test_sentences_split_at_final_punctuation_not_at_abbreviations():
    text = "Mr. Smith went to Washington. He saw Dr. Jones! Did he? yes he did."
    assert forms(text) == [["Mr.", "Smith", "went", "to", "Washington", "."],
                           ["He", "saw", "Dr.", "Jones", "!"],
                           ["Did", "he", "?", "yes", "he", "did", "."]]


def test_a_closing_quote_stays_with_its_sentence_and_a_blank_line_ends_one():
    assert forms('He said "no." Then left\n\nNew paragraph') == [
        ["He", "said", '"', "no", ".", '"'], ["Then", "left"], ["New", "paragraph"]]


def test_offsets_and_space_after():
    text = "  Hi, there!\nYou."
    sentences = Segmenter.default().segment(text)
    assert [s.text for s in sentences] == ["Hi, there!", "You."]
    tokens = [t for s in sentences for t in s.tokens]
    assert all(text[t.start:t.end] == t.form for t in tokens)
    assert [t.space_after for t in tokens] == [False, True, False, True, False, True]
    assert tokens[0] == Token("Hi", 2, 4, False)
    assert isinstance(sentences[0], Sentence) and sentences[0].start == 2


def test_fit_learns_abbreviations_and_round_trips_through_json():
    text = " ".join(["The dept. of the thing was there. It said so."] * 30
                    + ["Then the thing went home. This was odd."] * 30)
    seg = Segmenter().fit([text])
    assert "dept" in seg.abbreviations and DEFAULT_ABBREVIATIONS <= seg.abbreviations
    data = json.loads(json.dumps(seg.to_dict()))
    back = Segmenter.from_dict(data)
    assert back.to_dict() == seg.to_dict()
    sample = "I went to the dept. of labour. Then I left."
    assert forms(sample, back) == forms(sample, seg)


def test_from_dict_refuses_what_is_not_a_segmenter():
    with pytest.raises(ValueError, match="expected the keys language"):
        Segmenter.from_dict({"abbreviations": []})


@pytest.mark.parametrize("text", ["", "   \n\n\t ", "x" * 1_000_000, "\x00\x01\x02 abc",
                                  "\ufffd\ufffd bad bytes", "a" + "\u0301" * 50])
def test_odd_text_gives_correct_offsets_never_a_crash(text):
    sentences = Segmenter.default().segment(text)
    for s in sentences:
        assert s.tokens and text[s.start:s.end] == s.text
        assert all(text[t.start:t.end] == t.form and t.form.strip() == t.form for t in s.tokens)
    if not text.strip():
        assert sentences == []


def test_bytes_are_refused_with_what_to_do():
    with pytest.raises(TypeError, match="decode bytes first"):
        Segmenter.default().segment(b"abc")


def test_no_default_for_another_language():
    with pytest.raises(ValueError, match="train one"):
        Segmenter.default("german")


def _ewt_texts(data_dir):
    files = sorted((data_dir / "ud" / "en_ewt").glob("*.conllu"))
    if not files:
        pytest.skip("no EWT files")
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.startswith("# text = "):
                yield line[len("# text = "):]


@pytest.mark.data
def test_offsets_give_back_every_token_of_every_ewt_text(data_dir):
    seg = Segmenter.default()
    n = 0
    for text in _ewt_texts(data_dir):
        for s in seg.segment(text):
            for t in s.tokens:
                assert text[t.start:t.end] == t.form, (text, t)
                n += 1
    assert n > 200_000


@pytest.mark.data
def test_offsets_give_back_every_token_of_conll2003(require_file):
    from hmmtl.io import read_conll

    seg = Segmenter.default()
    n = 0
    for name in ("eng.train", "eng.testa", "eng.testb"):
        for words in read_conll(require_file(f"conll2003/{name}")).sentences:
            text = " ".join(words)
            tokens = [t for s in seg.segment(text) for t in s.tokens]
            assert all(text[t.start:t.end] == t.form for t in tokens)
            # the gold tokens are whitespace-separated: no token crosses a space
            assert not any(re.search(r"\s", t.form) for t in tokens)
            n += len(tokens)
    assert n > 250_000
