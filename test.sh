#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian's Apache ZooKeeper, kazoo, Curator, the C
# client), checks formatting, builds with warnings as errors, then runs all test projects.
set -euo pipefail
cd "$(dirname "$0")"

bash tests/compat/install-deps.sh
dotnet build SharpKeeper.slnx -c Release -warnaserror -nologo -v quiet
dotnet format SharpKeeper.slnx --verify-no-changes --no-restore
rm -rf artifacts/test-results
status=0
# One test project at a time: the simulations are CPU-heavy, and the integration tests' servers
# (real processes, timing-sensitive differential checks) must not be starved of the two cores.
dotnet test SharpKeeper.slnx -c Release --no-build -nologo -m:1 \
  --logger "trx" --logger "console;verbosity=minimal" \
  --results-directory artifacts/test-results || status=$?
python3 tests/summarize-trx.py artifacts/test-results
exit $status
