"""`tmdb-quality`: a film's metadata -> BAD / AVG / GOOD (report 000).

The label comes from the average rating through two fixed thresholds per source, chosen so
the three classes are of similar size on that source. The rating, and anything computed
from it, is never a feature.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from moviebench.datasets.common import too_large
from moviebench.errors import DataError
from moviebench.settings import QualitySettings
from moviebench.targets import MULTICLASS
from moviebench.tasks import TaskData, TaskOptions, TaskSpec, register_task
from moviebench.tasks.text import genre_matrix

CLASSES = ["BAD", "AVG", "GOOD"]

# (BAD below the first, GOOD at or above the second), on films with >= 10 votes.
THRESHOLDS = {
    "ggplot2movies": (5.5, 6.6),
    # TMDB 5000, the 4,392 films with >= 10 votes: BAD 1,372 / AVG 1,562 / GOOD 1,458. Ratings
    # come in steps of 0.1, so no cut is closer to thirds ((5.9, 6.6) gives 1,372/1,374/1,646).
    # All three TMDB layouts rate on the same 0-10 scale and share these.
    "tmdb": (5.9, 6.7),
}


# Each derived feature and the canonical columns it needs. A source that lacks a column
# simply does not offer that feature.
def _log1p(col: str):
    return lambda t: np.log1p(pd.to_numeric(t[col], errors="coerce").where(lambda s: s > 0))


NUMERIC_FEATURES = {
    "year": (["year"], lambda t: pd.to_numeric(t["year"], errors="coerce")),
    "month": (["month"], lambda t: pd.to_numeric(t["month"], errors="coerce")),
    "runtime": (
        ["runtime"],
        lambda t: pd.to_numeric(t["runtime"], errors="coerce").where(lambda s: s > 0),
    ),
    "log_budget": (["budget"], _log1p("budget")),
    "log_revenue": (["revenue"], _log1p("revenue")),
    "log_votes": (
        ["vote_count"],
        lambda t: np.log1p(pd.to_numeric(t["vote_count"], errors="coerce")),
    ),
    "popularity": (["popularity"], lambda t: pd.to_numeric(t["popularity"], errors="coerce")),
    "english": (
        ["language"],
        lambda t: (t["language"] == "en").astype(float).where(t["language"].notna()),
    ),
    "n_companies": (["n_companies"], lambda t: pd.to_numeric(t["n_companies"], errors="coerce")),
    "n_countries": (["n_countries"], lambda t: pd.to_numeric(t["n_countries"], errors="coerce")),
}


def quality_labels(rating: pd.Series, thresholds: tuple[float, float]) -> np.ndarray:
    low, high = thresholds
    return np.digitize(rating.to_numpy(dtype=float), [low, high])


def metadata_rows(
    table: pd.DataFrame, source: str, options: TaskOptions, task: str
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The rated films with enough votes, their metadata features and the notes on both:
    what tmdb-quality and tmdb-rating share. The rating is never among the features."""
    for col in ("movie_id", "vote_average", "vote_count"):
        if col not in table:
            raise DataError(f"source {source}: {task} needs column '{col}'")
    min_votes = options.settings.min_votes
    votes = pd.to_numeric(table["vote_count"], errors="coerce").fillna(0)
    keep = (votes >= min_votes) & table["vote_average"].notna()
    notes = [f"left out {int((~keep).sum())} films with fewer than {min_votes} votes"]
    # Text columns only where a feature reads them: a million films' overviews copied for
    # nothing would be most of the task's memory. Numeric columns stay (they are cheap, and
    # a refused --features names them as the choices).
    needed = {"movie_id", "vote_average", "vote_count", "mpaa", "genres", *options.extra_features}
    for needs, _ in NUMERIC_FEATURES.values():
        needed.update(needs)
    columns = [c for c in table.columns if c in needed or pd.api.types.is_numeric_dtype(table[c])]
    table = table.loc[keep, columns].reset_index(drop=True)

    # Each feature is written into one float64 matrix as it is made, and checked there column
    # by column: a dict of Series, the frame built from it and a full copy to check would
    # each hold the whole matrix again (640 MiB more than the table at a million films).
    makers: dict[str, Callable[[], object]] = {}
    for name, (needs, make) in NUMERIC_FEATURES.items():
        if all(c in table for c in needs):
            makers[name] = lambda make=make: make(table)
    if "mpaa" in table:
        for rating in sorted(table["mpaa"].dropna().unique()):
            makers[f"mpaa_{rating}"] = lambda rating=rating: (table["mpaa"] == rating).astype(float)
    if "genres" in table:
        vocab, onehot = genre_matrix(table["genres"], dtype=np.int8)
        for j, genre in enumerate(vocab):
            makers[f"genre_{genre}"] = lambda j=j: onehot[:, j]
    for col in options.extra_features:
        if col not in table:
            raise DataError(f"--features {col}: source {source} has no such column")
        makers[col] = lambda col=col: numeric_feature(table, col, source)

    values = np.empty((len(table), len(makers)), dtype=float, order="F")
    names: list[str] = []
    bad: dict[str, int] = {}
    for name, make in makers.items():
        column = np.asarray(make(), dtype=float)
        if name in NUMERIC_FEATURES and np.isnan(column).all():
            continue  # a feature the source has no values for is not offered
        values[:, len(names)] = column  # a copy: the table's own column is never written
        infinite = np.isinf(column) | too_large(column)
        if infinite.any():  # e.g. an --features column the loader does not clean: missing
            bad[name] = int(infinite.sum())
            values[infinite, len(names)] = np.nan
        names.append(name)
    X = pd.DataFrame(values[:, : len(names)], columns=names, copy=False)
    if bad:
        notes.append(
            f"{sum(bad.values())} infinite or too large feature values set missing "
            f"({', '.join(bad)})"
        )
    return table, X, notes


def numeric_feature(table: pd.DataFrame, col: str, source: str) -> pd.Series:
    """An --features column as floats; a column of text, lists or dates is refused with its
    type (coerced, it would be all missing, dropped by scikit-learn, yet claimed as used)."""
    column = table[col]
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return column.astype(float)
    values = pd.to_numeric(column, errors="coerce")
    present = column.notna()
    if present.any() and values[present].notna().all():
        return values  # numbers stored as text
    sample = column[present & values.isna()]
    kind = type(sample.iloc[0]).__name__ if len(sample) else str(column.dtype)
    numeric = sorted(c for c in table.columns if pd.api.types.is_numeric_dtype(table[c]))
    raise DataError(
        f"--features {col}: source {source}'s column holds {kind} values "
        f"(dtype {column.dtype}), not numbers; numeric columns: {', '.join(numeric) or 'none'}"
    )


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
        ids=table["movie_id"].to_numpy(),
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


register_task(
    TaskSpec(
        name="tmdb-quality",
        description="metadata (budget, runtime, votes, year, genres, ...) -> BAD / AVG / GOOD",
        target=MULTICLASS,
        metrics=("macro_f1", "accuracy", "balanced_accuracy", "log_loss", "ordinal_mse"),
        primary_metric="macro_f1",
        ladder=(
            "majority",
            "logreg",
            "random-forest",
            "xgboost",
            "lightgbm",
            "catboost",
            "mlp",
            "cnn-lstm",
            "realmlp",
            "tabm",
        ),
        build=build,
        **METADATA_TASK,
    )
)
