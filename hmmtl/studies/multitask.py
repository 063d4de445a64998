"""The multi-task study: POS tagging, chunking and NER on CoNLL-2003, alone and sharing.

Every task is learned by a :class:`~hmmtl.LinearChainCRF` with the same word-type features.
The *single-task* CRF sees only its own labels.  The *multi-task* settings add features
learned from all three tasks (and from the POS / chunk annotations of CoNLL-2000 and the POS
annotation of the English Web Treebank, and from their text):

``hmm-text``
    Viterbi state and top-k posterior of one HMM learned without labels on the text of every
    task's corpus (CoNLL-2003, CoNLL-2000 and EWT train), used by each task's labeler.
``mt-hmm``
    Viterbi state and top-k posterior of a :class:`~hmmtl.MultiTaskHMM` whose states are shared
    by the three tasks, learned semi-supervised from all those corpora and their labels (each
    sentence carries the tasks it is annotated for, the rest is summed out).
``aso``
    ``Theta x``, the shared projection of alternating structure optimization
    (:class:`~hmmtl.transfer.aso.AlternatingStructureOptimization`) learned from every
    label of every task, as dense extra features.
``aso-text``
    The projections of ASO's auxiliary problems on unlabeled text (Ando & Zhang's
    semi-supervised ASO: which of the frequent words stands at a position, given its
    neighbours; which words stand beside it, given its own features), learned from the text
    of every task's corpus and NLTK's raw-text corpora, no labels.
``aso+text``
    ``aso`` and ``aso-text`` together: one shared structure from the tasks' labels and the
    auxiliary problems.
``aso+mt-hmm``
    ``aso`` and ``mt-hmm``.

The ASO features enter the CRF standardized and scaled by ``aso_scale`` (a smaller scale is
a stronger L2 penalty on their weights; 0.2 was chosen on eng.testa).

With ``shared_labels="other"`` each task's labeler gets shared models learned from the *other*
tasks' labels only (three MultiTaskHMMs and three ASO projections), so that the features of its
training tokens were never fitted to their own gold labels (the full and quick presets);
``"all"`` learns one set of shared models from every task's labels, which at full size hands
each labeler features fitted to its own training labels (NER F1 went down that way).

Protocol: train on ``eng.train`` (plus the other corpora for the shared parts), choose the
multi-task setting of each task on ``eng.testa``, report ``eng.testb`` once.  The
MultiTaskHMM's own predictions (posterior decoding, no CRF) are reported beside.  Metrics are
fractions in [0, 1]: token accuracy for POS, entity (chunk) F1 with conlleval semantics for
chunking and NER (tags converted from IOB1 to IOB2).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import flatten

__all__ = ["FULL", "QUICK", "SETTINGS", "TASKS", "TINY", "run_multi_task",
           "run_multi_task_product", "PRODUCT_PRESETS"]

TASKS = ("pos", "chunk", "ner")
SETTINGS = ("single", "hmm-text", "mt-hmm", "aso", "aso-text", "aso+text", "aso+mt-hmm")
MULTI_SETTINGS = SETTINGS[1:]

#: the full study
FULL = dict(max_train_sentences=None, max_text_sentences=None, max_eval_sentences=None,
            text_states=128, text_iter=15, mt_states=128, mt_iter=15, mt_init_task="pos", top_k=4,
            aso_components=50, aso_rounds=2, aso_epochs=5, aso_scale=0.2, aso_auxiliary=300,
            aso_auxiliary_components=50, max_auxiliary_tokens=None,
            unlabeled_texts=("abc", "webtext", "state_union", "inaugural", "brown"),
            shared_labels="other", crf_params={"max_iterations": 100, "c2": 1.0},
            settings=SETTINGS)
#: a smoke run of a few minutes on 2 cores
QUICK = dict(max_train_sentences=2000, max_text_sentences=2000, max_eval_sentences=500,
             text_states=32, text_iter=6, mt_states=64, mt_iter=6, mt_init_task="pos", top_k=3,
             aso_components=20, aso_rounds=1, aso_epochs=3, aso_scale=0.2, aso_auxiliary=100,
             aso_auxiliary_components=20, max_auxiliary_tokens=100_000,
             unlabeled_texts=("abc",), shared_labels="other",
             crf_params={"max_iterations": 40, "c2": 1.0}, settings=SETTINGS)
#: for the test suite (seconds)
TINY = dict(max_train_sentences=300, max_text_sentences=200, max_eval_sentences=60,
            text_states=8, text_iter=2, mt_states=12, mt_iter=3, mt_init_task="ner", top_k=2,
            aso_components=8, aso_rounds=1, aso_epochs=2, aso_scale=0.2, aso_auxiliary=20,
            aso_auxiliary_components=6, max_auxiliary_tokens=20_000, unlabeled_texts=(),
            shared_labels="all", crf_params={"max_iterations": 10, "c2": 1.0},
            settings=("single", "aso+text", "aso+mt-hmm"))
PRESETS: dict[str, dict[str, Any]] = {"full": FULL, "quick": QUICK, "tiny": TINY}


# ----------------------------------------------------------------------------- data
def _subsample(n: int, limit, seed: int = 0) -> np.ndarray:
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).choice(n, size=int(limit), replace=False))


def _pick(seq, index):
    return [seq[i] for i in index.tolist()]


def _iob1_to_iob2(tags: list[list[str]]) -> list[list[str]]:
    """IOB1 (``B-`` only between touching chunks of one type) to IOB2 (``B-`` at every chunk
    start)."""
    from ..io.schemes import iob1_to_iob2

    return iob1_to_iob2(tags)


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the multi-task study needs CoNLL-2003 under "
                                f"DATA/conll2003/, CoNLL-2000 under DATA/nltk_data/ and EWT "
                                f"under DATA/ud/en_ewt/ (see the data README)")
    return path


def _read_conll2000_train(root: Path, read_conll, columns):
    """CoNLL-2000 train (``word POS chunk``, IOB2) straight from NLTK's zip."""
    import io
    import zipfile

    path = _require(root / "nltk_data" / "corpora" / "conll2000.zip")
    with zipfile.ZipFile(path) as z:
        text = z.read("conll2000/train.txt").decode("utf-8")
    return read_conll(io.StringIO(text), columns=columns, name=f"{path}:conll2000/train.txt")


