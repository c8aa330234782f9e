"""`bench run`: a task's ladder on one split, one record per cell.

The runner prepares the task once (load, build, split), turns (model, seed) pairs into
`Cell`s and hands them to `executors.run_cells`, which skips those with a current record and
has an `Executor` (serial, worker processes or Ray) train the rest. Everything about one
cell (fitting, scoring, identity, the record) is `cell.py`'s; what the user is told goes to
a `reporting.Reporter`.

Before any data is loaded it checks the request (seeds, models, --weights, a writable
--out); each cell runs under its lock file, so two runs into one folder never train the
same cell; worker processes die with the run that started them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviebench import manifest
from moviebench import params as given_params
from moviebench.cell import Cell
from moviebench.errors import BenchError
from moviebench.executors import REUSED, run_cells
from moviebench.models import MODELS
from moviebench.options import check_seed
from moviebench.prepare import PreparedTask, prepare
from moviebench.records import Record, clean_stale_temp, ensure_writable
from moviebench.reporting import Reporter, SilentReporter
from moviebench.run_request import RunRequest
from moviebench.tasks import TASKS, TaskSpec
from moviebench.timings import remember_timings


@dataclass
class Ladder:
    """The cells of one request, with per-model params and where they came from."""

    prep: PreparedTask
    models: list[str]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    params_source: dict[str, str] = field(default_factory=dict)

    def cell(self, model: str, seed: int) -> Cell:
        return Cell(
            self.prep,
            model,
            seed,
            params=self.params.get(model, {}),
            params_source=self.params_source.get(model, "defaults"),
        )


def resolve_models(spec: TaskSpec, names: list[str] | None) -> list[str]:
    """The models to run, validated, each once (`logreg,logreg` is one cell per seed); the
    trivial baseline is always included."""
    names = list(dict.fromkeys(names or spec.ladder))
    for name in names:
        cls = MODELS.get(name)
        if not cls.accepts(spec.target, spec.inputs):
            raise BenchError(
                f"model '{name}' cannot run task {spec.name}: it reads {sorted(cls.inputs) or 'nothing'} "
                f"for {sorted(map(str, cls.targets))}; the task gives {list(spec.inputs)} for {spec.target}"
            )
    if spec.baseline not in names:
        names.insert(0, spec.baseline)
    return names


def check_request(req: RunRequest) -> None:
    """Refuse seeds and model lists that would run nothing, run a cell twice, or misname a file."""
    if not req.seeds:
        raise BenchError("--seeds: no seed given (e.g. --seeds 0,1,2)")
    for seed in req.seeds:
        check_seed("--seeds", seed)
    repeated = sorted({seed for seed in req.seeds if req.seeds.count(seed) > 1})
    if repeated:
        raise BenchError(f"--seeds: seed {', '.join(map(str, repeated))} given more than once")
    if req.models is not None and not req.models:
        raise BenchError("--models: no model given (leave it out to run the task's whole ladder)")
    req.params = given_params.check(req.params)
    if req.params and req.tuned:
        raise BenchError(
            "--param with --tuned: tuned params come from the study; give one or the other"
        )


def check_params_models(spec: TaskSpec, models: list[str], params: dict[str, Any]) -> None:
    """Every model given params must be one this run trains."""
    for model, given in params.items():
        if model not in models:
            raise BenchError(
                f"--param {model}.{next(iter(given))}: {model} is not a model of this "
                f"{spec.name} run ({', '.join(models)})"
            )


def check_weights(
    spec: TaskSpec, models: list[str], asked: list[str] | None, weights: Path | None
) -> None:
    """--weights must reach a rung that reads it, and be a file torch can load safely:
    otherwise the run would silently train from scratch. Every model asked for by name must
    take it (the baseline aside); the whole ladder needs one rung that does."""
    if weights is None:
        return
    refusing = [m for m in asked or [] if not MODELS.get(m).takes_weights and m != spec.baseline]
    if refusing or not any(MODELS.get(m).takes_weights for m in models):
        able = sorted(
            m.name for m in MODELS if m.takes_weights and m.accepts(spec.target, spec.inputs)
        )
        who = (
            ", ".join(refusing) + " take(s)"
            if refusing
            else f"no model of this {spec.name} run takes"
        )
        raise BenchError(
            f"--weights: {who} no weights file; rungs of {spec.name} that do: {', '.join(able) or 'none'}"
        )
    import torch

    try:
        torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reason a file does not load is the user's to fix
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(
            f"--weights {weights}: not a loadable PyTorch weights file ({reason[:200]})"
        ) from None


def plan(req: RunRequest, reporter: Reporter | None = None) -> Ladder:
    reporter = reporter or SilentReporter()
    check_request(req)
    spec = TASKS.get(req.task)
    models = resolve_models(spec, req.models)
    check_params_models(spec, models, req.params)
    check_weights(spec, models, req.models, req.options.weights)
    prep = prepare(spec, req.options)
    reporter.prepared(prep)
    ladder = Ladder(
        prep,
        models,
        params={model: dict(given) for model, given in req.params.items()},
        params_source={
            model: given_params.source(req.params_origin, given)
            for model, given in req.params.items()
        },
    )
    if req.tuned:
        from moviebench.tuning import tuned_params

        ladder.params, ladder.params_source, notes = tuned_params(
            prep, models, req.tuning_storage, req.out
        )
        for note in notes:
            reporter.message(note)
    return ladder


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (0 <= I < N) as a pair; a one-line error otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise BenchError(f"--shard {text}: expected I/N, e.g. 0/4 for the first of four shares")
    index, count = int(match[1]), int(match[2])
    if count < 1 or index >= count:
        raise BenchError(
            f"--shard {text}: I must be 0 to N-1 and N at least 1 (e.g. 0/{max(count, 1)})"
        )
    return index, count


def shard_cells(
    pairs: list[tuple[str, int]], shard: tuple[int, int] | None
) -> list[tuple[str, int]]:
    """Share I of N: every N-th (model, seed) pair of the ladder's order, starting at I.

    Round-robin over the ladder's order (models as resolved, the baseline first, then seeds)
    gives disjoint shares that together are the whole run and spread each model's seeds over
    the shares. It depends only on --models and --seeds, never on what is already finished,
    so every shard of one run must be given the same --models and --seeds."""
    if shard is None:
        return pairs
    index, count = shard
    return pairs[index::count]


def ladder_cells(ladder: Ladder, req: RunRequest) -> list[Cell]:
    """The cells of this run's shard, in ladder order."""
    pairs = [(model, seed) for model in ladder.models for seed in req.seeds]
    return [ladder.cell(model, seed) for model, seed in shard_cells(pairs, req.shard)]


