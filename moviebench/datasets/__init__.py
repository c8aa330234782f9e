"""Sources: read a published file layout, or a bundled default, into the canonical table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moviebench.datasets.base import LoadedSource, LoadReport, SourceSpec
from moviebench.errors import DataError
from moviebench.registry import Registry

SOURCES: Registry[SourceSpec] = Registry("source", __name__)


def register_source(spec: SourceSpec) -> SourceSpec:
    return SOURCES.add(spec.name, spec)


def source_setting_names(name: str) -> set[str]:
    """The `--set` keys a source reads (none for most)."""
    spec = SOURCES.get(name)
    if spec.settings_type is None:
        return set()
    return {f.name for f in dataclasses.fields(spec.settings_type)}


def load_source(
    name: str, path: str | Path | None = None, settings: Mapping[str, Any] | None = None
) -> LoadedSource:
    """Load a registered source, checking that --data was given when it is needed.

    `settings`: raw `--set` pairs; the keys the source declares are typed and passed to it,
    the rest are a task's concern. A table read from a file before, unchanged, comes from
    the Parquet cache (datasets/table_cache.py) instead of being parsed again."""
    from moviebench.datasets.table_cache import cached_load

    spec = SOURCES.get(name)
    if path is None and spec.needs_path:
        raise DataError(f"source '{name}' needs --data: {spec.path_hint or 'a path to its files'}")
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise DataError(f"--data {path}: no such file or folder")
    if spec.settings_type is None:
        return cached_load(name, path, None, lambda: spec.load(path))
    from moviebench.settings import parse_settings

    known = source_setting_names(name)
    typed = parse_settings(
        spec.settings_type, {k: v for k, v in (settings or {}).items() if k in known}
    )
    return cached_load(name, path, typed, lambda: spec.load(path, typed))


__all__ = [
    "SOURCES",
    "LoadReport",
    "LoadedSource",
    "SourceSpec",
    "load_source",
    "register_source",
    "source_setting_names",
]
