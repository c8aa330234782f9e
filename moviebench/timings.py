"""This machine's record of how long cells took: one JSON line per cell that trained, under
the cache root, read by `bench run --plan` (plan.py) for its estimates when `--out` holds no
finished record of a rung."""

from __future__ import annotations

import json
from pathlib import Path

from moviebench.records import Record

TIMINGS = "timings.jsonl"  # under the cache root: one line per finished cell on this machine


def timings_path() -> Path:
    from moviebench.features.cache import cache_root

    return cache_root() / TIMINGS


def remember_timings(records: list[Record]) -> None:
    """Append the seconds of the cells that trained now (not reused) to this machine's
    timing file, for later plans. Best effort: a cache that cannot be written is skipped."""
    lines = [
        json.dumps(
            {
                "task": r.task,
                "source": r.source,
                "model": r.model,
                "profile": r.profile,
                "seconds": (r.fit_seconds or 0.0) + (r.predict_seconds or 0.0),
                "n_train": r.n_train,
            }
        )
        for r in records
        if r.status == "ok" and not r.reused and r.fit_seconds is not None
    ]
    if not lines:
        return
    try:
        path = timings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
    except OSError:
        pass
