"""hmmtl.metrics: hand-worked cases, conlleval's chunk rules, and agreement with seqeval
(whose default mode follows conlleval) on random sequences and on CoNLL-2003."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmmtl.data import Vocabulary, flatten
from hmmtl.io import CONLL2003_COLUMNS, iob1_to_bioes, iob1_to_iob2, read_conll
from hmmtl.metrics import (accuracy, entity_f1, entity_scores, format_entity_report,
                           oov_accuracy, oov_mask, per_label_report)

seqeval_metrics = pytest.importorskip("seqeval.metrics")


def seqeval_scores(y_true, y_pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = seqeval_metrics.classification_report(y_true, y_pred, output_dict=True,
                                                       zero_division=0)
        return (seqeval_metrics.precision_score(y_true, y_pred, zero_division=0),
                seqeval_metrics.recall_score(y_true, y_pred, zero_division=0),
                seqeval_metrics.f1_score(y_true, y_pred, zero_division=0), report)


def assert_matches_seqeval(y_true, y_pred, scheme="auto"):
    ours = entity_scores(y_true, y_pred, scheme=scheme)
    p, r, f, report = seqeval_scores(y_true, y_pred)
    assert ours.precision == pytest.approx(p, abs=1e-12)
    assert ours.recall == pytest.approx(r, abs=1e-12)
    assert ours.f1 == pytest.approx(f, abs=1e-12)
    types = {k for k in report if not k.endswith(" avg")}
    gold_types = {t for t, s in ours.per_type.items() if s["support"] > 0}
    assert gold_types <= types
    for t in gold_types:
        assert ours.per_type[t]["precision"] == pytest.approx(report[t]["precision"], abs=1e-12)
        assert ours.per_type[t]["recall"] == pytest.approx(report[t]["recall"], abs=1e-12)
        assert ours.per_type[t]["f1"] == pytest.approx(report[t]["f1-score"], abs=1e-12)
        assert ours.per_type[t]["support"] == report[t]["support"]
    return ours


# ----------------------------------------------------------------------------- token level
def test_accuracy_hand_worked_and_flat_input():
    gold = [["DT", "NN", "VBZ"], ["UH"]]
    pred = [["DT", "VB", "VBZ"], ["NN"]]
    assert accuracy(gold, pred) == 0.5
    flat, offsets = flatten(pred)
    assert accuracy(flatten(gold)[0], np.array(flat, dtype=object), offsets=offsets) == 0.5
    with pytest.raises(ValueError, match="sentence 1 has 1 gold labels but 2 predicted"):
        accuracy(gold, [["DT", "VB", "VBZ"], ["NN", "NN"]])
    with pytest.raises(ValueError, match="got 2 gold sentences but 1 predicted"):
        accuracy(gold, [["DT", "VB", "VBZ"]])


def test_oov_accuracy_with_training_words_vocabulary_or_mask():
    words = [["the", "blorf", "ran"], ["zyx"]]
    gold = [["DT", "NN", "VBD"], ["NN"]]
    pred = [["DT", "NN", "VBD"], ["VB"]]
    train = ["the", "ran", "dog"]
    assert oov_mask(words, train).tolist() == [False, True, False, True]
    assert oov_accuracy(gold, pred, words=words, train_words=train) == 0.5
    vocab = Vocabulary().fit([train])
    assert oov_accuracy(gold, pred, words=words, train_words=vocab) == 0.5
    assert oov_accuracy(gold, pred, mask=[[False, False, False], [True]]) == 0.0
    assert np.isnan(oov_accuracy(gold, pred, mask=np.zeros(4, bool)))
    with pytest.raises(ValueError, match="needs mask"):
        oov_accuracy(gold, pred)


def test_per_label_report_hand_worked():
    gold = [["A", "A", "B", "C"]]
    pred = [["A", "B", "B", "A"]]
    rep = per_label_report(gold, pred)
    assert rep["A"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert rep["B"]["precision"] == 0.5 and rep["B"]["recall"] == 1.0
    assert rep["C"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


# ----------------------------------------------------------------------------- entities
def test_conlleval_chunk_rules_hand_worked():
    # I- after O starts a chunk; a type change splits; B- after I- of the same type splits
    gold = [["I-PER", "I-PER", "O", "I-LOC", "I-ORG", "B-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]]
    s = entity_scores(gold, pred)
    # gold: PER[0,2) LOC[3,4) ORG[4,5) ORG[5,7); pred: PER[0,2) LOC[3,5) ORG[5,7)
    assert (s.n_true, s.n_pred, s.n_correct) == (4, 3, 2)
    assert s.precision == pytest.approx(2 / 3) and s.recall == 0.5
    assert s.per_type["ORG"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                 "support": 2}
    assert s.per_type["LOC"]["f1"] == 0.0
    # chunks end at sentence boundaries
    assert entity_scores([["B-X"], ["I-X"]], [["B-X"], ["B-X"]]).f1 == 1.0
    # BIOES: S- closes, E- closes
    s = entity_scores([["S-X", "S-X", "B-Y", "E-Y"]], [["B-X", "E-X", "B-Y", "E-Y"]],
                      scheme="bioes")
    assert (s.n_true, s.n_pred, s.n_correct) == (3, 2, 1)
    assert entity_f1([["O", "O"]], [["O", "O"]]) == 0.0
    with pytest.raises(ValueError, match="'E-X' is not a IOB2 label"):
        entity_scores([["E-X"]], [["O"]], scheme="iob2")
    with pytest.raises(ValueError, match="'NN' is not a chunk label"):
        entity_scores([["NN"]], [["O"]])


def test_report_text_lists_types():
    s = entity_scores([["B-PER", "O"]], [["B-PER", "B-LOC"]])
    text = format_entity_report(s, token_accuracy=0.5)
    assert "found 2 phrases; correct: 1; gold: 1." in text
    assert "precision:  50.00%; recall: 100.00%; FB1:  66.67" in text
    assert "LOC: precision:   0.00%" in text


iob_label = st.sampled_from(["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-MISC"])
bioes_label = st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC",
                               "E-LOC", "S-LOC"])


def paired(label):
    return st.lists(st.integers(0, 7), min_size=1, max_size=5).flatmap(
        lambda lengths: st.tuples(
            st.tuples(*[st.lists(label, min_size=n, max_size=n) for n in lengths]),
            st.tuples(*[st.lists(label, min_size=n, max_size=n) for n in lengths])))


@settings(max_examples=200, deadline=None)
@given(paired(iob_label))
def test_matches_seqeval_on_random_iob(pair):
    gold, pred = map(list, pair)
    assert_matches_seqeval(gold, pred, scheme="iob1")


@settings(max_examples=200, deadline=None)
@given(paired(bioes_label))
def test_matches_seqeval_on_random_bioes(pair):
    gold, pred = map(list, pair)
    assert_matches_seqeval(gold, pred, scheme="bioes")


@pytest.mark.data
def test_matches_seqeval_on_conll2003_with_perturbed_predictions(require_file):
    corpus = read_conll(require_file("conll2003/eng.testb"), CONLL2003_COLUMNS)
    gold = corpus.column("ner")
    labels = sorted(set(corpus.flat("ner")))
    rng = random.Random(0)
    pred = [[rng.choice(labels) if rng.random() < 0.08 else x for x in s] for s in gold]
    ours = assert_matches_seqeval(gold, pred)
    assert (ours.n_true, ours.per_type["PER"]["support"]) == (5648, 1617)  # CoNLL-2003 test
    assert 0.5 < ours.f1 < 0.9
    assert entity_scores(gold, gold).f1 == 1.0
    # IOB1 gold scored as read, or converted to IOB2 / BIOES: same entities, same scores
    as_iob2 = entity_scores(iob1_to_iob2(gold), iob1_to_iob2(pred), scheme="iob2")
    as_bioes = entity_scores(iob1_to_bioes(gold), iob1_to_bioes(pred), scheme="bioes")
    assert as_iob2 == ours and as_bioes == ours
    # flat arrays with offsets give the same answer
    flat_gold, offsets = flatten(gold)
    flat_pred, _ = flatten(pred)
    assert entity_scores(np.array(flat_gold, dtype=object), flat_pred, offsets=offsets) == ours


# ----------------------------------------------------------------------------- issue 27
@pytest.mark.parametrize("y_pred", [[["O", "O", "O"]], [["B-PER", "I-PER", "O"]],
                                    [["O", "S-LOC", "O"]]])
def test_no_gold_entity_matches_seqeval(y_pred):
    """Gold without any entity: precision, recall and F1 are numbers (0), as seqeval's
    (and conlleval's) are, not missing."""
    y_true = [["O", "O", "O"]]
    s = entity_scores(y_true, y_pred)
    p, r, f, _ = seqeval_scores(y_true, y_pred)
    assert (s.precision, s.recall, s.f1) == pytest.approx((p, r, f))
    assert s.n_true == 0 and s.n_pred == (0 if y_pred == [["O", "O", "O"]] else 1)


@pytest.mark.parametrize("func", [accuracy, entity_scores, per_label_report,
                                  lambda t, p: oov_accuracy(t, p, mask=[[True, True]])])
@pytest.mark.parametrize("y_true,y_pred,bad", [
    ([[1, 2]], [[1, 2]], "int 1"),
    ([["B-PER", 2]], [["B-PER", "O"]], "int 2"),
    ([["NN", "VB"]], [["NN", np.int64(3)]], "int64 3"),
    ([1, 2], [1, 2], "int 1"),
])
def test_integer_or_mixed_labels_are_a_type_error(func, y_true, y_pred, bad):
    with pytest.raises(TypeError, match=f"labels must be strings .*got {bad}"):
        func(y_true, y_pred)


def test_comparable_schemes_iob2_predictions_on_iob1_gold():
    from hmmtl.io.schemes import detect_scheme
    from hmmtl.metrics import comparable_schemes

    gold = [["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]]           # IOB1
    pred = [["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]]           # IOB2, the same chunks
    assert (detect_scheme(gold), detect_scheme(pred)) == ("iob1", "iob2")
    assert accuracy(gold, pred) == pytest.approx(0.6)            # spellings, not chunks
    g, p, info = comparable_schemes(gold, pred)
    assert accuracy(g, p) == 1.0 and info["compared_as"] == "iob2"
    assert entity_scores(gold, pred).f1 == entity_scores(g, p).f1 == 1.0
    same = [["B-PER", "O"]]
    assert comparable_schemes(same, same) == (same, same, {})
    tags = [["NN", "VB"]]
    assert comparable_schemes(tags, tags)[2] == {}
