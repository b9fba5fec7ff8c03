#!/usr/bin/env bash
# Integration test of DAD snooping: a container that only ran Duplicate Address Detection for its
# address, and sent nothing else, is proxied within 2 s, because the agent saw its DAD probe and
# had the kernel resolve the address once the DAD time was over. A container that DAD-probes the
# router's address or another container's gains nothing.
#
#   0. a container c4 on a veth (vc4) and c5 on br0, with DAD on (the lab turns it off elsewhere),
#      no router solicitations, no ping: the host has never heard from them.
#   1. control, dad_snooping false: c4's new address stays unproxied (3 s).
#   2. dad_snooping on (the default): c4's address (veth) and c5's (bridge) are proxied within
#      2 s of being configured (times printed); each sent one NS (its DAD probe), no echo and no
#      UDP before it was proxied; the router pings both; the agent holds CAP_NET_ADMIN alone.
#   3. guards: c4 DAD-probes the router's address and c2's: both probes are seen and ignored,
#      nothing new is proxied, and c2's entry is still sourced from br0.
#   4. the host keeps its RA default route.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~20 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_dad_snoop.sh
set -euo pipefail

LAB=${LAB:-ndad$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

lab_up
ALL5=$(lab_expected_minus "")
C4=${LAB}c4
C5=${LAB}c5
VC4=$LAB_P::4:1   # host side of c4's veth
CT4=$LAB_P::4:2   # c4, on vc4
CT5=$LAB_P::2:5   # c5, on br0

# silent_ns NS RTR_SOLICIT_DELAY: DAD on (one probe), no router solicitations; eth0 up, its
# link-local DAD done. The kernel sends a DAD probe after a random delay below
# router_solicitation_delay (1 s by default; 0 sends it at once).
silent_ns() {
    local ns=$1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=1 \
        net.ipv6.conf.eth0.dad_transmits=1 net.ipv6.conf.eth0.router_solicitations=0 \
        net.ipv6.conf.eth0.router_solicitation_delay="$2"
    ip -n "$ns" link set eth0 up
    wait_for 5 _no_tentative "$ns" || fail "$ns: eth0's link-local address stays tentative"
}
_no_tentative() {
    [[ -z $(ip -n "$1" -6 addr show dev eth0 tentative) ]]
}
# proxied_within NS ADDR SECONDS: configures ADDR (with DAD) in NS, waits up to SECONDS for its
# entry; PROXY_MS = the time from configuring it.
proxied_within() {
    local ns=$1 addr=$2 t0
    t0=$(_now_us)
    ip -n "$ns" addr add "$addr/112" dev eth0
    wait_for "$3" owned_has "$addr" || return 1
    PROXY_MS=$(elapsed_ms "$t0")
}
# log_ms ADDR: from the agent's sight of ADDR's DAD probe to its entry, by the agent's log.
log_ms() {
    awk -v a="$1" '
        function ms(t) { split(substr(t, 12), p, ":"); return (p[1] * 3600 + p[2] * 60 + p[3]) * 1000 }
        $0 ~ "DAD probe for " a " " && !seen { seen = ms($1) }
        $0 ~ "proxying " a " on" && seen { printf "%d", ms($1) - seen; exit }' "$AGENT_LOG"
}

# ---------------------------------------------------------------------------------------------
section "0. silent containers: c4 on vc4 (veth), c5 on br0, DAD on, nothing sent"
LAB_NAMESPACES+=("$C4" "$C5")
_ns_init "$C4"
_ns_init "$C5"
ip -n "$LAB_H" link add name vc4 type veth peer name eth0 netns "$C4"
ip -n "$LAB_H" addr add "$VC4/112" dev vc4
ip -n "$LAB_H" link set vc4 up
ip -n "$LAB_H" link add name vb5 type veth peer name eth0 netns "$C5"
ip -n "$LAB_H" link set vb5 master br0 up
silent_ns "$C4" 0
silent_ns "$C5" 1
ok "c4 (DAD probe at once) and c5 (after up to 1 s, the kernel's default) are up; no global address yet"

# ---------------------------------------------------------------------------------------------
section "1. control: with dad_snooping false, c4's new address is not proxied"
echo '{"dad_snooping": false}' >"$LAB_DIR/d1.json"
agent_start d1 --config "$LAB_DIR/d1.json"
wait_for 5 owned_has "$VC4" || afail "vc4's own address $VC4 not proxied"
ip -n "$C4" addr add "$CT4/112" dev eth0
hold_for 3 owned_lacks "$CT4" || afail "$CT4 proxied without DAD snooping (after $HOLD_BROKE_MS ms)"
ok "without DAD snooping, c4's $CT4 stays unproxied for $HOLD_SECS s: the host never heard from it"
expect_eq "dad_snooping false: no DAD probe counted" 0 "$(status_q .counters.dad_probes_seen)"
grep "DAD listener" "$AGENT_LOG" >/dev/null && afail "dad_snooping false opened the listener"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || fail "agent d1 exited $AGENT_RC on SIGTERM"
ip -n "$C4" addr del "$CT4/112" dev eth0
ip -n "$LAB_H" -6 neigh flush dev vc4

# ---------------------------------------------------------------------------------------------
section "2. dad_snooping on: a silent container is proxied within 2 s of its DAD probe"
agent_start d2
wait_for 5 owned_has "$VC4" || afail "vc4's own address $VC4 not proxied"
grep "running without DAD snooping" "$AGENT_LOG" >/dev/null &&
    afail "the agent could not open the DAD listener as root"
# c4 probes at once: its address is proxied within 2 s of being configured. c5 probes after the
# kernel's random delay (up to 1 s): within 3 s; either way within 2 s of the probe.
for ct in "$C4 $CT4 2" "$C5 $CT5 3"; do
    read -r ns addr secs <<<"$ct"
    ns_before=$(snmp6 "$ns" Icmp6OutNeighborSolicits)
    proxied_within "$ns" "$addr" "$secs" ||
        afail "$addr (DAD only) not proxied within $secs s; host neighbours: $(ip -n "$LAB_H" -6 neigh show "$addr")"
    from_probe=$(log_ms "$addr")
    ok "$addr is proxied $PROXY_MS ms after it was configured in $ns, $from_probe ms after its DAD probe"
    echo "# time-to-proxy $ns configured $PROXY_MS ms probe $from_probe ms"
    ((from_probe < 2000)) || afail "$addr proxied $from_probe ms after its DAD probe"
    expect_eq "$ns sent one NS (its DAD probe)" 1 $(($(snmp6 "$ns" Icmp6OutNeighborSolicits) - ns_before))
    expect_eq "$ns sent no echo request or reply, no UDP" "0 0 0" \
        "$(snmp6 "$ns" Icmp6OutEchos) $(snmp6 "$ns" Icmp6OutEchoReplies) $(snmp6 "$ns" Udp6OutDatagrams)"
done
expect_eq "counters: two probes followed" 2 "$(status_q .counters.dad_probes_followed)"
# Their way back (a route sends nothing).
ip -n "$C4" -6 route add default via "$VC4" dev eth0
ip -n "$C5" -6 route add default via "$LAB_BR0" dev eth0
for addr in "$CT4" "$CT5"; do
    wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$addr" || afail "the router cannot ping $addr"
    ok "the router pings $addr"
done
caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$AGENT_PID/status")
expect_eq "the running agent holds CAP_NET_ADMIN alone (CAP_NET_RAW dropped)" 0000000000001000 "$caps"

# ---------------------------------------------------------------------------------------------
section "3. guards: c4 DAD-probes the router's address and c2's, and gains nothing"
wait_for 10 ip netns exec "$LAB_H" ping -6 -c1 -W1 -n "$LAB_ROUTER" || fail "host cannot ping the router"
wait_for 3 _host_neigh_present eth0 "$LAB_ROUTER" || fail "host has no neighbour entry for $LAB_ROUTER"
ignored=$(status_q .counters.dad_probes_ignored)
ip -n "$C4" addr add "$LAB_ROUTER/128" dev eth0
ip -n "$C4" addr add "$LAB_CT2/128" dev eth0
_two_more_ignored() {
    (($(status_q .counters.dad_probes_ignored) >= ignored + 2))
}
wait_for 3 _two_more_ignored || afail "the two DAD probes were not seen and ignored"
ok "both DAD probes were seen and ignored (counters.dad_probes_ignored)"
hold_for 3 owned_lacks "$LAB_ROUTER" || afail "the router's address $LAB_ROUTER was proxied"
ok "the router's address is not proxied (3 s after c4's DAD probe)"
src=$(status_q '.entries[] | select(.address == "'"$LAB_CT2"'") | .interface')
expect_eq "c2's entry is still sourced from br0" br0 "$src"
expect_eq "counters: still two probes followed" 2 "$(status_q .counters.dad_probes_followed)"
expect_eq "the owned set: the lab's, vc4's and the two silent containers'" \
    "$(printf '%s\n' $ALL5 "$VC4" "$CT4" "$CT5" | sort)" "$(owned_set)"

# ---------------------------------------------------------------------------------------------
section "4. the host keeps its default route"
wait_for 10 _host_has_ra_default || afail "the host lost its RA default route"
ok "the host keeps its RA default route"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || fail "agent d2 exited $AGENT_RC on SIGTERM"
echo "$LAB_CHECKS passed, 0 failed"
