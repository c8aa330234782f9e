"""Trivial baselines: every film gets the training label frequencies.

They are the floor every leaderboard shows. A model that does not beat them has learned
nothing, however good its accuracy sounds.
"""

from __future__ import annotations

import numpy as np

from moviebench.models import Model, register_model
from moviebench.tasks.base import TaskData


class _FrequencyPrior(Model):
    family = "trivial"
    inputs = frozenset()

    def fit(self, train: TaskData, val: TaskData) -> None:
        if train.target == "multiclass":
            counts = np.bincount(train.y, minlength=train.n_outputs).astype(float)
            self.frequencies_ = counts / counts.sum()
        else:
            self.frequencies_ = train.y.mean(axis=0).astype(float)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return np.tile(self.frequencies_, (len(data), 1))

    def n_params(self) -> int:
        return int(self.frequencies_.size)


@register_model
class Majority(_FrequencyPrior):
    name = "majority"
    targets = frozenset({"multiclass"})
    summary = "training class frequencies for every film: predicts the majority class"


@register_model
class LabelPrior(_FrequencyPrior):
    name = "prior"
    targets = frozenset({"multilabel"})
    summary = "training genre frequencies for every film, thresholded on validation"
