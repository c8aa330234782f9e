"""bench run --executor ray: cells as Ray tasks on a real local runtime give a serial run's
records; deep rungs ask for a GPU when the cluster declares one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from moviebench.executors import RayExecutor, cell_resources  # noqa: E402
from moviebench.options import RunOptions  # noqa: E402
from moviebench.records import load_records, read_predictions  # noqa: E402
from moviebench.runner import RunRequest, plan, run  # noqa: E402
from tests.fixtures import write_ggplot2_csv  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> object:
    # One GPU declared: Ray schedules by the declared count, no physical GPU is needed.
    ray.init(
        num_cpus=2,
        num_gpus=1,
        include_dashboard=False,
        object_store_memory=80 * 2**20,
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def movies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ggplot2_csv(tmp_path_factory.mktemp("data") / "movies.csv", n=300)


def request(movies: Path, out: Path, models: list[str], **kwargs: object) -> RunRequest:
    return RunRequest(
        task="tmdb-quality",
        options=RunOptions(data=movies, epochs=1),
        models=models,
        seeds=[0],
        out=out,
        **kwargs,
    )


def test_ray_run_matches_a_serial_run_and_a_rerun_skips(
    cluster: object, movies: Path, tmp_path: Path
) -> None:
    models = ["logreg"]
    serial = {r.model: r for r in run(request(movies, tmp_path / "serial", models))}
    remote = run(request(movies, tmp_path / "ray", models, executor=RayExecutor()))
    assert [r.model for r in remote] == ["majority", "logreg"]
    for record in remote:
        assert record.status == "ok"
        assert record.metrics == pytest.approx(serial[record.model].metrics, abs=1e-12)
        assert record.executor["kind"] == "ray" and record.executor["resources"] == {"CPU": 1.0}
        assert read_predictions(Path(record.path)) is not None  # the driver wrote the scores
    assert {r.model for r in load_records(tmp_path / "ray")} == {"majority", "logreg"}
    again = run(request(movies, tmp_path / "ray", models, executor=RayExecutor()))
    assert [r.created for r in again] == [r.created for r in remote]  # nothing retrained


def test_deep_rung_asks_for_the_declared_gpu(cluster: object, movies: Path, tmp_path: Path) -> None:
    records = run(
        request(movies, tmp_path / "deep", ["mlp"], executor=RayExecutor(gpus_per_deep_rung=0.5))
    )
    deep = next(r for r in records if r.model == "mlp")
    assert deep.status == "ok", deep.error
    assert deep.executor["resources"] == {"CPU": 1.0, "GPU": 0.5}
    assert deep.executor["gpu_ids"] == ["0"]
    baseline = next(r for r in records if r.model == "majority")
    assert "GPU" not in baseline.executor["resources"]


def test_a_lost_task_becomes_a_failed_record(cluster: object, movies: Path, tmp_path: Path) -> None:
    ladder = plan(request(movies, tmp_path / "lost", ["logreg"]))
    cell = ladder.cell("logreg", 0)
    crash = ray.remote(max_retries=0)(lambda: os._exit(1)).remote()
    record = RayExecutor._collect(ray, crash, cell, tmp_path / "lost")
    assert record.status == "failed" and "Ray task failed" in record.error
    assert load_records(tmp_path / "lost")[0].status == "failed"


def test_deep_rungs_without_a_gpu_run_on_cpu_only_when_asked() -> None:
    assert cell_resources("classical", 0, 1.0, False) == ({"num_cpus": 1}, None)
    assert cell_resources("deep", 2, 0.25, False) == ({"num_cpus": 1, "num_gpus": 0.25}, None)
    assert cell_resources("deep", 0, 1.0, True) == ({"num_cpus": 1}, None)
    resources, note = cell_resources("deep", 0, 1.0, False)
    assert resources["num_gpus"] == 1.0 and "no GPU" in note and "--deep-on-cpu" in note


def test_tune_runs_trials_as_ray_tasks_in_one_study(
    cluster: object, movies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviebench.tuning import TuneRequest, tune

    monkeypatch.chdir(tmp_path)  # a relative --out: workers must still find the driver's journal
    req = TuneRequest(
        task="tmdb-quality",
        model="logreg",
        options=RunOptions(data=movies),
        trials=3,
        out=Path("out"),
        executor=RayExecutor(),
    )
    result = tune(req)
    assert result.n_complete == 3 and result.best_params
    # The same study continues locally: the trials are in the driver's journal file.
    local = tune(
        TuneRequest(
            task="tmdb-quality",
            model="logreg",
            options=RunOptions(data=movies),
            trials=1,
            out=Path("out"),
        )
    )
    assert local.study == result.study and local.n_complete == 4
