"""Tagging on Dask, through the tagging door (:mod:`hmmtl.tagging`): the files of
``hmmtl tag --dask``, a large corpus tagged into shards (:func:`tag_to_shards`), and a
column of tags added to a ``dask.dataframe`` (:func:`add_tag_column`).

Every partition is tagged by :func:`hmmtl.tagging.door.predict` and written by
:func:`hmmtl.tagging.files.write_tagged`, as ``hmmtl tag`` does in one process: the same
columns read, the same column written.  Dask is imported only when this module is.

Examples
--------
>>> from dask.distributed import Client, LocalCluster             # doctest: +SKIP
>>> from hmmtl.tagging.dask import tag_to_shards                    # doctest: +SKIP
>>> with LocalCluster(n_workers=2) as cluster, Client(cluster) as client:
...     tag_to_shards(model, ["big.conllu"], "tagged/", client)     # doctest: +SKIP
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from ..executors.dask import DaskExecutor, client_on, get_client
from ..executors.sources import Files, Sentences, plan_partitions, read_partition
from .door import plan as make_plan
from .door import predict, tag_corpus
from .files import tag_job, write_tagged

__all__ = ["add_tag_column", "client_on", "tag_files", "tag_to_shards"]


def tag_files(address_or_client, model_path: str, jobs: list, batch: int) -> list:
    """``hmmtl tag --dask``: each ``(path, name, plan)`` job tagged by one Dask task
    (:func:`~hmmtl.tagging.files.tag_job`, the model file loaded once per worker process);
    ``[(text, n_sentences, n_tokens)]`` in the order of ``jobs``."""
    if isinstance(address_or_client, str):
        with client_on(address_or_client) as client:
            return tag_files(client, model_path, jobs, batch)
    ex = DaskExecutor(address_or_client)
    fn = partial(tag_job, model_path, batch)
    return ex.client.gather([ex._submit(fn, job, what="tag") for job in jobs])


# ============================================================================ shards
def _as_corpus(data, out_format: str):
    """A :class:`hmmtl.io.Corpus` of a partition (a corpus as read, or raw sentences, whose
    word column is named for ``out_format``)."""
    from ..io import Corpus

    if isinstance(data, Corpus):
        return data
    word = "form" if out_format == "conllu" else "word"
    return Corpus(columns={word: [list(s) for s in data.tokens]}, word_column=word,
                  domains=None if data.domains is None else [str(d) for d in data.domains],
                  format=out_format)


def _tag_one_shard(args, source, path: str, out_format: str, column, kind: str, prefix: str,
                   info):
    from ..io import Corpus

    model = args[0]
    corpus = _as_corpus(read_partition(source, corpus=True), out_format)
    if corpus.format != out_format:  # e.g. tokenized text written as CoNLL-U
        word = "form" if out_format == "conllu" else "word"
        corpus = Corpus(columns={word: [list(s) for s in corpus.sentences]}, word_column=word,
                        domains=corpus.domains, sent_ids=corpus.sent_ids,
                        doc_ids=corpus.doc_ids, format=out_format)
    plan = make_plan(model, out_format, info=info, column=column, notation="auto",
                     source=corpus, kind=kind, prefix=prefix)
    from ..io.atomic import OutputFile

    with OutputFile(path, what="shard") as target:
        write_tagged(corpus, target.stream, tag_corpus(model, corpus, plan), plan)
    return path


def tag_to_shards(model, corpus, out_dir, client=None, *, out_format: str = "conllu",
                  column: str | int | None = None, kind: str = "viterbi", prefix: str = "",
                  format: str | None = None, n_partitions: int | None = None,
                  info: dict | None = None) -> list[str]:
    """Tag a large corpus on the workers, one output shard per partition.

    Parameters
    ----------
    model : fitted model with ``predict`` (a labeler, an HMM)
        Sent to the workers once.  It reads what it reads through the tagging door: input
        columns and documents of files, each sentence's domain.
    corpus : list of file paths, Files, list of token lists or of (sentences, domains)
        CoNLL-U and CoNLL files keep all their columns, comments and layout.
    out_dir : str or Path
        Folder (created if its parent exists); shards are ``part-00000.conllu`` ... in
        partition order, each written atomically, so that a retried task never leaves half
        a shard.
    out_format : {"conllu", "conll"}
    column : str or int, optional
        Column of the tags.  Default: the one column rule, as ``hmmtl tag``
        (:func:`hmmtl.tagging.door.place`): in CoNLL-U the column of the tags' meaning
        (an HMM's states: XPOS), in CoNLL a new last column.
    kind : {"viterbi", "posterior", "type"}
        ``"viterbi"`` calls ``model.predict``; the others ``model.transform(kind=)`` and
        take the most probable state.
    prefix : str
        Put before each tag (``"S"`` gives ``S12``).
    format : {"text", "conllu", "conll"}, optional
        Format of input files (default: from each file's name).
    info : dict, optional
        What the model's file records (``tag_column``, ``tag_meaning``).

    Returns
    -------
    list of str
        The shard paths, in partition order.
    """
    if out_format not in ("conllu", "conll"):
        raise ValueError(f"out_format must be 'conllu' or 'conll', got {out_format!r}")
    out_dir = Path(out_dir)
    if not out_dir.parent.exists():
        raise FileNotFoundError(f"the parent folder of out_dir={str(out_dir)!r} does not exist")
    out_dir.mkdir(exist_ok=True)
    if format is not None and isinstance(corpus, (list, tuple)) and corpus \
            and all(isinstance(p, (str, os.PathLike)) for p in corpus):
        corpus = Files(tuple(corpus), format=format)
    ex = DaskExecutor(client, n_partitions=n_partitions)
    sources = plan_partitions(corpus, ex.default_partitions())
    if sources and not isinstance(sources[0], (Sentences,)) and hasattr(sources[0], "ids"):
        raise TypeError("tag_to_shards needs words (token lists or files), not encoded "
                        "RaggedBatch partitions")
    ref = ex._broadcast((model,))
    suffix = ".conllu" if out_format == "conllu" else ".conll"
    futures = [ex._submit(_tag_one_shard, ref, s, str(out_dir / f"part-{i:05d}{suffix}"),
                          out_format, column, kind, prefix, info, what="tag")
               for i, s in enumerate(sources)]
    return ex.client.gather(futures)


# ============================================================================ dataframes
def _identity(value):
    return value


def _tag_frame_partition(df, model, tokens_column: str, column: str, kind: str,
                         domain_column: str | None):
    from ..io import Corpus

    sentences = [s.split() if isinstance(s, str) else list(s) for s in df[tokens_column].tolist()]
    corpus = None
    if domain_column is not None and sentences:
        corpus = Corpus(columns={"word": sentences}, word_column="word",
                        domains=df[domain_column].tolist())
    out = df.copy()
    out[column] = [[int(t) if t.lstrip("-").isdigit() else t for t in row]
                   for row in predict(model, sentences, corpus, kind=kind)]
    return out


def add_tag_column(ddf, model, *, tokens_column: str = "tokens", column: str = "tags",
                   kind: str = "viterbi", domain_column: str | None = None, client=None):
    """A ``dask.dataframe`` with a new column of tag lists, one row per sentence.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        With a column ``tokens_column`` holding each sentence: a token list, or a string of
        whitespace-separated tokens.  Dask turns object columns into strings unless
        ``dask.config.set({"dataframe.convert-string": False})``: a column of lists must be
        made under that setting (or stored as tokenized strings).
    model : fitted estimator with ``predict``
        Sent once to the workers of ``client`` (the default client; without one the model
        travels inside the graph) and referenced by every partition's task.
    column : str
        Name of the new column: lists of state ids (ints) for an HMM, of labels for a
        labeler.
    kind : {"viterbi", "posterior", "type"}
    domain_column : str, optional
        Column of each sentence's domain, for a model that takes domains.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy; ``.compute()`` or ``.to_parquet(...)`` runs it.
    """
    import pandas as pd

    for name in (tokens_column, domain_column):
        if name is not None and name not in ddf.columns:
            raise KeyError(f"no column {name!r} in the dataframe (columns: "
                           f"{list(ddf.columns)})")
    try:
        model_ref = DaskExecutor(get_client(client))._submit(_identity, model, what="model")
    except ValueError:   # no client: the model travels inside the graph
        model_ref = model
    meta = ddf._meta.copy()
    meta[column] = pd.Series([], dtype=object)
    return ddf.map_partitions(_tag_frame_partition, model_ref, tokens_column, column, kind,
                              domain_column, meta=meta)
