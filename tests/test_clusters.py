"""Brown clustering: every merge checked against a brute-force evaluation of the average
mutual information of the clusterings it chooses between; the tree and its paths; the
model file."""

from __future__ import annotations

import numpy as np
import pytest

import hmmtl.ner.clusters as clusters_module
from hmmtl.ner.clusters import BrownClusters, tree_paths
from hmmtl.data import flatten
from hmmtl.serialize import ModelFileError


def zipf_corpus(seed, n_words, n_sentences):
    rng = np.random.default_rng(seed)
    return [[f"w{int(x) % n_words}" for x in rng.zipf(1.4, size=rng.integers(2, 12))]
            for _ in range(n_sentences)]


def bigram_matrix(model, sentences):
    """Word x word bigram counts over the clustered words (by the model's word order)."""
    index = {w: i for i, w in enumerate(model.words_)}
    V = len(model.words_)
    B = np.zeros((V, V))
    for s in sentences:
        for a, b in zip(s[:-1], s[1:]):
            if a in index and b in index:
                B[index[a], index[b]] += 1
    return B


def ami(B, parts, left, right, total):
    """sum over cluster pairs of n(c, d) log(n(c, d) T / (l(c) r(d))), by enumeration."""
    out = 0.0
    for c in parts:
        for d in parts:
            n = B[np.ix_(c, d)].sum()
            if n > 0:
                out += n * (np.log(n) + np.log(total) - np.log(left[c].sum())
                            - np.log(right[d].sum()))
    return out


def check_against_brute_force(model, sentences):
    """Replay the merges: before each one, the clusters active then (the ``C`` first words
    and each word added since, as merged so far) are enumerated, every pair's loss of AMI
    computed from scratch; the merge made must be a pair of least loss, and its recorded
    loss that loss."""
    B = bigram_matrix(model, sentences)
    left, right, total = B.sum(1), B.sum(0), B.sum()
    V = len(model.words_)
    C = min(model.n_clusters, V)
    members = {w: [w] for w in range(V)}
    active = set(range(C))
    for k, (a, b) in enumerate(model.merges_.tolist()):
        if k < V - C:
            active.add(C + k)  # the word that entered just before this merge
        nodes = sorted(active)
        parts = [members[n] for n in nodes]
        base = ami(B, parts, left, right, total)
        losses = {}
        for i in range(len(nodes)):
            for j in range(i + 1, len(nodes)):
                merged = [p for t, p in enumerate(parts) if t not in (i, j)]
                losses[(nodes[i], nodes[j])] = base - ami(B, merged + [parts[i] + parts[j]],
                                                          left, right, total)
        chosen = losses[(min(a, b), max(a, b))]
        scale = max(1.0, abs(base))
        assert chosen <= min(losses.values()) + 1e-9 * scale, (k, chosen, min(losses.values()))
        assert model.merge_loss_[k] == pytest.approx(chosen, abs=1e-9 * scale)
        members[V + k] = members[a] + members[b]
        active -= {a, b}
        active.add(V + k)
    assert active == {2 * V - 2}  # merged down to one root


@pytest.mark.parametrize("seed, n_words, n_sentences, n_clusters", [
    (0, 14, 80, 3), (1, 20, 150, 5), (2, 9, 40, 2), (3, 12, 60, 50)])
def test_merges_match_brute_force(seed, n_words, n_sentences, n_clusters):
    sentences = zipf_corpus(seed, n_words, n_sentences)
    model = BrownClusters(n_clusters=n_clusters, min_count=1).fit(sentences)
    assert len(model.words_) > n_clusters or n_clusters == 50
    check_against_brute_force(model, sentences)


def test_parallel_kernels_match_brute_force(monkeypatch):
    """The threaded pair loops (used from PARALLEL_FROM active clusters on) make the same
    merges."""
    sentences = zipf_corpus(4, 18, 120)
    serial = BrownClusters(n_clusters=6, min_count=1, n_jobs=1).fit(sentences)
    monkeypatch.setattr(clusters_module, "PARALLEL_FROM", 2)
    parallel = BrownClusters(n_clusters=6, min_count=1).fit(sentences)
    check_against_brute_force(parallel, sentences)
    np.testing.assert_array_equal(parallel.merges_, serial.merges_)
    np.testing.assert_allclose(parallel.merge_loss_, serial.merge_loss_, rtol=1e-10)


def test_words_by_frequency_and_min_count():
    sentences = [["a", "b", "a", "c"], ["a", "b", "d"]]
    model = BrownClusters(n_clusters=2, min_count=2).fit(sentences)
    assert model.words_ == ["a", "b"]
    assert model.counts_.tolist() == [3, 2]
    assert model.cluster_of(["c"]) == [""]
    with pytest.raises(ValueError, match="need at least 2 words"):
        BrownClusters(min_count=5).fit(sentences)
    with pytest.raises(ValueError, match="n_clusters must be an int >= 2"):
        BrownClusters(n_clusters=1).fit(sentences)


def test_tree_paths_hand_worked():
    # words 0..3; merges: (0,1)->4, (2,3)->5, (4,5)->6
    merges = np.array([[0, 1], [2, 3], [4, 5]])
    assert tree_paths(merges, 4) == ["00", "01", "10", "11"]
    # the first merge only gathers words into a cluster: no level of its own
    assert tree_paths(merges, 4, n_flat=1) == ["0", "0", "10", "11"]


