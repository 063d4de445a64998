"""Model files: one safe format for every hmmtl model.

A model file is a zip archive with two members:

``arrays.npz``
    The model's arrays in NumPy's ``.npz`` format, written with ``allow_pickle=False`` and
    read back with ``allow_pickle=False``: numbers and fixed-width strings only, never
    Python objects.
``manifest.json``
    ``format`` / ``format_version``, the hmmtl version that wrote it, the model class
    (module and qualified name, resolved only against the registry of hmmtl model classes
    below), the model's JSON metadata (parameters, vocabularies, label sets, feature
    templates), the name, shape and dtype of every array, the SHA-256 of the
    ``arrays.npz`` payload and (format version 2) the SHA-256 of the manifest itself, so
    that a change to any byte of the file is found when loading.

Nothing in a file is ever imported or executed: the class name selects an entry of
:data:`MODEL_CLASSES` (the one registry, :mod:`hmmtl._registry`), the arrays are plain data
and the metadata is JSON.

Every model class implements the protocol

* ``_get_state(self) -> (arrays: dict[str, ndarray], meta: dict)``
* ``@classmethod _from_state(cls, arrays, meta) -> model``

and inherits ``save(path)`` / ``load(path)`` from :class:`ModelFileMixin`.  A model made of
other models (a pipeline holding an HMM and a CRF) stores its parts in the same file with
:func:`pack_nested` / :func:`unpack_nested`.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib
import io
import json
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, Literal
from collections.abc import Callable, Iterator, Mapping

import numpy as np

# the one registry of model classes (a light module of its own, which ``import hmmtl`` reads)
from ._registry import FORMER_MODULES, MODEL_CLASSES

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "BYTE_WEIGHTS_VERSION",
    "require_format_version",
    "MODEL_CLASSES",
    "ModelFileError",
    "ModelFileMixin",
    "load",
    "load_with_info",
    "pack_nested",
    "model_class",
    "read_manifest",
    "save",
    "unpack_nested",
]

FORMAT = "hmmtl-model"
#: 2: the manifest's own SHA-256 (``manifest_sha256``) covers the class, the metadata and
#: the info, not only the arrays; run-time display parameters (``verbose``) are not stored.
#: 3: an HMM's emission table may be stored as float16 log-probabilities (its meta says
#: ``"emission_storage": "log-float16"``; :mod:`hmmtl.prune`), which a version-2 reader
#: would take for probabilities: such a reader refuses the file by its version instead.
#: Versions 2 and 3 differ in nothing else.
#: 4: a CRF's feature space may hold n-gram features of an extra column (``extra_ngrams``,
#: feature specs of kind ``"ngram"``), which a version-3 reader cannot score: it refuses the
#: file by its version.  Versions 3 and 4 differ in nothing else (a version-3 file's feature
#: space has no n-grams).  Version-1 files are read through :func:`_migrate_v1`.
#: Since version 4 the ``arrays.npz`` member is written deflated (it was stored); a zip
#: reader inflates it, so readers of every version read both, and the checksum is the same.
#: 5: a part that two parts of a model share (the Brown clusters and the HMM of a
#: :class:`~hmmtl.MultiTaskTagger` and of its recognizer) is stored once, the second place
#: naming the first (``{"same_as": "task2/clusters"}``, :func:`pack_nested`), which a
#: version-4 reader cannot rebuild: only files with such a part are written as version 5,
#: every other file stays version 4, byte for byte.
#: 6: a Tagger's learned type tables may store their weights as bytes (steps of 1/255,
#: :func:`hmmtl.transfer.pipeline.pack_table_weights`), which a version-5 reader would take
#: for the weights themselves: only files with such a table are written as version 6
#: (:func:`require_format_version`), every other file as before, byte for byte.
FORMAT_VERSION = 6
#: the version of a file without shared parts
_PLAIN_VERSION = 4
#: the version of a file with a shared part (and nothing of a later version)
_SHARED_VERSION = 5
#: the version of a file with a type table of byte weights
BYTE_WEIGHTS_VERSION = 6

_ARRAYS_MEMBER = "arrays.npz"
_MANIFEST_MEMBER = "manifest.json"
# Fixed member timestamps so that the same model always gives the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
_NESTED_SEP = "/"

class ModelFileError(ValueError):
    """A model file cannot be read: damaged, tampered with, of another version or class."""


# ----------------------------------------------------------------------------- loading checks
def check_shape(arr: np.ndarray, name: str, shape: tuple) -> np.ndarray:
    """``arr`` with shape ``shape`` (None: any length on that axis), else ModelFileError.

    Model classes call this (and :func:`check_index_array`, :func:`check_pointer_array`)
    in ``_from_state``, so that no kernel ever sees an array that does not fit the model.
    """
    got = tuple(np.shape(arr))
    if len(got) != len(shape) or any(w is not None and g != w for g, w in zip(got, shape)):
        want = "(" + ", ".join("n" if w is None else str(w) for w in shape) + \
            ("," if len(shape) == 1 else "") + ")"
        raise ModelFileError(f"array {name!r} has shape {got}, expected {want}")
    return arr


def check_index_array(arr: np.ndarray, name: str, low: int, high: int,
                      shape: tuple | None = None) -> np.ndarray:
    """``arr`` as int64, every value in ``[low, high)`` (and of ``shape``), else
    ModelFileError naming the array and the first value out of range."""
    arr = np.asarray(arr)
    if arr.size and arr.dtype.kind not in "iu":
        raise ModelFileError(f"array {name!r} must hold integers, got dtype {arr.dtype}")
    if shape is not None:
        check_shape(arr, name, shape)
    if arr.size:
        bad = (arr < low) | (arr >= high)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ModelFileError(f"array {name!r} holds {arr.ravel()[i]} at position {i}, "
                                 f"outside [{low}, {high})")
    return arr.astype(np.int64, copy=False)


def check_pointer_array(arr: np.ndarray, name: str, n_rows: int, total: int) -> np.ndarray:
    """A CSR row pointer: shape ``(n_rows + 1,)``, from 0 to ``total``, non-decreasing."""
    arr = check_index_array(arr, name, 0, total + 1, (n_rows + 1,))
    if arr[0] != 0 or arr[-1] != total:
        raise ModelFileError(f"array {name!r} must run from 0 to {total}, got {arr[0]} to "
                             f"{arr[-1]}")
    if (np.diff(arr) < 0).any():
        raise ModelFileError(f"array {name!r} must be non-decreasing")
    return arr


def check_float_array(arr: np.ndarray, name: str, shape: tuple) -> np.ndarray:
    """``arr`` as float64 of ``shape``, without NaN (infinities may be meaningful)."""
    arr = np.asarray(arr)
    if arr.dtype.kind != "f":
        raise ModelFileError(f"array {name!r} must hold floats, got dtype {arr.dtype}")
    check_shape(arr, name, shape)
    if np.isnan(arr).any():
        raise ModelFileError(f"array {name!r} holds NaN")
    return arr.astype(np.float64, copy=False)


@contextlib.contextmanager
def array_prefix(prefix: str) -> Iterator[None]:
    """Within, a ModelFileError about array ``'x'`` names it ``'<prefix>x'``, as the file
    does (a part's arrays are stored under its name: ``labeler/attr_ptr``)."""
    try:
        yield
    except ModelFileError as exc:
        raise ModelFileError(re.sub(r"array '([^']*)'", rf"array '{prefix}\1'", str(exc),
                                    count=1)) from None


# ----------------------------------------------------------------------------- registry
def model_class(key: str) -> type:
    """The class registered as ``key`` in :data:`MODEL_CLASSES` (its module imported now)."""
    cls = getattr(importlib.import_module(MODEL_CLASSES[key]), key)
    if not (callable(getattr(cls, "_get_state", None))
            and callable(getattr(cls, "_from_state", None))):
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} must define _get_state() and "
                        f"the classmethod _from_state(arrays, meta) to be a model class")
    return cls


