"""One battery over every registered model and every ladder, in the spirit of scikit-learn's
check_estimator: the folder says the family, ladders only name rungs that can run them and
start with their trivial baseline, params are exactly what was asked for, and fit never
changes them."""

from __future__ import annotations

from typing import Any

import pytest

from moviebench.models import MODELS, Model, RunContext
from moviebench.tasks import TASKS
from moviebench.testing import ModelCheckFailed, check_model, fixture_tasks

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
# Cheap enough to fit in a test: tmdb-quality's ladder, as the task declares it (a deep rung
# for one epoch), on a 400-film fixture; its sequence network alone takes minutes. The
# fine-tuned transformer joins them, on the text fixture.
CHEAP_FITS = [m for m in TASKS.get("tmdb-quality").ladder if m != "cnn-lstm"] + ["minilm-finetune"]


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


@pytest.mark.parametrize("model", PACKAGE_MODELS, ids=ids(PACKAGE_MODELS))
def test_params_are_the_defaults_and_the_search_space_tunes_only_params(model: type[Model]) -> None:
    check_model(model, fit=False)


@pytest.fixture(scope="module")
def fixture_preps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return fixture_tasks(tmp_path_factory.mktemp("registry"))


# Cheap enough to fit in a test: tabular rungs (a deep one for one epoch) on a 400-film
# fixture, for classes (tmdb-quality), a number (tmdb-rating) and genres from titles
# (title-genre).
@pytest.mark.parametrize(
    "name",
    sorted({*CHEAP_FITS, "mean-predictor", "ridge", "prior", "tfidf-logreg"}),
    ids=lambda n: n,
)
def test_check_model_passes_on_cheap_rungs(name: str, fixture_preps: dict[str, Any]) -> None:
    fitted = check_model(MODELS.get(name), tasks=fixture_preps)
    assert fitted, f"{name} was fitted on no fixture task"


def test_check_model_says_why_a_fit_that_changes_params_fails(
    fixture_preps: dict[str, Any],
) -> None:
    class Greedy(MODELS.get("logreg")):  # type: ignore[misc, valid-type]
        name = "greedy-logreg"

        def fit(self, train: Any, val: Any) -> None:
            super().fit(train, val)
            self.params["C"] = 99.0

    with pytest.raises(ModelCheckFailed, match=r"fit on tmdb-quality: changed its params"):
        check_model(Greedy, tasks=fixture_preps)


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


def test_rungs_declare_their_optional_and_versioned_packages() -> None:
    """A rung names the extra that installs each optional package it imports (the skip's
    install hint) and the packages whose versions its records keep: no central table."""
    from pathlib import Path

    import tomllib

    from moviebench.records import CORE_PACKAGES, package_versions

    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    extras = set(tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"])
    for model in PACKAGE_MODELS:
        assert set(model.optional_packages.values()) <= extras, model.name
        assert not set(model.versioned_packages) & set(CORE_PACKAGES), model.name
    assert MODELS.get("minilm-logreg").optional_packages["sentence_transformers"] == "text"
    assert "lightgbm" in MODELS.get("lightgbm").versioned_packages
    assert "lightgbm" in package_versions(("lightgbm",))
    assert "lightgbm" not in package_versions()  # only the rungs that use it keep it
