"""Scores for every target kind. The harness, not the model, computes these.

Each metric is declared once, in `METRICS`: its function, its direction, the target kinds it
applies to and what it reads from a model's scores. The board (`TargetKind.evaluate`), the
paired bootstrap of the leaderboard (`resampled`) and the models that choose on validation all
call that one function, so an interval can never disagree with the score it is about.
Functions take `(y, x, *, sample_weight=None)`; the bootstrap passes its count weights as the
weight. What differs by target kind (which metrics apply, what each reads, thresholds) is the
kind's, in `moviebench/targets.py`.

Multi-label decision thresholds are chosen on the validation split only (`choose_thresholds`,
called by the multi-label kind with validation scores, never test labels).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np

from moviebench.errors import UnknownNameError


class _SklearnMetrics:
    """`sklearn.metrics`, imported at the first call: importing scikit-learn (and SciPy) costs
    seconds of CPU, which a no-op rerun or `bench data inspect` never needs."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            from sklearn import metrics

            return getattr(metrics, name)(*args, **kwargs)

        call.__name__ = name
        return call


skm = _SklearnMetrics()

# What a metric reads, made from a model's raw scores by its target kind (targets.py):
#   scores       class probabilities, per-label scores, or predicted values (regression)
#   predictions  the argmax class (multiclass) or scores >= validation thresholds (multilabel)
#   ranks        each query's rank of its right candidate in the similarity matrix (retrieval)
#   bins         true and predicted values cut into the task's classes (regression)
Needs = Literal["scores", "predictions", "ranks", "bins"]


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[..., float]  # (y, x, *, sample_weight=None) -> float
    higher_is_better: bool
    targets: frozenset[str]  # the names of the target kinds it applies to
    needs: Needs


@dataclass
class Evaluation:
    metrics: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)  # confusion matrix, thresholds, per label


# ---- the functions sklearn lacks, all weighted ---------------------------------------------


