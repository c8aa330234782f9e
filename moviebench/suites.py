"""A benchmark as data: one TOML file (`bench run --suite FILE`, `api.run_suite`).

A suite names its boards (task x source x data, each with named lists of rungs) and its runs
(which rungs of each board, model seeds, split seeds, profile, epochs, settings, params);
each run is crossed with every board it names. Nothing in it restates a task's ladder:
`models = "ladder"` is the task's own (TaskSpec.ladder), `models = "cheap"` a board's list
of that name, or a list of rungs. Layout (results/suites/*.toml are the committed ones)::

    out = "results/board"              # default records folder (--out overrides)
    include = "baseline.toml"          # optional: that file's [data] and [[board]] too

    [data]                             # named data paths; ${VAR:-default} is expanded and a
    tmdb = "${MOVIEBENCH_DATA:-../shared/data}/tmdb-5000/tmdb_5000_movies.csv"
                                       # relative path is taken from where bench runs
    [[board]]                          # no `data`: the source's bundled default
    task = "tmdb-quality"
    source = "tmdb"
    data = "tmdb"
    cheap = ["majority", "logreg", "lightgbm", "mlp"]

    [[run]]                            # in file order; boards in theirs
    models = "cheap"                   # "ladder", a board's list name, or a list of rungs
    exclude = ["cnn-lstm"]             # optional
    also = ["catboost"]                # optional: more rungs, on each board whose task they run
    seeds = [0, 1, 2]                  # model seeds (default [0])
    split_seeds = [1, 3]               # default: the default split
    tasks = ["tmdb-quality"]           # optional: only these boards' tasks
    profile = "full"                   # optional, also epochs and settings = {KEY = VALUE}
    params = { lightgbm = { num_leaves = 63 } }

A board whose data path is missing is skipped with a message (the bundled sources still
run); a board without the list a run names is not part of that run. A bad file or key is a
one-line error naming the file and the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviebench.errors import BenchError
from moviebench.options import PROFILES, RunOptions

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

TOP_KEYS = {"out", "include", "data", "board", "run"}
BOARD_KEYS = {"task", "source", "data"}  # any other key: a named list of rungs
RUN_KEYS = {"models", "exclude", "seeds", "split_seeds", "tasks", "profile", "epochs", "settings"}
RUN_KEYS |= {"params", "also"}
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


class SuiteError(BenchError):
    """A suite file that cannot be read or names something it may not."""


@dataclass
class SuiteItem:
    """One `bench run` of a suite: a board's task, source and data, its rungs and seeds."""

    task: str
    source: str
    data: Path | None
    models: list[str] | None  # None: the task's whole ladder
    seeds: list[int]
    split_seeds: list[int] | None
    profile: str = "quick"
    epochs: int | None = None
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)

    def options(self) -> RunOptions:
        return RunOptions(
            source=self.source,
            data=self.data,
            profile=self.profile,
            epochs=self.epochs,
            settings=dict(self.settings),
        )

    def command(self) -> str:
        """The equivalent `bench run` line, for logs."""
        parts = ["bench run", f"--task {self.task}", f"--source {self.source}"]
        parts += [f"--data {self.data}"] if self.data else []
        parts += [f"--models {','.join(self.models)}"] if self.models else []
        parts += [f"--profile {self.profile}"] if self.profile != "quick" else []
        parts += [f"--epochs {self.epochs}"] if self.epochs is not None else []
        parts += [f"--set {k}={v}" for k, v in self.settings.items()]
        parts += [f"--param {m}.{k}={v}" for m, p in self.params.items() for k, v in p.items()]
        parts.append(f"--seeds {','.join(map(str, self.seeds))}")
        if self.split_seeds:
            parts.append(f"--split-seeds {','.join(map(str, self.split_seeds))}")
        return " ".join(parts)


@dataclass
class Suite:
    path: Path
    out: Path | None  # the file's default records folder
    items: list[SuiteItem]
    skipped: list[str]  # one line per board left out (its data path is missing)


def _fail(path: Path, where: str, message: str) -> SuiteError:
    return SuiteError(f"{path}: {where}: {message}")


