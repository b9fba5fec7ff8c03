#!/usr/bin/env bash
# Integration test of the agent's liveness checks (`ndpsync run --liveness-timeout 5`) in the
# standard lab:
#   1. a live container whose host neighbour entry is deleted by hand keeps its proxy entry (the
#      agent probes it; the neighbour comes back REACHABLE);
#   2. a container that drops its address is withdrawn after verification (time measured);
#   3. a container whose bridge port (veth) is deleted is withdrawn, while its bridge neighbour
#      keeps its entry on every sample;
#   4. a withdrawn container that comes back is proxied again;
#   5. a deleted veth takes its entries (host side and container side) at once.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~30-40 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_agent_liveness.sh
# shellcheck disable=SC2016,SC2119  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-nlv$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

LIVENESS=5
# How long the kernel takes to notice a container that went silent, before the agent's liveness
# timeout even starts: a REACHABLE entry stays so for up to 1.5 x base_reachable_time (2 s in this
# lab); the agent's own probes mark the entry "used", so it then goes to DELAY (no netlink event)
# for delay_first_probe_time (kernel default 5 s) before PROBE is announced. After a bridge port
# leaves, the agent probes at once, so only the probe itself (3 x 1 s) is in the way.
ns_sysctl() { ip netns exec "$LAB_H" sysctl -n "$1"; }
REACH_MS=$(ns_sysctl net.ipv6.neigh.vc1.base_reachable_time_ms)
DELAY_S=$(ns_sysctl net.ipv6.neigh.vc1.delay_first_probe_time)
# address drop: liveness + 1.5 x reachable + delay_first_probe_time + 1 s slack
DROP_LIMIT_MS=$((LIVENESS * 1000 + REACH_MS * 3 / 2 + DELAY_S * 1000 + 1000))
# port delete: liveness + 4 s
PORT_LIMIT=$((LIVENESS + 4))
ALL5=$(lab_expected_minus)

# ---------------------------------------------------------------------------------------------
section "0. agent up (--liveness-timeout $LIVENESS, resync 60 s so events and probes do the work)"
agent_start a1 --liveness-timeout "$LIVENESS" --resync-interval 60
wait_for 3 owned_is "$ALL5" ||
    afail "owned entries after start: expected"$'\n'"$ALL5"$'\n'"got:"$'\n'"$(owned_set)"
ok "the five lab addresses are proxied"
# The kernel's view, for the timing lines below and for failures.
ip -n "$LAB_H" -ts monitor neigh >"$LAB_DIR/neigh.log" 2>&1 &
lab_bg $!
# neigh_events ADDR: what the kernel announced for ADDR since the monitor started.
neigh_events() { grep -F "$1 " "$LAB_DIR/neigh.log" | sed 's/ lladdr [0-9a-f:]*//; s/ *$//' || true; }

# ---------------------------------------------------------------------------------------------
section "1. a live container's neighbour entry deleted by hand: the proxy entry stays"
probes0=$(status_q .counters.probes)
events_before=$(wc -l <"$LAB_DIR/neigh.log")
ip -n "$LAB_H" -6 neigh del "$LAB_CT2" dev br0
log "host neighbour for $LAB_CT2 after the delete: '$(neigh_state br0 "$LAB_CT2")'"
ct2_reachable() { [[ $(neigh_state br0 "$LAB_CT2") == REACHABLE ]]; }
hold=$((LIVENESS + 3))
t0=$(_now_us)
seen_reachable_ms=""
while (($(_now_us) - t0 < hold * 1000000)); do
    owned_has "$LAB_CT2" ||
        afail "$LAB_CT2 lost its proxy entry $(elapsed_ms "$t0") ms after its neighbour entry was deleted (neighbour: '$(neigh_state br0 "$LAB_CT2")')"
    if [[ -z $seen_reachable_ms ]] && ct2_reachable; then
        seen_reachable_ms=$(elapsed_ms "$t0")
    fi
    sleep 0.1
