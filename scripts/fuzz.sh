#!/usr/bin/env bash
# fuzz.sh - a longer libFuzzer campaign on demand (not part of the tests).
#   scripts/fuzz.sh [SECONDS]    each target runs SECONDS (default 600); the
# corpus grows in build-fuzz/tests/*/..._corpus and is kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-600}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTESSEL_FUZZ=ON -DTESSEL_SANITIZE=ON -DTESSEL_FUZZ_SECONDS="$SECONDS_PER_TARGET" >/dev/null
cmake --build build-fuzz -j"${JOBS:-2}" --target tessel_fuzzers
ctest --test-dir build-fuzz --output-on-failure -L fuzz
