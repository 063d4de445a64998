"""Domain adaptation in one command: ``Tagger(hmm="auto").fit(X, y, unlabeled=...)`` and
``hmmtl train --unlabeled``: HMMs learned on the training words plus the unlabeled text,
one model file holding everything, identical tags after reloading in a fresh process, bad
unlabeled input refused before anything is written, and notation through tag / evaluate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hmmtl import Tagger
from hmmtl.cli import main
from hmmtl.io import read_conllu, write_conllu
from hmmtl.serialize import read_manifest
from hmmtl.transfer.pipeline import (RECIPES, CaseProfile, compact_emissions,
                                     expand_emissions, neighbour_tags)

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"n_hmms": 2, "n_states": 6, "n_iter": 3}  # a fast ensemble for the tests
CRF = {"max_iterations": 10}


@pytest.fixture(scope="module")
def web(data_dir):
    """Tagged web sentences (EWT email), the words of other web sentences as unlabeled
    text, and test sentences with brackets and quotes."""
    ud = data_dir / "ud" / "en_ewt"
    train = read_conllu(ud / "en_ewt-email-train.conllu")[:120]
    text = read_conllu(ud / "en_ewt-weblog-train.conllu")[:150]
    test = read_conllu(ud / "en_ewt-reviews-dev.conllu")
    keep = [i for i, s in enumerate(test.sentences) if {"(", '"'} & set(s)][:30]
    return {"X": train.sentences, "y": train.column("xpos"), "text": text.sentences,
            "test": test[keep]}


@pytest.mark.data
def test_hmms_learn_on_the_training_words_plus_the_unlabeled_text(web):
    tagger = Tagger(hmm="auto", hmm_params=dict(SMALL, min_count=1), labeler_params=CRF,
                    random_state=0).fit(web["X"], web["y"], unlabeled=web["text"])
    vocab = tagger.hmm_vocabulary_
    only_train = {w.lower() for s in web["X"] for w in s} - {w.lower() for s in web["text"]
                                                              for w in s}
    only_text = {w.lower() for s in web["text"] for w in s} - {w.lower() for s in web["X"]
                                                               for w in s}
    assert only_train and only_text
    assert all(w in vocab for w in only_train) and all(w in vocab for w in only_text)
    assert len(tagger.hmms_) == 2 and {h.n_states_ for h in tagger.hmms_} == {6}
    # the HMMs are fit on the shared vocabulary's ids
    assert all(h.n_features_ == len(vocab) for h in tagger.hmms_)
    n_tokens = sum(map(len, web["X"])) + sum(map(len, web["text"]))
    assert int(vocab.counts_.sum()) == n_tokens
    with pytest.raises(ValueError, match="unlabeled= is for HMMs learned in fit"):
        Tagger().fit(web["X"], web["y"], unlabeled=web["text"])
    with pytest.raises(ValueError, match="hmm must be None, 'auto', 'thorough'"):
        Tagger(hmm="fast").fit(web["X"], web["y"])
    assert set(RECIPES) == {"auto", "thorough"}


@pytest.mark.data
@pytest.mark.parametrize("representations", ["viterbi+posterior+type", "type"])
def test_one_model_file_tags_identically_in_a_fresh_process(web, tmp_path, representations):
    tagger = Tagger(hmm="auto", hmm_params=SMALL, labeler_params=CRF,
                    representations=representations, random_state=1)
    tagger.fit(web["X"], web["y"], unlabeled=web["text"])
    test = web["test"].sentences
    expected = tagger.predict(test)
    path = tmp_path / "adapted.hmmtl"
    tagger.save(path)
    manifest = read_manifest(path)
    assert manifest["class"]["name"] == "Tagger"
    emissions = [k for k in manifest["arrays"] if k.endswith("/emission_prob")]
    tables = [k for k in manifest["arrays"] if k.startswith("type_tables/hmm")]
    assert len(tables) == 2 * 2  # ids and weights of each HMM's type table
    assert "type_tables/neighbours.tags.ids" in manifest["arrays"]
    assert manifest["arrays"]["case_profile/codes"]["dtype"] == "|u1"
    if representations == "type":  # tagging needs no HMM: only their type tables are kept
        assert emissions == []
    else:
        assert len(emissions) == 2
        assert all(manifest["arrays"][k]["dtype"] == "<f2" for k in emissions)
    code = ("import json, sys; from hmmtl import Tagger\n"
            "t = Tagger.load(sys.argv[1]); print(json.dumps(t.predict(json.load(sys.stdin))))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], input=json.dumps(test),
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == expected
    loaded = Tagger.load(path)
    assert loaded.n_hmms_ == 2 and len(loaded.hmms_) == (0 if representations == "type" else 2)
    for a, b in zip(loaded.hmms_, tagger.hmms_):
        np.testing.assert_array_equal(a.emission_prob_, b.emission_prob_)
    # each sentence the same alone as in the batch
    assert [loaded.predict([s])[0] for s in test] == expected


def test_neighbour_tags_match_brute_force_and_exclude_the_word_itself():
    rs = np.random.RandomState(3)
    vectors = rs.rand(40, 6)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    known = np.sort(rs.choice(40, size=15, replace=False))
    tag_dist = rs.dirichlet(np.ones(5), size=15)
    ids, weights = neighbour_tags(vectors, known, tag_dist, n_neighbours=4, top=2, block=7)
    for v in range(40):
        sim = vectors[v] @ vectors[known].T
        sim[known == v] = -np.inf  # never its own neighbour
        nearest = np.argsort(-sim)[:4]
        dist = np.maximum(sim[nearest], 0) @ tag_dist[nearest]
        dist /= dist.sum()
        assert ids[v].tolist() == np.argsort(-dist, kind="stable")[:2].tolist()
        np.testing.assert_allclose(weights[v], np.sort(dist)[::-1][:2], rtol=1e-6)


def test_case_profile_joins_a_tokens_case_with_its_words_usual_case():
    text = [["Hi", "Phone", "phone", "phone"], ["So", "Iraqi", "Iraqi", "phone", "."],
            ["Phone", "me"]]  # a sentence-initial capital says nothing
    profile = CaseProfile.fit(text)
    # "phone" after the first token: 1 capitalized of 3 -> share (1 + .5) / 4 in the middle
    # bin (2), met 2-7 times (1); "iraqi": 2 of 2 -> (2 + .5) / 3 in bin 3; "me" once,
    # lowercase -> .5 / 2 in bin 1, met once (0)
    codes = profile.transform(["Phone", "phone", "IRAQI", "me", "zzz", ".", "Me"])
    assert codes.tolist() == [16 + 7, 7, 32 + 10, 3, 15, 48 + 15, 16 + 3]
    again = CaseProfile(profile.hashes.astype(np.uint32), profile.codes)
    assert again.transform(["Phone", "me"]).tolist() == [23, 3]


def test_compact_emissions_round_trip_exactly_once_rounded():
    rs = np.random.RandomState(0)
    p = rs.dirichlet(np.full(300, 0.1), size=7)
    once = expand_emissions(compact_emissions(p))
    np.testing.assert_allclose(once.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.abs(once / p - 1)[p > 1e-6].max() < 0.01
    assert np.array_equal(expand_emissions(compact_emissions(once)), once)
    assert compact_emissions(p).dtype == np.float16


# ----------------------------------------------------------------------------- command line
def _write_conllu(corpus, path):
    write_conllu(corpus, path)
    return path


@pytest.mark.data
def test_train_unlabeled_writes_one_model_that_tags(web, tmp_path, capsys, monkeypatch):
    import hmmtl.transfer.pipeline as pipeline

    monkeypatch.setitem(pipeline.RECIPES, "auto", dict(RECIPES["auto"], **SMALL))
    train = _write_conllu(read_conllu(web["test"].source)[:60], tmp_path / "train.conllu")
    text = tmp_path / "web.txt"
    text.write_text("\n".join(" ".join(s) for s in web["text"]) + "\n", encoding="utf-8")
    out = tmp_path / "pos.hmmtl"
    assert main(["train", "--train", str(train), "--unlabeled", str(text), "--max-iter", "5",
                 "--out", str(out), "-q"]) == 0
    model = Tagger.load(out)
    assert model.n_hmms_ == SMALL["n_hmms"] and model.hmm == "auto"
    assert model.hmm_vocabulary_ is not None and model.representations_ == ("type",)
    capsys.readouterr()
    assert main(["tag", "--model", str(out), str(text), "-q"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == sum(map(len, web["text"]))


BAD_UNLABELED = {
    "empty": (b"", "empty file"),
    "blank lines only": (b"\n\n  \n", "empty file"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00\xd0a\n", "binary file"),
    "conllu as text": (None, "looks like CoNLL-U"),
}


@pytest.mark.data
@pytest.mark.parametrize("case", list(BAD_UNLABELED))
def test_train_refuses_bad_unlabeled_text_and_writes_nothing(case, web, tmp_path, capsys,
                                                             data_dir):
    content, message = BAD_UNLABELED[case]
    bad = tmp_path / "unlabeled.txt"
    if content is None:
        content = (data_dir / "ud" / "en_ewt" / "en_ewt-weblog-dev.conllu").read_bytes()
    bad.write_bytes(content)
    train = _write_conllu(read_conllu(web["test"].source)[:20], tmp_path / "train.conllu")
    out = tmp_path / "model.hmmtl"
    assert main(["train", "--train", str(train), "--unlabeled", str(bad), "--out", str(out),
                 "-q"]) == 1
    err = capsys.readouterr().err
    assert message in err and str(bad) in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == \
        ["train.conllu", "unlabeled.txt"]


@pytest.fixture(scope="module")
def wsj_model(data_dir, tmp_path_factory):
    """A small plain CRF trained on WSJ (words -LRB- and ``/'', bracket tags ( )) by the
    command line, and an EWT file (words ( and ", tags -LRB-) to tag."""
    from hmmtl.io import load_nltk

    folder = tmp_path_factory.mktemp("wsj")
    c = load_nltk("conll2000", data_dir=data_dir, split="train")
    keep = [i for i, s in enumerate(c.sentences) if {"-LRB-", "``"} & set(s)][:300]
    words = [c.sentences[i] for i in keep]
    tags = [c.column("pos")[i] for i in keep]
    train = folder / "wsj.conll"
    train.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(s, ts))
                                 for s, ts in zip(words, tags)) + "\n", encoding="utf-8")
    model = folder / "wsj.hmmtl"
    assert main(["train", "--train", str(train), "--max-iter", "20", "--out", str(model),
                 "-q"]) == 0
    ewt = read_conllu(data_dir / "ud" / "en_ewt" / "en_ewt-reviews-dev.conllu")
    keep = [i for i, s in enumerate(ewt.sentences) if {"(", '"'} & set(s)]
    test = folder / "web.conllu"
    write_conllu(ewt[keep], test)
    return model, test


