"""Writers for tiny files in each published layout, shared by the dataset tests."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

TMDB_5000_HEADER = [
    "budget",
    "genres",
    "homepage",
    "id",
    "keywords",
    "original_language",
    "original_title",
    "overview",
    "popularity",
    "production_companies",
    "production_countries",
    "release_date",
    "revenue",
    "runtime",
    "spoken_languages",
    "status",
    "tagline",
    "title",
    "vote_average",
    "vote_count",
]
TMDB_V11_HEADER = [
    "id",
    "title",
    "vote_average",
    "vote_count",
    "status",
    "release_date",
    "revenue",
    "runtime",
    "adult",
    "backdrop_path",
    "budget",
    "homepage",
    "imdb_id",
    "original_language",
    "original_title",
    "overview",
    "popularity",
    "poster_path",
    "tagline",
    "genres",
    "production_companies",
    "production_countries",
    "spoken_languages",
    "keywords",
]
MOVIES_METADATA_HEADER = [
    "adult",
    "belongs_to_collection",
    "budget",
    "genres",
    "homepage",
    "id",
    "imdb_id",
    "original_language",
    "original_title",
    "overview",
    "popularity",
    "poster_path",
    "production_companies",
    "production_countries",
    "release_date",
    "revenue",
    "runtime",
    "spoken_languages",
    "status",
    "tagline",
    "title",
    "video",
    "vote_average",
    "vote_count",
]


def write_csv(
    path: Path,
    header: list[str],
    rows: list[dict],
    extra_lines: list[str] = (),
    encoding: str = "utf-8",
) -> Path:
    """Rows as dicts (absent keys empty), then raw lines appended verbatim (malformed ones)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(col, "") for col in header])
    for line in extra_lines:
        buffer.write(line + "\n")
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def json_list(*names: str, with_ids: bool = True) -> str:
    return json.dumps([{"id": i if with_ids else None, "name": n} for i, n in enumerate(names)])


def py_list(*names: str) -> str:
    return repr([{"id": i, "name": n} for i, n in enumerate(names)])


def jpeg_bytes(size: tuple[int, int] = (30, 45), seed: int = 0, mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    image = Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode=mode)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def write_images(
    folder: Path, good: list[str], zero: list[str] = (), truncated: list[str] = ()
) -> None:
    """Readable JPEGs, 0-byte files and JPEGs cut in half, by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(good):
        (folder / name).write_bytes(jpeg_bytes(seed=i, mode="L" if i % 3 == 2 else "RGB"))
    for name in zero:
        (folder / name).write_bytes(b"")
    for name in truncated:
        data = jpeg_bytes((80, 120), seed=99)
        (folder / name).write_bytes(data[: len(data) // 2])


# MM-IMDb miniature: a few of the published genres, each with its own plot word and poster
# colour, so every rung has something to learn.
MMIMDB_GENRES = {
    "Drama": ("tears", (40, 60, 160)),
    "Comedy": ("laugh", (230, 200, 40)),
    "Horror": ("blood", (120, 0, 0)),
    "War": ("battle", (60, 90, 40)),
}


def write_mmimdb(
    folder: Path,
    films: int = 60,
    seed: int = 0,
    *,
    missing_poster: int = 1,
    damaged_json: int = 1,
    damaged_poster: int = 1,
    listed_without_file: int = 1,
    poster_size: tuple[int, int] = (16, 24),
) -> Path:
    """MM-IMDb's published layout: split.json (train/dev/test lists of ids) and
    dataset/<id>.json + dataset/<id>.jpeg, with the first `missing_poster` films lacking a
    poster, the next `damaged_json` ones a malformed JSON file, the next `damaged_poster` ones
    a JPEG cut in half, and `listed_without_file` ids in split.json with no file at all. Parts: 60% train, 20% dev, 20% test, by id order."""
    rng = np.random.default_rng(seed)
    films_dir = folder / "dataset"
    films_dir.mkdir(parents=True, exist_ok=True)
    names = list(MMIMDB_GENRES)
    ids = [f"{1000000 + i:07d}" for i in range(films)]
    for i, film in enumerate(ids):
        genres = [g for g in names if rng.random() < 0.35] or [names[i % len(names)]]
        words = [MMIMDB_GENRES[g][0] for g in genres]
        plot = " ".join(words + list(rng.choice(["night", "city", "man", "home"], 4)))
        record = {
            "title": f"Film {i}",
            "year": 1950 + i % 60,
            "genres": genres + (["News"] if i % 17 == 5 else []),  # outside the 23: removed
            "plot": [plot, f"A second, longer plot of film {i}: {plot}"][: 1 + i % 2],
            "rating": 6.5,
            "imdb_id": f"tt{film}",
        }
        path = films_dir / f"{film}.json"
        if missing_poster <= i < missing_poster + damaged_json:
            path.write_text('{"title": "cut off', encoding="utf-8")
        else:
            path.write_text(json.dumps(record), encoding="utf-8")
        if i >= missing_poster:
            colour = np.mean([MMIMDB_GENRES[g][1] for g in genres], axis=0)
            shape = (poster_size[1], poster_size[0], 3)
            pixels = np.clip(colour + rng.normal(0, 25, shape), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(films_dir / f"{film}.jpeg", "JPEG")
        bad_poster = missing_poster + damaged_json
        if bad_poster <= i < bad_poster + damaged_poster:
            data = (films_dir / f"{film}.jpeg").read_bytes()
            (films_dir / f"{film}.jpeg").write_bytes(data[: len(data) // 2])
    ghosts = [f"{9000000 + i:07d}" for i in range(listed_without_file)]
    n_train, n_dev = int(films * 0.6), int(films * 0.2)
    split = {
        "train": ids[:n_train] + ghosts,
        "dev": ids[n_train : n_train + n_dev],
        "test": ids[n_train + n_dev :],
    }
    (folder / "split.json").write_text(json.dumps(split), encoding="utf-8")
    return folder
