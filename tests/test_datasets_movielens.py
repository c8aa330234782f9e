"""The `movielens-1m` source on tiny movies.dat files, Latin-1 and UTF-8, with posters."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from moviebench.datasets import load_source
from moviebench.datasets.images import readable_flags
from moviebench.errors import DataError
from moviebench.features.cache import STATS
from tests.datasets_fixtures import write_images

MOVIES_DAT = (
    "\n".join(
        [
            "1::Toy Story (1995)::Animation|Children's|Comedy",
            "2::Cité des enfants perdus, La (City of Lost Children, The) (1995)::Adventure|Sci-Fi",
            "3::Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)::Drama|Cartoon",
            "4::No year here::Comedy",
            "5::Empty genres (2000)::",
            "this line is not a film",
            "x::Bad id (1999)::Drama",
            "1::Toy Story again (1995)::Comedy",
            "6::Too::many::fields",
            "",
        ]
    )
    + "\n"
)


def write_ml(folder: Path, encoding: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.dat").write_bytes(MOVIES_DAT.encode(encoding))
    return folder


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_movies_dat_canonical_table_and_drops(tmp_path: Path, encoding: str) -> None:
    loaded = load_source("movielens-1m", write_ml(tmp_path / "ml", encoding))
    t, report = loaded.table, loaded.report

    assert report.rows_read == 9
    assert report.dropped == Counter(
        {"malformed line (expected MovieID::Title::Genres)": 3, "duplicate movie id": 1}
    )
    assert report.repaired == Counter(
        {"no (year) in title: year missing": 1, "unknown genre removed": 1}
    )
    assert list(t["movie_id"]) == ["1", "2", "3", "4", "5"]
    assert list(t["title"]) == [
        "Toy Story",
        "Cité des enfants perdus, La (City of Lost Children, The)",
        "Shanghai Triad (Yao a yao yao dao waipo qiao)",
        "No year here",
        "Empty genres",
    ]
    assert t["year"].tolist()[:3] == [1995, 1995, 1995] and t["year"].isna().tolist() == [
        False
    ] * 3 + [True, False]
    assert list(t["genres"]) == [
        ["Animation", "Children's", "Comedy"],
        ["Adventure", "Sci-Fi"],
        ["Drama"],
        ["Comedy"],
        [],
    ]
    assert ("Latin-1" in " ".join(report.notes)) == (encoding == "latin-1")
    # no posters folder: every poster None, counted missing
    assert t["poster"].tolist() == [None] * 5
    assert report.images == {"found": 0, "missing": 5, "unreadable": 0}


def test_posters_found_missing_unreadable(tmp_path: Path) -> None:
    folder = write_ml(tmp_path / "ml", "utf-8")
    posters = folder / "posters"
    write_images(posters, good=["1.jpg", "3.jpg"], zero=["4.jpg"], truncated=["5.jpg"])
    loaded = load_source("movielens-1m", folder / "movies.dat")  # the file itself also works
    assert loaded.table["poster"].tolist() == [
        str(posters / "1.jpg"),
        None,
        str(posters / "3.jpg"),
        str(posters / "4.jpg"),
        str(posters / "5.jpg"),
    ]
    assert loaded.report.images == {"found": 4, "missing": 1, "unreadable": 2}
    assert loaded.report.unreadable_images == [str(posters / "4.jpg"), str(posters / "5.jpg")]


def test_image_check_is_cached_and_notices_a_changed_file(tmp_path: Path) -> None:
    write_images(tmp_path, good=["a.jpg"], truncated=["b.jpg"])
    paths = [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    assert readable_flags(paths).tolist() == [True, False]
    misses = STATS["image-check:miss"]
    assert readable_flags(paths).tolist() == [True, False]
    assert STATS["image-check:miss"] == misses  # second check read from the cache
    write_images(tmp_path, good=["b.jpg"])  # b repaired: new size and mtime, checked again
    assert readable_flags(paths).tolist() == [True, True]


def test_folder_without_movies_dat(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no movies.dat"):
        load_source("movielens-1m", tmp_path)


def test_the_same_data_spelt_as_another_path_has_the_same_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Poster paths are fingerprinted relative to the data folder: a relative --data, an
    absolute one and a copy elsewhere are the same data; another poster set is not."""
    folder = write_ml(tmp_path / "ml", "utf-8")
    write_images(folder / "posters", good=["1.jpg", "3.jpg"])
    monkeypatch.chdir(tmp_path)
    relative = load_source("movielens-1m", Path("ml")).fingerprint
    assert load_source("movielens-1m", folder.resolve()).fingerprint == relative
    copy = write_ml(tmp_path / "elsewhere" / "ml", "utf-8")
    write_images(copy / "posters", good=["1.jpg", "3.jpg"])
    assert load_source("movielens-1m", copy).fingerprint == relative
    (copy / "posters" / "3.jpg").unlink()
    assert load_source("movielens-1m", copy).fingerprint != relative
