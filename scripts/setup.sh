#!/usr/bin/env bash
# Installs the Debian packages ddx needs to build, test and draw.
# Idempotent: when everything is present it only checks and returns.
# Usage: scripts/setup.sh [--bench]
#   --bench  also the peers the benchmarks compare against: GiNaC, python3 and PyTorch
set -euo pipefail

packages=(
  build-essential cmake ninja-build        # toolchain: g++ 12, CMake >= 3.25, Ninja
  libboost-dev                             # Boost.Multiprecision (header-only)
  libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev              # sanitizer and fuzzer builds
  graphviz                                 # SVG figures of expression graphs
  chromium                                 # headless browser tests of the HTML pages
)
if [[ ${1:-} == --bench ]]; then
  packages+=(python3 libginac-dev python3-torch)  # bench/prover_table.py and its GiNaC column; bench/compare_pytorch.py
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo env DEBIAN_FRONTEND=noninteractive $cmd
    exit 0
  fi
  echo "ddx setup: these packages are missing: ${missing[*]}" >&2
  echo "ddx setup: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "ddx setup: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive $cmd
