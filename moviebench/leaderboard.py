"""Leaderboards rendered from stored records alone: one row per model, mean +- std over seeds.

Everything a board shows comes from its records (`records.Record`), including the groups of
rungs its task compares (`Record.groups`): no registry is read. Bootstrap draws are cached
beside each record (`seed-0.boot.npz`, see `cached_bootstrap`) and recomputed when missing,
stale or damaged.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from moviebench.errors import UnknownNameError
from moviebench.metrics import get_metric, higher_is_better
from moviebench.options import DEFAULT_SPLIT_SEED
from moviebench.records import (
    Record,
    jsonable,
    predictions_digest,
    read_bootstrap_cache,
    read_prediction_ids,
    read_predictions,
    split_seed_of,
    write_bootstrap_cache,
)
from moviebench.targets import target_kind


@dataclass
class Gap:
    """A row's difference in the primary metric to another row (`vs`), with the paired
    bootstrap 95% interval (`ci`) when both have stored test scores. A declared comparison
    (`BoardRow.gap`) also names its two groups."""

    vs: str
    diff: float
    ci: list[float] | None = None
    group: str | None = None
    vs_group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"group": self.group, "vs_group": self.vs_group, "vs": self.vs, "diff": self.diff}
        out = {k: v for k, v in out.items() if v is not None}
        return out if self.ci is None else {**out, "ci": list(self.ci)}


@dataclass
class BoardRow:
    """One model's row on one board: its seeds' finished records, averaged."""

    task: str
    source: str
    model: str
    family: str
    pretrained_weights: bool
    primary_metric: str
    primary: float | None  # mean over finished seeds
    primary_std: float | None
    n_seeds: int
    seeds: list[int]
    metrics: dict[str, float | None]
    fit_seconds: float | None
    predict_seconds: float | None
    peak_memory_mb: float | None
    n_params: int | None
    params_source: str | None
    profile: str
    epochs: float | None
    truncated: bool
    status: str  # "ok" when a seed finished, else the first record's status
    error: str | None
    split_hash: str
    vs_baseline: float | None = None  # gain over the trivial baseline
    diff_ci: list[float] | None = (
        None  # paired bootstrap interval of the difference to its rank group's leader
    )
    tie: bool | None = None  # that interval includes 0 (None: not measured)
    gap: Gap | None = None  # the task's declared comparison (Record.groups), on the best row
    origin: str = "moviebench"  # "plugin": a model from outside the package (its code is
    # in the record's identity, plugins.code_identity)
    deep_gap: Gap | None = None  # best deep minus best classical, on the best deep row
    capped: str | None = None  # the declared cap that bound on some seed (Record.capped)
    pretrained_gap: Gap | None = None  # best pretrained minus best classical, on its best row
    # Folded across split seeds (`aggregate(across_splits=True)`): the mean over model seeds
    # at each split seed; with several, `primary` is their mean and `primary_std` their std.
    split_primary: dict[int, float] = dataclasses.field(default_factory=dict)
    tie_test: str | None = None  # what measured `diff_ci`: "splits" or "bootstrap"
    # TabArena's cost unit: training seconds per 1,000 training rows (mean over seeds).
    fit_seconds_per_1k: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as `to_json` writes it: the marks that were not set are left out."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _MARKS or getattr(self, f.name) is not None
        }
        if self.origin == "moviebench":  # a mark too: only a plugin or external row has one
            del out["origin"]
        for name in ("gap", "deep_gap", "pretrained_gap"):
            if name in out:
                out[name] = out[name].to_dict()
        if not self.split_primary:
            del out["split_primary"]
        return {**out, "seeds": list(self.seeds), "metrics": dict(self.metrics)}


_MARKS = ("diff_ci", "tie", "gap", "deep_gap", "pretrained_gap", "tie_test", "capped")
Board = dict[tuple[str, str], list[BoardRow]]


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
    if split_seed != DEFAULT_SPLIT_SEED and not across_splits:
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
        groups[(*key, r.model)].append(r)
    boards: Board = defaultdict(list)
    for (task, source, model), recs in groups.items():
        boards[(task, source)].append(_row(model, recs, across_splits))
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


def board_ranks(rows: list[BoardRow]) -> list[int]:
    """Each row's rank on its board, best first: a row tied with its group's leader (`tie`)
    shares the leader's rank."""
    ranks: list[int] = []
    for i, r in enumerate(rows, 1):
        ranks.append(ranks[-1] if r.tie and ranks else i)
    return ranks


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _row(model: str, recs: list[Record], across_splits: bool = False) -> BoardRow:
    ok = [r for r in recs if r.status == "ok"]
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
        status="ok" if ok else first.status,
        error=None if ok else first.error,
        split_hash=first.split_hash,
        origin="external"
        if first.family == "external"
        else "plugin"
        if "model_code" in first.identity
        else "moviebench",
        split_primary=split_primary if len(split_primary) > 1 else {},
    )


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _fmt_params(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _weights(row: BoardRow) -> str:
    """Where a rung's starting weights come from: learned elsewhere, or nothing borrowed."""
    return "pretrained" if row.pretrained_weights else ""


def _family(row: BoardRow) -> str:
    """The rung's family, marked when the rung comes from outside moviebench."""
    return (
        row.family if row.origin in ("moviebench", "external") else f"{row.family} ({row.origin})"
    )


def table_rows(rows: list[BoardRow]) -> tuple[list[str], list[list[str]]]:
    """Header and cells shared by the terminal and markdown renderings."""
    primary = rows[0].primary_metric
    others = [m for m in (next((r.metrics for r in rows if r.metrics), {})) if m != primary]
    splits = any(r.split_primary for r in rows)
    header = [
        "#",
        "model",
        "family",
        "weights",
        f"{primary} (mean ± std)",
        "Δ baseline",
        *others,
        "fit s",
        "s / 1k rows",
        "epochs",
        "predict s",
        "params",
        "seeds",
        *(["split seeds"] if splits else []),
    ]
    body = []
    # A row tied with its group's leader shares its rank, marked "=".
    ranks = board_ranks(rows)
    rank = {i: f"{k}=" if ranks.count(k) > 1 else str(k) for i, k in enumerate(ranks, 1)}
    for i, r in enumerate(rows, 1):
        if r.status != "ok":
            body.append(
                [
                    rank[i],
                    r.model,
                    _family(r),
                    _weights(r),
                    r.status.upper(),
                    "",
                    *[""] * len(others),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    *([""] if splits else []),
                ]
            )
            continue
        name = (
            r.model
            + (" (baseline)" if r.family == "trivial" else "")
            + (" (tuned)" if _tuned(r) else "")
            + (" (TRUNCATED)" if r.truncated else "")
            + (" (capped)" if r.capped else "")
        )
        epochs = "—" if r.epochs is None else f"{r.epochs:g}" + ("!" if r.truncated else "")
        primary_cell = f"{r.primary:.4f} ± {r.primary_std:.4f}"
        delta = "" if r.family == "trivial" or r.vs_baseline is None else f"{r.vs_baseline:+.4f}"
        body.append(
            [
                rank[i],
                name,
                _family(r),
                _weights(r),
                primary_cell,
                delta,
                *[_fmt(r.metrics.get(m)) for m in others],
                _fmt(r.fit_seconds, 2),
                _fmt(r.fit_seconds_per_1k, 3),
                epochs,
                _fmt(r.predict_seconds, 2),
                _fmt_params(r.n_params),
                str(r.n_seeds),
                # several: the ± is the std across these split seeds (model seeds averaged)
                *([",".join(map(str, r.split_primary)) or "one"] if splits else []),
            ]
        )
    return header, body


def per_1k_rows(seconds: float | None, n_train: int | None) -> float | None:
    """Seconds per 1,000 training rows (TabArena's cost unit); None without both."""
    if seconds is None or not n_train:
        return None
    return seconds * 1000 / n_train


def _tuned(row: BoardRow) -> bool:
    return str(row.params_source).startswith("tuned")


def caveats(rows: list[BoardRow]) -> list[str]:
    """What a reader must know before comparing ranks: truncated training, unequal tuning."""
    lines = []
    truncated = [r.model for r in rows if r.truncated]
    if truncated:
        lines.append(
            f"TRUNCATED: {', '.join(truncated)} stopped at the explicit --time-budget before their "
            "declared budget (epochs marked !): not comparable with rows trained to their budget"
        )
    capped = [f"{r.model} ({r.capped})" for r in rows if r.capped]
    if capped:
        lines.append(
            f"capped: {', '.join(capped)} stopped at a declared cap (steps, rounds or training "
            "rows) before their own stopping rule: the profile bounds their cost at this size"
        )
    learned = [r for r in rows if r.status == "ok" and r.family != "trivial"]
    tuned = [r.model for r in learned if _tuned(r)]
    if tuned and len(tuned) < len(learned):
        lines.append(
            f"mixed tuning: {', '.join(tuned)} use tuned params, the other rows their defaults; "
            "ranks between the two compare unequal tuning budgets (`bench tune --ladder` tunes every rung)"
        )
    return lines


def failures(rows: list[BoardRow]) -> list[str]:
    return [f"{r.model}: {r.status}: {r.error}" for r in rows if r.status != "ok"]


# Characters markdown reads as markup (emphasis, links, tables, HTML, headings, math in some
# renderers): a record's strings (model, error, labels) are escaped so they show as text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}<>|#$])")


def md_escape(text: Any) -> str:
    """`text` with markdown's special characters backslash-escaped, on one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text).replace("\n", " "))


def to_markdown(boards: Board, plots: dict[tuple[str, str], list[str]] | None = None) -> str:
    out = []
    for (task, source), rows in boards.items():
        header, body = table_rows(rows)
        body = [[md_escape(cell) for cell in cells] for cells in body]
        out.append(f"## {md_escape(task)} on {md_escape(source)}\n")
        out.append(
            f"Split {rows[0].split_hash}; primary metric `{rows[0].primary_metric}` on the test split. "
            "Δ baseline is the gain over the trivial baseline. "
            "A rank marked `=` is a tie: the paired bootstrap 95% interval of the difference "
            "to the first model of that rank includes 0.\n"
            if not any(r.split_primary for r in rows)
            else SPLITS_NOTE.format(metric=rows[0].primary_metric)
        )
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" for _ in header) + "|")
        out.extend("| " + " | ".join(cells) + " |" for cells in body)
        for line in gap_lines(rows):
            out.append(f"\n{line[0].upper()}{line[1:]}.")
        for line in caveats(rows):
            out.append(f"\n**{line}.**")
        for line in failures(rows):
            out.append(f"\n- {md_escape(line)}")
        for image in (plots or {}).get((task, source), []):
            out.append(f"\n![{image}]({image})")
        out.append("")
    return "\n".join(out)


SPLITS_NOTE = (
    "Primary metric `{metric}` on the test split; rows with several split seeds show the mean "
    "± sample std across split seeds (model seeds averaged within each split), the others "
    "mean ± std over model seeds on the default split. Δ baseline is the gain over the "
    "trivial baseline. A rank marked `=` is a tie with the first model of that rank: where "
    "both rows have several split seeds in common, the 95% interval of their split-level "
    "differences by the corrected resampled t-test (Nadeau & Bengio: a paired t-test across "
    "splits, variance widened by n_test / n_train since the splits' training sets overlap) "
    "includes 0; otherwise the paired bootstrap interval on the default split does.\n"
)


def to_csv(boards: Board) -> str:
    buf = io.StringIO()
    metric_names = sorted({m for rows in boards.values() for r in rows for m in r.metrics})
    fields = [
        "task",
        "source",
        "model",
        "profile",
        "family",
        "origin",
        "pretrained_weights",
        "status",
        "primary_metric",
        "primary",
        "primary_std",
        "vs_baseline",
        *metric_names,
        "fit_seconds",
        "fit_seconds_per_1k",
        "epochs",
        "truncated",
        "capped",
        "params_source",
        "predict_seconds",
        "peak_memory_mb",
        "n_params",
        "n_seeds",
    ]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for rows in boards.values():
        for r in rows:
            writer.writerow({**r.to_dict(), **r.metrics})
    return buf.getvalue()


def to_json(boards: Board) -> str:
    """Every board's rows as one JSON list, boards in order and each best first. A row is an
    object with the keys task, source, model, family, pretrained_weights (bool),
    primary_metric, primary, primary_std, n_seeds, seeds (list of ints), metrics (name ->
    mean), fit_seconds, fit_seconds_per_1k (training seconds per 1,000 training rows,
    TabArena's unit), predict_seconds, peak_memory_mb, n_params, params_source, profile,
    epochs, truncated (bool), status, error, split_hash and vs_baseline (numbers or null),
    then only where they were measured: diff_ci ([low, high] to its rank group's leader) and tie
    (bool), gap ({group, vs_group, vs, diff[, ci]}), deep_gap and pretrained_gap ({vs, diff[,
    ci]}: the best deep or pretrained row against the best classical one), tie_test
    ("splits" or "bootstrap": what measured diff_ci), split_primary (split seed -> mean over
    model seeds, on a board folded across several split seeds), capped (the declared cap that
    ended a fit: "2,940 steps", "1,000 rounds") and, for a
    rung from outside moviebench, origin (plugin or external)."""
    rows = [_finite(r.to_dict()) for rows in boards.values() for r in rows]
    return json.dumps(rows, indent=2, allow_nan=False)


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinity as None: JSON has no NaN, so `null` it is."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # a numpy scalar
        return _finite(value.item())
    return value


def render(records: list[Record], fmt: str) -> str:
    boards = aggregate(records)
    return {"md": to_markdown, "csv": to_csv, "json": to_json}[fmt](boards)


# ---- rank ties: paired bootstrap over the test rows ------------------------------------------

# Each resample is scored by the board's own metric function, one scikit-learn call of about
# 1-5 ms: 200 resamples render a 21-record mAP board (720 films, 20 genres) in about 20 s on a
# busy 2-core machine, where 1000 took minutes.
BOOTSTRAP_RESAMPLES = 200


def bootstrap_metric(
    record: Record, preds: dict[str, np.ndarray], w: np.ndarray
) -> np.ndarray | None:
    """The record's primary metric on each bootstrap resample (rows of count weights `w`),
    by the same function that scored the board; multi-label predictions use the record's
    validation thresholds. None when the record cannot be rescored."""
    name, details = record.primary_metric, record.details
    try:
        get_metric(name)
        kind = target_kind(record.target)
    except UnknownNameError:
        return None
    # The details hold what the kind's evaluator was given: thresholds, a regression's bins.
    return kind.resampled(
        name, preds["y"], preds["scores"], w, details.get("thresholds"), scoring=details
    )


def bootstrap_inputs(record: Record, draws: str) -> str | None:
    """The identity of what a record's bootstrap values are computed from: the record's
    content, its stored test scores (the `.npz` file's bytes, hashed without decompressing
    them) and the draws (`draws` names what fixes the weights). None without scores."""
    scores = predictions_digest(Path(record.path)) if record.path else None
    if scores is None:
        return None
    # one serialisation, as `as_json` would give it back (the same text, so the same key)
    content = json.dumps(record.to_dict(copy_values=False), sort_keys=True, default=jsonable)
    digest = hashlib.sha256(content.encode())
    digest.update(scores.encode())
    digest.update(draws.encode())
    return digest.hexdigest()


def cached_bootstrap(record: Record, w: np.ndarray, draws: str) -> np.ndarray | None:
    """`bootstrap_metric`, kept beside the record (`seed-0.boot.npz`): rescoring hundreds of
    resamples is most of a board's rendering time, and a rerun that trained nothing would
    pay it again (nor does it decompress the test scores: 800 films x 6,000 frames of them
    are megabytes). The cache holds the identity of its inputs (`bootstrap_inputs`), so a
    changed record or another resampling recomputes it, and a checksum of its values, so a
    damaged one is reported and recomputed (records.read_bootstrap_cache)."""
    key = bootstrap_inputs(record, draws)
    if key is None:
        return None
    path = Path(record.path)
    values = read_bootstrap_cache(path, key, len(w))
    if values is not None:
        return values
    preds = read_predictions(path)
    if preds is None:
        return None
    values = bootstrap_metric(record, preds, w)
    if values is not None:
        write_bootstrap_cache(path, key, values)
    return values


class _HasModel(Protocol):
    model: str


def bootstrap_by_model(
    rows: list[_HasModel],
    records: list[Record],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Each model's primary metric on the same `resamples` bootstrap draws of the test rows
    (mean over seeds, as in the table), for the models of `rows` in their order. Models
    without stored test predictions are absent."""
    by_model: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_model[r.model].append(r)
    per_model: dict[str, np.ndarray] = {}
    ids: np.ndarray | None = None
    weights = np.zeros((0, 0))
    for row in rows:
        ok = [r for r in by_model[row.model] if r.status == "ok" and r.path]
        if not ok:
            continue
        row_ids = [read_prediction_ids(r.path) for r in ok]
        if ids is None:
            ids = row_ids[0]
            if ids is None:
                continue
            # The same resampled test rows for every model: the comparison is paired.
            weights = (
                np.random.default_rng(seed)
                .multinomial(len(ids), np.full(len(ids), 1 / len(ids)), size=resamples)
                .astype(float)
            )
        draws = f"seed {seed}, {resamples} resamples of {len(ids)} rows"  # what fixes `weights`
        # Paired only on the same test rows: a model scored on other ids is left out.
        same_rows = all(r is not None and np.array_equal(r, ids) for r in row_ids)
        values = [cached_bootstrap(r, weights, draws) for r in ok] if same_rows else []
        if values and all(v is not None for v in values):
            per_model[row.model] = np.mean(values, axis=0)
    return per_model


def _interval(a: np.ndarray, b: np.ndarray) -> list[float]:
    low, high = np.nanpercentile(a - b, [2.5, 97.5])
    return [float(low), float(high)]


Interval = Callable[[Any, Any], "tuple[list[float], str] | None"]


def bootstrap_split(records: list[Record]) -> int:
    """The split seed whose test rows a board's paired bootstrap resamples: the default
    split when any record is on it, else the smallest split seed."""
    seeds = {split_seed_of(r) for r in records}
    return DEFAULT_SPLIT_SEED if DEFAULT_SPLIT_SEED in seeds or not seeds else min(seeds)


def test_train_ratio(records: list[Record]) -> float:
    """n_test / n_train of a board's records (0 when they do not say)."""
    ratios = [r.n_test / r.n_train for r in records if r.n_test and r.n_train]
    return float(np.mean(ratios)) if ratios else 0.0


def split_interval(a: list[float], b: list[float], ratio: float) -> list[float]:
    """95% interval of the mean split-level difference a − b by the corrected resampled
    t-test (Nadeau & Bengio 2003): a paired t-test across split seeds whose variance is
    widened by n_test / n_train, because the splits' training sets overlap."""
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    j = len(d)
    half = stats.t.ppf(0.975, j - 1) * math.sqrt((1 / j + ratio) * float(np.var(d, ddof=1)))
    return [float(d.mean() - half), float(d.mean() + half)]


def paired_diff(a: Any, b: Any) -> float:
    """The difference a − b that `pair_interval` measures: the mean over the split seeds both
    rows ran on where there are two or more, else on the default split where both have it
    (the paired bootstrap's split), else their primaries. A rung on three splits against one
    on the default split only is compared on that split, not mean against single value."""
    sa, sb = getattr(a, "split_primary", {}) or {}, getattr(b, "split_primary", {}) or {}
    common = sorted(set(sa) & set(sb))
    if len(common) >= 2:
        return float(np.mean([sa[k] - sb[k] for k in common]))
    # A row on one split keeps no split_primary: its primary is that split's value.
    on_a = sa.get(DEFAULT_SPLIT_SEED, a.primary if not sa else None)
    on_b = sb.get(DEFAULT_SPLIT_SEED, b.primary if not sb else None)
    if on_a is not None and on_b is not None:
        return float(on_a - on_b)
    return float(a.primary - b.primary)


def pair_interval(per_model: dict[str, np.ndarray], ratio: float = 0.0) -> Interval:
    """The interval of the difference between two rows, and the test that gave it: across
    split seeds (`split_interval`) when both rows have at least two split seeds in common,
    else the paired bootstrap of the test rows (`per_model`); None when neither can."""

    def interval(a: Any, b: Any) -> tuple[list[float], str] | None:
        sa, sb = getattr(a, "split_primary", {}), getattr(b, "split_primary", {})
        common = sorted(set(sa) & set(sb))
        if len(common) >= 2:
            return split_interval([sa[k] for k in common], [sb[k] for k in common], ratio), "splits"
        x, y = per_model.get(a.model), per_model.get(b.model)
        return None if x is None or y is None else (_interval(x, y), "bootstrap")

    return interval


def mark_ties(
    rows: list[BoardRow], per_model: dict[str, np.ndarray], interval: Interval | None = None
) -> None:
    """Set `tie` on each row whose 95% interval of the difference to the leader of its rank
    group (the first row of the run of tied rows above it) includes 0, and `diff_ci` to that
    interval: the paired bootstrap of the test rows, or across split seeds where both rows
    have several (`pair_interval`). A row not tied with that leader starts a new group, so
    ties never chain through neighbours: A ≈ B and B ≈ C with A ≠ C ranks C below A."""
    interval = interval or pair_interval(per_model)
    leader = rows[0] if rows else None
    for row in rows[1:]:
        measured = interval(leader, row)
        if measured is None:
            leader = row
            continue
        row.diff_ci, test = measured
        if hasattr(row, "tie_test"):
            row.tie_test = test
        row.tie = bool(row.diff_ci[0] <= 0 <= row.diff_ci[1])
        if not row.tie:
            leader = row


def declared_groups(records: list[Record]) -> list[tuple[str, list[str]]]:
    """The rung groups a board's task compares, in order, as its newest record that declares
    any says (`Record.groups`, from TaskSpec.compare); records older than that declare none."""
    declaring = [r for r in records if r.groups]
    if not declaring:
        return []
    return [(g["name"], g["models"]) for g in max(declaring, key=lambda r: r.created).groups]


def mark_group_gaps(
    rows: list[BoardRow],
    per_model: dict[str, np.ndarray],
    groups: list[tuple[str, list[str]]],
    interval: Interval | None = None,
) -> None:
    """For a task that declares model groups to compare (`groups`, e.g. fusion against
    single modality), set `gap` on the best row of the first group: its difference to the
    best row of the second group, with the paired bootstrap 95% interval."""
    declared = list(groups)
    if len(declared) < 2 or rows[0].primary is None:
        return
    sign = 1 if higher_is_better(rows[0].primary_metric) else -1

    def best(models: list[str]) -> BoardRow | None:
        scored = [r for r in rows if r.model in models and r.primary is not None]
        return max(scored, key=lambda r: sign * r.primary, default=None)

    (name_a, models_a), (name_b, models_b) = declared[:2]
    a, b = best(models_a), best(models_b)
    if a is None or b is None:
        return
    measured = (interval or pair_interval(per_model))(a, b)
    ci = None if measured is None else measured[0]
    a.gap = Gap(vs=b.model, diff=paired_diff(a, b), ci=ci, group=name_a, vs_group=name_b)


# The question the benchmark answers: how far representations learned elsewhere (frozen
# pretrained encoders under a head) and networks trained here get beyond classical models.
# The four families are kept apart (docs/architecture.md), so a logistic regression on frozen
# features never counts as "deep".
HEADLINE_FAMILIES = ("trivial", "classical", "pretrained", "deep")


def _best(rows: list[BoardRow], families: tuple[str, ...]) -> BoardRow | None:
    scored = [r for r in rows if r.family in families and r.primary is not None]
    if not scored:
        return None
    sign = 1 if higher_is_better(scored[0].primary_metric) else -1
    return max(scored, key=lambda r: sign * r.primary)


def best_of_family(rows: list[BoardRow], family: str) -> BoardRow | None:
    """The best finished row of one family on a board (by the primary metric's direction)."""
    return _best(rows, (family,))


def mark_deep_gap(
    rows: list[BoardRow], per_model: dict[str, np.ndarray], interval: Interval | None = None
) -> None:
    """Set `deep_gap` on the best deep row and `pretrained_gap` on the best pretrained row:
    each one's difference to the best classical row, with the paired bootstrap 95% interval
    when both have stored test scores (the same draws as the board's ties)."""
    classical = _best(rows, ("classical",))
    if classical is None:
        return
    for family, attr in (("deep", "deep_gap"), ("pretrained", "pretrained_gap")):
        best = _best(rows, (family,))
        if best is None:
            continue
        measured = (interval or pair_interval(per_model))(best, classical)
        ci = None if measured is None else measured[0]
        setattr(best, attr, Gap(vs=classical.model, diff=paired_diff(best, classical), ci=ci))


HEADLINE_HEADER = (
    "task", "source", "profile", "metric", "trivial", "best classical", "best pretrained",
    "best deep", "pretrained − classical [95% CI]", "deep − classical [95% CI]",
    "fit s (c / p / d)", "s / 1k rows (c / p / d)", "params (c / p / d)",
)  # fmt: skip


def gap_cell(gap: Gap | None) -> str:
    """A gap with its interval; "tie" when the interval includes 0, the board's own tie rule
    (`mark_ties`), so the headline and the board never contradict each other."""
    if gap is None:
        return "—"
    cell = f"{gap.diff:+.4f}"
    if gap.ci is not None:
        cell += f" [{gap.ci[0]:+.4f}, {gap.ci[1]:+.4f}]"
        if gap.ci[0] <= 0 <= gap.ci[1]:
            cell += " tie"
    return cell


def _board_source(rows: list[BoardRow], source: str) -> str:
    """The board's source without its profile mark (the headline has a profile column)."""
    return source.replace(f" (profile {rows[0].profile})", "")


def headline_rows(boards: Board) -> list[list[str]]:
    """One row of cells per board: the best trivial, classical, pretrained and deep rung, the
    pretrained − classical and deep − classical gaps with their paired bootstrap intervals,
    and the fit seconds and parameters of each family's best rung. The boards of one task and
    source under two profiles (quick, full) come out next to each other."""

    def cell(row: BoardRow | None) -> str:
        if row is None:
            return "—"
        mark = ", pretrained weights" if row.family == "deep" and row.pretrained_weights else ""
        return f"{row.primary:.4f} ({row.model}{mark})"

    def order(item: tuple[tuple[str, str], list[BoardRow]]) -> tuple[str, str, str]:
        (task, source), rows = item
        return task, _board_source(rows, source), rows[0].profile

    out = []
    for (task, source), rows in sorted(boards.items(), key=order):
        best = {f: best_of_family(rows, f) for f in HEADLINE_FAMILIES}
        learned = [best[f] for f in ("classical", "pretrained", "deep")]
        out.append(
            [
                task,
                _board_source(rows, source),
                rows[0].profile,
                # a gap's sign reads the other way for a metric where lower is better (RMSE)
                metric if higher_is_better(metric := rows[0].primary_metric) else f"{metric} ↓",
                *(cell(best[f]) for f in HEADLINE_FAMILIES),
                gap_cell(best["pretrained"].pretrained_gap if best["pretrained"] else None),
                gap_cell(best["deep"].deep_gap if best["deep"] else None),
                " / ".join("—" if r is None else _fmt(r.fit_seconds, 2) for r in learned),
                " / ".join("—" if r is None else _fmt(r.fit_seconds_per_1k, 3) for r in learned),
                " / ".join("—" if r is None else _fmt_params(r.n_params) for r in learned),
            ]
        )
    return out


def headline_markdown(boards: Board) -> str:
    """The headline rows as a markdown table."""
    lines = ["| " + " | ".join(HEADLINE_HEADER) + " |", "|" + "---|" * len(HEADLINE_HEADER)]
    lines += ["| " + " | ".join(cells) + " |" for cells in headline_rows(boards)]
    return "\n".join(lines) + "\n"


def gap_lines(rows: list[BoardRow]) -> list[str]:
    """One sentence per declared comparison, for the markdown and terminal renderings."""
    lines = []
    for r in rows:
        g = r.gap
        if not g:
            continue
        ci = (
            f", paired bootstrap 95% interval [{g.ci[0]:+.4f}, {g.ci[1]:+.4f}]"
            if g.ci is not None
            else ""
        )
        lines.append(
            f"best {g.group} ({r.model}) vs best {g.vs_group} ({g.vs}): "
            f"{g.diff:+.4f} {r.primary_metric}{ci}"
        )
    return lines
