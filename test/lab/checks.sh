# shellcheck shell=bash
# test/lab/checks.sh — the counting ok/fail pair that the shell tests without a lab share.
# Source it; `ok TEXT` counts a passed check, `fail TEXT` reports one and exits 1.
checks=0
ok() {
  checks=$((checks + 1))
  echo "ok $checks - $*"
}
fail() {
  echo "not ok - $*" >&2
  exit 1
}
