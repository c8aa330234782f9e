"""Which image files a source points at exist and decode: counted in the LoadReport.

Decoding every poster on each load would cost seconds per thousand files, so the verdicts
are cached on disk, keyed by each file's path, size and modification time: a changed or
replaced file is checked again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from moviebench.datasets.base import LoadedSource, LoadReport

# Re-exported: the check lives in features/ so that features never import datasets.
from moviebench.features.image_files import image_readable, readable_flags

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

__all__ = [
    "IMAGE_EXTENSIONS",
    "check_images",
    "image_readable",
    "poster_paths",
    "readable_flags",
    "with_checked_images",
]


def check_images(paths: Sequence[str | None], report: LoadReport) -> None:
    """Count found / missing / unreadable images (None = no file) and list the unreadable ones."""
    present = [p for p in paths if isinstance(p, str)]
    flags = readable_flags(present)
    unreadable = [p for p, ok in zip(present, flags) if not ok]
    report.images = {
        "found": len(present),
        "missing": len(paths) - len(present),
        "unreadable": len(unreadable),
    }
    report.unreadable_images = unreadable


def poster_paths(movie_ids: Iterable[object], folder: Path | None) -> pd.Series:
    """`<folder>/<id>.jpg` for each film whose file exists, else None; all None without a folder."""
    ids = movie_ids if isinstance(movie_ids, pd.Series) else pd.Series(list(movie_ids))
    if folder is None:
        return pd.Series(np.full(len(ids), None, dtype=object), dtype=object)
    ids = ids.astype(str)
    # One directory listing, not a stat per film: a million films may have few posters.
    present = {p.name for p in folder.iterdir()}
    return pd.Series(
        [str(folder / f"{i}.jpg") if f"{i}.jpg" in present else None for i in ids], dtype=object
    )


def with_checked_images(loaded: LoadedSource, column: str) -> LoadedSource:
    """The loaded source, once the files its image column names are counted in its report."""
    check_images(list(loaded.table[column]), loaded.report)
    return loaded
