#!/usr/bin/env bash
# Every config key the binary knows is documented in docs/configuration.md, and every skip
# reason code in docs/status.md. Runs without root.
set -euo pipefail
ndpsync=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
missing=0
while IFS=$'\t' read -r key _; do
  if ! grep -q "^| \`$key\` |" "$repo/docs/configuration.md"; then
    echo "docs/configuration.md does not document key '$key'"
    missing=1
  fi
done < <("$ndpsync" config-keys)
for reason in $(sed -n 's/.*case SkipReason::k[A-Za-z]*: return "\([a-z-]*\)";/\1/p' "$repo/src/core/policy.cpp"); do
  if ! grep -q "\`$reason\`" "$repo/docs/status.md"; then
    echo "docs/status.md does not document reason '$reason'"
    missing=1
  fi
done
[[ $missing -eq 0 ]] && echo "docs cover every config key and reason code"
exit $missing
