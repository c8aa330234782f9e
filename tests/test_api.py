"""moviebench.api as a notebook uses it: data back, no printing, BenchError on mistakes, and
the same answers as the `bench` command on the same records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviebench import api
from moviebench.cli import cli
from moviebench.errors import BenchError, UnknownNameError


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the cheap rungs on tmdb-quality's bundled default source."""
    out = tmp_path_factory.mktemp("api") / "results"
    records = api.run("tmdb-quality", models=["majority", "logreg"], out=out)
    assert [(r.model, r.status) for r in records] == [("majority", "ok"), ("logreg", "ok")]
    return out


def test_run_on_the_bundled_default_returns_its_records(
    results: Path, capsys: pytest.CaptureFixture
) -> None:
    records = api.run("tmdb-quality", models=["majority", "logreg"], out=results)
    assert capsys.readouterr().out == ""  # an API call returns data, it never prints
    assert {r.model for r in records} == {"majority", "logreg"}
    assert all(r.source == "ggplot2movies" and r.task == "tmdb-quality" for r in records)
    assert all(0 <= r.primary <= 1 for r in records)
    assert api.run_failure(records, ["majority", "logreg"]) is None


def test_board_equals_the_leaderboard_command(results: Path) -> None:
    board = api.board(results, task="tmdb-quality")
    cli_run = CliRunner().invoke(
        cli, ["leaderboard", "--task", "tmdb-quality", "--out", str(results), "--format", "json"]
    )
    assert cli_run.exit_code == 0, cli_run.output
    assert json.loads(board.render("json")) == json.loads(cli_run.stdout)
    assert list(board.boards) == [("tmdb-quality", "ggplot2movies")]
    assert "| # | model |" in board.render("md")
    assert board.render("csv").splitlines()[0].startswith("task,source,model")


def test_board_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="no records for tmdb-quality in"):
        api.board(tmp_path, task="tmdb-quality")
    with pytest.raises(UnknownNameError, match="tmdb-quality"):
        api.board(tmp_path, task="tmdb-qualty")


def test_report_writes_and_returns_its_pages(results: Path, tmp_path: Path) -> None:
    written = api.report(results, to=tmp_path / "page")
    assert written.paths == [tmp_path / "page" / "README.md"] and written.plots > 0
    assert "logreg" in written.paths[0].read_text()
    with pytest.raises(api.BadRequest, match="to=DIR"):
        api.report(results)


def test_check_returns_findings_and_verdict(results: Path, tmp_path: Path) -> None:
    bundle, n_records = api.update_baseline(tmp_path / "baseline", results)
    assert bundle.exists() and n_records == 2
    result = api.check(tmp_path / "baseline", results)
    assert result.passed and {f.kind for f in result.findings} == {"ok"}
    missing = api.check(tmp_path / "baseline", tmp_path / "empty")
    assert not missing.passed and {f.kind for f in missing.failures} == {"missing"}


def test_tune_refuses_a_model_and_a_ladder_at_once() -> None:
    with pytest.raises(api.BadRequest, match="either a model or ladder"):
        api.tune("tmdb-quality", model="lightgbm", ladder=True)


def test_listings_name_the_registered_parts() -> None:
    assert "tmdb-quality" in {t.name for t in api.tasks()}
    assert "ggplot2movies" in {s.name for s in api.sources()}
    assert {"majority", "logreg"} <= {m.name for m in api.models()}


def test_report_takes_records_from_out_and_the_page_folder_from_to(
    results: Path, tmp_path: Path
) -> None:
    page = tmp_path / "new"
    result = CliRunner().invoke(cli, ["report", "--out", str(results), "--to", str(page)])
    assert result.exit_code == 0, result.output
    assert (page / "README.md").exists() and not result.stderr


def test_deprecated_results_alias_still_works_with_a_note(results: Path, tmp_path: Path) -> None:
    # The old spelling: --results is the records folder and --out the page's folder.
    page = tmp_path / "old"
    result = CliRunner().invoke(cli, ["report", "--results", str(results), "--out", str(page)])
    assert result.exit_code == 0, result.output
    assert (page / "README.md").exists()
    note = result.stderr.strip().splitlines()
    assert len(note) == 1 and "--results is deprecated" in note[0] and "--to" in note[0]


def test_report_without_a_page_or_html_says_what_to_give(results: Path) -> None:
    result = CliRunner().invoke(cli, ["report", "--out", str(results)])
    assert result.exit_code == 2 and "--to DIR" in result.output
