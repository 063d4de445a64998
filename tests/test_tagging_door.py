"""One tagging door: for every model class, the adapter (:func:`hmmtl.tagging.tag`),
``hmmtl tag``, ``hmmtl tag --dask local`` and ``hmmtl tag --spark local[2]`` write the same
bytes for the same input files, and the adapter's tags are the model's own ``predict`` given
the columns, documents and domains of the input.

The models are small (fitted on :mod:`model_zoo`'s sentences in a few seconds); one Dask
cluster and one Spark session serve the module.  Select the Spark tests with ``-m spark``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import NamedTuple
from collections.abc import Callable

import pytest

import model_zoo as zoo
from hmmtl.cli import main
from hmmtl.io import read_conll, read_conllu, read_text
from hmmtl.tagging import TaggingError, model_inputs, place, tag, write

# ----------------------------------------------------------------------------- data
#: sentences with brackets: the POS taggers learn PTB bracket tags (-LRB- -RRB-)
BRACKETS = [["the", "dog", "(", "a", "cat", ")", "runs"],
            ["a", "man", "(", "the", "bird", ")", "sings"]] * 3
BRACKET_TAGS = [["DT", "NN", "-LRB-", "DT", "NN", "-RRB-", "VBZ"]] * 6
POS_X = zoo.SENTENCES + BRACKETS
POS_Y = zoo.POS + BRACKET_TAGS
#: the test sentences, one with brackets (tagged ( and ) in the input files' gold column)
TEST_X = zoo.TEST_SENTENCES + [["this", "cat", "(", "the", "dog", ")", "eats"]]
TEST_POS = [[{"(": "(", ")": ")"}.get(w, t) for w, t in zip(s, tags)]
            for s, tags in zip(TEST_X, zoo._pos_tags(TEST_X))]
TEST_CHUNKS = [["B-NP" if t == "DT" else "I-NP" if t == "NN" else "B-VP" if t == "VBZ"
                else "O" for t in s] for s in TEST_POS]
TEST_NER = [["B-PER" if w == "man" else "O" for w in s] for s in TEST_X]
#: each test sentence's domain (in the CoNLL-U sentence ids) and document
TEST_DOMAINS = ["news" if i % 2 else "web" for i in range(len(TEST_X))]
TEST_DOCS = [f"d{i // 4}" for i in range(len(TEST_X))]


def _conllu(path: Path, columns: dict, *, domains=None, docs=None) -> str:
    """A CoNLL-U file of TEST_X: XPOS from ``columns["xpos"]``, MISC from the others."""
    lines, last_doc = [], None
    for i, words in enumerate(TEST_X):
        if docs is not None and docs[i] != last_doc:
            lines.append(f"# newdoc id = {docs[i]}")
            last_doc = docs[i]
        sid = f"{domains[i]}-{i + 1}" if domains is not None else str(i + 1)
        lines.append(f"# sent_id = {sid}")
        for j, w in enumerate(words):
            xpos = columns["xpos"][i][j] if "xpos" in columns else "_"
            misc = "|".join(f"{k}={v[i][j]}" for k, v in columns.items() if k != "xpos") or "_"
            lines.append(f"{j + 1}\t{w}\t_\t_\t{xpos}\t_\t_\t_\t_\t{misc}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _conll(path: Path, columns: list, *, docs=None) -> str:
    """A CoNLL file of TEST_X with tag ``columns`` after the word (``-DOCSTART-`` lines
    before each document of ``docs``)."""
    lines, last_doc = [], None
    for i, words in enumerate(TEST_X):
        if docs is not None and docs[i] != last_doc:
            lines += ["-DOCSTART- -X- -X- O", ""]
            last_doc = docs[i]
        for j, w in enumerate(words):
            lines.append(" ".join([w] + [c[i][j] for c in columns]))
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _text(path: Path) -> str:
    path.write_text("".join(" ".join(s) + "\n" for s in TEST_X), encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------------- models
def _pos_tagger():
    from hmmtl.transfer.pipeline import Tagger

    return Tagger(hmm=zoo._hmm(), labeler_params={"max_iterations": 20},
                  random_state=0).fit(POS_X, POS_Y)


def _adapted_tagger():
    from hmmtl.transfer.pipeline import Tagger

    return Tagger(hmm=3, hmm_params={"n_iter": 3, "n_hmms": 1, "min_count": 1},
                  labeler_params={"max_iterations": 20}, random_state=0).fit(
        POS_X, POS_Y, unlabeled=TEST_X)


def _chunker():
    """A recognizer of chunks that reads the POS column (column 1 of a CoNLL file)."""
    return zoo._recognizer().set_params(columns={"pos": 1}).fit(
        zoo.SENTENCES, zoo.CHUNKS, columns={"pos": zoo.POS})


def _recognizer():
    """A recognizer of entities that reads the POS column and whole documents."""
    return zoo._recognizer().set_params(columns={"pos": 1}).fit(
        zoo.SENTENCES, zoo.ENTITIES, columns={"pos": zoo.POS},
        documents=[f"d{i // 5}" for i in range(len(zoo.SENTENCES))])


def _domain_crf():
    """A DomainAugmentedCRF whose two domains tag "sings" differently (VBZ in news, NN on
    the web), so that tags that ignore the domain would differ."""
    from hmmtl.transfer.augment import DomainAugmentedCRF

    y = [[("NN" if d == "web" and w == "sings" else t) for w, t in zip(s, tags)]
         for s, tags, d in zip(zoo.SENTENCES, zoo.POS, zoo.DOMAINS)]
    return DomainAugmentedCRF(labeler_params={"max_iterations": 50}).fit(
        zoo.SENTENCES, y, domains=zoo.DOMAINS)


def _multi_task():
    return next(m for m in zoo.MODELS if m.name == "MultiTaskTagger").fit()


class Case(NamedTuple):
    name: str
    fit: Callable[[], object]
    #: folder -> the input files
    inputs: Callable[[Path], list]


CASES = [
    Case("pos-tagger", _pos_tagger, lambda d: [
        _conllu(d / "a.conllu", {"xpos": TEST_POS}), _conll(d / "b.conll", [TEST_POS]),
        _text(d / "c.txt")]),
    Case("chunker-reading-pos", _chunker, lambda d: [
        _conll(d / "a.conll", [TEST_POS, TEST_CHUNKS]),
        _conllu(d / "b.conllu", {"xpos": TEST_POS, "Chunk": TEST_CHUNKS})]),
    Case("recognizer-columns-documents", _recognizer, lambda d: [
        _conll(d / "a.conll", [TEST_POS, TEST_NER], docs=TEST_DOCS),
        _conllu(d / "b.conllu", {"xpos": TEST_POS}, docs=TEST_DOCS)]),
    Case("adapted-tagger", _adapted_tagger, lambda d: [
        _conllu(d / "a.conllu", {"xpos": TEST_POS}), _text(d / "b.txt")]),
    Case("domain-augmented-crf", _domain_crf, lambda d: [
        _conllu(d / "a.conllu", {"xpos": TEST_POS}, domains=TEST_DOMAINS),
        _conll(d / "news.conll", [TEST_POS]), _conll(d / "web.conll", [TEST_POS])]),
    Case("multi-task", _multi_task, lambda d: [
        _conllu(d / "a.conllu", {"xpos": TEST_POS}), _conll(d / "b.conll", [TEST_POS]),
        _text(d / "c.txt")]),
]


class Fitted(NamedTuple):
    model: object
    path: str
    inputs: list
    folder: Path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    out = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(case.name)
        model = case.fit()
        path = str(folder / "model.hmmtl")
        model.save(path)
        out[case.name] = Fitted(model, path, case.inputs(folder), folder)
    return out


def _read(path: str):
    return {"conllu": read_conllu, "conll": read_conll, "txt": read_text}[
        path.rsplit(".", 1)[1]](path)


def _door_bytes(fit: Fitted) -> bytes:
    """The tagged files through the adapter, file by file, one after the other."""
    out = io.StringIO()
    for path in fit.inputs:
        corpus = _read(path)
        write(corpus, tag(fit.path, corpus), out)
    return out.getvalue().encode("utf-8")


def _cli_bytes(fit: Fitted, name: str, *options: str) -> bytes:
    out = fit.folder / f"{name}.out"
    assert main(["tag", "--model", fit.path, *fit.inputs, "-o", str(out), "--quiet",
                 "--batch-size", "3", *options]) == 0
    return out.read_bytes()


# ----------------------------------------------------------------------------- the adapter
@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_the_adapter_gives_the_models_own_predict_with_the_inputs_of_the_file(fitted, case):
    """The door's tags are ``model.predict`` given what the file holds: the POS column a
    recognizer reads, the documents, each sentence's domain (the model's own call, not the
    door's, is the reference)."""
    fit = fitted[case]
    m = fit.model
    for path in fit.inputs:
        corpus = _read(path)
        got = tag(m, corpus)
        X = corpus.sentences
        if case == "multi-task":
            expected = m.predict(X)
        elif case.startswith(("chunker", "recognizer")):
            pos = corpus.column("xpos") if corpus.format == "conllu" else corpus.column(1)
            kw = {"documents": list(corpus.doc_ids)} if m.uses_documents_ else {}
            expected = m.predict(X, columns={"pos": pos}, **kw)
        elif case == "domain-augmented-crf":
            expected = m.predict(X, domains=list(corpus.domains))
        else:
            expected = m.predict(X)
        if got.plan.notation is not None:  # tags written as the file writes them
            expected = got.plan.notation.map_tags(expected)
        assert got.tags == expected, path


