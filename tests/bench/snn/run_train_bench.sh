#!/bin/sh
# Surrogate-gradient BPTT step, glia vs snnTorch (CPU), side by side in one run.
#
#   tests/bench/snn/run_train_bench.sh [BUILD_DIR] [REPEATS] [STEPS] [BATCH] [HIDDEN]
#
# 784-HIDDEN-10 LIF network (snnTorch Leaky: beta 0.9, threshold 1, subtract reset, fast-sigmoid
# surrogate), rate-coded Fashion-MNIST batch, T = STEPS (default 100), batch 128, hidden 1000.
# BUILD_DIR must be configured with -DGLIA_BUILD_BENCH=ON. For 1 and 2 threads, alternates glia
# and snnTorch REPEATS times (default 5) and prints the medians and ratios (snnTorch / glia).
# Skips cleanly without torch or snntorch (pip install --no-deps snntorch).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
repeats=${2:-5}
steps=${3:-100}
batch=${4:-128}
hidden=${5:-1000}
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import torch, snntorch" 2>/dev/null; then
  echo "SKIP: torch or snntorch is not importable by $python"
  exit 0
fi
cmake --build "$build" --target snn_train_bench >/dev/null
bench="$build/bin/snn_train_bench"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }
for threads in 1 2; do
  gf=""; gb=""; tf=""; tn=""; tb=""
  i=0
  while [ "$i" -lt "$repeats" ]; do
    g=$(OPENBLAS_NUM_THREADS=1 "$bench" "$threads" "$steps" "$batch" "$hidden" 3)
    t=$(OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$python" "$here/snntorch_bench.py" "$threads" "$steps" "$batch" "$hidden" 3)
    gf="$gf $(echo "$g" | field forward_s)"; gb="$gb $(echo "$g" | field forward_backward_s)"
    tf="$tf $(echo "$t" | field forward_s)"; tn="$tn $(echo "$t" | field forward_nograd_s)"
    tb="$tb $(echo "$t" | field forward_backward_s)"
    i=$((i + 1))
  done
  m() { echo $1 | tr ' ' '\n' | median; }
  echo "threads=$threads T=$steps batch=$batch hidden=$hidden"
  echo "  forward:          glia $(m "$gf") s  snntorch $(m "$tf") s (no_grad $(m "$tn") s)  ratio $(echo "$(m "$tf") $(m "$gf")" | awk '{printf "%.2f", $1/$2}') (no_grad $(echo "$(m "$tn") $(m "$gf")" | awk '{printf "%.2f", $1/$2}'))"
  echo "  forward+backward: glia $(m "$gb") s  snntorch $(m "$tb") s  ratio $(echo "$(m "$tb") $(m "$gb")" | awk '{printf "%.2f", $1/$2}')"
  echo "  (glia fwd:$gf | bwd:$gb | snntorch fwd:$tf | no_grad:$tn | bwd:$tb)"
done
