"""Shared fixtures: a private feature cache, fixed seeds, and access to ../shared/data."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own feature cache, deterministic seeds and one torch thread (tiny
    tensors: on a shared 2-core machine, thread hand-offs cost more than they save)."""
    monkeypatch.setenv("MOVIEBENCH_CACHE", str(tmp_path / "cache"))
    random.seed(0)
    np.random.seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip: tests that need the development data are marked shared_data."""
    if not SHARED_DATA.exists():
        pytest.skip(f"development data not found at {SHARED_DATA}")
    return SHARED_DATA
