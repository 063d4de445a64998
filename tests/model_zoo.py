"""One small fitted instance of every model class of :data:`hmmtl.serialize.MODEL_CLASSES`,
and how to apply each to sentences, for the tests that run every model through the same
checks (saving and loading in a fresh process, tampered files, batch independence).

Every model is fitted on :data:`SENTENCES` (a few seconds for all of them).
"""

from __future__ import annotations

from typing import NamedTuple
from collections.abc import Callable

import numpy as np

_DET, _NOUN, _VERB = ["the", "a", "this"], ["dog", "cat", "bird", "man"], ["runs", "sleeps",
                                                                          "sings", "eats"]


def write_conll(path, sentences, *columns):
    """A CoNLL file of ``sentences``, one token a line: the word, then each column's label
    (``columns``: lists of label lists), space-separated; a blank line after each sentence."""
    with open(path, "w") as f:
        for i, words in enumerate(sentences):
            for j, w in enumerate(words):
                f.write(" ".join([w] + [c[i][j] for c in columns]) + "\n")
            f.write("\n")


def cli(*argv):
    """``hmmtl ARGV...`` in this process (arguments turned into strings); its exit status."""
    from hmmtl.cli import main

    return main(list(map(str, argv)))


def _corpus(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X, pos, chunk, domains = [], [], [], []
    for i in range(n):
        words, tags, chunks = [], [], []
        for _ in range(int(rng.integers(1, 3))):
            det, noun, verb = (str(rng.choice(v)) for v in (_DET, _NOUN, _VERB))
            words += [det, noun, verb]
            tags += ["DT", "NN", "VBZ"]
            chunks += ["B-NP", "I-NP", "B-VP"]
        if rng.random() < 0.5:
            words.append(".")
            tags.append(".")
            chunks.append("O")
        X.append(words)
        pos.append(tags)
        chunk.append(chunks)
        domains.append("news" if i % 2 else "web")
    return X, pos, chunk, domains


#: the training sentences, their POS tags and chunk tags, and the domain of each sentence
SENTENCES, POS, CHUNKS, DOMAINS = _corpus(30, seed=0)
#: other sentences to tag (some words unseen in training)
TEST_SENTENCES, TEST_POS, _, TEST_DOMAINS = _corpus(12, seed=1)
TEST_SENTENCES[0] = ["the", "unicorn", "sleeps"]


#: entity tags of the training sentences: the nouns after "the" are pets, a man a person
ENTITIES = [["B-PET" if i and s[i - 1] == "the" and w in _NOUN[:3] else
             "B-PER" if w == "man" else "O" for i, w in enumerate(s)] for s in SENTENCES]


def _pos_tags(X):
    tag = {**dict.fromkeys(_DET, "DT"), **dict.fromkeys(_VERB, "VBZ"), ".": "."}
    return [[tag.get(w, "NN") for w in s] for s in X]


def _recognizer():
    from hmmtl.ner.clusters import BrownClusters
    from hmmtl.ner.gazetteers import Gazetteer
    from hmmtl.ner import NamedEntityRecognizer

    return NamedEntityRecognizer(
        clusters=BrownClusters(n_clusters=3, min_count=1).fit(SENTENCES + TEST_SENTENCES),
        gazetteer=Gazetteer({"pets": ["dog", "cat"]}), n_folds=2, output_scheme="bilou",
        labeler_params={"max_iterations": 15})


class Model(NamedTuple):
    name: str
    fit: Callable[[], object]
    #: model, sentences, domains -> a JSON-able answer per sentence
    apply: Callable[[object, list, list], list]


def _hmm():
    from hmmtl.hmm import CategoricalHMM

    return CategoricalHMM(4, n_iter=3, random_state=0).fit(SENTENCES)


def _as_list(values):
    return [np.asarray(v).tolist() for v in values]


def _rows_by_sentence(rows, X):
    offsets = np.cumsum([0] + [len(s) for s in X])
    return [np.round(rows[a:b], 10).tolist() for a, b in zip(offsets[:-1], offsets[1:])]


MODELS = [
    Model("CategoricalHMM", _hmm, lambda m, X, d: _as_list(m.predict(X))),
    Model("MultiDomainHMM",
          lambda: __import__("hmmtl.hmm", fromlist=["MultiDomainHMM"]).MultiDomainHMM(
              4, ["news", "web"], n_iter=3, random_state=0).fit(SENTENCES, domains=DOMAINS),
          lambda m, X, d: _as_list(m.predict(X, domains=d))),
    Model("LinearChainCRF",
          lambda: __import__("hmmtl.crf", fromlist=["LinearChainCRF"]).LinearChainCRF(
              max_iterations=20).fit(SENTENCES, POS),
          lambda m, X, d: m.predict(X)),
    Model("AveragedPerceptron",
          lambda: __import__("hmmtl.crf", fromlist=["AveragedPerceptron"]).AveragedPerceptron(
              n_epochs=3, random_state=0).fit(SENTENCES, POS),
          lambda m, X, d: m.predict(X)),
    Model("Tagger",
          # with word-vector clusters learned in fit: the file's every part goes through
          # the shared checks
          lambda: __import__("hmmtl.transfer.pipeline", fromlist=["Tagger"]).Tagger(
              hmm=_hmm(), labeler_params={"max_iterations": 20}, random_state=0,
              word_clusters=__import__("hmmtl.ner.vectors", fromlist=["WordVectorClusters"])
              .WordVectorClusters(n_clusters=(2, 3), n_components=2, min_count=1)).fit(
              SENTENCES, POS),
          lambda m, X, d: m.predict(X)),
    Model("DomainAugmentedCRF",
          lambda: __import__("hmmtl.transfer.augment", fromlist=["DomainAugmentedCRF"])
          .DomainAugmentedCRF(labeler_params={"max_iterations": 20}).fit(
              SENTENCES, POS, domains=DOMAINS),
          lambda m, X, d: m.predict(X, domains=d)),
    Model("MultiTaskHMM",
          lambda: __import__("hmmtl.transfer.multitask_hmm", fromlist=["MultiTaskHMM"])
          .MultiTaskHMM(n_states=4, n_iter=3, random_state=0).fit(
              SENTENCES, {"pos": POS, "chunk": CHUNKS}),
          lambda m, X, d: m.predict(X, task="pos")),
    Model("AlternatingStructureOptimization",
          lambda: __import__("hmmtl.transfer.aso",
                             fromlist=["AlternatingStructureOptimization"])
          .AlternatingStructureOptimization(n_components=2, n_rounds=1, window=0,
                                            min_count=1, random_state=0).fit(
              SENTENCES, {"pos": POS, "chunk": CHUNKS}),
          lambda m, X, d: _rows_by_sentence(m.transform(X), X)),
    Model("BrownClusters",
          lambda: __import__("hmmtl.ner.clusters", fromlist=["BrownClusters"]).BrownClusters(
              n_clusters=3, min_count=1).fit(SENTENCES),
          lambda m, X, d: _rows_by_sentence(m.transform(X), X)),
    Model("WordVectorClusters",
          lambda: __import__("hmmtl.ner.vectors", fromlist=["WordVectorClusters"])
          .WordVectorClusters(n_clusters=(2, 3), n_components=2, min_count=1).fit(SENTENCES),
          lambda m, X, d: _rows_by_sentence(
              m.transform_types([w for s in X for w in s]), X)),
    Model("Gazetteer",
          lambda: __import__("hmmtl.ner.gazetteers", fromlist=["Gazetteer"]).Gazetteer(
              {"pets": ["dog", "the cat"], "people": ["a man", "man"]}),
          lambda m, X, d: _rows_by_sentence(
              m.match([w for s in X for w in s], np.cumsum([0] + [len(s) for s in X])), X)),
    Model("Lexicon",
          lambda: __import__("hmmtl.ner.gazetteers", fromlist=["Lexicon"]).Lexicon(
              {"pets": ["Dog", "the Cat"], "people": ["A Man", "Man"]}),
          lambda m, X, d: _rows_by_sentence(
              m.match([w for s in X for w in s], np.cumsum([0] + [len(s) for s in X])), X)),
    Model("NamedEntityRecognizer", lambda: _recognizer().fit(
        SENTENCES, ENTITIES, columns={"pos": POS}, documents=DOMAINS),
          lambda m, X, d: m.predict(X, columns={"pos": _pos_tags(X)}, documents=d)),
    Model("MultiTaskTagger",
          lambda: __import__("hmmtl.transfer.multitask", fromlist=["MultiTaskTagger"])
          .MultiTaskTagger(n_folds=2, labeler_params={"max_iterations": 15}, random_state=0)
          .fit(SENTENCES, {"pos": POS, "chunk": CHUNKS, "ner": ENTITIES}),
          lambda m, X, d: [dict(zip(p, s)) for p in [m.predict(X)] for s in zip(*p.values())]),
]
