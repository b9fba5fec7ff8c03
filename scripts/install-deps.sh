#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian 12's packages. Both README
# commands call it; CI calls it through them. Safe to run again.
#
# Some of these packages ship daemons (radvd, ndppd, npd6, lxc-net) that the tests only ever run
# inside network namespaces. They must not start on the host: lxc-net would create lxcbr0 in the
# root namespace. A policy-rc.d that says "no" keeps every service from starting during the
# install, and services this script newly installed are disabled afterwards.
set -euo pipefail

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
  # benchmarks: the peers and the plots
  ndppd npd6 gnuplot-nox strace
  # test/vm: Debian's kernels in qemu guests (the kernel packages themselves are downloaded, not
  # installed); kmod for depmod and the guests' modprobe, xz and zstd to unpack kernel and modules
  qemu-system-x86 kmod xz-utils zstd
)
daemons=(radvd ndppd npd6 lxc lxc-net)

was_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
missing=()
for p in "${packages[@]}"; do
  was_installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: everything is installed"
  exit 0
fi

guard=/usr/sbin/policy-rc.d
placed_guard=0
if [[ ! -e $guard ]]; then
  printf '#!/bin/sh\n# ndpsync install-deps: start no services while installing\nexit 101\n' >"$guard"
  chmod 0755 "$guard"
  placed_guard=1
fi
cleanup() { [[ $placed_guard -eq 1 ]] && rm -f "$guard"; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if [[ -d /run/systemd/system ]]; then
  for unit in "${daemons[@]}"; do
    for p in "${missing[@]}"; do
      if [[ $p == "$unit" || ($p == lxc && $unit == lxc-net) ]]; then
        systemctl disable --now "$unit.service" >/dev/null 2>&1 || true
      fi
    done
  done
fi
echo "install-deps: installed ${#missing[@]} packages"
