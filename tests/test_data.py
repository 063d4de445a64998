import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmmtl.data import (
    UNK,
    LabelSet,
    RaggedBatch,
    Vocabulary,
    check_offsets,
    flatten,
    lengths_to_offsets,
    unflatten,
    unknown_signature,
)

SENTS = [["The", "cat", "sat", "."], ["The", "dog", "barked", "."], ["A", "cat", "ran", "quickly"]]


def test_offsets_round_trip():
    off = lengths_to_offsets([3, 0, 2])
    assert off.dtype == np.int64 and off.tolist() == [0, 3, 3, 5]
    assert check_offsets(off, 5).tolist() == [0, 3, 3, 5]


@pytest.mark.parametrize("offsets, n, message", [
    ([1, 3], 3, r"offsets\[0\] must be 0, got 1"),
    ([0, 3, 2], 2, r"non-decreasing, but offsets\[1\] = 3 and offsets\[2\] = 2"),
    ([0, 2, 4], 5, r"offsets\[-1\] = 4 but there are 5 tokens"),
    ([[0, 1]], 1, r"1-D array"),
])
def test_offsets_errors(offsets, n, message):
    with pytest.raises(ValueError, match=message):
        check_offsets(offsets, n)


def test_offsets_dtype_error():
    with pytest.raises(TypeError, match="must hold integers"):
        check_offsets(np.array([0.0, 1.0]), 1)


def test_from_lengths_checks_like_hmmlearn():
    with pytest.raises(ValueError, match="lengths sum to 5 but X has 6 tokens"):
        RaggedBatch.from_lengths(np.zeros(6, int), [2, 3])
    with pytest.raises(ValueError, match=r"lengths\[1\] = 0"):
        RaggedBatch.from_lengths(np.zeros(2, int), [2, 0])
    b = RaggedBatch.from_lengths(np.arange(5).reshape(-1, 1), [2, 3])
    assert b.n_sequences == 2 and b.lengths.tolist() == [2, 3] and b.ids.dtype == np.int32


def test_batch_validation_messages():
    with pytest.raises(ValueError, match=r"labels have shape \(2,\) but ids have shape \(3,\)"):
        RaggedBatch(np.zeros(3, int), [0, 3], labels=np.zeros(2, int))
    with pytest.raises(TypeError, match="ids must be integers"):
        RaggedBatch(np.zeros(3), [0, 3])
    b = RaggedBatch(np.array([0, 5, 1]), [0, 3])
    with pytest.raises(ValueError, match=r"ids\[1\] = 5 is out of range \[0, 3\)"):
        b.validate(n_types=3)


@given(st.lists(st.lists(st.integers(0, 50), min_size=0, max_size=7), max_size=12),
       st.data())
@settings(max_examples=60, deadline=None)
def test_select_split_concatenate(seqs, data):
    flat = [x for s in seqs for x in s]
    b = RaggedBatch(np.array(flat, dtype=np.int32), lengths_to_offsets([len(s) for s in seqs]),
                    labels=np.array(flat, dtype=np.int32) % 3,
                    domains=np.arange(len(seqs), dtype=np.int32))
    assert b.to_lists() == seqs
    idx = data.draw(st.lists(st.integers(0, max(len(seqs) - 1, 0)), max_size=len(seqs))) \
        if seqs else []
    sub = b.select(np.array(idx, dtype=np.int64))
    assert sub.to_lists() == [seqs[i] for i in idx]
    assert sub.domains.tolist() == idx
    assert sub.labels.tolist() == [x % 3 for i in idx for x in seqs[i]]
    n_parts = data.draw(st.integers(1, 4))
    parts = b.split(n_parts)
    assert len(parts) == n_parts
    again = RaggedBatch.concatenate(parts)
    assert again.to_lists() == seqs and again.domains.tolist() == list(range(len(seqs)))


def test_flatten_rejects_a_bare_sentence():
    with pytest.raises(TypeError, match=r"wrap one sentence as \[tokens\]"):
        flatten(["a", "b"])
    flat, off = flatten(SENTS)
    assert unflatten(flat, off) == SENTS


@pytest.mark.parametrize("word, sig", [
    ("Brexiting", "<unk-INITC-ing>"),
    ("2,031.5", "<unk-NUM>"),
    ("e-mails", "<unk-LC-DASH-s>"),
    ("NASA", "<unk-ALLC>"),
    ("iPhone", "<unk-MIXC>"),
    ("F-16", "<unk-ALLC-DIG-DASH>"),
    ("...", "<unk-PUNCT>"),
    ("quickly", "<unk-LC-ly>"),
])
def test_unknown_signature(word, sig):
    assert unknown_signature(word) == sig


