"""The image sources: `poster-csv` (MovieGenre.csv + posters) and `image-folder`."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from moviebench.datasets import load_source
from moviebench.errors import DataError
from tests.datasets_fixtures import write_csv, write_images

HEADER = ["imdbId", "Imdb Link", "Title", "IMDB Score", "Genre", "Poster"]


def movie_genre_csv(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "imdbId": "114709",
            "Title": "Toy Story (1995)",
            "IMDB Score": "8.3",
            "Genre": "Animation|Adventure|Comedy",
            "Poster": "https://example.org/1.jpg",
        },
        {
            "imdbId": "113497",
            "Title": "Jumanji (1995)",
            "IMDB Score": "6.9",
            "Genre": "Action|Adventure|Family",
        },
        {"imdbId": "113228", "Title": "Les Misérables (1995)", "IMDB Score": "", "Genre": ""},
        {
            "imdbId": "114885",
            "Title": "Waiting to Exhale",
            "IMDB Score": "5.7",
            "Genre": "Comedy|Drama|Romance",
        },
        {
            "imdbId": "113041",
            "Title": "Father of the Bride Part II (1995)",
            "IMDB Score": "5.9",
            "Genre": "Comedy",
        },
        {
            "imdbId": "114709",
            "Title": "Toy Story (1995)",
            "IMDB Score": "8.3",
            "Genre": "Animation",
        },
        {"imdbId": "tt0113", "Title": "Bad id (1995)", "IMDB Score": "5", "Genre": "Drama"},
        {"imdbId": "113101", "Title": "Bad score (1995)", "IMDB Score": "great", "Genre": "Drama"},
    ]
    return write_csv(
        folder / "MovieGenre.csv", HEADER, rows, ["1,2,3,4,5,6,7,8"], encoding="latin-1"
    )


def test_poster_csv_table_drops_and_images(tmp_path: Path) -> None:
    movie_genre_csv(tmp_path)
    posters = tmp_path / "posters"
    write_images(posters, good=["114709.jpg", "113497.jpg", "113041.jpg"], zero=["113228.jpg"])
    (posters / "114885.jpg").write_bytes(b"<html>not found</html>")  # a saved error page
    loaded = load_source("poster-csv", tmp_path)
    t, report = loaded.table, loaded.report

    assert report.rows_read == 9
    assert report.dropped == Counter(
        {
            "malformed line (wrong number of fields)": 1,
            "non-integer imdbId": 1,
            "non-numeric IMDB Score": 1,
            "duplicate movie id": 1,
        }
    )
    assert any("Latin-1" in n for n in report.notes)
    assert list(t["movie_id"]) == ["114709", "113497", "113228", "114885", "113041"]
    assert list(t["title"]) == [
        "Toy Story",
        "Jumanji",
        "Les Misérables",
        "Waiting to Exhale",
        "Father of the Bride Part II",
    ]
    assert t["year"].isna().tolist() == [False, False, False, True, False]
    assert list(t["genres"]) == [
        ["Animation", "Adventure", "Comedy"],
        ["Action", "Adventure", "Family"],
        [],
        ["Comedy", "Drama", "Romance"],
        ["Comedy"],
    ]
    assert t["vote_average"].isna().tolist() == [False, False, True, False, False]
    assert t["poster"].notna().all()
    assert report.images == {"found": 5, "missing": 0, "unreadable": 2}
    assert report.unreadable_images == [str(posters / "113228.jpg"), str(posters / "114885.jpg")]


def test_poster_csv_missing_posters_are_none(tmp_path: Path) -> None:
    csv = movie_genre_csv(tmp_path / "kaggle")
    write_images(tmp_path / "kaggle" / "SampleMoviePosters", good=["113497.jpg"])
    loaded = load_source("poster-csv", csv)  # the CSV itself also works
    assert loaded.table["poster"].isna().tolist() == [True, False, True, True, True]
    assert loaded.report.images == {"found": 1, "missing": 4, "unreadable": 0}


def test_poster_csv_missing_columns(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "MovieGenre.csv", ["imdbId", "Title"], [{"imdbId": "1", "Title": "x"}]
    )
    with pytest.raises(DataError, match=r"missing required column\(s\): Genre"):
        load_source("poster-csv", path)


def _save(path: Path, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = {"RGBA": (10, 20, 30, 128), "P": 3, "L": 100, "RGB": (1, 2, 3)}[mode]
    Image.new(mode, (12, 8), colour).save(path)


def test_image_folder_rows_and_unreadable(tmp_path: Path) -> None:
    root = tmp_path / "frames"
    _save(root / "Alien" / "0001.png", "RGBA")
    _save(root / "Alien" / "0002.png", "P")
    write_images(root / "Alien", good=[], zero=["0003.jpg"])
    write_images(
        root / "Brazil" / "clip1", good=["0001.jpg", "0002.jpg", "0003.jpg"], truncated=["0004.jpg"]
    )
    (root / "Brazil" / "notes.txt").write_text("not an image")
    (root / "Empty").mkdir()
    (root / "README.txt").write_text("loose file")
    buffer = io.BytesIO()
    Image.new("CMYK", (5, 5)).save(buffer, "JPEG")
    (root / "Cube" / "a.JPG").parent.mkdir()
    (root / "Cube" / "a.JPG").write_bytes(buffer.getvalue())

    loaded = load_source("image-folder", root)
    t, report = loaded.table, loaded.report
    assert list(t.columns[:4]) == ["movie_id", "title", "image", "image_id"]
    assert list(t["image_id"]) == [
        "Alien/0001.png",
        "Alien/0002.png",
        "Alien/0003.jpg",
        "Brazil/clip1/0001.jpg",
        "Brazil/clip1/0002.jpg",
        "Brazil/clip1/0003.jpg",
        "Brazil/clip1/0004.jpg",
        "Cube/a.JPG",
    ]
    assert t["image_id"].is_unique
    assert list(t["movie_id"]) == ["Alien"] * 3 + ["Brazil"] * 4 + ["Cube"]
    assert (t["title"] == t["movie_id"]).all()
    assert t["image"].tolist()[0] == str(root / "Alien" / "0001.png")
    assert report.rows_read == 8 and report.rows_kept == 8
    assert report.images == {"found": 8, "missing": 0, "unreadable": 2}
    assert report.unreadable_images == [
        str(root / "Alien" / "0003.jpg"),
        str(root / "Brazil" / "clip1" / "0004.jpg"),
    ]
    notes = " ".join(report.notes)
    assert (
        "1 file(s) without an image extension" in notes
        and "Empty" in notes
        and "README" not in notes
    )


def test_image_folder_without_class_folders(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="no class folders"):
        load_source("image-folder", tmp_path)


def test_poster_paths_names_only_files_that_exist(tmp_path: Path) -> None:
    from moviebench.datasets.images import poster_paths

    (tmp_path / "7.jpg").write_bytes(b"x")
    assert poster_paths([7, 8], tmp_path).tolist() == [str(tmp_path / "7.jpg"), None]
    assert poster_paths([7, 8], None).tolist() == [None, None]
