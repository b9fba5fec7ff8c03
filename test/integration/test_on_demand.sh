#!/usr/bin/env bash
# Integration test of on-demand discovery: a container with a `nodad` address that has never
# sent anything is reachable at the router's first ping, because the agent saw the router's
# solicitation on the uplink, had the kernel resolve the address downstream, installed the entry
# and answered the router itself. A scan of the /64 from outside stays within the limits.
#
#   0. silent containers c6 (veth vc6, ::6:0/112) and c7 (on br0): nodad addresses, no router
#      solicitations, nothing sent; a route back that sends nothing.
#   1. control, on_demand false: the router's ping to c6 fails, nothing is proxied.
#   2. on_demand (the default): eth0 receives all multicast; the router's first ping to each of six
#      fresh silent addresses succeeds (times printed, each under 1 s: the router's first
#      solicitation was answered, not its retransmission); each got one solicited advert.
#   3. later solicitations (multicast and unicast) are answered by the kernel entry: no new
#      probe, no new advert.
#   4. guards: c6 holds the router's address and c2's (nodad); the router's solicitations for
#      them, for an address routed nowhere downstream and for an outside address gain nothing.
#   5. a scan of 10,000 random targets (3,000 with LAB_REDUCED) at 1,000 NS/s: probes stay within
#      the limits, nothing is
#      installed for an address nobody holds, every real container keeps its neighbour and proxy
#      entries, the downstream neighbour tables stay small; the agent's CPU and RSS are printed.
#   6. SIGTERM lets go of all-multicast, and so does a SIGKILL (the kernel drops the socket's
#      reference); an admin's own `allmulticast on` is left as it was. The host keeps its RA
#      default route.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~45 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_on_demand.sh
set -euo pipefail

