#!/usr/bin/env python3
"""The peer baseline of kan.md section 7: a PyTorch KAN written the efficient-kan way (bases by
Cox-de Boor recursion over all G+k bases, one matmul for the spline branch, one for the base
branch), float32 on the CPU, Adam. Same configurations and timing method as kan_bench.cpp.

    torch_kan_bench.py <a|b|c> <threads> <train|forward> [seconds]

Set OPENBLAS_NUM_THREADS as well: Debian's torch hands GEMMs to OpenBLAS (see run.sh)."""
import json
import sys
import time

try:
    import torch
except ImportError:
    print("SKIP: torch is not installed (apt-get install python3-torch)")
    sys.exit(0)


class KANLinear(torch.nn.Module):
    def __init__(self, inp, out, grid=5, k=3, lo=-1.0, hi=1.0):
        super().__init__()
        self.k = k
        h = (hi - lo) / grid
        g = torch.arange(-k, grid + k + 1, dtype=torch.float32) * h + lo
        self.register_buffer("grid", g.expand(inp, -1).contiguous())
        self.base_weight = torch.nn.Parameter(torch.empty(out, inp).uniform_(-1, 1) / inp ** 0.5)
        self.spline_weight = torch.nn.Parameter(torch.randn(out, inp, grid + k) * 0.1)
        self.spline_scaler = torch.nn.Parameter(torch.ones(out, inp) / inp ** 0.5)

    def b_splines(self, x):
        g = self.grid
        x = x.unsqueeze(-1)
        bases = ((x >= g[:, :-1]) & (x < g[:, 1:])).to(x.dtype)
        for p in range(1, self.k + 1):
            bases = ((x - g[:, : -(p + 1)]) / (g[:, p:-1] - g[:, : -(p + 1)]) * bases[:, :, :-1]) + (
                (g[:, p + 1:] - x) / (g[:, p + 1:] - g[:, 1:(-p)]) * bases[:, :, 1:])
        return bases

    def forward(self, x):
        base = torch.nn.functional.linear(torch.nn.functional.silu(x), self.base_weight)
        w = (self.spline_weight * self.spline_scaler.unsqueeze(-1)).view(self.spline_weight.shape[0], -1)
        spline = torch.nn.functional.linear(self.b_splines(x).view(x.shape[0], -1), w)
        return base + spline


def main():
    cfg, threads, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    widths, batch = {"a": ([8, 16, 1], 1024), "b": ([64, 64, 10], 256), "c": ([784, 64, 10], 128)}[cfg]
    model = torch.nn.Sequential(*[KANLinear(a, b) for a, b in zip(widths[:-1], widths[1:])])
    x = torch.rand(batch, widths[0]) * 2 - 1
    y = torch.rand(batch, widths[-1]) * 2 - 1
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        if mode == "forward":
            with torch.no_grad():
                model(x)
            return
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()

    t0, calib = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.2:
        step()
        calib += 1
    per_block = max(1, int(calib / 0.2 * seconds / 5))
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(per_block):
            step()
        rates.append(per_block * batch / (time.perf_counter() - t0))
    rates.sort()
    print(json.dumps({"impl": "torch", "cfg": cfg, "threads": threads, "mode": mode, "samples_per_s": round(rates[2], 1)}))


if __name__ == "__main__":
    main()
