"""Alternating structure optimization (Ando & Zhang 2005): a shared low-dimensional projection
``Theta`` of the token features, learned from the weight vectors of every task's labels (and
optionally of auxiliary problems on unlabeled text).  ``Theta @ x`` is a dense representation
that each task's CRF takes as extra features (``LinearChainCRF.fit(X, y, extra={"aso":
theta_x})``).

The token features are those of :class:`hmmtl.crf.features.FeatureSpace` -- the CRF's type-level
templates at each window offset, hashed with its reproducible CRC-32 scheme -- read through
its public ``fit`` / ``transform``: one feature-hashing scheme in hmmtl.

References
----------
Ando, R. K. and Zhang, T. (2005). A framework for learning predictive structures from multiple
tasks and unlabeled data. JMLR 6.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._base import BaseEstimator, check_is_fitted, check_random_state
from ..data import LabelSet, check_sentences, flatten
from ..serialize import ModelFileMixin
from ..crf.features import FeatureSpace

__all__ = ["AlternatingStructureOptimization", "token_feature_matrices"]


def _entry_matrix(layout, column: int, n_attributes: int):
    """Token x attribute CSR matrix of one entry column of a :class:`~hmmtl.crf.features.Layout`
    (one window offset of the word features)."""
    import scipy.sparse as sp

    slots = layout.tok_slot[:, column].astype(np.int64)
    n = slots.shape[0]
    valid = slots >= 0
    starts = np.where(valid, layout.slot_ptr[np.maximum(slots, 0)], 0)
    lengths = np.where(valid, layout.slot_ptr[np.maximum(slots, 0) + 1] - starts, 0)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    total = int(indptr[-1])
    gather = np.repeat(starts - indptr[:-1], lengths) + np.arange(total, dtype=np.int64)
    data = np.ones(total, dtype=np.float64)
    return sp.csr_matrix((data, layout.slot_attr[gather].astype(np.int64), indptr),
                         shape=(n, n_attributes))


def token_feature_matrices(space: FeatureSpace, flat_tokens, offsets) -> dict:
    """Binary token x attribute matrices of the tokens' features through a fitted
    :class:`~hmmtl.crf.features.FeatureSpace` (built without bias), by view: ``"word"`` the
    token's own features (offset 0), ``"context"`` its neighbours' (the other offsets,
    padding beyond the sentence), ``"all"`` both.

    Returns
    -------
    dict of str -> scipy.sparse.csr_matrix of shape (n_tokens, space.n_attributes_)
    """
    import scipy.sparse as sp

    layout = space.transform(list(flat_tokens), np.asarray(offsets, dtype=np.int64))
    n_attr = int(space.n_attributes_)
    per_offset = {o: _entry_matrix(layout, j, n_attr) for j, o in enumerate(space.window)}
    word = per_offset[0]
    context = sp.csr_matrix(word.shape)
    for o, m in per_offset.items():
        if o != 0:
            context = context + m
    context = context.tocsr()
    context.data[:] = 1.0
    full = (word + context).tocsr()
    full.data[:] = 1.0
    return {"all": full, "word": word, "context": context}


class AlternatingStructureOptimization(ModelFileMixin, BaseEstimator):
    """A shared low-dimensional projection of token features learned from several tasks.

    Alternating structure optimization (Ando & Zhang 2005): every label of every task is a
    linear prediction problem over the same sparse token features ``x``.  Its weights are
    ``u_l = w_l + Theta^T v_l``, a problem-specific part plus a part in a subspace ``Theta``
    (``n_components`` rows) shared by all problems.  ASO alternates between fitting the
    problems with ``Theta`` fixed (features ``[x, Theta x]``) and setting ``Theta`` to the top
    left singular vectors of the stacked weights ``[u_1 ... u_m]``.  The result,
    ``Theta x`` (:meth:`transform`), goes to each task's CRF as dense extra features, so that
    what POS and chunking learned about the features reaches the NER labeler and back.

    The problems are fitted one-vs-rest with the modified Huber loss (as Ando & Zhang did) by
    scikit-learn's ``SGDClassifier``.

    Parameters
    ----------
    n_components : int, default=50
        Dimension ``h`` of the shared subspace (at most the number of prediction problems:
        one per label, one for a two-label task).
    n_rounds : int, default=2
        Alternations (1 = fit the problems once and take the SVD, "SVD-ASO").
    alpha : float, default=1e-5
        L2 penalty of the problem-specific weights.
    n_epochs : int, default=5
    window : int, default=1
        Features of the tokens at offsets ``-window..window``.
    templates : sequence, optional
        Type-level templates (:mod:`hmmtl.crf.features`).
    n_hash : int, default=2**18
        Hash buckets per window offset.
    min_count : int, default=2
        Feature columns seen in fewer training tokens are dropped.
    n_auxiliary : int, default=0
        Auxiliary problems from unlabeled text (Ando & Zhang's semi-supervised ASO, section
        5 of the paper): with ``n_auxiliary = m > 0``, (a) predict which of the ``m`` most
        frequent words of the text stands at a position from the features of its
        neighbours alone (offsets ``-window..-1, 1..window``), and (b) predict the word to
        the left and the word to the right from the position's own features.  Labels are
        not needed, so any amount of text can teach them; each set gets its own projection
        of its own view of the features (``auxiliary_components`` rows each), which
        :meth:`transform` appends to the task projection.  Needs ``window >= 1``.
    auxiliary_components : int, default=50
        Rows of each auxiliary projection.
    max_auxiliary_tokens : int or None, default=500_000
        The auxiliary problems are fitted on at most this many tokens (whole sentences,
        drawn at random) of the unlabeled text.
    output_scale : float, default=1.0
        :meth:`transform` returns standardized values times this.  A CRF's L2 penalty
        weighs a dense feature scaled by ``a`` like the unscaled one under ``1 / a**2``
        times the penalty: below 1, the labeler leans on these features less (0.2 was best
        for NER on CoNLL-2003 testa in the multi-task study).
    random_state : int, RandomState or None
    verbose : bool

    Attributes
    ----------
    features_ : FeatureSpace
        The hashed feature space (fitted on ``X`` and the unlabeled text).
    theta_ : ndarray of shape (n_components, n_kept_features)
    columns_ : int64 ndarray of shape (n_kept_features,)
        Feature columns kept.
    auxiliary_theta_ : dict
        ``"context"`` / ``"word"`` -> (projection (h, n_view_columns), view columns int64)
        of the auxiliary problems (empty without them).
    auxiliary_words_ : list of str
        The words the auxiliary problems predict.
    mean_, scale_ : ndarray of shape (n_output_features,)
        Standardization of the output on the training tokens.
    singular_values_ : ndarray
    tasks_ : list of str
    """

    def __init__(self, n_components: int = 50, *, n_rounds: int = 2, alpha: float = 1e-5,
                 n_epochs: int = 5, window: int = 1, templates=None, n_hash: int = 2 ** 18,
                 min_count: int = 2, n_auxiliary: int = 0, auxiliary_components: int = 50,
                 max_auxiliary_tokens: int | None = 500_000, output_scale: float = 1.0,
                 random_state=None, verbose: bool = False):
        self.n_components = n_components
        self.n_rounds = n_rounds
        self.alpha = alpha
        self.n_epochs = n_epochs
        self.window = window
        self.templates = templates
        self.n_hash = n_hash
        self.min_count = min_count
        self.n_auxiliary = n_auxiliary
        self.auxiliary_components = auxiliary_components
        self.max_auxiliary_tokens = max_auxiliary_tokens
        self.output_scale = output_scale
        self.random_state = random_state
        self.verbose = verbose

    def _space(self, texts) -> FeatureSpace:
        """The hashed feature space (no bias) fitted on the words of ``texts``."""
        flat, offsets = flatten([s for text in texts for s in text])
        w = int(self.window)
        return FeatureSpace(self.templates, window=w, n_features=int(self.n_hash) * (2 * w + 1),
                            bias=False).fit(flat, offsets)

    def _features(self, X) -> dict:
        flat, offsets = flatten(check_sentences(X))
        return token_feature_matrices(self.features_, flat, offsets)

    def fit(self, X, y, *, unlabeled=None):
        """Learn ``Theta`` from the labels of every task (and the auxiliary problems).

        Parameters
        ----------
        X : list of list of str
        y : dict of str -> list of (list of str or None)
            Labels of each task; ``None`` for sentences (or tokens) without them.  May be
            empty (or None) with ``n_auxiliary > 0``: the auxiliary problems alone.
        unlabeled : list of list of str, optional
            Text for the auxiliary problems (``n_auxiliary > 0``); default ``X``.
        """
        import scipy.sparse as sp
        from sklearn.linear_model import SGDClassifier

        rng = check_random_state(self.random_state)
        X = check_sentences(X)
        if y is None:
            y = {}
        if not isinstance(y, Mapping) or (not y and int(self.n_auxiliary) <= 0):
            raise TypeError("y must be a non-empty dict task -> list of label lists (or "
                            "empty with n_auxiliary > 0: auxiliary problems only)")
        if unlabeled is not None:
            unlabeled = check_sentences(unlabeled, "unlabeled")
        with_text = int(self.n_auxiliary) > 0 and unlabeled is not None
        self.features_ = self._space([X, unlabeled] if with_text else [X])
        views = self._features(X)
        F_all = views["all"]
        self.columns_ = self._kept_columns(F_all)
        F = F_all[:, self.columns_].tocsr()
        n_feat = F.shape[1]
        self.labelsets_ = {}
        problems = []
        for task, seqs in y.items():
            ls = LabelSet().fit(seqs)
            if len(ls) < 2:
                raise ValueError(f"task {task!r} has {len(ls)} distinct labels; need >= 2")
            lab = ls.encode_for(X, list(seqs))
            rows = np.flatnonzero(lab >= 0)
            self.labelsets_[task] = ls
            problems.append((task, rows, lab[rows]))
        self.tasks_ = list(self.labelsets_)
        h = min(int(self.n_components), n_feat)
        theta = None
        rounds = range(max(int(self.n_rounds), 1) if problems else 0)
        if self.verbose:
            from .._progress import progress_bar

            rounds = progress_bar(rounds, desc="ASO rounds")
        for _ in rounds:
            weights = []
            if theta is not None:
                proj = F @ theta.T
                # scale the shared part up so that the common L2 penalty barely restrains v:
                # Ando & Zhang leave v unpenalized
                boost = 1.0 / np.maximum(proj.std(axis=0), 1e-12)
                aug = sp.hstack([F, sp.csr_matrix(proj * boost)], format="csr")
            for _task, rows, lab in problems:
                clf = SGDClassifier(loss="modified_huber", alpha=float(self.alpha),
                                    max_iter=int(self.n_epochs), tol=None,
                                    random_state=rng.randint(2 ** 31 - 1))
                if theta is None:
                    clf.fit(F[rows], lab)
                    weights.append(clf.coef_)
                else:
                    clf.fit(aug[rows], lab)
                    w, v = clf.coef_[:, :n_feat], clf.coef_[:, n_feat:] * boost
                    weights.append(w + v @ theta)
            U = np.vstack(weights)  # (n_problems, n_feat)
            # rows of Vt: left singular vectors of U^T, i.e. the shared directions
            _, s, vt = np.linalg.svd(U, full_matrices=False)
            theta = vt[:min(h, vt.shape[0])]
            self.singular_values_ = s
        if theta is None:  # no labeled task: the auxiliary projections alone
            theta = np.zeros((0, n_feat))
            self.singular_values_ = np.zeros(0)
        self.theta_ = np.ascontiguousarray(theta)
        self.auxiliary_theta_, self.auxiliary_words_ = {}, []
        if int(self.n_auxiliary) > 0:
            self._fit_auxiliary(X if unlabeled is None else unlabeled, rng)
        proj = self._project(views)
        self.mean_ = proj.mean(axis=0)
        self.scale_ = np.maximum(proj.std(axis=0), 1e-12)
        return self

    def _kept_columns(self, F) -> np.ndarray:
        """Hashed columns of ``F`` seen in at least ``min_count`` tokens (int64)."""
        counts = np.asarray((F > 0).sum(axis=0)).ravel()
        return np.flatnonzero(counts >= int(self.min_count)).astype(np.int64)

    def _fit_auxiliary(self, text, rng) -> None:
        """Projections of the auxiliary problems (see ``n_auxiliary``).

        Each set of problems ("which of the m words is this", from one view of the features)
        is solved in closed form: least squares with the Gram matrix of the (binary) view
        features replaced by its diagonal, i.e. weights ``W = D_f^-1 X^T Y`` (``D_f`` the
        feature counts, ``Y`` the one-hot targets), whose shared subspace (the top singular
        vectors, with both sides scaled by the square roots of their counts as in CCA) is
        the projection.  One sparse product and one truncated SVD, where a solver per
        problem would cost a pass over the text per word.
        """
        from sklearn.utils.extmath import randomized_svd
        import scipy.sparse as sp

        if int(self.window) < 1:
            raise ValueError("n_auxiliary > 0 needs window >= 1 (the context view is the "
                             f"neighbours' features), got window={self.window}")
        text = [s for s in text if len(s)]
        if not text:
            raise ValueError("the auxiliary problems need unlabeled text, got none")
        limit = self.max_auxiliary_tokens
        if limit is not None:
            order = rng.permutation(len(text))
            lengths = np.fromiter((len(text[i]) for i in order), np.int64, len(order))
            n_keep = max(1, int(np.searchsorted(np.cumsum(lengths), int(limit))) + 1)
            text = [text[i] for i in np.sort(order[:n_keep])]
        flat, offsets = flatten(text)
        views = token_feature_matrices(self.features_, flat, offsets)
        # targets: the n_auxiliary most frequent (lowercased) words
        lower = np.asarray([w.lower() for w in flat], dtype=object)
        types, ids, freq = np.unique(lower, return_inverse=True, return_counts=True)
        top = np.argsort(-freq, kind="stable")[:int(self.n_auxiliary)]
        m = top.shape[0]
        self.auxiliary_words_ = types[top].tolist()
        cls = np.full(types.shape[0], -1, dtype=np.int64)
        cls[top] = np.arange(m)
        target = cls[ids.ravel()]
        n = target.shape[0]
        lengths = np.diff(offsets)
        pos = np.arange(n) - np.repeat(offsets[:-1], lengths)
        last = np.repeat(lengths, lengths) - 1
        left = np.where(pos > 0, np.roll(target, 1), -1)
        right = np.where(pos < last, np.roll(target, -1), -1)
        h = int(self.auxiliary_components)

        def one_hot(y, shift):
            rows = np.flatnonzero(y >= 0)
            return sp.csr_matrix((np.ones(rows.shape[0]), (rows, y[rows] + shift)),
                                 shape=(n, 2 * m))

        def fit_view(view, Y):
            cols = self._kept_columns(views[view])
            Fv = views[view][:, cols].tocsr()
            Fv.data[:] = 1.0
            f_count = np.asarray(Fv.sum(axis=0)).ravel()
            y_count = np.asarray(Y.sum(axis=0)).ravel()
            C = (Fv.T @ Y).tocsr()
            smooth = 1.0
            row_scale = 1.0 / np.sqrt(f_count + smooth)
            C = sp.diags(row_scale) @ C @ sp.diags(1.0 / np.sqrt(y_count + smooth))
            k = max(1, min(h, min(C.shape) - 1))
            U, _, _ = randomized_svd(C, k, n_iter=5, random_state=rng.randint(2 ** 31 - 1))
            theta = (U * row_scale[:, None]).T
            self.auxiliary_theta_[view] = (np.ascontiguousarray(theta), cols)

        fit_view("context", one_hot(target, 0))
        fit_view("word", one_hot(left, 0) + one_hot(right, m))

    def _project(self, views: dict) -> np.ndarray:
        """``[Theta x, Theta_context x_context, Theta_word x_word]`` (unstandardized)."""
        parts = [views["all"][:, self.columns_] @ self.theta_.T]
        for view in ("context", "word"):
            if view in getattr(self, "auxiliary_theta_", {}):
                theta, cols = self.auxiliary_theta_[view]
                parts.append(views[view][:, cols] @ theta.T)
        return np.hstack(parts) if len(parts) > 1 else parts[0]

    def transform(self, X) -> np.ndarray:
        """Standardized ``Theta x`` of every token (with the auxiliary projections after
        it) times ``output_scale``, shape (n_tokens, n_output_features)."""
        check_is_fitted(self, "theta_")
        z = (self._project(self._features(X)) - self.mean_) / self.scale_
        return z * float(self.output_scale) if float(self.output_scale) != 1.0 else z

    def _get_state(self):
        check_is_fitted(self, "theta_")
        params = self.get_params()
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None
        if params["templates"] is not None:
            params["templates"] = list(params["templates"])
        space_arrays, space_meta = self.features_.to_state()
        arrays = {"theta": self.theta_, "columns": self.columns_, "mean": self.mean_,
                  "scale": self.scale_, "singular_values": self.singular_values_}
        arrays.update({f"features_{k}": v for k, v in space_arrays.items()})
        for view, (theta, cols) in self.auxiliary_theta_.items():
            arrays[f"auxiliary_theta_{view}"] = theta
            arrays[f"auxiliary_columns_{view}"] = cols
        meta = {"params": params, "tasks": self.tasks_,
                "labelsets": [self.labelsets_[t].to_dict() for t in self.tasks_],
                "auxiliary_views": list(self.auxiliary_theta_),
                "auxiliary_words": list(self.auxiliary_words_), "features": space_meta}
        return arrays, meta

    @classmethod
    def _from_state(cls, arrays, meta):
        if "features" not in meta:
            raise ValueError("model file: an AlternatingStructureOptimization saved by an "
                             "earlier hmmtl (before its features came from FeatureSpace); "
                             "fit and save it again")
        m = cls(**meta["params"])
        m.features_ = FeatureSpace.from_state(
            {k[len("features_"):]: v for k, v in arrays.items() if k.startswith("features_")},
            meta["features"])
        m.theta_ = np.asarray(arrays["theta"], dtype=np.float64)
        m.columns_ = np.asarray(arrays["columns"], dtype=np.int64)
        m.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        m.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
        m.singular_values_ = np.asarray(arrays["singular_values"], dtype=np.float64)
        m.tasks_ = list(meta["tasks"])
        m.labelsets_ = {t: LabelSet.from_dict(d) for t, d in zip(m.tasks_, meta["labelsets"])}
        m.auxiliary_theta_ = {}
        for view in meta.get("auxiliary_views", []):
            if view not in ("context", "word"):
                raise ValueError(f"unknown auxiliary view {view!r} in the model file")
            m.auxiliary_theta_[view] = (
                np.asarray(arrays[f"auxiliary_theta_{view}"], dtype=np.float64),
                np.asarray(arrays[f"auxiliary_columns_{view}"], dtype=np.int64))
        m.auxiliary_words_ = list(meta.get("auxiliary_words", []))
        n_out = m.theta_.shape[0] + sum(t.shape[0] for t, _ in m.auxiliary_theta_.values())
        if m.mean_.shape != (n_out,) or m.scale_.shape != (n_out,):
            raise ValueError(f"model file: mean/scale have shapes {m.mean_.shape} / "
                             f"{m.scale_.shape}, expected ({n_out},)")
        n_attr = int(m.features_.n_attributes_)
        for name, (theta, cols) in [("theta", (m.theta_, m.columns_)),
                                    *m.auxiliary_theta_.items()]:
            if theta.ndim != 2 or theta.shape[1] != cols.shape[0] or (
                    cols.size and (cols.min() < 0 or cols.max() >= n_attr)):
                raise ValueError(f"model file: the {name} projection and its columns do not "
                                 f"fit the {n_attr} feature columns")
        return m
