#!/usr/bin/env bash
# The Incus/LXD recipe (docs/recipes/incus-lxd.md), run for real in the lab with Debian 13's Incus 6
# (test/vm/debian13.sh engines runs it chrooted in a Debian 13 root) or Debian 12's LXD 5.0 (the
# machine's own), whichever is installed; ENGINE=incus or ENGINE=lxd chooses:
#   * the daemon runs in the lab's host namespace, in a private mount namespace
#     (test/lab/engines.sh), with its own INCUS_DIR/LXD_DIR (database, socket, a `dir` pool);
#   * the recipe's managed bridge (incusbr0, lxdbr1): ipv6.address a /112 of the /64 (smaller than
#     the /64, so it is not routed to the host and the router must find each instance by NDP),
#     ipv6.nat=false, no IPv4, no DNS; Incus with the recipe's stateful DHCPv6, LXD without;
#   * an instance from a busybox image (imported from a tarball: no image server here) sets its
#     static address, pings its gateway once, then only listens;
#   * the daemon sets accept_ra=2 on the uplink itself when it turns forwarding on (asserted: the
#     recipe says so);
#   * the agent with the recipe's config proxies it and the bridge's address, the router pings it
#     and reaches its httpd, the host keeps its RA default route;
#   * routed NICs: one with parent=eth0, for which the engine adds a proxy entry too (one entry
#     results, with the agent's tag: it claims from the route first), one without, whose /128
#     route the agent mirrors (source "route"); the router reaches both;
#   * `delete -f` takes every instance's entry away; the bridge's stays.
# Root namespace: unchanged (lab_down checks), its iptables/ip6tables rules unchanged, none of the
# engines' default state paths changed.
#
# Needs root, incus (incus-base, incus-client) or lxd (with its `lxc` client), busybox-static,
# unshare and nsenter; exits 77 (skipped) otherwise, or when the daemon cannot run here (the
# reason is printed). ~40 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_recipe_incus_lxd.sh
# shellcheck disable=SC2016  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-nxd$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/engines.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/engines.sh"
skip_unless_root

if [[ -z ${ENGINE:-} ]]; then
    ENGINE=lxd
    [[ -x /usr/libexec/incus/incusd ]] && ENGINE=incus
fi
case $ENGINE in
incus)
    DAEMON=/usr/libexec/incus/incusd CLIENT=/usr/bin/incus DIR_VAR=INCUS_DIR BRIDGE=incusbr0
    # The recipe's stateful DHCPv6 (dnsmasq); the test's instances still set static addresses:
    # Debian 13's busybox has no DHCPv6 client.
    BRIDGE_DHCP=(ipv6.dhcp.stateful=true)
    [[ -x $DAEMON ]] || skip "incusd not found at $DAEMON (apt-get install incus-base)"
    [[ -x $CLIENT ]] || skip "Incus's client not found at $CLIENT (apt-get install incus-client)"
    ;;
lxd)
    DAEMON=/usr/bin/lxd CLIENT=/usr/bin/lxc DIR_VAR=LXD_DIR BRIDGE=lxdbr1 BRIDGE_DHCP=(ipv6.dhcp=false)
    [[ -x $DAEMON ]] || skip "lxd not found at $DAEMON (apt-get install lxd)"
    [[ -x $CLIENT ]] || skip "LXD's client not found at $CLIENT (apt-get install lxd-client)"
    ;;
*) fail "ENGINE must be incus or lxd, not '$ENGINE'" ;;
esac
why=$(engine_prereqs)
[[ -z $why ]] || skip "$why"

BR_CIDR=$LAB_P::f:1/112
BR_GW=$LAB_P::f:1
CT_ADDR=$LAB_P::f:2
ROUTED_PARENT=$LAB_P::10   # routed NIC with parent=eth0: the engine adds a proxy entry too
ROUTED_PLAIN=$LAB_P::11    # routed NIC without parent: the agent mirrors its /128 route
CT=c1
LIVENESS=5

D=""
DAEMON_PID=""
root_before=""
INSTANCES=("$CT")

# cl ARGS...: the engine's client against our daemon, in the engine's mount namespace.
cl() {
    in_engine_ns env "$DIR_VAR=$D/var" "$CLIENT" "$@"
}
daemon_cmd() {
    in_engine_ns env "$DIR_VAR=$D/var" "$DAEMON" "$@"
}

