"""`bench forget` removes records with their files, and check_model reports a model's own
exception as one paragraph with the fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviebench.cli import cli
from moviebench.errors import BenchError
from moviebench.records import forget, load_records
from moviebench.testing import ModelCheckFailed, check_model

SAMPLE = Path(__file__).resolve().parents[1] / "results" / "sample"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    shutil.copytree(SAMPLE, folder)
    (folder / "tmdb-quality" / ".run-manifest.json").write_text("{}")
    return folder


def _fail(path: Path) -> None:
    data = json.loads(path.read_text())
    data.update(status="failed", error="ValueError: Input X contains NaN.", metrics={})
    data["primary"] = None
    path.write_text(json.dumps(data))


def test_forget_failed_removes_only_failed_records_and_their_files(out: Path) -> None:
    logreg = next(out.rglob("logreg/seed-0.json"))
    _fail(logreg)
    assert any(r.status == "failed" for r in load_records(out, "tmdb-quality"))
    result = CliRunner().invoke(
        cli, ["forget", "--task", "tmdb-quality", "--failed", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "1 record(s) removed" in result.output
    assert not logreg.exists() and not logreg.with_suffix(".npz").exists()
    assert not (out / "tmdb-quality" / ".run-manifest.json").exists()  # the next run rechecks
    assert {r.model for r in load_records(out, "tmdb-quality")} == {
        "majority", "random-forest", "xgboost", "lightgbm", "catboost", "mlp", "cnn-lstm",
        "realmlp", "tabm",
    }  # fmt: skip


def test_forget_model_and_refuses_nothing_named(out: Path) -> None:
    removed = forget(out, "tmdb-quality", ["mlp", "xgboost"])
    assert sorted(r.model for r in removed) == ["mlp", "xgboost"]
    with pytest.raises(BenchError, match="--model"):
        forget(out, "tmdb-quality")


def test_check_model_reports_a_crash_as_one_paragraph_with_the_fix() -> None:
    from moviebench.models import Model
    from moviebench.targets import MULTICLASS

    class NoImpute(Model):
        name = "no-impute"
        family = "classical"
        inputs = frozenset({"tabular"})
        targets = frozenset({MULTICLASS})

        def fit(self, train, val):
            from sklearn.linear_model import RidgeClassifier

            self.model_ = RidgeClassifier().fit(train.tabular(), train.y)

        def predict_scores(self, data):
            return self.model_.decision_function(data.tabular())

    with pytest.raises(ModelCheckFailed) as info:
        check_model(NoImpute)
    message = str(info.value)
    assert "\n" not in message
    assert "fit/predict_scores on tmdb-quality: raised ValueError: Input X contains NaN" in message
    assert "test_forget.py" in message and "in fit" in message  # where in the model's code
    assert "Fix:" in message and "SimpleImputer" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_split_export_to_and_deprecated_out(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "split.csv"
    for flag in ("--to", "--out"):
        result = runner.invoke(
            cli, ["split", "export", "--task", "tmdb-quality", flag, str(target)]
        )
        assert result.exit_code == 0, result.output
        assert target.exists()
        target.unlink()
    assert "deprecated" in result.output


def test_bench_ls_describes_a_plugin_by_its_docstring() -> None:
    from moviebench.catalog import model_description
    from moviebench.models import MODELS, Model

    class Documented(Model):
        """Extra trees on the metadata.

        More detail that bench ls leaves out."""

    class Summarised(Documented):
        summary = "its own summary"

    class Bare(Model):
        pass

    assert model_description(Documented) == "Extra trees on the metadata."
    assert model_description(Summarised) == "its own summary"
    assert model_description(Bare) == ""
    assert model_description(MODELS.get("logreg")) == MODELS.get("logreg").summary
