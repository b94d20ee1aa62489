#!/usr/bin/env bash
# Fetches CIFAR-100 (binary version): 50,000 training and 10,000 test colour images (32x32, 100 fine
# and 20 coarse classes), as the official cifar-100-binary.tar.gz, checked against its published
# MD5 and unpacked.
# From: https://www.cs.toronto.edu/~kriz/cifar.html (Alex Krizhevsky, University of Toronto).
# Licence: none stated; cite Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images
# Usage: scripts/download/cifar100.sh [DEST]   (DEST defaults to data/cifar100 in the repository)
# Result: DEST/cifar-100-binary/train.bin, test.bin, coarse_label_names.txt, fine_label_names.txt;
#   train with data.dataset=cifar100, data.root=DEST.
# Re-running does nothing when the unpacked files are complete. The archive is deleted after
# unpacking unless VAE_KEEP_ARCHIVES=1.
# VAE_DOWNLOAD_MIRROR=DIR copies DIR/<file name> instead of downloading (offline installs, tests).
set -euo pipefail
VAE_NAME=cifar100
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
vae_start "$@"

archive=cifar-100-binary.tar.gz
archive_md5=03b5dce01913d631647c71ecec9e9cb8
url=https://www.cs.toronto.edu/~kriz/$archive
folder=cifar-100-binary
train_bytes=153700000  # 50,000 records of 2 label bytes (coarse, fine) + 3,072 pixel bytes
test_bytes=30740000    # 10,000 such records

# complete DIR: whether DIR holds both batches at their exact sizes and both class-name files.
complete() {
  [[ $(vae_size "$1/train.bin") == "$train_bytes" ]] &&
    [[ $(vae_size "$1/test.bin") == "$test_bytes" ]] &&
    [[ -f $1/coarse_label_names.txt && -f $1/fine_label_names.txt ]]
}

vae_fetch_unpacked "$folder" complete "$archive" "$archive_md5" "$url"
vae_finish cifar100
