"""The Spanish and Dutch unlabeled text of the NER recipes: NLTK's treebanks read as the
CoNLL-2002 files write words, and no sentence that overlaps a dev or test set."""

from __future__ import annotations

import pytest

from hmmtl.io import load_nltk_text
from hmmtl.studies.ner import (EXTRA_TEXTS, OVERLAP_NGRAM, load_ner_data, unlabeled_text,
                               without_overlap)


def test_without_overlap_drops_sentences_sharing_a_run_of_n_tokens():
    held_out = [["a", "b", "c", "d", "e"]]
    text = [["x", "b", "c", "d", "y"],        # shares b c d
            ["x", "b", "c", "y", "d", "e"],   # shares only runs of two
            ["a", "b"],                       # shorter than n
            ["q", "a", "b", "c", "d", "e", "r"]]
    assert without_overlap(text, held_out, n=3) == [text[1], text[2]]
    assert without_overlap(text, held_out, n=2) == []
    assert without_overlap(text, [], n=3) == text


def test_treebank_words_are_written_as_conll2002_writes_them(data_dir, require_file):
    require_file("nltk_data/corpora/cess_esp.zip")
    require_file("nltk_data/corpora/alpino.zip")
    data = data_dir
    cess = load_nltk_text("cess_esp", data_dir=data).sentences
    words = {w for s in cess for w in s}
    # no elided subject, no joined name, no treebank symbol is left; the brackets are there
    assert not any(w.startswith("*") or "_" in w for w in words)
    assert not {"-Fpa-", "-Fpt-", "-fe-"} & words
    assert {"(", ")", '"'} <= words
    assert sum(map(len, cess)) > 150_000
    alpino = load_nltk_text("alpino", data_dir=data).sentences
    words = {w for s in alpino for w in s}
    assert '"' in words and not any("&quot;" in w or "&apos;" in w for w in words)
    assert sum(map(len, alpino)) > 100_000


@pytest.mark.parametrize("lang", ["esp", "ned"])
def test_the_extra_text_shares_no_run_with_dev_or_test(data_dir, require_file, lang):
    require_file("nltk_data/corpora/conll2002.zip")
    for name in EXTRA_TEXTS[lang]:
        require_file(f"nltk_data/corpora/{name}.zip")
    root = data_dir
    text = unlabeled_text(root, lang)
    data = load_ner_data(root, lang)
    assert text[f"{lang}.train"] == data["train"].sentences
    grams = {tuple(s[i:i + OVERLAP_NGRAM]) for split in ("dev", "test")
             for s in data[split].sentences for i in range(len(s) - OVERLAP_NGRAM + 1)}
    for name in EXTRA_TEXTS[lang]:
        full = load_nltk_text(name, data_dir=root).sentences
        kept = text[name]
        assert 0.9 * len(full) < len(kept) <= len(full)
        if name == "cess_esp":   # newswire of the period of CoNLL-2002 Spanish: some overlap
            assert len(kept) < len(full)
        assert not any(tuple(s[i:i + OVERLAP_NGRAM]) in grams
                       for s in kept for i in range(len(s) - OVERLAP_NGRAM + 1))


def test_more_text_from_files_is_read_and_held_out_runs_dropped(data_dir, require_file,
                                                                 tmp_path):
    import gzip
    import json

    require_file("conll2003/eng.testa")
    data = load_ner_data(data_dir, "eng")
    dev = data["dev"].sentences
    long_dev = next(s for s in dev if len(s) >= OVERLAP_NGRAM + 2)
    texts = ["The dog barks. A cat sleeps.", " ".join(long_dev), "Mr. Smith came home."]
    path = tmp_path / "more.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for k, t in enumerate(texts):
            f.write(json.dumps({"id": k, "text": t}) + "\n")
    base = unlabeled_text(data_dir, "eng", data["train"])
    text = unlabeled_text(data_dir, "eng", data["train"], files=[path])
    assert {k: v for k, v in text.items() if k != "more.jsonl.gz"} == base
    # the sentences of the file, split and tokenized, less the one that is a dev sentence,
    # streamed: read again each time, never held
    expected = [["The", "dog", "barks", "."], ["A", "cat", "sleeps", "."],
                ["Mr.", "Smith", "came", "home", "."]]
    assert list(text["more.jsonl.gz"]) == expected == list(text["more.jsonl.gz"])
    assert text["more.jsonl.gz"].n_tokens == 13


def test_experiment_ner_passes_its_unlabeled_files(tmp_path, monkeypatch, capsys):
    from hmmtl.cli import experiment, main

    calls = {}

    def study(data_dir=None, out_dir=None, quick=False, *, unlabeled=(), progress=True):
        calls.update(unlabeled=unlabeled)
        return {}

    monkeypatch.setattr(experiment, "find_study", lambda name: study)
    text = tmp_path / "news.txt"
    text.write_text("Some text here.\n")
    assert main(["experiment", "ner", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                 "--unlabeled", str(text), "--quiet"]) == 0
    assert calls == {"unlabeled": [str(text)]}
    assert main(["experiment", "ner", "--data", str(tmp_path), "--out", str(tmp_path / "r2"),
                 "--unlabeled", str(tmp_path / "missing.txt"), "--quiet"]) == 1
    assert "missing.txt" in capsys.readouterr().err
