"""Raw text in wherever text goes in: format and encoding detection, the one reader of
unlabeled text (raw, tokenized, JSON lines, gzip; over-long sentences cut), ``hmmtl tag
--input raw`` and ``tag_text``, and a model's segmenter kept in its file."""

from __future__ import annotations

import gzip
import io
import json
import sys

import pytest

from hmmtl import AveragedPerceptron, LinearChainCRF
from hmmtl.cli import main
from hmmtl.io import FormatError, Segmenter, iter_unlabeled, read_unlabeled
from hmmtl.io.detect import sniff_encoding, sniff_input, sniff_text_kind
from hmmtl.io.text import split_long
from hmmtl.transfer.pipeline import Tagger
from hmmtl._text_api import TaggedSentence, TaggedToken

X = [["I", "ca", "n't", "believe", "it", "'s", "not", "butter", "!"],
     ["The", "dog", "barks", "."], ["Mr.", "Smith", "is", "here", "."]] * 3
Y = [["PRP", "MD", "RB", "VB", "PRP", "VBZ", "RB", "NN", "."], ["DT", "NN", "VBZ", "."],
     ["NNP", "NNP", "VBZ", "RB", "."]] * 3
RAW = "I can't believe it's not butter! The dog barks.\n\nMr. Smith is here."
CONLL = b"CRICKET NNP I-NP O\n- : O O\nLEICESTERSHIRE NNP I-NP I-ORG\n\nLONDON NNP I-NP I-LOC\n"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("raw") / "m.hmmtl"
    LinearChainCRF(max_iterations=20).fit(X, Y).save(path)
    return str(path)


