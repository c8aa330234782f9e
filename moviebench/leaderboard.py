"""Leaderboards rendered from stored records alone: one row per model, mean +- std over seeds.

Everything a board shows comes from its records (`records.Record`), including the groups of
rungs its task compares (`Record.groups`): no registry is read. Bootstrap draws are cached
beside each record (`seed-0.boot.npz`, see `cached_bootstrap`) and recomputed when missing,
stale or damaged.

This module aggregates records into boards (`aggregate`); by concern, the rows are
`board_rows.py`, the statistics (bootstrap, ties, intervals, gaps) `board_stats.py` and the
renderings (columns, markdown, CSV, JSON, headline) `board_render.py`. Every public name of
those is importable from here too.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from moviebench.board_render import (
    COLUMNS,
    HEADLINE_HEADER,
    SECONDARY_SHOWN,
    SPLITS_NOTE,
    _finite,
    _fmt,
    _fmt_params,
    all_columns,
    caveats,
    default_columns,
    failures,
    gap_cell,
    gap_lines,
    headline_markdown,
    headline_rows,
    md_escape,
    pick_columns,
    row_label,
    secondary_metrics,
    table_rows,
    to_csv,
    to_json,
    to_markdown,
)
from moviebench.board_rows import (
    _MARKS,
    Board,
    BoardRow,
    Gap,
    board_ranks,
    per_1k_rows,
    record_key,
    row_key,
    scored,
)
from moviebench.board_stats import (
    BOOTSTRAP_RESAMPLES,
    HEADLINE_FAMILIES,
    Interval,
    best_of_family,
    bootstrap_by_model,
    bootstrap_inputs,
    bootstrap_metric,
    bootstrap_split,
    cached_bootstrap,
    declared_groups,
    mark_deep_gap,
    mark_group_gaps,
    mark_ties,
    pair_interval,
    paired_diff,
    split_interval,
    test_train_ratio,
)
from moviebench.metrics import higher_is_better
from moviebench.options import DEFAULT_SPLIT_SEED
from moviebench.records import (
    Record,
    split_of,
    split_seed_of,
    variant_of,
)

__all__ = [
    "aggregate",
    "aggregate_with_draws",
    "board_key",
    "board_keys",
    "Draws",
    "render",
    "Gap",
    "BoardRow",
    "_MARKS",
    "row_key",
    "record_key",
    "Board",
    "board_ranks",
    "BOOTSTRAP_RESAMPLES",
    "bootstrap_metric",
    "bootstrap_inputs",
    "cached_bootstrap",
    "bootstrap_by_model",
    "bootstrap_split",
    "test_train_ratio",
    "split_interval",
    "paired_diff",
    "pair_interval",
    "mark_ties",
    "declared_groups",
    "mark_group_gaps",
    "HEADLINE_FAMILIES",
    "best_of_family",
    "mark_deep_gap",
    "Interval",
    "COLUMNS",
    "SECONDARY_SHOWN",
    "secondary_metrics",
    "all_columns",
    "default_columns",
    "pick_columns",
    "row_label",
    "table_rows",
    "caveats",
    "failures",
    "md_escape",
    "to_markdown",
    "SPLITS_NOTE",
    "to_csv",
    "to_json",
    "_finite",
    "_fmt",
    "_fmt_params",
    "HEADLINE_HEADER",
    "gap_cell",
    "headline_rows",
    "headline_markdown",
    "gap_lines",
]


def board_keys(records: list[Record], across_splits: bool = False) -> list[tuple[str, str]]:
    """Each record's board: `board_key` (task, source, profile and split seed), plus "@ data
    1a2b3c4d" when records of one such board were made on different data, so a board never
    mixes data, profiles or splits."""
    fingerprints: dict[tuple[str, str], set] = defaultdict(set)
    for r in records:
        fingerprints[board_key(r, across_splits)].add(r.data_fingerprint)
    keys = []
    for r in records:
        task, source = board_key(r, across_splits)
        if len(fingerprints[(task, source)]) > 1:
            source = f"{source} @ data {r.data_fingerprint[:8]}"
        keys.append((task, source))
    return keys


def board_key(record: Record, across_splits: bool = False) -> tuple[str, str]:
    """The board a record belongs to: its task and source, and its training profile and split
    seed unless they are the default ones. Profiles never share a board (their networks
    trained to different budgets), nor do split seeds (they score other test rows), unless
    `across_splits` folds every split seed of a task into one board (mean ± std across
    splits)."""
    profile = record.profile
    source = record.source if profile == "quick" else f"{record.source} (profile {profile})"
    split_seed = split_seed_of(record)
    if split_of(record) != "hash":  # the source's own split: never on a hash split's board
        source = f"{source} (split {split_of(record)})"
    elif split_seed != DEFAULT_SPLIT_SEED and not across_splits:
        source = f"{source} (split seed {split_seed})"
    return record.task, source


def aggregate(records: list[Record], across_splits: bool = False) -> Board:
    """Group records by board (task, source and data, see `board_keys`), then by model; one
    row per model, best first. `across_splits` folds a task's split seeds into one board."""
    return aggregate_with_draws(records, across_splits)[0]


