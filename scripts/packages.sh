# Sourced by the scripts that install Debian packages (setup.sh, fuzz.sh).
# install_missing WHO PACKAGE...: installs those of the packages that are not installed yet, with
# sudo when not root, saying "WHO: installing ..." first; nothing when all are there.
install_missing() {
  local who=$1 package
  shift
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  echo "$who: installing ${missing[*]}" >&2
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
