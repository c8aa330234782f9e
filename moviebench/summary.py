"""The answer across tasks: every board of a results folder summarised per rung and per family.

For each rung and each of the four families (trivial, classical, pretrained, deep; a family is
represented on a board by its best rung): the boards it won, its average rank, and its mean
normalised score, (score − trivial) / (best − trivial) on each board, which is 0 for the
trivial baseline and 1 for the board's best rung whichever way the metric points (RMSE too).
Intervals come from a bootstrap that resamples boards and, within each drawn board, one of the
paired bootstrap draws of its test rows (the draws the board's ties were measured on). A rung
that is not on a board is left out of that board's averages and the summary says where it is
missing. Each rung is summarised at its defaults: tuned rows (`bench run --tuned`) and
given-params rows are left out here, so a family is never its tuned rung on one board and its
default one on another; the headline compares tuned with tuned. Rendering lives in report.py /
report_html.py, the figures in plots.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from moviebench.errors import BenchError
from moviebench.leaderboard import (
    HEADLINE_FAMILIES,
    Board,
    BoardRow,
    Draws,
    aggregate_with_draws,
    best_of_family,
    board_ranks,
)
from moviebench.metrics import higher_is_better
from moviebench.records import Record, variant_of

SUMMARY_RESAMPLES = 1000

# How each family's one-sentence verdict names it.
FAMILY_LABELS = {
    "trivial": "trivial baselines",
    "classical": "classical rungs",
    "pretrained": "frozen pretrained rungs",
    "deep": "deep rungs trained here",
}


@dataclass
class Entry:
    """One rung's (or one family's) line of the summary."""

    name: str
    family: str
    boards: list[str]  # the boards it is on
    missing: list[str]  # the boards it is not on
    won: int  # boards where it ranks first (ties with the leader included)
    mean_rank: float
    rank_ci: list[float] | None
    mean_normalised: float | None  # over the boards it is on that can be normalised
    normalised_ci: list[float] | None
    fit_seconds: float | None  # median over its boards (a family: of its best rung)
    n_params: float | None  # median over its boards
    elo: float | None = None  # families only, from bencheval (see `family_elo`)
    elo_ci: list[float] | None = None
    winrate: float | None = None
    fit_seconds_per_1k: float | None = None  # median over its boards, TabArena's cost unit

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Verdict:
    """A family's best rung against the best classical one (the trivial one, for classical),
    board by board, by the paired bootstrap interval of the difference."""

    family: str
    vs: str
    ahead: int
    tied: int
    behind: int
    boards: int  # boards where both families ran


@dataclass
class Summary:
    boards: list[str]
    rungs: list[Entry]
    families: list[Entry]
    verdicts: dict[str, Verdict]
    sentences: list[str]
    notes: list[str] = field(default_factory=list)  # boards left out of the normalisation...
    # per board, the signed score (higher is better) of each family's best rung: the input of
    # the critical-difference test (plots.cd_diagram)
    family_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    # (board, rung, family, normalised score, fit seconds) per finished rung: the cost plot
    points: list[tuple[str, str, str, float, float | None]] = field(default_factory=list)
    elo_note: str = ""
    cd: Any = None  # a CriticalDifference, once `critical_difference` ran (api.summary)
    plots: list[Any] = field(default_factory=list)  # the figures api.summary wrote

    def to_frame(self) -> Any:
        """Families, then rungs, as a pandas DataFrame (moviebench.frames)."""
        from moviebench.frames import summary_frame

        return summary_frame(self)

    def _repr_html_(self) -> str:  # Jupyter renders a summary left as a cell's last line
        from moviebench.frames import summary_html

        return summary_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "boards": self.boards,
            "families": [e.to_dict() for e in self.families],
            "rungs": [e.to_dict() for e in self.rungs],
            "verdicts": {k: v.__dict__ for k, v in self.verdicts.items()},
            "sentences": self.sentences,
            "notes": self.notes,
            "elo_note": self.elo_note,
        }


def board_name(key: tuple[str, str]) -> str:
    return f"{key[0]} on {key[1]}"


@dataclass
class _BoardData:
    """One board's finished rows with their scores on every test-row draw (D x models)."""

    name: str
    rows: list[BoardRow]
    ranks: list[int]
    sign: int
    draws: np.ndarray  # signed scores, D x len(rows); a row without draws repeats its score
    trivial: int | None  # column of the best trivial row


