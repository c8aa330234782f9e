"""Image rungs: weight loading (EfficientNet-Lite0 TF layout, torchvision), skips, caching, eval mode."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import timm
import torch
import torchvision
from PIL import Image

from moviebench.features import cache
from moviebench.models import MODELS, RunContext, SkipModel
from moviebench.models.pretrained.image import load_efficientnet_lite0, map_lite0_state_dict
from moviebench.tasks import TaskData
from moviebench.tasks.image import ImageSettings


def tf_layout_state_dict(seed: int = 0, arch: str = "tf_efficientnet_lite0") -> OrderedDict:
    """A randomly initialised Lite state dict under other names (like the TF port): same order and shapes."""
    torch.manual_seed(seed)
    reference = timm.create_model(arch, pretrained=False).state_dict()
    return OrderedDict(
        (f"_ported.{i}.{name.split('.')[-1]}", t.clone())
        for i, (name, t) in enumerate(reference.items())
    )


def image_data(tmp_path: Path, n: int = 12, target: str = "multilabel") -> TaskData:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = tmp_path / f"img_{i}.png"
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    y = (
        (np.arange(n)[:, None] % np.array([2, 3]) == 0).astype(np.float32)
        if target == "multilabel"
        else np.arange(n) % 2
    )
    return TaskData(
        ids=np.arange(n),
        X=pd.DataFrame({"image": paths}),
        columns={"image": ["image"]},
        y=y,
        labels=["a", "b"],
        target=target,
    )


def test_lite0_tf_layout_loads_tensor_by_tensor(tmp_path: Path) -> None:
    state = tf_layout_state_dict(seed=1)
    path = tmp_path / "lite0.pth"
    torch.save(state, path)
    torch.manual_seed(2)  # the network's own initialisation differs from the file's
    network = load_efficientnet_lite0(path)
    loaded = network.state_dict()
    assert len(loaded) == len(state) == 296
    for (_, expected), (name, got) in zip(state.items(), loaded.items()):
        assert torch.equal(expected, got), name


def test_lite0_mapping_refuses_a_shape_mismatch() -> None:
    target = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    state = tf_layout_state_dict()
    first = next(iter(state))
    state[first] = torch.zeros(1)
    with pytest.raises(ValueError, match="does not fit"):
        map_lite0_state_dict(state, target)
    with pytest.raises(ValueError, match="tensors"):
        map_lite0_state_dict(OrderedDict(list(state.items())[:10]), target)


def test_pretrained_rungs_skip_without_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        torch.hub, "get_dir", lambda: str(tmp_path / "hub")
    )  # no offline checkpoints
    data = image_data(tmp_path)
    model = MODELS.get("resnet18-pretrained")(
        context=RunContext(settings=ImageSettings(image_size=32))
    )
    with pytest.raises(SkipModel, match="no pretrained weights found"):
        model.fit(data, data)
    monkeypatch.setattr("moviebench.models.pretrained.image.packaged_weights", lambda v: None)
    for name in ("effnet-logreg", "effnet-finetune"):
        with pytest.raises(SkipModel, match="no pretrained weights found"):
            MODELS.get(name)(context=RunContext(settings=ImageSettings(image_size=32))).fit(
                data, data
            )


def test_weights_file_makes_torchvision_rung_fine_tune(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    torch.manual_seed(3)
    state = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    data = image_data(tmp_path)
    for name in ("resnet18-pretrained", "resnet18"):
        model = MODELS.get(name)(
            context=RunContext(weights=path, settings=ImageSettings(image_size=32))
        )
        network = model.build_network(data)
        assert model.fitted_["init"] == f"weights: {path}"
        assert torch.equal(network.conv1.weight, state["conv1.weight"])
        assert network.fc.out_features == 2
    # A file for another architecture is an error (issue 12), never a silent run from scratch.
    other = MODELS.get("resnet34")(
        context=RunContext(weights=path, settings=ImageSettings(image_size=32))
    )
    with pytest.raises(ValueError, match="not a torchvision resnet34 ImageNet state dict"):
        other.build_network(data)
    scratch = MODELS.get("resnet34")(context=RunContext(settings=ImageSettings(image_size=32)))
    scratch.build_network(data)
    assert scratch.fitted_["init"] == "scratch" and "init" not in scratch.params


def test_effnet_features_are_cached_and_pooled(tmp_path: Path) -> None:
    path = tmp_path / "lite0.pth"
    torch.save(tf_layout_state_dict(), path)
    data = image_data(tmp_path)
    model = MODELS.get("effnet-logreg")(
        context=RunContext(weights=path, settings=ImageSettings(image_size=32))
    )
    misses = cache.STATS["effnet-lite0:miss"]
    features = model.features(data)
    assert features.shape == (len(data), 1280)
    again = model.features(data)
    assert cache.STATS["effnet-lite0:miss"] == misses + len(data)  # counted per image, each once
    np.testing.assert_array_equal(features, again)
    model.fit(data, data)
    scores = model.predict_scores(data)
    assert scores.shape == (len(data), 2) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("name", ["cnn4", "effnet-finetune"])
def test_deep_rungs_predict_without_augmentation(tmp_path: Path, name: str) -> None:
    weights = tmp_path / "lite0.pth"
    torch.save(tf_layout_state_dict(), weights)
    data = image_data(tmp_path)
    context = RunContext(
        epochs=1,
        weights=weights,
        settings=ImageSettings(image_size=32),
        val_score=lambda y, s: float(-np.mean((y - s) ** 2)),
    )
    model = MODELS.get(name)(context=context, batch_size=4)
    model.fit(data, data)
    first, second = model.predict_scores(data), model.predict_scores(data)
    np.testing.assert_array_equal(first, second)  # eval mode: no random transform, no dropout
    assert first.shape == (len(data), 2)
    assert model.history and model.history[-1]["epoch"] >= 1
    if name == "effnet-finetune":
        assert model.history[0]["epoch"] == 0  # the warm-started head is scored before fine-tuning


def test_effnet_finetune_keeps_batch_norm_statistics(tmp_path: Path) -> None:
    from moviebench.models.deep.image import Lite0Classifier

    path = tmp_path / "lite0.pth"
    torch.save(tf_layout_state_dict(), path)
    network = Lite0Classifier(load_efficientnet_lite0(path), n_outputs=3).train()
    before = network.backbone.bn1.running_mean.clone()
    network(torch.randn(2, 3, 32, 32) * 5 + 3)
    assert network.training and network.dropout.training
    assert torch.equal(network.backbone.bn1.running_mean, before)


def test_lite2_rungs_load_their_own_weights_and_concatenate_with_lite0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moviebench.features import pretrained_image

    lite0, lite2 = tmp_path / "lite0.pth", tmp_path / "lite2.pth"
    torch.save(tf_layout_state_dict(), lite0)
    torch.save(tf_layout_state_dict(seed=4, arch="tf_efficientnet_lite2"), lite2)
    network = pretrained_image.load_efficientnet_lite(pretrained_image.LITE2_VARIANT, lite2)
    assert torch.equal(
        network.conv_stem.weight, next(iter(torch.load(lite2, weights_only=True).values()))
    )
    data = image_data(tmp_path)
    settings = ImageSettings(image_size=32)
    misses = cache.STATS["effnet-lite2:miss"]
    lite2_only = MODELS.get("effnet2-logreg")(context=RunContext(weights=lite2, settings=settings))
    features2 = lite2_only.features(data)
    assert features2.shape == (len(data), 1280)
    assert cache.STATS["effnet-lite2:miss"] == misses + len(data)  # its own store, per image
    # The other size's file is refused, not half-loaded.
    wrong = MODELS.get("effnet2-logreg")(context=RunContext(weights=lite0, settings=settings))
    with pytest.raises(ValueError, match="not an EfficientNet-Lite2 state dict"):
        wrong.features(data)
    # Side by side: Lite0's columns then Lite2's, from the packaged files.
    packaged = {"lite0": lite0, "lite2": lite2}
    monkeypatch.setattr(
        "moviebench.models.pretrained.image.packaged_weights", lambda v: packaged[v.name]
    )
    both = MODELS.get("effnet-concat-logreg")(context=RunContext(settings=settings))
    features = both.features(data)
    lite0_only = MODELS.get("effnet-logreg")(context=RunContext(weights=lite0, settings=settings))
    np.testing.assert_array_equal(features, np.hstack([lite0_only.features(data), features2]))
    both.fit(data, data)
    assert both.predict_scores(data).shape == (len(data), 2)


def test_lite2_rung_skips_with_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("moviebench.models.pretrained.image.packaged_weights", lambda v: None)
    data = image_data(tmp_path)
    for name in ("effnet2-logreg", "effnet-concat-logreg"):
        model = MODELS.get(name)(context=RunContext(settings=ImageSettings(image_size=32)))
        with pytest.raises(SkipModel, match="pip install efficientnet-lite"):
            model.fit(data, data)


def test_vgg_pooling_fold_keeps_the_function_at_small_sizes() -> None:
    """At 32 px the folded head computes what torchvision's 7x7 pooling head computed, with
    512 inputs instead of 25,088; at 64 px (a 2x2 map) nothing is folded."""
    from moviebench.models.deep.image import fold_vgg_pooling

    torch.manual_seed(0)
    network = torchvision.models.vgg11(num_classes=5).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = network(x)
        assert fold_vgg_pooling(network, 32)
        after = network(x)
    assert network.classifier[0].in_features == 512
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)
    assert not fold_vgg_pooling(torchvision.models.vgg11(num_classes=5), 64)
