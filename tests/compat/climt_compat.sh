#!/usr/bin/env bash
# The ZooKeeper C client's cli_mt (Debian package zookeeper-bin), driven through its stdin one
# command at a time: each step sends a command and waits (bounded) for the expected output.
# Usage: climt_compat.sh --server HOST:PORT
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
parse_server "$@"

CLI=${CLI_MT:-/usr/lib/zookeeper/bin/cli_mt}
STEP_TIMEOUT=${STEP_TIMEOUT:-10}
[ -x "$CLI" ] || { echo "FAIL setup: $CLI not found (install zookeeper-bin)"; echo "0 passed, 1 failed"; exit 1; }

root="/$(unique_name climt-compat)"
work=$(mktemp -d)
cli_pid=""

stop_cli() {
  [ -n "$cli_pid" ] || return 0
  { echo quit >&3; } 2>/dev/null
  exec 3>&- 2>/dev/null
  local deadline=$((SECONDS + 10))
  while kill -0 "$cli_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  kill "$cli_pid" 2>/dev/null
  wait "$cli_pid" 2>/dev/null
  cli_pid=""
}
trap 'stop_cli; rm -rf "$work"' EXIT

# start_cli NAME: a cli_mt session whose output goes to $work/NAME.out; waits for CONNECTED.
start_cli() {
  out="$work/$1.out"
  rm -f "$work/in"
  mkfifo "$work/in"
  : >"$out"
  # stdbuf: cli_mt writes with stdio, which a file would otherwise buffer until exit.
  stdbuf -oL -eL "$CLI" "$SERVER" <"$work/in" >"$out" 2>&1 &
  cli_pid=$!
  exec 3>"$work/in"
  wait_output 0 "Watcher SESSION_EVENT state = CONNECTED_STATE" && grep -q "Got a new session id" "$out"
}

# wait_output OFFSET STRING...: true once every fixed STRING shows up in $out after byte OFFSET
# (a STRING starting with '=' must be a whole line). A STRING "X: rc = N" fails at once when
# "X: rc = " shows up with another code.
wait_output() {
  local offset=$1 deadline=$((SECONDS + STEP_TIMEOUT)) s missing new
  shift
  while :; do
    missing=""
    new=$(tail -c +$((offset + 1)) "$out")
    for s in "$@"; do
      if [ "${s:0:1}" = "=" ]; then
        grep -qxF -- "${s:1}" <<<"$new" || { missing=$s; break; }
      elif ! grep -qF -- "$s" <<<"$new"; then
        missing=$s
        if [[ "$s" == *": rc = "* ]] && grep -qF -- "${s%: rc = *}: rc = " <<<"$new"; then
          WAIT_MISSING=$s
          return 1
        fi
        break
      fi
    done
    [ -z "$missing" ] && return 0
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$cli_pid" 2>/dev/null; then
      WAIT_MISSING=$missing
      return 1
    fi
    sleep 0.05
  done
}

# step NAME COMMAND EXPECTED...: sends COMMAND (lines), passes once all EXPECTED strings appear.
step() {
  local name=$1 command=$2 offset
  shift 2
  offset=$(stat -c %s "$out")
  printf '%s\n' "$command" >&3
  if wait_output "$offset" "$@"; then
    pass "$name"
  else
    fail "$name" "'${command//$'\n'/; }': no '$WAIT_MISSING'; got: $(tail -c +$((offset + 1)) "$out" | tr '\t\n' ' |' | head -c 400)"
  fi
}

# Session 1: the data operations.
if start_cli first; then pass connect; else fail connect "no CONNECTED_STATE from $SERVER: $(head -c 300 "$out")"; summary; exit 1; fi

step create             "create $root"              "[$root]: rc = 0" "name = $root"
step create-existing    "create $root"              "[$root]: rc = -110"
step set                "set $root hello"           "$root: rc = 0 Stat:" "version=1"
step get                "get $root"                 "$root: rc = 0" "value_len = 5" "hello" "version=1"
step create-ephemeral   "create +e $root/eph"       "[$root/eph]: rc = 0" "name = $root/eph"
step create-sequential  "create +s $root/seq-"      "[$root/seq-]: rc = 0" "name = $root/seq-0000000001"
step create2-stat       "create2 $root/c2"          "[$root/c2]: rc = 0" "name = $root/c2" "version=0	aversion=0"
step ls                 "ls $root"                  "$root: rc = 0" "=	eph" "=	seq-0000000001" "=	c2"
step ls2                "ls2 $root"                 "$root: rc = 0" "=	c2" "=	version=1	aversion=0"
step delete-nonempty    "delete $root"              "$root: rc = -111"
step get-missing        "get $root/missing"         "$root/missing: rc = -101"
step exists-watch       "wexists $root/later"       "Error -101 for $root/later"
step created-event      "create $root/later"        "[$root/later]: rc = 0" "Watcher CREATED_EVENT state = CONNECTED_STATE for path $root/later"
step delete             "delete $root/later"        "$root/later: rc = 0"
step exists-after-delete "exists $root/later"       "Error -101 for $root/later"
step create-container   "create +c $root/container" "[$root/container]: rc = 0" "name = $root/container"
step create-ttl         "create +t=60000 $root/ttl" "[$root/ttl]: rc = 0" "name = $root/ttl"
first_out=$out
stop_cli

# Session 2: the first session's ephemeral went with it; then clean up.
if start_cli second; then
  step ephemeral-gone-after-close "get $root/eph" "$root/eph: rc = -101"
  deletes=""
  for child in "seq-0000000001" c2 container ttl; do
    deletes+="delete $root/$child"$'\n'
  done
  # Requests of one session are answered in order, so rc = 0 for the root also proves the
  # children's deletes were applied first.
  step delete-children-then-root "${deletes}delete $root" "$root: rc = 0"
  step get-deleted "get $root" "$root: rc = -101"
else
  fail reconnect "second cli_mt session did not connect"
fi
stop_cli

if [ "$COMPAT_FAILED" -ne 0 ]; then
  echo "--- cli_mt output (session 1) ---"; sed 's/^/    /' "$first_out"
  [ "$out" != "$first_out" ] && { echo "--- cli_mt output (session 2) ---"; sed 's/^/    /' "$out"; }
fi
summary
