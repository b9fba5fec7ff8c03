#!/usr/bin/env bash
# The uplink owned by a real systemd-networkd: Debian 13's (257), from a root made with
# mmdebstrap (test/lab/debian_root.sh), chrooted in the lab's host namespace, where it manages
# the host's eth0 from its own .network file, takes the router's advertisements itself (the
# kernel's accept_ra 0) and installs the default route.
#
#   1. networkd first, then the agent: the host keeps its default route while the agent turns
#      forwarding on (`ip monitor route` sees no deletion); every container is proxied; the
#      router reaches c1.
#   2. doctor reads networkd's own state (--manager-root): it names systemd-networkd and its
#      file, and gives the drop-in for what a proxying host needs (IPv6ProxyNDP=yes here).
#   3. networkd restarts while the router pings c1 every 100 ms: networkd writes the uplink's
#      proxy_ndp back to 0, and the agent puts it back from the kernel's netconf event (a
#      repair counted); the pings lose at most one. networkd removes its own RA default route
#      when it stops and adds it again after its first RA: that gap is printed, and the route is
#      never missing outside it.
#   4. the drop-in doctor gave, and a restart: proxy_ndp is never seen at 0, and doctor has no
#      finding for networkd.
#   5. `networkctl reconfigure eth0`, then `networkctl down eth0` and `up`, under the router's
#      pings (networkctl talks to networkd over the root's own D-Bus): the agent writes nothing;
#      the entries are back within 2 s of up. networkd's own default-route gaps are printed.
#   6. networkd starts after the agent (which found the kernel taking the RAs): it takes eth0
#      over, at most one ping lost.
#   7. the router renumbers (a new prefix, the old one deprecated): nothing lost.
#
# NETPLAN=1 gives networkd netplan's configuration instead, as on Ubuntu: a YAML file that
# `netplan generate` (netplan 1.1) renders into /run/systemd/network/10-netplan-eth0.network;
# doctor names netplan and that file, its drop-in goes beside it in /etc, and section 5 first
# runs netplan generate and networkctl reload under the pings (the drop-in must stay).
# `netplan apply` itself is not run here: it stops and starts networkd with systemctl and
# reloads udev, which need systemd as PID 1; test/vm/netplan_apply_test.sh runs it in a guest
# booted with its own systemd and udev.
#
# Each event prints a line "# event NAME: ..." (test/lab/managers.sh) for docs/operations.md.
#
# Needs root and Debian's registry (the root is built once, under build/roots); exits 77
# (skipped) when not root. Runs in ~50 s, plus a minute or two the first time.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_manager_networkd.sh
set -euo pipefail

