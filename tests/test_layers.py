"""Imports go one way: features/ sit below the data and model sides, and no module imports
one that (directly or not) imports it back."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "moviebench"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported(name: str) -> set[str]:
    """The package's modules that `name` imports anywhere, function-level imports included
    (a lazy import is still an arrow)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"  # `from pkg import submodule`
                found.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imported(name) for name in MODULES}


def test_the_parser_sees_known_arrows() -> None:
    # Guards the test itself: an import parser that found nothing would pass everything.
    assert "moviebench.errors" in GRAPH["moviebench.registry"]
    assert "moviebench.models.base" in GRAPH["moviebench.models"]


@pytest.mark.parametrize("upper", ["moviebench.models", "moviebench.datasets", "moviebench.tasks"])
def test_features_import_nothing_from_the_layers_above(upper: str) -> None:
    arrows = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name.startswith("moviebench.features")
        for target in targets
        if target == upper or target.startswith(upper + ".")
    ]
    assert not arrows, "features/ must not import " + upper + ": " + ", ".join(arrows)


def test_module_imports_have_no_cycle() -> None:
    try:
        graphlib.TopologicalSorter(GRAPH).prepare()
    except graphlib.CycleError as exc:
        pytest.fail("import cycle: " + " -> ".join(exc.args[1]))


def test_a_cycle_is_caught() -> None:
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).prepare()


# ---- subpackages: folders point one way ---------------------------------------------------
# Each folder with an __init__.py is one node (models/ and models/deep/ apart); the package's
# top-level modules are not a folder and are left out (prepare.py, the seam, reads both sides).
SUBPACKAGES = sorted(
    name for name, path in MODULES.items() if path.name == "__init__.py" and "." in name
)


def subpackage_of(module: str) -> str | None:
    inside = [p for p in SUBPACKAGES if module == p or module.startswith(p + ".")]
    return max(inside, key=len) if inside else None


def subpackage_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {p: set() for p in SUBPACKAGES}
    for name, targets in GRAPH.items():
        here = subpackage_of(name)
        for target in targets:
            there = subpackage_of(target)
            if here and there and here != there:
                graph[here].add(there)
    return graph


def test_the_subpackage_graph_sees_known_arrows() -> None:
    graph = subpackage_graph()
    assert "moviebench.models.deep" in SUBPACKAGES
    assert "moviebench.models" in graph["moviebench.models.deep"]  # deep rungs subclass Model
    assert "moviebench.datasets" in graph["moviebench.tasks"]


def test_subpackages_have_no_cycle() -> None:
    """datasets -> tasks -> models and deep/ -> pretrained/ -> classical/, never back: a folder
    that imports one importing it back (inspection once read tasks from datasets/; pretrained/
    once took its torch base from deep/) cannot be read, tested or moved on its own."""
    try:
        graphlib.TopologicalSorter(subpackage_graph()).prepare()
    except graphlib.CycleError as exc:
        pytest.fail("subpackage cycle: " + " -> ".join(exc.args[1]))
