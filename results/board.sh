#!/usr/bin/env bash
# The committed board and the regression baseline, as commands (no hidden steps).
#
#   results/board.sh board [TASK...]
#                              every task the shared data serves, every rung, quick profile;
#                              the whole ladder at model seed 0 on the default split (seed 2);
#                              rungs cheap enough also at model seeds 0,1,2 there and at model
#                              seed 0 on split seeds 1 and 3 (the board shows their std
#                              across the three splits).
#                              Records in results/board/, then results/README.md and
#                              results/index.html from them (bench report). Naming tasks
#                              runs only those (and writes no report).
#   results/board.sh baseline OUT
#                              only the cheap rungs, model seed 0, default split only, into
#                              OUT: what CI reruns and
#                              `bench check --baseline results/baseline --out OUT` compares.
#   results/board.sh full [TASK...]
#                              every task with networks, its whole ladder at the full profile
#                              (224 px, 50-100 epochs, every stage trained), seed 0: meant for
#                              one GPU (benchmarks/gpu_run.sh). Records in results/board/
#                              beside the quick ones (profile-full/ folders), then the report.
#   results/board.sh full --smoke OUT [TASK...]
#                              the same tasks' trivial and network rungs at the full profile
#                              with tiny epochs (--epochs 1, 32 px) into OUT: on a CPU in
#                              seconds, so the full recipes cannot rot (tests/test_board_full.py).
#
# $BENCH is the command (default `bench`; e.g. BENCH="python -m moviebench" in a checkout).
# Data: $MOVIEBENCH_DATA (default ../shared/data relative to the repository). Without it the
# tasks that need it are skipped with a message; the bundled tasks still run.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-board}"
shift || true
data="${MOVIEBENCH_DATA:-../shared/data}"
tmdb="$data/tmdb-5000/tmdb_5000_movies.csv"
ml1m="$data/ml-1m"
read -r -a bench <<<"${BENCH:-bench}"

# One line per task and source: TASK SOURCE DATA CHEAP_RUNGS. The cheap rungs run at three
# seeds on the board and form the CI baseline; the rest of the task's default ladder (image
# networks, MiniLM rungs, fusion) runs at seed 0. "-" as DATA means the bundled default.
entries=(
  "tmdb-quality ggplot2movies - majority,logreg,lightgbm,mlp,cnn-lstm"
  "tmdb-quality tmdb $tmdb majority,logreg,lightgbm,mlp"
  "tmdb-rating ggplot2movies - mean-predictor,ridge,lightgbm,mlp"
  "tmdb-rating tmdb $tmdb mean-predictor,ridge,lightgbm,mlp"
  "overview-genre tmdb $tmdb prior,tfidf-logreg,tfidf-char-svm"
  "title-genre ggplot2movies - prior,tfidf-logreg,tfidf-char-svm"
  "title-genre movielens-1m $ml1m prior,tfidf-logreg,tfidf-char-svm,minilm-logreg"
  "tagline-title tmdb $tmdb random-rank,tfidf-cosine"
  "poster-genre movielens-1m $ml1m prior,hist-logreg,effnet-logreg"
  "multimodal-genre movielens-1m $ml1m prior,tfidf-logreg,hist-logreg,effnet-logreg,early-fusion-logreg"
)

# The tasks with networks, for `full`: TASK SOURCE DATA RUNGS (its trivial rung and networks,
# what --smoke runs; the full board runs the task's whole ladder).
full_entries=(
  "tmdb-quality ggplot2movies - majority,mlp,cnn-lstm"
  "tmdb-quality tmdb $tmdb majority,mlp,cnn-lstm"
  "tmdb-rating ggplot2movies - mean-predictor,mlp,cnn-lstm"
  "tmdb-rating tmdb $tmdb mean-predictor,mlp,cnn-lstm"
  "overview-genre tmdb $tmdb prior,text-lstm,cnn-bilstm"
  "title-genre ggplot2movies - prior,text-lstm,cnn-bilstm"
  "title-genre movielens-1m $ml1m prior,text-lstm,cnn-bilstm"
  "poster-genre movielens-1m $ml1m prior,cnn4,resnet18,resnet34,resnet50,vgg16,resnet18-pretrained,effnet-finetune"
  "multimodal-genre movielens-1m $ml1m prior,fusion-resnet18"
)
extra=()  # options every run_entry passes on (full: --profile full)

