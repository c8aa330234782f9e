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

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from moviebench import metrics
from moviebench.errors import BenchError
from moviebench.models import MODELS

JOURNAL_NAME = "optuna-journal.log"
RDB_SCHEMES = ("postgresql", "postgres", "sqlite", "mysql")


def default_study_name(task: str, source: str, model: str, split_hash: str) -> str:
    """One study per task, source, model and split: a new split never mixes with an old study."""
    return f"{task}.{source}.{model}.{split_hash}"


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
            raise BenchError(f"--storage {storage_label(url)}: cannot open: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
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
            return f"postgresql+{driver}://" + url[len(plain):]
    return url


def storage_label(url: str | None, out: Path = Path("results")) -> str:
    """Where a study lives, for messages and records, without any password."""
    if url and url.split(":", 1)[0].split("+", 1)[0] in RDB_SCHEMES:
        from sqlalchemy.engine import make_url

        try:
            return make_url(url.replace("postgres://", "postgresql://", 1)).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001
            return url.split("@")[-1]
    return str(Path(url.removeprefix("journal:")) if url else default_journal(out))


@dataclass
class TuneRequest:
    task: str
    model: str
    source: str | None = None
    data: Path | None = None
    trials: int | None = 20
    timeout: float | None = None
    storage: str | None = None
    study: str | None = None
    out: Path = Path("results")
    seed: int = 0  # the model's seed in every trial
    sampler_seed: int | None = None  # None: the number of trials already in the study
    epochs: int | None = None
    time_budget: float | None = None
    device: str | None = None
    min_votes: int = 10
    extra_features: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)


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


def tuning_parts(prep: Any) -> tuple[Any, Any]:
    """The only rows tuning ever sees: the training and validation splits."""
    return prep.part("train"), prep.part("val")


def make_objective(prep: Any, req: TuneRequest) -> Callable[[optuna.Trial], float]:
    """Fit on train with the trial's params; return the primary metric on validation."""
    from moviebench.runner import RunRequest, make_context

    cls = MODELS.get(req.model)
    train, val = tuning_parts(prep)  # the test part is never taken out of `prep`
    spec = prep.spec
    run_req = RunRequest(task=spec.name, epochs=req.epochs, time_budget=req.time_budget, device=req.device)
    run_req.options.settings.update(req.settings)

    def objective(trial: optuna.Trial) -> float:
        params = cls.search_space(trial)

        def on_epoch(epoch: int, score: float) -> None:
            # Deep models report each epoch's validation score so the pruner can stop bad trials.
            trial.report(score, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch} (val {score:.4f})")

        context = make_context(prep, run_req, req.seed, on_epoch=on_epoch)
        model = cls(context=context, **params)
        t0 = time.perf_counter()
        try:
            model.fit(train, val)
            scores = model.predict_scores(val)
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            raise
        trial.set_user_attr("fit_seconds", time.perf_counter() - t0)
        trial.set_user_attr("model_params", model.params)
        value = metrics.validation_score(spec.target, spec.primary_metric, val.y, scores, prep.data.labels)
        if model.history:
            trial.set_user_attr("epochs", len(model.history))
        return float(value)

    return objective


def create_or_load_study(name: str, storage: optuna.storages.BaseStorage, attrs: dict[str, Any],
                         sampler: optuna.samplers.BaseSampler | None = None) -> optuna.Study:
    """Create the study once; every later worker loads it (and checks it is the same question)."""
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3)
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                sampler=sampler, pruner=pruner, load_if_exists=True)
    known = study.user_attrs
    if not known:
        for key, value in attrs.items():
            study.set_user_attr(key, value)
    else:
        for key in ("task", "source", "model", "split_hash"):
            if key in known and known[key] != attrs[key]:
                raise BenchError(f"study '{name}' was made for {key}={known[key]}, not {attrs[key]}: "
                                 "pick another --study name")
    return study


def _counts(study: optuna.Study) -> tuple[int, int, int]:
    states = [t.state for t in study.get_trials(deepcopy=False)]
    TS = optuna.trial.TrialState
    return states.count(TS.COMPLETE), states.count(TS.PRUNED), states.count(TS.FAIL)


