"""The recipe of the ready-made models (:mod:`hmmtl.models`): ``hmmtl models build --data DIR
--out DIR``, and ``hmmtl adapt``.  A study: a user of the library (it reuses the NER study's
recipe), called by the command line, never by the library.

One function per step, every step deterministic (fixed seeds):

1. read the labeled corpora of the model (:data:`RECIPES`) from the corpora folder, and
   record each file's SHA-256 checksum;
2. train the model:

   * ``en-pos`` and ``en-chunk``: ``Tagger(hmm="auto")``, the recipe of ``hmmtl train
     --unlabeled``: an ensemble of HMMs learned on the training words plus the words of
     the EWT train files (web text), their type-level states as CRF features;
   * ``en-ner``, ``es-ner``, ``nl-ner``: the recognizers of the NER study
     (:func:`hmmtl.studies.ner.train_recognizer`'s recipe: Brown clusters and an HMM on
     unlabeled text -- for Spanish and Dutch the train file's words and the study's
     :data:`~hmmtl.studies.ner.EXTRA_TEXTS`, ``cess_esp`` / ``alpino``, for English the
     study's English text and Reuters-21578 (``text/en/reuters21578.jsonl.gz``), which the
     recipe lists as its ``unlabeled`` corpora so that the build records their checksums --,
     NLTK gazetteers, two stages).  Raw text has no POS / chunk column:
     ``nl-ner`` supplies its POS column itself (``column_taggers``: a CRF trained on the
     train file's POS column, whose cross-validated predictions the recognizer is trained
     on and whose predictions it reads when tagging: +0.55 dev F1), and so does ``es-ner``
     since it learns from ``cess_esp`` too (unpruned esp.testa 76.56 against 76.29 without
     the column; without the extra text the two were equal, 76.42); ``en-ner`` reads no
     column (figures in ``benchmarks/results/models_ner_pos.md`` and
     ``ner_text_es_nl.md``).  All three read the ``lexicon/en`` name lists (the recipe's
     ``lexicon``: a :class:`~hmmtl.ner.gazetteers.Lexicon` of Wikipedia, GeoNames and
     person-name lists -- the world's names -- kept in the model as a hashed table, each
     list file checksummed; chosen on eng.testa, esp.testa and ned.testa,
     ``benchmarks/results/ner_lexicon_reuters.md`` and ``ner_lexicon_es_nl.md``);

3. prune it (:mod:`hmmtl.prune`), weights stored as float16 and a recognizer's HMM
   emission tables as float16 log-probabilities, by the rule :data:`PRUNING_RULE`: the
   thresholds :data:`THRESHOLDS` are tried from the smallest up, a threshold is accepted
   while the dev score stays within :data:`MAX_LOSS` (0.1 point) of the unpruned model's
   **in either direction**, the first one outside that band ends the search, and the last
   accepted threshold is chosen.  A pruned model whose dev score moves by more than the
   band, up or down, tags measurably differently from the unpruned one, and which way its
   test score moves is then dev noise (es-ner's first build chose 0.05 for a dev gain of
   0.18 and lost 0.16 on test); the file must also fit the task's size cap
   (:data:`SIZE_LIMITS`), which the build checks and reports.  Every candidate's dev score
   and size is recorded, the rule with the chosen one in the catalog entry;
4. attach the sentence splitter and tokenizer settings (:func:`train_segmenter`);
5. score the model on dev and test, write it with its build record in the manifest info
   (``info["build"]``: data files and checksums, settings, library version, scores), and
   write ``catalog.json`` beside the models.

Dev sets, never test, choose everything: EWT dev (POS), the last :data:`CHUNK_DEV`
sentences of CoNLL-2000 train, held out of the chunker's training (chunking),
``eng.testa`` / ``esp.testa`` / ``ned.testa`` (NER).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path
from collections.abc import Sequence
from typing import Any


from ..models import CATALOG, MODELS
from .ner import EXTRA_TEXTS

__all__ = ["RECIPES", "THRESHOLDS", "MAX_LOSS", "SIZE_LIMITS", "PRUNING_RULE", "EMISSIONS",
           "choose_threshold", "build", "build_one", "train_segmenter",
           "adapt", "data_files", "read_labeled", "sha256"]

#: sentences at the end of CoNLL-2000 train held out as the chunker's dev set
CHUNK_DEV = 894
#: what each model is trained on (corpus references, see :func:`read_labeled`) and how
RECIPES: dict[str, dict[str, Any]] = {
    "en-pos": {"kind": "tagger", "tag_column": "pos", "metric": "accuracy",
               "train": [["conll2000", "train"]], "unlabeled": [["ewt", "train"]],
               "dev": ["ewt", "dev", "xpos"], "test": ["ewt", "test", "xpos"],
               "tagger": {"hmm": "auto", "random_state": 0}, "segmenter": "english"},
    "en-chunk": {"kind": "tagger", "tag_column": "chunk", "metric": "f1",
                 "train": [["conll2000", "train", [0, -CHUNK_DEV]]],
                 "unlabeled": [["ewt", "train"]],
                 "dev": ["conll2000", "train", [-CHUNK_DEV, None]],
                 "test": ["conll2000", "test"],
                 "tagger": {"hmm": "auto", "random_state": 0}, "segmenter": "english"},
    "en-ner": {"kind": "ner", "lang": "eng", "tag_column": "ner", "metric": "f1",
               "train": [["conll2003", "eng.train"]], "dev": ["conll2003", "eng.testa"],
               "test": ["conll2003", "eng.testb"],
               "unlabeled": [["text", "reuters21578.jsonl.gz"]],
               "recognizer": {"columns": []}, "lexicon": ["lexicon", "en"],
               "segmenter": "english"},
    "es-ner": {"kind": "ner", "lang": "esp", "tag_column": "ner", "metric": "f1",
               "train": [["conll2002", "esp.train"]], "dev": ["conll2002", "esp.testa"],
               "test": ["conll2002", "esp.testb"],
               "unlabeled": [[t, "all"] for t in EXTRA_TEXTS.get("esp", ())],
               "recognizer": {"columns": ["pos"], "column_taggers": ["pos"]},
               "lexicon": ["lexicon", "en"],
               "segmenter": "spanish"},
    "nl-ner": {"kind": "ner", "lang": "ned", "tag_column": "ner", "metric": "f1",
               "train": [["conll2002", "ned.train"]], "dev": ["conll2002", "ned.testa"],
               "test": ["conll2002", "ned.testb"],
               "unlabeled": [[t, "all"] for t in EXTRA_TEXTS.get("ned", ())],
               "recognizer": {"columns": ["pos"], "column_taggers": ["pos"]},
               "lexicon": ["lexicon", "en"],
               "segmenter": "dutch"},
}
#: pruning thresholds tried (|weight| at or below is dropped), smallest first
THRESHOLDS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
#: the most a pruned model's dev score may move, down or up, from the unpruned model's
#: (0.1 point)
MAX_LOSS = 0.001
#: storage precision of the CRF weights of the shipped models
PRECISION = "float16"
#: storage of a recognizer's HMM emission tables in the shipped models (hmmtl.prune)
EMISSIONS = "log-float16"
#: the most bytes a model file of each task may take (issue 23: POS and chunking 5 MB,
#: NER 15 MB, name lists included)
SIZE_LIMITS = {"pos": 5_000_000, "chunk": 5_000_000, "ner": 15_000_000}
#: the pruning choice, as recorded in each catalog entry
PRUNING_RULE = ("the largest threshold reached from the smallest up while the dev score "
                "stays within max_change of the unpruned model's, in either direction "
                "(the first threshold outside the band ends the search)")
#: English sentence splitter: the first this many train texts of each ``text/en`` file
#: (Punkt's training is pure Python: the whole 7.8M words would take many minutes)
SEGMENTER_TEXTS = 3000


# ----------------------------------------------------------------------------- data
def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _corpus_root(data_dir) -> Path:
    from ..io.data_root import find_data_root as find_data_dir

    root = find_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError(f"no corpora folder: give --data DIR (or set HMMTL_DATA); "
                                f"got {data_dir!r}")
    return root


def data_files(ref: Sequence, data_dir) -> list[Path]:
    """The files a corpus reference is read from (checked to exist: the error names each
    file looked for)."""
    root = _corpus_root(data_dir)
    name = ref[0]
    if name in ("conll2000", "conll2002", "treebank", "cess_esp", "alpino"):
        files = [root / "nltk_data" / "corpora" / f"{name}.zip"]
    elif name == "text":  # raw English text (JSON lines of ``text/en``)
        files = [root / "text" / "en" / ref[1]]
    elif name == "lexicon":  # the name lists a recognizer's Lexicon is read from
        from ..ner.gazetteers import LEXICON_FILES

        files = [root / "lexicon" / ref[1] / f for group in LEXICON_FILES.values()
                 for f in group]
    elif name == "conll2003":
        files = [root / "conll2003" / ref[1]]
    elif name == "ewt":
        files = sorted((root / "ud" / "en_ewt").glob(f"en_ewt-*-{ref[1]}.conllu"))
        if not files:
            raise FileNotFoundError(f"the labeled corpus EWT {ref[1]} was looked for as "
                                    f"{root / 'ud' / 'en_ewt' / f'en_ewt-*-{ref[1]}.conllu'} "
                                    f"and not found; give the corpora folder with --data")
    else:
        raise ValueError(f"unknown corpus {name!r} in a model's build record; expected "
                         f"conll2000, conll2002, conll2003, treebank, ewt, cess_esp, "
                         f"alpino, text or lexicon")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        what = {"text": "the text", "lexicon": "the name lists"}.get(name, "the labeled corpus")
        raise FileNotFoundError(f"{what} {':'.join(map(str, ref[:2]))} was looked "
                                f"for as {', '.join(missing)} and not found; give the corpora "
                                f"folder with --data (see the data README)")
    return files


def read_labeled(ref: Sequence, data_dir):
    """The :class:`~hmmtl.io.Corpus` of a reference ``[name, split(, [start, stop])]``:
    ``conll2000`` / ``treebank`` / ``conll2002`` through NLTK, ``conll2003`` and ``ewt``
    (all domains of a split) from their files; the optional slice takes sentences."""
    from ..io import concat, load_nltk, read_conll, read_conllu
    from .ner import load_ner_data

    files = data_files(ref, data_dir)
    root = _corpus_root(data_dir)
    name, split = ref[0], ref[1]
    if name in ("conll2000", "treebank"):
        corpus = load_nltk(name, data_dir=root, split=split)
    elif name == "conll2002":
        lang = split.split(".")[0]
        corpus = load_ner_data(root, lang)[{"train": "train", "testa": "dev",
                                            "testb": "test"}[split.split(".")[1]]]
    elif name == "conll2003":
        corpus = read_conll(files[0])
    else:
        corpus = concat([read_conllu(f) for f in files])
    if len(ref) > 2 and ref[2] is not None:
        start, stop = ref[2]
        corpus = corpus[slice(start, stop)]
    return corpus


def _checksums(refs, data_dir) -> dict:
    root = _corpus_root(data_dir)
    out = {}
    for ref in refs:
        for f in data_files(ref, data_dir):
            out[str(f.relative_to(root))] = sha256(f)
    return dict(sorted(out.items()))


# ----------------------------------------------------------------------------- segmenter
def _segmenter_text(language: str, data_dir) -> list[str]:
    """Raw text to learn sentence boundaries from (never a test set)."""
    import gzip

    root = _corpus_root(data_dir)
    if language == "english":
        texts = []
        for path in sorted((root / "text" / "en").glob("*.jsonl.gz")):
            n = 0
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                for line in fh:
                    record = json.loads(line)
                    if record.get("split", "train") != "test":
                        texts.append(record["text"])
                        n += 1
                        if n == SEGMENTER_TEXTS:
                            break
        return texts
    lang = {"spanish": "esp", "dutch": "ned"}[language]
    corpus = read_labeled(["conll2002", f"{lang}.train"], data_dir)
    return [" ".join(s) for s in corpus.sentences]


def train_segmenter(language: str, data_dir):
    """The sentence splitter and tokenizer of a model: NLTK Punkt parameters learned on
    raw text of ``language`` (English: the train posts and stories of ``text/en``;
    Spanish, Dutch: the words of the CoNLL-2002 train file joined)."""
    from ..io.segment import Segmenter

    return Segmenter(language=language).fit(_segmenter_text(language, data_dir))


# ----------------------------------------------------------------------------- training
def _unlabeled(recipe: dict, data_dir) -> list:
    return [s for ref in recipe.get("unlabeled", []) for s in
            read_labeled(ref, data_dir).sentences]


def _train_tagger(recipe: dict, data_dir, unlabeled, progress: bool):
    from ..io import concat
    from ..transfer.pipeline import Tagger

    train = concat([read_labeled(ref, data_dir) for ref in recipe["train"]]) \
        if len(recipe["train"]) > 1 else read_labeled(recipe["train"][0], data_dir)
    tagger = Tagger(**recipe["tagger"])
    tagger.fit(train.sentences, train.column(recipe["tag_column"]), unlabeled=unlabeled)
    return tagger


def _train_recognizer(recipe: dict, data_dir, extra_text, progress: bool):
    from ..ner.gazetteers import Gazetteer, load_nltk_gazetteers
    from . import ner as study

    root = _corpus_root(data_dir)
    lang = recipe["lang"]
    data = {"train": read_labeled(recipe["train"][0], data_dir)}
    # raw text files of the recipe (the NLTK texts of EXTRA_TEXTS come with the language)
    files = [f for ref in recipe.get("unlabeled", []) if ref[0] == "text"
             for f in data_files(ref, data_dir)]
    text = study.unlabeled_text(root, lang, data["train"], files)
    if extra_text is not None:
        text["user"] = extra_text
    # the text files and the user's text are streamed: read again by each part that learns
    # from them (the clusters and the HMM in one pass, then the automatic lists), never held
    # as token lists; the same clusters and HMM as from the text as one list
    cluster_text = study.Texts(text.values())
    auto_text = study.Texts(part for name, part in text.items() if not name.endswith(".train"))
    spec = study.RECIPES[lang]
    # no word-vector clusters (English's study recipe has them): built with them, en-ner
    # pruned at the threshold dev chose lost 0.30 F1 on eng.testb against itself unpruned,
    # beyond the 0.1 a ready model may lose (benchmarks/results/ner_lexicon_reuters.md)
    clusters, hmm, _ = study.learn_representations(cluster_text, spec["clusters"],
                                                   spec["hmm_states"], study.HMM_ITERATIONS,
                                                   False)
    gazetteer = Gazetteer(load_nltk_gazetteers(root))
    parts = dict(recipe["recognizer"])
    if recipe.get("lexicon"):  # large name lists, kept in the model as a hashed table
        # the folder of the list files (each checked to be there, or a clear error)
        parts["lexicon"] = study.read_lexicon(data_files(recipe["lexicon"], data_dir)[0].parent)
    model = study._recognizer(lang, parts, (clusters, hmm), gazetteer)
    columns, documents = study._inputs(data["train"], lang)
    model.fit(data["train"].sentences, study._gold(data["train"], lang), columns=columns,
              documents=documents, unlabeled=auto_text if auto_text else None)
    return model


def _predict(model, corpus, recipe):
    if recipe["kind"] == "ner":
        from .ner import LANGUAGES

        documents = list(corpus.doc_ids) if LANGUAGES[recipe["lang"]]["documents"] else None
        return model.predict(corpus.sentences, documents=documents)
    return model.predict(corpus.sentences)


def _gold(corpus, recipe, column=None):
    if recipe["kind"] == "ner":
        from .ner import LANGUAGES

        return corpus.column(LANGUAGES[recipe["lang"]]["label"])
    return corpus.column(column or recipe["tag_column"])


def score(model, corpus, recipe, column=None) -> float:
    """The recipe's metric of ``model`` on ``corpus``: token accuracy (POS, with the
    tagger's bracket and quote notation) or conlleval entity F1."""
    from ..metrics import entity_scores

    gold = _gold(corpus, recipe, column)
    if recipe["metric"] == "accuracy":
        return float(model.score(corpus.sentences, gold))
    return float(entity_scores(gold, _predict(model, corpus, recipe)).f1)


