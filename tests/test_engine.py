"""The EM engine: executors in one process, the driver's schedules, the statistics'
algebra, argument checks, and model files checked on load."""

from __future__ import annotations

import numpy as np
import pytest

from hmmtl import CategoricalHMM, MultiDomainHMM, RaggedBatch
from hmmtl.executors import LocalExecutor, sum_stats
from hmmtl.hmm import HMMFamily, HMMStats
from hmmtl.hmm.em import sequence_selection
from hmmtl.transfer.multitask_family import MultiTaskStats

from executor_cases import (FAMILIES, FORMATS, SENTENCES, assert_close, assert_same_model,
                            corpus_for, make_model, reference)


@pytest.mark.parametrize("fmt, family", [
    (fmt, family) for fmt in FORMATS for family in FAMILIES
    # plain text carries no labels: nothing to test for the labelled families
    if not (fmt == "text" and family in ("supervised", "multitask"))])
def test_local_partitions_and_files_give_the_in_memory_model(family, fmt, tmp_path):
    """Three local partitions, or the corpus read from text, CoNLL or CoNLL-U files, give
    the model fitted on the in-memory lists in one partition."""
    X, kw = corpus_for(family, fmt, tmp_path)
    got = make_model(family).fit(X, **kw, executor=LocalExecutor(n_partitions=3))
    assert_same_model(got, reference(family))


def test_the_equality_check_can_fail():
    a = reference("exact")
    b = make_model("exact").set_params(n_iter=3).fit(SENTENCES)
    with pytest.raises(AssertionError):
        assert_same_model(b, a)
    with pytest.raises(AssertionError, match="differ"):
        assert_close([1.0, 2e-4], [1.0 + 1e-8, 2e-4])
    assert_close([1.0, 2e-4], [1.0 + 1e-10, 2e-4 + 1e-13])


def test_sequence_selection_maps_global_to_partition_indices():
    sizes = np.array([3, 0, 2, 4])
    sel = sequence_selection(np.array([5, 0, 8, 2, 3]), sizes)
    assert [(p, idx.tolist()) for p, idx in sel] == [(0, [0, 2]), (2, [0]), (3, [0, 3])]


def test_online_em_over_partitions_sees_the_same_mini_batches():
    """Online EM draws one permutation of all sequences and gathers each mini-batch from
    the partitions holding it: the model does not depend on the partitioning."""
    one = make_model("online").fit(SENTENCES)
    three = make_model("online").fit(SENTENCES, executor=LocalExecutor(n_partitions=5))
    assert_same_model(three, one)


def test_statistics_add_and_scale_fieldwise():
    a = HMMStats(np.ones(2), np.ones((2, 2)), np.ones((2, 3)), -1.0, 4)
    b = HMMStats(np.full(2, 2.0), np.zeros((2, 2)), np.ones((2, 3)), -2.0, 6)
    s = sum_stats([a, None, b])
    assert s.log_likelihood == -3.0 and s.n_tokens == 10
    np.testing.assert_array_equal(s.start, [3.0, 3.0])
    assert sum([a, b]).n_tokens == 10
    assert sum_stats([None, None]) is None
    with pytest.raises(ValueError, match="missing on one side"):
        a + HMMStats(np.ones(2), np.ones((2, 2)), np.ones((2, 3)), domain_tokens=np.ones(2))
    m = MultiTaskStats(np.ones(2), np.ones((2, 2)), np.ones((2, 3)), (np.ones((2, 2)),), 1.0, 3)
    h = (m + m).scaled(0.5)
    np.testing.assert_array_equal(h.labels[0], np.ones((2, 2)))
    assert h.log_likelihood == 1.0


def test_family_functions_are_pure_and_partition_additive():
    """e_step on the parts of a batch sums to e_step on the whole; m_step of those
    statistics is what EM iterates (one driver step equals one family step)."""
    batch = reference("exact").encode(SENTENCES)
    K, V = 4, reference("exact").n_features_
    family = HMMFamily(K, V)
    params = family.init_params(family.summarize(batch), 0)
    whole = family.e_step(params, batch)
    parts = sum(family.e_step(params, p) for p in batch.split(4))
    for name in ("start", "transition", "emission"):
        assert_close(getattr(parts, name), getattr(whole, name), name)
    nxt = family.m_step(whole)
    m = CategoricalHMM(K, n_iter=1, init=dict(start_prob=params.start,
                                              transition_prob=params.transition,
                                              emission_prob=params.emission)).fit(batch)
    assert m.monitor_.log_likelihoods[0] == pytest.approx(whole.log_likelihood, rel=1e-12)
    assert_close(m.emission_prob_, nxt.emission, "emission")


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("kw, error, match", [
    (dict(n_states=4.7), TypeError, "n_states must be an int, got 4.7"),
    (dict(n_states=True), TypeError, "n_states must be an int"),
    (dict(n_states=0), ValueError, "n_states must be >= 1"),
    (dict(n_iter=2.0), TypeError, "n_iter must be an int"),
    (dict(kbest=1.5), TypeError, "kbest must be an int"),
    (dict(n_init="2"), TypeError, "n_init must be an int"),
])
def test_settings_that_are_not_ints_are_refused(kw, error, match):
    with pytest.raises(error, match=match):
        CategoricalHMM(**kw).fit(SENTENCES[:10])


