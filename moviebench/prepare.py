"""A task's rows on one source, split: everything a cell needs besides the model.

This module sits between the data side (datasets, tasks, splits) and the model side (cells,
tuning, scaling), so neither imports the other: `prepare` loads, builds, splits and checks;
`make_context` turns run options into what a model is lent for one fit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from moviebench import metrics
from moviebench.datasets import LoadedSource, load_source
from moviebench.errors import BenchError, DataError, UnknownNameError
from moviebench.options import RunOptions
from moviebench.settings import TaskSettings, parse_settings
from moviebench.splits import Split, make_split
from moviebench.tasks import TaskData, TaskOptions, TaskSpec, check_no_leakage


@dataclass
class PreparedTask:
    """A task's rows on one source, split, with the typed settings they were built with."""

    spec: TaskSpec
    source: str
    loaded: LoadedSource
    data: TaskData
    split: Split
    options: RunOptions
    settings: TaskSettings

    def part(self, name: str) -> TaskData:
        return self.data.subset(self.split.part(name))


def resolve_settings(spec: TaskSpec, options: RunOptions) -> TaskSettings:
    return parse_settings(spec.settings_type, options.settings, spec.name)


def prepare(spec: TaskSpec, options: RunOptions) -> PreparedTask:
    """Load the source, build the task's rows, split them by film, and check them."""
    source = options.source or spec.default_source
    if source not in spec.sources:
        raise UnknownNameError(f"source for task {spec.name}", source, spec.sources)
    settings = resolve_settings(spec, options)
    loaded = load_source(source, options.data)
    task_options = TaskOptions(min_votes=options.min_votes, extra_features=options.features, settings=settings)
    data = spec.build(loaded.table, source, task_options)
    check_no_leakage(spec, data)
    if len(data) == 0:
        raise BenchError(f"task {spec.name} on source {source}: no rows left after filtering")
    split = make_split(data.split_key, options.split_seed)
    if spec.target == "multilabel":
        data, split = drop_rare_labels(spec, data, split, getattr(settings, "min_label_count", 1), options.split_seed)
    for part in ("train", "val", "test"):
        if len(split.part(part)) == 0:
            raise BenchError(f"task {spec.name}: the {part} split is empty ({len(data)} rows in all)")
    return PreparedTask(spec, source, loaded, data, split, options, settings)


def drop_rare_labels(spec: TaskSpec, data: TaskData, split: Split, min_count: int,
                     split_seed: int) -> tuple[TaskData, Split]:
    """Keep the labels with at least `min_count` positives in the TRAINING split (never
    counted on validation or test), then drop rows left with no label and split again.

    The split hashes each film's key alone, so splitting the remaining rows again puts every
    film in the part it was in before.
    """
    counts = Counter()
    y = np.asarray(data.y)
    for j, n in enumerate(y[split.train].sum(axis=0)):
        counts[data.labels[j]] = int(n)
    kept = [j for j, label in enumerate(data.labels) if counts[label] >= min_count]
    rare = [label for label in data.labels if counts[label] < min_count]
    notes = list(data.notes)
    if rare:
        listed = ", ".join(f"{label} ({counts[label]})" for label in rare)
        notes.append(f"left out {len(rare)} labels with fewer than {min_count} training films: {listed}")
    if not kept:
        raise DataError(f"task {spec.name}: no label has {min_count} training films "
                        "(lower it with --set min_label_count=N)")
    y = y[:, kept]
    labelled = y.sum(axis=1) > 0
    if (~labelled).any():
        notes.append(f"dropped {int((~labelled).sum())} films left with no label")
    labels = [data.labels[j] for j in kept]
    notes.append(f"{len(labels)} labels: {', '.join(labels)}")
    rows = np.flatnonzero(labelled)
    filtered = TaskData(ids=data.ids[rows], X=data.X.iloc[rows], columns=data.columns, y=y[rows],
                        labels=labels, target=data.target, split_key=data.split_key[rows], notes=notes,
                        unreadable=data.unreadable)
    return filtered, make_split(filtered.split_key, split_seed)


def make_context(prep: PreparedTask, seed: int, **extra: Any) -> Any:
    """What a model is lent for one fit: seed, device, budgets, validation scorer, settings."""
    from moviebench.models import RunContext

    spec, options = prep.spec, prep.options
    return RunContext(
        seed=seed,
        device=options.device or pick_device(),
        epochs=options.epochs,
        time_budget=options.time_budget,
        profile=options.profile,
        weights=options.weights,
        val_score=lambda y, s: metrics.validation_score(spec.target, spec.primary_metric, y, s, prep.data.labels),
        settings=prep.settings.as_dict(),
        **extra,
    )


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