def _class_key(cls: type) -> str:
    """The registry name of ``cls``, or a TypeError saying it cannot be saved."""
    key = cls.__qualname__
    if key in MODEL_CLASSES and model_class(key) is cls:
        return key
    raise TypeError(f"{cls.__module__}.{cls.__qualname__} is not a registered hmmtl model "
                    f"class (hmmtl.serialize.MODEL_CLASSES); it cannot be saved")


def _resolve_class(key: Any, module: Any, source: str) -> type[Any]:
    """Map a (name, module) pair read from a file to a registered class, importing nothing
    but the hmmtl module the registry names."""
    if not isinstance(key, str) or key not in MODEL_CLASSES:
        known = ", ".join(sorted(MODEL_CLASSES))
        raise ModelFileError(f"{source}: model class {key!r} is not an hmmtl model class "
                             f"(known: {known})")
    if module != MODEL_CLASSES[key] and module not in FORMER_MODULES.get(key, ()):
        raise ModelFileError(f"{source}: model class {key!r} is said to live in module "
                             f"{module!r}, but hmmtl's {key} lives in {MODEL_CLASSES[key]!r}")
    return model_class(key)


# ----------------------------------------------------------------------------- state checks
def _check_state(state: Any, cls: type) -> tuple[dict[str, np.ndarray], dict]:
    if not (isinstance(state, tuple) and len(state) == 2):
        raise TypeError(f"{cls.__qualname__}._get_state() must return (arrays, meta), got "
                        f"{type(state).__name__}")
    arrays, meta = state
    if not isinstance(arrays, Mapping) or not isinstance(meta, Mapping):
        raise TypeError(f"{cls.__qualname__}._get_state() must return (dict of arrays, dict), "
                        f"got ({type(arrays).__name__}, {type(meta).__name__})")
    out: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"array name {name!r} is not allowed in a model file: use letters, "
                             f"digits, '_', '.', '-', with '/' between nested parts")
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype {arr.dtype}, which would need pickle; "
                            f"store numbers or fixed-width strings (np.str_) instead")
        out[name] = arr
    try:
        meta_text = json.dumps(meta, sort_keys=True, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{cls.__qualname__}._get_state() meta must be JSON-serializable: "
                        f"{exc}") from exc
    return out, json.loads(meta_text)


