"""A tiny CSV in the ggplot2 `movies` layout, generated per test: rating depends on features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

GENRES = ["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short"]


def write_movies_csv(path: Path, n: int = 400, seed: int = 0) -> Path:
    """`n` films whose rating follows genre, runtime and votes, plus noise (learnable, not trivial)."""
    rng = np.random.default_rng(seed)
    flags = (rng.random((n, len(GENRES))) < 0.3).astype(int)
    length = rng.integers(70, 180, n)
    votes = rng.integers(10, 5000, n)
    rating = (5.8 + 0.9 * flags[:, 3] - 0.9 * flags[:, 0] + 0.6 * flags[:, 4]
              + 0.004 * (length - 120) + 0.25 * np.log(votes / 300) + rng.normal(0, 0.5, n))
    frame = pd.DataFrame({
        "title": [f"Film {i}" for i in range(n)],
        "year": rng.integers(1950, 2005, n),
        "length": length,
        "budget": np.where(rng.random(n) < 0.5, np.nan, rng.integers(10**5, 10**8, n)),
        "rating": np.clip(rating, 1, 10).round(1),
        "votes": votes,
        "mpaa": rng.choice(["", "PG", "R", "PG-13"], n),
    })
    for j, genre in enumerate(GENRES):
        frame[genre] = flags[:, j]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
