"""The one PyTorch training loop every network trained here shares, and `TorchModel`, the
template of a rung whose network it trains.

AdamW (optionally with a warm-up and per-group learning rates), ReduceLROnPlateau on the
validation score, gradient clipping, early stopping on the task's primary metric with the best
epoch restored, per-epoch history (learning curves), and on CUDA mixed precision, channels-last
and pinned-memory loading. Tensor-backed splits (features/batches.py) are fed as index slices
of device tensors, augmented there in batches.

How long a network trains is declared, never measured: each rung states its budget (epoch cap,
patience, batch size, resolution or sequence length) per profile in `budgets` (declared on
Model, which resolves it), and the record stores the resolved budget. The quick profile also caps optimizer steps
(`max_steps`, see `quick_step_cap`), so its cost stops growing with the training split. The
wall clock decides nothing unless the user gives `--time-budget`; a run that cap cuts short is
marked `truncated` in its record. What ended training is recorded as `stopped_by`: "epochs",
"early_stopping", "step_cap" or "time_budget".
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from moviebench.features.batches import TensorBatches, as_batches
from moviebench.features.precision import AMP_MODES as AMP_MODES  # re-exported
from moviebench.features.precision import effective_amp as effective_amp  # re-exported
from moviebench.models.base import Model, RunContext
from moviebench.models.caps import cap_training_rows, join_caps
from moviebench.models.spaces import log_uniform
from moviebench.options import CAP_ROWS
from moviebench.targets import NetworkOutputs, TargetKind, target_kind
from moviebench.tasks.base import TaskData

# The loop's clock: it only timestamps the history, unless an explicit --time-budget is given.
# (A test replaces it with a very slow clock and checks that nothing changes.)
clock = time.perf_counter


STOPPED_BY = ("epochs", "early_stopping", "step_cap", "time_budget")


def quick_step_cap(epochs: int, batch_size: int, rows: int = CAP_ROWS) -> int:
    """The optimizer steps `epochs` epochs take over `rows` training rows at `batch_size`
    (the last batch of an epoch may be short): a quick budget's `max_steps`. A split up to
    `rows` (every committed board: at most ~33k; image rungs pass `IMAGE_CAP_ROWS`) trains
    exactly as uncapped; a larger one stops at the same number of steps whatever its size."""
    return epochs * math.ceil(rows / batch_size)


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class TrainConfig:
    epochs: int = 40
    time_budget: float | None = None  # seconds of training; None (the default): no limit
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6  # epochs without a better validation score before stopping
    max_steps: int | None = None  # optimizer steps, over all epochs; None: no cap
    warmup_epochs: float = 0.0  # the learning rate rises linearly from lr / 10 over these epochs
    grad_clip: float = 1.0
    channels_last: bool = False  # for image models (faster convolutions on CUDA and on CPU)
    # Mixed precision: "fp16" autocast with gradient scaling on CUDA (torch's CUDA default, the
    # loop's; FP32 on a CPU, which has no fast FP16 kernels), "bf16" autocast on CUDA and CPU alike
    # (no scaling needed; a rung's budget declares it, so every machine trains the same way), or
    # "off" (FP32 everywhere, for benchmarks).
    amp: str = "fp16"
    num_workers: int = 0
    # Score the starting weights as epoch 0, so fine-tuning a warm start never ends worse than it began.
    score_initial: bool = False


def _autocast(device: str, config: TrainConfig) -> torch.autocast:
    """The loop's autocast at `effective_amp`: config.amp's dtype on CUDA, BF16 on a CPU only
    where the CPU has it natively, none with amp="off"."""
    amp = effective_amp(config.amp, device)
    return torch.autocast(
        device_type="cpu" if torch.device(device).type == "cpu" else "cuda",
        dtype=torch.bfloat16 if amp == "bf16" else torch.float16,
        enabled=amp != "off",
    )


def _to_device(batch: Any, device: str, channels_last: bool) -> list[torch.Tensor]:
    out = []
    for t in batch:
        t = t.to(device, non_blocking=True)
        if channels_last and t.dim() == 4:
            t = t.contiguous(memory_format=torch.channels_last)
        out.append(t)
    return out


class _TensorLoader:
    """A DataLoader's place for tensor-backed data (`features/batches.py`): each pass is index
    slices of the split's device tensors, shuffled (and, for training, augmented) from the
    loop's generator; no per-item collation."""

    def __init__(
        self,
        data: TensorBatches,
        batch_size: int,
        device: str,
        generator: torch.Generator | None,
    ) -> None:
        self.data, self.batch_size, self.device, self.generator = (
            data,
            batch_size,
            device,
            generator,
        )

    def __len__(self) -> int:
        return self.data.n_batches(self.batch_size)

    def __iter__(self) -> Iterator[list[torch.Tensor]]:
        training = self.generator is not None
        if not training:
            # An unshuffled DataLoader still draws its base seed from the global generator at
            # each pass; drawing it too keeps dropout's stream, and so text and tabular
            # records, what they were with the DataLoader.
            torch.empty((), dtype=torch.int64).random_()
        return self.data.batches(
            self.batch_size,
            self.device,
            shuffle=training,
            generator=self.generator,
            training=training,
        )


