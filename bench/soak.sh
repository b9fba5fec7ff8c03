#!/usr/bin/env bash
# bench/soak.sh — the churn soak: containers appear and leave at 50 a second while the agent
# runs, and every departure is withdrawn by the agent's liveness checks (nobody tells it).
#
#   sudo bench/soak.sh [--quick] [--minutes M] [--out DIR] [--no-docs]
#   sudo bench/run.sh --soak [--quick] ...        (the same)
#
#   (default) 10 minutes of churn; writes docs/benchmarks.md's "Churn soak" section and
#             docs/bench/soak.png (unless --no-docs or --minutes).
#   --quick   CI mode: 1 minute of churn, ~1.5 min in all; figures in --out only.
#   --minutes M  another length (figures in --out only).
#   --out     where samples.jsonl, soak.md, soak.json, soak.png go (default /tmp/ndpsync-soak).
#
# The lab is test/lab/lab.sh's, plus 4 container namespaces on the host's bridge br0. Each
# container runs `bench/soak.py churn`: 12.5 new addresses a second (a /128 in
# 2001:db8:0:1::2:8000/114, added with nodad, one echo request from it to the bridge so that the
# host resolves it), each leaving after 0.5-1.5 s by deleting its address, so that the host's
# next probe goes unanswered. The host's br0 neighbours are tuned for a bounded live set
# (base_reachable_time 1 s, delay_first_probe_time 1 s, retrans_time 0.5 s) and the agent runs
# with --liveness-timeout 2: departed addresses are withdrawn within ~4-5 s, so the kernel's
# neighbour table (its limits are shared by every namespace on the machine) holds ~250 of them. `bench/soak.py watch`
# samples the agent's memory and status every few seconds and deletes the FAILED neighbours that
# the agent has already withdrawn (the kernel's gc, sped up; see soak.py).
#
# Fails (exit 1, saying what) when: the churn fell behind its rate, the agent died, withdrawals
# do not account for the departures, RSS after warm-up (the first 20%) moved by more than 5%
# between its smallest and largest sample, the proxy table does not become exactly the live
# containers' addresses within 30 s of the churn's end and stay so, or the agent's withdrawn
# list keeps addresses whose neighbour entries are gone (state that is never forgotten). Exit 0 with "SKIP" when the
# machine cannot run it (not root, tools missing).
set -euo pipefail

QUICK=0
MINUTES=""
OUT=/tmp/ndpsync-soak
DOCS=1
while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) QUICK=1 ;;
    --minutes) MINUTES=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-docs) DOCS=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

LAB=${LAB:-nsk$$}
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
REPO=$LAB_REPO

if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: bench/soak.sh needs root (network namespaces)"
    exit 0
fi
for tool in ip radvd jq; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh)"; exit 0; }
done
[[ -x $LAB_PYTHON ]] || { echo "SKIP: $LAB_PYTHON not found"; exit 0; }
[[ -x $NDPSYNC ]] || fail "no ndpsync binary at $NDPSYNC (cmake --build build)"

if [[ $QUICK -eq 1 ]]; then
    MODE=quick; SECONDS_CHURN=60; INTERVAL=2; DOCS=0
else
    MODE=full; SECONDS_CHURN=600; INTERVAL=5
fi
if [[ -n $MINUTES ]]; then
    [[ $MINUTES =~ ^[0-9]+$ && $MINUTES -ge 1 ]] || { echo "bench/soak.sh: --minutes takes a whole number >= 1" >&2; exit 2; }
    SECONDS_CHURN=$((MINUTES * 60)); DOCS=0; MODE=custom
fi
RATE=50                 # arrivals per second, all containers together
CONTAINERS=4
LIFETIME=1              # seconds, each address's life drawn from [0.5, 1.5] x this
LIVENESS=2              # the agent's --liveness-timeout
WARMUP_FRACTION=0.2
RSS_BOUND=0.05
CONVERGE_TIMEOUT=30     # s after the churn's end
HOLD=$((2 * (LIVENESS + 2)))   # s the converged table must stay exact (the live ones get probed)
CHURN_NET=$LAB_P::2:8000/114
SOAK_SCRIPT=$BENCH_DIR/soak.py