def load_multi_task_data(data_dir, *, max_train_sentences=None, max_text_sentences=None,
                         max_eval_sentences=None) -> dict:
    """Read the corpora of the study.

    Returns
    -------
    dict with
        ``train``, ``dev``, ``test``: CoNLL-2003 ``eng.train`` / ``eng.testa`` / ``eng.testb`` as
        ``{"words": ..., "pos": ..., "chunk": ..., "ner": ...}`` (chunk and NER in IOB2);
        ``extra``: the other annotated corpora, ``{"words": ..., "pos": ..., "chunk": ...}``
        with ``None`` for sentences a task does not annotate (CoNLL-2000 train: POS and
        chunks; EWT train files: POS (XPOS)).
    """
    from ..io.conll import CONLL2000_COLUMNS, CONLL2003_COLUMNS, read_conll
    from ..io.conllu import read_conllu

    root = Path(data_dir)

    def conll03(name, limit):
        corpus = read_conll(_require(root / "conll2003" / name), columns=CONLL2003_COLUMNS)
        idx = _subsample(len(corpus.sentences), limit)
        cols = {"words": corpus.sentences, "pos": corpus.column("pos"),
                "chunk": _iob1_to_iob2(corpus.column("chunk")),
                "ner": _iob1_to_iob2(corpus.column("ner"))}
        return {k: _pick(v, idx) for k, v in cols.items()}

    data = {"train": conll03("eng.train", max_train_sentences),
            "dev": conll03("eng.testa", max_eval_sentences),
            "test": conll03("eng.testb", max_eval_sentences)}
    c00 = _read_conll2000_train(root, read_conll, CONLL2000_COLUMNS)
    idx = _subsample(len(c00.sentences), max_text_sentences, seed=1)
    words = _pick(c00.sentences, idx)
    pos = _pick(c00.column("pos"), idx)
    chunk = _pick(c00.column("chunk"), idx)
    ewt_words, ewt_pos = [], []
    for p in sorted((root / "ud" / "en_ewt").glob("en_ewt-*-train.conllu")):
        c = read_conllu(p)
        ewt_words += c.sentences
        ewt_pos += c.column("xpos")
    if not ewt_words:
        _require(root / "ud" / "en_ewt" / "en_ewt-answers-train.conllu")
    idx = _subsample(len(ewt_words), max_text_sentences, seed=2)
    data["extra"] = {"words": words + _pick(ewt_words, idx),
                     "pos": pos + _pick(ewt_pos, idx),
                     "chunk": chunk + [None] * len(idx)}
    return data


# ----------------------------------------------------------------------------- scores
def _entity_prf(gold, pred) -> tuple[float, float, float]:
    """conlleval precision, recall and F1 of chunks (IOB2), from the readers' chunk finder."""
    from ..io.schemes import chunk_spans

    types: list = []
    g = chunk_spans(gold, scheme="iob2", types=types)
    p = chunk_spans(pred, scheme="iob2", types=types)

    def key(c):
        return set(zip(c.start.tolist(), c.end.tolist(), c.type.tolist()))

    correct = len(key(g) & key(p))
    precision = correct / len(p.start) if len(p.start) else 0.0
    recall = correct / len(g.start) if len(g.start) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _score(task: str, gold, pred) -> dict:
    """Accuracy for POS, conlleval entity P/R/F1 for chunks and entities."""
    if task == "pos":
        g, _ = flatten(gold)
        p, _ = flatten(pred)
        acc = float(np.mean(np.asarray(g, dtype=object) == np.asarray(p, dtype=object)))
        return {"score": acc, "metric": "accuracy"}
    precision, recall, f1 = _entity_prf(gold, pred)
    return {"score": f1, "precision": precision, "recall": recall, "metric": "f1"}


# ----------------------------------------------------------------------------- features
def _top_k(dense: np.ndarray, k: int):
    k = min(int(k), dense.shape[1])
    ids = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    w = np.take_along_axis(dense, ids, axis=1)
    return ids.astype(np.int32), w.astype(np.float64)


def _state_features(model, sentences, top_k: int, name: str) -> dict:
    """Viterbi state (categorical) and top-k posterior (weighted categorical) of each token."""
    from ..transfer.multitask_hmm import MultiTaskHMM

    extra: dict[str, Any] = {
        f"{name}.viterbi": np.asarray(model.transform(sentences, kind="viterbi"), np.int32)}
    if isinstance(model, MultiTaskHMM):
        extra[f"{name}.posterior"] = _top_k(model.transform(sentences, kind="posterior"), top_k)
    else:
        ids, w = model.transform(sentences, kind="posterior", top_k=int(top_k))
        extra[f"{name}.posterior"] = (np.asarray(ids, np.int32), np.asarray(w, np.float64))
    return extra


def _text_hmm(n_states, n_iter, seed):
    """The unsupervised HMM on all text: hmmtl.CategoricalHMM (a MultiTaskHMM without labels
    is the same model, used where CategoricalHMM is not available)."""
    try:
        from ..hmm import CategoricalHMM

        return CategoricalHMM(n_states=n_states, n_iter=n_iter, random_state=seed)
    except ImportError:
        from ..transfer.multitask_hmm import MultiTaskHMM

        return MultiTaskHMM(n_states=n_states, n_iter=n_iter, init="random", random_state=seed)


# ----------------------------------------------------------------------------- study
def _progress(total, enabled, desc):
    if not enabled:
        return None
    from .._progress import progress_bar

    return progress_bar(total=total, desc=desc, unit="step")


