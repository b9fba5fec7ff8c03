#!/usr/bin/env bash
# The LXD/Incus recipe (docs/recipes/incus-lxd.md), run for real with Debian 12's LXD 5.0 in the
# lab:
#   * lxd runs in the lab's host namespace, in a private mount namespace (test/lab/engines.sh),
#     with its own LXD_DIR (database, socket, a `dir` storage pool);
#   * the recipe's managed bridge: ipv6.address a /112 of the /64 (smaller than the /64, so it is
#     not routed to the host and the router must find each instance by NDP), ipv6.nat=false,
#     no IPv4, no DHCPv6, no DNS;
#   * an instance from a busybox image (imported from a tarball: no image server here) sets its
#     static address, pings its gateway once, then only listens;
#   * LXD sets accept_ra=2 on the uplink itself when it turns forwarding on (asserted: the recipe
#     says so);
#   * the agent with the recipe's config proxies it and the bridge's address, the router pings it
#     and reaches its httpd, the host keeps its RA default route; `lxc delete -f` withdraws it.
# Root namespace: unchanged (lab_down checks), its iptables/ip6tables rules unchanged, none of the
# engines' default state paths changed.
#
# Needs root, lxd (Debian's, with its `lxc` client), busybox-static, unshare and nsenter; exits 77
# (skipped) otherwise, or when lxd cannot run here (the reason is printed). ~30 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_recipe_lxd.sh
# shellcheck disable=SC2016  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-nxd$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/engines.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/engines.sh"
skip_unless_root

LXD=${LXD:-/usr/bin/lxd}
LXC=${LXC:-/usr/bin/lxc}   # LXD's client (not LXC's lxc-* tools)
[[ -x $LXD ]] || skip "lxd not found at $LXD (apt-get install lxd)"
[[ -x $LXC ]] || skip "LXD's client not found at $LXC (apt-get install lxd-client)"
why=$(engine_prereqs)
[[ -z $why ]] || skip "$why"

BRIDGE=lxdbr1
BR_CIDR=$LAB_P::f:1/112
BR_GW=$LAB_P::f:1
CT_ADDR=$LAB_P::f:2
CT=c1
LIVENESS=5

D=""
LXD_PID=""
root_before=""

# lx ARGS...: LXD's client against our lxd, in the engine's mount namespace.
lx() {
    in_engine_ns env LXD_DIR="$D/var" "$LXC" "$@"
}

cleanup_all() {
    local bad=0
    if [[ -n $LXD_PID ]] && kill -0 "$LXD_PID" 2>/dev/null; then
        lx delete -f "$CT" >/dev/null 2>&1 || true
        in_engine_ns env LXD_DIR="$D/var" "$LXD" shutdown --timeout 20 >/dev/null 2>&1 || true
        _kill_pid "$LXD_PID"
    fi
    lab_down   # kills the holder and LXD's monitors, which live in the host namespace
    if [[ -n $root_before ]] && ! diff <(echo "$root_before") <(root_untouched_snapshot) >&2; then
        echo "FAIL: LXD left something in the root namespace or on the machine (diff above)" >&2
        bad=1
    fi
    return "$bad"
}
trap 'rc=$?; cleanup_all || rc=1; exit $rc' EXIT

root_before=$(root_untouched_snapshot)
T_START=$(_now_us)
lab_up
D=$LAB_DIR/lxd
mkdir -p "$D/var" "$D/pool"
host_has_default() { ip -n "$LAB_H" -6 route show default dev eth0 | grep 'proto ra' >/dev/null; }

# ---------------------------------------------------------------------------------------------
section "1. lxd in the host namespace, a dir pool, the recipe's bridge"
engine_ns_start
nsenter -t "$ENGINE_HOLDER" -m -n env LXD_DIR="$D/var" "$LXD" --group root \
    --logfile "$LAB_DIR/lxd.log" >"$LAB_DIR/lxd.out" 2>&1 &
LXD_PID=$!
lxd_ready() { in_engine_ns env LXD_DIR="$D/var" "$LXD" waitready --timeout 1; }
if ! wait_for 30 lxd_ready; then
    kill -0 "$LXD_PID" 2>/dev/null || skip "lxd cannot run here: $(tail -n 5 "$LAB_DIR/lxd.out" | tr '\n' ' ')"
    fail "lxd not ready within 30 s: $(tail -n 20 "$LAB_DIR/lxd.log")"
fi
ok "lxd $("$LXD" --version) ready"
lx storage create default dir source="$D/pool" >/dev/null || fail "lxc storage create failed"
lx profile device add default root disk path=/ pool=default >/dev/null || fail "lxc profile device add failed"
# The recipe's bridge.
lx network create "$BRIDGE" ipv4.address=none ipv6.address="$BR_CIDR" ipv6.nat=false \
    ipv6.dhcp=false dns.mode=none >"$D/net.out" 2>&1 || fail "lxc network create failed: $(cat "$D/net.out")"
expect_eq "$BRIDGE has the bridge's ipv6.address" "$BR_CIDR" \
    "$(ip -n "$LAB_H" -j -6 addr show dev "$BRIDGE" scope global | jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"')"
