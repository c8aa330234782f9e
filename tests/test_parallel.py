"""bench run --jobs 2 gives the same records as --jobs 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviebench.options import RunOptions
from moviebench.records import load_records
from moviebench.runner import RunRequest, run
from tests.fixtures import write_ggplot2_csv as write_movies_csv


def test_jobs_two_matches_jobs_one(tmp_path: Path) -> None:
    movies = write_movies_csv(tmp_path / "movies.csv", n=300)
    models = ["logreg", "random-forest"]
    serial = run(
        RunRequest(
            task="tmdb-quality",
            options=RunOptions(data=movies),
            models=models,
            seeds=[0, 1],
            out=tmp_path / "j1",
        )
    )
    parallel = run(
        RunRequest(
            task="tmdb-quality",
            options=RunOptions(data=movies),
            models=models,
            seeds=[0, 1],
            out=tmp_path / "j2",
            jobs=2,
        )
    )
    assert [(r["model"], r["seed"]) for r in serial] == [(r["model"], r["seed"]) for r in parallel]
    stored = {(r["model"], r["seed"]): r for r in load_records(tmp_path / "j2")}
    assert len(stored) == 6
    for a in serial:
        b = stored[(a["model"], a["seed"])]
        assert b["status"] == "ok" and a["status"] == "ok"
        assert b["metrics"] == pytest.approx(a["metrics"], abs=1e-9)
        assert b["split_hash"] == a["split_hash"] and b["n_train"] == a["n_train"]
        assert Path(b["_path"]).with_suffix(".npz").exists()
