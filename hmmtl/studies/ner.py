"""The named-entity study: English, Spanish and Dutch recognizers, and what each part gives.

For each language (CoNLL-2003 English, CoNLL-2002 Spanish and Dutch) the study

1. learns Brown clusters and an HMM on unlabeled text (English: NLTK's raw corpora abc,
   webtext, state_union and inaugural, the words of Brown, CoNLL-2000, the treebank sample,
   the EWT train files and ``eng.train``; Spanish and Dutch: the words of their ``train``
   file, the only text in those languages here).  The words of the dev and test files are
   never used, so that dev F1 predicts test F1;
2. trains the chosen :class:`~hmmtl.ner.NamedEntityRecognizer` (recipe :data:`RECIPES`,
   chosen on the dev sets ``eng.testa`` / ``esp.testa`` / ``ned.testa``) on the ``train``
   file with its POS (and chunk) columns and its documents (English and Dutch have
   ``-DOCSTART-`` lines; Spanish has none), and saves it as ``ner-<lang>.model``;
3. scores it on dev and test (conlleval entity F1, overall and per type) and measures its
   tagging speed from raw tokens;
4. measures each part's contribution on dev (:data:`PARTS`): each part of the first stage is
   left out of a one-stage recognizer, and the second stage is the two-stage model against
   the one-stage one;
5. (English) F1 against the amount of unlabeled text the clusters were learned on (a
   one-stage recognizer without HMM, clusters on random parts of the text).

Results: ``ner.md``, ``ner.csv``, ``ner.json`` in ``out_dir``.
"""

from __future__ import annotations

import copy
import io
import time
import zipfile
from pathlib import Path
from typing import Any, cast

import numpy as np

__all__ = ["LANGUAGES", "RECIPES", "PARTS", "run_ner", "train_recognizer", "load_ner_data",
           "unlabeled_text", "lexicon_contributions", "read_lexicon"]

#: file names and columns of each language (column indices of the files, word = 0)
LANGUAGES: dict[str, dict[str, Any]] = {
    "eng": {"name": "English (CoNLL-2003)", "files": ("eng.train", "eng.testa", "eng.testb"),
            "columns": {"pos": 1, "chunk": 2}, "label": 3, "documents": True},
    "esp": {"name": "Spanish (CoNLL-2002)", "files": ("esp.train", "esp.testa", "esp.testb"),
            "columns": {"pos": 1}, "label": 2, "documents": False},
    "ned": {"name": "Dutch (CoNLL-2002)", "files": ("ned.train", "ned.testa", "ned.testb"),
            "columns": {"pos": 1}, "label": 2, "documents": True},
}

#: English unlabeled text: NLTK raw corpora, the words of tagged corpora, EWT, eng.train
ENGLISH_TEXTS = ("abc", "webtext", "state_union", "inaugural", "brown", "conll2000",
                 "treebank", "ewt", "eng.train")

#: Spanish and Dutch unlabeled text beside the training file's words (NLTK's treebanks:
#: Spanish newswire of 2000, Dutch newspaper sentences), chosen on esp.testa / ned.testa
EXTRA_TEXTS: dict[str, tuple[str, ...]] = {"esp": ("cess_esp",), "ned": ("alpino",)}
#: a sentence of the extra text that shares this many consecutive tokens with a dev or test
#: sentence is dropped
OVERLAP_NGRAM = 8

#: the recognizer of each language (chosen on the dev sets), its Brown clusters and the states
#: of its HMM (both learned on the unlabeled text); Spanish's 1000 clusters: esp.testa with the
#: ``lexicon/en`` lists 76.93 / 76.99 / 77.12 / 77.34 / 77.02 at 150 / 300 / 500 / 1000 / 2000,
#: without them 76.65 -> 76.83 at 300 -> 1000; Spanish's CRFs' c2: 77.16 / 77.34 / 77.58 /
#: 77.70 / 78.19 / 77.96 / 77.90 at 0.5 / 1 / 2 / 3 / 4 / 6 / 8 (with the lists;
#: benchmarks/results/ner_lexicon_es_nl.md)
#: English's word-vector clusters (window 2, 100 dimensions, k-means at 64 / 256 / 1024):
#: eng.testa 93.07 / 93.03 / 93.06 over three seeds against 92.93 without (the lists of
#: ``lexicon/en`` and the Reuters-21578 text in; benchmarks/results/ner_lexicon_reuters.md)
RECIPES: dict[str, dict[str, Any]] = {
    "eng": {"clusters": 500, "hmm_states": 64,
            "word_vectors": {"window": 2, "n_components": 100, "n_clusters": [64, 256, 1024]},
            "recognizer": {"gazetteer": "nltk", "auto_lists": True}},
    "esp": {"clusters": 1000, "hmm_states": 32,
            "recognizer": {"gazetteer": "nltk", "auto_lists": False,
                           "labeler_params": {"c2": 4.0}}},
    "ned": {"clusters": 300, "hmm_states": 32,
            "recognizer": {"gazetteer": "nltk", "auto_lists": False}},
}
#: EM iterations of the HMMs
HMM_ITERATIONS = 25
#: settings of every recognizer of the study
COMMON = {"n_folds": 4, "labeler_params": {"c2": 1.0, "max_iterations": 100}}

