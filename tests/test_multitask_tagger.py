"""MultiTaskTagger: several tasks in one model, the cascade on cross-validated predictions,
tasks from different corpora, one model file, and the CLI's --tasks."""

from __future__ import annotations

import json

import numpy as np
import pytest

import model_zoo as zoo
from model_zoo import CHUNKS, ENTITIES, POS, SENTENCES, TEST_POS, TEST_SENTENCES


def _model(**kw):
    from hmmtl.transfer.multitask import MultiTaskTagger

    params = dict(n_folds=2, labeler_params={"max_iterations": 20}, random_state=0)
    params.update(kw)
    return MultiTaskTagger(**params)


def test_predict_gives_every_task_in_cascade_order():
    model = _model().fit(SENTENCES, {"ner": ENTITIES, "chunk": CHUNKS, "pos": POS})
    assert model.tasks_ == ["pos", "chunk", "ner"]
    assert model.inputs_ == {"pos": [], "chunk": ["pos"], "ner": ["pos", "chunk"]}
    pred = model.predict(TEST_SENTENCES)
    assert list(pred) == ["pos", "chunk", "ner"]
    assert list(model.predict([])) == ["pos", "chunk", "ner"]  # no sentence: the same keys
    for task in pred:
        assert [len(s) for s in pred[task]] == [len(s) for s in TEST_SENTENCES]
    assert model.score_tasks(TEST_SENTENCES[1:], {"pos": TEST_POS[1:]})["pos"] > 0.9


def test_each_task_reads_the_earlier_tasks_predictions():
    """The chunker's features include the predicted POS column: its feature space has an
    extra of that name, and changing the POS input changes what the chunker sees."""
    model = _model().fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    specs = model.labelers_["chunk"].feature_space_.extra_specs_
    assert [s["name"] for s in specs if s["kind"] != "ngram"] == ["task:pos"]
    # the chunk task's n-grams: the word bigrams, and those of the POS column it reads
    assert {s["source"] for s in specs if s["kind"] == "ngram"} == {None, "task:pos"}
    assert model.labelers_["pos"].feature_space_.extra_specs_ == []
    plain = _model(cascade=False).fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    assert plain.inputs_["chunk"] == []
    assert {s["source"] for s in plain.labelers_["chunk"].feature_space_.extra_specs_} <= \
        {None}


def test_later_tasks_train_on_cross_validated_predictions(monkeypatch):
    """The POS column the chunker is trained on comes from models that did not see those
    sentences: with n_folds=2 the POS labeler is fitted three times (two folds, the full
    model), and with n_folds=0 once (gold POS as input)."""
    from hmmtl.crf import LinearChainCRF

    calls = []
    original = LinearChainCRF.fit

    def counting(self, X, y, *a, **kw):
        calls.append((self.task, len(X)))
        return original(self, X, y, *a, **kw)

    monkeypatch.setattr(LinearChainCRF, "fit", counting)
    _model(n_folds=2).fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    pos_fits = [n for t, n in calls if t == "pos"]
    assert len(pos_fits) == 3 and sorted(pos_fits)[:2] == [15, 15] and max(pos_fits) == 30
    calls.clear()
    _model(n_folds=0).fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    assert [t for t, _ in calls] == ["pos", "chunk"]


