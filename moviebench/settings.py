"""Typed task settings: what `--set KEY=VALUE` may change, with types and defaults.

Each task declares one frozen dataclass of settings beside its task (a `TaskSettings`
subclass: tasks/quality.py's `QualitySettings`...). `parse_settings` turns the user's raw
`--set` strings into that dataclass: an unknown key gets the closest known names back, a
boolean must be spelled as one (`true`/`false`), and a value of the wrong type is refused
with the key and the type it expects. A field's bounds are part of its type
(`Annotated[int, Range(1)]`), checked whenever settings are made; nothing is read from a
field's name. Models read the resolved settings object (`RunContext.settings`, through
`settings_of`), and every record stores them as a dict.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from moviebench.errors import BenchError, UnknownNameError

# Image sides (pixels) any image setting may take, whichever way it is given (--image-size,
# --set image_size=, --set scratch_image_size=...): 5000 px would exhaust a shared machine.
IMAGE_SIZES = (16, 1024)
S = TypeVar("S", bound="TaskSettings")


@dataclass(frozen=True)
class Range:
    """A bound a setting's value must keep, declared in its type:
    `min_label_count: Annotated[int, Range(1)] = 20`. `message` (formatted with `key` and
    `value`) replaces the default line where a bound has a name users know better."""

    low: float | None = None
    high: float | None = None
    message: str = ""

    def check(self, key: str, value: Any) -> None:
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        if (self.low is None or value >= self.low) and (self.high is None or value <= self.high):
            return
        if self.message:
            raise BenchError(self.message.format(key=key, value=value))
        if self.high is None:
            raise BenchError(f"--set {key}={value}: must be at least {self.low}")
        raise BenchError(f"--set {key}={value}: must be {self.low} to {self.high}")


# The typed settings most tasks share.
AtLeastOne = Annotated[int, Range(1)]
ImageSide = Annotated[
    int,
    Range(
        *IMAGE_SIZES,
        message="--set {key}={value}: image sides must be "
        f"{IMAGE_SIZES[0]} to {IMAGE_SIZES[1]} pixels",
    ),
]


@dataclass(frozen=True)
class TaskSettings:
    """Settings every task has (none); each task declares a subclass beside its task, whose
    field types (with their `Range`s) are all the checking it gets. A subclass may add
    `check()` for what spans fields (tmdb-quality's thresholds)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            tp, value = _hints(type(self))[f.name], getattr(self, f.name)
            for bound in _bounds(tp):
                bound.check(f.name, value)
            choices = _choices(tp)
            if choices is not None and value not in choices:
                raise BenchError(f"--set {f.name}={value!r}: expected {_type_name(tp)}")
        self.check()

    def check(self) -> None:
        """What the field types cannot say alone; raise BenchError."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _bounds(tp: Any) -> list[Range]:
    """The Ranges in a field's type, also inside `X | None`."""
    if typing.get_origin(tp) is Annotated:
        return [m for m in tp.__metadata__ if isinstance(m, Range)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [b for arg in typing.get_args(tp) for b in _bounds(arg)]
    return []


def _choices(tp: Any) -> tuple[Any, ...] | None:
    """The values a Literal field (or `Literal[...] | None`) may hold; None for other types."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return _choices(args[0])
    if origin is Literal:
        return args
    if origin in (typing.Union, types.UnionType):
        parts = [(None,) if a is type(None) else _choices(a) for a in args]
        return None if any(p is None for p in parts) else tuple(v for p in parts for v in p)
    return None


def settings_of(settings: Any, cls: type[S]) -> S:
    """`settings` when they are a `cls` (the task declares those fields), else `cls`'s
    defaults: how a model reads the settings it understands without restating defaults."""
    return settings if isinstance(settings, cls) else cls()


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:  # tuple[float, float], not "tuple"
        return f"{getattr(origin, '__name__', origin)}[{', '.join(_type_name(a) for a in args)}]"
    if tp is type(None):
        return "None"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _coerce(key: str, raw: Any, tp: Any) -> Any:
    """`raw` (a string from the command line, or an already-typed value) as type `tp`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:  # the bounds are checked on the whole settings object
        return _coerce(key, raw, args[0])
    expected = f"--set {key}={raw!r}: expected {_type_name(tp)}"
    if origin in (typing.Union, types.UnionType):
        if raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(key, raw, option)
            except BenchError as exc:
                errors.append(str(exc))
        raise BenchError(expected)
    if origin is Literal:
        if raw in args:
            return raw
        raise BenchError(expected)
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise BenchError(f"--set {key}={raw!r}: expected true or false")
    if tp is int:
        if isinstance(raw, bool):
            raise BenchError(expected)
        if isinstance(raw, int):
            return raw
        try:
            return int(str(raw))
        except ValueError:
            raise BenchError(expected) from None
    if tp is float:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise BenchError(expected) from None
        return value
    if tp is str:
        return str(raw)
    if origin is tuple:
        values = raw
        if isinstance(raw, str):
            try:
                values = json.loads(raw if raw.startswith("[") else f"[{raw}]")
            except json.JSONDecodeError:
                raise BenchError(f"{expected} (e.g. {key}=5.5,6.6)") from None
        if not isinstance(values, (list, tuple)) or (
            args[-1] is not Ellipsis and len(values) != len(args)
        ):
            raise BenchError(f"{expected} (e.g. {key}=5.5,6.6)")
        item_types = [args[0]] * len(values) if args[-1] is Ellipsis else list(args)
        return tuple(_coerce(key, v, t) for v, t in zip(values, item_types))
    raise BenchError(f"--set {key}: settings of type {_type_name(tp)} are not supported")


def parse_settings(cls: type[TaskSettings], raw: Mapping[str, Any], task: str = "") -> TaskSettings:
    """The typed settings of a task from `--set` pairs (strings) or typed values."""
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            where = f"setting for task {task}" if task else "setting"
            if not known:
                raise BenchError(f"unknown {where} '{key}': this task has no settings")
            raise UnknownNameError(where, key, sorted(known))
        values[key] = _coerce(key, value, hints[key])
    return cls(**values)  # each field's bounds and the class's check() run here


def parse_pairs(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--set KEY=VALUE` pairs as a dict of raw strings (typed later against the task)."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--set {item!r}: expected KEY=VALUE")
        out[key.strip()] = raw.strip()
    return out
