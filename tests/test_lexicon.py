"""Large name lists (:class:`hmmtl.ner.gazetteers.Lexicon`): the hashed n-gram matcher against a
brute-force matcher (as written and case-folded), the entry cleaning rules, the model file,
the recognizer's ``lexicon`` feature, and the real ``lexicon/en`` lists at scale."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hmmtl.data import flatten
from hmmtl.ner.gazetteers import Lexicon, clean_entry, load_lexicon, token_hashes
from hmmtl.ner import NamedEntityRecognizer
from hmmtl.serialize import ModelFileError


def names(lex, row):
    return sorted(lex.feature_names[i] for i in row if i >= 0)


def brute_force(lists, X):
    """Per token and (list, kind): the code of the longest match covering it, by
    enumeration of every span; kind ``""`` as written, ``"~"`` case-folded only (and only
    for a span with a capital letter)."""
    out = []
    for s in X:
        best = [dict() for _ in s]
        for name, entries in lists.items():
            exact = {tuple(e) for e in entries}
            folded = {tuple(w.lower() for w in e) for e in entries}
            for n in range(len(s), 0, -1):
                for a in range(len(s) - n + 1):
                    span = tuple(s[a:a + n])
                    if span in exact:
                        kind = ""
                    elif tuple(w.lower() for w in span) in folded and \
                            any(w != w.lower() for w in span):
                        kind = "~"
                    else:
                        continue
                    for v in range(a, a + n):
                        if (name, kind) in best[v]:
                            continue
                        code = "U" if n == 1 else "B" if v == a else "L" if v == a + n - 1 \
                            else "I"
                        best[v][(name, kind)] = f"{name}{kind}:{code}"
        out += [sorted(b.values()) for b in best]
    return out


def test_hand_worked_matches_and_case_fallback():
    lex = Lexicon({"LOC": ["New York", "York", "Paris"], "ORG": ["New York Times"]})
    X = [["The", "New", "York", "Times", "."], ["NEW", "YORK", "and", "paris", "Paris"]]
    tokens, offsets = flatten(X)
    got = [names(lex, r) for r in lex.match(tokens, offsets)]
    assert got == [[], ["LOC:B", "ORG:B"], ["LOC:L", "ORG:I"], ["ORG:L"], [],
                   ["LOC~:B"], ["LOC~:L"], [], [], ["LOC:U"]]


def test_matches_agree_with_brute_force():
    rng = np.random.default_rng(0)
    vocab = ["a", "b", "A", "B", "c"]
    lists = {f"l{k}": [list(rng.choice(vocab, size=rng.integers(1, 4))) for _ in range(8)]
             for k in range(3)}
    X = [list(rng.choice(vocab, size=rng.integers(1, 10))) for _ in range(60)]
    lex = Lexicon(lists)
    tokens, offsets = flatten(X)
    got = [names(lex, r) for r in lex.match(tokens, offsets)]
    assert got == brute_force(lists, X)


def test_a_lexicon_of_many_buckets_agrees_with_brute_force():
    """Thousands of entries: the lookups go through many buckets of the key table."""
    rng = np.random.default_rng(1)
    vocab = [f"w{k}" for k in range(40)] + [f"W{k}" for k in range(40)]
    lists = {f"l{k}": [list(rng.choice(vocab, size=rng.integers(1, 4))) for _ in range(1500)]
             for k in range(3)}
    X = [list(rng.choice(vocab, size=rng.integers(1, 12))) for _ in range(80)]
    lex = Lexicon(lists)
    buckets, _ = lex._buckets()
    assert buckets.shape[0] > 256
    tokens, offsets = flatten(X)
    got = [names(lex, r) for r in lex.match(tokens, offsets)]
    assert got == brute_force(lists, X)
    assert sum(map(len, got)) > 100  # the sample matches


@pytest.mark.parametrize("n", [0, 1, 7, 1000, 100_000])
def test_a_key_is_searched_in_its_bucket_only(n):
    """The bucket of a key holds the first index a search of the whole table finds, and
    only keys of that bucket."""
    from hmmtl.ner.gazetteers import _KEY_BITS, _bucket_starts

    rng = np.random.default_rng(n)
    keys = np.sort(rng.integers(0, 1 << _KEY_BITS, size=n, dtype=np.uint64))
    buckets, shift = _bucket_starts(keys)
    queries = np.concatenate([keys[: min(n, 500)],
                              rng.integers(0, 1 << _KEY_BITS, size=500, dtype=np.uint64),
                              np.array([0, (1 << _KEY_BITS) - 1], dtype=np.uint64)])
    first = np.searchsorted(keys, queries)
    b = (queries >> np.uint64(shift)).astype(np.int64)
    lo, hi = buckets[b], buckets[b + 1]
    assert ((lo <= first) & (first <= hi)).all()
    assert ((keys[lo[lo < hi]] >> np.uint64(shift)).astype(np.int64) == b[lo < hi]).all()
    assert buckets[0] == 0 and buckets[-1] == n and (np.diff(buckets) >= 0).all()
    if n >= 1000:
        assert np.diff(buckets).mean() <= 16  # a few keys a bucket


def test_longer_entries_than_max_tokens_are_left_out():
    lex = Lexicon({"ORG": ["A B C", "A B"]}, max_tokens=2)
    got = [names(lex, r) for r in lex.match(["A", "B", "C"], [0, 3])]
    assert got == [["ORG:B"], ["ORG:L"], []]
    with pytest.raises(ValueError, match="at most 16 lists"):
        Lexicon({f"l{i}": ["X"] for i in range(17)})
    with pytest.raises(ValueError, match="offsets must run from 0"):
        lex.match(["A"], [0, 2])


def test_token_hashes_are_stable():
    # FNV-1a of the UTF-8 bytes: fixed values, the same in every process
    assert token_hashes([""]).tolist() == [0xCBF29CE484222325]
    assert token_hashes(["a"]).tolist() == [0xAF63DC4C8601EC8C]


@pytest.mark.parametrize("raw, expected", [
    ("Paris (Texas)", [["Paris"]]),
    ("Economy of Algeria", []),
    ("List of rivers of Kent", []),
    ("Category:Towns in Kent", []),
    ("Dorset/Kawagama Lake", []),
    ("Накуру", []),
    ("Bank of America", [["Bank", "of", "America"]]),
    ("Bay Springs, Mississippi", [["Bay", "Springs", ",", "Mississippi"], ["Bay", "Springs"]]),
    ("Women's Post", [["Women", "'s", "Post"]]),
    ("university of shimane", [["University", "of", "Shimane"]]),
    ("DOTTY", [["Dotty"]]),
    ("IBM", [["IBM"]]),
    ("of the", []),
])
def test_clean_entry(raw, expected):
    assert clean_entry(raw) == expected


def test_model_file_round_trip_and_checks(tmp_path):
    lex = Lexicon({"LOC": ["New York", "Paris"], "PER": ["Paris"]})
    path = lex.save(tmp_path / "lex.model")
    back = Lexicon.load(path)
    tokens, offsets = flatten([["Paris", "in", "New", "York"]])
    assert back.names == lex.names and back.n_entries == lex.n_entries == 2
    assert np.array_equal(back.match(tokens, offsets), lex.match(tokens, offsets))
    assert lex.list_sizes() == {"LOC": 2, "PER": 1}
    arrays, meta = lex._get_state()
    with pytest.raises(ValueError, match="not sorted"):
        Lexicon._from_state({**arrays, "keys": arrays["keys"][::-1].copy()}, meta)
    with pytest.raises(ValueError, match="beyond the 1 of the file"):
        Lexicon._from_state(arrays, {**meta, "names": ["LOC"]})
    (tmp_path / "bad.model").write_bytes(path.read_bytes()[:-40])
    with pytest.raises((ModelFileError, ValueError)):
        Lexicon.load(tmp_path / "bad.model")


def _random_names(rng, n):
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=7)).capitalize() for _ in range(n)]


def _cities(n, seed):
    """Sentences "<Name> said ..." where the name is a person or a city of the lexicon:
    the capitalized word alone does not tell which."""
    rng = np.random.default_rng(seed)
    cities, people = _random_names(rng, 40), _random_names(rng, 40)
    X, y = [], []
    for _ in range(n):
        if rng.random() < 0.5:
            w, t = cities[rng.integers(40)], "B-LOC"
        else:
            w, t = people[rng.integers(40)], "B-PER"
        X.append(["in", w, "today"] if rng.random() < 0.5 else [w, "said", "so"])
        y.append(["O", t, "O"] if X[-1][0] == "in" else [t, "O", "O"])
    return X, y, cities


def test_recognizer_uses_the_lexicon_and_saves_it(tmp_path):
    X, y, cities = _cities(200, 0)
    # unseen names at test time: only the lexicon tells a city from a person
    new_cities, new_people = _random_names(np.random.default_rng(5), 20), \
        _random_names(np.random.default_rng(6), 20)
    Xt = [[w, "said", "so"] for w in new_cities + new_people]
    yt = [["B-LOC", "O", "O"]] * 20 + [["B-PER", "O", "O"]] * 20
    lex = Lexicon({"city": cities + new_cities})
    params = dict(columns=(), n_folds=2, two_stage=False, train_lists=False,
                  truecase=False, labeler_params={"max_iterations": 40})
    plain = NamedEntityRecognizer(**params).fit(X, y)
    with_lex = NamedEntityRecognizer(lexicon=lex, **params).fit(X, y)
    assert "lex" in with_lex.features_ and "lex" not in plain.features_
    assert with_lex.score(Xt, yt) >= 0.95
    assert plain.score(Xt, yt) <= 0.8
    path = with_lex.save(tmp_path / "ner.model")
    back = NamedEntityRecognizer.load(path)
    assert back.lexicon_.n_entries == lex.n_entries
    assert back.predict(Xt) == with_lex.predict(Xt)
    # a model without a lexicon writes no lexicon part
    plain_back = NamedEntityRecognizer.load(plain.save(tmp_path / "plain.model"))
    assert plain_back.lexicon_ is None and plain_back.lexicon is None
    with pytest.raises(TypeError, match="lexicon must be a Lexicon"):
        NamedEntityRecognizer(lexicon={"city": cities}, **params).fit(X, y)


@pytest.mark.data
def test_lexicon_en_at_scale(data_dir, require_file):
    """The ~700k cleaned entries of lexicon/en: matched on eng.train (200k tokens) in well
    under a second of CPU time, stored in under 10 MB, and evidence where it should be."""
    require_file("lexicon/en/wiki_locations.txt")
    from hmmtl.studies.ner import load_ner_data

    lex = load_lexicon(data_dir)
    sizes = lex.list_sizes()
    assert lex.n_entries > 500_000 and sizes["wiki-LOC"] > 300_000
    assert lex.nbytes() < 10_000_000
    train = load_ner_data(data_dir, "eng")["train"]
    tokens, offsets = flatten(train.sentences)
    lex.match(tokens[:50], [0, 50])  # compile
    t = time.process_time()
    ids = lex.match(tokens, offsets)
    assert time.process_time() - t < 2.0
    feats = [names(lex, r) for r in lex.match(["in", "Germany", "and", "New", "York"],
                                              [0, 5])]
    assert "country:U" in feats[1] and "wiki-LOC:B" in feats[3]
    assert ids.shape[0] == len(tokens) and (ids >= 0).any(axis=1).mean() > 0.1


def test_read_lexicon_from_a_model_file_or_a_folder(tmp_path):
    from hmmtl.studies.ner import read_lexicon

    lex = Lexicon({"country": ["France"]})
    assert read_lexicon(lex.save(tmp_path / "lex.model")).n_entries == 1
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "countries.txt").write_text("France\nEconomy of France\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="list 'wiki-LOC' of the lexicon"):
        read_lexicon(folder)  # a folder without all the lists
    from hmmtl.ner.gazetteers import load_lexicon as load

    only = load(folder, lists={"country": ("countries.txt",)})
    assert only.list_sizes() == {"country": 1}  # "Economy of France" is not a name
    with pytest.raises(FileNotFoundError, match="--lexicon"):
        read_lexicon(tmp_path / "nothing")


def test_experiment_ner_passes_the_lexicon(capsys, tmp_path, monkeypatch):
    from hmmtl.cli import experiment, main

    calls = {}

    def study(data_dir=None, out_dir=None, quick=False, *, lexicon=None, progress=True):
        calls.update(lexicon=lexicon)
        return {}

    monkeypatch.setattr(experiment, "find_study", lambda name: study)
    assert main(["experiment", "ner", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                 "--lexicon", "lists/en", "--quiet"]) == 0
    assert calls == {"lexicon": "lists/en"}
    assert main(["experiment", "multi-task", "--data", str(tmp_path), "--out",
                 str(tmp_path / "r2"), "--lexicon", "lists/en", "--quiet"]) == 1
    assert "--lexicon is not an option of the multi-task study" in capsys.readouterr().err


@pytest.mark.parametrize("lang", ["eng", "esp", "ned"])
def test_the_study_gives_the_lexicon_to_every_language(tmp_path, monkeypatch, lang):
    """The lists of lexicon/en name the world's places, organisations and people: the NER
    study's recognizer of each language reads them when given (chosen on esp.testa and
    ned.testa too)."""
    import importlib

    import hmmtl.ner.gazetteers as gazetteers

    data_root = importlib.import_module("hmmtl.io.data_root")
    from hmmtl.studies import ner as study

    class Trained(Exception):
        pass

    seen = {}

    def train(root, lang, data, *, lexicon=None, **kwargs):
        seen[lang] = lexicon
        raise Trained

    monkeypatch.setattr(data_root, "find_data_root", lambda d: tmp_path)
    monkeypatch.setattr(gazetteers, "load_nltk_gazetteers", lambda root: {"x": ["Y"]})
    monkeypatch.setattr(study, "load_ner_data", lambda root, lang: {})
    monkeypatch.setattr(study, "train_recognizer", train)
    lex = Lexicon({"city": ["Madrid", "Amsterdam"]})
    with pytest.raises(Trained):
        study.run_ner(tmp_path, tmp_path / "out", languages=[lang], lexicon=lex,
                      progress=False)
    assert seen == {lang: lex}
