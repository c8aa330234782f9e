"""Model params a user gives: `--param MODEL.KEY=VALUE`, `api.run(params=...)`, a suite's
`params` table.

Each key must be one the model declares (its `defaults` or, for networks, its budget keys;
its search space tunes only those) and each value must have the type of the declared
default: text from the command line is parsed by that type (JSON for lists and tables), a
Python value is checked against it. Anything else is refused in one line naming the model and
the key, before any data is loaded. The given params enter each cell's identity (resolved
over the defaults) and its `params_source`, e.g. `cli: num_leaves=63`, from which the board
labels the row `lightgbm (num_leaves=63)`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from moviebench.errors import BenchError

Params = dict[str, dict[str, Any]]  # model name -> key -> value
# Where given params came from, as `params_source` starts: "<origin>: k=v, ...".
ORIGINS = ("cli", "api", "suite")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def parse_pairs(pairs: Sequence[str], flag: str = "--param") -> dict[str, dict[str, str]]:
    """`MODEL.KEY=VALUE` strings as {model: {key: text}} (a model name may hold dots, the key
    does not); a malformed or repeated pair is a one-line error."""
    parsed: dict[str, dict[str, str]] = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        model, dot, key = name.strip().rpartition(".")
        if not (eq and dot and model and key):
            raise BenchError(
                f"{flag} {pair}: expected MODEL.KEY=VALUE, e.g. lightgbm.num_leaves=63"
            )
        if key in parsed.setdefault(model, {}):
            raise BenchError(f"{flag} {model}.{key}: given more than once")
        parsed[model][key] = text.strip()
    return parsed


def declared(cls: type) -> dict[str, Any]:
    """The keys a model takes as params, with their declared defaults: `defaults`, then the
    budget keys of a network (the first profile's value), which tuning never samples."""
    keys: dict[str, Any] = {}
    for budget in getattr(cls, "budgets", {}).values():
        for key, value in budget.items():
            keys.setdefault(key, value)
    return {**{key: keys.get(key) for key in cls.budget_keys()}, **cls.defaults}


def _typed(value: Any, default: Any, where: str) -> Any:
    """`value` as the type of `default` (parsed when it is command-line text)."""
    text = value if isinstance(value, str) else None
    kind = type(default)
    try:
        if default is None:  # nothing to go by: JSON when it parses, else the text
            if text is None:
                return value
            try:
                return json.loads(text)
            except ValueError:
                return text
        if kind is bool:
            if text is not None and text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            if isinstance(value, bool):
                return value
        elif kind is int:
            if text is not None:
                return int(text)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif kind is float:
            number = float(text) if text is not None else value
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                if math.isfinite(number):
                    return float(number)
        elif kind is str:
            if isinstance(value, str):
                return value
        elif isinstance(default, (list, tuple, dict)):
            parsed = json.loads(text) if text is not None else value
            if isinstance(default, dict) and isinstance(parsed, dict):
                return parsed
            if not isinstance(default, dict) and isinstance(parsed, (list, tuple)):
                return list(parsed)
        elif text is None:
            return value  # a type this module does not know: the model checks it
    except ValueError:
        pass
    name = {bool: "true or false", int: "an integer", float: "a finite number", str: "text"}
    wanted = name.get(kind, "a JSON table" if kind is dict else "a JSON list")
    raise BenchError(f"{where}={value!r}: expected {wanted} (its default is {default!r})")


def check(params: Mapping[str, Mapping[str, Any]], flag: str = "--param") -> Params:
    """The given params typed and checked against each model's declared keys; an unknown
    model or key, or a value of the wrong type, is a one-line error naming both."""
    from moviebench.models import MODELS

    checked: Params = {}
    for model, given in params.items():
        if not isinstance(given, Mapping):
            raise BenchError(f"{flag} {model}: expected a table of KEY = VALUE")
        try:
            keys = declared(MODELS.get(model))
        except BenchError as exc:  # unknown model: the closest names
            raise BenchError(f"{flag} {model}.{next(iter(given), '?')}: {exc}") from None
        for key, value in given.items():
            where = f"{flag} {model}.{key}"
            if key not in keys:
                known = ", ".join(sorted(keys)) or "none"
                raise BenchError(f"{where}: {model} has no param '{key}'; its params: {known}")
            checked.setdefault(model, {})[key] = _typed(value, keys[key], where)
    return checked


def source(origin: str, given: Mapping[str, Any]) -> str:
    """A cell's `params_source` for params given from `origin` (cli, api or suite)."""
    shown = ", ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in sorted(given.items())
    )
    return f"{origin}: {shown}"


def given(params_source: str | None) -> str | None:
    """The params a `params_source` says were given (`num_leaves=63`), or None (defaults,
    tuned): what the board adds to a row's label."""
    origin, _, shown = str(params_source).partition(": ")
    return shown or None if origin in ORIGINS else None
