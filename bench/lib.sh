# shellcheck shell=bash
# shellcheck disable=SC2034,SC2016  # variables here are for bench/run.sh; literal $ in sh -c
# bench/lib.sh — the benchmark's additions to the project's namespace lab (test/lab/lab.sh via
# test/lab/agent.sh): the router ns with radvd, the host ns with uplink eth0, c1 on a veth and
# c2, c3 on the bridge br0. Everything happens in those namespaces; lab_down removes them.
#
# Bulk "containers" are permanent neighbour entries on br0 (exempt from the global gc limits),
# added with `ip -batch`. Address plan inside the lab's /64 (2001:db8:0:1::/64):
#   2001:db8:0:1:0:3::/96   burst and scale containers (…:0:3:0:1 upwards)
#   2001:db8:0:1:0:5::/96   single-change latency samples

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lab/agent.sh
source "$BENCH_DIR/../test/lab/agent.sh"

BULK_PREFIX=$LAB_P:0:3::/96
SINGLE_BASE=$LAB_P:0:5::
SINGLE_PREFIX=$LAB_P:0:5::/96
NDPBENCH=""          # compiled by bench_build
BENCH_CONF=""        # agent config with raised caps
PEER_PIDS=()

# bulk_addr I: the I-th bulk address (I >= 1).
bulk_addr() {
    printf '%s:0:3:%x:%x\n' "$LAB_P" $(($1 >> 16)) $(($1 & 0xffff))
}

# gen_batches N FROM: write $LAB_DIR/bulk_FROM_N.{nadd,ndel,padd,pdel} for bulk addresses
# FROM..FROM+N-1 (neighbours on br0 with distinct MACs; proxy entries on eth0). Prints the stem.
gen_batches() {
    local n=$1 from=${2:-1} stem
    stem=$LAB_DIR/bulk_${from}_$n
    if [[ ! -f $stem.nadd ]]; then
        awk -v n="$n" -v from="$from" -v p="$LAB_P" -v stem="$stem" 'BEGIN {
            for (i = from; i < from + n; i++) {
                a = sprintf("%s:0:3:%x:%x", p, int(i / 65536), i % 65536)
                printf "neigh add %s lladdr 02:00:%02x:%02x:%02x:%02x dev br0 nud permanent\n", a,
                    int(i / 16777216) % 256, int(i / 65536) % 256, int(i / 256) % 256, i % 256 > (stem ".nadd")
                printf "neigh del %s dev br0\n", a > (stem ".ndel")
                printf "neigh add proxy %s dev eth0\n", a > (stem ".padd")
                printf "neigh del proxy %s dev eth0\n", a > (stem ".pdel")
            }
        }'
    fi
    echo "$stem"
}

# ipb FILE: run an iproute2 batch in the host namespace; every line must succeed. (Deletions
# go through purge_range instead: with -force, iproute2 6.1 silently skips every command after
# the first one that failed.)
ipb() {
    ip -6 -n "$LAB_H" -batch "$1" >/dev/null 2>"$LAB_DIR/ipb.err" ||
        fail "ip -batch $1 failed: $(head -n 3 "$LAB_DIR/ipb.err")"
}

# purge_range PREFIX: delete every neighbour on br0 and every proxy entry (any owner) whose
# address starts with PREFIX (text, e.g. "2001:db8:0:1:0:3:"), exactly those that exist.
purge_range() {
    local f=$LAB_DIR/purge.batch
    ip -n "$LAB_H" -6 neigh show dev br0 |
        awk -v p="$1" 'index($1, p) == 1 { print "neigh del " $1 " dev br0" }' >"$f"
    [[ -s $f ]] && ipb "$f"
    ip -n "$LAB_H" -6 neigh show proxy |
        awk -v p="$1" 'index($1, p) == 1 { print "neigh del proxy " $1 " dev " $3 }' >"$f"
    [[ -s $f ]] && ipb "$f"
    rm -f "$f"
}
purge_bulk() { purge_range "$LAB_P:0:3:"; }
purge_bulk_proxies() {   # only the proxy entries of the bulk range
    local f=$LAB_DIR/purge.batch
    ip -n "$LAB_H" -6 neigh show proxy |
        awk -v p="$LAB_P:0:3:" 'index($1, p) == 1 { print "neigh del proxy " $1 " dev " $3 }' >"$f"
    [[ -s $f ]] && ipb "$f"
    rm -f "$f"
}

# nb ARGS...: ndpbench inside the host namespace.
nb_h() { ip netns exec "$LAB_H" "$NDPBENCH" "$@"; }
nb_r() { ip netns exec "$LAB_R" "$NDPBENCH" "$@"; }

# bulk_count [PROTO]: proxy entries in the bulk range (with owner PROTO when given).
bulk_count() {
    nb_h count --prefix "$BULK_PREFIX" ${1:+--proto "$1"} | jq .count
}
owned_count_all() { nb_h count --proto "$LAB_OWNER_PROTO" | jq .count; }

# bench_build: compile ndpbench.c into $1 (a directory).
bench_build() {
    mkdir -p "$1"
    NDPBENCH=$1/ndpbench
    cc -O2 -Wall -Wextra -o "$NDPBENCH" "$BENCH_DIR/ndpbench.c" || fail "cannot compile ndpbench.c"
}

# ---------------------------------------------------------------------------------------------
# The agent under test: warn-level logging (info logs one line per entry change), raised caps.

bench_conf() {   # bench_conf FILE [EXTRA_JSON_MEMBERS]
    local extra=${2:+, $2}
    echo "{\"max_entries\": 100000, \"max_entries_per_interface\": 100000$extra}" >"$1"
}

