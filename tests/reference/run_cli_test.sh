#!/bin/sh
# run_cli_test.sh TESSEL SRC_DIR - `tessel run` end to end: good runs (.npy
# and .pb inputs, -o, name sanitizing, --repeat JSON) and bad inputs, each
# with its exit code and exactly one stderr line naming what was expected,
# and no partial output files.  Models and inputs are generated with
# /usr/bin/python3 (onnx + numpy) into a temporary folder.
set -u
T=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fails=0

/usr/bin/python3 - "$W" <<'EOF' || { echo "fixture generation failed"; exit 1; }
import sys
import numpy as np
for n, t in (("float", float), ("int", int), ("bool", bool), ("object", object)):
    if not hasattr(np, n):
        setattr(np, n, t)
import onnx
from onnx import helper, numpy_helper, TensorProto as TP
d = sys.argv[1]
def save(nodes, ins, outs, inits, name):
    g = helper.make_graph(nodes, name, ins, outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(m, f"{d}/{name}.onnx")
one = numpy_helper.from_array(np.array([1.0], np.float32), "one")
save([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "one"], ["out/put:0"])],
     [helper.make_tensor_value_info("x", TP.FLOAT, [2, 3])],
     [helper.make_tensor_value_info("out/put:0", TP.FLOAT, [2, 3])], [one], "single")
save([helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Mul", ["a", "b"], ["p"])],
     [helper.make_tensor_value_info("a", TP.FLOAT, ["N", 3]),
      helper.make_tensor_value_info("b", TP.FLOAT, ["N", 3])],
     [helper.make_tensor_value_info("s", TP.FLOAT, ["N", 3]),
      helper.make_tensor_value_info("p", TP.FLOAT, ["N", 3])], [], "double")
data = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), "data")
save([helper.make_node("Identity", ["data"], ["d2"]), helper.make_node("Gather", ["d2", "idx"], ["g"])],
     [helper.make_tensor_value_info("idx", TP.INT64, [2])],
     [helper.make_tensor_value_info("d2", TP.FLOAT, [3, 2]),
      helper.make_tensor_value_info("g", TP.FLOAT, [2, 2])], [data], "gather")
x = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
np.save(f"{d}/x.npy", x)
np.save(f"{d}/x_i64.npy", x.astype(np.int64))
np.save(f"{d}/x_rank1.npy", x.reshape(6))
np.save(f"{d}/x_2x4.npy", np.zeros((2, 4), np.float32))
np.save(f"{d}/a.npy", np.ones((4, 3), np.float32))
np.save(f"{d}/b5.npy", np.ones((5, 3), np.float32))
np.save(f"{d}/idx_ok.npy", np.array([2, -3], np.int64))
np.save(f"{d}/idx_bad.npy", np.array([0, 7], np.int64))
with open(f"{d}/x.pb", "wb") as f:
    f.write(numpy_helper.from_array(x, "x").SerializeToString())
with open(f"{d}/fortran.npy", "wb") as f:
    np.lib.format.write_array(f, np.asfortranarray(x), version=(1, 0))
raw = open(f"{d}/x.npy", "rb").read()
open(f"{d}/truncated.npy", "wb").write(raw[:-4])
open(f"{d}/badmagic.npy", "wb").write(b"PK" + raw[2:])
open(f"{d}/notadir", "w").write("")
EOF

# expect CODE NEEDLE -- ARGS... : exit code CODE; for CODE 1 exactly one
# stderr line "tessel: error: ..." containing NEEDLE.
expect() {
    code=$1 needle=$2
    shift 3
    "$T" "$@" >"$W/out" 2>"$W/err"
    got=$?
    if [ "$got" -ne "$code" ]; then
        echo "FAIL: tessel $* -> exit $got, expected $code"; cat "$W/err"; fails=$((fails + 1)); return
    fi
    if [ "$code" -eq 1 ]; then
        lines=$(wc -l <"$W/err")
        if [ "$lines" -ne 1 ] || ! grep -q "^tessel: error: " "$W/err" || ! grep -qF -- "$needle" "$W/err"; then
            echo "FAIL: tessel $*: stderr should be one error line with '$needle':"; cat "$W/err"
            fails=$((fails + 1))
        fi
    elif [ "$code" -eq 0 ] && [ -s "$W/err" ]; then
        echo "FAIL: tessel $*: unexpected stderr:"; cat "$W/err"; fails=$((fails + 1))
    fi
}

