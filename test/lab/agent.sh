# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are for the scripts that source this file
# test/lab/agent.sh — helpers for integration tests of the background agent (`ndpsync run`).
#
# Sources test/lab/lab.sh (the standard lab) and adds:
#   agent_start NAME ARGS...   start `ndpsync run` in the host ns with a private status socket
#                              ($LAB_DIR/NAME.sock) and a log ($LAB_DIR/NAME.log, level
#                              $AGENT_LOG_LEVEL, default debug);
#                              sets AGENT_PID, AGENT_SOCK, AGENT_LOG; waits until it answers.
#   agent_stop_term TIMEOUT_S  SIGTERM the agent, wait; sets AGENT_RC (exit status), AGENT_STOP_MS.
#   agent_kill9                SIGKILL the agent (no cleanup by it).
#   status_json                the agent's status document on stdout (fails if none).
#   status_q JQ_FILTER         one jq query against a fresh status document.
#   agent_log_tail [N]         the last N (default 60) lines of the agent's log, for failures.
#   afail MSG...               fail, with the agent's log tail appended.
#   owned_set                  sorted addresses of proto-176 proxy entries on eth0 (= our_proxies_h).
#   owned_has ADDR / owned_lacks ADDR
#   owned_is "LIST"            owned_set equals LIST (newline-separated, sorted)
#   section TITLE              "## TITLE [t=.. ms]" progress heading.
#   add_container NS VETH_HOST ADDR GW [BRIDGE]
#                              a new container namespace behind a veth (into BRIDGE when given);
#                              registered for lab_down's cleanup via LAB_NAMESPACES.
#
# Every test: source this file, skip_unless_root, trap lab_down EXIT, lab_up.

# shellcheck source=test/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

AGENT_PID=""
AGENT_SOCK=""
AGENT_LOG=""
AGENT_RC=""
AGENT_STOP_MS=""
T_START=${T_START:-$(_now_us)}

section() {
    printf '## %s  [t=%d ms]\n' "$*" $((($(_now_us) - T_START) / 1000))
}

elapsed_ms() {   # elapsed_ms T0_US
    echo $((($(_now_us) - $1) / 1000))
}

agent_log_tail() {
    local n=${1:-60}
    if [[ -n $AGENT_LOG && -f $AGENT_LOG ]]; then
        echo "--- last $n lines of $AGENT_LOG:"
        tail -n "$n" "$AGENT_LOG"
    fi
}

