"""`movielens-1m`: MovieLens 1M's `movies.dat`, with `posters/<MovieID>.jpg` when present.

`movies.dat` lines are `MovieID::Title (Year)::Genre|Genre`; the GroupLens release is
Latin-1, some copies UTF-8, and both are read. The year comes out of the title. A line that
is not three `::` fields with an integer id is dropped and counted; a genre outside the 18
published ones is removed and counted. `poster` is the poster's path, or None when there is
no file for the film.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moviebench.datasets import register_source
from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec
from moviebench.datasets.common import read_text, split_title_year
from moviebench.datasets.images import poster_paths, with_checked_images
from moviebench.errors import DataError

GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


def resolve_folder(path: Path) -> Path:
    folder = path.parent if path.is_file() else path
    if not (folder / "movies.dat").is_file():
        raise DataError(f"--data {path}: no movies.dat there (MovieLens 1M folder expected)")
    return folder


def load(path: Path | None) -> LoadedSource:
    if path is None:
        raise DataError("source 'movielens-1m' needs --data: the MovieLens 1M folder")
    folder = resolve_folder(path)
    report = LoadReport(source="movielens-1m", path=str(folder))
    lines = [line for line in read_text(folder / "movies.dat", report).splitlines() if line.strip()]
    report.rows_read = len(lines)

    rows, seen = [], set()
    for line in lines:
        parts = line.split("::")
        # isascii: '²' passes isdigit() but is no number int() reads
        if len(parts) != 3 or not (parts[0].strip().isascii() and parts[0].strip().isdigit()):
            report.drop("malformed line (expected MovieID::Title::Genres)")
            continue
        movie_id = str(int(parts[0]))
        if movie_id in seen:
            report.drop("duplicate movie id")
            continue
        seen.add(movie_id)
        title, year = split_title_year(parts[1])
        if year is None:
            report.repair("no (year) in title: year missing")
        named = [g for g in parts[2].split("|") if g.strip()]
        genres = [g for g in named if g in GENRES]
        report.repair("unknown genre removed", len(named) - len(genres))
        rows.append({"movie_id": movie_id, "title": title, "year": year, "genres": genres})

    table = pd.DataFrame(rows, columns=["movie_id", "title", "year", "genres"])
    table["year"] = pd.to_numeric(table["year"]).astype(float)
    posters: Path | None = folder / "posters"
    if not posters.is_dir():
        report.notes.append(f"no posters/ folder in {folder}: every poster missing")
        posters = None
    table["poster"] = poster_paths(table["movie_id"], posters)
    return with_checked_images(LoadedSource(table=table, report=report, root=folder), "poster")


register_source(
    SourceSpec(
        name="movielens-1m",
        description="MovieLens 1M movies.dat (3,883 films, 18 genres), posters/<MovieID>.jpg when present",
        load=load,
        needs_path=True,
        path_hint="the ml-1m folder (movies.dat, optional posters/)",
    )
)
