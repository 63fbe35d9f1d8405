#!/usr/bin/env bash
# Drives Debian's Java zkCli.sh non-interactively against a server and checks its output.
# Usage: zkcli_compat.sh --server HOST:PORT
set -uo pipefail
[ "${1:-}" = "--server" ] && [ -n "${2:-}" ] || { echo "usage: $0 --server HOST:PORT" >&2; exit 2; }
server=$2
cli=/usr/share/zookeeper/bin/zkCli.sh
root="/zkcli-compat-$$-$RANDOM"
passed=0
failed=0
# Keep the JVM quiet: only the command output matters.
export CLIENT_JVMFLAGS="-Dzookeeper.log.threshold=ERROR -Dlog4j.configuration=file:/etc/zookeeper/conf_example/log4j.properties"
export ZOO_LOG4J_PROP="ERROR,CONSOLE"

run() { timeout 60 "$cli" -server "$server" "$@" 2>&1 | grep -v -E '^(Connecting to|WATCHER::|WatchedEvent|$)|log4j|SLF4J'; }

expect() { # name, expected regex, command...
  local name=$1 pattern=$2; shift 2
  local out
  out=$(run "$@")
  if grep -qE -- "$pattern" <<<"$out"; then
    echo "PASS $name"; passed=$((passed + 1))
  else
    echo "FAIL $name: expected /$pattern/ in:"; sed 's/^/    /' <<<"$out"; failed=$((failed + 1))
  fi
}

expect create            "Created $root"                  create "$root" "hello"
expect get               "^hello$"                         get "$root"
expect set-and-stat      "dataVersion = 1"                 set -s "$root" "world"
expect get-stat          "dataLength = 5"                  get -s "$root"
expect create-sequential "Created $root/s-0000000000"      create -s "$root/s-" ""
expect create-ephemeral  "Created $root/e"                 create -e "$root/e" ""
expect ls                "s-0000000000"                    ls "$root"
expect ls-stat           "numChildren = 2"                 ls -s "$root"
expect setAcl-getAcl     "'world,'anyone"                  getAcl "$root"
expect setAcl            "aclVersion = 1"                  setAcl -s "$root" "world:anyone:cdrwa"
expect delete-nonempty   "Node not empty"                  delete "$root"
expect deleteall         "^$|Node does not exist|^\s*$"    deleteall "$root"
expect gone              "Node does not exist"             get "$root"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
