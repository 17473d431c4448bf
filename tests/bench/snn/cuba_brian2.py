#!/usr/bin/python3
"""CUBA (Vogels & Abbott 2005) exactly as brian2's examples/CUBA.py, the reference for glia's snn engine.

Install the peer by hand (it is a benchmark peer, not a build dependency):
    apt-get install -y --no-install-recommends python3-brian g++
Run with Debian's interpreter (/usr/bin/python3), which is where python3-brian lives:
    /usr/bin/python3 tests/bench/snn/cuba_brian2.py --mode runtime --seeds 1 2 3
    /usr/bin/python3 tests/bench/snn/cuba_brian2.py --mode standalone --n 40000 --repeat 3
Prints one line per run: mode n seed spikes rate_hz cv_isi events loop_s.
Standalone loop_s is Brian2's own timing of the run loop (results/last_run_info.txt; std::clock
CPU time in 2.5.1, equal to wall time for one thread); compilation is excluded.
"""
import argparse
import os
import tempfile
import time

import numpy as np


def stats(i, t, n, duration_s):
    """Mean rate, mean CV of ISIs over neurons with >= 3 spikes (ddof 0), as glia computes them."""
    rate = len(i) / (n * duration_s)
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    cvs = []
    bounds = np.flatnonzero(np.diff(i)) + 1
    for tt in np.split(t, bounds):
        if len(tt) >= 3:
            isi = np.diff(tt)
            cvs.append(isi.std() / isi.mean())
    return rate, (float(np.mean(cvs)) if cvs else 0.0)


def run_once(mode, n, seed_value, duration_ms, directory):
    import brian2 as b
    from brian2 import ms, mV, second
    b.start_scope()
    if mode == "standalone":
        b.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b.prefs.devices.cpp_standalone.openmp_threads = 0
    else:
        b.prefs.codegen.target = mode  # numpy or cython
    b.seed(seed_value)
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    P = b.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV
    we = (60 * 0.27 / 10) * mV  # 1.62 mV
    wi = (-20 * 4.5 / 10) * mV  # -9 mV
    p = 80.0 / n  # 0.02 at n = 4000: ~80 synapses per neuron at any size
    ne = int(0.8 * n)
    Ce = b.Synapses(P, P, on_pre="ge += we")
    Ci = b.Synapses(P, P, on_pre="gi += wi")
    Ce.connect(f"i<{ne}", p=p)
    Ci.connect(f"i>={ne}", p=p)
    mon = b.SpikeMonitor(P)
    t0 = time.perf_counter()
    b.run(duration_ms * ms)
    if mode == "standalone":
        b.device.build(directory=directory, compile=True, run=True, debug=False)
        loop = b.device._last_run_time
    else:
        loop = time.perf_counter() - t0
    i = np.asarray(mon.i[:])
    t = np.asarray(mon.t[:] / second)
    out_degree = np.bincount(np.concatenate([np.asarray(Ce.i[:]), np.asarray(Ci.i[:])]), minlength=n)
    events = int(out_degree[i].sum())  # synaptic events = sum of the out-degrees of spiking neurons
    rate, cv = stats(i, t, n, duration_ms / 1000.0)
    if mode == "standalone":
        b.device.reinit()
        b.device.activate()
        b.set_device("runtime")
    return len(i), rate, cv, events, loop


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["numpy", "cython", "standalone"], default="standalone")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--repeat", type=int, default=1, help="timed repetitions per seed")
    ap.add_argument("--duration-ms", type=float, default=1000.0)
    args = ap.parse_args()
    directory = tempfile.mkdtemp(prefix="cuba_standalone_")
    for s in args.seeds:
        for _ in range(args.repeat):
            spikes, rate, cv, events, loop = run_once(args.mode, args.n, s, args.duration_ms, directory)
            print(f"brian2 mode={args.mode} n={args.n} seed={s} spikes={spikes} rate_hz={rate:.4f} "
                  f"cv_isi={cv:.4f} events={events} loop_s={loop:.4f}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
