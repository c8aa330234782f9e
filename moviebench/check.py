"""`bench check`: compare current records with a baseline and fail on regressions.

Entries are matched like with like: the same task, source, model, split hash, profile, data
version (fingerprint) and params (their source, and the params themselves where the baseline
keeps them), and compared on the primary metric, averaged over the seeds each side has. Two
data versions in one folder are two entries, never averaged into a number no run produced. A drop beyond the tolerance is a regression; a baseline
entry with no current counterpart (or one that did not finish) is flagged as missing. Both
make the check fail. Entries only the current side has are listed as new and do not fail.

A baseline directory holds either ordinary record trees (`<task>/<source>/<model>/seed-N.json`,
e.g. an older results folder) or `*.json` bundles written by `bench check --update`: one list of
trimmed records per file. Bundles keep the committed baseline out of `load_records`, so a
baseline stored under `results/` never shows up in a leaderboard.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moviebench.errors import BenchError
from moviebench.metrics import higher_is_better
from moviebench.records import Record, RecordError, load_records

# task, source, model, split hash, profile, data fingerprint, params source, params (JSON)
Key = tuple[str, str, str, str, str, str, str, str]
BUNDLE_FIELDS = (
    "params",
    "task",
    "source",
    "model",
    "seed",
    "family",
    "target",
    "primary_metric",
    "primary",
    "metrics",
    "split_hash",
    "data_fingerprint",
    "n_train",
    "n_val",
    "n_test",
    "status",
    "params_source",
    "profile",
    "budget",
    "threads",
    "device",
    "truncated",
    "epochs_done",
    "versions",
    "git_commit",
    "created",
    "schema_version",
)


@dataclass
class Finding:
    kind: str  # ok, regression, missing, new, improved, truncated
    key: Key
    metric: str
    baseline: float | None
    current: float | None
    message: str
    absent: bool = False  # missing because no current record exists at all (not a failed run)

    @property
    def fails(self) -> bool:
        return self.kind in ("regression", "missing", "truncated")


def load_baseline(path: Path) -> list[Record]:
    """Records from a baseline folder: record trees and/or `*.json` bundles, each bundle entry
    typed by `Record.from_dict` (a bundle entry that cannot be typed is an error)."""
    path = Path(path)
    if not path.is_dir():
        raise BenchError(f"--baseline {path}: no such folder")
    records = load_records(path)
    for bundle in sorted(path.glob("*.json")):
        try:
            items = json.loads(bundle.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BenchError(f"baseline bundle {bundle}: unreadable: {exc}") from None
        if not isinstance(items, list):
            raise BenchError(f"baseline bundle {bundle}: expected a JSON list of records")
        for i, item in enumerate(items):
            try:
                records.append(Record.from_dict(item))
            except RecordError as exc:
                raise BenchError(f"baseline bundle {bundle}: entry {i}: {exc}") from None
    if not records:
        raise BenchError(
            f"--baseline {path}: no records found (run `bench check --update` to make one)"
        )
    return records


def entry_key(r: Record) -> Key:
    """What makes two records the same entry (a bundle written before params were kept
    holds only their source: its params part is empty)."""
    params = json.dumps(r.params, sort_keys=True, default=str) if r.params else ""
    return (
        r.task,
        r.source,
        r.model,
        r.split_hash or "?",
        r.profile,
        r.data_fingerprint or "",
        r.params_source,
        params,
    )


def matches(base: Key, current: Key) -> bool:
    """Whether a current record is the baseline entry's like: everything equal, where the
    baseline entry records it (an entry without a fingerprint or params matches any)."""
    return (
        base[:5] == current[:5]
        and base[6] == current[6]
        and base[5] in ("", current[5])
        and base[7] in ("", current[7])
    )


def _summary(recs: list[Record]) -> dict[str, Any]:
    """The primary metric's mean over finished seeds (None when none finished)."""
    ok = [r for r in recs if r.status == "ok" and r.primary is not None]
    return {
        "metric": recs[0].primary_metric or "?",
        "primary": float(np.mean([r.primary for r in ok])) if ok else None,
        "seeds": sorted(r.seed for r in ok),
        "status": "ok" if ok else recs[0].status,
        "error": None if ok else recs[0].error,
        "truncated": any(r.truncated for r in ok),
    }


def summarise(records: list[Record]) -> dict[Key, dict[str, Any]]:
    """Per entry (`entry_key`): the primary metric's mean over finished seeds."""
    groups: dict[Key, list[Record]] = defaultdict(list)
    for r in records:
        groups[entry_key(r)].append(r)
    return {key: _summary(recs) for key, recs in groups.items()}


def _unlike(base: Key, current: list[Key]) -> str:
    """Why no current record matches a baseline entry: the first thing the nearest differ in."""
    same = [k for k in current if k[:3] == base[:3]]
    if not same:
        return ""
    for i, what in (
        (3, "split"),
        (4, "profile"),
        (5, "data version"),
        (6, "params source"),
        (7, "params"),
    ):
        if base[i] and all(k[i] != base[i] for k in same):
            shown = sorted({k[i] for k in same})
            return f"; current records use {what} {', '.join(shown)} (the baseline's: {base[i]})"
    return ""


