"""Gazetteers: multi-word matching (hand-worked and against a brute-force matcher), the
longest-match rule, case folding, held-out sources, the list readers, the model file."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from hmmtl.data import flatten
from hmmtl.ner.gazetteers import Gazetteer, entity_strings, load_nltk_gazetteers


def names(gaz, row):
    return sorted(gaz.feature_names[i] for i in row if i >= 0)


def test_multi_word_names_hand_worked():
    gaz = Gazetteer({"city": ["New York", "York", "New York City", "Rio de Janeiro"],
                     "state": ["New York"], "org": ["New York Times"]})
    X = [["The", "New", "York", "Times", "is", "in", "New", "York", "City", "."],
         ["From", "Rio", "de", "Janeiro", "to", "York"]]
    tokens, offsets = flatten(X)
    ids = gaz.match(tokens, offsets)
    got = [names(gaz, r) for r in ids]
    assert got[:5] == [[], ["city:B", "org:B", "state:B"], ["city:L", "org:I", "state:L"],
                       ["org:L"], []]
    # the longest city match (New York City) wins over New York and York
    assert got[6:10] == [["city:B", "state:B"], ["city:I", "state:L"], ["city:L"], []]
    assert got[10:] == [[], ["city:B"], ["city:I"], ["city:L"], [], ["city:U"]]


def test_matches_never_cross_sentences_and_case_folding():
    gaz = Gazetteer({"city": ["New York"]})
    tokens, offsets = flatten([["to", "New"], ["York", "now"], ["NEW", "YORK"]])
    assert (gaz.match(tokens, offsets) == -1).all()
    folded = Gazetteer({"city": ["New York"]}, lowercase=True)
    got = [names(folded, r) for r in folded.match(tokens, offsets)]
    assert got == [[], [], [], [], ["city:B"], ["city:L"]]


def brute_force(gaz_lists, X):
    """All matches by enumeration of every span; for each token and list the code of the
    longest match covering it (the earliest starting on ties)."""
    out = []
    for s in X:
        best = [dict() for _ in s]
        for lid, (name, entries) in enumerate(gaz_lists.items()):
            entries = {tuple(e) for e in entries}
            for n in range(len(s), 0, -1):
                for a in range(len(s) - n + 1):
                    if tuple(s[a:a + n]) not in entries:
                        continue
                    for v in range(a, a + n):
                        if lid in best[v]:
                            continue
                        code = "U" if n == 1 else "B" if v == a else "L" if v == a + n - 1 \
                            else "I"
                        best[v][lid] = f"{name}:{code}"
        out += [sorted(b.values()) for b in best]
    return out


def test_matches_agree_with_brute_force():
    rng = np.random.default_rng(0)
    vocab = ["a", "b", "c", "d"]
    lists = {f"l{k}": [list(rng.choice(vocab, size=rng.integers(1, 4))) for _ in range(6)]
             for k in range(3)}
    X = [list(rng.choice(vocab, size=rng.integers(1, 9))) for _ in range(40)]
    gaz = Gazetteer(lists)
    tokens, offsets = flatten(X)
    got = [names(gaz, r) for r in gaz.match(tokens, offsets)]
    assert got == brute_force(lists, X)


def test_held_out_sources():
    gaz = Gazetteer()
    gaz.add("train-PER", ["John Smith"], source=0)
    gaz.add("train-PER", ["Mary"], source=1)
    gaz.add("train-PER", ["Ann"], source=0)
    gaz.add("train-PER", ["Ann"], source=1)       # found in both folds
    gaz.add("ext", ["Mary"])                      # no source: always matched
    X = [["John", "Smith", "Mary", "Ann"]] * 3
    tokens, offsets = flatten(X)
    ids = gaz.match(tokens, offsets, exclude=[0, 1, -1])
    got = [names(gaz, r) for r in ids]
    # fold 0 sentence: its own John Smith is held out; Ann still counts through fold 1
    assert got[:4] == [[], [], ["ext:U", "train-PER:U"], ["train-PER:U"]]
    # fold 1 sentence: Mary (fold 1) held out from the training list, not from ext
    assert got[4:8] == [["train-PER:B"], ["train-PER:L"], ["ext:U"], ["train-PER:U"]]
    assert got[8:] == [["train-PER:B"], ["train-PER:L"], ["ext:U", "train-PER:U"],
                       ["train-PER:U"]]
    with pytest.raises(ValueError, match="one source per sentence"):
        gaz.match(tokens, offsets, exclude=[0])
    with pytest.raises(ValueError, match="source must be an int in"):
        gaz.add("x", ["y"], source=63)


def test_output_width_and_entries():
    gaz = Gazetteer({"a": ["x"], "b": ["x y"], "c": ["z"]})
    ids = gaz.match(["x", "y", "q"], [0, 3])
    assert ids.shape == (3, 2) and ids.dtype == np.int32
    assert (gaz.match(["q"], [0, 1]) == -1).all()
    assert gaz.entries("b") == [("x", "y")]
    assert gaz.n_features == 12 and gaz.n_entries == 3
    with pytest.raises(ValueError, match="without ':'"):
        gaz.add("a:b", ["x"])
    with pytest.raises(TypeError, match="not one string"):
        gaz.add("a", "New York")


def test_entity_strings_from_labels():
    X = [["Tony", "Blair", "met", "Blair", "in", "Paris"], ["Paris", "Hilton"]]
    y = [["B-PER", "I-PER", "O", "B-PER", "O", "B-LOC"], ["B-PER", "I-PER"]]
    found = entity_strings(X, y)
    assert found == {"PER": collections.Counter({("Tony", "Blair"): 1, ("Blair",): 1,
                                                 ("Paris", "Hilton"): 1}),
                     "LOC": collections.Counter({("Paris",): 1})}
    assert entity_strings(X, [["B-PER", "L-PER", "O", "U-PER", "O", "U-LOC"],
                              ["B-PER", "L-PER"]], scheme="bilou")["PER"][("Blair",)] == 1
    assert entity_strings(X * 2, y * 2, min_count=2)["LOC"] == {("Paris",): 2}


def test_save_load_and_validation(tmp_path):
    gaz = Gazetteer({"city": ["New York", "York"], "name": ["Ann"]}, lowercase=True)
    gaz.add("train-PER", ["Bob Dylan"], source=3)
    back = Gazetteer.load(gaz.save(tmp_path / "g.hmmtl"))
    tokens, offsets = flatten([["in", "new", "YORK", "Bob", "Dylan", "ann"]] * 2)
    for exclude in (None, [3, -1]):
        np.testing.assert_array_equal(back.match(tokens, offsets, exclude),
                                      gaz.match(tokens, offsets, exclude))
    arrays, meta = gaz._get_state()
    bad = dict(arrays, child_node=arrays["child_node"] + 100)
    with pytest.raises(ValueError, match="child node is out of range"):
        Gazetteer._from_state(bad, meta)
    bad = dict(arrays, term_list=arrays["term_list"] + 7)
    with pytest.raises(ValueError, match="list id is out of range"):
        Gazetteer._from_state(bad, meta)


@pytest.mark.data
def test_nltk_lists(require_file, data_dir):
    require_file("nltk_data/corpora/gazetteers.zip")
    lists = load_nltk_gazetteers(data_dir)
    assert {"countries", "nationalities", "uscities", "male_names", "female_names"} <= set(lists)
    assert "Åland Islands" in lists["isocountries"]      # a Latin-1 file
    gaz = Gazetteer(lists)
    tokens, offsets = flatten([["He", "flew", "to", "South", "Africa"]])
    got = [names(gaz, r) for r in gaz.match(tokens, offsets)]
    assert "countries:B" in got[3] and "countries:L" in got[4]


def test_nltk_lists_without_a_data_folder_say_what_to_give(monkeypatch):
    monkeypatch.delenv("HMMTL_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="pass data_dir or set HMMTL_DATA"):
        load_nltk_gazetteers()