cleanup_all() {
    local bad=0 c
    if [[ -n $DAEMON_PID ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        for c in "${INSTANCES[@]}"; do cl delete -f "$c" >/dev/null 2>&1 || true; done
        daemon_cmd shutdown --timeout 20 >/dev/null 2>&1 || true
        _kill_pid "$DAEMON_PID"
    fi
    lab_down   # kills the holder and the engine's monitors, which live in the host namespace
    if [[ -n $root_before ]] && ! diff <(echo "$root_before") <(root_untouched_snapshot) >&2; then
        echo "FAIL: $ENGINE left something in the root namespace or on the machine (diff above)" >&2
        bad=1
    fi
    return "$bad"
}
trap 'rc=$?; cleanup_all || rc=1; exit $rc' EXIT

root_before=$(root_untouched_snapshot)
T_START=$(_now_us)
lab_up
D=$LAB_DIR/$ENGINE
mkdir -p "$D/var" "$D/pool"
host_has_default() { ip -n "$LAB_H" -6 route show default dev eth0 | grep 'proto ra' >/dev/null; }

# ---------------------------------------------------------------------------------------------
section "1. $ENGINE in the host namespace, a dir pool, the recipe's bridge"
engine_ns_start
nsenter -t "$ENGINE_HOLDER" -m -n -r -w env "$DIR_VAR=$D/var" "$DAEMON" --group root \
    --logfile "$LAB_DIR/$ENGINE.log" >"$LAB_DIR/$ENGINE.out" 2>&1 &
DAEMON_PID=$!
daemon_ready() { daemon_cmd waitready --timeout 1; }
if ! wait_for 30 daemon_ready; then
    kill -0 "$DAEMON_PID" 2>/dev/null ||
        skip "$ENGINE cannot run here: $(tail -n 5 "$LAB_DIR/$ENGINE.out" | tr '\n' ' ')"
    fail "$ENGINE not ready within 30 s: $(tail -n 20 "$LAB_DIR/$ENGINE.log")"
fi
ok "$ENGINE $(daemon_cmd --version) ready"
cl storage create default dir source="$D/pool" >/dev/null || fail "storage create failed"
cl profile device add default root disk path=/ pool=default >/dev/null || fail "profile device add failed"
# The recipe's bridge.
cl network create "$BRIDGE" ipv4.address=none ipv6.address="$BR_CIDR" ipv6.nat=false \
    "${BRIDGE_DHCP[@]}" dns.mode=none >"$D/net.out" 2>&1 ||
    fail "network create failed: $(cat "$D/net.out")"
expect_eq "$BRIDGE has the bridge's ipv6.address" "$BR_CIDR" \
    "$(ip -n "$LAB_H" -j -6 addr show dev "$BRIDGE" scope global | jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"')"
# Unlike Docker and Podman, the engine sets accept_ra=2 on the interfaces that take RAs before it
# turns forwarding on: the host keeps its default route even before ndpsync runs.
expect_eq "$ENGINE set all.forwarding" 1 "$(sysctl_h net.ipv6.conf.all.forwarding)"
expect_eq "$ENGINE set accept_ra=2 on eth0 itself" 2 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
hold_for 2 host_has_default || fail "the host lost its RA default route after $ENGINE's bridge"
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
# A static address (environment.ADDR), as the recipe's /112 asks for where SLAAC cannot work; a
# routed NIC's address and route are the engine's. Then one ping to the gateway, and httpd.
cat >"$R/rootfs/sbin/init" <<EOF
#!/bin/sh
ip link set lo up
ip link set eth0 up
if [ -n "\$ADDR" ]; then
    ip -6 addr add \$ADDR/112 dev eth0
    ip -6 route add default via $BR_GW dev eth0
fi
for i in \$(seq 50); do ip -6 addr show dev eth0 scope global | grep -q tentative || break; sleep 0.1; done
[ -n "\$ADDR" ] && ping -c1 -W2 $BR_GW
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
cl image import "$D/image.tar.gz" --alias ndpsync-busybox >/dev/null || fail "image import failed"
ok "$CLIENT image import made ndpsync-busybox"
# Privileged: an unprivileged instance needs root's subuid/subgid ranges on the machine, which
# this test does not change; networking is the same.
cl init ndpsync-busybox "$CT" -n "$BRIDGE" -c security.privileged=true -c environment.ADDR="$CT_ADDR" \
    >/dev/null 2>"$D/init.err" || fail "init failed: $(cat "$D/init.err")"
if ! cl start "$CT" >"$D/start.out" 2>&1; then
    skip "start failed here: $(tr '\n' ' ' <"$D/start.out") $(cl info --show-log "$CT" 2>&1 | grep -E 'ERROR' | tail -n 3 | tr '\n' ' ')"
fi
ok "instance $CT is $(cl list "$CT" -c s -f csv)"
t0=$(_now_us)
wait_for 10 owned_has "$CT_ADDR" || afail "the agent did not proxy $CT_ADDR within 10 s of the start"
ok "$CT_ADDR proxied ($(elapsed_ms "$t0") ms after start returned)"
expect_eq "status lists $CT_ADDR on $BRIDGE (neighbour)" "$BRIDGE neighbour" \
    "$(status_q ".entries[] | select(.address == \"$CT_ADDR\") | \"\(.interface) \(.source)\"")"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT_ADDR" || afail "the router cannot ping $CT_ADDR"
ok "the router pings the instance at $CT_ADDR"
# http_answers ADDR: the router fetches from ADDR's httpd (a 404 is an answer).
http_answers() {
    ip netns exec "$LAB_R" busybox nc -w 3 "$1" 80 <<<$'GET / HTTP/1.0\r\n\r\n' >"$D/http.out" 2>&1 &&
        grep '^HTTP/1' "$D/http.out" >/dev/null
}
# The instance's init starts httpd once its ping is answered: the router may ask a moment before.
if wait_for 5 http_answers "$CT_ADDR"; then
    ok "the router reaches the instance's httpd: $(head -n1 "$D/http.out" | tr -d '\r')"
else
    afail "no HTTP answer from [$CT_ADDR]:80: $(head -c 200 "$D/http.out")"
fi
hold_for 3 host_has_default || afail "the host lost its default route ($HOLD_BROKE_MS ms into the hold)"
ok "the host's RA default route held for 3 s ($HOLD_SAMPLES samples)"

# ---------------------------------------------------------------------------------------------
section "4. routed NICs: with parent=eth0 (the engine adds an entry too), and without"
# The engine refuses a routed NIC unless all.forwarding, all.proxy_ndp and the parent's
# forwarding and proxy_ndp are 1: the agent has set the proxy_ndp keys, forwarding is on.
INSTANCES+=(r1 r2)
# The recipe's command for each (the default profile has no NIC here).
for c in r1 r2; do
    cl init ndpsync-busybox "$c" -c security.privileged=true >/dev/null 2>"$D/init.err" ||
        fail "init $c failed: $(cat "$D/init.err")"
done
cl config device add r1 eth0 nic nictype=routed parent=eth0 ipv6.address="$ROUTED_PARENT" \
    >/dev/null 2>"$D/dev.err" || fail "routed NIC (parent=eth0) refused: $(cat "$D/dev.err")"
cl config device add r2 eth0 nic nictype=routed ipv6.address="$ROUTED_PLAIN" \
    >/dev/null 2>"$D/dev.err" || fail "routed NIC (no parent) refused: $(cat "$D/dev.err")"
for c in r1 r2; do
    cl start "$c" >"$D/start.out" 2>&1 || fail "start $c failed: $(tr '\n' ' ' <"$D/start.out")"
done
ok "r1 (routed, parent=eth0, $ROUTED_PARENT) and r2 (routed, $ROUTED_PLAIN) are running"
# With parent=, the engine runs `ip neigh add proxy` just after it adds the /128 route. The agent
# claims from the route first (within a millisecond), and the kernel's add of a proxy entry that
# exists changes nothing: one entry, the agent's tag, both believing it theirs
# (docs/recipes/incus-lxd.md says what follows, and how to keep routed NICs out of ndpsync).
parent_entry() { ip -n "$LAB_H" -6 neigh show proxy dev eth0 | grep -E "^$ROUTED_PARENT "; }
wait_for 5 parent_entry || afail "no proxy entry for $ROUTED_PARENT (routed NIC with parent=eth0)"
log "the entry for $ROUTED_PARENT: $(parent_entry)"
expect_eq "proxy entries for $ROUTED_PARENT on eth0" 1 "$(parent_entry | wc -l)"
wait_for 5 owned_has "$ROUTED_PLAIN" || afail "the agent did not mirror r2's /128 route ($ROUTED_PLAIN)"
expect_eq "status lists $ROUTED_PLAIN (route)" "route" \
    "$(status_q ".entries[] | select(.address == \"$ROUTED_PLAIN\") | .source")"
for a in "$ROUTED_PARENT" "$ROUTED_PLAIN"; do
    wait_for 5 http_answers "$a" || afail "the router cannot reach [$a]:80: $(head -c 200 "$D/http.out")"
    ok "the router reaches the routed instance's httpd at $a"
done

# ---------------------------------------------------------------------------------------------
section "5. delete -f: the instances' entries go, the bridge's stays"
cl delete -f "$CT" r2 >/dev/null || fail "delete -f $CT r2 failed"
wait_holding $((LIVENESS + 4)) 'owned_lacks "$CT_ADDR" && owned_lacks "$ROUTED_PLAIN"' \
    'owned_has "$BR_GW"' && rc=0 || rc=$?
case $rc in
    1) afail "$CT_ADDR or $ROUTED_PLAIN still proxied $WAIT_MS ms after delete -f" ;;
    2) afail "$BR_GW lost its entry while $CT_ADDR was being withdrawn ($WAIT_MS ms)" ;;
esac
ok "$CT_ADDR and $ROUTED_PLAIN withdrawn $WAIT_MS ms after delete -f; $BR_GW kept"
cl delete -f r1 >/dev/null || fail "delete -f r1 failed"
parent_entry_gone() { ! parent_entry; }
wait_for 5 parent_entry_gone || afail "the entry for $ROUTED_PARENT outlived its instance"
ok "the entry for $ROUTED_PARENT went with its instance"
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"

# ---------------------------------------------------------------------------------------------
trap - EXIT
cleanup_all || exit 1
ok "nothing of $ENGINE's left in the root namespace or on the machine; lab removed"
echo "PASS: test_recipe_incus_lxd, $ENGINE ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
