#!/usr/bin/env python3
"""Interop between glia::nn checkpoints and PyTorch through the real `safetensors` package.

  python3 torch_interop.py BUILD_DIR     (BUILD_DIR/bin/nn_interop_tool must exist)

1. glia -> torch: glia trains and saves models; safetensors.torch.load_file loads them into a
   torch.nn.Sequential built from the architecture metadata (strict load_state_dict), and torch's
   predictions must equal glia's.
2. torch -> glia: safetensors.torch.save_file writes a torch model's state_dict with the
   architecture in its metadata; glia loads it and must predict as torch does.
Exits 0 on success, 1 on a mismatch; prints SKIP and exits 0 when torch or safetensors is absent.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
except ImportError as e:  # run by hand; skipped cleanly where the peers are not installed
    print(f"SKIP: {e}")
    sys.exit(0)

ACTIVATIONS = {"relu": torch.nn.ReLU, "gelu": torch.nn.GELU, "silu": torch.nn.SiLU,
               "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def build(arch):
    """torch.nn.Sequential from glia's architecture JSON (PyTorch's argument names)."""
    layers = []
    for spec in arch:
        t = spec["type"]
        if t == "linear":
            layers.append(torch.nn.Linear(spec["in_features"], spec["out_features"], bias=spec.get("bias", True)))
        elif t == "conv2d":
            layers.append(torch.nn.Conv2d(spec["in_channels"], spec["out_channels"], spec["kernel_size"],
                                          stride=spec.get("stride", 1), padding=spec.get("padding", 0),
                                          bias=spec.get("bias", True)))
        elif t in ACTIVATIONS:
            layers.append(ACTIVATIONS[t]())
        elif t == "softmax":
            layers.append(torch.nn.Softmax(dim=-1))
        elif t == "flatten":
            layers.append(torch.nn.Flatten())
        elif t == "maxpool2d":
            layers.append(torch.nn.MaxPool2d(spec["kernel_size"], spec.get("stride")))
        elif t == "avgpool2d":
            layers.append(torch.nn.AvgPool2d(spec["kernel_size"], spec.get("stride")))
        elif t in ("batchnorm1d", "batchnorm2d"):
            cls = torch.nn.BatchNorm1d if t == "batchnorm1d" else torch.nn.BatchNorm2d
            layers.append(cls(spec["num_features"], eps=spec.get("eps", 1e-5), momentum=spec.get("momentum", 0.1)))
        elif t == "layernorm":
            layers.append(torch.nn.LayerNorm(spec["normalized_shape"], eps=spec.get("eps", 1e-5)))
        elif t == "dropout":
            layers.append(torch.nn.Dropout(spec["p"]))
        else:
            raise ValueError(f"no torch equivalent for layer type {t}")
    return torch.nn.Sequential(*layers)


MLP = [{"type": "linear", "in_features": 20, "out_features": 32}, {"type": "gelu"},
       {"type": "batchnorm1d", "num_features": 32}, {"type": "dropout", "p": 0.1},
       {"type": "linear", "in_features": 32, "out_features": 16}, {"type": "silu"},
       {"type": "layernorm", "normalized_shape": 16},
       {"type": "linear", "in_features": 16, "out_features": 5}]
CNN = [{"type": "conv2d", "in_channels": 2, "out_channels": 4, "kernel_size": 3, "padding": 1},
       {"type": "batchnorm2d", "num_features": 4}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
       {"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2},
       {"type": "tanh"}, {"type": "avgpool2d", "kernel_size": 2, "stride": 1}, {"type": "flatten"},
       {"type": "linear", "in_features": 6, "out_features": 3}]
CASES = [("mlp", MLP, [20]), ("cnn", CNN, [2, 12, 12])]


def main():
    build_dir = sys.argv[1] if len(sys.argv) > 1 else "build"
    tool = os.path.join(build_dir, "bin", "nn_interop_tool")
    failures = 0
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        for name, arch, shape in CASES:
            x = torch.randn(50, *shape)
            inputs = os.path.join(tmp, f"{name}-x.safetensors")
            save_file({"x": x.contiguous()}, inputs)

            # glia -> torch
            glia_model = os.path.join(tmp, f"{name}-glia.safetensors")
            subprocess.run([tool, "export", json.dumps(arch), json.dumps(shape), glia_model], check=True)
            with safe_open(glia_model, framework="pt") as f:
                meta_arch = json.loads(f.metadata()["glia.nn.architecture"])
            net = build(meta_arch)
            net.load_state_dict(load_file(glia_model), strict=True)
            net.eval()
            out = os.path.join(tmp, f"{name}-y.safetensors")
            subprocess.run([tool, "predict", glia_model, inputs, out], check=True)
            with torch.no_grad():
                want = net(x)
            got = load_file(out)["y"]
            err = (want - got).abs().max().item()
            same_argmax = bool((want.argmax(1) == got.argmax(1)).all())
            ok = err < 1e-4 and same_argmax
            failures += not ok
            print(f"{'ok' if ok else 'FAIL'}: {name} glia -> torch, max |diff| {err:.2e}, argmax equal {same_argmax}")

            # torch -> glia
            net = build(arch)
            for m in net.modules():  # non-default statistics, so that they must load too
                if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.data.uniform_(0.5, 1.5)
            net.eval()
            torch_model = os.path.join(tmp, f"{name}-torch.safetensors")
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, torch_model,
                      metadata={"format": "pt", "glia.nn.architecture": json.dumps(arch)})
            subprocess.run([tool, "predict", torch_model, inputs, out], check=True)
            with torch.no_grad():
                want = net(x)
            got = load_file(out)["y"]
            err = (want - got).abs().max().item()
            ok = err < 1e-4
            failures += not ok
            print(f"{'ok' if ok else 'FAIL'}: {name} torch -> glia, max |diff| {err:.2e}")
    print("passed" if failures == 0 else f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