def test_transform_top_k_must_be_a_positive_int():
    m = reference("exact")
    with pytest.raises(ValueError, match="top_k must be >= 1, got 0"):
        m.transform(SENTENCES[:3], kind="posterior", top_k=0)
    with pytest.raises(TypeError, match="top_k must be an int"):
        m.transform(SENTENCES[:3], kind="type", top_k=1.5)
    with pytest.raises(ValueError, match="top_k goes with kind='posterior' or 'type'"):
        m.transform(SENTENCES[:3], kind="viterbi", top_k=2)
    ids, _ = m.transform(SENTENCES[:3], kind="posterior", top_k=1)
    assert ids.shape == (sum(map(len, SENTENCES[:3])), 1)


def test_a_string_is_not_a_corpus():
    with pytest.raises(TypeError, match="wrap one sentence"):
        reference("exact").predict("The cat sat")
    with pytest.raises(TypeError, match="none of which is a file"):
        CategoricalHMM(3).fit(["The", "cat", "sat"])


# ----------------------------------------------------------------------------- model files
def _tampered(model, tmp_path, **arrays):
    """Save ``model`` with some fitted arrays replaced (the file's checksum is valid)."""
    for name, value in arrays.items():
        setattr(model, name, value)
    path = tmp_path / "m.hmmtl"
    model.save(path)
    return path


@pytest.mark.parametrize("change, match", [
    (lambda m: dict(emission_prob_=m.emission_prob_[:, :-1]), "emission_prob_ has shape"),
    (lambda m: dict(transition_prob_=m.transition_prob_[:-1]), "transition_prob_ has shape"),
    (lambda m: dict(start_prob_=-m.start_prob_), "negative entry"),
    (lambda m: dict(emission_prob_=m.emission_prob_ * 2), "sums to"),
    (lambda m: dict(emission_prob_=np.full_like(m.emission_prob_, np.nan)), "NaN"),
    (lambda m: dict(n_features_=m.n_features_ + 1), "vocabulary has"),
])
def test_hmm_files_are_checked_on_load(tmp_path, change, match):
    model = make_model("exact").fit(SENTENCES[:60])
    path = _tampered(model, tmp_path, **change(model))
    with pytest.raises(ValueError, match=match):
        CategoricalHMM.load(path)


def test_multidomain_and_multitask_files_are_checked_on_load(tmp_path):
    md = make_model("hierarchical").fit(SENTENCES, domains=["news", "web"] * 120)
    path = _tampered(md, tmp_path, mixing_weight_=np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="mixing_weight must lie in"):
        MultiDomainHMM.load(path)
    from hmmtl.transfer.multitask_hmm import MultiTaskHMM

    X, kw = corpus_for("multitask", "memory", tmp_path)
    mt = make_model("multitask").fit(X, **kw)
    path = _tampered(mt, tmp_path, state_labels_=np.full(6, 9, dtype=np.int32))
    with pytest.raises(ValueError, match="state_labels must be"):
        MultiTaskHMM.load(path)
    mt = make_model("multitask").fit(X, **kw)
    path = _tampered(mt, tmp_path, emission_prob_=mt.emission_prob_[:, :5])
    with pytest.raises(ValueError, match="emission_prob has shape"):
        MultiTaskHMM.load(path)


def test_ragged_batch_partitions_keep_labels_and_domains():
    batch = make_model("tied").fit(SENTENCES, domains=["news", "web"] * 120).encode(
        SENTENCES, domains=["news", "web"] * 120)
    parts = LocalExecutor(n_partitions=3).load(batch)
    assert len(parts) == 3 and all(isinstance(p, RaggedBatch) for p in parts)
    assert np.array_equal(np.concatenate([p.domains for p in parts]), batch.domains)


def test_kth_largest_of_the_beam_kernel_matches_sorting():
    from hmmtl.inference.expected_counts import _kth_largest

    rs = np.random.RandomState(0)
    for _ in range(500):
        n = rs.randint(1, 40)
        a = rs.randint(0, 5, size=n).astype(float) if rs.rand() < 0.5 else rs.rand(n)
        k = rs.randint(1, n + 1)
        assert _kth_largest(a.copy(), k) == np.sort(a)[::-1][k - 1]
