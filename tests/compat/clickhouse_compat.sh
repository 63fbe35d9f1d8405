#!/usr/bin/env bash
# ClickHouse 18.16 (Debian's clickhouse-server and clickhouse-client), whose server has a ZooKeeper
# client of its own, as a real client of the server(s) under test. Starts two ClickHouse servers
# itself on free 127.0.0.1 ports: replicas r1 and r2 of one shard of cluster `compat`, both with
# <zookeeper> naming every server given, and checks replicated tables (inserts both ways,
# replicated ALTER), system.zookeeper, system.replicas and distributed DDL (ON CLUSTER).
# Usage: clickhouse_compat.sh --server HOST:PORT[,HOST:PORT...]
#
# CH_START_TIMEOUT (default 60) bounds each server's start-up, CH_WAIT_TIMEOUT (default 60) each
# wait for an expected answer, CH_QUERY_TIMEOUT (default 60) each clickhouse-client call, and
# CH_SUITE_TIMEOUT (default 240) all the waiting: past it each remaining check is tried once.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

COMPAT_SERVER_LIST=1
parse_server "$@"

CH_SERVER=${CH_SERVER:-/usr/sbin/clickhouse-server}
CH_CLIENT=${CH_CLIENT:-/usr/bin/clickhouse-client}
START_TIMEOUT=${CH_START_TIMEOUT:-60}
WAIT_TIMEOUT=${CH_WAIT_TIMEOUT:-60}
QUERY_TIMEOUT=${CH_QUERY_TIMEOUT:-60}
SUITE_TIMEOUT=${CH_SUITE_TIMEOUT:-240}
for binary in "$CH_SERVER" "$CH_CLIENT"; do
  [ -x "$binary" ] || { echo "FAIL setup: $binary not found (install clickhouse-server and clickhouse-client: tests/compat/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done

root="/$(unique_name clickhouse-compat)"
table_path="$root/tables/t"
cluster=compat
work=$(mktemp -d "${TMPDIR:-/tmp}/clickhouse-compat.XXXXXX")
replicas=(r1 r2)
declare -A pid=() tcp_port=() http_port=()

# ---- ClickHouse servers -------------------------------------------------------------------------

zookeeper_nodes() {
  local i=0 node nodes
  IFS=',' read -r -a nodes <<<"$SERVER"
  for node in "${nodes[@]}"; do
    i=$((i + 1))
    printf '    <node index="%d"><host>%s</host><port>%s</port></node>\n' "$i" "${node%:*}" "${node##*:}"
  done
}

# write_config REPLICA: config.xml and users.xml in $work/REPLICA; needs every tcp_port.
write_config() {
  local r=$1 dir="$work/$1"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log"
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>$dir/log/server.log</log>
    <errorlog>$dir/log/server.err.log</errorlog>
    <size>100M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>${tcp_port[$r]}</tcp_port>
  <interserver_http_port>${http_port[$r]}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/data/user_files/</user_files_path>
  <format_schema_path>$dir/data/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
  <zookeeper>
$(zookeeper_nodes)
    <session_timeout_ms>30000</session_timeout_ms>
  </zookeeper>
  <macros>
    <shard>01</shard>
    <replica>$r</replica>
  </macros>
  <remote_servers>
    <$cluster>
      <shard>
        <internal_replication>true</internal_replication>
        <replica><host>127.0.0.1</host><port>${tcp_port[r1]}</port></replica>
        <replica><host>127.0.0.1</host><port>${tcp_port[r2]}</port></replica>
      </shard>
    </$cluster>
  </remote_servers>
  <distributed_ddl>
    <path>$root/task_queue/ddl</path>
  </distributed_ddl>
</yandex>
EOF
  cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
EOF
}

# chq PORT QUERY: one clickhouse-client call; sets OUT (stdout and stderr) and RC.
chq() {
  OUT=$(timeout --kill-after=5 "$QUERY_TIMEOUT" "$CH_CLIENT" --host 127.0.0.1 --port "$1" \
    --connect_timeout 5 --receive_timeout "$QUERY_TIMEOUT" --send_timeout "$QUERY_TIMEOUT" \
    --distributed_ddl_task_timeout "$QUERY_TIMEOUT" --query "$2" 2>&1 </dev/null)
  RC=$?
}

# on REPLICA QUERY: chq against one replica.
on() { chq "${tcp_port[$1]}" "$2"; }

oneline() { tr '\n' '|' <<<"$1" | cut -c1-600; }

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_server() {
  local r=$1 p=${pid[$1]:-} deadline
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null
  deadline=$((SECONDS + 30))
  while alive "$p" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  if alive "$p"; then
    echo "clickhouse_compat: $r (pid $p) did not stop within 30s; killing it" >&2
    kill -KILL "$p" 2>/dev/null
  fi
  wait "$p" 2>/dev/null
  pid[$r]=""
}

# start_servers: picks ports, writes both configurations, starts both servers and waits (bounded)
# until each answers on its TCP port. False (servers stopped) when one does not come up.
start_servers() {
  local r deadline
  for r in "${replicas[@]}"; do
    tcp_port[$r]=$("$here/free-port.sh")
    http_port[$r]=$("$here/free-port.sh")
  done
  for r in "${replicas[@]}"; do
    rm -rf "${work:?}/$r"
    write_config "$r"
    (cd "$work/$r" && exec "$CH_SERVER" --config-file="$work/$r/config.xml") >"$work/$r/log/stdout.log" 2>&1 </dev/null &
    pid[$r]=$!
  done
  for r in "${replicas[@]}"; do
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
      on "$r" "SELECT version()"
      [ "$RC" -eq 0 ] && break
      if ! alive "${pid[$r]}" || [ $SECONDS -ge $deadline ]; then
        START_ERROR="$r did not answer on 127.0.0.1:${tcp_port[$r]} (pid ${pid[$r]} $(alive "${pid[$r]}" && echo "still starting after ${START_TIMEOUT}s" || echo exited)): $(oneline "$OUT") log: $(tail -q -n 5 "$work/$r/log/server.err.log" "$work/$r/log/stdout.log" 2>/dev/null | tr '\n' '|')"
        stop_server r1
        stop_server r2
        return 1
      fi
      sleep 0.2
    done
  done
}

# Removes this run's znodes (ClickHouse leaves the distributed DDL queue behind) with kazoo.
remove_root() {
  [ -n "$root" ] || return 0
  timeout --kill-after=5 60 /usr/bin/python3 - "$SERVER" "$root" <<'EOF' >/dev/null 2>&1 || echo "clickhouse_compat: could not remove $root" >&2
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=30)
try:
    zk.delete(sys.argv[2], recursive=True)
except Exception as e:
    if type(e).__name__ != "NoNodeError":
        raise
finally:
    zk.stop()
    zk.close()
EOF
  root=""
}

