# shellcheck shell=bash
# test/lab/engines.sh — running a real container engine (Debian's docker.io, podman, lxd) inside
# the standard lab's host namespace, for the recipe tests (test/integration/test_recipe_*.sh).
# Source it after test/lab/agent.sh.
#
#   engine_ns_start          a private mount namespace in the host network namespace, held open
#                            by a sleeping process (ENGINE_HOLDER): cgroup2 on /sys/fs/cgroup
#                            (the lab's `ip netns exec` shows a bare sysfs there), tmpfs on /run,
#                            /var/lib and /etc/docker, so the engine's state, sockets, IPAM
#                            leases and keys never land on the machine.
#   in_engine_ns CMD...      run CMD in that mount namespace and the host network namespace,
#                            with the holder's root (-r: entering a mount namespace resets the
#                            root to the namespace's own, which would leave a chrooted test's
#                            root: test/vm/debian13.sh engines). A daemon started in the
#                            background: `nsenter -t "$ENGINE_HOLDER" -m -n -r -w DAEMON ... &`
#                            directly, so that $! is the daemon (nsenter execs it) and not a
#                            subshell running this function.
#   engine_rootfs_tar DIR    DIR/rootfs.tar: a busybox root file system to import as an image
#                            (no registry is reachable here).
#   root_untouched_snapshot  what an engine could leave in the root namespace or on the machine:
#                            docker0, the iptables/ip6tables rules, the engines' default state
#                            paths. Compare a snapshot from before with one from after.
#
# The holder lives in the host namespace, so lab_down kills it (and whatever the engine left
# running there) when it deletes the namespace; the mounts vanish with the mount namespace.

ENGINE_HOLDER=""

# skip REASON...: this engine cannot run here; exit 77 (skipped) with the reason.
skip() {
    echo "SKIP: $*"
    exit 77
}

engine_ns_start() {
    local ready=$LAB_DIR/engine-ns.ready
    rm -f "$ready"
    # shellcheck disable=SC2016  # expanded by the inner sh
    ip netns exec "$LAB_H" unshare -m --propagation private sh -c '
        set -e
        mount -t cgroup2 none /sys/fs/cgroup
        for d in /run /var/lib /etc/docker; do
            [ -d "$d" ] || continue
            mount -t tmpfs -o mode=0755 none "$d"
        done
        mkdir -p /run/netns /var/lib/cni /var/lib/containers
        touch "$1"
        exec sleep infinity' sh "$ready" >"$LAB_DIR/engine-ns.log" 2>&1 &
    ENGINE_HOLDER=$!
    lab_bg "$ENGINE_HOLDER"
    wait_for 5 test -e "$ready" ||
        fail "the engine's mount namespace did not come up: $(cat "$LAB_DIR/engine-ns.log")"
}

in_engine_ns() {
    nsenter -t "$ENGINE_HOLDER" -m -n -r -w "$@"
}

engine_rootfs_tar() {
    local dir=$1 applet bb
    bb=$(command -v busybox)
    mkdir -p "$dir/rootfs/bin"
    cp "$bb" "$dir/rootfs/bin/busybox"
    for applet in sh ping httpd ip sleep seq grep cat; do
        ln -s busybox "$dir/rootfs/bin/$applet"
    done
    tar -C "$dir/rootfs" -cf "$dir/rootfs.tar" .
}

# engine_prereqs: the reason the recipe tests cannot run here, or nothing.
engine_prereqs() {
    local tool
    for tool in unshare nsenter busybox ldd; do
        command -v "$tool" >/dev/null 2>&1 || {
            echo "$tool not found"
            return
        }
    done
    # A dynamic busybox would need its libraries inside the image.
    if ldd "$(command -v busybox)" >/dev/null 2>&1; then
        echo "busybox is not statically linked (apt-get install busybox-static)"
    fi
}

root_untouched_snapshot() {
    local t p
    ip -o link show dev docker0 2>/dev/null || true
    for t in iptables-save ip6tables-save; do
        if command -v "$t" >/dev/null 2>&1; then
            "$t" 2>/dev/null | grep -v '^#' || true
        fi
    done
    for p in /var/lib/docker /var/lib/containers /var/lib/cni /run/docker /run/containerd \
        /run/containers /run/libpod /etc/docker/key.json /etc/cni/net.d /var/lib/lxd /var/log/lxd \
        /run/lxd /var/snap/lxd; do
        [[ -e $p ]] && echo "exists: $p $(find "$p" 2>/dev/null | wc -l)"
    done
    return 0
}
