"""The headline line of a board: the best of each of the four families, and the gaps' intervals."""

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
    cells = [c.strip().replace("\\", "") for c in line.strip("|").split("|")]  # md-escaped
    assert cells[:4] == ["tmdb-quality", "ggplot2movies", "quick", "macro_f1"]
    assert cells[4] == f"{score['majority']:.4f} (majority)"
    assert cells[5] == f"{score[best_classical]:.4f} ({best_classical})"
    assert cells[6] == "—"  # no pretrained rung ran: mlp is deep, not pretrained
    assert cells[7] == f"{score['mlp']:.4f} (mlp)"
    assert cells[8] == "—"
    diff, interval = cells[9].split(" ", 1)
    assert float(diff) == round(score["mlp"] - score[best_classical], 4)
    low, high = (float(x) for x in interval.split("]")[0].strip("[").split(","))
    assert low <= float(diff) <= high  # the point difference lies in its own interval
    # the board's tie rule: "tie" exactly when the interval includes 0
    assert interval.endswith(" tie") == (low <= 0 <= high)
    rows_by = {r.model: r for r in rows}
    fit_c, fit_p, fit_d = cells[10].split(" / ")
    assert (fit_p, float(fit_d)) == ("—", round(rows_by["mlp"].fit_seconds, 2))


def test_a_board_without_deep_rungs_says_so(tmp_path: Path) -> None:
    options = RunOptions(source="ggplot2movies", data=write_ggplot2_csv(tmp_path / "m.csv"))
    records = run(RunRequest(task="tmdb-quality", options=options, models=["logreg"], out=tmp_path))
    line = headline_markdown(aggregate(records)).splitlines()[-1]
    cells = [c.strip().replace("\\", "") for c in line.strip("|").split("|")]  # md-escaped
    assert cells[6:10] == ["—", "—", "—", "—"]  # no pretrained, no deep rung, no gaps


def test_the_html_report_opens_with_the_headline(tmp_path: Path) -> None:
    from moviebench.report_html import render_page

    options = RunOptions(source="ggplot2movies", data=write_ggplot2_csv(tmp_path / "m.csv"))
    records = run(RunRequest(task="tmdb-quality", options=options, models=["logreg"], out=tmp_path))
    page = render_page(records, images={})
    head = page.index("<table class=headline>")
    line = headline_markdown(aggregate(records)).splitlines()[-1]
    cells = line.replace("\\", "").strip("| ").split(" | ")  # md-escaped
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
    assert cells[3] == "rmse ↓"
    assert cells[4] == f"{score['mean-predictor']:.4f} (mean-predictor)"
    assert score["ridge"] < score["mean-predictor"]
    assert float(cells[9].split(" ", 1)[0]) == round(score["mlp"] - score["ridge"], 4)


def test_pretrained_and_deep_are_apart_and_pretrained_weights_are_marked() -> None:
    """A frozen-feature head is the best *pretrained* rung, never the best deep one; a deep
    rung that starts from weights learned elsewhere says so."""
    from moviebench.leaderboard import BoardRow, headline_rows

    def row(model: str, family: str, primary: float, weights: bool = False) -> BoardRow:
        return BoardRow(
            task="poster-genre", source="movielens-1m", model=model, family=family,
            pretrained_weights=weights, primary_metric="mAP", primary=primary,
            primary_std=0.0, n_seeds=1, seeds=[0], metrics={}, fit_seconds=1.0, fit_seconds_per_1k=None,
            predict_seconds=0.1, peak_memory_mb=None, n_params=1000, params_source="defaults",
            profile="full", epochs=None, truncated=False, status="ok", error=None,
            split_hash="h",
        )  # fmt: skip

    rows = [
        row("effnet-logreg", "pretrained", 0.26, weights=True),
        row("resnet18-pretrained", "deep", 0.22, weights=True),
        row("hist-logreg", "classical", 0.21),
        row("prior", "trivial", 0.15),
    ]
    (cells,) = headline_rows({("poster-genre", "movielens-1m (profile full)"): rows})
    assert cells[1:3] == ["movielens-1m", "full"]
    assert cells[6] == "0.2600 (effnet-logreg)"
    assert cells[7] == "0.2200 (resnet18-pretrained, pretrained weights)"


def test_tuned_rows_get_their_own_headline_row_measured_tuned_against_tuned(
    tmp_path: Path,
) -> None:
    """Default and tuned are never mixed: the board's default row compares defaults, a second
    row compares every rung tuned (trials named), and the summary reads defaults only."""
    from moviebench.records import load_records
    from moviebench.summary import summarise
    from moviebench.tuning import TuneRequest, tune

    options = RunOptions(
        source="ggplot2movies", data=write_ggplot2_csv(tmp_path / "m.csv"), epochs=1
    )
    out = tmp_path / "res"
    for model in ("logreg", "mlp"):
        tune(TuneRequest(task="tmdb-quality", model=model, options=options, trials=2, out=out))
    for tuned in (False, True):
        run(
            RunRequest(
                task="tmdb-quality", options=options, models=["logreg", "mlp"], out=out,
                tuned=tuned,
            )
        )  # fmt: skip
    records = load_records(out, "tmdb-quality")
    boards = aggregate(records)
    (rows,) = boards.values()
    score = {r.key: r.primary for r in rows}
    assert {"logreg (tuned)", "mlp (tuned)", "logreg", "mlp", "majority"} == set(score)
    lines = headline_markdown(boards).splitlines()[2:]
    assert len(lines) == 2
    default, tuned = ([c.strip().replace("\\", "") for c in x.strip("|").split("|")] for x in lines)
    assert default[2] == "quick" and tuned[2] == "quick, tuned (2 trials)"
    assert default[5] == f"{score['logreg']:.4f} (logreg)"
    assert default[7] == f"{score['mlp']:.4f} (mlp)"
    assert float(default[9].split()[0]) == round(score["mlp"] - score["logreg"], 4)
    assert tuned[4] == f"{score['majority']:.4f} (majority)"  # nothing to tune: its own self
    assert tuned[5] == f"{score['logreg (tuned)']:.4f} (logreg (tuned))"
    assert tuned[7] == f"{score['mlp (tuned)']:.4f} (mlp (tuned))"
    assert float(tuned[9].split()[0]) == round(score["mlp (tuned)"] - score["logreg (tuned)"], 4)
    summary = summarise(records, resamples=20)
    assert sorted(e.name for e in summary.rungs) == ["logreg", "majority", "mlp"]
    defaults_only = summarise([r for r in records if "tuned" not in Path(r.path).parts])
    assert [e.mean_rank for e in summary.rungs] == [e.mean_rank for e in defaults_only.rungs]
