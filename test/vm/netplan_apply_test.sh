#!/usr/bin/env bash
# `netplan apply` itself, on a booted system: a qemu guest booted with its own systemd 257 and
# udev from a Debian 13 root (test/vm/debian13.sh netplan), whose root namespace is the lab's host
# (LAB_HOST_ROOT=1: test/lab/lab.sh), the router and the containers in namespaces of their own.
# netplan 1.1 renders eth0's YAML for systemd-networkd, as on Ubuntu. What `netplan apply` does
# there, and test_manager_networkd.sh's chroot cannot: `systemctl daemon-reload` (netplan's
# generator), `udevadm control --reload` and `udevadm trigger --action=move --subsystem-match=net
# --settle` on every link (the containers' veths and bridge too), then `networkctl reload` and
# `reconfigure` of its links, or a restart of systemd-networkd.service when networkd is not running.
#
#   1. netplan apply with networkd stopped (a restart through systemctl), then the agent: the host
#      keeps its default route; every container is proxied; the router reaches c1.
#   2. doctor (the system's own state, no --manager-root) names netplan, its file, and the
#      drop-in beside it.
#   3. netplan apply, the YAML unchanged, under the router's pings: networkd reconfigures eth0
#      and writes its proxy_ndp back to 0; the agent repairs it.
#   4. doctor's drop-in, a changed YAML (a second address), netplan apply under the pings: the
#      address is there, the drop-in stays, the agent writes nothing.
# Each event prints "# event NAME: ..." (test/lab/managers.sh) for docs/operations.md's table.
# Under emulation the router's pings are as sparse as the guest is slow: the loss is printed,
# and the assertion is on what must hold anyway (entries, route, writes).
#
# It changes the guest's root namespace, so it refuses to run unless the harness says it is a
# throw-away guest (NDPSYNC_VM=1) booted with systemd; exit 77 (skipped, with the reason) otherwise.
#
#   test/vm/run.sh --kernel 6.12 --root ROOT --systemd -- bash test/vm/netplan_apply_test.sh
set -euo pipefail

skip() {
    echo "SKIP: $*"
    exit 77
}
[[ ${NDPSYNC_VM:-} == 1 ]] || skip "needs the VM harness (NDPSYNC_VM=1): the guest's root namespace is the lab's host"
[[ -d /run/systemd/system ]] || skip "needs systemd as PID 1 (the VM harness's systemd mode)"
command -v netplan >/dev/null || skip "netplan is not installed in this root"
command -v udevadm >/dev/null || skip "udev is not installed in this root"

export LAB=np LAB_HOST_ROOT=1
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/managers.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/managers.sh"
skip_unless_root
trap lab_down EXIT
echo "# host: $(. /etc/os-release && echo "$PRETTY_NAME"), $(systemctl --version | head -n 1), netplan $(dpkg-query -W -f '${Version}' netplan.io), kernel $(uname -r)"
lab_up

YAML=/etc/netplan/50-uplink.yaml
NETWORK_FILE=/run/systemd/network/10-netplan-eth0.network
DROP_IN=/etc/systemd/network/10-netplan-eth0.network.d/ndpsync.conf
# yaml [LINES]: eth0's netplan configuration, LINES under eth0.
yaml() {
    printf 'network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth0:\n      accept-ra: true\n%s' \
        "${1:-}" >"$YAML"
    chmod 600 "$YAML"
}
netplan_apply() {
    netplan apply >>"$LAB_DIR/netplan.log" 2>&1 || afail "netplan apply failed: $(tail -5 "$LAB_DIR/netplan.log")"
}
configured() {
    # (grep without -q: under pipefail, -q's early exit would fail the pipeline with SIGPIPE)
    networkctl status eth0 2>/dev/null | grep -E 'State: .*\(configured' >/dev/null
}
# A ping window long enough for the slowest netplan apply in an emulated guest (40 s at scale 10).
PINGS=$((40 * LAB_TIME_SCALE))

# ---------------------------------------------------------------------------------------------
section "1. netplan apply with networkd stopped; then the agent starts"
yaml
netplan_apply
wait_for 15 configured || afail "networkd did not configure eth0: $(networkctl status eth0 2>&1 | head -20)"
systemctl is-active --quiet systemd-networkd || afail "netplan apply did not start systemd-networkd"
ok "netplan apply rendered $NETWORK_FILE and started systemd-networkd; eth0 configured"
wait_for 15 default_route || afail "no default route under networkd"
expect_eq "networkd takes the RAs itself: the kernel's accept_ra" 0 "$(uplink_sysctl accept_ra)"
route_watch start
agent_start np
wait_for 10 owned_is "$(lab_expected_minus)" || afail "the agent did not install the lab's entries"
hold_for 3 default_route || afail "the host lost its default route $HOLD_BROKE_MS ms after the agent started"
route_watch stop
expect_eq "default routes deleted while the agent turned forwarding on" 0 "$ROUTE_DELETED"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT1" >/dev/null || afail "the router cannot reach c1"
ok "the host kept its default route; the router reaches c1"

# ---------------------------------------------------------------------------------------------
section "2. doctor reads the system's own netplan and networkd"
nds_run doctor --json
expect_eq "the uplink's manager" "netplan (systemd-networkd)" "$(jq -r '.uplinks[0].manager' <<<"$NDS_OUT")"
expect_eq "its file" "$NETWORK_FILE" "$(jq -r '.uplinks[0].manager_source' <<<"$NDS_OUT")"
fix=$(jq -r '.problems[] | select(.check == "uplink-manager") | .fix' <<<"$NDS_OUT")
[[ $fix == *"$DROP_IN"* ]] || afail "doctor gave no drop-in beside netplan's file: $fix"
ok "doctor: $fix"

# ---------------------------------------------------------------------------------------------
section "3. netplan apply, the YAML unchanged, under the router's pings"
event netplan-apply "$PINGS" netplan_apply
expect_eq "eth0's proxy_ndp after netplan apply" 1 "$(uplink_sysctl proxy_ndp)"
((WRITES <= 2)) || afail "the agent wrote $WRITES sysctls across one netplan apply (oscillating?)"
ok "netplan apply: $LOST of $PINGS pings lost; the agent's writes $WRITES, repairs $REPAIRS"

# ---------------------------------------------------------------------------------------------
section "4. doctor's drop-in, a changed YAML, netplan apply under the router's pings"
mkdir -p "$(dirname "$DROP_IN")"
printf '[Network]\nIPv6ProxyNDP=yes\n' >"$DROP_IN"
yaml "      addresses: [\"$LAB_P::3/64\"]
"
event netplan-apply-changed "$PINGS" netplan_apply
ip -6 addr show dev eth0 | grep -F " $LAB_P::3/64 " >/dev/null || afail "netplan apply did not add $LAB_P::3"
[[ -f $DROP_IN ]] || afail "netplan apply removed the drop-in $DROP_IN"
expect_eq "the agent's sysctl writes (the drop-in keeps proxy_ndp)" 0 "$WRITES"
expect_eq "eth0's proxy_ndp" 1 "$(uplink_sysctl proxy_ndp)"
nds_run doctor --json
expect_eq "doctor: nothing for netplan now" "" \
    "$(jq -r '.problems[] | select(.check == "uplink-manager") | .problem' <<<"$NDS_OUT")"
default_route || afail "the host lost its default route"
ok "netplan apply with the drop-in: $LOST of $PINGS pings lost, no write by the agent, doctor content"
echo "PASS: netplan apply under systemd and udev"
