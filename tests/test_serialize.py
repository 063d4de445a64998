"""Model files: round trips, and every way a file can be bad failing with a clear message."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import numpy as np
import pytest

from hmmtl import serialize
from hmmtl.serialize import ModelFileError, load, pack_nested, save, unpack_nested


@pytest.fixture(autouse=True)
def _test_models_in_registry():
    """The model classes of this file join the registry for the length of each test."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("TableModel", "OtherModel", "PairModel"):
            patch.setitem(serialize.MODEL_CLASSES, name, __name__)
        yield


class TableModel:
    """A small model: a few arrays and JSON meta."""

    def __init__(self, arrays=None, meta=None):
        self.arrays = arrays or {}
        self.meta = meta or {}

    def _get_state(self):
        return self.arrays, self.meta

    @classmethod
    def _from_state(cls, arrays, meta):
        return cls(dict(arrays), meta)


class OtherModel(TableModel):
    pass


class PairModel:
    """A model holding two others, stored in one file."""

    def __init__(self, left=None, right=None, scale=None):
        self.left, self.right, self.scale = left, right, scale

    def _get_state(self):
        arrays, children = pack_nested({"left": self.left, "right": self.right})
        arrays["scale"] = self.scale
        return arrays, {"children": children}

    @classmethod
    def _from_state(cls, arrays, meta):
        parts = unpack_nested(arrays, meta["children"])
        return cls(parts["left"], parts["right"], arrays["scale"])


def _model(seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "emission_prob_": rng.random((4, 7)),
        "transition_prob_": rng.random((4, 4)).astype(np.float32),
        "ids": rng.integers(0, 100, 9).astype(np.int32),
        "offsets": np.array([0, 4, 9], dtype=np.int64),
        "labels": np.array(["NN", "VB", "DT"]),
        "mask": rng.random(5) > 0.5,
        "fortran": np.asfortranarray(rng.random((3, 2))),
        "empty": np.zeros((0, 3)),
        "special": np.array([np.nan, -np.inf, np.inf, -0.0, 5e-324]),
    }
    meta = {"n_states": 4, "alpha": 0.5, "name": "tâche", "tie": {"emissions": "shared"},
            "vocabulary": {"types": ["<unk>", "the"]}, "missing": None, "flag": True}
    return TableModel(arrays, meta)


def _assert_same(a, b):
    assert sorted(a.arrays) == sorted(b.arrays)
    for name in a.arrays:
        x, y = np.asarray(a.arrays[name]), b.arrays[name]
        assert x.dtype == y.dtype and x.shape == y.shape, name
        # bit-identical, NaN payloads and signed zeros included
        assert x.tobytes(order="C") == y.tobytes(order="C"), name
    assert a.meta == b.meta


# ----------------------------------------------------------------------------- round trips
def test_round_trip_is_bit_identical(tmp_path):
    model = _model()
    path = save(model, tmp_path / "m.hmmtl")
    assert path == tmp_path / "m.hmmtl"
    back = load(path)
    assert type(back) is TableModel
    _assert_same(model, back)


def test_load_with_info_gives_the_model_and_the_saved_info_from_one_reading(tmp_path,
                                                                            monkeypatch):
    model = _model()
    path = save(model, tmp_path / "m.hmmtl", info={"corpus": "x", "scores": {"dev": 0.5}})
    opened = []
    real = serialize._open_archive
    monkeypatch.setattr(serialize, "_open_archive", lambda p: opened.append(p) or real(p))
    back, info = serialize.load_with_info(path)
    assert len(opened) == 1
    _assert_same(model, back)
    assert info == serialize.read_manifest(path)["info"]
    assert info["corpus"] == "x" and info["scores"] == {"dev": 0.5}
    with pytest.raises(ModelFileError, match="expected a"):
        serialize.load_with_info(path, "LinearChainCRF")


