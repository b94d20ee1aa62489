#!/usr/bin/env bash
# Fetches CINIC-10: 270,000 colour images (32x32 PNG, the 10 CIFAR-10 classes) from CIFAR-10 and
# downsampled ImageNet, split into train/, valid/ and test/ of 90,000 each, and unpacks them.
# From: Edinburgh DataShare, https://datashare.ed.ac.uk/handle/10283/3192 (BayesWatch, Darlow et
#   al. 2018); the archive is CINIC-10.tar.gz under that handle.
# Licence: MIT (BayesWatch); the images come from CIFAR-10 and ImageNet, whose terms also apply.
# Usage: scripts/download/cinic10.sh [DEST]   (DEST defaults to data/cinic10 in the repository)
# Result: DEST/train/<class>/*.png, DEST/valid/<class>/*.png, DEST/test/<class>/*.png; train with
#   data.dataset=cinic10, data.root=DEST.
# No checksum of CINIC-10.tar.gz is published, so none is checked: the script prints the SHA-256 of
# what it fetched and checks that the archive unpacks into 3 x 90,000 images in the 10 class
# folders. Set VAE_CINIC10_SHA256=<hex> to require a known SHA-256.
# Re-running does nothing when the unpacked folders are complete. The archive is deleted after
# unpacking unless VAE_KEEP_ARCHIVES=1.
# VAE_DOWNLOAD_MIRROR=DIR copies DIR/<file name> instead of downloading (offline installs, tests).
set -euo pipefail
VAE_NAME=cinic10
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
vae_start "$@"

archive=CINIC-10.tar.gz
urls=(
  "https://datashare.ed.ac.uk/bitstream/handle/10283/3192/$archive"
  "https://datashare.is.ed.ac.uk/bitstream/handle/10283/3192/$archive"  # the older host name
)
classes=(airplane automobile bird cat deer dog frog horse ship truck)
per_class=9000  # images per class in each split

# complete DIR: whether DIR/train, DIR/valid and DIR/test each hold per_class PNGs in every class.
complete() {
  local split class
  for split in train valid test; do
    for class in "${classes[@]}"; do
      [[ $(vae_count "$1/$split/$class" '*.png') == "$per_class" ]] || return 1
    done
  done
}

if complete "$DEST"; then
  vae_log "train/, valid/, test/: already complete"
else
  vae_require tar gzip
  # A file under the final name is always whole (downloads are renamed only when complete).
  if [[ -f $DEST/$archive ]]; then
    vae_log "$archive: already present (no published checksum to compare with)"
  else
    vae_fetch "$archive" "${urls[@]}"
  fi
  sha256=$(vae_sha256 "$DEST/$archive")
  vae_log "$archive: SHA-256 $sha256 (no official checksum is published; record it if you need one)"
  expected=$(printf '%s' "${VAE_CINIC10_SHA256:-}" | tr '[:upper:]' '[:lower:]')
  if [[ -n $expected && $sha256 != "$expected" ]]; then
    rm -f -- "$DEST/$archive"
    vae_die "checksum mismatch for $archive: expected SHA-256 $expected, got $sha256 (file deleted)"
  fi
  vae_make_tmp
  vae_log "unpacking $archive (270,000 files)"
  if ! tar -xzf "$DEST/$archive" -C "$VAE_TMP"; then
    rm -f -- "$DEST/$archive"
    vae_die "cannot unpack $archive (deleted; the server may have sent an error page): run again"
  fi
  # The splits may sit at the top of the archive or in one folder (CINIC-10/).
  top=$VAE_TMP
  if [[ ! -d $top/train ]]; then
    for candidate in "$VAE_TMP"/*/; do
      if [[ -d $candidate/train ]]; then top=${candidate%/}; fi
    done
  fi
  complete "$top" || vae_die "$archive does not unpack into train/, valid/, test/ with" \
    "$per_class PNGs per class (delete $DEST/$archive to download it again)"
  for split in train valid test; do
    vae_install "$top/$split" "$split"
  done
  vae_drop_archive "$archive"
fi
vae_finish cinic10
