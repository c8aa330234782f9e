"""Classical text rungs and the retrieval ladder.

Genre rungs: TF-IDF word 1-2-grams + one-vs-rest logistic regression, TF-IDF character
n-grams + linear SVM, and frozen all-MiniLM-L6-v2 sentence embeddings + logistic
regression. TF-IDF is fitted inside the sklearn pipeline on the training texts only.

Retrieval rungs (tagline -> title): random ranking, TF-IDF cosine, MiniLM cosine and a
projection of the MiniLM embeddings trained on the training films' (tagline, title) pairs.

Optional class weighting is the run setting `class_weight`: "balanced" (sklearn's, per
genre) or "largest" (report 001's W_i = n_largest / n_i on each genre's positives).
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from torch import nn

from moviebench.errors import BenchError
from moviebench.features.text import EMBED_DIM, embed_texts
from moviebench.models import Model, register_model
from moviebench.tasks.base import TaskData

CLASS_WEIGHTS = ("none", "balanced", "largest")


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


def class_weight_scheme(settings: dict[str, Any]) -> str:
    scheme = str(settings.get("class_weight") or "none").lower()
    if scheme not in CLASS_WEIGHTS:
        raise BenchError(f"setting class_weight={scheme!r}: expected one of {', '.join(CLASS_WEIGHTS)}")
    return scheme


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

    def scores(self, X: Any) -> np.ndarray:
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


def label_scores(estimator: Any, X: Any, target: str, n_outputs: int) -> np.ndarray:
    """Per-label scores (multi-label) or class probabilities (multiclass) of a fitted estimator."""
    if isinstance(estimator, WeightedOneVsRest):
        return estimator.scores(X)
    if target == "multilabel":
        if hasattr(estimator, "predict_proba"):
            return np.asarray(estimator.predict_proba(X))
        return np.asarray(estimator.decision_function(X))
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
    else:  # a margin classifier: softmax of the margins ranks classes the same way
        margins = estimator.decision_function(X)
        proba = np.exp(margins - margins.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
    out = np.zeros((proba.shape[0], n_outputs))
    out[:, np.asarray(estimator.classes_, dtype=int)] = proba
    return out


# ---- genre rungs ---------------------------------------------------------------------------


class SklearnText(Model):
    """A sklearn classifier over text features; multi-label through one-vs-rest."""

    family = "classical"
    inputs = frozenset({"text"})
    targets = frozenset({"multilabel", "multiclass"})

    def make_features(self) -> Any | None:
        """A sklearn transformer fitted on the training texts, or None for precomputed features."""
        return None

    def make_estimator(self) -> Any:
        raise NotImplementedError

    def features(self, data: TaskData) -> Any:
        return texts_of(data)

    def _classifier(self, y: np.ndarray, target: str) -> Any:
        estimator = self.make_estimator()
        if target != "multilabel":
            return estimator
        scheme = class_weight_scheme(self.context.settings)
        if scheme == "none":
            return OneVsRestClassifier(estimator)
        if scheme == "balanced":
            return OneVsRestClassifier(estimator.set_params(class_weight="balanced"))
        return WeightedOneVsRest(estimator, positive_weights(y, scheme))

    def fit(self, train: TaskData, val: TaskData) -> None:
        steps = [s for s in (self.make_features(), self._classifier(train.y, train.target)) if s is not None]
        self.pipeline_ = make_pipeline(*steps)
        self.pipeline_.fit(self.features(train), train.y)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        X = self.features(data)
        if len(self.pipeline_) > 1:
            X = self.pipeline_[:-1].transform(X)
        return label_scores(self.pipeline_[-1], X, data.target, data.n_outputs)

    def n_params(self) -> int:
        clf = self.pipeline_[-1]
        fitted = getattr(clf, "estimators_", [clf])
        return int(sum(e.coef_.size + np.size(e.intercept_) for e in fitted if hasattr(e, "coef_")))


@register_model
class TfidfLogReg(SklearnText):
    name = "tfidf-logreg"
    summary = "TF-IDF word 1-2-grams + one-vs-rest logistic regression"
    defaults = {"C": 8.0, "min_df": 2, "max_features": 100_000}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 0.1, 100, log=True),
                "min_df": trial.suggest_int("min_df", 1, 5)}

    def make_features(self) -> Any:
        p = self.params
        return TfidfVectorizer(ngram_range=(1, 2), min_df=p["min_df"], max_features=p["max_features"],
                               sublinear_tf=True, strip_accents="unicode")

    def make_estimator(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=2000, solver="liblinear",
                                  random_state=self.context.seed)


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
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=p["min_df"],
                               max_features=p["max_features"], sublinear_tf=True, strip_accents="unicode")

    def make_estimator(self) -> Any:
        return LinearSVC(C=self.params["C"], random_state=self.context.seed)


def minilm_features(model: Model, data: TaskData, texts: list[str] | None = None) -> np.ndarray:
    """Cached MiniLM embeddings of a split's texts, on the run's device."""
    return embed_texts(texts_of(data) if texts is None else texts, device=model.context.device,
                       progress=model.context.progress)


@register_model
class MiniLMLogReg(SklearnText):
    name = "minilm-logreg"
    summary = "frozen all-MiniLM-L6-v2 sentence embeddings (cached) + logistic regression"
    defaults = {"C": 4.0}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 0.01, 100, log=True)}

    def features(self, data: TaskData) -> np.ndarray:
        return minilm_features(self, data)

    def make_estimator(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=2000, random_state=self.context.seed)


# ---- retrieval rungs -----------------------------------------------------------------------


class RetrievalModel(Model):
    """Scores every (query, candidate) pair of a split: rows are taglines, columns titles."""

    inputs = frozenset({"text"})
    targets = frozenset({"retrieval"})

    def fit(self, train: TaskData, val: TaskData) -> None:
        pass


@register_model
class RandomRank(RetrievalModel):
    name = "random-rank"
    family = "trivial"
    inputs = frozenset()
    summary = "ranks the candidates at random: expected MRR is H_n / n (about (ln n + 0.58) / n)"

    def predict_scores(self, data: TaskData) -> np.ndarray:
        rng = np.random.default_rng(self.context.seed)
        return rng.random((len(data), len(data)))


@register_model
class TfidfCosine(RetrievalModel):
    name = "tfidf-cosine"
    family = "classical"
    summary = "cosine of TF-IDF character n-gram vectors fitted on training taglines and titles"
    defaults = {"analyzer": "char_wb", "min_df": 1}

    def fit(self, train: TaskData, val: TaskData) -> None:
        p = self.params
        ngrams = (2, 4) if p["analyzer"].startswith("char") else (1, 2)
        self.vectorizer_ = TfidfVectorizer(analyzer=p["analyzer"], ngram_range=ngrams, min_df=p["min_df"],
                                           sublinear_tf=True, strip_accents="unicode")
        self.vectorizer_.fit(query_texts(train) + candidate_texts(train))

    def predict_scores(self, data: TaskData) -> np.ndarray:
        q = self.vectorizer_.transform(query_texts(data))
        c = self.vectorizer_.transform(candidate_texts(data))
        return (q @ c.T).toarray()  # rows are L2-normalised already: this is the cosine


@register_model
class MiniLMCosine(RetrievalModel):
    name = "minilm-cosine"
    family = "classical"
    summary = "cosine of frozen all-MiniLM-L6-v2 embeddings; nothing trained"

    def predict_scores(self, data: TaskData) -> np.ndarray:
        q = minilm_features(self, data, query_texts(data))
        c = minilm_features(self, data, candidate_texts(data))
        return q @ c.T


class PairProjection(nn.Module):
    """Two linear maps, starting at the identity, and a learned temperature (CLIP-style)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.candidate = nn.Linear(dim, dim)
        for layer in (self.query, self.candidate):
            nn.init.eye_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.log_scale = nn.Parameter(torch.tensor(np.log(20.0), dtype=torch.float32))

    def embed(self, q: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (nn.functional.normalize(self.query(q), dim=1),
                nn.functional.normalize(self.candidate(c), dim=1))

    def forward(self, q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        qe, ce = self.embed(q, c)
        return self.log_scale.exp() * qe @ ce.T


@register_model
class MiniLMProjection(RetrievalModel):
    """Fine-tunes a projection of the frozen embeddings with an in-batch contrastive loss.

    The shared training loop scores rows one by one, but a retrieval score needs every
    candidate of the split at once, so this rung has its own short loop with the same
    rules: AdamW, early stopping on the validation MRR, the best epoch restored, a history.
    """

    name = "minilm-projection"
    family = "deep"
    summary = "linear projections of MiniLM embeddings trained on (tagline, title) pairs, InfoNCE"
    defaults = {"lr": 1e-3, "weight_decay": 1e-2, "epochs": 40, "batch_size": 128, "patience": 5}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
                "weight_decay": trial.suggest_float("weight_decay", 1e-4, 1e-1, log=True)}

    def _tensors(self, data: TaskData) -> tuple[torch.Tensor, torch.Tensor]:
        q = minilm_features(self, data, query_texts(data))
        c = minilm_features(self, data, candidate_texts(data))
        return torch.from_numpy(q), torch.from_numpy(c)

    def fit(self, train: TaskData, val: TaskData) -> None:
        p, ctx = self.params, self.context
        torch.manual_seed(ctx.seed)
        q, c = self._tensors(train)
        qv, cv = self._tensors(val)
        self.network_ = PairProjection(q.shape[1] if len(q) else EMBED_DIM)
        optimizer = torch.optim.AdamW(self.network_.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        generator = torch.Generator().manual_seed(ctx.seed)
        epochs = ctx.epochs or p["epochs"]
        started, best, best_state, stale = time.perf_counter(), -np.inf, None, 0
        for epoch in range(1, epochs + 1):
            self.network_.train()
            order, total = torch.randperm(len(q), generator=generator), 0.0
            for start in range(0, len(q), p["batch_size"]):
                idx = order[start:start + p["batch_size"]]
                if len(idx) < 2:
                    continue  # a contrastive batch needs a negative
                logits = self.network_(q[idx], c[idx])
                target = torch.arange(len(idx))
                loss = (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            score = self._val_score(val, qv, cv)
            self.history.append({"epoch": epoch, "train_loss": total / max(len(q), 1), "val_score": score,
                                 "seconds": time.perf_counter() - started})
            if ctx.progress:
                ctx.progress(f"{self.name} epoch {epoch} val {score:.4f}", epoch, epochs)
            if score > best:
                best, stale, best_state = score, 0, copy.deepcopy(self.network_.state_dict())
            else:
                stale += 1
            if ctx.on_epoch:
                ctx.on_epoch(epoch, score)
            if stale >= p["patience"] or (ctx.time_budget and time.perf_counter() - started > ctx.time_budget):
                break
        if best_state is not None:
            self.network_.load_state_dict(best_state)

    def _similarity(self, q: torch.Tensor, c: torch.Tensor) -> np.ndarray:
        self.network_.eval()
        with torch.no_grad():
            qe, ce = self.network_.embed(q, c)
            return (qe @ ce.T).numpy()

    def _val_score(self, val: TaskData, qv: torch.Tensor, cv: torch.Tensor) -> float:
        sim = self._similarity(qv, cv)
        if self.context.val_score:
            return float(self.context.val_score(val.y, sim))
        from moviebench.metrics import retrieval_metrics

        return retrieval_metrics(sim).metrics["mrr"]

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return self._similarity(*self._tensors(data))

    def n_params(self) -> int:
        return int(sum(p.numel() for p in self.network_.parameters()))
