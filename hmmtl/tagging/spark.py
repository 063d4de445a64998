"""Tagging on Apache Spark: a Spark ML stage that tags with any saved hmmtl model, and the
files of ``hmmtl tag --spark``, both through the tagging door (:mod:`hmmtl.tagging`).

:class:`HmmtlTagger` is a ``pyspark.ml`` Transformer: it adds a column of tags to a DataFrame
holding a column of token arrays, through Arrow batches (a pandas UDF), each executor
process loading the model file once (:func:`~hmmtl.tagging.files.cached_model`).  A model
that reads input columns (a chunker's or a recognizer's POS tags) takes them from the
columns named by ``inputCols``, and one that reads whole documents has its rows grouped by
``documentCol`` (each document tagged whole), so that the tags are those of ``hmmtl tag``.  It is
writable and readable, so a ``Pipeline`` holding it saves and loads (the model file is
copied into the saved stage when the stage is saved to a local folder).

Examples
--------
>>> from hmmtl.tagging.spark import HmmtlTagger, spark_session          # doctest: +SKIP
>>> spark = spark_session("local[2]")                                    # doctest: +SKIP
>>> df = spark.createDataFrame([(["The", "dog", "barks"],)], ["tokens"])  # doctest: +SKIP
>>> HmmtlTagger(modelPath="pos.hmmtl").transform(df).show()              # doctest: +SKIP
>>> ner = HmmtlTagger(modelPath="ner.hmmtl", inputCols={"pos": "pos"},   # doctest: +SKIP
...                   documentCol="doc", outputCol="entities")

EM on Spark is :class:`hmmtl.executors.spark.SparkExecutor`.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from typing import Any

from ..executors.spark import SparkExecutor, session_on, spark_context, spark_session
from .door import TaggingError, predict
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

__all__ = ["HmmtlTagger", "resolve_inputs", "SparkExecutor", "spark_session", "spark_context",
           "cached_model", "tag_files"]


#: the most sentences tagged at once by the document path of the ML stage (a document is
#: never split, so a longer one makes a longer batch)
DOCUMENT_BATCH = 1024


def _as_input_cols(value) -> dict:
    """``inputCols`` as a dict (model input name or meaning -> DataFrame column): a dict
    as given, a list (or one name) as the same name on both sides."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, dict):
        return {TypeConverters.toString(k): TypeConverters.toString(v) for k, v in value.items()}
    return {c: c for c in TypeConverters.toListString(value)}


def _to_input_cols(value):
    """The type converter of ``inputCols``: a dict of strings, or a list of strings."""
    if isinstance(value, dict):
        return _as_input_cols(value)
    if isinstance(value, str):
        return [value]
    return TypeConverters.toListString(value)


def resolve_inputs(model, input_cols, document_col) -> dict:
    """The DataFrame column of each input column the model reads (``input_columns_``,
    found in ``input_cols`` by its name, else by its meaning: ``pos`` and ``xpos`` are
    one), as ``{model input name: DataFrame column}``; a :class:`TaggingError` naming
    what is missing when the model reads a column that ``input_cols`` does not give, when
    ``input_cols`` names one the model does not read, or when the model reads documents
    and ``document_col`` is None."""
    from ..io.columns import meaning_of

    given = _as_input_cols(input_cols or [])
    wanted = getattr(model, "input_columns_", None) or {}
    what = type(model).__name__
    out, used = {}, set()
    for name in wanted:
        key = name if name in given else next(
            (k for k in given if meaning_of(k) is not None and meaning_of(k) == meaning_of(name)),
            None)
        if key is None:
            raise TaggingError(f"this {what} reads the input column {name!r}: give inputCols="
                               f"{{{name!r}: COLUMN}}, the DataFrame column of its values "
                               f"(array<string>, one value per token)")
        out[name] = given[key]
        used.add(key)
    unused = [k for k in given if k not in used]
    if unused:
        reads = ", ".join(map(repr, wanted)) if wanted else "no input column"
        raise TaggingError(f"inputCols names {', '.join(map(repr, unused))}, which this {what} "
                           f"does not read (it reads {reads})")
    if getattr(model, "uses_documents_", False) and document_col is None:
        raise TaggingError(f"this {what} reads whole documents: give documentCol, the column "
                           f"of each sentence's document id (a column of distinct ids makes "
                           f"each sentence a document of its own)")
    return out


