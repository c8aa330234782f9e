"""Building the text tasks from canonical tables: rare genres, empty texts, retrieval rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from moviebench.errors import DataError
from moviebench.options import DEFAULT_SPLIT_SEED
from moviebench.splits import make_split
from moviebench.targets import MULTILABEL, RETRIEVAL
from moviebench.tasks import TASKS, TaskData, TaskOptions
from moviebench.tasks.text import (
    GenreSettings,
    build_overview_genre,
    build_tagline_title,
    build_title_genre,
    clean_titles,
)


def _ids_by_part(n: int, seed: int) -> dict[str, list[str]]:
    ids = np.array([f"m{i}" for i in range(n)])
    split = make_split(ids, seed)
    return {part: list(ids[split.part(part)]) for part in ("train", "val", "test")}


def _held_out(movie_id: str) -> bool:
    return len(make_split(np.array([movie_id]), DEFAULT_SPLIT_SEED).train) == 0


def overview_table() -> pd.DataFrame:
    """Drama everywhere; 'Rare' on 2 training films but many held-out ones; a few empty overviews."""
    parts = _ids_by_part(80, DEFAULT_SPLIT_SEED)
    rows = []
    for part, ids in parts.items():
        for i, movie_id in enumerate(ids):
            genres = ["Drama"] if i % 2 else ["Comedy", "Drama"]
            if part != "train" or i < 2:
                genres = genres + ["Rare"]
            rows.append({"movie_id": movie_id, "overview": f"a story number {i}", "genres": genres})
    # a held-out film whose only genre is the rare one is left with none
    alone = next(f"alone{k}" for k in range(100) if _held_out(f"alone{k}"))
    rows.append({"movie_id": alone, "overview": "lonely", "genres": ["Rare"]})
    # empty texts in every spelling
    rows += [
        {"movie_id": f"e{i}", "overview": text, "genres": ["Drama"]}
        for i, text in enumerate([None, "", "   ", np.nan])
    ]
    return pd.DataFrame(rows)


def overview_rows(table: pd.DataFrame, min_count: int) -> TaskData:
    """The task's rows as `prepare` leaves them: built, split, rare genres counted on train."""
    data = build_overview_genre(table, "tmdb", TaskOptions(settings=GenreSettings()))
    split = make_split(data.split_key, DEFAULT_SPLIT_SEED)
    return MULTILABEL.prune_labels(
        "task overview-genre", data, split, min_count, DEFAULT_SPLIT_SEED
    )[0]


def test_rare_genres_counted_on_train_only_and_reported() -> None:
    table = overview_table()
    assert _held_out(table["movie_id"].iloc[-5])  # the film with only 'Rare'
    data = overview_rows(table, 3)
    assert data.labels == ["Comedy", "Drama"]  # 'Rare' has 2 training films, despite ~20 held out
    assert any("left out 1 labels" in n and "Rare (2)" in n for n in data.notes)
    assert data.y.shape == (len(data), 2) and data.y.sum(axis=1).min() >= 1


def test_films_left_without_genre_and_empty_texts_are_dropped_and_counted() -> None:
    table = overview_table()
    data = overview_rows(table, 3)
    assert any(n == "dropped 4 films with an empty overview" for n in data.notes)
    assert any(n == "dropped 1 films left with no label" for n in data.notes)
    assert len(data) == len(table) - 5
    assert (data.text().str.strip().str.len() > 0).all()
    # with a low minimum the rare genre stays, and nobody is left without a genre
    low = overview_rows(table, 2)
    assert "Rare" in low.labels and not any("no genre" in n for n in low.notes)


def test_labels_built_narrow_reach_models_as_int64() -> None:
    """A genre build's int8 matrix (memory at a million films) is widened where every run's
    labels pass, so models get the int64 0/1 matrix they always had, with the same values."""
    table = overview_table()
    # a genre only a film without text has goes with it
    gone = pd.DataFrame([{"movie_id": "g", "overview": " ", "genres": ["Gone", "Drama"]}])
    table = pd.concat([table, gone], ignore_index=True)
    built = build_overview_genre(table, "tmdb", TaskOptions(settings=GenreSettings()))
    assert built.y.dtype == np.int8
    assert built.labels == ["Comedy", "Drama", "Rare"] and "g" not in built.ids
    data = overview_rows(table, 1)
    assert data.y.dtype == np.int64
    assert data.labels == built.labels
    np.testing.assert_array_equal(data.y, built.y)


