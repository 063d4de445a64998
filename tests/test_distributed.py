"""Distributed EM and tagging on Dask (hmmtl.distributed), against single-machine EM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

import cloudpickle  # noqa: E402  (a dependency of distributed)
from dask.distributed import Client, LocalCluster  # noqa: E402

from hmmtl.data import Vocabulary  # noqa: E402
from hmmtl import distributed as hd  # noqa: E402

from hmmtl.hmm import CategoricalHMM, MultiDomainHMM  # noqa: E402

# Subclasses defined here travel to worker processes by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

N_STATES = 4
N_ITER = 5
RTOL = 1e-9


# ----------------------------------------------------------------------------- data
def _sample_corpus(n_sentences=240, n_words=40, seed=0):
    """Sentences drawn from a random HMM with peaked emissions, with mixed-case words so
    that lowercasing and min_count matter."""
    rng = np.random.default_rng(seed)
    K = N_STATES
    start = rng.dirichlet(np.ones(K))
    trans = rng.dirichlet(np.full(K, 0.5), size=K)
    emit = rng.dirichlet(np.full(n_words, 0.2), size=K)
    words = [f"w{i}" if i % 7 else f"W{i}" for i in range(n_words)]
    sentences = []
    for _ in range(n_sentences):
        T = int(rng.integers(1, 16))
        z = rng.choice(K, p=start)
        sent = []
        for _ in range(T):
            sent.append(words[rng.choice(n_words, p=emit[z])])
            z = rng.choice(K, p=trans[z])
        sentences.append(sent)
    return sentences


SENTENCES = _sample_corpus()


def _model(cls=CategoricalHMM, **kw):
    params = dict(n_states=N_STATES, n_iter=N_ITER, tol=-np.inf, random_state=0,
                  lowercase=True, min_count=2)
    params.update(kw)
    return cls(**params)


def _reference(n_iter=N_ITER, **kw):
    """Single-machine EM: ``model.fit`` on the whole corpus."""
    model = _model(n_iter=n_iter, **kw).fit(SENTENCES)
    return model, model.encode(SENTENCES), list(model.monitor_.history)


def _assert_same_params(a, b, rtol=RTOL):
    names = a._get_param_arrays()
    assert set(names) == set(b._get_param_arrays())
    for name in names:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=0,
                                   err_msg=name)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def reference():
    return _reference()


# ----------------------------------------------------------------------------- batch EM
@pytest.mark.parametrize("n_partitions", [1, 2, 4])
def test_batch_em_equals_single_machine_em(client, reference, n_partitions):
    ref, _, history = reference
    model = hd.fit_em(_model(), SENTENCES, client, n_partitions=n_partitions)
    assert model.vocabulary_ == ref.vocabulary_
    assert model.n_features_ == ref.n_features_
    _assert_same_params(model, ref)
    np.testing.assert_allclose(model.monitor_.history, history, rtol=RTOL)
    np.testing.assert_allclose(model.monitor_.log_likelihoods, ref.monitor_.log_likelihoods,
                               rtol=RTOL)


def test_restarts_and_convergence_follow_fit(client):
    """n_init restarts draw the same initializations and keep the same best run; tol stops
    at the same iteration."""
    ref = _model(n_init=2, n_iter=40, tol=8.0, random_state=3).fit(SENTENCES)
    model = hd.fit_em(_model(n_init=2, n_iter=40, tol=8.0, random_state=3), SENTENCES, client,
                      n_partitions=3)
    assert len(model.monitor_.history) == len(ref.monitor_.history) < 40
    _assert_same_params(model, ref)


def test_partition_order_does_not_change_the_result(client, reference):
    ref, batch, _ = reference
    parts = batch.split(5)
    fitted = []
    for order in ([0, 1, 2, 3, 4], [4, 2, 0, 3, 1], [0, 1, 2, 3, 4]):
        model = hd.fit_em(_model(), [parts[i] for i in order], client,
                          vocabulary=ref.vocabulary_)
        fitted.append(model)
        _assert_same_params(model, ref)
    # The same partitions in the same order give the same bits, whichever worker ran what.
    for name in ref._get_param_arrays():
        assert np.array_equal(getattr(fitted[0], name), getattr(fitted[2], name))


def test_integer_partitions_without_vocabulary(client):
    """hmmlearn-style ids: n_features_ is the largest id + 1 over all partitions."""
    ids_model = _model()
    batch = ids_model.fit(SENTENCES).encode(SENTENCES)
    ref = _model().fit(batch)
    model = hd.fit_em(_model(), batch.split(3), client)
    assert model.vocabulary_ is None and model.n_features_ == ref.n_features_
    _assert_same_params(model, ref)


def test_sum_stats_is_fieldwise_and_skips_empty_partitions(reference):
    ref, batch, _ = reference
    a, b = batch.split(2)
    total = hd.sum_stats(ref._e_step(a), None, ref._e_step(b))
    whole = ref._e_step(batch)
    np.testing.assert_allclose(total.emission, whole.emission, rtol=1e-12)
    np.testing.assert_allclose(total.transition, whole.transition, rtol=1e-12)
    np.testing.assert_allclose(total.log_likelihood, whole.log_likelihood, rtol=1e-12)
    assert total.n_tokens == batch.n_tokens
    assert hd.sum_stats(None, None) is None
    # plain named fields (a dict) sum the same way
    assert hd.sum_stats({"x": np.ones(2), "n": 1}, {"x": np.ones(2), "n": 2})["n"] == 3


# ----------------------------------------------------------------------------- multi-domain
@pytest.mark.parametrize("tie", [None, {"emissions": "per_domain", "transitions": "per_domain"}])
def test_multidomain_em_equals_single_machine(client, tie):
    domains = [i % 3 for i in range(len(SENTENCES))]
    ref = _model(MultiDomainHMM, n_domains=3, tie=tie).fit(SENTENCES, domains=domains)
    parts = [(SENTENCES[a:b], domains[a:b]) for a, b in [(0, 70), (70, 150), (150, 240)]]
    model = hd.fit_em(_model(MultiDomainHMM, n_domains=3, tie=tie), parts, client)
    assert model.domains_ == ref.domains_
    _assert_same_params(model, ref)
    with pytest.raises(ValueError, match="needs the domain of each sentence"):
        hd.fit_em(_model(MultiDomainHMM, n_domains=3), SENTENCES, client)


# ----------------------------------------------------------------------------- corpus forms
def test_vocabulary_counted_on_workers_equals_vocabulary_fit(client):
    import dask.bag as db

    bag = db.from_sequence(SENTENCES, npartitions=3)
    vocab = hd.build_vocabulary(bag, client, min_count=2, lowercase=True)
    expected = Vocabulary(min_count=2, lowercase=True).fit(SENTENCES)
    assert vocab == expected
    assert vocab.counts_.sum() == sum(map(len, SENTENCES))


def test_files_read_on_workers_and_bag_give_the_same_fit(client, reference, tmp_path):
    import dask.bag as db

    ref, _, _ = reference
    paths = []
    for i, part in enumerate(np.array_split(np.arange(len(SENTENCES)), 3)):
        p = tmp_path / f"part{i}.txt"
        p.write_text("".join(" ".join(SENTENCES[j]) + "\n\n" for j in part), encoding="utf-8")
        paths.append(str(p))
    from_files = hd.fit_em(_model(), paths, client)
    from_bag = hd.fit_em(_model(), db.from_sequence(SENTENCES, npartitions=4), client)
    _assert_same_params(from_files, ref)
    _assert_same_params(from_bag, ref)


def test_bad_corpus_and_arguments_have_clear_errors(client, tmp_path):
    with pytest.raises(TypeError, match="corpus must be"):
        hd.fit_em(_model(), 42, client)
    with pytest.raises(FileNotFoundError, match="not found"):
        hd.fit_em(_model(), [str(tmp_path / "missing.txt")], client)
    with pytest.raises(ValueError, match="n_partitions must be >= 1"):
        hd.fit_em(_model(), SENTENCES, client, n_partitions=0)
    with pytest.raises(ValueError, match="algorithm must be"):
        hd.fit_em(_model(), SENTENCES, client, algorithm="sgd")
    with pytest.raises(ValueError, match="holds no tokens"):
        hd.fit_em(_model(), [[], []], client)


# ----------------------------------------------------------------------------- online EM
@pytest.mark.parametrize("n_partitions", [1, 3])
def test_online_em_equals_single_machine_online_em(client, n_partitions):
    """Mini-batches are drawn across partitions exactly as model.fit draws them."""
    kw = dict(algorithm="online", batch_size=50, n_iter=3)
    ref = _model(**kw).fit(SENTENCES)
    model = hd.fit_em(_model(**kw), SENTENCES, client, n_partitions=n_partitions)
    _assert_same_params(model, ref)
    np.testing.assert_allclose(model.monitor_.history, ref.monitor_.history, rtol=RTOL)


# ----------------------------------------------------------------------------- tagging
@pytest.mark.parametrize("out_format", ["conllu", "conll"])
def test_tag_shards_equal_single_machine_tagging(client, reference, tmp_path, out_format):
    from hmmtl.io import read_conllu
    from hmmtl.io.conll import read_conll

    ref, _, _ = reference
    paths = hd.tag_to_shards(ref, SENTENCES, tmp_path / "out", client, n_partitions=3,
                             out_format=out_format, prefix="S")
    assert [Path(p).name for p in paths] == [f"part-0000{i}.{out_format}" for i in range(3)]
    assert sorted(os.listdir(tmp_path / "out")) == [Path(p).name for p in paths]
    if out_format == "conllu":
        shards = [read_conllu(p) for p in paths]
        words = [s for c in shards for s in c.sentences]
        tags = [t for c in shards for t in c.column("xpos")]
    else:
        shards = [read_conll(p, columns=("word", "tag")) for p in paths]
        words = [s for c in shards for s in c.sentences]
        tags = [t for c in shards for t in c.column("tag")]
    assert words == SENTENCES
    expected = [[f"S{t}" for t in row] for row in ref.predict(SENTENCES)]
    assert tags == expected


def test_tag_shards_of_conllu_files_keep_their_columns(client, reference, tmp_path):
    """CoNLL-U input read on the workers: the tag replaces XPOS, the rest is kept."""
    from hmmtl.io import read_conllu

    ref, _, _ = reference
    src = tmp_path / "in.conllu"
    lines = []
    for i, sent in enumerate(SENTENCES[:30]):
        lines.append(f"# sent_id = s{i}")
        lines += [f"{j + 1}\t{w}\t{w.lower()}\tX\tGOLD\t_\t0\troot\t_\t_"
                  for j, w in enumerate(sent)]
        lines.append("")
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [shard] = hd.tag_to_shards(ref, [str(src)], tmp_path / "out", client, format="conllu")
    got, original = read_conllu(shard), read_conllu(src)
    assert got.column("lemma") == original.column("lemma")
    assert got.sent_ids == original.sent_ids
    assert got.column("xpos") == [[str(t) for t in row] for row in ref.predict(SENTENCES[:30])]


def test_multi_domain_tagging_uses_each_sentence_domain(client, tmp_path):
    """A MultiDomainHMM with per-domain emissions tags each shard sentence with its own
    domain's parameters: the shards and the dataframe column equal ``predict(domains=)``, and
    differ from tagging every sentence as one domain (so the domains really travel)."""
    from hmmtl.io import read_conllu

    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    domains = [("news", "web")[i % 2] for i in range(len(SENTENCES))]
    model = _model(MultiDomainHMM, n_domains=["news", "web"], tie={"emissions": "per_domain"})
    model.fit(SENTENCES, domains=domains)
    expected = model.predict(SENTENCES, domains=domains)
    as_one = model.predict(SENTENCES, domains=["news"] * len(SENTENCES))
    assert [list(map(int, r)) for r in expected] != [list(map(int, r)) for r in as_one]
    parts = [(SENTENCES[a:b], domains[a:b]) for a, b in [(0, 100), (100, 240)]]
    paths = hd.tag_to_shards(model, parts, tmp_path / "out", client)
    shards = [read_conllu(p) for p in paths]
    assert [s for c in shards for s in c.sentences] == SENTENCES
    tags = [t for c in shards for t in c.column("xpos")]
    assert tags == [[str(t) for t in row] for row in expected]
    ddf = dd.from_pandas(pd.DataFrame({"tokens": [" ".join(s) for s in SENTENCES],
                                       "domain": domains}), npartitions=3)
    out = hd.add_tag_column(ddf, model, column="state", domain_column="domain",
                            client=client).compute()
    assert [list(map(int, t)) for t in out["state"]] == \
        [list(map(int, r)) for r in expected]


def test_dataframe_tag_column_equals_predict(client, reference):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    import dask

    ref, _, _ = reference
    expected = np.concatenate(ref.predict(SENTENCES))
    # a column of token lists (kept as Python objects) and a column of tokenized strings
    with dask.config.set({"dataframe.convert-string": False}):
        lists = dd.from_pandas(pd.DataFrame({"id": np.arange(len(SENTENCES)),
                                             "tokens": pd.Series(SENTENCES, dtype=object)}),
                               npartitions=3)
    strings = dd.from_pandas(pd.DataFrame({"id": np.arange(len(SENTENCES)),
                                           "tokens": [" ".join(s) for s in SENTENCES]}),
                             npartitions=4)
    for ddf in (lists, strings):
        out = hd.add_tag_column(ddf, ref, column="state", client=client).compute()
        assert list(out["id"]) == list(range(len(SENTENCES)))
        assert [len(t) for t in out["state"]] == [len(s) for s in SENTENCES]
        flat = np.concatenate([np.asarray(t) for t in out["state"]])
        assert flat.tolist() == expected.tolist()
    ddf = strings
    with pytest.raises(KeyError, match="no column 'words'"):
        hd.add_tag_column(ddf, ref, tokens_column="words", client=client)


# ----------------------------------------------------------------------------- faults
class SlowEStepHMM(CategoricalHMM):
    """An E-step slow enough that a worker can be killed while it runs."""

    def _e_step(self, batch):
        time.sleep(0.15)
        return super()._e_step(batch)


@pytest.mark.slow
def test_killed_worker_does_not_lose_the_iteration(reference):
    ref, batch, _ = reference
    n_iter = 2
    _, _, history = _reference(n_iter=n_iter)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        pids = c.run(os.getpid)
        for nanny in cluster.workers.values():
            nanny.auto_restart = False   # the dead worker stays dead: one worker finishes
        params = _model(n_iter=n_iter).get_params()
        model = SlowEStepHMM(**params)
        result, errors = {}, []

        def run():
            try:
                result["model"] = hd.fit_em(model, SENTENCES, c, n_partitions=4)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        victim, busy_with = None, None
        deadline = time.monotonic() + 30
        while victim is None and time.monotonic() < deadline and thread.is_alive():
            for addr, keys in c.processing().items():
                steps = [k for k in keys if "e-step" in str(k)]
                if steps and addr in pids:
                    victim, busy_with = addr, steps
                    break
            time.sleep(0.02)
        assert victim is not None, "no E-step was seen running"
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(60)
        assert not thread.is_alive()
        assert not errors, [str(e) for e in errors]
    fitted = result["model"]
    with pytest.raises(ProcessLookupError):
        os.kill(pids[victim], 0)
    assert busy_with
    assert len(fitted.monitor_.history) == n_iter
    ref_n, _, _ = _reference(n_iter=n_iter)
    _assert_same_params(fitted, ref_n)
    np.testing.assert_allclose(fitted.monitor_.history, history, rtol=RTOL)


# ----------------------------------------------------------------------------- packaging
def test_import_hmmtl_does_not_import_dask():
    code = "import sys, hmmtl; assert not any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules), sorted(m for m in sys.modules if 'dask' in m)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_hook_trains_from_files_and_saves(client, tmp_path):
    """train_hmm_distributed(address, files) = CategoricalHMM.fit on the files' sentences."""
    path = tmp_path / "text.txt"
    path.write_text("".join(" ".join(s) + "\n" for s in SENTENCES), encoding="utf-8")
    out = tmp_path / "hmm.model"
    model = hd.train_hmm_distributed(client.scheduler.address, [str(path)], n_states=N_STATES,
                                     n_iter=3, tol=-np.inf, random_state=0, lowercase=True,
                                     min_count=2, out=str(out), verbose=False)
    ref = _model(n_iter=3).fit(SENTENCES)
    _assert_same_params(model, ref)
    loaded = CategoricalHMM.load(str(out))
    assert loaded.predict(SENTENCES[:20]) == ref.predict(SENTENCES[:20])