def _stdin(monkeypatch, data: bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


# ------------------------------------------------------------------ detection
@pytest.mark.parametrize("codec, expected", [
    ("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE"), ("utf-32-le", "UTF-32LE"),
    ("utf-32-be", "UTF-32BE"), ("utf-16", "UTF-16LE"), ("utf-32", "UTF-32LE"),
    ("utf-8", None), ("utf-8-sig", None)])
def test_encodings_are_told_with_or_without_a_byte_order_mark(codec, expected):
    assert sniff_encoding("CRICKET O\nNNP O\nthe dog\n".encode(codec)) == expected


def test_raw_and_tokenized_text_and_json_lines_are_told_apart():
    assert sniff_text_kind(["He said, quietly, that it's fine.", "We're done."]) == "raw"
    assert sniff_text_kind(["He said , quietly , that it 's fine .", "We 're done ."]) == "text"
    assert sniff_text_kind(["a , b , c .", "it's, fine, now, ok."]) is None
    assert sniff_input(['{"id": 1, "text": "Hello there."}']) == "jsonl"
    assert sniff_input(['{"id": 1}']) != "jsonl"
    assert sniff_input(CONLL.decode().splitlines()) == "conll"


# ------------------------------------------------------------------ the unlabeled reader
def test_one_reader_for_raw_tokenized_jsonl_and_gzip(tmp_path):
    raw = tmp_path / "a.txt"
    raw.write_text(RAW)
    expected = Segmenter.default().tokenize(RAW)
    assert read_unlabeled(raw) == expected
    (tmp_path / "b.gz").write_bytes(gzip.compress(RAW.encode()))  # no .txt: told by content
    assert read_unlabeled(tmp_path / "b.gz") == expected
    lines = "".join(json.dumps({"id": i, "text": t}) + "\n"
                    for i, t in enumerate(RAW.split("\n\n")))
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    assert read_unlabeled(tmp_path / "c.jsonl.gz") == expected
    (tmp_path / "d.txt").write_text("the dog barks .\n\na cat .\n")
    assert read_unlabeled(tmp_path / "d.txt") == [["the", "dog", "barks", "."], ["a", "cat", "."]]


def test_json_lines_without_text_name_the_line(tmp_path):
    (tmp_path / "e.jsonl").write_text('{"text": "ok."}\n{"body": "no"}\n')
    with pytest.raises(FormatError, match=r"e\.jsonl:2: expected a JSON object with a \"text\""):
        read_unlabeled(tmp_path / "e.jsonl")


@pytest.mark.parametrize("codec, name", [("utf-16-le", "UTF-16LE"), ("utf-16", "UTF-16LE"),
                                         ("utf-16-be", "UTF-16BE"), ("utf-32", "UTF-32LE")])
def test_utf16_and_utf32_are_refused_naming_the_encoding(tmp_path, codec, name):
    path = tmp_path / "u.txt"
    path.write_bytes("the dog barks .\na cat .\n".encode(codec))
    with pytest.raises(FormatError, match=f"this file is {name}, not UTF-8.*iconv -f {name}"):
        read_unlabeled(path)


def test_split_long_cuts_at_final_punctuation_then_at_the_limit():
    s = ["a"] * 5 + ["."] + ["b"] * 7
    pieces, n_long, longest = split_long([s, ["c"]], limit=4)
    assert pieces == [["a"] * 4, ["a", "."], ["b"] * 4, ["b"] * 3, ["c"]]
    assert (n_long, longest) == (1, 13)
    assert [t for p in pieces for t in p] == s + ["c"]


def test_one_long_line_is_cut_and_said_once(tmp_path):
    path = tmp_path / "long.txt"
    words = ("w " * 9 + ". ") * 300  # 3,000 tokens on one line
    path.write_text(words + "\nshort line .\n")
    told = []
    sentences = list(iter_unlabeled(path, warn=told.append))
    assert max(map(len, sentences)) <= 1000 and sum(map(len, sentences)) == 3003
    assert len(told) == 1 and "1 sentence(s) longer than 1000 tokens (the longest 3000)" in told[0]


def test_train_hmm_warns_of_a_long_line_even_quietly(tmp_path, capsys):
    path = tmp_path / "long.txt"
    path.write_text("the dog barks " * 700 + "\n")
    out = tmp_path / "h.hmmtl"
    assert main(["train-hmm", "--text", str(path), "--states", "2", "--iter", "1", "-q",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "longer than 1000 tokens (the longest 2100)" in err
    assert out.exists()


# ------------------------------------------------------------------ the same rule everywhere
@pytest.mark.parametrize("command", ["tag", "evaluate", "unlabeled", "train-hmm"])
def test_every_command_refuses_utf16_and_a_conll_file_named_txt(command, tmp_path, capsys,
                                                               model_path):
    train = tmp_path / "train.conll"
    train.write_bytes(b"The DT\ndog NN\n\n")
    for content, message in [("the dog barks .\n".encode("utf-16-le"), "is UTF-16LE, not UTF-8"),
                             (CONLL, "looks like a CoNLL column file")]:
        bad = tmp_path / "x.txt"
        bad.write_bytes(content)
        argv = {"tag": ["tag", "--model", model_path, str(bad)],
                "evaluate": ["evaluate", "--model", model_path, "--test", str(bad)],
                "unlabeled": ["train", "--train", str(train), "--unlabeled", str(bad), "-q",
                              "--out", str(tmp_path / "m.hmmtl")],
                "train-hmm": ["train-hmm", "--text", str(bad), "--states", "2", "-q",
                              "--out", str(tmp_path / "h.hmmtl")]}[command]
        assert main(argv) == 1
        out, err = capsys.readouterr()
        assert message in err and str(bad) in err and not out


# ------------------------------------------------------------------ hmmtl tag --input raw
def _conllu_sentences(text):
    blocks = text.strip().split("\n\n")
    return [b.splitlines() for b in blocks]


def test_tag_raw_stdin_writes_conllu_with_offsets(model_path, monkeypatch, capsys):
    text = "I can't believe it's not butter!"
    _stdin(monkeypatch, text.encode() + b"\n")
    assert main(["tag", "--model", model_path, "--input", "raw"]) == 0
    (block,) = _conllu_sentences(capsys.readouterr().out)
    assert block[:2] == ["# sent_id = 1", f"# text = {text}"]
    rows = [line.split("\t") for line in block[2:]]
    assert [r[1] for r in rows] == ["I", "ca", "n't", "believe", "it", "'s", "not", "butter", "!"]
    for r in rows:
        misc = dict(kv.split("=") for kv in r[9].split("|"))
        start, end = map(int, misc["TokenRange"].split(":"))
        assert text[start:end] == r[1]
        assert ("SpaceAfter" in misc) == (end < len(text) and not text[end].isspace())
    assert rows[0][4] == "PRP" and rows[-1][4] == "."  # tags in XPOS: a POS model


def test_tag_raw_file_is_told_by_its_content_and_offsets_are_into_the_file(model_path,
                                                                             tmp_path, capsys):
    path = tmp_path / "story.txt"
    path.write_text(RAW)
    assert main(["tag", "--model", model_path, str(path), "--output-format", "jsonl"]) == 0
    sentences = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(sentences) == 3
    for s in sentences:
        assert RAW[s["start"]:s["end"]] == s["text"]
        assert all(RAW[t["start"]:t["end"]] == t["form"] for t in s["tokens"])
    assert sentences[2]["tokens"][0]["form"] == "Mr."


def test_tag_raw_conll_output_and_json_lines_input(model_path, tmp_path, capsys):
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"text": "The dog barks."}) + "\n")
    assert main(["tag", "--model", model_path, str(path), "--output-format", "conll"]) == 0
    assert capsys.readouterr().out == "The\tDT\ndog\tNN\nbarks\tVBZ\n.\t.\n\n"


