#!/usr/bin/python3
"""Prints the side-by-side tables (SharpKeeper / Apache ratios) from the JSON lines bench/run.sh or bench/ensemble.sh collected."""
import json
import platform
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
disk_fsyncs = int(sys.argv[2])
setting = sys.argv[3] if len(sys.argv) > 3 else "standalone"
disk_latency = sys.argv[4] if len(sys.argv) > 4 else None
# A workload run in several rounds is reported by its median round: by p99 for the open-loop
# (equal offered load) ones, whose throughput is fixed; by throughput for the others.
runs = {}
for r in rows:
    runs.setdefault((r["Label"], r["Workload"]), []).append(r)


def median(key, rs):
    measure = "P99Ms" if key[1].endswith("@rate") else "OpsPerSecond"
    return sorted(rs, key=lambda r: r.get(measure, 0))[len(rs) // 2]


by = {key: median(key, rs) for key, rs in runs.items()}
rounds = max(len(rs) for rs in runs.values())


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


def number(value, digits=0):
    return "n/a" if value is None else f"{value:.{digits}f}"


cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown cpu")
memory_gb = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) / 1024 / 1024
print(f"# SharpKeeper vs Apache ZooKeeper 3.8 (Debian), {setting}, same machine, forceSync on\n")
print(f"Machine: {platform.node()}, {cpu_model}, {open('/proc/cpuinfo').read().count('processor')} cores, "
      f"{memory_gb:.0f} GiB; disk: about {disk_fsyncs} synchronous 4 KiB writes/s"
      + (f"; one 4 KiB append + fdatasync: {disk_latency}" if disk_latency else "") + "\n")

workloads = ["create", "set", "get", "exists", "children", "mix", "multi", "delete", "mix@rate", "create@rate", "mix-light",
             "tls-set", "tls-get", "java-create", "java-set", "java-get",
             "java-set@rate", "java-get@rate", "java-create@rate", "java-mix@rate"]
if rounds > 1:
    print(f"Workloads run in {rounds} rounds (@rate and java-*) show their median round: by p99 for @rate, by throughput for java-*.\n")
print("| workload | Apache ops/s | SharpKeeper ops/s | ratio | Apache p99 ms | SharpKeeper p99 ms | p99 ratio | errors |")
print("|---|---|---|---|---|---|---|---|")
for workload in workloads:
    a, s = by.get(("apache", workload)), by.get(("sharp", workload))
    if not a or not s:
        continue
    print(f"| {workload} | {a['OpsPerSecond']:.0f} | {s['OpsPerSecond']:.0f} | {ratio(s['OpsPerSecond'], a['OpsPerSecond'])} "
          f"| {a['P99Ms']:.2f} | {s['P99Ms']:.2f} | {ratio(s['P99Ms'], a['P99Ms'])} | {a['Errors'] + s['Errors']} |")

if any("ServerCpuUsPerOp" in r for r in rows):
    print("\nThe servers' own cost per request: CPU time (user + system, from /proc) over the run, the longest "
          "garbage-collection pause during it (SharpKeeper: mntr; Apache: its -Xlog:gc file), and SharpKeeper's "
          "allocation per request (mntr's zk_allocated_bytes).\n")
    print("| workload | Apache CPU µs/op | SharpKeeper CPU µs/op | ratio | Apache longest GC pause ms | SharpKeeper longest GC pause ms | SharpKeeper bytes allocated/op |")
    print("|---|---|---|---|---|---|---|")
    for workload in workloads:
        a, s = by.get(("apache", workload)), by.get(("sharp", workload))
        if not a or not s or "ServerCpuUsPerOp" not in s:
            continue
        print(f"| {workload} | {a['ServerCpuUsPerOp']:.1f} | {s['ServerCpuUsPerOp']:.1f} | {ratio(s['ServerCpuUsPerOp'], a['ServerCpuUsPerOp'])} "
              f"| {number(a.get('ServerGcPauseMaxMs'), 1)} | {number(s.get('ServerGcPauseMaxMs'), 1)} "
              f"| {number(s.get('ServerAllocatedBytesPerOp'))} |")

def total_cpu(r):
    # Only where the servers' CPU was measured (for an ensemble: the sum over its servers).
    return number(r["ClientCpuUsPerOp"] + r["ServerCpuUsPerOp"], 1) if "ServerCpuUsPerOp" in r else "n/a"


