#!/usr/bin/env bash
# Compiles tests/compat/curator/CuratorCompat.java against Debian's Curator and ZooKeeper jars
# (into a temporary folder) and runs it. Usage: curator_compat.sh --server HOST:PORT
set -euo pipefail
[ "${1:-}" = "--server" ] && [ -n "${2:-}" ] || { echo "usage: $0 --server HOST:PORT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
classes=$(mktemp -d)
trap 'rm -rf "$classes"' EXIT
jars=/usr/share/java
cp="$jars/curator-framework.jar:$jars/curator-recipes.jar:$jars/curator-client.jar:$jars/zookeeper.jar:$jars/guava.jar"
for extra in zookeeper-jute failureaccess slf4j-api slf4j-nop netty-handler netty-common netty-transport netty-buffer netty-codec netty-resolver netty-transport-native-unix-common netty-transport-classes-epoll audience-annotations metrics-core; do
  [ -f "$jars/$extra.jar" ] && cp="$cp:$jars/$extra.jar"
done
javac -nowarn -d "$classes" -cp "$cp" "$here/curator/CuratorCompat.java"
exec timeout 180 java -Xmx256m -cp "$classes:$cp" CuratorCompat "$@"
