"""A disk cache for computed features, keyed by what they were computed from.

An embedding matrix or a resized image array is computed once per (inputs, extractor,
settings) and reused by every model and every run. The key is a hash of those parts, so
a change of any of them computes afresh instead of reading a stale array.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moviebench.records import umask_mode

# Hits and misses in this process, by extractor name: lets tests and run reports see reuse.
STATS: Counter = Counter()


def cache_root() -> Path:
    """$MOVIEBENCH_CACHE, else ~/.cache/moviebench."""
    return Path(os.environ.get("MOVIEBENCH_CACHE", Path.home() / ".cache" / "moviebench"))


def cache_key(**parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def fingerprint_strings(values: list[str]) -> str:
    """A content hash of a list of texts or file paths, in order."""
    digest = hashlib.sha256()
    for v in values:
        digest.update(v.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def cached_array(
    extractor: str, key: str, compute: Callable[[], np.ndarray], root: Path | None = None
) -> np.ndarray:
    """Load `extractor/key.npy` from the cache, or compute it, store it atomically and return it."""
    path = (root or cache_root()) / extractor / f"{key}.npy"
    if path.exists():
        try:
            array = np.load(path, allow_pickle=False)
            STATS[f"{extractor}:hit"] += 1
            return array
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # a damaged entry is recomputed, not trusted
    STATS[f"{extractor}:miss"] += 1
    array = np.asarray(compute())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
    os.fchmod(fd, umask_mode())  # mkstemp makes 0600; a shared cache needs the umask's mode
    with os.fdopen(fd, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    os.replace(tmp, path)
    return array
