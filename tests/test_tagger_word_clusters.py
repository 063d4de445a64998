"""Word-vector clusters as features of the single-task Tagger (``Tagger(word_clusters=...)``,
``hmmtl train --word-clusters K,K``): learned in fit in the one reading of the text the HMMs
learn from, or used as given; saved with the model; read back with the settings they were
learned with."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from hmmtl import Tagger, load
from hmmtl.cli import main
from hmmtl.ner.vectors import WordVectorClusters
from hmmtl.transfer.pipeline import WORD_CLUSTERS

from word_class_text import NEW_NOUNS, tagged_and_text, train_with_classes


@pytest.fixture(scope="module")
def data():
    return tagged_and_text()


def _vectors(**kw):
    return WordVectorClusters(n_clusters=(3, 6), n_components=4, min_count=2, **kw)


def _tagger(**kw):
    return Tagger(labeler_params={"max_iterations": 25}, random_state=0, **kw)


def test_learned_in_fit_on_the_words_and_the_text(data):
    """Unfitted clusters are learned in fit on the training words and the unlabeled text
    (the same clusters as learned alone on those sentences), the parameter left unfitted;
    the labeler reads each grain's cluster at the HMMs' offsets, and the nouns seen only in
    the text are tagged as nouns."""
    X, y, text = data
    param = _vectors()
    tagger = _tagger(word_clusters=param).fit(X, y, unlabeled=iter(text))
    assert not hasattr(param, "labels_") and tagger.word_clusters is param
    alone = _vectors().fit(X + text)
    assert tagger.word_clusters_.words_ == alone.words_
    np.testing.assert_array_equal(tagger.word_clusters_.labels_, alone.labels_)
    assert set(NEW_NOUNS) <= set(tagger.word_clusters_.words_)
    spec = {s["name"]: s for s in tagger.labeler_.feature_space_.extra_specs_}[WORD_CLUSTERS]
    assert tuple(spec["window"]) == (-1, 0, 1)
    sent = ["the", "blorp", "saw", "a", "zint", "."]
    assert tagger.predict([sent])[0] == ["DT", "NN", "VBD", "DT", "NN", "."]


def test_every_grain_is_its_own_feature(data):
    """The labeler's feature has a value for every cluster of every grain (the ids are
    distinct across grains: cluster 0 of the coarse grain is not cluster 0 of the fine)."""
    X, y, text = data
    tagger = _tagger(word_clusters=_vectors()).fit(X, y, unlabeled=text)
    spec = {s["name"]: s for s in tagger.labeler_.feature_space_.extra_specs_}[WORD_CLUSTERS]
    assert spec["n_values"] == tagger.word_clusters_.n_ids_ == 3 + 6
    without = _tagger().fit(X, y)
    assert WORD_CLUSTERS not in {s["name"] for s in without.labeler_.feature_space_.extra_specs_}


def test_fitted_clusters_are_used_as_given_and_survive_clone(data):
    X, y, text = data
    given = _vectors().fit(X + text)
    tagger = _tagger(word_clusters=given).fit(X, y)
    assert tagger.word_clusters_ is given
    assert clone(tagger).word_clusters is given
    with pytest.raises(TypeError, match="WordVectorClusters"):
        _tagger(word_clusters="64,256").fit(X, y)
    with pytest.raises(ValueError, match="n_clusters"):
        _tagger(word_clusters=WordVectorClusters(n_clusters=())).fit(X, y, unlabeled=text)


def test_without_hmms_unlabeled_text_feeds_the_clusters_only(data):
    """``hmm=None``: ``unlabeled`` is accepted when the clusters learn from it, refused
    otherwise (nothing would read it)."""
    X, y, text = data
    tagger = _tagger(word_clusters=_vectors()).fit(X, y, unlabeled=text)
    assert tagger.n_hmms_ == 0 and set(NEW_NOUNS) <= set(tagger.word_clusters_.words_)
    with pytest.raises(ValueError, match="unlabeled"):
        _tagger().fit(X, y, unlabeled=text)


def test_saved_and_loaded_with_their_settings(tmp_path, data):
    """The file keeps the clusters (the same tags after loading) and the settings they were
    learned with, so that a refit of the loaded model learns them again; a file whose
    clusters are missing is refused."""
    from hmmtl import serialize

    X, y, text = data
    tagger = _tagger(word_clusters=_vectors()).fit(X, y, unlabeled=text)
    path = tmp_path / "m.hmmtl"
    tagger.save(path)
    back = load(path)
    sents = [["the", "blorp", "saw", "a", "zint", "."], ["every", "idea", "sold", "."]]
    assert back.predict(sents) == tagger.predict(sents)
    np.testing.assert_array_equal(back.word_clusters_.labels_, tagger.word_clusters_.labels_)
    assert not hasattr(back.word_clusters, "labels_")
    assert back.word_clusters.get_params() == tagger.word_clusters.get_params()
    given = _tagger(word_clusters=tagger.word_clusters_).fit(X, y)
    given.save(tmp_path / "g.hmmtl")
    given_back = load(tmp_path / "g.hmmtl")
    assert given_back.word_clusters is given_back.word_clusters_  # given fitted: as given
    arrays, meta = tagger._get_state()
    children = {k: v for k, v in meta["children"].items() if k != "word_clusters"}
    kept = {k: v for k, v in arrays.items() if not k.startswith("word_clusters/")}
    with pytest.raises(serialize.ModelFileError, match="word-vector clusters"):
        Tagger._from_state(kept, {**meta, "children": children})
    _, plain_meta = _tagger().fit(X, y)._get_state()
    assert "word_clusters" not in plain_meta and "word_clusters" not in plain_meta["params"]


def test_cli_train_word_clusters(tmp_path, data):
    code, out, train, words = train_with_classes(tmp_path, data, "--word-clusters", "3,6")
    assert code == 0
    model = load(out)
    assert set(NEW_NOUNS) <= set(model.word_clusters_.words_)
    assert model.word_clusters_.n_clusters == (3, 6)
    for bad in (["--word-clusters", "3,6"],  # no text to learn them from
                ["--unlabeled", str(words), "--word-clusters", "1,x"]):
        code = main(["train", "--train", str(train), "--format", "conll", "--tag-column", "1",
                     *bad, "--out", str(tmp_path / "x.hmmtl"), "--quiet"])
        assert code != 0 and not (tmp_path / "x.hmmtl").exists()