# afail MSG...: fail with the agent's log tail and the proxy table; the lab's logs (agent,
# monitors) are kept in ${AGENT_KEEP_DIR:-/tmp}/ndpsync-fail-$LAB/ (the lab dir itself is removed).
afail() {
    local keep=${AGENT_KEEP_DIR:-${TMPDIR:-/tmp}}/ndpsync-fail-$LAB
    if [[ -n $LAB_DIR && -d $LAB_DIR ]] && mkdir -p "$keep" 2>/dev/null; then
        cp "$LAB_DIR"/*.log "$keep"/ 2>/dev/null || true
        proxies_h >"$keep/proxies.txt" 2>&1 || true
        ip -n "$LAB_H" -6 neigh show >"$keep/neigh.txt" 2>&1 || true
        status_json >"$keep/status.json" 2>/dev/null || true
    fi
    fail "$*"$'\n'"$(agent_log_tail 80)"$'\n'"--- proxy table now:"$'\n'"$(proxies_h 2>&1)"$'\n'"--- logs kept in $keep"
}

_agent_answers() {
    ndpsync_h status --socket "$AGENT_SOCK" --json >/dev/null 2>&1
}

# agent_start NAME ARGS...: ARGS go to `ndpsync run` after the status socket and log level.
# The lab's agents keep uid 0 (--run-as root, or AGENT_RUN_AS): their configs, sockets and metrics
# files live in the lab's private 0700 directory, which the default user (nobody) cannot enter.
# test_unprivileged.sh runs the default, a root-started agent that becomes nobody.
agent_start() {
    local name=$1
    shift
    AGENT_SOCK=$LAB_DIR/$name.sock
    AGENT_LOG=$LAB_DIR/$name.log
    AGENT_RC=""
    # `ip netns exec` execs ndpsync in place, so $! is the agent's own PID.
    ip netns exec "$LAB_H" "$NDPSYNC" run --status-socket "$AGENT_SOCK" \
        --log-level "${AGENT_LOG_LEVEL:-debug}" --run-as "${AGENT_RUN_AS:-root}" "$@" \
        >>"$AGENT_LOG" 2>&1 &
    AGENT_PID=$!
    lab_bg "$AGENT_PID"
    if ! wait_for 5 _agent_answers; then
        kill -0 "$AGENT_PID" 2>/dev/null || afail "agent '$name' ($*) died at start"
        afail "agent '$name' ($*) did not answer on $AGENT_SOCK within 5 s"
    fi
}

# agent_stop_term TIMEOUT_S: SIGTERM; AGENT_RC = exit status ("timeout" if still running).
agent_stop_term() {
    local timeout=$1 t0
    t0=$(_now_us)
    kill -TERM "$AGENT_PID"
    if wait_for "$timeout" _agent_gone; then
        AGENT_STOP_MS=$(elapsed_ms "$t0")
        if wait "$AGENT_PID" 2>/dev/null; then AGENT_RC=0; else AGENT_RC=$?; fi
    else
        AGENT_STOP_MS=$(elapsed_ms "$t0")
        AGENT_RC=timeout
    fi
}
_agent_gone() {
    ! kill -0 "$AGENT_PID" 2>/dev/null
}

agent_kill9() {
    kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true
}

status_json() {
    ndpsync_h status --socket "$AGENT_SOCK" --json
}

status_q() {
    local doc
    doc=$(status_json) || return 1
    jq -r "$1" <<<"$doc"
}

owned_set() {
    our_proxies_h
}
owned_has() {
    our_proxies_h | grep -xF "$1" >/dev/null
}
owned_lacks() {
    ! our_proxies_h | grep -xF "$1" >/dev/null
}
owned_is() {
    [[ $(our_proxies_h) == "$1" ]]
}

# lab_expected_minus ADDR...: the standard lab's expected owned set, without ADDRs, sorted.
lab_expected_minus() {
    local out a
    out=$(printf '%s\n' "${LAB_EXPECTED[@]}")
    for a in "$@"; do
        out=$(grep -vxF "$a" <<<"$out" || true)
    done
    sort <<<"$out" | sed '/^$/d'
}

# add_container NS VETH_HOST ADDR GW [BRIDGE]
add_container() {
    local ns=$1 veth=$2 addr=$3 gw=$4 bridge=${5:-}
    LAB_NAMESPACES+=("$ns")
    _ns_init "$ns"
    ip -n "$LAB_H" link add name "$veth" type veth peer name eth0 netns "$ns"
    if [[ -n $bridge ]]; then
        ip -n "$LAB_H" link set "$veth" master "$bridge" up
    else
        ip -n "$LAB_H" link set "$veth" up
    fi
    _container_up "$ns" "$addr" "$gw"
}

# hold_window SECONDS: the window hold_for holds for SECONDS, in seconds with a fraction: SECONDS
# times LAB_TIME_SCALE, but at most max(SECONDS, LAB_HOLD_CAP_S). A hold proves that nothing goes
# wrong while the agent would have reacted; on a slow guest that reaction is slowed too (a few
# seconds at most), so the window grows with the scale, but ten times a native window that was
# chosen with a wide margin would only make the guest phase longer, so it stops at the cap.
LAB_HOLD_CAP_S=${LAB_HOLD_CAP_S:-10}
hold_window() {
    awk -v s="$1" -v f="$LAB_TIME_SCALE" -v c="$LAB_HOLD_CAP_S" \
        'BEGIN { w = s * f; m = s > c ? s : c; printf "%g", w < m ? w : m }'
}

# hold_for SECONDS CMD...: CMD must succeed on every sample (every 0.1 s) for hold_window SECONDS.
# Returns 0, or 1 at the first failed sample (HOLD_BROKE_MS = when, ms after the start).
# HOLD_SECS = the window, for messages.
HOLD_BROKE_MS=""
HOLD_SAMPLES=0
HOLD_SECS=""
hold_for() {
    local secs
    secs=$(hold_window "$1")
    shift
    HOLD_SECS=$secs
    local t0 deadline
    t0=$(_now_us)
    deadline=$((t0 + $(_secs_to_us "$secs")))
    HOLD_SAMPLES=0
    while true; do
        HOLD_SAMPLES=$((HOLD_SAMPLES + 1))
        if ! "$@" >/dev/null 2>&1; then
            HOLD_BROKE_MS=$(elapsed_ms "$t0")
            return 1
        fi
        (($(_now_us) >= deadline)) && return 0
        sleep 0.1
    done
}

# wait_holding TIMEOUT_S COND HOLD: poll every 0.1 s (TIMEOUT_S scaled by LAB_TIME_SCALE) until
# `eval COND` succeeds, checking that `eval HOLD` succeeds on every sample. Returns 0 (COND met), 1 (timeout), 2 (HOLD broke).
# WAIT_MS = elapsed ms; HOLD_SAMPLES = samples taken.
WAIT_MS=""
wait_holding() {
    local timeout=$1 cond=$2 hold=$3 t0 deadline
    [[ $LAB_TIME_SCALE == 1 ]] || timeout=$(scaled_secs "$timeout")
    t0=$(_now_us)
    deadline=$((t0 + $(_secs_to_us "$timeout")))
    HOLD_SAMPLES=0
    while true; do
        HOLD_SAMPLES=$((HOLD_SAMPLES + 1))
        if ! eval "$hold" >/dev/null 2>&1; then
            WAIT_MS=$(elapsed_ms "$t0")
            return 2
        fi
        if eval "$cond" >/dev/null 2>&1; then
            WAIT_MS=$(elapsed_ms "$t0")
            return 0
        fi
        if (($(_now_us) >= deadline)); then
            WAIT_MS=$(elapsed_ms "$t0")
            return 1
        fi
        sleep 0.1
    done
}

_secs_to_us() {
    local s=$1 whole frac=0
    whole=${s%%.*}
    [[ $s == *.* ]] && frac=${s#*.}
    frac=${frac}000000
    echo $((${whole:-0} * 1000000 + 10#${frac:0:6}))
}

# neigh_state IFACE ADDR: the host's neighbour state for ADDR on IFACE ("" when none).
# snmp6 NS COUNTER: a counter of the namespace's /proc/net/snmp6.
snmp6() {
    # shellcheck disable=SC2016  # awk's own variables
    ip netns exec "$1" awk -v k="$2" '$1 == k { print $2 }' /proc/net/snmp6
}

neigh_state() {
    ip -n "$LAB_H" -6 neigh show "$2" dev "$1" | awk '{ print $NF }' | head -n1
}

