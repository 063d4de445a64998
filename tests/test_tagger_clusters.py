"""Brown clusters as features of the single-task Tagger (``Tagger(clusters=...)``,
``hmmtl train --clusters C``): learned on the training words and the unlabeled text in the
pass that reads the text for the HMMs, saved with the model, used as given when fitted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone


from hmmtl import Tagger, load
from hmmtl._base import NotFittedError
from hmmtl.cli import main
from hmmtl.io.text import TokenStream
from hmmtl.ner.clusters import BrownClusters
from hmmtl.transfer.pipeline import CLUSTERS

NOUNS = ["dog", "cat", "car", "house", "tree", "book", "idea", "road"]
VERBS = ["saw", "liked", "took", "made", "found", "sold"]
DETS = ["the", "a", "this", "every"]
#: words of the unlabeled text only (never labeled): their clusters come from the text
NEW_NOUNS = ["blorp", "zint", "quax"]


def _corpus(n: int, seed: int, nouns=NOUNS):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n):
        d1, d2 = rng.choice(DETS, 2)
        n1, n2 = rng.choice(nouns, 2)
        v = rng.choice(VERBS)
        X.append([str(d1), str(n1), str(v), str(d2), str(n2), "."])
        y.append(["DT", "NN", "VBD", "DT", "NN", "."])
    return X, y


@pytest.fixture(scope="module")
def data():
    X, y = _corpus(120, 0)
    text, _ = _corpus(400, 1, NOUNS + NEW_NOUNS)
    return X, y, text


def _tagger(**kw):
    return Tagger(labeler_params={"max_iterations": 25}, random_state=0, **kw)


def test_clusters_learn_from_the_text_in_the_same_streamed_pass(data):
    """The clusters hold the words of the unlabeled text (seen there only), the text is
    read once for the HMMs and the clusters together, and the CRF reads the prefixes."""
    X, y, text = data
    readings = []

    def sentences():
        readings.append(1)
        return iter(text)

    tagger = _tagger(hmm=3, clusters=4).fit(X, y, unlabeled=TokenStream(sentences))
    assert len(readings) == 1
    assert isinstance(tagger.clusters_, BrownClusters)
    assert set(NEW_NOUNS) <= set(tagger.clusters_.words_)
    assert CLUSTERS in tagger.labeler_.get_params()["extra_window"]
    # the unseen nouns share the labeled nouns' clusters at some grain: tagged as nouns
    assert tagger.predict([["the", "blorp", "saw", "a", "quax", "."]])[0][1] == "NN"


def test_clusters_without_hmms_learn_on_the_training_words_and_the_text(data):
    X, y, text = data
    tagger = _tagger(clusters=4).fit(X, y, unlabeled=text)
    assert tagger.hmms_ == [] and set(NEW_NOUNS) <= set(tagger.clusters_.words_)
    with pytest.raises(ValueError, match="no clusters to learn"):
        _tagger().fit(X, y, unlabeled=text)


def test_a_saved_tagger_keeps_its_clusters(data, tmp_path):
    X, y, text = data
    tagger = _tagger(hmm=3, clusters=4).fit(X, y, unlabeled=text)
    tagger.save(tmp_path / "m.hmmtl")
    again = load(tmp_path / "m.hmmtl")
    assert list(again.clusters_.words_) == list(tagger.clusters_.words_)
    assert list(again.clusters_.paths_) == list(tagger.clusters_.paths_)
    assert again.get_params()["clusters"] == 4
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
    (1, ValueError, "at least 2"), ("many", TypeError, "number of clusters"),
    (BrownClusters(n_clusters=3), NotFittedError, "not fitted yet")])
def test_bad_clusters_are_named(data, bad, error, match):
    X, y, _ = data
    with pytest.raises(error, match=match):
        _tagger(clusters=bad).fit(X, y)


def test_bad_prefixes_are_named(data):
    X, y, _ = data
    with pytest.raises(ValueError):
        _tagger(clusters=3, cluster_prefixes=(0,)).fit(X, y)


def test_cli_train_clusters(tmp_path, data):
    X, y, text = data
    train = tmp_path / "train.conll"
    train.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(s, ts)) + "\n"
                             for s, ts in zip(X, y)), encoding="utf-8")
    words = tmp_path / "text.txt"
    words.write_text("".join(" ".join(s) + "\n" for s in text), encoding="utf-8")
    out = tmp_path / "m.hmmtl"
    assert main(["train", "--train", str(train), "--format", "conll", "--tag-column", "1",
                 "--unlabeled", str(words), "--clusters", "4", "--max-iter", "20",
                 "--hmm-param", "n_hmms=1", "--hmm-param", "n_states=4",
                 "--hmm-param", "n_iter=3", "--out", str(out), "--quiet"]) == 0
    model = load(out)
    assert set(NEW_NOUNS) <= set(model.clusters_.words_)
    code = main(["train", "--train", str(train), "--format", "conll", "--tasks", "pos=1",
                 "--clusters", "4", "--out", str(tmp_path / "x.hmmtl"), "--quiet"])
    assert code != 0 and not (tmp_path / "x.hmmtl").exists()
