"""What `bench ls` shows: the registered tasks, sources and models, each task's settings and
each network's training budgets, as rich tables."""

from __future__ import annotations

import dataclasses

from rich.table import Table

from moviebench.options import PROFILES


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
    from moviebench.models import MODELS
    from moviebench.models.deep.loop import describe_budget
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
    models = [
        [
            m.name,
            m.family,
            ",".join(sorted(m.inputs)) or "—",
            ",".join(sorted(map(str, m.targets))),
            model_description(m),
        ]
        for m in MODELS
    ]
    settings = []
    for t in TASKS:
        defaults = t.settings_type()
        pairs = [f"{f.name}={getattr(defaults, f.name)}" for f in dataclasses.fields(defaults)]
        settings.append([t.name, ", ".join(pairs) or "—"])
    budgets = [
        [m.name, *[describe_budget(m.resolve_budget(p, m.defaults)) for p in PROFILES]]
        for m in MODELS
        if m.budget_keys()
    ]
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


def model_description(cls: type) -> str:
    """A rung's line in `bench ls`: its `summary`, else the first line of its own class
    docstring (a plugin author writes a docstring more often than a summary)."""
    summary = getattr(cls, "summary", "") or ""
    if summary:
        return summary
    doc = cls.__dict__.get("__doc__") or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ").strip()
