"""Leaderboards rendered from stored records alone: one row per model, mean +- std over seeds."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from typing import Any

import numpy as np

from moviebench.metrics import higher_is_better


def aggregate(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Group records by (task, source), then by model; one row per model, best first."""
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["task"], r["source"], r["model"])].append(r)
    boards: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for (task, source, model), recs in groups.items():
        boards[(task, source)].append(_row(model, recs))
    for rows in boards.values():
        primary = rows[0]["primary_metric"]
        sign = 1 if higher_is_better(primary) else -1
        rows.sort(key=lambda r: (r["primary"] is None, -sign * (r["primary"] if r["primary"] is not None else 0)))
        baseline = next((r for r in rows if r["family"] == "trivial" and r["primary"] is not None), None)
        for r in rows:
            r["vs_baseline"] = (
                None if baseline is None or r["primary"] is None else r["primary"] - baseline["primary"]
            )
    return dict(sorted(boards.items()))


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _row(model: str, recs: list[dict]) -> dict[str, Any]:
    ok = [r for r in recs if r.get("status") == "ok"]
    first = recs[0]
    metric_names = list(ok[0]["metrics"]) if ok else []
    primary = [r["primary"] for r in ok]
    return {
        "task": first["task"],
        "source": first["source"],
        "model": model,
        "family": first.get("family", "?"),
        "primary_metric": first.get("primary_metric"),
        "primary": _mean(primary),
        "primary_std": float(np.std(primary)) if len(primary) > 1 else 0.0 if primary else None,
        "n_seeds": len(ok),
        "seeds": sorted(r["seed"] for r in ok),
        "metrics": {m: _mean([r["metrics"].get(m) for r in ok]) for m in metric_names},
        "fit_seconds": _mean([r.get("fit_seconds") for r in ok]),
        "predict_seconds": _mean([r.get("predict_seconds") for r in ok]),
        "peak_memory_mb": _mean([r.get("peak_memory_mb") for r in ok]),
        "n_params": ok[0].get("n_params") if ok else None,
        "params_source": ok[0].get("params_source", "defaults") if ok else None,
        "status": "ok" if ok else recs[0].get("status", "failed"),
        "error": None if ok else recs[0].get("error"),
        "split_hash": first.get("split_hash"),
    }


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _fmt_params(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def table_rows(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and cells shared by the terminal and markdown renderings."""
    primary = rows[0]["primary_metric"]
    others = [m for m in (next((r["metrics"] for r in rows if r["metrics"]), {})) if m != primary]
    header = ["#", "model", "family", f"{primary} (mean ± std)", "Δ baseline", *others, "fit s", "predict s", "params", "seeds"]
    body = []
    for i, r in enumerate(rows, 1):
        if r["status"] != "ok":
            body.append([str(i), r["model"], r["family"], r["status"].upper(), "", *[""] * len(others), "", "", "", ""])
            continue
        name = r["model"] + (" (baseline)" if r["family"] == "trivial" else "") + (" (tuned)" if str(r["params_source"]).startswith("tuned") else "")
        primary_cell = f"{r['primary']:.4f} ± {r['primary_std']:.4f}"
        delta = "" if r["family"] == "trivial" or r["vs_baseline"] is None else f"{r['vs_baseline']:+.4f}"
        body.append([
            str(i), name, r["family"], primary_cell, delta,
            *[_fmt(r["metrics"].get(m)) for m in others],
            _fmt(r["fit_seconds"], 2), _fmt(r["predict_seconds"], 2), _fmt_params(r["n_params"]), str(r["n_seeds"]),
        ])
    return header, body


def failures(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{r['model']}: {r['status']}: {r['error']}" for r in rows if r["status"] != "ok"]


def to_markdown(boards: dict[tuple[str, str], list[dict]], plots: dict[tuple[str, str], list[str]] | None = None) -> str:
    out = []
    for (task, source), rows in boards.items():
        header, body = table_rows(rows)
        out.append(f"## {task} on {source}\n")
        out.append(f"Split {rows[0]['split_hash']}; primary metric `{rows[0]['primary_metric']}` on the test split. "
                   "Δ baseline is the gain over the trivial baseline.\n")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" for _ in header) + "|")
        out.extend("| " + " | ".join(cells) + " |" for cells in body)
        for line in failures(rows):
            out.append(f"\n- {line}")
        for image in (plots or {}).get((task, source), []):
            out.append(f"\n![{image}]({image})")
        out.append("")
    return "\n".join(out)


def to_csv(boards: dict[tuple[str, str], list[dict]]) -> str:
    buf = io.StringIO()
    metric_names = sorted({m for rows in boards.values() for r in rows for m in r["metrics"]})
    fields = ["task", "source", "model", "family", "status", "primary_metric", "primary", "primary_std",
              "vs_baseline", *metric_names, "fit_seconds", "predict_seconds", "peak_memory_mb", "n_params", "n_seeds"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for rows in boards.values():
        for r in rows:
            writer.writerow({**r, **r["metrics"]})
    return buf.getvalue()


def to_json(boards: dict[tuple[str, str], list[dict]]) -> str:
    return json.dumps([r for rows in boards.values() for r in rows], indent=2)


def render(records: list[dict[str, Any]], fmt: str) -> str:
    boards = aggregate(records)
    return {"md": to_markdown, "csv": to_csv, "json": to_json}[fmt](boards)