def _loader(
    data: Dataset,
    batch_size: int,
    device: str,
    config: TrainConfig,
    generator: torch.Generator | None = None,
) -> Iterable[Any]:
    """Batches of `data`: a training pass when given the shuffling `generator`, else in order.
    Tensor-backed data (TensorBatches, TensorDataset) is sliced on the device; any other
    dataset goes through a DataLoader, item by item."""
    tensors = as_batches(data)
    if tensors is not None:
        return _TensorLoader(tensors, batch_size, device, generator)
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=generator is not None,
        generator=generator,
        num_workers=config.num_workers,
        pin_memory=device == "cuda",
    )


def predict(
    module: nn.Module,
    data: Dataset,
    outputs: NetworkOutputs,
    context: RunContext,
    config: TrainConfig,
) -> np.ndarray:
    """Scores for every row of `data`, read from the network's outputs as the target kind
    says (`outputs`); its items are (inputs..., y) like the training set."""
    device = context.device
    loader = _loader(data, config.batch_size * 2, device, config)
    module.eval()
    chunks = []
    with torch.no_grad(), _autocast(device, config):
        for batch in loader:
            *xs, _ = _to_device(batch, device, config.channels_last)
            chunks.append(outputs.scores(module(*xs).float()).cpu().numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, 0))


