#!/usr/bin/env bash
# The Podman recipe (docs/recipes/podman.md), run for real in the lab with Debian 13's podman 5.4
# (netavark; test/vm/debian13.sh engines runs it chrooted in a Debian 13 root) or Debian 12's 4.3
# (CNI), whichever is installed:
#   * podman runs in the lab's host namespace, in a private mount namespace (test/lab/engines.sh)
#     with its own root, runroot and containers.conf;
#   * the recipe's network on a /112 of the /64, written as a file (netavark's JSON, or a CNI
#     conflist), because `podman network create --subnet` refuses any subnet that overlaps an
#     address of the host ("already used on the host"), and the /64 is on the uplink;
#   * netavark or the CNI bridge plugin sets all.forwarding=1 while the uplink has accept_ra=1:
#     the host loses its RA default route (asserted); the agent with the recipe's config (the
#     uplink named) sets accept_ra=2, and the next RA brings it back;
#   * a busybox container pings its gateway once, then only listens: the agent proxies it, the
#     router pings it and reaches its httpd; `podman rm -f` withdraws it (netavark: with the
#     bridge, which it deletes with its last container).
# Root namespace: no new interface, its iptables/ip6tables rules unchanged, none of the engines'
# default state paths (/var/lib/containers, /var/lib/cni, ...) appeared.
#
# Needs root, podman, busybox-static, unshare and nsenter; exits 77 (skipped) otherwise. ~25 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_recipe_podman.sh
# shellcheck disable=SC2016  # eval-ed conditions are single-quoted on purpose
set -euo pipefail

LAB=${LAB:-npm$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/engines.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/engines.sh"
skip_unless_root

PODMAN=${PODMAN:-/usr/bin/podman}
[[ -x $PODMAN ]] || skip "podman not found at $PODMAN (apt-get install podman)"
why=$(engine_prereqs)
[[ -z $why ]] || skip "$why"

# Podman 5 has only netavark; Podman 4 (Debian 12) defaults to CNI there.
BACKEND=cni
[[ $("$PODMAN" --version | grep -o '[0-9][0-9]*' | head -n1) -ge 5 ]] && BACKEND=netavark
NET_CIDR=$LAB_P::e:0/112
NET_GW=$LAB_P::e:1
NET_BRIDGE=podman1
CT=${LAB}ct
IMAGE=localhost/ndpsync-busybox:lab
LIVENESS=5

D=""
root_before=""

# pm ARGS...: podman with our private state, in the engine's mount namespace.
pm() {
    in_engine_ns env CONTAINERS_CONF="$D/containers.conf" \
        "$PODMAN" --root "$D/root" --runroot "$D/run" --storage-driver vfs "$@"
}

cleanup_all() {
    local bad=0
    if [[ -n $ENGINE_HOLDER ]] && kill -0 "$ENGINE_HOLDER" 2>/dev/null; then
        pm rm -af -t 0 >/dev/null 2>&1 || true
    fi
    lab_down   # kills the holder and conmon, which live in the host namespace
    if [[ -n $root_before ]] && ! diff <(echo "$root_before") <(root_untouched_snapshot) >&2; then
        echo "FAIL: Podman left something in the root namespace or on the machine (diff above)" >&2
        bad=1
    fi
    return "$bad"
}
trap 'rc=$?; cleanup_all || rc=1; exit $rc' EXIT

root_before=$(root_untouched_snapshot)
T_START=$(_now_us)
lab_up
D=$LAB_DIR/podman
mkdir -p "$D/networks" "$D/tmp"
host_has_default() { ip -n "$LAB_H" -6 route show default dev eth0 | grep 'proto ra' >/dev/null; }
host_lacks_default() { ! host_has_default; }

# ---------------------------------------------------------------------------------------------
section "1. podman's config, the recipe's network, the image"
# pids_limit and the ulimits: this machine's cgroup2 has no pids controller, and it forbids
# raising a hard rlimit; both are about this sandbox, not about the recipe.
cat >"$D/containers.conf" <<EOF
[containers]
pids_limit = 0
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$D/events.log"
tmp_dir = "$D/tmp"
[network]
network_backend = "$BACKEND"
network_config_dir = "$D/networks"
EOF
engine_ns_start
if [[ $BACKEND == netavark ]]; then
    # The recipe's network (docs/recipes/podman.md, Podman 5), with this lab's /112.
    # Podman 5.4 still refuses a subnet that overlaps the host's /64 ("already used on the
    # host"): the recipe's file, as `podman network inspect` prints a network.
    if pm network create --ipv6 --subnet "$NET_CIDR" v6try >"$D/create.out" 2>&1; then
        log "podman network create accepted $NET_CIDR (the recipe's note on it may be out of date)"
        pm network rm v6try >/dev/null 2>&1 || true
    else
        log "podman network create --subnet $NET_CIDR: $(tr '\n' ' ' <"$D/create.out")"
    fi
    cat >"$D/networks/v6net.json" <<EOF
{
  "name": "v6net",
  "id": "$(printf 'v6net' | sha256sum | cut -c1-64)",
  "driver": "bridge",
  "network_interface": "$NET_BRIDGE",
  "created": "2025-01-01T00:00:00Z",
  "subnets": [{"subnet": "$NET_CIDR", "gateway": "$NET_GW"}],
  "ipv6_enabled": true,
  "internal": false,
  "dns_enabled": false,
  "ipam_options": {"driver": "host-local"}
}
EOF
    "$LAB_PYTHON" -m json.tool "$D/networks/v6net.json" >/dev/null || fail "the network file is not JSON"
else
# The recipe's network file (docs/recipes/podman.md, Podman 4), with this lab's /112.
cat >"$D/networks/v6net.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "v6net",
  "plugins": [
    {
      "type": "bridge", "bridge": "$NET_BRIDGE", "isGateway": true, "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "routes": [{"dst": "::/0"}],
        "ranges": [[{"subnet": "$NET_CIDR", "gateway": "$NET_GW"}]]
      }
    },
    {"type": "firewall"},
    {"type": "tuning"}
  ]
}
EOF
"$LAB_PYTHON" -m json.tool "$D/networks/v6net.conflist" >/dev/null || fail "the network file is not JSON"
fi
pm network ls --format '{{.Name}}' | grep -x v6net >/dev/null ||
    fail "podman does not list the network v6net: $(pm network ls 2>&1)"
