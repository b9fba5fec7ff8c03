#!/usr/bin/env bash
# bench/silent.sh — the router's first ping to a container that has never sent anything (a
# `nodad` address, no router solicitations), with ndpsync's on-demand discovery and with ndppd's
# `static`, `iface` and `auto` rules, in one namespace lab: each system gets REPS fresh addresses
# (default 20), each pinged once by the router after flushing its neighbour cache (ping -W 3).
# Prints one line per system: median, min and max of the echo round trips and how many were lost,
# and writes the raw figures to OUT (default /tmp/ndpsync-silent.jsonl).
#
#   sudo bench/silent.sh [REPS] [OUT]
#
# Needs root and ndppd (its rows are skipped without it); builds and removes its own lab
# (test/lab/lab.sh), nothing outside it.
set -euo pipefail
REPS=${1:-20}
OUT=${2:-/tmp/ndpsync-silent.jsonl}
LAB=${LAB:-nbs$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../test/lab/agent.sh"
skip_unless_root
trap lab_down EXIT
lab_up
: >"$OUT"

# The silent container, on br0: no router solicitations, no DAD (the lab turns DAD off).
CS=${LAB}cs
LAB_NAMESPACES+=("$CS")
_ns_init "$CS"
ip netns exec "$CS" sysctl -qw net.ipv6.conf.default.router_solicitations=0
ip -n "$LAB_H" link add name vbs type veth peer name eth0 netns "$CS"
ip -n "$LAB_H" link set vbs master br0 up
ip -n "$CS" link set eth0 up
ip -n "$CS" -6 route add default via "$LAB_BR0" dev eth0 onlink

N=0
# first_pings SYSTEM: REPS fresh addresses, each pinged once by the router.
first_pings() {
    local sys=$1 rep addr out ms
    for ((rep = 1; rep <= REPS; rep++)); do
        N=$((N + 1))
        addr=$(printf '%s::2:%x' "$LAB_P" $((0x1000 + N)))
        ip -n "$CS" addr add "$addr/112" dev eth0 nodad
        ip -n "$LAB_R" -6 neigh flush dev wan
        out=$(ip netns exec "$LAB_R" ping -6 -c1 -W3 -n "$addr" 2>&1 || true)
        ms=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' <<<"$out")
        jq -cn --arg s "$sys" --arg ms "$ms" '{system: $s, ms: (if $ms == "" then null else ($ms | tonumber) end)}' >>"$OUT"
        ip -n "$CS" addr del "$addr/112" dev eth0
    done
    ip -n "$LAB_H" -6 neigh flush dev br0 nud failed 2>/dev/null || true
    jq -rs --arg s "$sys" '[.[] | select(.system == $s)] as $r | ($r | map(.ms | select(. != null)) | sort) as $v |
        "\($s): first ping median \(if ($v | length) > 0 then $v[($v | length - 1) / 2 | floor] else "-" end) ms, min \($v[0] // "-"), max \($v[-1] // "-"), lost \($r | map(select(.ms == null)) | length) of \($r | length)"' "$OUT"
}

agent_start bench
wait_for 5 owned_has "$LAB_CT2" || afail "the agent did not proxy the lab"
first_pings ndpsync
agent_stop_term 3
# The peers answer themselves: no entry of ours may answer meanwhile.
ip -n "$LAB_H" -6 neigh show proxy | awk -v p="proto $LAB_OWNER_PROTO" 'index($0, p) { print "neigh del proxy " $1 " dev " $3 }' >"$LAB_DIR/del"
[[ -s $LAB_DIR/del ]] && ip -n "$LAB_H" -6 -batch "$LAB_DIR/del"
if command -v ndppd >/dev/null; then
    for rule in static "iface br0" auto; do
        sys="ndppd-${rule%% *}"
        printf 'proxy eth0 {\n    router no\n    rule %s {\n        %s\n    }\n}\n' "$LAB_PREFIX" "$rule" >"$LAB_DIR/ndppd.conf"
        ip netns exec "$LAB_H" ndppd -c "$LAB_DIR/ndppd.conf" >"$LAB_DIR/ndppd.log" 2>&1 &
        pid=$!
        lab_bg "$pid"
        # Ready once it answers for a container that has spoken (c2).
        wait_for 5 probe_r --target "$LAB_CT2" --timeout 0.3 || fail "$sys does not answer for $LAB_CT2"
        first_pings "$sys"
        _kill_pid "$pid"
    done
else
    echo "ndppd not installed: its rows skipped"
fi
