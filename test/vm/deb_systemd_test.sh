#!/usr/bin/env bash
# NEEDS THE VM HARNESS'S SYSTEMD MODE. Not wired into CI yet; never run it on a real host.
#
# The Debian package under a real systemd, inside a throw-away VM: install, READY and STATUS,
# the watchdog, the unprivileged user, reload with a good and with a bad config, no restart loop
# on a config error, upgrade (running: restarted; stopped: stays stopped; the admin's conffile
# kept), remove, purge, and nothing left behind.
#
#   test/vm/deb_systemd_test.sh NDPSYNC_DEB NDPSYNC_NEXT_DEB
#
# NDPSYNC_NEXT_DEB is a build with a higher version, e.g.
#   scripts/build-deb.sh --out OUT                    # ndpsync_0.1.0_amd64.deb
#   scripts/build-deb.sh --out OUT --version 0.1.0+1  # ndpsync_0.1.0+1_amd64.deb
# The package's dependencies must be installed in the VM image already (dpkg -i, no network).
#
# It installs a package and starts a service that sets net.ipv6 sysctls (all.forwarding=1) in
# the machine's own network namespace, so it refuses to run unless PID 1 is systemd, the machine
# is a VM (systemd-detect-virt --vm) and the harness says so with NDPSYNC_VM=1. Exit 77 (skipped,
# with the reason) otherwise.
set -euo pipefail

