"""Readers and writers of hmmtl.io: small fixtures written here, then the real corpora."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmmtl.data import LabelSet, Vocabulary
from hmmtl.io import (CONLL2000_COLUMNS, CONLL2003_COLUMNS, Corpus, FormatError, bilou_to_iob2,
                      bioes_to_iob2, iob2_to_bilou,
                      chunk_spans, concat, convert_scheme, iob1_to_bioes, iob1_to_iob2,
                      iob2_to_bioes, iob2_to_iob1, iter_text, load_nltk, normalize_notation,
                      normalize_tags, normalize_words, read_conll, read_conllu, read_text,
                      write_conll, write_conllu, write_text)

# ----------------------------------------------------------------------------- fixtures
CONLLU = (
    "# newdoc id = weblog-blog1\n"
    "# sent_id = weblog-blog1-0001\n"
    "# text = I can't go (now).\n"
    "1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t3:nsubj\t_\n"
    "2-3\tcan't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tca\tcan\tAUX\tMD\t_\t4\taux\t4:aux\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t4:advmod\t_\n"
    "4\tgo\tgo\tVERB\tVB\t_\t0\troot\t0:root\t_\n"
    "4.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t4:conj\tCopyOf=4\n"
    "5\t(\t(\tPUNCT\t-LRB-\t_\t6\tpunct\t6:punct\tSpaceAfter=No\n"
    "6\tnow\tnow\tADV\tRB\t_\t4\tadvmod\t4:advmod\tSpaceAfter=No\n"
    "7\t)\t)\tPUNCT\t-RRB-\t_\t6\tpunct\t6:punct\tSpaceAfter=No\n"
    "8\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_\n"
    "\n"
    "# sent_id = weblog-blog1-0002\n"
    "1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t0:root\t_\n"
    "\n"
    "# newdoc id = email-mail7\n"
    "# sent_id = email-mail7-0001\n"
    "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t0:root\t_\n"
    "2\t\"\t\"\tPUNCT\t``\t_\t3\tpunct\t3:punct\t_\n"
    "3\tBob\tBob\tPROPN\tNNP\t_\t1\tvocative\t1:vocative\t_\n"
    "4\t\"\t\"\tPUNCT\t''\t_\t3\tpunct\t3:punct\t_\n"
    "\n"
)

CONLL = (
    "-DOCSTART- -X- -X- O\n"
    "\n"
    "EU NNP I-NP I-ORG\n"
    "rejects VBZ I-VP O\n"
    "German JJ I-NP I-MISC\n"
    "\n"
    "Peter NNP I-NP I-PER\n"
    "Blackburn NNP I-NP I-PER\n"
    "\n"
    "-DOCSTART- -X- O O\n"
    "\n"
    "\n"
    "BRUSSELS NNP I-NP I-LOC\n"
    "\n"
    "-DOCSTART- -X- -X- O"
)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


# ----------------------------------------------------------------------------- CoNLL-U
def test_conllu_reads_words_tags_ids_and_skips_ranges_and_empty_nodes(tmp_path):
    c = read_conllu(write(tmp_path, "x.conllu", CONLLU))
    assert len(c) == 3 and c.n_tokens == 8 + 1 + 4
    assert c.sentences[0] == ["I", "ca", "n't", "go", "(", "now", ")", "."]
    assert c.column("upos")[0][:4] == ["PRON", "AUX", "PART", "VERB"]
    assert c.column("xpos")[0][4] == "-LRB-" and c.column(4) is c.column("xpos")
    assert c.column() is c.column("xpos")  # label column by default
    assert c.sent_ids == ["weblog-blog1-0001", "weblog-blog1-0002", "email-mail7-0001"]
    assert c.doc_ids == ["weblog-blog1", "weblog-blog1", "email-mail7"]
    assert c.domains == ["weblog", "weblog", "email"]
    # range before word 2 (position 1), empty node after word 4 (position 4)
    positions = [(pos, line.split("\t")[0]) for pos, line in c.extras[0] if line[0] != "#"]
    assert positions == [(1, "2-3"), (4, "4.1")]


def test_conllu_domain_given_callable_or_from_file_name(tmp_path):
    text = "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n"
    assert read_conllu(write(tmp_path, "x.conllu", text), domain="news").domains == ["news"]
    p = write(tmp_path, "en_ewt-reviews-dev.conllu", text)
    assert read_conllu(p).domains == ["reviews"]
    assert read_conllu(p, domain=lambda sid, doc: sid.split(":")[0]).domains == [p.name]
    assert read_conllu(write(tmp_path, "plain.conllu", text)).domains == ["plain"]


@pytest.mark.parametrize("variant", ["lf", "crlf", "no_final_newline", "extra_blank_lines"])
def test_conllu_round_trip_is_byte_exact(tmp_path, variant):
    text = {"lf": CONLLU, "crlf": CONLLU.replace("\n", "\r\n"),
            "no_final_newline": CONLLU.rstrip("\n"),
            "extra_blank_lines": CONLLU.replace("\n\n#", "\n\n\n#") + "\n"}[variant]
    src = write(tmp_path, "in.conllu", text)
    c = read_conllu(src)
    assert len(c) == 3
    out = tmp_path / "out.conllu"
    write_conllu(c, out)
    assert out.read_bytes() == src.read_bytes()


def test_conllu_writer_puts_predictions_in_the_chosen_column(tmp_path):
    c = read_conllu(write(tmp_path, "x.conllu", CONLLU))
    predicted = [["P"] * n for n in c.lengths.tolist()]
    out = tmp_path / "pred.conllu"
    write_conllu(c, out, labels=predicted, column="upos")
    back = read_conllu(out)
    assert back.column("upos") == predicted
    assert back.column("xpos") == c.column("xpos")  # the other columns untouched
    assert back.extras == c.extras  # comments, range and empty node kept in place
    # flat labels work too, and the default column is XPOS
    write_conllu(c, out, labels=["Q"] * c.n_tokens)
    assert read_conllu(out).flat("xpos") == ["Q"] * c.n_tokens


def test_readers_accept_paths_streams_and_lines(tmp_path):
    p = write(tmp_path, "x.conllu", CONLLU)
    expected = read_conllu(p).sentences
    assert read_conllu(str(p)).sentences == expected
    with open(p, encoding="utf-8") as f:
        assert read_conllu(f).sentences == expected
    with open(p, "rb") as f:
        assert read_conllu(f).sentences == expected
    assert read_conllu(io.StringIO(CONLLU)).sentences == expected
    assert read_conllu(CONLLU.splitlines()).sentences == expected  # lines without "\n"
    assert read_conllu(CONLLU.splitlines(keepends=True)).sentences == expected
    assert read_conll(io.StringIO(CONLL)).sentences[0] == ["EU", "rejects", "German"]


BAD_CONLLU = [
    ("empty", "", None, "empty file"),
    ("blank_only", "\n\n", None, "empty file"),
    ("nine_columns", "1\ta\ta\tX\tX\t_\t0\troot\t_\n\n", 1,
     "expected 10 tab-separated columns, got 9"),
    ("spaces", "1 a a X X _ 0 root _ _\n\n", 1, "needs tabs"),
    ("id_order", "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n3\tb\tb\tX\tX\t_\t1\tdep\t_\t_\n\n", 2,
     "word ID '3' out of order: expected 2"),
    ("id_not_one", "# sent_id = s\n2\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n", 2, "expected 1"),
    ("bad_id", "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\nx\tb\tb\tX\tX\t_\t1\tdep\t_\t_\n\n", 2,
     "bad ID 'x'"),
    ("bad_range", "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n3-4\tbc\t_\t_\t_\t_\t_\t_\t_\t_\n\n", 2,
     "multiword-token range '3-4'"),
    ("bad_empty_node", "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n3.1\tb\tb\tX\tX\t_\t_\t_\t_\t_\n\n", 2,
     "empty node '3.1'"),
    ("empty_field", "1\ta\ta\t\tX\t_\t0\troot\t_\t_\n\n", 1, "column 4 (UPOS) is empty"),
    ("whitespace_line", "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n  \n\n", 2, "only whitespace"),
    ("comments_only", "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n# sent_id = 2\n# text = x\n", 4,
     "no word lines"),
    ("latin1", "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n1\tcaf\xe9\tcaf\xe9\tX\tX\t_\t0\troot\t_\t_\n",
     3, "byte 0xe9 at column 6 is not valid UTF-8"),
]


@pytest.mark.parametrize("case,text,line,message", BAD_CONLLU, ids=[c[0] for c in BAD_CONLLU])
def test_malformed_conllu_names_file_and_line(tmp_path, case, text, line, message):
    data = text.encode("latin-1") if case == "latin1" else text.encode("utf-8")
    p = write(tmp_path, "bad.conllu", data)
    with pytest.raises(FormatError) as info:
        read_conllu(p)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path == str(p) and err.line == line
    where = str(p) if line is None else f"{p}:{line}"
    assert str(err).startswith(where + ": ")
    assert message in str(err)


BAD_CONLL = [
    ("empty", "", None, "empty file"),
    ("only_docstart", "-DOCSTART- -X- -X- O\n\n", None, "no sentences"),
    ("short_line", "a DT B-NP O\nb NN\n\n", 2, "expected 4 columns (word pos chunk ner), got 2"),
    ("not_utf8", b"a DT B-NP O\n\n\xff NN I-NP O\n", 3, "byte 0xff at column 1"),
]


@pytest.mark.parametrize("case,text,line,message", BAD_CONLL, ids=[c[0] for c in BAD_CONLL])
def test_malformed_conll_names_file_and_line(tmp_path, case, text, line, message):
    p = write(tmp_path, "bad.txt", text)
    with pytest.raises(FormatError) as info:
        read_conll(p, CONLL2003_COLUMNS)
    assert info.value.line == line and info.value.path == str(p)
    assert message in str(info.value)
    assert str(info.value).startswith(str(p) if line is None else f"{p}:{line}:")


def test_stream_errors_name_the_stream(tmp_path):
    with pytest.raises(FormatError, match=r"^<input>:1: expected 10"):
        read_conllu(["1\ta\n"])


# ----------------------------------------------------------------------------- CoNLL
def test_conll_docstart_separates_documents_not_sentences(tmp_path):
    c = read_conll(write(tmp_path, "eng.train", CONLL), CONLL2003_COLUMNS)
    assert c.sentences == [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert c.column("ner")[0] == ["I-ORG", "O", "I-MISC"] and c.column(2)[1] == ["I-NP", "I-NP"]
    assert c.doc_ids[0] == c.doc_ids[1] != c.doc_ids[2]
    assert c.domains == ["eng"] * 3 and c.label_column == "ner"
    assert c.sent_ids[0] == "eng.train:3"


@pytest.mark.parametrize("variant", ["as_is", "crlf", "tabs", "final_newline", "no_docstart"])
def test_conll_round_trip_is_byte_exact(tmp_path, variant):
    text = {"as_is": CONLL, "crlf": CONLL.replace("\n", "\r\n"),
            "tabs": CONLL.replace(" ", "\t"), "final_newline": CONLL + "\n\n",
            "no_docstart": "a DT\nb NN\n\nc VB\n"}[variant]
    src = write(tmp_path, "in.txt", text)
    c = read_conll(src)
    assert all(len(s) for s in c.sentences)
    out = tmp_path / "out.txt"
    write_conll(c, out)
    assert out.read_bytes() == src.read_bytes()


def test_conll_writer_replaces_or_adds_a_column(tmp_path):
    c = read_conll(write(tmp_path, "in.txt", CONLL), CONLL2003_COLUMNS)
    pred = [["O"] * n for n in c.lengths.tolist()]
    out = tmp_path / "out.txt"
    write_conll(c, out, labels=pred, column="guess")
    back = read_conll(out, CONLL2003_COLUMNS + ("guess",))
    assert back.column("guess") == pred and back.column("ner") == c.column("ner")
    write_conll(c, out, labels=pred, column="ner")
    back = read_conll(out, CONLL2003_COLUMNS)
    assert back.column("ner") == pred and back.column("pos") == c.column("pos")
    with pytest.raises(ValueError, match="sentence 0 has 3 words but 2 labels"):
        write_conll(c, out, labels=[["O", "O"], ["O", "O"], ["O"]], column="ner")


def test_atomic_write_leaves_no_temporary_file_and_keeps_old_file_on_error(tmp_path):
    c = read_conll(write(tmp_path, "in.txt", CONLL), CONLL2003_COLUMNS)
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(ValueError):
        write_conll(c, out, labels=["O"] * (c.n_tokens - 1))
    assert out.read_text() == "old"
    write_conll(c, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.txt"]


# ----------------------------------------------------------------------------- schemes
def test_scheme_conversions_hand_worked():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG"]
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    bioes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "E-ORG"]
    assert iob1_to_iob2(iob1) == iob2
    assert iob2_to_bioes(iob2) == bioes
    assert iob1_to_bioes(iob1) == bioes
    assert bioes_to_iob2(bioes) == iob2
    assert iob2_to_iob1(iob2) == iob1
    # nested input keeps its nesting; chunks stop at sentence ends
    assert iob1_to_iob2([["I-X", "I-X"], ["I-X"]]) == [["B-X", "I-X"], ["B-X"]]
    assert iob2_to_bioes([["B-X", "I-X"], [], ["I-X"]]) == [["B-X", "E-X"], [], ["S-X"]]
    with pytest.raises(ValueError, match="'S-PER' is not a IOB2 label"):
        iob2_to_bioes(["S-PER"])
    with pytest.raises(ValueError, match="'PER' is not a chunk label"):
        iob1_to_iob2(["PER"])


chunk_labels = st.lists(st.lists(st.sampled_from(["O", "B-A", "I-A", "B-B", "I-B"]), max_size=8),
                        min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(chunk_labels)
def test_conversions_keep_the_chunks(labels):
    spans = chunk_spans(labels)
    key = lambda c: (c.start.tolist(), c.end.tolist(), [c.types[t] for t in c.type])  # noqa: E731
    iob2 = iob1_to_iob2(labels)
    bioes = iob2_to_bioes(iob2)
    iob1 = iob2_to_iob1(iob2)
    for other, scheme in ((iob2, "iob2"), (bioes, "bioes"), (iob1, "iob1")):
        assert key(chunk_spans(other, scheme=scheme)) == key(spans)
    assert bioes_to_iob2(bioes) == iob2
    assert iob1_to_iob2(iob1) == iob2
    assert iob2_to_bioes(bioes_to_iob2(bioes)) == bioes
    # well-formed IOB2: every chunk opens with B-
    flat = [x for s in iob2 for x in s]
    assert sorted(i for i, x in enumerate(flat) if x.startswith("B-")) == spans.start.tolist()
    # BILOU round trips; one-token chunks are U-, longer ones open with B- and close with L-
    bilou = iob2_to_bilou(iob2)
    assert key(chunk_spans(bilou, scheme="bilou")) == key(spans)
    assert bilou_to_iob2(bilou) == iob2 and iob2_to_bilou(bilou_to_iob2(bilou)) == bilou
    assert convert_scheme(convert_scheme(bilou, "bioes"), "bilou") == bilou
    assert convert_scheme(bilou, "iob1") == iob1
    flat = [x for s in bilou for x in s]
    starts, ends = spans.start.tolist(), spans.end.tolist()
    assert [i for i, x in enumerate(flat) if x[0] in "BU"] == starts
    assert [i + 1 for i, x in enumerate(flat) if x[0] in "LU"] == ends
    assert all((flat[b][0] == "U") == (e - b == 1) for b, e in zip(starts, ends))


def test_bilou_hand_worked():
    iob2 = ["B-PER", "I-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    bilou = ["B-PER", "I-PER", "L-PER", "U-PER", "O", "U-LOC", "B-ORG", "L-ORG"]
    assert iob2_to_bilou(iob2) == bilou
    assert bilou_to_iob2(bilou) == iob2
    assert convert_scheme(bilou, "iobes") == iob2_to_bioes(iob2)
    assert convert_scheme(iob2_to_bioes(iob2), "bilou") == bilou
    with pytest.raises(ValueError, match="not a BILOU label"):
        chunk_spans(["S-PER"], scheme="bilou")
    with pytest.raises(ValueError, match="not a BIOES label"):
        chunk_spans(["U-PER"], scheme="bioes")


# ----------------------------------------------------------------------------- notation
def test_normalize_words_and_tags_both_ways():
    sent = ['He', 'said', '"', '(', 'hi', ')', '"', '{', 'x', '}', '[', 'y', ']', '"']
    ptb = normalize_words(sent, "ptb")
    assert ptb == ['He', 'said', '``', '-LRB-', 'hi', '-RRB-', "''", '-LCB-', 'x', '-RCB-',
                   '-LSB-', 'y', '-RSB-', '``']
    assert normalize_words(ptb, "plain") == sent
    # quote parity restarts in each sentence
    assert normalize_words([['"', 'a'], ['"', 'b', '"']]) == [['``', 'a'], ['``', 'b', "''"]]
    assert normalize_tags([['NN', '(', ')', '-NONE-']], "ptb") == [['NN', '-LRB-', '-RRB-',
                                                                    '-NONE-']]
    assert normalize_tags(['-LRB-', '-RRB-', 'NN'], "plain") == ['(', ')', 'NN']
    with pytest.raises(ValueError, match="'ptb', 'plain' or None"):
        normalize_words(sent, "wsj")


def test_normalize_notation_on_a_corpus(tmp_path):
    c = read_conllu(write(tmp_path, "x.conllu", CONLLU))
    n = normalize_notation(c, words="ptb", tags="plain")
    assert n.sentences[0][4:7] == ["-LRB-", "now", "-RRB-"]
    assert n.sentences[2] == ["Hi", "``", "Bob", "''"]
    assert n.column("xpos")[0][4:7] == ["(", "RB", ")"]
    assert c.sentences[0][4] == "(" and c.column("xpos")[0][4] == "-LRB-"  # input untouched


# ----------------------------------------------------------------------------- corpus
def test_corpus_select_concat_and_batches(tmp_path):
    a = read_conllu(write(tmp_path, "a.conllu", CONLLU))
    b = read_conll(write(tmp_path, "b.txt", CONLL), ("word", "xpos", "chunk", "ner"))
    sub = a[1:]
    assert sub.sentences == a.sentences[1:] and sub.domains == ["weblog", "email"]
    assert a.select(np.array([False, True, True])).sent_ids == sub.sent_ids
    assert a[-1].sentences == [a.sentences[-1]]
    with pytest.raises(IndexError, match="out of range"):
        a.select([5])
    with pytest.raises(ValueError, match="cannot concatenate corpora with columns"):
        concat([a, b])
    both = concat([a, a[:1].with_domain("news")])
    assert both.domains == ["weblog", "weblog", "email", "news"] and len(both) == 4
    vocab = Vocabulary().fit(both)
    labels = LabelSet().fit(both.column("xpos"))
    batch = both.to_batch(vocab, labels)
    assert batch.n_sequences == 4 and batch.n_tokens == both.n_tokens
    assert batch.domains.tolist() == [0, 0, 1, 2]
    assert batch.meta["domain_names"] == ["weblog", "email", "news"]
    assert labels.decode(batch.labels) == both.flat("xpos")
    assert vocab.decode(batch.ids) == both.flat("form")
    batch = both.to_batch(vocab, domain_index={"email": 0, "weblog": 1, "news": 2})
    assert batch.domains.tolist() == [1, 1, 0, 2] and batch.labels is None
    with pytest.raises(ValueError, match=r"domains \['news'\] are not in domain_index"):
        both.to_batch(vocab, domain_index=["weblog", "email"])
    with pytest.raises(KeyError, match="no column 'ner'"):
        a.column("ner")
    assert b.column("word") is b.sentences and b.tagged_sents("xpos")[1] == [
        ("Peter", "NNP"), ("Blackburn", "NNP")]


def test_any_corpus_writes_as_conllu_and_conll(tmp_path):
    c = Corpus({"word": [["a", "b"], ["c"]], "pos": [["DT", "NN"], ["VB"]]}, label_column="pos")
    out = tmp_path / "x.conllu"
    write_conllu(c, out)
    back = read_conllu(out)
    assert back.sentences == c.sentences and back.column("xpos") == c.column("pos")
    assert back.column("id") == [["1", "2"], ["1"]] and back.column("lemma") == [["_", "_"], ["_"]]
    bad = c.with_column("chunk", [["B-NP", "I-NP"], ["O"]])
    with pytest.raises(ValueError, match=r"columns \['chunk'\] have no place in CoNLL-U"):
        write_conllu(bad, out)
    write_conll(back, tmp_path / "x.txt", columns=["form", "xpos"])
    assert (tmp_path / "x.txt").read_text() == "a DT\nb NN\n\nc VB\n\n"


tokens = st.text(alphabet=st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(tokens, tokens), min_size=1, max_size=5), min_size=1,
                max_size=5))
def test_conll_write_read_round_trip_property(tmp_path_factory, sentences):
    words = [[w for w, _ in s] for s in sentences]
    tags = [[t for _, t in s] for s in sentences]
    c = Corpus({"word": words, "tag": tags})
    out = tmp_path_factory.mktemp("rt") / "x.txt"
    write_conll(c, out)
    back = read_conll(out, ("word", "tag"))
    assert back.sentences == words and back.column("tag") == tags
    write_conllu(c.with_column("xpos", tags), out)
    assert read_conllu(out).column("xpos") == tags


def test_corpus_validates_alignment():
    with pytest.raises(ValueError, match="sentence 1 has 2 words but 1 labels in column 'pos'"):
        Corpus({"word": [["a"], ["b", "c"]], "pos": [["X"], ["Y"]]})


# ----------------------------------------------------------------------------- text
def test_plain_text_reader_streams_in_batches(tmp_path):
    lines = [f"w{i} x y" for i in range(25)]
    lines[3] = ""  # a blank line is not a sentence
    p = write(tmp_path, "raw.txt", "\r\n".join(lines) + "\r\n")
    batches = list(iter_text(p, batch_size=10))
    assert [len(b) for b in batches] == [9, 10, 5]
    assert batches[0][0] == ["w0", "x", "y"] and batches[2][-1] == ["w24", "x", "y"]
    vocab = Vocabulary().fit(x for b in batches for x in b)
    encoded = list(iter_text(p, batch_size=10, vocab=vocab))
    assert [b.n_sequences for b in encoded] == [9, 10, 5]
    assert vocab.decode(encoded[1].ids)[:3] == ["w10", "x", "y"]
    c = read_text(p, domain="web")
    assert len(c) == 24 and c.sent_ids[3] == "raw.txt:5" and c.domains[0] == "web"
    with open(p, encoding="utf-8") as f:
        assert [s for b in iter_text(f, batch_size=7) for s in b] == c.sentences
    out = tmp_path / "out.txt"
    write_text(c, out)
    assert read_text(out).sentences == c.sentences


def test_plain_text_errors_name_the_line(tmp_path):
    p = write(tmp_path, "raw.txt", b"a b\nc d\n\xc3\x28 e\n")
    with pytest.raises(FormatError, match=r"raw\.txt:3: byte 0xc3"):
        list(iter_text(p, batch_size=2))
    with pytest.raises(FormatError, match=r"raw\.txt:3: byte 0xc3"):
        read_text(p)
    with pytest.raises(FormatError, match="empty file"):
        read_text(write(tmp_path, "empty.txt", "\n \n"))


# ----------------------------------------------------------------------------- NLTK (mini)
MRG = """( (S (NP-SBJ (NNP Pierre) (NNP Vinken))
    (VP (VBD said) (SBAR (-NONE- 0) (S (NP-SBJ (-NONE- *T*-1)) (VP (VBD rose)))))
    (. .)))
