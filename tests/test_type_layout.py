"""Prediction sums the features of each (window offset, word type) pair once
(:meth:`FeatureSpace.transform_types`): the unary scores equal those of the token layout up to
floating-point rounding (exactly, without extras: the same terms in the same order), the tags
are the same, and an extra that is not a function of the word type falls back to the token
layout."""

from __future__ import annotations

import numpy as np
import pytest

from hmmtl.crf import AveragedPerceptron, LinearChainCRF
from hmmtl.crf.features import PAD_LEFT, PAD_RIGHT, ColumnLayout, TypeLayout
from hmmtl.data import flatten

from crf_helpers import WORDS, random_corpus


def _type_extra(flat, kinds):
    """Extras that depend on the word type only (a value per word of ``WORDS``, others -1)."""
    index = {w: i for i, w in enumerate(WORDS)}
    ids = np.array([index.get(w, -1) for w in flat])
    rng = np.random.default_rng(len(WORDS))
    weights = rng.random((len(WORDS) + 1, 2))
    extra = {}
    if "categorical" in kinds:
        extra["state"] = ids % 4
    if "weighted" in kinds:
        extra["post"] = (np.stack([ids % 3, (ids + 1) % 5], axis=1),
                         weights[ids])
    if "dense" in kinds:
        extra["vec"] = weights[ids] - 0.5
    return extra


def _token_unary(lab, flat, offsets, extra):
    return lab._unary(lab.feature_space_.transform(flat, offsets, extra))


def _type_unary(lab, flat, offsets, extra):
    """The unary scores of the type layout, also where prediction would not choose it."""
    fs = lab.feature_space_
    rows = sorted(set(fs.window).union(*(s["window"] for s in fs.extra_specs_)))
    layout = fs._type_layout(fs._slot_table(flat, offsets, extra, fitting=False), rows)
    assert isinstance(layout, TypeLayout)
    return lab._unary(layout)


@pytest.mark.parametrize("hashing", [None, 2 ** 12])
@pytest.mark.parametrize("kinds", [(), ("categorical",), ("categorical", "weighted", "dense")])
def test_type_unary_equals_token_unary_and_tags_are_the_same(kinds, hashing):
    rng = np.random.default_rng(3)
    X, y = random_corpus(rng, n_sent=30, max_len=7)
    flat, _ = flatten(X)
    lab = LinearChainCRF(window=1, extra_window={"state": (-2, 0), "post": (-1, 0, 2),
                                                  "vec": (0,)},
                         n_features=hashing, max_iterations=30)
    lab.fit(X, y, extra=_type_extra(flat, kinds) or None)
    # new text: unseen words (no extras), a word written as the padding types
    X_new = [["the", "zebra", "runs", PAD_LEFT], [PAD_RIGHT], ["Paris", "sleeps", "in", "."],
             *random_corpus(np.random.default_rng(4), n_sent=20, max_len=9)[0]]
    flat_new, off_new = flatten(X_new)
    extra_new = _type_extra(flat_new, kinds) or None
    token = _token_unary(lab, flat_new, off_new, extra_new)
    by_type = _type_unary(lab, flat_new, off_new, extra_new)
    if kinds:  # the same terms summed per offset first: equal up to rounding
        np.testing.assert_allclose(by_type, token, rtol=0, atol=1e-12)
    else:  # one term per offset: the same sums in the same order
        assert np.array_equal(by_type, token)
    path = lab._viterbi(token, off_new, None).path
    assert lab.predict(X_new, extra=extra_new) == [
        list(lab.labels_.decode(path[a:b])) for a, b in zip(off_new[:-1], off_new[1:])]


def test_an_extra_that_is_not_a_function_of_the_word_falls_back_to_the_token_layout():
    rng = np.random.default_rng(5)
    X, y = random_corpus(rng, n_sent=20, max_len=6)
    flat, offsets = flatten(X)
    # a per-token value: its position in the sentence (the same word differs)
    position = np.concatenate([np.arange(b - a) for a, b in zip(offsets[:-1], offsets[1:])])
    lab = LinearChainCRF(window=1, max_iterations=20).fit(X, y, extra={"pos": position})
    fs = lab.feature_space_
    assert fs._type_layout(fs._slot_table(flat, offsets, {"pos": position}, False),
                           [-1, 0, 1]) is None
    assert isinstance(fs.predict_layout(flat, offsets, {"pos": position}), ColumnLayout)
    # a string column (POS tags) that gives one word two values
    tags = [["NN" if i % 2 else "VB" for i in range(len(s))] for s in X]
    lab2 = LinearChainCRF(window=1, max_iterations=20).fit(X, y, extra={"tag": tags})
    fs2 = lab2.feature_space_
    assert fs2._type_layout(fs2._slot_table(flat, offsets, {"tag": tags}, False),
                            [-1, 0, 1]) is None
    # and predict still gives the tags of the token layout
    unary = _token_unary(lab, flat, offsets, {"pos": position})
    path = lab._viterbi(unary, offsets, None).path
    assert flatten(lab.predict(X, extra={"pos": position}))[0] == list(
        lab.labels_.decode(path))


