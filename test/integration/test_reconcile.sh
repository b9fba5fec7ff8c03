#!/usr/bin/env bash
# Integration test of `ndpsync reconcile` (one-shot) against the real kernel, in the standard lab
# (test/lab/lab.sh: router ── host eth0; host vc1 ── c1; host br0 ── c2, c3).
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~15-25 s. Every check prints "ok N - ..." or
# fails with what it expected and what it got.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_reconcile.sh
set -euo pipefail

# shellcheck source=test/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/lab.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

# ---------------------------------------------------------------------------------------------
# Helpers for this test

# expected_ours [ADDR_TO_DROP]: the addresses ndpsync should own, sorted, minus one optionally.
expected_ours() {
    printf '%s\n' "${LAB_EXPECTED[@]}" | grep -vxF "${1:-none}" | sort
}

# all_owned_lines: every proxy entry with our owner tag, on any interface, as "ADDR DEV".
all_owned_lines() {
    ip -n "$LAB_H" -6 neigh show proxy |
        awk -v p="proto $LAB_OWNER_PROTO" 'index($0, p) { print $1, $3 }' | sort
}

# json_addrs KEY: the sorted addresses in the last run's JSON list KEY (added, removed, ...).
json_addrs() {
    jq -r --arg k "$1" '.[$k][].address' <<<"$NDS_OUT" | sort
}

# expect_reconcile_ok WHAT ARGS...: run `reconcile --json ARGS`, require exit 0 and valid JSON.
expect_reconcile_ok() {
    local what=$1
    shift
    nds_run reconcile --json "$@"
    if [[ $NDS_RC -ne 0 ]]; then
        fail "$what: ndpsync reconcile --json $* exited $NDS_RC (want 0)"$'\n'"stderr: $NDS_ERR"$'\n'"stdout: $NDS_OUT"
    fi
    jq -e '. as $d | .schema == 1 and (.errors | length == 0)
           and (["added", "removed", "kept", "foreign", "skipped", "errors", "uplinks"]
                | all(. as $k | $d[$k] | type == "array"))' >/dev/null <<<"$NDS_OUT" ||
        fail "$what: output is not a schema-1 JSON document with all lists and no errors: $NDS_OUT"
    ok "$what: reconcile --json${*:+ $*} exits 0 with a clean schema-1 document"
}

# expect_table WHAT ADDRS: our entries (any interface) are exactly ADDRS, all on eth0, and the
# admin's entry is still there, untagged.
expect_table() {
    local what=$1 want=$2
    expect_eq "$what: owned proxy entries (proto $LAB_OWNER_PROTO) are exactly these, on eth0" \
        "$(awk '{ print $0, "eth0" }' <<<"$want")" "$(all_owned_lines)"
    local admin
    admin=$(ip -n "$LAB_H" -6 neigh show proxy "$LAB_ADMIN" | sed 's/ *$//')
    expect_eq "$what: the admin's $LAB_ADMIN entry is untouched (no proto)" \
        "$LAB_ADMIN dev eth0 proxy" "$admin"
}

# probe_expect WANT(answered|silent) ARGS...: one NS from the router, with the expected result.
probe_expect() {
    local want=$1
    shift
    local out rc=0
    out=$(probe_r --timeout 1 "$@") || rc=$?
    if [[ $want == answered && $rc -ne 0 ]]; then
        fail "NS ($*) from the router was not answered: $out"
    elif [[ $want == silent && $rc -ne 1 ]]; then
        fail "NS ($*) from the router was answered (or the probe broke, rc=$rc): $out"
    fi
    ok "NS ${*} -> $want ($(jq -c '{answered, rtt_us}' <<<"$out"))"
}

HOST_MAC=$(mac_of "$LAB_H" eth0)

# section TITLE: a heading with the elapsed time, so slow steps show up in the log.
section() {
    printf '## %s  [t=%d ms]\n' "$*" $((($(_now_us) - T_START) / 1000))
}

# ---------------------------------------------------------------------------------------------
section "1. first reconcile installs exactly the container-side addresses"
# Watch the host's routes during the first run: switching forwarding on must not purge the
# RA-learned default route even for a moment (docs/design.md, "Forwarding purges RA routes": accept_ra=2 has to come first).
ip -n "$LAB_H" -6 monitor route >"$LAB_DIR/routes.log" 2>&1 &
MONITOR_PID=$!
lab_bg "$MONITOR_PID"
# Readiness: a marker route we add must show up in the monitor's output. The monitor may not
# be subscribed yet when we add it, so each try adds it afresh.
monitor_saw_marker() {
    ip -n "$LAB_H" -6 route del 2001:db8:ffff::/48 dev vc1 2>/dev/null || true
    ip -n "$LAB_H" -6 route add 2001:db8:ffff::/48 dev vc1
    grep -q '2001:db8:ffff::/48' "$LAB_DIR/routes.log"
}
wait_for 5 monitor_saw_marker || fail "ip monitor route did not start"
ip -n "$LAB_H" -6 route del 2001:db8:ffff::/48 dev vc1

