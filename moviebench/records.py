"""Result records: one JSON file per (task, source, data, model, seed), written atomically.

The leaderboard, plots and `bench check` read only these files. Test-set scores are kept
beside each record (`.npz`) so metrics and bootstrap intervals can be recomputed without
retraining. Records live under `<out>/<task>/<source>/<data>/<model>/seed-N.json`, where
`<data>` is the start of the data fingerprint: results made on other data never overwrite
each other (another profile or split seed adds a `profile-<name>/` or `split-<n>/` folder
under `<model>/`, see `record_path`). Records are typed on read as well as on write: `Record.from_dict` checks every
field's type, so readers use attributes, never string keys. A file that cannot be read or
typed is reported (`DamagedFileWarning`, path and reason) and treated as missing, so the
next run rebuilds it.

Each record says which layout it was written in (`schema_version`); a file without one is
of the first layout and is read by the shims in `Record.from_dict` alone.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time
import types
import typing
import warnings
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from moviebench.errors import BenchError, DamagedFileWarning
from moviebench.options import DEFAULT_SPLIT_SEED

VERSIONED_PACKAGES = (
    "moviebench",
    "numpy",
    "pandas",
    "scikit-learn",
    "torch",
    "xgboost",
    "lightgbm",
    "optuna",
    "catboost",
    "pytabkit",
)

# 1: the first layout, which carried no version. 2: `schema_version` and `groups`.
SCHEMA_VERSION = 2


class RecordError(ValueError):
    """A parsed record that cannot be typed: a missing field or a value of the wrong type."""


@dataclass
class Record:
    """One cell's result and everything that made it. Written as JSON; the leaderboard, plots
    and `bench check` read only these files, typed by `Record.from_dict`.

    `path` and `reused` say where a reader found the record and why a run took it from
    another run; they are not written. Keys this version does not know are kept in `extra`
    and written back, so an older moviebench never drops a newer one's fields."""

    task: str
    source: str
    model: str
    seed: int
    family: str
    target: str
    primary_metric: str
    split_hash: str
    data_fingerprint: str
    n_train: int | None  # None only in a trimmed record (a baseline bundle) that lacks it
    n_val: int | None
    n_test: int | None
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
    stopped_by: str | None = None  # what ended a network's training (loop.STOPPED_BY)
    capped: str | None = None  # the declared cap that bound ("2,940 steps"), None where none did
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
    # The task's groups of rungs to compare (TaskSpec.compare), in its order, so a board needs
    # no registry: [{"name": "fusion", "models": [...]}, {"name": "single modality", ...}].
    groups: list[dict[str, Any]] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept as they were
    path: Path | None = field(default=None, compare=False)  # the file it was read from
    reused: str | None = field(default=None, compare=False)  # why a run took another's record

    def finish(self, **result: Any) -> None:
        """Fill in a successful fit's results."""
        for key, value in result.items():
            setattr(self, key, value)
        self.status = "ok"

    def to_dict(self, copy_values: bool = True) -> dict[str, Any]:
        """The record as it is written: every field but `path`, `reused` and `extra`, over
        the unknown keys `extra` kept. `copy_values=False` shares the values (for reading
        only: hashing a record whose details hold an 800 x 800 confusion matrix)."""
        same = copy.deepcopy if copy_values else (lambda value: value)
        written = {
            f.name: same(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in NOT_WRITTEN
        }
        return {**same(self.extra), **written}

    @classmethod
    def from_dict(cls, data: Any) -> Record:
        """A record typed from its parsed JSON; `RecordError` says which field is missing or
        of the wrong type. Unknown keys go to `extra`. The fields a trimmed record (a baseline
        bundle) or a record of the first layout may lack get the values its readers assumed:
        profile "quick", family "?", params source "defaults", no comparison groups."""
        if not isinstance(data, dict):
            raise RecordError(f"not a record (a JSON {type(data).__name__})")
        missing = [k for k in REQUIRED_FIELDS if k not in data]
        if not missing and data["status"] == "ok":
            missing = [k for k in OK_FIELDS if k not in data]
        if missing:
            raise RecordError(f"missing field(s) {', '.join(missing)}")
        values = dict(data)
        if "schema_version" not in values:  # the first layout: the shims live here alone
            values["schema_version"] = 1
            if values.get("profile") is None:  # written before training profiles existed
                values["profile"] = "quick"
        hints = _field_types()
        known = {k: v for k, v in values.items() if k in hints and k not in NOT_WRITTEN}
        for name, value in known.items():
            if not _has_type(value, hints[name]):
                raise RecordError(
                    f"field '{name}' is {_describe(value)}, not {_type_name(hints[name])}"
                )
        for metric, value in known.get("metrics", {}).items():
            if not _is_number(value):
                raise RecordError(f"metric '{metric}' is {_describe(value)}, not a number")
        for group in known.get("groups", []):
            if not (
                isinstance(group, dict)
                and isinstance(group.get("name"), str)
                and isinstance(group.get("models"), list)
            ):
                raise RecordError(f"a group is {_describe(group)}, not {{name, models}}")
        extra = {k: v for k, v in values.items() if k not in known}
        fallback = {k: copy.deepcopy(v) for k, v in TRIMMED_DEFAULTS.items() if k not in known}
        return cls(**fallback, **known, extra=extra)


NOT_WRITTEN = ("path", "reused", "extra")
REQUIRED_FIELDS = ("task", "source", "model", "seed", "status")
# A finished record is drawn on a board from these: one without them is damaged.
OK_FIELDS = ("primary", "primary_metric", "metrics")
# What the fields without a default read as when a record lacks them: a baseline bundle
# keeps only some fields, and the first layout's readers assumed these.
TRIMMED_DEFAULTS: dict[str, Any] = {
    "family": "?",
    "target": "",
    "primary_metric": "",
    "split_hash": "",
    "data_fingerprint": "",
    "n_train": None,
    "n_val": None,
    "n_test": None,
    "labels": [],
    "settings": {},
    "options": {},
    "params": {},
    "params_source": "defaults",
    "identity": {},
    # Provenance a reader must not invent: not this machine's versions, commit or clock.
    "versions": {},
    "git_commit": None,
    "created": "",
}


@functools.cache
def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(Record)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _has_type(value: Any, hint: Any) -> bool:
    """Whether a parsed JSON value fits a field's type: containers by their outer type, a
    float field takes any number, an int field no bool."""
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_has_type(value, arg) for arg in typing.get_args(hint))
    if hint is float:
        return _is_number(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typing.get_origin(hint) or hint)


