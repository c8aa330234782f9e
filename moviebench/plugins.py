"""User code on the board: plugin modules and files, and model classes named by import path.

Three ways in, all read the same way by every process of a run:

- an installed distribution's entry point in the group `moviebench.models`, `moviebench.tasks`
  or `moviebench.sources` (read by the registries themselves, see registry.py);
- `--plugins MODULE_OR_FILE.py` (repeatable; also `MOVIEBENCH_PLUGINS`, os.pathsep-separated):
  a module or file imported for its `register_*` calls;
- `--models pkg.module:Class`: a model class that nobody registered, registered under its
  `name`.

`load` remembers what it loaded (`active`), so executors hand the same list to their workers
(pool initializer, Ray tasks), which call `load` with it before they touch a registry.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from moviebench.errors import BenchError

ENV = "MOVIEBENCH_PLUGINS"
_ACTIVE: list[str] = []


class PluginError(BenchError):
    """A plugin module, file or class that cannot be loaded."""


def from_env() -> list[str]:
    """The plugin specs named in MOVIEBENCH_PLUGINS."""
    return [s for s in os.environ.get(ENV, "").split(os.pathsep) if s.strip()]


def active() -> list[str]:
    """Every spec loaded in this process, in order: what a worker must load too."""
    return list(_ACTIVE)


def _import_file(path: Path) -> ModuleType:
    name = f"moviebench_plugin_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"--plugins {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BenchError:
        raise
    except Exception as err:
        del sys.modules[name]
        raise PluginError(f"--plugins {path}: {type(err).__name__}: {err}") from err
    return module


def _import_module(name: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except BenchError:
        raise
    except Exception as err:
        raise PluginError(f"{what}: cannot import '{name}': {type(err).__name__}: {err}") from err


def model_class(spec: str) -> type:
    """The class `pkg.module:Class` names, registered (under its `name`) if it is not yet."""
    from moviebench.models import MODELS, Model

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise PluginError(f"--models {spec}: expected pkg.module:Class")
    module = (
        _import_file(Path(module_name))
        if module_name.endswith(".py")
        else _import_module(module_name, f"--models {spec}")
    )
    if module_name.endswith(".py"):
        spec = f"{Path(module_name).resolve()}:{attr}"
    cls: Any = module
    for part in attr.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            raise PluginError(f"--models {spec}: '{module_name}' has no '{attr}'")
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise PluginError(f"--models {spec}: {attr} is not a moviebench Model subclass")
    if not isinstance(getattr(cls, "name", None), str) or not cls.name:
        raise PluginError(f"--models {spec}: {attr} has no `name`")
    if cls.name not in MODELS._items:  # noqa: SLF001 - registering without loading everything
        MODELS.add(cls.name, cls)
    elif MODELS._items[cls.name] is not cls:  # noqa: SLF001
        raise PluginError(f"--models {spec}: model '{cls.name}' is already registered")
    _remember(spec)
    return cls


def load_one(spec: str) -> None:
    """Load one --plugins spec (a module name, a .py file) or one pkg.module:Class."""
    if ":" in spec and not Path(spec).exists():
        model_class(spec)
        return
    if spec.endswith(".py") or Path(spec).is_file():
        path = Path(spec)
        if not path.is_file():
            raise PluginError(f"--plugins {spec}: no such file")
        _import_file(path)
        _remember(str(path.resolve()))  # a worker may start elsewhere
    else:
        _import_module(spec, f"--plugins {spec}")
        _remember(spec)


def _remember(spec: str) -> None:
    if spec not in _ACTIVE:
        _ACTIVE.append(spec)


def load(specs: Iterable[str]) -> None:
    """Load every spec (see load_one); loading one twice does nothing."""
    for spec in specs:
        load_one(spec)


def resolve_model_names(names: list[str] | None) -> list[str] | None:
    """--models with any pkg.module:Class replaced by the registered name of its class."""
    if names is None:
        return None
    return [model_class(n).name if ":" in n else n for n in names]


def is_builtin(cls: type) -> bool:
    return cls.__module__ == "moviebench" or cls.__module__.startswith("moviebench.")


def distribution_of(module: ModuleType) -> tuple[str, str] | None:
    """(distribution, version) of the installed distribution that provides the module."""
    top = module.__name__.split(".")[0]
    for dist in metadata.packages_distributions().get(top, []):
        try:
            return dist, metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def code_identity(cls: type) -> dict[str, Any]:
    """What makes a model outside moviebench itself: its class's qualified name, a hash of its
    defining module's source and its distribution's version. Empty for built-in rungs, whose
    code the manifest's package stamp covers and whose committed records would otherwise
    all read as stale."""
    if is_builtin(cls):
        return {}
    module = sys.modules.get(cls.__module__)
    source_hash = None
    file = getattr(module, "__file__", None)
    if file and Path(file).is_file():  # the file as it is now, not as it was imported
        source_hash = hashlib.sha256(Path(file).read_bytes()).hexdigest()
    elif module is not None:
        try:
            source_hash = hashlib.sha256(inspect.getsource(module).encode()).hexdigest()
        except (OSError, TypeError):
            pass
    dist = distribution_of(module) if module is not None else None
    return {
        "model_code": {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "source_hash": source_hash,
            "distribution": None if dist is None else {"name": dist[0], "version": dist[1]},
        }
    }


def code_files(model_classes: Iterable[type]) -> list[Path]:
    """The source files defining the non-built-in models: what the no-op manifest stamps."""
    files: set[Path] = set()
    for cls in model_classes:
        if is_builtin(cls):
            continue
        module = sys.modules.get(cls.__module__)
        file = getattr(module, "__file__", None)
        if file:
            files.add(Path(file))
    return sorted(files)