def train(
    module: nn.Module,
    train_data: Dataset,
    val_data: Dataset,
    y_val: np.ndarray,
    kind: TargetKind,
    context: RunContext,
    config: TrainConfig,
    name: str = "model",
    outputs: NetworkOutputs | None = None,  # default: the kind's, with no options
    loss_fn: nn.Module | None = None,  # default: the outputs' loss (e.g. BCE with pos_weight)
    predict_fn: Callable[[Dataset], np.ndarray] | None = None,  # validation scores
    param_groups: list[dict[str, Any]] | None = None,  # e.g. a lower lr for a pretrained backbone
) -> list[dict[str, float]]:
    """Train `module` in place, leave it at its best validation epoch, return the history.

    The epoch cap, patience and time budget are the config's alone: `TorchModel.train_config`
    is where a run's --epochs and --time-budget meet a rung's declared budget. When an explicit
    time budget stops training before the epoch cap or early stopping would have, the last
    history entry carries `truncated: 1`; when `config.max_steps` does, `step_cap: 1` (the
    epoch it cut short is validated, and may be the one kept). Every entry counts the
    optimizer steps taken so far (`steps`); `stopped_by(history)` reads what ended training.
    """
    seed_everything(context.seed)
    device = context.device
    module.to(device)
    if config.channels_last:  # oneDNN's CPU convolutions gain too (resnet50: 98 -> 114 samples/s)
        module.to(memory_format=torch.channels_last)
    kind = target_kind(kind)  # a kind's name is taken too
    outputs = outputs if outputs is not None else kind.network_outputs(np.zeros(0))
    loss_fn = (loss_fn if loss_fn is not None else outputs.loss()).to(device)
    groups = (
        param_groups if param_groups is not None else [{"params": [p for p in module.parameters()]}]
    )
    groups = [{**g, "params": [p for p in g["params"] if p.requires_grad]} for g in groups]
    optimizer = torch.optim.AdamW(
        [g for g in groups if g["params"]], lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=2
    )
    scaler = torch.amp.GradScaler("cuda", enabled=effective_amp(config.amp, device) == "fp16")
    generator = torch.Generator().manual_seed(context.seed)
    loader = _loader(train_data, config.batch_size, device, config, generator=generator)
    if predict_fn is None:

        def predict_fn(data: Dataset) -> np.ndarray:
            return predict(module, data, outputs, context, config)

    epochs, budget = config.epochs, config.time_budget
    warmup = _Warmup(optimizer, config.warmup_epochs * len(loader))
    started = clock()

    def out_of_time() -> bool:  # only ever true under an explicit --time-budget
        return budget is not None and clock() - started > budget

    best_score, best_state, stale, steps = -np.inf, None, 0, 0
    max_steps = config.max_steps
    history: list[dict[str, float]] = []
    if config.score_initial:
        validation = _validate(predict_fn(val_data), y_val, kind, context)
        best_score = validation["val_score"]
        best_state = copy.deepcopy({k: v.detach().cpu() for k, v in module.state_dict().items()})
        history.append(
            {"epoch": 0, **validation, "lr": config.lr, "seconds": clock() - started, "steps": 0}
        )

    for epoch in range(1, epochs + 1):
        module.train()
        total, count, cut, capped, batches = 0.0, 0, False, False, 0
        for batch in loader:
            if count and out_of_time():
                cut = True  # slow models (large images on CPU) stop mid-epoch rather than overrun the cap
                break
            warmup.step()
            *xs, y = _to_device(batch, device, config.channels_last)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, config):
                loss = loss_fn(module(*xs).float(), y)  # the loss in FP32 under autocast
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            total += float(loss.detach()) * len(y)
            count += len(y)
            steps += 1
            batches += 1
            if max_steps is not None and steps >= max_steps:
                # The cap ended training only if it cut the epochs short.
                capped = epoch < epochs or batches < len(loader)
                break

        validation = _validate(predict_fn(val_data), y_val, kind, context)
        score = validation["val_score"]
        if warmup.done:  # the plateau schedule starts once the warm-up has reached the full rate
            scheduler.step(score)
        history.append(
            {
                "epoch": epoch,
                "train_loss": total / max(count, 1),
                **validation,
                "lr": optimizer.param_groups[0]["lr"],
                "seconds": clock() - started,
                "steps": steps,
            }
        )
        if context.progress:
            context.progress(f"{name} epoch {epoch} val {score:.4f}", epoch, epochs)
        if score > best_score:
            best_score, stale = score, 0
            best_state = copy.deepcopy(
                {k: v.detach().cpu() for k, v in module.state_dict().items()}
            )
        else:
            stale += 1
        if context.on_epoch:
            context.on_epoch(epoch, float(score))  # may raise optuna.TrialPruned
        if cut or (epoch < epochs and stale < config.patience and out_of_time()):
            history[-1]["truncated"] = (
                1.0  # the explicit time cap, not the declared budget, ended training
            )
            break
        if stale >= config.patience:
            history[-1]["early_stopping"] = 1.0
            break
        if capped:
            history[-1]["step_cap"] = 1.0
            break
        if max_steps is not None and steps >= max_steps:
            break  # the cap fell on the last step of the last epoch: the epochs ended it

    if best_state is not None:
        module.load_state_dict(best_state)
    return history


class _Warmup:
    """Linear learning-rate warm-up over the first `steps` batches, from a tenth of each group's rate."""

    def __init__(self, optimizer: torch.optim.Optimizer, steps: float) -> None:
        self.optimizer, self.steps, self.taken = optimizer, int(round(steps)), 0
        self.base = [g["lr"] for g in optimizer.param_groups]
        if self.steps:
            self._set(0.1)

    @property
    def done(self) -> bool:
        return self.taken >= self.steps

    def step(self) -> None:
        if self.done:
            return
        self.taken += 1
        self._set(0.1 + 0.9 * self.taken / self.steps)

    def _set(self, factor: float) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base):
            group["lr"] = base * factor


