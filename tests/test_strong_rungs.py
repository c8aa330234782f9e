"""The field's strongest rungs (catboost, realmlp, tabm, minilm-finetune): skipped with their
install hint when their package is missing, seeded fits that repeat digit for digit, CatBoost's
one booster over every label, weighted F1 and TabArena's cost unit."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from moviebench import api
from moviebench.leaderboard import aggregate, per_1k_rows, to_json
from moviebench.metrics import get_metric
from moviebench.models import MODELS, RunContext
from moviebench.targets import MULTILABEL
from moviebench.tasks.base import TaskData
from moviebench.testing import _fit_scores, fixture_tasks, write_ggplot2_csv


@pytest.fixture(scope="module")
def preps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return fixture_tasks(tmp_path_factory.mktemp("strong"), ["tmdb-quality", "tmdb-rating"])


@pytest.mark.parametrize(
    ("model", "package"), [("catboost", "catboost"), ("realmlp", "pytabkit"), ("tabm", "pytabkit")]
)
def test_a_missing_tabular_package_skips_the_rung_with_its_hint(
    model: str, package: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    assert MODELS.get(model).optional_packages == {package: "tabular"}
    assert MODELS.get(model).versioned_packages == (package,)
    monkeypatch.setitem(sys.modules, package, None)  # as if not installed
    records = api.run(
        "tmdb-quality",
        models=[model],
        data=write_ggplot2_csv(tmp_path / "m.csv", n=150),
        source="ggplot2movies",
        out=tmp_path / "out",
    )
    (record,) = [r for r in records if r.model == model]
    assert record.status == "skipped"
    assert f"needs {package}" in record.error
    assert "pip install 'moviebench[tabular]'" in record.error


@pytest.mark.parametrize("model", ["catboost", "realmlp", "tabm"])
@pytest.mark.parametrize("task", ["tmdb-quality", "tmdb-rating"])
def test_a_seed_gives_the_same_scores_twice_digit_for_digit(
    model: str, task: str, preps: dict[str, Any]
) -> None:
    first = _fit_scores(MODELS.get(model), preps[task], seed=0)
    assert np.array_equal(first, _fit_scores(MODELS.get(model), preps[task], seed=0))


def test_pytabkit_rungs_record_their_budget_and_leave_torch_threads_alone(
    preps: dict[str, Any],
) -> None:
    import torch

    before = torch.get_num_threads()
    model = MODELS.get("realmlp")(context=RunContext(seed=0, epochs=2))
    model.fit(preps["tmdb-quality"].part("train"), preps["tmdb-quality"].part("val"))
    assert torch.get_num_threads() == before
    assert model.fitted_["epochs"] == 2 and model.fitted_["best_epoch"] in (1, 2)
    assert model.n_params() > 0
    quick = MODELS.get("tabm").resolve_budget("quick", {})
    assert quick["max_steps"] and quick["tabm_k"] == 8  # declared, so in every record
    assert "tabm_k" not in MODELS.get("tabm").resolve_budget("full", {})  # TabM-D's own 32


def test_catboost_answers_every_label_with_one_early_stopped_booster() -> None:
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = np.column_stack([X["a"] > 0, X["b"] > 0.5, (X["a"] + X["b"]) > 0]).astype(int)
    data = TaskData(
        ids=np.arange(n),
        X=X,
        columns={"tabular": ["a", "b"]},
        y=y,
        labels=["x", "y", "z"],
        target=MULTILABEL,
    )
    train, val = data.subset(np.arange(200)), data.subset(np.arange(200, n))
    model = MODELS.get("catboost")(context=RunContext(seed=0), n_estimators=200)
    model.fit(train, val)
    booster = model.pipeline_[-1]
    assert booster.get_params()["loss_function"] == "MultiLogloss"  # not one-vs-rest
    assert model.fitted_["best_round"] <= 200
    scores = model.predict_scores(val)
    assert scores.shape == (100, 3) and ((scores >= 0) & (scores <= 1)).all()
    assert f1_score(val.y, scores >= 0.5, average="micro") > 0.8


def test_catboost_records_the_rounds_cap_that_bound(preps: dict[str, Any]) -> None:
    prep = preps["tmdb-rating"]
    model = MODELS.get("catboost")(context=RunContext(seed=0), n_estimators=3)
    model.fit(prep.part("train"), prep.part("val"))
    assert model.fitted_["capped"] == "3 rounds"


def test_weighted_f1_weights_each_label_by_its_positives() -> None:
    y = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    pred = np.array([[1, 0], [0, 0], [1, 0], [0, 1]])
    f1_first, f1_second = 0.8, 0.0  # label 0: 2 TP, 1 FN; label 1: 0 TP
    expected = (3 * f1_first + 1 * f1_second) / 4
    metric = get_metric("weighted_f1")
    assert metric.higher_is_better and metric.targets == frozenset({"multilabel"})
    assert metric.fn(y, pred) == pytest.approx(expected)


def test_every_multilabel_task_reports_weighted_f1_beside_the_other_f1s() -> None:
    from moviebench.tasks import TASKS

    for task in TASKS:
        if task.target is MULTILABEL:
            assert {"micro_f1", "macro_f1", "samples_f1", "weighted_f1"} <= set(task.metrics)


def test_the_board_shows_training_seconds_per_1000_rows(tmp_path: Any) -> None:
    assert per_1k_rows(2.0, 4000) == 0.5 and per_1k_rows(None, 10) is None
    records = api.run(
        "tmdb-quality",
        models=["logreg"],
        data=write_ggplot2_csv(tmp_path / "m.csv", n=150),
        source="ggplot2movies",
        out=tmp_path / "out",
    )
    rows = next(iter(aggregate(records).values()))
    row = next(r for r in rows if r.model == "logreg")
    (record,) = [r for r in records if r.model == "logreg"]
    assert row.fit_seconds_per_1k == pytest.approx(record.fit_seconds * 1000 / record.n_train)
    assert '"fit_seconds_per_1k"' in to_json({("t", "s"): rows})