def test_the_recognizer_reads_documents_and_the_crf_domains(fitted):
    """The inputs really travel: the recognizer's documents come from -DOCSTART- / newdoc,
    the CRF's domains from the sentence ids (and tagging each as one domain differs)."""
    rec = fitted["recognizer-columns-documents"]
    assert rec.model.uses_documents_ and rec.model.input_columns_ == {"pos": 1}
    conll = _read(rec.inputs[0])
    kw = model_inputs(rec.model, conll)
    assert kw["columns"]["pos"] == [list(p) for p in TEST_POS]
    assert len(set(kw["documents"])) == len(set(TEST_DOCS))
    crf = fitted["domain-augmented-crf"]
    corpus = _read(crf.inputs[0])
    assert list(corpus.domains) == TEST_DOMAINS
    got = tag(crf.model, corpus).tags
    as_web = crf.model.predict(corpus.sentences, domains=["web"] * len(TEST_X))
    as_news = crf.model.predict(corpus.sentences, domains=["news"] * len(TEST_X))
    assert got != as_web and got != as_news
    assert any("sings" in s for s in TEST_X)


def test_the_pos_tags_follow_the_files_notation(fitted):
    """Trained on -LRB- / -RRB-, tagging a file whose tag column writes ( and ): the door
    writes ( and ) -- in the adapter and in the command alike (checked by the equality
    test)."""
    fit = fitted["pos-tagger"]
    corpus = _read(fit.inputs[0])
    got = tag(fit.model, corpus)
    assert got.plan.notation is not None
    bracketed = got.tags[-1]
    assert bracketed[2] == "(" and bracketed[5] == ")"
    kept = tag(fit.model, corpus, notation="keep")
    assert kept.tags[-1][2] == "-LRB-"


