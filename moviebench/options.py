"""The options every command that trains shares: which data, which split, which settings.

`bench run`, `bench tune` and `bench scale` embed one `RunOptions`, so a flag means the same
thing everywhere, and the identity of a result (see `cell.Cell.identity`) is built from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The default split seed. Every task shares it, so a film is in the same part on every task
# that uses it; 2 is the seed the first published tmdb-quality boards were made with.
DEFAULT_SPLIT_SEED = 2
# Training budgets every deep rung declares (models/loop.py): `quick` fits two CPU cores,
# `full` is the reports' own recipes, meant for a GPU.
PROFILES = ("quick", "full")
# Declared caps never bind up to this many training rows (every committed board is below it):
# the quick networks' step caps and the classical rungs' row caps (models/caps.py) are set
# from it, so the cost of a quick ladder stops growing with the split beyond it.
CAP_ROWS = 50_000
# An image costs a network ~100x what a table row does, so image rungs' quick caps are set
# from a smaller count: about twice the committed poster board's training split (2,248). The
# quick poster ladder on 2 cores (~23 min) then costs at most ~2x that at any size; without
# it, 28k frames or 45k posters would train for hours (benchmarks/README.md, frame-id).
IMAGE_CAP_ROWS = 4_096
# Seeds numpy, scikit-learn and torch all accept: 0 to 2**32 - 1.
SEED_MAX = 2**32 - 1
# Devices a run may name; "cuda" only where torch sees a GPU.
DEVICES = ("cpu", "cuda")


def check_seed(flag: str, value: int) -> None:
    """Refuse a seed numpy and scikit-learn would reject after the data loaded."""
    from moviebench.errors import BenchError

    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SEED_MAX:
        raise BenchError(f"{flag} {value}: seeds must be whole numbers from 0 to {SEED_MAX}")


def check_timeout(flag: str, value: float | None) -> None:
    """A time limit is a positive, finite number of seconds (None: no limit)."""
    from moviebench.errors import BenchError

    if value is not None and not 0 < value < float("inf"):
        raise BenchError(f"{flag} {value:g}: must be a positive number of seconds")


def check_device(device: str | None) -> None:
    """`--device cuda` on a machine without a GPU is refused before any data loads."""
    from moviebench.errors import BenchError

    if device is None:
        return
    if device not in DEVICES:
        raise BenchError(f"--device {device}: choose one of {', '.join(DEVICES)}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise BenchError("--device cuda: no CUDA device is available here (use --device cpu)")


@dataclass(frozen=True)
class RunOptions:
    source: str | None = None  # None: the task's bundled default source
    data: Path | None = None  # the file or folder the source reads
    features: tuple[str, ...] = ()  # extra source columns offered as features
    settings: dict[str, Any] = field(default_factory=dict)  # raw --set pairs, typed per task
    split_seed: int = DEFAULT_SPLIT_SEED
    epochs: int | None = None  # cap on deep models' epochs
    time_budget: float | None = None  # seconds of training per deep model, an explicit cap
    weights: Path | None = None  # pretrained weights for rungs that take them
    device: str | None = None  # None: CUDA when available
    profile: str = "quick"  # which declared training budget deep rungs use (PROFILES)
    split: str = "hash"  # splits.SPLIT_KINDS: the hash of each film, or the source's own split

    def __post_init__(self) -> None:
        """Refuse values with no meaning, with one line naming the flag. (Leave --epochs and
        --time-budget out for each model's own default: 0 is not "no cap".)"""
        from moviebench.errors import BenchError

        if self.profile not in PROFILES:
            raise BenchError(
                f"unknown profile '{self.profile}': choose one of {', '.join(PROFILES)}"
            )
        check_seed("--split-seed", self.split_seed)
        from moviebench.splits import SPLIT_KINDS

        if self.split not in SPLIT_KINDS:
            raise BenchError(f"--split {self.split}: choose one of {', '.join(SPLIT_KINDS)}")
        check_device(self.device)
        if self.epochs is not None and self.epochs < 1:
            raise BenchError(
                f"--epochs {self.epochs}: must be at least 1 (leave it out for each model's default)"
            )
        if self.time_budget is not None and not 0 < self.time_budget < float("inf"):
            raise BenchError(
                f"--time-budget {self.time_budget:g}: must be a positive number of seconds "
                "(leave it out for each model's default)"
            )

    def identity(self) -> dict[str, Any]:
        """What of these options changes a result (the data itself is identified by its
        fingerprint, the settings by their resolved values, so neither path nor raw strings)."""
        return {
            "features": list(self.features),
            "split_seed": self.split_seed,
            "epochs": self.epochs,
            "time_budget": self.time_budget,
            "profile": self.profile,
            "weights": _file_identity(self.weights),
            # Only when not the hash split, so every record made before stays current.
            **({"split": self.split} if self.split != "hash" else {}),
        }


def _file_identity(path: Path | None) -> str | None:
    """A weights file by name, size and content hash: another file gives another result."""
    if path is None:
        return None
    import hashlib

    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"{path.name}:{path.stat().st_size}:{digest.hexdigest()[:16]}"
