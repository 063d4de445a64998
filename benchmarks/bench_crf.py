"""Benchmark: hmmtl.LinearChainCRF / AveragedPerceptron against sklearn-crfsuite (CRFsuite).

Same data, same feature templates (the crfsuite feature dicts are built from hmmtl's own
type-level templates and window), L-BFGS with the same c1 / c2 and iteration budget.

Tasks: POS on CoNLL-2000 (train -> test, and -> each EWT web domain's test XPOS), chunking on
CoNLL-2000 (F1), NER on CoNLL-2003 (F1 on eng.testa / eng.testb).

    HMMTL_DATA=/path/to/data python benchmarks/bench_crf.py [--quick] [--tasks pos,chunk,ner]

Prints a table and one JSON line.  Training time is from raw tokens for hmmtl (feature
extraction included) and for CRFsuite excludes building its feature dicts (reported apart);
tagging throughput is from raw tokens for both (feature extraction included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from hmmtl.io import iob1_to_iob2

EWT_DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")


# ----------------------------------------------------------------------------- readers
def read_conll2000(data: Path, split: str):
    """(words, pos, chunk) lists of lists from the NLTK CoNLL-2000 corpus."""
    import nltk
    from nltk.corpus.reader import ConllChunkCorpusReader

    nltk.data.path.insert(0, str(data / "nltk_data"))
    root = nltk.data.find("corpora/conll2000.zip/conll2000/")
    reader = ConllChunkCorpusReader(root, [f"{split}.txt"], ("NP", "VP", "PP", "ADJP", "ADVP",
                                                            "SBAR", "PRT", "CONJP", "INTJ",
                                                            "LST", "UCP"))
    words, pos, chunk = [], [], []
    for sent in reader.iob_sents(f"{split}.txt"):
        words.append([w for w, _, _ in sent])
        pos.append([p for _, p, _ in sent])
        chunk.append([c for _, _, c in sent])
    return words, pos, chunk


def read_conll2003(path: Path):
    """(words, pos, chunk, ner) of a CoNLL-2003 file, through hmmtl's reader."""
    from hmmtl.io import read_conll
    from hmmtl.io.conll import CONLL2003_COLUMNS

    corpus = read_conll(path, columns=CONLL2003_COLUMNS)
    return tuple(corpus.column(c) for c in CONLL2003_COLUMNS)


def read_conllu_xpos(path: Path):
    words, tags, sw, st = [], [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if sw:
                    words.append(sw)
                    tags.append(st)
                    sw, st = [], []
                continue
            if line.startswith("#"):
                continue
            parts = line.split("\t")
            if "-" in parts[0] or "." in parts[0]:
                continue
            sw.append(parts[1])
            st.append(parts[4])
    if sw:
        words.append(sw)
        tags.append(st)
    return words, tags



# ----------------------------------------------------------------------------- metrics
def token_accuracy(gold, pred):
    g = [t for s in gold for t in s]
    p = [t for s in pred for t in s]
    return float(np.mean(np.asarray(g, dtype=object) == np.asarray(p, dtype=object)))


def oov_accuracy(words, gold, pred, train_vocab):
    hits = total = 0
    for ws, gs, ps in zip(words, gold, pred):
        for w, g, p in zip(ws, gs, ps):
            if w not in train_vocab:
                total += 1
                hits += g == p
    return hits / max(total, 1)


def entity_f1(gold, pred):
    try:
        from hmmtl import metrics  # noqa: F401

        return float(metrics.entity_f1(gold, pred)) if hasattr(metrics, "entity_f1") else \
            _seqeval_f1(gold, pred)
    except ImportError:
        return _seqeval_f1(gold, pred)


def _seqeval_f1(gold, pred):
    from seqeval.metrics import f1_score

    return float(f1_score(gold, pred))


# ----------------------------------------------------------------------------- crfsuite side
class CRFsuiteFeatures:
    """crfsuite feature dicts from hmmtl's templates: one dict per token holding
    ``"{offset}:{feature}"`` for every window offset, the extras at their offsets, and a bias.
    Type features are cached per word type, as a careful user would."""

    def __init__(self, templates=None, window=(-2, -1, 0, 1, 2), extra_window=(-1, 0, 1)):
        from hmmtl.features import PAD_LEFT, PAD_RIGHT, word_features

        self.window = window
        self.extra_window = extra_window
        self.templates = templates
        self._cache = {}
        self._word_features = word_features
        self._pads = (["BOS"], ["EOS"])
        del PAD_LEFT, PAD_RIGHT

    def _feats(self, w):
        f = self._cache.get(w)
        if f is None:
            f = self._cache[w] = self._word_features(w, self.templates)
        return f

    def sentence(self, words, extra_cols=()):
        feats = [self._feats(w) for w in words]
        n = len(words)
        out = []
        for i in range(n):
            d = {"bias": 1.0}
            for o in self.window:
                j = i + o
                fs = feats[j] if 0 <= j < n else self._pads[0 if j < 0 else 1]
                for f in fs:
                    d[f"{o}:{f}"] = 1.0
            for name, col in extra_cols:
                for o in self.extra_window:
                    j = i + o
                    if 0 <= j < n:
                        d[f"{name}@{o}={col[j]}"] = 1.0
            out.append(d)
        return out

    def corpus(self, words, extras=None):
        extras = extras or {}
        names = sorted(extras)
        return [self.sentence(ws, [(n, extras[n][k]) for n in names])
                for k, ws in enumerate(words)]


def run_crfsuite(train, tests, args, extras_train=None, extras_tests=None):
    import sklearn_crfsuite

    fx = CRFsuiteFeatures()
    Xtr, ytr = train
    t0 = time.perf_counter()
    Ftr = fx.corpus(Xtr, extras_train)
    t_feat = time.perf_counter() - t0
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=args.c1, c2=args.c2,
                               max_iterations=args.iterations, all_possible_transitions=True)
    t0 = time.perf_counter()
    crf.fit(Ftr, ytr)
    t_fit = time.perf_counter() - t0
    preds, tag_times = [], []
    for k, (Xte, _) in enumerate(tests):
        fx2 = CRFsuiteFeatures()  # a fresh type cache: tagging from raw tokens
        t0 = time.perf_counter()
        F = fx2.corpus(Xte, None if extras_tests is None else extras_tests[k])
        pred = crf.predict(F)
        tag_times.append(time.perf_counter() - t0)
        preds.append(pred)
    return {"fit_s": t_fit, "feature_s": t_feat, "preds": preds, "tag_s": tag_times,
            "n_iter": _crfsuite_iterations(crf)}


