"""Generate a TMDB CSV of N distinct films in the "Full TMDB Movies Dataset 2024" (v11) layout.

The data is synthetic and never committed: every film has its own id, title, overview and
numbers, and its rating depends on its metadata (genres, runtime, year, budget, language)
plus noise, so models have something to learn and early stopping behaves as on real files.
`rated_share` of the films have votes (10 or more); the rest have vote_count 0. The
published file has mostly unrated films; the default, 0.9, is the costly case, where nearly
every film reaches the tasks' training splits.

    python benchmarks/scale_tmdb.py --rows 1000000 --out /tmp/scale/TMDB_movie_dataset_v11.csv

`--resample TMDB_5000_CSV` writes the second kind of file instead: TMDB 5000's own rows drawn
with replacement into the same layout, so overview, tagline and keyword cells have real
lengths (about 670 MB at 10^6 rows, against ~250 MB synthetic). Each row gets its own id,
imdb_id and title suffix, so every film is distinct to the loader; everything else is the
drawn film's.

    python benchmarks/scale_tmdb.py --rows 1000000 --resample \\
        ../shared/data/tmdb-5000/tmdb_5000_movies.csv --out /tmp/real/TMDB_movie_dataset_v11.csv
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = [
    "id", "title", "vote_average", "vote_count", "status", "release_date", "revenue",
    "runtime", "adult", "backdrop_path", "budget", "homepage", "imdb_id",
    "original_language", "original_title", "overview", "popularity", "poster_path",
    "tagline", "genres", "production_companies", "production_countries",
    "spoken_languages", "keywords",
]  # fmt: skip
GENRES = np.array(
    [
        "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama",
        "Family", "Fantasy", "History", "Horror", "Music", "Mystery", "Romance",
        "Science Fiction", "TV Movie", "Thriller", "War", "Western",
    ]
)  # fmt: skip
# How each genre moves the rating (documentaries and animation rate high, horror low).
GENRE_EFFECT = np.array(
    [-0.2, 0.0, 0.5, -0.1, 0.1, 0.8, 0.3, 0.0, -0.1, 0.4, -0.7, 0.4, 0.0, 0.0, -0.2, -0.3, -0.2, 0.4, 0.1]
)  # fmt: skip
LANGUAGES = np.array(["en", "fr", "es", "de", "ja", "it", "ko", "zh", "hi", "ru", "pt", "sv"])
LANGUAGE_EFFECT = np.array([0.0, 0.2, 0.1, 0.1, 0.4, 0.2, 0.3, 0.1, 0.2, 0.1, 0.0, 0.2])
COUNTRIES = np.array(["United States of America", "France", "Spain", "Germany", "Japan", "Italy"])
SYLLABLES = np.array(
    "ka lo mi ra ten vo sul dar ne pi gra mon tel ris ava und cor bel fin hol".split()
)
WORDS = np.array(
    (
        "a young man woman family city war love secret journey town night past world life "
        "friends must find lost dark home new story old their his her when after before "
        "killer island school police mother father daughter son king dream truth escape"
    ).split()
)


def _joined(rng: np.random.Generator, vocab: np.ndarray, n: int, lo: int, hi: int, sep: str):
    """n strings of lo..hi-1 random words each, joined by sep, built a word count at a time."""
    counts = rng.integers(lo, hi, size=n)
    out = np.empty(n, dtype=object)
    for k in np.unique(counts):
        rows = np.flatnonzero(counts == k)
        picks = vocab[rng.integers(0, len(vocab), size=(len(rows), k))]
        out[rows] = [sep.join(p) for p in picks]
    return out


def films(n: int, seed: int = 0, first_id: int = 1, rated_share: float = 0.9) -> pd.DataFrame:
    """n distinct synthetic films in the v11 layout."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + n)
    n_genres = rng.integers(0, 4, size=n)
    genre_mask = np.zeros((n, len(GENRES)), dtype=bool)
    for k in (1, 2, 3):
        rows = np.flatnonzero(n_genres >= k)
        genre_mask[rows, rng.integers(0, len(GENRES), size=len(rows))] = True
    genres = np.array([", ".join(GENRES[m]) for m in genre_mask], dtype=object)
    lang = rng.choice(len(LANGUAGES), size=n, p=np.r_[0.55, np.full(11, 0.45 / 11)])
    year = rng.integers(1920, 2025, size=n)
    runtime = np.clip(rng.normal(100, 25, size=n), 5, 300).round()
    budget = np.where(rng.random(n) < 0.7, 0, np.exp(rng.normal(15.5, 1.5, size=n)).round())
    revenue = np.where(budget > 0, (budget * np.exp(rng.normal(0.3, 1.0, size=n))).round(), 0)
    popularity = np.exp(rng.normal(0.5, 1.2, size=n)).round(3)
    quality = (
        5.8
        + genre_mask @ GENRE_EFFECT / np.maximum(n_genres, 1)
        + LANGUAGE_EFFECT[lang]
        + 0.006 * (runtime - 100)
        - 0.008 * (year - 1990)
        + 0.15 * np.log1p(popularity)
        + rng.normal(0, 0.9, size=n)
    )
    votes = 10 + np.exp(rng.gamma(1.2, 1.6, size=n)).astype(int)
    vote_count = np.where(rng.random(n) < rated_share, votes, 0)
    vote_average = np.where(vote_count > 0, np.clip(quality, 0, 10).round(3), 0.0)
    month = rng.integers(1, 13, size=n)
    day = rng.integers(1, 29, size=n)
    dates = pd.Series(
        [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(year, month, day, strict=True)]
    )
    titles = _joined(rng, SYLLABLES, n, 2, 5, "")
    titles = np.array([f"{t.title()} {i}" for t, i in zip(titles, ids, strict=True)], dtype=object)
    n_countries = rng.integers(0, 3, size=n)
    countries = np.array(
        [", ".join(COUNTRIES[:k]) for k in n_countries], dtype=object
    )  # a short list per film
    return pd.DataFrame(
        {
            "id": ids,
            "title": titles,
            "vote_average": vote_average,
            "vote_count": vote_count,
            "status": "Released",
            "release_date": dates,
            "revenue": revenue.astype(np.int64),
            "runtime": runtime.astype(int),
            "adult": "False",
            "backdrop_path": "",
            "budget": budget.astype(np.int64),
            "homepage": "",
            "imdb_id": [f"tt{i:08d}" for i in ids],
            "original_language": LANGUAGES[lang],
            "original_title": titles,
            "overview": _joined(rng, WORDS, n, 12, 40, " "),
            "popularity": popularity,
            "poster_path": "",
            "tagline": "",
            "genres": genres,
            "production_companies": _joined(rng, SYLLABLES, n, 1, 3, "").astype(str),
            "production_countries": countries,
            "spoken_languages": "English",
            "keywords": "",
        },
        columns=COLUMNS,
    )