#: ablation: part -> the recognizer parameters without it (on a one-stage recognizer)
PARTS = {
    "BIOES encoding (vs IOB2)": {"encoding": "iob2"},
    "POS / chunk columns": {"columns": ()},
    "truecasing and capitalization context": {"truecase": False, "capitalization": False},
    "NLTK gazetteers": {"gazetteer": None},
    "training-data lists": {"train_lists": False},
    "document features (case and context of other mentions)": {"document_features": False},
    "context aggregation": {"context_words": 0},
    "Brown clusters": {"clusters": None},
    "HMM type distributions": {"hmm": None},
    "word-vector clusters": {"word_clusters": None},
}

PRESETS: dict[str, dict[str, Any]] = {
    "full": {"max_sentences": None, "max_text_sentences": None, "clusters_scale": 1.0,
             "hmm_iterations": HMM_ITERATIONS, "max_iterations": None,
             "curve": (0.0, 0.125, 0.25, 0.5, 1.0)},
    "quick": {"max_sentences": 400, "max_text_sentences": 2000, "clusters_scale": 0.1,
              "hmm_iterations": 3, "max_iterations": 15, "curve": (0.0, 1.0)},
}


# ----------------------------------------------------------------------------- data
def _conll2002(root: Path, name: str):
    from ..io import read_conll

    path = root / "nltk_data" / "corpora" / "conll2002.zip"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the NER study needs CoNLL-2002 (NLTK's "
                                f"conll2002.zip) and CoNLL-2003 under DATA/conll2003/")
    with zipfile.ZipFile(path) as z:
        text = z.read(f"conll2002/{name}").decode("utf-8")
    return read_conll(io.StringIO(text), name=f"{path}:conll2002/{name}")


def _conll2003(root: Path, name: str):
    from ..io import read_conll

    path = root / "conll2003" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the NER study needs CoNLL-2003 under "
                                f"DATA/conll2003/ (see the data README)")
    return read_conll(path)


def load_ner_data(root, lang: str) -> dict:
    """``train``, ``dev``, ``test`` corpora of ``lang`` (columns by index as in the files:
    ``word``, ``col1`` ...), read with the CoNLL reader (``-DOCSTART-`` lines are document
    boundaries)."""
    root = Path(root)
    spec = LANGUAGES[lang]
    read = (lambda n: _conll2003(root, n)) if lang == "eng" else (lambda n: _conll2002(root, n))
    return dict(zip(("train", "dev", "test"), map(read, spec["files"])))


def nltk_sentences(root: Path, names) -> list:
    """Sentences of NLTK's raw-text corpora (``abc``, ``webtext`` ...) and of the words of
    its tagged ones (``brown``), for the models learned without labels."""
    from ..io import NLTK_TEXT_CORPORA, NLTK_TREEBANK_TEXTS, load_nltk, load_nltk_text

    out: list = []
    for name in names:
        if name in NLTK_TEXT_CORPORA + NLTK_TREEBANK_TEXTS:
            out += load_nltk_text(name, data_dir=root).sentences
        else:
            out += load_nltk(name, data_dir=root).sentences
    return out


def without_overlap(sentences, held_out, n: int | None = None) -> list:
    """``sentences`` less those that share a run of ``n`` tokens (default
    :data:`OVERLAP_NGRAM`) with a sentence of ``held_out`` (the dev and test sets): text of
    the same period and source is kept, but no dev or test sentence is learned from."""
    n = OVERLAP_NGRAM if n is None else n
    grams = _runs(held_out, n)
    return [s for s in sentences if not _overlaps(s, grams, n)]


def _runs(sentences, n: int) -> set:
    """Every run of ``n`` tokens of ``sentences``."""
    return {tuple(s[i:i + n]) for s in sentences for i in range(len(s) - n + 1)}


def _overlaps(sentence, runs: set, n: int) -> bool:
    """Whether ``sentence`` has a run of ``n`` tokens among ``runs``."""
    return any(tuple(sentence[i:i + n]) in runs for i in range(len(sentence) - n + 1))


class TextFile:
    """The sentences of one unlabeled file (:func:`hmmtl.io.iter_unlabeled`: raw or tokenized
    text, JSON lines, gzip) less those that share a run of ``n`` tokens with a sentence of
    ``held_out`` (as :func:`without_overlap`), read again each time it is iterated, never
    held: a file of millions of tokens costs the study its reading, not its memory.

    Attributes
    ----------
    n_sentences, n_tokens : int or None
        What the last complete reading gave (None before one).
    """

    def __init__(self, path, held_out=(), n: int | None = None,
                 max_sentences: int | None = None):
        self.path = path
        self.n = OVERLAP_NGRAM if n is None else n
        self.max_sentences = max_sentences
        self._grams = _runs(held_out, self.n)
        self.n_sentences: int | None = None
        self.n_tokens: int | None = None

    def first(self, max_sentences: int) -> TextFile:
        """This text's first ``max_sentences`` sentences (after the overlap is left out)."""
        out = copy.copy(self)
        out.max_sentences = max_sentences
        out.n_sentences = out.n_tokens = None
        return out

    def __iter__(self):
        from ..io import iter_unlabeled

        n, grams = self.n, self._grams
        n_sentences = n_tokens = 0
        for s in iter_unlabeled(self.path):
            if grams and _overlaps(s, grams, n):
                continue
            if self.max_sentences is not None and n_sentences >= self.max_sentences:
                break
            n_sentences += 1
            n_tokens += len(s)
            yield s
        self.n_sentences, self.n_tokens = n_sentences, n_tokens