def test_the_perceptron_tags_through_the_type_layout_too():
    rng = np.random.default_rng(6)
    X, y = random_corpus(rng, n_sent=25, max_len=6)
    flat, offsets = flatten(X)
    extra = _type_extra(flat, ("categorical", "weighted"))
    lab = AveragedPerceptron(n_epochs=3, window=2, extra_window=(-1, 0, 1)).fit(X, y,
                                                                              extra=extra)
    np.testing.assert_allclose(_type_unary(lab, flat, offsets, extra),
                               _token_unary(lab, flat, offsets, extra), rtol=0, atol=1e-12)
    assert lab.predict(X, extra=extra) == lab.predict(X[:10], extra=_type_extra(
        flatten(X[:10])[0], ("categorical", "weighted"))) + lab.predict(X[10:], extra=_type_extra(
            flatten(X[10:])[0], ("categorical", "weighted")))


def test_prediction_sums_by_type_only_where_that_is_less_work():
    rng = np.random.default_rng(7)
    X, y = random_corpus(rng, n_sent=20, max_len=6)
    flat, offsets = flatten(X)
    plain = LinearChainCRF(window=2, max_iterations=10).fit(X, y)
    # no extras: six entries per token, six rows to sum
    assert plain.feature_space_.transform_types(flat, offsets) is None
    assert isinstance(plain.feature_space_.predict_layout(flat, offsets), ColumnLayout)
    extra = _type_extra(flat, ("weighted",))
    narrow = LinearChainCRF(window=2, extra_window=(0,), max_iterations=10).fit(
        X, y, extra=extra)
    assert narrow.feature_space_.transform_types(flat, offsets, extra) is None  # 8 < 12
    wide = LinearChainCRF(window=2, extra_window=(-1, 0, 1), max_iterations=10).fit(
        X, y, extra=extra)  # 5 + 3 * 2 + 1 = 12 entries, 6 rows
    assert isinstance(wide.feature_space_.transform_types(flat, offsets, extra), TypeLayout)
    assert isinstance(wide.feature_space_.predict_layout(flat, offsets, extra), TypeLayout)
    # the tags of the token layout
    unary = _token_unary(wide, flat, offsets, extra)
    path = wide._viterbi(unary, offsets, None).path
    assert flatten(wide.predict(X, extra=extra))[0] == list(wide.labels_.decode(path))


def test_lookup_of_the_distinct_tokens_gives_the_same_ids_and_tags():
    """Type ids looked up once per distinct token (``factorize``) and gathered are those of
    the per-token lookup, unseen types included (numbered in order of first appearance)."""
    from hmmtl.crf.labelers import ConvertedText
    from hmmtl.data import factorize

    rng = np.random.default_rng(5)
    X, y = random_corpus(rng, n_sent=30, max_len=7)
    flat, _ = flatten(X)
    lab = LinearChainCRF(window=1, extra_window={"state": (-2, 0)}, max_iterations=30)
    lab.fit(X, y, extra=_type_extra(flat, ("categorical",)))
    X_new = [["zebra", "the", "okapi", "zebra"], ["okapi", "Paris", "the", "gnu"],
             *random_corpus(np.random.default_rng(6), n_sent=20, max_len=9)[0]]
    flat_new, off_new = flatten(X_new)
    tf = lab.feature_space_.featurizer_
    per_token = tf.lookup(flat_new)
    per_type = tf.lookup(flat_new, factorize(flat_new))
    assert (per_token.type_ids >= len(tf.types)).sum() >= 4  # unseen words are in the test
    assert np.array_equal(per_type.type_ids, per_token.type_ids)
    for a, b in zip(per_type.unseen, per_token.unseen):
        assert np.array_equal(a, b)
    extra_new = _type_extra(flat_new, ("categorical",))
    converted = ConvertedText(X_new, flat_new, off_new, None, factorize(flat_new))
    assert lab.predict(converted, extra=extra_new) == lab.predict(X_new, extra=extra_new)


