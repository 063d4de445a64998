"""Unlabeled text at scale: the text the HMMs learn from streamed and kept as ids
(``EncodedText``), ``hmmtl train --unlabeled-max-tokens`` / ``--hmm-param``, the recipe's
settings for large text, and online EM's progress."""

from __future__ import annotations

import numpy as np
import pytest

from hmmtl.cli import main
from hmmtl.data import Vocabulary
from hmmtl.io.text import TokenStream
from hmmtl.studies.demo import synthetic_corpus
from hmmtl.transfer.pipeline import CaseProfile, EncodedText, Recipe, Tagger, TextBatch

CRF = {"max_iterations": 10}

SENTENCES = [["The", "cat", "sat", "."], ["A", "Dog", "saw", "the", "cat"],
             ["Regards", ",", "the", "DOG"], [], ["cat", "Cat", "CAT", "dog", "zebra", "."],
             ["Phone", "me", "at", "home", "."], ["the", "phone", "rang"]]


@pytest.fixture(scope="module")
def corpus():
    return synthetic_corpus(n_tags=4, n_shared=10, n_specific=10, n_source=60,
                            n_unlabeled=80, n_test=20, random_state=5)


@pytest.mark.parametrize("lowercase,min_count,chunk", [(True, 2, 2), (False, 1, 3),
                                                       (True, 1, 100), (False, 2, 1)])
def test_encoded_text_equals_the_vocabulary_fit_on_the_tokens(lowercase, min_count, chunk):
    """Chunk by chunk, the ids, the vocabulary and the case profile are those of the whole
    text at once (Vocabulary.fit / encode_tokens, CaseProfile.fit)."""
    whole = TextBatch.of(SENTENCES)
    expected = Vocabulary(min_count=min_count, lowercase=lowercase)
    expected.fit([whole.flat])
    text = EncodedText()
    for a in range(0, len(SENTENCES), chunk):
        text.add(TextBatch.of(SENTENCES[a:a + chunk]))
    assert text.n_tokens == whole.n_tokens and text.n_sentences == len(SENTENCES)
    got = Vocabulary(min_count=min_count, lowercase=lowercase)
    batch = text.encode(got)
    assert got.types == expected.types and got.n_words_ == expected.n_words_
    np.testing.assert_array_equal(got.counts_, expected.counts_)
    np.testing.assert_array_equal(batch.ids, expected.encode_tokens(whole.flat))
    np.testing.assert_array_equal(batch.offsets, whole.offsets)
    profile, reference = text.case_profile(), CaseProfile.fit(SENTENCES)
    np.testing.assert_array_equal(profile.hashes, reference.hashes)
    np.testing.assert_array_equal(profile.codes, reference.codes)
    assert profile.transform(["Phone", "phone", "Cat"]).tolist() == \
        reference.transform(["Phone", "phone", "Cat"]).tolist()


def test_tagger_reads_unlabeled_text_from_a_stream_once(corpus, monkeypatch):
    """A generator of sentences is read once, a chunk at a time, and gives the model that
    the same sentences as a list give."""
    import hmmtl.transfer.pipeline as pipeline

    monkeypatch.setattr(pipeline, "STREAM_CHUNK", 7)
    X, y = corpus["train"]
    params = dict(hmm="auto", hmm_params={"n_hmms": 1, "n_states": 5, "n_iter": 2},
                  labeler_params=CRF, random_state=0)
    from_list = Tagger(**params).fit(X, y, unlabeled=corpus["text"])
    reads = []

    def stream():
        for s in corpus["text"]:
            reads.append(1)
            yield s

    from_stream = Tagger(**params).fit(X, y, unlabeled=stream())
    assert len(reads) == len(corpus["text"])
    np.testing.assert_array_equal(from_stream.hmms_[0].emission_prob_,
                                  from_list.hmms_[0].emission_prob_)
    assert from_stream.predict(corpus["test"][0]) == from_list.predict(corpus["test"][0])
    summary = from_stream.text_summary_
    assert summary["n_tokens"] == sum(map(len, X)) + sum(map(len, corpus["text"]))
    assert summary["n_sentences"] == len(X) + len(corpus["text"])
    with pytest.raises(TypeError, match="token lists"):
        Tagger(**params).fit(X, y, unlabeled="some raw text")


def test_recipe_switches_to_its_large_text_settings_above_the_threshold():
    recipe = Recipe.from_settings({"n_hmms": 3, "n_states": 16, "n_iter": 30, "min_count": 2,
                                   "large_text": {"above": 1000, "algorithm": "online",
                                                  "n_iter": 4, "max_vocab": 50}})
    assert recipe.for_tokens(1000) is recipe
    large = recipe.for_tokens(1001)
    assert large.hmm_params["algorithm"] == "online" and large.hmm_params["n_iter"] == 4
    assert large.vocabulary["max_size"] == 50 and large.vocabulary["min_count"] == 2
    assert large.n_hmms == 3 and large.for_tokens(10**9) is large
    # settings given to the Tagger win over the recipe's for large text too
    tagger = Tagger(hmm="auto", hmm_params={"n_iter": 7})
    chosen = tagger._recipe().for_tokens(10**9)
    assert chosen.hmm_params["n_iter"] == 7
    assert chosen.hmm_params.get("algorithm") == \
        pipeline_recipes()["auto"]["large_text"].get("algorithm")


def pipeline_recipes():
    from hmmtl.transfer.pipeline import RECIPES

    return RECIPES