class Texts:
    """Several sources of sentences (token lists, or streams read again each time such as
    :class:`TextFile`) read one after the other, as one stream that can be read again
    (``n_sentences``: their number, once a reading has counted them)."""

    def __init__(self, parts):
        self.parts = list(parts)
        self.n_sentences: int | None = None

    def __iter__(self):
        for part in self.parts:
            yield from part

    def __bool__(self) -> bool:
        # a stream (a file, the user's text) counts as text without being read
        return any(not hasattr(p, "__len__") or len(p) for p in self.parts)


def _n_tokens(part) -> int:
    """Tokens of a source (a stream: of its last reading)."""
    if isinstance(part, TextFile):
        return int(part.n_tokens or 0)
    return int(sum(map(len, part)))


def unlabeled_text(root, lang: str, train=None, files=()) -> dict:
    """The unlabeled text of ``lang`` by source: {name: token lists, or a :class:`TextFile`}.

    Spanish and Dutch: the training file's words and the texts of :data:`EXTRA_TEXTS`, less
    every sentence that shares a run of :data:`OVERLAP_NGRAM` tokens with a dev or test
    sentence (:func:`without_overlap`).  ``files``: more text (paths read by
    :func:`hmmtl.io.iter_unlabeled`: raw or tokenized text, JSON lines, gzip), each a source
    of its own (its file name), less the same overlap, streamed (:class:`TextFile`: never
    held as token lists)."""
    from ..io import read_conllu

    root = Path(root)
    extra = EXTRA_TEXTS.get(lang, ()) if lang != "eng" else ()
    data = load_ner_data(root, lang) if train is None or extra or files else {}
    if train is None:
        train = data["train"]
    if lang != "eng":
        out = {f"{lang}.train": train.sentences}
    else:
        out = {name: nltk_sentences(root, [name]) for name in ENGLISH_TEXTS
               if name not in ("ewt", "eng.train")}
        out["ewt"] = [s for p in sorted((root / "ud" / "en_ewt").glob("en_ewt-*-train.conllu"))
                      for s in read_conllu(p).sentences]
        out["eng.train"] = train.sentences
    # the held-out text: NLTK's treebanks of the language, then the files, each less the
    # sentences that overlap dev or test
    held_out = data["dev"].sentences + data["test"].sentences if extra or files else []
    for name in extra:
        out[name] = without_overlap(nltk_sentences(root, [name]), held_out)
    for path in files:
        out[Path(path).name] = TextFile(path, held_out)
    return out


# ----------------------------------------------------------------------------- models
def _inputs(corpus, lang: str):
    spec = LANGUAGES[lang]
    columns = {name: corpus.column(index) for name, index in spec["columns"].items()}
    documents = list(corpus.doc_ids) if spec["documents"] else None
    return columns, documents


def _gold(corpus, lang: str):
    return corpus.column(LANGUAGES[lang]["label"])


def _recognizer(lang: str, parts: dict, representations, gazetteer, max_iterations=None):
    from ..ner import NamedEntityRecognizer

    clusters, hmm, *vectors = representations  # (clusters, hmm[, word-vector clusters])
    params = {**COMMON, **RECIPES[lang]["recognizer"], "clusters": clusters, "hmm": hmm,
              "word_clusters": vectors[0] if vectors else None, **parts}
    # a recipe's (and the parts') labeler_params change COMMON's key by key
    params["labeler_params"] = {**cast(dict, COMMON["labeler_params"]),
                                **RECIPES[lang]["recognizer"].get("labeler_params", {}),
                                **parts.get("labeler_params", {})}
    params["columns"] = {k: v for k, v in LANGUAGES[lang]["columns"].items()
                         if k in parts.get("columns", LANGUAGES[lang]["columns"])}
    if params.get("gazetteer") == "nltk":
        params["gazetteer"] = gazetteer
    if max_iterations is not None:
        params["labeler_params"] = {**params["labeler_params"], "max_iterations": max_iterations}
    return NamedEntityRecognizer(**params)


def _evaluate(model, corpus, lang: str) -> dict:
    from ..metrics import entity_scores

    columns, documents = _inputs(corpus, lang)
    t = time.perf_counter()
    pred = model.predict(corpus.sentences, columns=columns, documents=documents)
    seconds = time.perf_counter() - t
    s = entity_scores(_gold(corpus, lang), pred)
    n_tokens = int(sum(map(len, corpus.sentences)))
    return {"f1": s.f1, "precision": s.precision, "recall": s.recall, "n_tokens": n_tokens,
            "tokens_per_s": n_tokens / seconds if seconds > 0 else None,
            "per_type": s.per_type}


def _fit(model, corpus, lang: str, unlabeled):
    columns, documents = _inputs(corpus, lang)
    return model.fit(corpus.sentences, _gold(corpus, lang), columns=columns,
                     documents=documents, unlabeled=unlabeled)


