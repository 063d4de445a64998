"""Shared fixtures.  Corpora come from ``HMMTL_DATA``; tests that need them skip when it is
absent, unless ``HMMTL_REQUIRE_DATA=1`` (CI), where a missing corpus is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _require_data() -> bool:
    return os.environ.get("HMMTL_REQUIRE_DATA", "") not in ("", "0", "false", "no")


def _missing(what: str):
    if _require_data():
        pytest.fail(f"{what} is missing but HMMTL_REQUIRE_DATA=1")
    pytest.skip(f"{what} not available (set HMMTL_DATA)")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The corpora directory (``HMMTL_DATA``), or skip (fail under HMMTL_REQUIRE_DATA=1)."""
    root = os.environ.get("HMMTL_DATA")
    if not root or not Path(root).is_dir():
        _missing(f"data directory HMMTL_DATA={root!r}")
    return Path(root).resolve()


@pytest.fixture(scope="session")
def require_file(data_dir):
    """``require_file("ud/en_ewt/x.conllu")`` -> Path, or skip/fail when it is absent."""

    def get(rel: str) -> Path:
        p = data_dir / rel
        if not p.exists():
            _missing(str(p))
        return p

    return get
