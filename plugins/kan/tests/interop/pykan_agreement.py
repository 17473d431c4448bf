#!/usr/bin/env python3
"""Acceptance 5: glia's KAN forward against pykan 0.2.8's for the same widths, grid, k, knots and
coefficients (float64), after a grid update so that the knots are non-uniform too.

    pykan_agreement.py <path to kan_interop_tool>

Build the tool with `cmake --build build-kan --target kan_interop_tool`. Skips (exit 0) when
torch or pykan is not importable."""
import json
import os
import subprocess
import sys
import tempfile

try:
    import torch
    from kan import KAN
except ImportError as e:
    print(f"SKIP: {e} (apt-get install python3-torch; pip install pykan==0.2.8)")
    sys.exit(0)


def export(model, x):
    layers = []
    for layer in model.act_fun:
        layers.append({
            "knots": layer.grid.detach().tolist(),
            "coef": layer.coef.detach().tolist(),
            "scale_base": layer.scale_base.detach().tolist(),
            "scale_sp": layer.scale_sp.detach().tolist(),
            "mask": layer.mask.detach().tolist(),
        })
    return {"widths": [w[0] if isinstance(w, list) else w for w in model.width], "grid": model.grid,
            "k": model.k, "layers": layers, "x": x.tolist()}


def main():
    tool = sys.argv[1]
    torch.set_default_dtype(torch.float64)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for width, grid, k, seed in [([3, 4, 2], 5, 3, 0), ([2, 5, 1], 3, 3, 1), ([4, 3, 3, 1], 7, 2, 2)]:
            model = KAN(width=list(width), grid=grid, k=k, seed=seed, auto_save=False, ckpt_path=tmp)
            torch.manual_seed(seed)
            x = torch.rand(200, width[0]) * 2.4 - 1.2
            model.update_grid_from_samples(torch.rand(300, width[0]) * 1.6 - 0.8)  # non-uniform knots
            with torch.no_grad():
                y = model(x)
            src, dst = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
            with open(src, "w") as f:
                json.dump(export(model, x), f)
            subprocess.run([tool, "forward", src, dst], check=True)
            with open(dst) as f:
                ours = torch.tensor(json.load(f)["y"])
            diff = (ours - y).abs().max().item()
            worst = max(worst, diff)
            print(f"widths {width} G={grid} k={k}: max |glia - pykan| = {diff:.3e}")
    print(f"worst {worst:.3e} ({'PASS' if worst < 1e-5 else 'FAIL'} at 1e-5)")
    sys.exit(0 if worst < 1e-5 else 1)


if __name__ == "__main__":
    main()