def _min_count(n_sentences: int) -> int:
    """The clusters' and the HMM's least count of a word, by the sentences they learn from
    (:func:`hmmtl.ner.clusters.least_count`)."""
    from ..ner.clusters import least_count

    return least_count(n_sentences)


def word_vectors(lang: str, seed: int = 0, progress: bool = False, scale: float = 1.0):
    """The word-vector clusters of ``lang``'s recipe (:data:`RECIPES`, ``"word_vectors"``)
    to learn (:class:`hmmtl.ner.vectors.WordVectorClusters`, not fitted; their numbers of
    clusters times ``scale``, as a preset's Brown clusters), or None."""
    spec = RECIPES[lang].get("word_vectors")
    if not spec:
        return None
    from ..ner.vectors import WordVectorClusters

    ks = tuple(max(2, int(k * scale)) for k in spec["n_clusters"])
    return WordVectorClusters(**{"random_state": seed, **spec, "n_clusters": ks},
                              verbose=progress)


def learn_representations(text, n_clusters: int, n_states: int, n_iter: int,
                          progress: bool, word_vectors=None) -> tuple:
    """The Brown clusters and the HMM of a recipe learned on ``text`` (token lists, or a
    stream read again such as :class:`Texts`): the same clusters and HMM as :func:`_clusters`
    and :func:`_hmm` on the text as one list, read in one pass a chunk at a time and kept as
    counts (the clusters' words and word pairs) and as word ids (the HMM's text, 4 bytes a
    token), never as token lists.  ``word_vectors`` (a
    :class:`~hmmtl.ner.vectors.WordVectorClusters`, :func:`word_vectors`) learns in the same
    reading, from the HMM's word ids.

    Returns
    -------
    (BrownClusters, CategoricalHMM, dict)
        The clusters, the HMM and the seconds of each (``"clusters"``: counting the words
        and pairs and the clustering; ``"hmm"``: encoding the words and EM; ``"vectors"``:
        the word vectors and their clusters), with the number of sentences read
        (``"sentences"``).
    """
    from ..data import Vocabulary, sentence_chunks
    from ..hmm import CategoricalHMM
    from ..ner.clusters import BigramCounter, BrownClusters
    from ..transfer.pipeline import STREAM_CHUNK, EncodedText, TextBatch

    seconds = {"clusters": 0.0, "hmm": 0.0}
    counter = BigramCounter()
    encoded = EncodedText()
    for chunk in sentence_chunks(text, STREAM_CHUNK):
        t0 = time.perf_counter()
        counter.update(chunk)
        t1 = time.perf_counter()
        encoded.add(TextBatch.of(chunk))
        seconds["clusters"] += t1 - t0
        seconds["hmm"] += time.perf_counter() - t1
    if word_vectors is not None:
        t0 = time.perf_counter()
        word_vectors._fit_encoded(encoded)
        seconds["vectors"] = time.perf_counter() - t0
    min_count = _min_count(encoded.n_sentences)
    t0 = time.perf_counter()
    clusters = BrownClusters(n_clusters=n_clusters, min_count=min_count,
                             verbose=progress)._fit_counter(counter)
    del counter
    t1 = time.perf_counter()
    hmm = CategoricalHMM(n_states=n_states, n_iter=n_iter, min_count=min_count,
                         random_state=0, verbose=progress)
    vocabulary = Vocabulary(min_count=hmm.min_count, max_size=hmm.max_vocab,
                            lowercase=hmm.lowercase)
    ids = encoded.encode(vocabulary)
    encoded.release()
    hmm.set_params(n_features=len(vocabulary)).fit(ids)
    hmm.vocabulary_ = vocabulary  # a model of the words, as if fit on them
    hmm.set_params(n_features=None)
    seconds["clusters"] += t1 - t0
    seconds["hmm"] += time.perf_counter() - t1
    seconds["sentences"] = encoded.n_sentences
    return clusters, hmm, seconds


def _clusters(text: list, n_clusters: int, progress: bool):
    from ..ner.clusters import BrownClusters

    return BrownClusters(n_clusters=n_clusters, min_count=_min_count(len(text)),
                         verbose=progress).fit(text)


def _hmm(text: list, n_states: int, n_iter: int, progress: bool):
    from ..hmm import CategoricalHMM

    return CategoricalHMM(n_states=n_states, n_iter=n_iter, min_count=_min_count(len(text)),
                          random_state=0, verbose=progress).fit(text)


class _Sample:
    """A random ``fraction`` of the sentences of a stream ``text`` of ``n_total`` sentences
    (``round(fraction * n_total)`` of them, drawn without replacement by
    ``RandomState(seed)``, in the text's order: the sentences the curve drew when it held the
    text as a list), as a stream read again each time (``n_tokens``: the tokens of the last
    reading)."""

    def __init__(self, text, n_total: int, fraction: float, seed: int = 0):
        n = round(fraction * n_total)
        self.keep = np.zeros(n_total, dtype=bool)
        self.keep[np.random.RandomState(seed).choice(n_total, size=n, replace=False)] = True
        self.text = text
        self.n_sentences = n
        self.n_tokens = 0

    def __iter__(self):
        keep, n_tokens = self.keep, 0
        for i, s in enumerate(self.text):
            if keep[i]:
                n_tokens += len(s)
                yield s
        self.n_tokens = n_tokens