def run_multi_task(data_dir=None, out_dir="results/multi-task", quick: bool = False, *,
                   preset: str | None = None, seed: int = 0, progress: bool = True,
                   **overrides) -> dict:
    """Single-task versus multi-task CRFs for POS, chunking and NER on CoNLL-2003.

    Parameters
    ----------
    data_dir : path, optional
        The corpora folder (default ``$HMMTL_DATA``).
    out_dir : path
        Where ``multitask.md``, ``multitask.csv``, ``multitask.json`` and ``multitask.png``
        are written (created if needed).
    quick : bool
        A smoke run of a few minutes (subsets, small models); ``preset`` overrides it
        (``"full"``, ``"quick"``, ``"tiny"``).
    seed : int
    progress : bool
        Show a progress bar.
    **overrides
        Any preset entry (``mt_states=256``, ``crf_params={...}``, ``settings=(...)``,
        ``shared_labels="other"``, ``max_eval_sentences=None``).

    Returns
    -------
    dict
        ``records`` (one per setting, task and split), ``selected`` (the multi-task setting
        chosen on ``eng.testa`` per task), ``table`` (rows of the summary), ``files`` and
        ``config``.
    """
    from ..io.data_root import find_data_root

    root = find_data_root(data_dir)
    if root is None:
        raise FileNotFoundError(f"no corpora folder: pass data_dir or set HMMTL_DATA "
                                f"(got data_dir={data_dir!r})")
    cfg = _study_config(preset or ("quick" if quick else "full"), overrides)
    plan = _StudyPlan.of(cfg)
    run = _StudyRun(plan.n_steps, progress)
    data = load_multi_task_data(root, max_train_sentences=cfg["max_train_sentences"],
                                max_text_sentences=cfg["max_text_sentences"],
                                max_eval_sentences=cfg["max_eval_sentences"])
    study = _StudyData.of(data)
    text_features = _text_features(root, cfg, plan, study, run, seed)
    features, mt_all = _shared_features(cfg, plan, study, text_features, run, seed)
    records = _crf_records(cfg, plan, study, features, run)
    if mt_all is not None:
        records += _multitask_hmm_records(mt_all, study, run)
    run.close()
    selected = _select_on_dev(records)
    seconds = run.seconds()
    config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}
    config.update(seed=seed, preset=preset or ("quick" if quick else "full"),
                  n_train_sentences=len(study.train["words"]),
                  n_shared_sentences=len(study.all_words), model_seconds=run.timings)
    out = _write(records, selected, out_dir, seconds, config)
    return {"records": records, "selected": selected, "table": out["table"],
            "files": out["files"], "config": config, "seconds": seconds}


def _study_config(preset: str, overrides: dict) -> dict:
    """The preset's settings with ``overrides``, checked."""
    cfg = dict(PRESETS[preset])
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; expected some of {sorted(cfg)}")
    cfg.update(overrides)
    settings = tuple(cfg["settings"])
    bad = [s for s in settings if s not in SETTINGS]
    if bad or "single" not in settings:
        raise ValueError(f"settings must include 'single' and come from {SETTINGS}, got "
                         f"{settings}")
    if cfg["shared_labels"] not in ("all", "other"):
        raise ValueError(f"shared_labels must be 'all' or 'other', got {cfg['shared_labels']!r}")
    return cfg


@dataclass(frozen=True)
class _StudyPlan:
    """What a configuration asks for: the settings, the feature parts of each, which shared
    models are needed, and the number of progress steps."""

    settings: tuple
    parts_of: dict
    need_mt: bool
    need_aso: bool
    need_aso_text: bool
    need_hmm_text: bool
    n_shared: int
    n_steps: int

    @classmethod
    def of(cls, cfg: dict) -> _StudyPlan:
        settings = tuple(cfg["settings"])
        parts_of = {s: [] if s == "single" else
                    ["aso-text" if p == "text" else p for p in s.split("+")] for s in settings}
        need_mt = any("mt-hmm" in p for p in parts_of.values())
        need_aso = any("aso" in p for p in parts_of.values())
        need_aso_text = any("aso-text" in p for p in parts_of.values())
        need_hmm_text = "hmm-text" in settings
        n_shared = 1 if cfg["shared_labels"] == "all" else len(TASKS)
        n_steps = (need_hmm_text + need_aso_text + n_shared * (need_mt + need_aso)
                   + len(settings) * len(TASKS) + (need_mt and n_shared == 1))
        return cls(settings, parts_of, need_mt, need_aso, need_aso_text, need_hmm_text,
                   n_shared, n_steps)


@dataclass
class _StudyData:
    """The study's corpora: the splits of CoNLL-2003 and, for the shared models, the words
    of every labelled corpus with each task's labels (None where a corpus has none)."""

    train: dict
    splits: dict
    all_words: list
    all_labels: dict

    @classmethod
    def of(cls, data: dict) -> _StudyData:
        train, extra_corpus = data["train"], data["extra"]
        splits = {"train": train, "dev": data["dev"], "test": data["test"]}
        all_words = train["words"] + extra_corpus["words"]
        all_labels = {"pos": train["pos"] + extra_corpus["pos"],
                      "chunk": train["chunk"] + extra_corpus["chunk"],
                      "ner": train["ner"] + [None] * len(extra_corpus["words"])}
        return cls(train, splits, all_words, all_labels)