def _tag_rows(path: str, kind: str, input_cols, document_col, tokens, domains=None,
              documents=None, columns: dict | None = None) -> list:
    """The door's tags of the rows given as lists of values (null tokens: null tags):
    ``columns`` maps each DataFrame column of ``input_cols`` to its values."""
    from ..io import Corpus

    model = cached_model(path)
    inputs = resolve_inputs(model, input_cols, document_col)
    present = [i for i, t in enumerate(tokens) if t is not None]
    out: list = [None] * len(tokens)
    if not present:
        return out
    sentences = [list(tokens[i]) for i in present]
    word = "\x00words"   # a name no input column has
    data = {word: sentences}
    for name, source in inputs.items():
        values = (columns or {})[source]
        rows = []
        for i, s in zip(present, sentences):
            v = values[i]
            if v is None or len(v) != len(s):
                got = "null" if v is None else f"{len(v)} values"
                raise TaggingError(f"column {source!r} (the input column {name!r}) must hold "
                                   f"one value per token: a row of {len(s)} tokens has {got}")
            rows.append([None if x is None else str(x) for x in v])
        data[name] = rows
    corpus = Corpus(columns=data, word_column=word,
                    domains=None if domains is None else [domains[i] for i in present],
                    doc_ids=None if documents is None else [documents[i] for i in present])
    for i, row in zip(present, predict(model, sentences, corpus, kind=kind)):
        out[i] = row
    return out


def _tag_series(path: str, kind: str, input_cols, layout: tuple, *series):
    """A pandas UDF's batch: ``series`` are the tokens, then the domains when ``layout[0]``,
    then the DataFrame columns ``layout[1]``."""
    import pandas as pd

    with_domains, sources = layout
    tokens = series[0]
    values = tokens.tolist()
    domains = series[1].tolist() if with_domains else None
    first = 2 if with_domains else 1
    columns = {c: s.tolist() for c, s in zip(sources, series[first:])}
    tags = _tag_rows(path, kind, input_cols, None, values, domains, None, columns)
    return pd.Series(tags, index=tokens.index, dtype=object)


