"""`bench data inspect`: what a source read, kept and dropped, and what its tasks would see.

The report is built as plain data (so tests and `--format json` read it) and rendered with
rich separately. Tasks are found through the task registry: every task whose spec lists
the source is built, so tasks added later show up without touching this module. It reads
both datasets and tasks, so it sits above both (neither imports it).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from moviebench.datasets import SOURCES, load_source
from moviebench.datasets.base import CANONICAL_COLUMNS
from moviebench.errors import BenchError
from moviebench.options import DEFAULT_SPLIT_SEED
from moviebench.settings import parse_settings
from moviebench.splits import make_split
from moviebench.tasks import TASKS, TaskOptions
from moviebench.tasks.text import genre_matrix

MANY_LABELS = 20  # above this, a task's balance is summarised instead of listed in full
SHOW_PATHS = 20


def missing_values(
    table: pd.DataFrame, genres_per_film: np.ndarray | None = None
) -> dict[str, int | None]:
    """Missing cells per canonical column; None when the source has no such column.

    An empty genre list counts as missing: the film has no label for genre tasks
    (`genres_per_film`: `genre_counts`' second half, when the caller has it already).
    """
    out: dict[str, int | None] = {}
    for col in CANONICAL_COLUMNS:
        if col not in table:
            out[col] = None
        elif col == "genres":
            if genres_per_film is None:
                genres_per_film = genre_counts(table[col])[1]
            out[col] = int((genres_per_film == 0).sum())
        else:
            out[col] = int(table[col].isna().sum())
    return out


def genre_counts(genres: pd.Series) -> tuple[dict[str, int], np.ndarray]:
    """Films per genre (most first) and genres per film. Read through `genre_matrix`, which
    parses each distinct list once: a million rows share a few thousand genre lists, so this
    is not a million-list explode. A missing or malformed cell has no genre."""
    labels, y = genre_matrix(genres, dtype=np.int8)
    per_genre = y.sum(axis=0, dtype=np.int64)
    counts = {g: int(n) for g, n in zip(labels, per_genre) if n}
    return dict(Counter(counts).most_common()), y.sum(axis=1, dtype=np.int64)


def task_balances(
    source: str, table: pd.DataFrame, settings: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Each task this source serves, built with its default settings under `settings`
    (e.g. `{"min_votes": 5}`; a key a task has no setting for is not its concern). A task
    that learns its labels on training rows learns them on the default split's."""
    out = []
    for spec in TASKS:
        if not spec.serves(SOURCES.get(source)):  # named, or by its columns (mmimdb)
            continue
        entry: dict[str, Any] = {
            "task": spec.name,
            "target": spec.target.name,
            "unit": spec.target.balance_unit,
        }
        try:
            # Each task with its default settings (rare labels are not yet dropped: all show).
            known = {f.name for f in dataclasses.fields(spec.settings_type)}
            typed = parse_settings(
                spec.settings_type,
                {k: v for k, v in (settings or {}).items() if k in known},
                spec.name,
            )
            data = spec.build(table, source, TaskOptions(settings=typed))
            if spec.learn_labels is not None:
                train = make_split(data.split_key, DEFAULT_SPLIT_SEED, groups=data.split_group)
                data = spec.learn_labels(data, train.train, typed)
        except BenchError as exc:  # a task this source cannot serve as loaded: say why
            entry["error"] = str(exc)
            out.append(entry)
            continue
        entry.update(
            rows=len(data),
            notes=list(data.notes),
            balance=data.target.label_balance(data.y, data.labels),
        )
        unlabelled = data.target.unlabelled_rows(data.y)
        if unlabelled is not None:
            entry["rows_without_label"] = unlabelled
        out.append(entry)
        # Freed before the next task is built: two tasks' rows at once on a million
        # real-length films cost ~460 MB more peak memory.
        del data
    return out


def inspect_source(
    source: str, path: Path | None, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything `bench data inspect` prints, as plain data."""
    SOURCES.get(source)  # a clear error for a typo before any reading
    t0 = time.perf_counter()
    loaded = load_source(source, path)
    seconds = time.perf_counter() - t0
    table, report = loaded.table, loaded.report
    genres, per_film = genre_counts(table["genres"]) if "genres" in table else (None, None)
    return {
        "source": source,
        "path": report.path,
        "load_seconds": round(seconds, 2),
        "rows_read": report.rows_read,
        "rows_kept": report.rows_kept,
        "dropped": dict(report.dropped),
        "repaired": dict(report.repaired),
        "notes": list(report.notes),
        "columns": list(table.columns),
        "missing": missing_values(table, per_film),
        "tasks": task_balances(source, table, settings),
        "genres": genres,
        "images": dict(report.images),
        "unreadable_images": list(report.unreadable_images),
    }


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "—"


def _balance_table(entry: dict[str, Any]) -> Table:
    balance = entry["balance"]
    total = entry["rows"]
    shown = balance
    if len(balance) > MANY_LABELS:
        shown = sorted(balance, key=lambda kv: -kv[1])[:10]
    unit = entry["unit"]
    table = Table(title_justify="left", box=None, padding=(0, 2))
    table.add_column("label")
    table.add_column(unit, justify="right")
    table.add_column("share", justify="right")
    for label, n in shown:
        table.add_row(str(label), f"{n:,}", _pct(n, total))
    return table


def print_inspection(console: Console, info: dict[str, Any]) -> None:
    console.print(
        f"[bold]{info['source']}[/] from {info['path'] or '(bundled)'}  (loaded in {info['load_seconds']:.1f}s)"
    )
    for note in info["notes"]:
        console.print(f"  note: {note}")
    console.print(
        f"rows read {info['rows_read']:,}, kept {info['rows_kept']:,}, "
        f"dropped {info['rows_read'] - info['rows_kept']:,}"
    )
    for reason, n in info["dropped"].items():
        console.print(f"  dropped {n:,}: {reason}")
    for reason, n in info["repaired"].items():
        console.print(f"  repaired {n:,}: {reason}")

    kept = info["rows_kept"]
    missing = Table(title="missing values per canonical column", title_justify="left")
    for col in ("column", "missing", "share"):
        missing.add_column(col, justify="left" if col == "column" else "right")
    for col, n in info["missing"].items():
        if n is None:
            missing.add_row(col, "absent", "", style="dim")
        else:
            missing.add_row(
                col, f"{n:,}" + (" (no genre)" if col == "genres" else ""), _pct(n, kept)
            )
    console.print(missing)

    if not info["tasks"]:
        console.print("no registered task reads this source")
    for entry in info["tasks"]:
        if "error" in entry:
            console.print(
                f"[bold]{entry['task']}[/]: cannot be built on this source: {entry['error']}"
            )
            continue
        console.print(f"[bold]{entry['task']}[/] ({entry['target']}): {entry['rows']:,} rows")
        for note in entry["notes"]:
            console.print(f"  {note}")
        if "rows_without_label" in entry:
            console.print(f"  rows without any label: {entry['rows_without_label']:,}")
        if entry["balance"]:
            counts = [n for _, n in entry["balance"]]
            if len(counts) > MANY_LABELS:
                console.print(
                    f"  {len(counts)} labels; per label min {min(counts)}, median "
                    f"{int(np.median(counts))}, max {max(counts)}; the 10 largest:"
                )
            console.print(_balance_table(entry))

    if info["genres"] is not None:
        genres = Table(
            title=f"genre frequencies ({len(info['genres'])} genres)", title_justify="left"
        )
        for col in ("genre", "films", "share"):
            genres.add_column(col, justify="left" if col == "genre" else "right")
        for genre, n in info["genres"].items():
            genres.add_row(genre, f"{n:,}", _pct(n, kept))
        console.print(genres)

    if info["images"]:
        im = info["images"]
        console.print(
            f"images: {im.get('found', 0):,} found, {im.get('missing', 0):,} missing, "
            f"{im.get('unreadable', 0):,} unreadable"
        )
        for p in info["unreadable_images"][:SHOW_PATHS]:
            console.print(f"  unreadable: {p}", highlight=False)
        if len(info["unreadable_images"]) > SHOW_PATHS:
            console.print(f"  ... and {len(info['unreadable_images']) - SHOW_PATHS} more")
