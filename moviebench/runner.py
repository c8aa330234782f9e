"""The harness: run a task's ladder on one split and store one record per cell.

A cell is (task, source, model, seed). The runner loads the source once, builds the task's
rows, splits them, then fits and scores each model. It owns thresholds, metrics, timing
and storage; a model that crashes is recorded as a failure and the ladder goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviebench import metrics
from moviebench.datasets import LoadedSource, load_source
from moviebench.errors import BenchError, UnknownNameError
from moviebench.models import MODELS, Model, RunContext, SkipModel
from moviebench.records import (
    git_commit,
    package_versions,
    read_record,
    record_path,
    write_predictions,
    write_record,
)
from moviebench.splits import Split, make_split
from moviebench.tasks import TASKS, TaskData, TaskOptions, TaskSpec, check_no_leakage


@dataclass
class RunRequest:
    task: str
    source: str | None = None
    data: Path | None = None
    models: list[str] | None = None  # None: the task's whole ladder
    seeds: list[int] = field(default_factory=lambda: [0])
    out: Path = Path("results")
    force: bool = False
    options: TaskOptions = field(default_factory=TaskOptions)
    epochs: int | None = None
    time_budget: float | None = None
    weights: Path | None = None
    device: str | None = None
    # Per-model params and where they came from (e.g. "tuned: <study>"), set by --tuned.
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    params_source: dict[str, str] = field(default_factory=dict)
    tuned: bool = False  # take each model's best params from its Optuna study (moviebench.tuning)
    tuning_storage: str | None = None  # default: the journal file under `out`
    jobs: int = 1  # cells run in this many separate processes


@dataclass
class PreparedTask:
    """A task's rows on one source, split: everything a cell needs besides the model."""

    spec: TaskSpec
    source: str
    loaded: LoadedSource
    data: TaskData
    split: Split

    def part(self, name: str) -> TaskData:
        return self.data.subset(self.split.part(name))


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


def prepare(spec: TaskSpec, source: str | None, data_path: Path | None, options: TaskOptions) -> PreparedTask:
    source = source or spec.default_source
    if source not in spec.sources:
        raise UnknownNameError(f"source for task {spec.name}", source, spec.sources)
    loaded = load_source(source, data_path)
    data = spec.build(loaded.table, source, options)
    check_no_leakage(spec, data)
    if len(data) == 0:
        raise BenchError(f"task {spec.name} on source {source}: no rows left after filtering")
    split = make_split(data.split_key, spec.split_seed, spec.split_fractions)
    for part in ("train", "val", "test"):
        if len(split.part(part)) == 0:
            raise BenchError(f"task {spec.name}: the {part} split is empty ({len(data)} rows in all)")
    return PreparedTask(spec, source, loaded, data, split)


class PeakMemory:
    """Samples this process's resident memory in a thread: the peak over a block, in MB."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)


def base_record(prep: PreparedTask, model: str, seed: int) -> dict[str, Any]:
    return {
        "task": prep.spec.name,
        "source": prep.source,
        "model": model,
        "seed": seed,
        "family": MODELS.get(model).family,
        "target": prep.spec.target,
        "primary_metric": prep.spec.primary_metric,
        "split_hash": prep.split.hash,
        "data_fingerprint": prep.loaded.fingerprint,
        "n_train": int(len(prep.split.train)),
        "n_val": int(len(prep.split.val)),
        "n_test": int(len(prep.split.test)),
        "labels": prep.data.labels,
        "data_notes": prep.data.notes,
        "unreadable_files": prep.data.unreadable,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def make_context(prep: PreparedTask, req: RunRequest, seed: int, **extra: Any) -> RunContext:
    from moviebench.models.torch_loop import pick_device

    spec = prep.spec
    return RunContext(
        seed=seed,
        device=req.device or pick_device(),
        epochs=req.epochs,
        time_budget=req.time_budget,
        weights=req.weights,
        val_score=lambda y, s: metrics.validation_score(spec.target, spec.primary_metric, y, s, prep.data.labels),
        settings={**spec.settings, **req.options.settings},
        **extra,
    )


def fit_and_score(model: Model, prep: PreparedTask) -> dict[str, Any]:
    """Fit on train (with val for early stopping), score val and test, compute metrics."""
    train, val, test = prep.part("train"), prep.part("val"), prep.part("test")
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        model.fit(train, val)
        fit_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        s_val = model.predict_scores(val)
        s_test = model.predict_scores(test)
        predict_seconds = time.perf_counter() - t0
    evaluation = metrics.evaluate(
        prep.spec.target, test.y, s_test, labels=prep.data.labels, y_val=val.y, s_val=s_val,
        settings=model.context.settings,  # task settings merged with the run's (--set)
        metrics=prep.spec.metrics,
    )
    return {
        "metrics": evaluation.metrics,
        "details": evaluation.details,
        "primary": evaluation.metrics[prep.spec.primary_metric],
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "peak_memory_mb": memory.peak_mb,
        "n_params": model.n_params(),
        "history": model.history,
        "_scores": {"ids": test.ids, "y": test.y, "scores": s_test},
    }


def run_cell(prep: PreparedTask, req: RunRequest, model_name: str, seed: int,
             progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Run one cell and write its record, whatever happens to the model."""
    path = record_path(req.out, prep.spec.name, prep.source, model_name, seed)
    record = base_record(prep, model_name, seed)
    params = req.params.get(model_name, {})
    record["params_source"] = req.params_source.get(model_name, "defaults")
    context = make_context(prep, req, seed, progress=progress)
    record["device"] = context.device
    record["settings"] = context.settings
    record["task_notes"] = prep.data.notes
    try:
        model = MODELS.get(model_name)(context=context, **params)
        record["params"] = model.params
        result = fit_and_score(model, prep)
        scores = result.pop("_scores")
        record.update(result, status="ok")
        write_predictions(path, **scores)
    except SkipModel as skip:
        record.update(status="skipped", error=str(skip))
    except Exception as exc:  # noqa: BLE001 - a failing model must not stop the ladder
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    write_record(path, record)
    record["_path"] = str(path)
    return record


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def is_done(path: Path, prep: PreparedTask, req: RunRequest, model: str) -> dict[str, Any] | None:
    """The finished record for this cell, if it was made the way this request would make it:
    same data, split and labels, same settings (e.g. --image-size) and same params source
    (defaults, or the same tuned trial). Anything else is rerun rather than shown as current."""
    record = read_record(path)
    if not record or record.get("status") != "ok":
        return None
    if record.get("split_hash") != prep.split.hash or record.get("data_fingerprint") != prep.loaded.fingerprint:
        return None
    if record.get("labels", prep.data.labels) != prep.data.labels:  # e.g. another min_genre_count
        return None
    if record.get("params_source", "defaults") != req.params_source.get(model, "defaults"):
        return None
    settings = {**prep.spec.settings, **req.options.settings}
    if "settings" in record and _as_json(record["settings"]) != _as_json(settings):
        return None
    record["_path"] = str(path)
    return record


