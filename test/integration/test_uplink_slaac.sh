#!/usr/bin/env bash
# Zero-config recovery on a host where something else (Docker) turned forwarding on while the
# uplink still had accept_ra=1: the kernel dropped the RA default route, and ignores every later
# RA. ndpsync finds the uplink from what SLAAC left behind, sets accept_ra=2 there (before any
# other sysctl), and the next RA brings the route back.
#
#   0. "Docker": all.forwarding=1 in the host namespace, eth0.accept_ra=1; the RA default route
#      is gone (waited for), the SLAAC address stays;
#   1. `ndpsync reconcile` (no config): exit 0, says eth0 was found from SLAAC addresses and
#      accept_ra set to 2; the default route is back within an RA interval (radvd sends every
#      3-10 s), the lab's entries are installed, the router pings the containers;
#   2. the same with the agent (`ndpsync run`): the log and the status say how eth0 was found,
#      the route comes back, the agent says so and the status shows it routed again;
#   3. two candidates (a second interface with an address that has a lifetime): `reconcile` exits
#      1 naming both and the fix, writes no sysctl and no entry; the agent lists both in its
#      status, warns, and writes nothing either.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~30-60 s (mostly waiting for RAs).
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_uplink_slaac.sh
set -euo pipefail

LAB=${LAB:-nss$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

no_ra_default() { ! _host_has_ra_default; }

# docker_forwarding: what Docker's start does to the host (forwarding on, accept_ra untouched),
# from a clean state: our entries gone, eth0.accept_ra=1, all.proxy_ndp=0. Writing forwarding
# again purges the RA default route while accept_ra is 1.
docker_forwarding() {
    ip -n "$LAB_H" -6 neigh show proxy | awk '/proto 176/ { print $1, $3 }' | while read -r a d; do
        ip -n "$LAB_H" -6 neigh del proxy "$a" dev "$d"
    done
    ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=1 net.ipv6.conf.all.proxy_ndp=0 \
        net.ipv6.conf.eth0.proxy_ndp=0
    ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.forwarding=1
    wait_for 10 no_ra_default || fail "the RA default route survived forwarding=1 with accept_ra=1"
    ok "forwarding=1 with eth0.accept_ra=1: the RA default route is gone"
    [[ -n $(lab_host_slaac) ]] || fail "the SLAAC address went with the route"
    expect_eq "no proxy entry of ours" "" "$(our_proxies_h)"
}

# route_back WHAT: the RA default route returns with the next unsolicited RA (radvd sends one
# every 3-10 s; the wait allows two intervals and a loaded machine).
route_back() {
    local t0
    t0=$(_now_us)
    wait_for 25 _host_has_ra_default || fail "$1: no RA default route 25 s after accept_ra=2"
    ok "$1: the RA default route is back after $(elapsed_ms "$t0") ms"
}

routed_lab() {
    expect_eq "$1: the lab's entries are installed" "$(printf '%s\n' "${LAB_EXPECTED[@]}" | sort)" \
        "$(our_proxies_h)"
    local a
    for a in "$LAB_CT1" "$LAB_CT2"; do
        wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$a" || fail "$1: router cannot ping $a"
        ok "$1: router pings $a"
    done
}

section "0. Docker turns forwarding on"
docker_forwarding

section "1. reconcile, zero config"
nds_run reconcile
expect_eq "reconcile exits 0" 0 "$NDS_RC"
grep -E "^uplink eth0 found from SLAAC addresses.*; its default route is gone, accept_ra set to 2 so the next RA restores it$" \
    <<<"$NDS_OUT" >/dev/null || fail "no line saying how eth0 was found; stdout: $NDS_OUT; stderr: $NDS_ERR"
ok "it says: $(grep -m1 'found from' <<<"$NDS_OUT")"
grep -F "sysctl net.ipv6.conf.eth0.accept_ra: 1 -> 2" <<<"$NDS_OUT" >/dev/null ||
    fail "accept_ra=2 not reported; stdout: $NDS_OUT"
first_sysctl=$(grep -m1 '^sysctl ' <<<"$NDS_OUT")
[[ $first_sysctl == "sysctl net.ipv6.conf.eth0.accept_ra:"* ]] ||
    fail "accept_ra=2 must be the first sysctl written, got: $first_sysctl"
ok "accept_ra=2 is the first sysctl written"
expect_eq "eth0.accept_ra is 2" 2 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
expect_eq "all.proxy_ndp is 1" 1 "$(sysctl_h net.ipv6.conf.all.proxy_ndp)"
route_back "reconcile"
routed_lab "reconcile"
nds_run reconcile --json
expect_eq "a second reconcile exits 0" 0 "$NDS_RC"
expect_eq "the second run finds eth0 by its default route" "eth0 default-route" \
    "$(jq -r '.uplinks[0] | "\(.name) \(.source)"' <<<"$NDS_OUT")"
wait_for 2 _host_has_ra_default || fail "the default route did not survive a second reconcile"
ok "the default route survives a second reconcile"

section "2. the agent, zero config"
docker_forwarding
agent_start slaac
accept_ra_2() { [[ $(sysctl_h net.ipv6.conf.eth0.accept_ra) == 2 ]]; }
wait_for 5 accept_ra_2 || afail "the agent did not set eth0.accept_ra=2"
grep -E "uplink eth0 found from SLAAC addresses.*; its default route is gone, accept_ra set to 2 so the next RA restores it" \
    "$AGENT_LOG" >/dev/null || afail "the agent did not log how it found eth0"
ok "the agent logs: $(grep -m1 -o 'uplink eth0 found from.*' "$AGENT_LOG")"
expect_eq "eth0.accept_ra is 2" 2 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
route_back "agent"
routed() { [[ $(status_q '.uplinks[0].source') == default-route ]]; }
wait_for 5 routed || afail "the status does not show eth0 routed again"
ok "status: eth0 found by its default route again"
wait_for 5 grep "uplink eth0: its default route is back" "$AGENT_LOG" ||
    afail "the agent did not log the route's return"
ok "the agent logs that the route is back"
wait_for 5 owned_is "$(printf '%s\n' "${LAB_EXPECTED[@]}" | sort)" || afail "the agent did not install the lab's entries"
routed_lab "agent"
agent_stop_term 5
expect_eq "the agent stops with 0" 0 "$AGENT_RC"

section "3. two candidates: no guess"
docker_forwarding
# eth1: a second network where an address with a lifetime was configured (SLAAC or DHCPv6 would
# do the same). A veth, like the lab's eth0: both rank alike.
ip -n "$LAB_H" link add name eth1 type veth peer name peer1 netns "$LAB_R"
ip -n "$LAB_H" link set eth1 up
ip -n "$LAB_H" addr add 2001:db8:9::2/64 dev eth1 valid_lft 3600 preferred_lft 3600
BEFORE=$(host_snapshot)
nds_run reconcile
expect_eq "reconcile with two candidates exits 1" 1 "$NDS_RC"
grep -F "error: uplink eth0,eth1: no IPv6 default route, and more than one interface looks like the uplink: eth0 (SLAAC addresses" \
    <<<"$NDS_OUT" >/dev/null || fail "no error naming both; stdout: $NDS_OUT; stderr: $NDS_ERR"
grep -F "and eth1 (SLAAC addresses). Not guessing: nothing was written. Configure the uplink" \
    <<<"$NDS_OUT" >/dev/null || fail "the error does not name eth1 and the fix; stdout: $NDS_OUT"
ok "it says: $(grep -m1 'error: uplink' <<<"$NDS_OUT")"
expect_eq "no sysctl written, no entry added" "$BEFORE" "$(host_snapshot)"
nds_run reconcile --json
expect_eq "reconcile --json exits 1" 1 "$NDS_RC"
expect_eq "the JSON lists both candidates" '["eth0","eth1"]' "$(jq -c '[.uplink_candidates[].name]' <<<"$NDS_OUT")"
agent_start ambiguous
candidates() { [[ $(status_q '[.uplink_candidates[].name] | join(",")') == eth0,eth1 ]]; }
wait_for 5 candidates || afail "the agent's status does not list both candidates"
ok "the agent's status lists both candidates"
grep -F "no uplink: no IPv6 default route, and more than one interface looks like the uplink" \
    "$AGENT_LOG" >/dev/null || afail "the agent did not warn"
ok "the agent warns"
agent_stop_term 5
expect_eq "the agent stops with 0" 0 "$AGENT_RC"
expect_eq "the agent wrote no sysctl and no entry" "$BEFORE" "$(host_snapshot)"
echo "$LAB_CHECKS passed, 0 failed"
