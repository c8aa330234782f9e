"""Task specs: what each benchmark reads, predicts and is scored on."""

from __future__ import annotations

from moviebench.registry import Registry
from moviebench.tasks.base import TaskData, TaskOptions, TaskSpec, check_no_leakage

TASKS: Registry[TaskSpec] = Registry("task", __name__)


def register_task(spec: TaskSpec) -> TaskSpec:
    return TASKS.add(spec.name, spec)


__all__ = ["TASKS", "TaskData", "TaskOptions", "TaskSpec", "check_no_leakage", "register_task"]
