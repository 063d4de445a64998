"""What the executor tests share: a corpus with tags, a second task and domains; every HMM
family; every input format; and the equality the executors must reach (every array element
within 1e-9 relative, 1e-12 absolute for elements below 1e-3; the log-likelihood history
likewise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hmmtl.executors import Files
from hmmtl.hmm import CategoricalHMM, MultiDomainHMM
from hmmtl.transfer.multitask_hmm import MultiTaskHMM

N_STATES = 4
N_ITER = 4
BASE = dict(n_iter=N_ITER, tol=-np.inf, random_state=0, lowercase=True, min_count=2)


def sample_corpus(n_sentences=240, n_words=40, seed=0):
    """Sentences drawn from a random HMM with peaked emissions (mixed-case words, so that
    lowercasing and min_count matter), each token's state as its tag ``T<z>`` and the
    state's parity as a second task ``P<z % 2>``."""
    rng = np.random.default_rng(seed)
    K = N_STATES
    start = rng.dirichlet(np.ones(K))
    trans = rng.dirichlet(np.full(K, 0.5), size=K)
    emit = rng.dirichlet(np.full(n_words, 0.2), size=K)
    words = [f"w{i}" if i % 7 else f"W{i}" for i in range(n_words)]
    sentences, tags, parity = [], [], []
    for _ in range(n_sentences):
        T = int(rng.integers(1, 16))
        z = rng.choice(K, p=start)
        sent, tag, par = [], [], []
        for _ in range(T):
            sent.append(words[rng.choice(n_words, p=emit[z])])
            tag.append(f"T{z}")
            par.append(f"P{z % 2}")
            z = rng.choice(K, p=trans[z])
        sentences.append(sent)
        tags.append(tag)
        parity.append(par)
    return sentences, tags, parity


SENTENCES, TAGS, PARITY = sample_corpus()
HALF = len(SENTENCES) // 2
DOMAINS = ["news"] * HALF + ["web"] * (len(SENTENCES) - HALF)

FAMILIES = ("exact", "kbest", "online", "supervised", "tied", "hierarchical", "multitask")
FORMATS = ("memory", "text", "conll", "conllu")


def make_model(family: str):
    if family == "exact":
        return CategoricalHMM(N_STATES, **BASE)
    if family == "kbest":
        return CategoricalHMM(N_STATES, kbest=2, **BASE)
    if family == "online":
        return CategoricalHMM(N_STATES, algorithm="online", batch_size=40, **BASE)
    if family == "supervised":
        return CategoricalHMM(N_STATES, **BASE)
    if family == "tied":
        return MultiDomainHMM(N_STATES, ["news", "web"], **BASE,
                              tie={"transitions": "per_domain", "emissions": "per_domain"})
    if family == "hierarchical":
        return MultiDomainHMM(N_STATES, ["news", "web"], **BASE)
    if family == "multitask":
        return MultiTaskHMM(n_states=6, n_iter=N_ITER, tol=-np.inf, random_state=0,
                            lowercase=True, min_count=2)
    raise ValueError(family)


def in_memory(family: str):
    """``(X, fit keyword arguments)`` of the in-memory form of the corpus."""
    if family == "supervised":
        return SENTENCES, {"y": TAGS}
    if family in ("tied", "hierarchical"):
        return SENTENCES, {"domains": DOMAINS}
    if family == "multitask":
        return SENTENCES, {"y": {"tag": TAGS, "parity": PARITY}}
    return SENTENCES, {}


