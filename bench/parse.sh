#!/usr/bin/env bash
# bench/parse.sh — runs bench_parse (raw vs libnl-route-3 parsing, per message type) in a
# network namespace of its own holding links, addresses, neighbours, routes and proxy entries
# like a container host's. Root only (exit 77 otherwise); the namespace is deleted on exit.
#   bench/parse.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-2000}
if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: bench/parse.sh needs root to create a network namespace" >&2
    exit 77
fi
ns=ndpsync-parse-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip netns add "$ns"
in_ns() { ip -n "$ns" "$@"; }
in_ns link set lo up
in_ns link add eth0 type veth peer name wan
in_ns link add br0 type bridge
for i in 1 2 3 4; do
    in_ns link add "vb$i" type veth peer name "c$i"
    in_ns link set "vb$i" master br0 up
done
for dev in eth0 wan br0; do in_ns link set "$dev" up; done
in_ns -6 addr add 2001:db8:0:1::2/64 dev eth0 nodad
in_ns -6 addr add 2001:db8:0:1::2:1/112 dev br0 nodad
in_ns -6 route add default via fe80::1 dev eth0 proto ra
in_ns -6 route add 2001:db8:0:2::/64 dev br0
for i in $(seq 2 41); do
    in_ns -6 neigh add "2001:db8:0:1::2:$(printf %x "$i")" lladdr "02:00:00:00:02:$(printf %02x "$i")" \
        dev br0 nud reachable
    in_ns -6 neigh add proxy "2001:db8:0:1::2:$(printf %x "$i")" dev eth0 protocol 176
done
ip netns exec "$ns" "$build/test/bench_parse" "$rounds"
