"""bench tune: validation-only objective, shared studies, pruning, and `run --tuned`."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from moviebench.models.classical.tabular import LogReg
from moviebench.options import RunOptions
from moviebench.prepare import prepare
from moviebench.runner import RunRequest, run
from moviebench.tasks import TASKS
from moviebench.tuning import (
    TuneRequest,
    default_study_name,
    open_storage,
    storage_label,
    tune,
)
from tests.fixtures import write_ggplot2_csv as write_movies_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def movies(tmp_path: Path) -> Path:
    return write_movies_csv(tmp_path / "movies.csv", n=300)


def _prep(csv: Path):
    return prepare(TASKS.get("tmdb-quality"), RunOptions(data=csv))


def _trial_values(journal: Path, study: str) -> list[float]:
    loaded = optuna.load_study(study_name=study, storage=open_storage(str(journal)))
    return [t.value for t in loaded.trials]


def test_tuning_never_touches_test_rows(
    movies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prep = _prep(movies)
    test_ids = set(prep.data.ids[prep.split.test])
    seen: list[set[str]] = []
    original_fit, original_predict = LogReg.fit, LogReg.predict_scores

    def spy_fit(self, train, val):  # type: ignore[no-untyped-def]
        seen.extend([set(train.ids), set(val.ids)])
        return original_fit(self, train, val)

    def spy_predict(self, data):  # type: ignore[no-untyped-def]
        seen.append(set(data.ids))
        return original_predict(self, data)

    monkeypatch.setattr(LogReg, "fit", spy_fit)
    monkeypatch.setattr(LogReg, "predict_scores", spy_predict)
    result = tune(
        TuneRequest(
            task="tmdb-quality",
            model="logreg",
            options=RunOptions(data=movies),
            trials=3,
            storage=str(tmp_path / "a.log"),
            sampler_seed=0,
        )
    )
    assert seen and all(not (ids & test_ids) for ids in seen)
    assert result.n_complete == 3

    # Scramble the test rows' ratings (their labels): every trial must score exactly the same.
    frame = pd.read_csv(movies)
    ids = frame["title"] + " (" + frame["year"].astype(str) + ")"
    is_test = ids.isin(test_ids).to_numpy()
    frame.loc[is_test, "rating"] = np.random.default_rng(1).uniform(1, 10, is_test.sum()).round(1)
    scrambled = tmp_path / "scrambled.csv"
    frame.to_csv(scrambled, index=False)
    prep2 = _prep(scrambled)
    assert prep2.split.hash == prep.split.hash
    assert not np.array_equal(prep2.data.y[prep2.split.test], prep.data.y[prep.split.test])
    again = tune(
        TuneRequest(
            task="tmdb-quality",
            model="logreg",
            options=RunOptions(data=scrambled),
            trials=3,
            storage=str(tmp_path / "b.log"),
            sampler_seed=0,
        )
    )
    assert again.study == result.study
    assert _trial_values(tmp_path / "a.log", result.study) == _trial_values(
        tmp_path / "b.log", again.study
    )


def test_default_study_name_and_storage(movies: Path, tmp_path: Path) -> None:
    prep = _prep(movies)
    result = tune(
        TuneRequest(
            task="tmdb-quality",
            model="logreg",
            options=RunOptions(data=movies),
            trials=2,
            out=tmp_path / "res",
        )
    )
    assert result.study == default_study_name(prep, "logreg")
    assert (tmp_path / "res" / "tuning" / "optuna-journal.log").exists()
    assert result.best_value is not None and 0 <= result.best_value <= 1
    assert "secret" not in storage_label("postgresql://bench:secret@db.example/optuna")


def test_shared_study_across_two_processes(movies: Path, tmp_path: Path) -> None:
    journal = tmp_path / "shared.log"
    first = tune(
        TuneRequest(
            task="tmdb-quality",
            model="logreg",
            options=RunOptions(data=movies),
            trials=1,
            storage=str(journal),
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "moviebench",
        "tune",
        "--task",
        "tmdb-quality",
        "--model",
        "logreg",
        "--data",
        str(movies),
        "--trials",
        "3",
        "--storage",
        str(journal),
    ]
    workers = [
        subprocess.Popen(
            [*cmd, "--sampler-seed", str(i)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in (1, 2)
    ]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    study = optuna.load_study(study_name=first.study, storage=open_storage(str(journal)))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 7
    assert sorted(t.number for t in study.trials) == list(range(7))
    assert all("best val macro_f1" in out for out in outputs)


def test_run_tuned_uses_best_params(movies: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    result = tune(
        TuneRequest(
            task="tmdb-quality", model="logreg", options=RunOptions(data=movies), trials=4, out=out
        )
    )
    records = run(
        RunRequest(
            task="tmdb-quality",
            options=RunOptions(data=movies),
            models=["logreg", "random-forest"],
            out=out,
            tuned=True,
        )
    )
    by_model = {r.model: r for r in records}
    logreg = by_model["logreg"]
    assert logreg.status == "ok"
    assert logreg.params == result.best_params
    assert logreg.params_source.startswith(f"tuned: study {result.study} trial {result.best_trial}")
    # No study for random-forest: defaults, and the record says why; the baseline has nothing to tune.
    assert by_model["random-forest"].params_source.startswith("defaults (no tuned study")
    assert by_model["majority"].params_source == "defaults"
    # The tuned record has its own folder, beside the default one, and its own board row.
    assert Path(logreg.path).parent.name == "tuned"
    assert Path(by_model["random-forest"].path).parent.name == "random-forest"
    default = run(
        RunRequest(task="tmdb-quality", options=RunOptions(data=movies), models=["logreg"], out=out)
    )
    assert Path(default[-1].path).parent.name == "logreg"
    assert default[-1].params_source == "defaults"
    from moviebench.leaderboard import aggregate, row_label
    from moviebench.records import load_records

    (rows,) = aggregate(load_records(out, "tmdb-quality")).values()
    assert {"logreg", "logreg (tuned)"} <= {row_label(r) for r in rows}
    assert Path(logreg.path).exists()  # the default run left the tuned record alone


def test_tune_runs_defaults_first_and_exactly_n_new_trials(movies: Path, tmp_path: Path) -> None:
    from moviebench.tuning import DEFAULTS_ATTR

    req = TuneRequest(
        task="tmdb-quality", model="logreg", options=RunOptions(data=movies), trials=2, out=tmp_path
    )
    first = tune(req)
    study = optuna.load_study(study_name=first.study, storage=open_storage(None, tmp_path))
    assert study.trials[0].user_attrs.get(DEFAULTS_ATTR)
    assert study.trials[0].user_attrs["model_params"] == LogReg.defaults
    assert first.defaults_value == study.trials[0].value <= first.best_value
    assert first.n_new == 2
    more = tune(req)  # continues: 2 new trials, the defaults not run again
    assert more.n_new == 2 and more.n_complete == 4
    fresh = tune(dataclasses.replace(req, fresh=True))
    assert fresh.n_new == 2 and fresh.n_complete == 2 and fresh.defaults_value is not None


def test_deep_model_reports_epochs_to_the_pruner(movies: Path, tmp_path: Path) -> None:
    result = tune(
        TuneRequest(
            task="tmdb-quality",
            model="mlp",
            options=RunOptions(data=movies, epochs=3),
            trials=2,
            storage=str(tmp_path / "deep.log"),
        )
    )
    study = optuna.load_study(
        study_name=result.study, storage=open_storage(str(tmp_path / "deep.log"))
    )
    for trial in study.trials:
        assert sorted(trial.intermediate_values) == [1, 2, 3]
    assert result.best_params["lr"] == study.best_trial.user_attrs["model_params"]["lr"]


def test_nothing_to_tune_is_a_clear_error(movies: Path) -> None:
    from moviebench.errors import BenchError

    with pytest.raises(BenchError, match="no search space"):
        tune(
            TuneRequest(
                task="tmdb-quality", model="majority", options=RunOptions(data=movies), trials=1
            )
        )


def test_a_run_at_another_image_size_does_not_reuse_the_study(tmp_path: Path) -> None:
    """The study's name carries the settings that change the model: params tuned at one
    --image-size are never applied to a run at another."""
    from moviebench.tuning import tuned_params
    from tests.test_image_tasks import write_frames

    frames = write_frames(tmp_path / "frames")
    out = tmp_path / "res"

    def options(size: int) -> RunOptions:
        return RunOptions(
            source="image-folder", data=frames, settings={"image_size": str(size)}, device="cpu"
        )

    tune(TuneRequest(task="frame-id", model="hist-logreg", options=options(16), trials=1, out=out))
    spec = TASKS.get("frame-id")
    at_16, at_24 = prepare(spec, options(16)), prepare(spec, options(24))
    assert default_study_name(at_16, "hist-logreg") != default_study_name(at_24, "hist-logreg")
    params, sources, _ = tuned_params(at_24, ["hist-logreg"], None, out)
    assert params == {} and sources["hist-logreg"].startswith("defaults (no tuned study")
    params, sources, _ = tuned_params(at_16, ["hist-logreg"], None, out)
    assert "hist-logreg" in params and sources["hist-logreg"].startswith("tuned:")


def test_a_ladder_tuned_side_by_side_draws_what_a_serial_ladder_draws(
    movies: Path, tmp_path: Path
) -> None:
    from moviebench import api
    from moviebench.reporting import SilentReporter
    from moviebench.tuning import FINISHED

    class Plans(SilentReporter):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def plan(self, text: str) -> None:
            self.lines.append(text)

    plans = Plans()

    def studies(out: Path, jobs: int) -> dict[str, optuna.Study]:
        results = api.tune(
            "tmdb-quality",
            ladder=True,
            trials=2,
            data=movies,
            options=RunOptions(epochs=2),
            out=out,
            jobs=jobs,
            reporter=plans,
        )
        storage = open_storage(None, out)
        return {
            model: optuna.load_study(study_name=r.study, storage=storage)
            for model, r in results.items()
        }

    serial, side_by_side = studies(tmp_path / "serial", 1), studies(tmp_path / "pool", 2)
    from moviebench.threads import cores, per_worker

    workers = min(2, cores())  # the serial ladder plans nothing; the pool says what it started
    assert plans.lines == [f"tuning {len(serial)} rungs in {workers} worker processes, "
                           f"{per_worker(workers)} thread(s) each"]  # fmt: skip
    assert list(side_by_side) == list(serial)  # every tunable rung, in ladder order
    assert {"logreg", "lightgbm", "mlp"} <= set(serial)
    for model, study in side_by_side.items():
        trials = study.get_trials(states=FINISHED)
        assert len(trials) == 2, model
        # One study per process, trials in order: the sampler draws what a serial ladder drew.
        assert [t.params for t in trials] == [t.params for t in serial[model].trials], model


def test_jobs_without_a_ladder_is_refused(movies: Path) -> None:
    from moviebench import api
    from moviebench.errors import BadRequest

    with pytest.raises(BadRequest, match="give --ladder"):
        api.tune("tmdb-quality", model="logreg", trials=1, data=movies, jobs=2)
