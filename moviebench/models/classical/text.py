"""Classical text rungs, and the text helpers the other text rungs share.

Genre rungs: TF-IDF word 1-2-grams + one-vs-rest logistic regression, and TF-IDF character
n-grams + linear SVM. TF-IDF is fitted inside the sklearn pipeline on the training texts only.
Retrieval rung (tagline -> title): cosine of TF-IDF vectors fitted on the training films.

Optional class weighting is the run setting `class_weight`: "balanced" (sklearn's, per
genre) or "largest" (report 001's W_i = n_largest / n_i on each genre's positives).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from moviebench.models import Model, register_model
from moviebench.models.classical.tabular import linear_params
from moviebench.settings import TaskSettings, settings_of
from moviebench.targets import RETRIEVAL
from moviebench.tasks.base import TaskData
from moviebench.tasks.text import GenreSettings

# ---- shared helpers ------------------------------------------------------------------------


def texts_of(data: TaskData) -> list[str]:
    """The task's one text column as a list of strings (missing -> '')."""
    return data.text().tolist()


def query_texts(data: TaskData) -> list[str]:
    (col,) = data.columns["query"]
    return data.X[col].fillna("").astype(str).tolist()


def candidate_texts(data: TaskData) -> list[str]:
    (col,) = data.columns["candidate"]
    return data.X[col].fillna("").astype(str).tolist()


def class_weight_scheme(settings: TaskSettings) -> str:
    """The genre tasks' class_weight setting (typed there: none, largest or balanced); "none"
    on a task without it."""
    return settings_of(settings, GenreSettings).class_weight


def positive_weights(y: np.ndarray, scheme: str) -> np.ndarray | None:
    """Weight of each genre's positive examples under a class-weighting scheme, or None.

    "largest" is report 001's W_i = n_largest / n_i (the most frequent genre gets 1, a genre
    ten times rarer gets 10); "balanced" is n_negative / n_positive per genre.
    """
    if scheme == "none":
        return None
    n_pos = np.maximum(y.sum(axis=0).astype(float), 1.0)
    if scheme == "largest":
        return n_pos.max() / n_pos
    return np.maximum(len(y) - n_pos, 1.0) / n_pos


class WeightedOneVsRest(BaseEstimator, ClassifierMixin):
    """One binary classifier per label, label j's positives weighted by `pos_weights[j]`.

    sklearn's OneVsRestClassifier clones one estimator for every label, so it cannot give
    each label its own class weight; this does only that. A label constant in train gets a
    constant score.
    """

    def __init__(self, estimator: Any, pos_weights: np.ndarray | None = None) -> None:
        self.estimator = estimator
        self.pos_weights = pos_weights

    def fit(self, X: Any, Y: np.ndarray) -> WeightedOneVsRest:
        Y = np.asarray(Y)
        self.estimators_: list[Any] = []
        for j in range(Y.shape[1]):
            col = Y[:, j]
            if col.min() == col.max():
                self.estimators_.append(float(col[0]))
                continue
            weight = 1.0 if self.pos_weights is None else float(self.pos_weights[j])
            est = clone(self.estimator).set_params(class_weight={0: 1.0, 1: weight})
            self.estimators_.append(est.fit(X, col))
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Each label's score: its classifier's probability or margin (a constant label's
        constant), one column per label."""
        n = X.shape[0]
        cols = []
        for est in self.estimators_:
            if isinstance(est, float):
                cols.append(np.full(n, est))
            elif hasattr(est, "predict_proba"):
                cols.append(est.predict_proba(X)[:, 1])
            else:
                cols.append(est.decision_function(X))
        return np.column_stack(cols)


# ---- genre rungs ---------------------------------------------------------------------------


class SklearnText(Model):
    """A sklearn classifier over text features; multi-label through one-vs-rest, with the
    `class_weight` setting's weights per genre."""

    family = "classical"
    inputs = frozenset({"text"})

    def make_features(self) -> Any | None:
        """A sklearn transformer fitted on the training texts, or None for precomputed features."""
        return None

    def classifier(self) -> Any:
        raise NotImplementedError

    def features(self, data: TaskData) -> Any:
        return texts_of(data)

    def one_vs_rest(self, estimator: Any) -> Any:
        """The multi-label kind's wrapper (targets.Multilabel.estimator), per `class_weight`."""
        scheme = class_weight_scheme(self.context.settings)
        if scheme == "none":
            return OneVsRestClassifier(estimator)
        if scheme == "balanced":
            return OneVsRestClassifier(estimator.set_params(class_weight="balanced"))
        return WeightedOneVsRest(estimator, positive_weights(self.y_train_, scheme))

    def fit(self, train: TaskData, val: TaskData) -> None:
        self.y_train_ = train.y
        steps = [s for s in (self.make_features(), train.target.estimator(self)) if s is not None]
        self.pipeline_ = make_pipeline(*steps)
        self.pipeline_.fit(self.features(train), train.y)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        X = self.features(data)
        if len(self.pipeline_) > 1:
            X = self.pipeline_[:-1].transform(X)
        return data.target.estimator_scores(self.pipeline_[-1], X, data.n_outputs)

    def n_params(self) -> int:
        return linear_params(self.pipeline_[-1])


