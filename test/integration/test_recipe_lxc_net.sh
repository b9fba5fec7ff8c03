#!/usr/bin/env bash
# The LXC recipe with lxc-net (docs/recipes/lxc.md), run for real: Debian's lxc-net script and its
# dnsmasq in the lab's host namespace, an LXC container (busybox template) on lxcbr0.
#   * lxc-net runs in a private mount namespace (test/lab/engines.sh: /run and /var/lib are tmpfs
#     there) with the recipe's /etc/default/lxc-net bound over the machine's, so lxcbr0, its
#     dnsmasq and its firewall rules exist only in the host namespace;
#   * lxc-net writes all.forwarding=1 while the uplink has accept_ra=1: the host loses its RA
#     default route (asserted); the agent with the recipe's config (the uplink named) sets
#     accept_ra=2 and the next RA brings it back;
#   * the container, with its static address from its LXC config, pings its gateway once; the
#     agent proxies it and lxcbr0's address; the router pings it; lxc-stop withdraws it.
#
# Needs root, lxc (lxc-net's script, lxc-* tools, the busybox template), dnsmasq, busybox-static,
# unshare and nsenter; exits 77 (skipped) otherwise, or when LXC cannot start containers here.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_recipe_lxc_net.sh
# shellcheck disable=SC2016  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-nln$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/engines.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/engines.sh"
skip_unless_root

LXC_NET=${LXC_NET:-/usr/libexec/lxc/lxc-net}
[[ -x $LXC_NET ]] || skip "lxc-net's script not found at $LXC_NET (apt-get install lxc)"
for tool in lxc-create lxc-start lxc-stop lxc-destroy lxc-attach lxc-wait dnsmasq; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (apt-get install lxc)"
done
[[ -f /usr/share/lxc/templates/lxc-busybox ]] ||
    skip "LXC's busybox template not found (apt-get install lxc-templates)"
[[ -f /etc/default/lxc-net ]] || skip "/etc/default/lxc-net not found (the recipe's file is bound over it)"
why=$(engine_prereqs)
[[ -z $why ]] || skip "$why"

BR_ADDR=$LAB_P::c:1
BR_CIDR=$LAB_P::c:0/112
CT_ADDR=$LAB_P::c:10
CT=${LAB}x
CT_VETH=${LAB}v
LIVENESS=5
LXCPATH=""
root_before=""

lxc_h() {
    local cmd=$1
    shift
    ip netns exec "$LAB_H" "$cmd" -P "$LXCPATH" -n "$CT" "$@"
}
cleanup_all() {
    local bad=0
    if [[ -n $LXCPATH && -d $LXCPATH/$CT ]]; then
        ip netns list | grep -w "$LAB_H" >/dev/null && lxc_h lxc-stop -k >/dev/null 2>&1
        lxc-destroy -P "$LXCPATH" -n "$CT" -f >/dev/null 2>&1 || echo "# warning: lxc-destroy failed" >&2
    fi
    lab_down   # kills dnsmasq and the holder, which live in the host namespace
    if [[ -n $root_before ]] && ! diff <(echo "$root_before") <(root_untouched_snapshot) >&2; then
        echo "FAIL: lxc-net left something in the root namespace or on the machine (diff above)" >&2
        bad=1
    fi
    if ip link show dev lxcbr0 >/dev/null 2>&1 && [[ $had_lxcbr0 == 0 ]]; then
        echo "FAIL: the root namespace has an lxcbr0" >&2
        bad=1
    fi
    return "$bad"
}
had_lxcbr0=0
ip link show dev lxcbr0 >/dev/null 2>&1 && had_lxcbr0=1
trap 'rc=$?; cleanup_all || rc=1; exit $rc' EXIT

root_before=$(root_untouched_snapshot)
T_START=$(_now_us)
lab_up
D=$LAB_DIR/lxcnet
LXCPATH=$LAB_DIR/lxc
mkdir -p "$D" "$LXCPATH"
host_has_default() { ip -n "$LAB_H" -6 route show default dev eth0 | grep 'proto ra' >/dev/null; }
host_lacks_default() { ! host_has_default; }

# ---------------------------------------------------------------------------------------------
section "1. lxc-net with the recipe's /etc/default/lxc-net, in the host namespace"
cat >"$D/lxc-net" <<EOF
USE_LXC_BRIDGE="true"
LXC_IPV6_ADDR="$BR_ADDR"
LXC_IPV6_MASK="112"
LXC_IPV6_NETWORK="$BR_CIDR"
LXC_IPV6_NAT="false"
EOF
engine_ns_start
in_engine_ns mount --bind "$D/lxc-net" /etc/default/lxc-net
in_engine_ns mkdir -p /var/lib/misc
expect_eq "host eth0 accept_ra before lxc-net" 1 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
in_engine_ns "$LXC_NET" start >"$D/start.out" 2>&1 || fail "lxc-net start failed: $(cat "$D/start.out")"
expect_eq "lxcbr0 has LXC_IPV6_ADDR/LXC_IPV6_MASK" "$BR_ADDR/112" \
    "$(ip -n "$LAB_H" -j -6 addr show dev lxcbr0 scope global | jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"')"