def _array_entry(arr: np.ndarray) -> dict:
    return {"shape": list(arr.shape), "dtype": arr.dtype.str}


# ----------------------------------------------------------------------------- writing
class _HashingWriter(io.RawIOBase):
    """Write-through stream that hashes what passes; lets the array payload be streamed
    into the archive (bounded memory) while its checksum is computed."""

    def __init__(self, raw):
        self._raw = raw
        self._pos = 0
        self.sha256 = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        view = memoryview(b)
        self.sha256.update(view)
        self._raw.write(view)
        self._pos += view.nbytes
        return view.nbytes

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        self._raw.flush()


class _StreamWriter(io.RawIOBase):
    """``raw`` seen as a write-only, unseekable stream."""

    def __init__(self, raw):
        self._raw = raw
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        n = self._raw.write(b)
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        self._raw.flush()


def _zipinfo(name: str, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def _write_npz(stream, arrays: Mapping[str, np.ndarray]) -> None:
    """The ``np.savez`` layout (one ``NAME.npy`` per array), written member by member with
    ``allow_pickle=False`` so arbitrary names and large arrays go through."""
    with zipfile.ZipFile(stream, mode="w", compression=zipfile.ZIP_STORED) as npz:
        for name in sorted(arrays):
            with npz.open(_zipinfo(name + ".npy", zipfile.ZIP_STORED), "w",
                          force_zip64=True) as fh:
                np.lib.format.write_array(fh, arrays[name], allow_pickle=False)


def _build_manifest(key: str, arrays: dict, meta: dict, digest: str, info: Mapping,
                    version: int = _PLAIN_VERSION) -> dict:
    from . import __version__

    manifest = {
        "format": FORMAT,
        "format_version": version,
        "hmmtl_version": __version__,
        "class": {"name": key, "module": MODEL_CLASSES[key], "qualname": key},
        "arrays": {name: _array_entry(arrays[name]) for name in sorted(arrays)},
        "arrays_sha256": digest,
        "meta": meta,
        "info": info,
    }
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    return manifest


#: run-time settings kept out of model files: a model fitted with a progress bar must not
#: show one whenever it is loaded and refitted
_RUNTIME_PARAMS = ("verbose",)
_IS_CONTAINER = frozenset((list, dict)).__contains__


def _without_runtime_params(meta: Any) -> Any:
    """``meta`` with :data:`_RUNTIME_PARAMS` removed from every parameter mapping in it
    (``params``, and the ``labeler_params`` / ``hmm_params`` a pipeline passes on), at any
    depth (nested models)."""
    if isinstance(meta, list):
        # long flat lists (vocabularies) are returned as they are, without a call per item
        if not any(map(_IS_CONTAINER, map(type, meta))):
            return meta
        return [_without_runtime_params(v) for v in meta]
    if not isinstance(meta, dict):
        return meta
    out = {}
    for key, value in meta.items():
        value = _without_runtime_params(value)
        if (key == "params" or key.endswith("_params")) and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _RUNTIME_PARAMS}
        out[key] = value
    return out


