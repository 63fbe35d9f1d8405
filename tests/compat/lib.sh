# Shared by the bash compat suites (source it): argument parsing and the PASS/FAIL convention.
#   parse_server "$@"      sets SERVER from `--server HOST:PORT` (exits 2 on bad usage);
#                          with COMPAT_SERVER_LIST=1 set first, HOST:PORT[,HOST:PORT...] is accepted
#   pass NAME / fail NAME REASON
#   summary                prints "N passed, M failed"; returns non-zero when anything failed

COMPAT_PASSED=0
COMPAT_FAILED=0
SERVER=""

parse_server() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --server) SERVER=${2:-}; shift 2 || break ;;
      --server=*) SERVER=${1#--server=}; shift ;;
      *) break ;;
    esac
  done
  local one='[^:/,]+:[0-9]+' list=""
  [ "${COMPAT_SERVER_LIST:-0}" = 1 ] && list="(,$one)*"
  if ! [[ "$SERVER" =~ ^$one$list$ ]]; then
    echo "usage: $0 --server HOST:PORT${list:+[,HOST:PORT...]}" >&2
    exit 2
  fi
}

pass() {
  COMPAT_PASSED=$((COMPAT_PASSED + 1))
  echo "PASS $1"
}

fail() {
  COMPAT_FAILED=$((COMPAT_FAILED + 1))
  echo "FAIL $1: $2"
}

summary() {
  echo "$COMPAT_PASSED passed, $COMPAT_FAILED failed"
  [ "$COMPAT_FAILED" -eq 0 ] && [ "$COMPAT_PASSED" -gt 0 ]
}

# A unique, valid znode name for this run.
unique_name() {
  printf '%s-%s-%04x%04x' "$1" "$$" "$RANDOM" "$RANDOM"
}
