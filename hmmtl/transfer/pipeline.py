"""``Tagger``: HMM word representations as features of a CRF-style labeler.

The method of Grave, Obozinski & Bach (2013): hidden Markov models learned on unlabeled
text of the source and target domains map every token to its Viterbi state, its posterior
over states and its type-level distribution p(state | word).  Words never seen in the
labeled data, frequent in a new domain, still get states shared with known words (through
the unlabeled text and through unknown-word signatures), so a labeler that uses the states
as features carries over better to the new domain.

The pipeline is vocabulary + feature templates (inside the labeler) + optional HMM
representations + labeler.  Representations are computed by the HMMs' compiled code over
the whole batch at once and handed to the labeler as per-token ``extra`` features, which
the labeler gathers at window offsets in compiled code; nothing here loops over tokens or
sentences.
"""

from __future__ import annotations

import functools
import inspect
import itertools

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import serialize
from .._base import BaseEstimator, check_is_fitted, check_random_state, token_accuracy
# the kinds of HMM representation a Tagger can use as features
from .._registry import REPRESENTATIONS
from .._text_api import TextTagging
from ..data import (LabelSet, RaggedBatch, Vocabulary, check_label_lists, check_sentences,
                    check_strings, check_tokens, factorize, flatten, lengths_to_offsets,
                    lookup_per_type, sentence_chunks, unflatten)
from ..hmm.estimators import compact_emissions, expand_emissions

if TYPE_CHECKING:

    from .._typing import LabelLists, TokenLists
    from ..io.notation import Notation

__all__ = ["Tagger", "RECIPES", "Recipe", "FeatureKey", "TextBatch", "REPRESENTATIONS",
           "hmm_representations", "check_representations", "make_labeler", "token_accuracy"]



def check_representations(representations) -> tuple[str, ...]:
    """Validate a representation list; a string may join kinds with ``+`` or ``,``."""
    if representations is None:
        return ()
    if isinstance(representations, str):
        representations = [r for r in representations.replace(",", "+").split("+") if r]
    reps = tuple(dict.fromkeys(str(r).strip() for r in representations))
    bad = [r for r in reps if r not in REPRESENTATIONS]
    if bad:
        raise ValueError(f"unknown representation(s) {bad}: expected a subset of "
                         f"{list(REPRESENTATIONS)}, e.g. representations=('viterbi', 'posterior')")
    return reps


@dataclass(frozen=True, eq=False, init=False)
class TextBatch:
    """Sentences converted once, where they enter a :class:`Tagger`: the token lists (in
    the model's notation), their tokens laid end to end and the ``offsets`` of each
    sentence.  Every stage after (the HMMs' vocabulary, the representations, the case
    profile, the labeler) reads this one object instead of flattening the lists again.

    sentences : list of list of str
        Made from ``flat`` on first use where they were not given (a batch that came in
        flat, or whose words the notation rewrote): prediction reads ``flat`` only.
    flat : list of str
        The tokens of ``sentences`` end to end.
    offsets : int64 ndarray of shape (n_sentences + 1,)
    """

    flat: list
    offsets: np.ndarray

    def __init__(self, sentences: list | None, flat: list, offsets: np.ndarray):
        object.__setattr__(self, "flat", flat)
        object.__setattr__(self, "offsets", offsets)
        if sentences is not None:
            self.__dict__["sentences"] = sentences  # the cached property, filled

    @functools.cached_property
    def sentences(self) -> list:
        return unflatten(self.flat, self.offsets)

    @property
    def n_sentences(self) -> int:
        return self.offsets.shape[0] - 1

    @classmethod
    def of(cls, sentences, notation: Notation | None = None,
           name: str = "sentences") -> TextBatch:
        """Flatten and check ``sentences`` (a list of token lists, already checked to be
        one) once; with ``notation``, write their words in it."""
        flat, offsets = flatten(sentences)
        return cls._checked(sentences, flat, offsets, notation, name)

    @classmethod
    def of_flat(cls, flat: list, offsets: np.ndarray, notation: Notation | None = None,
                name: str = "sentences") -> TextBatch:
        """Sentences given flat: ``flat`` the tokens end to end (a list), ``offsets`` where
        each sentence starts (int64, from 0 to ``len(flat)``); checked and, with
        ``notation``, written in it, as :meth:`of` does, without making token lists."""
        offsets = np.asarray(offsets, dtype=np.int64)
        if (offsets.ndim != 1 or not offsets.shape[0] or offsets[0] != 0
                or offsets[-1] != len(flat) or (np.diff(offsets) < 0).any()):
            raise ValueError(f"{name}: offsets must rise from 0 to the {len(flat)} tokens")
        return cls._checked(None, flat, offsets, notation, name)

    @classmethod
    def _checked(cls, sentences, flat, offsets, notation, name) -> TextBatch:
        check_strings(flat, offsets, name)
        if notation is not None:
            mapped = notation.map_flat_words(flat, offsets)
            if mapped is not flat:  # the token lists, where needed, made from the words
                return cls(None, mapped, offsets)
        return cls(sentences, flat, offsets)

    @classmethod
    def with_types(cls, sentences, flat: list, offsets, types: tuple) -> TextBatch:
        """Sentences a caller has already flattened and checked, with their distinct tokens
        (:func:`~hmmtl.data.factorize` of ``flat``) found: no stage finds them again."""
        text = cls(sentences, flat, offsets)
        text.__dict__["types"] = types  # the cached property, filled
        return text

    def for_labeler(self, labeler, notation: Notation | None, predicting: bool = False):
        """These sentences as ``labeler`` takes them: for hmmtl's labelers a
        :class:`~hmmtl.crf.labelers.ConvertedText` (words written in ``notation``, None: as
        given), which they neither flatten nor detect or map again; the token lists for
        another estimator.  ``predicting``: for a prediction of hmmtl's labelers, which read
        the flat tokens only (the token lists go with them where made, else None)."""
        from ..crf import AveragedPerceptron, LinearChainCRF
        from ..crf.labelers import ConvertedText

        if isinstance(labeler, (LinearChainCRF, AveragedPerceptron)):
            # the distinct tokens, where a stage before has found them
            return ConvertedText(self.__dict__.get("sentences") if predicting
                                 else self.sentences, self.flat, self.offsets, notation,
                                 self.__dict__.get("types"))
        return self.sentences

    def __add__(self, other: TextBatch) -> TextBatch:
        """The sentences of ``self`` followed by those of ``other``."""
        return TextBatch(list(self.sentences) + list(other.sentences), self.flat + other.flat,
                         np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]]))

    @property
    def n_tokens(self) -> int:
        return len(self.flat)

    @functools.cached_property
    def types(self) -> tuple[list, np.ndarray]:
        """The distinct tokens of :attr:`flat` (in order of first appearance) and each
        token's index among them (int64): the lookups of word types (the HMMs' vocabulary,
        the case profile, the labeler's feature types) run once per distinct word and are
        gathered per token.  Computed on first use, then shared by those stages."""
        return factorize(self.flat)

    def per_type(self, compute) -> np.ndarray:
        """``compute`` (tokens -> one value per token, an array) run on the distinct tokens
        only, gathered per token: equal to ``compute(self.flat)`` where a token's value is a
        function of the token alone."""
        types, ids = self.types
        return np.asarray(compute(types))[ids]

    def typed_per_type(self, compute):
        """:meth:`per_type` not gathered: a :class:`~hmmtl.crf.features.TypeValues` of the
        distinct tokens' values and each token's index among them."""
        from ..crf.features import TypeValues

        types, ids = self.types
        return TypeValues(np.asarray(compute(types)), ids)


def _sums_per_type(labeler) -> bool:
    """Whether ``labeler``'s ``predict`` takes extras as
    :class:`~hmmtl.crf.features.TypeValues` (hmmtl's CRF and perceptron)."""
    from ..crf import AveragedPerceptron, LinearChainCRF

    return isinstance(labeler, (LinearChainCRF, AveragedPerceptron))


class LabeledText(NamedTuple):
    """Checked training (or development) data: the text once converted and its tags (tag
    lists, and the same tags end to end)."""

    text: TextBatch
    tags: list
    flat_tags: list


class FeatureKey(NamedTuple):
    """Which representation of which HMM a feature is: ``hmm`` (its index in the
    ensemble) and ``kind`` (one of :data:`REPRESENTATIONS`).  Its :attr:`name` is the
    feature's name for the labeler and in the model file (``"hmm0.type"``)."""

    hmm: int
    kind: str
    prefix: str = "hmm"

    @property
    def name(self) -> str:
        return f"{self.prefix}{self.hmm}.{self.kind}"

    @classmethod
    def parse(cls, name: str, prefix: str = "hmm") -> FeatureKey | None:
        """The key named ``name``; None for a feature that is not one HMM's (such as
        :data:`NEIGHBOUR_TAGS`)."""
        head, dot, kind = name.partition(".")
        index = head[len(prefix):]
        if not (dot and head.startswith(prefix) and index.isdigit()):
            return None
        return cls(int(index), kind, prefix)


