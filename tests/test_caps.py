"""Declared caps that bound work at any size: networks' step caps, tree rungs' row and round
caps. A cap that binds stops at exactly its value and the record says so; one that does not
bind changes no score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moviebench.leaderboard import aggregate, caveats, table_rows
from moviebench.models import MODELS, loop
from moviebench.models.caps import capped_share, subsample_rows
from moviebench.options import CAP_ROWS, IMAGE_CAP_ROWS, RunOptions
from moviebench.prepare import make_context, prepare
from moviebench.records import Record, load_records
from moviebench.runner import RunRequest, run
from moviebench.tasks import TASKS
from tests.fixtures import write_ggplot2_csv

MLP = MODELS.get("mlp")


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ggplot2_csv(tmp_path_factory.mktemp("caps") / "movies.csv", n=300)


def mlp_run(csv: Path, out: Path, monkeypatch: pytest.MonkeyPatch, **budget: Any) -> Record:
    """One mlp cell on tmdb-quality whose quick budget is `budget` (batches of 16, so an
    epoch is several steps, and a patience no epoch count reaches)."""
    quick = {"epochs": 4, "patience": 100, "batch_size": 16, **budget}
    monkeypatch.setattr(MLP, "budgets", {**MLP.budgets, "quick": quick})
    opts = RunOptions(source="ggplot2movies", data=csv)
    records = run(RunRequest(task="tmdb-quality", options=opts, models=["mlp"], out=out))
    (record,) = [r for r in records if r.model == "mlp"]  # the trivial rung always runs too
    assert record.status == "ok", record.error
    return record


def test_a_binding_step_cap_stops_at_exactly_its_steps_and_says_so(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = mlp_run(tiny_csv, tmp_path / "out", monkeypatch, max_steps=20)
    per_epoch = -(-record.n_train // 16)
    assert per_epoch < 20 < 4 * per_epoch  # the cap falls inside an epoch
    assert record.stopped_by == "step_cap" and record.capped == "20 steps"
    assert record.fitted["steps"] == 20 and record.history[-1]["steps"] == 20
    assert record.epochs_done == -(-20 // per_epoch)  # the cut epoch is validated and counted
    assert record.budget["max_steps"] == 20 and record.identity["budget"]["max_steps"] == 20
    # The board marks the row and says why.
    rows = next(iter(aggregate(load_records(tmp_path / "out")).values()))
    _, body = table_rows(rows)
    assert any(cells[1] == "mlp (capped)" for cells in body)
    assert any(line.startswith("capped: mlp (20 steps)") for line in caveats(rows))


def test_a_cap_that_does_not_bind_changes_no_score(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    free = mlp_run(tiny_csv, tmp_path / "free", monkeypatch)
    # Exactly the steps of the epochs: the epochs end training, not the cap.
    exact = loop.quick_step_cap(4, 16, rows=free.n_train)
    for cap in (exact, 10**6):
        capped = mlp_run(tiny_csv, tmp_path / f"cap-{cap}", monkeypatch, max_steps=cap)
        assert capped.metrics == free.metrics and capped.history[-1]["steps"] == exact
        assert capped.stopped_by == free.stopped_by == "epochs" and capped.capped is None
        assert capped.identity != free.identity  # the cap is part of what made the result
    early = mlp_run(tiny_csv, tmp_path / "early", monkeypatch, epochs=50, patience=1)
    assert early.stopped_by == "early_stopping" and early.epochs_done < 50


def test_every_quick_budget_caps_steps_beyond_the_cap_rows_and_full_is_uncapped() -> None:
    networks = [m for m in MODELS if issubclass(m, loop.TorchModel)]
    assert networks
    for model in networks:
        quick, full = model.budgets["quick"], model.budgets["full"]
        # An image costs ~100x a table row: image rungs' caps bind from IMAGE_CAP_ROWS images.
        # A rung may declare its own (a fine-tuned transformer's texts: `cap_rows`).
        rows = getattr(model, "cap_rows", None) or (
            IMAGE_CAP_ROWS if "image" in model.inputs else CAP_ROWS
        )
        assert quick["max_steps"] == loop.quick_step_cap(
            quick["epochs"], quick["batch_size"], rows
        ), model.name
        assert quick.get("max_train_rows", rows) == rows, model.name
        assert "max_train_rows" not in full, model.name
        assert "max_steps" not in full, model.name
        assert model().train_config().max_steps == quick["max_steps"]
    # The baseline's largest training split (32,807 rows) trains every epoch under the cap.
    mlp = MLP.budgets["quick"]
    assert mlp["max_steps"] >= mlp["epochs"] * -(-CAP_ROWS // mlp["batch_size"])
    assert "≤2,940 steps" in loop.describe_budget(MLP.resolve_budget("quick", {}))


def test_a_training_row_cap_fits_a_network_on_a_seeded_subsample_and_says_so(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`max_train_rows` (effnet-finetune's quick budget): the loop trains on that many rows,
    so 4 epochs of batches of 16 over 100 rows are 4 x 7 steps."""
    record = mlp_run(tiny_csv, tmp_path / "rows", monkeypatch, max_train_rows=100)
    assert record.n_train > 100
    assert record.capped == f"100 training rows (of {record.n_train:,})"
    assert record.fitted["steps"] == 4 * 7 and record.stopped_by == "epochs"
    assert record.identity["budget"]["max_train_rows"] == 100
    again = mlp_run(tiny_csv, tmp_path / "again", monkeypatch, max_train_rows=100)
    assert again.metrics == record.metrics  # the subsample is seeded
    both = mlp_run(tiny_csv, tmp_path / "both", monkeypatch, max_train_rows=100, max_steps=10)
    assert both.capped == f"100 training rows (of {both.n_train:,}); 10 steps"
    assert "≤100 training rows" in loop.describe_budget(both.budget)