def test_paths_group_distributionally_similar_words():
    """Words used in the same contexts end up under the same short prefix."""
    rng = np.random.default_rng(0)
    nouns, verbs = ["dog", "cat", "cow", "pig"], ["runs", "eats", "naps", "hops"]
    dets = ["the", "a"]
    # two clauses a sentence, so that verbs are followed by determiners
    sentences = [[dets[rng.integers(2)], nouns[rng.integers(4)], verbs[rng.integers(4)]] * 2
                 for _ in range(300)]
    model = BrownClusters(n_clusters=3, min_count=1).fit(sentences)
    paths = dict(zip(model.words_, model.paths_))
    for group in (dets, nouns, verbs):
        assert len({paths[w] for w in group}) == 1, paths
    assert len({paths["the"], paths["dog"], paths["runs"]}) == 3


def test_transform_gives_prefix_ids_with_case_fallback():
    sentences = zipf_corpus(5, 15, 100) + [["Paris", "is", "big"]] * 3
    model = BrownClusters(n_clusters=4, min_count=1).fit(sentences)
    ids = model.transform([["Paris", "PARIS", "paris", "unseen"]], prefixes=(1, 2, 30))
    assert ids.shape == (4, 3) and ids.dtype == np.int32
    assert (ids[0] == ids[1]).all() and (ids[0] == ids[2]).all()  # case variants share a path
    assert (ids[3] == -1).all()
    table, n_ids = model.prefix_table((1, 2, 30))
    assert table.max() == n_ids - 1
    # ids are distinct across prefix lengths, equal within one length for equal prefixes
    assert not set(table[:, 0]) & set(table[:, 1])
    path = dict(zip(model.words_, model.paths_))
    same_first_bit = [w for w in model.words_ if path[w][:1] == path["Paris"][:1]]
    flat, _ = flatten([same_first_bit])
    assert len(set(model.transform_tokens(flat, (1,))[:, 0].tolist())) == 1


def test_save_load_round_trip(tmp_path):
    sentences = zipf_corpus(6, 15, 100)
    model = BrownClusters(n_clusters=4, min_count=1).fit(sentences)
    path = model.save(tmp_path / "brown.hmmtl")
    back = BrownClusters.load(path)
    assert back.paths_ == model.paths_ and back.words_ == model.words_
    np.testing.assert_array_equal(back.transform(sentences), model.transform(sentences))


def test_load_refuses_a_broken_tree(tmp_path):
    from hmmtl import serialize

    model = BrownClusters(n_clusters=4, min_count=1).fit(zipf_corpus(7, 12, 60))
    arrays, meta = model._get_state()
    arrays["merges"] = arrays["merges"].copy()
    arrays["merges"][0, 0] = arrays["merges"][-1, 1] + 5 * len(model.words_)
    with pytest.raises(ValueError, match="outside the tree"):
        BrownClusters._from_state(arrays, meta)
    arrays["merges"][0, 0] = arrays["merges"][1, 0]
    with pytest.raises(ValueError, match="use a node twice"):
        BrownClusters._from_state(arrays, meta)
    path = model.save(tmp_path / "b.hmmtl")
    with pytest.raises(ModelFileError, match="holds a BrownClusters model, expected a"):
        serialize.load(path, expected_class="CategoricalHMM")


def test_streamed_counts_are_the_counts_of_the_whole_text():
    """Pair and word counts accumulated batch by batch (any batch size) are those of the
    whole text at once, and those of a brute-force count over the sentences."""
    from collections import Counter

    from hmmtl.ner.clusters import BigramCounter

    text = zipf_corpus(3, 40, 300)
    whole = BigramCounter().update(text)
    for batch_tokens in (1, 7, 500):
        streamed = BigramCounter().update_stream(iter(text), batch_tokens=batch_tokens)
        assert streamed.n_tokens == whole.n_tokens == sum(map(len, text))
        for a, b in zip(streamed.tables(min_count=2), whole.tables(min_count=2)):
            if isinstance(a, tuple):
                assert all(np.array_equal(x, y) for x, y in zip(a, b))
            else:
                assert np.array_equal(np.asarray(a), np.asarray(b))
    vocab, counts, out_table, _ = whole.tables(min_count=1)
    words = Counter(w for s in text for w in s)
    assert dict(zip(vocab, counts.tolist())) == dict(words)
    pairs = Counter((a, b) for s in text for a, b in zip(s[:-1], s[1:]))
    ptr, col, cnt = out_table
    got = {(vocab[i], vocab[col[k]]): int(cnt[k]) for i in range(len(vocab))
           for k in range(ptr[i], ptr[i + 1])}
    assert got == dict(pairs)
    with pytest.raises(TypeError, match="list of token lists"):
        BigramCounter().update(["a", "b"])


def test_fit_stream_gives_the_clusters_of_fit():
    text = zipf_corpus(4, 60, 400)
    a = BrownClusters(n_clusters=8, min_count=2).fit(text)
    b = BrownClusters(n_clusters=8, min_count=2).fit_stream(iter(text), batch_tokens=97)
    assert a.words_ == b.words_ and a.paths_ == b.paths_
    assert np.array_equal(a.merges_, b.merges_) and np.array_equal(a.counts_, b.counts_)


@pytest.mark.data
def test_fit_stream_on_raw_text_files(require_file):
    """Clusters streamed from a gzipped JSON-lines file through the one raw-text reader."""
    import itertools

    from hmmtl.io import iter_unlabeled

    path = require_file("text/en/reuters21578.jsonl.gz")
    sentences = itertools.islice(iter_unlabeled(path), 3000)
    model = BrownClusters(n_clusters=20, min_count=3).fit_stream(sentences,
                                                                 batch_tokens=20_000)
    assert len(model.words_) > 500 and model.n_bigrams_ > 30_000
    # the day names share a cluster at the 20-cluster grain
    days = [w for w in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
            if w in model.word_index_]
    assert len(days) >= 3 and len(set(model.cluster_of(days))) == 1
