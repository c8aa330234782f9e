"""Leaderboard plots, drawn from stored records alone (matplotlib, Agg backend: no display).

Per (task, source):
- the primary metric per model with error bars over seeds;
- the primary metric against fit seconds on a log axis, with the Pareto front marked;
- multiclass: the confusion matrix of the best model;
- multi-label: a per-label AP heatmap across models;
- deep models: learning curves (train and validation loss per epoch, and the validation
  score that picks the best epoch) from record history.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: works on headless CI machines
import matplotlib.pyplot as plt

# Every label here is data (model names, genres, titles): "Money $_$ Films" is text, not math.
matplotlib.rcParams["text.parse_math"] = False
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from moviebench.leaderboard import BoardRow, aggregate, board_keys  # noqa: E402
from moviebench.metrics import higher_is_better  # noqa: E402
from moviebench.records import Record  # noqa: E402

FAMILY_COLORS = {
    "trivial": "#9e9e9e",
    "classical": "#1f77b4",
    "pretrained": "#2ca02c",
    "deep": "#d62728",
}
DPI = 110


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(
        path, dpi=DPI, bbox_inches="tight"
    )  # tight_layout alone clips labels beside colour bars
    plt.close(fig)
    return path


def plot_primary(rows: list[BoardRow], path: Path) -> Path:
    """Bar per model: mean primary metric, error bar = its std (across split seeds for a row
    folded over several, else over model seeds)."""
    return _save(primary_figure(rows), path)


def primary_figure(rows: list[BoardRow]) -> plt.Figure:
    """`plot_primary`'s figure, unsaved (tests read its labels)."""
    rows = [r for r in rows if r.primary is not None]
    metric = rows[0].primary_metric
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(rows) + 2), 3.8))
    x = np.arange(len(rows))
    ax.bar(
        x,
        [r.primary for r in rows],
        yerr=[r.primary_std or 0.0 for r in rows],
        capsize=4,
        color=[FAMILY_COLORS.get(r.family, "#555") for r in rows],
    )
    # A row folded over several split seeds shows their std (n = splits), the others the std
    # over model seeds on the default split: the tick label and title say which is which.
    folded = [len(r.split_primary) > 1 for r in rows]
    ax.set_xticks(
        x,
        [
            f"{r.model}\n({len(r.split_primary)} splits)" if f else f"{r.model}\n(n={r.n_seeds})"
            for r, f in zip(rows, folded)
        ],
        rotation=30,
        ha="right",
        fontsize=8,
    )
    ax.set_ylabel(f"test {metric}")
    spread = (
        "std across split seeds where a row has splits, else over model seeds"
        if any(folded)
        else "std over model seeds"
    )
    ax.set_title(f"{rows[0].task} on {rows[0].source}: {metric}, mean ± {spread}", fontsize=9)
    # Patches, not empty bars: an empty bar container loses its colour in the legend.
    present = [f for f in FAMILY_COLORS if any(r.family == f for r in rows)]
    ax.legend(
        handles=[Patch(color=FAMILY_COLORS[f], label=f) for f in present], fontsize=7, loc="best"
    )
    ax.grid(axis="y", alpha=0.3)
    return fig


def pareto_front(points: list[tuple[float, float]], maximise: bool = True) -> list[int]:
    """Indices of points no other point beats on both cost (lower) and score, cheapest first."""
    order = sorted(
        range(len(points)),
        key=lambda i: (points[i][0], -points[i][1] if maximise else points[i][1]),
    )
    front, best = [], None
    for i in order:
        score = points[i][1]
        if best is None or (score > best if maximise else score < best):
            front.append(i)
            best = score
    return front


# Where a point's label may go, in offset points: right, then left, then further up or down.
LABEL_SPOTS = [
    (5, 4, "left"), (5, -11, "left"), (-5, 4, "right"), (-5, -11, "right"),
    (5, 13, "left"), (5, -20, "left"), (-5, 13, "right"), (-5, -20, "right"),
    (5, 22, "left"), (5, -29, "left"), (-5, 22, "right"), (-5, -29, "right"),
]  # fmt: skip


