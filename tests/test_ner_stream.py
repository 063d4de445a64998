"""The NER recipe's unlabeled text streamed (issue: text at scale): the command line's Brown
clusters and HMM, the recognizer's case table and automatic lists read the text a chunk at a
time, never whole, and learn exactly what they learn from the same sentences as token lists."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from hmmtl.io.text import TokenStream
from hmmtl.ner import NamedEntityRecognizer
from hmmtl.ner import recognizer as rec

WORDS = ["the", "a", "dog", "cat", "saw", "met", "in", "Paris", "London", "Smith", "Jones",
         "Acme", "Corp", "said", "on", "Monday", "."]


def _sentences(n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(3, 12))
        words = [WORDS[i] for i in rng.integers(0, len(WORDS), k).tolist()]
        if rng.random() < 0.2:  # some all-caps headlines for the case table
            words = [w.upper() for w in words]
        out.append(words)
    return out


class _Once:
    """A stream that can be read again, counting its readings and the most sentences it
    ever held in one chunk handed out (it hands out one sentence at a time)."""

    def __init__(self, sentences):
        self.sentences = sentences
        self.readings = 0

    def __iter__(self):
        self.readings += 1
        return iter([list(s) for s in self.sentences])


@pytest.fixture
def small_recipe(monkeypatch):
    from hmmtl.studies import ner as study

    monkeypatch.setitem(study.RECIPES["eng"], "clusters", 6)
    monkeypatch.setitem(study.RECIPES["eng"], "hmm_states", 4)
    monkeypatch.setattr(study, "HMM_ITERATIONS", 4)
    return study


def test_the_command_lines_clusters_and_hmm_are_the_studys(small_recipe):
    """``hmmtl.cli._ner_recipe.representations`` (one streamed pass: counts for the
    clusters, word ids for the HMM) gives the clusters and the HMM the study learns on the
    training sentences and the text together as token lists."""
    from hmmtl.cli import _ner_recipe
    from hmmtl.transfer import pipeline

    train, text = _sentences(40, 0), _sentences(300, 1)
    stream = TokenStream(lambda: iter(text))
    chunk = pipeline.STREAM_CHUNK
    try:
        pipeline.STREAM_CHUNK = 7  # many chunks
        clusters, hmm, _ = _ner_recipe.representations(train, stream,
                                                    argparse.Namespace(quiet=True))
    finally:
        pipeline.STREAM_CHUNK = chunk
    ref_clusters = small_recipe._clusters(train + text, 6, False)
    ref_hmm = small_recipe._hmm(train + text, 4, 4, False)
    assert list(clusters.words_) == list(ref_clusters.words_)
    assert list(clusters.paths_) == list(ref_clusters.paths_)
    assert hmm.vocabulary_.types == ref_hmm.vocabulary_.types
    for name in ("start_prob_", "transition_prob_", "emission_prob_"):
        np.testing.assert_array_equal(getattr(hmm, name), getattr(ref_hmm, name))
    np.testing.assert_array_equal(hmm.type_distribution(WORDS), ref_hmm.type_distribution(WORDS))
    assert hmm.get_params()["n_features"] is None and hmm.min_count == ref_hmm.min_count


def test_the_case_table_read_in_chunks_is_the_table_of_the_whole(monkeypatch):
    sentences = _sentences(500, 2)
    whole = rec.CaseTable().fit(sentences)
    monkeypatch.setattr(rec, "STREAM_SENTENCES", 13)
    chunked = rec.CaseTable().fit(iter(sentences))
    assert chunked.forms_ == whole.forms_ and len(whole.forms_) > 5


def test_the_recognizer_learns_the_same_from_a_stream_as_from_a_list(monkeypatch):
    """Unlabeled text as a stream that can be read again is read a chunk at a time (the
    case table, the clusters, the automatic lists), never copied into a list, and gives the
    model a list gives; a one-shot iterator is read into a list."""
    monkeypatch.setattr(rec, "AUTO_LIST_BATCH", 11)
    monkeypatch.setattr(rec, "STREAM_SENTENCES", 17)
    people, places = ["Smith", "Jones", "Brown"], ["Paris", "London", "Rome"]
    X, y = [], []
    for i in range(60):
        X.append([people[i % 3], "went", "to", places[i % 2], "."])
        y.append(["B-PER", "O", "O", "B-LOC", "O"])
    text = [[people[i % 3], "visited", places[(i + 1) % 3], "."] for i in range(200)]

    def fit(unlabeled):
        return NamedEntityRecognizer(clusters=5, labeler_params={"max_iterations": 15},
                                     n_folds=2, two_stage=True,
                                     auto_lists=True, auto_min_count=2,
                                     random_state=0).fit(X, y, unlabeled=unlabeled)

    from_list = fit(text)
    stream = _Once(text)
    seen = []
    real = rec.NamedEntityRecognizer._check_training_set

    def check(self, *args):
        data = real(self, *args)
        seen.append(data.unlabeled)
        return data
    monkeypatch.setattr(rec.NamedEntityRecognizer, "_check_training_set", check)
    from_stream = fit(stream)
    assert seen[-1] is stream  # kept as the stream, never a list of its sentences
    assert stream.readings >= 3  # the case table, the clusters, the automatic lists
    assert from_stream.case_table_.forms_ == from_list.case_table_.forms_
    assert list(from_stream.clusters_.words_) == list(from_list.clusters_.words_)
    assert from_list.auto_gazetteer_ is not None
    assert from_stream.auto_gazetteer_.names == from_list.auto_gazetteer_.names
    for name in from_list.auto_gazetteer_.names:
        assert from_stream.auto_gazetteer_.entries(name) == from_list.auto_gazetteer_.entries(name)
    test = [["Jones", "went", "to", "Rome", "."], ["Brown", "visited", "Paris", "."]]
    assert from_stream.predict(test) == from_list.predict(test)
    fit(iter(text))
    assert isinstance(seen[-1], list) and len(seen[-1]) == len(text)


def test_the_studys_text_files_stream_less_their_overlap(tmp_path):
    """``hmmtl experiment ner --unlabeled FILE``: the file's sentences less those sharing a
    run of tokens with dev or test, read again at each reading and never held -- the
    sentences the study read into lists before (``read_unlabeled`` + ``without_overlap``)."""
    from hmmtl.io import read_unlabeled
    from hmmtl.studies import ner as study

    sentences = _sentences(300, seed=5)
    path = tmp_path / "text.txt"
    path.write_text("".join(" ".join(s) + "\n" for s in sentences), encoding="utf-8")
    held_out = [sentences[3][:], ["x"] + sentences[10][1:6]]
    text = study.TextFile(path, held_out)
    expected = study.without_overlap(read_unlabeled(path), held_out)
    assert len(expected) < len(sentences)  # the held-out runs took sentences out
    assert list(text) == expected and list(text) == expected  # read again, the same
    assert text.n_sentences == len(expected)
    assert text.n_tokens == sum(map(len, expected))
    assert list(text.first(7)) == expected[:7]
    both = study.Texts([sentences[:5], text])
    assert list(both) == sentences[:5] + expected and bool(both)
    assert not study.Texts([[], []])


def test_the_studys_curve_samples_the_sentences_a_list_would_give(small_recipe):
    """The curve's random part of the text, streamed, is the part it drew when it held the
    text as a list (``round(fraction * n)`` sentences by ``RandomState(0)``, in text order),
    and its clusters are the clusters of that list."""
    from hmmtl.ner.clusters import BrownClusters

    study = small_recipe
    sentences = _sentences(400, seed=6)
    stream = _Once(sentences)
    for fraction in (0.125, 0.5):
        part = study._Sample(stream, len(sentences), fraction)
        n = round(fraction * len(sentences))
        idx = np.sort(np.random.RandomState(0).choice(len(sentences), size=n, replace=False))
        picked = [sentences[i] for i in idx.tolist()]
        assert list(part) == picked and part.n_tokens == sum(map(len, picked))
        got = BrownClusters(n_clusters=6, min_count=study._min_count(part.n_sentences))
        want = study._clusters(picked, 6, False)
        assert got.fit_stream(part).words_ == want.words_
        assert np.array_equal(got.transform(picked[:20]), want.transform(picked[:20]))


def test_adapting_a_recognizer_streams_the_users_text(small_recipe, monkeypatch, tmp_path):
    """``hmmtl adapt --model en-ner --unlabeled FILES`` (``ready_models._train_recognizer``):
    the user's text as a stream that can be read again is read by each part that learns
    from it (the clusters and the HMM in one pass, then the automatic lists), never copied
    into a list, and gives the model the same text as token lists gives."""
    import hmmtl.ner.gazetteers as gaz
    import hmmtl.studies.ready_models as rm
    from hmmtl.io.conll import read_conll

    rng = np.random.default_rng(3)
    lines = ["-DOCSTART- -X- -X- O", ""]
    people, places = ["Smith", "Jones", "Brown"], ["Paris", "London", "Rome"]
    for i in range(60):
        if i % 20 == 0 and i:
            lines += ["-DOCSTART- -X- -X- O", ""]
        lines += [f"{people[i % 3]} NNP B-NP B-PER", "went VBD B-VP O", "to TO B-PP O",
                  f"{places[int(rng.integers(0, 3))]} NNP B-NP B-LOC", ". . O O", ""]
    path = tmp_path / "eng.train"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = read_conll(path)
    text = [[people[i % 3], "visited", places[(i + 1) % 3], "."] for i in range(150)]
    monkeypatch.setattr(rm, "read_labeled", lambda ref, data_dir: corpus)
    monkeypatch.setattr(rm, "_corpus_root", lambda data_dir: tmp_path)
    monkeypatch.setattr(small_recipe, "unlabeled_text",
                        lambda root, lang, train, files=(): {"eng.train": train.sentences,
                                                             "abc": _sentences(80, 4)})
    monkeypatch.setattr(gaz, "load_nltk_gazetteers", lambda root: {"names": ["Jones"]})
    monkeypatch.setitem(small_recipe.COMMON, "n_folds", 2)
    monkeypatch.setitem(small_recipe.COMMON, "labeler_params", {"c2": 1.0, "max_iterations": 8})
    recipe = {"kind": "ner", "lang": "eng", "tag_column": "ner",
              "train": [["conll2003", "eng.train"]], "recognizer": {"columns": []}}

    from_list = rm._train_recognizer(recipe, tmp_path, text, False)
    stream = _Once(text)
    from_stream = rm._train_recognizer(recipe, tmp_path, stream, False)
    assert stream.readings >= 2  # the representations' pass, then the automatic lists
    assert list(from_stream.clusters_.words_) == list(from_list.clusters_.words_)
    assert "visited" in from_list.clusters_.words_  # the user's text reached the clusters
    hmm_list, hmm_stream = from_list.hmms_[0], from_stream.hmms_[0]
    assert hmm_stream.vocabulary_.types == hmm_list.vocabulary_.types
    np.testing.assert_array_equal(hmm_stream.emission_prob_, hmm_list.emission_prob_)
    assert from_stream.auto_gazetteer_.names == from_list.auto_gazetteer_.names
    test = [["Jones", "went", "to", "Rome", "."], ["Brown", "visited", "Paris", "."]]
    assert from_stream.predict(test) == from_list.predict(test)


def test_adapt_takes_a_stream_and_counts_its_text(monkeypatch):
    """``adapt`` hands the user's stream to the training as it is (``hmmtl adapt`` passes
    its files as a :class:`TokenStream`) and records the sentences and tokens the
    training read; a one-shot iterator is read into a list; no sentence is an error."""
    import hmmtl.studies.ready_models as rm

    text = _sentences(30, 5)
    given = []

    def train(recipe, data_dir, unlabeled, progress):
        given.append(unlabeled)
        for _ in range(2):  # two readings, as the HMMs' training does
            for _ in unlabeled:
                pass
        return "model"

    monkeypatch.setattr(rm, "data_files", lambda ref, data_dir: [])
    monkeypatch.setattr(rm, "_train_tagger", train)
    stream = TokenStream(lambda: iter(text))
    model, info = rm.adapt("en-pos", stream)
    assert model == "model" and given[-1] is stream
    assert info["adapted"]["sentences"] == len(text)
    assert info["adapted"]["tokens"] == sum(map(len, text))
    _, info = rm.adapt("en-pos", iter(text))
    assert isinstance(given[-1], list) and given[-1] == text
    assert info["adapted"]["tokens"] == sum(map(len, text))
    with pytest.raises(ValueError, match="no unlabeled sentences"):
        rm.adapt("en-pos", TokenStream(lambda: iter([])))