def _manifest_digest(manifest: Mapping) -> str:
    """SHA-256 of the manifest's content (every field but ``manifest_sha256``), written in
    one canonical JSON form, so that it does not depend on the file's indentation."""
    content = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, allow_nan=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def save(model: Any, path: str | os.PathLike, *, info: Mapping | None = None,
         arrays_as: Callable[[str, np.ndarray], np.ndarray] | None = None) -> Path:
    """Write ``model`` to ``path`` as one hmmtl model file, atomically.

    The file is written to a temporary file in the same folder and renamed over ``path``
    only once complete, so a reader never sees half a file and an earlier model at ``path``
    survives any failure.

    Parameters
    ----------
    model : object
        An instance of a model class of :data:`MODEL_CLASSES`.
    path : str or path-like
        Output file; its folder must exist.
    info : mapping, optional
        JSON data about the model kept in the file beside it, such as the column of the
        training data its labels came from (``{"tag_column": "upos"}``, what ``hmmtl
        train`` records); read back with ``read_manifest(path)["info"]``.
    arrays_as : callable, optional
        ``arrays_as(name, array) -> array``: how each array of the model's state is stored
        (:func:`hmmtl.prune.save_compact` narrows dtypes with it); default: as it is.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileNotFoundError
        The output folder does not exist (nothing is written).
    TypeError
        The model's class is not registered, or its state holds object arrays or
        non-JSON metadata.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write model file {str(path)!r}: folder {str(folder)!r} "
                                f"does not exist; create it first")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write model file {str(path)!r}: it is a folder; "
                                f"give a file name such as {str(path / 'model.hmmtl')!r}")
    cls = type(model)
    key = _class_key(cls)
    with _places(_PACKING) as packed:
        arrays, meta = model._get_state()
    version = max(_SHARED_VERSION if packed.shared else _PLAIN_VERSION, packed.version)
    if arrays_as is not None:
        arrays = {k: arrays_as(k, np.asarray(v)) for k, v in arrays.items()}
    arrays, meta = _check_state((arrays, meta), cls)
    meta = _without_runtime_params(meta)
    info = dict(info or {})
    if getattr(model, "segmenter_", None) is not None:  # raw text split as it was trained
        info["segmenter"] = model.segmenter_.to_dict()
    try:
        info = json.loads(json.dumps(info, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"info must be a JSON-serializable mapping: {exc}") from exc

    from .io.atomic import OutputFile

    with OutputFile(path, binary=True, what="model file") as out:
        # a device or pipe is written as a stream: a character device claims to seek but
        # does not, which would corrupt the zip's headers; unseekable, zipfile writes the
        # sizes after each member instead
        stream = out.stream if out.atomic else _StreamWriter(out.stream)
        with zipfile.ZipFile(stream, mode="w") as archive:
            # the arrays deflated as one stream (about half the bytes of a CRF's or a
            # recognizer's tables; inflating them costs milliseconds when loading); the
            # checksum is over the uncompressed ``arrays.npz``
            with archive.open(_zipinfo(_ARRAYS_MEMBER, zipfile.ZIP_DEFLATED), "w",
                              force_zip64=True) as member:
                writer = _HashingWriter(member)
                _write_npz(writer, arrays)
            manifest = _build_manifest(key, arrays, meta, writer.sha256.hexdigest(), info,
                                       version)
            archive.writestr(_zipinfo(_MANIFEST_MEMBER, zipfile.ZIP_DEFLATED),
                             json.dumps(manifest, indent=1, sort_keys=True,
                                        ensure_ascii=False))
    return path


# ----------------------------------------------------------------------------- reading
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, struct.error, zipfile.LargeZipFile,
               NotImplementedError, RuntimeError)


def _open_archive(path: Path) -> zipfile.ZipFile:
    source = str(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {source!r} does not exist")
    if path.is_dir():
        raise ModelFileError(f"{source}: is a folder, not an hmmtl model file")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not head:
        raise ModelFileError(f"{source}: is empty, not an hmmtl model file")
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        if head == b"PK\x03\x04":
            raise ModelFileError(f"{source}: the model file is truncated or damaged ({exc}); "
                                 f"save the model again") from exc
        raise ModelFileError(f"{source}: not an hmmtl model file (expected a zip archive "
                             f"written by hmmtl save, got something else)") from exc


def _read_manifest(archive: zipfile.ZipFile, source: str) -> dict:
    names = set(archive.namelist())
    # A cut-off model file can still open as a zip: the end record found is then that of
    # the (uncompressed) inner arrays.npz, whose members are all NAME.npy.
    if names and (_ARRAYS_MEMBER in names or all(n.endswith(".npy") for n in names)) and (
            _MANIFEST_MEMBER not in names):
        raise ModelFileError(f"{source}: the model file is truncated or damaged (no "
                             f"{_MANIFEST_MEMBER} inside); save the model again")
    for member in (_MANIFEST_MEMBER, _ARRAYS_MEMBER):
        if member not in names:
            raise ModelFileError(f"{source}: not an hmmtl model file (no {member} inside)")
    info = archive.getinfo(_MANIFEST_MEMBER)
    _check_declared_size(info, _MANIFEST_RATIO * info.compress_size + (1 << 20), source,
                         "a manifest of this compressed size holds")
    try:
        text = archive.read(_MANIFEST_MEMBER)
        manifest = json.loads(text.decode("utf-8"))
    except _ZIP_ERRORS as exc:
        raise ModelFileError(f"{source}: the model file is truncated or damaged ({exc})") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{source}: manifest.json is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{source}: not an hmmtl model file (manifest format is "
                             f"{manifest.get('format') if isinstance(manifest, dict) else None!r},"
                             f" expected {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{source}: invalid model format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{source}: model format version {version} was written by a newer "
                             f"hmmtl ({manifest.get('hmmtl_version', '?')}); this hmmtl reads "
                             f"format versions 1 to {FORMAT_VERSION}; upgrade hmmtl to load it")
    if version == 1:
        manifest = _migrate_v1(manifest)
    else:
        digest = manifest.get("manifest_sha256")
        if not isinstance(digest, str):
            raise ModelFileError(f"{source}: manifest field 'manifest_sha256' is missing or not "
                                 f"a str; the file is damaged or was edited")
        if digest != _manifest_digest(manifest):
            raise ModelFileError(f"{source}: checksum mismatch: manifest.json (class, metadata "
                                 f"or info) was modified or damaged after saving; save the "
                                 f"model again")
    for field, kind in (("class", dict), ("arrays", dict), ("arrays_sha256", str),
                        ("meta", dict), ("info", dict)):
        if not isinstance(manifest.get(field), kind):
            raise ModelFileError(f"{source}: manifest field {field!r} is missing or not a "
                                 f"{kind.__name__}")
    manifest["meta"] = _without_runtime_params(manifest["meta"])
    return manifest


def _migrate_v1(manifest: dict) -> dict:
    """A format-version-1 manifest in the form of version 2.

    Version 1 had no ``manifest_sha256`` (only the arrays were checksummed: such a file's
    metadata cannot be checked, and a file edited there fails in ``_from_state`` instead,
    still as a ModelFileError), files written before ``info`` existed have none, and the
    parameters may hold ``verbose`` (dropped with the version-2 rule when the meta is read).
    """
    manifest = dict(manifest)
    if "info" not in manifest:
        manifest["info"] = {}
    return manifest


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a model file (class, versions, arrays, meta), without loading arrays.

    Raises
    ------
    ModelFileError
        When ``path`` is not a readable hmmtl model file.
    """
    path = Path(path)
    with _open_archive(path) as archive:
        return _read_manifest(archive, str(path))