def rows_each_classifier_fits_on(
    csv: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, list[np.ndarray]]:
    """tmdb-quality prepared on `csv`, and the ids of the training rows each image-feature
    classifier is then fitted on (the scikit-learn fit itself replaced by a note of them)."""
    from moviebench.models.classical import image

    seen: list[np.ndarray] = []
    monkeypatch.setattr(
        image.FeatureClassifier, "fit", lambda self, train, val: seen.append(train.ids)
    )
    prep = prepare(TASKS.get("tmdb-quality"), RunOptions(source="ggplot2movies", data=csv))
    return prep, seen


def test_the_pretrained_probes_cap_their_training_images_under_quick_only(
    tiny_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Featurising is a probe's cost: quick fits on at most max_train_rows images, full on all."""
    prep, seen = rows_each_classifier_fits_on(tiny_csv, monkeypatch)
    train = prep.part("train")
    for name in ("effnet-logreg", "effnet2-logreg", "effnet-concat-logreg"):
        probe = MODELS.get(name)
        assert probe.defaults["max_train_rows"] == IMAGE_CAP_ROWS
        seen.clear()
        for profile in ("quick", "quick", "full"):
            context = make_context(prep, seed=0)
            context.profile = profile
            model = probe(context=context, max_train_rows=50)
            model.fit(train, prep.part("val"))
            if profile == "quick":
                assert model.fitted_["capped"] == f"50 training rows (of {len(train.y):,})"
        assert len(seen[0]) == 50 and np.array_equal(seen[0], seen[1])  # seeded
        assert np.array_equal(seen[2], train.ids)  # full: every training image


def test_row_caps_leave_small_splits_alone_and_bound_large_ones() -> None:
    assert capped_share(0.8, 50_000, 40_000) == 0.8
    assert capped_share(0.8, 640_000, 40_000) == pytest.approx(40_000 / 640_000)
    assert capped_share(0.8, 640_000, None) == 0.8
    assert subsample_rows(100, 100, seed=0) is None
    rows = subsample_rows(1000, 100, seed=3)
    assert rows is not None and len(np.unique(rows)) == 100 and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, subsample_rows(1000, 100, seed=3))  # seeded