expect_reconcile_ok "first run"
expect_eq "first run: JSON 'added' lists the five container-side addresses" \
    "$(expected_ours)" "$(json_addrs added)"
expect_eq "first run: JSON 'foreign' lists the admin's entry" \
    "$LAB_ADMIN" "$(json_addrs foreign)"
expect_table "after first run" "$(expected_ours)"

# ---------------------------------------------------------------------------------------------
section "2. sysctls are set, and the RA default route survived the forwarding switch"
expect_eq "host sysctls hold" \
    "$(printf '%s\n' 1 1 1 1 2 0)" \
    "$(for k in net.ipv6.conf.all.proxy_ndp net.ipv6.conf.eth0.proxy_ndp \
        net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.forwarding \
        net.ipv6.conf.eth0.accept_ra net.ipv6.neigh.eth0.proxy_delay; do sysctl_h "$k"; done)"
ip -n "$LAB_H" -6 route show default dev eth0 | grep 'proto ra' >/dev/null ||
    fail "the RA-learned default route is gone: $(ip -n "$LAB_H" -6 route show default)"
ok "the RA-learned default route (proto ra) is still there"
kill "$MONITOR_PID" 2>/dev/null || true
if grep -q '^Deleted default' "$LAB_DIR/routes.log"; then
    fail "the first run purged the RA default route (it came back later):"$'\n'"$(cat "$LAB_DIR/routes.log")"
fi
ok "the RA default route was never deleted during the run (ip monitor route)"
expect_eq "JSON reports eth0.accept_ra found 1, set 2" "1 2" \
    "$(jq -r '.uplinks[] | select(.name == "eth0") | .sysctls[]
              | select(.key == "net.ipv6.conf.eth0.accept_ra") | "\(.found) \(.set)"' <<<"$NDS_OUT")"

# ---------------------------------------------------------------------------------------------
section "3. the router reaches every container and both host gateways"
for a in "$LAB_VC1" "$LAB_CT1" "$LAB_BR0" "$LAB_CT2" "$LAB_CT3"; do
    ip netns exec "$LAB_R" ping -6 -c1 -W2 -n "$a" >/dev/null ||
        fail "router cannot ping $a"
    ok "router pings $a"
done

# ---------------------------------------------------------------------------------------------
section "4. the host answers the router's Neighbor Solicitations, unicast and multicast"
for a in "$LAB_CT1" "$LAB_CT2" "$LAB_CT3"; do
    probe_expect answered --target "$a" --unicast --dst-mac "$HOST_MAC"
    probe_expect answered --target "$a"
done
# proxy_delay=0 takes effect: with the kernel default (0.8 s) each multicast answer waits a random
# time in [0, 800) ms, so 10 answers all under 200 ms would happen with probability 1e-6.
out=$(probe_r --target "$LAB_CT2" --count 10 --timeout 2) || fail "multicast NS x10 not all answered: $out"
max_us=$(jq -r .max_us <<<"$out")
((max_us < 200000)) || fail "multicast NS answers are delayed (proxy_delay not 0?): $out"
ok "10 multicast NS answered without proxy delay ($(jq -c '{median_us, p99_us, max_us}' <<<"$out"))"

# ---------------------------------------------------------------------------------------------
section "5. negative control: without all.proxy_ndp, unicast NS go unanswered (docs/design.md: Unicast NS)"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.proxy_ndp=0
expect_eq "control: eth0.proxy_ndp is still 1" 1 "$(sysctl_h net.ipv6.conf.eth0.proxy_ndp)"
probe_expect silent --target "$LAB_CT1" --unicast --dst-mac "$HOST_MAC"
probe_expect answered --target "$LAB_CT1"   # multicast still works: only the unicast path broke
expect_reconcile_ok "restore"
expect_eq "restore: JSON reports all.proxy_ndp found 0, set 1" "0 1" \
    "$(jq -r '.sysctls[] | select(.key == "net.ipv6.conf.all.proxy_ndp") | "\(.found) \(.set)"' \
        <<<"$NDS_OUT")"
probe_expect answered --target "$LAB_CT1" --unicast --dst-mac "$HOST_MAC"

# ---------------------------------------------------------------------------------------------
section "6. a second run changes nothing"
expect_reconcile_ok "idempotent run"
expect_eq "idempotent run: nothing added" "" "$(json_addrs added)"
expect_eq "idempotent run: nothing removed" "" "$(json_addrs removed)"
expect_eq "idempotent run: all five kept" "$(expected_ours)" "$(json_addrs kept)"
expect_table "after idempotent run" "$(expected_ours)"

