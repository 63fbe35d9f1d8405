#!/usr/bin/env bash
# Apache Curator (Debian's libcurator-*-java 5.x) against a server: compiles
# tests/compat/curator/CuratorCompat.java into a temporary folder and runs it.
# Usage: curator_compat.sh --server HOST:PORT
# CLIENT_SECURITY_FLAGS: -D flags for TLS or SASL (zookeeper.client.secure, ssl.*, the JAAS file).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
parse_server "$@"

RUN_TIMEOUT=${RUN_TIMEOUT:-420}
jars=/usr/share/java
classpath=""
for jar in curator-framework curator-recipes curator-client zookeeper zookeeper-jute guava slf4j-api slf4j-simple; do
  if [ ! -f "$jars/$jar.jar" ]; then
    echo "FAIL setup: $jars/$jar.jar missing (run tests/compat/install-deps.sh)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  classpath="$classpath${classpath:+:}$jars/$jar.jar"
done
# zookeeper.jar's manifest Class-Path brings jute, metrics and the rest; Netty (the client's TLS) is
# listed only in part, so its jars are added.
for part in buffer codec common handler resolver transport transport-native-epoll transport-native-unix-common; do
  classpath="$classpath:$jars/netty-$part.jar"
done

classes=$(mktemp -d)
java_pid=""
trap '[ -n "$java_pid" ] && kill "$java_pid" 2>/dev/null; rm -rf "$classes"' EXIT

if ! javac -nowarn -encoding UTF-8 -d "$classes" -cp "$classpath" "$here/curator/CuratorCompat.java" >"$classes/javac.log" 2>&1; then
  echo "FAIL compile: $(head -c 2000 "$classes/javac.log")"
  echo "0 passed, 1 failed"
  exit 1
fi

# slf4j-simple at WARN on stderr (ClientCnxn at ERROR: the 3.8 client warns about the server
# closing the socket after closeSession on every close); the JVM is bounded by RUN_TIMEOUT.
timeout --kill-after=10 "$RUN_TIMEOUT" java -Xmx256m -XX:+UseSerialGC \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dorg.slf4j.simpleLogger.log.org.apache.zookeeper.ClientCnxn=error \
  -Dorg.slf4j.simpleLogger.showDateTime=false \
  -Dorg.slf4j.simpleLogger.logFile=System.err \
  ${CLIENT_SECURITY_FLAGS:-} \
  -cp "$classes:$classpath" CuratorCompat --server "$SERVER" &
java_pid=$!
wait "$java_pid"
status=$?
java_pid=""
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "FAIL run: CuratorCompat did not finish within ${RUN_TIMEOUT}s"
  echo "0 passed, 1 failed"
fi
exit "$status"
