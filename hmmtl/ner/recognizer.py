"""Named-entity recognition: a two-stage CRF with word clusters, gazetteers and document-level
evidence, in the manner of the classical systems (Ratinov & Roth 2009; Krishnan & Manning
2006; Turian et al. 2010).

:class:`NamedEntityRecognizer` puts together reusable parts of hmmtl:

* entities encoded as BIOES (= BILOU: Begin, Inside, Last, Outside, Unit) and decoded under
  the scheme's constraints;
* word representations learned on unlabeled text: Brown cluster path prefixes
  (:class:`hmmtl.ner.clusters.BrownClusters`) and HMM type-level state distributions
  (:class:`hmmtl.hmm.CategoricalHMM`);
* gazetteers (:class:`hmmtl.ner.gazetteers.Gazetteer`): external lists, lists of the entities of
  the training labels (each training sentence sees only the entries found in the other
  cross-validation folds), and lists of the entities the first stage finds in unlabeled text;
* capitalization context: sentence-initial words, all-caps and title-case (headline)
  sentences, whose words are also *truecased* (replaced by their most frequent form in
  ordinary sentences of the text: ``"JAPAN"`` -> ``"Japan"``, ``"GET"`` -> ``"get"``) before
  any word feature is computed;
* document-level evidence: how the other occurrences of a word in the same document are
  capitalized, and, in a second stage, which entity types the first stage gave them (the
  second stage is trained on first-stage labels predicted by cross-validation, so that it
  sees labels as noisy as at test time);
* the columns of the input file (POS tags, chunk tags) at offsets -1, 0, +1, or, for text
  that has no such column (raw text), the column predicted by a tagger embedded in the
  model (``column_taggers``): a CRF trained on the training file's column, whose
  cross-validated predictions are the column the recognizer is trained on (stacking,
  Wolpert 1992), so that it learns from tags as noisy as those it gets when tagging.

Every per-token feature is computed once per word type or by vectorized / compiled code over
the whole batch; the labelers gather them in compiled code.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import serialize
from .._base import BaseEstimator, check_is_fitted, check_random_state
from .._text_api import TextTagging
from ..crf.features import share_featurizers
from ..crf.labelers import converted_for
from ..data import (check_sentences, factorize, flatten, rereadable, sentence_chunks,
                    token_positions, unflatten)
from ..io.columns import check_input_columns as _check_columns

if TYPE_CHECKING:

    from .._typing import LabelLists, TokenLists

__all__ = ["NamedEntityRecognizer", "capitalization_context", "CaseTable",
           "aggregate_in_documents", "document_index", "document_case_features",
           "document_type_features", "document_context_features", "ENCODINGS"]

#: label encodings the recognizer trains on (BILOU is BIOES with other letters)
ENCODINGS = ("bioes", "iob2")
_SENT_INITIAL, _CAPS_SENTENCE, _TITLE_SENTENCE = 0, 1, 2
_WORD = re.compile(r"\w", re.UNICODE)


# ============================================================================ capitalization
def _type_case(types: Sequence[str]) -> np.ndarray:
    """Per type: 0 no letter, 1 all caps, 2 capitalized (first letter upper), 3 lowercase
    (or mixed starting lower); string methods mapped over the types in C.

    >>> _type_case(["NATO", "12", "Paris", "iPod", ""]).tolist()
    [1, 0, 2, 3, 0]
    """
    n = len(types)
    upper = np.fromiter(map(str.isupper, types), bool, n)
    uncased = np.fromiter(map(str.__eq__, map(str.lower, types), map(str.upper, types)), bool,
                          n)
    first_upper = np.fromiter(map(str.isupper, [w[:1] for w in types]), bool, n)
    out = np.where(first_upper, 2, 3).astype(np.int8)
    out[uncased] = 0
    out[upper] = 1
    return out


class _Types:
    """The distinct types of a batch of tokens and what is known of each, computed once:
    ``types``, each token's type index ``ids``, each token's lowercased-form id ``keys``,
    per type its case class (:func:`_type_case`) and whether it holds a letter or digit."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = tokens
        self.types, self.ids = factorize(tokens)
        self.lower = list(map(str.lower, self.types))
        _, lower_of_type = factorize(self.lower)
        self.keys = lower_of_type[self.ids]
        self.type_case = _type_case(self.types)
        self.type_word = np.fromiter(map(bool, map(_WORD.search, self.types)), bool,
                                     len(self.types))


class _SentenceCase:
    """Case classes of a batch: per token (``case``: see :func:`_type_case`), whether it is
    the first word of its sentence, and whether its sentence is all caps or title case."""

    def __init__(self, types: _Types, offsets):
        self.case = types.type_case[types.ids]
        is_word = types.type_word[types.ids]
        n_seq = offsets.shape[0] - 1
        lengths = np.diff(offsets)
        seq = np.repeat(np.arange(n_seq), lengths)
        # first word: the first token with a letter or digit (after quotes, dashes)
        before = np.cumsum(is_word) - is_word
        start_count = np.repeat(before[offsets[:-1][lengths > 0]] if n_seq else before[:0],
                                lengths[lengths > 0])
        self.first_word = is_word & (before == start_count)
        letters = self.case > 0
        n_letters = np.bincount(seq, weights=letters, minlength=n_seq)
        n_caps = np.bincount(seq, weights=self.case == 1, minlength=n_seq)
        rest = letters & ~self.first_word
        n_rest = np.bincount(seq, weights=rest, minlength=n_seq)
        n_cap_rest = np.bincount(seq, weights=rest & (self.case <= 2), minlength=n_seq)
        caps = (n_letters >= 1) & (n_caps >= 0.8 * n_letters)
        title = ~caps & (n_rest >= 3) & (n_cap_rest >= 0.8 * n_rest)
        self.caps_sentence = caps[seq]
        self.title_sentence = title[seq]

    @property
    def reliable(self) -> np.ndarray:
        """Tokens whose case is informative: not first words, not in caps / title
        sentences."""
        return ~(self.first_word | self.caps_sentence | self.title_sentence)

    def context(self) -> np.ndarray:
        """See :func:`capitalization_context`."""
        out = np.full((self.case.shape[0], 2), -1, dtype=np.int32)
        out[self.first_word, 0] = _SENT_INITIAL
        out[self.caps_sentence, 1] = _CAPS_SENTENCE
        out[self.title_sentence, 1] = _TITLE_SENTENCE
        return out


def capitalization_context(sentences=None, *, tokens=None, offsets=None) -> np.ndarray:
    """Capitalization context of each token, as categorical ids (``-1`` none).

    Column 0: ``0`` for the first word of a sentence (the first token with a letter or
    digit); column 1: ``1`` in an all-caps sentence (at least 80 % of its tokens with
    letters are upper case), ``2`` in a title-case sentence (a headline: at least 80 % of
    its non-initial words with letters are capitalized, and at least three of them).

    >>> capitalization_context([["JAPAN", "GET", "WIN"], ["He", "saw", "Rome"]]).tolist()
    [[0, 1], [-1, 1], [-1, 1], [0, -1], [-1, -1], [-1, -1]]
    """
    if tokens is None:
        tokens, offsets = flatten(sentences)
    return _SentenceCase(_Types(tokens), np.asarray(offsets, dtype=np.int64)).context()