class _StudyRun:
    """The study's progress bar, the seconds each shared model took, and the total."""

    def __init__(self, n_steps: int, progress: bool):
        self._start = time.perf_counter()
        self.timings: dict[str, float] = {}
        self._bar = _progress(n_steps, progress, "multi-task study")

    @contextmanager
    def timed(self, name: str):
        t0 = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - t0

    def step(self, desc: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(desc)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def seconds(self) -> float:
        return time.perf_counter() - self._start


def _text_features(root, cfg, plan: _StudyPlan, study: _StudyData, run: _StudyRun,
                   seed: int) -> dict:
    """Per split, the features learned from text alone: the text HMM's states
    (``hmm-text``) and ASO's auxiliary problems (``aso-text``), as asked for."""
    from .ner import nltk_sentences

    splits = study.splits
    text_features: dict[str, dict] = {name: {} for name in splits}
    text = study.all_words + nltk_sentences(root, cfg["unlabeled_texts"]) \
        if (plan.need_hmm_text or plan.need_aso_text) else None
    if plan.need_hmm_text:
        with run.timed("hmm-text"):
            hmm = _text_hmm(cfg["text_states"], cfg["text_iter"], seed).fit(text)
        for name, s in splits.items():
            text_features[name]["hmm-text"] = _state_features(hmm, s["words"], cfg["top_k"],
                                                              "text")
        run.step("text HMM")
    if plan.need_aso_text:
        from ..transfer.aso import AlternatingStructureOptimization

        with run.timed("aso-text"):
            aso_text = AlternatingStructureOptimization(
                n_auxiliary=cfg["aso_auxiliary"],
                auxiliary_components=cfg["aso_auxiliary_components"],
                max_auxiliary_tokens=cfg["max_auxiliary_tokens"], output_scale=cfg["aso_scale"],
                random_state=seed).fit(study.all_words, {}, unlabeled=text)
        for name, s in splits.items():
            text_features[name]["aso-text"] = {"aso-text": aso_text.transform(s["words"])}
        run.step("ASO auxiliary problems")
    return text_features


def _fit_shared(labels, tag, cfg, plan: _StudyPlan, study: _StudyData, text_features,
                run: _StudyRun, seed: int):
    """MultiTaskHMM and ASO features of every split, learned from ``labels``; returns them
    (with the text features) and the MultiTaskHMM (None when not needed)."""
    splits = study.splits
    feats = {name: dict(text_features[name]) for name in splits}
    mt = None
    if plan.need_mt:
        from ..transfer.multitask_hmm import MultiTaskHMM

        with run.timed(f"mt-hmm{tag}"):
            init_task = cfg["mt_init_task"] if cfg["mt_init_task"] in labels else None
            mt = MultiTaskHMM(n_states=cfg["mt_states"], n_iter=cfg["mt_iter"],
                              init_task=init_task, random_state=seed).fit(study.all_words,
                                                                          labels)
        for name, s in splits.items():
            feats[name]["mt-hmm"] = _state_features(mt, s["words"], cfg["top_k"], "mt")
        run.step(f"multi-task HMM{tag}")
    if plan.need_aso:
        from ..transfer.aso import AlternatingStructureOptimization

        with run.timed(f"aso{tag}"):
            aso = AlternatingStructureOptimization(
                n_components=cfg["aso_components"], n_rounds=cfg["aso_rounds"],
                n_epochs=cfg["aso_epochs"], output_scale=cfg["aso_scale"],
                random_state=seed).fit(study.all_words, labels)
        for name, s in splits.items():
            feats[name]["aso"] = {"aso": aso.transform(s["words"])}
        run.step(f"ASO{tag}")
    return feats, mt


def _shared_features(cfg, plan: _StudyPlan, study: _StudyData, text_features,
                     run: _StudyRun, seed: int):
    """Per task, the features of each split its labeler gets; and the MultiTaskHMM learned
    from every task's labels (``shared_labels="all"``; None otherwise)."""
    if cfg["shared_labels"] == "all":
        shared, mt_all = _fit_shared(study.all_labels, "", cfg, plan, study, text_features,
                                     run, seed)
        return dict.fromkeys(TASKS, shared), mt_all
    # each task's labeler gets shared models learned from the *other* tasks' labels only,
    # so that its training tokens' features never saw their own gold labels
    features = {task: _fit_shared({k: v for k, v in study.all_labels.items() if k != task},
                                  f" without {task}", cfg, plan, study, text_features, run,
                                  seed)[0] for task in TASKS}
    return features, None


def _crf_records(cfg, plan: _StudyPlan, study: _StudyData, features, run: _StudyRun) -> list:
    """Train each setting's CRF for each task; its scores on the dev and test splits."""
    from ..crf import LinearChainCRF

    splits, train = study.splits, study.train
    records = []
    for setting in plan.settings:
        parts = plan.parts_of[setting]
        for task in TASKS:
            extra = {name: {k: v for p in parts for k, v in features[task][name][p].items()}
                     or None for name in splits}
            crf = LinearChainCRF(**cfg["crf_params"],
                                 constraint="BIO" if task != "pos" else None)
            t0 = time.perf_counter()
            crf.fit(train["words"], train[task], extra=extra["train"])
            fit_s = time.perf_counter() - t0
            for split in ("dev", "test"):
                pred = crf.predict(splits[split]["words"], extra=extra[split])
                records.append(dict(setting=setting, task=task, split=split, fit_seconds=fit_s,
                                    **_score(task, splits[split][task], pred)))
            run.step(f"{setting}/{task}")
    return records


def _multitask_hmm_records(mt, study: _StudyData, run: _StudyRun) -> list:
    """The MultiTaskHMM's own predictions of each task, scored on the dev and test splits."""
    splits = study.splits
    records = []
    for task in TASKS:
        for split in ("dev", "test"):
            pred = mt.predict(splits[split]["words"], task)
            records.append(dict(setting="mt-hmm (direct)", task=task, split=split,
                                fit_seconds=run.timings["mt-hmm"],
                                **_score(task, splits[split][task], pred)))
    run.step("multi-task HMM predictions")
    return records


def _value(records, **match):
    for r in records:
        if all(r.get(k) == v for k, v in match.items()):
            return r["score"]
    return float("nan")


def _select_on_dev(records) -> dict:
    """Per task, the multi-task CRF setting with the best ``eng.testa`` score."""
    selected = {}
    for task in TASKS:
        cands = [(r["score"], r["setting"]) for r in records
                 if r["task"] == task and r["split"] == "dev" and r["setting"] in MULTI_SETTINGS]
        if cands:
            selected[task] = max(cands)[1]
    return selected


# ----------------------------------------------------------------------------- output
def _table_rows(records, selected) -> list[dict]:
    settings = list(dict.fromkeys(r["setting"] for r in records))
    rows = []
    for s in settings:
        row = {"setting": s}
        for task in TASKS:
            for split in ("dev", "test"):
                row[f"{task}_{split}"] = _value(records, setting=s, task=task, split=split)
        rows.append(row)
    return rows


def _markdown(rows, selected, records, seconds, config) -> str:
    names = {"pos": "POS acc", "chunk": "chunk F1", "ner": "NER F1"}
    split_names = {"dev": "testa", "test": "testb"}
    cols = [f"{t}_{s}" for t in TASKS for s in ("dev", "test")]
    head = "| setting | " + " | ".join(f"{names[c.split('_')[0]]} ({split_names[c.split('_')[1]]})"
                                       for c in cols) + " |"
    lines = [head, "|" + " --- |" * (len(cols) + 1)]
    for row in rows:
        cells = []
        for c in cols:
            task = c.split("_")[0]
            v = row[c]
            txt = "n/a" if np.isnan(v) else f"{v:.4f}"
            if selected.get(task) == row["setting"]:
                txt = f"**{txt}**"
            cells.append(txt)
        lines.append(f"| {row['setting']} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Bold: the multi-task setting chosen for that task on eng.testa.")
    lines.append("")
    lines.append("| task | chosen multi-task setting | single (testa) | multi-task (testa) | "
                 "single (testb) | multi-task (testb) | change on testb |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for task in TASKS:
        if task not in selected:
            continue
        base = {sp: _value(records, setting="single", task=task, split=sp)
                for sp in ("dev", "test")}
        mt = {sp: _value(records, setting=selected[task], task=task, split=sp)
              for sp in ("dev", "test")}
        lines.append(f"| {task} | {selected[task]} | {base['dev']:.4f} | {mt['dev']:.4f} | "
                     f"{base['test']:.4f} | {mt['test']:.4f} | "
                     f"{100 * (mt['test'] - base['test']):+.2f} points |")
    lines.append("")
    lines.append(f"{config['n_train_sentences']} CoNLL-2003 training sentences; shared models "
                 f"learned from {config['n_shared_sentences']} sentences; {seconds:.0f} s in all.")
    return "\n".join(lines) + "\n"


def _csv(rows) -> str:
    import csv
    import io

    buf = io.StringIO()
    fields = list(rows[0]) if rows else ["setting"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def _plot(rows, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(4 * len(TASKS), 3.6))
    names = {"pos": "POS accuracy", "chunk": "chunking F1", "ner": "NER F1"}
    for ax, task in zip(axes, TASKS):
        vals = [r[f"{task}_test"] for r in rows]
        labels = [r["setting"] for r in rows]
        ax.bar(range(len(vals)), vals, color=["#888888"] + ["#3b75af"] * (len(vals) - 1))
        finite = [v for v in vals if not np.isnan(v)]
        if finite:
            lo = min(finite)
            ax.set_ylim(max(0.0, lo - 0.05), min(1.0, max(finite) + 0.02))
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
        ax.set_title(f"{names[task]} (eng.testb)")
    fig.tight_layout()
    tmp = Path(path).with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def _write(records, selected, out_dir, seconds, config) -> dict:
    from .report import write_json, write_text_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = _table_rows(records, selected)
    files = {"markdown": out / "multitask.md", "csv": out / "multitask.csv",
             "json": out / "multitask.json", "png": out / "multitask.png"}
    write_text_atomic(files["markdown"], _markdown(rows, selected, records, seconds, config))
    write_text_atomic(files["csv"], _csv(rows))
    write_json({"records": records, "selected": selected, "table": rows, "config": config,
                "seconds": seconds}, files["json"])
    try:
        _plot(rows, files["png"])
    except ImportError:  # matplotlib is optional
        files.pop("png")
    return {"table": rows, "files": {k: str(v) for k, v in files.items()}}


# ============================================================================ the product
#: the single-task models of the product study, each as a user trains it through the front
#: door: ``single`` is ``hmmtl train`` (``--task chunk`` / ``--task ner``: a CRF with the
#: task's defaults, from the words); ``single, file POS in`` is the chunker of CoNLL-2000's
#: standard set-up, a CRF with the chunk defaults that also reads the file's POS column (the
#: Brill tagger's output in CoNLL-2000, a tagger's output in CoNLL-2003, in the test files
#: too); ``single, recognizer`` is the recognizer of ``hmmtl experiment ner`` (Brown
#: clusters and an HMM on unlabeled text, gazetteers, the file's POS and chunk columns,
#: documents, two stages)
SINGLE_SETTINGS = ("single", "single, file POS in", "single, recognizer")
#: the tasks each single-task setting labels
_SINGLE_TASKS = {"single": ("pos", "chunk", "ner"), "single, file POS in": ("chunk",),
                 "single, recognizer": ("ner",)}
#: the multi-task settings (see :func:`_product_model`): ``multi-task`` is the product on
#: files with input columns (every task reads the file's columns of the tasks before it, as
#: the single-task models do; Brown clusters and an HMM learned once on unlabeled text are
#: features of the CRF tasks -- the chunker the HMM only, ``shared_features="auto"``; the
#: chunker also reads the cross-validated POS predictions; NER is the recognizer, with the
#: same clusters and HMM); ``multi-task, no cascade`` is the same without the POS
#: predictions -- what MultiTaskTagger's defaults build from a file that gives the
#: earlier tasks' columns (``cascade="auto"``), the setting dev chose; ``multi-task, words
#: only`` reads no column, no clusters, no HMM: a cascade of CRFs over all the tasks from
#: the words alone, each task reading all the earlier tasks' cross-validated predictions
PRODUCT_SETTINGS = ("multi-task", "multi-task, no cascade", "multi-task, words only")

#: sizes of the product study (``run_multi_task_product``): training / dev / test sentences
#: per corpus (None: all), CRF iterations (None: the task defaults), folds of the cascade,
#: the size of the recognizer's representations (a preset of :mod:`hmmtl.studies.ner`),
#: the corpora, the tasks of the words-only ``single`` setting (the full run leaves out the
#: words-only chunker and NER CRF, which the chunker reading the POS column and the
#: recognizer beat) and the settings; ``fold_iterations``: CRF iterations of the fold models
#: of the cross-validated predictions
PRODUCT_PRESETS: dict[str, dict[str, Any]] = {
    "full": dict(max_train_sentences=None, max_eval_sentences=None, max_iterations=None,
                 n_folds=2, fold_iterations=50, recognizer="full",
                 corpora=("conll2000", "conll2003"), single_tasks=("pos",),
                 settings=("single, file POS in", "single", "multi-task", "single, recognizer",
                           "multi-task, no cascade", "multi-task, words only")),
    "quick": dict(max_train_sentences=600, max_eval_sentences=300, max_iterations=40,
                  n_folds=2, fold_iterations=20, recognizer="quick",
                  corpora=("conll2000", "conll2003"), single_tasks=("pos", "chunk", "ner"),
                  settings=SINGLE_SETTINGS + PRODUCT_SETTINGS),
    "tiny": dict(max_train_sentences=120, max_eval_sentences=40, max_iterations=10,
                 n_folds=2, fold_iterations=5, recognizer="quick",
                 corpora=("conll2000", "conll2003"), single_tasks=("pos", "chunk", "ner"),
                 settings=SINGLE_SETTINGS + PRODUCT_SETTINGS),
}


def _product_corpora(root: Path, cfg: dict) -> dict:
    """CoNLL-2000 (POS + chunks; dev: the last fifth of train, held out) and CoNLL-2003
    (POS + chunks + entities; dev: eng.testa, test: eng.testb; with each sentence's
    document), chunk and NER tags in IOB2: ``{corpus: (tasks, {split: {"words": ...,
    task: ..., "documents": ...}})}``."""
    from ..io import load_nltk
    from ..io.conll import CONLL2003_COLUMNS, read_conll

    n_train, n_eval = cfg["max_train_sentences"], cfg["max_eval_sentences"]

    def split(words, columns, limit, seed):
        idx = _subsample(len(words), limit, seed)
        return {"words": _pick(words, idx), **{k: _pick(v, idx) for k, v in columns.items()}}

    out: dict[str, Any] = {}
    if "conll2000" in cfg["corpora"]:
        train = load_nltk("conll2000", data_dir=root / "nltk_data", split="train")
        test = load_nltk("conll2000", data_dir=root / "nltk_data", split="test")
        cut = len(train.sentences) * 4 // 5
        cols = {"pos": train.column("pos"), "chunk": train.column("chunk")}
        c00 = {"train": split(train.sentences[:cut], {k: v[:cut] for k, v in cols.items()},
                              n_train, 0),
               "dev": split(train.sentences[cut:], {k: v[cut:] for k, v in cols.items()},
                            n_eval, 1),
               "test": split(test.sentences, {"pos": test.column("pos"),
                                              "chunk": test.column("chunk")}, n_eval, 2)}
        out["conll2000"] = (("pos", "chunk"), c00)
    if "conll2003" in cfg["corpora"]:
        c03 = {}
        for name, part, limit in (("eng.train", "train", n_train),
                                  ("eng.testa", "dev", n_eval),
                                  ("eng.testb", "test", n_eval)):
            corpus = read_conll(_require(root / "conll2003" / name), columns=CONLL2003_COLUMNS)
            c03[part] = split(corpus.sentences, {
                "pos": corpus.column("pos"), "chunk": _iob1_to_iob2(corpus.column("chunk")),
                "ner": _iob1_to_iob2(corpus.column("ner")),
                "documents": (list(corpus.doc_ids) if corpus.doc_ids is not None
                              else [None] * len(corpus.sentences))}, limit, 3)
        out["conll2003"] = (("pos", "chunk", "ner"), c03)
    return out


@dataclass
class Representations:
    """What ``hmmtl experiment ner`` learns on English unlabeled text before its recognizer,
    learned once per run: Brown clusters, an HMM, the NLTK gazetteers and the text the
    recognizer's automatic lists come from."""

    clusters: Any
    hmm: Any
    gazetteer: Any
    auto_text: list
    seconds: float
    n_tokens: int


def _representations(root: Path, cfg: dict, progress: bool,
                     cache: Path | None = None) -> Representations:
    """The recognizer's representations, as :func:`hmmtl.studies.ner.train_recognizer`
    learns them, except that the CoNLL-2000 text is its training part only (so that no
    word of a test set of this study is in the text; the NER study reads all of
    CoNLL-2000, 47k more tokens).  With ``cache`` (a folder), the clusters and the HMM are
    saved there and read back by a later run of the same size (with the seconds they
    took)."""
    import json
    from types import SimpleNamespace

    from ..serialize import load

    from ..io import load_nltk
    from ..ner.gazetteers import Gazetteer, load_nltk_gazetteers
    from . import ner as ner_study

    t0 = time.perf_counter()
    preset = ner_study.PRESETS[cfg["recognizer"]]
    train = load_ner_train(root)
    text = ner_study.unlabeled_text(root, "eng", SimpleNamespace(sentences=train))
    text["conll2000"] = load_nltk("conll2000", data_dir=root / "nltk_data",
                                  split="train").sentences
    if preset["max_text_sentences"]:
        text = {k: v[: preset["max_text_sentences"]] for k, v in text.items()}
    all_text = [s for part in text.values() for s in part]
    auto_text = [s for name, part in text.items() if not name.endswith(".train") for s in part]
    recipe = ner_study.RECIPES["eng"]
    n_clusters = max(2, int(recipe["clusters"] * preset["clusters_scale"]))
    n_states = max(2, int(recipe["hmm_states"] * preset["clusters_scale"]))
    stem = None if cache is None else Path(cache) / f"representations-{cfg['recognizer']}"
    if stem is not None and Path(f"{stem}.json").is_file():
        clusters = load(f"{stem}.clusters.hmmtl")
        hmm = load(f"{stem}.hmm.hmmtl")
        learned = json.loads(Path(f"{stem}.json").read_text())["seconds"]
        t0 = time.perf_counter() - learned
    else:
        clusters = ner_study._clusters(all_text, n_clusters, False)
        hmm = ner_study._hmm(all_text, n_states, preset["hmm_iterations"], False)
        if stem is not None:
            clusters.save(f"{stem}.clusters.hmmtl")
            hmm.save(f"{stem}.hmm.hmmtl")
            Path(f"{stem}.json").write_text(json.dumps(
                {"seconds": time.perf_counter() - t0}))
    gazetteer = Gazetteer(load_nltk_gazetteers(root))
    seconds = round(time.perf_counter() - t0, 2)
    if progress:
        print(f"[representations] {n_clusters} Brown clusters and a {n_states}-state HMM on "
              f"{len(all_text)} sentences: {seconds:.1f} s", flush=True)
    return Representations(clusters, hmm, gazetteer, auto_text, seconds,
                           int(sum(map(len, all_text))))


def load_ner_train(root: Path) -> list:
    """The words of eng.train (the recognizer's unlabeled text includes them)."""
    from ..io.conll import CONLL2003_COLUMNS, read_conll

    return read_conll(_require(root / "conll2003" / "eng.train"),
                      columns=CONLL2003_COLUMNS).sentences


def _recognizer(reps: Representations, cfg: dict, seed: int):
    """The recognizer of ``hmmtl experiment ner`` (its English recipe), unfitted."""
    from . import ner as ner_study

    max_iterations = cfg["max_iterations"] if cfg["max_iterations"] is not None else \
        ner_study.PRESETS[cfg["recognizer"]]["max_iterations"]
    model = ner_study._recognizer("eng", {}, (reps.clusters, reps.hmm), reps.gazetteer,
                                  max_iterations)
    return model.set_params(random_state=seed)


def _no_inputs(split: dict, tasks) -> dict:
    return {}


def _file_inputs(split: dict, tasks) -> dict:
    return {"columns": _file_columns(split, tasks), "documents": split.get("documents")}


def _product_model(setting: str, cfg: dict, seed: int, reps, tasks):
    """The unfitted multi-task model of ``setting`` for ``tasks`` and the function that
    gives its ``fit`` keyword arguments besides ``X`` and ``y`` from a training split and
    its tasks."""
    from ..transfer.multitask import MultiTaskTagger

    crf = {} if cfg["max_iterations"] is None else {"max_iterations": cfg["max_iterations"]}
    fold = {"max_iterations": cfg["fold_iterations"]}
    if setting == "multi-task, words only":
        return MultiTaskTagger(n_folds=cfg["n_folds"], labeler_params=crf or None,
                               fold_labeler_params=fold, random_state=seed), _no_inputs
    if setting in ("multi-task", "multi-task, no cascade"):
        columns = {"pos": 1, "chunk": 2} if "ner" in tasks else {"pos": 1}
        task_models = {"ner": _recognizer(reps, cfg, seed)} if "ner" in tasks else None
        cascade = {"chunk": ["pos"]} if setting == "multi-task" else False
        model = MultiTaskTagger(n_folds=cfg["n_folds"], cascade=cascade,
                                labeler_params=crf or None, fold_labeler_params=fold,
                                columns=columns, clusters=reps.clusters, hmm=reps.hmm,
                                task_models=task_models, random_state=seed)
        return model, _file_inputs
    raise ValueError(f"unknown multi-task setting {setting!r}")


def _file_columns(split: dict, tasks) -> dict:
    """The input columns a split's file gives (CoNLL-2000: POS; CoNLL-2003: POS, chunks)."""
    return {name: split[name] for name in ("pos", "chunk") if name in split and name in tasks
            and name != "ner"}


def run_multi_task_product(data_dir=None, out_dir="results/multi-task", quick: bool = False,
                           *, preset: str | None = None, seed: int = 0,
                           progress: bool = True, **overrides) -> dict:
    """The multi-task product (:class:`~hmmtl.transfer.multitask.MultiTaskTagger`) against
    the best single-task model hmmtl has for each task, trained on the same labeled data.

    On CoNLL-2000 (POS + chunks, dev: a held-out fifth of train) and CoNLL-2003 (POS +
    chunks + entities, dev: eng.testa), every task is labeled by the single-task models
    of :data:`SINGLE_SETTINGS` (``hmmtl train``; the chunker that reads the file's POS
    column; the recognizer of ``hmmtl experiment ner``) and by the multi-task models of
    :data:`PRODUCT_SETTINGS`.  Settings are compared on dev; the test sets are scored
    once, at the end.  Every model's training time and the tagging speed (tokens per
    second, all tasks of a corpus, in this process) are recorded.  ``**overrides`` change
    entries of the preset (:data:`PRODUCT_PRESETS`).  Metrics are fractions: token
    accuracy for POS, entity F1 (conlleval semantics) for chunks and entities.

    Returns
    -------
    dict
        ``records`` (corpus, setting, task, split, score), ``seconds`` (training time per
        corpus and model), ``speed`` (tokens per second per corpus and setting),
        ``markdown`` and ``files``.
    """
    from ..io.data_root import find_data_root

    root = find_data_root(data_dir)
    if root is None:
        raise FileNotFoundError(f"no corpora folder: pass data_dir or set HMMTL_DATA "
                                f"(got data_dir={data_dir!r})")
    name = preset or ("quick" if quick else "full")
    if name not in PRODUCT_PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRODUCT_PRESETS)}, got {preset!r}")
    cfg = dict(PRODUCT_PRESETS[name])
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; expected some of {sorted(cfg)}")
    cfg.update(overrides)
    settings = list(cfg["settings"])
    bad = [s for s in settings if s not in SINGLE_SETTINGS + PRODUCT_SETTINGS]
    if bad:
        raise ValueError(f"unknown setting(s) {bad}; choose among "
                         f"{list(SINGLE_SETTINGS + PRODUCT_SETTINGS)}")
    run = _ProductRun(Path(out_dir), name, cfg, progress)
    root = Path(root)
    corpora = _product_corpora(root, cfg)
    reps = None
    if "single, recognizer" in settings or any(s in settings for s in _NEEDS_REPRESENTATIONS):
        reps = _representations(root, cfg, progress, cache=Path(out_dir))
        run.seconds["representations"] = reps.seconds
    # setting by setting, so that a long run's first figures compare every corpus; every
    # setting is fixed in advance and the best single-task model is chosen on dev, so the
    # test sets are scored as each model is trained
    for setting in settings:
        for corpus, (tasks, data) in corpora.items():
            run.fit_and_score(corpus, tasks, data, setting, reps, seed)
    return run.finish()


#: multi-task settings that use the recognizer's representations
_NEEDS_REPRESENTATIONS: tuple = ("multi-task", "multi-task, no cascade")


class _ProductRun:
    """The product study's models, records and files (rewritten after every step, so that
    a long run's figures so far are on disk)."""

    def __init__(self, out: Path, preset: str, cfg: dict, progress: bool):
        self.out, self.preset, self.cfg, self.progress = out, preset, cfg, progress
        self.records: list = []
        self.seconds: dict = {}
        self.speed: dict = {}
        self.models: dict = {}
        self.start = time.perf_counter()
        out.mkdir(parents=True, exist_ok=True)

    def log(self, message):
        if self.progress:
            print(message, flush=True)

    def timed(self, key, fit):
        t0 = time.perf_counter()
        model = fit()
        self.seconds[key] = round(time.perf_counter() - t0, 2)
        self.log(f"[{key}] trained in {self.seconds[key]:.1f} s")
        return model

    def fit_and_score(self, corpus, tasks, data, setting, reps, seed):
        from ..crf import LinearChainCRF
        from ..transfer.pipeline import Tagger

        cfg = self.cfg
        crf = {} if cfg["max_iterations"] is None else {"max_iterations": cfg["max_iterations"]}
        train = data["train"]
        for task in tasks:
            if task not in _SINGLE_TASKS.get(setting, ()) or (
                    setting == "single" and task not in cfg["single_tasks"]):
                continue
            key = f"{corpus}/{setting}/{task}"
            if setting == "single":
                model = self.timed(key, lambda: Tagger(
                    labeler_params={"task": task, "random_state": seed, **crf},
                    random_state=seed).fit(train["words"], train[task]))
            elif setting == "single, file POS in":
                model = self.timed(key, lambda: LinearChainCRF(
                    task=task, random_state=seed, **crf).fit(
                    train["words"], train[task], extra={"pos": train["pos"]}))
            else:
                model = self.timed(key, lambda: _recognizer(reps, cfg, seed).fit(
                    train["words"], train[task], columns=_file_columns(train, tasks),
                    documents=train.get("documents"), unlabeled=reps.auto_text))
            self.models[corpus, setting, task] = model
            for part in ("dev", "test"):
                self.score_one(corpus, setting, task, data, part)
        if setting in PRODUCT_SETTINGS:
            key = f"{corpus}/{setting}"
            model, fit_kwargs = _product_model(setting, cfg, seed, reps, tasks)
            y = {t: train[t] for t in tasks}
            kwargs = fit_kwargs(train, tasks)
            if "ner" in tasks and setting in _NEEDS_REPRESENTATIONS:
                kwargs["unlabeled"] = reps.auto_text
            self.models[corpus, setting] = self.timed(
                key, lambda: model.fit(train["words"], y, **kwargs))
            for what, sec in model.fit_times_.items():
                self.seconds[f"{key}: {what}"] = round(sec, 2)
            for part in ("dev", "test"):
                self.score_product(corpus, setting, tasks, data, part)

    def _predict_single(self, model, setting, task, split, tasks):
        words = split["words"]
        if setting == "single":
            return model.predict(words)
        if setting == "single, file POS in":
            return model.predict(words, extra={"pos": split["pos"]})
        return model.predict(words, columns=_file_columns(split, tasks),
                             documents=split.get("documents"))

    def score_one(self, corpus, setting, task, data, part):
        tasks = [t for t in ("pos", "chunk", "ner") if t in data[part]]
        t0 = time.perf_counter()
        pred = self._predict_single(self.models[corpus, setting, task], setting, task,
                                    data[part], tasks)
        if part == "dev":
            n = sum(map(len, data[part]["words"]))
            self.speed[f"{corpus}/{setting}/{task}"] = round(n / (time.perf_counter() - t0))
        self.add(corpus, setting, task, part, _score(task, data[part][task], pred)["score"])

    def score_product(self, corpus, setting, tasks, data, part):
        model = self.models[corpus, setting]
        split = data[part]
        kwargs = {}
        if getattr(model, "input_columns_", None):
            kwargs["columns"] = _file_columns(split, tasks)
        if getattr(model, "uses_documents_", False):
            kwargs["documents"] = split.get("documents")
        t0 = time.perf_counter()
        pred = model.predict(split["words"], **kwargs)
        if part == "dev":
            n = sum(map(len, split["words"]))
            self.speed[f"{corpus}/{setting}"] = round(n / (time.perf_counter() - t0))
        for task in tasks:
            self.add(corpus, setting, task, part, _score(task, split[task], pred[task])["score"])

    def add(self, corpus, setting, task, part, score):
        self.records.append({"corpus": corpus, "setting": setting, "task": task,
                             "split": part, "score": score})
        self.log(f"[{corpus}/{setting}/{task}] {part}: {100 * score:.2f}")
        self.write()

    def write(self) -> dict:
        import json

        total = round(time.perf_counter() - self.start, 1)
        cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.cfg.items()}
        markdown = _product_markdown(self.records, self.seconds, self.speed, cfg,
                                     self.preset, total)
        files = {"markdown": self.out / "multitask_product.md",
                 "json": self.out / "multitask_product.json"}
        files["markdown"].write_text(markdown)
        files["json"].write_text(json.dumps({
            "records": self.records, "seconds": self.seconds, "speed": self.speed,
            "config": cfg, "preset": self.preset, "total_seconds": total}, indent=1))
        return {"markdown": markdown, "files": {k: str(v) for k, v in files.items()},
                "total": total}

    def finish(self) -> dict:
        out = self.write()
        return {"records": self.records, "seconds": self.seconds, "speed": self.speed,
                "markdown": out["markdown"], "files": out["files"], "config": self.cfg,
                "total_seconds": out["total"]}