def _write(path: Path, fmt: str, rows: range) -> None:
    lines = []
    for i in rows:
        if fmt == "text":
            lines.append(" ".join(SENTENCES[i]))
            continue
        for j, (w, t, p) in enumerate(zip(SENTENCES[i], TAGS[i], PARITY[i])):
            lines.append(f"{w}\t{t}\t{p}" if fmt == "conll"
                         else f"{j + 1}\t{w}\t_\t{p}\t{t}\t_\t0\troot\t_\t_")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def files(family: str, fmt: str, folder: Path):
    """The corpus as two files of ``fmt`` (news, then web) with what ``family`` reads from
    them, or None where the format cannot carry it (labels in plain text)."""
    if fmt == "text" and family in ("supervised", "multitask"):
        return None
    suffix = {"text": ".txt", "conll": ".conll", "conllu": ".conllu"}[fmt]
    paths = []
    for name, rows in (("news", range(HALF)), ("web", range(HALF, len(SENTENCES)))):
        path = folder / f"{family}-{name}{suffix}"
        _write(path, fmt, rows)
        paths.append(str(path))
    tag, parity = ("col1", "col2") if fmt == "conll" else ("xpos", "upos")
    labels = {"supervised": tag, "multitask": {"tag": tag, "parity": parity}}.get(family)
    domains = ["news", "web"] if family in ("tied", "hierarchical") else None
    return Files(paths, labels=labels, domains=domains)


def corpus_for(family: str, fmt: str, folder: Path):
    """``(X, fit keyword arguments)`` of ``family`` in ``fmt``; skips where not applicable."""
    if fmt == "memory":
        return in_memory(family)
    source = files(family, fmt, folder)
    if source is None:
        pytest.skip(f"{fmt} carries no labels")
    return source, {}


_PARAMETERS = ("start_prob_", "transition_prob_", "emission_prob_", "domain_emission_prob_",
               "mixing_weight_")


def parameters(model) -> dict:
    out = {n: getattr(model, n) for n in _PARAMETERS if getattr(model, n, None) is not None}
    for task, table in getattr(model, "label_prob_", {}).items():
        out[f"label_prob_{task}"] = table
    return out


def assert_close(a, b, name="") -> None:
    """Every element within 1e-9 relative, or 1e-12 absolute where below 1e-3."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{name}: shapes {a.shape} and {b.shape}"
    diff = np.abs(a - b)
    ok = (diff <= 1e-9 * np.abs(b)) | ((np.abs(b) < 1e-3) & (diff <= 1e-12))
    assert ok.all(), (f"{name}: {int((~ok).sum())} elements differ, worst "
                      f"{float(diff.max()):.3g}")


def assert_same_model(got, ref) -> None:
    """The same vocabulary, labels and parameters, and the same EM history."""
    assert got.vocabulary_ == ref.vocabulary_
    assert getattr(got, "labels_", None) == getattr(ref, "labels_", None)
    pg, pr = parameters(got), parameters(ref)
    assert set(pg) == set(pr)
    for name in pr:
        assert_close(pg[name], pr[name], name)
    assert_close(got.monitor_.history, ref.monitor_.history, "history")
    assert_close(got.monitor_.log_likelihoods, ref.monitor_.log_likelihoods, "log_likelihoods")


_REFERENCES: dict = {}


def reference(family: str):
    """The model fitted in this process on the in-memory corpus (cached)."""
    if family not in _REFERENCES:
        X, kw = in_memory(family)
        _REFERENCES[family] = make_model(family).fit(X, **kw)
    return _REFERENCES[family]


def assert_every_format_gives_the_local_model(family: str, executor, folder: Path) -> None:
    """``family`` fitted on ``executor`` from the in-memory lists and from every file
    format that can carry what it needs equals the model fitted in one process."""
    ref = reference(family)
    for fmt in FORMATS:
        if fmt != "memory" and files(family, fmt, folder) is None:
            continue
        X, kw = corpus_for(family, fmt, folder)
        assert_same_model(make_model(family).fit(X, **kw, executor=executor), ref)


def write_conllu(path: Path, sentences, tag: str = "GOLD") -> None:
    """Sentences as a CoNLL-U file (``# sent_id``, lemma = lowercase form, XPOS ``tag``)."""
    lines = []
    for i, sent in enumerate(sentences):
        lines.append(f"# sent_id = s{i}")
        lines += [f"{j + 1}\t{w}\t{w.lower()}\tX\t{tag}\t_\t0\troot\t_\t_"
                  for j, w in enumerate(sent)]
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
