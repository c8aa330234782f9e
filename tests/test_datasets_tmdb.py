"""The `tmdb` source on tiny files in each of the three published layouts."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moviebench.datasets import load_source
from moviebench.datasets.common import MalformedCell, parse_list_cell
from moviebench.datasets.tmdb import detect_layout
from moviebench.errors import DataError
from tests.datasets_fixtures import (
    MOVIES_METADATA_HEADER,
    TMDB_5000_HEADER,
    TMDB_V11_HEADER,
    json_list,
    py_list,
    write_csv,
    write_images,
)


def tmdb_5000(path: Path, encoding: str = "utf-8") -> Path:
    rows = [
        dict(
            id="19995",
            title="Avatar",
            genres=json_list("Action", "Science Fiction"),
            production_companies=json_list("Fox", "Lightstorm"),
            production_countries=json_list("US", "GB"),
            release_date="2009-12-10",
            budget="237000000",
            revenue="2787965087",
            runtime="162",
            popularity="150.4",
            vote_average="7.2",
            vote_count="11800",
            original_language="en",
            overview="A marine on Pandora.",
            tagline="Enter the World of Pandora.",
        ),
        # empty list cells and missing optional values are kept
        dict(
            id="42",
            title="Café Noir",
            genres="[]",
            production_companies="[]",
            production_countries="",
            release_date="",
            budget="0",
            revenue="0",
            runtime="",
            popularity="0.5",
            vote_average="5.0",
            vote_count="3",
            original_language="fr",
            overview="",
        ),
        # rebuilt rows of the real file carry "id": null inside the company objects
        dict(
            id="7",
            title="Rebuilt",
            genres=json_list("Drama"),
            production_companies=json_list("Studio A", with_ids=False),
            production_countries=json_list("FR"),
            release_date="1999-03-01",
            budget="10",
            revenue="20",
            runtime="90",
            popularity="1",
            vote_average="6.5",
            vote_count="20",
            original_language="fr",
        ),
        dict(
            id="19995",
            title="Avatar again",
            genres=json_list("Action"),
            vote_average="7",
            vote_count="1",
        ),
        dict(id="8", title="Bad genres", genres="Action, Drama", vote_average="6", vote_count="10"),
        dict(
            id="9",
            title="Date in budget",
            budget="1997-08-20",
            genres="[]",
            vote_average="6",
            vote_count="10",
        ),
        dict(id="tt01", title="Bad id", genres="[]", vote_average="6", vote_count="10"),
    ]
    too_many = ",".join(["1"] * (len(TMDB_5000_HEADER) + 2))
    return write_csv(path, TMDB_5000_HEADER, rows, [too_many], encoding=encoding)


def test_tmdb_5000_layout_canonical_table_and_drops(tmp_path: Path) -> None:
    loaded = load_source("tmdb", tmdb_5000(tmp_path / "tmdb_5000_movies.csv"))
    t, report = loaded.table, loaded.report

    assert "tmdb-5000" in report.notes[0]
    assert report.rows_read == 8
    assert report.dropped == Counter(
        {
            "malformed line (wrong number of fields)": 1,
            "non-integer id": 1,
            "non-numeric budget": 1,
            "malformed genres cell": 1,
            "duplicate movie id": 1,
        }
    )
    assert report.rows_kept == 3
    assert list(t["movie_id"]) == ["19995", "42", "7"]
    assert list(t["title"]) == ["Avatar", "Café Noir", "Rebuilt"]  # first of a repeated id wins
    assert list(t["genres"]) == [["Action", "Science Fiction"], [], ["Drama"]]
    assert list(t["n_companies"]) == [2, 0, 1]
    assert list(t["n_countries"]) == [2, 0, 1]
    assert t["year"].tolist()[0::2] == [2009, 1999] and math.isnan(t["year"][1])
    assert t["month"].tolist()[0::2] == [12, 3]
    assert t["budget"].tolist()[0::2] == [237000000, 10] and math.isnan(
        t["budget"][1]
    )  # 0 = unknown
    assert report.repaired == Counter(
        {"budget 0 (unknown) set missing": 1, "revenue 0 (unknown) set missing": 1}
    )
    assert list(t["vote_count"]) == [11800, 3, 20]
    assert t["runtime"].isna().tolist() == [False, True, False]
    assert list(t["language"]) == ["en", "fr", "fr"]
    assert t["overview"].isna().tolist() == [False, True, True]
    assert t["poster"].tolist() == [None, None, None]


def test_tmdb_full_2024_layout(tmp_path: Path) -> None:
    rows = [
        dict(
            id="1",
            title="Dune",
            genres="Science Fiction, Adventure",
            production_companies="Legendary",
            production_countries="United States of America, Canada",
            release_date="2021-09-15",
            vote_average="7.8",
            vote_count="9000",
            popularity="80",
            imdb_id="tt1160419",
            adult="False",
        ),
        dict(
            id="2",
            title="Nobody watched",
            genres="",
            production_companies="",
            vote_average="0",
            vote_count="0",
            release_date="2020-01-31",
            imdb_id="",
        ),
        dict(
            id="3",
            title="Literal in names layout",
            genres="['Drama']",
            vote_average="0",
            vote_count="0",
        ),
        dict(id="2", title="Dup", genres="Drama", vote_average="0", vote_count="0"),
        dict(id="4", title="Votes as text", genres="Drama", vote_average="5", vote_count="many"),
    ]
    path = write_csv(tmp_path / "TMDB_movie_dataset_v11.csv", TMDB_V11_HEADER, rows)
    loaded = load_source("tmdb", path)
    t, report = loaded.table, loaded.report

    assert "tmdb-full-2024" in report.notes[0]
    assert report.rows_read == 5
    assert report.dropped == Counter(
        {"malformed genres cell": 1, "duplicate movie id": 1, "non-numeric vote_count": 1}
    )
    assert list(t["movie_id"]) == ["1", "2"]
    assert list(t["genres"]) == [["Science Fiction", "Adventure"], []]
    assert list(t["n_companies"]) == [1, 0]
    assert list(t["n_countries"]) == [2, 0]
    assert list(t["vote_count"]) == [9000, 0]
    assert t["imdb_id"].tolist()[0] == "tt1160419"


def test_movies_metadata_layout_with_shifted_rows(tmp_path: Path) -> None:
    rows = [
        dict(
            id="862",
            title="Toy Story",
            genres=py_list("Animation", "Comedy"),
            production_companies=py_list("Pixar"),
            production_countries=py_list("United States of America"),
            release_date="1995-10-30",
            budget="30000000",
            vote_average="7.7",
            vote_count="5415",
            popularity="21.946943",
            runtime="81.0",
            original_language="en",
        ),
        dict(
            id="863",
            title="O'Brien's film",
            genres="[{'id': 18, 'name': \"Children's\"}]",
            release_date="not a date",
            vote_average="6",
            vote_count="12",
            popularity="1",
        ),
        # the published file's shifted rows: a date where the id is, a poster path in budget
        dict(
            adult=" - Written by Ørnås",
            budget="/ff9qCepilowshEtG2GYWwzt2bs4.jpg",
            id="1997-08-20",
            genres="[{'name': 'Carousel Productions', 'id': 11176}]",
            popularity="Beware Of Frost Bites",
        ),
        dict(
            id="864",
            title="Text popularity",
            genres="[]",
            popularity="Beware Of Frost Bites",
            vote_average="6",
            vote_count="12",
        ),
        dict(
            id="865",
            title="JSON in python layout?",
            genres='[{"id": 1, "name": "Drama"}]',
            vote_average="6",
            vote_count="12",
        ),
        dict(
            id="866",
            title="Broken literal",
            genres="[{'id': 1, 'name': 'Drama'",
            vote_average="6",
            vote_count="12",
        ),
        dict(
            id="862",
            title="Toy Story",
            genres=py_list("Animation", "Comedy"),
            vote_average="7.7",
            vote_count="5415",
        ),
    ]
    path = write_csv(tmp_path / "movies_metadata.csv", MOVIES_METADATA_HEADER, rows)
    loaded = load_source("tmdb", tmp_path)  # a folder holding the file works too
    t, report = loaded.table, loaded.report

    assert "movies-metadata" in report.notes[0]
    assert loaded.report.path == str(path)
    assert report.rows_read == 7
    assert report.dropped == Counter(
        {
            "non-integer id": 1,
            "non-numeric popularity": 1,
            "malformed genres cell": 1,
            "duplicate movie id": 1,
        }
    )
    assert report.repaired == Counter({"unparseable release_date set missing": 1})
    # JSON lists are valid Python literals, so they read in this layout
    assert list(t["movie_id"]) == ["862", "863", "865"]
    assert list(t["genres"]) == [["Animation", "Comedy"], ["Children's"], ["Drama"]]
    assert t["year"].isna().tolist() == [False, True, True]


def test_latin1_file_is_read_and_noted(tmp_path: Path) -> None:
    loaded = load_source("tmdb", tmdb_5000(tmp_path / "tmdb_5000_movies.csv", encoding="latin-1"))
    assert loaded.table["title"][1] == "Café Noir"
    assert any("Latin-1" in n for n in loaded.report.notes)


def test_missing_required_columns_one_line_error(tmp_path: Path) -> None:
    header = [c for c in TMDB_5000_HEADER if c not in ("vote_count", "genres")]
    path = write_csv(tmp_path / "cut.csv", header, [dict(id="1", title="x")])
    with pytest.raises(DataError) as err:
        load_source("tmdb", path)
    message = str(err.value)
    assert (
        "\n" not in message
        and "genres" in message
        and "vote_count" in message
        and "cut.csv" in message
    )


def test_absent_optional_columns_are_missing_values(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "min.csv",
        ["id", "title", "genres", "vote_average", "vote_count"],
        [
            dict(
                id="5",
                title="Minimal",
                genres=json_list("Drama"),
                vote_average="6",
                vote_count="40",
            )
        ],
    )
    loaded = load_source("tmdb", path)
    assert loaded.table["genres"].tolist() == [["Drama"]]
    assert loaded.table[["budget", "runtime", "year", "n_companies"]].isna().all().all()
    assert any("absent" in n and "budget" in n for n in loaded.report.notes)


def test_folder_with_two_csvs_is_ambiguous(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", ["id"], [])
    write_csv(tmp_path / "b.csv", ["id"], [])
    with pytest.raises(DataError, match="expected one TMDB CSV"):
        load_source("tmdb", tmp_path)


def test_posters_beside_the_csv(tmp_path: Path) -> None:
    path = tmdb_5000(tmp_path / "tmdb_5000_movies.csv")
    write_images(tmp_path / "posters", good=["19995.jpg"], zero=["42.jpg"])
    loaded = load_source("tmdb", path)
    assert loaded.table["poster"].tolist() == [
        str(tmp_path / "posters" / "19995.jpg"),
        str(tmp_path / "posters" / "42.jpg"),
        None,
    ]
    assert loaded.report.images == {"found": 2, "missing": 1, "unreadable": 1}
    assert loaded.report.unreadable_images == [str(tmp_path / "posters" / "42.jpg")]


@pytest.mark.parametrize(
    ("cell", "encoding", "names"),
    [
        ('[{"id": 28, "name": "Action"}, {"id": null, "name": "War"}]', "json", ["Action", "War"]),
        ("[{'id': 16, 'name': 'Animation'}]", "python", ["Animation"]),
        ("Action, Science Fiction", "names", ["Action", "Science Fiction"]),
        ("[]", "json", []),
        ("", "names", []),
        (np.nan, "python", []),
    ],
)
def test_parse_list_cell(cell: object, encoding: str, names: list[str]) -> None:
    assert parse_list_cell(cell, encoding) == names


@pytest.mark.parametrize(
    ("cell", "encoding"), [("[{'id': 1}]", "python"), ("{'a': 1}", "json"), ("[1, 2]", "json")]
)
def test_parse_list_cell_malformed(cell: str, encoding: str) -> None:
    with pytest.raises(MalformedCell):
        parse_list_cell(cell, encoding)


def test_detect_layout_from_header() -> None:
    assert detect_layout(TMDB_5000_HEADER).name == "tmdb-5000"
    assert detect_layout(TMDB_V11_HEADER).name == "tmdb-full-2024"
    assert detect_layout(MOVIES_METADATA_HEADER).name == "movies-metadata"


@pytest.mark.shared_data
def test_tmdb_5000_real_file(shared_data: Path) -> None:
    loaded = load_source("tmdb", shared_data / "tmdb-5000" / "tmdb_5000_movies.csv")
    assert loaded.report.rows_read == 4803 and loaded.report.rows_kept == 4803
    assert loaded.table["movie_id"].is_unique
    assert pd.Series([g for gs in loaded.table["genres"] for g in gs]).nunique() == 20
