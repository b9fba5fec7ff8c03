#!/usr/bin/env bash
# The Proxmox recipe's network (docs/recipes/proxmox.md), with a real ifupdown2 3.0 (Proxmox's;
# Debian 13's by default, MANAGERS_SUITE=bookworm for Debian 12's) chrooted in the lab's host
# namespace, applying the recipe's whole /etc/network/interfaces: the uplink eth0 (the recipe's
# eno1) enslaved to vmbr0, which holds the host's IPv4 (`inet`) and IPv6 (`inet6`) stanzas with
# their gateways, and vmbr1, a bridge with no port but the guests', holding the guests' /112.
#   1. ifup -a: vmbr0 has both addresses, the default routes via the recipe's gateways.
#   2. the agent with the recipe's config (uplinks vmbr0, downstream vmbr1, the /64): a guest (a
#      namespace behind a veth port of vmbr1, as Proxmox plugs a container) with a static
#      address of the /112 is proxied on vmbr0, and so is vmbr1's address; the router pings both.
#   3. doctor names ifupdown2 as vmbr0's manager, with nothing to fix (a static gateway).
#   4. ifreload -a under the router's pings to vmbr1: nothing lost, no write by the agent, the
#      IPv4 address kept. Debian's ifupdown2 takes the guest's veth off vmbr1 (`bridge-ports
#      none`; Proxmox's own build is not run here): plugged again, the guest answers at once.
#   5. the file without the `inet` stanza: ifreload -a takes the host's IPv4 address away (why
#      the recipe keeps the whole file).
#
# Needs root and Debian's registry (the ifupdown2 root is built once, under build/roots); exits
# 77 (skipped) when not root. Runs in ~30 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_recipe_proxmox.sh
set -euo pipefail

