"""moviebench from Python: what `bench` does, as functions a notebook or script can call.

Every function returns data (records, boards, findings, paths) and never prints or exits:
progress goes to an optional `reporter` (`moviebench.reporting.Reporter`), and a mistake raises a `moviebench.errors.BenchError`
whose one-line message says what went wrong and where.

Example (a notebook cell)::

    from moviebench import api

    records = api.run("tmdb-quality", models=["majority", "logreg"], out="results")
    board = api.board(out="results", task="tmdb-quality")
    print(board.render("md"))
    result = api.check("results/baseline", out="results", task="tmdb-quality")
    result.passed, [f.message for f in result.failures]
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from moviebench.errors import BadRequest, BenchError
from moviebench.options import DEFAULT_SPLIT_SEED, RunOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11 only

    from moviebench.check import Finding
    from moviebench.datasets.base import SourceSpec
    from moviebench.executors import Executor
    from moviebench.export_mlflow import ExportSummary
    from moviebench.models import Model
    from moviebench.plan import PlannedCell
    from moviebench.prepare import PreparedTask
    from moviebench.records import Record
    from moviebench.reporting import Reporter
    from moviebench.runner import RunRequest
    from moviebench.suites import Suite, SuiteItem
    from moviebench.tasks import TaskSpec
    from moviebench.tuning import TrialExecutor, TuneResult

__all__ = [
    "BadRequest",
    "Board",
    "Cells",
    "CheckResult",
    "Report",
    "board",
    "check",
    "export_mlflow",
    "export_split",
    "forget",
    "inspect_source",
    "load_plugins",
    "load_suite",
    "models",
    "plan",
    "report",
    "run",
    "run_failure",
    "run_suite",
    "run_skips",
    "scale",
    "score",
    "sources",
    "suite_cells",
    "tasks",
    "tune",
    "update_baseline",
]

BoardFormat = Literal["md", "csv", "json"]


# ---- keyword checks ------------------------------------------------------------------------


def checked(fn: Any) -> Any:
    """Refuse what Python would let through silently: a keyword that is not an argument
    (`seed=[7]` for `seeds=`: `**cells` takes any name) gets BadRequest with the closest
    names, and a string where a list is expected (`models="majority,logreg"` would be split
    into characters) gets BadRequest with the list spelled out."""
    import difflib
    import inspect

    signature = inspect.signature(fn)
    params = signature.parameters
    takes_cells = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        hints = {
            **(Cells.__annotations__ if takes_cells else {}),
            **{n: p.annotation for n, p in params.items() if p.kind is not p.VAR_KEYWORD},
        }
        for name in kwargs:
            if name not in hints:
                close = difflib.get_close_matches(name, hints, n=2, cutoff=0.5)
                hint = (
                    f"did you mean {' or '.join(f'{c}=' for c in close)}?"
                    if close
                    else (f"it takes {', '.join(f'{h}=' for h in hints)}")
                )
                raise BadRequest(f"api.{fn.__name__}: no keyword {name}=; {hint}")
        given = {**dict(zip(params, args)), **kwargs}
        for name, value in given.items():
            if isinstance(value, str) and "Sequence[" in str(hints.get(name, "")):
                items = [v.strip() for v in value.split(",") if v.strip()]
                raise BadRequest(
                    f"api.{fn.__name__}: {name}= takes a list, not the string {value!r}: "
                    f"write {name}={items!r}"
                )
        return fn(*args, **kwargs)

    return wrapper


# ---- what is registered ---------------------------------------------------------------------


@checked
def load_plugins(specs: Sequence[str] = ()) -> list[str]:
    """Load plugin modules, `.py` files and `pkg.module:Class` models, after those named in
    MOVIEBENCH_PLUGINS; returns every spec loaded in this process (which workers load too).
    Installed distributions' entry points need no call: the registries read them."""
    from moviebench import plugins

    plugins.load([*plugins.from_env(), *specs])
    return plugins.active()