def expand(text: str) -> str:
    """`${VAR}` and `${VAR:-default}` from the environment."""
    return _VAR.sub(lambda m: os.environ.get(m[1]) or (m[2] or ""), text)


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    try:
        body = tomllib.loads(path.read_text())
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the suite ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(body) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise _fail(path, key, f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    include = body.get("include")
    if include is not None:
        if not isinstance(include, str):
            raise _fail(path, "include", "expected the name of a suite file")
        other = (path.parent / include).resolve()
        if other in seen:
            raise _fail(path, "include", f"{include} includes this file again")
        base = _read(other, (*seen, path.resolve()))
        body["data"] = {**base.get("data", {}), **body.get("data", {})}
        body["board"] = [*base.get("board", []), *body.get("board", [])]
    return body


def _ints(path: Path, where: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not value or not all(type(v) is int for v in value):
        raise _fail(path, where, f"expected a list of integers, got {value!r}")
    return list(value)


def _names(path: Path, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, where, f"expected a list of names, got {value!r}")
    return list(value)


def _runs(name: str, task: str) -> bool:
    from moviebench.models import MODELS
    from moviebench.tasks import TASKS

    spec = TASKS.get(task)
    return MODELS.get(name).accepts(spec.target, spec.inputs)


def _check_rung(path: Path, where: str, name: str, task: str | None) -> None:
    """A rung a run names must exist and run the board's task (any task: None), before
    anything trains."""
    from moviebench.models import MODELS

    try:
        accepts = MODELS.get(name) is not None and (task is None or _runs(name, task))
    except BenchError as exc:
        raise _fail(path, where, str(exc)) from None
    if not accepts:
        raise _fail(path, where, f"model '{name}' cannot run task {task}")


def load(path: Path | str, tasks: Sequence[str] | None = None) -> Suite:
    """The suite in `path` as the runs it makes, in order (boards of `tasks` only, when
    given); the names it holds are checked here, before any data is loaded."""
    from moviebench.datasets import SOURCES
    from moviebench.tasks import TASKS

    path = Path(path)
    body = _read(path)
    data = body.get("data", {})
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise _fail(path, "data", 'expected a table of NAME = "path"')
    boards = body.get("board", [])
    if not isinstance(boards, list) or not all(isinstance(b, dict) for b in boards):
        raise _fail(path, "board", "expected [[board]] tables")
    for i, board in enumerate(boards, 1):
        where = f"board {i}"
        for key in ("task", "source"):
            if not isinstance(board.get(key), str):
                raise _fail(path, f"{where}.{key}", "missing (a name)")
        try:
            TASKS.get(board["task"])
            SOURCES.get(board["source"])
        except BenchError as exc:
            raise _fail(path, where, str(exc)) from None
        if "data" in board and board["data"] not in data:
            raise _fail(path, f"{where}.data", f"'{board['data']}' is not a name of [data]")
        for key, value in board.items():
            if key not in BOARD_KEYS:
                _names(path, f"{where}.{key}", value)
    if tasks:
        unknown = sorted(set(tasks) - {b["task"] for b in boards})
        if unknown:
            raise SuiteError(f"{path}: no board of task {', '.join(unknown)} in this suite")
    runs = body.get("run", [])
    if not isinstance(runs, list) or not runs or not all(isinstance(r, dict) for r in runs):
        raise _fail(path, "run", "expected at least one [[run]] table")
    items: list[SuiteItem] = []
    skipped: list[str] = []
    for i, run in enumerate(runs, 1):
        items += _run_items(path, f"run {i}", run, boards, data, tasks, skipped)
    out = body.get("out")
    if out is not None and not isinstance(out, str):
        raise _fail(path, "out", "expected a folder name")
    return Suite(path, None if out is None else Path(expand(out)), items, skipped)


def _run_items(
    path: Path,
    where: str,
    run: dict[str, Any],
    boards: list[dict[str, Any]],
    data: dict[str, str],
    tasks: Sequence[str] | None,
    skipped: list[str],
) -> list[SuiteItem]:
    from moviebench import params as given_params
    from moviebench.tasks import TASKS

    unknown = set(run) - RUN_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise _fail(path, f"{where}.{key}", f"unknown key (known: {', '.join(sorted(RUN_KEYS))})")
    models = run.get("models", "ladder")
    if not isinstance(models, str):
        models = _names(path, f"{where}.models", models)
    exclude = set(_names(path, f"{where}.exclude", run.get("exclude", [])))
    also = _names(path, f"{where}.also", run.get("also", []))
    for name in also:
        _check_rung(path, f"{where}.also", name, None)
    seeds = _ints(path, f"{where}.seeds", run.get("seeds", [0]))
    split_seeds = run.get("split_seeds")
    split_seeds = None if split_seeds is None else _ints(path, f"{where}.split_seeds", split_seeds)
    only = _names(path, f"{where}.tasks", run.get("tasks", [])) or None
    profile = run.get("profile", "quick")
    if profile not in PROFILES:
        raise _fail(path, f"{where}.profile", f"expected one of {', '.join(PROFILES)}")
    epochs = run.get("epochs")
    if epochs is not None and (type(epochs) is not int or epochs < 1):
        raise _fail(path, f"{where}.epochs", "expected a positive integer")
    settings = run.get("settings", {})
    if not isinstance(settings, dict):
        raise _fail(path, f"{where}.settings", "expected a table of KEY = VALUE")
    raw_params = run.get("params", {})
    try:
        params = given_params.check(raw_params, flag=f"{where}.params")
    except BenchError as exc:
        raise SuiteError(f"{path}: {exc}") from None
    items = []
    for board in boards:
        task = board["task"]
        if (only and task not in only) or (tasks and task not in tasks):
            continue
        if isinstance(models, str) and models != "ladder" and models not in board:
            continue  # this board has no list of that name
        ladder = list(TASKS.get(task).ladder)
        if models == "ladder":
            names = None if not exclude else [m for m in ladder if m not in exclude]
        else:
            names = board[models] if isinstance(models, str) else models
            names = [m for m in names if m not in exclude]
        more = [m for m in also if m not in (names or ladder) and _runs(m, task)]
        if more:
            names = [*(names or ladder), *more]
        for name in names or ():
            _check_rung(path, f"{where}.models", name, task)
        present = set(names or ladder) | {TASKS.get(task).baseline}
        item = SuiteItem(
            task=task,
            source=board["source"],
            data=None,
            models=names,
            seeds=seeds,
            split_seeds=split_seeds,
            profile=profile,
            epochs=epochs,
            settings={
                str(k): str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in settings.items()
            },
            params={m: p for m, p in params.items() if m in present},
        )
        if "data" in board:
            item.data = Path(expand(data[board["data"]]))
            if not item.data.exists():
                note = (
                    f"suite: skipping {task} on {board['source']}: {item.data} not found "
                    "(set MOVIEBENCH_DATA)"
                )
                if note not in skipped:
                    skipped.append(note)
                continue
        items.append(item)
    return items