LAB=${LAB:-npx$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/debian_root.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/debian_root.sh"
# shellcheck source=test/lab/managers.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/managers.sh"
skip_unless_root
LAB_G=${LAB}g   # the guest
LAB_NAMESPACES+=("$LAB_G")
trap lab_down EXIT

debian_root "$MANAGERS_SUITE-ifupdown2" "$MANAGERS_SUITE" iproute2,procps,ifupdown2
R=$DEBIAN_ROOT
rm -rf "$R/run/network" "$R/var/tmp/network" "$R/etc/iproute2"
mkdir -p "$R/run/network"
lab_up

HOST4=198.51.100.5
HOST6=$LAB_P::2
GUESTS=$LAB_P::7      # the recipe's ::1:0/112, moved: the lab's own c1 has that one
VMBR1=$GUESTS:1
GUEST=$GUESTS:10

# interfaces [with-inet]: the recipe's file, eno1 being the lab's eth0; without its `inet`
# stanza unless asked.
interfaces() {
    {
        printf 'auto lo\niface lo inet loopback\n\niface eth0 inet manual\n\nauto vmbr0\n'
        if [[ ${1:-} == with-inet ]]; then
            printf 'iface vmbr0 inet static\n    address %s/24\n    gateway 198.51.100.1\n' "$HOST4"
            printf '    bridge-ports eth0\n    bridge-stp off\n    bridge-fd 0\n\n'
            printf 'iface vmbr0 inet6 static\n    address %s/64\n    gateway %s\n\n' "$HOST6" "$LAB_ROUTER"
        else
            printf 'iface vmbr0 inet6 static\n    address %s/64\n    gateway %s\n' "$HOST6" "$LAB_ROUTER"
            printf '    bridge-ports eth0\n    bridge-stp off\n    bridge-fd 0\n\n'
        fi
        printf 'auto vmbr1\niface vmbr1 inet6 static\n    address %s/112\n' "$VMBR1"
        printf '    bridge-ports none\n    bridge-stp off\n    bridge-fd 0\n'
    } >"$R/etc/network/interfaces"
}
ifupdown2() {
    root_exec "$LAB_H" "$@" >>"$LAB_DIR/ifupdown2.log" 2>&1 ||
        afail "$* failed: $(tail -5 "$LAB_DIR/ifupdown2.log")"
}
proxied_on_vmbr0() {
    ip -n "$LAB_H" -6 neigh show proxy dev vmbr0 | grep -E "^$1 .*proto" >/dev/null
}
default6_via_router() {
    ip -n "$LAB_H" -6 route show default | grep -F "via $LAB_ROUTER dev vmbr0" >/dev/null
}
has_ipv4() { ip -n "$LAB_H" -4 addr show dev vmbr0 | grep -F " $HOST4/24 " >/dev/null; }

# ---------------------------------------------------------------------------------------------
section "1. ifup -a with the recipe's /etc/network/interfaces"
interfaces with-inet
ifupdown2 ifup -a
expect_eq "eth0's master" vmbr0 "$(ip -n "$LAB_H" -j link show dev eth0 | jq -r '.[0].master')"
has_ipv4 || afail "vmbr0 has no $HOST4/24"
ip -n "$LAB_H" -6 addr show dev vmbr0 | grep -F " $HOST6/64 " >/dev/null || afail "vmbr0 has no $HOST6/64"
wait_for 5 default6_via_router || afail "no IPv6 default route via $LAB_ROUTER: $(ip -n "$LAB_H" -6 route show default)"
ip -n "$LAB_H" -4 route show default | grep -F "via 198.51.100.1 dev vmbr0" >/dev/null ||
    afail "no IPv4 default route via 198.51.100.1"
ok "ifupdown2 $(chroot "$R" dpkg-query -W -f '${Version}' ifupdown2): vmbr0 over eth0 with $HOST4/24 and $HOST6/64, both gateways; vmbr1 with $VMBR1/112"

# ---------------------------------------------------------------------------------------------
section "2. the agent with the recipe's config; a guest on vmbr1"
ip netns exec "$LAB_H" ip link add name vg1 type veth peer name eth0 netns "$LAB_G"
ip -n "$LAB_H" link set vg1 master vmbr1 up
ip -n "$LAB_G" link set lo up
ip -n "$LAB_G" link set eth0 up
ip -n "$LAB_G" -6 addr add "$GUEST/112" dev eth0 nodad
ip -n "$LAB_G" -6 route add default via "$VMBR1" dev eth0
cat >"$LAB_DIR/proxmox.json" <<JSON
{
  "uplinks": ["vmbr0"],
  "downstream": ["vmbr1"],
  "prefixes": ["$LAB_PREFIX"]
}
JSON
ndpsync_h check-config --config "$LAB_DIR/proxmox.json" >/dev/null || fail "check-config refused the recipe's config"
agent_start px --config "$LAB_DIR/proxmox.json"
wait_for 5 proxied_on_vmbr0 "$VMBR1" || afail "vmbr1's $VMBR1 is not proxied on vmbr0"
ok "vmbr1's $VMBR1 proxied on vmbr0"
# The guest's first packet, or the router's first solicitation (on_demand), makes it known.
wait_for 10 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$GUEST" || afail "the router cannot ping the guest $GUEST"
proxied_on_vmbr0 "$GUEST" || afail "the guest $GUEST is not proxied on vmbr0"
ok "the router pings the guest at $GUEST, proxied on vmbr0"
ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$VMBR1" >/dev/null || afail "the router cannot ping $VMBR1"
default6_via_router || afail "the IPv6 default route via $LAB_ROUTER is gone"
ok "the router pings vmbr1 at $VMBR1; the default route via $LAB_ROUTER holds"

# ---------------------------------------------------------------------------------------------
section "3. doctor names ifupdown2"
nds_run doctor --json --manager-root "$R" --config "$LAB_DIR/proxmox.json"
expect_eq "vmbr0's manager" ifupdown2 "$(jq -r '.uplinks[] | select(.name == "vmbr0") | .manager' <<<"$NDS_OUT")"
expect_eq "nothing about the uplink's RAs" "" \
    "$(jq -r '.problems[] | select(.check == "ra-route-at-risk" or .check == "uplink-manager") | .problem' <<<"$NDS_OUT")"

# ---------------------------------------------------------------------------------------------
section "4. ifreload -a under the router's pings"
# Debian 13's ifupdown2 writes its VRF table map under /etc/iproute2/rt_tables.d on ifreload, and
# Debian 13's iproute2 no longer ships /etc/iproute2: without the directory ifreload -a fails
# (shown first; docs/recipes/proxmox.md gives the mkdir). Debian 12's iproute2 has it.
if [[ ! -d $R/etc/iproute2 ]]; then
    if root_exec "$LAB_H" ifreload -a >"$LAB_DIR/ifreload-first.log" 2>&1; then
        afail "ifreload -a passed without /etc/iproute2/rt_tables.d (the recipe's mkdir may be moot)"
    fi
    grep -F "rt_tables.d" "$LAB_DIR/ifreload-first.log" >/dev/null ||
        afail "ifreload -a failed otherwise: $(tail -3 "$LAB_DIR/ifreload-first.log")"
    ok "without /etc/iproute2/rt_tables.d, Debian 13's ifreload -a fails: $(grep -o 'No such file.*' "$LAB_DIR/ifreload-first.log" | head -n1)"
    mkdir -p "$R/etc/iproute2/rt_tables.d"
fi
writes0=$(grep -c ' info sysctl ' "$AGENT_LOG" || true)
ip netns exec "$LAB_R" ping -6 -n -i 0.1 -c 40 -W 1 "$VMBR1" >"$LAB_DIR/pings-reload.txt" 2>&1 &
ping_pid=$!
lab_bg "$ping_pid"
sleep 0.5
ifupdown2 ifreload -a
wait "$ping_pid" || true
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_DIR/pings-reload.txt")
lost=$((40 - ${received:-0}))
writes=$(($(grep -c ' info sysctl ' "$AGENT_LOG" || true) - writes0))
echo "# event proxmox-ifreload: $lost of 40 pings to vmbr1 lost; the agent's sysctl writes $writes"
((lost <= 1)) || afail "the router lost $lost pings to $VMBR1 across ifreload -a"
expect_eq "the agent's sysctl writes across ifreload -a" 0 "$writes"
has_ipv4 || afail "ifreload -a took $HOST4 away although the inet stanza is there"
proxied_on_vmbr0 "$VMBR1" && proxied_on_vmbr0 "$GUEST" || afail "an entry is gone after ifreload -a"
ok "ifreload -a: vmbr1 reachable throughout, both entries kept, $HOST4 kept, no write by the agent"
# Debian's ifupdown2 enforces `bridge-ports none`: it takes the guest's port off vmbr1 (Proxmox's
# own ifupdown2 build is not run here). Plugged again, as a guest's start would.
if [[ $(ip -n "$LAB_H" -j link show dev vg1 | jq -r '.[0].master // empty') != vmbr1 ]]; then
    echo "# Debian's ifreload -a detached the guest's port vg1 from vmbr1 (bridge-ports none)"
    ip -n "$LAB_H" link set vg1 master vmbr1 up
fi
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$GUEST" || afail "the router cannot ping the guest after ifreload -a"
ok "the router pings the guest again"

# ---------------------------------------------------------------------------------------------
section "5. the file without its inet stanza: ifreload -a takes the host's IPv4 away"
interfaces
ifupdown2 ifreload -a
wait_for 5 sh -c "! ip -n '$LAB_H' -4 addr show dev vmbr0 | grep -F ' $HOST4/24 '" ||
    afail "vmbr0 kept $HOST4 although the file has no inet stanza"
ok "without the inet stanza, ifreload -a removed $HOST4 from vmbr0 (the recipe keeps the whole file)"
default6_via_router || afail "the IPv6 default route via $LAB_ROUTER is gone"
ok "the IPv6 side is untouched: the default route via $LAB_ROUTER holds"
