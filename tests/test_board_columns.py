"""The terminal board fits: compact columns by default, `--columns`/`--wide` for more, no
row wrapped or cell cut at 80 or 100 columns, and no empty columns."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from moviebench.display import print_leaderboards
from moviebench.errors import UnknownNameError
from moviebench.leaderboard import aggregate, default_columns, pick_columns, table_rows
from moviebench.records import load_records

SAMPLE = Path(__file__).resolve().parents[1] / "results" / "sample"


@pytest.fixture(scope="module")
def records():
    return load_records(SAMPLE, "tmdb-quality")


def _printed(records, width: int, columns=None, terminal: bool = True) -> list[str]:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=terminal, color_system=None)
    print_leaderboards(console, records, columns=columns)
    return buf.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 100])
def test_default_board_fits_without_cut_or_wrapped_rows(records, width: int) -> None:
    lines = _printed(records, width)
    table = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= width for line in table)
    assert "…" not in "\n".join(lines)
    rows = [line for line in table if line.startswith("│")]
    assert len(rows) == len({r.model for r in records})  # one line per rung: none wrapped
    assert any("majority (baseline)" in row for row in rows)
    assert "fit s" in lines[2]  # kept: secondary metrics go first


def test_default_columns_single_seed_tabular(records) -> None:
    (rows,) = aggregate(records).values()
    cols = default_columns(rows)
    assert cols[:5] == ["rank", "model", "family", "primary", "delta"]
    assert "weights" not in cols  # no rung of a tabular task starts from pretrained weights
    assert cols[-1] == "fit" and len(cols) == 8
    header, body = table_rows(rows, cols)
    assert header[3] == "macro_f1"  # one seed: no "(mean ± std)"
    assert all("±" not in cell for cells in body for cell in cells)
    assert "weights" not in table_rows(rows)[0]  # nor in the wide board


def test_columns_pick_and_refuse(records) -> None:
    (rows,) = aggregate(records).values()
    assert pick_columns(rows, ["model", "macro_f1", "params"]) == ["model", "primary", "params"]
    assert "log_loss" in pick_columns(rows, ["all"])
    with pytest.raises(UnknownNameError, match="board column 'nope'"):
        pick_columns(rows, ["default", "nope"])


def test_wide_board_piped_never_wraps(records) -> None:
    lines = _printed(records, 80, columns=["all"], terminal=False)
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == len({r.model for r in records})
    assert "log_loss" in "\n".join(lines) and "…" not in "\n".join(lines)