ip link show dev lxcbr0 >/dev/null 2>&1 && [[ $had_lxcbr0 == 0 ]] && fail "lxcbr0 appeared in the ROOT namespace"
ok "lxcbr0 is in the host namespace only"
expect_eq "lxc-net set all.forwarding" 1 "$(sysctl_h net.ipv6.conf.all.forwarding)"
wait_for 2 host_lacks_default || fail "the host kept its RA default route although lxc-net set forwarding=1"
ok "the pitfall: the host lost its RA default route when lxc-net set all.forwarding=1"

# ---------------------------------------------------------------------------------------------
section "2. the agent with the recipe's config"
cat >"$D/ndpsync.json" <<'EOF'
{
  "uplinks": ["eth0"]
}
EOF
agent_start a1 --config "$D/ndpsync.json" --liveness-timeout "$LIVENESS"
t0=$(_now_us)
wait_for 15 host_has_default || afail "no RA default route 15 s after the agent started"
ok "accept_ra=$(sysctl_h net.ipv6.conf.eth0.accept_ra) on eth0; the next RA brought the default route back ($(elapsed_ms "$t0") ms)"
wait_for 3 owned_has "$BR_ADDR" || afail "lxcbr0's $BR_ADDR is not proxied"
ok "$BR_ADDR (lxcbr0's address) proxied"

# ---------------------------------------------------------------------------------------------
section "3. an LXC container on lxcbr0 with the recipe's static address"
cat >"$D/lxc.conf" <<EOF
lxc.net.0.type = veth
lxc.net.0.link = lxcbr0
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.veth.pair = $CT_VETH
lxc.net.0.ipv6.address = $CT_ADDR/112
lxc.net.0.ipv6.gateway = $BR_ADDR
lxc.apparmor.profile = unconfined
EOF
lxc-create -P "$LXCPATH" -n "$CT" -t busybox -f "$D/lxc.conf" >"$D/create.out" 2>&1 ||
    skip "lxc-create -t busybox failed here: $(tail -n 5 "$D/create.out" | tr '\n' ' ')"
# The template's udhcpc would flush the static address (see test_agent_lxc.sh).
sed -i '/udhcpc/d' "$LXCPATH/$CT/rootfs/etc/init.d/rcS"
lxc_h lxc-start -d -l INFO -o "$LAB_DIR/lxc-start.log" >"$D/start-ct.out" 2>&1 ||
    skip "lxc-start failed here: $(tail -n 3 "$D/start-ct.out" | tr '\n' ' ')"
lxc_h lxc-wait -s RUNNING -t 10 >/dev/null 2>&1 || skip "the container did not reach RUNNING"
ok "$CT is RUNNING on lxcbr0"
ct_ping_gw() { lxc_h lxc-attach -- ping -6 -c1 -W1 -I "$CT_ADDR" "$BR_ADDR"; }
wait_for 10 ct_ping_gw || fail "the container cannot ping its gateway $BR_ADDR"
ok "the container pings its gateway (its first packet)"
wait_for 2 owned_has "$CT_ADDR" || afail "the agent did not proxy $CT_ADDR within 2 s of its ping"
expect_eq "status lists $CT_ADDR on lxcbr0 (neighbour)" "lxcbr0 neighbour" \
    "$(status_q ".entries[] | select(.address == \"$CT_ADDR\") | \"\(.interface) \(.source)\"")"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT_ADDR" || afail "the router cannot ping $CT_ADDR"
ok "the router pings the container at $CT_ADDR"
hold_for 3 host_has_default || afail "the host lost its default route ($HOLD_BROKE_MS ms into the hold)"
ok "the host's RA default route held for 3 s ($HOLD_SAMPLES samples)"

# ---------------------------------------------------------------------------------------------
section "4. lxc-stop: the container's entry is withdrawn, lxcbr0's stays"
lxc_h lxc-stop -k >/dev/null 2>&1 || fail "lxc-stop failed"
wait_holding $((LIVENESS + 4)) 'owned_lacks "$CT_ADDR"' 'owned_has "$BR_ADDR"' && rc=0 || rc=$?
case $rc in
    1) afail "$CT_ADDR still proxied $WAIT_MS ms after lxc-stop" ;;
    2) afail "$BR_ADDR lost its entry while $CT_ADDR was being withdrawn ($WAIT_MS ms)" ;;
esac
ok "$CT_ADDR withdrawn $WAIT_MS ms after lxc-stop; $BR_ADDR kept"
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"

# ---------------------------------------------------------------------------------------------
trap - EXIT
cleanup_all || exit 1
ok "no lxcbr0 in the root namespace; nothing of lxc-net's left on the machine; lab removed"
echo "PASS: test_recipe_lxc_net ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