def _validate(
    scores: np.ndarray, y_val: np.ndarray, kind: TargetKind, context: RunContext
) -> dict[str, float]:
    """The epoch's validation score (the task's primary metric, higher is better) and the
    kind's validation loss where it has one, which stands in for the score when no scorer
    is lent."""
    out: dict[str, float] = {}
    loss = kind.val_loss(scores, y_val)
    if loss is not None:
        out["val_loss"] = float(loss)
    if context.val_score:
        score = context.val_score(y_val, scores)
    else:
        score = kind.fallback_score(scores, y_val)
    out["val_score"] = float(score)
    return out


def stopped_by(history: list[dict[str, float]]) -> str | None:
    """What ended training (one of STOPPED_BY), read from the loop's last history entry;
    None for a fit that trained no epoch."""
    if not history:
        return None
    last = history[-1]
    for flag, name in (
        ("truncated", "time_budget"),
        ("early_stopping", "early_stopping"),
        ("step_cap", "step_cap"),
    ):
        if last.get(flag):
            return name
    return "epochs"


def best_epoch(history: list[dict[str, float]]) -> int | None:
    """The epoch whose weights the loop kept: the first with the best validation score."""
    if not history:
        return None
    return int(max(history, key=lambda h: h["val_score"])["epoch"])


def describe_budget(budget: dict[str, Any]) -> str:
    """One line for `bench ls` and the README: "≤40 epochs (patience 6), batch 64, 96 px, augmented"."""
    parts = [
        f"≤{budget['epochs']} epochs (patience {budget['patience']})",
        f"batch {budget['batch_size']}",
    ]
    if budget.get("max_steps"):
        parts.insert(1, f"≤{budget['max_steps']:,} steps")
    if budget.get("max_train_rows"):
        parts.insert(1, f"≤{budget['max_train_rows']:,} training rows")
    if "image_size" in budget:
        parts.append(f"{budget['image_size']} px" if budget["image_size"] else "task's px")
    if "max_len" in budget:
        parts.append(f"{budget['max_len']} tokens")
    if "train_stages" in budget:
        stages = budget["train_stages"]
        parts.append("every stage trained" if stages == "all" else f"top {stages} stages trained")
    if budget.get("augment"):
        parts.append("mirrored" if budget["augment"] == "flip" else "augmented")
    if budget.get("amp") == "bf16":
        parts.append("BF16 autocast")
    known = {
        "amp",
        "profile",
        "epochs",
        "patience",
        "max_steps",
        "max_train_rows",
        "batch_size",
        "image_size",
        "max_len",
        "train_stages",
        "augment",
        "time_budget",
    }
    parts += [f"{k} {v}" for k, v in budget.items() if k not in known]
    return ", ".join(parts)


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def network_search_space(trial: Any) -> dict[str, Any]:
    """The optimiser and regularisation knobs every network trained by this loop has."""
    return {
        **log_uniform(trial, lr=(1e-4, 1e-2), weight_decay=(1e-6, 1e-2)),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
    }


