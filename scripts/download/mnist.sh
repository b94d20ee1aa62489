#!/usr/bin/env bash
# Fetches MNIST: 60,000 training and 10,000 test images of handwritten digits (28x28, grey), as the
# four official IDX files, kept gzipped (the trainer reads .gz).
# From: http://yann.lecun.com/exdb/mnist/ (official); when that refuses, the CVDF public mirror of
#   the same files. Every file is checked against its official MD5 whichever source served it.
# Licence: CC BY-SA 3.0, Yann LeCun, Corinna Cortes and Christopher J.C. Burges.
# Usage: scripts/download/mnist.sh [DEST]   (DEST defaults to data/mnist in the repository)
# Result: DEST/train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
#   t10k-labels-idx1-ubyte.gz; train with data.dataset=mnist, data.root=DEST.
# Re-running keeps files that are already there with the right MD5.
# VAE_DOWNLOAD_MIRROR=DIR copies DIR/<file name> instead of downloading (offline installs, tests).
set -euo pipefail
VAE_NAME=mnist
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
vae_start "$@"

official=http://yann.lecun.com/exdb/mnist
mirror=https://storage.googleapis.com/cvdf-datasets/mnist
files=(
  train-images-idx3-ubyte.gz:f68b3c2dcbeaaa9fbdd348bbdeb94873
  train-labels-idx1-ubyte.gz:d53e105ee54ea40749a09fcbcd1e9432
  t10k-images-idx3-ubyte.gz:9fb629c4189551a2d022fa330f9573f3
  t10k-labels-idx1-ubyte.gz:ec29112dd5afa0611ce80d1b7f02629c
)
vae_fetch_verified_files "${files[@]}" -- "$official" "$mirror"
vae_finish mnist