# Unlike Docker and Podman, LXD sets accept_ra=2 on the interfaces that take RAs before it turns
# forwarding on: the host keeps its default route even before ndpsync runs.
expect_eq "LXD set all.forwarding" 1 "$(sysctl_h net.ipv6.conf.all.forwarding)"
expect_eq "LXD set accept_ra=2 on eth0 itself" 2 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
hold_for 2 host_has_default || fail "the host lost its RA default route after LXD's bridge"
ok "the host kept its RA default route"

# ---------------------------------------------------------------------------------------------
section "2. the agent with the recipe's config"
cat >"$D/ndpsync.json" <<'EOF'
{
  "uplinks": ["eth0"]
}
EOF
agent_start a1 --config "$D/ndpsync.json" --liveness-timeout "$LIVENESS"
wait_for 15 host_has_default || afail "no RA default route 15 s after the agent started"
expect_eq "eth0 accept_ra" 2 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
ok "the host has its RA default route"
wait_for 3 owned_has "$BR_GW" || afail "the bridge's $BR_GW is not proxied"
ok "$BR_GW ($BRIDGE's address) proxied"

# ---------------------------------------------------------------------------------------------
section "3. an instance that pings its gateway once, then only listens"
R=$D/image
engine_rootfs_tar "$R"
mkdir -p "$R/rootfs/sbin" "$R/rootfs/dev" "$R/rootfs/proc" "$R/rootfs/sys" "$R/rootfs/tmp" "$R/rootfs/etc"
# A static address, as the recipe's bridge (no DHCPv6, a /112 where SLAAC cannot work) asks for.
cat >"$R/rootfs/sbin/init" <<EOF
#!/bin/sh
ip link set lo up
ip link set eth0 up
ip -6 addr add $CT_ADDR/112 dev eth0
ip -6 route add default via $BR_GW dev eth0
for i in \$(seq 50); do ip -6 addr show dev eth0 scope global | grep -q tentative || break; sleep 0.1; done
ping -c1 -W2 $BR_GW
exec httpd -f -p 80
EOF
chmod 0755 "$R/rootfs/sbin/init"
cat >"$R/metadata.yaml" <<EOF
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: busybox for the ndpsync recipe test
  os: busybox
EOF
tar -C "$R" -czf "$D/image.tar.gz" metadata.yaml rootfs
lx image import "$D/image.tar.gz" --alias ndpsync-busybox >/dev/null || fail "lxc image import failed"
ok "lxc image import made ndpsync-busybox"
# Privileged: an unprivileged instance needs root's subuid/subgid ranges on the machine, which
# this test does not change; networking is the same.
lx init ndpsync-busybox "$CT" -n "$BRIDGE" -c security.privileged=true >/dev/null 2>"$D/init.err" ||
    fail "lxc init failed: $(cat "$D/init.err")"
if ! lx start "$CT" >"$D/start.out" 2>&1; then
    skip "lxc start failed here: $(tr '\n' ' ' <"$D/start.out") $(lx info --show-log "$CT" 2>&1 | grep -E 'ERROR' | tail -n 3 | tr '\n' ' ')"
fi
ok "instance $CT is $(lx list "$CT" -c s -f csv)"
t0=$(_now_us)
wait_for 10 owned_has "$CT_ADDR" || afail "the agent did not proxy $CT_ADDR within 10 s of lxc start"
ok "$CT_ADDR proxied ($(elapsed_ms "$t0") ms after lxc start returned)"
expect_eq "status lists $CT_ADDR on $BRIDGE (neighbour)" "$BRIDGE neighbour" \
    "$(status_q ".entries[] | select(.address == \"$CT_ADDR\") | \"\(.interface) \(.source)\"")"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT_ADDR" || afail "the router cannot ping $CT_ADDR"
ok "the router pings the instance at $CT_ADDR"
# The instance's init starts httpd once its ping is answered: the router may ask a moment before.
http_answers() {
    ip netns exec "$LAB_R" busybox nc -w 3 "$CT_ADDR" 80 <<<$'GET / HTTP/1.0\r\n\r\n' >"$D/http.out" 2>&1 &&
        grep '^HTTP/1' "$D/http.out" >/dev/null
}
if wait_for 5 http_answers; then
    ok "the router reaches the instance's httpd: $(head -n1 "$D/http.out" | tr -d '\r')"
else
    afail "no HTTP answer from [$CT_ADDR]:80: $(head -c 200 "$D/http.out")"
fi
hold_for 3 host_has_default || afail "the host lost its default route ($HOLD_BROKE_MS ms into the hold)"
ok "the host's RA default route held for 3 s ($HOLD_SAMPLES samples)"

# ---------------------------------------------------------------------------------------------
section "4. lxc delete -f: the instance's entry is withdrawn, the bridge's stays"
lx delete -f "$CT" >/dev/null || fail "lxc delete -f $CT failed"
wait_holding $((LIVENESS + 4)) 'owned_lacks "$CT_ADDR"' 'owned_has "$BR_GW"' && rc=0 || rc=$?
case $rc in
    1) afail "$CT_ADDR still proxied $WAIT_MS ms after lxc delete -f" ;;
    2) afail "$BR_GW lost its entry while $CT_ADDR was being withdrawn ($WAIT_MS ms)" ;;
esac
ok "$CT_ADDR withdrawn $WAIT_MS ms after lxc delete -f; $BR_GW kept"
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"

# ---------------------------------------------------------------------------------------------
trap - EXIT
cleanup_all || exit 1
ok "nothing of LXD's left in the root namespace or on the machine; lab removed"
echo "PASS: test_recipe_lxd ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
