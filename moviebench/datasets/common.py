"""Reading helpers shared by the file sources: text encodings, CSV lines, list cells, years.

Nothing here registers a source; the loaders call these and count every repair or drop
in their `LoadReport`.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from moviebench.datasets.base import LoadReport
from moviebench.errors import DataError

# Tried in this order: a Latin-1 file fails UTF-8 decoding, while the reverse never fails
# (Latin-1 maps every byte), so UTF-8 must come first.
ENCODINGS = ("utf-8-sig", "latin-1")

_YEAR_IN_TITLE = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")


def read_text(path: Path, report: LoadReport) -> str:
    """A text file decoded as UTF-8, else as Latin-1 (noted in the report)."""
    data = path.read_bytes()
    try:
        return data.decode(ENCODINGS[0])
    except UnicodeDecodeError:
        report.notes.append(f"{path.name} is not UTF-8: read as Latin-1")
        return data.decode(ENCODINGS[1])


def _memory_pool() -> pa.MemoryPool:
    """jemalloc where this pyarrow has it: it hands a big file's parse buffers back to the
    system (a million-row read peaked at 1.30 GB RSS with it, 1.57 GB with mimalloc).

    It is made the process's default pool, so compute kernels' results (trims, casts, the
    parse's intermediate buffers) live there too, and its pages are returned as soon as they
    are freed (decay 0): without both, a million real-length TMDB rows left ~420 MB of freed
    buffers resident after the load, which every task built on top of (1.74 GB peak for
    `bench data inspect`, against 1.1 GB; benchmarks/README.md)."""
    # `jemalloc_set_decay_ms` reaches only the arenas made after it; the main thread's gets
    # decay 0 from JE_ARROW_MALLOC_CONF, set when moviebench is imported (moviebench/__init__).
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:
        return pa.default_memory_pool()
    pa.set_memory_pool(pool)
    return pool


_POOL = _memory_pool()


def read_csv_strings(
    path: Path, report: LoadReport, usecols: Callable[[str], bool] | None = None
) -> pd.DataFrame:
    """Every cell of the chosen columns as a string (only empty cells missing), Arrow-backed.

    pyarrow parses the file on every core and converts only the columns asked for. Lines
    with the wrong number of fields are dropped and counted as malformed instead of aborting
    the read. Text is decoded per cell: a UTF-8 file with a few stray bytes keeps its
    accents, and only the cells that are not UTF-8 are read as Latin-1 (counted, with their
    rows and columns); a file with no UTF-8 text at all is read as Latin-1, as it was written.
    """
    header = csv_header(path)
    names = [c for c in header if usecols is None or usecols(c)]
    skipped = 0
    block_size: int | None = None  # Arrow's default (1 MB) until a cell is larger

    def count_bad_line(row: pacsv.InvalidRow) -> str:
        nonlocal skipped
        skipped += 1
        return "skip"

    def read(column_type: pa.DataType) -> pa.Table:
        nonlocal skipped
        skipped = 0
        return pacsv.read_csv(
            path,
            memory_pool=_POOL,
            read_options=pacsv.ReadOptions(block_size=block_size) if block_size else None,
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=count_bad_line
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=names,
                column_types={c: column_type for c in names},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )

    def read_text_or_bytes() -> tuple[pa.Table, dict[str, list[int]], bool]:
        try:
            return read(pa.string()), {}, True  # a UTF-8 file: read once, validated by Arrow
        except pa.ArrowInvalid as exc:
            if "UTF8" not in str(exc):
                raise
            # Not all UTF-8: bytes, decoded per column and, where a column needs it, per cell.
            return _decoded(read(pa.binary()))

    try:
        # Arrow cannot show a binary line to the bad-line handler (it fails decoding it and
        # prints a traceback of its own): the parse error below is the one line to show.
        with _quiet_unraisable():
            while True:
                try:
                    table, bad_cells, utf8_text = read_text_or_bytes()
                    break
                except pa.ArrowInvalid as exc:
                    # One cell longer than a block (a 10 MB overview): bigger blocks, then
                    # the whole file as one block.
                    size = path.stat().st_size + 1
                    if "straddl" not in str(exc) or (block_size or 0) >= size:
                        raise
                    block_size = min(max(16 * (block_size or 1 << 20), 1 << 24), size)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise DataError(
            f"{path}: not a readable CSV file ({str(exc).strip().splitlines()[0]})"
        ) from None
    if bad_cells and not utf8_text:
        report.notes.append(f"{path.name} is not UTF-8: read as Latin-1")
    elif bad_cells:
        n = sum(len(rows) for rows in bad_cells.values())
        where = "; ".join(
            f"{name} row(s) {', '.join(str(r + 1) for r in rows[:5])}"
            + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
            for name, rows in bad_cells.items()
        )
        report.repair(f"cell not UTF-8 read as Latin-1 ({where})", n)
    frame = table.to_pandas(
        types_mapper={pa.string(): pd.ArrowDtype(pa.string())}.get, memory_pool=_POOL
    )
    del table
    report.rows_read = len(frame) + skipped
    report.drop("malformed line (wrong number of fields)", skipped)
    return frame


@contextlib.contextmanager
def _quiet_unraisable() -> Iterator[None]:
    previous = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        yield
    finally:
        sys.unraisablehook = previous


# A compressed or binary file named .csv: refused by its first bytes, in one line.
_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ": "xz"}


def _refuse_binary(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return  # the read below reports it
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"{path}: a {kind} file, not a CSV (decompress it first)")
    if b"\0" in head:
        raise DataError(f"{path}: binary data, not a CSV text file")


def _decoded(table: pa.Table) -> tuple[pa.Table, dict[str, list[int]], bool]:
    """Binary columns as text; the rows of each column's cells that are not UTF-8 (read as
    Latin-1, which maps every byte), and whether any cell holds non-ASCII text that is
    valid UTF-8. A column Arrow validates is cast whole; only a failing one is read cell by
    cell, each cell decoded once."""
    bad_cells, utf8_text = {}, False
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        try:
            text = column.cast(pa.string())
        except pa.ArrowInvalid:
            cells, bad = [], []
            for row, value in enumerate(column.to_pylist()):
                if value is None:
                    cells.append(None)
                    continue
                try:
                    cells.append(value.decode("utf-8"))
                    utf8_text = utf8_text or not value.isascii()
                except UnicodeDecodeError:
                    cells.append(value.decode("latin-1"))
                    bad.append(row)
            bad_cells[name], text = bad, pa.array(cells, type=pa.string())
        else:
            utf8_text = utf8_text or pc.all(pc.string_is_ascii(text)).as_py() not in (True, None)
        table = table.set_column(i, name, text)
    return table, bad_cells, utf8_text


def _libc() -> Any:
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _libc()
# glibc raises its mmap threshold each time a large block is freed (up to 32 MB), after which
# blocks that size come from the heap and stay resident once freed: a million-row table's
# columns and a task's per-row arrays then pile up (~50 MB on the 10^6-row TMDB file). A
# fixed threshold keeps every block over 1 MiB its own mapping, returned when freed.
M_MMAP_THRESHOLD = -3
if _LIBC is not None and hasattr(_LIBC, "mallopt"):
    _LIBC.mallopt(M_MMAP_THRESHOLD, 1 << 20)


def release_freed_heap() -> None:
    """Hand the C heap's freed pages back to the system (glibc's malloc_trim; nothing
    elsewhere). A parse's Python temporaries (a million date strings, list cells) leave
    ~120 MB of freed heap that glibc keeps resident and every task built after it pays for."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def distinct_cells(cells: pd.Series) -> tuple[np.ndarray, list]:
    """pd.factorize of a column of strings: each row's code (-1 where missing) and the
    distinct cells in order of first appearance. Arrow-backed text is hashed in Arrow, never
    turned into a million Python strings (a long text column cost ~100 MB of heap the
    process kept after the parse)."""
    if isinstance(cells.dtype, pd.ArrowDtype) and pa.types.is_string(cells.dtype.pyarrow_dtype):
        values = cells.array._pa_array
        uniques = pc.unique(values).drop_null()
        codes = pc.fill_null(pc.index_in(values, value_set=uniques), -1)
        return codes.to_numpy().astype(np.intp), uniques.to_pylist()
    codes, uniques = pd.factorize(cells)
    return codes, list(uniques)


