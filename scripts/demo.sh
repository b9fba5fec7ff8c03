#!/usr/bin/env bash
# scripts/demo.sh — ndpsync in a few minutes, in throw-away network namespaces.
#
#   sudo scripts/demo.sh            (uses build/ndpsync; or set NDPSYNC=/path/to/ndpsync)
#
# It builds a lab that looks like a VM at a hosting provider (test/lab/lab.sh):
#
#   router (radvd, 2001:db8:0:1::/64 on-link) ── eth0 [host] ── vc1 ── c1  ::1:2
#                                                           └─ br0 ── c2  ::2:2
#                                                                  └─ c3  ::2:3
#
# The router believes the whole /64 is on its link, so it looks up each container with
# Neighbor Discovery on the host's eth0. Nobody answers until ndpsync installs proxy entries.
# The demo shows that, runs `ndpsync reconcile`, shows the proxy table, and pings every
# container from the router. It only touches its own namespaces, and removes them on exit.
set -euo pipefail

# Self-contained on a fresh Debian 12: the demo's dependencies from apt (install-deps.sh --demo:
# the build and the lab, no container engine, qemu or clang), then a build, unless NDPSYNC points
# at a binary already.
# Under sudo, PATH is sudo's secure_path; with `sudo -E` or `su` it may lack the sbin directories
# (ip, sysctl). Nothing here reads HOME.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $(id -u) -ne 0 ]]; then
    echo "demo: run as root (sudo scripts/demo.sh): it installs packages and creates namespaces" >&2
    exit 1
fi
# setup_step WHAT CMD...: run CMD quietly; on failure say what failed and show its last output.
setup_step() {
    local what=$1 log rc=0
    shift
    log=$(mktemp)
    "$@" >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "demo: $what failed (exit $rc): $*" >&2
        tail -n 40 "$log" | sed 's/^/   /' >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
}
if [[ -z ${NDPSYNC:-} ]]; then
    if ! "$repo/scripts/install-deps.sh" --demo; then
        echo "demo: scripts/install-deps.sh failed; see its message above" >&2
        exit 1
    fi
    setup_step "configuring the build" \
        cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    setup_step "building ndpsync" cmake --build "$repo/build" -j"$(nproc)" --target ndpsync
fi

# shellcheck source=test/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/../test/lab/lab.sh"

if ! reason=$(skip_unless_root); then
    echo "demo cannot run here: ${reason#SKIP: }" >&2
    exit 1
fi
trap lab_down EXIT

RESULTS=()   # "PASS|FAIL<TAB>what"
record() {   # record PASS|FAIL WHAT
    RESULTS+=("$1"$'\t'"$2")
    echo "   -> $1"
}
section() {
    echo
    echo "== $*"
}
indent() { sed 's/^/   /'; }

# show CMD...: print a command as a reader would type it, then run it, output indented.
show() {
    echo "\$ $*"
    "$@" 2>&1 | indent
}

section "1. Building the lab (namespaces ${LAB}r, ${LAB}h, ${LAB}c1..c3)"
lab_up   # not in a pipeline: lab_up must run in this shell to keep its state for lab_down
echo "   host eth0 got $(lab_host_slaac) and a default route from the router's RA"

section "2. Before ndpsync: the router cannot reach container c1 ($LAB_CT1)"
echo "\$ ip netns exec ${LAB_R} ping -6 -c1 -W2 $LAB_CT1"
if out=$(ip netns exec "$LAB_R" ping -6 -c1 -W2 -n "$LAB_CT1" 2>&1); then
    indent <<<"$out"
    record FAIL "before ndpsync, router -> c1 should fail (nobody answers NDP for it)"
else
    indent <<<"$out"
    record PASS "before ndpsync, router -> c1 fails as expected"
fi

section "3. ndpsync reconcile (inside the host namespace)"
echo "\$ ip netns exec ${LAB_H} ndpsync reconcile"
if ndpsync_h reconcile 2>&1 | indent; then
    record PASS "ndpsync reconcile exits 0"
else
    record FAIL "ndpsync reconcile exits 0"
fi

section "4. The host's proxy table (proto $LAB_OWNER_PROTO = ndpsync's; ::beef is an admin's own)"
show ip -n "$LAB_H" -6 neigh show proxy
echo "\$ ip netns exec ${LAB_H} sysctl net.ipv6.conf.all.proxy_ndp ..."
sysctls_h | indent

