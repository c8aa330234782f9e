"""`bench tune`: an Optuna study per (task, source, model, split), scored on validation only.

The objective fits a model on the training split with params drawn from the model's own
`search_space(trial)` and returns the task's primary metric on the validation split. The
test split is never handed to the objective: tuning sees `train` and `val` and nothing else,
so a tuned model's test score stays an honest estimate.

Storage. By default one append-only Optuna journal file in the results directory
(`<out>/tuning/optuna-journal.log`), guarded by an O_EXCL lock file. We prefer it to SQLite
because several `bench tune` processes on one machine write trials concurrently: SQLite
serialises writers on a database-wide lock and answers "database is locked" under contention,
while the journal appends one small record per operation under a short lock and every
process replays the log, which is what Optuna recommends for multi-process work on one
machine. A `postgresql://` URL (or any SQLAlchemy URL Optuna accepts) shares one study
between workers on many machines.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import optuna

from moviebench.cell import Cell, validation_parts
from moviebench.errors import BenchError
from moviebench.models import MODELS
from moviebench.options import RunOptions
from moviebench.prepare import PreparedTask, prepare
from moviebench.reporting import Reporter, SilentReporter
from moviebench.tasks import TASKS

JOURNAL_NAME = "optuna-journal.log"
RDB_SCHEMES = ("postgresql", "postgres", "sqlite", "mysql")

# The trials a study has run: a pruned trial ran too, stopped early on its curve.
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def default_study_name(prep: PreparedTask, model: str) -> str:
    """One study per task, source, model, split and the settings that change the model (image
    size, features, epochs...): a study tuned one way is never reused for a run made another."""
    made = json.dumps(
        {"settings": prep.settings.as_dict(), "options": prep.options.identity()},
        sort_keys=True,
        default=str,
    )
    settings_hash = hashlib.sha256(made.encode()).hexdigest()[:8]
    return f"{prep.spec.name}.{prep.source}.{model}.{prep.split.hash}.{settings_hash}"


def default_journal(out: Path) -> Path:
    return Path(out) / "tuning" / JOURNAL_NAME


def open_storage(url: str | None, out: Path = Path("results")) -> optuna.storages.BaseStorage:
    """The study storage: a journal file by default, an RDB for a database URL.

    `url` may be None (the default journal under `out`), a database URL such as
    `postgresql://user@host/db`, or a path to a journal file (`journal:PATH` or plain PATH).
    """
    if url and url.split(":", 1)[0].split("+", 1)[0] in RDB_SCHEMES:
        url = _with_postgres_driver(url)
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        except Exception as exc:  # noqa: BLE001 - driver errors vary; the user needs one line
            raise BenchError(
                f"--storage {storage_label(url)}: cannot open: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None
    path = Path(url.removeprefix("journal:")) if url else default_journal(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

    # O_EXCL lock files work on every local filesystem (symlink locks do not everywhere).
    return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))


def _with_postgres_driver(url: str) -> str:
    """Name a PostgreSQL driver that is installed: SQLAlchemy 2.1 defaults to psycopg 3, while
    the `all` extra installs psycopg2-binary."""
    import importlib.util

    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            driver = "psycopg" if importlib.util.find_spec("psycopg") else "psycopg2"
            return f"postgresql+{driver}://" + url[len(plain) :]
    return url


def storage_label(url: str | None, out: Path = Path("results")) -> str:
    """Where a study lives, for messages and records, without any password."""
    if url and url.split(":", 1)[0].split("+", 1)[0] in RDB_SCHEMES:
        from sqlalchemy.engine import make_url

        try:
            return make_url(url.replace("postgres://", "postgresql://", 1)).render_as_string(
                hide_password=True
            )
        except Exception:  # noqa: BLE001
            return url.split("@")[-1]
    return str(Path(url.removeprefix("journal:")) if url else default_journal(out))


@dataclass
class StudyJob:
    """One study's trials to run: the prepared task, the request, the study's name and the
    attributes it was made with, and the sampler seed of the first trial."""

    prep: PreparedTask
    req: TuneRequest
    name: str
    attrs: dict[str, Any]
    seed: int


class TrialExecutor(Protocol):
    """Runs a study's trials somewhere else (executors.RayExecutor): each trial joins the
    study in the request's storage, with the same objective and pruner as a local study."""

    def tune(self, job: StudyJob, reporter: Reporter) -> None: ...


@dataclass
class TuneRequest:
    task: str
    model: str
    options: RunOptions = field(default_factory=RunOptions)
    trials: int | None = 20
    timeout: float | None = None
    storage: str | None = None
    study: str | None = None
    out: Path = Path("results")
    seed: int = 0  # the model's seed in every trial
    sampler_seed: int | None = None  # None: the number of trials already in the study
    executor: TrialExecutor | None = None  # None: trials in this process; else e.g. Ray
    fresh: bool = False  # delete the study's earlier trials first (else `trials` more are added)


