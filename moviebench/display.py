"""Terminal output: a run's events as rich progress bars and lines while it works (the rich
`reporting.Reporter`), and leaderboard tables after."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

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
from moviebench.leaderboard import (
    aggregate,
    caveats,
    failures,
    gap_lines,
    pick_columns,
    secondary_metrics,
    table_rows,
)
from moviebench.records import Record
from moviebench.reporting import (
    Eta,
    Reporter,
    label_of,
    outcome_text,
    record_label,
    waiting_text,
)

if TYPE_CHECKING:
    from moviebench.cell import Cell
    from moviebench.prepare import PreparedTask


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


class LadderDisplay(Reporter):
    """The rich `Reporter`: which cell runs, an inner bar for its long steps (epochs, images,
    trials), and one line per finished or reused cell and per message."""

    def __init__(self, console: Console, total: int | None = None) -> None:
        self.console = console
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        # The ladder's bar appears once there are cells to count (`bench tune` has none).
        self.ladder: Any = None if total is None else self.bars.add_task("ladder", total=total)
        self.inner: Any = None
        # `--jobs` reports from two threads: networks here, the workers' cells via a collector.
        self._lock = threading.RLock()
        # A pipe or log gets no bars: progress lines with an ETA instead (`Eta`).
        self.eta = None if console.is_terminal else Eta()
        if self.eta is not None and total:
            self.eta.to_run(total)
        # Data steps deep below (image checks, decoding) report here while the run is shown.
        self._listening = data_progress.listening(self.progress)

    def __enter__(self) -> LadderDisplay:
        self.bars.start()
        self._listening.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listening.__exit__(None, None, None)
        self.bars.stop()

    @_locked
    def prepared(self, prep: PreparedTask) -> None:
        report = prep.loaded.report
        dropped = ", ".join(f"{n} {why}" for why, n in report.dropped.items()) or "none"
        self.console.print(
            f"[bold]{escape(prep.spec.name)}[/] on [bold]{escape(prep.source)}[/]: "
            f"{report.rows_read} rows read, dropped: {escape(dropped)}"
        )
        for note in prep.data.notes:
            self.console.print(f"  {escape(note)}")
        s = prep.split
        self.console.print(
            f"  {len(prep.data)} rows -> train {len(s.train)} / val {len(s.val)} / test {len(s.test)} (split {s.hash})"
        )

    @_locked
    def plan(self, text: str) -> None:
        self.console.print(f"  {escape(text)}")

    @_locked
    def message(self, text: str) -> None:
        self.console.print(f"  {escape(text)}")

    @_locked
    def warning(self, text: str) -> None:
        self.console.print(f"  [yellow]warning[/]: {escape(text)}")

    @_locked
    def reused(self, record: Record, why: str) -> None:
        self.console.print(f"  [dim]skip {escape(record_label(record))}: {escape(why)}[/]")

    @_locked
    def to_run(self, cells: int) -> None:
        if self.eta is not None:
            self.eta.to_run(cells)
        if self.ladder is None:
            self.ladder = self.bars.add_task("ladder", total=cells)
        else:
            self.bars.update(self.ladder, total=cells)

    @_locked
    def started(self, cell: Cell) -> None:
        if self.ladder is not None:
            self.bars.update(self.ladder, description=label_of(cell))
        if self.inner is not None:
            self.bars.remove_task(self.inner)
            self.inner = None

    @_locked
    def waiting(self, cell: Cell) -> None:
        self.console.print(f"  {escape(waiting_text(cell))}")

    @_locked
    def progress(self, description: str, completed: int, total: int | None) -> None:
        """The inner bar: epochs, texts embedded, images checked or decoded, trials. A new
        kind of step (another total, or a count that went back) gets a fresh bar and rate."""
        if self.inner is not None:
            current = self.bars.tasks[self.bars.task_ids.index(self.inner)]
            if total != current.total or completed < current.completed:
                self.bars.remove_task(self.inner)
                self.inner = None
        if self.inner is None:
            self.inner = self.bars.add_task(f"  {description}", total=total, rate=True)
        self.bars.update(
            self.inner, description=f"  {description}", completed=completed, total=total
        )

    @_locked
    def finished(self, record: Record) -> None:
        if self.ladder is not None:
            self.bars.advance(self.ladder)
        name = escape(record_label(record))
        if record.status == "ok":
            self.console.print(f"  [green]done[/] {name}: {escape(outcome_text(record))}")
        else:
            self.console.print(f"  [red]{record.status}[/] {name}: {escape(outcome_text(record))}")
        line = self.eta.finished() if self.eta is not None else None
        if line:
            self.console.print(f"  {line}", highlight=False)


def print_leaderboards(
    console: Console,
    records: list[Record],
    across_splits: bool = False,
    columns: list[str] | None = None,
) -> None:
    """Each board as a table. Without `columns` the compact board (`default_columns`), its
    secondary metrics dropped from the right until it fits the console's width; a row never
    wraps and a cell is never cut: a table wider than the console (columns asked for, or a
    pipe's nominal width) is printed at its own width."""
    for (task, source), rows in aggregate(records, across_splits).items():
        splits = sorted({k for r in rows for k in r.split_primary})
        title = (
            f"{task} on {source} — test split {rows[0].split_hash}"
            if not splits
            else f"{task} on {source} — split seeds {','.join(map(str, splits))}: mean ± std "
            "across splits, ties by the corrected paired t-test across splits"
        )
        chosen = pick_columns(rows, columns)
        table = _table(rows, chosen, title)
        if not columns:
            # dropped in this order: the last secondary metric first, fit seconds last
            optional = ["fit", *[c for c in chosen if c in secondary_metrics(rows)]]
            while optional and _width(console, table) > console.width:
                chosen = [c for c in chosen if c != optional[-1]]
                optional.pop()
                table = _table(rows, chosen, title)
        natural = _width(console, table)
        if natural <= console.width:
            console.print(table)
        else:  # wider than the console: at its own width, so no row wraps inside the table
            Console(
                file=console.file,
                width=natural,
                force_terminal=console.is_terminal,
                color_system=console.color_system,  # type: ignore[arg-type]
            ).print(table)
        for line in gap_lines(rows):
            console.print(escape(line))
        for line in caveats(rows):
            console.print(f"[bold yellow]{escape(line)}[/]", highlight=False)
        for line in failures(rows):
            console.print(f"[red]{escape(line)}[/]")


def _table(rows: list[Any], columns: list[str], title: str) -> Table:
    header, body = table_rows(rows, columns)
    table = Table(title=escape(title), title_justify="left")  # user text: no markup read
    for name, col in zip(columns, header):
        left = name in ("model", "family", "weights")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    for r, cells in zip(rows, body):
        table.add_row(*map(escape, cells), style="dim" if r.family == "trivial" else None)
    return table


def _width(console: Console, table: Table) -> int:
    """The table's natural width: what it needs with no cell cut or wrapped."""
    table.expand = False
    return console.measure(table, options=console.options.update(width=10_000)).maximum
