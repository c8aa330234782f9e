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
import re
import threading
from collections.abc import Iterator
from importlib import metadata
from types import ModuleType
from typing import Generic, TypeVar

from moviebench.errors import BenchError, UnknownNameError

T = TypeVar("T")

# What a rung may be called: it names a folder of records, so no separator, no "." or "..",
# nothing empty, and nothing a shell or a markdown table reads as syntax.
RUNG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


class RegistrationError(BenchError):
    """A name that cannot be registered: taken by another class, or not a valid name."""


def check_rung_name(name: object, what: str = "model name") -> str:
    """`name` if it can name a rung (and its records folder); else one line saying why."""
    if not isinstance(name, str) or not RUNG_NAME.fullmatch(name):
        raise RegistrationError(
            f"{what} {name!r}: a rung name is letters, digits and . _ + - (at most 100, "
            "starting with a letter or digit)"
        )
    return name


def _redefinition(old: object, new: object) -> bool:
    """The same class defined again in the same place: a notebook cell run twice, or a
    plugin file re-imported after an edit. The newer definition replaces the older."""
    return (
        isinstance(old, type)
        and isinstance(new, type)
        and (old.__module__, old.__qualname__) == (new.__module__, new.__qualname__)
    )


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, T] = {}
        self._loaded = False
        # Two threads may read a registry at once (api.run from a thread pool): one loads,
        # the other waits until every module is imported, never sees half a registry.
        self._lock = threading.RLock()
        self._loading = False

    def _outside(self, item: object) -> bool:
        """A class from outside this registry's package (a plugin's, a notebook's)."""
        module = getattr(item, "__module__", "") if isinstance(item, type) else ""
        return bool(module) and not (
            module == self.package or module.startswith(f"{self.package}.")
        )

    def add(self, name: str, item: T) -> T:
        with self._lock:
            if self._outside(item):
                self._load()  # built-ins first, so a plugin's clash with one is seen now
                from moviebench.usercode import note_imported

                note_imported(item.__module__)  # the code that runs: see plugins.refresh
            if self.kind == "model":
                check_rung_name(name)
            old = self._items.get(name)
            if old is not None and old is not item and not _redefinition(old, item):
                where = getattr(item, "__module__", None)
                raise RegistrationError(
                    f"{self.kind} '{name}'"
                    + (f" (from {where})" if where else "")
                    + f" is already registered by {getattr(old, '__module__', 'another')}; "
                    "choose another name"
                )
            self._items[name] = item
            return item

    def _load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:  # done, or this thread is importing them now
                return
            self._loading = True
            try:
                self._import_all()
                self._loaded = True
            finally:
                self._loading = False

    def _import_all(self) -> None:
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