class CaseTable:
    """The usual case of each word: its most frequent form where case is informative (not
    a first word, not in an all-caps or title-case sentence).

    :meth:`apply` rewrites the words of all-caps and title-case sentences in their usual
    case (truecasing), so that ``"JAPAN GET LUCKY WIN"`` is featurized as ``"Japan get lucky
    win"``.

    Parameters
    ----------
    min_count : int, default=2
        A form needs this many informative occurrences.

    >>> table = CaseTable().fit([["He", "saw", "Japan", "win"], ["She", "saw", "Japan"]] * 2)
    >>> table.apply([["JAPAN", "SAW", "DEFEAT"], ["He", "saw", "JAPAN"]])
    [['Japan', 'saw', 'DEFEAT'], ['He', 'saw', 'JAPAN']]
    """

    def __init__(self, min_count: int = 2):
        self.min_count = min_count

    def fit(self, sentences) -> CaseTable:
        """Learn the usual forms from ``sentences`` (token lists: a list, or any iterable,
        read :data:`STREAM_SENTENCES` sentences at a time)."""
        totals: dict[str, int] = {}  # per type, in the order of first occurrence
        for chunk in sentence_chunks(sentences, STREAM_SENTENCES):
            tokens, offsets = flatten(chunk)
            types = _Types(tokens)
            sc = _SentenceCase(types, offsets)
            counts = np.bincount(types.ids[sc.reliable & (sc.case > 0)],
                                 minlength=len(types.types))
            get = totals.get
            for w, c in zip(types.types, counts.tolist()):  # per type
                totals[w] = get(w, 0) + c
        best: dict[str, tuple[int, str]] = {}
        for w, c in totals.items():
            if c < self.min_count:
                continue
            key = w.lower()
            if key not in best or c > best[key][0]:
                best[key] = (c, w)
        self.forms_ = {k: w for k, (c, w) in best.items()}
        return self

    def _apply(self, types: _Types, sc: _SentenceCase) -> list[str]:
        forms = self.forms_
        cased = np.array(list(map(forms.get, types.lower, types.types)), dtype=object)
        rewrite = sc.caps_sentence | sc.title_sentence
        out = np.array(types.types, dtype=object)[types.ids]
        out[rewrite] = cased[types.ids[rewrite]]
        return out.tolist()

    def apply_tokens(self, tokens, offsets) -> list[str]:
        """Truecase the words of all-caps and title-case sentences (flat tokens)."""
        types = _Types(tokens)
        return self._apply(types, _SentenceCase(types, np.asarray(offsets, dtype=np.int64)))

    def apply(self, sentences) -> list[list[str]]:
        tokens, offsets = flatten(sentences)
        return unflatten(self.apply_tokens(tokens, offsets), offsets)

    def usual_case(self, types: Sequence[str]) -> np.ndarray:
        """Case class of the usual form of each word type (a categorical feature): 0 all
        caps, 1 capitalized, 2 lower case, -1 unknown word or no letter.

        >>> CaseTable().fit([["He", "saw", "Japan"]] * 2).usual_case(["JAPAN", "Saw", "x"])
        array([ 1,  2, -1])
        """
        forms = self.forms_
        usual = list(map(forms.get, map(str.lower, types), itertools.repeat("")))
        known = np.fromiter(map(bool, usual), bool, len(usual))
        case = _type_case(usual).astype(np.int64) - 1
        return np.where(known & (case >= 0), case, -1)


# ============================================================================ documents
def document_index(documents, n_sentences: int) -> np.ndarray:
    """Integer document id of each sentence from any per-sentence labels (``None`` -> all
    sentences form one document)."""
    if documents is None:
        return np.zeros(n_sentences, dtype=np.int64)
    documents = list(documents)
    if len(documents) != n_sentences:
        raise ValueError(f"documents must give one id per sentence: got {len(documents)} ids "
                         f"for {n_sentences} sentences")
    _, ids = factorize(documents)
    return ids


