"""poster-genre and frame-id end to end through the runner, on image folders the tests generate."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from moviebench.errors import DataError
from moviebench.features import cache
from moviebench.features.store import ItemStore
from moviebench.options import RunOptions
from moviebench.runner import RunRequest, run
from moviebench.targets import MULTILABEL
from moviebench.tasks import TASKS, TaskOptions
from moviebench.tasks.image import (
    FrameSettings,
    PosterGenreSettings,
    build_frame_id,
    build_poster_genre,
)
from tests.test_image_pipeline import write_mixed_folder

SETTINGS = {"image_size": 16}


def write_frames(root: Path, n_films: int = 3, per_film: int = 14) -> Path:
    """Class folders of frames; each film has its own dominant colour, so it is learnable."""
    rng = np.random.default_rng(1)
    colours = [(220, 40, 40), (40, 200, 60), (50, 60, 230), (230, 220, 40)]
    for f in range(n_films):
        folder = root / f"film_{f}"
        folder.mkdir(parents=True)
        for i in range(per_film):
            base = np.array(colours[f], dtype=np.int16)
            pixels = np.clip(base + rng.integers(-40, 40, (20, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"frame_{i:03d}.jpg")
    return root


def request(
    data: Path, out: Path, models: list[str], task: str = "frame-id", **kw: object
) -> RunRequest:
    options = RunOptions(
        source="image-folder", data=data, epochs=2, settings=dict(SETTINGS), device="cpu"
    )
    return RunRequest(task=task, options=options, models=models, out=out, force=True, **kw)


def test_frame_id_runs_end_to_end_with_broken_files(tmp_path: Path) -> None:
    root = write_frames(tmp_path / "frames")
    broken = write_mixed_folder(root / "film_0")  # 0-byte, truncated, RGBA, grey, palette, CMYK
    records = run(request(root, tmp_path / "out", ["majority", "hist-logreg", "hist-svm", "cnn4"]))
    assert {r.model: r.status for r in records} == dict.fromkeys(
        ["majority", "hist-logreg", "hist-svm", "cnn4"], "ok"
    )
    for r in records:
        assert sorted(r.unreadable_files) == sorted(
            [str(broken["empty.jpg"]), str(broken["truncated.jpg"])]
        )
        assert any("unreadable images skipped: 2" in note for note in r.data_notes)
    by_model = {r.model: r for r in records}
    # 3 films x 14 frames + 4 readable odd-mode files, all in film_0.
    assert sum(getattr(by_model["majority"], f"n_{p}") for p in ("train", "val", "test")) == 46
    assert by_model["hist-logreg"].metrics["accuracy"] > by_model["majority"].metrics["accuracy"]
    assert len(by_model["cnn4"].history) >= 1 and "val_score" in by_model["cnn4"].history[0]
    stored = json.loads(Path(by_model["cnn4"].path).read_text())
    assert stored["unreadable_files"] == by_model["cnn4"].unreadable_files


def test_second_run_reads_the_image_cache(tmp_path: Path) -> None:
    root = write_frames(tmp_path / "frames")
    run(request(root, tmp_path / "out", ["hist-logreg"]))
    misses, hits = cache.STATS["pixels:miss"], cache.STATS["pixels:hit"]
    run(request(root, tmp_path / "out", ["hist-logreg", "cnn4"]))
    assert cache.STATS["pixels:miss"] == misses  # nothing decoded again
    assert cache.STATS["pixels:hit"] > hits


def test_frame_id_split_is_by_frame_and_explicit(tmp_path: Path) -> None:
    spec = TASKS.get("frame-id")
    assert spec.settings_type().split == "seen-films"
    table = pd.DataFrame(
        {"movie_id": ["a", "a", "b"], "image": ["x", "y", "z"], "image_id": ["a/1", "a/2", "b/1"]}
    )
    with pytest.raises(DataError, match="unseen-films"):
        build_frame_id(
            table, "image-folder", TaskOptions(settings=FrameSettings(split="unseen-films"))
        )
    root = write_frames(tmp_path / "frames", n_films=2, per_film=30)
    from moviebench.prepare import prepare

    prep = prepare(spec, RunOptions(source="image-folder", data=root, settings=dict(SETTINGS)))
    # Seen films, unseen frames: every film in every part, no frame in two parts.
    for part in ("train", "val", "test"):
        assert set(prep.part(part).y) == {0, 1}
    assert len(set(prep.part("train").ids) & set(prep.part("test").ids)) == 0


def test_poster_genre_labels_and_skipped_posters(tmp_path: Path) -> None:
    files = write_mixed_folder(tmp_path / "posters")
    table = pd.DataFrame(
        {
            "movie_id": ["1", "2", "3", "4", "5", "6"],
            "genres": [["Drama"], ["Drama", "Comedy"], ["Comedy"], [], ["Drama"], ["Horror"]],
            "poster": [
                str(files["rgba.png"]),
                str(files["grey.jpg"]),
                str(files["palette.png"]),
                str(files["cmyk.jpg"]),
                str(files["empty.jpg"]),
                None,
            ],
        }
    )
    data = build_poster_genre(table, "movielens-1m", TaskOptions(settings=PosterGenreSettings()))
    assert data.labels == ["Comedy", "Drama"]
    assert list(data.ids) == ["1", "2", "3"]
    np.testing.assert_array_equal(data.y, [[0, 1], [1, 1], [1, 0]])
    assert data.unreadable == [str(files["empty.jpg"])]
    assert data.target is MULTILABEL and data.columns == {"image": ["image"]}
    with pytest.raises(DataError, match="no poster files"):
        build_poster_genre(table.assign(poster=None), "tmdb", TaskOptions())


def test_cli_image_size_reaches_the_models(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from moviebench.cli import cli

    root = write_frames(tmp_path / "frames")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--task",
            "frame-id",
            "--source",
            "image-folder",
            "--data",
            str(root),
            "--models",
            "hist-logreg",
            "--image-size",
            "20",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "hist-logreg" in result.output and "seen films, unseen frames" in result.output
    (path,) = (out / "frame-id" / "image-folder").glob(
        "*/hist-logreg/seed-0.json"
    )  # one data folder
    record = json.loads(path.read_text())
    assert record["status"] == "ok"
    # The option reached the rung: the pixel rows it cached are 20 x 20.
    con = sqlite3.connect(ItemStore("pixels").path)
    assert {shape for (shape,) in con.execute("SELECT shape FROM items")} == {"20,20,3"}
    con.close()


def test_poster_genre_on_poster_csv_reports_the_two_broken_posters(tmp_path: Path) -> None:
    """MovieGenre.csv + <imdbId>.jpg: odd modes decode, the 0-byte and truncated posters are listed."""
    folder = tmp_path / "kaggle"
    posters = folder / "posters"
    broken = write_mixed_folder(tmp_path / "odd")
    posters.mkdir(parents=True)
    rng = np.random.default_rng(2)
    rows = []
    for i in range(40):
        drama = i % 2 == 0
        colour = np.array((40, 40, 200) if drama else (230, 200, 40), dtype=np.int16)
        image = np.clip(colour + rng.integers(-50, 50, (30, 20, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(posters / f"{1000 + i}.jpg")
        rows.append(
            {
                "imdbId": 1000 + i,
                "Imdb Link": "",
                "Title": f"Film {i} (1999)",
                "IMDB Score": 6.0,
                "Genre": "Drama" if drama else "Comedy|Family",
                "Poster": "",
            }
        )
    # Five awkward files under poster names (Pillow reads by content, not by extension).
    for j, name in enumerate(["empty.jpg", "truncated.jpg", "rgba.png", "grey.jpg", "palette.png"]):
        (posters / f"{1000 + j}.jpg").write_bytes(broken[name].read_bytes())
    pd.DataFrame(rows).to_csv(folder / "MovieGenre.csv", index=False, encoding="latin-1")
    req = RunRequest(
        task="poster-genre",
        models=["prior", "hist-logreg"],
        out=tmp_path / "out",
        options=RunOptions(source="poster-csv", data=folder, settings=dict(SETTINGS), device="cpu"),
    )
    records = run(req)
    assert [r.status for r in records] == ["ok", "ok"]
    expected = sorted(str(posters / f"{1000 + j}.jpg") for j in (0, 1))
    for r in records:
        assert sorted(r.unreadable_files) == expected
        assert r.labels == ["Comedy", "Drama", "Family"]
    assert sum(getattr(records[0], f"n_{p}") for p in ("train", "val", "test")) == 38


def test_poster_genre_with_no_readable_poster_builds_empty(tmp_path: Path) -> None:
    files = write_mixed_folder(tmp_path / "posters")
    table = pd.DataFrame(
        {"movie_id": ["1"], "genres": [["Drama"]], "poster": [str(files["truncated.jpg"])]}
    )
    data = build_poster_genre(table, "movielens-1m", TaskOptions())
    assert len(data) == 0 and data.y.shape == (0, 0)
    assert data.unreadable == [str(files["truncated.jpg"])]
