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
    assert [(r.model, r.seed) for r in serial] == [(r.model, r.seed) for r in parallel]
    stored = {(r.model, r.seed): r for r in load_records(tmp_path / "j2")}
    assert len(stored) == 6
    for a in serial:
        b = stored[(a.model, a.seed)]
        assert b.status == "ok" and a.status == "ok"
        assert b.metrics == pytest.approx(a.metrics, abs=1e-9)
        assert b.split_hash == a.split_hash and b.n_train == a.n_train
        assert Path(b.path).with_suffix(".npz").exists()


def test_networks_keep_their_cores_and_workers_take_the_spare_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--jobs gives networks this process and its threads (the serial run's), and the other
    cells worker processes on the cores left spare; with none spare everything runs here, in
    ladder order. Decided from the plan and the core count alone."""
    from types import SimpleNamespace

    from moviebench import threads
    from moviebench.executors import lanes

    cells = [SimpleNamespace(model=m, seed=0) for m in ("logreg", "mlp", "lightgbm", "cnn-lstm")]

    def plan(cores: int, here: int, jobs: int) -> list[tuple[list[str], int, int]]:
        monkeypatch.setattr(threads, "cores", lambda: cores)
        monkeypatch.setattr(threads, "current", lambda: here)
        return [([c.model for c in lane], w, n) for lane, w, n in lanes(cells, jobs=jobs)]

    everything_here = [(["logreg", "mlp", "lightgbm", "cnn-lstm"], 0, 4)]
    assert plan(cores=4, here=4, jobs=2) == everything_here  # networks use every core
    assert plan(cores=8, here=4, jobs=2) == [
        (["mlp", "cnn-lstm"], 0, 4),
        (["logreg", "lightgbm"], 1, 4),
    ]
    assert plan(cores=8, here=4, jobs=3)[1] == (["logreg", "lightgbm"], 2, 2)
    monkeypatch.setattr(threads, "cores", lambda: 4)
    assert [(w, n) for _, w, n in lanes(cells[::2], jobs=2)] == [(2, 2)]  # classical only
    assert [(w, n) for _, w, n in lanes(cells[1::2], jobs=3)] == [(0, 4)]  # networks only


@pytest.mark.parametrize("spare", [0, 1])
def test_jobs_two_gives_a_network_the_serial_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spare: int
) -> None:
    from moviebench import threads

    here = threads.current()
    monkeypatch.setattr(threads, "cores", lambda: here + spare)
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
    used = {r.model: r.threads for r in records}
    assert used["mlp"] == here  # as in a serial run
    assert used["logreg"] == (1 if spare else here)  # a worker on the spare core, else here