def _crfsuite_iterations(crf):
    try:
        return len(crf.training_log_.iterations)
    except Exception:
        return None


def run_hmmtl(cls, kwargs, train, tests, extras_train=None, extras_tests=None):
    model = cls(**kwargs)
    Xtr, ytr = train
    t0 = time.perf_counter()
    model.fit(Xtr, ytr, extra=extras_train)
    t_fit = time.perf_counter() - t0
    preds, tag_times = [], []
    for k, (Xte, _) in enumerate(tests):
        t0 = time.perf_counter()
        pred = model.predict(Xte, extra=None if extras_tests is None else extras_tests[k])
        tag_times.append(time.perf_counter() - t0)
        preds.append(pred)
    return {"fit_s": t_fit, "preds": preds, "tag_s": tag_times,
            "n_iter": int(getattr(model, "n_iter_", 0))}


# ----------------------------------------------------------------------------- tasks
def _warmup():
    """Compile hmmtl's kernels before timing (Numba caches them on disk)."""
    from hmmtl import AveragedPerceptron, LinearChainCRF

    X = [["a", "b", "c"], ["d", "e"]]
    y = [["X", "Y", "X"], ["Y", "X"]]
    LinearChainCRF(max_iterations=2).fit(X, y, extra={"p": [["A", "B", "A"], ["B", "A"]]}) \
        .predict(X, extra={"p": [["A", "B", "A"], ["B", "A"]]})
    LinearChainCRF(max_iterations=2).fit(X, y).predict(X)
    AveragedPerceptron(n_epochs=1).fit(X, y).predict(X)


def task_pos(data, args):
    words, pos, _ = read_conll2000(data, "train")
    twords, tpos, _ = read_conll2000(data, "test")
    if args.quick:
        words, pos = words[:1500], pos[:1500]
        twords, tpos = twords[:400], tpos[:400]
    tests = [("conll2000-test", twords, tpos)]
    for d in EWT_DOMAINS:
        p = data / "ud" / "en_ewt" / f"en_ewt-{d}-test.conllu"
        if p.exists():
            w, t = read_conllu_xpos(p)
            tests.append((f"ewt-{d}", w, t))
    vocab = {w for s in words for w in s}
    test_pairs = [(w, t) for _, w, t in tests]
    rows = []
    systems = _systems(args)
    for name, runner in systems:
        r = runner((words, pos), test_pairs, None, None)
        for k, (tname, tw, tt) in enumerate(tests):
            n_tok = sum(map(len, tw))
            rows.append({"task": "pos", "test": tname, "system": name, "fit_s": r["fit_s"],
                         "n_iter": r["n_iter"],
                         "tag_tok_s": n_tok / r["tag_s"][k],
                         "acc": 100 * token_accuracy(tt, r["preds"][k]),
                         "oov_acc": 100 * oov_accuracy(tw, tt, r["preds"][k], vocab)})
    return rows


def task_chunk(data, args):
    words, pos, chunk = read_conll2000(data, "train")
    twords, tpos, tchunk = read_conll2000(data, "test")
    if args.quick:
        words, pos, chunk = words[:1500], pos[:1500], chunk[:1500]
        twords, tpos, tchunk = twords[:400], tpos[:400], tchunk[:400]
    rows = []
    for name, runner in _systems(args):
        r = runner((words, chunk), [(twords, tchunk)], {"pos": pos}, [{"pos": tpos}])
        n_tok = sum(map(len, twords))
        rows.append({"task": "chunk", "test": "conll2000-test", "system": name,
                     "fit_s": r["fit_s"], "n_iter": r["n_iter"],
                     "tag_tok_s": n_tok / r["tag_s"][0],
                     "acc": 100 * token_accuracy(tchunk, r["preds"][0]),
                     "f1": 100 * entity_f1(tchunk, r["preds"][0])})
    return rows


