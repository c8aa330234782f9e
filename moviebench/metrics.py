"""Scores for every target kind. The harness, not the model, computes these.

Multi-label decision thresholds are chosen on the validation split only; `evaluate` takes
validation scores for exactly that reason and never looks at test labels to choose one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as skm

LOWER_IS_BETTER = {"log_loss", "ordinal_mse", "hamming_loss"}


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


@dataclass
class Evaluation:
    metrics: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)  # confusion matrix, thresholds, per label


# ---- multiclass ---------------------------------------------------------------------------


def multiclass_metrics(y: np.ndarray, proba: np.ndarray) -> Evaluation:
    k = proba.shape[1]
    pred = proba.argmax(axis=1)
    clipped = np.clip(proba, 1e-7, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():  # a class predicted but absent from y is expected, not news
        warnings.simplefilter("ignore", UserWarning)
        balanced = skm.balanced_accuracy_score(y, pred)
    values = {
        "macro_f1": skm.f1_score(y, pred, average="macro", zero_division=0),
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": balanced,
        "log_loss": skm.log_loss(y, clipped, labels=range(k)),
        # Report 000 quotes the MSE between true and predicted class index (BAD=0 < AVG < GOOD).
        "ordinal_mse": float(np.mean((pred - y) ** 2)),
    }
    confusion = skm.confusion_matrix(y, pred, labels=range(k))
    return Evaluation({m: float(v) for m, v in values.items()}, {"confusion": confusion.tolist()})


# ---- multi-label --------------------------------------------------------------------------


def _candidate_thresholds(scores: np.ndarray) -> np.ndarray:
    qs = np.quantile(scores, np.linspace(0.01, 0.99, 99))
    return np.unique(np.concatenate([qs, [0.5]]))


def _f1_at(scores: np.ndarray, truth: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Micro F1 of `scores >= t` against `truth` for every candidate t, by counting.

    F1 = 2 TP / (predicted positives + true positives), 0 when both are 0 (sklearn's
    zero_division=0). Sorting once replaces one sklearn call per candidate, which made the
    search the slowest part of a deep model's epoch.
    """
    flat, positive = scores.ravel(), truth.ravel().astype(bool)
    pos, every = np.sort(flat[positive]), np.sort(flat)
    tp = len(pos) - np.searchsorted(pos, candidates, side="left")  # positives scoring >= t
    pp = len(every) - np.searchsorted(every, candidates, side="left")  # all scoring >= t
    denom = pp + len(pos)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def choose_thresholds(y_val: np.ndarray, s_val: np.ndarray, per_label: bool = False) -> np.ndarray:
    """Thresholds that maximise F1 on the validation split: one global, or one per label.

    Among equally good candidates the lowest wins, so the choice is deterministic.
    """
    n_labels = y_val.shape[1]
    if not per_label:
        candidates = _candidate_thresholds(s_val)
        best = candidates[int(np.argmax(_f1_at(s_val, y_val, candidates)))]
        return np.full(n_labels, float(best))
    out = np.empty(n_labels)
    for j in range(n_labels):
        candidates = _candidate_thresholds(s_val[:, j])
        out[j] = candidates[int(np.argmax(_f1_at(s_val[:, j], y_val[:, j], candidates)))]
    return out


def map_at_k(y: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Mean over films of average precision in the top-k ranked labels (report 003's MAP@k)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(y, order, axis=1).astype(float)
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    n_relevant = np.minimum(y.sum(axis=1), k)
    ap = np.where(n_relevant > 0, (precision_at * hits).sum(axis=1) / np.maximum(n_relevant, 1), 0.0)
    return float(ap.mean())


def multilabel_metrics(
    y: np.ndarray,
    scores: np.ndarray,
    thresholds: np.ndarray,
    labels: list[str],
    k: int = 3,
) -> Evaluation:
    pred = scores >= thresholds[None, :]
    present = y.sum(axis=0) > 0  # AP is undefined for a label with no positive in this split
    per_label_ap = [
        float(skm.average_precision_score(y[:, j], scores[:, j])) if present[j] else None
        for j in range(y.shape[1])
    ]
    per_label_f1 = skm.f1_score(y, pred, average=None, zero_division=0)
    values = {
        "micro_f1": skm.f1_score(y, pred, average="micro", zero_division=0),
        "macro_f1": skm.f1_score(y, pred, average="macro", zero_division=0),
        "samples_f1": skm.f1_score(y, pred, average="samples", zero_division=0),
        "mAP": float(np.mean([ap for ap in per_label_ap if ap is not None])),
        "hamming_loss": skm.hamming_loss(y, pred),
        "subset_accuracy": skm.accuracy_score(y, pred),
        f"map@{k}": map_at_k(y, scores, k),
    }
    details = {
        "thresholds": [float(t) for t in thresholds],
        "per_label": {
            label: {"ap": ap, "f1": float(f1), "support": int(y[:, j].sum())}
            for j, (label, ap, f1) in enumerate(zip(labels, per_label_ap, per_label_f1))
        },
    }
    return Evaluation({m: float(v) for m, v in values.items()}, details)


# ---- retrieval ----------------------------------------------------------------------------


def retrieval_metrics(similarity: np.ndarray) -> Evaluation:
    """Query i's correct candidate is candidate i. Ties count against the query."""
    correct = np.diag(similarity)[:, None]
    rank = (similarity >= correct).sum(axis=1)  # 1 = best
    values = {
        "mrr": float(np.mean(1.0 / rank)),
        "top1": float(np.mean(rank <= 1)),
        "top5": float(np.mean(rank <= 5)),
    }
    return Evaluation(values, {"n_candidates": int(similarity.shape[1])})


# ---- one entry point for the runner ------------------------------------------------------


def evaluate(
    target: str,
    y_test: np.ndarray,
    s_test: np.ndarray,
    *,
    labels: list[str],
    y_val: np.ndarray | None = None,
    s_val: np.ndarray | None = None,
    settings: dict[str, Any] | None = None,
) -> Evaluation:
    settings = settings or {}
    if target == "multiclass":
        return multiclass_metrics(y_test, s_test)
    if target == "multilabel":
        if y_val is None or s_val is None:
            raise ValueError("multi-label scoring needs validation scores to choose thresholds")
        thresholds = choose_thresholds(y_val, s_val, per_label=settings.get("per_label_threshold", False))
        return multilabel_metrics(y_test, s_test, thresholds, labels, k=settings.get("map_k", 3))
    if target == "retrieval":
        return retrieval_metrics(s_test)
    raise ValueError(f"unknown target kind {target}")


def validation_score(target: str, metric: str, y: np.ndarray, scores: np.ndarray, labels: list[str]) -> float:
    """The primary metric on validation data alone, for early stopping and tuning.

    For multi-label tasks the threshold is chosen on the same validation rows, which is
    fine here: nothing from the test split is involved.
    """
    if target == "multilabel":
        ev = evaluate(target, y, scores, labels=labels, y_val=y, s_val=scores)
    else:
        ev = evaluate(target, y, scores, labels=labels)
    value = ev.metrics[metric]
    return value if higher_is_better(metric) else -value
