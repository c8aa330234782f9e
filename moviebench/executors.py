"""How a list of cells runs: one `Executor` protocol, three executors.

`Executor.run(cells, out, reporter)` trains `cells` and returns their records in the same
order; `run_cells` puts every command on it (`bench run`, `bench scale`): it takes current
records instead of training (unless forced), hands the rest to the executor and reports
through the `Reporter`. Whatever the executor, each cell trains under its lock
(`Cell.lock`, see `claimed`), so two runs into one folder never train it twice, and a cell
whose worker dies or whose task is lost still gets a failed record.

- `SerialExecutor`: one cell after the other in this process.
- `PoolExecutor` (`--jobs N`): networks in this process with its threads, the other cells
  in worker processes on the cores left spare (`lanes`); workers write their own records.
- `RayExecutor` (`--executor ray`): cells (and tuning trials) as Ray tasks, for runs that
  outgrow one machine. Ray schedules each cell with the resources its rung needs: one CPU
  for trivial, classical and pretrained-feature rungs, `num_gpus` (fractions allowed) for
  deep rungs when the cluster has GPUs. The prepared task (data, split, cached features)
  goes to the object store once (`ray.put`); a worker fits and scores with `Cell.compute`
  and returns the record and test scores. Only this driver writes files (and holds the
  locks), so `--out` needs no file system shared with the workers.

`tune_side_by_side` (`bench tune --ladder --jobs N`) is the process pool for studies: one
rung's whole study per worker, each with its share of the cores.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from moviebench import plugins
from moviebench.cell import Cell
from moviebench.errors import BenchError
from moviebench.models import MODELS
from moviebench.prepare import PreparedTask
from moviebench.records import Record, write_predictions
from moviebench.reporting import Reporter, SilentReporter, label_of

if TYPE_CHECKING:
    from moviebench.tuning import StudyJob, TuneRequest, TuneResult

INSTALL = "--executor ray needs Ray: pip install 'moviebench[ray]'"
REUSED = "finished record exists (--force reruns)"
MADE_WHILE_WAITING = "made by another run while this one waited"


class Executor(Protocol):
    def run(self, cells: list[Cell], out: Path, reporter: Reporter) -> list[Record]:
        """Train every cell, write its record under `out`; records in the order of `cells`."""
        ...


def run_cells(
    cells: list[Cell],
    out: Path,
    executor: Executor,
    reporter: Reporter | None = None,
    force: bool = False,
) -> list[Record]:
    """The records of `cells`, in their order: current ones as stored (unless `force`), the
    others trained by `executor`."""
    reporter = reporter or SilentReporter()
    records: list[Record | None] = []
    todo: list[int] = []
    for position, cell in enumerate(cells):
        existing = None if force else cell.stored(out)
        if existing is None:
            todo.append(position)
        else:
            reporter.reused(existing, REUSED)
        records.append(existing)
    reporter.to_run(len(todo))
    if todo:
        made = executor.run([cells[i] for i in todo], out, reporter)
        for position, record in zip(todo, made, strict=True):
            records[position] = record
    return records  # type: ignore[return-value] - every None was replaced above


@contextlib.contextmanager
def claimed(cell: Cell, out: Path, reporter: Reporter) -> Iterator[Record | None]:
    """Hold the cell's lock; yields the current record another run made while this one
    waited for it (taken even under --force: it is newer than the request), else None and
    the caller trains the cell."""
    with cell.lock(out, lambda: reporter.waiting(cell)) as waited:
        existing = cell.stored(out) if waited else None
        if existing is not None:
            existing.reused = MADE_WHILE_WAITING
        yield existing


def execute_here(cell: Cell, out: Path, reporter: Reporter) -> Record:
    """Train one cell in this process under its lock, its progress reported."""
    reporter.started(cell)
    with claimed(cell, out, reporter) as made:
        return made if made is not None else cell.execute(out, progress=reporter.progress)


class SerialExecutor:
    """One cell after the other, in this process."""

    def run(self, cells: list[Cell], out: Path, reporter: Reporter) -> list[Record]:
        records = []
        for cell in cells:
            record = execute_here(cell, out, reporter)
            reporter.finished(record)
            records.append(record)
        return records


def local_executor(jobs: int) -> Executor:
    """This machine's executor for `--jobs`: serial for 1, a process pool above."""
    return SerialExecutor() if jobs <= 1 else PoolExecutor(jobs)