cleanup() {
  local r
  trap '' INT TERM # a second signal must not cut the clean-up short
  for r in "${replicas[@]}"; do stop_server "$r"; done
  remove_root
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- checks -------------------------------------------------------------------------------------

# poll_until REPLICA QUERY EXPECTED: true once QUERY on REPLICA prints exactly EXPECTED (within
# WAIT_TIMEOUT seconds, or before $wait_until when set, and before the suite's deadline); OUT holds
# the last answer.
wait_until=""
poll_until() {
  local deadline=${wait_until:-$((SECONDS + WAIT_TIMEOUT))}
  [ "$deadline" -le "$suite_deadline" ] || deadline=$suite_deadline
  while :; do
    on "$1" "$2"
    [ "$RC" -eq 0 ] && [ "$OUT" = "$3" ] && return 0
    [ $SECONDS -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

# expect NAME REPLICA QUERY EXPECTED: one PASS/FAIL for a polled answer.
expect() {
  if poll_until "$2" "$3" "$4"; then
    pass "$1"
  else
    fail "$1" "on $2: '$3' gave '$(oneline "$OUT")' (exit $RC), expected '$(oneline "$4")' within ${WAIT_TIMEOUT}s"
  fi
}

# run_ok NAME REPLICA QUERY: true when QUERY succeeds; otherwise one FAIL line.
run_ok() {
  on "$2" "$3"
  [ "$RC" -eq 0 ] && return 0
  fail "$1" "on $2: '$3' exited $RC: $(oneline "$OUT")"
  return 1
}

started=$SECONDS
suite_deadline=$((SECONDS + SUITE_TIMEOUT))
attempt=1
START_ERROR=""
until start_servers; do
  # A port picked as free can be taken before the server binds it: pick new ones (twice at most).
  if [ $attempt -ge 3 ]; then
    fail setup "$START_ERROR"
    summary
    exit 1
  fi
  attempt=$((attempt + 1))
done
on r1 "SELECT version()"
version=$OUT
echo "ClickHouse $version: r1 on 127.0.0.1:${tcp_port[r1]} (pid ${pid[r1]}), r2 on 127.0.0.1:${tcp_port[r2]} (pid ${pid[r2]}), ZooKeeper $SERVER, root $root (started in $((SECONDS - started))s)"

# print_server_errors: the last errors and warnings each ClickHouse server logged.
print_server_errors() {
  for r in "${replicas[@]}"; do
    echo "--- $r: last errors in its server.err.log ---"
    grep -E '<(Fatal|Error|Warning)>' "$work/$r/log/server.err.log" 2>/dev/null | tail -n 10 | cut -c1-500
  done
}

# The ZooKeeper session: system.zookeeper reads through each server's own client (both servers
# connect at once, so they share one wait). Without a session nothing else can pass.
wait_until=$((SECONDS + WAIT_TIMEOUT))
for r in "${replicas[@]}"; do
  expect "zookeeper-session-$r" "$r" "SELECT count() > 0 FROM system.zookeeper WHERE path = '/'" 1
done
wait_until=""
if [ "$COMPAT_FAILED" -gt 0 ]; then
  echo "no ZooKeeper session: the other checks are not run"
  print_server_errors
  summary
  exit 1
fi

# One ReplicatedMergeTree table, same ZooKeeper path, replica name from <macros>.
created=1
for r in "${replicas[@]}"; do
  if ! run_ok "create-replicated-table" "$r" \
    "CREATE TABLE t (id UInt32, src String) ENGINE = ReplicatedMergeTree('$table_path', '{replica}') ORDER BY id"; then
    created=0
    break
  fi
done
if [ $created -eq 1 ]; then
  pass create-replicated-table
fi

# system.zookeeper lists the replicas, their ephemeral is_active nodes and the table metadata.
for r in "${replicas[@]}"; do
  expect "system-zookeeper-replicas-$r" "$r" \
    "SELECT name FROM system.zookeeper WHERE path = '$table_path/replicas' ORDER BY name" $'r1\nr2'
done
for r in "${replicas[@]}"; do
  expect "system-zookeeper-is-active-$r" r1 \
    "SELECT ephemeralOwner != 0 FROM system.zookeeper WHERE path = '$table_path/replicas/$r' AND name = 'is_active'" 1
done
expect system-zookeeper-metadata r2 \
  "SELECT value LIKE '%columns format version%' AND value LIKE '%\`src\` String%' FROM system.zookeeper WHERE path = '$table_path' AND name = 'columns'" 1

# Inserts on either replica reach the other (parts fetched over the interserver port after the
# replication log entry written to ZooKeeper is seen through a watch).
if run_ok insert-r1-to-r2 r1 "INSERT INTO t VALUES (1, 'r1'), (2, 'r1'), (3, 'r1')"; then
  on r2 "SYSTEM SYNC REPLICA t"
  expect insert-r1-to-r2 r2 "SELECT count(), sum(id) FROM t WHERE src = 'r1'" $'3\t6'
fi
if run_ok insert-r2-to-r1 r2 "INSERT INTO t VALUES (10, 'r2'), (20, 'r2')"; then
  on r1 "SYSTEM SYNC REPLICA t"
  expect insert-r2-to-r1 r1 "SELECT count(), sum(id) FROM t WHERE src = 'r2'" $'2\t30'
fi
# Both replicas hold the same rows.
expect same-rows-r1 r1 "SELECT groupArray(id) FROM (SELECT id FROM t ORDER BY id)" "[1,2,3,10,20]"
expect same-rows-r2 r2 "SELECT groupArray(id) FROM (SELECT id FROM t ORDER BY id)" "[1,2,3,10,20]"

# A second insert of the same block is deduplicated through the block hashes kept in ZooKeeper.
if run_ok insert-dedup r2 "INSERT INTO t VALUES (1, 'r1'), (2, 'r1'), (3, 'r1')"; then
  on r1 "SYSTEM SYNC REPLICA t"
  expect insert-dedup r1 "SELECT count() FROM t" 5
fi

# system.replicas: healthy on both once the queues are empty.
for r in "${replicas[@]}"; do
  on "$r" "SYSTEM SYNC REPLICA t"
  expect "system-replicas-$r" "$r" \
    "SELECT is_readonly, is_session_expired, queue_size, total_replicas, active_replicas FROM system.replicas WHERE database = currentDatabase() AND table = 't'" \
    $'0\t0\t0\t2\t2'
done

# ALTER on one replica reaches the other through the shared metadata in ZooKeeper.
if run_ok replicated-alter-add-column r1 "ALTER TABLE t ADD COLUMN note UInt16 DEFAULT 7"; then
  expect replicated-alter-add-column r2 \
    "SELECT type, default_kind FROM system.columns WHERE database = currentDatabase() AND table = 't' AND name = 'note'" \
    $'UInt16\tDEFAULT'
fi
if run_ok replicated-alter-insert r2 "INSERT INTO t (id, src, note) VALUES (100, 'r2', 42)"; then
  on r1 "SYSTEM SYNC REPLICA t"
  expect replicated-alter-insert r1 "SELECT groupArray(note) FROM (SELECT note FROM t WHERE id IN (1, 100) ORDER BY id)" "[7,42]"
fi
if run_ok replicated-alter-drop-column r2 "ALTER TABLE t DROP COLUMN note"; then
  expect replicated-alter-drop-column r1 \
    "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 't' AND name = 'note'" 0
fi

# Distributed DDL: a query ON CLUSTER is queued in ZooKeeper and run by every instance's DDL worker.
if run_ok distributed-ddl-create r1 "CREATE TABLE d ON CLUSTER $cluster (id UInt32) ENGINE = MergeTree ORDER BY id"; then
  expect distributed-ddl-create-r1 r1 "EXISTS TABLE d" 1
  expect distributed-ddl-create-r2 r2 "EXISTS TABLE d" 1
fi
if run_ok distributed-ddl-drop r2 "DROP TABLE d ON CLUSTER $cluster"; then
  expect distributed-ddl-drop-r1 r1 "EXISTS TABLE d" 0
  expect distributed-ddl-drop-r2 r2 "EXISTS TABLE d" 0
fi
# A replicated table created ON CLUSTER; an ALTER ON CLUSTER of a replicated table runs on one
# replica of the shard (the DDL workers take a lock in ZooKeeper) and reaches the other by replication.
if run_ok distributed-ddl-create-replicated r1 \
  "CREATE TABLE dr ON CLUSTER $cluster (id UInt32) ENGINE = ReplicatedMergeTree('$root/tables/dr', '{replica}') ORDER BY id"; then
  expect distributed-ddl-create-replicated r2 \
    "SELECT name FROM system.zookeeper WHERE path = '$root/tables/dr/replicas' ORDER BY name" $'r1\nr2'
fi
if run_ok distributed-ddl-alter r2 "ALTER TABLE dr ON CLUSTER $cluster ADD COLUMN v UInt8 DEFAULT 5"; then
  for r in "${replicas[@]}"; do
    expect "distributed-ddl-alter-$r" "$r" \
      "SELECT type FROM system.columns WHERE database = currentDatabase() AND table = 'dr' AND name = 'v'" UInt8
  done
fi
if run_ok distributed-ddl-insert r1 "INSERT INTO dr (id) VALUES (1), (2)"; then
  on r2 "SYSTEM SYNC REPLICA dr"
  expect distributed-ddl-insert r2 "SELECT count(), sum(v) FROM dr" $'2\t10'
fi
expect distributed-ddl-queue r1 "SELECT count() >= 3 FROM system.zookeeper WHERE path = '$root/task_queue/ddl'" 1
if run_ok distributed-ddl-drop-replicated r1 "DROP TABLE dr ON CLUSTER $cluster"; then
  expect distributed-ddl-drop-replicated-r1 r1 "EXISTS TABLE dr" 0
  expect distributed-ddl-drop-replicated-r2 r2 "EXISTS TABLE dr" 0
  expect distributed-ddl-drop-replicated-zk r1 "SELECT count() FROM system.zookeeper WHERE path = '$root/tables' AND name = 'dr'" 0
fi

# Dropping the table removes each replica's znodes, and the last one the table's.
if run_ok drop-replicated-table r2 "DROP TABLE t"; then
  expect drop-replicated-table-r2 r1 \
    "SELECT name FROM system.zookeeper WHERE path = '$table_path/replicas' ORDER BY name" r1
  if run_ok drop-replicated-table r1 "DROP TABLE t"; then
    expect drop-replicated-table-last r1 "SELECT count() FROM system.zookeeper WHERE path = '$root/tables' AND name = 't'" 0
  fi
fi

if [ "$COMPAT_FAILED" -gt 0 ]; then
  print_server_errors
fi
for r in "${replicas[@]}"; do stop_server "$r"; done
remove_root
echo "took $((SECONDS - started))s"
summary
