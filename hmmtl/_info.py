"""What ``hmmtl info`` reports: versions, parallelism, accelerators, data.

Everything is probed defensively: a missing optional package is reported as such, never
raised.  CuPy and Dask are looked up with ``importlib.util.find_spec`` before they are
imported, so a machine without them pays nothing.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
from pathlib import Path

__all__ = ["collect", "format_report", "KNOWN_CORPORA"]

#: corpora hmmtl's studies and tests use, relative to the data folder
KNOWN_CORPORA = {
    "treebank (NLTK)": "nltk_data/corpora/treebank.zip",
    "conll2000 (NLTK)": "nltk_data/corpora/conll2000.zip",
    "brown (NLTK)": "nltk_data/corpora/brown.zip",
    "conll2002 (NLTK)": "nltk_data/corpora/conll2002.zip",
    "nps_chat (NLTK)": "nltk_data/corpora/nps_chat.zip",
    "universal_tagset (NLTK)": "nltk_data/taggers/universal_tagset.zip",
    "UD English EWT": "ud/en_ewt",
    "CoNLL-2003 English": "conll2003",
}

_PACKAGES = ("numpy", "scipy", "numba", "scikit-learn", "nltk", "tqdm", "threadpoolctl")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _numba_info() -> dict:
    try:
        import numba
    except ImportError as exc:  # pragma: no cover - numba is a core dependency
        return {"error": str(exc)}
    config = numba.config
    info = {"threads": int(numba.get_num_threads()),
            "max_threads": int(config.NUMBA_NUM_THREADS),
            "threading_layer_setting": str(config.THREADING_LAYER)}
    try:
        info["threading_layer"] = numba.threading_layer()
    except ValueError:
        # Chosen at the first parallel call; say which one that will be (Numba's order).
        available = []
        for layer in ("tbb", "omp", "workqueue"):
            try:
                importlib.import_module(f"numba.np.ufunc.{layer}pool")
                available.append(layer)
            except ImportError:
                continue
        info["threading_layers_available"] = available
        info["threading_layer"] = (f"{available[0]} (at first parallel call)" if available
                                   else "none available")
    return info


def _blas_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl not installed"}]
    import numpy  # noqa: F401 - load NumPy's BLAS so that it is listed

    try:
        import scipy.linalg  # noqa: F401
    except ImportError:
        pass
    keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer",
            "architecture")
    return [{k: lib.get(k) for k in keep if k in lib} for lib in threadpool_info()]


def _gpu_info() -> dict:
    if importlib.util.find_spec("cupy") is None:
        return {"cupy": None, "available": False, "reason": "CuPy is not installed "
                                                            "(pip install hmmtl[gpu])"}
    info: dict = {"cupy": _version("cupy") or _version("cupy-cuda12x") or "installed",
                  "available": False}
    try:
        import cupy

        n = int(cupy.cuda.runtime.getDeviceCount())
        info["devices"] = []
        for i in range(n):
            props = cupy.cuda.runtime.getDeviceProperties(i)
            name = props.get("name", b"?")
            info["devices"].append(name.decode() if isinstance(name, bytes) else str(name))
        info["available"] = n > 0
        if not n:
            info["reason"] = "no CUDA device found"
    except Exception as exc:  # noqa: BLE001 - any CUDA failure means "no GPU here"
        info["reason"] = f"{type(exc).__name__}: {exc}"
    return info


def _dask_info() -> dict:
    if importlib.util.find_spec("dask") is None:
        return {"dask": None, "available": False,
                "reason": "Dask is not installed (pip install hmmtl[dask])"}
    return {"dask": _version("dask"), "distributed": _version("distributed"),
            "available": importlib.util.find_spec("distributed") is not None}


def _data_info(data: str | None) -> dict:
    from .io.data_root import DATA_ENV, data_root

    source = "--data" if data else DATA_ENV
    found = data_root(data)
    root = None if found is None else str(found)
    info: dict = {"source": source if root else None, "path": root, "found": False,
                  "corpora": {}}
    if root and Path(root).is_dir():
        info["found"] = True
        info["path"] = str(Path(root).resolve())
        for name, rel in KNOWN_CORPORA.items():
            p = Path(root) / rel
            if p.is_dir():
                n = sum(1 for _ in p.iterdir())
                info["corpora"][name] = f"{rel}/ ({n} files)" if n else None
            else:
                info["corpora"][name] = rel if p.exists() else None
    nltk_paths = [str(Path(root) / "nltk_data")] if root else []
    info["nltk_data"] = [p for p in nltk_paths if Path(p).is_dir()]
    return info


def collect(data: str | None = None) -> dict:
    """Everything ``hmmtl info`` prints, as a JSON-able dict."""
    from . import __version__
    from ._cache import numba_cache_dir

    return {
        "hmmtl": __version__,
        "location": str(Path(__file__).resolve().parent),
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": {name: _version(name) for name in _PACKAGES},
        "numba": _numba_info(),
        "numba_cache_dir": numba_cache_dir(),
        "blas": _blas_info(),
        "gpu": _gpu_info(),
        "dask": _dask_info(),
        "data": _data_info(data),
    }


def format_report(r: dict) -> str:
    """The human-readable form of :func:`collect`'s dict."""
    lines = [f"hmmtl {r['hmmtl']} ({r['location']})",
             f"python {r['python']}",
             f"platform {r['platform']}, {r['cpus']} CPUs", ""]
    lines += [f"  {name:<14} {ver or 'not installed'}" for name, ver in r["packages"].items()]
    nb = r["numba"]
    lines += ["", f"numba threads     {nb.get('threads')} "
              f"(NUMBA_NUM_THREADS={nb.get('max_threads')})",
              f"threading layer   {nb.get('threading_layer')} "
              f"(setting: {nb.get('threading_layer_setting')})",
              f"kernel cache      {r['numba_cache_dir']}"]
    for lib in r["blas"]:
        if "error" in lib:
            lines.append(f"BLAS              unknown ({lib['error']})")
            continue
        lines.append(f"{lib.get('user_api', '?'):<17} {lib.get('internal_api')} "
                     f"{lib.get('version') or ''} threads={lib.get('num_threads')}"
                     + (f" ({lib['threading_layer']})" if lib.get("threading_layer") else ""))
    gpu = r["gpu"]
    if gpu["available"]:
        lines.append(f"GPU               CuPy {gpu['cupy']}: {', '.join(gpu['devices'])}")
    else:
        lines.append(f"GPU               not available: {gpu.get('reason')}")
    dask = r["dask"]
    lines.append(f"Dask              {dask['dask']} (distributed {dask.get('distributed')})"
                 if dask["available"] or dask["dask"] else
                 f"Dask              not available: {dask.get('reason')}")
    data = r["data"]
    lines.append("")
    if not data["found"]:
        where = f"{data['source']}={data['path']!r} is not a folder" if data["path"] else \
            "set HMMTL_DATA or pass --data DIR"
        lines.append(f"data              not found ({where})")
    else:
        lines.append(f"data              {data['path']} (from {data['source']})")
        for name, found in data["corpora"].items():
            lines.append(f"  {name:<24} {found or 'missing'}")
    return "\n".join(lines)
