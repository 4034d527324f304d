#!/usr/bin/python3
"""check_small.py - validate the models test_export.c exported.

Every DIR/*.onnx must pass onnx.checker.check_model(full_check=True) (Debian
onnx 1.12: opset 17, ir_version 8, strict shape inference) and declare
opset 17 / ir_version 8 / producer "tessel".  When node_modules holds
onnxruntime-node, each model also runs through tests/ort/ort_run.js (seeded
inputs), which rejects any attribute or input form invalid at opset 17.

Usage: /usr/bin/python3 check_small.py DIR SOURCE_DIR
Exit status: 0 all valid, 1 a model failed, 77 no models (unit test not run).
"""
import glob
import os
import subprocess
import sys
import tempfile

import warnings

import numpy as np

# Debian's onnx 1.12 still uses aliases numpy 1.24 removed.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _alias, _type in (("float", float), ("int", int), ("bool", bool), ("object", object),
                          ("complex", complex), ("str", str)):
        if not hasattr(np, _alias):
            setattr(np, _alias, _type)

import onnx  # noqa: E402


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    folder, src = sys.argv[1], sys.argv[2]
    models = sorted(glob.glob(os.path.join(folder, "*.onnx")))
    if not models:
        print(f"SKIP: no models in {folder}")
        return 77
    ort = os.path.join(src, "node_modules", "onnxruntime-node")
    run = os.path.join(src, "tests", "ort", "ort_run.js")
    failed = 0
    for path in models:
        name = os.path.basename(path)
        try:
            m = onnx.load(path)
            onnx.checker.check_model(m, full_check=True)
            opsets = {o.domain: o.version for o in m.opset_import}
            assert opsets == {"": 17}, opsets
            assert m.ir_version == 8 and m.producer_name == "tessel"
        except Exception as e:  # report every model, then fail
            print(f"{name}: FAIL onnx checker: {str(e).splitlines()[0]}")
            failed += 1
            continue
        msg = "onnx checker ok"
        if os.path.isdir(ort):
            with tempfile.TemporaryDirectory() as out:
                r = subprocess.run(["node", run, path, out, "--seed", "1"],
                                   capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{name}: FAIL onnxruntime: {r.stderr.strip()}")
                failed += 1
                continue
            msg += ", onnxruntime ok"
        print(f"{name}: {msg}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
