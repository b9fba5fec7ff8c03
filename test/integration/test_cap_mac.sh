#!/usr/bin/env bash
# Integration test of max_entries_per_mac: one tenant of a shared bridge cannot fill the bridge's
# cap and have another tenant's new address refused.
#
#   1. max_entries_per_interface 100 (max_entries_per_mac at its default, 64). Container c2 on br0
#      takes 200 addresses and sends an echo request to the gateway from each, as any tenant
#      can: the host learns 200 neighbours on br0, all at c2's MAC, and the agent judges them.
#   2. c3 on the same bridge takes a new address: it is proxied, and the router reaches it.
#      (Without a per-MAC cap, c2's flood fills br0's 100 and c3's new address is `cap`.)
#   3. c2 got 64 entries (its ::2:2 and 63 of the flood), the rest are refused as cap-mac: the
#      status names c2's MAC under capped_macs and counts them (counters.capped_mac), the cap
#      warning names the MAC, and br0 holds 67 of its 100.
#   4. the host's RA default route survived, nothing installed before the flood was evicted, and
#      `reconcile --json --dry-run` reports the same capped MAC.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~15-30 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_cap_mac.sh
set -euo pipefail

LAB=${LAB:-ncm$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/guards.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

PER_IF=100
PER_MAC=64   # the default: the config below leaves it out
FLOOD_N=200  # twice the interface's cap
C2_MAC=$(mac_of "$LAB_C2" eth0)
NEW3=$LAB_P::2:33   # c3's new address

# ---------------------------------------------------------------------------------------------
section "1. c2 floods br0 with $FLOOD_N addresses from its one MAC ($C2_MAC)"
echo "{\"max_entries_per_interface\": $PER_IF}" >"$LAB_DIR/cm.json"
agent_start cm --config "$LAB_DIR/cm.json"
ALL5=$(lab_expected_minus "")
wait_for 5 owned_is "$ALL5" || afail "agent: owned set is not the lab's five: $(owned_set)"
BEFORE=$(owned_set)
ok "agent installed the lab's five addresses"

t0=$(_now_us)
flood_container "$LAB_C2" "$LAB_P::2:" 4096 "$FLOOD_N" "$LAB_BR0" # ::2:1000 .. ::2:10c7
flood_learned() {
    [[ $(ip -n "$LAB_H" -6 neigh show dev br0 |
        grep -cE "^$LAB_P::2:1[0-9a-f]{3} lladdr $C2_MAC .*(REACHABLE|STALE|DELAY|PROBE)") -ge $FLOOD_N ]]
}
wait_for 20 flood_learned ||
    afail "host has $(ip -n "$LAB_H" -6 neigh show dev br0 | grep -cE "^$LAB_P::2:1[0-9a-f]{3} " || true) of $FLOOD_N flood neighbours at $C2_MAC on br0"
ok "the host learned $FLOOD_N neighbours on br0, all at c2's MAC ($(elapsed_ms "$t0") ms)"

# Judged: every flood address is an entry or a refusal (whichever the cap makes it).
flood_judged() {
    [[ $(status_q "[.entries[].address, .skipped[].address] | map(select(test(\"^$LAB_P::2:1[0-9a-f]{3}\$\"))) | unique | length") == "$FLOOD_N" ]]
}
wait_for 10 flood_judged || afail "the agent has not judged all $FLOOD_N flood addresses"
ok "the agent judged every flood address"

# ---------------------------------------------------------------------------------------------
section "2. c3, on the same bridge, takes a new address: it gets its entry"
ip -n "$LAB_C3" addr add "$NEW3/112" dev eth0 nodad
t0=$(_now_us)
ip netns exec "$LAB_C3" ping -6 -c1 -W1 -n -I "$NEW3" "$LAB_BR0" >/dev/null 2>&1 || true
wait_for 5 _host_neigh_present br0 "$NEW3" ||
    afail "host has no br0 neighbour for $NEW3: $(ip -n "$LAB_H" -6 neigh show "$NEW3")"
wait_for 5 owned_has "$NEW3" ||
    afail "c3's new $NEW3 has no proxy entry; status says: $(status_json | jq -c --arg a "$NEW3" '[.skipped[] | select(.address == $a)]')"
ok "c3's new $NEW3 is proxied ($(elapsed_ms "$t0") ms after its first packet)"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$NEW3" || afail "router cannot ping $NEW3"
ok "the router pings c3's $NEW3 through the proxy"

# ---------------------------------------------------------------------------------------------
section "3. the status names c2's MAC, counts its refusals, and br0 keeps room"
WANT_REFUSED=$((FLOOD_N + 1 - PER_MAC)) # c2's ::2:2 and the flood, less its 64
BR0_WANT=$((1 + PER_MAC + 2))           # the bridge's own ::2:1, c2's 64, c3's two
capped_settled() {
    local doc
    doc=$(status_json) || return 1
    [[ $(jq -r '.counters.capped_mac' <<<"$doc") == "$WANT_REFUSED" &&
        $(jq -r '[.entries[] | select(.interface == "br0")] | length' <<<"$doc") == "$BR0_WANT" ]]
}
wait_for 10 capped_settled ||
    afail "agent did not settle at $WANT_REFUSED cap-mac refusals and $BR0_WANT br0 entries: $(status_json | jq -c '{capped: .counters.capped, capped_mac: .counters.capped_mac, capped_macs, br0: ([.entries[] | select(.interface == "br0")] | length)}')"
DOC=$(status_json)
expect_eq "status: capped_macs names c2's MAC on br0, $PER_MAC admitted, $WANT_REFUSED refused" \
    "[{\"admitted\":$PER_MAC,\"interface\":\"br0\",\"mac\":\"$C2_MAC\",\"refused\":$WANT_REFUSED}]" \
    "$(jq -cS .capped_macs <<<"$DOC")"
expect_eq "status: $WANT_REFUSED skipped as cap-mac, all on br0, none as cap" "$WANT_REFUSED br0 0" \
    "$(jq -r '[.skipped[] | select(.reason == "cap-mac")] as $m | [.skipped[] | select(.reason == "cap")] as $c | "\($m | length) \([$m[].interface] | unique | join(",")) \($c | length)"' <<<"$DOC")"
expect_eq "status: counters.capped counts them too" "$WANT_REFUSED" "$(jq -r .counters.capped <<<"$DOC")"
expect_eq "kernel: $((PER_MAC - 1)) flood addresses proxied" $((PER_MAC - 1)) \
    "$(owned_set | grep -cE "^$LAB_P::2:1[0-9a-f]{3}$" || true)"
refused=$(jq -r '.skipped[] | select(.reason == "cap-mac") | .address' <<<"$DOC" | sort)
expect_eq "no cap-mac address has a proxy entry" "" "$(comm -12 <(echo "$refused") <(owned_set))"
# At most one warning a minute, the first maybe before the whole flood was judged: no count here.
wait_for 3 grep -qF "MACs over max_entries_per_mac: $C2_MAC on br0 (" "$AGENT_LOG" ||
    afail "the cap warning does not name $C2_MAC: $(grep "over the cap" "$AGENT_LOG" | tail -n1)"
ok "the cap warning names c2's MAC: $(grep "over the cap" "$AGENT_LOG" | tail -n1 | cut -c1-200)"
n=$(grep -c "not proxying .* seen on br0: cap-mac" "$AGENT_LOG" || true)
expect_eq "no per-address info line for cap-mac refusals" 0 "$n"

# ---------------------------------------------------------------------------------------------
section "4. the uplink is intact and nothing was evicted"
_host_has_ra_default || afail "the host lost its RA default route: $(ip -n "$LAB_H" -6 route show default)"
ok "the host's RA default route survived: $(ip -n "$LAB_H" -6 route show default | head -n1)"
missing=$(comm -23 <(echo "$BEFORE") <(owned_set))
expect_eq "nothing installed before the flood was evicted" "" "$missing"
nds_run reconcile --json --dry-run --config "$LAB_DIR/cm.json"
[[ $NDS_RC -eq 0 ]] || afail "reconcile --json --dry-run exited $NDS_RC: $NDS_ERR"
expect_eq "reconcile --json: the same capped MAC" "$C2_MAC $WANT_REFUSED" \
    "$(jq -r '.capped_macs[] | "\(.mac) \(.refused)"' <<<"$NDS_OUT")"
expect_eq "reconcile --json: nothing to add or remove" "0 0" \
    "$(jq -r '"\(.added | length) \(.removed | length)"' <<<"$NDS_OUT")"
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent cm: exit '$AGENT_RC' after SIGTERM"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_cap_mac ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
