#!/usr/bin/env bash
# shellcheck disable=SC2016  # jq programs are single-quoted on purpose
# bench/run.sh — ndpsync's benchmarks, measured side by side with the kernel's limit and the
# peers (ndppd, npd6) in one namespace lab built for the run and removed afterwards.
#
#   sudo bench/run.sh [--quick] [--out DIR] [--only PHASE,...]
#   sudo bench/run.sh --soak [--quick] [--out DIR]   the churn soak instead (bench/soak.sh)
#   sudo bench/run.sh --kernel 6.1|6.12 [--out DIR]
#
#   --quick   CI mode: small sizes, ~1.5 min; prints the figures, asserts no thresholds (exit 0
#             unless the harness itself breaks).
#   --out     where results.json, benchmarks.md, the PNG plots and the raw data go
#             (default /tmp/ndpsync-bench). A full run also writes docs/benchmarks.md and
#             docs/bench/*.png.
#   --only    run some phases only: burst, single, ns, first, scale (for development; never
#             writes docs/).
#   --kernel  run in a qemu guest on Debian's 6.1 or 6.12 kernel (test/vm/run.sh): first contact,
#             NS latency (ndpsync and a bare kernel entry) and the burst at 1,000, each against
#             the kernel's own limit measured in the same guest; prints a table of ratios
#             (default --out build/bench-kernel-K inside the checkout, which the guest shares).
#
# Phases (see docs/benchmarks.md for what each measures and how):
#   burst   N permanent neighbours appear at once (ip -batch); time until all are proxied by
#           the running agent, against ip -batch adding the neighbours and the proxies directly.
#   single  single changes: kernel neighbour event -> proxy entry installed (netlink monitor).
#   ns      NS answer latency at the router (tcpdump on its wan), then multicast-NS floods:
#           ndpsync, a bare kernel entry, ndppd (static, iface, auto), npd6.
#   first   the router's first ping to a container after flushing its neighbour cache, with
#           proxy_delay 0 (ndpsync's default) and the kernel's default 0.8 s.
#   scale   RSS at 0/1,000/10,000 entries, idle wakeups and CPU at 5,000, periodic resync and
#           one-shot reconcile CPU at 10,000, forwarding throughput with 0 and 10,000 entries.
#
# Needs root, iproute2, radvd, jq, tcpdump, cc, gnuplot (gnuplot-nox), Debian's python3, and
# a built ndpsync (build/ndpsync, or NDPSYNC=...). ndppd and npd6 are optional (rows skipped
# without them). Nothing outside the lab's namespaces is touched.
set -euo pipefail

if [[ " $* " == *" --soak "* ]]; then
    args=()
    for a in "$@"; do [[ $a == --soak ]] || args+=("$a"); done
    exec "$(dirname "$0")/soak.sh" "${args[@]}"
fi

QUICK=0
OUT=/tmp/ndpsync-bench
OUT_GIVEN=0
ONLY=""
KERNEL=""
while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) QUICK=1 ;;
    --kernel) KERNEL=$2; shift ;;
    --out) OUT=$2; OUT_GIVEN=1; shift ;;
    --only) ONLY=$2; shift ;;
    -h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

LAB=${LAB:-nb$$}
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
REPO=$LAB_REPO

# --kernel on the machine: build the helper here (a compile in the guest takes minutes), then run
# this script again inside the guest, where VM_KERNEL is set.
if [[ -n $KERNEL && -z ${VM_KERNEL:-} ]]; then
    [[ $OUT_GIVEN -eq 1 ]] || OUT=$REPO/build/bench-kernel-$KERNEL
    mkdir -p "$OUT/bin"
    OUT=$(cd "$OUT" && pwd)
    bench_build "$OUT/bin"
    cp "$NDPSYNC" "$OUT/bin/ndpsync"
    exec "$REPO/test/vm/run.sh" --kernel "$KERNEL" --env NDPSYNC="$OUT/bin/ndpsync" -- \
        bash "$REPO/bench/run.sh" --kernel "$KERNEL" --out "$OUT"
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: bench/run.sh needs root (network namespaces)"
    exit 0
fi
for tool in ip radvd jq tcpdump cc gnuplot; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh)"; exit 0; }
done
[[ -x $LAB_PYTHON ]] || { echo "SKIP: $LAB_PYTHON not found"; exit 0; }
[[ -x $NDPSYNC ]] || fail "no ndpsync binary at $NDPSYNC (cmake --build build)"