def test_vocabulary_min_count_and_signatures():
    v = Vocabulary(min_count=2).fit(SENTS)
    # "The", "cat", "." occur twice; the rest are rare and map to signature classes
    assert {"The", "cat", "."} <= set(v.types)
    assert "sat" not in v.types and "<unk-LC>" in v.types
    ids = v.encode_tokens(["cat", "jumped", "Zorblax", "walked"])
    assert ids[0] == v.types.index("cat")
    # "jumped" / "walked" were never seen but share the seen class of "barked" (<unk-LC-ed>)
    assert v.types[ids[1]] == "<unk-LC-ed>" and ids[1] == ids[3]
    # "Zorblax": its exact class was never seen; it falls back to a coarser seen class or <unk>
    assert v.types[ids[2]].startswith("<unk")
    assert not v.is_known(ids[1:]).any() and v.is_known(ids[:1]).all()


def test_vocabulary_max_size_lowercase_reserved_and_round_trip():
    v = Vocabulary(max_size=2, lowercase=True, reserved=("<s>",)).fit(SENTS)
    assert v.types[:2] == [UNK, "<s>"]
    assert v.n_words_ == 2 and v.types[2:4] == [".", "cat"]
    assert v.index("CAT") == v.index("cat")
    w = Vocabulary.from_dict(v.to_dict())
    assert w == v
    assert w.encode_tokens(["The", "x"]).tolist() == v.encode_tokens(["The", "x"]).tolist()
    bad = v.to_dict() | {"format_version": 99}
    with pytest.raises(ValueError, match="format version 99"):
        Vocabulary.from_dict(bad)


def test_vocabulary_encode_batch():
    v = Vocabulary().fit(SENTS)
    b = v.encode(SENTS)
    assert b.lengths.tolist() == [4, 4, 4]
    assert b.to_lists(v.decode) == SENTS


def test_labelset():
    ls = LabelSet().fit([["DT", "NN"], ["NN", None]])
    assert ls.labels == ["DT", "NN"]
    assert ls.encode_flat(["NN", None, "DT"]).tolist() == [1, -1, 0]
    with pytest.raises(ValueError,
                       match=r"2 labels are not in the label set \(2 labels\): 'VB', 'XX'"):
        ls.encode_flat(["VB", "NN", "XX"])
    assert ls.encode_flat(["VB", "NN"], unknown="missing").tolist() == [-1, 1]
    ids = ls.encode_for([["a", "b"], ["c"]], [None, ["NN"]])
    assert ids.tolist() == [-1, -1, 1]
    with pytest.raises(ValueError, match="sentence 1 has 1 tokens but 2 labels"):
        ls.encode_for([["a"], ["b"]], [["NN"], ["NN", "DT"]])
    assert LabelSet.from_dict(ls.to_dict()) == ls


@pytest.mark.parametrize("bad, where", [
    ("The cat sat", "got the string 'The cat sat'"),
    (["The cat sat"], r"X\[0\] is the string 'The cat sat'"),
    ([["The", "cat"], "sat down"], r"X\[1\] is the string 'sat down'"),  # not only the first
    ([["The"], b"cat"], r"X\[1\] is the string b'cat'"),
])
def test_a_string_is_not_a_list_of_sentences(bad, where):
    from hmmtl.data import check_sentences

    with pytest.raises(TypeError, match=where):
        check_sentences(bad)
    assert check_sentences(iter([("a", "b"), ["c"]])) == [("a", "b"), ["c"]]


def test_a_string_is_not_a_sentence():
    from hmmtl.data import check_tokens

    with pytest.raises(TypeError, match=r"tokens must be a list of tokens, got the string "
                                        r"'The cat sat'; split it first"):
        check_tokens("The cat sat")
    assert check_tokens(("The", "cat")) == ["The", "cat"]


def test_signature_suffix_is_the_longest_listed_suffix_leaving_two_letters():
    """The suffix level of an unknown word's signature: the longest suffix of the list that
    leaves at least two characters before it (words of four characters or more)."""
    from hmmtl.data import _SUFFIXES, _signature_levels

    def expected(word):
        lw = word.lower()
        fits = [s for s in _SUFFIXES if len(lw) > 3 and lw.endswith(s) and len(lw) > len(s) + 1]
        return max(fits, key=len) if fits else None

    words = [stem + suf for stem in ("b", "ab", "abc", "Xy", "ABCD") for suf in _SUFFIXES]
    words += ["ions", "xions", "sing", "Tables", "eed", "abed", "a's", "ab's", "days"]
    for word in words:
        suf = expected(word)
        full = _signature_levels(word)[0]
        assert (full.endswith(f"-{suf}>") if suf else full == _signature_levels(word)[1]), word
