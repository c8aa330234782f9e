"""The `bench` command. Thin: it parses options and calls the harness."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from moviebench.errors import BenchError

# Leaderboards are wide: when output is not a terminal (CI logs, pipes), do not wrap at 80.
console = Console(width=None if Console().is_terminal else 200)
err_console = Console(stderr=True)


def _csv_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _seeds(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got '{value}'") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """moviebench: benchmark movie ML tasks from trivial baselines to deep models.

    Every model of a task's ladder is trained on one deterministic split and scored with the
    same metrics; results are stored as JSON records that leaderboards and checks read.

    \b
    Start with:  bench ls
                 bench run --task tmdb-quality
                 bench leaderboard --task tmdb-quality
    """


def _settings(values: tuple[str, ...]) -> dict:
    """--set KEY=VALUE pairs; a VALUE that reads as JSON (20, true, 0.5) is parsed as such."""
    import json

    out = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got '{item}'", param_hint="--set")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


@cli.command()
@click.option("--task", required=True, help="Task name (see `bench ls`).")
@click.option("--source", help="Data source; default: the task's bundled default.")
@click.option("--data", type=click.Path(path_type=Path), help="File or folder the source reads.")
@click.option("--models", help="Comma-separated models; default: the task's whole ladder. The trivial baseline always runs.")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated model seeds; the split never changes.")
@click.option("--out", default="results", show_default=True, type=click.Path(path_type=Path), help="Where result records go.")
@click.option("--force", is_flag=True, help="Rerun cells that already have a finished record.")
@click.option("--min-votes", default=10, show_default=True, help="Leave out films with fewer votes (quality tasks).")
@click.option("--features", help="Extra source columns to use as features (target-derived ones are refused).")
@click.option("--epochs", type=int, help="Cap on epochs for deep models.")
@click.option("--time-budget", type=float, help="Seconds of training per deep model.")
@click.option("--weights", type=click.Path(path_type=Path, exists=True), help="Pretrained weights for fine-tuning rungs.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), help="Default: CUDA when available.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Task/model setting, repeatable: e.g. min_genre_count=20, per_label_threshold=true, class_weight=largest.")
@click.option("--image-size", type=click.IntRange(16, 1024), help="Image side in pixels for every image rung (image tasks).")
def run(task: str, source: str | None, data: Path | None, models: str | None, seeds: str, out: Path,
        force: bool, min_votes: int, features: str | None, epochs: int | None, time_budget: float | None,
        weights: Path | None, device: str | None, settings: tuple[str, ...], image_size: int | None) -> None:
    """Train and score a task's ladder of models, then print its leaderboard.

    Finished records are skipped on a rerun (unless --force), and a model that fails is
    recorded as failed without stopping the others.
    """
    from moviebench.display import LadderDisplay, print_leaderboards
    from moviebench.records import load_records
    from moviebench.runner import RunRequest
    from moviebench.runner import run as run_ladder
    from moviebench.tasks import TaskOptions

    request = RunRequest(
        task=task, source=source, data=data, models=_csv_list(models), seeds=_seeds(seeds), out=out,
        force=force, options=TaskOptions(min_votes=min_votes, extra_features=tuple(_csv_list(features) or ()),
                            settings={**_settings(settings), **({"image_size": image_size} if image_size else {})}),
        epochs=epochs, time_budget=time_budget, weights=weights, device=device,
    )
    with LadderDisplay(console) as display:
        records = run_ladder(request, display)
    source_name = records[0]["source"] if records else source
    shown = [r for r in load_records(out, task) if r["source"] == source_name]
    print_leaderboards(console, shown)
    console.print(f"records in {out}/{task}/{source_name}/")


@cli.command(name="ls")
def list_all() -> None:
    """List the tasks, sources and models."""
    from rich.table import Table

    from moviebench.datasets import SOURCES
    from moviebench.models import MODELS
    from moviebench.tasks import TASKS

    tasks = Table(title="tasks", title_justify="left")
    for col in ("task", "target", "inputs", "primary", "default source", "sources", "description"):
        tasks.add_column(col)
    for t in TASKS:
        tasks.add_row(t.name, t.target, ",".join(t.inputs), t.primary_metric, t.default_source, ",".join(t.sources), t.description)
    sources = Table(title="sources", title_justify="left")
    for col in ("source", "--data", "description"):
        sources.add_column(col)
    for s in SOURCES:
        sources.add_row(s.name, s.path_hint if s.needs_path else "(bundled) " + s.path_hint, s.description)
    models = Table(title="models", title_justify="left")
    for col in ("model", "family", "inputs", "targets", "description"):
        models.add_column(col)
    for m in MODELS:
        models.add_row(m.name, m.family, ",".join(sorted(m.inputs)) or "—", ",".join(sorted(m.targets)), m.summary)
    for table in (tasks, sources, models):
        console.print(table)


@cli.command()
@click.option("--task", help="Only this task; default: every task with records.")
@click.option("--source", help="Only this source.")
@click.option("--out", default="results", show_default=True, type=click.Path(path_type=Path), help="Where the records are.")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "json"]), default="table", show_default=True)
def leaderboard(task: str | None, source: str | None, out: Path, fmt: str) -> None:
    """Render leaderboards from stored records alone (no training)."""
    from moviebench.display import print_leaderboards
    from moviebench.leaderboard import render
    from moviebench.records import load_records
    from moviebench.tasks import TASKS

    if task:
        TASKS.get(task)  # a clear error for a typo
    records = [r for r in load_records(out, task) if not source or r["source"] == source]
    if not records:
        raise BenchError(f"no records for {task or 'any task'} in {out}: run `bench run --task {task or 'TASK'}` first")
    if fmt == "table":
        print_leaderboards(console, records)
    else:
        click.echo(render(records, fmt))


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BenchError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
