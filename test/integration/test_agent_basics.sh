#!/usr/bin/env bash
# Integration test of the background agent (`ndpsync run`) in the standard lab: start-up and the
# status socket, a container created while it runs, uplink down/up (with and without the entries
# flushed), SIGHUP reloads (bad and good), SIGTERM, `status` without an agent, repair of
# hand-deleted entries by the periodic resync, reset sysctls (forwarding and proxy_ndp from the
# kernel's announcement, at once), IPv6 disabled and enabled on the uplink (NetworkManager's
# connection down and up), and --remove-on-exit.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~20-30 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_agent_basics.sh
# shellcheck disable=SC2016,SC2119  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-nab$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

LAB_C4=${LAB}c4
LAB_CT4=$LAB_P::2:4
ALL5=$(lab_expected_minus)
ALL6=$(printf '%s\n' "$ALL5" "$LAB_CT4" | sort)

# ---------------------------------------------------------------------------------------------
section "1. the agent starts, answers on its status socket and installs the five lab entries"
# Agent a1 resyncs only every 60 s: whatever it repairs in sections 2-4 it repairs from events.
A1_CONF=$LAB_DIR/a1.json
echo '{}' >"$A1_CONF"
t0=$(_now_us)
agent_start a1 --config "$A1_CONF" --resync-interval 60
log "agent answered after $(elapsed_ms "$t0") ms"
ok "agent (pid $AGENT_PID) answers on $AGENT_SOCK"
wait_for 3 owned_is "$ALL5" ||
    afail "owned entries after start: expected"$'\n'"$ALL5"$'\n'"got:"$'\n'"$(owned_set)"
ok "the five lab addresses are proxied on eth0 with proto $LAB_OWNER_PROTO"

doc=$(status_json) || afail "status --json failed"
jq -e . >/dev/null <<<"$doc" || afail "status --json is not valid JSON: $doc"
ok "status --json is valid JSON"
jq -e '.schema == 1 and .mode == "agent" and (.pid | type == "number")
       and (.entries | type == "array") and (.counters | type == "object")
       and (.uplinks | type == "array") and (.foreign | type == "array")' >/dev/null <<<"$doc" ||
    afail "status document lacks schema 1 / mode agent / pid / entries / counters: $doc"
ok "status document: schema 1, mode agent, pid $(jq -r .pid <<<"$doc")"
expect_eq "status pid is the agent's" "$AGENT_PID" "$(jq -r .pid <<<"$doc")"
expect_eq "status entries list the five lab addresses" "$ALL5" \
    "$(jq -r '.entries[].address' <<<"$doc" | sort)"
expect_eq "status entries are all on uplink eth0" "eth0" \
    "$(jq -r '[.entries[].uplink] | unique | join(",")' <<<"$doc")"
expect_eq "status lists the admin's entry as foreign" "$LAB_ADMIN" \
    "$(jq -r '.foreign[] | if type == "object" then .address else . end' <<<"$doc")"
nds_run status --socket "$AGENT_SOCK"
expect_eq "plain 'status' (text) exits 0" 0 "$NDS_RC"
grep -qF "$LAB_CT2" <<<"$NDS_OUT" || afail "plain 'status' does not mention $LAB_CT2: $NDS_OUT"
ok "plain 'status' mentions the entries"

# ---------------------------------------------------------------------------------------------
section "2. a container created after start gets an entry within 2 s"
add_container "$LAB_C4" vb4 "$LAB_CT4" "$LAB_BR0" br0
_container_ping "$LAB_C4" "$LAB_BR0"
t0=$(_now_us)
wait_for 2 owned_has "$LAB_CT4" || afail "no entry for new container $LAB_CT4 within 2 s"
ok "new container $LAB_CT4 proxied $(elapsed_ms "$t0") ms after its first ping"
wait_for 3 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT4" ||
    afail "router cannot ping the new container $LAB_CT4"
