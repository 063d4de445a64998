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


# ------------------------------------------------- the kernel state as one named tuple
# The text, the clustering and what ``main`` made of it before ``_losses_with_new`` took its
# state as a ``LossState`` (commit 9af85cb: 21 loose arguments): the merges and the bits of
# their losses (``float.hex``), so that any change in the kernels' arithmetic shows.
FIXED_TEXT = dict(seed=7, n_words=40, n_sentences=300)
FIXED_CLUSTERS = 8
MAIN_MERGES = [
    [1, 8], [40, 0], [10, 3], [42, 5], [43, 12], [2, 13], [14, 7], [11, 15], [47, 16],
    [44, 17], [18, 9], [46, 19], [4, 20], [41, 21], [6, 22], [51, 23], [49, 24], [45, 25],
    [54, 26], [58, 27], [50, 28], [60, 29], [57, 30], [62, 31], [61, 32], [59, 33], [63, 34],
    [56, 35], [53, 36], [55, 37], [69, 38], [65, 39], [70, 52], [66, 64], [68, 48], [73, 74],
    [75, 71], [76, 67], [77, 72]]
MAIN_MERGE_LOSS_HEX = [
    "0x1.a8dbc742f23b4p+1", "0x1.31df94748aa4ap+2", "0x1.650f2b3afea70p+2",
    "0x1.aeeb0471b472fp+2", "0x1.f0ac5da7a1584p+2", "0x1.029a4dd21af81p+3",
    "0x1.78a17c1f27918p+1", "0x1.949f29f102ac8p+2", "0x1.94bc465f12f60p+2",
    "0x1.653cc45b11ef8p+2", "0x1.d7f22ac94fad0p+2", "0x1.8707494f2f650p+2",
    "0x1.7e2bf3ebe5380p+1", "0x1.63aec472f7414p+2", "0x1.170226e826e50p+2",
    "0x1.04beff35f3732p+3", "0x1.a8cdc14c35d58p+1", "0x1.f26231cc92388p+1",
    "0x1.dbd9572ce0fecp+2", "0x1.7b48bce7f0a64p+2", "0x1.59770c6004d8cp+2",
    "0x1.1237622314832p+3", "0x1.cdc42cc4ef76cp+2", "0x1.316fe721d0dd6p+3",
    "0x1.b3885e85ea60cp+2", "0x1.8e2ce498b51e0p+2", "0x1.45686be32041cp+3",
    "0x1.8bdf77da92fb4p+2", "0x1.5f3abb93f4f18p+2", "0x1.cdd22f8ecd958p+1",
    "0x1.2c08a6f61977cp+2", "0x1.3373a3a6f827cp+3", "0x1.f15f008cdf723p+3",
    "0x1.05a337ddcc496p+4", "0x1.dc27ed6975e8ap+3", "0x1.102d395f60004p+3",
    "0x1.e41ceaa025c0ep+3", "0x1.7ab6b038324b2p+3", "0x1.36cd87750a478p+3"]


@pytest.mark.parametrize("parallel", [False, True])
def test_clusters_of_a_fixed_text_are_those_of_main(monkeypatch, parallel):
    """Bit for bit the merges (and so the paths) and merge losses that the kernels with loose
    arguments gave, with the serial and the threaded pair loops."""
    sentences = zipf_corpus(**FIXED_TEXT)
    if parallel:
        monkeypatch.setattr(clusters_module, "PARALLEL_FROM", 2)
    model = BrownClusters(n_clusters=FIXED_CLUSTERS, min_count=1,
                          n_jobs=None if parallel else 1).fit(sentences)
    assert len(model.words_) == 40
    assert model.merges_.tolist() == MAIN_MERGES
    assert [float(x).hex() for x in model.merge_loss_] == MAIN_MERGE_LOSS_HEX
    assert model.paths_ == tree_paths(np.array(MAIN_MERGES), 40, 40 - FIXED_CLUSTERS)