@dataclass
class TuneResult:
    study: str
    storage: str
    primary_metric: str
    best_value: float | None
    best_params: dict[str, Any]
    best_trial: int | None
    n_complete: int
    n_pruned: int
    n_failed: int
    seconds: float
    n_new: int = 0  # trials this call ran (the study may hold earlier ones)
    defaults_value: float | None = None  # the default params' validation score in the study


def make_objective(prep: PreparedTask, req: TuneRequest) -> Callable[[optuna.Trial], float]:
    """Fit on train with the trial's params; return the primary metric on validation."""
    cls = MODELS.get(req.model)
    spec = prep.spec

    def objective(trial: optuna.Trial) -> float:
        def on_epoch(epoch: int, score: float) -> None:
            # Deep models report each epoch's validation score so the pruner can stop bad trials.
            trial.report(score, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch} (val {score:.4f})")

        # The enqueued first trial (`enqueue_defaults`) runs the model's defaults as they are.
        params = {} if trial.user_attrs.get(DEFAULTS_ATTR) else cls.search_space(trial)
        cell = Cell(prep, req.model, req.seed, params=params)
        model = cell.make_model(on_epoch=on_epoch)
        # Each trial gets parts of its own (the test part is never taken out of `prep`): a
        # model that edits its data in place cannot change the next trial's.
        train, val = validation_parts(prep)
        t0 = time.perf_counter()
        try:
            model.fit(train, val)
            val = prep.part("val")  # fresh labels to score against
            scores = model.predict_scores(val.without_labels("validation"))
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            raise
        trial.set_user_attr("fit_seconds", time.perf_counter() - t0)
        trial.set_user_attr("model_params", cell.resolved_params())
        value = spec.target.validation_score(spec.primary_metric, val.y, scores, prep.data.scoring)
        if model.history:
            trial.set_user_attr("epochs", len(model.history))
        return float(value)

    return objective


DEFAULTS_ATTR = "defaults"  # user attr of the trial that runs the model's default params


def enqueue_defaults(study: optuna.Study) -> bool:
    """Make the model's default params the study's next trial unless a trial already ran or
    waits with them: the best trial is then never worse on validation than the defaults.
    Returns whether it was enqueued."""
    if any(t.user_attrs.get(DEFAULTS_ATTR) for t in study.get_trials(deepcopy=False)):
        return False
    study.enqueue_trial({}, user_attrs={DEFAULTS_ATTR: True})
    return True


def create_or_load_study(
    name: str,
    storage: optuna.storages.BaseStorage,
    attrs: dict[str, Any],
    sampler: optuna.samplers.BaseSampler | None = None,
) -> optuna.Study:
    """Create the study once; every later worker loads it (and checks it is the same question)."""
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    known = study.user_attrs
    if not known:
        for key, value in attrs.items():
            study.set_user_attr(key, value)
    else:
        for key in ("task", "source", "model", "split_hash"):
            if key in known and known[key] != attrs[key]:
                raise BenchError(
                    f"study '{name}' was made for {key}={known[key]}, not {attrs[key]}: "
                    "pick another --study name"
                )
    return study


def _counts(study: optuna.Study) -> tuple[int, int, int]:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    TS = optuna.trial.TrialState
    return states.count(TS.COMPLETE), states.count(TS.PRUNED), states.count(TS.FAIL)


