"""Deep image rungs, all trained end to end by the shared loop (models/loop.py).

- `cnn4`: report 001's CNN: four conv blocks (16/32/64/128 filters, batch norm, max-pool,
  dropout), then dense layers.
- `resnet18/34/50`, `vgg16`: torchvision architectures, from scratch by default (quick profile:
  small images, as report 000 trained on 32 x 32 frames; full: report 002's 224 px). `--weights
  FILE` holding a state dict of that architecture makes them fine-tune instead (the record's
  `fitted` says `init`).
- `resnet18-pretrained`, `resnet50-pretrained`, `vgg16-pretrained`: fine-tune from ImageNet
  weights, taken from `--weights` or torchvision's offline cache. Without them the rung is
  skipped ("no pretrained weights found"), never trained from scratch under this name.
- `effnet-finetune`: ImageNet EfficientNet-Lite0 fine-tuned. Its head starts from a linear
  probe on the frozen features and the loop scores that starting point first, so fine-tuning
  keeps the probe unless it improves on it. The backbone learns at a tenth of the head's rate
  after a warm-up, with batch norm frozen. The quick profile trains the top stages only, over
  the frozen stages' outputs computed once (and for mirrored posters, the one augmentation
  that survives caching); the full profile trains every stage on augmented pixels.

Each rung declares its training budget per profile (`budgets`: epochs, patience, batch size,
resolution, augmentation); `--image-size` overrides the declared resolution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn
from torch.utils.data import Dataset

from moviebench.features.batches import TensorBatches
from moviebench.features.cache import cache_key, cached_array
from moviebench.features.images import (
    AUGMENTATION,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageDataset,
    pixels,
    pixels_key,
)
from moviebench.features.precision import inference, inference_precision
from moviebench.features.pretrained_image import EFFNET_PACKAGES, EFFNET_VERSIONS
from moviebench.models import SkipModel, register_model
from moviebench.models.classical.image import image_paths, image_size
from moviebench.models.loop import TorchModel, quick_step_cap
from moviebench.models.pretrained.image import (
    LITE_MEAN,
    LITE_STD,
    EffNetLogReg,
    lite0_weights_for,
    load_efficientnet_lite0,
)
from moviebench.models.spaces import log_uniform
from moviebench.options import IMAGE_CAP_ROWS
from moviebench.tasks.base import TaskData


class DeepImageModel(TorchModel):
    """Pixels from the image cache as one uint8 tensor, batched augmentation on train only
    (features/images.augment_batch), the shared loop."""

    family = "deep"
    inputs = frozenset({"image"})
    # A rung that starts from pretrained weights also reads the pretrained resolution.
    pretrained_weights = False
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    loop_settings = {"channels_last": True}
    defaults: dict[str, Any] = {"lr": 1e-3, "weight_decay": 1e-4}
    # image_size None: the task's default for the rung's kind (fitted_ says which).
    budgets = {
        "quick": {
            "epochs": 20,
            "patience": 4,
            "batch_size": 64,
            "max_steps": quick_step_cap(20, 64, IMAGE_CAP_ROWS),
            "image_size": None,
            "augment": AUGMENTATION,
            "amp": "bf16",
        },
        "full": {
            "epochs": 50,
            "patience": 10,
            "batch_size": 64,
            "image_size": 224,
            "augment": AUGMENTATION,
        },
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            **log_uniform(trial, lr=(1e-4, 3e-3), weight_decay=(1e-6, 1e-2)),
        }

    def size(self) -> int:
        """--image-size, else the budget's declared resolution, else the task's default."""
        return image_size(
            self.context.settings, self.pretrained_weights, self.budget()["image_size"]
        )

    def prepare(self, train: TaskData) -> None:
        self.fitted_["image_size"] = self.size()

    def dataset(self, data: TaskData, training: bool = False) -> ImageDataset:
        images = pixels(image_paths(data), self.size())
        return ImageDataset(
            images,
            self.target_tensor(data),
            augment=training and bool(self.budget()["augment"]),
            mean=self.mean,
            std=self.std,
        )


# ---- report 001's CNN -----------------------------------------------------------------------


class FourBlockCNN(nn.Module):
    """Conv(3x3)-BN-ReLU-MaxPool-Dropout x 4 (16/32/64/128), global pool, dense 128, output."""

    def __init__(
        self, n_outputs: int, dropout: float = 0.25, widths: tuple[int, ...] = (16, 32, 64, 128)
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in widths:
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Dropout(dropout),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(c_in * 4, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(128, n_outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_model
class CNN4(DeepImageModel):
    name = "cnn4"
    summary = (
        "report 001: 4 conv blocks 16/32/64/128 (BN, max-pool, dropout) + dense 128, from scratch"
    )
    defaults = {**DeepImageModel.defaults, "lr": 2e-3}
    # full: report 001's 224 px posters, batches of 100, patience 20.
    budgets = {
        "quick": {
            "epochs": 25,
            "patience": 5,
            "batch_size": 64,
            "max_steps": quick_step_cap(25, 64, IMAGE_CAP_ROWS),
            "image_size": 64,
            "augment": AUGMENTATION,
            "amp": "bf16",
        },
        "full": {
            "epochs": 100,
            "patience": 20,
            "batch_size": 100,
            "image_size": 224,
            "augment": AUGMENTATION,
        },
    }

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


# From scratch on CPU the costliest nets read smaller images (report 000 trained on 32 x 32 frames).
# VGG16's epoch costs most at any size: its 120M-parameter dense top is the same at 32 px.
# quick: BF16 autocast (AVX-512 BF16 made these epochs 1.6-2x faster here: benchmarks/README.md).
QUICK_SCRATCH = {
    arch: {
        "epochs": epochs,
        "patience": 2,
        "batch_size": 64,
        "image_size": px,
        "augment": AUGMENTATION,
    }
    | {"amp": "bf16", "max_steps": quick_step_cap(epochs, 64, IMAGE_CAP_ROWS)}
    for arch, epochs, px in (
        ("resnet18", 6, 64),
        ("resnet34", 3, 64),
        ("resnet50", 4, 48),
        ("vgg16", 3, 32),
    )
}
# Report 002: ResNets and VGG16 at 224 px with augmentation, early stopping on validation.
FULL_TORCHVISION = {
    "epochs": 50,
    "patience": 8,
    "batch_size": 64,
    "image_size": 224,
    "augment": AUGMENTATION,
}
QUICK_PRETRAINED = {
    "epochs": 6,
    "patience": 2,
    "batch_size": 32,
    "max_steps": quick_step_cap(6, 32, IMAGE_CAP_ROWS),
    "image_size": None,
    "augment": AUGMENTATION,
    "amp": "bf16",
}


def replace_head(network: nn.Module, n_outputs: int) -> nn.Module:
    """Swap the 1000-class ImageNet layer for one with the task's outputs."""
    if isinstance(network, torchvision.models.ResNet):
        network.fc = nn.Linear(network.fc.in_features, n_outputs)
    else:  # VGG
        network.classifier[-1] = nn.Linear(network.classifier[-1].in_features, n_outputs)
    return network


