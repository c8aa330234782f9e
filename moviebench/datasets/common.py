"""Reading helpers shared by the file sources: text encodings, CSV lines, list cells, years.

Nothing here registers a source; the loaders call these and count every repair or drop
in their `LoadReport`.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from moviebench.datasets.base import LoadReport
from moviebench.errors import DataError

# Tried in this order: a Latin-1 file fails UTF-8 decoding, while the reverse never fails
# (Latin-1 maps every byte), so UTF-8 must come first.
ENCODINGS = ("utf-8-sig", "latin-1")

CHUNK_ROWS = 200_000
_SKIPPED_LINE = re.compile(r"Skipping line (\d+)")
_YEAR_IN_TITLE = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")


def read_text(path: Path, report: LoadReport) -> str:
    """A text file decoded as UTF-8, else as Latin-1 (noted in the report)."""
    data = path.read_bytes()
    try:
        return data.decode(ENCODINGS[0])
    except UnicodeDecodeError:
        report.notes.append(f"{path.name} is not UTF-8: read as Latin-1")
        return data.decode(ENCODINGS[1])


def read_csv_strings(
    path: Path, report: LoadReport, usecols: Callable[[str], bool] | None = None
) -> pd.DataFrame:
    """Every cell as a string (only empty cells missing), in UTF-8 else Latin-1.

    Lines with too many fields are dropped and counted as malformed instead of aborting the read.
    Columns are picked chunk by chunk, not with pandas' `usecols`, which would let such lines
    through; chunks keep memory bounded on files of a million rows.
    """
    for encoding in ENCODINGS:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                chunks = pd.read_csv(
                    path,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],
                    encoding=encoding,
                    on_bad_lines="warn",
                    chunksize=CHUNK_ROWS,
                )
                parts = [
                    chunk[[c for c in chunk.columns if usecols is None or usecols(c)]]
                    for chunk in chunks
                ]
                frame = pd.concat(parts, ignore_index=True)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(
                f"{path}: not a readable CSV file ({str(exc).strip().splitlines()[0]})"
            ) from None
        if encoding != ENCODINGS[0]:
            report.notes.append(f"{path.name} is not UTF-8: read as Latin-1")
        skipped = sum(len(_SKIPPED_LINE.findall(str(w.message))) for w in caught)
        report.rows_read = len(frame) + skipped
        report.drop("malformed line (wrong number of fields)", skipped)
        return frame
    raise DataError(
        f"{path}: cannot decode as UTF-8 or Latin-1"
    )  # unreachable: Latin-1 decodes any byte


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