def test_the_column_rule_is_the_same_for_every_model(fitted):
    """CoNLL-U: POS to XPOS, chunks to MISC Chunk=, entities to MISC NE=, one column per
    task; CoNLL: a new last column; never a column the model reads."""
    assert place(fitted["pos-tagger"].model, {}, "conllu") == "xpos"
    assert place(fitted["chunker-reading-pos"].model, {}, "conllu") == "misc:Chunk"
    assert place(fitted["recognizer-columns-documents"].model, {}, "conllu") == "misc:NE"
    assert place(fitted["pos-tagger"].model, {}, "conll") is None
    assert place(fitted["multi-task"].model, {}, "conllu") == \
        {"pos": "xpos", "chunk": "chunk", "ner": "ner"}
    with pytest.raises(TaggingError, match="reads the column xpos"):
        place(fitted["chunker-reading-pos"].model, {"tag_column": "xpos"}, "conllu")


# ----------------------------------------------------------------------------- every door
@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("distributed")
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from hmmtl.executors.spark import spark_session

    session = spark_session("local[2]", "hmmtl-door-tests",
                            **{"spark.executorEnv.NUMBA_NUM_THREADS": "1"})
    session.sparkContext.setLogLevel("OFF")
    yield session
    session.stop()


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_the_command_writes_the_adapters_bytes(fitted, case):
    fit = fitted[case]
    expected = _door_bytes(fit)
    assert expected.count(b"\n") > len(TEST_X)
    assert _cli_bytes(fit, "local") == expected


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_dask_writes_the_adapters_bytes(fitted, dask_client, case):
    fit = fitted[case]
    assert _cli_bytes(fit, "dask", "--dask", "local") == _door_bytes(fit)


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_dask_shards_are_the_adapters_bytes(fitted, dask_client, case, tmp_path):
    """:func:`hmmtl.tagging.dask.tag_to_shards` of a CoNLL-U or CoNLL file writes the
    adapter's bytes: the same column rule (no fixed XPOS), inputs and notation."""
    from hmmtl.tagging.dask import tag_to_shards

    fit = fitted[case]
    for i, path in enumerate(p for p in fit.inputs if not p.endswith(".txt")):
        fmt = path.rsplit(".", 1)[1]
        [shard] = tag_to_shards(fit.model, [path], tmp_path / f"out{i}", dask_client,
                                out_format=fmt)
        out = io.StringIO()
        corpus = _read(path)
        write(corpus, tag(fit.model, corpus), out)
        assert Path(shard).read_text(encoding="utf-8") == out.getvalue(), path


