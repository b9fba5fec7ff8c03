#!/usr/bin/env bash
# Integration test of bad input: bad config files and bad command lines must exit 2, say which
# key (or file) is wrong, and apply nothing; a bad config on SIGHUP must leave the agent running
# on its old config, and a good one applied afterwards must take effect.
#
#   1. bad configs for `reconcile` (and `run`): wrong type, unknown key, bad prefix, number out of
#      range, uplink also downstream, interface_prefixes outside prefixes, unparsable JSON,
#      missing file, ... -> exit 2, the error names the key, proxy table and sysctls unchanged;
#      `run` with "dry_run": true -> exit 2 (dry_run is for `reconcile`).
#   2. bad command lines (--prefix nope, --resync-interval 0, unknown option, no subcommand, ...)
#      -> exit 2, same checks.
#   3. SIGHUP with bad configs (dry_run true among them): the agent logs the error, keeps running on the old config (a deny
#      entry stays in force), still reacts to a new container; a good edit + SIGHUP takes effect.
#   4. a veth named $'bad\xff' (not UTF-8) while the agent runs: the agent runs on, and the raw
#      status document, status --json/--prometheus, the metrics file, reconcile --json and
#      doctor --json are valid UTF-8 (U+FFFD for the bad byte).
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~10-20 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_bad_input.sh
set -euo pipefail

