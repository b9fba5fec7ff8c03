#!/usr/bin/env bash
# `ndpsync doctor` on the real kernel: one lab case per problem it knows. Each case breaks the lab
# host one way, runs `doctor --json`, and checks the exit code (1), that exactly the expected
# checks complain, and the words of the message; then it repairs the host. The healthy lab host
# (agent running) exits 0 before and after.
#
# With the agent running (it would repair sysctls behind our back otherwise):
#   the config file changed after the agent read it; a hand-made proxy entry with no neighbour
#   behind it; one with no route either; our entry on a downstream interface; a process named
#   ndppd in the host's namespace; ip6tables FORWARD policy DROP, then an nft forward chain with
#   policy drop (each time the router's ping to a container really fails, and works after the
#   suggested accept); a bridge without a fixed MAC;
#   another interface taking RAs with accept_ra=1; a /56 on the uplink; a container address
#   outside the uplink's prefix; networkd's state under --manager-root without IPv6ProxyNDP, then
#   with the drop-in doctor gave; a kernel with a known defect (setarch --uname-2.6).
# With the agent stopped: the agent not running; all.proxy_ndp=0; proxy_delay=80; forwarding off
#   on the uplink; the uplink at accept_ra=1; a foreign entry shadowing a container's; and last,
#   a "dockerd" in the host's namespace after forwarding ate the RA default route: doctor finds
#   the uplink from SLAAC's traces, names Docker and accept_ra=2, and following its fix brings the
#   route back with the next RA.
# doctor writes nothing: the host's default route survives every case.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~30-60 s.
set -euo pipefail

