#!/usr/bin/env bash
# Debian 13 (trixie) end to end, from a root made by mmdebstrap from Debian's registry and cached
# in build/roots/trixie-dev (test/lab/debian_root.sh; a few minutes and about 1.3 GB once):
#   1. the build with warnings as errors (g++ 14, Boost 1.83, Catch2 3, spdlog 1.15, fmt 10,
#      CLI11 2.4) and the unit tests, chrooted in that root;
#   2. the package for Debian 13 with dpkg-buildpackage (scripts/build-deb.sh), and its next
#      version, lintian clean;
#   3. that package under Debian 13's own systemd (257) in a qemu guest booted from the same root
#      on the 6.12 kernel: test/vm/deb_systemd_test.sh (install, upgrade pinged every 100 ms,
#      remove, purge, the host as found);
#   4. suite: the integration suite (test/vm/suite.sh) with that build, in a qemu guest booted
#      from the same root on the 6.12 kernel: Debian 13's binary, libraries, tools (iproute2,
#      radvd, ping, LXC 6, tcpdump) and kernel together;
#   5. lab: the integration scripts the guests leave out (test/vm/suite.sh says why: they ask
#      nothing of the kernel, or race its timers), with that build and Debian 13's tools,
#      chrooted in the root, on this machine's kernel, in namespaces of their own;
#   6. engines: the engines' recipes with Debian 13's Docker 26, Podman 5.4 (netavark) and
#      Incus 6, chrooted in a root of their own (build/roots/trixie-engines, about 750 MB), with
#      that build: test_recipe_docker.sh (its three firewall variants), test_recipe_podman.sh,
#      test_recipe_incus_lxd.sh.
#   7. netplan: `netplan apply` itself (test/vm/netplan_apply_test.sh), in a qemu guest booted
#      with its own systemd and udev from a root of its own (build/roots/trixie-netplan: systemd,
#      udev, netplan.io and the lab's tools, about 240 MB), on the 6.12 kernel, with that build.
#
#   test/vm/debian13.sh [build|package|guest|suite|lab|engines|netplan]...
#                                                             (default: all seven, in order)
#
# Needs root (chroot, qemu's 9p), mmdebstrap and network access to Debian's registry on the first
# run. Logs go to build/debian13/; a failure prints the end of the failing step's log. Changes
# nothing on this machine outside the checkout's build/ folder.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/lab/lab.sh
source "$REPO/test/lab/lab.sh"
# shellcheck source=test/lab/debian_root.sh
source "$REPO/test/lab/debian_root.sh"
skip_unless_root

OUT=$REPO/build/debian13
mkdir -p "$OUT"
steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(build package guest suite lab engines netplan)

packages="build-essential,cmake,pkgconf,libboost-dev,libcap-dev,libcli11-dev,libfmt-dev"
packages+=",libnl-3-dev,libnl-route-3-dev,libspdlog-dev,libsystemd-dev,nlohmann-json3-dev"
packages+=",systemd-dev,catch2,debhelper,lintian"
# What the package guest needs of a host: its systemd, and the tools the test runs.
packages+=",systemd,iproute2,procps,iputils-ping,kmod,libnss-systemd"
# What the integration suite needs (test/lab/lab.sh, LXC's busybox container, captures, doctor's
# firewall cases, the metrics' exposition format).
packages+=",radvd,jq,python3,lxc,busybox-static,tcpdump,iptables,nftables,python3-prometheus-client"
debian_root trixie-dev trixie "$packages"
DEV_ROOT=$DEBIAN_ROOT
# What the build needs at run time, in the roots that run it without building it.
runtime="libspdlog1.15,libnl-3-200,libnl-route-3-200,libsystemd0,libcap2,libfmt10"
# The engines' root: the build's libraries, the lab's tools, the engines (incus-base: containers
# only, without incus' virtual machines and their qemu).
engines="$runtime"
engines+=",iproute2,procps,iputils-ping,radvd,jq,python3,busybox-static,iptables,nftables,kmod"
engines+=",docker.io,docker-cli,podman,aardvark-dns,incus-base,incus-client,dnsmasq-base"
# The netplan guest's root: a booted system's systemd, udev and D-Bus, netplan, the lab's tools and
# the build's libraries.
netplan="systemd,udev,dbus,netplan.io,iproute2,procps,iputils-ping,radvd,jq,python3,kmod"
netplan+=",$runtime"

