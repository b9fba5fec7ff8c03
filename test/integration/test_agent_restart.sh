#!/usr/bin/env bash
# Integration test of an agent restart after a crash (kill -9) in the standard lab:
#   * the kernel keeps the entries while no agent runs;
#   * while it is down, c3 leaves (drops its address; the host's neighbour entry is flushed),
#     c2's neighbour entry is flushed although c2 is alive (as garbage collection would), and a
#     new container c4 appears;
#   * the restarted agent binds the same socket path (the crash left the socket file behind),
#     adopts the entries it finds, removes c3's stale one within liveness timeout + slack, keeps
#     the live ones on every sample, proxies c4, and no address is listed twice.
#   * c2 (alive, neighbour entry flushed) keeps its entry too: the agent verifies it instead of
#     withdrawing it unseen.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~20 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_agent_restart.sh
# shellcheck disable=SC2016,SC2119  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-nrs$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

LIVENESS=5
# c3 is gone for good: a probe fails after 3 x retrans_time (1 s); then the liveness deadline.
STALE_LIMIT=$((LIVENESS + 4))
LAB_C4=${LAB}c4
LAB_CT4=$LAB_P::2:4
ALL5=$(lab_expected_minus)
AFTER=$(printf '%s\n' "$(lab_expected_minus "$LAB_CT3")" "$LAB_CT4" | sort)

ip -n "$LAB_H" -ts monitor neigh >"$LAB_DIR/neigh.log" 2>&1 &
lab_bg $!
neigh_events() { grep -F "$1 " "$LAB_DIR/neigh.log" | sed 's/ lladdr [0-9a-f:]*//; s/ *$//' || true; }

# no_duplicates: every proxy address appears once in the whole table (any interface).
no_duplicates() {
    [[ -z $(ip -n "$LAB_H" -6 neigh show proxy | awk '{ print $1 }' | sort | uniq -d) ]]
}

# ---------------------------------------------------------------------------------------------
section "1. agent up with the five lab entries"
agent_start a1 --liveness-timeout "$LIVENESS" --resync-interval 60
wait_for 3 owned_is "$ALL5" ||
    afail "owned entries after start: expected"$'\n'"$ALL5"$'\n'"got:"$'\n'"$(owned_set)"
ok "the five lab addresses are proxied"
first_pid=$AGENT_PID

# ---------------------------------------------------------------------------------------------
section "2. kill -9: the kernel keeps the entries"
agent_kill9
kill -0 "$first_pid" 2>/dev/null && fail "agent $first_pid survived kill -9"
ok "agent $first_pid killed with SIGKILL"
expect_eq "all five entries still in the kernel" "$ALL5" "$(owned_set)"
if [[ -S $AGENT_SOCK ]]; then
    log "the crash left the socket file $AGENT_SOCK behind"
else
    log "no socket file left behind at $AGENT_SOCK"
fi
nds_run status --socket "$AGENT_SOCK"
expect_eq "status while no agent runs: exit status" 1 "$NDS_RC"

# ---------------------------------------------------------------------------------------------
section "3. while the agent is down: c3 leaves, c2's neighbour is flushed, c4 arrives"
ip -n "$LAB_C3" addr del "$LAB_CT3/112" dev eth0
ip -n "$LAB_H" -6 neigh flush dev br0 to "$LAB_CT3"
expect_eq "host has no neighbour entry for $LAB_CT3" "" "$(neigh_state br0 "$LAB_CT3")"
ok "c3 dropped $LAB_CT3 and the host's neighbour entry for it is flushed"
ip -n "$LAB_H" -6 neigh flush dev br0 to "$LAB_CT2"
expect_eq "host has no neighbour entry for (live) $LAB_CT2" "" "$(neigh_state br0 "$LAB_CT2")"
add_container "$LAB_C4" vb4 "$LAB_CT4" "$LAB_BR0" br0
_container_ping "$LAB_C4" "$LAB_BR0"
wait_for 5 _host_neigh_present br0 "$LAB_CT4" || fail "host has no neighbour entry for $LAB_CT4"
ok "c4 ($LAB_CT4) is up and known to the host"
expect_eq "the kernel still holds the five old entries (nobody maintains them)" "$ALL5" "$(owned_set)"

