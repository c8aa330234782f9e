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
from moviebench.usercode import (  # noqa: F401 - a plugin's code identity, used here and by manifest
    IMPORTED,
    _root,
    closure_hashes,
    import_closure,
    note_imported,
)

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


def _file_module_name(path: Path) -> str:
    return f"moviebench_plugin_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"


def _import_file(path: Path) -> ModuleType:
    name = _file_module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    _builtins_first()
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"--plugins {path}: not a Python file")
    # Its folder is importable (after everything else), so `import helpers` beside it works.
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.append(folder)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        code = closure_hashes(path, name)  # before it runs: what it is about to run
        spec.loader.exec_module(module)
    except BenchError:
        del sys.modules[name]
        raise
    except Exception as err:
        del sys.modules[name]
        raise PluginError(f"--plugins {path}: {type(err).__name__}: {err}") from err
    IMPORTED[name] = code
    return module


def _import_module(name: str, what: str) -> ModuleType:
    _builtins_first()
    try:
        module = importlib.import_module(name)
    except BenchError:
        raise
    except Exception as err:
        raise PluginError(f"{what}: cannot import '{name}': {type(err).__name__}: {err}") from err
    note_imported(name)
    return module


def _builtins_first() -> None:
    """Every built-in task, source and model registered before a plugin's: a plugin that
    takes a built-in name is then refused in one line (registry.add), and never makes the
    built-in's own registration fail later."""
    from moviebench.datasets import SOURCES
    from moviebench.models import MODELS
    from moviebench.tasks import TASKS

    for registry in (SOURCES, TASKS, MODELS):
        registry.names()


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
    try:
        MODELS.add(cls.name, cls)  # a no-op for the class already there, or its redefinition
    except BenchError as err:
        raise PluginError(f"--models {spec}: {err}") from None
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
    """Load every spec (see load_one); loading one twice does nothing, but user code edited
    since it was imported in this process is imported again first (`refresh`)."""
    refresh()
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
    """What makes a model outside moviebench itself: its class's qualified name, the hash of
    its defining module's source and of each module of the user's own it imports (its
    import closure, `import_closure`) as they were when imported, i.e. the code that runs,
    and its distribution's version. Empty for built-in rungs, whose code the manifest's
    package stamp covers and whose committed records would otherwise all read as stale."""
    if is_builtin(cls):
        return {}
    module = sys.modules.get(cls.__module__)
    source_hash, helpers = None, {}
    file = getattr(module, "__file__", None)
    code = note_imported(cls.__module__)
    if code:
        own = str(Path(file).resolve()) if file else None
        source_hash = code.get(own) if own else None
        root = _root(Path(own), cls.__module__) if own else None
        helpers = {
            _relative(Path(f), root): digest for f, digest in sorted(code.items()) if f != own
        }
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
            **({"imports": helpers} if helpers else {}),
            "distribution": None if dist is None else {"name": dist[0], "version": dist[1]},
        }
    }


def _relative(file: Path, root: Path | None) -> str:
    try:
        return file.relative_to(root).as_posix() if root else str(file)
    except ValueError:
        return str(file)


# ---- re-importing what changed (the closures themselves: usercode.py) --------------------


def refresh() -> list[str]:
    """Import again every user module whose code (itself or a module of the user's it
    imports) changed on disk since this process imported it, helpers first, and register
    its classes again: a notebook calling api.run after an edit runs the edited code, and
    its records are filed under the hash of that code. A module that no longer imports
    refuses the run in one line. Returns the modules imported again."""
    changed = []
    for name, code in list(IMPORTED.items()):
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if module is None or not file:
            continue
        try:
            now = closure_hashes(Path(file), name)
        except OSError:
            continue  # a file gone: the run reports what it cannot find
        if now != code:
            changed.append((name, Path(file), code, now))
    reloaded = []
    for name, file, code, now in changed:
        module_files = {
            str(Path(f).resolve()): n
            for n, m in list(sys.modules.items())
            if (f := getattr(m, "__file__", None)) and not n.startswith("moviebench.")
        }
        helpers = [
            module_files[f]
            for f in now
            if f != str(file.resolve()) and f in module_files and code.get(f) != now[f]
        ]
        old_module = sys.modules[name]
        try:
            for helper in helpers:
                if helper not in reloaded:
                    importlib.reload(sys.modules[helper])
                    reloaded.append(helper)
            if name.startswith("moviebench_plugin_"):
                del sys.modules[name]
                _import_file(file)
            else:
                importlib.reload(old_module)
                IMPORTED.pop(name, None)
                note_imported(name)
        except Exception as err:
            # The old code stays loaded and recorded as what it was: the next run refuses
            # again until the file imports.
            sys.modules[name], IMPORTED[name] = old_module, code
            reason = str(err) if isinstance(err, PluginError) else f"{type(err).__name__}: {err}"
            raise PluginError(
                f"{file}: changed since it was imported and no longer imports "
                f"({reason.rpartition(': ')[2] if isinstance(err, PluginError) else reason}); "
                "fix it, or restart to run the old code"
            ) from None
        reloaded.append(name)
    if reloaded:
        _register_again(set(reloaded))
    return reloaded


def _register_again(modules: set[str]) -> None:
    """Point the model registry at the re-imported classes (an entry point names the class
    itself, so nothing in its module registers it again)."""
    models = sys.modules.get("moviebench.models")
    if models is None:
        return
    for name, item in list(models.MODELS._items.items()):  # noqa: SLF001 - in place
        if item.__module__ in modules:
            new: Any = sys.modules.get(item.__module__)
            for part in item.__qualname__.split("."):
                new = getattr(new, part, None)
            if isinstance(new, type) and new is not item:
                models.MODELS._items[name] = new  # noqa: SLF001


def code_files(model_classes: Iterable[type]) -> list[Path]:
    """The source files of the non-built-in models and of the user modules they import:
    what the no-op manifest stamps."""
    files: set[Path] = set()
    for cls in model_classes:
        if is_builtin(cls):
            continue
        module = sys.modules.get(cls.__module__)
        file = getattr(module, "__file__", None)
        if file:
            files.update(import_closure(Path(file), cls.__module__))
    return sorted(files)
