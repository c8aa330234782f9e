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

case "$mode" in
  board) suite board.toml results/board "$@" && report "$@" ;;
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
    echo "usage: results/board.sh [board [TASK...] | baseline OUT [TASK...] | full [--smoke OUT] [TASK...]]" >&2
    exit 2
    ;;
esac
