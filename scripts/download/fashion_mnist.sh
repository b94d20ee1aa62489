#!/usr/bin/env bash
# Fetches Fashion-MNIST: 60,000 training and 10,000 test images of clothing (28x28, grey, 10
# classes), as the four official IDX files, kept gzipped (the trainer reads .gz).
# From: Zalando Research's repository, https://github.com/zalandoresearch/fashion-mnist
#   (data/fashion/), falling back to its S3 location,
#   http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/. Every file is checked against its
#   published MD5.
# Licence: MIT, Copyright (c) 2017 Zalando SE.
# Usage: scripts/download/fashion_mnist.sh [DEST]   (DEST defaults to data/fashion_mnist in the
#   repository)
# Result: DEST/train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
#   t10k-labels-idx1-ubyte.gz; train with data.dataset=fashion_mnist, data.root=DEST.
# Re-running keeps files that are already there with the right MD5.
# VAE_DOWNLOAD_MIRROR=DIR copies DIR/<file name> instead of downloading (offline installs, tests).
set -euo pipefail
VAE_NAME=fashion_mnist
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
vae_start "$@"

github=https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion
s3=http://fashion-mnist.s3-website.eu-central-1.amazonaws.com
files=(
  train-images-idx3-ubyte.gz:8d4fb7e6c68d591d4c3dfef9ec88bf0d
  train-labels-idx1-ubyte.gz:25c81989df183df01b3e8a0aad5dffbe
  t10k-images-idx3-ubyte.gz:bef4ecab320f06d8554ea6380940ec79
  t10k-labels-idx1-ubyte.gz:bb300cfdad3c16e7a12a480ee83cd310
)
vae_fetch_verified_files "${files[@]}" -- "$github" "$s3"
vae_finish fashion_mnist
