"""The canonical movie table and the report every loader returns with it.

Every source maps its own layout to the same column names, so tasks never care where a
film came from. A loader never drops or repairs a row silently: it counts it here.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# Columns a task may rely on. A source fills the ones it has; the rest are absent or NaN.
CANONICAL_COLUMNS = (
    "movie_id",  # stable string id, unique per film: the split is decided by hashing it
    "title",
    "year",
    "month",
    "overview",
    "tagline",
    "genres",  # list of genre names
    "vote_average",  # target side only: never a feature for quality tasks
    "vote_count",
    "popularity",
    "budget",
    "revenue",
    "runtime",
    "language",
    "mpaa",
    "n_companies",
    "n_countries",
    "poster",  # local image path
)


@dataclass
class LoadReport:
    """What a loader read, kept, dropped and repaired, by reason."""

    source: str
    path: str | None
    rows_read: int = 0
    dropped: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    images: dict[str, int] = field(default_factory=dict)  # found / missing / unreadable
    unreadable_images: list[str] = field(default_factory=list)

    @property
    def rows_kept(self) -> int:
        return self.rows_read - sum(self.dropped.values())

    def drop(self, reason: str, n: int = 1) -> None:
        if n:
            self.dropped[reason] += n

    def repair(self, reason: str, n: int = 1) -> None:
        if n:
            self.repaired[reason] += n


# Columns holding paths of local files (posters, frames): fingerprinted relative to the
# source's root, so the same data spelt as another path (relative or absolute, another mount)
# is the same data.
FILE_COLUMNS = ("poster", "image")


@dataclass
class LoadedSource:
    table: pd.DataFrame
    report: LoadReport
    root: Path | None = None  # the folder FILE_COLUMNS are under, when there are any

    @functools.cached_property
    def fingerprint(self) -> str:
        """Content hash of the canonical table: identifies the data a result was made on.

        Computed once per load: every cell's skip check and record reads it."""
        hashable = self.table.drop(columns=["genres"], errors="ignore").astype(str)
        if self.root is not None:
            for column in FILE_COLUMNS:
                if column in self.table:
                    hashable[column] = (
                        self.table[column]
                        .map(lambda f: os.path.relpath(f, self.root) if isinstance(f, str) else f)
                        .astype(str)
                    )
        digest = hashlib.sha256(pd.util.hash_pandas_object(hashable, index=False).values)
        if "genres" in self.table:
            digest.update("|".join(map(repr, self.table["genres"])).encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class SourceSpec:
    """A registered source: a name, what it reads, and the function that reads it."""

    name: str
    description: str
    load: Callable[[Path | None], LoadedSource]
    needs_path: bool  # False for bundled defaults
    path_hint: str = ""  # what --data should point at
    # The canonical columns its table has: it serves every task whose TaskSpec.columns
    # are among them, without being named in the task's `sources`.
    columns: tuple[str, ...] = ()


def require_columns(frame: pd.DataFrame, required: list[str], where: str) -> None:
    """Fail with one line naming every missing column, instead of a KeyError later."""
    from moviebench.errors import DataError

    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing required column(s): {', '.join(missing)}")
