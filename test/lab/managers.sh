# shellcheck shell=bash
# test/lab/managers.sh — what the network-manager tests (test/integration/test_manager_*.sh)
# share: the host's default route, watched with `ip monitor route`, and an event run under the
# router's pings, measured the same way for every manager (docs/operations.md's table). Source
# after test/lab/agent.sh.
#
#   default_routes, default_route   the host's default routes on eth0 / whether there is one
#   uplink_sysctl NAME              eth0's net.ipv6.conf value in the host namespace
#   route_watch start|stop          ROUTE_DELETED and ROUTE_GAP_MS between the two
#   event NAME PINGS CMD...         CMD under the router's pings; prints "# event NAME: ..."
#   agent_on_kernel_ras NAME        the agent started again as at boot, before the manager
#   lab_renumber                    the router advertises a second prefix and deprecates the
#                                   lab's own, as a provider renumbering does

# default_routes: the host's default routes on eth0, one per line as `ip monitor route` prints
# them (with their device), without their lifetimes.
default_routes() {
    ip -n "$LAB_H" -6 route show default | grep ' dev eth0 ' | sed -E 's/ expires [0-9]+sec//' || true
}
default_route() {
    [[ -n $(default_routes) ]]
}
# route_watch start|stop: `ip monitor route` on the host between the two; stop sets
# ROUTE_DELETED (default routes on eth0 deleted) and ROUTE_GAP_MS (the longest time without any
# default route on eth0, from the monitor's timestamps; -1: none at the end).
route_watch() {
    local file=$LAB_DIR/route-monitor.txt
    if [[ $1 == start ]]; then
        default_routes >"$LAB_DIR/routes-at-start.txt"
        ip -n "$LAB_H" -6 -ts monitor route >"$file" 2>&1 &
        ROUTE_WATCH_PID=$!
        lab_bg "$ROUTE_WATCH_PID"
        sleep 0.2   # the monitor's socket is bound
        return
    fi
    sleep 0.2
    kill "$ROUTE_WATCH_PID" 2>/dev/null || true
    wait "$ROUTE_WATCH_PID" 2>/dev/null || true
    cat "$file" >>"$LAB_DIR/route-monitor-all.txt"
    ROUTE_DELETED=$(grep -c '^\[[^]]*\] Deleted default .* dev eth0 ' "$file" || true)
    ROUTE_GAP_MS=$(awk '
        FNR == NR { present[$0] = 1; n++; next }
        !/ default / || !/ dev eth0 / { next }
        {
            split(substr($1, 2, length($1) - 2), d, "T"); split(d[2], hms, ":")
            t = (hms[1] * 3600 + hms[2] * 60 + hms[3]) * 1000
            line = $0; sub(/^\[[^]]*\] /, "", line); sub(/ expires [0-9]+sec/, "", line)
            if (sub(/^Deleted /, "", line)) {
                if (line in present) { delete present[line]; n-- }
                if (n == 0 && !since) since = t
            } else {
                if (n == 0 && since) { if (t - since > gap) gap = t - since; since = 0 }
                if (!(line in present)) { present[line] = 1; n++ }
            }
        }
        END { if (since) gap = -1; printf "%d\n", gap }' "$LAB_DIR/routes-at-start.txt" "$file")
}