ok "router pings $LAB_CT4"
expect_eq "owned set is the five plus $LAB_CT4" "$ALL6" "$(owned_set)"
expect_eq "status lists $LAB_CT4 on br0" "$LAB_CT4 br0" \
    "$(status_q ".entries[] | select(.address == \"$LAB_CT4\") | \"\(.address) \(.interface)\"")"

# ---------------------------------------------------------------------------------------------
section "3. uplink eth0 down/up: entries come back within 5 s"
ip -n "$LAB_H" link set eth0 down
log "after eth0 down the kernel holds $(owned_set | wc -l) owned entries (6.6.103+/6.17+ keep permanent ones)"
ip -n "$LAB_H" link set eth0 up
t0=$(_now_us)
wait_for 5 owned_is "$ALL6" ||
    afail "after eth0 down/up the owned set is not back within 5 s: expected"$'\n'"$ALL6"$'\n'"got:"$'\n'"$(owned_set)"
ok "plain flap: all six entries present $(elapsed_ms "$t0") ms after eth0 up"

# Older kernels flush proxy entries on link down. Play that kernel: flush ours by hand while eth0
# is down. The link-up event alone must bring them back (the resync is 60 s away).
ip -n "$LAB_H" link set eth0 down
for a in $(owned_set); do
    ip -n "$LAB_H" -6 neigh del proxy "$a" dev eth0
done
# No assertion here: the agent re-adds on the link-down event itself, so on a slow run (ASan) it
# may already have put some back while this loop deleted them. What matters is the state after up.
log "after the hand flush while eth0 is down: $(owned_set | wc -l) owned entries"
ip -n "$LAB_H" link set eth0 up
t0=$(_now_us)
wait_for 5 owned_is "$ALL6" ||
    afail "after a flap with flushed entries the owned set is not back within 5 s: expected"$'\n'"$ALL6"$'\n'"got:"$'\n'"$(owned_set)"
ok "flushed flap: all six entries back $(elapsed_ms "$t0") ms after eth0 up"
# The admin's entry (not NUD_PERMANENT) is not ours to restore; the kernel dropped it on down.
log "admin entry after the flaps: '$(ip -n "$LAB_H" -6 neigh show proxy "$LAB_ADMIN" | sed 's/ *$//')' (re-adding it)"
ip -n "$LAB_H" -6 neigh replace proxy "$LAB_ADMIN" dev eth0
wait_for 15 _host_has_ra_default || fail "host got no RA default route back after eth0 up"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT2" ||
    afail "router cannot ping $LAB_CT2 after the flaps"
ok "router pings $LAB_CT2 after the flaps"

# ---------------------------------------------------------------------------------------------
section "3b. forwarding and proxy_ndp written by another program are repaired at once"
# A network manager reconfiguring the uplink writes its proxy_ndp back to 0. The kernel announces
# forwarding and proxy_ndp changes (RTNLGRP_IPV6_NETCONF): the agent repairs from that event,
# not at its resync (60 s away). The default route must survive every write.
for key in net.ipv6.conf.eth0.proxy_ndp net.ipv6.conf.eth0.forwarding net.ipv6.conf.all.forwarding; do
    repairs0=$(status_q .counters.sysctl_repairs)
    ip netns exec "$LAB_H" sysctl -qw "$key=0"
    t0=$(_now_us)
    wait_for "$(scaled_secs 1)" eval '[[ $(sysctl_h '"$key"') == 1 ]]' ||
        afail "$key still $(sysctl_h "$key") $(elapsed_ms "$t0") ms after it was written to 0"
    ms=$(elapsed_ms "$t0")
    ((repairs0 < $(status_q .counters.sysctl_repairs))) || afail "$key: counters.sysctl_repairs did not grow"
    ok "$key back to 1 within $ms ms"
done
ip -n "$LAB_H" -6 route show default | grep -q . || afail "the host lost its default route"
ok "the host kept its default route: $(ip -n "$LAB_H" -6 route show default | head -n1)"

