"""`bench run --executor ray`: a ladder's cells as Ray tasks, for runs that outgrow one machine.

Ray schedules each cell with the resources its rung needs: one CPU for trivial, classical and
pretrained-feature rungs, `num_gpus` (fractions allowed) for deep rungs when the cluster has
GPUs. The prepared task (data, split, cached features) goes to the object store once
(`ray.put`); a worker builds its `Cell` from it, fits and scores with `Cell.compute` and
returns the record and test scores. Only this driver writes files, so `--out` needs no file
system shared with the workers, and a rerun skips finished cells exactly as a local run does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from moviebench.cell import Cell
from moviebench.errors import BenchError
from moviebench.models import MODELS
from moviebench.records import write_predictions

INSTALL = "--executor ray needs Ray: pip install 'moviebench[ray]'"


def import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise BenchError(INSTALL) from None
    return ray


def cell_resources(family: str, cluster_gpus: float, gpus_per_deep_rung: float,
                   deep_on_cpu: bool) -> tuple[dict[str, float], str | None]:
    """What a rung of `family` asks Ray for, and why it may wait. A deep rung on a cluster
    without GPUs runs on a CPU only when the user says so; otherwise it still asks for a GPU
    (an autoscaling cluster may add one) and the note says why it waits."""
    if family != "deep":
        return {"num_cpus": 1}, None
    if cluster_gpus > 0 or not deep_on_cpu:
        note = None if cluster_gpus > 0 else (
            "the cluster has no GPU: deep rungs wait for one (add a GPU node, or --deep-on-cpu)")
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


@dataclass
class RayExecutor:
    address: str | None = None  # None: a local runtime (or the one already initialised)
    gpus_per_deep_rung: float = 1.0
    deep_on_cpu: bool = False
    max_retries: int = 1  # a lost worker's task is tried once more, then recorded as failed

    def run(self, ladder: Any, req: Any, todo: list[Cell], display: Any | None = None) -> list[dict[str, Any]]:
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

    def _run(self, ray: Any, ladder: Any, req: Any, todo: list[Cell], display: Any | None) -> list[dict[str, Any]]:
        say = display.console.print if display else (lambda *_: None)
        gpus = float(ray.cluster_resources().get("GPU", 0))
        task = ray.remote(compute_remote)
        shared = ray.put(ladder)  # the data travels once, not once per cell
        futures: dict[Any, Cell] = {}
        notes: set[str] = set()
        for cell in todo:
            resources, note = cell_resources(MODELS.get(cell.model).family, gpus,
                                             self.gpus_per_deep_rung, self.deep_on_cpu)
            if note:
                notes.add(note)
            ref = task.options(max_retries=self.max_retries, **resources).remote(shared, cell.model, cell.seed)
            futures[ref] = cell
        say(f"  running {len(todo)} cells as Ray tasks on {ray.cluster_resources().get('CPU', 0):g} CPUs, {gpus:g} GPUs")
        for note in sorted(notes):
            say(f"  waiting: {note}")
        results: dict[tuple[str, int], dict[str, Any]] = {}
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
    def _collect(ray: Any, ref: Any, cell: Cell, out: Any) -> dict[str, Any]:
        """Write a finished task's record and scores; a failed or lost task becomes a failed record."""
        try:
            record, scores = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - a lost worker must not lose the cell
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return cell.failed(out, f"Ray task failed: {type(exc).__name__}: {reason[:300]}")
        if scores is not None:
            write_predictions(cell.path(out), **scores)
        return cell.write(out, record)
