"""Every rung of every ladder, from the trivial baseline to the deep models."""

from __future__ import annotations

from moviebench.models.base import Model, RunContext, SkipModel
from moviebench.registry import Registry

MODELS: Registry[type[Model]] = Registry("model", __name__)


def register_model(cls: type[Model]) -> type[Model]:
    MODELS.add(cls.name, cls)
    return cls


__all__ = ["MODELS", "Model", "RunContext", "SkipModel", "register_model"]
