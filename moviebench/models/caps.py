"""Declared caps of classical rungs whose cost grows with the training split.

A cap is a default param, so it is in the cell's identity, and it is chosen so that it never
binds up to `CAP_ROWS` training rows (every committed board is below that): there the rung
fits exactly as it would uncapped. Above it, the rung's cost stops growing with the split,
and what bound is recorded (`fitted_["capped"]`, the record's `capped`), so a board can say
so. Networks cap their optimizer steps instead (models/loop.py, `max_steps`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from moviebench.options import CAP_ROWS

if TYPE_CHECKING:
    from moviebench.tasks.base import TaskData

__all__ = ["CAP_ROWS", "cap_training_rows", "capped_share", "join_caps", "subsample_rows"]


def capped_share(share: float, n_rows: int, max_rows: int | None) -> float:
    """The row share each tree samples: `share`, lowered so a tree sees at most `max_rows`
    rows (None or 0: no cap). Unchanged, the same float, wherever the cap does not bind."""
    if not max_rows or share * n_rows <= max_rows:
        return share
    return max_rows / n_rows


def subsample_rows(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """At most `max_rows` of `n_rows` row positions, drawn without replacement by `seed` and
    sorted; None where the cap does not bind (train on every row)."""
    if not max_rows or n_rows <= max_rows:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def cap_training_rows(
    train: TaskData, max_rows: int | None, seed: int
) -> tuple[TaskData, str | None]:
    """`train` itself, or a seeded subsample of at most `max_rows` of its rows with the line
    the record's `capped` gets ("4,096 training rows (of 27,724)"); None where it does not bind."""
    rows = subsample_rows(len(train.y), max_rows, seed)
    if rows is None:
        return train, None
    return train.subset(rows), f"{len(rows):,} training rows (of {len(train.y):,})"


def join_caps(caps: list[str]) -> str | None:
    """The caps that bound, as the record's one line; None where none did."""
    return "; ".join(caps) or None