mkdir -p "$OUT/bin"
rm -f "$OUT"/samples.jsonl "$OUT"/churn*.json "$OUT"/churn*.err "$OUT"/soak.* "$OUT"/result.json "$OUT"/watch.err
cp "$NDPSYNC" "$OUT/bin/ndpsync"   # the build tree may be rebuilt while we run
NDPSYNC=$OUT/bin/ndpsync
T_RUN=$(_now_us)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

soak_cleanup() {
    local rc=$?
    set +e
    bench_agent_stop
    lab_down
    exit $rc
}
trap soak_cleanup EXIT

FAILURES=()
failed() {
    echo "FAIL: $*" >&2
    FAILURES+=("$*")
}

# ---------------------------------------------------------------------------------------------
log "soak ($MODE): $RATE arrivals/s for $SECONDS_CHURN s, lifetime ${LIFETIME} s (0.5-1.5x), liveness ${LIVENESS} s"
lab_up
# A departed address's entry: REACHABLE runs out (0.5-1.5 s), DELAY (it was used: 1 s), PROBE
# (3 unicast solicitations 0.5 s apart), FAILED; the agent withdraws 2 s after PROBE.
ip netns exec "$LAB_H" sysctl -qw net.ipv6.neigh.br0.base_reachable_time_ms=1000 \
    net.ipv6.neigh.br0.retrans_time_ms=500 net.ipv6.neigh.br0.delay_first_probe_time=1
BASES=()
for ((k = 1; k <= CONTAINERS; k++)); do
    ns=${LAB}s$k
    BASES+=("$LAB_P::2:1$k")
    add_container "$ns" "vs$k" "$LAB_P::2:1$k" "$LAB_BR0" br0
    _container_ping "$ns" "$LAB_BR0"
done

CONF=$LAB_DIR/soak.json
bench_conf "$CONF"
bench_agent_start "$CONF" --liveness-timeout "$LIVENESS"
BASELINE=$( (printf '%s\n' "${LAB_EXPECTED[@]}" "${BASES[@]}") | sort)
wait_for 10 owned_is "$BASELINE" ||
    afail "the agent did not proxy the lab's $((${#LAB_EXPECTED[@]} + CONTAINERS)) addresses; expected:"$'\n'"$BASELINE"$'\n'"got:"$'\n'"$(owned_set)"
log "agent $AGENT_PID proxies the lab's $(wc -l <<<"$BASELINE") addresses; VmRSS $(awk '/^VmRSS/ { print $2, $3 }' "/proc/$AGENT_PID/status")"

# ---------------------------------------------------------------------------------------------
ip netns exec "$LAB_H" "$LAB_PYTHON" "$SOAK_SCRIPT" watch --pid "$AGENT_PID" --socket "$AGENT_SOCK" --netns "$LAB_H" \
    --dev br0 --net "$CHURN_NET" --out "$OUT/samples.jsonl" --stop "$LAB_DIR/stop" \
    --interval "$INTERVAL" 2>"$OUT/watch.err" &
WATCH_PID=$!
lab_bg "$WATCH_PID"
T_CHURN=$(_now_us)
CHURN_PIDS=()
per=$(awk -v r="$RATE" -v n="$CONTAINERS" 'BEGIN { print r / n }')
for ((k = 1; k <= CONTAINERS; k++)); do
    ip netns exec "${LAB}s$k" "$LAB_PYTHON" "$SOAK_SCRIPT" churn --iface eth0 --gateway "$LAB_BR0" \
        --base "$(printf '%s::2:%x' "$LAB_P" $((0x8000 + (k - 1) * 0x1000)))" --rate "$per" \
        --lifetime "$LIFETIME" --duration "$SECONDS_CHURN" --seed "$k" \
        >"$OUT/churn$k.json" 2>"$OUT/churn$k.err" &
    CHURN_PIDS+=($!)
    lab_bg $!
