# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are for the scripts that source this file
# test/lab/lab.sh — the standard ndpsync test lab, built from network namespaces.
#
# Source this file, then call lab_up; always arrange for lab_down to run (trap lab_down EXIT).
#
#                      2001:db8:0:1::/64 (on-link at the router, advertised by radvd)
#   ${LAB}r  [wan ::1/64] ─────veth───── [eth0 SLAAC + RA default route]  ${LAB}h  (the "VM")
#                                         [vc1 ::1:1/112] ──veth── [eth0 ::1:2/112]   ${LAB}c1
#                                         [br0 ::2:1/112]
#                                            ├─ vb2 ──veth── [eth0 ::2:2/112]          ${LAB}c2
#                                            └─ vb3 ──veth── [eth0 ::2:3/112]          ${LAB}c3
#   plus an admin's own proxy entry (no proto) for ::beef on the host's eth0.
#
# Rules this library keeps, and tests built on it must keep too:
#   * The root network namespace is never changed. Every command is `ip -n NS …` or
#     `ip netns exec NS …`. lab_down fails loudly if the root namespace's fingerprint moved.
#   * Forwarding, proxy_ndp and accept_ra in the host namespace are left at their defaults:
#     setting them is ndpsync's job.
#   * Waits poll with a timeout (wait_for); there are no blind sleeps.
#
# Environment:
#   LAB      name prefix for this run (default nds<PID>, short on purpose)
#   NDPSYNC  the binary under test (default <repo>/build/ndpsync)
#   LAB_TIME_SCALE  factor for every wait_for timeout and hold_for window (a whole number, default
#            1; a window stops at LAB_HOLD_CAP_S, test/lab/agent.sh). The qemu guests of test/vm
#            run without KVM, 10-25x slower: there the waits get longer, the assertions stay the
#            same.
#   LAB_REDUCED  1: scripts repeat less (lab_sample), as the guests of scripts/test.sh run them;
#            every script still runs every section. Default 0: everything.
#   LAB_HOST_ROOT  1: the host is the root namespace itself (its name ${LAB}h attached to PID 1's
#            namespace), for what must run on a booted system: `netplan apply` under the guest's
#            own systemd and udev (test/vm/netplan_apply_test.sh). Only in a throw-away qemu guest
#            (NDPSYNC_VM=1, refused elsewhere); the root-namespace promise above then holds for
#            the machine, not for the guest, and lab_down deletes the links it made there.

LAB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_REPO=$(cd "$LAB_LIB_DIR/../.." && pwd)

LAB=${LAB:-nds$$}
NDPSYNC=${NDPSYNC:-$LAB_REPO/build/ndpsync}
LAB_TIME_SCALE=${LAB_TIME_SCALE:-1}
LAB_REDUCED=${LAB_REDUCED:-0}
LAB_HOST_ROOT=${LAB_HOST_ROOT:-0}
if [[ $LAB_HOST_ROOT == 1 && ${NDPSYNC_VM:-0} != 1 ]]; then
    echo "FAIL: LAB_HOST_ROOT=1 changes the root namespace: only in a throw-away guest (NDPSYNC_VM=1)" >&2
    exit 2
fi
LAB_PYTHON=${LAB_PYTHON:-/usr/bin/python3}   # Debian's; another python3 may come first on PATH
NDP_PROBE="$LAB_LIB_DIR/ndp_probe.py"

# Namespace names.
LAB_R=${LAB}r
LAB_H=${LAB}h
LAB_C1=${LAB}c1
LAB_C2=${LAB}c2
LAB_C3=${LAB}c3
LAB_NAMESPACES=("$LAB_R" "$LAB_H" "$LAB_C1" "$LAB_C2" "$LAB_C3")