# ---- worker processes (--jobs N) -----------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(
    preps: list[PreparedTask],
    out: Path,
    queue: Any,
    parent: int,
    n_threads: int | None = None,
    plugin_specs: list[str] | None = None,
) -> None:
    """Set up a worker process: dies with its parent, takes its share of the cores
    (see moviebench.threads), loads the parent's plugins and keeps the prepared tasks its
    cells read. Ctrl-C is the parent's to handle: it reaches every process of the terminal's
    group, and a worker that took it would print its own traceback after "aborted"."""
    _start_worker(parent, n_threads, plugin_specs)
    queue.cancel_join_thread()  # progress lines are disposable: never block a worker's exit on them
    _WORKER.update(preps=preps, out=out, queue=queue)


def _start_worker(parent: int, n_threads: int | None, plugin_specs: list[str] | None) -> None:
    """What every worker process does first: leave Ctrl-C to the parent, die with it, load
    its plugins and take its share of the cores."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    plugins.load(plugin_specs or [])
    if n_threads is not None:
        from moviebench import threads

        threads.use(n_threads)


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
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


class _QueueReporter(SilentReporter):
    """A worker's reporter: its cell's events go to the parent, which reports them. The
    record itself comes back as the task's result (so a dead worker still yields one)."""

    def __init__(self, queue: Any, position: int, label: str) -> None:
        self._queue, self._position, self._label = queue, position, label

    def started(self, cell: Cell) -> None:
        self._queue.put(("started", self._position))

    def waiting(self, cell: Cell) -> None:
        self._queue.put(("waiting", self._position))

    def progress(self, description: str, completed: int, total: int | None) -> None:
        self._queue.put(("progress", f"{self._label}: {description}", completed, total))


def _without_prep(cell: Cell) -> Cell:
    """The cell to send to a worker: the prepared task travels once per worker, not per cell."""
    return dataclasses.replace(cell, prep=None)  # type: ignore[arg-type]


