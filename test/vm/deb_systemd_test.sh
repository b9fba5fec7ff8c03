#!/usr/bin/env bash
# The Debian package under a real systemd, inside a throw-away VM: install, READY and STATUS,
# the watchdog, the unprivileged user, reload with a good and with a bad config, no restart loop
# on a config error, upgrade (running: restarted with no echo lost by a router pinging a
# container every 100 ms; disabled: left alone; the admin's conffile kept), remove (our entries
# go), purge (the sysctls as found before the install), and nothing left behind; and the time
# from `systemctl start` to READY=1.
#
#   test/vm/deb_systemd_test.sh NDPSYNC_DEB NDPSYNC_NEXT_DEB
#
# NDPSYNC_NEXT_DEB is a build with a higher version, e.g.
#   scripts/build-deb.sh --out OUT                    # ndpsync_0.1.0_amd64.deb
#   scripts/build-deb.sh --out OUT --version 0.1.0+1  # ndpsync_0.1.0+1_amd64.deb
# The package's dependencies must be installed in the VM image already (dpkg -i, no network).
# scripts/test.sh runs it in a 6.1 guest (docs/testing.md):
#   test/vm/run.sh --kernel 6.1 --systemd [--mask UNIT]... -- bash test/vm/deb_systemd_test.sh DEB NEXT
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
# section TITLE: a heading with the seconds since the script started (where an emulated guest's
# time goes).
section() { echo "## $1 (at ${SECONDS} s)"; }
CONF=/etc/ndpsync/ndpsync.json
cursor=$(mktemp)
# shellcheck disable=SC1091  # the guest's own
echo   # (the first line on a console may carry its reset sequence)
echo "# host: $(. /etc/os-release && echo "$PRETTY_NAME"), $(systemctl --version | head -n 1), kernel $(uname -r)"

# A host's network, in the guest's root namespace (it has no network device): an uplink with a
# global address and a default route through the provider's router (namespace ndpt-r, the /64
# on-link there), and a veth pair as the container side. A container (namespace ndpt-c) joins
# for the upgrade.
ip netns add ndpt-r
ip link add ndpt-up type veth peer name wan netns ndpt-r
ip -n ndpt-r link set lo up
ip -n ndpt-r link set wan up
ip -n ndpt-r -6 addr add fe80::ff/64 dev wan nodad
ip -n ndpt-r -6 addr add 2001:db8:77::ff/64 dev wan nodad
ip link set ndpt-up up
ip -6 addr add 2001:db8:77::1/64 dev ndpt-up nodad
ip -6 route add default via fe80::ff dev ndpt-up
ip link add ndpt-dn type veth peer name ndpt-dn-p
ip link set ndpt-dn up
ip link set ndpt-dn-p up
# The sysctls of every interface there was before the install, and the proxy table: a purge must
# leave them as they were.
host_state() {
  ip -6 neigh show proxy | LC_ALL=C sort
  sysctl -a 2>/dev/null | grep -E '^net\.ipv6\.(conf|neigh)\.(all|default|lo|ndpt-up|ndpt-dn)\.' |
    grep -v stable_secret | LC_ALL=C sort
}
host_before=$(host_state)
has_default_route() { ip -6 route show default | grep -q "via fe80::ff dev ndpt-up"; }

# The guest's root is the build machine's file system under a throw-away overlay: make it look like
# a real host. A container image's /usr/sbin/policy-rc.d (Docker's exits 101) forbids every
# service start from a maintainer script, so deb-systemd-invoke would start nothing; a real host
# has none. man-db's trigger would re-index every man page over 9p under emulation (minutes) and
# tests nothing of ours.
if [[ -e /usr/sbin/policy-rc.d ]]; then
  mv /usr/sbin/policy-rc.d /usr/sbin/policy-rc.d.vm-test
  trap 'mv /usr/sbin/policy-rc.d.vm-test /usr/sbin/policy-rc.d' EXIT
  echo "# moved the image's /usr/sbin/policy-rc.d aside (it forbids service starts)"
fi
rm -f /var/lib/man-db/auto-update

