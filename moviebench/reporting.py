"""What a run tells its user, and nothing about how it is shown: the `Reporter` protocol.

The runner, the executors, `bench scale` and `bench tune` report events (a cell started, a
step's progress, a cell finished or reused, a wait on another run's lock, the plan, a
message) to a `Reporter`; they never print. `display.LadderDisplay` shows them with rich;
`SilentReporter` drops them (tests, library use); `TextReporter` writes plain lines
(logs, CI, a script). Every event may arrive from another thread (`--jobs` collects its
workers' events in one), so an implementation that keeps state guards it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from moviebench.cell import Cell
    from moviebench.prepare import PreparedTask
    from moviebench.records import Record

# A record as the runner hands it on (a written record read back: see Cell.write).


class Reporter(Protocol):
    """Every event does nothing unless an implementation says otherwise, so a reporter
    subclasses this and takes only the events it shows (see `SilentReporter`)."""

    def prepared(self, prep: PreparedTask) -> None:
        """The task's data is loaded, built and split."""

    def plan(self, text: str) -> None:
        """How the cells will run, e.g. "running 7 cells in this process, 2 thread(s) each"."""

    def to_run(self, cells: int) -> None:
        """How many cells will train (those reused are not counted)."""

    def reused(self, record: Record, why: str) -> None:
        """A current record is taken instead of training its cell."""

    def started(self, cell: Cell) -> None:
        """A cell began (serially or in a worker process; a Ray task reports only its end)."""

    def progress(self, description: str, completed: int, total: int | None) -> None:
        """A long step moved on: epochs, items decoded, trials (total None: not known)."""

    def waiting(self, cell: Cell) -> None:
        """Another run holds this cell's lock: this run waits and then takes its record."""

    def finished(self, record: Record) -> None:
        """A cell ended, with its record (ok, failed or skipped)."""

    def message(self, text: str) -> None:
        """Something the user should read."""

    def warning(self, text: str) -> None:
        """Something that went wrong without stopping the run."""


def cell_label(model: str, seed: int, train_fraction: float | None = None) -> str:
    """A cell as the user names it: `logreg seed 0`, or `logreg seed 0 on 0.25 of train`."""
    label = f"{model} seed {seed}"
    return label if train_fraction is None else f"{label} on {train_fraction:g} of train"


def label_of(cell: Cell) -> str:
    return cell_label(cell.model, cell.seed, cell.train_fraction)


def record_label(record: Record) -> str:
    return cell_label(record.model, record.seed, record.train_fraction)


def waiting_text(cell: Cell) -> str:
    return f"waiting: another run is training {label_of(cell)}"


def outcome_text(record: Record) -> str:
    """What became of a finished cell: its primary score, or its error."""
    if record.status == "ok":
        return f"{record.primary_metric} {record.primary:.4f} (fit {record.fit_seconds:.1f}s)"
    return str(record.error)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class Eta:
    """Progress of a run's cells for a log or a pipe, where no bar is drawn: a line with the
    cells done, the time spent and an estimate of the time left (the mean seconds per cell
    so far, times the cells left), at most one per `step` of the cells or per `every`
    seconds, whichever comes first, and one for the last cell."""

    def __init__(
        self, step: float = 0.1, every: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.step, self.every, self.clock = step, every, clock
        self.total = 0
        self.done = 0
        self.start = self.last = clock()
        self.shown = 0.0  # the share of cells at the last line

    def to_run(self, cells: int) -> None:
        self.total, self.done = cells, 0
        self.start = self.last = self.clock()
        self.shown = 0.0

    def finished(self) -> str | None:
        """The line to show after one more cell, or None when none is due."""
        if not self.total:
            return None
        self.done += 1
        now, share = self.clock(), self.done / self.total
        if share < 1 and share - self.shown < self.step and now - self.last < self.every:
            return None
        self.last, self.shown = now, share
        elapsed = now - self.start
        left = elapsed / self.done * (self.total - self.done)
        eta = "done" if self.done >= self.total else f"about {_duration(left)} left"
        return (
            f"progress: {self.done}/{self.total} cells ({share:.0%}), "
            f"{_duration(elapsed)} elapsed, {eta}"
        )


class SilentReporter(Reporter):
    """Drops every event: for tests and for callers that only want the records."""


class TextReporter(SilentReporter):
    """One plain line per event through `write` (print by default; e.g. a logger's info).
    Progress is written only when a step completes, so a log is not an epoch-by-epoch flood."""

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self._write = write
        self._lock = threading.Lock()
        self.eta = Eta()

    def _line(self, text: str) -> None:
        with self._lock:
            self._write(text)

    def prepared(self, prep: PreparedTask) -> None:
        s = prep.split
        self._line(
            f"{prep.spec.name} on {prep.source}: {len(prep.data)} rows -> train {len(s.train)} / "
            f"val {len(s.val)} / test {len(s.test)} (split {s.hash})"
        )

    def plan(self, text: str) -> None:
        self._line(f"  {text}")

    def reused(self, record: Record, why: str) -> None:
        self._line(f"  skip {record_label(record)}: {why}")

    def started(self, cell: Cell) -> None:
        self._line(f"  start {label_of(cell)}")

    def progress(self, description: str, completed: int, total: int | None) -> None:
        if total is not None and completed >= total:
            self._line(f"    {description}: {completed}/{total}")

    def waiting(self, cell: Cell) -> None:
        self._line(f"  {waiting_text(cell)}")

    def to_run(self, cells: int) -> None:
        self.eta.to_run(cells)

    def finished(self, record: Record) -> None:
        word = "done" if record.status == "ok" else record.status
        self._line(f"  {word} {record_label(record)}: {outcome_text(record)}")
        line = self.eta.finished()
        if line:
            self._line(f"  {line}")

    def message(self, text: str) -> None:
        self._line(f"  {text}")

    def warning(self, text: str) -> None:
        self._line(f"  warning: {text}")
