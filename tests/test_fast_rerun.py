"""A rerun with nothing to do skips loading the data (the run manifest), and only then."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from moviebench import manifest, runner
from moviebench.options import RunOptions
from moviebench.records import predictions_path
from moviebench.runner import RunRequest, run
from tests.fixtures import write_ggplot2_csv


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "movies.csv")


@pytest.fixture
def prepares(monkeypatch) -> list[str]:
    """Counts how often the runner loads and prepares the task."""
    calls: list[str] = []
    real = runner.prepare

    def counting(spec, options):
        calls.append(spec.name)
        return real(spec, options)

    monkeypatch.setattr(runner, "prepare", counting)
    return calls


def request(tiny_csv: Path, out: Path, **kw) -> RunRequest:
    options = RunOptions(source="ggplot2movies", data=tiny_csv)
    return RunRequest(task="tmdb-quality", options=options, models=["logreg"], out=out, **kw)


def test_unchanged_rerun_takes_the_stored_records_without_loading(tiny_csv, tmp_path, prepares):
    first = run(request(tiny_csv, tmp_path / "out"))
    assert (
        prepares == ["tmdb-quality"]
        and manifest.manifest_path(request(tiny_csv, tmp_path / "out")).exists()
    )
    again = run(request(tiny_csv, tmp_path / "out"))
    assert prepares == ["tmdb-quality"]  # not loaded again
    assert [(r.model, r.primary, r.path) for r in again] == [
        (r.model, r.primary, r.path) for r in first
    ]


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


@pytest.mark.parametrize(
    "change",
    [
        "data-mtime",
        "data-size",
        "record-deleted",
        "scores-deleted",
        "record-rewritten",
        "force",
        "other-seeds",
    ],
)
# deleting the test scores on purpose: the warning that says so is expected here
@pytest.mark.filterwarnings("ignore::moviebench.errors.DamagedFileWarning")
def test_any_change_takes_the_normal_path(tiny_csv, tmp_path, prepares, change):
    out = tmp_path / "out"
    records = run(request(tiny_csv, out))
    logreg = Path(next(r.path for r in records if r.model == "logreg"))
    kw = {}
    if change == "data-mtime":
        touch_later(tiny_csv)
    elif change == "data-size":
        stat = tiny_csv.stat()
        with tiny_csv.open("a") as fh:
            fh.write("\n")
        os.utime(
            tiny_csv, ns=(stat.st_atime_ns, stat.st_mtime_ns)
        )  # same time: the size alone tells
    elif change == "record-deleted":
        logreg.unlink()
    elif change == "scores-deleted":
        predictions_path(logreg).unlink()
    elif change == "record-rewritten":
        logreg.write_text(logreg.read_text().replace('"status": "ok"', '"status": "failed"'))
    elif change == "force":
        kw["force"] = True
    elif change == "other-seeds":
        kw["seeds"] = [0, 1]
    again = run(request(tiny_csv, out, **kw))
    assert prepares == ["tmdb-quality"] * 2  # the data was loaded again and each cell checked
    assert {r.model for r in again} == {"majority", "logreg"}
    if change in ("record-deleted", "scores-deleted", "record-rewritten"):
        assert Path(next(r.path for r in again if r.model == "logreg")).exists()  # trained again
        assert predictions_path(logreg).exists()
    # once the normal path has run, the manifest vouches for the new state
    run(request(tiny_csv, out, **kw))
    assert prepares == ["tmdb-quality"] * (3 if change == "force" else 2)


def test_an_edited_module_invalidates_the_manifest(tiny_csv, tmp_path, prepares, monkeypatch):
    run(request(tiny_csv, tmp_path / "out"))
    monkeypatch.setattr(manifest, "code_stamp", lambda: "another version of the code")
    run(request(tiny_csv, tmp_path / "out"))
    assert prepares == ["tmdb-quality"] * 2


def test_a_failed_cell_leaves_no_manifest(tiny_csv, tmp_path, monkeypatch):
    import tests.test_runner  # noqa: F401 - registers test-always-fails

    req = request(tiny_csv, tmp_path / "out")
    req.models = ["test-always-fails"]
    run(req)
    assert not manifest.manifest_path(req).exists()


def test_bootstrap_draws_are_cached_beside_each_record(tiny_csv, tmp_path, monkeypatch):
    from moviebench import board_stats as leaderboard  # where the bootstrap lives
    from moviebench.records import load_records

    run(request(tiny_csv, tmp_path / "out"))
    records = load_records(tmp_path / "out", "tmdb-quality")
    rows = [SimpleNamespace(model=r.model) for r in records]
    first = leaderboard.bootstrap_by_model(rows, records)
    assert set(first) == {"majority", "logreg"}
    calls = []
    real = leaderboard.bootstrap_metric
    monkeypatch.setattr(
        leaderboard, "bootstrap_metric", lambda *a: calls.append(a[0].model) or real(*a)
    )
    again = leaderboard.bootstrap_by_model(rows, records)
    assert calls == [] and all(np.array_equal(first[m], again[m]) for m in first)
    records[0].primary = -1.0  # another record: that one is recomputed
    leaderboard.bootstrap_by_model(rows, records)
    assert calls == [records[0].model]
    leaderboard.bootstrap_by_model(rows, records, resamples=50)  # other draws: all recomputed
    assert sorted(calls[1:]) == ["logreg", "majority"]


def test_a_noop_rerun_from_the_command_line_imports_no_torch(tiny_csv, tmp_path):
    """The CLI's no-op path stays light: listing tasks and reading records needs no torch
    (importing it is most of the old 10 s rerun)."""
    import subprocess
    import sys

    out = tmp_path / "out"
    args = ["run", "--task", "tmdb-quality", "--source", "ggplot2movies", "--data", str(tiny_csv)]
    args += ["--models", "logreg", "--out", str(out)]
    run(request(tiny_csv, out))
    probe = (
        f"import sys\nfrom moviebench.cli import main\nsys.argv = ['bench', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('TORCH', 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "TORCH False" in done.stdout


def test_a_record_of_an_older_layout_beside_the_current_one_counts_once(tiny_csv, tmp_path):
    """Records written before data folders existed sit one level up; a board must not count
    the same seed twice (it showed 'seeds 2' for one seed)."""
    import shutil

    from moviebench.records import load_records

    out = tmp_path / "out"
    (current,) = [r for r in run(request(tiny_csv, out)) if r.model == "logreg"]
    path = Path(current.path)
    legacy = out / "tmdb-quality" / "ggplot2movies" / "logreg" / "seed-0.json"
    legacy.parent.mkdir(parents=True)
    shutil.copy(path, legacy)
    logreg = [r for r in load_records(out, "tmdb-quality") if r.model == "logreg"]
    assert len(logreg) == 1 and logreg[0].primary == current.primary


def test_a_skipped_rung_keeps_the_noop_rerun_until_what_it_lacked_could_be_there(
    tmp_path, prepares, monkeypatch
):
    """resnet18-pretrained without torchvision's checkpoint is skipped: a rerun with nothing
    changed is still answered by the manifest (a ladder with a skipped rung took the slow path
    every time: 13 s at 800 films), and a file dropped into the checkpoint folder sends the
    next run down the normal path, where the rung is tried again; so does installing an
    optional package the rung declares (Model.optional_packages: one more is declared here,
    installed later on a path of its own)."""
    import importlib

    from moviebench.models import MODELS
    from tests.test_image_tasks import write_frames

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    rung = MODELS.get("resnet18-pretrained")
    monkeypatch.setattr(rung, "optional_packages", {"moviebench_test_weights": "image"})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    options = RunOptions(
        source="image-folder",
        data=write_frames(tmp_path / "frames"),
        settings={"image_size": 16},
        device="cpu",
    )

    def again() -> list:
        models = ["majority", "resnet18-pretrained"]
        req = RunRequest(task="frame-id", options=options, models=models, out=tmp_path / "out")
        return [(r.model, r.status) for r in run(req)]

    first = again()
    assert first == [("majority", "ok"), ("resnet18-pretrained", "skipped")]
    assert again() == first and prepares == ["frame-id"]  # not loaded again
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "resnet18-f37072fd.pth").write_bytes(b"not a state dict")
    assert again() == first and prepares == ["frame-id"] * 2  # tried again: still no weights
    assert again() == first and prepares == ["frame-id"] * 2
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "moviebench_test_weights.py").write_text("")
    importlib.invalidate_caches()  # as a new process would find it
    assert again() == first and prepares == ["frame-id"] * 3


def test_a_plugin_rungs_skip_leaves_no_manifest(tiny_csv, tmp_path):
    """A plugin's reason to skip is unknown to the manifest: its cell is tried every time."""
    from moviebench.models import MODELS, Model, SkipModel, register_model

    class SkipsHere(Model):
        name = "test-skips-here"
        family = "classical"
        inputs = frozenset({"tabular"})
        targets = frozenset({"multiclass"})

        def fit(self, train, val):
            raise SkipModel("needs something this machine lacks")

    if SkipsHere.name not in MODELS:
        register_model(SkipsHere)
    req = request(tiny_csv, tmp_path / "out")
    req.models = ["test-skips-here"]
    assert {r.model: r.status for r in run(req)}["test-skips-here"] == "skipped"
    assert not manifest.manifest_path(req).exists()
