#!/usr/bin/env bash
# Install repairbot and everything its tests need on a Debian machine (as root, or with sudo).
# bubblewrap and util-linux's setpriv give the test sandbox; without them repairbot still runs,
# with resource limits only, and says so on every job.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bwrap >/dev/null || ! command -v setpriv >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq bubblewrap util-linux >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