def best_single(records, corpus: str, task: str) -> str | None:
    """The single-task setting with the best dev score for ``task`` on ``corpus``."""
    cands = [(r["score"], r["setting"]) for r in records
             if (r["corpus"], r["task"], r["split"]) == (corpus, task, "dev")
             and r["setting"] in SINGLE_SETTINGS]
    return max(cands)[1] if cands else None


def _product_markdown(records, seconds, speed, cfg, preset, total) -> str:
    def value(corpus, task, setting, part):
        return next((r["score"] for r in records
                     if (r["corpus"], r["task"], r["setting"], r["split"]) ==
                     (corpus, task, setting, part)), None)

    def cell(v):
        return "-" if v is None else f"{100 * v:.2f}"

    lines = [f"# Multi-task product vs single-task models (preset {preset}, {total} s)", "",
             f"config: {cfg}", "",
             "| corpus | task | setting | dev | test | dev vs best single | "
             "test vs best single |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    keys = list(dict.fromkeys((r["corpus"], r["task"], r["setting"]) for r in records))
    keys.sort(key=lambda k: (k[0], ("pos", "chunk", "ner").index(k[1])
                             if k[1] in ("pos", "chunk", "ner") else 9))
    for corpus, task, setting in keys:
        dev, test = value(corpus, task, setting, "dev"), value(corpus, task, setting, "test")
        best = best_single(records, corpus, task)
        diffs = []
        for part, v in (("dev", dev), ("test", test)):
            b = None if best is None else value(corpus, task, best, part)
            if setting in SINGLE_SETTINGS:
                diffs.append("(best single)" if setting == best and part == "dev" else "")
            else:
                diffs.append("-" if v is None or b is None else f"{100 * (v - b):+.2f}")
        lines.append(f"| {corpus} | {task} | {setting} | {cell(dev)} | {cell(test)} | "
                     f"{diffs[0]} | {diffs[1]} |")
    lines += ["", "Best single: the single-task setting with the best dev score for the task.",
              "", "training seconds: " + ", ".join(f"{k} {v}" for k, v in seconds.items()),
              "", "tagging speed on dev (tokens/s; a multi-task setting: all its tasks): "
              + ", ".join(f"{k} {v}" for k, v in speed.items()), ""]
    return "\n".join(lines)
