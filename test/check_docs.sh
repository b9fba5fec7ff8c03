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
for case in "ndpsync |reconcile run status check-config config-keys kernel-check doctor cleanup" "ndpsync ch|check-config" \
  "ndpsync run --re|--resync-interval --remove-on-exit" "ndpsync status --|--socket --json --prometheus --log-level --help --version" \
  "ndpsync --log-level w|warn" "ndpsync check-config --config |FILE"; do
  got=$(complete_words "${case%%|*}")
  [[ $got == "${case#*|}" ]] || { echo "completion of '${case%%|*}': got '$got', want '${case#*|}'"; missing=1; }
done
# ---- end of the man page and completion block ----

# ---- contradictions a reader found once; each check keeps its kind from coming back ----------
# the synopses (the README's Usage block, the man page's SYNOPSIS) name every option of each
# subcommand's --help, the selection options aside (written once, as "selection options")
usage=$(awk '/^## Usage/ { u = 1 } u && /^```/ { if (++n == 2) exit; next } u && n == 1' "$repo/README.md")
synopsis=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$repo/packaging/ndpsync.8" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g')
for sub in $subcommands; do
  for opt in $("$ndpsync" "$sub" --help | help_options); do
    case $opt in -h | --help | -c) continue ;; esac
    if [[ $sub != reconcile && $sub != check-config && $sub != doctor ]] &&
      "$ndpsync" reconcile --help | help_options | grep -qx -- "$opt" && [[ $opt != --json ]]; then
      continue  # a selection option: listed once
    fi
    grep -q -- "$opt\b" <<<"$usage" || { echo "README.md's Usage block lacks '$sub $opt'"; missing=1; }
    grep -q -- "$opt\b" <<<"$synopsis" || { echo "packaging/ndpsync.8's SYNOPSIS lacks '$sub $opt'"; missing=1; }
  done
done
for opt in $("$ndpsync" --help | sed '/^Subcommands:/,$d' | help_options); do
  case $opt in -h | --help | --version) continue ;; esac
  grep -q -- "$opt\b" <<<"$usage" || { echo "README.md's Usage block lacks global option '$opt'"; missing=1; }
  grep -q -- "$opt\b" <<<"$synopsis" || { echo "packaging/ndpsync.8's SYNOPSIS lacks global option '$opt'"; missing=1; }
done
# --no-sysctl and --no-verify say the same in --help, the man page and docs/configuration.md
for opt in --no-sysctl --no-verify; do
  said=$("$ndpsync" reconcile --help | sed -n "s/^  *$opt  *//p")
  [[ -n $said ]] || { echo "reconcile --help has no text for $opt"; missing=1; continue; }
  grep -qiF -- "$said" <<<"$(tr '\n' ' ' <<<"$man_text" | tr -s ' ')" ||
    { echo "packaging/ndpsync.8 does not say what --help says of $opt: '$said'"; missing=1; }
  grep -F -- "\`$opt\`" "$doc" | grep -qiF -- "$said" ||
    { echo "docs/configuration.md does not say what --help says of $opt: '$said'"; missing=1; }
done
# configuration.md's list of the commands that read the config file names each that takes --config
readers=$(grep -m1 'Without `--config`' "$doc" || true)
for sub in $subcommands; do
  "$ndpsync" "$sub" --help | help_options | grep -qx -- --config || continue
  grep -qF -- "\`$sub\`" <<<"$readers" ||
    { echo "docs/configuration.md: 'Without --config, ... read' does not name '$sub', which reads the config file"; missing=1; }
done
# A silent container is found when the router first asks (on_demand): no page may say it is
# not seen, or not proxied, until it sends (paragraphs joined, so a line break hides nothing).
for f in "$repo/README.md" "$repo"/docs/*.md "$repo"/docs/recipes/*.md; do
  if tr '\n' ' ' <"$f" | grep -qiE '(never|not) (sent|sends) a packet[^.]{0,40}(is not (seen|proxied)|not seen yet)'; then
    echo "${f#"$repo"/} says a container that has not sent a packet is not seen (on_demand finds it)"
    missing=1
  fi
done
# The agent starts with CAP_NET_RAW as well (the unit grants it): never "CAP_NET_ADMIN only".
for f in "$repo/README.md" "$repo"/docs/*.md "$repo"/docs/recipes/*.md "$repo/packaging/ndpsync.8" \
  "$repo/scripts/build-deb.sh"; do
  if sed -e 's/\\f[BIRP]//g' "$f" | tr '\n' ' ' | grep -qE 'CAP_NET_ADMIN (only|and nothing else)'; then
    echo "${f#"$repo"/} says CAP_NET_ADMIN only; the unit grants CAP_NET_RAW too"
    missing=1
  fi
done
# A build from source that the README's package list can satisfy: the tests need Catch2, which
# that list leaves out, so such a build line turns them off.
for f in "$repo/README.md" "$repo"/docs/*.md; do
  if grep -E 'cmake -S \. -B build -DCMAKE_INSTALL_PREFIX' "$f" | grep -qv NDPSYNC_BUILD_TESTS=OFF; then
    echo "${f#"$repo"/}: a build line without -DNDPSYNC_BUILD_TESTS=OFF (the README's package list has no Catch2)"
    missing=1
  fi
done

[[ $missing -eq 0 ]] && echo "docs cover every config key and reason code"
exit $missing
