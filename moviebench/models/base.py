"""The model contract: small and sklearn-like.

A model declares what it accepts (input kinds, target kinds), its family and its default
params, and its Optuna search space. It implements `fit(train, val)` and
`predict_scores(data)`, which returns class probabilities (multiclass), per-label scores
(multi-label), a query x candidate similarity matrix (retrieval) or one predicted value per
row (regression). Thresholds, metrics,
timing and storage belong to the harness.

As in scikit-learn, `params` are what was asked for and `fit` never changes them: anything
fit decides (an image size, the best epoch, a weight chosen on validation, the network's
initialisation) goes into the dict `fitted_`, which the runner stores beside the params.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from moviebench.errors import SkipModel as SkipModel  # re-exported for models.SkipModel
from moviebench.options import PROFILES
from moviebench.settings import TaskSettings
from moviebench.targets import CLASSIFICATION, TargetKind, target_kind
from moviebench.tasks.base import TaskData

# trivial: nothing learned from inputs; classical: linear, kernel and tree models on hand-made
# features; pretrained: a frozen encoder learned elsewhere + a head trained here; deep: a
# network trained here end to end. The folder a rung lives in says its family.
Family = Literal["trivial", "classical", "pretrained", "deep"]


@dataclass
class RunContext:
    """What the harness lends a model for one fit: seeds, device, budgets and callbacks."""

    seed: int = 0
    device: str = "cpu"
    epochs: int | None = None  # overrides the epoch cap of a network's declared budget
    time_budget: float | None = None  # seconds of training, for networks: an explicit cap only
    profile: str = "quick"  # which declared budget a network trains to (TorchModel.budgets)
    weights: Path | None = None  # pretrained weights file, for rungs that fine-tune
    # Scores a model's validation predictions with the task's primary metric (higher is better).
    val_score: Callable[[np.ndarray, np.ndarray], float] | None = None
    # Called after each epoch with (epoch, val_score); may raise to stop (Optuna pruning).
    on_epoch: Callable[[int, float], None] | None = None
    # Progress display for long loops: called with (description, completed, total).
    progress: Callable[[str, int, int], None] | None = None
    # The task's typed settings (a TaskSettings subclass); read with settings.settings_of.
    settings: TaskSettings = field(default_factory=TaskSettings)


class Model:
    """Base class of every rung in a ladder.

    `params` are the hyperparameters asked for (`defaults` updated by the caller's) and `fit`
    never changes them. What fit decides from the data or the run goes into `fitted_`, a
    JSON-able dict the runner stores in the record as `fitted` (e.g. `{"image_size": 64,
    "best_epoch": 7}`); learned state lives in other attributes ending in `_`.
    """

    name: ClassVar[str]
    family: ClassVar[Family]
    inputs: ClassVar[frozenset[str]]  # input kinds it reads: any of tabular, text, image
    # Target kinds it answers (moviebench.targets): both kinds of classification unless it says.
    targets: ClassVar[frozenset[TargetKind]] = CLASSIFICATION
    defaults: ClassVar[dict[str, Any]] = {}
    summary: ClassVar[str] = ""
    # Starts from weights learned elsewhere (ImageNet, sentence embeddings): shown on leaderboards.
    pretrained_weights: ClassVar[bool] = False
    # Reads `context.weights` (--weights FILE); giving --weights to a rung that does not is refused.
    takes_weights: ClassVar[bool] = False
    # Reads what a frozen extractor (EfficientNet, MiniLM) computed at the machine's inference
    # precision (features/precision.py): that precision is then part of the result's identity.
    extractor_precision: ClassVar[bool] = False
    # Packages of an optional extra this rung imports, by import name -> the extra that installs
    # it: where one is missing the cell is skipped with `pip install 'moviebench[EXTRA]'`, not
    # failed (cell.failure), and the run manifest stamps them while it vouches for the skip.
    optional_packages: ClassVar[dict[str, str]] = {}
    # Distribution names whose installed versions this rung's records keep, beside the core
    # ones every record keeps (records.CORE_PACKAGES).
    versioned_packages: ClassVar[tuple[str, ...]] = ()

    def __init__(self, context: RunContext | None = None, **params: Any) -> None:
        known = set(self.defaults) | self.budget_keys()
        unknown = set(params) - known
        if unknown:
            raise ValueError(
                f"{self.name}: unknown params {sorted(unknown)}; known: {sorted(known)}"
            )
        self.context = context or RunContext()
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.history: list[dict[str, float]] = []  # per-epoch curves, for networks
        self.fitted_: dict[str, Any] = {}  # what fit decided; params stay as asked

    # The declared training budget per profile: epochs (a cap, with early stopping), patience,
    # batch_size and what sets a step's cost (image_size, max_len, augment...). A rung that
    # trains under a budget (networks, pytabkit rungs) declares every profile here, in this one
    # place; `bench ls` and the README list them. Empty: no budget (a one-shot fit).
    budgets: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def budget_keys(cls) -> set[str]:
        """Budget entries (epochs, image size...) a rung also takes as params."""
        return {key for budget in cls.budgets.values() for key in budget}

    @classmethod
    def resolve_budget(
        cls,
        profile: str,
        params: dict[str, Any],
        epochs: int | None = None,
        time_budget: float | None = None,
        device: str | None = None,
    ) -> dict[str, Any] | None:
        """The budget a fit runs under: the profile's, then params of the same name, then the
        run's explicit --epochs and --time-budget; None for a rung without budgets. Stored in
        the record and its identity. Given the `device`, a declared "amp" is the one it really
        trains in there (`precision.effective_amp`); without it (`bench ls`, the README) the budget
        is as declared."""
        if not cls.budgets:
            return None
        if profile not in PROFILES:
            raise ValueError(f"unknown profile '{profile}': choose one of {', '.join(PROFILES)}")
        if profile not in cls.budgets:
            raise ValueError(f"{cls.name} declares no budget for profile '{profile}'")
        budget = {**cls.budgets[profile]}
        budget.update({k: params[k] for k in cls.budget_keys() if k in params})
        if epochs:
            budget["epochs"] = int(epochs)
        if device is not None and budget.get("amp") == "bf16":
            # Declared BF16 is trained in FP32 where the device has no native BF16, and the
            # record (and its identity) says so: an emulated-BF16 record is not this one.
            # Imported here: it needs torch, and only networks declare an amp.
            from moviebench.features.precision import effective_amp

            budget["amp"] = effective_amp("bf16", device)
        return {"profile": profile, **budget, "time_budget": time_budget}

    def budget(self) -> dict[str, Any] | None:
        """This fit's resolved budget (`resolve_budget` under its context)."""
        ctx = self.context
        return self.resolve_budget(
            ctx.profile, self.params, ctx.epochs, ctx.time_budget, device=ctx.device
        )

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna search space: return params sampled from `trial`. Empty = nothing to tune."""
        return {}

    def fit(self, train: TaskData, val: TaskData) -> None:
        raise NotImplementedError

    def predict_scores(self, data: TaskData) -> np.ndarray:
        raise NotImplementedError

    def n_params(self) -> int | None:
        """Learned parameter count, where it is meaningful."""
        return None

    @classmethod
    def accepts(cls, target: TargetKind, inputs: tuple[str, ...]) -> bool:
        """Whether this model can run on a task with this target kind and these inputs."""
        declared = {target_kind(t) for t in cls.targets}  # kinds, or their names
        return target_kind(target) in declared and set(cls.inputs) <= set(inputs)
