#!/usr/bin/env bash
# The GPU half of issue 25, as one run on one lent GPU (planned for an H200: ~10 minutes).
#
#   benchmarks/gpu_run.sh OUT [STEP...]          on the GPU machine; STEP: pipeline, check, board
#   benchmarks/gpu_run.sh OUT --dry-run          on a CPU: every step at tiny sizes (~5 min)
#
# 1. pipeline  benchmarks/input_pipeline.py on CUDA: the input pipeline alone at 64 and
#              224 px, per-item against batched on the device (~30 s).
# 2. check     benchmarks/gpu_check.py: peak, Lite0 features through the package, and one
#              epoch of cnn4 and resnet18 (64 px) and of each image family at its full budget
#              (224 px, FP32 and AMP), each also on ready tensors for the input-wait share
#              (~4 min; --max-seconds 270 starts nothing after that).
# 3. board     results/board.sh full: every task with networks at the full profile, into
#              results/board/ (needs the data: $MOVIEBENCH_DATA, default ../shared/data).
#              Expected GPU time (from gpu_check's H200 rates, 3k posters, early stopping):
#              text and tabular networks ~1 min, poster-genre ~5 min (vgg16 and resnet50 the
#              bulk), multimodal-genre ~1 min, the classical rungs on CPU ~2 min. If it overruns,
#              run it as two calls: `board poster-genre`, then `board` with the other tasks.
# 4. frames    (not in the default steps: run it alone, `gpu_run.sh OUT frames`, in a second
#              call) benchmarks/scale.py frames at 800 films x 50 frames with the whole
#              frame-id quick ladder (28k training frames, 12 rungs; 74 min on the 2-core
#              CPU, benchmarks/README.md). Expected: ~1 min to write and decode the
#              videos on 16 cores, the ladder ~5 min (five scratch networks at 32-64 px, the
#              EfficientNet features of 40k frames, 800-class linear heads on the CPU).
#
# Writes OUT/pipeline.txt, OUT/gpu_check/gpu_check.{md,json}, OUT/board.log; the records go to
# results/board/ (commit them, then `bench report --out results/board --to results --html
# results/index.html` regenerates the board pages, as `board.sh full` does at its end).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: benchmarks/gpu_run.sh OUT [--dry-run | STEP...]}"
shift
dry=0
if [[ "${1:-}" == "--dry-run" ]]; then
  dry=1
  shift
fi
steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(pipeline check board)
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export BENCH="${BENCH:-python -m moviebench}"
families=cnn4,resnet18,cnn4-224,resnet18-224,resnet50-224,vgg16-224,fusion-resnet18-224

step() {  # NAME: true when the step was asked for
  local s
  for s in "${steps[@]}"; do [[ "$s" == "$1" ]] && return 0; done
  return 1
}

started=$SECONDS
if step pipeline; then
  echo "== input pipeline ($((SECONDS - started)) s)" >&2
  if [[ $dry -eq 1 ]]; then
    python benchmarks/input_pipeline.py --device cpu --smoke | tee "$out/pipeline.txt"
  else
    nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/pipeline.txt"
    python benchmarks/input_pipeline.py --device cuda --sizes 64,224 --n 4096 --batch 256 \
      --share-n 8192 | tee -a "$out/pipeline.txt"
  fi
fi
if step check; then
  echo "== gpu_check ($((SECONDS - started)) s)" >&2
  if [[ $dry -eq 1 ]]; then
    python benchmarks/gpu_check.py --out "$out/gpu_check" --smoke --device cpu \
      --sections peak,epoch --families cnn4,cnn4-224,resnet50-224
  else
    python benchmarks/gpu_check.py --out "$out/gpu_check" --sections peak,lite0,epoch \
      --families "$families" --max-seconds 270
  fi
fi
if step board; then
  echo "== results/board.sh full ($((SECONDS - started)) s)" >&2
  if [[ $dry -eq 1 ]]; then
    results/board.sh full --smoke "$out/board" poster-genre tmdb-quality 2>&1 | tee "$out/board.log"
  else
    results/board.sh full 2>&1 | tee "$out/board.log"
  fi
fi
if step frames; then
  echo "== scale.py frames, whole quick ladder ($((SECONDS - started)) s)" >&2
  if [[ $dry -eq 1 ]]; then
    python benchmarks/scale.py frames --films 6 --frames 12 --workdir "$out/scale" \
      --models majority,hist-logreg,cnn4 2>&1 | tee "$out/frames.log"
  else
    python benchmarks/scale.py frames --films 800 --frames 50 --workdir "$out/scale" \
      --models all --device cuda 2>&1 | tee "$out/frames.log"
  fi
  cp "$out/scale/frames.json" "$out/frames.json"
  rm -rf "$out/scale"  # the videos and cache are regenerated on demand; only figures come back
fi
echo "== done in $((SECONDS - started)) s" >&2