def as_str(values: pd.Series) -> Any:
    """Arrow-backed text as the array of pandas' `str` dtype (missing as NaN) that assigning
    its object array makes, without a Python string per cell."""
    if isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_string(values.dtype.pyarrow_dtype):
        return pd.array(values.array._pa_array.cast(pa.large_string()), dtype="str")
    return values.to_numpy(dtype=object)


def numbers(values: pd.Series) -> pd.Series:
    """Numbers from strings, NaN where a cell is missing or not a number. Arrow parses a
    clean column in one pass; a column with text in it falls back to pandas, cell by cell."""
    if isinstance(values.dtype, pd.ArrowDtype):
        try:
            parsed = pc.cast(pc.utf8_trim_whitespace(values.array._pa_array), pa.float64())
            return pd.Series(parsed.to_numpy(zero_copy_only=False), index=values.index)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return pd.to_numeric(values.astype(object), errors="coerce").astype(float)


# Canonical columns where a negative value means nothing (a budget, a count, a duration).
NON_NEGATIVE = ("budget", "revenue", "runtime", "vote_count", "popularity")
# Finite numbers beyond this overflow a scaler (its variance squares them: 1e308 ** 2 is inf),
# so they are as missing as infinities. No real budget, count or rating comes near it.
TOO_LARGE = 1e150


