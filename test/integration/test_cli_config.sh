#!/usr/bin/env bash
# The config file from the command line's side: which file is read (the default path, overridden
# here with NDPSYNC_CONFIG; --config FILE), the precedence (built-in defaults, then the file, then
# the command line), `ndpsync check-config` (exit 0 or 2, the error naming the key path; as strict
# as `run`: dry_run, an unknown status_socket_group or run_as user), and the shipped
# packaging/ndpsync.json.
#
# Needs no root for the file checks. The precedence checks run `reconcile --dry-run` in a fresh,
# empty network namespace (`unshare -n` as root, `unshare -rn` otherwise); where neither works
# they are skipped with a note, and the rest still runs.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_cli_config.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NDPSYNC=${NDPSYNC:-$repo/build/ndpsync}
[[ -x $NDPSYNC ]] || {
  echo "SKIP: ndpsync binary not found at $NDPSYNC (build it, or set NDPSYNC)"
  exit 77
}
tmp=$(mktemp -d)
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=test/lab/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/checks.sh"
# nds ARGS...: run ndpsync with a clean environment plus NDPSYNC_CONFIG=$default; sets rc, out, err.
default=$tmp/absent.json
nds() {
  rc=0
  "${prefix[@]}" env -u NDPSYNC_CONFIG NDPSYNC_CONFIG="$default" "$NDPSYNC" "$@" \
    >"$tmp/out" 2>"$tmp/err" || rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}
expect() { # expect WHAT RC NEEDLE ARGS...: exit RC, NEEDLE (fixed string) in stdout or stderr
  local what=$1 want=$2 needle=$3
  shift 3
  nds "$@"
  [[ $rc -eq $want ]] || fail "$what: ndpsync $* exited $rc (want $want); stdout: $out; stderr: $err"
  grep -qF -- "$needle" <<<"$out$err" || fail "$what: '$needle' not said; stdout: $out; stderr: $err"
  ok "$what: exit $rc, says: $(grep -F -- "$needle" <<<"$out$err" | head -n1 | cut -c1-120)"
}
prefix=()

# --- check-config: no kernel involved ---
good=$tmp/good.json
cat >"$good" <<'EOF'
{
  // comments are allowed
  "uplinks": ["up0"], /* and block comments */
  "max_entries": 100
}
EOF
bad=$tmp/bad.json
echo '{"interface_prefixes": {"vc1": ["2001:db8::/64", "nope"]}}' >"$bad"

expect "no file at the default path: built-in defaults" 0 "built-in defaults (no file at $default)" \
  check-config
default=$good
expect "the default file is read" 0 "config file $good: ok" check-config
expect "--config names another file" 0 "config file $good: ok" check-config --config "$good"
expect "a bad --config file" 2 "config key 'interface_prefixes.vc1[1]': not an IPv6 prefix" \
  check-config --config "$bad"
default=$bad
expect "a bad default file" 2 "$bad: config key 'interface_prefixes.vc1[1]'" check-config
expect "--config wins over the default file" 0 "config file $good: ok" check-config -c "$good"
default=$tmp/absent.json
expect "a missing --config file" 2 "cannot read config file '$tmp/missing.json': it does not exist" \
  check-config --config "$tmp/missing.json"
echo '{"uplinks": ["eth0"] "x": 1}' >"$tmp/syntax.json"
expect "unparsable JSON" 2 "not valid JSON" check-config --config "$tmp/syntax.json"
expect "unknown key" 2 "config key 'uplink': unknown key" check-config --config <(echo '{"uplink": []}')
expect "a directory" 2 "is a directory" check-config --config "$tmp"
expect "the shipped packaging/ndpsync.json is valid" 0 "ok" \
  check-config --config "$repo/packaging/ndpsync.json"

# As strict as `run` at start (systemd's ExecReload runs check-config: it must never accept a file
# that the next start refuses): each of these, `run` refuses with exit 2 too.
for case in 'dry_run|{"dry_run": true}' \
  'status_socket_group|{"status_socket_mode": "0660", "status_socket_group": "ndpsync-no-such-group"}' \
  'run_as|{"run_as": "ndpsync-no-such-user"}'; do
  key=${case%%|*}
  printf '%s\n' "${case#*|}" >"$tmp/strict.json"
  expect "check-config refuses what run refuses: $key" 2 "config key '$key'" \
    check-config --config "$tmp/strict.json"
  # `run` stops at the same check, before it opens a socket or reads the kernel; in an empty
  # namespace of its own all the same (and bounded in time), should it ever start.
  if [[ $(id -u) -eq 0 ]] && unshare -n true 2>/dev/null; then
    prefix=(timeout -k 2 10 unshare -n)
    expect "run refuses it too: $key" 2 "config key '$key'" \
      run --config "$tmp/strict.json" --status-socket "$tmp/never.sock"
    prefix=()
  fi
done
[[ ! -e $tmp/never.sock ]] || fail "a refused run left a socket behind"
echo '{"status_socket_mode": "0660", "status_socket_group": "root", "run_as": "root"}' >"$tmp/strict.json"
expect "an existing group and user pass" 0 "ok" check-config --config "$tmp/strict.json"

# An unreadable file is an error, not silently the defaults.
echo '{}' >"$tmp/secret.json"
chmod 0600 "$tmp/secret.json"
if [[ $(id -u) -eq 0 ]]; then
  prefix=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
  chmod 0000 "$tmp/secret.json"
fi
default=$tmp/secret.json
expect "an unreadable default file" 2 "cannot read config file '$tmp/secret.json': Permission denied" \
  check-config
prefix=()
default=$tmp/absent.json

# --- precedence, seen through `reconcile --dry-run` in an empty namespace ---
if [[ $(id -u) -eq 0 ]] && unshare -n true 2>/dev/null; then
  prefix=(unshare -n)
elif unshare -rn true 2>/dev/null; then
  prefix=(unshare -rn)
fi
if [[ ${#prefix[@]} -eq 0 ]]; then
  echo "# note: no network namespace available (unshare -n / -rn): precedence checks skipped"
else
  missing_uplinks() { jq -c .missing_uplinks <<<"$out"; }
  nds reconcile --dry-run --json
  [[ $rc -eq 0 && $(jq -c .downstream <<<"$out") == '["lo"]' && $(missing_uplinks) == '[]' ]] ||
    fail "defaults: exit $rc, $out $err"
  ok "no file: built-in defaults (uplink detected, none missing)"
  default=$good
  nds reconcile --dry-run --json
  # A configured uplink that is not present is exit 1 (a typo?), also in a dry run.
  [[ $rc -eq 1 && $(missing_uplinks) == '["up0"]' ]] || fail "file over defaults: exit $rc, $out $err"
  ok "the default file over the defaults: uplinks from the file ($(missing_uplinks))"
  nds reconcile --dry-run --json --uplink up1
  [[ $rc -eq 1 && $(missing_uplinks) == '["up1"]' ]] || fail "command line over file: exit $rc, $out $err"
  ok "the command line over the file: --uplink up1 wins ($(missing_uplinks))"
  expect "file and command line are one config, validated whole" 2 \
    "'downstream': matches uplink 'up0'" reconcile --dry-run --downstream 'up*'
  expect "reconcile with a missing --config changes nothing" 2 "does not exist" \
    reconcile --dry-run --config "$tmp/missing.json"
  default=$bad
  expect "reconcile with a bad default file" 2 "'interface_prefixes.vc1[1]'" reconcile --dry-run
  prefix=()
fi
echo "$checks passed, 0 failed"
