#!/usr/bin/env bash
# Integration test of the agent under an event flood that overruns its netlink socket
# (`ndpsync run --netlink-rcvbuf 4096`): 5,000 permanent neighbours appear on br0 in one
# `ip -batch`, far more events than a 4 KiB buffer holds. The kernel reports ENOBUFS and drops
# events; the agent must notice (counters.overruns), re-dump, and install exactly the right 5,005
# entries. Then all 5,000 are deleted in one batch and exactly the five lab entries must remain.
# The periodic resync is 600 s away, so only the overrun handling can get this right in time.
#
# Liveness verification stays on (OVERRUN_VERIFY=0 turns it off): the deleted neighbours are
# PERMANENT, so the agent withdraws them at once instead of probing 5,000 addresses, which would
# fill the kernel's neighbour table (gc_thresh3 is global) and starve the live containers' probes.
# Probes are also paced (128 per 100 ms) for mass deletions of ordinary entries.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~15-40 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_agent_overrun.sh
# shellcheck disable=SC2016,SC2119  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-nov$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

N=5000
LIVENESS=5
VERIFY_ARGS=()
[[ ${OVERRUN_VERIFY:-1} == 0 ]] && VERIFY_ARGS=(--no-verify)
ALL5=$(lab_expected_minus)

# The 5,000 addresses: 2001:db8:0:1::3:1 .. 2001:db8:0:1::3:1388 (hex), in `sort` order with
# the five lab addresses.
BULK=$LAB_DIR/bulk.txt
for ((i = 1; i <= N; i++)); do
    printf '%s::3:%x\n' "$LAB_P" "$i"
done >"$BULK"
EXPECTED_ALL=$LAB_DIR/expected_all.txt
{ cat "$BULK"; printf '%s\n' "$ALL5"; } | sort >"$EXPECTED_ALL"
[[ $(wc -l <"$EXPECTED_ALL") -eq $((N + 5)) ]] || fail "expected set has $(wc -l <"$EXPECTED_ALL") lines"

# Batches: permanent neighbours (exempt from the global gc_thresh limits), distinct MACs.
ADD_BATCH=$LAB_DIR/add.batch
DEL_BATCH=$LAB_DIR/del.batch
i=0
while read -r a; do
    i=$((i + 1))
    printf -- 'neigh add %s lladdr 02:00:00:00:%02x:%02x dev br0 nud permanent\n' \
        "$a" $((i >> 8)) $((i & 255))
done <"$BULK" >"$ADD_BATCH"
sed 's/^\(.*\)$/neigh del \1 dev br0/' "$BULK" >"$DEL_BATCH"

CONF=$LAB_DIR/overrun.json
echo '{"max_entries": 20000, "max_entries_per_interface": 20000}' >"$CONF"

# The kernel's neighbour events on the host (kept by afail on failure).
ip -n "$LAB_H" -ts monitor neigh >"$LAB_DIR/neigh.log" 2>&1 &
lab_bg $!

# owned_count: number of our entries on eth0.
owned_count() { our_proxies_h | wc -l; }
owned_matches_file() { our_proxies_h | cmp -s - "$1"; }
overruns_grew() { (($(status_q .counters.overruns) > overruns0)); }

# ---------------------------------------------------------------------------------------------
section "1. agent up with a 4 KiB event buffer and a 600 s resync ${VERIFY_ARGS[*]}"
agent_start a1 --config "$CONF" --netlink-rcvbuf 4096 --resync-interval 600 \
    --liveness-timeout "$LIVENESS" "${VERIFY_ARGS[@]}"
wait_for 3 owned_is "$ALL5" ||
    afail "owned entries after start: expected"$'\n'"$ALL5"$'\n'"got:"$'\n'"$(owned_set)"
ok "the five lab addresses are proxied"
# With 4 KiB even the agent's own start-up (sysctl writes: netconf and route events) may overrun.
overruns0=$(status_q .counters.overruns)
log "counters.overruns at start: $overruns0"
resyncs0=$(status_q .counters.resyncs)

# ---------------------------------------------------------------------------------------------
section "2. $N permanent neighbours on br0 in one batch: overrun, re-dump, exactly $((N + 5)) entries"
t0=$(_now_us)
ip -6 -n "$LAB_H" -batch "$ADD_BATCH"
log "batch of $N neighbour adds took $(elapsed_ms "$t0") ms"
expect_eq "the host has $N permanent neighbours on br0" "$N" \
    "$(ip -n "$LAB_H" -6 neigh show dev br0 nud permanent | wc -l)"
wait_for 30 overruns_grew ||
    afail "counters.overruns still $(status_q .counters.overruns) (was $overruns0) 30 s after the flood"
ok "counters.overruns grew: $overruns0 -> $(status_q .counters.overruns) ($(elapsed_ms "$t0") ms after the batch started)"
wait_for 30 owned_matches_file "$EXPECTED_ALL" ||
    afail "owned entries do not match the expected $((N + 5)) within 30 s: have $(owned_count); diff (expected vs got, first 20 lines):"$'\n'"$(diff "$EXPECTED_ALL" <(our_proxies_h) | head -n 20)"
ok "owned set is exactly the $((N + 5)) expected addresses, $(elapsed_ms "$t0") ms after the batch started"
echo "# TIME: $N neighbours -> $((N + 5)) proxy entries: $(elapsed_ms "$t0") ms"
# One read of the table for both counts; on a mismatch, say which entries are neither ours nor
# the admin's (the proxy table's dump is one hash shared by every namespace on the machine).
table=$(ip -n "$LAB_H" -6 neigh show proxy)
got="$(wc -l <<<"$table") $(awk '{ print $1 }' <<<"$table" | sort | uniq -d | wc -l)"
[[ $got == "$((N + 6)) 0" ]] ||
    echo "# entries neither ours on eth0 nor the admin's: $(grep -v "dev eth0 proxy proto $LAB_OWNER_PROTO" <<<"$table" | grep -vF "$LAB_ADMIN " | head -5 | tr '\n' ';')"
