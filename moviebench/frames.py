"""Boards and summaries as pandas DataFrames and as HTML, for notebooks.

A board's frame is `bench leaderboard --format json` row for row (one row per rung and
board, best first), nested objects flattened one level (`metrics.macro_f1`, `gap.diff`),
plus each row's `rank` on its board. `api.Board.to_frame` / `_repr_html_` and
`summary.Summary.to_frame` / `_repr_html_` call these: a board or summary left as a cell's
last line renders as a table in Jupyter.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from moviebench.leaderboard import Board

# What the HTML board shows of each row (the frame has everything).
BOARD_COLUMNS = {
    "rank": "rank",
    "model": "model",
    "family": "family",
    "primary": "primary",
    "primary_std": "± std",
    "diff_ci": "95% interval vs leader",
    "tie": "tie",
    "vs_baseline": "vs baseline",
    "fit_seconds": "fit s",
    "n_params": "params",
    "status": "status",
}
SUMMARY_COLUMNS = (
    "level",
    "name",
    "family",
    "won",
    "mean_rank",
    "mean_normalised",
    "normalised_ci",
    "fit_seconds",
    "n_params",
    "elo",
    "winrate",
)


def board_frame(boards: Board) -> pd.DataFrame:
    """Every board's rows as `to_json` writes them, flattened one level, with their rank."""
    from moviebench.leaderboard import board_ranks, to_json

    rows = json.loads(to_json(boards))
    ranks = [rank for board in boards.values() for rank in board_ranks(board)]
    frame = pd.json_normalize(rows, max_level=1) if rows else pd.DataFrame()
    frame.insert(min(3, len(frame.columns)), "rank", ranks)
    return frame


def board_html(boards: Board) -> str:
    """One table per (task, source) board: rank, model, family, primary ± std, interval, tie,
    gain over the baseline, fit seconds, parameters."""
    frame = board_frame(boards)
    parts = []
    for (task, source), rows in boards.items():
        metric = rows[0].primary_metric if rows else ""
        part = frame[(frame["task"] == task) & (frame["source"] == source)]
        shown = part[[c for c in BOARD_COLUMNS if c in part.columns]].rename(columns=BOARD_COLUMNS)
        shown = shown.map(_interval)
        parts.append(
            f"<h4>{html.escape(task)} on {html.escape(source)} ({html.escape(metric)})</h4>"
            + shown.to_html(index=False, na_rep="", float_format=_fmt)
        )
    return "\n".join(parts) or "<p>no boards</p>"


def summary_frame(summary: Any) -> pd.DataFrame:  # a summary.Summary (which imports this)
    """One row per family, then per rung: boards won, average rank, mean normalised score and
    its interval, fit seconds, parameters (Elo and win rate for families)."""
    rows = [
        {"level": level, **entry.to_dict()}
        for level, entries in (("family", summary.families), ("rung", summary.rungs))
        for entry in entries
    ]
    return pd.DataFrame(rows)


def summary_html(summary: Any) -> str:
    frame = summary_frame(summary)
    shown = frame[[c for c in SUMMARY_COLUMNS if c in frame.columns]].map(_interval)
    sentences = "".join(f"<li>{html.escape(s)}</li>" for s in summary.sentences)
    return (
        f"<h4>across {len(summary.boards)} boards</h4>"
        + (f"<ul>{sentences}</ul>" if sentences else "")
        + shown.to_html(index=False, na_rep="", float_format=_fmt)
    )


def _fmt(value: Any) -> str:
    return f"{value:.4g}"


def _interval(value: Any) -> Any:
    """A [low, high] interval as text with the table's precision; anything else as it is."""
    if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return value
