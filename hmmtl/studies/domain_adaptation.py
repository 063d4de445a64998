"""The domain-adaptation studies: HMM representations (WSJ -> web) and feature augmentation.

``run_domain_adaptation`` reproduces the setting of Grave, Obozinski & Bach (2013) on the data
under ``HMMTL_DATA``: a CRF POS tagger trained on CoNLL-2000 train (WSJ, Penn Treebank tags) is
tested on the five web domains of the English Web Treebank (XPOS column), with and without
features from HMMs learned on unlabeled source text, target text, or both.

``run_feature_augmentation`` compares, on the EWT domains' own train/test files, one CRF on
all domains pooled, one CRF per domain, and one feature-augmented CRF (Daumé III 2007).

Both write Markdown, CSV, JSON and a PNG plot through :mod:`hmmtl.studies.report`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import flatten
from ..io.data_root import find_data_root
from ..transfer.pipeline import check_representations, hmm_representations, make_labeler

__all__ = [
    "EWT_DOMAINS",
    "QUICK",
    "TINY",
    "StudyData",
    "load_study_data",
    "evaluate_by_domain",
    "run_domain_adaptation",
    "run_feature_augmentation",
]

EWT_DOMAINS = ("answers", "email", "newsgroup", "reviews", "weblog")
#: unlabeled texts an HMM of the domain-adaptation study can be learned on
TEXTS = ("source", "target", "both", "transductive")

#: settings of ``quick=True``: a smoke run of a few minutes on 2 cores
QUICK = dict(seeds=(0,), states=(32,), texts=("both",),
             representations=("none", "viterbi+posterior+type"),
             max_train_sentences=3000, max_text_sentences=6000, max_eval_sentences=150,
             hmm_iter=8, n_hmms=1, crf_params={"max_iterations": 40}, raw=False)
#: even smaller, for the test suite (well under a minute)
TINY = dict(seeds=(0,), states=(8,), texts=("both",),
            representations=("none", "viterbi+posterior"),
            max_train_sentences=400, max_text_sentences=1200, max_eval_sentences=40,
            hmm_iter=3, n_hmms=2, crf_params={"max_iterations": 15}, raw=False)
#: settings of the full study
FULL = dict(seeds=(0, 1, 2), states=(64, 128, 256), texts=("source", "target", "both"),
            representations=("none", "viterbi", "posterior", "type", "viterbi+posterior+type"),
            max_train_sentences=None, max_text_sentences=None, max_eval_sentences=None,
            hmm_iter=30, n_hmms=5, crf_params={"max_iterations": 150}, raw=True)
PRESETS: dict[str, dict[str, Any]] = {"full": FULL, "quick": QUICK, "tiny": TINY}


# ----------------------------------------------------------------------------- data
@dataclass
class TaggedSet:
    """Sentences, their tags, and the domain of each sentence."""

    words: list
    tags: list
    domains: list = field(default_factory=list)

    def __len__(self):
        return len(self.words)


@dataclass
class StudyData:
    """Everything the domain-adaptation study reads.

    source : labeled WSJ (CoNLL-2000 train)
    source_text : unlabeled WSJ text (CoNLL-2000 train and the treebank sample, words only)
    target_text : unlabeled web text (the words of the EWT train files, all domains pooled)
    dev, test : the EWT dev and test files (XPOS), with their domain per sentence
    """

    source: TaggedSet
    source_text: list
    target_text: list
    dev: TaggedSet
    test: TaggedSet
    normalized: bool


def _subsample(n: int, limit: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``limit`` of ``n`` items, a fixed random subset."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).choice(n, size=int(limit), replace=False))


def _pick(seq, index):
    return [seq[i] for i in index.tolist()]


def _ewt_path(data_dir: Path, domain: str, split: str) -> Path:
    p = data_dir / "ud" / "en_ewt" / f"en_ewt-{domain}-{split}.conllu"
    if not p.exists():
        raise FileNotFoundError(f"{p} is missing: the study needs the EWT files under "
                                f"DATA/ud/en_ewt/ (see the data README); got DATA={data_dir}")
    return p


def _normalized(corpus, column: str, normalize: bool):
    """Words and tags of ``corpus``; with ``normalize`` both in Penn Treebank notation
    (``-LRB-`` words and tags, directed quotes), whatever the corpus used."""
    if normalize:
        from ..io import normalize_notation

        corpus = normalize_notation(corpus, words="ptb", tags="ptb", columns=[column])
    return corpus.sentences, corpus.column(column)


def _read_ewt(data_dir: Path, domain: str, split: str, normalize: bool):
    from ..io import read_conllu

    corpus = read_conllu(_ewt_path(data_dir, domain, split), domain=domain)
    return _normalized(corpus, "xpos", normalize)


def _read_nltk(data_dir: Path, name: str, normalize: bool, split=None):
    from ..io import load_nltk

    return _normalized(load_nltk(name, data_dir=data_dir, split=split), "pos", normalize)


def load_study_data(data_dir, *, normalize: bool = True, domains: Sequence[str] = EWT_DOMAINS,
                    max_train_sentences: int | None = None,
                    max_text_sentences: int | None = None,
                    max_eval_sentences: int | None = None) -> StudyData:
    """Read the corpora of the domain-adaptation study (subsets on request).

    Parameters
    ----------
    data_dir : path
        The corpora folder (holding ``nltk_data/`` and ``ud/en_ewt/``).
    normalize : bool
        Map PTB escapes to one notation (brackets, quotes) in words and tags of every corpus.
    max_train_sentences, max_text_sentences, max_eval_sentences : int, optional
        Fixed random subsets: labeled source sentences; unlabeled sentences of each text
        (source and target); dev and test sentences per domain.
    """
    data_dir = Path(data_dir)
    words, tags = _read_nltk(data_dir, "conll2000", normalize, split="train")
    idx = _subsample(len(words), max_train_sentences, 1)
    source = TaggedSet(_pick(words, idx), _pick(tags, idx), ["wsj"] * len(idx))
    tb_words, _ = _read_nltk(data_dir, "treebank", normalize)
    source_text = list(words) + list(tb_words)
    source_text = _pick(source_text, _subsample(len(source_text), max_text_sentences, 2))
    target_text, dev, test = [], TaggedSet([], []), TaggedSet([], [])
    per_domain_text = None if max_text_sentences is None else max(1, max_text_sentences
                                                                    // len(domains))
    for d in domains:
        w, _ = _read_ewt(data_dir, d, "train", normalize)
        target_text.extend(_pick(w, _subsample(len(w), per_domain_text, 3)))
        for split, bucket in (("dev", dev), ("test", test)):
            w, t = _read_ewt(data_dir, d, split, normalize)
            keep = _subsample(len(w), max_eval_sentences, 4)
            bucket.words.extend(_pick(w, keep))
            bucket.tags.extend(_pick(t, keep))
            bucket.domains.extend([d] * len(keep))
    return StudyData(source, source_text, target_text, dev, test, bool(normalize))


# ----------------------------------------------------------------------------- evaluation
def evaluate_by_domain(gold, predicted, words, domains, known_words) -> dict:
    """Accuracy and OOV accuracy per domain.

    Parameters
    ----------
    gold, predicted : list of list of str
    words : list of list of str
    domains : list of str, one per sentence
    known_words : set of str
        Words of the labeled training data; the others are out of vocabulary (OOV).

    Returns
    -------
    dict domain -> {"accuracy", "oov_accuracy", "n_tokens", "n_oov"}
    """
    g, offsets = flatten(gold)
    p, p_off = flatten(predicted)
    w, _ = flatten(words)
    if not np.array_equal(offsets, p_off):
        raise ValueError("predicted tag sequences differ in length from the gold ones")
    correct = np.asarray(g, dtype=object) == np.asarray(p, dtype=object)
    oov = ~np.fromiter(map(known_words.__contains__, w), dtype=bool, count=len(w))
    dom_names, dom_of_sent = np.unique(np.asarray(domains, dtype=object), return_inverse=True)
    dom_of_token = np.repeat(dom_of_sent.ravel(), np.diff(offsets))
    out = {}
    n_dom = len(dom_names)
    n = np.bincount(dom_of_token, minlength=n_dom)
    c = np.bincount(dom_of_token, weights=correct, minlength=n_dom)
    n_oov = np.bincount(dom_of_token, weights=oov, minlength=n_dom)
    c_oov = np.bincount(dom_of_token, weights=correct & oov, minlength=n_dom)
    for i, d in enumerate(dom_names.tolist()):
        out[d] = {"accuracy": float(c[i] / n[i]) if n[i] else float("nan"),
                  "oov_accuracy": float(c_oov[i] / n_oov[i]) if n_oov[i] else float("nan"),
                  "n_tokens": int(n[i]), "n_oov": int(n_oov[i])}
    return out


def _select_extra(extra: dict | None, reps: tuple) -> dict | None:
    if not reps or not extra:
        return None
    keep = {k: v for k, v in extra.items() if k.rpartition(".")[2] in reps}
    return keep or None


def _progress(total, enabled, desc):
    if not enabled:
        class _Null:
            def update(self, n=1): pass
            def set_postfix_str(self, s): pass
            def close(self): pass
        return _Null()
    from .._progress import progress_bar

    return progress_bar(total=total, desc=desc, leave=False)


def _train_and_evaluate(data: StudyData, extras, crf_params, known, record_base, records,
                        domains_order):
    """Fit one CRF (with ``extras`` = (train, dev, test) extra dicts or None) and append
    one record per split and domain."""
    extra_train, extra_dev, extra_test = extras
    crf = make_labeler("crf", crf_params)
    t0 = time.perf_counter()
    if extra_train is None:
        crf.fit(data.source.words, data.source.tags)
    else:
        crf.fit(data.source.words, data.source.tags, extra=extra_train)
    fit_s = time.perf_counter() - t0
    for split, ts, extra in (("dev", data.dev, extra_dev), ("test", data.test, extra_test)):
        pred = crf.predict(ts.words) if extra is None else crf.predict(ts.words, extra=extra)
        res = evaluate_by_domain(ts.tags, pred, ts.words, ts.domains, known)
        for d in domains_order:
            if d in res:
                records.append(dict(record_base, split=split, domain=d, fit_seconds=fit_s,
                                    **res[d]))


def _hmm_extras(hmms, data: StudyData, kinds, top_k):
    return tuple(hmm_representations(hmms, s, kinds, top_k)
                 for s in (data.source.words, data.dev.words, data.test.words))


def _texts(data: StudyData) -> dict:
    """The unlabeled text of each ``texts`` choice of the study."""
    both = data.source_text + data.target_text
    return {"source": data.source_text, "target": data.target_text, "both": both,
            "transductive": both + data.dev.words + data.test.words}


def _setting_name(text, reps, k, n_hmms=1):
    if not reps:
        return "none"
    return f"{text}/{'+'.join(reps)}/K{k}" + (f"x{n_hmms}" if n_hmms > 1 else "")


def _fit_hmms(text, k, seed, n_hmms, hmm_iter, hmm_kw):
    """``n_hmms`` HMMs of ``k`` states on ``text``, seeded ``seed * n_hmms + i``: the
    study's seed ``s`` is one ensemble, and different study seeds share no HMM."""
    from ..hmm import CategoricalHMM

    return [CategoricalHMM(n_states=k, n_iter=hmm_iter, random_state=seed * n_hmms + i,
                           **hmm_kw).fit(text) for i in range(n_hmms)]