def test_same_model_gives_same_bytes(tmp_path):
    save(_model(), tmp_path / "a.hmmtl")
    save(_model(), tmp_path / "b.hmmtl")
    assert (tmp_path / "a.hmmtl").read_bytes() == (tmp_path / "b.hmmtl").read_bytes()
    save(_model(seed=1), tmp_path / "c.hmmtl")
    assert (tmp_path / "a.hmmtl").read_bytes() != (tmp_path / "c.hmmtl").read_bytes()


def test_file_layout_and_manifest(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["arrays.npz", "manifest.json"]
        payload = z.read("arrays.npz")
        manifest = json.loads(z.read("manifest.json"))
    # the payload is a plain npz that NumPy reads without pickle
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        assert set(npz.files) == set(_model().arrays)
    assert manifest["format"] == "hmmtl-model"
    assert manifest["format_version"] == serialize._PLAIN_VERSION
    assert manifest["class"] == {"name": "TableModel", "module": __name__,
                                 "qualname": "TableModel"}
    assert manifest["arrays_sha256"] == hashlib.sha256(payload).hexdigest()
    assert manifest["arrays"]["transition_prob_"] == {"shape": [4, 4], "dtype": "<f4"}
    assert manifest["meta"]["tie"] == {"emissions": "shared"}
    assert serialize.read_manifest(path) == manifest
    assert oct(os.stat(path).st_mode & 0o777) != oct(0o600)  # not left private like a temp file


def test_arrays_are_deflated_and_a_stored_file_reads_the_same(tmp_path):
    """The arrays member is deflated (smaller than the npz it holds, whose checksum the
    manifest keeps); a file written before, with the member stored, loads the same."""
    model = TableModel({"table": np.tile(np.arange(64.0), 500)}, {})
    path = save(model, tmp_path / "m.hmmtl")
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("arrays.npz")
        payload, manifest = z.read("arrays.npz"), z.read("manifest.json")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert info.compress_size < info.file_size / 10 and info.file_size == len(payload)
    stored = tmp_path / "stored.hmmtl"
    with zipfile.ZipFile(stored, "w") as z:
        z.writestr(serialize._zipinfo("arrays.npz", zipfile.ZIP_STORED), payload)
        z.writestr(serialize._zipinfo("manifest.json", zipfile.ZIP_DEFLATED), manifest)
    assert stored.stat().st_size > path.stat().st_size
    _assert_same(model, load(stored))
    _assert_same(model, load(path))


def test_nested_models_share_one_file(tmp_path):
    left, right = _model(1), OtherModel({"w": np.arange(3.0)}, {"k": 1})
    pair = PairModel(left, right, np.array([2.5]))
    path = save(pair, tmp_path / "pair.hmmtl")
    names = set(serialize.read_manifest(path)["arrays"])
    assert "left/emission_prob_" in names and "right/w" in names and "scale" in names
    back = load(path, expected_class=PairModel)
    assert type(back.left) is TableModel and type(back.right) is OtherModel
    _assert_same(left, back.left)
    _assert_same(right, back.right)
    assert back.scale.tolist() == [2.5]


def test_nested_none_child_and_doubly_nested(tmp_path):
    inner = PairModel(_model(2), None, np.array([1.0]))
    outer = PairModel(inner, _model(3), np.array([0.0]))
    back = load(save(outer, tmp_path / "o.hmmtl"))
    assert back.left.right is None
    _assert_same(outer.left.left, back.left.left)
    _assert_same(outer.right, back.right)
    assert "left/left/ids" in serialize.read_manifest(tmp_path / "o.hmmtl")["arrays"]


def test_expected_class_accepts_subclass_and_rejects_other(tmp_path):
    path = save(OtherModel({"a": np.ones(2)}, {}), tmp_path / "o.hmmtl")
    assert type(load(path, expected_class=TableModel)) is OtherModel  # a subclass is fine
    with pytest.raises(ModelFileError, match=r"holds a OtherModel model, expected a PairModel"):
        load(path, expected_class=PairModel)
    with pytest.raises(ModelFileError, match=r"expected a TableModel"):
        load(path, expected_class="TableModel")


# ----------------------------------------------------------------------------- bad files
def _rewrite(path, manifest=None, payload=None, reseal=True):
    """Rewrite a model file with a changed manifest and/or payload (the arrays' checksum
    left as is; the manifest's own checksum made to match, unless ``reseal`` is false, so
    that the checks after it are reached)."""
    with zipfile.ZipFile(path) as z:
        m = json.loads(z.read("manifest.json"))
        p = z.read("arrays.npz")
    m = manifest(m) if manifest else m
    if reseal:
        m["manifest_sha256"] = serialize._manifest_digest(m)
    p = payload if payload is not None else p
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("arrays.npz", p)
        z.writestr("manifest.json", json.dumps(m))


def test_truncated_file(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=r"truncated or damaged"):
            load(path)


def test_tampered_arrays_fail_the_checksum(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    with zipfile.ZipFile(path) as z:
        payload = z.read("arrays.npz")
    buf = io.BytesIO()
    arrays = dict(_model().arrays)
    arrays["emission_prob_"] = arrays["emission_prob_"] * 2
    np.savez(buf, **arrays)
    _rewrite(path, payload=buf.getvalue())
    assert buf.getvalue() != payload
    with pytest.raises(ModelFileError, match=r"checksum mismatch: the arrays were modified"):
        load(path)


def test_flipped_byte_is_detected(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside the stored arrays member
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"truncated or damaged|checksum mismatch"):
        load(path)


def test_newer_format_version(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    _rewrite(path, manifest=lambda m: {**m, "format_version": serialize.FORMAT_VERSION + 1,
                                       "hmmtl_version": "9.0"})
    with pytest.raises(ModelFileError, match=rf"format version {serialize.FORMAT_VERSION + 1} "
                                             r"was written by a newer hmmtl "
                                             r"\(9\.0\).*upgrade hmmtl"):
        load(path)


@pytest.mark.parametrize("version", [0, "1", None, 1.0])
def test_invalid_format_version(tmp_path, version):
    path = save(_model(), tmp_path / "m.hmmtl")
    _rewrite(path, manifest=lambda m: {**m, "format_version": version})
    with pytest.raises(ModelFileError, match=r"invalid model format version"):
        load(path)


def test_unknown_class_is_never_imported(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    _rewrite(path, manifest=lambda m: {**m, "class": {"name": "system", "module": "os",
                                                      "qualname": "system"}})
    with pytest.raises(ModelFileError, match=r"model class 'system' is not an hmmtl model class"):
        load(path)


def test_known_name_in_another_module_is_refused(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    _rewrite(path, manifest=lambda m: {**m, "class": {"name": "CategoricalHMM",
                                                      "module": "evil.module"}})
    with pytest.raises(ModelFileError, match=r"said to live in module 'evil.module', but "
                                             r"hmmtl's CategoricalHMM lives in 'hmmtl.hmm'"):
        load(path)


def test_object_arrays_are_refused(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    buf = io.BytesIO()
    np.savez(buf, evil=np.array([{"a": 1}, None], dtype=object))
    payload = buf.getvalue()
    # a forger can recompute the checksum; allow_pickle=False still stops the load
    _rewrite(path, payload=payload, manifest=lambda m: {
        **m, "arrays_sha256": hashlib.sha256(payload).hexdigest(),
        "arrays": {"evil": {"shape": [2], "dtype": "|O"}}})
    with pytest.raises(ModelFileError, match=r"object \(pickled\) arrays.*refusing"):
        load(path)


def test_arrays_not_matching_manifest(tmp_path):
    path = save(_model(), tmp_path / "m.hmmtl")
    _rewrite(path, manifest=lambda m: {**m, "arrays": {**m["arrays"], "ids": {
        "shape": [10], "dtype": "<i4"}}})
    with pytest.raises(ModelFileError, match=r"array 'ids' has shape \(9,\).*manifest says"):
        load(path)


@pytest.mark.parametrize("content, message", [
    (b"", r"is empty"),
    (b"hello world, not a model\n", r"not an hmmtl model file \(expected a zip archive"),
    (b"\x00\x01" * 100, r"not an hmmtl model file"),
])
def test_not_a_model_file(tmp_path, content, message):
    path = tmp_path / "m.hmmtl"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_zip_without_manifest_and_bad_json(tmp_path):
    path = tmp_path / "m.hmmtl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("other.txt", "x")
    with pytest.raises(ModelFileError, match=r"no manifest.json inside"):
        load(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("arrays.npz", b"")
        z.writestr("manifest.json", "{not json")
    with pytest.raises(ModelFileError, match=r"manifest.json is not valid JSON"):
        load(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("arrays.npz", b"")
        z.writestr("manifest.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ModelFileError, match=r"manifest format is 'something-else'"):
        load(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model file .*nope.hmmtl' does not exist"):
        load(tmp_path / "nope.hmmtl")
    with pytest.raises(ModelFileError, match=r"is a folder"):
        load(tmp_path)


def test_from_state_failure_is_reported(tmp_path):
    path = save(PairModel(_model(), None, np.array([1.0])), tmp_path / "p.hmmtl")
    _rewrite(path, manifest=lambda m: {**m, "meta": {}})  # children meta dropped
    with pytest.raises(ModelFileError, match=r"cannot rebuild the PairModel.*KeyError"):
        load(path)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


# ----------------------------------------------------------------------------- saving
def test_missing_output_folder_writes_nothing(tmp_path):
    target = tmp_path / "no" / "such" / "m.hmmtl"
    with pytest.raises(FileNotFoundError, match=r"folder .*such' does not exist; create it"):
        save(_model(), target)
    assert list(tmp_path.iterdir()) == []


def test_unregistered_class_and_bad_state(tmp_path):
    class Loose(TableModel):
        pass

    with pytest.raises(TypeError, match=r"not a registered hmmtl model class.*it cannot be saved"):
        save(Loose(), tmp_path / "x.hmmtl")
    with pytest.raises(TypeError, match=r"array 'x' has dtype object, which would need pickle"):
        save(TableModel({"x": np.array([None, 1])}), tmp_path / "x.hmmtl")
    with pytest.raises(TypeError, match=r"meta must be JSON-serializable"):
        save(TableModel({}, {"f": object()}), tmp_path / "x.hmmtl")
    with pytest.raises(ValueError, match=r"array name '../up' is not allowed"):
        save(TableModel({"../up": np.ones(1)}), tmp_path / "x.hmmtl")
    assert list(tmp_path.iterdir()) == []


def test_failing_write_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = save(_model(0), tmp_path / "m.hmmtl")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    # a failure in the middle of writing the arrays
    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        save(_model(1), path)
    monkeypatch.undo()
    # a failure at the final rename
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save(_model(1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.hmmtl"]
    _assert_same(_model(0), load(path))


def test_registry_entries_must_follow_the_protocol(monkeypatch):
    class NoProtocol:
        pass

    monkeypatch.setitem(serialize.MODEL_CLASSES, "NoProtocol", __name__)
    globals()["NoProtocol"] = NoProtocol
    try:
        with pytest.raises(TypeError, match=r"must define _get_state\(\) and the classmethod"):
            serialize.model_class("NoProtocol")
    finally:
        del globals()["NoProtocol"]


def test_a_class_named_like_a_registered_one_is_not_saved(tmp_path):
    class CategoricalHMM(TableModel):
        pass

    with pytest.raises(TypeError, match=r"not a registered hmmtl model class"):
        save(CategoricalHMM(), tmp_path / "x.hmmtl")
    assert serialize.MODEL_CLASSES["CategoricalHMM"] == "hmmtl.hmm"


# ----------------------------------------------------------------------------- every class
def test_the_zoo_covers_every_model_class():
    from model_zoo import MODELS

    hmmtl_classes = [k for k, v in serialize.MODEL_CLASSES.items() if v.startswith("hmmtl.")]
    assert sorted(m.name for m in MODELS) == sorted(hmmtl_classes)
    for name in hmmtl_classes:
        assert serialize.model_class(name).__name__ == name


_LOAD_AND_APPLY = """
import json, sys
sys.path.insert(0, {tests!r})
from hmmtl.serialize import load
from model_zoo import MODELS, TEST_DOMAINS, TEST_SENTENCES
model = load({path!r})
assert type(model).__name__ == {name!r}, type(model)
apply = {{m.name: m.apply for m in MODELS}}[{name!r}]
print(json.dumps(apply(model, TEST_SENTENCES, TEST_DOMAINS)))
"""


@pytest.mark.parametrize("name", sorted(serialize.MODEL_CLASSES))
def test_every_model_class_loads_in_a_fresh_process(tmp_path, name):
    """Saved here, loaded by a new interpreter that imported nothing but hmmtl.serialize
    (no class may depend on another module having been imported first), and answering
    the same."""
    import subprocess
    import sys
    from pathlib import Path

    from model_zoo import MODELS, TEST_DOMAINS, TEST_SENTENCES

    entry = {m.name: m for m in MODELS}[name]
    model = entry.fit()
    path = save(model, tmp_path / "m.hmmtl")
    tests = str(Path(__file__).resolve().parent)
    script = _LOAD_AND_APPLY.format(tests=tests, path=str(path), name=name)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == entry.apply(model, TEST_SENTENCES, TEST_DOMAINS)


# ============================================================================ format version 2
V1 = os.path.join(os.path.dirname(__file__), "data", "model_v1")


def _perceptron(verbose=False):
    from hmmtl.crf import AveragedPerceptron

    X, y = [["the", "dog", "barks"], ["a", "cat", "sleeps"]], [["D", "N", "V"]] * 2
    return AveragedPerceptron(n_epochs=2, verbose=verbose).fit(X, y)


@pytest.mark.parametrize("field, change", [
    ("meta", lambda m: {**m, "meta": {**m["meta"], "params": 5}}),
    ("meta", lambda m: {**m, "meta": {**m["meta"], "labels": "NN"}}),
    ("info", lambda m: {**m, "info": {"tag_column": "ner"}}),
    ("class", lambda m: {**m, "class": {**m["class"], "qualname": "Other"}}),
    ("hmmtl_version", lambda m: {**m, "hmmtl_version": "0.0.1"}),
    ("arrays_sha256", lambda m: {**m, "arrays_sha256": "0" * 64}),
])
def test_any_change_to_the_manifest_fails_its_checksum(tmp_path, field, change):
    """Version 2 checksums the whole manifest: a changed parameter, label set, info or
    class name is a ModelFileError naming the file (it was an AttributeError from deep
    inside the model, or a model silently loaded with other metadata)."""
    path = save(_perceptron(), tmp_path / "m.hmmtl", info={"tag_column": "pos"})
    _rewrite(path, manifest=change, reseal=False)
    with pytest.raises(ModelFileError, match=rf"{path}: checksum mismatch: manifest\.json"):
        load(path)
    with pytest.raises(ModelFileError, match=r"checksum mismatch"):
        serialize.read_manifest(path)


def test_a_manifest_without_its_checksum_is_refused(tmp_path):
    path = save(_perceptron(), tmp_path / "m.hmmtl")
    _rewrite(path, manifest=lambda m: {k: v for k, v in m.items() if k != "manifest_sha256"},
             reseal=False)
    with pytest.raises(ModelFileError, match=r"'manifest_sha256' is missing"):
        load(path)


def test_forged_metadata_that_breaks_the_model_is_a_model_file_error(tmp_path):
    """Metadata forged with a matching checksum (or a version-1 file, which had none) that
    makes the model's own code fail is still a ModelFileError naming the file."""
    path = save(_perceptron(), tmp_path / "m.hmmtl")
    _rewrite(path, manifest=lambda m: {**m, "meta": {**m["meta"], "labels": "NN"}})
    with pytest.raises(ModelFileError, match=rf"{path}: "):
        load(path)


def test_verbose_is_not_saved(tmp_path):
    """A model fitted with a progress bar does not show one whenever it is loaded."""
    model = _perceptron(verbose=True)
    path = save(model, tmp_path / "m.hmmtl")
    assert "verbose" not in serialize.read_manifest(path)["meta"]["params"]
    loaded = load(path)
    assert loaded.verbose is False and model.verbose is True
    assert loaded.predict([["the", "cat", "barks"]]) == model.predict([["the", "cat", "barks"]])


def test_verbose_is_not_saved_in_nested_parameters(tmp_path):
    from hmmtl.transfer.pipeline import Tagger

    X, y = [["the", "dog", "barks"], ["a", "cat", "sleeps"]], [["D", "N", "V"]] * 2
    tagger = Tagger(labeler="perceptron", labeler_params={"n_epochs": 2, "verbose": True})
    path = save(tagger.fit(X, y), tmp_path / "t.hmmtl")
    text = json.dumps(serialize.read_manifest(path)["meta"])
    assert "verbose" not in text
    assert load(path).predict(X) == tagger.predict(X)


def test_a_version_1_file_still_loads():
    """tests/data/model_v1 holds a file written by format version 1 (an AveragedPerceptron
    fitted with verbose=True): it loads, predicts as it did, with verbose at its default."""
    path = os.path.join(V1, "perceptron.hmmtl")
    with open(os.path.join(V1, "perceptron.expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    manifest = serialize.read_manifest(path)
    assert manifest["format_version"] == 1 and "manifest_sha256" not in manifest
    assert manifest["info"] == {"tag_column": "pos"}
    model = load(path)
    assert model.verbose is False
    assert [list(map(str, s)) for s in model.predict(expected["test_sentences"])] == \
        expected["predicted"]


def test_a_version_1_file_saved_again_is_the_current_version(tmp_path):
    model = load(os.path.join(V1, "perceptron.hmmtl"))
    path = save(model, tmp_path / "m.hmmtl")
    manifest = serialize.read_manifest(path)
    assert manifest["format_version"] == serialize._PLAIN_VERSION == 4
    assert manifest["manifest_sha256"] == serialize._manifest_digest(manifest)


# ============================================================================ format version 3
V2 = os.path.join(os.path.dirname(__file__), "data", "model_v2")


def test_version_2_files_still_load():
    """tests/data/model_v2 holds files written by format version 2 (before the packages
    moved): a Tagger with an HMM, the HMM alone, and Brown clusters whose manifest names the
    former module ``hmmtl.clusters``.  They load, and predict what they predicted then."""
    with open(os.path.join(V2, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    test = expected["test_sentences"]
    for name in ("tagger_hmm", "hmm", "clusters"):
        assert serialize.read_manifest(os.path.join(V2, f"{name}.hmmtl"))["format_version"] == 2
    tagger = load(os.path.join(V2, "tagger_hmm.hmmtl"))
    assert [list(map(str, s)) for s in tagger.predict(test)] == expected["tagger_predicted"]
    hmm = load(os.path.join(V2, "hmm.hmmtl"))
    assert [list(map(int, s)) for s in hmm.predict(test)] == expected["hmm_states"]
    clusters = load(os.path.join(V2, "clusters.hmmtl"))
    assert type(clusters).__module__ == "hmmtl.ner.clusters"
    assert clusters.cluster_of(["dog", "runs", "the", "unicorn"]) == expected["clusters_of"]


def test_a_version_2_file_saved_again_is_the_current_version(tmp_path):
    model = load(os.path.join(V2, "tagger_hmm.hmmtl"))
    path = save(model, tmp_path / "m.hmmtl")
    assert serialize.read_manifest(path)["format_version"] == serialize._PLAIN_VERSION
    assert load(path).predict([["a", "dog", "sings"]]) == model.predict([["a", "dog", "sings"]])


# ============================================================================ format version 4
V3 = os.path.join(os.path.dirname(__file__), "data", "model_v3")


def test_a_version_3_file_still_loads_and_has_no_ngrams(tmp_path):
    """tests/data/model_v3 holds a chunker with a POS column written by format version 3
    (before n-gram features): it loads, predicts what it predicted then, and saved again it
    is a version-4 file that predicts the same."""
    with open(os.path.join(V3, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    path = os.path.join(V3, "chunker_pos.hmmtl")
    assert serialize.read_manifest(path)["format_version"] == 3
    model = load(path)
    assert model.feature_space_.extra_ngrams == {}
    extra = {"pos": expected["test_pos"]}
    assert model.predict(expected["test_sentences"], extra=extra) == expected["predicted"]
    again = save(model, tmp_path / "m.hmmtl")
    assert serialize.read_manifest(again)["format_version"] == serialize._PLAIN_VERSION == 4
    assert load(again).predict(expected["test_sentences"], extra=extra) == expected["predicted"]


# ----------------------------------------------------------------------------- shared parts
def test_a_part_two_parts_share_is_stored_once_and_shared_again(tmp_path):
    """The same object in two places of a model (a nested pair whose inner part is the outer
    one's left): its arrays are stored once, the second place names the first, the file is
    version 5, and the loaded model shares one object again."""
    inner = TableModel({"w": np.arange(1000.0)}, {"name": "shared"})
    outer = PairModel(PairModel(TableModel({"v": np.ones(3)}), inner, np.zeros(1)), inner,
                      np.ones(2))
    path = save(outer, tmp_path / "m.hmmtl")
    manifest = serialize.read_manifest(path)
    assert manifest["format_version"] == serialize._SHARED_VERSION == 5
    assert manifest["meta"]["children"]["right"] == {"same_as": "left/right"}
    assert sorted(manifest["arrays"]) == ["left/left/v", "left/right/w", "left/scale", "scale"]
    back = load(path)
    assert back.right is back.left.right
    assert back.right.meta == {"name": "shared"}
    np.testing.assert_array_equal(back.right.arrays["w"], np.arange(1000.0))
    # two equal objects that are not the same object are stored twice, as version 4
    twice = PairModel(TableModel({"w": np.arange(3.0)}), TableModel({"w": np.arange(3.0)}),
                      np.ones(1))
    path2 = save(twice, tmp_path / "twice.hmmtl")
    assert serialize.read_manifest(path2)["format_version"] == 4
    assert load(path2).left is not load(path2).right


@pytest.mark.parametrize("place", ["nowhere", "right", 7])
def test_a_shared_part_the_file_does_not_hold_before_it_is_refused(tmp_path, place):
    inner = TableModel({"w": np.arange(4.0)})
    path = save(PairModel(inner, inner, np.ones(1)), tmp_path / "m.hmmtl")

    def point_elsewhere(m):
        m["meta"]["children"]["right"] = {"same_as": place}
        return m
    _rewrite(path, manifest=point_elsewhere)
    with pytest.raises(ModelFileError, match=r"nested model 'right' is the part .* which the "
                                             r"file does not hold before it"):
        load(path)


def test_a_version_4_reader_refuses_a_file_with_shared_parts(tmp_path, monkeypatch):
    inner = TableModel({"w": np.arange(4.0)})
    path = save(PairModel(inner, inner, np.ones(1)), tmp_path / "m.hmmtl")
    monkeypatch.setattr(serialize, "FORMAT_VERSION", 4)
    with pytest.raises(ModelFileError, match=r"format version 5 was written by a newer hmmtl"):
        load(path)