def tasks() -> list[TaskSpec]:
    """Every registered task, e.g. `[t.name for t in api.tasks()]`."""
    from moviebench.tasks import TASKS

    return list(TASKS)


def sources() -> list[SourceSpec]:
    """Every registered data source (`needs_path` False: bundled, no `data=` needed)."""
    from moviebench.datasets import SOURCES

    return list(SOURCES)


def models() -> list[type[Model]]:
    """Every registered model class, e.g. `{m.name: m.family for m in api.models()}`."""
    from moviebench.models import MODELS

    return list(MODELS)


# ---- training ------------------------------------------------------------------------------


def _options(options: RunOptions | None, source: str | None, data: Path | str | None) -> RunOptions:
    """`options` with `source`/`data` filled in: the two a notebook user gives most."""
    options = options or RunOptions()
    changes: dict[str, Any] = {}
    if source is not None:
        changes["source"] = source
    if data is not None:
        changes["data"] = Path(data)
    return dataclasses.replace(options, **changes) if changes else options


class Cells(TypedDict, total=False):
    """Which cells `run` and `scale` train, all optional: `models` (None: the task's whole
    ladder; the trivial baseline always runs; names, `pkg.module:Class` strings or Model
    classes, a class nobody registered being registered under its `name`), `seeds` (default (0,)), `out` (the records folder, default
    "results"), `source` and `data` (override those of `options`), `options` (every data,
    split and budget option of `bench run`, a `RunOptions`), `force` (rerun cells that
    already have a finished record), `plugins` (modules or `.py` files to load first,
    see `load_plugins`) and `params` (over some models' defaults, e.g. `{"lightgbm":
    {"num_leaves": 63}}`, checked against each model's declared params before anything
    runs; `params_origin` is what the records' params_source names as their origin, default
    "api")."""

    models: Sequence[str | type[Model]] | None
    seeds: Sequence[int]
    out: Path | str
    source: str | None
    data: Path | str | None
    options: RunOptions | None
    force: bool
    plugins: Sequence[str]
    params: Mapping[str, Mapping[str, Any]] | None
    params_origin: str


def _model_name(model: str | type[Model]) -> str:
    """A model given by name, or by class: a class nobody registered is registered under its
    `name`, through its module when that module can be imported again (so worker processes
    and the cell's code identity see it as they see a `--models pkg.module:Class`)."""
    import sys

    from moviebench.models import MODELS, Model, register_model
    from moviebench.plugins import model_class

    if not isinstance(model, type):
        return model
    what = f"models=[{model.__qualname__}]"
    if not issubclass(model, Model) or not isinstance(getattr(model, "name", None), str):
        raise BadRequest(f"{what}: a model class subclasses moviebench's Model and has a `name`")
    if model.name in MODELS and MODELS.get(model.name) is model:
        return model.name
    module = sys.modules.get(model.__module__)
    found: Any = module
    for part in model.__qualname__.split("."):
        found = getattr(found, part, None)
    try:
        if found is model and model.__module__ != "__main__":
            return model_class(f"{model.__module__}:{model.__qualname__}").name
        register_model(model)  # a notebook's class: this process only
    except (ValueError, BenchError) as err:  # the name is another class's
        raise BadRequest(f"{what}: {err}") from None
    return model.name


def _importable(name: str) -> bool:
    """Whether a worker process can find this registered model: built in, from a plugin
    or an importable module; not a class defined in a notebook or a function."""
    import sys

    from moviebench.models import MODELS

    cls = MODELS.get(name)
    return (
        cls.__module__ != "__main__"
        and "<locals>" not in cls.__qualname__
        and (cls.__module__ in sys.modules)
    )