def label_points(ax: Any, labels: list[str], points: list[tuple[float, float]]) -> list[Any]:
    """Annotate each point where its text overlaps no other label and no marker: the first free
    spot of LABEL_SPOTS (measured in display space after a draw), else the least crowded."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    markers = [
        Bbox.from_extents(px - 4, py - 4, px + 4, py + 4)
        for px, py in ax.transData.transform(np.asarray(points, dtype=float))
    ]
    legend = ax.get_legend()
    taken: list[Any] = [legend.get_window_extent(renderer)] if legend is not None else []
    texts = []
    for label, (x, y), marker in zip(labels, points, markers):
        best, best_hits = None, None
        for dx, dy, ha in LABEL_SPOTS:
            text = ax.annotate(
                label, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=8, ha=ha
            )
            box = text.get_window_extent(renderer).padded(1)
            others = [m for m in markers if m is not marker]
            hits = sum(box.overlaps(b) for b in taken + others)
            if best_hits is None or hits < best_hits:
                if best is not None:
                    best[0].remove()
                best, best_hits = (text, box), hits
            else:
                text.remove()
            if hits == 0:
                break
        assert best is not None
        taken.append(best[1])
        texts.append(best[0])
    return texts


def unknown_cost(row: BoardRow) -> bool:
    """A row whose fit time is not known: an entry trained elsewhere (`bench score`) records
    no real fit seconds, so it has no place on a cost axis."""
    origin = getattr(row, "origin", "moviebench")
    return "external" in (origin, row.family) or row.fit_seconds is None


def pareto_figure(rows: list[BoardRow]) -> Any:
    """Primary metric against fit seconds (log axis) with the Pareto front and one label per
    point, placed so that no two labels overlap (where the axes leave room). Rows whose fit
    time is unknown (`unknown_cost`) are left off, named in a note under the axes."""
    scored = [r for r in rows if r.primary is not None]
    left_off = [r.model for r in scored if unknown_cost(r)]
    rows = [r for r in scored if not unknown_cost(r)]
    metric = rows[0].primary_metric
    # A trivial baseline fits in microseconds; clamp so the log axis stays readable.
    points = [(max(r.fit_seconds, 1e-3), r.primary) for r in rows]
    front = pareto_front(points, higher_is_better(metric))
    fig, ax = plt.subplots(figsize=(6, 4))
    for r, (x, y) in zip(rows, points):
        ax.errorbar(
            x,
            y,
            yerr=r.primary_std or 0.0,
            fmt="o",
            color=FAMILY_COLORS.get(r.family, "#555"),
            capsize=3,
        )
    fx, fy = zip(*[points[i] for i in front])
    ax.step(fx, fy, where="post", color="black", lw=1, ls="--", label="Pareto front")
    ax.set_xscale("log")
    ax.margins(x=0.15, y=0.15)  # room for the labels of the extreme points inside the axes
    _plain_log_ticks(ax)
    ax.set_xlabel("fit seconds (log)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title(f"{rows[0].task}: {metric} vs training cost", fontsize=9)
    for family in dict.fromkeys([*FAMILY_COLORS, *(r.family for r in rows)]):
        if any(r.family == family for r in rows):  # every colour drawn is in the legend
            ax.plot([], [], "o", color=FAMILY_COLORS.get(family, "#555"), label=family)
    ax.legend(fontsize=7, loc="best")  # "best" keeps clear of the points; labels keep clear of it
    ax.grid(alpha=0.3, which="both")
    # best first: the models people look for get the first pick of spots
    order = sorted(range(len(rows)), key=lambda i: -points[i][1])
    label_points(ax, [rows[i].model for i in order], [points[i] for i in order])
    if left_off:  # under the axis label, so it never covers a tick or a point
        ax.set_xlabel(
            "fit seconds (log)\nnot shown (fit time unknown, trained elsewhere): "
            + ", ".join(left_off)
        )
    return fig


def plot_pareto(rows: list[BoardRow], path: Path) -> Path:
    """The Pareto plot (`pareto_figure`) saved as a PNG: the classical-vs-deep answer."""
    return _save(pareto_figure(rows), path)


def best_record(records: list[Record]) -> Record | None:
    ok = [r for r in records if r.status == "ok" and r.primary is not None]
    if not ok:
        return None
    sign = 1 if higher_is_better(ok[0].primary_metric) else -1
    return max(ok, key=lambda r: sign * r.primary)


def plot_confusion(record: Record, path: Path) -> Path:
    """Row-normalised confusion matrix of one record (counts written in the cells)."""
    cm = np.asarray(record.details["confusion"], dtype=float)
    labels = record.details.get("bin_labels") or record.labels or [str(i) for i in range(len(cm))]
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{int(cm[i, j])}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{record.model} (seed {record.seed}), test split", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    return _save(fig, path)


def per_label_ap(records: list[Record]) -> tuple[list[str], list[str], np.ndarray]:
    """Models x labels matrix of test AP, averaged over seeds (NaN where AP is undefined)."""
    by_model: dict[str, list[dict]] = defaultdict(list)  # per-label tables
    for r in records:
        if r.status == "ok" and r.details.get("per_label"):
            by_model[r.model].append(r.details["per_label"])
    labels = sorted({label for tables in by_model.values() for t in tables for label in t})
    models = sorted(by_model)
    matrix = np.full((len(models), len(labels)), np.nan)
    for i, model in enumerate(models):
        for j, label in enumerate(labels):
            aps = [
                t[label]["ap"]
                for t in by_model[model]
                if label in t and t[label].get("ap") is not None
            ]
            if aps:
                matrix[i, j] = float(np.mean(aps))
    return models, labels, matrix


def plot_per_label_heatmap(records: list[Record], path: Path) -> Path | None:
    models, labels, matrix = per_label_ap(records)
    if not models:
        return None
    # Best mean AP at the top, so the rows read like the leaderboard.
    order = np.argsort(
        -np.nan_to_num(np.nanmean(np.where(np.isnan(matrix), np.nan, matrix), axis=1), nan=-1)
    )
    models, matrix = [models[i] for i in order], matrix[order]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(labels) + 2.5), 0.45 * len(models) + 2))
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    if len(labels) * len(models) <= 300:
        for i in range(len(models)):
            for j in range(len(labels)):
                if not np.isnan(matrix[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{matrix[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if matrix[i, j] < 0.5 else "black",
                    )
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(models)), models, fontsize=8)
    ax.set_title("per-label average precision, test split (mean over seeds)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.03, label="AP")
    return _save(fig, path)


def plot_learning_curves(records: list[Record], path: Path) -> Path | None:
    """Train and validation loss per epoch for every record with a history (one seed per model)."""
    curves: dict[str, Record] = {}
    for r in sorted(records, key=lambda r: r.seed):
        if r.status == "ok" and r.history and r.model not in curves:
            curves[r.model] = r
    if not curves:
        return None
    return _save(learning_curves_figure(curves), path)


def best_epoch_index(history: list[dict[str, float]]) -> int:
    """The epoch whose weights the loop kept: the first with the best validation score (the
    metric that chooses it, not the loss; loop.best_epoch)."""
    return max(range(len(history)), key=lambda i: history[i].get("val_score", -np.inf))


def learning_curves_figure(curves: dict[str, Record]) -> Any:
    """Per model: train and validation loss (left axis) and, on the right axis, the
    validation score that chooses the best epoch, with that epoch marked on it."""
    fig, axes = plt.subplots(1, len(curves), figsize=(5.4 * len(curves), 3.6), squeeze=False)
    for ax, (model, r) in zip(axes[0], curves.items()):
        history = r.history
        epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
        for key, style in (("train_loss", "-"), ("val_loss", "--")):
            values = [h.get(key) for h in history]
            if any(v is not None for v in values):
                ax.plot(epochs, values, style, marker=".", label=key.replace("_", " "))
        best = best_epoch_index(history)
        ax.axvline(epochs[best], color="grey", lw=0.8, ls=":", label="best val epoch")
        scores = [h.get("val_score") for h in history]
        if any(v is not None for v in scores):
            right = ax.twinx()
            name = f"val {r.primary_metric}"
            right.plot(epochs, scores, "-", color="#2ca02c", marker=".", label=name)
            right.plot([epochs[best]], [scores[best]], "*", color="#2ca02c", ms=12, label="best")
            right.set_ylabel(f"{name} (chooses the epoch)", fontsize=8)
            lines = ax.get_legend_handles_labels()
            extra = right.get_legend_handles_labels()
            ax.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=7)
        else:
            ax.legend(fontsize=7)
        ax.set_title(f"{model} (seed {r.seed})", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
    return fig


def plot_scaling(points: list[Record], path: Path, metric: str, title: str) -> Path:
    """Primary metric against training-set size, one line per model (mean ± std over seeds)."""
    by_model: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    family = {}
    for p in points:
        if p.primary is not None:
            by_model[p.model][p.n_train].append(p.primary)
            family[p.model] = p.family
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, sizes in sorted(by_model.items()):
        xs = sorted(sizes)
        ax.errorbar(
            xs,
            [np.mean(sizes[x]) for x in xs],
            yerr=[np.std(sizes[x]) for x in xs],
            marker="o",
            capsize=3,
            label=model,
            ls=":" if family.get(model) == "trivial" else "-",
        )
    ax.set_xscale("log")
    ax.set_xlabel("training rows (log)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def write_plots(
    records: list[Record], out_dir: Path, link_prefix: str = "", across_splits: bool = False
) -> dict[tuple[str, str], list[str]]:
    """Every plot for every (task, source) in `records`; returns image links per board.

    Links are `link_prefix` + file name, so markdown written elsewhere can point into `out_dir`.
    """
    out_dir = Path(out_dir)
    boards = aggregate(records, across_splits)
    by_board: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for key, r in zip(board_keys(records, across_splits), records):
        by_board[key].append(r)
    links: dict[tuple[str, str], list[str]] = {}
    for (task, source), rows in boards.items():
        stem = slug(f"{task}-{source}")
        recs = by_board[(task, source)]
        made: list[Path | None] = []
        if any(r.primary is not None for r in rows):
            made.append(plot_primary(rows, out_dir / f"{stem}-primary.png"))
            if any(r.fit_seconds is not None for r in rows):
                made.append(plot_pareto(rows, out_dir / f"{stem}-pareto.png"))
        # Each plot where the records have its data: a confusion matrix of classes (or of a
        # regression's bins), per-label scores.
        best = best_record(recs)
        if best and best.details.get("confusion"):
            made.append(plot_confusion(best, out_dir / f"{stem}-confusion.png"))
        if any(r.details.get("per_label") for r in recs):
            made.append(plot_per_label_heatmap(recs, out_dir / f"{stem}-per-label-ap.png"))
        made.append(plot_learning_curves(recs, out_dir / f"{stem}-learning-curves.png"))
        links[(task, source)] = [link_prefix + p.name for p in made if p is not None]
    return links


def _plain_log_ticks(ax: Any) -> None:
    """Plain tick labels on a log x axis: the package turns mathtext off, so matplotlib's
    default 10^k labels would show as raw `$\\mathdefault{10^{1}}$`."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    # Decades only when the axis spans several (1, 2, 5 there ran labels together:
    # "0.00020.0050.01"), and at most a handful of labels; seconds read as "1 ms", "10 s".
    low, high = (max(v, 1e-9) for v in ax.get_xlim())
    subs = (1.0, 2.0, 5.0) if np.log10(high / low) < 2 else (1.0,)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs, numticks=8))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: seconds_label(v)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def seconds_label(value: float) -> str:
    """A tick of a seconds axis: 1 ms, 10 ms, 0.1 s, 1 s, 10 s, 2 min."""
    if value < 0.1:
        return f"{value * 1000:g} ms"
    if value < 120:
        return f"{value:g} s"
    return f"{value / 60:g} min"