done
log "churn running in ${LAB}s1..${LAB}s$CONTAINERS (${per}/s each); samples every ${INTERVAL} s in $OUT/samples.jsonl"

_churn_done() {
    local p
    for p in "${CHURN_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 1; done
    return 0
}
wait_for $((SECONDS_CHURN + 60)) _churn_done ||
    afail "the churn drivers did not finish within $((SECONDS_CHURN + 60)) s"
for ((k = 1; k <= CONTAINERS; k++)); do
    wait "${CHURN_PIDS[k - 1]}" || afail "churn driver $k failed: $(cat "$OUT/churn$k.err")"
done
T_END=$(_now_us)
kill -0 "$WATCH_PID" 2>/dev/null || afail "the watcher died: $(tail -n 5 "$OUT/watch.err")"
kill -0 "$AGENT_PID" 2>/dev/null || afail "the agent died during the churn"
log "churn done after $(((T_END - T_CHURN) / 1000)) ms: $(jq -s -c '{arrivals: (map(.arrivals) | add), departures: (map(.departures) | add), live: (map(.live | length) | add), unconfirmed: (map(.unconfirmed) | add), errors: (map(.errors) | add), max_lag_ms: (map(.max_lag_ms) | max)}' "$OUT"/churn*.json)"

# ---------------------------------------------------------------------------------------------
# The live containers: every global address still configured in a soak container (its base
# address and the churn addresses that had not left), and the lab's own five.
live_set() {
    local k
    printf '%s\n' "${LAB_EXPECTED[@]}"
    for ((k = 1; k <= CONTAINERS; k++)); do
        ip -n "${LAB}s$k" -j -6 addr show dev eth0 scope global | jq -r '.[0].addr_info[] | select(.local != null) | .local'
    done
}
EXPECTED=$(live_set | sort)
n_expected=$(wc -l <<<"$EXPECTED")
T_STOP=$((T_CHURN + SECONDS_CHURN * 1000000))   # the last departure was before this
converged_ms=null
held_s=0
table_diff() {   # the difference between the live set and the proxy table, at most 20 lines
    diff <(echo "$EXPECTED") <(owned_set) | grep '^[<>]' |
        sed 's/^</missing (live, not proxied):/; s/^>/extra (gone, still proxied):/' | head -n 20
}
if wait_for "$CONVERGE_TIMEOUT" owned_is "$EXPECTED"; then
    converged_ms=$((($(_now_us) - T_STOP) / 1000))
    log "proxy table = the $n_expected live addresses, $converged_ms ms after the churn's end"
    if hold_for "$HOLD" owned_is "$EXPECTED"; then
        held_s=$HOLD
        log "and stayed so for $HOLD s ($HOLD_SAMPLES samples)"
    else
        failed "the proxy table left the live set $HOLD_BROKE_MS ms after it had converged:"$'\n'"$(table_diff)"
    fi
else
    failed "the proxy table is not the set of live containers $CONVERGE_TIMEOUT s after the churn ended ($n_expected live, $(owned_set | wc -l) proxied):"$'\n'"$(table_diff)"
fi
# The withdrawn list names neighbours the kernel still holds (FAILED ones the watcher has not
# deleted yet). One whose neighbour entry is gone can never be confirmed again nor forgotten: it
# is kept for nothing, a leak that grows with every departure.
withdrawn_orphans() {
    comm -23 <(status_q '.withdrawn[] | select(.interface == "br0") | .address' | sort) \
        <(ip -n "$LAB_H" -6 neigh show dev br0 | awk '{ print $1 }' | sort)
}
_no_withdrawn_orphans() { [[ -z $(withdrawn_orphans) ]]; }
orphans=0
if ! wait_for 10 _no_withdrawn_orphans; then
    orphans=$(withdrawn_orphans | wc -l)
    failed "the agent's withdrawn list keeps $orphans addresses whose neighbour entries are gone (e.g. $(withdrawn_orphans | head -n 3 | tr '\n' ' ')): nothing will ever remove them"
