#!/usr/bin/env bash
# A typo in --uplink must not cost the host its IPv6 default route. Writing forwarding=1 drops
# the RA-learned default route of every interface whose accept_ra is not 2, so the global
# sysctls (all.proxy_ndp, forwarding) wait until the interface holding that route is an uplink
# (accept_ra=2 first) or has accept_ra=2 already.
#
#   1. `reconcile --uplink eht0` (a typo of eth0): exit 1, "uplink eht0: configured uplink is not
#      present", no sysctl changed, the RA default route survives;
#   2. `reconcile --uplink vc1` (an interface that exists, but not the route's): exit 1, an error
#      naming eth0 and the fix, no global sysctl written, the route survives;
#   3. `run --uplink eht0`: after its first reconcile the agent shows eht0 in missing_uplinks,
#      has logged a warning, changed no sysctl, and the route is still there;
#   4. control: `reconcile` with the detected uplink sets forwarding=1 and keeps the route.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~10-20 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_uplink_typo.sh
set -euo pipefail

LAB=${LAB:-nsu$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

ra_default() {
    ip -n "$LAB_H" -6 route show default | grep 'proto ra' | awk '{ print $1, $2, $3, $4, $5 }'
}
ROUTE=$(ra_default)
[[ $ROUTE == "default via fe80::"*" dev eth0" ]] || fail "the lab has no RA default route on eth0: '$ROUTE'"
BEFORE=$(sysctls_h)
expect_route_and_sysctls() {
    local what=$1
    expect_eq "$what: the host's RA default route survives" "$ROUTE" "$(ra_default)"
    expect_eq "$what: no sysctl changed" "$BEFORE" "$(sysctls_h)"
}

section "1. reconcile --uplink eht0"
nds_run reconcile --uplink eht0
expect_eq "reconcile --uplink eht0 exits 1" 1 "$NDS_RC"
grep -q "error: uplink eht0: configured uplink is not present" <<<"$NDS_OUT" ||
    fail "no clear error for the missing uplink; stdout: $NDS_OUT; stderr: $NDS_ERR"
ok "it says: $(grep -m1 'error: uplink eht0' <<<"$NDS_OUT")"
expect_route_and_sysctls "reconcile --uplink eht0"
nds_run reconcile --json --uplink eht0
expect_eq "reconcile --json --uplink eht0 exits 1" 1 "$NDS_RC"
expect_eq "the JSON lists eht0 in missing_uplinks and errors" '["eht0"] uplink' \
    "$(jq -c '.missing_uplinks' <<<"$NDS_OUT") $(jq -r '.errors[0].operation' <<<"$NDS_OUT")"
expect_route_and_sysctls "reconcile --json --uplink eht0"

section "2. reconcile --uplink vc1 (exists, but the RA default route is on eth0)"
nds_run reconcile --uplink vc1 --downstream br0
expect_eq "reconcile --uplink vc1 exits 1" 1 "$NDS_RC"
grep -q "interface eth0 holds the host's RA-learned default route.*net.ipv6.conf.eth0.accept_ra=2" \
    <<<"$NDS_OUT" || fail "no error naming eth0 and the fix; stdout: $NDS_OUT"
ok "it names eth0 and the fix"
expect_eq "all.forwarding untouched" 0 "$(sysctl_h net.ipv6.conf.all.forwarding)"
expect_eq "all.proxy_ndp untouched" 0 "$(sysctl_h net.ipv6.conf.all.proxy_ndp)"
expect_eq "vc1.forwarding untouched" 0 "$(sysctl_h net.ipv6.conf.vc1.forwarding)"
expect_eq "reconcile --uplink vc1: the host's RA default route survives" "$ROUTE" "$(ra_default)"
# Undo what the refused run was allowed to do on vc1 (local keys, no effect on routes).
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.vc1.accept_ra=1 net.ipv6.conf.vc1.proxy_ndp=0
ip -n "$LAB_H" -6 neigh show proxy | awk '/proto 176/ { print $1, $3 }' | while read -r a d; do
    ip -n "$LAB_H" -6 neigh del proxy "$a" dev "$d"
done

section "3. run --uplink eht0"
agent_start typo --uplink eht0
first_reconcile() { [[ $(status_q '.counters.resyncs') -ge 1 ]]; }
wait_for 5 first_reconcile || afail "the agent did not report its first resync"
expect_eq "status: missing_uplinks" '["eht0"]' "$(status_q '.missing_uplinks | tojson')"
grep -q "uplink eht0: configured but not present" "$AGENT_LOG" ||
    afail "the agent did not warn about the missing uplink"
ok "the agent warns: $(grep -m1 'uplink eht0' "$AGENT_LOG")"
expect_route_and_sysctls "run --uplink eht0"
agent_stop_term 5
expect_eq "the agent stops with 0" 0 "$AGENT_RC"
expect_route_and_sysctls "run --uplink eht0, after stop"

section "4. control: the detected uplink"
nds_run reconcile
expect_eq "reconcile (detected uplink eth0) exits 0" 0 "$NDS_RC"
expect_eq "eth0.accept_ra is 2" 2 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
expect_eq "all.forwarding is 1" 1 "$(sysctl_h net.ipv6.conf.all.forwarding)"
expect_eq "the RA default route survives a real forwarding=1" "$ROUTE" "$(ra_default)"
echo "$LAB_CHECKS passed, 0 failed"
