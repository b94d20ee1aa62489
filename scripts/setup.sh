#!/usr/bin/env bash
# Installs every Debian package vae needs (only those missing, so it is cheap to re-run) and
# builds the Release program into build/vae. Usage: scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake make
  libtorch-dev            # LibTorch 1.13 (CPU)
  libopenblas0-pthread    # fast BLAS for LibTorch; Debian's reference BLAS is ~4x slower here
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libstb-dev
  zlib1g-dev              # gzip (MNIST .gz)
  libturbojpeg0-dev       # fast JPEG decoding
  libmatio-dev            # Flowers102 .mat split files
  pkg-config
  libgtest-dev            # the test suite
  libplplot-dev plplot-driver-cairo  # loss curves (curves.png, vae plot)
  python3-protobuf        # the test that decodes TensorBoard event files independently
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built $(pwd)/build/vae" >&2
