"""One metric registry: the board, the bootstrap and the task specs all read it.

The fixtures have tied scores and a constant-score "prior" on purpose: ties are where a
re-implementation of a metric used to drift from scikit-learn's.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn import metrics as skm

from moviebench import metrics
from moviebench.errors import UnknownNameError
from moviebench.leaderboard import aggregate, bootstrap_metric
from moviebench.records import Record, record_path, write_predictions
from moviebench.targets import MULTICLASS, MULTILABEL, target_kind
from moviebench.tasks import TASKS

LABELS = list("abcde")


def _fixture(target: str, prior: bool) -> dict:
    """Test (and for multi-label, validation) rows of one target kind; scores rounded to one
    decimal so many tie; `prior` gives every row the same scores."""
    rng = np.random.default_rng(7)
    n = 60
    if target == "multiclass":
        y = rng.integers(0, 4, n)
        s = np.round(rng.dirichlet(np.ones(4), n), 1) + 0.01
        s = np.tile([0.4, 0.3, 0.2, 0.1], (n, 1)) if prior else s / s.sum(axis=1, keepdims=True)
        return {"y": y, "scores": s}
    if target == "multilabel":
        y = (rng.random((n, 5)) < [0.5, 0.3, 0.2, 0.1, 0.0]).astype(
            int
        )  # the last label never occurs
        y_val = (rng.random((n, 5)) < 0.3).astype(int)
        s, s_val = np.round(rng.random((2, n, 5)) * 0.6 + 0.3 * np.stack([y, y_val]), 1)
        if prior:
            s, s_val = np.tile(y_val.mean(axis=0), (n, 1)), np.tile(y_val.mean(axis=0), (n, 1))
        return {"y": y, "scores": s, "y_val": y_val, "s_val": s_val}
    if target == "regression":  # ratings in tenths, as TMDB gives them; many tie
        y = np.round(rng.normal(6.2, 1.2, n), 1)
        s = np.full(n, 6.0) if prior else np.round(y + rng.normal(0, 0.8, n), 1)
        return {"y": y, "scores": s}
    sim = np.zeros((n, n)) if prior else np.round(rng.random((n, n)) + 0.3 * np.eye(n), 1)
    return {"y": np.arange(n), "scores": sim}


# What a task hands its kind's evaluator beyond y: tmdb-rating's bins (the others ignore it).
SCORING = {"bins": [5.5, 6.6]}


def _cases() -> list[tuple[str, str, bool]]:
    every = [*metrics.METRICS.values(), metrics.get_metric("map@2"), metrics.get_metric("top3")]
    return [
        (m.name, target, prior)
        for m in every
        for target in sorted(m.targets)
        for prior in (False, True)
    ]


def _board(name: str, target: str, fx: dict) -> metrics.Evaluation:
    return target_kind(target).evaluate(
        fx["y"],
        fx["scores"],
        labels=LABELS,
        y_val=fx.get("y_val"),
        s_val=fx.get("s_val"),
        metrics=[name],
        scoring=SCORING,
    )


@pytest.mark.parametrize(("name", "target", "prior"), _cases())
def test_bootstrap_at_unit_weights_equals_the_board(name: str, target: str, prior: bool) -> None:
    fx = _fixture(target, prior)
    ev = _board(name, target, fx)
    assert list(ev.metrics) == [name]
    record = SimpleNamespace(target=target, primary_metric=name, details=ev.details)
    unit = bootstrap_metric(record, fx, np.ones((1, len(fx["y"]))))
    assert unit is not None
    assert unit[0] == pytest.approx(ev.metrics[name], abs=1e-9)


@pytest.mark.parametrize(("name", "target", "prior"), _cases())
def test_count_weights_score_the_rows_copied_out(name: str, target: str, prior: bool) -> None:
    """A bootstrap count weight means the row drawn that many times: the weighted score is the
    score of the resample written out row by row, classes absent from it included."""
    fx = _fixture(target, prior)
    rng = np.random.default_rng(1)
    n = len(fx["y"])
    counts = rng.multinomial(n, np.full(n, 1 / n), size=3).astype(float)
    thresholds = (
        metrics.choose_thresholds(fx["y_val"], fx["s_val"]) if target == "multilabel" else None
    )
    kind = target_kind(target)
    weighted = kind.resampled(name, fx["y"], fx["scores"], counts, thresholds, SCORING)
    metric = metrics.get_metric(name)
    for value, c in zip(weighted, counts.astype(int)):
        rows = np.repeat(np.arange(n), c)
        if target == "retrieval":  # the candidates stay; only queries are drawn
            copied = metric.fn(fx["y"][rows], metrics.retrieval_ranks(fx["scores"])[rows])
        else:
            copied = kind.compute([name], fx["y"][rows], fx["scores"][rows], thresholds, SCORING)[
                name
            ]
        assert value == pytest.approx(copied, abs=1e-9)


@pytest.mark.parametrize("prior", [False, True])
def test_map_is_sklearns_average_precision_per_label(prior: bool) -> None:
    """mAP is computed in one call through label-ranking AP; it must be, label by label,
    sklearn's average precision (tied scores one threshold), with or without count weights."""
    fx = _fixture("multilabel", prior)
    present = fx["y"].sum(axis=0) > 0
    for w in (None, np.random.default_rng(2).multinomial(60, np.full(60, 1 / 60)).astype(float)):
        per_label = [
            skm.average_precision_score(fx["y"][:, j], fx["scores"][:, j], sample_weight=w)
            for j in np.flatnonzero(present)
        ]
        value = metrics.mean_average_precision(fx["y"], fx["scores"], sample_weight=w)
        assert value == pytest.approx(np.mean(per_label), abs=1e-12)
    with pytest.raises(ValueError, match="count weights"):
        metrics.mean_average_precision(fx["y"], fx["scores"], sample_weight=np.full(60, 0.5))


