"""The `bench` command: it parses options, calls `moviebench.api` and renders what comes back.
No logic of its own lives here; each option is declared once (option groups below)."""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.console import Console
from rich.markup import escape  # messages hold [brackets]: moviebench[text], tuple[float, float]

from moviebench.errors import BenchError, DamagedFileWarning
from moviebench.options import DEFAULT_SPLIT_SEED, PROFILES, RunOptions, check_seed
from moviebench.settings import IMAGE_SIZES

# Leaderboards are wide: when output is not a terminal (CI logs, pipes), do not wrap at 80.
# A pipe gets wide lines (200) unless COLUMNS says otherwise; boards fit the width given.
# No emoji codes: user text such as `file.py:x:` must print as typed (markup is escaped).
console = Console(
    width=None if Console().is_terminal or os.environ.get("COLUMNS") else 200, emoji=False
)
err_console = Console(stderr=True, emoji=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(None, "--version", "-V", package_name="moviebench", prog_name="bench")
@click.option(
    "--plugins",
    "plugin_specs",
    multiple=True,
    metavar="MODULE_OR_FILE.py",
    help="Load this module or .py file (its register_* calls) before any command; repeatable, "
    "also MOVIEBENCH_PLUGINS (os.pathsep-separated). --models also takes pkg.module:Class.",
)
def cli(plugin_specs: tuple[str, ...] = ()) -> None:
    """moviebench: benchmark movie ML tasks from trivial baselines to deep models.

    Every model of a task's ladder is trained on one deterministic split and scored with the
    same metrics; results are stored as JSON records that leaderboards and checks read.

    \b
    Start with:  bench ls
                 bench run --task tmdb-quality
                 bench leaderboard --task tmdb-quality
    """
    from moviebench import api

    api.load_plugins(plugin_specs)


# ---- options, each declared once ------------------------------------------------------------

_F = Callable[..., Any]


def option_group(*decorators: Callable[[_F], _F]) -> Callable[[_F], _F]:
    """Several click decorators as one, applied so that --help lists them in the given order."""

    def apply(func: _F) -> _F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def path_option(*names: str, help: str, **kwargs: Any) -> Callable[[_F], _F]:
    kwargs.setdefault("type", click.Path(path_type=Path))
    return click.option(*names, help=help, **kwargs)


def task_option(
    required: bool = True, help: str = "Task name (see `bench ls`)."
) -> Callable[[_F], _F]:
    return click.option("--task", required=required, help=help)


def records_option(
    help: str = "Where the records are.", deprecated_alias: bool = False
) -> Callable[[_F], _F]:
    """--out: the records folder, in every command. `deprecated_alias` keeps the old
    `--results` spelling working (hidden, with a one-line note on stderr)."""
    out = path_option("--out", default="results", show_default=True, help=help)
    if not deprecated_alias:
        return out

    def note(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        if value is not None:
            page = " (and the page's folder --to)" if ctx.info_name == "report" else ""
            click.echo(
                f"note: --results is deprecated: give the records folder as --out{page}, "
                "as in every command",
                err=True,
            )
        return value

    return option_group(
        out, path_option("--results", hidden=True, callback=note, help="Deprecated: --out.")
    )


def models_option(help: str) -> Callable[[_F], _F]:
    return click.option("--models", help=help)


def seeds_option(help: str = "Comma-separated model seeds.") -> Callable[[_F], _F]:
    return click.option("--seeds", default="0", show_default=True, help=help)


def storage_option(help: str) -> Callable[[_F], _F]:
    return click.option("--storage", help=help)


def plots_option(help: str) -> Callable[[_F], _F]:
    return path_option("--plots", "plots_dir", help=help)


def board_columns_options(func: _F) -> _F:
    """--columns / --wide: which board columns to show (`leaderboard.pick_columns`), passed
    on as `columns` (None: the compact board that fits the terminal)."""

    @click.option(
        "--columns",
        "board_columns",
        help="Comma-separated board columns: rank, model, family, weights, primary, delta, a "
        "metric's name, fit, epochs, predict, params, seeds, splits; 'default' (the compact "
        "board) and 'all' expand.",
    )
    @click.option("--wide", is_flag=True, help="Show every board column (--columns all).")
    @functools.wraps(func)
    def wrapper(*args: Any, board_columns: str | None, wide: bool, **kwargs: Any) -> Any:
        columns = ["all"] if wide else _csv_list(board_columns)
        return func(*args, columns=columns, **kwargs)

    return wrapper  # type: ignore[return-value]


force_option = click.option(
    "--force", is_flag=True, help="Rerun cells that already have a finished record."
)


def _csv_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _models(value: str | None) -> list[str] | None:
    """None (the whole ladder) only when --models is absent: `--models ""` is an error, not everything."""
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _seeds(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got '{value}'") from None


_DATA_OPTIONS = option_group(
    click.option(
        "--source", help="Data source; default: the task's bundled default (see `bench ls`)."
    ),
    path_option("--data", help="File or folder the source reads."),
    click.option(
        "--min-votes",
        type=int,
        help="Leave out films with fewer votes (tmdb-quality, tmdb-rating; default 10): "
        "a shortcut for --set min_votes=N.",
    ),
    click.option(
        "--features",
        help="Extra source columns to use as features (target-derived ones are refused).",
    ),
    click.option(
        "--set",
        "settings",
        multiple=True,
        metavar="KEY=VALUE",
        help="Task setting, repeatable, checked against the task's typed settings: e.g. "
        "min_label_count=20, per_label_threshold=true, class_weight=largest (see `bench ls`).",
    ),
    click.option(
        "--image-size",
        type=click.IntRange(*IMAGE_SIZES),
        help="Image side in pixels for every image rung (same as --set image_size=N).",
    ),
    click.option(
        "--split-seed",
        default=DEFAULT_SPLIT_SEED,
        show_default=True,
        help="Seed of the film split, shared by every task (change it for repeated-split studies).",
    ),
    click.option(
        "--split",
        type=click.Choice(["hash", "official"]),
        default="hash",
        show_default=True,
        help="hash: the harness's split of each film (every source); official: the source's "
        "own published split, where it has one (mmimdb's split.json, dev as validation). "
        "Stored in every record; boards never mix splits.",
    ),
    click.option(
        "--profile",
        type=click.Choice(PROFILES),
        default="quick",
        show_default=True,
        help="Declared training budget of every network (epochs, patience, batch size, resolution; "
        "see `bench ls`): quick fits two CPU cores, full is the reports' recipes for a GPU. "
        "Stored in every record; leaderboards never mix profiles.",
    ),
    click.option(
        "--epochs", type=int, help="Override the epoch cap of every network's declared budget."
    ),
    click.option(
        "--time-budget",
        type=float,
        help="Seconds of training per network, an explicit cap (none by default); a record it "
        "cuts short is marked truncated and is never accepted as a baseline.",
    ),
    click.option(
        "--weights",
        type=click.Path(path_type=Path, exists=True),
        help="Pretrained weights for the rungs that take them.",
    ),
    click.option(
        "--device", type=click.Choice(["cpu", "cuda"]), help="Default: CUDA when available."
    ),
)
_DATA_NAMES = (
    "source data features settings image_size split_seed split profile epochs time_budget weights device"
).split()


def data_options(func: _F) -> _F:
    """The options every command that trains accepts, collected into one `RunOptions`
    (passed to the command as `options`), so a flag means the same thing everywhere."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from moviebench.settings import parse_pairs

        given = {name: kwargs.pop(name) for name in _DATA_NAMES}
        try:
            raw = parse_pairs(given.pop("settings"))
        except BenchError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from None
        if image_size := given.pop("image_size"):
            raw["image_size"] = str(image_size)
        if (min_votes := kwargs.pop("min_votes")) is not None:  # a tmdb-quality/-rating setting
            raw["min_votes"] = str(min_votes)
        given["features"] = tuple(_csv_list(given["features"]) or ())
        kwargs["options"] = RunOptions(settings=raw, **given)
        return func(*args, **kwargs)

    return _DATA_OPTIONS(wrapper)


param_option = click.option(
    "--param",
    "param_pairs",
    multiple=True,
    metavar="MODEL.KEY=VALUE",
    help="A model param over its default, repeatable: e.g. lightgbm.num_leaves=63 (typed by the "
    "default; JSON for lists; an unknown key's error lists the model's params). Records and the "
    "board show it.",
)


def _params(pairs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """--param pairs, typed and checked against each model's declared params."""
    from moviebench import params

    return params.check(params.parse_pairs(pairs))


jobs_option = click.option(
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Run cells in this many processes.",
)


_EXECUTOR_OPTIONS = option_group(
    click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="ray: each cell (or trial) is a Ray task (pip install 'moviebench[ray]'); the prepared "
        "data reaches workers through Ray's object store and records come back to this machine, "
        "so --out needs no shared file system.",
    ),
    click.option(
        "--address",
        help="--executor ray: the cluster to join (auto, or ray://HEAD:10001); "
        "default: a local Ray runtime on this machine.",
    ),
    click.option(
        "--gpus-per-deep-rung",
        default=1.0,
        show_default=True,
        type=click.FloatRange(0, min_open=True),
        help="--executor ray: GPUs each deep rung asks for (fractions share a GPU).",
    ),
    click.option(
        "--deep-on-cpu",
        is_flag=True,
        help="--executor ray: run deep rungs on CPUs when the cluster has no GPU.",
    ),
)


def executor_options(func: _F) -> _F:
    """--executor and its Ray options, shared by run and tune; the command gets `runner`
    (None for local, else an executors.RayExecutor)."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        executor: str,
        address: str | None,
        gpus_per_deep_rung: float,
        deep_on_cpu: bool,
        **kwargs: Any,
    ) -> Any:
        kwargs["runner"] = None
        if executor == "ray":
            from moviebench.executors import RayExecutor, import_ray

            try:
                import_ray()  # before any data is loaded
            except BenchError as exc:
                raise click.UsageError(str(exc)) from None
            kwargs["runner"] = RayExecutor(
                address=address, gpus_per_deep_rung=gpus_per_deep_rung, deep_on_cpu=deep_on_cpu
            )
        return func(*args, **kwargs)

    return _EXECUTOR_OPTIONS(wrapper)


# ---- commands: parse, call moviebench.api, render ------------------------------------------


@cli.command()
@task_option(
    required=False,
    help="Task name (see `bench ls`); with --suite, only the suite's boards of these tasks "
    "(comma-separated).",
)
@click.option(
    "--suite",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Run a suite file (TOML: boards x rungs x seeds x split seeds x profile x params; "
    "e.g. results/suites/baseline.toml) instead of one task; --out, --force, --jobs and "
    "--shard apply to each of its runs.",
)
@param_option
@models_option(
    "Comma-separated models; default: the task's whole ladder. The trivial baseline always runs."
)
@seeds_option(
    "Comma-separated model seeds (initialisation, sampling); the film split is set apart by "
    "--split-seed / --split-seeds."
)
@records_option("Where result records go.")
@force_option
@data_options
@click.option(
    "--split-seeds",
    help="Comma-separated split seeds: run the ladder on each of these film splits (repeated "
    "splits; replaces --split-seed). The board shows mean ± std across split seeds and ties "
    "from a paired test across them.",
)
@click.option(
    "--tuned", is_flag=True, help="Use each model's best params from its `bench tune` study."
)
@storage_option("Study storage for --tuned (default: the journal file under --out).")
@jobs_option
@click.option(
    "--shard",
    help="Run only share I of N of the cells (e.g. 0/4), for batch-scheduler arrays; "
    "every share must get the same --models and --seeds.",
)
@executor_options
@board_columns_options
@click.option(
    "--plan",
    "show_plan",
    is_flag=True,
    help="List the cells that would run, be reused, skip or fail, each with its declared "
    "budget and an estimate of its time from finished records on this machine; train nothing.",
)
def run(
    task: str | None,
    suite: Path | None,
    param_pairs: tuple[str, ...],
    models: str | None,
    seeds: str,
    out: Path,
    force: bool,
    options: RunOptions,
    split_seeds: str | None = None,
    tuned: bool = False,
    storage: str | None = None,
    jobs: int = 1,
    shard: str | None = None,
    runner: Any | None = None,
    columns: list[str] | None = None,
    show_plan: bool = False,
) -> None:
    """Train and score a task's ladder of models, then print its leaderboard.

    Finished records are skipped on a rerun (unless --force) when the same data, split,
    settings, options and params made them; a model that fails is recorded as failed without
    stopping the others.

    \b
    Examples:
      bench run --task tmdb-quality
      bench run --task poster-genre --source movielens-1m --data ../shared/data/ml-1m \\
                --models prior,hist-logreg,effnet-logreg --seeds 0,1,2
      bench run --task tmdb-quality --models logreg,lightgbm --split-seeds 1,2,3
      bench run --task tmdb-quality --models lightgbm --param lightgbm.num_leaves=63
      bench run --suite results/suites/baseline.toml --out /tmp/baseline
    """
    from moviebench import api
    from moviebench.display import LadderDisplay, print_leaderboards
    from moviebench.runner import parse_shard

    try:
        share = parse_shard(shard) if shard is not None else None
    except BenchError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None
    if suite is not None:
        ctx = click.get_current_context()
        given = [
            f"--{name.replace('_', '-')}"
            for name in ("models", "seeds", "split_seeds", "tuned", "param_pairs", "storage")
            if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
        ]
        if given or options != RunOptions():
            what = ", ".join(given) or "data options"
            raise click.UsageError(
                f"--suite: the suite file says the runs; {what} not taken with it"
            )
        _run_suite(suite, _csv_list(task), out, force, jobs, share, runner, show_plan)
        return
    if task is None:
        raise click.UsageError("give --task NAME (see `bench ls`) or --suite FILE")
    given_params = _params(param_pairs)
    wanted = _models(models)
    splits = _seeds(split_seeds) if split_seeds else None
    if splits is not None and not splits:
        raise click.BadParameter("give at least one split seed", param_hint="--split-seeds")
    for split_seed in splits or ():
        check_seed("--split-seeds", split_seed)  # before anything trains, in one line
    if show_plan:
        for split_seed in splits or [options.split_seed]:
            planned = api.plan(
                task,
                models=wanted,
                seeds=_seeds(seeds),
                out=out,
                options=dataclasses.replace(options, split_seed=split_seed),
                force=force,
                tuned=tuned,
                shard=share,
            )
            print_plan(planned, task, split_seed if splits else None)
        return
    with LadderDisplay(console) as display:
        records = api.run(
            task,
            models=wanted,
            seeds=_seeds(seeds),
            out=out,
            options=options,
            force=force,
            tuned=tuned,
            storage=storage,
            jobs=jobs,
            shard=share,
            executor=runner,
            reporter=display,
            split_seeds=splits,
            params=given_params,
            params_origin="cli",
        )
    if not records:
        console.print(f"shard {shard}: no cells in this share (fewer cells than shares)")
        return
    # The board of this run's data only: records made on other data live in other folders.
    first = records[0]
    shown = api.board(
        out, task, first.source, first.data_fingerprint, options.split_seed, split_seeds=splits
    )
    print_leaderboards(console, shown.records, shown.across_splits, columns)
    # The data folder (the model folders' parent), whatever profile or split folder the
    # records sit in below their model's.
    path = Path(first.path)
    folder = next((p.parent for p in path.parents if p.name == first.model), path.parents[1])
    console.print(f"records in {escape(str(folder))}/", highlight=False)
    skips = api.run_skips(records, wanted)
    if skips:
        err_console.print(f"[yellow]note:[/] {escape(skips)}", highlight=False, soft_wrap=True)
    failure = api.run_failure(records, wanted)
    if failure:
        err_console.print(f"[red]error:[/] {escape(failure)}", highlight=False, soft_wrap=True)
        sys.exit(1)


def _run_suite(
    path: Path,
    tasks: list[str] | None,
    out: Path,
    force: bool,
    jobs: int,
    share: tuple[int, int] | None,
    runner: Any | None,
    show_plan: bool = False,
) -> None:
    """`bench run --suite`: each run of the file in turn, its command line on stderr, then
    one line for what failed or was skipped; exit 1 when a cell failed. With --plan, each
    run's plan instead, and nothing trains."""
    from moviebench import api
    from moviebench.display import LadderDisplay

    suite = api.load_suite(path, tasks)
    chosen = (
        out
        if click.get_current_context().get_parameter_source("out") == ParameterSource.COMMANDLINE
        else None
    )
    for note in suite.skipped:
        err_console.print(escape(note), highlight=False, soft_wrap=True)
    if show_plan:
        _plan_suite(suite, chosen, force, share)
        return
    records = []
    for item in suite.items:
        err_console.print(f"== {escape(item.command())}", highlight=False, soft_wrap=True)
        with LadderDisplay(console) as display:
            records += api.run(
                item.task, force=force, jobs=jobs, shard=share, executor=runner,
                reporter=display, **api.suite_cells(suite, item, chosen),
            )  # fmt: skip
    console.print(f"suite {path}: {len(suite.items)} run(s), {len(records)} cell(s)")
    skips = api.run_skips(records)
    if skips:
        err_console.print(f"[yellow]note:[/] {escape(skips)}", highlight=False, soft_wrap=True)
    failure = api.run_failure(records)
    if failure:
        err_console.print(f"[red]error:[/] {escape(failure)}", highlight=False, soft_wrap=True)
        sys.exit(1)


def _plan_suite(suite: Any, out: Path | None, force: bool, share: tuple[int, int] | None) -> None:
    """`bench run --suite FILE --plan`: each run's plan, split seed by split seed, then the
    suite's estimated total; nothing is trained."""
    from moviebench import api
    from moviebench.plan import total_estimate

    everything: list[Any] = []
    for item in suite.items:
        cells = api.suite_cells(suite, item, out)
        splits = cells.pop("split_seeds")
        options = cells.pop("options")
        err_console.print(f"== {escape(item.command())}", highlight=False, soft_wrap=True)
        for split_seed in splits or [options.split_seed]:
            planned = api.plan(
                item.task,
                options=dataclasses.replace(options, split_seed=split_seed),
                force=force,
                shard=share,
                **cells,
            )
            print_plan(planned, item.task, split_seed if splits else None)
            everything += planned
    seconds, unknown = total_estimate(everything)
    console.print(
        f"suite: {len(everything)} cell(s), estimated {seconds / 60:,.1f} min"
        + (f"; {unknown} without an estimate" if unknown else ""),
        highlight=False,
    )


def print_plan(planned: list[Any], task: str, split_seed: int | None) -> None:
    """`bench run --plan`: one row per cell, then the estimated total."""
    from rich.table import Table

    from moviebench.plan import total_estimate

    title = f"plan: {task}" + (f", split seed {split_seed}" if split_seed is not None else "")
    table = Table(title=title, title_justify="left")
    notes = any(c.note for c in planned)
    for name in ("model", "seed", "family", "action", "budget", "est. s", "note")[: 6 + notes]:
        table.add_column(name, justify="right" if name in ("seed", "est. s") else "left")
    for c in planned:
        estimate = "—" if c.estimate is None else f"{c.estimate:,.1f}"
        cells = [c.model, str(c.seed), c.family, c.action, c.budget, estimate, c.note]
        table.add_row(*cells[: 6 + notes])
    console.print(table)
    seconds, unknown = total_estimate(planned)
    console.print(
        f"estimated {seconds / 60:,.1f} min for the cells that would train (at most: a "
        "'recheck' cell has a record, reused if nothing that made it changed)"
        + (
            f"; {unknown} without an estimate (no finished record on this machine)"
            if unknown
            else ""
        ),
        highlight=False,
    )


@cli.command(name="ls")
def list_all() -> None:
    """List the tasks, sources, models and each task's settings.

    \b
    Example:  bench ls
    """
    from moviebench.catalog import catalog_tables

    for table in catalog_tables():
        console.print(table)


@cli.command()
@task_option(required=False, help="Only this task; default: every task with records.")
@click.option("--source", help="Only this source.")
@records_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "md", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--split-seed",
    default=DEFAULT_SPLIT_SEED,
    show_default=True,
    help="Show the records of this film split (`bench run --split-seed`) on their own board.",
)
@click.option(
    "--split-seeds",
    help="Comma-separated split seeds folded into one board per task (`bench run "
    "--split-seeds`): mean ± std across splits, ties by the paired test across them.",
)
@plots_option("Write PNG plots and a leaderboard.md embedding them into this folder.")
@board_columns_options
def leaderboard(
    task: str | None,
    source: str | None,
    out: Path,
    fmt: str,
    split_seed: int = DEFAULT_SPLIT_SEED,
    split_seeds: str | None = None,
    plots_dir: Path | None = None,
    columns: list[str] | None = None,
) -> None:
    """Render leaderboards from stored records alone (no training).

    \b
    Examples:
      bench leaderboard --task tmdb-quality
      bench leaderboard --format md --plots plots/
    """
    from moviebench import api
    from moviebench.display import print_leaderboards

    splits = _seeds(split_seeds) if split_seeds else None
    board = api.board(out, task, source, split_seed=split_seed, split_seeds=splits)
    if fmt == "table":
        print_leaderboards(console, board.records, board.across_splits, columns)
    else:
        click.echo(board.render(fmt, columns))
    if plots_dir:
        page, n_plots = board.write_plots(plots_dir)
        err_console.print(f"plots and markdown written to {escape(str(page))} ({n_plots} PNGs)")


@cli.command()
@task_option()
@click.option("--model", help="The model to tune; its search space is its own.")
@click.option(
    "--ladder",
    is_flag=True,
    help="Tune every tunable rung of the task's ladder in turn, each with the same --trials "
    "(networks are pruned on their validation curves), to compare all-tuned with all-default.",
)
@click.option(
    "--trials",
    type=click.IntRange(1),
    help="Trials to run in this process (default 20 unless --timeout).",
)
@click.option(
    "--timeout", type=float, help="Stop starting trials after this many seconds (per model)."
)
@storage_option(
    "Study storage: a database URL (postgresql://...) or a journal file path; "
    "default: <out>/tuning/optuna-journal.log."
)
@click.option(
    "--study", help="Study name; default: <task>.<source>.<model>.<split hash>.<settings hash>."
)
@records_option("Results folder (holds the default storage).")
@click.option("--seed", default=0, show_default=True, help="Model seed in every trial.")
@click.option(
    "--sampler-seed",
    type=int,
    help="TPE sampler seed; default: the study's trial count (give workers started together distinct seeds).",
)
@click.option(
    "--fresh/--continue",
    default=False,
    help="Start each study afresh (its earlier trials deleted) or add --trials new trials to "
    "it  [default: --continue].",
)
@click.option(
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="With --ladder: tune this many rungs side by side, each study in its own process with "
    "its share of the cores (networks rarely keep two cores busy: see `tune_side_by_side`).",
)
@data_options
@executor_options
def tune(
    task: str,
    model: str | None,
    trials: int | None,
    timeout: float | None,
    storage: str | None,
    study: str | None,
    out: Path,
    seed: int,
    sampler_seed: int | None,
    options: RunOptions,
    ladder: bool = False,
    runner: Any | None = None,
    fresh: bool = False,
    jobs: int = 1,
) -> None:
    """Tune one model (or, with --ladder, every tunable rung) with Optuna on the VALIDATION split
    (the test split is never read).

    Several processes may run this at once on the same study: they share trials through the
    storage. `bench run --tuned` with the same data options then trains each model with its
    best params; a run with other settings (e.g. another --image-size) uses another study.

    \b
    Examples:
      bench tune --task tmdb-quality --model lightgbm --trials 30
      bench tune --task overview-genre --ladder --trials 20 --jobs 2
      bench run --task tmdb-quality --tuned
    """
    from moviebench import api

    if bool(model) == ladder:
        raise click.UsageError("give either --model NAME or --ladder")
    if ladder and study:
        raise click.UsageError("--study names one study; --ladder makes one per rung")
    from moviebench.display import LadderDisplay

    with LadderDisplay(console) as display:
        results = api.tune(
            task,
            model=model,
            ladder=ladder,
            trials=trials,
            timeout=timeout,
            storage=storage,
            study=study,
            out=out,
            seed=seed,
            sampler_seed=sampler_seed,
            options=options,
            executor=runner,
            reporter=display,
            fresh=fresh,
            jobs=jobs,
        )
    for result in results.values():
        console.print(
            f"study [bold]{escape(result.study)}[/] ({escape(str(result.storage))}): {result.n_new} new trials; "
            f"{result.n_complete} complete, {result.n_pruned} pruned, "
            f"{result.n_failed} failed in the study; {result.seconds:.0f}s in this process"
        )
        console.print(
            f"best validation {result.primary_metric}: [bold]{result.best_value:.4f}[/] (trial {result.best_trial})"
            + (
                f"; defaults {result.defaults_value:.4f}"
                if result.defaults_value is not None
                else ""
            )
        )
        console.print(f"best params: {escape(str(result.best_params))}", highlight=False)
    console.print(
        "the tuned rows go beside the default ones (`<model>/tuned/` records); "
        f"train with them: bench run --task {task} --models {','.join(results)} --tuned (with the same data options)"
        + (f" --storage '{storage}'" if storage else "")
        + (f" --out {out}" if str(out) != "results" else "")
    )


@cli.command()
@path_option("--baseline", required=True, help="Folder of baseline records or bundles.")
@records_option("Current records.")
@click.option(
    "--tolerance",
    default=0.01,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Allowed drop of a primary metric (0 or more).",
)
@task_option(required=False, help="Only this task.")
@click.option(
    "--update",
    is_flag=True,
    help="Write the current records as the baseline bundle instead of checking.",
)
@click.option(
    "--present-only",
    is_flag=True,
    help="Check only the baseline entries that have a record in --out (a baseline covers "
    "several runs).",
)
def check(
    baseline: Path,
    out: Path,
    tolerance: float,
    task: str | None,
    update: bool,
    present_only: bool = False,
) -> None:
    """Fail (exit 1) when a primary metric dropped by more than --tolerance against a baseline.

    Entries match on task, source, model and split hash; a baseline entry without a finished
    current record is flagged as missing and also fails the check.

    \b
    Examples:
      bench check --baseline results/baseline --out /tmp/ci-results
      bench check --baseline results/baseline --out /tmp/ci-results --update   # accept
    """
    from moviebench import api

    if update:
        target, n_records = api.update_baseline(baseline, out, task=task)
        console.print(f"baseline of {n_records} records written to {escape(str(target))}")
        return
    from moviebench.check import absent_note

    result = api.check(baseline, out, tolerance=tolerance, task=task, present_only=present_only)
    style = {
        "ok": "green",
        "improved": "green",
        "new": "cyan",
        "regression": "red",
        "missing": "red",
        "truncated": "red",
    }
    for f in result.findings:
        console.print(
            f"[{style[f.kind]}]{f.kind.upper():10}[/] {escape(f.message)}", highlight=False
        )
    note = absent_note(result.findings, out)
    if note:
        err_console.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if not result.passed:
        named = [f"{f.kind} {'/'.join(f.key[:3])}" for f in result.failures if not f.absent]
        absent = sum(f.absent for f in result.failures)
        err_console.print(
            f"[red]check failed[/]: {len(result.failures)} of {len(result.findings)} entries: "
            + escape(
                "; ".join(named + ([f"{absent} without a record (see the note)"] if absent else []))
            ),
            highlight=False,
        )
        sys.exit(1)
    console.print(
        f"check passed: {len(result.findings)} entries within {tolerance} of {escape(str(baseline))}"
    )


@cli.command()
@task_option()
@click.option(
    "--fractions",
    default="0.1,0.25,0.5,1.0",
    show_default=True,
    help="Shares of the training split.",
)
@models_option("Comma-separated models; default: the task's whole ladder.")
@seeds_option()
@records_option("Records go to <out>/scaling/.")
@plots_option("Where the PNG goes; default <out>/scaling.")
@force_option
@jobs_option
@param_option
@data_options
def scale(
    task: str,
    fractions: str,
    models: str | None,
    seeds: str,
    out: Path,
    plots_dir: Path | None,
    force: bool,
    options: RunOptions,
    jobs: int = 1,
    param_pairs: tuple[str, ...] = (),
) -> None:
    """Train each rung on nested shares of the training split (same val and test) and plot it.

    \b
    Example:  bench scale --task tmdb-quality --models logreg,lightgbm,mlp
    """
    from rich.table import Table

    from moviebench import api
    from moviebench.display import LadderDisplay
    from moviebench.scaling import parse_fractions, scaling_table

    with LadderDisplay(console) as display:
        records, png = api.scale(
            task,
            fractions=parse_fractions(fractions),
            models=_models(models),
            seeds=_seeds(seeds),
            out=out,
            options=options,
            force=force,
            plots=plots_dir,
            jobs=jobs,
            reporter=display,
            params=_params(param_pairs),
            params_origin="cli",
        )
    header, body = scaling_table(records)
    table = Table(
        title=f"{task}: test {records[0].primary_metric} by training rows", title_justify="left"
    )
    for col in header:
        table.add_column(col, justify="left" if col == "model" else "right")
    for cells in body:
        table.add_row(*(escape(c) for c in cells))
    console.print(table)
    console.print(f"plot: {escape(str(png))}")


@cli.command()
@records_option(deprecated_alias=True)
@path_option(
    "--to",
    "to",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for a markdown page (DIR/README.md) with its PNG plots in DIR/plots/.",
)
@path_option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write ONE self-contained HTML file: sortable leaderboards, plots embedded, each row's "
    "provenance on a click. No network needed to open it.",
)
@click.pass_context
def report(
    ctx: click.Context, out: Path, results: Path | None, to: Path | None, html_file: Path | None
) -> None:
    """Leaderboards and plots for every task with results, from the stored records alone.

    \b
    bench report --to report/          markdown page + plots/ (renders on GitHub)
    bench report --html report.html    one file to open in a browser or attach to CI
    bench report --out results/board --to results --html results/index.html
    """
    from moviebench import api

    if results is not None:
        # The old spelling `--results RECORDS --out DIR`, where --out was the page's folder.
        if to is None and ctx.get_parameter_source("out") is ParameterSource.COMMANDLINE:
            to = out
        out = results
    if to is None and html_file is None:
        raise click.UsageError(
            "give --to DIR (markdown page) and/or --html FILE (one HTML page); "
            "--out is the records folder"
        )
    written = api.report(out, to=to, html=html_file)
    if written.html is not None:
        console.print(
            f"HTML report written to {escape(str(written.html))} "
            f"({written.html.stat().st_size / 1e6:.1f} MB, self-contained)"
        )
    if written.markdown is not None:
        console.print(
            f"report written to {escape(str(written.markdown))} with {written.plots} plots in "
            f"{escape(str(written.markdown.parent / 'plots'))}"
        )


