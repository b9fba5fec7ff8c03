#!/usr/bin/env bash
# Integration test of the agent with a real LXC container (Debian's lxc, busybox template) on the
# standard lab's bridge br0:
#   * the container is created in a private lxcpath under the lab's temp dir and started with
#     `ip netns exec HOSTNS lxc-start`, so its host-side veth lands in the lab's host namespace,
#     enslaved to br0; it configures 2001:db8:0:1::2:50/112 (gateway ::2:1) from its LXC config;
#   * once it pings its gateway, the agent proxies it and the router can ping it;
#   * `lxc-stop` takes the container (and its veth) away: the entry is withdrawn within the
#     liveness timeout + slack, while the other containers keep theirs.
#
# LXC's command socket is an abstract Unix socket, which lives in a network namespace: every
# lxc-* command that talks to the running container (lxc-wait, lxc-info, lxc-attach, lxc-stop)
# runs in the host namespace too.
#
# Needs root, lxc and busybox; exits 77 (skipped) otherwise, or when LXC cannot start containers
# here (the reason is printed). Runs in ~15-20 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_agent_lxc.sh
# shellcheck disable=SC2016,SC2119  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-nlx$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root

skip() {
    echo "SKIP: $*"
    exit 77
}
for tool in lxc-create lxc-start lxc-stop lxc-destroy lxc-attach lxc-wait lxc-info; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (apt-get install lxc)"
done
[[ -f /usr/share/lxc/templates/lxc-busybox ]] ||
    skip "LXC's busybox template not found (/usr/share/lxc/templates/lxc-busybox; apt-get install lxc-templates)"
command -v busybox >/dev/null 2>&1 || skip "busybox not found (apt-get install busybox-static)"

CT=${LAB}x                 # container name
CT_VETH=${LAB}v            # its host-side veth (IFNAMSIZ-safe: <= 15 characters)
CT_ADDR=$LAB_P::2:50
LXCPATH=""                 # set once the lab's temp dir exists
LIVENESS=5
WITHDRAW_LIMIT=$((LIVENESS + 4))

# lxc_h CMD ARGS...: an lxc-* command for our container, run in the host namespace.
lxc_h() {
    local cmd=$1
    shift
    ip netns exec "$LAB_H" "$cmd" -P "$LXCPATH" -n "$CT" "$@"
}

lxc_cleanup() {
    if [[ -n $LXCPATH && -d $LXCPATH/$CT ]]; then
        if ip netns list | grep -w "$LAB_H" >/dev/null; then
            lxc_h lxc-stop -k >/dev/null 2>&1 || true
        fi
        lxc-destroy -P "$LXCPATH" -n "$CT" -f >/dev/null 2>&1 ||
            echo "# warning: lxc-destroy -P $LXCPATH -n $CT failed" >&2
    fi
}
cleanup() {
    lxc_cleanup
    lab_down
}
trap cleanup EXIT

T_START=$(_now_us)
lab_up
LXCPATH=$LAB_DIR/lxc
mkdir -p "$LXCPATH"
ALL5=$(lab_expected_minus)

# ---------------------------------------------------------------------------------------------
section "0. agent up"
agent_start a1 --liveness-timeout "$LIVENESS" --resync-interval 60
wait_for 3 owned_is "$ALL5" ||
    afail "owned entries after start: expected"$'\n'"$ALL5"$'\n'"got:"$'\n'"$(owned_set)"
ok "the five lab addresses are proxied"

# ---------------------------------------------------------------------------------------------
section "1. create the busybox container $CT in $LXCPATH"
cat >"$LAB_DIR/lxc.conf" <<EOF
lxc.net.0.type = veth
lxc.net.0.link = br0
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.veth.pair = $CT_VETH
lxc.net.0.ipv6.address = $CT_ADDR/112
lxc.net.0.ipv6.gateway = $LAB_BR0
lxc.apparmor.profile = unconfined
EOF
if ! lxc-create -P "$LXCPATH" -n "$CT" -t busybox -f "$LAB_DIR/lxc.conf" \
    -l INFO -o "$LAB_DIR/lxc-create.log" >"$LAB_DIR/lxc-create.out" 2>&1; then
    skip "lxc-create -t busybox failed here: $(tail -n 5 "$LAB_DIR/lxc-create.out" | tr '\n' ' ')"
fi
ok "lxc-create -t busybox made $CT"
# The template's rcS runs udhcpc, whose "deconfig" hook flushes every address on eth0 (IPv6 too)
# right after LXC set ours: keep the container's network as LXC configured it.
RCS=$LXCPATH/$CT/rootfs/etc/init.d/rcS
[[ -f $RCS ]] || fail "the busybox template wrote no $RCS"
sed -i '/udhcpc/d' "$RCS"
ok "udhcpc removed from the container's rcS (its deconfig would flush the static address)"

# ---------------------------------------------------------------------------------------------
section "2. start it in the host namespace; it reaches its gateway; the agent proxies it"
if ! lxc_h lxc-start -d -l INFO -o "$LAB_DIR/lxc-start.log" >"$LAB_DIR/lxc-start.out" 2>&1; then
    skip "lxc-start failed here: $(tail -n 3 "$LAB_DIR/lxc-start.out" | tr '\n' ' ') $(grep -E 'ERROR' "$LAB_DIR/lxc-start.log" 2>/dev/null | tail -n 3 | tr '\n' ' ')"