# Addresses. The /64 is on-link at the router; containers use /112s out of it.
LAB_P=2001:db8:0:1
LAB_PREFIX=$LAB_P::/64
LAB_ROUTER=$LAB_P::1
LAB_VC1=$LAB_P::1:1       # host side of the c1 veth
LAB_CT1=$LAB_P::1:2       # container c1
LAB_BR0=$LAB_P::2:1       # host's bridge (gateway of c2 and c3)
LAB_CT2=$LAB_P::2:2       # container c2
LAB_CT3=$LAB_P::2:3       # container c3
LAB_ADMIN=$LAB_P::beef    # an admin's own proxy entry, not ndpsync's
# Everything ndpsync should proxy in the standard lab, in `sort` order.
LAB_EXPECTED=("$LAB_VC1" "$LAB_CT1" "$LAB_BR0" "$LAB_CT2" "$LAB_CT3")

LAB_OWNER_PROTO=176

# State (filled by lab_up, emptied by lab_down).
LAB_DIR=""             # private scratch dir (mode 0700): radvd config, logs, root fingerprint
LAB_STATE_DIR=""       # the agents' state_dir ($STATE_DIRECTORY): their sysctl journal
LAB_RADVD_PID=""
LAB_BG_PIDS=()
LAB_ROOT_FP=""
LAB_IS_UP=0

# ---------------------------------------------------------------------------------------------
# Small helpers

# fail MSG...: print and exit 1 (an EXIT trap still runs lab_down).
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# log MSG...: progress line on stderr, so stdout stays for data.
log() {
    echo "# $*" >&2
}

# skip_unless_root: exit 77 (ctest's "skipped") when this machine cannot run the lab.
skip_unless_root() {
    local reason=""
    if [[ $(id -u) -ne 0 ]]; then
        reason="needs root (network namespaces)"
    elif ! command -v ip >/dev/null 2>&1; then
        reason="iproute2 (ip) not installed"
    elif ! command -v radvd >/dev/null 2>&1; then
        reason="radvd not installed"
    elif ! command -v jq >/dev/null 2>&1; then
        reason="jq not installed"
    elif [[ ! -x $LAB_PYTHON ]]; then
        reason="$LAB_PYTHON not found"
    elif [[ ! -x $NDPSYNC ]]; then
        reason="ndpsync binary not found at $NDPSYNC (build it, or set NDPSYNC)"
    else
        # ip netns must actually work here (some sandboxes forbid unshare/mount).
        local probe="${LAB}probe"
        if ! ip netns add "$probe" >/dev/null 2>&1; then
            reason="ip netns unusable"
        else
            ip netns exec "$probe" true >/dev/null 2>&1 || reason="ip netns exec unusable"
            ip netns del "$probe" >/dev/null 2>&1 || true
        fi
    fi
    if [[ -n $reason ]]; then
        echo "SKIP: $reason"
        exit 77
    fi
}

