"""A board as text: the columns a table shows (`--columns`, `--wide`), its cells, the
markdown, CSV and JSON renderings, the caveats and failures under it, and the headline (one
row per board: best rung per family and the gaps to classical)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

from moviebench.board_rows import Board, BoardRow, Gap, board_ranks
from moviebench.board_stats import HEADLINE_FAMILIES, arm, best_of_family
from moviebench.errors import UnknownNameError
from moviebench.metrics import higher_is_better


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _fmt_params(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _weights(row: BoardRow) -> str:
    """Where a rung's starting weights come from: learned elsewhere, or nothing borrowed."""
    return "pretrained" if row.pretrained_weights else ""


def _family(row: BoardRow) -> str:
    """The rung's family, marked when the rung comes from outside moviebench."""
    return (
        row.family if row.origin in ("moviebench", "external") else f"{row.family} ({row.origin})"
    )


# The columns a board can show, by the name `--columns` takes, in their order on the board;
# a secondary metric is named by itself. "default" is the compact set that fits 100 columns
# (`default_columns`), "all" every column (`--wide`).
COLUMNS = ("rank", "model", "family", "weights", "primary", "delta", "fit", "per1k", "epochs", "predict",
           "params", "seeds", "splits")  # fmt: skip
SECONDARY_SHOWN = 2  # secondary metrics on the default board


def secondary_metrics(rows: list[BoardRow]) -> list[str]:
    """A board's metrics other than its primary one, in the records' order."""
    primary = rows[0].primary_metric
    return [m for m in (next((r.metrics for r in rows if r.metrics), {})) if m != primary]


def all_columns(rows: list[BoardRow]) -> list[str]:
    """Every column of a board (`--wide`): the weights column only where some rung starts
    from pretrained weights, the split seeds only on a board folded across splits."""
    cols = [c for c in COLUMNS if c not in ("weights", "splits")]
    if any(r.pretrained_weights for r in rows):
        cols.insert(cols.index("primary"), "weights")
    if any(r.split_primary for r in rows):
        cols.append("splits")
    at = cols.index("fit")
    return cols[:at] + secondary_metrics(rows) + cols[at:]


def default_columns(rows: list[BoardRow]) -> list[str]:
    """The compact board: rank, model, family, primary (± std), Δ baseline, the first
    secondary metrics and fit seconds, plus where it applies the weights column."""
    cols = ["rank", "model", "family", "primary", "delta"]
    if any(r.pretrained_weights for r in rows):
        cols.insert(3, "weights")
    return [*cols, *secondary_metrics(rows)[:SECONDARY_SHOWN], "fit"]


def pick_columns(rows: list[BoardRow], asked: list[str] | None) -> list[str]:
    """The columns `--columns` names, in the board's order: "default" and "all" expand,
    "primary" or the primary metric's name is the primary column; an unknown name gets
    one line listing the board's columns."""
    if not asked:
        return default_columns(rows)
    known = all_columns(rows)
    primary = rows[0].primary_metric
    wanted: set[str] = set()
    for name in asked:
        name = "primary" if name == primary else name
        if name == "default":
            wanted |= set(default_columns(rows))
        elif name == "all":
            wanted |= set(known)
        elif name in known or name in COLUMNS:
            wanted.add(name)
        else:
            raise UnknownNameError("board column", name, ["default", "all", *known])
    order = {c: i for i, c in enumerate([*COLUMNS[:6], *secondary_metrics(rows), *COLUMNS[6:]])}
    return sorted(wanted, key=order.__getitem__)


def row_label(row: BoardRow) -> str:
    """A row's model cell: the model, and the marks a reader must see beside its name."""
    return (
        row.model
        + (" (baseline)" if row.family == "trivial" else "")
        + (f" ({row.variant})" if row.variant else "")
        + (" (TRUNCATED)" if row.truncated else "")
        + (" (capped)" if row.capped else "")
    )


def _header(rows: list[BoardRow], column: str) -> str:
    primary = rows[0].primary_metric
    several = any(r.n_seeds > 1 or r.split_primary for r in rows)
    names = {
        "rank": "#",
        "model": "model",
        "family": "family",
        "weights": "weights",
        "primary": f"{primary} (mean ± std)" if several else primary,
        "delta": "Δ baseline",
        "fit": "fit s",
        "per1k": "s / 1k rows",
        "epochs": "epochs",
        "predict": "predict s",
        "params": "params",
        "seeds": "seeds",
        "splits": "split seeds",
    }
    return names.get(column, column)


