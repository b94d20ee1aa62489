#!/usr/bin/env bash
# Training-step speed of every preset, side by side in one run with the Python peer: for each
# write-up, `vae bench train` on its preset and `torch_peer.py train` on the same model, both timing
# optimizer steps (forward, loss, backward, clipping, update) on a fixed random batch at the
# write-up's batch size (cinic10 also at 256), with the same thread count. The peer runs once per
# --compile mode (eager, and torch.compile where the peer's torch has it), with
# OPENBLAS_NUM_THREADS=1, its fastest setting here. Prints what was measured (vae and its LibTorch,
# the peer's torch, the machine, the date), a Markdown table: images/s, the ratio vae/peer per
# mode, and the FLOP/s vae achieves as a fraction of a large matrix product's FLOP/s measured by
# `vae bench train` in the same run; then one JSON line per row.
#
# Usage: scripts/bench_train.sh [options] [REPEATS] [TIME_SCALE]
#   REPEATS       measurements per program and row, the median is reported (default 3)
#   TIME_SCALE    multiplies the step counts (default 1: about 5-15 s per measurement)
#   --vae BIN     the vae to time (default build/vae; build-pip/vae is the pip torch 2.x build)
#   --python PY   the peer's Python (default: .venv-torch/bin/python for build-pip/vae, else
#                 /usr/bin/python3, Debian's torch 1.13): the torch vae is built against
#   --compile M   peer modes, comma-separated from none,default,reduce-overhead,max-autotune
#                 (default none,default where the peer's torch is 2.x, else none)
#   --device D    cpu (default) or cuda: vae and the peer on that device (cuda: bf16 off, fp32)
#   --presets P   comma-separated presets to run (default all)
# The peer script is ../shared/peer/torch_peer.py beside the repository, or VAE_PEER.
set -euo pipefail
cd "$(dirname "$0")/.."

vae=build/vae
python=""
modes=""
device=cpu
only=""
positional=()
while (($#)); do
  case "$1" in
    --vae) vae="${2:-}"; shift 2 || true ;;
    --python) python="${2:-}"; shift 2 || true ;;
    --compile) modes="${2:-}"; shift 2 || true ;;
    --device) device="${2:-}"; shift 2 || true ;;
    --presets) only="${2:-}"; shift 2 || true ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench_train: unknown option '$1'; see --help" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
repeats=${positional[0]:-3}
scale=${positional[1]:-1}
threads=${VAE_BENCH_THREADS:-$(nproc)}
peer=${VAE_PEER:-../shared/peer/torch_peer.py}
if [[ -z $python ]]; then
  python=/usr/bin/python3
  [[ $vae == build-pip/* && -x .venv-torch/bin/python ]] && python=.venv-torch/bin/python
fi
[[ -x $vae ]] || { echo "bench_train: $vae is missing; run scripts/setup.sh (--torch pip for build-pip)" >&2; exit 1; }
[[ -f $peer ]] || { echo "bench_train: peer $peer not found; set VAE_PEER" >&2; exit 1; }
peer_torch=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null) ||
  { echo "bench_train: $python has no torch; pass --python or install python3-torch" >&2; exit 1; }
if [[ -z $modes ]]; then
  modes=none
  [[ ${peer_torch%%.*} -ge 2 ]] && modes=none,default
fi
IFS=, read -r -a modes <<<"$modes"
vae_torch=$("$vae" --version | sed -n 's/^LibTorch //p')
[[ ${vae_torch%%+*} == "${peer_torch%%+*}" ]] ||
  echo "bench_train: warning: vae is built against LibTorch $vae_torch but the peer runs torch $peer_torch" >&2

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

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
printf 'vae: %s (LibTorch %s); peer: torch %s (%s); device %s, %s threads; %s, %s cores; %s; median of %s\n\n' \
  "$vae" "$vae_torch" "$peer_torch" "$python" "$device" "$threads" "${cpu:-unknown CPU}" "$(nproc)" "$(date -u +%F)" "$repeats"
header='| preset | peer model | batch | vae img/s |'
rule='| --- | --- | ---: | ---: |'
for mode in "${modes[@]}"; do
  header+=" peer $mode img/s | vae / peer $mode |"
  rule+=' ---: | ---: |'
done
printf '%s MFLOP per image | vae of matmul |\n%s ---: | ---: |\n' "$header" "$rule"
results=()
for row in "${rows[@]}"; do
  read -r preset model batch steps warmup <<<"$row"
  [[ -n $only && ",$only," != *",$preset,"* ]] && continue
  steps=$(awk -v s="$steps" -v k="$scale" 'BEGIN { n = int(s * k); print (n < 1) ? 1 : n }')
  vae_rates=() matmul=() vae_line=""
  declare -A peer_rates=()
  for ((r = 0; r < repeats; r++)); do
    vae_line=$("$vae" bench train --config "configs/$preset.json" --batch "$batch" --steps "$steps" \
      --warmup "$warmup" --threads "$threads" --device "$device" 2>/dev/null)
    vae_rates+=("$(field images_per_s <<<"$vae_line")")
    matmul+=("$(field matmul_gflop_per_s <<<"$vae_line")")
    for mode in "${modes[@]}"; do
      peer_line=$(OPENBLAS_NUM_THREADS=1 "$python" "$peer" train --model "$model" --batch "$batch" \
        --steps "$steps" --warmup "$warmup" --threads "$threads" --device "$device" --compile "$mode" 2>/dev/null | tail -1)
      peer_rates[$mode]+="$(field img_per_s <<<"$peer_line") "
    done
  done
  vae_rate=$(printf '%s\n' "${vae_rates[@]}" | median)
  matmul_rate=$(printf '%s\n' "${matmul[@]}" | median)
  mflop=$(field mflop_per_image <<<"$vae_line")
  line="| $preset | $model | $batch | $(printf '%.1f' "$vae_rate") |"
  json="{\"preset\": \"$preset\", \"peer_model\": \"$model\", \"batch\": $batch, \"steps\": $steps, \"threads\": $threads, \"repeats\": $repeats, \"device\": \"$device\", \"vae_torch\": \"$vae_torch\", \"peer_torch\": \"$peer_torch\", \"vae_img_per_s\": $vae_rate"
  for mode in "${modes[@]}"; do
    peer_rate=$(tr ' ' '\n' <<<"${peer_rates[$mode]}" | grep . | median)
    line+=" $(printf '%.1f' "$peer_rate") | $(awk -v v="$vae_rate" -v q="$peer_rate" 'BEGIN { printf "%.2fx", v / q }') |"
    json+=", \"peer_${mode//-/_}_img_per_s\": $peer_rate"
  done
  line+=" $(printf '%.1f' "$mflop") | $(awk -v v="$vae_rate" -v f="$mflop" -v mm="$matmul_rate" 'BEGIN { printf "%.1f%%", 100 * v * f / 1e3 / mm }') |"
  printf '%s\n' "$line"
  results+=("$json, \"mflop_per_image\": $mflop, \"matmul_gflop_per_s\": $matmul_rate}")
  unset peer_rates
done
printf '\n'
printf '%s\n' "${results[@]}"