# _now_us: monotonic-enough wall clock in microseconds (bash 5's EPOCHREALTIME).
_now_us() {
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((10#$t))
}

# scaled_secs S: S times LAB_TIME_SCALE (a whole number), as seconds with a fraction.
scaled_secs() {
    awk -v s="$1" -v f="$LAB_TIME_SCALE" 'BEGIN { printf "%.3f", s * f }'
}

# lab_reduced: true when LAB_REDUCED=1.
lab_reduced() {
    [[ $LAB_REDUCED == 1 ]]
}

# lab_sample I: whether to run the I-th (from 1) of a list of like cases: all of them normally,
# the 1st, 4th, 7th, ... when reduced.
lab_sample() {
    ! lab_reduced || (((($1 - 1) % 3) == 0))
}

# wait_for TIMEOUT_S CMD...: run CMD (quietly) every 0.1 s until it succeeds.
# Returns 0 once it succeeded, 1 on timeout. TIMEOUT_S may have a fraction ("2.5"); it is
# multiplied by LAB_TIME_SCALE.
wait_for() {
    local timeout=$1
    shift
    [[ $LAB_TIME_SCALE == 1 ]] || timeout=$(scaled_secs "$timeout")
    local whole=${timeout%%.*} frac=0
    [[ $timeout == *.* ]] && frac=${timeout#*.}
    frac=${frac}000000
    local deadline=$(($(_now_us) + ${whole:-0} * 1000000 + 10#${frac:0:6}))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        (($(_now_us) >= deadline)) && return 1
        sleep 0.1
    done
}

# wait_true TIMEOUT_S 'EXPR': wait_for with EXPR evaluated afresh on every try (a command
# substitution in wait_for's own arguments is expanded once, before the first try).
wait_true() {
    local timeout=$1
    shift
    wait_for "$timeout" eval "$*"
}

# ok MSG...: report one passed check ("ok N - MSG"), TAP style.
LAB_CHECKS=0
ok() {
    LAB_CHECKS=$((LAB_CHECKS + 1))
    echo "ok $LAB_CHECKS - $*"
}

# expect_eq WHAT EXPECTED GOT: pass (ok) or fail, showing both values on failure.
expect_eq() {
    local what=$1 expected=$2 got=$3
    if [[ $expected != "$got" ]]; then
        fail "$what"$'\n'"--- expected:"$'\n'"$expected"$'\n'"--- got:"$'\n'"$got"
    fi
    ok "$what"
}

# nds_run ARGS...: run ndpsync in the host namespace without tripping `set -e`; sets
# NDS_RC, NDS_OUT (stdout) and NDS_ERR (stderr).
nds_run() {
    local out err
    out=$(mktemp "$LAB_DIR/out.XXXXXX")
    err=$(mktemp "$LAB_DIR/err.XXXXXX")
    if ndpsync_h "$@" >"$out" 2>"$err"; then NDS_RC=0; else NDS_RC=$?; fi
    NDS_OUT=$(cat "$out")
    NDS_ERR=$(cat "$err")
    rm -f "$out" "$err"
}

# lab_bg PID: register a background process to be killed by lab_down.
lab_bg() {
    LAB_BG_PIDS+=("$1")
}

# ndpsync_h ARGS...: run the binary under test inside the host namespace.
ndpsync_h() {
    ip netns exec "$LAB_H" "$NDPSYNC" "$@"
}

# proxies_h: the host's proxy entries, one per line, sorted (stable for before/after diffs).
proxies_h() {
    ip -n "$LAB_H" -6 neigh show proxy | sort
}

# our_proxies_h: just the addresses of entries carrying ndpsync's owner tag on eth0, sorted.
our_proxies_h() {
    ip -n "$LAB_H" -6 neigh show proxy dev eth0 |
        awk -v p="proto $LAB_OWNER_PROTO" 'index($0, p) { print $1 }' | sort
}

# sysctls_h: the host values ndpsync manages, as "key = value" lines.
sysctls_h() {
    ip netns exec "$LAB_H" sysctl \
        net.ipv6.conf.all.proxy_ndp net.ipv6.conf.eth0.proxy_ndp \
        net.ipv6.conf.all.forwarding net.ipv6.conf.eth0.forwarding \
        net.ipv6.conf.default.forwarding \
        net.ipv6.conf.all.accept_ra net.ipv6.conf.eth0.accept_ra \
        net.ipv6.neigh.eth0.proxy_delay
}

# host_snapshot: what a refused run must leave byte-for-byte alike: the proxy table and sysctls.
host_snapshot() {
    proxies_h
    sysctls_h
}

# sysctl_h KEY: one value from the host namespace.
sysctl_h() {
    ip netns exec "$LAB_H" sysctl -n "$1"
}

# mac_of NS IFACE: the interface's MAC address.
mac_of() {
    ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'
}

# probe_r ARGS...: run ndp_probe.py from the router (out of wan, source = router's address).
probe_r() {
    ip netns exec "$LAB_R" "$LAB_PYTHON" "$NDP_PROBE" --iface wan --source "$LAB_ROUTER" "$@"
}

# root_fingerprint: hash of what we promise never to change in the root namespace.
# (Plain `ip -o link` has no counters, so it is stable while nobody touches the root ns.)
_root_state() {
    ip -o link
    ip -o addr
    ip -6 route
    ip route
    sysctl net.ipv6.conf.all.forwarding net.ipv6.conf.all.proxy_ndp
}
root_fingerprint() {
    _root_state 2>&1 | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------------------------------------
# Building the lab

# _ns_init NS: create a namespace with lo up and DAD off (set before any interface exists, so
# every interface created later inherits accept_dad=0 from "default": no 1 s DAD waits).
_ns_init() {
    local ns=$1
    if [[ $LAB_HOST_ROOT == 1 && $ns == "$LAB_H" ]]; then
        ip netns attach "$ns" 1
    else
        ip netns add "$ns"
    fi
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip -n "$ns" link set lo up
}

_host_has_ra_default() {
    ip -n "$LAB_H" -6 route show default dev eth0 | grep 'proto ra' >/dev/null
}

_host_has_slaac() {
    ip -n "$LAB_H" -6 addr show dev eth0 scope global | grep "inet6 $LAB_P:.* dynamic" >/dev/null
}

# _host_neigh_present NS IFACE ADDR: the host has a usable neighbour entry for ADDR.
_host_neigh_present() {
    ip -n "$LAB_H" -6 neigh show "$2" dev "$1" | grep -Eq 'REACHABLE|STALE|DELAY|PROBE'
}

# _radvd_conf [NEW_PREFIX]: the router's radvd.conf, advertising the lab's prefix; with
# NEW_PREFIX, that one too and the lab's own deprecated (preferred lifetime 0), as a provider
# renumbering does.
_radvd_conf() {
    local deprecate="" extra=""
    if [[ -n ${1:-} ]]; then
        deprecate="
        AdvPreferredLifetime 0;"
        extra="
    prefix $1 {
        AdvOnLink on;
        AdvAutonomous on;
    };"
    fi
    # radvd refuses world-writable configs; keep it private anyway.
    (umask 077 && cat >"$LAB_DIR/radvd.conf" <<EOF
interface wan {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 10;
    AdvDefaultLifetime 600;
    prefix $LAB_PREFIX {
        AdvOnLink on;
        AdvAutonomous on;$deprecate
    };$extra
};
EOF
    )
    chmod 0600 "$LAB_DIR/radvd.conf"
}

_start_radvd() {
    local conf=$LAB_DIR/radvd.conf
    _radvd_conf
    # `ip netns exec` execs radvd in place, so $! is radvd's own PID.
    ip netns exec "$LAB_R" radvd -n -C "$conf" -p "$LAB_DIR/radvd.pid" -m stderr \
        >"$LAB_DIR/radvd.log" 2>&1 &
    LAB_RADVD_PID=$!
    # Wait until it has opened its socket and is running (it writes the pidfile then).
    wait_for 5 test -s "$LAB_DIR/radvd.pid" ||
        fail "radvd did not start: $(cat "$LAB_DIR/radvd.log")"
}

# lab_up: build the standard lab. Takes ~2-10 s (mostly waiting for the first RA).
lab_up() {
    [[ $LAB_IS_UP -eq 1 ]] && return 0
    LAB_IS_UP=1   # set first so lab_down cleans up after a half-built lab too
    LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ndpsync-lab.XXXXXX")
    chmod 0700 "$LAB_DIR"
    # The sysctl journal of every ndpsync the lab runs (state_dir's default, as systemd's
    # StateDirectory= gives it): here, never in the machine's /var/lib/ndpsync. Outside the
    # private LAB_DIR: an agent started as root hands it to the user it becomes (run_as).
    LAB_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ndpsync-state.XXXXXX")
    export STATE_DIRECTORY=$LAB_STATE_DIR
    if [[ $LAB_HOST_ROOT != 1 ]]; then
        _root_state >"$LAB_DIR/root.before" 2>&1
        LAB_ROOT_FP=$(root_fingerprint)
    fi

    log "lab $LAB: creating namespaces ${LAB_NAMESPACES[*]}"
    local ns
    for ns in "${LAB_NAMESPACES[@]}"; do
        _ns_init "$ns"
    done

    # --- router: wan, the /64, forwarding, radvd ---------------------------------------------
    ip netns exec "$LAB_R" sysctl -qw net.ipv6.conf.all.forwarding=1
    ip -n "$LAB_R" link add name wan type veth peer name eth0 netns "$LAB_H"
    ip -n "$LAB_R" addr add "$LAB_ROUTER/64" dev wan
    ip -n "$LAB_R" link set wan up
    # radvd first, host eth0 second: the host's first Router Solicitation then gets an answer.
    _start_radvd

    # --- host uplink: defaults (accept_ra=1, forwarding=0, proxy_ndp=0) are ndpsync's to change
    ip -n "$LAB_H" link set eth0 up

    # --- host downstream: a veth to c1, and a bridge with c2 and c3 ---------------------------
    ip -n "$LAB_H" link add name vc1 type veth peer name eth0 netns "$LAB_C1"
    ip -n "$LAB_H" addr add "$LAB_VC1/112" dev vc1
    ip -n "$LAB_H" link set vc1 up

    # No STP (ports forward at once); no MLD snooping (the lab has no querier, keep it simple).
    # A fixed MAC: a bridge without one takes its lowest port MAC, and when a new port changes
    # it the kernel flushes the bridge's neighbours and containers keep the old MAC for a while.
    ip -n "$LAB_H" link add name br0 address 02:00:00:00:b0:01 type bridge stp_state 0 mcast_snooping 0
    ip -n "$LAB_H" addr add "$LAB_BR0/112" dev br0
    ip -n "$LAB_H" link set br0 up
    ip -n "$LAB_H" link add name vb2 type veth peer name eth0 netns "$LAB_C2"
    ip -n "$LAB_H" link add name vb3 type veth peer name eth0 netns "$LAB_C3"
    ip -n "$LAB_H" link set vb2 master br0 up
    ip -n "$LAB_H" link set vb3 master br0 up

    # Lab tuning: neighbours go REACHABLE -> STALE after 1-3 s, so tests see state changes fast.
    ip netns exec "$LAB_H" sysctl -qw \
        net.ipv6.neigh.vc1.base_reachable_time_ms=2000 \
        net.ipv6.neigh.br0.base_reachable_time_ms=2000

    # --- containers ----------------------------------------------------------------------------
    _container_up "$LAB_C1" "$LAB_CT1" "$LAB_VC1"
    _container_up "$LAB_C2" "$LAB_CT2" "$LAB_BR0"
    _container_up "$LAB_C3" "$LAB_CT3" "$LAB_BR0"

    lab_touch_containers

    # --- an admin's own proxy entry (no owner tag): ndpsync must never touch it ---------------
    ip -n "$LAB_H" -6 neigh add proxy "$LAB_ADMIN" dev eth0

    # --- wait for SLAAC and the RA default route on the host ---------------------------------
    # radvd answers the host's solicitation at once; unsolicited RAs come every 3-10 s anyway.
    wait_for 30 _host_has_ra_default ||
        fail "host got no RA default route in 30 s; radvd log: $(cat "$LAB_DIR/radvd.log")"
    wait_for 10 _host_has_slaac || fail "host got no SLAAC address on eth0 in 10 s"
    log "lab $LAB: up (host eth0 $(lab_host_slaac))"
}

# lab_touch_containers: each container pings its gateway once, so the host has its neighbour
# entry. The kernel's forced garbage collection (more than gc_thresh2 = 512 entries, as a bulk
# benchmark makes) evicts the oldest entries first: a test that needs them again calls this.
lab_touch_containers() {
    _container_ping "$LAB_C1" "$LAB_VC1"
    _container_ping "$LAB_C2" "$LAB_BR0"
    _container_ping "$LAB_C3" "$LAB_BR0"
    wait_for 5 _host_neigh_present vc1 "$LAB_CT1" || fail "host has no neighbour entry for $LAB_CT1"
    wait_for 5 _host_neigh_present br0 "$LAB_CT2" || fail "host has no neighbour entry for $LAB_CT2"
    wait_for 5 _host_neigh_present br0 "$LAB_CT3" || fail "host has no neighbour entry for $LAB_CT3"
}

# _container_up NS ADDR GATEWAY
_container_up() {
    local ns=$1 addr=$2 gw=$3
    ip -n "$ns" addr add "$addr/112" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" -6 route add default via "$gw" dev eth0
}

# _container_ping NS GATEWAY: one answered ping (retried briefly: the link may still be coming
# up, and a bridge port needs a moment).
_container_ping() {
    wait_for 10 ip netns exec "$1" ping -6 -c1 -W1 -n "$2" || fail "$1 cannot ping its gateway $2"
}

# lab_host_slaac: the host's SLAAC address on eth0.
lab_host_slaac() {
    ip -n "$LAB_H" -j -6 addr show dev eth0 scope global |
        jq -r '[.[0].addr_info[] | select(.dynamic == true) | .local][0] // empty'
}

# _kill_pid PID: TERM, wait up to 2 s, then KILL. Only PIDs this lab started.
_kill_pid() {
    local pid=$1
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    local _
    for _ in $(seq 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# lab_down: idempotent cleanup, safe to call from an EXIT trap on any path. Fails (exit 1) if the
# root namespace changed while the lab was up.
lab_down() {
    [[ $LAB_IS_UP -eq 1 ]] || return 0
    LAB_IS_UP=0
    local had_e=0
    [[ $- == *e* ]] && had_e=1
    set +e

    local pid
    for pid in "${LAB_BG_PIDS[@]}"; do
        _kill_pid "$pid"
    done
    LAB_BG_PIDS=()
    _kill_pid "$LAB_RADVD_PID"
    LAB_RADVD_PID=""

    local ns
    if [[ $LAB_HOST_ROOT == 1 ]]; then
        # The host is the guest's root namespace: its processes are the guest's own; the links
        # the lab made there go (each veth with its peer's namespace below, the bridge here).
        ip link del br0 2>/dev/null
    fi
    for ns in "${LAB_NAMESPACES[@]}"; do
        if [[ $LAB_HOST_ROOT == 1 && $ns == "$LAB_H" ]]; then
            ip netns del "$ns" 2>/dev/null   # the name only
            continue
        fi
        # Anything still running inside our namespaces was started by this lab.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            _kill_pid "$pid"
        done
        ip netns del "$ns" 2>/dev/null
    done

    local changed=0
    if [[ -n $LAB_ROOT_FP && $(root_fingerprint) != "$LAB_ROOT_FP" ]]; then
        changed=1
        echo "FAIL: the ROOT network namespace changed while lab $LAB was up:" >&2
        diff <(cat "$LAB_DIR/root.before") <(_root_state 2>&1) >&2
    fi
    [[ -n $LAB_DIR && -d $LAB_DIR ]] && rm -rf "$LAB_DIR"
    LAB_DIR=""
    [[ -n $LAB_STATE_DIR && -d $LAB_STATE_DIR ]] && rm -rf "$LAB_STATE_DIR"
    LAB_STATE_DIR=""
    [[ $had_e -eq 1 ]] && set -e
    if [[ $changed -eq 1 ]]; then
        exit 1
    fi
    # From an EXIT trap, returning (not exiting) keeps the script's own exit status.
    return 0
}