def pending_cells(prep: PreparedTask, req: RunRequest, models: list[str]) -> tuple[list[tuple[str, int]], list[dict]]:
    """Split cells into those still to run and the finished records a rerun skips."""
    todo, done = [], []
    for model, seed in ((m, s) for m in models for s in req.seeds):
        path = record_path(req.out, prep.spec.name, prep.source, model, seed)
        existing = None if req.force else is_done(path, prep, req, model)
        if existing:
            done.append(existing)
        else:
            todo.append((model, seed))
    return todo, done


def run(req: RunRequest, display: Any | None = None) -> list[dict[str, Any]]:
    """Run a ladder. `display` (see cli.LadderDisplay) shows progress; records are returned."""
    spec = TASKS.get(req.task)
    models = resolve_models(spec, req.models)
    prep = prepare(spec, req.source, req.data, req.options)
    if display:
        display.prepared(prep)
    if req.tuned:
        from moviebench.tuning import apply_tuned

        for note in apply_tuned(req, prep, models):
            if display:
                display.console.print(f"  {note}")
    todo, done = pending_cells(prep, req, models)
    if display:
        display.skipped(done)
        display.set_total(len(todo))
    records = list(done)
    if req.jobs > 1 and len(todo) > 1:
        return records + run_parallel(prep, req, todo, display)
    for model, seed in todo:
        if display:
            display.start(model, seed)
        record = run_cell(prep, req, model, seed, progress=display.epoch if display else None)
        records.append(record)
        if display:
            display.finish(record)
    return records


# ---- parallel cells (--jobs N) -------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(prep: PreparedTask, req: RunRequest, queue: Any) -> None:
    _WORKER.update(prep=prep, req=req, queue=queue)


def _worker_cell(model: str, seed: int) -> dict[str, Any]:
    queue = _WORKER["queue"]

    def progress(description: str, completed: int, total: int) -> None:
        queue.put((f"{model} seed {seed}: {description}", completed, total))

    return run_cell(_WORKER["prep"], _WORKER["req"], model, seed, progress=progress)


def run_parallel(prep: PreparedTask, req: RunRequest, todo: list[tuple[str, int]],
                 display: Any | None = None) -> list[dict[str, Any]]:
    """Run cells in `req.jobs` worker processes; records come back in ladder order.

    Each worker writes its own record files atomically, as a serial run would. A worker that
    dies (out of memory, killed) still leaves a failed record, so the ladder stays complete.
    """
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # spawn, not fork: forking after torch / OpenMP have started threads can deadlock.
    context = mp.get_context("spawn")
    results: dict[tuple[str, int], dict[str, Any]] = {}
    with context.Manager() as manager:
        progress_queue = manager.Queue()
        with ProcessPoolExecutor(max_workers=req.jobs, mp_context=context, initializer=_init_worker,
                                 initargs=(prep, req, progress_queue)) as pool:
            futures = {pool.submit(_worker_cell, model, seed): (model, seed) for model, seed in todo}
            pending = set(futures)
            if display:
                display.console.print(f"  running {len(todo)} cells in {req.jobs} processes")
            while pending:
                finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                while display:
                    try:
                        description, completed, total = progress_queue.get_nowait()
                    except queue_mod.Empty:
                        break
                    display.epoch(description, completed, total)
                for future in finished:
                    model, seed = futures[future]
                    try:
                        record = future.result()
                    except Exception as exc:  # noqa: BLE001 - a dead worker must not lose the cell
                        record = base_record(prep, model, seed)
                        record.update(status="failed", error=f"worker process failed: {type(exc).__name__}: {exc}",
                                      params_source=req.params_source.get(model, "defaults"))
                        path = record_path(req.out, prep.spec.name, prep.source, model, seed)
                        write_record(path, record)
                        record["_path"] = str(path)
                    results[(model, seed)] = record
                    if display:
                        display.finish(record)
    return [results[cell] for cell in todo]
