#!/usr/bin/env bash
# Prepares CelebA (aligned and cropped): 202,599 colour face photos (178x218 JPEG) and the official
# train/validation/test partition. It does not download: the official site hosts the files on
# Google Drive, which needs a browser. Put img_align_celeba.zip and list_eval_partition.txt in DEST
# (see below) and run this script; it checks their MD5s and unpacks the photos.
# From: https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (MMLAB, The Chinese University of Hong
#   Kong): its Google Drive folder, Img/img_align_celeba.zip and Eval/list_eval_partition.txt.
# Licence: non-commercial research only, no redistribution; cite Liu et al., ICCV 2015 (CelebA).
# Usage: scripts/download/celeba.sh [DEST]   (DEST defaults to data/celeba in the repository)
# Result: DEST/img_align_celeba/000001.jpg .. 202599.jpg, DEST/list_eval_partition.txt; train with
#   data.dataset=celeba, data.root=DEST. The zip is left where it is (delete it when done).
# Kaggle alternative (dataset jessicali9530/celeba-dataset, needs a Kaggle account): unzip it, move
#   its inner img_align_celeba/img_align_celeba/ folder to DEST/img_align_celeba and
#   list_eval_partition.csv to DEST (the trainer reads the CSV too). No checksums are published for
#   those copies; this script then only checks that all 202,599 photos are there.
# VAE_DOWNLOAD_MIRROR=DIR takes the two files from DIR instead of DEST (offline installs, tests).
set -euo pipefail
VAE_NAME=celeba
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
vae_start "$@"

zip=img_align_celeba.zip
zip_md5=00d2c5bc6d35e252742224ab0c1e8fcb
partition=list_eval_partition.txt
partition_md5=d32c9cbf5e040fd4025c592c306e6668
folder=img_align_celeba
images=202599

# manual MISSING...: stops, saying what is missing and how to get it.
manual() {
  local list=$1 item
  shift
  for item; do list+=", $item"; done
  vae_log "missing in $DEST: $list"
  cat >&2 <<TEXT
CelebA cannot be downloaded by a script: its official site hosts the files on Google Drive.
  1. Open https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html, follow its Google Drive link and
     download Img/img_align_celeba.zip (about 1.4 GB) and Eval/list_eval_partition.txt.
  2. Put both files in
       $DEST
     and run this script again: it checks their MD5s and unpacks the photos.
Or from Kaggle (dataset jessicali9530/celeba-dataset, needs a Kaggle account, e.g.
'kaggle datasets download -d jessicali9530/celeba-dataset'): unzip it, then move its inner
img_align_celeba/img_align_celeba/ folder to $DEST/$folder
and its list_eval_partition.csv into $DEST (the trainer reads the CSV as well),
and run this script again: it checks that all $images photos are there (Kaggle's copies have no
published checksums).
CelebA is for non-commercial research and education only; do not redistribute it.
TEXT
  exit 1
}

# Where each part comes from; a missing one stops with the instructions above.
missing=()
partition_from=""
if [[ -f $DEST/$partition ]]; then
  partition_from=dest
elif [[ -n ${VAE_DOWNLOAD_MIRROR:-} && -f $VAE_DOWNLOAD_MIRROR/$partition ]]; then
  partition_from=mirror
elif [[ -f $DEST/list_eval_partition.csv ]]; then
  partition_from=kaggle
else
  missing+=("$partition")
fi
zip_path=""
present=$(vae_count "$DEST/$folder" '*.jpg')
if [[ $present == "$images" ]]; then
  images_done=1
else
  images_done=0
  if [[ -f $DEST/$zip ]]; then
    zip_path=$DEST/$zip
  elif [[ -n ${VAE_DOWNLOAD_MIRROR:-} && -f $VAE_DOWNLOAD_MIRROR/$zip ]]; then
    zip_path=$VAE_DOWNLOAD_MIRROR/$zip
  else
    missing+=("$zip (or a complete $folder/: it holds $present of $images photos)")
  fi
fi
((${#missing[@]} == 0)) || manual "${missing[@]}"

# The partition list: the official .txt (checked), or Kaggle's .csv (no published checksum).
case $partition_from in
  dest) vae_check_md5 "$DEST/$partition" "$partition_md5" ;;
  mirror) vae_fetch_verified "$partition" "$partition_md5" ;;
  kaggle) vae_log "list_eval_partition.csv: present (Kaggle's copy; no published checksum)" ;;
  *) vae_die "internal: no partition source" ;;
esac

# The photos.
if ((images_done)); then
  vae_log "$folder/: already complete ($images photos)"
else
  vae_require unzip
  vae_log "checking the MD5 of $zip_path"
  vae_check_md5 "$zip_path" "$zip_md5"
  vae_make_tmp
  vae_log "unpacking $zip ($images files)"
  unzip -q "$zip_path" -d "$VAE_TMP" || vae_die "cannot unpack $zip_path"
  found=$(vae_count "$VAE_TMP/$folder" '*.jpg')
  [[ $found == "$images" ]] || vae_die "$zip holds $found photos in $folder/, expected $images"
  vae_install "$VAE_TMP/$folder" "$folder"
  [[ $zip_path != "$DEST/$zip" ]] || vae_log "$zip is no longer needed; delete it to save 1.4 GB"
fi
vae_finish celeba