def test_tag_raw_empty_input_is_an_error(model_path, monkeypatch, capsys):
    _stdin(monkeypatch, b"  \n\n")
    assert main(["tag", "--model", model_path, "--input", "raw"]) == 1
    assert "no text" in capsys.readouterr().err


# ------------------------------------------------------------------ Python
@pytest.mark.parametrize("make", [
    lambda: LinearChainCRF(max_iterations=20).fit(X, Y),
    lambda: AveragedPerceptron(n_epochs=3, random_state=0).fit(X, Y),
    lambda: Tagger(labeler_params={"max_iterations": 20}).fit(X, Y)])
def test_tag_text_gives_tokens_offsets_and_tags(make):
    model = make()
    tagged = model.tag_text(RAW)
    assert [type(s) for s in tagged] == [TaggedSentence] * 3
    first = tagged[0].tokens[0]
    assert isinstance(first, TaggedToken) and (first.form, first.start, first.end) == ("I", 0, 1)
    assert [t.tag for t in tagged[1].tokens] == list(
        model.predict([["The", "dog", "barks", "."]])[0])
    with pytest.raises(TypeError, match="tag_text expects raw text"):
        model.tag_text(["a", "b"])


def test_a_models_segmenter_is_saved_loaded_and_used(tmp_path):
    import hmmtl

    model = LinearChainCRF(max_iterations=20).fit(X, Y)
    model.segmenter_ = Segmenter(abbreviations={"barks"})
    hmmtl.save(model, tmp_path / "m.hmmtl")
    back = hmmtl.load(tmp_path / "m.hmmtl")
    assert back.segmenter_.to_dict() == model.segmenter_.to_dict()
    # "barks." is an abbreviation to this segmenter: no sentence ends there
    assert [t.form for t in back.tag_text("The dog barks. It is.")[0].tokens][:3] == \
        ["The", "dog", "barks."]
    plain = hmmtl.load(_save_plain(tmp_path))
    assert getattr(plain, "segmenter_", None) is None


def _save_plain(tmp_path):
    path = tmp_path / "plain.hmmtl"
    LinearChainCRF(max_iterations=5).fit(X, Y).save(path)
    return path


def test_gzip_on_stdin_is_read_decompressed(model_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(
        gzip.compress(b"The dog barks.\n")))))
    assert main(["tag", "--model", model_path, "--input", "raw", "--output-format",
                 "conll"]) == 0
    assert capsys.readouterr().out == "The\tDT\ndog\tNN\nbarks\tVBZ\n.\t.\n\n"


@pytest.mark.parametrize("content, message", [
    (b"Fine text.\nna\xefve words here.\n", r"x\.raw:2: byte 0xef at column 3 is not valid UTF-8"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", "a NUL byte: this is a binary file"),
    (("word" * 250_000).encode(), None)])
def test_tag_raw_bad_bytes_are_named_and_a_long_word_is_one_token(content, message, model_path,
                                                                  tmp_path, capsys):
    path = tmp_path / "x.raw"
    path.write_bytes(content)
    code = main(["tag", "--model", model_path, "--input", "raw", "--output-format", "jsonl",
                 str(path)])
    out, err = capsys.readouterr()
    if message is None:
        assert code == 0
        (sentence,) = map(json.loads, out.splitlines())
        assert [(t["start"], t["end"]) for t in sentence["tokens"]] == [(0, 1_000_000)]
    else:
        import re

        assert code == 1 and re.search(message, err) and "Traceback" not in err


@pytest.mark.parametrize("content", [
    b"CRICKET O\nNNP O\nI-NP O\n", b"CRICKET NNP I-NP O\n- : O O\nLEICESTERSHIRE NNP I-NP I-ORG\n",
    b"The DT\ndog NN\nbarks VBZ\n"])
def test_a_small_conll_file_named_txt_is_not_tagged_as_words(content, model_path, tmp_path,
                                                             capsys):
    path = tmp_path / "small.txt"
    path.write_bytes(content)
    assert main(["tag", "--model", model_path, str(path)]) == 1
    out, err = capsys.readouterr()
    assert "the name says text but this looks like a CoNLL column file" in err and not out
    assert main(["tag", "--model", model_path, "--format", "conll", str(path)]) == 0
    assert len([ln for ln in capsys.readouterr().out.splitlines() if ln]) == 3


@pytest.mark.parametrize("data", [b"\x1f\x8b", b"\x1f\x8b\x08\x00garbage that is not deflate"])
def test_broken_gzip_is_an_error_naming_the_file(tmp_path, data):
    """A file that starts with gzip's magic but holds broken or truncated data: one error
    line naming the file, from every reader that opens it."""
    from hmmtl.io.text import open_input

    path = tmp_path / "broken.txt"
    path.write_bytes(data)
    stream, _ = open_input(path)
    with pytest.raises(FormatError, match=r"broken\.txt: broken gzip data"):
        list(stream)
    stream.close()
