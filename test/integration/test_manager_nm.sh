#!/usr/bin/env bash
# The uplink owned by a real NetworkManager: Debian 13's (1.52), from the root
# test/lab/debian_root.sh makes, chrooted in the lab's host namespace with a private D-Bus (the
# root's own dbus-daemon, whose socket is in the root's /run), managing only eth0 from a keyfile
# connection with `ipv6.method auto`. NetworkManager takes the router's advertisements itself (the
# kernel's accept_ra 0) and installs the default route.
#
#   1. NetworkManager first, then the agent: the host keeps its default route while the agent
#      turns forwarding on; every container is proxied; the router reaches c1.
#   2. doctor reads NetworkManager's own state (--manager-root): it names NetworkManager and the
#      connection (by its UUID, which its nmcli fix line uses: nmcli takes it), and asks for
#      nothing (no accept_ra=2: NetworkManager takes the RAs itself); the agent's log has no such
#      advice either.
#   3. `nmcli connection down uplink` and `up` under the router's pings (every 100 ms): down sets
#      disable_ipv6, which purges eth0's proxy entries without a word; every entry is back within
#      2 s of `up` returning (not at the next resync), and the route with NetworkManager's RA.
#   4. `nmcli device reapply eth0`, then NetworkManager restarts (SIGTERM, start again: it leaves
#      the link configured and assumes it), each under the pings: the default route is never
#      lost, at most one ping, and the agent writes no more than a repair.
#   5. NetworkManager starts after the agent: the agent, started on the unmanaged link (the
#      kernel's RAs, accept_ra 2), keeps its entries while NetworkManager takes eth0 over and
#      sets accept_ra 0, which the agent leaves alone (no oscillation).
#   6. the router renumbers (a new prefix, the old one deprecated): nothing lost.
#
# Each event prints a line "# event NAME: ..." (test/lab/managers.sh): the pings lost, the default
# route deleted and for how long, the agent's sysctl writes and repairs (docs/operations.md's
# table). Needs root and Debian's registry (the
# root is built once, under build/roots); exits 77 (skipped) when not root. Runs in ~40 s, plus a
# minute or two the first time.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_manager_nm.sh
set -euo pipefail