@pytest.mark.spark
@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_spark_writes_the_adapters_bytes(fitted, spark, case):
    fit = fitted[case]
    assert _cli_bytes(fit, "spark", "--spark", "local[2]") == _door_bytes(fit)


@pytest.mark.spark
def test_spark_and_dask_resolve_ready_made_model_names(fitted, spark, dask_client, tmp_path):
    """``--model en-pos`` names a ready-made model on Spark and Dask as it does here."""
    from hmmtl.models import MODELS, resolve

    if "en-pos" not in MODELS:
        pytest.skip("no ready-made en-pos model in this build")
    try:
        resolve("en-pos")
    except FileNotFoundError:
        pytest.skip("the ready-made en-pos model file is not installed")
    src = _conllu(tmp_path / "in.conllu", {"xpos": TEST_POS})
    outs = {}
    for name, options in (("local", []), ("dask", ["--dask", "local"]),
                          ("spark", ["--spark", "local[2]"])):
        out = tmp_path / f"{name}.conllu"
        assert main(["tag", "--model", "en-pos", src, "-o", str(out), "--quiet",
                     *options]) == 0
        outs[name] = out.read_bytes()
    assert outs["dask"] == outs["local"] and outs["spark"] == outs["local"]
    assert read_conllu(str(tmp_path / "local.conllu")).column("xpos")[0][0] == "DT"


def test_the_command_opens_an_input_file_once(fitted, monkeypatch):
    """``hmmtl tag`` opens each input file once: its format, its tag notation and its tags
    from one open file."""
    import builtins

    fit = fitted["pos-tagger"]
    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if str(file) in fit.inputs:
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    _cli_bytes(fit, "counted")
    assert sorted(opened) == sorted(fit.inputs)


