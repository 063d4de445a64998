"""Tagging on Apache Spark: a Spark ML stage that tags with any saved hmmtl model, and the
files of ``hmmtl tag --spark``, both through the tagging door (:mod:`hmmtl.tagging`).

:class:`HmmtlTagger` is a ``pyspark.ml`` Transformer: it adds a column of tags to a DataFrame
holding a column of token arrays, through Arrow batches (a pandas UDF), each executor
process loading the model file once (:func:`~hmmtl.tagging.files.cached_model`).  It is
writable and readable, so a ``Pipeline`` holding it saves and loads (the model file is
copied into the saved stage when the stage is saved to a local folder).

Examples
--------
>>> from hmmtl.tagging.spark import HmmtlTagger, spark_session          # doctest: +SKIP
>>> spark = spark_session("local[2]")                                    # doctest: +SKIP
>>> df = spark.createDataFrame([(["The", "dog", "barks"],)], ["tokens"])  # doctest: +SKIP
>>> HmmtlTagger(modelPath="pos.hmmtl").transform(df).show()              # doctest: +SKIP

EM on Spark is :class:`hmmtl.executors.spark.SparkExecutor`.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from typing import Any

from ..executors.spark import SparkExecutor, session_on, spark_context, spark_session
from .door import predict
from .files import cached_model, tag_job

try:
    from pyspark import keyword_only
    from pyspark.ml import Transformer
    from pyspark.ml.param import Param, Params, TypeConverters
    from pyspark.ml.param.shared import HasInputCol, HasOutputCol
    from pyspark.ml.util import DefaultParamsReader, DefaultParamsWritable, DefaultParamsWriter, \
        MLReadable
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hmmtl.tagging.spark needs PySpark: pip install 'hmmtl[spark]'") from exc

__all__ = ["HmmtlTagger", "SparkExecutor", "spark_session", "spark_context", "cached_model",
           "tag_files"]


def _tag_series(path: str, kind: str, tokens, domains=None):
    import pandas as pd

    from ..io import Corpus

    model = cached_model(path)
    present = [i for i, t in enumerate(tokens) if t is not None]
    sentences = [list(tokens.iloc[i]) for i in present]
    corpus = None
    if domains is not None and sentences:
        corpus = Corpus(columns={"word": sentences}, word_column="word",
                        domains=[domains.iloc[i] for i in present])
    tags = predict(model, sentences, corpus, kind=kind) if sentences else []
    out = [None] * len(tokens)
    for i, row in zip(present, tags):
        out[i] = row
    return pd.Series(out, index=tokens.index, dtype=object)


def tag_files(master_or_session, model_path: str, jobs: list, batch: int) -> list:
    """``hmmtl tag --spark``: each ``(path, name, plan)`` job tagged by one Spark task
    (:func:`~hmmtl.tagging.files.tag_job`, the model file loaded once per executor
    process); ``[(text, n_sentences, n_tokens)]`` in the order of ``jobs``."""
    if isinstance(master_or_session, str):
        with session_on(master_or_session) as spark:
            return SparkExecutor(spark).run(partial(tag_job, model_path, batch), jobs)
    return SparkExecutor(master_or_session).run(partial(tag_job, model_path, batch), jobs)


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _local(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


class _TaggerWriter(DefaultParamsWriter):
    """Saves the stage's parameters, and a copy of its model file when saving locally."""

    instance: HmmtlTagger

    def saveImpl(self, path: str) -> None:
        super().saveImpl(path)
        if _is_local(path):
            folder = os.path.join(_local(path), "model")
            os.makedirs(folder, exist_ok=True)
            shutil.copyfile(self.instance.getModelPath(), os.path.join(folder, "model.hmmtl"))


class _TaggerReader(DefaultParamsReader):
    def load(self, path: str):
        instance = super().load(path)
        copy = os.path.join(_local(path), "model", "model.hmmtl")
        if _is_local(path) and os.path.exists(copy):
            instance._set(modelPath=copy)
        return instance


class HmmtlTagger(Transformer, HasInputCol, HasOutputCol, DefaultParamsWritable, MLReadable):
    """Tag a column of token arrays with a saved hmmtl model.

    Parameters
    ----------
    modelPath : str
        An hmmtl model file (``hmmtl train ... --out``, ``model.save``): a labeler (CRF,
        perceptron, Tagger, ...) or an HMM (its states as tags); every executor must be
        able to read it.
    inputCol : str, default="tokens"
        Column of ``array<string>`` token lists (null rows give null tags).
    outputCol : str, default="tags"
        New column of ``array<string>`` tags, equal to the model's ``predict`` on the same
        sentences in one process.
    domainCol : str, optional
        Column of each sentence's domain, for a multi-domain HMM.
    kind : {"viterbi", "posterior", "type"}, default="viterbi"
        For HMMs: ``predict`` (Viterbi), or the most probable state of ``transform(kind=)``.
    """

    _input_kwargs: dict[str, Any]  # set by @keyword_only

    modelPath = Param(Params._dummy(), "modelPath", "hmmtl model file",
                      typeConverter=TypeConverters.toString)
    domainCol = Param(Params._dummy(), "domainCol", "column of the sentences' domains",
                      typeConverter=TypeConverters.toString)
    kind = Param(Params._dummy(), "kind", "viterbi, posterior or type",
                 typeConverter=TypeConverters.toString)

    @keyword_only
    def __init__(self, *, modelPath: str | None = None, inputCol: str = "tokens",
                 outputCol: str = "tags", domainCol: str | None = None, kind: str = "viterbi"):
        super().__init__()
        self._setDefault(inputCol="tokens", outputCol="tags", kind="viterbi")
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, modelPath: str | None = None, inputCol: str = "tokens",
                  outputCol: str = "tags", domainCol: str | None = None,
                  kind: str = "viterbi"):
        return self._set(**self._input_kwargs)

    def getModelPath(self) -> str:
        return self.getOrDefault(self.modelPath)

    def write(self):
        return _TaggerWriter(self)

    @classmethod
    def read(cls):
        return _TaggerReader(cls)  # type: ignore[arg-type]  # read() is overridden here

    def _transform(self, dataset):
        from pyspark.sql.functions import col, pandas_udf
        from pyspark.sql.types import ArrayType, StringType

        if not self.isDefined(self.modelPath):
            raise ValueError("HmmtlTagger needs modelPath, the hmmtl model file to tag with")
        path = self.getModelPath()
        if _is_local(path) and not os.path.exists(_local(path)):
            raise FileNotFoundError(f"modelPath {path!r}: no such file")
        kind = self.getOrDefault(self.kind)
        if kind not in ("viterbi", "posterior", "type"):
            raise ValueError(f"kind must be 'viterbi', 'posterior' or 'type', got {kind!r}")
        source = self.getInputCol()
        if source not in dataset.columns:
            raise KeyError(f"no column {source!r} in the DataFrame (columns: "
                           f"{dataset.columns})")
        path = _local(path)
        out_type = ArrayType(StringType())
        if self.isDefined(self.domainCol):
            @pandas_udf(out_type)  # type: ignore[call-overload]  # a UDF without type hints
            def tag_with_domains(tokens, domains):
                return _tag_series(path, kind, tokens, domains)

            column = tag_with_domains(col(source), col(self.getOrDefault(self.domainCol)))
        else:
            @pandas_udf(out_type)  # type: ignore[call-overload]  # a UDF without type hints
            def tag(tokens):
                return _tag_series(path, kind, tokens)

            column = tag(col(source))
        return dataset.withColumn(self.getOutputCol(), column)
