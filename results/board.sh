#!/usr/bin/env bash
# The committed board and the regression baseline: a thin wrapper over the suite files in
# results/suites/ (what runs is declared there, once; `bench run --suite FILE` runs one).
#
#   results/board.sh board [TASK...]      results/suites/board.toml into results/board/, then
#                                         results/README.md and results/index.html (bench
#                                         report). Naming tasks runs only those (no report).
#   results/board.sh baseline OUT [TASK...]
#                                         results/suites/baseline.toml into OUT: what CI reruns
#                                         and `bench check --baseline results/baseline` compares.
#   results/board.sh tuned [TRIALS [TASK...]]
#                                         the tuned boards (TMDB 5000; default tmdb-quality and
#                                         tmdb-rating), beside the default rows in
#                                         results/board/: `bench tune --ladder` (TRIALS per
#                                         tunable rung, default 20, defaults as trial 0), then
#                                         `bench run --tuned`; then the report.
#   results/board.sh full [TASK...]       results/suites/full.toml (the full profile, for one
#                                         GPU; benchmarks/gpu_run.sh), then the report.
#   results/board.sh full --smoke OUT [TASK...]
#                                         results/suites/full-smoke.toml into OUT: the full
#                                         recipes with tiny epochs and images, on a CPU.
#
# $BENCH is the command (default `bench`; e.g. BENCH="python -m moviebench" in a checkout).
# Data: $MOVIEBENCH_DATA (default ../shared/data relative to the repository). Without it the
# boards that need it are skipped with a message; the bundled ones still run.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-board}"
shift || true
read -r -a bench <<<"${BENCH:-bench}"

suite() {  # FILE OUT TASK...: run a suite file, only these tasks when some are named
  local file="$1" out="$2"
  shift 2
  local only=()
  if [[ $# -gt 0 ]]; then only=(--task "$(IFS=,; echo "$*")"); fi
  "${bench[@]}" run --suite "results/suites/$file" --out "$out" "${only[@]}"
}

report() {  # TASK...: the board's pages, when the whole board ran
  if [[ $# -eq 0 ]]; then
    "${bench[@]}" report --out results/board --to results --html results/index.html
  fi
}

# The tuned boards: the tabular tasks on TMDB 5000 by default. overview-genre's (`board.sh tuned
# 20 overview-genre`, committed too) is left out of the default: its three networks' 20 trials
# each took about 5 core-hours here (one study per core); TUNE_JOBS=2 tunes two rungs side by side.
TMDB="${MOVIEBENCH_DATA:-../shared/data}/tmdb-5000/tmdb_5000_movies.csv"
tuned_boards() {  # TRIALS TASK...: tune every tunable rung alike, then run the tuned ladder
  local trials="$1"
  shift
  for task in "$@"; do
    "${bench[@]}" tune --task "$task" --source tmdb --data "$TMDB" --ladder --trials "$trials" \
      --out results/board --fresh --jobs "${TUNE_JOBS:-1}"
    "${bench[@]}" run --task "$task" --source tmdb --data "$TMDB" --tuned --out results/board
  done
}

case "$mode" in
  board) suite board.toml results/board "$@" && report "$@" ;;
  tuned)
    trials="${1:-20}"
    shift || true
    if [[ $# -eq 0 ]]; then set -- tmdb-quality tmdb-rating; fi
    tuned_boards "$trials" "$@" && report
    ;;
  baseline)
    out="${1:?usage: results/board.sh baseline OUT [TASK...]}"
    shift
    suite baseline.toml "$out" "$@"
    ;;
  full)
    if [[ "${1:-}" == "--smoke" ]]; then
      out="${2:?usage: results/board.sh full --smoke OUT [TASK...]}"
      shift 2
      suite full-smoke.toml "$out" "$@"
    else
      suite full.toml results/board "$@" && report "$@"
    fi
    ;;
  *)
    echo "usage: results/board.sh [board [TASK...] | tuned [TRIALS [TASK...]] | baseline OUT [TASK...] | full [--smoke OUT] [TASK...]]" >&2
    exit 2
    ;;
esac