# Sizes.
NS_PEERS=1
if [[ -n $KERNEL ]]; then
    # In the guest: what a Debian user's kernel gives, each figure next to that kernel's limit.
    MODE=kernel
    ONLY=${ONLY:-burst,ns,first}
    BURST_NS=(1000); BURST_REPS=3
    SINGLE_COUNT=50
    NS_PROBES=100; NS_ROUNDS=2; FLOOD_RATES=(); FLOOD_SECONDS=2; NS_PEERS=0
    RANDOM_FLOOD_RATE=2000; RANDOM_FLOOD_SECONDS=2
    FIRST_REPS=10
    IDLE_SECONDS=10; RESYNC_WINDOW=6; SINGLE_COUNT_BIG=20; FLOOD10K_RATES=(); ONESHOT_REPS=1; FWD_REPS=1; PING_COUNT=2000; UDP_SECONDS=1
elif [[ $QUICK -eq 1 ]]; then
    MODE=quick
    BURST_NS=(1 100 1000); BURST_REPS=3
    SINGLE_COUNT=50
    NS_PROBES=100; NS_ROUNDS=2; FLOOD_RATES=(5000); FLOOD_SECONDS=2
    RANDOM_FLOOD_RATE=5000; RANDOM_FLOOD_SECONDS=2
    FIRST_REPS=5
    IDLE_SECONDS=10; RESYNC_WINDOW=6; SINGLE_COUNT_BIG=20; FLOOD10K_RATES=(); ONESHOT_REPS=1; FWD_REPS=1; PING_COUNT=2000; UDP_SECONDS=1
else
    MODE=full
    BURST_NS=(1 100 1000 5000 10000); BURST_REPS=5
    SINGLE_COUNT=300
    NS_PROBES=500; NS_ROUNDS=4; FLOOD_RATES=(5000 20000 50000); FLOOD_SECONDS=5
    RANDOM_FLOOD_RATE=20000; RANDOM_FLOOD_SECONDS=10
    FIRST_REPS=20
    IDLE_SECONDS=60; RESYNC_WINDOW=20; SINGLE_COUNT_BIG=100; FLOOD10K_RATES=(5000 20000); ONESHOT_REPS=3; FWD_REPS=3; PING_COUNT=10000; UDP_SECONDS=2
fi
SCALE_MAX=10000
RESYNC_INTERVAL=2

phase_on() { [[ -z $ONLY || ,$ONLY, == *,$1,* ]]; }

