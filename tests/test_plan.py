"""`bench run --plan` lists the cells with budgets and estimates without loading data, and a
piped run prints progress lines with an ETA at most once per step or minute."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from moviebench import api
from moviebench.cli import cli
from moviebench.plan import total_estimate
from moviebench.records import load_records
from moviebench.reporting import Eta
from moviebench.tasks import TASKS
from moviebench.timings import remember_timings, timings_path

SAMPLE = Path(__file__).resolve().parents[1] / "results" / "sample"


def test_plan_lists_cells_with_budget_and_estimates_from_records(tmp_path: Path) -> None:
    out = tmp_path / "results"
    shutil.copytree(SAMPLE, out)
    failed = next(out.rglob("logreg/seed-0.json"))
    data = json.loads(failed.read_text())
    data.update(status="failed", error="ValueError: boom\ntraceback", metrics={}, primary=None)
    failed.write_text(json.dumps(data))
    planned = api.plan("tmdb-quality", out=out, seeds=[0, 1])
    by_cell = {(c.model, c.seed): c for c in planned}
    ladder = TASKS.get("tmdb-quality").ladder
    assert len(planned) == 2 * len(ladder)  # every rung x 2 seeds, the baseline first
    assert planned[0].model == "majority"
    mlp = by_cell[("mlp", 0)]
    assert mlp.budget.startswith("≤30 epochs (patience 5)") and mlp.family == "deep"
    assert by_cell[("lightgbm", 0)].budget == "—"  # no training loop
    assert mlp.action == "recheck" and by_cell[("mlp", 1)].action == "run"
    assert (
        by_cell[("mlp", 1)].estimate
        == mlp.estimate
        == json.loads(next(out.rglob("mlp/seed-0.json")).read_text())["fit_seconds"]
        + json.loads(next(out.rglob("mlp/seed-0.json")).read_text())["predict_seconds"]
    )
    assert (
        by_cell[("logreg", 0)].action == "failed"
        and by_cell[("logreg", 0)].note == "ValueError: boom"
    )
    seconds, unknown = total_estimate(planned)
    assert unknown == 2 and seconds > 0  # logreg failed: no finished record to time


def test_plan_uses_this_machines_timings_and_the_cli_prints_every_cell(tmp_path: Path) -> None:
    records = [r for r in load_records(SAMPLE, "tmdb-quality") if r.model == "cnn-lstm"]
    remember_timings(records)
    assert timings_path().exists()
    planned = api.plan("tmdb-quality", out=tmp_path / "empty", models=["cnn-lstm"])
    assert planned[1].estimate == records[0].fit_seconds + records[0].predict_seconds
    result = CliRunner().invoke(
        cli, ["run", "--task", "tmdb-quality", "--out", str(tmp_path / "empty"), "--plan"]
    )
    assert result.exit_code == 0, result.output
    assert "cnn-lstm" in result.output and "≤12 epochs" in result.output
    assert "estimated" in result.output
    assert not (tmp_path / "empty").exists()  # nothing ran, nothing was written


def test_eta_lines_at_most_every_step_or_minute() -> None:
    now = [0.0]
    eta = Eta(step=0.25, every=60.0, clock=lambda: now[0])
    eta.to_run(20)
    lines = []
    for _ in range(20):
        now[0] += 1.0
        lines.append(eta.finished())
    shown = [line for line in lines if line]
    assert len(shown) == 4  # at 25%, 50%, 75% and the last cell
    assert shown[0] == "progress: 5/20 cells (25%), 5s elapsed, about 15s left"
    assert shown[-1].endswith("20s elapsed, done")
    eta.to_run(1000)
    now[0] += 61.0
    assert eta.finished() is not None  # a minute passed: a line, however small the step
    assert eta.finished() is None