LAB=${LAB:-nmm$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/debian_root.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/debian_root.sh"
# shellcheck source=test/lab/managers.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/managers.sh"
skip_unless_root
trap lab_down EXIT

debian_root "$MANAGERS_SUITE-managers" "$MANAGERS_SUITE" "$MANAGERS_PACKAGES"
managers_reset
R=$DEBIAN_ROOT
lab_up

# NetworkManager's configuration and state, fresh for this run: only eth0 is its, from the
# keyfile below; the root's ifupdown plugin stays out of it.
rm -rf "$R/etc/NetworkManager/system-connections"
mkdir -p "$R/run/dbus" "$R/etc/NetworkManager/system-connections" "$R/var/lib/NetworkManager"
cat >"$R/etc/NetworkManager/NetworkManager.conf" <<'EOF'
[main]
plugins=keyfile
no-auto-default=*
auth-polkit=false

[keyfile]
unmanaged-devices=except:interface-name:eth0

[logging]
level=INFO
EOF
(umask 077 && cat >"$R/etc/NetworkManager/system-connections/uplink.nmconnection" <<'EOF'
[connection]
id=uplink
type=ethernet
interface-name=eth0
autoconnect=true

[ipv4]
method=disabled

[ipv6]
method=auto
addr-gen-mode=eui64
EOF
)
NM_LOG=$LAB_DIR/networkmanager.log
root_run "$LAB_H" "$LAB_DIR/dbus.log" /usr/bin/dbus-daemon --system --nofork --nopidfile
wait_for 5 test -S "$R/run/dbus/system_bus_socket" || afail "the root's dbus-daemon did not start: $(cat "$LAB_DIR/dbus.log")"

nmcli() {
    root_exec "$LAB_H" /usr/bin/nmcli "$@" 2>>"$NM_LOG"
}
nm_connected() {
    [[ $(nmcli -g GENERAL.STATE device show eth0) == 100* ]]
}
nm_start() {
    root_run "$LAB_H" "$NM_LOG" /usr/sbin/NetworkManager --debug
    NM_PID=$ROOT_PID
    wait_for 20 nm_connected || afail "NetworkManager did not connect eth0 within 20 s: $(tail -5 "$NM_LOG")"
}
nm_stop() {
    kill -TERM "$NM_PID" 2>/dev/null || true
    wait_for 10 sh -c "! kill -0 $NM_PID 2>/dev/null" || afail "NetworkManager did not stop"
}
# ---------------------------------------------------------------------------------------------
section "1. NetworkManager owns eth0; then the agent starts"
nm_start
ok "NetworkManager $(nmcli --version | sed 's/.* //') connected eth0 ($(nmcli -g GENERAL.CONNECTION device show eth0))"
wait_for 10 default_route || afail "no default route under NetworkManager: $(tail -5 "$NM_LOG")"
expect_eq "NetworkManager takes the RAs itself: the kernel's accept_ra" 0 "$(uplink_sysctl accept_ra)"
route_watch start
agent_start agent
wait_for 10 owned_is "$(lab_expected_minus)" || afail "the agent did not install the lab's entries"
hold_for 2 default_route || afail "the host lost its default route $HOLD_BROKE_MS ms after the agent started"
route_watch stop
expect_eq "default routes deleted while the agent turned forwarding on" 0 "$ROUTE_DELETED"
ok "the host kept its default route with forwarding on ($(default_routes | head -1))"
echo "# event agent-starts-after: default route deleted $ROUTE_DELETED times; $(grep -c ' info sysctl ' "$AGENT_LOG") sysctl writes by the agent: $(sed -n 's/.* info sysctl net.ipv6.conf.eth0.accept_ra: //p' "$AGENT_LOG")"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT1" >/dev/null || afail "the router cannot reach c1"
ok "the router reaches c1"

# ---------------------------------------------------------------------------------------------
section "2. doctor reads NetworkManager's own state"
nds_run doctor --json --manager-root "$R"
echo "$NDS_OUT" > "$LAB_DIR/doctor.json"
expect_eq "the uplink's manager" NetworkManager "$(jq -r '.uplinks[0].manager' <<<"$NDS_OUT")"
nm_source=$(jq -r '.uplinks[0].manager_source' <<<"$NDS_OUT")
echo "# doctor: manager_source $nm_source"
# doctor's fix for this manager is an nmcli line on that connection (ra_fix): nmcli must take the
# name doctor gives it. Modifying the profile to the method it has changes nothing active.
nmcli connection modify "$nm_source" ipv6.method auto ||
    afail "nmcli does not know the connection doctor names ('$nm_source')"
ok "doctor names the connection as nmcli knows it ($nm_source)"
expect_eq "nothing about the uplink's RAs" "" \
    "$(jq -r '.problems[] | select(.check == "ra-route-at-risk" or .check == "uplink-manager") | .problem' <<<"$NDS_OUT")"
if grep -n 'accept_ra=2\|accept_ra 2' "$AGENT_LOG"; then
    afail "the agent advised accept_ra=2, the wrong fix where NetworkManager takes the RAs"
fi
ok "neither doctor nor the agent asks for accept_ra=2"

# ---------------------------------------------------------------------------------------------
section "3. nmcli connection down and up under the router's pings"
# Down sets disable_ipv6 on eth0: the kernel purges its proxy entries without a word, and the
# host has no IPv6 there until up. That outage is NetworkManager's; the entries are ndpsync's.
down_up() {
    nmcli connection down uplink >/dev/null || afail "nmcli connection down failed"
    nmcli connection up uplink >/dev/null || afail "nmcli connection up failed"
}
event down-up 60 down_up
((ENTRIES_MS <= 2000)) || afail "the entries came back ${ENTRIES_MS} ms after up (at most 2 s)"
ok "every entry back ${ENTRIES_MS} ms after \`nmcli connection up\` returned"
ip netns exec "$LAB_R" ping -6 -c1 -W2 -n "$LAB_CT1" >/dev/null || afail "the router cannot reach c1 after up"
ok "the router reaches c1 again"

# ---------------------------------------------------------------------------------------------
section "4. nmcli device reapply, and a NetworkManager restart, under the router's pings"
event reapply 40 nmcli device reapply eth0
expect_eq "reapply: default routes deleted" 0 "$ROUTE_DELETED"
((LOST <= 1)) || afail "the router lost $LOST pings across the reapply"
((WRITES <= 4)) || afail "the agent wrote $WRITES sysctls across the reapply"
ok "reapply: the route stayed, $LOST pings lost, $WRITES sysctl writes by the agent"
nm_restart() {
    nm_stop
    nm_start
}
event restart 60 nm_restart
((ROUTE_GAP_MS == 0)) || afail "the host was without a default route for ${ROUTE_GAP_MS} ms across the restart"
((LOST <= 1)) || afail "the router lost $LOST pings across NetworkManager's restart"
((WRITES <= 4)) || afail "the agent wrote $WRITES sysctls across the restart"
ok "restart: never without a default route, $LOST pings lost, $WRITES sysctl writes by the agent"

# ---------------------------------------------------------------------------------------------
section "5. NetworkManager starts after the agent"
# As at boot with ndpsync's unit ordered first: the kernel takes the RAs (accept_ra 1) until
# NetworkManager sets 0 and installs its own route.
nm_stop
agent_on_kernel_ras agent2
event manager-starts-after 60 nm_start
expect_eq "NetworkManager's accept_ra" 0 "$(uplink_sysctl accept_ra)"
((ROUTE_GAP_MS == 0)) || afail "the host was without a default route for ${ROUTE_GAP_MS} ms as NetworkManager took over"
((LOST <= 1)) || afail "the router lost $LOST pings as NetworkManager took over"
accept_ra_zero() { [[ $(uplink_sysctl accept_ra) == 0 ]]; }
hold_for 3 accept_ra_zero ||
    afail "accept_ra did not stay at NetworkManager's 0: the agent and the manager oscillate"
ok "NetworkManager took eth0 over: never without a default route, $LOST pings lost, accept_ra stays 0"

# ---------------------------------------------------------------------------------------------
section "6. the router renumbers: a new prefix advertised, the lab's own deprecated"
event renumber 60 lab_renumber
expect_eq "renumber: default routes deleted" 0 "$ROUTE_DELETED"
((LOST <= 1)) || afail "the router lost $LOST pings to c1 across the renumbering"
ok "renumber: NetworkManager took $(ip -n "$LAB_H" -6 addr show dev eth0 | grep -o "$LAB_P_NEW:[^/]*"); every entry kept, $LOST pings lost"
