"""Compact storage of a recognizer's HMM emission tables (hmmtl.prune, emissions=
"log-float16"; model format version 3) and the pruning choice of the ready-made models
(hmmtl.studies.ready_models.choose_threshold)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from hmmtl import serialize
from hmmtl.hmm import CategoricalHMM
from hmmtl.hmm.estimators import compact_emissions, expand_emissions
from hmmtl.prune import prune, round_floats, save_compact
from hmmtl.serialize import ModelFileError, load, read_manifest, save
from hmmtl.studies.ready_models import MAX_LOSS, choose_threshold

from model_zoo import (DOMAINS, ENTITIES, POS, SENTENCES, TEST_SENTENCES, _pos_tags,
                       _recognizer)

#: a fixed text to tag, with words the HMM never saw
TEXT = TEST_SENTENCES + [["the", "man", "sees", "a", "unicorn", "."], ["zzz"]]


@pytest.fixture(scope="module")
def recognizer():
    """A recognizer whose first-stage features include an HMM's top states (hmm0)."""
    hmm = CategoricalHMM(4, n_iter=5, random_state=0).fit(SENTENCES + TEST_SENTENCES)
    return _recognizer().set_params(hmm=hmm).fit(SENTENCES, ENTITIES, columns={"pos": POS},
                                                 documents=DOMAINS)


def _tag(model, X=TEXT):
    return model.predict(X, columns={"pos": _pos_tags(X)}, documents=list(range(len(X))))


def _hmm_file(tmp_path, rounded=True):
    hmm = CategoricalHMM(4, n_iter=5, random_state=0).fit(SENTENCES)
    if rounded:
        hmm.emission_prob_ = expand_emissions(compact_emissions(hmm.emission_prob_))
        hmm.emission_storage_ = "log-float16"
    return hmm, save(hmm, tmp_path / "hmm.hmmtl")


def _rewrite_arrays(path, change, meta_change=None, version=None):
    """Rewrite a model file with ``change(arrays)`` applied to its arrays (and
    ``meta_change(meta)`` to its meta), every checksum made to match again, so that the
    loader's checks of the model itself are reached."""
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        with np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    arrays = change(arrays) or arrays
    buf = io.BytesIO()
    serialize._write_npz(buf, arrays)
    payload = buf.getvalue()
    manifest["arrays"] = {k: serialize._array_entry(v) for k, v in sorted(arrays.items())}
    manifest["arrays_sha256"] = hashlib.sha256(payload).hexdigest()
    if meta_change is not None:
        meta_change(manifest["meta"])
    if version is not None:
        manifest["format_version"] = version
    manifest["manifest_sha256"] = serialize._manifest_digest(manifest)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("arrays.npz", payload)
        z.writestr("manifest.json", json.dumps(manifest))


