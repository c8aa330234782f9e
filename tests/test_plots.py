"""Plots for every kind of task, from synthetic records; leaderboard --plots and bench report."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from moviebench.cli import cli
from moviebench.leaderboard import aggregate
from moviebench.plots import pareto_front, write_plots
from moviebench.records import Record, record_path, write_predictions, write_record

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _records(task: str, target: str, metric: str) -> list[Record]:
    rng = np.random.default_rng(0)
    labels = (
        ["BAD", "AVG", "GOOD"]
        if target == "multiclass"
        else ["Action", "Drama", "Comedy", "Horror"]
    )
    out = []
    for model, family, base, fit in (
        ("baseline", "trivial", 0.2, 0.001),
        ("linear", "classical", 0.5, 0.3),
        ("net", "deep", 0.55, 20.0),
    ):
        for seed in (0, 1):
            details: dict = {}
            if target == "multiclass":
                details["confusion"] = rng.integers(0, 50, (3, 3)).tolist()
            if target == "multilabel":
                details["per_label"] = {
                    lab: {"ap": float(rng.uniform(0.2, 0.9)), "f1": 0.5, "support": 9}
                    for lab in labels
                }
                details["per_label"]["Horror"]["ap"] = (
                    None  # undefined AP must not break the heatmap
                )
            history = (
                [
                    {"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_score": e / 10}
                    for e in range(1, 6)
                ]
                if family == "deep"
                else []
            )
            out.append(
                Record.from_dict(
                    {
                        "task": task,
                        "source": "synthetic",
                        "model": model,
                        "family": family,
                        "seed": seed,
                        "target": target,
                        "primary_metric": metric,
                        "primary": base + 0.01 * seed,
                        "metrics": {metric: base + 0.01 * seed},
                        "details": details,
                        "history": history,
                        "fit_seconds": fit,
                        "predict_seconds": 0.1,
                        "status": "ok",
                        "split_hash": "s1",
                        "labels": labels,
                    }
                )
            )
    return out


def _valid_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()


def test_plots_for_every_task_kind(tmp_path: Path) -> None:
    records = (
        _records("quality", "multiclass", "macro_f1")
        + _records("genres", "multilabel", "mAP")
        + _records("match", "retrieval", "mrr")
    )
    links = write_plots(records, tmp_path)
    names = {key[0]: set(v) for key, v in links.items()}
    assert "quality-synthetic-confusion.png" in names["quality"]
    assert "genres-synthetic-per-label-ap.png" in names["genres"]
    for task in ("quality", "genres", "match"):
        assert {
            f"{task}-synthetic-primary.png",
            f"{task}-synthetic-pareto.png",
            f"{task}-synthetic-learning-curves.png",
        } <= names[task]
    for files in links.values():
        for name in files:
            _valid_png(tmp_path / name)


def test_pareto_front() -> None:
    points = [(0.001, 0.2), (0.3, 0.5), (1.0, 0.45), (20.0, 0.55)]
    assert pareto_front(points) == [0, 1, 3]


# Its records have no test scores on purpose: the board warns that ties cannot be marked.
@pytest.mark.filterwarnings("ignore::moviebench.errors.DamagedFileWarning")
def test_leaderboard_plots_and_report_embed_pngs(tmp_path: Path) -> None:
    out = tmp_path / "results"
    for r in _records("quality", "multiclass", "macro_f1"):
        write_record(record_path(out, r.task, r.source, r.model, r.seed), r)
    result = CliRunner().invoke(
        cli,
        ["leaderboard", "--out", str(out), "--plots", str(tmp_path / "plots"), "--format", "md"],
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "plots" / "leaderboard.md").read_text()
    assert "![quality-synthetic-pareto.png](quality-synthetic-pareto.png)" in page
    report = CliRunner().invoke(
        cli, ["report", "--results", str(out), "--out", str(tmp_path / "report")]
    )
    assert report.exit_code == 0, report.output
    text = (tmp_path / "report" / "README.md").read_text()
    assert "(plots/quality-synthetic-confusion.png)" in text
    _valid_png(tmp_path / "report" / "plots" / "quality-synthetic-confusion.png")


def test_rank_ties_from_paired_bootstrap(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 3, n)
    ids = np.array([f"m{i}" for i in range(n)])

    def scores(accuracy: float) -> np.ndarray:
        pred = np.where(rng.random(n) < accuracy, y, rng.integers(0, 3, n))
        return np.eye(3)[pred] * 0.8 + 0.2 / 3

    records = []
    for model, acc in (("strong", 0.9), ("strong-twin", 0.9), ("weak", 0.3)):
        s = scores(acc)
        r = {
            "task": "t",
            "source": "s",
            "model": model,
            "seed": 0,
            "family": "classical",
            "target": "multiclass",
            "primary_metric": "accuracy",
            "primary": float((s.argmax(1) == y).mean()),
            "status": "ok",
            "metrics": {"accuracy": float((s.argmax(1) == y).mean())},
        }
        path = record_path(tmp_path, "t", "s", model, 0)
        write_predictions(path, ids=ids, y=y, scores=s)
        record = Record.from_dict(r)
        record.path = path
        records.append(record)
    rows = aggregate(records)[("t", "s")]
    assert [r.model for r in rows][2] == "weak"
    assert rows[1].tie is True  # the twins: interval includes 0
    assert rows[2].tie is False  # weak is clearly worse


def test_pareto_labels_do_not_overlap_on_a_crowded_board() -> None:
    """Five models within a few seconds and 0.01 of each other (like tmdb-quality's trees):
    every label lands where it overlaps no other label."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Annotation

    from moviebench.plots import pareto_figure

    names = ["lightgbm", "xgboost", "random-forest", "mlp", "logreg", "majority", "cnn-lstm"]
    fits = [1.5, 2.2, 2.9, 8.8, 0.3, 0.0, 57.0]
    scores = [0.5613, 0.5601, 0.5522, 0.5481, 0.4846, 0.1736, 0.5405]
    family = {"majority": "trivial", "mlp": "deep", "cnn-lstm": "deep"}
    rows = [
        SimpleNamespace(model=n, family=family.get(n, "classical"), primary=s, primary_std=0.0,
                        fit_seconds=f, primary_metric="macro_f1", task="tmdb-quality")
        for n, f, s in zip(names, fits, scores)
    ]  # fmt: skip
    fig = pareto_figure(rows)
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[0].texts if isinstance(t, Annotation)]
    assert sorted(t.get_text() for t in labels) == sorted(names)
    boxes = [t.get_window_extent(renderer) for t in labels]
    overlapping = [
        (labels[i].get_text(), labels[j].get_text())
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i].overlaps(boxes[j])
    ]
    plt.close(fig)
    assert overlapping == []