bench_agent_start() {   # bench_agent_start CONFIG ARGS...
    local conf=$1
    shift
    AGENT_SOCK=$LAB_DIR/agent.sock
    AGENT_LOG=$LAB_DIR/agent.log
    rm -f "$AGENT_SOCK"
    # The phases before may have pushed the containers' neighbour entries out (bulk entries,
    # random floods): silent containers are found only when the router asks, and the callers
    # wait for all five entries at once.
    lab_touch_containers
    ip netns exec "$LAB_H" "$NDPSYNC" run --status-socket "$AGENT_SOCK" --config "$conf" \
        --log-level warn "$@" >>"$AGENT_LOG" 2>&1 &
    AGENT_PID=$!
    lab_bg "$AGENT_PID"
    wait_for 10 _agent_answers || afail "agent ($*) did not answer within 10 s"
}

bench_agent_stop() {
    [[ -n ${AGENT_PID:-} ]] || return 0
    kill -TERM "$AGENT_PID" 2>/dev/null || true
    wait_for 10 _agent_gone || kill -KILL "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID" 2>/dev/null || true
    AGENT_PID=""
}

# wait_owned N TIMEOUT: until N entries carry our owner tag (all of them, lab ones included).
_owned_at_least() { (($(owned_count_all) >= $1)); }
wait_owned() { wait_for "$2" _owned_at_least "$1"; }
_bulk_owned_at_least() { (($(bulk_count "$LAB_OWNER_PROTO") >= $1)); }
wait_bulk_owned() { wait_for "$2" _bulk_owned_at_least "$1"; }

# remove_owned_entries: delete every proxy entry carrying our tag (agent stopped).
remove_owned_entries() {
    local f=$LAB_DIR/owned.pdel
    ip -n "$LAB_H" -6 neigh show proxy |
        awk -v p="proto $LAB_OWNER_PROTO" 'index($0, p) { print "neigh del proxy " $1 " dev " $3 }' >"$f"
    [[ -s $f ]] && ipb "$f"
    rm -f "$f"
    return 0
}

# host_sysctls_like_ndpsync: the kernel settings ndpsync makes, by hand (for the bare-kernel row).
host_sysctls_like_ndpsync() {
    ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=2 \
        net.ipv6.conf.all.proxy_ndp=1 net.ipv6.conf.eth0.proxy_ndp=1 \
        net.ipv6.conf.all.forwarding=1 net.ipv6.neigh.eth0.proxy_delay=0
}

# proc_json PID: one /proc snapshot (CPU, context switches, RSS).
proc_json() { "$LAB_PYTHON" "$BENCH_DIR/helpers.py" proc "$1"; }

# peer_start NAME CMD...: a peer daemon in the host namespace (foreground), logged to
# $LAB_DIR/NAME.log; sets PEER_PID. `ip netns exec` execs in place, so $! is the daemon.
peer_start() {
    local name=$1
    shift
    ip netns exec "$LAB_H" "$@" >"$LAB_DIR/$name.log" 2>&1 &
    PEER_PID=$!
    PEER_PIDS+=("$PEER_PID")
    lab_bg "$PEER_PID"
}
peer_stop() {
    [[ -n ${PEER_PID:-} ]] || return 0
    _kill_pid "$PEER_PID"
    PEER_PID=""
}

# ns_answers TARGET: one multicast NS from the router is answered.
ns_answers() {
    nb_r ns-probe --iface wan --source "$LAB_ROUTER" --target "$1" --count 1 --timeout-ms 300 >/dev/null
}

# quiet_lab: the lab's containers and the host keep re-probing each other (the lab sets a 2 s
# base reachable time), a neighbour event every few seconds. For the idle and resync windows
# make their entries stay REACHABLE for an hour instead, so any wakeup left is the agent's own.
quiet_lab() {
    local ns
    ip netns exec "$LAB_H" sysctl -qw net.ipv6.neigh.vc1.base_reachable_time_ms=3600000 \
        net.ipv6.neigh.br0.base_reachable_time_ms=3600000 net.ipv6.neigh.eth0.base_reachable_time_ms=3600000
    for ns in "$LAB_C1" "$LAB_C2" "$LAB_C3" "$LAB_R"; do
        ip netns exec "$ns" sh -c 'for f in /proc/sys/net/ipv6/neigh/*/base_reachable_time_ms; do echo 3600000 >"$f"; done'
    done
}
_lab_neigh_settled() {
    ! ip -n "$LAB_H" -6 neigh show | grep -Eq 'DELAY|PROBE|INCOMPLETE'
}
# single_cleanup: remove the single-change samples (neighbours and entries; agent stopped).
single_cleanup() { purge_range "$LAB_P:0:5:"; }
# wait_quiet PID SECONDS TIMEOUT: until the process has used no CPU for SECONDS (0.2 s samples of
# /proc/PID/schedstat); returns 1 after TIMEOUT seconds.
wait_quiet() {
    local pid=$1 need=$2 timeout=$3 last="" now quiet=0 t=0 step=0.2
    while (($(awk -v t="$t" -v to="$timeout" 'BEGIN { print (t < to) }'))); do
        read -r now _ <"/proc/$pid/schedstat" || return 1
        if [[ $now == "$last" ]]; then
            quiet=$(awk -v q="$quiet" -v s="$step" 'BEGIN { print q + s }')
            (($(awk -v q="$quiet" -v n="$need" 'BEGIN { print (q >= n) }'))) && return 0
        else
            quiet=0
        fi
        last=$now
        sleep "$step"
        t=$(awk -v t="$t" -v s="$step" 'BEGIN { print t + s }')
    done
    return 1
}

# stats helpers for the table printed while running (the report recomputes everything).
median_of() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
