#!/usr/bin/env bash
# Parity with the Python peer on the CIFAR-10 preset's recipe: trains configs/cifar10.json for EPOCHS
# epochs on the CIFAR-10 files in ../shared/data (a 4,000-image subset: 3,200 train / 800
# validation, the last 20% in file order, as the write-up splits) with several seeds, runs
# `torch_peer.py fit` on the same files with the same seeds, and compares the final validation
# reconstruction MSE (mean over pixels): vae must be within 5% of the peer's mean, or within the
# peer's own spread over the seeds if that is larger.
# Usage: scripts/parity_cifar.sh [EPOCHS] [SEEDS]   (needs build/vae and /usr/bin/python3 with torch)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-5}
seeds=${2:-3}
root=${VAE_SHARED_DATA:-../shared/data}/cifar10-subset
peer=${VAE_PEER:-../shared/peer/torch_peer.py}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

vae_mse=()
peer_mse=()
for ((seed = 0; seed < seeds; seed++)); do
  build/vae train --config configs/cifar10.json --out "$work/vae-$seed" --set "data.root=$root" \
    --set "train.epochs=$epochs" --set "train.seed=$seed" --set train.log_every=1000 >/dev/null 2>"$work/vae-$seed.log"
  # Last validation row: recon is squared error summed over the 3072 pixels, per image.
  vae_mse+=("$(awk -F, '$3 == "val" { r = $5 } END { printf "%.6f", r / 3072 }' "$work/vae-$seed/metrics.csv")")
  peer_mse+=("$(OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$peer" fit --cifar "$root/cifar-10-batches-bin" \
    --epochs "$epochs" --seed "$seed" --threads "$(nproc)" | tail -1 |
    sed -E 's/.*"val_recon_mse": ([0-9.e-]+).*/\1/')")
done

printf '%-6s %14s %14s\n' seed vae_val_mse peer_val_mse
for ((seed = 0; seed < seeds; seed++)); do
  printf '%-6s %14s %14s\n' "$seed" "${vae_mse[seed]}" "${peer_mse[seed]}"
done
awk -v v="${vae_mse[*]}" -v p="${peer_mse[*]}" 'BEGIN {
  n = split(v, a, " "); split(p, b, " ");
  for (i = 1; i <= n; i++) { sv += a[i]; sp += b[i]; if (i == 1 || b[i] < lo) lo = b[i]; if (i == 1 || b[i] > hi) hi = b[i] }
  mv = sv / n; mp = sp / n; rel = (mv - mp) / mp; spread = (hi - lo) / mp;
  bound = spread > 0.05 ? spread : 0.05;
  printf "mean: vae %.6f, peer %.6f, difference %+.2f%% (allowed +-%.2f%%): %s\n", mv, mp, 100 * rel, 100 * bound,
         (rel <= bound && rel >= -bound) ? "PASS" : "FAIL"
}'
