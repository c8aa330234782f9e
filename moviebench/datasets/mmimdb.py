"""`mmimdb`: MM-IMDb (Arevalo et al. 2017), the benchmark of genre from plot and poster, in
its published layout.

    <folder>/split.json          {"train": [ids], "dev": [ids], "test": [ids]}
    <folder>/dataset/<id>.json   one film: "genres" (names), "plot" (strings, the first the
                                 main plot), "title", "year", and more
    <folder>/dataset/<id>.jpeg   its poster

`--data` is the folder (or its split.json). The films are the ids of split.json; each keeps
its part there as OFFICIAL_COLUMN (train, val for `dev`, test), which `--split official`
uses. The overview is the main plot. Genres are the 23 of the published split
(PUBLISHED_GENRES); the few mentions of others (News, Adult, Talk-Show, Reality-TV) are
removed and counted. Counted, never silent: an id of split.json with no JSON file, a JSON
file that does not parse or lacks the fields (dropped), an id in two parts (first kept),
JSON files split.json does not name (not read), films without a plot, and posters missing
or unreadable (the report's image counts).

Parsing 26k small JSON files costs seconds, so the parsed table is kept in the Parquet table
cache (datasets/table_cache.py), keyed by split.json's bytes and each JSON file's name, size
and modification time. Posters are looked up and checked on every load, as every source's
are (their verdicts and digests are memoised on each file's stat).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from moviebench.datasets import register_source
from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec
from moviebench.datasets.images import with_checked_images
from moviebench.errors import DataError
from moviebench.features.cache import STATS
from moviebench.splits import OFFICIAL_COLUMN

SPLIT_FILE = "split.json"
FILMS = "dataset"
# split.json's parts -> the harness's: `dev` is the validation split.
PARTS = {"train": "train", "dev": "val", "test": "test"}
# The 23 genres of the published split (the GMU paper's labels).
PUBLISHED_GENRES = (
    "Drama", "Comedy", "Romance", "Thriller", "Crime", "Action", "Adventure", "Horror",
    "Documentary", "Mystery", "Sci-Fi", "Fantasy", "Family", "Biography", "War", "History",
    "Music", "Animation", "Musical", "Western", "Sport", "Short", "Film-Noir",
)  # fmt: skip


@dataclass(frozen=True)
class Published:
    """A published score on MM-IMDb's official split (test part), with its source."""

    model: str
    modality: str
    weighted_f1: float | None
    micro_f1: float | None
    macro_f1: float | None
    citation: str
    note: str = ""


GMU = "Arevalo et al. 2017, Gated Multimodal Units for Information Fusion (ICLR workshop)"
MMBT = "Kiela et al. 2019, Supervised Multimodal Bitransformers for Classifying Images and Text"
# The one place the literature's numbers live: README table, `bench report` section.
PUBLISHED = (
    Published("MaxoutMLP on word2vec", "text", 0.588, 0.595, 0.488, GMU),
    Published("VGG features", "poster", 0.410, 0.437, 0.284, GMU),
    Published("GMU fusion", "both", 0.617, 0.630, 0.541, GMU),
    Published("MMBT", "both", None, None, 0.616, MMBT, "about; macro F1 only"),
)


def resolve_folder(path: Path) -> Path:
    """`--data` may name the folder or its split.json."""
    folder = path.parent if path.is_file() else path
    if not (folder / SPLIT_FILE).is_file():
        raise DataError(
            f"--data {path}: no {SPLIT_FILE} there (MM-IMDb's folder holds {SPLIT_FILE} "
            f"and {FILMS}/<id>.json, <id>.jpeg)"
        )
    return folder


def read_split(folder: Path, report: LoadReport) -> dict[str, str]:
    """Film id -> part from split.json, in its order; an id in two parts keeps the first."""
    path = folder / SPLIT_FILE
    try:
        split = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(split, dict) or not all(isinstance(split.get(p), list) for p in PARTS):
        raise DataError(f"{path}: expected lists of ids under {', '.join(PARTS)}")
    parts: dict[str, str] = {}
    repeated = 0
    for name, part in PARTS.items():
        for film in split[name]:
            film = str(film)
            if film in parts:
                repeated += 1
            else:
                parts[film] = part
    report.rows_read = len(parts) + repeated
    report.drop("id listed twice in split.json (first part kept)", repeated)
    extra = sorted(set(split) - set(PARTS))
    if extra:
        report.notes.append(f"{SPLIT_FILE}: parts not used: {', '.join(extra)}")
    return parts


def folder_stamp(folder: Path) -> tuple[str, dict[str, str]]:
    """A stamp of everything the parsed table is made from (split.json's bytes, each JSON
    file's name, size and mtime) and the folder's listing of poster files (id -> path)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update((folder / SPLIT_FILE).read_bytes())
    posters: dict[str, str] = {}
    films = folder / FILMS
    if films.is_dir():
        with os.scandir(films) as entries:
            listing = sorted(entries, key=lambda e: e.name)
        for entry in listing:
            stem, ext = os.path.splitext(entry.name)
            if ext == ".json":
                stat = entry.stat()
                digest.update(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
            elif ext == ".jpeg":
                posters[stem] = entry.path
    return digest.hexdigest(), posters


def _film(path: Path) -> tuple[str, str | None, float, str | None, int, list[str]]:
    """(status, title, year, main plot, number of plots, genres) of one film's JSON file."""
    try:
        film = json.loads(path.read_bytes())
    except FileNotFoundError:
        return "missing", None, np.nan, None, 0, []
    except (OSError, ValueError):
        return "damaged", None, np.nan, None, 0, []
    if not isinstance(film, dict):
        return "damaged", None, np.nan, None, 0, []
    genres, plots = film.get("genres"), film.get("plot", [])
    if not isinstance(genres, list) or not all(isinstance(g, str) for g in genres):
        return "damaged", None, np.nan, None, 0, []
    if isinstance(plots, str):
        plots = [plots]
    if not isinstance(plots, list):
        plots = []
    plots = [p for p in plots if isinstance(p, str) and p.strip()]
    title = film.get("title")
    year = film.get("year")
    try:
        year = float(year) if year is not None else np.nan
    except (TypeError, ValueError):
        year = np.nan
    return (
        "ok",
        title if isinstance(title, str) else None,
        year,
        plots[0] if plots else None,
        len(plots),
        genres,
    )