# ----------------------------------------------------------------------------- the study
def train_recognizer(root, lang: str, data: dict | None = None, *, preset=None,
                     gazetteer=None, progress: bool = False, lexicon=None, unlabeled=()):
    """Learn the Brown clusters and the HMM of ``lang`` on its unlabeled text and train its
    recognizer of :data:`RECIPES`.

    Parameters
    ----------
    root : path
        The corpora folder.
    lang : {"eng", "esp", "ned"}
    data : dict, optional
        :func:`load_ner_data`'s corpora (read here when None).
    preset : dict, optional
        An entry of :data:`PRESETS` (default ``"full"``).
    gazetteer : Gazetteer, optional
        The NLTK lists (read here when None).
    lexicon : Lexicon, optional
        Large name lists (:func:`read_lexicon`) as the recognizer's ``lexicon``.
    unlabeled : sequence of paths
        More unlabeled text of ``lang`` (:func:`unlabeled_text`'s ``files``).

    Returns
    -------
    model : NamedEntityRecognizer
    info : dict
        Seconds (``clusters_s``, ``hmm_s``, ``fit_s``, ``total_s``, ``fit_parts_s``), the
        clusters' size and the unlabeled text's tokens by source.
    parts : tuple
        (clusters, HMM), the text of the automatic lists and the unlabeled text.
    """
    from ..ner.gazetteers import Gazetteer, load_nltk_gazetteers

    cfg = preset or PRESETS["full"]
    root = Path(root)
    if data is None:
        data = load_ner_data(root, lang)
    if gazetteer is None:
        gazetteer = Gazetteer(load_nltk_gazetteers(root))
    text = unlabeled_text(root, lang, data["train"], unlabeled)
    if cfg["max_text_sentences"]:
        text = {k: (v[: cfg["max_text_sentences"]] if isinstance(v, list) else
                    v.first(cfg["max_text_sentences"])) for k, v in text.items()}
    # the files are streamed (read again by each part that learns from them, never held)
    cluster_text = Texts(text.values())
    # the automatic lists come from text other than the training sentences
    auto_text = Texts(part for name, part in text.items() if not name.endswith(".train"))
    recipe = RECIPES[lang]
    n_clusters = max(2, int(recipe["clusters"] * cfg["clusters_scale"]))
    n_states = max(2, int(recipe["hmm_states"] * cfg["clusters_scale"]))
    if progress:
        print(f"[ner study] {lang}: Brown clusters (C={n_clusters}) and an HMM ({n_states} "
              f"states) on the unlabeled text, then the recognizer", flush=True)
    vectors = word_vectors(lang, progress=progress, scale=cfg["clusters_scale"])
    clusters, hmm, seconds = learn_representations(cluster_text, n_clusters, n_states,
                                                   cfg["hmm_iterations"], progress,
                                                   word_vectors=vectors)
    t_clusters, t_hmm = seconds["clusters"], seconds["hmm"]
    cluster_text.n_sentences = seconds["sentences"]
    parts = {} if lexicon is None else {"lexicon": lexicon}
    model = _recognizer(lang, parts, (clusters, hmm, vectors), gazetteer,
                        cfg["max_iterations"])
    t0 = time.perf_counter()
    _fit(model, data["train"], lang, auto_text if auto_text else None)
    t_fit = time.perf_counter() - t0
    info = {"clusters_s": t_clusters, "hmm_s": t_hmm, "fit_s": t_fit,
            "total_s": t_clusters + t_hmm + seconds.get("vectors", 0.0) + t_fit,
            "fit_parts_s": dict(model.fit_times_),
            "n_clusters": n_clusters, "n_states": n_states,
            "cluster_words": len(clusters.words_),
            "unlabeled_tokens": {k: _n_tokens(v) for k, v in text.items()}}
    if vectors is not None:
        info["vectors_s"] = seconds["vectors"]
        info["vector_words"] = len(vectors.words_)
    return model, info, ((clusters, hmm, vectors), auto_text, cluster_text)


