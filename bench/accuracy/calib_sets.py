#!/usr/bin/python3
"""calib_sets.py - writes the calibration batches `run.sh` passes to
`tessel compress --calib` (SPECS entries ending in "calib"), each disjoint
from the split the harness scores:

    OUT/digits_calib.npy  the first 64 images of the digits TRAINING split
                          (the same seeded stratified split as
                          train_digits.py; the test split is never used)
    OUT/rec_calib.npy     16 text lines from render_lines.py's calibration
    OUT/cls_calib.npy     vocabulary (seed 1234, DejaVu Sans), not the
                          scored lines (cls: every other line rotated)

With --diverse (calib_sets.py [OUT] --diverse), rec/cls_calib.npy are
instead the 48 lines of render_lines.main_calib_diverse: the 8 upright
DejaVu text faces x 3 sizes, 1-4 parts per line, seed 2468, a vocabulary
disjoint from the test lines and from the validation sets' generator.
It did worse than the 16 lines on the validation sets vmix1/vmix2 (and
on cls and rec 6x), so it is not the default (docs/passes-opq.md).

Deterministic.  It scores nothing.
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render_lines  # noqa: E402

N_DIGITS, N_LINES, SEED = 64, 16, 1234


def main(out, diverse=False):
    os.makedirs(out, exist_ok=True)
    d = load_digits()
    X = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    Xtr, _, _, _ = train_test_split(X, d.target, test_size=0.3, random_state=0, stratify=d.target)
    np.save(os.path.join(out, "digits_calib.npy"), np.ascontiguousarray(Xtr[:N_DIGITS]))
    if diverse:
        render_lines.main_calib_diverse(out)
    else:
        render_lines.main_calib(out, N_LINES, SEED)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--diverse"]
    main(args[0] if args else os.path.join(os.path.dirname(__file__), "out"),
         "--diverse" in sys.argv[1:])
