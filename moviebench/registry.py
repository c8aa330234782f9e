"""A tiny name -> object registry shared by sources, tasks and models.

Each registry fills itself by importing every module of its package the first time it is
read, so adding a source, task or model means adding a module: nothing else is edited.
Then it reads the entry-point group `moviebench.<kind>s` of every installed distribution:
an entry point names a module (imported for its `register_*` calls) or the object itself
(a model class, a task or source spec), added under its `name`.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Iterator
from importlib import metadata
from types import ModuleType
from typing import Generic, TypeVar

from moviebench.errors import BenchError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, T] = {}
        self._loaded = False

    def add(self, name: str, item: T) -> T:
        if name in self._items and self._items[name] is not item:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = item
        return item

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        pkg = importlib.import_module(self.package)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{self.package}."):
            importlib.import_module(info.name)
        for entry in metadata.entry_points(group=self.group):
            try:
                item = entry.load()
            except BenchError:
                raise
            except Exception as err:
                raise BenchError(
                    f"entry point '{entry.name}' of {self.group} ({entry.value}) cannot be "
                    f"loaded: {type(err).__name__}: {err}"
                ) from err
            if isinstance(item, ModuleType):
                continue
            name = getattr(item, "name", None)
            if not isinstance(name, str):
                raise BenchError(
                    f"entry point '{entry.name}' of {self.group} ({entry.value}) is neither "
                    f"a module nor a {self.kind} with a name"
                )
            if self._items.get(name) is not item:
                self.add(name, item)

    @property
    def group(self) -> str:
        """The entry-point group plugins register into."""
        return f"moviebench.{self.kind}s"

    def get(self, name: str) -> T:
        self._load()
        if name not in self._items:
            raise UnknownNameError(self.kind, name, self._items)
        return self._items[name]

    def names(self) -> list[str]:
        self._load()
        return list(self._items)

    def __iter__(self) -> Iterator[T]:
        self._load()
        return iter(list(self._items.values()))

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._items

    def registered(self) -> dict[str, T]:
        """What is registered so far, without importing the package's modules: e.g. the run
        manifest, which must not import torch, reads the model classes a run loaded."""
        return dict(self._items)

    @contextlib.contextmanager
    def lent(self, name: str, item: T) -> Iterator[T]:
        """`item` registered under `name` for the block only (api.score's external rung,
        which this process's cell reads by name); a taken name is refused as in `add`."""
        self._load()
        self.add(name, item)
        try:
            yield item
        finally:
            if self._items.get(name) is item:
                del self._items[name]
