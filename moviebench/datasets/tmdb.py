"""`tmdb`: the three published TMDB CSV layouts, told apart from their header.

| layout            | file (Kaggle)                                   | list columns                |
|-------------------|-------------------------------------------------|-----------------------------|
| `tmdb-5000`       | TMDB 5000, `tmdb_5000_movies.csv`               | JSON                        |
| `tmdb-full-2024`  | Full TMDB Movies 2024, `TMDB_movie_dataset_v11.csv` | comma-separated names   |
| `movies-metadata` | The Movies Dataset, `movies_metadata.csv`       | Python literals ('single') |

A row is dropped, and counted by reason, when its line has the wrong number of fields, its
id is not an integer, a numeric field holds text (the shifted rows of `movies_metadata.csv`
put a date in `budget`), or a list cell does not parse in its layout's encoding. Repeated
ids are collapsed to their first row. Empty cells are kept as missing values, and so are
the zeros TMDB writes for an unknown budget, revenue or runtime (counted as repairs).

`--data` is the CSV, or a folder holding one of the three files. A `posters/` folder beside
the CSV, with `<id>.jpg` files, fills the `poster` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from moviebench.datasets import register_source
from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec, require_columns
from moviebench.datasets.common import (
    MalformedCell,
    as_str,
    csv_header,
    distinct_cells,
    missing_if_not_finite,
    numbers,
    parse_list_cell,
    read_csv_strings,
    release_freed_heap,
)
from moviebench.datasets.images import poster_paths, with_checked_images
from moviebench.errors import DataError


@dataclass(frozen=True)
class Layout:
    name: str
    list_encoding: str  # how genres / companies / countries cells are written


LAYOUTS = {
    "tmdb-5000": Layout("tmdb-5000", "json"),
    "tmdb-full-2024": Layout("tmdb-full-2024", "names"),
    "movies-metadata": Layout("movies-metadata", "python"),
}
KNOWN_FILES = ("tmdb_5000_movies.csv", "TMDB_movie_dataset_v11.csv", "movies_metadata.csv")

REQUIRED = ["id", "title", "genres", "vote_average", "vote_count"]
# Source column -> canonical column. Absent optional columns become missing values (noted).
NUMERIC = {
    "vote_average": "vote_average",
    "vote_count": "vote_count",
    "popularity": "popularity",
    "budget": "budget",
    "revenue": "revenue",
    "runtime": "runtime",
}
# TMDB writes 0 for "not known" in these: as values they would read as free, unearning, 0-minute films.
UNKNOWN_IF_ZERO = ("budget", "revenue", "runtime")
TEXT = {
    "title": "title",
    "overview": "overview",
    "tagline": "tagline",
    "original_language": "language",
}
LISTS = {
    "genres": "genres",
    "production_companies": "n_companies",
    "production_countries": "n_countries",
}
USED = {"id", "release_date", "imdb_id", *NUMERIC, *TEXT, *LISTS}


def detect_layout(header: list[str]) -> Layout:
    """Which TMDB export a header belongs to: each has columns the others lack."""
    cols = set(header)
    if {"belongs_to_collection", "video"} & cols:
        return LAYOUTS["movies-metadata"]
    if {"backdrop_path", "imdb_id", "adult"} & cols:
        return LAYOUTS["tmdb-full-2024"]
    return LAYOUTS["tmdb-5000"]


def resolve_csv(path: Path) -> Path:
    """`--data` may name the CSV itself or a folder holding one of the known files."""
    if path.is_file():
        return path
    found = [path / name for name in KNOWN_FILES if (path / name).is_file()]
    if not found:
        found = sorted(path.glob("*.csv"))
    if len(found) != 1:
        raise DataError(
            f"--data {path}: expected one TMDB CSV ({', '.join(KNOWN_FILES)}) in the folder, "
            f"found {len(found) or 'none'}"
        )
    return found[0]


def _drop(frame: pd.DataFrame, bad: pd.Series, reason: str, report: LoadReport) -> pd.DataFrame:
    report.drop(reason, int(bad.sum()))
    return frame[~bad]


def _parse_lists(cells: pd.Series, encoding: str) -> tuple[pd.Series, pd.Series]:
    """Names per cell, None where the cell is malformed, and how many (NaN where malformed).
    Each distinct cell is parsed and counted once and rows share its list: on a million-row
    file the same genre lists repeat endlessly."""
    codes, uniques = distinct_cells(cells)
    parsed = np.empty(len(uniques) + 1, dtype=object)
    for j, cell in enumerate(uniques):
        try:
            parsed[j] = parse_list_cell(cell, encoding)
        except MalformedCell:
            parsed[j] = None
    parsed[-1] = []  # a missing cell (code -1): no names
    lengths = np.array([np.nan if p is None else len(p) for p in parsed], dtype=float)
    return (
        pd.Series(parsed[codes], index=cells.index, dtype=object),
        pd.Series(lengths[codes], index=cells.index),
    )


def load(path: Path | None) -> LoadedSource:
    if path is None:
        raise DataError("source 'tmdb' needs --data: a TMDB CSV")
    csv = resolve_csv(path)
    layout = detect_layout(csv_header(csv))
    report = LoadReport(source="tmdb", path=str(csv))
    report.notes.append(
        f"layout {layout.name} ({layout.list_encoding} list cells), told from the header"
    )
    raw = read_csv_strings(csv, report, usecols=lambda c: c in USED)
    require_columns(raw, REQUIRED, f"tmdb ({layout.name} layout) {csv}")
    absent = sorted(c for c in (*NUMERIC, *TEXT, *LISTS, "release_date") if c not in raw)
    if absent:
        report.notes.append(f"column(s) absent, left missing: {', '.join(absent)}")

    # Each test drops its rows before the next runs, so a row is counted under one reason.
    ids = numbers(raw["id"])
    raw = _drop(raw, ids.isna() | (ids % 1 != 0), "non-integer id", report)
    parsed_numbers = {}
    for col in NUMERIC:
        if col not in raw:
            continue
        values = numbers(raw[col])
        raw = _drop(raw, values.isna() & raw[col].notna(), f"non-numeric {col}", report)
        parsed_numbers[col] = values[raw.index]
    lists, lengths = {}, {}
    for col in LISTS:
        if col not in raw:
            continue
        parsed, lengths[col] = _parse_lists(raw[col], layout.list_encoding)
        lists[col] = parsed
        raw = _drop(raw, parsed.isna(), f"malformed {col} cell", report)

    movie_id = ids[raw.index].astype("int64").astype(str)
    dup = movie_id.duplicated(keep="first")
    raw = _drop(raw, dup, "duplicate movie id", report)
    movie_id = movie_id[~dup]
    index = raw.index

    table = pd.DataFrame({"movie_id": movie_id.to_numpy()})
    for col, canon in TEXT.items():
        # Arrow strings: a tenth of the memory of Python str objects at a million rows.
        table[canon] = raw[col].array if col in raw else None
    if "release_date" in raw:
        dates = pd.to_datetime(raw["release_date"], errors="coerce", format="%Y-%m-%d")
        report.repair(
            "unparseable release_date set missing",
            int((dates.isna() & raw["release_date"].notna()).sum()),
        )
        table["year"] = dates.dt.year.to_numpy(dtype=float)
        table["month"] = dates.dt.month.to_numpy(dtype=float)
    else:
        table["year"] = table["month"] = np.nan
    for col, canon in NUMERIC.items():
        table[canon] = (
            parsed_numbers[col][index].to_numpy(dtype=float) if col in parsed_numbers else np.nan
        )
    for col in UNKNOWN_IF_ZERO:
        zero = table[col] == 0
        report.repair(f"{col} 0 (unknown) set missing", int(zero.sum()))
        table.loc[zero, col] = np.nan
    missing_if_not_finite(table, report)
    table["genres"] = (
        list(lists["genres"][index]) if "genres" in lists else [[] for _ in range(len(table))]
    )
    for col in ("production_companies", "production_countries"):
        canon = LISTS[col]
        table[canon] = lengths[col][index].to_numpy(dtype=float) if col in lists else np.nan
    if "imdb_id" in raw:
        table["imdb_id"] = as_str(raw["imdb_id"])

    posters = csv.parent / "posters"
    # Posters are optional here: without a folder the report counts no images at all.
    table["poster"] = poster_paths(table["movie_id"], posters if posters.is_dir() else None)
    loaded = LoadedSource(table=table, report=report, root=csv.parent)
    del raw, lists, lengths, parsed_numbers
    release_freed_heap()
    return with_checked_images(loaded, "poster") if posters.is_dir() else loaded


register_source(
    SourceSpec(
        name="tmdb",
        description="a TMDB CSV: TMDB 5000, Full TMDB Movies 2024 (v11) or The Movies Dataset, told from the header",
        load=load,
        needs_path=True,
        path_hint="tmdb_5000_movies.csv, TMDB_movie_dataset_v11.csv or movies_metadata.csv (optional posters/<id>.jpg beside it)",
    )
)
