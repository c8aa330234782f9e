"""`bench scale`: how each rung behaves as the training data shrinks.

Every fraction trains on a nested subset of the training split (the 10% subset lies inside
the 25% one, and so on), always with the same validation and test rows, so the curves differ
only in how much the model saw. Records go to `<out>/scaling/<task>/<source>/<model>/`
under names a leaderboard does not read (`frac-0.25-seed-0.json`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moviebench.errors import BenchError
from moviebench.models import MODELS, SkipModel
from moviebench.records import read_record, write_record


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
        raise BenchError(f"--fractions {text}: expected comma-separated numbers such as 0.1,0.5,1.0") from None
    if not values or any(not 0 < v <= 1 for v in values):
        raise BenchError(f"--fractions {text}: each fraction must be in (0, 1]")
    return values


def scaling_path(out: Path, task: str, source: str, model: str, fraction: float, seed: int) -> Path:
    return Path(out) / "scaling" / task / source / model / f"frac-{fraction:g}-seed-{seed}.json"


def run_scaling(req: Any, fractions: list[float], display: Callable[[str], None] | None = None) -> tuple[list[dict], Any]:
    """Run every (fraction, model, seed) cell; returns the records and the prepared task."""
    from moviebench.runner import base_record, fit_and_score, make_context, prepare, resolve_models
    from moviebench.tasks import TASKS

    spec = TASKS.get(req.task)
    models = resolve_models(spec, req.models)
    prep = prepare(spec, req.source, req.data, req.options)
    # The subset order depends on the split only, so reruns and other machines draw the same rows.
    subset_seed = int(hashlib.sha256(prep.split.hash.encode()).hexdigest()[:8], 16)
    subsets = nested_subsets(prep.split.train, fractions, subset_seed)
    records = []
    for fraction, rows in subsets.items():
        sub = dataclasses.replace(prep, split=dataclasses.replace(prep.split, train=rows))
        for model in models:
            for seed in req.seeds:
                path = scaling_path(req.out, spec.name, prep.source, model, fraction, seed)
                old = None if req.force else read_record(path)
                if old and old.get("status") == "ok" and old.get("split_hash") == prep.split.hash \
                        and old.get("n_train") == len(rows) and old.get("data_fingerprint") == prep.loaded.fingerprint:
                    records.append(old)
                    continue
                record = base_record(sub, model, seed)
                record.update(train_fraction=fraction, subset_seed=subset_seed)
                try:
                    instance = MODELS.get(model)(context=make_context(sub, req, seed), **req.params.get(model, {}))
                    record["params"] = instance.params
                    result = fit_and_score(instance, sub)
                    result.pop("_scores")
                    record.update(result, status="ok")
                except SkipModel as skip:
                    record.update(status="skipped", error=str(skip))
                except Exception as exc:  # noqa: BLE001 - one failing cell must not stop the curve
                    record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
                write_record(path, record)
                records.append(record)
                if display:
                    status = f"{record['primary_metric']} {record['primary']:.4f}" if record["status"] == "ok" \
                        else f"{record['status']}: {record.get('error')}"
                    display(f"  fraction {fraction:g} ({len(rows)} rows) {model} seed {seed}: {status}")
    return records, prep


def scaling_table(records: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Rows = models, columns = training sizes, cells = mean primary metric over seeds."""
    sizes = sorted({(r["train_fraction"], r["n_train"]) for r in records})
    models = list(dict.fromkeys(r["model"] for r in records))
    header = ["model", *[f"{f:g} ({n})" for f, n in sizes]]
    body = []
    for model in models:
        cells = [model]
        for f, _ in sizes:
            vals = [r["primary"] for r in records if r["model"] == model and r["train_fraction"] == f
                    and r.get("status") == "ok"]
            cells.append(f"{np.mean(vals):.4f}" if vals else "—")
        body.append(cells)
    return header, body


def scale(req: Any, fractions: list[float], plot_dir: Path | None = None,
          display: Callable[[str], None] | None = None) -> tuple[list[dict], Path]:
    """Run the scaling cells and draw primary metric against training size."""
    from moviebench.plots import plot_scaling, slug

    records, prep = run_scaling(req, fractions, display)
    target = Path(plot_dir or Path(req.out) / "scaling") / f"{slug(prep.spec.name + '-' + prep.source)}-scaling.png"
    plot_scaling(records, target, prep.spec.primary_metric,
                 f"{prep.spec.name} on {prep.source}: test {prep.spec.primary_metric} vs training size "
                 "(nested subsets; val/test fixed)")
    return records, target
