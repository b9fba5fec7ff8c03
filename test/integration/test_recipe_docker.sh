#!/usr/bin/env bash
# The Docker recipe (docs/recipes/docker.md), run for real with Debian's docker.io in the lab:
#   * dockerd runs in the lab's host namespace, in a mount namespace of its own (cgroup2 on
#     /sys/fs/cgroup; tmpfs on /run, /var/lib and /etc/docker, so neither its shims' sockets nor
#     its trust key land on the machine: test/lab/engines.sh), with its own data root, exec root,
#     pidfile and socket, and the
#     recipe's options: --ipv6 --fixed-cidr-v6 <a /112 of the lab's /64> --ip6tables=false;
#   * it sets all.forwarding=1 while the uplink still has accept_ra=1, so the host loses its RA
#     default route at once (the pitfall the recipe warns about; asserted, so this test shows it);
#   * the agent with the recipe's config (the uplink named) sets accept_ra=2, and the next RA
#     brings the default route back;
#   * a busybox container (imported from a rootfs tarball: no registry here) pings its gateway
#     once and then only listens; the agent proxies its address and docker0's, the router pings
#     both, and the host's default route holds;
#   * `docker rm -f` takes the container away: its entry is withdrawn, docker0's stays.
#
# dockerd never sees the root namespace: --iptables=false and --ip6tables=false (its tables
# would be the host namespace's anyway), and the test checks that the root namespace has no
# docker0, that its ip6tables/iptables rules are unchanged, and that none of Docker's default
# state paths (/var/lib/docker, /run/docker, /etc/docker/key.json, ...) appeared.
#
# Needs root, docker.io (dockerd, /usr/bin/docker, containerd, runc), busybox-static, unshare and
# nsenter; exits
# 77 (skipped) otherwise, or when dockerd cannot run here (the reason is printed). ~30 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_recipe_docker.sh
#
# DOCKER_IP6TABLES=default runs dockerd with no firewall option at all: Docker's own defaults
# (Docker 26: iptables on, ip6tables off, asserted; 27 and later: both on, as variant 1 below).
#
# DOCKER_IP6TABLES=1 runs the recipe's other variant: --experimental --iptables=true
# --ip6tables=true (Docker 20.10 refuses ip6tables without iptables), still only in the host
# namespace; the root namespace's rules are compared as always. Docker then sets the host namespace's ip6tables FORWARD policy to
# DROP and masquerades the /112; the test inserts the recipe's two FORWARD rules (ICMPv6 and
# tcp/80 from the uplink to the /112) before the router's ping.
# shellcheck disable=SC2016  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-ndk$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/engines.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/engines.sh"
skip_unless_root

# Debian's engine and client by path: another `docker` (a newer client) may come first on PATH.
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER=${DOCKER:-/usr/bin/docker}
[[ -x $DOCKERD ]] || skip "docker.io's dockerd not found at $DOCKERD (apt-get install docker.io)"
[[ -x $DOCKER ]] || skip "docker.io's client not found at $DOCKER (apt-get install docker.io)"
for tool in containerd runc; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (apt-get install docker.io)"
done
why=$(engine_prereqs)
[[ -z $why ]] || skip "$why"

# What the recipe configures (docs/recipes/docker.md): a /112 of the /64 for Docker's bridge.
DOCKER_CIDR=$LAB_P::d0c:0/112
DOCKER_GW=$LAB_P::d0c:1       # docker0's address: Docker takes the first one of fixed-cidr-v6
DOCKER_BIP=198.18.0.1/24      # IPv4 of docker0 (RFC 2544 range, exists only in the host namespace)
CT=${LAB}ct
IMAGE=ndpsync-busybox:lab
LIVENESS=5
DOCKER_IP6TABLES=${DOCKER_IP6TABLES:-0}
firewall_opts=(--iptables=false --ip6tables=false --ip-masq=false)
[[ $DOCKER_IP6TABLES == 1 ]] && firewall_opts=(--experimental --iptables=true --ip6tables=true)
[[ $DOCKER_IP6TABLES == default ]] && firewall_opts=()