def aggregate_in_documents(keys, token_doc, values, n_values: int) -> np.ndarray:
    """For each token, how often each value occurs among the *other* tokens with the same
    key in the same document.

    Parameters
    ----------
    keys : int ndarray of shape (n_tokens,)
        Token identity (e.g. the id of the lowercased word).
    token_doc : int ndarray of shape (n_tokens,)
        Document of each token.
    values : int ndarray of shape (n_tokens,)
        A value in ``[0, n_values)`` per token, ``-1`` for none (not counted).
    n_values : int

    Returns
    -------
    counts : float ndarray of shape (n_tokens, n_values)

    >>> aggregate_in_documents(np.array([0, 1, 0, 0]), np.array([0, 0, 0, 1]),
    ...                        np.array([1, 0, 0, 1]), 2).tolist()
    [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    """
    keys = np.asarray(keys, dtype=np.int64)
    token_doc = np.asarray(token_doc, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    n = keys.shape[0]
    if n == 0:
        return np.zeros((0, n_values))
    n_keys = int(keys.max()) + 1
    _, group = np.unique(token_doc * n_keys + keys, return_inverse=True)
    group = group.ravel()
    n_groups = int(group.max()) + 1
    ok = values >= 0
    totals = np.bincount(group[ok] * n_values + values[ok],
                         minlength=n_groups * n_values).reshape(n_groups, n_values)
    out = totals[group].astype(np.float64)
    out[np.flatnonzero(ok), values[ok]] -= 1.0
    return out


def _fractions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def _token_documents(documents, offsets) -> np.ndarray:
    return np.repeat(document_index(documents, offsets.shape[0] - 1), np.diff(offsets))


def document_case_features(tokens, offsets, documents=None) -> np.ndarray:
    """How the *other* occurrences of each word (case-insensitively) in its document are
    written where case is informative (not first words, not in all-caps or title-case
    sentences): the fraction capitalized and the fraction in lower case.

    Parameters
    ----------
    tokens : sequence of str
        Flat tokens.
    offsets : int array of shape (n_sentences + 1,)
    documents : sequence of length n_sentences, optional
        Document of each sentence (None: one document).

    Returns
    -------
    float ndarray of shape (n_tokens, 2)

    >>> doc = [["Bush", "said", "so"], ["Walk", "by", "the", "bush"], ["Bush", "left"]]
    >>> tokens, offsets = flatten(doc)
    >>> document_case_features(tokens, offsets).tolist()[0]   # the others: 1 of 1 lower
    [0.0, 1.0]
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    types = _Types(tokens)
    return _document_case(types, _SentenceCase(types, offsets), offsets, documents)


def _document_case(types: _Types, sc: _SentenceCase, offsets, documents) -> np.ndarray:
    case = np.where(sc.reliable & (sc.case >= 2), sc.case - 2, -1)  # 0 capitalized, 1 lower
    return _fractions(aggregate_in_documents(types.keys, _token_documents(documents, offsets),
                                             case, 2))


def document_type_features(tokens, offsets, labels, types: Sequence[str],
                           documents=None) -> np.ndarray:
    """Which entity types the *other* occurrences of each word (case-insensitively) in its
    document were given: the fraction of them inside an entity of each type (a token
    outside any entity counts in none).

    Parameters
    ----------
    tokens : sequence of str
        Flat tokens.
    offsets : int array of shape (n_sentences + 1,)
    labels : sequence of str
        Flat entity tags (``B-PER``, ``O`` ...; any scheme: the type after the prefix).
    types : sequence of str
        The entity types, in the order of the output columns.
    documents : sequence of length n_sentences, optional

    Returns
    -------
    float ndarray of shape (n_tokens, len(types))

    >>> doc = [["Blair", "met", "Smith"], ["Blair", "left"]]
    >>> tokens, offsets = flatten(doc)
    >>> f = document_type_features(tokens, offsets, ["S-PER", "O", "S-PER", "O", "O"],
    ...                            ["LOC", "PER"])
    >>> f[3].tolist(), f[0].tolist()
    ([0.0, 1.0], [0.0, 0.0])
    """
    return _document_types(_Types(tokens), np.asarray(offsets, dtype=np.int64), labels, types,
                           documents)


def _document_types(word_types: _Types, offsets, labels, types, documents) -> np.ndarray:
    type_index = {t: i for i, t in enumerate(types)}
    label_types, label_ids = factorize(list(labels))
    if len(label_ids) != len(word_types.keys):
        raise ValueError(f"got {len(label_ids)} labels for {len(word_types.keys)} tokens")
    of_label = np.fromiter((type_index.get(t[2:], -1) if t != "O" else -1 for t in label_types),
                           np.int64, len(label_types))
    counts = aggregate_in_documents(word_types.keys, _token_documents(documents, offsets),
                                    of_label[label_ids], len(types))
    return _fractions(counts)


def document_context_features(tokens, offsets, context_words: Sequence[str], documents=None,
                              *, window=(-2, -1, 1, 2), top_k: int = 12):
    """Context aggregation (Ratinov & Roth 2009): for each capitalized token, the words
    around the *other* occurrences of the same word (case-insensitively) in its document.

    Parameters
    ----------
    tokens : sequence of str
        Flat tokens.
    offsets : int array of shape (n_sentences + 1,)
    context_words : sequence of str
        The context vocabulary (lowercased words, e.g. the most frequent of the training
        text); other words are not counted.
    documents : sequence of length n_sentences, optional
    window : sequence of int
        Offsets of the context words.
    top_k : int
        Keep the ``top_k`` most frequent (offset, word) pairs of each token.

    Returns
    -------
    ids, weights : int64 and float ndarrays of shape (n_tokens, k), k <= top_k
        Weighted categorical features: id ``offset_index * len(context_words) + word``,
        weight = the fraction of the other occurrences with that word at that offset
        (``-1`` / 0 where none).

    >>> doc = [["Mr.", "Blair", "spoke"], ["Blair", "left"], ["Blair", "ran"]]
    >>> tokens, offsets = flatten(doc)
    >>> ids, w = document_context_features(tokens, offsets, ["mr.", "left"], window=(-1, 1))
    >>> ids[1].tolist(), w[1].tolist()   # of the other two Blairs, one is followed by "left"
    ([3, -1], [0.5, 0.0])
    >>> ids[5].tolist(), w[5].tolist()   # "mr." (id 0) before one, "left" (id 2 + 1) after one
    ([0, 3], [0.5, 0.5])
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    types = _Types(tokens)
    index = {w: i for i, w in enumerate(context_words)}
    ctx_of_type = np.fromiter(map(index.get, types.lower, itertools.repeat(-1)), np.int64,
                              len(types.types))
    return _document_context(types, offsets, documents, ctx_of_type, len(context_words),
                             tuple(window), int(top_k))


def _document_context(types: _Types, offsets, documents, ctx_of_type, n_ctx, window, top_k):
    n = types.ids.shape[0]
    n_seq = offsets.shape[0] - 1
    ids_out = np.full((n, 1), -1, dtype=np.int64)
    w_out = np.zeros((n, 1))
    if n == 0 or n_ctx == 0:
        return ids_out, w_out
    seq = np.repeat(np.arange(n_seq), np.diff(offsets))
    ctx = ctx_of_type[types.ids]
    pos = np.arange(n)
    codes = np.full((n, len(window)), -1, dtype=np.int64)
    for oi, o in enumerate(window):
        nb = pos + o
        ok = (nb >= 0) & (nb < n)
        ok[ok] = seq[nb[ok]] == seq[ok]
        ok[ok] = ctx[nb[ok]] >= 0
        codes[ok, oi] = oi * n_ctx + ctx[nb[ok]]
    # capitalized tokens (the candidates for names), grouped by document and word
    eligible = np.flatnonzero((types.type_case[types.ids] == 1) |
                              (types.type_case[types.ids] == 2))
    if not eligible.size:
        return ids_out, w_out
    doc = np.repeat(document_index(documents, n_seq), np.diff(offsets))
    _, group = np.unique(doc[eligible] * (int(types.keys.max()) + 1) + types.keys[eligible],
                         return_inverse=True)
    group = group.ravel()
    n_groups = int(group.max()) + 1
    size = np.bincount(group, minlength=n_groups)
    width = len(window) * n_ctx
    own = codes[eligible]
    flat_rows = np.repeat(group, own.shape[1])
    flat_codes = own.ravel()
    keep = flat_codes >= 0
    pair_keys, counts = np.unique(flat_rows[keep] * width + flat_codes[keep],
                                  return_counts=True)
    g_of_pair = pair_keys // width
    ptr = np.searchsorted(g_of_pair, np.arange(n_groups + 1))
    # every (token, entry of its group) pair, minus the token's own contexts
    n_entries = np.diff(ptr)[group]
    tok = np.repeat(np.arange(eligible.shape[0]), n_entries)
    entry = np.repeat(ptr[group], n_entries) + (np.arange(tok.shape[0]) -
                                                np.repeat(np.cumsum(n_entries) - n_entries,
                                                          n_entries))
    code = pair_keys[entry] % width
    count = counts[entry] - (own[tok] == code[:, None]).any(axis=1)
    others = size[group][tok] - 1
    good = (count > 0) & (others > 0)
    tok, code, weight = tok[good], code[good], count[good] / others[good]
    if not tok.size:
        return ids_out, w_out
    order = np.lexsort((code, -weight, tok))
    tok, code, weight = tok[order], code[order], weight[order]
    first = np.searchsorted(tok, np.arange(eligible.shape[0]))
    rank = np.arange(tok.shape[0]) - first[tok]
    top = rank < top_k
    k = int(min(top_k, rank.max() + 1))
    ids_out = np.full((n, k), -1, dtype=np.int64)
    w_out = np.zeros((n, k))
    rows = eligible[tok[top]]
    ids_out[rows, rank[top]] = code[top]
    w_out[rows, rank[top]] = weight[top]
    return ids_out, w_out


# ============================================================================ the recognizer
#: word-type templates of the CRFs (hmmtl.crf.features); named explicitly so that the model does
#: not change when the CRF's defaults do
WORD_TEMPLATES = ("lower", "prefix", "suffix", "shape", "short_shape", "flags")
DEFAULT_LABELER_PARAMS = {"c1": 0.0, "c2": 1.0, "max_iterations": 100,
                          "templates": WORD_TEMPLATES, "window": 2}
#: sentences of unlabeled text tagged at a time for the automatic lists
AUTO_LIST_BATCH = 10_000
#: sentences of unlabeled text read at a time by the case table (bounded memory)
STREAM_SENTENCES = 50_000
#: context aggregation: offsets of the context words, and how many (offset, word) pairs a
#: token keeps
CONTEXT_WINDOW = (-2, -1, 1, 2)
CONTEXT_TOP_K = 12


@dataclass
class _TrainingSet:
    """The recognizer's training data after validation: sentences ``X``, their tags ``y``
    in the training encoding, the documents and the unlabeled text as given, and the fold
    of each sentence."""

    X: list
    y: list
    documents: Sequence | None
    unlabeled: Any  # a list, or a stream of sentences that can be read again
    fold: np.ndarray


@dataclass
class _Batch:
    """Sentences as the recognizer's stages read them (:meth:`NamedEntityRecognizer._prepare`):
    the truecased sentences ``X``, their tokens ``flat`` and ``offsets``, the ``types`` of
    the tokens, each sentence's document index, and the first stage's extra features."""

    X: list
    flat: list
    offsets: np.ndarray
    types: _Types
    documents: np.ndarray
    extra: dict


class _StageTimer:
    """Seconds spent in each named stage (``with timer("stage1"): ...``) and in all."""

    def __init__(self):
        self._start = time.perf_counter()
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = time.perf_counter() - t

    def finish(self) -> dict[str, float]:
        self.times["total"] = time.perf_counter() - self._start
        return self.times


class NamedEntityRecognizer(TextTagging, serialize.ModelFileMixin, BaseEstimator):
    """Two-stage CRF named-entity recognizer with clusters, gazetteers and document features.

    Parameters
    ----------
    encoding : {"bioes", "iob2"}, default="bioes"
        Labels the CRFs are trained on (BIOES = BILOU), decoded under its constraints.
    output_scheme : {"iob2", "iob1", "bioes", "bilou"}, default="iob2"
        Scheme of the predicted tags.
    columns : sequence of str or mapping of str to int, default=("pos", "chunk")
        Input columns used as features (at offsets -1, 0, +1) when ``fit`` gets them;
        a mapping also gives each column's 0-based index in a CoNLL file (for readers of
        files without column names).  The fitted model lists those it uses in
        :attr:`input_columns_`.
    column_taggers : sequence of str, default=()
        Input columns (of ``columns``) the recognizer learns to supply itself: for each, a
        :class:`hmmtl.LinearChainCRF` is trained on the column ``fit`` gets, and the
        recognizer is trained on that tagger's cross-validated predictions of it (the
        ``n_folds`` folds of the recognizer); ``predict`` uses the tagger's predictions
        unless ``columns`` gives the column (the file's own tags, on request).  Such a
        column is not in :attr:`input_columns_`: raw text can be tagged.
    column_tagger_params : dict, optional
        Parameters of the column taggers' CRFs over the POS defaults
        (:data:`hmmtl.crf.TASK_DEFAULTS`).
    clusters : BrownClusters, int or None, default=None
        Fitted Brown clusters, or a number of clusters to learn in ``fit`` on the
        ``unlabeled`` text and the training sentences.
    cluster_prefixes : sequence of int, default=(4, 6, 10, 20)
        Path prefix lengths used as features (at offsets -1, 0, +1).
    word_clusters : WordVectorClusters or None, default=None
        Clusters of count-based word vectors at several grains
        (:class:`hmmtl.ner.vectors.WordVectorClusters`), each grain's cluster of the words
        at -1, 0, +1 a feature (``"vec"``): fitted, or to learn in ``fit`` on the
        ``unlabeled`` text and the training sentences.
    hmm : CategoricalHMM, list of them, or None
        Fitted HMMs whose type-level state distributions (top ``hmm_top_k`` states) are
        features.
    hmm_top_k : int, default=3
    gazetteer : Gazetteer or None
        External lists (e.g. :func:`hmmtl.ner.gazetteers.load_nltk_gazetteers`).
    lexicon : Lexicon or None, default=None
        Large name lists as evidence (:func:`hmmtl.ner.gazetteers.load_lexicon`: Wikipedia
        titles, GeoNames cities, person names): per token, the BILOU position of its
        longest match in each list, as written and case-folded (feature ``"lex"``).  The
        compiled table is stored in the model file (ten bytes an entry).
    train_lists : bool, default=True
        Lists of the entity strings of the training labels, by type (jackknifed over the
        folds in training).
    auto_lists : bool, default=True
        Lists of the entity strings the first stage finds in the ``unlabeled`` text (at
        least ``auto_min_count`` times, always with the same type), used by the second stage.
    auto_min_count : int, default=2
    truecase : bool, default=True
        Rewrite the words of all-caps and title-case sentences in their usual case (learned
        on the training sentences and the ``unlabeled`` text) before featurizing.
    capitalization : bool, default=True
        Sentence-initial / all-caps sentence / title-case sentence features, and (with
        ``truecase``) the usual case of each word (:meth:`CaseTable.usual_case`).
    document_features : bool, default=True
        When documents are given: the case of the other occurrences of a word in its
        document, and (second stage) the first-stage types of those occurrences.
    context_words : int, default=1000
        With document features: the words around the other occurrences of a capitalized
        word in its document (context aggregation, :func:`document_context_features`),
        among this many most frequent (lowercased) words of the training sentences; 0
        turns it off.
    two_stage : bool, default=True
        Train a second CRF that also sees the first stage's labels (of the token and its
        neighbours, and aggregated over the document).
    n_folds : int, default=5
        Cross-validation folds (by document when documents are given) for the first-stage
        labels the second stage trains on and for the training lists.
    labeler_params : dict, optional
        Parameters of the :class:`hmmtl.LinearChainCRF` of each stage, over
        :data:`DEFAULT_LABELER_PARAMS`.
    fold_labeler_params : dict, optional
        Overrides for the first-stage CRFs fit on the folds (e.g. fewer iterations).
    random_state : int, RandomState or None
    verbose : bool, default=False

    Attributes
    ----------
    stage1_, stage2_ : LinearChainCRF (``stage2_`` is None for one stage)
    clusters_ : BrownClusters or None
    word_clusters_ : WordVectorClusters or None
    hmms_ : list of CategoricalHMM
    gazetteer_ : Gazetteer or None
    lexicon_ : Lexicon or None
        External and training lists (the first stage's features).
    auto_gazetteer_ : Gazetteer or None
        Lists found in unlabeled text (the second stage's).
    case_table_ : CaseTable or None
    entity_types_ : list of str
    input_columns_ : dict of str to int or None
        The input columns the model needs (name -> file column index, if known).
    column_taggers_ : dict of str to LinearChainCRF
        The columns the model supplies itself (see ``column_taggers``) and their taggers.
    features_ : list of str
        The extra features of the first stage (``"brown"``, ``"gaz"``, ``"doc.case"`` ...).
    uses_documents_ : bool
        Whether predictions use document boundaries (``predict(documents=...)``).
    fit_times_ : dict
        Seconds spent in each part of ``fit``.
    """

    #: fitted clusters and HMMs given as parameters survive clone (they are inputs, not
    #: what fit learns)
    _fitted_params = ("clusters", "hmm", "word_clusters")

    def __init__(self, encoding="bioes", output_scheme="iob2", columns=("pos", "chunk"),
                 clusters=None, cluster_prefixes=(4, 6, 10, 20), hmm=None, hmm_top_k=3,
                 gazetteer=None, train_lists=True, auto_lists=True, auto_min_count=2,
                 truecase=True, capitalization=True, document_features=True,
                 context_words=1000, two_stage=True, n_folds=5, labeler_params=None,
                 fold_labeler_params=None, random_state=0, verbose=False, lexicon=None,
                 column_taggers=(), column_tagger_params=None, word_clusters=None):
        self.encoding = encoding
        self.output_scheme = output_scheme
        self.columns = columns
        self.clusters = clusters
        self.cluster_prefixes = cluster_prefixes
        self.hmm = hmm
        self.hmm_top_k = hmm_top_k
        self.gazetteer = gazetteer
        self.train_lists = train_lists
        self.auto_lists = auto_lists
        self.auto_min_count = auto_min_count
        self.truecase = truecase
        self.capitalization = capitalization
        self.document_features = document_features
        self.context_words = context_words
        self.two_stage = two_stage
        self.n_folds = n_folds
        self.labeler_params = labeler_params
        self.fold_labeler_params = fold_labeler_params
        self.random_state = random_state
        self.verbose = verbose
        self.lexicon = lexicon
        self.column_taggers = column_taggers
        self.column_tagger_params = column_tagger_params
        self.word_clusters = word_clusters

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        from ..io.schemes import SCHEMES

        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        if self.output_scheme not in SCHEMES:
            raise ValueError(f"output_scheme must be one of {SCHEMES}, got "
                             f"{self.output_scheme!r}")
        if not isinstance(self.n_folds, (int, np.integer)) or self.n_folds < 2:
            raise ValueError(f"n_folds must be an int >= 2, got {self.n_folds!r}")
        unknown = sorted(set(self._column_tagger_names()) - set(_check_columns(self.columns)))
        if unknown:
            raise ValueError(f"column_taggers {unknown} must be input columns of columns="
                             f"{sorted(_check_columns(self.columns))}")

    def _column_tagger_names(self) -> list[str]:
        names = self.column_taggers or ()
        return [names] if isinstance(names, str) else [str(n) for n in names]

    def _log(self, message):
        if self.verbose:
            print(f"[ner] {message}", flush=True)

    def _labeler(self, fold: bool = False):
        from ..crf import LinearChainCRF

        params = {**DEFAULT_LABELER_PARAMS, **(self.labeler_params or {})}
        if fold:
            params.update(self.fold_labeler_params or {})
        params["constraint"] = "BIOES" if self.encoding == "bioes" else "BIO"
        return LinearChainCRF(**params)

    def _column_tagger(self):
        from ..crf import TASK_DEFAULTS, LinearChainCRF

        return LinearChainCRF(**{**TASK_DEFAULTS["pos"], "task": "pos",
                                 **(self.column_tagger_params or {})})

    def _input_columns(self, X, columns, fitting: bool, user_columns: bool = True) -> dict:
        """The input columns as {name: list of label lists}, checked against X; a column
        the model supplies itself and ``columns`` lacks is its tagger's prediction
        (``user_columns=False``: only those)."""
        if fitting:
            wanted = _check_columns(self.columns)
        else:
            wanted = {**(self.input_columns_ if user_columns else {}),
                      **dict.fromkeys(self.column_taggers_)}
        columns = dict(columns or {})
        out = {}
        for name in wanted:
            if name not in columns or columns[name] is None:
                if fitting:
                    continue
                if name in self.column_taggers_:
                    out[name] = self.column_taggers_[name].predict(X)
                    continue
                raise ValueError(f"this model uses the input column {name!r} "
                                 f"(input_columns_ = {sorted(self.input_columns_)}); pass "
                                 f"columns={{{name!r}: [...]}} with one tag per token")
            col = list(columns[name])
            if not _same_lengths(col, X):
                raise ValueError(f"column {name!r} must hold one tag per token of X")
            out[name] = col
        return out

    # ------------------------------------------------------------------ features
    def _prepare(self, X, columns, documents, fitting: bool, with_columns: bool = True,
                 exclude=None) -> _Batch:
        """Everything per batch that does not depend on the labelers: truecased tokens,
        documents and the first stage's extra features.  Case is read on the tokens as
        given (an all-caps sentence is one before truecasing); every other feature on the
        truecased tokens.  ``with_columns=False``: none of the user's input columns (the
        columns the model supplies itself are always there)."""
        flat, offsets = flatten(X)
        raw = _Types(flat)
        sc = _SentenceCase(raw, offsets)
        if self.case_table_ is not None:
            flat = self.case_table_._apply(raw, sc)
            types = _Types(flat)
        else:
            types = raw
        doc_of_seq = document_index(documents, offsets.shape[0] - 1)
        # a fitted model computes the features its first stage was trained with
        wanted = None if fitting else set(self.features_)

        def want(name):
            return wanted is None or name in wanted

        extra = {}
        for name, col in self._input_columns(X, columns, fitting, with_columns).items():
            extra[f"col.{name}"] = col
        if self.clusters_ is not None and want("brown"):
            extra["brown"] = self.clusters_.transform_types(types.types,
                                                            self.cluster_prefixes)[types.ids]
        if self.word_clusters_ is not None and want("vec"):
            extra["vec"] = self.word_clusters_.transform_types(types.types)[types.ids]
        for i, hmm in enumerate(self.hmms_):
            if not want(f"hmm{i}"):
                continue
            top, weight = self._hmm_top_states(hmm)
            rows = hmm._word_ids(types.types)[types.ids]
            extra[f"hmm{i}"] = (top[rows], weight[rows])
        if self.capitalization and want("cap"):
            extra["cap"] = sc.context()
        if self.capitalization and self.case_table_ is not None and want("usual_case"):
            extra["usual_case"] = self.case_table_.usual_case(raw.types)[raw.ids]
        if self.uses_documents_ and want("doc.case"):
            extra["doc.case"] = _document_case(raw, sc, offsets, doc_of_seq)
        if self.uses_documents_ and self.context_words_ and want("doc.context"):
            index = self._context_index_
            ctx = np.fromiter(map(index.get, types.lower, itertools.repeat(-1)), np.int64,
                              len(types.types))
            extra["doc.context"] = _document_context(types, offsets, doc_of_seq, ctx,
                                                     len(self.context_words_), CONTEXT_WINDOW,
                                                     CONTEXT_TOP_K)
        found = (types.types, types.ids)  # the distinct tokens of flat
        if self.gazetteer_ is not None and want("gaz"):
            extra["gaz"] = self.gazetteer_.match(flat, offsets, exclude, types=found)
        if self.lexicon_ is not None and want("lex"):
            extra["lex"] = self.lexicon_.match(flat, offsets, types=found)
        return _Batch(unflatten(flat, offsets), flat, offsets, types, doc_of_seq, extra)

    def _hmm_top_states(self, hmm) -> tuple[np.ndarray, np.ndarray]:
        """The ``hmm_top_k`` most probable states of every word type of ``hmm`` (its
        p(state | word), states by decreasing probability) and their probabilities: made
        once per fitted HMM and kept, each batch gathers its words' rows (a row is sorted
        on its own, so the rows are those of the batch's types sorted alone)."""
        cache = self.__dict__.setdefault("_hmm_top", {})
        hit = cache.get(id(hmm))
        if hit is not None and hit[0] is hmm and hit[1] == self.hmm_top_k:
            return hit[2]
        table = hmm.type_distribution()
        k = min(int(self.hmm_top_k), table.shape[1])
        top = np.argsort(-table, axis=1)[:, :k]
        made = (top.astype(np.int64), np.take_along_axis(table, top, axis=1))
        cache[id(hmm)] = (hmm, self.hmm_top_k, made)
        return made

    def _stage2_extra(self, batch: _Batch, flat_labels: list):
        """The second stage's extra features: the first stage's and its labels
        (``flat_labels``: one per token of the batch) with what they give."""
        extra = dict(batch.extra)
        index = self._label_index_
        extra["s1"] = np.fromiter(map(index.get, flat_labels, [-1] * len(flat_labels)),
                                  np.int64, len(flat_labels))
        if self.uses_documents_:
            extra["doc.type"] = _document_types(batch.types, batch.offsets, flat_labels,
                                                self.entity_types_, batch.documents)
        if self.auto_gazetteer_ is not None:
            extra["auto"] = self.auto_gazetteer_.match(
                batch.flat, batch.offsets, types=(batch.types.types, batch.types.ids))
        return extra

    def _extra_window(self, extra) -> dict:
        window: dict[str, tuple[int, ...]] = {}
        for name in extra:
            if name.startswith(("col.", "brown", "vec", "hmm", "gaz", "auto", "lex")):
                window[name] = (-1, 0, 1)
            elif name == "s1":
                window[name] = (-2, -1, 0, 1, 2)
            else:
                window[name] = (0,)
        return window

    # ------------------------------------------------------------------ fit
    def fit(self, X: TokenLists, y: LabelLists, columns: Mapping[str, LabelLists] | None = None,
            documents: Sequence | None = None,
            unlabeled: TokenLists | None = None) -> NamedEntityRecognizer:
        """Train the recognizer (see :meth:`_fit`).

        The CRFs' L-BFGS steps are vector operations on the weights, which BLAS threads
        only slow down (on a busy machine, ten times): BLAS runs on one thread meanwhile.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, y, columns, documents, unlabeled)

    def _fit(self, X, y, columns=None, documents=None, unlabeled=None):
        """Train the recognizer.

        The stages, in order, each a method: :meth:`_check_training_set` (validate, folds),
        :meth:`_fit_column_taggers`, :meth:`_fit_representations` (case table, clusters,
        HMMs), :meth:`_fit_lists` (gazetteers, lexicon), :meth:`_featurize_training_set`,
        :meth:`_fit_stage1`, and with ``two_stage`` :meth:`_cross_validated_stage1`,
        :meth:`_auto_lists` and :meth:`_fit_stage2`.  Their seconds go to :attr:`fit_times_`.

        Parameters
        ----------
        X : list of list of str
            Training sentences.
        y : list of list of str
            Entity tags (IOB1, IOB2, BIOES or BILOU).
        columns : dict of str to list of list of str, optional
            Input columns (``{"pos": ..., "chunk": ...}``), one tag per token.
        documents : sequence, length n_sentences, optional
            Document id of each sentence; enables the document features.
        unlabeled : list of list of str, or a stream of them, optional
            Unlabeled text (not the training sentences): for the case table, the clusters
            when ``clusters`` is a number, and the lists found by the first stage.  A
            stream that can be read again (:class:`hmmtl.io.text.TokenStream` over text
            files) is read a chunk at a time, three times, never held whole; a one-shot
            iterator is read into a list.

        Returns
        -------
        self
        """
        from ..crf import LinearChainCRF  # noqa: F401  (fail early when missing)

        self.__dict__.pop("_hmm_top", None)  # the kept tables of the HMMs fitted before

        self._check_params()
        timer = _StageTimer()
        data = self._check_training_set(X, y, columns, documents, unlabeled)
        with timer("column_taggers"):
            columns = self._fit_column_taggers(data.X, columns, self._column_tagger_names(),
                                               data.fold)
        with timer("representations"):
            self._fit_representations(data)
        with timer("gazetteers"):
            self._fit_lists(data)
        batch = self._featurize_training_set(data, columns)
        with timer("stage1"):
            self._fit_stage1(data, batch)
        self.stage2_ = None
        if self.two_stage:
            with timer("stage1_folds"):
                stage1_labels = self._cross_validated_stage1(data, batch)
            with timer("auto_lists"):
                if self.auto_lists and _has_sentence(data.unlabeled):
                    self.auto_gazetteer_ = self._auto_lists(data.unlabeled, batch, data.y,
                                                            batch.extra)
            with timer("stage2"):
                self._fit_stage2(data, batch, stage1_labels)
        share_featurizers(self._feature_spaces())
        self.fit_times_ = timer.finish()
        return self

    def _feature_spaces(self) -> list:
        """The feature spaces of the recognizer's CRFs (its stages, its column taggers)."""
        crfs = [self.stage1_, self.stage2_, *self.column_taggers_.values()]
        return [c.feature_space_ for c in crfs if c is not None]

    def _check_training_set(self, X, y, columns, documents, unlabeled) -> _TrainingSet:
        """Validate the training data, set what follows from it alone (the input columns,
        whether documents are used, the context words) and draw the folds."""
        from ..io.schemes import convert_scheme

        X = [list(s) for s in X]
        if not X or isinstance(X[0], str):
            raise TypeError("X must be a non-empty list of token lists")
        y = [list(t) for t in y]
        if not _same_lengths(y, X):
            raise ValueError("y must hold one tag per token of X")
        y_enc = convert_scheme(y, self.encoding)
        # a list is copied; a stream that can be read again (text files) stays a stream,
        # read a chunk at a time by the case table, the clusters and the automatic lists
        unlabeled = rereadable(unlabeled) if unlabeled is not None else []
        if isinstance(unlabeled, (list, tuple)):
            unlabeled = [list(s) for s in unlabeled]
        rs = check_random_state(self.random_state)
        given = {k: v for k, v in _check_columns(self.columns).items()
                 if columns is not None and columns.get(k) is not None}
        supplied = self._column_tagger_names()
        missing = [k for k in supplied if k not in given]
        if missing:
            raise ValueError(f"column_taggers {missing} learn from the training data's "
                             f"column, which fit did not get: pass columns={{{missing[0]!r}: "
                             f"[...]}} with one tag per token")
        self.input_columns_ = {k: v for k, v in given.items() if k not in supplied}
        self.uses_documents_ = bool(self.document_features and documents is not None)
        self._set_context_words(self._frequent_words(X) if self.uses_documents_ else [])
        n_seq = len(X)
        # folds: by document when there are documents, else by blocks of sentences
        doc_of_seq = document_index(documents, n_seq) if documents is not None else \
            np.arange(n_seq) * 50 // max(n_seq, 1)
        perm = rs.permutation(int(doc_of_seq.max()) + 1)
        fold = perm[doc_of_seq] % int(self.n_folds)
        self.fold_ = fold
        return _TrainingSet(X, y_enc, documents, unlabeled, fold)

    def _fit_representations(self, data: _TrainingSet) -> None:
        """The case table, the Brown clusters and the HMMs."""
        self.case_table_ = (CaseTable().fit(itertools.chain(data.X, data.unlabeled))
                            if self.truecase else None)
        self.clusters_ = self._resolve_clusters(data.X, data.unlabeled)
        self.word_clusters_ = self._resolve_word_clusters(data.X, data.unlabeled)
        self.hmms_ = self._resolve_hmms()

    def _fit_lists(self, data: _TrainingSet) -> None:
        """The gazetteer of the first stage: the external lists and the training entities,
        each tagged with its fold; and the lexicon."""
        from .gazetteers import Gazetteer, entity_strings

        self.gazetteer_ = None
        if self.gazetteer is not None or self.train_lists:
            gaz = Gazetteer(lowercase=False)
            if self.gazetteer is not None:
                ext = self.gazetteer
                gaz.lowercase = ext.lowercase
                for name in ext.names:
                    gaz.add(name, ext.entries(name))
            if self.train_lists:
                X = data.X
                Xt = self.case_table_.apply(X) if self.case_table_ is not None else X
                for f in range(int(self.n_folds)):
                    idx = np.flatnonzero(data.fold == f)
                    found = entity_strings([Xt[i] for i in idx], [data.y[i] for i in idx])
                    for typ, counter in sorted(found.items()):
                        gaz.add(f"train-{typ}", list(counter), source=f)
            self.gazetteer_ = gaz if gaz.names else None
        self.auto_gazetteer_ = None
        self.lexicon_ = self._resolve_lexicon()

    def _featurize_training_set(self, data: _TrainingSet, columns) -> _Batch:
        """The first stage's features of the training sentences (a training entity is not
        evidence in its own fold), and the label set."""
        batch = self._prepare(data.X, columns, data.documents, fitting=True,
                              exclude=data.fold if self.train_lists else None)
        label_list = sorted({t for s in data.y for t in s})
        self._label_list_ = label_list
        self._label_index_ = {t: i for i, t in enumerate(label_list)}
        self.entity_types_ = sorted({t[2:] for t in label_list if t != "O"})
        return batch

    def _fit_stage1(self, data: _TrainingSet, batch: _Batch) -> None:
        """The first-stage CRF, on all the training data."""
        extra1 = batch.extra
        self._log(f"stage 1 on {len(data.X)} sentences, features {sorted(extra1)}")
        self.stage1_ = self._labeler().set_params(extra_window=self._extra_window(extra1)).fit(
            batch.X, data.y, extra=extra1)
        self.features_ = sorted(extra1)

    def _cross_validated_stage1(self, data: _TrainingSet, batch: _Batch) -> list:
        """First-stage labels of each training sentence from a CRF trained on the other
        folds (what the second stage learns to read)."""
        from ..transfer.multitask import take_extra

        extra1 = batch.extra
        ew = self._extra_window(extra1)
        fold = data.fold
        stage1_labels: list = [None] * len(data.X)
        offsets = batch.offsets
        for f in range(int(self.n_folds)):
            test_idx = np.flatnonzero(fold == f)
            train_idx = np.flatnonzero(fold != f)
            if not test_idx.size or not train_idx.size:
                continue
            self._log(f"stage 1, fold {f + 1}/{self.n_folds}")
            tr_tok, _ = token_positions(offsets, train_idx)
            te_tok, _ = token_positions(offsets, test_idx)
            crf = self._labeler(fold=True).set_params(extra_window=ew)
            crf.fit([batch.X[i] for i in train_idx], [data.y[i] for i in train_idx],
                    extra=take_extra(extra1, train_idx, tr_tok))
            pred = crf.predict([batch.X[i] for i in test_idx],
                               extra=take_extra(extra1, test_idx, te_tok))
            for i, p in zip(test_idx.tolist(), pred):
                stage1_labels[i] = p
        return stage1_labels

    def _fit_stage2(self, data: _TrainingSet, batch: _Batch, stage1_labels) -> None:
        """The second-stage CRF: the first stage's features plus its labels."""
        extra2 = self._stage2_extra(batch, flatten(stage1_labels)[0])
        self._log(f"stage 2, features {sorted(extra2)}")
        self.stage2_ = self._labeler().set_params(
            extra_window=self._extra_window(extra2)).fit(batch.X, data.y, extra=extra2)

    def _fit_column_taggers(self, X, columns, names, fold) -> dict | None:
        """Train the tagger of each column of ``names`` on its column, and return the
        columns with those replaced by the taggers' cross-validated predictions (over the
        recognizer's folds ``fold``): the columns the recognizer is trained on."""
        from ..transfer.multitask import cross_validated_predictions

        self.column_taggers_ = {}
        if not names:
            return columns
        columns = dict(columns)
        for name in names:
            gold = [list(t) for t in columns[name]]
            if not _same_lengths(gold, X):
                raise ValueError(f"column {name!r} must hold one tag per token of X")
            self._log(f"column tagger {name!r}: {self.n_folds} folds, then all the data")
            columns[name] = cross_validated_predictions(self._column_tagger, X, gold, fold)
            self.column_taggers_[name] = self._column_tagger().fit(X, gold)
        return columns

    def _frequent_words(self, X) -> list[str]:
        """The ``context_words`` most frequent lowercased words of ``X`` (ties: alphabetical)."""
        import collections

        n = int(self.context_words or 0)
        if n <= 0:
            return []
        tokens, _ = flatten(X)
        counts = collections.Counter(map(str.lower, tokens))
        return [w for w, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:n]]

    def _set_context_words(self, words):
        self.context_words_ = list(words)
        self._context_index_ = {w: i for i, w in enumerate(self.context_words_)}

    def _resolve_clusters(self, X, unlabeled):
        from .clusters import BrownClusters

        c = self.clusters
        if c is None:
            return None
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            return BrownClusters(n_clusters=int(c), verbose=self.verbose).fit_stream(
                itertools.chain(unlabeled, X))
        if not isinstance(c, BrownClusters):
            raise TypeError(f"clusters must be a fitted BrownClusters, a number of clusters "
                            f"or None, got {type(c).__name__}")
        check_is_fitted(c, "paths_")
        return c

    def _resolve_word_clusters(self, X, unlabeled):
        from sklearn.base import clone

        from .vectors import WordVectorClusters

        c = self.word_clusters
        if c is None:
            return None
        if not isinstance(c, WordVectorClusters):
            raise TypeError(f"word_clusters must be a WordVectorClusters (fitted, or to learn "
                            f"in fit) or None, got {type(c).__name__}")
        if hasattr(c, "labels_"):
            return c
        return clone(c).fit_stream(itertools.chain(unlabeled, X))

    def _resolve_lexicon(self):
        from .gazetteers import Lexicon

        if self.lexicon is not None and not isinstance(self.lexicon, Lexicon):
            raise TypeError(f"lexicon must be a Lexicon (hmmtl.ner.gazetteers.load_lexicon) or "
                            f"None, got {type(self.lexicon).__name__}")
        return self.lexicon

    def _resolve_hmms(self):
        if self.hmm is None:
            return []
        hmms = list(self.hmm) if isinstance(self.hmm, (list, tuple)) else [self.hmm]
        for i, h in enumerate(hmms):
            if not hasattr(h, "type_distribution"):
                raise TypeError(f"hmm[{i}] must be a fitted CategoricalHMM, got "
                                f"{type(h).__name__}")
            check_is_fitted(h, "emission_prob_")
        return hmms

    def _auto_lists(self, unlabeled, batch: _Batch, y_enc, extra1):
        """Entity strings a first-stage CRF finds in ``unlabeled``, at least
        ``auto_min_count`` times and always with one type.  The unlabeled text has no input
        columns: when the first stage uses some, a CRF without them does this tagging."""
        from .gazetteers import Gazetteer, entity_strings

        tagger = self.stage1_
        if self.input_columns_:
            supplied = {f"col.{name}" for name in self.column_taggers_}
            extra = {k: v for k, v in extra1.items()
                     if not k.startswith("col.") or k in supplied}
            tagger = self._labeler(fold=True).set_params(extra_window=self._extra_window(extra))
            tagger.fit(batch.X, y_enc, extra=extra)
        seen: dict = {}
        for part in sentence_chunks(unlabeled, AUTO_LIST_BATCH):  # bounded memory
            # each sentence its own document: the text's documents are not known
            text = self._prepare(part, None, range(len(part)), fitting=False,
                                 with_columns=False)
            pred = tagger.predict(text.X, extra=text.extra)
            for typ, counter in entity_strings(text.X, pred).items():
                for entry, c in counter.items():
                    by_type = seen.setdefault(entry, {})
                    by_type[typ] = by_type.get(typ, 0) + c
        lists: dict[str, list] = {}
        for entry, by_type in seen.items():  # per entity string
            if len(by_type) == 1:
                (typ, c), = by_type.items()
                if c >= int(self.auto_min_count):
                    lists.setdefault(f"auto-{typ}", []).append(entry)
        if not lists:
            return None
        return Gazetteer({k: lists[k] for k in sorted(lists)})

    # ------------------------------------------------------------------ predict
    def predict(self, X: TokenLists, columns: Mapping[str, LabelLists] | None = None,
                documents: Sequence | None = None) -> list[list[str]]:
        """Entity tags of ``X`` in ``output_scheme``.

        Parameters
        ----------
        X : list of list of str
        columns : dict of str to list of list of str, optional
            The input columns of :attr:`input_columns_`; also a column of
            :attr:`column_taggers_` to use instead of its tagger's predictions (e.g. a
            file's own POS tags).
        documents : sequence, length n_sentences, optional
            Document id of each sentence; without it (for a model that uses documents) all
            of ``X`` is one document.

        Returns
        -------
        list of list of str
        """
        from ..io.schemes import convert_scheme

        check_is_fitted(self, "stage1_")
        X = [list(s) for s in X]
        if X and isinstance(X[0], str):
            raise TypeError("X must be a list of token lists; wrap one sentence as [tokens]")
        if not X:
            return []
        batch = self._prepare(X, columns, documents, fitting=False)
        # the stages read the words converted once, looked up once per featurizer
        # and hand on flat labels, written as sentences once at the end
        texts: list = []
        types = (batch.types.types, batch.types.ids)
        path, _ = self.stage1_._predict_path(
            converted_for(self.stage1_, batch.X, batch.flat, batch.offsets, texts, types),
            extra=batch.extra)
        labels = self.stage1_.labels_.decode(path)
        if self.stage2_ is not None:
            path, _ = self.stage2_._predict_path(
                converted_for(self.stage2_, batch.X, batch.flat, batch.offsets, texts, types),
                extra=self._stage2_extra(batch, labels))
            labels = self.stage2_.labels_.decode(path)
        return unflatten(convert_scheme(labels, self.output_scheme, offsets=batch.offsets),
                         batch.offsets)

    def score(self, X: TokenLists, y: LabelLists, columns: Mapping[str, LabelLists] | None = None,
              documents: Sequence | None = None) -> float:
        """Entity F1 (conlleval semantics) of :meth:`predict` against ``y``: entities of a
        type never seen in training count as missed; no sentences is a ValueError, as for
        every labeler's ``score``."""
        from ..metrics import entity_f1

        X = check_sentences(X, "X")
        y = list(y)
        if not X and not y:
            raise ValueError("no sentences to score: X and y are empty; give score at least "
                             "one sentence with its tags")
        return entity_f1(y, self.predict(X, columns, documents))

    @property
    def known_words_(self):
        """The word types of the training sentences (after truecasing), for OOV scores."""
        check_is_fitted(self, "stage1_")
        return self.stage1_.feature_space_.featurizer_.type_index

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "stage1_")
        children = {"stage1": self.stage1_, "stage2": self.stage2_,
                    "clusters": self.clusters_, "gazetteer": self.gazetteer_,
                    "auto_gazetteer": self.auto_gazetteer_}
        children.update({f"hmm{i}": h for i, h in enumerate(self.hmms_)})
        if self.lexicon_ is not None:  # files of models without a lexicon stay as they were
            children["lexicon"] = self.lexicon_
        if self.word_clusters_ is not None:  # likewise
            children["word_clusters"] = self.word_clusters_
        # likewise the column taggers: a child "column.NAME" each, none in the other files
        children.update({f"column.{k}": v for k, v in self.column_taggers_.items()})
        arrays, nested = serialize.pack_nested(children)
        params = self.get_params(deep=False)
        if self.lexicon_ is None:
            params.pop("lexicon")
        if self.word_clusters_ is None:
            params.pop("word_clusters")
        # fitted objects live in the children
        for name in ("clusters", "hmm", "gazetteer", "lexicon", "word_clusters"):
            if params.get(name) is not None and not isinstance(params[name],
                                                               (int, np.integer)):
                params[name] = "fitted"
        if not self._column_tagger_names() and not self.column_tagger_params:
            params.pop("column_taggers")
            params.pop("column_tagger_params")
        else:
            params["column_taggers"] = self._column_tagger_names()
            params["column_tagger_params"] = dict(self.column_tagger_params or {})
        for name in ("columns", "cluster_prefixes"):
            value = params[name]
            params[name] = dict(value) if isinstance(value, Mapping) else (
                None if value is None else list(value))
        params["random_state"] = params["random_state"] if isinstance(
            params["random_state"], (int, type(None))) else None
        meta = {
            "params": params, "children": nested, "n_hmms": len(self.hmms_),
            "case_forms": None if self.case_table_ is None else self.case_table_.forms_,
            "labels": list(self._label_list_), "entity_types": list(self.entity_types_),
            "input_columns": dict(self.input_columns_), "uses_documents": self.uses_documents_,
            "context_words": list(self.context_words_),
            "fit_times": {k: float(v) for k, v in getattr(self, "fit_times_", {}).items()},
        }
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        from .clusters import BrownClusters
        from ..crf import LinearChainCRF
        from .gazetteers import Gazetteer, Lexicon
        from .vectors import WordVectorClusters

        children = serialize.unpack_nested(arrays, meta["children"])
        lexicon = children.pop("lexicon", None)  # only models with a lexicon store one
        word_clusters = children.pop("word_clusters", None)  # likewise
        if not isinstance(word_clusters, (WordVectorClusters, type(None))):
            raise ValueError(f"part 'word_clusters' of the recognizer is a "
                             f"{type(word_clusters).__name__}")
        column_taggers = {name[len("column."):]: children.pop(name)
                          for name in sorted(children) if name.startswith("column.")}
        for name, tagger in column_taggers.items():
            if not isinstance(tagger, LinearChainCRF):
                raise ValueError(f"the tagger of column {name!r} of the recognizer is a "
                                 f"{type(tagger).__name__}")
        if not isinstance(lexicon, (Lexicon, type(None))):
            raise ValueError(f"part 'lexicon' of the recognizer is a {type(lexicon).__name__}")
        hmms = [children[f"hmm{i}"] for i in range(int(meta["n_hmms"]))]
        expected: dict[str, type | tuple[type, ...]] = {
                    "stage1": LinearChainCRF, "stage2": (LinearChainCRF, type(None)),
                    "clusters": (BrownClusters, type(None)),
                    "gazetteer": (Gazetteer, type(None)),
                    "auto_gazetteer": (Gazetteer, type(None))}
        for name, kind in expected.items():
            if not isinstance(children.get(name), kind):
                raise ValueError(f"part {name!r} of the recognizer is a "
                                 f"{type(children.get(name)).__name__}")
        params = dict(meta["params"])
        for name, fitted in (("clusters", children["clusters"]), ("gazetteer",
                                                                  children["gazetteer"])):
            if params[name] == "fitted":
                params[name] = fitted
        if params["hmm"] == "fitted":
            params["hmm"] = hmms
        if params.get("lexicon") == "fitted":
            params["lexicon"] = lexicon
        if params.get("word_clusters") == "fitted":
            params["word_clusters"] = word_clusters
        if isinstance(params["cluster_prefixes"], list):
            params["cluster_prefixes"] = tuple(params["cluster_prefixes"])
        if isinstance(params["columns"], list):
            params["columns"] = tuple(params["columns"])
        if isinstance(params.get("column_taggers"), list):
            params["column_taggers"] = tuple(params["column_taggers"])
        model = cls(**params)
        model._check_params()
        model.stage1_ = children["stage1"]
        model.features_ = [spec["name"] for spec in model.stage1_.feature_space_.extra_specs_]
        model.stage2_ = children["stage2"]
        model.clusters_ = children["clusters"]
        model.word_clusters_ = word_clusters
        model.hmms_ = hmms
        model.gazetteer_ = children["gazetteer"]
        model.auto_gazetteer_ = children["auto_gazetteer"]
        model.lexicon_ = lexicon
        if sorted(column_taggers) != sorted(model._column_tagger_names()):
            raise ValueError(f"the recognizer's column taggers {sorted(column_taggers)} are "
                             f"not those of its parameters {model._column_tagger_names()}")
        model.column_taggers_ = column_taggers
        if meta["case_forms"] is None:
            model.case_table_ = None
        else:
            model.case_table_ = CaseTable()
            model.case_table_.forms_ = dict(meta["case_forms"])
        model._label_list_ = list(meta["labels"])
        model._label_index_ = {t: i for i, t in enumerate(model._label_list_)}
        model.entity_types_ = list(meta["entity_types"])
        model.input_columns_ = {str(k): (None if v is None else int(v))
                                for k, v in meta["input_columns"].items()}
        model.uses_documents_ = bool(meta["uses_documents"])
        model._set_context_words(meta.get("context_words", []))
        model.fit_times_ = dict(meta.get("fit_times", {}))
        if set(model.stage1_.labels_.labels) - set(model._label_list_):
            raise ValueError("the first stage's labels are not the recognizer's labels")
        share_featurizers(model._feature_spaces())
        return model


def _has_sentence(sentences) -> bool:
    """Whether a list or a re-readable stream of sentences holds one (a stream is read up
    to its first sentence)."""
    return next(iter(sentences), None) is not None


def _same_lengths(a, b) -> bool:
    """Whether two lists of lists have the same number of lists, of the same lengths."""
    return len(a) == len(b) and np.array_equal(np.fromiter(map(len, a), np.int64, len(a)),
                                               np.fromiter(map(len, b), np.int64, len(b)))


