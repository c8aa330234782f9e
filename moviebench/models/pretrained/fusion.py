"""Fusion of poster and text for `multimodal-genre` over frozen features: early, late, stacked.

Every rung reads the same cached per-modality features the single-modality rungs use
(EfficientNet-Lite0 poster features, MiniLM text embeddings, TF-IDF fitted on train), so a
fusion rung costs little more than its parts. Anything chosen from data (the late-fusion
weight, calibration, stacking) is chosen on train or validation, never on test. Report 003's
network, trained end to end, is `fusion-resnet18` in models/deep/fusion.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from moviebench import threads
from moviebench.features.pretrained_image import EFFNET_PACKAGES, EFFNET_VERSIONS
from moviebench.features.text import MINILM_PACKAGES, MINILM_VERSIONS
from moviebench.metrics import get_metric
from moviebench.models import Model, register_model
from moviebench.models.classical.image import HistLogReg
from moviebench.models.classical.tabular import lightgbm_early_stopping, linear_params
from moviebench.models.classical.text import texts_of
from moviebench.models.pretrained.image import EffNetLogReg
from moviebench.models.pretrained.text import minilm_features
from moviebench.models.spaces import log_uniform
from moviebench.targets import MULTILABEL
from moviebench.tasks.base import TaskData


def poster_features(model: Model, data: TaskData, kind: str) -> np.ndarray:
    """Cached poster features of the split: 'effnet' (1,280-d, pretrained) or 'hist' (HSV)."""
    extractor = {"effnet": EffNetLogReg, "hist": HistLogReg}[kind](context=model.context)
    return extractor.features(data)  # raises SkipModel when EfficientNet weights are absent


def char_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, strip_accents="unicode"
    )


def label_ap(y: np.ndarray, scores: np.ndarray) -> float:
    """Macro average precision over labels with a positive (the task's mAP), for choices on val."""
    return get_metric("mAP").fn(y, scores)


class _Fusion(Model):
    family = "pretrained"
    extractor_precision = True
    pretrained_weights = True  # EfficientNet poster features, MiniLM text embeddings
    takes_weights = True  # --weights: an EfficientNet-Lite0 state dict for the poster features
    optional_packages = {**EFFNET_PACKAGES, **MINILM_PACKAGES}
    versioned_packages = (*EFFNET_VERSIONS, *MINILM_VERSIONS)
    inputs = frozenset({"image", "text"})
    targets = frozenset({MULTILABEL})
    summary = ""

    def n_params(self) -> int | None:
        return None


# ---- early fusion: one classifier over concatenated features --------------------------------


@register_model
class EarlyFusionLogReg(_Fusion):
    name = "early-fusion-logreg"
    summary = "char TF-IDF of the text + EfficientNet poster features, one logistic regression"
    defaults = {"C": 4.0, "image_weight": 0.05, "image_features": "effnet"}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            **log_uniform(trial, C=(0.1, 50), image_weight=(0.005, 0.5)),
        }

    def _matrix(self, data: TaskData, fit: bool = False) -> sparse.csr_matrix:
        texts = texts_of(data)
        image = poster_features(self, data, self.params["image_features"])
        if fit:
            self.tfidf_ = char_tfidf().fit(texts)
            self.scaler_ = StandardScaler().fit(image)
        # Standardised dense features are scaled down so they don't swamp the unit-norm TF-IDF rows.
        dense = self.scaler_.transform(image) * self.params["image_weight"]
        return sparse.hstack([self.tfidf_.transform(texts), sparse.csr_matrix(dense)]).tocsr()

    def fit(self, train_data: TaskData, val: TaskData) -> None:
        clf = LogisticRegression(C=self.params["C"], max_iter=3000, solver="liblinear")
        self.model_ = OneVsRestClassifier(clf).fit(self._matrix(train_data, fit=True), train_data.y)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return self.model_.predict_proba(self._matrix(data))

    def n_params(self) -> int:
        return linear_params(self.model_)


@register_model
class EarlyFusionLightGBM(_Fusion):
    name = "early-fusion-lgbm"
    versioned_packages = (*_Fusion.versioned_packages, "lightgbm")
    summary = "MiniLM text embeddings + EfficientNet poster features, LightGBM per genre"
    defaults = {
        "learning_rate": 0.05,
        "num_leaves": 15,
        "colsample_bytree": 0.3,
        "min_child_samples": 20,
        "n_estimators": 400,
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 63, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.1, 0.8),
        }

    def _matrix(self, data: TaskData) -> np.ndarray:
        return np.hstack([minilm_features(self, data), poster_features(self, data, "effnet")])

    def fit(self, train_data: TaskData, val: TaskData) -> None:
        import lightgbm

        X, Xv = self._matrix(train_data), self._matrix(val)
        self.models_: list[Any] = []
        for j in range(train_data.n_outputs):
            y, yv = train_data.y[:, j], val.y[:, j]
            if y.min() == y.max():
                self.models_.append(float(y[0]))  # a genre constant in train gets a constant score
                continue
            model = lightgbm.LGBMClassifier(
                **self.params,
                subsample=0.8,
                subsample_freq=1,
                verbose=-1,
                random_state=self.context.seed,
                n_jobs=threads.current(),
            )
            # Early stopping per genre on validation log-loss (validation only, never test).
            model.fit(X, y, **lightgbm_early_stopping(Xv, yv, rounds=40))
            self.models_.append(model)
            if self.context.progress:
                self.context.progress(f"{self.name} genres", j + 1, train_data.n_outputs)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        X = self._matrix(data)
        return np.column_stack(
            [
                np.full(len(X), m) if isinstance(m, float) else m.predict_proba(X)[:, 1]
                for m in self.models_
            ]
        )

    def n_params(self) -> int:
        return int(
            sum(
                m.booster_.trees_to_dataframe().shape[0]
                for m in self.models_
                if not isinstance(m, float)
            )
        )


