#!/usr/bin/python3
"""export_torchvision.py - write torchvision classifiers as ONNX test models.

Each model is built with seeded random weights (torch.manual_seed(0),
weights=None; nothing is downloaded), put in eval mode and exported with a
1x3x224x224 float input whose batch axis is symbolic ("N"), constant folding
on, at opset 13 (or the opset named in the model's suffix, e.g.
mobilenet_v3_small_op11 for the legacy opset-11 forms).  Next to
<out>/<name>.onnx it writes <out>/<name>.input.npy, a fixed seeded random
input for differential tests.  Files are written to a temporary name and
renamed; existing models are skipped unless --force.

Run with Debian's interpreter (torch 1.13, torchvision 0.14):
    /usr/bin/python3 scripts/export_torchvision.py [--out DIR] [--small | NAME...]
"""
import argparse
import os
import sys
import time

import numpy as np

ALL = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1",
       "mobilenet_v3_small_op11"]
SMALL = ["mobilenet_v3_small", "squeezenet1_1", "resnet18", "mobilenet_v3_small_op11"]
DEFAULT_OPSET = 13


def split_name(name):
    """'mobilenet_v3_small_op11' -> ('mobilenet_v3_small', 11)."""
    base, sep, tail = name.rpartition("_op")
    if sep and tail.isdigit():
        return base, int(tail)
    return name, DEFAULT_OPSET


def export_one(name, out_dir, force):
    import torch
    import torchvision

    path = os.path.join(out_dir, name + ".onnx")
    npy = os.path.join(out_dir, name + ".input.npy")
    if not force and os.path.exists(path) and os.path.exists(npy):
        print(f"{name}: exists, skipped")
        return
    arch, opset = split_name(name)
    builder = getattr(torchvision.models, arch, None)
    if builder is None:
        raise SystemExit(f"export_torchvision.py: unknown model '{arch}'")
    t0 = time.time()
    torch.manual_seed(0)
    model = builder(weights=None).eval()
    x = torch.from_numpy(
        np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32))
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=opset,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                              do_constant_folding=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    tmp_npy = f"{npy}.tmp.{os.getpid()}.npy"
    np.save(tmp_npy, x.numpy())
    os.replace(tmp_npy, npy)
    print(f"{name}: opset {opset}, {os.path.getsize(path) / 1e6:.1f} MB, "
          f"{time.time() - t0:.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "models"))
    ap.add_argument("--small", action="store_true", help="only " + ", ".join(SMALL))
    ap.add_argument("--force", action="store_true", help="re-export existing models")
    ap.add_argument("names", nargs="*", help="models to export (default: all of " +
                    ", ".join(ALL) + ")")
    args = ap.parse_args()
    names = args.names or (SMALL if args.small else ALL)
    for n in names:
        if n not in ALL:
            ap.error(f"unknown model '{n}' (known: {', '.join(ALL)})")
    os.makedirs(args.out, exist_ok=True)
    import warnings
    warnings.filterwarnings("ignore")
    for n in names:
        export_one(n, os.path.abspath(args.out), args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
