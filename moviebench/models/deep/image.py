"""Deep image rungs, all trained end to end by the shared loop (models/deep/loop.py).

- `cnn4`: report 001's CNN: four conv blocks (16/32/64/128 filters, batch norm, max-pool,
  dropout), then dense layers.
- `resnet18/34/50`, `vgg16`: torchvision architectures, from scratch by default. `--weights
  FILE` holding a state dict of that architecture makes them fine-tune instead (the record's
  `fitted` says `init`).
- `resnet18-pretrained`, `resnet50-pretrained`, `vgg16-pretrained`: fine-tune from ImageNet
  weights, taken from `--weights` or torchvision's offline cache. Without them the rung is
  skipped ("no pretrained weights found"), never trained from scratch under this name.
- `effnet-finetune`: ImageNet EfficientNet-Lite0 fine-tuned end to end. Its head starts from
  a linear probe on the frozen features and the loop scores that starting point first, so
  fine-tuning keeps the probe unless it improves on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from moviebench.features.images import IMAGENET_MEAN, IMAGENET_STD, ImageDataset, pixels
from moviebench.models import SkipModel, register_model
from moviebench.models.classical.image import image_paths, image_size
from moviebench.models.deep.loop import TorchModel
from moviebench.models.pretrained.image import (
    LITE_MEAN,
    LITE_STD,
    EffNetLogReg,
    lite0_weights_for,
    load_efficientnet_lite0,
)
from moviebench.tasks.base import TaskData


class DeepImageModel(TorchModel):
    """Pixels from the image cache, torchvision augmentation on train only, the shared loop."""

    family = "deep"
    inputs = frozenset({"image"})
    # A rung that starts from pretrained weights also reads the pretrained resolution.
    pretrained_weights = False
    max_size: int | None = None  # a cap on the task's default resolution, for the costliest nets
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    loop_settings = {"channels_last": True}
    defaults: dict[str, Any] = {"lr": 1e-3, "weight_decay": 1e-4, "batch_size": 64, "epochs": 30,
                                "time_budget": 100.0, "patience": 4, "augment": True,
                                "image_size": None}  # None: the task's default (fitted_ says which)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            "lr": trial.suggest_float("lr", 1e-4, 3e-3, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        }

    def size(self) -> int:
        if self.params.get("image_size") and not self.context.settings.get("image_size"):
            return int(self.params["image_size"])
        size = image_size(self.context.settings, pretrained=self.pretrained_weights)
        if self.max_size and not self.context.settings.get("image_size"):  # --image-size wins
            size = min(size, self.max_size)
        return size

    def prepare(self, train: TaskData) -> None:
        self.fitted_["image_size"] = self.size()

    def dataset(self, data: TaskData, training: bool = False) -> ImageDataset:
        images = pixels(image_paths(data), self.size())
        return ImageDataset(images, data.y, data.target, augment=training and self.params["augment"],
                            mean=self.mean, std=self.std)

# ---- report 001's CNN -----------------------------------------------------------------------


class FourBlockCNN(nn.Module):
    """Conv(3x3)-BN-ReLU-MaxPool-Dropout x 4 (16/32/64/128), global pool, dense 128, output."""

    def __init__(self, n_outputs: int, dropout: float = 0.25, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in widths:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2), nn.Dropout(dropout)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(c_in * 4, 128), nn.ReLU(inplace=True),
                                  nn.Dropout(0.5), nn.Linear(128, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_model
class CNN4(DeepImageModel):
    name = "cnn4"
    summary = "report 001: 4 conv blocks 16/32/64/128 (BN, max-pool, dropout) + dense 128, from scratch"
    defaults = {**DeepImageModel.defaults, "lr": 2e-3, "time_budget": 60.0}

    def build_network(self, train: TaskData) -> nn.Module:
        return FourBlockCNN(train.n_outputs)


# ---- torchvision architectures ----------------------------------------------------------------

TORCHVISION = {
    "resnet18": (torchvision.models.resnet18, "ResNet18_Weights"),
    "resnet34": (torchvision.models.resnet34, "ResNet34_Weights"),
    "resnet50": (torchvision.models.resnet50, "ResNet50_Weights"),
    # The batch-norm variant: plain VGG16 does not train from scratch with this budget.
    "vgg16": (torchvision.models.vgg16_bn, "VGG16_BN_Weights"),
}


SCRATCH_MAX_SIZE = {"resnet50": 48, "vgg16": 32}


def replace_head(network: nn.Module, n_outputs: int) -> nn.Module:
    """Swap the 1000-class ImageNet layer for one with the task's outputs."""
    if isinstance(network, torchvision.models.ResNet):
        network.fc = nn.Linear(network.fc.in_features, n_outputs)
    else:  # VGG
        network.classifier[-1] = nn.Linear(network.classifier[-1].in_features, n_outputs)
    return network


def torchvision_offline_weights(arch: str) -> Path | None:
    """torchvision's ImageNet checkpoint for `arch` if it is already in the hub cache."""
    weights_enum = getattr(torchvision.models, TORCHVISION[arch][1]).IMAGENET1K_V1
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights_enum.url).name
    return path if path.exists() else None


