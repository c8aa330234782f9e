"""`bench summary`: normalised scores, ranks, wins and verdicts across boards, on hand-built
boards (ties, a lower-is-better metric, a rung missing on one board) and on a real run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moviebench.leaderboard import BoardRow, mark_deep_gap, mark_ties
from moviebench.summary import complete_block, summarise
from tests.fixtures import bench, write_ggplot2_csv


def _row(task: str, model: str, family: str, metric: str, primary: float) -> BoardRow:
    return BoardRow(
        task=task, source="s", model=model, family=family, pretrained_weights=False,
        primary_metric=metric, primary=primary, primary_std=0.0, n_seeds=1, seeds=[0],
        metrics={metric: primary}, fit_seconds=1.0, fit_seconds_per_1k=None, predict_seconds=0.1,
        peak_memory_mb=None,
        n_params=10, params_source="defaults", profile="quick", epochs=None, truncated=False,
        status="ok", error=None, split_hash="h",
    )  # fmt: skip


def _board(task: str, metric: str, rungs: list[tuple[str, str, float, float]]) -> tuple:
    """Rows best first (as `aggregate` sorts them) and paired draws with the given noise."""
    rng = np.random.default_rng(len(task))
    sign = -1 if metric == "rmse" else 1
    rows = sorted(
        (_row(task, m, f, metric, p) for m, f, p, _ in rungs), key=lambda r: -sign * r.primary
    )
    draws = {m: p + rng.normal(0, noise, 200) for m, _, p, noise in rungs}
    mark_ties(rows, draws)
    mark_deep_gap(rows, draws)
    return rows, draws


@pytest.fixture
def hand_built() -> tuple[dict, dict]:
    # A (mAP, higher is better): y ties x (noisy draws), prior is the floor.
    a_rows, a_draws = _board(
        "A",
        "mAP",
        [
            ("x", "classical", 0.50, 0.02),
            ("y", "deep", 0.49, 0.02),
            ("prior", "trivial", 0.1, 0.001),
        ],
    )
    # B (rmse, lower is better): x best, z halfway to the trivial baseline; y did not run.
    b_rows, b_draws = _board(
        "B",
        "rmse",
        [
            ("mean-predictor", "trivial", 1.0, 0.001),
            ("x", "classical", 0.6, 0.001),
            ("z", "pretrained", 0.8, 0.001),
        ],
    )
    return {("A", "s"): a_rows, ("B", "s"): b_rows}, {("A", "s"): a_draws, ("B", "s"): b_draws}


def test_normalised_scores_ranks_and_wins_with_a_tie_and_a_missing_rung(hand_built) -> None:
    boards, draws = hand_built
    assert boards[("A", "s")][1].tie is True  # the board ranks y 1= with x
    s = summarise([], resamples=200, boards=(boards, draws))
    rung = {e.name: e for e in s.rungs}
    assert s.boards == ["A on s", "B on s"]
    # x leads both boards: normalised 1 on each, whichever way the metric points
    assert (rung["x"].won, rung["x"].mean_rank, rung["x"].mean_normalised) == (2, 1.0, 1.0)
    # y: tied with the leader on A (a win, rank 1), absent from B and said so
    assert rung["y"].missing == ["B on s"] and rung["y"].boards == ["A on s"]
    assert (rung["y"].won, rung["y"].mean_rank) == (1, 1.0)
    assert rung["y"].mean_normalised == pytest.approx((0.49 - 0.1) / (0.50 - 0.1))
    # z on the RMSE board: (0.8 − 1.0) / (0.6 − 1.0) = 0.5, second of three
    assert rung["z"].mean_normalised == pytest.approx(0.5)
    assert (rung["z"].won, rung["z"].mean_rank) == (0, 2.0)
    assert rung["prior"].mean_normalised == 0.0 and rung["mean-predictor"].mean_rank == 3.0
    # every interval holds its point value
    for e in s.rungs + s.families:
        assert e.rank_ci[0] <= e.mean_rank <= e.rank_ci[1]
        if e.mean_normalised is not None:
            assert e.normalised_ci[0] - 1e-9 <= e.mean_normalised <= e.normalised_ci[1] + 1e-9


def test_families_and_their_verdicts(hand_built) -> None:
    boards, draws = hand_built
    s = summarise([], resamples=200, boards=(boards, draws))
    fam = {e.name: e for e in s.families}
    assert list(fam) == ["trivial", "classical", "pretrained", "deep"]
    assert (fam["classical"].won, fam["classical"].mean_rank) == (2, 1.0)
    # deep ties classical on A (the board's tie rule), so it ranks 1 among families there
    assert (fam["deep"].won, fam["deep"].mean_rank, fam["deep"].missing) == (1, 1.0, ["B on s"])
    assert (fam["pretrained"].mean_rank, fam["trivial"].mean_rank) == (2.0, 3.0)
    deep, pretrained = s.verdicts["deep"], s.verdicts["pretrained"]
    assert (deep.ahead, deep.tied, deep.behind, deep.boards) == (0, 1, 0, 1)
    assert (pretrained.ahead, pretrained.tied, pretrained.behind) == (0, 0, 1)
    assert s.verdicts["classical"].ahead == 2  # both boards beat their trivial baseline
    deep_sentence = next(x for x in s.sentences if x.startswith("Deep rungs trained here"))
    assert "beat the best classical rung on 0 of 1 boards where both ran (tie on 1" in deep_sentence
    assert "absent from 1 of 2 boards" in deep_sentence


def test_the_complete_block_keeps_most_families_then_most_boards() -> None:
    scores = {f"b{i}": {"trivial": 0.0, "classical": 1.0, "deep": 2.0} for i in range(6)}
    scores["b0"]["pretrained"] = 3.0  # on one board only: dropped rather than keep one board
    families, boards = complete_block(scores)
    assert families == ["trivial", "classical", "deep"] and len(boards) == 6
    assert complete_block({"b0": {"trivial": 0.0, "classical": 1.0}}) == ([], [])
    scores = {f"b{i}": {"trivial": 0.0, "classical": 1.0, "deep": 2.0} for i in range(8)}
    for i in range(5):
        scores[f"b{i}"]["pretrained"] = 3.0  # four families on 5 boards: 20 cells < 3 x 8
    assert complete_block(scores) == (["trivial", "classical", "deep"], list(scores))
    for i in range(5, 7):
        scores[f"b{i}"]["pretrained"] = 3.0  # on 7 boards: 28 cells > 24
    assert complete_block(scores)[0] == ["trivial", "classical", "pretrained", "deep"]


def test_elo_is_not_shown_when_every_board_ranks_the_families_alike() -> None:
    from moviebench.summary import Entry, family_elo

    scores = {f"b{i}": {"trivial": 0.0, "classical": 1.0 + i, "deep": 9.0} for i in range(6)}
    entries = [
        Entry(name=f, family=f, boards=list(scores), missing=[], won=0, mean_rank=1.0,
              rank_ci=None, mean_normalised=None, normalised_ci=None, fit_seconds=None,
              n_params=None)
        for f in ("trivial", "classical", "deep")
    ]  # fmt: skip
    note = family_elo(entries, scores)
    assert note.startswith("Elo not shown: deep > classical > trivial on every one of the 6")
    assert [e.elo for e in entries] == [None, None, None]
    assert [e.winrate for e in entries] == [0.0, 0.5, 1.0]


def test_bench_summary_prints_the_family_table(tmp_path: Path, capsys, monkeypatch) -> None:
    data = str(write_ggplot2_csv(tmp_path / "m.csv"))
    out = str(tmp_path / "r")
    for task in ("tmdb-quality", "tmdb-rating"):
        code, _, err = bench(
            capsys, monkeypatch, "run", "--task", task, "--source", "ggplot2movies",
            "--data", data, "--models", "ridge" if task == "tmdb-rating" else "logreg",
            "--out", out,
        )  # fmt: skip
        assert code == 0, err
    code, printed, err = bench(
        capsys, monkeypatch, "summary", "--out", out, "--plots", str(tmp_path / "p")
    )
    assert code == 0, err
    assert "families over 2 boards" in printed
    assert "Classical rungs beat the trivial baseline on" in printed
    assert "needs at least 5 boards" in printed  # two boards: no critical-difference test
    assert (tmp_path / "p" / "summary-cost-gain.png").exists()