def _request(task: str, cells: Cells, **more: Any) -> RunRequest:
    from moviebench import params
    from moviebench.plugins import resolve_model_names
    from moviebench.runner import RunRequest

    load_plugins(cells.get("plugins", ()))
    given = params.check(cells.get("params") or {}, flag="params")  # before anything runs
    models = cells.get("models")
    if isinstance(models, (str, type)):
        models = [models]
    models = None if models is None else resolve_model_names([_model_name(m) for m in models])
    return RunRequest(
        task=task,
        options=_options(cells.get("options"), cells.get("source"), cells.get("data")),
        models=None if models is None else list(models),
        seeds=list(cells.get("seeds", (0,))),
        out=Path(cells.get("out", "results")),
        force=cells.get("force", False),
        params=given,
        params_origin=cells.get("params_origin", "api"),
        **more,
    )


@checked
def run(
    task: str,
    *,
    tuned: bool = False,
    storage: str | None = None,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    executor: Executor | None = None,
    reporter: Reporter | None = None,
    split_seeds: Sequence[int] | None = None,
    **cells: Unpack[Cells],
) -> list[Record]:
    """Train and score a task's ladder (or `models`, the trivial baseline always added) and
    return this run's records, one dict per (model, seed), finished, skipped as current or failed.

    Records are written under `out`; a cell whose stored record was made the same way is not
    rerun (unless `force`). The cells' arguments are those of `Cells` (models, seeds, out,
    source, data, options, force). `tuned` takes each model's best params from its `tune`
    study (in `storage`); `jobs` runs cells in that many processes; `shard=(i, n)` runs share
    i of n; `executor` runs the cells (default: serial, or a process pool with `jobs`; e.g.
    `executors.RayExecutor`); `reporter` hears progress (`reporting.Reporter`: the rich
    `display.LadderDisplay`, `reporting.TextReporter`; default silent). `split_seeds` runs
    the whole request once per split seed (repeated splits; the options' `split_seed` is
    replaced), records in that order.

    Example::

        records = api.run("tmdb-quality", models=["majority", "logreg"], seeds=[0, 1])
        [(r.model, r.seed, r.status, r.primary) for r in records]
        api.run("tmdb-quality", models=["logreg"], split_seeds=[1, 2, 3])  # repeated splits
    """
    from moviebench.runner import run as run_ladder

    # Every request is made and checked before the first cell trains: a bad split seed, model,
    # seed or weights file is refused in one line, not after the splits before it ran.
    base = cells.get("options") or RunOptions()
    if split_seeds and base.split != "hash":  # a published split has no seed to repeat it with
        raise BenchError(f"--split-seeds repeats the hash split; --split {base.split} is one split")
    if split_seeds is not None and not split_seeds:
        raise BadRequest("split_seeds: give at least one split seed (or leave it out)")
    requests = [
        _request(
            task,
            {**cells, "options": dataclasses.replace(base, split_seed=split_seed)},
            tuned=tuned,
            tuning_storage=storage,
            jobs=jobs,
            shard=shard,
            executor=executor,
        )
        for split_seed in split_seeds or [base.split_seed]
    ]
    first = requests[0]
    if len(requests) > 1 or first.jobs > 1 or first.executor is not None:
        # One request is checked by the runner before any data loads, after its manifest had
        # the chance to answer a no-op rerun without importing a model (or torch).
        _check_request(first)
    out: list[Record] = []
    for request in requests:
        out += run_ladder(request, reporter)
    return out


def _check_request(request: RunRequest) -> None:
    """What runner.plan checks before loading data (seeds, models, --weights), and that a
    model defined in a notebook is not sent to worker processes that cannot import it."""
    from moviebench.runner import check_request, check_weights, resolve_models
    from moviebench.tasks import TASKS

    check_request(request)
    spec = TASKS.get(request.task)
    models = resolve_models(spec, request.models)
    check_weights(spec, models, request.models, request.options.weights)
    if request.jobs > 1 or request.executor is not None:
        local = [m for m in models if not _importable(m)]
        if local:
            raise BadRequest(
                f"models {', '.join(local)}: defined in a notebook or a function, so worker "
                "processes cannot import them; run with jobs=1 or move the class to a module"
            )