#: bytes a model file may hold beside the array data: npy headers and zip records per array
_ARRAY_OVERHEAD = 4096
#: a manifest may expand this much from its compressed size (JSON deflates 5-20 times)
_MANIFEST_RATIO = 200


def _expected_nbytes(manifest: dict, source: str) -> dict[str, int]:
    """Bytes of each array's data as the manifest's shapes and dtypes say."""
    out = {}
    for name, entry in manifest["arrays"].items():
        try:
            shape = tuple(int(d) for d in entry["shape"])
            dtype = np.dtype(entry["dtype"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{source}: manifest entry of array {name!r} is malformed "
                                 f"({exc})") from None
        if dtype.hasobject:
            raise ModelFileError(f"{source}: holds object (pickled) arrays, which hmmtl never "
                                 f"writes; refusing to load them")
        if any(d < 0 for d in shape):
            raise ModelFileError(f"{source}: manifest entry of array {name!r} is invalid: "
                                 f"{entry}")
        out[name] = int(np.prod(shape, dtype=np.float64) * dtype.itemsize)
    return out


def _check_declared_size(info: zipfile.ZipInfo, limit: float, source: str, what: str) -> None:
    """Refuse a member whose declared size is beyond ``limit`` before decompressing it."""
    if info.file_size > limit:
        raise ModelFileError(f"{source}: {info.filename} declares {info.file_size} bytes, far "
                             f"more than {what} ({int(limit)} bytes at most); the file is "
                             f"damaged or forged")


def _read_arrays(archive: zipfile.ZipFile, manifest: dict, source: str) -> dict[str, np.ndarray]:
    nbytes = _expected_nbytes(manifest, source)
    _check_declared_size(archive.getinfo(_ARRAYS_MEMBER),
                         sum(nbytes.values()) + _ARRAY_OVERHEAD * (len(nbytes) + 1), source,
                         "the arrays of its manifest take")
    try:
        payload = archive.read(_ARRAYS_MEMBER)
    except _ZIP_ERRORS as exc:
        raise ModelFileError(f"{source}: the model file is truncated or damaged ({exc}); "
                             f"save the model again") from exc
    digest = hashlib.sha256(payload).hexdigest()
    if digest != manifest["arrays_sha256"]:
        raise ModelFileError(f"{source}: checksum mismatch: the arrays were modified or "
                             f"damaged after saving (sha256 {digest[:12]}..., manifest says "
                             f"{str(manifest['arrays_sha256'])[:12]}...)")
    expected = manifest["arrays"]
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as npz:
            members = {n[:-4]: n for n in npz.namelist() if n.endswith(".npy")}
            if set(members) != set(expected) or len(members) != len(npz.namelist()):
                missing = sorted(set(expected) - set(members))
                extra = sorted(set(npz.namelist()) - {m + ".npy" for m in expected})
                raise ModelFileError(f"{source}: arrays do not match the manifest (missing "
                                     f"{missing}, unexpected {extra})")
            for name, member in members.items():
                arrays[name] = _read_npy(npz, member, name, expected[name], nbytes[name],
                                         source)
    except ValueError as exc:
        if isinstance(exc, ModelFileError):
            raise
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise ModelFileError(f"{source}: holds object (pickled) arrays, which hmmtl never "
                                 f"writes; refusing to load them") from exc
        raise ModelFileError(f"{source}: arrays.npz is damaged ({exc})") from exc
    except (*_ZIP_ERRORS, OSError) as exc:
        raise ModelFileError(f"{source}: arrays.npz is damaged ({exc})") from exc
    return arrays


def _read_npy(npz: zipfile.ZipFile, member: str, name: str, entry: dict, nbytes: int,
              source: str) -> np.ndarray:
    """One ``.npy`` member, its header checked against the manifest before its data is
    read (NumPy allocates the whole array from the header's shape first)."""
    info = npz.getinfo(member)
    _check_declared_size(info, nbytes + _ARRAY_OVERHEAD, source + f" ({name})",
                         "its shape and dtype in the manifest take")
    with npz.open(member) as fh:
        version = np.lib.format.read_magic(fh)
        readers = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise ModelFileError(f"{source}: array {name!r} has an unknown .npy version "
                                 f"{version}")
        shape, fortran, dtype = readers[version](fh)
        if dtype.hasobject:
            raise ModelFileError(f"{source}: holds object (pickled) arrays, which hmmtl never "
                                 f"writes; refusing to load them")
        if {"shape": list(shape), "dtype": dtype.str} != {"shape": entry.get("shape"),
                                                          "dtype": entry.get("dtype")}:
            raise ModelFileError(f"{source}: array {name!r} has shape {tuple(shape)} and dtype "
                                 f"{dtype.str}, but the manifest says {entry}")
        data = fh.read(nbytes + 1)
    if len(data) != nbytes:
        raise ModelFileError(f"{source}: array {name!r} holds {len(data)} bytes of data, "
                             f"expected {nbytes} for shape {tuple(shape)} and dtype {dtype.str}")
    arr = np.frombuffer(data, dtype=dtype)
    order: Literal["C", "F"] = "F" if fortran else "C"
    return arr.reshape(shape, order=order).copy(order=order) if arr.size else \
        np.zeros(shape, dtype=dtype, order=order)


def load(path: str | os.PathLike, expected_class: type | str | None = None) -> Any:
    """Read a model written by :func:`save`.

    Parameters
    ----------
    path : str or path-like
    expected_class : type or str, optional
        Fail unless the file holds an instance of this class (or a subclass of it).

    Returns
    -------
    model
        A new instance, built by the class's ``_from_state``.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ModelFileError
        The file is not an hmmtl model file, is truncated or tampered with (checksum), was
        written by a newer format version, names a class that is not an hmmtl model class,
        holds another class than ``expected_class``, or contains object arrays.
    """
    return load_with_info(path, expected_class)[0]


def load_with_info(path: str | os.PathLike,
                   expected_class: type | str | None = None) -> tuple[Any, dict]:
    """:func:`load`'s model and the ``info`` saved with it (:func:`read_manifest`'s), from
    one reading of the file."""
    path = Path(path)
    source = str(path)
    with _open_archive(path) as archive:
        manifest = _read_manifest(archive, source)
        info = manifest["class"]
        key = info.get("name", info.get("qualname"))
        cls = _resolve_class(key, info.get("module"), source)
        if expected_class is not None:
            if isinstance(expected_class, str):
                ok, want = key == expected_class, expected_class
            else:
                ok, want = issubclass(cls, expected_class), expected_class.__qualname__
            if not ok:
                raise ModelFileError(f"{source}: holds a {key} model, expected a {want}; "
                                     f"load it with hmmtl.load or {key}.load")
        arrays = _read_arrays(archive, manifest, source)
    try:
        with _places(_UNPACKING):  # the parts of the whole file, for the parts it stores once
            model = cls._from_state(arrays, manifest["meta"])
        if "segmenter" in manifest.get("info", {}):
            from .io.segment import Segmenter

            model.segmenter_ = Segmenter.from_dict(manifest["info"]["segmenter"])
        return model, manifest["info"]
    except ModelFileError as exc:
        message = str(exc)
        raise ModelFileError(message if message.startswith(source) else
                             f"{source}: {message}") from None
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{source}: cannot rebuild the {key} from the file "
                             f"({type(exc).__name__}: {exc}); was it written by another "
                             f"hmmtl version ({manifest.get('hmmtl_version', '?')})?") from exc


