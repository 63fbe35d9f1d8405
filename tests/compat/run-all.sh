#!/usr/bin/env bash
# Runs every real-client compatibility suite against one server and prints an overall summary.
#
#   run-all.sh --server HOST:PORT      against a running server (SharpKeeper or anything else)
#   run-all.sh --apache                starts Debian's Apache ZooKeeper 3.8 on a free port first
#                                      (apache-zk.sh), stops it on exit
#   --only kazoo,zkcli,climt,curator,clickhouse
#                                      a subset (default: all, in that order)
#
# Each suite prints PASS/FAIL lines and "N passed, M failed"; a suite fails when it exits
# non-zero, times out (SUITE_TIMEOUT seconds, default 600) or prints no summary line.
# Exit status: 0 when every suite passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

server=""
apache=0
only="kazoo,zkcli,climt,curator,clickhouse"
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=${2:-}; shift 2 || break ;;
    --server=*) server=${1#--server=}; shift ;;
    --apache) apache=1; shift ;;
    --only) only=${2:-}; shift 2 || break ;;
    --only=*) only=${1#--only=}; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if [ "$apache" -eq 1 ] && [ -n "$server" ]; then
  echo "give --server or --apache, not both" >&2; exit 2
fi
if [ "$apache" -eq 0 ] && ! [[ "$server" =~ ^[^:/]+:[0-9]+$ ]]; then
  echo "usage: $0 --server HOST:PORT | --apache  [--only kazoo,zkcli,climt,curator,clickhouse]" >&2; exit 2
fi

SUITE_TIMEOUT=${SUITE_TIMEOUT:-600}
work=$(mktemp -d)
zk_dir=""
suite_pid=""
cleanup() {
  if [ -n "$suite_pid" ]; then
    kill -- "-$suite_pid" 2>/dev/null || kill "$suite_pid" 2>/dev/null
    wait "$suite_pid" 2>/dev/null
  fi
  if [ -n "$zk_dir" ]; then
    "$here/apache-zk.sh" stop "$zk_dir" || echo "run-all: could not stop Apache ZooKeeper in $zk_dir" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$SECONDS
if [ "$apache" -eq 1 ]; then
  zk_dir="$work/apache-zk"
  port=$("$here/free-port.sh")
  if ! "$here/apache-zk.sh" start "$zk_dir" "$port"; then
    echo "run-all: Apache ZooKeeper did not start" >&2
    exit 1
  fi
  server="127.0.0.1:$port"
  echo "Apache ZooKeeper 3.8 (Debian) on $server, pid $(cat "$zk_dir/zk.pid")"
fi

declare -A commands=(
  [kazoo]="/usr/bin/python3 $here/kazoo_compat.py"
  [zkcli]="bash $here/zkcli_compat.sh"
  [climt]="bash $here/climt_compat.sh"
  [curator]="bash $here/curator_compat.sh"
  [clickhouse]="bash $here/clickhouse_compat.sh"
)
declare -A titles=(
  [kazoo]="python3-kazoo"
  [zkcli]="zkCli.sh (Java CLI)"
  [climt]="cli_mt (C client)"
  [curator]="Apache Curator"
  [clickhouse]="ClickHouse 18.16"
)

total_passed=0
total_failed=0
bad_suites=()
report=()
IFS=',' read -r -a suites <<<"$only"
for suite in "${suites[@]}"; do
  if [ -z "${commands[$suite]:-}" ]; then
    echo "unknown suite '$suite' (kazoo, zkcli, climt, curator, clickhouse)" >&2; exit 2
  fi
  echo
  echo "=== $suite: ${titles[$suite]} against $server ==="
  log="$work/$suite.log"
  suite_start=$SECONDS
  # timeout runs the suite in its own process group (so killing -PID stops all of it) and bounds it.
  # shellcheck disable=SC2086
  timeout --kill-after=10 "$SUITE_TIMEOUT" ${commands[$suite]} --server "$server" >"$log" 2>&1 </dev/null &
  suite_pid=$!
  tail -n +1 -s 0.2 -f --pid="$suite_pid" "$log" &
  tail_pid=$!
  wait "$suite_pid"
  status=$?
  suite_pid=""
  wait "$tail_pid"
  took=$((SECONDS - suite_start))
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    p=${line%% passed*}
    f=${line#*, }; f=${f%% failed}
  else
    p=0; f=1
  fi
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    note="timed out after ${SUITE_TIMEOUT}s"; f=$((f > 0 ? f : 1))
  elif [ -z "$line" ]; then
    note="no summary line (exit $status)"
  elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    note="exit $status"; f=1
  else
    note=""
  fi
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
  if [ "$status" -ne 0 ] || [ "$f" -ne 0 ]; then
    bad_suites+=("$suite")
  fi
  report+=("$(printf '%-10s %-22s %4d passed %3d failed %4ds %s' "$suite" "${titles[$suite]}" "$p" "$f" "$took" "$note")")
done

echo
echo "=== summary against $server ==="
printf '%s\n' "${report[@]}"
echo "TOTAL: $total_passed passed, $total_failed failed in $((SECONDS - started))s"
if [ ${#bad_suites[@]} -ne 0 ]; then
  echo "FAILED suites: ${bad_suites[*]}"
  exit 1
fi
echo "ALL SUITES PASSED"