Draws = dict[tuple[str, str], dict[str, np.ndarray]]


def aggregate_with_draws(records: list[Record], across_splits: bool = False) -> tuple[Board, Draws]:
    """`aggregate`, and each board's paired bootstrap draws by model (`bootstrap_by_model`):
    what its ties and gaps were measured on, for summaries across boards to resample. On a
    board folded across split seeds the draws are those of one split (`bootstrap_split`)."""
    keys = board_keys(records, across_splits)
    groups: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for key, r in zip(keys, records):
        groups[(*key, record_key(r))].append(r)
    boards: Board = defaultdict(list)
    for (task, source, _), recs in groups.items():
        boards[(task, source)].append(_row(recs[0].model, recs, across_splits))
    for rows in boards.values():
        primary = rows[0].primary_metric
        sign = 1 if higher_is_better(primary) else -1
        rows.sort(
            key=lambda r: (r.primary is None, -sign * (r.primary if r.primary is not None else 0))
        )
        baseline = next((r for r in rows if r.family == "trivial" and r.primary is not None), None)
        for r in rows:
            r.vs_baseline = (
                None if baseline is None or r.primary is None else r.primary - baseline.primary
            )
    by_board: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for key, r in zip(keys, records):
        by_board[key].append(r)
    draws: Draws = {}
    for key, rows in boards.items():
        recs = by_board[key]
        split = bootstrap_split(recs)
        per_model = draws[key] = bootstrap_by_model(
            rows, [r for r in recs if split_seed_of(r) == split]
        )
        interval = pair_interval(per_model, test_train_ratio(recs))
        mark_ties(rows, per_model, interval)
        mark_group_gaps(rows, per_model, declared_groups(recs), interval)
        mark_deep_gap(rows, per_model, interval)
    order = sorted(boards)
    return {k: boards[k] for k in order}, {k: draws[k] for k in order}


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _row(model: str, recs: list[Record], across_splits: bool = False) -> BoardRow:
    # A primary metric that is not a number never ranks, never wins: such a record is
    # shown as failed, never averaged in.
    ok = [r for r in recs if r.status == "ok" and scored(r.primary)]
    unscored = [r for r in recs if r.status == "ok" and not scored(r.primary)]
    first = recs[0]
    metric_names = list(ok[0].metrics) if ok else []
    primary = [r.primary for r in ok]
    split_primary: dict[int, float] = {}
    if across_splits:
        by_split: dict[int, list[float]] = defaultdict(list)
        for r in ok:
            by_split[split_seed_of(r)].append(r.primary)
        split_primary = {k: float(np.mean(v)) for k, v in sorted(by_split.items())}
    if len(split_primary) > 1:
        # mean of the splits' means, and their sample std: the split's variance, not the seed's
        primary = list(split_primary.values())
        primary_std = float(np.std(primary, ddof=1))
    else:
        primary_std = float(np.std(primary)) if len(primary) > 1 else 0.0 if primary else None
    if split_primary:
        first = next((r for r in recs if split_seed_of(r) == DEFAULT_SPLIT_SEED), first)
    return BoardRow(
        task=first.task,
        source=first.source,
        model=model,
        family=first.family,
        pretrained_weights=first.pretrained_weights,
        primary_metric=first.primary_metric,
        primary=_mean(primary),
        primary_std=primary_std,
        n_seeds=len(ok),
        seeds=sorted(r.seed for r in ok),
        metrics={m: _mean([r.metrics.get(m) for r in ok]) for m in metric_names},
        fit_seconds=_mean([r.fit_seconds for r in ok]),
        fit_seconds_per_1k=_mean([per_1k_rows(r.fit_seconds, r.n_train) for r in ok]),
        predict_seconds=_mean([r.predict_seconds for r in ok]),
        peak_memory_mb=_mean([r.peak_memory_mb for r in ok]),
        n_params=ok[0].n_params if ok else None,
        params_source=ok[0].params_source if ok else None,
        profile=first.profile,
        epochs=_mean([r.epochs_done for r in ok]),
        truncated=any(r.truncated for r in ok),
        capped=next((r.capped for r in ok if r.capped), None),
        status="ok" if ok else "failed" if unscored else first.status,
        error=None
        if ok
        else f"{first.primary_metric} is {unscored[0].primary}"
        if unscored
        else first.error,
        split_hash=first.split_hash,
        origin="external"
        if first.family == "external"
        else "plugin"
        if "model_code" in first.identity
        else "moviebench",
        split_primary=split_primary if len(split_primary) > 1 else {},
        variant=variant_of(first),
    )


def render(records: list[Record], fmt: str) -> str:
    boards = aggregate(records)
    return {"md": to_markdown, "csv": to_csv, "json": to_json}[fmt](boards)
