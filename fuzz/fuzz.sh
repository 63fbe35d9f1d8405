#!/usr/bin/env bash
# Coverage-guided fuzzing of SharpKeeper's parsers with AFL++ (Debian's afl++) and SharpFuzz:
# builds the harness, instruments SharpKeeper's assemblies, then runs afl-fuzz on each target for
# a set time from its seed corpus (fuzz/corpus/TARGET) and prints execs/s, paths found and crashes.
#   fuzz/fuzz.sh [--seconds N] [TARGET...]     (default: 60 s for every target)
# Findings go to artifacts/fuzz/findings/TARGET; a crash is replayed with
#   dotnet fuzz/SharpKeeper.Fuzz/bin/Release/net10.0/sharpkeeper-fuzz.dll replay TARGET FILE   (not the instrumented copy)
# and, once fixed, kept in fuzz/regressions/TARGET (the test suite replays those).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
if [[ "${1:-}" == "--seconds" ]]; then
  seconds=$2
  shift 2
fi

out=artifacts/fuzz
command -v afl-fuzz >/dev/null || { echo "afl-fuzz is missing: apt-get install afl++" >&2; exit 1; }
dotnet build fuzz/SharpKeeper.Fuzz -c Release -nologo -v quiet
dotnet tool restore >/dev/null
rm -rf "$out/bin"
mkdir -p "$out/findings"
cp -r fuzz/SharpKeeper.Fuzz/bin/Release/net10.0 "$out/bin"
for assembly in SharpKeeper.Server.dll SharpKeeper.Protocol.dll; do
  dotnet tool run sharpfuzz "$out/bin/$assembly" >/dev/null
done

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(dotnet "$out/bin/sharpkeeper-fuzz.dll" list | awk '{print $1}')
fi

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
printf '%-24s %10s %9s %7s %7s\n' target execs execs/s paths crashes
status=0
for target in "${targets[@]}"; do
  findings="$out/findings/$target"
  rm -rf "$findings"
  afl-fuzz -i "fuzz/corpus/$target" -o "$findings" -V "$seconds" -t 10000 -m none \
    -- dotnet "$out/bin/sharpkeeper-fuzz.dll" run "$target" >"$out/$target.log" 2>&1 || {
    echo "afl-fuzz failed on $target; see $out/$target.log" >&2
    tail -20 "$out/$target.log" >&2
    status=1
    continue
  }
  stats="$findings/default/fuzzer_stats"
  value() { awk -F' *: *' -v key="$1" '$1 == key { print $2 }' "$stats"; }
  crashes=$(value saved_crashes)
  printf '%-24s %10s %9s %7s %7s\n' "$target" "$(value execs_done)" "$(value execs_per_sec)" "$(value corpus_count)" "$crashes"
  if [[ "$crashes" != "0" ]]; then
    status=1
    for crash in "$findings"/default/crashes/id*; do
      # Replayed by the uninstrumented build: instrumented code needs the fuzzer's shared memory.
      dotnet fuzz/SharpKeeper.Fuzz/bin/Release/net10.0/sharpkeeper-fuzz.dll replay "$target" "$crash" | grep -A3 CRASH || true
    done
  fi
done
exit $status