def test_primary_plot_says_which_std_its_error_bars_are() -> None:
    """A row folded over split seeds is labelled with its splits and the title names both
    spreads; a board of model seeds only says model seeds."""
    import matplotlib.pyplot as plt

    from moviebench.plots import primary_figure

    def row(model: str, splits: dict[int, float]) -> SimpleNamespace:
        return SimpleNamespace(model=model, family="classical", primary=0.5, primary_std=0.01,
                               primary_metric="mAP", task="poster-genre", source="ml-1m",
                               n_seeds=3, split_primary=splits)  # fmt: skip

    folded = primary_figure([row("a", {1: 0.5, 2: 0.5, 3: 0.5}), row("b", {})])
    ticks = [t.get_text() for t in folded.axes[0].get_xticklabels()]
    assert ticks == ["a\n(3 splits)", "b\n(n=3)"]
    assert "across split seeds" in folded.axes[0].get_title()
    plain = primary_figure([row("b", {})])
    assert plain.axes[0].get_title().endswith("mean ± std over model seeds")
    plt.close("all")


# ---- the figures' data: readable ticks, the Pareto set, external rows, the best epoch ------

SAMPLE = Path(__file__).resolve().parents[1] / "results" / "sample"


def _sample_rows(external: bool = False):
    import dataclasses

    from moviebench.records import load_records

    (rows,) = aggregate(load_records(SAMPLE, "tmdb-quality")).values()
    if external:
        # trained elsewhere: no real fit time, and the best score on the board
        best = max(r.primary for r in rows if r.primary is not None)
        rows = [
            dataclasses.replace(
                rows[0], model="my-model", family="external", origin="external",
                primary=best + 0.01, fit_seconds=0.0,
            ),
            *rows,
        ]  # fmt: skip
    return rows


def test_pareto_ticks_are_readable_and_external_rows_left_off_with_a_note() -> None:
    from moviebench.plots import pareto_figure, pareto_front

    rows = _sample_rows(external=True)
    fig = pareto_figure(rows)
    ax = fig.axes[0]
    fig.canvas.draw()
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
    labels = [t.get_text() for t in ticks]
    assert labels and all(label.endswith((" ms", " s", " min")) for label in labels), labels
    assert len(labels) <= 8
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ticks if t.get_text()]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    # the external entry is not a point, not on the front, and the note names it
    shown = [r for r in rows if r.family != "external"]
    points = [(max(r.fit_seconds, 1e-3), r.primary) for r in shown]
    (front_line,) = [line for line in ax.get_lines() if line.get_label() == "Pareto front"]
    expected = [points[i] for i in pareto_front(points)]
    assert list(zip(front_line.get_xdata(), front_line.get_ydata())) == expected
    assert "my-model" not in [t.get_text() for t in ax.texts]
    assert "fit time unknown, trained elsewhere): my-model" in ax.get_xlabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"trivial", "classical", "deep"} <= set(legend)


def test_pareto_legend_names_every_colour_drawn() -> None:
    import dataclasses

    from moviebench.plots import pareto_figure

    rows = _sample_rows()
    rows = [dataclasses.replace(rows[0], model="odd", family="someday"), *rows]
    legend = [t.get_text() for t in pareto_figure(rows).axes[0].get_legend().get_texts()]
    assert "someday" in legend


def test_learning_curves_draw_the_score_that_picks_the_best_epoch() -> None:
    from moviebench.plots import learning_curves_figure
    from moviebench.records import load_records

    (mlp,) = [r for r in load_records(SAMPLE, "tmdb-quality") if r.model == "mlp"]
    fig = learning_curves_figure({"mlp": mlp})
    ax, right = fig.axes
    scores = [h["val_score"] for h in mlp.history]
    best = int(np.argmax(scores))  # the first best: the loop's rule
    epochs = [h["epoch"] for h in mlp.history]
    (curve,) = [line for line in right.get_lines() if line.get_label() == "val macro_f1"]
    assert list(curve.get_ydata()) == scores
    (star,) = [line for line in right.get_lines() if line.get_label() == "best"]
    assert list(star.get_xdata()) == [epochs[best]]
    (marker,) = [line for line in ax.get_lines() if line.get_label() == "best val epoch"]
    assert list(marker.get_xdata())[0] == epochs[best]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "val macro_f1" in legend and "val loss" in legend
