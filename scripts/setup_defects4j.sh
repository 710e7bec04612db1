#!/usr/bin/env bash
# Set up Defects4J 3 from its public repository and the projects' public repositories, without
# its init script's downloads (unreachable from machines like this one), for Java 17: the
# set-up `benchmarks/runs/defects4j-40/` ran on. Math, JacksonDatabind, Cli and Closure do not
# build on Java 17 this way (README, Defects4J); Lang, Jsoup, Gson, Codec, JxPath, JacksonCore,
# Time and Collections do.
#
#   scripts/setup_defects4j.sh DEST DEFECTS4J_GIT [NAME=PROJECT_GIT ...]
#
# DEFECTS4J_GIT: a clone of rjust/defects4j. NAME: a project's repository name in Defects4J's
# project_repos (commons-lang, joda-time, jsoup, gson, commons-codec, jackson-core,
# commons-jxpath, commons-collections, ...); PROJECT_GIT: a clone (bare or not) of that
# project's public repository, linked, not copied. Then put DEST/framework/bin on PATH and run
# `repairbot bench defects4j --defects4j DEST ...`.
set -euo pipefail
. "$(dirname "$0")/apt_missing.sh"
if [ $# -lt 2 ]; then
    echo "usage: $0 DEST DEFECTS4J_GIT [NAME=PROJECT_GIT ...]" >&2
    exit 2
fi
dest=$1 d4j_git=$2
shift 2
# A snapshot may lack the jars of projects not set up here: the rest is still checked out.
git clone -q --no-checkout "$d4j_git" "$dest"
git -C "$dest" read-tree HEAD
git -C "$dest" checkout-index -a -f 2>/dev/null || echo "note: some files of $d4j_git are missing from its clone" >&2
git -C "$dest" reset -q
mkdir -p "$dest/project_repos"
for pair in "$@"; do
    name=${pair%%=*} repo=${pair#*=}
    [ -d "$repo" ] || { echo "not a directory: $repo ($pair)" >&2; exit 2; }
    ln -sfn "$(realpath "$repo")" "$dest/project_repos/$name.git"
done
echo "Defects4J version 3" > "$dest/project_repos/README"
# Defects4J 3 refuses any Java but 11; repairbot raises javac levels for Java 17 itself
# (validators/ant_levels.py).
sed -i 's/if (\$1 != 11) {/if ($1 != 11 \&\& $1 != 17) {/' "$dest/framework/core/Constants.pm"
grep -q '!= 17' "$dest/framework/core/Constants.pm" || { echo "Constants.pm: Java version check not found" >&2; exit 1; }
# Directories the framework expects from its downloads (Major, test generators, Gradle).
mkdir -p "$dest/major/bin" "$dest/framework/lib/test_generation/generation" \
    "$dest/framework/lib/test_generation/runtime" "$dest/framework/lib/build_systems/gradle/dists" \
    "$dest/framework/lib/build_systems/gradle/deps"
# Defects4J runs Major's Ant; Debian's Ant does the same builds (headless: no display here).
printf '#!/bin/sh\nexec /usr/bin/ant -Djava.awt.headless=true "$@"\n' > "$dest/major/bin/ant"
chmod +x "$dest/major/bin/ant"
# Defects4J's Perl modules and Ant, as Debian packages.
packages="ant ant-optional libdbi-perl libdbd-csv-perl libjson-perl libjson-parse-perl liburi-perl
    libstring-interpolate-perl unzip"
# shellcheck disable=SC2086
apt_install_missing $packages
echo "Defects4J set up in $dest: export PATH=$(realpath "$dest")/framework/bin:\$PATH"