def _log_loss(
    y: np.ndarray, proba: np.ndarray, *, sample_weight: np.ndarray | None = None
) -> float:
    """Log loss of clipped, renormalised probabilities: a model that gives a class exactly 0
    gets a large finite loss, not infinity."""
    clipped = np.clip(proba, 1e-7, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return skm.log_loss(y, clipped, labels=range(proba.shape[1]), sample_weight=sample_weight)


def _balanced_accuracy(
    y: np.ndarray, pred: np.ndarray, *, sample_weight: np.ndarray | None = None
) -> float:
    with warnings.catch_warnings():  # a class predicted but absent from y is expected, not news
        warnings.simplefilter("ignore", UserWarning)
        return skm.balanced_accuracy_score(y, pred, sample_weight=sample_weight)


def label_average_precision(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Average precision of each label (sklearn's: tied scores are one threshold); NaN for a
    label with no positive, where AP is undefined."""
    present = y.sum(axis=0) > 0
    out = np.full(y.shape[1], np.nan)
    if present.any():
        out[present] = skm.average_precision_score(y[:, present], scores[:, present], average=None)
    return out


def mean_average_precision(
    y: np.ndarray, scores: np.ndarray, *, sample_weight: np.ndarray | None = None
) -> float:
    """Macro AP over the labels with a positive in these rows (the task's mAP).

    One sklearn call for all labels: read label j as a sample and the films as its labels,
    and the label-ranking average precision of that sample is exactly label j's average
    precision with tied scores as one threshold (`average_precision_score`; a test checks
    it on tied scores). That is several times faster than one call per label, which is
    what keeps the leaderboard's bootstrap affordable. It weighs samples, not films, so a
    film's weight must be a count: the film is repeated that many times.
    """
    if sample_weight is not None:
        counts = np.asarray(sample_weight)
        if not np.array_equal(counts, np.round(counts)) or (counts < 0).any():
            raise ValueError("mAP takes count weights (how many times each row is drawn)")
        rows = np.repeat(np.arange(len(y)), counts.astype(int))
        y, scores = y[rows], scores[rows]
    present = (y.sum(axis=0) > 0).astype(float)  # AP is undefined for a label with no positive
    return float(skm.label_ranking_average_precision_score(y.T, scores.T, sample_weight=present))


def map_at_k(
    y: np.ndarray, scores: np.ndarray, k: int, *, sample_weight: np.ndarray | None = None
) -> float:
    """Mean over films of average precision in the top-k ranked labels (report 003's MAP@k)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(y, order, axis=1).astype(float)
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    n_relevant = np.minimum(y.sum(axis=1), k)
    ap = np.where(
        n_relevant > 0, (precision_at * hits).sum(axis=1) / np.maximum(n_relevant, 1), 0.0
    )
    return float(np.average(ap, weights=sample_weight))


def mean_reciprocal_rank(
    y: np.ndarray, rank: np.ndarray, *, sample_weight: np.ndarray | None = None
) -> float:
    return float(np.average(1.0 / rank, weights=sample_weight))


def top_k(
    y: np.ndarray, rank: np.ndarray, k: int, *, sample_weight: np.ndarray | None = None
) -> float:
    """Share of queries whose right candidate is among the k best."""
    return float(np.average(rank <= k, weights=sample_weight))


def _rmse(y: np.ndarray, pred: np.ndarray, *, sample_weight: np.ndarray | None = None) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, pred, sample_weight=sample_weight)))


def _spearman(y: np.ndarray, pred: np.ndarray, *, sample_weight: np.ndarray | None = None) -> float:
    """Spearman's rank correlation; count weights repeat rows (scipy takes no weights). 0 when
    either side is constant, where the correlation is undefined."""
    from scipy.stats import spearmanr

    if sample_weight is not None:
        rows = np.repeat(np.arange(len(y)), np.asarray(sample_weight).astype(int))
        y, pred = np.asarray(y)[rows], np.asarray(pred)[rows]
    if np.ptp(y) == 0 or np.ptp(pred) == 0:
        return 0.0
    return float(spearmanr(y, pred).statistic)


# ---- the registry ----------------------------------------------------------------------------

MC, ML, RT = frozenset({"multiclass"}), frozenset({"multilabel"}), frozenset({"retrieval"})
RG = frozenset({"regression"})


def _declare(*metrics: Metric) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


# Families with a k in the name (map@3, top5): any k is known; these are the default members.
FAMILIES: dict[str, Callable[[int], Metric]] = {
    "map@": lambda k: Metric(f"map@{k}", partial(map_at_k, k=k), True, ML, "scores"),
    "top": lambda k: Metric(f"top{k}", partial(top_k, k=k), True, RT, "ranks"),
}

METRICS: dict[str, Metric] = _declare(
    # multiclass
    Metric(
        "macro_f1",
        partial(skm.f1_score, average="macro", zero_division=0),
        True,
        MC | ML,
        "predictions",
    ),
    Metric("accuracy", skm.accuracy_score, True, MC, "predictions"),
    Metric("balanced_accuracy", _balanced_accuracy, True, MC, "predictions"),
    Metric("log_loss", _log_loss, False, MC, "scores"),
    # Report 000 quotes the MSE between true and predicted class index (BAD=0 < AVG < GOOD):
    # only meaningful where the classes are ordered.
    Metric("ordinal_mse", skm.mean_squared_error, False, MC, "predictions"),
    # multi-label
    Metric(
        "micro_f1", partial(skm.f1_score, average="micro", zero_division=0), True, ML, "predictions"
    ),
    Metric(
        "samples_f1",
        partial(skm.f1_score, average="samples", zero_division=0),
        True,
        ML,
        "predictions",
    ),
    # MM-IMDb's headline metric: per-label F1 weighted by each label's test positives.
    Metric(
        "weighted_f1",
        partial(skm.f1_score, average="weighted", zero_division=0),
        True,
        ML,
        "predictions",
    ),
    Metric("mAP", mean_average_precision, True, ML, "scores"),
    Metric("hamming_loss", skm.hamming_loss, False, ML, "predictions"),
    Metric("subset_accuracy", skm.accuracy_score, True, ML, "predictions"),
    FAMILIES["map@"](3),
    # retrieval
    Metric("mrr", mean_reciprocal_rank, True, RT, "ranks"),
    FAMILIES["top"](1),
    FAMILIES["top"](5),
    # regression: report 000 quotes the MSE of its rating estimates; RMSE is in rating units
    Metric("rmse", _rmse, False, RG, "scores"),
    Metric("mae", skm.mean_absolute_error, False, RG, "scores"),
    Metric("r2", skm.r2_score, True, RG, "scores"),
    Metric("spearman", _spearman, True, RG, "scores"),
    # the predicted number cut into the task's classes (tmdb-rating read as tmdb-quality)
    Metric(
        "binned_macro_f1",
        partial(skm.f1_score, average="macro", zero_division=0),
        True,
        RG,
        "bins",
    ),
)


def get_metric(name: str) -> Metric:
    if name in METRICS:
        return METRICS[name]
    family = re.fullmatch(r"(map@|top)([1-9]\d*)", str(name))
    if family:
        return FAMILIES[family[1]](int(family[2]))
    raise UnknownNameError("metric", str(name), METRICS)


def higher_is_better(metric: str) -> bool:
    return get_metric(metric).higher_is_better


# ---- from a model's scores to what a metric reads ----------------------------------------
# (each target kind makes a metric's inputs from a model's scores: moviebench/targets.py)


def retrieval_ranks(similarity: np.ndarray) -> np.ndarray:
    """Query i's correct candidate is candidate i. Ties count against the query (1 = best)."""
    return (similarity >= np.diag(similarity)[:, None]).sum(axis=1)


def resampled(metric: Metric, y: np.ndarray, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The metric under each row of count weights `weights` (B x n): a bootstrap.

    `y` and `x` are what the metric reads (its target kind's `metric_arrays`). Each resample
    is scored by the registered function with its counts as `sample_weight`, on the rows it
    drew: a row drawn 0 times is left out, so a class or label absent from a resample is
    absent from its score, as it would be if the rows were copied out. Rows that are
    identical in (y, input) are merged first, their counts summed, which leaves every
    weighted score unchanged and makes the thresholded metrics cheap.
    """
    n = len(x)
    key = np.column_stack([np.asarray(y).reshape(n, -1), np.asarray(x).reshape(n, -1)]).astype(
        float
    )
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    y_u, x_u = np.asarray(y)[first], np.asarray(x)[first]
    counts = np.stack([np.bincount(inverse, weights=w, minlength=len(first)) for w in weights])
    out = np.empty(len(weights))
    for b, c in enumerate(counts):
        drawn = c > 0
        out[b] = metric.fn(y_u[drawn], x_u[drawn], sample_weight=c[drawn])
    return out


# ---- multi-label thresholds ---------------------------------------------------------------


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