def test_tasks_from_different_corpora():
    """A sentence carries the tasks it is annotated for: POS on the first half only, chunks
    on the second half only; each labeler trains on its own sentences, and the chunker's
    POS input on the second half comes from the POS model."""
    half = len(SENTENCES) // 2
    pos = POS[:half] + [None] * (len(SENTENCES) - half)
    chunk = [None] * half + CHUNKS[half:]
    model = _model().fit(SENTENCES, {"pos": pos, "chunk": chunk})
    assert model.labelers_["pos"].feature_space_ is not None
    scores = model.score_tasks(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    assert set(scores) == {"pos", "chunk"} and min(scores.values()) > 0.8


def test_bad_labels_say_what_came():
    with pytest.raises(ValueError, match=r"y\['pos'\] has 3 label sequences but X has 30"):
        _model().fit(SENTENCES, {"pos": POS[:3]})
    with pytest.raises(TypeError, match=r"y must be a non-empty dict"):
        _model().fit(SENTENCES, POS)
    with pytest.raises(ValueError, match=r"no sentence carries labels"):
        _model().fit(SENTENCES, {"pos": [None] * len(SENTENCES)})
    with pytest.raises(ValueError, match=r"tasks=\['pos'\] leaves out"):
        _model(tasks=["pos"]).fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    model = _model().fit(SENTENCES, {"pos": POS})
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['ner'\]"):
        model.predict(SENTENCES, tasks=["ner"])


def test_predict_of_one_task_runs_the_tasks_it_reads():
    model = _model().fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    full = model.predict(TEST_SENTENCES)
    assert model.predict(TEST_SENTENCES, tasks="pos") == {"pos": full["pos"]}
    assert model.predict(TEST_SENTENCES, tasks=["chunk"]) == full
    assert model.predict([]) == {"pos": [], "chunk": []}


def test_tag_text_tags_one_task():
    model = _model().fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    sentence = model.tag_text("the dog sleeps.", task="pos")[0]
    assert [t.form for t in sentence.tokens] == ["the", "dog", "sleeps", "."]
    assert [t.tag for t in sentence.tokens] == model.predict(
        [["the", "dog", "sleeps", "."]])["pos"][0]
    chunks = [t.tag for t in model.tag_text("the dog sleeps.")[0].tokens]
    assert chunks == model.predict([["the", "dog", "sleeps", "."]])["chunk"][0]


def test_save_load_round_trip(tmp_path):
    from hmmtl.serialize import load
    from hmmtl.transfer.multitask import MultiTaskTagger

    model = _model().fit(SENTENCES, {"pos": POS, "chunk": CHUNKS, "ner": ENTITIES})
    path = model.save(tmp_path / "m.hmmtl")
    back = load(path)
    assert isinstance(back, MultiTaskTagger)
    assert back.tasks_ == model.tasks_ and back.inputs_ == model.inputs_
    assert back.predict(TEST_SENTENCES) == model.predict(TEST_SENTENCES)
    assert MultiTaskTagger.load(path).get_params()["n_folds"] == 2


def test_shared_hmm_features_reach_every_task():
    from hmmtl.hmm import CategoricalHMM

    hmm = CategoricalHMM(4, n_iter=3, random_state=0).fit(SENTENCES)
    model = _model(hmm=hmm).fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    for task in ("pos", "chunk"):
        names = [s["name"] for s in model.labelers_[task].feature_space_.extra_specs_]
        assert "hmm0.type" in names
    pred = model.predict(TEST_SENTENCES[1:])
    assert np.mean([p == g for ps, gs in zip(pred["pos"], TEST_POS[1:])
                    for p, g in zip(ps, gs)]) > 0.9


# ---------------------------------------------------------------------------- sharing
def test_file_columns_are_read_by_the_tasks_after_them():
    """columns={"pos": 1}: the chunker reads the given POS column (beside the predicted one
    with cascade=True), the POS labeler (whose own column it is) does not; tagging needs the
    column."""
    model = _model(columns={"pos": 1}, cascade=True).fit(
        SENTENCES, {"pos": POS, "chunk": CHUNKS}, columns={"pos": POS})
    assert model.input_columns_ == {"pos": 1}
    assert model.file_inputs_ == {"pos": [], "chunk": ["pos"]}
    names = [s["name"] for s in model.labelers_["chunk"].feature_space_.extra_specs_
             if s["kind"] != "ngram"]
    assert names == ["file:pos", "task:pos"]
    assert model.labelers_["pos"].feature_space_.extra_specs_ == []
    with pytest.raises(ValueError, match=r"reads the input column\(s\) \['pos'\]"):
        model.predict(TEST_SENTENCES)
    with pytest.raises(ValueError, match=r"reads the input column\(s\) \['pos'\]"):
        _model(columns={"pos": 1}).fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    # the POS task alone reads no column
    assert model.predict(TEST_SENTENCES[1:], tasks="pos")["pos"] == model.predict(
        TEST_SENTENCES[1:], columns={"pos": TEST_POS[1:]})["pos"]
    with pytest.raises(ValueError, match=r"column 'pos' must hold one tag per token"):
        model.predict(TEST_SENTENCES, columns={"pos": TEST_POS})
    pred = model.predict(TEST_SENTENCES[1:], columns={"pos": TEST_POS[1:]})
    assert [len(s) for s in pred["chunk"]] == [len(s) for s in TEST_SENTENCES[1:]]


def test_a_column_no_task_reads_is_not_required():
    model = _model(columns={"pos": 1}).fit(SENTENCES, {"pos": POS}, columns={"pos": POS})
    assert model.input_columns_ == {} and model.file_inputs_ == {"pos": []}
    assert list(model.predict(TEST_SENTENCES)) == ["pos"]


def _extra_names(model, task) -> set:
    return {s["name"] for s in model.labelers_[task].feature_space_.extra_specs_}


def test_shared_clusters_reach_every_task():
    from hmmtl.ner.clusters import BrownClusters

    clusters = BrownClusters(n_clusters=4, min_count=1).fit(SENTENCES)
    model = _model(clusters=clusters, cluster_prefixes=(2, 4), shared_features="all").fit(
        SENTENCES, {"pos": POS, "chunk": CHUNKS})
    for task in ("pos", "chunk"):
        assert "brown" in _extra_names(model, task)
    shared = model._shared_features(TEST_SENTENCES)
    assert shared["brown"].shape == (sum(map(len, TEST_SENTENCES)), 2)
    assert (shared["brown"][:, 0] >= 0).sum() > 0


def test_each_task_reads_the_shared_features_it_is_given(tmp_path):
    """shared_features: "auto" keeps the Brown clusters from a chunking task (by its name or
    its tags), a mapping names them per task; the choice is saved with the model."""
    from hmmtl import serialize
    from hmmtl.hmm import CategoricalHMM
    from hmmtl.ner.clusters import BrownClusters
    from hmmtl.serialize import load

    clusters = BrownClusters(n_clusters=4, min_count=1).fit(SENTENCES)
    hmm = CategoricalHMM(4, n_iter=3, random_state=0).fit(SENTENCES)
    both = {"brown", "hmm0.type"}
    model = _model(clusters=clusters, cluster_prefixes=(2, 4), hmm=hmm).fit(
        SENTENCES, {"pos": POS, "chunk": CHUNKS})
    assert both <= _extra_names(model, "pos")
    assert "hmm0.type" in _extra_names(model, "chunk")
    assert "brown" not in _extra_names(model, "chunk")
    assert model.shared_inputs_ == {"pos": ["hmm0.type", "brown"], "chunk": ["hmm0.type"]}
    # a chunking task under another name is told by its tags
    renamed = _model(clusters=clusters, cluster_prefixes=(2, 4), hmm=hmm).fit(
        SENTENCES, {"pos": POS, "phrases": CHUNKS})
    assert renamed.shared_inputs_["phrases"] == ["hmm0.type"]
    given = _model(clusters=clusters, cluster_prefixes=(2, 4), hmm=hmm,
                   shared_features={"pos": ["clusters"]}).fit(
        SENTENCES, {"pos": POS, "chunk": CHUNKS})
    assert given.shared_inputs_ == {"pos": ["brown"], "chunk": ["hmm0.type", "brown"]}
    pred = given.predict(TEST_SENTENCES)
    back = load(given.save(tmp_path / "m.hmmtl"))
    assert back.shared_inputs_ == given.shared_inputs_
    assert back.predict(TEST_SENTENCES) == pred
    # a file whose tasks read a shared feature it does not hold is refused
    arrays, meta = given._get_state()
    meta["shared_inputs"]["pos"] = ["hmm1.type"]
    with pytest.raises(serialize.ModelFileError, match="name tasks or features"):
        type(given)._from_state(arrays, meta)
    with pytest.raises(ValueError, match=r"shared_features\['pos'\] names \['words'\]"):
        _model(hmm=hmm, shared_features={"pos": ["words"]}).fit(SENTENCES, {"pos": POS})
    with pytest.raises(ValueError, match="shared_features must be"):
        _model(hmm=hmm, shared_features="some").fit(SENTENCES, {"pos": POS})



def _windows(model, task) -> dict:
    return {s["name"]: list(s["window"])
            for s in model.labelers_[task].feature_space_.extra_specs_ if s["kind"] != "ngram"}


def test_max_iterations_auto_caps_the_tasks_that_read_shared_representations(monkeypatch):
    """max_iterations="auto": SHARED_MAX_ITERATIONS for a CRF task reading the HMM or the
    clusters, the task's own default (150) for one reading the words alone, so that a
    words-only model is the one it was before; labeler_params and fold_labeler_params still
    win."""
    from hmmtl.crf import TASK_DEFAULTS, LinearChainCRF
    from hmmtl.hmm import CategoricalHMM
    from hmmtl.transfer.multitask import SHARED_MAX_ITERATIONS, MultiTaskTagger

    assert TASK_DEFAULTS["pos"]["max_iterations"] > SHARED_MAX_ITERATIONS
    hmm = CategoricalHMM(4, n_iter=3, random_state=0).fit(SENTENCES)
    y = {"pos": POS, "chunk": CHUNKS}
    shared = MultiTaskTagger(n_folds=0, hmm=hmm, random_state=0).fit(SENTENCES, y)
    for task in ("pos", "chunk"):
        assert shared.labelers_[task].settings_["max_iterations"] == SHARED_MAX_ITERATIONS
    # the words alone: the task defaults, the same model as max_iterations=None
    words = MultiTaskTagger(n_folds=0, random_state=0).fit(SENTENCES, y)
    before = MultiTaskTagger(n_folds=0, random_state=0, max_iterations=None).fit(SENTENCES, y)
    for task in ("pos", "chunk"):
        assert words.labelers_[task].settings_["max_iterations"] == 150
        np.testing.assert_array_equal(words.labelers_[task].coef_,
                                      before.labelers_[task].coef_)
    assert MultiTaskTagger(n_folds=0, hmm=hmm, random_state=0, max_iterations=None).fit(
        SENTENCES, y).labelers_["pos"].settings_["max_iterations"] == 150
    # an int for every task; labeler_params and the fold models' own parameters win
    calls = []
    original = LinearChainCRF.fit

    def recording(self, X, *a, **kw):
        calls.append((self.task, len(X), self.max_iterations))
        return original(self, X, *a, **kw)

    monkeypatch.setattr(LinearChainCRF, "fit", recording)
    MultiTaskTagger(n_folds=2, cascade=True, hmm=hmm, random_state=0, max_iterations=7,
                    labeler_params={"chunk": {"max_iterations": 5}},
                    fold_labeler_params={"max_iterations": 3}).fit(SENTENCES, y)
    assert sorted(calls) == [("chunk", 30, 5), ("pos", 15, 3), ("pos", 15, 3),
                             ("pos", 30, 7)]
    for bad in ("some", 0, 2.5, True):
        with pytest.raises(ValueError, match="max_iterations must be"):
            MultiTaskTagger(n_folds=0, max_iterations=bad).fit(SENTENCES, {"pos": POS})


def test_cluster_offsets_place_the_brown_features(tmp_path, monkeypatch):
    """cluster_offsets: the Brown clusters at the token only by default, the other extras
    (the HMM, the earlier tasks' predictions) at the task's -1, 0, +1, in the fold models
    too; None keeps the task's offsets; an extra_window of labeler_params wins; saved with
    the model."""
    from hmmtl.crf import LinearChainCRF
    from hmmtl.hmm import CategoricalHMM
    from hmmtl.ner.clusters import BrownClusters
    from hmmtl.serialize import load

    clusters = BrownClusters(n_clusters=4, min_count=1).fit(SENTENCES)
    hmm = CategoricalHMM(4, n_iter=3, random_state=0).fit(SENTENCES)
    y = {"pos": POS, "chunk": CHUNKS}
    model = _model(clusters=clusters, cluster_prefixes=(2, 4), hmm=hmm, cascade=True,
                   shared_features="all").fit(SENTENCES, y)
    assert _windows(model, "pos") == {"hmm0.type": [-1, 0, 1], "brown": [0]}
    assert _windows(model, "chunk") == {"hmm0.type": [-1, 0, 1], "brown": [0],
                                        "task:pos": [-1, 0, 1]}
    wide = _model(clusters=clusters, cluster_prefixes=(2, 4), hmm=hmm,
                  cluster_offsets=None).fit(SENTENCES, y)
    assert _windows(wide, "pos") == {"hmm0.type": [-1, 0, 1], "brown": [-1, 0, 1]}
    assert (wide.labelers_["pos"].feature_space_.n_attributes_
            > model.labelers_["pos"].feature_space_.n_attributes_)
    one = _model(clusters=clusters, cluster_prefixes=(2, 4), cluster_offsets=1).fit(
        SENTENCES, {"pos": POS})
    assert _windows(one, "pos") == {"brown": [-1, 0, 1]}
    given = _model(clusters=clusters, cluster_prefixes=(2, 4),
                   labeler_params={"max_iterations": 20, "extra_window": (0, 1)}).fit(
        SENTENCES, {"pos": POS})
    assert _windows(given, "pos") == {"brown": [0, 1]}
    # the fold models of the cascade read the clusters where their full model does
    seen = []
    original = LinearChainCRF.fit

    def recording(self, X, *a, **kw):
        seen.append(self.extra_window)
        return original(self, X, *a, **kw)

    monkeypatch.setattr(LinearChainCRF, "fit", recording)
    _model(clusters=clusters, cluster_prefixes=(2, 4), cascade=True).fit(SENTENCES, y)
    monkeypatch.undo()
    assert [ew["brown"] for ew in seen if ew and "brown" in ew] == [(0,)] * 3
    pred = model.predict(TEST_SENTENCES)
    back = load(model.save(tmp_path / "m.hmmtl"))
    assert back.cluster_offsets == (0,) and back.max_iterations == "auto"
    assert back.predict(TEST_SENTENCES) == pred
    with pytest.raises(TypeError, match="cluster_offsets"):
        _model(clusters=clusters, cluster_offsets=1.5).fit(SENTENCES, {"pos": POS})


def test_fold_models_take_their_own_parameters(monkeypatch):
    from hmmtl.crf import LinearChainCRF

    calls = []
    original = LinearChainCRF.fit

    def counting(self, X, y, *a, **kw):
        calls.append((self.task, len(X), self.max_iterations))
        return original(self, X, y, *a, **kw)

    monkeypatch.setattr(LinearChainCRF, "fit", counting)
    _model(fold_labeler_params={"max_iterations": 3}).fit(SENTENCES,
                                                          {"pos": POS, "chunk": CHUNKS})
    assert sorted((n, it) for t, n, it in calls if t == "pos") == [(15, 3), (15, 3),
                                                                   (30, 20)]
    assert [it for t, _, it in calls if t == "chunk"] == [20]


def test_cascade_mapping_names_the_tasks_each_task_reads(monkeypatch):
    """cascade={"ner": ["pos"]}: the recognizer-free NER CRF reads the POS predictions,
    the chunker none; only POS gets fold models."""
    from hmmtl.crf import LinearChainCRF

    calls = []
    original = LinearChainCRF.fit

    def counting(self, X, y, *a, **kw):
        calls.append(self.task)
        return original(self, X, y, *a, **kw)

    monkeypatch.setattr(LinearChainCRF, "fit", counting)
    model = _model(cascade={"ner": ["pos"]}).fit(
        SENTENCES, {"pos": POS, "chunk": CHUNKS, "ner": ENTITIES})
    assert model.inputs_ == {"pos": [], "chunk": [], "ner": ["pos"]}
    assert set(model.fit_times_) == {"shared features", "pos", "chunk", "ner",
                                     "pos predictions for later tasks"}
    assert calls.count("pos") == 3 and calls.count("chunk") == 1
    names = [s["name"] for s in model.labelers_["ner"].feature_space_.extra_specs_]
    assert names == ["task:pos"]
    with pytest.raises(ValueError, match=r"cascade\['pos'\] = \['chunk'\]"):
        _model(cascade={"pos": ["chunk"]}).fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})


