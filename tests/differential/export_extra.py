#!/usr/bin/python3
"""export_extra.py - export torchvision models tessel's tests do not use by
default, for the robustness runs of diff_model.py --model (issue 3).

Each model gets seeded random weights (torch.manual_seed(0), weights=None;
nothing is downloaded), eval mode, a 1x3xSxS input named "input" (S = 224, or
299 for inception_v3) and opset 13 with constant folding; written to
OUT/<name>.onnx (temporary name, then renamed).  A model that fails to export
is reported with the exception's first line and skipped; it does not run or
compare anything.

Usage: /usr/bin/python3 export_extra.py --out DIR [NAME...]
Exit status: 0 when every requested model exported, 1 otherwise.
"""
import argparse
import os
import sys
import time
import warnings

DEFAULT = ["resnet34", "shufflenet_v2_x0_5", "mnasnet0_5", "densenet121", "googlenet",
           "inception_v3", "regnet_x_400mf", "efficientnet_b0", "alexnet", "vgg11",
           "convnext_tiny", "regnet_y_400mf", "resnext50_32x4d", "wide_resnet50_2",
           "vit_b_16", "swin_t", "efficientnet_v2_s"]


def export_one(name, out):
    import torch
    import torchvision
    builder = getattr(torchvision.models, name, None)
    if builder is None:
        raise ValueError(f"unknown torchvision model '{name}'")
    torch.manual_seed(0)
    kw = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") \
        else {}
    model = builder(weights=None, **kw).eval()
    size = 299 if name == "inception_v3" else 224
    x = torch.zeros(1, 3, size, size)
    path = os.path.join(out, name + ".onnx")
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=13, input_names=["input"],
                              output_names=["logits"], do_constant_folding=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    warnings.filterwarnings("ignore")
    bad = 0
    for n in a.names or DEFAULT:
        t0 = time.time()
        try:
            size = export_one(n, a.out)
            print(f"{n}: ok {size}x{size} {time.time() - t0:.1f}s", flush=True)
        except Exception as e:  # report and go on: this is a survey
            print(f"{n}: export failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}",
                  flush=True)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