@pytest.mark.data
def test_tag_writes_the_input_files_notation(wsj_model, tmp_path, capsys):
    model, test = wsj_model
    assert Tagger.load(model).notation_.tag_brackets == "plain"
    results = {}
    for notation in ("auto", "keep"):
        out = tmp_path / f"{notation}.conllu"
        assert main(["tag", "--model", str(model), str(test), "-o", str(out),
                     "--tag-column", "xpos", "--notation", notation, "-q"]) == 0
        tagged = read_conllu(out)
        results[notation] = {(w, t) for s, ts in zip(tagged.sentences, tagged.column("xpos"))
                             for w, t in zip(s, ts) if w in ("(", ")")}
    # the web file tags brackets -LRB- / -RRB-: so do the predictions written into it
    assert results["auto"] == {("(", "-LRB-"), (")", "-RRB-")}
    assert results["keep"] != results["auto"]
    # the same from stdin (decided on the whole stream, not per batch)
    capsys.readouterr()
    with open(test, "rb") as fh:
        proc = subprocess.run([sys.executable, "-m", "hmmtl", "tag", "--model", str(model),
                               "--format", "conllu", "--tag-column", "xpos", "--batch-size",
                               "3", "-q"], stdin=fh,
                              capture_output=True, cwd=ROOT, check=True)
    assert proc.stdout == (tmp_path / "auto.conllu").read_bytes()


@pytest.mark.data
def test_evaluate_reads_gold_tags_in_the_models_notation_and_says_so(wsj_model, capsys):
    model, test = wsj_model
    scores = {}
    for notation in ("auto", "keep"):
        assert main(["evaluate", "--model", str(model), "--test", str(test), "--json",
                     "--tag-column", "xpos", "--notation", notation]) == 0
        scores[notation] = json.loads(capsys.readouterr().out)
    auto, keep = scores["auto"], scores["keep"]
    assert auto["notation"]["gold_tags_mapped"] > 0 and auto["notation"]["words_mapped"] > 0
    assert keep["notation"] is None
    assert auto["accuracy"] > keep["accuracy"] + 0.01
    assert main(["evaluate", "--model", str(model), "--test", str(test), "--tag-column",
                 "xpos"]) == 0
    assert "mapped to the model's notation" in capsys.readouterr().out