def _board_data(key: tuple[str, str], rows: list[BoardRow], per_model: dict) -> _BoardData:
    done = [r for r in rows if r.status == "ok" and r.primary is not None]
    ranks = board_ranks(rows)[: len(done)]  # finished rows come first on a board
    sign = 1 if higher_is_better(done[0].primary_metric) else -1
    n_draws = max((len(v) for v in per_model.values()), default=1)
    # A row folded across split seeds has draws on one split only: they are centred on the
    # row's mean across splits, so they carry that split's test-row noise around it.
    cols = [
        per_model[r.key] - np.mean(per_model[r.key]) + r.primary
        if r.key in per_model and r.split_primary
        else per_model[r.key]
        if r.key in per_model
        else np.full(n_draws, r.primary)
        for r in done
    ]
    trivial = next((i for i, r in enumerate(done) if r.family == "trivial"), None)
    return _BoardData(board_name(key), done, ranks, sign, sign * np.stack(cols, axis=1), trivial)


def _normalised(signed: np.ndarray, trivial: int | None) -> np.ndarray | None:
    """(score − trivial) / (best − trivial) along the last axis; None without a trivial row,
    NaN where the best is no better than the trivial baseline."""
    if trivial is None:
        return None
    base = signed[..., trivial : trivial + 1]
    span = signed.max(axis=-1, keepdims=True) - base
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(span > 0, (signed - base) / span, np.nan)


def _family_columns(b: _BoardData) -> dict[str, int]:
    """The column of each family's best rung on the board."""
    out = {}
    for family in HEADLINE_FAMILIES:
        best = best_of_family(b.rows, family)
        if best is not None:
            out[family] = b.rows.index(best)
    return out


def _competition_ranks(ranks: list[int]) -> list[int]:
    """1 + the number of entries ranked strictly better: tied entries share a rank."""
    return [1 + sum(r < x for r in ranks) for x in ranks]


def _compare(b: _BoardData, a: int, c: int) -> int:
    """+1 when column `a` beats column `c` (the paired 95% interval excludes 0), -1 when it
    trails, 0 for a tie: the board's own rule (leaderboard.mark_ties). A pretrained or deep
    row's interval to the best classical one is the headline's (`Gap.ci`: across split seeds
    where the board has several, else the paired bootstrap)."""
    row = b.rows[a]
    gap = row.deep_gap if row.family == "deep" else row.pretrained_gap
    if gap is not None and gap.vs == b.rows[c].model and gap.ci is not None:
        low, high = (b.sign * x for x in gap.ci)
        low, high = min(low, high), max(low, high)
        return 1 if low > 0 else -1 if high < 0 else 0
    diff = b.draws[:, a] - b.draws[:, c]
    low, high = np.nanpercentile(diff, [2.5, 97.5])
    if low == high:  # no draws: the point difference decides
        return int(np.sign(low))
    return 1 if low > 0 else -1 if high < 0 else 0