def fold_vgg_pooling(network: torchvision.models.VGG, image_size: int) -> bool:
    """Below 64 px a VGG's last feature map is 1 x 1, and torchvision's 7 x 7 adaptive pooling
    only copies that one position 49 times into the first dense layer (25,088 inputs). Fold the
    copies: pool to 1 x 1 and sum the layer's weights over the 49 positions. The network
    computes the same function (ImageNet weights included) with 90 M fewer weights to update,
    which made a vgg16 step at 32 px 2.2x faster here. True when it folded."""
    if image_size >= 64 or not isinstance(network.avgpool, nn.AdaptiveAvgPool2d):
        return False
    first = network.classifier[0]
    cells = first.in_features // 512  # 49 positions of the 7 x 7 grid, channel-major
    folded = nn.Linear(512, first.out_features)
    with torch.no_grad():
        folded.weight.copy_(first.weight.view(first.out_features, 512, cells).sum(-1))
        folded.bias.copy_(first.bias)
    network.avgpool = nn.AdaptiveAvgPool2d(1)
    network.classifier[0] = folded
    return True


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
            raise ValueError(
                f"--weights {self.context.weights}: not a torchvision {self.arch} ImageNet state dict"
            )
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
                raise SkipModel(
                    f"no pretrained weights found for {self.arch} (give --weights FILE, a torchvision "
                    f"{self.arch} state dict, or put it in {torch.hub.get_dir()}/checkpoints)"
                )
            self.fitted_["init"] = "scratch"
        if isinstance(network, torchvision.models.VGG) and fold_vgg_pooling(network, self.size()):
            self.fitted_["head"] = "7x7 pooling of a 1x1 map folded into the first dense layer"
        return replace_head(network, train.n_outputs)