def load_imagenet_state(network: nn.Module, path: Path) -> bool:
    """Load an ImageNet (1000-class) state dict of this architecture; False if it does not fit."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
        network.load_state_dict(state, strict=True)
    except Exception:  # noqa: BLE001 - a file for another architecture simply does not apply
        return False
    return True


class TorchvisionModel(DeepImageModel):
    arch: str
    require_weights = False
    takes_weights = True

    def build_network(self, train: TaskData) -> nn.Module:
        """The architecture with ImageNet weights where a file fits, else from scratch (fitted_["init"] says which)."""
        factory = TORCHVISION[self.arch][0]
        network = factory(weights=None)  # 1000 classes, so an ImageNet file loads strictly
        if self.context.weights and not load_imagenet_state(network, Path(self.context.weights)):
            # Asked-for weights that do not fit are an error, never a silent run from scratch.
            raise ValueError(f"--weights {self.context.weights}: not a torchvision {self.arch} ImageNet state dict")
        candidates = [Path(self.context.weights)] if self.context.weights else []
        offline = torchvision_offline_weights(self.arch)
        if self.require_weights and offline:
            candidates.append(offline)
        for path in candidates:
            if load_imagenet_state(network, path):
                self.fitted_["init"] = f"weights: {path}"
                break
        else:
            if self.require_weights:
                raise SkipModel(f"no pretrained weights found for {self.arch} (give --weights FILE, a torchvision "
                                f"{self.arch} state dict, or put it in {torch.hub.get_dir()}/checkpoints)")
            self.fitted_["init"] = "scratch"
        return replace_head(network, train.n_outputs)


def _torchvision_rung(arch: str, pretrained: bool) -> type[TorchvisionModel]:
    name = f"{arch}-pretrained" if pretrained else arch
    kind = "fine-tuned from ImageNet weights (skipped without them)" if pretrained else "from scratch (or --weights)"
    overrides = {"lr": 3e-4, "time_budget": 150.0} if pretrained else {"time_budget": 90.0 if arch == "resnet18" else 100.0}
    # From scratch on CPU, ResNet50 and VGG16 read smaller images (report 000 used 32 x 32 frames).
    max_size = None if pretrained else SCRATCH_MAX_SIZE.get(arch)
    cls = type(
        f"TV_{name.replace('-', '_')}", (TorchvisionModel,),
        {"name": name, "arch": arch, "require_weights": pretrained, "pretrained_weights": pretrained,
         "max_size": max_size, "summary": f"torchvision {TORCHVISION[arch][0].__name__}, {kind}",
         "defaults": {**DeepImageModel.defaults, **overrides}, "__module__": __name__},
    )
    return register_model(cls)


for _arch in TORCHVISION:
    _torchvision_rung(_arch, pretrained=False)
for _arch in ("resnet18", "resnet50", "vgg16"):
    _torchvision_rung(_arch, pretrained=True)


# ---- EfficientNet-Lite0 fine-tuned end to end ------------------------------------------------


class Lite0Classifier(nn.Module):
    def __init__(self, backbone: nn.Module, n_outputs: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.num_features, n_outputs)

    def train(self, mode: bool = True) -> Lite0Classifier:
        """Batch-norm statistics stay at their ImageNet values: small poster batches would drift them."""
        super().train(mode)
        for module in self.backbone.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.backbone.forward_head(self.backbone.forward_features(x), pre_logits=True)
        return self.head(self.dropout(pooled))


@register_model
class EffNetFineTune(DeepImageModel):
    name = "effnet-finetune"
    pretrained_weights = True
    takes_weights = True
    mean, std = LITE_MEAN, LITE_STD
    # Score the warm-started head first, so fine-tuning never ends worse than the probe.
    loop_settings = {**DeepImageModel.loop_settings, "score_initial": True}
    summary = "ImageNet EfficientNet-Lite0 fine-tuned end to end (head warm-started by a linear probe)"
    defaults = {**DeepImageModel.defaults, "lr": 1e-4, "batch_size": 32, "time_budget": 150.0, "patience": 2,
                "probe_epochs": 200}

    def build_network(self, train: TaskData) -> nn.Module:
        network = Lite0Classifier(load_efficientnet_lite0(lite0_weights_for(self.context)), train.n_outputs)
        self._warm_start_head(network, train)
        return network

    def _warm_start_head(self, network: Lite0Classifier, train_data: TaskData) -> None:
        """Fit the new head on frozen features of the training images (full batch, cheap)."""
        features = torch.from_numpy(EffNetLogReg(context=self.context).features(train_data))
        y = torch.tensor(train_data.y, dtype=torch.long if train_data.target == "multiclass" else torch.float32)
        loss_fn = nn.CrossEntropyLoss() if train_data.target == "multiclass" else nn.BCEWithLogitsLoss()
        optimizer = torch.optim.AdamW(network.head.parameters(), lr=1e-2, weight_decay=1e-2)
        for _ in range(self.params["probe_epochs"]):
            optimizer.zero_grad()
            loss_fn(network.head(features), y).backward()
            optimizer.step()