def parse_films(folder: Path, parts: dict[str, str], report: LoadReport) -> pd.DataFrame:
    """The films of split.json, one row each: every JSON file read once."""
    films = folder / FILMS
    rows = {film: _film(films / f"{film}.json") for film in parts}
    status = Counter(r[0] for r in rows.values())
    report.drop(f"id in {SPLIT_FILE} with no {FILMS}/<id>.json", status["missing"])
    report.drop(f"damaged {FILMS}/<id>.json (not JSON, or no list of genres)", status["damaged"])
    kept = [film for film, r in rows.items() if r[0] == "ok"]
    # Rows with the same genre list share one list object (genre_matrix reads each once).
    shared: dict[tuple[str, ...], list[str]] = {}
    outside = Counter()
    genres = []
    for film in kept:
        names = rows[film][5]
        outside.update(g for g in names if g not in PUBLISHED_GENRES)
        names = tuple(g for g in names if g in PUBLISHED_GENRES)
        genres.append(shared.setdefault(names, list(names)))
    if outside:
        listed = ", ".join(f"{g} ({n})" for g, n in outside.most_common())
        report.repair(f"genre outside the published 23 removed: {listed}", sum(outside.values()))
    n_plots = np.array([rows[f][4] for f in kept], dtype=np.int64)
    report.notes.append(
        f"{len(kept):,} films, {int(n_plots.sum()):,} plots "
        f"({int((n_plots > 1).sum()):,} films with more than one, the first read; "
        f"{int((n_plots == 0).sum()):,} without)"
    )
    text = pd.ArrowDtype(pa.string())
    return pd.DataFrame(
        {
            "movie_id": pd.Series(kept, dtype=str),
            "title": pd.Series([rows[f][1] for f in kept], dtype=text),
            "year": np.array([rows[f][2] for f in kept], dtype=float),
            "overview": pd.Series([rows[f][3] for f in kept], dtype=text),
            "genres": pd.Series(genres, dtype=object),
            OFFICIAL_COLUMN: pd.Series([parts[f] for f in kept], dtype=str),
        }
    )


def parsed_table(folder: Path, stamp: str) -> LoadedSource:
    """The JSON files' table and report, from the table cache when the folder's stamp and
    the loaders' code are the same as when it was stored."""
    from moviebench.datasets import table_cache

    def parse() -> LoadedSource:
        report = LoadReport(source="mmimdb", path=str(folder))
        parts = read_split(folder, report)
        films = (
            {p.stem for p in (folder / FILMS).glob("*.json")}
            if (folder / FILMS).is_dir()
            else set()
        )
        unlisted = len(films - set(parts))
        if unlisted:
            report.notes.append(
                f"{unlisted:,} {FILMS}/<id>.json files not in {SPLIT_FILE}: not read"
            )
        return LoadedSource(table=parse_films(folder, parts, report), report=report)

    if os.environ.get("MOVIEBENCH_TABLE_CACHE", "1") == "0":
        return parse()
    key = hashlib.sha256(
        f"mmimdb:{table_cache.FORMAT}:{stamp}:{table_cache._code_stamp()}:"
        f"{pd.__version__}:{pa.__version__}".encode()
    ).hexdigest()[:24]
    entry = table_cache.entry_path(key)
    split_file = folder / SPLIT_FILE
    if entry.exists():
        try:
            loaded = table_cache.read(entry, split_file)
            STATS["mmimdb:hit"] += 1
            return loaded
        except Exception:  # noqa: BLE001 - any damage means: parse the files again
            entry.unlink(missing_ok=True)
    STATS["mmimdb:miss"] += 1
    loaded = parse()
    try:
        table_cache.write(loaded, entry, split_file)
    except Exception as exc:  # noqa: BLE001 - an unwritable cache costs the next load its parse
        loaded.report.notes.append(f"table cache not written ({type(exc).__name__}: {exc})")
    return loaded


def load(path: Path | None) -> LoadedSource:
    if path is None:
        raise DataError(f"source 'mmimdb' needs --data: the folder with {SPLIT_FILE} and {FILMS}/")
    folder = resolve_folder(Path(path))
    stamp, posters = folder_stamp(folder)
    parsed = parsed_table(folder, stamp)
    table = parsed.table.copy()
    table["poster"] = pd.Series([posters.get(film) for film in table["movie_id"]], dtype=object)
    report = parsed.report
    report.path = str(folder)
    loaded = LoadedSource(table=table, report=report, root=folder)
    return with_checked_images(loaded, "poster")


register_source(
    SourceSpec(
        name="mmimdb",
        description="MM-IMDb (Arevalo et al. 2017): split.json + dataset/<id>.json and <id>.jpeg; "
        "its own split with --split official",
        load=load,
        needs_path=True,
        path_hint="the MM-IMDb folder: split.json and dataset/<id>.json, <id>.jpeg",
        columns=("movie_id", "title", "year", "overview", "genres", "poster"),
    )
)
