#!/bin/sh
# Host overhead: wall time of `glia plugins` (cold scan and cached) and of a 50-stage pipeline of
# trivial operators (per-stage cost = (time of 50 stages - time of 1 stage) / 49).
# Usage: tests/bench/host/overhead.sh [build-dir]   (needs the test fixtures built)
set -eu
build=${1:-build}
glia="$build/bin/glia"
fixtures="$build/tests/fixtures/good"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ms() { echo "$(( ($2 - $1) / 1000000 ))"; }
best_of() {  # best_of N command...: the fastest of N runs, in ms
  n=$1; shift; best=999999
  for _ in $(seq "$n"); do
    t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
    t=$(ms "$t0" "$t1"); [ "$t" -lt "$best" ] && best=$t
  done
  echo "$best"
}

pipeline() {  # pipeline N: a chain noise -> scale_1 -> ... -> scale_{N-1}
  n=$1; f="$work/chain$n.toml"
  printf '[pipeline]\nname = "chain%s"\nseed = 1\n[stages.s0]\nplugin = "test.noise"\nparams = { rows = 8, cols = 8 }\n' "$n" > "$f"
  i=1; while [ "$i" -lt "$n" ]; do
    printf '[stages.s%s]\nplugin = "test.scale"\ninputs = { x = "s%s.y" }\nparams = { factor = 1.0 }\n' "$i" "$((i-1))" >> "$f"
    i=$((i+1))
  done
  sed -i 's/x = "s0.y"/x = "s0.x"/' "$f"
  echo "$f"
}

cold=$(best_of 5 env GLIA_REGISTRY="$work/none-$$/r.json" "$glia" --plugin-path "$fixtures" plugins)
GLIA_REGISTRY="$work/cache.json" "$glia" --plugin-path "$fixtures" plugins >/dev/null
warm=$(best_of 10 env GLIA_REGISTRY="$work/cache.json" "$glia" --plugin-path "$fixtures" plugins)
export GLIA_REGISTRY="$work/cache.json"
one=$(best_of 10 "$glia" --plugin-path "$fixtures" run "$(pipeline 1)" --quiet --out "$work/o1")
fifty=$(best_of 10 "$glia" --plugin-path "$fixtures" run "$(pipeline 50)" --quiet --out "$work/o50")
echo "glia plugins, cold scan (no cache):   ${cold} ms"
echo "glia plugins, cached registry:        ${warm} ms"
echo "glia run, 1-stage pipeline:           ${one} ms"
echo "glia run, 50-stage pipeline:          ${fifty} ms"
echo "per-stage overhead:                   $(( (fifty - one) * 1000 / 49 )) us"
