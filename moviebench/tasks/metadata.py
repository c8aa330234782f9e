"""A film's metadata as tabular features, for any task that predicts from them.

`Metadata` says which rows and features a task takes: the canonical columns a row must have
(`require`: the rating for tmdb-quality, the revenue for a revenue task), an optional vote
floor (`min_votes`, a setting of the tasks that read one), and which of the features the
source offers it sees (`include` / `exclude`, names or fnmatch patterns: a task predicting
revenue excludes `log_revenue`). `Metadata.rows` returns the kept rows, their features and
the notes on both. Nothing here knows a target: a task cuts its labels from the rows.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from moviebench.datasets.common import too_large
from moviebench.errors import DataError
from moviebench.tasks.base import TaskOptions
from moviebench.tasks.text import genre_matrix


# Each derived feature and the canonical columns it needs. A source that lacks a column
# simply does not offer that feature.
def _log1p(col: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda t: np.log1p(pd.to_numeric(t[col], errors="coerce").where(lambda s: s > 0))


NUMERIC_FEATURES: dict[str, tuple[list[str], Callable[[pd.DataFrame], object]]] = {
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


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


@dataclass(frozen=True)
class Metadata:
    """Which films and which metadata features a task takes (see the module docstring)."""

    # Canonical columns a film must have a value in; the source must have the column.
    require: tuple[str, ...] = ()
    # Features offered (names or patterns: "genre_*"); None: every one the source offers.
    include: tuple[str, ...] | None = None
    # Features never offered, even when included: the target and what is computed from it.
    exclude: tuple[str, ...] = ()

    def offers(self, name: str) -> bool:
        if self.include is not None and not _matches(name, self.include):
            return False
        return not _matches(name, self.exclude)

    def rows(
        self,
        table: pd.DataFrame,
        source: str,
        options: TaskOptions,
        task: str,
        min_votes: int | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
        """The films kept (every required value present; at least `min_votes` votes when
        given), their features and the notes on both. `--features` columns are added as
        asked (a task's forbidden patterns still refuse the target's own)."""
        votes_column = ("vote_count",) if min_votes is not None else ()
        for col in ("movie_id", *self.require, *votes_column):
            if col not in table:
                raise DataError(f"source {source}: {task} needs column '{col}'")
        keep = pd.Series(True, index=table.index)
        notes = []
        if min_votes is not None:
            votes = pd.to_numeric(table["vote_count"], errors="coerce").fillna(0)
            keep &= votes >= min_votes
            notes.append(f"left out {int((~keep).sum())} films with fewer than {min_votes} votes")
        present = table[list(self.require)].notna().all(axis=1)  # all True if none
        if (keep & ~present).any():
            notes.append(
                f"left out {int((keep & ~present).sum())} films without {' or '.join(self.require)}"
            )
        keep &= present
        # Text columns only where a feature reads them: a million films' overviews copied for
        # nothing would be most of the task's memory. Numeric columns stay (they are cheap, and
        # a refused --features names them as the choices).
        needed = {"movie_id", *self.require, *votes_column, "mpaa", "genres"}
        needed.update(options.extra_features)
        for needs, _ in NUMERIC_FEATURES.values():
            needed.update(needs)
        columns = [
            c for c in table.columns if c in needed or pd.api.types.is_numeric_dtype(table[c])
        ]
        table = table.loc[keep, columns].reset_index(drop=True)
        X, feature_notes = self.features(table, source, options)
        return table, X, notes + feature_notes

    def features(
        self, table: pd.DataFrame, source: str, options: TaskOptions
    ) -> tuple[pd.DataFrame, list[str]]:
        """The offered features of `table`'s rows, and a note on values set missing."""
        # Each feature is written into one float64 matrix as it is made, and checked there
        # column by column: a dict of Series, the frame built from it and a full copy to check
        # would each hold the whole matrix again (640 MiB more than the table at a million films).
        makers: dict[str, Callable[[], object]] = {}
        for name, (needs, make) in NUMERIC_FEATURES.items():
            if self.offers(name) and all(c in table for c in needs):
                makers[name] = lambda make=make: make(table)
        if "mpaa" in table:
            for rating in sorted(table["mpaa"].dropna().unique()):
                if self.offers(f"mpaa_{rating}"):
                    makers[f"mpaa_{rating}"] = lambda rating=rating: (
                        table["mpaa"] == rating
                    ).astype(float)
        if "genres" in table:
            vocab, onehot = genre_matrix(table["genres"], dtype=np.int8)
            for j, genre in enumerate(vocab):
                if self.offers(f"genre_{genre}"):
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
        notes = []
        if bad:
            notes.append(
                f"{sum(bad.values())} infinite or too large feature values set missing "
                f"({', '.join(bad)})"
            )
        return X, notes


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
