#!/usr/bin/env bash
# Fills third_party/gpu-deps/ (git-ignored, a few MB) with what scripts/gpu_check.sh needs on a GPU
# machine that has torch, nvcc and cmake but no internet and no Debian -dev packages: the headers of
# CLI11, nlohmann_json, spdlog, fmt and stb, and static zlib, libjpeg-turbo and GoogleTest, taken
# from this machine's Debian packages (apt-get download + dpkg -x; nothing is installed).
# Usage: scripts/gpu_deps.sh [folder]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-third_party/gpu-deps}"
packages=(libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libstb-dev zlib1g-dev
          libturbojpeg0-dev libgtest-dev)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "${packages[@]}")
rm -rf "$out"
mkdir -p "$out"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$out"; done
# Shared-library links point at runtime packages that are not there: static libraries only.
find "$out" -name '*.so' -type l -delete
rm -rf "$out/usr/share/doc" "$out/usr/share/man" "$out/usr/share/lintian"
printf '%s\n' "${packages[@]}" > "$out/PACKAGES"
echo "gpu_deps: $(du -sh "$out" | cut -f1) in $out ($(ls "$work" | wc -l) packages)" >&2