def summarise(
    records: list[Record],
    resamples: int = SUMMARY_RESAMPLES,
    seed: int = 0,
    boards: tuple[Board, Draws] | None = None,
) -> Summary:
    """The summary of every board the records make (see the module's docstring)."""
    # Each rung at its defaults: tuned and given-params rows stay on their boards and in the
    # headline (tuned against tuned), but a family is summarised at one tuning budget.
    defaults = [r for r in records if variant_of(r) is None]
    if boards is None or len(defaults) < len(records):
        boards = aggregate_with_draws(defaults, True)
    board, draws = boards
    data = [
        _board_data(key, rows, draws.get(key, {}))
        for key, rows in board.items()
        if any(r.status == "ok" and r.primary is not None for r in rows)
    ]
    if not data:
        raise BenchError("no finished records to summarise: run `bench run` first")
    names = [b.name for b in data]
    notes = []
    for b in data:
        if b.trivial is None:
            notes.append(f"{b.name}: no trivial rung, so no normalised score")
        elif b.ranks[b.trivial] == 1:
            notes.append(f"{b.name}: nothing beats the trivial baseline, so no normalised score")
    fams = [_family_columns(b) for b in data]

    # Point values per board: rung -> (rank, normalised); family -> (rank among families, ...)
    rung_points: dict[str, list[tuple[int, float | None, BoardRow]]] = {}
    fam_points: dict[str, list[tuple[int, float | None, BoardRow]]] = {}
    points = []
    family_scores: dict[str, dict[str, float]] = {}
    for b, cols in zip(data, fams):
        point = np.array([[b.sign * r.primary for r in b.rows]])
        norm = _normalised(point, b.trivial)
        for i, r in enumerate(b.rows):
            n = None if norm is None or np.isnan(norm[0, i]) else float(norm[0, i])
            rung_points.setdefault(r.model, []).append((b.ranks[i], n, r))
            if n is not None:
                points.append((b.name, r.model, r.family, n, r.fit_seconds))
        fam_ranks = _competition_ranks([b.ranks[i] for i in cols.values()])
        for (family, i), rank in zip(cols.items(), fam_ranks):
            n = None if norm is None or np.isnan(norm[0, i]) else float(norm[0, i])
            fam_points.setdefault(family, []).append((rank, n, b.rows[i]))
        family_scores[b.name] = {f: float(point[0, i]) for f, i in cols.items()}

    rung_ci, fam_ci = _bootstrap(data, fams, resamples, seed)

    def entry(name: str, pts: list, ci: dict, family: str) -> Entry:
        on = [b.name for b, p in _on_boards(data, pts)]
        normalised = [n for _, n, _ in pts if n is not None]
        fits = [r.fit_seconds for _, _, r in pts if r.fit_seconds is not None]
        per_1k = [r.fit_seconds_per_1k for _, _, r in pts if r.fit_seconds_per_1k is not None]
        params = [r.n_params for _, _, r in pts if r.n_params is not None]
        return Entry(
            name=name,
            family=family,
            boards=on,
            missing=[n for n in names if n not in on],
            won=sum(rank == 1 for rank, _, _ in pts),
            mean_rank=float(np.mean([rank for rank, _, _ in pts])),
            rank_ci=ci.get(name, {}).get("rank"),
            mean_normalised=float(np.mean(normalised)) if normalised else None,
            normalised_ci=ci.get(name, {}).get("norm") if normalised else None,
            fit_seconds=float(np.median(fits)) if fits else None,
            n_params=float(np.median(params)) if params else None,
            fit_seconds_per_1k=float(np.median(per_1k)) if per_1k else None,
        )

    rungs = [entry(m, pts, rung_ci, pts[0][2].family) for m, pts in rung_points.items()]
    rungs.sort(key=lambda e: (-(e.mean_normalised or -np.inf), e.mean_rank))
    families = [entry(f, fam_points[f], fam_ci, f) for f in HEADLINE_FAMILIES if f in fam_points]
    elo_note = family_elo(families, family_scores)
    verdicts = _verdicts(data, fams)
    summary = Summary(
        boards=names,
        rungs=rungs,
        families=families,
        verdicts=verdicts,
        sentences=[],
        notes=notes,
        family_scores=family_scores,
        points=points,
        elo_note=elo_note,
    )
    summary.sentences = [sentence(e, verdicts.get(e.name), len(names)) for e in families]
    return summary


def _on_boards(data: list[_BoardData], pts: list) -> list[tuple[_BoardData, Any]]:
    """The boards a rung's points come from (a rung is on a board at most once)."""
    rows = {id(r) for _, _, r in pts}
    return [(b, None) for b in data if any(id(r) in rows for r in b.rows)]


def _bootstrap(
    data: list[_BoardData], fams: list[dict[str, int]], resamples: int, seed: int
) -> tuple[dict, dict]:
    """95% intervals of each rung's and family's average rank and mean normalised score. Each
    resample draws boards with replacement and, for each drawn board, one of its paired
    test-row draws for the normalised scores. Ranks are the board's own (its tie rule already
    reads the test rows), so their interval is over boards only and contains the point value."""
    rng = np.random.default_rng(seed)
    per_board = []
    for b, cols in zip(data, fams):
        fam_ranks = _competition_ranks([b.ranks[i] for i in cols.values()])
        per_board.append((_normalised(b.draws, b.trivial), dict(zip(cols, fam_ranks))))
    rung_acc: dict[str, dict[str, list[float]]] = {}
    fam_acc: dict[str, dict[str, list[float]]] = {}
    for _ in range(resamples):
        picks = rng.integers(len(data), size=len(data))
        sums: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
        for k in picks:
            b, (norm, fam_ranks) = data[k], per_board[k]
            d = rng.integers(len(b.draws))
            named = [(("r", r.model), i, b.ranks[i]) for i, r in enumerate(b.rows)]
            named += [(("f", f), i, fam_ranks[f]) for f, i in fams[k].items()]
            for key, i, rank in named:
                ranks, scores = sums.setdefault(key, ([], []))
                ranks.append(rank)
                if norm is not None and not np.isnan(norm[d, i]):
                    scores.append(norm[d, i])
        for (kind, name), (ranks, scores) in sums.items():
            acc = (rung_acc if kind == "r" else fam_acc).setdefault(name, {"rank": [], "norm": []})
            acc["rank"].append(float(np.mean(ranks)))
            if scores:
                acc["norm"].append(float(np.mean(scores)))

    def interval(values: list[float]) -> list[float] | None:
        return [float(v) for v in np.percentile(values, [2.5, 97.5])] if values else None

    def intervals(acc: dict) -> dict:
        return {n: {k: interval(v) for k, v in a.items()} for n, a in acc.items()}

    return intervals(rung_acc), intervals(fam_acc)


