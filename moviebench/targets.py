"""Target kinds: one evaluator per kind of answer a task asks for (MTEB's one evaluator per
task type).

A task's `TargetKind` owns everything that differs between a class, a set of labels, a
ranking of candidates and a number: the checks that a split can be scored, label pruning,
what each metric reads, a network's output layer and validation loss, how a scikit-learn
estimator is wrapped and read, the trivial baseline's scores and the choice of decision
thresholds. Outside this module no code asks which kind it has: it calls the kind.

Kinds are singletons (`MULTICLASS`, `MULTILABEL`, `RETRIEVAL`, `REGRESSION`), looked up by
name with `target_kind(name)`; records store the name. They pickle by name, so a worker
process gets the same object back.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from moviebench import metrics as m
from moviebench.errors import DataError, UnknownNameError
from moviebench.metrics import skm

if TYPE_CHECKING:  # torch is imported only where a network needs it (a no-op rerun never does)
    import torch
    from torch import nn

    from moviebench.splits import Split


class TaskData(Protocol):
    """What a kind reads of a task's rows (`tasks.base.TaskData`, which imports this module)."""

    y: np.ndarray
    labels: list[str]
    notes: list[str]
    unreadable: list[str]
    split_key: np.ndarray
    split_group: np.ndarray | None

    def subset(self, index: np.ndarray) -> TaskData: ...


# Above this many classes a record keeps the most confused pairs, not the whole matrix.
DENSE_CONFUSION_MAX_CLASSES = 30
MOST_CONFUSED = 20


