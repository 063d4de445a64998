"""hmmtl on Apache Spark, as imported before the tagging package: the Spark ML stage
:class:`HmmtlTagger` and its model cache live in :mod:`hmmtl.tagging.spark`, EM on Spark in
:mod:`hmmtl.executors.spark`; ``from hmmtl.spark import HmmtlTagger`` keeps working."""

from __future__ import annotations

from .tagging.spark import HmmtlTagger, SparkExecutor, cached_model, spark_context, \
    spark_session

__all__ = ["HmmtlTagger", "SparkExecutor", "spark_session", "spark_context", "cached_model"]