def test_validation_score_works_for_every_metric_and_is_signed() -> None:
    for name, target, prior in _cases():
        fx = _fixture(target, prior)
        kind = target_kind(target)
        value = kind.validation_score(name, fx["y"], fx["scores"], SCORING)
        board = kind.compute(
            [name],
            fx["y"],
            fx["scores"],
            metrics.choose_thresholds(fx["y"], fx["scores"]) if target == "multilabel" else None,
            SCORING,
        )
        assert np.isfinite(value)
        assert value == pytest.approx(
            board[name] if metrics.higher_is_better(name) else -board[name]
        )


def test_direction_and_applicability_come_from_the_registry() -> None:
    assert not metrics.higher_is_better("log_loss") and not metrics.higher_is_better("hamming_loss")
    assert metrics.higher_is_better("mAP") and metrics.higher_is_better("map@10")
    with pytest.raises(UnknownNameError, match="did you mean"):
        metrics.higher_is_better("mAp")
    with pytest.raises(ValueError, match="not multilabel"):
        target_kind("multilabel").check_metrics(["ordinal_mse"])


def test_evaluate_computes_exactly_the_declared_metrics() -> None:
    fx = _fixture("multiclass", prior=False)
    ev = MULTICLASS.evaluate(fx["y"], fx["scores"], labels=LABELS, metrics=["accuracy", "log_loss"])
    assert list(ev.metrics) == ["accuracy", "log_loss"]
    assert "ordinal_mse" in MULTICLASS.evaluate(fx["y"], fx["scores"], labels=LABELS).metrics


# ---- a constant-score rung (the label prior) in the bootstrap --------------------------------


def _ordered_genre_fixture() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """400 films whose positives come first in row order: ranking tied scores by row order
    would hand the constant-score prior a perfect AP."""
    rng = np.random.default_rng(3)
    n, rates = 400, np.array([0.3, 0.2, 0.1])
    y = (rng.random((n, 3)) < rates).astype(int)
    y = y[np.argsort(-y.sum(axis=1), kind="stable")]
    prior = np.tile(rates, (n, 1))
    good = np.clip(0.35 * y + rng.random((n, 3)) * 0.65, 0, 1)
    return y, prior, good


