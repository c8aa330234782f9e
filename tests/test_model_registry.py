"""One battery over every registered model and every ladder, in the spirit of scikit-learn's
check_estimator: the folder says the family, ladders only name rungs that can run them and
start with their trivial baseline, params are exactly what was asked for, and fit never
changes them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moviebench.models import MODELS, Model, RunContext
from moviebench.options import RunOptions
from moviebench.prepare import prepare
from moviebench.tasks import TASKS
from tests.fixtures import write_ggplot2_csv

# The package's rungs only: tests register throwaway models of their own.
PACKAGE_MODELS = sorted(
    (m for m in MODELS if m.__module__.startswith("moviebench.models.")), key=lambda m: m.name
)
FOLDER_FAMILY = {
    "baselines": "trivial",
    "classical": "classical",
    "pretrained": "pretrained",
    "deep": "deep",
}
# Cheap enough to fit in a test: tabular rungs (a deep one for one epoch) on a 400-film fixture.
CHEAP_FITS = ["majority", "logreg", "random-forest", "xgboost", "lightgbm", "mlp"]


def ids(models: list[type[Model]]) -> list[str]:
    return [m.name for m in models]


def test_every_rung_of_the_package_is_registered() -> None:
    """Subpackages are walked too: one rung from each folder is found."""
    folders = {m.__module__.split(".")[2] for m in PACKAGE_MODELS}
    assert folders == set(FOLDER_FAMILY)
    assert len({m.name for m in PACKAGE_MODELS}) == len(PACKAGE_MODELS)


@pytest.mark.parametrize("model", PACKAGE_MODELS, ids=ids(PACKAGE_MODELS))
def test_family_is_the_folder(model: type[Model]) -> None:
    if model.family == "pretrained":  # frozen extractors: their precision is in the identity
        assert model.extractor_precision, model.name
    folder = model.__module__.split(".")[2]  # moviebench.models.<folder>[.<module>]
    assert model.family == FOLDER_FAMILY[folder], f"{model.name} lives in {model.__module__}"
    if model.family == "pretrained":
        assert model.pretrained_weights, (
            f"{model.name}: a frozen pretrained encoder starts from borrowed weights"
        )
    if model.family in ("trivial", "classical"):
        assert not model.pretrained_weights
    assert model.summary, f"{model.name} has no summary for `bench ls`"


@pytest.mark.parametrize("task", list(TASKS), ids=lambda t: t.name)
def test_ladder_names_rungs_that_run_the_task_and_starts_trivial(task: Any) -> None:
    for name in task.ladder:
        assert name in MODELS, f"{task.name}: ladder names unknown model {name}"
        assert MODELS.get(name).accepts(task.target, task.inputs), (
            f"{task.name}: {name} cannot run it"
        )
    assert MODELS.get(task.ladder[0]).family == "trivial"
    assert len(set(task.ladder)) == len(task.ladder)


class LowTrial:
    """An Optuna trial stand-in that answers every suggestion with its low end."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def _low(self, name: str, low: Any, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(name)
        return low

    suggest_float = suggest_int = _low

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        self.asked.append(name)
        return choices[0]


@pytest.mark.parametrize("model", PACKAGE_MODELS, ids=ids(PACKAGE_MODELS))
def test_params_are_the_defaults_and_the_search_space_tunes_only_params(model: type[Model]) -> None:
    assert model().params == model.defaults
    assert model(**model.defaults).params == model.defaults
    assert model().fitted_ == {}
    with pytest.raises(ValueError, match="unknown params"):
        model(not_a_param=1)
    trial = LowTrial()
    sampled = model.search_space(trial)
    assert set(sampled) <= set(model.defaults), f"{model.name} tunes params it does not have"
    assert model(**sampled).params == {**model.defaults, **sampled}


@pytest.fixture(scope="module")
def quality(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = write_ggplot2_csv(Path(tmp_path_factory.mktemp("registry")) / "movies.csv")
    return prepare(TASKS.get("tmdb-quality"), RunOptions(source="ggplot2movies", data=path))


@pytest.fixture(scope="module")
def rating(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = write_ggplot2_csv(Path(tmp_path_factory.mktemp("registry")) / "movies.csv")
    return prepare(TASKS.get("tmdb-rating"), RunOptions(source="ggplot2movies", data=path))


def _fit_battery(cls: type[Model], prep: Any) -> np.ndarray:
    """Fit on train, score test: params untouched, fitted_ JSON-able, every row scored."""
    model = cls(context=RunContext(seed=0, epochs=1), **copy.deepcopy(cls.defaults))
    asked = copy.deepcopy(model.params)
    train, val, test = prep.part("train"), prep.part("val"), prep.part("test")
    model.fit(train, val)
    assert model.params == asked == cls.defaults
    scores = model.predict_scores(test)
    assert np.isfinite(scores).all()
    json.dumps(model.fitted_)  # it goes into the record as it is
    if model.history:  # a network: the loop says which epoch it kept
        assert model.fitted_["best_epoch"] == 1 and len(model.history) == 1
    return scores


@pytest.mark.parametrize("name", CHEAP_FITS)
def test_fit_leaves_params_alone_and_scores_every_row(name: str, quality: Any) -> None:
    scores = _fit_battery(MODELS.get(name), quality)
    test = quality.part("test")
    assert scores.shape == (len(test), test.n_outputs)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)  # class probabilities


# Regression: the same battery; a score is one predicted rating per film, in rating units.
CHEAP_REGRESSION_FITS = ["mean-predictor", "ridge", "random-forest", "xgboost", "lightgbm", "mlp"]


@pytest.mark.parametrize("name", CHEAP_REGRESSION_FITS)
def test_regression_rungs_predict_one_number_per_film(name: str, rating: Any) -> None:
    scores = _fit_battery(MODELS.get(name), rating)
    test = rating.part("test")
    assert scores.shape == (len(test),)
    y = rating.part("train").y
    # in the rating's own units: a network's standardised outputs are read back (z-scores
    # left as they are would average about 0, many standard deviations from the mean rating)
    assert abs(scores.mean() - y.mean()) < y.std()


def test_every_target_kind_has_a_trivial_rung_and_a_task() -> None:
    from moviebench.targets import KINDS

    for kind in KINDS.values():
        baseline = MODELS.get(kind.baseline)
        assert baseline.family == "trivial" and baseline.accepts(kind, baseline.inputs)
        assert any(task.target is kind for task in TASKS), f"no task asks for {kind.name}"
    assert TASKS and all(task.baseline == task.target.baseline for task in TASKS)


TORCH_MODELS = [m for m in PACKAGE_MODELS if hasattr(m, "train_config")]


@pytest.mark.parametrize("model", TORCH_MODELS, ids=ids(TORCH_MODELS))
def test_loop_budget_comes_from_the_profile_unless_the_run_sets_one(model: type[Any]) -> None:
    own = model().train_config()
    quick = model.budgets["quick"]
    assert (own.epochs, own.patience, own.batch_size) == (
        quick["epochs"],
        quick["patience"],
        quick["batch_size"],
    )
    assert own.time_budget is None  # the wall clock decides nothing unless asked to
    assert own.lr == model.defaults["lr"]
    run = model(context=RunContext(epochs=2, time_budget=5.0)).train_config()
    assert (run.epochs, run.time_budget) == (2, 5.0)