# ---------------------------------------------------------------------------------------------
section "3c. IPv6 disabled and enabled again on the uplink: entries back at once"
# NetworkManager takes a connection down by writing disable_ipv6 = 1 on its link (and 0 to bring
# it up). The link stays up, but the kernel tears down the link's IPv6 state and purges its proxy
# entries without a word; the only trace is its link-local address leaving. The entries must be
# back within a second of IPv6 returning, not at the resync (60 s away).
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
log "with IPv6 off on eth0 the kernel holds $(owned_set | wc -l) owned entries"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
t0=$(_now_us)
wait_for "$(scaled_secs 1)" owned_is "$ALL6" ||
    afail "$(elapsed_ms "$t0") ms after IPv6 came back on eth0 the owned set is not back: expected"$'\n'"$ALL6"$'\n'"got:"$'\n'"$(owned_set)"
ok "all six entries back $(elapsed_ms "$t0") ms after IPv6 came back on eth0"
# The admin's entry is not ours to restore: put it back, as after the flaps.
ip -n "$LAB_H" -6 neigh replace proxy "$LAB_ADMIN" dev eth0
wait_for 15 _host_has_ra_default || fail "host got no RA default route back after IPv6 came back"
ok "the host's RA default route is back: $(ip -n "$LAB_H" -6 route show default | head -n1)"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT2" ||
    afail "router cannot ping $LAB_CT2 after IPv6 came back on eth0"
ok "router pings $LAB_CT2 after IPv6 came back on eth0"

# ---------------------------------------------------------------------------------------------
section "4. SIGHUP reloads the config file; a bad file is logged and the old config kept"
reloads0=$(status_q .counters.reloads)
echo '{"deny": [' >"$A1_CONF"   # broken JSON
kill -HUP "$AGENT_PID"
bad_logged() { grep -qi 'reload failed' "$AGENT_LOG"; }
wait_for 3 bad_logged || afail "a bad config on SIGHUP was not logged as a failed reload"
ok "bad config on SIGHUP logged: $(grep -i 'reload failed' "$AGENT_LOG" | tail -n1 | cut -c1-120)"
kill -0 "$AGENT_PID" 2>/dev/null || afail "agent died on a bad config reload"
expect_eq "after a bad reload: counters.reloads unchanged" "$reloads0" "$(status_q .counters.reloads)"
expect_eq "after a bad reload: entries unchanged" "$ALL6" "$(owned_set)"