#: tokens per piece of the batch whose posteriors are computed at once (bounds memory:
#: a piece holds a dense (tokens, states) array per HMM)
PIECE_TOKENS = 50_000


def _pieces(offsets: np.ndarray, max_tokens: int):
    """(first sentence, end sentence) ranges of consecutive sentences of about
    ``max_tokens`` tokens each (a longer sentence is a piece of its own)."""
    n_seq = offsets.shape[0] - 1
    if offsets[-1] <= max_tokens:
        return [(0, n_seq)]
    cuts = np.searchsorted(offsets, np.arange(max_tokens, offsets[-1], max_tokens), "right") - 1
    bounds = np.unique(np.concatenate([[0], cuts, [n_seq]]))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


class _EnsembleFeatures:
    """Per-token features of several HMMs, computed as tagging needs them: each distinct
    vocabulary encodes the sentences once (HMMs fit on the ids of a shared ``vocabulary``
    use that one), type-level tables are computed once per HMM (or given: ``tables``, which
    is all a model of type-level representations keeps of its HMMs) and gathered per token,
    and in-context posteriors are computed a piece of the batch at a time."""

    def __init__(self, hmms, representations, top_k, vocabulary=None, prefix="hmm",
                 tables=None, n_hmms=None, word_tables=None):
        self.hmms = list(hmms)
        self.word_tables = dict(word_tables or {})
        self.n_hmms = len(self.hmms) if self.hmms else int(n_hmms or 0)
        self.representations = check_representations(representations)
        self.top_k = None if top_k is None else int(top_k)
        self.vocabulary = vocabulary
        self.prefix = prefix
        self._tables: dict[FeatureKey, object] = dict(tables or {})

    def _batches(self, text: TextBatch) -> list:
        """The :class:`~hmmtl.data.RaggedBatch` of ``text`` for each HMM."""
        if self.vocabulary is not None:
            shared = RaggedBatch(text.per_type(self.vocabulary.encode_tokens), text.offsets)
            return [shared] * self.n_hmms
        out: list = []
        seen: list = []
        for hmm in self.hmms:
            vocab = getattr(hmm, "vocabulary_", None)
            batch = next((b for v, b in seen if v is vocab or v == vocab), None)
            if batch is None:
                # an HMM of words reads the flat tokens; one fit on ids says so in encode
                batch = (hmm.encode(text.sentences) if vocab is None else
                         RaggedBatch(text.per_type(vocab.encode_tokens), text.offsets))
                seen.append((vocab, batch))
            out.append(batch)
        return out

    def type_table(self, i: int, kind: str):
        """``kind`` ("type" or "type_cluster") of every type of HMM ``i``: top-k (ids,
        weights), a dense (n_types, n_states) table, or the argmax per type."""
        key = FeatureKey(i, kind)
        if key not in self._tables:
            hmm = self.hmms[i]
            n_types = int(hmm.n_features_)
            every_type = RaggedBatch(np.arange(n_types, dtype=np.int32),
                                     np.array([0, n_types], dtype=np.int64))
            top_k = self.top_k if kind == "type" else None
            self._tables[key] = hmm.transform(every_type, kind=kind, top_k=top_k)
        return self._tables[key]

    def _in_context(self, hmm, batch, kind: str):
        """Viterbi states or (top-k) posteriors over the batch, one piece at a time."""
        results = []
        for a, b in _pieces(batch.offsets, PIECE_TOKENS):
            lo, hi = batch.offsets[a], batch.offsets[b]
            piece = RaggedBatch(batch.ids[lo:hi], batch.offsets[a:b + 1] - lo)
            top_k = self.top_k if kind == "posterior" else None
            results.append(hmm.transform(piece, kind=kind, top_k=top_k))
        if isinstance(results[0], tuple):
            return tuple(np.concatenate(parts) for parts in zip(*results))
        return np.concatenate(results)

    def __call__(self, text: TextBatch, typed: bool = False) -> dict:
        """The features of ``text``: name -> per-token value; with ``typed``, the values
        that are functions of the word type as :class:`~hmmtl.crf.features.TypeValues`
        (each type's row and the type of each token), which a CRF's prediction reads per
        word type without gathering them per token."""
        from ..crf.features import TypeValues

        def of_types(table, ids, integer: bool):
            # (top-k ids, weights) pairs, else integer or real values, in the dtypes a
            # labeler reads
            value = TypeValues(table, ids, (np.int32, np.float64) if isinstance(table, tuple)
                               else (np.int32,) if integer else (np.float64,))
            return value if typed else value.gather()

        extra: dict = {}
        batches = self._batches(text)
        for name, table in self.word_tables.items():  # more tables over the shared ids
            extra[name] = of_types(table, batches[0].ids, True)
        for i, batch in enumerate(batches):
            for kind in self.representations:
                name = FeatureKey(i, kind, self.prefix).name
                if kind in ("type", "type_cluster"):
                    extra[name] = of_types(self.type_table(i, kind), batch.ids,
                                           kind == "type_cluster")
                    continue
                value = self._in_context(self.hmms[i], batch, kind)
                if kind == "viterbi":
                    extra[name] = np.asarray(value, dtype=np.int32)
                elif isinstance(value, tuple):
                    extra[name] = (np.ascontiguousarray(value[0], dtype=np.int32),
                                   np.ascontiguousarray(value[1], dtype=np.float64))
                else:
                    extra[name] = np.asarray(value, dtype=np.float64)
        return extra


def hmm_representations(hmms: Sequence, sentences, representations=("viterbi", "posterior",
                                                                    "type"),
                        top_k: int | None = 8, *, prefix: str = "hmm",
                        vocabulary=None) -> dict:
    """Per-token HMM features of ``sentences`` for a labeler's ``extra`` argument.

    Parameters
    ----------
    hmms : sequence of fitted CategoricalHMM
    sentences : list of list of str
    representations : subset of {"viterbi", "posterior", "type", "type_cluster"}
    top_k : int or None
        Keep the ``top_k`` most probable states of posteriors and type distributions as a
        weighted categorical feature; None keeps the dense distribution (real features).
    prefix : str
        Feature names are ``f"{prefix}{i}.{kind}"``.
    vocabulary : Vocabulary, optional
        The vocabulary whose ids the HMMs were fit on (HMMs fit on integer ids); by
        default each HMM's own ``vocabulary_`` (sentences are encoded once per distinct
        vocabulary).

    Returns
    -------
    extra : dict
        ``viterbi`` / ``type_cluster`` -> int32 array of shape (n_tokens,);
        ``posterior`` / ``type`` -> (ids (n_tokens, k) int32, weights (n_tokens, k) float64)
        with ``top_k``, else float64 array of shape (n_tokens, n_states).
    """
    text = TextBatch.of(check_sentences(sentences, "sentences"))
    return _EnsembleFeatures(hmms, representations, top_k, vocabulary, prefix)(text)


def unlabeled_batches(unlabeled, notation: Notation | None = None):
    """The sentences of ``unlabeled`` (a list or any iterable of token lists) as
    :class:`TextBatch` es of :data:`STREAM_CHUNK` sentences, checked and written in
    ``notation`` (None: as given): how :meth:`Tagger.fit` reads its unlabeled text."""
    for chunk in sentence_chunks(unlabeled, STREAM_CHUNK):
        yield TextBatch.of(check_sentences(chunk, "unlabeled"), notation, "unlabeled")


def make_labeler(labeler="crf", params: dict | None = None):
    """A fresh labeler: ``"crf"`` (LinearChainCRF), ``"perceptron"`` (AveragedPerceptron),
    or a clone of a given estimator (``params`` set on it)."""
    params = dict(params or {})
    if isinstance(labeler, str):
        from ..crf import AveragedPerceptron, LinearChainCRF

        kinds = {"crf": LinearChainCRF, "perceptron": AveragedPerceptron}
        if labeler not in kinds:
            raise ValueError(f"labeler must be 'crf', 'perceptron' or an estimator instance, "
                             f"got {labeler!r}")
        return kinds[labeler](**params)
    if not (hasattr(labeler, "fit") and hasattr(labeler, "predict")):
        raise TypeError(f"labeler must be 'crf', 'perceptron' or an estimator with fit and "
                        f"predict, got {type(labeler).__name__}")
    from sklearn.base import clone

    est = clone(labeler)
    if params:
        est.set_params(**params)
    return est


def _check_tagged(sentences, tags, notation: Notation | None = None) -> LabeledText:
    """Words and tags checked and converted once (words written in ``notation`` when
    given): NLTK tagged sentences with ``tags=None``, else token lists and tag lists."""
    sentences = check_sentences(sentences, "sentences")
    if tags is None:
        # NLTK tagged sentences: [[(word, tag), ...], ...]
        try:
            sentences, tags = [list(s) for s in sentences], sentences
            words = [[w for w, _ in s] for s in tags]
            tags = [[t for _, t in s] for s in tags]
        except (TypeError, ValueError) as e:
            raise TypeError("fit(sentences) without tags expects NLTK tagged sentences "
                            "[[(word, tag), ...], ...]; or pass tags=") from e
        sentences = words
    if isinstance(tags, (str, bytes)):
        raise TypeError(f"tags must be a list of tag lists, got the string {tags[:40]!r}")
    tags = list(tags)  # an iterable (a generator) is read once
    if len(sentences) != len(tags):
        raise ValueError(f"got {len(sentences)} sentences but {len(tags)} tag sequences")
    text = TextBatch.of(sentences, notation)
    flat_tags = check_label_lists(tags, text.offsets, "tags", "tag")
    return LabeledText(text, tags, flat_tags)


