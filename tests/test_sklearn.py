"""scikit-learn's model selection and pipelines on every hmmtl estimator: ``clone``,
``cross_val_score``, ``GridSearchCV`` and ``Pipeline`` (scikit-learn 1.3 to the newest; the
installed one is tested), a fitted HMM that survives ``clone``, and no scikit-learn import
when hmmtl is imported or a model is loaded."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from model_zoo import CHUNKS, DOMAINS, ENTITIES, MODELS, POS, SENTENCES  # noqa: E402

ZOO = {m.name: m for m in MODELS}
#: what each estimator is fitted on: (y, parameters of fit routed by scikit-learn, scoring)
SETUP = {
    "CategoricalHMM": (None, {}, None),
    "MultiDomainHMM": (None, {"domains": DOMAINS},
                       lambda est, X, y=None: est.score(X, domains=["news"] * len(X))),
    "LinearChainCRF": (POS, {}, None),
    "AveragedPerceptron": (POS, {}, None),
    "Tagger": (POS, {}, None),
    "DomainAugmentedCRF": (POS, {"domains": DOMAINS}, None),
    "MultiTaskHMM": (None, {}, None),
    "BrownClusters": (None, {}, None),
    "NamedEntityRecognizer": (ENTITIES, {"documents": DOMAINS}, None),
}
#: the labels of ASO are a dict of tasks, which cross-validation cannot split: clone and
#: Pipeline only
#: a Gazetteer or a Lexicon is data (named lists of entries), not an estimator
ALL = sorted(n for n in ZOO if n not in ("Gazetteer", "Lexicon"))
#: cross-validation and grid search need a score: Brown clusters have none
SCORED = sorted(n for n in SETUP if n != "BrownClusters")


def _unfitted(name):
    return clone(ZOO[name].fit())


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed fold is a warning and a NaN score
        yield


@pytest.mark.parametrize("name", ALL)
def test_clone_gives_an_unfitted_equal_estimator(name):
    fitted = ZOO[name].fit()
    copy = clone(fitted)
    assert type(copy) is type(fitted) and copy is not fitted
    assert repr(copy) == repr(fitted)
    assert not copy.__sklearn_is_fitted__() and fitted.__sklearn_is_fitted__()
    if hasattr(sklearn.utils, "get_tags"):  # scikit-learn >= 1.6
        tags = sklearn.utils.get_tags(copy)
        labelers = {"LinearChainCRF", "AveragedPerceptron", "DomainAugmentedCRF"}
        if name in labelers or "HMM" in name:
            assert tags.target_tags.required == (name in labelers)
        assert (tags.transformer_tags is not None) == hasattr(copy, "transform")


@pytest.mark.parametrize("name", SCORED)
def test_cross_val_score(name):
    y, params, scoring = SETUP[name]
    scores = cross_val_score(_unfitted(name), SENTENCES, y, cv=2, params=params,
                             scoring=scoring, error_score="raise")
    assert scores.shape == (2,) and np.isfinite(scores).all()
    if y is not None:
        assert scores.min() > 0.5  # accuracy: the folds were fitted and scored


@pytest.mark.parametrize("name", SCORED)
def test_grid_search(name):
    y, params, scoring = SETUP[name]
    est = _unfitted(name)
    grid = {"random_state": [0, 1]} if "random_state" in est.get_params() else {}
    search = GridSearchCV(est, grid, cv=2, scoring=scoring, error_score="raise")
    search.fit(SENTENCES, y, **params)
    assert np.isfinite(search.best_score_)
    assert search.best_estimator_.__sklearn_is_fitted__()


@pytest.mark.parametrize("name", ALL)
def test_pipeline(name):
    y, params, _ = SETUP.get(name, ({"pos": POS, "chunk": CHUNKS}, {}, None))
    pipe = Pipeline([("model", _unfitted(name))])
    pipe.fit(SENTENCES, y, **{f"model__{k}": v for k, v in params.items()})
    fitted = pipe.named_steps["model"]
    assert fitted.__sklearn_is_fitted__()
    if y is POS and name != "DomainAugmentedCRF":
        assert pipe.predict(SENTENCES[:3]) == fitted.predict(SENTENCES[:3])


def test_a_fitted_hmm_survives_clone():
    """``clone(Tagger(hmm=fitted_hmm)).fit(X, y)`` uses that HMM (scikit-learn's
    FrozenEstimator behaviour), it does not refit or drop it."""
    from hmmtl import Tagger

    hmm = ZOO["CategoricalHMM"].fit()
    before = hmm.emission_prob_.copy()
    tagger = Tagger(hmm=hmm, labeler_params={"max_iterations": 10})
    copy = clone(tagger)
    assert copy.hmm is hmm
    copy.fit(SENTENCES, POS)
    assert copy.hmms_[0] is hmm
    np.testing.assert_array_equal(hmm.emission_prob_, before)
    # an unfitted HMM given as a parameter is cloned as usual
    unfitted = clone(hmm)
    assert clone(Tagger(hmm=unfitted)).hmm is not unfitted
    # and cross-validation of a tagger with a fitted HMM runs
    scores = cross_val_score(tagger, SENTENCES, POS, cv=3, error_score="raise")
    assert scores.min() > 0.5


def test_hmmtl_does_not_import_sklearn():
    """``import hmmtl`` and loading a model stay light: scikit-learn is imported only by
    who calls it."""
    script = (
        "import sys, hmmtl, hmmtl.crf, hmmtl.transfer.pipeline, hmmtl.serialize\n"
        "from hmmtl import LinearChainCRF\n"
        "m = LinearChainCRF(max_iterations=3).fit([['a', 'b']], [['X', 'Y']])\n"
        "m.predict([['a']]); m.__sklearn_is_fitted__()\n"
        "print('sklearn' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# ----------------------------------------------------------------------------- rare tags
#: POS-tagged sentences in which one rare tag ("UH", on "wow") occurs only in the last
#: third: with KFold(3) without shuffling, the first two training folds never see it and
#: the last test fold holds tags its model never saw
RARE = ([list(s) for s in SENTENCES[:24]] + [["wow", "the", "dog", "runs"]] * 3
        + [list(s) for s in SENTENCES[24:27]],
        [list(t) for t in POS[:24]] + [["UH", "DT", "NN", "VBZ"]] * 3
        + [list(t) for t in POS[24:27]])
#: the labelers whose score is token accuracy, as fitted on RARE
LABELERS = {
    "LinearChainCRF": lambda: __import__("hmmtl").LinearChainCRF(max_iterations=20),
    "AveragedPerceptron": lambda: __import__("hmmtl").AveragedPerceptron(n_epochs=3,
                                                                         random_state=0),
    "Tagger": lambda: __import__("hmmtl").Tagger(labeler_params={"max_iterations": 20}),
    "DomainAugmentedCRF": lambda: __import__(
        "hmmtl.transfer.augment", fromlist=["DomainAugmentedCRF"]).DomainAugmentedCRF(
        labeler_params={"max_iterations": 20}),
}


@pytest.mark.parametrize("name", sorted(LABELERS))
def test_cross_val_score_counts_tags_unseen_in_a_fold_as_errors(name):
    from sklearn.model_selection import KFold

    X, y = RARE
    folds = list(KFold(3).split(X))
    # the setting the test is about: the rare tag is in one test fold only, never trained
    assert [any("UH" in y[i] for i in train) for train, _ in folds] == [True, True, False]
    scores = cross_val_score(LABELERS[name](), X, y, cv=KFold(3), error_score="raise")
    assert np.isfinite(scores).all() and scores.min() > 0.5
    # the fold whose test part holds "UH" it never saw: those tokens count as errors
    train, test = folds[2]
    model = clone(LABELERS[name]()).fit([X[i] for i in train], [y[i] for i in train])
    Xt, yt = [X[i] for i in test], [y[i] for i in test]
    pred = model.predict(Xt)
    n_tokens = sum(map(len, yt))
    right = sum(p == g for ps, gs in zip(pred, yt) for p, g in zip(ps, gs))
    assert sum(t == "UH" for s in yt for t in s) == 3 and right <= n_tokens - 3
    assert scores[2] == pytest.approx(right / n_tokens)


def test_grid_search_picks_by_real_scores():
    """Two values of C on data with a tag unseen in a fold: both get finite scores, and
    the search picks the one whose mean score is higher (not the first by default)."""
    from hmmtl import AveragedPerceptron, LinearChainCRF
    from sklearn.model_selection import KFold

    X, y = RARE
    search = GridSearchCV(LinearChainCRF(max_iterations=20), {"c2": [1000.0, 0.1]},
                          cv=KFold(3), error_score="raise").fit(X, y)
    means = search.cv_results_["mean_test_score"]
    assert np.isfinite(means).all() and means[0] != means[1]
    assert search.best_params_ == {"c2": [1000.0, 0.1][int(np.argmax(means))]}
    assert search.best_params_ == {"c2": 0.1}  # heavy regularization tags worse here
    search = GridSearchCV(AveragedPerceptron(random_state=0), {"n_epochs": [1, 5]},
                          cv=KFold(3), error_score="raise").fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_the_recognizer_scores_like_the_labelers():
    """Entity types the recognizer never saw count as missed entities; no sentences is the
    same ValueError as every labeler's."""
    X, y = SENTENCES[:6], ENTITIES[:6]
    model = ZOO["NamedEntityRecognizer"].fit()
    pred = model.predict(X, columns={"pos": POS[:6]}, documents=DOMAINS[:6])
    n_gold = sum(t.startswith(("B-", "U-")) for s in y for t in s)
    # every gold entity renamed to a type never seen: all missed, F1 0, but no error
    renamed = [[t[:2] + "ALIEN" if t != "O" else t for t in s] for s in y]
    assert n_gold and any(t != "O" for s in pred for t in s)
    assert model.score(X, renamed, columns={"pos": POS[:6]}, documents=DOMAINS[:6]) == 0.0
    with pytest.raises(ValueError, match="no sentences to score"):
        model.score([], [])
