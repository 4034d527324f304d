#!/usr/bin/python3
"""test_compare.py - checks of diff_model.py's comparer and argument handling
that need no model and no ONNX Runtime: a passing differential test must mean
the outputs agree, so every way two outputs can disagree has to be caught
(dtype, shape, NaN or infinity placement, relative L2 above the bound), and
the relative L2 / max abs numbers printed must be the right ones.
Exit status 0 when every check passes, 1 otherwise."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diff_model  # noqa: E402

failures = 0


def check(cond, what):
    global failures
    if not cond:
        print(f"FAIL: {what}")
        failures += 1


e = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
m, r, p = diff_model.compare(e, e.copy())
check(p is None and m == 0.0 and r == 0.0, "identical arrays")
a = e.copy()
a[0, 0] += 0.5  # ||d|| = 0.5, ||e|| = 5
m, r, p = diff_model.compare(e, a)
check(p is None and abs(m - 0.5) < 1e-7 and abs(r - 0.1) < 1e-7, f"rel_l2 0.1 / max_abs 0.5: {m} {r}")
check(diff_model.compare(e, e.astype(np.float64))[2] is not None, "dtype mismatch caught")
check(diff_model.compare(e, e.reshape(4))[2] is not None, "shape mismatch caught")
check(diff_model.compare(e, e.reshape(1, 4))[2] is not None, "same size, other shape caught")
n = e.copy()
n[1, 1] = np.nan
check(diff_model.compare(e, n)[2] is not None, "NaN in actual only caught")
check(diff_model.compare(n, n.copy())[2] is None, "NaN at the same place accepted")
i = e.copy()
i[1, 0] = np.inf
check(diff_model.compare(e, i)[2] is not None, "inf in actual only caught")
j = i.copy()
j[1, 0] = -np.inf
check(diff_model.compare(i, j)[2] is not None, "inf of the other sign caught")
check(diff_model.compare(i, i.copy())[2] is None, "inf at the same place accepted")
z = np.zeros((3,), np.float32)
check(diff_model.compare(z, z + 1e-30)[1] == float("inf"), "all-zero expected, nonzero actual")
check(diff_model.compare(np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32))[2] is None,
      "empty outputs")
b = np.array([1, 2, 3], np.int64)
check(diff_model.compare(b, b + np.array([0, 0, 1]))[1] > 0, "integer outputs compared")

check(diff_model.parse_shape("x=1,3,48,192") == ("x", (1, 3, 48, 192)), "parse_shape commas")
check(diff_model.parse_shape("x=8x3x48x320") == ("x", (8, 3, 48, 320)), "parse_shape x")
for bad in ("x", "=1,2", "x=1,a", "x=-1"):
    try:
        diff_model.parse_shape(bad)
        check(False, f"parse_shape accepted '{bad}'")
    except Exception:
        pass

# the seeded input is a fixed function of the seed
import tempfile  # noqa: E402
with tempfile.TemporaryDirectory() as d:
    spec = [("x", np.dtype(np.float32), (2, 3)), ("k", np.dtype(np.int64), (4,))]
    f1 = diff_model.make_inputs(spec, 7, os.path.join(d, "a"))
    f2 = diff_model.make_inputs(spec, 7, os.path.join(d, "b"))
    f3 = diff_model.make_inputs(spec, 8, os.path.join(d, "c"))
    x1, x2, x3 = (np.load(f[0][1]) for f in (f1, f2, f3))
    check(x1.dtype == np.float32 and x1.shape == (2, 3), "input dtype/shape")
    check(np.array_equal(x1, x2) and not np.array_equal(x1, x3), "seeded inputs repeat")
    check(-1 <= x1.min() and x1.max() < 1, "uniform [-1, 1)")
    k = np.load(f1[1][1])
    check(k.dtype == np.int64 and k.min() >= 0 and k.max() < 4, "integer input in [0, 4)")

# every named case has a model path and an input shape; thresholds only
# loosen outputs the case names
for name, (rel, shapes, *more) in diff_model.CASES.items():
    check(rel.endswith(".onnx") and shapes, f"case {name}")
    for opt in more:
        check(set(opt) <= {"expose", "atol"}, f"case {name} options {set(opt)}")

if failures:
    print(f"{failures} failure(s)")
    sys.exit(1)
print("diff_model comparer checks passed")
