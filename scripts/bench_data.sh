#!/usr/bin/env bash
# Input-pipeline throughput, side by side in one run:
#   1. a folder of JPEGs (default: the Flowers102 sample in ../shared/data, 612 photos of about
#      500x700): `vae data bench` without cache (every epoch decodes), with data.cache (epoch 1
#      decodes and builds the store, later epochs read it), against the peer's torchvision
#      ImageFolder + DataLoader with the same transforms (random flip, resize to 64x64) and the
#      same number of workers;
#   2. MNIST and CIFAR-10 binary batches through `vae data bench` (images/s delivered).
# Usage: scripts/bench_data.sh [JPEG_FOLDER] [EPOCHS] [CENTER_CROP]   (needs build/vae; the peer needs
# /usr/bin/python3 with torch and torchvision)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${VAE_SHARED_DATA:-../shared/data}
folder=${1:-$shared/flowers102/jpg}
epochs=${2:-3}
crop=${3:-0}
workers=$(nproc)
peer=${VAE_PEER:-../shared/peer/torch_peer.py}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# torchvision's ImageFolder wants FOLDER/<class>/<image>: one class of links to the photos.
mkdir -p "$work/images/all"
find "$(cd "$folder" && pwd)" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) \
  -exec ln -s {} "$work/images/all/" \;
count=$(find "$work/images/all" -type l | wc -l)

common=(--set data.dataset=folder --set "data.root=$work/images" --set data.image_size=64
        --set data.channels=3 --set data.flip=true --set data.val_fraction=0 --set "data.center_crop=$crop"
        --set "data.workers=$workers" --set train.batch_size=64)
# The JSON lines' images_per_s, one per epoch.
rates() { sed -E 's/.*"images_per_s":([0-9.]+).*/\1/'; }

vae_plain=$(build/vae data bench "${common[@]}" --epochs "$epochs" 2>/dev/null | rates | tr '\n' ' ')
vae_cached=$(build/vae data bench "${common[@]}" --set data.cache=true --set "data.cache_dir=$work/cache" \
  --epochs "$epochs" 2>/dev/null | rates | tr '\n' ' ')
peer_rate=$(/usr/bin/python3 "$peer" data --folder "$work/images" --size 64 --crop "$crop" --workers "$workers" --batch 64 |
  sed -E 's/.*"img_per_s": ([0-9.]+).*/\1/')

read -r -a plain <<<"$vae_plain"
read -r -a cached <<<"$vae_cached"
echo "JPEG folder: $count images, centre crop $crop (0 = none), resize 64x64, flip, $workers workers, batch 64"
printf '%-44s %12s %10s\n' "pipeline" "images/s" "vs peer"
row() { awk -v n="$1" -v r="$2" -v p="$peer_rate" 'BEGIN { printf "%-44s %12.1f %9.2fx\n", n, r, r / p }'; }
row "torchvision ImageFolder + DataLoader (peer)" "$peer_rate"
row "vae, no cache (every epoch decodes)" "${plain[0]}"
row "vae, cache: epoch 1 (decode + build store)" "${cached[0]}"
for ((e = 1; e < ${#cached[@]}; e++)); do row "vae, cache: epoch $((e + 1)) (store)" "${cached[e]}"; done

for dataset in mnist cifar10; do
  case $dataset in
    mnist) root=$shared/mnist; extra=(--set data.image_size=28 --set data.channels=1) ;;
    cifar10) root=$shared/cifar10-subset; extra=(--set data.image_size=32 --set data.channels=3) ;;
  esac
  [[ -d $root ]] || continue
  line=$(build/vae data bench --set "data.dataset=$dataset" --set "data.root=$root" "${extra[@]}" \
    --set "data.workers=$workers" --set train.batch_size=64 --epochs "$epochs" 2>/dev/null | rates |
    sort -n | tail -1)
  printf '%-44s %12.1f\n' "vae, $dataset (in memory, best epoch)" "$line"
done
