"""`bench run --executor ray`: a ladder's cells as Ray tasks, for runs that outgrow one machine.

Ray schedules each cell with the resources its rung needs: one CPU for trivial, classical and
pretrained-feature rungs, `num_gpus` (fractions allowed) for deep rungs when the cluster has
GPUs. The prepared task (data, split, cached features) goes to the object store once
(`ray.put`); a worker builds its `Cell` from it, fits and scores with `Cell.compute` and
returns the record and test scores. Only this driver writes files, so `--out` needs no file
system shared with the workers, and a rerun skips finished cells exactly as a local run does.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moviebench.cell import Cell
from moviebench.errors import BenchError
from moviebench.models import MODELS
from moviebench.records import Record, write_predictions

INSTALL = "--executor ray needs Ray: pip install 'moviebench[ray]'"


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


def compute_remote(ladder: Any, model: str, seed: int) -> tuple[Any, dict | None]:
    """The body of a cell's Ray task: fit and score, write nothing, say where it ran."""
    import ray

    t0 = time.perf_counter()
    record, scores = ladder.cell(model, seed).compute()
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
    prep: Any, req: Any, name: str, attrs: dict[str, Any], seed: int
) -> tuple[int, str, float | None]:
    """The body of one trial's Ray task: join the study (its pruner included) in its storage,
    run one trial of the same objective as a local `bench tune`, say how it ended."""
    import optuna

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

    def run(
        self, ladder: Any, req: Any, todo: list[Cell], display: Any | None = None
    ) -> list[Record]:
        """Run `todo` as Ray tasks; records (written here) come back in ladder order."""
        ray = import_ray()
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        try:
            return self._run(ray, ladder, req, todo, display)
        finally:
            if started:
                ray.shutdown()

    def _run(
        self, ray: Any, ladder: Any, req: Any, todo: list[Cell], display: Any | None
    ) -> list[Record]:
        say = display.console.print if display else (lambda *_: None)
        gpus = float(ray.cluster_resources().get("GPU", 0))
        task = ray.remote(compute_remote)
        shared = ray.put(ladder)  # the data travels once, not once per cell
        futures: dict[Any, Cell] = {}
        notes: set[str] = set()
        for cell in todo:
            resources, note = cell_resources(
                MODELS.get(cell.model).family, gpus, self.gpus_per_deep_rung, self.deep_on_cpu
            )
            if note:
                notes.add(note)
            ref = task.options(max_retries=self.max_retries, **resources).remote(
                shared, cell.model, cell.seed
            )
            futures[ref] = cell
        say(
            f"  running {len(todo)} cells as Ray tasks on {ray.cluster_resources().get('CPU', 0):g} CPUs, {gpus:g} GPUs"
        )
        for note in sorted(notes):
            say(f"  waiting: {note}")
        results: dict[tuple[str, int], Record] = {}
        pending = list(futures)
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            for ref in finished:
                cell = futures[ref]
                if display:
                    display.start(cell.model, cell.seed)
                record = self._collect(ray, ref, cell, req.out)
                results[(cell.model, cell.seed)] = record
                if display:
                    display.finish(record)
        return [results[(cell.model, cell.seed)] for cell in todo]

    @staticmethod
    def _collect(ray: Any, ref: Any, cell: Cell, out: Any) -> Record:
        """Write a finished task's record and scores; a failed or lost task becomes a failed record."""
        try:
            record, scores = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - a lost worker must not lose the cell
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return cell.failed(out, f"Ray task failed: {type(exc).__name__}: {reason[:300]}")
        if scores is not None:
            write_predictions(cell.path(out), **scores)
        return cell.write(out, record)

    def tune(
        self,
        prep: Any,
        req: Any,
        name: str,
        attrs: dict[str, Any],
        seed: int,
        console: Any | None = None,
    ) -> None:
        """`bench tune --executor ray`: one Ray task per trial, each joining study `name` in
        the request's storage (a PostgreSQL URL for a cluster; the journal file on this
        machine for a local runtime). `--timeout` stops waiting and cancels trials not done."""
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
            say = console.print if console is not None else (lambda *_: None)
            if note:
                say(f"  waiting: {note}")
            task = ray.remote(trial_remote).options(max_retries=self.max_retries, **resources)
            shared = ray.put(prep)
            pending = [
                task.remote(shared, remote_req, name, attrs, seed + i) for i in range(req.trials)
            ]
            say(f"  {req.trials} trials as Ray tasks")
            deadline = None if req.timeout is None else time.monotonic() + req.timeout
            while pending:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                finished, pending = ray.wait(pending, num_returns=1, timeout=left)
                if not finished:  # --timeout passed: trials still queued or running are dropped
                    for ref in pending:
                        ray.cancel(ref, force=True)
                    say(f"  --timeout: {len(pending)} trials cancelled")
                    break
                try:
                    number, state, value = ray.get(finished[0])
                    say(
                        f"  trial {number} {state}"
                        + (f": {value:.4f}" if value is not None else "")
                    )
                except Exception as exc:  # noqa: BLE001 - a lost trial is the study's failed trial
                    say(f"  a trial task failed: {type(exc).__name__}")
        finally:
            if started:
                ray.shutdown()
