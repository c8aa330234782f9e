"""One executor protocol for run and scale: the same records from a process pool as from a
serial run, the Reporter told what happens, the lock and the manifest for `bench scale` too,
and an error while a record is built ending as a failed record."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from moviebench.cell import Cell
from moviebench.executors import MADE_WHILE_WAITING, REUSED
from moviebench.options import RunOptions
from moviebench.records import Record, load_records, read_record
from moviebench.reporting import SilentReporter, TextReporter, label_of
from moviebench.runner import RunRequest, plan, run
from moviebench.scaling import run_scaling, scaling_cells
from tests.fixtures import write_ggplot2_csv


class RecordingReporter(SilentReporter):
    """Keeps (event, what) pairs, in the order they came."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def prepared(self, prep: object) -> None:
        self.events.append(("prepared", None))

    def to_run(self, cells: int) -> None:
        self.events.append(("to_run", cells))

    def started(self, cell: Cell) -> None:
        self.events.append(("started", label_of(cell)))

    def waiting(self, cell: Cell) -> None:
        self.events.append(("waiting", label_of(cell)))

    def reused(self, record: Record, why: str) -> None:
        self.events.append(("reused", f"{record.model} seed {record.seed}: {why}"))

    def finished(self, record: Record) -> None:
        self.events.append(("finished", f"{record.model} seed {record.seed}"))


@pytest.fixture
def movies(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "movies.csv", n=300)


def request(movies: Path, out: Path, models: list[str], **kwargs: object) -> RunRequest:
    return RunRequest(
        task="tmdb-quality", options=RunOptions(data=movies), models=models, out=out, **kwargs
    )


def test_scale_jobs_two_matches_a_serial_scale(movies: Path, tmp_path: Path) -> None:
    fractions = [0.5, 1.0]
    serial, _ = run_scaling(request(movies, tmp_path / "j1", ["logreg"]), fractions)
    parallel, _ = run_scaling(request(movies, tmp_path / "j2", ["logreg"], jobs=2), fractions)

    def key(r: Record) -> tuple:
        return r.model, r.seed, r.train_fraction

    assert [key(r) for r in parallel] == [key(r) for r in serial]
    assert len(serial) == 4  # majority and logreg at two fractions
    for a, b in zip(serial, parallel, strict=True):
        assert a.status == b.status == "ok"
        assert b.metrics == pytest.approx(a.metrics, abs=1e-9)
        assert b.n_train == a.n_train and b.identity == a.identity
        assert read_record(Path(b.path)).status == "ok"  # the workers wrote them


def test_the_reporter_hears_each_cell_and_a_rerun_reuses_them(movies: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = RecordingReporter()
    records = run(request(movies, out, ["logreg"]), first)
    assert [r.model for r in records] == ["majority", "logreg"]
    assert first.events == [
        ("prepared", None),
        ("to_run", 2),
        ("started", "majority seed 0"),
        ("finished", "majority seed 0"),
        ("started", "logreg seed 0"),
        ("finished", "logreg seed 0"),
    ]
    again = RecordingReporter()
    assert [r.created for r in run(request(movies, out, ["logreg"]), again)] == [
        r.created for r in records
    ]
    assert again.events == [
        ("reused", f"majority seed 0: {REUSED}"),
        ("reused", f"logreg seed 0: {REUSED}"),
    ]


def test_a_scale_rerun_with_nothing_to_do_loads_no_data(movies: Path, tmp_path: Path) -> None:
    req = request(movies, tmp_path / "out", ["logreg"])
    first, prep = run_scaling(req, [0.5, 1.0])
    assert prep is not None and all(r.status == "ok" for r in first)
    reporter = RecordingReporter()
    again, prep = run_scaling(req, [0.5, 1.0], reporter)
    assert prep is None  # the manifest answered: nothing was loaded or built
    assert [r.path for r in again] == [r.path for r in first]
    assert [kind for kind, _ in reporter.events] == ["reused"] * 4
    other, prep = run_scaling(req, [0.5], reporter)  # other fractions: another question
    assert prep is not None and len(other) == 2


def test_scale_waits_for_another_run_holding_a_cell_and_takes_its_record(
    movies: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    req = request(movies, out, ["logreg"])
    (other,) = [c for c in scaling_cells(plan(req), req, [1.0]) if c.model == "logreg"]
    reporter = RecordingReporter()
    result: list[list[Record]] = []
    with other.lock(out):  # "another run" holds the cell and trains it
        scale = threading.Thread(target=lambda: result.append(run_scaling(req, [1.0], reporter)[0]))
        scale.start()
        deadline = time.time() + 120
        while ("waiting", label_of(other)) not in reporter.events and time.time() < deadline:
            time.sleep(0.05)
        assert ("waiting", "logreg seed 0 on 1 of train") in reporter.events
        made = other.execute(out)
    scale.join(120)
    logreg = next(r for r in result[0] if r.model == "logreg")
    assert logreg.reused == MADE_WHILE_WAITING and logreg.created == made.created


def test_an_error_while_the_record_is_built_is_a_failed_record(
    movies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = Cell.budget

    def broken_budget(self: Cell) -> object:
        if self.model == "logreg":
            raise RuntimeError("no budget for logreg")
        return budget(self)

    monkeypatch.setattr(Cell, "budget", broken_budget)  # called while the record is built
    lines: list[str] = []
    records = run(
        request(movies, tmp_path / "out", ["logreg", "random-forest"]), TextReporter(lines.append)
    )
    status = {r.model: (r.status, r.error) for r in records}
    assert status == {
        "majority": ("ok", None),
        "logreg": ("failed", "RuntimeError: no budget for logreg"),
        "random-forest": ("ok", None),  # the ladder went on
    }
    stored = {r.model: r for r in load_records(tmp_path / "out")}
    assert stored["logreg"].status == "failed" and "no budget" in stored["logreg"].traceback
    assert "  failed logreg seed 0: RuntimeError: no budget for logreg" in lines
    assert any(line.startswith("  done random-forest seed 0: macro_f1 ") for line in lines)