# What the machine had before, to prove the purge leaves nothing behind: every place a package,
# its maintainer scripts or its service can write to outside its own files (those are checked
# one by one from `dpkg -L`). Not all of /usr: 180,000 files over 9p under emulation take minutes.
snapshot() {
  find /etc /var /run /usr/local /usr/lib/systemd /usr/lib/sysusers.d /usr/lib/tmpfiles.d /opt /srv -xdev \
    \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/log \
    -o -path /var/lib/systemd/catalog -o -path /var/lib/systemd/timers \
    -o -path /var/lib/systemd/random-seed -o -path /var/lib/private/systemd -o -path /run/log \
    -o -path /run/systemd -o -path /run/user -o -path /run/udev -o -path /var/lib/logrotate \
    -o -path /etc/ld.so.cache -o -path /var/lib/postgresql -o -path /run/postgresql \) -prune -o -print |
    LC_ALL=C sort
}
before=$(mktemp)
snapshot >"$before"
echo "# snapshot of /etc, /var, /run and systemd's folders taken (at ${SECONDS} s)"

section "install $(basename "$DEB")"
dpkg -i "$DEB" || fail "dpkg -i $DEB"
[[ $(systemctl is-enabled ndpsync) == enabled ]] || fail "not enabled after install"
wait_for 10 active || fail "not active 10 s after install"
ok "installed: enabled and active (Type=notify: READY=1 received)"
status=$(prop StatusText)
[[ $status == *ndpt-up* ]] || fail "STATUS= does not name the uplink ndpt-up: '$status'"
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
for k in all.proxy_ndp ndpt-up.proxy_ndp all.forwarding; do
  wait_for 5 test "$(sysctl -n "net.ipv6.conf.$k")" = 1 || fail "net.ipv6.conf.$k not set"
done
ok "the unprivileged agent set net.ipv6.conf.{all,ndpt-up}.proxy_ndp=1 and all.forwarding=1"
ndpsync status >/dev/null || fail "ndpsync status (as root) does not reach the agent"
ok "ndpsync status answers"
conf_read() { journalctl --no-pager -u ndpsync | grep -F "using config file $CONF" >/dev/null; }
wait_for 10 conf_read || fail "the agent did not read $CONF"
ok "the agent reads the shipped $CONF"
files=$(mktemp)
dpkg -L ndpsync | while read -r f; do [[ -d $f ]] || echo "$f"; done >"$files"