D=""            # dockerd's private dir (set once the lab's temp dir exists)
DOCKERD_PID=""
root_before=""

# dk ARGS...: Debian's docker client against our dockerd, from the host namespace.
dk() {
    DOCKER_CONFIG=$D/client "$DOCKER" -H "unix://$D/docker.sock" "$@"
}

docker_cleanup() {
    [[ -n $D && -d $D ]] || return 0
    if [[ -n $DOCKERD_PID ]] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        dk rm -f "$CT" >/dev/null 2>&1 || true
        kill -TERM "$DOCKERD_PID" 2>/dev/null || true
        local _
        for _ in $(seq 100); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$DOCKERD_PID" 2>/dev/null || true
        wait "$DOCKERD_PID" 2>/dev/null || true
    fi
    DOCKERD_PID=""
    # containerd and its shims run in the host namespace too: lab_down kills what is left there.
}
# cleanup_all: dockerd, then the lab; then what must hold for the root namespace. Returns 1 when
# that does not hold.
cleanup_all() {
    local bad=0
    docker_cleanup
    lab_down
    # After lab_down: the namespaces (and the mount namespace holding dockerd's mounts) are gone.
    if [[ -n $root_before ]] && ! diff <(echo "$root_before") <(root_untouched_snapshot) >&2; then
        echo "FAIL: Docker left something in the root namespace or on the machine (diff above)" >&2
        bad=1
    fi
    return "$bad"
}
trap 'rc=$?; cleanup_all || rc=1; exit $rc' EXIT

ip link show dev docker0 >/dev/null 2>&1 && skip "the root namespace already has a docker0 (this test proves it gets none)"
root_before=$(root_untouched_snapshot)

T_START=$(_now_us)
lab_up
D=$LAB_DIR/docker
mkdir -p "$D/client"
echo '{}' >"$D/daemon.json"

host_has_default() { ip -n "$LAB_H" -6 route show default dev eth0 | grep 'proto ra' >/dev/null; }
host_lacks_default() { ! host_has_default; }

# ---------------------------------------------------------------------------------------------
section "1. a busybox image from a rootfs tarball"
engine_rootfs_tar "$D"
ok "rootfs tarball: $(du -k "$D/rootfs.tar" | cut -f1) KiB"

# ---------------------------------------------------------------------------------------------
section "2. dockerd in the host namespace (recipe options; own data root, exec root, socket)"
expect_eq "host eth0 accept_ra before Docker" 1 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
engine_ns_start
nsenter -t "$ENGINE_HOLDER" -m -n -r -w \
    "$DOCKERD" --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
    --pidfile "$D/dockerd.pid" -H "unix://$D/docker.sock" --storage-driver vfs \
    "${firewall_opts[@]}" --userland-proxy=false \
    --bip "$DOCKER_BIP" --ipv6 --fixed-cidr-v6 "$DOCKER_CIDR" \
    >"$LAB_DIR/dockerd.log" 2>&1 &
DOCKERD_PID=$!
dockerd_answers() { dk version --format '{{.Server.Version}}'; }
if ! wait_for 30 dockerd_answers; then
    kill -0 "$DOCKERD_PID" 2>/dev/null ||
        skip "dockerd cannot run here: $(tail -n 5 "$LAB_DIR/dockerd.log" | tr '\n' ' ')"
    fail "dockerd did not answer within 30 s: $(tail -n 20 "$LAB_DIR/dockerd.log")"
fi
ok "dockerd $(dk version --format '{{.Server.Version}}') answers on $D/docker.sock"
ip -n "$LAB_H" link show dev docker0 >/dev/null || fail "no docker0 in the host namespace"
ip link show dev docker0 >/dev/null 2>&1 && fail "docker0 appeared in the ROOT namespace"
ok "docker0 is in the host namespace, not in the root namespace"
expect_eq "docker0 has the first address of fixed-cidr-v6" "$DOCKER_GW/112" \
    "$(ip -n "$LAB_H" -j -6 addr show dev docker0 scope global | jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"')"
