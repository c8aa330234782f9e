"""Tiny generated datasets for fast tests. Nothing here is real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from moviebench.datasets.ggplot2movies import GENRE_FLAGS


def write_ggplot2_csv(path: Path, n: int = 400, seed: int = 0) -> Path:
    """A CSV in the ggplot2 `movies` layout whose rating depends on votes, budget and genre."""
    rng = np.random.default_rng(seed)
    votes = np.exp(rng.uniform(2.4, 9.0, n)).astype(int)  # all above the 10-vote filter
    budget = np.where(rng.random(n) < 0.5, np.nan, rng.lognormal(15, 1.5, n))
    drama = rng.random(n) < 0.4
    rating = np.clip(
        3.3 + 0.35 * np.log1p(votes) + 1.5 * drama + rng.normal(0, 0.4, n), 1, 10
    ).round(1)
    frame = pd.DataFrame(
        {
            "title": [f"Film {i}" for i in range(n)],
            "year": rng.integers(1950, 2005, n),
            "length": rng.integers(70, 180, n),
            "budget": budget,
            "rating": rating,
            "votes": votes,
            **{f"r{i}": rng.random(n) * 10 for i in range(1, 11)},
            "mpaa": rng.choice(["", "R", "PG", "PG-13"], n),
        }
    )
    for genre in GENRE_FLAGS:
        frame[genre] = (rng.random(n) < 0.2).astype(int)
    frame["Drama"] = drama.astype(int)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