section "start-up time: systemctl start to READY=1"
# Type=notify: `systemctl start` returns once the agent's READY=1 arrived, which it sends after
# its first full read and reconcile, so after it installed every entry. Also systemd's own span
# from the fork of the main process to READY (ExecMainStart to ActiveEnter timestamps). Three
# starts each, with the shipped config and the uplink above: no container addresses; 1,000 addresses on a downstream veth, our entries deleted before each
# start (a first start); the same with the entries kept from the last run (a restart adopts
# them). Printed as "# startup" lines (docs/benchmarks.md); the entry counts are checked, the
# times are not.
now_ms() {
  local t=$EPOCHREALTIME
  echo $((${t%.*} * 1000 + 10#${t#*.} / 1000))
}
our_entries() { ip -6 neigh show proxy | grep -c ' proto ndpsync' || true; }
drop_entries() {
  ip -6 neigh show proxy | awk '/ proto ndpsync/ { print "neigh del proxy " $1 " dev " $3 }' |
    ip -6 -batch - || fail "deleting our entries"
}
time_starts() { # time_starts LABEL WANT_ENTRIES DROP(0|1)
  local i t0 t1 walls=() forks=() n
  for i in 1 2 3; do
    systemctl stop ndpsync
    # Nine starts in a row beat the unit's start rate limit (5 in 10 s) on a fast machine.
    systemctl reset-failed ndpsync
    [[ $3 -eq 0 ]] || drop_entries
    t0=$(now_ms)
    systemctl start ndpsync || fail "systemctl start ($1)"
    t1=$(now_ms)
    n=$(our_entries)
    [[ $n -eq $2 ]] || fail "$1: $n entries of ours when systemctl start returned, want $2"
    walls+=($((t1 - t0)))
    forks+=($((($(prop ActiveEnterTimestampMonotonic) - $(prop ExecMainStartTimestampMonotonic)) / 1000)))
  done
  echo "# startup $1: systemctl start ${walls[*]} ms; fork to READY ${forks[*]} ms"
  ok "$1: all $2 entries in place when systemctl start returns (READY=1)"
}
time_starts "no container addresses" 0 1
for i in $(seq 1 1000); do
  printf 'addr add 2001:db8:77::1:%x/128 dev ndpt-dn nodad\n' "$i"
done | ip -6 -batch - || fail "adding 1,000 addresses on ndpt-dn"
time_starts "1000 addresses, first start" 1000 1
time_starts "1000 addresses, entries kept (restart)" 1000 0
ip -6 addr flush dev ndpt-dn scope global
no_entries() { [[ $(our_entries) -eq 0 ]]; }
wait_for 60 no_entries || fail "$(our_entries) entries left 60 s after their addresses went"
ok "the 1,000 entries withdrawn when their addresses went"

section "watchdog"
[[ $(prop WatchdogUSec) == 30s ]] || fail "WatchdogUSec is $(prop WatchdogUSec), want 30s"
mkdir -p /run/systemd/system/ndpsync.service.d
# 4 s, not less: the agent pings every half period, and an emulated guest on a busy machine can
# stall for a second or two.
printf '[Service]\nWatchdogSec=4\n' >/run/systemd/system/ndpsync.service.d/watchdog.conf
systemctl daemon-reload
systemctl restart ndpsync
wait_for 10 active || fail "not active after the restart with WatchdogSec=4"
pid=$(prop MainPID)
t1=$(prop WatchdogTimestampMonotonic)
sleep 10 # more than two watchdog periods: a silent agent would be killed and restarted
t2=$(prop WatchdogTimestampMonotonic)
[[ $t2 -gt $t1 && $(prop MainPID) == "$pid" && $(prop NRestarts) == 0 ]] ||
  fail "watchdog: timestamps $t1 -> $t2, pid $pid -> $(prop MainPID), restarts $(prop NRestarts)"
ok "watchdog pings keep the agent alive for 10 s at WatchdogSec=4"
# And a hung agent (SIGSTOP: no pings) is killed and restarted.
mark "$cursor"
kill -STOP "$pid"
restarted() { [[ $(prop NRestarts) -ge 1 && $(prop MainPID) != "$pid" ]] && active; }
wait_for 40 restarted ||
  fail "a stopped agent was not restarted: pid $(prop MainPID), restarts $(prop NRestarts), $(systemctl is-active ndpsync)"
# (waited for: journald may still be writing systemd's lines when the restart is visible)
wait_for 10 journal_has "$cursor" "Watchdog timeout" ||
  fail "restarted, but the journal names no watchdog timeout"
ok "a hung agent (SIGSTOP) is killed on the watchdog timeout and restarted"
rm -r /run/systemd/system/ndpsync.service.d
systemctl daemon-reload
systemctl restart ndpsync
wait_for 10 active || fail "not active after the watchdog drop-in went"

section "reload"
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

section "a config error is no restart loop"
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

section "upgrade to $(basename "$NEXT"), pinged every 100 ms"
# A container behind the host, and the router pinging it every 100 ms across the upgrade: the
# entries stay in the kernel while the agent restarts, so no echo may be lost.
ip netns add ndpt-c
ip link add ndpt-c type veth peer name eth0 netns ndpt-c
ip link set ndpt-c up
ip -6 addr add 2001:db8:77::2:1/112 dev ndpt-c nodad
ip -n ndpt-c link set lo up
ip -n ndpt-c link set eth0 up
ip -n ndpt-c -6 addr add 2001:db8:77::2:2/112 dev eth0 nodad
ip -n ndpt-c -6 route add default via 2001:db8:77::2:1
# The container says hello, as one that just started would, so the host knows its neighbour.
ip netns exec ndpt-c ping -c1 -W2 2001:db8:77::2:1 >/dev/null || fail "the container cannot reach the host"
reaches() { ip netns exec ndpt-r ping -c1 -W1 2001:db8:77::2:2 >/dev/null 2>&1; }
wait_for 30 reaches || fail "the router cannot reach the container before the upgrade: $(ip -6 neigh show proxy)"
ok "the router reaches the container through the agent's entry"
old=$(pkg_version)
pid=$(prop MainPID)
pings=$(mktemp)
ip netns exec ndpt-r ping -i 0.1 -W 2 2001:db8:77::2:2 >"$pings" 2>&1 &
pinger=$!
sleep 2
dpkg -i --force-confold "$NEXT" || fail "dpkg -i $NEXT"
wait_for 10 active || fail "not active after the upgrade"
sleep 3 # the restarted agent's first seconds, pinged too
kill -INT "$pinger"
wait "$pinger" || true
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$pings")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$pings")
[[ -n $sent && -n $got ]] || fail "no ping summary: $(tail -3 "$pings")"
echo "# upgrade: $sent echo requests every 100 ms across dpkg -i, $((sent - got)) lost"
[[ $got -eq $sent ]] || fail "the upgrade cost $((sent - got)) of $sent echoes: $(grep -v 'bytes from' "$pings" | tail -5)"
ok "upgrade: none of $sent echoes (100 ms apart) lost"
[[ $(pkg_version) != "$old" ]] || fail "the version did not change on upgrade ($old)"
[[ $(prop MainPID) != "$pid" ]] || fail "the agent was not restarted on upgrade"
grep -q '"log_level": "debug"' "$CONF" || fail "the upgrade replaced the admin's $CONF"
ok "upgrade $old -> $(pkg_version): restarted, the edited conffile kept"
# dh_installsystemd's convention: an upgrade restarts an enabled unit even if stopped, and
# leaves a disabled one alone.
systemctl disable --now ndpsync
dpkg -i --force-confold "$NEXT" || fail "reinstall of $NEXT"
inactive && [[ $(systemctl is-enabled ndpsync) == disabled ]] ||
  fail "a disabled, stopped agent was $(systemctl is-active ndpsync) and $(systemctl is-enabled ndpsync) after the upgrade"
ok "upgrade with the agent disabled and stopped: it stays so"
systemctl enable --now ndpsync
wait_for 10 active || fail "not active after enable --now"
wait_for 30 reaches || fail "the router cannot reach the container after the restart"

section "remove"
ip -6 neigh add proxy 2001:db8:77::beef dev ndpt-up # an admin's own entry
record=/var/lib/ndpsync/sysctls-found
grep -qx "conf/all/forwarding 0 1" "$record" ||
  fail "no record of forwarding's value before the agent's write in $record: $(cat "$record" 2>&1)"
ok "the agent recorded the sysctls it changed in $record"
forwarding_on=$(sysctl -n net.ipv6.conf.all.forwarding)
dpkg -r ndpsync || fail "dpkg -r"
inactive || fail "still $(systemctl is-active ndpsync) after remove"
[[ -z $(ip -6 neigh show proxy | grep ' proto ndpsync') ]] ||
  fail "our entries are left after remove: $(ip -6 neigh show proxy)"
ip -6 neigh show proxy | grep -q '2001:db8:77::beef dev ndpt-up' || fail "remove deleted the admin's entry"
[[ $(sysctl -n net.ipv6.conf.all.forwarding) == "$forwarding_on" ]] || fail "remove changed forwarding"
has_default_route || fail "the host lost its default route on remove"
ok "remove: our entries gone, the admin's kept, the sysctls left for purge, the default route kept"
ip -6 neigh del proxy 2001:db8:77::beef dev ndpt-up
[[ ! -e /usr/sbin/ndpsync && ! -e /lib/systemd/system/ndpsync.service ]] ||
  fail "binary or unit left after remove"
[[ -f $CONF ]] || fail "remove deleted the conffile (only purge may)"
ok "remove: stopped, binary and unit gone, $CONF kept"

section "purge"
ip netns del ndpt-c # its interface's sysctls were not there before the install
dpkg -P ndpsync || fail "dpkg -P"
has_default_route || fail "the host lost its default route on purge"
host_after=$(host_state)
[[ $host_after == "$host_before" ]] ||
  fail "purge did not leave the host as found: $(diff <(echo "$host_before") <(echo "$host_after"))"
ok "purge: the proxy table and every sysctl of the host's interfaces as before the install; default route kept"
[[ ! -e /etc/ndpsync && ! -e /etc/iproute2/rt_protos.d/ndpsync.conf ]] || fail "conffiles left after purge"
! getent passwd ndpsync >/dev/null || fail "a user ndpsync is left after purge"
while read -r f; do
  [[ ! -e $f && ! -L $f ]] || fail "$f, a file of the package, is left after purge"
done <"$files"
after=$(mktemp)
snapshot >"$after"
left=$(comm -13 "$before" "$after" | grep -i ndpsync || true)
[[ -z $left ]] || fail "left behind after purge: $left"
ok "purge: conffiles, unit state and masks gone; no user; nothing named ndpsync left"
rm -f "$before" "$after" "$cursor" "$files" /tmp/ndpsync.json.orig
echo "$checks passed, 0 failed (${SECONDS} s)"