def _recognizer_model(**kw):
    from hmmtl.ner import NamedEntityRecognizer

    ner = NamedEntityRecognizer(columns=(), n_folds=2, two_stage=False, auto_lists=False,
                                labeler_params={"max_iterations": 20}, random_state=0)
    return _model(task_models={"ner": ner}, **kw)


def test_a_task_model_reads_the_file_columns_and_earlier_predictions(tmp_path):
    from hmmtl.ner import NamedEntityRecognizer
    from hmmtl.serialize import load

    model = _recognizer_model(columns={"pos": 1}, cascade=True).fit(
        SENTENCES, {"pos": POS, "chunk": CHUNKS, "ner": ENTITIES}, columns={"pos": POS})
    ner = model.labelers_["ner"]
    assert isinstance(ner, NamedEntityRecognizer)
    assert sorted(ner.input_columns_) == ["pos", "task:chunk", "task:pos"]
    pred = model.predict(TEST_SENTENCES[1:], columns={"pos": TEST_POS[1:]})
    assert list(pred) == ["pos", "chunk", "ner"]
    assert [len(s) for s in pred["ner"]] == [len(s) for s in TEST_SENTENCES[1:]]
    assert model.score_tasks(SENTENCES, {"ner": ENTITIES}, columns={"pos": POS})["ner"] > 0.8
    back = load(model.save(tmp_path / "m.hmmtl"))
    assert back.input_columns_ == {"pos": 1} and back.file_inputs_ == model.file_inputs_
    assert back.predict(TEST_SENTENCES[1:], columns={"pos": TEST_POS[1:]}) == pred


