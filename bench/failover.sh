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

/usr/bin/python3 - "$results" <<'PY' | tee bench/results/failover.md
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("# Failover: Apache's Java client writing while the leader fails (3-server ensembles on loopback)\n")
print("| fault | server | longest gap with no write, ms | all sessions writing again, ms | failed writes | rounds |")
print("|---|---|---|---|---|---|")
medians = {}
for fault in dict.fromkeys(r["Fault"] for r in rows):
    for label in ("apache", "sharp"):
        runs = [r for r in rows if r["Fault"] == fault and r["Label"] == label]
        if not runs:
            continue
        gap = statistics.median(r["LongestGapMs"] for r in runs)
        again = statistics.median(r["AllSessionsAgainMs"] for r in runs)
        medians[fault, label] = (gap, again)
        detail = ", ".join("%.0f/%.0f" % (r["LongestGapMs"], r["AllSessionsAgainMs"]) for r in runs)
        name = "Apache ZooKeeper" if label == "apache" else "SharpKeeper"
        failed = statistics.median(r["Failures"] for r in runs)
        print(f"| {fault} | {name} | {gap:.0f} | {again:.0f} | {failed:.0f} | {detail} |")
print()
for fault in dict.fromkeys(r["Fault"] for r in rows):
    if (fault, "apache") in medians and (fault, "sharp") in medians:
        (ag, aa), (sg, sa) = medians[fault, "apache"], medians[fault, "sharp"]
        print(f"- {fault}: longest gap {sg / ag:.2f}x Apache's, all sessions writing again {sa / aa:.2f}x")
PY
cp "$results" bench/results/failover.jsonl