def plot_cd_diagram(cd: Any, path: Path) -> Path | None:
    """autorank's critical-difference diagram of the families' ranks over boards, or None
    when no test ran (`summary.critical_difference` says why)."""
    if cd.result is None or cd.cd is None:
        return None
    import contextlib
    import io

    from autorank import plot_stats

    with contextlib.redirect_stdout(io.StringIO()):
        ax = plot_stats(cd.result)
    fig = ax.figure
    fig.suptitle(
        f"Critical difference over {len(cd.boards)} boards ({cd.test}, p = {cd.pvalue:.3g})",
        fontsize=9,
        y=1.12,  # above autorank's own "CD" bar
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")  # autorank's axes refuse tight_layout
    plt.close(fig)
    return path


def plot_cost_gain(
    points: list[tuple[str, str, str, float, float | None]], path: Path
) -> Path | None:
    """Normalised gain ((score − trivial) / (best − trivial)) against fit seconds on a log
    axis, every finished rung of every board, one colour per family."""
    shown = [p for p in points if p[4] is not None and p[4] > 0 and p[2] != "trivial"]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    for family, color in FAMILY_COLORS.items():
        mine = [p for p in shown if p[2] == family]
        if mine:
            ax.scatter(
                [max(p[4], 1e-3) for p in mine], [p[3] for p in mine], color=color,
                label=family, alpha=0.8, edgecolors="white", linewidths=0.5,
            )  # fmt: skip
    ax.set_xscale("log")
    _plain_log_ticks(ax)
    ax.axhline(0, color=FAMILY_COLORS["trivial"], lw=0.8, ls="--")
    ax.axhline(1, color="#555", lw=0.5, ls=":")
    ax.set_xlabel("fit seconds (log; under 1 ms drawn at 0.001)")
    ax.set_ylabel("normalised score: 0 = trivial, 1 = board's best")
    boards = len({p[0] for p in shown})
    ax.set_title(f"Cost against gain: {len(shown)} rungs on {boards} boards", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def write_summary_plots(summary: Any, folder: Path) -> tuple[list[str], Any]:
    """The critical-difference diagram and the cost-versus-gain plot into `folder`; their file
    names and the critical-difference result."""
    from moviebench.summary import critical_difference

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cd = critical_difference(summary)
    written = [
        plot_cd_diagram(cd, folder / "summary-critical-difference.png"),
        plot_cost_gain(summary.points, folder / "summary-cost-gain.png"),
    ]
    return [p.name for p in written if p is not None], cd
