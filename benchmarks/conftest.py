"""Inputs for the throughput benchmarks: real posters and overviews when ../shared/data is
there (for realism), generated ones otherwise, so the benchmarks run anywhere; and the
machine's measured matmul peak, so compute benchmarks can say what share of it they reach."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# count_flops lives with the epoch workloads (gpu_check.py uses both, without pytest).
from benchmarks.workloads import count_flops

__all__ = ["count_flops", "matmul_gflops"]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
N_IMAGES = 32
N_TEXTS = 64


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A private feature cache: benchmarks never read (or fill) the user's."""
    monkeypatch.setenv("MOVIEBENCH_CACHE", str(tmp_path / "cache"))
    yield


@pytest.fixture(scope="session")
def poster_paths(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """ML-1M posters (~300x450 JPEG), or generated JPEGs of that size and a similar file size."""
    folder = SHARED_DATA / "ml-1m" / "posters"
    if folder.is_dir():
        return [str(p) for p in sorted(folder.glob("*.jpg"))[:N_IMAGES]]
    out = tmp_path_factory.mktemp("posters")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(N_IMAGES):
        # Smooth colour fields plus noise: JPEG sizes like real posters (tens of KB).
        y, x = np.mgrid[0:450, 0:300]
        base = np.stack(
            [np.sin(x / (20 + 3 * i) + c) * np.cos(y / 30 + i) for c in range(3)], axis=-1
        )
        image = ((base + 1) * 110 + rng.normal(0, 12, base.shape)).clip(0, 255).astype(np.uint8)
        path = out / f"{i}.jpg"
        Image.fromarray(image).save(path, quality=90)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="session")
def overview_texts() -> list[str]:
    """TMDB overviews, or generated sentences of a similar spread of lengths (10 to 120 words)."""
    csv = SHARED_DATA / "tmdb-5000" / "tmdb_5000_movies.csv"
    if csv.exists():
        import pandas as pd

        return (
            pd.read_csv(csv, usecols=["overview"])["overview"]
            .dropna()
            .astype(str)
            .tolist()[:N_TEXTS]
        )
    rng = np.random.default_rng(0)
    words = "a young detective returns home to find her family hiding a secret that war love city night".split()
    return [" ".join(rng.choice(words, int(rng.integers(10, 120)))) for _ in range(N_TEXTS)]


def matmul_gflops(
    dtype: torch.dtype, n: int = 1024, seconds: float = 1.0, device: str = "cpu"
) -> float:
    """Best GFLOP/s of n x n matrix products in `dtype` on `device` over about `seconds`."""
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    a @ b  # warm-up: kernel selection, page faults
    sync()
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        a @ b
        sync()
        best = max(best, 2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return best


@pytest.fixture(scope="session")
def peak() -> dict[str, float]:
    """Measured dense-matmul GFLOP/s of this machine, FP32 and BF16, at torch's thread count."""
    return {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)}


@pytest.fixture(scope="session")
def epoch_device() -> str:
    """Where the epoch benchmarks train: the loop's own choice (CUDA when there is one)."""
    from moviebench.models.loop import pick_device

    return pick_device()


@pytest.fixture(scope="session")
def device_peak(epoch_device: str, peak: dict[str, float]) -> dict[str, float]:
    """The dense-matmul peak of the epoch device: the CPU's (above), or the GPU's at 8192²,
    FP32 and FP16 (the loop's autocast type on CUDA)."""
    if epoch_device == "cpu":
        return peak
    return {
        "fp32": matmul_gflops(torch.float32, 8192, 1.0, "cuda"),
        "fp16": matmul_gflops(torch.float16, 8192, 1.0, "cuda"),
    }
