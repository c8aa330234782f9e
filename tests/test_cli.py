"""`bench` as a user runs it: exit codes, one-line errors, leaderboards from records."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures import bench, write_ggplot2_csv


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "movies.csv", n=300)


def test_run_then_leaderboard_end_to_end(capsys, monkeypatch, tiny, tmp_path):
    out = str(tmp_path / "results")
    code, stdout, _ = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "tmdb-quality",
        "--data",
        str(tiny),
        "--models",
        "logreg,cnn-lstm",
        "--epochs",
        "2",
        "--out",
        out,
    )
    assert code == 0
    assert "majority (baseline)" in stdout and "logreg" in stdout and "cnn-lstm" in stdout

    code, stdout, _ = bench(
        capsys,
        monkeypatch,
        "leaderboard",
        "--task",
        "tmdb-quality",
        "--out",
        out,
        "--format",
        "json",
    )
    assert code == 0
    rows = json.loads(stdout)
    assert {r["model"] for r in rows} == {"majority", "logreg", "cnn-lstm"}
    for row in rows:
        assert {"model", "primary", "metrics", "fit_seconds"} <= set(row)
        assert row["primary"] == pytest.approx(row["metrics"]["macro_f1"])

    code, stdout, _ = bench(
        capsys, monkeypatch, "leaderboard", "--task", "tmdb-quality", "--out", out, "--format", "md"
    )
    assert code == 0
    assert "| # | model |" in stdout and "majority (baseline)" in stdout

    code, stdout, _ = bench(
        capsys,
        monkeypatch,
        "leaderboard",
        "--task",
        "tmdb-quality",
        "--out",
        out,
        "--format",
        "csv",
    )
    assert stdout.splitlines()[0].startswith("task,source,model")
    assert len(stdout.strip().splitlines()) == 4


def one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_task_suggests_the_closest_name(capsys, monkeypatch):
    code, _, err = bench(capsys, monkeypatch, "run", "--task", "tmdb-qualty")
    assert code == 2
    assert "unknown task 'tmdb-qualty'" in one_line_error(err) and "tmdb-quality" in err


def test_unknown_model_suggests_the_closest_name(capsys, monkeypatch, tiny):
    code, _, err = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "tmdb-quality",
        "--data",
        str(tiny),
        "--models",
        "lightgbn",
    )
    assert code == 2
    assert "unknown model 'lightgbn'" in one_line_error(err) and "lightgbm" in err


@pytest.mark.parametrize("column", ["vote_average", "r3"])
def test_a_target_derived_feature_is_refused(capsys, monkeypatch, tiny, tmp_path, column):
    code, _, err = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "tmdb-quality",
        "--data",
        str(tiny),
        "--features",
        column,
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 2
    assert f"feature '{column}' is derived from the target" in one_line_error(err)
    assert not (tmp_path / "r").exists()  # refused before anything is trained


def test_missing_columns_are_named_in_one_line(capsys, monkeypatch, tiny, tmp_path):
    broken = tmp_path / "broken.csv"
    pd.read_csv(tiny).drop(columns=["votes", "mpaa"]).to_csv(broken, index=False)
    code, _, err = bench(
        capsys, monkeypatch, "run", "--task", "tmdb-quality", "--data", str(broken)
    )
    assert code == 2
    line = one_line_error(err)
    assert str(broken) in line and "votes" in line and "mpaa" in line


def test_missing_data_path_is_a_clear_error(capsys, monkeypatch, tmp_path):
    code, _, err = bench(
        capsys, monkeypatch, "run", "--task", "tmdb-quality", "--data", str(tmp_path / "nope.csv")
    )
    assert code == 2
    assert "no such file" in one_line_error(err)


def test_leaderboard_without_records_says_what_to_do(capsys, monkeypatch, tmp_path):
    code, _, err = bench(
        capsys, monkeypatch, "leaderboard", "--task", "tmdb-quality", "--out", str(tmp_path)
    )
    assert code == 2
    assert "bench run --task tmdb-quality" in one_line_error(err)


def test_ls_lists_tasks_sources_and_models(capsys, monkeypatch):
    code, out, _ = bench(capsys, monkeypatch, "ls")
    assert code == 0
    for name in ("tmdb-quality", "ggplot2movies", "majority", "lightgbm", "cnn-lstm"):
        assert name in out