def run_ner(data_dir=None, out_dir="results/ner", quick: bool = False, *,
            preset: str | None = None, languages=("eng", "esp", "ned"), ablation: bool = True,
            curve: bool = True, progress: bool = True, lexicon=None, unlabeled=()) -> dict:
    """Train, save and score the recognizers of :data:`RECIPES`; ablation and unlabeled-text
    curve.

    Parameters
    ----------
    data_dir : path, optional
        The corpora folder (default ``$HMMTL_DATA``).
    out_dir : path
        Where ``ner-<lang>.model``, ``ner.md``, ``ner.csv`` and ``ner.json`` are written
        (created if needed).
    quick : bool
        A smoke run (400 training sentences, small clusters, few iterations).
    languages : sequence of {"eng", "esp", "ned"}
    ablation : bool
        Measure each part's contribution on dev (one recognizer per part and language).
    curve : bool
        English: F1 against the fraction of the unlabeled text the clusters learn from.
    progress : bool
    lexicon : path or Lexicon, optional
        Name lists (a lexicon model file or a folder such as ``DATA/lexicon/en``, see
        :func:`read_lexicon`): every language's recognizer uses them (the lists of
        ``lexicon/en`` name the world's places, organisations and people, so they help
        Spanish and Dutch too), and the ablation measures each list's contribution
        (:func:`lexicon_contributions`).  Default: none (the recipe of :data:`RECIPES`).
    unlabeled : sequence of paths
        More English unlabeled text (raw or tokenized text, JSON lines with a ``"text"``
        field, gzip: :func:`hmmtl.io.read_unlabeled`) for the English clusters, HMM and
        automatic lists, beside :data:`ENGLISH_TEXTS`, less every sentence that shares a run
        of :data:`OVERLAP_NGRAM` tokens with a dev or test sentence.  Default: none.

    Returns
    -------
    dict
        ``models`` (per language: files, times, dev and test scores), ``ablation``,
        ``curve``, ``files``, ``markdown``.
    """
    from ..ner.gazetteers import Gazetteer, load_nltk_gazetteers
    from ..io.data_root import find_data_root
    from .report import write_json, write_text_atomic

    root = find_data_root(data_dir)
    if root is None:
        raise FileNotFoundError(f"no corpora folder: pass data_dir or set HMMTL_DATA "
                                f"(got data_dir={data_dir!r})")
    cfg = PRESETS[preset or ("quick" if quick else "full")]
    languages = list(languages)
    bad = [x for x in languages if x not in LANGUAGES]
    if bad:
        raise ValueError(f"languages must be among {sorted(LANGUAGES)}, got {bad}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gazetteer = Gazetteer(load_nltk_gazetteers(root))
    if lexicon is not None and not hasattr(lexicon, "match"):
        lexicon = read_lexicon(lexicon)

    def log(message):
        if progress:
            print(f"[ner study] {message}", flush=True)

    models, ablations, curves, lexicon_rows = {}, [], [], []
    for lang in languages:
        data = load_ner_data(root, lang)
        if cfg["max_sentences"]:
            data = {k: v[: cfg["max_sentences"]] for k, v in data.items()}
        # the lists are names of the world's places, organisations and people (English
        # Wikipedia, GeoNames): chosen on dev for every language (esp.testa +0.34, ned.testa
        # +1.68: benchmarks/results/ner_lexicon_es_nl.md)
        lex = lexicon
        model, info, (representations, auto_text, cluster_text) = train_recognizer(
            root, lang, data, preset=cfg, gazetteer=gazetteer, progress=progress, lexicon=lex,
            unlabeled=unlabeled if lang == "eng" else ())
        path = save_recognizer(model, out / f"ner-{lang}.model")
        models[lang] = {"file": str(path), **info,
                        "dev": _evaluate(model, data["dev"], lang),
                        "test": _evaluate(model, data["test"], lang)}
        log(f"{lang}: dev F1 {100 * models[lang]['dev']['f1']:.2f}, test F1 "
            f"{100 * models[lang]['test']['f1']:.2f} ({info['total_s']:.0f} s)")
        if ablation:
            ablations += _ablation(lang, data, representations, gazetteer, auto_text, cfg,
                                   models[lang]["dev"]["f1"], log)
            if lex is not None:
                lexicon_rows += [{"language": lang, **row} for row in lexicon_contributions(
                    data, lex, representations[0], gazetteer, lang=lang,
                    max_iterations=cfg["max_iterations"], log=log)]
        if curve and lang == "eng":
            curves += _curve(lang, data, cluster_text, info["n_clusters"], representations,
                             gazetteer, cfg, log)
    result = {"models": models, "ablation": ablations, "curve": curves,
              "lexicon": lexicon_rows,
              "config": {"recipes": RECIPES, "common": COMMON, "preset": cfg,
                         "languages": languages,
                         "unlabeled": [str(Path(f).name) for f in unlabeled or ()],
                         "lexicon": None if lexicon is None else lexicon.names}}
    files = {"markdown": out / "ner.md", "csv": out / "ner.csv", "json": out / "ner.json"}
    markdown = _markdown(result)
    write_text_atomic(files["markdown"], markdown)
    write_text_atomic(files["csv"], _csv(result))
    write_json(result, files["json"])
    result["files"] = {k: str(v) for k, v in files.items()}
    result["markdown"] = markdown
    return result


def _ablation(lang, data, representations, gazetteer, auto_text, cfg, full_dev_f1,
              log) -> list:
    """Dev F1 of a one-stage recognizer with every part, and with each part left out; the
    second stage: the two-stage model (``full_dev_f1``) against the one-stage one."""
    rows = []

    def fit_score(parts):
        model = _recognizer(lang, {"two_stage": False, **parts}, representations, gazetteer,
                            cfg["max_iterations"])
        t = time.perf_counter()
        _fit(model, data["train"], lang, None)
        return _evaluate(model, data["dev"], lang)["f1"], time.perf_counter() - t

    base, seconds = fit_score({})
    rows.append({"language": lang, "part": "first stage, all parts", "dev_f1": base,
                 "delta": None, "fit_s": seconds})
    for part, params in PARTS.items():
        if part == "POS / chunk columns" and not LANGUAGES[lang]["columns"]:
            continue
        if part.startswith("document") and not LANGUAGES[lang]["documents"]:
            continue
        if part == "word-vector clusters" and not RECIPES[lang].get("word_vectors"):
            continue
        f1, seconds = fit_score(params)
        log(f"{lang}: without {part}: dev F1 {100 * f1:.2f} ({100 * (base - f1):+.2f})")
        rows.append({"language": lang, "part": part, "dev_f1": f1, "delta": base - f1,
                     "fit_s": seconds})
    rows.append({"language": lang, "part": "second stage (+ automatic lists)" if
                 RECIPES[lang]["recognizer"].get("auto_lists") and auto_text else
                 "second stage", "dev_f1": full_dev_f1, "delta": full_dev_f1 - base,
                 "fit_s": None})
    return rows


def _curve(lang, data, text, n_clusters, representations, gazetteer, cfg, log) -> list:
    """Dev and test F1 of a one-stage recognizer without HMM whose clusters learn from a
    fraction of the unlabeled text (0: no clusters)."""
    from ..ner.clusters import BrownClusters

    rows = []
    full_clusters = representations[0]
    n_total = text.n_sentences if isinstance(text, Texts) else len(text)
    if n_total is None:
        n_total = sum(1 for _ in text)
    total_tokens = None
    for fraction in cfg["curve"]:
        if fraction <= 0:
            clusters, tokens = None, 0
        elif fraction >= 1:
            if total_tokens is None:
                total_tokens = sum(map(len, text))
            clusters, tokens = full_clusters, total_tokens
        else:  # a random part, streamed (the same clusters as on the part as a list)
            part = _Sample(text, n_total, fraction)
            clusters = BrownClusters(n_clusters=n_clusters,
                                     min_count=_min_count(part.n_sentences)).fit_stream(part)
            tokens = part.n_tokens
        model = _recognizer(lang, {"two_stage": False}, (clusters, None), gazetteer,
                            cfg["max_iterations"])
        _fit(model, data["train"], lang, None)
        row = {"language": lang, "fraction": fraction, "tokens": int(tokens),
               "dev_f1": _evaluate(model, data["dev"], lang)["f1"],
               "test_f1": _evaluate(model, data["test"], lang)["f1"]}
        log(f"{lang}: clusters on {row['tokens']} tokens: dev F1 {100 * row['dev_f1']:.2f}, "
            f"test F1 {100 * row['test_f1']:.2f}")
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- tables
def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _markdown(result: dict) -> str:
    lines = ["# Named-entity recognition", ""]
    models = result["models"]
    types = sorted({t for m in models.values() for s in ("dev", "test")
                    for t in m[s]["per_type"]})
    lines += ["| language | dev F1 | test F1 | " + " | ".join(f"test {t}" for t in types) +
              " | training (clusters + HMM + CRFs) | tagging tok/s (test) |",
              "|---" * (5 + len(types)) + "|"]
    for lang, m in models.items():
        per = [_pct(m["test"]["per_type"].get(t, {}).get("f1")) for t in types]
        lines.append(f"| {LANGUAGES[lang]['name']} | {_pct(m['dev']['f1'])} | "
                     f"{_pct(m['test']['f1'])} | " + " | ".join(per) +
                     f" | {m['total_s']:.0f} s ({m['clusters_s']:.0f} + {m['hmm_s']:.0f} + "
                     f"{m['fit_s']:.0f}) | "
                     f"{m['test']['tokens_per_s']:,.0f} |")
    total = sum(m["total_s"] for m in models.values())
    lines += ["", f"Training all models: {total / 60:.1f} minutes.", ""]
    for lang, m in models.items():
        lines += [f"## {LANGUAGES[lang]['name']}", "",
                  "| split | type | precision | recall | F1 | gold entities |",
                  "|---|---|---|---|---|---|"]
        for split in ("dev", "test"):
            s = m[split]
            for t, v in s["per_type"].items():
                lines.append(f"| {split} | {t} | {_pct(v['precision'])} | "
                             f"{_pct(v['recall'])} | {_pct(v['f1'])} | {v['support']} |")
            lines.append(f"| {split} | all | {_pct(s['precision'])} | {_pct(s['recall'])} | "
                         f"{_pct(s['f1'])} | |")
        text = ", ".join(f"{k} {v:,}" for k, v in m["unlabeled_tokens"].items())
        lines += ["", f"Unlabeled text (tokens): {text}.  Brown clusters: C = "
                      f"{m['n_clusters']}, {m['cluster_words']:,} words; HMM: "
                      f"{m['n_states']} states.  Recognizer fit time by part "
                      f"(s): " + ", ".join(f"{k} {v:.0f}" for k, v in
                                           m["fit_parts_s"].items()) + ".", ""]
    if result["ablation"]:
        lines += ["## Contribution of each part (dev F1)", "",
                  "Each part is left out of a one-stage recognizer with all the others; the "
                  "second stage is the final model against that one-stage recognizer.", "",
                  "| language | part | dev F1 | contribution |", "|---|---|---|---|"]
        for r in result["ablation"]:
            delta = "" if r["delta"] is None else f"{100 * r['delta']:+.2f}"
            lines.append(f"| {r['language']} | {r['part']} | {_pct(r['dev_f1'])} | {delta} |")
        lines.append("")
    if result["curve"]:
        lines += ["## F1 against the amount of unlabeled text (English, one stage)", "",
                  "Brown clusters learned on a random part of the unlabeled text (same C), "
                  "no HMM, one stage; 0: no clusters.", "",
                  "| fraction | tokens | dev F1 | test F1 |", "|---|---|---|---|"]
        for r in result["curve"]:
            lines.append(f"| {r['fraction']:g} | {r['tokens']:,} | {_pct(r['dev_f1'])} | "
                         f"{_pct(r['test_f1'])} |")
        lines.append("")
    if result.get("lexicon"):
        lines += ["## Contribution of each name list (dev F1, one stage)", "",
                  "One-stage recognizers (no HMM) with the whole lexicon, without it, and "
                  "with each list left out; contribution: what leaving it out costs.", "",
                  "| language | part | entries | dev F1 | contribution |",
                  "|---|---|---|---|---|"]
        for r in result["lexicon"]:
            delta = "" if r["delta"] is None else f"{100 * r['delta']:+.2f}"
            lines.append(f"| {r['language']} | {r['part']} | {r['n_entries']:,} | "
                         f"{_pct(r['dev_f1'])} | {delta} |")
        lines.append("")
    return "\n".join(lines)


def _csv(result: dict) -> str:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["table", "language", "setting", "split", "type", "precision", "recall", "f1",
                "seconds"])
    for lang, m in result["models"].items():
        for split in ("dev", "test"):
            s = m[split]
            w.writerow(["model", lang, "final", split, "all", s["precision"], s["recall"],
                        s["f1"], m["total_s"]])
            for t, v in s["per_type"].items():
                w.writerow(["model", lang, "final", split, t, v["precision"], v["recall"],
                            v["f1"], ""])
    for r in result["ablation"]:
        w.writerow(["ablation", r["language"], r["part"], "dev", "all", "", "", r["dev_f1"],
                    "" if r["fit_s"] is None else r["fit_s"]])
    for r in result["curve"]:
        for split in ("dev", "test"):
            w.writerow(["curve", r["language"], f"{r['fraction']:g} ({r['tokens']} tokens)",
                        split, "all", "", "", r[f"{split}_f1"], ""])
    return buf.getvalue()