def truncated_records(records: list[Record]) -> list[Record]:
    """Finished records whose training an explicit --time-budget cut short."""
    return [r for r in records if r.status == "ok" and r.truncated]


def compare(
    baseline: list[Record],
    current: list[Record],
    tolerance: float = 0.01,
    present_only: bool = False,
) -> list[Finding]:
    """The findings of each baseline entry against the current records (and the current
    entries the baseline lacks). `present_only` leaves out the baseline entries that have
    no current record at all: a check of one run against a baseline that covers several."""
    if not tolerance >= 0:
        raise BenchError(f"--tolerance {tolerance}: must be 0 or more (it is the allowed drop)")
    base = summarise(baseline)
    by_key: dict[Key, list[Record]] = defaultdict(list)
    for r in current:
        by_key[entry_key(r)].append(r)
    matched: set[Key] = set()
    findings = []
    for key, b in sorted(base.items()):
        metric = b["metric"]
        like = [k for k in by_key if matches(key, k)]
        matched.update(like)
        if b["primary"] is None:
            continue  # a baseline entry that never finished sets no bar
        c = _summary([r for k in like for r in by_key[k]]) if like else None
        name = (
            "/".join(key[:3])
            + f" (split {key[3]}"
            + ("" if key[4] == "quick" else f", profile {key[4]}")
            + ")"
        )
        if c is None and present_only:
            continue
        if c is None or c["primary"] is None:
            if c is None:
                why = f"no current record{_unlike(key, list(by_key))}"
            else:
                why = f"current run {c['status']}: {c['error']}"
            findings.append(
                Finding(
                    "missing", key, metric, b["primary"], None, f"{name}: {why}", absent=c is None
                )
            )
            continue
        if c["truncated"] or b["truncated"]:
            side = "current record" if c["truncated"] else "baseline entry"
            findings.append(
                Finding(
                    "truncated",
                    key,
                    metric,
                    b["primary"],
                    c["primary"],
                    f"{name}: the {side} was cut short by --time-budget; rerun without it",
                )
            )
            continue
        if not np.isfinite(
            c["primary"]
        ):  # a NaN or infinite score is broken, never "within tolerance"
            findings.append(
                Finding(
                    "regression",
                    key,
                    metric,
                    b["primary"],
                    c["primary"],
                    f"{name}: {metric} {b['primary']:.4f} -> {c['primary']} (not a finite number)",
                )
            )
            continue
        # Positive delta = better, whichever way the metric points.
        delta = (c["primary"] - b["primary"]) * (1 if higher_is_better(metric) else -1)
        text = f"{name}: {metric} {b['primary']:.4f} -> {c['primary']:.4f} ({delta:+.4f}, tolerance {tolerance})"
        kind = "regression" if delta < -tolerance else "improved" if delta > tolerance else "ok"
        findings.append(Finding(kind, key, metric, b["primary"], c["primary"], text))
    tasks = {k[0] for k in base}
    for key, recs in sorted(by_key.items()):
        c = _summary(recs)
        if key not in matched and key[0] in tasks:
            findings.append(
                Finding(
                    "new",
                    key,
                    c["metric"],
                    None,
                    c["primary"],
                    "/".join(key[:3]) + f" (split {key[3]}): not in the baseline",
                )
            )
    return findings


def save_baseline(records: list[Record], path: Path, name: str = "baseline") -> Path:
    """Write trimmed records as one bundle `path/<name>.json` (what the repository keeps).

    A record cut short by --time-budget is refused: its score depends on the machine's speed."""
    cut = truncated_records(records)
    if cut:
        names = ", ".join(sorted({f"{r.task}/{r.source}/{r.model}" for r in cut}))
        raise BenchError(
            f"refusing to save a baseline with truncated records ({names}): --time-budget cut their "
            "training short; rerun them without --time-budget"
        )
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    written = [r.to_dict() for r in records]
    trimmed = [{k: r[k] for k in BUNDLE_FIELDS if k in r} for r in written]
    trimmed.sort(key=lambda r: (r["task"], r["source"], r["model"], r.get("seed", 0)))
    target = path / f"{name}.json"
    target.write_text(json.dumps(trimmed, indent=1, sort_keys=True) + "\n")
    return target


def absent_note(findings: list[Finding], out: Path | str) -> str | None:
    """One line for the baseline entries that have no record at all in `out`: a baseline
    covers more than one run, so say how to produce them or to check only what is there."""
    absent = [f for f in findings if f.absent]
    if not absent:
        return None
    n = sum(1 for f in findings if f.kind != "new")
    return (
        f"{len(absent)} of {n} baseline entries have no record in {out}; run "
        f"`results/board.sh baseline {out}` to produce them, or check only what is present "
        "with --present-only"
    )
