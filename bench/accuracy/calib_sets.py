#!/usr/bin/python3
"""calib_sets.py - writes the calibration batches `run.sh` passes to
`tessel compress --calib` (SPECS entries ending in "calib"), each disjoint
from the split the harness scores:

    OUT/digits_calib.npy  the first 64 images of the digits TRAINING split
                          (the same seeded stratified split as
                          train_digits.py; the test split is never used)
    OUT/rec_calib.npy     48 text lines from render_lines.main_calib_diverse:
    OUT/cls_calib.npy     the 8 upright DejaVu text faces (Sans, Serif, Mono,
                          Sans Condensed; regular and bold) x 3 sizes, 1-4
                          parts per line, seed 2468, a vocabulary disjoint
                          from the test lines and from the generator of the
                          validation sets (cls: every other line rotated)

Deterministic.  It scores nothing.
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_lines  # noqa: E402

N_DIGITS = 64


def main(out):
    os.makedirs(out, exist_ok=True)
    d = load_digits()
    X = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    Xtr, _, _, _ = train_test_split(X, d.target, test_size=0.3, random_state=0, stratify=d.target)
    np.save(os.path.join(out, "digits_calib.npy"), np.ascontiguousarray(Xtr[:N_DIGITS]))
    render_lines.main_calib_diverse(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out"))
