#!/usr/bin/env bash
# Integration test of the hostile provider link (docs/security.md): an attacker on the router's
# side of the uplink forges what any node there can send, and a live container keeps its entry.
#
#   1. three forged NS with c1's address as their source and the attacker's MAC in the source
#      link-layer option, for an address of the host's own: the host's kernel plants a STALE entry
#      for c1's address on eth0 at the attacker's MAC (DELAY at once: the host's answer to the
#      NS goes to that entry). c1's entry stays and the router's ping to
#      c1 succeeds on every sample for 10 s.
#   2. the attacker answers every solicitation for c1's address (the host's checks), and sends
#      NAs for it with R=1 and O=1: the host's entry carries the router flag. c1's entry stays,
#      the router keeps reaching c1 for 10 s, and the status does not list c1 as skipped.
#   3. the host's RA default route survived, and the router's gateway is still never claimed.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~30 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_hostile_link.sh
set -euo pipefail

LAB=${LAB:-nhl$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

lab_up
ATTACKER=02:00:5e:00:53:66
HOLD=10
# The qemu guests (LAB_REDUCED) hold 3 s (stretched by hold_for like every hold, up to its cap):
# the attack is the same, the 10 s are proved natively.
lab_reduced && HOLD=3
SLAAC=$(lab_host_slaac)
[[ -n $SLAAC ]] || fail "host has no SLAAC address"

# forge MODE ARGS...: test/lab/ndp_forge.py from the router's namespace, out of wan, as ATTACKER.
forge() {
    local mode=$1
    shift
    ip netns exec "$LAB_R" "$LAB_PYTHON" "$LAB_LIB_DIR/ndp_forge.py" "$mode" --iface wan \
        --mac "$ATTACKER" "$@"
}
# The host's eth0 entry for c1's address: "LLADDR STATE [router]".
uplink_entry() {
    ip -n "$LAB_H" -j -6 neigh show "$LAB_CT1" dev eth0 |
        jq -r '.[0] | "\(.lladdr // "-") \(.state[0])\(if has("router") then " router" else "" end)" // ""'
}
router_reaches_c1() {
    owned_has "$LAB_CT1" && ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT1"
}
hold_reachable() {   # hold_reachable WHAT
    hold_for "$HOLD" router_reaches_c1 ||
        afail "$1: c1 lost its entry or the router's ping failed ${HOLD_BROKE_MS} ms in; uplink entry: $(uplink_entry); skipped: $(status_json | jq -c --arg a "$LAB_CT1" '[.skipped[] | select(.address == $a)]')"
    ok "$1: c1 kept its entry and the router reached it on every sample for ${HOLD_SECS} s (${HOLD_SAMPLES} samples)"
}

echo '{}' >"$LAB_DIR/h.json"
agent_start h --config "$LAB_DIR/h.json"
wait_for 5 owned_is "$(lab_expected_minus)" || afail "the lab's addresses are not proxied: $(owned_set)"
wait_for 5 router_reaches_c1 || afail "the router cannot reach c1"
ok "the agent proxies the lab, and the router reaches c1 ($LAB_CT1)"

# ---------------------------------------------------------------------------------------------
section "1. forged NS: c1's address as the source, the attacker's MAC in the option"
forge ns --source "$LAB_CT1" --target "$SLAAC" --count 3
planted() { [[ $(uplink_entry) =~ ^$ATTACKER\ (STALE|DELAY|PROBE|REACHABLE) ]]; }
wait_for 3 planted ||
    fail "the forged NS planted no entry for $LAB_CT1 on the host's eth0: '$(uplink_entry)'"
ok "the host's kernel took the forgery: $LAB_CT1 is at $ATTACKER on eth0 ($(uplink_entry))"
hold_reachable "after the forged NS"

# ---------------------------------------------------------------------------------------------
section "2. the attacker answers the host's checks, and forges NAs with the router flag"
forge respond --target "$LAB_CT1" --router --seconds "$(scaled_secs $((HOLD + 10)))" \
    >"$LAB_DIR/responder.out" 2>&1 &
lab_bg $!
# The entry failed the host's own probe meanwhile (the kernel ignores NAs for a FAILED entry):
# plant it again; now the attacker answers the kernel's probes.
forge ns --source "$LAB_CT1" --target "$SLAAC" --count 3
wait_for 3 planted || fail "the second forged NS planted no entry: '$(uplink_entry)'"
forge na --target "$LAB_CT1" --router --override --count 3
wait_for 3 grep -q " router$" <(uplink_entry) ||
    fail "the forged NA did not set the router flag: '$(uplink_entry)'"
ok "the host's entry for $LAB_CT1 now claims a router: $(uplink_entry)"
hold_reachable "after the router-flag NA"
[[ $(status_q "[.skipped[] | select(.address == \"$LAB_CT1\")] | length") == 0 ]] ||
    afail "the status lists $LAB_CT1 as skipped"
ok "the status does not list $LAB_CT1 as skipped"
forge na --target "$LAB_CT1" --router --override --solicited --count 3
hold_reachable "after solicited router-flag NAs"

# ---------------------------------------------------------------------------------------------
section "3. what must still hold"
_host_has_ra_default || afail "the host lost its RA default route"
ok "the host keeps its RA default route"
gateway=$(ip -n "$LAB_H" -6 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "via") print $(i + 1) }' | head -n1)
[[ -n $gateway ]] || afail "no default gateway"
owned_lacks "$gateway" || afail "the gateway $gateway is proxied"
ok "the gateway $gateway is not proxied"
agent_stop_term 5
[[ $AGENT_RC == 0 ]] || afail "agent: exit '$AGENT_RC' after SIGTERM"
ok "the agent stopped cleanly"
