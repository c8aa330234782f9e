"""A board's rows: `BoardRow` (one model, or one variant of it, averaged over its seeds),
the `Gap` between two rows, and ranks with ties. Built by `leaderboard.aggregate`, measured by
`board_stats`, shown by `board_render`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from moviebench.records import (
    Record,
    variant_of,
)


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
    # TabArena's cost unit: training seconds per 1,000 training rows (mean over seeds).
    fit_seconds_per_1k: float | None
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
    variant: str | None = None  # records.variant: "tuned" rows sit beside the default ones
    # The same gaps measured among tuned rows (board_stats.arm), on a board that has them.
    deep_gap_tuned: Gap | None = None
    pretrained_gap_tuned: Gap | None = None

    @property
    def key(self) -> str:
        """The row's name on its board, unique there: the model, and its variant if any."""
        return row_key(self.model, self.variant)

    def to_dict(self) -> dict[str, Any]:
        """The row as `to_json` writes it: the marks that were not set are left out."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _MARKS or getattr(self, f.name) is not None
        }
        if self.origin == "moviebench":  # a mark too: only a plugin or external row has one
            del out["origin"]
        for name in ("gap", *_GAPS):
            if name in out:
                out[name] = out[name].to_dict()
        if not self.split_primary:
            del out["split_primary"]
        return {**out, "seeds": list(self.seeds), "metrics": dict(self.metrics)}


_GAPS = ("deep_gap", "pretrained_gap", "deep_gap_tuned", "pretrained_gap_tuned")
_MARKS = ("diff_ci", "tie", "gap", *_GAPS, "tie_test", "capped", "variant")


def row_key(model: str, variant: str | None) -> str:
    """A board row's unique name: `lightgbm`, `lightgbm (tuned)`."""
    return f"{model} ({variant})" if variant else model


def record_key(record: Record) -> str:
    """The board row a record belongs to (`row_key` of its model and variant)."""
    return row_key(record.model, variant_of(record))


Board = dict[tuple[str, str], list[BoardRow]]


def board_ranks(rows: list[BoardRow]) -> list[int]:
    """Each row's rank on its board, best first: a row tied with its group's leader (`tie`)
    shares the leader's rank."""
    ranks: list[int] = []
    for i, r in enumerate(rows, 1):
        ranks.append(ranks[-1] if r.tie and ranks else i)
    return ranks


def per_1k_rows(seconds: float | None, n_train: int | None) -> float | None:
    """Seconds per 1,000 training rows (TabArena's cost unit); None without both."""
    if seconds is None or not n_train:
        return None
    return seconds * 1000 / n_train


def scored(primary: float | None) -> bool:
    """Whether a primary metric is a number a board can rank."""
    return primary is not None and bool(np.isfinite(primary))