def _verdicts(data: list[_BoardData], fams: list[dict[str, int]]) -> dict[str, Verdict]:
    out = {}
    for family in HEADLINE_FAMILIES[1:]:
        vs = "trivial" if family == "classical" else "classical"
        results = [
            _compare(b, c[family], c[vs]) for b, c in zip(data, fams) if family in c and vs in c
        ]
        out[family] = Verdict(
            family=family,
            vs=vs,
            ahead=results.count(1),
            tied=results.count(0),
            behind=results.count(-1),
            boards=len(results),
        )
    return out


def sentence(e: Entry, verdict: Verdict | None, n_boards: int) -> str:
    """One sentence from a family's numbers."""
    label = FAMILY_LABELS.get(e.name, e.name)
    norm = (
        f"mean normalised score {e.mean_normalised:.2f} "
        f"[{e.normalised_ci[0]:.2f}, {e.normalised_ci[1]:.2f}]"
        if e.mean_normalised is not None and e.normalised_ci
        else "no normalised score"
    )
    rank = f"average family rank {e.mean_rank:.2f}" + (
        f" [{e.rank_ci[0]:.2f}, {e.rank_ci[1]:.2f}]" if e.rank_ci else ""
    )
    absent = f"; absent from {len(e.missing)} of {n_boards} boards" if e.missing else ""
    if verdict is None:  # trivial: the floor of every normalised score
        return (
            f"{label[0].upper()}{label[1:]} lead {e.won} of {len(e.boards)} boards "
            f"(they score 0 on the normalised scale by construction); {rank}{absent}."
        )
    best = "trivial baseline" if verdict.vs == "trivial" else "best classical rung"
    return (
        f"{label[0].upper()}{label[1:]} beat the {best} on {verdict.ahead} of "
        f"{verdict.boards} boards where both ran (tie on {verdict.tied}, behind on "
        f"{verdict.behind}); {norm}, {rank}{absent}."
    )


def family_elo(families: list[Entry], scores: dict[str, dict[str, float]]) -> str:
    """Elo and win rate of the families by TabArena's engine `bencheval`, on the boards where
    every family ran (bencheval needs every method on every task); fills the entries and
    returns a note saying what it was computed on."""
    try:
        import pandas as pd
        from bencheval.evaluator import BenchmarkEvaluator
    except ImportError:
        return "Elo / win rate: bencheval is not installed"
    names, kept = complete_block(scores)
    if len(names) < 2:
        return (
            f"Elo / win rate: no two families share {CD_MIN_BOARDS} or more boards; "
            "bencheval needs every method on every task"
        )
    complete = {b: {f: scores[b][f] for f in names} for b in kept}
    orders = {tuple(sorted(s, key=lambda f: -s[f])) for s in complete.values()}
    if len(orders) == 1 and len(names) > 1:
        # The same order on every board: Elo's likelihood has no maximum (each gap grows
        # without bound) and every bootstrap round draws that one order, so any number would be
        # the optimiser's stopping point. Win rates are still exact.
        for e in families:
            if e.name in names:
                e.winrate = (len(names) - 1 - next(iter(orders)).index(e.name)) / (len(names) - 1)
        return (
            f"Elo not shown: {' > '.join(next(iter(orders)))} on every one of the "
            f"{len(complete)} boards where they all ran, so Elo is unbounded; win rates are exact"
        )
    # bencheval reads an error (lower is better): the distance to the board's best family.
    rows = [
        {
            "method": f,
            "task": b,
            "metric_error": max(s.values()) - v,
            "time_train_s": 0.0,
            "time_infer_s": 0.0,
        }
        for b, s in complete.items()
        for f, v in s.items()
    ]
    board = BenchmarkEvaluator().leaderboard(
        pd.DataFrame(rows),
        include_improvability=False,
        elo_kwargs={"BOOTSTRAP_ROUNDS": 200},
    )
    for e in families:
        if e.name in board.index:
            line = board.loc[e.name]
            e.elo = float(line["elo"])
            e.elo_ci = [float(line["elo"] - line["elo-"]), float(line["elo"] + line["elo+"])]
            e.winrate = float(line["winrate"])
    dropped = left_out(names, kept, scores)
    return (
        f"Elo and win rate by bencheval (TabArena's engine) over the {len(complete)} boards "
        f"where {', '.join(names)} all ran{f' ({dropped})' if dropped else ''}; Elo's "
        "interval is its bootstrap over boards"
    )


