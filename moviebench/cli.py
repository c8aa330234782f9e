"""The `bench` command. Thin: it parses options and calls the harness."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape  # messages hold [brackets]: moviebench[text], tuple[float, float]

from moviebench.errors import BenchError, DamagedFileWarning
from moviebench.options import DEFAULT_SPLIT_SEED, PROFILES, RunOptions

# Leaderboards are wide: when output is not a terminal (CI logs, pipes), do not wrap at 80.
console = Console(width=None if Console().is_terminal else 200)
err_console = Console(stderr=True)


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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(None, "--version", "-V", package_name="moviebench", prog_name="bench")
def cli() -> None:
    """moviebench: benchmark movie ML tasks from trivial baselines to deep models.

    Every model of a task's ladder is trained on one deterministic split and scored with the
    same metrics; results are stored as JSON records that leaderboards and checks read.

    \b
    Start with:  bench ls
                 bench run --task tmdb-quality
                 bench leaderboard --task tmdb-quality
    """


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that trains accepts, collected into one `RunOptions`
    (passed to the command as `options`), so a flag means the same thing everywhere."""
    decorators = [
        click.option(
            "--source", help="Data source; default: the task's bundled default (see `bench ls`)."
        ),
        click.option(
            "--data", type=click.Path(path_type=Path), help="File or folder the source reads."
        ),
        click.option(
            "--min-votes",
            default=10,
            show_default=True,
            help="Leave out films with fewer votes (quality tasks).",
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
            type=click.IntRange(16, 1024),
            help="Image side in pixels for every image rung (same as --set image_size=N).",
        ),
        click.option(
            "--split-seed",
            default=DEFAULT_SPLIT_SEED,
            show_default=True,
            help="Seed of the film split, shared by every task (change it for repeated-split studies).",
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
    ]

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        source: str | None,
        data: Path | None,
        min_votes: int,
        features: str | None,
        settings: tuple[str, ...],
        image_size: int | None,
        split_seed: int,
        profile: str,
        epochs: int | None,
        time_budget: float | None,
        weights: Path | None,
        device: str | None,
        **kwargs: Any,
    ) -> Any:
        from moviebench.settings import parse_pairs

        try:
            raw = parse_pairs(settings)
        except BenchError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from None
        if image_size:
            raw["image_size"] = str(image_size)
        kwargs["options"] = RunOptions(
            source=source,
            data=data,
            min_votes=min_votes,
            features=tuple(_csv_list(features) or ()),
            settings=raw,
            split_seed=split_seed,
            epochs=epochs,
            time_budget=time_budget,
            weights=weights,
            device=device,
            profile=profile,
        )
        return func(*args, **kwargs)

    for decorator in reversed(decorators):
        wrapper = decorator(wrapper)
    return wrapper


