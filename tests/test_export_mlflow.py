"""`bench export mlflow`: records become MLflow runs in an offline SQLite store, once each."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moviebench.cli import cli
from moviebench.errors import BenchError
from moviebench.records import record_path, write_predictions, write_record


def _record(model: str, family: str, seed: int, primary: float, **extra) -> dict:
    return {
        "task": "tmdb-quality",
        "source": "ggplot2movies",
        "model": model,
        "family": family,
        "seed": seed,
        "target": "multiclass",
        "primary_metric": "macro_f1",
        "primary": primary,
        "status": "ok",
        "metrics": {"macro_f1": primary, "accuracy": primary + 0.1, "map@3": 0.5},
        "params": {"C": 1.0, "hidden": [64, 32]},
        "params_source": "defaults",
        "settings": {"min_votes": 10},
        "fit_seconds": 0.5,
        "predict_seconds": 0.1,
        "n_params": 51,
        "split_hash": "abc123",
        "data_fingerprint": "fp42",
        "device": "cpu",
        "git_commit": "deadbeef",
        "versions": {"numpy": "2.0"},
        "created": "2025-01-02T03:04:05+00:00",
        "details": {"confusion": [[3, 1], [1, 3]]},
        "labels": ["A", "B"],
        **extra,
    }


@pytest.fixture
def results(tmp_path: Path) -> Path:
    out = tmp_path / "results"
    history = [
        {"epoch": e, "train_loss": 1 / e, "val_loss": 1.5 / e, "val_score": e / 10}
        for e in (1, 2, 3)
    ]
    records = [
        _record("majority", "trivial", 0, 0.2),
        _record("logreg", "classical", 0, 0.6),
        _record("mlp", "deep", 0, 0.55, history=history),
        {
            **_record("broken", "classical", 0, 0.0),
            "status": "failed",
            "metrics": {},
            "primary": None,
            "error": "RuntimeError: boom",
        },
    ]
    for r in records:
        path = record_path(out, r["task"], r["source"], r["model"], r["seed"])
        write_record(path, r)
        if r["status"] == "ok":
            write_predictions(
                path, ids=np.arange(4), y=np.array([0, 1, 0, 1]), scores=np.eye(2)[[0, 1, 1, 1]]
            )
    return out


@pytest.fixture
def mlflow():
    return pytest.importorskip("mlflow")


def _runs(client, name: str) -> list:
    experiment = client.get_experiment_by_name(name)
    return client.search_runs([experiment.experiment_id], max_results=1000)


def test_export_reads_back_one_run_per_record_then_skips_and_replaces(
    mlflow, results, tmp_path, monkeypatch
):
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)  # the default artifact folder must not land in the checkout
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cmd = [
        "export",
        "mlflow",
        "--results",
        str(results),
        "--tracking-uri",
        uri,
        "--experiment",
        "bench",
    ]
    result = CliRunner().invoke(cli, cmd)
    assert result.exit_code == 0, result.output
    assert "4 runs created, 0 replaced, 0 unchanged" in result.output

    client = MlflowClient(tracking_uri=uri)
    runs = {r.data.tags["model"]: r for r in _runs(client, "bench")}
    assert set(runs) == {"majority", "logreg", "mlp", "broken"}
    logreg = runs["logreg"]
    assert logreg.data.params == {
        "C": "1.0",
        "hidden": "[64, 32]",
        "settings.min_votes": "10",
        "params_source": "defaults",
    }
    assert logreg.data.metrics["macro_f1"] == 0.6 and logreg.data.metrics["map_at_3"] == 0.5
    assert logreg.data.metrics["fit_seconds"] == 0.5 and logreg.data.metrics["primary"] == 0.6
    assert {
        k: logreg.data.tags[k] for k in ("task", "source", "family", "seed", "status", "split_hash")
    } == {
        "task": "tmdb-quality",
        "source": "ggplot2movies",
        "family": "classical",
        "seed": "0",
        "status": "ok",
        "split_hash": "abc123",
    }
    assert logreg.data.tags["mlflow.source.git.commit"] == "deadbeef"
    assert logreg.info.status == "FINISHED" and runs["broken"].info.status == "FAILED"
    assert runs["broken"].data.tags["error"] == "RuntimeError: boom"
    curve = client.get_metric_history(runs["mlp"].info.run_id, "history/val_loss")
    assert [(m.step, m.value) for m in sorted(curve, key=lambda m: m.step)] == [
        (1, 1.5),
        (2, 0.75),
        (3, 0.5),
    ]
    artifacts = {f.path for f in client.list_artifacts(logreg.info.run_id, "record")}
    assert artifacts == {"record/seed-0.json"}
    plots = {f.path for f in client.list_artifacts(logreg.info.run_id, "plots")}
    assert {
        "plots/tmdb-quality-ggplot2movies-primary.png",
        "plots/tmdb-quality-ggplot2movies-confusion.png",
    } <= plots
    assert (tmp_path / "mlartifacts").is_dir()  # beside the database

    # Again: nothing new. Then one record is rerun: its run is replaced, not duplicated.
    result = CliRunner().invoke(cli, cmd)
    assert "0 runs created, 0 replaced, 4 unchanged" in result.output
    write_record(
        record_path(results, "tmdb-quality", "ggplot2movies", "logreg", 0),
        _record("logreg", "classical", 0, 0.65, created="2025-02-01T00:00:00+00:00"),
    )
    result = CliRunner().invoke(cli, cmd)
    assert "0 runs created, 1 replaced, 3 unchanged" in result.output
    runs = _runs(client, "bench")
    assert len(runs) == 4
    assert (
        next(r for r in runs if r.data.tags["model"] == "logreg").data.metrics["macro_f1"] == 0.65
    )


def test_without_mlflow_the_error_says_what_to_install(results, monkeypatch):
    from moviebench.export_mlflow import export

    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    with pytest.raises(BenchError, match=r"install moviebench\[mlflow\]"):
        export(results)
