#!/usr/bin/env bash
# scripts/install-deps.sh and the README commands' first step, without installing anything:
# stub id (pretends root), dpkg-query, apt-get and systemctl come first on PATH, and the
# policy-rc.d guard lives at a temporary path (NDPSYNC_POLICY_RC_D). Covers the two sets (--demo:
# the build and the lab, without any container engine, qemu or clang; --test), both states of the
# guard (absent: placed during the install and removed after; present: left alone, and the
# script still exits 0), the nothing-to-do run, and a failing apt-get, which install-deps.sh,
# scripts/demo.sh and scripts/test.sh must each report. Needs no root; never touches the real
# /usr/sbin/policy-rc.d (checked).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=test/lab/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/checks.sh"

real_guard=/usr/sbin/policy-rc.d
real_before=$(sha256sum "$real_guard" 2>/dev/null || echo absent)

stubs=$tmp/stubs
state=$tmp/state
mkdir -p "$stubs" "$state"
cat >"$stubs/id" <<'EOF'
#!/bin/sh
[ "$1" = -u ] && { echo 0; exit 0; }
exec /usr/bin/id "$@"
EOF
cat >"$stubs/dpkg-query" <<'EOF'
#!/bin/sh
for p; do :; done
grep -qx "$p" "$STUB_STATE/installed" 2>/dev/null || exit 1
printf 'install ok installed'
EOF
cat >"$stubs/apt-get" <<'EOF'
#!/bin/bash
echo "apt-get $*" >>"$STUB_STATE/apt.log"
[[ $* == *install* ]] || exit 0
if [[ -x $NDPSYNC_POLICY_RC_D ]]; then
  rc=0
  "$NDPSYNC_POLICY_RC_D" lxc-net start || rc=$?
  echo "guard present, says $rc" >>"$STUB_STATE/apt.log"
else
  echo "guard absent" >>"$STUB_STATE/apt.log"
fi
if [[ -e $STUB_STATE/fail ]]; then
  echo "E: Unable to locate package stub-failure" >&2
  exit 100
fi
# What it installs, and the daemons' packages that come as dependencies.
for p; do
  [[ $p == -* || $p == install ]] && continue
  echo "$p" >>"$STUB_STATE/installed"
  case $p in docker.io) echo containerd ;; lxd) echo lxcfs ;; esac >>"$STUB_STATE/installed"
