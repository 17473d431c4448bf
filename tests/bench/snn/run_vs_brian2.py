#!/usr/bin/python3
"""CUBA side by side: glia::snn (snn_cuba_bench) vs Brian2 2.5.1 cpp_standalone, interleaved runs.

    cmake -S . -B build-snn -G Ninja -DCMAKE_BUILD_TYPE=Release -DGLIA_BUILD_BENCH=ON
    cmake --build build-snn --target snn_cuba_bench
    /usr/bin/python3 tests/bench/snn/run_vs_brian2.py --bench build-snn/bin/snn_cuba_bench --n 4000 --repeat 7

Brian2's project is generated and compiled once (compile time excluded), then its binary is re-run;
each repetition runs glia at 1 and 2 threads and Brian2 back to back, so load from other processes
hits both alike. Times are the simulation loop only: Brian2's own timer (std::clock CPU time in
2.5.1, which does not count time the process waits for a core: it favours Brian2 under load) and
glia's wall clock, plus glia's CPU time for the 1-thread runs (the same measure as Brian2's, fair
when other processes share the cores). Prints per-run lines, then medians and the ratios.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cuba_brian2  # noqa: E402


def glia_run(bench, n, threads, seed, partitions=0):
    out = subprocess.run([bench, "--n", str(n), "--threads", str(threads), "--repeat", "1", "--seed", str(seed),
                          "--partitions", str(partitions)],
                         check=True, capture_output=True, text=True).stdout
    print(out.strip(), flush=True)
    return float(re.search(r" loop_s=([0-9.]+)", out).group(1)), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build-snn/bin/snn_cuba_bench")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    bench = os.path.abspath(args.bench)
    directory = tempfile.mkdtemp(prefix="cuba_standalone_")
    spikes, rate, cv, events, loop = cuba_brian2.run_once("standalone", args.n, 1, 1000.0, directory)
    print(f"brian2 standalone n={args.n} seed=1 spikes={spikes} rate_hz={rate:.4f} cv_isi={cv:.4f} "
          f"events={events} loop_s={loop:.4f} (first run)", flush=True)
    # glia2: 2 threads, automatic blocks (one block below 32 768 neurons: a per-step fork/join costs
    # more than it saves there); glia2x2: 2 threads, 2 blocks forced.
    times = {"glia1": [], "glia1cpu": [], "glia2": [], "glia2x2": [], "brian2": []}
    glia_events = []
    for r in range(args.repeat):
        t, out = glia_run(bench, args.n, 1, 1 + r)
        times["glia1"].append(t)
        times["glia1cpu"].append(float(re.search(r"loop_cpu_s=([0-9.]+)", out).group(1)))
        glia_events.append(float(re.search(r" events=([0-9]+)", out).group(1)))
        times["glia2"].append(glia_run(bench, args.n, 2, 1 + r)[0])
        times["glia2x2"].append(glia_run(bench, args.n, 2, 1 + r, 2)[0])
        subprocess.run(["./main"], cwd=directory, check=True, capture_output=True)
        with open(os.path.join(directory, "results", "last_run_info.txt")) as f:
            b = float(f.read().split()[0])
        print(f"brian2 standalone n={args.n} loop_s={b:.4f}", flush=True)
        times["brian2"].append(b)
    med = {k: statistics.median(v) for k, v in times.items()}
    ev = statistics.median(glia_events)
    print(f"\nmedian over {args.repeat} (n={args.n}): glia 1 thread {med['glia1']:.4f} s, 2 threads "
          f"{med['glia2']:.4f} s (auto blocks), {med['glia2x2']:.4f} s (2 blocks); "
          f"brian2 standalone {med['brian2']:.4f} s")
    print(f"ratio glia/brian2, both CPU time: 1 thread {med['glia1cpu'] / med['brian2']:.3f}")
    print(f"ratio glia wall/brian2: 1 thread {med['glia1'] / med['brian2']:.3f}, 2 threads {med['glia2'] / med['brian2']:.3f}"
          f" (auto), {med['glia2x2'] / med['brian2']:.3f} (2 blocks)")
    print(f"glia synaptic events/s: 1 thread {ev / med['glia1']:.3e}, 2 threads {ev / min(med['glia2'], med['glia2x2']):.3e}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
