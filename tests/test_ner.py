"""Named-entity recognition: capitalization context and truecasing, document-level features
on hand-made documents, the two-stage recognizer (document evidence it can only get from
the other sentences of a document), its input columns, and the per-type scores that
``hmmtl evaluate`` prints, checked against seqeval."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from hmmtl.cli import main
from ner_helpers import documents
from hmmtl.data import flatten
from hmmtl.ner.gazetteers import Gazetteer
from hmmtl.metrics import entity_scores
from hmmtl.ner import (CaseTable, NamedEntityRecognizer, aggregate_in_documents,
                       capitalization_context, document_case_features,
                       document_context_features, document_type_features)


# ----------------------------------------------------------------------------- features
def test_capitalization_context_hand_worked():
    X = [['"', "Police", "said", "so", "."],          # first word after a quote
         ["JAPAN", "GET", "LUCKY", "WIN", "."],       # all caps
         ["Clinton", "Says", "He", "Will", "Act"],    # title case (a headline)
         ["He", "met", "Smith", "in", "Rome"]]        # ordinary
    ctx = capitalization_context(X)
    first, sentence = ctx[:, 0].tolist(), ctx[:, 1].tolist()
    assert first == [-1, 0, -1, -1, -1, 0, -1, -1, -1, -1, 0, -1, -1, -1, -1,
                     0, -1, -1, -1, -1]
    assert sentence == [-1] * 5 + [1] * 5 + [2] * 5 + [-1] * 5


def test_case_table_truecases_headlines_only():
    text = [["He", "said", "Japan", "would", "win", "."],
            ["They", "said", "the", "win", "was", "lucky", "in", "Japan", "."]] * 2
    table = CaseTable().fit(text)
    assert table.forms_["japan"] == "Japan" and table.forms_["win"] == "win"
    got = table.apply([["JAPAN", "WIN", "LUCKY", "IN", "TOKYO"], ["Win", "in", "JAPAN"]])
    # the all-caps sentence is rewritten (unknown words stay); the ordinary one is not
    assert got == [["Japan", "win", "lucky", "in", "TOKYO"], ["Win", "in", "JAPAN"]]


def test_document_features_on_a_two_sentence_document():
    # document A: two sentences; document B: one sentence with the same words
    X = [["Bush", "met", "Blair", "."], ["Blair", "saw", "a", "bush", "."],
         ["Blair", "left"]]
    docs = ["A", "A", "B"]
    tokens, offsets = flatten(X)
    case = document_case_features(tokens, offsets, docs)
    # "Bush" (first word): its other occurrence in A is "bush", lower case
    assert case[0].tolist() == [0.0, 1.0]
    # "Blair" opening sentence 2: the other "Blair" of A is capitalized mid-sentence
    assert case[4].tolist() == [1.0, 0.0]
    # the first-word "Blair" of sentence 2 is no evidence for the "Blair" of sentence 1
    assert case[2].tolist() == [0.0, 0.0]
    # document B has no other occurrence; as one document, it sees both of A's
    assert case[9].tolist() == [0.0, 0.0]
    assert document_case_features(tokens, offsets)[9].tolist() == [1.0, 0.0]

    labels = ["S-PER", "O", "S-PER", "O", "O", "O", "O", "B-LOC", "O", "S-ORG", "O"]
    typ = document_type_features(tokens, offsets, labels, ["LOC", "ORG", "PER"], docs)
    assert typ[4].tolist() == [0.0, 0.0, 1.0]   # second "Blair" <- first one, PER
    assert typ[2].tolist() == [0.0, 0.0, 0.0]   # its other occurrence is outside entities
    assert typ[0].tolist() == [1.0, 0.0, 0.0]   # "Bush" <- "bush" (case-insensitive), LOC
    assert typ[9].tolist() == [0.0, 0.0, 0.0]   # document B
    one_doc = document_type_features(tokens, offsets, labels, ["LOC", "ORG", "PER"])
    assert one_doc[2].tolist() == [0.0, 1.0, 0.0]  # ORG (doc B); sentence 2's is O
    assert one_doc[4].tolist() == [0.0, 0.5, 0.5]  # ORG (doc B) and PER (sentence 1)


def test_context_aggregation_against_loops():
    rng = np.random.default_rng(1)
    vocab = ["Ann", "ann", "Bob", "said", "the", "of", "Mr."]
    X = [list(rng.choice(vocab, size=rng.integers(1, 7))) for _ in range(40)]
    docs = rng.integers(0, 3, len(X)).tolist()
    tokens, offsets = flatten(X)
    context = ["said", "the", "mr."]
    ids, w = document_context_features(tokens, offsets, context, docs, window=(-1, 1),
                                       top_k=20)
    sent = np.repeat(np.arange(len(X)), [len(s) for s in X])
    doc = np.repeat(docs, [len(s) for s in X])
    for i, tok in enumerate(tokens):
        got = {(int(a), round(float(b), 12)) for a, b in zip(ids[i], w[i]) if a >= 0}
        if not tok[0].isupper():
            assert got == set()
            continue
        others = [j for j in range(len(tokens)) if j != i and doc[j] == doc[i]
                  and tokens[j].lower() == tok.lower() and tokens[j][0].isupper()]
        want = {}
        for j in others:
            for oi, o in enumerate((-1, 1)):
                k = j + o
                if 0 <= k < len(tokens) and sent[k] == sent[j] and tokens[k].lower() in context:
                    code = oi * len(context) + context.index(tokens[k].lower())
                    want[code] = want.get(code, 0) + 1
        assert got == {(c, round(n / len(others), 12)) for c, n in want.items()}


def test_aggregate_in_documents_against_loops():
    rng = np.random.default_rng(0)
    keys, docs = rng.integers(0, 5, 200), rng.integers(0, 4, 200)
    values = rng.integers(-1, 3, 200)
    got = aggregate_in_documents(keys, docs, values, 3)
    for i in range(200):
        want = np.zeros(3)
        for j in range(200):
            if j != i and keys[j] == keys[i] and docs[j] == docs[i] and values[j] >= 0:
                want[values[j]] += 1
        np.testing.assert_array_equal(got[i], want)


# ----------------------------------------------------------------------------- the recognizer
def _bare_mention_accuracy(model, X, y, pos, docs):
    pred = model.predict(X, columns={"pos": pos}, documents=docs)
    bare = [(p[0], g[0]) for p, g, s in zip(pred, y, X) if s[1] == "said"]
    return np.mean([a == b for a, b in bare])


def test_document_evidence_reaches_the_bare_mentions():
    """Two ways the recognizer reads the document: the second stage (first-stage types of
    the other mentions) and context aggregation (the words around the other mentions, in
    the first stage).  Either tells the type of the bare mentions; neither is there
    without documents."""
    X, y, pos, docs = documents(150, seed=0)
    Xt, yt, post, docst = documents(60, seed=1)
    params = dict(columns=("pos",), n_folds=3, labeler_params={"max_iterations": 60},
                  train_lists=False, auto_lists=False)

    def fit(**kw):
        return NamedEntityRecognizer(**params, **kw).fit(X, y, columns={"pos": pos},
                                                         documents=docs)

    two = fit(context_words=0)
    assert two.uses_documents_ and two.input_columns_ == {"pos": None}
    names = {s["name"] for s in two.stage2_.feature_space_.extra_specs_}
    assert {"doc.type", "s1", "col.pos", "doc.case"} <= names
    assert _bare_mention_accuracy(two, Xt, yt, post, docst) >= 0.95
    one = fit(context_words=0, two_stage=False)
    assert _bare_mention_accuracy(one, Xt, yt, post, docst) <= 0.75
    context = fit(context_words=50, two_stage=False)
    assert "doc.context" in {s["name"] for s in context.stage1_.feature_space_.extra_specs_}
    assert _bare_mention_accuracy(context, Xt, yt, post, docst) >= 0.95
    # with each sentence a document of its own, the evidence is gone
    alone = [str(i) for i in range(len(Xt))]
    assert _bare_mention_accuracy(two, Xt, yt, post, alone) <= 0.8
    assert _bare_mention_accuracy(context, Xt, yt, post, alone) <= 0.8


def test_input_columns_output_scheme_and_errors():
    X, y, pos, docs = documents(30, seed=2)
    model = NamedEntityRecognizer(columns={"pos": 1, "chunk": 2}, output_scheme="bilou",
                                  n_folds=2, gazetteer=Gazetteer({"org": ["Corp"]}),
                                  labeler_params={"max_iterations": 20})
    model.fit(X, y, columns={"pos": pos}, documents=docs)
    assert model.input_columns_ == {"pos": 1}        # chunk was not given: not used
    pred = model.predict(X[:6], columns={"pos": pos[:6]}, documents=docs[:6])
    assert {t[0] for s in pred for t in s} <= set("BILOU")
    assert any(t.startswith("U-") for s in pred for t in s)
    with pytest.raises(ValueError, match="uses the input column 'pos'"):
        model.predict(X[:2])
    with pytest.raises(ValueError, match="one tag per token"):
        model.predict(X[:2], columns={"pos": [p[:-1] for p in pos[:2]]})
    with pytest.raises(ValueError, match="encoding must be one of"):
        NamedEntityRecognizer(encoding="iob1").fit(X, y)
    with pytest.raises(ValueError, match="one tag per token of X"):
        NamedEntityRecognizer().fit(X, y[:-1])
    assert model.score(X, y, columns={"pos": pos}, documents=docs) > 0.5


def test_evaluate_prints_per_type_scores_like_seqeval(capsys, tmp_path):
    """``hmmtl evaluate`` on a saved recognizer: it reads the POS column and the documents
    of the file, and its per-type precision / recall / F1 are seqeval's."""
    seqeval = pytest.importorskip("seqeval.metrics")
    from hmmtl.io import read_conll

    X, y, pos, docs = documents(40, seed=3)
    model = NamedEntityRecognizer(columns={"pos": 1}, n_folds=2,
                                  labeler_params={"max_iterations": 8})
    model.fit(X, y, columns={"pos": pos}, documents=docs)
    path = model.save(tmp_path / "ner.hmmtl")
    lines = []
    for d in range(0, len(X), 3):
        lines.append("-DOCSTART- -X- O\n\n")
        for s in range(d, d + 3):
            lines += [f"{w} {p} {t}\n" for w, p, t in zip(X[s], pos[s], y[s])] + ["\n"]
    (tmp_path / "gold.conll").write_text("".join(lines), encoding="utf-8")
    code = main(["evaluate", "--model", str(path), "--test", str(tmp_path / "gold.conll"),
                 "--format", "conll", "--tag-column", "2", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)
    corpus = read_conll(tmp_path / "gold.conll")
    gold = corpus.column(2)
    pred = model.predict(corpus.sentences, columns={"pos": corpus.column(1)},
                         documents=corpus.doc_ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = seqeval.classification_report(gold, pred, output_dict=True, zero_division=0)
    assert set(result["per_type"]) == {"ORG", "PER"}
    for t, s in result["per_type"].items():
        assert s["precision"] == pytest.approx(report[t]["precision"], abs=1e-12)
        assert s["recall"] == pytest.approx(report[t]["recall"], abs=1e-12)
        assert s["f1"] == pytest.approx(report[t]["f1-score"], abs=1e-12)
        assert s["support"] == report[t]["support"]
    assert result["f1"] == pytest.approx(entity_scores(gold, pred).f1)
    # the text report lists the types
    assert main(["evaluate", "--model", str(path), "--test", str(tmp_path / "gold.conll"),
                 "--format", "conll", "--tag-column", "2"]) == 0
    text = capsys.readouterr().out
    assert "entity type" in text and "PER" in text and "ORG" in text
    # plain text has no POS column to feed the model
    (tmp_path / "raw.txt").write_text("Mr. Smith said so .\n", encoding="utf-8")
    assert main(["tag", "--model", str(path), str(tmp_path / "raw.txt")]) == 1
    assert "reads the column 'pos'" in capsys.readouterr().err


def test_the_case_class_of_word_types_follows_its_rules():
    """``_type_case`` (string methods mapped over the types) against its rules written
    word by word, on cased, uncased and Unicode words."""
    from hmmtl.ner.recognizer import _type_case

    def by_rules(w):
        if w.isupper():
            return 1
        if w.lower() == w.upper():
            return 0
        return 2 if w[0].isupper() else 3

    words = ["NATO", "Paris", "iPod", "x", "12", "", "-", "U.S.", "McDonald", "\u01c5ungla",
             "\u0130stanbul", "stra\u00dfe", "\u00c9COLE", "\u00e9t\u00e9", "3D", "d'Alembert",
             "\u03a3\u03bf\u03c6\u03af\u03b1", "\u65e5\u672c", "A1", "a1"]
    assert _type_case(words).tolist() == [by_rules(w) for w in words]
    assert _type_case([]).shape == (0,)
