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