def executor_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--executor and its Ray options, shared by run and tune; the command gets `runner`
    (None for local, else an executors.RayExecutor)."""
    decorators = [
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
    ]

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

    for decorator in reversed(decorators):
        wrapper = decorator(wrapper)
    return wrapper


@cli.command()
@click.option("--task", required=True, help="Task name (see `bench ls`).")
@click.option(
    "--models",
    help="Comma-separated models; default: the task's whole ladder. The trivial baseline always runs.",
)
@click.option(
    "--seeds",
    default="0",
    show_default=True,
    help="Comma-separated model seeds; the split never changes.",
)
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where result records go.",
)
@click.option("--force", is_flag=True, help="Rerun cells that already have a finished record.")
@data_options
@click.option(
    "--tuned", is_flag=True, help="Use each model's best params from its `bench tune` study."
)
@click.option(
    "--storage", help="Study storage for --tuned (default: the journal file under --out)."
)
@click.option(
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Run cells in this many processes.",
)
@click.option(
    "--shard",
    help="Run only share I of N of the cells (e.g. 0/4), for batch-scheduler arrays; "
    "every share must get the same --models and --seeds.",
)
@executor_options
def run(
    task: str,
    models: str | None,
    seeds: str,
    out: Path,
    force: bool,
    options: RunOptions,
    tuned: bool = False,
    storage: str | None = None,
    jobs: int = 1,
    shard: str | None = None,
    runner: Any | None = None,
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
    """
    from moviebench.display import LadderDisplay, print_leaderboards
    from moviebench.records import load_records
    from moviebench.runner import RunRequest, nothing_succeeded, parse_shard
    from moviebench.runner import run as run_ladder

    try:
        share = parse_shard(shard) if shard is not None else None
    except BenchError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None
    request = RunRequest(
        task=task,
        options=options,
        models=_models(models),
        seeds=_seeds(seeds),
        out=out,
        force=force,
        tuned=tuned,
        tuning_storage=storage,
        jobs=jobs,
        shard=share,
        executor=runner,
    )
    with LadderDisplay(console) as display:
        records = run_ladder(request, display)
    if not records:
        console.print(f"shard {shard}: no cells in this share (fewer cells than shares)")
        return
    # The board of this run's data only: records made on other data live in other folders.
    source_name, data = records[0].source, records[0].data_fingerprint
    shown = [
        r for r in load_records(out, task) if r.source == source_name and r.data_fingerprint == data
    ]
    print_leaderboards(console, shown)
    console.print(f"records in {Path(records[0].path).parents[1]}/")
    failure = nothing_succeeded(request, records)
    if failure:
        err_console.print(f"[red]error:[/] {escape(failure)}", highlight=False, soft_wrap=True)
        sys.exit(1)


@cli.command(name="ls")
def list_all() -> None:
    """List the tasks, sources, models and each task's settings.

    \b
    Example:  bench ls
    """
    import dataclasses

    from rich.table import Table

    from moviebench.datasets import SOURCES
    from moviebench.models import MODELS
    from moviebench.tasks import TASKS

    tasks = Table(title="tasks", title_justify="left")
    for col in ("task", "target", "inputs", "primary", "default source", "sources", "description"):
        tasks.add_column(col)
    for t in TASKS:
        tasks.add_row(
            t.name,
            t.target,
            ",".join(t.inputs),
            t.primary_metric,
            t.default_source,
            ",".join(t.sources),
            t.description,
        )
    sources = Table(title="sources", title_justify="left")
    for col in ("source", "--data", "description"):
        sources.add_column(col)
    for s in SOURCES:
        sources.add_row(
            s.name, s.path_hint if s.needs_path else "(bundled) " + s.path_hint, s.description
        )
    models = Table(title="models", title_justify="left")
    for col in ("model", "family", "inputs", "targets", "description"):
        models.add_column(col)
    for m in MODELS:
        models.add_row(
            m.name,
            m.family,
            ",".join(sorted(m.inputs)) or "—",
            ",".join(sorted(m.targets)),
            m.summary,
        )
    settings = Table(title="task settings (--set KEY=VALUE)", title_justify="left")
    for col in ("task", "settings and defaults"):
        settings.add_column(col)
    for t in TASKS:
        fields = dataclasses.fields(t.settings_type)
        defaults = t.settings_type()
        settings.add_row(
            t.name, ", ".join(f"{f.name}={getattr(defaults, f.name)}" for f in fields) or "—"
        )
    from moviebench.models.deep.loop import describe_budget
    from moviebench.options import PROFILES

    budgets = Table(
        title="training budgets of the networks (--profile; no wall-clock limit unless --time-budget)",
        title_justify="left",
    )
    budgets.add_column("model")
    for profile in PROFILES:
        budgets.add_column(profile + (" (default)" if profile == "quick" else ""))
    for m in MODELS:
        if m.budget_keys():
            budgets.add_row(
                m.name, *[describe_budget(m.resolve_budget(p, m.defaults)) for p in PROFILES]
            )
    for table in (tasks, sources, models, settings, budgets):
        console.print(table)


