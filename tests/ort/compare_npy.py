#!/usr/bin/python3
"""compare_npy.py - compare two directories of .npy outputs.

For every EXPECTED/<name>.npy (top level only) the file of the same name must
exist in ACTUAL with the same dtype and shape.  Per output it prints the max
absolute difference and the relative L2 error ||a - e|| / ||e|| (0 when both
are all zero).  An output passes when its max abs diff is <= --atol OR its
relative L2 error is <= --rel-l2; NaNs must sit at the same positions.  The
defaults (both 0) demand bit-for-bit equal values.

Usage: /usr/bin/python3 compare_npy.py EXPECTED_DIR ACTUAL_DIR [--atol X] [--rel-l2 Y]
Exit status: 0 all pass, 1 a mismatch or missing file, 2 usage error.
"""
import argparse
import os
import sys

import numpy as np


def compare(exp, act):
    """Return (max_abs, rel_l2, problem or None)."""
    if exp.dtype != act.dtype:
        return None, None, f"dtype {act.dtype} != expected {exp.dtype}"
    if exp.shape != act.shape:
        return None, None, f"shape {act.shape} != expected {exp.shape}"
    if exp.size == 0:
        return 0.0, 0.0, None
    if exp.dtype == np.bool_:
        exp = exp.astype(np.int8)
        act = act.astype(np.int8)
    e = exp.astype(np.float64)
    a = act.astype(np.float64)
    nan_e, nan_a = np.isnan(e), np.isnan(a)
    if not np.array_equal(nan_e, nan_a):
        return None, None, "NaN positions differ"
    ok = ~nan_e
    inf_e = np.isinf(e) & ok
    if not np.array_equal(e[inf_e], a[inf_e]) or not np.array_equal(inf_e, np.isinf(a) & ok):
        return None, None, "infinities differ"
    fin = ok & ~inf_e
    d = np.abs(e[fin] - a[fin])
    max_abs = float(d.max()) if d.size else 0.0
    norm_e = float(np.linalg.norm(e[fin]))
    norm_d = float(np.linalg.norm(d))
    rel = 0.0 if norm_d == 0.0 else (norm_d / norm_e if norm_e > 0 else float("inf"))
    return max_abs, rel, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("expected")
    ap.add_argument("actual")
    ap.add_argument("--atol", type=float, default=0.0, help="max abs diff allowed (default 0)")
    ap.add_argument("--rel-l2", type=float, default=0.0,
                    help="relative L2 error allowed (default 0)")
    args = ap.parse_args()
    names = sorted(f for f in os.listdir(args.expected)
                   if f.endswith(".npy") and os.path.isfile(os.path.join(args.expected, f)))
    if not names:
        print(f"compare_npy: error: {args.expected}: no .npy files", file=sys.stderr)
        return 1
    failed = 0
    for n in names:
        other = os.path.join(args.actual, n)
        if not os.path.isfile(other):
            print(f"{n}: FAIL missing in {args.actual}")
            failed += 1
            continue
        max_abs, rel, problem = compare(np.load(os.path.join(args.expected, n)), np.load(other))
        if problem:
            print(f"{n}: FAIL {problem}")
            failed += 1
            continue
        ok = max_abs <= args.atol or rel <= args.rel_l2
        print(f"{n}: {'ok' if ok else 'FAIL'} max_abs={max_abs:.3g} rel_l2={rel:.3g}")
        failed += 0 if ok else 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