expect_eq "the whole proxy table: $((N + 6)) entries (ours + the admin's), none listed twice" \
    "$((N + 6)) 0" "$got"
doc=$(status_json)
expect_eq "status lists $((N + 5)) entries" "$((N + 5))" "$(jq '.entries | length' <<<"$doc")"
resyncs1=$(jq .counters.resyncs <<<"$doc")
((resyncs1 > resyncs0)) || afail "counters.resyncs did not grow after the overrun ($resyncs0 -> $resyncs1)"
ok "the overrun caused a re-dump: counters.resyncs $resyncs0 -> $resyncs1; counters: $(jq -c '.counters | {events, reconciles, adds, errors, resyncs, overruns}' <<<"$doc")"
expect_eq "status skips none for the cap" "0" \
    "$(jq '[.skipped[] | select(.reason == "cap")] | length' <<<"$doc")"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT2" || afail "router cannot ping $LAB_CT2"
ok "router still pings $LAB_CT2"

# ---------------------------------------------------------------------------------------------
section "3. all $N deleted in one batch: exactly the five lab entries remain"
overruns1=$(status_q .counters.overruns)
t0=$(_now_us)
ip -6 -n "$LAB_H" -batch "$DEL_BATCH"
log "batch of $N neighbour deletes took $(elapsed_ms "$t0") ms"
expect_eq "no permanent neighbours left on br0" 0 \
    "$(ip -n "$LAB_H" -6 neigh show dev br0 nud permanent | wc -l)"
# With verification, vanished neighbours are probed for up to the liveness timeout first.
LIMIT=$((LIVENESS + 40))
if ! wait_for "$LIMIT" owned_is "$ALL5"; then
    missing=$(comm -23 <(printf '%s\n' "$ALL5") <(our_proxies_h))
    why=""
    for a in $missing; do
        why+=$'\n'"  $a: $(grep -F "withdrew $a " "$AGENT_LOG" | tail -n1)"
        why+=$'\n'"     kernel: $(grep -F "$a " "$LAB_DIR/neigh.log" | tail -n 3 | sed 's/ lladdr [0-9a-f:]*//' | tr '\n' ';')"
    done
    afail "$LIMIT s after the delete batch, $(owned_count) owned entries remain (want the 5 lab ones); live lab addresses missing:${why:- none}"$'\n'"extra (first 10): $(comm -13 <(printf '%s\n' "$ALL5") <(our_proxies_h) | head -n 10 | tr '\n' ' ')"$'\n'"probe failures (ENOBUFS): $(grep -c 'probe neighbour.*ENOBUFS' "$AGENT_LOG" || true)"
fi
ok "exactly the five lab entries remain, $(elapsed_ms "$t0") ms after the delete batch started"
echo "# TIME: $N neighbours deleted -> back to 5 entries: $(elapsed_ms "$t0") ms"
doc=$(status_json)
log "counters now: $(jq -c .counters <<<"$doc"); overruns during the delete: $(($(jq .counters.overruns <<<"$doc") - overruns1))"
expect_eq "status lists the five lab entries" "$ALL5" "$(jq -r '.entries[].address' <<<"$doc" | sort)"
expect_eq "the admin's entry is untouched" "$LAB_ADMIN dev eth0 proxy" \
    "$(ip -n "$LAB_H" -6 neigh show proxy "$LAB_ADMIN" | sed 's/ *$//')"
# Withdrawn is withdrawn: the agent stops probing the vanished addresses, so the kernel's
# resolutions it started (INCOMPLETE, at most 3 x 1 s) run out and probes stop growing.
no_incomplete_bulk() { ! ip -n "$LAB_H" -6 neigh show dev br0 nud incomplete | grep -F "$LAB_P::3:" >/dev/null; }
wait_for 5 no_incomplete_bulk ||
    afail "still resolving ::3:* addresses 5 s after their withdrawal: $(ip -n "$LAB_H" -6 neigh show dev br0 nud incomplete | grep -cF "$LAB_P::3:") INCOMPLETE"
ok "no ::3:* resolutions left in the kernel"
probes_a=$(status_q .counters.probes)
# At most 10 probes in 2 s: 5 a second over the window hold_for holds (longer in a slow guest).
probes_max=$(awk -v w="$(hold_window 2)" 'BEGIN { printf "%d", 5 * w }')
hold_for 2 eval '(($(status_q .counters.probes) - probes_a <= probes_max))' ||
    afail "the agent keeps probing after the withdrawal: counters.probes $probes_a -> $(status_q .counters.probes) in $HOLD_SECS s (at most $probes_max)"
ok "the agent stopped probing: counters.probes stays at ~$probes_a"
kill -0 "$AGENT_PID" || afail "agent died"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT2" || afail "router cannot ping $LAB_CT2"
ok "router still pings $LAB_CT2"

# ---------------------------------------------------------------------------------------------
section "4. SIGTERM: exit 0 within 1 s"
agent_stop_term 1
[[ $AGENT_RC == 0 ]] || afail "agent after SIGTERM: exit '$AGENT_RC' after $AGENT_STOP_MS ms"
ok "agent exited 0, $AGENT_STOP_MS ms after SIGTERM"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_agent_overrun ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
