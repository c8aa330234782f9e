"""The text tasks end to end: CLI -> source -> task -> split -> models -> records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moviebench.cli import cli
from moviebench.options import RunOptions
from moviebench.prepare import prepare
from moviebench.records import load_records
from moviebench.tasks import TASKS, TaskOptions
from tests.datasets_fixtures import TMDB_5000_HEADER, json_list, write_csv

GENRE_WORDS = {
    "Action": "Gun Chase Fight",
    "Romance": "Love Kiss Heart",
    "Comedy": "Laugh Joke Fool",
}
FLAGS = ["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short"]


def ggplot2_csv(path: Path, n: int = 150) -> Path:
    rng = np.random.default_rng(0)
    names = list(GENRE_WORDS)
    rows = []
    for i in range(n):
        genre = names[i % 3]
        words = rng.choice(GENRE_WORDS[genre].split(), 2)
        row = {
            "title": f"{' '.join(words)} {i}",
            "year": 1950 + i % 50,
            "length": 90,
            "budget": "",
            "rating": 6.0,
            "votes": 100,
            "mpaa": "",
        }
        row.update({flag: int(flag == genre) for flag in FLAGS})
        if i % 10 == 0:
            row["Drama"] = 1
        if i % 50 == 1:  # 3 films in all: too rare to keep
            row["Animation"] = 1
        rows.append(row)
    return write_csv(
        path, ["title", "year", "length", "budget", "rating", "votes", "mpaa", *FLAGS], rows
    )


def tmdb_csv(path: Path, n: int = 150) -> Path:
    rng = np.random.default_rng(1)
    names = list(GENRE_WORDS)
    rows = []
    for i in range(n):
        genre = names[i % 3]
        words = " ".join(rng.choice(GENRE_WORDS[genre].lower().split(), 3))
        rows.append(
            {
                "id": i + 1,
                "title": f"Title {words} {i}",
                "genres": json_list(genre),
                "overview": "" if i % 25 == 0 else f"a film about {words}",
                "tagline": "" if i % 7 == 0 else f"{words} number {i}",
                "vote_average": 6.5,
                "vote_count": 100,
                "release_date": "2000-01-01",
                "keywords": "[]",
                "production_companies": "[]",
                "production_countries": "[]",
                "spoken_languages": "[]",
                "original_language": "en",
                "original_title": f"T{i}",
                "budget": 0,
                "revenue": 0,
                "runtime": 100,
                "popularity": 1.0,
                "status": "Released",
            }
        )
    return write_csv(path, TMDB_5000_HEADER, rows)


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_title_genre_run_stores_thresholds_settings_and_notes(tmp_path: Path) -> None:
    data, out = ggplot2_csv(tmp_path / "movies.csv"), tmp_path / "results"
    output = invoke(
        "run",
        "--task",
        "title-genre",
        "--data",
        str(data),
        "--models",
        "tfidf-logreg",
        "--set",
        "min_label_count=5",
        "--out",
        str(out),
    )
    assert "left out 1 labels with fewer than 5 training films: Animation" in output
    assert "prior (baseline)" in output and "tfidf-logreg" in output
    records = {r.model: r for r in load_records(out, "title-genre")}
    assert set(records) == {"prior", "tfidf-logreg"} and all(
        r.status == "ok" for r in records.values()
    )
    record = records["tfidf-logreg"]
    assert record.labels == ["Action", "Comedy", "Drama", "Romance"]
    thresholds = record.details["thresholds"]
    assert len(thresholds) == 4 and len(set(thresholds)) == 1  # one global threshold by default
    assert set(record.details["per_label"]) == set(record.labels)
    assert record.settings["min_label_count"] == 5
    assert any(note.startswith("4 labels: ") for note in record.data_notes)
    assert record.metrics["map@3"] > records["prior"].metrics["map@3"]

    invoke(
        "run",
        "--task",
        "title-genre",
        "--data",
        str(data),
        "--models",
        "tfidf-logreg",
        "--force",
        "--set",
        "min_label_count=5",
        "--set",
        "per_label_threshold=true",
        "--out",
        str(out),
    )
    (path,) = (out / "title-genre/ggplot2movies").glob(
        "*/tfidf-logreg/seed-0.json"
    )  # one data folder
    per_label = json.loads(path.read_text())
    assert per_label["settings"]["per_label_threshold"] is True
    assert len(set(per_label["details"]["thresholds"])) > 1


def test_changed_genre_minimum_reruns_instead_of_reusing(tmp_path: Path) -> None:
    data, out = ggplot2_csv(tmp_path / "movies.csv"), tmp_path / "results"
    invoke(
        "run",
        "--task",
        "title-genre",
        "--data",
        str(data),
        "--set",
        "min_label_count=5",
        "--models",
        "prior",
        "--out",
        str(out),
    )
    output = invoke(
        "run",
        "--task",
        "title-genre",
        "--data",
        str(data),
        "--set",
        "min_label_count=16",
        "--models",
        "prior",
        "--out",
        str(out),
    )
    assert "finished record exists" not in output
    (record,) = load_records(out, "title-genre")
    assert record.labels == ["Action", "Comedy", "Romance"]  # Drama (10% of films) now too rare


def test_bad_setting_is_a_click_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--task", "title-genre", "--set", "oops"])
    assert result.exit_code != 0 and "KEY=VALUE" in result.output


def test_overview_genre_and_tagline_title_on_a_tmdb_file(tmp_path: Path) -> None:
    data, out = tmdb_csv(tmp_path / "tmdb_5000_movies.csv"), tmp_path / "results"
    output = invoke(
        "run",
        "--task",
        "overview-genre",
        "--source",
        "tmdb",
        "--data",
        str(data),
        "--models",
        "tfidf-char-svm",
        "--set",
        "min_label_count=5",
        "--out",
        str(out),
    )
    assert "dropped 6 films with an empty overview" in output
    (svm,) = [r for r in load_records(out, "overview-genre") if r.model == "tfidf-char-svm"]
    assert svm.status == "ok" and svm.primary_metric == "mAP"

    output = invoke(
        "run",
        "--task",
        "tagline-title",
        "--source",
        "tmdb",
        "--data",
        str(data),
        "--models",
        "tfidf-cosine",
        "--out",
        str(out),
    )
    assert "dropped 22 films without a tagline or title" in output
    records = {r.model: r for r in load_records(out, "tagline-title")}
    assert set(records) == {"random-rank", "tfidf-cosine"}
    assert set(records["tfidf-cosine"].metrics) == {"mrr", "top1", "top5"}
    assert records["tfidf-cosine"].metrics["mrr"] > records["random-rank"].metrics["mrr"]


@pytest.mark.shared_data
def test_overview_genre_rows_on_tmdb_5000(shared_data: Path) -> None:
    from moviebench.datasets import load_source

    path = shared_data / "tmdb-5000" / "tmdb_5000_movies.csv"
    table = load_source("tmdb", path).table
    data = prepare(TASKS.get("overview-genre"), RunOptions(source="tmdb", data=path)).data
    assert "TV Movie" not in data.labels and len(data.labels) == 19
    assert any("TV Movie" in n for n in data.notes)
    assert 4700 < len(data) < 4803 and data.y.sum(axis=1).min() == 1
    retrieval = TASKS.get("tagline-title").build(table, "tmdb", TaskOptions())
    assert 3800 < len(retrieval) < 4000


@pytest.mark.shared_data
def test_title_genre_rows_on_movielens_1m(shared_data: Path) -> None:
    data = prepare(
        TASKS.get("title-genre"), RunOptions(source="movielens-1m", data=shared_data / "ml-1m")
    ).data
    titles = set(data.text())
    assert "The American President" in titles and "Toy Story" in titles
    assert not any(t.endswith(")") and t[-5:-1].isdigit() for t in titles)  # no "(1995)" left
    assert 14 <= len(data.labels) <= 18 and len(data) > 3800
