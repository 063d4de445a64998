"""Synthetic NER corpora shared by the recognizer's tests."""

from __future__ import annotations

import numpy as np


def documents(n_docs, seed):
    """Documents whose first sentence introduces a name unambiguously (``Mr. X`` is a
    person, ``X Corp`` an organization) and whose later sentences use it bare (``X said
    .``): only the document tells the type of the later mentions."""
    rng = np.random.default_rng(seed)
    X, y, pos, docs = [], [], [], []
    for d in range(n_docs):
        name = "".join(rng.choice(list("bcdfgklmnprstvz"), 3)).capitalize() + \
            "".join(rng.choice(list("aeiou"), 2))
        person = bool(rng.integers(2))
        if person:
            X.append(["Mr.", name, "spoke", "."])
            y.append(["O", "B-PER", "O", "O"])
        else:
            X.append(["The", name, "Corp", "grew", "."])
            y.append(["O", "B-ORG", "I-ORG", "O", "O"])
        for _ in range(2):
            X.append([name, "said", "so", "."])
            y.append(["B-PER" if person else "B-ORG", "O", "O", "O"])
        docs += [f"doc{d}"] * 3
    pos = [["NNP" if w[0].isupper() and w not in ("The", "Mr.") else "X" for w in s] for s in X]
    return X, y, pos, docs