#: HMM ensembles a Tagger learns itself (``Tagger(hmm="auto")``, ``hmmtl train
#: --unlabeled``): how many HMMs (different seeds), their states and EM iterations, and their
#: shared vocabulary (lowercased words seen ``min_count`` times; rarer words by signature).
#: Chosen on development data (EWT dev, Brown genres, NPS chat): see the README's "Domain
#: adaptation" section and benchmarks/results/adapt.md.
#: the settings for text of more than ``above`` tokens (training words included): batch
#: EM's 30 iterations over every token of 10M tokens would take about an hour on two cores,
#: so the HMMs learn by stepwise online EM (5 passes, mini-batches of 5,000 sentences), and
#: the vocabulary keeps the 80,000 most frequent words (the rest by signature), which bounds
#: the model file (type tables) and the EM statistics whatever the amount of text.  See
#: benchmarks/results/unlabeled_curve.md for the accuracy and time against the text.
LARGE_TEXT = {"above": 1_500_000, "algorithm": "online", "n_iter": 5, "batch_size": 5000,
              "max_vocab": 80_000}
RECIPES = {
    "auto": {"n_hmms": 3, "n_states": 128, "n_iter": 30, "lowercase": True, "min_count": 2,
             "neighbours": 10, "case_profile": True, "labeler_params": {"c2": 0.3},
             "large_text": LARGE_TEXT},
    "thorough": {"n_hmms": 5, "n_states": 128, "n_iter": 30, "lowercase": True,
                 "min_count": 2, "neighbours": 10, "case_profile": True,
                 "labeler_params": {"c2": 0.3}, "large_text": LARGE_TEXT},
}


@dataclass(frozen=True)
class Recipe:
    """An HMM ensemble to learn in :meth:`Tagger.fit`, its settings (a :data:`RECIPES`
    entry updated with ``hmm_params``) sorted by what they set.

    n_hmms, n_states : int
    vocabulary : dict
        The shared :class:`~hmmtl.data.Vocabulary`'s ``min_count``, ``max_size``,
        ``lowercase`` (``max_vocab`` in the settings).
    hmm_params : dict
        The other settings: :class:`~hmmtl.hmm.CategoricalHMM` parameters.
    neighbours : int
        Neighbours of the :func:`neighbour_tags` feature (0: none).
    case_profile : bool
        Whether the :class:`CaseProfile` feature is used.
    labeler_params : dict
        The CRF's parameters that go with the ensemble's features.
    large_text : dict
        Settings over these for text of more than ``large_text["above"]`` tokens
        (:meth:`for_tokens`): online EM with fewer passes and a capped vocabulary, where
        batch EM's time would grow with every token of every iteration.
    """

    n_hmms: int
    n_states: int
    vocabulary: dict
    hmm_params: dict
    neighbours: int = 0
    case_profile: bool = False
    labeler_params: dict = field(default_factory=dict)
    large_text: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict, compare=False, repr=False)

    def for_tokens(self, n_tokens: int) -> Recipe:
        """The recipe for text of ``n_tokens`` tokens: this one, or with the
        ``large_text`` settings over it when the text is larger than their ``"above"``."""
        large = dict(self.large_text)
        above = large.pop("above", None)
        if above is None or n_tokens <= int(above):
            return self
        settings = dict(self.settings)
        settings.pop("large_text", None)
        settings.update(large)
        return Recipe.from_settings(settings)

    @classmethod
    def from_settings(cls, settings: dict) -> Recipe:
        original = dict(settings)
        settings = dict(settings)
        return cls(settings=original,
                   large_text=dict(settings.pop("large_text", None) or {}),
                   n_hmms=int(settings.pop("n_hmms", 1)),
                   n_states=int(settings.pop("n_states")),
                   vocabulary={"min_count": int(settings.pop("min_count", 1)),
                               "max_size": settings.pop("max_vocab", None),
                               "lowercase": bool(settings.pop("lowercase", False))},
                   neighbours=int(settings.pop("neighbours", 0) or 0),
                   case_profile=bool(settings.pop("case_profile", False)),
                   labeler_params=dict(settings.pop("labeler_params", None) or {}),
                   hmm_params=settings)

#: the feature of the neighbours' tags (see :func:`neighbour_tags`), at offset 0 only
NEIGHBOUR_TAGS = "neighbours.tags"
#: the feature of the Brown clusters' path prefixes (``Tagger(clusters=...)``), at offset 0
CLUSTERS = "brown.prefixes"
#: the feature of the word-vector clusters (``Tagger(word_clusters=...)``), at the offsets of
#: the HMMs' features
WORD_CLUSTERS = "vec.clusters"
#: the feature of :class:`CaseProfile`, at offset 0 only
CASE_PROFILE = "case.profile"
#: representations that are a function of the word type alone (a table lookup to tag)
_TYPE_LEVEL = ("type", "type_cluster")
#: steps of the weights of the learned type tables (probabilities, in [0, 1]): a Tagger
#: keeps them as multiples of 1/255 from fit on and its file stores one byte each (a
#: quarter of float32's bytes, and they compress where float32's do not: the four tables of
#: a model with 10M tokens of text take 4.2 MB of its file in float32, 0.9 MB in bytes);
#: such a model, its tables rounded so, gives the same EWT dev accuracy to the 0.01 point
TABLE_WEIGHT_STEPS = 255


def _json_params(estimator) -> dict:
    """An estimator's parameters as JSON values (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in estimator.get_params(deep=False).items()}


def pack_table_weights(weights: np.ndarray) -> np.ndarray:
    """Weights in [0, 1] as their nearest step of :data:`TABLE_WEIGHT_STEPS`, one byte
    each (uint8)."""
    w = np.clip(np.asarray(weights, dtype=np.float64), 0.0, 1.0)
    return np.rint(w * TABLE_WEIGHT_STEPS).astype(np.uint8)


def unpack_table_weights(steps: np.ndarray) -> np.ndarray:
    """The float32 weights of :func:`pack_table_weights`'s bytes."""
    return np.asarray(steps, dtype=np.float32) / np.float32(TABLE_WEIGHT_STEPS)


def round_table_weights(tables: dict) -> dict:
    """Type tables with their (ids, weights) weights rounded to the steps a model file
    stores (:func:`pack_table_weights`); dense tables as they are."""
    return {name: (t[0], unpack_table_weights(pack_table_weights(t[1])))
            if isinstance(t, tuple) else t for name, t in tables.items()}


def _stored_weights(arrays, key: str, name: str) -> np.ndarray:
    """The weights of the stored type table ``key``: float32 (files of models learned
    before the steps), or bytes of :func:`pack_table_weights` (format version 6 on)."""
    ids, weights = arrays[key + ".ids"], arrays.get(key + ".weights")
    if weights is None or weights.shape != ids.shape:
        raise serialize.ModelFileError(
            f"model file: type table {name!r} has ids of shape {ids.shape} but weights of "
            f"shape {None if weights is None else weights.shape}")
    if weights.dtype == np.uint8:
        return unpack_table_weights(weights)
    if weights.dtype.kind != "f":
        raise serialize.ModelFileError(f"model file: type table {name!r} has weights of "
                                       f"dtype {weights.dtype}: expected float or uint8")
    return weights


def neighbour_tags(vectors: np.ndarray, known: np.ndarray, tag_dist: np.ndarray,
                   n_neighbours: int = 10, top: int = 3, block: int = 2048):
    """The tags of each word type's nearest neighbours among the labeled words: a label
    propagation that gives a word unseen in the labeled data the tags of the labeled words
    that the HMMs place in the same states (after Subramanya, Petrov & Pereira 2010).

    Parameters
    ----------
    vectors : ndarray of shape (n_types, d)
        One row per word type, unit length (e.g. the square roots of its type
        distributions under several HMMs, concatenated and normalized).
    known : int ndarray of shape (n_known,)
        The types seen in the labeled data.
    tag_dist : ndarray of shape (n_known, n_tags)
        Their tag distributions.
    n_neighbours : int
        Neighbours by cosine similarity; a known type is never its own neighbour, so its
        feature is made as an unseen word's is.
    top : int
        Tags kept per type.
    block : int
        Types per matrix product (bounds memory: ``block * n_known`` similarities).

    Returns
    -------
    ids : int32 ndarray of shape (n_types, top)
    weights : float32 ndarray of shape (n_types, top)
        The similarity-weighted tag distribution of the neighbours, its ``top`` largest
        entries by weight.
    """
    n_types = vectors.shape[0]
    n_known = known.shape[0]
    k = max(1, min(int(n_neighbours), n_known - 1))
    top = max(1, min(int(top), tag_dist.shape[1]))
    position = np.full(n_types, -1, dtype=np.int64)
    position[known] = np.arange(n_known)
    ids = np.zeros((n_types, top), dtype=np.int32)
    weights = np.zeros((n_types, top), dtype=np.float32)
    known_vectors = np.ascontiguousarray(vectors[known].T)
    for a in range(0, n_types, block):  # a few blocks: matrix products, no loop per type
        b = min(n_types, a + block)
        sim = vectors[a:b] @ known_vectors
        rows = np.flatnonzero(position[a:b] >= 0)
        sim[rows, position[a:b][rows]] = -np.inf
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        w = np.maximum(np.take_along_axis(sim, nearest, axis=1), 0.0)
        dist = np.einsum("nk,nkt->nt", w, tag_dist[nearest])
        dist /= np.maximum(dist.sum(axis=1, keepdims=True), 1e-12)
        best = np.argsort(-dist, axis=1, kind="stable")[:, :top]
        ids[a:b] = best
        weights[a:b] = np.take_along_axis(dist, best, axis=1)
    return ids, weights