fi
if ! lxc_h lxc-wait -s RUNNING -t 10 >/dev/null 2>&1; then
    skip "container did not reach RUNNING: $(grep -E 'ERROR' "$LAB_DIR/lxc-start.log" 2>/dev/null | tail -n 5 | tr '\n' ' ')"
fi
ok "$CT is RUNNING (init pid $(lxc_h lxc-info -p -H))"
expect_eq "its host-side veth $CT_VETH is a port of br0 in the host namespace" "br0" \
    "$(ip -n "$LAB_H" -j link show dev "$CT_VETH" | jq -r '.[0].master // empty')"
ct_has_addr() { lxc_h lxc-attach -- ip -6 addr show dev eth0 | grep "inet6 $CT_ADDR/112" >/dev/null; }
wait_for 5 ct_has_addr ||
    fail "the container has no $CT_ADDR/112 on eth0: $(lxc_h lxc-attach -- ip addr 2>&1 | tr '\n' ' ')"
ok "the container has $CT_ADDR/112 (from its LXC config)"
# From its own address: while DAD (accept_dad=1 in the container's fresh namespace) holds it
# tentative for ~1 s, a plain ping would leave from the link-local address, and the host would
# learn only that.
ct_ping_gw() { lxc_h lxc-attach -- ping -6 -c1 -W1 -I "$CT_ADDR" "$LAB_BR0"; }
wait_for 10 ct_ping_gw || fail "the container cannot ping its gateway $LAB_BR0"
t0=$(_now_us)
ok "the container pings its gateway $LAB_BR0 (lxc-attach)"
wait_for 2 owned_has "$CT_ADDR" || afail "the agent did not proxy $CT_ADDR within 2 s of its ping"
ok "$CT_ADDR proxied $(elapsed_ms "$t0") ms after the ping"
expect_eq "status lists $CT_ADDR on br0 (neighbour)" "br0 neighbour" \
    "$(status_q ".entries[] | select(.address == \"$CT_ADDR\") | \"\(.interface) \(.source)\"")"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT_ADDR" || afail "the router cannot ping $CT_ADDR"
ok "the router pings the LXC container at $CT_ADDR"

# ---------------------------------------------------------------------------------------------
section "3. lxc-stop: $CT_ADDR withdrawn, the others keep theirs"
t0=$(_now_us)
lxc_h lxc-stop -t 10 >"$LAB_DIR/lxc-stop.out" 2>&1 ||
    fail "lxc-stop failed: $(cat "$LAB_DIR/lxc-stop.out")"
log "lxc-stop took $(elapsed_ms "$t0") ms"
expect_eq "container state" "STOPPED" "$(lxc_h lxc-info -s -H)"
veth_gone() { ! ip -n "$LAB_H" link show dev "$CT_VETH" >/dev/null 2>&1; }
wait_for 3 veth_gone || fail "$CT_VETH still exists after lxc-stop"
t1=$(_now_us)
ok "$CT_VETH is gone from the host namespace ($(((t1 - t0) / 1000)) ms after lxc-stop began)"
# One read of the table per sample: reading it twice races the withdrawal itself.
others_kept() {
    local now
    now=$(owned_set)
    [[ $now == "$ALL5" || $now == "$(printf '%s\n' "$ALL5" "$CT_ADDR" | sort)" ]]
}
wait_holding "$WITHDRAW_LIMIT" 'owned_lacks "$CT_ADDR"' others_kept && rc=0 || rc=$?
case $rc in
    1) afail "$CT_ADDR still proxied $WAIT_MS ms after its veth went away (neighbour: '$(neigh_state br0 "$CT_ADDR")')" ;;
    2) afail "another container lost its entry while $CT_ADDR was being withdrawn ($WAIT_MS ms): $(owned_set | tr '\n' ' ')" ;;
esac
ok "$CT_ADDR withdrawn $(elapsed_ms "$t1") ms after its veth went away (limit $WITHDRAW_LIMIT s); the five lab entries kept on all $HOLD_SAMPLES samples"
echo "# TIME: lxc-stop -> withdrawal: $(elapsed_ms "$t0") ms; veth gone -> withdrawal: $(elapsed_ms "$t1") ms"
expect_eq "owned set is the five lab entries" "$ALL5" "$(owned_set)"
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"

# ---------------------------------------------------------------------------------------------
section "4. lxc-destroy"
lxc-destroy -P "$LXCPATH" -n "$CT" >"$LAB_DIR/lxc-destroy.out" 2>&1 ||
    fail "lxc-destroy failed: $(cat "$LAB_DIR/lxc-destroy.out")"
[[ ! -d $LXCPATH/$CT ]] || fail "$LXCPATH/$CT still exists after lxc-destroy"
ok "container destroyed"

# ---------------------------------------------------------------------------------------------
trap lab_down EXIT
lab_down
echo "PASS: test_agent_lxc ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
