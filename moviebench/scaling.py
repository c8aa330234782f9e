"""`bench scale`: how each rung behaves as the training data shrinks.

Every fraction trains on a nested subset of the training split (the 10% subset lies inside
the 25% one, and so on), always with the same validation and test rows, so the curves differ
only in how much the model saw. Records go to `<out>/scaling/<task>/<source>/<data>/<model>/`
under names a leaderboard does not read (`frac-0.25-seed-0.json`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from moviebench.errors import BenchError
from moviebench.prepare import PreparedTask
from moviebench.records import Record
from moviebench.runner import RunRequest


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


def run_scaling(
    req: RunRequest, fractions: list[float], display: Callable[[str], None] | None = None
) -> tuple[list[Record], PreparedTask]:
    """Run every (fraction, model, seed) cell; returns the records and the prepared task.

    Each point is an ordinary `Cell` with a training subset, so it is skipped on a rerun only
    when the same data, split, settings, options and params made it."""
    from moviebench.records import ensure_writable
    from moviebench.runner import plan

    ensure_writable(req.out)
    ladder = plan(req)
    prep = ladder.prep
    # The subset order depends on the split only, so reruns and other machines draw the same rows.
    subset_seed = int(hashlib.sha256(prep.split.hash.encode()).hexdigest()[:8], 16)
    subsets = nested_subsets(prep.split.train, fractions, subset_seed)
    records = []
    for fraction, rows in subsets.items():
        for model in ladder.models:
            for seed in req.seeds:
                cell = dataclasses.replace(
                    ladder.cell(model, seed), train_rows=rows, train_fraction=fraction
                )
                record = None if req.force else cell.stored(req.out)
                if record is None:
                    record = cell.execute(req.out)
                records.append(record)
                if display:
                    status = (
                        f"{record.primary_metric} {record.primary:.4f}"
                        if record.status == "ok"
                        else f"{record.status}: {record.error}"
                    )
                    display(
                        f"  fraction {fraction:g} ({len(rows)} rows) {model} seed {seed}: {status}"
                    )
    return records, prep


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
    display: Callable[[str], None] | None = None,
) -> tuple[list[Record], Path]:
    """Run the scaling cells and draw primary metric against training size."""
    from moviebench.plots import plot_scaling, slug

    records, prep = run_scaling(req, fractions, display)
    target = (
        Path(plot_dir or Path(req.out) / "scaling")
        / f"{slug(prep.spec.name + '-' + prep.source)}-scaling.png"
    )
    plot_scaling(
        records,
        target,
        prep.spec.primary_metric,
        f"{prep.spec.name} on {prep.source}: test {prep.spec.primary_metric} vs training size "
        "(nested subsets; val/test fixed)",
    )
    return records, target
