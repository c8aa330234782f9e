"""`bench scale`: how each rung behaves as the training data shrinks.

Every fraction trains on a nested subset of the training split (the 10% subset lies inside
the 25% one, and so on), always with the same validation and test rows, so the curves differ
only in how much the model saw. Records go to `<out>/scaling/<task>/<source>/<data>/<model>/`
under names a leaderboard does not read (`frac-0.25-seed-0.json`). The points run as any
ladder's cells do (`executors.run_cells`): skipped when current, each under its lock, on the
request's executor (`--jobs`), and a rerun with nothing to do is answered by the manifest.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from moviebench.cell import Cell
from moviebench.errors import BenchError
from moviebench.prepare import PreparedTask
from moviebench.records import Record
from moviebench.reporting import Reporter
from moviebench.runner import Ladder, RunRequest, run_planned


def nested_subsets(train: np.ndarray, fractions: list[float], seed: int) -> dict[float, np.ndarray]:
    """Prefixes of one fixed shuffle of the training rows: each subset contains the smaller ones."""
    order = np.random.default_rng(seed).permutation(np.asarray(train))
    out = {}
    for f in sorted(fractions):
        n = max(1, int(round(f * len(order))))
        out[f] = np.sort(order[:n])
    return out


def parse_fractions(text: str) -> list[float]:
    try:
        values = sorted({float(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise BenchError(
            f"--fractions {text}: expected comma-separated numbers such as 0.1,0.5,1.0"
        ) from None
    if not values or any(not 0 < v <= 1 for v in values):
        raise BenchError(f"--fractions {text}: each fraction must be in (0, 1]")
    return values


def scaling_cells(ladder: Ladder, req: RunRequest, fractions: list[float]) -> list[Cell]:
    """Every (fraction, model, seed) cell, smallest fraction first."""
    prep = ladder.prep
    # The subset order depends on the split only, so reruns and other machines draw the same rows.
    subset_seed = int(hashlib.sha256(prep.split.hash.encode()).hexdigest()[:8], 16)
    subsets = nested_subsets(prep.split.train, fractions, subset_seed)
    return [
        dataclasses.replace(ladder.cell(model, seed), train_rows=rows, train_fraction=fraction)
        for fraction, rows in subsets.items()
        for model in ladder.models
        for seed in req.seeds
    ]


def run_scaling(
    req: RunRequest, fractions: list[float], reporter: Reporter | None = None
) -> tuple[list[Record], PreparedTask | None]:
    """Run every (fraction, model, seed) cell; returns the records and the prepared task
    (None when the manifest answered a rerun with nothing to do: no data was loaded).

    Each point is an ordinary `Cell` with a training subset, so it is skipped on a rerun only
    when the same data, split, settings, options and params made it."""
    prepared: list[PreparedTask] = []

    def cells_of(ladder: Ladder) -> list[Cell]:
        prepared.append(ladder.prep)
        return scaling_cells(ladder, req, fractions)

    extra = {"fractions": sorted(fractions)}
    records = run_planned(req, cells_of, reporter, kind="scale", extra=extra)
    return records, (prepared[0] if prepared else None)


def scaling_table(records: list[Record]) -> tuple[list[str], list[list[str]]]:
    """Rows = models, columns = training sizes, cells = mean primary metric over seeds."""
    sizes = sorted({(r.train_fraction, r.n_train) for r in records})
    models = list(dict.fromkeys(r.model for r in records))
    header = ["model", *[f"{f:g} ({n})" for f, n in sizes]]
    body = []
    for model in models:
        cells = [model]
        for f, _ in sizes:
            vals = [
                r.primary
                for r in records
                if r.model == model and r.train_fraction == f and r.status == "ok"
            ]
            cells.append(f"{np.mean(vals):.4f}" if vals else "—")
        body.append(cells)
    return header, body


def scale(
    req: RunRequest,
    fractions: list[float],
    plot_dir: Path | None = None,
    reporter: Reporter | None = None,
) -> tuple[list[Record], Path]:
    """Run the scaling cells and draw primary metric against training size."""
    from moviebench.plots import plot_scaling, slug

    records, _ = run_scaling(req, fractions, reporter)
    first = records[0]  # the records say what was run, even when no data was loaded
    task, source, metric = first.task, first.source, first.primary_metric
    target = (
        Path(plot_dir or Path(req.out) / "scaling") / f"{slug(task + '-' + source)}-scaling.png"
    )
    plot_scaling(
        records,
        target,
        metric,
        f"{task} on {source}: test {metric} vs training size (nested subsets; val/test fixed)",
    )
    return records, target
