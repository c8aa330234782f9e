"""The headline line of a board: trivial, best classical, best deep, and the gap's interval."""

from __future__ import annotations

from pathlib import Path

from moviebench.leaderboard import aggregate, headline_markdown
from moviebench.options import RunOptions
from moviebench.runner import RunRequest, run
from tests.fixtures import write_ggplot2_csv


def test_headline_names_the_best_of_each_family_and_the_gap(tmp_path: Path) -> None:
    options = RunOptions(
        source="ggplot2movies", data=write_ggplot2_csv(tmp_path / "m.csv"), epochs=2
    )
    records = run(
        RunRequest(
            task="tmdb-quality", options=options, models=["logreg", "lightgbm", "mlp"], out=tmp_path
        )
    )
    boards = aggregate(records)
    rows = boards[("tmdb-quality", "ggplot2movies")]
    score = {r.model: r.primary for r in rows}
    best_classical = max(("logreg", "lightgbm"), key=score.get)
    line = headline_markdown(boards).splitlines()[-1]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[:3] == ["tmdb-quality", "ggplot2movies", "macro_f1"]
    assert cells[3] == f"{score['majority']:.4f} (majority)"
    assert cells[4] == f"{score[best_classical]:.4f} ({best_classical})"
    assert cells[5] == f"{score['mlp']:.4f} (mlp)"
    diff, interval = cells[6].split(" ", 1)
    assert float(diff) == round(score["mlp"] - score[best_classical], 4)
    low, high = (float(x) for x in interval.strip("[]").split(","))
    assert low <= float(diff) <= high  # the point difference lies in its own interval


def test_a_board_without_deep_rungs_says_so(tmp_path: Path) -> None:
    options = RunOptions(source="ggplot2movies", data=write_ggplot2_csv(tmp_path / "m.csv"))
    records = run(RunRequest(task="tmdb-quality", options=options, models=["logreg"], out=tmp_path))
    line = headline_markdown(aggregate(records)).splitlines()[-1]
    assert line.rstrip(" |").endswith("— | —")


def test_the_html_report_opens_with_the_headline(tmp_path: Path) -> None:
    from moviebench.report_html import render_page

    options = RunOptions(source="ggplot2movies", data=write_ggplot2_csv(tmp_path / "m.csv"))
    records = run(RunRequest(task="tmdb-quality", options=options, models=["logreg"], out=tmp_path))
    page = render_page(records, images={})
    head = page.index("<table class=headline>")
    cells = headline_markdown(aggregate(records)).splitlines()[-1].strip("| ").split(" | ")
    row = "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    assert head < page.index(row) < page.index("<table class=board")


def test_a_lower_is_better_headline_ranks_by_the_smallest_error(tmp_path: Path) -> None:
    """tmdb-rating's RMSE: the best row is the smallest error, the metric is marked ↓, and a
    network worse than the trees shows a positive deep − classical gap."""
    options = RunOptions(
        source="ggplot2movies", data=write_ggplot2_csv(tmp_path / "m.csv"), epochs=1
    )
    records = run(
        RunRequest(task="tmdb-rating", options=options, models=["ridge", "mlp"], out=tmp_path)
    )
    boards = aggregate(records)
    score = {r.model: r.primary for r in boards[("tmdb-rating", "ggplot2movies")]}
    cells = [c.strip() for c in headline_markdown(boards).splitlines()[-1].strip("|").split("|")]
    assert cells[2] == "rmse ↓"
    assert cells[3] == f"{score['mean-predictor']:.4f} (mean-predictor)"
    assert score["ridge"] < score["mean-predictor"]
    assert float(cells[6].split(" ", 1)[0]) == round(score["mlp"] - score["ridge"], 4)
