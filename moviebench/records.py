"""Result records: one JSON file per (task, source, model, seed), written atomically.

The leaderboard, plots and `bench check` read only these files. Test-set scores are kept
beside each record (`.npz`) so metrics and bootstrap intervals can be recomputed without
retraining.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

VERSIONED_PACKAGES = ("moviebench", "numpy", "pandas", "scikit-learn", "torch", "xgboost", "lightgbm", "optuna")


@dataclass
class Record:
    """One cell's result and everything that made it. Written as JSON; the leaderboard, plots
    and `bench check` read only these files."""

    task: str
    source: str
    model: str
    seed: int
    family: str
    target: str
    primary_metric: str
    split_hash: str
    data_fingerprint: str
    n_train: int
    n_val: int
    n_test: int
    labels: list[str]
    settings: dict[str, Any]
    options: dict[str, Any]  # the run options that change a result (RunOptions.identity)
    params: dict[str, Any]  # what the model ran with: its defaults under the given params
    params_source: str  # "defaults" or "tuned: study … trial …"
    identity: dict[str, Any]  # everything above that decides whether a rerun may skip this cell
    pretrained_weights: bool = False
    profile: str = "quick"  # the declared training budget's profile (RunOptions.profile)
    budget: dict[str, Any] | None = None  # a network's resolved budget (epochs, patience, size...)
    threads: int | None = None  # CPU threads the cell used (moviebench.threads)
    truncated: bool = False  # an explicit --time-budget stopped training early
    epochs_done: int | None = None  # epochs a network trained
    status: str = "running"  # ok, failed or skipped once written
    error: str | None = None
    traceback: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    primary: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    fitted: dict[str, Any] = field(default_factory=dict)  # what fit decided (best epoch, weights)
    history: list[dict[str, float]] = field(default_factory=list)
    fit_seconds: float | None = None
    predict_seconds: float | None = None
    peak_memory_mb: float | None = None
    n_params: int | None = None
    device: str | None = None
    train_fraction: float | None = None
    data_notes: list[str] = field(default_factory=list)
    unreadable_files: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=lambda: package_versions())
    git_commit: str | None = field(default_factory=lambda: git_commit())
    created: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def finish(self, **result: Any) -> None:
        """Fill in a successful fit's results."""
        for key, value in result.items():
            setattr(self, key, value)
        self.status = "ok"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


REQUIRED_FIELDS = ("task", "source", "model", "seed", "status")


def record_path(out: Path, task: str, source: str, model: str, seed: int) -> Path:
    return Path(out) / task / source / model / f"seed-{seed}.json"


def predictions_path(record_file: Path) -> Path:
    return record_file.with_suffix(".npz")


def _atomic_write(path: Path, write: Any, suffix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)  # atomic on POSIX: readers see the old file or the new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(path: Path, record: dict[str, Any]) -> None:
    payload = json.dumps(record, indent=2, sort_keys=True, default=_jsonable).encode()
    _atomic_write(path, lambda fh: fh.write(payload), ".tmp")


def write_predictions(path: Path, **arrays: np.ndarray) -> None:
    _atomic_write(predictions_path(path), lambda fh: np.savez_compressed(fh, **arrays), ".npz.tmp")


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def read_predictions(record_file: Path) -> dict[str, np.ndarray] | None:
    path = predictions_path(Path(record_file))
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def load_records(out: Path, task: str | None = None) -> list[dict[str, Any]]:
    """Every readable record under `out`, optionally for one task, with its file path."""
    root = Path(out) / task if task else Path(out)
    records = []
    for path in sorted(root.rglob("seed-*.json")):
        record = read_record(path)
        if record and all(k in record for k in REQUIRED_FIELDS):
            record["_path"] = str(path)
            records.append(record)
    return records


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the moviebench checkout the code runs from, if it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
