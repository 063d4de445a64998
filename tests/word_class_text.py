"""A small tagged text of interchangeable nouns and verbs, and unlabeled text with nouns
of its own, for the tests of word classes learned from text (Brown clusters, word-vector
clusters) as features of the Tagger."""

from __future__ import annotations

import numpy as np

NOUNS = ["dog", "cat", "car", "house", "tree", "book", "idea", "road"]
VERBS = ["saw", "liked", "took", "made", "found", "sold"]
DETS = ["the", "a", "this", "every"]
#: words of the unlabeled text only (never labeled): their classes come from the text
NEW_NOUNS = ["blorp", "zint", "quax"]


def corpus(n: int, seed: int, nouns=NOUNS):
    """``n`` sentences "DET NOUN VERB DET NOUN ." and their tags."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n):
        d1, d2 = rng.choice(DETS, 2)
        n1, n2 = rng.choice(nouns, 2)
        v = rng.choice(VERBS)
        X.append([str(d1), str(n1), str(v), str(d2), str(n2), "."])
        y.append(["DT", "NN", "VBD", "DT", "NN", "."])
    return X, y


def tagged_and_text():
    """(training sentences, their tags, unlabeled sentences with the new nouns)."""
    X, y = corpus(120, 0)
    text, _ = corpus(400, 1, NOUNS + NEW_NOUNS)
    return X, y, text


def train_with_classes(folder, data, *options) -> tuple:
    """``hmmtl train`` on ``data`` (:func:`tagged_and_text`) written as a CoNLL file and a
    text file in ``folder``, with a small HMM and ``options`` (the word-class option under
    test); (exit code, model path, the CoNLL file, the text file)."""
    from hmmtl.cli import main

    X, y, text = data
    train = folder / "train.conll"
    train.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(s, ts)) + "\n"
                             for s, ts in zip(X, y)), encoding="utf-8")
    words = folder / "text.txt"
    words.write_text("".join(" ".join(s) + "\n" for s in text), encoding="utf-8")
    out = folder / "m.hmmtl"
    code = main(["train", "--train", str(train), "--format", "conll", "--tag-column", "1",
                 "--unlabeled", str(words), *options, "--max-iter", "20",
                 "--hmm-param", "n_hmms=1", "--hmm-param", "n_states=4",
                 "--hmm-param", "n_iter=3", "--out", str(out), "--quiet"])
    return code, out, train, words
