"""tmdb-rating: the regression kind end to end, and min_votes as a setting of the tasks that
read it (so it is in their identities and no other task's)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from moviebench.cell import Cell
from moviebench.errors import BenchError, DataError
from moviebench.options import RunOptions
from moviebench.prepare import prepare
from moviebench.runner import RunRequest, run
from moviebench.targets import REGRESSION
from moviebench.tasks import TASKS, TaskOptions, check_no_leakage
from moviebench.tasks.quality import THRESHOLDS, QualitySettings
from tests.fixtures import write_ggplot2_csv


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ggplot2_csv(tmp_path_factory.mktemp("rating") / "movies.csv", n=400)


def test_the_target_is_the_rating_and_nothing_derived_from_it_is_a_feature(csv: Path) -> None:
    from moviebench.datasets import load_source

    table = load_source("ggplot2movies", csv).table
    data = TASKS.get("tmdb-rating").build(
        table, "ggplot2movies", TaskOptions(settings=QualitySettings())
    )
    assert data.target is REGRESSION and data.y.dtype == float
    kept = table[pd.to_numeric(table["vote_count"]) >= 10]
    np.testing.assert_allclose(np.sort(data.y), np.sort(kept["vote_average"].to_numpy(float)))
    features = data.columns["tabular"]
    assert "runtime" in features and "log_votes" in features
    assert not [c for c in features if re.fullmatch(r"r\d+|rating|vote_average|quality", c)]
    check_no_leakage(TASKS.get("tmdb-rating"), data)
    assert data.scoring["bins"] == list(THRESHOLDS["ggplot2movies"])


def test_a_ladder_beats_the_mean_and_records_every_declared_metric(
    csv: Path, tmp_path: Path
) -> None:
    spec = TASKS.get("tmdb-rating")
    records = run(
        RunRequest(
            task="tmdb-rating",
            options=RunOptions(data=csv),
            models=["ridge", "lightgbm"],
            out=tmp_path,
        )
    )
    by_model = {r.model: r for r in records}
    assert set(by_model) == {"mean-predictor", "ridge", "lightgbm"}  # the trivial rung always runs
    for record in by_model.values():
        assert record.status == "ok" and record.target == "regression"
        assert set(record.metrics) == set(spec.metrics)
    mean = by_model["mean-predictor"].primary
    assert by_model["ridge"].primary < mean and by_model["lightgbm"].primary < mean
    # the mean predictor's RMSE is the spread of the test ratings around the training mean
    assert by_model["mean-predictor"].metrics["r2"] <= 0.0
    assert by_model["ridge"].details["bin_labels"] == ["BAD", "AVG", "GOOD"]


def test_min_votes_is_a_setting_of_the_rating_tasks_only(csv: Path) -> None:
    assert "min_votes" not in RunOptions().identity()
    quality = prepare(TASKS.get("tmdb-quality"), RunOptions(data=csv, settings={"min_votes": "50"}))
    assert Cell(quality, "logreg", 0).identity()["settings"]["min_votes"] == 50
    default = prepare(TASKS.get("tmdb-quality"), RunOptions(data=csv))
    assert len(quality.data) < len(default.data)
    with pytest.raises(BenchError, match="min_votes"):
        prepare(TASKS.get("title-genre"), RunOptions(data=csv, settings={"min_votes": "5"}))
    with pytest.raises(BenchError, match="must be 0 or more"):
        prepare(TASKS.get("tmdb-rating"), RunOptions(data=csv, settings={"min_votes": "-5"}))


def test_a_constant_rating_cannot_be_scored(tmp_path: Path) -> None:
    path = write_ggplot2_csv(tmp_path / "movies.csv", n=120)
    frame = pd.read_csv(path).assign(rating=6.0)
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="every training row has the target 6"):
        prepare(TASKS.get("tmdb-rating"), RunOptions(data=path))


def test_infinite_extra_features_are_set_missing_and_the_table_is_left_alone() -> None:
    """An --features column the loader does not clean: its infinite and too-large values are
    missing in X, counted in a note, and the caller's table keeps its values."""
    from moviebench.tasks.quality import metadata_rows

    table = pd.DataFrame(
        {
            "movie_id": ["1", "2", "3", "4"],
            "vote_average": [5.0, 6.0, 7.0, 8.0],
            "vote_count": [20.0, 30.0, 40.0, 50.0],
            "runtime": [90.0, 100.0, 110.0, 120.0],
            "score": [1.0, np.inf, 1e200, 2.0],
        }
    )
    before = table.copy()
    options = TaskOptions(extra_features=("score",), settings=QualitySettings())
    _, X, notes = metadata_rows(table, "ggplot2movies", options, "tmdb-rating")
    assert list(X.columns) == ["runtime", "log_votes", "score"]
    assert X["score"].isna().tolist() == [False, True, True, False]
    assert X["runtime"].tolist() == [90.0, 100.0, 110.0, 120.0]
    assert any("2 infinite or too large feature values set missing (score)" in n for n in notes)
    pd.testing.assert_frame_equal(table, before)
