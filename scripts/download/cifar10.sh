#!/usr/bin/env bash
# Fetches CIFAR-10 (binary version): 50,000 training and 10,000 test colour images (32x32, 10
# classes), as the official cifar-10-binary.tar.gz, checked against its published MD5 and unpacked.
# From: https://www.cs.toronto.edu/~kriz/cifar.html (Alex Krizhevsky, University of Toronto).
# Licence: none stated; cite Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images
# Usage: scripts/download/cifar10.sh [DEST]   (DEST defaults to data/cifar10 in the repository)
# Result: DEST/cifar-10-batches-bin/data_batch_1.bin .. data_batch_5.bin, test_batch.bin,
#   batches.meta.txt; train with data.dataset=cifar10, data.root=DEST.
# Re-running does nothing when the unpacked files are complete. The archive is deleted after
# unpacking unless VAE_KEEP_ARCHIVES=1.
# VAE_DOWNLOAD_MIRROR=DIR copies DIR/<file name> instead of downloading (offline installs, tests).
set -euo pipefail
VAE_NAME=cifar10
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
vae_start "$@"

archive=cifar-10-binary.tar.gz
archive_md5=c32a1d4ab5d03f1284b67883e8d87530
url=https://www.cs.toronto.edu/~kriz/$archive
folder=cifar-10-batches-bin
batch_bytes=30730000  # 10,000 records of 1 label byte + 3,072 pixel bytes

# complete DIR: whether DIR holds the six batches at their exact sizes and the class names.
complete() {
  local batch
  for batch in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    [[ $(vae_size "$1/$batch.bin") == "$batch_bytes" ]] || return 1
  done
  [[ -f $1/batches.meta.txt ]]
}

vae_fetch_unpacked "$folder" complete "$archive" "$archive_md5" "$url"
vae_finish cifar10
