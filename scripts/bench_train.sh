#!/usr/bin/env bash
# Training throughput, side by side in one run: `vae train` (whole loop: data generation,
# forward, backward, Adam, logging) against the Python peer's optimizer steps on random inputs
# (no data loading at all), on the peer's "lance" model: 3x32x32, conv 32-64-128 k4 s2,
# latent 64, tanh output, squared error + KL, Adam 1e-4, batch 64.
# Usage: scripts/bench_train.sh [STEPS]   (needs build/vae and /usr/bin/python3 with torch)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
threads=$(nproc)
peer=${VAE_PEER:-../shared/peer/torch_peer.py}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build/vae train --config configs/shapes.json --out "$work/run" --threads "$threads" \
  --set data.channels=3 --set data.range=symmetric --set loss.likelihood=gaussian \
  --set model.latent_dim=64 --set model.hidden_dims='[32,64,128]' --set optim.lr=1e-4 \
  --set data.val_size=64 --set train.grid_images=4 --set train.log_every=50 \
  --set train.max_steps="$steps" 2>/dev/null >/dev/null
# Mean of the training rows' images/s after the first (warm-up) window.
vae_rate=$(awk -F, 'NR > 2 && $3 == "train" { sum += $9; n++ } END { printf "%.1f", sum / n }' \
  "$work/run/metrics.csv")

peer_rate() {  # extra environment for the peer, e.g. OPENBLAS_NUM_THREADS=1
  env "$@" /usr/bin/python3 "$peer" train --model lance --batch 64 --steps "$steps" --threads "$threads" |
    sed -E 's/.*"img_per_s": ([0-9.]+).*/\1/'
}
peer_default=$(peer_rate X=1)
peer_tuned=$(peer_rate OPENBLAS_NUM_THREADS=1)

printf '{"bench": "train", "model": "lance", "batch": 64, "steps": %s, "threads": %s, ' "$steps" "$threads"
printf '"vae_img_per_s": %s, "peer_img_per_s": %s, "peer_openblas1_img_per_s": %s, ' \
  "$vae_rate" "$peer_default" "$peer_tuned"
awk -v v="$vae_rate" -v p="$peer_default" -v t="$peer_tuned" \
  'BEGIN { printf "\"ratio_vs_peer\": %.2f, \"ratio_vs_peer_openblas1\": %.2f}\n", v / p, v / t }'
