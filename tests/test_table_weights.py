"""The learned type tables of a Tagger keep their weights in steps of 1/255 from fit on, and
its file stores them as one byte each (format version 6); files of older models keep their
float32 weights and version; a reader refuses weights it cannot read."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hmmtl import Tagger, serialize
from hmmtl.serialize import ModelFileError, load, read_manifest, save
from hmmtl.transfer.pipeline import (TABLE_WEIGHT_STEPS, pack_table_weights,
                                     round_table_weights, unpack_table_weights)

SMALL = {"n_hmms": 2, "n_states": 4, "n_iter": 3, "min_count": 1}
WORDS = {"DT": ["the", "a", "this"], "NN": ["dog", "cat", "house", "car", "tree"],
         "VB": ["runs", "sees", "likes", "eats"], "JJ": ["big", "red", "old"]}


def _corpus(n, seed):
    rs = np.random.RandomState(seed)
    X, y = [], []
    for _ in range(n):
        tags = ["DT", "NN", "VB", "DT", "JJ", "NN"][: rs.randint(3, 7)]
        X.append([WORDS[t][rs.randint(len(WORDS[t]))] for t in tags])
        y.append(tags)
    return X, y


@pytest.fixture(scope="module")
def tagger():
    X, y = _corpus(60, 0)
    text, _ = _corpus(200, 1)
    text += [["the", "zebra", "eats"], ["a", "purple", "tree"]]
    return Tagger(hmm="auto", hmm_params=SMALL, labeler_params={"max_iterations": 15},
                  representations="type", random_state=0).fit(X, y, unlabeled=text)


def test_pack_and_unpack_are_exact_on_the_steps():
    w = np.array([0.0, 1.0, 0.5, 1e-4, 0.99999, 0.3333333], dtype=np.float32)
    steps = pack_table_weights(w)
    assert steps.dtype == np.uint8
    assert steps.tolist() == [0, 255, 128, 0, 255, 85]
    back = unpack_table_weights(steps)
    assert back.dtype == np.float32
    assert np.abs(back - w).max() <= 0.5 / TABLE_WEIGHT_STEPS + 1e-7
    np.testing.assert_array_equal(pack_table_weights(back), steps)
    # out of [0, 1]: clipped, never wrapped around
    assert pack_table_weights(np.array([-0.2, 1.7])).tolist() == [0, 255]


def test_fit_keeps_the_weights_in_steps_and_the_file_stores_bytes(tagger, tmp_path):
    tables = {k: t for k, t in tagger.type_tables_.items() if isinstance(t, tuple)}
    assert tables
    for _ids, weights in tables.values():
        assert weights.dtype == np.float32
        np.testing.assert_array_equal(unpack_table_weights(pack_table_weights(weights)), weights)
        assert np.any((weights > 0) & (weights < 1))  # not all 0 / 1
    path = tagger.save(tmp_path / "m.hmmtl")
    manifest = read_manifest(path)
    assert manifest["format_version"] == serialize.BYTE_WEIGHTS_VERSION == 6
    for name in tables:
        assert manifest["arrays"][f"type_tables/{name}.weights"]["dtype"] == "|u1"
    back = Tagger.load(path)
    for name, (ids, weights) in tables.items():
        ids2, weights2 = back.type_tables_[name]
        np.testing.assert_array_equal(ids2, ids)
        assert weights2.dtype == np.float32
        np.testing.assert_array_equal(weights2, weights)
    X, _ = _corpus(20, 5)
    X.append(["the", "purple", "zebra", "sees", "an", "unknown", "thing"])
    assert back.predict(X) == tagger.predict(X)


def test_a_version_5_reader_refuses_byte_weights(tagger, tmp_path, monkeypatch):
    path = tagger.save(tmp_path / "m.hmmtl")
    monkeypatch.setattr(serialize, "FORMAT_VERSION", 5)
    with pytest.raises(ModelFileError, match=r"format version 6 was written by a newer hmmtl"):
        load(path)


def test_weights_off_the_steps_keep_float32_and_the_older_version(tagger, tmp_path):
    """A model read from a file of an older version (float32 weights anywhere in [0, 1])
    saves them as they are, in the version it had: nothing is rounded behind its back."""
    old = Tagger.load(tagger.save(tmp_path / "m.hmmtl"))
    rs = np.random.RandomState(0)
    for name, table in list(old.type_tables_.items()):
        if isinstance(table, tuple):
            w = rs.uniform(size=table[1].shape).astype(np.float32)
            old.type_tables_[name] = (table[0], w)
    path = save(old, tmp_path / "old.hmmtl")
    manifest = read_manifest(path)
    assert manifest["format_version"] == 4
    weights = [k for k in manifest["arrays"] if k.endswith(".weights")]
    assert weights and all(manifest["arrays"][k]["dtype"] == "<f4" for k in weights)
    back = Tagger.load(path)
    for name, table in old.type_tables_.items():
        if isinstance(table, tuple):
            np.testing.assert_array_equal(back.type_tables_[name][1], table[1])
    # rounding them makes them steps again
    assert all(np.array_equal(unpack_table_weights(pack_table_weights(t[1])), t[1])
               for t in round_table_weights(old.type_tables_).values() if isinstance(t, tuple))


def _rewrite_array(path, key, value):
    """The file at ``path`` with array ``key`` replaced (checksums made to match)."""
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        arrays = dict(np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False))
    arrays[key] = value
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    payload = buf.getvalue()
    manifest["arrays"][key] = {"dtype": value.dtype.str, "shape": list(value.shape)}
    manifest["arrays_sha256"] = hashlib.sha256(payload).hexdigest()
    manifest["manifest_sha256"] = serialize._manifest_digest(manifest)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("arrays.npz", payload)
        z.writestr("manifest.json", json.dumps(manifest))


@pytest.mark.parametrize("bad, message", [
    (lambda w: w.astype(np.int16), r"weights of dtype int16: expected float or uint8"),
    (lambda w: w[:-1], r"has ids of shape .* but weights of shape"),
])
def test_weights_a_reader_cannot_use_are_refused(tagger, tmp_path, bad, message):
    path = tagger.save(tmp_path / "m.hmmtl")
    name = next(k for k, t in tagger.type_tables_.items() if isinstance(t, tuple))
    key = f"type_tables/{name}.weights"
    with zipfile.ZipFile(path) as z:
        stored = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)[key]
    _rewrite_array(path, key, bad(stored))
    with pytest.raises(ModelFileError, match=message):
        load(path)


V4 = Path(__file__).resolve().parent / "data" / "model_v4"


def test_a_file_of_version_4_with_float32_weights_loads_and_tags_as_written(tmp_path):
    """tests/data/model_v4 holds a Tagger with learned type tables written before the byte
    weights (format version 4, float32 weights), its weights and the tags it gave."""
    expected = json.loads((V4 / "expected.json").read_text(encoding="utf-8"))
    path = V4 / "tagger_tables.hmmtl"
    manifest = read_manifest(path)
    assert manifest["format_version"] == 4
    assert all(manifest["arrays"][f"type_tables/{name}.weights"]["dtype"] == "<f4"
               for name in expected["weights"])
    model = Tagger.load(path)
    for name, weights in expected["weights"].items():
        np.testing.assert_array_equal(model.type_tables_[name][1],
                                      np.asarray(weights, dtype=np.float32))
    assert model.predict(expected["test_sentences"]) == expected["predicted"]
    again = save(model, tmp_path / "again.hmmtl")  # kept as written: float32, version 4
    assert read_manifest(again)["format_version"] == 4
    assert load(again).predict(expected["test_sentences"]) == expected["predicted"]
