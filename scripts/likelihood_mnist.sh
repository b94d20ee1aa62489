#!/usr/bin/env bash
# The MNIST likelihood benchmark: trains configs/mnist.json on the MNIST files in ../shared/data
# (or VAE_SHARED_DATA) for EPOCHS epochs, then runs `vae eval --iw-samples K` on the official
# 10,000 test images and prints the wall times and the figures against the bar of 86.76 nats
# (Burda et al. 2015, one stochastic layer) and the aim of 81.08 nats (Kingma et al. 2016).
# Usage: scripts/likelihood_mnist.sh [EPOCHS] [K] [OUT]   (needs build/vae; about 1 h 20 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-100}
k=${2:-1000}
out=${3:-runs/mnist-likelihood}
root=${VAE_SHARED_DATA:-../shared/data}/mnist
# LibTorch's OpenMP threads spin while they wait; on a shared machine that costs more than it saves.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
if [[ -e "$out" ]]; then
  echo "error: $out exists; give another OUT (third argument) or remove it" >&2
  exit 2
fi

start=$(date +%s)
build/vae train --config configs/mnist.json --set "data.root=$root" --set "train.epochs=$epochs" \
  --set train.log_every=1000 --out "$out" >/dev/null
trained=$(date +%s)
build/vae eval --ckpt "$out/checkpoints/best.pt" --iw-samples "$k" --set "data.root=$root" \
  --json "$out/eval-test.json"
evaluated=$(date +%s)

/usr/bin/python3 - "$out/eval-test.json" "$epochs" "$((trained - start))" "$((evaluated - trained))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
epochs, train_s, eval_s = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
print(f"epochs {epochs}, training {train_s // 60} min {train_s % 60} s, evaluation {eval_s // 60} min {eval_s % 60} s")
print(f"test NLL (K = {r['iw_samples']}) {r['nll']:.2f} nats ({r['bits_per_dim']:.4f} bits/dim), "
      f"negative ELBO {r['neg_elbo']:.2f}, active units {r['active_units']}/{r['latent_dim']}")
print(f"bar 86.76: {'met' if r['nll'] <= 86.76 else 'not met'}; aim 81.08: {'met' if r['nll'] <= 81.08 else 'not met'}")
PY
