"""`bench report --html`: one self-contained page, checked in a real (headless) browser."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from moviebench.cli import cli
from moviebench.leaderboard import aggregate, gap_lines, table_rows
from moviebench.options import RunOptions
from moviebench.records import (
    Record,
    load_records,
    predictions_path,
    read_record,
    write_record,
)
from moviebench.report_html import render_page, sort_key
from moviebench.runner import RunRequest, run
from tests.fixtures import write_ggplot2_csv

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
HOSTILE = '<img src=x onerror="alert(1)"> & "quotes"'


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cheap real ladder on the bundled-layout fixture (two seeds), plus the rows a report must
    show apart: a tie (a copy of logreg's records under another name), a failed and a skipped model."""
    root = tmp_path_factory.mktemp("report")
    out = root / "out"
    csv = write_ggplot2_csv(root / "movies.csv")
    records = run(
        RunRequest(
            task="tmdb-quality",
            options=RunOptions(source="ggplot2movies", data=csv),
            models=["logreg"],
            seeds=[0, 1],
            out=out,
        )
    )
    board = Path(records[0].path).parents[1]  # the folder of this board's model folders
    for seed in (0, 1):
        record = read_record(board / "logreg" / f"seed-{seed}.json")
        write_record(
            board / "logreg-copy" / f"seed-{seed}.json",
            {**record.to_dict(), "model": "logreg-copy"},
        )
        shutil.copy(
            predictions_path(board / "logreg" / f"seed-{seed}.json"),
            predictions_path(board / "logreg-copy" / f"seed-{seed}.json"),
        )
    base = {
        k: v
        for k, v in read_record(board / "majority" / "seed-0.json").to_dict().items()
        if k not in ("metrics", "primary", "details", "fit_seconds", "predict_seconds", "n_params")
    }
    write_record(
        board / "broken" / "seed-0.json",
        {
            **base,
            "model": "broken",
            "family": "classical",
            "status": "failed",
            "error": f"RuntimeError: {HOSTILE}",
        },
    )
    write_record(
        board / "needs-weights" / "seed-0.json",
        {
            **base,
            "model": "needs-weights",
            "family": "deep",
            "status": "skipped",
            "error": "no pretrained weights found",
        },
    )
    return out


def test_sort_key_reads_the_number_a_cell_shows() -> None:
    assert sort_key("0.9074 ± 0.0012") == 0.9074
    assert sort_key("+0.7000") == 0.7 and sort_key("-0.0100") == -0.01
    assert sort_key("38.1k") == pytest.approx(38100) and sort_key("1.1M") == pytest.approx(1.1e6)
    assert sort_key("2=") == 2
    assert sort_key("—") is None and sort_key("") is None and sort_key("FAILED") is None
    assert sort_key("logreg") is None


def test_page_has_every_row_escaped_with_provenance_and_embedded_plots(results: Path) -> None:
    records = load_records(results)
    rows = aggregate(records)[("tmdb-quality", "ggplot2movies")]
    page = render_page(
        records, {("tmdb-quality", "ggplot2movies"): [("x-primary.png", b"\x89PNG fake")]}
    )
    # The same cells as the terminal and markdown tables.
    for cells in table_rows(rows)[1]:
        for cell in cells:
            assert f">{html.escape(cell)}</" in page
    assert (
        HOSTILE not in page
        and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &quot;quotes&quot;" in page
    )
    assert page.count('<details id="prov-') == len(rows)
    logreg = next(r for r in records if r.model == "logreg")
    for value in (
        logreg.split_hash,
        logreg.data_fingerprint,
        logreg.git_commit or "—",
        logreg.device,
    ):
        assert value in page
    assert 'class="family-trivial baseline"' in page
    assert "tie" in re.search(r'<tr class="([^"]*)" data-model="logreg-copy"', page).group(1)
    assert 'data-model="broken"' in page and "status-failed" in page and "status-skipped" in page
    assert "data:image/png;base64," in page
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', page)


def _browser() -> str:
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        pytest.skip("no headless Chromium on PATH (apt-get install chromium) to load the report in")
    return found