done
ok "$LAB_CT2 kept its proxy entry on every sample for ${hold} s"
# The kernel's own events are the witness when sampling is too slow to catch the REACHABLE spell
# (a qemu guest without KVM: each sample costs ~1 s there, and REACHABLE lasts 1-3 s in this lab).
ct2_reachable_announced() {
    tail -n +$((events_before + 1)) "$LAB_DIR/neigh.log" |
        awk -v a="$LAB_CT2 " 'index($0, a) && /REACHABLE/ { seen = 1 } END { exit !seen }'
}
if [[ -z $seen_reachable_ms ]] && ct2_reachable_announced; then
    seen_reachable_ms="at most $((hold * 1000))"
fi
[[ -n $seen_reachable_ms ]] ||
    afail "the host's neighbour entry for $LAB_CT2 never came back REACHABLE (now '$(neigh_state br0 "$LAB_CT2")'); kernel events:"$'\n'"$(neigh_events "$LAB_CT2")"
ok "the neighbour for $LAB_CT2 came back REACHABLE after $seen_reachable_ms ms"
probes1=$(status_q .counters.probes)
((probes1 > probes0)) || afail "counters.probes did not grow ($probes0 -> $probes1)"
ok "counters.probes grew ($probes0 -> $probes1)"
expect_eq "status withdrawn list is empty" "0" "$(status_q '.withdrawn | length')"
expect_eq "owned set unchanged" "$ALL5" "$(owned_set)"

# ---------------------------------------------------------------------------------------------
section "2. container c1 drops its address: withdrawn after verification"
ip -n "$LAB_C1" addr del "$LAB_CT1/112" dev eth0
t0=$(_now_us)
saw_verifying=0
ct1_gone() { owned_lacks "$LAB_CT1"; }
while ! ct1_gone; do
    if [[ $saw_verifying -eq 0 ]] &&
        [[ $(status_q "[.verifying[] | select(.address == \"$LAB_CT1\")] | length" 2>/dev/null) == 1 ]]; then
        saw_verifying=$(elapsed_ms "$t0")
        log "status lists $LAB_CT1 under verifying after $saw_verifying ms: $(status_q ".verifying[] | select(.address == \"$LAB_CT1\") | tojson" 2>/dev/null || true)"
    fi
    (($(_now_us) - t0 >= DROP_LIMIT_MS * LAB_TIME_SCALE * 1000)) &&
        afail "$LAB_CT1 (address dropped) still proxied after $DROP_LIMIT_MS ms x $LAB_TIME_SCALE (neighbour: '$(neigh_state vc1 "$LAB_CT1")'); kernel events:"$'\n'"$(neigh_events "$LAB_CT1")"
    sleep 0.1
done
withdraw_ms=$(elapsed_ms "$t0")
ok "$LAB_CT1 withdrawn $withdraw_ms ms after c1 dropped it (limit $DROP_LIMIT_MS ms = liveness ${LIVENESS} s + reachable 1.5 x $REACH_MS ms + delay_first_probe ${DELAY_S} s + 1 s)"
echo "# TIME: address drop -> withdrawal: $withdraw_ms ms (drop at $(date -d "@${t0:0:-6}.${t0: -6}" +%T.%3N)); kernel events for $LAB_CT1:"
neigh_events "$LAB_CT1" | tail -n 4 | sed 's/^/#   /'
[[ $saw_verifying != 0 ]] || afail "status never listed $LAB_CT1 under 'verifying' before withdrawing it"
ok "status listed $LAB_CT1 as verifying first (at $saw_verifying ms)"
((withdraw_ms >= LIVENESS * 1000 - 500)) ||
    afail "$LAB_CT1 withdrawn after only $withdraw_ms ms: sooner than the liveness timeout ($LIVENESS s)"
ok "the withdrawal waited for the liveness timeout"
expect_eq "status lists $LAB_CT1 as withdrawn" "$LAB_CT1" \
    "$(status_q '.withdrawn[] | if type == "object" then .address else . end')"
