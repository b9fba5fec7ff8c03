#!/usr/bin/env bash
# The systemd unit as this build generates it (packaging/ndpsync.service.in -> BUILD/packaging/):
# the binary path follows the install prefix, ExecReload checks the config before SIGHUP,
# RestartPreventExitStatus=2, the hardening, `systemd-analyze verify` passes on the installed
# tree, and `systemd-analyze security` rates it at or below systemd-networkd's exposure.
# Running it under a real systemd is test/vm/deb_systemd_test.sh's job.
#
# Needs no root: the verify step bind-mounts the staged binary in a private mount namespace
# (`unshare -m` as root, `unshare -rm` otherwise) and is skipped with a note where neither works.
#   NDPSYNC=/path/to/build/ndpsync bash test/integration/test_unit_file.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NDPSYNC=${NDPSYNC:-$repo/build/ndpsync}
build=$(cd "$(dirname "$NDPSYNC")" && pwd)
unit=$build/packaging/ndpsync.service
for need in systemd-analyze cmake; do
  command -v $need >/dev/null || {
    echo "SKIP: $need not installed"
    exit 77
  }
done
[[ -f $unit && -f $build/CMakeCache.txt ]] || {
  echo "SKIP: no generated unit at $unit (configure the build, or set NDPSYNC)"
  exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=test/lab/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/checks.sh"
# key KEY: every value of KEY= in the unit, one per line.
key() { sed -n "s/^$1=//p" "$unit"; }

sbindir=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")/sbin
[[ $(key ExecStart) == "$sbindir/ndpsync run" ]] ||
  fail "ExecStart is '$(key ExecStart)', want '$sbindir/ndpsync run' (the install prefix's)"
ok "ExecStart=$(key ExecStart) (follows CMAKE_INSTALL_PREFIX)"
[[ $(key ExecReload | head -1) == "$sbindir/ndpsync check-config" &&
  $(key ExecReload | sed -n 2p) == '/bin/kill -HUP $MAINPID' ]] ||
  fail "ExecReload must be check-config, then kill -HUP: $(key ExecReload)"
ok "ExecReload: check-config, then kill -HUP \$MAINPID"
[[ $(key RestartPreventExitStatus) == 2 ]] || fail "RestartPreventExitStatus is not 2"
ok "RestartPreventExitStatus=2"
! grep -q '^EnvironmentFile=\|\$OPTIONS' "$unit" || fail "the unit still reads /etc/default or \$OPTIONS"
ok "no EnvironmentFile/\$OPTIONS: the config is the JSON file"
want=(DynamicUser=yes User=ndpsync "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW"
  "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW" NoNewPrivileges=yes UMask=0077 ProtectSystem=strict
  ProtectHome=yes PrivateTmp=yes PrivateDevices=yes ProtectClock=yes ProtectKernelLogs=yes
  ProtectKernelModules=yes ProtectControlGroups=yes ProtectProc=invisible RestrictRealtime=yes
  RestrictSUIDSGID=yes RestrictNamespaces=yes LockPersonality=yes MemoryDenyWriteExecute=yes
  SystemCallFilter=@system-service SystemCallArchitectures=native
  "RestrictAddressFamilies=AF_NETLINK AF_UNIX AF_PACKET")
for line in "${want[@]}"; do
  grep -qxF "$line" "$unit" || fail "the unit lacks $line"
done
! grep -q '^ProtectKernelTunables=yes\|^ProcSubset=pid\|^PrivateUsers=yes' "$unit" ||
  fail "the unit hides or freezes /proc/sys/net (ProtectKernelTunables, ProcSubset, PrivateUsers)"
ok "hardening: ${#want[@]} settings present, /proc/sys/net left writable"

# systemd-analyze verify on the installed tree: the binary and man page must exist where the
# unit says, so the staged ones are bind-mounted there in a private mount namespace.
if [[ $(id -u) -eq 0 ]]; then mountns=(unshare -m --propagation private); else mountns=(unshare -rm); fi
if [[ ! -w $build ]]; then
  echo "# note: $build is not writable (cmake --install writes its manifest there): verify skipped"
elif [[ ! -d $sbindir ]]; then
  echo "# note: $sbindir does not exist here, nothing to mount over: verify skipped"
elif ! "${mountns[@]}" true 2>/dev/null; then
  echo "# note: no private mount namespace here: systemd-analyze verify skipped"
else
  DESTDIR=$tmp/stage cmake --install "$build" >/dev/null
  staged_unit=$(find "$tmp/stage" -name ndpsync.service)
  [[ -n $staged_unit ]] || fail "cmake --install did not install ndpsync.service"
  mans=$(dirname "$(find "$tmp/stage" -name ndpsync.8)")/..
  rc=0
  out=$("${mountns[@]}" sh -c 'mount --bind "$2" "$1" &&
    MANPATH="$3" systemd-analyze verify "$4"' _ "$sbindir" "$tmp/stage$sbindir" "$mans" \
    "$staged_unit" 2>&1) || rc=$?
  [[ $rc -eq 0 && -z $out ]] || fail "systemd-analyze verify: exit $rc: $out"
  ok "systemd-analyze verify passes on the installed unit"
fi

exposure() { systemd-analyze security --offline=true "$1" 2>/dev/null |
  sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p'; }
ours=$(cd "$tmp" && exposure "$unit")
networkd=/lib/systemd/system/systemd-networkd.service
theirs=$([[ -f $networkd ]] && exposure "$networkd" || echo 2.8)
[[ -n $ours ]] || fail "systemd-analyze security gave no figure for $unit"
awk -v a="$ours" -v b="$theirs" 'BEGIN { exit !(a <= b) }' ||
  fail "exposure $ours is above systemd-networkd's $theirs"
ok "systemd-analyze security: exposure $ours, systemd-networkd $theirs"
echo "$checks passed, 0 failed"
