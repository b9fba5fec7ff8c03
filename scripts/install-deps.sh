#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian 12's packages. Both README
# commands call it; CI calls it through them. Safe to run again.
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

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: run as root (apt-get)" >&2
  exit 2
fi

packages=(
  # build
  build-essential cmake pkg-config g++ clang libclang-rt-14-dev clang-format
  libnl-3-dev libnl-route-3-dev libboost-dev nlohmann-json3-dev catch2 libcli11-dev
  libspdlog-dev libfmt-dev libsystemd-dev libcap-dev
  # integration tests: namespace labs, a router, real containers
  iproute2 radvd iputils-ping tcpdump jq python3 procps lxc busybox-static
  # ndpsync doctor's firewall cases (ip6tables, nft)
  iptables nftables
  # the metrics: the alert rules' YAML (test/check_docs.sh), the exposition format (test_agent_metrics)
  python3-yaml python3-prometheus-client
  # the recipe tests (test/integration/test_recipe_*.sh): Debian's engines, run only inside the
  # lab's host namespace
  docker.io podman lxd
  # the Debian package (scripts/build-deb.sh, test/integration/test_deb.sh)
  lintian
  # benchmarks: the peers and the plots
  ndppd npd6 gnuplot-nox strace
  # test/vm: Debian's kernels in qemu guests (the kernel packages themselves are downloaded, not
  # installed); kmod for depmod and the guests' modprobe, xz and zstd to unpack kernel and modules
  qemu-system-x86 kmod xz-utils zstd
)
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
  echo "install-deps: everything is installed"
  exit 0
fi
# The daemons' packages that are not installed yet, dependencies included.
new_daemon_pkgs=()
for pair in "${daemons[@]}"; do
  was_installed "${pair%%:*}" || new_daemon_pkgs+=("${pair%%:*}")
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
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
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
    for p in "${new_daemon_pkgs[@]}"; do
      if [[ $p == "${pair%%:*}" ]]; then
        systemctl disable "${now[@]}" "$unit" >/dev/null 2>&1 || true
      fi
    done
  done
fi
echo "install-deps: installed ${#missing[@]} packages"