# ---------------------------------------------------------------------------------------------
section "7. --dry-run reports a missing entry without re-adding it; a real run restores it"
ip -n "$LAB_H" -6 neigh del proxy "$LAB_CT2" dev eth0
ip netns exec "$LAB_H" sysctl -qw net.ipv6.neigh.eth0.proxy_delay=80   # drift, also left alone
before=$(host_snapshot)
expect_reconcile_ok "dry run" --dry-run
expect_eq "dry run: JSON says dry_run true" true "$(jq -r .dry_run <<<"$NDS_OUT")"
expect_eq "dry run: JSON 'added' lists the deleted entry" "$LAB_CT2" "$(json_addrs added)"
expect_eq "dry run: proxy table and sysctls are byte-for-byte unchanged" "$before" "$(host_snapshot)"
expect_reconcile_ok "real run after dry run"
expect_eq "real run: JSON 'added' lists the deleted entry" "$LAB_CT2" "$(json_addrs added)"
expect_eq "real run: proxy_delay is 0 again" 0 "$(sysctl_h net.ipv6.neigh.eth0.proxy_delay)"
expect_table "after real run" "$(expected_ours)"

# ---------------------------------------------------------------------------------------------
section "8. a container that loses its address is withdrawn (after verification)"
ip -n "$LAB_C3" addr del "$LAB_CT3/112" dev eth0
ok "c3 dropped $LAB_CT3"
ct3_not_reachable() {
    ! ip -n "$LAB_H" -6 neigh show "$LAB_CT3" dev br0 | grep REACHABLE >/dev/null
}
wait_for 15 ct3_not_reachable ||
    fail "host's neighbour entry for $LAB_CT3 stayed REACHABLE for 15 s: $(ip -n "$LAB_H" -6 neigh show "$LAB_CT3")"
ok "host's neighbour entry for $LAB_CT3 left REACHABLE: $(ip -n "$LAB_H" -6 neigh show "$LAB_CT3" dev br0 | sed 's/ *$//')"
t0=$(_now_us)
expect_reconcile_ok "withdraw run"
echo "# withdraw run took $((($(_now_us) - t0) / 1000)) ms (includes neighbour verification)"
expect_eq "withdraw run: JSON 'removed' lists $LAB_CT3" "$LAB_CT3" "$(json_addrs removed)"
expect_eq "withdraw run: nothing added" "" "$(json_addrs added)"
expect_table "after withdraw run" "$(expected_ours "$LAB_CT3")"

# ---------------------------------------------------------------------------------------------
section "9. bad configs and bad options exit 2 and change nothing"
# Drift first, so a run that wrongly went ahead would visibly repair something.
ip -n "$LAB_H" -6 neigh del proxy "$LAB_CT1" dev eth0
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.proxy_ndp=0 net.ipv6.neigh.eth0.proxy_delay=80
before=$(host_snapshot)

# bad_config_case KEY JSON
bad_config_case() {
    local key=$1 json=$2 file
    file=$(mktemp "$LAB_DIR/bad.XXXXXX.json")
    printf '%s\n' "$json" >"$file"
    nds_run reconcile --json --config "$file"
    expect_eq "config $json: exit status" 2 "$NDS_RC"
    grep -q "$key" <<<"$NDS_ERR$NDS_OUT" ||
        fail "config $json: the error does not name '$key': stderr: $NDS_ERR stdout: $NDS_OUT"
    ok "config $json: error names '$key': $(head -n1 <<<"$NDS_ERR")"
    expect_eq "config $json: proxy table and sysctls byte-for-byte unchanged" "$before" "$(host_snapshot)"
}
bad_config_case uplinks '{"uplinks": "eth0"}'
bad_config_case bogus '{"bogus": 1}'
bad_config_case prefixes '{"prefixes": ["nope"]}'

# bad_cli_case ARGS...
bad_cli_case() {
    nds_run reconcile --json "$@"
    expect_eq "option $*: exit status" 2 "$NDS_RC"
    [[ -n $NDS_ERR ]] || fail "option $*: no error message on stderr"
    ok "option $*: says why: $(head -n1 <<<"$NDS_ERR")"
    expect_eq "option $*: proxy table and sysctls byte-for-byte unchanged" "$before" "$(host_snapshot)"
}
bad_cli_case --prefix nope
bad_cli_case --frobnicate

# And a good run puts everything back.
expect_reconcile_ok "final run"
expect_eq "final run: JSON 'added' lists the deleted entry" "$LAB_CT1" "$(json_addrs added)"
expect_eq "final run: all.proxy_ndp and proxy_delay restored" "1 0" \
    "$(sysctl_h net.ipv6.conf.all.proxy_ndp) $(sysctl_h net.ipv6.neigh.eth0.proxy_delay)"
expect_table "after final run" "$(expected_ours "$LAB_CT3")"

# ---------------------------------------------------------------------------------------------
lab_down   # explicit, so a changed root namespace fails the test before we say PASS
echo "PASS: test_reconcile ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