wanted() {  # TASK: true when no task filter was given or TASK is in it
  [[ ${#only[@]} -eq 0 ]] && return 0
  local t
  for t in "${only[@]}"; do [[ "$t" == "$1" ]] && return 0; done
  return 1
}

run_entry() {  # OUT SEEDS TASK SOURCE DATA MODELS [SPLIT_SEEDS]
  local out="$1" seeds="$2" task="$3" source="$4" path="$5" models="$6" splits="${7:-}"
  local data_args=()
  if [[ "$path" != "-" ]]; then
    if [[ ! -e "$path" ]]; then
      echo "board.sh: skipping $task on $source: $path not found (set MOVIEBENCH_DATA)" >&2
      return 0
    fi
    data_args=(--data "$path")
  fi
  local model_args=()
  [[ "$models" != "ladder" ]] && model_args=(--models "$models")
  local split_args=()
  [[ -n "$splits" ]] && split_args=(--split-seeds "$splits")
  echo "== bench run --task $task --source $source ${model_args[*]} ${extra[*]} --seeds $seeds ${split_args[*]}" >&2
  "${bench[@]}" run --task "$task" --source "$source" "${data_args[@]}" "${model_args[@]}" \
    "${extra[@]}" --seeds "$seeds" "${split_args[@]}" --out "$out"
}

case "$mode" in
  board)
    out=results/board
    only=("$@")
    # Most telling first: each task's whole default ladder at model seed 0 (every family),
    # then the cheap rungs at model seeds 0,1,2, then the cheap rungs on split seeds 1 and 3
    # at model seed 0, so their boards fold three splits (cnn-lstm's minutes-long fits stay on
    # the default split).
    for entry in "${entries[@]}"; do
      read -r task source path cheap <<<"$entry"
      wanted "$task" || continue
      run_entry "$out" 0 "$task" "$source" "$path" ladder
    done
    for entry in "${entries[@]}"; do
      read -r task source path cheap <<<"$entry"
      wanted "$task" || continue
      run_entry "$out" 0,1,2 "$task" "$source" "$path" "$cheap"
    done
    for entry in "${entries[@]}"; do
      read -r task source path cheap <<<"$entry"
      wanted "$task" || continue
      run_entry "$out" 0 "$task" "$source" "$path" "${cheap//,cnn-lstm/}" 1,3
    done
    if [[ ${#only[@]} -eq 0 ]]; then
      "${bench[@]}" report --out "$out" --to results --html results/index.html
    fi
    ;;
  baseline)
    out="${1:?usage: results/board.sh baseline OUT [TASK...]}"
    shift
    only=("$@")
    for entry in "${entries[@]}"; do
      read -r task source path cheap <<<"$entry"
      wanted "$task" || continue
      run_entry "$out" 0 "$task" "$source" "$path" "$cheap"
    done
    ;;
  full)
    smoke=0
    if [[ "${1:-}" == "--smoke" ]]; then
      smoke=1
      out="${2:?usage: results/board.sh full --smoke OUT [TASK...]}"
      shift 2
    else
      out=results/board
    fi
    only=("$@")
    for entry in "${full_entries[@]}"; do
      read -r task source path rungs <<<"$entry"
      wanted "$task" || continue
      if [[ $smoke -eq 1 ]]; then
        # tiny epochs and images: the recipes' plumbing, not their results
        extra=(--profile full --epochs 1)
        case "$task" in poster-genre | multimodal-genre) extra+=(--image-size 32) ;; esac
        run_entry "$out" 0 "$task" "$source" "$path" "$rungs"
      else
        extra=(--profile full)
        run_entry "$out" 0 "$task" "$source" "$path" ladder
      fi
    done
    if [[ $smoke -eq 0 && ${#only[@]} -eq 0 ]]; then
      "${bench[@]}" report --out "$out" --to results --html results/index.html
    fi
    ;;
  *)
    echo "usage: results/board.sh [board [TASK...] | baseline OUT [TASK...] | full [--smoke OUT] [TASK...]]" >&2
    exit 2
    ;;
esac