# ----------------------------------------------------------------------------- the mixin
class ModelFileMixin:
    """``save(path)`` and ``load(path)`` for a model class of :data:`MODEL_CLASSES`: the
    model as one hmmtl model file (no pickle), through :func:`save` and :func:`load`.

    ``load`` refuses a file that holds another class than the one it is called on (or a
    subclass of it), naming both: ``CategoricalHMM.load`` of a CRF's file fails with "holds
    a LinearChainCRF model, expected a CategoricalHMM"; :func:`hmmtl.load` takes any.
    """

    __slots__ = ()

    def save(self, path: str | os.PathLike, *, info: Mapping | None = None) -> Path:
        """Write the model to ``path`` as one hmmtl model file, atomically (see
        :func:`hmmtl.serialize.save`); returns the path written."""
        return save(self, path, info=info)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """The model saved in ``path`` by :meth:`save`; a :class:`ModelFileError` when the
        file holds another class."""
        return load(path, expected_class=cls)


# ----------------------------------------------------------------------------- nesting
def pack_nested(children: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict]:
    """Gather the states of child models into one ``(arrays, meta)`` pair.

    A model made of other models calls this in its ``_get_state`` and stores the returned
    meta under a key of its own; arrays of child ``"hmm"`` are named ``"hmm/<name>"``.
    Children may themselves be nested.  ``None`` children are kept as ``None``.

    Parameters
    ----------
    children : mapping of str to model or None
        Names must be valid array-name parts (no ``'/'``).

    Returns
    -------
    arrays : dict of str to ndarray
    meta : dict
        ``{name: {"class": ..., "module": ..., "meta": ...} or None}``

    Examples
    --------
    >>> arrays, children = pack_nested({"hmm": None})
    >>> arrays, children
    ({}, {'hmm': None})
    """
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    states: dict[str, Any] = {}
    with _places(_PACKING) as packed:
        # in the order of the names, as unpack_nested reads them: a part two places share
        # is stored at the first of them in that order (depth first), the other names it
        for name in sorted(children, key=str):
            if not isinstance(name, str) or _NESTED_SEP in name or not _NAME_RE.match(name):
                raise ValueError(f"nested model name {name!r} must be a simple name without "
                                 f"'/'")
            child = children[name]
            if child is None:
                states[name] = None
                continue
            path = packed.path + name
            first = packed.places.get(id(child))
            if first is not None and first[1] is child:  # stored already: named, not copied
                states[name] = first[0]
                packed.shared = True
                continue
            packed.places[id(child)] = (path, child)
            outer, packed.path = packed.path, path + _NESTED_SEP
            try:
                states[name] = _check_state(child._get_state(), type(child))
            finally:
                packed.path = outer
    for name, child in children.items():
        state = states[name]
        if state is None:
            meta[name] = None
        elif isinstance(state, str):
            meta[name] = {"same_as": state}
        else:
            child_arrays, child_meta = state
            for array_name, arr in child_arrays.items():
                arrays[f"{name}{_NESTED_SEP}{array_name}"] = arr
            key = _class_key(type(child))
            meta[name] = {"class": key, "module": MODEL_CLASSES[key], "meta": child_meta}
    return arrays, meta


