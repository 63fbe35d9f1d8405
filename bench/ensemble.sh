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

measure_disk

for kind in apache sharp; do
  start_ensemble "$kind" 3
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
  stop_ensemble
done

/usr/bin/python3 bench/report.py "$results" "$disk_fsyncs" "3-server ensembles on loopback" "$disk_fsync_latency" | tee bench/results/ensemble.md
cp "$results" bench/results/ensemble.jsonl
/usr/bin/python3 bench/readme_tables.py
