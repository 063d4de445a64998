"""EM on Dask (hmmtl.executors.dask) and tagging on Dask (hmmtl.tagging.dask), against EM
and tagging in one process."""

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

import cloudpickle  # a dependency of distributed
from dask.distributed import Client, LocalCluster

from hmmtl.executors.dask import DaskExecutor, client_on
from hmmtl.tagging import dask as hd
from hmmtl.hmm import CategoricalHMM, HMMFamily, MultiDomainHMM

from executor_cases import (BASE, FAMILIES, N_STATES, SENTENCES,
                            assert_every_format_gives_the_local_model, assert_same_model,
                            make_model, reference, write_conllu)

# Subclasses defined here travel to worker processes by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _model(cls=CategoricalHMM, **kw):
    params = dict(n_states=N_STATES, **BASE)
    params.update(kw)
    return cls(**params)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


# ----------------------------------------------------------------------------- every family
@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_and_format_equals_local_em(client, family, tmp_path):
    """Dask EM = EM in one process, for every HMM family, from in-memory lists and from
    text, CoNLL and CoNLL-U files read on the workers."""
    assert_every_format_gives_the_local_model(family, DaskExecutor(client, n_partitions=3),
                                              tmp_path)


@pytest.mark.parametrize("n_partitions", [1, 4])
def test_batch_em_equals_local_em_for_any_partitioning(client, n_partitions):
    got = _model().fit(SENTENCES, executor=DaskExecutor(client, n_partitions=n_partitions))
    assert_same_model(got, reference("exact"))


def test_restarts_and_convergence_follow_fit(client):
    """n_init restarts draw the same initializations and keep the same best run; tol stops
    at the same iteration."""
    kw = dict(n_init=2, n_iter=40, tol=8.0, random_state=3)
    ref = _model(**kw).fit(SENTENCES)
    got = _model(**kw).fit(SENTENCES, executor=DaskExecutor(client, n_partitions=3))
    assert len(got.monitor_.history) == len(ref.monitor_.history) < 40
    assert_same_model(got, ref)


def test_partition_order_changes_only_the_rounding(client):
    ref = reference("exact")
    batch = ref.encode(SENTENCES)
    parts = batch.split(5)
    fitted = []
    for order in ([0, 1, 2, 3, 4], [4, 2, 0, 3, 1], [0, 1, 2, 3, 4]):
        m = _model().fit([parts[i] for i in order], executor=DaskExecutor(client))
        fitted.append(m)
        np.testing.assert_allclose(m.emission_prob_, ref.emission_prob_, rtol=1e-9, atol=1e-12)
    # the same partitions in the same order give the same bits, whichever worker ran what
    for name in ("start_prob_", "transition_prob_", "emission_prob_"):
        assert np.array_equal(getattr(fitted[0], name), getattr(fitted[2], name))


def test_integer_partitions_without_vocabulary(client):
    """hmmlearn-style ids: n_features_ is the largest id + 1 over all partitions."""
    batch = reference("exact").encode(SENTENCES)
    ref = _model().fit(batch)
    got = _model().fit(batch.split(3), executor=DaskExecutor(client))
    assert got.vocabulary_ is None and got.n_features_ == ref.n_features_
    assert_same_model(got, ref)


def test_bag_of_sentences_equals_local_em(client):
    import dask.bag as db

    got = _model().fit(db.from_sequence(SENTENCES, npartitions=4),
                       executor=DaskExecutor(client))
    assert_same_model(got, reference("exact"))
    domains = ["news" if i < 120 else "web" for i in range(len(SENTENCES))]
    pairs = db.from_sequence(list(zip(SENTENCES, domains)), npartitions=3)
    got = make_model("hierarchical").fit(pairs, executor=DaskExecutor(client))
    assert_same_model(got, reference("hierarchical"))


