"""A Parquet cache of loaded canonical tables, so a second task (or run) on the same file
does not parse it again.

The key is what the table is made from: the source, its typed settings, the data file's
content hash (`features.store.file_digest`, memoised on its stat), whether poster folders
sit beside it, the loaders' own code and the pandas / pyarrow versions. A changed byte, a
new posters/ folder or an edited loader is another key, so a stale table is never read.

What is cached is exactly what the loader returned: the table (values and dtypes, read
back equal), its LoadReport and its fingerprint. Only tables naming no local files are
stored (posters, frames: their checks and digests depend on more than the file), and only
for `--data` given as a file. Parquet stores it compactly (dictionary-encoded text, zstd);
the floats stay float64, since narrower ones would change the models' inputs and the
fingerprint. A damaged entry is dropped and the file parsed instead, an unwritable cache
only costs the next load its parse: both say so in the report's notes, neither fails.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from moviebench.datasets.base import (
    FILE_COLUMNS,
    POSTER_FOLDERS,
    LoadedSource,
    LoadReport,
    fingerprint_seal,
)
from moviebench.features.cache import STATS, cache_root
from moviebench.records import umask_mode

FORMAT = 2  # bump when what is stored changes
_DATASETS = Path(__file__).parent


def _code_stamp() -> str:
    """The loaders' code: every module of moviebench/datasets, by content."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(_DATASETS.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_key(source: str, path: Path, settings: Any = None) -> str | None:
    """The key of `source` read from the file `path` with `settings`; None where the cache
    does not apply (no file, or a folder)."""
    import pyarrow

    from moviebench.features.store import file_digest

    if not path.is_file():
        return None
    folders = {}
    for name in POSTER_FOLDERS:
        folder = path.parent / name
        folders[name] = folder.stat().st_mtime_ns if folder.is_dir() else None
    parts = {
        "format": FORMAT,
        "source": source,
        "settings": dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else None,
        "data": file_digest(path),
        "poster_folders": folders,
        "code": _code_stamp(),
        "versions": [pd.__version__, pyarrow.__version__],
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def entry_path(key: str, root: Path | None = None) -> Path:
    return (root or cache_root()) / "tables" / f"{key}.parquet"


def fingerprint_path(entry: Path) -> Path:
    """Beside the entry: its table's fingerprint, written the first time a run computes it."""
    return entry.with_suffix(".fingerprint")


def remembered_fingerprint(path: Path, rows: int) -> str | None:
    """The fingerprint stored at `path` for a table of `rows` rows; None when there is none,
    it was written for another number of rows, or its seal does not match its content (a
    changed digit would file unchanged data under a foreign fingerprint)."""
    try:
        stored_rows, fingerprint, seal = path.read_text().split()
    except (OSError, ValueError):
        return None
    if stored_rows != str(rows) or not _sealed(path.stem, rows, fingerprint, seal):
        return None
    return fingerprint


def _sealed(entry: str, rows: int, fingerprint: Any, seal: Any) -> bool:
    return (
        isinstance(fingerprint, str)
        and re.fullmatch(r"[0-9a-f]{16}", fingerprint) is not None
        and seal == fingerprint_seal(entry, rows, fingerprint)
    )


def cacheable(loaded: LoadedSource) -> bool:
    """A table that names no local file: nothing but the data file made it."""
    table = loaded.table
    for column in FILE_COLUMNS:
        # Vectorised: a million rows of None (no posters) must not cost a Python call each.
        if column in table and (table[column].dropna().astype(str).str.len() > 0).any():
            return False
    return True


def _kind(series: pd.Series) -> str:
    """How a column goes through Arrow and comes back the same."""
    if isinstance(series.dtype, pd.ArrowDtype):
        return "arrow"
    if series.dtype == object and len(series) and isinstance(series.iloc[0], list):
        return "lists"
    return "pandas"


def write(loaded: LoadedSource, path: Path, data: Path) -> None:
    """Store `loaded` at `path` atomically (a reader never sees half a file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = loaded.table
    # Field by field: dataclasses.asdict would rebuild the Counters from (key, count) pairs.
    report = {
        f.name: dict(value)
        if isinstance(value := getattr(loaded.report, f.name), Counter)
        else value
        for f in dataclasses.fields(loaded.report)
    }
    meta = {
        "columns": {c: [_kind(table[c]), str(table[c].dtype)] for c in table.columns},
        "report": report,
        # Only when a run already computed it: hashing a million rows costs `bench data
        # inspect` more than its parse, and a hit computes it lazily from the same table.
        "fingerprint": (fingerprint := loaded.__dict__.get("fingerprint")),
        "fingerprint_seal": None
        if fingerprint is None
        else fingerprint_seal(path.stem, len(table), fingerprint),
        # The root relative to the data file, so the entry serves any spelling of its path.
        "root": None if loaded.root is None else os.path.relpath(loaded.root, data.parent),
        "report_path": report["path"] == str(data),
    }
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata(
        {**(arrow.schema.metadata or {}), b"moviebench": json.dumps(meta).encode()}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".parquet.tmp")
    os.fchmod(fd, umask_mode())  # mkstemp makes 0600; a shared cache needs the umask's mode
    os.close(fd)
    try:
        pq.write_table(arrow, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def read(path: Path, data: Path) -> LoadedSource:
    """The stored table, report and fingerprint; ValueError/OSError where the entry is
    damaged or does not read back as it was written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pq.read_table(path)
    meta = json.loads(arrow.schema.metadata[b"moviebench"])
    columns = {}
    for name, (kind, dtype) in meta["columns"].items():
        column = arrow.column(name)
        if kind == "arrow":
            values = pd.Series(pd.arrays.ArrowExtensionArray(column))
        elif kind == "lists":
            # Rows with the same list share one object again, as the loader's parse left them
            # (genre_matrix reads each distinct object once).
            shared: dict[tuple, list] = {}
            values = pd.Series(
                [v if v is None else shared.setdefault(tuple(v), v) for v in column.to_pylist()],
                dtype=object,
            )
        else:
            values = pa.table({name: column}).to_pandas()[name]
        if str(values.dtype) != dtype:
            raise ValueError(f"column {name} reads back as {values.dtype}, not {dtype}")
        columns[name] = values
    table = pd.DataFrame(columns)
    stored = meta["report"]
    report = LoadReport(
        **{
            **stored,
            "dropped": Counter(stored["dropped"]),
            "repaired": Counter(stored["repaired"]),
            "path": str(data) if meta["report_path"] else stored["path"],
        }
    )
    root = None if meta["root"] is None else Path(os.path.normpath(data.parent / meta["root"]))
    loaded = LoadedSource(table=table, report=report, root=root)
    fingerprint = meta["fingerprint"]
    if fingerprint is not None and not _sealed(
        path.stem, len(table), fingerprint, meta.get("fingerprint_seal")
    ):
        raise ValueError("its stored fingerprint does not match its seal")
    remembered = fingerprint_path(path)
    if fingerprint is None and remembered.exists():
        fingerprint = remembered_fingerprint(remembered, len(table))
        if fingerprint is None:  # damaged: hashed again (and remembered again) when read
            report.notes.append(
                f"table cache fingerprint {remembered} damaged; the table is hashed again"
            )
    if fingerprint is not None:
        loaded.__dict__["fingerprint"] = fingerprint  # of this very table
    else:
        loaded.fingerprint_file = fingerprint_path(path)
    return loaded


def cached_load(
    source: str,
    path: Path | None,
    settings: Any,
    load: Callable[[], LoadedSource],
    root: Path | None = None,
) -> LoadedSource:
    """`load()`, or the table it returned the last time on the same file, settings and code."""
    if path is None or os.environ.get("MOVIEBENCH_TABLE_CACHE", "1") == "0":
        return load()
    try:
        key = cache_key(source, path, settings)
    except OSError:
        key = None
    if key is None:
        return load()
    entry = entry_path(key, root)
    note = None
    if entry.exists():
        try:
            loaded = read(entry, path)
            STATS["table:hit"] += 1
            return loaded
        except Exception as exc:  # noqa: BLE001 - any damage means: parse the file again
            note = f"table cache entry {entry} unreadable ({type(exc).__name__}); parsed {path}"
            entry.unlink(missing_ok=True)
    STATS["table:miss"] += 1
    loaded = load()
    if cacheable(loaded):  # stored before this load's own notes, which are not the table's
        try:
            write(loaded, entry, path)
            if "fingerprint" not in loaded.__dict__:
                loaded.fingerprint_file = fingerprint_path(entry)
        except Exception as exc:  # noqa: BLE001 - an unwritable cache costs the next load its parse
            loaded.report.notes.append(
                f"table cache not written to {entry.parent} ({type(exc).__name__}: {exc})"
            )
    if note:
        loaded.report.notes.append(note)
    return loaded