def _worker_cell(position: int, prep_index: int, light: Cell) -> Record:
    cell = dataclasses.replace(light, prep=_WORKER["preps"][prep_index])
    reporter = _QueueReporter(_WORKER["queue"], position, label_of(cell))
    return execute_here(cell, _WORKER["out"], reporter)


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
        # Never more workers than cells or cores: `--jobs 1000` on 2 cores starts 2.
        workers = max(1, min(jobs, len(rest), cores()))
        return [(rest, workers, per_worker(workers))]
    here = current()
    spare = cores() - here
    if not rest or spare < 1 or jobs < 2:
        return [(cells, 0, here)]
    workers = min(jobs - 1, spare)
    return [(deep, 0, here), (rest, workers, max(1, spare // workers))]


@dataclass
class PoolExecutor:
    """`--jobs N`: cells as `lanes` splits them, networks here and the rest in worker processes.

    Each worker writes its own record files atomically, as a serial run would. A worker that
    dies (out of memory, killed) still leaves a failed record, so the ladder stays complete.
    While this process trains the networks, a thread relays the workers' events and records."""

    jobs: int = 2

    def run(self, cells: list[Cell], out: Path, reporter: Reporter) -> list[Record]:
        if self.jobs < 2 or len(cells) < 2:
            return SerialExecutor().run(cells, out, reporter)
        import multiprocessing as mp
        import os
        import queue as queue_mod
        import threading
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from contextlib import ExitStack

        # spawn, not fork: forking after torch / OpenMP have started threads can deadlock.
        context = mp.get_context("spawn")
        position = {id(cell): i for i, cell in enumerate(cells)}
        preps = list({id(cell.prep): cell.prep for cell in cells}.values())
        prep_index = {id(prep): i for i, prep in enumerate(preps)}
        results: dict[int, Record] = {}
        plan = lanes(cells, self.jobs)
        here = [cell for lane, workers, _ in plan if workers == 0 for cell in lane]
        # A plain queue handed to each worker at start, not a Manager's: a manager is one more
        # process that would outlive a killed run.
        events = context.Queue()
        with ExitStack() as stack:
            futures = {}
            pools: list[ProcessPoolExecutor] = []
            for lane, workers, threads in plan:
                where = "this process" if workers == 0 else f"{workers} worker process(es)"
                spare = (
                    "" if len(plan) > 1 or workers else " (no core is spare beside the networks)"
                )
                if workers and workers < self.jobs and len(plan) == 1:
                    spare += f" (--jobs {self.jobs} capped by the cells and cores)"
                reporter.plan(
                    f"running {len(lane)} cells in {where}, {threads} thread(s) each{spare}"
                )
                if workers == 0:
                    continue
                pool = stack.enter_context(
                    ProcessPoolExecutor(
                        max_workers=workers,
                        mp_context=context,
                        initializer=_init_worker,
                        initargs=(preps, out, events, os.getpid(), threads, plugins.active()),
                    )
                )
                pools.append(pool)
                for cell in lane:
                    i = position[id(cell)]
                    future = pool.submit(
                        _worker_cell, i, prep_index[id(cell.prep)], _without_prep(cell)
                    )
                    futures[future] = i

            def relay(event: tuple[Any, ...]) -> None:
                kind, *args = event
                if kind == "progress":
                    reporter.progress(*args)
                elif kind == "started":
                    reporter.started(cells[args[0]])
                elif kind == "waiting":
                    reporter.waiting(cells[args[0]])

            def collect() -> None:
                pending = set(futures)
                while pending:
                    finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                    while True:  # drained whatever the reporter, so the pipe never fills
                        try:
                            relay(events.get_nowait())
                        except queue_mod.Empty:
                            break
                    for future in finished:
                        i = futures[future]
                        try:
                            record = future.result()
                        except Exception as exc:  # noqa: BLE001 - a dead worker must not lose the cell
                            record = cells[i].failed(
                                out, f"worker process failed: {type(exc).__name__}: {exc}"
                            )
                        results[i] = record
                        reporter.finished(record)

            collector = threading.Thread(target=collect, name="collect-workers", daemon=True)
            collector.start()
            try:
                for cell in here:  # the networks, in this process, as in a serial run
                    record = execute_here(cell, out, reporter)
                    reporter.finished(record)
                    results[position[id(cell)]] = record
                collector.join()
            except KeyboardInterrupt:
                # The workers ignore Ctrl-C (see _init_worker): end them here, or leaving
                # the pools would wait for every fit in progress. Finished records are kept.
                for pool in pools:
                    pool.shutdown(wait=False, cancel_futures=True)
                for child in multiprocessing.active_children():
                    child.terminate()
                raise
        events.close()
        return [results[i] for i in range(len(cells))]


# ---- tuning a ladder side by side (bench tune --ladder --jobs N) ---------------------------


def _worker_study(req: TuneRequest) -> TuneResult:
    from moviebench.tuning import tune

    return tune(req)


def tune_side_by_side(
    requests: list[TuneRequest], jobs: int, reporter: Reporter
) -> dict[str, TuneResult]:
    """Each rung's study in one of `jobs` worker processes, each with its share of the cores.

    A study stays in one process and runs its trials in order, so its sampler draws what a
    serial `--ladder` would (scores may differ in the last digits: fewer threads sum in
    another order). Networks rarely keep two cores busy: on the 2-core development machine,
    fine-tuning MiniLM on TMDB 5000 overviews fitted in 348 s with both cores (its board
    record), and its whole default trial, fit and validation scoring, took 353 s on one core
    beside another study. The costliest rungs climb last on a ladder, so they start first. A
    study that fails does not stop the others; its error is raised when they have finished
    (their trials are in the storage)."""
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from moviebench.threads import cores, per_worker

    workers = max(1, min(jobs, len(requests), cores()))
    threads = per_worker(workers)
    reporter.plan(
        f"tuning {len(requests)} rungs in {workers} worker processes, {threads} thread(s) each"
    )
    results: dict[str, TuneResult] = {}
    errors: list[str] = []
    context = multiprocessing.get_context("spawn")  # as PoolExecutor: no fork under torch threads
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), threads, plugins.active()),
    ) as pool:
        futures = {pool.submit(_worker_study, req): req.model for req in reversed(requests)}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                model = futures[future]
                try:
                    result = future.result()
                except BenchError as error:
                    errors.append(f"{model}: {error}")
                    reporter.warning(f"{model}: {error}")
                else:
                    results[model] = result
                    reporter.message(
                        f"{model}: best validation {result.primary_metric} "
                        f"{result.best_value:.4f} (trial {result.best_trial}); "
                        f"{result.n_new} new trials in {result.seconds:.0f}s"
                    )
                reporter.progress("rungs tuned", done, len(futures))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            for child in multiprocessing.active_children():
                child.terminate()
            raise
    if errors:
        raise BenchError(f"{len(errors)} of {len(requests)} studies failed: " + "; ".join(errors))
    return {req.model: results[req.model] for req in requests}


