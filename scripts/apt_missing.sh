# Sourced by the set-up scripts: `apt_install_missing PACKAGE...` installs the Debian packages
# that are not installed yet (as root, or with sudo), and nothing when all are.
apt_install_missing() {
    local missing
    missing=$(for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
    [ -n "$missing" ] || return 0
    local sudo
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
