"""One fitted model serves many threads at once (a web service): every model class, called
from 8 threads at the same time on sentences full of words unseen in training, gives each
thread the tags it gives alone, and the tags a fresh copy of the model gives (nothing of
what was tagged before, nor of what other threads tag, leaks into a result).

Once, unseen words were featurized into a side table that ``predict`` grew without a lock:
two threads tagging with one POS model crashed (``IndexError: index 3442 is out of bounds``)
or silently swapped the features of their new words."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

from model_zoo import MODELS, SENTENCES, TEST_SENTENCES, POS

N_THREADS = 8
N_ROUNDS = 3


def _unseen_sentences(seed: int, n: int = 12) -> list[list[str]]:
    """Sentences mixing training words with many words no model has seen (random letters,
    capitals, digits, hyphens), different for every seed."""
    rng = np.random.default_rng(seed)
    known = sorted({w for s in SENTENCES for w in s})
    letters = list("abcdefghijklmnopqrstuvwxyz")
    out = []
    for _ in range(n):
        words = []
        for _ in range(int(rng.integers(2, 9))):
            if rng.random() < 0.35:
                words.append(str(rng.choice(known)))
                continue
            word = "".join(rng.choice(letters, int(rng.integers(2, 9))))
            shape = rng.integers(4)
            word = (word.capitalize() if shape == 0 else word.upper() if shape == 1 else
                    word + str(int(rng.integers(100))) if shape == 2 else word + "-" + word[:2])
            words.append(word)
        out.append(words)
    return out


def _tagger_auto():
    from hmmtl.transfer.pipeline import Tagger

    return Tagger(hmm="auto", hmm_params={"n_hmms": 2, "n_states": 4, "n_iter": 2,
                                          "min_count": 1},
                  labeler_params={"max_iterations": 10}, random_state=0).fit(
        SENTENCES, POS, unlabeled=TEST_SENTENCES)


def _multitask_shared():
    """A multi-task model with a shared HMM and the recognizer for its NER task (an HMM of
    its own too): the kept HMM tables, the shared featurizers and each batch's memo."""
    from hmmtl.hmm import CategoricalHMM
    from hmmtl.ner import NamedEntityRecognizer
    from hmmtl.transfer.multitask import MultiTaskTagger

    from model_zoo import CHUNKS, ENTITIES

    hmm = CategoricalHMM(4, n_iter=3, random_state=0).fit(SENTENCES + TEST_SENTENCES)
    ner = NamedEntityRecognizer(columns=(), n_folds=2, auto_lists=False, hmm=hmm,
                                labeler_params={"max_iterations": 15}, random_state=0)
    return MultiTaskTagger(n_folds=2, hmm=hmm, task_models={"ner": ner},
                           labeler_params={"max_iterations": 15}, random_state=0).fit(
        SENTENCES, {"pos": POS, "chunk": CHUNKS, "ner": ENTITIES})


_ZOO = {m.name: m for m in MODELS}
#: name -> (fit, apply(model, sentences, domains) -> a JSON-able answer per sentence)
CASES = {
    **{name: (m.fit, m.apply) for name, m in _ZOO.items()},
    "CategoricalHMM.transform": (
        _ZOO["CategoricalHMM"].fit,
        lambda m, X, d: np.round(m.transform(X, kind="posterior"), 10).tolist()),
    "CategoricalHMM.score_samples": (
        _ZOO["CategoricalHMM"].fit,
        lambda m, X, d: np.round(m.score_samples(X), 8).tolist()),
    "Tagger-auto": (_tagger_auto, lambda m, X, d: m.predict(X)),
    "MultiTaskTagger-shared-hmm-recognizer": (_multitask_shared, lambda m, X, d: m.predict(X)),
}


@pytest.fixture(scope="module")
def fitted():
    return {}


@pytest.mark.parametrize("name", sorted(CASES))
def test_threads_share_one_model(name, fitted):
    fit, apply = CASES[name]
    if name not in fitted:
        fitted[name] = fit()
    model = fitted[name]
    fresh = copy.deepcopy(model)  # never used before: no history
    inputs = [_unseen_sentences(seed) for seed in range(N_THREADS)]
    domains = [["news" if i % 2 else "web" for i in range(len(x))] for x in inputs]
    expected = [apply(fresh, x, d) for x, d in zip(inputs, domains)]
    # a history of other batches first, so that anything a call keeps would show
    for seed in range(100, 104):
        x = _unseen_sentences(seed)
        apply(model, x, ["web"] * len(x))

    results: dict = {}
    errors: list = []
    start = threading.Barrier(N_THREADS)

    def work(k):
        try:
            start.wait()
            for r in range(N_ROUNDS):
                results[k, r] = apply(model, inputs[k], domains[k])
        except BaseException as exc:  # noqa: BLE001 - reported below, with its thread
            errors.append((k, exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"thread {errors[0][0]} raised {errors[0][1]!r}"
    for k in range(N_THREADS):
        for r in range(N_ROUNDS):
            assert results[k, r] == expected[k], f"thread {k}, round {r}"
