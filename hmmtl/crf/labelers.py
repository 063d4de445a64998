"""Linear-chain CRF and averaged perceptron over type-level features.

Both labelers share one feature space (:class:`hmmtl.crf.features.FeatureSpace`: word-type
templates at window offsets, per-token extras, a bias), one weight layout (observation
weights on (attribute, label) pairs, plus ``transition_``, ``start_`` and ``end_`` scores),
and one decoder (:func:`hmmtl.inference.viterbi`, optionally constrained to valid BIO / BIOES
sequences).

* :class:`LinearChainCRF` minimizes the negative conditional log-likelihood with an L2
  (``c2``) and L1 (``c1``) penalty (Lafferty et al. 2001; CRFsuite's conventions for ``c1`` /
  ``c2``), by scipy's L-BFGS-B (the L1 term through the positive / negative split of each
  weight, with bounds) or by SGD with the cumulative L1 penalty (Tsuruoka et al. 2009).  As in
  CRFsuite, observation weights exist for the (attribute, label) pairs seen in training.
* :class:`AveragedPerceptron` is Collins' (2002) structured perceptron with averaged weights.

Inputs are NLTK-style lists of token lists; tags are lists of label lists.

Per-group transitions.  ``fit`` and the prediction methods take an optional ``groups``: one
integer id per sentence (its domain, genre, ...; ``-1`` for none).  A model fit with groups
``0 .. G-1`` holds, besides the shared ``transition_``, ``start_`` and ``end_``, per-group
offsets ``group_transition_`` (G, K, K), ``group_start_`` and ``group_end_`` (G, K): a
sentence of group ``g`` is scored with ``transition_ + group_transition_[g]`` (and likewise
start and end), a sentence of group ``-1`` (or any sentence when ``groups`` is None) with the
shared scores only.  This is feature augmentation (Daumé III 2007) of the transition
features, used by :class:`hmmtl.transfer.augment.DomainAugmentedCRF`; the group offsets carry
the same L2 / L1 penalty as every other weight.  Inference runs once per distinct group (a
handful), each call over all the sentences of that group; without ``groups`` nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._base import BaseEstimator, check_is_fitted, check_random_state, token_accuracy
from .._text_api import TextTagging
from ..data import (LabelSet, check_label_lists, check_sentences, check_strings, check_tokens,
                   flatten, token_positions, unflatten)
from ..io.notation import Notation, detect_notation
from ..serialize import (ModelFileMixin, array_prefix, check_float_array, check_index_array,
                         check_pointer_array)
from .features import (_EXTRA_DOC, ColumnLayout, FeatureSpace, TypeLayout, check_saved_templates,
                       template_names)

if TYPE_CHECKING:

    from .._typing import Extra, Groups, LabelLists, TokenLists

__all__ = ["LinearChainCRF", "AveragedPerceptron", "ConvertedText", "constraint_masks",
           "detect_scheme", "detect_task", "TASK_DEFAULTS"]


class ConvertedText(NamedTuple):
    """Sentences a door (the :class:`~hmmtl.Tagger`) has already checked and converted once,
    given to a labeler's ``fit``, ``predict`` (and ``X_dev``) in place of the token lists: the
    labeler then neither flattens them nor detects or maps their notation again, so that the
    notation has one owner.  Standalone calls with token lists convert as before.

    Attributes
    ----------
    sentences : list of list of str, or None
        None in a prediction whose door never made the token lists (it reads ``flat``).
    flat : list of str
        The tokens of ``sentences`` end to end, checked to be strings.
    offsets : int64 ndarray of shape (n_sentences + 1,)
    notation : Notation or None
        The notation the words are written in.  In ``fit``: the one the door detected on
        these training words and their tags (checked too), which becomes the labeler's
        ``notation_``.  In ``predict``: the model's, when the door wrote the words in it; the
        labeler maps words whose notation is not its ``notation_`` (None: the words as given)
        itself, as for token lists.
    types : tuple of (list of str, int64 ndarray) or None
        The distinct tokens of ``flat`` and each token's index among them
        (:func:`~hmmtl.data.factorize`), where the door has found them: ``predict`` then
        looks up each distinct word's feature type once.
    memo : dict or None
        A dict of this text's own, for the labelers that read it in turn (the tasks of a
        multi-task model, the stages of a recognizer): a labeler whose type featurizer is
        the object an earlier one used (equal featurizers are one object after loading,
        :func:`~hmmtl.crf.features.share_featurizers`) takes the word types that one looked
        up, with the features of the words unseen in training, instead of looking them up
        and featurizing them again.
    """

    sentences: list | None
    flat: list
    offsets: np.ndarray
    notation: Notation | None = None
    types: tuple | None = None
    memo: dict | None = None


def converted_for(crf, sentences, flat: list, offsets, texts: list,
                  types: tuple | None = None) -> ConvertedText:
    """``sentences`` (tokens ``flat`` at ``offsets``, checked) as the CRF-style labeler
    ``crf`` reads them: a :class:`ConvertedText` with the words written in its training
    notation, their distinct words (``types``, when given for ``flat``, else found here) and
    a memo, made once per way of writing the words for all the labelers that read the text
    in turn (``texts``: a list the caller keeps for one text, empty at first), so that none
    of them maps, flattens or looks up the words token by token again."""
    from ..data import factorize

    notation = None if crf.notation == "keep" else crf.notation_
    # the words depend on the notation of the words only (not on that of the tags)
    words = None if notation is None else (notation.word_brackets, notation.word_quotes)
    found = next((entry[1:] for entry in texts if entry[0] == words), None)
    if found is None:
        mapped = flat if notation is None else notation.map_flat_words(flat, offsets)
        found = (mapped, types if types is not None and mapped is flat else factorize(mapped),
                 {})
        texts.append((words, *found))
    mapped, mapped_types, memo = found
    return ConvertedText(sentences, mapped, offsets, notation, mapped_types, memo)


def _check_notation(notation) -> str:
    if notation not in ("auto", "keep"):
        raise ValueError(f"notation must be 'auto' (map words to the training notation) or "
                         f"'keep', got {notation!r}")
    return notation


# ============================================================================ constraints
def _split_tag(tag: str):
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in "BIESU":
        return tag[0].replace("U", "S"), tag[2:]
    return "O", None


def detect_scheme(label_sequences, labels) -> str | None:
    """``"BIOES"`` or ``"BIO"`` (IOB2) when every training sequence is valid under it, else
    None (IOB1 data, POS tags, ...)."""
    prefixes = {_split_tag(t)[0] for t in labels}
    if prefixes <= {"O"}:
        return None
    for scheme in ("BIOES", "BIO"):
        if scheme == "BIO" and prefixes & {"E", "S"}:
            continue
        if scheme == "BIOES" and not prefixes & {"E", "S"}:
            continue
        ok_trans, ok_start, ok_end = constraint_masks(list(labels), scheme)
        index = {t: i for i, t in enumerate(labels)}
        valid = True
        for seq in label_sequences:
            if not seq:
                continue
            ids = [index[t] for t in seq]
            if not ok_start[ids[0]] or not ok_end[ids[-1]] or \
                    not all(ok_trans[a, b] for a, b in zip(ids[:-1], ids[1:])):
                valid = False
                break
        if valid:
            return scheme
    return None


def constraint_masks(labels, scheme: str):
    """Allowed transitions (K, K), start (K,) and end (K,) labels of a tagging scheme.

    ``"BIO"`` (IOB2): ``I-X`` only after ``B-X`` or ``I-X``, never first.  ``"BIOES"``: after
    ``B-X`` / ``I-X`` only ``I-X`` / ``E-X``; ``I-X`` / ``E-X`` never follow anything else;
    a sequence starts with ``B``, ``S`` or ``O`` and ends with ``E``, ``S`` or ``O``.  Labels
    without a prefix count as ``O``.
    """
    parts = [_split_tag(t) for t in labels]
    K = len(labels)
    trans = np.ones((K, K), dtype=bool)
    start = np.ones(K, dtype=bool)
    end = np.ones(K, dtype=bool)
    if scheme not in ("BIO", "BIOES"):
        raise ValueError(f"constraint must be None, 'BIO', 'BIOES' or 'auto', got {scheme!r}")
    for j, (pj, tj) in enumerate(parts):
        if scheme == "BIO":
            if pj == "I":
                start[j] = False
                for i, (pi, ti) in enumerate(parts):
                    trans[i, j] = pi in "BI" and pi != "O" and ti == tj
        else:
            if pj in "IE":
                start[j] = False
            if pj in "BI":
                end[j] = False
            for i, (pi, ti) in enumerate(parts):
                inside = pi in ("B", "I")
                if inside:
                    trans[i, j] = pj in ("I", "E") and ti == tj
                else:
                    trans[i, j] = pj not in ("I", "E")
    return trans, start, end


# ============================================================================ tasks
_ALL = ("lower", "prefix", "suffix", "shape", "short_shape", "flags", "word")
_NEIGHBOUR = ("lower", "short_shape")
_WINDOW = {-2: ("lower",), -1: _NEIGHBOUR, 0: _ALL, 1: _NEIGHBOUR, 2: ("lower",)}

#: Sha & Pereira's (2003) POS n-grams for chunking: the bigrams (-2 -1, -1 0, 0 +1, +1 +2)
#: and trigrams (-2 -1 0, -1 0 +1, 0 +1 +2) of the POS column
_POS_NGRAMS = ((-2, -1), (-1, 0), (0, 1), (1, 2), (-2, -1, 0), (-1, 0, 1), (0, 1, 2))
#: the names a POS column has among a labeler's extras: given directly (``extra={"pos":
#: ...}``), a column of the file in a MultiTaskTagger, or the predictions of its POS task
POS_COLUMNS = ("pos", "file:pos", "task:pos")

#: LinearChainCRF's defaults per task (``task="auto"`` picks one from the training tags; see
#: :func:`detect_task`).  Every template at the token itself; the lowercased word and its
#: short shape at -1 and +1; the lowercased word at -2 and +2 (affixes of the neighbours
#: overfit: -0.25 points of POS accuracy); extra columns (gold POS, chunks) at -1, 0, +1.
#: Chosen on development data only (a held-out fifth of CoNLL-2000 train, the EWT dev files,
#: Brown and NPS chat through the universal tags, eng.testa); the evidence is in
#: benchmarks/results/crf.md.  Chunking adds Sha & Pereira's (2003) conjunctions: the word
#: bigrams ``w-1 w0`` and ``w0 w+1``, and a POS column's bigrams and trigrams (+0.97 F1 on
#: the held-out last 894 sentences of CoNLL-2000 train with the POS column, the word bigrams
#: +0.17 more; benchmarks/results/chunk_ngrams.md).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "pos": {"c1": 0.0, "c2": 0.1, "max_iterations": 150, "tol": 1e-4, "window": _WINDOW,
            "extra_window": (-1, 0, 1), "extra_ngrams": {}, "ngrams": ()},
    "chunk": {"c1": 0.0, "c2": 0.3, "max_iterations": 150, "tol": 1e-4, "window": _WINDOW,
              "extra_window": (-1, 0, 1),
              "extra_ngrams": dict.fromkeys(POS_COLUMNS, _POS_NGRAMS),
              "ngrams": ((-1, 0), (0, 1))},
    "ner": {"c1": 0.0, "c2": 0.1, "max_iterations": 150, "tol": 1e-4, "window": _WINDOW,
            "extra_window": (-1, 0, 1), "extra_ngrams": {}, "ngrams": ()},
}


def detect_task(labels, counts) -> str:
    """``"pos"``, ``"chunk"`` or ``"ner"`` from a tag set and the token count of each tag.

    Span tags (``B-X``, ``I-X``, ``E-X``, ``S-X``; any scheme) make a chunking or NER task:
    NER when most tokens lie outside every span (``O`` and other unprefixed tags: about 83 %
    of CoNLL-2003's tokens), chunking when spans cover most tokens (about 87 % of
    CoNLL-2000's).  Any other tag set is a POS-style task.

    >>> detect_task(["B-NP", "I-NP", "O"], [40, 50, 10])
    'chunk'
    >>> detect_task(["B-PER", "I-PER", "O"], [5, 3, 92])
    'ner'
    >>> detect_task(["DT", "NN"], [10, 12])
    'pos'
    """
    counts = np.asarray(counts, dtype=np.float64)
    span = np.array([_split_tag(t)[1] is not None for t in labels], dtype=bool)
    if not span.any():
        return "pos"
    outside = counts[~span].sum() / max(counts.sum(), 1.0)
    return "ner" if outside >= 0.5 else "chunk"


# ============================================================================ groups
def _check_groups(groups, n_seq: int, n_groups: int | None = None,
                  name: str = "groups") -> np.ndarray | None:
    """``groups`` as an int64 array of shape (n_seq,) with values in ``[-1, n_groups)``
    (any value >= -1 when ``n_groups`` is None), or None."""
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n_seq:
        raise ValueError(f"{name} must give one group id per sentence: expected shape "
                         f"({n_seq},), got shape {g.shape}")
    if g.size and not np.issubdtype(g.dtype, np.integer):
        raise TypeError(f"{name} must hold integer group ids (-1 for no group), got dtype "
                        f"{g.dtype}")
    g = np.ascontiguousarray(g, dtype=np.int64)
    if g.size and g.min() < -1:
        raise ValueError(f"{name} must be >= -1 (-1: no group), got a minimum of {g.min()}")
    if n_groups is not None and g.size and g.max() >= n_groups:
        raise ValueError(f"{name} must lie in [-1, {n_groups}): the model was fit with "
                         f"{n_groups} groups (-1 scores a sentence with the shared "
                         f"transitions only), got values up to {g.max()}")
    return g


class _GroupPart(NamedTuple):
    """The sentences of one group within a batch."""

    group: int              # -1: shared scores only
    sequences: object       # their indices in the batch (slice(None): all of them)
    tokens: object          # their tokens' flat positions (slice(None): all of them)
    offsets: np.ndarray     # their offsets, laid end to end
    first: np.ndarray       # positions, within the part, of first / last tokens of the
    last: np.ndarray        # non-empty sentences


def _group_parts(offsets, groups) -> list | None:
    """Split a batch into one :class:`_GroupPart` per distinct group id (increasing); None
    when ``groups`` is None."""
    if groups is None:
        return None
    n_seq = offsets.shape[0] - 1
    parts = []
    for g in np.unique(groups).tolist():  # one pass per group, a handful
        members = np.flatnonzero(groups == g)
        seqs: np.ndarray | slice
        tokens: np.ndarray | slice
        if members.shape[0] == n_seq:
            seqs, tokens, sub = slice(None), slice(None), offsets
        else:
            seqs = members
            tokens, sub = token_positions(offsets, seqs)
        nz = np.diff(sub) > 0
        parts.append(_GroupPart(int(g), seqs, tokens, sub, sub[:-1][nz], sub[1:][nz] - 1))
    return parts


def _theta_blocks(theta, n_pairs: int, K: int):
    """Views of the blocks of a CRF parameter vector: pair weights (n_pairs,), transition
    (K, K), start (K,), end (K,), then group transitions (G, K, K), group starts and ends
    (G, K), with G inferred from the length (0 for a model without groups)."""
    b = n_pairs + K * K + 2 * K
    G = (theta.shape[0] - b) // (K * K + 2 * K)
    gs = b + G * K * K
    ge = gs + G * K
    return (theta[:n_pairs], theta[n_pairs:n_pairs + K * K].reshape(K, K),
            theta[n_pairs + K * K:n_pairs + K * K + K], theta[n_pairs + K * K + K:b],
            theta[b:gs].reshape(G, K, K), theta[gs:ge].reshape(G, K), theta[ge:].reshape(G, K))


def _no_groups(K: int):
    return np.zeros((0, K, K)), np.zeros((0, K)), np.zeros((0, K))


# ============================================================================ base
class _SequenceLabeler(TextTagging, ModelFileMixin, BaseEstimator):
    """Shared parts: input checks, features, decoding, scoring, NLTK interface, state."""

    _requires_y = True

    _PARAMS_EXCLUDED_FROM_STATE: tuple = ()

    # parameters of the subclasses and fitted state, read by the shared methods below
    templates: Any
    window: Any
    extra_window: Any
    min_freq: int
    n_features: int | None
    notation: str
    constraint: str | None
    labels_: LabelSet
    notation_: Notation
    constraint_: str | None
    feature_space_: FeatureSpace
    coef_: np.ndarray
    attr_ptr_: np.ndarray
    pair_label_: np.ndarray
    transition_: np.ndarray
    start_: np.ndarray
    end_: np.ndarray
    group_transition_: np.ndarray
    group_start_: np.ndarray
    group_end_: np.ndarray
    task_: str
    n_iter_: int

    # -- input handling
    @staticmethod
    def _check_X(X, name="X"):
        return check_sentences(X, name)

    def _feature_space(self):
        window, extra_window = self._windows()
        ngrams, extra_ngrams = self._ngrams()
        return FeatureSpace(templates=self.templates, window=window, extra_window=extra_window,
                            min_freq=self.min_freq, n_features=self.n_features,
                            extra_ngrams=extra_ngrams, ngrams=ngrams)

    def _ngrams(self):
        """The n-gram features of the words and of the extras (:class:`FeatureSpace`'s
        ``ngrams`` and ``extra_ngrams``)."""
        return None, None

    def _windows(self):
        """(window, extra_window) of the feature space to build."""
        return self.window, self.extra_window

    def _prepare_fit(self, X, y, extra):
        converted = X if isinstance(X, ConvertedText) else None
        X = self._check_X(X) if converted is None else converted.sentences
        if y is None:
            raise ValueError("y (the tag sequences) is required")
        y = list(y)
        if len(X) != len(y):
            raise ValueError(f"got {len(X)} sentences but {len(y)} tag sequences")
        flat, offsets = flatten(X) if converted is None else converted[1:3]
        if not flat:
            raise ValueError("X holds no tokens")
        _check_notation(self.notation)
        if converted is None or converted.notation is None:
            check_strings(flat, offsets, "X")
            check_label_lists(y, offsets, "y", "label")
            self.notation_ = detect_notation(flat, y)
        else:  # the door checked the words and tags and detected their notation
            self.notation_ = converted.notation
        return X, y, flat, offsets

    def _model_tokens(self, X):
        """``(X, flat, offsets)`` of sentences to tag: ``X`` checked, its flat tokens written
        in the notation of the training words (``notation="auto"``) and their offsets."""
        check_is_fitted(self, "coef_")
        if isinstance(X, ConvertedText):
            X, flat, offsets, written_in = X[:4]
        else:
            X = self._check_X(X)
            flat, offsets = flatten(X)
            check_strings(flat, offsets, "X")
            written_in = None
        if _check_notation(self.notation) != "keep" and written_in != self.notation_:
            flat = self.notation_.map_flat_words(flat, offsets)
        return X, flat, offsets

    def _encode_labels(self, X, y):
        ids = self.labels_.encode_for(X, y, unknown="error")
        if (ids < 0).any():
            raise ValueError("tag sequences must not contain None (unlabeled tokens)")
        return ids

    def _decode_tables(self, group: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transition, start and end scores of a sentence of ``group`` (-1: shared only),
        with the constraint's forbidden moves at -inf."""
        if group < 0:
            trans = self.transition_.copy()
            start = self.start_.copy()
            end = self.end_.copy()
        else:
            trans = self.transition_ + self.group_transition_[group]
            start = self.start_ + self.group_start_[group]
            end = self.end_ + self.group_end_[group]
        if self.constraint_ is not None:
            ok_t, ok_s, ok_e = constraint_masks(self.labels_.labels, self.constraint_)
            trans[~ok_t] = -np.inf
            start[~ok_s] = -np.inf
            end[~ok_e] = -np.inf
        return trans, start, end

    def _resolve_constraint(self, y):
        c = self.constraint
        if c is None:
            return None
        if c == "auto":
            return detect_scheme(y, self.labels_.labels)
        if c not in ("BIO", "BIOES"):
            raise ValueError(f"constraint must be None, 'BIO', 'BIOES' or 'auto', got {c!r}")
        return c

    def _unary(self, layout):
        from ._kernels import add_column_scores, slot_scores, token_unary

        scores = slot_scores(self.coef_, layout.slot_ptr, layout.slot_attr, self.attr_ptr_,
                             self.pair_label_, len(self.labels_), _chunks(layout.slot_ptr))
        if isinstance(layout, TypeLayout):  # the rows of the type table, then per token
            return token_unary(token_unary(scores, layout.row_slot, layout.row_val),
                               layout.tok_row, layout.tok_val)
        if isinstance(layout, ColumnLayout):  # the token layout's sums, column by column
            unary = np.zeros((layout.n_tokens, scores.shape[1]), dtype=np.float64)
            for ids, vals, window, *rest in layout.columns:
                add_column_scores(unary, scores, ids, vals, layout.offsets, window, *rest)
            if layout.bias_slot >= 0:
                unary += scores[layout.bias_slot]
            return unary
        return token_unary(scores, layout.tok_slot, layout.tok_val)

    def _transform(self, X, extra):
        X, flat, offsets = self._model_tokens(X)
        layout = self.feature_space_.transform(flat, offsets, extra)
        return X, flat, offsets, layout

    # -- prediction
    def _parts(self, groups, offsets):
        """Validated ``groups`` split into per-group parts; None for the plain path."""
        n_groups = getattr(self, "group_transition_", np.zeros((0,))).shape[0]
        groups = _check_groups(groups, offsets.shape[0] - 1, n_groups)
        if groups is None or n_groups == 0:
            return None  # all -1 on a model without groups: the plain path
        return _group_parts(offsets, groups)

    def _viterbi(self, unary, offsets, parts):
        """Viterbi over the batch, one call per group part (one call when ``parts`` is
        None)."""
        from ..inference import ViterbiResult, viterbi

        # the scores are sums of finite weights times finite feature values (both checked
        # where they come in): no NaN / +inf scan of the unary table
        if parts is None:
            trans, start, end = self._decode_tables()
            return viterbi(unary, trans, offsets, start, end, check_finite=False)
        path = np.empty(unary.shape[0], dtype=np.int32)
        score = np.empty(offsets.shape[0] - 1, dtype=np.float64)
        for part in parts:
            trans, start, end = self._decode_tables(part.group)
            r = viterbi(unary[part.tokens], trans, part.offsets, start, end,
                        check_finite=False)
            path[part.tokens] = r.path
            score[part.sequences] = r.score
        return ViterbiResult(path, score)

    def _marginals(self, unary, offsets, parts):
        """(marginals, log_z) of the batch without pair counts, one forward-backward call
        per group part."""
        from ..inference import forward_backward

        if parts is None:
            trans, start, end = self._decode_tables()
            r = forward_backward(unary, trans, offsets, start, end, compute_pairs=False)
            return r.marginals, r.log_z
        marginals = np.empty_like(unary)
        log_z = np.empty(offsets.shape[0] - 1, dtype=np.float64)
        for part in parts:
            trans, start, end = self._decode_tables(part.group)
            r = forward_backward(unary[part.tokens], trans, part.offsets, start, end,
                                 compute_pairs=False)
            marginals[part.tokens] = r.marginals
            log_z[part.sequences] = r.log_z
        return marginals, log_z

    def predict(self, X: TokenLists | ConvertedText, extra: Extra | None = None,
                groups: Groups | None = None) -> list[list[str]]:
        """Best tag sequence of each sentence (Viterbi, constrained if ``constraint`` says so).

        Parameters
        ----------
        X : list of list of str or ConvertedText
            Sentences (or sentences a door converted, :class:`ConvertedText`).
        extra : dict, optional
            Per-token extra features, as in ``fit``.
        groups : int array-like of shape (n_sentences,), optional
            Group id of each sentence, in ``[0, n_groups)`` with ``n_groups =
            group_transition_.shape[0]``; ``-1`` (and ``groups=None``, for all) scores a
            sentence with the shared transition, start and end only.

        Returns
        -------
        list of list of str
        """
        path, offsets = self._predict_path(X, extra, groups)
        return unflatten(self.labels_.decode(path), offsets)

    def _predict_path(self, X: TokenLists | ConvertedText, extra: Extra | None = None,
                      groups: Groups | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` before its labels are written: the label id of every token
        (over ``labels_``) and the sentences' offsets."""
        _, flat, offsets = self._model_tokens(X)
        # the door's distinct tokens, where the words are the door's as given
        given = X if isinstance(X, ConvertedText) and flat is X.flat else None
        types = None if given is None else given.types
        memo = None if given is None or types is None else given.memo
        parts = self._parts(groups, offsets)
        with _threads_for(len(flat)):
            # features of word types summed once per type when every extra is one too
            layout = self.feature_space_.predict_layout(flat, offsets, extra, types=types,
                                                        memo=memo)
            path = self._viterbi(self._unary(layout), offsets, parts).path
        return path, offsets

    def predict_marginals(self, X: TokenLists, extra: Extra | None = None,
                          groups: Groups | None = None) -> list[np.ndarray]:
        """Per-token label marginals p(y_t = k | x).

        Parameters
        ----------
        X : list of list of str
        extra : dict, optional
        groups : int array-like of shape (n_sentences,), optional
            Group id of each sentence, in ``[0, n_groups)`` with ``n_groups =
            group_transition_.shape[0]``; ``-1`` (and ``groups=None``, for all) scores a
            sentence with the shared transition, start and end only.

        Returns
        -------
        list of ndarray of shape (n_tokens_i, n_labels)
            Columns in the order of ``labels_.labels``.
        """
        X, _flat, offsets, layout = self._transform(X, extra)
        parts = self._parts(groups, offsets)
        marginals, _ = self._marginals(self._unary(layout), offsets, parts)
        return [marginals[a:b] for a, b in zip(offsets[:-1], offsets[1:])]

    def sequence_probability(self, X: TokenLists, y: LabelLists | None = None,
                             extra: Extra | None = None,
                             groups: Groups | None = None) -> np.ndarray:
        """p(y | x) of each sentence under the model (of the Viterbi sequence when ``y`` is
        None).  For the perceptron the scores are read as a CRF's log-potentials.

        Parameters
        ----------
        X : list of list of str
        y : list of list of str, optional
        extra : dict, optional
        groups : int array-like of shape (n_sentences,), optional
            Group id of each sentence, in ``[0, n_groups)`` with ``n_groups =
            group_transition_.shape[0]``; ``-1`` (and ``groups=None``, for all) scores a
            sentence with the shared transition, start and end only.

        Returns
        -------
        ndarray of shape (n_sentences,)
        """
        X, _flat, offsets, layout = self._transform(X, extra)
        parts = self._parts(groups, offsets)
        unary = self._unary(layout)
        _, log_z = self._marginals(unary, offsets, parts)
        if y is None:
            score = self._viterbi(unary, offsets, parts).score
        else:
            lab = self._encode_labels(X, list(y))
            if parts is None:
                score = _path_scores(unary, *self._decode_tables(), offsets, lab)
            else:
                score = np.empty(offsets.shape[0] - 1, dtype=np.float64)
                for part in parts:
                    score[part.sequences] = _path_scores(
                        unary[part.tokens], *self._decode_tables(part.group), part.offsets,
                        lab[part.tokens])
        with np.errstate(invalid="ignore"):
            p = np.exp(score - log_z)
        return np.where(np.isfinite(p), p, 0.0)

    def predict_proba(self, X: TokenLists, extra: Extra | None = None,
                      groups: Groups | None = None) -> np.ndarray:
        """Probability of the predicted (Viterbi) tag sequence of each sentence, shape
        (n_sentences,); see :meth:`sequence_probability`."""
        return self.sequence_probability(X, None, extra, groups)

    def score(self, X: TokenLists, y: LabelLists, extra: Extra | None = None,
              groups: Groups | None = None) -> float:
        """Token accuracy of ``predict(X)`` against ``y`` (:func:`hmmtl._base.token_accuracy`):
        tags never seen in training count as errors.

        Raises
        ------
        ValueError
            When ``X`` holds no sentences, or ``y`` does not align with ``X``.
        """
        check_is_fitted(self, "coef_")
        X = self._check_X(X)
        _, offsets = flatten(X)
        check_label_lists(y, offsets, "y", "label")
        y = list(y) if self.notation == "keep" else self.notation_.map_tags(list(y))
        return token_accuracy(y, self.predict(X, extra, groups) if X else [])

    # -- NLTK TaggerI interface
    def tag(self, tokens: Sequence[str], extra: Extra | None = None) -> list[tuple[str, str]]:
        """NLTK: tag one sentence -> list of (word, tag)."""
        tokens = check_tokens(tokens)
        return list(zip(tokens, self.predict([tokens], extra)[0]))

    def tag_sents(self, sentences: TokenLists,
                  extra: Extra | None = None) -> list[list[tuple[str, str]]]:
        """NLTK: tag several sentences -> list of lists of (word, tag)."""
        sentences = [list(s) for s in check_sentences(sentences, "sentences")]
        return [list(zip(s, t)) for s, t in zip(sentences, self.predict(sentences, extra))]

    def accuracy(self, gold: Iterable[Sequence[tuple[str, str]]],
                 extra: Extra | None = None) -> float:
        """NLTK: token accuracy on gold tagged sentences (lists of (word, tag))."""
        gold = [list(s) for s in gold]
        X = [[w for w, _ in s] for s in gold]
        y = [[t for _, t in s] for s in gold]
        return self.score(X, y, extra)

    evaluate = accuracy

    # -- fitted helpers
    def _set_constraint_and_labels(self, y):
        self.constraint_ = self._resolve_constraint(y)

    # -- persistence
    def _get_state(self):
        check_is_fitted(self, "coef_")
        arrays, fs_meta = self.feature_space_.to_state()
        arrays = {"features/" + k: v for k, v in arrays.items()}
        arrays.update(coef=self.coef_, attr_ptr=self.attr_ptr_, pair_label=self.pair_label_,
                      transition=self.transition_, start=self.start_, end=self.end_)
        group_transition = getattr(self, "group_transition_", None)
        if group_transition is not None and group_transition.shape[0]:
            # only models fit with groups write them: plain model files stay as they were
            arrays.update(group_transition=group_transition, group_start=self.group_start_,
                          group_end=self.group_end_)
        params = self.get_params()
        if params.get("templates") is not None:
            params["templates"] = fs_meta["featurizer"]["templates"]
        if isinstance(params.get("window"), tuple):
            params["window"] = list(params["window"])
        elif isinstance(params.get("window"), Mapping):  # JSON keys are strings
            params["window"] = {str(o): None if t is None else template_names(t)
                                for o, t in params["window"].items()}
        if isinstance(params.get("extra_window"), tuple):
            params["extra_window"] = list(params["extra_window"])
        if isinstance(params.get("extra_ngrams"), Mapping):
            params["extra_ngrams"] = {k: [list(g) for g in v]
                                      for k, v in params["extra_ngrams"].items()}
        if params.get("ngrams") is not None:
            params["ngrams"] = [list(g) for g in params["ngrams"]]
        for k in self._PARAMS_EXCLUDED_FROM_STATE:
            params.pop(k, None)
        meta = {"params": params, "features": fs_meta, "labels": self.labels_.to_dict(),
                "constraint": self.constraint_, "n_iter": int(getattr(self, "n_iter_", 0)),
                "notation": self.notation_.to_dict()}
        if hasattr(self, "task_"):
            meta["task"] = self.task_
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        params = dict(meta["params"])
        check_saved_templates(params.get("templates"))
        if isinstance(params.get("window"), dict):
            check_saved_templates(params["window"])
        for key in ("window", "extra_window"):
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        if isinstance(params.get("window"), dict):
            params["window"] = {int(o): t for o, t in params["window"].items()}
        model = cls(**params)
        if meta.get("task") is not None:
            model.task_ = meta["task"]
        fs_arrays = {k[len("features/"):]: v for k, v in arrays.items()
                     if k.startswith("features/")}
        with array_prefix("features/"):
            model.feature_space_ = FeatureSpace.from_state(fs_arrays, meta["features"])
        model.labels_ = LabelSet.from_dict(meta["labels"])
        model.constraint_ = meta["constraint"]
        model.n_iter_ = meta["n_iter"]
        model.notation_ = Notation.from_dict(meta.get("notation"))
        # every index a kernel follows is checked here, before any kernel sees it
        K = len(model.labels_)
        model.coef_ = check_float_array(arrays["coef"], "coef", (None,))
        n_pairs = model.coef_.shape[0]
        model.attr_ptr_ = check_pointer_array(arrays["attr_ptr"], "attr_ptr",
                                              model.feature_space_.n_attributes_, n_pairs)
        model.pair_label_ = check_index_array(arrays["pair_label"], "pair_label", 0, K,
                                              (n_pairs,))
        model.transition_ = check_float_array(arrays["transition"], "transition", (K, K))
        model.start_ = check_float_array(arrays["start"], "start", (K,))
        model.end_ = check_float_array(arrays["end"], "end", (K,))
        model.group_transition_, model.group_start_, model.group_end_ = \
            _group_tables_from_state(arrays, K)
        return model


def _group_tables_from_state(arrays, K: int):
    """The per-group transition, start and end offsets of a model file, shape-checked;
    empty (0 groups) for files without them, as written by models fit without groups."""
    names = ("group_transition", "group_start", "group_end")
    present = [n for n in names if n in arrays]
    if not present:
        return _no_groups(K)
    if len(present) != len(names):
        missing = [n for n in names if n not in arrays]
        raise ValueError(f"inconsistent model state: per-group arrays {present} are present "
                         f"but {missing} are missing")
    tables = [np.asarray(arrays[n], dtype=np.float64) for n in names]
    G = tables[0].shape[0] if tables[0].ndim == 3 else -1
    expected = [(G, K, K), (G, K), (G, K)]
    got = [t.shape for t in tables]
    if G < 0 or got != expected:
        raise ValueError(f"inconsistent model state: per-group arrays (group_transition, "
                         f"group_start, group_end) must have shapes (n_groups, {K}, {K}), "
                         f"(n_groups, {K}), (n_groups, {K}) for the {K} labels, got "
                         f"{', '.join(map(str, got))}")
    return tuple(tables)


# Below this many tokens, prediction runs its kernels on one thread: the work is too small to
# pay for waking the others, and a straggling thread on a busy machine would dominate.  From
# about 2,000 tokens (an EWT test file: 4-6k) two threads tag 15 % faster on the idle 2-core
# machine than one (measured file by file, features of new word types included).
SMALL_BATCH_TOKENS = 2000


class _threads_for:
    """Context manager: one Numba thread for small batches, the configured number otherwise."""

    def __init__(self, n_tokens):
        self.small = n_tokens < SMALL_BATCH_TOKENS

    def __enter__(self):
        if self.small:
            import numba

            self.saved = numba.get_num_threads()
            numba.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        if self.small:
            import numba

            numba.set_num_threads(self.saved)
        return False


def _chunks(ptr):
    """Contiguous row chunks of about equal work (entries of the CSR ``ptr``)."""
    from ..inference import _n_threads, chunk_sequences

    return chunk_sequences(ptr, 4 * _n_threads())


def _chain(lists):
    for seq in lists:
        yield from seq


def _path_scores(unary, trans, start, end, offsets, lab):
    """Log-potential of the given label path of each sequence (vectorized)."""
    n_seq = offsets.shape[0] - 1
    lengths = np.diff(offsets)
    tok = unary[np.arange(lab.shape[0]), lab]
    seq_of = np.repeat(np.arange(n_seq), lengths)
    score = np.bincount(seq_of, weights=tok, minlength=n_seq).astype(np.float64)
    nz = lengths > 0
    score[nz] += start[lab[offsets[:-1][nz]]] + end[lab[offsets[1:][nz] - 1]]
    inner = np.ones(lab.shape[0], dtype=bool)
    inner[offsets[:-1][nz]] = False
    idx = np.flatnonzero(inner)
    score += np.bincount(seq_of[idx], weights=trans[lab[idx - 1], lab[idx]], minlength=n_seq)
    return score


class _Problem:
    """Training data in kernel form: layout, transposes, empirical counts."""

    #: A slot is dense when it holds at least this many tokens (it then sums its marginals
    #: token by token, see :mod:`hmmtl.crf._kernels`); at most MAX_DENSE_SLOTS of them, the
    #: fullest, so that the per-chunk tables stay small.
    DENSE_SLOT_TOKENS = 256
    MAX_DENSE_SLOTS = 4096
    TOKEN_CHUNKS = 16

    empirical: np.ndarray  # the empirical counts, in the order of theta (set by the model)

    def __init__(self, layout, labels, n_labels):
        self.layout = layout
        self.labels = labels
        self.offsets = layout.offsets
        self.n_labels = n_labels
        self.n_groups = 0
        self.groups = None
        self.parts = None
        K = n_labels
        n_tokens, E = layout.tok_slot.shape
        flat_slot = layout.tok_slot.ravel()
        valid = np.flatnonzero(flat_slot >= 0)
        n_slots = layout.n_slots
        per_slot = np.bincount(flat_slot[valid], minlength=n_slots)
        fullest = np.argsort(-per_slot, kind="stable")[:self.MAX_DENSE_SLOTS]
        self.dense_slots = np.sort(fullest[per_slot[fullest] >= self.DENSE_SLOT_TOKENS])
        self.dense_row = np.full(n_slots, -1, dtype=np.int64)
        self.dense_row[self.dense_slots] = np.arange(self.dense_slots.shape[0])
        self.token_bounds = np.linspace(0, n_tokens, min(self.TOKEN_CHUNKS, n_tokens) + 1
                                        ).astype(np.int64)
        # the slot -> token transpose of the other (word-type) slots
        valid = valid[self.dense_row[flat_slot[valid]] < 0]
        order = valid[np.argsort(flat_slot[valid], kind="stable")]
        self.ent_ptr = np.zeros(n_slots + 1, dtype=np.int64)
        np.cumsum(np.bincount(flat_slot[valid], minlength=n_slots), out=self.ent_ptr[1:])
        self.ent_token = (order // E).astype(np.int64)
        self.ent_val = layout.tok_val.ravel()[order]
        rows = np.repeat(np.arange(n_slots, dtype=np.int64), np.diff(layout.slot_ptr))
        order = np.argsort(layout.slot_attr, kind="stable")
        self.n_attr = int(layout.slot_attr.max(initial=-1)) + 1
        self.attr_slot_ptr = np.zeros(self.n_attr + 1, dtype=np.int64)
        np.cumsum(np.bincount(layout.slot_attr, minlength=self.n_attr),
                  out=self.attr_slot_ptr[1:])
        self.attr_slot = rows[order]
        onehot = np.zeros((n_tokens, K))
        onehot[np.arange(n_tokens), labels] = 1.0
        self.ent_chunks = _chunks(self.ent_ptr)
        self.slot_chunks = _chunks(layout.slot_ptr)
        self.attr_chunks = None
        self.slot_label_counts = self.slot_totals(onehot)
        lengths = np.diff(self.offsets)
        nz = lengths > 0
        self.first = self.offsets[:-1][nz]
        self.last = self.offsets[1:][nz] - 1
        inner = np.ones(n_tokens, dtype=bool)
        inner[self.first] = False
        idx = np.flatnonzero(inner)
        self.emp_transition = np.bincount(labels[idx - 1] * K + labels[idx],
                                          minlength=K * K).astype(np.float64)
        self.emp_start = np.bincount(labels[self.first], minlength=K).astype(np.float64)
        self.emp_end = np.bincount(labels[self.last], minlength=K).astype(np.float64)

    def slot_totals(self, token_weights):
        """Per-slot sums (n_slots, K) of ``token_weights`` (n_tokens, K) over the tokens
        that activate each slot, value-weighted: word-type slots through the slot -> token
        transpose, dense slots token by token."""
        from ._kernels import dense_slot_sums, slot_sums

        totals = slot_sums(token_weights, self.ent_ptr, self.ent_token, self.ent_val,
                           self.ent_chunks)
        if self.dense_slots.shape[0]:
            lay = self.layout
            totals[self.dense_slots] = dense_slot_sums(
                token_weights, lay.tok_slot, lay.tok_val, self.dense_row,
                self.dense_slots.shape[0], self.token_bounds)
        return totals

    def set_groups(self, groups, n_groups: int):
        """Split the training sentences by group and count each group's empirical
        transitions, starts and ends (the counts of the per-group offsets)."""
        K = self.n_labels
        G = int(n_groups)
        self.n_groups = G
        self.groups = groups
        self.parts = _group_parts(self.offsets, groups)
        labels = self.labels
        lengths = np.diff(self.offsets)
        tok_group = np.repeat(groups, lengths)
        nz = lengths > 0
        first_group = groups[nz]
        inner = np.ones(labels.shape[0], dtype=bool)
        inner[self.first] = False
        idx = np.flatnonzero(inner & (tok_group >= 0))
        self.emp_group_transition = np.bincount(
            (tok_group[idx] * K + labels[idx - 1]) * K + labels[idx],
            minlength=G * K * K).astype(np.float64)
        keep = first_group >= 0
        self.emp_group_start = np.bincount(first_group[keep] * K + labels[self.first[keep]],
                                           minlength=G * K).astype(np.float64)
        self.emp_group_end = np.bincount(first_group[keep] * K + labels[self.last[keep]],
                                         minlength=G * K).astype(np.float64)

    def observed_pairs(self, n_attributes):
        """CSR (attr_ptr, pair_label) of the (attribute, label) pairs seen in training."""
        from scipy import sparse  # training only: tagging does not import SciPy

        n_slots = self.layout.n_slots
        A = sparse.csr_matrix((np.ones(self.layout.slot_attr.shape[0]),
                               self.layout.slot_attr.astype(np.int64), self.layout.slot_ptr),
                              shape=(n_slots, n_attributes))
        seen = (A.T @ (self.slot_label_counts != 0).astype(np.float64)) > 0
        rows, cols = np.nonzero(np.asarray(seen))
        attr_ptr = np.zeros(n_attributes + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_attributes), out=attr_ptr[1:])
        return attr_ptr, cols.astype(np.int64)

    def pad_attrs(self, n_attributes):
        """Extend the attribute -> slot transpose to ``n_attributes`` rows."""
        if self.attr_slot_ptr.shape[0] < n_attributes + 1:
            extra = n_attributes + 1 - self.attr_slot_ptr.shape[0]
            self.attr_slot_ptr = np.concatenate(
                [self.attr_slot_ptr, np.full(extra, self.attr_slot_ptr[-1])])
        self.attr_chunks = _chunks(self.attr_slot_ptr)


# ============================================================================ CRF
class _DevSet(NamedTuple):
    """A dev set of early stopping: its features, gold label ids, offsets and group parts
    (the arguments of :meth:`LinearChainCRF._layout_accuracy`)."""

    layout: Any
    gold: np.ndarray
    offsets: np.ndarray
    parts: Any


@dataclass
class _BestIterate:
    """The best dev-set accuracy seen so far, the weights that gave it, and the iterations
    since."""

    accuracy: float = -1.0
    theta: np.ndarray | None = None
    since: int = 0


class LinearChainCRF(_SequenceLabeler):
    """Linear-chain conditional random field (Lafferty, McCallum & Pereira, 2001).

    Maximizes ``sum_n log p(y_n | x_n) - c1 * |w|_1 - c2 * |w|_2^2`` (CRFsuite's scaling:
    sums over sentences, not means).  Observation weights exist for each (attribute, label)
    pair seen in training; transition, start and end scores for all label pairs / labels.

    Parameters
    ----------
    task : {"auto", "pos", "chunk", "ner"}, default="auto"
        The kind of tagging, whose defaults (:data:`TASK_DEFAULTS`) fill every parameter
        below left at None.  ``"auto"`` decides from the training tags
        (:func:`detect_task`): span tags (``B-X`` / ``I-X`` ...) are chunking when spans
        cover most tokens, NER when most tokens are ``O``; any other tag set is POS.  The
        task used is ``task_``, the settings used ``settings_``.
    c1 : float, optional
        L1 coefficient (the task's default: 0).  With ``algorithm="lbfgs"`` it is handled
        exactly by splitting each weight into positive and negative parts under bounds
        (L-BFGS-B).
    c2 : float, optional
        L2 coefficient (the task's default).
    max_iterations : int, optional
        L-BFGS iterations (SGD epochs for ``"sgd-l1"``); the task's default.
    tol : float, optional
        Stop when the objective improved by less than ``tol`` (relative) over the last 10
        iterations (CRFsuite's ``delta`` / ``period`` rule); the task's default.
    algorithm : {"lbfgs", "sgd-l1"}, default="lbfgs"
        scipy's L-BFGS-B, or SGD with the cumulative L1 penalty of Tsuruoka, Tsujii &
        Ananiadou (2009) (one epoch per iteration; the L2 term is applied to the weights each
        sentence touches).
    learning_rate : float, default=0.1
        Initial SGD learning rate (``"sgd-l1"``), decayed by 0.85 per epoch.
    templates : sequence of str or callable, optional
        Word-type feature templates (:mod:`hmmtl.crf.features`) used at every offset of
        ``window``; with ``window=None``, at each of the task's offsets.  Default: the
        task's own templates per offset (with ``window`` given: all built-ins).
    window : int, sequence of int or dict, optional
        Offsets whose word-type features each token gets (``2`` means ``-2..2``), or a
        mapping ``{offset: templates}`` (per-offset templates).  Default: the task's
        mapping: every template at 0, the lowercased word and its short shape at -1 and
        +1, the lowercased word at -2 and +2.
    extra_window : sequence of int or dict, optional
        Offsets of the extra features (one setting for all, or ``{name: offsets}``); the
        task's default.
    extra_ngrams : dict, optional
        N-gram features of one-value extras, ``{name: [(o1, o2, ...), ...]}`` (e.g. POS
        bigrams and trigrams around the token for chunking); ``{}``: none.  Default: the
        task's (chunking: the POS column's bigrams and trigrams, when an extra named
        ``"pos"``, ``"file:pos"`` or ``"task:pos"`` is given).
    ngrams : sequence of tuple of int, optional
        N-gram features of the words (as written): e.g. ``[(-1, 0), (0, 1)]`` for the
        bigrams ``w-1 w0`` and ``w0 w+1``; an n-gram with a word unseen in training is no
        feature.  Default: the task's (none, ``()``).
    min_freq : int, default=1
        Keep attributes seen at least this many times in training (ignored in hashing mode).
    n_features : int, optional
        Hash attributes into this many buckets (e.g. ``2**20``) instead of a dictionary.
    constraint : {None, "BIO", "BIOES", "auto"}, default=None
        Decode only valid tag sequences of this scheme (``"auto"``: the scheme every training
        sequence obeys, if any).
    early_stopping_rounds : int, default=10
        With a dev set, stop after this many iterations without a better dev accuracy (the
        weights of the best iteration are kept).
    warm_start : bool, default=False
        Start from the fitted weights (same features and labels) on a new ``fit``.
    random_state : int, RandomState or None
        Shuffling of the sentences for ``"sgd-l1"`` (L-BFGS is deterministic).
    verbose : bool, default=False
        tqdm progress bar over iterations.
    notation : {"auto", "keep"}, default="auto"
        ``"auto"``: words given to the prediction methods are first written the way the
        training words write brackets and quotes (``notation_``; ``(`` -> ``-LRB-``,
        ``"`` -> ``````/``''`` for a WSJ-trained model), and ``score`` reads gold bracket
        and quote tags in the training notation (:mod:`hmmtl.io.notation`); ``"keep"``:
        words and tags are used as given.

    Attributes
    ----------
    labels_ : LabelSet
    feature_space_ : FeatureSpace
    coef_ : ndarray of shape (n_pairs,)
        Observation weights of the (attribute, label) pairs, in CSR order ``attr_ptr_`` /
        ``pair_label_``.
    transition_ : ndarray of shape (n_labels, n_labels)
    start_, end_ : ndarray of shape (n_labels,)
    group_transition_ : ndarray of shape (n_groups, n_labels, n_labels)
        Per-group offsets added to ``transition_`` for sentences of each group (``fit``'s
        ``groups``); ``n_groups = 0`` for a model fit without groups.
    group_start_, group_end_ : ndarray of shape (n_groups, n_labels)
        Likewise for ``start_`` and ``end_``.
    constraint_ : str or None
    task_ : str
        The task whose defaults were used (``"pos"``, ``"chunk"`` or ``"ner"``).
    settings_ : dict
        The values used for ``c1``, ``c2``, ``max_iterations``, ``tol``, ``window`` and
        ``extra_window`` (given, or the task's defaults).
    notation_ : Notation
        How the training words and tags write brackets and quotes.
    n_iter_ : int
    loss_curve_ : list of float
        Objective after each iteration.

    Notes
    -----
    Groups are an argument of ``fit`` and of the prediction methods, not a constructor
    parameter, because they are data (one id per sentence, like ``extra``): the same
    estimator then serves feature augmentation
    (:class:`~hmmtl.transfer.augment.DomainAugmentedCRF`) and any other per-sentence split
    (genre, source), and a model fit with groups still tags sentences of no known group
    (``-1``) with its shared scores.  The per-group objective runs forward-backward once
    per group present in the data.
    """ + _EXTRA_DOC + """
    Examples
    --------
    >>> from hmmtl import LinearChainCRF
    >>> X = [["the", "dog", "barks"], ["a", "cat", "sleeps"]] * 5
    >>> y = [["DT", "NN", "VBZ"]] * 10
    >>> crf = LinearChainCRF(max_iterations=30).fit(X, y)
    >>> crf.predict([["the", "cat", "sleeps"]])
    [['DT', 'NN', 'VBZ']]
    """

    settings_: dict[str, Any]
    loss_curve_: list[float]

    def __init__(self, task="auto", c1=None, c2=None, max_iterations=None, tol=None,
                 algorithm="lbfgs", templates=None, window=None, extra_window=None, min_freq=1,
                 n_features=None, constraint=None, early_stopping_rounds=10,
                 learning_rate=0.1, warm_start=False, random_state=None, verbose=False,
                 notation="auto", extra_ngrams=None, ngrams=None):
        self.task = task
        self.c1 = c1
        self.c2 = c2
        self.max_iterations = max_iterations
        self.tol = tol
        self.algorithm = algorithm
        self.templates = templates
        self.window = window
        self.extra_window = extra_window
        self.min_freq = min_freq
        self.n_features = n_features
        self.constraint = constraint
        self.early_stopping_rounds = early_stopping_rounds
        self.learning_rate = learning_rate
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.notation = notation
        self.extra_ngrams = extra_ngrams
        self.ngrams = ngrams

    # -- objective
    def _objective(self, theta, prob, n_pairs, K, want_grad=True):
        """Negative penalized log-likelihood and its gradient at ``theta`` (no penalty
        for ``c1``; L-BFGS-B adds it through the split).

        ``theta`` = [pair weights, transition (K*K), start (K), end (K)], followed for a
        problem with groups by [group transitions (G*K*K), group starts (G*K), group ends
        (G*K)].  With groups, forward-backward runs once per group present, on that group's
        sentences with the summed scores; the gradient of a group's offsets is the part of
        the shared ones that its sentences contribute.
        """
        from ._kernels import pair_sums, slot_scores, token_unary
        from ..inference import forward_backward

        lay = prob.layout
        w, trans, start, end, g_trans, g_start, g_end = _theta_blocks(theta, n_pairs, K)
        scores = slot_scores(w, lay.slot_ptr, lay.slot_attr, self.attr_ptr_, self.pair_label_, K,
                             prob.slot_chunks)
        unary = token_unary(scores, lay.tok_slot, lay.tok_val)
        if prob.parts is None:
            fb = forward_backward(unary, trans, prob.offsets, start, end,
                                  compute_pairs=want_grad)
            log_z = float(fb.log_z.sum())
            marginals = fb.marginals
            if want_grad:
                block_grads = [fb.pair_counts.ravel(), marginals[prob.first].sum(axis=0),
                               marginals[prob.last].sum(axis=0)]
        else:
            G = prob.n_groups
            # gathered for the gradient only (without it: an empty array, never read)
            marginals = np.empty_like(unary if want_grad else unary[:0])
            log_z = 0.0
            d_trans = np.zeros((G + 1, K, K))  # row G: the sentences of no group (-1)
            d_start = np.zeros((G + 1, K))
            d_end = np.zeros((G + 1, K))
            for part in prob.parts:  # one pass per group, a handful
                g = part.group
                if g >= 0:
                    tr, st, en = trans + g_trans[g], start + g_start[g], end + g_end[g]
                else:
                    tr, st, en = trans, start, end
                fb = forward_backward(unary[part.tokens], tr, part.offsets, st, en,
                                      compute_pairs=want_grad)
                log_z += float(fb.log_z.sum())
                if want_grad:
                    marginals[part.tokens] = fb.marginals
                    d_trans[g] = fb.pair_counts
                    d_start[g] = fb.marginals[part.first].sum(axis=0)
                    d_end[g] = fb.marginals[part.last].sum(axis=0)
            if want_grad:
                block_grads = [d_trans.sum(axis=0).ravel(), d_start.sum(axis=0),
                               d_end.sum(axis=0), d_trans[:G].ravel(), d_start[:G].ravel(),
                               d_end[:G].ravel()]
        emp = prob.empirical
        nll = log_z - float(emp @ theta)
        c2 = float(self.settings_["c2"])
        nll += c2 * float(theta @ theta)
        if not want_grad:
            return nll
        totals = prob.slot_totals(marginals)
        g_pairs = pair_sums(totals, self.attr_ptr_, self.pair_label_, prob.attr_slot_ptr,
                            prob.attr_slot, prob.attr_chunks)
        grad = np.concatenate([g_pairs] + block_grads)
        grad -= emp
        grad += 2.0 * c2 * theta
        return nll, grad

    def _resolve_settings(self, label_counts):
        """Set ``task_`` (from ``task``, or detected from the training tags) and
        ``settings_``: each parameter left at None takes the task's default
        (:data:`TASK_DEFAULTS`)."""
        task = self.task
        if task == "auto":
            task = detect_task(self.labels_.labels, label_counts)
        elif task not in TASK_DEFAULTS:
            raise ValueError(f"task must be 'auto' or one of {sorted(TASK_DEFAULTS)}, got "
                             f"{task!r}")
        preset = TASK_DEFAULTS[task]
        settings = {k: preset[k] if getattr(self, k) is None else getattr(self, k)
                    for k in ("c1", "c2", "max_iterations", "tol", "extra_window",
                              "extra_ngrams", "ngrams")}
        if self.window is not None:
            settings["window"] = self.window
        elif self.templates is None:
            settings["window"] = {o: list(t) for o, t in preset["window"].items()}
        else:  # the given templates at each of the task's offsets
            settings["window"] = sorted(preset["window"])
        if settings["c1"] < 0 or settings["c2"] < 0:
            raise ValueError(f"c1 and c2 must be >= 0, got c1={settings['c1']}, "
                             f"c2={settings['c2']}")
        self.task_ = task
        self.settings_ = settings

    def _windows(self):
        return self.settings_["window"], self.settings_["extra_window"]

    def _ngrams(self):
        return self.settings_["ngrams"], self.settings_["extra_ngrams"]

    def _build_problem(self, X, y, extra, warm=False, groups=None):
        """Features, label set, weight layout and empirical counts of the training data
        (with per-group counts when ``groups`` has any id >= 0)."""
        from ._kernels import pair_sums

        X, y, flat, offsets = self._prepare_fit(X, y, extra)
        groups = _check_groups(groups, len(X))
        n_groups = int(groups.max(initial=-1)) + 1 if groups is not None else 0
        if not warm:
            self.labels_ = LabelSet().fit(y)
        labels = self._encode_labels(X, y).astype(np.int64)
        K = len(self.labels_)
        self._resolve_settings(np.bincount(labels, minlength=K))
        if not warm:
            self.feature_space_ = self._feature_space().fit(flat, offsets, extra)
            layout = self.feature_space_.train_layout_
            del self.feature_space_.train_layout_
        else:
            layout = self.feature_space_.transform(flat, offsets, extra)
        self._set_constraint_and_labels(y)
        prob = _Problem(layout, labels, K)
        n_attr = self.feature_space_.n_attributes_
        prob.pad_attrs(n_attr)
        if not warm:
            self.attr_ptr_, self.pair_label_ = prob.observed_pairs(n_attr)
        parts = [pair_sums(prob.slot_label_counts, self.attr_ptr_, self.pair_label_,
                           prob.attr_slot_ptr, prob.attr_slot, prob.attr_chunks),
                 prob.emp_transition, prob.emp_start, prob.emp_end]
        if n_groups:
            prob.set_groups(groups, n_groups)
            parts += [prob.emp_group_transition, prob.emp_group_start, prob.emp_group_end]
        prob.empirical = np.concatenate(parts)
        return prob

    def _theta(self):
        parts = [self.coef_, self.transition_.ravel(), self.start_, self.end_]
        if getattr(self, "group_transition_", np.zeros(0)).shape[0]:
            parts += [self.group_transition_.ravel(), self.group_start_.ravel(),
                      self.group_end_.ravel()]
        return np.concatenate(parts)

    def _set_theta(self, theta, n_pairs, K):
        (self.coef_, self.transition_, self.start_, self.end_, self.group_transition_,
         self.group_start_, self.group_end_) = (b.copy() for b in _theta_blocks(theta, n_pairs,
                                                                                K))

    # -- fit
    def fit(self, X: TokenLists | ConvertedText, y: LabelLists, extra: Extra | None = None,
            X_dev: TokenLists | ConvertedText | None = None, y_dev: LabelLists | None = None,
            extra_dev: Extra | None = None, groups: Groups | None = None,
            groups_dev: Groups | None = None) -> LinearChainCRF:
        """Train on sentences ``X`` with tags ``y``.

        Parameters
        ----------
        X : list of list of str or ConvertedText
            Sentences (or sentences a door converted, :class:`ConvertedText`).
        y : list of list of str
        extra : dict, optional
            Per-token extra features (see the class notes), aligned with the flattened X.
        X_dev, y_dev, extra_dev : optional
            A dev set for early stopping on token accuracy.
        groups : int array-like of shape (n_sentences,), optional
            Group (domain) id of each sentence, ``0 .. n_groups - 1`` or ``-1`` for none.
            Each group ``g`` gets transition, start and end offsets
            (``group_transition_[g]``, ...) added to the shared ones for its sentences;
            ``n_groups`` is the largest id plus one.  None (or all -1): no groups, the
            plain CRF.
        groups_dev : int array-like of shape (n_dev_sentences,), optional
            Group ids of the dev sentences; required with ``X_dev`` when ``groups`` is
            given (-1 where a dev sentence belongs to no training group).

        Returns
        -------
        self
        """
        if self.algorithm not in ("lbfgs", "sgd-l1"):
            raise ValueError(f"algorithm must be 'lbfgs' or 'sgd-l1', got {self.algorithm!r}")
        warm = self.warm_start and hasattr(self, "coef_")
        prob = self._build_problem(X, y, extra, warm, groups)
        n_pairs = self.pair_label_.shape[0]
        K = len(self.labels_)
        theta0 = self._initial_theta(prob, warm)
        dev = self._dev_set(X_dev, y_dev, extra_dev, groups_dev, prob.n_groups)
        if self.algorithm == "sgd-l1":
            theta = self._fit_sgd(prob, theta0, n_pairs, K, dev)
        else:
            theta = self._fit_lbfgs(prob, theta0, n_pairs, K, dev)
        self._set_theta(theta, n_pairs, K)
        return self

    def _initial_theta(self, prob, warm: bool) -> np.ndarray:
        """The starting point: zeros, or with ``warm`` the fitted model's weights."""
        n_pairs = self.pair_label_.shape[0]
        K = len(self.labels_)
        G = prob.n_groups
        n_theta = n_pairs + K * K + 2 * K + G * (K * K + 2 * K)
        if not warm:
            return np.zeros(n_theta)
        theta0 = self._theta()
        if theta0.shape[0] != n_theta:
            raise ValueError(f"warm_start needs the groups of the fitted model: it has "
                             f"{self.group_transition_.shape[0]} groups, this fit {G}")
        return theta0

    def _dev_set(self, X_dev, y_dev, extra_dev, groups_dev, n_groups: int) -> _DevSet | None:
        """The dev set of early stopping, featurized once (None without ``X_dev``)."""
        if X_dev is None:
            return None
        if y_dev is None:
            raise ValueError("X_dev needs y_dev")
        if isinstance(X_dev, ConvertedText):
            X_dev, flat_dev, off_dev = X_dev[:3]
        else:
            X_dev = self._check_X(X_dev, "X_dev")
            flat_dev, off_dev = flatten(X_dev)
        if n_groups and groups_dev is None:
            raise ValueError(f"fit got groups ({n_groups} groups) and a dev set without "
                             f"groups_dev; give one group id per dev sentence (-1 for "
                             f"none)")
        g_dev = _check_groups(groups_dev, off_dev.shape[0] - 1, n_groups, "groups_dev")
        return _DevSet(self.feature_space_.transform(flat_dev, off_dev, extra_dev),
                       self._encode_labels(X_dev, list(y_dev)), off_dev,
                       None if g_dev is None or n_groups == 0 else _group_parts(off_dev, g_dev))

    def _fit_lbfgs(self, prob, theta0, n_pairs, K, dev):
        """L-BFGS(-B) on the negative log-likelihood with the L2 term; an L1 term ``c1``
        splits the weights into positive and negative parts (bounded at 0).  Returns the
        weights: those of the best dev-set iteration when there is a dev set."""
        from scipy.optimize import minimize
        from threadpoolctl import threadpool_limits

        n_theta = theta0.shape[0]
        self.loss_curve_ = []
        best = _BestIterate()
        settings = self.settings_
        bar = _progress(self.verbose, settings["max_iterations"], "L-BFGS")
        c1 = float(settings["c1"])
        split = c1 > 0

        def fun(z):
            theta = z[:n_theta] - z[n_theta:] if split else z
            f, g = self._objective(theta, prob, n_pairs, K)
            if split:
                f += c1 * float(z.sum())
                g = np.concatenate([g + c1, -g + c1])
            return f, g

        def callback(intermediate_result):
            z = intermediate_result.x
            theta = z[:n_theta] - z[n_theta:] if split else z
            if self._iteration_done(intermediate_result.fun, theta, dev, best, bar, n_pairs, K):
                raise StopIteration

        if split:
            z0 = np.concatenate([np.maximum(theta0, 0), np.maximum(-theta0, 0)])
            bounds = [(0, None)] * (2 * n_theta)
        else:
            z0, bounds = theta0, None
        # L-BFGS-B's vector updates are level-1 BLAS calls on long vectors: several BLAS
        # threads only wait on each other (about 20x slower here on a busy 2-core machine)
        with threadpool_limits(1, user_api="blas"):
            res = minimize(fun, z0, jac=True, method="L-BFGS-B", bounds=bounds,
                           callback=callback,
                           options={"maxiter": int(settings["max_iterations"]),
                                    "ftol": 1e-14,
                                    "gtol": 1e-10, "maxcor": 10})
        if bar is not None:
            bar.close()
        self.n_iter_ = int(res.nit)
        theta = res.x[:n_theta] - res.x[n_theta:] if split else res.x
        if dev is not None and best.theta is not None:
            theta = best.theta
        return theta

    def _fit_sgd(self, prob, theta, n_pairs, K, dev):
        """SGD with the cumulative L1 penalty (Tsuruoka et al. 2009); one epoch per
        iteration, sentences shuffled by ``random_state``, exponentially decaying rate."""
        from ._kernels import PairIndex, SgdSchedule, TokenFeatures, sgd_l1_epoch

        rng = check_random_state(self.random_state)
        theta = theta.copy()
        q = np.zeros_like(theta)
        u, step = 0.0, 0
        lay = prob.layout
        n_seq = prob.offsets.shape[0] - 1
        groups = prob.groups if prob.n_groups else np.full(n_seq, -1, dtype=np.int64)
        self.loss_curve_ = []
        best = _BestIterate()
        settings = self.settings_
        c1, c2 = float(settings["c1"]), float(settings["c2"])
        bar = _progress(self.verbose, settings["max_iterations"], "SGD-L1")
        features = TokenFeatures(prob.offsets, lay.tok_slot, lay.tok_val, lay.slot_ptr,
                                 lay.slot_attr)
        pairs = PairIndex(self.attr_ptr_, self.pair_label_)
        schedule = SgdSchedule(n_seq, float(self.learning_rate), 0.85, c1, c2)
        self.n_iter_ = 0
        for _ in range(int(settings["max_iterations"])):
            order = rng.permutation(n_seq).astype(np.int64)
            u, step, nll = sgd_l1_epoch(order, groups, prob.n_groups, features, prob.labels,
                                        pairs, theta, q, u, step, schedule)
            self.n_iter_ += 1
            loss = nll + c1 * np.abs(theta).sum() + c2 * float(theta @ theta)
            if self._iteration_done(loss, theta, dev, best, bar, n_pairs, K):
                break
        if bar is not None:
            bar.close()
        return best.theta if best.theta is not None else theta

    def _iteration_done(self, loss, theta, dev, best, bar, n_pairs, K) -> bool:
        """Record one optimizer iteration; True when training should stop: no dev-set gain
        for ``early_stopping_rounds`` iterations, or a relative loss change below ``tol``
        over the last 10 iterations."""
        self.loss_curve_.append(float(loss))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4g}")
        if dev is not None:
            self._set_theta(theta, n_pairs, K)
            acc = self._layout_accuracy(*dev)
            if acc > best.accuracy:
                best.accuracy, best.theta, best.since = acc, theta.copy(), 0
            else:
                best.since += 1
                if best.since >= self.early_stopping_rounds:
                    return True
        curve = self.loss_curve_
        tol = self.settings_["tol"]
        return (len(curve) > 10 and tol > 0
                and (curve[-11] - curve[-1]) / max(abs(curve[-1]), 1e-12) < tol)

    def _layout_accuracy(self, layout, gold, offsets, parts=None):
        path = self._viterbi(self._unary(layout), offsets, parts).path
        return float(np.mean(path == gold)) if gold.size else 0.0


def _progress(verbose, total, desc):
    if not verbose:
        return None
    from .._progress import progress_bar

    return progress_bar(total=total, desc=desc)


# ============================================================================ perceptron
class AveragedPerceptron(_SequenceLabeler):
    """Structured perceptron with averaged weights (Collins, 2002).

    Same features and decoder as :class:`LinearChainCRF`; epochs visit sentences in an order
    shuffled by ``random_state``; averaging uses the lazy update trick, so an update costs
    only the features of the mispredicted tokens.  Weights that average to exactly zero are
    dropped after training.

    Parameters
    ----------
    n_epochs : int, default=10
    templates, window, extra_window, min_freq, n_features, constraint
        As in :class:`LinearChainCRF`.
    random_state : int, RandomState or None
    verbose : bool
    notation : {"auto", "keep"}, default="auto"
        As in :class:`LinearChainCRF`.

    Attributes
    ----------
    n_iter_ : int
        Epochs run.
    errors_ : list of int
        Token errors in each epoch (before the update).

    Notes
    -----
    The other fitted attributes (``labels_``, ``feature_space_``, ``coef_``, ``attr_ptr_``,
    ``pair_label_``, ``transition_``, ``start_``, ``end_``, ``group_transition_``,
    ``group_start_``, ``group_end_``, ``constraint_``, ``notation_``) are those of
    :class:`LinearChainCRF`.
    """

    def __init__(self, n_epochs=10, templates=None, window=2, extra_window=(-1, 0, 1),
                 min_freq=1, n_features=None, constraint=None, random_state=None,
                 verbose=False, notation="auto"):
        self.n_epochs = n_epochs
        self.templates = templates
        self.window = window
        self.extra_window = extra_window
        self.min_freq = min_freq
        self.n_features = n_features
        self.constraint = constraint
        self.random_state = random_state
        self.verbose = verbose
        self.notation = notation

    def fit(self, X: TokenLists | ConvertedText, y: LabelLists, extra: Extra | None = None,
            groups: Groups | None = None) -> AveragedPerceptron:
        """Train for ``n_epochs`` shuffled epochs.

        Parameters
        ----------
        X : list of list of str or ConvertedText
            Sentences (or sentences a door converted, :class:`ConvertedText`).
        y : list of list of str
        extra : dict, optional
            Per-token extra features, as in :meth:`LinearChainCRF.fit`.
        groups : int array-like of shape (n_sentences,), optional
            Group id of each sentence (-1: none), as in :meth:`LinearChainCRF.fit`: a
            mistake on a sentence of group ``g`` updates the shared transition, start and
            end scores and group ``g``'s offsets.

        Returns
        -------
        self
        """
        from ._kernels import ChainWeights, TokenFeatures, perceptron_epoch

        X, y, flat, offsets = self._prepare_fit(X, y, extra)
        n_seq = offsets.shape[0] - 1
        group_ids = _check_groups(groups, n_seq)
        groups = np.full(n_seq, -1, dtype=np.int64) if group_ids is None else group_ids
        G = int(groups.max(initial=-1)) + 1
        rng = check_random_state(self.random_state)
        self.labels_ = LabelSet().fit(y)
        self.feature_space_ = self._feature_space().fit(flat, offsets, extra)
        layout = self.feature_space_.train_layout_
        del self.feature_space_.train_layout_
        labels = self._encode_labels(X, y).astype(np.int64)
        self._set_constraint_and_labels(y)
        K = len(self.labels_)
        n_attr = self.feature_space_.n_attributes_
        features = TokenFeatures(layout.offsets, layout.tok_slot, layout.tok_val,
                                 layout.slot_ptr, layout.slot_attr)
        scores = ChainWeights.zeros(n_attr, K, G)
        totals = ChainWeights.zeros(n_attr, K, G)
        counter = 1
        self.errors_ = []
        n_seq = offsets.shape[0] - 1
        bar = _progress(self.verbose, self.n_epochs, "perceptron")
        for _ in range(int(self.n_epochs)):
            order = rng.permutation(n_seq).astype(np.int64)
            counter, n_err = perceptron_epoch(order, groups, features, labels, scores, totals,
                                              counter)
            self.errors_.append(int(n_err))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(errors=n_err)
        if bar is not None:
            bar.close()
        self._set_averages(scores, totals, counter)
        self.n_iter_ = int(self.n_epochs)
        return self

    def _set_averages(self, scores, totals, counter: int) -> None:
        """The averaged weights ``w - acc / counter`` (lazy averaging); the attribute
        weights that average to exactly zero are dropped (``coef_`` holds the others)."""
        c = float(counter)
        W = scores.weights
        W -= totals.weights / c
        n_attr = W.shape[0]
        rows, cols = np.nonzero(W)
        self.attr_ptr_ = np.zeros(n_attr + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_attr), out=self.attr_ptr_[1:])
        self.pair_label_ = cols.astype(np.int64)
        self.coef_ = W[rows, cols]
        self.transition_ = scores.transition - totals.transition / c
        self.start_ = scores.start - totals.start / c
        self.end_ = scores.end - totals.end / c
        self.group_transition_ = scores.group_transition - totals.group_transition / c
        self.group_start_ = scores.group_start - totals.group_start / c
        self.group_end_ = scores.group_end - totals.group_end / c
