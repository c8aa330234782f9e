"""Classical image rungs, and the image helpers the other image rungs share.

- `hist-logreg` / `hist-svm`: an HSV colour histogram, then logistic regression or an RBF SVM.
- `FeatureClassifier`: features of the image, then a scikit-learn classifier; the
  pretrained `effnet-logreg` uses it over frozen EfficientNet features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import rgb_to_hsv
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from moviebench.errors import SkipModel
from moviebench.features.cache import cache_key, cached_array
from moviebench.features.images import pixels, pixels_key
from moviebench.models import Model, register_model
from moviebench.models.caps import cap_training_rows
from moviebench.settings import TaskSettings, settings_of
from moviebench.tasks.base import TaskData
from moviebench.tasks.image import ImageSettings


def image_size(settings: TaskSettings, pretrained: bool, declared: int | None = None) -> int:
    """The resolution a rung reads: --image-size if given, else the size its training budget
    declares (networks), else the task's default for its kind."""
    images = settings_of(settings, ImageSettings)
    if images.image_size:
        return images.image_size
    if declared:
        return int(declared)
    return images.image_side(pretrained)


def image_paths(data: TaskData) -> list[str]:
    (col,) = data.columns["image"]
    return data.X[col].astype(str).tolist()


# ---- colour histograms ------------------------------------------------------------------


def hsv_histogram(
    images: np.ndarray, bins: tuple[int, int, int] = (8, 4, 4), marginal: int = 16
) -> np.ndarray:
    """Per image: a joint H x S x V histogram plus a marginal histogram per channel, each summing to 1."""
    hsv = rgb_to_hsv(images.astype(np.float32) / 255.0).reshape(
        len(images), -1, 3
    )  # values in [0, 1]
    n_pix = hsv.shape[1]
    h, s, v = (np.minimum((hsv[..., c] * b).astype(np.int64), b - 1) for c, b in enumerate(bins))
    joint_bin = (h * bins[1] + s) * bins[2] + v
    n_joint = bins[0] * bins[1] * bins[2]
    offsets = np.arange(len(images))[:, None]
    joint = np.bincount((offsets * n_joint + joint_bin).ravel(), minlength=len(images) * n_joint)
    feats = [joint.reshape(len(images), n_joint) / n_pix]
    for c in range(3):
        idx = np.minimum((hsv[..., c] * marginal).astype(np.int64), marginal - 1)
        hist = np.bincount((offsets * marginal + idx).ravel(), minlength=len(images) * marginal)
        feats.append(hist.reshape(len(images), marginal) / n_pix)
    return np.hstack(feats).astype(np.float32)


class FeatureClassifier(Model):
    """Features of the image, then a scikit-learn classifier: one per label when multi-label."""

    inputs = frozenset({"image"})

    def features(self, data: TaskData) -> np.ndarray:
        raise NotImplementedError

    def classifier(self) -> Any:
        raise NotImplementedError

    def fit(self, train: TaskData, val: TaskData) -> None:
        # One-vs-rest (multi-label) scores a label constant in train constant, without a crash.
        estimator = train.target.wrap(make_pipeline(StandardScaler(), self.classifier()))
        self.model_ = estimator.fit(self.features(train), train.y)

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return data.target.estimator_scores(self.model_, self.features(data), data.n_outputs)


class _HistogramModel(FeatureClassifier):
    family = "classical"

    def features(self, data: TaskData) -> np.ndarray:
        size = image_size(self.context.settings, pretrained=False)
        paths = image_paths(data)
        key = cache_key(pixels=pixels_key(paths, size), bins=[8, 4, 4, 16])
        return cached_array("hsv-histogram", key, lambda: hsv_histogram(pixels(paths, size)))


@register_model
class HistLogReg(_HistogramModel):
    name = "hist-logreg"
    summary = "HSV colour histogram (8x4x4 joint + 3x16 marginal) + logistic regression"
    defaults: dict[str, Any] = {"C": 1.0}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}

    def classifier(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=2000)


@register_model
class HistSVM(_HistogramModel):
    name = "hist-svm"
    summary = (
        "HSV colour histogram + RBF SVM (Platt-scaled scores), at most 20,000 rows, 100 classes"
    )
    # A kernel SVM's fit grows faster than its rows (about quadratically): it trains on a
    # seeded subsample of at most max_train_rows, recorded as `capped` where it binds.
    # Over many classes scikit-learn's SVC is one-vs-one: 800 films are 319,600 binary SVMs,
    # and scoring 6k test frames holds 6k x 319,600 decision values (15 GB; a frame-id run at
    # 800 films was killed for memory). Beyond max_classes the rung is skipped, saying why.
    defaults: dict[str, Any] = {
        "C": 1.0,
        "gamma": "scale",
        "max_train_rows": 20_000,
        "max_classes": 100,
    }

    def fit(self, train: TaskData, val: TaskData) -> None:
        # One-vs-rest labels are binary fits; a multiclass fit separates every class at once.
        classes = train.target.classes_per_fit(len(train.labels))
        if classes > self.params["max_classes"]:
            pairs = classes * (classes - 1) // 2
            raise SkipModel(
                f"{classes} classes: a one-vs-one SVM would fit {pairs:,} binary SVMs "
                f"(at most max_classes={self.params['max_classes']}; hist-logreg reads the same "
                "histograms)"
            )
        train, cap = cap_training_rows(train, self.params["max_train_rows"], self.context.seed)
        if cap:
            self.fitted_["capped"] = cap
        super().fit(train, val)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-2, 1e2, log=True)}

    def classifier(self) -> Any:
        # Platt scaling on 3 internal folds, then one SVC refitted on all training rows.
        return CalibratedClassifierCV(
            SVC(C=self.params["C"], gamma=self.params["gamma"]), ensemble=False, cv=3
        )
