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
from typing import Any

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
# Folders under a source's root where loaders look for posters (poster-csv, tmdb, movielens):
# watched by the run manifest even while absent, so posters added later are seen.
POSTER_FOLDERS = ("posters", "SampleMoviePosters")


def content_digest(path: Any) -> str:
    """A local file's content hash (the per-item feature store's, memoised on the file's
    stat), or "" when there is no readable file: a poster replaced under the same name is
    other data."""
    if not isinstance(path, str) or not path:
        return ""
    from moviebench.features.store import file_digest

    try:
        return file_digest(path)
    except OSError:
        return ""


def fingerprint_seal(entry: str, rows: int, fingerprint: str) -> str:
    """A checksum of a remembered fingerprint, its row count and the cache entry it belongs
    to: one changed digit, or a file copied from another entry, no longer matches."""
    return hashlib.sha256(f"{entry}\0{rows}\0{fingerprint}".encode()).hexdigest()[:16]


def remember_fingerprint(path: Path, rows: int, fingerprint: str) -> None:
    """Store `fingerprint` of a table of `rows` rows at `path` with its seal, atomically, for
    `table_cache.remembered_fingerprint`; a cache that cannot be written only costs the next
    load the hash."""
    try:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        seal = fingerprint_seal(path.stem, rows, fingerprint)
        tmp.write_text(f"{rows} {fingerprint} {seal}\n")
        os.replace(tmp, path)
    except OSError:
        pass


@dataclass
class LoadedSource:
    table: pd.DataFrame
    report: LoadReport
    root: Path | None = None  # the folder FILE_COLUMNS are under, when there are any
    # The files the table names were written by the loader from --data (video frames in the
    # cache): the manifest's stamp of --data covers them, so they are not stamped again.
    files_derived: bool = False
    # Where the table cache keeps this table's fingerprint once it is computed (a path, so a
    # LoadedSource still pickles): the next hit on the same entry reads it instead of
    # hashing a million rows again. None: not from or into the cache.
    fingerprint_file: Path | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def fingerprint(self) -> str:
        """Content hash of the canonical table and of every file it names (each poster or
        frame by its bytes): identifies the data a result was made on.

        Computed once per load: every cell's skip check and record reads it."""
        hashable = self.table.drop(columns=["genres"], errors="ignore")
        # Arrow-backed text hashes as object text did (a missing cell is "None", not "<NA>"),
        # so the faster reader leaves every stored result current.
        hashable = pd.DataFrame(
            {
                c: (
                    v.astype(object).where(v.notna(), None)
                    if isinstance(v.dtype, pd.ArrowDtype)
                    else v
                )
                for c, v in hashable.items()
            }
        ).astype(str)
        if self.root is not None:
            for column in FILE_COLUMNS:
                if column in self.table:
                    hashable[column] = (
                        self.table[column]
                        .map(lambda f: os.path.relpath(f, self.root) if isinstance(f, str) else f)
                        .astype(str)
                    )
                    # Only where a file is named: a table without posters keeps the
                    # fingerprint it had before file contents counted.
                    if self.table[column].map(lambda f: isinstance(f, str) and bool(f)).any():
                        hashable[f"{column} content"] = self.table[column].map(content_digest)
        digest = hashlib.sha256(pd.util.hash_pandas_object(hashable, index=False).values)
        if "genres" in self.table:
            digest.update("|".join(map(repr, self.table["genres"])).encode())
        fingerprint = digest.hexdigest()[:16]
        if self.fingerprint_file is not None:
            remember_fingerprint(self.fingerprint_file, len(self.table), fingerprint)
        return fingerprint

    def file_folders(self) -> list[Path]:
        """Every folder the files this source names (posters, frames) were looked for in:
        the folders of the table's file paths, and the root's poster folders, even absent
        ones. The run manifest stamps them, so a poster added, removed or replaced there is
        seen without loading the data."""
        if self.files_derived:
            return []
        folders: set[Path] = set()
        for column in FILE_COLUMNS:
            if column in self.table:
                paths = self.table[column].dropna()
                folders.update(
                    Path(os.path.dirname(p)) for p in paths.unique() if isinstance(p, str)
                )
        if self.root is not None:
            root = Path(self.root)
            folders.update(root / name for name in POSTER_FOLDERS)
            if root.is_dir():
                folders.add(root)
        return sorted(folders)


@dataclass(frozen=True)
class SourceSpec:
    """A registered source: a name, what it reads, and the function that reads it."""

    name: str
    description: str
    load: Callable[[Path | None], LoadedSource]
    needs_path: bool  # False for bundled defaults
    path_hint: str = ""  # what --data should point at
    # Typed settings the source reads (`--set KEY=VALUE` keys it declares); `load` then takes
    # them as `load(path, settings)`. None: the source has no settings.
    settings_type: type | None = None
    # The canonical columns its table has: it serves every task whose TaskSpec.columns
    # are among them, without being named in the task's `sources`.
    columns: tuple[str, ...] = ()


def require_columns(frame: pd.DataFrame, required: list[str], where: str) -> None:
    """Fail with one line naming every missing column, instead of a KeyError later."""
    from moviebench.errors import DataError

    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing required column(s): {', '.join(missing)}")
