"""benchmarks/gpu_check.py runs where there is no GPU (--smoke): the script the lead takes to a
GPU machine must not first fail there on a typo. Peak and two training families only (~2 s)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from benchmarks import gpu_check


def test_smoke_run_writes_table_and_json(tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    code = gpu_check.main(
        [
            "--out", str(tmp_path), "--smoke", "--device", "cpu",
            "--sections", "peak,epoch", "--families", "mlp,cnn4",
        ]
    )  # fmt: skip
    assert code == 0
    assert torch.get_num_threads() == threads  # the smoke run's one thread is given back

    data = json.loads((tmp_path / "gpu_check.json").read_text())
    rows = {(r["section"], r["workload"].split(",")[0], r["precision"]): r for r in data["rows"]}
    assert set(rows) == {
        ("peak", "matmul 256²", "fp32"),
        ("peak", "matmul 256²", "bf16"),
        ("epoch", "mlp", "fp32"),
        ("epoch", "cnn4 64 px", "fp32"),
    }
    mlp = rows[("epoch", "mlp", "fp32")]
    assert mlp["n"] == 512 and mlp["rate"] > 0 and 0 < mlp["share"] < 1.5
    assert mlp["peak_key"] == "fp32" and data["peaks_tflops"]["fp32"] > 0
    assert data["meta"]["failed_sections"] == [] and "failed_rows" not in data["meta"]
    # cnn4 also ran on ready tensors: the share of its epoch spent waiting for input.
    assert 0 <= data["meta"]["input_wait_share"]["cnn4"] < 1

    table = (tmp_path / "gpu_check.md").read_text()
    assert "| epoch | cnn4 64 px, batch 64 | fp32 | 64 | 32 |" in table
