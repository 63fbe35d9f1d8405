#!/usr/bin/python3
"""The failover table (medians of the rounds, SharpKeeper / Apache) from the JSON lines bench/failover.sh collected."""
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
