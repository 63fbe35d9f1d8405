#!/usr/bin/env bash
# Failover side by side: a 3-server ensemble of Apache ZooKeeper 3.8 (Debian package), then one of
# SharpKeeper, same machine, same zoo.cfg (tickTime=2000, syncLimit=5, forceSync on). Apache's own
# Java client writes (setData, async) from several sessions spread over the servers at a fixed rate
# while the leader fails:
#   kill    kill -9 (its connections close at once)
#   freeze  SIGSTOP (its connections stay open and silent, as when the network cuts it off;
#           followers can only notice by syncLimit)
# Reports the longest gap with no successful write and the time until every session wrote again,
# the median of the rounds (a fresh ensemble each round).
# Usage: bench/failover.sh [--rounds R] [--sessions S] [--rate W] [--faults kill,freeze]
#   (a fault left out keeps its rows from the last run that had it)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
sessions=16
rate=300
faults=kill,freeze
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --faults) faults=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source bench/lib.sh
bench_setup failover-bench

for fault in ${faults//,/ }; do
  case "$fault" in
    kill) signal=KILL; after=8 ;;
    freeze) signal=STOP; after=30 ;;
    *) echo "unknown fault $fault" >&2; exit 2 ;;
  esac
  for round in $(seq "$rounds"); do
    for kind in apache sharp; do
      start_ensemble "$kind" 3
      leader=""
      for i in 1 2 3; do
        if [ "$(mode_of "${client_ports[$((i - 1))]}")" = leader ]; then leader=$i; fi
      done
      echo "== $fault, round $round: $kind, server $leader leads (pid ${server_pids[$((leader - 1))]})"
      java -cp "$work/java:$java_cp" FailoverBench "$connect" "$kind" "$sessions" "$rate" 3 "$after" \
        kill -s "$signal" "${server_pids[$((leader - 1))]}" 2>/dev/null \
        | grep '^{' | sed "s/^{/{\"Fault\":\"$fault\",\"Round\":$round,/" | tee -a "$results"
      stop_ensemble
      rm -rf "$work/$kind-"*
    done
  done
done

# Faults not run this time keep their rows from the last run that had them.
if [ -f bench/results/failover.jsonl ]; then
  /usr/bin/python3 -c "
import json, sys
ran = {json.loads(l)['Fault'] for l in open('$results') if l.strip()}
for l in open('bench/results/failover.jsonl'):
    if l.strip() and json.loads(l)['Fault'] not in ran: print(l.strip())" >>"$results"
fi
/usr/bin/python3 bench/failover_report.py "$results" | tee bench/results/failover.md
cp "$results" bench/results/failover.jsonl