#: what a recognizer's model file records about its columns, as ``hmmtl train`` records
#: it: ``hmmtl tag`` and ``evaluate`` find the entity column of CoNLL and CoNLL-U files
#: by it (its input columns are recorded by meaning in the model itself)
RECOGNIZER_INFO = {"tag_column": "ner", "tag_meaning": "ner"}


def save_recognizer(model, path) -> Path:
    """Save a recognizer with the tag column recorded (:data:`RECOGNIZER_INFO`)."""
    from ..serialize import save

    return save(model, path, info=RECOGNIZER_INFO)


# ----------------------------------------------------------------------------- lexicon
def read_lexicon(path):
    """A :class:`~hmmtl.ner.gazetteers.Lexicon` from a model file (``Lexicon.save``) or from a
    folder of lists (``lexicon/en/``, or the data folder that holds it)."""
    from ..ner.gazetteers import Lexicon, load_lexicon

    path = Path(path)
    if path.is_file():
        return Lexicon.load(path)
    if path.is_dir():
        return load_lexicon(path)
    raise FileNotFoundError(f"--lexicon {path}: no such file or folder; expected a lexicon "
                            f"model file or a folder of lists such as DATA/lexicon/en")


def lexicon_contributions(data: dict, lexicon, clusters=None, gazetteer=None, *,
                          lang: str = "eng", max_iterations=None, log=print) -> list:
    """Dev F1 of one-stage recognizers (the recipe of ``lang``, no HMM) without the
    lexicon, with all its lists, and with each list left out; the contribution of a list
    is what leaving it out costs.

    Returns
    -------
    list of dict
        ``{"part", "dev_f1", "delta", "fit_s", "n_entries"}``; ``delta`` against all lists
        (for "no lexicon": what the whole lexicon gives).
    """
    def fit_score(lex):
        model = _recognizer(lang, {"two_stage": False, "lexicon": lex}, (clusters, None),
                            gazetteer, max_iterations)
        t = time.perf_counter()
        _fit(model, data["train"], lang, None)
        return _evaluate(model, data["dev"], lang)["f1"], time.perf_counter() - t

    rows = []
    full, seconds = fit_score(lexicon)
    rows.append({"part": "all lists", "dev_f1": full, "delta": None, "fit_s": seconds,
                 "n_entries": lexicon.n_entries})
    log(f"{lang}: all lists: dev F1 {100 * full:.2f} ({seconds:.0f} s)")
    f1, seconds = fit_score(None)
    rows.append({"part": "no lexicon", "dev_f1": f1, "delta": full - f1, "fit_s": seconds,
                 "n_entries": 0})
    log(f"{lang}: no lexicon: dev F1 {100 * f1:.2f} ({100 * (full - f1):+.2f})")
    for name in lexicon.names:
        rest = lexicon.subset([n for n in lexicon.names if n != name])
        f1, seconds = fit_score(rest)
        rows.append({"part": f"without {name}", "dev_f1": f1, "delta": full - f1,
                     "fit_s": seconds, "n_entries": lexicon.list_sizes()[name]})
        log(f"{lang}: without {name}: dev F1 {100 * f1:.2f} ({100 * (full - f1):+.2f})")
    return rows
