"""bench check: identical records pass, a planted regression or a missing entry fails."""

from __future__ import annotations

import copy
from pathlib import Path

from click.testing import CliRunner

from moviebench.check import compare, save_baseline
from moviebench.cli import cli
from moviebench.records import Record, record_path, write_record


def _record(model: str, primary: float, split: str = "abc123") -> dict:
    return {
        "task": "tmdb-quality",
        "source": "ggplot2movies",
        "model": model,
        "seed": 0,
        "status": "ok",
        "primary_metric": "macro_f1",
        "primary": primary,
        "metrics": {"macro_f1": primary},
        "split_hash": split,
        "family": "classical",
        "target": "multiclass",
    }


def _typed(records: list[dict]) -> list[Record]:
    return [Record.from_dict(r) for r in records]


def _write(out: Path, records: list[dict]) -> None:
    for r in records:
        write_record(record_path(out, r["task"], r["source"], r["model"], r["seed"]), r)


def test_identical_records_pass_and_planted_regression_fails(tmp_path: Path) -> None:
    records = [_record("majority", 0.17), _record("logreg", 0.48), _record("lightgbm", 0.56)]
    save_baseline(_typed(records), tmp_path / "baseline")
    _write(tmp_path / "same", records)
    ok = CliRunner().invoke(
        cli, ["check", "--baseline", str(tmp_path / "baseline"), "--out", str(tmp_path / "same")]
    )
    assert ok.exit_code == 0, ok.output
    assert "check passed" in ok.output

    worse = copy.deepcopy(records)
    worse[2]["primary"] = 0.50  # lightgbm drops by 0.06 > 0.01
    _write(tmp_path / "worse", worse)
    bad = CliRunner().invoke(
        cli, ["check", "--baseline", str(tmp_path / "baseline"), "--out", str(tmp_path / "worse")]
    )
    assert bad.exit_code == 1
    assert "REGRESSION" in bad.output and "lightgbm" in bad.output
    loose = CliRunner().invoke(
        cli,
        [
            "check",
            "--baseline",
            str(tmp_path / "baseline"),
            "--out",
            str(tmp_path / "worse"),
            "--tolerance",
            "0.1",
        ],
    )
    assert loose.exit_code == 0


def test_missing_and_moved_split_are_flagged() -> None:
    base = [_record("logreg", 0.48), _record("lightgbm", 0.56)]
    current = [_record("logreg", 0.48), _record("lightgbm", 0.56, split="other")]
    findings = {f.key[2]: f for f in compare(_typed(base), _typed(current)) if f.kind != "new"}
    assert findings["lightgbm"].kind == "missing" and findings["lightgbm"].fails
    assert "split other" in findings["lightgbm"].message
    failed = _record("logreg", 0.48) | {"status": "failed", "primary": None, "error": "boom"}
    (finding,) = [f for f in compare(_typed(base[:1]), _typed([failed]))]
    assert finding.kind == "missing" and "boom" in finding.message


def test_lower_is_better_metric_direction() -> None:
    base = _typed([_record("logreg", 0.5) | {"primary_metric": "log_loss"}])
    assert (
        compare(base, _typed([_record("logreg", 0.6) | {"primary_metric": "log_loss"}]))[0].kind
        == "regression"
    )
    assert (
        compare(base, _typed([_record("logreg", 0.4) | {"primary_metric": "log_loss"}]))[0].kind
        == "improved"
    )


def test_check_says_how_many_baseline_entries_have_no_record_and_present_only() -> None:
    """A baseline covers several runs: the entries without any record in --out are counted
    in one note, and --present-only checks only what is there."""
    from pathlib import Path

    from moviebench import api
    from moviebench.check import absent_note

    root = Path(__file__).resolve().parents[1] / "results"
    full = api.check(root / "baseline", out=root / "sample")
    absent = [f for f in full.findings if f.absent]
    assert absent and not full.passed
    note = absent_note(full.findings, root / "sample")
    assert note.startswith(f"{len(absent)} of ") and "have no record in" in note
    assert "--present-only" in note and "results/board.sh baseline" in note
    present = api.check(root / "baseline", out=root / "sample", present_only=True)
    assert present.passed and not any(f.absent for f in present.findings)
    assert {f.key[2] for f in present.findings if f.kind == "ok"} >= {"lightgbm", "mlp"}
