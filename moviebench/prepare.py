"""A task's rows on one source, split: everything a cell needs besides the model.

This module sits between the data side (datasets, tasks, splits) and the model side (cells,
tuning, scaling), so neither imports the other: `prepare` loads, builds, splits and checks;
`make_context` turns run options into what a model is lent for one fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from moviebench.datasets import LoadedSource, load_source, source_setting_names
from moviebench.errors import BenchError, DataError, UnknownNameError
from moviebench.options import RunOptions
from moviebench.settings import TaskSettings, parse_settings
from moviebench.splits import OFFICIAL_COLUMN, Split, make_split, official_split
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
    """The task's typed settings; `--set` keys its source declares (video-folder's sampling)
    are the source's, read by `load_source`."""
    source_keys = source_setting_names(options.source or spec.default_source)
    raw = {k: v for k, v in options.settings.items() if k not in source_keys}
    settings = parse_settings(spec.settings_type, raw, spec.name)
    if (
        options.split == "official"
        and hasattr(settings, "min_label_count")
        and "min_label_count" not in raw
    ):
        # The literature's protocol: every label of the published split is scored; only a
        # label with no training positive (nothing to learn from) is left out.
        settings = dataclasses.replace(settings, min_label_count=1)
    return settings


# A part with fewer rows than this gives a score that one row moves by a third: the run
# stops instead of printing a meaningless number. The floor is low on purpose (tests train
# on a few dozen rows); parts under SMALL_PART_ROWS get a note saying how much one row weighs.
MIN_PART_ROWS = 3
SMALL_PART_ROWS = 30


def check_source(spec: TaskSpec, source: str) -> None:
    """A source the task does not read: say which tasks it serves, or the closest names."""
    if source in spec.sources:
        return
    from moviebench.datasets import SOURCES
    from moviebench.tasks import TASKS

    if source not in SOURCES:
        raise UnknownNameError(f"source for task {spec.name}", source, spec.sources)
    if spec.serves(SOURCES.get(source)):
        return
    serves = [t.name for t in TASKS if t.serves(SOURCES.get(source))]
    raise BenchError(
        f"source '{source}' does not serve task {spec.name} (it serves: {', '.join(serves) or 'no task'}); "
        f"{spec.name} reads: {', '.join(spec.sources)}"
    )


def prepare(spec: TaskSpec, options: RunOptions) -> PreparedTask:
    """Load the source, build the task's rows, split them by film, and check them."""
    source = options.source or spec.default_source
    check_source(spec, source)
    settings = resolve_settings(spec, options)
    loaded = load_source(source, options.data, options.settings)
    check_features(loaded, options.features, source)
    task_options = TaskOptions(extra_features=options.features, settings=settings)
    data = spec.build(loaded.table, source, task_options)
    check_no_leakage(spec, data)
    if len(data) == 0:
        raise BenchError(
            f"task {spec.name} on source {source}: no rows left after filtering ({why_no_rows(loaded, data)})"
        )
    split = split_rows(data, loaded, options)
    if spec.learn_labels is not None:
        data = learn_labels(spec, data, split, settings)
    data, split = spec.target.prune_labels(
        f"task {spec.name}",
        data,
        split,
        getattr(settings, "min_label_count", 1),
        options.split_seed,
    )
    if options.split == "official":  # pruning re-splits by hash: the source's parts again
        split = split_rows(data, loaded, options)
    data = check_scorable(spec, source, data, split)
    return PreparedTask(spec, source, loaded, data, split, options, settings)


def learn_labels(spec: TaskSpec, data: TaskData, split: Split, settings: TaskSettings) -> TaskData:
    """The task's labels learned on the training split alone; the rows must stay the same,
    since the split was made on them."""
    learned = spec.learn_labels(data, split.train, settings)
    if not isinstance(learned, TaskData) or not np.array_equal(learned.ids, data.ids):
        raise BenchError(
            f"task {spec.name}: learn_labels must return the same rows as a TaskData "
            "(leave rows out in build, before the split)"
        )
    return learned


def split_rows(data: TaskData, loaded: LoadedSource, options: RunOptions) -> Split:
    """The rows' split: by hash of each film's key (default), or the source's own parts."""
    if options.split != "official":
        return make_split(data.split_key, options.split_seed, groups=data.split_group)
    table = loaded.table
    if OFFICIAL_COLUMN not in table:
        raise BenchError(
            f"--split official: source '{loaded.report.source}' declares no split of its own "
            "(mmimdb does); leave --split out for the hash split"
        )
    return official_split(data.split_key, table.set_index("movie_id")[OFFICIAL_COLUMN])


def check_features(loaded: LoadedSource, features: Sequence[str], source: str) -> None:
    """Each --features column holds values in the data: a canonical column the file does not
    have is all missing, and would silently become an empty feature."""
    for col in features:
        if col in loaded.table and loaded.table[col].isna().all():
            raise DataError(
                f"--features {col}: the data of source {source} has no value in column "
                f"'{col}' (the file lacks it, or every cell is empty)"
            )


def why_no_rows(loaded: LoadedSource, data: TaskData) -> str:
    """Where the rows went, in one line: the loader's drops, unreadable files, the task's filters."""
    report = loaded.report
    reasons = [f"{report.rows_read} rows read"]
    reasons += [f"{n} dropped: {why}" for why, n in report.dropped.items()]
    if data.unreadable:
        reasons.append(f"{len(data.unreadable)} unreadable image files (e.g. {data.unreadable[0]})")
    if report.images.get("missing"):
        reasons.append(f"{report.images['missing']} image files missing")
    reasons += [note for note in data.notes if note.startswith("left out")]
    return "; ".join(reasons)


def check_scorable(spec: TaskSpec, source: str, data: TaskData, split: Split) -> TaskData:
    """Stop when the split cannot give a meaningful score: a part under MIN_PART_ROWS rows, or
    training rows that cannot teach anything (the target kind's check: one class only, no
    positive, a constant number). Test rows of a class absent from training are noted."""
    where = f"task {spec.name} on source {source}"
    sizes = {part: len(split.part(part)) for part in ("train", "val", "test")}
    small = [f"{part} {n}" for part, n in sizes.items() if n < MIN_PART_ROWS]
    if small:
        raise DataError(
            f"{where}: too few rows to score ({', '.join(small)}; each part needs at least "
            f"{MIN_PART_ROWS}; {len(data)} rows in all)"
        )
    for part in ("val", "test"):
        if sizes[part] < SMALL_PART_ROWS:
            data.notes.append(
                f"only {sizes[part]} {part} rows: one row moves a score by about "
                f"{100 / sizes[part]:.0f} points, so small differences mean little"
            )
    spec.target.check_scorable(where, data, split)
    return data


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
        val_score=lambda y, s: spec.target.validation_score(
            spec.primary_metric, y, s, prep.data.scoring
        ),
        settings=prep.settings,
        **extra,
    )


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
