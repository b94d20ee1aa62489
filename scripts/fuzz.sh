#!/usr/bin/env bash
# Fuzzes every reader of vae (IDX, CIFAR, MAT, list files, images, checkpoints, configs) with
# libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer, and fails on any finding.
#
#   scripts/fuzz.sh [--seconds N] [--seed S] [--corpus DIR]
#
# Installs clang and libclang-rt-14-dev when missing (Debian), builds fuzz/ into build-fuzz/, writes
# the starting corpus (fuzz_seeds, plus a checkpoint trained by build/vae when it exists and the
# presets in configs/), then runs each target for N seconds (default 10; scripts/test.sh runs 5 as
# a smoke test with --seed 1, docs/fuzzing.md describes a longer run). --seed S fixes libFuzzer's
# random seed (default: a new one each run). --corpus DIR adds the files under
# DIR/<target>/ to the start (real dataset files, say). Prints one line per target: inputs run,
# corpus size, findings. A finding leaves its input as build-fuzz/findings/<target>/crash-* and the
# report in build-fuzz/logs/<target>.log, and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
seed=0
extra_corpus=""
while (($#)); do
  case "$1" in
    --seconds) seconds="${2:-}"; shift 2 || true ;;
    --seed) seed="${2:-}"; shift 2 || true ;;
    --corpus) extra_corpus="${2:-}"; shift 2 || true ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: --seconds takes a whole number, not '$seconds'" >&2; exit 2; }
[[ $seed =~ ^[0-9]+$ ]] || { echo "fuzz: --seed takes a whole number, not '$seed'" >&2; exit 2; }

packages=(clang libclang-rt-14-dev cmake nlohmann-json3-dev libspdlog-dev libfmt-dev libstb-dev zlib1g-dev)
source scripts/packages.sh
install_missing fuzz "${packages[@]}"

cmake -S fuzz -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null

targets=(idx cifar mat lists image checkpoint config)
seeds=build-fuzz/seeds
rm -rf "$seeds" build-fuzz/findings build-fuzz/logs
build-fuzz/fuzz_seeds "$seeds"
cp configs/*.json "$seeds/config/"
if [[ -x build/vae ]]; then
  # A real checkpoint, small: two steps of a tiny conv model on the built-in shapes.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if build/vae train --config configs/shapes.json --set data.image_size=16 --set model.hidden_dims=[4,8] \
       --set model.latent_dim=2 --set data.train_size=64 --set data.val_size=16 --set train.max_steps=2 \
       --set train.tensorboard=false --out "$work/run" >/dev/null 2>&1; then
    cp "$work/run/checkpoints/last.pt" "$seeds/checkpoint/last.pt"
  fi
fi
[[ -n $(ls -A "$seeds/checkpoint") ]] || echo "fuzz: no build/vae, so the checkpoint target starts from nothing" >&2
mkdir -p build-fuzz/findings build-fuzz/logs
status=0
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus" "build-fuzz/findings/$target"
  starts=("$corpus" "$seeds/$target")
  [[ -n $extra_corpus && -d $extra_corpus/$target ]] && starts+=("$extra_corpus/$target")
  max_len=16384
  [[ $target == checkpoint ]] && max_len=262144
  log=build-fuzz/logs/$target.log
  if "build-fuzz/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=4096 -timeout=20 \
       -seed="$seed" -print_final_stats=1 -artifact_prefix="build-fuzz/findings/$target/" "${starts[@]}" >"$log" 2>&1; then
    result="0 findings"
  else
    result="FINDING (see $log)"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $target: $runs inputs in ${seconds} s, corpus $(ls "$corpus" | wc -l) files, $result"
done
exit $status
