"""Issue 39: every entry scored honestly. A model sees inputs only where it is scored, cannot
corrupt another rung's data, returns scores of the task's shape; submissions are probabilities
or say what else they are; a NaN never ranks; a failed rung fails the run however it was
named; `bench check` compares like with like; no kind branches outside targets.py
(tests/test_layers.py). Each test here failed on the main before it."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from moviebench import api
from moviebench.check import compare
from moviebench.errors import DataError
from moviebench.leaderboard import aggregate
from moviebench.models import MODELS
from moviebench.models.classical.tabular import LogReg
from moviebench.records import Record
from moviebench.summary import summarise
from moviebench.testing import ModelCheckFailed, check_model, fixture_tasks
from tests.fixtures import bench, write_ggplot2_csv
from tests.test_cli import one_line_error
from tests.test_external import train_outside

TASK = "tmdb-quality"


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ggplot2_csv(tmp_path_factory.mktemp("data") / "movies.csv", n=200)


@pytest.fixture(autouse=True)
def _registry() -> Iterator[None]:
    """Models a test registers are gone after it."""
    MODELS.names()
    items = dict(MODELS._items)
    yield
    MODELS._items.clear()
    MODELS._items.update(items)


def register(cls: type) -> type:
    MODELS.add(cls.name, cls)
    return cls


def by_model(records: list[Record]) -> dict[str, Record]:
    return {r.model: r for r in records}


class Peeker(LogReg):
    """Answers with the labels of the rows it scores."""

    name = "peeker"

    def predict_scores(self, data: Any) -> np.ndarray:
        return np.eye(data.n_outputs)[data.y]


class Vandal(LogReg):
    """Fits as logreg does, then edits everything it was handed in place."""

    name = "vandal"

    def fit(self, train: Any, val: Any) -> None:
        super().fit(train, val)
        for part in (train, val):
            part.labels.reverse()
            part.columns["tabular"].pop()
            part.scoring["bins"] = [0.0]
            part.y[:] = 0
            part.ids[:] = "x"


class Wide(LogReg):
    """One score column too many."""

    name = "wide"

    def predict_scores(self, data: Any) -> np.ndarray:
        scores = super().predict_scores(data)
        return np.hstack([scores, np.zeros((len(scores), 1))])


# ---- models see inputs only ------------------------------------------------------------------


def test_predict_scores_gets_no_labels(csv: Path, tmp_path: Path) -> None:
    register(Peeker)
    record = by_model(api.run(TASK, models=["peeker"], out=tmp_path, data=csv))["peeker"]
    assert record.status == "failed"
    assert record.error.startswith("LabelsHidden: the validation split's labels are not given")


def test_a_rung_that_edits_its_data_changes_no_other_rung(csv: Path, tmp_path: Path) -> None:
    register(Vandal)
    clean = by_model(api.run(TASK, models=["logreg"], out=tmp_path / "a", data=csv))["logreg"]
    after = by_model(api.run(TASK, models=["vandal", "logreg"], out=tmp_path / "b", data=csv))
    assert after["vandal"].status == "ok"
    assert after["logreg"].labels == clean.labels == ["BAD", "AVG", "GOOD"]
    assert after["logreg"].metrics == clean.metrics


def test_scores_of_the_wrong_shape_fail_the_cell(csv: Path, tmp_path: Path) -> None:
    register(Wide)
    record = by_model(api.run(TASK, models=["wide"], out=tmp_path, data=csv))["wide"]
    assert record.status == "failed"
    assert "predict_scores on the validation split: shape" in record.error
    assert ", 4), expected (" in record.error and ", 3)" in record.error


@pytest.fixture(scope="module")
def quality_prep(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return fixture_tasks(tmp_path_factory.mktemp("fixture"), ["tmdb-quality"])


@pytest.mark.parametrize(
    ("cls", "says"),
    [
        (Peeker, "read the test labels"),
        (Vandal, "edited the data it was given in place"),
        (Wide, "shape"),
    ],
)
def test_check_model_catches_cheats_vandals_and_shapes(
    cls: type, says: str, quality_prep: dict[str, Any]
) -> None:
    with pytest.raises(ModelCheckFailed, match=says):
        check_model(cls, tasks=quality_prep)


# ---- submissions: probabilities, or declared otherwise ---------------------------------------


@pytest.fixture(scope="module")
def submission(csv: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("split")
    split = api.export_split(TASK, folder / "split.csv", data=csv)
    return train_outside(pd.read_csv(split, dtype={"movie_id": str, "split_hash": str}))


def _scores(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("score")]


def test_rows_that_are_not_probabilities_are_refused(
    csv: Path, submission: pd.DataFrame, tmp_path: Path
) -> None:
    bad = submission.copy()
    bad.loc[0, _scores(bad)] = bad.loc[0, _scores(bad)] * 1.5
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="sums to 1.5; each row must be non-negative"):
        api.score(TASK, tmp_path / "bad.csv", "mine", out=tmp_path / "out", data=csv)


def test_logits_are_declared_and_scored_as_their_softmax(
    csv: Path, submission: pd.DataFrame, tmp_path: Path
) -> None:
    submission.to_csv(tmp_path / "p.csv", index=False)
    logs = submission.copy()
    logs[_scores(logs)] = np.log(logs[_scores(logs)])
    logs.to_csv(tmp_path / "logp.csv", index=False)
    with pytest.raises(DataError, match="has a negative score"):
        api.score(TASK, tmp_path / "logp.csv", "mine", out=tmp_path / "out", data=csv)
    probs = api.score(TASK, tmp_path / "p.csv", "probs", out=tmp_path / "out", data=csv)
    logits = api.score(
        TASK, tmp_path / "logp.csv", "logits", out=tmp_path / "out", data=csv, scores="logits"
    )
    assert logits.status == probs.status == "ok"
    assert logits.metrics == pytest.approx(probs.metrics, abs=1e-9)
    assert logits.params["scores"] == "logits" and "scores" not in probs.params


def test_bench_score_refuses_a_declaration_the_kind_cannot_read(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, csv: Path, tmp_path: Path
) -> None:
    frame = pd.DataFrame({"movie_id": ["1"], "split_hash": ["x"], "score": [1.0]})
    frame.to_csv(tmp_path / "r.csv", index=False)
    split = api.export_split("tmdb-rating", tmp_path / "split.csv", data=csv)
    rows = pd.read_csv(split, dtype={"movie_id": str, "split_hash": str})
    rows = rows[rows["part"] != "train"][["movie_id", "split_hash"]].assign(score=6.0)
    rows.to_csv(tmp_path / "r.csv", index=False)
    code, _, err = bench(
        capsys, monkeypatch, "score", "--task", "tmdb-rating", "--data", str(csv),
        "--predictions", str(tmp_path / "r.csv"), "--name", "mine", "--out", str(tmp_path / "o"),
        "--scores", "logits",
    )  # fmt: skip
    assert code == 2
    assert one_line_error(err).endswith("--scores logits: regression scores are read as raw")


# ---- a NaN never ranks, never wins -----------------------------------------------------------


def _record(task: str, model: str, family: str, primary: float) -> Record:
    return Record.from_dict(
        {
            "task": task, "source": "s", "model": model, "seed": 0, "status": "ok",
            "primary_metric": "macro_f1", "primary": primary, "metrics": {"macro_f1": primary},
            "split_hash": "h", "family": family, "target": "multiclass",
        }
    )  # fmt: skip


def _nan_boards() -> list[Record]:
    return [
        _record(task, model, family, primary)
        for task in ("A", "B")
        for model, family, primary in (
            ("broken", "deep", math.nan),  # first in: where a NaN used to stay when sorted
            ("majority", "trivial", 0.2),
            ("logreg", "classical", 0.5),
        )
    ]


def test_a_nan_primary_never_ranks_on_a_board() -> None:
    for rows in aggregate(_nan_boards()).values():
        assert [r.model for r in rows] == ["logreg", "majority", "broken"]
        assert rows[-1].status == "failed" and rows[-1].error == "macro_f1 is nan"


def test_a_nan_primary_never_wins_in_the_summary() -> None:
    result = summarise(_nan_boards(), resamples=20)
    rungs = {e.name: e for e in result.rungs}
    assert rungs["logreg"].won == 2
    assert "broken" not in rungs or rungs["broken"].won == 0


# ---- exit codes from the registered names ----------------------------------------------------

BROKEN = """
from moviebench.models import Model, register_model
from moviebench.models.classical.tabular import LogReg