def test_malformed_genre_cells_count_as_no_genre() -> None:
    table = pd.DataFrame(
        {
            "movie_id": ["a", "b", "c"],
            "overview": ["x", "y", "z"],
            "genres": [["Drama"], np.nan, "Drama"],
        }
    )
    data = build_overview_genre(table, "tmdb", TaskOptions(settings=GenreSettings()))
    assert list(data.ids) == ["a"] and any(
        "dropped 2 films without a genre" in n for n in data.notes
    )


def test_no_genre_frequent_enough_is_a_one_line_error() -> None:
    table = overview_table()
    with pytest.raises(DataError, match="min_label_count"):
        overview_rows(table, 10_000)


def test_missing_text_column_is_a_data_error() -> None:
    table = pd.DataFrame({"movie_id": ["a"], "genres": [["Drama"]]})
    with pytest.raises(DataError, match="overview-genre needs column"):
        build_overview_genre(table, "ggplot2movies", TaskOptions())


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("American President, The (1995)", "The American President"),
        ("Toy Story (1995)", "Toy Story"),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            "City of Lost Children, The (Cité des enfants perdus, La)",
        ),
        ("Misérables, Les", "Les Misérables"),
        ("Heat", "Heat"),
    ],
)
def test_movielens_titles_are_cleaned(raw: str, clean: str) -> None:
    assert list(clean_titles(pd.Series([raw]))) == [clean]


def test_title_genre_uses_clean_titles() -> None:
    table = pd.DataFrame(
        {
            "movie_id": [str(i) for i in range(30)],
            "title": [f"Film {i}, The (1999)" for i in range(30)],
            "genres": [["Drama"]] * 30,
        }
    )
    data = build_title_genre(table, "movielens-1m", TaskOptions(settings=GenreSettings()))
    assert data.text().iloc[0] == "The Film 0" and data.columns == {"text": ["title"]}


def test_tagline_title_rows() -> None:
    table = pd.DataFrame(
        {
            "movie_id": ["1", "2", "3", "4", "5"],
            "tagline": ["Run.", None, "Hide.", "Seek.", "Again."],
            "title": ["Alpha", "Beta", "Gamma", "gamma", "Delta"],
            "genres": [[]] * 5,
        }
    )
    data = build_tagline_title(table, "tmdb", TaskOptions())
    assert list(data.ids) == ["1", "3", "5"]
    assert list(data.y) == [0, 1, 2] and data.target is RETRIEVAL
    assert data.columns == {"query": ["tagline"], "candidate": ["title"]}
    assert "dropped 1 films without a tagline or title" in data.notes
    assert "dropped 1 films whose title repeats another film's" in data.notes
    # a film outside the task (no tagline) does not knock out a later film of the same title
    table.loc[0, "tagline"] = None
    table.loc[4, "title"] = "Alpha"
    again = build_tagline_title(table, "tmdb", TaskOptions())
    assert list(again.ids) == ["3", "5"] and list(again.X["title"]) == ["Gamma", "Alpha"]


def test_specs() -> None:
    assert TASKS.get("title-genre").default_source == "ggplot2movies"
    assert TASKS.get("overview-genre").ladder[0] == "prior"
    assert TASKS.get("tagline-title").primary_metric == "mrr"
    assert TASKS.get("tagline-title").ladder[0] == "random-rank"


def test_genre_matrix_of_lists_of_one_length():
    """Lists of one length must stay cells (not become a 2-D array of names)."""
    from moviebench.tasks.text import genre_matrix

    assert genre_matrix([["Drama"]])[0] == ["Drama"]
    labels, y = genre_matrix([["Drama", "War"], ["War", "Drama"]])
    assert labels == ["Drama", "War"] and y.tolist() == [[1, 1], [1, 1]]
