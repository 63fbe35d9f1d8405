#!/usr/bin/env bash
# Side-by-side benchmark: Apache ZooKeeper 3.8 (Debian package) and SharpKeeper on the same machine,
# same disk, same zoo.cfg settings (forceSync on), driven by the same load generator.
# Usage: bench/run.sh [--seconds S] [--znodes N]      (defaults: 5 s per workload, 200000 znodes)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5
znodes=200000
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --znodes) znodes=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source bench/lib.sh
bench_setup bench
java_cp=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/netty-all.jar:/usr/share/java/commons-cli.jar
mkdir -p "$work/java" && javac -d "$work/java" -cp "$java_cp" bench/java/JavaClientBench.java

wait_ready() { # port
  for _ in $(seq 1 300); do
    if [ "$(echo ruok | nc -q1 127.0.0.1 "$1" 2>/dev/null)" = imok ] && echo srvr | nc -q1 127.0.0.1 "$1" 2>/dev/null | grep -q Mode; then return 0; fi
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2; return 1
}
write_cfg() { # dir port
  mkdir -p "$1/data"
  cat > "$1/zoo.cfg" <<CFG
tickTime=2000
dataDir=$1/data
clientPort=$2
clientPortAddress=127.0.0.1
maxClientCnxns=0
forceSync=yes
4lw.commands.whitelist=*
admin.enableServer=false
CFG
}
start_apache() { # dir port
  java -Dzookeeper.forceSync=yes -cp "/etc/zookeeper/conf_example:/usr/share/java/zookeeper.jar" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$1/zoo.cfg" >"$1/server.log" 2>&1 &
  echo $!
}
start_sharp() { # dir port
  dotnet src/SharpKeeper/bin/Release/net10.0/sharpkeeper.dll start-foreground "$1/zoo.cfg" >"$1/server.log" 2>&1 &
  echo $!
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

measure_disk

for kind in apache sharp; do
  dir="$work/$kind"; port=$(free_port); write_cfg "$dir" "$port"
  pid=$("start_$kind" "$dir" "$port"); pids+=("$pid")
  wait_ready "$port"
  for workload in create set get exists mix multi; do
    dotnet bench/SharpKeeper.Bench/bin/Release/net10.0/sharpkeeper-bench.dll --server "127.0.0.1:$port" --label "$kind" \
      --workload "$workload" --sessions 8 --inflight 32 --payload 100 --seconds "$seconds" >>"$results"
  done
  # The same kind of load from Apache ZooKeeper's own Java client.
  for workload in create get set; do
    java -cp "$work/java:$java_cp" JavaClientBench "127.0.0.1:$port" "$kind" "$workload" 8 32 100 "$seconds" 2>/dev/null \
      | grep '^{' | sed "s/\"Workload\":\"$workload\"/\"Workload\":\"java-$workload\"/" >>"$results"
  done

  # Latency at an equal, modest offered load: one request in flight per session.
  dotnet bench/SharpKeeper.Bench/bin/Release/net10.0/sharpkeeper-bench.dll --server "127.0.0.1:$port" --label "$kind" \
    --workload mix --sessions 8 --inflight 1 --payload 100 --seconds "$seconds" | sed 's/"Workload":"mix"/"Workload":"mix-light"/' >>"$results"

  # Memory, snapshot and restart on equal trees: a fresh server and dataDir, then N znodes of 100 bytes.
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir/data/version-2"
  pid=$("start_$kind" "$dir" "$port"); pids+=("$pid")
  wait_ready "$port"
  before=$(rss_kb "$pid")
  dotnet bench/SharpKeeper.Bench/bin/Release/net10.0/sharpkeeper-bench.dll --server "127.0.0.1:$port" --label "$kind" \
    --workload create --sessions 8 --inflight 32 --payload 100 --count "$znodes" --seconds 600 >"$work/$kind-fill.json"
  after=$(rss_kb "$pid")
  # Wait (bounded) until no snapshot is being written, then measure the newest one.
  for _ in $(seq 1 100); do ls "$dir"/data/version-2/*.tmp >/dev/null 2>&1 || break; sleep 0.1; done
  snapshot_bytes=$(ls -t "$dir"/data/version-2/snapshot.* | head -1 | xargs stat -c %s)

  # Restart: kill -9, start again, time until a read is served.
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  start=$(date +%s%N)
  pid=$("start_$kind" "$dir" "$port"); pids+=("$pid")
  wait_ready "$port"
  restart_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "{\"Label\":\"$kind\",\"Workload\":\"memory\",\"Znodes\":$znodes,\"RssBeforeKb\":$before,\"RssAfterKb\":$after,\"DataBytes\":$snapshot_bytes,\"RestartMs\":$restart_ms}" >>"$results"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

/usr/bin/python3 bench/report.py "$results" "$disk_fsyncs" | tee bench/results/latest.md
cp "$results" bench/results/latest.jsonl