# ----------------------------------------------------------------------------- round trip
def test_recognizer_emissions_stored_as_float16_log_probabilities(recognizer, tmp_path):
    full = save(recognizer, tmp_path / "full.hmmtl")
    model = load(full)
    before = model.hmms_[0].type_distribution()
    prune(model, 0.0, "float16", emissions="log-float16")
    path = save_compact(model, tmp_path / "compact.hmmtl")
    manifest = read_manifest(path)
    assert manifest["format_version"] == serialize._PLAIN_VERSION == 4
    entry = manifest["arrays"]["hmm0/emission_prob"]
    assert entry["dtype"] == "<f2" and entry["shape"] == list(before.shape[::-1])
    assert manifest["meta"]["children"]["hmm0"]["meta"]["emission_storage"] == "log-float16"
    back = load(path)
    hmm = back.hmms_[0]
    # the loaded table is the rounded one, exactly; valid float64 probabilities
    assert hmm.emission_prob_.dtype == np.float64
    np.testing.assert_array_equal(hmm.emission_prob_, model.hmms_[0].emission_prob_)
    np.testing.assert_allclose(hmm.emission_prob_.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # against the unrounded model: p(state | word) within 0.005, the same tags
    assert np.abs(hmm.type_distribution() - before).max() < 5e-3
    assert _tag(back) == _tag(model) == _tag(recognizer)
    # saved again, the same bytes (the rounding is done once)
    assert save_compact(back, tmp_path / "again.hmmtl").read_bytes() == path.read_bytes()


def test_table_emissions_keep_float_storage(recognizer, tmp_path):
    model = load(save(recognizer, tmp_path / "full.hmmtl"))
    prune(model, 0.0, "float16")  # emissions="table": float32 probabilities, as before
    manifest = read_manifest(save_compact(model, tmp_path / "m.hmmtl"))
    assert manifest["arrays"]["hmm0/emission_prob"]["dtype"] == "<f4"
    assert "emission_storage" not in manifest["meta"]["children"]["hmm0"]["meta"]


def test_compact_file_is_smaller(recognizer, tmp_path):
    a, b = load(save(recognizer, tmp_path / "a.hmmtl")), load(tmp_path / "a.hmmtl")
    round_floats(a, "float32")
    round_floats(b, "float32", emissions="log-float16")
    sizes = []
    for model, name in ((a, "a32.hmmtl"), (b, "b16.hmmtl")):
        with zipfile.ZipFile(save_compact(model, tmp_path / name)) as z:
            sizes.append(z.getinfo("arrays.npz").file_size)
    n_entries = int(np.prod(a.hmms_[0].emission_prob_.shape))
    assert sizes[0] - sizes[1] == 2 * n_entries  # 4 bytes an entry -> 2, nothing else


def test_hmm_rounded_table_round_trips(tmp_path):
    hmm, path = _hmm_file(tmp_path)
    assert read_manifest(path)["arrays"]["emission_prob"]["dtype"] == "<f2"
    back = load(path)
    np.testing.assert_array_equal(back.emission_prob_, hmm.emission_prob_)
    assert back.emission_storage_ == "log-float16"
    assert back.predict(TEXT) == hmm.predict(TEXT)


def test_hmm_table_that_does_not_round_to_itself_is_stored_as_probabilities(tmp_path):
    """The storage is a wish: a table changed since it was rounded (refitted) is stored
    whole, so that a file never holds less than the model."""
    hmm = CategoricalHMM(4, n_iter=5, random_state=0).fit(SENTENCES)
    hmm.emission_storage_ = "log-float16"
    path = save(hmm, tmp_path / "hmm.hmmtl")
    manifest = read_manifest(path)
    assert manifest["arrays"]["emission_prob"]["dtype"] == "<f8"
    assert "emission_storage" not in manifest["meta"]
    np.testing.assert_array_equal(load(path).emission_prob_, hmm.emission_prob_)


def test_format_version_2_file_still_loads(tmp_path):
    """Version 2 (no emission storage) is read as before."""
    hmm, path = _hmm_file(tmp_path, rounded=False)
    _rewrite_arrays(path, lambda a: None, version=2)
    assert read_manifest(path)["format_version"] == 2
    np.testing.assert_array_equal(load(path).emission_prob_, hmm.emission_prob_)


# ----------------------------------------------------------------------------- corrupted
def _set(key, fn):
    def change(arrays):
        arr = arrays[key].copy()
        fn(arr)
        arrays[key] = arr
    return change


@pytest.mark.parametrize("change, message", [
    (_set("emission_prob", lambda a: a.__setitem__((1, 2), np.nan)),
     r"emission_prob \(log-float16\) holds NaN"),
    (_set("emission_prob", lambda a: a.__setitem__((2, 3), 0.5)),
     (r"emission_prob \(log-float16\) holds 0\.5 at \(2, 3\); log-probabilities relative "
      r"to the row's largest are <= 0")),
    (_set("emission_prob", lambda a: a.__setitem__(1, a[1] - 1)),
     r"emission_prob \(log-float16\) row \(1,\) has largest value -1, expected 0"),
    (_set("emission_prob", lambda a: a.__setitem__(0, -np.inf)),
     r"row \(0,\) has largest value -inf, expected 0"),
    (lambda a: a.update(emission_prob=a["emission_prob"].astype(np.float32)),
     r"emission_prob stored as log-float16 must be a float16 array"),
    (lambda a: a.update(emission_prob=a["emission_prob"][:, :-1]),
     r"emission_prob_ has shape \(4, \d+\), expected \(4, \d+\)"),
])
def test_loader_refuses_a_corrupted_compact_table(tmp_path, change, message):
    _, path = _hmm_file(tmp_path)
    _rewrite_arrays(path, change)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_loader_refuses_unknown_storage_or_a_compact_table_without_its_mark(tmp_path):
    _, path = _hmm_file(tmp_path)
    _rewrite_arrays(path, lambda a: None,
                    meta_change=lambda m: m.__setitem__("emission_storage", "log-float8"))
    with pytest.raises(ModelFileError, match=r"emission_storage 'log-float8' is not one of "
                                             r"\('float', 'log-float16'\)"):
        load(path)
    _, path = _hmm_file(tmp_path)
    _rewrite_arrays(path, lambda a: None, meta_change=lambda m: m.pop("emission_storage"))
    # read as probabilities, the log-probabilities are negative: refused, not used
    with pytest.raises(ModelFileError, match=r"emission_prob_ has a negative entry"):
        load(path)


def test_recognizer_file_with_a_corrupted_table_is_refused(recognizer, tmp_path):
    model = load(save(recognizer, tmp_path / "full.hmmtl"))
    prune(model, 0.0, "float16", emissions="log-float16")
    path = save_compact(model, tmp_path / "m.hmmtl")
    _rewrite_arrays(path, _set("hmm0/emission_prob", lambda a: a.__setitem__((0, 0), 1.0)))
    with pytest.raises(ModelFileError, match=r"cannot rebuild the NamedEntityRecognizer .*"
                                             r"log-float16\) holds 1 at \(0, 0\)"):
        load(path)


def test_prune_refuses_an_unknown_emission_storage(recognizer):
    with pytest.raises(ValueError, match=r"emissions must be one of \('table', "
                                         r"'log-float16'\), got 'float8'"):
        prune(recognizer, 0.0, emissions="float8")


# ----------------------------------------------------------------------------- the choice
def _rows(*pairs):
    return [{"threshold": t, "dev": d} for t, d in pairs]


def test_choice_stops_at_the_first_threshold_outside_the_band():
    base = 0.90
    rows = _rows((0.0, 0.9005), (0.01, 0.8995), (0.02, 0.8985), (0.05, 0.9))
    # 0.02 lost 0.15 point: the search ends there, 0.05 (back in the band) is not reached
    assert choose_threshold(rows, base)["threshold"] == 0.01


def test_a_dev_gain_beyond_the_band_also_ends_the_search():
    """es-ner's first build: 0.05 gained 0.18 on dev (and lost 0.16 on test)."""
    rows = _rows((0.0, 0.7637), (0.005, 0.7633), (0.01, 0.7649), (0.02, 0.7658),
                 (0.05, 0.7660), (0.1, 0.7584))
    assert choose_threshold(rows, 0.7642)["threshold"] == 0.01
    assert choose_threshold(rows, 0.7642, max_change=0.002)["threshold"] == 0.05


def test_choice_is_none_when_the_first_candidate_moves_too_much():
    assert choose_threshold(_rows((0.0, 0.88), (0.01, 0.9)), 0.9) is None
    assert choose_threshold(_rows((0.0, 0.9 + MAX_LOSS)), 0.9)["threshold"] == 0.0