printf '{"deny": ["%s/128"]}\n' "$LAB_CT4" >"$A1_CONF"
kill -HUP "$AGENT_PID"
t0=$(_now_us)
wait_for 3 owned_lacks "$LAB_CT4" || afail "deny of $LAB_CT4 by SIGHUP reload not applied within 3 s"
ok "reload with deny $LAB_CT4/128: entry withdrawn after $(elapsed_ms "$t0") ms"
expect_eq "counters.reloads grew by one" $((reloads0 + 1)) "$(status_q .counters.reloads)"
expect_eq "status skips $LAB_CT4 as denied" "denied" \
    "$(status_q "[.skipped[] | select(.address == \"$LAB_CT4\") | .reason] | unique | join(\",\")")"
expect_eq "the other five stay" "$ALL5" "$(owned_set)"
echo '{}' >"$A1_CONF"
kill -HUP "$AGENT_PID"
wait_for 3 owned_is "$ALL6" || afail "reload without the deny did not bring $LAB_CT4 back within 3 s"
ok "reload without the deny: $LAB_CT4 proxied again"

# ---------------------------------------------------------------------------------------------
section "5. SIGTERM: exit 0 within 1 s, entries left in place"
before=$(proxies_h)
agent_stop_term 1
[[ $AGENT_RC == 0 ]] || afail "agent after SIGTERM: exit '$AGENT_RC' after $AGENT_STOP_MS ms (want 0 within 1 s)"
ok "agent exited 0, $AGENT_STOP_MS ms after SIGTERM"
expect_eq "proxy table unchanged by the exit" "$before" "$(proxies_h)"

# ---------------------------------------------------------------------------------------------
section "6. status with no agent: exit 1"
for sock in "$AGENT_SOCK" "$LAB_DIR/nobody.sock"; do
    nds_run status --socket "$sock" --json
    expect_eq "status --socket $(basename "$sock") with no agent: exit status" 1 "$NDS_RC"
    grep -qi "no agent" <<<"$NDS_ERR$NDS_OUT" ||
        fail "status with no agent does not say 'no agent': stderr: $NDS_ERR stdout: $NDS_OUT"
    ok "it says: $(head -n1 <<<"$NDS_ERR$NDS_OUT")"
done

# ---------------------------------------------------------------------------------------------
section "7. a second agent (--resync-interval 2 --remove-on-exit) adopts the entries"
agent_start a2 --resync-interval 2 --remove-on-exit
wait_for 3 owned_is "$ALL6" || afail "second agent: owned set not whole"
ok "second agent up with the six entries"
expect_eq "each proxy address appears once" "" \
    "$(ip -n "$LAB_H" -6 neigh show proxy | awk '{ print $1 }' | sort | uniq -d)"

section "8. a hand-deleted owned entry is restored by the resync"
resyncs0=$(status_q .counters.resyncs)
# The kernel's answer proves the delete; a look at the table afterwards could already see the
# entry restored by the 2 s resync when commands are slow (an emulated guest).
ip -n "$LAB_H" -6 neigh del proxy "$LAB_CT2" dev eth0 || fail "could not delete $LAB_CT2 by hand"
t0=$(_now_us)
wait_for 3.5 owned_has "$LAB_CT2" || afail "hand-deleted $LAB_CT2 not restored within 3.5 s (resync 2 s)"
ok "$LAB_CT2 restored $(elapsed_ms "$t0") ms after the hand delete"
resyncs1=$(status_q .counters.resyncs)
((resyncs1 > resyncs0)) || afail "counters.resyncs did not grow ($resyncs0 -> $resyncs1)"
ok "counters.resyncs grew ($resyncs0 -> $resyncs1)"
expect_eq "owned set is whole again" "$ALL6" "$(owned_set)"

section "9. all.proxy_ndp reset to 0 by hand is restored"
expect_eq "all.proxy_ndp is 1 under the agent" 1 "$(sysctl_h net.ipv6.conf.all.proxy_ndp)"
repairs0=$(status_q .counters.sysctl_repairs)
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.proxy_ndp=0
t0=$(_now_us)
proxy_ndp_on() { [[ $(sysctl_h net.ipv6.conf.all.proxy_ndp) == 1 ]]; }
wait_for 3.5 proxy_ndp_on || afail "all.proxy_ndp still 0 after 3.5 s"
ok "all.proxy_ndp back to 1 after $(elapsed_ms "$t0") ms"
repairs=$(status_q .counters.sysctl_repairs)
((repairs >= 1 && repairs > repairs0)) || afail "counters.sysctl_repairs went $repairs0 -> $repairs, want >= 1 and growing"
ok "counters.sysctl_repairs = $repairs (was $repairs0)"

section "10. --remove-on-exit removes only our entries on SIGTERM"
expect_eq "the admin's entry is there before the exit" "$LAB_ADMIN dev eth0 proxy" \
    "$(ip -n "$LAB_H" -6 neigh show proxy "$LAB_ADMIN" | sed 's/ *$//')"
agent_stop_term 1
[[ $AGENT_RC == 0 ]] || afail "agent --remove-on-exit after SIGTERM: exit '$AGENT_RC' after $AGENT_STOP_MS ms"
ok "agent --remove-on-exit exited 0, $AGENT_STOP_MS ms after SIGTERM"
expect_eq "no proto-$LAB_OWNER_PROTO entries remain (any interface)" "" \
    "$(ip -n "$LAB_H" -6 neigh show proxy | grep "proto $LAB_OWNER_PROTO" || true)"
expect_eq "the admin's entry stays, untagged" "$LAB_ADMIN dev eth0 proxy" \
    "$(ip -n "$LAB_H" -6 neigh show proxy "$LAB_ADMIN" | sed 's/ *$//')"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_agent_basics ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