def fit_tree_rung(csv: Path, name: str, **params: Any) -> tuple[Any, np.ndarray]:
    prep = prepare(TASKS.get("tmdb-quality"), RunOptions(source="ggplot2movies", data=csv))
    cls = MODELS.get(name)
    model = cls(context=make_context(prep, seed=0), **{**cls.defaults, **params})
    model.fit(prep.part("train"), prep.part("val"))
    return model, model.predict_scores(prep.part("test"))


@pytest.mark.parametrize("name", ["random-forest", "lightgbm", "xgboost"])
def test_tree_row_caps_bind_only_above_their_rows(tiny_csv: Path, name: str) -> None:
    small = {"n_estimators": 20} if name == "random-forest" else {"n_estimators": 30}
    default, scores = fit_tree_rung(tiny_csv, name, **small)
    uncapped, free_scores = fit_tree_rung(tiny_csv, name, **small, max_tree_rows=0)
    assert "capped" not in default.fitted_ or "rows" not in default.fitted_["capped"]
    assert np.array_equal(scores, free_scores)  # a cap that does not bind changes nothing
    capped, capped_scores = fit_tree_rung(tiny_csv, name, **small, max_tree_rows=50)
    assert "50 rows per tree" in capped.fitted_["capped"]
    assert not np.array_equal(scores, capped_scores)


def test_boosting_records_its_rounds_and_when_the_round_cap_bound(tiny_csv: Path) -> None:
    model, _ = fit_tree_rung(tiny_csv, "lightgbm", n_estimators=3, learning_rate=0.001)
    assert model.fitted_["capped"] == "3 rounds" and model.fitted_["best_round"] <= 3


def test_an_svm_trains_on_a_seeded_subsample_beyond_its_cap(
    tiny_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prep, seen = rows_each_classifier_fits_on(tiny_csv, monkeypatch)
    train = prep.part("train")
    svm = MODELS.get("hist-svm")
    assert svm.defaults["max_train_rows"] == 20_000
    for cap in (50, 50, len(train.y)):
        model = svm(context=make_context(prep, seed=0), max_train_rows=cap)
        model.fit(train, prep.part("val"))
    assert len(seen[0]) == 50 and np.array_equal(seen[0], seen[1])  # seeded
    assert set(seen[0]) <= set(train.ids) and np.array_equal(seen[2], train.ids)


def test_an_svm_over_too_many_classes_is_skipped_saying_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """frame-id at 800 films: one-vs-one over 800 classes would not fit in memory, so the
    rung is skipped with the reason; up to max_classes it fits as before."""
    import pandas as pd

    from moviebench.models import RunContext, SkipModel
    from moviebench.targets import MULTICLASS
    from moviebench.tasks.base import TaskData

    def frames(films: int) -> TaskData:
        n = 2 * films
        return TaskData(
            ids=np.array([str(i) for i in range(n)]), X=pd.DataFrame({"image": [""] * n}),
            columns={"image": ["image"]}, y=np.arange(n) % films,
            labels=[f"film{i}" for i in range(films)], target=MULTICLASS, notes=[],
        )  # fmt: skip

    svm = MODELS.get("hist-svm")
    with pytest.raises(SkipModel, match=r"800 classes: .* 319,600 binary SVMs"):
        svm(context=RunContext()).fit(frames(800), frames(800))
    with pytest.raises(SkipModel, match="max_classes=5"):
        svm(context=RunContext(), max_classes=5).fit(frames(6), frames(6))
    from moviebench.models.classical import image

    fitted: list[int] = []
    monkeypatch.setattr(
        image.FeatureClassifier, "fit", lambda self, train, val: fitted.append(len(train.labels))
    )
    svm(context=RunContext(), max_classes=5).fit(frames(5), frames(5))
    assert fitted == [5]  # at the cap: fitted, not skipped
