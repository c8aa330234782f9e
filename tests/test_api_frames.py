"""The notebook API: `api.run` takes Model classes beside names and checks every option before
anything trains; boards and summaries come back as DataFrames equal to `bench leaderboard
--format json` row for row, and render as HTML in Jupyter."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

from moviebench import api, plugins
from moviebench.cli import cli
from moviebench.errors import BenchError
from moviebench.models import MODELS
from moviebench.models.classical.tabular import SklearnTabular
from tests.fixtures import write_ggplot2_csv


class NotebookLogReg(SklearnTabular):
    """A rung as a notebook user writes it: never registered by hand."""

    name = "notebook-logreg"
    summary = "logistic regression with a small C"
    defaults = {"C": 0.1}

    def classifier(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=500, random_state=self.context.seed)


@pytest.fixture
def movies(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "movies.csv", n=300)


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    """Classes a test registers (and the plugin specs they leave for workers) are removed."""
    MODELS.names()
    items, active = dict(MODELS._items), list(plugins._ACTIVE)
    yield
    MODELS._items.clear()
    MODELS._items.update(items)
    plugins._ACTIVE[:] = active


def test_run_takes_classes_beside_names(movies: Path, tmp_path: Path) -> None:
    def local_rung() -> type[SklearnTabular]:
        class LocalLogReg(NotebookLogReg):
            name = "local-logreg"

        return LocalLogReg

    records = api.run(
        "tmdb-quality",
        models=[NotebookLogReg, "logreg", local_rung()],
        data=movies,
        out=tmp_path / "out",
    )
    by_model = {r.model: r for r in records}
    assert set(by_model) == {"majority", "notebook-logreg", "logreg", "local-logreg"}
    assert all(r.status == "ok" for r in records), [r.error for r in records]
    assert by_model["notebook-logreg"].params == {"C": 0.1}
    assert MODELS.get("notebook-logreg") is NotebookLogReg
    # Its code is in its identity, as a --models pkg.module:Class's is.
    code = by_model["notebook-logreg"].identity["model_code"]
    assert code["class"] == "tests.test_api_frames.NotebookLogReg"
    # A class defined in a function cannot reach worker processes: refused before training.
    with pytest.raises(BenchError, match="local-logreg: defined in a notebook or a function"):
        api.run("tmdb-quality", models=["local-logreg"], data=movies, out=tmp_path / "p", jobs=2)
    assert not (tmp_path / "p").exists()


def test_a_class_under_a_taken_name_is_refused(movies: Path, tmp_path: Path) -> None:
    class Impostor(NotebookLogReg):
        name = "logreg"

    with pytest.raises(
        BenchError, match=r"models=\[.*Impostor\]: model 'logreg' .*already registered"
    ):
        api.run("tmdb-quality", models=[Impostor], data=movies, out=tmp_path / "out")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"split_seeds": [1, -1]}, "--split-seed -1: seeds must be whole numbers"),
        ({"split_seeds": [1, 2], "seeds": [0, 0]}, "--seeds: seed 0 given more than once"),
        ({"split_seeds": [1, 2], "models": ["logreg", "nope"]}, "unknown model 'nope'"),
    ],
)
def test_every_option_is_checked_before_anything_trains(
    movies: Path, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    options = {"models": ["logreg"], **options}
    with pytest.raises(BenchError, match=message):
        api.run("tmdb-quality", data=movies, out=tmp_path / "out", **options)
    assert not list(tmp_path.glob("out/**/*.json")), "a split trained before the refusal"


def _present(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its absent or null entries (a frame has a column for every key of
    every row; JSON leaves a row's unmeasured marks out)."""
    out = {}
    for key, value in row.items():
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        out[key] = _present(value) if isinstance(value, dict) else value
    return out


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    """`metrics.macro_f1` columns back into the JSON's nested objects."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        head, dot, tail = key.partition(".")
        if dot:
            out.setdefault(head, {})[tail] = value
        else:
            out[key] = value
    return out


def test_board_frame_equals_the_json_leaderboard(movies: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.run("tmdb-quality", models=["logreg"], data=movies, out=out)
    api.run("tmdb-rating", models=["ridge"], data=movies, out=out)
    printed = CliRunner().invoke(cli, ["leaderboard", "--out", str(out), "--format", "json"])
    assert printed.exit_code == 0, printed.output
    expected = json.loads(printed.output)

    board = api.board(out=out)
    frame = board.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == len(expected) == 4  # two rungs on each of two boards
    assert {"metrics.macro_f1", "metrics.rmse", "primary_std", "fit_seconds", "rank"} <= set(
        frame.columns
    )
    rows = frame.drop(columns="rank").to_dict("records")
    assert [_present(_nested(r)) for r in rows] == [_present(r) for r in expected]
    assert frame.groupby(["task", "source"])["rank"].min().eq(1).all()

    page = board._repr_html_()
    assert page.count("<table") == 2
    assert "tmdb-quality on ggplot2movies (macro_f1)" in page and "logreg" in page


def test_summary_frame_and_html(movies: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.run("tmdb-quality", models=["logreg"], data=movies, out=out)
    summary = api.summary(out, resamples=50)
    frame = summary.to_frame()
    assert set(frame["level"]) == {"family", "rung"}
    assert set(frame.loc[frame["level"] == "rung", "name"]) == {"majority", "logreg"}
    assert {"won", "mean_rank", "mean_normalised", "fit_seconds"} <= set(frame.columns)
    page = summary._repr_html_()
    assert "<table" in page and "logreg" in page
