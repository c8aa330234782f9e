"""Multi-label and retrieval metrics against cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from moviebench import metrics
from moviebench.models.classical.text import positive_weights
from moviebench.targets import MULTILABEL, RETRIEVAL

LABELS = ["a", "b", "c"]
# Four films, three genres. At threshold 0.5 the predictions are
#   [[1,0,1],[0,1,0],[1,0,0],[1,0,0]]  against the truth below.
Y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
S = np.array([[0.9, 0.45, 0.6], [0.1, 0.7, 0.4], [0.8, 0.3, 0.1], [0.6, 0.1, 0.4]])


def hand_case() -> metrics.Evaluation:
    return MULTILABEL.score(Y, S, labels=LABELS, thresholds=np.full(3, 0.5), settings={"map_k": 2})


def test_threshold_metrics_match_hand_computation() -> None:
    m = hand_case().metrics
    # TP 4, FP 1 (film 4, a), FN 2 (film 3, b; film 4, c): 2*4 / (2*4 + 1 + 2)
    assert m["micro_f1"] == pytest.approx(8 / 11)
    # per genre: a P=2/3 R=1 -> 0.8; b P=1 R=1/2 -> 2/3; c P=1 R=1/2 -> 2/3
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3 + 2 / 3) / 3)
    # per film: 1, 1, 2/3 (P=1, R=1/2), 0
    assert m["samples_f1"] == pytest.approx((1 + 1 + 2 / 3 + 0) / 4)
    assert m["hamming_loss"] == pytest.approx(3 / 12)
    assert m["subset_accuracy"] == pytest.approx(2 / 4)


def test_average_precision_per_genre_and_map() -> None:
    ev = hand_case()
    per = ev.details["per_label"]
    # a: both positives ranked first -> 1
    assert per["a"]["ap"] == pytest.approx(1.0)
    # b: ranking 0.7(+) 0.45(-) 0.3(+) 0.1(-): 1/2 * 1 + 1/2 * 2/3
    assert per["b"]["ap"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    # c: 0.6(+), then a tie at 0.4 of one positive and one negative: 1/2 * 1 + 1/2 * 2/3
    assert per["c"]["ap"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert ev.metrics["mAP"] == pytest.approx((1 + 2 * (0.5 + 1 / 3)) / 3)
    assert per["a"]["f1"] == pytest.approx(0.8)
    assert per["b"]["support"] == 2


def test_map_at_k_by_hand() -> None:
    # top-2 per film: (a,c) hits 1,1 -> 1; (b,c) hits 1,0 -> 1/min(1,2)=1; (a,b) -> 1;
    # (a,c) hits 0,1 -> precision 1/2 at rank 2, over min(1,2)=1 relevant -> 1/2
    assert metrics.map_at_k(Y, S, 2) == pytest.approx(3.5 / 4)
    assert hand_case().metrics["map@2"] == pytest.approx(3.5 / 4)
    # top-1: films 1-3 hit, film 4 misses
    assert metrics.map_at_k(Y, S, 1) == pytest.approx(0.75)
    # k beyond the label count is the full ranking: film 4's one positive sits at rank 2 -> 1/2
    assert metrics.map_at_k(Y, S, 3) == pytest.approx(3.5 / 4)


def test_ap_of_a_genre_absent_from_the_split_is_left_out_of_map() -> None:
    y = np.array([[1, 0], [0, 0], [1, 0]])
    s = np.array([[0.9, 0.2], [0.1, 0.3], [0.8, 0.1]])
    ev = MULTILABEL.score(y, s, labels=["x", "y"], thresholds=np.full(2, 0.5))
    assert ev.details["per_label"]["y"]["ap"] is None
    assert ev.metrics["mAP"] == pytest.approx(1.0)


# ---- thresholds: chosen on validation only ------------------------------------------------

Y_VAL = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
S_VAL = np.array([[0.9, 0.1], [0.7, 0.2], [0.3, 0.35], [0.2, 0.25]])


def test_global_threshold_separates_validation_positives() -> None:
    (t, t2) = metrics.choose_thresholds(Y_VAL, S_VAL)
    # positives score 0.9, 0.7, 0.35; the best negative 0.3: any t in (0.3, 0.35] gives F1 = 1
    assert t == t2 and 0.3 < t <= 0.35


def test_per_label_thresholds() -> None:
    t = metrics.choose_thresholds(Y_VAL, S_VAL, per_label=True)
    assert 0.3 < t[0] <= 0.7  # genre 0: positives 0.9, 0.7 vs negatives 0.3, 0.2
    assert 0.25 < t[1] <= 0.35  # genre 1: positive 0.35 vs negatives 0.1, 0.2, 0.25


def test_threshold_never_sees_test_labels() -> None:
    rng = np.random.default_rng(0)
    y_val, y_test = rng.random((60, 4)) < 0.3, rng.random((50, 4)) < 0.3
    s_val = np.clip(y_val * 0.3 + rng.random((60, 4)) * 0.7, 0, 1)
    s_test = np.clip(y_test * 0.3 + rng.random((50, 4)) * 0.7, 0, 1)
    shuffled = y_test[rng.permutation(len(y_test))]
    for per_label in (False, True):
        settings = {"per_label_threshold": per_label}
        kwargs = {
            "labels": list("abcd"),
            "y_val": y_val.astype(int),
            "s_val": s_val,
            "settings": settings,
        }
        real = MULTILABEL.evaluate(y_test.astype(int), s_test, **kwargs)
        fake = MULTILABEL.evaluate(shuffled.astype(int), s_test, **kwargs)
        assert real.details["thresholds"] == fake.details["thresholds"]
        # the test labels do drive the scores, so the check above is not vacuous
        assert real.metrics["micro_f1"] != fake.metrics["micro_f1"]
        # and the validation labels do drive the threshold
        other = MULTILABEL.evaluate(
            y_test.astype(int), s_test, **{**kwargs, "y_val": (~y_val).astype(int)}
        )
        assert other.details["thresholds"] != real.details["thresholds"]


def test_multilabel_needs_validation_scores() -> None:
    with pytest.raises(ValueError, match="validation"):
        MULTILABEL.evaluate(Y, S, labels=LABELS)


# ---- retrieval ---------------------------------------------------------------------------


def test_retrieval_metrics_by_hand() -> None:
    sim = np.array([[0.9, 0.1, 0.2], [0.5, 0.4, 0.6], [0.3, 0.3, 0.3]])
    m = RETRIEVAL.evaluate(None, sim).metrics
    # ranks: 1; 3 (two candidates above); 3 (a three-way tie counts against the query)
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert m["top1"] == pytest.approx(1 / 3)
    assert m["top5"] == pytest.approx(1.0)


# ---- class weighting ---------------------------------------------------------------------


def test_report_001_class_weights() -> None:
    y = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 0, 0]])
    # counts 4, 2, 1: W_i = n_largest / n_i
    assert positive_weights(y, "largest") == pytest.approx([1.0, 2.0, 4.0])
    # negatives / positives: 1/4, 3/2, 4/1
    assert positive_weights(y, "balanced") == pytest.approx([0.25, 1.5, 4.0])
    assert positive_weights(y, "none") is None


def test_threshold_search_counts_f1_like_sklearn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    y = (rng.random((40, 3)) < 0.3).astype(int)
    s = np.round(rng.random((40, 3)), 2)  # rounded: ties between scores and candidates occur
    candidates = np.unique(np.concatenate([metrics._candidate_thresholds(s), s.ravel()[:10]]))
    expected = [f1_score(y, s >= t, average="micro", zero_division=0) for t in candidates]
    assert metrics._f1_at(s, y, candidates) == pytest.approx(expected)
    assert metrics._f1_at(s[:, 0], np.zeros(40), np.array([0.5]))[0] == 0.0
