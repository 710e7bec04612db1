#!/usr/bin/env bash
# Install repairbot with every optional part (PostgreSQL driver, the default code model,
# Hugging Face backends, retrieval) and what its tests need, on a Debian machine (as root,
# or with sudo). bubblewrap and util-linux's setpriv give the test sandbox; without them
# repairbot still runs, with resource limits only, and says so on every job.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bwrap >/dev/null || ! command -v setpriv >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq bubblewrap util-linux >/dev/null
fi
pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@"; }
# torch's CPU build first (this machine kind keeps torch 2.13.0's CPU wheel on disk): left to
# the resolver, `torch>=2.4` would fetch a multi-GB CUDA build.
python3 -c "import torch" 2>/dev/null || pip_install "torch==2.13.0"
# llama-cpp-python compiles llama.cpp on first install (~15 min on 2 cores; pip caches the wheel).
pip_install -e ".[all]"
repairbot model install