@pytest.mark.parametrize("hashing", [None, 2 ** 12])
def test_the_column_layout_sums_the_token_layout_bit_for_bit(hashing):
    """Prediction scores the token layout's columns one by one without gathering them: the
    same terms in the same order, so the unary table equals the token layout's exactly --
    with categorical, weighted (several values a token, some out of range or zero) and
    dense extras at offsets past the sentence's ends, padding, unseen words, and n-grams."""
    rng = np.random.default_rng(11)
    X, y = random_corpus(rng, n_sent=30, max_len=7)
    flat, offsets = flatten(X)

    def extra_of(flat, offsets):
        n = len(flat)
        r = np.random.default_rng(n)
        ids = r.integers(-1, 6, size=(n, 3))
        vals = r.random((n, 3))
        vals[:, 1] = 0.0
        position = np.concatenate([np.arange(b - a) for a, b in
                                   zip(offsets[:-1], offsets[1:])])
        return {"state": position % 4, "post": (ids, vals), "vec": r.random((n, 2)) - 0.5,
                "tag": [["NN" if i % 2 else "VB" for i in range(b - a)]
                        for a, b in zip(offsets[:-1], offsets[1:])]}

    lab = LinearChainCRF(window=2, extra_window={"state": (-2, 0), "post": (-1, 0, 2),
                                                  "vec": (0,), "tag": (-1, 0, 1)},
                         extra_ngrams={"tag": [(-1, 0)]}, n_features=hashing,
                         max_iterations=25).fit(X, y, extra=extra_of(flat, offsets))
    X_new = [["the", "zebra", "runs", PAD_LEFT], [PAD_RIGHT], ["Paris", "sleeps", "in", "."],
             *random_corpus(np.random.default_rng(12), n_sent=20, max_len=9)[0]]
    flat_new, off_new = flatten(X_new)
    extra_new = extra_of(flat_new, off_new)
    layout = lab.feature_space_.predict_layout(flat_new, off_new, extra_new)
    assert isinstance(layout, ColumnLayout)
    token = _token_unary(lab, flat_new, off_new, extra_new)
    assert np.array_equal(lab._unary(layout), token)
    assert np.abs(token).sum() > 0


@pytest.mark.parametrize("hashing", [None, 2 ** 12])
def test_a_small_batch_scores_only_the_values_it_has_with_the_same_sums(hashing):
    """Where a column has more values than the batch has entries (word n-grams; one short
    sentence), prediction makes slots only for the values present: each sentence tagged
    alone gets exactly the unary scores it gets in the whole batch (where every value has
    its slots), and the slot table is smaller."""
    rng = np.random.default_rng(13)
    X, y = random_corpus(rng, n_sent=40, max_len=8)
    tags = [["NN" if (i * 7 + len(s)) % 3 else "VB" for i in range(len(s))] for s in X]
    flat, offsets = flatten(X)
    # a categorical extra of 40 values at three offsets (a token's position and length)
    state = np.concatenate([np.arange(b - a) * 5 + np.array([len(w) for w in flat[a:b]])
                            for a, b in zip(offsets[:-1], offsets[1:])]) % 40
    lab = LinearChainCRF(window=1, extra_window=(-1, 0, 1), ngrams=[(-1, 0)],
                         extra_ngrams={"tag": [(-1, 0, 1)]}, n_features=hashing,
                         max_iterations=25).fit(X, y, extra={"tag": tags, "state": state})
    fs = lab.feature_space_
    whole = lab._unary(fs.predict_layout(flat, offsets, {"tag": tags, "state": state}))
    big = [s["kind"] for s in fs.extra_specs_ if s["n_values"] > 8]
    assert "ngram" in big and "categorical" in big  # more values than a sentence's tokens
    for i, (a, b) in enumerate(zip(offsets[:-1], offsets[1:])):
        one = fs.predict_layout(flat[a:b], np.array([0, b - a]),
                                {"tag": [tags[i]], "state": state[a:b]})
        assert one.slot_ptr.shape[0] - 1 < sum(len(s["window"]) * s["n_values"]
                                               for s in fs.extra_specs_)
        assert np.array_equal(lab._unary(one), whole[a:b])


def _as_type_values(flat, extra):
    """``extra`` given per word type: each value's rows at the first token of each distinct
    word, and each token's index among the distinct words."""
    from hmmtl.crf.features import TypeValues
    from hmmtl.data import factorize

    _, index = factorize(flat)
    first = np.unique(index, return_index=True)[1]
    out = {}
    for name, value in extra.items():
        table = (tuple(v[first] for v in value) if isinstance(value, tuple)
                 else value[first])
        out[name] = TypeValues(table, index)
    return out