def run_domain_adaptation(data_dir=None, out_dir="results/domain-adaptation", quick=False, *,
                          seeds=None, states=None, representations=None, texts=None,
                          domains: Sequence[str] = EWT_DOMAINS, max_train_sentences=None,
                          max_text_sentences=None, max_eval_sentences=None, hmm_iter=None,
                          hmm_params: dict | None = None, crf_params: dict | None = None,
                          top_k: int = 8, window: int = 1, raw=None, n_hmms=None,
                          progress: bool = True) -> dict:
    """WSJ -> web POS domain adaptation with HMM representations (Grave et al. 2013).

    A CRF is trained on CoNLL-2000 train with the word feature templates alone ("none") and
    with the representations of an HMM learned on unlabeled ``texts``: ``"source"`` (words
    of CoNLL-2000 train and of the treebank sample), ``"target"`` (words of the five EWT
    train files, pooled: one HMM serves every domain), ``"both"``, or ``"transductive"``
    (both, plus the words of the EWT dev and test files without their tags: the
    transductive setting of Huang & Yates (2009), where the text to be tagged is part of the
    HMM's unlabeled data; the study's goal is stated for ``"both"``).  For every text,
    representation set and HMM size, each seed fits a new HMM; the CRF is evaluated on the
    EWT dev and test files of each domain.  The HMM size of each (text, representations)
    pair is chosen on the mean dev accuracy; the test figures of those choices form the
    main table.  With ``raw=True`` the baseline and the best setting are run again on the
    corpora in their own notation (no PTB-escape normalization).

    Parameters
    ----------
    data_dir : path, optional
        Corpora folder; default ``$HMMTL_DATA``.
    out_dir : path
        Where ``domain_adaptation.{md,csv,json,png}`` are written.
    quick : bool or {"quick", "tiny"}
        Defaults from :data:`QUICK` (a few minutes) or :data:`TINY` (the test suite);
        explicit arguments override them.
    seeds, states, representations, texts : sequences
        Representations are strings such as ``"none"``, ``"viterbi"``,
        ``"viterbi+posterior+type"``.
    max_train_sentences, max_text_sentences, max_eval_sentences : int, optional
        Subset sizes (see :func:`load_study_data`).
    hmm_iter : int
        EM iterations of each HMM.
    hmm_params, crf_params : dict, optional
        Extra keyword arguments of :class:`hmmtl.CategoricalHMM` / :class:`hmmtl.LinearChainCRF`.
    top_k, window : int
        Posterior / type features keep their ``top_k`` states; used at offsets
        ``-window..+window``.
    n_hmms : int
        HMMs per setting (an ensemble, seeds ``seed * n_hmms + i``): the representations of
        all of them are features (as Huang & Yates 2010 combined several HMMs); each HMM
        reaches a different local optimum of EM, so together they describe a word better
        than one.  Default from the preset.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict
        ``records`` (one per run, split and domain), ``summary`` (mean and spread over
        seeds), ``selected`` (chosen HMM size per text and representations), ``paths``,
        ``markdown`` and ``seconds``.
    """
    t_start = time.perf_counter()
    preset = PRESETS["tiny" if quick == "tiny" else "quick" if quick else "full"]
    opt = lambda v, k: preset[k] if v is None else v  # noqa: E731
    seeds = tuple(opt(seeds, "seeds"))
    states = tuple(int(k) for k in opt(states, "states"))
    texts = tuple(opt(texts, "texts"))
    rep_sets = [check_representations(None if r in ("none", "", None) else r)
                for r in opt(representations, "representations")]
    hmm_iter = int(opt(hmm_iter, "hmm_iter"))
    n_hmms = int(opt(n_hmms, "n_hmms"))
    if n_hmms < 1:
        raise ValueError(f"n_hmms must be >= 1, got {n_hmms}")
    crf_params = dict(preset["crf_params"], **(crf_params or {}))
    crf_params.setdefault("extra_window", int(window))
    raw = bool(opt(raw, "raw"))
    sizes = {k: opt(v, k) for k, v in (("max_train_sentences", max_train_sentences),
                                        ("max_text_sentences", max_text_sentences),
                                        ("max_eval_sentences", max_eval_sentences))}
    bad = [t for t in texts if t not in TEXTS]
    if bad:
        raise ValueError(f"texts must be among {', '.join(map(repr, TEXTS))}, got {bad}")
    root = find_data_root(data_dir)
    if root is None:
        raise FileNotFoundError(f"no data directory: pass data_dir= (got {data_dir!r}) or set "
                                f"HMMTL_DATA to the corpora folder")
    hmm_kw = dict(lowercase=True, min_count=2)
    hmm_kw.update(hmm_params or {})
    with_reps = [r for r in rep_sets if r]
    all_kinds = tuple(dict.fromkeys(itertools.chain.from_iterable(with_reps)))
    n_runs = (1 if any(not r for r in rep_sets) else 0) + \
        len(texts) * len(states) * len(seeds) * len(with_reps)
    bar = _progress(n_runs + (1 + len(seeds) if raw else 0), progress, "domain adaptation")

    data = load_study_data(root, normalize=True, domains=domains, **sizes)
    known = set(itertools.chain.from_iterable(data.source.words))
    text_of = _texts(data)
    records: list = []
    if any(not r for r in rep_sets):
        bar.set_postfix_str("CRF none")
        base = {"representation": "none", "text": "-", "n_states": 0,
                "notation": "normalized", "setting": "none", "seed": seeds[0]}
        _train_and_evaluate(data, (None, None, None), crf_params, known, base, records, domains)
        bar.update()
    # one HMM per (text, K, seed); its representations serve every representation subset
    for text in texts if with_reps else ():
        for k in states:
            for seed in seeds:
                bar.set_postfix_str(f"HMM {text} K={k} seed={seed}")
                hmms = _fit_hmms(text_of[text], k, seed, n_hmms, hmm_iter, hmm_kw)
                extras_all = _hmm_extras(hmms, data, all_kinds, top_k)
                for reps in with_reps:
                    extras = tuple(_select_extra(e, reps) for e in extras_all)
                    base = {"representation": "+".join(reps), "text": text, "n_states": k,
                            "n_hmms": n_hmms, "notation": "normalized",
                            "setting": _setting_name(text, reps, k, n_hmms), "seed": seed}
                    bar.set_postfix_str(f"CRF {base['setting']} seed={seed}")
                    _train_and_evaluate(data, extras, crf_params, known, base, records,
                                        domains)
                    bar.update()
    selected = _select_on_dev(records)
    # raw notation: the baseline and the best setting again, without normalization
    if raw:
        best = _best_setting(records, selected)
        raw_data = load_study_data(root, normalize=False, domains=domains, **sizes)
        known_raw = set(itertools.chain.from_iterable(raw_data.source.words))
        base = {"representation": "none", "text": "-", "n_states": 0, "notation": "raw",
                "setting": "none", "seed": seeds[0]}
        _train_and_evaluate(raw_data, (None, None, None), crf_params, known_raw, base,
                            records, domains)
        bar.update()
        if best is not None:
            text, reps, k = best
            text_raw = _texts(raw_data)[text]
            for seed in seeds:
                hmms = _fit_hmms(text_raw, k, seed, n_hmms, hmm_iter, hmm_kw)
                extras = _hmm_extras(hmms, raw_data, reps, top_k)
                base = {"representation": "+".join(reps), "text": text, "n_states": k,
                        "n_hmms": n_hmms, "notation": "raw",
                        "setting": _setting_name(text, reps, k, n_hmms), "seed": seed}
                _train_and_evaluate(raw_data, extras, crf_params, known_raw, base, records,
                                    domains)
                bar.update()
    bar.close()
    seconds = time.perf_counter() - t_start
    return _write_domain_adaptation(records, selected, out_dir, seconds, dict(
        quick=quick, seeds=list(seeds), states=list(states), texts=list(texts),
        representations=["+".join(r) or "none" for r in rep_sets], hmm_iter=hmm_iter,
        n_hmms=n_hmms,
        hmm_params=hmm_kw, crf_params=crf_params, top_k=top_k, window=window, raw=raw,
        domains=list(domains), **sizes))


