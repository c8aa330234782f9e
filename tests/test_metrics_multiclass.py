import numpy as np
import pytest

from moviebench.targets import MULTICLASS


def one_hot(pred: list[int], k: int = 3) -> np.ndarray:
    return np.eye(k)[pred]


def test_multiclass_metrics_match_hand_computed_values():
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = [0, 1, 1, 1, 2, 0]
    ev = MULTICLASS.evaluate(y, one_hot(pred) * 0.8 + 0.2 / 3)
    assert ev.metrics["accuracy"] == pytest.approx(4 / 6)
    # per-class F1: class 0: p=1/2 r=1/2 -> 0.5; class 1: p=2/3 r=1 -> 0.8; class 2: p=1 r=1/2 -> 2/3
    assert ev.metrics["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert ev.metrics["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    # ordinal MSE: errors 0,1,0,0,0,-2 -> (1 + 4) / 6
    assert ev.metrics["ordinal_mse"] == pytest.approx(5 / 6)
    assert ev.details["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_log_loss_of_a_uniform_prediction_is_log_k():
    y = np.array([0, 1, 2, 1])
    ev = MULTICLASS.evaluate(y, np.full((4, 3), 1 / 3), labels=["a", "b", "c"])
    assert ev.metrics["log_loss"] == pytest.approx(np.log(3))


def test_a_class_missing_from_the_test_split_is_still_scored():
    y = np.array([0, 0, 1])
    ev = MULTICLASS.evaluate(y, one_hot([0, 0, 1]))
    assert ev.metrics["accuracy"] == 1.0
    assert len(ev.details["confusion"]) == 3


def test_many_classes_keep_the_most_confused_pairs_not_the_whole_matrix():
    k = 100
    y = np.arange(k).repeat(2)
    pred = y.copy()
    pred[1] = 7  # class 0 taken for class 7 once, class 5 for 9 twice
    pred[10], pred[11] = 9, 9
    labels = [f"film{i}" for i in range(k)]
    ev = MULTICLASS.evaluate(y, one_hot(list(pred), k), labels=labels)
    assert "confusion" not in ev.details
    assert ev.details["most_confused"] == [
        {"true": "film5", "predicted": "film9", "count": 2},
        {"true": "film0", "predicted": "film7", "count": 1},
    ]