def run_suite(
    path: Path | str,
    *,
    out: Path | str | None = None,
    tasks: Sequence[str] | None = None,
    force: bool = False,
    jobs: int = 1,
    shard: tuple[int, int] | None = None,
    executor: Executor | None = None,
    reporter: Reporter | None = None,
) -> list[Record]:
    """Run the suite file `path` (moviebench.suites: boards x rungs x seeds x split seeds x
    profile x params), each of its runs as `run` would, in the file's order; `tasks` keeps
    only those boards, `out` overrides the file's records folder (default "results"), and
    `jobs`, `shard` and `executor` apply to every run (each run's share I of N). Boards whose
    data is missing are left out (`load_suite(path).skipped` says which)."""
    suite = load_suite(path, tasks)
    records: list[Record] = []
    for item in suite.items:
        records += run(
            item.task, force=force, jobs=jobs, shard=shard, executor=executor,
            reporter=reporter, **suite_cells(suite, item, out),
        )  # fmt: skip
    return records


def load_suite(path: Path | str, tasks: Sequence[str] | None = None) -> Suite:
    """The suite file `path` as the runs it makes (`Suite.items`), checked before any data
    is loaded; a bad file or key raises a one-line SuiteError naming both."""
    from moviebench.suites import load

    return load(path, tasks)


def suite_cells(suite: Suite, item: SuiteItem, out: Path | str | None = None) -> dict[str, Any]:
    """The keyword arguments of `run` for one item of a suite (besides its task)."""
    return {
        "models": item.models,
        "seeds": item.seeds,
        "out": Path(out or suite.out or "results"),
        "options": item.options(),
        "params": item.params,
        "params_origin": "suite",
        "split_seeds": item.split_seeds,
    }


def plan(
    task: str,
    *,
    tuned: bool = False,
    shard: tuple[int, int] | None = None,
    **cells: Unpack[Cells],
) -> list[PlannedCell]:
    """What `run` with the same arguments would do, without loading data or training: each
    cell with its action (run, reuse, recheck, or the status of its last unfinished record),
    its declared training budget and an estimate of its seconds from finished records on
    this machine (`moviebench.plan`)."""
    from moviebench.plan import plan_cells

    return plan_cells(_request(task, cells, tuned=tuned, shard=shard))


def run_failure(records: list[Record], models: Sequence[str] | None = None) -> str | None:
    """One line naming every asked-for cell of `records` that failed, or None when each
    finished, was current or was skipped. `models` as given to `run` (None: the whole
    ladder), matched by registered name whatever their family; the baseline every run adds
    counts when it was named, and failed rungs are named as given."""
    from moviebench.runner import failed_cells

    return failed_cells(None if models is None else list(models), records)


def run_skips(records: list[Record], models: Sequence[str] | None = None) -> str | None:
    """One line naming the asked-for cells that were skipped (weights missing, an extra not
    installed), or None. Skipped cells are not failures."""
    from moviebench.runner import skipped_cells

    return skipped_cells(None if models is None else list(models), records)


@checked
def scale(
    task: str,
    *,
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    plots: Path | str | None = None,
    jobs: int = 1,
    reporter: Reporter | None = None,
    **cells: Unpack[Cells],
) -> tuple[list[Record], Path]:
    """Train each rung on nested shares of the training split (same validation and test)
    and draw the primary metric against training rows; returns the records and the PNG
    (under `plots`, default `<out>/scaling`). The cells' arguments are those of `run`; `jobs`
    runs them in that many processes, each under its lock, skipped when current.

    Example::

        records, png = api.scale("tmdb-quality", fractions=[0.25, 1.0], models=["logreg"])
    """
    from moviebench.scaling import scale as run_scale

    request = _request(task, cells, jobs=jobs)
    return run_scale(request, list(fractions), None if plots is None else Path(plots), reporter)


