"""`poster-csv`: Kaggle "Movie Genre from its Poster" (`MovieGenre.csv` + `<imdbId>.jpg` files).

The CSV is `imdbId, Imdb Link, Title, IMDB Score, Genre, Poster`, Latin-1 encoded, with
pipe-separated genres and the year in the title. `--data` is the folder holding the CSV (or
the CSV itself); posters are looked for in `posters/`, `SampleMoviePosters/`, the CSV's
own folder, or else its only subfolder holding JPEGs. `poster` is None when a film has no
file; 0-byte and truncated files are kept, counted unreadable and listed in the report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moviebench.datasets import register_source
from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec, require_columns
from moviebench.datasets.common import (
    missing_if_not_finite,
    numbers,
    read_csv_strings,
    split_title_year,
)
from moviebench.datasets.images import poster_paths, with_checked_images
from moviebench.errors import DataError

REQUIRED = ["imdbId", "Title", "Genre"]
POSTER_FOLDERS = ("posters", "SampleMoviePosters")


def resolve_csv(path: Path) -> Path:
    if path.is_file():
        return path
    for candidate in (path / "MovieGenre.csv", *sorted(path.glob("*.csv"))):
        if candidate.is_file():
            return candidate
    raise DataError(f"--data {path}: no MovieGenre.csv (or other CSV) in the folder")


def find_poster_folder(folder: Path) -> Path | None:
    """Where the `<imdbId>.jpg` files are: a known subfolder, the folder itself, or its one subfolder of JPEGs."""
    for name in POSTER_FOLDERS:
        if (folder / name).is_dir():
            return folder / name
    if next(folder.glob("*.jpg"), None) is not None:
        return folder
    with_jpegs = [
        d
        for d in sorted(folder.iterdir())
        if d.is_dir() and next(d.glob("*.jpg"), None) is not None
    ]
    return with_jpegs[0] if len(with_jpegs) == 1 else None


def load(path: Path | None) -> LoadedSource:
    if path is None:
        raise DataError(
            "source 'poster-csv' needs --data: the folder with MovieGenre.csv and its posters"
        )
    csv = resolve_csv(path)
    report = LoadReport(source="poster-csv", path=str(csv))
    raw = read_csv_strings(csv, report)
    require_columns(raw, REQUIRED, f"poster-csv {csv}")

    ids = numbers(raw["imdbId"])
    bad = ids.isna() | (ids % 1 != 0)
    report.drop("non-integer imdbId", int(bad.sum()))
    raw, ids = raw[~bad], ids[~bad]
    if "IMDB Score" in raw:
        score = numbers(raw["IMDB Score"])
        bad = score.isna() & raw["IMDB Score"].notna()
        report.drop("non-numeric IMDB Score", int(bad.sum()))
        raw, ids, score = raw[~bad], ids[~bad], score[~bad]
    else:
        score = pd.Series(float("nan"), index=raw.index)
    movie_id = ids.astype("int64").astype(str)
    dup = movie_id.duplicated(keep="first")
    report.drop("duplicate movie id", int(dup.sum()))
    raw, movie_id, score = raw[~dup], movie_id[~dup], score[~dup]

    titles, years = [], []
    for title in raw["Title"].to_numpy(dtype=object):
        name, year = split_title_year(title) if isinstance(title, str) else (None, None)
        titles.append(name)
        years.append(year)
    genres = [
        [g.strip() for g in cell.split("|") if g.strip()] if isinstance(cell, str) else []
        for cell in raw["Genre"].to_numpy(dtype=object)
    ]
    table = pd.DataFrame(
        {
            "movie_id": movie_id.to_numpy(),
            "title": pd.Series(titles, dtype=object),
            "year": pd.to_numeric(pd.Series(years, dtype=object)).astype(float),
            "genres": genres,
            "vote_average": score.to_numpy(dtype=float),  # the IMDb score: target side only
        }
    )
    missing_if_not_finite(table, report)
    folder = find_poster_folder(csv.parent)
    if folder is None:
        report.notes.append(f"no poster folder found beside {csv.name}: every poster missing")
    else:
        report.notes.append(f"posters read from {folder}")
    table["poster"] = poster_paths(table["movie_id"], folder)
    return with_checked_images(LoadedSource(table=table, report=report, root=csv.parent), "poster")


register_source(
    SourceSpec(
        name="poster-csv",
        description='Kaggle "Movie Genre from its Poster": MovieGenre.csv (Latin-1, pipe genres) + <imdbId>.jpg posters',
        load=load,
        needs_path=True,
        path_hint="folder with MovieGenre.csv and the <imdbId>.jpg posters (or posters/ inside it)",
    )
)