def _names(cell: object) -> str:
    """TMDB 5000's JSON list of {"name": ...} objects as v11's comma-separated names."""
    if not isinstance(cell, str) or not cell.strip():
        return ""
    return ", ".join(item["name"] for item in json.loads(cell))


def tmdb5000_rows(path: Path) -> pd.DataFrame:
    """TMDB 5000's films (tmdb_5000_movies.csv) in the v11 layout, one row per film."""
    src = pd.read_csv(path, dtype={"homepage": str, "tagline": str, "overview": str})
    v11 = pd.DataFrame(
        {
            "id": src["id"],
            "title": src["title"],
            "vote_average": src["vote_average"],
            "vote_count": src["vote_count"],
            "status": src["status"],
            "release_date": src["release_date"],
            "revenue": src["revenue"],
            "runtime": src["runtime"],
            "adult": "False",
            "backdrop_path": "",
            "budget": src["budget"],
            "homepage": src["homepage"],
            "imdb_id": "",
            "original_language": src["original_language"],
            "original_title": src["original_title"],
            "overview": src["overview"],
            "popularity": src["popularity"],
            "poster_path": "",
            "tagline": src["tagline"],
            "genres": src["genres"].map(_names),
            "production_companies": src["production_companies"].map(_names),
            "production_countries": src["production_countries"].map(_names),
            "spoken_languages": src["spoken_languages"].map(_names),
            "keywords": src["keywords"].map(_names),
        },
        columns=COLUMNS,
    )
    return v11


def resampled(real: pd.DataFrame, n: int, seed: int = 0, first_id: int = 1) -> pd.DataFrame:
    """n films drawn with replacement from `real` (tmdb5000_rows), each with its own id,
    imdb_id and title suffix: real text lengths, distinct films."""
    rng = np.random.default_rng(seed)
    part = real.iloc[rng.integers(0, len(real), size=n)].reset_index(drop=True)
    ids = np.arange(first_id, first_id + n)
    part["id"] = ids
    part["imdb_id"] = [f"tt{i:08d}" for i in ids]
    part["title"] = part["title"].astype(str) + " #" + pd.Series(ids).astype(str)
    return part


def write(
    path: Path,
    rows: int,
    seed: int = 0,
    chunk: int = 200_000,
    rated_share: float = 0.9,
    resample: Path | None = None,
) -> Path:
    """Write `rows` films to `path` in chunks, so memory stays bounded at a million rows:
    synthetic ones, or TMDB 5000's rows resampled from the CSV at `resample`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    real = tmdb5000_rows(resample) if resample is not None else None
    with path.open("w", encoding="utf-8", newline="") as f:
        for i, start in enumerate(range(0, rows, chunk)):
            n, part_seed = min(chunk, rows - start), seed * 1_000 + i
            if real is not None:
                part = resampled(real, n, part_seed, start + 1)
            else:
                part = films(n, part_seed, start + 1, rated_share)
            part.to_csv(f, index=False, header=i == 0)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rated-share", type=float, default=0.9, help="films with votes")
    parser.add_argument("--out", type=Path, required=True, help="the CSV to write")
    parser.add_argument(
        "--resample", type=Path, help="tmdb_5000_movies.csv: resample its rows (real lengths)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    write(args.out, args.rows, args.seed, rated_share=args.rated_share, resample=args.resample)
    size = args.out.stat().st_size / 2**20
    print(f"{args.rows:,} rows, {size:,.0f} MiB in {time.perf_counter() - start:.1f} s: {args.out}")


if __name__ == "__main__":
    main()
