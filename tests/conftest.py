"""Shared fixtures: a private feature cache, fixed seeds, and access to ../shared/data."""

from __future__ import annotations

import random
import sys
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


@pytest.fixture(autouse=True)
def _no_plugin_left() -> Iterator[None]:
    """What a test registers (a plugin, a notebook's class, a task or source of its own)
    leaves with it: later tests' worker processes load every active plugin again, and `bench
    ls` reads the rungs live while one is active. The registries are loaded first, so what is
    restored is whole (a module imported once never registers again)."""
    from moviebench import plugins, usercode
    from moviebench.datasets import SOURCES
    from moviebench.models import MODELS
    from moviebench.tasks import TASKS

    registries = (MODELS, TASKS, SOURCES)
    for registry in registries:
        registry.names()
    saved = [dict(registry._items) for registry in registries]
    active, imported, path = list(plugins._ACTIVE), dict(usercode.IMPORTED), list(sys.path)
    yield
    for registry, items in zip(registries, saved):
        registry._items.clear()
        registry._items.update(items)
    plugins._ACTIVE[:] = active
    usercode.IMPORTED.clear()
    usercode.IMPORTED.update(imported)
    sys.path[:] = path


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip: tests that need the development data are marked shared_data."""
    if not SHARED_DATA.exists():
        pytest.skip(f"development data not found at {SHARED_DATA}")
    return SHARED_DATA
