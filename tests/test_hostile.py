"""The hostile battery of issue 22: each failure it found, pinned by a test.

Each test names the failure it reproduces (`test_<n>_...`, n as in the issue's list) and
runs on tiny generated fixtures.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from moviebench.errors import BenchError
from moviebench.models.classical.tabular import LogReg
from moviebench.options import SEED_MAX, RunOptions
from tests.fixtures import write_ggplot2_csv
from tests.test_cli import bench, one_line_error
from tests.test_reliability import records_of, run_cli

TASK = "tmdb-quality"


@pytest.fixture
def csv(tmp_path):
    return write_ggplot2_csv(tmp_path / "a.csv", n=150)


# ---- 3. exit codes: 0 only when every asked-for cell finished or was current ----------------


def test_3_one_failed_cell_exits_1_even_with_the_baseline_named(capsys, monkeypatch, csv, tmp_path):
    fit = LogReg.fit

    def fails_on_seed_1(self, train, val):
        if self.context.seed == 1:
            raise RuntimeError("boom")
        return fit(self, train, val)

    monkeypatch.setattr(LogReg, "fit", fails_on_seed_1)
    code, _, err = run_cli(
        capsys, monkeypatch, csv, tmp_path / "out", "--models", "majority,logreg", "--seeds", "0,1"
    )
    assert code == 1
    assert one_line_error(err) == (
        "error: 1 of 4 cell(s) failed: logreg seed 1 (RuntimeError: boom)"
    )


def test_3_every_cell_finished_exits_0(capsys, monkeypatch, csv, tmp_path):
    code, _, err = run_cli(
        capsys, monkeypatch, csv, tmp_path / "out", "--models", "majority,logreg"
    )
    assert code == 0 and err.strip() == ""


def test_3_the_baseline_alone_asked_for_and_failed_exits_1(capsys, monkeypatch, csv, tmp_path):
    from moviebench.models.baselines import Majority

    def broken(self, train, val):
        raise RuntimeError("no")

    monkeypatch.setattr(Majority, "fit", broken)
    code, _, err = run_cli(capsys, monkeypatch, csv, tmp_path / "out", "--models", "majority")
    assert code == 1 and "majority seed 0" in one_line_error(err)


def test_3_a_skipped_rung_is_skipped_not_failed(capsys, monkeypatch, csv, tmp_path):
    from moviebench import api

    class R:  # records as the runner returns them
        def __init__(self, model, status, family="classical", error=None):
            self.model, self.status, self.family, self.error, self.seed = (
                model,
                status,
                family,
                error,
                0,
            )

    records = [R("majority", "ok", "trivial"), R("effnet-logreg", "skipped", error="no weights")]
    assert api.run_failure(records, ["effnet-logreg"]) is None
    assert api.run_skips(records, ["effnet-logreg"]) == (
        "1 cell(s) skipped, not failed: effnet-logreg seed 0 (no weights)"
    )


# ---- 7. impossible settings are refused before any data loads --------------------------------


@pytest.fixture
def no_load(monkeypatch):
    """Fail the test if a source is loaded."""

    def refuse(*args, **kwargs):
        raise AssertionError("data loaded before the options were checked")

    monkeypatch.setattr("moviebench.prepare.load_source", refuse)


@pytest.mark.parametrize("seeds", ["4294967296", "0,99999999999"])
def test_7_seeds_beyond_numpy_range_are_refused_up_front(
    capsys, monkeypatch, csv, tmp_path, no_load, seeds
):
    code, _, err = run_cli(
        capsys, monkeypatch, csv, tmp_path / "out", "--models", "majority,logreg", "--seeds", seeds
    )
    assert code == 2
    assert f"from 0 to {SEED_MAX}" in one_line_error(err) and "--seeds" in err
    assert not list((tmp_path / "out").rglob("seed-*.json"))


def test_7_the_largest_seed_is_accepted(capsys, monkeypatch, csv, tmp_path):
    code, _, err = run_cli(
        capsys, monkeypatch, csv, tmp_path / "out", "--models", "logreg", "--seeds", str(SEED_MAX)
    )
    assert code == 0, err


def test_7_a_split_seed_out_of_range_is_refused():
    with pytest.raises(BenchError, match="--split-seed 4294967296"):
        RunOptions(split_seed=2**32)


def test_7_device_cuda_without_a_gpu_is_refused_up_front(
    capsys, monkeypatch, csv, tmp_path, no_load
):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    code, _, err = run_cli(
        capsys, monkeypatch, csv, tmp_path / "out", "--models", "mlp", "--device", "cuda"
    )
    assert code == 2
    assert "--device cuda: no CUDA device" in one_line_error(err)


@pytest.mark.parametrize(
    "pair", ["image_size=100000", "image_size=5000", "scratch_image_size=8", "image_size=0"]
)
def test_7_image_sizes_are_in_range_whichever_way_given(
    capsys, monkeypatch, tmp_path, no_load, pair
):
    code, _, err = bench(
        capsys,
        monkeypatch,
        "run",
        "--task",
        "poster-genre",
        "--set",
        pair,
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 2
    line = one_line_error(err)
    assert pair.split("=")[0] in line


def test_7_image_size_option_uses_the_same_range(capsys, monkeypatch, tmp_path):
    code, _, err = bench(
        capsys, monkeypatch, "run", "--task", "poster-genre", "--image-size", "2000"
    )
    assert code == 2 and "16<=x<=1024" in one_line_error(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "--seed -1: seeds must be whole numbers"),
        (["--seed", "4294967296"], "--seed 4294967296"),
        (["--sampler-seed", "-3"], "--sampler-seed -3"),
        (["--timeout", "-5"], "--timeout -5: must be a positive number"),
        (["--timeout", "0"], "--timeout 0: must be a positive number"),
    ],
)
def test_7_tune_seeds_and_timeouts_are_refused(
    capsys, monkeypatch, csv, tmp_path, no_load, args, message
):
    code, _, err = bench(
        capsys,
        monkeypatch,
        "tune",
        "--task",
        TASK,
        "--model",
        "logreg",
        "--data",
        str(csv),
        "--out",
        str(tmp_path / "out"),
        *args,
    )
    assert code == 2
    assert message in one_line_error(err)


def test_7_inspect_refuses_negative_min_votes(capsys, monkeypatch, csv):
    code, _, err = bench(
        capsys,
        monkeypatch,
        "data",
        "inspect",
        "--source",
        "ggplot2movies",
        "--data",
        str(csv),
        "--min-votes",
        "-5",
    )
    assert code == 2 and "--min-votes -5" in one_line_error(err)


# ---- 6. --features must be numeric -------------------------------------------------------------


def test_6_a_text_feature_column_is_refused_with_its_type(capsys, monkeypatch, csv, tmp_path):
    code, _, err = run_cli(
        capsys, monkeypatch, csv, tmp_path / "out", "--models", "logreg", "--features", "mpaa"
    )
    assert code == 2
    line = one_line_error(err)
    assert "--features mpaa" in line and "str values" in line and "not numbers" in line


def test_6_a_list_feature_column_is_refused():
    from moviebench.tasks.metadata import numeric_feature

    table = pd.DataFrame({"genres": [["Drama"], ["Comedy", "Drama"]], "year": [1990, 2000]})
    with pytest.raises(BenchError, match=r"holds list values .* numeric columns: year"):
        numeric_feature(table, "genres", "tmdb")


def test_6_numbers_stored_as_text_are_a_numeric_feature():
    from moviebench.tasks.metadata import numeric_feature

    table = pd.DataFrame({"x": ["1.5", "2", None]})
    assert numeric_feature(table, "x", "tmdb").tolist()[:2] == [1.5, 2.0]


def test_6_a_numeric_feature_column_is_used(capsys, monkeypatch, csv, tmp_path):
    code, _, err = run_cli(
        capsys, monkeypatch, csv, tmp_path / "out", "--models", "logreg", "--features", "year"
    )
    assert code == 0, err
    (record,) = records_of(tmp_path / "out", "logreg")
    assert record.status == "ok" and "year" in json.dumps(record.identity)


# ---- 10. smaller ones -------------------------------------------------------------------------


def test_10_numbers_too_large_to_scale_are_missing_like_infinities():
    from moviebench.datasets.base import LoadReport
    from moviebench.datasets.common import missing_if_not_finite

    table = pd.DataFrame({"movie_id": ["1", "2", "3"], "budget": [1e308, -1e200, 5e6]})
    report = LoadReport(source="tmdb", path=None)
    missing_if_not_finite(table, report)
    assert table["budget"].isna().tolist() == [True, True, False]
    assert report.repaired["budget too large to scale set missing"] == 2


def test_10_a_huge_feature_does_not_break_logreg(capsys, monkeypatch, tmp_path):
    path = write_ggplot2_csv(tmp_path / "a.csv", n=150)
    frame = pd.read_csv(path)
    frame["budget"] = frame["budget"].astype(float)
    frame.loc[:19, "budget"] = 1e308
    frame.to_csv(path, index=False)
    code, _, err = run_cli(capsys, monkeypatch, path, tmp_path / "out", "--models", "logreg")
    assert code == 0, err
    (record,) = records_of(tmp_path / "out", "logreg")
    assert record.status == "ok" and math.isfinite(record.primary)


def test_10_duplicate_model_names_train_one_cell(capsys, monkeypatch, csv, tmp_path):
    fits = []
    fit = LogReg.fit

    def counted(self, train, val):
        fits.append(self.context.seed)
        return fit(self, train, val)

    monkeypatch.setattr(LogReg, "fit", counted)
    code, _, err = run_cli(capsys, monkeypatch, csv, tmp_path / "out", "--models", "logreg,logreg")
    assert code == 0, err
    assert fits == [0]


def test_10_json_board_writes_null_for_nan(capsys, monkeypatch, csv, tmp_path):
    out = tmp_path / "out"
    run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    (path,) = list(out.rglob("logreg/seed-0.json"))
    data = json.loads(path.read_text())
    data["fit_seconds"] = float("nan")
    data["metrics"] = {k: float("nan") for k in data["metrics"]}
    path.write_text(json.dumps(data))  # Python writes bare NaN
    code, stdout, err = bench(
        capsys, monkeypatch, "leaderboard", "--task", TASK, "--out", str(out), "--format", "json"
    )
    assert code == 0, err
    assert "NaN" not in stdout
    rows = json.loads(stdout)
    assert any(r["fit_seconds"] is None for r in rows if r["model"] == "logreg")


def test_10_finite_helper_keeps_numbers():
    from moviebench.leaderboard import _finite

    assert _finite({"a": [1.0, np.float64("nan"), float("inf")], "b": "x"}) == {
        "a": [1.0, None, None],
        "b": "x",
    }


# ---- 4. a damaged record or cache is reported and rebuilt, in every command -----------------


def _damage_record(path, how):
    if how == "non-utf8":
        path.write_bytes(path.read_bytes().replace(b'"task"', b'"t\xe9sk"', 1))
    elif how == "primary-as-string":
        data = json.loads(path.read_text())
        data["primary"] = "0.9"
        path.write_text(json.dumps(data))
    elif how == "metrics-as-list":
        data = json.loads(path.read_text())
        data["metrics"] = [1, 2]
        path.write_text(json.dumps(data))


@pytest.mark.parametrize("how", ["non-utf8", "primary-as-string", "metrics-as-list"])
@pytest.mark.parametrize("command", ["leaderboard", "run"])
def test_4_a_damaged_record_is_a_warning_and_a_rebuild(
    capsys, monkeypatch, csv, tmp_path, how, command
):
    out = tmp_path / "out"
    assert run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")[0] == 0
    (path,) = list(out.rglob("logreg/seed-0.json"))
    _damage_record(path, how)
    if command == "run":
        code, stdout, err = run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
        assert code == 0, err
        assert "done logreg" in stdout  # rebuilt
        assert json.loads(path.read_text())["status"] == "ok"
    else:
        code, stdout, err = bench(capsys, monkeypatch, "leaderboard", "--out", str(out))
        assert code == 0, err
    assert "Traceback" not in err
    assert f"warning: {path}" in err


@pytest.mark.parametrize("command", ["leaderboard", "run"])
def test_4_a_truncated_bootstrap_cache_is_rebuilt(capsys, monkeypatch, csv, tmp_path, command):
    out = tmp_path / "out"
    assert run_cli(capsys, monkeypatch, csv, out, "--models", "logreg", "--seeds", "0,1")[0] == 0
    boots = list(out.rglob("*.boot.npz"))
    if not boots:  # the board computes its bootstrap on first render
        bench(capsys, monkeypatch, "leaderboard", "--out", str(out))
        boots = list(out.rglob("*.boot.npz"))
    assert boots
    for boot in boots:
        boot.write_bytes(boot.read_bytes()[:40])
    if command == "run":
        code, _, err = run_cli(
            capsys, monkeypatch, csv, out, "--models", "logreg", "--seeds", "0,1"
        )
    else:
        code, _, err = bench(capsys, monkeypatch, "leaderboard", "--out", str(out))
    assert code == 0, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(line.startswith("warning: ") and "recomputed" in line for line in lines)
    assert all(np.load(boot) is not None for boot in boots)  # rewritten whole


# ---- 8. a write that fails is one line naming the path; nothing half-written -----------------


@pytest.fixture
def results(capsys, monkeypatch, csv, tmp_path):
    out = tmp_path / "out"
    assert run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")[0] == 0
    return out


def test_8_a_full_disk_at_the_manifest_keeps_the_records(capsys, monkeypatch, csv, tmp_path):
    import errno
    from pathlib import Path

    real = Path.write_text

    def full(self, *args, **kwargs):
        if self.name.startswith(".run-manifest"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    assert code == 1  # a failed write, not a usage error
    line = one_line_error(err)
    assert ".run-manifest.json" in line and "No space left on device" in line
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".run-manifest.json"))
    assert records_of(out, "logreg")[0].status == "ok"  # finished records are kept


def test_8_a_too_long_out_name_fails_before_training(capsys, monkeypatch, csv, tmp_path, no_load):
    code, _, err = run_cli(capsys, monkeypatch, csv, tmp_path / ("x" * 300), "--models", "logreg")
    assert code == 2 and "longer than this file system allows" in one_line_error(err)


def test_8_plots_at_a_file_is_one_line(capsys, monkeypatch, results, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("")
    code, _, err = bench(
        capsys, monkeypatch, "leaderboard", "--out", str(results), "--plots", str(target)
    )
    assert code == 1 and str(target) in one_line_error(err) and "File exists" in err


def test_8_html_report_under_a_file_is_one_line(capsys, monkeypatch, results, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("")
    code, _, err = bench(
        capsys, monkeypatch, "report", "--out", str(results), "--html", str(target / "r.html")
    )
    assert code == 1 and str(target) in one_line_error(err)


def test_8_an_unusable_mlflow_uri_is_one_line(capsys, monkeypatch, results):
    pytest.importorskip("mlflow")
    code, _, err = bench(
        capsys,
        monkeypatch,
        "export",
        "mlflow",
        "--out",
        str(results),
        "--tracking-uri",
        "nonsense://x",
    )
    assert code == 2 and "--tracking-uri nonsense://x: MLflow cannot use it" in one_line_error(err)


# ---- 9. labels are text for matplotlib and for markdown ----------------------------------------

DOLLARS = "Money $_$ Films"


def test_9_a_dollar_pair_in_a_label_plots(capsys, monkeypatch, results, tmp_path):
    for path in results.rglob("seed-0.json"):
        data = json.loads(path.read_text())
        data["labels"] = [DOLLARS, "AVG", "GOOD"]
        path.write_text(json.dumps(data))
    code, _, err = bench(
        capsys, monkeypatch, "leaderboard", "--out", str(results), "--plots", str(tmp_path / "p")
    )
    assert code == 0, err
    assert list((tmp_path / "p").glob("*.png"))
    code, _, err = bench(
        capsys, monkeypatch, "report", "--out", str(results), "--html", str(tmp_path / "r.html")
    )
    assert code == 0, err and (tmp_path / "r.html").stat().st_size > 0


def test_9_the_markdown_report_escapes_record_strings(capsys, monkeypatch, csv, tmp_path):
    def broken(self, train, val):
        raise RuntimeError("bad | <b>x</b> $_$ *y*")

    monkeypatch.setattr(LogReg, "fit", broken)
    out = tmp_path / "out"
    run_cli(capsys, monkeypatch, csv, out, "--models", "logreg")
    code, _, err = bench(
        capsys, monkeypatch, "report", "--out", str(out), "--to", str(tmp_path / "r")
    )
    assert code == 0, err
    page = (tmp_path / "r" / "README.md").read_text()
    assert r"bad \| \<b\>x\</b\> \$\_\$ \*y\*" in page
    assert "<b>" not in page


def test_9_md_escape_leaves_plain_text_alone():
    from moviebench.leaderboard import md_escape

    assert md_escape("0.512 ± 0.010") == "0.512 ± 0.010"
    assert md_escape("a\nb") == "a b"


# ---- 10. --jobs 1000 is capped and said so; a MovieLens id '²' is a malformed line ------------


def test_10_jobs_1000_is_capped_by_cells_and_cores(monkeypatch):
    from types import SimpleNamespace

    from moviebench import threads
    from moviebench.executors import lanes

    monkeypatch.setattr(threads, "cores", lambda: 2)
    cells = [SimpleNamespace(model="logreg", seed=s) for s in range(5)]
    assert [(w, n) for _, w, n in lanes(cells, jobs=1000)] == [(2, 1)]
    assert [(w, n) for _, w, n in lanes(cells[:1], jobs=1000)] == [(1, 2)]


def test_10_jobs_1000_says_how_many_workers_it_started(capsys, monkeypatch, csv, tmp_path):
    monkeypatch.setattr("moviebench.threads.cores", lambda: 2)
    code, stdout, err = run_cli(
        capsys,
        monkeypatch,
        csv,
        tmp_path / "out",
        "--models",
        "logreg",
        "--seeds",
        "0,1",
        "--jobs",
        "1000",
    )
    assert code == 0, err
    assert "1000 worker process" not in stdout
    assert "2 worker process(es)" in stdout and "--jobs 1000 capped" in stdout


def test_10_a_superscript_movielens_id_is_a_malformed_line(tmp_path):
    from moviebench.datasets import load_source

    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "movies.dat").write_text(
        "1::Toy Story (1995)::Animation|Comedy\n²::Bad (1990)::Drama\n2::Jumanji (1995)::Adventure\n",
        encoding="latin-1",
    )
    loaded = load_source("movielens-1m", folder)
    assert loaded.table["movie_id"].tolist() == ["1", "2"]
    assert loaded.report.dropped["malformed line (expected MovieID::Title::Genres)"] == 1


def test_6_a_refused_feature_names_every_numeric_column_of_the_rated_films():
    """The task keeps only the columns it reads when it drops unrated films; the refusal
    must still offer every numeric column of the source, not just those."""
    from moviebench.tasks import TaskOptions
    from moviebench.tasks.quality import QualitySettings, metadata_rows

    table = pd.DataFrame(
        {
            "movie_id": ["1", "2", "3"],
            "vote_average": [6.0, 7.0, 5.0],
            "vote_count": [50.0, 80.0, 90.0],
            "box_office": [1.0, 2.0, 3.0],
            "keywords": [["a"], ["b"], ["c"]],
        }
    )
    options = TaskOptions(settings=QualitySettings(), extra_features=("keywords",))
    with pytest.raises(BenchError, match=r"numeric columns: box_office, vote_average"):
        metadata_rows(table, "tmdb", options, "tmdb-quality")
