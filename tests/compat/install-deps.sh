#!/usr/bin/env bash
# Installs what the compat suites and the differential tests use, from Debian: Apache ZooKeeper
# 3.8 (server, zkCli.sh, Java client), its C client cli_mt, python3-kazoo, Apache Curator, a JDK
# (javac for the Curator program), log4j/slf4j bindings and netcat. Idempotent and quiet; when
# everything is present it only runs `dpkg -s` and exits.
set -euo pipefail

packages=(
  zookeeper zookeeper-bin libzookeeper-java
  python3 python3-kazoo
  libcurator-framework-java libcurator-recipes-java libcurator-client-java
  libslf4j-java liblog4j1.2-java libguava-java
  netcat-openbsd coreutils
)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ! command -v javac >/dev/null 2>&1; then
  missing+=(default-jdk-headless)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
run_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: not root and no sudo" >&2; exit 1; }
  run_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  "${run_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
# Refresh the package lists once: up front when there are none, otherwise only if the
# install fails with the lists we have.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  "${run_root[@]}" apt-get update -qq >/dev/null
  apt_install
elif ! apt_install 2>/dev/null; then
  "${run_root[@]}" apt-get update -qq >/dev/null
  apt_install
fi