LAB=${LAB:-nod$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

lab_up
C6=${LAB}c6
C7=${LAB}c7
VC6=$LAB_P::6:1   # host side of c6's veth

# silent NS: no router solicitations (DAD is off in every lab namespace), eth0 up.
silent() {
    ip netns exec "$1" sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
    ip -n "$1" link set eth0 up
}
# allmulti_h: whether the host's eth0 receives all multicast (IFF_ALLMULTI in the device's flags:
# the admin's flag or anyone's reference; `ip link` shows only the admin's).
allmulti_h() {
    local flags
    flags=$(ip netns exec "$LAB_H" cat /sys/class/net/eth0/flags)
    if ((flags & 0x200)); then echo true; else echo false; fi
}
admin_allmulti_h() {
    ip -n "$LAB_H" -j link show dev eth0 | jq -r '.[0].flags | index("ALLMULTI") != null'
}
router_flush() {
    ip -n "$LAB_R" -6 neigh flush dev wan
}
# first_ping ADDR: the router's first ping to ADDR (its neighbour cache flushed). FIRST_MS = the
# round trip ping measured, which includes the router's wait for the address to resolve.
first_ping() {
    router_flush
    local out
    out=$(ip netns exec "$LAB_R" ping -6 -c1 -W3 -n "$1" 2>&1) || return 1
    FIRST_MS=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' <<<"$out")
    [[ -n $FIRST_MS ]]
}
counter() {
    status_q ".counters.$1"
}

# ---------------------------------------------------------------------------------------------
section "0. silent containers c6 (veth) and c7 (bridge): nodad addresses, nothing sent"
LAB_NAMESPACES+=("$C6" "$C7")
_ns_init "$C6"
_ns_init "$C7"
ip -n "$LAB_H" link add name vc6 type veth peer name eth0 netns "$C6"
ip -n "$LAB_H" addr add "$VC6/112" dev vc6
ip -n "$LAB_H" link set vc6 up
ip -n "$LAB_H" link add name vb7 type veth peer name eth0 netns "$C7"
ip -n "$LAB_H" link set vb7 master br0 up
silent "$C6"
silent "$C7"
ip -n "$C6" addr add "$LAB_P::6:2/112" dev eth0 nodad
ip -n "$C7" addr add "$LAB_P::2:7/112" dev eth0 nodad
ip -n "$C6" -6 route add default via "$VC6" dev eth0
ip -n "$C7" -6 route add default via "$LAB_BR0" dev eth0
ok "c6 and c7 are up with nodad addresses; they have sent nothing the host could learn from"

# ---------------------------------------------------------------------------------------------
section "1. control: with on_demand false, the router cannot reach a silent container"
echo '{"on_demand": false, "dad_snooping": false}' >"$LAB_DIR/o1.json"
agent_start o1 --config "$LAB_DIR/o1.json"
wait_for 5 owned_has "$VC6" || afail "vc6's own address $VC6 not proxied"
first_ping "$LAB_P::6:2" && afail "the router reached silent c6 without on-demand discovery"
ok "without on-demand discovery the router's ping to $LAB_P::6:2 fails"
owned_lacks "$LAB_P::6:2" || afail "$LAB_P::6:2 proxied without on-demand discovery"
expect_eq "eth0 has no ALLMULTI" false "$(allmulti_h)"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || fail "agent o1 exited $AGENT_RC on SIGTERM"
ip -n "$LAB_H" -6 neigh flush dev vc6

# ---------------------------------------------------------------------------------------------
section "2. on_demand: the router's first ping to a silent container succeeds"
echo '{"dad_snooping": false}' >"$LAB_DIR/o2.json"
agent_start o2 --config "$LAB_DIR/o2.json"
wait_for 5 owned_has "$VC6" || afail "vc6's own address $VC6 not proxied"
grep "running without on-demand" "$AGENT_LOG" >/dev/null &&
    afail "the agent could not open the solicitation listener as root"
wait_for 3 [ "$(allmulti_h)" = true ] || afail "the host's eth0 does not receive all multicast"
expect_eq "the admin's allmulticast flag untouched" false "$(admin_allmulti_h)"
ok "the host's eth0 receives all multicast (the agent's reference)"
times=()
n=0
for spec in "$C6 6" "$C7 2" "$C6 6" "$C7 2" "$C6 6" "$C7 2"; do
    read -r ns net <<<"$spec"
    n=$((n + 1))
    addr=$LAB_P::$net:$((70 + n))
    ip -n "$ns" addr add "$addr/112" dev eth0 nodad
    before=$(snmp6 "$ns" Icmp6OutNeighborAdvertisements)
    first_ping "$addr" || afail "the router's first ping to silent $addr failed"
    times+=("$FIRST_MS")
    # Under a second: the router's first solicitation was answered, not its retransmission
    # (scaled in the emulated guests, where every process is 10-25x slower).
    awk -v t="$FIRST_MS" -v s="$LAB_TIME_SCALE" 'BEGIN { exit !(t < 1000 * s) }' ||
        afail "first echo from $addr after $FIRST_MS ms"
    owned_has "$addr" || afail "$addr answered but is not proxied"
    ok "first ping to silent $addr ($ns) answered in $FIRST_MS ms"
    # It answered the host's probe (more NAs may come: the host's reachability probes of the
    # addresses before it, on a slow machine).
    (($(snmp6 "$ns" Icmp6OutNeighborAdvertisements) > before)) || afail "$ns sent no NA for $addr"
    ok "$ns answered the host's probe for $addr"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
echo "# time-to-first-echo silent-container median ${median} ms of ${#times[@]}: ${times[*]}"
expect_eq "counters: six found" 6 "$(counter on_demand_found)"
expect_eq "counters: six solicited adverts" 6 "$(counter adverts_solicited)"
expect_eq "counters: nothing refused" 0 "$(counter on_demand_refused)"

# ---------------------------------------------------------------------------------------------
section "3. later solicitations are the kernel's: no new probe, no new advert"
probes=$(counter on_demand_probes)
adverts=$(counter adverts_solicited)
probe_r --target "$LAB_P::6:71" --count 5 >/dev/null || afail "multicast NS for ::6:71 not answered"
probe_r --target "$LAB_P::2:72" --count 5 --unicast >/dev/null || afail "unicast NS for ::2:72 not answered"
expect_eq "no new on-demand probe" "$probes" "$(counter on_demand_probes)"
expect_eq "no new userspace advert" "$adverts" "$(counter adverts_solicited)"

# ---------------------------------------------------------------------------------------------
section "4. guards: solicitations for the router's, c2's and unrouted addresses gain nothing"
wait_for 10 ip netns exec "$LAB_H" ping -6 -c1 -W1 -n "$LAB_ROUTER" || fail "host cannot ping the router"
ip -n "$C6" addr add "$LAB_ROUTER/128" dev eth0 nodad
ip -n "$C6" addr add "$LAB_CT2/128" dev eth0 nodad
ip -n "$LAB_H" -6 route add "$LAB_ROUTER/128" dev vc6   # even routed there
refused=$(counter on_demand_refused)
before=$(owned_set)
for target in "$LAB_ROUTER" "$LAB_CT2" "$LAB_P::9:1"; do
    probe_r --target "$target" --timeout 0.3 >/dev/null || true
done
wait_for 3 [ "$(counter on_demand_refused)" -ge $((refused + 2)) ] ||
    afail "the router's and ::9:1's solicitations were not refused ($(counter on_demand_refused) vs $refused)"
hold_for 2 owned_is "$before" || afail "the proxy table changed after $HOLD_BROKE_MS ms"
ok "nothing new proxied; the router's address and an unrouted one refused, c2's left to its entry"
src=$(status_q '.entries[] | select(.address == "'"$LAB_CT2"'") | .interface')
expect_eq "c2's entry is still sourced from br0" br0 "$src"
ip -n "$LAB_H" -6 route del "$LAB_ROUTER/128" dev vc6
ip -n "$C6" addr del "$LAB_ROUTER/128" dev eth0
ip -n "$C6" addr del "$LAB_CT2/128" dev eth0

# ---------------------------------------------------------------------------------------------
SCAN=10000
lab_reduced && SCAN=3000
section "5. a scan of $SCAN random targets at 1,000 NS/s stays within the limits"
owned_before=$(owned_set)
probes=$(counter on_demand_probes)
cpu0=$(awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat")
hz=$(getconf CLK_TCK)
max_neigh=0
neigh_count() {
    ip -n "$LAB_H" -6 neigh show | grep -cv "^fe80\|PERMANENT" || true
}
# Half the targets where containers live (the bridge's and c6's /112s), half anywhere.
ip netns exec "$LAB_R" "$LAB_PYTHON" "$LAB_LIB_DIR/ndp_scan.py" --iface wan --source "$LAB_ROUTER" \
    --prefix "$LAB_PREFIX" --within "$LAB_P::2:0/112" --within "$LAB_P::6:0/112" \
    --within "$LAB_PREFIX" --count "$SCAN" --rate 1000 >"$LAB_DIR/scan.json" &
scan_pid=$!
lab_bg "$scan_pid"
while kill -0 "$scan_pid" 2>/dev/null; do
    n=$(neigh_count)
    ((n > max_neigh)) && max_neigh=$n
    sleep 0.2
done
wait "$scan_pid" || fail "the scan failed"
cpu1=$(awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat")
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT_PID/status")
scan_s=$(jq -r .duration_s "$LAB_DIR/scan.json")
scan_probes=$(($(counter on_demand_probes) - probes))
cpu_ms=$(((cpu1 - cpu0) * 1000 / hz))
echo "# scan: $SCAN NS in ${scan_s} s; probes ${scan_probes}; limited $(counter on_demand_limited); negative hits $(counter on_demand_negative_hits); agent CPU ${cpu_ms} ms; RSS ${rss} kB; max host neighbours ${max_neigh}"
# The limits: 100 probes a second (on_demand_rate) with 64 in flight, each for up to a second.
limit=$(awk -v s="$scan_s" 'BEGIN { printf "%d", 100 + 100 * (s + 2) }')
((scan_probes <= limit)) || afail "the scan made $scan_probes probes (limit $limit)"
ok "the scan made $scan_probes probes (limit $limit over ${scan_s} s)"
((max_neigh <= 64 + 20)) || afail "the host's neighbour tables reached $max_neigh entries"
ok "the host's neighbour tables peaked at $max_neigh entries (64 probes in flight at most)"
wait_for 5 [ "$(counter on_demand_pending)" = 0 ] || afail "probes still pending after the scan"
owned_is "$owned_before" || afail "the scan changed the proxy table: $(diff <(echo "$owned_before") <(owned_set) || true)"
ok "nothing was installed for an address nobody holds; every entry is still there"
for ct in "vc1 $LAB_CT1" "br0 $LAB_CT2" "br0 $LAB_CT3"; do
    read -r dev addr <<<"$ct"
    state=$(neigh_state "$dev" "$addr")
    [[ -n $state && $state != FAILED && $state != INCOMPLETE ]] ||
        afail "$addr lost its neighbour entry on $dev during the scan (state '${state}')"
done
ok "c1, c2 and c3 keep their neighbour entries"
answered=$(jq -r '.answered | length' "$LAB_DIR/scan.json")
ok "the scan got $answered answers (random targets that exist, if any)"

# ---------------------------------------------------------------------------------------------
section "6. all-multicast ends with the agent, even a SIGKILLed one; the admin's flag stays"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || fail "agent o2 exited $AGENT_RC on SIGTERM"
expect_eq "SIGTERM: eth0 no longer receives all multicast" false "$(allmulti_h)"
agent_start o6 --config "$LAB_DIR/o2.json"
wait_for 3 [ "$(allmulti_h)" = true ] || afail "the restarted agent took no all-multicast reference"
agent_kill9
expect_eq "SIGKILL: the kernel let go of the dead agent's reference" false "$(allmulti_h)"
ip -n "$LAB_H" link set eth0 allmulticast on
agent_start o6b --config "$LAB_DIR/o2.json"
wait_for 3 grep "receiving all multicast on eth0" "$AGENT_LOG" >/dev/null || afail "the agent did not take its reference"
agent_stop_term 3
expect_eq "the admin's allmulticast on survives the agent" true "$(allmulti_h)"
expect_eq "and is still the admin's flag" true "$(admin_allmulti_h)"
ip -n "$LAB_H" link set eth0 allmulticast off
expect_eq "the admin's allmulticast off: nothing left" false "$(allmulti_h)"
_host_has_ra_default || fail "the host lost its RA default route"
ok "the host keeps its RA default route"