expect_eq "Docker set all.forwarding" 1 "$(sysctl_h net.ipv6.conf.all.forwarding)"
# The pitfall: forwarding=1 while the uplink takes RAs with accept_ra=1 drops its RA routes.
wait_for 2 host_lacks_default ||
    fail "the host kept its RA default route although Docker set forwarding=1 (accept_ra $(sysctl_h net.ipv6.conf.eth0.accept_ra))"
ok "the pitfall: the host lost its RA default route when Docker set all.forwarding=1"

# ---------------------------------------------------------------------------------------------
section "3. the agent with the recipe's config: accept_ra=2 on the uplink, the RA route comes back"
# The recipe's /etc/ndpsync/ndpsync.json, here given with --config.
cat >"$D/ndpsync.json" <<JSON
{
  // Name the uplink: Docker's forwarding=1 may have removed the default route that
  // zero-config detection looks for.
  "uplinks": ["eth0"]
}
JSON
ndpsync_h check-config --config "$D/ndpsync.json" >/dev/null || fail "check-config refused the recipe's config"
ok "ndpsync check-config accepts the recipe's config"
agent_start a1 --config "$D/ndpsync.json" --liveness-timeout "$LIVENESS"
wait_for 3 test "$(sysctl_h net.ipv6.conf.eth0.accept_ra)" = 2 ||
    afail "the agent did not set accept_ra=2 on eth0"
ok "the agent set accept_ra=2 on eth0"
t0=$(_now_us)
# radvd advertises every 3-10 s.
wait_for 15 host_has_default || afail "no RA default route 15 s after accept_ra=2"
ok "the next RA brought the default route back ($(elapsed_ms "$t0") ms)"
wait_for 3 owned_has "$DOCKER_GW" || afail "docker0's address $DOCKER_GW is not proxied"
expect_eq "status lists docker0's address (source address)" "docker0 address" \
    "$(status_q ".entries[] | select(.address == \"$DOCKER_GW\") | \"\(.interface) \(.source)\"")"

# ---------------------------------------------------------------------------------------------
section "4. a container that pings its gateway once, then only listens"
dk import "$D/rootfs.tar" "$IMAGE" >/dev/null || fail "docker import failed"
ok "docker import made $IMAGE"
# Docker puts the address on eth0 and brings it up before the command starts; the loop waits
# for duplicate address detection to finish, so that the one ping leaves from the global address
# (the host learns the container from that neighbour entry).
dk run -d --name "$CT" --network bridge "$IMAGE" /bin/sh -c "
    for i in \$(seq 50); do ip -6 addr show dev eth0 scope global | grep -q tentative || break; sleep 0.1; done
    ping -c1 -W2 $DOCKER_GW
    exec httpd -f -p 80" >/dev/null || fail "docker run failed: $(tail -n 5 "$LAB_DIR/dockerd.log")"
CT_ADDR=$(dk inspect -f '{{.NetworkSettings.GlobalIPv6Address}}' "$CT")
[[ -n $CT_ADDR ]] || fail "the container got no global IPv6 address"
ok "container $CT runs with $CT_ADDR (from fixed-cidr-v6 $DOCKER_CIDR)"
t0=$(_now_us)
wait_for 10 owned_has "$CT_ADDR" || afail "the agent did not proxy $CT_ADDR within 10 s"
ok "$CT_ADDR proxied ($(elapsed_ms "$t0") ms after docker run returned)"
expect_eq "status lists $CT_ADDR on docker0 (neighbour)" "docker0 neighbour" \
    "$(status_q ".entries[] | select(.address == \"$CT_ADDR\") | \"\(.interface) \(.source)\"")"
ip -n "$LAB_H" -6 neigh show proxy dev eth0 | grep -E "^$CT_ADDR .*proto" >/dev/null ||
    afail "ip -6 neigh show proxy has no line for $CT_ADDR"
