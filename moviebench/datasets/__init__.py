"""Sources: read a published file layout, or a bundled default, into the canonical table."""

from __future__ import annotations

from pathlib import Path

from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec
from moviebench.errors import DataError
from moviebench.registry import Registry

SOURCES: Registry[SourceSpec] = Registry("source", __name__)


def register_source(spec: SourceSpec) -> SourceSpec:
    return SOURCES.add(spec.name, spec)


def load_source(name: str, path: str | Path | None = None) -> LoadedSource:
    """Load a registered source, checking that --data was given when it is needed."""
    spec = SOURCES.get(name)
    if path is None and spec.needs_path:
        raise DataError(f"source '{name}' needs --data: {spec.path_hint or 'a path to its files'}")
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise DataError(f"--data {path}: no such file or folder")
    return spec.load(path)


__all__ = ["SOURCES", "LoadReport", "LoadedSource", "SourceSpec", "load_source", "register_source"]