@cli.command()
@click.option("--task", help="Only this task; default: every task with records.")
@click.option("--source", help="Only this source.")
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the records are.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "md", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(path_type=Path),
    help="Write PNG plots and a leaderboard.md embedding them into this folder.",
)
def leaderboard(
    task: str | None, source: str | None, out: Path, fmt: str, plots_dir: Path | None = None
) -> None:
    """Render leaderboards from stored records alone (no training).

    \b
    Examples:
      bench leaderboard --task tmdb-quality
      bench leaderboard --format md --plots plots/
    """
    from moviebench.display import print_leaderboards
    from moviebench.leaderboard import render
    from moviebench.records import load_records
    from moviebench.tasks import TASKS

    if task:
        TASKS.get(task)  # a clear error for a typo
    records = [r for r in load_records(out, task) if not source or r.source == source]
    if not records:
        raise BenchError(
            f"no records for {task or 'any task'} in {out}: run `bench run --task {task or 'TASK'}` first"
        )
    if fmt == "table":
        print_leaderboards(console, records)
    else:
        click.echo(render(records, fmt))
    if plots_dir:
        from moviebench.leaderboard import aggregate, to_markdown
        from moviebench.plots import write_plots

        links = write_plots(records, plots_dir)
        page = Path(plots_dir) / "leaderboard.md"
        page.write_text("# moviebench leaderboard\n\n" + to_markdown(aggregate(records), links))
        err_console.print(
            f"plots and markdown written to {page} ({sum(map(len, links.values()))} PNGs)"
        )


@cli.command()
@click.option("--task", required=True, help="Task name (see `bench ls`).")
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
@click.option(
    "--storage",
    help="Study storage: a database URL (postgresql://...) or a journal file path; "
    "default: <out>/tuning/optuna-journal.log.",
)
@click.option(
    "--study", help="Study name; default: <task>.<source>.<model>.<split hash>.<settings hash>."
)
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Results folder (holds the default storage).",
)
@click.option("--seed", default=0, show_default=True, help="Model seed in every trial.")
@click.option(
    "--sampler-seed",
    type=int,
    help="TPE sampler seed; default: the study's trial count (give workers started together distinct seeds).",
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
) -> None:
    """Tune one model (or, with --ladder, every tunable rung) with Optuna on the VALIDATION split
    (the test split is never read).

    Several processes may run this at once on the same study: they share trials through the
    storage. `bench run --tuned` with the same data options then trains each model with its
    best params; a run with other settings (e.g. another --image-size) uses another study.

    \b
    Examples:
      bench tune --task tmdb-quality --model lightgbm --trials 30
      bench run --task tmdb-quality --tuned
    """
    from moviebench.tuning import TuneRequest, ladder_requests
    from moviebench.tuning import tune as run_tune

    if bool(model) == ladder:
        raise click.UsageError("give either --model NAME or --ladder")
    if ladder and study:
        raise click.UsageError("--study names one study; --ladder makes one per rung")
    if trials is None and timeout is None:
        trials = 20
    request = TuneRequest(
        task=task,
        model=model or "",
        options=options,
        trials=trials,
        timeout=timeout,
        storage=storage,
        study=study,
        out=out,
        seed=seed,
        sampler_seed=sampler_seed,
        executor=runner,
    )
    requests = ladder_requests(request) if ladder else [request]
    for req in requests:
        result = run_tune(req, console)
        console.print(
            f"study [bold]{result.study}[/] ({result.storage}): {result.n_complete} complete, {result.n_pruned} pruned, "
            f"{result.n_failed} failed; {result.seconds:.0f}s in this process"
        )
        console.print(
            f"best validation {result.primary_metric}: [bold]{result.best_value:.4f}[/] (trial {result.best_trial})"
        )
        console.print(f"best params: {result.best_params}")
    models = ",".join(r.model for r in requests)
    console.print(
        f"train with them: bench run --task {task} --models {models} --tuned (with the same data options)"
        + (f" --storage '{storage}'" if storage else "")
        + (f" --out {out}" if str(out) != "results" else "")
    )


