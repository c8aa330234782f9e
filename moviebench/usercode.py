"""The code a user's module runs: its import closure inside the user's own tree, hashed.

A plugin's identity (plugins.code_identity) and the no-op manifest's stamp hash not only the
module that defines a model but every module of the user's it imports, directly or through
others (`import_closure`: the import statements followed without importing anything, inside
the user's tree, never the standard library, site-packages or moviebench). `note_imported`
keeps each module's hashes as they were when imported: the code that runs, which
plugins.refresh compares with the disk before each run. Below the registries (which note
each outside class they take) and plugins.py, and imports nothing of moviebench.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

# module name -> {file: sha256} of its import closure as it was when the module was imported
IMPORTED: dict[str, dict[str, str]] = {}
_PARSED: dict[tuple[str, int, int], list[tuple[str, int, list[str]]]] = {}


def _excluded_folders() -> list[Path]:
    """Where no user code lives: the standard library, installed packages, moviebench."""
    import site
    import sysconfig

    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths |= set(site.getsitepackages()) | {site.getusersitepackages()}
    paths.add(str(Path(__file__).parent))
    return [Path(p).resolve() for p in paths if p]


def _under(file: Path, folder: Path) -> bool:
    return file == folder or folder in file.parents


def _root(file: Path, module_name: str) -> Path:
    """The user's tree a module belongs to: a plugin file's folder, or the folder holding a
    module's top-level package."""
    if module_name.startswith("moviebench_plugin_") or module_name == "__main__":
        return file.parent
    depth = module_name.count(".") + (1 if file.name == "__init__.py" else 0)
    root = file.parent
    for _ in range(depth):
        root = root.parent
    return root


def _imports(file: Path) -> list[tuple[str, int, list[str]]]:
    """(module, level, names) of each import statement of a file, memoised on its stat."""
    import ast

    stat = file.stat()
    memo = (str(file), stat.st_size, stat.st_mtime_ns)
    if memo not in _PARSED:
        found = []
        try:
            tree = ast.parse(file.read_bytes(), filename=str(file))
        except (SyntaxError, ValueError):
            tree = None  # its import reports it; its own hash still counts
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Import):
                found += [(alias.name, 0, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found.append((node.module or "", node.level, [a.name for a in node.names]))
        _PARSED[memo] = found
    return _PARSED[memo]


def _find(dotted: str, bases: list[Path]) -> list[Path]:
    """The files importing `dotted` executes (each package's __init__ on the way), found
    in the first base folder that has it, without importing anything."""
    parts = [p for p in dotted.split(".") if p]
    for base in bases:
        files, folder = [], base
        for i, part in enumerate(parts):
            package, module = folder / part / "__init__.py", folder / f"{part}.py"
            if package.is_file():
                files.append(package)
                folder = folder / part
            elif module.is_file() and i == len(parts) - 1:
                files.append(module)
            else:
                files = []
                break
        if files:
            return files
    return []


def import_closure(file: Path, module_name: str) -> list[Path]:
    """`file` and every module of the user's own it imports, directly or through others:
    the files under its tree (`_root`) that are not the standard library, an installed
    package or moviebench. Found by reading the import statements (nothing is imported), so
    a driver and its workers agree."""
    file = file.resolve()
    root = _root(file, module_name)
    excluded = _excluded_folders()
    if any(_under(file, e) for e in excluded):
        return [file]  # an installed package: its distribution's version stamps the rest
    search = [Path(p or ".").resolve() for p in sys.path] + [root]
    seen: dict[Path, None] = {}
    todo = [file]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen[current] = None
        for name, level, names in _imports(current):
            if level:
                base = current.parent
                for _ in range(level - 1):
                    base = base.parent
                bases = [base]
            else:
                bases = search
            wanted = [name] if name else []
            wanted += [f"{name}.{n}" if name else n for n in names if n != "*"]
            for dotted in wanted:
                for found in _find(dotted, bases):
                    found = found.resolve()
                    if _under(found, root) and not any(_under(found, e) for e in excluded):
                        todo.append(found)
    return list(seen)


def closure_hashes(file: Path, module_name: str) -> dict[str, str]:
    """{file: sha256 of its bytes} over the import closure of a module's file."""
    return {
        str(f): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in import_closure(file, module_name)
        if f.is_file()
    }


def note_imported(module_name: str) -> dict[str, str] | None:
    """Remember the code of a user module as it is now, just imported (once: a later call
    keeps the first answer, which is the code that runs until `refresh`)."""
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if not file or not Path(file).is_file() or module_name.startswith("moviebench."):
        return None
    if str(Path(file).resolve()) in IMPORTED.get(module_name, {}):  # the same module's
        return IMPORTED[module_name]
    IMPORTED[module_name] = closure_hashes(Path(file), module_name)
    return IMPORTED[module_name]
