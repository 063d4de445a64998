"""EM and tagging on Apache Spark (hmmtl.executors.spark, hmmtl.tagging.spark), against one
process.

One SparkSession (``local[2,2]``: two cores, a failed task retried once) serves the module;
select these tests with ``-m spark``.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")

from pyspark import cloudpickle  # noqa: E402  (Spark's own copy)

from hmmtl.executors.spark import SparkExecutor, spark_session  # noqa: E402
from hmmtl.hmm import CategoricalHMM, HMMFamily  # noqa: E402

from executor_cases import (BASE, DOMAINS, FAMILIES, N_STATES, SENTENCES, TAGS,  # noqa: E402
                            assert_every_format_gives_the_local_model, assert_same_model,
                            make_model, reference, write_conllu)

pytestmark = pytest.mark.spark

# Classes defined here travel to the Python workers by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2,2]", "hmmtl-tests",
                            **{"spark.sql.shuffle.partitions": "2",
                               "spark.executorEnv.NUMBA_NUM_THREADS": "1"})
    session.sparkContext.setLogLevel("OFF")
    yield session
    session.stop()


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_and_format_equals_local_em(spark, family, tmp_path):
    """Spark EM = EM in one process, for every HMM family, from in-memory lists and from
    text, CoNLL and CoNLL-U files read on the executors."""
    assert_every_format_gives_the_local_model(family, SparkExecutor(spark, n_partitions=3),
                                              tmp_path)


def test_dataframe_and_rdd_equal_local_em(spark):
    rows = [(s, t, d) for s, t, d in zip(SENTENCES, TAGS, DOMAINS)]
    df = spark.createDataFrame(rows, ["tokens", "tags", "domain"]).repartition(3)
    df = spark.createDataFrame(df.rdd.sortBy(lambda r: SENTENCES.index(list(r.tokens))), df.schema)
    got = make_model("exact").fit(df, executor=SparkExecutor(spark))
    assert_same_model(got, reference("exact"))
    got = make_model("supervised").fit(df, executor=SparkExecutor(spark, label_cols="tags"))
    assert_same_model(got, reference("supervised"))
    got = make_model("hierarchical").fit(df, executor=SparkExecutor(spark, domain_col="domain"))
    assert_same_model(got, reference("hierarchical"))
    rdd = spark.sparkContext.parallelize(SENTENCES, 4)
    assert_same_model(make_model("exact").fit(rdd, executor=SparkExecutor(spark)),
                      reference("exact"))


class FlakyFamily(HMMFamily):
    """An E-step whose first attempt on partition 0 fails (a lost executor, a full disk);
    each failure leaves a file in ``marker_dir``."""

    marker_dir = None

    def e_step(self, params, batch):
        import os

        from pyspark import TaskContext

        ctx = TaskContext.get()
        if ctx is not None and ctx.partitionId() == 0 and ctx.attemptNumber() == 0:
            open(os.path.join(self.marker_dir, f"failed-stage-{ctx.stageId()}"), "w").close()
            raise RuntimeError("first attempt of partition 0 fails")
        return super().e_step(params, batch)


class FlakyHMM(CategoricalHMM):
    def _family(self):
        f = super()._family()
        return FlakyFamily(f.n_states, f.n_features, kbest=f.kbest, dtype=f.dtype)


def test_a_task_failing_once_is_retried_and_the_model_is_unchanged(spark, tmp_path):
    """Under local[2,2] every E-step's partition 0 fails on its first attempt; Spark retries
    it and EM gives the model of one process."""
    FlakyFamily.marker_dir = str(tmp_path)
    got = FlakyHMM(N_STATES, **BASE).fit(SENTENCES, executor=SparkExecutor(spark,
                                                                            n_partitions=3))
    assert len(list(tmp_path.glob("failed-stage-*"))) >= BASE["n_iter"]
    assert_same_model(got, reference("exact"))


def test_a_bad_file_gives_the_error_it_gives_locally(spark, tmp_path):
    from hmmtl.io import FormatError

    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tThe\t_\tDET\tDT\t_\t0\troot\t_\t_\n2\tdog\tNOUN\n\n", encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text("a b c\n", encoding="utf-8")
    with pytest.raises(FormatError) as local:
        CategoricalHMM(3).fit([str(good), str(bad)])
    with pytest.raises(FormatError) as remote:
        CategoricalHMM(3).fit([str(good), str(bad)], executor=SparkExecutor(spark))
    assert str(remote.value) == str(local.value)
    assert "bad.conllu:2" in str(remote.value)


# ----------------------------------------------------------------------------- tagging
@pytest.fixture(scope="module")
def labeler_path(tmp_path_factory):
    from hmmtl.crf import AveragedPerceptron

    path = tmp_path_factory.mktemp("models") / "pos.hmmtl"
    AveragedPerceptron(n_epochs=3, random_state=0).fit(SENTENCES, TAGS).save(path)
    return str(path)


def test_tagger_stage_equals_local_tagging_and_pipelines_save_and_load(spark, labeler_path,
                                                                        tmp_path):
    from pyspark.ml import Pipeline, PipelineModel

    import hmmtl.spark
    from hmmtl import load
    from hmmtl.tagging.spark import HmmtlTagger

    assert hmmtl.spark.HmmtlTagger is HmmtlTagger   # the import path users already use

    hmm_path = str(tmp_path / "hmm.hmmtl")
    reference("exact").save(hmm_path)
    df = spark.createDataFrame([(i, s) for i, s in enumerate(SENTENCES)], ["id", "tokens"])
    df = df.repartition(3)
    for path in (labeler_path, hmm_path):
        expected = [[str(t) for t in row] for row in load(path).predict(SENTENCES)]
        out = HmmtlTagger(modelPath=path, outputCol="tags").transform(df)
        got = {r.id: list(r.tags) for r in out.collect()}
        assert [got[i] for i in range(len(SENTENCES))] == expected
    # a Pipeline holding the stage saves (with a copy of the model) and loads
    pipe = Pipeline(stages=[HmmtlTagger(modelPath=labeler_path, outputCol="pos")]).fit(df)
    pipe.write().overwrite().save(str(tmp_path / "pipeline"))
    back = PipelineModel.load(str(tmp_path / "pipeline"))
    stage = back.stages[0]
    assert isinstance(stage, HmmtlTagger) and stage.getOutputCol() == "pos"
    assert stage.getModelPath().startswith(str(tmp_path / "pipeline"))
    a = {r.id: list(r.pos) for r in pipe.transform(df).collect()}
    b = {r.id: list(r.pos) for r in back.transform(df).collect()}
    assert a == b
    with pytest.raises(FileNotFoundError, match="no such file"):
        HmmtlTagger(modelPath=str(tmp_path / "missing.hmmtl")).transform(df)
    assert np.mean([len(v) for v in a.values()]) == np.mean([len(s) for s in SENTENCES])


# ----------------------------------------------------------------------------- command line
def _write_inputs(folder):
    conllu, text = folder / "a.conllu", folder / "b.txt"
    write_conllu(conllu, SENTENCES[:120])
    text.write_text("".join(" ".join(s) + "\n" for s in SENTENCES[120:]), encoding="utf-8")
    return [str(conllu), str(text)]


def test_cli_train_hmm_and_tag_on_spark_equal_the_local_commands(spark, labeler_path,
                                                                   tmp_path):
    """``train-hmm --spark`` gives the model ``train-hmm`` gives (each file read as its name
    says), and ``tag --spark`` writes the bytes ``tag`` writes (CoNLL-U and plain text)."""
    from hmmtl.cli import main

    inputs = _write_inputs(tmp_path)
    opts = ["--states", "4", "--iter", "3", "--lowercase", "--min-count", "2", "--quiet"]
    assert main(["train-hmm", "--text", *inputs, *opts, "--out",
                 str(tmp_path / "local.hmmtl")]) == 0
    assert main(["train-hmm", "--spark", "local[2]", "--text", *inputs, *opts,
                 "--out", str(tmp_path / "spark.hmmtl")]) == 0
    local = CategoricalHMM.load(tmp_path / "local.hmmtl")
    assert_same_model(CategoricalHMM.load(tmp_path / "spark.hmmtl"), local)
    assert local.n_features_ == make_model("exact").fit(SENTENCES).n_features_
    # tags T0, T1 ... say nothing of their meaning: the CoNLL-U column is given
    assert main(["tag", "--model", labeler_path, *inputs, "-o",
                 str(tmp_path / "local.out"), "--tag-column", "xpos", "--quiet"]) == 0
    assert main(["tag", "--spark", "local[2]", "--model", labeler_path, *inputs, "-o",
                 str(tmp_path / "spark.out"), "--tag-column", "xpos", "--quiet"]) == 0
    assert (tmp_path / "spark.out").read_bytes() == (tmp_path / "local.out").read_bytes()
