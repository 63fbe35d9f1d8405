#!/usr/bin/env bash
# Drives the C client's cli_mt (Debian package zookeeper-bin) against a server.
# Usage: climt_compat.sh --server HOST:PORT
set -uo pipefail
[ "${1:-}" = "--server" ] && [ -n "${2:-}" ] || { echo "usage: $0 --server HOST:PORT" >&2; exit 2; }
server=$2
cli=/usr/lib/zookeeper/bin/cli_mt
node="/climt-compat-$$-$RANDOM"
work=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

mkfifo "$work/in"
"$cli" "$server" <"$work/in" >"$work/out" 2>&1 &
pid=$!
exec 3>"$work/in"
printf 'create %s\nset %s hello\nget %s\ncreate %s/kid\nls %s\ndelete %s/kid\ndelete %s\nexists %s\n' \
  "$node" "$node" "$node" "$node" "$node" "$node" "$node" "$node" >&3

# The client is asynchronous: wait (with a deadline) for the answer to the last command.
deadline=$((SECONDS + 30))
until grep -q "Error -101 for $node" "$work/out" || [ $SECONDS -ge $deadline ]; do
  sleep 0.1
done
echo quit >&3
exec 3>&-
wait "$pid" 2>/dev/null

passed=0
failed=0
expect() { # name, fixed string
  if grep -qF -- "$2" "$work/out"; then
    echo "PASS $1"; passed=$((passed + 1))
  else
    echo "FAIL $1: '$2' not in output"; failed=$((failed + 1))
  fi
}
expect connect        "Watcher SESSION_EVENT state = CONNECTED_STATE"
expect create         "name = $node"
expect set-get        "hello"
expect get-version    "version=1"
expect create-child   "name = $node/kid"
expect ls             "	kid"
expect child-watch    "Watcher CHILD_EVENT state = CONNECTED_STATE for path $node"
expect delete-watch   "Watcher DELETED_EVENT state = CONNECTED_STATE for path $node"
expect exists-missing "Error -101 for $node"
if [ "$failed" -ne 0 ]; then
  echo "--- cli_mt output ---"; cat "$work/out"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