class _Places:
    """The parts packed so far while one model's state is gathered (by object: where each
    is stored), or rebuilt so far while it is read (by place), and the place of the part
    being packed or rebuilt now."""

    def __init__(self):
        self.places: dict = {}
        self.path = ""
        self.shared = False
        self.version = _PLAIN_VERSION


_PACKING: contextvars.ContextVar[_Places | None] = contextvars.ContextVar("hmmtl_packing",
                                                                         default=None)
_UNPACKING: contextvars.ContextVar[_Places | None] = contextvars.ContextVar("hmmtl_unpacking",
                                                                           default=None)


def require_format_version(version: int) -> None:
    """Called from a model's ``_get_state`` while :func:`save` gathers it: the file needs a
    reader of at least format ``version`` (a part that older readers would misread), so it
    is written with that version and older readers refuse it.  Outside a save, nothing."""
    packed = _PACKING.get()
    if packed is not None:
        packed.version = max(packed.version, int(version))


@contextlib.contextmanager
def _places(record: contextvars.ContextVar[_Places | None]) -> Iterator[_Places]:
    """The parts packed for the model being saved (``_PACKING``) or rebuilt for the model
    being loaded (``_UNPACKING``): a fresh record at the outermost call, kept for the calls
    within."""
    places = record.get()
    if places is not None:
        yield places
        return
    token = record.set(_Places())
    try:
        yield record.get()  # type: ignore[misc]
    finally:
        record.reset(token)


