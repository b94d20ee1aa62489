#!/usr/bin/env bash
# OpenMP's wait policy on an idle and on a loaded machine: `vae bench train` images/s with vae's
# default (OMP_WAIT_POLICY=PASSIVE, set by vae unless the environment has one) against libgomp's own
# default (spinning, OMP_WAIT_POLICY=ACTIVE), alternating the two, REPS times each, with no other
# work and then with one busy process per core (`yes > /dev/null`, standing in for a compiler or
# another job). Prints the median images/s of each case and the passive/active ratio.
# Usage: scripts/bench_wait_policy.sh [vae binary] [config]   (defaults: build/vae configs/mnist.json)
set -euo pipefail
cd "$(dirname "$0")/.."
vae="${1:-build/vae}"
config="${2:-configs/mnist.json}"
reps="${REPS:-3}"
steps="${STEPS:-20}"
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
rate() {
  OMP_WAIT_POLICY="$1" "$vae" bench train --config "$config" --steps "$steps" --warmup 3 2>/dev/null |
    sed -E 's/.*"images_per_s":([0-9.]+).*/\1/'
}
load_pids=()
stop_load() { ((${#load_pids[@]})) && kill "${load_pids[@]}" 2>/dev/null; load_pids=(); }
trap stop_load EXIT
for load in idle loaded; do
  if [[ $load == loaded ]]; then
    for _ in $(seq "$(nproc)"); do yes > /dev/null & load_pids+=($!); done
  fi
  passive=() active=()
  for _ in $(seq "$reps"); do
    passive+=("$(rate PASSIVE)")
    active+=("$(rate ACTIVE)")
  done
  p=$(printf '%s\n' "${passive[@]}" | median)
  a=$(printf '%s\n' "${active[@]}" | median)
  awk -v load="$load" -v p="$p" -v a="$a" \
    'BEGIN { printf "%-7s passive %8.1f img/s   active %8.1f img/s   passive/active %.2f\n", load, p, a, p / a }'
  stop_load
done
