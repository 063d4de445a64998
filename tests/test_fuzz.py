"""Fuzzing: random bytes through every reader and through ``hmmtl tag``, random token lists
through the vocabulary, the labelers and the HMM.  Nothing may fail other than with the
documented errors: :class:`hmmtl.io.FormatError` (a ``ValueError`` naming file and line)
from the readers, exit status 1 with ``hmmtl: error: <file>...`` from the command line.

Byte strings are drawn from pieces that make the readers work hard (tabs, CoNLL-U IDs,
ranges and empty nodes, comments, ``-DOCSTART-``, CR LF, a byte-order mark, bytes that are
not UTF-8) as well as from arbitrary bytes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmmtl import Vocabulary
from hmmtl.cli import main
from hmmtl.io import FormatError, read_conll, read_conllu, read_text

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

_PIECES = [b"1", b"2", b"3", b"1-2", b"2-3", b"1.1", b"0", b"x", b"\t", b" ", b"\n", b"\n\n",
           b"\r\n", b"# sent_id = a-1\n", b"# newdoc id = email-1\n", b"-DOCSTART- -X- O\n",
           b"_", b"the", b"DT", b"B-PER", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xe9", b"\x00",
           "\u2028".encode(), "é".encode(), b"\t_\t_\t_\t_\t_\t_\t_\t_\n"]
_WORD_LINE = st.builds(
    lambda i, w, tags: f"{i}\t{w}\t_\t{tags[0]}\t{tags[1]}\t_\t_\t_\t_\t_\n".encode(),
    st.sampled_from(["1", "2", "3", "4", "1-2", "2.1", "0", "x"]),
    st.text(min_size=1, max_size=6).filter(lambda w: "\t" not in w and "\n" not in w
                                           and "\r" not in w),
    st.tuples(st.sampled_from(["DET", "NOUN", "_"]), st.sampled_from(["DT", "NN", "_"])))
CORPUS_BYTES = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(_PIECES), max_size=40).map(b"".join),
    st.lists(st.one_of(_WORD_LINE, st.sampled_from([b"\n", b"# c\n", b"\xff\n"])),
             max_size=12).map(b"".join),
)


def _check_format_error(exc: FormatError, path) -> None:
    assert isinstance(exc, ValueError)
    assert str(exc).startswith(str(path)), str(exc)
    assert exc.line is None or exc.line >= 1


@pytest.mark.parametrize("reader", [read_conllu, read_conll, read_text],
                         ids=["conllu", "conll", "text"])
@SETTINGS
@given(data=CORPUS_BYTES)
def test_readers_on_random_bytes(reader, data, tmp_path):
    path = tmp_path / "fuzz.in"
    path.write_bytes(data)
    try:
        corpus = reader(path)
    except FormatError as exc:
        _check_format_error(exc, path)
        return
    # what was read is consistent: aligned columns, non-empty sentences, no lost words
    assert len(corpus) >= 1
    assert all(len(s) >= 1 for s in corpus.sentences)
    for name in corpus.column_names:
        assert list(map(len, corpus.column(name))) == list(map(len, corpus.sentences))
    if reader is read_text:
        assert sum(map(len, corpus.sentences)) == len(data.decode("utf-8").split())


# ---------------------------------------------------------------------------- models
X = [["The", "dog", "barks", "."], ["A", "cat", "sleeps", "."], ["the", "cats", "sleep"]] * 3
Y = [["DT", "NN", "VBZ", "."], ["DT", "NN", "VBZ", "."], ["DT", "NNS", "VBP"]] * 3


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny CRF, an HMM, a Tagger (CRF with the HMM's features) and its model file,
    trained once."""
    from hmmtl import CategoricalHMM, LinearChainCRF, Tagger

    crf = LinearChainCRF(max_iterations=15).fit(X, Y)
    hmm = CategoricalHMM(n_states=3, n_iter=3, random_state=0).fit(X)
    tagger = Tagger(hmm=hmm, representations=("viterbi", "posterior", "type"),
                    labeler_params={"max_iterations": 15}).fit(X, Y)
    path = tmp_path_factory.mktemp("fuzz") / "tagger.hmmtl"
    tagger.save(path)
    return {"tagger": tagger, "hmm": hmm, "crf": crf, "path": str(path)}


@pytest.mark.parametrize("fmt", ["conllu", "conll", "text"])
@SETTINGS
@given(data=CORPUS_BYTES)
def test_cli_tag_on_random_bytes(fmt, data, tiny, tmp_path, capsys):
    path = tmp_path / "fuzz.in"
    path.write_bytes(data)
    code = main(["tag", "--model", tiny["path"], "--format", fmt, "--batch-size", "2",
                 str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    if code == 1:
        # a reader's error about this file, not a failure of hmmtl
        assert err.startswith(f"hmmtl: error: {path}"), err
        assert "Traceback" not in err
        assert err.count("\n") == 1
    else:
        assert err == "" and out


TOKEN = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=4),
    st.sampled_from(["", " ", "\t", "\u00a0", "\u2028", "\x00", "-", "--", "1,000.5", "ÉTÉ",
                     "dog", "The", "x" * 5000, "ﬁ" * 50, "İ", "ß"]),
)
SENTENCES = st.lists(st.lists(TOKEN, min_size=1, max_size=6), min_size=1, max_size=5)


@SETTINGS
@given(sentences=SENTENCES, lowercase=st.booleans())
def test_vocabulary_encode_any_tokens(sentences, lowercase):
    vocab = Vocabulary(lowercase=lowercase).fit(X)
    batch = vocab.encode(sentences)
    n = sum(map(len, sentences))
    assert batch.ids.shape == (n,) and batch.ids.dtype == np.int32
    assert batch.offsets.tolist() == np.cumsum([0] + [len(s) for s in sentences]).tolist()
    assert batch.ids.min() >= 0 and batch.ids.max() < len(vocab)
    # words of the training text keep their own ids
    known = vocab.encode([["dog", "cat"]]).ids
    assert vocab.is_known(known).all()


@SETTINGS
@given(sentences=SENTENCES)
def test_labelers_and_hmm_on_any_tokens(sentences, tiny):
    n = sum(map(len, sentences))
    labels = set(tiny["crf"].labels_.labels)
    pred = tiny["crf"].predict(sentences)
    assert list(map(len, pred)) == list(map(len, sentences))
    assert {t for s in pred for t in s} <= labels
    pred = tiny["tagger"].predict(sentences)
    assert list(map(len, pred)) == list(map(len, sentences))
    assert {t for s in pred for t in s} <= labels
    hmm = tiny["hmm"]
    path = hmm.transform(sentences, kind="viterbi")
    assert path.shape == (n,) and path.min() >= 0 and path.max() < 3
    post = hmm.transform(sentences, kind="posterior")
    assert post.shape == (n, 3) and np.allclose(post.sum(axis=1), 1.0)
    typ = hmm.transform(sentences, kind="type")
    assert typ.shape == (n, 3) and np.all(np.isfinite(typ))
    assert np.all(np.isfinite(hmm.score_samples(sentences)))
