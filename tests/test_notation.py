"""Notation of brackets and quotes: detected from real corpora, mapped both ways, recorded by
models and applied to the words they tag, the same for a sentence alone or in any batch."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from hmmtl.io import Notation, detect_notation, load_nltk, read_conll, read_conllu
from hmmtl.transfer.pipeline import token_accuracy

# how each corpus of the data folder writes brackets and quotes (see hmmtl/io/notation.py)
EXPECTED = {
    "treebank": Notation("ptb", "ptb", "ptb", "ptb"),
    "conll2000": Notation("ptb", "ptb", "plain", "ptb"),
    "brown": Notation("plain", "ptb", "plain", "ptb"),
    "nps_chat": Notation("plain", "plain", "plain", "ptb"),
    "conll2003": Notation("plain", "plain", "plain", "plain"),
    "ewt": Notation("plain", "plain", "ptb", "ptb"),
}


def _corpus(name, data_dir):
    """(words, tags) of a real corpus of the data folder."""
    if name == "conll2003":
        c = read_conll(data_dir / "conll2003" / "eng.train")
        return c.sentences, c.column(1)
    if name == "ewt":
        c = read_conllu(data_dir / "ud" / "en_ewt" / "en_ewt-weblog-train.conllu")
        return c.sentences, c.column("xpos")
    c = load_nltk(name, data_dir=data_dir, split="train" if name == "conll2000" else None)
    return c.sentences, c.column("pos")


@pytest.fixture(scope="module")
def corpora(data_dir):
    return {name: _corpus(name, data_dir) for name in EXPECTED}


def _with(sentences, tags, tokens):
    """The sentences (and their tags) holding one of ``tokens``."""
    keep = [i for i, s in enumerate(sentences) if tokens.intersection(s)]
    return [sentences[i] for i in keep], [tags[i] for i in keep]


# ----------------------------------------------------------------------------- detection
@pytest.mark.data
@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_corpus_notation_is_detected(corpora, name):
    words, tags = corpora[name]
    assert detect_notation(words, tags) == EXPECTED[name]


def test_no_evidence_means_no_notation_and_no_change():
    n = detect_notation([["a", "b"]], [["DT", "NN"]])
    assert n == Notation() and not n
    sents = [["(", '"', "x"]]
    assert n.map_words(sents) is sents  # nothing mapped, nothing copied
    assert n.describe() == "no brackets or quotes seen"
    with pytest.raises(ValueError, match="'ptb', 'plain' or None"):
        Notation(word_brackets="wsj")
    with pytest.raises(ValueError, match="unknown notation fields"):
        Notation.from_dict({"words": "ptb"})
    assert Notation.from_dict(None) == Notation()


# ----------------------------------------------------------------------------- mapping
@pytest.mark.data
def test_web_words_and_tags_to_wsj_notation_and_back(corpora):
    """EWT writes ( and " where CoNLL-2000 writes -LRB- and ``/''; mapping there and back
    gives the EWT words again, and the mapped quotes agree with the annotators' tags."""
    words, tags = _with(*corpora["ewt"], {"(", ")", '"', "[", "]"})
    assert len(words) > 100
    wsj = EXPECTED["conll2000"]
    mapped = wsj.map_words(words)
    flat = list(itertools.chain.from_iterable(mapped))
    assert not set(flat) & {"(", ")", "[", "]", '"'}
    assert {"-LRB-", "-RRB-", "-LSB-", "``", "''"} <= set(flat)
    pairs = [(w, t) for w, t in zip(flat, itertools.chain.from_iterable(tags))
             if w in ("``", "''") and t in ("``", "''")]
    assert len(pairs) > 200 and np.mean([w == t for w, t in pairs]) > 0.9
    ewt = EXPECTED["ewt"]
    back = ewt.map_words(mapped)
    # the web file's own few ``/'' tokens come back as straight quotes; all else unchanged
    same = [b == w for b, w in zip(back, words)]
    other_quotes = {"``", "''", "\u201c", "\u201d"}  # written straight on the way back
    assert all(same[i] or other_quotes & set(words[i]) for i in range(len(words)))
    assert np.mean(same) > 0.98
    # gold bracket tags in the WSJ model's notation, and back in the web file's
    wsj_tags = wsj.map_tags(tags)
    flat_tags = set(itertools.chain.from_iterable(wsj_tags))
    assert {"(", ")"} <= flat_tags and not flat_tags & {"-LRB-", "-RRB-"}
    assert ewt.map_tags(wsj_tags) == tags


@pytest.mark.data
def test_wsj_words_to_web_notation_and_back(corpora):
    words, _ = _with(*corpora["conll2000"], {"-LRB-", "-RCB-", "``"})
    assert len(words) > 100
    plain = EXPECTED["ewt"].map_words(words)
    flat = set(itertools.chain.from_iterable(plain))
    assert {"(", ")", "{", "}", '"'} <= flat and not flat & {"-LRB-", "``", "''", "-RCB-"}
    # straight quotes get their direction back from their place in the sentence wherever
    # the WSJ quotes alternate (opening first), as they do in almost every sentence
    back = EXPECTED["conll2000"].map_words(plain)
    assert np.mean([b == w for b, w in zip(back, words)]) > 0.97
    assert sum(map(len, back)) == sum(map(len, words))


@pytest.mark.data
def test_conll2003_quote_tags_both_ways(corpora):
    """CoNLL-2003 tags a quote '"'; a PTB model's notation makes it ``/'' by its place."""
    words, tags = _with(*corpora["conll2003"], {'"'})
    ptb = Notation(tag_quotes="ptb").map_tags(tags)
    quote_tags = [t for s, ts in zip(words, ptb) for w, t in zip(s, ts) if w == '"']
    assert set(quote_tags) == {"``", "''"}
    back = list(itertools.chain.from_iterable(Notation(tag_quotes="plain").map_tags(ptb)))
    flat = list(itertools.chain.from_iterable(tags))
    assert all(b == t or t in ("``", "''") for b, t in zip(back, flat))


def test_curly_quotes_and_single_sentences():
    wsj = Notation("ptb", "ptb")
    assert wsj.map_words(["\u201cHi\u201d", "\u201c", "Hi", "\u201d"]) == \
        ["\u201cHi\u201d", "``", "Hi", "''"]
    # a straight quote's direction depends on its own sentence only
    batch = [['"', "a"], ["b", '"', "c", '"'], ['"']]
    assert wsj.map_words(batch) == [wsj.map_words(s) for s in batch] == \
        [["``", "a"], ["b", "``", "c", "''"], ["``"]]


def test_straight_quotes_alternate_within_each_sentence_of_any_batch():
    """Each sentence's 1st, 3rd, ... straight quote opens and the others close, in a batch
    of sentences of every shape (quotes first, last, alone, none), as sentence by sentence."""
    import random

    wsj = Notation("ptb", "ptb")
    rng = random.Random(7)
    for _ in range(200):
        batch = [[rng.choice(['"', '"', "a", "(", "b"]) for _ in range(rng.randint(1, 6))]
                 for _ in range(rng.randint(1, 7))]
        expected = []
        for s in batch:
            k, row = 0, []
            for w in s:
                if w == '"':
                    k += 1
                    row.append("``" if k % 2 else "''")
                else:
                    row.append({"(": "-LRB-"}.get(w, w))
            expected.append(row)
        assert wsj.map_words(batch) == expected


# ----------------------------------------------------------------------------- models
@pytest.fixture(scope="module")
def wsj_crf(data_dir):
    """A small CRF trained on WSJ sentences that hold brackets and quotes."""
    from hmmtl import LinearChainCRF

    c = load_nltk("conll2000", data_dir=data_dir, split="train")
    words, tags = _with(c.sentences, c.column("pos"), {"-LRB-", "``"})
    return LinearChainCRF(max_iterations=30).fit(words[:400], tags[:400])


@pytest.mark.data
def test_crf_records_its_notation_and_maps_web_words(wsj_crf, corpora, tmp_path):
    from hmmtl import LinearChainCRF

    assert wsj_crf.notation_ == EXPECTED["conll2000"]
    words, tags = _with(*corpora["ewt"], {"(", '"'})
    words, tags = words[:150], tags[:150]
    pred = wsj_crf.predict(words)
    flat_w = list(itertools.chain.from_iterable(words))
    flat_p = list(itertools.chain.from_iterable(pred))
    # the model's own bracket tags for the web file's brackets, its quote tags for quotes
    assert {p for w, p in zip(flat_w, flat_p) if w == "("} == {"("}
    assert {p for w, p in zip(flat_w, flat_p) if w == '"'} <= {"``", "''"}
    keep = copy.deepcopy(wsj_crf).set_params(notation="keep")
    kept = list(itertools.chain.from_iterable(keep.predict(words)))
    assert {p for w, p in zip(flat_w, kept) if w == "("} != {"("}
    # scored with gold bracket tags read in the model's notation
    known = set(wsj_crf.labels_)
    ok = [i for i, t in enumerate(tags) if set(EXPECTED["conll2000"].map_tags(t)) <= known]
    words, tags, pred = ([x[i] for i in ok] for x in (words, tags, pred))
    auto = token_accuracy(EXPECTED["conll2000"].map_tags(tags), pred)
    assert wsj_crf.score(words, tags) == pytest.approx(auto)
    assert auto > token_accuracy(tags, keep.predict(words)) + 0.01
    path = tmp_path / "wsj.hmmtl"
    wsj_crf.save(path)
    loaded = LinearChainCRF.load(path)
    assert loaded.notation_ == wsj_crf.notation_ and loaded.predict(words) == pred
    with pytest.raises(ValueError, match="notation must be 'auto'"):
        LinearChainCRF(notation="ptb").fit([["a"]], [["DT"]])


@pytest.mark.data
def test_a_sentence_gets_the_same_tags_alone_and_in_any_batch(wsj_crf, corpora):
    words, _ = _with(*corpora["nps_chat"], {'"', "("})
    words = words[:40]
    together = wsj_crf.predict(words)
    assert [wsj_crf.predict([s])[0] for s in words] == together
    assert wsj_crf.predict(words[::-1])[::-1] == together