LAB=${LAB:-nsd$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT

lab_up
CONFIG=$LAB_DIR/ndpsync.json
AGENT_SOCK=$LAB_DIR/doctor.sock
printf '{\n  "status_socket": "%s"\n}\n' "$AGENT_SOCK" >"$CONFIG"
export NDPSYNC_CONFIG=$CONFIG

# The kernel under test may have a known defect (the guests' kernels): then kernel-defect
# complains in every case, and is expected.
KERNEL_DEFECTS=$(ndpsync_h kernel-check --json | jq -r 'if (.defects | length) > 0 then "kernel-defect" else "" end')

# doctor_expect WHAT "CHECK..." PATTERN [DOCTOR ARGS...]: doctor exits 1, exactly CHECKs (plus a
# known kernel defect) complain, and PATTERN (an extended regex) is in a problem or its fix.
doctor_expect() {
    local what=$1 checks=$2 pattern=$3
    shift 3
    nds_run doctor --json "$@"
    local want got
    want=$(tr ' ' '\n' <<<"$checks $KERNEL_DEFECTS" | sed '/^$/d' | sort -u | paste -sd' ')
    got=$(jq -r '[.problems[].check] | unique | join(" ")' <<<"$NDS_OUT" 2>/dev/null || echo "no JSON: $NDS_OUT $NDS_ERR")
    expect_eq "$what: the checks that complain (doctor said: $NDS_OUT $NDS_ERR)" "$want" "$got"
    expect_eq "$what: doctor's exit code" "$([[ -z $want ]] && echo 0 || echo 1)" "$NDS_RC"
    if [[ -n $pattern ]]; then
        jq -r '.problems[] | .problem + " FIX: " + .fix' <<<"$NDS_OUT" | grep -E "$pattern" >/dev/null ||
            fail "$what: no problem says /$pattern/:"$'\n'"$NDS_OUT"
        ok "$what: it says: $(jq -r '.problems[] | .problem + " FIX: " + .fix' <<<"$NDS_OUT" | grep -m1 -E "$pattern" | cut -c1-160)"
    fi
}
ra_default() {
    ip -n "$LAB_H" -6 route show default | grep 'proto ra' >/dev/null
}
# fake_process NAME: a process named NAME in the host's namespace (a copy of sleep).
fake_process() {
    cp /bin/sleep "$LAB_DIR/$1"
    ip netns exec "$LAB_H" "$LAB_DIR/$1" 600 &
    FAKE_PID=$!
    lab_bg "$FAKE_PID"
    # `ip netns exec` execs it in place: the name is right once the exec is done.
    comm_is() { [[ $(cat "/proc/$FAKE_PID/comm") == "$1" ]]; }
    wait_for 5 comm_is "$1" || fail "the stand-in process $1 did not start"
}

section "healthy: the agent runs and has set everything up"
agent_start doctor
wait_for 10 owned_is "$(lab_expected_minus)" || afail "the agent did not install the lab's entries"
# The lab keeps an admin's hand-made entry ($LAB_ADMIN) that no container holds: a dead end, and
# outside every container route.
doctor_expect "the lab's admin entry" "no-neighbour no-route" "$LAB_ADMIN \(routed to eth0\)"
ip -n "$LAB_H" -6 neigh del proxy "$LAB_ADMIN" dev eth0
doctor_expect "healthy" "" ""
nds_run doctor
expect_eq "text form: the same exit code" "$([[ -n $KERNEL_DEFECTS ]] && echo 1 || echo 0)" "$NDS_RC"
grep -E "^  ok +proxy-ndp-off$" <<<"$NDS_OUT" >/dev/null || fail "text form lists no checks: $NDS_OUT"
ok "text form: $(tail -1 <<<"$NDS_OUT")"

section "agent: the config file changed after the agent read it"
echo "// edited" >>"$CONFIG"
doctor_expect "config edited" "agent" "changed after the running agent"
digest_now() { [[ $(status_q .config_digest) != "$1" ]]; }
OLD=$(status_q .config_digest)
kill -HUP "$AGENT_PID"
wait_for 5 digest_now "$OLD" || afail "the agent did not reload"
doctor_expect "after systemctl reload (SIGHUP)" "" ""

section "no-neighbour, no-route: hand-made proxy entries"
ip -n "$LAB_H" -6 neigh add proxy "$LAB_P::2:99" dev eth0
doctor_expect "an entry nobody is behind" "no-neighbour" "$LAB_P::2:99"
ip -n "$LAB_H" -6 neigh del proxy "$LAB_P::2:99" dev eth0
ip -n "$LAB_H" -6 neigh add proxy "$LAB_P::3:5" dev eth0
doctor_expect "an entry outside every container route" "no-neighbour no-route" "$LAB_P::3:5 \(routed to eth0\)"
ip -n "$LAB_H" -6 neigh del proxy "$LAB_P::3:5" dev eth0

section "entries-downstream"
ip -n "$LAB_H" -6 neigh add proxy "$LAB_CT2" dev br0 proto "$LAB_OWNER_PROTO"
doctor_expect "our entry on br0" "entries-downstream" "$LAB_CT2 dev br0"
ip -n "$LAB_H" -6 neigh del proxy "$LAB_CT2" dev br0

section "conflicting-daemon"
fake_process ndppd
doctor_expect "ndppd in the host's namespace" "conflicting-daemon" "systemctl disable --now ndppd"
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null || true

section "firewall-forward"
router_pings_ct1() { ip netns exec "$LAB_R" ping -6 -c1 -W1 "$LAB_CT1"; }
wait_for 5 router_pings_ct1 || fail "the router cannot ping c1 before the firewall case"
ip netns exec "$LAB_H" ip6tables -P FORWARD DROP
ip netns exec "$LAB_H" ip6tables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
! router_pings_ct1 >/dev/null 2>&1 || fail "the router still pings c1 through FORWARD DROP"
ok "the router's ping to c1 is dropped"
doctor_expect "ip6tables FORWARD DROP" "firewall-forward" "ip6tables -I FORWARD -o BRIDGE"
ip netns exec "$LAB_H" ip6tables -I FORWARD -o vc1 -j ACCEPT
ip netns exec "$LAB_H" ip6tables -I FORWARD -o br0 -j ACCEPT
doctor_expect "after the suggested accepts" "" ""
router_pings_ct1 >/dev/null || fail "the router cannot ping c1 after the accepts"
ok "the router pings c1 again"
ip netns exec "$LAB_H" ip6tables -F FORWARD
ip netns exec "$LAB_H" ip6tables -P FORWARD ACCEPT
ip netns exec "$LAB_H" nft add table inet ndt
ip netns exec "$LAB_H" nft 'add chain inet ndt forward { type filter hook forward priority 0; policy drop; }'
ip netns exec "$LAB_H" nft add rule inet ndt forward ct state established,related accept
! router_pings_ct1 >/dev/null 2>&1 || fail "the router still pings c1 through nft's drop policy"
doctor_expect "an nft forward chain with policy drop" "firewall-forward" "\(nft, inet ndt forward\)"
ip netns exec "$LAB_H" nft add rule inet ndt forward oifname '{ "vc1", "br0" }' accept
doctor_expect "after nft's accept" "" ""
router_pings_ct1 >/dev/null || fail "the router cannot ping c1 after nft's accept"
ok "the router pings c1 through nft's accept"
ip netns exec "$LAB_H" nft delete table inet ndt

section "bridge-mac"
ip -n "$LAB_H" link add br9 type bridge
ip -n "$LAB_H" link set br9 up
doctor_expect "a bridge without a fixed MAC" "bridge-mac" "ip link set br9 address"
ip -n "$LAB_H" link set br9 address "$(mac_of "$LAB_H" br9)"
doctor_expect "the same MAC, now set" "" ""
ip -n "$LAB_H" link del br9

section "ra-other-interfaces"
ip -n "$LAB_H" link add eth1 type vxlan id 5 dstport 4789   # neither veth nor bridge: not downstream
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth1.accept_ra=1
ip -n "$LAB_H" addr add 2001:db8:9::5/64 dev eth1
ip -n "$LAB_H" link set eth1 up
doctor_expect "eth1 takes RAs" "ra-other-interfaces" "net.ipv6.conf.eth1.accept_ra=2"
ip -n "$LAB_H" link del eth1

section "uplink-prefix, outside-prefix"
ip -n "$LAB_H" addr add 2001:db8:0:100::5/56 dev eth0
doctor_expect "a /56 on the uplink" "uplink-prefix" "2001:db8:0:100::/56 is not a /64"
ip -n "$LAB_H" addr del 2001:db8:0:100::5/56 dev eth0
ip -n "$LAB_H" addr add 2001:db8:77::1/64 dev vc1
doctor_expect "a container address outside the /64" "outside-prefix" "2001:db8:77::1 on vc1"
ip -n "$LAB_H" addr del 2001:db8:77::1/64 dev vc1

section "uplink-manager: networkd's state under a manager's root (--manager-root)"
# The state files systemd-networkd keeps for the uplink, as netplan's generated file leaves them,
# under a root of the test's own (a manager chrooted there keeps its state in its root; "/" is the
# machine's, whose links are not the lab's).
MROOT=$LAB_DIR/mroot
eth0_index=$(ip -n "$LAB_H" -j link show dev eth0 | jq -r '.[0].ifindex')
mkdir -p "$MROOT/run/systemd/netif/links" "$MROOT/run/systemd/network"
printf 'ADMIN_STATE=configured\nOPER_STATE=routable\nNETWORK_FILE=/run/systemd/network/10-netplan-eth0.network\n' \
    >"$MROOT/run/systemd/netif/links/$eth0_index"
printf '[Match]\nName=eth0\n\n[Network]\nIPv6AcceptRA=yes\n' >"$MROOT/run/systemd/network/10-netplan-eth0.network"
doctor_expect "netplan's file without IPv6ProxyNDP" "uplink-manager" \
    "without IPv6ProxyNDP=yes.*FIX: .*/etc/systemd/network/10-netplan-eth0.network.d/ndpsync.conf" \
    --manager-root "$MROOT"
expect_eq "the uplink's manager in the JSON" "netplan (systemd-networkd)" \
    "$(jq -r '.uplinks[0].manager' <<<"$NDS_OUT")"
mkdir -p "$MROOT/etc/systemd/network/10-netplan-eth0.network.d"
printf '[Network]\nIPv6ProxyNDP=yes\n' >"$MROOT/etc/systemd/network/10-netplan-eth0.network.d/ndpsync.conf"
doctor_expect "the drop-in doctor gave" "" "" --manager-root "$MROOT"
nds_run doctor --manager-root "$MROOT"
grep -q "^uplink: eth0 .* (managed by netplan (systemd-networkd))" <<<"$NDS_OUT" ||
    fail "the text form does not name the uplink's manager: $NDS_OUT"
ok "the text form names the uplink's manager"
nds_run doctor --manager-root "$LAB_DIR/no-such-dir"
expect_eq "a --manager-root that does not exist: exit code" 2 "$NDS_RC"

section "kernel-defect"
ip netns exec "$LAB_H" setarch "$(uname -m)" --uname-2.6 "$NDPSYNC" doctor --json >"$LAB_DIR/old.json" || true
expect_eq "a 2.6 kernel: the defect" '["no-proxy-protocol"]' \
    "$(jq -c '[.problems[] | select(.check == "kernel-defect") | .problem | capture("(?<id>no-proxy-protocol)").id]' "$LAB_DIR/old.json")"

section "with the agent stopped"
agent_stop_term 5
doctor_expect "no agent" "agent" "no ndpsync agent is running"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.proxy_ndp=0
doctor_expect "all.proxy_ndp=0" "agent proxy-ndp-off" "unicast Neighbor Solicitations"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.proxy_ndp=1
ip netns exec "$LAB_H" sysctl -qw net.ipv6.neigh.eth0.proxy_delay=80
doctor_expect "proxy_delay=80" "agent proxy-delay" "up to 0.80 s"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.neigh.eth0.proxy_delay=0
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.forwarding=0
doctor_expect "eth0.forwarding=0" "agent forwarding-off" "forwarding is off on the uplink eth0"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.forwarding=1
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=1
doctor_expect "eth0.accept_ra=1" "agent ra-route-at-risk" "net.ipv6.conf.eth0.accept_ra=2"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=2
ip -n "$LAB_H" -6 neigh del proxy "$LAB_CT3" dev eth0
ip -n "$LAB_H" -6 neigh add proxy "$LAB_CT3" dev eth0
doctor_expect "a foreign entry for c3" "agent foreign-entries" "$LAB_CT3 dev eth0"
ip -n "$LAB_H" -6 neigh del proxy "$LAB_CT3" dev eth0
ra_default || fail "the host lost its RA default route during the doctor cases"
ok "the host's RA default route survived every case"

section "Docker's forwarding ate the RA default route: the uplink found from SLAAC's traces"
fake_process dockerd
# The purge only looks at tables that an RA added a default router to since the last purge (the
# agent's own forwarding=1 was one), so the RA route is made new first: forwarding off, the route
# deleted, the next RA brings it back; then forwarding on, as dockerd does at start.
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=1
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.forwarding=0
ip -n "$LAB_H" -6 route del default
wait_for 15 ra_default || fail "no RA brought the default route back with forwarding off"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.forwarding=1
wait_for 5 bash -c "! ip -n $LAB_H -6 route show default | grep . >/dev/null" ||
    fail "forwarding=1 with accept_ra=1 did not drop the RA default route: $(ip -n "$LAB_H" -6 route show default; sysctls_h)"
ok "forwarding=1 with accept_ra=1 dropped the RA default route"
doctor_expect "no default route, dockerd running" "agent ra-route-at-risk" \
    "eth0 has accept_ra=1 while forwarding is on: Docker.*is gone.*FIX: sysctl -w net.ipv6.conf.eth0.accept_ra=2"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=2
wait_for 15 ra_default || fail "the RA default route did not come back after doctor's fix"
ok "doctor's fix (accept_ra=2) brought the default route back with the next RA"