( (S (NP (-LRB- -LRB-) (NN x) (-RRB- -RRB-)) (. .)))
"""


def test_load_nltk_treebank_drops_traces_on_request(tmp_path):
    root = tmp_path / "data" / "nltk_data" / "corpora"
    root.mkdir(parents=True)
    with zipfile.ZipFile(root / "treebank.zip", "w") as z:
        z.writestr("treebank/combined/wsj_0001.mrg", MRG)
    c = load_nltk("treebank", tmp_path / "data")
    assert c.sentences == [["Pierre", "Vinken", "said", "rose", "."], ["-LRB-", "x", "-RRB-", "."]]
    assert c.column("pos")[0] == ["NNP", "NNP", "VBD", "VBD", "."]
    assert c.doc_ids == ["wsj_0001.mrg"] * 2 and c.domains == ["wsj", "wsj"]
    kept = load_nltk("treebank", tmp_path / "data" / "nltk_data", drop_traces=False)
    assert kept.column("pos")[0].count("-NONE-") == 2 and kept.n_tokens == c.n_tokens + 2
    with pytest.raises(ValueError, match="has no splits"):
        load_nltk("treebank", tmp_path / "data", split="train")
    with pytest.raises(ValueError, match="unknown NLTK corpus"):
        load_nltk("penn", tmp_path / "data")


# ============================================================================= real corpora
EWT_COUNTS = {  # data README: sentences / tokens
    ("answers", "train"): (2631, 43480), ("answers", "dev"): (419, 5188),
    ("answers", "test"): (438, 5331),
    ("email", "train"): (3770, 46255), ("email", "dev"): (523, 5443),
    ("email", "test"): (606, 6107),
    ("newsgroup", "train"): (1833, 34978), ("newsgroup", "dev"): (274, 4286),
    ("newsgroup", "test"): (284, 3780),
    ("reviews", "train"): (2725, 44811), ("reviews", "dev"): (554, 5396),
    ("reviews", "test"): (535, 5381),
    ("weblog", "train"): (1585, 35053), ("weblog", "dev"): (231, 4834),
    ("weblog", "test"): (214, 4495),
}


@pytest.fixture(scope="module")
def ewt(require_file):
    return {key: read_conllu(require_file(f"ud/en_ewt/en_ewt-{key[0]}-{key[1]}.conllu"))
            for key in EWT_COUNTS}


@pytest.mark.data
def test_ewt_counts_domains_and_round_trip(ewt, tmp_path):
    total = 0
    for (domain, split), corpus in ewt.items():
        assert (len(corpus), corpus.n_tokens) == EWT_COUNTS[domain, split], (domain, split)
        assert set(corpus.domains) == {domain}
        total += len(corpus)
        out = tmp_path / "out.conllu"
        write_conllu(corpus, out)
        assert out.read_bytes() == Path(corpus.source).read_bytes(), corpus.source
    assert total == 12544 + 2001 + 2077
    train = concat([ewt[d, "train"] for d in ("answers", "email", "newsgroup", "reviews",
                                              "weblog")])
    assert train.domain_names() == ["answers", "email", "newsgroup", "reviews", "weblog"]
    assert len(train) == 12544


@pytest.mark.data
def test_ewt_notation_matches_the_treebank_conventions(ewt):
    corpus = concat([c for (d, s), c in ewt.items() if s == "train"])
    ptb = normalize_notation(corpus, words="ptb")
    pairs = set(zip(ptb.flat("form"), ptb.flat("xpos")))
    words = set(ptb.flat("form"))
    assert not words & {"(", ")", "[", "]", "{", "}", '"'}
    assert ("-LRB-", "-LRB-") in pairs and ("-RRB-", "-RRB-") in pairs
    # straight quotes alternate: the normalized word agrees with the annotators' quote tag
    quote_tags = [(w, t) for w, t in zip(ptb.flat("form"), ptb.flat("xpos"))
                  if w in ("``", "''") and t in ("``", "''")]
    agree = np.mean([w == t for w, t in quote_tags])
    assert len(quote_tags) > 1000 and agree > 0.9
    plain_tags = normalize_notation(corpus, tags="plain")
    tags = set(plain_tags.flat("xpos"))
    assert "(" in tags and ")" in tags and "-LRB-" not in tags


@pytest.mark.data
@pytest.mark.parametrize("name,n_sentences", [("eng.train", 14041), ("eng.testa", 3250),
                                              ("eng.testb", 3453)])
def test_conll2003_counts_and_round_trip(require_file, tmp_path, name, n_sentences):
    path = require_file(f"conll2003/{name}")
    c = read_conll(path, CONLL2003_COLUMNS)
    assert len(c) == n_sentences
    assert all(c.lengths > 0)
    assert set(c.flat("ner")) <= {"O", "I-PER", "I-ORG", "I-LOC", "I-MISC", "B-PER", "B-ORG",
                                  "B-LOC", "B-MISC"}
    docstarts = path.read_text().count("-DOCSTART-")
    assert len(set(c.doc_ids)) in (docstarts, docstarts + 1)
    out = tmp_path / name
    write_conll(c, out)
    assert out.read_bytes() == path.read_bytes()
    # IOB1 -> BIOES -> IOB2 keeps the entities
    bioes = iob1_to_bioes(c.column("ner"))
    assert chunk_spans(bioes, scheme="bioes").start.tolist() == \
        chunk_spans(c.column("ner")).start.tolist()
    assert convert_scheme(bioes, "iob2") == iob1_to_iob2(c.column("ner"))


@pytest.mark.data
def test_nltk_conll2000_counts_and_universal_tags(data_dir):
    train = load_nltk("conll2000", data_dir, split="train")
    test = load_nltk("conll2000", data_dir, split="test")
    assert (len(train), len(test)) == (8936, 2012)
    assert 205_000 < train.n_tokens < 215_000 and 45_000 < test.n_tokens < 50_000
    assert train.column_names == list(CONLL2000_COLUMNS) and train.label_column == "chunk"
    assert train.column("chunk")[0][:3] == ["B-NP", "B-PP", "B-NP"]
    uni = load_nltk("conll2000", data_dir, split="test", tagset="universal")
    assert set(uni.flat("pos")) <= {"VERB", "NOUN", "PRON", "ADJ", "ADV", "ADP", "CONJ", "DET",
                                    "NUM", "PRT", "X", "."}
    # same as NLTK's own mapping, token by token
    import nltk.tag

    expected = [nltk.tag.map_tag("wsj", "universal", t) for t in test.flat("pos")]
    assert uni.flat("pos") == expected
    # conll2000 writes brackets as -LRB- words with "(" tags; tags="ptb" gives -LRB- tags
    pairs = set(zip(test.flat("word"), test.flat("pos")))
    assert ("-LRB-", "(") in pairs
    ptb = normalize_notation(test, tags="ptb", columns=["pos"])
    assert ("-LRB-", "-LRB-") in set(zip(ptb.flat("word"), ptb.flat("pos")))


@pytest.mark.data
def test_nltk_treebank_counts(data_dir):
    tb = load_nltk("treebank", data_dir, drop_traces=False)
    assert len(tb) == 3914 and 95_000 < tb.n_tokens < 105_000  # README: ~100k tokens
    assert tb.flat("pos").count("-NONE-") > 5000
    assert len(set(tb.doc_ids)) == 199 and set(tb.domains) == {"wsj"}


@pytest.mark.data
def test_nltk_brown_categories_are_domains(data_dir):
    brown = load_nltk("brown", data_dir, split=["humor", "science_fiction"], tagset="universal")
    assert sorted(brown.domain_names()) == ["humor", "science_fiction"]
    assert brown.domains.count("humor") == 1053 and brown.domains.count("science_fiction") == 948
    assert set(brown.flat("pos")) <= {"VERB", "NOUN", "PRON", "ADJ", "ADV", "ADP", "CONJ", "DET",
                                      "NUM", "PRT", "X", "."}
    with pytest.raises(ValueError, match=r"brown categories \['poetry'\] do not exist"):
        load_nltk("brown", data_dir, split="poetry")


@pytest.mark.data
def test_nltk_conll2002_and_nps_chat(data_dir):
    chat = load_nltk("nps_chat", data_dir, split="10-19-20s_706posts.xml", tagset="universal")
    assert len(chat) == 706 and set(chat.domains) == {"chat"}
    assert chat.doc_ids[0] == "10-19-20s_706posts.xml"
    esp = load_nltk("conll2002", data_dir, split="esp.testa")
    assert len(esp) == 1915 and esp.label_column == "ner" and set(esp.domains) == {"esp"}
    assert esp.column_names == ["word", "pos", "ner"]
    assert set(esp.flat("ner")) == {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC",
                                    "B-MISC", "I-MISC"}
    with pytest.raises(ValueError, match="no universal mapping"):
        load_nltk("conll2002", data_dir, split="esp.testa", tagset="universal")


def test_nltk_conll2002_keeps_the_dutch_documents(data_dir):
    """The -DOCSTART- lines of the Dutch files are document boundaries (document-level NER
    features read them), as when the file itself is read; NLTK's reader drops them."""
    ned = load_nltk("conll2002", data_dir, split="ned.testb")
    with zipfile.ZipFile(Path(data_dir) / "nltk_data" / "corpora" / "conll2002.zip") as z:
        text = z.read("conll2002/ned.testb").decode("utf-8")
    n_docs = sum(line.startswith("-DOCSTART-") for line in text.splitlines())
    assert n_docs == 119 and len(set(ned.doc_ids)) == n_docs
    assert len(ned) == 5195 and "-DOCSTART-" not in ned.flat("word")
    assert len(set(load_nltk("conll2002", data_dir, split="esp.testb").doc_ids)) == 1