def _type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str)
    return f"{text if len(text) <= 40 else text[:39] + '…'} (a JSON {type(value).__name__})"


DATA_DIGITS = 8  # how much of the data fingerprint names a record's folder


def record_path(
    out: Path,
    task: str,
    source: str,
    model: str,
    seed: int,
    data_fingerprint: str | None = None,
    *,
    train_fraction: float | None = None,
    profile: str = "quick",
    split_seed: int = DEFAULT_SPLIT_SEED,
) -> Path:
    """Where a cell's record goes: one folder per data fingerprint, so a run on other data
    never overwrites (or sits on one board with) this one. Without a fingerprint: the
    folder layout of records written before data folders existed.

    A `bench scale` point (`train_fraction`) goes under `<out>/scaling/`, named so no
    leaderboard reads it; a profile other than "quick" gets a `profile-<name>` folder beside
    the quick records, so a full run never overwrites a quick one; a split seed other than
    the default gets a `split-<n>` folder (inside the profile's), so runs at two split seeds
    live side by side. The default profile and split keep the layout they always had."""
    root = Path(out) / "scaling" if train_fraction is not None else Path(out)
    root = root / task / source
    if data_fingerprint:
        root = root / data_fingerprint[:DATA_DIGITS]
    root = root / model
    if profile != "quick":
        root = root / f"profile-{profile}"
    if split_seed != DEFAULT_SPLIT_SEED:
        root = root / f"split-{split_seed}"
    name = (
        f"seed-{seed}.json"
        if train_fraction is None
        else f"frac-{train_fraction:g}-seed-{seed}.json"
    )
    return root / name


def split_seed_of(record: Record) -> int:
    """The split seed a record was made at (its run options); a record that does not say
    (the first layouts, a trimmed baseline entry) was made at the default split."""
    seed = record.options.get("split_seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else DEFAULT_SPLIT_SEED


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


def write_record(path: Path, record: Record | dict[str, Any]) -> None:
    """Write a record (or its dict) as sorted, indented JSON, atomically."""
    payload = record.to_dict() if isinstance(record, Record) else record
    text = json.dumps(payload, indent=2, sort_keys=True, default=jsonable).encode()
    _atomic_write(path, lambda fh: fh.write(text), ".tmp")


def write_predictions(path: Path, **arrays: np.ndarray) -> None:
    _atomic_write(predictions_path(path), lambda fh: np.savez_compressed(fh, **arrays), ".npz.tmp")


def damaged(
    path: Path, reason: str, consequence: str = "treated as missing (the next run rebuilds it)"
) -> None:
    """Report a stored file that cannot be used; the caller then treats it as missing."""
    warnings.warn(f"{path}: {reason}; {consequence}", DamagedFileWarning, stacklevel=3)


def read_record(path: Path) -> Record | None:
    """The record in `path`, typed and with its `path`; None when there is none, or
    (reported) when it is damaged: unreadable, not UTF-8, not JSON, or not a record."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        damaged(path, f"unreadable ({exc.strerror or exc})")
        return None
    except UnicodeDecodeError as exc:
        damaged(path, f"not UTF-8 text (byte {exc.start})")
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        damaged(path, f"not valid JSON ({exc.msg} at line {exc.lineno})")
        return None
    try:
        record = Record.from_dict(data)
    except RecordError as exc:
        damaged(path, str(exc))
        return None
    record.path = path
    return record


PREDICTION_ARRAYS = ("ids", "y", "scores")


def read_predictions(
    record_file: Path, report_missing: bool = True, members: tuple[str, ...] | None = None
) -> dict[str, np.ndarray] | None:
    """A record's stored test scores (all arrays, or only `members`: each `.npz` member is
    decompressed on its own); None (reported) when the file is missing or damaged."""
    path = predictions_path(Path(record_file))
    if not path.exists():
        if report_missing:
            damaged(path, "no stored test scores (bootstrap ties cannot be marked)")
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in PREDICTION_ARRAYS if k not in npz.files]
            if missing:
                damaged(path, f"test scores without {', '.join(missing)}")
                return None
            return {k: npz[k] for k in (npz.files if members is None else members)}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        damaged(path, f"unreadable test scores ({type(exc).__name__}: {exc})")
        return None


def read_prediction_ids(record_file: Path) -> np.ndarray | None:
    """Only the test ids of a record's stored scores (the scores stay compressed)."""
    arrays = read_predictions(record_file, members=("ids",))
    return None if arrays is None else arrays["ids"]