@pytest.mark.spark
def test_the_spark_ml_stage_tags_through_the_door(fitted, spark):
    """The ML stage gives the adapter's tags, each sentence with its domain (``domainCol``)
    for the DomainAugmentedCRF."""
    from hmmtl.tagging import predict
    from hmmtl.tagging.spark import HmmtlTagger

    fit = fitted["domain-augmented-crf"]
    corpus = _read(fit.inputs[0])
    rows = [(i, s, d) for i, (s, d) in enumerate(zip(corpus.sentences, corpus.domains))]
    df = spark.createDataFrame(rows, ["id", "tokens", "domain"]).repartition(2)
    out = HmmtlTagger(modelPath=fit.path, domainCol="domain").transform(df)
    got = {r.id: list(r.tags) for r in out.collect()}
    assert [got[i] for i in range(len(rows))] == predict(fit.model, corpus.sentences, corpus)
    assert [got[i] for i in range(len(rows))] != \
        predict(fit.model, corpus.sentences, corpus.with_domain("web"))


def _spark_rows(corpus, pos):
    """(id, tokens, pos, document) rows of a corpus, its documents cut across partitions."""
    return [(i, s, p, d) for i, (s, p, d) in
            enumerate(zip(corpus.sentences, pos, corpus.doc_ids))]


@pytest.mark.spark
@pytest.mark.parametrize("case", ["chunker-reading-pos", "recognizer-columns-documents"])
def test_the_spark_ml_stage_reads_input_columns_and_documents(fitted, spark, case, tmp_path):
    """A chunker reading a POS column and a recognizer reading POS and documents give,
    through the ML stage (``inputCols``, ``documentCol``), the tags of the adapter and of
    ``hmmtl tag`` (the last column it writes), each row keeping its own values."""
    from hmmtl.tagging.spark import HmmtlTagger

    fit = fitted[case]
    conll = fit.inputs[0]
    corpus = _read(conll)
    expected = tag(fit.path, corpus).tags
    out = tmp_path / "tagged.conll"
    assert main(["tag", "--model", fit.path, conll, "-o", str(out), "--quiet",
                 "--batch-size", "3"]) == 0
    written = read_conll(str(out))
    assert written.column(len(written.columns) - 1) == expected
    rows = _spark_rows(corpus, corpus.column(1))
    df = spark.createDataFrame(rows, ["id", "tokens", "postags", "doc"]).repartition(3)
    documents = {"documentCol": "doc"} if fit.model.uses_documents_ else {}
    for cols in ({"pos": "postags"}, {"xpos": "postags"}):   # by name, by meaning
        stage = HmmtlTagger(modelPath=fit.path, inputCols=cols, outputCol="ner", **documents)
        got = {r.id: (list(r.ner), list(r.postags)) for r in stage.transform(df).collect()}
        assert [got[i][0] for i in range(len(rows))] == expected
        assert [got[i][1] for i in range(len(rows))] == [list(p) for p in corpus.column(1)]
    # a list names the columns as the model's inputs
    listed = spark.createDataFrame(rows, ["id", "tokens", "pos", "doc"]).repartition(2)
    got = {r.id: list(r.tags) for r in
           HmmtlTagger(modelPath=fit.path, inputCols=["pos"], **documents)
           .transform(listed).collect()}
    assert [got[i] for i in range(len(rows))] == expected


@pytest.mark.spark
def test_the_spark_ml_stage_documents_are_tagged_whole(fitted, spark, tmp_path):
    """Each document is tagged whole wherever its rows lie: the recognizer's tags of a
    DataFrame in many partitions are ``predict`` with the documents, and a stage reading
    documents saves and loads with its columns."""
    import random

    from hmmtl.tagging.spark import HmmtlTagger

    fit = fitted["recognizer-columns-documents"]
    m = fit.model
    # capitalized words, whose case elsewhere in their document changes the entities: the
    # first sentences drawn where tagging each sentence alone gives other tags
    words = sorted({w for s in zoo.SENTENCES + TEST_X for w in s})
    for seed in range(50):
        rng = random.Random(seed)
        X = [[(w.capitalize() if rng.random() < 0.4 else w) for w in
              (rng.choice(words) for _ in range(rng.randint(2, 6)))] for _ in range(40)]
        pos = [["NN"] * len(s) for s in X]
        docs = [f"d{i % 10}" for i in range(len(X))]   # each document spread over the rows
        expected = m.predict(X, columns={"pos": pos}, documents=docs)
        if expected != m.predict(X, columns={"pos": pos}, documents=list(range(len(X)))):
            break
    else:
        pytest.fail("no drawn sentences whose entities depend on their documents")
    df = spark.createDataFrame([(i, s, p, d) for i, (s, p, d) in enumerate(zip(X, pos, docs))],
                               ["id", "tokens", "pos", "doc"]).repartition(5)
    stage = HmmtlTagger(modelPath=fit.path, inputCols={"pos": "pos"}, documentCol="doc")
    got = {r.id: list(r.tags) for r in stage.transform(df).collect()}
    assert [got[i] for i in range(len(expected))] == expected
    stage.write().overwrite().save(str(tmp_path / "stage"))
    back = HmmtlTagger.load(str(tmp_path / "stage"))
    assert back.getInputCols() == {"pos": "pos"} and back.getDocumentCol() == "doc"
    got = {r.id: list(r.tags) for r in back.transform(df).collect()}
    assert [got[i] for i in range(len(expected))] == expected