def _mean_dev(records, **match) -> float:
    """Mean over seeds of the mean over domains of dev accuracy for matching records."""
    rows = [r for r in records if r["split"] == "dev"
            and all(r[k] == v for k, v in match.items())]
    by_seed: dict = {}
    for r in rows:
        by_seed.setdefault(r["seed"], []).append(r["accuracy"])
    return float(np.mean([np.mean(v) for v in by_seed.values()])) if by_seed else float("nan")


def _select_on_dev(records) -> list[dict]:
    """For each (text, representations) of the normalized study, the HMM size with the
    best mean dev accuracy."""
    chosen = []
    keys = dict.fromkeys((r["text"], r["representation"]) for r in records
                         if r["notation"] == "normalized")
    for text, rep in keys:
        sizes = sorted({r["n_states"] for r in records if r["text"] == text
                        and r["representation"] == rep and r["notation"] == "normalized"})
        scores = {k: _mean_dev(records, text=text, representation=rep, n_states=k,
                               notation="normalized") for k in sizes}
        best = max(scores, key=lambda k: scores[k])
        n_hmms = next((r.get("n_hmms", 1) for r in records if r["text"] == text
                       and r["representation"] == rep), 1)
        chosen.append({"text": text, "representation": rep, "n_states": best,
                       "setting": _setting_name(text, tuple(rep.split("+")) if rep != "none"
                                                else (), best, n_hmms),
                       "dev_accuracy": scores[best],
                       "dev_accuracy_by_size": {str(k): v for k, v in scores.items()}})
    return chosen