def _losses_with_new_loose():
    """``_losses_with_new`` as it was before it took a ``LossState`` (its 21 loose
    arguments), compiled the same way: the reference of the test below."""
    from numba import njit

    from hmmtl.ner._cluster_kernels import _merged_side, _term

    @njit
    def losses_with_new(f, active, n_active, counts, counts_t, q, loss, row_q, col_q, row_n,
                        col_n, log_left, log_right, log_left_pair, log_right_pair, log_total,
                        table, nbr_out, n_out, nbr_in, n_in):
        for p in range(n_active):
            c = active[p]
            if c == f:
                continue
            lls = log_left_pair[f, c]
            lrs = log_right_pair[f, c]
            row = _merged_side(row_q[c] - q[c, c] - q[c, f],
                               row_n[c] - counts[c, c] - counts[c, f],
                               log_left[c], lls, nbr_out, n_out, c, counts[f], counts[c],
                               log_right, log_total, table)
            col = _merged_side(col_q[c] - q[c, c] - q[f, c],
                               col_n[c] - counts[c, c] - counts[f, c],
                               log_right[c], lrs, nbr_in, n_in, c, counts_t[f], counts_t[c],
                               log_left, log_total, table)
            n_ss = counts[f, f] + counts[f, c] + counts[c, f] + counts[c, c]
            merged = row + col + _term(n_ss, lls, lrs, log_total, table)
            single = row_q[f] + col_q[f] - q[f, f] + row_q[c] + col_q[c] - q[c, c]
            v = single - q[f, c] - q[c, f] - merged
            if c < f:
                loss[c, f] = v
            else:
                loss[f, c] = v

    return losses_with_new


def test_losses_with_new_gives_the_losses_of_its_loose_argument_form(monkeypatch):
    """On the state of a real run after every word joins (and every merge), the loss of each
    active cluster with every other, from the ``LossState`` kernel and from its former
    loose-argument form: the same bits, and the values of the table the run keeps."""
    from hmmtl.ner import _cluster_kernels as K

    reference = _losses_with_new_loose()
    real_steps = K.brown_steps
    checked = []

    def compare(args):
        (_, _, log_total, table, _, _, counts, counts_t, fmats, fvecs, ivecs, _, _, _,
         counters) = args
        q, loss, log_left_pair, log_right_pair = fmats
        log_left, log_right, row_q, col_q = fvecs[:4]
        active, row_n, col_n = ivecs[2], ivecs[11], ivecs[12]
        n_active = int(counters[0])
        live = active[:n_active]
        for f in live:
            others = live[live != f]
            nbr_out = np.zeros_like(active)
            nbr_in = np.zeros_like(active)
            outs = others[counts[f, others] > 0]
            ins = others[counts[others, f] > 0]
            nbr_out[:len(outs)] = outs
            nbr_in[:len(ins)] = ins
            cells = (np.minimum(f, others), np.maximum(f, others))
            old, new = loss.copy(), loss.copy()
            old[cells] = np.nan
            new[cells] = np.nan
            reference(f, active, n_active, counts, counts_t, q, old, row_q, col_q, row_n, col_n,
                      log_left, log_right, log_left_pair, log_right_pair, log_total, table,
                      nbr_out, len(outs), nbr_in, len(ins))
            state = K.LossState(active, counts, counts_t, q, new, row_q, col_q, row_n, col_n,
                                log_left, log_right, log_left_pair, log_right_pair, log_total,
                                table)
            K._losses_with_new(f, n_active, state, nbr_out, len(outs), nbr_in, len(ins))
            assert not np.isnan(new[cells]).any()
            assert np.array_equal(old, new, equal_nan=True)
            np.testing.assert_allclose(new[cells], loss[cells], rtol=1e-9, atol=1e-9)
            checked.append(len(others))

    def one_word_at_a_time(w_lo, w_hi, finish, *args):
        for w in range(w_lo, w_hi):
            real_steps(w, w + 1, False, *args)
            compare(args)
        if finish:
            real_steps(w_hi, w_hi, True, *args)

    sentences = zipf_corpus(**FIXED_TEXT)
    monkeypatch.setattr(K, "brown_steps", one_word_at_a_time)
    model = BrownClusters(n_clusters=FIXED_CLUSTERS, min_count=1, n_jobs=1).fit(sentences)
    assert len(checked) > 200 and max(checked) == FIXED_CLUSTERS - 1
    assert model.merges_.tolist() == MAIN_MERGES  # stepping word by word changes nothing
