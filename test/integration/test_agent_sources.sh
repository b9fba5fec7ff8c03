#!/usr/bin/env bash
# Integration test of the sources that need nothing from a container: a /128 route into a
# downstream interface (an Incus/LXD routed NIC), a static address from the config, and two
# uplinks with prefixes of their own.
#
#   1. routed NIC: a container namespace behind veth vr5, its address configured only inside
#      (nodad, it never sends a packet); on the host only `ip -6 route add ADDR/128 dev vr5` and
#      Incus's fe80::1 on vr5. The agent proxies ADDR within 1 s (scaled) of the route appearing
#      (the time is printed). Deleting the route withdraws the entry, adding it back restores
#      it, and the router then pings the container.
#   2. static: an address nobody holds, named under `static`, is proxied on start, skipped when
#      it is the router's, and withdrawn by a SIGHUP reload without it.
#   3. two uplinks: eth1 to the router's wan2 on 2001:db8:0:2::/64 and a container in that
#      prefix behind vc4; with `uplink_prefixes`, each address is claimed only on its own uplink,
#      and the router reaches the eth1 container through eth1.
#   Throughout: the host's RA default route on eth0 survives.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~15 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_agent_sources.sh
set -euo pipefail

LAB=${LAB:-nsr$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

ROUTED=$LAB_P::5:5   # the routed NIC's container
STATIC=$LAB_P::6:6   # a static address nobody holds
P2=2001:db8:0:2
ROUTER2=$P2::1       # the router's wan2
HOST2=$P2::2         # the host's eth1
VC4=$P2::4:1         # host side of vc4
CT4=$P2::4:2         # a container in the second prefix

proxies_on() {   # proxies_on IFACE: our entries there, sorted
    ip -n "$LAB_H" -6 neigh show proxy dev "$1" |
        awk -v p="proto $LAB_OWNER_PROTO" 'index($0, p) { print $1 }' | sort
}
on_uplink() { proxies_on "$1" | grep -x "$2" >/dev/null; }
default_route_kept() {
    wait_for 15 _host_has_ra_default || afail "the host lost its RA default route on eth0 ($1)"
    ok "the host's RA default route on eth0 survives ($1)"
}

# ---------------------------------------------------------------------------------------------
section "0. the agent, with $STATIC static; a routed NIC's container, not yet routed"
# The host knows the router's global address the way it knows every uplink node: from its
# neighbour table (the router answers with R=1). Talk to it once, as a host does.
wait_for 5 ip netns exec "$LAB_H" ping -6 -c1 -W1 -n "$LAB_ROUTER" || fail "host cannot ping the router"
CONF=$LAB_DIR/s.json
printf '{"static": {"eth0": ["%s", "%s"]}}\n' "$STATIC" "$LAB_ROUTER" >"$CONF"
agent_start s --config "$CONF"
wait_for 5 owned_has "$STATIC" || afail "static $STATIC not proxied after start"
ok "static $STATIC proxied on start"
expect_eq "the router's address under static is skipped as the router's" "uplink-router" \
    "$(status_q "[.skipped[] | select(.address == \"$LAB_ROUTER\") | .reason] | unique | join(\",\")")"
expect_eq "status: source of $STATIC" "static" \
    "$(status_q ".entries[] | select(.address == \"$STATIC\") | .source")"
owned_lacks "$LAB_ROUTER" || afail "the router's address was proxied"

C5=${LAB}c5
LAB_NAMESPACES+=("$C5")
_ns_init "$C5"
ip -n "$LAB_H" link add name vr5 type veth peer name eth0 netns "$C5"
ip -n "$LAB_H" addr add fe80::1/64 dev vr5 nodad
ip -n "$LAB_H" link set vr5 up
ip -n "$C5" addr add "$ROUTED/128" dev eth0 nodad
ip -n "$C5" link set eth0 up
ip -n "$C5" -6 route add default via fe80::1 dev eth0
hold_for 1 owned_lacks "$ROUTED" || afail "$ROUTED proxied before any route named it"
[[ -z $(ip -n "$LAB_H" -6 neigh show "$ROUTED") ]] || afail "the host already knows $ROUTED"
ok "$ROUTED not proxied while only the container knows it; no neighbour entry on the host"

# ---------------------------------------------------------------------------------------------
section "1. routed NIC: ip -6 route add $ROUTED/128 dev vr5"
# The time from `ip route add` starting to the entry being visible, polled back to back with
# `ip neigh show proxy` (each poll costs a few ms: the figure is an upper bound at that
# resolution). Bound: 1 s, scaled; the goal is 100 ms.
limit_us=$((1000000 * LAB_TIME_SCALE))
route_to_proxy() {   # sets LATENCY_US
    local t0
    t0=$(_now_us)
    ip -n "$LAB_H" -6 route add "$ROUTED/128" dev vr5
    while ! on_uplink eth0 "$ROUTED"; do
        (($(_now_us) - t0 < limit_us)) ||
            afail "$ROUTED not proxied within $((limit_us / 1000)) ms of its route"
    done
    LATENCY_US=$(($(_now_us) - t0))
}
ms_of() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
route_to_proxy
ok "$ROUTED proxied $(ms_of "$LATENCY_US") ms after the route was added (bound $((limit_us / 1000)) ms)"
samples=("$LATENCY_US")
expect_eq "status: source and interface of $ROUTED" "route vr5" \
    "$(status_q ".entries[] | select(.address == \"$ROUTED\") | \"\(.source) \(.interface)\"")"
expect_eq "a route source is not verified (configured state)" "0" \
    "$(status_q "[.verifying[] | select(.address == \"$ROUTED\")] | length")"
# Before anyone talks to the container: once the host has its neighbour entry on vr5, that is a
# source too (until the veth goes). Delete and add the route again for more samples.
rounds=10
lab_reduced && rounds=3
for ((i = 0; i < rounds; i++)); do
    ip -n "$LAB_H" -6 route del "$ROUTED/128" dev vr5
    wait_for 3 owned_lacks "$ROUTED" || afail "$ROUTED not withdrawn after its route was deleted"
    route_to_proxy
    samples+=("$LATENCY_US")
done
ok "route deleted and added $rounds times: withdrawn and proxied again each time"
sorted=$(printf '%s\n' "${samples[@]}" | sort -n)
n=${#samples[@]}
echo "ROUTE_TO_PROXY_MS n=$n min=$(ms_of "$(head -n1 <<<"$sorted")")" \
    "median=$(ms_of "$(sed -n "$(((n + 1) / 2))p" <<<"$sorted")")" \
    "max=$(ms_of "$(tail -n1 <<<"$sorted")")"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$ROUTED" || afail "router cannot ping $ROUTED"
ok "the router pings the routed NIC's container $ROUTED"
default_route_kept "routed NIC"

# ---------------------------------------------------------------------------------------------
section "2. static: a SIGHUP reload without $STATIC withdraws it"
echo '{}' >"$CONF"
kill -HUP "$AGENT_PID"
wait_for 3 owned_lacks "$STATIC" || afail "$STATIC not withdrawn by a reload without it"
ok "reload without static: $STATIC withdrawn"
owned_has "$ROUTED" || afail "the reload lost $ROUTED"
owned_has "$LAB_CT1" || afail "the reload lost $LAB_CT1"
ok "the other entries stay"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || fail "agent s exited $AGENT_RC on SIGTERM"

# ---------------------------------------------------------------------------------------------
section "3. two uplinks, each with its own /64"
ip -n "$LAB_R" link add name wan2 type veth peer name eth1 netns "$LAB_H"
ip -n "$LAB_R" addr add "$ROUTER2/64" dev wan2
ip -n "$LAB_R" link set wan2 up
ip -n "$LAB_H" addr add "$HOST2/64" dev eth1
ip -n "$LAB_H" link set eth1 up
add_container "${LAB}c4" vc4 "$CT4" "$VC4"
ip -n "$LAB_H" addr add "$VC4/112" dev vc4
# The container speaks once, so the host has its neighbour entry: a neighbour source on vc4.
wait_for 5 ip netns exec "${LAB}c4" ping -6 -c1 -W1 -n "$VC4" || fail "container c4 cannot reach $VC4"
cat >"$CONF" <<EOF
{
  "uplinks": ["eth0", "eth1"],
  "uplink_prefixes": {"eth0": ["$LAB_PREFIX"], "eth1": ["$P2::/64"]},
  "static": {"eth1": ["$P2::6:6", "$LAB_P::6:7"]}
}
EOF
agent_start t --config "$CONF"
wait_for 5 on_uplink eth1 "$CT4" || afail "$CT4 not proxied on eth1"
wait_for 5 on_uplink eth1 "$P2::6:6" || afail "static $P2::6:6 not proxied on eth1"
wait_for 5 on_uplink eth0 "$LAB_CT1" || afail "$LAB_CT1 not proxied on eth0"
expect_eq "eth1 holds only the second prefix's addresses" \
    "$(printf '%s\n' "$P2::4:1" "$CT4" "$P2::6:6" | sort)" "$(proxies_on eth1)"
expect_eq "eth0 holds only the first prefix's addresses" \
    "$(printf '%s\n' "${LAB_EXPECTED[@]}" "$ROUTED" | sort)" "$(proxies_on eth0)"
expect_eq "static $LAB_P::6:7, named for eth1 but in eth0's prefix, is skipped" "outside-prefix" \
    "$(status_q "[.skipped[] | select(.address == \"$LAB_P::6:7\") | .reason] | unique | join(\",\")")"
for i in 0 1; do
    expect_eq "sysctl eth$i forwarding" 1 "$(sysctl_h "net.ipv6.conf.eth$i.forwarding")"
done
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT4" || afail "router cannot ping $CT4 through eth1"
ok "the router pings $CT4 through eth1"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT1" || afail "router cannot ping $LAB_CT1"
ok "the router pings $LAB_CT1 through eth0"
default_route_kept "two uplinks"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || fail "agent t exited $AGENT_RC on SIGTERM"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_agent_sources ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
