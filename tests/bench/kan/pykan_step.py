#!/usr/bin/env python3
"""pykan 0.2.8's own training step on configuration (a): KAN [8,16,1], G=5, k=3, batch 1024,
float32, Adam (forward + backward + step through MultKAN's forward, after model.speed() so the
symbolic branch and activation caching are off, as pykan's README advises for speed).

    OPENBLAS_NUM_THREADS=1 pykan_step.py <threads> [steps]"""
import json
import sys
import tempfile
import time

try:
    import torch
    from kan import KAN
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(0)

threads = int(sys.argv[1])
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
torch.set_num_threads(threads)
with tempfile.TemporaryDirectory() as tmp:
    model = KAN(width=[8, 16, 1], grid=5, k=3, seed=0, auto_save=False, ckpt_path=tmp)
    model.speed()
    x = torch.rand(1024, 8) * 2 - 1
    y = torch.rand(1024, 1) * 2 - 1
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t0) / steps
print(json.dumps({"impl": "pykan", "cfg": "a", "threads": threads, "step_ms": round(dt * 1e3, 3),
                  "samples_per_s": round(1024 / dt, 1)}))
