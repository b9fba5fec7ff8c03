#!/usr/bin/env bash
# docs/configuration.md documents every config key the binary knows, with the type and default
# `ndpsync config-keys` prints, and no key it does not know; docs/status.md documents every skip
# reason code. Runs without root; needs jq.
set -euo pipefail
ndpsync=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
doc=$repo/docs/configuration.md
command -v jq >/dev/null || { echo "check_docs.sh needs jq"; exit 1; }
missing=0

# The docs' key table: "| `key` | type | default | meaning | option |", backticks dropped.
documented=$(awk -F' [|] ' '/^[|] `[a-z_]*` [|]/ {
    key = $1; sub(/^[|] /, "", key)
    printf "%s\t%s\t%s\n", key, $2, $3 }' "$doc" | tr -d '`')
known=$("$ndpsync" config-keys --json | jq -r '.[] | [.key, .type, .default] | @tsv')

while IFS=$'\t' read -r key type default; do
    row=$(awk -F'\t' -v k="$key" '$1 == k' <<<"$documented")
    if [[ -z $row ]]; then
        echo "docs/configuration.md does not document key '$key'"
        missing=1
        continue
    fi
    IFS=$'\t' read -r _ doc_type doc_default <<<"$row"
    if [[ $doc_type != "$type" ]]; then
        echo "docs/configuration.md: key '$key' has type '$doc_type'; config-keys says '$type'"
        missing=1
    fi
    if [[ $doc_default != "$default" ]]; then
        echo "docs/configuration.md: key '$key' has default '$doc_default'; config-keys says '$default'"
        missing=1
    fi
done <<<"$known"
while IFS=$'\t' read -r key _; do
    if ! awk -F'\t' -v k="$key" '$1 == k { found = 1 } END { exit !found }' <<<"$known"; then
        echo "docs/configuration.md documents key '$key', which ndpsync does not know"
        missing=1
    fi
done <<<"$documented"

for reason in $(sed -n 's/.*case SkipReason::k[A-Za-z]*: return "\([a-z-]*\)";/\1/p' "$repo/src/core/policy.cpp"); do
    if ! grep -q "\`$reason\`" "$repo/docs/status.md"; then
        echo "docs/status.md does not document reason '$reason'"
        missing=1
    fi
done
[[ $missing -eq 0 ]] && echo "docs cover every config key (type and default) and reason code"
exit $missing
