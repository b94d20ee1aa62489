# shellcheck shell=bash
# Helpers shared by scripts/download/<dataset>.sh; sourced, not run. A script sets VAE_NAME, sources
# this file and calls vae_start "$@", which sets DEST and locks it. Then:
#   vae_fetch_verified FILE MD5 URL...  DEST/FILE present with that MD5 (kept when it already is)
#   vae_fetch_verified_files FILE:MD5... -- BASE_URL...
#                                       each DEST/FILE so, from the first BASE_URL/FILE that works
#   vae_fetch_unpacked FOLDER CHECK ARCHIVE MD5 URL...
#                                       DEST/FOLDER unpacked from a verified .tar.gz ARCHIVE
#   vae_fetch FILE URL...               DEST/FILE downloaded (or copied) without a checksum
#   vae_make_tmp                        VAE_TMP: an empty folder inside DEST, removed on exit
#   vae_install SRC NAME                moves SRC into place as DEST/NAME (replacing an old one)
#   vae_drop_archive FILE               deletes DEST/FILE unless VAE_KEEP_ARCHIVES=1
#   vae_finish                          says what to put in the config
# Environment, for every script:
#   VAE_DOWNLOAD_MIRROR=DIR  copy DIR/<file name> instead of downloading (offline installs, tests)
#   VAE_KEEP_ARCHIVES=1      keep downloaded archives after unpacking (default: delete them)
#   VAE_DOWNLOAD_ATTEMPTS=N  tries per URL before moving to the next one (default 2)
# Downloads go to FILE.part and are renamed only when complete; unpacking happens in a hidden
# folder inside DEST that is moved into place only when complete. Whatever is temporary is removed
# on exit, including on errors and Ctrl-C.

VAE_DOWNLOAD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VAE_REPO_ROOT=$(cd "$VAE_DOWNLOAD_DIR/../.." && pwd)
VAE_CLEANUP=()  # paths removed on exit
VAE_TMP=""

vae_log() { printf '%s: %s\n' "$VAE_NAME" "$*" >&2; }
vae_die() {
  printf '%s: error: %s\n' "$VAE_NAME" "$*" >&2
  exit 1
}
vae_have() { command -v "$1" >/dev/null 2>&1; }

# vae_require TOOL...: fails naming the first missing tool.
vae_require() {
  local tool
  for tool; do
    vae_have "$tool" || vae_die "'$tool' is required but not installed (e.g. apt-get install $tool)"
  done
}

vae_cleanup() {
  local path
  for path in "${VAE_CLEANUP[@]+"${VAE_CLEANUP[@]}"}"; do
    rm -rf -- "$path"
  done
}
trap vae_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# vae_md5 FILE / vae_sha256 FILE: the hex digest (GNU coreutils, BSD/macOS or OpenSSL).
vae_md5() {
  if vae_have md5sum; then
    md5sum <"$1" | cut -d' ' -f1
  elif vae_have md5; then
    md5 -q <"$1"
  elif vae_have openssl; then
    openssl dgst -md5 -r <"$1" | cut -d' ' -f1
  else
    vae_die "needs md5sum, md5 or openssl to check downloads"
  fi
}
vae_sha256() {
  if vae_have sha256sum; then
    sha256sum <"$1" | cut -d' ' -f1
  elif vae_have shasum; then
    shasum -a 256 <"$1" | cut -d' ' -f1
  elif vae_have openssl; then
    openssl dgst -sha256 -r <"$1" | cut -d' ' -f1
  else
    vae_die "needs sha256sum, shasum or openssl to hash downloads"
  fi
}