LAB=${LAB:-nbi$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/guards.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

# snapshot: what a refused run must leave byte-for-byte alike (the lab is fresh: sysctls at their
# defaults and no owned entry, so any run that went ahead would show).
BEFORE=$(host_snapshot)
expect_eq "fresh lab: no owned entries yet" "" "$(owned_set)"

# nds_try ARGS...: like nds_run, but bounded in time: a `run` that wrongly starts must not hang
# the test (it gets killed after 10 s and reports exit 124).
nds_try() {
    local out err
    out=$(mktemp "$LAB_DIR/out.XXXXXX")
    err=$(mktemp "$LAB_DIR/err.XXXXXX")
    if timeout -k 2 10 ip netns exec "$LAB_H" "$NDPSYNC" "$@" >"$out" 2>"$err"; then
        NDS_RC=0
    else
        NDS_RC=$?
    fi
    NDS_OUT=$(cat "$out")
    NDS_ERR=$(cat "$err")
    rm -f "$out" "$err"
}

# expect_refused WHAT NEEDLE ARGS...: exit 2, NEEDLE (fixed string) in the message, nothing changed.
expect_refused() {
    local what=$1 needle=$2
    shift 2
    nds_try "$@"
    [[ $NDS_RC -eq 2 ]] ||
        fail "$what: ndpsync $* exited $NDS_RC (want 2)"$'\n'"stderr: $NDS_ERR"$'\n'"stdout: $NDS_OUT"
    grep -qF -- "$needle" <<<"$NDS_ERR" ||
        fail "$what: the error does not name '$needle'"$'\n'"stderr: $NDS_ERR"$'\n'"stdout: $NDS_OUT"
    ok "$what: exit 2, says: $(grep -F -- "$needle" <<<"$NDS_ERR" | head -n1 | cut -c1-150)"
    local now
    now=$(host_snapshot)
    [[ $now == "$BEFORE" ]] ||
        fail "$what: proxy table or sysctls changed:"$'\n'"$(diff <(echo "$BEFORE") <(echo "$now"))"
}

# ---------------------------------------------------------------------------------------------
section "1. bad config files: exit 2, the key is named, nothing applied"
P64=$LAB_PREFIX
# bad_config NEEDLE JSON: refused by `reconcile --json`, `reconcile --dry-run` and by `run`.
n_cfg=0
bad_config() {
    local needle=$1 json=$2 file
    n_cfg=$((n_cfg + 1))
    file=$LAB_DIR/bad$n_cfg.json
    printf '%s\n' "$json" >"$file"
    lab_sample "$n_cfg" || return 0   # LAB_REDUCED: every third config (the files all exist)
    expect_refused "reconcile, config $json" "$needle" reconcile --json --config "$file"
    [[ -z $NDS_OUT ]] || fail "reconcile, config $json: printed a document on stdout: $NDS_OUT"
}
bad_config "'max_entries'" '{"max_entries": "50"}'
bad_config "'uplinks'" '{"uplinks": "eth0"}'
bad_config "'manage_sysctls'" '{"manage_sysctls": "yes"}'
bad_config "'interface_prefixes'" '{"interface_prefixes": ["vc1"]}'
bad_config "'bogus'" '{"bogus": 1}'
bad_config "'Prefixes'" '{"Prefixes": ["2001:db8:0:1::/64"]}'
bad_config "'prefixes[1]'" "{\"prefixes\": [\"$P64\", \"nope\"]}"
bad_config "'deny[0]'" '{"deny": ["2001:db8::/129"]}'
bad_config "'interface_prefixes.vc1[0]'" '{"interface_prefixes": {"vc1": ["2001:db8:0:1::1:2"]}}'
bad_config "'max_entries_per_interface'" '{"max_entries_per_interface": 0}'
bad_config "'max_entries_per_mac'" '{"max_entries_per_mac": 0}'
bad_config "'max_entries'" '{"max_entries": -5}'
bad_config "'resync_interval'" '{"resync_interval": 100000}'
bad_config "'owner_protocol'" '{"owner_protocol": 256}'
bad_config "'proxy_delay_ms'" '{"proxy_delay_ms": 1.5}'
bad_config "'netlink_rcvbuf'" '{"netlink_rcvbuf": 1}'
bad_config "'log_level'" '{"log_level": "loud"}'
bad_config "'status_socket'" '{"status_socket": "relative.sock"}'
bad_config "'status_socket_mode'" '{"status_socket_mode": "0666"}'
bad_config "'status_socket_group'" '{"status_socket_group": "adm"}'
bad_config "'downstream'" '{"uplinks": ["eth0"], "downstream": ["vc1", "eth*"]}'
bad_config "'interface_prefixes.vc1'" \
    "{\"prefixes\": [\"$P64\"], \"interface_prefixes\": {\"vc1\": [\"2001:db8:9::/112\"]}}"
bad_config "'deny'" "{\"prefixes\": [\"$P64\"], \"deny\": [\"2001:db8::/32\"]}"
# A valid key before the bad one must not be half-applied.
bad_config "'max_entries'" \
    "{\"manage_sysctls\": true, \"deny\": [\"$LAB_CT2/128\"], \"max_entries\": 0}"
# Comments are allowed, and do not hide a bad key.
bad_config "'prefixes[0]'" $'// a comment\n{"prefixes": ["2001:db8:0:1::/64/64"] /* here */}'

# Files that are not a config at all: the error names the file.
printf '{"deny": [\n' >"$LAB_DIR/truncated.json"
expect_refused "unparsable JSON" "$LAB_DIR/truncated.json" reconcile --json --config "$LAB_DIR/truncated.json"
grep -qi "json" <<<"$NDS_ERR" || fail "unparsable JSON: the error does not say it is not JSON: $NDS_ERR"
ok "unparsable JSON: the error says why: $(head -n1 <<<"$NDS_ERR" | cut -c1-150)"
: >"$LAB_DIR/empty.json"
expect_refused "empty file" "$LAB_DIR/empty.json" reconcile --json --config "$LAB_DIR/empty.json"
echo '["eth0"]' >"$LAB_DIR/array.json"
expect_refused "a JSON array, not an object" "$LAB_DIR/array.json" reconcile --config "$LAB_DIR/array.json"
expect_refused "missing file" "$LAB_DIR/nope.json" reconcile --json --config "$LAB_DIR/nope.json"
mkdir "$LAB_DIR/adir.json"
expect_refused "a directory as the config" "$LAB_DIR/adir.json" reconcile --config "$LAB_DIR/adir.json"

# The agent refuses the same way, before it touches anything or creates its socket.
run_configs=(bad1 bad7 bad20 truncated nope)
lab_reduced && run_configs=(bad1 truncated)
for f in "${run_configs[@]}"; do
    expect_refused "run --config $f.json" "$f.json" \
        run --config "$LAB_DIR/$f.json" --status-socket "$LAB_DIR/never.sock"
    [[ ! -e $LAB_DIR/never.sock ]] || fail "run --config $f.json: created its status socket"
done
ok "no refused agent created its status socket"
# dry_run is for `reconcile`: the agent refuses it rather than writing anyway.
printf '{"dry_run": true}\n' >"$LAB_DIR/dry.json"
expect_refused "run --config dry.json (dry_run: true)" "'dry_run'" \
    run --config "$LAB_DIR/dry.json" --status-socket "$LAB_DIR/never.sock"
grep -qF "ndpsync reconcile --dry-run" <<<"$NDS_ERR" ||
    fail "run with dry_run: the error does not point to reconcile --dry-run: $NDS_ERR"
ok "run with dry_run: the error points to reconcile --dry-run"
[[ ! -e $LAB_DIR/never.sock ]] || fail "run with dry_run: created its status socket"

# ---------------------------------------------------------------------------------------------
section "2. bad command lines: exit 2, nothing applied"
S=(--status-socket "$LAB_DIR/never.sock")
# cli_refused ARGS...: expect_refused for the sampled command lines (all unless LAB_REDUCED).
n_cli=0
cli_refused() {
    n_cli=$((n_cli + 1))
    lab_sample "$n_cli" || return 0
    expect_refused "$@"
}
cli_refused "--prefix nope" "--prefix" reconcile --prefix nope
cli_refused "--prefix with a host address" "--prefix" reconcile --json --prefix 2001:db8:0:1::1:2
cli_refused "--uplink also --downstream" "downstream" reconcile --uplink eth0 --downstream 'eth*'
cli_refused "run --resync-interval 0" "--resync-interval" run "${S[@]}" --resync-interval 0
cli_refused "run --resync-interval x" "--resync-interval" run "${S[@]}" --resync-interval x
cli_refused "run --liveness-timeout 0" "--liveness-timeout" run "${S[@]}" --liveness-timeout 0
cli_refused "run --netlink-rcvbuf 1" "--netlink-rcvbuf" run "${S[@]}" --netlink-rcvbuf 1
cli_refused "run --log-level loud" "--log-level" run "${S[@]}" --log-level loud
cli_refused "unknown option" "--frobnicate" reconcile --frobnicate
cli_refused "unknown option for run" "--dry-runn" run "${S[@]}" --dry-runn
cli_refused "unknown subcommand" "subcommand" frobnicate
cli_refused "options but no subcommand" "subcommand" --log-level info
nds_try
[[ $NDS_RC -eq 2 && -n $NDS_ERR ]] || fail "no arguments at all: exit $NDS_RC (want 2), stderr: $NDS_ERR"
ok "no arguments at all: exit 2: $(head -n1 <<<"$NDS_ERR")"
expect_refused "reconcile --config without a file" "--config" reconcile --config
[[ ! -e $LAB_DIR/never.sock ]] || fail "a refused agent created its status socket"
expect_eq "after every refusal: proxy table and sysctls as in the fresh lab" "$BEFORE" "$(host_snapshot)"

# A relative --status-socket is refused like the config key (exit 2) before anything is applied.
# Run from the temp dir, so a wrong success stays inside it.
pushd "$LAB_DIR" >/dev/null
nds_try run --status-socket relative.sock
popd >/dev/null
[[ $NDS_RC -eq 2 ]] && grep -qF "status" <<<"$NDS_ERR" ||
    fail "run --status-socket relative.sock: exit $NDS_RC (want 2, naming the status socket), last line: $(tail -n1 <<<"$NDS_ERR" | cut -c1-150)"
ok "run --status-socket relative.sock: exit 2: $(head -n1 <<<"$NDS_ERR")"
[[ ! -e $LAB_DIR/relative.sock ]] || fail "run --status-socket relative.sock created the socket"
expect_eq "run --status-socket relative.sock: proxy table and sysctls unchanged" "$BEFORE" "$(host_snapshot)"
rm -f "$LAB_DIR/relative.sock"

# ---------------------------------------------------------------------------------------------
section "3. SIGHUP with a bad config keeps the old config; a good edit takes effect"
CONF=$LAB_DIR/agent.json
printf '{"deny": ["%s/128"]}\n' "$LAB_CT3" >"$CONF"
agent_start hup --config "$CONF" --resync-interval 60
OLD_SET=$(lab_expected_minus "$LAB_CT3")
wait_for 3 owned_is "$OLD_SET" || afail "agent with deny $LAB_CT3: owned set is $(owned_set)"
ok "agent up, old config in force: $LAB_CT3 denied, the other four proxied"
reloads0=$(status_q .counters.reloads)

# bad_reload NEEDLE CONTENT (CONTENT "-" removes the file)
bad_reload() {
    local needle=$1 content=$2 lines0 line
    if [[ $content == - ]]; then rm -f "$CONF"; else printf '%s\n' "$content" >"$CONF"; fi
    lines0=$(wc -l <"$AGENT_LOG")
    kill -HUP "$AGENT_PID"
    _reload_failed() { tail -n +$((lines0 + 1)) "$AGENT_LOG" | grep 'reload failed' >/dev/null; }
    wait_for 3 _reload_failed || afail "SIGHUP with '$content' was not logged as a failed reload"
    kill -0 "$AGENT_PID" 2>/dev/null || afail "agent died on SIGHUP with '$content'"
    line=$(tail -n +$((lines0 + 1)) "$AGENT_LOG" | grep -F -- "$needle" | tail -n1) ||
        afail "agent log does not name '$needle' after SIGHUP with '$content'"
    ok "SIGHUP with '$content': logged: $(cut -c1-150 <<<"$line")"
    expect_eq "  ... counters.reloads unchanged" "$reloads0" "$(status_q .counters.reloads)"
    expect_eq "  ... entries unchanged ($LAB_CT3 still denied)" "$OLD_SET" "$(owned_set)"
}
bad_reload "'max_entries'" '{"max_entries": "many"}'
bad_reload "'bogus'" "{\"deny\": [\"$LAB_CT3/128\"], \"bogus\": true}"
bad_reload "'deny[0]'" '{"deny": ["nope"]}'
bad_reload "'downstream'" '{"uplinks": ["eth0"], "downstream": ["eth0"]}'
bad_reload "'interface_prefixes.br0'" \
    "{\"prefixes\": [\"$P64\"], \"interface_prefixes\": {\"br0\": [\"2001:db8:9::/112\"]}}"
bad_reload "not valid JSON" '{"deny": ['
bad_reload "'dry_run'" '{"dry_run": true}'
bad_reload "cannot read config file '$CONF'" -
expect_eq "after the bad reloads: status still skips $LAB_CT3 as denied" "denied" \
    "$(status_q "[.skipped[] | select(.address == \"$LAB_CT3\") | .reason] | unique | join(\",\")")"

# Still reacting to the kernel: a new container behind br0 gets an entry.
LAB_C4=${LAB}c4
LAB_CT4=$LAB_P::2:4
add_container "$LAB_C4" vb4 "$LAB_CT4" "$LAB_BR0" br0
_container_ping "$LAB_C4" "$LAB_BR0"
wait_for 3 owned_has "$LAB_CT4" || afail "after the bad reloads, new container $LAB_CT4 got no entry in 3 s"
ok "after the bad reloads the agent still proxies a new container ($LAB_CT4)"
OLD_SET=$(printf '%s\n' "$OLD_SET" "$LAB_CT4" | sort)
expect_eq "owned set: the old four plus $LAB_CT4 ($LAB_CT3 still denied)" "$OLD_SET" "$(owned_set)"

# A good edit: deny c2 instead of c3. c3 talks first, so the host has a neighbour entry for it
# when the deny lifts (nothing else refreshes it: the agent does not track refused neighbours).
_container_ping "$LAB_C3" "$LAB_BR0"
wait_for 5 _host_neigh_present br0 "$LAB_CT3" || afail "host has no neighbour entry for $LAB_CT3"
printf '// edited\n{"deny": ["%s/128"]}\n' "$LAB_CT2" >"$CONF"
kill -HUP "$AGENT_PID"
NEW_SET=$(printf '%s\n' "$(lab_expected_minus "$LAB_CT2")" "$LAB_CT4" | sort)
t0=$(_now_us)
wait_for 3 owned_is "$NEW_SET" ||
    afail "good config on SIGHUP: owned set not as expected within 3 s:"$'\n'"$NEW_SET"$'\n'"got:"$'\n'"$(owned_set)"
ok "good config on SIGHUP: $LAB_CT2 withdrawn and $LAB_CT3 proxied after $(elapsed_ms "$t0") ms"
expect_eq "counters.reloads grew by one" $((reloads0 + 1)) "$(status_q .counters.reloads)"
expect_eq "status skips $LAB_CT2 as denied" "denied" \
    "$(status_q "[.skipped[] | select(.address == \"$LAB_CT2\") | .reason] | unique | join(\",\")")"
grep -q 'config reloaded' "$AGENT_LOG" || afail "agent did not log 'config reloaded'"
ok "agent logged the reload"
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent: exit '$AGENT_RC' after SIGTERM (want 0)"
ok "agent exits 0 on SIGTERM after all that"

# ---------------------------------------------------------------------------------------------
section "4. an interface named \$'bad\\xff' (not UTF-8): the agent runs on; all output is UTF-8"
# valid_utf8 FILE: the file decodes as UTF-8 (strictly).
valid_utf8() {
    "$LAB_PYTHON" -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$1" 2>/dev/null
}
# expect_utf8 WHAT FILE
expect_utf8() {
    valid_utf8 "$2" || afail "$1 is not valid UTF-8: $(head -c 300 "$2" | od -c | head -n 5)"
    ok "$1 is valid UTF-8 ($(wc -c <"$2") bytes)"
}
BAD=$'bad\xff'
BAD_ADDR=$LAB_P::5:1
METRICS=$LAB_DIR/bad.prom
agent_start badname --resync-interval 60 --metrics-file "$METRICS"
_has_lab5() { local a; for a in $(lab_expected_minus); do owned_has "$a" || return 1; done; }
wait_for 5 _has_lab5 || afail "agent badname: owned set is $(owned_set)"
ip -n "$LAB_H" link add "$BAD" type veth peer name badpeer
ip -n "$LAB_H" link set badpeer up
ip -n "$LAB_H" link set "$BAD" up
ip -n "$LAB_H" addr add "$BAD_ADDR/112" dev "$BAD" nodad
ok "veth $(printf '%q' "$BAD") created in the lab's host namespace, with $BAD_ADDR"
wait_for 5 owned_has "$BAD_ADDR" || afail "the address on $(printf '%q' "$BAD") was not proxied"
ok "its address $BAD_ADDR is proxied"
# The raw document, as the socket sends it: the old agent died here (type_error 316).
ip netns exec "$LAB_H" "$LAB_PYTHON" - "$AGENT_SOCK" >"$LAB_DIR/raw.json" <<'PY' || true
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
PY
kill -0 "$AGENT_PID" 2>/dev/null || afail "the agent died rendering a status with $(printf '%q' "$BAD") in it"
ok "the agent is still running after a status query"
expect_utf8 "the raw status document" "$LAB_DIR/raw.json"
nds_run status --socket "$AGENT_SOCK" --json
[[ $NDS_RC -eq 0 ]] || afail "status --json: exit $NDS_RC: $NDS_ERR"
printf '%s\n' "$NDS_OUT" >"$LAB_DIR/status.json"
expect_utf8 "status --json" "$LAB_DIR/status.json"
expect_eq "the entry names the interface with U+FFFD for the bad byte" $'bad\uFFFD' \
    "$(jq -r --arg a "$BAD_ADDR" '.entries[] | select(.address == $a) | .interface' "$LAB_DIR/status.json")"
nds_run status --socket "$AGENT_SOCK"
[[ $NDS_RC -eq 0 ]] || afail "status (text): exit $NDS_RC: $NDS_ERR"
nds_run status --socket "$AGENT_SOCK" --prometheus
[[ $NDS_RC -eq 0 ]] || afail "status --prometheus: exit $NDS_RC: $NDS_ERR"
printf '%s\n' "$NDS_OUT" >"$LAB_DIR/status.prom"
expect_utf8 "status --prometheus" "$LAB_DIR/status.prom"
_metrics_has_bad() { grep -q "ndpsync_entries" "$METRICS" 2>/dev/null && kill -0 "$AGENT_PID"; }
wait_for 3 _metrics_has_bad || afail "no metrics file at $METRICS"
expect_utf8 "the metrics file" "$METRICS"
nds_run reconcile --dry-run --json
[[ $NDS_RC -eq 0 ]] || afail "reconcile --dry-run --json: exit $NDS_RC: $NDS_ERR"
printf '%s\n' "$NDS_OUT" >"$LAB_DIR/reconcile.json"
expect_utf8 "reconcile --dry-run --json" "$LAB_DIR/reconcile.json"
nds_run doctor --socket "$AGENT_SOCK" --json
[[ $NDS_RC -le 1 ]] || afail "doctor --json: exit $NDS_RC (want 0 or 1): $NDS_ERR"
printf '%s\n' "$NDS_OUT" >"$LAB_DIR/doctor.json"
expect_utf8 "doctor --json" "$LAB_DIR/doctor.json"
jq -e . "$LAB_DIR/doctor.json" >/dev/null || afail "doctor --json is not JSON"
# Still reacting to the kernel afterwards.
ip -n "$LAB_H" addr add "$LAB_P::5:3/112" dev "$BAD" nodad
wait_for 3 owned_has "$LAB_P::5:3" || afail "after all that, a new address got no entry in 3 s"
ok "the agent still proxies a new address ($LAB_P::5:3)"
ip -n "$LAB_H" link del "$BAD"
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent: exit '$AGENT_RC' after SIGTERM (want 0)"
ok "agent exits 0 on SIGTERM"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_bad_input ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
