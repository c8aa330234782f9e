"""What a task is: a declarative spec, and the rows it hands to models.

A task turns the canonical movie table into inputs and targets. The runner never knows
which task it runs: everything it needs is in `TaskSpec` and `TaskData`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from moviebench.errors import LabelsHidden, LeakageError
from moviebench.settings import TaskSettings
from moviebench.targets import TargetKind, target_kind

InputKind = Literal["tabular", "text", "image"]


@dataclass
class TaskOptions:
    """Per-run settings a user may change from the command line."""

    extra_features: tuple[str, ...] = ()
    settings: TaskSettings = field(default_factory=TaskSettings)  # typed, from --set


@dataclass
class TaskData:
    """Rows of one task: a stable id per row, the input columns by kind, and the target.

    `X` holds every input column; `columns` says which are tabular features, which is the
    text, which is the image path. `split_key` is what the split hashes: the movie id by
    default, so rows of one film never straddle splits.
    """

    ids: np.ndarray
    X: pd.DataFrame
    columns: dict[str, list[str]]
    y: np.ndarray
    labels: list[str]
    target: TargetKind
    split_key: np.ndarray | None = None
    # Keys of one group are dealt over all three parts (frame-id: a film's time blocks).
    split_group: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    # input files skipped as unreadable, by path
    unreadable: list[str] = field(default_factory=list)
    # What the task tells its target kind's evaluator beyond y (a regression's bin edges).
    scoring: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.target = target_kind(self.target)  # a kind's name is taken too
        self.ids = np.asarray(self.ids).astype(str, copy=False)  # no copy of str ids
        if self.split_key is None:
            self.split_key = self.ids
        self.X = self.X.reset_index(drop=True)
        if not (len(self.ids) == len(self.X) == len(self.y) == len(self.split_key)):
            raise ValueError("ids, X, y and split_key must have one entry per row")

    def __len__(self) -> int:
        return len(self.ids)

    # Whether `y` can be read: False for the evaluation view `predict_scores` gets.
    labelled: ClassVar[bool] = True

    def subset(self, index: np.ndarray) -> TaskData:
        """These rows as a TaskData of their own: nothing in it is shared with this one (the
        containers are copied too), so a model that edits its data in place changes its own
        copy, never the rows another rung is handed."""
        return TaskData(**self._inputs(index), y=self.y[index])

    def _inputs(self, index: np.ndarray) -> dict[str, Any]:
        """Every field but `y` for these rows, copied."""
        index = np.asarray(index)
        return {
            "ids": self.ids[index],
            "X": self.X.iloc[index],  # a take: new arrays
            "columns": {kind: list(cols) for kind, cols in self.columns.items()},
            "labels": list(self.labels),
            "target": self.target,
            "split_key": self.split_key[index],
            "split_group": None if self.split_group is None else self.split_group[index],
            "scoring": copy.deepcopy(self.scoring),
        }

    def without_labels(self, part: str) -> TaskData:
        """This split as `predict_scores` sees it: a copy of the inputs with no `y` (reading
        it raises LabelsHidden, naming `part`)."""
        return Unlabelled(part, **self._inputs(np.arange(len(self))))

    @property
    def n_outputs(self) -> int:
        return len(self.labels)

    def tabular(self) -> pd.DataFrame:
        return self.X[self.columns.get("tabular", [])]

    def text(self) -> pd.Series:
        (col,) = self.columns["text"]
        return self.X[col].fillna("").astype(str)


class Unlabelled(TaskData):
    """An evaluation split's inputs, without its labels: what `predict_scores` is given.

    Every TaskData method that reads inputs works on it; `y` raises LabelsHidden, and
    `subset` gives another unlabelled view. The labels are not stored here at all, so there
    is nothing to find by looking around the object."""

    labelled = False

    def __init__(self, part: str, **inputs: Any) -> None:  # not the dataclass init: no y
        for name, value in inputs.items():
            object.__setattr__(self, name, value)
        self.X = self.X.reset_index(drop=True)  # as TaskData's own rows are
        self.notes, self.unreadable, self.part = [], [], part

    @property
    def y(self) -> np.ndarray:  # type: ignore[override]
        raise LabelsHidden(
            f"the {self.part} split's labels are not given to predict_scores: a model scores "
            "inputs only (its labels reach fit for the training and validation splits)"
        )

    def subset(self, index: np.ndarray) -> TaskData:
        return Unlabelled(self.part, **self._inputs(index))

    def __repr__(self) -> str:
        return f"Unlabelled({self.part!r}, {len(self)} rows, target {self.target})"

    __eq__ = object.__eq__
    __hash__ = object.__hash__


@dataclass(frozen=True)
class TaskSpec:
    """A task as data. Adding a task means registering one of these, not editing the runner."""

    name: str
    description: str
    target: TargetKind
    inputs: tuple[InputKind, ...]
    metrics: tuple[str, ...]
    primary_metric: str
    default_source: str
    sources: tuple[str, ...]
    ladder: tuple[str, ...]  # default models, trivial baseline first
    build: Callable[[pd.DataFrame, str, TaskOptions], TaskData]
    # Columns that are the target or computed from it: refused as features, by name or pattern.
    forbidden_features: tuple[str, ...] = ()
    # What `--set` may change for this task, with types and defaults (moviebench.settings).
    settings_type: type[TaskSettings] = TaskSettings
    # Groups of rungs whose best entries the leaderboard compares, e.g. fusion vs one modality.
    compare: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The canonical columns the task reads: any registered source that declares them all
    # (SourceSpec.columns) serves the task too, beside those named in `sources`.
    columns: tuple[str, ...] = ()
    # Labels learned from the training split, after the split is made (prepare.py calls it):
    # `learn_labels(data, train, settings)` gets every row and the training rows' indices and
    # returns the same rows with their final `y` and `labels` (e.g. revenue terciles whose
    # edges are the training films' quantiles). Never reads validation or test targets.
    learn_labels: Callable[[TaskData, np.ndarray, TaskSettings], TaskData] | None = None

    def serves(self, source: Any) -> bool:
        """Whether this source (a SourceSpec) can feed the task: named, or by columns."""
        if source.name in self.sources:
            return True
        return bool(self.columns) and set(self.columns) <= set(getattr(source, "columns", ()))

    def __post_init__(self) -> None:
        """A task is scored by declared metrics only, so a wrong declaration fails here, at
        registration, not in the middle of a run."""
        object.__setattr__(self, "target", target_kind(self.target))  # a name is taken too
        if self.primary_metric not in self.metrics:
            raise ValueError(
                f"task {self.name}: primary metric '{self.primary_metric}' is not among its "
                f"metrics ({', '.join(self.metrics)})"
            )
        try:
            self.target.check_metrics(self.metrics)
        except ValueError as err:
            raise ValueError(f"task {self.name}: {err}") from err

    @property
    def baseline(self) -> str:
        return self.ladder[0]


def check_no_leakage(spec: TaskSpec, data: TaskData) -> None:
    """Refuse any input column that is the target or derived from it."""
    offered = [c for cols in data.columns.values() for c in cols]
    for col in offered:
        for pattern in spec.forbidden_features:
            if re.fullmatch(pattern, col, flags=re.IGNORECASE):
                raise LeakageError(
                    f"task {spec.name}: feature '{col}' is derived from the target "
                    f"(matches '{pattern}') and cannot be used"
                )