M1=$W/single.onnx M2=$W/double.onnx M3=$W/gather.onnx
# good runs
expect 0 "" -- run "$M1" -i "$W/x.npy"
grep -q '^out/put:0: f32 \[2, 3\] = \[1, 3, 1, 5, 1, 7\]$' "$W/out" || { echo "FAIL: summary"; cat "$W/out"; fails=$((fails + 1)); }
expect 0 "" -- run "$M1" -i "x=$W/x.pb" -o "$W/o1/deep"
[ -f "$W/o1/deep/out_put_0.npy" ] || { echo "FAIL: -o did not write out_put_0.npy"; fails=$((fails + 1)); }
/usr/bin/python3 -c "import numpy as np,sys; a=np.load(sys.argv[1]); assert a.tolist()==[[1,3,1],[5,1,7]], a" \
    "$W/o1/deep/out_put_0.npy" || { echo "FAIL: output values"; fails=$((fails + 1)); }
expect 0 "" -- run "$M2" -i "a=$W/a.npy" -i "b=$W/a.npy" --repeat 3 --backend ref
tail -n 1 "$W/out" | grep -Eq '^\{"median_ms": [0-9.]+, "min_ms": [0-9.]+, "runs": 3\}$' ||
    { echo "FAIL: --repeat JSON"; cat "$W/out"; fails=$((fails + 1)); }
# --stats: Relu's 24-byte output is still live while Add writes its own 24
# bytes (the weight "one" and the input are not counted); with --repeat the
# stats line comes right before the JSON line
expect 0 "" -- run "$M1" -i "$W/x.npy" --stats
grep -q '^stats: peak_activation_bytes=48 (0.00 MiB) nodes_run=2$' "$W/out" ||
    { echo "FAIL: --stats"; cat "$W/out"; fails=$((fails + 1)); }
expect 0 "" -- run "$M1" -i "$W/x.npy" --stats --repeat 2 -o "$W/o4"
sed -n 1p "$W/out" | grep -q '^stats: peak_activation_bytes=48 ' &&
    tail -n 1 "$W/out" | grep -q '"runs": 2}$' || { echo "FAIL: --stats --repeat"; cat "$W/out"; fails=$((fails + 1)); }
expect 0 "" -- run "$M3" -i "$W/idx_ok.npy" -o "$W/o2"
[ -f "$W/o2/d2.npy" ] && [ -f "$W/o2/g.npy" ] || { echo "FAIL: gather outputs"; fails=$((fails + 1)); }

# bad inputs: exit 1, one line
expect 1 "cannot open" -- run "$M1" -i "$W/missing.npy"
expect 1 "missing input" -- run "$M2" -i "a=$W/a.npy"
expect 1 "unknown input name 'c'" -- run "$M2" -i "a=$W/a.npy" -i "c=$W/a.npy"
expect 1 "write -i NAME=FILE" -- run "$M2" -i "$W/a.npy"
expect 1 "x: expected dtype f32, got i64" -- run "$M1" -i "$W/x_i64.npy"
expect 1 "x: expected rank 2, got 1" -- run "$M1" -i "$W/x_rank1.npy"
expect 1 "x: expected size 3 in dim 1, got 4" -- run "$M1" -i "$W/x_2x4.npy"
expect 1 "b: dim 0 is 'N' = 4 elsewhere, got 5" -- run "$M2" -i "a=$W/a.npy" -i "b=$W/b5.npy"
expect 1 "fortran_order True is not supported" -- run "$M1" -i "$W/fortran.npy"
expect 1 "truncated data" -- run "$M1" -i "$W/truncated.npy"
expect 1 "bad magic" -- run "$M1" -i "$W/badmagic.npy"
expect 1 "unknown input format" -- run "$M1" -i "$W/notadir"
expect 1 "not a directory" -- run "$M1" -i "$W/x.npy" -o "$W/notadir"
expect 1 "input given twice" -- run "$M1" -i "$W/x.npy" -i "x=$W/x.npy"
expect 1 "cannot open" -- run "$W/nomodel.onnx" -i "$W/x.npy"
# a node failing at run time leaves no output files behind
expect 1 "index 7 out of range" -- run "$M3" -i "$W/idx_bad.npy" -o "$W/o3"
[ -z "$(ls -A "$W/o3" 2>/dev/null)" ] || { echo "FAIL: partial outputs in o3"; ls "$W/o3"; fails=$((fails + 1)); }

# usage errors: exit 2
expect 2 "" -- run
expect 2 "" -- run "$M1" --repeat 0
expect 2 "" -- run "$M1" --bogus
expect 2 "" -- run "$M1" --backend tpu
expect 0 "" -- run --help

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "all tessel run CLI cases passed"