def _tag_partition(path: str, kind: str, input_cols, document_col, at: dict, rows):
    """The rows of one partition, sorted by document, each with its tags (at ``at["out"]``,
    or appended): whole documents tagged together, about :data:`DOCUMENT_BATCH` sentences
    at a time."""
    def flush(batch):
        columns = {c: [r[i] for r in batch] for c, i in at["inputs"].items()}
        tags = _tag_rows(path, kind, input_cols, document_col, [r[at["tokens"]] for r in batch],
                         None if at["domain"] is None else [r[at["domain"]] for r in batch],
                         [r[at["document"]] for r in batch], columns)
        for r, t in zip(batch, tags):
            values = list(r)
            if at["out"] is None:
                values.append(t)
            else:
                values[at["out"]] = t
            yield tuple(values)

    batch: list = []
    last = object()
    for row in rows:
        doc = row[at["document"]]
        if len(batch) >= DOCUMENT_BATCH and doc != last:
            yield from flush(batch)
            batch = []
        batch.append(row)
        last = doc
    if batch:
        yield from flush(batch)


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
        perceptron, Tagger, recognizer ...) or an HMM (its states as tags); every executor
        must be able to read it.
    inputCol : str, default="tokens"
        Column of ``array<string>`` token lists (null rows give null tags).
    outputCol : str, default="tags"
        New column of ``array<string>`` tags, equal to the tags of ``hmmtl tag`` (the
        door's :func:`~hmmtl.tagging.door.predict`) on the same sentences in one process.
    domainCol : str, optional
        Column of each sentence's domain, for a multi-domain model.
    inputCols : dict or list of str, optional
        The DataFrame columns (``array<string>``, one value per token) of the input columns
        the model reads (its ``input_columns_``, e.g. the POS tags of a chunker or of an
        entity recognizer): a dict ``{input: column}`` naming each input by its name or
        meaning (``pos`` and ``xpos`` are one), or a list of columns named as the inputs.
    documentCol : str, optional
        Column of each sentence's document id, for a model that reads whole documents
        (``uses_documents_``; needed there): the rows are then grouped by document (a
        shuffle; the rows come back in document order), each document tagged whole.
    kind : {"viterbi", "posterior", "type"}, default="viterbi"
        For HMMs: ``predict`` (Viterbi), or the most probable state of ``transform(kind=)``.

    Notes
    -----
    A model that reads an input column that ``inputCols`` does not give, or documents
    without ``documentCol``, is a :class:`~hmmtl.tagging.door.TaggingError` at
    ``transform``; a column that the DataFrame lacks, a ``KeyError`` naming it.
    """

    _input_kwargs: dict[str, Any]  # set by @keyword_only

    modelPath = Param(Params._dummy(), "modelPath", "hmmtl model file",
                      typeConverter=TypeConverters.toString)
    domainCol = Param(Params._dummy(), "domainCol", "column of the sentences' domains",
                      typeConverter=TypeConverters.toString)
    inputCols = Param(Params._dummy(), "inputCols",
                      "columns of the model's input columns: {input: column} or [column]",
                      typeConverter=_to_input_cols)
    documentCol = Param(Params._dummy(), "documentCol", "column of the sentences' documents",
                        typeConverter=TypeConverters.toString)
    kind = Param(Params._dummy(), "kind", "viterbi, posterior or type",
                 typeConverter=TypeConverters.toString)

    @keyword_only
    def __init__(self, *, modelPath: str | None = None, inputCol: str = "tokens",
                 outputCol: str = "tags", domainCol: str | None = None,
                 inputCols: dict | list | None = None, documentCol: str | None = None,
                 kind: str = "viterbi"):
        super().__init__()
        self._setDefault(inputCol="tokens", outputCol="tags", kind="viterbi")
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, modelPath: str | None = None, inputCol: str = "tokens",
                  outputCol: str = "tags", domainCol: str | None = None,
                  inputCols: dict | list | None = None, documentCol: str | None = None,
                  kind: str = "viterbi"):
        return self._set(**self._input_kwargs)

    def getModelPath(self) -> str:
        return self.getOrDefault(self.modelPath)

    def getInputCols(self) -> dict:
        """``inputCols`` as ``{input: column}`` (empty when not set)."""
        return _as_input_cols(self.getOrDefault(self.inputCols)) \
            if self.isDefined(self.inputCols) else {}

    def getDocumentCol(self) -> str | None:
        return self.getOrDefault(self.documentCol) if self.isDefined(self.documentCol) \
            else None

    def write(self):
        return _TaggerWriter(self)

    @classmethod
    def read(cls):
        return _TaggerReader(cls)  # type: ignore[arg-type]  # read() is overridden here

    def _transform(self, dataset):
        from pyspark.sql.functions import col, pandas_udf
        from pyspark.sql.types import ArrayType, StringType, StructField, StructType

        if not self.isDefined(self.modelPath):
            raise ValueError("HmmtlTagger needs modelPath, the hmmtl model file to tag with")
        path = self.getModelPath()
        if _is_local(path) and not os.path.exists(_local(path)):
            raise FileNotFoundError(f"modelPath {path!r}: no such file")
        kind = self.getOrDefault(self.kind)
        if kind not in ("viterbi", "posterior", "type"):
            raise ValueError(f"kind must be 'viterbi', 'posterior' or 'type', got {kind!r}")
        source = self.getInputCol()
        domain = self.getOrDefault(self.domainCol) if self.isDefined(self.domainCol) else None
        document = self.getDocumentCol()
        input_cols = self.getInputCols()
        for what, name in [("inputCol", source), ("domainCol", domain),
                           ("documentCol", document)] + \
                [(f"inputCols[{k!r}]", v) for k, v in input_cols.items()]:
            if name is not None and name not in dataset.columns:
                raise KeyError(f"{what}: no column {name!r} in the DataFrame (columns: "
                               f"{dataset.columns})")
        path = _local(path)
        model = cached_model(path) if _is_local(path) else None
        if model is not None:   # the errors of a model and its inputs, before any job
            resolve_inputs(model, input_cols, document)
        sources = list(dict.fromkeys(input_cols.values()))
        out = self.getOutputCol()
        out_type = ArrayType(StringType())
        if document is not None and (model is None or getattr(model, "uses_documents_", False)):
            names = dataset.columns
            at = {"tokens": names.index(source), "document": names.index(document),
                  "domain": None if domain is None else names.index(domain),
                  "inputs": {c: names.index(c) for c in sources},
                  "out": names.index(out) if out in names else None}
            fields = list(dataset.schema.fields)
            field = StructField(out, out_type, True)
            if at["out"] is None:
                fields.append(field)
            else:
                fields[at["out"]] = field
            rows = dataset.repartition(col(document)).sortWithinPartitions(col(document)).rdd
            tagged = rows.mapPartitions(partial(_tag_partition, path, kind, input_cols,
                                                document, at))
            return dataset.sparkSession.createDataFrame(tagged, StructType(fields),
                                                        verifySchema=False)
        layout = (domain is not None, tuple(sources))

        @pandas_udf(out_type)  # type: ignore[call-overload]  # a UDF without type hints
        def tag(*series):
            return _tag_series(path, kind, input_cols, layout, *series)

        args = [col(source)] + ([col(domain)] if domain is not None else []) + \
            [col(c) for c in sources]
        return dataset.withColumn(out, tag(*args))