class Broken(LogReg):
    name = "broken-user"

    def fit(self, train, val):
        raise RuntimeError("boom")


@register_model
class BrokenTrivial(Model):
    name = "broken-trivial"
    family = "trivial"
    inputs = frozenset()

    def fit(self, train, val):
        raise RuntimeError("no prior")
"""


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken_rungs.py"
    path.write_text(textwrap.dedent(BROKEN))
    return path


def test_a_file_class_that_fails_exits_1_named_as_typed(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, csv: Path, broken_file: Path
) -> None:
    spec = f"{broken_file}:Broken"
    code, _, err = bench(
        capsys, monkeypatch, "run", "--task", TASK, "--data", str(csv),
        "--out", str(broken_file.parent / "out"), "--models", spec,
    )  # fmt: skip
    assert code == 1
    assert f"1 of 1 cell(s) failed: {spec} seed 0 (RuntimeError: boom)" in err


def test_a_failing_user_rung_of_family_trivial_counts(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, csv: Path, broken_file: Path
) -> None:
    code, _, err = bench(
        capsys, monkeypatch, "--plugins", str(broken_file), "run", "--task", TASK,
        "--data", str(csv), "--out", str(broken_file.parent / "out"),
        "--models", "logreg,broken-trivial",
    )  # fmt: skip
    assert code == 1
    assert "1 of 2 cell(s) failed: broken-trivial seed 0 (RuntimeError: no prior)" in err


# ---- bench check compares like with like -----------------------------------------------------


def _entry(primary: float, data: str = "aaaa", **more: Any) -> Record:
    return Record.from_dict(
        {
            "task": TASK, "source": "s", "model": "logreg", "seed": 0, "status": "ok",
            "primary_metric": "macro_f1", "primary": primary, "metrics": {"macro_f1": primary},
            "split_hash": "h", "family": "classical", "target": "multiclass",
            "data_fingerprint": data, **more,
        }
    )  # fmt: skip


def test_check_never_averages_two_data_versions() -> None:
    findings = compare([_entry(0.5)], [_entry(0.5), _entry(0.498, data="bbbb")])
    (same,) = [f for f in findings if f.kind != "new"]
    assert same.kind == "ok" and same.current == 0.5
    assert [f.key[5] for f in findings if f.kind == "new"] == ["bbbb"]


@pytest.mark.parametrize(
    ("current", "says"),
    [
        (_entry(0.5, data="bbbb"), "current records use data version bbbb (the baseline's: aaaa)"),
        (_entry(0.5, params={"C": 2.0}), 'current records use params {"C": 2.0}'),
        (_entry(0.5, params_source="tuned: study s trial 3"), "params source tuned: study s"),
    ],
)
def test_check_says_when_the_baseline_entry_has_no_match(current: Record, says: str) -> None:
    base = _entry(0.5, params={"C": 1.0})
    (finding, *_) = compare([base], [current])
    assert finding.kind == "missing" and finding.fails
    assert says in finding.message
