#!/usr/bin/env bash
# Installs what vae needs (only what is missing, so it is cheap to re-run) and builds the Release
# program.
#
#   scripts/setup.sh                 Debian's packages, LibTorch 1.13 (CPU)      -> build/vae
#   scripts/setup.sh --torch pip     the same packages, and LibTorch from the pip wheel of torch
#                                    (VAE_TORCH_VERSION, default 2.11.0; CUDA-enabled) -> build-pip/vae
#
# --torch pip installs torch into .venv-torch/ (a virtual environment of python3) unless
# VAE_PYTHON names a Python that already has it, and needs a CUDA toolkit (nvcc) for the wheel's
# CMake files: /usr/local/cuda, CUDA_HOME or nvcc on PATH. VAE_WITH_TURBOJPEG=OFF and
# VAE_WITH_PLPLOT=OFF build without those optional libraries.
set -euo pipefail
cd "$(dirname "$0")/.."

torch_source=debian
while (($#)); do
  case "$1" in
    --torch) torch_source="${2:-}"; shift 2 || true ;;
    --torch=*) torch_source="${1#--torch=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown argument '$1'; use --torch debian|pip" >&2; exit 2 ;;
  esac
done
case "$torch_source" in
  debian|pip) ;;
  *) echo "setup: --torch '$torch_source' is not known; use debian or pip" >&2; exit 2 ;;
esac

packages=(
  g++ cmake make
  libopenblas0-pthread    # fast BLAS for LibTorch; Debian's reference BLAS is ~4x slower here
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libstb-dev
  zlib1g-dev              # gzip (MNIST .gz)
  libturbojpeg0-dev       # fast JPEG decoding (optional: else stb_image)
  pkg-config
  libgtest-dev            # the test suite
  libmatio-dev            # the tests write .mat files with it (optional: else those tests skip)
  libplplot-dev plplot-driver-cairo  # loss curves (optional: curves.png, vae plot)
  python3-protobuf        # the test that decodes TensorBoard event files independently
)
[[ $torch_source == debian ]] && packages+=(libtorch-dev)  # LibTorch 1.13 (CPU)
[[ $torch_source == pip ]] && packages+=(python3-venv)
source scripts/packages.sh
install_missing setup "${packages[@]}"

features=(-DVAE_WITH_TURBOJPEG="${VAE_WITH_TURBOJPEG:-ON}" -DVAE_WITH_PLPLOT="${VAE_WITH_PLPLOT:-ON}")
if [[ $torch_source == debian ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${features[@]}" >/dev/null
  cmake --build build -j"$(nproc)"
  echo "setup: built $(pwd)/build/vae" >&2
  exit 0
fi

# --torch pip
version="${VAE_TORCH_VERSION:-2.11.0}"
python="${VAE_PYTHON:-}"
if [[ -z $python ]]; then
  [[ -x .venv-torch/bin/python ]] || python3 -m venv .venv-torch
  python=.venv-torch/bin/python
fi
have="$("$python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [[ $have != "$version" ]]; then
  echo "setup: installing torch==$version with pip into $("$python" -c 'import sys; print(sys.prefix)')" >&2
  "$python" -m pip install -q --disable-pip-version-check "torch==$version"
fi
read -r root prefix torch_cuda < <("$python" -c 'import os, torch
print(os.path.dirname(torch.__file__), torch.utils.cmake_prefix_path, torch.version.cuda or "none")' 2>/dev/null)
cuda_args=()
if [[ $torch_cuda != none ]]; then
  nvcc=""
  for candidate in "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" /usr/local/cuda/bin/nvcc "$(command -v nvcc || true)"; do
    [[ -n $candidate && -x $candidate ]] && { nvcc="$candidate"; break; }
  done
  if [[ -z $nvcc ]]; then
    echo "setup: torch $version is built with CUDA $torch_cuda and its CMake files need a CUDA" \
         "toolkit; install one (nvcc) or set CUDA_HOME" >&2
    exit 1
  fi
  toolkit="$(dirname "$(dirname "$(readlink -f "$nvcc")")")"
  echo "setup: torch $version (CUDA $torch_cuda) with the CUDA toolkit in $toolkit" >&2
  cuda_args=(-DCMAKE_CUDA_COMPILER="$nvcc" -DCUDAToolkit_ROOT="$toolkit")
  # libtorch_cuda.so finds cuDNN, cuBLAS and NCCL in the wheel's nvidia/ packages; the linker
  # needs to see them too.
  nvidia="$(dirname "$root")/nvidia"  # site-packages/nvidia
  if [[ -d $nvidia ]]; then
    rpath_link="$(find "$nvidia" -type d -name lib | paste -sd: -)"
    cuda_args+=(-DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$rpath_link")
  fi
fi
# The wheel's own lib/ first: else its CMake files may pick another libtorch.so (Debian's) up.
cmake -S . -B build-pip -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$root;$prefix" \
  "${cuda_args[@]}" "${features[@]}" >/dev/null
cmake --build build-pip -j"$(nproc)"
echo "setup: built $(pwd)/build-pip/vae against torch $version" >&2
