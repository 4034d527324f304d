#!/usr/bin/env bash
# test.sh - build tessel with warnings as errors under ASan+UBSan and run the
# default test suite (unit, golden, cli, conformance, differential, models),
# then a bounded libFuzzer run of every fuzz target (clang build tree).
# Must stay under 15 minutes on 2 cores.
#   TESSEL_FUZZ_SECONDS=N   seconds per fuzz target (default 60)
#   scripts/fuzz.sh         a longer fuzz campaign, on demand
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSEL_WERROR=ON -DTESSEL_SANITIZE=ON >/dev/null
cmake --build build-test -j"$JOBS"
ctest --test-dir build-test --output-on-failure -j"$JOBS"

# libFuzzer targets need clang: a separate tree that builds only them.
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTESSEL_FUZZ=ON -DTESSEL_SANITIZE=ON -DTESSEL_WERROR=ON \
  -DTESSEL_FUZZ_SECONDS="${TESSEL_FUZZ_SECONDS:-60}" >/dev/null
cmake --build build-fuzz -j"$JOBS" --target tessel_fuzzers
ctest --test-dir build-fuzz --output-on-failure -L fuzz -j"$JOBS"
