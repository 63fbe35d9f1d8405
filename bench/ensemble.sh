#!/usr/bin/env bash
# Side-by-side benchmark of ensembles on loopback: N Apache ZooKeeper 3.8 servers (Debian package),
# then N SharpKeeper servers, same machine and disk, same zoo.cfg settings (forceSync on), driven by
# the same load generator with sessions spread over all the servers; the servers' CPU per request is
# the sum over all N processes.
# Usage: bench/ensemble.sh [--servers N] [--seconds S] [--rounds R]
#   defaults: 3 servers (results/ensemble.md; 5 writes results/ensemble5.md); 5 s per workload;
#   3 rounds of the equal-offered-load and Java-client workloads (each reported by its median round)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5
rounds=3
servers=3
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source bench/lib.sh
bench_setup ensemble-bench

# CPU ticks (user + system) of every server of the ensemble.
ensemble_ticks() { local total=0 pid; for pid in "${server_pids[@]}"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$total"; }
# Runs one SharpKeeper.Bench load and appends its JSON line, named NAME, with the servers' CPU per request.
measure_ensemble() { # name bench-args...
  local name=$1 before after line; shift
  before=$(ensemble_ticks)
  line=$(dotnet bench/SharpKeeper.Bench/bin/Release/net10.0/sharpkeeper-bench.dll --server "$connect" --label "$kind" "$@" | grep '^{')
  after=$(ensemble_ticks)
  echo "$line" | /usr/bin/python3 -c "
import json, os, sys
r = json.loads(sys.stdin.read()); r['Workload'] = '$name'
r['ServerCpuUsPerOp'] = ($after - $before) / os.sysconf('SC_CLK_TCK') * 1e6 / max(1, r['Ops'])
print(json.dumps(r))" >>"$results"
}
# Apache's own Java client (sessions spread over the servers by its own choice); it reads the servers'
# CPU over its measured window itself.
measure_java() { # name workload sessions inflight rate
  java -cp "$work/java:$java_cp" JavaClientBench "$connect" "$kind" "$2" "$3" "$4" 100 "$java_seconds" "$5" \
    "$(IFS=,; echo "${server_pids[*]}")" 2>/dev/null | grep '^{' | sed "s/\"Workload\":\"$2\"/\"Workload\":\"$1\"/" >>"$results"
}

measure_disk
java_seconds=$seconds

for kind in apache sharp; do
  start_ensemble "$kind" "$servers"
  for workload in create set get exists children mix multi delete; do
    measure_ensemble "$workload" --workload "$workload" --sessions 12 --inflight 32 --payload 100 --seconds "$seconds"
  done
  measure_ensemble mix-light --workload mix --sessions 12 --inflight 1 --payload 100 --seconds "$seconds"
  # Latency at equal offered load, open loop: half of what the Apache ensemble sustained in this run.
  for _ in $(seq "$rounds"); do
    for workload in mix create; do
      rate=$(( $(ops_of apache "$workload") / 2 ))
      measure_ensemble "$workload@rate" --workload "$workload" --sessions 12 --inflight 16 --payload 100 --seconds "$seconds" --rate "$rate"
    done
  done
  for _ in $(seq "$rounds"); do
    for workload in create get set; do
      measure_java "java-$workload" "$workload" 12 32 0
    done
  done
  # Real clients' regime (as in run.sh): 16 sessions x 4 in flight at fixed offered loads.
  java_seconds=$((seconds * 2))
  for _ in $(seq "$rounds"); do
    for load in set:2000 get:4000 create:1200 mix:3000; do
      measure_java "java-${load%%:*}@rate" "${load%%:*}" 16 4 "${load##*:}"
    done
  done
  java_seconds=$seconds
  stop_ensemble
done

table=bench/results/ensemble.md; [ "$servers" = 3 ] || table=bench/results/ensemble$servers.md
/usr/bin/python3 bench/report.py "$results" "$disk_fsyncs" "$servers-server ensembles on loopback" "$disk_fsync_latency" | tee "$table"
cp "$results" "${table%.md}.jsonl"
/usr/bin/python3 bench/readme_tables.py
