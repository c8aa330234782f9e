"""Result records: one JSON file per (task, source, data, model, seed), written atomically.

The leaderboard, plots and `bench check` read only these files. Test-set scores are kept
beside each record (`.npz`) so metrics and bootstrap intervals can be recomputed without
retraining. Records live under `<out>/<task>/<source>/<data>/<model>/seed-N.json`, where
`<data>` is the start of the data fingerprint: results made on other data never overwrite
each other. A file that cannot be read is reported (`DamagedFileWarning`, path and reason)
and treated as missing, so the next run rebuilds it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import subprocess
import tempfile
import threading
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from moviebench.errors import BenchError, DamagedFileWarning

VERSIONED_PACKAGES = (
    "moviebench",
    "numpy",
    "pandas",
    "scikit-learn",
    "torch",
    "xgboost",
    "lightgbm",
    "optuna",
)


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
    executor: dict[str, Any] | None = None  # where a remote executor ran the cell (executors.py)
    train_fraction: float | None = None
    data_notes: list[str] = field(default_factory=list)
    unreadable_files: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=lambda: package_versions())
    git_commit: str | None = field(default_factory=lambda: git_commit())
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )

    def finish(self, **result: Any) -> None:
        """Fill in a successful fit's results."""
        for key, value in result.items():
            setattr(self, key, value)
        self.status = "ok"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


REQUIRED_FIELDS = ("task", "source", "model", "seed", "status")
# A finished record is drawn on a board from these: one without them is damaged.
OK_FIELDS = ("primary", "primary_metric", "metrics")
DATA_DIGITS = 8  # how much of the data fingerprint names a record's folder


def record_path(
    out: Path, task: str, source: str, model: str, seed: int, data_fingerprint: str | None = None
) -> Path:
    """Where a cell's record goes: one folder per data fingerprint, so a run on other data
    never overwrites (or sits on one board with) this one. Without a fingerprint: the
    folder layout of records written before data folders existed."""
    root = Path(out) / task / source
    if data_fingerprint:
        root = root / data_fingerprint[:DATA_DIGITS]
    return root / model / f"seed-{seed}.json"


def predictions_path(record_file: Path) -> Path:
    return record_file.with_suffix(".npz")


_UMASK_LOCK = threading.Lock()


def umask_mode(mode: int = 0o666) -> int:
    """`mode` as the user's umask leaves it: what `open()` would have created."""
    with _UMASK_LOCK:  # the umask can only be read by setting it
        umask = os.umask(0o022)
        os.umask(umask)
    return mode & ~umask


def _atomic_write(path: Path, write: Any, suffix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        # mkstemp makes the file 0600; a shared results folder needs the umask's mode, as
        # an ordinary open() would give, or colleagues see "no records".
        os.fchmod(fd, umask_mode())
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


def damaged(path: Path, reason: str) -> None:
    """Report a stored file that cannot be used; the caller then treats it as missing."""
    warnings.warn(
        f"{path}: {reason}; treated as missing (the next run rebuilds it)",
        DamagedFileWarning,
        stacklevel=3,
    )


def record_problem(record: Any) -> str | None:
    """Why a parsed record cannot be used, or None when it can."""
    if not isinstance(record, dict):
        return f"not a record (a JSON {type(record).__name__})"
    missing = [k for k in REQUIRED_FIELDS if k not in record]
    if not missing and record["status"] == "ok":
        missing = [k for k in OK_FIELDS if k not in record]
        if not missing and not isinstance(record["metrics"], dict):
            return "field 'metrics' is not a mapping"
    return f"missing field(s) {', '.join(missing)}" if missing else None


def read_record(path: Path) -> dict[str, Any] | None:
    """The record in `path`; None when there is none, or (reported) when it is damaged."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        damaged(path, f"unreadable ({exc.strerror or exc})")
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        damaged(path, f"not valid JSON ({exc.msg} at line {exc.lineno})")
        return None
    problem = record_problem(record)
    if problem:
        damaged(path, problem)
        return None
    return record


PREDICTION_ARRAYS = ("ids", "y", "scores")


def read_predictions(
    record_file: Path, report_missing: bool = True
) -> dict[str, np.ndarray] | None:
    """A record's stored test scores; None (reported) when the file is missing or damaged."""
    path = predictions_path(Path(record_file))
    if not path.exists():
        if report_missing:
            damaged(path, "no stored test scores (bootstrap ties cannot be marked)")
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        damaged(path, f"unreadable test scores ({type(exc).__name__}: {exc})")
        return None
    missing = [k for k in PREDICTION_ARRAYS if k not in arrays]
    if missing:
        damaged(path, f"test scores without {', '.join(missing)}")
        return None
    return arrays


def load_records(out: Path, task: str | None = None) -> list[dict[str, Any]]:
    """Every usable record under `out`, optionally for one task, with its file path.
    Damaged ones are reported (path and reason) and left out."""
    root = Path(out) / task if task else Path(out)
    by_cell: dict[tuple, dict[str, Any]] = {}
    for path in sorted(root.rglob("seed-*.json")):
        record = read_record(path)
        if record is None:
            continue
        record["_path"] = str(path)
        # One record per cell: a folder that also holds records of an older layout (before
        # data folders) must not count a seed twice; the most recently written one stands.
        cell = tuple(
            str(record.get(key))
            for key in (
                "task",
                "source",
                "data_fingerprint",
                "profile",
                "model",
                "seed",
                "split_hash",
            )
        )
        kept = by_cell.get(cell)
        if kept is None or str(record.get("created", "")) >= str(kept.get("created", "")):
            by_cell[cell] = record
    return list(by_cell.values())


def ensure_writable(out: Path) -> None:
    """Fail before any data is loaded when results could not be written under `out`. A
    folder that does not exist yet is not created here (a refused run leaves nothing)."""
    out = Path(out)
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        where = "is a file" if existing == out else f"is under {existing}, a file"
        raise BenchError(f"--out {out}: {where}, not a folder")
    try:
        if existing == out:
            with tempfile.TemporaryFile(dir=out):
                pass
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(13, f"{existing} is not writable")
    except OSError as exc:
        raise BenchError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


STALE_TEMP_SECONDS = 600.0  # a write takes well under a second; older temp files are debris


def clean_stale_temp(root: Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the temp files an interrupted atomic write left (`.seed-0.json.XXXX.tmp`).

    Only files older than `older_than` seconds go: a run writing into the same folder at
    this moment keeps its own."""
    removed = []
    now = time.time()
    for tmp in Path(root).rglob(".*.tmp") if Path(root).is_dir() else []:
        try:
            if now - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


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
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
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
