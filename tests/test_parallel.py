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


def test_networks_keep_every_core_in_their_own_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    """--jobs splits classical cells across processes, but networks run one at a time with
    every core (the serial run's thread count), decided from the plan alone."""
    from types import SimpleNamespace

    from moviebench import threads
    from moviebench.runner import lanes

    monkeypatch.setattr(threads, "cores", lambda: 4)
    cells = [SimpleNamespace(model=m, seed=0) for m in ("logreg", "mlp", "lightgbm", "cnn-lstm")]
    mixed = lanes(cells, jobs=2)
    assert [([c.model for c in lane], workers, n) for lane, workers, n in mixed] == [
        (["mlp", "cnn-lstm"], 1, 4),
        (["logreg", "lightgbm"], 1, 2),
    ]
    assert [(w, n) for _, w, n in lanes(cells[::2], jobs=2)] == [(2, 2)]  # classical only
    assert [(w, n) for _, w, n in lanes(cells[1::2], jobs=3)] == [(1, 4)]  # networks only


def test_jobs_two_gives_a_network_the_serial_threads(tmp_path: Path) -> None:
    from moviebench import threads

    movies = write_movies_csv(tmp_path / "movies.csv", n=300)
    records = run(
        RunRequest(
            task="tmdb-quality",
            options=RunOptions(data=movies, epochs=1),
            models=["logreg", "mlp"],
            out=tmp_path / "j2",
            jobs=2,
        )
    )
    used = {r["model"]: r["threads"] for r in records}
    assert used["mlp"] == threads.cores() and used["logreg"] == threads.per_worker(2)