def test_a_task_model_must_end_the_cascade():
    from hmmtl.ner import NamedEntityRecognizer

    model = _model(task_models={"chunk": NamedEntityRecognizer(columns=())})
    with pytest.raises(ValueError, match=r"must be the last of the cascade"):
        model.fit(SENTENCES, {"pos": POS, "chunk": CHUNKS, "ner": ENTITIES})
    with pytest.raises(ValueError, match=r"task_models has models of \['ner'\]"):
        _recognizer_model().fit(SENTENCES, {"pos": POS})


# ---------------------------------------------------------------------------- the CLI
def _tag_and_evaluate_three_tasks(model, tmp_path, capsys, n: int):
    """``hmmtl tag`` and ``hmmtl evaluate --json`` of a POS + chunk + NER model on the first
    ``n`` training sentences: the tagged rows (each a word, three gold columns and three
    predicted) and the evaluation (a block per task)."""
    test = tmp_path / "test.conll"
    zoo.write_conll(test, SENTENCES[:n], POS[:n], CHUNKS[:n], ENTITIES[:n])
    out = tmp_path / "tagged.conll"
    assert zoo.cli("tag", "--model", model, "--output", out, test) == 0
    rows = [line.split() for line in out.read_text().splitlines() if line.strip()]
    assert all(len(r) == 7 for r in rows)
    capsys.readouterr()
    assert zoo.cli("evaluate", "--model", model, "--test", test, "--format", "conll",
                   "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(result["tasks"]) == ["chunk", "ner", "pos"]
    return rows, result


def test_cli_train_tag_evaluate_tasks(tmp_path, capsys):
    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS, ENTITIES)
    model = tmp_path / "m.hmmtl"
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tasks",
                "pos=1,chunk=2,ner=3", "--max-iter", 20, "--quiet", "--out", model) == 0
    _, result = _tag_and_evaluate_three_tasks(model, tmp_path, capsys, 5)
    assert result["tasks"]["pos"]["accuracy"] > 0.9
    assert "f1" in result["tasks"]["chunk"] and "f1" not in result["tasks"]["pos"]