# ---- Ray (--executor ray) ------------------------------------------------------------------


def import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise BenchError(INSTALL) from None
    return ray


def cell_resources(
    family: str, cluster_gpus: float, gpus_per_deep_rung: float, deep_on_cpu: bool
) -> tuple[dict[str, float], str | None]:
    """What a rung of `family` asks Ray for, and why it may wait. A deep rung on a cluster
    without GPUs runs on a CPU only when the user says so; otherwise it still asks for a GPU
    (an autoscaling cluster may add one) and the note says why it waits."""
    if family != "deep":
        return {"num_cpus": 1}, None
    if cluster_gpus > 0 or not deep_on_cpu:
        note = (
            None
            if cluster_gpus > 0
            else (
                "the cluster has no GPU: deep rungs wait for one (add a GPU node, or --deep-on-cpu)"
            )
        )
        return {"num_cpus": 1, "num_gpus": gpus_per_deep_rung}, note
    return {"num_cpus": 1}, None


def compute_remote(
    prep: PreparedTask, light: Cell, plugin_specs: list[str] | None = None
) -> tuple[Any, dict | None]:
    """The body of a cell's Ray task: load the driver's plugins, fit and score, write
    nothing, say where it ran."""
    import ray

    plugins.load(plugin_specs or [])
    t0 = time.perf_counter()
    record, scores = dataclasses.replace(light, prep=prep).compute()
    context = ray.get_runtime_context()
    record.executor = {
        "kind": "ray",
        "node": context.get_node_id(),
        "resources": context.get_assigned_resources(),
        "gpu_ids": [str(i) for i in ray.get_gpu_ids()],
        "task_seconds": time.perf_counter() - t0,
    }
    return record, scores


