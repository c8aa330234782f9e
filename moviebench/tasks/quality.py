"""`tmdb-quality`: a film's metadata -> BAD / AVG / GOOD (report 000).

The label comes from the average rating through two fixed thresholds per source, chosen so
the three classes are of similar size on that source. The rating, and anything computed
from it, is never a feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pandas as pd

from moviebench.errors import BenchError
from moviebench.settings import Range, TaskSettings
from moviebench.targets import MULTICLASS
from moviebench.tasks import TaskData, TaskOptions, TaskSpec, register_task
from moviebench.tasks.metadata import Metadata
from moviebench.tasks.text import str_ids

CLASSES = ["BAD", "AVG", "GOOD"]

# (BAD below the first, GOOD at or above the second), on films with >= 10 votes.
THRESHOLDS = {
    "ggplot2movies": (5.5, 6.6),
    # TMDB 5000, the 4,392 films with >= 10 votes: BAD 1,372 / AVG 1,562 / GOOD 1,458. Ratings
    # come in steps of 0.1, so no cut is closer to thirds ((5.9, 6.6) gives 1,372/1,374/1,646).
    # All three TMDB layouts rate on the same 0-10 scale and share these.
    "tmdb": (5.9, 6.7),
}


@dataclass(frozen=True)
class QualitySettings(TaskSettings):
    """tmdb-quality and tmdb-rating: which films count, and where BAD / AVG / GOOD are cut."""

    # Films with fewer votes are left out: their average rating is noise (--min-votes N).
    min_votes: Annotated[
        int, Range(0, message="--min-votes {value}: must be 0 or more (--set min_votes)")
    ] = 10
    # (BAD below the first, GOOD at or above the second); None: the source's own pair.
    thresholds: tuple[float, float] | None = None

    def check(self) -> None:
        if self.thresholds is not None and not self.thresholds[0] < self.thresholds[1]:
            raise BenchError(
                f"--set thresholds={self.thresholds}: the first must be below the second"
            )


# The rated films and every metadata feature but the rating: what tmdb-quality and
# tmdb-rating read (the rating is no feature: it is not among Metadata's, and the tasks'
# forbidden patterns refuse it as a --features column).
RATED = Metadata(require=("vote_average",))


def quality_labels(rating: pd.Series, thresholds: tuple[float, float]) -> np.ndarray:
    low, high = thresholds
    return np.digitize(rating.to_numpy(dtype=float), [low, high])


def metadata_rows(
    table: pd.DataFrame, source: str, options: TaskOptions, task: str
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The rated films with enough votes, their metadata features and the notes on both:
    what tmdb-quality and tmdb-rating share."""
    return RATED.rows(table, source, options, task, min_votes=options.settings.min_votes)


def source_thresholds(source: str, options: TaskOptions) -> tuple[float, float]:
    return options.settings.thresholds or THRESHOLDS.get(source, THRESHOLDS["tmdb"])


def build(table: pd.DataFrame, source: str, options: TaskOptions) -> TaskData:
    thresholds = source_thresholds(source, options)
    table, X, notes = metadata_rows(table, source, options, "tmdb-quality")
    if not options.settings.thresholds and source not in THRESHOLDS:
        notes.insert(
            0,
            f"thresholds {thresholds[0]}, {thresholds[1]}: TMDB's, because source {source} "
            "declares none (--set thresholds=LOW,HIGH chooses others)",
        )
    notes.insert(0, f"label: BAD if rating < {thresholds[0]}, AVG if < {thresholds[1]}, else GOOD")
    return TaskData(
        ids=str_ids(table["movie_id"]),  # no million Python strings at once
        X=X,
        columns={"tabular": list(X.columns)},
        y=quality_labels(table["vote_average"], thresholds),
        labels=CLASSES,
        target=MULTICLASS,
        notes=notes,
    )


# What tmdb-quality and tmdb-rating declare alike: the same films, features and settings,
# and the columns that are the rating or computed from it, never features of either.
METADATA_TASK = {
    "inputs": ("tabular",),
    "default_source": "ggplot2movies",
    "sources": ("ggplot2movies", "tmdb"),
    "forbidden_features": (r"vote_average", r"rating", r"r\d+", r".*vote_average.*", r"quality"),
    "settings_type": QualitySettings,
    "columns": ("movie_id", "vote_average", "vote_count"),
}

# Both ladders after their trivial and linear rungs: the same tabular rungs on the same films.
METADATA_LADDER = (
    "random-forest",
    "xgboost",
    "lightgbm",
    "catboost",
    "mlp",
    "cnn-lstm",
    "realmlp",
    "tabm",
)


register_task(
    TaskSpec(
        name="tmdb-quality",
        description="metadata (budget, runtime, votes, year, genres, ...) -> BAD / AVG / GOOD",
        target=MULTICLASS,
        metrics=("macro_f1", "accuracy", "balanced_accuracy", "log_loss", "ordinal_mse"),
        primary_metric="macro_f1",
        ladder=("majority", "logreg", *METADATA_LADDER),
        build=build,
        **METADATA_TASK,
    )
)
