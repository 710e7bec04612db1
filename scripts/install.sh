#!/usr/bin/env bash
# Install repairbot with every optional part (PostgreSQL driver, the default code model,
# Hugging Face backends, retrieval) and what its tests need, on a Debian machine (as root,
# or with sudo). bubblewrap and util-linux's setpriv give the test sandbox; without them
# repairbot still runs, with resource limits only, and says so on every job. The Java
# packages let it test and localize Java projects (javac + JUnit, Maven offline).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt_missing.sh
# Debian packages: the sandbox (bubblewrap, setpriv), Java tests (JUnit 4/5 jars, hamcrest),
# Java per-test coverage (JaCoCo), Maven's plugins for offline builds (/usr/share/maven-repo), and
# Ant (Defects4J builds with it; the tests build an old Ant project through repairbot's javac adapter).
APT_PACKAGES="bubblewrap util-linux default-jdk-headless junit4 libhamcrest-java junit5 libjacoco-java maven ant
    maven-debian-helper libsurefire-java libmaven-compiler-plugin-java libmaven-resources-plugin-java
    libmaven-jar-plugin-java"
# shellcheck disable=SC2086
apt_install_missing $APT_PACKAGES
pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@"; }
# torch's CPU build first (this machine kind keeps torch 2.13.0's CPU wheel on disk): left to
# the resolver, `torch>=2.4` would fetch a multi-GB CUDA build.
python3 -c "import torch" 2>/dev/null || pip_install "torch==2.13.0"
# llama-cpp-python compiles llama.cpp on first install (~15 min on 2 cores). Built for a
# portable x86-64 (AVX2/FMA), not -march=native: on a Xeon that lists AMX but whose kernel
# does not grant it to processes, a native build dies with SIGILL on the first matrix
# product. The wheel is built outside pip's cache, where a native build of another machine
# could have been kept.
if ! python3 -c "import llama_cpp" 2>/dev/null; then
    [ "$(uname -m)" = x86_64 ] && export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
    pip_install --no-cache-dir "llama-cpp-python>=0.3.36"
fi
pip_install -e ".[all]"
repairbot model install