def test_bad_corpus_and_arguments_have_clear_errors(client, tmp_path):
    ex = DaskExecutor(client)
    with pytest.raises(TypeError, match="corpus must be"):
        _model().fit(42, executor=ex)
    (tmp_path / "a.txt").write_text("a b\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="not found"):
        _model().fit([str(tmp_path / "a.txt"), str(tmp_path / "missing.txt")], executor=ex)
    with pytest.raises(TypeError, match="none of which is a file"):
        _model().fit(["the", "dog", "barks"], executor=ex)
    with pytest.raises(ValueError, match="n_partitions must be >= 1"):
        DaskExecutor(client, n_partitions=0)
    with pytest.raises(ValueError, match="algorithm must be"):
        _model(algorithm="sgd").fit(SENTENCES, executor=ex)
    with pytest.raises(ValueError, match="holds no tokens"):
        _model().fit([[], []], executor=ex)
    with pytest.raises(ValueError, match="needs the domain of each sentence"):
        make_model("hierarchical").fit(SENTENCES, executor=ex)


def test_a_bad_file_gives_the_error_it_gives_locally(client, tmp_path):
    """A malformed CoNLL-U file read on a worker fails with the reader's file:line error,
    as it does in this process."""
    from hmmtl.io import FormatError

    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tThe\t_\tDET\tDT\t_\t0\troot\t_\t_\n2\tdog\tNOUN\n\n", encoding="utf-8")
    with pytest.raises(FormatError) as local:
        _model().fit([str(bad)])
    with pytest.raises(FormatError) as remote:
        _model().fit([str(bad)], executor=DaskExecutor(client))
    assert str(remote.value) == str(local.value)
    assert "bad.conllu:2" in str(local.value)


# ----------------------------------------------------------------------------- tagging
@pytest.mark.parametrize("out_format", ["conllu", "conll"])
def test_tag_shards_equal_local_tagging(client, tmp_path, out_format):
    from hmmtl.io import read_conll, read_conllu

    ref = reference("exact")
    paths = hd.tag_to_shards(ref, SENTENCES, tmp_path / "out", client, n_partitions=3,
                             out_format=out_format, prefix="S")
    assert [Path(p).name for p in paths] == [f"part-0000{i}.{out_format}" for i in range(3)]
    assert sorted(os.listdir(tmp_path / "out")) == [Path(p).name for p in paths]
    if out_format == "conllu":
        shards = [read_conllu(p) for p in paths]
        tags = [t for c in shards for t in c.column("xpos")]
    else:
        shards = [read_conll(p, columns=("word", "tag")) for p in paths]
        tags = [t for c in shards for t in c.column("tag")]
    assert [s for c in shards for s in c.sentences] == SENTENCES
    assert tags == [[f"S{t}" for t in row] for row in ref.predict(SENTENCES)]


def test_tag_shards_of_conllu_files_keep_their_columns(client, tmp_path):
    """CoNLL-U input read on the workers: the tag replaces XPOS, the rest is kept."""
    from hmmtl.io import read_conllu

    ref = reference("exact")
    src = tmp_path / "in.conllu"
    write_conllu(src, SENTENCES[:30])
    [shard] = hd.tag_to_shards(ref, [str(src)], tmp_path / "out", client)
    got, original = read_conllu(shard), read_conllu(src)
    assert got.column("lemma") == original.column("lemma")
    assert got.sent_ids == original.sent_ids
    assert got.column("xpos") == [[str(t) for t in row] for row in ref.predict(SENTENCES[:30])]


def test_multi_domain_tagging_uses_each_sentence_domain(client, tmp_path):
    """A MultiDomainHMM with per-domain emissions tags each sentence with its own domain's
    parameters: the shards and the dataframe column equal ``predict(domains=)``, and differ
    from tagging every sentence as one domain (so the domains really travel)."""
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
    assert [t for c in shards for t in c.column("xpos")] == \
        [[str(t) for t in row] for row in expected]
    ddf = dd.from_pandas(pd.DataFrame({"tokens": [" ".join(s) for s in SENTENCES],
                                       "domain": domains}), npartitions=3)
    out = hd.add_tag_column(ddf, model, column="state", domain_column="domain",
                            client=client).compute()
    assert [list(map(int, t)) for t in out["state"]] == \
        [list(map(int, r)) for r in expected]


def test_dataframe_tag_column_equals_predict(client):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    import dask

    ref = reference("exact")
    expected = np.concatenate(ref.predict(SENTENCES))
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
        flat = np.concatenate([np.asarray(t) for t in out["state"]])
        assert flat.tolist() == expected.tolist()
    with pytest.raises(KeyError, match="no column 'words'"):
        hd.add_tag_column(strings, ref, tokens_column="words", client=client)


# ----------------------------------------------------------------------------- faults
class SlowFamily(HMMFamily):
    """An E-step slow enough that a worker can be killed while it runs."""

    def e_step(self, params, batch):
        time.sleep(0.15)
        return super().e_step(params, batch)


class SlowEStepHMM(CategoricalHMM):
    def _family(self):
        f = super()._family()
        return SlowFamily(f.n_states, f.n_features, kbest=f.kbest, dtype=f.dtype)


@pytest.mark.slow
def test_killed_worker_does_not_lose_the_iteration():
    n_iter = 2
    ref = _model(n_iter=n_iter).fit(SENTENCES)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        pids = c.run(os.getpid)
        for nanny in cluster.workers.values():
            nanny.auto_restart = False   # the dead worker stays dead: one worker finishes
        model = SlowEStepHMM(**_model(n_iter=n_iter).get_params())
        result, errors = {}, []

        def run():
            try:
                result["model"] = model.fit(SENTENCES, executor=DaskExecutor(c, n_partitions=4))
            except BaseException as exc:  # noqa: BLE001 - surfaced below
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline and thread.is_alive():
            for addr, keys in c.processing().items():
                if any("e-step" in str(k) for k in keys) and addr in pids:
                    victim = addr
                    break
            time.sleep(0.02)
        assert victim is not None, "no E-step was seen running"
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(120)
        assert not thread.is_alive()
        assert not errors, [str(e) for e in errors]
    with pytest.raises(ProcessLookupError):
        os.kill(pids[victim], 0)
    assert_same_model(result["model"], ref)


# ----------------------------------------------------------------------------- packaging
def test_import_hmmtl_does_not_import_dask():
    code = ("import sys, hmmtl, hmmtl.hmm, hmmtl.executors, hmmtl.tagging; assert not any("
            "m.split('.')[0] in ('dask', 'distributed', 'pyspark') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_client_on_an_address_reads_every_format_as_the_local_path_does(client, tmp_path):
    """A client opened by ``client_on(ADDRESS)`` (what ``train-hmm --dask`` does) fits on a
    .conllu and a .txt file, each read as its name says (the words of the CoNLL-U file, not
    its columns), the model CategoricalHMM.fit gives on their sentences; the default client
    is left running."""
    from hmmtl.executors import Files

    conllu, text = tmp_path / "a.conllu", tmp_path / "b.txt"
    write_conllu(conllu, SENTENCES[:120])
    text.write_text("".join(" ".join(s) + "\n" for s in SENTENCES[120:]), encoding="utf-8")
    with client_on(client.scheduler.address) as c:
        assert c is client
        model = _model(n_iter=3).fit(Files((str(conllu), str(text))),
                                     executor=DaskExecutor(c))
    assert client.status == "running"
    ref = _model(n_iter=3).fit(SENTENCES)
    assert_same_model(model, ref)
    assert model.predict(SENTENCES[:20]) == ref.predict(SENTENCES[:20])


def test_cli_train_hmm_on_dask_reads_conllu_as_the_local_command_does(client, tmp_path):
    """``train-hmm --dask ADDRESS`` on a .conllu and a .txt file gives the model
    ``train-hmm`` gives: the CoNLL-U file's words, not its columns."""
    from hmmtl.cli import main

    conllu, text = tmp_path / "a.conllu", tmp_path / "b.txt"
    write_conllu(conllu, SENTENCES[:120])
    text.write_text("".join(" ".join(s) + "\n" for s in SENTENCES[120:]), encoding="utf-8")
    opts = ["--text", str(conllu), str(text), "--states", "4", "--iter", "3", "--lowercase",
            "--min-count", "2", "--quiet"]
    assert main(["train-hmm", *opts, "--out", str(tmp_path / "local.hmmtl")]) == 0
    assert main(["train-hmm", "--dask", client.scheduler.address, *opts,
                 "--out", str(tmp_path / "dask.hmmtl")]) == 0
    local = CategoricalHMM.load(tmp_path / "local.hmmtl")
    assert_same_model(CategoricalHMM.load(tmp_path / "dask.hmmtl"), local)
    assert local.n_features_ == _model().fit(SENTENCES).n_features_
