#!/usr/bin/env bash
# Training-step speed of every preset, side by side in one run with the Python peer: for each
# write-up, `vae bench train` on its preset and `torch_peer.py train` on the same model, both timing
# optimizer steps (forward, loss, backward, clipping, update) on a fixed random batch at the
# write-up's batch size (000 also at 256), with the same thread count. The peer runs with
# OPENBLAS_NUM_THREADS=1, its fastest setting here. Prints a Markdown table: images/s, the ratio
# vae/peer, and the FLOP/s each achieves as a fraction of a large matrix product's FLOP/s measured
# by `vae bench train` in the same run; then one JSON line per row.
# Usage: scripts/bench_train.sh [REPEATS] [TIME_SCALE]
#   REPEATS: measurements per program and row, the median is reported (default 3)
#   TIME_SCALE: multiplies the step counts (default 1: about 5-15 s per measurement)
# Needs build/vae and a Python with torch (VAE_PYTHON, default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
scale=${2:-1}
threads=${VAE_BENCH_THREADS:-$(nproc)}
python=${VAE_PYTHON:-/usr/bin/python3}
peer=${VAE_PEER:-../shared/peer/torch_peer.py}
[[ -x build/vae ]] || { echo "bench_train: build/vae is missing; run scripts/setup.sh" >&2; exit 1; }
[[ -f $peer ]] || { echo "bench_train: peer $peer not found; set VAE_PEER" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null ||
  { echo "bench_train: $python has no torch; set VAE_PYTHON or install python3-torch" >&2; exit 1; }

# preset  peer-model  batch  steps  warm-up steps
rows=(
  "cinic10 lance 4096 3 1"
  "cinic10 lance 256 40 3"
  "cifar10 cifar_bn 32 60 3"
  "flowers102 flowers 64 300 5"
  "mnist_mlp mnist_mlp 32 1000 20"
  "celeba64 celeba 64 12 2"
)

# Median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Value of KEY in a one-line JSON object.
field() { "$python" -c 'import json, sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

results=()
printf '| preset | peer model | batch | vae img/s | peer img/s | vae / peer | MFLOP per image | vae GFLOP/s | vae of matmul | peer of matmul |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for row in "${rows[@]}"; do
  read -r preset model batch steps warmup <<<"$row"
  steps=$(awk -v s="$steps" -v k="$scale" 'BEGIN { n = int(s * k); print (n < 1) ? 1 : n }')
  vae_rates=() peer_rates=() matmul=() vae_line=""
  for ((r = 0; r < repeats; r++)); do
    vae_line=$(build/vae bench train --config "configs/$preset.json" --batch "$batch" --steps "$steps" \
      --warmup "$warmup" --threads "$threads" --device cpu 2>/dev/null)
    vae_rates+=("$(field images_per_s <<<"$vae_line")")
    matmul+=("$(field matmul_gflop_per_s <<<"$vae_line")")
    peer_line=$(OPENBLAS_NUM_THREADS=1 "$python" "$peer" train --model "$model" --batch "$batch" \
      --steps "$steps" --warmup "$warmup" --threads "$threads")
    peer_rates+=("$(field img_per_s <<<"$peer_line")")
  done
  vae_rate=$(printf '%s\n' "${vae_rates[@]}" | median)
  peer_rate=$(printf '%s\n' "${peer_rates[@]}" | median)
  matmul_rate=$(printf '%s\n' "${matmul[@]}" | median)
  mflop=$(field mflop_per_image <<<"$vae_line")
  awk -v p="$preset" -v m="$model" -v b="$batch" -v v="$vae_rate" -v q="$peer_rate" -v f="$mflop" -v mm="$matmul_rate" \
    'BEGIN { printf "| %s | %s | %d | %.1f | %.1f | %.2fx | %.1f | %.2f | %.1f%% | %.1f%% |\n",
             p, m, b, v, q, v / q, f, v * f / 1e3, 100 * v * f / 1e3 / mm, 100 * q * f / 1e3 / mm }'
  results+=("$(awk -v p="$preset" -v m="$model" -v b="$batch" -v s="$steps" -v v="$vae_rate" -v q="$peer_rate" \
    -v f="$mflop" -v mm="$matmul_rate" -v t="$threads" -v n="$repeats" \
    'BEGIN { printf "{\"preset\": \"%s\", \"peer_model\": \"%s\", \"batch\": %d, \"steps\": %d, \"threads\": %d, \"repeats\": %d, \"vae_img_per_s\": %.1f, \"peer_img_per_s\": %.1f, \"ratio\": %.3f, \"mflop_per_image\": %.3f, \"matmul_gflop_per_s\": %.2f, \"vae_fraction_of_matmul\": %.4f, \"peer_fraction_of_matmul\": %.4f}",
             p, m, b, s, t, n, v, q, v / q, f, mm, v * f / 1e3 / mm, q * f / 1e3 / mm }')")
done
printf '\n'
printf '%s\n' "${results[@]}"
