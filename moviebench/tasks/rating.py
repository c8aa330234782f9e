"""`tmdb-rating`: a film's metadata -> its average rating (report 000 estimates ratings, MSE).

The same films and features as tmdb-quality (`quality.metadata_rows`), but the target is the
rating itself. The board's `binned_macro_f1` cuts true and predicted ratings with
tmdb-quality's thresholds for the source, so a regression rung can be set beside
tmdb-quality's classifiers on the same films.
"""

from __future__ import annotations

import pandas as pd

from moviebench.targets import REGRESSION
from moviebench.tasks import TaskData, TaskOptions, TaskSpec, register_task
from moviebench.tasks.quality import (
    CLASSES,
    METADATA_LADDER,
    METADATA_TASK,
    metadata_rows,
    source_thresholds,
)
from moviebench.tasks.text import str_ids


def build(table: pd.DataFrame, source: str, options: TaskOptions) -> TaskData:
    thresholds = source_thresholds(source, options)
    table, X, notes = metadata_rows(table, source, options, "tmdb-rating")
    rating = pd.to_numeric(table["vote_average"], errors="coerce").to_numpy(dtype=float)
    notes.insert(
        0,
        f"target: the average rating; binned_macro_f1 cuts it as tmdb-quality does "
        f"(BAD < {thresholds[0]} <= AVG < {thresholds[1]} <= GOOD)",
    )
    return TaskData(
        ids=str_ids(table["movie_id"]),  # no million Python strings at once
        X=X,
        columns={"tabular": list(X.columns)},
        y=rating,
        labels=["rating"],
        target=REGRESSION,
        notes=notes,
        scoring={"bins": list(thresholds), "bin_labels": CLASSES},
    )


register_task(
    TaskSpec(
        name="tmdb-rating",
        description="metadata (budget, runtime, votes, year, genres, ...) -> the average rating",
        target=REGRESSION,
        metrics=("rmse", "mae", "r2", "spearman", "binned_macro_f1"),
        primary_metric="rmse",
        ladder=("mean-predictor", "ridge", *METADATA_LADDER),
        build=build,
        **METADATA_TASK,
    )
)
