"""One self-contained HTML page of every leaderboard, for people who browse rather than grep.

The page needs nothing beside it and no network: CSS and a small sorting script are inline,
plots are embedded as base64 data URIs, so it can be attached to a CI run, mailed, or opened
offline. Its cells come from `leaderboard.table_rows`, like the terminal and markdown tables,
so the three renderings cannot disagree. Every string that comes from a record is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from moviebench.leaderboard import (
    HEADLINE_HEADER,
    SPLITS_NOTE,
    BoardRow,
    aggregate_with_draws,
    board_keys,
    failures,
    gap_lines,
    headline_rows,
    record_key,
    table_rows,
)
from moviebench.plots import FAMILY_COLORS, slug, write_plots
from moviebench.records import Record
from moviebench.report import is_published_board, published_rows

# What each plot of plots.write_plots shows, by the end of its file name.
CAPTIONS = {
    "primary": "Primary metric per model: mean over seeds, error bar = std over seeds.",
    "pareto": "Primary metric against fit seconds (log axis); the dashed line is the Pareto front.",
    "confusion": "Confusion matrix of the best record on the test split, normalised per true class.",
    "per-label-ap": "Average precision per label and model on the test split.",
    "learning-curves": "Train and validation loss per epoch of the deep models; dotted: best validation epoch.",
}

HEADER_TITLES = {
    "#": "Rank by the primary metric. 2= : tied with the first row of that rank (paired bootstrap 95% interval of the difference includes 0).",
    "Δ baseline": "Gain in the primary metric over the trivial baseline on the same split.",
    "fit s": "Seconds to fit, mean over seeds.",
    "s / 1k rows": "Seconds to fit per 1,000 training rows (TabArena's cost unit), mean over seeds.",
    "predict s": "Seconds to score the test split, mean over seeds.",
    "params": "Number of learned parameters.",
    "seeds": "Seeds with a finished record.",
}

_NUMBER = re.compile(r"^([+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?)([kM]?)=?(?:\s|$)")


def sort_key(cell: str) -> float | None:
    """The number a cell sorts by ("0.91 ± 0.01" -> 0.91, "38.1k" -> 38100, "2=" -> 2), or None."""
    match = _NUMBER.match(cell.strip())
    if not match:
        return None
    return float(match.group(1)) * {"": 1, "k": 1e3, "M": 1e6}[match.group(2)]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header chunk (0, 0 if it is not a PNG)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return "—" if value is None else str(value)


def provenance(records: list[Record]) -> list[tuple[str, str]]:
    """(label, value) pairs saying how a leaderboard row was made. A value that differs between
    seeds is listed per seed rather than hidden behind the first one."""
    records = sorted(records, key=lambda r: r.seed)
    fields = [
        ("split hash", lambda r: r.split_hash),
        ("data fingerprint", lambda r: r.data_fingerprint),
        ("params source", lambda r: r.params_source),
        ("params", lambda r: r.params),
        ("settings", lambda r: r.settings),
        ("device", lambda r: r.device),
        ("git commit", lambda r: r.git_commit),
        (
            "versions",
            lambda r: ", ".join(f"{k} {v}" for k, v in sorted((r.versions or {}).items())) or None,
        ),
        (
            "train / val / test rows",
            lambda r: None if r.n_train is None else f"{r.n_train} / {r.n_val} / {r.n_test}",
        ),
        ("created", lambda r: r.created),
        ("error", lambda r: r.error),
    ]
    out = [("seeds", ", ".join(f"{r.seed} ({r.status})" for r in records))]
    for label, get in fields:
        values = [_text(get(r)) for r in records]
        if all(v == "—" for v in values) and label in ("error", "settings"):
            continue
        if len(set(values)) == 1:
            out.append((label, values[0]))
        else:
            out.append((label, "; ".join(f"seed {r.seed}: {v}" for r, v in zip(records, values))))
    out.append(
        (
            "records",
            ", ".join("/".join(Path(r.path).parts[-4:]) for r in records if r.path) or "—",
        )
    )
    return out


def _details(anchor: str, row: BoardRow, records: list[Record]) -> str:
    """A closed <details> per row, below the table at full width: inside a table cell the
    values would be squeezed into one narrow column."""
    e = html.escape
    items = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in provenance(records))
    seeds = len({r.seed for r in records})
    summary = (
        f"<b>{e(row.model)}</b> · {e(row.status)} · {seeds} seed{'s' if seeds != 1 else ''} · "
        f"params {e(str(row.params_source or records[0].params_source))}"
    )
    return f'<details id="{e(anchor)}"><summary>{summary}</summary><dl>{items}</dl></details>'


def render_board(
    key: tuple[str, str],
    rows: list[BoardRow],
    records: list[Record],
    images: list[tuple[str, bytes]],
) -> str:
    """One <section>: the sortable table, the comparison sentences, failures and plots."""
    task, source = key
    header, body = table_rows(rows)
    metric = rows[0].primary_metric  # its column, with or without "(mean ± std)"
    primary_col = next(j for j, h in enumerate(header) if h.split(" (")[0] == metric)
    by_model: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_model[record_key(r)].append(r)
    e = html.escape
    numeric = {
        j for j in range(len(header)) if any(sort_key(cells[j]) is not None for cells in body)
    }

    head = []
    for j, name in enumerate(header):
        attrs = f' title="{e(HEADER_TITLES[name])}"' if name in HEADER_TITLES else ""
        if j in numeric:
            attrs += ' data-type="num"'
        # Long metric names may wrap after an underscore, so the table fits a laptop screen.
        label = e(name).replace("_", "_<wbr>").replace(" s", "&nbsp;s")  # "predict s" stays whole
        head.append(f"<th{attrs}>{label}</th>")

    lines, details = [], []
    for row, cells in zip(rows, body):
        classes = [f"family-{slug(row.family)}"]
        if row.family == "trivial":
            classes.append("baseline")
        if row.tie:
            classes.append("tie")
        if row.status != "ok":
            classes.append(f"status-{slug(row.status)}")
        anchor = slug(f"prov-{task}-{source}-{row.key}")
        details.append(_details(anchor, row, by_model[row.key]))
        tds = []
        for j, cell in enumerate(cells):
            attrs = []
            value = sort_key(cell)
            if value is not None and j in numeric:
                attrs.append(f'data-v="{value!r}"')
            if j == 0 and row.tie and row.diff_ci:
                low, high = row.diff_ci
                attrs.append(
                    f'title="tie: 95% interval of the difference to the first row of this rank [{low:+.4f}, {high:+.4f}]"'
                )
            if j == primary_col and row.status != "ok" and row.error:
                attrs.append(f'title="{e(str(row.error))}"')
            css = [
                "num" if j in numeric else "",
                "primary" if j == primary_col else "",
                "tied" if j == 0 and cell.endswith("=") else "",
            ]
            if any(css):
                attrs.append(f'class="{" ".join(c for c in css if c)}"')
            # The model's name links to how its row was made (below the table).
            text = f'<a class=prov href="#{e(anchor)}">{e(cell)}</a>' if j == 1 else e(cell)
            tds.append(f"<td {' '.join(attrs)}>{text}</td>" if attrs else f"<td>{text}</td>")
        lines.append(
            f'<tr class="{" ".join(classes)}" data-model="{e(row.model)}">{"".join(tds)}</tr>'
        )

    parts = [
        f'<section id="{e(slug(f"{task}-{source}"))}">',
        f"<h2>{e(task)} <span class=on>on</span> {e(source)}</h2>",
        f"<p class=meta>Split <code>{e(str(rows[0].split_hash))}</code>; primary metric "
        f"<code>{e(str(rows[0].primary_metric))}</code> on the test split; {len(rows)} models, "
        f"{len(records)} records.</p>",
        *(
            [
                f"<p class=legend>{e(SPLITS_NOTE.format(metric=rows[0].primary_metric).replace('`', ''))}</p>"
            ]
            if any(r.split_primary for r in rows)
            else []
        ),
        f'<div class=scroll><table class=board data-board="{e(f"{task}/{source}")}">'
        f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(lines)}</tbody></table></div>",
    ]
    parts += [f"<p class=gap>{e(line[0].upper() + line[1:])}.</p>" for line in gap_lines(rows)]
    fails = failures(rows)
    if fails:
        parts.append("<ul class=failures>" + "".join(f"<li>{e(f)}</li>" for f in fails) + "</ul>")
    if is_published_board(key):  # MM-IMDb's own split: the literature's numbers beside ours
        header, body = published_rows(rows)
        parts.append(
            "<h3>Published numbers on the same split</h3><p class=legend>Test scores on "
            "MM-IMDb's official split (23 genres, thresholds from dev) as published; the papers' "
            "models are not rerun here. Below them, this board's best row by each metric.</p>"
            + _table(header, body)
        )
    parts.append(f"<div class=provenance><h3>How each row was made</h3>{''.join(details)}</div>")
    if images:
        figures = []
        for name, data in images:
            kind = next((k for k in CAPTIONS if name.endswith(f"-{k}.png")), "")
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            width, height = png_size(data)
            # A wide plot (a per-label heatmap, several learning curves) gets a row to itself.
            wide = ' class="wide"' if width > 2 * height else ""
            figures.append(
                f'<figure{wide}><img src="{uri}" alt="{e(name)}" width="{width}" height="{height}">'
                f"<figcaption>{e(CAPTIONS.get(kind, name))}</figcaption></figure>"
            )
        parts.append(f"<div class=plots>{''.join(figures)}</div>")
    parts.append("</section>")
    return "\n".join(parts)


def render_page(
    records: list[Record],
    images: dict[tuple[str, str], list[tuple[str, bytes]]],
    subtitle: str = "",
) -> str:
    """The whole page as a string; `images` maps each board to (file name, PNG bytes)."""
    e = html.escape
    # A task's split seeds share one board (mean ± std across splits)
    boards, draws = aggregate_with_draws(records, across_splits=True)
    across = render_summary(records, (boards, draws))
    by_board: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for key, r in zip(board_keys(records, across_splits=True), records):
        by_board[key].append(r)
    nav = "".join(
        f'<li><a href="#{e(slug(f"{t}-{s}"))}">{e(t)} on {e(s)}</a> ({len(rows)} models)</li>'
        for (t, s), rows in boards.items()
    )
    sections = "\n".join(
        render_board(key, rows, by_board[key], images.get(key, [])) for key, rows in boards.items()
    )
    headline = (
        "<table class=headline><thead><tr>"
        + "".join(f"<th>{e(h)}</th>" for h in HEADLINE_HEADER)
        + "</tr></thead><tbody>"
        + "".join(
            "<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>"
            for cells in headline_rows(boards)
        )
        + "</tbody></table>"
    )
    swatches = "".join(
        f'<span class=swatch style="background:{c}"></span>{e(f)} '
        for f, c in FAMILY_COLORS.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>moviebench results</title>
<style>{CSS}</style></head>
<body>
<header><h1>moviebench results</h1>
<p>{len(records)} records, {len(boards)} leaderboard{"" if len(boards) == 1 else "s"}. {e(subtitle)}</p>
<p class=legend>Click a column header to sort (again to reverse). The shaded row is the trivial baseline;
a rank like <b>2=</b> is a tie with the first row of that rank (the paired bootstrap 95% interval of the difference
includes 0); failed and skipped models are kept on the board in red and grey. A model's name opens how its row
was made (split, data, params, settings, device, commit, versions, seeds). Plot colours: {swatches}</p>
<h2>How far pretrained and deep models get beyond classical ones</h2>
<p class=legend>Primary metric on the test split, mean over seeds; the best rung of each family per board.
<i>Pretrained</i> is a frozen encoder learned elsewhere under a head trained here; <i>deep</i> is a network
trained here end to end (marked when it starts from pretrained weights). Each gap's interval is the paired
bootstrap 95% interval of the difference on the same resampled test rows (where both rungs ran on several split
seeds, the corrected paired t interval across splits); <i>tie</i> marks an interval that
includes 0, the board's own tie rule. Fit seconds and parameters are those of each family's best rung
(classical / pretrained / deep); a task's quick and full profiles are on adjacent rows.</p>
{headline}
{across}
<nav><ul>{nav}</ul></nav></header>
<main>
{sections}
</main>
<script>{SCRIPT}</script>
</body></html>
"""


