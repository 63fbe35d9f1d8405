#!/usr/bin/env bash
# Installs what the tests use from Debian: Apache ZooKeeper 3.8 (the differential oracle and
# zkCli.sh), its C client (cli_mt), python3-kazoo and Apache Curator. Idempotent and quiet.
set -euo pipefail

packages=(zookeeper zookeeper-bin python3-kazoo libcurator-framework-java libcurator-recipes-java netcat-openbsd)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ! command -v javac >/dev/null 2>&1; then
  missing+=(default-jdk-headless)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing test dependencies: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