@register_model
class TfidfLogReg(SklearnText):
    name = "tfidf-logreg"
    summary = "TF-IDF word 1-2-grams + one-vs-rest logistic regression"
    defaults = {"C": 8.0, "min_df": 2, "max_features": 100_000}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            "C": trial.suggest_float("C", 0.1, 100, log=True),
            "min_df": trial.suggest_int("min_df", 1, 5),
        }

    def make_features(self) -> Any:
        p = self.params
        return TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=p["min_df"],
            max_features=p["max_features"],
            sublinear_tf=True,
            strip_accents="unicode",
        )

    def classifier(self) -> Any:
        return LogisticRegression(
            C=self.params["C"], max_iter=2000, solver="liblinear", random_state=self.context.seed
        )


@register_model
class TfidfCharSVM(SklearnText):
    name = "tfidf-char-svm"
    summary = "TF-IDF character 2-5-grams (within words) + linear SVM"
    defaults = {"C": 0.3, "min_df": 2, "max_features": 200_000}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 0.01, 10, log=True)}

    def make_features(self) -> Any:
        p = self.params
        return TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            min_df=p["min_df"],
            max_features=p["max_features"],
            sublinear_tf=True,
            strip_accents="unicode",
        )

    def classifier(self) -> Any:
        return LinearSVC(C=self.params["C"], random_state=self.context.seed)


# ---- retrieval rungs -----------------------------------------------------------------------


class RetrievalModel(Model):
    """Scores every (query, candidate) pair of a split: rows are taglines, columns titles."""

    inputs = frozenset({"text"})
    targets = frozenset({RETRIEVAL})

    def fit(self, train: TaskData, val: TaskData) -> None:
        pass


@register_model
class TfidfCosine(RetrievalModel):
    name = "tfidf-cosine"
    family = "classical"
    summary = "cosine of TF-IDF character n-gram vectors fitted on training taglines and titles"
    defaults = {"analyzer": "char_wb", "min_df": 1}

    def fit(self, train: TaskData, val: TaskData) -> None:
        p = self.params
        ngrams = (2, 4) if p["analyzer"].startswith("char") else (1, 2)
        self.vectorizer_ = TfidfVectorizer(
            analyzer=p["analyzer"],
            ngram_range=ngrams,
            min_df=p["min_df"],
            sublinear_tf=True,
            strip_accents="unicode",
        )
        self.vectorizer_.fit(query_texts(train) + candidate_texts(train))

    def predict_scores(self, data: TaskData) -> np.ndarray:
        q = self.vectorizer_.transform(query_texts(data))
        c = self.vectorizer_.transform(candidate_texts(data))
        return (q @ c.T).toarray()  # rows are L2-normalised already: this is the cosine
