"""Trivial baselines: nothing is learned from the inputs.

The frequency priors give every film the training label frequencies; random ranking orders
retrieval candidates by chance. They are the floor every leaderboard shows: a model that does
not beat them has learned nothing, however good its score sounds.
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


@register_model
class RandomRank(Model):
    name = "random-rank"
    family = "trivial"
    inputs = frozenset()
    targets = frozenset({"retrieval"})
    summary = "ranks the candidates at random: expected MRR is H_n / n (about (ln n + 0.58) / n)"

    def fit(self, train: TaskData, val: TaskData) -> None:
        pass

    def predict_scores(self, data: TaskData) -> np.ndarray:
        rng = np.random.default_rng(self.context.seed)
        return rng.random((len(data), len(data)))