# ---------------------------------------------------------------------------------------------
section "4. restart: stale entry removed, live ones kept on every sample, c4 added"
t0=$(_now_us)
agent_start a1 --liveness-timeout "$LIVENESS" --resync-interval 60
ok "restarted agent (pid $AGENT_PID) answers on the same socket path after $(elapsed_ms "$t0") ms"
# live_kept: the live entries whose neighbours the host still knows (c2's is checked apart).
live_kept() {
    local a
    for a in "$LAB_VC1" "$LAB_CT1" "$LAB_BR0"; do
        owned_has "$a" || { echo "$a"; return 1; }
    done
}
# track_ct2: note when live c2 (whose neighbour entry was flushed) is first seen unproxied.
CT2_MISSING_MS=""
track_ct2() {
    [[ -z $CT2_MISSING_MS ]] && owned_lacks "$LAB_CT2" && CT2_MISSING_MS=$(elapsed_ms "$t0")
    return 0
}
t0=$(_now_us)
wait_holding "$STALE_LIMIT" 'owned_lacks "$LAB_CT3"' 'track_ct2; live_kept && no_duplicates' && rc=0 || rc=$?
case $rc in
    1) afail "stale $LAB_CT3 still proxied $WAIT_MS ms after the restart; kernel events:"$'\n'"$(neigh_events "$LAB_CT3")" ;;
    2) afail "after the restart ($WAIT_MS ms) a live entry went missing ($(live_kept || true)) or an address is listed twice:"$'\n'"$(proxies_h)" ;;
esac
ok "stale $LAB_CT3 removed $WAIT_MS ms after the restart (limit $STALE_LIMIT s); live entries present on all $HOLD_SAMPLES samples"
echo "# TIME: restart -> stale entry removed: $WAIT_MS ms"
hold_for 3 eval 'track_ct2; live_kept' ||
    afail "a live entry went missing $HOLD_BROKE_MS ms after the stale one was removed ($(live_kept || true))"
ok "live entries still present $HOLD_SECS s later ($HOLD_SAMPLES samples)"

# A live but idle container whose neighbour entry vanished while the agent was down (kernel
# docs/design.md, "Neighbour states": garbage collection) keeps its entry: the restarted agent verifies it like any vanished
# neighbour instead of withdrawing it unseen.
if [[ -n $CT2_MISSING_MS ]]; then
    afail "live $LAB_CT2 (neighbour flushed while down) was unproxied $CT2_MISSING_MS ms after the restart: $(grep -F "withdrew $LAB_CT2" "$AGENT_LOG" | tail -n1)"
fi
ok "live $LAB_CT2 (neighbour flushed while down) kept on every sample"
wait_for 2 owned_has "$LAB_CT4" || afail "$LAB_CT4 (arrived while the agent was down) not proxied"
ok "$LAB_CT4 (arrived while the agent was down) is proxied"
expect_eq "owned set after the restart" "$AFTER" "$(owned_set)"
no_duplicates || afail "an address is listed twice:"$'\n'"$(proxies_h)"
ok "each proxy address is listed once: $(ip -n "$LAB_H" -6 neigh show proxy | wc -l) entries"
expect_eq "status entries agree with the kernel" "$AFTER" "$(status_q '.entries[].address' | sort)"
expect_eq "host's neighbour for live $LAB_CT2 is back" "yes" \
    "$(_host_neigh_present br0 "$LAB_CT2" && echo yes || echo "no ($(neigh_state br0 "$LAB_CT2"))")"
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"
expect_eq "the admin's entry is untouched" "$LAB_ADMIN dev eth0 proxy" \
    "$(ip -n "$LAB_H" -6 neigh show proxy "$LAB_ADMIN" | sed 's/ *$//')"
for a in "$LAB_CT2" "$LAB_CT4"; do
    wait_for 3 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$a" || afail "router cannot ping $a"
    ok "router pings $a"
done

# ---------------------------------------------------------------------------------------------
section "5. SIGTERM the restarted agent: exit 0, entries stay"
before=$(proxies_h)
agent_stop_term 1
[[ $AGENT_RC == 0 ]] || afail "agent after SIGTERM: exit '$AGENT_RC' after $AGENT_STOP_MS ms"
ok "agent exited 0, $AGENT_STOP_MS ms after SIGTERM"
expect_eq "proxy table unchanged by the exit" "$before" "$(proxies_h)"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_agent_restart ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