mkdir -p "$OUT/raw" "$OUT/bin"
rm -f "$OUT"/raw/*.jsonl "$OUT"/*.png "$OUT"/results.json "$OUT"/benchmarks.md
RAW=$OUT/raw
# A private copy of the binary: the build tree may be rebuilt while we run.
[[ $NDPSYNC -ef $OUT/bin/ndpsync ]] || cp "$NDPSYNC" "$OUT/bin/ndpsync"
NDPSYNC=$OUT/bin/ndpsync
if [[ -n $KERNEL && -x $OUT/bin/ndpbench ]]; then
    NDPBENCH=$OUT/bin/ndpbench   # built on the machine
else
    bench_build "$OUT/bin"
fi

T_RUN=$(_now_us)
phase_t0=0
phase() {
    local now
    now=$(_now_us)
    if ((phase_t0)); then
        jq -cn --arg p "$phase_name" --argjson s "$(((now - phase_t0) / 1000))" '{phase: $p, ms: $s}' >>"$RAW/phases.jsonl"
    fi
    phase_name=$1
    phase_t0=$now
    [[ -n $1 ]] && echo "== $1  [t=$(((now - T_RUN) / 1000000)) s]" >&2
    return 0
}

radvd_stopped=0
bench_cleanup() {
    local rc=$?
    set +e
    [[ $radvd_stopped -eq 1 && -n $LAB_RADVD_PID ]] && kill -CONT "$LAB_RADVD_PID" 2>/dev/null
    bench_agent_stop
    lab_down
    exit $rc
}
trap bench_cleanup EXIT

# jl FILE JQ_ARGS... : append stdin (one JSON document) to FILE, merged with the given fields.
jl() {
    local file=$1
    shift
    jq -c "$@" >>"$RAW/$file"
}

# ---------------------------------------------------------------------------------------------
phase "lab"
lab_up
CONF=$LAB_DIR/bench.json
bench_conf "$CONF"
CONF_DELAY80=$LAB_DIR/bench-delay80.json
bench_conf "$CONF_DELAY80" '"proxy_delay_ms": 800'
TARGET=$LAB_CT2

# Machine and versions.
{
    jq -n --arg mode "$MODE" \
        --arg nproc "$(nproc)" \
        --arg model "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
        --arg kernel "$(uname -r)" \
        --arg mem "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)" \
        --arg os "$(. /etc/os-release && echo "$PRETTY_NAME")" \
        --arg ndpsync "$("$NDPSYNC" --version 2>&1 | head -n1)" \
        --arg commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        --arg dirty "$(git -C "$REPO" status --porcelain -- src include CMakeLists.txt 2>/dev/null | wc -l)" \
        --arg ndppd "$(dpkg-query -W -f='${Version}' ndppd 2>/dev/null || echo none)" \
        --arg npd6 "$(dpkg-query -W -f='${Version}' npd6 2>/dev/null || echo none)" \
        --arg iproute2 "$(ip -V 2>&1 | head -n1)" \
        --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --arg loadavg "$(cut -d' ' -f1-3 /proc/loadavg)" \
        '{mode: $mode, nproc: ($nproc | tonumber), cpu_model: $model, kernel: $kernel, memory: $mem,
          os: $os, ndpsync: $ndpsync, commit: $commit, src_dirty_files: ($dirty | tonumber),
          ndppd: $ndppd, npd6: $npd6, iproute2: $iproute2, date: $date, loadavg_start: $loadavg}'
} >"$RAW/machine.json"

# ---------------------------------------------------------------------------------------------
# 1. Burst convergence
burst_limit() {   # N STEM REP
    local n=$1 stem=$2 rep=$3
    nb_h converge --count "$n" --prefix "$BULK_PREFIX" -- \
        sh -c "ip -6 -batch $stem.nadd && ip -6 -batch $stem.padd" |
        jl burst.jsonl --argjson rep "$rep" '. + {system: "limit", rep: $rep}'
    purge_bulk
}
burst_agent() {   # N STEM REP
    local n=$1 stem=$2 rep=$3 counters
    bench_agent_start "$CONF"
    wait_owned 5 5 || afail "agent did not proxy the lab's 5 addresses"
    nb_h converge --count "$n" --proto "$LAB_OWNER_PROTO" --prefix "$BULK_PREFIX" -- \
        ip -6 -batch "$stem.nadd" >"$LAB_DIR/conv.json" || true
    counters=$(status_json | jq -c .counters)
    jl burst.jsonl --argjson rep "$rep" --argjson c "$counters" \
        '. + {system: "ndpsync", rep: $rep, counters: $c}' <"$LAB_DIR/conv.json"
    bench_agent_stop
    purge_bulk
}
if phase_on burst; then
    phase "burst convergence: N = ${BURST_NS[*]}, $BURST_REPS repetitions"
    for n in "${BURST_NS[@]}"; do
        stem=$(gen_batches "$n" 1)
        for ((rep = 1; rep <= BURST_REPS; rep++)); do
            # Alternate the order, so neither side always runs on a warmer machine.
            if ((rep % 2)); then
                burst_limit "$n" "$stem" "$rep"
                burst_agent "$n" "$stem" "$rep"
            else
                burst_agent "$n" "$stem" "$rep"
                burst_limit "$n" "$stem" "$rep"
            fi
            [[ $(bulk_count) -eq 0 ]] || fail "bulk proxies left over after N=$n rep $rep"
        done
        log "N=$n: ndpsync $(jq -r --argjson n "$n" 'select(.n == $n and .system == "ndpsync") | .converged_ms' "$RAW/burst.jsonl" | median_of) ms," \
            "limit $(jq -r --argjson n "$n" 'select(.n == $n and .system == "limit") | .converged_ms' "$RAW/burst.jsonl" | median_of) ms (medians)"
    done
fi

# ---------------------------------------------------------------------------------------------
# 2. Single-change latency
if phase_on single; then
    phase "single-change latency: $SINGLE_COUNT changes"
    bench_agent_start "$CONF"
    wait_owned 5 5 || afail "agent did not proxy the lab's 5 addresses"
    nb_h latency --dev br0 --base "$SINGLE_BASE" --count "$SINGLE_COUNT" --proto "$LAB_OWNER_PROTO" \
        --get eth0 --gap-ms 20 --timeout-ms 2000 | jl single.jsonl '. + {system: "ndpsync", entries: 0}'
    bench_agent_stop
    single_cleanup
    # The limit: the kernel's own time for one proxy insert at this table size.
    nb_h proxy-add --dev eth0 --base "$SINGLE_BASE" --count "$SINGLE_COUNT" |
        jl single.jsonl '. + {system: "limit", entries: 0}'
    single_cleanup
    log "single change: p50 $(jq -r 'select(.system == "ndpsync") | .latency_us[]' "$RAW/single.jsonl" | median_of) us;" \
        "one kernel proxy insert: p50 $(jq -r 'select(.system == "limit") | .latency_us[]' "$RAW/single.jsonl" | median_of) us"
fi

# ---------------------------------------------------------------------------------------------
# 3. NS answer latency and floods
ns_setup() {   # SYSTEM: make SYSTEM the one that answers for $TARGET; sets DAEMON_PID
    DAEMON_PID=""
    case $1 in
    ndpsync)
        bench_agent_start "$CONF"
        wait_owned 5 5 || afail "agent did not proxy the lab's 5 addresses"
        DAEMON_PID=$AGENT_PID
        ;;
    kernel)
        # The same entries the agent keeps in this lab (its 5), made by hand, and its sysctls.
        host_sysctls_like_ndpsync
        local a
        for a in "${LAB_EXPECTED[@]}"; do
            ip -n "$LAB_H" -6 neigh add proxy "$a" dev eth0
        done
        ;;
    ndppd-static | ndppd-iface | ndppd-auto)
        local rule=${1#ndppd-}
        [[ $rule == iface ]] && rule="iface br0"
        printf 'proxy eth0 {\n    router no\n    rule %s {\n        %s\n    }\n}\n' "$LAB_PREFIX" "$rule" \
            >"$LAB_DIR/ndppd.conf"
        peer_start "$1" ndppd -c "$LAB_DIR/ndppd.conf" -p "$LAB_DIR/ndppd.pid"
        DAEMON_PID=$PEER_PID
        ;;
    npd6)
        printf 'prefix=%s:\ninterface=eth0\ncollectTargets=0\nralogging=off\nlisttype=none\n' "$LAB_P" \
            >"$LAB_DIR/npd6.conf"
        peer_start npd6 npd6 -f -c "$LAB_DIR/npd6.conf" -l "$LAB_DIR/npd6.log"
        DAEMON_PID=$PEER_PID
        ;;
    esac
}
ns_teardown() {   # SYSTEM
    case $1 in
    ndpsync) bench_agent_stop; remove_owned_entries ;;
    kernel)
        local a
        for a in "${LAB_EXPECTED[@]}"; do
            ip -n "$LAB_H" -6 neigh del proxy "$a" dev eth0
        done
        ;;
    *) peer_stop ;;
    esac
    # Nobody may answer for the target now.
    if ns_answers "$TARGET"; then fail "$TARGET is still answered after $1 was stopped"; fi
}
ns_latency() {   # SYSTEM ROUND [TARGET [multicast|unicast]]
    local sys=$1 pcap=$LAB_DIR/ns.pcap tpid TARGET=${3:-$TARGET} to=${4:-multicast}
    # Warm-up: the first answer (ndppd's iface and auto rules ask the container first).
    if ! wait_for 5 ns_answers "$TARGET"; then
        log "$sys: no answer for $TARGET; row skipped"
        jq -cn --arg s "$sys" '{system: $s, answered: false}' >>"$RAW/ns.jsonl"
        return 1
    fi
    # The latency: one NS at a time, capture timestamps from tcpdump on the router's wan.
    rm -f "$pcap"
    ip netns exec "$LAB_R" tcpdump -i wan -n -U --immediate-mode -s 128 --time-stamp-precision=nano -w "$pcap" \
        'icmp6 and (ip6[40] == 135 or ip6[40] == 136)' 2>"$LAB_DIR/tcpdump.err" &
    tpid=$!
    lab_bg "$tpid"
    wait_for 5 grep -q listening "$LAB_DIR/tcpdump.err" || fail "tcpdump did not start: $(cat "$LAB_DIR/tcpdump.err")"
    nb_r ns-probe --iface wan --source "$LAB_ROUTER" --target "$TARGET" --count "$NS_PROBES" \
        --gap-us 1000 --timeout-ms 500 --to "$to" >"$LAB_DIR/probe.json" || true
    sleep 0.5
    kill -INT "$tpid" 2>/dev/null || true
    wait "$tpid" 2>/dev/null || true
    "$LAB_PYTHON" "$BENCH_DIR/helpers.py" pcap "$pcap" --target "$TARGET" --router "$LAB_ROUTER" |
        jl ns.jsonl --arg s "$sys" --argjson r "$2" --slurpfile p "$LAB_DIR/probe.json" \
            '. + {system: $s, round: $r, answered: true, socket_rtt_us: $p[0].rtt_us}'
}
ns_floods() {   # SYSTEM [TARGET [RATE...]]; FLOOD_ARGS: more ndpbench flood arguments
    local sys=$1 rate before after TARGET=${2:-$TARGET} rates
    rates=("${@:3}")
    [[ ${#rates[@]} -gt 0 ]] || rates=("${FLOOD_RATES[@]}")
    for rate in "${rates[@]}"; do
        before='null'
        [[ -n $DAEMON_PID ]] && before=$(proc_json "$DAEMON_PID")
        # shellcheck disable=SC2086  # FLOOD_ARGS is a list of words
        nb_r flood --iface wan --source "$LAB_ROUTER" --target "$TARGET" --rate "$rate" \
            --duration "${FLOOD_DURATION:-$FLOOD_SECONDS}" --settle-ms 1000 ${FLOOD_ARGS:-} >"$LAB_DIR/flood.json"
        after='null'
        [[ -n $DAEMON_PID ]] && after=$(proc_json "$DAEMON_PID")
        jl flood.jsonl --arg s "$sys" --argjson b "$before" --argjson a "$after" \
            '. + {system: $s} + (if $b == null then {cpu_ms: null, cpu_pct: null} else
              {cpu_ms: (($a.cpu_ns - $b.cpu_ns) / 1e6), cpu_ticks_ms: ($a.cpu_ms_ticks - $b.cpu_ms_ticks),
               cpu_pct: (($a.cpu_ns - $b.cpu_ns) / 1e7 / .duration_s)} end)' <"$LAB_DIR/flood.json"
        log "$sys flood $rate/s: $(tail -n1 "$RAW/flood.jsonl" | jq -r '"answered \(.answered * 100 | floor)%, daemon CPU \(.cpu_pct // "-")%"')"
    done
}
# ns_random_flood: NS for random targets in the prefix (a scan, as fast as a flood) against the
# agent; every real container must keep its entry.
ns_random_flood() {
    local kept=0 a
    FLOOD_ARGS="--random 1" FLOOD_DURATION=$RANDOM_FLOOD_SECONDS \
        ns_floods "ndpsync: random targets" "$LAB_P::ffff:0" "$RANDOM_FLOOD_RATE"
    for a in "${LAB_EXPECTED[@]}"; do
        owned_has_bench "$a" && kept=$((kept + 1))
    done
    jq -cn --argjson k "$kept" --argjson n "${#LAB_EXPECTED[@]}" --argjson c "$(status_json | jq -c .counters)" \
        '{kept: $k, of: $n, counters: $c}' >>"$RAW/random_flood.jsonl"
    log "random flood: $kept of ${#LAB_EXPECTED[@]} containers kept their entry"
}
owned_has_bench() {
    ip -n "$LAB_H" -6 neigh show proxy "$1" | grep -q "proto"
}
if phase_on ns; then
    phase "NS answers: latency ($NS_PROBES probes) and floods (${FLOOD_RATES[*]}/s, $FLOOD_SECONDS s)"
    peers=()
    if [[ $NS_PEERS -eq 1 ]]; then
        if command -v ndppd >/dev/null; then peers+=(ndppd-static ndppd-iface ndppd-auto); else log "ndppd not installed: rows skipped"; fi
        if command -v npd6 >/dev/null; then peers+=(npd6); else log "npd6 not installed: rows skipped"; fi
    fi
    # ndpsync and the bare kernel entry take the same kernel path, so their difference is small
    # against the machine's noise: measure them in alternating rounds.
    for ((round = 1; round <= NS_ROUNDS; round++)); do
        for sys in ndpsync kernel; do
            ns_setup "$sys"
            if ns_latency "$sys" "$round" && [[ $round -eq 1 ]]; then
                ns_floods "$sys"
                if [[ $sys == ndpsync && ${#FLOOD_RATES[@]} -gt 0 ]]; then ns_random_flood; fi
            fi
            ns_teardown "$sys"
        done
    done
    # The peers answer themselves: no kernel entry answers for the target meanwhile.
    for sys in "${peers[@]}"; do
        ns_setup "$sys"
        if ns_latency "$sys" 1; then ns_floods "$sys"; fi
        ns_teardown "$sys"
    done
    for sys in ndpsync kernel "${peers[@]}"; do
        log "$sys: NS->NA median $(jq -r --arg s "$sys" 'select(.system == $s) | .latency_us[]?' "$RAW/ns.jsonl" | median_of) us (capture)"
    done
fi

# ---------------------------------------------------------------------------------------------
# 4. First contact
if phase_on first; then
    phase "first contact: $FIRST_REPS pings after a neighbour flush, proxy_delay 0 and 80"
    for delay in 0 80; do
        conf=$CONF
        [[ $delay == 80 ]] && conf=$CONF_DELAY80
        bench_agent_start "$conf"
        wait_owned 5 5 || afail "agent did not proxy the lab's 5 addresses"
        got=$(sysctl_h net.ipv6.neigh.eth0.proxy_delay)
        [[ $got == "$delay" ]] || fail "proxy_delay is $got, wanted $delay"
        for ((rep = 1; rep <= FIRST_REPS; rep++)); do
            ip -n "$LAB_R" -6 neigh flush dev wan
            out=$(ip netns exec "$LAB_R" ping -6 -c1 -W3 -n "$TARGET" 2>&1 || true)
            ms=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' <<<"$out")
            jq -cn --argjson d "$delay" --arg ms "${ms:-}" '{proxy_delay: $d, ms: (if $ms == "" then null else ($ms | tonumber) end)}' >>"$RAW/first.jsonl"
            sleep 0.1
        done
        bench_agent_stop
        log "proxy_delay $delay: first ping median $(jq -r --argjson d "$delay" 'select(.proxy_delay == $d) | .ms // empty' "$RAW/first.jsonl" | median_of) ms"
    done
    remove_owned_entries
fi

# ---------------------------------------------------------------------------------------------
# 5-7. Scale: RSS, idle cost, resync and one-shot CPU, forwarding
add_bulk_and_wait() {   # FROM N TOTAL
    local stem
    stem=$(gen_batches "$2" "$1")
    ipb "$stem.nadd"
    wait_bulk_owned "$3" 60 || afail "agent did not reach $3 bulk entries in 60 s (has $(bulk_count "$LAB_OWNER_PROTO"))"
}
fwd_measure() {   # LABEL ENTRIES
    local out sink
    out=$(ip netns exec "$LAB_R" ping -6 -f -q -c "$PING_COUNT" -n "$TARGET" 2>&1 || true)
    ip netns exec "$LAB_C2" "$NDPBENCH" udp-sink --port 9999 --idle-ms 300 --max-s 20 \
        >"$LAB_DIR/sink.json" 2>"$LAB_DIR/sink.err" &
    sink=$!
    wait_for 5 grep -q ready "$LAB_DIR/sink.err" || fail "udp sink did not start"
    nb_r udp-blast --dst "$TARGET" --port 9999 --duration "$UDP_SECONDS" --size 64 >"$LAB_DIR/blast.json"
    wait "$sink" || true
    jq -cn --arg lbl "$1" --argjson entries "$2" --arg ping "$out" \
        --slurpfile s "$LAB_DIR/sink.json" --slurpfile b "$LAB_DIR/blast.json" \
        '{"label": $lbl, proxy_entries: $entries,
          ping_rtt_avg_ms: ($ping | capture("= [0-9.]+/(?<avg>[0-9.]+)/") | .avg | tonumber),
          ping_time_ms: ($ping | capture("time (?<t>[0-9]+)ms") | .t | tonumber),
          ping_loss: ($ping | capture("(?<l>[0-9.]+)% packet loss") | .l | tonumber),
          udp_sent_pps: $b[0].pps, udp_delivered_pps: $s[0].pps, udp_delivered: $s[0].received}' >>"$RAW/forward.jsonl"
}
if phase_on scale; then
    phase "scale: RSS at 0/1,000/$SCALE_MAX, idle ${IDLE_SECONDS}s at 5,000, resync and one-shot at $SCALE_MAX, forwarding"
    quiet_lab
    # RSS, and the idle window (resync far away: the periodic resync is measured on its own).
    bench_agent_start "$CONF" --resync-interval 3600
    wait_owned 5 5 || afail "agent did not proxy the lab's 5 addresses"
    sleep 1
    proc_json "$AGENT_PID" | jl scale.jsonl '{kind: "rss", entries: 0} + .'
    add_bulk_and_wait 1 1000 1000
    sleep 1
    proc_json "$AGENT_PID" | jl scale.jsonl '{kind: "rss", entries: 1000} + .'
    add_bulk_and_wait 1001 4000 5000
    wait_for 15 _lab_neigh_settled || log "lab neighbours still being probed: $(ip -n "$LAB_H" -6 neigh show | grep -E 'DELAY|PROBE|INCOMPLETE' | tr '\n' ';')"
    sleep 1
    proc_json "$AGENT_PID" | jl scale.jsonl '{kind: "rss", entries: 5000} + .'
    # Idle: nothing changes; radvd is paused so no RA refreshes reach the host either. An
    # `ip monitor` in the host namespace records every kernel event the agent could have seen.
    # (No status query before the RSS figures: building a status document of thousands of
    # entries leaves the heap bigger; that is measured on its own below.)
    kill -STOP "$LAB_RADVD_PID" && radvd_stopped=1
    ip -n "$LAB_H" -ts monitor all >"$LAB_DIR/idle.monitor" 2>&1 &
    mon=$!
    lab_bg "$mon"
    # Start once the agent has settled (no CPU used for 2 s): a verification or retry that the
    # last changes started may still be running; the window is about the steady state.
    wait_quiet "$AGENT_PID" 2 20 || log "agent not quiet for 2 s within 20 s before the idle window"
    mon0=$(wc -l <"$LAB_DIR/idle.monitor")
    "$LAB_PYTHON" "$BENCH_DIR/helpers.py" sample "$AGENT_PID" --seconds "$IDLE_SECONDS" --interval 0.1 \
        >"$LAB_DIR/idle.json"
    kill "$mon" 2>/dev/null || true
    wait "$mon" 2>/dev/null || true
    tail -n +$((mon0 + 1)) "$LAB_DIR/idle.monitor" >"$LAB_DIR/idle.events"
    kill -CONT "$LAB_RADVD_PID" && radvd_stopped=0
    jl scale.jsonl --argjson e null --argjson n 5000 \
        --arg mon "$(head -c 2000 "$LAB_DIR/idle.events")" --argjson nmon "$(grep -vc '^Timestamp' "$LAB_DIR/idle.events" || true)" \
        '{kind: "idle", entries: $n, events_around_window: $e, monitor_events: $nmon, monitor: $mon} + .' <"$LAB_DIR/idle.json"
    log "idle ${IDLE_SECONDS}s at 5,000: $(jq -r '"\(.ctxsw) context switches, \(.cpu_ns / 1e6) ms CPU"' "$LAB_DIR/idle.json"), $(grep -vc '^Timestamp' "$LAB_DIR/idle.events" || true) kernel events"
    add_bulk_and_wait 5001 5000 "$SCALE_MAX"
    sleep 2
    proc_json "$AGENT_PID" | jl scale.jsonl --argjson n "$SCALE_MAX" '{kind: "rss", entries: $n} + .'
    # NS answers with the full table. Every proxy entry joins its solicited-node group, and
    # the kernel checks a multicast NS's group against a list with the newest group first: the
    # cost depends on the target's age. The lab's container (installed first: the oldest), the
    # middle bulk address and the newest one.
    ns_latency "ndpsync 10k: oldest" 1 || true
    ns_latency "ndpsync 10k: middle" 1 "$(bulk_addr $((SCALE_MAX / 2)))" || true
    ns_latency "ndpsync 10k: newest" 1 "$(bulk_addr "$SCALE_MAX")" || true
    ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$TARGET" >/dev/null 2>&1 || true
    ns_latency "ndpsync 10k: oldest, unicast" 1 "$TARGET" unicast || true
    if [[ ${#FLOOD10K_RATES[@]} -gt 0 ]]; then
        DAEMON_PID=$AGENT_PID
        ns_floods "ndpsync 10k: oldest" "$TARGET" "${FLOOD10K_RATES[@]}"
        ns_floods "ndpsync 10k: newest" "$(bulk_addr "$SCALE_MAX")" "${FLOOD10K_RATES[@]}"
    fi
    status_json >/dev/null
    sleep 0.5
    proc_json "$AGENT_PID" | jl scale.jsonl --argjson n "$SCALE_MAX" '{kind: "rss", entries: $n, after_status: true} + .'
    # Single changes again, now with the full table; and the kernel's own insert time there.
    nb_h latency --dev br0 --base "$SINGLE_BASE" --count "$SINGLE_COUNT_BIG" --proto "$LAB_OWNER_PROTO" \
        --get eth0 --gap-ms 20 --timeout-ms 2000 | jl single.jsonl --argjson n "$SCALE_MAX" '. + {system: "ndpsync", entries: $n}'
    if [[ $(tail -n1 "$RAW/single.jsonl" | jq .timeouts) -gt 0 ]]; then
        log "single changes at $SCALE_MAX timed out; agent counters $(status_json | jq -c .counters); log: $(tail -n 5 "$AGENT_LOG")"
        log "samples in the table: $(ip -n "$LAB_H" -6 neigh show proxy | grep -c ":0:5:") proxies, $(ip -n "$LAB_H" -6 neigh show dev br0 | grep -c ":0:5:") neighbours"
    fi
    bench_agent_stop
    single_cleanup
    nb_h proxy-add --dev eth0 --base "$SINGLE_BASE" --count "$SINGLE_COUNT_BIG" |
        jl single.jsonl --argjson n "$SCALE_MAX" '. + {system: "limit", entries: $n}'
    single_cleanup
    log "single change at $SCALE_MAX entries: p50 $(jq -r 'select(.entries > 0 and .system == "ndpsync") | .latency_us[]' "$RAW/single.jsonl" | median_of) us;" \
        "one kernel proxy insert: p50 $(jq -r 'select(.entries > 0 and .system == "limit") | .latency_us[]' "$RAW/single.jsonl" | median_of) us"

    # Periodic resync at 10,000: the agent adopts the table, then resyncs every 2 s.
    bench_agent_start "$CONF" --resync-interval "$RESYNC_INTERVAL"
    wait_owned $((SCALE_MAX + 5)) 30 || afail "agent did not adopt $SCALE_MAX entries"
    r0=$(status_q .counters.resyncs)
    sleep 0.3
    "$LAB_PYTHON" "$BENCH_DIR/helpers.py" sample "$AGENT_PID" --seconds "$RESYNC_WINDOW" --interval 0.02 \
        >"$LAB_DIR/resync.json"
    r1=$(status_q .counters.resyncs)
    jl scale.jsonl --argjson n "$SCALE_MAX" --argjson r "$((r1 - r0))" --argjson i "$RESYNC_INTERVAL" \
        '. + {kind: "resync", entries: $n, resync_interval_s: $i, resyncs_around_window: $r}' <"$LAB_DIR/resync.json"
    log "resync at $SCALE_MAX: $(jq -r '[.bursts[].cpu_us / 1000 | floor] | map(tostring) | join(", ")' "$LAB_DIR/resync.json") ms CPU per burst"
    bench_agent_stop

    # One-shot reconcile at 10,000: nothing to change, then everything to add; the limit is
    # `ip -batch` adding the same entries.
    stem=$(gen_batches "$SCALE_MAX" 1)
    for ((rep = 1; rep <= ONESHOT_REPS; rep++)); do
        nb_h rusage -- "$NDPSYNC" reconcile --no-verify --config "$CONF" --log-level warn |
            jl scale.jsonl --argjson n "$SCALE_MAX" '{kind: "oneshot", case: "nothing to change", entries: $n} + .'
    done
    for ((rep = 1; rep <= ONESHOT_REPS; rep++)); do
        purge_bulk_proxies
        nb_h rusage -- ip -6 -batch "$stem.padd" |
            jl scale.jsonl --argjson n "$SCALE_MAX" '{kind: "oneshot", case: "limit: ip -batch adding all", entries: $n} + .'
        purge_bulk_proxies
        nb_h rusage -- "$NDPSYNC" reconcile --no-verify --config "$CONF" --log-level warn |
            jl scale.jsonl --argjson n "$SCALE_MAX" '{kind: "oneshot", case: "all to add", entries: $n} + .'
        [[ $(bulk_count) -eq $SCALE_MAX ]] || fail "one-shot reconcile installed $(bulk_count) of $SCALE_MAX"
    done
    log "one-shot at $SCALE_MAX: $(jq -r 'select(.kind == "oneshot") | "\(.case): \(.cpu_ms) ms CPU"' "$RAW/scale.jsonl" | tr '\n' ';')"

    # Forwarding with 10,000 entries and without (ABAB, same neighbours, no agent running).
    wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$TARGET" || fail "router cannot reach $TARGET"
    for ((rep = 1; rep <= FWD_REPS; rep++)); do
        fwd_measure "with $SCALE_MAX" "$SCALE_MAX"
        purge_bulk_proxies
        fwd_measure "without" 0
        [[ $rep -lt $FWD_REPS ]] && ipb "$stem.padd"
    done
    log "forwarding: $(jq -r '"\(."label"): ping rtt \(.ping_rtt_avg_ms) ms, UDP \(.udp_delivered_pps) pps"' "$RAW/forward.jsonl" | tr '\n' ';')"
    purge_bulk
    remove_owned_entries
fi

phase ""
T_END=$(_now_us)
jq --argjson s "$(((T_END - T_RUN) / 1000))" '. + {run_ms: $s}' "$RAW/machine.json" >"$RAW/machine.tmp" &&
    mv "$RAW/machine.tmp" "$RAW/machine.json"

# ---------------------------------------------------------------------------------------------
# --kernel: one table, each figure against the kernel's limit in the same guest.
if [[ $MODE == kernel ]]; then
    med() { jq -r "$1" "$RAW/$2" | median_of; }
    b_agent=$(med 'select(.system == "ndpsync") | .converged_ms' burst.jsonl)
    b_limit=$(med 'select(.system == "limit") | .converged_ms' burst.jsonl)
    n_agent=$(med 'select(.system == "ndpsync") | .latency_us[]?' ns.jsonl)
    n_limit=$(med 'select(.system == "kernel") | .latency_us[]?' ns.jsonl)
    f_zero=$(med 'select(.proxy_delay == 0) | .ms // empty' first.jsonl)
    f_dflt=$(med 'select(.proxy_delay == 80) | .ms // empty' first.jsonl)
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "-" }'; }
    {
        echo "| kernel $(uname -r) ($(uname -v | sed -n 's/.*Debian \([^ ]*\).*/\1/p')) | ndpsync | kernel limit | ratio |"
        echo "|---|---:|---:|---:|"
        echo "| burst of 1,000 neighbours: all proxied (ms, median of $BURST_REPS) | $b_agent | $b_limit (ip -batch) | $(ratio "$b_agent" "$b_limit") |"
        echo "| NS -> NA at the router (us, median of $((NS_PROBES * NS_ROUNDS))) | $n_agent | $n_limit (bare entry) | $(ratio "$n_agent" "$n_limit") |"
        echo "| first ping after a neighbour flush (ms, median of $FIRST_REPS) | $f_zero (proxy_delay 0) | $f_dflt (kernel default 0.8 s) | $(ratio "$f_zero" "$f_dflt") |"
    } | tee "$OUT/kernel.md"
    echo "bench: results in $OUT ($((($(_now_us) - T_RUN) / 1000000)) s)"
    exit 0
fi

# ---------------------------------------------------------------------------------------------
# Report: results.json, benchmarks.md, plots; docs/ after a full run of every phase.
report_args=("$OUT")
if [[ $MODE == full && -z $ONLY ]]; then
    report_args+=(--docs "$REPO/docs")
fi
"$LAB_PYTHON" "$BENCH_DIR/report.py" "${report_args[@]}"
echo "bench: results in $OUT ($((($(_now_us) - T_RUN) / 1000000)) s)"