section "5. The router pings every container and both host gateways"
for a in "$LAB_CT1" "$LAB_CT2" "$LAB_CT3" "$LAB_VC1" "$LAB_BR0"; do
    if out=$(ip netns exec "$LAB_R" ping -6 -c1 -W2 -n "$a" 2>&1); then
        echo "   router -> $a: $(grep -o 'time=[0-9.]* ms' <<<"$out" || echo ok)"
        record PASS "router pings $a"
    else
        echo "   router -> $a: no answer"
        record FAIL "router pings $a"
    fi
done

section "6. The agent: ndpsync run keeps the table right as containers come and go"
AGENT_SOCK=$LAB_DIR/status.sock
echo "\$ ip netns exec ${LAB_H} ndpsync run --status-socket $AGENT_SOCK --liveness-timeout 5 &"
ip netns exec "$LAB_H" "$NDPSYNC" run --status-socket "$AGENT_SOCK" --liveness-timeout 5 \
    >"$LAB_DIR/agent.log" 2>&1 &
lab_bg $!
agent_answers() { ndpsync_h status --socket "$AGENT_SOCK" --json >/dev/null 2>&1; }
if wait_for 5 agent_answers; then record PASS "agent started"; else record FAIL "agent started"; fi

LAB_CT4=$LAB_P::2:4
echo "   a new container c4 ($LAB_CT4) starts on br0 and says hello to its gateway"
LAB_C4=${LAB}c4
LAB_NAMESPACES+=("$LAB_C4")
_ns_init "$LAB_C4"
ip -n "$LAB_H" link add name vb4 type veth peer name eth0 netns "$LAB_C4"
ip -n "$LAB_H" link set vb4 master br0 up
_container_up "$LAB_C4" "$LAB_CT4" "$LAB_BR0"
t0=$(_now_us)
_container_ping "$LAB_C4" "$LAB_BR0"
has_entry() { ip -n "$LAB_H" -6 neigh show proxy | grep "^$1 .*proto $LAB_OWNER_PROTO" >/dev/null; }
if wait_for 5 has_entry "$LAB_CT4"; then
    echo "   proxied $(( ($(_now_us) - t0) / 1000 )) ms after its first packet"
    record PASS "c4 proxied by the agent"
else
    record FAIL "c4 proxied by the agent"
fi
if ip netns exec "$LAB_R" ping -6 -c1 -W2 -n "$LAB_CT4" >/dev/null 2>&1; then
    record PASS "router pings the new container c4"
else
    record FAIL "router pings the new container c4"
fi
show ip netns exec "$LAB_H" "$NDPSYNC" status --socket "$AGENT_SOCK"

echo "   c4 stops (its veth goes away; the bridge's neighbour entry for it lingers)"
ip -n "$LAB_H" link del vb4
no_entry() { ! has_entry "$1"; }
t0=$(_now_us)
if wait_for 15 no_entry "$LAB_CT4"; then
    echo "   withdrawn $(( ($(_now_us) - t0) / 1000 )) ms later (probe unanswered for the 5 s liveness timeout)"
    record PASS "c4 withdrawn after it stopped"
else
    record FAIL "c4 withdrawn after it stopped"
fi
for a in "$LAB_CT2" "$LAB_CT3"; do
    if has_entry "$a"; then record PASS "$a kept its entry"; else record FAIL "$a kept its entry"; fi
done
echo "   the agent's log:"
grep -E "proxying|withdrew|sysctl" "$LAB_DIR/agent.log" | sed 's/^/     /' | tail -12

section "Summary"
failed=0
for r in "${RESULTS[@]}"; do
    printf '   %s  %s\n' "${r%%$'\t'*}" "${r#*$'\t'}"
    [[ $r == PASS* ]] || failed=$((failed + 1))
done
echo
if [[ $failed -eq 0 ]]; then
    echo "DEMO PASS (${#RESULTS[@]} checks)"
else
    echo "DEMO FAIL ($failed of ${#RESULTS[@]} checks failed)"
fi
# The EXIT trap removes the namespaces (and checks the root namespace was left alone).
[[ $failed -eq 0 ]]