def task_ner(data, args):
    root = data / "conll2003"
    tr = read_conll2003(root / "eng.train")
    ta = read_conll2003(root / "eng.testa")
    tb = read_conll2003(root / "eng.testb")
    if args.quick:
        tr = tuple(c[:2000] for c in tr)
        ta = tuple(c[:500] for c in ta)
        tb = tuple(c[:500] for c in tb)
    y = iob1_to_iob2(tr[3])
    ya, yb = iob1_to_iob2(ta[3]), iob1_to_iob2(tb[3])
    rows = []
    for name, runner in _systems(args):
        r = runner((tr[0], y), [(ta[0], ya), (tb[0], yb)], {"pos": tr[1]},
                   [{"pos": ta[1]}, {"pos": tb[1]}])
        for k, (tname, tw, tt) in enumerate((("eng.testa", ta[0], ya), ("eng.testb", tb[0], yb))):
            n_tok = sum(map(len, tw))
            rows.append({"task": "ner", "test": tname, "system": name, "fit_s": r["fit_s"],
                         "n_iter": r["n_iter"], "tag_tok_s": n_tok / r["tag_s"][k],
                         "acc": 100 * token_accuracy(tt, r["preds"][k]),
                         "f1": 100 * entity_f1(tt, r["preds"][k])})
    return rows


def _systems(args):
    from hmmtl import AveragedPerceptron, LinearChainCRF

    crf_kw = {"c1": args.c1, "c2": args.c2, "max_iterations": args.iterations}
    return [
        ("crfsuite", lambda tr, te, ex, ext: run_crfsuite(tr, te, args, ex, ext)),
        ("hmmtl-crf", lambda tr, te, ex, ext: run_hmmtl(LinearChainCRF, crf_kw, tr, te, ex, ext)),
        ("hmmtl-perceptron", lambda tr, te, ex, ext: run_hmmtl(
            AveragedPerceptron, {"n_epochs": args.epochs, "random_state": 0}, tr, te, ex, ext)),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("HMMTL_DATA"),
                    help="corpora directory (default: $HMMTL_DATA)")
    ap.add_argument("--quick", action="store_true", help="small slices, few iterations")
    ap.add_argument("--tasks", default="pos,chunk,ner")
    ap.add_argument("--iterations", type=int, default=None, help="L-BFGS iterations (100)")
    ap.add_argument("--epochs", type=int, default=None, help="perceptron epochs (10)")
    ap.add_argument("--c1", type=float, default=0.0)
    ap.add_argument("--c2", type=float, default=1.0)
    args = ap.parse_args(argv)
    if not args.data or not Path(args.data).is_dir():
        ap.error("no corpora: pass --data DIR or set HMMTL_DATA")
    data = Path(args.data)
    if args.iterations is None:
        args.iterations = 20 if args.quick else 100
    if args.epochs is None:
        args.epochs = 3 if args.quick else 10
    import numba

    _warmup()
    rows = []
    for task in args.tasks.split(","):
        rows += {"pos": task_pos, "chunk": task_chunk, "ner": task_ner}[task](data, args)
    _print_table(rows)
    summary = _summary(rows)
    print(json.dumps({"benchmark": "crf", "quick": args.quick, "iterations": args.iterations,
                      "c1": args.c1, "c2": args.c2, "threads": numba.get_num_threads(),
                      "summary": summary, "rows": rows}))
    return 0


def _summary(rows):
    out = {}
    for r in rows:
        if r["system"] != "hmmtl-crf":
            continue
        ref = next((q for q in rows if q["system"] == "crfsuite" and q["task"] == r["task"]
                    and q["test"] == r["test"]), None)
        if ref is None:
            continue
        key = f"{r['task']}/{r['test']}"
        metric = "f1" if "f1" in r else "acc"
        out[key] = {"ours_fit_s": round(r["fit_s"], 2), "crfsuite_fit_s": round(ref["fit_s"], 2),
                    "fit_ratio": round(r["fit_s"] / ref["fit_s"], 3),
                    "tag_speedup": round(r["tag_tok_s"] / ref["tag_tok_s"], 2),
                    metric: round(r[metric], 2), "crfsuite_" + metric: round(ref[metric], 2)}
    return out


def _print_table(rows):
    head = ("task", "test", "system", "fit_s", "iters", "tag tok/s", "acc", "oov acc", "F1")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(f"| {r['task']} | {r['test']} | {r['system']} | {r['fit_s']:.1f} | "
              f"{r['n_iter'] if r['n_iter'] is not None else ''} | {r['tag_tok_s']:,.0f} | "
              f"{r['acc']:.2f} | {r.get('oov_acc', float('nan')):.2f} | "
              f"{r.get('f1', float('nan')):.2f} |")


if __name__ == "__main__":
    sys.exit(main())
