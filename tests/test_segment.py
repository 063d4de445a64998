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
    text = "Mr. Smith went to Washington. He saw Dr. Jones! Did he? i think so... then left."
    assert forms(text) == [["Mr.", "Smith", "went", "to", "Washington", "."],
                           ["He", "saw", "Dr.", "Jones", "!"], ["Did", "he", "?"],
                           ["i", "think", "so", "...", "then", "left", "."]]


def test_an_opening_quote_after_a_period_starts_the_next_sentence():
    assert forms('It ended." He added. "Then we left."') == [
        ["It", "ended", ".", '"'], ["He", "added", "."], ['"', "Then", "we", "left", ".", '"']]


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
    assert "dept" in seg.abbreviations and seg.abbreviations >= DEFAULT_ABBREVIATIONS
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


# ------------------------------------------------------------------ the benchmark's scorer
def _bench_raw():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_raw.py"
    spec = importlib.util.spec_from_file_location("bench_raw", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scorer_counts_tokenization_and_splitting_errors():
    score = _bench_raw().score
    # text "I can't." gold: I | ca | n't | .   one sentence
    gold = [[(0, 1, "PRP"), (2, 4, "MD"), (4, 7, "RB"), (7, 8, ".")]]
    assert score(gold, gold) == {"words": 100.0, "sentences": 100.0, "xpos": 100.0}
    # "can't" left whole, one tag wrong: 2 of 3 system words aligned, 1 correct tag among them
    system = [[(0, 1, "PRP"), (2, 7, "MD"), (7, 8, "NN")]]
    s = score(gold, system)
    assert s["words"] == pytest.approx(100 * 2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))
    assert s["xpos"] == pytest.approx(100 * 2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4))
    assert s["sentences"] == 100.0
    # the same words cut into two sentences: no sentence right
    split = [[(0, 1, "PRP"), (2, 4, "MD")], [(4, 7, "RB"), (7, 8, ".")]]
    assert score(gold, split)["sentences"] == 0.0 and score(gold, split)["words"] == 100.0


def test_gold_reader_gives_multiword_tokens_the_characters_of_their_words(tmp_path):
    path = tmp_path / "g.conllu"
    path.write_text("# newdoc id = d1\n# text = I don't.\n1\tI\t_\t_\tPRP\t_\t_\t_\t_\t_\n"
                    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\tSpaceAfter=No\n"
                    "2\tdo\t_\t_\tVBP\t_\t_\t_\t_\t_\n"
                    "3\tn't\t_\t_\tRB\t_\t_\t_\t_\t_\n4\t.\t_\t_\t.\t_\t_\t_\t_\t_\n\n"
                    "# text = Go!\n1\tGo\t_\t_\tVB\t_\t_\t_\t_\tSpaceAfter=No\n"
                    "2\t!\t_\t_\t.\t_\t_\t_\t_\t_\n\n")
    ((text, sentences),) = _bench_raw().read_ewt_documents(path)
    assert text == "I don't. Go!"
    assert [[text[a:b] for a, b, _ in s] for s in sentences] == [["I", "do", "n't", "."],
                                                                  ["Go", "!"]]
    assert sentences[0][1][2] == "VBP"
