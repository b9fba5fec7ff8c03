# shellcheck shell=bash
# test/lab/debian_root.sh — a Debian root made with mmdebstrap from Debian's registry, cached
# under the build folder, whose programs (a network manager) run chrooted in a lab namespace and
# manage that namespace's links as on a real host. Source after test/lab/lab.sh.
#
#   debian_root NAME SUITE PACKAGES   sets DEBIAN_ROOT to build/roots/NAME, made once (a minute or
#                                     two and 150-250 MB); fails with what failed
#   root_run NS LOG CMD...            runs CMD chrooted in DEBIAN_ROOT inside namespace NS, in a
#                                     private mount namespace with proc, a read-only sysfs of NS
#                                     (then networkd does not wait for udev) and /dev; in the
#                                     background, killed by lab_down; ROOT_PID is its PID
#   root_exec NS CMD...               the same in the foreground (ifup, ifdown)

DEBIAN_ROOTS=${DEBIAN_ROOTS:-$LAB_REPO/build/roots}
# The network managers' root (test/integration/test_manager_*.sh), one for all of them: each test
# starts with managers_reset, which clears what every manager left in it.
MANAGERS_PACKAGES=systemd,iproute2,ifupdown,procps,network-manager,dbus,netplan.io
# Whose managers: Debian 13's (trixie: networkd 257, NetworkManager 1.52, ifupdown 0.8.44) or
# Debian 12's (bookworm: networkd 252, NetworkManager 1.42, ifupdown 0.8.41); the root is
# build/roots/SUITE-managers.
MANAGERS_SUITE=${MANAGERS_SUITE:-trixie}

# managers_reset: the runtime state of every manager in DEBIAN_ROOT gone (doctor reads it).
managers_reset() {
    rm -rf "$DEBIAN_ROOT/run/systemd/netif" "$DEBIAN_ROOT/run/systemd/network" "$DEBIAN_ROOT/run/network" \
        "$DEBIAN_ROOT/run/NetworkManager" "$DEBIAN_ROOT/var/lib/NetworkManager" "$DEBIAN_ROOT/run/dbus"
    rm -f "$DEBIAN_ROOT"/etc/netplan/*.yaml
}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

debian_root() {
    local name=$1 suite=$2 packages=$3
    DEBIAN_ROOT=$DEBIAN_ROOTS/$name
    if [[ -x $DEBIAN_ROOT/usr/bin/dpkg && -f $DEBIAN_ROOT/.ndpsync-packages ]] &&
        [[ $(cat "$DEBIAN_ROOT/.ndpsync-packages") == "$suite $packages" ]]; then
        return 0
    fi
    command -v mmdebstrap >/dev/null ||
        fail "mmdebstrap is not installed (scripts/install-deps.sh installs it)"
    mkdir -p "$DEBIAN_ROOTS"
    local tmp=$DEBIAN_ROOTS/.$name.$$
    rm -rf "$tmp" "$DEBIAN_ROOT"
    log "building the Debian root $name ($suite: $packages) with mmdebstrap from $DEBIAN_MIRROR"
    if ! mmdebstrap --quiet --variant=minbase --include="$packages" "$suite" "$tmp" \
        "$DEBIAN_MIRROR" >"$DEBIAN_ROOTS/$name.log" 2>&1; then
        tail -20 "$DEBIAN_ROOTS/$name.log" >&2
        rm -rf "$tmp"
        fail "mmdebstrap could not build the $suite root from $DEBIAN_MIRROR (log: $DEBIAN_ROOTS/$name.log)"
    fi
    # systemd's programs want a machine id; a root made for tests has an empty one.
    echo 0123456789abcdef0123456789abcdef >"$tmp/etc/machine-id"
    echo "$suite $packages" >"$tmp/.ndpsync-packages"
    mv "$tmp" "$DEBIAN_ROOT"
}

# _root_script CMD...: the shell line that mounts what the chroot needs and runs CMD in it.
_root_script() {
    local cmd
    printf -v cmd '%q ' "$@"
    echo "mount --make-rprivate / &&
        mount -t proc proc '$DEBIAN_ROOT/proc' &&
        mount -t sysfs -o ro sysfs '$DEBIAN_ROOT/sys' &&
        mount --bind /dev '$DEBIAN_ROOT/dev' &&
        exec chroot '$DEBIAN_ROOT' $cmd"
}

root_run() {
    local ns=$1 logfile=$2
    shift 2
    # Each step execs the next: ROOT_PID is the program's own PID.
    ip netns exec "$ns" unshare --mount sh -c "$(_root_script "$@")" >>"$logfile" 2>&1 &
    ROOT_PID=$!
    lab_bg "$ROOT_PID"
}

root_exec() {
    local ns=$1
    shift
    ip netns exec "$ns" unshare --mount sh -c "$(_root_script "$@")"
}