@checked
def tune(
    task: str,
    *,
    model: str | None = None,
    ladder: bool = False,
    trials: int | None = None,
    timeout: float | None = None,
    storage: str | None = None,
    study: str | None = None,
    out: Path | str = "results",
    seed: int = 0,
    sampler_seed: int | None = None,
    source: str | None = None,
    data: Path | str | None = None,
    options: RunOptions | None = None,
    executor: TrialExecutor | None = None,
    reporter: Reporter | None = None,
    plugins: Sequence[str] = (),
    fresh: bool = False,
    jobs: int = 1,
) -> dict[str, TuneResult]:
    """Tune `model` (or, with `ladder=True`, every tunable rung of the task) with Optuna on
    the validation split; returns each tuned model's `TuneResult` (best params and value,
    trial counts) by model name.
    Trials default to 20 unless `timeout` is given; each study gets exactly `trials` new
    ones, the first the model's defaults unless the study already ran them. `fresh` deletes
    a study's earlier trials first; otherwise the new trials join them. With `ladder=True`,
    `jobs` > 1 tunes that many rungs side by side in worker processes, each with its share of
    the cores (`executors.tune_side_by_side`). `run(..., tuned=True)` then uses the best params.

    Example::

        results = api.tune("tmdb-quality", model="lightgbm", trials=10)
        results["lightgbm"].best_params
    """
    from moviebench.tuning import TuneRequest, ladder_requests
    from moviebench.tuning import tune as run_tune

    if bool(model) == ladder:
        raise BadRequest("give either a model or ladder=True")
    if ladder and study:
        raise BadRequest("a study name names one study; a ladder makes one per rung")
    from moviebench.options import check_seed, check_timeout

    check_seed("--seed", seed)
    if sampler_seed is not None:
        check_seed("--sampler-seed", sampler_seed)
    check_timeout("--timeout", timeout)
    if trials is not None and trials < 1:
        raise BadRequest(f"--trials {trials}: must be at least 1")
    if jobs < 1:
        raise BadRequest(f"--jobs {jobs}: must be at least 1")
    if jobs > 1 and not ladder:
        raise BadRequest(
            f"--jobs {jobs} tunes rungs side by side: give --ladder (workers that share one "
            "study are several `bench tune --model M` processes on one --storage)"
        )
    if jobs > 1 and executor is not None:
        raise BadRequest(
            f"--jobs {jobs} runs studies in local processes: drop it with --executor ray"
        )
    from moviebench.plugins import resolve_model_names

    load_plugins(plugins)
    if model:
        model = resolve_model_names([model])[0]
    request = TuneRequest(
        task=task,
        model=model or "",
        options=_options(options, source, data),
        trials=20 if trials is None and timeout is None else trials,
        timeout=timeout,
        storage=storage,
        study=study,
        out=Path(out),
        seed=seed,
        sampler_seed=sampler_seed,
        fresh=fresh,
        executor=executor,
    )
    requests = ladder_requests(request) if ladder else [request]
    if jobs > 1:
        from moviebench.executors import tune_side_by_side
        from moviebench.reporting import SilentReporter

        return tune_side_by_side(requests, jobs, reporter or SilentReporter())
    return {req.model: run_tune(req, reporter) for req in requests}


# ---- models trained elsewhere --------------------------------------------------------------


def _prepared(
    task: str, source: str | None, data: Path | str | None, options: RunOptions | None
) -> PreparedTask:
    from moviebench.prepare import prepare
    from moviebench.tasks import TASKS

    return prepare(TASKS.get(task), _options(options, source, data))


@checked
def export_split(
    task: str,
    out: Path | str,
    *,
    source: str | None = None,
    data: Path | str | None = None,
    options: RunOptions | None = None,
    plugins: Sequence[str] = (),
) -> Path:
    """Write the task's split for training outside the harness (CSV at `out`): movie_id,
    part, split_hash, the task's inputs, and labels (`label` or `label:<name>`) for train and
    val films only. Score the result with `score`."""
    from moviebench.external import export_split as write_split

    load_plugins(plugins)
    return write_split(_prepared(task, source, data, options), Path(out))


