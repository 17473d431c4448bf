#!/bin/sh
# glia's KAN vs the PyTorch efficient-kan-style baseline (kan.md section 7), side by side.
#
#   tests/bench/kan/run.sh [BUILD_DIR] [REPEATS]
#
# BUILD_DIR must be configured with -DGLIA_BUILD_BENCH=ON (default build-kan). For each
# configuration (a, b, c), mode (train, forward) and thread count (1, 2), alternates glia and
# torch REPEATS times (default 3) and prints the medians and their ratio. glia: TBB limited to T
# threads, OpenBLAS single-threaded (as the host runs it); torch: set_num_threads(T) and
# OPENBLAS_NUM_THREADS=1, the best 2-thread setting kan.md measured.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build-kan}
repeats=${2:-3}
cmake --build "$build" --target kan_bench >/dev/null
bench="$build/bin/kan_bench"
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "SKIP: torch is not importable by $python (apt-get install python3-torch)"
  exit 0
fi
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rate() { sed -n 's/.*"samples_per_s": \([0-9.]*\).*/\1/p'; }
printf "%-4s %-8s %-3s %14s %14s %8s\n" cfg mode thr glia_samples/s torch_samples/s ratio
for cfg in a b c; do
  for mode in train forward; do
    for threads in 1 2; do
      g=""; t=""; i=0
      while [ "$i" -lt "$repeats" ]; do
        g="$g $(OPENBLAS_NUM_THREADS=1 "$bench" "$cfg" "$threads" "$mode" | rate)"
        t="$t $(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$threads "$python" "$here/torch_kan_bench.py" "$cfg" "$threads" "$mode" | rate)"
        i=$((i + 1))
      done
      gm=$(echo "$g" | tr ' ' '\n' | grep . | median)
      tm=$(echo "$t" | tr ' ' '\n' | grep . | median)
      printf "%-4s %-8s %-3s %14.0f %14.0f %8.2f\n" "$cfg" "$mode" "$threads" "$gm" "$tm" "$(echo "$gm $tm" | awk '{print $1/$2}')"
    done
  done
done
