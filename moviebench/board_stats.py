"""The statistics of a board: paired bootstrap draws over the test rows (cached beside each
record, `seed-0.boot.npz`), the corrected resampled t-test across split seeds, rank ties, and
the gaps between groups and families (best deep or pretrained against best classical)."""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from moviebench.board_rows import BoardRow, Gap, record_key, row_key, scored
from moviebench.errors import UnknownNameError
from moviebench.metrics import get_metric, higher_is_better
from moviebench.options import DEFAULT_SPLIT_SEED
from moviebench.records import (
    Record,
    jsonable,
    predictions_digest,
    read_bootstrap_cache,
    read_prediction_ids,
    read_predictions,
    split_seed_of,
    write_bootstrap_cache,
)
from moviebench.targets import target_kind

# ---- rank ties: paired bootstrap over the test rows ------------------------------------------

# Each resample is scored by the board's own metric function, one scikit-learn call of about
# 1-5 ms: 200 resamples render a 21-record mAP board (720 films, 20 genres) in about 20 s on a
# busy 2-core machine, where 1000 took minutes.
BOOTSTRAP_RESAMPLES = 200


def bootstrap_metric(
    record: Record, preds: dict[str, np.ndarray], w: np.ndarray
) -> np.ndarray | None:
    """The record's primary metric on each bootstrap resample (rows of count weights `w`),
    by the same function that scored the board; multi-label predictions use the record's
    validation thresholds. None when the record cannot be rescored."""
    name, details = record.primary_metric, record.details
    try:
        get_metric(name)
        kind = target_kind(record.target)
    except UnknownNameError:
        return None
    # The details hold what the kind's evaluator was given: thresholds, a regression's bins.
    return kind.resampled(
        name, preds["y"], preds["scores"], w, details.get("thresholds"), scoring=details
    )


def bootstrap_inputs(record: Record, draws: str) -> str | None:
    """The identity of what a record's bootstrap values are computed from: the record's
    content, its stored test scores (the `.npz` file's bytes, hashed without decompressing
    them) and the draws (`draws` names what fixes the weights). None without scores."""
    scores = predictions_digest(Path(record.path)) if record.path else None
    if scores is None:
        return None
    # one serialisation, as `as_json` would give it back (the same text, so the same key)
    content = json.dumps(record.to_dict(copy_values=False), sort_keys=True, default=jsonable)
    digest = hashlib.sha256(content.encode())
    digest.update(scores.encode())
    digest.update(draws.encode())
    return digest.hexdigest()


def cached_bootstrap(record: Record, w: np.ndarray, draws: str) -> np.ndarray | None:
    """`bootstrap_metric`, kept beside the record (`seed-0.boot.npz`): rescoring hundreds of
    resamples is most of a board's rendering time, and a rerun that trained nothing would
    pay it again (nor does it decompress the test scores: 800 films x 6,000 frames of them
    are megabytes). The cache holds the identity of its inputs (`bootstrap_inputs`), so a
    changed record or another resampling recomputes it, and a checksum of its values, so a
    damaged one is reported and recomputed (records.read_bootstrap_cache)."""
    key = bootstrap_inputs(record, draws)
    if key is None:
        return None
    path = Path(record.path)
    values = read_bootstrap_cache(path, key, len(w))
    if values is not None:
        return values
    preds = read_predictions(path)
    if preds is None:
        return None
    values = bootstrap_metric(record, preds, w)
    if values is not None:
        write_bootstrap_cache(path, key, values)
    return values


class _HasModel(Protocol):
    model: str