# Boards score different metrics on different scales, so only ranks within a board compare
# across boards: the rank-based Friedman test with the Nemenyi post-hoc (Demšar 2006), forced
# in autorank, whose default would pick ANOVA / Tukey on "normal-looking" raw scores.
CD_TEST_REASON = (
    "Friedman test with the Nemenyi post-hoc (autorank, non-parametric forced): the boards "
    "use different metrics and scales, so only ranks within a board are comparable across "
    "boards, and a test on raw scores (ANOVA) would mix those scales"
)
CD_MIN_BOARDS = 5  # autorank refuses fewer samples


@dataclass
class CriticalDifference:
    """What the critical-difference test found over the families' best rungs per board."""

    families: list[str]
    boards: list[str]
    test: str  # e.g. "friedman + nemenyi", or why none ran
    pvalue: float | None
    cd: float | None
    mean_ranks: dict[str, float]
    result: Any = None  # autorank's RankResult, for plotting

    dropped: str = ""

    def describe(self) -> str:
        if self.result is None:
            return self.test
        cd = "" if self.cd is None else f", critical difference {self.cd:.2f} ranks"
        dropped = f" ({self.dropped})" if self.dropped else ""
        return (
            f"{self.test} over {len(self.boards)} boards and the families "
            f"{', '.join(self.families)}{dropped}: Friedman p = {self.pvalue:.3g}{cd}. "
            f"Why this test: {CD_TEST_REASON}."
        )


def complete_block(scores: dict[str, dict[str, float]]) -> tuple[list[str], list[str]]:
    """The largest complete boards x families table: families and boards such that every one
    of those boards has every one of those families, with at least `CD_MIN_BOARDS` boards,
    holding the most cells (then the most families). Four families on five boards lose to
    three on nine: a test on five boards says little. ([], []) when no two families qualify."""
    from itertools import combinations

    present = [f for f in HEADLINE_FAMILIES if any(f in s for s in scores.values())]
    options = []
    for size in range(len(present), 1, -1):
        for fams in combinations(present, size):
            boards = [b for b, s in scores.items() if all(f in s for f in fams)]
            if len(boards) >= CD_MIN_BOARDS:
                options.append((len(boards) * size, size, list(fams), boards))
    if not options:
        return [], []
    _, _, fams, boards = max(options, key=lambda o: (o[0], o[1]))
    return fams, boards


def left_out(families: list[str], boards: list[str], scores: dict) -> str:
    """Which families and boards a complete-table test left out."""
    fams = [
        f for f in HEADLINE_FAMILIES if f not in families and any(f in s for s in scores.values())
    ]
    others = len(scores) - len(boards)
    parts = []
    if fams:
        parts.append(f"left out {', '.join(fams)} (absent from too many boards)")
    if others:
        parts.append(f"{others} board(s) without every kept family")
    return "; ".join(parts)


def critical_difference(summary: Summary, alpha: float = 0.05) -> CriticalDifference:
    """Friedman + Nemenyi (autorank) over a complete boards x families table
    (`complete_block`): a family missing on a board cannot be ranked there."""
    scores = summary.family_scores
    families, boards = complete_block(scores)
    none = CriticalDifference(families, boards, "", None, None, {})
    if len(families) < 2:
        none.test = (
            f"no critical-difference test: no two families share {CD_MIN_BOARDS} or more of "
            f"the {len(scores)} boards, and the Friedman test (autorank) needs at least "
            f"{CD_MIN_BOARDS} boards"
        )
        return none
    import contextlib
    import io
    import warnings

    import pandas as pd
    from autorank import autorank

    frame = pd.DataFrame([[scores[b][f] for f in families] for b in boards], columns=families)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        result = autorank(frame, alpha=alpha, verbose=False, force_mode="nonparametric")
    return CriticalDifference(
        families=families,
        boards=boards,
        test=f"{result.omnibus} + {result.posthoc}",
        pvalue=float(result.pvalue),
        cd=None if result.cd is None else float(result.cd),
        mean_ranks={str(k): float(v) for k, v in result.rankdf["meanrank"].items()},
        result=result,
        dropped=left_out(families, boards, scores),
    )
