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
while IFS=$'\t' read -r key _; do
  grep -q "^\.BR $key " <<<"$man_text" || { echo "packaging/ndpsync.8 does not document key '$key'"; missing=1; }
  grep -q "^ *// \"$key\":" "$repo/packaging/ndpsync.json" ||
    { echo "packaging/ndpsync.json does not show key '$key'"; missing=1; }
done < <("$ndpsync" config-keys)
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
for case in "ndpsync |reconcile run status check-config config-keys" "ndpsync ch|check-config" \
  "ndpsync run --re|--resync-interval --remove-on-exit" "ndpsync status --|--socket --json --log-level --help --version" \
  "ndpsync --log-level w|warn" "ndpsync check-config --config |FILE"; do
  got=$(complete_words "${case%%|*}")
  [[ $got == "${case#*|}" ]] || { echo "completion of '${case%%|*}': got '$got', want '${case#*|}'"; missing=1; }
done
# ---- end of the man page and completion block ----

[[ $missing -eq 0 ]] && echo "docs cover every config key and reason code"
exit $missing