@checked
def score(
    task: str,
    predictions: Path | str,
    name: str,
    *,
    out: Path | str = "results",
    source: str | None = None,
    data: Path | str | None = None,
    options: RunOptions | None = None,
    force: bool = False,
    plugins: Sequence[str] = (),
    reporter: Reporter | None = None,
    scores: str | None = None,
) -> Record:
    """Score a submission made on `export_split`'s file (movie_id, split_hash and `score` or
    `score:<label>` columns for every validation and test film) as the record of an external
    rung `name`, computed by the harness alone (multi-label thresholds from the submitted
    validation scores). `scores` declares what the columns hold: "probabilities" (the
    default for classification; checked, never clipped), "logits" or "raw". A bad submission
    raises DataError in one line; a file already scored the same way is not scored again
    (unless `force`)."""
    from moviebench.cell import Cell
    from moviebench.executors import SerialExecutor, run_cells
    from moviebench.external import (
        ExternalModel,
        check_submission_path,
        external_model,
        file_hash,
        read_submission,
    )
    from moviebench.models import MODELS
    from moviebench.registry import check_rung_name
    from moviebench.reporting import SilentReporter

    check_rung_name(name, "--name")  # it names the records' folder, like any rung
    check_submission_path(predictions)
    load_plugins(plugins)
    if name in MODELS and not issubclass(MODELS.get(name), ExternalModel):
        raise BadRequest(f"--name {name}: a registered rung has that name; choose another")
    prep = _prepared(task, source, data, options)
    submission = read_submission(prep, Path(predictions), scores)
    default = prep.spec.target.SCORE_KINDS[0]
    cls = external_model(
        name, submission, file_hash(Path(predictions)), None if scores == default else scores
    )
    with MODELS.lent(name, cls):  # this process's cell reads its class by name
        cell = Cell(prep, name, 0, params_source="external")
        (record,) = run_cells(
            [cell], Path(out), SerialExecutor(), reporter or SilentReporter(), force
        )
    return record


# ---- reading records -----------------------------------------------------------------------


class Board:
    """The leaderboards of some stored records: `boards` has one per (task, source), as
    `leaderboard.aggregate` builds them (computed on first use: the paired bootstrap of ties
    reads every record's test scores)."""

    def __init__(self, records: list[Record], across_splits: bool = False) -> None:
        self.records = records
        self.across_splits = across_splits  # one board per task over its split seeds

    @functools.cached_property
    def boards(self) -> dict[tuple[str, str], list[Any]]:
        from moviebench.leaderboard import aggregate

        return aggregate(self.records, self.across_splits)

    def render(self, fmt: BoardFormat | str, columns: Sequence[str] | None = None) -> str:
        """The boards as markdown (`md`), CSV or JSON text: what `bench leaderboard --format`
        prints. `columns` picks the markdown table's columns (`leaderboard.pick_columns`:
        names, "default", "all"); without it markdown shows them all."""
        from moviebench.leaderboard import to_csv, to_json, to_markdown

        renderers = {"md": to_markdown, "csv": to_csv, "json": to_json}
        if fmt not in renderers:
            raise BadRequest(f"unknown board format '{fmt}': choose one of md, csv, json")
        if fmt == "md":
            return to_markdown(self.boards, columns=list(columns) if columns else None)
        return renderers[fmt](self.boards)

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per rung and board: `render("json")` row for row,
        nested objects flattened (`metrics.macro_f1`), plus each row's `rank` (frames.py)."""
        from moviebench.frames import board_frame

        return board_frame(self.boards)

    def _repr_html_(self) -> str:  # Jupyter renders a board left as a cell's last line
        from moviebench.frames import board_html

        return board_html(self.boards)

    def write_plots(self, folder: Path | str) -> tuple[Path, int]:
        """PNG plots and `folder/leaderboard.md` embedding them; the page and the plot count."""
        from moviebench.report import write_leaderboard_page

        return write_leaderboard_page(self.records, Path(folder), self.across_splits)