def too_large(values: np.ndarray) -> np.ndarray:
    """Where `values` are finite but too large to scale (|x| > TOO_LARGE)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.abs(values) > TOO_LARGE)


def missing_if_not_finite(table: pd.DataFrame, report: LoadReport) -> None:
    """Set infinite or too large numbers (any canonical numeric column) and negative ones (NON_NEGATIVE)
    missing, counted as repairs: `inf` would crash some models and be scored by others."""
    for col in table.columns:
        if col == "movie_id" or not pd.api.types.is_numeric_dtype(table[col]):
            continue
        values = table[col].to_numpy(dtype=float)
        huge = too_large(values)
        report.repair(f"{col} too large to scale set missing", int(huge.sum()))
        infinite = np.isinf(values)
        report.repair(f"{col} infinite set missing", int(infinite.sum()))
        infinite |= huge
        negative = (values < 0) if col in NON_NEGATIVE else np.zeros(len(values), dtype=bool)
        report.repair(f"{col} negative set missing", int(negative.sum()))
        if (infinite | negative).any():
            table[col] = np.where(infinite | negative, np.nan, values)


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file, without reading its rows."""
    _refuse_binary(path)
    for encoding in ENCODINGS:
        try:
            return list(pd.read_csv(path, nrows=0, encoding=encoding).columns)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: empty file, no header") from None
    return []


def split_title_year(title: str) -> tuple[str, int | None]:
    """'Toy Story (1995)' -> ('Toy Story', 1995); a title without a trailing year is kept whole."""
    match = _YEAR_IN_TITLE.match(title)
    if not match:
        return title.strip(), None
    return match["title"], int(match["year"])


class MalformedCell(ValueError):
    """A list cell that does not parse in its layout's encoding."""


def _names(items: object) -> list[str]:
    if not isinstance(items, list):
        raise MalformedCell("not a list")
    names = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
        elif isinstance(item, str):
            names.append(item)
        else:
            raise MalformedCell(f"list item without a name: {item!r}")
    return names


def parse_list_cell(value: object, encoding: str) -> list[str]:
    """Names in a list cell. `encoding` is 'json', 'python' (single-quoted literals) or 'names'.

    A missing or empty cell is an empty list; a cell not in the expected encoding raises
    MalformedCell, so the loader can drop and count its row.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    text = str(value).strip()
    if not text:
        return []
    if encoding == "names":
        if text.startswith("["):
            raise MalformedCell("a list literal where comma-separated names were expected")
        return [name.strip() for name in text.split(",") if name.strip()]
    try:
        parsed = json.loads(text) if encoding == "json" else ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise MalformedCell(str(exc)) from None
    return _names(parsed)