def _best_setting(records, selected):
    """(text, representations, K) of the selected setting with the best dev accuracy."""
    cands = [s for s in selected if s["representation"] != "none"]
    if not cands:
        return None
    best = max(cands, key=lambda s: s["dev_accuracy"])
    return best["text"], tuple(best["representation"].split("+")), int(best["n_states"])


def _write_domain_adaptation(records, selected, out_dir, seconds, config) -> dict:
    from .report import markdown_table, summarize, write_report

    chosen = {s["setting"] for s in selected}
    main = [r for r in records if r["setting"] in chosen]
    summary_main = summarize(main)
    lines = ["Labeled source: CoNLL-2000 train (WSJ). Targets: EWT web domains (XPOS). "
             "Unlabeled target text: the words of the five EWT train files, pooled "
             "(`transductive`: also the words of the dev and test files, without tags). "
             "Settings are `text/representations/K`; the HMM size K of each (text, "
             "representations) pair was chosen on the mean EWT dev accuracy. Cells: mean ± "
             "sample std over HMM seeds (fractions). OOV = words absent from the labeled "
             "source data.", "",
             f"Total time: {seconds:.0f} s.", ""]
    for metric, label in (("accuracy", "Accuracy"), ("oov_accuracy", "OOV accuracy")):
        lines += [f"### Chosen settings, {label}, test, normalized notation", "",
                  markdown_table(summary_main, metric=metric, split="test",
                                 notation="normalized", baseline="none")]
    raw = [r for r in records if r["notation"] == "raw"]
    if raw:
        both = [r for r in records if r["setting"] in {x["setting"] for x in raw}]
        summary_raw = summarize(both)
        for metric, label in (("accuracy", "Accuracy"), ("oov_accuracy", "OOV accuracy")):
            lines += [f"### {label}, test, normalized vs raw notation", "",
                      markdown_table(summary_raw, metric=metric, split="test")]
    description = "\n".join(lines) + "\n## All settings\n"
    result = write_report(records, out_dir, name="domain_adaptation",
                          title="POS domain adaptation WSJ -> web (EWT)", baseline="none",
                          extra={"description": description, "config": config,
                                 "selected": selected, "seconds": seconds})
    result.update(records=records, selected=selected, seconds=seconds,
                  summary_selected=summary_main)
    return result


