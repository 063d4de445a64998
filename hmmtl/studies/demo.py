"""``hmmtl demo``: a small domain-adaptation run that works on any machine.

With corpora (``data_dir``, ``$HMMTL_DATA``, or an NLTK data path holding CoNLL-2000) it
trains a CRF POS tagger on a slice of WSJ (CoNLL-2000 train), plain and adapted in one call
(``Tagger(hmm="auto").fit(X, y, unlabeled=web_text)``: HMMs learned on the training words
plus unlabeled target text give word representations as features), and compares them on
web text (the EWT domains; NPS chat, or CoNLL-2000 test, when only NLTK's corpora are
there).
Without any corpus it says so and runs the same pipeline on a synthetic two-domain corpus
sampled from a known HMM, labeled as synthetic everywhere.  It never fails for lack of data.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["run_demo", "synthetic_corpus", "find_demo_data"]

#: sizes of the demo (aimed at under a minute on 2 cores with the kernels compiled during it)
DEMO = dict(n_train=3000, n_text=6000, n_eval=300, crf_params={"max_iterations": 50},
            hmm={"n_hmms": 2, "n_states": 32, "n_iter": 15, "lowercase": True,
                 "min_count": 2})
#: ``--quick``: a smoke run of the same steps, seconds once the kernels are cached
QUICK = dict(n_train=600, n_text=1500, n_eval=60, crf_params={"max_iterations": 25},
             hmm={"n_hmms": 1, "n_states": 16, "n_iter": 8, "lowercase": True,
                  "min_count": 2})
#: smaller still, for the test suite
TINY = dict(n_train=300, n_text=500, n_eval=40, crf_params={"max_iterations": 15},
            hmm={"n_hmms": 1, "n_states": 8, "n_iter": 4, "lowercase": True, "min_count": 1})


def find_demo_data(data_dir=None) -> tuple[str, Path | None]:
    """Where the demo's corpora are: ``("ewt", root)`` when the root holds the EWT files
    and NLTK's CoNLL-2000, ``("nltk", root)`` when only NLTK's corpora are found (in
    ``data_dir``, ``$HMMTL_DATA``, or NLTK's own data path), ``("synthetic", None)`` else."""
    from ..io.data_root import data_root

    candidates = [data_dir, data_root()]
    for cand in candidates:
        if not cand:
            continue
        root = Path(cand)
        if not root.is_dir():
            continue
        has_nltk = (root / "nltk_data" / "corpora").is_dir() or (root / "corpora").is_dir()
        has_ewt = (root / "ud" / "en_ewt" / "en_ewt-answers-test.conllu").exists()
        if has_ewt and has_nltk:
            return "ewt", root.resolve()
        if has_nltk:
            return "nltk", root.resolve()
    try:
        import nltk

        for entry in nltk.data.path:
            p = Path(entry)
            if (p / "corpora" / "conll2000.zip").exists() or (p / "corpora" / "conll2000").is_dir():
                return "nltk", p.resolve()
    except Exception:  # noqa: BLE001 - NLTK broken or absent: fall back to synthetic data
        pass
    return "synthetic", None


# ----------------------------------------------------------------------------- synthetic
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def _pseudo_words(n: int, rs: np.random.RandomState, taken: set) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        w = "".join(rs.choice(_SYLLABLES, size=rs.randint(2, 4)))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def synthetic_corpus(n_tags: int = 6, n_shared: int = 40, n_specific: int = 40,
                     n_source: int = 800, n_unlabeled: int = 1000, n_test: int = 200,
                     random_state=0) -> dict:
    """A two-domain corpus sampled from a known HMM whose states are the tags.

    Both domains share the transitions and, per tag, a set of shared words; each domain also
    has its own words per tag, and the target domain ("web") uses them more often (60 %)
    than the source ("news", 30 %).  So most target words never occur in the labeled source
    data, and only their contexts, learned from unlabeled text, tell their tag.

    Returns
    -------
    dict
        ``train`` (source words, tags), ``text`` (unlabeled source + target sentences),
        ``test`` (words, tags, domains) with ``n_test`` sentences of each domain.
    """
    rs = np.random.RandomState(random_state)
    tags = [f"T{i}" for i in range(n_tags)]
    start = rs.dirichlet(np.ones(n_tags))
    transition = rs.dirichlet(np.full(n_tags, 0.25), size=n_tags)
    taken: set = set()
    shared = [_pseudo_words(n_shared, rs, taken) for _ in tags]
    specific = {d: [_pseudo_words(n_specific, rs, taken) for _ in tags] for d in ("news", "web")}
    p_specific = {"news": 0.3, "web": 0.6}
    zipf = 1.0 / np.arange(1, max(n_shared, n_specific) + 1)

    def sample(domain, n):
        lengths = rs.randint(6, 18, size=n)
        T = int(lengths.max())
        states = np.zeros((n, T), dtype=np.int64)
        states[:, 0] = rs.choice(n_tags, size=n, p=start)
        cum = np.cumsum(transition, axis=1)
        for t in range(1, T):  # vectorized over sentences
            u = rs.random_sample(n)[:, None]
            states[:, t] = np.minimum((u > cum[states[:, t - 1]]).sum(axis=1), n_tags - 1)
        use_specific = rs.random_sample((n, T)) < p_specific[domain]
        pw_s = zipf[:n_shared] / zipf[:n_shared].sum()
        pw_d = zipf[:n_specific] / zipf[:n_specific].sum()
        idx_s = rs.choice(n_shared, size=(n, T), p=pw_s)
        idx_d = rs.choice(n_specific, size=(n, T), p=pw_d)
        table_s = np.asarray(shared, dtype=object)
        table_d = np.asarray(specific[domain], dtype=object)
        words = np.where(use_specific, table_d[states, idx_d], table_s[states, idx_s])
        tag_arr = np.asarray(tags, dtype=object)[states]
        return ([words[i, :lengths[i]].tolist() for i in range(n)],
                [tag_arr[i, :lengths[i]].tolist() for i in range(n)])

    train = sample("news", n_source)
    text = sample("news", n_unlabeled)[0] + sample("web", n_unlabeled)[0]
    test_news, test_web = sample("news", n_test), sample("web", n_test)
    return {"train": train, "text": text,
            "test": (test_news[0] + test_web[0], test_news[1] + test_web[1],
                     ["news (source)"] * n_test + ["web (target)"] * n_test),
            "n_tags": n_tags}


# ----------------------------------------------------------------------------- real data
def _subsample(items, n, seed):
    if n is None or n >= len(items):
        return list(items)
    idx = np.sort(np.random.RandomState(seed).choice(len(items), size=n, replace=False))
    return [items[i] for i in idx.tolist()]


def _load_real(kind: str, root: Path, sizes: dict) -> dict:
    """Training sentences (WSJ), unlabeled target text and test sentences, as the files
    write them (the tagger maps the notation)."""
    from ..io import load_nltk, read_conllu

    wsj = load_nltk("conll2000", data_dir=root, split="train")
    pairs = _subsample(list(zip(wsj.sentences, wsj.column("pos"))), sizes["n_train"], 1)
    train = ([w for w, _ in pairs], [t for _, t in pairs])
    text, test_w, test_t, test_d = [], [], [], []
    if kind == "ewt":
        from .domain_adaptation import EWT_DOMAINS

        per_domain = max(1, sizes["n_text"] // len(EWT_DOMAINS))
        for d in EWT_DOMAINS:
            ud = root / "ud" / "en_ewt"
            text += _subsample(read_conllu(ud / f"en_ewt-{d}-train.conllu").sentences,
                               per_domain, 3)
            test = read_conllu(ud / f"en_ewt-{d}-test.conllu")
            pairs = _subsample(list(zip(test.sentences, test.column("xpos"))),
                               sizes["n_eval"], 4)
            test_w += [p[0] for p in pairs]
            test_t += [p[1] for p in pairs]
            test_d += [d] * len(pairs)
        target = "the five EWT web domains (test files, XPOS)"
    else:
        try:
            chat = load_nltk("nps_chat", data_dir=root)
            name, target = "chat", "NPS chat posts"
        except Exception:  # noqa: BLE001 - no NPS chat (or a broken one): CoNLL-2000 test
            chat = load_nltk("conll2000", data_dir=root, split="test")
            name, target = "wsj-test", "CoNLL-2000 test (WSJ: no domain shift; NPS chat absent)"
        w, t = chat.sentences, chat.column("pos")
        n_half = len(w) // 2
        text = _subsample(w[:n_half], sizes["n_text"], 3)
        pairs = _subsample(list(zip(w[n_half:], t[n_half:])), 5 * sizes["n_eval"], 4)
        test_w, test_t = [p[0] for p in pairs], [p[1] for p in pairs]
        test_d = [name] * len(pairs)
    return {"train": train, "text": text, "test": (test_w, test_t, test_d), "target": target}


# ----------------------------------------------------------------------------- the run
def _compare(data: dict, sizes: dict, seed: int, progress: bool) -> list[dict]:
    """A plain CRF tagger and the one-command adapted tagger (``Tagger(hmm="auto")`` with
    the demo's smaller HMM ensemble, learned on the training words plus the unlabeled
    text); one record per setting and domain."""
    from ..transfer.pipeline import Tagger
    from .domain_adaptation import evaluate_by_domain

    (X, y), text, (Xt, yt, dt) = data["train"], data["text"], data["test"]
    records = []
    hmm = sizes["hmm"]
    settings = [
        ("CRF", Tagger(labeler_params=sizes["crf_params"]), {}),
        ("CRF + HMM features",
         Tagger(hmm="auto", hmm_params=hmm, labeler_params=sizes["crf_params"],
                random_state=seed), {"unlabeled": text}),
    ]
    bar = None
    if progress:
        from .._progress import progress_bar

        bar = progress_bar(total=len(settings), desc="demo", leave=False)
    for name, tagger, kwargs in settings:
        if bar is not None:
            bar.set_postfix_str(name if not kwargs else
                                f"{name}: {hmm['n_hmms']} HMMs ({hmm['n_states']} states) on "
                                f"{len(X)} + {len(text)} sentences")
        t0 = time.perf_counter()
        tagger.fit(X, y, **kwargs)
        pred = tagger.predict(Xt)
        seconds = time.perf_counter() - t0
        # scored as hmmtl evaluate does: words and gold tags in the model's notation
        words, gold = tagger.notation_.map_words(Xt), tagger.notation_.map_tags(yt)
        known = set(itertools.chain.from_iterable(tagger.notation_.map_words(X)))
        for d, r in evaluate_by_domain(gold, pred, words, dt, known).items():
            records.append(dict(setting=name, representation=name, text="-", n_states=0,
                                notation="mapped", seed=seed, split="test", domain=d,
                                fit_seconds=seconds, **r))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return records


def run_demo(data_dir=None, out=None, quick=False, *, random_state: int = 0,
             progress: bool = False, stream=None) -> dict:
    """Run the demo and print its accuracy table.

    Parameters
    ----------
    data_dir : path, optional
        Corpora folder; default ``$HMMTL_DATA``, then NLTK's data path; synthetic data when
        none is found.
    out : path, optional
        Folder for ``demo.{md,csv,json,png}``.
    quick : bool or "tiny"
        ``False``: the demo (under a minute on 2 cores); ``True``: a smoke run of the same
        steps (seconds); ``"tiny"``: smaller still (the test suite).
    stream : file, optional
        Where the table is printed (default ``sys.stdout``).

    Returns
    -------
    dict
        ``data`` ("ewt", "nltk" or "synthetic"), ``synthetic`` (bool), ``records``,
        ``markdown``, ``seconds``.
    """
    from .report import markdown_table, summarize, write_report

    stream = sys.stdout if stream is None else stream
    t_start = time.perf_counter()
    sizes: dict[str, Any] = dict(TINY if quick == "tiny" else QUICK if quick else DEMO)
    kind, root = find_demo_data(data_dir)
    if data_dir is not None and kind == "synthetic":
        print(f"hmmtl demo: no corpora found in {data_dir}.", file=stream)
    data: dict
    if kind != "synthetic":
        assert root is not None  # found with the corpora
        try:
            data = _load_real(kind, root, sizes)
        except Exception as e:  # noqa: BLE001 - a damaged or partial data folder: fall back, say why
            print(f"hmmtl demo: could not read the corpora in {root} ({type(e).__name__}: "
                  f"{e}); using synthetic data instead.", file=stream)
            kind = "synthetic"
    if kind == "synthetic":
        print("hmmtl demo: no corpus data found (pass --data DIR or set HMMTL_DATA to the "
              "corpora folder).\nRunning on a SYNTHETIC two-domain corpus sampled from a "
              "known HMM instead.", file=stream)
        n = 1 if quick == "tiny" else 2 if quick else 4
        data = synthetic_corpus(n_source=300 * n, n_unlabeled=400 * n, n_test=100 * n,
                                random_state=random_state)
        sizes["hmm"] = dict(sizes["hmm"], n_states=2 * data["n_tags"], n_iter=25,
                            min_count=1)
        title = ("SYNTHETIC DATA: CRF with and without HMM features, source domain 'news' -> "
                 "target domain 'web'")
        what = ("Synthetic corpus sampled from a known HMM (tags = states); the target domain "
                "mostly uses words never seen in the labeled source data.")
    else:
        title = "CRF POS tagger trained on WSJ, with and without HMM features"
        what = (f"Data: {root}. Labeled: {len(data['train'][0])} CoNLL-2000 train sentences "
                f"(WSJ). Unlabeled target text: {len(data['text'])} sentences; the HMMs learn "
                f"on it and on the training words. Test: {data['target']}.")
    print(what, file=stream)
    records = _compare(data, sizes, random_state, progress)
    summary = summarize(records)
    seconds = time.perf_counter() - t_start
    md = []
    for metric, label in (("accuracy", "accuracy"), ("oov_accuracy", "OOV accuracy")):
        md.append(f"{title}: {label}\n\n" + markdown_table(summary, metric=metric,
                                                            baseline="CRF"))
    text = "\n".join(md)
    print("\n" + text, file=stream)
    print(f"({seconds:.0f} s; OOV = words absent from the labeled training data)", file=stream)
    result = {"data": kind, "synthetic": kind == "synthetic", "records": records,
              "summary": summary, "markdown": text, "seconds": seconds}
    if out is not None:
        rep = write_report(records, out, name="demo", title=title, baseline="CRF",
                           extra={"description": what, "data": kind, "seconds": seconds})
        result["paths"] = rep["paths"]
    return result
