"""Benchmark: hmmtl's CRF with its defaults against sklearn-crfsuite's standard set-up.

Systems, each trained on the same data in the same run:

* ``crfsuite-standard`` (the reference): sklearn-crfsuite as its tutorial and
  ``../shared/anchors/crfsuite_standard.py`` run it -- L-BFGS, c1=0.1, c2=0.01, 100
  iterations, all possible transitions; per token the bias, lowercased word, prefixes and
  suffixes of 1-3 letters, title / upper / digit / hyphen flags, collapsed shape, the
  lowercased words at -1 and +1, BOS / EOS (chunking adds gold POS at -1, 0, +1; NER gold POS
  and chunk at -1, 0, +1).
* ``hmmtl-crf``: ``LinearChainCRF()`` with its defaults (the task's, picked from the tags),
  as a user runs it; for POS also ``hmmtl train`` with no options (``--cli``), which must
  build the same model.
* ``crfsuite-hmmtl-features``: CRFsuite given hmmtl's default features (as feature dicts)
  and hmmtl's default c1 / c2 / iterations: the same model trained by the other optimizer.
* ``hmmtl-perceptron``: ``AveragedPerceptron()`` with its defaults.

Tasks: POS (CoNLL-2000 train -> CoNLL-2000 test, and -> each EWT domain's test XPOS, raw and
normalized: words PTB-escaped, gold ``-LRB-``/``-RRB-`` mapped to ``(``/``)``), chunking
(CoNLL-2000, words + gold POS, F1), NER (CoNLL-2003 eng.train -> eng.testa / eng.testb,
words + gold POS and chunk, IOB2, F1 with conlleval semantics).

    HMMTL_DATA=../shared/data python benchmarks/bench_crf.py [--tasks pos,chunk,ner] [--cli]

Training seconds: from raw tokens for hmmtl (feature extraction included), the ``fit`` call
for CRFsuite (its feature dicts are built before, timed apart).  Tagging tokens/s: from raw
tokens for both, feature extraction included (CRFsuite's standard features are computed per
token; hmmtl featurizes each word type once and keeps the unseen ones for later calls).
Prints a table and one JSON line.  ``--gradient`` also times one evaluation of the CRF
objective and gradient (CPU seconds) without extras and with three HMMs' worth of dense
extras (random, shaped as ``hmm_representations`` makes them), ``--tasks none`` only that.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

EWT_DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")


# ----------------------------------------------------------------------------- data
def read_conll2000(data: Path, split: str):
    """(words, pos, chunk) of CoNLL-2000 ``split`` (read from NLTK's zip by hmmtl's reader)."""
    from hmmtl.io import read_conll

    with zipfile.ZipFile(data / "nltk_data" / "corpora" / "conll2000.zip") as z:
        lines = z.read(f"conll2000/{split}.txt").decode("utf-8").splitlines()
    corpus = read_conll(lines, columns=("word", "pos", "chunk"), name=f"conll2000/{split}.txt")
    return corpus.sentences, corpus.column("pos"), corpus.column("chunk")


def read_conll2003(path: Path):
    """(words, pos, chunk, ner) of a CoNLL-2003 file, NER converted from IOB1 to IOB2."""
    from hmmtl.io import iob1_to_iob2, read_conll
    from hmmtl.io.conll import CONLL2003_COLUMNS

    corpus = read_conll(path, columns=CONLL2003_COLUMNS)
    return (corpus.sentences, corpus.column("pos"), corpus.column("chunk"),
            iob1_to_iob2(corpus.column("ner")))


def read_ewt(data: Path, domain: str, normalized: bool):
    """(words, XPOS) of an EWT domain's test file; ``normalized``: words PTB-escaped and gold
    bracket tags written as CoNLL-2000 writes them (``(``, ``)``)."""
    from hmmtl.io import normalize_tags, normalize_words, read_conllu

    corpus = read_conllu(data / "ud" / "en_ewt" / f"en_ewt-{domain}-test.conllu")
    words, tags = corpus.sentences, corpus.column("xpos")
    if normalized:
        words, tags = normalize_words(words, "ptb"), normalize_tags(tags, "plain")
    return words, tags


# ----------------------------------------------------------------------------- metrics
def token_accuracy(gold, pred) -> float:
    g = np.asarray([t for s in gold for t in s], dtype=object)
    p = np.asarray([t for s in pred for t in s], dtype=object)
    return 100.0 * float(np.mean(g == p))


def oov_accuracy(words, gold, pred, train_vocab) -> float:
    """Accuracy over the tokens whose word form (case-sensitive) is not a training word."""
    hits = total = 0
    for ws, gs, ps in zip(words, gold, pred):
        for w, g, p in zip(ws, gs, ps):
            if w not in train_vocab:
                total += 1
                hits += g == p
    return 100.0 * hits / max(total, 1)


def entity_f1(gold, pred) -> float:
    """Entity F1 with conlleval semantics (seqeval's default mode)."""
    from seqeval.metrics import f1_score

    return 100.0 * float(f1_score(gold, pred))


# ----------------------------------------------------------------------------- timing
class _Clock:
    """Wall seconds (``wall``) and this process's CPU seconds, all threads (``cpu``), of a
    ``with`` block.  On a machine shared with other work the CPU seconds are the steadier
    figure (no waiting for a core); with one thread they are what an idle machine's wall
    clock would show."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        return False


# ----------------------------------------------------------------------------- CRFsuite
def _shape(w: str) -> str:
    """CRFsuite standard set-up's collapsed word shape (``Xx``, ``d``, ``X.X.``, ``x-x``)."""
    out = []
    for ch in w:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def standard_features(words, columns=()):
    """The standard set-up's feature dicts of one sentence (``columns``: (name, values)
    pairs of gold columns, each added at -1, 0, +1), computed per token as its users do."""
    n = len(words)
    feats = []
    for i, w in enumerate(words):
        lw = w.lower()
        f = {"bias": 1.0, "w": lw, "suf1": lw[-1:], "suf2": lw[-2:], "suf3": lw[-3:],
             "pre1": lw[:1], "pre2": lw[:2], "pre3": lw[:3], "title": w.istitle(),
             "upper": w.isupper(), "digit": w.isdigit(), "hyph": "-" in w, "shape": _shape(w)}
        if i > 0:
            f["-1:w"] = words[i - 1].lower()
        else:
            f["BOS"] = True
        if i < n - 1:
            f["+1:w"] = words[i + 1].lower()
        else:
            f["EOS"] = True
        for name, col in columns:
            f[name] = col[i]
            if i > 0:
                f["-1:" + name] = col[i - 1]
            if i < n - 1:
                f["+1:" + name] = col[i + 1]
        feats.append(f)
    return feats


class HmmtlFeatureDicts:
    """hmmtl's default features for ``task`` as CRFsuite feature dicts: each offset's
    templates (``"{offset}:{feature}"``, BOS / EOS outside the sentence), the gold columns at
    hmmtl's extra offsets, a bias.  Type features are cached per word type."""

    def __init__(self, task: str):
        from hmmtl.crf import TASK_DEFAULTS
        from hmmtl.crf.features import normalize_window, resolve_templates

        preset = TASK_DEFAULTS[task]
        self.window = {o: resolve_templates(list(t)) for o, t in preset["window"].items()}
        self.extra_window = normalize_window(preset["extra_window"])
        self._cache = {}

    def _feats(self, o, w):
        key = (o, w)
        f = self._cache.get(key)
        if f is None:
            f = self._cache[key] = list(dict.fromkeys(
                s for t in self.window[o] for s in t(w)))
        return f

    def __call__(self, words, columns=()):
        n = len(words)
        out = []
        for i in range(n):
            d = {"bias": 1.0}
            for o in self.window:
                j = i + o
                fs = self._feats(o, words[j]) if 0 <= j < n else ["BOS" if j < 0 else "EOS"]
                for f in fs:
                    d[f"{o}:{f}"] = 1.0
            for name, col in columns:
                for o in self.extra_window:
                    if 0 <= i + o < n:
                        d[f"{name}@{o}={col[i + o]}"] = 1.0
            out.append(d)
        return out


def run_crfsuite(featurize, params, train, tests):
    """Fit sklearn-crfsuite on ``train`` = (words, tags, columns) and tag each test; the
    test time includes building the feature dicts from the raw tokens."""
    import sklearn_crfsuite

    words, tags, cols = train
    t0 = time.perf_counter()
    X = [featurize(ws, [(n, c[k]) for n, c in cols]) for k, ws in enumerate(words)]
    feature_s = time.perf_counter() - t0
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", all_possible_transitions=True, **params)
    with _Clock() as fit:
        crf.fit(X, tags)
    preds, tag = [], []
    for words_t, cols_t in tests:
        with _Clock() as clock:
            Xt = [featurize(ws, [(n, c[k]) for n, c in cols_t]) for k, ws in enumerate(words_t)]
            preds.append([list(p) for p in crf.predict(Xt)])
        tag.append(clock)
    n_iter = len(crf.training_log_.iterations) if crf.training_log_ is not None else None
    return {"fit": fit, "feature_s": feature_s, "preds": preds, "tag": tag, "n_iter": n_iter}


def crfsuite_standard(train, tests):
    return run_crfsuite(standard_features, {"c1": 0.1, "c2": 0.01, "max_iterations": 100},
                        train, tests)


def crfsuite_hmmtl_features(task):
    from hmmtl.crf import TASK_DEFAULTS

    preset = TASK_DEFAULTS[task]
    params = {"c1": preset["c1"], "c2": preset["c2"],
              "max_iterations": preset["max_iterations"]}
    return lambda train, tests: run_crfsuite(HmmtlFeatureDicts(task), params, train, tests)


# ----------------------------------------------------------------------------- hmmtl
def run_hmmtl(make, train, tests):
    """Fit ``make()`` on ``train`` = (words, tags, columns) from raw tokens and tag each
    test (``extra`` = the gold columns)."""
    words, tags, cols = train
    model = make()
    with _Clock() as fit:
        model.fit(words, tags, extra=dict(cols) or None)
    preds, tag = [], []
    for words_t, cols_t in tests:
        with _Clock() as clock:
            preds.append(model.predict(words_t, extra=dict(cols_t) or None))
        tag.append(clock)
    return {"fit": fit, "preds": preds, "tag": tag,
            "n_iter": int(getattr(model, "n_iter_", 0)), "model": model}


def hmmtl_crf(train, tests):
    from hmmtl import LinearChainCRF

    return run_hmmtl(LinearChainCRF, train, tests)


def hmmtl_perceptron(train, tests):
    from hmmtl import AveragedPerceptron

    return run_hmmtl(lambda: AveragedPerceptron(random_state=0), train, tests)


def _warmup():
    """Compile hmmtl's kernels before timing (Numba caches them on disk): a CRF and a
    perceptron fit and tag random sentences, with 40 labels (the blocked forward-backward and
    Viterbi kernels that POS tagging runs) and with 5, with and without a string column,
    enough tokens for the dense-slot gradient."""
    from hmmtl import AveragedPerceptron, LinearChainCRF

    rng = np.random.default_rng(0)
    X = [[f"w{j}" for j in rng.integers(0, 50, 8)] for _ in range(100)]
    extra = {"p": [[f"P{j}" for j in rng.integers(0, 5, 8)] for _ in range(100)]}
    for n_labels in (40, 5):
        y = [[f"T{j}" for j in rng.integers(0, n_labels, 8)] for _ in range(100)]
        LinearChainCRF(max_iterations=2).fit(X, y, extra=extra).predict(X, extra=extra)
        LinearChainCRF(max_iterations=2).fit(X, y).predict(X)
        AveragedPerceptron(n_epochs=1).fit(X, y).predict(X)


def _systems(args, task):
    systems = [("crfsuite-standard", crfsuite_standard), ("hmmtl-crf", hmmtl_crf)]
    if not args.no_same_features:
        systems.append(("crfsuite-hmmtl-features", crfsuite_hmmtl_features(task)))
    if not args.no_perceptron:
        systems.append(("hmmtl-perceptron", hmmtl_perceptron))
    return systems


# ----------------------------------------------------------------------------- tasks
def _rows(task, system, result, tests, score):
    rows = []
    for k, (name, words, gold) in enumerate(tests):
        n_tok = sum(map(len, words))
        tag = result["tag"][k]
        row = {"task": task, "test": name, "system": system, "fit_s": result["fit"].wall,
               "fit_cpu_s": result["fit"].cpu, "n_iter": result["n_iter"],
               "tag_s": tag.wall, "tag_cpu_s": tag.cpu, "n_tokens": n_tok,
               "tag_tok_s": n_tok / tag.wall}
        row.update(score(words, gold, result["preds"][k]))
        rows.append(row)
    return rows


def task_pos(data, args, out):
    words, pos, _ = read_conll2000(data, "train")
    twords, tpos, _ = read_conll2000(data, "test")
    tests = [("conll2000-test", twords, tpos)]
    for normalized in (False, True):
        for d in EWT_DOMAINS:
            w, t = read_ewt(data, d, normalized)
            tests.append((f"ewt-{d}-{'norm' if normalized else 'raw'}", w, t))
    if args.quick:
        words, pos = words[:1500], pos[:1500]
        tests = [(n, w[:200], t[:200]) for n, w, t in tests]
    vocab = {w for s in words for w in s}

    def score(w, g, p):
        return {"acc": token_accuracy(g, p), "oov_acc": oov_accuracy(w, g, p, vocab)}

    rows = []
    for name, runner in _systems(args, "pos"):
        r = runner((words, pos, []), [(w, []) for _, w, _ in tests])
        rows += _rows("pos", name, r, tests, score)
        if name == "hmmtl-crf":
            out["pos_model"] = r["model"]
            out["pos_tests"] = tests
            out["pos_preds"] = r["preds"]
    for d in ("raw", "norm"):  # the five EWT domains pooled
        for name in dict.fromkeys(r["system"] for r in rows):
            part = [r for r in rows if r["system"] == name and r["test"].startswith("ewt-")
                    and r["test"].endswith(d)]
            n = sum(r["n_tokens"] for r in part)
            rows.append({"task": "pos", "test": f"ewt-all-{d}", "system": name,
                         "fit_s": part[0]["fit_s"], "fit_cpu_s": part[0]["fit_cpu_s"],
                         "n_iter": part[0]["n_iter"],
                         "tag_s": sum(r["tag_s"] for r in part),
                         "tag_cpu_s": sum(r["tag_cpu_s"] for r in part), "n_tokens": n,
                         "tag_tok_s": n / sum(r["tag_s"] for r in part),
                         "acc": sum(r["acc"] * r["n_tokens"] for r in part) / n,
                         "oov_acc": _pooled_oov(part, tests, vocab, out, name)})
    return rows


def _pooled_oov(part, tests, vocab, out, system):
    """OOV accuracy over the pooled domains, weighted by each domain's OOV token count."""
    weights = []
    for r in part:
        words = next(w for n, w, _ in tests if n == r["test"])
        weights.append(sum(w not in vocab for s in words for w in s))
    return sum(r["oov_acc"] * k for r, k in zip(part, weights)) / max(sum(weights), 1)


def task_chunk(data, args, out):
    words, pos, chunk = read_conll2000(data, "train")
    twords, tpos, tchunk = read_conll2000(data, "test")
    if args.quick:
        words, pos, chunk = words[:1500], pos[:1500], chunk[:1500]
        twords, tpos, tchunk = twords[:400], tpos[:400], tchunk[:400]
    tests = [("conll2000-test", twords, tchunk)]

    def score(w, g, p):
        return {"acc": token_accuracy(g, p), "f1": entity_f1(g, p)}

    rows = []
    for name, runner in _systems(args, "chunk"):
        r = runner((words, chunk, [("pos", pos)]), [(twords, [("pos", tpos)])])
        rows += _rows("chunk", name, r, tests, score)
    return rows


def task_ner(data, args, out):
    root = data / "conll2003"
    tr = read_conll2003(root / "eng.train")
    parts = {"eng.testa": read_conll2003(root / "eng.testa"),
             "eng.testb": read_conll2003(root / "eng.testb")}
    if args.quick:
        tr = tuple(c[:2000] for c in tr)
        parts = {k: tuple(c[:500] for c in v) for k, v in parts.items()}
    tests = [(k, v[0], v[3]) for k, v in parts.items()]

    def score(w, g, p):
        return {"acc": token_accuracy(g, p), "f1": entity_f1(g, p)}

    rows = []
    for name, runner in _systems(args, "ner"):
        r = runner((tr[0], tr[3], [("pos", tr[1]), ("chunk", tr[2])]),
                   [(v[0], [("pos", v[1]), ("chunk", v[2])]) for v in parts.values()])
        rows += _rows("ner", name, r, tests, score)
    return rows


# ----------------------------------------------------------------------------- CLI check
def cli_check(data, args, out):
    """``hmmtl train`` with no options on CoNLL-2000 train, then ``hmmtl tag`` on the POS
    tests (one plain-text file): the same weights and tags as ``LinearChainCRF()``, and the
    commands' wall and CPU seconds."""
    import resource

    from hmmtl import load

    def child_cpu():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    model = out["pos_model"]
    tests = out["pos_tests"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pos.hmmtl")
        cmd = [sys.executable, "-m", "hmmtl", "train", "--format", "nltk:conll2000:train",
               "--tag-column", "pos", "--data", str(data), "--out", path, "--quiet"]
        t0, c0 = time.perf_counter(), child_cpu()
        subprocess.run(cmd, check=True)
        train_s, train_cpu = time.perf_counter() - t0, child_cpu() - c0
        labeler = load(path).labeler_
        same_model = (np.array_equal(labeler.coef_, model.coef_)
                      and np.array_equal(labeler.transition_, model.transition_)
                      and labeler.task_ == model.task_)
        text, tagged = os.path.join(tmp, "test.txt"), os.path.join(tmp, "tagged.conll")
        with open(text, "w", encoding="utf-8") as f:
            for _, words, _ in tests:
                f.writelines(" ".join(s) + "\n" for s in words)
        t0, c0 = time.perf_counter(), child_cpu()
        subprocess.run([sys.executable, "-m", "hmmtl", "tag", "--model", path, "--format",
                        "text", text, "--output", tagged, "--quiet"], check=True)
        tag_s, tag_cpu = time.perf_counter() - t0, child_cpu() - c0
        with open(tagged, encoding="utf-8") as f:
            cli_tags = [line.split()[-1] for line in f if line.strip()]
    api_tags = [t for pred in out["pos_preds"] for s in pred for t in s]
    n_tok = sum(len(s) for _, words, _ in tests for s in words)
    return {"cli_same_model": bool(same_model), "cli_same_tags": cli_tags == api_tags,
            "cli_train_s": round(train_s, 1), "cli_train_cpu_s": round(train_cpu, 1),
            "cli_tag_s": round(tag_s, 2), "cli_tag_cpu_s": round(tag_cpu, 2),
            "cli_tag_tokens": n_tok}


# ----------------------------------------------------------------------------- gradient
def hmm_like_extras(n_tokens, n_hmms=3, n_states=128, top_k=8, seed=0):
    """Extras shaped as three HMMs' representations give them (``hmm_representations``):
    per HMM a Viterbi state and the top-k posterior and type distributions, random."""
    rng = np.random.default_rng(seed)
    extra = {}
    for h in range(n_hmms):
        extra[f"hmm{h}.viterbi"] = rng.integers(0, n_states, n_tokens).astype(np.int32)
        for kind in ("posterior", "type"):
            ids = np.argsort(rng.random((n_tokens, n_states)), axis=1)[:, :top_k]
            extra[f"hmm{h}.{kind}"] = (ids.astype(np.int32),
                                       rng.dirichlet(np.ones(top_k), n_tokens))
    return extra


def gradient_timing(data, args):
    """CPU seconds of one evaluation of the CRF objective and gradient (and of its kernels)
    on CoNLL-2000 train POS, without extras and with three HMMs' worth of dense extras at
    -1..+1: the extras' cost per entry, forward (unary) against backward (slot sums)."""
    from hmmtl import LinearChainCRF
    from hmmtl.crf._kernels import slot_scores, token_unary

    words, pos, _ = read_conll2000(data, "train")
    if args.quick:
        words, pos = words[:1000], pos[:1000]
    n_tokens = sum(map(len, words))
    out = {}
    for name, extra in (("sparse", None), ("dense", hmm_like_extras(n_tokens))):
        crf = LinearChainCRF(extra_window=(-1, 0, 1))
        prob = crf._build_problem(words, pos, extra)
        K = len(crf.labels_)
        n_pairs = crf.pair_label_.shape[0]
        theta = np.random.default_rng(1).normal(scale=0.01, size=n_pairs + K * K + 2 * K)
        lay = prob.layout
        crf._objective(theta, prob, n_pairs, K)  # compile
        best = {}
        for _ in range(3):
            with _Clock() as total:
                crf._objective(theta, prob, n_pairs, K)
            with _Clock() as forward:
                scores = slot_scores(theta[:n_pairs], lay.slot_ptr, lay.slot_attr,
                                     crf.attr_ptr_, crf.pair_label_, K, prob.slot_chunks)
                marginals = token_unary(scores, lay.tok_slot, lay.tok_val)
            with _Clock() as backward:
                prob.slot_totals(marginals)
            for key, clock in (("objective", total), ("unary", forward),
                               ("slot_sums", backward)):
                best[key] = min(best.get(key, np.inf), clock.cpu)
        out[name] = {"entries_per_token": int(lay.tok_slot.shape[1]),
                     **{k + "_cpu_ms": round(1e3 * v, 1) for k, v in best.items()}}
    out["objective_ratio"] = round(out["dense"]["objective_cpu_ms"]
                                   / out["sparse"]["objective_cpu_ms"], 2)
    out["dense_backward_over_forward"] = round(out["dense"]["slot_sums_cpu_ms"]
                                               / out["dense"]["unary_cpu_ms"], 2)
    return out


# ----------------------------------------------------------------------------- report
def summary(rows):
    """hmmtl-crf against crfsuite-standard on each test: quality, the training-time ratio
    and the tagging speed-up."""
    out = {}
    for r in rows:
        if r["system"] != "hmmtl-crf":
            continue
        ref = next((q for q in rows if q["system"] == "crfsuite-standard"
                    and q["task"] == r["task"] and q["test"] == r["test"]), None)
        if ref is None:
            continue
        metric = "f1" if "f1" in r else "acc"
        out[f"{r['task']}/{r['test']}"] = {
            metric: round(r[metric], 2), "crfsuite_" + metric: round(ref[metric], 2),
            "delta": round(r[metric] - ref[metric], 2)}
    for task in dict.fromkeys(r["task"] for r in rows):
        # training once per task; tagging over its tests (for POS: CoNLL-2000 test and the
        # EWT test files as written, not the pooled rows nor the normalized copies)
        mine = {}
        for system in ("hmmtl-crf", "crfsuite-standard"):
            part = [r for r in rows if r["task"] == task and r["system"] == system
                    and "-all-" not in r["test"] and not r["test"].endswith("-norm")]
            if part:
                n = sum(r["n_tokens"] for r in part)
                mine[system] = {"fit_s": part[0]["fit_s"], "fit_cpu_s": part[0]["fit_cpu_s"],
                                "tok_s": n / sum(r["tag_s"] for r in part),
                                "cpu_tok_s": n / sum(r["tag_cpu_s"] for r in part)}
        if len(mine) == 2:
            a, b = mine["hmmtl-crf"], mine["crfsuite-standard"]
            out[f"{task}/speed"] = {
                "fit_s": round(a["fit_s"], 1), "crfsuite_fit_s": round(b["fit_s"], 1),
                "fit_ratio": round(a["fit_s"] / b["fit_s"], 2),
                "fit_cpu_s": round(a["fit_cpu_s"], 1),
                "crfsuite_fit_cpu_s": round(b["fit_cpu_s"], 1),
                "tag_tok_s": round(a["tok_s"]), "crfsuite_tag_tok_s": round(b["tok_s"]),
                "tag_speedup": round(a["tok_s"] / b["tok_s"], 2),
                "tag_cpu_tok_s": round(a["cpu_tok_s"]),
                "crfsuite_tag_cpu_tok_s": round(b["cpu_tok_s"]),
                "tag_cpu_speedup": round(a["cpu_tok_s"] / b["cpu_tok_s"], 2)}
    return out


def print_table(rows):
    head = ("task", "test", "system", "train s", "train CPU s", "iters", "tag tok/s",
            "tag tok/CPU s", "acc", "OOV acc", "F1")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [r["task"], r["test"], r["system"], f"{r['fit_s']:.1f}",
                 f"{r['fit_cpu_s']:.1f}", "" if r["n_iter"] is None else str(r["n_iter"]),
                 f"{r['tag_tok_s']:,.0f}", f"{r['n_tokens'] / r['tag_cpu_s']:,.0f}",
                 f"{r['acc']:.2f}", f"{r['oov_acc']:.2f}" if "oov_acc" in r else "",
                 f"{r['f1']:.2f}" if "f1" in r else ""]
        print("| " + " | ".join(cells) + " |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("HMMTL_DATA"),
                    help="corpora directory (default: $HMMTL_DATA)")
    ap.add_argument("--tasks", default="pos,chunk,ner",
                    help="comma-separated: pos,chunk,ner (none: only --gradient)")
    ap.add_argument("--quick", action="store_true", help="small slices (a smoke run)")
    ap.add_argument("--cli", action="store_true",
                    help="also train and tag POS through the hmmtl command (same model?)")
    ap.add_argument("--no-same-features", action="store_true",
                    help="skip the CRFsuite-with-hmmtl's-features row")
    ap.add_argument("--no-perceptron", action="store_true", help="skip the perceptron row")
    ap.add_argument("--gradient", action="store_true",
                    help="also time the CRF objective with and without dense extras")
    args = ap.parse_args(argv)
    if not args.data or not Path(args.data).is_dir():
        ap.error("no corpora: pass --data DIR or set HMMTL_DATA")
    data = Path(args.data)
    tasks = [t for t in args.tasks.split(",") if t and t != "none"]
    bad = [t for t in tasks if t not in ("pos", "chunk", "ner")]
    if bad:
        ap.error(f"--tasks: unknown {bad}; choose from pos,chunk,ner")
    if args.cli and "pos" not in tasks:
        ap.error("--cli needs the pos task")
    import numba

    _warmup()
    rows, out = [], {}
    for task in tasks:
        rows += {"pos": task_pos, "chunk": task_chunk, "ner": task_ner}[task](data, args, out)
    cli = cli_check(data, args, out) if args.cli else None
    gradient = gradient_timing(data, args) if args.gradient else None
    print_table(rows)
    if gradient is not None:
        print(f"objective + gradient, CPU ms: {gradient}")
    result = {"benchmark": "crf", "quick": args.quick, "threads": numba.get_num_threads(),
              "summary": summary(rows), "cli": cli, "gradient": gradient,
              "rows": [{k: v for k, v in r.items() if k != "preds"} for r in rows]}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