expect_eq "the others stay" "$(lab_expected_minus "$LAB_CT1")" "$(owned_set)"

# ---------------------------------------------------------------------------------------------
section "3. c3's bridge port vb3 deleted: $LAB_CT3 withdrawn, $LAB_CT2 kept on every sample"
ip -n "$LAB_H" link del vb3
wait_holding "$PORT_LIMIT" 'owned_lacks "$LAB_CT3"' 'owned_has "$LAB_CT2"' && rc=0 || rc=$?
case $rc in
    1) afail "$LAB_CT3 still proxied $WAIT_MS ms after vb3 was deleted (neighbour: '$(neigh_state br0 "$LAB_CT3")')" ;;
    2) afail "$LAB_CT2 lost its entry $WAIT_MS ms after vb3 was deleted (neighbour: '$(neigh_state br0 "$LAB_CT2")')" ;;
esac
ok "$LAB_CT3 withdrawn $WAIT_MS ms after vb3 was deleted ($HOLD_SAMPLES samples of $LAB_CT2 all present)"
echo "# TIME: bridge port delete -> withdrawal: $WAIT_MS ms (limit $PORT_LIMIT s); kernel events for $LAB_CT3:"
neigh_events "$LAB_CT3" | tail -n 3 | sed 's/^/#   /'
# Keep sampling past one more liveness period: the probe sweep of br0 must not cost c2 its entry.
hold_for $((LIVENESS + 1)) owned_has "$LAB_CT2" ||
    afail "$LAB_CT2 lost its entry $HOLD_BROKE_MS ms after $LAB_CT3 was withdrawn"
ok "$LAB_CT2 kept its entry for another $HOLD_SECS s ($HOLD_SAMPLES samples)"
expect_eq "owned set: all but $LAB_CT1 and $LAB_CT3" "$(lab_expected_minus "$LAB_CT1" "$LAB_CT3")" "$(owned_set)"
wait_for 3 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT2" || afail "router cannot ping $LAB_CT2"
ok "router still pings $LAB_CT2"

# ---------------------------------------------------------------------------------------------
section "4. c1 takes its address back: proxied again"
ip -n "$LAB_C1" addr add "$LAB_CT1/112" dev eth0
ip -n "$LAB_C1" -6 route replace default via "$LAB_VC1" dev eth0
_container_ping "$LAB_C1" "$LAB_VC1"
t0=$(_now_us)
wait_for 3 owned_has "$LAB_CT1" || afail "$LAB_CT1 not proxied again within 3 s of its ping"
ok "$LAB_CT1 proxied again $(elapsed_ms "$t0") ms after its ping"
expect_eq "status no longer lists $LAB_CT1 as withdrawn" "" \
    "$(status_q ".withdrawn[] | if type == \"object\" then .address else . end | select(. == \"$LAB_CT1\")")"

# ---------------------------------------------------------------------------------------------
section "5. c1's veth vc1 deleted: $LAB_VC1 and $LAB_CT1 gone within 2 s"
ip -n "$LAB_H" link del vc1
t0=$(_now_us)
vc1_gone() { owned_lacks "$LAB_VC1" && owned_lacks "$LAB_CT1"; }
wait_for 2 vc1_gone || afail "entries of the deleted vc1 still there after 2 s"
ok "$LAB_VC1 and $LAB_CT1 gone $(elapsed_ms "$t0") ms after vc1 was deleted"
expect_eq "owned set: the bridge and c2 only" "$(lab_expected_minus "$LAB_CT1" "$LAB_CT3" "$LAB_VC1")" "$(owned_set)"
expect_eq "status entries agree" "$(lab_expected_minus "$LAB_CT1" "$LAB_CT3" "$LAB_VC1")" \
    "$(status_q '.entries[].address' | sort)"
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"
kill -0 "$AGENT_PID" || afail "agent died"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_agent_liveness ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