@checked
def board(
    out: Path | str = "results",
    task: str | None = None,
    source: str | None = None,
    data_fingerprint: str | None = None,
    split_seed: int | None = DEFAULT_SPLIT_SEED,
    split_seeds: Sequence[int] | None = None,
) -> Board:
    """The leaderboards of the records stored under `out`, optionally of one task, one source
    and one data fingerprint (no training), at one split seed: the default split unless
    another is asked for (None: every split, each on its own board). `split_seeds` takes
    those split seeds instead, folded into one board per task (mean ± std across splits, ties
    from the split-level test). Raises `BenchError` when no record matches.

    Example::

        board = api.board(out="results", task="tmdb-quality")
        for (task, source), rows in board.boards.items():
            print(task, source, [row.model for row in rows])
        open("board.md", "w").write(board.render("md"))
    """
    from moviebench.records import load_records, split_seed_of
    from moviebench.tasks import TASKS

    if task:
        TASKS.get(task)  # a typo gets the closest names, not "no records"
    records = [
        r
        for r in load_records(Path(out), task)
        if (not source or r.source == source)
        and (not data_fingerprint or r.data_fingerprint == data_fingerprint)
        and (
            split_seed_of(r) in split_seeds
            if split_seeds
            else split_seed is None or split_seed_of(r) == split_seed
        )
    ]
    if not records:
        at = "" if split_seed in (None, DEFAULT_SPLIT_SEED) else f" at split seed {split_seed}"
        flag = "" if not at else f" --split-seed {split_seed}"
        raise BenchError(
            f"no records for {task or 'any task'}{at} in {out}: "
            f"run `bench run --task {task or 'TASK'}{flag}` first"
        )
    return Board(records, across_splits=bool(split_seeds))


@checked
def summary(
    out: Path | str = "results", *, plots: Path | str | None = None, resamples: int = 1000
) -> Any:
    """The answer across tasks: every board under `out` summarised per rung and per family
    (`moviebench.summary.Summary`: boards won, average rank, mean normalised score with
    bootstrap intervals, one sentence per family, Elo by bencheval) and the
    critical-difference test (`.cd`). With `plots`, the critical-difference diagram and the
    cost-versus-gain plot are written there (`.plots`).

    Example::

        s = api.summary("results/board")
        print("\\n".join(s.sentences))
        {e.name: e.mean_normalised for e in s.families}
    """
    from moviebench.leaderboard import aggregate_with_draws
    from moviebench.records import load_records
    from moviebench.summary import critical_difference, summarise

    out = Path(out)
    records = load_records(out)
    if not records:
        raise BenchError(f"no records in {out}: run `bench run --task TASK --out {out}` first")
    boards = aggregate_with_draws(records, across_splits=True)  # split seeds: one board
    result = summarise(records, resamples=resamples, boards=boards)
    if plots is not None:
        from moviebench.plots import write_summary_plots

        names, result.cd = write_summary_plots(result, Path(plots))
        result.plots = [Path(plots) / n for n in names]
    else:
        result.cd = critical_difference(result)
    return result


@dataclass(frozen=True)
class Report:
    """What `report` wrote: the markdown page (with `plots` PNGs beside it) and/or the HTML file."""

    markdown: Path | None
    html: Path | None
    plots: int

    @property
    def paths(self) -> list[Path]:
        return [p for p in (self.markdown, self.html) if p is not None]