def run(req: RunRequest, reporter: Reporter | None = None) -> list[Record]:
    """Run a ladder; records come back in ladder order. `reporter` (e.g.
    display.LadderDisplay) is told what happens."""
    return run_planned(req, lambda ladder: ladder_cells(ladder, req), reporter)


def run_planned(
    req: RunRequest,
    cells_of: Callable[[Ladder], list[Cell]],
    reporter: Reporter | None = None,
    kind: str = "run",
    extra: dict[str, Any] | None = None,
) -> list[Record]:
    """Plan the request and run the cells `cells_of` makes of its ladder on the request's
    executor, unless the manifest of this `kind` (and `extra`) vouches that nothing changed."""
    reporter = reporter or SilentReporter()
    req.params = given_params.check(req.params)  # before the manifest keys on them
    ensure_writable(req.out)  # before any data is loaded or model trained
    clean_stale_temp(manifest.manifest_path(req, kind).parent)  # debris a crash left
    unchanged = manifest.current_records(req, kind, extra)  # no data loaded, no model imported
    if unchanged is not None:
        for record in unchanged:
            reporter.reused(record, REUSED)
        return unchanged
    ladder = plan(req, reporter)
    records = run_cells(cells_of(ladder), req.out, req.cell_executor(), reporter, req.force)
    manifest.remember(req, records, kind, extra, ladder.prep.loaded.file_folders())
    remember_timings(records)  # for `bench run --plan`'s estimates on this machine
    return records


def _asked(models: list[Any] | None) -> dict[str, str]:
    """Registered name -> the rung as the user named it (`file.py:Class` -> its rung's name;
    a class given to the API -> its name). The run has loaded each already."""
    from moviebench.plugins import resolve_model_names

    asked = {}
    for typed in models or []:
        if not isinstance(typed, str):
            asked[typed.name] = typed.name
            continue
        try:
            (name,) = resolve_model_names([typed])
        except BenchError:  # not loadable now: only its records' names can match
            name = typed
        asked[name] = typed
    return asked


def _wanted(models: list[str] | None, records: list[Any]) -> list[Any]:
    """The records of the cells the user asked for, by registered name, whatever their
    family: the whole ladder when no model was named; else the named rungs (the task's
    baseline, added to every run, counts only when named, or when it is all there is)."""
    if models is None:
        return list(records)
    asked = _asked(models)
    return [r for r in records if r.model in asked] or list(records)


def _cells(records: list[Any], models: list[str] | None = None) -> str:
    typed = _asked(models) if models else {}
    return "; ".join(
        f"{typed.get(r.model, r.model)} seed {r.seed}"
        + (f" ({r.error.splitlines()[0][:120]})" if r.error else "")
        for r in records
    )


def failed_cells(models: list[str] | None, records: list[Any]) -> str | None:
    """One line naming every asked-for cell that failed (as the user named its rung), or
    None: a run exits 1 when any did, even when others finished (a green CI must mean every
    cell ran)."""
    wanted = _wanted(models, records)
    failed = [r for r in wanted if r.status == "failed"]
    if not failed:
        return None
    return f"{len(failed)} of {len(wanted)} cell(s) failed: {_cells(failed, models)}"


def skipped_cells(models: list[str] | None, records: list[Any]) -> str | None:
    """One line naming the asked-for cells that were skipped (weights missing, an extra not
    installed), or None: skipped is not failed, so it does not change the exit code."""
    skipped = [r for r in _wanted(models, records) if r.status == "skipped"]
    if not skipped:
        return None
    return f"{len(skipped)} cell(s) skipped, not failed: {_cells(skipped, models)}"