fi
kill -0 "$AGENT_PID" 2>/dev/null || failed "the agent died"
status_json >"$OUT/status_end.json" || failed "the agent's status socket did not answer at the end"
touch "$LAB_DIR/stop"
_watch_gone() { ! kill -0 "$WATCH_PID" 2>/dev/null; }
wait_for 15 _watch_gone || failed "the watcher did not stop: $(tail -n 5 "$OUT/watch.err")"
[[ -s $OUT/watch.err ]] && log "watcher: $(tail -n 5 "$OUT/watch.err")"

# ---------------------------------------------------------------------------------------------
# The report, the RSS and withdrawal verdicts, and docs/ after a full run.
jq -n --arg mode "$MODE" --argjson seconds "$SECONDS_CHURN" --argjson rate "$RATE" \
    --argjson containers "$CONTAINERS" --argjson lifetime "$LIFETIME" --argjson liveness "$LIVENESS" \
    --argjson interval "$INTERVAL" --argjson warmup "$WARMUP_FRACTION" --argjson bound "$RSS_BOUND" \
    --argjson converged_ms "$converged_ms" --argjson converge_timeout "$CONVERGE_TIMEOUT" \
    --argjson held_s "$held_s" --argjson orphans "$orphans" --argjson live "$n_expected" --argjson lab "$(wc -l <<<"$BASELINE")" \
    --arg loadavg_start "$LOAD_START" --arg loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg kernel "$(uname -r)" --arg nproc "$(nproc)" \
    --arg ndpsync "$("$NDPSYNC" --version 2>&1 | head -n1)" \
    --arg commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --arg dirty "$(git -C "$REPO" status --porcelain -- src include CMakeLists.txt 2>/dev/null | wc -l)" \
    --argjson run_s "$((($(_now_us) - T_RUN) / 1000000))" \
    --argjson counters "$(jq -c .counters "$OUT/status_end.json" 2>/dev/null || echo null)" \
    --argjson failures "$(if [[ ${#FAILURES[@]} -gt 0 ]]; then printf '%s\0' "${FAILURES[@]}" | jq -Rsc 'split("\u0000") | map(select(length > 0))'; else echo '[]'; fi)" \
    '{mode: $mode, churn_s: $seconds, rate: $rate, containers: $containers, lifetime_s: $lifetime,
      liveness_timeout_s: $liveness, interval_s: $interval, warmup_fraction: $warmup, rss_bound: $bound,
      converged_ms: $converged_ms, converge_timeout_s: $converge_timeout, held_s: $held_s,
      withdrawn_orphans: $orphans,
      live_at_end: $live, lab_addresses: $lab, loadavg_start: $loadavg_start, loadavg_end: $loadavg_end,
      date: $date, kernel: $kernel, nproc: ($nproc | tonumber), ndpsync: $ndpsync, commit: $commit,
      src_dirty_files: ($dirty | tonumber), run_s: $run_s, counters_end: $counters,
      failures: $failures}' >"$OUT/result.json"
report_args=(report --dir "$OUT")
[[ $DOCS -eq 1 ]] && report_args+=(--docs "$REPO/docs")
if ! "$LAB_PYTHON" "$SOAK_SCRIPT" "${report_args[@]}" 2>"$OUT/report.err"; then
    while IFS= read -r line; do failed "$line"; done <"$OUT/report.err"
fi
echo "soak: results in $OUT ($((($(_now_us) - T_RUN) / 1000000)) s)"
if [[ ${#FAILURES[@]} -gt 0 ]]; then
    afail "churn soak ($MODE): ${#FAILURES[@]} check(s) failed:"$'\n'"$(printf -- '- %s\n' "${FAILURES[@]}")"
fi
echo "PASS: churn soak ($MODE, $SECONDS_CHURN s)"