# vae_start "$@": handles -h/--help, sets DEST (absolute; default data/<name> in the repository),
# creates and locks it, and removes what a killed earlier run left behind.
vae_start() {
  case "${1:-}" in
    -h | --help)
      # The script's header comment, without the '#'.
      awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
      exit 0
      ;;
    -*) vae_die "unknown option $1 (usage: scripts/download/$VAE_NAME.sh [DEST])" ;;
  esac
  (($# <= 1)) || vae_die "too many arguments (usage: scripts/download/$VAE_NAME.sh [DEST])"
  if [[ -n ${VAE_DOWNLOAD_MIRROR:-} ]]; then
    [[ -d $VAE_DOWNLOAD_MIRROR ]] ||
      vae_die "VAE_DOWNLOAD_MIRROR=$VAE_DOWNLOAD_MIRROR is not a folder"
  elif vae_have curl; then
    VAE_FETCHER=curl
  elif vae_have wget; then
    VAE_FETCHER=wget
  else
    VAE_FETCHER=""  # only an error when something actually has to be downloaded
  fi

  DEST=${1:-$VAE_REPO_ROOT/data/$VAE_NAME}
  mkdir -p -- "$DEST" || vae_die "cannot create $DEST"
  DEST=$(cd -- "$DEST" && pwd)

  # One run per DEST at a time; a lock whose owner is gone (killed run) is taken over.
  local lock=$DEST/.download.lock owner
  if ! mkdir -- "$lock" 2>/dev/null; then
    owner=$(cat -- "$lock/pid" 2>/dev/null || true)
    if [[ -n $owner ]] && kill -0 "$owner" 2>/dev/null; then
      vae_die "another download into $DEST is running (pid $owner)"
    fi
    rm -rf -- "$lock"
    mkdir -- "$lock" || vae_die "cannot lock $DEST"
  fi
  echo "$$" >"$lock/pid"
  VAE_CLEANUP+=("$lock")
  rm -rf -- "$DEST"/.unpack.* "$DEST"/*.part
}

# vae_download URL OUT: one download attempt (curl or wget, with their own retries for transient
# errors). Returns the tool's exit status.
vae_download() {
  local url=$1 out=$2 progress
  case "${VAE_FETCHER:-}" in
    curl)
      progress=(-sS)
      [[ -t 2 ]] && progress=(--progress-bar)
      curl -fL "${progress[@]}" --retry 2 --retry-delay 5 --connect-timeout 30 \
        --speed-limit 1024 --speed-time 120 -o "$out" "$url"
      ;;
    wget)
      progress=(-nv)
      [[ -t 2 ]] && progress=(-q --show-progress)
      wget "${progress[@]}" --tries=3 --waitretry=5 --timeout=120 -O "$out" "$url"
      ;;
    *) vae_die "needs curl or wget to download (e.g. apt-get install curl)" ;;
  esac
}

# vae_fetch FILE URL...: puts DEST/FILE in place, copied from $VAE_DOWNLOAD_MIRROR/FILE when that
# is set, else downloaded from the first URL that works, each tried VAE_DOWNLOAD_ATTEMPTS times.
vae_fetch() {
  local file=$1
  shift
  local target=$DEST/$file part=$DEST/$file.part
  VAE_CLEANUP+=("$part")
  rm -f -- "$part"
  if [[ -n ${VAE_DOWNLOAD_MIRROR:-} ]]; then
    local from=$VAE_DOWNLOAD_MIRROR/$file
    [[ -f $from ]] || vae_die "$file is not in VAE_DOWNLOAD_MIRROR ($from does not exist)"
    vae_log "copying $file from $VAE_DOWNLOAD_MIRROR"
    cp -- "$from" "$part" || vae_die "cannot copy $from to $part"
    mv -f -- "$part" "$target"
    return 0
  fi
  local attempts=${VAE_DOWNLOAD_ATTEMPTS:-2} url attempt status
  [[ $attempts =~ ^[1-9][0-9]*$ ]] || vae_die "VAE_DOWNLOAD_ATTEMPTS must be a positive integer"
  for url; do
    for ((attempt = 1; attempt <= attempts; attempt++)); do
      vae_log "downloading $url (attempt $attempt of $attempts)"
      status=0
      vae_download "$url" "$part" || status=$?
      if ((status == 0)); then
        mv -f -- "$part" "$target"
        return 0
      fi
      rm -f -- "$part"
      # curl 22 / wget 8: the server answered with an error (403, 404, ...): try the next URL.
      if [[ $VAE_FETCHER == curl && $status == 22 ]] || [[ $VAE_FETCHER == wget && $status == 8 ]]
      then
        break
      fi
      ((attempt == attempts)) || sleep $((attempt * 10))
    done
  done
  vae_die "could not download $file from any of: $*"
}

# vae_fetch_verified FILE MD5 URL...: DEST/FILE with the given MD5. A file already there with the
# right MD5 is kept; one with a wrong MD5 is fetched again. A fetched file with a wrong MD5 is
# deleted and the script stops with one line naming the file, the expected and the actual MD5.
vae_fetch_verified() {
  local file=$1 expected=$2
  shift 2
  local target=$DEST/$file actual
  if [[ -f $target ]]; then
    actual=$(vae_md5 "$target")
    if [[ $actual == "$expected" ]]; then
      vae_log "$file: already present, MD5 ok"
      return 0
    fi
    vae_log "$file: present but its MD5 is $actual, not $expected; fetching it again"
    rm -f -- "$target"
  fi
  vae_fetch "$file" "$@"
  actual=$(vae_md5 "$target")
  if [[ $actual != "$expected" ]]; then
    rm -f -- "$target"
    vae_die "checksum mismatch for $file: expected MD5 $expected, got $actual (file deleted)"
  fi
  vae_log "$file: MD5 ok"
}

# vae_fetch_verified_files FILE:MD5... -- BASE_URL...: vae_fetch_verified for each FILE with its
# MD5, tried at BASE_URL/FILE for each BASE_URL in turn.
vae_fetch_verified_files() {
  local entries=() bases=() urls entry base file
  while (($#)) && [[ $1 != -- ]]; do
    entries+=("$1")
    shift
  done
  (($#)) || vae_die "internal: vae_fetch_verified_files needs -- before the base URLs"
  shift
  bases=("$@")
  for entry in "${entries[@]}"; do
    file=${entry%%:*}
    urls=()
    for base in "${bases[@]}"; do urls+=("$base/$file"); done
    vae_fetch_verified "$file" "${entry#*:}" "${urls[@]}"
  done
}

# vae_fetch_unpacked FOLDER CHECK ARCHIVE MD5 URL...: DEST/FOLDER, unless `CHECK DEST/FOLDER`
# already succeeds (CHECK is a function of the script that tells a complete folder). Else ARCHIVE
# (a .tar.gz) is fetched with vae_fetch_verified, unpacked into VAE_TMP, its FOLDER must pass CHECK
# and is installed as DEST/FOLDER, and the archive is dropped.
vae_fetch_unpacked() {
  local folder=$1 check=$2 archive=$3 archive_md5=$4
  shift 4
  if "$check" "$DEST/$folder"; then
    vae_log "$folder: already complete"
    return 0
  fi
  vae_require tar gzip
  vae_fetch_verified "$archive" "$archive_md5" "$@"
  vae_make_tmp
  vae_log "unpacking $archive"
  tar -xzf "$DEST/$archive" -C "$VAE_TMP" || vae_die "cannot unpack $DEST/$archive"
  "$check" "$VAE_TMP/$folder" || vae_die "$archive does not hold the expected $folder/ files"
  vae_install "$VAE_TMP/$folder" "$folder"
  vae_drop_archive "$archive"
}

# vae_check_md5 FILE MD5: stops with one line naming the file, the expected and the actual MD5
# when they differ. For files the user supplied: nothing is deleted.
vae_check_md5() {
  local actual
  actual=$(vae_md5 "$1")
  [[ $actual == "$2" ]] || vae_die "checksum mismatch for $1: expected MD5 $2, got $actual"
  vae_log "$(basename -- "$1"): MD5 ok"
}

# vae_make_tmp: sets VAE_TMP to a new empty folder inside DEST (same file system, so moving out of
# it is a rename), removed on exit with whatever is left in it.
vae_make_tmp() {
  VAE_TMP=$(mktemp -d "$DEST/.unpack.XXXXXX") || vae_die "cannot create a temporary folder in $DEST"
  VAE_CLEANUP+=("$VAE_TMP")
}

# vae_install SRC NAME: moves the complete folder SRC (inside VAE_TMP) to DEST/NAME. An existing
# DEST/NAME (incomplete, or else it would not be replaced) is moved into VAE_TMP and removed.
vae_install() {
  local from=$1 target=$DEST/$2
  [[ -d $from ]] || vae_die "internal: $from is not a folder"
  if [[ -e $target || -L $target ]]; then
    mv -- "$target" "$VAE_TMP/replaced.$2" || vae_die "cannot move the old $target aside"
  fi
  mv -- "$from" "$target" || vae_die "cannot move $from to $target"
}

# vae_drop_archive FILE: deletes DEST/FILE once unpacked, unless VAE_KEEP_ARCHIVES=1.
vae_drop_archive() {
  if [[ ${VAE_KEEP_ARCHIVES:-0} == 1 ]]; then
    vae_log "keeping $1 (VAE_KEEP_ARCHIVES=1)"
  else
    rm -f -- "$DEST/$1"
  fi
}

# vae_count DIR PATTERN: how many files named PATTERN are under DIR (0 when DIR does not exist).
vae_count() {
  if [[ -d $1 ]]; then
    find "$1" -type f -name "$2" | wc -l | tr -d ' '
  else
    echo 0
  fi
}

# vae_size FILE: its size in bytes (-1 when missing).
vae_size() {
  if [[ -f $1 ]]; then
    wc -c <"$1" | tr -d ' '
  else
    echo -1
  fi
}

# vae_finish DATASET: the closing line.
vae_finish() {
  vae_log "ready: $DEST (use data.dataset=$1, data.root=$DEST)"
}