class NetworkOutputs:
    """How a network's raw outputs become a kind's scores, and what it is trained against."""

    def loss(self) -> nn.Module:
        raise NotImplementedError

    def targets(self, y: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    def scores(self, outputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class _Softmax(NetworkOutputs):
    def loss(self) -> nn.Module:
        from torch import nn

        return nn.CrossEntropyLoss()

    def targets(self, y: np.ndarray) -> torch.Tensor:
        import torch

        return torch.as_tensor(np.asarray(y), dtype=torch.long)

    def scores(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.softmax(dim=1)


class _Sigmoid(NetworkOutputs):
    def __init__(self, pos_weight: np.ndarray | None = None) -> None:
        self.pos_weight = pos_weight

    def loss(self) -> nn.Module:
        import torch
        from torch import nn

        if self.pos_weight is None:
            return nn.BCEWithLogitsLoss()
        return nn.BCEWithLogitsLoss(
            pos_weight=torch.as_tensor(self.pos_weight, dtype=torch.float32)
        )

    def targets(self, y: np.ndarray) -> torch.Tensor:
        import torch

        return torch.as_tensor(np.asarray(y), dtype=torch.float32)

    def scores(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.sigmoid()


class _Standardised(NetworkOutputs):
    """One linear output trained on standardised targets (mean and spread of the training
    split), read back in the target's own units: a network starts near the mean instead of
    spending its budget walking its bias there."""

    def __init__(self, y_train: np.ndarray) -> None:
        y = np.asarray(y_train, dtype=float)
        self.mean = float(y.mean()) if len(y) else 0.0
        self.scale = float(y.std()) if len(y) and y.std() > 0 else 1.0

    def loss(self) -> nn.Module:
        from torch import nn

        return nn.MSELoss()

    def targets(self, y: np.ndarray) -> torch.Tensor:
        import torch

        z = (np.asarray(y, dtype=float) - self.mean) / self.scale
        return torch.as_tensor(z, dtype=torch.float32).reshape(-1, 1)

    def scores(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.reshape(-1) * self.scale + self.mean


def _shown_ints(column: np.ndarray, shown: np.ndarray) -> Any:
    """0/1 labels as nullable integers, missing where not `shown`."""
    import pandas as pd

    out = pd.array(np.asarray(column).astype(int), dtype="Int64")
    out[~np.asarray(shown)] = pd.NA
    return out


def _declared(kind: str, declared: str | None, allowed: tuple[str, ...]) -> str:
    declared = declared or allowed[0]
    if declared not in allowed:
        raise ValueError(f"--scores {declared}: {kind} scores are read as {' or '.join(allowed)}")
    return declared


def _softmax(values: np.ndarray) -> np.ndarray:
    out = np.exp(values - values.max(axis=1, keepdims=True))
    return out / out.sum(axis=1, keepdims=True)


class TargetKind:
    """The evaluator of one kind of target. Subclasses fill in what differs."""

    name: ClassVar[str]
    # The trivial rung every ladder of this kind starts from.
    baseline: ClassVar[str]
    # What a board's label balance counts ("rows" per class, "positives" per label).
    balance_unit: ClassVar[str] = "rows"

    def __repr__(self) -> str:
        return f"target_kind({self.name!r})"

    def __str__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return target_kind, (self.name,)

    # ---- metrics -----------------------------------------------------------------------

    def metric_names(self, settings: dict[str, Any] | None = None) -> list[str]:
        """Every declared metric of this kind (evaluate's default), MAP@k at `map_k`."""
        k = (settings or {}).get("map_k", 3)
        names = [x.name for x in m.METRICS.values() if self.name in x.targets]
        return [f"map@{k}" if n.startswith("map@") else n for n in names]

    def check_metrics(self, names: Sequence[str]) -> None:
        """Raise unless every name is a known metric of this kind."""
        for name in names:
            metric = m.get_metric(name)
            if self.name not in metric.targets:
                raise ValueError(
                    f"metric '{name}' applies to {', '.join(sorted(metric.targets))} targets, "
                    f"not {self.name}"
                )

    def metric_arrays(
        self,
        needs: m.Needs,
        y: np.ndarray,
        scores: np.ndarray,
        thresholds: np.ndarray | None = None,
        scoring: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """What a metric that reads `needs` compares: (truth, input) made from a model's scores."""
        return np.asarray(y), np.asarray(scores)

    def thresholds(
        self, y_val: np.ndarray, s_val: np.ndarray, settings: dict[str, Any]
    ) -> np.ndarray | None:
        """Decision thresholds chosen on validation scores; None where the kind needs none."""
        return None

    def needs_thresholds(self, needs: m.Needs) -> bool:
        """Whether a metric reading `needs` is undefined without validation thresholds."""
        return False

    def details(
        self,
        y: np.ndarray,
        scores: np.ndarray,
        thresholds: np.ndarray | None,
        labels: list[str],
        scoring: dict[str, Any],
    ) -> dict[str, Any]:
        """What the record keeps beside the metrics (confusion matrix, per-label scores...)."""
        return {}

    def compute(
        self,
        names: Sequence[str],
        y: np.ndarray,
        scores: np.ndarray,
        thresholds: np.ndarray | None = None,
        scoring: dict[str, Any] | None = None,
    ) -> dict[str, float]:
        """The named metrics of one split at unit weight; each input is made once."""
        self.check_metrics(names)
        inputs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        out = {}
        for name in names:
            metric = m.get_metric(name)
            if metric.needs not in inputs:
                inputs[metric.needs] = self.metric_arrays(
                    metric.needs, y, scores, thresholds, scoring
                )
            truth, x = inputs[metric.needs]
            out[name] = float(metric.fn(truth, x))
        return out

    def evaluate(
        self,
        y_test: np.ndarray,
        s_test: np.ndarray,
        *,
        y_val: np.ndarray | None = None,
        s_val: np.ndarray | None = None,
        settings: dict[str, Any] | None = None,
        **score_args: Any,
    ) -> m.Evaluation:
        """Exactly the metrics named (`metrics=`: a task's declared ones; by default every
        metric of the kind), at thresholds chosen on the validation scores alone. Takes
        `score`'s `labels`, `metrics` and `scoring` too."""
        settings = settings or {}
        thresholds = None
        if self.needs_thresholds("predictions"):
            if y_val is None or s_val is None:
                raise ValueError(
                    f"{self.name} scoring needs validation scores to choose thresholds"
                )
            thresholds = self.thresholds(y_val, s_val, settings)
        return self.score(y_test, s_test, thresholds=thresholds, settings=settings, **score_args)

    def score(
        self,
        y: np.ndarray,
        scores: np.ndarray,
        *,
        labels: list[str] | None = None,
        thresholds: np.ndarray | None = None,
        settings: dict[str, Any] | None = None,
        metrics: Sequence[str] | None = None,
        scoring: dict[str, Any] | None = None,
    ) -> m.Evaluation:
        """The metrics and details of one split at thresholds already chosen (`evaluate`
        chooses them on validation first)."""
        scoring = scoring or {}
        names = list(metrics) if metrics is not None else self.metric_names(settings)
        values = self.compute(names, y, scores, thresholds, scoring)
        return m.Evaluation(values, self.details(y, scores, thresholds, labels or [], scoring))

    def validation_score(
        self,
        metric: str,
        y: np.ndarray,
        scores: np.ndarray,
        scoring: dict[str, Any] | None = None,
    ) -> float:
        """The metric on validation data alone, signed so that higher is better (early
        stopping, tuning). Thresholds, where needed, come from the same validation rows:
        nothing from the test split is involved."""
        needs = m.get_metric(metric).needs
        thresholds = self.thresholds(y, scores, {}) if self.needs_thresholds(needs) else None
        value = self.compute([metric], y, scores, thresholds, scoring)[metric]
        return value if m.higher_is_better(metric) else -value

    def resampled(
        self,
        name: str,
        y: np.ndarray,
        scores: np.ndarray,
        weights: np.ndarray,
        thresholds: np.ndarray | None = None,
        scoring: dict[str, Any] | None = None,
    ) -> np.ndarray | None:
        """The metric under each row of count weights (a bootstrap, `metrics.resampled`);
        None where it cannot be recomputed (thresholded metrics without thresholds)."""
        metric = m.get_metric(name)
        if self.name not in metric.targets or (
            self.needs_thresholds(metric.needs) and thresholds is None
        ):
            return None
        truth, x = self.metric_arrays(metric.needs, y, scores, thresholds, scoring)
        return m.resampled(metric, truth, x, weights)

    # ---- scores a model or a submission hands in -----------------------------------------

    def score_shape(self, n_rows: int, n_outputs: int) -> tuple[int, ...]:
        """The shape of a split's scores: one row per film, one column per label."""
        return (n_rows, n_outputs)

    def shape_problem(self, shape: tuple[int, ...], n_rows: int, n_outputs: int) -> str | None:
        """Why scores of `shape` cannot be a split's of `n_rows` rows, or None."""
        wanted = self.score_shape(n_rows, n_outputs)
        if tuple(shape) == wanted:
            return None
        return f"shape {tuple(shape)}, expected {wanted} ({self.shape_words})"

    shape_words: ClassVar[str] = "one row per film, one column per label"

    def scores_problem(self, scores: Any, n_rows: int, n_outputs: int) -> str | None:
        """Why `scores` are not a split's scores (shape, numbers, finite), or None: what the
        harness checks before it computes a metric."""
        try:
            values = np.asarray(scores, dtype=float)
        except (TypeError, ValueError) as err:
            return f"not an array of numbers ({err})"
        problem = self.shape_problem(values.shape, n_rows, n_outputs)
        if problem:
            return problem
        bad = ~np.isfinite(values)
        if bad.any():
            return f"{int(bad.sum())} of {values.size} scores are NaN or infinite"
        return None

    def contract_problem(self, scores: np.ndarray, y_train: np.ndarray) -> str | None:
        """What the model contract asks of this kind's scores beyond their shape (check_model):
        None where nothing more is asked."""
        return None

    # What a submission's scores may be declared as (`bench score --scores`); the first is
    # the default. Each kind says how it reads them (`submission_scores`).
    SCORE_KINDS: ClassVar[tuple[str, ...]] = ("probabilities", "logits", "raw")
    # How far a row of submitted class probabilities may sum from 1 (rounding in a CSV).
    PROBABILITY_TOLERANCE: ClassVar[float] = 1e-3
    # Whether a task of this kind can be exported for training elsewhere (`bench split export`).
    exportable: ClassVar[bool] = True

    def export_columns(self, prefix: str, labels: Sequence[str]) -> list[str]:
        """An export's label columns (`label:<name>`) or a submission's score columns."""
        return [f"{prefix}:{name}" for name in labels]

    def export_labels(
        self, y: np.ndarray, shown: np.ndarray, labels: Sequence[str]
    ) -> dict[str, Any]:
        """The export's label columns, empty where `shown` is False (test films)."""
        y = np.asarray(y)
        return {
            column: _shown_ints(y[:, j], shown)
            for j, column in enumerate(self.export_columns("label", labels))
        }

    def submission_scores(
        self, values: np.ndarray, declared: str | None, ids: np.ndarray
    ) -> np.ndarray:
        """A submission's score columns (finite numbers, one row per film, `ids` its movie
        ids) as the kind's scores, read as `declared` (None: the kind's default, the first of
        SCORE_KINDS); ValueError saying why not, in one line."""
        raise ValueError(f"{self.name} tasks take no submissions")

    def needs_validation_scores(self) -> bool:
        """Whether scoring needs the validation scores (thresholds chosen on them)."""
        return self.needs_thresholds("predictions")

    def classes_per_fit(self, n_outputs: int) -> int:
        """How many classes one estimator of a scikit-learn rung separates (one-vs-one cost)."""
        return n_outputs

    # ---- data ----------------------------------------------------------------------------

    def check_scorable(self, where: str, data: TaskData, split: Split) -> None:
        """Raise a DataError when the training rows cannot teach anything; add notes."""

    def prune_labels(
        self, where: str, data: TaskData, split: Split, min_count: int, split_seed: int
    ) -> tuple[TaskData, Split]:
        """Labels too rare in training to learn, left out (multi-label only)."""
        return data, split

    def label_balance(self, y: np.ndarray, labels: list[str]) -> list[tuple[str, int]]:
        """Rows per class or positives per label, in label order (`bench data inspect`)."""
        return []

    def unlabelled_rows(self, y: np.ndarray) -> int | None:
        """Rows with no label at all, where the kind can have such rows."""
        return None

    # ---- models --------------------------------------------------------------------------

    def trivial_prior(self, y_train: np.ndarray, n_outputs: int) -> np.ndarray:
        """The trivial baseline's score for any one film, from the training targets alone."""
        raise NotImplementedError

    def estimator(self, model: Any) -> Any:
        """A scikit-learn estimator for this kind from a rung offering `classifier()` and,
        for regression, `regressor()`, wrapped as the kind needs (one-vs-rest...)."""
        return model.classifier()

    def wrap(self, estimator: Any) -> Any:
        """A binary or multiclass scikit-learn classifier, made to answer this kind."""
        return estimator

    def estimator_scores(self, estimator: Any, X: Any, n_outputs: int) -> np.ndarray:
        """A fitted estimator's scores laid out as the kind's scores."""
        raise NotImplementedError

    def early_stopping(self) -> bool:
        """Whether boosted trees can early-stop on validation with one fit (not one-vs-rest)."""
        return True

    def network_outputs(self, y_train: np.ndarray, **options: Any) -> NetworkOutputs:
        """A network's output layer semantics and training loss for this kind."""
        raise NotImplementedError

    def val_loss(self, scores: np.ndarray, y: np.ndarray) -> float | None:
        """A network's validation loss in the kind's own terms; None where there is none."""
        return None

    def fallback_score(self, scores: np.ndarray, y: np.ndarray) -> float:
        """A network's validation score when no scorer is lent (higher is better)."""
        return -float(self.val_loss(scores, y))


class Multiclass(TargetKind):
    name = "multiclass"
    baseline = "majority"

    def metric_arrays(self, needs, y, scores, thresholds=None, scoring=None):
        scores = np.asarray(scores)
        return np.asarray(y), scores if needs == "scores" else scores.argmax(axis=1)

    def details(self, y, scores, thresholds, labels, scoring):
        k = np.asarray(scores).shape[1]
        confusion = skm.confusion_matrix(y, np.asarray(scores).argmax(axis=1), labels=range(k))
        if k <= DENSE_CONFUSION_MAX_CLASSES:
            return {"confusion": confusion.tolist()}
        # 800 films make a 640,000-cell matrix (megabytes per record, an unreadable plot):
        # keep the pairs confused most often instead.
        np.fill_diagonal(confusion, 0)
        flat = np.argsort(confusion, axis=None, kind="stable")[::-1][:MOST_CONFUSED]
        pairs = [np.unravel_index(i, confusion.shape) for i in flat]
        names = list(labels) if len(labels) == k else [str(i) for i in range(k)]
        return {
            "most_confused": [
                {"true": names[t], "predicted": names[p], "count": int(confusion[t, p])}
                for t, p in pairs
                if confusion[t, p] > 0
            ]
        }

    def check_scorable(self, where: str, data: TaskData, split: Split) -> None:
        y = np.asarray(data.y)
        train_classes = set(np.unique(y[split.train]).tolist())
        if len(train_classes) < 2:
            only = data.labels[next(iter(train_classes))] if data.labels else train_classes
            raise DataError(
                f"{where}: every training row has the class {only}: nothing to learn or rank "
                "(check the data, or the task's thresholds)"
            )
        unseen = [i for i in split.test if y[i] not in train_classes]
        if unseen:
            n_classes = len({int(y[i]) for i in unseen})
            data.notes.append(
                f"{len(unseen)} test rows ({n_classes} classes) have no training row of their "
                "class: no model can get them right"
            )

    def label_balance(self, y, labels):
        y = np.asarray(y)
        if y.ndim != 1:
            return []
        counts = np.bincount(y.astype(int), minlength=len(labels))
        return [(label, int(n)) for label, n in zip(labels, counts)]

    def trivial_prior(self, y_train, n_outputs):
        counts = np.bincount(np.asarray(y_train, dtype=int), minlength=n_outputs).astype(float)
        return counts / counts.sum()

    def estimator_scores(self, estimator, X, n_outputs):
        if hasattr(estimator, "predict_proba"):
            proba = np.asarray(estimator.predict_proba(X))
        else:  # a margin classifier: softmax of the margins ranks classes the same way
            margins = estimator.decision_function(X)
            proba = np.exp(margins - margins.max(axis=1, keepdims=True))
            proba /= proba.sum(axis=1, keepdims=True)
        classes = getattr(estimator, "classes_", np.arange(proba.shape[1]))
        out = np.zeros((proba.shape[0], n_outputs))  # every class, even ones absent from train
        out[:, np.asarray(classes, dtype=int)] = proba
        return out

    def network_outputs(self, y_train, **options):
        return _Softmax()

    def val_loss(self, scores, y):
        return m.get_metric("log_loss").fn(y, scores)

    def contract_problem(self, scores, y_train):
        scores = np.asarray(scores, dtype=float)
        if (scores < 0).any() or not np.allclose(scores.sum(axis=1), 1.0, atol=1e-5):
            return "class probabilities do not sum to one"
        return None

    def export_labels(self, y, shown, labels):
        one_hot = np.asarray(y)[:, None] == np.arange(len(labels))[None, :]
        return super().export_labels(one_hot, shown, labels)

    def submission_scores(self, values, declared, ids):
        declared = _declared("multiclass", declared, self.SCORE_KINDS)
        if declared != "probabilities":
            # Logits, or margins of any scale: their softmax ranks the classes the same way
            # (what the harness does with a margin classifier's scores, `estimator_scores`).
            return _softmax(values)
        sums = values.sum(axis=1)
        bad = (values < 0).any(axis=1) | ~np.isclose(
            sums, 1.0, rtol=0, atol=self.PROBABILITY_TOLERANCE
        )
        if bad.any():
            i = int(np.argmax(bad))
            why = "has a negative score" if (values[i] < 0).any() else f"sums to {sums[i]:.6g}"
            raise ValueError(
                f"{int(bad.sum())} row(s) are not class probabilities (first: movie {ids[i]} "
                f"{why}; each row must be non-negative and sum to 1 within "
                f"{self.PROBABILITY_TOLERANCE:g}); declare other scores with --scores logits or raw"
            )
        return values


class Multilabel(TargetKind):
    name = "multilabel"
    baseline = "prior"
    balance_unit = "positives"

    def needs_thresholds(self, needs):
        return needs == "predictions"

    def thresholds(self, y_val, s_val, settings):
        return m.choose_thresholds(
            y_val, s_val, per_label=settings.get("per_label_threshold", False)
        )

    def metric_arrays(self, needs, y, scores, thresholds=None, scoring=None):
        if needs == "scores":
            return np.asarray(y), np.asarray(scores)
        if thresholds is None:
            raise ValueError("multi-label predictions need thresholds chosen on validation")
        return np.asarray(y), (np.asarray(scores) >= np.asarray(thresholds)[None, :]).astype(int)

    def details(self, y, scores, thresholds, labels, scoring):
        per_label_ap = m.label_average_precision(y, scores)
        _, predicted = self.metric_arrays("predictions", y, scores, thresholds)
        per_label_f1 = skm.f1_score(y, predicted, average=None, zero_division=0)
        return {
            "thresholds": [float(t) for t in thresholds],
            "per_label": {
                label: {
                    "ap": None if np.isnan(ap) else float(ap),
                    "f1": float(f1),
                    "support": int(y[:, j].sum()),
                }
                for j, (label, ap, f1) in enumerate(zip(labels, per_label_ap, per_label_f1))
            },
        }

    def check_scorable(self, where, data, split):
        if not np.asarray(data.y)[split.train].any():
            raise DataError(f"{where}: no training row has any label")

    def prune_labels(self, where, data, split, min_count, split_seed):
        """Keep the labels with at least `min_count` positives in the TRAINING split (never
        counted on validation or test), then drop rows left with no label and split again.

        The split hashes each film's key alone, so splitting the remaining rows again puts
        every film in the part it was in before."""
        from moviebench.splits import make_split

        y = np.asarray(data.y)
        counts = Counter({data.labels[j]: int(n) for j, n in enumerate(y[split.train].sum(axis=0))})
        kept = [j for j, label in enumerate(data.labels) if counts[label] >= min_count]
        rare = [label for label in data.labels if counts[label] < min_count]
        notes = list(data.notes)
        if rare:
            listed = ", ".join(f"{label} ({counts[label]})" for label in rare)
            notes.append(
                f"left out {len(rare)} labels with fewer than {min_count} training films: {listed}"
            )
        if not kept:
            raise DataError(
                f"{where}: no label has {min_count} training films "
                "(lower it with --set min_label_count=N)"
            )
        y = y[:, kept]
        labelled = y.sum(axis=1) > 0
        if (~labelled).any():
            notes.append(f"dropped {int((~labelled).sum())} films left with no label")
        labels = [data.labels[j] for j in kept]
        notes.append(f"{len(labels)} labels: {', '.join(labels)}")
        filtered = data.subset(np.flatnonzero(labelled))
        y = y[labelled]
        if np.issubdtype(y.dtype, np.signedinteger):
            # Built narrow to save memory (genre tasks: int8); models get int64, as always.
            y = y.astype(np.int64, copy=False)
        filtered.y, filtered.labels, filtered.notes = y, labels, notes
        filtered.unreadable = data.unreadable
        return filtered, make_split(filtered.split_key, split_seed, groups=filtered.split_group)

    def label_balance(self, y, labels):
        y = np.asarray(y)
        if y.ndim != 2:
            return []
        return [(label, int(n)) for label, n in zip(labels, y.sum(axis=0))]

    def unlabelled_rows(self, y):
        y = np.asarray(y)
        return int((y.sum(axis=1) == 0).sum()) if y.ndim == 2 else None

    def trivial_prior(self, y_train, n_outputs):
        return np.asarray(y_train).mean(axis=0).astype(float)

    def wrap(self, estimator):
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(estimator)

    def estimator_scores(self, estimator, X, n_outputs):
        with warnings.catch_warnings():  # a label constant in train scores constant: expected
            warnings.filterwarnings("ignore", message="Label .* is present in all training")
            if hasattr(estimator, "predict_proba"):
                return np.asarray(estimator.predict_proba(X))
            return np.asarray(estimator.decision_function(X))

    def estimator(self, model):
        # A rung may wrap its labels its own way (per-genre class weights: classical/text.py).
        wrap = getattr(model, "one_vs_rest", self.wrap)
        return wrap(model.classifier())

    def early_stopping(self):
        return False

    def network_outputs(self, y_train, pos_weight=None, **options):
        return _Sigmoid(pos_weight)

    def val_loss(self, scores, y):
        """The log loss of each (film, label) as a binary choice."""
        p = np.asarray(scores).ravel()
        return m.get_metric("log_loss").fn(
            np.asarray(y).ravel().astype(int), np.column_stack([1 - p, p])
        )

    def classes_per_fit(self, n_outputs):
        return 2  # one-vs-rest: each label is its own binary fit

    def submission_scores(self, values, declared, ids):
        declared = _declared("multi-label", declared, self.SCORE_KINDS)
        if declared == "logits":
            return 0.5 * (1 + np.tanh(values / 2))  # the sigmoid, without overflow
        if declared == "raw":  # thresholds are chosen on the validation scores, whatever the scale
            return values
        bad = ((values < 0) | (values > 1)).any(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{int(bad.sum())} row(s) are not per-label probabilities (first: movie {ids[i]} "
                "has a score outside [0, 1]); declare other scores with --scores logits or raw"
            )
        return values


class Retrieval(TargetKind):
    """Query i's right candidate is candidate i of a query x candidate similarity matrix."""

    name = "retrieval"
    baseline = "random-rank"
    shape_words = "one row per query film, one column per candidate film"
    exportable = False

    def score_shape(self, n_rows, n_outputs):
        return (n_rows, n_rows)

    def metric_arrays(self, needs, y, scores, thresholds=None, scoring=None):
        # The truth is positional (query i matches candidate i), whatever y holds.
        scores = np.asarray(scores)
        return np.arange(len(scores)), m.retrieval_ranks(scores)

    def details(self, y, scores, thresholds, labels, scoring):
        return {"n_candidates": int(np.asarray(scores).shape[1])}

    def trivial_prior(self, y_train, n_outputs):
        raise NotImplementedError("random-rank draws its own scores from the run's seed")

    def network_outputs(self, y_train, **options):
        # A retrieval network scores a whole split at once and declares its own loss.
        return None

    def fallback_score(self, scores, y):
        return self.validation_score("mrr", y, scores)


class Regression(TargetKind):
    """A number per film (a rating). Scores are the predicted values, one per row.

    `scoring["bins"]` (edges) and `scoring["bin_labels"]` let the board read the predictions
    as classes too (`binned_macro_f1`), to set a regression rung beside a classification task
    that cut the same number into classes.
    """

    name = "regression"
    baseline = "mean-predictor"
    shape_words = "one value per film"
    # A submission's values are read as they are.
    SCORE_KINDS = ("raw",)

    def score_shape(self, n_rows, n_outputs):
        return (n_rows,)

    def shape_problem(self, shape, n_rows, n_outputs):
        # A column of values, (n, 1), is read as the same values (metric_arrays reshapes).
        return (
            None if tuple(shape) == (n_rows, 1) else super().shape_problem(shape, n_rows, n_outputs)
        )

    def contract_problem(self, scores, y_train):
        # In the target's own units: a network reads its standardised outputs back (z-scores
        # left as they are would average about 0, many standard deviations from the mean).
        y = np.asarray(y_train, dtype=float)
        if not abs(np.mean(scores) - y.mean()) < y.std():
            return "predictions are not in the target's units"
        return None

    def export_columns(self, prefix, labels):
        return [prefix]

    def export_labels(self, y, shown, labels):
        return {"label": np.where(shown, np.asarray(y, dtype=float), np.nan)}

    def submission_scores(self, values, declared, ids):
        _declared("regression", declared, self.SCORE_KINDS)
        return values[:, 0]

    def metric_arrays(self, needs, y, scores, thresholds=None, scoring=None):
        y, values = np.asarray(y, dtype=float), np.asarray(scores, dtype=float).reshape(len(y))
        if needs != "bins":
            return y, values
        edges = (scoring or {}).get("bins")
        if not edges:
            raise ValueError("binned metrics need the task's bin edges (TaskData.scoring['bins'])")
        return np.digitize(y, edges), np.digitize(values, edges)

    def details(self, y, scores, thresholds, labels, scoring):
        out: dict[str, Any] = {}
        if scoring.get("bins"):
            truth, predicted = self.metric_arrays("bins", y, scores, scoring=scoring)
            k = len(scoring["bins"]) + 1
            out["bins"] = [float(e) for e in scoring["bins"]]
            out["bin_labels"] = list(scoring.get("bin_labels") or range(k))
            out["confusion"] = skm.confusion_matrix(truth, predicted, labels=range(k)).tolist()
        residuals = np.asarray(scores, dtype=float).reshape(len(y)) - np.asarray(y, dtype=float)
        out["residual_quantiles"] = {
            str(q): float(np.quantile(residuals, q)) for q in (0.05, 0.25, 0.5, 0.75, 0.95)
        }
        return out

    def check_scorable(self, where, data, split):
        y = np.asarray(data.y, dtype=float)
        if not np.isfinite(y).all():
            raise DataError(f"{where}: {int((~np.isfinite(y)).sum())} targets are not numbers")
        if np.ptp(y[split.train]) == 0:
            raise DataError(
                f"{where}: every training row has the target {y[split.train][0]:g}: nothing to learn"
            )

    def trivial_prior(self, y_train, n_outputs):
        return np.asarray(float(np.mean(y_train)))

    def estimator(self, model):
        return model.regressor()

    def estimator_scores(self, estimator, X, n_outputs):
        return np.asarray(estimator.predict(X), dtype=float).reshape(-1)

    def network_outputs(self, y_train, **options):
        return _Standardised(y_train)

    def val_loss(self, scores, y):
        return float(skm.mean_squared_error(y, scores))


MULTICLASS, MULTILABEL, RETRIEVAL, REGRESSION = (
    Multiclass(),
    Multilabel(),
    Retrieval(),
    Regression(),
)
KINDS: dict[str, TargetKind] = {k.name: k for k in (MULTICLASS, MULTILABEL, RETRIEVAL, REGRESSION)}
# What a rung accepts unless it says otherwise: both kinds of classification.
CLASSIFICATION = frozenset({MULTICLASS, MULTILABEL})


def target_kind(name: str | TargetKind) -> TargetKind:
    """The kind called `name` (a record stores the name); a kind is returned as it is."""
    if isinstance(name, TargetKind):
        return name
    try:
        return KINDS[str(name)]
    except KeyError:
        raise UnknownNameError("target kind", str(name), KINDS) from None
