"""What `bench ls` shows: the registered tasks, sources and models, each task's settings and
each network's training budgets, as rich tables.

The models' lines are class attributes, but reading them means importing every rung, and
with them torch and scikit-learn (5 s of CPU). So they are kept in a snapshot under the cache
root (`<cache>/catalog/models-<stamp>.json`), stamped with the bytes of every module of the
package: any edit to any module makes a new stamp, and the first `bench ls` after it reads
the rungs themselves and writes the snapshot again. Plugin models (`--plugins`, entry points
in `moviebench.models`) are always read live: their code is not the package's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.table import Table

from moviebench.options import PROFILES

PACKAGE = Path(__file__).resolve().parent
MODEL_KEYS = ("name", "family", "inputs", "targets", "summary", "budgets")


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def catalog_tables() -> list[Table]:
    """Tasks, sources, models, task settings and training budgets, in that order."""
    from moviebench.datasets import SOURCES
    from moviebench.tasks import TASKS

    tasks = [
        [
            t.name,
            t.target.name,
            ",".join(t.inputs),
            t.primary_metric,
            t.default_source,
            ",".join(
                [*t.sources, *(s.name for s in SOURCES if s.name not in t.sources and t.serves(s))]
            ),
            t.description,
        ]
        for t in TASKS
    ]
    sources = [
        [s.name, s.path_hint if s.needs_path else "(bundled) " + s.path_hint, s.description]
        for s in SOURCES
    ]
    entries = model_entries()
    models = [
        [m["name"], m["family"], m["inputs"] or "—", m["targets"], m["summary"]] for m in entries
    ]
    settings = []
    for t in TASKS:
        defaults = t.settings_type()
        pairs = [f"{f.name}={getattr(defaults, f.name)}" for f in dataclasses.fields(defaults)]
        settings.append([t.name, ", ".join(pairs) or "—"])
    budgets = [[m["name"], *m["budgets"]] for m in entries if m["budgets"]]
    profiles = [p + (" (default)" if p == "quick" else "") for p in PROFILES]
    return [
        _table(
            "tasks",
            ["task", "target", "inputs", "primary", "default source", "sources", "description"],
            tasks,
        ),
        _table("sources", ["source", "--data", "description"], sources),
        _table("models", ["model", "family", "inputs", "targets", "description"], models),
        _table("task settings (--set KEY=VALUE)", ["task", "settings and defaults"], settings),
        _table(
            "training budgets of the networks (--profile; no wall-clock limit unless --time-budget)",
            ["model", *profiles],
            budgets,
        ),
    ]


def model_entries() -> list[dict[str, Any]]:
    """Each registered model's catalog line (name, family, inputs, targets, summary and its
    budget per profile, described), in registry order: from the snapshot when the package's
    code is the one that wrote it, else from the rungs themselves (then snapshotted)."""
    from moviebench import plugins

    if plugins.active() or metadata.entry_points(group="moviebench.models"):
        return live_model_entries()  # plugin code: not covered by the package's stamp
    from moviebench.features.cache import cache_root

    path = cache_root() / "catalog" / f"models-{code_stamp()}.json"
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(entries, list) and all(
            isinstance(e, dict) and tuple(e) == MODEL_KEYS for e in entries
        ):
            return entries
    except (OSError, ValueError):
        pass  # none yet, unreadable or damaged: read the rungs
    entries = live_model_entries()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # an unwritable cache: the next listing reads the rungs again
    return entries


def live_model_entries() -> list[dict[str, Any]]:
    """The catalog lines read from the registered classes (imports every rung)."""
    from moviebench.models import MODELS
    from moviebench.models.loop import describe_budget

    return [
        {
            "name": m.name,
            "family": m.family,
            "inputs": ",".join(sorted(m.inputs)),
            "targets": ",".join(sorted(map(str, m.targets))),
            "summary": model_description(m),
            "budgets": [describe_budget(m.resolve_budget(p, m.defaults)) for p in PROFILES]
            if m.budget_keys()
            else [],
        }
        for m in MODELS
    ]


def code_stamp() -> str:
    """A hash of every module of the package (paths and bytes) and the Python version."""
    digest = hashlib.sha256(f"{sys.version_info[:2]}".encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def model_description(cls: type) -> str:
    """A rung's line in `bench ls`: its `summary`, else the first line of its own class
    docstring (a plugin author writes a docstring more often than a summary)."""
    summary = getattr(cls, "summary", "") or ""
    if summary:
        return summary
    doc = cls.__dict__.get("__doc__") or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ").strip()
