"""`bench run`: a task's ladder on one split, one record per cell.

The runner prepares the task once (load, build, split), turns (model, seed) pairs into
`Cell`s, skips those with a current record, and executes the rest serially or in worker
processes. Everything about one cell (fitting, scoring, identity, the record) is `cell.py`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviebench.cell import Cell
from moviebench.errors import BenchError
from moviebench.models import MODELS
from moviebench.options import RunOptions
from moviebench.prepare import PreparedTask, prepare
from moviebench.tasks import TASKS, TaskSpec


@dataclass
class RunRequest:
    task: str
    options: RunOptions = field(default_factory=RunOptions)
    models: list[str] | None = None  # None: the task's whole ladder
    seeds: list[int] = field(default_factory=lambda: [0])
    out: Path = Path("results")
    force: bool = False
    tuned: bool = False  # take each model's best params from its Optuna study (moviebench.tuning)
    tuning_storage: str | None = None  # default: the journal file under `out`
    jobs: int = 1  # cells run in this many separate processes


@dataclass
class Ladder:
    """The cells of one request, with per-model params and where they came from."""

    prep: PreparedTask
    models: list[str]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    params_source: dict[str, str] = field(default_factory=dict)

    def cell(self, model: str, seed: int) -> Cell:
        return Cell(self.prep, model, seed, params=self.params.get(model, {}),
                    params_source=self.params_source.get(model, "defaults"))


def resolve_models(spec: TaskSpec, names: list[str] | None) -> list[str]:
    """The models to run, validated; the trivial baseline is always included."""
    names = list(names or spec.ladder)
    for name in names:
        cls = MODELS.get(name)
        if not cls.accepts(spec.target, spec.inputs):
            raise BenchError(
                f"model '{name}' cannot run task {spec.name}: it reads {sorted(cls.inputs) or 'nothing'} "
                f"for {sorted(cls.targets)}; the task gives {list(spec.inputs)} for {spec.target}"
            )
    if spec.baseline not in names:
        names.insert(0, spec.baseline)
    return names


def plan(req: RunRequest, display: Any | None = None) -> Ladder:
    spec = TASKS.get(req.task)
    models = resolve_models(spec, req.models)
    prep = prepare(spec, req.options)
    if display:
        display.prepared(prep)
    ladder = Ladder(prep, models)
    if req.tuned:
        from moviebench.tuning import tuned_params

        ladder.params, ladder.params_source, notes = tuned_params(prep, models, req.tuning_storage, req.out)
        for note in notes:
            if display:
                display.console.print(f"  {note}")
    return ladder


def pending_cells(ladder: Ladder, req: RunRequest) -> tuple[list[Cell], list[dict]]:
    """Split cells into those still to run and the finished records a rerun skips."""
    todo, done = [], []
    for model in ladder.models:
        for seed in req.seeds:
            cell = ladder.cell(model, seed)
            existing = None if req.force else cell.stored(req.out)
            if existing:
                done.append(existing)
            else:
                todo.append(cell)
    return todo, done


def run(req: RunRequest, display: Any | None = None) -> list[dict[str, Any]]:
    """Run a ladder. `display` (see display.LadderDisplay) shows progress; records are returned."""
    ladder = plan(req, display)
    todo, done = pending_cells(ladder, req)
    if display:
        display.skipped(done)
        display.set_total(len(todo))
    records = list(done)
    if req.jobs > 1 and len(todo) > 1:
        return records + run_parallel(ladder, req, todo, display)
    for cell in todo:
        if display:
            display.start(cell.model, cell.seed)
        record = cell.execute(req.out, progress=display.epoch if display else None)
        records.append(record)
        if display:
            display.finish(record)
    return records


# ---- parallel cells (--jobs N) -------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(ladder: Ladder, out: Path, queue: Any, n_threads: int | None = None) -> None:
    """Set up a worker process: its ladder, and its share of the cores (see moviebench.threads)."""
    if n_threads is not None:
        from moviebench import threads

        threads.use(n_threads)
    _WORKER.update(ladder=ladder, out=out, queue=queue)


def _worker_cell(model: str, seed: int) -> dict[str, Any]:
    queue = _WORKER["queue"]

    def progress(description: str, completed: int, total: int) -> None:
        queue.put((f"{model} seed {seed}: {description}", completed, total))

    return _WORKER["ladder"].cell(model, seed).execute(_WORKER["out"], progress=progress)


def run_parallel(ladder: Ladder, req: RunRequest, todo: list[Cell],
                 display: Any | None = None) -> list[dict[str, Any]]:
    """Run cells in `req.jobs` worker processes; records come back in ladder order.

    Each worker writes its own record files atomically, as a serial run would. A worker that
    dies (out of memory, killed) still leaves a failed record, so the ladder stays complete.
    """
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from moviebench.threads import per_worker

    # spawn, not fork: forking after torch / OpenMP have started threads can deadlock.
    context = mp.get_context("spawn")
    results: dict[tuple[str, int], dict[str, Any]] = {}
    with context.Manager() as manager:
        progress_queue = manager.Queue()
        with ProcessPoolExecutor(max_workers=req.jobs, mp_context=context, initializer=_init_worker,
                                 initargs=(ladder, req.out, progress_queue, per_worker(req.jobs))) as pool:
            futures = {pool.submit(_worker_cell, cell.model, cell.seed): cell for cell in todo}
            pending = set(futures)
            if display:
                display.console.print(f"  running {len(todo)} cells in {req.jobs} processes, "
                                      f"{per_worker(req.jobs)} thread(s) each")
            while pending:
                finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                while display:
                    try:
                        description, completed, total = progress_queue.get_nowait()
                    except queue_mod.Empty:
                        break
                    display.epoch(description, completed, total)
                for future in finished:
                    cell = futures[future]
                    try:
                        record = future.result()
                    except Exception as exc:  # noqa: BLE001 - a dead worker must not lose the cell
                        record = cell.failed(req.out, f"worker process failed: {type(exc).__name__}: {exc}")
                    results[(cell.model, cell.seed)] = record
                    if display:
                        display.finish(record)
    return [results[(cell.model, cell.seed)] for cell in todo]
