#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (CPU; GPU tests skip without one).
# Usage: scripts/test.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
