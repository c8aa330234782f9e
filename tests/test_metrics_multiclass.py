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
