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
from collections.abc import Sequence
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
    from moviebench.prepare import PreparedTask
    from moviebench.records import Record
    from moviebench.reporting import Reporter
    from moviebench.runner import RunRequest
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
    "inspect_source",
    "load_plugins",
    "models",
    "report",
    "run",
    "run_failure",
    "run_skips",
    "scale",
    "score",
    "sources",
    "tasks",
    "tune",
    "update_baseline",
]

BoardFormat = Literal["md", "csv", "json"]


# ---- what is registered ---------------------------------------------------------------------


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
    ladder; the trivial baseline always runs; `pkg.module:Class` names a model class that
    is not registered), `seeds` (default (0,)), `out` (the records folder, default
    "results"), `source` and `data` (override those of `options`), `options` (every data,
    split and budget option of `bench run`, a `RunOptions`), `force` (rerun cells that
    already have a finished record) and `plugins` (modules or `.py` files to load first,
    see `load_plugins`)."""

    models: Sequence[str] | None
    seeds: Sequence[int]
    out: Path | str
    source: str | None
    data: Path | str | None
    options: RunOptions | None
    force: bool
    plugins: Sequence[str]


def _request(task: str, cells: Cells, **more: Any) -> RunRequest:
    from moviebench.plugins import resolve_model_names
    from moviebench.runner import RunRequest

    load_plugins(cells.get("plugins", ()))
    models = cells.get("models")
    models = None if models is None else resolve_model_names(list(models))
    return RunRequest(
        task=task,
        options=_options(cells.get("options"), cells.get("source"), cells.get("data")),
        models=None if models is None else list(models),
        seeds=list(cells.get("seeds", (0,))),
        out=Path(cells.get("out", "results")),
        force=cells.get("force", False),
        **more,
    )


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

    if split_seeds:
        base = cells.get("options") or RunOptions()
        out: list[Record] = []
        for split_seed in split_seeds:
            one = {**cells, "options": dataclasses.replace(base, split_seed=split_seed)}
            out += run(
                task, tuned=tuned, storage=storage, jobs=jobs, shard=shard, executor=executor,
                reporter=reporter, **one,
            )  # fmt: skip
        return out

    request = _request(
        task,
        cells,
        tuned=tuned,
        tuning_storage=storage,
        jobs=jobs,
        shard=shard,
        executor=executor,
    )
    return run_ladder(request, reporter)


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
) -> dict[str, TuneResult]:
    """Tune `model` (or, with `ladder=True`, every tunable rung of the task) with Optuna on
    the validation split; returns each tuned model's `TuneResult` (best params and value,
    trial counts) by model name.
    Trials default to 20 unless `timeout` is given. `run(..., tuned=True)` then uses the best
    params.

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
        executor=executor,
    )
    requests = ladder_requests(request) if ladder else [request]
    return {req.model: run_tune(req, reporter) for req in requests}


# ---- models trained elsewhere --------------------------------------------------------------


def _prepared(
    task: str, source: str | None, data: Path | str | None, options: RunOptions | None
) -> PreparedTask:
    from moviebench.prepare import prepare
    from moviebench.tasks import TASKS

    return prepare(TASKS.get(task), _options(options, source, data))


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
    from moviebench.external import ExternalModel, external_model, file_hash, read_submission
    from moviebench.models import MODELS
    from moviebench.reporting import SilentReporter

    load_plugins(plugins)
    if name in MODELS and not issubclass(MODELS.get(name), ExternalModel):
        raise BadRequest(f"--name {name}: a registered rung has that name; choose another")
    prep = _prepared(task, source, data, options)
    submission = read_submission(prep, Path(predictions), scores)
    default = prep.spec.target.SCORE_KINDS[0]
    cls = external_model(
        name, submission, file_hash(Path(predictions)), None if scores == default else scores
    )
    MODELS._items[name] = cls  # noqa: SLF001 - this process's cell reads its class by name
    try:
        cell = Cell(prep, name, 0, params_source="external")
        (record,) = run_cells(
            [cell], Path(out), SerialExecutor(), reporter or SilentReporter(), force
        )
    finally:
        del MODELS._items[name]  # noqa: SLF001
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

    def render(self, fmt: BoardFormat | str) -> str:
        """The boards as markdown (`md`), CSV or JSON text: what `bench leaderboard --format` prints."""
        from moviebench.leaderboard import to_csv, to_json, to_markdown

        renderers = {"md": to_markdown, "csv": to_csv, "json": to_json}
        if fmt not in renderers:
            raise BadRequest(f"unknown board format '{fmt}': choose one of md, csv, json")
        return renderers[fmt](self.boards)

    def write_plots(self, folder: Path | str) -> tuple[Path, int]:
        """PNG plots and `folder/leaderboard.md` embedding them; the page and the plot count."""
        from moviebench.report import write_leaderboard_page

        return write_leaderboard_page(self.records, Path(folder), self.across_splits)


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


def check(
    baseline: Path | str,
    out: Path | str = "results",
    *,
    tolerance: float = 0.01,
    task: str | None = None,
) -> CheckResult:
    """Compare the records under `out` with a baseline folder: a primary metric that dropped
    by more than `tolerance`, or a baseline entry without a finished current record, fails.

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
    return CheckResult(findings=compare(base, current, tolerance), tolerance=tolerance)


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


def inspect_source(source: str, data: Path | str | None = None, min_votes: int = 10) -> dict:
    """What a source reads: rows kept and dropped by reason, missing values, label balance per
    task, genres and images, as the JSON-ready dict `bench data inspect --format json` prints."""
    from moviebench.datasets.inspection import inspect_source as inspect
    from moviebench.settings import QualitySettings, parse_settings

    parse_settings(QualitySettings, {"min_votes": min_votes})  # refused before the data loads
    return inspect(source, None if data is None else Path(data), {"min_votes": min_votes})


def export_mlflow(
    out: Path | str = "results",
    tracking_uri: str = "sqlite:///mlflow.db",
    experiment: str = "moviebench",
) -> ExportSummary:
    """One MLflow run per record under `out` (needs the `mlflow` extra); returns which runs
    were created, replaced and left unchanged."""
    from moviebench.export_mlflow import export

    return export(Path(out), tracking_uri, experiment)
