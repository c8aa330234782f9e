"""Timings of the hot paths (pytest-benchmark), run on demand, never part of `pytest`.

    python -m pytest benchmarks --benchmark-storage=file://benchmarks/saved --benchmark-save=baseline
    python -m pytest benchmarks --benchmark-storage=file://benchmarks/saved --benchmark-compare \
        --benchmark-compare-fail=mean:25%
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moviebench.features.cache import cache_key, cached_array
from moviebench.splits import make_split
from moviebench.targets import MULTICLASS, MULTILABEL
from moviebench.tasks import TaskOptions
from moviebench.tasks.quality import QualitySettings, build

RNG = np.random.default_rng(0)
N = 50_000


def test_split_50k(benchmark) -> None:  # type: ignore[no-untyped-def]
    keys = np.array([f"film-{i}" for i in range(N)])
    split = benchmark(make_split, keys, 0)
    assert len(split.train) + len(split.val) + len(split.test) == N


def test_multiclass_metrics(benchmark) -> None:  # type: ignore[no-untyped-def]
    y = RNG.integers(0, 3, N)
    proba = RNG.dirichlet(np.ones(3), N)
    assert "macro_f1" in benchmark(MULTICLASS.evaluate, y, proba).metrics


def test_multilabel_thresholds_and_metrics(benchmark) -> None:  # type: ignore[no-untyped-def]
    y = (RNG.random((5000, 20)) < 0.15).astype(int)
    s = RNG.random((5000, 20))
    ev = benchmark(MULTILABEL.evaluate, y, s, labels=[f"g{i}" for i in range(20)], y_val=y, s_val=s)
    assert "mAP" in ev.metrics


def test_quality_feature_extraction(benchmark) -> None:  # type: ignore[no-untyped-def]
    table = pd.DataFrame(
        {
            "movie_id": [f"m{i}" for i in range(N)],
            "vote_average": RNG.uniform(1, 10, N),
            "vote_count": RNG.integers(0, 1000, N),
            "year": RNG.integers(1920, 2005, N),
            "runtime": RNG.integers(60, 200, N),
            "budget": RNG.integers(0, 10**8, N),
            "mpaa": RNG.choice(["PG", "R", None], N),
            "genres": [["Drama"] if i % 2 else ["Comedy"] for i in range(N)],
        }
    )
    data = benchmark(build, table, "ggplot2movies", TaskOptions(settings=QualitySettings()))
    assert len(data) > 0


@pytest.mark.parametrize("state", ["miss", "hit"])
def test_cache(benchmark, tmp_path: Path, state: str) -> None:  # type: ignore[no-untyped-def]
    array = RNG.random((N, 64)).astype(np.float32)
    key = cache_key(kind="bench")
    if state == "hit":
        cached_array("bench", key, lambda: array, root=tmp_path)
        out = benchmark(cached_array, "bench", key, lambda: array, root=tmp_path)
    else:
        out = benchmark(
            lambda: cached_array("bench", cache_key(n=RNG.random()), lambda: array, root=tmp_path)
        )
    assert out.shape == array.shape