def _chromium(browser: str, profile: Path, *args: str) -> str:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# Runs in the page after load: what the reader sees, then what two header clicks do.
CHECK = """<script>
window.addEventListener("load", function () {
  function models(t) { return Array.prototype.map.call(t.tBodies[0].rows, function (r) { return r.dataset.model; }); }
  var out = {tables: [], images: []};
  document.querySelectorAll("table.board").forEach(function (t) {
    var link = t.querySelector("a.prov"), target = document.getElementById(link.hash.slice(1));
    var closed = !target.open;
    link.click();
    var entry = {board: t.dataset.board, rows: models(t), details: t.closest("section").querySelectorAll("details").length,
                 link_opens_details: closed && target.open && target.textContent.indexOf("split hash") >= 0,
                 baseline_bg: getComputedStyle(t.querySelector("tr.baseline")).backgroundColor,
                 other_bg: getComputedStyle(t.querySelector("tr:not(.baseline)")).backgroundColor};
    var heads = t.tHead.rows[0].cells;
    heads[1].click(); entry.by_model = models(t);
    heads[1].click(); entry.by_model_desc = models(t);
    heads[heads.length - 1].click(); entry.by_seeds = models(t);
    out.tables.push(entry);
  });
  document.querySelectorAll("img").forEach(function (img) {
    out.images.push({alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
                     shown: img.getBoundingClientRect().width});
  });
  var pre = document.createElement("pre"); pre.id = "check"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def test_report_renders_in_a_real_browser(results: Path, tmp_path: Path) -> None:
    browser = _browser()
    page = tmp_path / "report.html"
    assert (
        CliRunner()
        .invoke(cli, ["report", "--results", str(results), "--html", str(page)])
        .exit_code
        == 0
    )
    checked = tmp_path / "checked.html"
    checked.write_text(page.read_text().replace("</body>", CHECK + "</body>"))
    dom = _chromium(browser, tmp_path / "profile", "--dump-dom", checked.as_uri())
    found = json.loads(
        re.search(r'<pre id="check">(.*?)</pre>', dom, re.S).group(1).replace("&quot;", '"')
    )

    rows = aggregate(load_records(results))[("tmdb-quality", "ggplot2movies")]
    (table,) = found["tables"]
    assert table["board"] == "tmdb-quality/ggplot2movies"
    assert table["rows"] == [r.model for r in rows]  # every row, in leaderboard order
    assert table["details"] == len(rows) and table["link_opens_details"]
    assert table["baseline_bg"] != table["other_bg"]
    # Clicking sorts: text ascending, then descending; a numeric column leaves empty cells last.
    assert table["by_model"] == sorted(table["rows"])
    assert table["by_model_desc"] == sorted(table["rows"], reverse=True)
    assert set(table["by_seeds"][-2:]) == {"broken", "needs-weights"}

    # Every plot is embedded and decoded: primary, Pareto, confusion matrix (no deep rung
    # here), and the summary's cost-versus-gain plot (one board: no critical-difference test).
    stem = "tmdb-quality-ggplot2movies"
    assert sorted(i["alt"] for i in found["images"]) == sorted(
        [
            *(f"{stem}-{kind}.png" for kind in ("confusion", "pareto", "primary")),
            "summary-cost-gain.png",
        ]
    )
    for image in found["images"]:
        assert (
            image["complete"] and image["width"] > 0 and image["height"] > 0 and image["shown"] > 0
        ), image

    shot = tmp_path / "report.png"
    _chromium(
        browser,
        tmp_path / "profile",
        "--window-size=1400,1800",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    with Image.open(shot) as image:
        assert image.size == (1400, 1800)
        assert np.asarray(image.convert("L")).std() > 10  # not a blank page


def test_report_needs_an_output() -> None:
    result = CliRunner().invoke(cli, ["report"])
    assert result.exit_code != 0 and "--html" in result.output


def test_fusion_gap_sentence_is_on_the_page() -> None:
    def rec(model: str, family: str, primary: float) -> Record:
        return Record.from_dict(
            {
                "task": "multimodal-genre",
                "source": "movielens-1m",
                "model": model,
                "family": family,
                "seed": 0,
                "target": "multilabel",
                "primary_metric": "mAP",
                "primary": primary,
                "metrics": {"mAP": primary},
                "status": "ok",
                "split_hash": "s",
                "fit_seconds": 1.0,
                "predict_seconds": 0.1,
                "groups": [
                    {"name": "fusion", "models": ["late-fusion-avg"]},
                    {"name": "single modality", "models": ["tfidf-logreg"]},
                ],
            }
        )

    records = [
        rec("prior", "trivial", 0.1),
        rec("tfidf-logreg", "classical", 0.30),
        rec("late-fusion-avg", "classical", 0.35),
    ]
    page = render_page(records, {})
    (line,) = gap_lines(aggregate(records)[("multimodal-genre", "movielens-1m")])
    assert "late-fusion-avg" in line and "tfidf-logreg" in line and "+0.0500" in line
    assert f"<p class=gap>{html.escape(line[0].upper() + line[1:])}.</p>" in page