@cli.command()
@click.option(
    "--baseline",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder of baseline records or bundles.",
)
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Current records.",
)
@click.option(
    "--tolerance",
    default=0.01,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Allowed drop of a primary metric (0 or more).",
)
@click.option("--task", help="Only this task.")
@click.option(
    "--update",
    is_flag=True,
    help="Write the current records as the baseline bundle instead of checking.",
)
def check(baseline: Path, out: Path, tolerance: float, task: str | None, update: bool) -> None:
    """Fail (exit 1) when a primary metric dropped by more than --tolerance against a baseline.

    Entries match on task, source, model and split hash; a baseline entry without a finished
    current record is flagged as missing and also fails the check.

    \b
    Examples:
      bench check --baseline results/baseline --out /tmp/ci-results
      bench check --baseline results/baseline --out /tmp/ci-results --update   # accept
    """
    from moviebench.check import compare, load_baseline, save_baseline
    from moviebench.records import load_records

    current = load_records(out, task)
    if update:
        if not current:
            raise BenchError(f"no records in {out} to save as a baseline")
        target = save_baseline(current, baseline)
        console.print(f"baseline of {len(current)} records written to {target}")
        return
    base = [r for r in load_baseline(baseline) if not task or r.task == task]
    findings = compare(base, current, tolerance)
    style = {
        "ok": "green",
        "improved": "green",
        "new": "cyan",
        "regression": "red",
        "missing": "red",
        "truncated": "red",
    }
    for f in findings:
        console.print(f"[{style[f.kind]}]{f.kind.upper():10}[/] {f.message}", highlight=False)
    failed = [f for f in findings if f.fails]
    if failed:
        err_console.print(
            f"[red]check failed[/]: {len(failed)} of {len(findings)} entries: "
            + "; ".join(f"{f.kind} {'/'.join(f.key[:3])}" for f in failed),
            highlight=False,
        )
        sys.exit(1)
    console.print(f"check passed: {len(findings)} entries within {tolerance} of {baseline}")