def _torchvision_rung(arch: str, pretrained: bool) -> type[TorchvisionModel]:
    name = f"{arch}-pretrained" if pretrained else arch
    kind = (
        "fine-tuned from ImageNet weights (skipped without them)"
        if pretrained
        else "from scratch (or --weights)"
    )
    overrides = {"lr": 3e-4} if pretrained else {}
    budgets = {
        "quick": QUICK_PRETRAINED if pretrained else QUICK_SCRATCH[arch],
        "full": FULL_TORCHVISION,
    }
    cls = type(
        f"TV_{name.replace('-', '_')}",
        (TorchvisionModel,),
        {
            "name": name,
            "arch": arch,
            "require_weights": pretrained,
            "pretrained_weights": pretrained,
            "summary": f"torchvision {TORCHVISION[arch][0].__name__}, {kind}",
            "defaults": {**DeepImageModel.defaults, **overrides},
            "budgets": budgets,
            "__module__": __name__,
        },
    )
    return register_model(cls)


for _arch in TORCHVISION:
    _torchvision_rung(_arch, pretrained=False)
for _arch in ("resnet18", "resnet50", "vgg16"):
    _torchvision_rung(_arch, pretrained=True)


# ---- EfficientNet-Lite0 fine-tuned ------------------------------------------------------------

TRUNK_BATCH = 16  # small batches ran fastest for the Lite0 extractor on this CPU
LITE0_STAGES = 7  # timm's tf_efficientnet_lite0 has seven stages of blocks after its stem


class Lite0Classifier(nn.Module):
    """EfficientNet-Lite0 with a new head; the stem and the first `7 - train_stages` stages frozen.

    With `from_trunk`, inputs are the frozen part's outputs (computed once, see
    `EffNetFineTune.trunk_outputs`) rather than pixels: the same network, trained the same
    way, since the frozen part has no dropout and its batch norm stays in eval mode.
    """

    def __init__(
        self,
        backbone: nn.Module,
        n_outputs: int,
        train_stages: int = LITE0_STAGES,
        from_trunk: bool = False,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.split = LITE0_STAGES - train_stages  # stages below this index are frozen
        self.from_trunk = from_trunk
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.num_features, n_outputs)
        if self.split > 0:
            for module in (backbone.conv_stem, backbone.bn1, *backbone.blocks[: self.split]):
                module.requires_grad_(False)

    def train(self, mode: bool = True) -> Lite0Classifier:
        """Batch-norm statistics stay at their ImageNet values: small poster batches would drift them."""
        super().train(mode)
        for module in self.backbone.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen part: stem and the first stages."""
        x = self.backbone.bn1(self.backbone.conv_stem(x))
        return self.backbone.blocks[: self.split](x)

    def top(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features from the trained stages."""
        b = self.backbone
        x = b.bn2(b.conv_head(b.blocks[self.split :](x)))
        return b.forward_head(x, pre_logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.top(x if self.from_trunk else self.trunk(x))))


class TrunkDataset(TensorBatches):
    """Batches (frozen-trunk output, y); for training, each sample takes the mirrored poster's
    output with probability 1/2 (horizontal flip, computed once like the rest), drawn per
    sample from the loop's generator."""

    def __init__(self, plain: np.ndarray, mirrored: np.ndarray | None, y: torch.Tensor) -> None:
        stored = [torch.from_numpy(plain)]
        if mirrored is not None:
            stored.append(torch.from_numpy(mirrored))
        super().__init__(*stored, y)
        self.y = y

    def transform(
        self, parts: list[torch.Tensor], training: bool, generator: torch.Generator | None
    ) -> list[torch.Tensor]:
        plain, y = parts[0].float(), parts[-1]
        if training and len(parts) == 3:
            flip = torch.rand(len(y), generator=generator).to(plain.device) < 0.5
            plain = torch.where(flip[:, None, None, None], parts[1].float(), plain)
        return [plain, y]