def test_cli_input_columns_are_recorded_and_needed_to_tag(tmp_path, capsys):
    from hmmtl.serialize import load

    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS)
    model = tmp_path / "m.hmmtl"
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tasks", "pos=1,chunk=2",
                "--input-columns", "pos=1", "--max-iter", 20, "--folds", 0, "--quiet",
                "--out", model) == 0
    assert load(model).input_columns_ == {"pos": 1}
    test = tmp_path / "test.conll"
    zoo.write_conll(test, SENTENCES[:5], POS[:5], CHUNKS[:5])
    out = tmp_path / "tagged.conll"
    assert zoo.cli("tag", "--model", model, "--output", out, test) == 0
    rows = [line.split() for line in out.read_text().splitlines() if line.strip()]
    assert all(len(r) == 5 for r in rows)
    capsys.readouterr()
    assert zoo.cli("evaluate", "--model", model, "--test", test, "--format", "conll",
                "--json") == 0
    assert json.loads(capsys.readouterr().out)["tasks"]["chunk"]["f1"] > 0.8
    words = tmp_path / "words.conll"
    zoo.write_conll(words, SENTENCES[:5])
    assert zoo.cli("tag", "--model", model, "--output", tmp_path / "x.conll", words) != 0
    assert "reads the column 'pos'" in capsys.readouterr().err


def test_cli_tag_conllu_places_each_task(tmp_path):
    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS)
    model = tmp_path / "m.hmmtl"
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tasks", "pos=1,chunk=2",
                "--max-iter", 20, "--quiet", "--out", model) == 0
    test = tmp_path / "test.conllu"
    with open(test, "w") as f:
        for words in TEST_SENTENCES[:3]:
            for j, w in enumerate(words, 1):
                f.write(f"{j}\t{w}\t_\t_\t_\t_\t_\t_\t_\t_\n")
            f.write("\n")
    out = tmp_path / "tagged.conllu"
    assert zoo.cli("tag", "--model", model, "--output", out, test) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert {r[4] for r in rows} <= {t for s in POS for t in s}
    assert all(r[9].startswith("Chunk=") for r in rows)


def test_cli_tasks_per_train_file(tmp_path, capsys):
    """POS + chunks from a CoNLL file, POS alone from a CoNLL-U file (its XPOS, named by
    meaning): the chunker trains on the first file's sentences only, POS on both."""
    from hmmtl.serialize import load

    half = len(SENTENCES) // 2
    first = tmp_path / "a.conll"
    zoo.write_conll(first, SENTENCES[:half], POS[:half], CHUNKS[:half])
    second = tmp_path / "b.conllu"
    with open(second, "w") as f:
        for words, tags in zip(SENTENCES[half:], POS[half:]):
            f.writelines(f"{j}\t{w}\t_\t_\t{t}\t_\t_\t_\t_\t_\n"
                         for j, (w, t) in enumerate(zip(words, tags), 1))
            f.write("\n")
    model_path = tmp_path / "m.hmmtl"
    assert zoo.cli("train", "--train", first, second, "--tasks", "pos=1,chunk=2", "--tasks",
                "pos", "--max-iter", 20, "--quiet", "--out", model_path) == 0
    model = load(model_path)
    assert model.tasks_ == ["pos", "chunk"]
    assert model.score_tasks(SENTENCES[half:], {"pos": POS[half:]})["pos"] > 0.9
    assert set(model.labelers_["chunk"].labels_.labels) == {t for s in CHUNKS[:half]
                                                             for t in s}
    capsys.readouterr()
    code = zoo.cli("train", "--train", first, second, "--tasks", "pos=1", "--tasks", "pos",
                "--tasks", "pos", "--quiet", "--out", tmp_path / "x.hmmtl")
    assert code != 0 and "given 3 times for 2 --train" in capsys.readouterr().err


def test_cli_tasks_refuses_a_bad_spec(tmp_path, capsys):
    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS)
    code = zoo.cli("train", "--train", train, "--format", "conll", "--tasks", "pos=1,chunk=7",
                "--quiet", "--out", tmp_path / "m.hmmtl")
    assert code != 0
    assert "--tasks" in capsys.readouterr().err


def _unlabeled_text(path, repeat: int = 3):
    """The training words ``repeat`` times plus two sentences of words no training sentence
    has (min_count 2 keeps them in the clusters' and the HMM's vocabulary)."""
    extra = ["zebras graze here .", "zebras graze there ."]
    path.write_text("\n".join([" ".join(s) for s in SENTENCES * repeat] + extra) + "\n")
    return path


def test_cli_tasks_learn_clusters_and_an_hmm_on_the_unlabeled_text(tmp_path, capsys):
    """--tasks with --unlabeled: Brown clusters and an HMM learned once on the training
    words plus the text, read by every task's CRF (and needed by nothing else to tag)."""
    from hmmtl.serialize import load

    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS)
    model_path = tmp_path / "m.hmmtl"
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tasks", "pos=1,chunk=2",
                   "--unlabeled", _unlabeled_text(tmp_path / "text.txt"), "--max-iter", 20,
                   "--folds", 2, "--quiet", "--out", model_path) == 0
    model = load(model_path)
    assert model.clusters_ is not None and len(model.hmms_) == 1
    assert "zebras" in list(model.clusters_.words_)  # a word of the unlabeled text only
    assert {"brown", "hmm0.type"} <= _extra_names(model, "pos")
    assert "hmm0.type" in _extra_names(model, "chunk")  # the chunker: the HMM only
    assert model.score_tasks(SENTENCES, {"pos": POS, "chunk": CHUNKS})["pos"] > 0.9
    # without --unlabeled nothing is learned beside the CRFs
    plain = tmp_path / "plain.hmmtl"
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tasks", "pos=1,chunk=2",
                   "--max-iter", 20, "--folds", 2, "--quiet", "--out", plain) == 0
    assert load(plain).clusters_ is None and load(plain).hmms_ == []