def trial_remote(
    prep: PreparedTask,
    req: TuneRequest,
    name: str,
    attrs: dict[str, Any],
    seed: int,
    plugin_specs: list[str] | None = None,
) -> tuple[int, str, float | None]:
    """The body of one trial's Ray task: load the driver's plugins, join the study (its
    pruner included) in its storage, run one trial of the same objective as a local
    `bench tune`, say how it ended."""
    import optuna

    plugins.load(plugin_specs or [])
    from moviebench.tuning import create_or_load_study, make_objective, open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = create_or_load_study(
        name,
        open_storage(req.storage, req.out),
        attrs,
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    ended: list[Any] = []
    study.optimize(
        make_objective(prep, req),
        n_trials=1,
        catch=(Exception,),
        gc_after_trial=True,
        callbacks=[lambda _, trial: ended.append(trial)],
    )
    trial = ended[0]
    return trial.number, trial.state.name.lower(), trial.value


def shared_storage(url: str | None, out: Path) -> tuple[str | None, Path]:
    """Storage and out as absolute paths, so workers on this machine (or on machines that
    mount the same folder) open the driver's journal file; a database URL is kept as is."""
    if url and "://" in url:
        return url, Path(out).resolve()
    path = Path(url.removeprefix("journal:")).resolve() if url else None
    return (str(path) if path else None), Path(out).resolve()


@dataclass
class RayExecutor:
    address: str | None = None  # None: a local runtime (or the one already initialised)
    gpus_per_deep_rung: float = 1.0
    deep_on_cpu: bool = False
    max_retries: int = 1  # a lost worker's task is tried once more, then recorded as failed

    def run(self, cells: list[Cell], out: Path, reporter: Reporter) -> list[Record]:
        """Run `cells` as Ray tasks; records (written here) come back in the cells' order."""
        ray = import_ray()
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        try:
            return self._run(ray, cells, out, reporter)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, cells: list[Cell], out: Path, reporter: Reporter) -> list[Record]:
        gpus = float(ray.cluster_resources().get("GPU", 0))
        task = ray.remote(compute_remote)
        # The data travels once, not once per cell.
        shared = {id(cell.prep): ray.put(cell.prep) for cell in cells}
        results: dict[int, Record] = {}
        futures: dict[Any, tuple[int, contextlib.ExitStack]] = {}
        notes: set[str] = set()
        with contextlib.ExitStack() as held:
            for i, cell in enumerate(cells):
                # The driver holds each cell's lock from submission until its record is written.
                lock = contextlib.ExitStack()
                held.callback(lock.close)
                made = lock.enter_context(claimed(cell, out, reporter))
                if made is not None:
                    lock.close()
                    results[i] = made
                    reporter.finished(made)
                    continue
                resources, note = cell_resources(
                    MODELS.get(cell.model).family, gpus, self.gpus_per_deep_rung, self.deep_on_cpu
                )
                if note:
                    notes.add(note)
                ref = task.options(max_retries=self.max_retries, **resources).remote(
                    shared[id(cell.prep)], _without_prep(cell), plugins.active()
                )
                futures[ref] = (i, lock)
            reporter.plan(
                f"running {len(futures)} cells as Ray tasks on "
                f"{ray.cluster_resources().get('CPU', 0):g} CPUs, {gpus:g} GPUs"
            )
            for note in sorted(notes):
                reporter.message(f"waiting: {note}")
            pending = list(futures)
            while pending:
                finished, pending = ray.wait(pending, num_returns=1)
                for ref in finished:
                    i, lock = futures[ref]
                    record = self._collect(ray, ref, cells[i], out)
                    lock.close()
                    results[i] = record
                    reporter.finished(record)
        return [results[i] for i in range(len(cells))]

    @staticmethod
    def _collect(ray: Any, ref: Any, cell: Cell, out: Path) -> Record:
        """Write a finished task's record and scores; a failed or lost task becomes a failed record."""
        try:
            record, scores = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - a lost worker must not lose the cell
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return cell.failed(out, f"Ray task failed: {type(exc).__name__}: {reason[:300]}")
        if scores is not None:
            write_predictions(cell.path(out), **scores)
        return cell.write(out, record)

    def tune(self, job: StudyJob, reporter: Reporter) -> None:
        """`bench tune --executor ray`: one Ray task per trial, each joining the study in
        the request's storage (a PostgreSQL URL for a cluster; the journal file on this
        machine for a local runtime). `--timeout` stops waiting and cancels trials not done."""
        prep, req, name, attrs, seed = job.prep, job.req, job.name, job.attrs, job.seed
        if not req.trials:
            raise BenchError("--executor ray: give --trials (the number of trial tasks to start)")
        ray = import_ray()
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        try:
            storage, out = shared_storage(req.storage, req.out)
            remote_req = dataclasses.replace(req, executor=None, storage=storage, out=out)
            gpus = float(ray.cluster_resources().get("GPU", 0))
            resources, note = cell_resources(
                MODELS.get(req.model).family, gpus, self.gpus_per_deep_rung, self.deep_on_cpu
            )
            if note:
                reporter.message(f"waiting: {note}")
            task = ray.remote(trial_remote).options(max_retries=self.max_retries, **resources)
            shared = ray.put(prep)
            pending = [
                task.remote(shared, remote_req, name, attrs, seed + i, plugins.active())
                for i in range(req.trials)
            ]
            reporter.plan(f"{req.trials} trials as Ray tasks")
            deadline = None if req.timeout is None else time.monotonic() + req.timeout
            while pending:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                finished, pending = ray.wait(pending, num_returns=1, timeout=left)
                if not finished:  # --timeout passed: trials still queued or running are dropped
                    for ref in pending:
                        ray.cancel(ref, force=True)
                    reporter.message(f"--timeout: {len(pending)} trials cancelled")
                    break
                try:
                    number, state, value = ray.get(finished[0])
                    reporter.message(
                        f"trial {number} {state}" + (f": {value:.4f}" if value is not None else "")
                    )
                except Exception as exc:  # noqa: BLE001 - a lost trial is the study's failed trial
                    reporter.warning(f"a trial task failed: {type(exc).__name__}")
        finally:
            if started:
                ray.shutdown()