def _eval_ref(ref):
    """(corpus reference, gold column) of a recipe's dev / test entry."""
    if ref[0] == "ewt":
        return ref[:2], ref[2]
    return ref, None


# ----------------------------------------------------------------------------- pruning
def choose_threshold(rows: Sequence[dict], base: float, max_change: float = MAX_LOSS):
    """The candidate :data:`PRUNING_RULE` chooses among ``rows`` (threshold candidates in
    increasing order, each with its ``"dev"`` score), given the unpruned model's dev score
    ``base``; None when even the first moves dev by more than ``max_change``.

    >>> rows = [{"threshold": t, "dev": d} for t, d in
    ...         [(0.0, .7637), (0.01, .7649), (0.02, .7658), (0.05, .7660), (0.1, .7584)]]
    >>> choose_threshold(rows, .7642)["threshold"]
    0.01
    """
    chosen = None
    for row in rows:
        if abs(row["dev"] - base) > max_change + 1e-12:
            break
        chosen = row
    return chosen


def choose_pruning(model, recipe, dev, dev_column, folder: Path, log,
                   size_limit: int | None = None) -> tuple:
    """Prune copies of ``model`` at each of :data:`THRESHOLDS`; return the pruned model
    :func:`choose_threshold` picks (:data:`PRUNING_RULE`), its record (threshold, dev
    score, file size), the record of every candidate and the unpruned dev score."""
    from ..prune import prune, save_compact
    from ..serialize import load, save

    full = folder / "unpruned.hmmtl"
    save(model, full)
    base = score(model, dev, recipe, dev_column)
    rows: list[dict[str, Any]] = [{"threshold": None, "precision": "float64",
                                   "emissions": "float64", "dev": base,
                                   "bytes": full.stat().st_size}]
    # compact storage alone (no weight dropped): float32 weights, then float16, with
    # every other table (HMM emissions included) as float32
    for precision in ("float32", PRECISION):
        m = load(full)
        prune(m, 0.0, precision)
        path = save_compact(m, folder / f"compact-{precision}.hmmtl")
        rows.append({"threshold": 0.0, "precision": precision, "emissions": "table",
                     "dev": score(m, dev, recipe, dev_column), "bytes": path.stat().st_size})
        log(f"  {precision}, no threshold: dev {100 * rows[-1]['dev']:.2f}, "
            f"{rows[-1]['bytes']:,} bytes")
    candidates: list[dict[str, Any]] = []
    models: dict[float, Any] = {}
    for threshold in THRESHOLDS:
        m = load(full)
        stats = prune(m, threshold, PRECISION, emissions=EMISSIONS)
        path = save_compact(m, folder / f"pruned-{threshold}.hmmtl")
        row: dict[str, Any] = {
            "threshold": threshold, "precision": PRECISION, "emissions": EMISSIONS,
            "dev": score(m, dev, recipe, dev_column), "bytes": path.stat().st_size,
            "pairs": {k: [v.pairs_before, v.pairs_after] for k, v in stats.items()}}
        candidates.append(row)
        models[threshold] = m
        log(f"  threshold {threshold}: dev {100 * row['dev']:.2f} (unpruned "
            f"{100 * base:.2f}), {row['bytes']:,} bytes")
        if choose_threshold(candidates, base) is not row:
            break  # outside the band: the rule stops here
        models = {threshold: m}  # the only model the rule may still choose
    rows.extend(candidates)
    chosen = choose_threshold(candidates, base)
    if chosen is None:  # float16 alone moved dev too much: float32, nothing dropped
        chosen_model = load(full)
        prune(chosen_model, 0.0, "float32")
        chosen = rows[1]
    else:
        chosen_model = models[chosen["threshold"]]
    chosen = {**chosen, "rule": PRUNING_RULE, "max_change": MAX_LOSS,
              "size_limit": size_limit}
    if size_limit is not None and chosen["bytes"] > size_limit:
        log(f"  warning: the chosen model takes {chosen['bytes']:,} bytes, over the task's "
            f"{size_limit:,}")
    return chosen_model, chosen, rows, base


