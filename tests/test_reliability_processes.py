"""Issue 12's probes that need real processes: a `kill -9` of a `--jobs 2` run leaves no worker
behind (point 11), and two runs into one folder train each cell once (point 14).

Each test starts `python <script>` on a small script written here: the script registers a
test-only rung whose fit blocks until the test (or the other run) has seen what it needs, so
nothing depends on timing luck.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tests.fixtures import write_ggplot2_csv

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="process probes are written for Linux"
)

ROOT = Path(__file__).resolve().parents[1]

# A rung that announces itself in $MARKS and then blocks until $RELEASE exists (or 60 s).
RUNG = """
import os, sys, time
from pathlib import Path

import numpy as np

from moviebench.models import Model, register_model


@register_model
class Blocking(Model):
    name = "blocking-test"
    family = "classical"
    inputs = frozenset({"tabular"})
    targets = frozenset({"multiclass"})

    def fit(self, train, val):
        with open(Path(os.environ["MARKS"]) / "trained.log", "a") as fh:
            fh.write(f"{os.getpid()} seed {self.context.seed}\\n")
        (Path(os.environ["MARKS"]) / f"in-fit-{os.getpid()}").touch()
        deadline = time.time() + 60
        while not Path(os.environ["RELEASE"]).exists() and time.time() < deadline:
            time.sleep(0.05)

    def predict_scores(self, data):
        return np.full((len(data), data.n_outputs), 1.0 / data.n_outputs)
"""

RUN = """
if __name__ == "__main__":
    from moviebench.options import RunOptions
    from moviebench.reporting import TextReporter
    from moviebench.runner import RunRequest, run

    class Reporter(TextReporter):  # plain lines on stdout; a wait is also marked in $MARKS
        def waiting(self, cell):
            super().waiting(cell)
            (Path(os.environ["MARKS"]) / "second-waits").touch()

    seeds = [int(s) for s in sys.argv[3].split(",")]
    records = run(RunRequest(task="tmdb-quality", options=RunOptions(data=Path(sys.argv[1]), device="cpu"),
                             models=["blocking-test"], seeds=seeds, out=Path(sys.argv[2]), jobs=int(sys.argv[4])),
                  Reporter(lambda text: print(text, flush=True)))
    for r in records:
        print("record", r.model, r.seed, r.status, r.reused or "trained here", flush=True)
"""


def start(
    script: Path, data: Path, out: Path, seeds: str, jobs: int, env: dict[str, str]
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(script), str(data), str(out), seeds, str(jobs)],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the run ended before {what}:\n{proc.stdout.read()}")
        if time.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    script = tmp_path / "blocking_run.py"
    script.write_text(textwrap.dedent(RUNG) + textwrap.dedent(RUN))
    marks = tmp_path / "marks"
    marks.mkdir()
    data = write_ggplot2_csv(tmp_path / "movies.csv", n=120)
    return script, data, {"MARKS": str(marks), "RELEASE": str(tmp_path / "release")}


def test_11_killing_a_parallel_run_kills_its_workers(setup, tmp_path):
    script, data, env = setup
    marks = Path(env["MARKS"])
    parent = start(script, data, tmp_path / "out", "0,1", 2, env)
    try:
        # Both workers are inside fit, training cells nobody will read once the parent is gone.
        wait_for(lambda: len(list(marks.glob("in-fit-*"))) == 2, 90, "two workers in fit", parent)
        children = psutil.Process(parent.pid).children(recursive=True)
        workers = {int(p.name.removeprefix("in-fit-")) for p in marks.glob("in-fit-*")}
        assert workers <= {c.pid for c in children}
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        wait_for(lambda: not any(alive(c) for c in children), 15, "every child process to end")
    finally:
        Path(env["RELEASE"]).touch()  # a surviving worker must not linger after a failure
        parent.kill()
    assert (marks / "trained.log").read_text().count("\n") <= 2
    assert not list((tmp_path / "out").rglob("blocking-test/seed-*.json"))  # nothing finished


def test_14_two_runs_into_one_folder_train_each_cell_once(setup, tmp_path):
    script, data, env = setup
    marks = Path(env["MARKS"])
    out = tmp_path / "out"
    # The first run holds the cell's lock until the second run says it is waiting for it.
    first = start(script, data, out, "0", 1, {**env, "RELEASE": str(marks / "second-waits")})
    try:
        wait_for(lambda: any(marks.glob("in-fit-*")), 60, "the first run to be in fit", first)
        # Were the second run to train the cell itself, its fit would return at once.
        second = start(script, data, out, "0", 1, {**env, "RELEASE": str(script)})
        try:
            second_out, _ = second.communicate(timeout=60)
        finally:
            second.kill()
            (marks / "second-waits").touch()  # release the first run whatever happened
        first_out, _ = first.communicate(timeout=60)
    finally:
        first.kill()
    assert second.returncode == 0, second_out
    assert "waiting: another run is training blocking-test seed 0" in second_out
    assert first.returncode == 0, first_out
    assert "record blocking-test 0 ok made by another run while this one waited" in second_out
    assert "record blocking-test 0 ok trained here" in first_out
    assert (marks / "trained.log").read_text().count("\n") == 1  # one fit, by the first run
    assert len(list(out.rglob("blocking-test/seed-0.json"))) == 1


def test_ctrl_c_under_jobs_stops_quietly(setup, tmp_path):
    """Ctrl-C reaches every process of the terminal's group: the workers leave the stop to
    the parent, which says "aborted" once, with no worker traceback after it."""
    script, data, env = setup
    rung = tmp_path / "blocking_rung.py"
    rung.write_text(textwrap.dedent(RUNG))
    marks = Path(env["MARKS"])
    args = ["--plugins", str(rung), "run", "--task", "tmdb-quality", "--source", "ggplot2movies"]
    args += ["--data", str(data), "--models", "blocking-test", "--seeds", "0,1", "--jobs", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moviebench", *args, "--out", str(tmp_path / "out")],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        wait_for(lambda: len(list(marks.glob("in-fit-*"))) == 2, 90, "two workers in fit", proc)
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        Path(env["RELEASE"]).touch()
        proc.kill()
    assert proc.returncode == 130, output
    assert "aborted" in output and "Traceback" not in output and "KeyboardInterrupt" not in output
