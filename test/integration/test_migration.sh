#!/usr/bin/env bash
# Integration test of unsolicited advertisements on claim: a container moves between two hosts on
# one provider link, each running ndpsync. The router already has the container's address at the
# old host's MAC; the new host's unsolicited NA (override set) moves it at once. Without it the
# router finds out only when its entry goes stale and its probes of the old MAC fail.
#
#   provider router r: a bridge `wan` (the /64, radvd) with two ports:
#     host h1 [eth0 SLAAC] ──┐                 container c [eth0 ::5:2/112, nodad]
#     host h2 [eth0 SLAAC] ──┴── r             moves: a veth vcm ::5:1/112 on h1, then on h2
#   The old host blackholes the /112 once the container left (else it would forward the router's
#   packets to the new host, and "reachable" would not mean "reached on the new host").
#
#   1. the router pings c on h1; c moves to h2 (unsolicited_na on, the default): h2 asks the link
#      whether anyone else answers for c's address (one solicitation, a 1 s window); nobody does
#      (h1 withdrew), so the override NA follows, the router's entry moves to h2's MAC and the
#      ping gets through within 2.5 s of c's first packet on h2.
#   2. c moves back, then to h2 again with unsolicited_na false on h2: the router reaches it only
#      after its entry went stale and the old MAC failed its probes (router reachable time
#      ROUTER_REACHABLE_MS, default 4000 here; the kernel's default is 30000).
#   3. the router does not track c (its entry deleted): the NA is ignored with
#      accept_untracked_na 0, and makes a STALE entry at the new host's MAC with 1.
#   4. a second container d with c's address on h1, while c lives on h2 and h1's table does not
#      know it: h1 proxies d (its holder answers), but asks the link before any override, h2
#      answers, and h1 withholds the NA: the router's entry stays at h2's MAC and it keeps
#      reaching c. Then c moves back to h1 while h1's uplink table still has c's address STALE at
#      h2's MAC (what reaching c over the link leaves): the claim does not wait for that entry
#      (the holder is verified downstream), and the NA follows once h2 no longer answers.
#   Times are printed as "# migration ...". Both hosts keep their RA default routes.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~40 s (minutes with ROUTER_REACHABLE_MS=30000).
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_migration.sh
set -euo pipefail