def test_nltk_raw_text_corpora_are_tokenized_like_the_treebank(data_dir):
    from hmmtl.io import NLTK_TEXT_CORPORA, load_nltk_text

    sizes = {}
    for name in NLTK_TEXT_CORPORA:
        c = load_nltk_text(name, data_dir)
        assert c.label_column is None and set(c.domains) == {name}
        assert all(len(s) for s in c.sentences)
        sizes[name] = sum(map(len, c.sentences))
    # the word counts of NLTK's own word tokenizer, within the tokenizers' differences
    assert 700_000 < sizes["abc"] < 800_000 and 350_000 < sizes["webtext"] < 420_000
    sotu = load_nltk_text("state_union", data_dir, split="1945-Truman.txt")
    flat = [w for s in sotu.sentences for w in s]
    assert "n't" in flat or "'s" in flat          # Treebank clitics, as in the tagged corpora
    assert ["Mr.", "Speaker", ",", "Mr.", "President", ",", "Members", "of", "the", "Congress",
            ":"] in sotu.sentences                 # no sentence break after a title
    with pytest.raises(ValueError, match="raw text"):
        load_nltk_text("treebank", data_dir)
    with pytest.raises(ValueError, match=r"has no file\(s\) \['nope.txt'\]"):
        load_nltk_text("abc", data_dir, split="nope.txt")


@pytest.mark.parametrize("line, expected", [
    ("Mr. Howard spoke. He left.", ["Mr. Howard spoke.", "He left."]),
    ("It rose 5 p.c. Then it fell!  \"Why?\" she asked.",
     ["It rose 5 p.c. Then it fell!", "\"Why?\" she asked."]),
    ("add icons to context menu", ["add icons to context menu"]),
    ("   ", []),
])
def test_split_sentences(line, expected):
    from hmmtl.io.nltk_corpora import split_sentences

    assert split_sentences(line) == expected
