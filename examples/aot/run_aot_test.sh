#!/bin/sh
# run_aot_test.sh TESSEL CC PYTHON WORKDIR MODEL.onnx INPUT.npy
# End-to-end check of ahead-of-time compilation: `tessel compile` the model
# into a shared library and an object, build examples/aot/main.c against
# each with the system C compiler, run both on INPUT.npy, and compare every
# output with `tessel run --backend ref` (|aot - ref| <= 1e-4 (|ref| + 1),
# the cpu backend's tolerance: different summation order and FMA rounding,
# see tests/cpu/harness.h).  Also checks that the .so needs nothing from
# tessel (its DT_NEEDED entries are libc/libm only).
set -eu
TESSEL=$1 CC=$2 PY=$3 W=$4 MODEL=$5 INPUT=$6
HERE=$(cd "$(dirname "$0")" && pwd)
STEM=$(basename "$MODEL" .onnx | sed 's/[^A-Za-z0-9_]/_/g')
rm -rf "$W"
mkdir -p "$W/out_so" "$W/out_o" "$W/ref"
"$TESSEL" compile "$MODEL" --target cpu -i "$INPUT" -o "$W/so" --emit so -v
"$TESSEL" compile "$MODEL" --target cpu -i "$INPUT" -o "$W/obj" --emit obj
for f in "$W/so/$STEM.so" "$W/so/$STEM.h" "$W/obj/$STEM.o" "$W/obj/$STEM.h"; do
    [ -f "$f" ] || { echo "missing $f"; exit 1; }
done
if command -v readelf >/dev/null 2>&1; then
    bad=$(readelf -d "$W/so/$STEM.so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' |
          grep -v -E '^(libc|libm|libmvec)\.so' || true)
    [ -z "$bad" ] || { echo "unexpected run-time dependencies: $bad"; exit 1; }
fi
FLAGS="-std=c11 -O2 -Wall -Wextra -DTSL_MODEL=$STEM -DTSL_MODEL_HEADER=\"$STEM.h\""
# shellcheck disable=SC2086
"$CC" $FLAGS -I "$W/so" "$HERE/main.c" -L "$W/so" "-l:$STEM.so" "-Wl,-rpath,$W/so" -lm \
    -o "$W/demo_so"
# shellcheck disable=SC2086
"$CC" $FLAGS -I "$W/obj" "$HERE/main.c" "$W/obj/$STEM.o" -lm -o "$W/demo_o"
"$W/demo_so" -o "$W/out_so" "$INPUT"
"$W/demo_o" -o "$W/out_o" "$INPUT"
"$TESSEL" run "$MODEL" --backend ref -i "$INPUT" -o "$W/ref"
"$PY" - "$W" <<'PYEOF'
import glob, os, sys
import numpy as np
w = sys.argv[1]
refs = sorted(glob.glob(os.path.join(w, "ref", "*.npy")))
assert refs, "no reference outputs"
for kind in ("out_so", "out_o"):
    for r in refs:
        a = np.load(os.path.join(w, kind, os.path.basename(r)))
        b = np.load(r)
        assert a.shape == b.shape and a.dtype == b.dtype, (kind, r, a.shape, b.shape)
        err = np.abs(a.astype(np.float64) - b) - 1e-4 * (np.abs(b) + 1)
        assert (err <= 0).all(), (kind, r, float(err.max()))
print("aot outputs match the reference:", len(refs), "output(s), so and obj")
PYEOF