skip() {
  echo "SKIP: $*"
  exit 77
}
[[ $# -eq 2 ]] || {
  echo "usage: $0 NDPSYNC_DEB NDPSYNC_NEXT_DEB" >&2
  exit 2
}
DEB=$(realpath "$1")
NEXT=$(realpath "$2")
[[ $(id -u) -eq 0 ]] || skip "needs root"
[[ ${NDPSYNC_VM:-} == 1 ]] || skip "needs the VM harness (NDPSYNC_VM=1): it installs a package and changes sysctls"
[[ -d /run/systemd/system ]] || skip "needs systemd as PID 1 (the VM harness's systemd mode)"
systemd-detect-virt --vm --quiet || skip "not a VM (systemd-detect-virt --vm)"
! dpkg-query -W ndpsync >/dev/null 2>&1 ||
  skip "ndpsync is installed already: this test needs a clean image"

# shellcheck source=test/lab/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/checks.sh"  # ok; fail is extended below
fail() {
  echo "not ok - $*" >&2
  echo "--- systemctl status ndpsync:" >&2
  systemctl --no-pager status ndpsync >&2 || true
  echo "--- journal:" >&2
  journalctl --no-pager -u ndpsync -n 40 >&2 || true
  exit 1
}
# wait_for TIMEOUT_S CMD...: poll every 0.2 s.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
prop() { systemctl show -p "$1" --value ndpsync; }
active() { [[ $(systemctl is-active ndpsync) == active ]]; }
inactive() { [[ $(systemctl is-active ndpsync) == inactive ]]; }
# journal_since CURSOR_FILE NEEDLE: NEEDLE in the unit's journal after the cursor.
journal_has() { journalctl --no-pager -u ndpsync --after-cursor="$(cat "$1")" | grep -F -- "$2" >/dev/null; }
mark() { journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p' >"$1"; }
pkg_version() { dpkg-query -W -f='${Version}' ndpsync; }
CONF=/etc/ndpsync/ndpsync.json
cursor=$(mktemp)

# What the machine had before, to prove the purge leaves nothing behind.
snapshot() {
  find /etc /usr /lib /var/lib /run -xdev \
    \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/systemd/catalog \
    -o -path /var/lib/systemd/timers -o -path /var/lib/systemd/random-seed \
    -o -path /var/lib/private/systemd -o -path /run/log -o -path /run/systemd -o -path /run/user \
    -o -path /run/udev -o -path /var/lib/logrotate -o -path /etc/ld.so.cache \) -prune -o -print |
    LC_ALL=C sort
}
before=$(mktemp)
snapshot >"$before"

echo "## install $(basename "$DEB")"
dpkg -i "$DEB" || fail "dpkg -i $DEB"
[[ $(systemctl is-enabled ndpsync) == enabled ]] || fail "not enabled after install"
wait_for 10 active || fail "not active 10 s after install"
ok "installed: enabled and active (Type=notify: READY=1 received)"
status=$(prop StatusText)
[[ -n $status ]] || fail "no STATUS= text"
ok "STATUS=$status"
pid=$(prop MainPID)
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
[[ $uid -ne 0 ]] || fail "runs as root"
# The name resolves through nss-systemd (libnss-systemd) where the image has it.
name=$(getent passwd "$uid" | cut -d: -f1 || true)
[[ -z $name || $name == ndpsync ]] || fail "runs as $name, not ndpsync"
[[ $(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status") == 0000000000001000 ]] ||
  fail "effective capabilities are not CAP_NET_ADMIN alone: $(grep Cap "/proc/$pid/status")"
ok "runs as the dynamic user ndpsync (uid $uid) with CAP_NET_ADMIN alone"
wait_for 5 test "$(sysctl -n net.ipv6.conf.all.proxy_ndp)" = 1 || fail "all.proxy_ndp not set"
ok "the unprivileged agent set net.ipv6.conf.all.proxy_ndp=1"
ndpsync status >/dev/null || fail "ndpsync status (as root) does not reach the agent"
ok "ndpsync status answers"
journalctl --no-pager -u ndpsync | grep "using config file $CONF" >/dev/null || fail "the agent did not read $CONF"
ok "the agent reads the shipped $CONF"

echo "## watchdog"
[[ $(prop WatchdogUSec) == 30s ]] || fail "WatchdogUSec is $(prop WatchdogUSec), want 30s"
mkdir -p /run/systemd/system/ndpsync.service.d
printf '[Service]\nWatchdogSec=2\n' >/run/systemd/system/ndpsync.service.d/watchdog.conf
systemctl daemon-reload
systemctl restart ndpsync
wait_for 10 active || fail "not active after the restart with WatchdogSec=2"
pid=$(prop MainPID)
t1=$(prop WatchdogTimestampMonotonic)
sleep 5 # more than two watchdog periods: a silent agent would be killed and restarted
t2=$(prop WatchdogTimestampMonotonic)
[[ $t2 -gt $t1 && $(prop MainPID) == "$pid" && $(prop NRestarts) == 0 ]] ||
  fail "watchdog: timestamps $t1 -> $t2, pid $pid -> $(prop MainPID), restarts $(prop NRestarts)"
ok "watchdog pings keep the agent alive for 5 s at WatchdogSec=2"
rm -r /run/systemd/system/ndpsync.service.d
systemctl daemon-reload
systemctl restart ndpsync
wait_for 10 active || fail "not active after the watchdog drop-in went"

echo "## reload"
pid=$(prop MainPID)
cp "$CONF" /tmp/ndpsync.json.orig
mark "$cursor"
echo '{"log_level": "debug", "max_entries": 100}' >"$CONF"
systemctl reload ndpsync || fail "systemctl reload with a good config failed"
wait_for 5 journal_has "$cursor" "reloaded config file $CONF" || fail "no 'reloaded' line after a good reload"
[[ $(prop MainPID) == "$pid" ]] || fail "a reload changed the main pid"
ok "reload with a good config: exit 0, re-read, same pid"
mark "$cursor"
echo '{"max_entries": 0}' >"$CONF"
if systemctl reload ndpsync 2>/dev/null; then fail "systemctl reload with a bad config succeeded"; fi
wait_for 5 journal_has "$cursor" "'max_entries'" || fail "the bad reload's error does not name the key"
active && [[ $(prop MainPID) == "$pid" ]] || fail "a bad reload stopped or restarted the agent"
! journal_has "$cursor" "reloaded config" || fail "the bad config was applied"
ok "reload with a bad config: systemctl reload fails, names 'max_entries', the agent keeps running"

echo "## a config error is no restart loop"
systemctl restart ndpsync 2>/dev/null || true
wait_for 10 test "$(systemctl is-active ndpsync)" = failed || fail "not failed with a bad config"
sleep 5 # RestartSec=2: a loop would have restarted it twice by now
[[ $(prop NRestarts) == 0 && $(prop ExecMainStatus) == 2 ]] ||
  fail "after exit 2: NRestarts=$(prop NRestarts), status $(prop ExecMainStatus)"
ok "exit 2 on a bad config, not restarted (RestartPreventExitStatus=2)"
echo '{"log_level": "debug"}' >"$CONF" # an admin's edit, kept across the upgrade
systemctl reset-failed ndpsync
systemctl start ndpsync
wait_for 10 active || fail "not active with the config repaired"

echo "## upgrade to $(basename "$NEXT")"
old=$(pkg_version)
pid=$(prop MainPID)
dpkg -i --force-confold "$NEXT" || fail "dpkg -i $NEXT"
[[ $(pkg_version) != "$old" ]] || fail "the version did not change on upgrade ($old)"
wait_for 10 active || fail "not active after the upgrade"
[[ $(prop MainPID) != "$pid" ]] || fail "the agent was not restarted on upgrade"
grep -q '"log_level": "debug"' "$CONF" || fail "the upgrade replaced the admin's $CONF"
ok "upgrade $old -> $(pkg_version): restarted (try-restart), the edited conffile kept"
systemctl stop ndpsync
dpkg -i --force-confold "$NEXT" || fail "reinstall of $NEXT"
inactive || fail "a stopped agent was started by the upgrade (try-restart must not start it)"
ok "upgrade with the agent stopped: it stays stopped"
systemctl start ndpsync
wait_for 10 active || fail "not active after a start"

echo "## remove"
dpkg -r ndpsync || fail "dpkg -r"
inactive || fail "still $(systemctl is-active ndpsync) after remove"
[[ ! -e /usr/sbin/ndpsync && ! -e /lib/systemd/system/ndpsync.service ]] ||
  fail "binary or unit left after remove"
[[ -f $CONF ]] || fail "remove deleted the conffile (only purge may)"
ok "remove: stopped, binary and unit gone, $CONF kept"

echo "## purge"
dpkg -P ndpsync || fail "dpkg -P"
[[ ! -e /etc/ndpsync && ! -e /etc/iproute2/rt_protos.d/ndpsync.conf ]] || fail "conffiles left after purge"
! getent passwd ndpsync >/dev/null || fail "a user ndpsync is left after purge"
after=$(mktemp)
snapshot >"$after"
left=$(comm -13 "$before" "$after" | grep -i ndpsync || true)
[[ -z $left ]] || fail "left behind after purge: $left"
ok "purge: conffiles, unit state and masks gone; no user; nothing named ndpsync left"
rm -f "$before" "$after" "$cursor" /tmp/ndpsync.json.orig
echo "$checks passed, 0 failed"
