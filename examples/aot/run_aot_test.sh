#!/bin/sh
# run_aot_test.sh TESSEL CC PYTHON WORKDIR MODEL.onnx INPUT.npy
# End-to-end check of ahead-of-time compilation (on a batch of 4 made from
# INPUT): `tessel compile` the model
# into a shared library (--threads 2) and an object (1 thread), build
# examples/aot/main.c against each with the system C compiler, run the .so
# on its own pool of 2 threads (and of 3, which uses 2) and the .o on the
# calling thread, and compare every output with `tessel run --backend ref`
# (|aot - ref| <= 1e-4 (|ref| + 1), the cpu backend's tolerance: different
# summation order and FMA rounding, see tests/cpu/harness.h); the threaded
# and single-thread outputs must be bitwise identical.  Also checks that the
# .so needs nothing from tessel (its DT_NEEDED entries are libc, libm and
# libpthread only).
set -eu
TESSEL=$1 CC=$2 PY=$3 W=$4 MODEL=$5 INPUT=$6
HERE=$(cd "$(dirname "$0")" && pwd)
STEM=$(basename "$MODEL" .onnx | sed 's/[^A-Za-z0-9_]/_/g')
STEM_UP=$(printf '%s' "$STEM" | tr '[:lower:]' '[:upper:]')
rm -rf "$W"
mkdir -p "$W/out_so" "$W/out_so3" "$W/out_o" "$W/ref"
# four perturbed copies of INPUT as one batch: big enough for the cost model
# to split loops over 2 threads (the -v stats line must show it)
"$PY" - "$INPUT" "$W/input4.npy" <<'PYEOF'
import sys
import numpy as np
x = np.load(sys.argv[1])
np.save(sys.argv[2], np.concatenate([x * (1 + 0.25 * i) for i in range(4)]).astype(np.float32))
PYEOF
INPUT="$W/input4.npy"
"$TESSEL" compile "$MODEL" --target cpu -i "$INPUT" -o "$W/so" --emit so --threads 2 -v \
    2> "$W/compile_so.txt"
cat "$W/compile_so.txt"
grep -q 'threads=2 parallel_loops=[1-9]' "$W/compile_so.txt" || { echo "no loop split"; exit 1; }
"$TESSEL" compile "$MODEL" --target cpu -i "$INPUT" -o "$W/obj" --emit obj
for f in "$W/so/$STEM.so" "$W/so/$STEM.h" "$W/obj/$STEM.o" "$W/obj/$STEM.h"; do
    [ -f "$f" ] || { echo "missing $f"; exit 1; }
done
if command -v readelf >/dev/null 2>&1; then
    bad=$(readelf -d "$W/so/$STEM.so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' |
          grep -v -E '^(libc|libm|libmvec|libpthread)\.so' || true)
    [ -z "$bad" ] || { echo "unexpected run-time dependencies: $bad"; exit 1; }
fi
FLAGS="-std=c11 -O2 -Wall -Wextra -DTSL_MODEL=$STEM -DTSL_MODEL_HEADER=\"$STEM.h\""
# shellcheck disable=SC2086
"$CC" $FLAGS -I "$W/so" "$HERE/main.c" -L "$W/so" "-l:$STEM.so" "-Wl,-rpath,$W/so" -lm \
    -pthread -o "$W/demo_so"
# shellcheck disable=SC2086
"$CC" $FLAGS -I "$W/obj" "$HERE/main.c" "$W/obj/$STEM.o" -lm -pthread -o "$W/demo_o"
grep -q "define ${STEM_UP}_THREADS 2" "$W/so/$STEM.h" || { echo "header: no THREADS 2"; exit 1; }
"$W/demo_so" -t 2 -o "$W/out_so" "$INPUT"
"$W/demo_so" -t 3 -o "$W/out_so3" "$INPUT"
"$W/demo_o" -o "$W/out_o" "$INPUT"
"$TESSEL" run "$MODEL" --backend ref -i "$INPUT" -o "$W/ref"
"$PY" - "$W" <<'PYEOF'
import glob, os, sys
import numpy as np
w = sys.argv[1]
refs = sorted(glob.glob(os.path.join(w, "ref", "*.npy")))
assert refs, "no reference outputs"
for kind in ("out_so", "out_so3", "out_o"):
    for r in refs:
        a = np.load(os.path.join(w, kind, os.path.basename(r)))
        b = np.load(r)
        assert a.shape == b.shape and a.dtype == b.dtype, (kind, r, a.shape, b.shape)
        err = np.abs(a.astype(np.float64) - b) - 1e-4 * (np.abs(b) + 1)
        assert (err <= 0).all(), (kind, r, float(err.max()))
        one = np.load(os.path.join(w, "out_o", os.path.basename(r)))
        assert a.tobytes() == one.tobytes(), ("threads changed the bits", kind, r)
print("aot outputs match the reference:", len(refs), "output(s), so (2 and 3 threads) and obj")
PYEOF