# in_root LOG CMD...: CMD chrooted in the root, with the checkout at its own path, /proc and /dev,
# in a private mount namespace; its output in LOG, whose end is printed if it fails.
in_root() {
    local logfile=$1 cmd
    shift
    printf -v cmd '%q ' "$@"
    # The root bound onto itself: `ip netns exec` needs / to be a mount point.
    if ! unshare --mount sh -c "mount --make-rprivate / &&
        mount --bind '$DEBIAN_ROOT' '$DEBIAN_ROOT' &&
        mkdir -p '$DEBIAN_ROOT$REPO' &&
        mount --bind '$REPO' '$DEBIAN_ROOT$REPO' &&
        mount -t proc proc '$DEBIAN_ROOT/proc' &&
        mount -t sysfs sysfs '$DEBIAN_ROOT/sys' &&
        mount -t tmpfs -o mode=0755 tmpfs '$DEBIAN_ROOT/run' &&
        mount -t tmpfs -o mode=1777 tmpfs '$DEBIAN_ROOT/tmp' &&
        mount --bind /dev '$DEBIAN_ROOT/dev' &&
        exec chroot '$DEBIAN_ROOT' env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
          LANG=C.UTF-8 sh -c 'cd $REPO && exec $cmd'" >"$logfile" 2>&1; then
        tail -n 60 "$logfile" >&2
        fail "debian13: '$*' failed in the Debian 13 root (whole log: $logfile)"
    fi
}

for step in "${steps[@]}"; do
    case $step in
    build)
        log "debian13: build (-Werror) and unit tests with $(chroot "$DEBIAN_ROOT" g++ --version | head -1)"
        in_root "$OUT/build.log" cmake -S . -B build/trixie -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DNDPSYNC_WERROR=ON
        in_root "$OUT/build.log" cmake --build build/trixie -j"$(nproc)"
        in_root "$OUT/unit.log" build/trixie/test/unit_tests
        ok "debian13: built with -Werror; $(tail -n 2 "$OUT/unit.log" | tr -s '\n' ' ')"
        ;;
    package)
        rm -rf build/debian13/debs
        in_root "$OUT/deb.log" scripts/build-deb.sh --build-dir build/trixie-deb --out build/debian13/debs
        deb=$REPO/$(tail -n 1 "$OUT/deb.log")
        version=$(dpkg-deb -f "$deb" Version)
        in_root "$OUT/deb-next.log" scripts/build-deb.sh --build-dir build/trixie-deb \
            --out build/debian13/debs --version "$version+1"
        in_root "$OUT/test-deb.log" env DEB="$deb" bash test/integration/test_deb.sh
        ok "debian13: dpkg-buildpackage built $(basename "$deb") (Depends: $(dpkg-deb -f "$deb" Depends)), lintian clean"
        ok "debian13: test_deb.sh on it: $(grep -c '^ok' "$OUT/test-deb.log") checks passed"
        ;;
    guest)
        deb=$(ls "$OUT"/debs/ndpsync_*.deb 2>/dev/null | grep -v '+1_' | head -n 1 || true)
        next=${deb/_amd64.deb/+1_amd64.deb}
        [[ -f $deb && -f $next ]] || fail "debian13: run the package step first (no package and its next version in $OUT/debs)"
        log "debian13: the package under Debian 13's systemd, kernel 6.12 (log: $OUT/guest.log)"
        # The root's own daemons that the test does not need (LXC's bridge, the firewall).
        if ! "$REPO/test/vm/run.sh" --kernel 6.12 --root "$DEBIAN_ROOT" --systemd --timeout 900 \
            --mask lxc.service --mask lxc-net.service --mask lxc-monitord.service \
            --mask nftables.service -- \
            bash test/vm/deb_systemd_test.sh "$deb" "$next" >"$OUT/guest.log" 2>&1; then
            tail -n 80 "$OUT/guest.log" >&2
            fail "debian13: the package guest failed (whole log: $OUT/guest.log)"
        fi
        grep -E '^(## |ok |not ok|# host|# startup|# upgrade|[0-9]+ passed|# vm:)' "$OUT/guest.log" || true
        ;;
    suite)
        [[ -x $REPO/build/trixie/ndpsync ]] || fail "debian13: run the build step first (no build/trixie/ndpsync)"
        log "debian13: the integration suite in a guest from the Debian 13 root, kernel 6.12 (log: $OUT/suite.log)"
        if ! NDPSYNC=$REPO/build/trixie/ndpsync LAB_REDUCED=${LAB_REDUCED:-1} \
            "$REPO/test/vm/run.sh" --kernel 6.12 --root "$DEBIAN_ROOT" --timeout 2700 -- \
            test/vm/suite.sh >"$OUT/suite.log" 2>&1; then
            sed -n '/^== summary/,$p' "$OUT/suite.log" >&2
            tail -n 100 "$OUT/suite.log" >&2
            fail "debian13: the integration suite failed in the Debian 13 guest (whole log: $OUT/suite.log)"
        fi
        sed -n '/^== summary/,/^# vm:/p' "$OUT/suite.log"
        ok "debian13: the integration suite passes with Debian 13's build, userland and kernel"
        ;;
    lab)
        # The scripts the guests leave out (test/vm/suite.sh says why), with Debian 13's binary and
        # tools, on this machine's kernel, in namespaces of their own, chrooted. Not here: test_deb
        # (the package step runs it), the engines' recipes and the network managers (roots and
        # engines of their own: test_recipe_*, test_manager_*).
        lab_scripts=(test_bad_input test_status_socket test_agent_systemd test_uplink_typo
            test_cli_config test_unit_file test_fresh_bridge test_doctor test_migration
            test_install_deps)
        args=()
        for t in "${lab_scripts[@]}"; do args+=("test/integration/$t.sh"); done
        log "debian13: ${#lab_scripts[@]} integration scripts in the Debian 13 root (log: $OUT/lab.log)"
        in_root "$OUT/lab.log" env NDPSYNC="$REPO/build/trixie/ndpsync" test/vm/suite.sh "${args[@]}"
        sed -n '/^== summary/,$p' "$OUT/lab.log"
        # Every prerequisite is in the root: a skip is a failure here.
        ! grep -q '^   SKIP' "$OUT/lab.log" || fail "debian13: integration scripts skipped (above; $OUT/lab.log)"
        ok "debian13: the integration scripts pass with Debian 13's build and userland"
        ;;
    engines)
        [[ -x $REPO/build/trixie/ndpsync ]] || fail "debian13: run the build step first (no build/trixie/ndpsync)"
        debian_root trixie-engines trixie "$engines"
        log "debian13: the engines' recipes in the Debian 13 root (logs: $OUT/engine-*.log)"
        # NAME SCRIPT [VAR=VALUE]: each run's log is $OUT/engine-NAME.log.
        while read -r name script var; do
            in_root "$OUT/engine-$name.log" env NDPSYNC="$REPO/build/trixie/ndpsync" ${var:+"$var"} \
                bash "test/integration/$script"
            # Every engine is in the root: a skip is a failure here.
            ! grep -q '^SKIP' "$OUT/engine-$name.log" ||
                fail "debian13: $script ${var:-} skipped: $(grep '^SKIP' "$OUT/engine-$name.log")"
            ok "debian13: $(grep '^PASS' "$OUT/engine-$name.log")${var:+ ($var)}"
        done <<'RUNS'
