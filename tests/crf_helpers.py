"""Helpers of the CRF-style labeler tests: random corpora, brute-force enumeration of all
paths, central finite differences."""

from __future__ import annotations

import itertools

import numpy as np

WORDS = ["the", "a", "dog", "cat", "runs", "sleeps", "Paris", "John", "in", "."]


def random_corpus(rng, n_sent=8, labels=("A", "B", "C"), max_len=5):
    """``n_sent`` sentences of 1 to ``max_len`` words from ``WORDS``, with random tags."""
    X, y = [], []
    for _ in range(n_sent):
        n = int(rng.integers(1, max_len + 1))
        X.append([WORDS[i] for i in rng.integers(0, len(WORDS), n)])
        y.append([labels[i] for i in rng.integers(0, len(labels), n)])
    return X, y


def brute_force(unary, trans, start, end):
    """log Z, marginals and the score of every path of one sentence, by enumeration."""
    T, K = unary.shape
    scores = {}
    for path in itertools.product(range(K), repeat=T):
        s = start[path[0]] + end[path[-1]] + sum(unary[t, k] for t, k in enumerate(path))
        s += sum(trans[a, b] for a, b in zip(path[:-1], path[1:]))
        scores[path] = s
    log_z = np.logaddexp.reduce(np.array(list(scores.values())))
    marg = np.zeros((T, K))
    for path, s in scores.items():
        for t, k in enumerate(path):
            marg[t, k] += np.exp(s - log_z)
    return log_z, marg, scores


def central_differences(f, theta, idx, eps=1e-5):
    """``(f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps)`` for each coordinate ``i`` in
    ``idx``."""
    num = np.empty(idx.size)
    for k, i in enumerate(idx):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        num[k] = (f(tp) - f(tm)) / (2 * eps)
    return num