LAB=${LAB:-nmn$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/debian_root.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/debian_root.sh"
# shellcheck source=test/lab/managers.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/managers.sh"
skip_unless_root
trap lab_down EXIT
# NETPLAN=1: the uplink's configuration is netplan's YAML, which netplan generates into networkd's
# runtime directory as on Ubuntu; section 5 then runs netplan generate and networkctl reload too.
NETPLAN=${NETPLAN:-0}

debian_root "$MANAGERS_SUITE-managers" "$MANAGERS_SUITE" "$MANAGERS_PACKAGES"
managers_reset
R=$DEBIAN_ROOT
lab_up

# networkd's configuration and runtime state, fresh for this run.
rm -rf "$R/run/systemd" "$R/etc/systemd/network"
mkdir -p "$R/etc/systemd/network" "$R/run/systemd/netif/links" "$R/run/systemd/netif/leases"
chroot "$R" chown -R systemd-network:systemd-network /run/systemd/netif
rm -f "$R"/etc/netplan/*.yaml
if [[ $NETPLAN == 1 ]]; then
    # netplan's YAML, rendered by networkd as on Ubuntu: `netplan generate` writes the .network.
    printf 'network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth0:\n      accept-ra: true\n' \
        >"$R/etc/netplan/50-uplink.yaml"
    chmod 600 "$R/etc/netplan/50-uplink.yaml"
    chroot "$R" netplan generate || afail "netplan generate failed"
    NETWORK_FILE=/run/systemd/network/10-netplan-eth0.network
    MANAGER_NAME="netplan (systemd-networkd)"
else
    printf '[Match]\nName=eth0\n\n[Network]\nIPv6AcceptRA=yes\n' >"$R/etc/systemd/network/10-uplink.network"
    NETWORK_FILE=/etc/systemd/network/10-uplink.network
    MANAGER_NAME=systemd-networkd
fi
DROP_IN=/etc/systemd/network/$(basename "$NETWORK_FILE").d/ndpsync.conf
ETH0=$(ip -n "$LAB_H" -j link show dev eth0 | jq -r '.[0].ifindex')
STATE=$R/run/systemd/netif/links/$ETH0
ND_LOG=$LAB_DIR/networkd.log
# The root's own D-Bus (its socket in the root's /run), for networkctl's reconfigure, up and down.
mkdir -p "$R/run/dbus"
root_run "$LAB_H" "$LAB_DIR/dbus.log" /usr/bin/dbus-daemon --system --nofork --nopidfile
wait_for 5 test -S "$R/run/dbus/system_bus_socket" || afail "the root's dbus-daemon did not start: $(cat "$LAB_DIR/dbus.log")"

networkd_start() {
    rm -f "$STATE"
    root_run "$LAB_H" "$ND_LOG" /usr/lib/systemd/systemd-networkd
    ND_PID=$ROOT_PID
    wait_for 15 grep -q "^ADMIN_STATE=configured" "$STATE" ||
        afail "networkd did not configure eth0 within 15 s: $(tail -5 "$ND_LOG")"
}
networkd_stop() {
    kill -TERM "$ND_PID" 2>/dev/null || true
    wait_for 5 sh -c "! kill -0 $ND_PID 2>/dev/null" || afail "networkd did not stop"
}
networkctl() {
    root_exec "$LAB_H" /usr/bin/networkctl "$@" >>"$ND_LOG" 2>&1 || afail "networkctl $* failed: $(tail -3 "$ND_LOG")"
}

# ---------------------------------------------------------------------------------------------
section "1. networkd owns eth0; then the agent starts"
# The lab's eth0 took SLAAC from the kernel; networkd takes over the RAs (accept_ra 0).
networkd_start
ok "networkd $(chroot "$R" dpkg-query -W -f '${Version}' systemd) configured eth0 from $(sed -n 's/^NETWORK_FILE=//p' "$STATE")"
wait_for 10 default_route || afail "no default route under networkd"
expect_eq "networkd takes the RAs itself: the kernel's accept_ra" 0 "$(uplink_sysctl accept_ra)"
route_before=$(ip -n "$LAB_H" -6 route show default dev eth0 | sed -n 's/.* via \([^ ]*\).*/\1/p')
route_watch start
agent_start nd
wait_for 10 owned_is "$(lab_expected_minus)" || afail "the agent did not install the lab's entries"
hold_for 3 default_route || afail "the host lost its default route $HOLD_BROKE_MS ms after the agent started"
route_watch stop
expect_eq "default routes deleted while the agent turned forwarding on" 0 "$ROUTE_DELETED"
ok "the host kept its default route (via $route_before) with forwarding on"
expect_eq "forwarding" 1 "$(ip netns exec "$LAB_H" cat /proc/sys/net/ipv6/conf/all/forwarding)"
expect_eq "eth0's proxy_ndp" 1 "$(uplink_sysctl proxy_ndp)"
echo "# under networkd, after the agent: eth0 accept_ra $(uplink_sysctl accept_ra)"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT1" >/dev/null || afail "the router cannot reach c1"
ok "the router reaches c1"

# ---------------------------------------------------------------------------------------------
section "2. doctor reads networkd's own state"
nds_run doctor --json --manager-root "$R"
expect_eq "the uplink's manager" "$MANAGER_NAME" "$(jq -r '.uplinks[0].manager' <<<"$NDS_OUT")"
expect_eq "its file" "$NETWORK_FILE" "$(jq -r '.uplinks[0].manager_source' <<<"$NDS_OUT")"
fix=$(jq -r '.problems[] | select(.check == "uplink-manager") | .fix' <<<"$NDS_OUT")
problem=$(jq -r '.problems[] | select(.check == "uplink-manager") | .problem' <<<"$NDS_OUT")
[[ $problem == *"without IPv6ProxyNDP=yes:"* ]] || afail "doctor did not ask for IPv6ProxyNDP: $NDS_OUT"
[[ $fix == *"$DROP_IN"* ]] ||
    afail "doctor gave no drop-in: $fix"
ok "doctor: $problem"

# ---------------------------------------------------------------------------------------------
# restart_under_pings: networkd stops and starts while the router pings c1 every 100 ms and a
# sampler reads the uplink's proxy_ndp and looks for the default route, back to back, for 8 s.
# networkd itself removes its RA default route when it stops (KeepConfiguration=no), and puts it
# back after its first RA once started again: that gap is networkd's, with or without ndpsync.
# Sets LOST (echoes of 60), ZERO_MS (the longest time proxy_ndp was seen at 0, ms; 0 if never; -1
# if it was still 0 at the end), GAP_MS (networkd's own gap in the default route) and
# ROUTE_LOST_OUTSIDE (samples without a default route before the stop or after it came back).
restart_under_pings() {
    ip netns exec "$LAB_R" ping -6 -n -i 0.1 -c 60 "$LAB_CT1" >"$LAB_DIR/pings.txt" 2>&1 &
    local ping_pid=$!
    lab_bg "$ping_pid"
    (
        end=$(($(_now_us) + 8000000))
        while (($(_now_us) < end)); do
            # Stamped after both reads: a sample stamped before the stop was taken before it.
            p=$(uplink_sysctl proxy_ndp)
            r=$(default_route && echo 1 || echo 0)
            echo "$(_now_us) $p $r"
        done
    ) >"$LAB_DIR/samples.txt" &
    local sampler=$!
    lab_bg "$sampler"
    sleep 0.5
    local stop_us
    stop_us=$(_now_us)
    networkd_stop
    networkd_start
    wait "$sampler" || true
    wait "$ping_pid" || true
    read -r ZERO_MS GAP_MS ROUTE_LOST_OUTSIDE < <(awk -v stop="$stop_us" '
        $2 == 0 && !since { since = $1 }
        $2 != 0 && since { d = ($1 - since) / 1000; if (d > longest) longest = d; since = 0 }
        $1 < stop && $3 == 0 { outside++ }
        $1 >= stop && $3 == 0 && !back { if (!gone) gone = $1; last_gone = $1 }
        $1 >= stop && $3 == 1 && gone && !back { back = $1 }
        back && $3 == 0 { outside++ }
        END {
            if (since) longest = -1
            gap = gone ? ((back ? back : last_gone) - gone) / 1000 : 0
            if (gone && !back) outside++
            printf "%d %d %d\n", longest, gap, outside
        }' "$LAB_DIR/samples.txt")
    local received
    received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_DIR/pings.txt")
    LOST=$((60 - ${received:-0}))
    echo "# $(wc -l <"$LAB_DIR/samples.txt") samples of eth0's proxy_ndp and the default route"
}

section "3. networkd restarts under the router's pings"
repairs=$(status_q .counters.sysctl_repairs)
restart_under_pings
echo "# networkd restart: $LOST of 60 pings lost; proxy_ndp seen at 0 for ${ZERO_MS} ms (sampled); sysctl repairs $(($(status_q .counters.sysctl_repairs) - repairs)); networkd's own default-route gap ${GAP_MS} ms"
((ZERO_MS >= 0)) || afail "eth0's proxy_ndp stayed 0 after networkd's restart"
(($(status_q .counters.sysctl_repairs) > repairs)) ||
    afail "no sysctl repair counted: networkd wrote no proxy_ndp=0, or the agent did not see it"
expect_eq "eth0's proxy_ndp after the restart" 1 "$(uplink_sysctl proxy_ndp)"
expect_eq "no default route lost but networkd's own gap (${GAP_MS} ms)" 0 "$ROUTE_LOST_OUTSIDE"
((LOST <= 1)) || afail "the router lost $LOST pings to c1 across networkd's restart"
ok "the router lost $LOST pings across the restart"

# ---------------------------------------------------------------------------------------------
section "4. the drop-in doctor gave"
mkdir -p "$(dirname "$R$DROP_IN")"
printf '[Network]\nIPv6ProxyNDP=yes\n' >"$R$DROP_IN"
repairs=$(status_q .counters.sysctl_repairs)
restart_under_pings
echo "# networkd restart with the drop-in: $LOST of 60 pings lost; proxy_ndp seen at 0 for ${ZERO_MS} ms; sysctl repairs $(($(status_q .counters.sysctl_repairs) - repairs)); networkd's own default-route gap ${GAP_MS} ms"
expect_eq "proxy_ndp never 0 with IPv6ProxyNDP=yes" 0 "$ZERO_MS"
expect_eq "nothing to repair with IPv6ProxyNDP=yes" "$repairs" "$(status_q .counters.sysctl_repairs)"
expect_eq "no default route lost but networkd's own gap (${GAP_MS} ms)" 0 "$ROUTE_LOST_OUTSIDE"
((LOST <= 1)) || afail "the router lost $LOST pings to c1 across networkd's restart"
nds_run doctor --json --manager-root "$R"
expect_eq "doctor: nothing for networkd now" "" \
    "$(jq -r '.problems[] | select(.check == "uplink-manager") | .problem' <<<"$NDS_OUT")"
default_route || fail "the host lost its default route"
ok "networkd keeps proxy_ndp at 1 itself; the host keeps its default route"

# ---------------------------------------------------------------------------------------------
section "5. networkctl reconfigure, down and up, under the router's pings"
# A reconfigure drops networkd's RA default route until its next RA (0.9-1.4 s here with no
# agent at all, forwarding on or off): that gap is networkd's. The agent's part: no write.
if [[ $NETPLAN == 1 ]]; then
    # What netplan apply does to networkd's configuration: generate it again, and networkd
    # reloads it. netplan apply itself also stops and starts networkd through systemctl and
    # reloads udev: it needs systemd as PID 1, which this chroot has not (a restart is section 3).
    netplan_regenerate() {
        chroot "$R" netplan generate || afail "netplan generate failed"
        networkctl reload
    }
    event netplan-generate-reload 40 netplan_regenerate
    ((LOST <= 1)) || afail "the router lost $LOST pings across netplan generate and networkctl reload"
    expect_eq "the agent's sysctl writes (the drop-in keeps proxy_ndp)" 0 "$WRITES"
    [[ -f $R$DROP_IN ]] || afail "netplan generate removed the drop-in $DROP_IN"
    ok "netplan generate, networkctl reload: $LOST pings lost; the drop-in stays"
fi
event reconfigure 40 networkctl reconfigure eth0
((LOST <= 1)) || afail "the router lost $LOST pings across the reconfigure"
expect_eq "the agent's sysctl writes across the reconfigure (the drop-in keeps proxy_ndp)" 0 "$WRITES"
ok "reconfigure: $LOST pings lost; networkd's own default-route gap ${ROUTE_GAP_MS} ms"
down_up() {
    networkctl down eth0
    networkctl up eth0
}
event down-up 60 down_up
((ENTRIES_MS <= 2000)) || afail "the entries came back ${ENTRIES_MS} ms after up (at most 2 s)"
ok "down and up: every entry back ${ENTRIES_MS} ms after \`networkctl up\` returned, the default route after ${ROUTE_MS} ms"

# ---------------------------------------------------------------------------------------------
section "6. networkd starts after the agent"
networkd_stop
agent_on_kernel_ras nd2
event manager-starts-after 60 networkd_start
wait_for 10 default_route || afail "no default route once networkd took eth0 over"
((LOST <= 1)) || afail "the router lost $LOST pings as networkd took over"
echo "# after networkd took over: eth0 accept_ra $(uplink_sysctl accept_ra), proxy_ndp $(uplink_sysctl proxy_ndp)"
ok "networkd took eth0 over: $LOST pings lost, default route longest without ${ROUTE_GAP_MS} ms"

# ---------------------------------------------------------------------------------------------
section "7. the router renumbers: a new prefix advertised, the lab's own deprecated"
event renumber 60 lab_renumber
expect_eq "renumber: default routes deleted" 0 "$ROUTE_DELETED"
((LOST <= 1)) || afail "the router lost $LOST pings to c1 across the renumbering"
ok "renumber: networkd took $(ip -n "$LAB_H" -6 addr show dev eth0 | grep -o "$LAB_P_NEW:[^/]*"); every entry kept, $LOST pings lost"
