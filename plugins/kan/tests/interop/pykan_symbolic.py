#!/usr/bin/env python3
"""Acceptance 5, second half: on experiment 4 (f = exp(sin(pi x1) + x2^2) on [-1, 1]^2) glia's
per-edge symbolic fit chooses the functions pykan 0.2.8's auto_symbolic chooses, on the same edges.

    pykan_symbolic.py <path to kan_interop_tool> [<path to glia>]

1. pykan -> glia: pykan trains hellokan's model (KAN([2,5,1], grid=3, k=3, seed=1), fit with
   lamb=0.001, prune, fit, refine(10), fit; float64). Its knots and coefficients go to
   `kan_interop_tool symbolic`, which runs glia's fit_edges on the training inputs; pykan runs
   suggest_symbolic / auto_symbolic on the same model (in float64 this seed prunes to [2, 2, 1]:
   6 edges, not hellokan's [2, 1, 1]). Same library on both sides (the issue's:
   x, x^2, x^3, x^4, exp, log, sqrt, tanh, sin, abs).
2. glia -> pykan (when the glia executable is found, by default next to the tool): glia runs
   configs/kan-symbolic.toml (saving retrain.model and the training inputs); the kan.symbolic
   stage's per-edge choices (run.log) are compared with pykan's auto_symbolic on glia's model
   loaded into a pykan KAN (`kan_interop_tool export`), on the same training inputs.

Prints a table per direction; exit 1 when any edge's function differs. Skips (exit 0) when torch
or pykan is not importable. Build: `cmake --build build-kansym --target kan_interop_tool glia
glia_plugin_kan glia_plugin_core` (the tool needs GLIA_BUILD_TESTS=ON, the default)."""
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    from kan import KAN, create_dataset
except ImportError as e:
    print(f"SKIP: {e} (apt-get install python3-torch; pip install pykan==0.2.8)")
    sys.exit(0)

LIB = ["x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs"]
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def target(x):
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


def widths_of(model):
    return [w[0] if isinstance(w, list) else w for w in model.width]


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
    return {"widths": widths_of(model), "grid": model.grid, "k": model.k, "layers": layers,
            "bias": [b.detach().tolist() for b in model.node_bias], "x": x.tolist()}


def quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


def edges_of(model):
    widths = widths_of(model)
    return [(l, i, j) for l in range(len(widths) - 1) for i in range(widths[l]) for j in range(widths[l + 1])]


def pykan_auto_symbolic(model, x):
    """{edge: (name, r2)} as auto_symbolic decides it (suggest_symbolic per edge, then the
    auto_symbolic call itself, whose fixed functions are checked against those)."""
    with torch.no_grad():
        model(x)  # activations of the inputs the edges are fitted on
    out = {}
    for (l, i, j) in edges_of(model):
        if model.act_fun[l].mask[i, j] == 0:
            out[(l, i, j)] = ("0", float("nan"))
            continue
        name, _, r2, _ = model.suggest_symbolic(l, i, j, lib=LIB, verbose=False)
        out[(l, i, j)] = (name, float(r2))
    quiet(model.auto_symbolic, lib=LIB)
    for (l, i, j), (name, _) in out.items():
        fixed = model.symbolic_fun[l].funs_name[j][i]
        assert fixed == name, f"auto_symbolic fixed {fixed} on {(l, i, j)}, suggest_symbolic said {name}"
    return out


def glia_symbolic(tool, data, tmp, samples):
    src, dst = os.path.join(tmp, "sym_in.json"), os.path.join(tmp, "sym_out.json")
    with open(src, "w") as f:
        json.dump(dict(data, library=LIB, samples=samples), f)
    subprocess.run([tool, "symbolic", src, dst], check=True)
    with open(dst) as f:
        res = json.load(f)
    return {(e[0], e[1], e[2]): (e[3], float(e[4])) for e in res["edges"]}, res["formula"]


def table(title, ours, theirs):
    print(f"\n{title}")
    print(f"{'edge':<10}{'glia fn':<9}{'glia R^2':>14}   {'pykan fn':<9}{'pykan R^2':>14}  agree")
    ok = True
    for e in sorted(ours):
        (gf, gr), (pf, pr) = ours[e], theirs[e]
        agree = gf == pf
        ok &= agree
        print(f"{str(e):<10}{gf:<9}{gr:>14.8f}   {pf:<9}{pr:>14.8f}  {'yes' if agree else 'NO'}")
    return ok


