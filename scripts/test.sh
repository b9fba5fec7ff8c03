#!/usr/bin/env bash
# Every test: unit tests (no root), integration tests in network namespaces (root; skipped with
# a reason otherwise), the fuzz smoke run and the sanitizer build. The README's second command.
#   scripts/test.sh            everything
#   scripts/test.sh --quick    unit and integration tests only (one build, no sanitizers, no fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ ${1:-} == --quick ]] && quick=1

if [[ $(id -u) -eq 0 ]]; then
  scripts/install-deps.sh
fi

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNDPSYNC_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure)

if [[ $quick -eq 1 ]]; then
  exit 0
fi

if [[ -x bench/run.sh ]]; then
  echo "== benchmark harness, quick mode (figures only, no thresholds)"
  bench/run.sh --quick --out build/bench-quick
fi