def tune(req: TuneRequest, console: Any | None = None) -> TuneResult:
    """Run (or continue) the study for one model; show progress on `console` when given."""
    from moviebench.runner import prepare
    from moviebench.tasks import TASKS, TaskOptions

    spec = TASKS.get(req.task)
    cls = MODELS.get(req.model)
    if not cls.accepts(spec.target, spec.inputs):
        raise BenchError(f"model '{req.model}' cannot run task {spec.name}")
    probe = optuna.trial.FixedTrial({})
    try:
        empty = not cls.search_space(probe)
    except ValueError:  # FixedTrial refuses unknown params: the space is not empty
        empty = False
    if empty:
        raise BenchError(f"model '{req.model}' declares no search space: there is nothing to tune")
    if req.trials is None and req.timeout is None:
        raise BenchError("give --trials or --timeout (or both)")

    options = TaskOptions(min_votes=req.min_votes, extra_features=req.extra_features, settings=dict(req.settings))
    prep = prepare(spec, req.source, req.data, options)
    name = req.study or default_study_name(spec.name, prep.source, req.model, prep.split.hash)
    storage = open_storage(req.storage, req.out)
    label = storage_label(req.storage, req.out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress bar says what matters
    attrs = {"task": spec.name, "source": prep.source, "model": req.model, "split_hash": prep.split.hash,
             "primary_metric": spec.primary_metric, "data_fingerprint": prep.loaded.fingerprint,
             "objective": f"validation {spec.primary_metric} (higher is better)"}
    study = create_or_load_study(name, storage, attrs)
    # A fresh study is reproducible (seed 0); a worker joining later draws a different stream.
    seed = req.sampler_seed if req.sampler_seed is not None else len(study.get_trials(deepcopy=False))
    study.sampler = optuna.samplers.TPESampler(seed=seed)

    objective = make_objective(prep, req)
    started = time.perf_counter()
    if console is not None:
        console.print(f"[bold]tune {req.model}[/] on {spec.name}/{prep.source} (split {prep.split.hash}): "
                      f"study [bold]{name}[/] in {label}, {len(study.trials)} trials so far")
    with _TuneProgress(console, req.trials, spec.primary_metric) as progress:
        study.optimize(objective, n_trials=req.trials, timeout=req.timeout, catch=(Exception,),
                       callbacks=[progress.callback], gc_after_trial=True)
    complete, pruned, failed = _counts(study)
    if complete == 0:
        errors = [t.user_attrs.get("error") for t in study.trials if t.user_attrs.get("error")]
        raise BenchError(f"study {name}: no trial completed ({failed} failed)"
                         + (f"; first error: {errors[0]}" if errors else ""))
    best = study.best_trial
    return TuneResult(
        study=name, storage=label, primary_metric=spec.primary_metric, best_value=best.value,
        best_params=best.user_attrs.get("model_params", best.params), best_trial=best.number,
        n_complete=complete, n_pruned=pruned, n_failed=failed, seconds=time.perf_counter() - started,
    )


class _TuneProgress:
    """A rich progress bar: trials done in this process, study size, best value, elapsed time."""

    def __init__(self, console: Any | None, total: int | None, metric: str) -> None:
        self.console = console
        self.total = total
        self.metric = metric
        self.progress: Any = None

    def __enter__(self) -> _TuneProgress:
        if self.console is not None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                TimeElapsedColumn(), console=self.console,
            )
            self.progress.start()
            self.task = self.progress.add_task("best —", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def callback(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.progress is None:
            return
        complete, pruned, failed = _counts(study)
        try:
            best = f"best val {self.metric} {study.best_value:.4f} (trial {study.best_trial.number})"
        except ValueError:
            best = "best —"
        self.progress.update(self.task, advance=1, description=(
            f"{best} | study: {complete} complete, {pruned} pruned, {failed} failed"))
        if trial.state == optuna.trial.TrialState.FAIL:
            self.console.print(f"  [red]trial {trial.number} failed[/]: {trial.user_attrs.get('error', '?')}")


def best_params(study: optuna.Study) -> tuple[dict[str, Any], optuna.trial.FrozenTrial] | None:
    """The best completed trial's model params, or None when no trial completed."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    return best.user_attrs.get("model_params", best.params), best


def apply_tuned(req: Any, prep: Any, models: list[str]) -> list[str]:
    """Fill `req.params` / `req.params_source` with each model's best tuned params.

    Looks up the default study of every model in `req.tuning_storage` (default: the journal
    under `req.out`). Models without a search space keep their defaults; a model with one
    but no finished study keeps its defaults and the record says so. Returns notes to show.
    """
    storage = open_storage(req.tuning_storage, req.out)
    label = storage_label(req.tuning_storage, req.out)
    existing = set(optuna.study.get_all_study_names(storage))
    notes = []
    for model in models:
        name = default_study_name(prep.spec.name, prep.source, model, prep.split.hash)
        found = best_params(optuna.load_study(study_name=name, storage=storage)) if name in existing else None
        if found is None:
            try:
                tunable = bool(MODELS.get(model).search_space(optuna.trial.FixedTrial({})))
            except ValueError:
                tunable = True
            if tunable:
                req.params_source[model] = f"defaults (no tuned study {name} in {label})"
                notes.append(f"{model}: no finished study {name} in {label}; running with defaults")
            continue
        params, trial = found
        req.params[model] = params
        req.params_source[model] = (f"tuned: study {name} trial {trial.number} "
                                    f"(val {prep.spec.primary_metric} {trial.value:.4f}) in {label}")
        notes.append(f"{model}: tuned params from study {name} trial {trial.number} (val {trial.value:.4f})")
    return notes