done
EOF
cat >"$stubs/systemctl" <<'EOF'
#!/bin/sh
echo "systemctl $*" >>"$STUB_STATE/systemctl.log"
EOF
chmod +x "$stubs"/*

guard=$tmp/policy-rc.d
# deps [SCRIPT [ARG]...]: run SCRIPT (default install-deps.sh) with the stubs; sets rc, out (both
# streams).
deps() {
  local script=${1:-scripts/install-deps.sh}
  rc=0
  out=$(cd "$repo" && env -u NDPSYNC PATH="$stubs:$PATH" STUB_STATE="$state" \
    NDPSYNC_POLICY_RC_D="$guard" bash "$script" "${@:2}" 2>&1) || rc=$?
}
# installed_line: the package list of the last `apt-get install`.
installed_line() { grep '^apt-get install' "$state/apt.log" | tail -n1; }
# The container engines, the VM and the fuzz compiler: the test command's, never the demo's.
heavy='docker|containerd|lxd|incus|lxc|podman|qemu|clang'
heavy_in() { tr ' ' '\n' <<<"$1" | grep -E "^($heavy)" || true; }
reset_state() {
  rm -f "$state"/*
}

# 1. No policy-rc.d: one is placed for the install (saying 101) and removed afterwards.
reset_state
deps
[[ $rc -eq 0 ]] || fail "without a policy-rc.d: exit $rc, want 0; output: $out"
grep -q "guard present, says 101" "$state/apt.log" ||
  fail "without a policy-rc.d: apt-get ran without the guard: $(cat "$state/apt.log")"
[[ ! -e $guard ]] || fail "without a policy-rc.d: the guard was left behind"
ok "without a policy-rc.d: exit 0, guard (exit 101) in place during apt-get, removed after"
for unit in radvd.service lxc-net.service docker.service docker.socket containerd.service podman.socket \
  lxd.socket lxcfs.service; do
  grep -E "^systemctl disable (--now )?$unit\$" "$state/systemctl.log" >/dev/null ||
    fail "newly installed $unit was not disabled: $(cat "$state/systemctl.log" 2>/dev/null)"
done
ok "newly installed daemons disabled (radvd, lxc-net, docker and its socket, containerd, podman, lxd, lxcfs)"

# 1b. --demo: the build and the lab only; no engine, qemu or clang, and nothing of theirs disabled.
reset_state
deps scripts/install-deps.sh --demo
[[ $rc -eq 0 ]] || fail "--demo: exit $rc, want 0; output: $out"
demo_line=$(installed_line)
for p in cmake g++ libnl-3-dev libboost-dev catch2 libcli11-dev libspdlog-dev iproute2 radvd jq; do
  grep -qw -- "$p" <<<"$demo_line" || fail "--demo does not install $p: $demo_line"
done
[[ -z $(heavy_in "$demo_line") ]] || fail "--demo installs $(heavy_in "$demo_line" | tr '\n' ' '): $demo_line"
grep -qE "^systemctl disable (--now )?radvd.service\$" "$state/systemctl.log" ||
  fail "--demo: newly installed radvd was not disabled: $(cat "$state/systemctl.log" 2>/dev/null)"
! grep -qE "docker|lxd|podman|lxc" "$state/systemctl.log" ||
  fail "--demo: disabled units of packages it did not install: $(cat "$state/systemctl.log")"
ok "--demo: $(($(wc -w <<<"$demo_line") - 5)) packages (the build and the lab), none of docker, lxd, incus, lxc, podman, qemu, clang"
deps scripts/install-deps.sh --test
[[ $rc -eq 0 ]] || fail "--test after --demo: exit $rc; output: $out"
test_line=$(installed_line)
for p in docker.io podman lxd lxc qemu-system-x86 clang lintian; do
  grep -qw -- "$p" <<<"$test_line" || fail "--test does not install $p: $test_line"
done
grep -qw radvd <<<"$test_line" && fail "--test installs radvd again, which --demo installed"
ok "--test after --demo: installs only the rest (the engines, qemu, clang, lintian, ...)"
deps scripts/install-deps.sh --bogus
[[ $rc -eq 2 && $out == *usage* ]] || fail "an unknown option: exit $rc, want 2 and a usage line: $out"
ok "an unknown option: exit 2 with a usage line"

# 2. An existing policy-rc.d (as container images ship): kept byte for byte, exit 0.
reset_state
printf '#!/bin/sh\n# the image'"'"'s own\nexit 101\n' >"$guard"
chmod 0755 "$guard"
before=$(sha256sum "$guard")
deps
[[ $rc -eq 0 ]] || fail "with an existing policy-rc.d: exit $rc, want 0; output: $out"
[[ $(sha256sum "$guard") == "$before" ]] || fail "with an existing policy-rc.d: it was changed"
grep -q "keeping the existing" <<<"$out" || fail "with an existing policy-rc.d: not said: $out"
ok "with an existing policy-rc.d: exit 0, the file is kept unchanged"

# 2b. An existing one that lets services start: warned about.
reset_state
printf '#!/bin/sh\nexit 0\n' >"$guard"
deps
[[ $rc -eq 0 ]] || fail "with a permissive policy-rc.d: exit $rc; output: $out"
grep -q "allows services to start" <<<"$out" || fail "no warning for a permissive policy-rc.d: $out"
ok "with a policy-rc.d that allows starts: exit 0 and a warning"
rm -f "$guard"

# 3. Everything installed already: no apt-get at all.
deps # the stub remembers what case 2b installed
[[ $rc -eq 0 && $out == *"everything for the test is installed"* ]] || fail "second run: exit $rc: $out"
[[ ! -e $state/apt.log ]] || grep -vq install "$state/apt.log" ||
  fail "second run called apt-get install"
ok "second run: exit 0, nothing to install"

# 4. apt-get fails: install-deps.sh says what failed, and removes the guard it placed.
reset_state
touch "$state/fail"
deps
[[ $rc -ne 0 ]] || fail "failing apt-get: install-deps.sh exited 0"
grep -q "install-deps: failed (exit 100) at line [0-9]*: apt-get install" <<<"$out" ||
  fail "failing apt-get: no message naming it: $out"
[[ ! -e $guard ]] || fail "failing apt-get: the guard was left behind"
ok "failing apt-get: exit $rc, 'install-deps: failed ... apt-get install', guard removed"

# 5. The README's commands say why they stopped.
deps scripts/demo.sh
[[ $rc -ne 0 ]] || fail "demo.sh with a failing install-deps.sh exited 0"
grep -q "demo: scripts/install-deps.sh failed" <<<"$out" || fail "demo.sh did not say why: $out"
[[ -z $(heavy_in "$(installed_line)") ]] || fail "demo.sh asked for the test set: $(installed_line)"
ok "demo.sh reports the failing install-deps.sh (exit $rc); it asked for the demo's set"
deps scripts/test.sh
[[ $rc -ne 0 ]] || fail "test.sh with a failing install-deps.sh exited 0"
grep -q "test.sh: failed (exit [0-9]*) at line [0-9]*: scripts/install-deps.sh" <<<"$out" ||
  fail "test.sh did not say why: $out"
grep -qw docker.io <<<"$(installed_line)" || fail "test.sh did not ask for the test set: $(installed_line)"
ok "test.sh reports the failing install-deps.sh (exit $rc); it asked for the test set"

real_after=$(sha256sum "$real_guard" 2>/dev/null || echo absent)
[[ $real_before == "$real_after" ]] || fail "the real $real_guard changed"
ok "the real $real_guard was not touched"
echo "$checks passed, 0 failed"
