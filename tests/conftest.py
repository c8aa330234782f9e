"""Shared fixtures: a private feature cache, fixed seeds, and access to ../shared/data."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own feature cache and deterministic seeds."""
    monkeypatch.setenv("MOVIEBENCH_CACHE", str(tmp_path / "cache"))
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip: tests that need the development data are marked shared_data."""
    if not SHARED_DATA.exists():
        pytest.skip(f"development data not found at {SHARED_DATA}")
    return SHARED_DATA
