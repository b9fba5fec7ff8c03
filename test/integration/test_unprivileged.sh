#!/usr/bin/env bash
# The agent as the systemd unit runs it: a non-root user with CAP_NET_ADMIN (ambient; and
# CAP_NET_RAW, for the DAD listener, only until it is open), a bounding set of those, and
# no_new_privs (User=ndpsync, AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW,
# CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW, NoNewPrivileges=yes). Section 2 runs it with
# CAP_NET_ADMIN alone, as an older unit file would.
#
#   1. The kernel fact the unit relies on: /proc/sys/net files are owned by root (mode 0644), yet
#      a non-root process with CAP_NET_ADMIN in the namespace's user namespace may write them
#      (net/sysctl_net.c, net_ctl_permissions, gives such a process the owner's permission bits).
#      Control: the same process without the capability is refused (EACCES).
#   2. `ndpsync run` as uid 65534 with ambient CAP_NET_ADMIN: starts, sets accept_ra=2,
#      proxy_ndp, forwarding and proxy_delay, installs the five lab entries, answers on its
#      socket, keeps exactly CAP_NET_ADMIN, reloads on SIGHUP, and the host keeps its default
#      route; SIGTERM exits 0. Without CAP_NET_RAW it warns once and runs without DAD snooping.
#   3. As the unit runs it now, with ambient CAP_NET_ADMIN and CAP_NET_RAW: the DAD listener
#      opens, CAP_NET_RAW is gone from every set once it runs (CapEff/CapPrm/CapInh/CapAmb), and
#      the listener still works: c1 DAD-probes a new address, which is proxied.
#   4. `ndpsync run` started as root by hand: it becomes nobody (run_as), with CAP_NET_ADMIN alone
#      in every set, no_new_privs; entries, a new address, the RA default route, the metrics
#      file, SIGHUP and the socket's removal all work after the switch.
#   5. the same without CAP_SETPCAP (a pod): the bounding set cannot be emptied; everything else
#      still goes, and the log says so.
#
# Needs root (to build the lab and switch user); exits 77 (skipped) otherwise.
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_unprivileged.sh
set -euo pipefail

