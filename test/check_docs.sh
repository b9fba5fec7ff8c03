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

# ---- the example alert rules (docs/alerts.yml): valid YAML, each rule an alert with an expr,
# and every ndpsync metric they use is in docs/metrics.md's table (which the unit tests hold to
# what the renderer prints).
alerts=$repo/docs/alerts.yml
if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
  echo "check_docs.sh needs Debian's python3-yaml (scripts/install-deps.sh) to check $alerts"
  missing=1
elif ! err=$(/usr/bin/python3 - "$alerts" 2>&1 <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
rules = [r for g in doc["groups"] for r in g["rules"]]
bad = [r.get("alert", "?") for r in rules if not isinstance(r.get("alert"), str) or not isinstance(r.get("expr"), str)]
if not rules or bad:
    sys.exit("rules without an alert name or an expr: %s" % bad)
PY
); then
  echo "docs/alerts.yml: $err"
  missing=1
fi
for metric in $(grep -o 'ndpsync_[a-z_]*' "$alerts" | sort -u); do
  grep -q "^| \`$metric\` |" "$repo/docs/metrics.md" ||
    { echo "docs/alerts.yml uses $metric, which docs/metrics.md does not list"; missing=1; }
done

# ---- man page and bash completion (packaging/ndpsync.8, packaging/bash-completion/ndpsync) ----
# Every subcommand and every option of `ndpsync --help` and `ndpsync SUB --help` is in the man
# page and offered by the completion; every config key is in the man page and in the shipped
# packaging/ndpsync.json. The completion also runs, with stand-ins for bash-completion's helpers.
man_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$repo/packaging/ndpsync.8")
completion=$repo/packaging/bash-completion/ndpsync
help_options() { # the long and short options of one --help text on stdin
  sed -n 's/^  *\(-[a-z],\)\{0,1\}\(--[a-z-]*\).*/\1 \2/p' | tr ', ' '\n\n' | sed '/^$/d'
}
subcommands=$("$ndpsync" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z-][a-z-]*\) .*/\1/p')
[[ -n $subcommands ]] || { echo "no subcommands found in 'ndpsync --help'"; missing=1; }
for sub in $subcommands; do
  grep -qx "\.B $sub" <<<"$man_text" || { echo "packaging/ndpsync.8 lacks subcommand '$sub'"; missing=1; }
  grep -qw -- "$sub" "$completion" || { echo "the bash completion lacks subcommand '$sub'"; missing=1; }
  for opt in $("$ndpsync" "$sub" --help | help_options); do
    grep -q -- "$opt\b" <<<"$man_text" || { echo "packaging/ndpsync.8 lacks '$sub $opt'"; missing=1; }
    grep -q -- " $opt\b\|\"$opt\b" "$completion" || { echo "the bash completion lacks '$sub $opt'"; missing=1; }
  done
done
for opt in $("$ndpsync" --help | sed '/^Subcommands:/,$d' | help_options); do
  grep -q -- "$opt\b" <<<"$man_text" || { echo "packaging/ndpsync.8 lacks global option '$opt'"; missing=1; }
  grep -q -- " $opt\b\|\"$opt\b" "$completion" || { echo "the bash completion lacks '$opt'"; missing=1; }
done
while read -r key; do
  grep -q "^\.BR $key " <<<"$man_text" || { echo "packaging/ndpsync.8 does not document key '$key'"; missing=1; }
  grep -q "^ *// \"$key\":" "$repo/packaging/ndpsync.json" ||
    { echo "packaging/ndpsync.json does not show key '$key'"; missing=1; }
done < <("$ndpsync" config-keys --json | jq -r '.[].key')
# complete_words LINE: what the completion offers for LINE (the cursor at its end).
complete_words() (
  _init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]};
    words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
  _filedir() { COMPREPLY=(FILE); }
  # shellcheck source=packaging/bash-completion/ndpsync
  source "$completion"
  read -ra COMP_WORDS <<<"$1"
  [[ $1 == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  _ndpsync
  echo "${COMPREPLY[*]}"
)
for case in "ndpsync |reconcile run status check-config config-keys kernel-check doctor" "ndpsync ch|check-config" \
  "ndpsync run --re|--resync-interval --remove-on-exit" "ndpsync status --|--socket --json --prometheus --log-level --help --version" \
  "ndpsync --log-level w|warn" "ndpsync check-config --config |FILE"; do
  got=$(complete_words "${case%%|*}")
  [[ $got == "${case#*|}" ]] || { echo "completion of '${case%%|*}': got '$got', want '${case#*|}'"; missing=1; }
done
# ---- end of the man page and completion block ----

[[ $missing -eq 0 ]] && echo "docs cover every config key and reason code"
exit $missing
