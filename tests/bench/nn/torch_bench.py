#!/usr/bin/env python3
"""PyTorch side of run.sh: the same training work as nn_bench on the CPU.

  OPENBLAS_NUM_THREADS=T python3 torch_bench.py mlp|cnn T [BATCHES]

Adam (lr 1e-3), batch 128, seeded random Fashion-MNIST-shaped data, each minibatch gathered from
a fresh permutation, one warm-up pass, then one timed pass; prints one JSON line.
"""
import json
import sys
import time

try:
    import torch
except ImportError as e:
    print(json.dumps({"impl": "torch", "skip": str(e)}))
    sys.exit(0)

kind = sys.argv[1] if len(sys.argv) > 1 else "mlp"
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
batches = int(sys.argv[3]) if len(sys.argv) > 3 else (30 if kind == "cnn" else 300)
batch = 128
n = batch * batches
torch.set_num_threads(threads)
torch.manual_seed(1)

if kind == "cnn":
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    x = torch.rand(n, 1, 28, 28)
else:
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    x = torch.rand(n, 784)
y = torch.randint(0, 10, (n,))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()


def epoch():
    order = torch.randperm(n)
    for b in range(batches):
        idx = order[b * batch:(b + 1) * batch]
        xb, yb = x[idx], y[idx]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()


epoch()
t0 = time.perf_counter()
epoch()
s = time.perf_counter() - t0
print(json.dumps({"impl": "torch", "model": kind, "threads": threads, "samples_per_s": round(n / s, 1),
                  "torch": torch.__version__}))
