"""Trivial baselines: nothing is learned from the inputs.

The frequency priors give every film the training label frequencies, the mean predictor the
training mean; random ranking orders retrieval candidates by chance. They are the floor every leaderboard shows: a model that does
not beat them has learned nothing, however good its score sounds.
"""

from __future__ import annotations

import numpy as np

from moviebench.models import Model, register_model
from moviebench.targets import MULTICLASS, MULTILABEL, REGRESSION, RETRIEVAL
from moviebench.tasks.base import TaskData


class _TrainingPrior(Model):
    """The same scores for every film, from the training targets alone (the kind's
    `trivial_prior`: class or label frequencies, the mean value)."""

    family = "trivial"
    inputs = frozenset()

    def fit(self, train: TaskData, val: TaskData) -> None:
        self.prior_ = train.target.trivial_prior(train.y, train.n_outputs)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return np.repeat(np.asarray(self.prior_)[None, ...], len(data), axis=0)

    def n_params(self) -> int:
        return int(np.size(self.prior_))


@register_model
class Majority(_TrainingPrior):
    name = "majority"
    targets = frozenset({MULTICLASS})
    summary = "training class frequencies for every film: predicts the majority class"


@register_model
class LabelPrior(_TrainingPrior):
    name = "prior"
    targets = frozenset({MULTILABEL})
    summary = "training genre frequencies for every film, thresholded on validation"


@register_model
class MeanPredictor(_TrainingPrior):
    name = "mean-predictor"
    targets = frozenset({REGRESSION})
    summary = "the training mean for every film: RMSE is the target's spread"


@register_model
class RandomRank(Model):
    name = "random-rank"
    family = "trivial"
    inputs = frozenset()
    targets = frozenset({RETRIEVAL})
    summary = "ranks the candidates at random: expected MRR is H_n / n (about (ln n + 0.58) / n)"

    def fit(self, train: TaskData, val: TaskData) -> None:
        pass

    def predict_scores(self, data: TaskData) -> np.ndarray:
        rng = np.random.default_rng(self.context.seed)
        return rng.random((len(data), len(data)))
