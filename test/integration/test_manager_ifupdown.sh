#!/usr/bin/env bash
# The uplink owned by a real ifupdown: Debian 13's (0.8.44), from the root test/lab/debian_root.sh
# makes, run chrooted in the lab's host namespace with `iface eth0 inet6 auto`, Debian's usual
# stanza for an uplink that takes SLAAC.
#
#   1. ifup eth0, then the agent: ifupdown set accept_ra=2 (its auto method's default), so
#      forwarding costs the host no default route; every container is proxied.
#   2. doctor reads ifupdown's state (--manager-root): it names ifupdown, and finds nothing to fix.
#   3. ifdown eth0 && ifup eth0 under the router's pings (every 100 ms): the link's admin down
#      purges every proxy entry; every one is back within 2 s of ifup, the default route comes
#      back with the next RA, and the router reaches c1 again. The gap in the pings is printed.
#   5. the router renumbers (a new prefix, the old one deprecated): the kernel takes the RAs
#      (accept_ra 2), nothing is lost.
#   4. a stanza with accept_ra 1 (an admin's typo), applied with ifup --force on the forwarding
#      host: doctor's fix names the stanza, not only the sysctl.
#
# Needs root and Debian's registry (the root is built once, under build/roots); exits 77
# (skipped) when not root. Runs in ~30 s, plus a minute or two the first time.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_manager_ifupdown.sh
set -euo pipefail

LAB=${LAB:-nmi$$}
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

rm -rf "$R/run/network"
mkdir -p "$R/run/network"
stanza() {
    printf 'auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet6 auto\n%s' "$1" \
        >"$R/etc/network/interfaces"
}
ifupdown() {
    root_exec "$LAB_H" "$@" >>"$LAB_DIR/ifupdown.log" 2>&1 ||
        afail "$* failed: $(tail -5 "$LAB_DIR/ifupdown.log")"
}

# ---------------------------------------------------------------------------------------------
section "1. ifupdown brings eth0 up; then the agent starts"
stanza ""
ifupdown ifup eth0
[[ -f $R/run/network/ifstate.eth0 ]] || afail "ifup left no /run/network/ifstate.eth0"
expect_eq "ifupdown's inet6 auto: accept_ra" 2 "$(uplink_sysctl accept_ra)"
wait_for 15 default_route || afail "no RA default route after ifup"
agent_start ifu
wait_for 10 owned_is "$(lab_expected_minus)" || afail "the agent did not install the lab's entries"
hold_for 3 default_route || afail "the host lost its default route $HOLD_BROKE_MS ms after the agent started"
ok "the host kept its default route with forwarding on"

# ---------------------------------------------------------------------------------------------
section "2. doctor reads ifupdown's state"
nds_run doctor --json --manager-root "$R"
expect_eq "the uplink's manager" ifupdown "$(jq -r '.uplinks[0].manager' <<<"$NDS_OUT")"
expect_eq "nothing about the uplink's RAs" "" \
    "$(jq -r '.problems[] | select(.check == "ra-route-at-risk" or .check == "uplink-manager") | .problem' <<<"$NDS_OUT")"

# ---------------------------------------------------------------------------------------------
section "3. ifdown eth0 && ifup eth0 under the router's pings"
down_up() {
    ifupdown ifdown eth0
    echo "# after ifdown: $(owned_set | wc -w) entries of ours on eth0 (the admin down purged them; the agent may have put them back on the down link)"
    ifupdown ifup eth0
}
event down-up 80 down_up
((ENTRIES_MS <= 2000)) || afail "the entries were not back within 2 s of ifup: ${ENTRIES_MS} ms"
ip netns exec "$LAB_R" ping -6 -c1 -W2 -n "$LAB_CT1" >/dev/null || afail "the router cannot reach c1 after ifup"
ok "the router reaches c1 again; ifstate.eth0 is $(cat "$R/run/network/ifstate.eth0")"

# ---------------------------------------------------------------------------------------------
section "4. a stanza with accept_ra 1"
# ifup --force runs the stanza's commands again on the configured link (addresses and routes
# stay): accept_ra 1 on a host that forwards, whose RAs the kernel then ignores.
agent_stop_term 5
stanza "    accept_ra 1
"
ifupdown ifup --force eth0
expect_eq "the stanza's accept_ra" 1 "$(uplink_sysctl accept_ra)"
nds_run doctor --json --manager-root "$R"
fix=$(jq -r '.problems[] | select(.check == "ra-route-at-risk") | .fix' <<<"$NDS_OUT")
[[ $fix == *"so that ifupdown keeps it: accept_ra 2 in the \`iface eth0 inet6 auto\` stanza"* ]] ||
    afail "doctor's fix does not name ifupdown's stanza: $NDS_OUT"
ok "doctor: $fix"

# ---------------------------------------------------------------------------------------------
section "5. the router renumbers: a new prefix advertised, the lab's own deprecated"
agent_start ifu2
wait_for 10 owned_is "$(lab_expected_minus)" || afail "the agent did not install the lab's entries"
event renumber 60 lab_renumber
expect_eq "renumber: default routes deleted" 0 "$ROUTE_DELETED"
((LOST <= 1)) || afail "the router lost $LOST pings to c1 across the renumbering"
ok "renumber: the kernel took $(ip -n "$LAB_H" -6 addr show dev eth0 | grep -o "$LAB_P_NEW:[^/]*"); every entry kept, $LOST pings lost"
