"""Issue 22, failure 1: a result is identified by the content of every file it read.

A tmdb CSV with `posters/` beside it (`--data movies.csv`): replacing posters under the same
names, or adding posters, must make the next `bench run` retrain, not skip.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from moviebench.datasets import load_source
from tests.datasets_fixtures import TMDB_5000_HEADER, json_list, write_csv
from tests.test_cli import bench

N = 60


def poster(path: Path, drama: bool, seed: int, grey: bool = False) -> None:
    rng = np.random.default_rng(seed)
    colour = np.array((40, 40, 200) if drama else (230, 200, 40), dtype=np.int16)
    image = np.clip(colour + rng.integers(-50, 50, (24, 16, 3)), 0, 255).astype(np.uint8)
    picture = Image.fromarray(image)
    (picture.convert("L").convert("RGB") if grey else picture).save(path)


def write_tmdb_with_posters(folder: Path, with_posters: int = N) -> Path:
    """movies.csv (TMDB 5000 layout) and posters/<id>.jpg for the first `with_posters` films."""
    (folder / "posters").mkdir(parents=True)
    rows = []
    for i in range(N):
        drama = i % 2 == 0
        rows.append(
            dict(
                id=str(100 + i),
                title=f"Film {i}",
                genres=json_list("Drama" if drama else "Comedy"),
                vote_average="6.5",
                vote_count="50",
                release_date="1999-01-01",
            )
        )
        if i < with_posters:
            poster(folder / "posters" / f"{100 + i}.jpg", drama, i)
    return write_csv(folder / "movies.csv", TMDB_5000_HEADER, rows)


def run_posters(capsys, monkeypatch, csv: Path, out: Path) -> tuple[int, str, str]:
    return bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "poster-genre",
        "--source",
        "tmdb",
        "--data",
        str(csv),
        "--models",
        "prior,hist-logreg",
        "--set",
        "image_size=16",
        "--set",
        "min_label_count=2",
        "--device",
        "cpu",
        "--out",
        str(out),
    )


def fingerprints(out: Path) -> set[str]:
    return {
        json.loads(p.read_text())["data_fingerprint"] for p in out.rglob("hist-logreg/seed-0.json")
    }


def test_1_replaced_posters_are_other_data_end_to_end(capsys, monkeypatch, tmp_path):
    csv = write_tmdb_with_posters(tmp_path / "data")
    out = tmp_path / "out"
    code, stdout, err = run_posters(capsys, monkeypatch, csv, out)
    assert code == 0, err
    code, stdout, _ = run_posters(capsys, monkeypatch, csv, out)
    assert "skip hist-logreg" in stdout  # unchanged: answered without retraining
    before = fingerprints(out)

    for i in range(N):  # greyscale copies under the same names
        poster(csv.parent / "posters" / f"{100 + i}.jpg", i % 2 == 0, i, grey=True)
    code, stdout, err = run_posters(capsys, monkeypatch, csv, out)
    assert code == 0, err
    assert "skip hist-logreg" not in stdout and "done hist-logreg" in stdout
    after = fingerprints(out)
    assert len(before) == 1 and len(after) == 2  # a new data folder, the old record kept


def test_1_posters_added_beside_the_csv_are_seen_end_to_end(capsys, monkeypatch, tmp_path):
    csv = write_tmdb_with_posters(tmp_path / "data", with_posters=40)
    out = tmp_path / "out"
    assert run_posters(capsys, monkeypatch, csv, out)[0] == 0
    for i in range(40, N):
        poster(csv.parent / "posters" / f"{100 + i}.jpg", i % 2 == 0, i)
    code, stdout, err = run_posters(capsys, monkeypatch, csv, out)
    assert code == 0, err
    assert "skip hist-logreg" not in stdout and "done hist-logreg" in stdout
    assert len(fingerprints(out)) == 2


def test_1_the_fingerprint_covers_poster_contents(tmp_path):
    csv = write_tmdb_with_posters(tmp_path / "data", with_posters=10)
    first = load_source("tmdb", csv).fingerprint
    assert load_source("tmdb", csv).fingerprint == first  # deterministic
    poster(csv.parent / "posters" / "100.jpg", True, 0, grey=True)
    assert load_source("tmdb", csv).fingerprint != first


def test_1_the_manifest_watches_the_poster_folder_beside_a_csv(tmp_path):
    from moviebench import manifest

    csv = write_tmdb_with_posters(tmp_path / "data", with_posters=10)
    folders = load_source("tmdb", csv).file_folders()
    assert csv.parent / "posters" in folders
    stamps = manifest.inputs_stamp(folders)
    assert manifest.inputs_unchanged(stamps)
    poster(csv.parent / "posters" / "150.jpg", True, 50)
    assert not manifest.inputs_unchanged(stamps)
    assert not manifest.inputs_unchanged(None)  # a manifest from before stamps: not trusted


def test_1_an_absent_poster_folder_created_later_is_seen(tmp_path):
    from moviebench import manifest

    folder = tmp_path / "data"
    folder.mkdir()
    csv = write_tmdb_with_posters(folder / "x", with_posters=0)
    (csv.parent / "posters").rmdir()
    stamps = manifest.inputs_stamp(load_source("tmdb", csv).file_folders())
    (csv.parent / "posters").mkdir()
    poster(csv.parent / "posters" / "100.jpg", True, 0)
    assert not manifest.inputs_unchanged(stamps)