# ---- late fusion: one model per modality, combined -------------------------------------------


class _PerModality(_Fusion):
    """A text classifier (char TF-IDF + logistic regression) and a poster classifier
    (EfficientNet features + logistic regression), each fitted on train."""

    defaults = {"text_C": 4.0, "image_C": 0.05}

    def text_model(self) -> Any:
        clf = LogisticRegression(C=self.params["text_C"], max_iter=3000, solver="liblinear")
        return make_pipeline(char_tfidf(), OneVsRestClassifier(clf))

    def image_model(self) -> Any:
        clf = LogisticRegression(C=self.params["image_C"], max_iter=3000)
        return make_pipeline(StandardScaler(), OneVsRestClassifier(clf))

    def modality_inputs(self, data: TaskData) -> tuple[list[str], np.ndarray]:
        return texts_of(data), poster_features(self, data, "effnet")

    def fit_modalities(self, train_data: TaskData) -> None:
        texts, images = self.modality_inputs(train_data)
        self.text_ = self.text_model().fit(texts, train_data.y)
        self.image_ = self.image_model().fit(images, train_data.y)

    def modality_scores(self, data: TaskData) -> tuple[np.ndarray, np.ndarray]:
        texts, images = self.modality_inputs(data)
        return self.text_.predict_proba(texts), self.image_.predict_proba(images)


def calibrators(y: np.ndarray, scores: np.ndarray) -> list[LogisticRegression | None]:
    """Per genre, a 1-d logistic (Platt) map from a modality's score to a probability."""
    out: list[LogisticRegression | None] = []
    for j in range(y.shape[1]):
        if y[:, j].min() == y[:, j].max():
            out.append(None)
        else:
            out.append(LogisticRegression(C=1.0).fit(scores[:, [j]], y[:, j]))
    return out


def calibrate(models: list[LogisticRegression | None], scores: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [
            scores[:, j] if m is None else m.predict_proba(scores[:, [j]])[:, 1]
            for j, m in enumerate(models)
        ]
    )


WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


def choose_weight(
    y: np.ndarray, text: np.ndarray, image: np.ndarray
) -> tuple[float, dict[float, float]]:
    """The text weight w maximising mAP of w * text + (1 - w) * image, and mAP at every w."""
    curve = {float(w): label_ap(y, w * text + (1 - w) * image) for w in WEIGHT_GRID}
    return max(curve, key=curve.get), curve


@register_model
class LateFusionAverage(_PerModality):
    name = "late-fusion-avg"
    summary = "text and poster classifiers, probabilities calibrated on validation, weighted average (weight from validation)"

    def fit(self, train_data: TaskData, val: TaskData) -> None:
        self.fit_modalities(train_data)
        text_val, image_val = self.modality_scores(val)
        self.text_cal_ = calibrators(val.y, text_val)
        self.image_cal_ = calibrators(val.y, image_val)
        text_val, image_val = (
            calibrate(self.text_cal_, text_val),
            calibrate(self.image_cal_, image_val),
        )
        # The text weight maximising validation mAP; test labels are never seen here.
        self.weight_, self.val_map_ = choose_weight(val.y, text_val, image_val)
        self.fitted_["text_weight"] = self.weight_

    def predict_scores(self, data: TaskData) -> np.ndarray:
        text, image = self.modality_scores(data)
        return self.weight_ * calibrate(self.text_cal_, text) + (1 - self.weight_) * calibrate(
            self.image_cal_, image
        )


@register_model
class LateFusionStack(_PerModality):
    name = "late-fusion-stack"
    summary = (
        "stacking: logistic regression over both modalities' out-of-fold training probabilities"
    )
    defaults = {"text_C": 4.0, "image_C": 0.05, "meta_C": 1.0, "folds": 5}

    def fit(self, train_data: TaskData, val: TaskData) -> None:
        texts, images = self.modality_inputs(train_data)
        folds = KFold(self.params["folds"], shuffle=True, random_state=self.context.seed)
        # Out-of-fold probabilities: the meta model learns from predictions on rows the base
        # models did not train on, as it will see at test time.
        oof = np.hstack(
            [
                cross_val_predict(
                    clone(self.text_model()), texts, train_data.y, cv=folds, method="predict_proba"
                ),
                cross_val_predict(
                    clone(self.image_model()),
                    images,
                    train_data.y,
                    cv=folds,
                    method="predict_proba",
                ),
            ]
        )
        meta = LogisticRegression(C=self.params["meta_C"], max_iter=2000)
        self.meta_ = OneVsRestClassifier(meta).fit(oof, train_data.y)
        self.fit_modalities(train_data)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return self.meta_.predict_proba(np.hstack(self.modality_scores(data)))