def _table(header: list[str], body: list[list[str]]) -> str:
    e = html.escape
    return (
        "<table class=headline><thead><tr>"
        + "".join(f"<th>{e(h)}</th>" for h in header)
        + "</tr></thead><tbody>"
        + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>" for cells in body)
        + "</tbody></table>"
    )


def render_summary(records: list[Record], boards: tuple[Any, Any]) -> str:
    """The cross-task summary (moviebench.summary): verdicts, the family and rung tables, the
    critical-difference test and its diagram, the cost-versus-gain plot."""
    from moviebench.plots import write_summary_plots
    from moviebench.report import SUMMARY_INTRO, has_finished, summary_rows
    from moviebench.summary import summarise

    if not has_finished(boards[0]):
        return ""
    e = html.escape
    summary = summarise(records, boards=boards)
    with tempfile.TemporaryDirectory(prefix="moviebench-summary-") as tmp:
        names, cd = write_summary_plots(summary, Path(tmp))
        pngs = [(n, compact_png((Path(tmp) / n).read_bytes())) for n in names]
    intro = SUMMARY_INTRO.split("\n\n", 1)[1].strip().replace("*", "")  # markdown emphasis
    figures = "".join(
        f'<figure><img alt="{e(n)}" src="data:image/png;base64,'
        f'{base64.b64encode(data).decode()}" width="{png_size(data)[0]}" '
        f'height="{png_size(data)[1]}"><figcaption>{e(SUMMARY_CAPTIONS.get(n, n))}</figcaption></figure>'
        for n, data in pngs
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in summary.notes)
    return (
        "<h2>Across tasks: every board summarised</h2>"
        f"<ul class=verdicts>{''.join(f'<li>{e(s)}</li>' for s in summary.sentences)}</ul>"
        f"<p class=legend>{e(intro)}</p>"
        f"<h3>Families</h3>{_table(*summary_rows(summary, True))}"
        f"<p class=legend>{e(summary.elo_note)}.</p>"
        f"<h3>Rungs</h3>{_table(*summary_rows(summary, False))}"
        f"{f'<ul class=legend>{notes}</ul>' if notes else ''}"
        f"<h3>Critical difference</h3><p class=legend>{e(cd.describe())}</p>"
        f"<div class=plots>{figures}</div>"
    )


