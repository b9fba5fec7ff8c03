#!/usr/bin/env bash
# The uplink owned by a real ifupdown2 (3.0, Proxmox's): Debian 13's by default (MANAGERS_SUITE=
# bookworm: Debian 12's), from a root of its own made by test/lab/debian_root.sh (ifupdown2
# conflicts with ifupdown), run chrooted in the lab's host namespace. ifupdown2 has no `inet6
# auto` ("unsupported address method"), so the stanza is the usual one of a Proxmox host at a
# provider: `inet6 static`, an address of the /64 and the router's link-local gateway; the kernel
# still takes the router's advertisements (accept_ra 1).
#
#   1. ifup eth0, then the agent: the RA default route survives forwarding (the agent holds the
#      uplink's accept_ra at 2); every container is proxied.
#   2. doctor reads ifupdown2's state (--manager-root): it names ifupdown2, and finds nothing to
#      fix.
#   3. ifreload -a with a changed stanza (a second address), under the router's pings (every
#      100 ms): nothing lost, no write by the agent.
#   4. the router renumbers (a new prefix, the old one deprecated): nothing is lost.
#   5. ifdown eth0 && ifup eth0 under the router's pings: the admin down purges every proxy
#      entry; every one is back within 2 s of ifup.
#   6. accept_ra 1 again, on the forwarding host, with the agent stopped (an admin's sysctl):
#      doctor's fix is ifupdown2's (a post-up line: ifupdown2 ignores accept_ra in a static
#      stanza, also shown); that line in the stanza and ifreload -a set accept_ra 2 for real.
#
# Needs root and Debian's registry (the root is built once, under build/roots); exits 77
# (skipped) when not root. Runs in ~40-60 s, plus half a minute the first time.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_manager_ifupdown2.sh
set -euo pipefail

LAB=${LAB:-nm2$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/debian_root.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/debian_root.sh"
# shellcheck source=test/lab/managers.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/managers.sh"
skip_unless_root
trap lab_down EXIT

debian_root "$MANAGERS_SUITE-ifupdown2" "$MANAGERS_SUITE" iproute2,procps,ifupdown2
R=$DEBIAN_ROOT
rm -rf "$R/run/network" "$R/var/tmp/network"
mkdir -p "$R/run/network"
lab_up
GATEWAY=$(ip -n "$LAB_R" -6 addr show dev wan scope link | grep -o 'fe80::[^/]*')
HOST_ADDR=$LAB_P::2

# stanza LINES: /etc/network/interfaces with eth0's static stanza and LINES in it.
stanza() {
    printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet6 static\n    address %s/64\n    gateway %s\n%s' \
        "$HOST_ADDR" "$GATEWAY" "$1" >"$R/etc/network/interfaces"
}
ifupdown2() {
    root_exec "$LAB_H" "$@" >>"$LAB_DIR/ifupdown2.log" 2>&1 ||
        afail "$* failed: $(tail -5 "$LAB_DIR/ifupdown2.log")"
}

# ---------------------------------------------------------------------------------------------
section "1. ifupdown2 brings eth0 up; then the agent starts"
stanza ""
ifupdown2 ifup eth0
ip -n "$LAB_H" -6 addr show dev eth0 | grep -F " $HOST_ADDR/64 " >/dev/null ||
    afail "ifup did not put $HOST_ADDR on eth0"
ok "ifupdown2 $(chroot "$R" dpkg-query -W -f '${Version}' ifupdown2) put $HOST_ADDR/64 on eth0"
wait_for 15 default_route || afail "no default route after ifup"
route_watch start
agent_start i2
wait_for 10 owned_is "$(lab_expected_minus)" || afail "the agent did not install the lab's entries"
hold_for 3 default_route || afail "the host lost its default route $HOLD_BROKE_MS ms after the agent started"
route_watch stop
expect_eq "default routes deleted while the agent turned forwarding on" 0 "$ROUTE_DELETED"
ok "the host kept its default route with forwarding on ($(default_routes | head -1))"

# ---------------------------------------------------------------------------------------------
section "2. doctor reads ifupdown2's state"
nds_run doctor --json --manager-root "$R"
expect_eq "the uplink's manager" ifupdown2 "$(jq -r '.uplinks[0].manager' <<<"$NDS_OUT")"
expect_eq "nothing about the uplink's RAs" "" \
    "$(jq -r '.problems[] | select(.check == "ra-route-at-risk" or .check == "uplink-manager") | .problem' <<<"$NDS_OUT")"

# ---------------------------------------------------------------------------------------------
section "3. ifreload -a with a changed stanza under the router's pings"
stanza "    address $LAB_P::3/64
"
event reload 40 ifupdown2 ifreload -a
ip -n "$LAB_H" -6 addr show dev eth0 | grep -F " $LAB_P::3/64 " >/dev/null ||
    afail "ifreload -a did not add $LAB_P::3"
expect_eq "reload: the agent's sysctl writes" 0 "$WRITES"
((LOST <= 1)) || afail "the router lost $LOST pings to c1 across ifreload -a"
ok "reload: $LOST pings lost, no write by the agent"

# ---------------------------------------------------------------------------------------------
section "4. the router renumbers: a new prefix advertised, the lab's own deprecated"
event renumber 60 lab_renumber
expect_eq "renumber: default routes deleted" 0 "$ROUTE_DELETED"
((LOST <= 1)) || afail "the router lost $LOST pings to c1 across the renumbering"
ok "renumber: every entry kept, $LOST pings lost"

# ---------------------------------------------------------------------------------------------
section "5. ifdown eth0 && ifup eth0 under the router's pings"
down_up() {
    ifupdown2 ifdown eth0
    ifupdown2 ifup eth0
}
event down-up 80 down_up
((ENTRIES_MS <= 2000)) || afail "the entries were not back within 2 s of ifup: ${ENTRIES_MS} ms"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$LAB_CT1" || afail "the router cannot reach c1 after ifup"
ok "the router reaches c1 again"

# ---------------------------------------------------------------------------------------------
section "6. accept_ra 1 on the forwarding host: doctor's fix, applied through ifupdown2"
agent_stop_term 5
# What ifupdown2 does with the attribute ifupdown knows: nothing, in a static stanza.
stanza "    accept_ra 2
"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=1
ifupdown2 ifreload -a
expect_eq "ifupdown2 ignores accept_ra 2 in a static stanza: accept_ra" 1 "$(uplink_sysctl accept_ra)"
nds_run doctor --json --manager-root "$R"
fix=$(jq -r '.problems[] | select(.check == "ra-route-at-risk") | .fix' <<<"$NDS_OUT")
[[ $fix == *"post-up sysctl -w net.ipv6.conf.eth0.accept_ra=2 in the \`iface eth0\` stanza"* ]] ||
    afail "doctor's fix is not ifupdown2's post-up line: $NDS_OUT"
ok "doctor: $fix"
stanza "    post-up sysctl -w net.ipv6.conf.eth0.accept_ra=2
"
ifupdown2 ifreload -a
expect_eq "after the post-up line and ifreload -a: accept_ra" 2 "$(uplink_sysctl accept_ra)"
nds_run doctor --json --manager-root "$R"
expect_eq "doctor after the fix: the RA route at risk" "" \
    "$(jq -r '.problems[] | select(.check == "ra-route-at-risk") | .problem' <<<"$NDS_OUT")"