def test_cli_tasks_read_at_most_unlabeled_max_tokens(tmp_path, capsys):
    """--unlabeled-max-tokens with --tasks: the clusters and the HMM learn from the text's
    first sentences only (the words of its last sentences are not in their vocabulary)."""
    from hmmtl.serialize import load

    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS)
    text = _unlabeled_text(tmp_path / "text.txt")
    base = ("train", "--train", train, "--format", "conll", "--tasks", "pos=1,chunk=2",
            "--max-iter", 20, "--folds", 2, "--quiet")
    n = sum(map(len, SENTENCES))  # the first of the text's three copies of the training words
    assert zoo.cli(*base, "--unlabeled", text, "--unlabeled-max-tokens", n, "--out",
                   tmp_path / "m.hmmtl") == 0
    model = load(tmp_path / "m.hmmtl")
    assert "zebras" not in list(model.clusters_.words_)
    assert "zebras" not in model.hmms_[0].vocabulary_
    capsys.readouterr()
    assert zoo.cli(*base, "--unlabeled-max-tokens", n, "--out", tmp_path / "x.hmmtl") != 0
    assert "--unlabeled-max-tokens is a setting of --unlabeled" in capsys.readouterr().err


def test_cli_tasks_with_the_recognizer_for_the_ner_task(tmp_path, capsys):
    """--tasks ... --algorithm recognizer: the ner task is the recognizer (over the shared
    clusters and HMM), the others CRFs; tag and evaluate give every task."""
    from hmmtl.ner import NamedEntityRecognizer
    from hmmtl.serialize import load

    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS, ENTITIES)
    model_path = tmp_path / "m.hmmtl"
    assert zoo.cli("train", "--train", train, "--format", "conll", "--tasks",
                   "pos=1,chunk=2,ner=3", "--algorithm", "recognizer", "--unlabeled",
                   _unlabeled_text(tmp_path / "text.txt"), "--max-iter", 20, "--folds", 2,
                   "--quiet", "--out", model_path) == 0
    model = load(model_path)
    ner = model.labelers_["ner"]
    assert isinstance(ner, NamedEntityRecognizer)
    assert sorted(ner.input_columns_) == ["task:chunk", "task:pos"]
    assert list(ner.clusters_.words_) == list(model.clusters_.words_)
    # the clusters and the HMM are stored once and shared again by the loaded model
    from hmmtl.serialize import read_manifest

    manifest = read_manifest(model_path)
    assert manifest["format_version"] == 5
    assert ner.clusters_ is model.clusters_ and ner.hmms_[0] is model.hmms_[0]
    assert "hmm0/emission_prob" in manifest["arrays"]
    assert any(name.startswith("clusters/") for name in manifest["arrays"])
    assert not any(name.startswith(("task2/clusters/", "task2/hmm0/"))
                   for name in manifest["arrays"])
    rows, result = _tag_and_evaluate_three_tasks(model_path, tmp_path, capsys, 6)
    assert result["tasks"]["ner"]["f1"] > 0.8
    assert [r[6] for r in rows] == [t for s in model.predict(SENTENCES[:6])["ner"] for t in s]


def test_cascade_auto_reads_the_predictions_of_the_tasks_the_file_does_not_give():
    """cascade="auto": a task reads an earlier task's predictions unless the data gives
    that task's column (then it reads the column alone)."""
    X, y = SENTENCES, {"pos": POS, "chunk": CHUNKS, "ner": ENTITIES}
    assert _model().fit(X, y).inputs_ == {"pos": [], "chunk": ["pos"], "ner": ["pos", "chunk"]}
    with_pos = _model(columns={"pos": 1}).fit(X, y, columns={"pos": POS})
    assert with_pos.inputs_ == {"pos": [], "chunk": [], "ner": ["chunk"]}
    assert with_pos.file_inputs_ == {"pos": [], "chunk": ["pos"], "ner": ["pos"]}
    both = _model(columns={"pos": 1, "chunk": 2}).fit(X, y, columns={"pos": POS,
                                                                      "chunk": CHUNKS})
    assert both.inputs_ == {"pos": [], "chunk": [], "ner": []}
    assert _model(cascade=True, columns={"pos": 1}).fit(
        X, y, columns={"pos": POS}).inputs_["chunk"] == ["pos"]
    with pytest.raises(ValueError, match="cascade must be 'auto'"):
        _model(cascade="some").fit(X, y)


def test_cli_cascade_names_what_each_task_reads(tmp_path, capsys):
    from hmmtl.serialize import load

    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS, ENTITIES)
    base = ("train", "--train", train, "--format", "conll", "--tasks", "pos=1,chunk=2,ner=3",
            "--max-iter", 10, "--folds", 2, "--quiet")
    for spec, reads in (("auto", {"pos": [], "chunk": ["pos"], "ner": ["pos", "chunk"]}),
                        ("all", {"pos": [], "chunk": ["pos"], "ner": ["pos", "chunk"]}),
                        ("none", {"pos": [], "chunk": [], "ner": []}),
                        ("ner:chunk", {"pos": [], "chunk": [], "ner": ["chunk"]}),
                        ("chunk:pos,ner:pos+chunk", {"pos": [], "chunk": ["pos"],
                                                     "ner": ["pos", "chunk"]})):
        path = tmp_path / f"{spec.replace(':', '_').replace(',', '_')}.hmmtl"
        assert zoo.cli(*base, "--cascade", spec, "--out", path) == 0, spec
        assert load(path).inputs_ == reads, spec
    for spec, said in (("chunk", "expected auto, all, none or TASK:EARLIER"),
                       ("chunk:", "expected auto, all, none or TASK:EARLIER"),
                       ("chunk:verbs", "verbs is no task of --tasks"),
                       ("pos:chunk", "are not tasks before 'pos'")):
        capsys.readouterr()
        assert zoo.cli(*base, "--cascade", spec, "--out", tmp_path / "bad.hmmtl") != 0, spec
        assert said in capsys.readouterr().err, spec
    assert not (tmp_path / "bad.hmmtl").exists()