@cli.command()
@records_option()
@plots_option("Write the critical-difference diagram and the cost-versus-gain plot here.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "md", "json"]), default="table",
    show_default=True, help="Terminal tables, markdown, or JSON.",
)  # fmt: skip
def summary(out: Path, plots_dir: Path | None, fmt: str) -> None:
    """The answer across tasks: every board in a results folder, per family and per rung.

    Boards won, average rank, mean normalised score (score − trivial) / (best − trivial)
    with bootstrap intervals over boards and test rows, one sentence per family, Elo and win
    rate (bencheval), and a critical-difference test (Friedman + Nemenyi, autorank).

    \b
    bench summary --out results/board
    bench summary --out results/board --plots summary-plots/
    """
    import json

    from rich.table import Table

    from moviebench import api
    from moviebench.report import summary_markdown, summary_rows

    result = api.summary(out, plots=plots_dir)
    if fmt == "json":
        click.echo(json.dumps({**result.to_dict(), "critical_difference": result.cd.describe()}))
        return
    if fmt == "md":
        click.echo(summary_markdown(result, result.cd, [str(p) for p in result.plots]))
        return
    for line in result.sentences:
        console.print(f"- {escape(line)}", highlight=False)
    for families, title in ((True, "families"), (False, "rungs")):
        header, body = summary_rows(result, families)
        table = Table(title=f"{title} over {len(result.boards)} boards")
        for col in header:
            table.add_column(col, justify="left" if col in ("family", "name") else "right")
        for cells in body:
            table.add_row(*(escape(c) for c in cells))
        console.print(table)
    console.print(escape(result.elo_note) + ".", highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    console.print(f"critical difference: {escape(result.cd.describe())}", highlight=False)
    for path in result.plots:
        console.print(f"plot: {escape(str(path))}")


@cli.group()
def data() -> None:
    """Look at a data source before benchmarking on it.

    \b
    Example:  bench data inspect --source movielens-1m --data ../shared/data/ml-1m
    """


@data.command(name="inspect")
@click.option("--source", required=True, help="Source name (see `bench ls`).")
@click.option(
    "--data", "data_path", type=click.Path(path_type=Path), help="File or folder the source reads."
)
@click.option(
    "--min-votes",
    default=10,
    show_default=True,
    help="As for `bench run`: shapes quality tasks' label balance.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def inspect_data(source: str, data_path: Path | None, min_votes: int, fmt: str) -> None:
    """Rows read, kept and dropped by reason, missing values, label balance per task, genres, images.

    \b
    Example:  bench data inspect --source tmdb --data tmdb_5000_movies.csv --format json
    """
    import json

    from moviebench import api
    from moviebench.inspection import print_inspection

    info = api.inspect_source(source, data_path, min_votes)
    if fmt == "json":
        click.echo(json.dumps(info, indent=2))
    else:
        print_inspection(console, info)


@cli.group()
def split() -> None:
    """The harness's split, for training a model outside it (then `bench score`)."""


@split.command(name="export")
@task_option()
@data_options
@path_option("--to", "to_file", help="CSV file to write.")
@path_option("--out", "out_file", hidden=True, help="Deprecated: --to.")
def split_export(
    task: str, options: RunOptions, to_file: Path | None, out_file: Path | None = None
) -> None:
    """Write movie_id, part, split_hash, the task's inputs and the labels of train and val
    films (test labels never leave the harness).

    \b
    Example:  bench split export --task tmdb-quality --to split.csv
    """
    from moviebench import api

    if out_file is not None:
        # `--out` is the records folder in every other command: the file is `--to`.
        err_console.print("[yellow]warning:[/] --out FILE is deprecated here; use --to FILE")
        if to_file is not None and to_file != out_file:
            raise click.UsageError("give the file once: --to FILE")
        to_file = out_file
    if to_file is None:
        raise click.UsageError("Missing option '--to': the CSV file to write")
    path = api.export_split(task, to_file, options=options)
    console.print(f"wrote {escape(str(path))}")


@cli.command()
@task_option()
@click.option(
    "--model",
    "models",
    multiple=True,
    help="A model whose records go (repeatable, or comma-separated).",
)
@click.option("--failed", is_flag=True, help="Only records that did not finish (failed, skipped).")
@click.option("--source", help="Only this source.")
@records_option("The records folder.")
def forget(task: str, models: tuple[str, ...], failed: bool, source: str | None, out: Path) -> None:
    """Remove records (and their test scores) from --out: a model's, or the failed ones.

    \b
    Examples:
      bench forget --task tmdb-quality --failed
      bench forget --task tmdb-quality --model ridge-classifier
    """
    from moviebench import api

    names = [m for spec in models for m in _csv_list(spec) or []]
    removed = api.forget(task, names, out=out, failed=failed, source=source)
    for r in removed:
        console.print(f"removed {r.model} seed {r.seed} ({r.status}): {r.path}", highlight=False)
    console.print(f"{len(removed)} record(s) removed from {out}/{task}", highlight=False)


@cli.command()
@task_option()
@path_option(
    "--predictions",
    required=True,
    help="CSV: movie_id, split_hash and `score` (a number) or one `score:<label>` column "
    "per label, for every validation and test film of `bench split export`.",
)
@click.option("--name", required=True, help="The entry's name on the board.")
@click.option(
    "--scores",
    "score_kind",
    type=click.Choice(["probabilities", "logits", "raw"]),
    default=None,
    help="What the score columns hold: probabilities (the default: each multiclass row "
    "non-negative and summing to 1, multi-label scores in [0, 1]; anything else is refused), "
    "logits (softmax / sigmoid applied here) or raw scores (ranked as they are).",
)
@records_option("Where result records go.")
@force_option
@data_options
def score(
    task: str,
    predictions: Path,
    name: str,
    score_kind: str | None,
    out: Path,
    force: bool,
    options: RunOptions,
) -> None:
    """Score predictions made outside the harness: every metric is computed here
    (multi-label thresholds from the submitted validation scores), the record is marked
    external and its board row gets the same intervals and ties as any rung.

    \b
    Example:  bench score --task tmdb-quality --predictions preds.csv --name my-model
    """
    from moviebench import api

    record = api.score(
        task, predictions, name, out=out, force=force, options=options, scores=score_kind
    )
    if record.status != "ok":
        raise BenchError(f"{name}: {record.status}: {record.error}")
    console.print(
        f"{escape(name)}: {record.primary_metric} {record.primary:.4f} -> {escape(str(record.path))}",
        highlight=False,
    )


@cli.group()
def export() -> None:
    """Send the stored records to other tools (the records stay the source of truth).

    \b
    Example:  bench export mlflow --out results
    """


@export.command(
    name="mlflow", short_help="One MLflow run per record, into a local SQLite store by default."
)
@records_option(deprecated_alias=True)
@click.option(
    "--tracking-uri",
    default="sqlite:///mlflow.db",
    show_default=True,
    help="MLflow backend store. A sqlite:///FILE URI needs no server; artifacts go to mlartifacts/ beside it.",
)
@click.option(
    "--experiment",
    default="moviebench",
    show_default=True,
    help="MLflow experiment to put the runs in.",
)
def export_mlflow(out: Path, results: Path | None, tracking_uri: str, experiment: str) -> None:
    """One MLflow run per record: params and settings as params, test metrics and learning
    curves as metrics, task/source/model/family/seed/status as tags, the record JSON and the
    board's plots as artifacts.

    Safe to repeat: unchanged records are skipped and rerun ones replace their old run.

    \b
    Example:      bench export mlflow --out results --tracking-uri sqlite:///mlflow.db
    Browse with:  mlflow ui --backend-store-uri sqlite:///mlflow.db
    """
    from moviebench import api

    summary = api.export_mlflow(out if results is None else results, tracking_uri, experiment)
    console.print(
        f"MLflow experiment '{escape(experiment)}' at {escape(tracking_uri)}: {len(summary.created)} runs created, "
        f"{len(summary.replaced)} replaced, {len(summary.unchanged)} unchanged"
    )
    console.print(f"browse: mlflow ui --backend-store-uri {escape(tracking_uri)}", highlight=False)


def _show_warning(
    message: Any,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A damaged stored file as one `warning:` line (path and reason), not a source excerpt."""
    if issubclass(category, DamagedFileWarning):
        err_console.print(
            f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True
        )
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main() -> None:
    warnings.showwarning = _show_warning
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.UsageError as exc:  # a bad option value: one line, like every other error
        command = f"bench {exc.ctx.info_name} -h" if exc.ctx and exc.ctx.parent else "bench -h"
        err_console.print(
            f"[red]error:[/] {escape(exc.format_message())} (see `{command}`)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BenchError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except OSError as exc:  # a write that failed (full disk, read-only folder): path and reason
        err_console.print(
            f"[red]error:[/] {escape(os_error_line(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(1)


def os_error_line(exc: OSError) -> str:
    """An OS error as one line: the path and the reason (no traceback)."""
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{where}: cannot write or read there ({reason}); finished records are kept"


if __name__ == "__main__":
    main()