LAB=${LAB:-nmg$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT
ROUTER_REACHABLE_MS=${ROUTER_REACHABLE_MS:-4000}

H1=${LAB}h1
H2=${LAB}h2
C=${LAB}c
D=${LAB}d
GW=$LAB_P::5:1
CT=$LAB_P::5:2
LAB_NAMESPACES=("$LAB_R" "$H1" "$H2" "$C" "$D")
[[ -e /proc/sys/net/ipv6/conf/all/accept_untracked_na ]] ||
    { echo "SKIP: this kernel has no accept_untracked_na (before 5.19)"; exit 77; }

# --- the lab: lab_up's bookkeeping, with two hosts on a bridge at the router -----------------
LAB_IS_UP=1
LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ndpsync-lab.XXXXXX")
chmod 0700 "$LAB_DIR"
_root_state >"$LAB_DIR/root.before" 2>&1
LAB_ROOT_FP=$(root_fingerprint)
for ns in "${LAB_NAMESPACES[@]}"; do _ns_init "$ns"; done
ip netns exec "$LAB_R" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$LAB_R" link add name wan type bridge stp_state 0 mcast_snooping 0
ip -n "$LAB_R" addr add "$LAB_ROUTER/64" dev wan
ip -n "$LAB_R" link set wan up
ip netns exec "$LAB_R" sysctl -qw "net.ipv6.neigh.wan.base_reachable_time_ms=$ROUTER_REACHABLE_MS"
_start_radvd
for h in 1 2; do
    ip -n "$LAB_R" link add name "rp$h" type veth peer name eth0 netns "${LAB}h$h"
    ip -n "$LAB_R" link set "rp$h" master wan up
    ip -n "${LAB}h$h" link set eth0 up
done
for h in "$H1" "$H2"; do
    LAB_H=$h wait_for 30 _host_has_ra_default || fail "$h got no RA default route"
    LAB_H=$h wait_for 10 _host_has_slaac || fail "$h got no SLAAC address"
done
ip -n "$C" link set lo up
ok "router, two hosts on its bridge, and a container namespace are up"

# --- helpers --------------------------------------------------------------------------------
declare -A SOCK PID
# agent_on HOST CONFIG_JSON: (re)starts the agent in HOST's namespace.
agent_on() {
    local h=$1
    [[ -n ${PID[$h]:-} ]] && { kill -TERM "${PID[$h]}"; wait "${PID[$h]}" 2>/dev/null || true; }
    echo "$2" >"$LAB_DIR/$h.json"
    SOCK[$h]=$LAB_DIR/$h.sock
    ip netns exec "$h" "$NDPSYNC" run --config "$LAB_DIR/$h.json" --status-socket "${SOCK[$h]}" \
        --log-level debug >>"$LAB_DIR/$h.log" 2>&1 &
    PID[$h]=$!
    lab_bg "${PID[$h]}"
    wait_for 5 status_on "$h" || fail "agent on $h did not start: $(tail -5 "$LAB_DIR/$h.log")"
}
status_on() {
    ip netns exec "$1" "$NDPSYNC" status --socket "${SOCK[$1]}" --json
}
counter_on() {
    status_on "$1" | jq -r ".counters.$2"
}
proxied_on() {
    ip -n "$1" -6 neigh show proxy | grep -F "$CT " >/dev/null
}
withdrawn_on() { ! proxied_on "$1"; }
mac_on() {
    ip -n "$1" -j link show dev eth0 | jq -r '.[0].address'
}
router_mac_for_ct() {
    ip -n "$LAB_R" -6 neigh show "$CT" dev wan | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'
}
uplink_neigh_on() {   # uplink_neigh_on HOST: HOST's eth0 entry for c's address ("" when none)
    ip -n "$1" -j -6 neigh show "$CT" dev eth0 | jq -r '.[0] | "\(.lladdr // "-") \(.state[0])" // ""'
}
# leave FROM: c's veth goes from FROM, which blackholes the /112 first (behind the /112 of vcm's
# address until that goes): the old host never forwards the address to the link, nor learns it
# there as another node's.
leave() {
    ip -n "$1" -6 route add blackhole "$LAB_P::5:0/112" metric 2048
    ip -n "$1" link del vcm
}
# arrive TO [NS] [WAIT]: a container namespace (c by default) with c's address behind a veth vcm
# on TO; waits WAIT s (default 5) for TO to proxy it. Sets MOVED_AT (epoch seconds) to the moment
# the container's first packet left on TO.
arrive() {
    local to=$1 ns=${2:-$C} wait=${3:-5}
    ip -n "$to" -6 route del blackhole "$LAB_P::5:0/112" metric 2048 2>/dev/null || true
    ip -n "$to" link add name vcm type veth peer name eth0 netns "$ns"
    ip -n "$to" addr add "$GW/112" dev vcm nodad
    ip -n "$to" link set vcm up
    ip -n "$ns" addr add "$CT/112" dev eth0 nodad
    ip -n "$ns" link set eth0 up
    ip -n "$ns" -6 route add default via "$GW" dev eth0
    MOVED_AT=$(date +%s.%N)
    wait_for 5 ip netns exec "$ns" ping -6 -c1 -W1 -n "$GW" || fail "$ns cannot ping its gateway on $to"
    wait_for "$wait" proxied_on "$to" || fail "$to did not proxy $CT: $(tail -3 "$LAB_DIR/$to.log")"
}
move_to() {   # move_to TO [FROM]
    [[ -z ${2:-} ]] || leave "$2"
    arrive "$1"
}
# reach_ms: from MOVED_AT to the first echo reply the router's running ping got after it.
ROUTER_PING_LOG=""
start_router_ping() {
    ROUTER_PING_LOG=$LAB_DIR/ping.$RANDOM.log
    ip netns exec "$LAB_R" ping -6 -D -i 0.02 -n "$CT" >"$ROUTER_PING_LOG" 2>&1 &
    ROUTER_PING=$!
    lab_bg "$ROUTER_PING"
}
stop_router_ping() {
    kill "$ROUTER_PING" 2>/dev/null || true
    wait "$ROUTER_PING" 2>/dev/null || true
}
_reached() {
    REACH_MS=$(awk -v t0="$MOVED_AT" '/bytes from/ { t = substr($1, 2, length($1) - 2); if (t > t0) { printf "%d", (t - t0) * 1000; exit } }' "$ROUTER_PING_LOG")
    [[ -n $REACH_MS ]]
}

# ---------------------------------------------------------------------------------------------
section "1. with the unsolicited NA (the default), the router follows at once"
agent_on "$H1" '{}'
agent_on "$H2" '{}'
move_to "$H1"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT" || fail "the router cannot reach c on h1"
expect_eq "the router has c at h1's MAC" "$(mac_on "$H1")" "$(router_mac_for_ct)"
start_router_ping
move_to "$H2" "$H1"
wait_for 5 _reached || fail "the router did not reach c on h2 within 5 s (with the NA)"
stop_router_ping
with_na=$REACH_MS
# Two: c's address and the gateway address h2 just configured on vcm.
wait_true 3 '[ "$(counter_on "$H2" adverts_unsolicited)" = 2 ]' ||
    fail "h2 sent $(counter_on "$H2" adverts_unsolicited) unsolicited NAs, want 2"
ok "h2 sent two unsolicited NAs"
expect_eq "the router has c at h2's MAC" "$(mac_on "$H2")" "$(router_mac_for_ct)"
((with_na < 2500 * LAB_TIME_SCALE)) || fail "with the NA the router reached c after $with_na ms"
ok "with the NA the router reached c on h2 $with_na ms after c's first packet there"

# ---------------------------------------------------------------------------------------------
section "2. without it, the router follows only when its entry fails"
move_to "$H1" "$H2"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT" || fail "the router cannot reach c back on h1"
agent_on "$H2" '{"unsolicited_na": false}'
wait_true 5 '[ "$(router_mac_for_ct)" = "$(mac_on "$H1")" ]' || fail "the router does not have c at h1's MAC"
start_router_ping
move_to "$H2" "$H1"
wait_for $((ROUTER_REACHABLE_MS * 3 / 2000 + 20)) _reached || fail "the router never reached c on h2 without the NA"
stop_router_ping
without_na=$REACH_MS
expect_eq "h2 sent no unsolicited NA" 0 "$(counter_on "$H2" adverts_unsolicited)"
((without_na > with_na)) || fail "without the NA ($without_na ms) not slower than with it ($with_na ms)"
ok "without the NA the router reached c on h2 after $without_na ms (router reachable time $ROUTER_REACHABLE_MS ms)"
echo "# migration reach with-na ${with_na} ms without-na ${without_na} ms router-base-reachable ${ROUTER_REACHABLE_MS} ms"

# ---------------------------------------------------------------------------------------------
section "3. a router that does not track the address ignores the NA, unless accept_untracked_na"
for untracked in 0 1; do
    if [[ $untracked == 0 ]]; then to=$H1 from=$H2; else to=$H2 from=$H1; fi
    agent_on "$to" '{}'
    ip netns exec "$LAB_R" sysctl -qw "net.ipv6.conf.wan.accept_untracked_na=$untracked"
    ip -n "$LAB_R" -6 neigh del "$CT" dev wan 2>/dev/null || true
    before=$(counter_on "$to" adverts_unsolicited)
    move_to "$to" "$from"
    wait_true 3 '[ "$(counter_on "$to" adverts_unsolicited)" -gt "$before" ]' ||
        fail "$to sent no NA: $(grep -E "proxying|announc|asking|neighbour 2001" "$LAB_DIR/$to.log" | tail -n 12)
$(status_on "$to" | jq -c .counters); uplink: $(uplink_neigh_on "$to"); $from proxies: $(ip -n "$from" -6 neigh show proxy)"
    ip -n "$LAB_R" -6 neigh flush dev wan nud failed 2>/dev/null || true
    entry=$(ip -n "$LAB_R" -6 neigh show "$CT" dev wan)
    if [[ $untracked == 0 ]]; then
        [[ -z $entry ]] || fail "accept_untracked_na 0: the router made an entry from the NA: $entry"
        ok "accept_untracked_na 0: the NA was ignored (no entry for $CT at the router)"
    else
        # The counter moves when the NA leaves $to; the router takes it a moment later.
        wait_true 3 '[ -n "$(ip -n "$LAB_R" -6 neigh show "$CT" dev wan)" ]' ||
            fail "accept_untracked_na 1: the router made no entry from the NA"
        entry=$(ip -n "$LAB_R" -6 neigh show "$CT" dev wan)
        expect_eq "accept_untracked_na 1: the router's new entry is at $to's MAC" "$(mac_on "$to")" "$(router_mac_for_ct)"
        grep STALE <<<"$entry" >/dev/null || fail "the entry is not STALE: $entry"
    fi
done

# ---------------------------------------------------------------------------------------------
section "4. a container cannot make h1 override an address h2 answers for; c moving back can"
# c is on h2; h1's uplink table does not know c's address (the case no guard saw before).
ip -n "$H1" -6 neigh del "$CT" dev eth0 2>/dev/null || true
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT" || fail "the router cannot reach c on h2"
expect_eq "the router has c at h2's MAC" "$(mac_on "$H2")" "$(router_mac_for_ct)"
adverts=$(counter_on "$H1" adverts_unsolicited)
probes=$(counter_on "$H1" uplink_probes)
# A second container d with c's address on h1: its holder answers, so h1 proxies it, but asks the
# link before any override; h2 answers for c.
ip -n "$H1" -6 route del blackhole "$LAB_P::5:0/112" metric 2048
ip -n "$H1" link add name vcm type veth peer name eth0 netns "$D"
ip -n "$H1" addr add "$GW/112" dev vcm nodad
ip -n "$H1" link set vcm up
ip -n "$D" addr add "$CT/112" dev eth0 nodad
ip -n "$D" link set eth0 up
wait_for 5 ip netns exec "$D" ping -6 -c1 -W1 -n "$GW" || fail "the second container cannot ping h1"
wait_for 10 proxied_on "$H1" || fail "h1 did not proxy d's $CT (its holder answers)"
router_keeps_c() {
    [[ $(router_mac_for_ct) == "$(mac_on "$H2")" ]] &&
        ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT" >/dev/null 2>&1
}
hold_for 5 router_keeps_c ||
    fail "the router's entry for $CT left h2 (now $(router_mac_for_ct)) after ${HOLD_BROKE_MS} ms"
ok "for $HOLD_SECS s the router kept c at h2's MAC and reached it (${HOLD_SAMPLES} samples)"
(($(counter_on "$H1" uplink_probes) > probes)) || fail "h1 did not ask the link before an override for $CT"
ok "h1 asked the link before any override for $CT"
# Only the other claim, the gateway address h1 just configured on vcm, may be announced.
((($(counter_on "$H1" adverts_unsolicited) - adverts) <= 1)) ||
    fail "h1 announced $CT although h2 answers for it"
ok "h1 sent no override for $CT: h2 answers for it"
ip -n "$H1" link del vcm
ip -n "$H1" -6 route add blackhole "$LAB_P::5:0/112" metric 2048
wait_for 5 withdrawn_on "$H1" || fail "h1 still proxies $CT after d left"
# c comes back to h1, whose uplink table has c's address at h2's MAC, STALE: h1 reached c over
# the link. The claim does not wait for that entry; the override follows once h2 withdrew.
ip -n "$H1" -6 route del blackhole "$LAB_P::5:0/112" metric 2048
wait_for 5 ip netns exec "$H1" ping -6 -c1 -W1 -n "$CT" || fail "h1 cannot reach c on h2 over the link"
ip -n "$H1" -6 route add blackhole "$LAB_P::5:0/112" metric 2048
ip -n "$H1" -6 neigh change "$CT" dev eth0 lladdr "$(mac_on "$H2")" nud stale
expect_eq "h1's uplink has c at h2's MAC" "$(mac_on "$H2") STALE" "$(uplink_neigh_on "$H1")"
adverts=$(counter_on "$H1" adverts_unsolicited)
start_router_ping
leave "$H2"
arrive "$H1" "$C" 5
back_ms=$(awk -v t0="$MOVED_AT" -v t1="$(date +%s.%N)" 'BEGIN { printf "%d", (t1 - t0) * 1000 }')
ok "c back on h1: proxied after ${back_ms} ms, whatever h1's STALE entry at h2's MAC says"
echo "# migration back-with-stale-entry ${back_ms} ms"
wait_for 5 _reached || fail "the router did not reach c back on h1 within 5 s"
stop_router_ping
((($(counter_on "$H1" adverts_unsolicited) - adverts) >= 1)) || fail "h1 sent no NA for c"
ok "the router reached c back on h1 ${REACH_MS} ms after c's first packet there"
echo "# migration back-reach ${REACH_MS} ms"

for h in "$H1" "$H2"; do
    LAB_H=$h _host_has_ra_default || fail "$h lost its RA default route"
done
ok "both hosts keep their RA default routes"