def predictions_digest(record_file: Path) -> str | None:
    """sha256 of a record's stored-scores file as bytes; None when it cannot be read."""
    try:
        return hashlib.sha256(predictions_path(Path(record_file)).read_bytes()).hexdigest()
    except OSError:
        return None


def bootstrap_cache_path(record_file: Path) -> Path:
    """Where a record's cached bootstrap values live: beside it (`seed-0.boot.npz`)."""
    return Path(record_file).with_suffix(".boot.npz")


def _checksum(key: str, values: np.ndarray) -> str:
    return hashlib.sha256(key.encode() + np.ascontiguousarray(values).tobytes()).hexdigest()


def read_bootstrap_cache(record_file: Path, key: str, resamples: int) -> np.ndarray | None:
    """The cached bootstrap values of a record when they were computed from the inputs `key`
    names; None when there are none or they are stale (other inputs: recomputed silently),
    or (reported) when the file is damaged: unreadable, truncated, or its values no longer
    match their checksum. The cache only saves time, so it is never a reason to fail."""
    path = bootstrap_cache_path(record_file)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if "checksum" not in stored.files:
                return None  # written before caches had checksums: stale, not damaged
            stored_key, values = str(stored["key"]), stored["values"]
            checksum = str(stored["checksum"])
    except Exception as exc:  # noqa: BLE001 - any unreadable cache is recomputed
        damaged(path, f"unreadable bootstrap cache ({type(exc).__name__}: {exc})", "recomputed")
        return None
    if checksum != _checksum(stored_key, values):
        damaged(path, "bootstrap cache does not match its checksum", "recomputed")
        return None
    if stored_key != key or values.shape != (resamples,):
        return None
    return values


def write_bootstrap_cache(record_file: Path, key: str, values: np.ndarray) -> None:
    """Keep a record's bootstrap values with the key of their inputs and their checksum."""
    values = np.asarray(values, dtype=float)
    arrays = {"key": np.array(key), "values": values, "checksum": np.array(_checksum(key, values))}
    try:
        _atomic_write(
            bootstrap_cache_path(record_file), lambda fh: np.savez(fh, **arrays), ".boot.tmp"
        )
    except OSError:
        pass  # a read-only results folder still renders, only slower


def load_records(out: Path, task: str | None = None) -> list[Record]:
    """Every usable record under `out`, optionally for one task, each with its `path`.
    Damaged ones are reported (path and reason) and left out."""
    root = Path(out) / task if task else Path(out)
    by_cell: dict[tuple, Record] = {}
    for path in sorted(root.rglob("seed-*.json")):
        record = read_record(path)
        if record is None:
            continue
        # One record per cell: a folder that also holds records of an older layout (before
        # data folders) must not count a seed twice; the most recently written one stands.
        r = record
        cell = (r.task, r.source, r.data_fingerprint, r.profile, r.model, r.seed, r.split_hash)
        kept = by_cell.get(cell)
        if kept is None or record.created >= kept.created:
            by_cell[cell] = record
    return list(by_cell.values())


def ensure_writable(out: Path) -> None:
    """Fail before any data is loaded when results could not be written under `out`. A
    folder that does not exist yet is not created here (a refused run leaves nothing)."""
    out = Path(out)
    # A name longer than the file system allows (ENAMETOOLONG) fails here, not after training.
    limit = _name_max(out)
    too_long = next((part for part in out.parts if len(os.fsencode(part)) > limit), None)
    if too_long is not None:
        raise BenchError(
            f"--out {str(out)[:80]}...: a folder name of {len(too_long)} characters is longer "
            f"than this file system allows ({limit})"
        )
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


def _name_max(path: Path) -> int:
    """The longest file name the file system under `path` takes (255 where it cannot say)."""
    for folder in (path, *path.parents):
        try:
            return os.pathconf(folder, "PC_NAME_MAX")
        except (OSError, ValueError):
            continue
    return 255


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


def as_json(value: Any) -> Any:
    """`value` as it reads back from a record file (numpy numbers and arrays, tuples and
    paths as JSON has them), so identities compare like for like."""
    return json.loads(json.dumps(value, sort_keys=True, default=jsonable))


def jsonable(value: Any) -> Any:
    """How a value JSON cannot hold is written (`json.dumps(default=jsonable)`)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple)):
        return list(value)
    return str(value)  # a Path, an enum member: what it says