def _cell(r: BoardRow, column: str, rank: str) -> str:
    if column == "rank":
        return rank
    if column == "family":
        return _family(r)
    if column == "weights":
        return _weights(r)
    if r.status != "ok":
        return {"model": r.model, "primary": r.status.upper()}.get(column, "")
    if column == "model":
        return row_label(r)
    if column == "primary":
        # the std only where there is one: over several seeds, or across split seeds
        several = r.n_seeds > 1 or len(r.split_primary) > 1
        return f"{r.primary:.4f} ± {r.primary_std:.4f}" if several else f"{r.primary:.4f}"
    if column == "delta":
        return "" if r.family == "trivial" or r.vs_baseline is None else f"{r.vs_baseline:+.4f}"
    if column == "fit":
        return _fmt(r.fit_seconds, 2)
    if column == "per1k":
        return _fmt(r.fit_seconds_per_1k, 3)
    if column == "epochs":
        return "—" if r.epochs is None else f"{r.epochs:g}" + ("!" if r.truncated else "")
    if column == "predict":
        return _fmt(r.predict_seconds, 2)
    if column == "params":
        return _fmt_params(r.n_params)
    if column == "seeds":
        return str(r.n_seeds)
    if column == "splits":
        # several: the ± is the std across these split seeds (model seeds averaged)
        return ",".join(map(str, r.split_primary)) or "one"
    return _fmt(r.metrics.get(column))


def table_rows(
    rows: list[BoardRow], columns: list[str] | None = None
) -> tuple[list[str], list[list[str]]]:
    """Header and cells shared by the terminal, markdown and HTML renderings: `columns`
    (names from `COLUMNS` and the metrics; `pick_columns`), by default every column."""
    columns = all_columns(rows) if columns is None else columns
    # A row tied with its group's leader shares its rank, marked "=".
    ranks = board_ranks(rows)
    rank = {i: f"{k}=" if ranks.count(k) > 1 else str(k) for i, k in enumerate(ranks, 1)}
    header = [_header(rows, c) for c in columns]
    body = [[_cell(r, c, rank[i]) for c in columns] for i, r in enumerate(rows, 1)]
    return header, body


def caveats(rows: list[BoardRow]) -> list[str]:
    """What a reader must know before comparing ranks: truncated training, unequal tuning."""
    lines = []
    truncated = [r.model for r in rows if r.truncated]
    if truncated:
        lines.append(
            f"TRUNCATED: {', '.join(truncated)} stopped at the explicit --time-budget before their "
            "declared budget (epochs marked !): not comparable with rows trained to their budget"
        )
    capped = [f"{r.model} ({r.capped})" for r in rows if r.capped]
    if capped:
        lines.append(
            f"capped: {', '.join(capped)} stopped at a declared cap (steps, rounds or training "
            "rows) before their own stopping rule: the profile bounds their cost at this size"
        )
    learned = [r for r in rows if r.status == "ok" and r.family != "trivial"]
    tuned = [r for r in learned if r.variant == "tuned"]
    if tuned:
        lines.append(
            f"tuned beside default: {', '.join(r.key for r in tuned)} use the best params of "
            f"their studies ({tuning_budget(tuned)}), every other row its defaults; ranks "
            "between the two compare unequal tuning budgets (the headline compares tuned "
            "with tuned, `bench tune --ladder` tuning every rung alike)"
        )
    return lines


def failures(rows: list[BoardRow]) -> list[str]:
    return [f"{r.model}: {r.status}: {r.error}" for r in rows if r.status != "ok"]


# Characters markdown reads as markup (emphasis, links, tables, HTML, headings, math in some
# renderers): a record's strings (model, error, labels) are escaped so they show as text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}<>|#$])")