def test_cli_tasks_refuse_what_does_not_apply(tmp_path, capsys):
    train = tmp_path / "train.conll"
    zoo.write_conll(train, SENTENCES, POS, CHUNKS)
    base = ("train", "--train", train, "--format", "conll", "--tasks", "pos=1,chunk=2",
            "--quiet", "--out", tmp_path / "m.hmmtl")
    for extra, said in ((("--algorithm", "recognizer"), "labels the task named ner"),
                        (("--lexicon", tmp_path), "--lexicon is an option of --algorithm "
                                                  "recognizer"),
                        (("--algorithm", "perceptron"), "leave out --algorithm perceptron"),
                        (("--unlabeled", train), "every file given is a --train file")):
        capsys.readouterr()
        assert zoo.cli(*base, *extra) != 0
        assert said in capsys.readouterr().err
    assert not (tmp_path / "m.hmmtl").exists()


# ---------------------------------------------------------------------------- the study
@pytest.mark.slow
def test_product_study_tiny_run_scores_every_task(data_dir, tmp_path):
    from hmmtl.studies.multitask import run_multi_task_product

    res = run_multi_task_product(data_dir, tmp_path, preset="tiny", progress=False)
    seen = {(r["corpus"], r["setting"], r["task"], r["split"]) for r in res["records"]}
    for corpus, tasks in (("conll2000", ("pos", "chunk")),
                          ("conll2003", ("pos", "chunk", "ner"))):
        for task in tasks:
            for setting in ("single", "multi-task", "multi-task, no cascade",
                            "multi-task, words only"):
                for split in ("dev", "test"):
                    assert (corpus, setting, task, split) in seen
            assert (corpus, "single, file POS in", "chunk", "test") in seen
        assert res["speed"][f"{corpus}/multi-task"] > 0
    assert ("conll2003", "single, recognizer", "ner", "test") in seen
    # the product's NER task is the recognizer, reading the same columns: the same tags
    score = {(r["setting"], r["task"], r["split"]): r["score"] for r in res["records"]
             if r["corpus"] == "conll2003"}
    assert score["multi-task, no cascade", "ner", "test"] == score[
        "single, recognizer", "ner", "test"]
    for r in res["records"]:
        assert 0.0 <= r["score"] <= 1.0
    pos = [r["score"] for r in res["records"] if r["task"] == "pos"]
    assert min(pos) > 0.5  # the POS labelers learned something even at the tiny size
    assert "multitask_product.md" in res["files"]["markdown"]


def test_the_tasks_share_one_featurizer_and_look_each_word_up_once(tmp_path, monkeypatch):
    """The POS and chunk CRFs are trained on the same words with the same templates: after
    fit and after loading they hold one featurizer object, and tagging a text looks its
    words up (and featurizes its unseen words) once for both; the tags are those of each
    labeler run on its own.  A featurizer that differs (other templates) stays apart."""
    from hmmtl.crf import LinearChainCRF
    from hmmtl.crf.features import TypeFeaturizer, share_featurizers
    from hmmtl.serialize import load

    model = _model().fit(SENTENCES, {"pos": POS, "chunk": CHUNKS})
    back = load(model.save(tmp_path / "m.hmmtl"))
    for m in (model, back):
        assert (m.labelers_["pos"].feature_space_.featurizer_
                is m.labelers_["chunk"].feature_space_.featurizer_)
    calls = []
    original = TypeFeaturizer._rows

    def counting(self, words, grow):
        calls.append(list(words))
        return original(self, words, grow)

    monkeypatch.setattr(TypeFeaturizer, "_rows", counting)
    new = [["Zorblat", "zings", "the", "quux", "."], *TEST_SENTENCES]
    pred = back.predict(new)
    assert len(calls) == 1 and "Zorblat" in calls[0]  # the unseen words, featurized once
    calls.clear()
    pos_alone = back.labelers_["pos"].predict(new)
    assert pos_alone == pred["pos"]
    assert back.labelers_["chunk"].predict(new, extra={"task:pos": pos_alone}) == pred["chunk"]
    assert len(calls) == 2  # alone, each labeler featurizes the unseen words itself
    other = LinearChainCRF(templates=("lower", "suffix"), max_iterations=5).fit(SENTENCES, POS)
    kept = other.feature_space_.featurizer_
    share_featurizers([back.labelers_["pos"].feature_space_, other.feature_space_])
    assert other.feature_space_.featurizer_ is kept


def test_the_recognizer_stages_share_one_featurizer(tmp_path):
    from hmmtl.ner import NamedEntityRecognizer
    from hmmtl.serialize import load

    ner = NamedEntityRecognizer(columns=(), n_folds=2, auto_lists=False,
                                labeler_params={"max_iterations": 20}, random_state=0)
    ner.fit(SENTENCES, ENTITIES)
    back = load(ner.save(tmp_path / "ner.hmmtl"))
    for m in (ner, back):
        assert m.stage2_ is not None
        assert m.stage1_.feature_space_.featurizer_ is m.stage2_.feature_space_.featurizer_
    assert back.predict(TEST_SENTENCES) == ner.predict(TEST_SENTENCES)


