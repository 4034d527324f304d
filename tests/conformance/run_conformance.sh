#!/bin/sh
# run_conformance.sh - ctest driver for onnx_node_tests[_cpu]: run the harness
# on the ONNX node tests that the fixture test onnx_node_tests_data generated
# into the build tree.  Exits 77 (ctest: skipped) when there are no data (the
# generator was skipped: no python3-onnx); otherwise exits with the
# harness's status.  It does not decide pass/fail itself (run_node_tests does).
#
# usage: run_conformance.sh DATADIR RUNNER [RUNNER OPTIONS...]
set -u
if [ $# -lt 2 ]; then
    echo "usage: run_conformance.sh DATADIR RUNNER [OPTIONS...]" >&2
    exit 2
fi
data=$1 runner=$2
shift 2
if [ ! -f "$data/VERSION" ]; then
    echo "run_conformance: skipped: no node-test data in $data" >&2
    exit 77
fi
exec "$runner" "$data" "$@"
