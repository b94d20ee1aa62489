#!/usr/bin/env bash
# Fetches Oxford Flowers102: 8,189 colour photos of flowers in 102 classes (102flowers.tgz), their
# labels (imagelabels.mat) and the official train/validation/test split (setid.mat), each checked
# against its MD5; the photos are unpacked.
# From: https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ (Visual Geometry Group, Oxford).
# Licence: none stated; photos' copyright stays with their owners; cite Nilsback & Zisserman 2008.
# Usage: scripts/download/flowers102.sh [DEST]   (DEST defaults to data/flowers102 in the
#   repository)
# Result: DEST/jpg/image_00001.jpg .. image_08189.jpg, DEST/setid.mat, DEST/imagelabels.mat; train
#   with data.dataset=flowers102, data.root=DEST.
# Re-running keeps the .mat files when their MD5 is right and does not unpack again when all the
# photos are there. The archive is deleted after unpacking unless VAE_KEEP_ARCHIVES=1.
# VAE_DOWNLOAD_MIRROR=DIR copies DIR/<file name> instead of downloading (offline installs, tests).
set -euo pipefail
VAE_NAME=flowers102
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
vae_start "$@"

base=https://www.robots.ox.ac.uk/~vgg/data/flowers/102
archive=102flowers.tgz
archive_md5=52808999861908f626f3c1f4e79d11fa
images=8189

vae_fetch_verified imagelabels.mat e0620be6f572b9609742df49c70aed4d "$base/imagelabels.mat"
vae_fetch_verified setid.mat a5357ecc9cb78c4bef273ce3793fc85c "$base/setid.mat"

if [[ $(vae_count "$DEST/jpg" 'image_*.jpg') == "$images" ]]; then
  vae_log "jpg/: already complete ($images photos)"
else
  vae_require tar gzip
  vae_fetch_verified "$archive" "$archive_md5" "$base/$archive"
  vae_make_tmp
  vae_log "unpacking $archive"
  tar -xzf "$DEST/$archive" -C "$VAE_TMP" || vae_die "cannot unpack $DEST/$archive"
  found=$(vae_count "$VAE_TMP/jpg" 'image_*.jpg')
  [[ $found == "$images" ]] || vae_die "$archive holds $found photos in jpg/, expected $images"
  vae_install "$VAE_TMP/jpg" jpg
  vae_drop_archive "$archive"
fi
vae_finish flowers102