@cli.command()
@click.option("--task", required=True, help="Task name (see `bench ls`).")
@click.option(
    "--fractions",
    default="0.1,0.25,0.5,1.0",
    show_default=True,
    help="Shares of the training split.",
)
@click.option("--models", help="Comma-separated models; default: the task's whole ladder.")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated model seeds.")
@click.option(
    "--out",
    default="results",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Records go to <out>/scaling/.",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(path_type=Path),
    help="Where the PNG goes; default <out>/scaling.",
)
@click.option("--force", is_flag=True, help="Rerun cells that already have a finished record.")
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
) -> None:
    """Train each rung on nested shares of the training split (same val and test) and plot it.

    \b
    Example:  bench scale --task tmdb-quality --models logreg,lightgbm,mlp
    """
    from rich.table import Table

    from moviebench.runner import RunRequest
    from moviebench.scaling import parse_fractions, scaling_table
    from moviebench.scaling import scale as run_scale

    request = RunRequest(
        task=task,
        options=options,
        models=_models(models),
        seeds=_seeds(seeds),
        out=out,
        force=force,
    )
    records, png = run_scale(request, parse_fractions(fractions), plots_dir, display=console.print)
    header, body = scaling_table(records)
    table = Table(
        title=f"{task}: test {records[0].primary_metric} by training rows", title_justify="left"
    )
    for col in header:
        table.add_column(col, justify="left" if col == "model" else "right")
    for cells in body:
        table.add_row(*cells)
    console.print(table)
    console.print(f"plot: {png}")


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for a markdown page (DIR/README.md) with its PNG plots in DIR/plots/.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write ONE self-contained HTML file: sortable leaderboards, plots embedded, each row's "
    "provenance on a click. No network needed to open it.",
)
@click.option(
    "--results",
    default="results",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the records are.",
)
def report(out: Path | None, html_file: Path | None, results: Path) -> None:
    """Leaderboards and plots for every task with results, from the stored records alone.

    \b
    bench report --out report/          markdown page + plots/ (renders on GitHub)
    bench report --html report.html     one file to open in a browser or attach to CI
    """
    from moviebench.leaderboard import aggregate, headline_markdown, to_markdown
    from moviebench.plots import write_plots
    from moviebench.records import load_records

    if out is None and html_file is None:
        raise click.UsageError("give --out DIR (markdown page) and/or --html FILE (one HTML page)")
    records = load_records(results)
    if not records:
        raise BenchError(
            f"no records in {results}: run `bench run --task TASK --out {results}` first"
        )
    if html_file is not None:
        from moviebench.report_html import write_html_report

        page = write_html_report(
            records, html_file, subtitle=f"Rendered from the records in {results}."
        )
        console.print(
            f"HTML report written to {page} ({page.stat().st_size / 1e6:.1f} MB, self-contained)"
        )
    if out is None:
        return
    links = write_plots(records, Path(out) / "plots", link_prefix="plots/")
    boards = aggregate(records)
    tasks = sorted({task for task, _ in boards})
    intro = (
        f"# moviebench results\n\n{len(records)} records over {len(tasks)} task(s): {', '.join(tasks)}. "
        f"Generated by `bench report --results {results} --out {out}` from the stored records alone.\n\n"
        "## Headline: how far deep models get beyond classical ones\n\n"
        "Primary metric on the test split, mean over seeds. *Deep* counts trained networks and "
        "frozen pretrained networks under a small head; the interval is the paired bootstrap "
        "95% interval of the difference on the same resampled test rows.\n\n"
        f"{headline_markdown(boards)}\n"
    )
    page = Path(out) / "README.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(intro + to_markdown(boards, links))
    console.print(
        f"report written to {page} with {sum(map(len, links.values()))} plots in {Path(out) / 'plots'}"
    )


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

    from moviebench.datasets.inspection import inspect_source, print_inspection
    from moviebench.tasks import TaskOptions

    info = inspect_source(source, data_path, TaskOptions(min_votes=min_votes))
    if fmt == "json":
        click.echo(json.dumps(info, indent=2))
    else:
        print_inspection(console, info)


@cli.group()
def export() -> None:
    """Send the stored records to other tools (the records stay the source of truth).

    \b
    Example:  bench export mlflow --results results
    """


@export.command(
    name="mlflow", short_help="One MLflow run per record, into a local SQLite store by default."
)
@click.option(
    "--results",
    default="results",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the records are.",
)
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
def export_mlflow(results: Path, tracking_uri: str, experiment: str) -> None:
    """One MLflow run per record: params and settings as params, test metrics and learning
    curves as metrics, task/source/model/family/seed/status as tags, the record JSON and the
    board's plots as artifacts.

    Safe to repeat: unchanged records are skipped and rerun ones replace their old run.

    \b
    Example:      bench export mlflow --results results --tracking-uri sqlite:///mlflow.db
    Browse with:  mlflow ui --backend-store-uri sqlite:///mlflow.db
    """
    from moviebench.export_mlflow import export as export_records

    summary = export_records(results, tracking_uri, experiment)
    console.print(
        f"MLflow experiment '{experiment}' at {tracking_uri}: {len(summary.created)} runs created, "
        f"{len(summary.replaced)} replaced, {len(summary.unchanged)} unchanged"
    )
    console.print(f"browse: mlflow ui --backend-store-uri {tracking_uri}", highlight=False)


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
        sys.exit(2)


if __name__ == "__main__":
    main()
