"""`bench run --plan`: the cost of a run before it starts.

Each cell of the request is listed with what would happen to it (run, reuse, or what its
last record says: failed or skipped), its declared training budget under the run's profile,
and an estimate of its seconds on this machine: the median fit + predict seconds of the
finished records of the same task, source and model in `--out`, else of this machine's
earlier runs (`timings.py`: written as cells finish). Nothing is loaded
or trained: the data is not read (the run manifest's stamps say whether the whole run is
current), so the plan answers in the time the model registry takes to import.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviebench.records import Record, load_records
from moviebench.timings import timings_path


@dataclass
class PlannedCell:
    model: str
    seed: int
    family: str
    action: str  # run, reuse, recheck (a record exists: reused if still current), or the
    # last record's status when it did not finish (failed, skipped): it will be tried again
    budget: str  # the declared training budget under the run's profile ("—": no loop)
    estimate: float | None  # seconds, from finished records on this machine; None: unknown
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _timed(task: str, source: str, profile: str, out: Path) -> dict[str, list[float]]:
    """Seconds per model: finished records of this task and source in `out` first, else
    this machine's timing file."""
    seconds: dict[str, list[float]] = {}
    for r in load_records(out, task) if (Path(out) / task).is_dir() else []:
        if r.status == "ok" and r.source == source and r.profile == profile and r.fit_seconds:
            seconds.setdefault(r.model, []).append(r.fit_seconds + (r.predict_seconds or 0.0))
    try:
        lines = timings_path().read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    local: dict[str, list[float]] = {}
    for line in lines:
        try:
            t = json.loads(line)
            if (t["task"], t["source"], t["profile"]) == (task, source, profile):
                local.setdefault(t["model"], []).append(float(t["seconds"]))
        except (ValueError, KeyError, TypeError):
            continue  # a torn line from an interrupted write
    return {**local, **seconds}


def plan_cells(req: Any) -> list[PlannedCell]:
    """The cells `bench run` would make of `req` (a runner.RunRequest), without loading data."""
    from moviebench import manifest
    from moviebench.runner import check_request, shard_cells
    from moviebench.tasks import TASKS

    check_request(req)
    spec = TASKS.get(req.task)
    lines = _model_lines(spec, req)
    source = req.options.source or spec.default_source
    profile = req.options.profile
    current = None if req.force else manifest.current_records(req, "run")
    timed = _timed(spec.name, source, profile, req.out)
    last = _last_records(req.out, spec.name, source, profile, req.options.split_seed)
    cells = []
    for model, seed in shard_cells([(m, s) for m in lines for s in req.seeds], req.shard):
        family, budget = lines[model]
        previous = last.get((model, seed))
        if current is not None:
            action, note = "reuse", "the run manifest vouches nothing changed"
        elif previous is None:
            action, note = "run", ""
        elif previous.status != "ok":
            action = previous.status
            note = (previous.error or "").strip().splitlines()[0][:80] if previous.error else ""
        else:
            action, note = "recheck", ""  # reused if what made its record is unchanged
        times = timed.get(model)
        cells.append(
            PlannedCell(
                model=model,
                seed=seed,
                family=family,
                action=action,
                budget=budget or "—",
                estimate=statistics.median(times) if times else None,
                note=note,
            )
        )
    return cells


def _model_lines(spec: Any, req: Any) -> dict[str, tuple[str, str]]:
    """Each model of the request, in run order: its family and its described budget. From
    the catalog's snapshot of the rungs (`bench ls`'s: no torch imported, so a plan prints in
    a second) when every model is a built-in at its declared budget; else from the classes."""
    from moviebench import catalog
    from moviebench.options import PROFILES
    from moviebench.targets import target_kind

    names = list(dict.fromkeys(req.models or spec.ladder))
    if spec.baseline not in names:
        names.insert(0, spec.baseline)
    overridden = req.options.epochs is not None or req.options.time_budget is not None
    entries = {} if overridden else {e["name"]: e for e in catalog.model_entries()}
    if all(name in entries for name in names):
        kind, inputs = target_kind(spec.target), set(spec.inputs)
        if all(
            kind in {target_kind(t) for t in entries[n]["targets"].split(",")}
            and set(filter(None, entries[n]["inputs"].split(","))) <= inputs
            for n in names
        ):
            at = PROFILES.index(req.options.profile)
            return {
                n: (
                    entries[n]["family"],
                    entries[n]["budgets"][at] if entries[n]["budgets"] else "",
                )
                for n in names
            }
    # a plugin, an override or a model the task cannot run: the classes say (and refuse)
    from moviebench.models import MODELS
    from moviebench.models.loop import describe_budget
    from moviebench.runner import resolve_models

    lines = {}
    for name in resolve_models(spec, req.models):
        cls = MODELS.get(name)
        budget = cls.resolve_budget(
            req.options.profile, cls.defaults, req.options.epochs, req.options.time_budget
        )
        lines[name] = (cls.family, describe_budget(budget) if budget else "")
    return lines


def _last_records(
    out: Path, task: str, source: str, profile: str, split_seed: int
) -> dict[tuple[str, int], Record]:
    """The newest default-params record of each (model, seed) of this task and source."""
    from moviebench.records import split_seed_of, variant_of

    newest: dict[tuple[str, int], Record] = {}
    if not (Path(out) / task).is_dir():
        return newest
    for r in load_records(out, task):
        if (r.source, r.profile, split_seed_of(r)) != (source, profile, split_seed) or variant_of(
            r
        ):
            continue
        kept = newest.get((r.model, r.seed))
        if kept is None or r.created >= kept.created:
            newest[(r.model, r.seed)] = r
    return newest


def total_estimate(cells: list[PlannedCell]) -> tuple[float, int]:
    """Estimated seconds of the cells that would train, and how many of them have no
    estimate."""
    training = [c for c in cells if c.action != "reuse"]
    known = [c.estimate for c in training if c.estimate is not None]
    return float(sum(known)), len(training) - len(known)
