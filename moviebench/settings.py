"""Typed task settings: what `--set KEY=VALUE` may change, with types and defaults.

Each task declares one frozen dataclass of settings. `parse_settings` turns the user's raw
`--set` strings into that dataclass: an unknown key gets the closest known names back, a
boolean must be spelled as one (`true`/`false`), and a value of the wrong type is refused
with the key and the type it expects. Models read the resolved settings as a plain dict
(`RunContext.settings`), and every record stores them.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from moviebench.errors import BenchError, UnknownNameError

# Image sides (pixels) any image setting may take, whichever way it is given (--image-size,
# --set image_size=, --set scratch_image_size=...): 5000 px would exhaust a shared machine.
IMAGE_SIZES = (16, 1024)


@dataclass(frozen=True)
class TaskSettings:
    """Settings every task has (none yet); tasks extend it."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class QualitySettings(TaskSettings):
    """tmdb-quality and tmdb-rating: which films count, and where BAD / AVG / GOOD are cut."""

    # Films with fewer votes are left out: their average rating is noise (--min-votes N).
    min_votes: int = 10
    # (BAD below the first, GOOD at or above the second); None: the source's own pair.
    thresholds: tuple[float, float] | None = None


ClassWeight = Literal["none", "largest", "balanced"]


@dataclass(frozen=True)
class GenreSettings(TaskSettings):
    # A genre with fewer training films than this is left out as a label (counted on train only).
    min_label_count: int = 20
    per_label_threshold: bool = False  # one decision threshold per genre, chosen on validation
    map_k: int = 3
    class_weight: ClassWeight = "none"  # report 001's W_i = n_largest / n_i is "largest"


@dataclass(frozen=True)
class ImageSettings(TaskSettings):
    image_size: int | None = None  # overrides both defaults below when given (--image-size)
    scratch_image_size: int = 64  # networks trained from scratch on CPU
    pretrained_image_size: int = 224  # ImageNet encoders see what they were trained on


@dataclass(frozen=True)
class PosterGenreSettings(ImageSettings, GenreSettings):
    min_label_count: int = 10


@dataclass(frozen=True)
class MultimodalSettings(PosterGenreSettings):
    text_field: str | None = None  # default: the title on MovieLens, the overview on TMDB


@dataclass(frozen=True)
class FrameSettings(ImageSettings):
    scratch_image_size: int = 32  # report 000 trains at 32x32
    split: Literal["seen-films", "unseen-films"] = "seen-films"
    min_frames_per_film: int = 3  # a film needs a frame in each of train, val and test
    # Nearby frames are leaky: frames with a time (video-folder) are split by blocks of this
    # many seconds of their film, so frames of one shot or moment share a part.
    block_seconds: float = 30.0


@dataclass(frozen=True)
class RetrievalSettings(TaskSettings):
    pass


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
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
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            where = f"setting for task {task}" if task else "setting"
            if not known:
                raise BenchError(f"unknown {where} '{key}': this task has no settings")
            raise UnknownNameError(where, key, sorted(known))
        values[key] = _coerce(key, value, hints[key])
    settings = cls(**values)
    _check_ranges(settings)
    return settings


def _check_ranges(settings: TaskSettings) -> None:
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if (
            f.name.endswith(("_size", "_count", "_k", "_per_film"))
            and isinstance(value, int)
            and value < 1
        ):
            raise BenchError(f"--set {f.name}={value}: must be at least 1")
        low, high = IMAGE_SIZES
        if f.name.endswith("image_size") and value is not None and not low <= value <= high:
            raise BenchError(f"--set {f.name}={value}: image sides must be {low} to {high} pixels")
    min_votes = getattr(settings, "min_votes", None)
    if min_votes is not None and min_votes < 0:
        raise BenchError(f"--min-votes {min_votes}: must be 0 or more (--set min_votes)")
    thresholds = getattr(settings, "thresholds", None)
    if thresholds is not None and not thresholds[0] < thresholds[1]:
        raise BenchError(f"--set thresholds={thresholds}: the first must be below the second")


def parse_pairs(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--set KEY=VALUE` pairs as a dict of raw strings (typed later against the task)."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--set {item!r}: expected KEY=VALUE")
        out[key.strip()] = raw.strip()
    return out