def tune(req: TuneRequest, reporter: Reporter | None = None) -> TuneResult:
    """Run (or continue) the study for one model; progress goes to `reporter`."""
    reporter = reporter or SilentReporter()
    spec = TASKS.get(req.task)
    cls = MODELS.get(req.model)
    if not cls.accepts(spec.target, spec.inputs):
        raise BenchError(f"model '{req.model}' cannot run task {spec.name}")
    if not is_tunable(req.model):
        raise BenchError(f"model '{req.model}' declares no search space: there is nothing to tune")
    if req.trials is None and req.timeout is None:
        raise BenchError("give --trials or --timeout (or both)")

    prep = prepare(spec, req.options)
    name = req.study or default_study_name(prep, req.model)
    storage = open_storage(req.storage, req.out)
    label = storage_label(req.storage, req.out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress bar says what matters
    attrs = {
        "task": spec.name,
        "source": prep.source,
        "model": req.model,
        "split_hash": prep.split.hash,
        "primary_metric": spec.primary_metric,
        "data_fingerprint": prep.loaded.fingerprint,
        "settings": prep.settings.as_dict(),
        "options": prep.options.identity(),
        "objective": f"validation {spec.primary_metric} (higher is better)",
    }
    if req.fresh and name in optuna.study.get_all_study_names(storage):
        optuna.delete_study(study_name=name, storage=storage)
    study = create_or_load_study(name, storage, attrs)
    before = len(study.get_trials(deepcopy=False))
    enqueue_defaults(study)
    # A fresh study is reproducible (seed 0); a worker joining later draws a different stream.
    seed = req.sampler_seed if req.sampler_seed is not None else before
    study.sampler = optuna.samplers.TPESampler(seed=seed)

    objective = make_objective(prep, req)
    started = time.perf_counter()
    reporter.message(
        f"tune {req.model} on {spec.name}/{prep.source} (split {prep.split.hash}): "
        f"study {name} in {label}, {len(study.trials)} trials so far"
    )
    if req.executor is not None:  # the same study, pruner and objective, one Ray task per trial
        req.executor.tune(StudyJob(prep, req, name, attrs, seed), reporter)
    else:
        study.optimize(
            objective,
            n_trials=req.trials,
            timeout=req.timeout,
            catch=(Exception,),
            callbacks=[TrialProgress(reporter, req.trials, spec.primary_metric)],
            gc_after_trial=True,
        )
    complete, pruned, failed = _counts(study)
    if complete == 0:
        errors = [t.user_attrs.get("error") for t in study.trials if t.user_attrs.get("error")]
        raise BenchError(
            f"study {name}: no trial completed ({failed} failed)"
            + (f"; first error: {errors[0]}" if errors else "")
        )
    best = study.best_trial
    defaults = [
        t.value
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if t.user_attrs.get(DEFAULTS_ATTR)
    ]
    return TuneResult(
        study=name,
        storage=label,
        primary_metric=spec.primary_metric,
        best_value=best.value,
        best_params=best.user_attrs.get("model_params", best.params),
        best_trial=best.number,
        n_complete=complete,
        n_pruned=pruned,
        n_failed=failed,
        seconds=time.perf_counter() - started,
        n_new=len(study.get_trials(deepcopy=False)) - before,
        defaults_value=defaults[0] if defaults else None,
    )


class TrialProgress:
    """An Optuna callback: each trial's end as a line with the study's best so far (as the
    Ray executor reports its trials), a failed one as a warning, and the trials done in this
    process as progress."""

    def __init__(self, reporter: Reporter, total: int | None, metric: str) -> None:
        self.reporter = reporter
        self.total = total
        self.metric = metric
        self.done = 0

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.done += 1
        complete, pruned, failed = _counts(study)
        self.reporter.progress(
            f"trials | study: {complete} complete, {pruned} pruned, {failed} failed",
            self.done,
            self.total,
        )
        if trial.state == optuna.trial.TrialState.FAIL:
            self.reporter.warning(
                f"trial {trial.number} failed: {trial.user_attrs.get('error', '?')}"
            )
            return
        try:
            best = (
                f"best val {self.metric} {study.best_value:.4f} (trial {study.best_trial.number})"
            )
        except ValueError:
            best = "no trial complete yet"
        value = "" if trial.value is None else f" {trial.value:.4f}"
        self.reporter.message(f"trial {trial.number} {trial.state.name.lower()}{value}; {best}")


def best_params(study: optuna.Study) -> tuple[dict[str, Any], optuna.trial.FrozenTrial] | None:
    """The best completed trial's model params, or None when no trial completed."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    return best.user_attrs.get("model_params", best.params), best


def tuned_params(
    prep: PreparedTask, models: list[str], storage_url: str | None, out: Path
) -> tuple[dict[str, dict[str, Any]], dict[str, str], list[str]]:
    """Each model's best tuned params and where they came from, plus notes to show.

    Looks up the default study of every model (same task, source, split and settings) in
    `storage_url` (default: the journal under `out`). Models without a search space keep their
    defaults; a model with one but no finished study keeps its defaults and the record says so.
    """
    storage = open_storage(storage_url, out)
    label = storage_label(storage_url, out)
    existing = set(optuna.study.get_all_study_names(storage))
    params: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    notes = []
    for model in models:
        name = default_study_name(prep, model)
        study = optuna.load_study(study_name=name, storage=storage) if name in existing else None
        found = best_params(study) if study is not None else None
        if found is None:
            if is_tunable(model):
                sources[model] = f"defaults (no tuned study {name} in {label})"
                notes.append(f"{model}: no finished study {name} in {label}; running with defaults")
            continue
        best, trial = found
        params[model] = best
        trials = len(study.get_trials(deepcopy=False, states=FINISHED))
        sources[model] = (
            f"tuned: study {name} trial {trial.number} of {trials} "
            f"(val {prep.spec.primary_metric} {trial.value:.4f}) in {label}"
        )
        notes.append(
            f"{model}: tuned params from study {name} trial {trial.number} (val {trial.value:.4f})"
        )
    return params, sources, notes


def ladder_requests(req: TuneRequest) -> list[TuneRequest]:
    """`bench tune --ladder`: one request per tunable rung of the task's ladder, each with the
    same number of trials (and timeout), so "all tuned" is compared with "all default" on equal terms."""
    import dataclasses

    spec = TASKS.get(req.task)
    if req.trials is None:
        raise BenchError("--ladder needs --trials N: every rung gets the same number of trials")
    return [dataclasses.replace(req, model=model) for model in spec.ladder if is_tunable(model)]


def is_tunable(model: str) -> bool:
    """Whether the model declares a non-empty search space."""
    try:
        return bool(MODELS.get(model).search_space(optuna.trial.FixedTrial({})))
    except ValueError:  # FixedTrial refuses unknown params: the space is not empty
        return True
