"""One cell = (task, source, model, seed[, training subset]): the unit every command runs.

`bench run`, `bench scale`, `bench run --tuned`, parallel workers and failure handling all go
through `Cell`: it builds the model, fits it, scores validation and test, and returns the
record. Its `identity` is everything that made the result (data, split, labels, settings,
run options, resolved params and where they came from, training subset); a stored record
is current only when its identity is the same, so nothing made another way is shown as
current.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no per-cell lock; two runs into one folder may both train
    fcntl = None  # type: ignore[assignment]

from moviebench import threads
from moviebench.models import MODELS, Model, SkipModel
from moviebench.plugins import code_identity
from moviebench.prepare import PreparedTask, make_context
from moviebench.records import (
    SCHEMA_VERSION,
    Record,
    as_json,
    package_versions,
    read_predictions,
    read_record,
    record_path,
    variant,
    write_predictions,
    write_record,
)
from moviebench.tasks import TaskData

Progress = Callable[[str, int, int], None]


@dataclass
class Cell:
    prep: PreparedTask
    model: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)  # over the model's defaults
    params_source: str = "defaults"  # or "tuned: study … trial …"
    # `bench scale`: train on these rows of the training split only, labelled by their share.
    train_rows: np.ndarray | None = None
    train_fraction: float | None = None

    # ---- identity ------------------------------------------------------------------------

    def path(self, out: Path) -> Path:
        prep = self.prep
        return record_path(
            out,
            prep.spec.name,
            prep.source,
            self.model,
            self.seed,
            prep.loaded.fingerprint,
            train_fraction=self.train_fraction,
            profile=prep.options.profile,
            split_seed=prep.options.split_seed,
            split=prep.options.split,
            variant=self.variant,
        )

    @property
    def variant(self) -> str | None:
        """Tuned (or other non-default) params: a record path and board row of their own."""
        return variant(self.params_source)

    def resolved_params(self) -> dict[str, Any]:
        """The params the model will run with: its current defaults under the given ones, so a
        changed default makes an old record stale."""
        return {**MODELS.get(self.model).defaults, **self.params}

    def options(self) -> dict[str, Any]:
        """The run options that change this cell's result: a weights file only matters to a
        rung that reads one (giving --weights does not rerun the baseline)."""
        options = self.prep.options.identity()
        if not MODELS.get(self.model).takes_weights:
            options["weights"] = None
        return options

    def budget(self) -> dict[str, Any] | None:
        """A network's resolved training budget under the run's profile (None for other rungs)."""
        from moviebench.prepare import pick_device

        options = self.prep.options
        return MODELS.get(self.model).resolve_budget(
            options.profile,
            self.resolved_params(),
            options.epochs,
            options.time_budget,
            device=options.device or pick_device(),
        )

    def identity(self) -> dict[str, Any]:
        prep = self.prep
        return as_json(
            {
                "data_fingerprint": prep.loaded.fingerprint,
                "split_hash": prep.split.hash,
                "labels": prep.data.labels,
                "settings": prep.settings.as_dict(),
                "options": self.options(),
                "params": self.resolved_params(),
                "params_source": self.params_source,
                "budget": self.budget(),
                "n_train": int(len(self.train_split())),
                **self.extractor_identity(),
                **code_identity(MODELS.get(self.model)),
            }
        )

    def extractor_identity(self) -> dict[str, Any]:
        """The inference precision of the frozen extractors a rung reads (BF16 where the
        hardware has it, else FP32): another precision is another result."""
        if not MODELS.get(self.model).extractor_precision:
            return {}
        from moviebench.features.precision import inference_precision
        from moviebench.prepare import pick_device

        return {"precision": inference_precision(self.prep.options.device or pick_device())}

    def is_current(self, record: Record | None) -> bool:
        """A finished record made exactly the way this cell would make it."""
        return record is not None and record.status == "ok" and record.identity == self.identity()

    def stored(self, out: Path) -> Record | None:
        """The finished record for this cell under `out`, if it is current and its test
        scores are readable (a missing or damaged `.npz` is rebuilt by running again).

        A current record of an older layout is brought up to this one in place (nothing is
        retrained): it gains what the cell knows and it lacks, the task's comparison groups."""
        path = self.path(out)
        record = read_record(path)
        if not self.is_current(record):
            return None
        if self.train_fraction is None and read_predictions(path) is None:
            return None
        if record.schema_version < SCHEMA_VERSION:
            record.groups = self.groups()
            record.schema_version = SCHEMA_VERSION
            write_record(path, record)
        return record

    def groups(self) -> list[dict[str, Any]]:
        """The rung groups the task compares on its board (TaskSpec.compare), in its order."""
        return [
            {"name": name, "models": list(models)}
            for name, models in self.prep.spec.compare.items()
        ]

    @contextlib.contextmanager
    def lock(self, out: Path, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
        """Hold this cell's lock file under `out` (`.seed-0.json.lock`): two runs into one
        folder never train the same cell at once. Yields whether another run held it first
        (then the caller looks again for a current record). The lock is released by the
        operating system when the process dies, so a killed run never blocks the next."""
        path = self.path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = path.with_name(f".{path.name}.lock")
        with open(lock_file, "a+b") as fh:
            waited = False
            if fcntl is not None:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    waited = True
                    if on_wait:
                        on_wait()
                    fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield waited
            finally:
                if fcntl is not None:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    # ---- running -------------------------------------------------------------------------

    def train_split(self) -> np.ndarray:
        return self.prep.split.train if self.train_rows is None else self.train_rows

    def make_model(self, **context_extra: Any) -> Model:
        context = make_context(self.prep, self.seed, **context_extra)
        return MODELS.get(self.model)(context=context, **self.params)

    def record(self) -> Record:
        """The record's provenance part, before the model has run."""
        prep = self.prep
        cls = MODELS.get(self.model)
        return Record(
            task=prep.spec.name,
            source=prep.source,
            model=self.model,
            seed=self.seed,
            family=cls.family,
            pretrained_weights=bool(getattr(cls, "pretrained_weights", False)),
            target=prep.spec.target.name,
            primary_metric=prep.spec.primary_metric,
            split_hash=prep.split.hash,
            data_fingerprint=prep.loaded.fingerprint,
            n_train=int(len(self.train_split())),
            n_val=int(len(prep.split.val)),
            n_test=int(len(prep.split.test)),
            labels=prep.data.labels,
            data_notes=prep.data.notes,
            unreadable_files=prep.data.unreadable,
            settings=prep.settings.as_dict(),
            options=self.options(),
            params=self.resolved_params(),
            params_source=self.params_source,
            train_fraction=self.train_fraction,
            identity=self.identity(),
            profile=prep.options.profile,
            budget=self.budget(),
            threads=threads.current(),
            groups=self.groups(),
            versions=package_versions(tuple(cls.versioned_packages)),
        )

    def execute(self, out: Path, progress: Progress | None = None) -> Record:
        """Fit, score, and write the record (and test scores), whatever happens to the model."""
        record, scores = self.compute(progress)
        if scores is not None:
            try:
                write_predictions(self.path(out), **scores)
            except OSError as exc:  # a record without its scores would be rebuilt anyway
                record.status, record.error = "failed", f"test scores not written: {exc}"
        return self.write(out, record)

    def compute(
        self, progress: Progress | None = None
    ) -> tuple[Record, dict[str, np.ndarray] | None]:
        """Fit and score without writing anything: the record and, when the model finished,
        its test scores. A remote worker (executors.py) returns these for the driver to write.
        Whatever raises, building the record included, ends as a failed (or skipped) record."""
        record: Record | None = None
        scores = None
        try:
            with interrupts_seen() as seen:
                record = self.record()
                model = self.make_model(progress=progress)
                record.device = model.context.device
                result, scores = fit_and_score(model, self.prep, self.train_split())
                record.finish(**result)
        except Exception as exc:  # noqa: BLE001 - a failing model must not stop the ladder
            if seen or interrupted(exc):  # Ctrl-C that a native library turned into its error
                raise KeyboardInterrupt from exc
            if record is None:  # the provenance itself could not be built
                record = self.bare_record()
            known = self.model in MODELS  # a cell of an unknown rung: no packages declared
            optional = MODELS.get(self.model).optional_packages if known else {}
            record.status, record.error = failure(exc, optional)
            if record.status == "failed":
                record.traceback = traceback.format_exc()
        return record, scores if record.status == "ok" else None

    def bare_record(self) -> Record:
        """The least a failed record needs, from plain attributes only: for a cell whose full
        record (identity, budget, model class) could not be built."""
        spec, split = self.prep.spec, self.prep.split
        n_train, n_val, n_test = (
            int(len(rows)) for rows in (self.train_split(), split.val, split.test)
        )
        return Record(
            model=self.model,
            seed=self.seed,
            params=dict(self.params),
            params_source=self.params_source,
            train_fraction=self.train_fraction,
            task=spec.name,
            target=str(spec.target),
            primary_metric=spec.primary_metric,
            source=self.prep.source,
            data_fingerprint=self.prep.loaded.fingerprint,
            split_hash=split.hash,
            n_train=n_train,
            n_val=n_val,
            n_test=n_test,
            labels=list(self.prep.data.labels),
            family="unknown",
            settings={},
            options={},
            identity={},  # never current: a rerun trains the cell again
        )

    def failed(self, out: Path, error: str) -> Record:
        """Record a cell that never reported back (a dead worker process, a lost task)."""
        record = self.record()
        record.status, record.error = "failed", error
        return self.write(out, record)

    def write(self, out: Path, record: Record) -> Record:
        """Write the record and return it as it reads back from the file, with its path."""
        path = self.path(out)
        payload = as_json(record.to_dict())
        write_record(path, payload)
        written = Record.from_dict(payload)
        written.path = path
        return written


def missing_extra(exc: ModuleNotFoundError, optional: dict[str, str]) -> str | None:
    """The skip reason for a missing package of the rung's `optional` ones
    (Model.optional_packages: import name -> extra), or None for any other missing module."""
    name = (exc.name or "").split(".")[0]
    extra = optional.get(name)
    if extra is None:
        return None
    return f"needs {name}, which is not installed: pip install 'moviebench[{extra}]'"


@contextlib.contextmanager
def interrupts_seen() -> Iterator[list[int]]:
    """A list that gets an entry for each Ctrl-C (SIGINT) while the block runs. A library
    fitting in native code (XGBoost, LightGBM) may catch the KeyboardInterrupt and raise its
    own error instead: the cell then reads as an abort, not as a failed rung. Only the main
    thread can install a handler; elsewhere (workers ignore SIGINT) the list stays empty."""
    import signal

    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        seen.append(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupted(exc: BaseException) -> bool:
    """Whether an error is a KeyboardInterrupt wrapped by a library (its cause or context)."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def failure(exc: Exception, optional: dict[str, str] | None = None) -> tuple[str, str]:
    """A cell's status and error for what it raised: a rung that cannot run here (no
    weights, a package of its `optional` ones missing) is skipped, anything else failed."""
    if isinstance(exc, SkipModel):
        return "skipped", str(exc)
    missing = isinstance(exc, ModuleNotFoundError)
    extra = missing_extra(exc, optional or {}) if missing else None
    if extra is not None:
        return "skipped", extra
    return "failed", f"{type(exc).__name__}: {exc}"


class ScoreError(Exception):
    """Scores a model returned that do not fit the task (shape, numbers, finite), or a
    primary metric that is not a number: the cell is a failed record saying why."""


def checked_scores(scores: Any, part: TaskData, name: str) -> Any:
    """`scores` if they are the part's scores as its target kind lays them out, else ScoreError."""
    problem = part.target.scores_problem(scores, len(part), part.n_outputs)
    if problem:
        raise ScoreError(f"predict_scores on the {name} split: {problem}")
    return scores


def fit_and_score(
    model: Model, prep: PreparedTask, train_rows: np.ndarray
) -> tuple[dict[str, Any], dict]:
    """Fit on train (with val for early stopping), score val and test, compute the task's
    metrics. Multi-label thresholds come from the validation scores alone.

    The model sees inputs only where it is scored: `predict_scores` gets the validation and
    test splits without labels (`TaskData.without_labels`), and every part it is handed is
    a copy of its own, so nothing it edits reaches the labels scored here or another rung."""
    train, fit_val = prep.data.subset(train_rows), prep.part("val")
    val, test = prep.part("val"), prep.part("test")  # what the model is scored against
    val_inputs, test_inputs = val.without_labels("validation"), test.without_labels("test")
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        model.fit(train, fit_val)
        fit_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        s_val = model.predict_scores(val_inputs)
        s_test = model.predict_scores(test_inputs)
        predict_seconds = time.perf_counter() - t0
    s_val, s_test = checked_scores(s_val, val, "validation"), checked_scores(s_test, test, "test")
    evaluation = prep.spec.target.evaluate(
        test.y,
        s_test,
        labels=prep.data.labels,
        y_val=val.y,
        s_val=s_val,
        settings=prep.settings.as_dict(),
        metrics=prep.spec.metrics,
        scoring=prep.data.scoring,
    )
    primary = evaluation.metrics[prep.spec.primary_metric]
    if not np.isfinite(primary):  # never a ranked number on a board
        raise ScoreError(f"the primary metric {prep.spec.primary_metric} is {primary}")
    fitted = dict(getattr(model, "fitted_", {}) or {})
    result = {
        "metrics": evaluation.metrics,
        "details": evaluation.details,
        "primary": primary,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "peak_memory_mb": memory.peak_mb,
        "n_params": model.n_params(),
        "history": model.history,
        "fitted": fitted,
        "truncated": bool(fitted.get("truncated", False)),
        "epochs_done": fitted.get("epochs_done"),
        "stopped_by": fitted.get("stopped_by"),
        "capped": fitted.get("capped"),
    }
    return result, {"ids": test.ids, "y": test.y, "scores": s_test}


def validation_parts(prep: PreparedTask) -> tuple[TaskData, TaskData]:
    """The only rows tuning ever sees: the training and validation splits."""
    return prep.part("train"), prep.part("val")


class PeakMemory:
    """Samples this process's resident memory in a thread: the peak over a block, in MB."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)
