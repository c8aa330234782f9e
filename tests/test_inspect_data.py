"""`bench data inspect`, and how `--min-votes` shapes tmdb-quality on TMDB files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.tree import DecisionTreeClassifier

from moviebench.cli import cli
from moviebench.datasets import load_source
from moviebench.inspection import missing_values
from moviebench.targets import MULTICLASS, MULTILABEL
from moviebench.tasks import TASKS, TaskOptions
from moviebench.tasks.quality import QualitySettings
from tests.datasets_fixtures import TMDB_V11_HEADER, write_csv, write_images


def full_2024_like(path: Path, n_voted: int = 120, n_unvoted: int = 240) -> Path:
    """Like the 1M-film TMDB file: most films have 0 votes and a 0 rating; the rest a random one."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_voted + n_unvoted):
        voted = i < n_voted
        rows.append(
            dict(
                id=str(i + 1),
                title=f"Film {i}",
                genres="Drama, Comedy" if i % 2 else "Action",
                vote_count=str(int(rng.integers(10, 5000))) if voted else "0",
                vote_average=f"{rng.uniform(3, 9):.1f}" if voted else "0",
                popularity=f"{rng.uniform(0, 50):.2f}",
                runtime=str(int(rng.integers(80, 150))),
                release_date=f"{int(rng.integers(1950, 2024))}-0{int(rng.integers(1, 9))}-15",
                original_language="en" if i % 3 else "fr",
            )
        )
    return write_csv(path, TMDB_V11_HEADER, rows)


def test_min_votes_filters_and_says_how_many(tmp_path: Path) -> None:
    table = load_source("tmdb", full_2024_like(tmp_path / "v11.csv")).table
    spec = TASKS.get("tmdb-quality")
    default = spec.build(table, "tmdb", TaskOptions(settings=QualitySettings()))
    assert len(default) == 120
    assert "left out 240 films with fewer than 10 votes" in default.notes
    everything = spec.build(table, "tmdb", TaskOptions(settings=QualitySettings(min_votes=0)))
    assert len(everything) == 360
    assert "vote_average" not in everything.X.columns


def test_min_votes_zero_lets_a_model_learn_zero_votes_means_bad(tmp_path: Path) -> None:
    """The likely source of report 000's 83%: with unvoted films kept, 'no votes' predicts BAD."""
    table = load_source("tmdb", full_2024_like(tmp_path / "v11.csv")).table
    spec = TASKS.get("tmdb-quality")

    def stump_accuracy(min_votes: int) -> float:
        data = spec.build(table, "tmdb", TaskOptions(settings=QualitySettings(min_votes=min_votes)))
        X = data.X[["log_votes"]].to_numpy()
        half = len(data) // 2  # rows are in random rating order: first half train, second test
        order = np.random.default_rng(1).permutation(len(data))
        train, test = order[:half], order[half:]
        model = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X[train], data.y[train])
        return float((model.predict(X[test]) == data.y[test]).mean())

    assert stump_accuracy(0) > 0.75  # 2/3 of films are unvoted, all BAD, all found by one split
    assert stump_accuracy(10) < 0.55  # on voted films the vote count says little here


def test_run_reports_films_left_out(tmp_path: Path) -> None:
    data = full_2024_like(tmp_path / "v11.csv")
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--task",
            "tmdb-quality",
            "--source",
            "tmdb",
            "--data",
            str(data),
            "--models",
            "majority",
            "--out",
            str(tmp_path / "results"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "left out 240 films with fewer than 10 votes" in result.output
    assert "360 rows read" in result.output


def test_inspect_tmdb_json(tmp_path: Path) -> None:
    data = full_2024_like(tmp_path / "v11.csv")
    result = CliRunner().invoke(
        cli, ["data", "inspect", "--source", "tmdb", "--data", str(data), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["rows_read"] == 360 and info["rows_kept"] == 360 and info["dropped"] == {}
    assert info["missing"]["overview"] == 360 and info["missing"]["mpaa"] is None
    assert info["genres"] == {"Drama": 180, "Comedy": 180, "Action": 180}
    (quality,) = [t for t in info["tasks"] if t["task"] == "tmdb-quality"]
    assert quality["rows"] == 120
    assert sum(n for _, n in quality["balance"]) == 120
    assert [label for label, _ in quality["balance"]] == ["BAD", "AVG", "GOOD"]


def test_inspect_min_votes_changes_label_balance(tmp_path: Path) -> None:
    data = str(full_2024_like(tmp_path / "v11.csv"))
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "data",
            "inspect",
            "--source",
            "tmdb",
            "--data",
            data,
            "--min-votes",
            "0",
            "--format",
            "json",
        ],
    )
    (quality,) = [t for t in json.loads(out.output)["tasks"] if t["task"] == "tmdb-quality"]
    balance = dict(quality["balance"])
    assert quality["rows"] == 360 and balance["BAD"] >= 240


def test_inspect_table_output_for_image_source(tmp_path: Path) -> None:
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "movies.dat").write_text(
        "1::Toy Story (1995)::Animation|Comedy\n2::Heat (1995)::Action\nbad line\n"
    )
    write_images(folder / "posters", good=[], truncated=["2.jpg"])
    result = CliRunner().invoke(
        cli, ["data", "inspect", "--source", "movielens-1m", "--data", str(folder)]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "rows read 3, kept 2, dropped 1" in out
    assert "dropped 1: malformed line" in out
    assert "images: 1 found, 1 missing, 1 unreadable" in out
    assert f"unreadable: {folder / 'posters' / '2.jpg'}" in out
    assert "Animation" in out and "genre frequencies (3 genres)" in out


def test_inspect_unknown_source_and_bad_data_are_one_line_errors(tmp_path: Path) -> None:
    from moviebench.cli import main

    for args in (
        ["data", "inspect", "--source", "tmbd"],
        ["data", "inspect", "--source", "tmdb", "--data", str(tmp_path / "nope.csv")],
    ):
        with pytest.raises(SystemExit) as exit_:
            import sys

            old = sys.argv
            sys.argv = ["bench", *args]
            try:
                main()
            finally:
                sys.argv = old
        assert exit_.value.code == 2


def test_missing_values_and_label_balance_helpers() -> None:
    import pandas as pd

    table = pd.DataFrame({"movie_id": ["1", "2"], "title": ["a", None], "genres": [["x"], []]})
    missing = missing_values(table)
    assert missing["title"] == 1 and missing["genres"] == 1 and missing["budget"] is None
    y = np.array([[1, 0, 1], [0, 0, 1]])
    assert MULTILABEL.label_balance(y, ["a", "b", "c"]) == [("a", 1), ("b", 0), ("c", 2)]
    assert MULTICLASS.label_balance(np.array([0, 2, 2]), ["x", "y", "z"]) == [
        ("x", 1),
        ("y", 0),
        ("z", 2),
    ]


@pytest.mark.shared_data
def test_inspect_real_ml1m(shared_data: Path) -> None:
    result = CliRunner().invoke(
        cli, ["data", "inspect", "--source", "movielens-1m", "--data", str(shared_data / "ml-1m")]
    )
    assert result.exit_code == 0, result.output
    assert "rows read 3,883, kept 3,883, dropped 0" in result.output
    assert "images: 3,256 found, 627 missing, 0 unreadable" in result.output
    assert "genre frequencies (18 genres)" in result.output
    table = load_source("movielens-1m", shared_data / "ml-1m").table  # image check now cached
    assert len(table) == 3883 and table["movie_id"].is_unique and table["year"].notna().all()
    assert table["poster"].notna().sum() == 3256
