#!/usr/bin/env bash
# Debian's Apache ZooKeeper 3.8, standalone, as the reference server for the compat suites.
#
#   apache-zk.sh start DIR PORT   writes DIR/zoo.cfg (data in DIR/data, log in DIR/zookeeper.log),
#                                 starts the server in the background, writes DIR/zk.pid and
#                                 returns once `ruok` answers `imok` and `conf` shows DIR's
#                                 data directory (or fails after
#                                 ZK_START_TIMEOUT seconds, default 60, stopping what it started)
#   apache-zk.sh stop DIR         kills the PID in DIR/zk.pid and waits until it has exited
#
# ZK_JVM_FLAGS adds JVM options (later -D settings win, e.g. -Dzookeeper.extendedTypesEnabled=false).
# The classpath is the one zkServer.sh builds (/usr/share/java/zookeeper.jar, whose manifest names
# its dependencies) plus log4j 1.2 and its slf4j binding so the server log lands in DIR.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR PORT | stop DIR" >&2
  exit 2
}

jars=/usr/share/java
main_class=org.apache.zookeeper.server.quorum.QuorumPeerMain

# True when PID is a live (not zombie) process whose command line names DIR's zoo.cfg.
is_our_server() {
  local pid=$1 dir=$2 state
  [ -r "/proc/$pid/cmdline" ] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/zoo.cfg"
}

four_letter() { # word port -> prints the server's answer
  printf '%s' "$1" | timeout 3 nc -N -w 2 127.0.0.1 "$2" 2>/dev/null || true
}

stop_server() {
  local dir=$1 pid deadline
  [ -f "$dir/zk.pid" ] || return 0
  pid=$(cat "$dir/zk.pid")
  if [ -n "$pid" ] && is_our_server "$pid" "$dir"; then
    kill "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 20))
    while is_our_server "$pid" "$dir" && [ $SECONDS -lt $deadline ]; do
      sleep 0.1
    done
    if is_our_server "$pid" "$dir"; then
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while is_our_server "$pid" "$dir" && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
      done
    fi
    if is_our_server "$pid" "$dir"; then
      echo "apache-zk: process $pid did not exit" >&2
      return 1
    fi
  fi
  rm -f "$dir/zk.pid"
}

start_server() {
  local dir=$1 port=$2 pid deadline answer
  [[ "$port" =~ ^[0-9]+$ ]] || usage
  [ -f "$jars/zookeeper.jar" ] || { echo "apache-zk: $jars/zookeeper.jar missing: run tests/compat/install-deps.sh" >&2; return 1; }
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/zk.pid" ] && is_our_server "$(cat "$dir/zk.pid")" "$dir"; then
    echo "apache-zk: already running in $dir (pid $(cat "$dir/zk.pid"))" >&2
    return 1
  fi

  cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
EOF
  cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$dir/zookeeper.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
EOF

  local classpath="$dir:$jars/zookeeper.jar:$jars/slf4j-log4j12.jar:$jars/log4j-1.2.jar"
  # shellcheck disable=SC2086 # ZK_JVM_FLAGS is a list of options
  java -Xmx256m \
    -Dzookeeper.extendedTypesEnabled=true \
    -Dzookeeper.admin.enableServer=false \
    -Dzookeeper.jmx.log4j.disable=true \
    -Dlog4j.configuration="file:$dir/log4j.properties" \
    -Dzookeeper.log.dir="$dir" \
    ${ZK_JVM_FLAGS:-} \
    -cp "$classpath" "$main_class" "$dir/zoo.cfg" \
    >"$dir/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/zk.pid"

  deadline=$((SECONDS + ${ZK_START_TIMEOUT:-60}))
  while :; do
    # ruok answers imok as soon as the port is bound; conf answers once the database is loaded,
    # and its dataDir tells our server from anything else that might hold the port.
    answer=$(four_letter ruok "$port")
    if [ "$answer" = imok ] && four_letter conf "$port" | grep -qxF "dataDir=$dir/data/version-2"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "apache-zk: server exited during start-up; last log lines:" >&2
      tail -n 20 "$dir/zookeeper.log" "$dir/stdout.log" >&2 2>/dev/null || true
      rm -f "$dir/zk.pid"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "apache-zk: no imok on port $port within ${ZK_START_TIMEOUT:-60}s; stopping it" >&2
      tail -n 20 "$dir/zookeeper.log" >&2 2>/dev/null || true
      stop_server "$dir" || true
      return 1
    fi
    sleep 0.2
  done
}

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; start_server "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; [ -d "$2" ] || exit 0; stop_server "$(cd "$2" && pwd)" ;;
  *) usage ;;
esac