# event NAME PINGS CMD...: CMD while the router pings c1 every 100 ms (PINGS of them, the first
# 0.5 s before CMD) and route_watch runs; then every entry must be back within 5 s and a default
# route within 15 s. Prints the event's line for docs/operations.md's table and sets LOST,
# ENTRIES_MS and ROUTE_MS (after CMD returned), ROUTE_DELETED, ROUTE_GAP_MS and REPAIRS (the
# agent's sysctl repairs), WRITES (the agent's sysctl writes).
event() {
    local name=$1 pings=$2
    shift 2
    local repairs0 writes0 ping_pid t_done received
    repairs0=$(status_q .counters.sysctl_repairs)
    writes0=$(grep -c ' info sysctl ' "$AGENT_LOG" || true)
    route_watch start
    ip netns exec "$LAB_R" ping -6 -n -i 0.1 -c "$pings" -W 1 "$LAB_CT1" >"$LAB_DIR/pings-$name.txt" 2>&1 &
    ping_pid=$!
    lab_bg "$ping_pid"
    sleep 0.5
    "$@"
    t_done=$(_now_us)
    wait_for 5 owned_is "$(lab_expected_minus)" || afail "$name: the entries were not back within 5 s: $(owned_set)"
    ENTRIES_MS=$(elapsed_ms "$t_done")
    wait_for 15 default_route || afail "$name: no default route 15 s after"
    ROUTE_MS=$(elapsed_ms "$t_done")
    wait "$ping_pid" || true
    route_watch stop
    received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_DIR/pings-$name.txt")
    LOST=$((pings - ${received:-0}))
    REPAIRS=$(($(status_q .counters.sysctl_repairs) - repairs0))
    WRITES=$(($(grep -c ' info sysctl ' "$AGENT_LOG" || true) - writes0))
    echo "# event $name: $LOST of $pings pings lost; entries back ${ENTRIES_MS} ms and a default route ${ROUTE_MS} ms after it returned; default route deleted $ROUTE_DELETED times, longest without ${ROUTE_GAP_MS} ms; the agent's sysctl writes $WRITES, repairs $REPAIRS"
    # Which writes: the agent's own log lines, to tell a repair from an oscillation.
    ((WRITES == 0)) || grep ' info sysctl ' "$AGENT_LOG" | tail -n "$WRITES" | sed 's/^/#   /'
}
uplink_sysctl() {
    ip netns exec "$LAB_H" cat "/proc/sys/net/ipv6/conf/eth0/$1"
}


# agent_on_kernel_ras NAME: the agent (stopped first) starts again as at boot, before the
# manager: forwarding off and the kernel taking the RAs (accept_ra 1), its RA default route
# there; the agent installs every entry and sets accept_ra 2. Stop the manager first.
agent_on_kernel_ras() {
    agent_stop_term 5
    ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.forwarding=0 net.ipv6.conf.eth0.accept_ra=1
    wait_for 15 default_route || afail "no kernel RA default route with accept_ra 1"
    agent_start "$1"
    wait_for 10 owned_is "$(lab_expected_minus)" || afail "the agent did not install the lab's entries"
    expect_eq "the agent's accept_ra for the kernel's RAs" 2 "$(uplink_sysctl accept_ra)"
}

# The prefix lab_renumber adds; the lab's own stays valid but deprecated, so the containers keep
# their addresses and the router keeps reaching them.
LAB_P_NEW=2001:db8:0:2
lab_renumber() {
    _radvd_conf "$LAB_P_NEW::/64"
    kill -HUP "$LAB_RADVD_PID"
    # radvd sends at once on SIGHUP, then every 3-10 s: two more chances within 25 s.
    wait_for 25 sh -c "ip -n '$LAB_H' -6 addr show dev eth0 | grep -q 'inet6 $LAB_P_NEW:'" ||
        afail "no address from the new prefix $LAB_P_NEW::/64 on the host's eth0 within 25 s: $(_renumber_state)"
}
# _renumber_state: what decides whether the host takes the new prefix, for a failure's message.
_renumber_state() {
    echo "eth0: accept_ra $(uplink_sysctl accept_ra), autoconf $(uplink_sysctl autoconf)," \
        "forwarding $(uplink_sysctl forwarding), disable_ipv6 $(uplink_sysctl disable_ipv6)"
    ip -n "$LAB_H" -6 addr show dev eth0
    ip -n "$LAB_H" link show dev eth0
    echo "--- radvd (pid $LAB_RADVD_PID):"
    tail -n 15 "$LAB_DIR/radvd.log"
}