class TorchModel(Model):
    """A rung whose network (`network_`) is trained by this loop: the template every such rung follows.

    `fit` is the same for all of them: `prepare` on the training split (a vocabulary, a
    scaler, an image size), seed, `build_network`, then the loop over `dataset(train,
    training=True)` with validation on `dataset(val)`. A subclass fills in those hooks and,
    where it needs to, `loss` (e.g. per-label class weights), `parameter_groups` (e.g. a
    lower rate for a pretrained backbone) and `scores` (e.g. a retrieval similarity matrix).
    Loop settings come from `train_config` alone.
    """

    # Loop settings a rung fixes rather than exposes as params (e.g. channels_last for images).
    loop_settings: ClassVar[dict[str, Any]] = {}
    # Its declared training budget per profile (`budgets`, resolved by Model.resolve_budget):
    # every network declares every profile.

    def budget(self) -> dict[str, Any]:
        budget = super().budget()
        if budget is None:
            raise ValueError(f"{self.name} declares no training budget (Model.budgets)")
        return budget

    def prepare(self, train: TaskData) -> None:
        """Fit whatever turns a split into tensors, on the training split only."""

    def build_network(self, train: TaskData) -> nn.Module:
        raise NotImplementedError

    def dataset(self, data: TaskData, training: bool = False) -> Dataset:
        """A dataset of (inputs..., y) items; `training` turns on augmentation where there is any."""
        raise NotImplementedError

    def network_outputs(self, train: TaskData) -> NetworkOutputs | None:
        """How the network's outputs are read and trained: the target kind's (softmax,
        sigmoid, a standardised number), given `output_options`."""
        return train.target.network_outputs(train.y, **self.output_options(train))

    def output_options(self, train: TaskData) -> dict[str, Any]:
        """Options for the kind's outputs, e.g. multi-label `pos_weight` per label."""
        return {}

    def target_tensor(self, data: TaskData) -> torch.Tensor:
        """A split's targets as the network trains on them (class ids, label rows, z-scores).
        A split being scored has no labels (`predict_scores` gets inputs only): its items
        carry a placeholder in the target's place, which `predict` never reads."""
        if not data.labelled:
            return torch.zeros(len(data))
        return self.outputs_.targets(data.y)

    def loss(self, train: TaskData) -> nn.Module | None:
        """The training loss; None: the outputs' own."""
        return None

    def parameter_groups(self, network: nn.Module) -> list[dict[str, Any]] | None:
        """Optimizer parameter groups (each may set its own "lr"); None: one group at the config's lr."""
        return None

    def train_config(self) -> TrainConfig:
        """The loop's settings, in one place: the class's `loop_settings`, then the profile's
        declared budget, then params named like TrainConfig fields (lr, weight_decay, ...), then
        the run's --epochs and --time-budget, which win over all (see `resolve_budget`)."""
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        budget = self.budget()
        return TrainConfig(
            **{
                **self.loop_settings,
                **{k: v for k, v in self.params.items() if k in names},
                **{k: v for k, v in budget.items() if k in names},
            }
        )

    def fit(self, train_data: TaskData, val: TaskData) -> None:
        # A budget's `max_train_rows` bounds what a rung computes per training row before its
        # first step (effnet-finetune's frozen-stage pass): a seeded subsample, recorded.
        train_data, rows_cap = cap_training_rows(
            train_data, self.budget().get("max_train_rows"), self.context.seed
        )
        caps = [rows_cap] if rows_cap else []
        self.outputs_ = self.network_outputs(train_data)
        self.prepare(train_data)
        torch.manual_seed(self.context.seed)
        self.network_ = self.build_network(train_data)
        config = self.train_config()
        self.history = train(
            self.network_,
            self.dataset(train_data, training=True),
            self.dataset(val),
            val.y,
            train_data.target,
            self.context,
            config,
            name=self.name,
            outputs=self.outputs_,
            loss_fn=self.loss(train_data),
            predict_fn=self.scores,
            param_groups=self.parameter_groups(self.network_),
        )
        self.fitted_["best_epoch"] = best_epoch(self.history)
        self.fitted_["epochs_done"] = max((int(h["epoch"]) for h in self.history), default=0)
        self.fitted_["truncated"] = bool(self.history and self.history[-1].get("truncated"))
        self.fitted_["stopped_by"] = stopped_by(self.history)
        self.fitted_["steps"] = int(self.history[-1].get("steps", 0)) if self.history else 0
        if self.fitted_["stopped_by"] == "step_cap":
            caps.append(f"{self.fitted_['steps']:,} steps")
        if caps:
            self.fitted_["capped"] = join_caps(caps)

    def scores(self, data: Dataset) -> np.ndarray:
        """The network's scores over a dataset; the loop also validates with this."""
        return predict(self.network_, data, self.outputs_, self.context, self.train_config())

    def predict_scores(self, data: TaskData) -> np.ndarray:
        return self.scores(self.dataset(data))

    def n_params(self) -> int:
        return count_parameters(self.network_)
