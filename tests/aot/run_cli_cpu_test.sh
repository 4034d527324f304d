#!/bin/sh
# run_cli_cpu_test.sh TESSEL PYTHON WORKDIR MODEL.onnx INPUT.npy
# CLI checks of the cpu paths: `tessel run --backend cpu` matches
# `--backend ref` (|cpu - ref| <= 1e-4 (|ref| + 1), see tests/cpu/harness.h),
# --repeat ends with one JSON line, --profile prints the per-step table to
# stderr (and is a usage error without --backend cpu; --profile-all lists
# every step and needs --profile), and `tessel compile`
# errors: unknown
# target and bad --emit are usage errors (exit 2), unbound symbolic dims and
# a bad --shape fail with exit 1 and leave no file behind, --help exits 0.
# Value specialization: a Reshape whose shape is a graph input runs on the
# cpu backend (the input frozen to its value, a note names it) and matches
# the reference.
set -u
T=$1 PY=$2 W=$3 MODEL=$4 INPUT=$5
rm -rf "$W"
mkdir -p "$W"
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect CODE CMD...
    want=$1
    shift
    "$@" >"$W/out.txt" 2>"$W/err.txt"
    got=$?
    [ "$got" = "$want" ] || { cat "$W/err.txt"; fail "exit $got, wanted $want: $*"; }
}
expect 0 "$T" run "$MODEL" -i "$INPUT" --backend cpu -o "$W/cpu"
expect 0 "$T" run "$MODEL" -i "$INPUT" --backend ref -o "$W/ref"
"$PY" - "$W" <<'PYEOF' || fail "cpu and ref outputs differ"
import glob, os, sys
import numpy as np
w = sys.argv[1]
refs = sorted(glob.glob(os.path.join(w, "ref", "*.npy")))
assert refs
for r in refs:
    a, b = np.load(os.path.join(w, "cpu", os.path.basename(r))), np.load(r)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert (np.abs(a.astype(np.float64) - b) <= 1e-4 * (np.abs(b) + 1)).all()
PYEOF
"$PY" - "$W" <<'PYEOF' || fail "could not write the reshape model"
import os, sys
import numpy as np
from onnx import TensorProto, helper, save
w = sys.argv[1]
g = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["y"])], "rs",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
                       helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(w, "rs.onnx"))
np.save(os.path.join(w, "x.npy"), np.arange(24, dtype=np.float32).reshape(2, 3, 4))
np.save(os.path.join(w, "shape.npy"), np.array([4, -1], dtype=np.int64))
PYEOF
expect 0 "$T" run "$W/rs.onnx" -i "x=$W/x.npy" -i "shape=$W/shape.npy" --backend cpu -o "$W/rs_cpu"
grep -q '^tessel: note: shape: input specialized to its value' "$W/err.txt" ||
    fail "no note for the specialized input"
expect 0 "$T" run "$W/rs.onnx" -i "x=$W/x.npy" -i "shape=$W/shape.npy" --backend ref -o "$W/rs_ref"
cmp -s "$W/rs_cpu/y.npy" "$W/rs_ref/y.npy" || fail "specialized Reshape differs from ref"
expect 0 "$T" run "$MODEL" -i "$INPUT" --backend cpu --repeat 3 --threads 2
tail -n 1 "$W/out.txt" | grep -q '^{"median_ms": ' || fail "no JSON timing line"
! grep -q 'warning' "$W/err.txt" || fail "cpu --threads 2 warned"
expect 0 "$T" run "$MODEL" -i "$INPUT" --backend cpu --threads 3 -o "$W/cpu3"
for f in "$W"/cpu/*.npy; do
    cmp -s "$f" "$W/cpu3/$(basename "$f")" || fail "--threads 3 changed $(basename "$f")"
done
expect 0 "$T" run "$MODEL" -i "$INPUT" --backend ref --threads 2
grep -q 'warning: --threads 2: the reference interpreter runs on 1 thread' "$W/err.txt" ||
    fail "no --threads warning for the ref backend"
expect 2 "$T" run "$MODEL" -i "$INPUT" --backend gpu
expect 0 "$T" run "$MODEL" -i "$INPUT" --backend cpu --repeat 2 --profile
grep -q '^profile: [0-9]* steps, 2 runs, ' "$W/err.txt" || fail "no profile header (2 timed runs)"
grep -q 'Conv+Relu' "$W/err.txt" || fail "profile lists no fused Conv+Relu step"
grep -q 'by ops' "$W/err.txt" || fail "profile has no per-op table"
expect 2 "$T" run "$MODEL" -i "$INPUT" --profile
# --profile-all lists one row per step (the header's count) before "by ops"
expect 0 "$T" run "$MODEL" -i "$INPUT" --backend cpu --profile --profile-all
nsteps=$(sed -n 's/^profile: \([0-9]*\) steps,.*/\1/p' "$W/err.txt")
nrows=$(sed -n '3,/by ops/p' "$W/err.txt" | grep -c '(model_k[0-9]*_')
[ -n "$nsteps" ] && [ "$nrows" -eq "$nsteps" ] || fail "--profile-all: $nrows rows for $nsteps steps"
expect 2 "$T" run "$MODEL" -i "$INPUT" --backend cpu --profile-all
expect 0 "$T" compile --help
grep -q -- '--emit' "$W/out.txt" || fail "compile --help lists no --emit"
expect 2 "$T" compile "$MODEL" --target systolic -o "$W/c1"
grep -q 'systolic' "$W/err.txt" || fail "no systolic message"
expect 2 "$T" compile "$MODEL" -i "$INPUT" -o "$W/c1" --emit exe
expect 2 "$T" compile "$MODEL" -i "$INPUT"
expect 1 "$T" compile "$MODEL" -o "$W/c2"
grep -q '^tessel: error: .*: input has symbolic dims' "$W/err.txt" || fail "bad message"
[ ! -e "$W/c2" ] || [ -z "$(ls -A "$W/c2")" ] || fail "partial output left in $W/c2"
expect 1 "$T" compile "$MODEL" --shape input=1x3x16x16 -o "$W/c3"
[ ! -e "$W/c3" ] || [ -z "$(ls -A "$W/c3")" ] || fail "partial output left in $W/c3"
expect 0 "$T" compile "$MODEL" --shape input=2x3x32x32 -o "$W/c4" --emit ll -v --name net
[ -f "$W/c4/net.ll" ] && [ -f "$W/c4/net.h" ] || fail "missing net.ll / net.h"
grep -q 'codegen' "$W/err.txt" || fail "-v printed no phase times"
grep -q 'NET_INPUT_0_DIMS {2LL, 3LL, 32LL, 32LL}' "$W/c4/net.h" || fail "header dims"
[ -z "$(ls -A "$W/c4" | grep -v -E '^net\.(ll|h)$')" ] || fail "stray files in $W/c4"
echo "cli cpu checks passed"