ok "podman $(pm version --format '{{.Client.Version}}') lists the network v6net ($NET_CIDR)"
# What the recipe says about Podman 4's `podman network create`: it refuses the /112 here.
if [[ $BACKEND == netavark ]]; then
    :   # asked above
elif pm network create --ipv6 --subnet "$NET_CIDR" v6try >"$D/create.out" 2>&1; then
    log "podman network create accepted $NET_CIDR (the recipe's note on it may be out of date)"
    pm network rm v6try >/dev/null 2>&1 || true
else
    log "podman network create --subnet $NET_CIDR: $(tr '\n' ' ' <"$D/create.out")"
fi
engine_rootfs_tar "$D"
pm import "$D/rootfs.tar" "$IMAGE" >/dev/null || fail "podman import failed"
ok "podman import made $IMAGE"

# ---------------------------------------------------------------------------------------------
section "2. a container that pings its gateway once, then only listens"
expect_eq "host eth0 accept_ra before Podman" 1 "$(sysctl_h net.ipv6.conf.eth0.accept_ra)"
# NET_RAW for busybox's ping, whose raw socket Podman 5's default capabilities no longer allow
# (the test's way to make the host learn the container; not part of the recipe).
pm run -d --name "$CT" --network v6net --cap-add NET_RAW "$IMAGE" /bin/sh -c "
    for i in \$(seq 50); do ip -6 addr show dev eth0 scope global | grep -q tentative || break; sleep 0.1; done
    ping -c1 -W2 $NET_GW
    exec httpd -f -p 80" >"$D/run.out" 2>&1 || fail "podman run failed: $(cat "$D/run.out")"