java = [w for w in workloads if w.startswith("java-") and "ClientCpuUsPerOp" in by.get(("sharp", w), {})]
if java:
    print("\nApache's Java client on the same 2 cores: its own CPU per request (all its threads; the client's "
          "CPU and the server's share the machine, which caps what either server can show through it).\n")
    print("| workload | Java client CPU µs/op, Apache server | Java client CPU µs/op, SharpKeeper server | "
          "client + server CPU µs/op, Apache | client + server CPU µs/op, SharpKeeper |")
    print("|---|---|---|---|---|")
    for workload in java:
        a, s = by[("apache", workload)], by[("sharp", workload)]
        print(f"| {workload} | {a['ClientCpuUsPerOp']:.1f} | {s['ClientCpuUsPerOp']:.1f} "
              f"| {total_cpu(a)} | {total_cpu(s)} |")

for shape, title in [("flat", "flat, under one parent"), ("tree", "parents with 10 children each")]:
    a, s = by.get(("apache", "memory-" + shape)), by.get(("sharp", "memory-" + shape))
    if not a or not s:
        continue
    n = a["Znodes"]
    per = lambda r: (r["RssAfterKb"] - r["RssBeforeKb"]) * 1024 / n
    print(f"\n| {n} znodes of 100 bytes, {title} | Apache | SharpKeeper | ratio |")
    print("|---|---|---|---|")
    print(f"| fill rate (creates/s) | {a['FillOpsPerSecond']:.0f} | {s['FillOpsPerSecond']:.0f} | {ratio(s['FillOpsPerSecond'], a['FillOpsPerSecond'])} |")
    print(f"| RSS after the fill (MB) | {a['RssAfterKb'] / 1024:.0f} | {s['RssAfterKb'] / 1024:.0f} | {ratio(s['RssAfterKb'], a['RssAfterKb'])} |")
    print(f"| RSS growth per znode (bytes) | {per(a):.0f} | {per(s):.0f} | {ratio(per(s), per(a))} |")
    print(f"| RSS after a restart from the snapshot (MB) | {a['RssRestartedKb'] / 1024:.0f} | {s['RssRestartedKb'] / 1024:.0f} | {ratio(s['RssRestartedKb'], a['RssRestartedKb'])} |")
    print(f"| snapshot of the whole tree (MB) | {a['DataBytes'] / 1e6:.1f} | {s['DataBytes'] / 1e6:.1f} | {ratio(s['DataBytes'], a['DataBytes'])} |")
    print(f"| snapshot bytes per znode | {a['DataBytes'] / n:.0f} | {s['DataBytes'] / n:.0f} | {ratio(s['DataBytes'], a['DataBytes'])} |")
    print(f"| restart replaying the whole log, to serving a read (ms) | {a['RestartReplayMs']} | {s['RestartReplayMs']} | {ratio(s['RestartReplayMs'], a['RestartReplayMs'])} |")
    print(f"| restart from the snapshot, to serving a read (ms) | {a['RestartSnapshotMs']} | {s['RestartSnapshotMs']} | {ratio(s['RestartSnapshotMs'], a['RestartSnapshotMs'])} |")

fills = sorted({w for (_, w) in by if w.startswith("java-fill-")})
if fills:
    print("\nFilled through Apache's Java client (sessions x in flight, shape), 100-byte znodes, snapshots at the default snapCount during the fill; RSS in MB and per znode, restart (after kill -9) to serving a read:\n")
    print("| fill | znodes | Apache fill/s | SharpKeeper fill/s | Apache RSS after | SharpKeeper RSS after | ratio | SharpKeeper bytes/znode | Apache RSS restarted | SharpKeeper RSS restarted | ratio | Apache restart ms | SharpKeeper restart ms | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in fills:
        a, s = by.get(("apache", w)), by.get(("sharp", w))
        if not a or not s:
            continue
        mb = lambda kb: kb / 1024
        per_znode = (s["RssAfterKb"] - s["RssBeforeKb"]) * 1024 / s["Znodes"]
        print(f"| {s['Fill']} | {s['Znodes']} | {a['FillOpsPerSecond']:.0f} | {s['FillOpsPerSecond']:.0f} "
              f"| {mb(a['RssAfterKb']):.0f} | {mb(s['RssAfterKb']):.0f} | {ratio(s['RssAfterKb'], a['RssAfterKb'])} | {per_znode:.0f} "
              f"| {mb(a['RssRestartedKb']):.0f} | {mb(s['RssRestartedKb']):.0f} | {ratio(s['RssRestartedKb'], a['RssRestartedKb'])} "
              f"| {a['RestartMs']} | {s['RestartMs']} | {ratio(s['RestartMs'], a['RestartMs'])} |")

create = by.get(("sharp", "create"))
if create:
    print(f"\nSharpKeeper writes/s vs one fsync per write: {create['OpsPerSecond']:.0f} / {disk_fsyncs} "
          f"= {create['OpsPerSecond'] / disk_fsyncs:.1f}x (group commit)")
