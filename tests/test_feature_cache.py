"""Per-item feature store: reuse across subsets and orders, repair, keys, precision, two writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from moviebench.errors import BenchError
from moviebench.features import precision, pretrained_image
from moviebench.features.cache import STATS
from moviebench.features.pretrained_image import effnet_features
from moviebench.features.store import ItemStore, cached_items


def counting_compute(calls: list[int]):  # type: ignore[no-untyped-def]
    """Row i of key 'k<i>' is [i, i, i]; every computed position is recorded."""

    def compute(positions: list[int], keys: list[str]) -> np.ndarray:
        calls.extend(positions)
        return np.array([[float(keys[i][1:])] * 3 for i in positions], dtype=np.float32).reshape(
            -1, 3
        )

    return compute


def rows(keys: list[str], calls: list[int], root: Path | None = None) -> np.ndarray:
    compute = counting_compute(calls)
    return cached_items("toy", keys, lambda positions: compute(positions, keys), chunk=2, root=root)


def test_a_superset_in_another_order_computes_only_the_new_items() -> None:
    calls: list[int] = []
    first = rows(["k1", "k2", "k3"], calls)
    assert sorted(calls) == [0, 1, 2] and first[:, 0].tolist() == [1, 2, 3]
    calls.clear()
    before = STATS.copy()
    second = rows(["k4", "k3", "k1", "k5", "k4"], calls)  # new items, old items, a repeat
    assert second[:, 0].tolist() == [4, 3, 1, 5, 4]
    assert sorted(calls) == [0, 3]  # k4 once, k5: nothing stored is computed again
    assert STATS["toy:miss"] - before["toy:miss"] == 2 and STATS["toy:hit"] - before["toy:hit"] == 2
    calls.clear()
    assert rows([], calls).shape == (0, 3) and rows(["k5"], calls)[0, 0] == 5 and calls == []


def test_a_damaged_row_is_recomputed_and_repaired() -> None:
    calls: list[int] = []
    rows(["k1", "k2", "k3"], calls)
    store = ItemStore("toy")
    con = sqlite3.connect(store.path)
    con.execute(
        "UPDATE items SET data = ? WHERE key = 'k2'", (np.full(3, 9.0, np.float32).tobytes(),)
    )  # bad CRC
    con.execute("UPDATE items SET data = ? WHERE key = 'k3'", (b"\x00\x01",))  # truncated
    con.commit()
    con.close()
    calls.clear()
    before = STATS.copy()
    again = rows(["k1", "k2", "k3"], calls)
    assert again[:, 0].tolist() == [1, 2, 3] and sorted(calls) == [1, 2]
    assert STATS["toy:damaged"] - before["toy:damaged"] == 2
    calls.clear()
    rows(["k1", "k2", "k3"], calls)
    assert calls == []  # repaired in place


def test_a_store_file_that_is_not_a_database_is_set_aside(tmp_path: Path) -> None:
    calls: list[int] = []
    rows(["k1", "k2"], calls, root=tmp_path)
    path = ItemStore("toy", tmp_path).path
    path.write_bytes(b"this is not sqlite" * 100)
    for extra in path.parent.glob("toy.sqlite-*"):  # WAL side files of the old database
        extra.unlink()
    calls.clear()
    assert rows(["k1", "k2"], calls, root=tmp_path)[:, 0].tolist() == [1, 2]
    assert sorted(calls) == [0, 1]
    assert list(path.parent.glob("toy.sqlite.damaged-*"))


def _writer(root: str, start: int) -> None:
    keys = [f"k{i}" for i in range(start, start + 60)]
    for _ in range(10):  # overlapping items, written again and again by both processes
        cached_items(
            "race",
            keys,
            lambda ps: np.array([[float(keys[i][1:])] * 64 for i in ps], np.float32),
            chunk=7,
            root=Path(root),
        )
        ItemStore("race", Path(root)).put(
            {k: np.full(64, float(k[1:]), np.float32) for k in keys[:20]}
        )


def test_two_processes_filling_one_store_leave_it_intact(tmp_path: Path) -> None:
    # fork starts in milliseconds (the writers use only numpy and sqlite); spawn where it is absent.
    ctx = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), start)) for start in (0, 30)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    keys = [f"k{i}" for i in range(90)]
    stored = ItemStore("race", tmp_path).get(keys)
    assert len(stored) == 90
    assert all(np.array_equal(stored[k], np.full(64, float(k[1:]), np.float32)) for k in keys)


# ---- EfficientNet features, with a tiny stand-in network -------------------------------------


class TinyNet(nn.Module):
    """Lite0's interface (forward_features, forward_head, num_features) at a fraction of the cost."""

    num_features = 1280

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 1280, 3)
        self.images = 0

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.images += len(x)
        return self.conv(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = True) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def write_images(folder: Path, n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"poster_{seed}_{i}.png"
        Image.fromarray(rng.integers(0, 255, (30, 20, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture
def tiny_net(monkeypatch: pytest.MonkeyPatch) -> list[TinyNet]:
    loaded: list[TinyNet] = []

    def load(weights: Path | None = None) -> TinyNet:
        loaded.append(TinyNet())
        return loaded[-1]

    monkeypatch.setattr(
        pretrained_image, "load_efficientnet_lite", lambda variant, weights=None: load(weights)
    )
    return loaded


def images_run(loaded: list[TinyNet]) -> int:
    return sum(net.images for net in loaded)


def test_effnet_features_of_a_superset_run_the_network_on_new_images_only(
    tmp_path: Path, tiny_net: list[TinyNet]
) -> None:
    paths = write_images(tmp_path / "a", 6)
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"weights v1")
    first = effnet_features(paths[:4], 16, weights)
    assert first.shape == (4, 1280) and first.dtype == np.float32 and images_run(tiny_net) == 4
    # Another task meets the same posters under other names, in another order, plus two new ones.
    copies = write_images(tmp_path / "copies", 6)
    seen: list[tuple[int, int]] = []
    second = effnet_features(
        copies[::-1], 16, weights, progress=lambda _, done, total: seen.append((done, total))
    )
    assert images_run(tiny_net) == 6 and seen[-1] == (2, 2)
    np.testing.assert_array_equal(second[::-1][:4], first)
    effnet_features(paths[1:3], 16, weights)
    assert (
        images_run(tiny_net) == 6 and len(tiny_net) == 2
    )  # all stored: the network is not even loaded


def test_effnet_keys_follow_size_weights_and_precision(
    tmp_path: Path, tiny_net: list[TinyNet], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_images(tmp_path, 3)
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"weights v1")
    monkeypatch.setenv("MOVIEBENCH_PRECISION", "fp32")
    effnet_features(paths, 16, weights)
    assert images_run(tiny_net) == 3
    effnet_features(paths, 20, weights)  # another resolution
    assert images_run(tiny_net) == 6
    monkeypatch.setenv("MOVIEBENCH_PRECISION", "bf16")  # another precision
    effnet_features(paths, 16, weights)
    assert images_run(tiny_net) == 9
    moved = tmp_path / "elsewhere.pth"
    moved.write_bytes(weights.read_bytes())  # the same weights at another path: same features
    effnet_features(paths, 16, moved)
    assert images_run(tiny_net) == 9
    weights.write_bytes(b"weights v2")  # other weights under the same name
    effnet_features(paths, 16, weights)
    assert images_run(tiny_net) == 12


def test_real_lite0_loading_path_and_precisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_image_models import tf_layout_state_dict

    weights = tmp_path / "lite0.pth"
    torch.save(tf_layout_state_dict(seed=4), weights)
    paths = write_images(tmp_path, 3)
    monkeypatch.setenv("MOVIEBENCH_PRECISION", "fp32")
    fp32 = effnet_features(paths, 32, weights)
    network = pretrained_image.load_efficientnet_lite0(weights)
    images = np.stack(
        [
            np.asarray(Image.open(p).convert("RGB").resize((32, 32), Image.Resampling.BILINEAR))
            for p in paths
        ]
    )
    direct = pretrained_image.lite0_features(network, images, precision="fp32")
    np.testing.assert_allclose(fp32, direct, rtol=1e-4, atol=1e-4)
    monkeypatch.setenv("MOVIEBENCH_PRECISION", "bf16")
    before = STATS["effnet-lite0:miss"]
    bf16 = effnet_features(paths, 32, weights)
    assert STATS["effnet-lite0:miss"] == before + 3  # its own entries, never mixed with FP32 ones
    cosine = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert bf16.dtype == np.float32 and cosine.min() > 0.95 and not np.array_equal(fp32, bf16)


# ---- precision ---------------------------------------------------------------------------------


def test_precision_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOVIEBENCH_PRECISION", raising=False)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert precision.inference_precision("cpu") == "bf16"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert precision.inference_precision("cpu") == "fp32"
    assert precision.inference_precision("mps") == "fp32"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert precision.inference_precision("cuda") == "fp16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert precision.inference_precision("cuda:0") == "bf16"
    monkeypatch.setenv("MOVIEBENCH_PRECISION", " FP32 ")
    assert precision.inference_precision("cuda") == "fp32"
    monkeypatch.setenv("MOVIEBENCH_PRECISION", "bf16")
    assert (
        precision.inference_precision("cpu") == "bf16"
    )  # asked for: honoured even without hardware
    for bad, message in (("fp16", "for CUDA"), ("half", "choose one of")):
        monkeypatch.setenv("MOVIEBENCH_PRECISION", bad)
        with pytest.raises(BenchError, match=message):
            precision.inference_precision("cpu")


def test_inference_context_autocasts_only_when_asked() -> None:
    layer = nn.Linear(4, 4)
    x = torch.ones(2, 4)
    with precision.inference("cpu", "bf16"):
        assert layer(x).dtype == torch.bfloat16 and torch.is_inference_mode_enabled()
    with precision.inference("cpu", "fp32"):
        assert layer(x).dtype == torch.float32 and torch.is_inference_mode_enabled()
