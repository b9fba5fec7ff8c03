#!/usr/bin/env bash
# Integration test of uplink_probe_ms: before an address's first claim the agent has the kernel
# solicit it on the uplink, and an address that another node on the provider's link already uses
# is never proxied, although the host had never talked to that node.
#
#   0. the router's wan takes TAKEN (another node on the provider's link); a container on br0
#      uses TAKEN too, and another FREE (permanent neighbour entries on br0).
#   1. control, without the probe: the agent proxies TAKEN. The uplink's neighbour table is the
#      only guard then, and the host has no entry for a node it never talked to.
#   2. with uplink_probe_ms 1000: FREE is proxied once the wait is over, TAKEN never (held for
#      3 s), skipped on br0 as uplink-neighbour or uplink-router (the router answers with R=1),
#      and the lab's entries, adopted from step 1, are kept throughout without a probe.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~15 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_uplink_probe.sh
set -euo pipefail

LAB=${LAB:-nup$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up
ALL5=$(lab_expected_minus "")
TAKEN=$LAB_P::2:77
FREE=$LAB_P::2:78

# ---------------------------------------------------------------------------------------------
section "0. another node on the provider's link uses $TAKEN; containers on br0 claim it and $FREE"
ip -n "$LAB_R" addr add "$TAKEN/64" dev wan nodad
ip -n "$LAB_H" -6 neigh add "$TAKEN" lladdr 02:00:5e:00:53:77 dev br0 nud permanent
ip -n "$LAB_H" -6 neigh add "$FREE" lladdr 02:00:5e:00:53:78 dev br0 nud permanent
[[ -z $(ip -n "$LAB_H" -6 neigh show "$TAKEN" dev eth0) ]] ||
    fail "the host already knows $TAKEN on eth0: $(ip -n "$LAB_H" -6 neigh show "$TAKEN" dev eth0)"
ok "the host has never seen $TAKEN on eth0"

# ---------------------------------------------------------------------------------------------
section "1. control: without the probe, the agent claims $TAKEN"
echo '{}' >"$LAB_DIR/u1.json"
agent_start u1 --config "$LAB_DIR/u1.json"
wait_for 5 owned_has "$TAKEN" || afail "without the probe the agent did not proxy $TAKEN (the control)"
ok "without the probe, $TAKEN is proxied: the host now answers for another node's address"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || fail "agent u1 exited $AGENT_RC on SIGTERM"
for a in "$TAKEN" "$FREE"; do ip -n "$LAB_H" -6 neigh del proxy "$a" dev eth0; done
ip -n "$LAB_H" -6 neigh del "$TAKEN" dev eth0 2>/dev/null || true
expect_eq "the lab's five entries stay for the next agent to adopt" "$ALL5" "$(owned_set)"

# ---------------------------------------------------------------------------------------------
section "2. uplink_probe_ms 1000: $FREE after the wait, $TAKEN never"
echo '{"uplink_probe_ms": 1000}' >"$LAB_DIR/u2.json"
t0=$(_now_us)
agent_start u2 --config "$LAB_DIR/u2.json"
wait_for 5 owned_has "$FREE" || afail "$FREE not proxied within 5 s with uplink_probe_ms 1000"
ms=$(elapsed_ms "$t0")
((ms >= 900)) || afail "$FREE proxied after $ms ms: before the 1 s wait was over"
ok "$FREE proxied $ms ms after start (the wait is 1000 ms)"
hold_for 3 owned_lacks "$TAKEN" ||
    afail "$TAKEN was proxied $HOLD_BROKE_MS ms into the hold (host's eth0 entry: '$(ip -n "$LAB_H" -6 neigh show "$TAKEN" dev eth0)')"
ok "$TAKEN not proxied on any of $HOLD_SAMPLES samples over $HOLD_SECS s"
reason=$(status_q "[.skipped[] | select(.address == \"$TAKEN\" and .interface == \"br0\") | .reason] | join(\",\")")
[[ $reason == uplink-neighbour || $reason == uplink-router ]] ||
    afail "$TAKEN skipped as '$reason', want uplink-neighbour or uplink-router"
ok "$TAKEN skipped on br0 as $reason"
line=$(ip -n "$LAB_H" -6 neigh show "$TAKEN" dev eth0)
grep -Eq 'REACHABLE|STALE|DELAY|PROBE' <<<"$line" || afail "host's eth0 entry for $TAKEN: '$line'"
ok "the probe taught the host $TAKEN's node on eth0: $line"
expect_eq "owned set: the lab's five (adopted, kept) and $FREE" \
    "$(printf '%s\n' "$ALL5" "$FREE" | sort)" "$(owned_set)"
probes=$(status_q .counters.uplink_probes)
expect_eq "counters.uplink_probes: one for each first claim ($TAKEN, $FREE)" 2 "$probes"
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_uplink_probe ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
