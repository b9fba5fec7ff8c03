#!/usr/bin/env bash
# The agent under systemd, without systemd: a datagram socket stands in for NOTIFY_SOCKET.
# Checks READY=1 with a STATUS= line, WATCHDOG=1 pings at half of WATCHDOG_USEC, STATUS updates
# as entries change, STOPPING=1 on SIGTERM, and journald priority prefixes on stderr when
# JOURNAL_STREAM is set. Needs root; exits 77 (skipped) otherwise.
set -euo pipefail

LAB=${LAB:-nsd$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT
lab_up

NOTIFY=$LAB_DIR/notify.sock
NOTES=$LAB_DIR/notify.jsonl
"$LAB_PYTHON" "$LAB_LIB_DIR/notify_listen.py" "$NOTIFY" 30 >"$NOTES" &
lab_bg $!
wait_for 5 grep -q listening "$NOTES" || fail "notify listener did not start"

# 400 ms watchdog: the agent must ping every ~200 ms.
SOCK=$LAB_DIR/status.sock
LOG=$LAB_DIR/agent.log
ip netns exec "$LAB_H" env NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=400000 JOURNAL_STREAM=8:1234 \
    "$NDPSYNC" run --status-socket "$SOCK" --liveness-timeout 5 --run-as root >"$LOG" 2>&1 &
PID=$!
lab_bg "$PID"

has_note() { grep -q "$1" "$NOTES"; }
wait_for 5 has_note 'READY=1' || fail "no READY=1; got: $(cat "$NOTES")"
ok "READY=1 sent"
ready=$(grep 'READY=1' "$NOTES" | head -1)
[[ $ready == *'STATUS=5 entries on eth0'* ]] || fail "READY=1 without the expected STATUS: $ready"
ok "READY=1 carries STATUS= ($(jq -r .message <<<"$ready" | tr '\n' ' '))"

watchdog_pings() { grep -c 'WATCHDOG=1' "$NOTES" || true; }
five_pings() { (($(watchdog_pings) >= 5)); }
wait_for 3 five_pings || fail "fewer than 5 WATCHDOG=1 pings in 3 s: $(watchdog_pings)"
gap=$(grep 'WATCHDOG=1' "$NOTES" | jq -s '[range(1; length) as $i | .[$i].t - .[$i-1].t] | max')
awk -v g="$gap" 'BEGIN { exit !(g < 0.4) }' || fail "watchdog pings up to ${gap}s apart (limit 0.4 s)"
ok "WATCHDOG=1 pings, at most ${gap}s apart (WATCHDOG_USEC 0.4 s)"

# A change to the table updates STATUS=.
ip -n "$LAB_H" -6 neigh add "$LAB_P::2:77" lladdr 02:00:00:00:02:77 dev br0 nud permanent
wait_for 5 has_note 'STATUS=6 entries on eth0' || fail "no STATUS update after a new entry: $(tail -3 "$NOTES")"
ok "STATUS= follows the table (6 entries)"

# journald: every line starts with a syslog priority, and has no timestamp of its own.
first=$(head -1 "$LOG")
[[ $first =~ ^\<[0-7]\> ]] || fail "log line without a priority prefix: $first"
grep -q '^<6>proxying 2001:db8:0:1::2:77 on eth0' "$LOG" || fail "no <6> info line for the new entry: $(cat "$LOG")"
ok "stderr lines carry journald priority prefixes (<6> for info)"

kill -TERM "$PID"
wait_for 2 has_note 'STOPPING=1' || fail "no STOPPING=1 on SIGTERM"
ok "STOPPING=1 on SIGTERM"
rc=0
wait "$PID" || rc=$?
expect_eq "the agent exits 0" 0 "$rc"
echo "$LAB_CHECKS passed, 0 failed"
