"""Brown clusters as features of the single-task Tagger (``Tagger(clusters=fitted)``,
``hmmtl train --clusters C``): learned by the command line on the training words and the
unlabeled text in one streamed pass, saved with the model, used as given."""

from __future__ import annotations

import pytest
from sklearn.base import clone


from hmmtl import Tagger, load
from hmmtl._base import NotFittedError
from hmmtl.cli import main
from hmmtl.io.text import TokenStream
from hmmtl.ner.clusters import BrownClusters
from hmmtl.transfer.pipeline import CLUSTERS

from word_class_text import NEW_NOUNS, tagged_and_text, train_with_classes


@pytest.fixture(scope="module")
def data():
    return tagged_and_text()


def _tagger(**kw):
    return Tagger(labeler_params={"max_iterations": 25}, random_state=0, **kw)


def test_the_command_lines_clusters_learn_from_the_text_in_one_streamed_pass(data):
    """``hmmtl train --clusters C`` (``learn_clusters``): the clusters of the training words
    and the text, read once as a stream (in the training words' notation), are those of
    :class:`BrownClusters` on the same sentences as one list; the tagger reads their
    prefixes, and the nouns seen only in the text are tagged as nouns."""
    from hmmtl.ner.clusters import learn_clusters

    X, y, text = data
    readings = []

    def sentences():
        readings.append(1)
        return iter(text)

    clusters = learn_clusters(X, y, TokenStream(sentences), 4)
    assert len(readings) == 1
    ref = BrownClusters(n_clusters=4, min_count=2).fit(X + text)
    assert list(clusters.words_) == list(ref.words_) and set(NEW_NOUNS) <= set(ref.words_)
    assert list(clusters.paths_) == list(ref.paths_)
    tagger = _tagger(hmm=3, clusters=clusters).fit(X, y, unlabeled=text)
    assert tagger.clusters_ is clusters
    assert CLUSTERS in tagger.labeler_.get_params()["extra_window"]
    assert tagger.predict([["the", "blorp", "saw", "a", "quax", "."]])[0][1] == "NN"


def test_the_text_is_written_in_the_training_words_notation():
    """Brackets of the text written as the training words write them (``(`` -> ``-LRB-``
    when the training words say ``-LRB-``), as the tagger reads it; ``notation="keep"``
    leaves them."""
    from hmmtl.ner.clusters import learn_clusters

    X = [["-LRB-", "a", "-RRB-", "b"], ["c", "-LRB-", "d", "-RRB-"]] * 3
    y = [["-LRB-", "DT", "-RRB-", "NN"], ["NN", "-LRB-", "NN", "-RRB-"]] * 3
    text = [["(", "a", ")", "b"]] * 3
    assert "(" not in learn_clusters(X, y, text, 2).words_
    assert "(" in learn_clusters(X, y, text, 2, notation="keep").words_


def test_a_saved_tagger_keeps_its_clusters(data, tmp_path):
    from hmmtl.ner.clusters import learn_clusters

    X, y, text = data
    tagger = _tagger(hmm=3, clusters=learn_clusters(X, y, text, 4)).fit(X, y, unlabeled=text)
    tagger.save(tmp_path / "m.hmmtl")
    again = load(tmp_path / "m.hmmtl")
    assert list(again.clusters_.words_) == list(tagger.clusters_.words_)
    assert list(again.clusters_.paths_) == list(tagger.clusters_.paths_)
    assert again.get_params()["clusters"] is again.clusters_
    test = [["every", "zint", "made", "this", "road", "."], ["a", "cat", "."]]
    assert again.predict(test) == tagger.predict(test)


def test_fitted_clusters_are_used_as_given(data, tmp_path):
    """A fitted BrownClusters is used as it is (also by a clone), not learned again, and
    its prefixes are features: the model differs from the one without."""
    X, y, text = data
    given = BrownClusters(n_clusters=4, min_count=1).fit(X + text)
    tagger = clone(_tagger(clusters=given)).fit(X, y)
    assert tagger.clusters_ is given
    plain = _tagger().fit(X, y)
    assert tagger.labeler_.coef_.shape != plain.labeler_.coef_.shape
    tagger.save(tmp_path / "given.hmmtl")
    again = load(tmp_path / "given.hmmtl")
    assert again.get_params()["clusters"] is again.clusters_
    assert list(again.clusters_.words_) == list(given.words_)


@pytest.mark.parametrize("bad, error, match", [
    (4, TypeError, "fitted BrownClusters"), ("many", TypeError, "fitted BrownClusters"),
    (BrownClusters(n_clusters=3), NotFittedError, "not fitted yet")])
def test_bad_clusters_are_named(data, bad, error, match):
    X, y, _ = data
    with pytest.raises(error, match=match):
        _tagger(clusters=bad).fit(X, y)


def test_bad_prefixes_are_named(data):
    X, y, text = data
    given = BrownClusters(n_clusters=4, min_count=1).fit(X + text)
    with pytest.raises(ValueError):
        _tagger(clusters=given, cluster_prefixes=(0,)).fit(X, y)


def test_cli_train_clusters(tmp_path, data):
    code, out, train, _ = train_with_classes(tmp_path, data, "--clusters", "4")
    assert code == 0
    model = load(out)
    assert set(NEW_NOUNS) <= set(model.clusters_.words_)
    code = main(["train", "--train", str(train), "--format", "conll", "--tasks", "pos=1",
                 "--clusters", "4", "--out", str(tmp_path / "x.hmmtl"), "--quiet"])
    assert code != 0 and not (tmp_path / "x.hmmtl").exists()
