"""Stored records as MLflow runs, for people who compare experiments in the MLflow UI.

One run per record: params and settings as params, metrics (and timings, and the learning
curve per epoch) as metrics, what identifies the cell (task, source, model, family, seed,
status, ...) as tags, the record JSON and its board's plots as artifacts. The records stay
the source of truth; the export can be redone at any time.

Re-exporting is idempotent. Each run is tagged with the record's identity (a hash of its
resolved path) and content (a hash of the JSON and test scores): an unchanged record is
skipped, a changed one (rerun, --force) replaces its old run (MLflow params are immutable,
so the old run is deleted rather than edited), and a new one gets a new run.

The default backend is a SQLite file, which needs no server: `mlflow ui --backend-store-uri
sqlite:///mlflow.db` then browses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from moviebench.errors import BenchError
from moviebench.records import Record, predictions_path

DEFAULT_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "moviebench"
ID_TAG = "moviebench.record_id"
HASH_TAG = "moviebench.content_hash"
# MLflow run states: a skipped model never trained, which KILLED says better than FAILED.
RUN_STATUS = {"ok": "FINISHED", "failed": "FAILED", "skipped": "KILLED"}
IDENTITY_TAGS = (
    "task",
    "source",
    "model",
    "family",
    "seed",
    "profile",
    "status",
    "target",
    "primary_metric",
    "split_hash",
    "data_fingerprint",
    "device",
    "params_source",
)
CURVE_KEYS = ("train_loss", "val_loss", "val_score", "lr")


@dataclass
class ExportSummary:
    tracking_uri: str
    experiment_id: str
    created: list[str] = field(default_factory=list)  # record paths
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise BenchError(
            "MLflow is not installed: install moviebench[mlflow] (pip install -e '.[mlflow]')"
        ) from None
    return mlflow


def record_id(path: Path) -> str:
    """Which cell a record is: the same file exported twice is the same run."""
    return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:20]


def content_hash(path: Path) -> str:
    """What the record says: a rerun changes `created`, so its hash changes too."""
    digest = hashlib.sha256(Path(path).read_bytes())
    scores = predictions_path(Path(path))
    if scores.exists():
        digest.update(scores.read_bytes())
    return digest.hexdigest()[:20]


def mlflow_name(name: str) -> str:
    """A metric or param name MLflow accepts ("map@3" -> "map_at_3")."""
    return re.sub(r"[^\w.\- /]", "_", name.replace("@", "_at_"))


def _value(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _millis(record: Record) -> int | None:
    try:
        return int(datetime.fromisoformat(str(record.created)).timestamp() * 1000)
    except (KeyError, ValueError):
        return None


def run_params(record: Record) -> dict[str, str]:
    """The model's params as they are, the run's settings under `settings.`, sizes and sources."""
    out = {mlflow_name(k): v for k, v in (record.params or {}).items()}
    out.update({f"settings.{mlflow_name(k)}": v for k, v in (record.settings or {}).items()})
    for key in ("params_source", "n_train", "n_val", "n_test"):
        if getattr(record, key) is not None:
            out[key] = getattr(record, key)
    return {k: _value(v, 6000) for k, v in out.items()}


def run_metrics(record: Record) -> list[tuple[str, float, int]]:
    """(name, value, step): test metrics, primary, timings at step 0; the learning curve per epoch."""
    out = [(mlflow_name(k), v, 0) for k, v in (record.metrics or {}).items()]
    out += [
        (k, getattr(record, k), 0)
        for k in ("primary", "fit_seconds", "predict_seconds", "peak_memory_mb", "n_params")
    ]
    for i, point in enumerate(record.history or []):
        step = int(point.get("epoch", i + 1))
        out += [(f"history/{k}", point.get(k), step) for k in CURVE_KEYS]
    return [(k, float(v), step) for k, v, step in out if _number(v) is not None]


def run_tags(record: Record, rel_path: str) -> dict[str, str]:
    tags = {k: str(getattr(record, k)) for k in IDENTITY_TAGS if getattr(record, k) is not None}
    if record.git_commit:
        tags["mlflow.source.git.commit"] = str(record.git_commit)
    for name, version in (record.versions or {}).items():
        tags[f"version.{name}"] = str(version)
    if record.error:
        tags["error"] = _value(str(record.error), 8000)
    tags["moviebench.record"] = rel_path
    return tags


def _existing_runs(client: Any, experiment_id: str) -> dict[str, list[Any]]:
    """Active runs of the experiment that came from a record, by record id."""
    runs: dict[str, list[Any]] = defaultdict(list)
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{ID_TAG}` != ''",
            max_results=1000,
            page_token=token,
        )
        for run in page:
            runs[run.data.tags[ID_TAG]].append(run)
        token = page.token
        if not token:
            return runs


def _experiment(client: Any, name: str, tracking_uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    artifacts = None
    if tracking_uri.startswith("sqlite:///"):
        # Artifacts beside the database, not in whatever folder the export ran from.
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        artifacts = (db.resolve().parent / "mlartifacts" / name).as_uri()
    return client.create_experiment(name, artifact_location=artifacts)


def _log_run(
    client: Any,
    experiment_id: str,
    record: Record,
    path: Path,
    rel_path: str,
    identity: dict[str, str],
    plots: list[Path],
) -> None:
    from mlflow.entities import Metric, Param

    start = _millis(record)
    tags = {**run_tags(record, rel_path), **identity}
    name = f"{record.task}/{record.model}/seed-{record.seed}"
    run_id = client.create_run(
        experiment_id, start_time=start, tags=tags, run_name=name
    ).info.run_id
    params = [Param(k, v) for k, v in run_params(record).items()]
    metrics = [Metric(k, v, start or 0, step) for k, v, step in run_metrics(record)]
    for i in range(0, max(len(params), len(metrics)), 100):  # MLflow's batch limit is 100 params
        client.log_batch(run_id, metrics=metrics[i : i + 100], params=params[i : i + 100])
    client.log_artifact(run_id, str(path), artifact_path="record")
    for plot in plots:
        client.log_artifact(run_id, str(plot), artifact_path="plots")
    seconds = sum(_number(getattr(record, k)) or 0.0 for k in ("fit_seconds", "predict_seconds"))
    client.set_terminated(
        run_id,
        status=RUN_STATUS.get(record.status, "FAILED"),
        end_time=None if start is None else start + int(seconds * 1000),
    )


def export(
    results: Path, tracking_uri: str = DEFAULT_URI, experiment: str = DEFAULT_EXPERIMENT
) -> ExportSummary:
    """Export every record under `results` into `experiment` at `tracking_uri` (see module doc)."""
    from moviebench.plots import write_plots
    from moviebench.records import load_records

    _mlflow()
    from mlflow.tracking import MlflowClient

    # MLflow and Alembic announce every schema migration of a new database at INFO level.
    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    records = load_records(results)
    if not records:
        raise BenchError(
            f"no records in {results}: run `bench run --task TASK --out {results}` first"
        )
    try:
        client = MlflowClient(tracking_uri=tracking_uri)
    except Exception as exc:  # noqa: BLE001 - MLflow's own exception types vary by scheme
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(
            f"--tracking-uri {tracking_uri}: MLflow cannot use it ({reason[:200]})"
        ) from None
    experiment_id = _experiment(client, experiment, tracking_uri)
    existing = _existing_runs(client, experiment_id)
    summary = ExportSummary(tracking_uri, experiment_id)

    todo: dict[tuple[str, str], list[tuple[dict, dict[str, str], list[Any]]]] = defaultdict(list)
    for record in records:
        path = Path(record.path)
        identity = {ID_TAG: record_id(path), HASH_TAG: content_hash(path)}
        old = existing.get(identity[ID_TAG], [])
        # A run counts as done only if its logging finished (an export killed midway leaves
        # a RUNNING run behind, which is then replaced).
        same = next(
            (
                r
                for r in old
                if r.data.tags.get(HASH_TAG) == identity[HASH_TAG] and r.info.status != "RUNNING"
            ),
            None,
        )
        if same is not None:
            for extra in old:
                if extra is not same:
                    client.delete_run(extra.info.run_id)
            summary.unchanged.append(str(path))
            continue
        todo[(record.task, record.source)].append((record, identity, old))

    with tempfile.TemporaryDirectory(prefix="moviebench-mlflow-") as tmp:
        for (task, source), items in todo.items():
            board = [r for r in records if r.task == task and r.source == source]
            folder = Path(tmp) / f"{task}-{source}"
            plots = [
                folder / name for names in write_plots(board, folder).values() for name in names
            ]
            for record, identity, old in items:
                path = Path(record.path)
                rel = (
                    path.relative_to(Path(results)).as_posix()
                    if path.is_relative_to(Path(results))
                    else str(path)
                )
                _log_run(client, experiment_id, record, path, rel, identity, plots)
                # Deleted after the new run is complete: an interrupted export loses nothing.
                for run in old:
                    client.delete_run(run.info.run_id)
                (summary.replaced if old else summary.created).append(str(path))
    return summary