CT_ADDR=$(pm inspect -f '{{(index .NetworkSettings.Networks "v6net").GlobalIPv6Address}}' "$CT")
[[ -n $CT_ADDR ]] || fail "the container got no global IPv6 address"
ok "container $CT runs with $CT_ADDR (from $NET_CIDR)"
expect_eq "$NET_BRIDGE has the gateway address" "$NET_GW/112" \
    "$(ip -n "$LAB_H" -j -6 addr show dev "$NET_BRIDGE" scope global | jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"')"
expect_eq "$BACKEND set all.forwarding" 1 "$(sysctl_h net.ipv6.conf.all.forwarding)"
wait_for 2 host_lacks_default ||
    fail "the host kept its RA default route although forwarding=1 (accept_ra $(sysctl_h net.ipv6.conf.eth0.accept_ra))"
ok "the pitfall: the host lost its RA default route when forwarding went on"

# ---------------------------------------------------------------------------------------------
section "3. the agent with the recipe's config"
cat >"$D/ndpsync.json" <<'EOF'
{
  "uplinks": ["eth0"]
}
EOF
agent_start a1 --config "$D/ndpsync.json" --liveness-timeout "$LIVENESS"
t0=$(_now_us)
wait_for 15 host_has_default || afail "no RA default route 15 s after the agent started"
ok "accept_ra=$(sysctl_h net.ipv6.conf.eth0.accept_ra) on eth0; the next RA brought the default route back ($(elapsed_ms "$t0") ms)"
wait_for 5 owned_has "$CT_ADDR" || afail "the agent did not proxy $CT_ADDR"
expect_eq "status lists $CT_ADDR on $NET_BRIDGE (neighbour)" "$NET_BRIDGE neighbour" \
    "$(status_q ".entries[] | select(.address == \"$CT_ADDR\") | \"\(.interface) \(.source)\"")"
wait_for 3 owned_has "$NET_GW" || afail "the bridge's $NET_GW is not proxied"
ok "$NET_GW ($NET_BRIDGE's address) proxied too"
wait_for 5 ip netns exec "$LAB_R" ping -6 -c1 -W1 -n "$CT_ADDR" || afail "the router cannot ping $CT_ADDR"
ok "the router pings the container at $CT_ADDR"
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
section "4. podman rm -f: the container's entry is withdrawn (CNI: the bridge's stays; netavark: it goes with the bridge)"
pm rm -f -t 0 "$CT" >/dev/null || fail "podman rm -f $CT failed"
if [[ $BACKEND == netavark ]]; then
    # netavark deletes the network's bridge with its last container: both entries go at once.
    bridge_gone() { ! ip -n "$LAB_H" link show dev "$NET_BRIDGE"; }
    both_withdrawn() { owned_lacks "$CT_ADDR" && owned_lacks "$NET_GW"; }
    wait_for 3 bridge_gone ||
        fail "netavark kept $NET_BRIDGE after its last container (the recipe says it deletes it)"
    ok "netavark deleted $NET_BRIDGE with its last container"
    wait_for 3 both_withdrawn ||
        afail "$CT_ADDR or $NET_GW still proxied 3 s after $NET_BRIDGE was deleted"
    ok "$CT_ADDR and $NET_GW withdrawn with the bridge"
else
wait_holding $((LIVENESS + 4)) 'owned_lacks "$CT_ADDR"' 'owned_has "$NET_GW"' && rc=0 || rc=$?
case $rc in
    1) afail "$CT_ADDR still proxied $WAIT_MS ms after podman rm -f" ;;
    2) afail "$NET_GW lost its entry while $CT_ADDR was being withdrawn ($WAIT_MS ms)" ;;
esac
ok "$CT_ADDR withdrawn $WAIT_MS ms after podman rm -f; $NET_GW kept"
fi
expect_eq "counters.errors" 0 "$(status_q .counters.errors)"

# ---------------------------------------------------------------------------------------------
trap - EXIT
cleanup_all || exit 1
ok "nothing of Podman's left in the root namespace or on the machine; lab removed"
echo "PASS: test_recipe_podman ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
echo "$LAB_CHECKS passed, 0 failed"