# ----------------------------------------------------------------------------- augmentation
def _read_ewt_split(root, domains, split, normalize, limit, seed):
    ts = TaggedSet([], [])
    for d in domains:
        w, t = _read_ewt(root, d, split, normalize)
        keep = _subsample(len(w), limit, seed)
        ts.words.extend(_pick(w, keep))
        ts.tags.extend(_pick(t, keep))
        ts.domains.extend([d] * len(keep))
    return ts


def run_feature_augmentation(data_dir=None, out_dir="results/feature-augmentation",
                             quick=False, *, domains: Sequence[str] = EWT_DOMAINS,
                             max_train_sentences=None, max_eval_sentences=None,
                             crf_params: dict | None = None, normalize: bool = True,
                             progress: bool = True) -> dict:
    """Feature augmentation (Daumé III 2007) against pooled and per-domain CRFs on EWT.

    Trained on the EWT train files of every domain and tested on each domain's test file:
    ``pooled`` (one CRF on all domains), ``per-domain`` (one CRF per domain, tested on its
    own domain), ``augmented`` (:class:`hmmtl.transfer.augment.DomainAugmentedCRF`, per-domain
    copies of the observation features and of the transition, start and end scores, the
    domain known at test), ``augmented (domain unknown)`` (the same model with only its
    shared weights, as for a new domain), and ``augmented (shared transitions)`` (domain
    copies of the observation features only, one transition matrix; the domain known).

    Parameters
    ----------
    max_train_sentences, max_eval_sentences : int, optional
        Per-domain subsets (``quick`` defaults: 600 and 150).
    crf_params : dict, optional
        Keyword arguments of every CRF (``c2``, ``max_iterations``, ...).

    Returns
    -------
    dict with ``records``, ``summary``, ``paths``, ``markdown``, ``seconds``.
    """
    from ..transfer.augment import DomainAugmentedCRF

    t_start = time.perf_counter()
    if quick:
        max_train_sentences = 600 if max_train_sentences is None else max_train_sentences
        max_eval_sentences = 150 if max_eval_sentences is None else max_eval_sentences
        crf_params = dict({"max_iterations": 40}, **(crf_params or {}))
    else:
        crf_params = dict({"max_iterations": 150}, **(crf_params or {}))
    root = find_data_root(data_dir)
    if root is None:
        raise FileNotFoundError(f"no data directory: pass data_dir= (got {data_dir!r}) or set "
                                f"HMMTL_DATA to the corpora folder")
    train = _read_ewt_split(root, domains, "train", normalize, max_train_sentences, 5)
    test = _read_ewt_split(root, domains, "test", normalize, max_eval_sentences, 6)
    records: list = []
    bar = _progress(3 + len(domains), progress, "feature augmentation")
    notation = "normalized" if normalize else "raw"
    known_all = set(itertools.chain.from_iterable(train.words))

    def add(setting, pred, ts, known, only=None):
        res = evaluate_by_domain(ts.tags, pred, ts.words, ts.domains, known)
        for d in domains:
            if d in res and (only is None or d == only):
                records.append(dict(setting=setting, representation="none", text="-",
                                    n_states=0, notation=notation, seed=0, split="test",
                                    domain=d, **res[d]))

    bar.set_postfix_str("pooled")
    pooled = make_labeler("crf", crf_params).fit(train.words, train.tags)
    add("pooled", pooled.predict(test.words), test, known_all)
    bar.update()
    bar.set_postfix_str("augmented")
    aug = DomainAugmentedCRF(labeler_params=crf_params).fit(train.words, train.tags,
                                                            domains=train.domains)
    add("augmented", aug.predict(test.words, domains=test.domains), test, known_all)
    add("augmented (domain unknown)", aug.predict(test.words), test, known_all)
    bar.update()
    bar.set_postfix_str("augmented (shared transitions)")
    aug_shared = DomainAugmentedCRF(labeler_params=crf_params, per_domain_transitions=False
                                    ).fit(train.words, train.tags, domains=train.domains)
    add("augmented (shared transitions)", aug_shared.predict(test.words, domains=test.domains),
        test, known_all)
    bar.update()
    dom_arr = np.asarray(train.domains, dtype=object)
    test_dom = np.asarray(test.domains, dtype=object)
    for d in domains:
        bar.set_postfix_str(f"per-domain {d}")
        idx = np.flatnonzero(dom_arr == d)
        tidx = np.flatnonzero(test_dom == d)
        tw, tt = _pick(train.words, idx), _pick(train.tags, idx)
        crf = make_labeler("crf", crf_params).fit(tw, tt)
        sub = TaggedSet(_pick(test.words, tidx), _pick(test.tags, tidx), [d] * len(tidx))
        # OOV relative to all training words, so the columns are comparable
        add("per-domain", crf.predict(sub.words), sub, known_all, only=d)
        bar.update()
    bar.close()
    seconds = time.perf_counter() - t_start
    from .report import write_report

    desc = ("Train: EWT train files of all five domains; test: each domain's test file "
            "(XPOS). `pooled`: one CRF on all domains; `per-domain`: one CRF per domain; "
            "`augmented`: feature augmentation (Daumé III 2007) of the observation features "
            "and of the transition, start and end scores, domain known at test; "
            "`augmented (domain unknown)`: the same model with the shared weights only; "
            "`augmented (shared transitions)`: observation features augmented, one "
            "transition matrix, domain known. "
            "OOV = words absent from all EWT train files used. "
            f"Total time: {seconds:.0f} s.")
    result = write_report(records, out_dir, name="feature_augmentation",
                          title="Feature augmentation across EWT domains", baseline="pooled",
                          extra={"description": desc, "seconds": seconds,
                                 "config": {"quick": quick, "crf_params": crf_params,
                                            "max_train_sentences": max_train_sentences,
                                            "max_eval_sentences": max_eval_sentences,
                                            "domains": list(domains)}})
    result.update(records=records, seconds=seconds)
    return result
