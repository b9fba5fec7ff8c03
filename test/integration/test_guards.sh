#!/usr/bin/env bash
# Integration test of ndpsync's guards: addresses it must never proxy even though a container
# (a neighbour on a downstream interface) claims them, the deny list, the per-interface allow
# list (interface_prefixes), and the per-interface cap against a container flooding addresses.
#
#   1. forbidden classes planted as neighbours on br0: the router's global address (a router
#      neighbour on eth0), the host's static and SLAAC addresses on eth0, another node on the
#      uplink (a non-router neighbour on eth0: the "conflict on the uplink" case) and an address
#      outside the /64. `reconcile --json` and the agent's `status --json` must skip each with
#      the right reason and install none of them. (Planted as permanent entries: nothing
#      downstream verifies them. The other node here is an address of the router's wan, at the
#      router's MAC: the router's own, refused as uplink-router even for a live container.)
#   2. deny ["::2:3/128"] -> denied; interface_prefixes {"vc1": ["::1:0/112"]} with a neighbour
#      at ::2:99 on vc1 -> not-allowed, while ::1:2 stays.
#   3. max_entries_per_interface 50 and a container (c2) that takes 300 addresses and pings the
#      gateway from each: exactly 50 entries from br0, the rest capped, the cap warning logged at
#      most twice, and nothing installed before the flood is evicted.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~20-40 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_guards.sh
set -euo pipefail

