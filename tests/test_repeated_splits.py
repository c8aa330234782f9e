"""Repeated splits: `bench run --split-seeds 1,2,3` folds three film splits into one board with
the std across splits, and its ties come from the split-level test, not the bootstrap."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from moviebench import api
from moviebench.leaderboard import mark_ties, pair_interval, split_interval
from tests.fixtures import bench, write_ggplot2_csv


def test_three_split_seeds_make_one_board_with_the_split_std(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r"
    code, printed, err = bench(
        capsys, monkeypatch, "run", "--task", "tmdb-quality", "--source", "ggplot2movies",
        "--data", str(write_ggplot2_csv(tmp_path / "m.csv")), "--models", "logreg,lightgbm",
        "--split-seeds", "1,2,3", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "split seeds" in printed  # the board's column naming the split seeds
    ((key, rows),) = api.board(out, "tmdb-quality", split_seeds=[1, 2, 3]).boards.items()
    assert key == ("tmdb-quality", "ggplot2movies")  # one board, not one per split
    for row in rows:
        assert list(row.split_primary) == [1, 2, 3]
        values = list(row.split_primary.values())
        assert row.primary == pytest.approx(np.mean(values))
        assert row.primary_std == pytest.approx(np.std(values, ddof=1))  # across splits
    assert len({tuple(r.split_primary.values()) for r in rows}) == len(rows)
    # every rank below the leader was measured across splits
    assert all(r.tie_test == "splits" for r in rows[1:])
    # each split keeps its own board too (issue #22)
    assert len(api.board(out, "tmdb-quality", split_seed=None).boards) == 3


def test_ties_come_from_the_split_level_test_not_the_bootstrap() -> None:
    # On the bootstrapped split A is clearly ahead; across splits the gap flips sign.
    rng = np.random.default_rng(0)
    per_model = {"A": 0.60 + rng.normal(0, 0.002, 200), "B": 0.50 + rng.normal(0, 0.002, 200)}
    rows = [
        SimpleNamespace(model="A", split_primary={1: 0.52, 2: 0.60, 3: 0.47}, diff_ci=None, tie=None, tie_test=None),
        SimpleNamespace(model="B", split_primary={1: 0.49, 2: 0.50, 3: 0.51}, diff_ci=None, tie=None, tie_test=None),
    ]  # fmt: skip
    mark_ties(rows, per_model, pair_interval(per_model, ratio=0.25))  # type: ignore[arg-type]
    assert rows[1].tie_test == "splits" and rows[1].tie is True
    # without split seeds the same draws separate them
    alone = [SimpleNamespace(model=m, diff_ci=None, tie=None) for m in "AB"]
    mark_ties(alone, per_model)  # type: ignore[arg-type]
    assert alone[1].tie is False


def test_the_split_interval_is_a_paired_t_interval_widened_for_overlap() -> None:
    a, b = [0.61, 0.63, 0.60, 0.64], [0.55, 0.58, 0.56, 0.57]
    low, high = split_interval(a, b, ratio=0.0)
    d = np.subtract(a, b)
    t = stats.ttest_rel(a, b)
    # ratio 0: the ordinary paired t interval, excluding 0 exactly when p < 0.05
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert (low, high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert (low > 0) == (t.pvalue < 0.05)
    wide = split_interval(a, b, ratio=0.5)  # Nadeau & Bengio: wider when training sets overlap
    assert wide[0] < low and wide[1] > high


def test_a_gap_between_a_folded_row_and_a_one_split_row_is_taken_on_the_default_split():
    """The estimate is what the interval measures: on the split both rows share, not a mean
    over three splits against one split's value."""
    from types import SimpleNamespace

    from moviebench.leaderboard import paired_diff

    folded = SimpleNamespace(primary=0.50, split_primary={1: 0.40, 2: 0.55, 3: 0.55})
    single = SimpleNamespace(primary=0.60, split_primary={})
    assert paired_diff(single, folded) == pytest.approx(0.05)
    other = SimpleNamespace(primary=0.45, split_primary={1: 0.30, 2: 0.50, 3: 0.55})
    assert paired_diff(folded, other) == pytest.approx(0.05)  # mean over the common splits
