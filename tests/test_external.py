"""Models trained outside the harness: `bench split export` hands out the split, `bench
score` scores a submission as an external rung, and refuses each bad one in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from moviebench import api
from moviebench.errors import DataError
from moviebench.options import RunOptions
from tests.fixtures import write_ggplot2_csv


@pytest.fixture(scope="module")
def movies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ggplot2_csv(tmp_path_factory.mktemp("data") / "movies.csv", n=300)


@pytest.fixture(scope="module")
def exported(movies: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    path = api.export_split(
        "tmdb-quality", tmp_path_factory.mktemp("split") / "split.csv", data=movies
    )
    return pd.read_csv(path, dtype={"movie_id": str, "split_hash": str})


def train_outside(split: pd.DataFrame) -> pd.DataFrame:
    """The logreg rung's pipeline, trained on the export alone; scores for val and test."""
    labels = [c for c in split.columns if c.startswith("label:")]
    inputs = [c for c in split.columns if c not in {"movie_id", "part", "split_hash", *labels}]
    train = split[split["part"] == "train"]
    y = train[labels].to_numpy().argmax(axis=1)
    model = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=2000, random_state=0),
    )
    model.fit(train[inputs], y)
    scored = split[split["part"] != "train"]
    probs = model.predict_proba(scored[inputs])
    frame = pd.DataFrame(probs, columns=[f"score:{c[6:]}" for c in labels])
    frame.insert(0, "movie_id", scored["movie_id"].to_numpy())
    frame.insert(1, "split_hash", scored["split_hash"].to_numpy())
    return frame


def test_export_hides_test_labels(exported: pd.DataFrame) -> None:
    labels = [c for c in exported.columns if c.startswith("label:")]
    assert labels and set(exported["part"]) == {"train", "val", "test"}
    assert exported.loc[exported["part"] == "test", labels].isna().all().all()
    assert exported.loc[exported["part"] != "test", labels].notna().all().all()
    assert exported["split_hash"].nunique() == 1


def test_a_pipeline_trained_outside_scores_as_the_rung_does(
    movies: Path, exported: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (_, rung) = api.run("tmdb-quality", models=["logreg"], out=out, data=movies)
    preds = tmp_path / "preds.csv"
    train_outside(exported).to_csv(preds, index=False)
    record = api.score("tmdb-quality", preds, "my-logreg", out=out, data=movies)
    assert record.status == "ok", record.error
    assert record.family == "external"
    assert record.metrics == pytest.approx(rung.metrics, abs=1e-9)
    assert len(record.identity["params"]["predictions_sha256"]) == 64
    board = api.board(out=out, task="tmdb-quality")
    rows = {r.model: r for rows in board.boards.values() for r in rows}
    assert rows["my-logreg"].origin == "external"
    assert rows["my-logreg"].tie or rows["logreg"].tie  # same scores: tied, as any two rungs
    again = api.score("tmdb-quality", preds, "my-logreg", out=out, data=movies)
    assert again.created == record.created  # the same file is not scored twice


def _bad(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


BAD = {
    "missing": (lambda f: f.iloc[1:], r"validation/test film\(s\) missing"),
    "extra": (
        lambda f: pd.concat([f, f.iloc[[0]].assign(movie_id="no-such-film")]),
        r"1 films not in this split given",
    ),
    "wrong columns": (
        lambda f: f.rename(columns={f.columns[-1]: "score:SOMETHING"}),
        r"wrong label columns; missing .*; unknown score:SOMETHING",
    ),
    "nan": (lambda f: f.assign(**{f.columns[-1]: np.nan}), r"score\(s\) are NaN, infinite"),
    "inf": (lambda f: f.assign(**{f.columns[-1]: np.inf}), r"score\(s\) are NaN, infinite"),
    "other split": (lambda f: f.assign(split_hash="0123456789abcdef"), r"made for split 0123"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_bad_submission_is_refused_in_one_line(
    case: str, movies: Path, exported: pd.DataFrame, tmp_path: Path
) -> None:
    change, message = BAD[case]
    path = _bad(change(train_outside(exported)), tmp_path)
    with pytest.raises(DataError, match=message) as err:
        api.score("tmdb-quality", path, "bad", out=tmp_path / "out", data=movies)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("bad/*.json"))


def test_a_multilabel_submission_without_validation_scores_is_refused(
    movies: Path, tmp_path: Path
) -> None:
    split = pd.read_csv(
        api.export_split("title-genre", tmp_path / "split.csv", data=movies),
        dtype={"movie_id": str, "split_hash": str},
    )
    labels = [c[6:] for c in split.columns if c.startswith("label:")]
    test = split[split["part"] == "test"]
    frame = pd.DataFrame(0.5, index=range(len(test)), columns=[f"score:{n}" for n in labels])
    frame.insert(0, "movie_id", test["movie_id"].to_numpy())
    frame.insert(1, "split_hash", test["split_hash"].to_numpy())
    with pytest.raises(DataError, match="multi-label submission needs validation scores"):
        api.score("title-genre", _bad(frame, tmp_path), "genres", out=tmp_path, data=movies)


def test_score_refuses_a_rung_name(movies: Path, exported: pd.DataFrame, tmp_path: Path) -> None:
    from moviebench.errors import BadRequest

    path = _bad(train_outside(exported), tmp_path)
    with pytest.raises(BadRequest, match="a registered rung has that name"):
        api.score("tmdb-quality", path, "logreg", out=tmp_path, options=RunOptions(data=movies))


def test_cli_split_export_then_score(movies: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from moviebench.cli import cli

    split = tmp_path / "split.csv"
    data = ["--data", str(movies)]
    result = CliRunner().invoke(
        cli, ["split", "export", "--task", "tmdb-quality", "--out", str(split), *data]
    )
    assert result.exit_code == 0, result.output
    preds = tmp_path / "preds.csv"
    train_outside(pd.read_csv(split, dtype={"movie_id": str, "split_hash": str})).to_csv(
        preds, index=False
    )
    args = ["score", "--task", "tmdb-quality", "--predictions", str(preds), "--name", "mine"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "out"), *data])
    assert result.exit_code == 0, result.output
    assert "mine: " in result.output
    assert list((tmp_path / "out").rglob("mine/seed-0.json"))