def test_the_recognizer_stages_parse_a_tag_column_once(monkeypatch):
    """Both stages read the POS column: it is parsed once for the two (the same ids), and
    the tags are those of the stages run on their own."""
    from hmmtl.crf.features import FeatureSpace
    from hmmtl.ner import NamedEntityRecognizer

    ner = NamedEntityRecognizer(columns=("pos",), n_folds=2, auto_lists=False,
                                labeler_params={"max_iterations": 20}, random_state=0)
    ner.fit(SENTENCES, ENTITIES, columns={"pos": POS})
    expected = ner.predict(TEST_SENTENCES[1:], columns={"pos": TEST_POS[1:]})
    parsed = []
    original = FeatureSpace._parse_extra

    def counting(name, value, *a, **kw):
        parsed.append(name)
        return original(name, value, *a, **kw)

    monkeypatch.setattr(FeatureSpace, "_parse_extra", staticmethod(counting))
    assert ner.predict(TEST_SENTENCES[1:], columns={"pos": TEST_POS[1:]}) == expected
    assert parsed.count("col.pos") == 1


def test_the_recognizer_keeps_its_hmm_tables_for_the_hmm_it_has():
    """The recognizer keeps each fitted HMM's top states per word type between batches; a
    model given another HMM and fitted again reads the new one's (as a model made anew)."""
    from hmmtl.hmm import CategoricalHMM
    from hmmtl.ner import NamedEntityRecognizer

    def hmm(seed):
        return CategoricalHMM(n_states=4, n_iter=3, random_state=seed).fit(SENTENCES)

    params = dict(columns=(), n_folds=2, two_stage=False, auto_lists=False,
                  labeler_params={"max_iterations": 15}, random_state=0)
    first, second = hmm(1), hmm(2)
    ner = NamedEntityRecognizer(hmm=first, **params).fit(SENTENCES, ENTITIES)
    batch = ner._prepare(TEST_SENTENCES, None, None, fitting=False)
    ner.set_params(hmm=second).fit(SENTENCES, ENTITIES)
    again = ner._prepare(TEST_SENTENCES, None, None, fitting=False)
    fresh = NamedEntityRecognizer(hmm=second, **params).fit(SENTENCES, ENTITIES)
    expected = fresh._prepare(TEST_SENTENCES, None, None, fitting=False)
    for got, want in zip(again.extra["hmm0"], expected.extra["hmm0"]):
        assert np.array_equal(got, want)
    assert not all(np.array_equal(a, b) for a, b in zip(batch.extra["hmm0"],
                                                        again.extra["hmm0"]))
    table = second.type_distribution(TEST_SENTENCES[0])
    top = np.argsort(-table, axis=1)[:, :3]
    assert np.array_equal(again.extra["hmm0"][0][:len(TEST_SENTENCES[0])], top)


def test_score_tasks_gives_entity_f1_on_iob1_gold():
    """Gold entities in IOB1 (CoNLL-2003's files: I- opens an entity) against the model's
    IOB2 tags: the NER task is scored by entity F1, as ``entity_f1`` scores them, not by
    token accuracy (which would count every B-/I- spelling of the same entity wrong)."""
    from hmmtl.io.schemes import convert_scheme
    from hmmtl.metrics import entity_f1

    model = _model().fit(SENTENCES, {"pos": POS, "ner": ENTITIES})
    gold = convert_scheme(ENTITIES, "iob1")
    assert gold != ENTITIES
    pred = model.predict(SENTENCES)["ner"]
    scores = model.score_tasks(SENTENCES, {"ner": gold, "pos": POS})
    assert scores["ner"] == pytest.approx(entity_f1(gold, pred))
    assert scores["ner"] == pytest.approx(entity_f1(ENTITIES, pred))
    assert scores["pos"] == pytest.approx(np.mean([a == b for s, t in zip(
        POS, model.predict(SENTENCES)["pos"]) for a, b in zip(s, t)]))


def test_cli_evaluate_names_the_task_columns_of_a_model_saved_from_python(tmp_path, capsys):
    """A multi-task model saved from Python knows no columns of a CoNLL file: ``evaluate``
    says so and how to name them, scores every task with ``--tasks``, and refuses a task the
    model does not have, or --tasks for a single-task model."""
    from hmmtl.crf import LinearChainCRF

    model = _model().fit(SENTENCES, {"pos": POS, "chunk": CHUNKS, "ner": ENTITIES})
    path = model.save(tmp_path / "m.hmmtl")
    test = tmp_path / "test.conll"
    zoo.write_conll(test, SENTENCES[:6], POS[:6], CHUNKS[:6], ENTITIES[:6])
    capsys.readouterr()
    assert zoo.cli("evaluate", "--model", path, "--test", test, "--format", "conll") == 1
    assert "--tasks pos=COL,chunk=COL,ner=COL" in capsys.readouterr().err
    assert zoo.cli("evaluate", "--model", path, "--test", test, "--format", "conll",
                   "--tasks", "pos=1,chunk=2,ner=3", "--json") == 0
    result = json.loads(capsys.readouterr().out)["tasks"]
    scores = model.score_tasks(SENTENCES[:6], {"pos": POS[:6], "chunk": CHUNKS[:6],
                                               "ner": ENTITIES[:6]})
    assert result["pos"]["accuracy"] == pytest.approx(scores["pos"])
    assert result["ner"]["f1"] == pytest.approx(scores["ner"])
    assert zoo.cli("evaluate", "--model", path, "--test", test, "--format", "conll",
                   "--tasks", "pos=1,tags=2") == 1
    assert "['tags'] are not tasks" in capsys.readouterr().err
    single = LinearChainCRF(max_iterations=5).fit(SENTENCES, POS).save(tmp_path / "s.hmmtl")
    assert zoo.cli("evaluate", "--model", single, "--test", test, "--format", "conll",
                   "--tasks", "pos=1") == 1
    assert "labels one task" in capsys.readouterr().err