def test_large_text_settings_are_used_in_fit(corpus, monkeypatch):
    import hmmtl.transfer.pipeline as pipeline

    small = {"n_hmms": 1, "n_states": 4, "n_iter": 2, "min_count": 1,
             "large_text": {"above": 100, "algorithm": "online", "n_iter": 1,
                            "batch_size": 8, "max_vocab": 5}}
    monkeypatch.setitem(pipeline.RECIPES, "auto", small)
    X, y = corpus["train"]
    tagger = Tagger(hmm="auto", labeler_params=CRF, random_state=0)
    tagger.fit(X, y, unlabeled=corpus["text"])
    assert tagger.text_summary_["n_tokens"] > 100
    assert tagger.hmms_[0].algorithm == "online" and tagger.hmms_[0].monitor_.iter == 1
    assert tagger.hmm_vocabulary_.n_words_ == 5


def test_token_stream_stops_after_max_tokens_and_reads_again():
    s = TokenStream(lambda: iter([["a", "b"], ["c"], ["d", "e"], ["f"]]), max_tokens=3)
    assert list(s) == [["a", "b"], ["c"]] and (s.n_tokens, s.n_sentences) == (3, 2)
    assert list(s) == [["a", "b"], ["c"]]
    assert list(TokenStream(lambda: iter([["a", "b"], ["c"]]), max_tokens=2)) == [["a", "b"]]
    assert len(list(TokenStream(lambda: iter([["a"]] * 5)))) == 5
    with pytest.raises(ValueError, match="max_tokens"):
        TokenStream(lambda: iter([]), max_tokens=0)


def _write(corpus, tmp_path):
    train = tmp_path / "train.conll"
    X, y = corpus["train"]
    train.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(s, ts))
                                 for s, ts in zip(X, y)) + "\n", encoding="utf-8")
    text = tmp_path / "text.txt"
    text.write_text("\n".join(" ".join(s) for s in corpus["text"]) + "\n", encoding="utf-8")
    return train, text


def test_train_unlabeled_max_tokens_and_hmm_params(corpus, tmp_path, capsys):
    train, text = _write(corpus, tmp_path)
    out = tmp_path / "m.hmmtl"
    assert main(["train", "--train", str(train), "--format", "conll", "--tag-column", "1",
                 "--unlabeled", str(text), "--unlabeled-max-tokens", "50",
                 "--hmm-param", "n_hmms=1", "--hmm-param", "n_states=4",
                 "--hmm-param", "n_iter=2", "--hmm-param", "algorithm=online",
                 "--hmm-param", "batch_size=16", "--max-iter", "3", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    model = Tagger.load(out)
    assert model.n_hmms_ == 1 and model.hmm_params["algorithm"] == "online"
    n_train = sum(map(len, corpus["train"][0]))
    first = corpus["text"][0]
    # the sentence reaching 50 tokens is the last one read
    read, n = 0, 0
    for s in corpus["text"]:
        read, n = read + 1, n + len(s)
        if n >= 50:
            break
    assert f"{n_train + n} tokens ({n} unlabeled)" in err, err
    assert first  # the text is not empty
    for bad, message in ((["--hmm-param", "n_iter"], "expected KEY=VALUE"),
                         (["--hmm-param", "n_iter=many"], "takes a number"),
                         (["--hmm-param", "algorithm=fast"], "--hmm-param: algorithm")):
        assert main(["train", "--train", str(train), "--format", "conll", "--tag-column", "1",
                     "--unlabeled", str(text), *bad, "--out", str(tmp_path / "x.hmmtl"),
                     "-q"]) == 1
        assert message in capsys.readouterr().err
        assert not (tmp_path / "x.hmmtl").exists()
    assert main(["train", "--train", str(train), "--format", "conll", "--tag-column", "1",
                 "--unlabeled-max-tokens", "5", "--out", str(tmp_path / "y.hmmtl"), "-q"]) == 1
    assert "give the text with --unlabeled" in capsys.readouterr().err


def test_online_em_progress_counts_tokens(corpus, capsys):
    """Online EM's progress advances a mini-batch at a time, in tokens, over all passes."""
    from hmmtl import CategoricalHMM

    hmm = CategoricalHMM(n_states=3, algorithm="online", n_iter=2, batch_size=10,
                         random_state=0, verbose=True).fit(corpus["text"])
    err = capsys.readouterr().err
    n = sum(map(len, corpus["text"]))
    assert hmm.monitor_.iter == 2
    assert f"{2 * n}/{2 * n}" in err.replace(",", ""), err[-500:]


def test_a_batch_given_flat_is_the_batch_of_its_token_lists():
    """``TextBatch.of_flat`` (raw text's sentences, split flat) checks and writes the words
    as ``TextBatch.of`` does; its token lists are made only when read; bad input refused."""
    from hmmtl.io.notation import Notation

    sentences = [["He", "said", '"', "(", "hi", ")", '"'], [], ["ok", "."]]
    flat = [w for s in sentences for w in s]
    offsets = np.array([0, 7, 7, 9])
    for notation in (None, Notation("ptb", "ptb")):
        given = TextBatch.of(sentences, notation)
        made = TextBatch.of_flat(flat, offsets, notation)
        assert made.flat == given.flat and made.n_sentences == given.n_sentences == 3
        np.testing.assert_array_equal(made.offsets, given.offsets)
        assert "sentences" not in made.__dict__  # not made until read
        assert made.sentences == given.sentences
    assert TextBatch.of_flat(flat, offsets, Notation("ptb", "ptb")).flat[2] == "``"
    for bad in ([0, 7, 10], [1, 7, 7, 9], [0, 8, 7, 9], [[0, 9]]):
        with pytest.raises(ValueError, match="offsets must rise"):
            TextBatch.of_flat(flat, np.array(bad))
    with pytest.raises(TypeError, match=r"sentences\[2\]\[0\] is the int"):
        TextBatch.of_flat(flat[:7] + [3, "."], offsets)