docker test_recipe_docker.sh DOCKER_IP6TABLES=0
docker-ip6tables test_recipe_docker.sh DOCKER_IP6TABLES=1
docker-default test_recipe_docker.sh DOCKER_IP6TABLES=default
podman test_recipe_podman.sh
incus test_recipe_incus_lxd.sh ENGINE=incus
RUNS
        DEBIAN_ROOT=$DEV_ROOT
        ;;
    netplan)
        [[ -x $REPO/build/trixie/ndpsync ]] || fail "debian13: run the build step first (no build/trixie/ndpsync)"
        debian_root trixie-netplan trixie "$netplan"
        log "debian13: netplan apply under the guest's own systemd and udev, kernel 6.12 (log: $OUT/netplan.log)"
        if ! NDPSYNC=$REPO/build/trixie/ndpsync "$REPO/test/vm/run.sh" --kernel 6.12 \
            --root "$DEBIAN_ROOT" --systemd --timeout 900 -- \
            bash test/vm/netplan_apply_test.sh >"$OUT/netplan.log" 2>&1; then
            tail -n 80 "$OUT/netplan.log" >&2
            fail "debian13: the netplan guest failed (whole log: $OUT/netplan.log)"
        fi
        # Everything is in the root: a skip is a failure here.
        ! grep -q '^SKIP' "$OUT/netplan.log" || fail "debian13: $(grep '^SKIP' "$OUT/netplan.log")"
        grep -aE '^(## |ok |# host|# event|#   |# vm:)' "$OUT/netplan.log" || true
        ok "debian13: $(grep '^PASS' "$OUT/netplan.log")"
        DEBIAN_ROOT=$DEV_ROOT
        ;;
    *) echo "usage: $0 [build|package|guest|suite|lab|engines|netplan]..." >&2; exit 2 ;;
    esac
done
