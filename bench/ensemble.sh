#!/usr/bin/env bash
# Side-by-side benchmark of 3-server ensembles on loopback: three Apache ZooKeeper 3.8 servers
# (Debian package), then three SharpKeeper servers, same machine and disk, same zoo.cfg settings
# (forceSync on), driven by the same load generator with sessions spread over all three servers.
# Usage: bench/ensemble.sh [--seconds S] [--rounds R]
#   defaults: 5 s per workload; 3 rounds of the equal-offered-load and Java-client workloads (each
#   reported by its median round)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source bench/lib.sh
bench_setup ensemble-bench

mode_of() { { echo srvr | nc -q1 127.0.0.1 "$1" 2>/dev/null || true; } | sed -n 's/^Mode: //p'; }
wait_ensemble() { # ports...
  for _ in $(seq 1 600); do
    modes=$(for p in "$@"; do mode_of "$p"; done | sort | tr '\n' ' ')
    if [ "$modes" = "follower follower leader " ]; then return 0; fi
    sleep 0.1
  done
  echo "ensemble on ports $* did not form: $modes" >&2; return 1
}

measure_disk

for kind in apache sharp; do
  client_ports=(); servers=""
  for i in 1 2 3; do
    client_ports+=("$(free_port)")
    servers+="server.$i=127.0.0.1:$(free_port):$(free_port)"$'\n'
  done
  started=()
  for i in 1 2 3; do
    dir="$work/$kind-$i"; mkdir -p "$dir/data"; echo "$i" >"$dir/data/myid"
    cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=${client_ports[$((i - 1))]}
clientPortAddress=127.0.0.1
maxClientCnxns=0
forceSync=yes
4lw.commands.whitelist=*
admin.enableServer=false
$servers
CFG
    if [ "$kind" = apache ]; then
      java -Dzookeeper.forceSync=yes -cp "/etc/zookeeper/conf_example:/usr/share/java/zookeeper.jar" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
    else
      dotnet src/SharpKeeper/bin/Release/net10.0/sharpkeeper.dll start-foreground "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
    fi
    pids+=("$!"); started+=("$!")
  done
  wait_ensemble "${client_ports[@]}"
  connect=$(printf '127.0.0.1:%s,' "${client_ports[@]}"); connect=${connect%,}
  for workload in create set get exists children mix multi delete; do
    dotnet bench/SharpKeeper.Bench/bin/Release/net10.0/sharpkeeper-bench.dll --server "$connect" --label "$kind" \
      --workload "$workload" --sessions 12 --inflight 32 --payload 100 --seconds "$seconds" >>"$results"
  done
  dotnet bench/SharpKeeper.Bench/bin/Release/net10.0/sharpkeeper-bench.dll --server "$connect" --label "$kind" \
    --workload mix --sessions 12 --inflight 1 --payload 100 --seconds "$seconds" | sed 's/"Workload":"mix"/"Workload":"mix-light"/' >>"$results"
  # Latency at equal offered load, open loop: half of what the Apache ensemble sustained in this run.
  for _ in $(seq "$rounds"); do
    for workload in mix create; do
      rate=$(( $(ops_of apache "$workload") / 2 ))
      dotnet bench/SharpKeeper.Bench/bin/Release/net10.0/sharpkeeper-bench.dll --server "$connect" --label "$kind" \
        --workload "$workload" --sessions 12 --inflight 16 --payload 100 --seconds "$seconds" --rate "$rate" \
        | sed "s/\"Workload\":\"$workload\"/\"Workload\":\"$workload@rate\"/" >>"$results"
    done
  done
  # Apache's own Java client, sessions spread over the three servers by its own choice.
  for _ in $(seq "$rounds"); do
    for workload in create get set; do
      java -cp "$work/java:$java_cp" JavaClientBench "$connect" "$kind" "$workload" 12 32 100 "$seconds" 2>/dev/null \
        | grep '^{' | sed "s/\"Workload\":\"$workload\"/\"Workload\":\"java-$workload\"/" >>"$results"
    done
  done
  for pid in "${started[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
done

/usr/bin/python3 bench/report.py "$results" "$disk_fsyncs" "3-server ensembles on loopback" "$disk_fsync_latency" | tee bench/results/ensemble.md
cp "$results" bench/results/ensemble.jsonl
/usr/bin/python3 bench/readme_tables.py
