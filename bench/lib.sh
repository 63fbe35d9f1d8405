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
  mkdir -p "$work/java" && javac -d "$work/java" -cp "$java_cp" bench/java/*.java
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

mode_of() { { echo srvr | nc -q1 127.0.0.1 "$1" 2>/dev/null || true; } | sed -n 's/^Mode: //p'; }

# Waits until the servers on these client ports are one leader and followers.
wait_ensemble() { # ports...
  local want modes
  want=$({ printf 'follower\n%.0s' $(seq 2 $#); echo leader; } | sort | tr '\n' ' ')
  for _ in $(seq 1 600); do
    modes=$(for p in "$@"; do mode_of "$p"; done | sort | tr '\n' ' ')
    if [ "$modes" = "$want" ]; then return 0; fi
    sleep 0.1
  done
  echo "ensemble on ports $* did not form: $modes" >&2; return 1
}

# start_ensemble KIND N: N servers of one kind (apache|sharp) on loopback, forceSync on, in
# $work/KIND-I; sets client_ports, server_pids (also added to $pids) and connect; waits until formed.
start_ensemble() { # kind count
  local kind=$1 count=$2 servers="" i dir
  client_ports=(); server_pids=(); server_dirs=()
  for i in $(seq 1 "$count"); do
    client_ports+=("$(free_port)")
    servers+="server.$i=127.0.0.1:$(free_port):$(free_port)"$'\n'
  done
  for i in $(seq 1 "$count"); do
    dir="$work/$kind-$i"; mkdir -p "$dir/data"; echo "$i" >"$dir/data/myid"; server_dirs+=("$dir")
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
    start_server "$kind" "$i"
  done
  wait_ensemble "${client_ports[@]}"
  connect=$(printf '127.0.0.1:%s,' "${client_ports[@]}"); connect=${connect%,}
}

# start_server KIND I: (re)starts server I of the ensemble start_ensemble made.
start_server() { # kind index
  local dir="${server_dirs[$(($2 - 1))]}"
  if [ "$1" = apache ]; then
    java -Dzookeeper.forceSync=yes -cp "/etc/zookeeper/conf_example:/usr/share/java/zookeeper.jar" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
  else
    dotnet src/SharpKeeper/bin/Release/net10.0/sharpkeeper.dll start-foreground "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
  fi
  pids+=("$!"); server_pids[$(($2 - 1))]=$!
}

stop_ensemble() {
  for pid in "${server_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