#: share of a word's capitalized occurrences (not sentence-initial) that bounds each bin
_CASE_BINS = np.array([0.05, 0.3, 0.7, 0.95])
#: the code of a word never met in the text of the case profile
_CASE_UNSEEN = 15


def _case_class(word: str) -> int:
    """0 lowercase, 1 capitalized, 2 all capitals, 3 not starting with a letter."""
    if not word[:1].isalpha():
        return 3
    if word.isupper() and len(word) > 1:
        return 2
    return 1 if word[0].isupper() else 0


class CaseProfile:
    """How each word is capitalized in running text, learned from unlabeled text: a token's
    feature joins its own case (lowercase, capitalized, all capitals, other) with its word's
    usual case where the sentence does not force a capital (the share of capitalized
    occurrences, in 5 bins, and how often it was met: 1, 2-7, 8+ times).  A web text writes
    "Phone" or "Regards" capitalized where a newswire tagger reads a capital as a proper noun;
    the same words written lowercase elsewhere in the text say they are common words.

    Words are looked up by the CRC-32 of their lowercased form (:attr:`hashes`, sorted, with
    one code each in :attr:`codes`), computed once per distinct word.
    """

    def __init__(self, hashes=None, codes=None):
        self.hashes = np.zeros(0, np.int64) if hashes is None else np.asarray(hashes, np.int64)
        self.codes = np.zeros(0, np.uint8) if codes is None else np.asarray(codes, np.uint8)
        self._cache: dict = {}

    @classmethod
    def fit(cls, sentences) -> CaseProfile:
        """Count, per lowercased form, its capitalized and lowercase occurrences after the
        first token of each sentence (per distinct token: the tokens are counted in C)."""
        return cls.fit_tokens(*flatten(sentences))

    @classmethod
    def fit_tokens(cls, flat: list, offsets: np.ndarray) -> CaseProfile:
        """:meth:`fit` on the tokens of sentences laid end to end, at ``offsets``."""
        from collections import Counter

        later = np.ones(len(flat), dtype=bool)
        later[offsets[:-1][np.diff(offsets) > 0]] = False
        return cls.fit_counts(Counter(itertools.compress(flat, later)).items())

    @classmethod
    def fit_counts(cls, word_counts) -> CaseProfile:
        """:meth:`fit` from ``(word, n)`` pairs: each distinct token as written and how
        often it occurs after the first token of a sentence (a stream counts these once
        per distinct token, never holding the tokens)."""
        from ..crf.features import stable_hash

        counts: dict = {}
        for word, n in word_counts:
            if n and word[:1].isalpha():
                c = counts.setdefault(word.lower(), [0, 0])
                c[word[0].isupper()] += int(n)
        forms = list(counts)
        n_cap = np.array([counts[f][1] for f in forms], dtype=np.float64)
        total = n_cap + np.array([counts[f][0] for f in forms], dtype=np.float64)
        ratio_bin = np.searchsorted(_CASE_BINS, (n_cap + 0.5) / (total + 1.0), side="right")
        freq_bin = np.searchsorted([2, 8], total, side="right")
        hashes = stable_hash(forms)
        order = np.argsort(hashes, kind="stable")
        return cls(hashes[order], (ratio_bin * 3 + freq_bin)[order].astype(np.uint8))

    def _codes(self, words: list) -> np.ndarray:
        from ..crf.features import stable_hash

        hashes = stable_hash([w.lower() for w in words])
        where = np.minimum(np.searchsorted(self.hashes, hashes), max(len(self.hashes) - 1, 0))
        found = (self.hashes[where] == hashes) if len(self.hashes) else np.zeros(len(words), bool)
        return np.where(found, self.codes[where] if len(self.codes) else 0, _CASE_UNSEEN)

    def transform(self, flat_tokens: list) -> np.ndarray:
        """The feature id of every token, int32 (n_tokens,): 16 * its case class + its
        word's code; computed once per distinct token and remembered (bounded)."""
        def compute(words):
            return (16 * np.fromiter(map(_case_class, words), np.int64, len(words))
                    + self._codes(words)).tolist()

        return lookup_per_type(flat_tokens, self._cache, compute).astype(np.int32)


def _progress_bar(verbose: bool, stages: list[str]):
    if not verbose:
        return None
    from .._progress import progress_bar

    return progress_bar(total=len(stages), desc="training", unit="stage")


def _stage(bar, name: str) -> None:
    if bar is not None:
        bar.set_postfix_str(name)


#: sentences of unlabeled text converted and counted at a time (bounds the token lists
#: alive at once)
STREAM_CHUNK = 20_000


