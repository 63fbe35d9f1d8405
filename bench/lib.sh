# Shared by bench/run.sh and bench/ensemble.sh (sourced after `cd` to the repository root).
# bench_setup NAME: installs the Debian packages, builds Release (and the Java client driver into
# $work/java, classpath $java_cp), makes $work and arranges for every pid added to $pids to be
# killed (by PID) and $work removed on exit.
bench_setup() {
  bash tests/compat/install-deps.sh
  dotnet build -c Release -nologo -v quiet src/SharpKeeper >/dev/null
  dotnet build -c Release -nologo -v quiet bench/SharpKeeper.Bench >/dev/null
  work=$(mktemp -d "/var/tmp/sharpkeeper-$1.XXXXXX")
  results="$work/results.jsonl"
  java_cp=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/netty-all.jar:/usr/share/java/commons-cli.jar
  mkdir -p "$work/java" && javac -d "$work/java" -cp "$java_cp" bench/java/JavaClientBench.java
  pids=()
  trap 'for pid in "${pids[@]:-}"; do kill -9 "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
}

# The throughput of one workload's run(s) in $results, for one server kind.
ops_of() { # kind workload
  /usr/bin/python3 -c "
import json
for l in open('$results'):
    r = json.loads(l)
    if r['Label'] == '$1' and r['Workload'] == '$2': print(int(r['OpsPerSecond']))"
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sets disk_fsyncs: synchronous 4 KiB writes per second on $work's disk (what one fsync per write allows).
measure_disk() {
  echo "== disk: synchronous 4 KiB writes (what one fsync per write allows)"
  dd if=/dev/zero of="$work/fsync.test" bs=4k count=500 oflag=dsync 2>&1 | tail -1 | tee "$work/dd.txt"
  disk_fsyncs=$(/usr/bin/python3 -c "
import re; t=open('$work/dd.txt').read(); m=re.search(r'copied, ([0-9.]+) s', t); print(int(500/float(m.group(1))))")
  echo "disk: about $disk_fsyncs fsyncs/s"
  # The spread of one 4 KiB append + fdatasync: a write acknowledged after fsync cannot beat this tail.
  disk_fsync_latency=$(/usr/bin/python3 -c "
import os, time
fd = os.open('$work/fsync.lat', os.O_WRONLY | os.O_CREAT, 0o644); block = b'x' * 4096; t = []
for _ in range(2000):
    s = time.perf_counter(); os.write(fd, block); os.fdatasync(fd); t.append((time.perf_counter() - s) * 1000)
os.close(fd); t.sort()
print(f'p50 {t[1000]:.2f} ms, p99 {t[1980]:.2f} ms, p99.9 {t[1998]:.2f} ms, max {t[-1]:.2f} ms')")
  echo "disk: 4 KiB append + fdatasync latency $disk_fsync_latency"
}
