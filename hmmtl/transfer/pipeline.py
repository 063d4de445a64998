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

import inspect

from typing import Sequence

import numpy as np

from .._base import BaseEstimator, check_is_fitted, check_random_state
from .. import serialize
from ..data import check_sentences, check_tokens, flatten

__all__ = ["Tagger", "REPRESENTATIONS", "hmm_representations", "check_representations",
           "make_labeler", "token_accuracy"]

#: kinds of HMM representation a Tagger can use as features
REPRESENTATIONS = ("viterbi", "posterior", "type", "type_cluster")


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


def hmm_representations(hmms: Sequence, sentences, representations=("viterbi", "posterior",
                                                                    "type"),
                        top_k: int | None = 8, *, prefix: str = "hmm") -> dict:
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

    Returns
    -------
    extra : dict
        ``viterbi`` / ``type_cluster`` -> int32 array of shape (n_tokens,);
        ``posterior`` / ``type`` -> (ids (n_tokens, k) int32, weights (n_tokens, k) float64)
        with ``top_k``, else float64 array of shape (n_tokens, n_states).
    """
    reps = check_representations(representations)
    extra: dict = {}
    for i, hmm in enumerate(hmms):
        for kind in reps:
            name = f"{prefix}{i}.{kind}"
            if kind in ("viterbi", "type_cluster"):
                extra[name] = np.asarray(hmm.transform(sentences, kind=kind), dtype=np.int32)
            elif top_k is not None:
                ids, weights = hmm.transform(sentences, kind=kind, top_k=int(top_k))
                extra[name] = (np.ascontiguousarray(ids, dtype=np.int32),
                               np.ascontiguousarray(weights, dtype=np.float64))
            else:
                extra[name] = np.asarray(hmm.transform(sentences, kind=kind), dtype=np.float64)
    return extra


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


def token_accuracy(gold, predicted) -> float:
    """Fraction of tokens whose predicted tag equals the gold tag."""
    g, g_off = flatten(gold)
    p, p_off = flatten(predicted)
    if not np.array_equal(g_off, p_off):
        raise ValueError("gold and predicted tag sequences differ in length")
    if not g:
        return float("nan")
    return float(np.mean(np.asarray(g, dtype=object) == np.asarray(p, dtype=object)))


def _check_tagged(sentences, tags):
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
        return words, tags
    if len(sentences) != len(tags):
        raise ValueError(f"got {len(sentences)} sentences but {len(tags)} tag sequences")
    lens = np.fromiter(map(len, sentences), np.int64, len(sentences))
    tlens = np.fromiter(map(len, tags), np.int64, len(tags))
    bad = np.flatnonzero(lens != tlens)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"sentence {i} has {lens[i]} tokens but {tlens[i]} tags")
    return sentences, tags


class Tagger(BaseEstimator):
    """A sequence labeler with HMM word representations as features.

    Parameters
    ----------
    labeler : {"crf", "perceptron"} or estimator, default="crf"
        The supervised labeler: :class:`hmmtl.LinearChainCRF`,
        :class:`hmmtl.AveragedPerceptron`, or an instance with the same ``fit(X, y,
        extra=...)`` / ``predict(X, extra=...)`` interface (it is cloned in ``fit``).
    hmm : None, int, CategoricalHMM or list of CategoricalHMM, default=None
        None: no representations (a plain labeler).  An int: the number of states of an HMM
        fitted in :meth:`fit` on the ``unlabeled`` text (or on the training sentences when
        no unlabeled text is given).  A fitted HMM, or a list of them (different numbers of
        states or seeds): their representations are all used.
    representations : sequence of str, default=("viterbi", "posterior", "type")
        Which representations of each HMM become features: ``"viterbi"`` (the state on the
        Viterbi path), ``"posterior"`` (the posterior over states in context),
        ``"type"`` (context-free p(state | word)), ``"type_cluster"`` (its argmax).
    top_k : int or None, default=8
        Posteriors and type distributions keep their ``top_k`` largest states as weighted
        categorical features; None uses the dense distribution as real-valued features.
    window : int or None, default=1
        The representation features are used at offsets ``-window..+window`` (passed to the
        labeler as ``extra_window``); None leaves the labeler's own setting.
    labeler_params : dict, optional
        Keyword arguments of the labeler (``c2``, ``max_iterations``, ...).
    hmm_params : dict, optional
        Keyword arguments of the :class:`hmmtl.CategoricalHMM` built when ``hmm`` is an int.
    random_state : int, RandomState or None
        Seeds the HMM fitted when ``hmm`` is an int.

    Attributes
    ----------
    labeler_ : estimator
        The fitted labeler.
    hmms_ : list of CategoricalHMM
        The HMMs whose representations are used (empty without representations).

    Examples
    --------
    >>> tagger = Tagger(hmm=None, labeler_params={"max_iterations": 20})   # doctest: +SKIP
    >>> tagger.fit([["The", "dog"]], [["DT", "NN"]]).predict([["The", "cat"]])  # doctest: +SKIP
    [['DT', 'NN']]
    """

    #: a fitted HMM given as ``hmm`` is used as it is, also by a clone
    _fitted_params = ("hmm",)

    def __init__(self, labeler="crf", hmm=None, representations=("viterbi", "posterior", "type"),
                 top_k=8, window=1, labeler_params=None, hmm_params=None, random_state=None):
        self.labeler = labeler
        self.hmm = hmm
        self.representations = representations
        self.top_k = top_k
        self.window = window
        self.labeler_params = labeler_params
        self.hmm_params = hmm_params
        self.random_state = random_state

    # ------------------------------------------------------------------ building
    def _labeler_params(self) -> dict:
        params = dict(self.labeler_params or {})
        if self.window is not None and self.hmm is not None:
            params.setdefault("extra_window", int(self.window))
        return params

    def _resolve_hmms(self, sentences, unlabeled, verbose: bool) -> list:
        hmm = self.hmm
        if hmm is None:
            return []
        if isinstance(hmm, (int, np.integer)) and not isinstance(hmm, bool):
            if hmm < 1:
                raise ValueError(f"hmm must be a positive number of states, got {hmm}")
            from ..hmm import CategoricalHMM

            params = dict(self.hmm_params or {})
            rs = check_random_state(self.random_state)
            params.setdefault("random_state", int(rs.randint(np.iinfo(np.int32).max)))
            text = list(unlabeled) if unlabeled is not None else list(sentences)
            if not text:
                raise ValueError("hmm is a number of states, but there is no text to fit it "
                                 "on: pass unlabeled= (a list of token lists)")
            return [CategoricalHMM(n_states=int(hmm), **params).fit(text)]
        hmms = list(hmm) if isinstance(hmm, (list, tuple)) else [hmm]
        for i, h in enumerate(hmms):
            if not hasattr(h, "transform"):
                raise TypeError(f"hmm[{i}] must be a fitted CategoricalHMM (with transform), "
                                f"got {type(h).__name__}")
            check_is_fitted(h)
        return hmms

    def _extra(self, sentences):
        if not self.hmms_:
            return None
        return hmm_representations(self.hmms_, sentences, self.representations_, self.top_k)

    # ------------------------------------------------------------------ API
    def fit(self, sentences, tags=None, *, unlabeled=None, dev=None, verbose: bool = False):
        """Fit the HMM(s) when asked, then the labeler on the training sentences.

        Parameters
        ----------
        sentences : list of list of str
            Training sentences; or NLTK tagged sentences ``[[(word, tag), ...]]`` with
            ``tags=None``.
        tags : list of list of str, optional
        unlabeled : list of list of str, optional
            Text for the HMM when ``hmm`` is a number of states (source and target domain
            text, labels discarded).
        dev : (sentences, tags), optional
            Development data handed to the labeler (early stopping where it supports it).

        Returns
        -------
        self
        """
        sentences, tags = _check_tagged(sentences, tags)
        self.representations_ = check_representations(self.representations)
        if self.hmm is not None and not self.representations_:
            raise ValueError("an hmm is given but representations is empty: list at least "
                             "one of " + str(list(REPRESENTATIONS)))
        self.hmms_ = self._resolve_hmms(sentences, unlabeled, verbose)
        labeler = make_labeler(self.labeler, self._labeler_params())
        kwargs = {}
        extra = self._extra(sentences)
        if extra is not None:
            kwargs["extra"] = extra
        if dev is not None and "X_dev" not in inspect.signature(labeler.fit).parameters:
            raise ValueError(f"{type(labeler).__name__} does not use development data; "
                             "drop dev= (or --dev), or use the CRF labeler for early stopping")
        if dev is not None:
            dev_x, dev_y = _check_tagged(*dev) if isinstance(dev, tuple) and len(dev) == 2 \
                else _check_tagged(dev, None)
            kwargs.update(X_dev=dev_x, y_dev=dev_y)
            if extra is not None:
                kwargs["extra_dev"] = self._extra(dev_x)
        labeler.fit(sentences, tags, **kwargs)
        self.labeler_ = labeler
        return self

    def predict(self, sentences) -> list[list[str]]:
        """Tag sequences: a list of tag lists aligned with ``sentences``."""
        check_is_fitted(self, "labeler_")
        sentences = check_sentences(sentences, "sentences")
        if not sentences:
            return []
        extra = self._extra(sentences)
        if extra is None:
            return self.labeler_.predict(sentences)
        return self.labeler_.predict(sentences, extra=extra)

    def score(self, sentences, tags) -> float:
        """Token accuracy of :meth:`predict` against ``tags``."""
        sentences, tags = _check_tagged(sentences, tags)
        return token_accuracy(tags, self.predict(sentences))

    # NLTK's TaggerI interface
    def tag(self, tokens) -> list[tuple[str, str]]:
        """NLTK ``tag``: ``[(word, tag), ...]`` for one sentence."""
        tokens = check_tokens(tokens)
        return list(zip(tokens, self.predict([tokens])[0]))

    def tag_sents(self, sentences) -> list[list[tuple[str, str]]]:
        """NLTK ``tag_sents``: one list of ``(word, tag)`` pairs per sentence."""
        sentences = [list(s) for s in check_sentences(sentences, "sentences")]
        return [list(zip(s, t)) for s, t in zip(sentences, self.predict(sentences))]

    def evaluate(self, gold) -> float:
        """NLTK ``accuracy`` on tagged sentences ``[[(word, tag), ...], ...]``."""
        words, tags = _check_tagged(gold, None)
        return self.score(words, tags)

    accuracy = evaluate

    # ------------------------------------------------------------------ persistence
    def _get_state(self):
        check_is_fitted(self, "labeler_")
        children = {"labeler": self.labeler_}
        children.update({f"hmm{i}": h for i, h in enumerate(self.hmms_)})
        arrays, nested = serialize.pack_nested(children)
        labeler = self.labeler if isinstance(self.labeler, str) else None
        meta = {
            "params": {
                "labeler": labeler,
                "hmm": None if self.hmm is None else
                (int(self.hmm) if isinstance(self.hmm, (int, np.integer)) else "fitted"),
                "representations": list(self.representations_),
                "top_k": None if self.top_k is None else int(self.top_k),
                "window": None if self.window is None else int(self.window),
                "labeler_params": self.labeler_params,
                "hmm_params": self.hmm_params,
                "random_state": self.random_state if isinstance(self.random_state,
                                                                (int, type(None))) else None,
            },
            "n_hmms": len(self.hmms_),
            "children": nested,
        }
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        children = serialize.unpack_nested(arrays, meta["children"])
        params = dict(meta["params"])
        hmms = [children[f"hmm{i}"] for i in range(int(meta["n_hmms"]))]
        labeler = children["labeler"]
        hmm_param = params["hmm"]
        if hmm_param == "fitted":
            hmm_param = hmms[0] if len(hmms) == 1 else hmms
        self = cls(labeler=params["labeler"] or labeler, hmm=hmm_param,
                   representations=tuple(params["representations"]), top_k=params["top_k"],
                   window=params["window"], labeler_params=params["labeler_params"],
                   hmm_params=params["hmm_params"], random_state=params["random_state"])
        self.representations_ = check_representations(params["representations"])
        self.hmms_ = hmms
        self.labeler_ = labeler
        return self

    def save(self, path):
        """Write the whole pipeline (labeler and HMMs) to one model file."""
        return serialize.save(self, path)

    @classmethod
    def load(cls, path) -> "Tagger":
        return serialize.load(path, expected_class=cls)