@pytest.mark.spark
def test_the_spark_ml_stage_names_a_missing_column(fitted, spark):
    """A model input, a document column or a DataFrame column that is missing is an error
    naming it, raised by ``transform`` before any job."""
    from hmmtl.tagging.spark import HmmtlTagger

    rec = fitted["recognizer-columns-documents"]
    chunker = fitted["chunker-reading-pos"]
    corpus = _read(rec.inputs[0])
    df = spark.createDataFrame(_spark_rows(corpus, corpus.column(1)),
                               ["id", "tokens", "postags", "doc"])
    with pytest.raises(TaggingError, match=r"input column 'pos'.*inputCols"):
        HmmtlTagger(modelPath=chunker.path).transform(df)
    with pytest.raises(KeyError, match="no column 'pos'"):
        HmmtlTagger(modelPath=chunker.path, inputCols=["pos"]).transform(df)
    with pytest.raises(TaggingError, match="documentCol"):
        HmmtlTagger(modelPath=rec.path, inputCols={"pos": "postags"}).transform(df)
    with pytest.raises(KeyError, match="documentCol: no column 'document'"):
        HmmtlTagger(modelPath=rec.path, inputCols={"pos": "postags"},
                    documentCol="document").transform(df)
    with pytest.raises(TaggingError, match="'chunk', which this"):
        HmmtlTagger(modelPath=chunker.path,
                    inputCols={"pos": "postags", "chunk": "postags"}).transform(df)
    with pytest.raises(TaggingError, match="reads no input column"):
        HmmtlTagger(modelPath=fitted["pos-tagger"].path,
                    inputCols={"pos": "postags"}).transform(df)


@pytest.mark.parametrize("case", ["pos-tagger", "adapted-tagger", "domain-augmented-crf"])
def test_the_flat_tags_of_raw_text_are_the_sentences_tags_end_to_end(fitted, case):
    """:func:`hmmtl.tagging.door.predict_flat` (what raw text is written from) gives the
    tags of :func:`~hmmtl.tagging.door.predict` end to end, through a model's own flat
    path (the Tagger's) or by joining them."""
    from hmmtl.tagging.door import predict, predict_flat

    model = fitted[case].model
    X = TEST_X * 3
    flat = predict_flat(model, X)
    assert flat == [t for s in predict(model, X) for t in s]
    assert all(type(t) is str for t in flat)
    assert predict_flat(model, []) == []
    # the sentences given flat, as raw text is split: the same tags, no token lists made
    words = [w for s in X for w in s]
    assert predict_flat(model, flat=words, lengths=[len(s) for s in X]) == flat
    assert predict_flat(model, flat=[], lengths=[]) == []
    with pytest.raises(TypeError, match="flat and lengths"):
        predict_flat(model, flat=words)
    for bad in ([len(words) + 1], [-1, len(words) + 1]):
        with pytest.raises(ValueError, match="adding up to the"):
            predict_flat(model, flat=words, lengths=bad)
    if case != "domain-augmented-crf":  # a Tagger: its own flat path
        assert hasattr(model, "_predict_flat")
