#!/usr/bin/env bash
# Installs what the compat suites and the differential tests use, from Debian: Apache ZooKeeper
# 3.8 (server, zkCli.sh, Java client), its C client cli_mt, python3-kazoo, Apache Curator, a JDK
# (javac for the Curator program; keytool for the JKS tests), log4j/slf4j bindings, netcat, Netty
# (Apache's TLS), pure-sasl (kazoo's SASL), Jetty 9 and Jackson (Apache's AdminServer), AFL++ (fuzz/fuzz.sh), and ClickHouse 18.16 (server and
# client: clickhouse_compat.sh starts its own instances). Idempotent and quiet; when everything is
# present it only runs `dpkg -s` and exits.
#
# No package may start a system service: during the install /usr/sbin/policy-rc.d answers 101
# ("action forbidden") to invoke-rc.d (any policy-rc.d already there is put back afterwards), and
# the clickhouse-server service is then disabled (sysvinit and systemd) and masked, so it does not
# start at boot or on a later upgrade either.
set -euo pipefail

packages=(
  zookeeper zookeeper-bin libzookeeper-java
  python3 python3-kazoo python3-pure-sasl python3-prometheus-client
  libnetty-java
  libcurator-framework-java libcurator-recipes-java libcurator-client-java
  libslf4j-java liblog4j1.2-java libguava-java
  netcat-openbsd coreutils
  libjetty9-java libjackson2-databind-java libservlet-api-java
  afl++
  chromium chromium-driver
  clickhouse-server clickhouse-client
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

policy=/usr/sbin/policy-rc.d
policy_saved=""
restore_policy() {
  if [ -n "$policy_saved" ]; then
    "${run_root[@]}" mv -f "$policy_saved" "$policy"
  else
    "${run_root[@]}" rm -f "$policy"
  fi
}
if [ -e "$policy" ]; then
  policy_saved=$("${run_root[@]}" mktemp /usr/sbin/policy-rc.d.install-deps.XXXXXX)
  "${run_root[@]}" cp -p "$policy" "$policy_saved"
fi
trap restore_policy EXIT
trap 'exit 130' INT TERM
printf '#!/bin/sh\n# tests/compat/install-deps.sh: no service starts while it installs packages\nexit 101\n' |
  "${run_root[@]}" tee "$policy" >/dev/null
"${run_root[@]}" chmod 755 "$policy"

apt_install() {
  "${run_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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

# clickhouse-server is only ever run by clickhouse_compat.sh, on its own configuration.
if [[ " ${missing[*]} " == *" clickhouse-server "* ]]; then
  "${run_root[@]}" update-rc.d clickhouse-server disable >/dev/null 2>&1 || true
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    "${run_root[@]}" deb-systemd-helper disable clickhouse-server.service >/dev/null 2>&1 || true
  fi
  # What `systemctl mask` does, without needing a running systemd.
  "${run_root[@]}" mkdir -p /etc/systemd/system
  "${run_root[@]}" ln -sfn /dev/null /etc/systemd/system/clickhouse-server.service
  if [ -d /run/systemd/system ]; then
    "${run_root[@]}" systemctl stop clickhouse-server.service >/dev/null 2>&1 || true
    "${run_root[@]}" systemctl daemon-reload >/dev/null 2>&1 || true
  fi
  # Should a service have started anyway, stop it by PID: a clickhouse-server whose command line
  # names the system configuration (clickhouse_compat.sh's instances use configurations of their own).
  for proc in /proc/[0-9]*; do
    args=$(tr '\0' '\n' <"$proc/cmdline" 2>/dev/null) || continue
    [ "${args%%$'\n'*}" = /usr/sbin/clickhouse-server ] || continue
    grep -q '/etc/clickhouse-server/config\.xml$' <<<"$args" || continue
    pid=${proc#/proc/}
    echo "install-deps: stopping the clickhouse-server system service (pid $pid)"
    "${run_root[@]}" kill "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 30))
    while [ -e "$proc" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if [ -e "$proc" ]; then
      "${run_root[@]}" kill -KILL "$pid" 2>/dev/null || true
    fi
  done
fi
