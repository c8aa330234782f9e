"""Rank ties are measured against the leader of a rank group, never chained through neighbours."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from moviebench.leaderboard import mark_ties


def test_a_chain_a_b_c_with_a_not_c_does_not_share_one_rank() -> None:
    # Paired bootstrap draws: A - B and B - C straddle 0, A - C is clearly positive.
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, 200)
    per_model = {"A": 0.30 + noise, "B": 0.29 + noise * 3, "C": 0.25 + rng.normal(0, 0.01, 200)}
    rows = [SimpleNamespace(model=m, diff_ci=None, tie=None) for m in "ABC"]
    b_minus_c = np.percentile(per_model["B"] - per_model["C"], [2.5, 97.5])
    assert b_minus_c[0] <= 0 <= b_minus_c[1]  # B ≈ C as well: a neighbour rule would chain
    mark_ties(rows, per_model)  # type: ignore[arg-type]
    assert rows[1].tie is True  # B ties A: its interval to A includes 0
    assert rows[2].tie is False  # C is measured against A, the leader, not against B
    low, high = rows[2].diff_ci
    assert 0 < low < high  # A - C excludes 0
    low, high = rows[1].diff_ci
    assert low <= 0 <= high


def test_a_row_that_breaks_from_the_leader_starts_a_new_group() -> None:
    noise = np.random.default_rng(1).normal(0, 0.002, 200)
    per_model = {"A": 0.5 + noise, "B": 0.4 + noise, "C": 0.4 + noise[::-1]}
    rows = [SimpleNamespace(model=m, diff_ci=None, tie=None) for m in "ABC"]
    mark_ties(rows, per_model)  # type: ignore[arg-type]
    assert [r.tie for r in rows] == [None, False, True]  # C ties B, the new leader