def md_escape(text: Any) -> str:
    """`text` with markdown's special characters backslash-escaped, on one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text).replace("\n", " "))


def to_markdown(
    boards: Board,
    plots: dict[tuple[str, str], list[str]] | None = None,
    columns: list[str] | None = None,
) -> str:
    """Each board as a markdown section; `columns` as `pick_columns` reads them (default:
    every column)."""
    out = []
    for (task, source), rows in boards.items():
        header, body = table_rows(rows, pick_columns(rows, columns) if columns else None)
        body = [[md_escape(cell) for cell in cells] for cells in body]
        out.append(f"## {md_escape(task)} on {md_escape(source)}\n")
        out.append(
            f"Split {rows[0].split_hash}; primary metric `{rows[0].primary_metric}` on the test split. "
            "Δ baseline is the gain over the trivial baseline. "
            "A rank marked `=` is a tie: the paired bootstrap 95% interval of the difference "
            "to the first model of that rank includes 0.\n"
            if not any(r.split_primary for r in rows)
            else SPLITS_NOTE.format(metric=rows[0].primary_metric)
        )
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" for _ in header) + "|")
        out.extend("| " + " | ".join(cells) + " |" for cells in body)
        for line in gap_lines(rows):
            out.append(f"\n{md_escape(line[0].upper() + line[1:])}.")
        for line in caveats(rows):
            out.append(f"\n**{md_escape(line)}.**")
        for line in failures(rows):
            out.append(f"\n- {md_escape(line)}")
        for image in (plots or {}).get((task, source), []):
            out.append(f"\n![{image}]({image})")
        out.append("")
    return "\n".join(out)


SPLITS_NOTE = (
    "Primary metric `{metric}` on the test split; rows with several split seeds show the mean "
    "± sample std across split seeds (model seeds averaged within each split), the others "
    "mean ± std over model seeds on the default split. Δ baseline is the gain over the "
    "trivial baseline. A rank marked `=` is a tie with the first model of that rank: where "
    "both rows have several split seeds in common, the 95% interval of their split-level "
    "differences by the corrected resampled t-test (Nadeau & Bengio: a paired t-test across "
    "splits, variance widened by n_test / n_train since the splits' training sets overlap) "
    "includes 0; otherwise the paired bootstrap interval on the default split does.\n"
)


def to_csv(boards: Board) -> str:
    buf = io.StringIO()
    metric_names = sorted({m for rows in boards.values() for r in rows for m in r.metrics})
    fields = [
        "task",
        "source",
        "model",
        "profile",
        "family",
        "origin",
        "pretrained_weights",
        "status",
        "primary_metric",
        "primary",
        "primary_std",
        "vs_baseline",
        *metric_names,
        "fit_seconds",
        "fit_seconds_per_1k",
        "epochs",
        "truncated",
        "capped",
        "params_source",
        "predict_seconds",
        "peak_memory_mb",
        "n_params",
        "n_seeds",
    ]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for rows in boards.values():
        for r in rows:
            writer.writerow({**r.to_dict(), **r.metrics})
    return buf.getvalue()


def to_json(boards: Board) -> str:
    """Every board's rows as one JSON list, boards in order and each best first. A row is an
    object with the keys task, source, model, family, pretrained_weights (bool),
    primary_metric, primary, primary_std, n_seeds, seeds (list of ints), metrics (name ->
    mean), fit_seconds, fit_seconds_per_1k (training seconds per 1,000 training rows,
    TabArena's unit), predict_seconds, peak_memory_mb, n_params, params_source, profile,
    epochs, truncated (bool), status, error, split_hash and vs_baseline (numbers or null),
    then only where they were measured: diff_ci ([low, high] to its rank group's leader) and tie
    (bool), gap ({group, vs_group, vs, diff[, ci]}), deep_gap and pretrained_gap ({vs, diff[,
    ci]}: the best deep or pretrained row against the best classical one), tie_test
    ("splits" or "bootstrap": what measured diff_ci), split_primary (split seed -> mean over
    model seeds, on a board folded across several split seeds), capped (the declared cap that
    ended a fit: "2,940 steps", "1,000 rounds") and, for a
    rung from outside moviebench, origin (plugin or external)."""
    rows = [_finite(r.to_dict()) for rows in boards.values() for r in rows]
    return json.dumps(rows, indent=2, allow_nan=False)


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinity as None: JSON has no NaN, so `null` it is."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # a numpy scalar
        return _finite(value.item())
    return value


HEADLINE_HEADER = (
    "task", "source", "profile", "metric", "trivial", "best classical", "best pretrained",
    "best deep", "pretrained − classical [95% CI]", "deep − classical [95% CI]",
    "fit s (c / p / d)", "s / 1k rows (c / p / d)", "params (c / p / d)",
)  # fmt: skip


def gap_cell(gap: Gap | None) -> str:
    """A gap with its interval; "tie" when the interval includes 0, the board's own tie rule
    (`mark_ties`), so the headline and the board never contradict each other."""
    if gap is None:
        return "—"
    cell = f"{gap.diff:+.4f}"
    if gap.ci is not None:
        cell += f" [{gap.ci[0]:+.4f}, {gap.ci[1]:+.4f}]"
        if gap.ci[0] <= 0 <= gap.ci[1]:
            cell += " tie"
    return cell


def _board_source(rows: list[BoardRow], source: str) -> str:
    """The board's source without its profile mark (the headline has a profile column)."""
    return source.replace(f" (profile {rows[0].profile})", "")


def tuning_budget(rows: list[BoardRow]) -> str:
    """The trials behind a board's tuned rows, as their records say ("20 trials", or
    "12-20 trials" where the studies differ; `bench tune --ladder` gives every rung the same)."""
    counts = sorted(
        {int(m.group(1)) for r in rows if (m := _TRIALS.search(str(r.params_source or "")))}
    )
    if not counts:
        return "trials not recorded"
    spread = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"{spread} trials"


_TRIALS = re.compile(r"^tuned: .* trial \d+ of (\d+)")


def headline_rows(boards: Board) -> list[list[str]]:
    """One row of cells per board: the best trivial, classical, pretrained and deep rung, the
    pretrained − classical and deep − classical gaps with their paired bootstrap intervals,
    and the fit seconds and parameters of each family's best rung. A board with tuned rows
    gets a second row right under it: every rung tuned (`board_stats.arm`), its gaps measured
    tuned against tuned, the profile cell naming the trials. The boards of one task and
    source under two profiles (quick, full) come out next to each other."""

    def cell(row: BoardRow | None) -> str:
        if row is None:
            return "—"
        mark = ", pretrained weights" if row.family == "deep" and row.pretrained_weights else ""
        return f"{row.primary:.4f} ({row.key}{mark})"

    def order(item: tuple[tuple[str, str], list[BoardRow]]) -> tuple[str, str, str]:
        (task, source), rows = item
        return task, _board_source(rows, source), rows[0].profile

    out = []
    for (task, source), rows in sorted(boards.items(), key=order):
        arms = [("default", "", rows[0].profile)]
        tuned = [r for r in rows if r.variant == "tuned"]
        if tuned:
            # Studies tune on one split; where default rows fold several, the reader is told.
            split = (
                ", one split"
                if any(r.split_primary for r in rows) and not any(r.split_primary for r in tuned)
                else ""
            )
            budget = f"{rows[0].profile}, tuned ({tuning_budget(tuned)}{split})"
            arms.append(("tuned", "_tuned", budget))
        for which, suffix, profile in arms:
            members = arm(rows, which)
            best = {f: best_of_family(members, f) for f in HEADLINE_FAMILIES}
            learned = [best[f] for f in ("classical", "pretrained", "deep")]
            gaps = [
                getattr(best[f], f"{f}_gap{suffix}") if best[f] else None
                for f in ("pretrained", "deep")
            ]
            metric = rows[0].primary_metric
            out.append(
                [
                    task,
                    _board_source(rows, source),
                    profile,
                    # a gap's sign reads the other way for a metric where lower is better (RMSE)
                    metric if higher_is_better(metric) else f"{metric} ↓",
                    *(cell(best[f]) for f in HEADLINE_FAMILIES),
                    *(gap_cell(g) for g in gaps),
                    " / ".join("—" if r is None else _fmt(r.fit_seconds, 2) for r in learned),
                    " / ".join(
                        "—" if r is None else _fmt(r.fit_seconds_per_1k, 3) for r in learned
                    ),
                    " / ".join("—" if r is None else _fmt_params(r.n_params) for r in learned),
                ]
            )
    return out


def headline_markdown(boards: Board) -> str:
    """The headline rows as a markdown table."""
    lines = ["| " + " | ".join(HEADLINE_HEADER) + " |", "|" + "---|" * len(HEADLINE_HEADER)]
    lines += ["| " + " | ".join(map(md_escape, cells)) + " |" for cells in headline_rows(boards)]
    return "\n".join(lines) + "\n"


def gap_lines(rows: list[BoardRow]) -> list[str]:
    """One sentence per declared comparison, for the markdown and terminal renderings."""
    lines = []
    for r in rows:
        g = r.gap
        if not g:
            continue
        ci = (
            f", paired bootstrap 95% interval [{g.ci[0]:+.4f}, {g.ci[1]:+.4f}]"
            if g.ci is not None
            else ""
        )
        lines.append(
            f"best {g.group} ({r.model}) vs best {g.vs_group} ({g.vs}): "
            f"{g.diff:+.4f} {r.primary_metric}{ci}"
        )
    return lines
