#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU, a Python with torch, nvcc and cmake, and no internet
# or Debian -dev packages: configures vae against that torch, builds it, runs the `gpu` test label and
# a training benchmark on the device, and writes a short report. Also runs on a machine without a GPU
# (the gpu tests then skip). Fill the dependency folder first, on a machine with Debian's packages:
# scripts/gpu_deps.sh.
# Usage: scripts/gpu_check.sh [report-file]   (default: $OUT/gpu_report.txt or build-gpu/gpu_report.txt)
# Environment: VAE_PYTHON (python3), VAE_DEPS (third_party/gpu-deps), VAE_BUILD_DIR (build-gpu).
set -uo pipefail
cd "$(dirname "$0")/.."
python="${VAE_PYTHON:-python3}"
deps="$(readlink -f "${VAE_DEPS:-third_party/gpu-deps}")"
build="${VAE_BUILD_DIR:-build-gpu}"
report="${1:-${OUT:-$build}/gpu_report.txt}"
mkdir -p "$(dirname "$report")" "$build"
start=$SECONDS
say() { echo "$*" | tee -a "$report"; }
: > "$report"

[[ -d $deps/usr/include ]] || { echo "gpu_check: no $deps; run scripts/gpu_deps.sh first" >&2; exit 2; }
read -r root torch_version torch_cuda < <("$python" -c 'import os, torch
print(os.path.dirname(torch.__file__), torch.__version__, torch.version.cuda or "none")' 2>/dev/null) ||
  { echo "gpu_check: $python cannot import torch" >&2; exit 2; }
nvcc="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
say "gpu_check: torch $torch_version (CUDA $torch_cuda) from $root; nvcc $nvcc"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[[ -f $build/CMakeCache.txt ]] && generator=()
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$root;$root/share/cmake;$deps/usr" -DCMAKE_CUDA_COMPILER="$nvcc" \
  -DCMAKE_INCLUDE_PATH="$deps/usr/include" -DVAE_WITH_PLPLOT=OFF > "$build/configure.log" 2>&1 ||
  { tail -30 "$build/configure.log"; say "gpu_check: configure failed"; exit 1; }
grep "vae:" "$build/configure.log" | tee -a "$report"
cmake --build "$build" -j"$(nproc)" --target vae vae_gpu_tests > "$build/build.log" 2>&1 ||
  { grep -m20 -E "error|Error" "$build/build.log"; say "gpu_check: build failed"; exit 1; }
say "gpu_check: built in $((SECONDS - start)) s"
"$build/vae" --version | tee -a "$report"

ctest --test-dir "$build" -L gpu --output-on-failure --timeout 240 > "$build/gpu_tests.log" 2>&1
tests=$?
grep -E "tests passed|tests failed|Skipped|Failed|\*\*\*" "$build/gpu_tests.log" | tee -a "$report"

# Speed on the device: the trainer's own step (vae bench train) on the cifar10 and celeba64 presets.
device=cpu steps=3
"$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && device=cuda steps=50
for preset in cifar10 celeba64; do
  timeout 120 "$build/vae" bench train --config "configs/$preset.json" --device "$device" --steps "$steps" \
    2>> "$build/bench.log" | sed "s/^/bench $preset: /" | tee -a "$report"
done
say "gpu_check: done in $((SECONDS - start)) s; gpu tests exit $tests; report $report"
exit $tests
