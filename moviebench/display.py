"""Terminal output: ladder progress while a run works, and leaderboard tables after."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from moviebench import progress as data_progress
from moviebench.leaderboard import aggregate, caveats, failures, gap_lines, table_rows
from moviebench.records import Record


class RateColumn(ProgressColumn):
    """Items per second of a bar (images, texts, epochs), once rich has measured it."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed or not task.fields.get("rate"):
            return Text("")
        return Text(f"{speed:,.1f}/s" if speed < 100 else f"{speed:,.0f}/s", style="dim")


_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    @functools.wraps(method)
    def wrapper(self: LadderDisplay, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class LadderDisplay:
    """Shows which cell runs, a per-epoch bar for deep models, and one line per finished cell."""

    def __init__(self, console: Console, total: int = 0) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.ladder = self.progress.add_task("ladder", total=total)
        self.inner: Any = None
        # `--jobs` reports from two threads: networks here, the workers' cells via a collector.
        self._lock = threading.RLock()
        # Data steps deep below (image checks, decoding) report here while the run is shown.
        self._listening = data_progress.listening(self.epoch)

    def __enter__(self) -> LadderDisplay:
        self.progress.start()
        self._listening.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listening.__exit__(None, None, None)
        self.progress.stop()

    def prepared(self, prep: Any) -> None:
        report = prep.loaded.report
        dropped = ", ".join(f"{n} {why}" for why, n in report.dropped.items()) or "none"
        self.console.print(
            f"[bold]{prep.spec.name}[/] on [bold]{prep.source}[/]: {report.rows_read} rows read, dropped: {dropped}"
        )
        for note in prep.data.notes:
            self.console.print(f"  {note}")
        s = prep.split
        self.console.print(
            f"  {len(prep.data)} rows -> train {len(s.train)} / val {len(s.val)} / test {len(s.test)} (split {s.hash})"
        )

    @_locked
    def skipped(self, done: list[Record]) -> None:
        for r in done:
            self.console.print(
                f"  [dim]skip {r.model} seed {r.seed}: finished record exists (--force reruns)[/]"
            )

    @_locked
    def set_total(self, total: int) -> None:
        self.progress.update(self.ladder, total=total)

    @_locked
    def start(self, model: str, seed: int) -> None:
        self.progress.update(self.ladder, description=f"{model} seed {seed}")
        if self.inner is not None:
            self.progress.remove_task(self.inner)
            self.inner = None

    @_locked
    def epoch(self, description: str, completed: int, total: int) -> None:
        """The inner bar: epochs, texts embedded, images checked or decoded. A new kind of
        step (another total, or a count that went back) gets a fresh bar and rate."""
        if self.inner is not None:
            current = self.progress.tasks[self.progress.task_ids.index(self.inner)]
            if total != current.total or completed < current.completed:
                self.progress.remove_task(self.inner)
                self.inner = None
        if self.inner is None:
            self.inner = self.progress.add_task(f"  {description}", total=total, rate=True)
        self.progress.update(
            self.inner, description=f"  {description}", completed=completed, total=total
        )

    @_locked
    def finish(self, record: Record) -> None:
        self.progress.advance(self.ladder)
        name = f"{record.model} seed {record.seed}"
        if record.status == "ok":
            self.console.print(
                f"  [green]done[/] {name}: {record.primary_metric} {record.primary:.4f} "
                f"(fit {record.fit_seconds:.1f}s)"
            )
        else:
            self.console.print(f"  [red]{record.status}[/] {name}: {escape(str(record.error))}")


def print_leaderboards(console: Console, records: list[Record]) -> None:
    for (task, source), rows in aggregate(records).items():
        header, body = table_rows(rows)
        table = Table(
            title=f"{task} on {source} — test split {rows[0].split_hash}", title_justify="left"
        )
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i in (1, 2, 3) else "right")
        for cells in body:
            table.add_row(*cells, style="dim" if "(baseline)" in cells[1] else None)
        console.print(table)
        for line in gap_lines(rows):
            console.print(line)
        for line in caveats(rows):
            console.print(f"[bold yellow]{line}[/]", highlight=False)
        for line in failures(rows):
            console.print(f"[red]{escape(line)}[/]")