LAB=${LAB:-nun$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
command -v setpriv >/dev/null || {
  echo "SKIP: setpriv (util-linux) not installed"
  exit 77
}
trap lab_down EXIT
lab_up

NOBODY=65534
# As uid/gid 65534 with CAP_NET_ADMIN alone (ambient, bounding), and with no capability at all.
AS_NET_ADMIN=(setpriv "--reuid=$NOBODY" "--regid=$NOBODY" --clear-groups "--inh-caps=-all,+net_admin"
  "--ambient-caps=-all,+net_admin" "--bounding-set=-all,+net_admin" --no-new-privs)
AS_NOBODY=(setpriv "--reuid=$NOBODY" "--regid=$NOBODY" --clear-groups --inh-caps=-all
  --bounding-set=-all --no-new-privs)

section "1. CAP_NET_ADMIN alone may write a namespace's /proc/sys/net (root-owned, 0644)"
CAPNS=${LAB}cap
LAB_NAMESPACES+=("$CAPNS")
ip netns add "$CAPNS"
knob=/proc/sys/net/ipv6/conf/lo/forwarding
owner=$(ip netns exec "$CAPNS" stat -c '%u %a' "$knob")
expect_eq "$knob is owned by root, mode 644" "0 644" "$owner"
if ip netns exec "$CAPNS" "${AS_NOBODY[@]}" sh -c "echo 1 >$knob" 2>/dev/null; then
  fail "uid $NOBODY without capabilities could write $knob"
fi
expect_eq "control: without CAP_NET_ADMIN the write is refused" 0 "$(ip netns exec "$CAPNS" cat $knob)"
for k in conf/all/forwarding conf/lo/forwarding conf/all/proxy_ndp conf/lo/accept_ra neigh/lo/proxy_delay; do
  ip netns exec "$CAPNS" "${AS_NET_ADMIN[@]}" sh -c "echo 2 >/proc/sys/net/ipv6/$k" ||
    fail "uid $NOBODY with CAP_NET_ADMIN could not write /proc/sys/net/ipv6/$k"
done
expect_eq "with CAP_NET_ADMIN: written" 2 "$(ip netns exec "$CAPNS" cat /proc/sys/net/ipv6/neigh/lo/proxy_delay)"
ok "uid $NOBODY with only CAP_NET_ADMIN writes forwarding, proxy_ndp, accept_ra, proxy_delay"

section "2. ndpsync run as uid $NOBODY with ambient CAP_NET_ADMIN"
chmod 0711 "$LAB_DIR" # uid 65534 passes through to its files below
# The state directory belongs to the agent's user, as the unit's StateDirectory= makes it.
chown $NOBODY:$NOBODY "$STATE_DIRECTORY"
RUN=$LAB_DIR/run
install -d -o $NOBODY -g $NOBODY -m 0755 "$RUN"
CONF=$LAB_DIR/ndpsync.json
echo '{"log_level": "info"}' >"$CONF"
chmod 0644 "$CONF"
AGENT_SOCK=$RUN/status.sock
AGENT_LOG=$LAB_DIR/unpriv.log
BEFORE_FWD=$(sysctl_h net.ipv6.conf.all.forwarding)
expect_eq "the lab starts with forwarding off" 0 "$BEFORE_FWD"
ip netns exec "$LAB_H" env NDPSYNC_CONFIG="$CONF" "${AS_NET_ADMIN[@]}" "$NDPSYNC" run --status-socket "$AGENT_SOCK" >"$AGENT_LOG" 2>&1 &
AGENT_PID=$!
lab_bg "$AGENT_PID"
wait_for 10 _agent_answers || afail "the unprivileged agent did not answer within 10 s"
ok "the agent (uid $NOBODY) answers on its socket"
ALL5=$(lab_expected_minus)
wait_for 5 owned_is "$ALL5" || afail "entries: want"$'\n'"$ALL5"$'\n'"got"$'\n'"$(owned_set)"
ok "the five lab entries are installed"
expect_eq "all.proxy_ndp" 1 "$(sysctl_h net.ipv6.conf.all.proxy_ndp)"
expect_eq "eth0.proxy_ndp" 1 "$(sysctl_h net.ipv6.conf.eth0.proxy_ndp)"
expect_eq "all.forwarding" 1 "$(sysctl_h net.ipv6.conf.all.forwarding)"
expect_eq "eth0.accept_ra" 2 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
expect_eq "eth0 proxy_delay" 0 "$(sysctl_h net.ipv6.neigh.eth0.proxy_delay)"
grep -q "using config file $CONF" "$AGENT_LOG" || afail "the agent did not read $CONF"
ok "the agent read its config file (NDPSYNC_CONFIG)"
caps=$(awk '/^(Uid|CapEff|CapPrm|CapBnd):/ { printf "%s %s ", $1, $2 }' "/proc/$AGENT_PID/status")
expect_eq "uid and capabilities of the running agent" \
  "Uid: $NOBODY CapPrm: 0000000000001000 CapEff: 0000000000001000 CapBnd: 0000000000001000 " "$caps"
wait_for 10 _host_has_ra_default || afail "the host lost its default route"
ok "the host keeps its RA default route (forwarding on, accept_ra=2)"
grep -qx "conf/all/forwarding 0 1" "$STATE_DIRECTORY/sysctls-found" ||
    afail "the unprivileged agent did not record forwarding as found: $(cat "$STATE_DIRECTORY/sysctls-found" 2>&1)"
ok "the unprivileged agent recorded the sysctls as found in its state directory"

# A reload reads the file again, as the unprivileged user.
echo '{"log_level": "info", "deny": ["'"$LAB_CT1"'/128"]}' >"$CONF"
kill -HUP "$AGENT_PID"
wait_for 5 owned_lacks "$LAB_CT1" || afail "SIGHUP: the denied $LAB_CT1 is still proxied"
ok "SIGHUP: the new file is read and applied (deny $LAB_CT1)"

agent_stop_term 5
expect_eq "SIGTERM: exit 0" 0 "$AGENT_RC"
expect_eq "without CAP_NET_RAW: one warning, no DAD snooping" 1 \
  "$(grep -c "running without DAD snooping" "$AGENT_LOG")"

section "3. ndpsync run as uid $NOBODY with ambient CAP_NET_ADMIN and CAP_NET_RAW (the unit)"
AS_UNIT=(setpriv "--reuid=$NOBODY" "--regid=$NOBODY" --clear-groups
  "--inh-caps=-all,+net_admin,+net_raw" "--ambient-caps=-all,+net_admin,+net_raw"
  "--bounding-set=-all,+net_admin,+net_raw" --no-new-privs)
echo '{"log_level": "debug"}' >"$CONF"
AGENT_LOG=$LAB_DIR/unit.log
ip netns exec "$LAB_H" env NDPSYNC_CONFIG="$CONF" "${AS_UNIT[@]}" "$NDPSYNC" run --status-socket "$AGENT_SOCK" >"$AGENT_LOG" 2>&1 &
AGENT_PID=$!
lab_bg "$AGENT_PID"
wait_for 10 _agent_answers || afail "the agent (unit's capabilities) did not answer within 10 s"
grep "running without DAD snooping" "$AGENT_LOG" >/dev/null &&
  afail "with CAP_NET_RAW the DAD listener did not open"
ok "with CAP_NET_RAW the DAD listener opens"
caps=$(awk '/^(CapInh|CapPrm|CapEff|CapAmb):/ { printf "%s %s ", $1, $2 }' "/proc/$AGENT_PID/status")
expect_eq "CAP_NET_RAW dropped from every set once running" \
  "CapInh: 0000000000001000 CapPrm: 0000000000001000 CapEff: 0000000000001000 CapAmb: 0000000000001000 " "$caps"
NEW=$LAB_P::1:99
ip netns exec "$LAB_C1" sysctl -qw net.ipv6.conf.eth0.accept_dad=1 net.ipv6.conf.eth0.dad_transmits=1
ip -n "$LAB_C1" addr add "$NEW/112" dev eth0
wait_for 3 owned_has "$NEW" || afail "c1's $NEW (DAD only) not proxied: the listener does not work without CAP_NET_RAW"
ok "after the drop the listener still works: c1's new $NEW is proxied from its DAD probe"
expect_eq "counters.dad_probes_followed" 1 "$(status_q .counters.dad_probes_followed)"
wait_for 10 _host_has_ra_default || afail "the host lost its default route"
ok "the host keeps its RA default route"
agent_stop_term 5
expect_eq "SIGTERM: exit 0" 0 "$AGENT_RC"
section "4. ndpsync run started as root by hand: it becomes nobody (run_as) with CAP_NET_ADMIN alone"
# What the agent needs after the switch: its config readable (0644 under the 0711 lab dir), the
# metrics file's directory writable by nobody, and the socket's directory: the agent creates
# run4/ itself, owned by the user it becomes, so that it can remove its socket when it stops.
RUN4=$LAB_DIR/run4
METRICS_DIR=$LAB_DIR/metrics
install -d -o $NOBODY -g $NOBODY -m 0755 "$METRICS_DIR"
echo '{"log_level": "info"}' >"$CONF"
AGENT_SOCK=$RUN4/status.sock
# A state directory made by root (an install without the package): the agent hands it over.
chown root:root "$STATE_DIRECTORY"
rm -f "$STATE_DIRECTORY/sysctls-found"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.neigh.eth0.proxy_delay=80   # a write for it to record
AGENT_LOG=$LAB_DIR/root.log
ip netns exec "$LAB_H" env NDPSYNC_CONFIG="$CONF" "$NDPSYNC" run --status-socket "$AGENT_SOCK" \
    --metrics-file "$METRICS_DIR/ndpsync.prom" >"$AGENT_LOG" 2>&1 &
AGENT_PID=$!
lab_bg "$AGENT_PID"
wait_for 10 _agent_answers || afail "the root-started agent did not answer within 10 s"
ok "the root-started agent answers on its socket"
expect_eq "the socket's directory, created by the agent, belongs to nobody" "$NOBODY:$NOBODY 755" \
    "$(stat -c '%u:%g %a' "$RUN4")"
expect_eq "the state directory, made by root, was handed to nobody" "$NOBODY" \
    "$(stat -c '%u' "$STATE_DIRECTORY")"
wait_true 10 '[[ $(sysctl_h net.ipv6.neigh.eth0.proxy_delay) == 0 ]]' ||
    afail "the agent (now nobody) did not set proxy_delay"
grep -qx "neigh/eth0/proxy_delay 80 0" "$STATE_DIRECTORY/sysctls-found" ||
    afail "no record of proxy_delay: $(cat "$STATE_DIRECTORY/sysctls-found" 2>&1)"
ok "after the switch to nobody, a sysctl write is recorded first, then made"
ids=$(awk '/^(Uid|Gid):/ { printf "%s %s %s %s %s ", $1, $2, $3, $4, $5 }' "/proc/$AGENT_PID/status")
expect_eq "real, effective, saved and file-system uid and gid" \
    "Uid: $NOBODY $NOBODY $NOBODY $NOBODY Gid: $NOBODY $NOBODY $NOBODY $NOBODY " "$ids"
caps=$(awk '/^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):/ { printf "%s %s ", $1, $2 }' "/proc/$AGENT_PID/status")
expect_eq "capabilities: CAP_NET_ADMIN alone, also in the bounding set; no_new_privs" \
    "CapInh: 0000000000000000 CapPrm: 0000000000001000 CapEff: 0000000000001000 CapBnd: 0000000000001000 CapAmb: 0000000000000000 NoNewPrivs: 1 " "$caps"
grep -q "running as user nobody (uid $NOBODY) with CAP_NET_ADMIN alone" "$AGENT_LOG" ||
    afail "the agent did not log the switch to nobody"
ok "the agent logged the switch"
_has_all5() { local a; for a in $ALL5; do owned_has "$a" || return 1; done; }
wait_for 5 _has_all5 || afail "entries: want"$'\n'"$ALL5"$'\n'"got"$'\n'"$(owned_set)"
ok "the five lab entries are installed (by nobody)"
NEW4=$LAB_P::1:98
ip -n "$LAB_C1" addr add "$NEW4/112" dev eth0 # its DAD probe reveals it (dad_snooping)
wait_for 5 owned_has "$NEW4" || afail "c1's new $NEW4 not proxied by the agent as nobody"
ok "a new container address ($NEW4) is proxied"
wait_for 10 _host_has_ra_default || afail "the host lost its default route"
ok "the host keeps its RA default route"
_metrics_written() { [[ $(stat -c %u "$METRICS_DIR/ndpsync.prom" 2>/dev/null) == "$NOBODY" ]]; }
wait_for 5 _metrics_written || afail "no metrics file written by nobody in $METRICS_DIR"
ok "the metrics file is written (by nobody)"
echo '{"log_level": "info", "deny": ["'"$NEW4"'/128"]}' >"$CONF"
kill -HUP "$AGENT_PID"
wait_for 5 owned_lacks "$NEW4" || afail "SIGHUP as nobody: the denied $NEW4 is still proxied"
ok "SIGHUP: nobody reads the new file and applies it"
agent_stop_term 5
expect_eq "SIGTERM: exit 0" 0 "$AGENT_RC"
[[ ! -e $AGENT_SOCK ]] || fail "the agent (nobody) left its socket behind in its own directory"
ok "the socket is removed on exit"

section "5. started as root without CAP_SETPCAP (a pod): the bounding set stays, the rest goes"
echo '{"log_level": "info"}' >"$CONF"
AGENT_LOG=$LAB_DIR/nosetpcap.log
ip netns exec "$LAB_H" env NDPSYNC_CONFIG="$CONF" setpriv --bounding-set=-setpcap "$NDPSYNC" run \
    --status-socket "$AGENT_SOCK" >"$AGENT_LOG" 2>&1 &
AGENT_PID=$!
lab_bg "$AGENT_PID"
wait_for 10 _agent_answers || afail "the agent without CAP_SETPCAP did not answer within 10 s"
caps=$(awk '/^(Uid|CapInh|CapPrm|CapEff|CapAmb|NoNewPrivs):/ { printf "%s %s ", $1, $2 }' "/proc/$AGENT_PID/status")
expect_eq "without CAP_SETPCAP: still nobody with CAP_NET_ADMIN alone" \
    "Uid: $NOBODY CapInh: 0000000000000000 CapPrm: 0000000000001000 CapEff: 0000000000001000 CapAmb: 0000000000000000 NoNewPrivs: 1 " "$caps"
grep -q "could not drop the bounding set" "$AGENT_LOG" || afail "no warning about the bounding set"
ok "it says so: $(grep -o 'could not drop the bounding set.*' "$AGENT_LOG" | cut -c1-120)"
wait_for 5 owned_has "$NEW4" || afail "without CAP_SETPCAP: entries not installed"
ok "and it works"
agent_stop_term 5
expect_eq "SIGTERM: exit 0" 0 "$AGENT_RC"
echo "$LAB_CHECKS passed, 0 failed"