# ----------------------------------------------------------------------------- building
def _log(progress):
    def log(message):
        if progress:
            print(f"[models build] {message}", flush=True)
    return log


def build_one(name: str, data_dir, out_dir, *, segmenter: bool = True,
              progress: bool = True, segmenters: dict | None = None) -> dict:
    """Train, prune, score and write one ready-made model; return its catalog entry.
    ``segmenters`` (language -> Segmenter) keeps the splitters trained for earlier models
    of the same build.  The entry records the Numba threads the build ran on
    (``threads``): the CRFs' parallel sums, and with them the trained weights, depend on
    it in their last bits.  A rebuild gives the same file on the same number of threads
    with its kernels compiled afresh (kernels loaded from a Numba cache written by other
    runs have given other last bits)."""
    import numba

    from .. import __version__
    from ..prune import save_compact

    threads = int(numba.get_num_threads())

    recipe = RECIPES[name]
    log = _log(progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    dev_ref, dev_column = _eval_ref(recipe["dev"])
    test_ref, test_column = _eval_ref(recipe["test"])
    refs = recipe["train"] + recipe.get("unlabeled", []) + [dev_ref, test_ref] + \
        ([recipe["lexicon"]] if recipe.get("lexicon") else [])
    checksums = _checksums(refs, data_dir)
    log(f"{name}: training ({recipe['kind']})")
    if recipe["kind"] == "tagger":
        model = _train_tagger(recipe, data_dir, _unlabeled(recipe, data_dir), progress)
    else:
        model = _train_recognizer(recipe, data_dir, None, progress)
    train_s = time.perf_counter() - t0
    dev = read_labeled(dev_ref, data_dir)
    test = read_labeled(test_ref, data_dir)
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{name}.") as tmp:
        model, chosen, candidates, dev_full = choose_pruning(
            model, recipe, dev, dev_column, Path(tmp), log,
            size_limit=SIZE_LIMITS[MODELS[name]["task"]])
        from ..serialize import load

        test_full = score(load(Path(tmp) / "unpruned.hmmtl"), test, recipe, test_column)
    segmenter_info = None
    if segmenter:
        segmenters = {} if segmenters is None else segmenters
        language = recipe["segmenter"]
        if language not in segmenters:
            log(f"{name}: sentence splitter ({language})")
            segmenters[language] = train_segmenter(language, data_dir)
        model.segmenter_ = segmenters[language]
        segmenter_info = language
    scores = {"dev": score(model, dev, recipe, dev_column),
              "test": score(model, test, recipe, test_column),
              "dev_unpruned": dev_full, "test_unpruned": test_full}
    if name == "en-pos":
        scores["test_by_domain"] = _by_domain(model, test, test_column)
    record = {"name": name, "recipe": recipe, "data": checksums, "hmmtl_version": __version__,
              "pruning": {"chosen": chosen, "candidates": candidates, "max_loss": MAX_LOSS},
              "segmenter": segmenter_info, "scores": scores, "metric": recipe["metric"],
              "train_seconds": round(train_s, 1), "threads": threads}
    info = {"tag_column": recipe["tag_column"], "build": record}
    path = save_compact(model, out / MODELS[name]["file"], info=info)
    entry = {**MODELS[name], "sha256": sha256(path), "bytes": path.stat().st_size,
             "training_data": [":".join(map(str, r[:2])) for r in recipe["train"]],
             "unlabeled": [":".join(map(str, r[:2])) for r in recipe.get("unlabeled", [])],
             **({"lexicon": ":".join(recipe["lexicon"])} if recipe.get("lexicon") else {}),
             "recipe": recipe, "data": checksums, "scores": scores,
             "metric": recipe["metric"], "pruning": chosen, "segmenter": segmenter_info,
             "hmmtl_version": __version__, "threads": threads,
             "seconds": round(time.perf_counter() - t0, 1)}
    log(f"{name}: dev {100 * scores['dev']:.2f} test {100 * scores['test']:.2f} "
        f"({entry['bytes']:,} bytes, {entry['seconds']:.0f} s)")
    return entry


def _by_domain(model, corpus, column) -> dict:
    """Token accuracy of ``model`` on ``corpus`` per domain (the domain-adaptation study's
    :func:`~hmmtl.studies.domain_adaptation.evaluate_by_domain`)."""
    from .domain_adaptation import evaluate_by_domain

    gold = model.notation_.map_tags(corpus.column(column))
    scores = evaluate_by_domain(gold, model.predict(corpus.sentences), corpus.sentences,
                                corpus.domains, set())
    return {str(d): s["accuracy"] for d, s in scores.items()}


def build(data_dir, out_dir, only: Sequence[str] | None = None, *, segmenter: bool = True,
          progress: bool = True) -> dict:
    """Build the ready-made models (all, or those of ``only``) into ``out_dir`` and update
    its ``catalog.json`` (entries of models not rebuilt are kept)."""
    from .. import __version__

    names = list(only or RECIPES)
    bad = [n for n in names if n not in RECIPES]
    if bad:
        raise ValueError(f"unknown model(s) {', '.join(bad)}; choose from "
                         f"{', '.join(RECIPES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from ..models import catalog as read_catalog

    segmenters: dict[str, Any] = {}
    for name in names:
        entry = build_one(name, data_dir, out, segmenter=segmenter, progress=progress,
                          segmenters=segmenters)
        cat = read_catalog(out)  # read again: another build may have added models since
        cat["models"][name] = entry
        cat["hmmtl_version"] = __version__
        cat["models"] = dict(sorted(cat["models"].items(),
                                    key=lambda kv: list(MODELS).index(kv[0])))
        _write_json(out / CATALOG, cat)
    return read_catalog(out)


def _write_json(path: Path, data) -> None:
    from ..io.atomic import write_text

    write_text(path, json.dumps(data, indent=1, sort_keys=False) + "\n", what="catalog")


# ----------------------------------------------------------------------------- adapting
def _text_size(text) -> tuple[int, int]:
    """(sentences, tokens) of token lists, or of a stream's last complete reading where it
    counts them (:class:`hmmtl.io.text.TokenStream`), else counted by reading it again."""
    if isinstance(text, (list, tuple)):
        return len(text), int(sum(map(len, text)))
    n_sentences, n_tokens = getattr(text, "n_sentences", None), getattr(text, "n_tokens", None)
    if n_sentences and n_tokens is not None:
        return int(n_sentences), int(n_tokens)
    n_sentences = n_tokens = 0
    for sentence in text:
        n_sentences += 1
        n_tokens += len(sentence)
    return n_sentences, n_tokens


def adapt(model, unlabeled, *, data_dir=None, prune: bool = False, progress: bool = False):
    """Learn a ready-made model again with ``unlabeled`` as its target-domain text.

    The model's build record (``info["build"]`` of its file, written by :func:`build_one`)
    names the labeled corpora and the recipe; they are read from ``data_dir``, the HMM
    representations are learned again on the training words plus ``unlabeled`` (for a
    recognizer: its recipe's unlabeled text plus ``unlabeled``), and the labeler is
    trained again.  The result is the model ``hmmtl train`` gives with the recipe's
    settings and the same text; with ``prune=True`` it is then pruned as the shipped model
    was (a file 3-5x smaller, a few tags may change: see the README's figures).

    Parameters
    ----------
    model : str or path
        A ready-made model's name or a model file written by ``hmmtl models build``.
    unlabeled : list of list of str, or a stream of them read again
        The user's text, tokenized: token lists, or an iterable that gives the sentences
        afresh each time it is iterated (such as :class:`hmmtl.io.text.TokenStream`, what
        ``hmmtl adapt --unlabeled FILES`` passes): streamed, read by each part that learns
        from it, never held as token lists.  A one-shot iterator is read into a list.
    data_dir : path, optional
        The corpora folder (default ``$HMMTL_DATA``).
    prune : bool, default False
        Prune the weights with the shipped model's threshold and precision (store the
        result with :func:`hmmtl.prune.save_compact`).

    Returns
    -------
    model, info
        The adapted model and the manifest info to save with it.
    """
    from ..models import resolve
    from ..prune import prune as prune_model
    from ..serialize import read_manifest

    path = resolve(model)
    record = read_manifest(path)["info"].get("build")
    if not record:
        raise ValueError(f"{path}: the model has no build record (info['build']); only "
                         f"models written by 'hmmtl models build' know the corpus and recipe "
                         f"to learn again")
    recipe = record["recipe"]
    if iter(unlabeled) is unlabeled:  # a one-shot iterator: read once, kept
        unlabeled = list(unlabeled)
    if next(iter(unlabeled), None) is None:
        raise ValueError("no unlabeled sentences to adapt to")
    log = _log(progress)
    for ref in recipe["train"]:
        data_files(ref, data_dir)  # a missing corpus is named before any work
    log(f"adapting {record['name']} to the unlabeled text")
    if recipe["kind"] == "tagger":
        new = _train_tagger(recipe, data_dir, unlabeled, progress)
    else:
        new = _train_recognizer(recipe, data_dir, unlabeled, progress)
    n_sentences, n_tokens = _text_size(unlabeled)
    chosen = record.get("pruning", {}).get("chosen") or {}
    if prune and chosen.get("threshold") is not None:
        # models built before emission storage was chosen kept their tables as float32
        prune_model(new, chosen["threshold"], chosen.get("precision", PRECISION),
              emissions=chosen.get("emissions", "table"))
    info = {"tag_column": recipe["tag_column"],
            "adapted": {"from": record["name"], "sentences": n_sentences,
                        "tokens": n_tokens, "pruned": bool(prune)},
            "build": {**record, "scores": None}}
    return new, info
