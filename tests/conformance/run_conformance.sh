#!/bin/sh
# run_conformance.sh - ctest driver for onnx_node_tests: generate the ONNX
# node tests into the build tree (once per onnx version), then run the
# harness on them.  Exits 77 (ctest: skipped) when PYTHON is missing or has
# no onnx; otherwise exits with the harness's status.  It does not decide
# pass/fail itself (run_node_tests does).
#
# usage: run_conformance.sh PYTHON GENERATOR DATADIR RUNNER [RUNNER OPTIONS...]
set -u
if [ $# -lt 4 ]; then
    echo "usage: run_conformance.sh PYTHON GENERATOR DATADIR RUNNER [OPTIONS...]" >&2
    exit 2
fi
python=$1 gen=$2 data=$3 runner=$4
shift 4
if [ ! -x "$python" ]; then
    echo "run_conformance: skipped: $python not found" >&2
    exit 77
fi
"$python" "$gen" "$data" || exit $?
exec "$runner" "$data" "$@"