def test_a_constant_score_gets_the_same_map_in_the_bootstrap_as_on_the_board() -> None:
    y, prior, _ = _ordered_genre_fixture()
    board = MULTILABEL.score(y, prior, labels=list("abc"), thresholds=np.full(3, 0.5)).metrics[
        "mAP"
    ]
    assert board == pytest.approx(y.mean(axis=0).mean())  # one threshold: AP = prevalence
    record = SimpleNamespace(
        target="multilabel", primary_metric="mAP", details={"thresholds": [0.5] * 3}
    )
    unit = bootstrap_metric(record, {"y": y, "scores": prior}, np.ones((1, len(y))))
    assert unit[0] == pytest.approx(board, abs=1e-12)


def test_a_clearly_better_model_is_not_tied_with_the_prior(tmp_path: Path) -> None:
    y, prior, good = _ordered_genre_fixture()
    ids = np.array([f"m{i}" for i in range(len(y))])
    records = []
    for model, family, scores in (("prior", "trivial", prior), ("good", "classical", good)):
        ev = MULTILABEL.score(y, scores, labels=list("abc"), thresholds=np.full(3, 0.5))
        path = record_path(tmp_path, "t", "s", model, 0)
        write_predictions(path, ids=ids, y=y, scores=scores)
        record = Record.from_dict(
            {
                "task": "t",
                "source": "s",
                "model": model,
                "seed": 0,
                "family": family,
                "target": "multilabel",
                "primary_metric": "mAP",
                "primary": ev.metrics["mAP"],
                "metrics": ev.metrics,
                "details": ev.details,
                "status": "ok",
            }
        )
        record.path = path
        records.append(record)
    rows = aggregate(records)[("t", "s")]
    assert [r.model for r in rows] == ["good", "prior"]
    assert rows[1].tie is False
    low, high = rows[1].diff_ci
    assert (
        0 < low < rows[0].primary - rows[1].primary < high
    )  # the interval brackets the board's gap


# ---- task specs declare only metrics that apply ------------------------------------------------


def test_every_registered_task_declares_known_metrics_for_its_target() -> None:
    for spec in TASKS:
        spec.target.check_metrics(spec.metrics)
        assert spec.primary_metric in spec.metrics
    # film indices have no order: frame-id must not report an ordinal error over them
    assert "ordinal_mse" not in TASKS.get("frame-id").metrics
    assert "ordinal_mse" in TASKS.get("tmdb-quality").metrics


def test_a_task_spec_with_a_wrong_metric_declaration_raises() -> None:
    spec = TASKS.get("tmdb-quality")
    with pytest.raises(ValueError, match="primary metric 'mAP' is not among"):
        replace(spec, primary_metric="mAP")
    with pytest.raises(ValueError, match="task tmdb-quality: metric 'mAP' applies to multilabel"):
        replace(spec, metrics=(*spec.metrics, "mAP"))
    with pytest.raises(UnknownNameError):
        replace(spec, metrics=(*spec.metrics, "macro-f1"))


def test_regression_metrics_are_the_textbook_ones() -> None:
    """RMSE, MAE, R² and Spearman as scikit-learn and scipy define them; the binned F1 is the
    macro F1 of true and predicted values cut at the task's bins."""
    from scipy.stats import spearmanr

    fx = _fixture("regression", prior=False)
    y, s = fx["y"], fx["scores"]
    ev = target_kind("regression").evaluate(y, s, scoring=SCORING)
    assert ev.metrics["rmse"] == pytest.approx(np.sqrt(np.mean((y - s) ** 2)))
    assert ev.metrics["mae"] == pytest.approx(np.mean(np.abs(y - s)))
    assert ev.metrics["r2"] == pytest.approx(skm.r2_score(y, s))
    assert ev.metrics["spearman"] == pytest.approx(spearmanr(y, s).statistic)
    binned = skm.f1_score(np.digitize(y, [5.5, 6.6]), np.digitize(s, [5.5, 6.6]), average="macro")
    assert ev.metrics["binned_macro_f1"] == pytest.approx(binned)
    assert np.asarray(ev.details["confusion"]).sum() == len(y)
    assert not metrics.higher_is_better("rmse") and metrics.higher_is_better("r2")
    with pytest.raises(ValueError, match="bin edges"):
        target_kind("regression").evaluate(y, s, metrics=["binned_macro_f1"])
