#!/usr/bin/env bash
# Integration test of on-demand discovery on a link that has just come up: what a host's reboot
# looks like with Docker. dockerd creates docker0 (an address from the /64, no ports yet), starts
# a container (a veth joins docker0, the container's address `nodad`, as Docker sets it), and
# monitoring pings the container at once. The host's DAD is on, as on every real host.
#
# The trap: a bridge gains carrier with its first port, and only then starts DAD on its own
# addresses. Until its link-local address is no longer tentative the kernel sends no solicitation
# from it at all (ndisc_send_ns has no source address and returns), so a probe of the container
# in that second or two is silently never sent. A miss there must not be cached for 30 s.
#
#   1. a router that asks before the bridge exists is refused (no downstream route); the bridge
#      then comes up with its first port: the next ask is probed, not answered from the cache.
#   2. a second fresh bridge, DAD on: the router pings a container on it from the moment the
#      container is up, one ping after another; the first echo comes within 5 s (it took 30-35 s when the
#      probe sent during the bridge's DAD was cached as a miss). The gap is printed.
#   3. the negative cache still works where nothing changed: a target nobody holds is probed
#      once, then refused from the cache.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~10 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_fresh_bridge.sh
set -euo pipefail

LAB=${LAB:-nfb$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

lab_up
counter() {
    status_q ".counters.$1"
}
# fresh_bridge NAME NET: a bridge like docker0, DAD on (the lab turns it off everywhere else), an
# address ::NET:1/112 (DAD on too), up, no ports: no carrier, so its DAD has not started.
fresh_bridge() {
    ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.default.accept_dad=1
    ip -n "$LAB_H" link add name "$1" type bridge
    ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.default.accept_dad=0
    ip -n "$LAB_H" addr add "$LAB_P::$2:1/112" dev "$1"
    ip -n "$LAB_H" link set "$1" up
}
# silent_container NS VETH BRIDGE ADDR: a container on BRIDGE with a nodad address that sends
# nothing (no router solicitations; DAD is off in the lab's containers).
silent_container() {
    LAB_NAMESPACES+=("$1")
    _ns_init "$1"
    ip netns exec "$1" sysctl -qw net.ipv6.conf.default.router_solicitations=0
    ip -n "$LAB_H" link add name "$2" type veth peer name eth0 netns "$1"
    ip netns exec "$1" sysctl -qw net.ipv6.conf.eth0.router_solicitations=0
    ip -n "$1" addr add "$4/112" dev eth0 nodad
    ip -n "$LAB_H" link set "$2" master "$3" up
    ip -n "$1" link set eth0 up
    ip -n "$1" -6 route add default via "${4%:*}:1" dev eth0
}
tentative_ll() {
    ip -n "$LAB_H" -6 addr show dev "$1" scope link | grep -q tentative
}

echo '{"dad_snooping": false}' >"$LAB_DIR/f.json"
agent_start f --config "$LAB_DIR/f.json"
wait_for 5 owned_has "$LAB_CT2" || afail "c2 not proxied at start"

# ---------------------------------------------------------------------------------------------
section "1. asked before the bridge exists, then the bridge comes up with its first port"
T1=$LAB_P::d:2
refused=$(counter on_demand_refused)
probe_r --target "$T1" --timeout 0.3 >/dev/null && afail "$T1 answered before anything held it"
wait_true 3 '[ "$(counter on_demand_refused)" -gt $refused ]' ||
    afail "the solicitation for $T1 was not refused (no downstream route yet)"
ok "the router's solicitation for $T1 refused: nothing routes it downstream yet"
fresh_bridge dk0 d
silent_container "${LAB}cd" vd1 dk0 "$T1"
wait_for 10 sh -c "! ip -n $LAB_H -6 addr show dev dk0 | grep -q tentative" ||
    afail "dk0's addresses still tentative after 10 s"
ok "dk0 is up with its first port, its DAD over"
wait_for 10 probe_r --target "$T1" --timeout 1 ||
    afail "the router's solicitations for $T1 were refused from the cache ($(counter on_demand_negative_hits) hits)"
wait_for 3 owned_has "$T1" || afail "$T1 answered but not proxied"
ok "$T1 probed and proxied once the bridge came up, not refused from the cache for 30 s"

# ---------------------------------------------------------------------------------------------
section "2. a container on a fresh bridge, pinged from the moment it is up"
T2=$LAB_P::e:2
fresh_bridge dk1 e
ip -n "$LAB_R" -6 neigh flush dev wan
silent_container "${LAB}ce" ve1 dk1 "$T2"
t0=$(_now_us)
tentative_ll dk1 && echo "# dk1's link-local address is tentative as the pings start"
got=""
# One echo at a time, a new ping each (as monitoring does: ping exits at the first error, the
# router's "address unreachable" after its three solicitations), every 100 ms or so.
deadline_ms=$((40000 * LAB_TIME_SCALE))
while (($(elapsed_ms "$t0") < deadline_ms)); do
    if ip netns exec "$LAB_R" ping -6 -n -c1 -W1 "$T2" >"$LAB_DIR/ping2.txt" 2>&1; then
        got=$(elapsed_ms "$t0")
        break
    fi
    sleep 0.1
done
[[ -n $got ]] || afail "the router never reached $T2 in $((deadline_ms / 1000)) s"
echo "# fresh-bridge first echo after ${got} ms (the probe during the bridge's DAD sends nothing)"
limit_ms=$((5000 * LAB_TIME_SCALE))
((got < limit_ms)) || afail "the first echo from $T2 took ${got} ms (over ${limit_ms} ms)"
ok "the router reached $T2 ${got} ms after the container came up"
owned_has "$T2" || afail "$T2 reached but not proxied"

# ---------------------------------------------------------------------------------------------
section "3. where nothing changed, a miss is still cached"
T3=$LAB_P::e:99
probes=$(counter on_demand_probes)
probe_r --target "$T3" --timeout 1.5 >/dev/null && afail "$T3 answered: nobody holds it"
wait_true 3 '[ "$(counter on_demand_probes)" -eq $((probes + 1)) ]' ||
    afail "$T3 was not probed once ($(counter on_demand_probes) vs $probes)"
wait_true 3 '[ "$(status_q .counters.on_demand_negative)" -ge 1 ]' ||
    afail "the miss for $T3 was not cached"
hits=$(counter on_demand_negative_hits)
probe_r --target "$T3" --timeout 0.3 >/dev/null && afail "$T3 answered: nobody holds it"
wait_true 3 '[ "$(counter on_demand_negative_hits)" -gt $hits ]' ||
    afail "the second solicitation for $T3 was not refused from the cache"
expect_eq "no second probe for $T3" "$((probes + 1))" "$(counter on_demand_probes)"
ip netns exec "$LAB_H" ip -6 route show default | grep -q "proto ra" ||
    afail "the host lost its RA default route"
ok "a miss on an unchanged bridge stays cached; the host keeps its default route"