ok "ip -6 neigh show proxy dev eth0 lists $CT_ADDR"
docker_major=$(dk version --format '{{.Server.Version}}' | cut -d. -f1)
if [[ $DOCKER_IP6TABLES == default && $docker_major -lt 27 ]]; then
    # Docker 26 (Debian 13's 26.1) still has ip6tables off unless asked (27 turned it on).
    expect_eq "Docker $docker_major's default: no ip6tables rules of its own" "" \
        "$(ip netns exec "$LAB_H" ip6tables-save | grep -i docker || true)"
elif [[ $DOCKER_IP6TABLES != 0 ]]; then
    expect_eq "with ip6tables, Docker set the FORWARD policy" "-P FORWARD DROP" \
        "$(ip netns exec "$LAB_H" ip6tables -S FORWARD | head -n1)"
    # The recipe's rules (docs/recipes/docker.md), at the top of FORWARD.
    ip netns exec "$LAB_H" ip6tables -I FORWARD 1 -i eth0 -o docker0 -d "$DOCKER_CIDR" -p ipv6-icmp -j ACCEPT
    ip netns exec "$LAB_H" ip6tables -I FORWARD 2 -i eth0 -o docker0 -d "$DOCKER_CIDR" -p tcp --dport 80 -j ACCEPT
    ok "the recipe's FORWARD rules inserted"
fi
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT_ADDR" || afail "the router cannot ping $CT_ADDR"
ok "the router pings the container at $CT_ADDR"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$DOCKER_GW" || afail "the router cannot ping $DOCKER_GW"
ok "the router pings docker0 at $DOCKER_GW"
# The listener answers too: the router fetches from the container's httpd (a 404 is an answer).
# The container may start its httpd a moment after it first speaks: ask until it answers.
http_answers() {
    ip netns exec "$LAB_R" busybox nc -w 3 "$CT_ADDR" 80 <<<$'GET / HTTP/1.0\r\n\r\n' >"$D/http.out" 2>&1 &&
        grep '^HTTP/1' "$D/http.out" >/dev/null
}
if wait_for 5 http_answers; then
    ok "the router reaches the container's httpd: $(head -n1 "$D/http.out" | tr -d '\r')"
else
    afail "no HTTP answer from [$CT_ADDR]:80: $(head -c 200 "$D/http.out")"
fi
hold_for 3 host_has_default || afail "the host lost its default route ($HOLD_BROKE_MS ms into the hold)"
ok "the host's RA default route held for 3 s ($HOLD_SAMPLES samples)"

# ---------------------------------------------------------------------------------------------
section "5. docker rm -f: the container's entry is withdrawn, docker0's stays"
t0=$(_now_us)
dk rm -f "$CT" >/dev/null || fail "docker rm -f $CT failed"
log "docker rm -f took $(elapsed_ms "$t0") ms"
wait_holding $((LIVENESS + 4)) 'owned_lacks "$CT_ADDR"' 'owned_has "$DOCKER_GW"' && rc=0 || rc=$?
case $rc in
    1) afail "$CT_ADDR still proxied $WAIT_MS ms after docker rm -f (neighbour: '$(neigh_state docker0 "$CT_ADDR")')" ;;
    2) afail "docker0's $DOCKER_GW lost its entry while $CT_ADDR was being withdrawn ($WAIT_MS ms)" ;;
esac
ok "$CT_ADDR withdrawn $WAIT_MS ms after docker rm -f (limit $((LIVENESS + 4)) s); $DOCKER_GW kept"
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"
host_has_default || afail "the host has no default route at the end"
ok "the host still has its RA default route"

# ---------------------------------------------------------------------------------------------
docker_cleanup
# dockerd stops its containerd, and containerd its shims: nothing of Docker's is left running.
left=$(ip netns pids "$LAB_H" | grep -vx -e "$AGENT_PID" -e "$ENGINE_HOLDER" | xargs -r ps -o comm= -p || true)
[[ -z $left ]] || fail "left running in the host namespace after dockerd stopped: $(tr '\n' ' ' <<<"$left")"
ok "dockerd stopped, and nothing of Docker's is left running"
trap - EXIT
cleanup_all || exit 1
ok "no docker0 in the root namespace; its iptables/ip6tables rules unchanged; lab removed"
echo "PASS: test_recipe_docker ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
