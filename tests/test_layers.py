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


# ---- the target-kind rule: what differs by kind lives in targets.py ---------------------------

KIND_NAMES = {"multiclass", "multilabel", "retrieval", "regression"}
KIND_OBJECTS = {"MULTICLASS", "MULTILABEL", "RETRIEVAL", "REGRESSION"}


def _names_a_kind(node: ast.AST) -> bool:
    """A kind's name as a string, a kind object by its constant, or a collection of them."""
    if isinstance(node, ast.Constant):
        return node.value in KIND_NAMES
    if isinstance(node, ast.Name):
        return node.id in KIND_OBJECTS
    if isinstance(node, ast.Attribute):
        return node.attr in KIND_OBJECTS
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        # ("regression", "missing") lists a check's findings, not target kinds
        return bool(node.elts) and all(_names_a_kind(e) for e in node.elts)
    return False


def kind_comparisons(source: str) -> list[int]:
    """Lines that compare with a kind (`kind.name == "multilabel"`, `kind is REGRESSION`,
    `name in ("multiclass", ...)`, `match` cases on a kind's name)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(
            _names_a_kind(side) for side in (node.left, *node.comparators)
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.MatchValue) and _names_a_kind(node.value):
            lines.append(node.lineno)
    return lines


def test_no_code_outside_targets_asks_which_kind_it_has() -> None:
    # targets.py's kind objects own what differs by kind (docs/architecture.md); elsewhere
    # the code calls the kind. A comparison with a kind's name or object is a branch that
    # belongs in a method of TargetKind.
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for name, path in sorted(MODULES.items())
        if name != "moviebench.targets"
        for line in kind_comparisons(path.read_text())
    ]
    assert not found, "kind branches outside targets.py: " + ", ".join(found)


@pytest.mark.parametrize(
    "code",
    [
        'if data.target.name == "multilabel": pass',
        'shape = () if kind != "regression" else (1,)',
        'ok = prep.spec.target.name not in ("multiclass", "multilabel")',
        "if kind is MULTILABEL: pass",
        "if target == targets.REGRESSION: pass",
        'match kind.name:\n    case "retrieval":\n        pass',
    ],
)
def test_a_kind_branch_is_caught(code: str) -> None:
    assert kind_comparisons(code)  # the guard sees each form


@pytest.mark.parametrize(
    "code",
    [
        'TaskSpec(name="t", target="multilabel")',  # declaring a task's kind is no branch
        'fails = finding.kind in ("regression", "missing", "truncated")',
        "if spec.target.needs_validation_scores(): pass",
    ],
)
def test_what_is_not_a_kind_branch(code: str) -> None:
    assert not kind_comparisons(code)