@pytest.mark.parametrize("hashing", [None, 2 ** 12])
def test_extras_given_per_word_type_give_the_same_layout_and_tags(hashing):
    """:class:`TypeValues` (a table per word type and the type of each token) is read at
    the types of a batch only, where the type layout applies: the unary scores equal those
    of the same values given per token bit for bit, and so do the tags; a table whose types
    are not functions of the word types (two values for one word) is read per token."""
    from hmmtl.crf.features import TypeValues

    rng = np.random.default_rng(21)
    X, y = random_corpus(rng, n_sent=30, max_len=7)
    flat, _ = flatten(X)
    kinds = ("categorical", "weighted", "dense")
    lab = LinearChainCRF(window=1, extra_window={"state": (-2, 0), "post": (-1, 0, 2),
                                                  "vec": (0,)},
                         n_features=hashing, max_iterations=30)
    lab.fit(X, y, extra=_type_extra(flat, kinds))
    X_new = [["the", "zebra", "runs", PAD_LEFT], [PAD_RIGHT], ["Paris", "sleeps", "in", "."],
             *random_corpus(np.random.default_rng(22), n_sent=20, max_len=9)[0]]
    flat_new, off_new = flatten(X_new)
    per_token = _type_extra(flat_new, kinds)
    per_type = _as_type_values(flat_new, per_token)
    fs = lab.feature_space_
    typed = fs.predict_layout(flat_new, off_new, per_type)
    plain = fs.predict_layout(flat_new, off_new, per_token)
    assert isinstance(typed, TypeLayout) and isinstance(plain, TypeLayout)
    assert np.array_equal(lab._unary(typed), lab._unary(plain))
    assert lab.predict(X_new, extra=per_type) == lab.predict(X_new, extra=per_token)
    # the gathered value is the per-token one
    for name, value in per_type.items():
        got, want = value.gather(), per_token[name]
        for a, b in zip(got if isinstance(got, tuple) else (got,),
                        want if isinstance(want, tuple) else (want,)):
            assert np.array_equal(a, b)
    # fit reads TypeValues per token: the same model
    again = LinearChainCRF(window=1, extra_window={"state": (-2, 0), "post": (-1, 0, 2),
                                                    "vec": (0,)},
                           n_features=hashing, max_iterations=30)
    again.fit(X, y, extra=_as_type_values(flat, _type_extra(flat, kinds)))
    assert np.array_equal(again.coef_, lab.coef_)
    # one word with two rows: not a function of the word type, read per token
    index = np.arange(len(flat_new))  # every token its own row
    rows = np.random.default_rng(23).integers(0, 4, size=len(flat_new))
    rows[[0, flat_new.index("the", 1)]] = [1, 2]  # "the" twice, two values
    mixed = dict(per_type, state=TypeValues(rows, index))
    table = fs._slot_table(flat_new, off_new, mixed, fitting=False, typed=True)
    assert table.typed == {0, 2}  # post and vec, not state (the specs sorted by name)
    assert np.array_equal(lab._unary(fs.predict_layout(flat_new, off_new, mixed)),
                          lab._unary(fs.predict_layout(flat_new, off_new,
                                                       dict(per_token, state=rows))))


def test_the_tagger_gives_its_type_level_features_per_type_with_the_same_tags():
    """The Tagger hands its CRF the HMMs' type-level features, the case profile and the
    word clusters per word type (:class:`TypeValues`): the tags equal those of the same
    features gathered per token."""
    from hmmtl.crf.features import TypeValues
    from hmmtl.transfer.pipeline import TextBatch

    from model_zoo import MODELS, TEST_SENTENCES

    tagger = next(m for m in MODELS if m.name == "Tagger").fit()
    text = TextBatch.of(TEST_SENTENCES * 3, tagger._model_notation())
    typed = tagger._extra(text, typed=True)
    plain = tagger._extra(text)
    assert sorted(typed) == sorted(plain)
    assert sum(isinstance(v, TypeValues) for v in typed.values()) >= 2
    X = text.for_labeler(tagger.labeler_, tagger._model_notation())
    assert tagger.labeler_.predict(X, extra=typed) == tagger.labeler_.predict(X, extra=plain)
    assert tagger.predict(TEST_SENTENCES * 3) == tagger.labeler_.predict(X, extra=plain)
