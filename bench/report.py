#!/usr/bin/python3
"""Prints the side-by-side table (SharpKeeper / Apache ratios) from the JSON lines bench/run.sh collected."""
import json
import platform
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
disk_fsyncs = int(sys.argv[2])
setting = sys.argv[3] if len(sys.argv) > 3 else "standalone"
by = {(r["Label"], r["Workload"]): r for r in rows}


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "n/a"


print(f"# SharpKeeper vs Apache ZooKeeper 3.8 (Debian), {setting}, same machine, forceSync on\n")
print(f"Machine: {platform.node()}, {platform.machine()}, {open('/proc/cpuinfo').read().count('processor')} cores; "
      f"disk: about {disk_fsyncs} synchronous 4 KiB writes/s\n")
print("| workload | Apache ops/s | SharpKeeper ops/s | ratio | Apache p99 ms | SharpKeeper p99 ms | p99 ratio | errors |")
print("|---|---|---|---|---|---|---|---|")
for workload in ["create", "set", "get", "exists", "mix", "multi", "mix-light", "java-create", "java-set", "java-get"]:
    a, s = by.get(("apache", workload)), by.get(("sharp", workload))
    if not a or not s:
        continue
    print(f"| {workload} | {a['OpsPerSecond']:.0f} | {s['OpsPerSecond']:.0f} | {ratio(s['OpsPerSecond'], a['OpsPerSecond'])} "
          f"| {a['P99Ms']:.2f} | {s['P99Ms']:.2f} | {ratio(s['P99Ms'], a['P99Ms'])} | {a['Errors'] + s['Errors']} |")
a, s = by.get(("apache", "memory")), by.get(("sharp", "memory"))
if a and s:
    n = a["Znodes"]
    per = lambda r: (r["RssAfterKb"] - r["RssBeforeKb"]) * 1024 / n
    print(f"\n| {n} znodes of 100 bytes | Apache | SharpKeeper | ratio |")
    print("|---|---|---|---|")
    print(f"| RSS after load (MB) | {a['RssAfterKb'] / 1024:.0f} | {s['RssAfterKb'] / 1024:.0f} | {ratio(s['RssAfterKb'], a['RssAfterKb'])} |")
    print(f"| RSS growth per znode (bytes) | {per(a):.0f} | {per(s):.0f} | {ratio(per(s), per(a))} |")
    print(f"| newest snapshot (MB) | {a['DataBytes'] / 1e6:.1f} | {s['DataBytes'] / 1e6:.1f} | {ratio(s['DataBytes'], a['DataBytes'])} |")
    print(f"| snapshot bytes per znode | {a['DataBytes'] / n:.0f} | {s['DataBytes'] / n:.0f} | {ratio(s['DataBytes'], a['DataBytes'])} |")
    print(f"| restart to serving (ms) | {a['RestartMs']} | {s['RestartMs']} | {ratio(s['RestartMs'], a['RestartMs'])} |")
create = by.get(("sharp", "create"))
if create:
    print(f"\nSharpKeeper writes/s vs one fsync per write: {create['OpsPerSecond']:.0f} / {disk_fsyncs} "
          f"= {create['OpsPerSecond'] / disk_fsyncs:.1f}x (group commit)")
