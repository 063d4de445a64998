"""Sphinx configuration of hmmtl's documentation (``sphinx-build -W -b html docs OUT``)."""

from __future__ import annotations

import os
import sys

# the package of this checkout, not an installed copy
sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))

import hmmtl

project = "hmmtl"
author = "the hmmtl developers"
copyright = "the hmmtl developers, BSD-3-Clause"
version = release = hmmtl.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "cli_help",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: the README's Markdown as it is, headings as link targets (#raw-text)
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# the API reference: numpydoc docstrings, members in source order, signatures without
# the module prefix; optional third-party packages are not needed to build it
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_mock_imports = ["cupy", "dask", "distributed", "pyspark"]
add_module_names = False
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes" as fields, not a second description of each member
# shapes in docstrings ("of shape (n_tokens, n_states)") name dimensions, not the attributes
# of the same name that several classes have: no cross-reference is meant
suppress_warnings = ["ref.python"]

html_theme = "alabaster"
html_title = f"hmmtl {release}"
