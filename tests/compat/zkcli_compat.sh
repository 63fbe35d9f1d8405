#!/usr/bin/env bash
# Debian's Java zkCli.sh, one non-interactive command per JVM, checking output and exit status.
# Usage: zkcli_compat.sh --server HOST:PORT
# CLIENT_SECURITY_FLAGS: -D flags for TLS or SASL (zookeeper.client.secure, ssl.*, the JAAS file).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
parse_server "$@"

ZKCLI=${ZKCLI:-/usr/share/zookeeper/bin/zkCli.sh}
CMD_TIMEOUT=${CMD_TIMEOUT:-30}
[ -x "$ZKCLI" ] || { echo "FAIL setup: $ZKCLI not found (install zookeeper)"; echo "0 passed, 1 failed"; exit 1; }

root="/$(unique_name zkcli-compat)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# zkEnv.sh fixes CLASSPATH to zookeeper.jar alone (slf4j without a binding); the launcher honours
# the last -cp, so add log4j 1.2 with a WARN configuration and silence the exit notice.
cat >"$work/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, STDERR
log4j.logger.org.apache.zookeeper.util.ServiceUtils=OFF
log4j.appender.STDERR=org.apache.log4j.ConsoleAppender
log4j.appender.STDERR.Target=System.err
log4j.appender.STDERR.layout=org.apache.log4j.PatternLayout
log4j.appender.STDERR.layout.ConversionPattern=%-5p %c{1} - %m%n
EOF
jars=/usr/share/java
# Netty too: the Java client's TLS runs on it, and Debian's zookeeper.jar does not list all of it.
netty=$(printf "$jars/netty-%s.jar:" buffer codec common handler resolver transport transport-native-epoll transport-native-unix-common)
export CLIENT_JVMFLAGS="-cp $work:$jars/zookeeper.jar:$netty$jars/slf4j-log4j12.jar:$jars/log4j-1.2.jar -Dlog4j.configuration=file:$work/log4j.properties -Xmx128m -XX:TieredStopAtLevel=1 ${CLIENT_SECURITY_FLAGS:-}"

# zkcli ARGS...: runs one command; sets OUT (banner lines removed) and RC.
zkcli() {
  OUT=$(timeout "$CMD_TIMEOUT" "$ZKCLI" -server "$SERVER" "$@" 2>&1 </dev/null)
  RC=$?
  OUT=$(grep -v -E '^(Connecting to .*|WATCHER::|WatchedEvent state:SyncConnected type:None path:null|SLF4J: .*|)$' <<<"$OUT")
}

# check NAME RC_EXPECT(ok|error) LINE-REGEX... -- COMMAND...: each regex must match a whole line.
check() {
  local name=$1 want=$2 patterns=() p
  shift 2
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do patterns+=("$1"); shift; done
  shift
  zkcli "$@"
  if [ "$RC" -eq 124 ]; then
    fail "$name" "'$*' timed out after ${CMD_TIMEOUT}s"; return
  fi
  if [ "$want" = ok ] && [ "$RC" -ne 0 ]; then
    fail "$name" "'$*' exited $RC: $(tr '\n' '|' <<<"$OUT")"; return
  fi
  if [ "$want" = error ] && [ "$RC" -eq 0 ]; then
    fail "$name" "'$*' exited 0 but should fail: $(tr '\n' '|' <<<"$OUT")"; return
  fi
  for p in "${patterns[@]}"; do
    if ! grep -qxE -- "$p" <<<"$OUT"; then
      fail "$name" "'$*': no line /$p/ in: $(tr '\n' '|' <<<"$OUT")"; return
    fi
  done
  pass "$name"
}

check create            ok    "Created $root"                                   -- create "$root" hello
if [ "$COMPAT_FAILED" -ne 0 ]; then
  summary; exit 1  # nothing else can work; do not spend a JVM start per check on it
fi
check get               ok    "hello"                                           -- get "$root"
check set-stat          ok    "dataVersion = 1" "dataLength = 5" "aclVersion = 0" -- set -s "$root" world
check create-sequential ok    "Created $root/seq-0000000000"                    -- create -s "$root/seq-" data
# zkCli exits without closing its session, so the ephemeral lives on until the session times out.
check create-ephemeral  ok    "Created $root/eph"                               -- create -e "$root/eph" data
check stat-ephemeral    ok    "cZxid = 0x[0-9a-f]+" "dataVersion = 0" "dataLength = 4" "ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*" -- stat "$root/eph"
check ls                ok    "\[eph, seq-0000000000\]"                        -- ls "$root"
check ls-stat           ok    "\[eph, seq-0000000000\]" "numChildren = 2" "cversion = 2" "dataVersion = 1" "ephemeralOwner = 0x0" -- ls -s "$root"
check setAcl            ok    "aclVersion = 1" "dataVersion = 1"                -- setAcl -s "$root" world:anyone:rcd
check getAcl            ok    "'world,'anyone" ": cdr"                          -- getAcl "$root"
check set-denied        error "Insufficient permission : $root"                 -- set "$root" denied
check delete-nonempty   error "Node not empty: $root"                           -- delete "$root"
check deleteall         ok                                                      -- deleteall "$root"
check get-deleted       error "Node does not exist: $root"                      -- get "$root"

summary