class EncodedText:
    """The text the HMMs learn from, read once as a stream and kept as word ids, never as
    token lists: memory grows with the distinct words (one id each) and 4 bytes a token.

    :meth:`add` takes sentences converted a chunk at a time (:class:`TextBatch`): each
    distinct token as written gets a provisional id, and its occurrences and its
    occurrences after the first token of a sentence (the :class:`CaseProfile` counts) are
    counted.  :meth:`encode` then fits the HMMs' vocabulary on the counts (as
    ``Vocabulary.fit`` on the tokens would) and maps every token to its vocabulary id
    through one table lookup per distinct token.

    Attributes
    ----------
    n_tokens, n_sentences : int
    """

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._ids: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._counts = np.zeros(0, np.int64)
        self._later = np.zeros(0, np.int64)
        self.n_tokens = 0
        self.n_sentences = 0

    @property
    def n_types(self) -> int:
        """Distinct tokens (as written) read so far."""
        return len(self._index)

    def add(self, text: TextBatch) -> None:
        """Count and keep the ids of one chunk of converted sentences."""
        flat, offsets = text.flat, text.offsets
        index = self._index
        ids = np.fromiter(map(index.get, flat, itertools.repeat(-1)), dtype=np.int64,
                          count=len(flat))
        missing = np.flatnonzero(ids < 0)
        if missing.size:  # new types: an id each, in order of first occurrence
            setdefault = index.setdefault
            for i in missing.tolist():
                ids[i] = setdefault(flat[i], len(index))
        n = len(index)
        later = np.ones(len(flat), dtype=bool)
        later[offsets[:-1][np.diff(offsets) > 0]] = False
        self._counts = _grown(self._counts, n) + np.bincount(ids, minlength=n)
        self._later = _grown(self._later, n) + np.bincount(ids[later], minlength=n)
        self._ids.append(ids.astype(np.int32))
        self._lengths.append(np.diff(offsets))
        self.n_tokens += len(flat)
        self.n_sentences += len(offsets) - 1

    def encode(self, vocabulary: Vocabulary) -> RaggedBatch:
        """Fit ``vocabulary`` on the counts and give every sentence read as its ids."""
        types = list(self._index)
        counts = self._counts.tolist()
        if vocabulary.lowercase:
            merged: dict[str, int] = {}
            for word, c in zip(types, counts):
                key = word.lower()
                merged[key] = merged.get(key, 0) + c
            vocabulary.fit_counts(merged)
        else:
            vocabulary.fit_counts(dict(zip(types, counts)))
        table = vocabulary.encode_tokens(types) if types else np.zeros(0, np.int32)
        ids = np.empty(self.n_tokens, dtype=np.int32)
        at = 0
        for chunk in self._ids:
            ids[at:at + chunk.shape[0]] = table[chunk]
            at += chunk.shape[0]
        return RaggedBatch(ids, self._offsets())

    def _offsets(self) -> np.ndarray:
        """The offsets of the sentences read."""
        lengths = (np.concatenate(self._lengths) if self._lengths
                   else np.zeros(0, np.int64))
        return lengths_to_offsets(lengths)

    def token_ids(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The text read as (distinct tokens as written, in order of first occurrence; their
        counts; every token's index among them, int32; the sentences' offsets), before
        :meth:`release`."""
        ids = (np.concatenate(self._ids) if self._ids else np.zeros(0, np.int32))
        return list(self._index), self._counts.copy(), ids, self._offsets()

    def case_profile(self) -> CaseProfile:
        """The :class:`CaseProfile` of the text read (as ``CaseProfile.fit`` on it)."""
        return CaseProfile.fit_counts(zip(self._index, self._later.tolist()))

    def release(self) -> None:
        """Drop the ids kept (after :meth:`encode`)."""
        self._ids, self._lengths = [], []


def _grown(counts: np.ndarray, n: int) -> np.ndarray:
    if counts.shape[0] >= n:
        return counts
    return np.concatenate([counts, np.zeros(n - counts.shape[0], counts.dtype)])


class Tagger(TextTagging, serialize.ModelFileMixin, BaseEstimator):
    """A sequence labeler with HMM word representations as features.

    Parameters
    ----------
    labeler : {"crf", "perceptron"} or estimator, default="crf"
        The supervised labeler: :class:`hmmtl.LinearChainCRF`,
        :class:`hmmtl.AveragedPerceptron`, or an instance with the same ``fit(X, y,
        extra=...)`` / ``predict(X, extra=...)`` interface (it is cloned in ``fit``).
    hmm : None, "auto", "thorough", int, CategoricalHMM or list of CategoricalHMM
        None: no representations (a plain labeler).  ``"auto"``: the recommended ensemble
        of HMMs (:data:`RECIPES`), learned in :meth:`fit` on the training words plus the
        ``unlabeled`` text; ``"thorough"``: a larger, slower one.  An int: one HMM with that
        many states, learned the same way.  A fitted HMM, or a list of them (different
        numbers of states or seeds): their representations are all used.
    representations : sequence of str, default=("type",)
        Which representations of each HMM become features: ``"viterbi"`` (the state on the
        Viterbi path), ``"posterior"`` (the posterior over states in context),
        ``"type"`` (context-free p(state | word)), ``"type_cluster"`` (its argmax).  The
        type distributions alone did as well on development data as all three (EWT dev,
        Brown, NPS chat: within 0.1 point), and tag by a table lookup per word type.
    top_k : int or None, default=4
        Posteriors and type distributions keep their ``top_k`` largest states as weighted
        categorical features; None uses the dense distribution as real-valued features.
    window : int or None, default=1
        The representation features are used at offsets ``-window..+window`` (passed to the
        labeler as ``extra_window``); None leaves the labeler's own setting.
    labeler_params : dict, optional
        Keyword arguments of the labeler (``c2``, ``max_iterations``, ...).
    hmm_params : dict, optional
        Settings of the HMMs learned in :meth:`fit`, over the recipe's: ``n_hmms``,
        ``n_states``, the vocabulary's ``lowercase`` / ``min_count`` / ``max_vocab``, and
        any :class:`hmmtl.CategoricalHMM` parameter (``n_iter``, ``kbest``, ...).
    notation : {"auto", "keep"}, default="auto"
        ``"auto"``: the unlabeled text and the words to tag are written the way the
        training words write brackets and quotes (``notation_``, :mod:`hmmtl.io.notation`),
        and :meth:`score` reads gold bracket and quote tags in the training notation;
        ``"keep"``: everything is used as given.
    random_state : int, RandomState or None
        Seeds the HMMs learned in :meth:`fit`.
    clusters : None or BrownClusters, default=None
        Fitted Brown clusters (:class:`hmmtl.ner.BrownClusters`, e.g. learned on the
        training words plus the ``unlabeled`` text in one streamed pass by
        :func:`hmmtl.ner.clusters.learn_clusters`, as ``hmmtl train --clusters C`` does)
        whose path prefixes (``cluster_prefixes`` bits) are features at offset 0, beside
        the HMMs'; used as given.  On EWT dev (trained on CoNLL-2000, web
        and news text as ``unlabeled``, ``hmm="auto"``) 500 clusters added +0.10 accuracy /
        +0.37 OOV accuracy with 0.2M tokens of text, +0.24 / +1.11 with 3M and +0.00 /
        +0.10 with 10M (``benchmarks/bench_unlabeled_curve.py --clusters``).
    cluster_prefixes : tuple of int, default=(4, 6, 10, 20)
        The path prefixes (in bits) of the cluster features.
    word_clusters : None or WordVectorClusters, default=None
        Clusters of count-based word vectors (:class:`hmmtl.ner.vectors.WordVectorClusters`:
        each word's positive PMI with the frequent words at each position around it, cut by
        k-means at several grains), each grain's cluster a feature at the offsets of the
        HMMs' (``window``): fitted, used as given; or unfitted, learned in :meth:`fit` on
        the training words and the ``unlabeled`` text, in the one reading of the text that
        the HMMs learn from (``hmmtl train --word-clusters K,K,...``).

    Attributes
    ----------
    labeler_ : estimator
        The fitted labeler.
    clusters_ : BrownClusters or None
        The clusters whose prefixes are features.
    word_clusters_ : WordVectorClusters or None
        The word-vector clusters that are features.
    hmms_ : list of CategoricalHMM
        The HMMs whose representations are used (empty without representations).  A model
        file of HMMs learned in :meth:`fit` whose representations are all type-level
        (``"type"``, ``"type_cluster"``) keeps only ``type_tables_``: loaded, its ``hmms_``
        is empty.
    n_hmms_ : int
        Number of HMMs whose representations are features.
    type_tables_ : dict
        For HMMs learned in :meth:`fit`: the type-level representations of every word type
        (``"hmm0.type"`` -> top-k ids and float32 weights, or a dense table; ``"hmm0.type_cluster"``
        -> the state of each type), gathered per token to tag.
    case_profile_ : CaseProfile or None
        How each word is capitalized in the HMMs' text (a feature of the learned recipes).
    hmm_vocabulary_ : Vocabulary or None
        The vocabulary shared by the HMMs learned in :meth:`fit` (they are fit on its ids);
        None when the HMMs were given (each has its own).
    notation_ : Notation
        How the training words and tags write brackets and quotes.

    Examples
    --------
    Domain adaptation in one call: the HMMs learn word classes from the training words and
    the target-domain text, and the CRF uses them as features.

    >>> tagger = Tagger(hmm="auto").fit(train_words, train_tags,   # doctest: +SKIP
    ...                                 unlabeled=web_sentences)
    >>> tagger.tag(["u", "can", "(", "prob", ")", "fix", "it"])    # doctest: +SKIP
    >>> tagger.save("pos-web.hmmtl")                               # doctest: +SKIP
    """

    #: a fitted HMM (or clusters) given as a parameter is used as it is, also by a clone
    _fitted_params = ("hmm", "clusters", "word_clusters")

    # fitted state that fit and _from_state set (declared for the methods that read it)
    hmms_: list
    clusters_: Any
    n_hmms_: int
    hmm_vocabulary_: Vocabulary | None
    #: the text the learned HMMs read: sentences, tokens, distinct tokens, vocabulary size
    text_summary_: dict | None
    _features_cache: _EnsembleFeatures | None

    def __init__(self, labeler="crf", hmm=None, representations=("type",), top_k=4, window=1,
                 labeler_params=None, hmm_params=None, notation="auto",
                 random_state=None, clusters=None, cluster_prefixes=(4, 6, 10, 20),
                 word_clusters=None):
        self.labeler = labeler
        self.hmm = hmm
        self.representations = representations
        self.top_k = top_k
        self.window = window
        self.labeler_params = labeler_params
        self.hmm_params = hmm_params
        self.notation = notation
        self.random_state = random_state
        self.clusters = clusters
        self.cluster_prefixes = cluster_prefixes
        self.word_clusters = word_clusters

    # ------------------------------------------------------------------ building
    def _labeler_params(self) -> dict:
        """The labeler's parameters: the recipe's for the CRF (a learned ensemble's features
        want a little more L2 than words alone: c2 0.3), then ``labeler_params``, then the
        offsets of each extra feature."""
        recipe = self._recipe() if self.labeler == "crf" else None
        params = {} if recipe is None else dict(recipe.labeler_params)
        params.update(self.labeler_params or {})
        if self.window is not None and self.hmm is not None:
            offsets = tuple(range(-int(self.window), int(self.window) + 1))
            window = {FeatureKey(i, kind).name: offsets for i in range(self.n_hmms_)
                      for kind in self.representations_}
            window.update({name: (0,) for name in self.type_tables_
                           if FeatureKey.parse(name) is None})
            if self.case_profile_ is not None:
                window[CASE_PROFILE] = (0,)
            params.setdefault("extra_window", window)
        if self.clusters_ is not None:
            params["extra_window"] = {**params.get("extra_window", {}), CLUSTERS: (0,)}
        if self.word_clusters_ is not None:
            w = 0 if self.window is None else int(self.window)
            params["extra_window"] = {**params.get("extra_window", {}),
                                      WORD_CLUSTERS: tuple(range(-w, w + 1))}
        return params

    def _recipe(self) -> Recipe | None:
        """The settings of the HMMs to learn, or None when they are given (or absent)."""
        hmm = self.hmm
        if isinstance(hmm, str):
            if hmm not in RECIPES:
                raise ValueError(f"hmm must be None, {', '.join(map(repr, RECIPES))}, a number "
                                 f"of states or fitted HMMs, got {hmm!r}")
            recipe: dict = dict(RECIPES[hmm])
        elif isinstance(hmm, (int, np.integer)) and not isinstance(hmm, bool):
            if hmm < 1:
                raise ValueError(f"hmm must be a positive number of states, got {hmm}")
            recipe = {"n_hmms": 1, "n_states": int(hmm)}
        else:
            return None
        given = dict(self.hmm_params or {})
        if "large_text" in recipe and "large_text" not in given:
            # the settings given win over the recipe's for large text too
            large: dict = recipe["large_text"]
            recipe["large_text"] = {k: v for k, v in large.items() if k not in given}
        recipe.update(given)
        return Recipe.from_settings(recipe)

    def _fit_hmms(self, recipe: Recipe, text: EncodedText, bar, verbose: bool) -> list:
        """The recipe's HMMs, each fit on the ids of one shared vocabulary of ``text``."""
        from ..hmm import CategoricalHMM

        n_hmms, n_states = recipe.n_hmms, recipe.n_states
        if not text.n_tokens:
            raise ValueError("there is no text to learn the HMMs on: the training sentences "
                             "and unlabeled= hold no tokens")
        vocabulary = Vocabulary(**recipe.vocabulary)
        batch = text.encode(vocabulary)
        text.release()
        self.text_summary_ = {"n_sentences": text.n_sentences, "n_tokens": text.n_tokens,
                              "n_types": text.n_types, "vocabulary": len(vocabulary),
                              "hmm_params": dict(recipe.hmm_params)}
        rs = check_random_state(self.random_state)
        seeds = rs.randint(np.iinfo(np.int32).max, size=n_hmms)
        hmms = []
        for i, seed in enumerate(seeds.tolist()):
            _stage(bar, f"HMM {i + 1}/{n_hmms} ({n_states} states, {batch.n_tokens} tokens)")
            params = dict(recipe.hmm_params, random_state=seed, n_features=len(vocabulary))
            params.setdefault("verbose", verbose)
            hmm = CategoricalHMM(n_states=n_states, **params).fit(batch)
            # rounded now to what the model file keeps, so that a saved and reloaded
            # Tagger tags exactly as this one
            hmm.emission_prob_ = expand_emissions(compact_emissions(hmm.emission_prob_))
            hmms.append(hmm)
            if bar is not None:
                bar.update()
        self.hmm_vocabulary_ = vocabulary
        return hmms

    def _given_hmms(self) -> list:
        return given_hmms(self.hmm)

    def _features(self):
        """The function computing the HMM features of sentences (None without HMMs)."""
        if not self.n_hmms_:
            return None
        if getattr(self, "_features_cache", None) is None:
            keys = {name: FeatureKey.parse(name) for name in self.type_tables_}
            self._features_cache = _EnsembleFeatures(
                self.hmms_, self.representations_, self.top_k, self.hmm_vocabulary_,
                tables={key: self.type_tables_[name] for name, key in keys.items()
                        if key is not None},
                n_hmms=self.n_hmms_,
                word_tables={name: self.type_tables_[name] for name, key in keys.items()
                             if key is None})
        return self._features_cache

    def _neighbour_tags(self, train: LabeledText, n_neighbours: int):
        """The :func:`neighbour_tags` table of the learned HMMs' vocabulary: for every type,
        the tags of the labeled words nearest to it in the HMMs' state space."""
        vocab = self.hmm_vocabulary_
        assert vocab is not None  # learned with the HMMs
        vectors = np.hstack([np.sqrt(h.type_distribution()) for h in self.hmms_])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        flat_tags = train.flat_tags
        ids = vocab.encode_tokens(train.text.flat).astype(np.int64)
        tagset = sorted(set(flat_tags))
        tag_ids = np.asarray(LabelSet(tagset).encode_flat(flat_tags), dtype=np.int64)
        words = vocab.is_known(ids)
        known = np.unique(ids[words])
        counts = np.zeros((known.shape[0], len(tagset)))
        np.add.at(counts, (np.searchsorted(known, ids[words]), tag_ids[words]), 1.0)
        if known.shape[0] < 2:
            raise ValueError("the neighbours' tags need at least two labeled word types in "
                             "the HMMs' vocabulary")
        return neighbour_tags(vectors, known, counts / counts.sum(axis=1, keepdims=True),
                              n_neighbours)

    def _learned_type_tables(self) -> dict:
        """The type-level representations of the HMMs learned in fit, every type at once,
        in the precision the model file keeps (float32 weights): ``{"hmm0.type": (ids,
        weights), ...}``."""
        features = _EnsembleFeatures(self.hmms_, self.representations_, self.top_k,
                                     self.hmm_vocabulary_)
        tables = {}
        for i in range(len(self.hmms_)):
            for kind in self.representations_:
                if kind in _TYPE_LEVEL:
                    table = features.type_table(i, kind)
                    tables[FeatureKey(i, kind).name] = (
                        (table[0].astype(np.int32), table[1].astype(np.float32))
                        if isinstance(table, tuple) else
                        table.astype(np.float32 if table.ndim == 2 else np.int32))
        return tables

    def _extra(self, text: TextBatch, typed: bool = False):
        """The labeler's extra features of ``text``; ``typed``: those that are functions of
        the word type as :class:`~hmmtl.crf.features.TypeValues` (for a CRF's
        prediction)."""
        features = self._features()
        extra = None if features is None else features(text, typed)
        per_type = text.typed_per_type if typed else text.per_type
        if self.case_profile_ is not None:
            extra = dict(extra or {})
            extra[CASE_PROFILE] = per_type(self.case_profile_.transform)
        clusters = getattr(self, "clusters_", None)
        if clusters is not None:
            extra = dict(extra or {})
            prefixes = tuple(self.cluster_prefixes)
            extra[CLUSTERS] = per_type(lambda types: clusters.transform_types(types, prefixes))
        word_clusters = getattr(self, "word_clusters_", None)
        if word_clusters is not None:
            extra = dict(extra or {})
            extra[WORD_CLUSTERS] = per_type(word_clusters.transform_types)
        return extra

    def _model_notation(self) -> Notation | None:
        """The notation new words are written in (None: they are used as given)."""
        return None if self.notation == "keep" else self.notation_

    # ------------------------------------------------------------------ API
    def fit(self, sentences: Sequence[Sequence[str]] | Sequence[Sequence[tuple[str, str]]],
            tags: LabelLists | None = None, *, unlabeled: TokenLists | None = None,
            dev: tuple[TokenLists, LabelLists] | None = None,
            verbose: bool = False) -> Tagger:
        """Learn the HMMs when asked (on the training words plus ``unlabeled``), then the
        labeler with their features on the training sentences.

        Parameters
        ----------
        sentences : list of list of str
            Training sentences; or NLTK tagged sentences ``[[(word, tag), ...]]`` with
            ``tags=None``.
        tags : list of list of str, optional
        unlabeled : list of list of str, or iterable of them, optional
            Unlabeled text (typically of the target domain) that the HMMs learn on together
            with the training words, when ``hmm`` is ``"auto"``, ``"thorough"`` or a number
            of states.  With ``notation="auto"`` it is first written in the notation of the
            training words.  Any iterable (a generator over files) is read once, a chunk of
            sentences at a time, and kept as word ids (:class:`EncodedText`), never as
            token lists; text of more than a recipe's ``large_text["above"]`` tokens is
            learned with its large-text settings (:data:`RECIPES`).
        dev : (sentences, tags), optional
            Development data handed to the labeler (early stopping where it supports it).
        verbose : bool
            Show each stage (HMMs, features, labeler) on a tqdm progress display.

        Returns
        -------
        self
        """
        from ..io.notation import detect_notation

        if self.notation not in ("auto", "keep"):
            raise ValueError(f"notation must be 'auto' or 'keep', got {self.notation!r}")
        # the door: every stage below reads these converted texts, never the lists again
        train = _check_tagged(sentences, tags)
        self.representations_ = check_representations(self.representations)
        if self.hmm is not None and not self.representations_:
            raise ValueError("an hmm is given but representations is empty: list at least "
                             "one of " + str(list(REPRESENTATIONS)))
        self.notation_ = detect_notation(train.text.flat, train.flat_tags)
        recipe = self._recipe()
        learn_vectors = self._word_clusters_to_learn()
        if recipe is None and unlabeled is not None and learn_vectors is None:
            raise ValueError("unlabeled= is for HMMs learned in fit (hmm='auto', "
                             "'thorough' or a number of states) or word clusters learned "
                             "in fit; this Tagger has "
                             + ("no HMM" if self.hmm is None else "fitted HMMs"))
        self.clusters_ = self._given_clusters()
        dev_data = None if dev is None else self._check_dev(dev)
        text = None
        if recipe is not None or learn_vectors is not None:
            # the training words, then the unlabeled text streamed
            text = self._read_text(train, unlabeled, verbose)
            if recipe is not None:
                recipe = recipe.for_tokens(text.n_tokens)
        self.word_clusters_ = (self.word_clusters if learn_vectors is None
                               else learn_vectors._fit_encoded(text))
        stages = ([f"HMM {i + 1}" for i in range(recipe.n_hmms)]
                  if recipe else []) + ["features", "labeler"]
        bar = _progress_bar(verbose, stages)
        self._fit_representations(recipe, train, text, bar, verbose)
        self.labeler_ = self._fit_labeler(train, dev_data, bar, verbose)
        if bar is not None:
            bar.close()
        return self

    def _check_dev(self, dev) -> LabeledText:
        """Development data checked, its words in the model's notation and its tags in the
        training tags' (``notation="auto"``)."""
        dev_data = (_check_tagged(*dev, self._model_notation())
                    if isinstance(dev, tuple) and len(dev) == 2
                    else _check_tagged(dev, None, self._model_notation()))
        if self.notation == "auto":
            tags = self.notation_.map_tags(dev_data.tags)
            if tags is not dev_data.tags:
                dev_data = dev_data._replace(tags=tags)
        return dev_data

    def _word_clusters_to_learn(self):
        """An unfitted clone of ``word_clusters`` to learn in fit, None when it is None or
        fitted (then used as given); a bad value is refused."""
        from sklearn.base import clone

        c = self.word_clusters
        if c is None:
            return None
        # duck-typed: the clusters' module (hmmtl.ner) sits above this one
        if not (hasattr(c, "_fit_encoded") and hasattr(c, "transform_types")):
            raise TypeError(f"word_clusters must be None or a WordVectorClusters (fitted, or "
                            f"to learn in fit), got {type(c).__name__}")
        if hasattr(c, "labels_"):
            return None
        c = clone(c)
        c._check_params()
        return c

    def _given_clusters(self):
        """The fitted Brown clusters of the ``clusters`` parameter (None: none), checked,
        with their prefixes (``cluster_prefixes``)."""
        c = self.clusters
        if c is None:
            return None
        if not (hasattr(c, "transform_types") and hasattr(c, "prefix_table")):
            raise TypeError(f"clusters must be None or fitted BrownClusters, got "
                            f"{type(c).__name__}")
        check_is_fitted(c, "paths_")
        c.prefix_table(tuple(self.cluster_prefixes))  # checks the prefixes
        return c

    def _read_text(self, train: LabeledText, unlabeled, verbose: bool) -> EncodedText:
        """The training words, then ``unlabeled`` (a list or any iterable of token lists,
        read once, a chunk at a time, in the model's notation), counted and kept as ids."""
        text = EncodedText()
        text.add(train.text)
        if unlabeled is None:
            return text
        bar = None
        if verbose:
            from .._progress import progress_bar

            bar = progress_bar(desc="reading unlabeled text", unit="tok",
                               total=getattr(unlabeled, "max_tokens", None))
        for batch in unlabeled_batches(unlabeled, self._model_notation()):
            text.add(batch)
            if bar is not None:
                bar.update(batch.n_tokens)
                bar.set_postfix_str(f"{text.n_types} types")
        if bar is not None:
            bar.close()
        return text

    def _fit_representations(self, recipe: Recipe | None, train: LabeledText,
                             text: EncodedText | None, bar, verbose: bool) -> None:
        """The HMMs (learned on the training words and the unlabeled text, or given) and
        the tables of features made from them."""
        self.hmm_vocabulary_ = None
        self.type_tables_ = {}
        self.case_profile_ = None
        self._features_cache = None
        self.text_summary_ = None
        if recipe is not None:
            assert text is not None  # read in fit with the recipe
            self.hmms_ = self._fit_hmms(recipe, text, bar, verbose)
            self.type_tables_ = self._learned_type_tables()
            if recipe.neighbours:
                self.type_tables_[NEIGHBOUR_TAGS] = self._neighbour_tags(
                    train, recipe.neighbours)
            # in the steps the model file stores: the tags of a saved model are those of fit
            self.type_tables_ = round_table_weights(self.type_tables_)
            if recipe.case_profile:
                self.case_profile_ = text.case_profile()
        else:
            self.hmms_ = self._given_hmms()
        self.n_hmms_ = len(self.hmms_)

    def _fit_labeler(self, train: LabeledText, dev: LabeledText | None, bar, verbose: bool):
        """The labeler, fit on the training sentences with the HMM features."""
        labeler = make_labeler(self.labeler, self._labeler_params())
        if "notation" in labeler.get_params(deep=False):
            labeler.set_params(notation=self.notation)
        _stage(bar, "HMM features")
        kwargs = {}
        extra = self._extra(train.text)
        if extra is not None:
            kwargs["extra"] = extra
        if bar is not None:
            bar.update()
        if dev is not None and "X_dev" not in inspect.signature(labeler.fit).parameters:
            raise ValueError(f"{type(labeler).__name__} does not use development data; "
                             "drop dev= (or --dev), or use the CRF labeler for early stopping")
        if dev is not None:
            kwargs.update(X_dev=dev.text.for_labeler(labeler, self._model_notation()),
                          y_dev=dev.tags)
            if extra is not None:
                kwargs["extra_dev"] = self._extra(dev.text)
        sentences = train.text.sentences
        _stage(bar, f"{type(labeler).__name__} on {len(sentences)} sentences")
        if verbose and "verbose" in labeler.get_params(deep=False):
            labeler.set_params(verbose=True)
        # the training words are written in the notation detected on them
        labeler.fit(train.text.for_labeler(labeler, self.notation_), train.tags, **kwargs)
        if bar is not None:
            bar.update()
        return labeler

    def predict(self, sentences: TokenLists) -> list[list[str]]:
        """Tag sequences: a list of tag lists aligned with ``sentences``, in the notation
        of the training tags.  Each sentence gets the same tags alone or in any batch."""
        check_is_fitted(self, "labeler_")
        sentences = check_sentences(sentences, "sentences")
        if not sentences:
            return []
        return self._predict_text(TextBatch.of(sentences, self._model_notation()))

    def _predict_text(self, text: TextBatch) -> list[list[str]]:
        """The tags of sentences converted once (words in the model's notation)."""
        if not text.n_sentences:
            return []
        X, extra = self._labeler_input(text)
        if extra is None:
            return self.labeler_.predict(X)
        return self.labeler_.predict(X, extra=extra)

    def _labeler_input(self, text: TextBatch) -> tuple:
        """(the sentences as the labeler takes them, its extra features) of ``text`` for
        prediction: a CRF sums the features of word types per type, so those given per
        type are read at the types of the batch only, never gathered per token."""
        extra = self._extra(text, typed=_sums_per_type(self.labeler_))
        return text.for_labeler(self.labeler_, self._model_notation(), predicting=True), extra

    def _predict_flat(self, sentences: TokenLists | None = None, *, flat: list | None = None,
                      offsets=None) -> list:
        """:meth:`predict`'s tags end to end, one flat list (for writers of tokens in a
        row): a CRF's label ids decoded at once, never cut into sentences and joined
        again.  The sentences may come flat instead (``flat`` tokens, sentence ``offsets``:
        :meth:`TextBatch.of_flat`), as raw text's are split, and are never made into token
        lists then."""
        check_is_fitted(self, "labeler_")
        if sentences is None:
            if flat is None or offsets is None:
                raise TypeError("give sentences, or flat and offsets")
            text = TextBatch.of_flat(flat, offsets, self._model_notation())
        else:
            text = TextBatch.of(check_sentences(sentences, "sentences"),
                                self._model_notation())
        labeler = self.labeler_
        if not text.n_sentences:
            return []
        if not _sums_per_type(labeler):
            return list(itertools.chain.from_iterable(self._predict_text(text)))
        path, _ = labeler._predict_path(*self._labeler_input(text))
        return labeler.labels_.decode(path)

    def score(self, sentences: TokenLists, tags: LabelLists) -> float:
        """Token accuracy of :meth:`predict` against ``tags`` (bracket and quote tags read
        in the training notation with ``notation="auto"``)."""
        check_is_fitted(self, "labeler_")
        return self._score(_check_tagged(sentences, tags, self._model_notation()))

    def _score(self, gold: LabeledText) -> float:
        tags = gold.tags
        if self.notation == "auto":
            tags = self.notation_.map_tags(tags)
        return token_accuracy(tags, self._predict_text(gold.text))

    # NLTK's TaggerI interface
    def tag(self, tokens: Sequence[str]) -> list[tuple[str, str]]:
        """NLTK ``tag``: ``[(word, tag), ...]`` for one sentence."""
        tokens = check_tokens(tokens)
        return list(zip(tokens, self.predict([tokens])[0]))

    def tag_sents(self, sentences: TokenLists) -> list[list[tuple[str, str]]]:
        """NLTK ``tag_sents``: one list of ``(word, tag)`` pairs per sentence."""
        sentences = [list(s) for s in check_sentences(sentences, "sentences")]
        return [list(zip(s, t)) for s, t in zip(sentences, self.predict(sentences))]

    def evaluate(self, gold) -> float:
        """NLTK ``accuracy`` on tagged sentences ``[[(word, tag), ...], ...]``."""
        check_is_fitted(self, "labeler_")
        return self._score(_check_tagged(gold, None, self._model_notation()))

    accuracy = evaluate

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "labeler_")
        learned = self.hmm_vocabulary_ is not None
        # HMMs learned in fit are kept whole only when tagging runs them (in-context
        # representations); else their type tables are all tagging needs
        keep_hmms = not learned or not set(self.representations_) <= set(_TYPE_LEVEL)
        children = {"labeler": self.labeler_}
        if keep_hmms:
            children.update({f"hmm{i}": h for i, h in enumerate(self.hmms_)})
        if self.clusters_ is not None:
            children["clusters"] = self.clusters_
        if self.word_clusters_ is not None:  # files of models without them stay as they were
            children["word_clusters"] = self.word_clusters_
        arrays, nested = serialize.pack_nested(children)
        # the HMMs learned in fit hold emission tables rounded to what this stores
        compact = sorted(f"hmm{i}/emission_prob" for i in range(len(self.hmms_))
                         if learned and keep_hmms)
        for key in compact:
            arrays[key] = compact_emissions(arrays[key])
        for name, table in self.type_tables_.items():
            if isinstance(table, tuple):
                ids, weights = table
                small = ids.max(initial=0) < 256
                arrays[f"type_tables/{name}.ids"] = ids.astype(np.uint8 if small else np.int32)
                steps = pack_table_weights(weights)
                # weights on the steps (as fit makes them) are stored exactly as bytes
                if np.array_equal(unpack_table_weights(steps), weights):
                    arrays[f"type_tables/{name}.weights"] = steps
                    serialize.require_format_version(serialize.BYTE_WEIGHTS_VERSION)
                else:  # a model read from an older file keeps its float32 weights
                    arrays[f"type_tables/{name}.weights"] = weights
            else:
                arrays[f"type_tables/{name}"] = table
        if self.case_profile_ is not None:
            arrays["case_profile/hashes"] = self.case_profile_.hashes.astype(np.uint32)
            arrays["case_profile/codes"] = self.case_profile_.codes
        labeler = self.labeler if isinstance(self.labeler, str) else None
        hmm = self.hmm
        meta = {
            "params": {
                "labeler": labeler,
                "hmm": None if hmm is None else hmm if isinstance(hmm, str) else
                (int(hmm) if isinstance(hmm, (int, np.integer)) else "fitted"),
                "representations": list(self.representations_),
                "top_k": None if self.top_k is None else int(self.top_k),
                "window": None if self.window is None else int(self.window),
                "labeler_params": self.labeler_params,
                "hmm_params": self.hmm_params,
                "notation": self.notation,
                "random_state": self.random_state if isinstance(self.random_state,
                                                                (int, type(None))) else None,
                "clusters": None if self.clusters is None else "fitted",
                "cluster_prefixes": [int(b) for b in self.cluster_prefixes],
                # only in the files of models that have them (the others stay as they were):
                # "fitted" (given fitted) or the settings they were learned with in fit
                **({"word_clusters": "fitted" if hasattr(self.word_clusters, "labels_")
                    else _json_params(self.word_clusters)}
                   if self.word_clusters_ is not None else {}),
            },
            "clusters": self.clusters_ is not None,
            **({"word_clusters": True} if self.word_clusters_ is not None else {}),
            "n_hmms": int(self.n_hmms_),
            "hmms_kept": bool(keep_hmms),
            "type_tables": sorted(self.type_tables_),
            "hmm_vocabulary": (None if self.hmm_vocabulary_ is None
                               else self.hmm_vocabulary_.to_dict()),
            "notation": self.notation_.to_dict(),
            "compact_emissions": compact,
            "children": nested,
        }
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        from ..io.notation import Notation

        arrays = dict(arrays)
        for key in meta.get("compact_emissions", []):
            if key not in arrays or arrays[key].dtype != np.float16 or arrays[key].ndim != 2:
                raise serialize.ModelFileError(f"model file: {key} should be a 2-D float16 "
                                               f"array of log-probabilities")
            arrays[key] = expand_emissions(arrays[key])
        children = serialize.unpack_nested(arrays, meta["children"])
        params = dict(meta["params"])
        n_hmms = int(meta["n_hmms"])
        hmms = [children[f"hmm{i}"] for i in range(n_hmms)] if meta.get("hmms_kept", True) \
            else []
        labeler = children["labeler"]
        hmm_param = params["hmm"]
        if hmm_param == "fitted":
            hmm_param = hmms[0] if len(hmms) == 1 else hmms
        clusters = children.get("clusters") if meta.get("clusters") else None
        if meta.get("clusters") and (clusters is None or not hasattr(clusters,
                                                                     "transform_types")):
            raise serialize.ModelFileError("model file: the Brown clusters are missing")
        cluster_param = params.get("clusters")
        word_clusters = children.get("word_clusters") if meta.get("word_clusters") else None
        if meta.get("word_clusters") and (word_clusters is None or not hasattr(
                word_clusters, "labels_")):
            raise serialize.ModelFileError("model file: the word-vector clusters are missing")
        word_param = params.get("word_clusters")
        if isinstance(word_param, dict) and word_clusters is not None:
            # learned in fit: the settings to learn them again
            word_param = type(word_clusters)(**{**word_param, "n_clusters": tuple(
                word_param.get("n_clusters", ()))})
        elif word_param != "fitted" or word_clusters is None:
            word_param = None
        else:
            word_param = word_clusters
        self = cls(labeler=params["labeler"] or labeler, hmm=hmm_param,
                   representations=tuple(params["representations"]), top_k=params["top_k"],
                   window=params["window"], labeler_params=params["labeler_params"],
                   hmm_params=params["hmm_params"], notation=params.get("notation", "auto"),
                   random_state=params["random_state"],
                   clusters=clusters if cluster_param == "fitted" else None,
                   cluster_prefixes=tuple(params.get("cluster_prefixes", (4, 6, 10, 20))),
                   word_clusters=word_param)
        self.clusters_ = clusters
        self.word_clusters_ = word_clusters
        self.representations_ = check_representations(params["representations"])
        self.hmms_ = hmms
        self.n_hmms_ = n_hmms
        self.labeler_ = labeler
        vocab = meta.get("hmm_vocabulary")
        self.hmm_vocabulary_ = None if vocab is None else Vocabulary.from_dict(vocab)
        self.type_tables_ = {}
        n_types = None if self.hmm_vocabulary_ is None else len(self.hmm_vocabulary_)
        for name in meta.get("type_tables", []):
            key = f"type_tables/{name}"
            if key + ".ids" in arrays:
                table = (arrays[key + ".ids"].astype(np.int32),
                         _stored_weights(arrays, key, name))
            elif key in arrays:
                table = arrays[key]
            else:
                raise serialize.ModelFileError(f"model file lacks the type table {name!r}")
            rows = table[0].shape[0] if isinstance(table, tuple) else table.shape[0]
            if rows != n_types:
                raise serialize.ModelFileError(f"model file: type table {name!r} has {rows} "
                                               f"rows but the HMM vocabulary {n_types} types")
            self.type_tables_[name] = table
        if not hmms and n_hmms and sum(FeatureKey.parse(k) is not None
                                       for k in self.type_tables_) != \
                n_hmms * len(self.representations_):
            raise serialize.ModelFileError("model file: the HMMs' type tables are missing")
        if n_types is not None:
            for i, h in enumerate(hmms):
                if int(h.n_features_) != n_types:
                    raise serialize.ModelFileError(
                        f"model file: hmm{i} has {h.n_features_} word types but the shared "
                        f"vocabulary {n_types}")
        self.case_profile_ = None
        if "case_profile/hashes" in arrays:
            hashes, codes = arrays["case_profile/hashes"], arrays["case_profile/codes"]
            if hashes.shape != codes.shape or hashes.ndim != 1 or \
                    (hashes.size and (np.diff(hashes.astype(np.int64)) < 0).any()) or \
                    (codes.size and codes.max() >= _CASE_UNSEEN):
                raise serialize.ModelFileError("model file: the case profile's hashes must "
                                               "be sorted, one code (< 15) each")
            self.case_profile_ = CaseProfile(hashes, codes)
        self.notation_ = Notation.from_dict(meta.get("notation"))
        self._features_cache = None
        return self


def given_hmms(hmm) -> list:
    """The fitted HMMs of an ``hmm`` parameter (None, one HMM, or a list of them), checked:
    each must be fitted and have ``transform``."""
    if hmm is None:
        return []
    hmms = list(hmm) if isinstance(hmm, (list, tuple)) else [hmm]
    for i, h in enumerate(hmms):
        if not hasattr(h, "transform"):
            raise TypeError(f"hmm[{i}] must be a fitted CategoricalHMM (with transform), "
                            f"got {type(h).__name__}")
        check_is_fitted(h)
    return hmms
