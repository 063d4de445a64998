"""Every model that predicts gives each sentence the same answer alone or in any batch: no
statistic of the batch (its largest id, its vocabulary, its length) leaks into a sentence's
tags.  A property test over random batches of known and unseen words (and empty sentences,
which every model answers with an empty list)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_zoo import DOMAINS, MODELS, POS, SENTENCES

WORDS = sorted({w for s in SENTENCES for w in s}) + ["unicorn", "Zebras", "42", "runs."]
DOMAIN_CHOICES = ["news", "web", "blogs"]  # "blogs": a domain unseen in training


def _extras(sentences):
    """Per-token extras that depend on the token only: a categorical id (the word's length,
    so the largest id varies with the batch) and weighted categorical ids."""
    lengths = np.array([len(w) for s in sentences for w in s], dtype=np.int64)
    ids = np.stack([lengths % 5, (lengths + 1) % 7], axis=1)
    weights = np.full(ids.shape, 0.5)
    return {"length": lengths, "top": (ids, weights)}


def _augmented_with_extras():
    from hmmtl.transfer.augment import DomainAugmentedCRF

    return DomainAugmentedCRF(labeler_params={"max_iterations": 20}).fit(
        SENTENCES, POS, domains=DOMAINS, extra=_extras(SENTENCES))


def _tagger_plain():
    from hmmtl.transfer.pipeline import Tagger

    return Tagger(labeler="perceptron", labeler_params={"n_epochs": 3},
                  random_state=0).fit(SENTENCES, POS)


def _known_domains(apply):
    """MultiDomainHMM refuses a domain it was not trained on: map the unseen one."""
    return lambda m, X, d: apply(m, X, ["web" if x == "blogs" else x for x in d])


def _tagger_auto():
    """A Tagger that learns its own small HMM ensemble (``hmm="auto"``)."""
    from hmmtl.transfer.pipeline import Tagger

    return Tagger(hmm="auto", hmm_params={"n_hmms": 2, "n_states": 4, "n_iter": 2,
                                          "min_count": 1},
                  representations=("type", "posterior"),
                  labeler_params={"max_iterations": 10}, random_state=0).fit(SENTENCES, POS)


def _rows_by_sentence(rows, X):
    offsets = np.cumsum([0] + [len(s) for s in X])
    return [np.round(rows[a:b], 10).tolist() for a, b in zip(offsets[:-1], offsets[1:])]


_ZOO = {m.name: m for m in MODELS}
#: name -> (fit, predict(model, sentences, domains)); every model class of the zoo, feature
#: maps (ASO, Brown clusters, gazetteers) through their per-token rows
PREDICTORS = {
    **{name: (m.fit, m.apply) for name, m in _ZOO.items()},
    "CategoricalHMM.transform": (
        _ZOO["CategoricalHMM"].fit,
        lambda m, X, d: _rows_by_sentence(m.transform(X, kind="posterior"), X)),
    "Tagger-auto": (_tagger_auto, lambda m, X, d: m.predict(X)),
    "MultiDomainHMM": (_ZOO["MultiDomainHMM"].fit, _known_domains(_ZOO["MultiDomainHMM"].apply)),
    "Tagger-without-HMM": (_tagger_plain, lambda m, X, d: m.predict(X)),
    "DomainAugmentedCRF-categorical-extras": (
        _augmented_with_extras, lambda m, X, d: m.predict(X, domains=d, extra=_extras(X))),
}


@pytest.fixture(scope="module")
def fitted():
    return {}


batches = st.lists(
    st.tuples(st.lists(st.sampled_from(WORDS), min_size=0, max_size=6),  # empty sentences too
              st.sampled_from(DOMAIN_CHOICES)),
    min_size=2, max_size=8)


@pytest.mark.parametrize("name", sorted(PREDICTORS))
def test_predict_is_batch_independent(name, fitted):
    fit, predict = PREDICTORS[name]
    if name not in fitted:
        fitted[name] = fit()
    model = fitted[name]

    @settings(max_examples=30, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(batches)
    def check(batch):
        X = [list(words) for words, _ in batch]
        domains = [d for _, d in batch]
        together = predict(model, X, domains)
        alone = [predict(model, [x], [d])[0] for x, d in zip(X, domains)]
        assert together == alone
        order = list(reversed(range(len(X))))
        reordered = predict(model, [X[i] for i in order], [domains[i] for i in order])
        assert reordered == [together[i] for i in order]

    check()