LAB=${LAB:-ngd$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/guards.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

ALL5=$(lab_expected_minus "")
H_STATIC=$LAB_P::100          # a static address added to the host's eth0
OTHER=$LAB_P::77              # another node on the uplink (an address of the router's wan)
OUTSIDE=2001:db8:9::1         # outside the /64
H_SLAAC=$(lab_host_slaac)
[[ -n $H_SLAAC ]] || fail "host has no SLAAC address"

# ---------------------------------------------------------------------------------------------
section "0. set the stage: the uplink's own addresses, its router and another node on it"
# The router's global address: the host learns it on eth0 by pinging it; the router's answer
# carries the Router flag.
wait_for 10 ip netns exec "$LAB_H" ping -6 -c1 -W1 -n "$LAB_ROUTER" || fail "host cannot ping the router"
wait_for 3 _host_neigh_present eth0 "$LAB_ROUTER" || fail "host has no neighbour entry for $LAB_ROUTER"
ip -n "$LAB_H" -6 neigh show "$LAB_ROUTER" dev eth0 | grep -w router >/dev/null ||
    fail "host's entry for $LAB_ROUTER lacks the router flag: $(ip -n "$LAB_H" -6 neigh show "$LAB_ROUTER" dev eth0)"
ok "host learned the router $LAB_ROUTER on eth0, with the router flag"

ip -n "$LAB_H" addr add "$H_STATIC/64" dev eth0 nodad
ok "host eth0 has the static $H_STATIC and the SLAAC $H_SLAAC"

# Another node on the uplink: the router's NA carries R=1 while its wan forwards, so for a plain
# (non-router) neighbour the router answers this one NS as a host (wan.forwarding=0 for a moment).
learn_plain_uplink_neighbour "$OTHER"
ok "host learned $OTHER on eth0 as a plain neighbour: $(ip -n "$LAB_H" -6 neigh show "$OTHER" dev eth0 | sed 's/ *$//')"

# A container on br0 claims each of them (and one outside the /64): permanent neighbour entries.
declare -A WANT_REASON=(
    ["$LAB_ROUTER"]="uplink-router"
    ["$H_STATIC"]="uplink-address"
    ["$H_SLAAC"]="uplink-address"
    ["$OTHER"]="uplink-neighbour"
    ["$OUTSIDE"]="outside-prefix"
)
FORBIDDEN=("$LAB_ROUTER" "$H_STATIC" "$H_SLAAC" "$OTHER" "$OUTSIDE")
i=16
for a in "${FORBIDDEN[@]}"; do
    ip -n "$LAB_H" -6 neigh add "$a" lladdr "02:00:5e:00:53:$i" dev br0 nud permanent
    i=$((i + 1))
done
ok "planted ${#FORBIDDEN[@]} permanent neighbours on br0: ${FORBIDDEN[*]}"
# The router's entries may legitimately read uplink-router or uplink-neighbour: both refuse them.
# OTHER, an address of the router's wan, is at the router's MAC: the router's (uplink-router).
reason_ok() {   # reason_ok ADDR GOT
    local want=${WANT_REASON[$1]} got=$2
    [[ $got == "$want" ]] && return 0
    [[ ($1 == "$LAB_ROUTER" || $1 == "$OTHER") && $got == uplink-* ]] && return 0
    return 1
}

# check_forbidden WHAT DOC: each forbidden address is skipped on br0 with its reason, and has no
# proxy entry on any interface.
check_forbidden() {
    local what=$1 doc=$2 a got
    for a in "${FORBIDDEN[@]}"; do
        got=$(jq -r --arg a "$a" \
            '[.skipped[] | select(.address == $a and .interface == "br0") | .reason] | join(",")' <<<"$doc")
        reason_ok "$a" "$got" ||
            afail "$what: $a on br0 skipped as '$got', want '${WANT_REASON[$a]}'"$'\n'"skipped: $(jq -c .skipped <<<"$doc")"
        ok "$what: $a skipped on br0 as $got"
        [[ -z $(ip -n "$LAB_H" -6 neigh show proxy "$a") ]] ||
            afail "$what: $a has a proxy entry: $(ip -n "$LAB_H" -6 neigh show proxy "$a")"
    done
    ok "$what: none of the ${#FORBIDDEN[@]} forbidden addresses has a proxy entry (any interface)"
}

# ---------------------------------------------------------------------------------------------
section "1. one-shot reconcile refuses every forbidden class"
nds_run reconcile --json
[[ $NDS_RC -eq 0 ]] || fail "reconcile --json exited $NDS_RC: $NDS_ERR"
jq -e '.schema == 1 and (.errors | length == 0)' >/dev/null <<<"$NDS_OUT" ||
    fail "reconcile --json: not a clean schema-1 document: $NDS_OUT"
ok "reconcile --json exits 0 with a clean document"
check_forbidden "reconcile" "$NDS_OUT"
expect_eq "reconcile: 'added' is exactly the five lab addresses" "$ALL5" \
    "$(jq -r '.added[].address' <<<"$NDS_OUT" | sort)"
expect_eq "reconcile: the owned set is exactly the five lab addresses" "$ALL5" "$(owned_set)"

# ---------------------------------------------------------------------------------------------
section "2. the agent refuses them too, says so once each, and a conflict that appears later"
for a in $(owned_set); do ip -n "$LAB_H" -6 neigh del proxy "$a" dev eth0; done
echo '{}' >"$LAB_DIR/g1.json"
agent_start g1 --config "$LAB_DIR/g1.json"
wait_for 3 owned_is "$ALL5" || afail "agent: owned set is not the five lab addresses: $(owned_set)"
ok "agent installed exactly the five lab addresses"
check_forbidden "agent status" "$(status_json)"
for a in "${FORBIDDEN[@]}"; do
    n=$(grep -cF "not proxying $a seen on br0: " "$AGENT_LOG" || true)
    [[ $n -eq 1 ]] || afail "agent log: 'not proxying $a seen on br0' appears $n times, want once"
done
ok "agent logged each refusal once ($(grep -F "not proxying $OTHER seen on br0" "$AGENT_LOG" | head -n1 | cut -c1-120))"

# The conflict case while the agent runs: c3 (on br0) claims a second address that the router
# answers for on the uplink. The router's addresses are the entries at its MAC (the gateway's):
# never claimed anew, however live c3 is. (A holder downstream that answers wins an address
# another *node* claims, but gets no override advert: test_migration.sh section 4.)
OTHER2=$LAB_P::78
learn_plain_uplink_neighbour "$OTHER2"
# c3 solicits its gateway from that address, so the host learns it on br0 from the NS (the
# echo reply itself goes out of eth0: the host routes the /64 there).
ip -n "$LAB_C3" addr add "$OTHER2/128" dev eth0 nodad
ip -n "$LAB_C3" -6 neigh flush dev eth0
ip netns exec "$LAB_C3" ping -6 -c1 -W1 -n -I "$OTHER2" "$LAB_BR0" >/dev/null 2>&1 || true
wait_for 3 _host_neigh_present br0 "$OTHER2" ||
    afail "host has no br0 neighbour for $OTHER2: $(ip -n "$LAB_H" -6 neigh show "$OTHER2")"
conflict_skipped() {
    [[ $(status_q "[.skipped[] | select(.address == \"$OTHER2\" and .interface == \"br0\") | .reason] | join(\",\")") \
        == uplink-router ]]
}
wait_for 3 conflict_skipped ||
    afail "c3's $OTHER2 (the router's, on the uplink) not skipped as uplink-router: $(status_json | jq -c .skipped)"
ok "c3 claims $OTHER2, the router's on the uplink: skipped as uplink-router"
hold_for 3 owned_lacks "$OTHER2" || afail "$OTHER2 got a proxy entry"
ok "$OTHER2 never got a proxy entry ($HOLD_SECS s)"
expect_eq "the owned set is still the five lab addresses" "$ALL5" "$(owned_set)"
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent g1: exit '$AGENT_RC' after SIGTERM"
ip -n "$LAB_C3" addr del "$OTHER2/128" dev eth0
ip -n "$LAB_H" -6 neigh del "$OTHER2" dev br0 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
section "3. deny list and per-interface allow list (interface_prefixes)"
STRAY=$LAB_P::2:99
ip -n "$LAB_H" -6 neigh add "$STRAY" lladdr 02:00:5e:00:53:99 dev vc1 nud permanent
cat >"$LAB_DIR/g2.json" <<EOF
// deny c3, and let vc1 claim only its own /112
{
    "deny": ["$LAB_CT3/128"],
    "interface_prefixes": {"vc1": ["$LAB_P::1:0/112"]}
}
EOF
WANT_G2=$(lab_expected_minus "$LAB_CT3")
check_policy() {   # check_policy WHAT DOC
    local what=$1 doc=$2
    expect_eq "$what: $LAB_CT3 skipped on br0 as denied" "denied" \
        "$(jq -r --arg a "$LAB_CT3" '[.skipped[] | select(.address == $a and .interface == "br0") | .reason] | join(",")' <<<"$doc")"
    expect_eq "$what: $STRAY skipped on vc1 as not-allowed" "not-allowed" \
        "$(jq -r --arg a "$STRAY" '[.skipped[] | select(.address == $a and .interface == "vc1") | .reason] | join(",")' <<<"$doc")"
    [[ -z $(ip -n "$LAB_H" -6 neigh show proxy "$STRAY") ]] || afail "$what: $STRAY has a proxy entry"
    ok "$what: $STRAY has no proxy entry"
    expect_eq "$what: owned set is the lab minus $LAB_CT3 ($LAB_CT1 stays)" "$WANT_G2" "$(owned_set)"
}
nds_run reconcile --json --config "$LAB_DIR/g2.json"
[[ $NDS_RC -eq 0 ]] || fail "reconcile --config g2 exited $NDS_RC: $NDS_ERR"
expect_eq "reconcile: $LAB_CT3 removed (denied now)" "$LAB_CT3" "$(jq -r '.removed[].address' <<<"$NDS_OUT")"
check_policy "reconcile" "$NDS_OUT"
check_forbidden "reconcile with deny/allow lists" "$NDS_OUT"

agent_start g2 --config "$LAB_DIR/g2.json"
wait_for 3 owned_is "$WANT_G2" || afail "agent g2: owned set $(owned_set)"
check_policy "agent status" "$(status_json)"
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent g2: exit '$AGENT_RC' after SIGTERM"
ip -n "$LAB_H" -6 neigh del "$STRAY" dev vc1

# ---------------------------------------------------------------------------------------------
section "4. max_entries_per_interface 50 against a container flooding 300 addresses on br0"
# The forbidden plants of sections 0-3 go first. They were refused because the host knows their
# addresses on the uplink (the router, $OTHER), and the flood takes the neighbour table past
# gc_thresh1 (128): the kernel may then collect those uplink entries once they are older than
# gc_staletime (60 s, which a slow machine such as a qemu guest reaches by now), and the two plants
# would count as ordinary br0 candidates under the cap. This section is about the cap alone.
for a in "${FORBIDDEN[@]}"; do
    ip -n "$LAB_H" -6 neigh del "$a" dev br0
done
echo '{"max_entries_per_interface": 50}' >"$LAB_DIR/g3.json"
agent_start g3 --config "$LAB_DIR/g3.json"
wait_for 3 owned_is "$ALL5" || afail "agent g3: owned set is not the lab's five: $(owned_set)"
BEFORE=$(owned_set)
BR0_BEFORE=$(status_q '[.entries[] | select(.interface == "br0")] | length')
expect_eq "before the flood: 3 entries come from br0" 3 "$BR0_BEFORE"

FLOOD_N=300
lab_reduced && FLOOD_N=120   # still more than twice the cap
t0=$(_now_us)
flood_container "$LAB_C2" "$LAB_P::2:" 4096 "$FLOOD_N" "$LAB_BR0"   # ::2:1000 .. ::2:112b
flood_present() {
    [[ $(ip -n "$LAB_H" -6 neigh show dev br0 | grep -cE "^$LAB_P::2:1[0-9a-f]{3} .*(REACHABLE|STALE|DELAY|PROBE)") \
        -ge $FLOOD_N ]]
}
wait_for 20 flood_present ||
    afail "host has only $(ip -n "$LAB_H" -6 neigh show dev br0 | grep -cE "^$LAB_P::2:1[0-9a-f]{3} ") of $FLOOD_N flood neighbours on br0"
ok "c2 took $FLOOD_N addresses and the host has a neighbour entry for each ($(elapsed_ms "$t0") ms)"

WANT_CAPPED=$((FLOOD_N + BR0_BEFORE - 50))
capped_settled() {
    local doc
    doc=$(status_json) || return 1
    [[ $(jq -r '.counters.capped' <<<"$doc") == "$WANT_CAPPED" &&
        $(jq -r '[.entries[] | select(.interface == "br0")] | length' <<<"$doc") == 50 ]]
}
wait_for 10 capped_settled ||
    afail "agent did not settle at 50 br0 entries / $WANT_CAPPED capped: $(status_json | jq -c '{capped: .counters.capped, br0: ([.entries[] | select(.interface == "br0")] | length)}')"
DOC=$(status_json)
expect_eq "status: exactly 50 entries sourced from br0" 50 \
    "$(jq -r '[.entries[] | select(.interface == "br0")] | length' <<<"$DOC")"
got_capped=$(jq -r .counters.capped <<<"$DOC")
[[ $got_capped == "$WANT_CAPPED" ]] ||
    afail "status: counters.capped is $got_capped, want $WANT_CAPPED; capped addresses outside the flood:"$'\n'"$(jq -r --arg p "$LAB_P::2:1" '.skipped[] | select(.reason == "cap" and (.address | startswith($p) | not)) | tojson' <<<"$DOC")"$'\n'"br0 neighbours outside the flood:"$'\n'"$(ip -n "$LAB_H" -6 neigh show dev br0 | grep -vE "^$LAB_P::2:1[0-9a-f]{3} ")"
ok "status: counters.capped is the rest ($FLOOD_N + $BR0_BEFORE - 50)"
expect_eq "status: $WANT_CAPPED skipped with reason cap, all on br0" "$WANT_CAPPED br0" \
    "$(jq -r '[.skipped[] | select(.reason == "cap")] | "\(length) \([.[].interface] | unique | join(","))"' <<<"$DOC")"
expect_eq "kernel: 47 flood addresses proxied" 47 \
    "$(owned_set | grep -cE "^$LAB_P::2:1[0-9a-f]{3}$" || true)"
expect_eq "kernel: 52 owned entries in all (50 from br0, 2 from vc1)" 52 "$(owned_set | wc -l)"
missing=$(comm -23 <(echo "$BEFORE") <(owned_set))
expect_eq "nothing installed before the flood was evicted" "" "$missing"
capped_addrs=$(jq -r '.skipped[] | select(.reason == "cap") | .address' <<<"$DOC" | sort)
expect_eq "no capped address has a proxy entry" "" "$(comm -12 <(echo "$capped_addrs") <(owned_set))"

# The cap warning: at most once a minute, so once or twice in this run.
n=$(grep -c "over the cap" "$AGENT_LOG" || true)
((n >= 1 && n <= 2)) || afail "cap warning logged $n times, want 1 or 2"
ok "cap warning logged $n time(s): $(grep "over the cap" "$AGENT_LOG" | tail -n1 | cut -c1-160)"
n=$(grep -c "not proxying .* seen on br0: cap" "$AGENT_LOG" || true)
expect_eq "no per-address info line for capped addresses" 0 "$n"

# The router still reaches a proxied container and a proxied flood address.
first_flood=$(owned_set | grep -E "^$LAB_P::2:1[0-9a-f]{3}$" | head -n1)
for a in "$LAB_CT2" "$first_flood"; do
    wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$a" || afail "router cannot ping $a"
    ok "router pings $a"
done
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent g3: exit '$AGENT_RC' after SIGTERM"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_guards ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