def pykan_to_glia(tool, tmp):
    torch.manual_seed(0)
    dataset = create_dataset(target, n_var=2, seed=0)
    model = KAN(width=[2, 5, 1], grid=3, k=3, seed=1, auto_save=False, ckpt_path=tmp)
    quiet(model.fit, dataset, opt="LBFGS", steps=50, lamb=0.001)
    model = quiet(model.prune)
    quiet(model.fit, dataset, opt="LBFGS", steps=50)
    model = quiet(model.refine, 10)
    quiet(model.fit, dataset, opt="LBFGS", steps=50)
    x = dataset["train_input"]
    print(f"pykan model: widths {widths_of(model)}, grid {model.grid}, k {model.k}")
    ours, formula = glia_symbolic(tool, export(model, x), tmp, samples=x.shape[0])
    theirs = pykan_auto_symbolic(model, x)
    ok = table("pykan's trained model: glia fit_edges vs pykan auto_symbolic", ours, theirs)
    print(f"glia's formula (edges locked, not retrained): y1 = {formula[0]}")
    return ok


def glia_to_pykan(tool, glia, tmp):
    with open(os.path.join(REPO, "configs", "kan-symbolic.toml")) as f:
        cfg = f.read()
    cfg = cfg.replace('[stages.train_data]\nplugin = "kan.dataset"\n',
                      '[stages.train_data]\nplugin = "kan.dataset"\nsave = ["x"]\n')
    cfg = cfg.replace('[stages.retrain]\nplugin = "kan.train"\n',
                      '[stages.retrain]\nplugin = "kan.train"\nsave = ["model"]\n')
    assert cfg.count("save = [") == 2, "configs/kan-symbolic.toml changed shape"
    pipe, run = os.path.join(tmp, "kan-symbolic.toml"), os.path.join(tmp, "run")
    with open(pipe, "w") as f:
        f.write(cfg)
    subprocess.run([glia, "run", pipe, "--out", run, "-q"], check=True, stdout=subprocess.DEVNULL)
    x = np.load(os.path.join(run, "train_data.x.npy"))
    model_file = os.path.join(tmp, "retrain.safetensors")
    np.load(os.path.join(run, "retrain.model.npy")).tofile(model_file)  # uint8 bytes of the blob
    ours = {}
    with open(os.path.join(run, "run.log")) as f:
        for line in f:
            m = re.search(r"\[symbolic\] edge \((\d+)\.(\d+)\.(\d+)\): (\S+) .*R\^2=(\S+)", line)
            if m:
                ours[tuple(int(v) for v in m.groups()[:3])] = (m.group(4), float(m.group(5)))
    with open(os.path.join(run, "symbolic", "formula.txt")) as f:
        formula = f.read().strip()

    js = os.path.join(tmp, "glia_model.json")
    subprocess.run([tool, "export", model_file, js], check=True)
    with open(js) as f:
        g = json.load(f)
    model = KAN(width=list(g["widths"]), grid=g["grid"], k=g["k"], seed=0, auto_save=False, ckpt_path=tmp)
    with torch.no_grad():
        for l, (layer, gl) in enumerate(zip(model.act_fun, g["layers"])):
            layer.grid.copy_(torch.tensor(gl["knots"]))
            layer.coef.copy_(torch.tensor(gl["coef"]))
            layer.scale_base.copy_(torch.tensor(gl["scale_base"]))
            layer.scale_sp.copy_(torch.tensor(gl["scale_sp"]))
            layer.mask.copy_(torch.tensor(gl["mask"]))
            model.node_bias[l].copy_(torch.tensor(g["bias"][l]))
    xt = torch.tensor(x)
    # The loaded pykan model must compute glia's function (its forward, through the tool).
    src, dst = os.path.join(tmp, "fw_in.json"), os.path.join(tmp, "fw_out.json")
    with open(src, "w") as f:
        json.dump(dict(g, x=x.tolist()), f)
    subprocess.run([tool, "forward", src, dst], check=True)
    with open(dst) as f:
        y_glia = torch.tensor(json.load(f)["y"])
    with torch.no_grad():
        diff = (model(xt) - y_glia).abs().max().item()
    print(f"\nglia model: widths {g['widths']}, grid {g['grid']}, k {g['k']}; "
          f"max |pykan(glia's model) - glia| = {diff:.2e}")
    assert diff < 1e-8, "glia's model did not load into pykan"
    theirs = pykan_auto_symbolic(model, xt)
    ok = table("glia's trained model (glia run configs/kan-symbolic.toml): kan.symbolic vs pykan auto_symbolic",
               ours, theirs)
    print(f"glia's formula (formula.txt, after the symbolic retrain): {formula}")
    return ok


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    tool = os.path.abspath(sys.argv[1])
    glia = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(os.path.dirname(tool), "glia")
    torch.set_default_dtype(torch.float64)
    with tempfile.TemporaryDirectory() as tmp:
        ok = pykan_to_glia(tool, tmp)
        if os.path.exists(glia):
            ok &= glia_to_pykan(tool, glia, tmp)
        else:
            print(f"\n(glia -> pykan skipped: no glia executable at {glia})")
    print(f"\n{'PASS' if ok else 'FAIL'}: glia and pykan choose {'the same' if ok else 'different'} functions")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