def bootstrap_by_model(
    rows: list[_HasModel],
    records: list[Record],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Each model's primary metric on the same `resamples` bootstrap draws of the test rows
    (mean over seeds, as in the table), for the models of `rows` in their order. Models
    without stored test predictions are absent."""
    by_model: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_model[record_key(r)].append(r)
    per_model: dict[str, np.ndarray] = {}
    ids: np.ndarray | None = None
    weights = np.zeros((0, 0))
    for row in rows:
        ok = [r for r in by_model[_key(row)] if r.status == "ok" and r.path and scored(r.primary)]
        if not ok:
            continue
        row_ids = [read_prediction_ids(r.path) for r in ok]
        if ids is None:
            ids = row_ids[0]
            if ids is None:
                continue
            # The same resampled test rows for every model: the comparison is paired.
            weights = (
                np.random.default_rng(seed)
                .multinomial(len(ids), np.full(len(ids), 1 / len(ids)), size=resamples)
                .astype(float)
            )
        draws = f"seed {seed}, {resamples} resamples of {len(ids)} rows"  # what fixes `weights`
        # Paired only on the same test rows: a model scored on other ids is left out.
        same_rows = all(r is not None and np.array_equal(r, ids) for r in row_ids)
        values = [cached_bootstrap(r, weights, draws) for r in ok] if same_rows else []
        if values and all(v is not None for v in values):
            per_model[_key(row)] = np.mean(values, axis=0)
    return per_model


def _key(row: Any) -> str:
    """A row's key in the per-model draws: `BoardRow.key`, or the model of a bare row."""
    return getattr(row, "key", row.model)


def _interval(a: np.ndarray, b: np.ndarray) -> list[float]:
    low, high = np.nanpercentile(a - b, [2.5, 97.5])
    return [float(low), float(high)]


Interval = Callable[[Any, Any], "tuple[list[float], str] | None"]


def bootstrap_split(records: list[Record]) -> int:
    """The split seed whose test rows a board's paired bootstrap resamples: the default
    split when any record is on it, else the smallest split seed."""
    seeds = {split_seed_of(r) for r in records}
    return DEFAULT_SPLIT_SEED if DEFAULT_SPLIT_SEED in seeds or not seeds else min(seeds)


def test_train_ratio(records: list[Record]) -> float:
    """n_test / n_train of a board's records (0 when they do not say)."""
    ratios = [r.n_test / r.n_train for r in records if r.n_test and r.n_train]
    return float(np.mean(ratios)) if ratios else 0.0


def split_interval(a: list[float], b: list[float], ratio: float) -> list[float]:
    """95% interval of the mean split-level difference a − b by the corrected resampled
    t-test (Nadeau & Bengio 2003): a paired t-test across split seeds whose variance is
    widened by n_test / n_train, because the splits' training sets overlap."""
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    j = len(d)
    half = stats.t.ppf(0.975, j - 1) * math.sqrt((1 / j + ratio) * float(np.var(d, ddof=1)))
    return [float(d.mean() - half), float(d.mean() + half)]


def paired_diff(a: Any, b: Any) -> float:
    """The difference a − b that `pair_interval` measures: the mean over the split seeds both
    rows ran on where there are two or more, else on the default split where both have it
    (the paired bootstrap's split), else their primaries. A rung on three splits against one
    on the default split only is compared on that split, not mean against single value."""
    sa, sb = getattr(a, "split_primary", {}) or {}, getattr(b, "split_primary", {}) or {}
    common = sorted(set(sa) & set(sb))
    if len(common) >= 2:
        return float(np.mean([sa[k] - sb[k] for k in common]))
    # A row on one split keeps no split_primary: its primary is that split's value.
    on_a = sa.get(DEFAULT_SPLIT_SEED, a.primary if not sa else None)
    on_b = sb.get(DEFAULT_SPLIT_SEED, b.primary if not sb else None)
    if on_a is not None and on_b is not None:
        return float(on_a - on_b)
    return float(a.primary - b.primary)


def pair_interval(per_model: dict[str, np.ndarray], ratio: float = 0.0) -> Interval:
    """The interval of the difference between two rows, and the test that gave it: across
    split seeds (`split_interval`) when both rows have at least two split seeds in common,
    else the paired bootstrap of the test rows (`per_model`); None when neither can."""

    def interval(a: Any, b: Any) -> tuple[list[float], str] | None:
        sa, sb = getattr(a, "split_primary", {}), getattr(b, "split_primary", {})
        common = sorted(set(sa) & set(sb))
        if len(common) >= 2:
            return split_interval([sa[k] for k in common], [sb[k] for k in common], ratio), "splits"
        x, y = per_model.get(_key(a)), per_model.get(_key(b))
        return None if x is None or y is None else (_interval(x, y), "bootstrap")

    return interval


def mark_ties(
    rows: list[BoardRow], per_model: dict[str, np.ndarray], interval: Interval | None = None
) -> None:
    """Set `tie` on each row whose 95% interval of the difference to the leader of its rank
    group (the first row of the run of tied rows above it) includes 0, and `diff_ci` to that
    interval: the paired bootstrap of the test rows, or across split seeds where both rows
    have several (`pair_interval`). A row not tied with that leader starts a new group, so
    ties never chain through neighbours: A ≈ B and B ≈ C with A ≠ C ranks C below A."""
    interval = interval or pair_interval(per_model)
    leader = rows[0] if rows else None
    for row in rows[1:]:
        measured = interval(leader, row)
        if measured is None:
            leader = row
            continue
        row.diff_ci, test = measured
        if hasattr(row, "tie_test"):
            row.tie_test = test
        row.tie = bool(row.diff_ci[0] <= 0 <= row.diff_ci[1])
        if not row.tie:
            leader = row


def declared_groups(records: list[Record]) -> list[tuple[str, list[str]]]:
    """The rung groups a board's task compares, in order, as its newest record that declares
    any says (`Record.groups`, from TaskSpec.compare); records older than that declare none."""
    declaring = [r for r in records if r.groups]
    if not declaring:
        return []
    return [(g["name"], g["models"]) for g in max(declaring, key=lambda r: r.created).groups]


def mark_group_gaps(
    rows: list[BoardRow],
    per_model: dict[str, np.ndarray],
    groups: list[tuple[str, list[str]]],
    interval: Interval | None = None,
) -> None:
    """For a task that declares model groups to compare (`groups`, e.g. fusion against
    single modality), set `gap` on the best row of the first group: its difference to the
    best row of the second group, with the paired bootstrap 95% interval."""
    declared = list(groups)
    if len(declared) < 2 or rows[0].primary is None:
        return
    sign = 1 if higher_is_better(rows[0].primary_metric) else -1

    def best(models: list[str]) -> BoardRow | None:
        scored = [r for r in rows if r.model in models and r.primary is not None]
        return max(scored, key=lambda r: sign * r.primary, default=None)

    (name_a, models_a), (name_b, models_b) = declared[:2]
    a, b = best(models_a), best(models_b)
    if a is None or b is None:
        return
    measured = (interval or pair_interval(per_model))(a, b)
    ci = None if measured is None else measured[0]
    a.gap = Gap(vs=b.model, diff=paired_diff(a, b), ci=ci, group=name_a, vs_group=name_b)


# The question the benchmark answers: how far representations learned elsewhere (frozen
# pretrained encoders under a head) and networks trained here get beyond classical models.
# The four families are kept apart (docs/architecture.md), so a logistic regression on frozen
# features never counts as "deep".
HEADLINE_FAMILIES = ("trivial", "classical", "pretrained", "deep")


def _best(rows: list[BoardRow], families: tuple[str, ...]) -> BoardRow | None:
    scored = [r for r in rows if r.family in families and r.primary is not None]
    if not scored:
        return None
    sign = 1 if higher_is_better(scored[0].primary_metric) else -1
    return max(scored, key=lambda r: sign * r.primary)


def best_of_family(rows: list[BoardRow], family: str) -> BoardRow | None:
    """The best finished row of one family on a board (by the primary metric's direction)."""
    return _best(rows, (family,))


def arm(rows: list[BoardRow], which: str) -> list[BoardRow]:
    """The rows a family comparison reads, so default and tuned are never mixed: "default",
    each rung at its defaults (no variant; given-params experiments are left out); "tuned",
    each rung's tuned row where it has one, else its default row (a rung with no search
    space, like the trivial baseline, is its own tuned self)."""
    defaults = [r for r in rows if r.variant is None]
    if which == "default":
        return defaults
    tuned = {r.model: r for r in rows if r.variant == "tuned"}
    return [tuned.pop(r.model, r) for r in defaults] + list(tuned.values())


def has_tuned(rows: list[BoardRow]) -> bool:
    """Whether a board holds tuned rows (`bench run --tuned`) beside its default ones."""
    return any(r.variant == "tuned" for r in rows)


def mark_deep_gap(
    rows: list[BoardRow], per_model: dict[str, np.ndarray], interval: Interval | None = None
) -> None:
    """Set `deep_gap` on the best deep row and `pretrained_gap` on the best pretrained row:
    each one's difference to the best classical row, with the paired bootstrap 95% interval
    when both have stored test scores (the same draws as the board's ties). Measured on the
    default arm, and where the board has tuned rows, on the tuned arm too (`deep_gap_tuned`,
    `pretrained_gap_tuned`): tuned against tuned, never tuned against default."""
    arms = [("default", "")] + ([("tuned", "_tuned")] if has_tuned(rows) else [])
    for which, suffix in arms:
        members = arm(rows, which)
        classical = _best(members, ("classical",))
        if classical is None:
            continue
        for family, attr in (("deep", "deep_gap"), ("pretrained", "pretrained_gap")):
            best = _best(members, (family,))
            if best is None:
                continue
            measured = (interval or pair_interval(per_model))(best, classical)
            ci = None if measured is None else measured[0]
            gap = Gap(
                vs=row_key(classical.model, classical.variant),
                diff=paired_diff(best, classical),
                ci=ci,
            )
            setattr(best, attr + suffix, gap)