@checked
def report(
    out: Path | str = "results", *, to: Path | str | None = None, html: Path | str | None = None
) -> Report:
    """Write a report of every task with records under `out`: a markdown page `to/README.md`
    with its plots in `to/plots/`, and/or one self-contained HTML file `html`.

    Example::

        written = api.report("results", html="report.html")
        written.paths   # [PosixPath('report.html')]
    """
    from moviebench.records import load_records

    if to is None and html is None:
        raise BadRequest("give to=DIR (a markdown page) and/or html=FILE (one HTML page)")
    out = Path(out)
    records = load_records(out)
    if not records:
        raise BenchError(f"no records in {out}: run `bench run --task TASK --out {out}` first")
    html_page = None
    if html is not None:
        from moviebench.report_html import write_html_report

        html_page = write_html_report(
            records, Path(html), subtitle=f"Rendered from the records in {out}."
        )
    page, n_plots = None, 0
    if to is not None:
        from moviebench.report import write_markdown_report

        page, n_plots = write_markdown_report(records, Path(to), out)
    return Report(markdown=page, html=html_page, plots=n_plots)


@dataclass(frozen=True)
class CheckResult:
    """The findings of a regression check, one per baseline or current (task, source, model)."""

    findings: list[Finding]
    tolerance: float

    @property
    def failures(self) -> list[Finding]:
        """Regressions, missing and truncated entries: what fails the check."""
        return [f for f in self.findings if f.fails]

    @property
    def passed(self) -> bool:
        return not self.failures


@checked
def check(
    baseline: Path | str,
    out: Path | str = "results",
    *,
    tolerance: float = 0.01,
    task: str | None = None,
    present_only: bool = False,
) -> CheckResult:
    """Compare the records under `out` with a baseline folder: a primary metric that dropped
    by more than `tolerance`, or a baseline entry without a finished current record, fails.
    `present_only` checks only the baseline entries that have a record in `out`.

    Example::

        result = api.check("results/baseline", out="/tmp/ci-results")
        if not result.passed:
            print([f.message for f in result.failures])
    """
    from moviebench.check import compare, load_baseline
    from moviebench.records import load_records

    if tolerance < 0:
        raise BadRequest(f"tolerance {tolerance:g}: must be 0 or more")
    current = load_records(Path(out), task)
    base = [r for r in load_baseline(Path(baseline)) if not task or r.task == task]
    return CheckResult(
        findings=compare(base, current, tolerance, present_only=present_only), tolerance=tolerance
    )


@checked
def update_baseline(
    baseline: Path | str, out: Path | str = "results", *, task: str | None = None
) -> tuple[Path, int]:
    """Write the records under `out` as the baseline bundle in `baseline`; returns the bundle
    file and the number of records in it."""
    from moviebench.check import save_baseline
    from moviebench.records import load_records

    current = load_records(Path(out), task)
    if not current:
        raise BenchError(f"no records in {out} to save as a baseline")
    return save_baseline(current, Path(baseline)), len(current)


@checked
def forget(
    task: str,
    models: Sequence[str] | None = None,
    *,
    out: Path | str = "results",
    failed: bool = False,
    source: str | None = None,
) -> list[Record]:
    """Remove records (with their test scores and bootstrap caches) of `task` under `out`:
    those of `models`, and with `failed` only the unfinished ones; returns what was removed."""
    from moviebench.records import forget as forget_records

    return forget_records(Path(out), task, list(models or []), failed=failed, source=source)


@checked
def inspect_source(source: str, data: Path | str | None = None, min_votes: int = 10) -> dict:
    """What a source reads: rows kept and dropped by reason, missing values, label balance per
    task, genres and images, as the JSON-ready dict `bench data inspect --format json` prints."""
    from moviebench.inspection import inspect_source as inspect
    from moviebench.settings import parse_settings
    from moviebench.tasks.quality import QualitySettings

    parse_settings(QualitySettings, {"min_votes": min_votes})  # refused before the data loads
    return inspect(source, None if data is None else Path(data), {"min_votes": min_votes})


@checked
def export_mlflow(
    out: Path | str = "results",
    tracking_uri: str = "sqlite:///mlflow.db",
    experiment: str = "moviebench",
) -> ExportSummary:
    """One MLflow run per record under `out` (needs the `mlflow` extra); returns which runs
    were created, replaced and left unchanged."""
    from moviebench.export_mlflow import export

    return export(Path(out), tracking_uri, experiment)