@register_model
class EffNetFineTune(DeepImageModel):
    name = "effnet-finetune"
    extractor_precision = True
    optional_packages = EFFNET_PACKAGES
    versioned_packages = EFFNET_VERSIONS
    pretrained_weights = True
    takes_weights = True
    mean, std = LITE_MEAN, LITE_STD
    # Score the warm-started head first, so fine-tuning never ends worse than the probe.
    loop_settings = {**DeepImageModel.loop_settings, "score_initial": True}
    summary = (
        "ImageNet EfficientNet-Lite0 fine-tuned (head warm-started by a linear probe, backbone at a "
        "lower rate, BN frozen; quick: top stages only)"
    )
    # lr is the backbone's; the new head learns at lr * head_lr_factor.
    defaults = {
        **DeepImageModel.defaults,
        "lr": 1e-4,
        "head_lr_factor": 10.0,
        "weight_decay": 1e-2,
        "warmup_epochs": 1.0,
        "probe_epochs": 200,
    }
    # quick: the top two stages over their stored inputs, no augmentation ("flip" would add mirrored
    # posters, the one augmentation that survives storing the frozen stages' outputs, at the cost of
    # a second pass over the training posters).
    budgets = {
        "quick": {
            "epochs": 4,
            "patience": 2,
            "batch_size": 32,
            "max_steps": quick_step_cap(4, 32, IMAGE_CAP_ROWS),
            # The frozen-stage pass costs per training image before the first step.
            "max_train_rows": IMAGE_CAP_ROWS,
            "image_size": 224,
            "augment": False,
            "train_stages": 2,
        },
        "full": {
            "epochs": 30,
            "patience": 5,
            "batch_size": 32,
            "image_size": 224,
            "augment": AUGMENTATION,
            "train_stages": "all",
        },
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            **log_uniform(trial, lr=(1e-5, 1e-3), weight_decay=(1e-4, 1e-1)),
        }

    def train_stages(self) -> int:
        stages = self.budget()["train_stages"]
        return LITE0_STAGES if stages == "all" else min(int(stages), LITE0_STAGES)

    def from_trunk(self) -> bool:
        """Train over stored frozen-stage outputs: when some stages are frozen and the only
        augmentation is a mirror image (random crops would change the frozen outputs)."""
        return self.train_stages() < LITE0_STAGES and self.budget()["augment"] in (False, "flip")

    def prepare(self, train: TaskData) -> None:
        super().prepare(train)
        self.weights_ = lite0_weights_for(self.context)
        self.fitted_["trained_stages"] = self.train_stages()

    def build_network(self, train: TaskData) -> nn.Module:
        network = Lite0Classifier(
            load_efficientnet_lite0(self.weights_),
            train.n_outputs,
            train_stages=self.train_stages(),
            from_trunk=self.from_trunk(),
        )
        self._warm_start_head(network, train)
        return network

    def parameter_groups(self, network: nn.Module) -> list[dict[str, Any]]:
        lr = float(self.params["lr"])
        return [
            {"params": list(network.backbone.parameters()), "lr": lr},
            {
                "params": list(network.head.parameters()),
                "lr": lr * float(self.params["head_lr_factor"]),
            },
        ]

    def dataset(self, data: TaskData, training: bool = False) -> Dataset:
        if not self.from_trunk():
            return super().dataset(data, training)
        mirrored = (
            self.trunk_outputs(data, mirror=True)
            if training and self.budget()["augment"] == "flip"
            else None
        )
        return TrunkDataset(
            self.trunk_outputs(data, mirror=False), mirrored, self.target_tensor(data)
        )

    def trunk_outputs(self, data: TaskData, mirror: bool) -> np.ndarray:
        """The frozen stages' outputs for a split's posters (float16), cached on disk like features."""
        paths, size = image_paths(data), self.size()
        split = LITE0_STAGES - self.train_stages()
        stat = self.weights_.stat()
        device = self.context.device
        # The frozen pass is inference, run like the feature extractors (channels-last, BF16
        # autocast where the hardware has it): 3,256 posters took 147 s in FP32 here.
        precision = inference_precision(device)
        key = cache_key(
            pixels=pixels_key(paths, size),
            weights=f"{self.weights_}|{stat.st_size}|{stat.st_mtime_ns}",
            split=split,
            mirror=mirror,
            precision=precision,
        )

        def compute() -> np.ndarray:
            network = self.network_ if getattr(self, "network_", None) is not None else None
            trunk = network or Lite0Classifier(
                load_efficientnet_lite0(self.weights_), 1, LITE0_STAGES - split
            )
            trunk.to(device, memory_format=torch.channels_last).eval()
            images = ImageDataset(
                pixels(paths, size),
                torch.zeros(len(paths)),
                mean=self.mean,
                std=self.std,
            )
            chunks, done = [], 0
            with inference(device, precision):
                for batch, _ in images.batches(TRUNK_BATCH, device):
                    batch = (batch.flip(3) if mirror else batch).contiguous(
                        memory_format=torch.channels_last
                    )
                    chunks.append(trunk.trunk(batch).half().cpu().numpy())
                    done += len(batch)
                    if self.context.progress:
                        self.context.progress(f"{self.name}: frozen stages", done, len(images))
            return np.concatenate(chunks)

        return cached_array("effnet-lite0-trunk", key, compute)

    def _warm_start_head(self, network: Lite0Classifier, train_data: TaskData) -> None:
        """Fit the new head on frozen features of the training images (full batch, cheap)."""
        features = torch.from_numpy(EffNetLogReg(context=self.context).features(train_data))
        y = self.target_tensor(train_data)
        loss_fn = self.outputs_.loss()
        optimizer = torch.optim.AdamW(network.head.parameters(), lr=1e-2, weight_decay=1e-2)
        for _ in range(self.params["probe_epochs"]):
            optimizer.zero_grad()
            loss_fn(network.head(features), y).backward()
            optimizer.step()
