"""`bench run`: a task's ladder on one split, one record per cell.

The runner prepares the task once (load, build, split), turns (model, seed) pairs into
`Cell`s, skips those with a current record, and executes the rest serially or in worker
processes. Everything about one cell (fitting, scoring, identity, the record) is `cell.py`'s.

Before any data is loaded it checks the request (seeds, models, --weights, a writable
--out); each cell runs under its lock file, so two runs into one folder never train the
same cell; worker processes die with the run that started them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviebench import manifest
from moviebench.cell import Cell
from moviebench.errors import BenchError
from moviebench.models import MODELS
from moviebench.options import RunOptions
from moviebench.prepare import PreparedTask, prepare
from moviebench.records import Record, clean_stale_temp, ensure_writable
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
    shard: tuple[int, int] | None = None  # (I, N): run only share I of N (see `shard_cells`)
    executor: Any | None = (
        None  # None: this machine (serial or --jobs); else e.g. executors.RayExecutor
    )


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


def check_request(req: RunRequest) -> None:
    """Refuse seeds and model lists that would run nothing, run a cell twice, or misname a file."""
    if not req.seeds:
        raise BenchError("--seeds: no seed given (e.g. --seeds 0,1,2)")
    if any(seed < 0 for seed in req.seeds):
        raise BenchError(f"--seeds {','.join(map(str, req.seeds))}: seeds must be 0 or more")
    repeated = sorted({seed for seed in req.seeds if req.seeds.count(seed) > 1})
    if repeated:
        raise BenchError(f"--seeds: seed {', '.join(map(str, repeated))} given more than once")
    if req.models is not None and not req.models:
        raise BenchError("--models: no model given (leave it out to run the task's whole ladder)")


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


def plan(req: RunRequest, display: Any | None = None) -> Ladder:
    check_request(req)
    spec = TASKS.get(req.task)
    models = resolve_models(spec, req.models)
    check_weights(spec, models, req.models, req.options.weights)
    prep = prepare(spec, req.options)
    if display:
        display.prepared(prep)
    ladder = Ladder(prep, models)
    if req.tuned:
        from moviebench.tuning import tuned_params

        ladder.params, ladder.params_source, notes = tuned_params(
            prep, models, req.tuning_storage, req.out
        )
        for note in notes:
            if display:
                display.console.print(f"  {note}")
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


def pending_cells(ladder: Ladder, req: RunRequest) -> tuple[list[Cell], list[Record]]:
    """Split cells (of this run's shard) into those still to run and the finished records a
    rerun skips."""
    todo, done = [], []
    pairs = [(model, seed) for model in ladder.models for seed in req.seeds]
    for model, seed in shard_cells(pairs, req.shard):
        cell = ladder.cell(model, seed)
        existing = None if req.force else cell.stored(req.out)
        if existing:
            done.append(existing)
        else:
            todo.append(cell)
    return todo, done


def run(req: RunRequest, display: Any | None = None) -> list[Record]:
    """Run a ladder. `display` (see display.LadderDisplay) shows progress; records are returned."""
    ensure_writable(req.out)  # before any data is loaded or model trained
    clean_stale_temp(Path(req.out) / req.task)  # debris of writes a crash interrupted
    unchanged = manifest.current_records(req)  # nothing to do: no data loaded, no model imported
    if unchanged is not None:
        if display:
            display.skipped(unchanged)
        return unchanged
    records = _run(req, display)
    manifest.remember(req, records)
    return records


def _run(req: RunRequest, display: Any | None = None) -> list[Record]:
    ladder = plan(req, display)
    todo, done = pending_cells(ladder, req)
    if display:
        display.skipped(done)
        display.set_total(len(todo))
    records = list(done)
    if req.executor is not None and todo:
        return records + req.executor.run(ladder, req, todo, display)
    if req.jobs > 1 and len(todo) > 1:
        return records + run_parallel(ladder, req, todo, display)
    return records + [run_here(cell, req, display) for cell in todo]


def run_here(cell: Cell, req: RunRequest, display: Any | None = None) -> Record:
    """Execute one cell in this process, shown on the display."""
    if display:
        display.start(cell.model, cell.seed)

    def waiting() -> None:
        if display:
            display.console.print(
                f"  waiting: another run is training {cell.model} seed {cell.seed}"
            )

    record = execute_locked(cell, req, progress=display.epoch if display else None, on_wait=waiting)
    if display:
        display.finish(record)
    return record


def execute_locked(
    cell: Cell, req: RunRequest, progress: Any | None = None, on_wait: Any | None = None
) -> Record:
    """Execute a cell under its lock. When another run held the lock, its record is taken if it
    is current (even under --force: it was made while this run waited), so no cell trains twice."""
    with cell.lock(req.out, on_wait) as waited:
        existing = cell.stored(req.out) if waited else None
        if existing:
            existing.reused = "made by another run while this one waited"
            return existing
        return cell.execute(req.out, progress=progress)


def nothing_succeeded(req: RunRequest, records: list[Record]) -> str | None:
    """Why the run produced nothing the user asked for, or None. The trivial baseline, which
    always runs, only counts when it is all that was asked for."""
    wanted = [r for r in records if req.models is None or r.model in req.models]
    if req.models is None:
        wanted = [r for r in wanted if r.family != "trivial"] or wanted
    if not wanted or any(r.status == "ok" for r in wanted):
        return None
    return "no model finished: " + "; ".join(f"{r.model} seed {r.seed} {r.status}" for r in wanted)


# ---- parallel cells (--jobs N) -------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(
    ladder: Ladder,
    req: RunRequest,
    queue: Any,
    parent: int,
    n_threads: int | None = None,
) -> None:
    """Set up a worker process: dies with its parent, takes its share of the cores
    (see moviebench.threads), and keeps the ladder."""
    die_with_parent(parent)
    if n_threads is not None:
        from moviebench import threads

        threads.use(n_threads)
    queue.cancel_join_thread()  # progress lines are disposable: never block a worker's exit on them
    _WORKER.update(ladder=ladder, req=req, queue=queue)


def die_with_parent(parent: int, interval: float = 0.5) -> None:
    """End this worker process when `parent` dies (even by `kill -9`): nobody would read what
    it finishes. Linux delivers SIGKILL at once (PR_SET_PDEATHSIG); elsewhere, and as a
    backstop, a daemon thread exits when this process is re-parented."""
    import os
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _worker_cell(model: str, seed: int) -> Record:
    queue = _WORKER["queue"]

    def progress(description: str, completed: int, total: int) -> None:
        queue.put((f"{model} seed {seed}: {description}", completed, total))

    def waiting() -> None:
        queue.put((f"{model} seed {seed}: waiting for another run", 0, 1))

    return execute_locked(
        _WORKER["ladder"].cell(model, seed), _WORKER["req"], progress=progress, on_wait=waiting
    )


def lanes(cells: list[Cell], jobs: int) -> list[tuple[list[Cell], int, int]]:
    """How `--jobs` splits the cells: (cells, worker processes, threads per worker) per lane;
    0 worker processes means this process runs the lane itself, in ladder order.

    Networks (family "deep") run one at a time in this process with its threads (every core
    unless the user limited them), exactly as a serial run would: they are the longest cells,
    so splitting the cores would stretch the run's critical path (a CNN-LSTM on one thread
    instead of two took 93 s instead of 54), and with the serial run's thread count their
    results equal a serial run's. The other cells go to up to `jobs - 1` worker processes on
    the cores the networks leave spare. With no spare core they run here too: on 2 cores a
    worker beside the networks only slowed them (an MLP's fit went from 10 to 28 s), so
    `--jobs 2` there equals a serial run. A ladder without networks uses `jobs` workers, each
    with its share of the cores. Decided from the plan and the core count alone, never from
    timing, so a record's thread count is reproducible.
    """
    from moviebench.threads import cores, current, per_worker

    deep = [c for c in cells if MODELS.get(c.model).family == "deep"]
    rest = [c for c in cells if MODELS.get(c.model).family != "deep"]
    if not deep:
        return [(rest, jobs, per_worker(jobs))]
    here = current()
    spare = cores() - here
    if not rest or spare < 1 or jobs < 2:
        return [(cells, 0, here)]
    workers = min(jobs - 1, spare)
    return [(deep, 0, here), (rest, workers, max(1, spare // workers))]


def run_parallel(
    ladder: Ladder, req: RunRequest, todo: list[Cell], display: Any | None = None
) -> list[Record]:
    """Run cells as `lanes` splits them; records come back in ladder order.

    Each worker writes its own record files atomically, as a serial run would. A worker that
    dies (out of memory, killed) still leaves a failed record, so the ladder stays complete.
    While this process trains the networks, a thread collects the workers' progress and records.
    """
    import multiprocessing as mp
    import os
    import queue as queue_mod
    import threading
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from contextlib import ExitStack

    # spawn, not fork: forking after torch / OpenMP have started threads can deadlock.
    context = mp.get_context("spawn")
    results: dict[tuple[str, int], Record] = {}
    plan = lanes(todo, req.jobs)
    here = [cell for cells, workers, _ in plan if workers == 0 for cell in cells]
    # A plain queue handed to each worker at start, not a Manager's: a manager is one more
    # process that would outlive a killed run.
    progress_queue = context.Queue()
    with ExitStack() as stack:
        futures = {}
        for cells, workers, threads in plan:
            if display:
                where = "this process" if workers == 0 else f"{workers} worker process(es)"
                spare = (
                    "" if len(plan) > 1 or workers else " (no core is spare beside the networks)"
                )
                display.console.print(
                    f"  running {len(cells)} cells in {where}, {threads} thread(s) each{spare}"
                )
            if workers == 0:
                continue
            pool = stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=context,
                    initializer=_init_worker,
                    initargs=(ladder, req, progress_queue, os.getpid(), threads),
                )
            )
            futures.update({pool.submit(_worker_cell, c.model, c.seed): c for c in cells})

        def collect() -> None:
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                while True:  # drained even without a display, so the pipe never fills
                    try:
                        description, completed, total = progress_queue.get_nowait()
                    except queue_mod.Empty:
                        break
                    if display:
                        display.epoch(description, completed, total)
                for future in finished:
                    cell = futures[future]
                    try:
                        record = future.result()
                    except Exception as exc:  # noqa: BLE001 - a dead worker must not lose the cell
                        record = cell.failed(
                            req.out, f"worker process failed: {type(exc).__name__}: {exc}"
                        )
                    results[(cell.model, cell.seed)] = record
                    if display:
                        display.finish(record)

        collector = threading.Thread(target=collect, name="collect-workers", daemon=True)
        collector.start()
        for cell in here:  # the networks, in this process, as in a serial run
            results[(cell.model, cell.seed)] = run_here(cell, req, display)
        collector.join()
    progress_queue.close()
    return [results[(cell.model, cell.seed)] for cell in todo]
