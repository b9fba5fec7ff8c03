#!/usr/bin/env bash
# Installs the dependencies from Debian 12's packages. Safe to run again.
#
#   scripts/install-deps.sh --demo    what scripts/demo.sh needs: the build (compiler, CMake, the
#                                     libraries, Catch2) and the lab (iproute2, radvd, ping, jq,
#                                     python3, procps). The README's first command.
#   scripts/install-deps.sh [--test]  that and every test and benchmark dependency: the container
#                                     engines (Docker, LXD, Podman, LXC), qemu, clang, lintian, ...
#                                     The README's second command (scripts/test.sh); CI through it.
#
# Some of these packages ship daemons (radvd, ndppd, npd6, lxc-net, docker, containerd, podman,
# lxd, lxcfs) that the tests only ever run inside network namespaces. They must not start on the host:
# lxc-net would create lxcbr0 in the root namespace, dockerd docker0 and its iptables chains. A policy-rc.d that says "no" keeps every service from starting during the
# install, and services this script newly installed are disabled afterwards. A policy-rc.d that
# was there before is left exactly as it was.
#
# For test/integration/test_install_deps.sh: NDPSYNC_POLICY_RC_D overrides the guard's path; the
# test puts stub id, dpkg-query, apt-get and systemctl first on PATH.
set -Eeuo pipefail
# Under sudo, PATH is sudo's secure_path; with `sudo -E` or `su` it may lack the sbin directories.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
trap 'echo "install-deps: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

set_name="test"
case ${1:-} in
  --demo) set_name=demo ;;
  --test | "") ;;
  *) echo "usage: $0 [--demo | --test]" >&2; exit 2 ;;
esac
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: run as root (apt-get)" >&2
  exit 2
fi

# The demo's set: a build of ndpsync in build/ (with its tests configured, so that
# scripts/test.sh can reuse the folder) and test/lab's namespace lab.
demo_packages=(
  build-essential cmake pkg-config g++
  libnl-3-dev libboost-dev nlohmann-json3-dev catch2 libcli11-dev libspdlog-dev libfmt-dev
  libsystemd-dev libcap-dev
  iproute2 radvd iputils-ping jq python3 procps
)
# The rest of the test command's set.
test_packages=(
  # build: the fuzz targets (clang, libFuzzer), libnl-route-3 (bench/parse.cpp)
  clang libclang-rt-dev libnl-route-3-dev
  # format and lint (test/check_style.sh): the repository's .clang-format and .clang-tidy
  clang-format clang-tidy
  # integration tests: packet captures, LXC containers
  tcpdump lxc busybox-static
  # ndpsync doctor's firewall cases (ip6tables, nft)
  iptables nftables
  # the metrics: the alert rules' YAML (test/check_docs.sh), the exposition format (test_agent_metrics)
  python3-yaml python3-prometheus-client
  # the recipe tests (test/integration/test_recipe_*.sh): Debian's engines, run only inside the
  # lab's host namespace
  docker.io podman lxd
  # the network-manager tests (test/integration/test_manager_*.sh): a Debian 13 root made from
  # Debian's registry, whose manager runs chrooted in the lab's host namespace
  mmdebstrap
  # the Debian package (scripts/build-deb.sh: dpkg-buildpackage with debhelper; test_deb.sh)
  debhelper lintian
  # benchmarks: the peers and the plots
  ndppd npd6 gnuplot-nox strace
  # test/vm: Debian's kernels in qemu guests (the kernel packages themselves are downloaded, not
  # installed: with apt, or with curl from bookworm's archive where apt lists none, as on Debian
  # 13); kmod for depmod and the guests' modprobe, xz and zstd to unpack kernel and modules
  qemu-system-x86 kmod xz-utils zstd curl
)
packages=("${demo_packages[@]}")
[[ $set_name == test ]] && packages+=("${test_packages[@]}")
# package:unit for each service to disable when this script newly installed its package
# (containerd comes with docker.io).
daemons=(radvd:radvd ndppd:ndppd npd6:npd6 lxc:lxc lxc:lxc-net docker.io:docker docker.io:docker.socket
  containerd:containerd podman:podman podman:podman.socket podman:podman-restart
  podman:podman-auto-update podman:podman-auto-update.timer lxd:lxd lxd:lxd.socket
  lxd:lxd-containers lxcfs:lxcfs nftables:nftables)

was_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep "ok installed" >/dev/null; }
missing=()
for p in "${packages[@]}"; do
  was_installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: everything for the $set_name is installed"
  exit 0
fi
# The daemons' packages that are not installed yet (dependencies included); those installed
# after apt-get are the newly installed ones.
absent_daemon_pkgs=()
for pair in "${daemons[@]}"; do
  was_installed "${pair%%:*}" || absent_daemon_pkgs+=("${pair%%:*}")
done

guard=${NDPSYNC_POLICY_RC_D:-/usr/sbin/policy-rc.d}
placed_guard=0
# An EXIT trap's last status becomes the script's: it must not turn a success into a failure.
cleanup() {
  if [[ $placed_guard -eq 1 ]]; then
    rm -f "$guard"
  fi
}
trap cleanup EXIT
if [[ ! -e $guard ]]; then
  printf '#!/bin/sh\n# ndpsync install-deps: start no services while installing\nexit 101\n' >"$guard"
  chmod 0755 "$guard"
  placed_guard=1
else
  echo "install-deps: keeping the existing $guard"
  rc=0
  "$guard" lxc-net start >/dev/null 2>&1 || rc=$?
  if [[ $rc -ne 101 ]]; then
    echo "install-deps: warning: $guard allows services to start (exit $rc, not 101);" \
      "newly installed daemons are disabled after the install" >&2
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${#missing[@]} packages for the $set_name: ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Disabled with --now under a running systemd; without one (a container, a chroot) only the
# enablement links go, so that no later boot starts them either.
now=()
[[ -d /run/systemd/system ]] && now=(--now)
if command -v systemctl >/dev/null 2>&1; then
  for pair in "${daemons[@]}"; do
    unit=${pair#*:}
    [[ $unit == *.* ]] || unit=$unit.service
    for p in "${absent_daemon_pkgs[@]}"; do
      if [[ $p == "${pair%%:*}" ]] && was_installed "$p"; then
        systemctl disable "${now[@]}" "$unit" >/dev/null 2>&1 || true
      fi
    done
  done
fi
echo "install-deps: installed ${#missing[@]} packages for the $set_name"