def unpack_nested(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Rebuild the child models stored by :func:`pack_nested`.

    Parameters
    ----------
    arrays : mapping of str to ndarray
        The parent's arrays (the children's are picked out by their name prefix).
    meta : mapping
        The meta returned by :func:`pack_nested`.

    Returns
    -------
    dict of str to model or None
    """
    if not isinstance(meta, Mapping):
        raise ModelFileError(f"nested model meta must be a mapping, got {type(meta).__name__}")
    built: dict[str, Any] = {}
    with _places(_UNPACKING) as rebuilt:
        for name in sorted(meta, key=str):  # the order of pack_nested
            entry = meta[name]
            if entry is None:
                built[name] = None
                continue
            if isinstance(entry, Mapping) and set(entry) == {"same_as"}:
                # a part stored once, at an earlier place of the same file
                place = entry["same_as"]
                if not isinstance(place, str) or place not in rebuilt.places:
                    raise ModelFileError(f"nested model {name!r} is the part {place!r}, "
                                         f"which the file does not hold before it")
                built[name] = rebuilt.places[place]
                continue
            if not isinstance(entry, Mapping) or "class" not in entry or "meta" not in entry:
                raise ModelFileError(f"nested model {name!r}: meta entry is malformed")
            cls = _resolve_class(entry["class"], entry.get("module"), f"nested model {name!r}")
            prefix = f"{name}{_NESTED_SEP}"
            child_arrays = {k[len(prefix):]: v for k, v in arrays.items()
                            if k.startswith(prefix)}
            outer, rebuilt.path = rebuilt.path, rebuilt.path + prefix
            try:
                with array_prefix(prefix):
                    built[name] = cls._from_state(child_arrays, entry["meta"])
            finally:
                rebuilt.path = outer
            rebuilt.places[rebuilt.path + name] = built[name]
    out = {name: built[name] for name in meta}
    return out
