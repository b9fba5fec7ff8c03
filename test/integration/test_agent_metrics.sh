#!/usr/bin/env bash
# Integration test of the agent's Prometheus metrics (docs/metrics.md) in the standard lab:
#
#   1. `run --metrics-file` writes the file once the entries are in: valid exposition text (every
#      sample with HELP and TYPE; read by python3-prometheus-client's parser too), mode 0644, the
#      five lab entries by uplink and source, nothing else left in the directory;
#   2. a container that appears is counted within 3 s, and `status --prometheus` agrees with the
#      file (the same families, the same entry series);
#   3. with no change at all, the file is still rewritten at every resync (resyncs_total and the
#      last reconcile time advance);
#   4. readers never see a partial file while the agent rewrites it under churn;
#   5. the host's RA default route survived all of it (never deleted: ip monitor route);
#   6. SIGTERM: the file stays, saying ndpsync_up 0;
#   7. a directory that does not exist: the agent still works, warns once naming the path, and
#      writes the file once the directory appears;
#   8. bad use: a relative --metrics-file and `status --prometheus --json` exit 2.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~15-25 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_agent_metrics.sh
# shellcheck disable=SC2119  # lab_expected_minus without arguments: the whole lab
set -euo pipefail

LAB=${LAB:-nme$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

LAB_C4=${LAB}c4
LAB_CT4=$LAB_P::2:4
ALL5=$(lab_expected_minus)
PROM_DIR=$LAB_DIR/textfile
PROM=$PROM_DIR/ndpsync.prom
mkdir "$PROM_DIR"

# series FILE NAME{LABELS}: the value of one series in exposition text FILE ("" when absent).
series() {
    awk -v s="$2" 'index($0, s " ") == 1 { print $NF }' "$1"
}
# entries_sum FILE: all ndpsync_entries series added up.
entries_sum() {
    awk '/^ndpsync_entries[{]/ { n += $NF } END { print n + 0 }' "$1" 2>/dev/null
}
# check_exposition FILE: our own reading of the format: every sample's family has a HELP and a
# TYPE line before it, counters end in _total, and no series appears twice. Prints the problems.
check_exposition() {
    awk '
        /^# HELP / { help[$3] = 1; next }
        /^# TYPE / { if (!help[$3]) print "TYPE before HELP: " $3; type[$3] = $4
                     if (($4 == "counter") != ($3 ~ /_total$/)) print "counter naming: " $3; next }
        /^#/ { print "stray comment: " $0; next }
        { name = $1; sub(/[{].*/, "", name)
          if (!type[name]) print "no TYPE for " name
          if (seen[$1]++) print "series twice: " $1
          if (NF != 2 || $2 !~ /^[0-9.e+-]+$/) print "bad sample: " $0 }
    ' "$1"
}
# python_parse FILE: the families python3-prometheus-client's parser reads, one per line, sorted.
python_parse() {
    "$LAB_PYTHON" - "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
names = set()
for family in text_string_to_metric_families(text):
    if not family.documentation:
        sys.exit("no HELP for " + family.name)
    names.add(family.name + " " + family.type)
print("\n".join(sorted(names)))
PY
}
has_prom_client() {
    "$LAB_PYTHON" -c 'import prometheus_client.parser' 2>/dev/null
}

# Watch the host's routes for the whole run: nothing the agent does may purge the RA default
# route even for a moment (a marker route proves the monitor is subscribed).
ip -n "$LAB_H" -6 monitor route >"$LAB_DIR/routes.log" 2>&1 &
lab_bg $!
monitor_saw_marker() {
    ip -n "$LAB_H" -6 route del 2001:db8:ffff::/48 dev vc1 2>/dev/null || true
    ip -n "$LAB_H" -6 route add 2001:db8:ffff::/48 dev vc1
    grep -q '2001:db8:ffff::/48' "$LAB_DIR/routes.log"
}
wait_for 5 monitor_saw_marker || fail "ip monitor route did not start"
ip -n "$LAB_H" -6 route del 2001:db8:ffff::/48 dev vc1

# ---------------------------------------------------------------------------------------------
section "1. the metrics file appears with the five lab entries, in valid exposition format"
agent_start m1 --metrics-file "$PROM" --resync-interval 2
wait_for 3 owned_is "$ALL5" || afail "owned entries after start: $(owned_set)"
_file_has() { [[ -f $PROM && $(entries_sum "$PROM") == "$1" ]]; }
t0=$(_now_us)
wait_for 3 _file_has 5 || afail "metrics file: want 5 entries within 3 s; got: $(grep entries "$PROM" 2>&1)"
ok "the metrics file counts the 5 lab entries ($(elapsed_ms "$t0") ms after the entries were in)"
cp "$PROM" "$LAB_DIR/first.prom"
expect_eq "entries by uplink and source: 2 addresses (vc1, br0) and 3 neighbours on eth0" \
    "2 3" "$(series "$LAB_DIR/first.prom" 'ndpsync_entries{uplink="eth0",source="address"}') $(series "$LAB_DIR/first.prom" 'ndpsync_entries{uplink="eth0",source="neighbour"}')"
expect_eq "the format check finds nothing wrong" "" "$(check_exposition "$LAB_DIR/first.prom")"
expect_eq "ndpsync_up is 1, the admin's entry counted as foreign" "1 1" \
    "$(series "$LAB_DIR/first.prom" ndpsync_up) $(series "$LAB_DIR/first.prom" ndpsync_foreign_entries)"
expect_eq "kernel writes: 5 adds" "5" \
    "$(series "$LAB_DIR/first.prom" 'ndpsync_kernel_writes_total{operation="add"}')"
for family in ndpsync_skipped_addresses ndpsync_kernel_write_failures_total ndpsync_resyncs_total \
    ndpsync_overruns_total ndpsync_malformed_batches_total ndpsync_events_total ndpsync_probes_total \
    ndpsync_withdrawals_total ndpsync_last_reconcile_timestamp_seconds; do
    grep -q "^# TYPE $family " "$LAB_DIR/first.prom" || afail "the file lacks $family"
done
ok "skipped, write failures, resyncs, overruns, malformed, events, probes, withdrawals, last reconcile: all there"
if has_prom_client; then
    families=$(python_parse "$LAB_DIR/first.prom") || afail "prometheus_client cannot parse the file: $families"
    ok "python3-prometheus-client parses the file: $(wc -l <<<"$families") families"
else
    LAB_CHECKS=$((LAB_CHECKS + 1))
    echo "ok $LAB_CHECKS - # SKIP python3-prometheus-client not installed (scripts/install-deps.sh): our own format check only"
fi
expect_eq "mode 0644 (node_exporter reads it as another user), a regular file" "644 regular file" \
    "$(stat -c '%a %F' "$PROM")"
expect_eq "nothing but the file in its directory (no temporary file left)" "ndpsync.prom" \
    "$(ls -A "$PROM_DIR")"

# ---------------------------------------------------------------------------------------------
section "2. a new container is counted; status --prometheus agrees with the file"
add_container "$LAB_C4" vb4 "$LAB_CT4" "$LAB_BR0" br0
_container_ping "$LAB_C4" "$LAB_BR0"
wait_for 3 owned_has "$LAB_CT4" || afail "no entry for the new container $LAB_CT4"
t0=$(_now_us)
wait_for 3 _file_has 6 || afail "metrics file: want 6 entries within 3 s; got $(entries_sum "$PROM")"
ok "the file counts 6 entries $(elapsed_ms "$t0") ms after $LAB_CT4's entry was installed"
nds_run status --socket "$AGENT_SOCK" --prometheus
expect_eq "status --prometheus exits 0" 0 "$NDS_RC"
printf '%s\n' "$NDS_OUT" >"$LAB_DIR/status.prom"
cp "$PROM" "$LAB_DIR/file.prom"
expect_eq "status --prometheus: the format check finds nothing wrong" "" "$(check_exposition "$LAB_DIR/status.prom")"
expect_eq "status --prometheus and the file have the same HELP and TYPE lines" \
    "$(grep '^#' "$LAB_DIR/file.prom")" "$(grep '^#' "$LAB_DIR/status.prom")"
expect_eq "status --prometheus and the file have the same entry series" \
    "$(grep '^ndpsync_entries' "$LAB_DIR/file.prom")" "$(grep '^ndpsync_entries' "$LAB_DIR/status.prom")"
expect_eq "status --prometheus counts the entries status --json lists" \
    "$(status_q '.entries | length')" "$(entries_sum "$LAB_DIR/status.prom")"

# ---------------------------------------------------------------------------------------------
section "3. with nothing changing, the file is rewritten at every resync (2 s)"
r0=$(series "$PROM" ndpsync_resyncs_total)
c0=$(series "$PROM" ndpsync_last_reconcile_timestamp_seconds)
_resynced_twice() { (($(series "$PROM" ndpsync_resyncs_total) >= r0 + 2)); }
wait_for 8 _resynced_twice || afail "resyncs_total in the file stayed near $r0 for 8 s"
c1=$(series "$PROM" ndpsync_last_reconcile_timestamp_seconds)
((c1 > c0)) || afail "the last reconcile time did not advance ($c0 -> $c1)"
now_s=$(date +%s)
# Two resync intervals, and slack for a slow guest (LAB_TIME_SCALE).
((now_s - c1 <= 2 + 2 * LAB_TIME_SCALE)) ||
    afail "the last reconcile time is $((now_s - c1)) s old, with a resync every 2 s"
ok "resyncs_total $r0 -> $(series "$PROM" ndpsync_resyncs_total), last reconcile $c0 -> $c1 (now $now_s)"

# ---------------------------------------------------------------------------------------------
section "4. readers never see a partial file while it is rewritten"
# A reader reads the file as fast as it can for 3 s while containers' neighbours churn (each
# batch a rewrite, at most one a second) and the resyncs rewrite it too.
"$LAB_PYTHON" - "$PROM" >"$LAB_DIR/reader.out" 2>&1 <<'PY' &
import sys, time
path = sys.argv[1]
reads = bad = 0
versions = set()
end = time.monotonic() + 3
while time.monotonic() < end:
    text = open(path).read()
    reads += 1
    if not text.endswith("\n") or "ndpsync_up 1\n" not in text or "ndpsync_reloads_total" not in text:
        bad += 1
    versions.add(hash(text))
print(reads, bad, len(versions))
PY
READER=$!
lab_bg "$READER"
for ((i = 1; i <= 30; i++)); do
    ip -n "$LAB_H" -6 neigh replace "$LAB_P::2:$((0x100 + i))" lladdr "02:00:5e:00:01:$(printf %02x "$i")" dev br0 nud permanent
    sleep 0.1
done
wait "$READER" || afail "the reader failed: $(cat "$LAB_DIR/reader.out")"
read -r reads bad versions <"$LAB_DIR/reader.out"
((reads > 100)) || afail "the reader read only $reads times"
((versions >= 2)) || afail "the file never changed during 3 s of churn"
expect_eq "$reads reads, $versions versions of the file: none partial" 0 "$bad"
expect_eq "the 30 new neighbours are counted" 36 "$(wait_for 3 _file_has 36; entries_sum "$PROM")"

# ---------------------------------------------------------------------------------------------
section "5. the host's RA default route survived"
_host_has_ra_default || afail "the host lost its RA default route: $(ip -n "$LAB_H" -6 route show default)"
if grep -q '^Deleted default' "$LAB_DIR/routes.log"; then
    afail "the RA default route was deleted during the run:"$'\n'"$(cat "$LAB_DIR/routes.log")"
fi
ok "the RA default route is there and was never deleted (ip monitor route)"

# ---------------------------------------------------------------------------------------------
section "6. SIGTERM: the file stays, saying the agent is down"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || afail "agent: exit '$AGENT_RC' after SIGTERM"
[[ -f $PROM ]] || fail "the file is gone after a clean stop"
expect_eq "the file stays, with ndpsync_up 0" 0 "$(series "$PROM" ndpsync_up)"
expect_eq "the stopped agent's file still counts the entries it leaves" 36 "$(entries_sum "$PROM")"
expect_eq "the stopped agent's file: the format check finds nothing wrong" "" "$(check_exposition "$PROM")"

# ---------------------------------------------------------------------------------------------
section "7. a directory that does not exist: warned once, the work goes on, written once it exists"
LATE_DIR=$LAB_DIR/late
agent_start m2 --metrics-file "$LATE_DIR/ndpsync.prom" --resync-interval 1
_resyncs_logged() { (($(grep -c 'resync (periodic)' "$AGENT_LOG") >= 3)); }
wait_for 6 _resyncs_logged || afail "the agent logged fewer than 3 periodic resyncs in 6 s"
expect_eq "one warning naming the path, after 3 resyncs" 1 \
    "$(grep -c "metrics file $LATE_DIR/ndpsync.prom: .*ENOENT" "$AGENT_LOG")"
expect_eq "status still answers with the entries" 36 "$(status_q '.entries | length')"
mkdir "$LATE_DIR"
_late_written() { [[ -f $LATE_DIR/ndpsync.prom ]] && (($(entries_sum "$LATE_DIR/ndpsync.prom") == 36)); }
wait_for 3 _late_written || afail "no metrics file 3 s after its directory appeared"
grep -q "metrics file $LATE_DIR/ndpsync.prom written" "$AGENT_LOG" || afail "the recovery was not logged"
ok "the file appears once its directory exists, and the recovery is logged"
agent_stop_term 3
[[ $AGENT_RC == 0 ]] || afail "agent m2: exit '$AGENT_RC' after SIGTERM"

# ---------------------------------------------------------------------------------------------
section "8. bad use exits 2 with the problem named"
nds_run run --metrics-file relative/ndpsync.prom --status-socket "$LAB_DIR/bad.sock"
expect_eq "run --metrics-file relative/...: exit 2" 2 "$NDS_RC"
grep -q "metrics_file.*relative/ndpsync.prom" <<<"$NDS_ERR" || fail "the error does not name the key and value: $NDS_ERR"
ok "says: $NDS_ERR"
nds_run status --socket "$LAB_DIR/bad.sock" --prometheus --json
expect_eq "status --prometheus --json: exit 2" 2 "$NDS_RC"
ok "says: $(head -n1 <<<"$NDS_ERR")"
_host_has_ra_default || fail "the host lost its RA default route"
ok "the host still has its RA default route"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_agent_metrics ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