SUMMARY_CAPTIONS = {
    "summary-critical-difference.png": "Average rank of each family's best rung over the "
    "boards (1 = best); families joined by a bar are not significantly different (Nemenyi).",
    "summary-cost-gain.png": "Every finished rung of every board: normalised score (0 = "
    "trivial, 1 = the board's best) against its fit seconds, log axis; colour = family.",
}


def compact_png(data: bytes) -> bytes:
    """The plot as a 256-colour PNG: a third of the bytes for flat-coloured charts, so a page
    embedding every board's plots stays small enough to commit and mail."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def board_images(records: list[Record]) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    """Every plot of plots.write_plots, read back as compact PNG bytes (drawn in a temporary
    folder)."""
    with tempfile.TemporaryDirectory(prefix="moviebench-plots-") as tmp:
        links = write_plots(records, Path(tmp), across_splits=True)
        return {
            key: [(name, compact_png((Path(tmp) / name).read_bytes())) for name in names]
            for key, names in links.items()
        }


def write_html_report(records: list[Record], path: Path, subtitle: str = "") -> Path:
    """Render the page with its plots embedded and write it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(records, board_images(records), subtitle), encoding="utf-8")
    return path


CSS = """
:root { --fg: #1d232a; --muted: #5b6672; --line: #d9dee3; --base: #fff6d6; --head: #f3f5f7; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 1500px; }
h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
h2 { margin: 2.4rem 0 .2rem; font-size: 1.25rem; border-bottom: 2px solid var(--line); padding-bottom: .2rem; }
h2 .on { color: var(--muted); font-weight: normal; }
.meta, .legend, figcaption { color: var(--muted); }
nav ul { display: flex; flex-wrap: wrap; gap: .3rem 1.4rem; padding: 0; list-style: none; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--head); padding: 0 .25em; }
.swatch { display: inline-block; width: .8em; height: .8em; margin: 0 .25em 0 .6em; vertical-align: -1px; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 4px; }
table.headline { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
table.headline th, table.headline td { padding: .25rem .6rem; border-bottom: 1px solid var(--line);
  text-align: left; font-size: .9rem; }
table.headline th { background: var(--head); font-weight: 600; }
table.board { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.board th, table.board td { padding: .3rem .5rem; border-bottom: 1px solid var(--line);
       white-space: nowrap; text-align: left; vertical-align: top; }
table.board th { background: var(--head); cursor: pointer; user-select: none; font-weight: 600;
       white-space: normal; vertical-align: bottom; }
table.board th[data-type=num], table.board td.num { text-align: right; }
table.board th[aria-sort=ascending]::after { content: " \\25B2"; font-size: .7em; }
table.board th[aria-sort=descending]::after { content: " \\25BC"; font-size: .7em; }
table.board td.primary { font-weight: 600; }
table.board tbody tr:hover { background: #f0f6ff; }
tr.baseline, tr.baseline:hover { background: var(--base); }
td.tied { color: #8a4b00; font-weight: 600; }
a.prov { color: inherit; text-decoration: underline dotted #8a96a3; }
tr.status-failed td { color: #b3261e; }
tr.status-skipped td { color: #80868b; font-style: italic; }
.provenance h3 { font-size: .95rem; margin: 1rem 0 .2rem; }
.provenance details { border-bottom: 1px solid var(--line); padding: .15rem 0; }
.provenance summary { cursor: pointer; }
.provenance details:target summary, .provenance details[open] summary { color: #0b57d0; }
.provenance dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .3rem 0 .6rem 1.2rem;
       font-size: 12px; }
.provenance dt { color: var(--muted); }
.provenance dd { margin: 0; overflow-wrap: anywhere; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.gap { font-weight: 600; }
.failures { color: #b3261e; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 460px), 1fr)); gap: 1rem; margin-top: 1rem; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 4px; padding: .5rem; }
figure.wide { grid-column: 1 / -1; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 12px; margin-top: .3rem; }
"""

# A row's "details" link opens its provenance. A header click sorts a table's rows by that
# column: numbers by their data-v, text by its content; rows with no value (a failed model's
# metrics) stay last in both directions. Array.sort is stable, so equal keys keep their order.
SCRIPT = """
document.addEventListener("click", function (ev) {
  var link = ev.target.closest && ev.target.closest("a.prov");
  var target = link && document.getElementById(link.hash.slice(1));
  if (target) target.open = true;
});
document.querySelectorAll("table.board").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.tabIndex = 0;
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var num = th.dataset.type === "num";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[col];
        if (num) return cell.dataset.v === undefined ? null : parseFloat(cell.dataset.v);
        var text = cell.textContent.trim();
        return text === "" ? null : text;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) return (x === null) - (y === null);
        var d = num ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
        return asc ? d : -d;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sort(); }
    });
  });
});
"""
