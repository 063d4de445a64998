"""Ready-made models that come with the package, by name.

=========  ===========================================================================
name       what
=========  ===========================================================================
en-pos     English POS tagger (Penn Treebank tags), WSJ adapted to web text
en-chunk   English chunker (CoNLL-2000 IOB2 chunks), WSJ adapted to web text
en-ner     English named entities (CoNLL-2003 types PER, ORG, LOC, MISC)
es-ner     Spanish named entities (CoNLL-2002)
nl-ner     Dutch named entities (CoNLL-2002)
=========  ===========================================================================

Every model reads words only (no POS or chunk input column), so that it tags raw text.
The files are ordinary hmmtl model files in ``hmmtl/models/data/``, written by ``hmmtl
models build`` (the recipe: :mod:`hmmtl.studies.ready_models`, which also adapts a model to
new text: ``hmmtl adapt``, :func:`hmmtl.studies.ready_models.adapt`), with ``catalog.json``: the
training data (with SHA-256 checksums), the recipe, the size and the measured scores of
each model.  Nothing is downloaded at run time.

Names and paths: :func:`resolve` takes either.  **An existing file wins**: ``en-pos`` is
the ready-made model unless a file called ``en-pos`` exists in the current folder, so a
user's own files never change meaning when a model is added to the package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["MODELS", "data_folder", "catalog", "resolve", "load", "is_model_name",
           "UnknownModelError"]

#: the ready-made models: name -> file in the data folder, task, language, what it is
MODELS = {
    "en-pos": {"file": "en-pos.hmmtl", "task": "pos", "language": "english",
               "description": "English POS tags (Penn Treebank), WSJ adapted to web text"},
    "en-chunk": {"file": "en-chunk.hmmtl", "task": "chunk", "language": "english",
                 "description": "English chunks (CoNLL-2000, IOB2), WSJ adapted to web text"},
    "en-ner": {"file": "en-ner.hmmtl", "task": "ner", "language": "english",
               "description": "English named entities (CoNLL-2003: PER ORG LOC MISC)"},
    "es-ner": {"file": "es-ner.hmmtl", "task": "ner", "language": "spanish",
               "description": "Spanish named entities (CoNLL-2002: PER ORG LOC MISC)"},
    "nl-ner": {"file": "nl-ner.hmmtl", "task": "ner", "language": "dutch",
               "description": "Dutch named entities (CoNLL-2002: PER ORG LOC MISC)"},
}

CATALOG = "catalog.json"


class UnknownModelError(LookupError):
    """A model name that is neither a ready-made model nor an existing file."""


def data_folder() -> Path:
    """The folder of the shipped model files (package data)."""
    return Path(__file__).resolve().parent / "data"


def catalog(folder=None) -> dict:
    """The catalog written by ``hmmtl models build`` (``{"models": {name: entry}}``); an
    empty one when no model has been built into ``folder`` (default: the package data)."""
    path = Path(folder or data_folder()) / CATALOG
    if not path.is_file():
        return {"models": {}}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def is_model_name(text) -> bool:
    """True when ``text`` is the name of a ready-made model."""
    return isinstance(text, str) and text in MODELS


def resolve(name_or_path) -> Path:
    """The model file that ``name_or_path`` stands for.

    An existing file is returned as it is (a path wins over a name); else a ready-made
    model's name gives its file in the package data.

    Raises
    ------
    FileNotFoundError
        ``name_or_path`` looks like a path (has a folder or a suffix) and does not exist,
        or names a ready-made model whose file is not installed.
    UnknownModelError
        Neither an existing file nor a known name: the message lists the known names.
    """
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.exists():
        return path
    if text in MODELS:
        shipped = data_folder() / MODELS[text]["file"]
        if not shipped.is_file():
            raise FileNotFoundError(f"ready-made model {text!r}: its file {shipped} is not "
                                    f"installed; build it with 'hmmtl models build --data DIR "
                                    f"--only {text}' (or reinstall hmmtl)")
        return shipped
    if os.sep in text or "/" in text or path.suffix:
        raise FileNotFoundError(f"model file {text!r} does not exist")
    raise UnknownModelError(f"{text!r} is neither a model file nor a ready-made model; the "
                            f"ready-made models are {', '.join(MODELS)} (list them with "
                            f"'hmmtl models')")


def load(name_or_path: str | os.PathLike, expected_class: type | str | None = None) -> Any:
    """The model of a file or of a ready-made model's name (see :func:`resolve`)."""
    from ..serialize import load as load_file

    return load_file(resolve(name_or_path), expected_class=expected_class)
