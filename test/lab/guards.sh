# shellcheck shell=bash
# test/lab/guards.sh — helpers for test_guards.sh, test_bad_input.sh and test_status_socket.sh,
# on top of test/lab/lab.sh (and test/lab/agent.sh).
#
#   learn_plain_uplink_neighbour ADDR
#       ADDR becomes an address of the router's wan, and the host learns it on eth0 as a plain
#       (non-router) neighbour, i.e. "another node on the uplink". A router answers NS with the
#       Router flag while its interface forwards, so wan.forwarding is 0 for that one exchange.
#   flood_container NS BASE START N GW
#       container NS takes N addresses BASE<hex(START+i)>/112 (i = 0..N-1) on its eth0 and sends
#       one ICMPv6 echo request from each to GW, so the host learns N neighbours on its side.

_uplink_neigh_plain() {   # ADDR: present on the host's eth0, without the router flag
    local line
    line=$(ip -n "$LAB_H" -6 neigh show "$1" dev eth0)
    grep -Eq 'REACHABLE|STALE|DELAY|PROBE' <<<"$line" && ! grep -qw router <<<"$line"
}

learn_plain_uplink_neighbour() {
    local addr=$1
    ip -n "$LAB_R" -6 addr show dev wan | grep "inet6 $addr/" >/dev/null ||
        ip -n "$LAB_R" addr add "$addr/64" dev wan nodad
    ip -n "$LAB_H" -6 neigh del "$addr" dev eth0 2>/dev/null || true
    ip netns exec "$LAB_R" sysctl -qw "net.ipv6.conf.wan.forwarding=0"
    local rc=0
    wait_for 10 ip netns exec "$LAB_H" ping -6 -c1 -W1 -n "$addr" || rc=$?
    ip netns exec "$LAB_R" sysctl -qw "net.ipv6.conf.wan.forwarding=1"
    [[ $rc -eq 0 ]] || fail "host cannot ping $addr on the router"
    _uplink_neigh_plain "$addr" ||
        fail "host's entry for $addr is not a plain present neighbour: $(ip -n "$LAB_H" -6 neigh show "$addr" dev eth0)"
    # An RA sent in that moment may have carried router lifetime 0; the next one restores it.
    wait_for 15 _host_has_ra_default || fail "host lost its RA default route"
}

flood_container() {
    local ns=$1 base=$2 start=$3 n=$4 gw=$5 i batch
    batch=$(mktemp "$LAB_DIR/flood.XXXXXX")
    for ((i = 0; i < n; i++)); do
        printf 'addr add %s%x/112 dev eth0 nodad\n' "$base" $((start + i))
    done >"$batch"
    ip -n "$ns" -batch "$batch"
    rm -f "$batch"
    ip netns exec "$ns" "$LAB_PYTHON" - "$base" "$start" "$n" "$gw" <<'PY'
import socket, struct, sys
base, start, n, gw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for i in range(n):
    src = "%s%x" % (base, start + i)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.bind((src, 0))
    # type 128 echo request; the kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets
    s.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4e44, i), (gw, 0))
    s.close()
PY
}
