"""The harness end to end on a tiny generated dataset."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from moviebench.models import MODELS, Model, register_model
from moviebench.options import RunOptions
from moviebench.records import Record, load_records, read_record
from moviebench.runner import RunRequest, run
from tests.fixtures import write_ggplot2_csv


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "movies.csv")


def request(
    tiny_csv: Path,
    out: Path,
    models: list[str],
    *,
    settings: dict | None = None,
    epochs: int | None = None,
    **kw,
) -> RunRequest:
    options = RunOptions(
        source="ggplot2movies", data=tiny_csv, settings=settings or {}, epochs=epochs
    )
    return RunRequest(task="tmdb-quality", options=options, models=models, out=out, **kw)


class AlwaysFails(Model):
    name = "test-always-fails"
    family = "classical"
    inputs = frozenset({"tabular"})
    targets = frozenset({"multiclass"})

    def fit(self, train, val):
        raise RuntimeError("boom")


if "test-always-fails" not in MODELS:
    register_model(AlwaysFails)


def test_ladder_writes_one_record_per_model_with_provenance(tiny_csv, tmp_path):
    records = run(request(tiny_csv, tmp_path / "out", ["logreg", "mlp"], epochs=2))
    assert {r.model for r in records} == {"majority", "logreg", "mlp"}  # baseline always runs
    stored = load_records(tmp_path / "out", "tmdb-quality")
    assert len(stored) == 3
    for r in stored:
        assert r.status == "ok"
        assert set(r.metrics) >= {
            "macro_f1",
            "accuracy",
            "balanced_accuracy",
            "log_loss",
            "ordinal_mse",
        }
        assert r.primary == r.metrics["macro_f1"]
        for key in (
            "split_hash",
            "data_fingerprint",
            "fit_seconds",
            "predict_seconds",
            "peak_memory_mb",
            "n_params",
            "device",
            "params",
            "versions",
        ):
            assert getattr(r, key) is not None, key
    assert len({r.split_hash for r in stored}) == 1  # one split for every model
    mlp = next(r for r in stored if r.model == "mlp")
    assert 1 <= len(mlp.history) <= 2  # --epochs caps training; history is the learning curve
    assert mlp.fitted["best_epoch"] in (1, 2) and mlp.params == MODELS.get("mlp").defaults
    assert not any(r.pretrained_weights for r in stored)


def test_leaderboard_marks_rungs_that_start_from_pretrained_weights():
    from moviebench.leaderboard import aggregate, table_rows

    def record(model: str, family: str, pretrained: bool, primary: float) -> Record:
        return Record.from_dict(
            {
                "task": "t",
                "source": "s",
                "model": model,
                "seed": 0,
                "family": family,
                "status": "ok",
                "pretrained_weights": pretrained,
                "primary_metric": "accuracy",
                "primary": primary,
                "metrics": {"accuracy": primary},
            }
        )

    (rows,) = aggregate(
        [
            record("majority", "trivial", False, 0.3),
            record("effnet-logreg", "pretrained", True, 0.6),
            record("resnet18", "deep", False, 0.5),
        ]
    ).values()
    header, body = table_rows(rows)
    weights = {cells[1].split()[0]: cells[header.index("weights")] for cells in body}
    assert weights == {"effnet-logreg": "pretrained", "resnet18": "", "majority": ""}


def test_every_model_sees_the_same_test_rows(tiny_csv, tmp_path):
    run(request(tiny_csv, tmp_path / "out", ["logreg", "xgboost"]))
    from moviebench.records import read_predictions

    ids = [tuple(read_predictions(Path(r.path))["ids"]) for r in load_records(tmp_path / "out")]
    assert len(set(ids)) == 1


def test_rerun_skips_finished_records_unless_forced(tiny_csv, tmp_path):
    out = tmp_path / "out"
    run(request(tiny_csv, out, ["logreg"]))
    first = {r.model: r.created for r in load_records(out)}
    path = next(Path(r.path) for r in load_records(out) if r.model == "logreg")
    before = path.stat().st_mtime_ns
    run(request(tiny_csv, out, ["logreg"]))
    assert path.stat().st_mtime_ns == before
    assert {r.model: r.created for r in load_records(out)} == first
    run(request(tiny_csv, out, ["logreg"], force=True))
    assert path.stat().st_mtime_ns != before


def test_a_failing_model_is_recorded_and_the_ladder_goes_on(tiny_csv, tmp_path):
    records = run(request(tiny_csv, tmp_path / "out", ["test-always-fails", "logreg"]))
    status = {r.model: r.status for r in records}
    assert status == {"majority": "ok", "test-always-fails": "failed", "logreg": "ok"}
    failed = json.loads(Path(next(r.path for r in records if r.status == "failed")).read_text())
    assert "RuntimeError: boom" in failed["error"]


def test_a_failed_record_is_retried_on_the_next_run(tiny_csv, tmp_path):
    out = tmp_path / "out"
    run(request(tiny_csv, out, ["test-always-fails"]))
    records = run(request(tiny_csv, out, ["test-always-fails"]))
    assert [r.model for r in records if r.status == "failed"] == ["test-always-fails"]


def test_models_beat_the_majority_class_on_learnable_data(tiny_csv, tmp_path):
    records = run(request(tiny_csv, tmp_path / "out", ["logreg", "lightgbm"]))
    score = {r.model: r.primary for r in records}
    assert score["logreg"] > score["majority"] + 0.1
    assert score["lightgbm"] > score["majority"] + 0.1


def test_seeds_give_one_record_each(tiny_csv, tmp_path):
    records = run(request(tiny_csv, tmp_path / "out", ["logreg"], seeds=[0, 1]))
    assert sorted((r.model, r.seed) for r in records) == [
        ("logreg", 0),
        ("logreg", 1),
        ("majority", 0),
        ("majority", 1),
    ]
    assert np.isfinite([r.primary for r in records]).all()


def test_a_record_made_another_way_is_rerun_not_shown_as_current(tiny_csv, tmp_path):
    """Changed settings, options (e.g. --epochs) or tuned params make the old record stale."""
    from moviebench.cell import Cell
    from moviebench.prepare import prepare
    from moviebench.tasks import TASKS

    out = tmp_path / "out"
    run(request(tiny_csv, out, ["mlp"], epochs=1))
    path = next(Path(r.path) for r in load_records(out) if r.model == "mlp")
    before = path.stat().st_mtime_ns
    records = run(request(tiny_csv, out, ["mlp"], epochs=2))  # another epoch cap: not current
    assert path.stat().st_mtime_ns != before
    assert next(r for r in records if r.model == "mlp").options["epochs"] == 2
    after_epochs = path.stat().st_mtime_ns
    run(request(tiny_csv, out, ["mlp"], epochs=2, settings={"thresholds": "5.0,6.5"}))
    assert path.stat().st_mtime_ns != after_epochs

    prep = prepare(TASKS.get("tmdb-quality"), RunOptions(source="ggplot2movies", data=tiny_csv))
    run(request(tiny_csv, out, ["logreg"]))
    stored = read_record(Cell(prep, "logreg", 0).path(out))
    assert Cell(prep, "logreg", 0).is_current(stored)
    assert not Cell(
        prep, "logreg", 0, params={"C": 0.1}, params_source="tuned: study s trial 3"
    ).is_current(stored)
    # A changed default is a change too: the record keeps the params it ran with.
    changed = dataclasses.replace(
        stored, identity={**stored.identity, "params": {**stored.params, "C": 123.0}}
    )
    assert not Cell(prep, "logreg", 0).is_current(changed)
