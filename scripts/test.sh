#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (CPU; GPU tests skip without one)
# twice: against Debian's LibTorch 1.13 (build/) and against pip's torch 2.x (build-pip/, without the
# optional libjpeg-turbo and PLplot, so that their fallbacks are tested as well); then fuzzes every
# file reader for a few seconds under ASan/UBSan (scripts/fuzz.sh; a finding fails the run).
# Usage: scripts/test.sh [extra ctest arguments]; VAE_TEST_TORCH=debian|pip runs one of them;
# VAE_TEST_FUZZ_SECONDS=N fuzzes each reader N seconds (default 5; 0 leaves fuzzing out).
set -euo pipefail
cd "$(dirname "$0")/.."
which="${VAE_TEST_TORCH:-debian pip}"
status=0
for torch in $which; do
  case "$torch" in
    debian)
      scripts/setup.sh
      echo "test: the suite against Debian's LibTorch (build/)" >&2
      ctest --test-dir build --output-on-failure --repeat until-pass:2 -j"$(nproc)" "$@" || status=1
      ;;
    pip)
      VAE_WITH_TURBOJPEG=OFF VAE_WITH_PLPLOT=OFF scripts/setup.sh --torch pip
      echo "test: the suite against pip's torch (build-pip/)" >&2
      ctest --test-dir build-pip --output-on-failure --repeat until-pass:2 -j"$(nproc)" "$@" || status=1
      ;;
    *) echo "test: VAE_TEST_TORCH='$torch' is not known; use debian and/or pip" >&2; exit 2 ;;
  esac
done
fuzz_seconds="${VAE_TEST_FUZZ_SECONDS:-5}"
if [[ $fuzz_seconds != 0 ]]; then
  echo "test: fuzzing every reader for ${fuzz_seconds} s each (scripts/fuzz.sh)" >&2
  scripts/fuzz.sh --seconds "$fuzz_seconds" --seed 1 || status=1
fi
exit $status
