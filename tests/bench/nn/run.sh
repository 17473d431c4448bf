#!/bin/sh
# glia::nn vs PyTorch (CPU) training throughput, side by side in one run.
#
#   tests/bench/nn/run.sh [BUILD_DIR] [REPEATS]
#
# Builds nn_bench in BUILD_DIR (default build), then for the MLP (784-256-10) and the CNN, at 1
# and 2 threads, alternates glia and torch REPEATS times (default 5) and prints the medians and
# the ratio. glia: TBB limited to T threads, OpenBLAS single-threaded (as the host runs it);
# torch: torch.set_num_threads(T) and OPENBLAS_NUM_THREADS=T (Debian's torch hands GEMMs to
# OpenBLAS, whose threads set_num_threads does not control).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
repeats=${2:-5}
cmake --build "$build" --target nn_bench >/dev/null
bench="$build/bin/nn_bench"
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "SKIP: torch is not importable by $python (apt-get install python3-torch)"
  exit 0
fi
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rate() { sed -n 's/.*"samples_per_s": \([0-9.]*\).*/\1/p'; }
for model in mlp cnn; do
  for threads in 1 2; do
    g=""; t=""
    i=0
    while [ "$i" -lt "$repeats" ]; do
      g="$g $(OPENBLAS_NUM_THREADS=1 "$bench" "$model" "$threads" | rate)"
      t="$t $(OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads "$python" "$here/torch_bench.py" "$model" "$threads" | rate)"
      i=$((i + 1))
    done
    gm=$(echo $g | tr ' ' '\n' | median)
    tm=$(echo $t | tr ' ' '\n' | median)
    echo "$model threads=$threads glia=$gm samples/s torch=$tm samples/s ratio=$(echo "$gm $tm" | awk '{printf "%.2f", $1/$2}')  (glia:$g | torch:$t)"
  done
done
