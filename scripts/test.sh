#!/usr/bin/env bash
# The README's second command: every test, in two tiers.
#
#   scripts/test.sh            the full tier, which CI runs (about 40-50 minutes on 2 cores):
#     1. the release build; its unit tests and the checks that need no namespace: docs,
#        recipes, sizes (test/check_sizes.py), format and tidy (test/check_style.sh) and the
#        package (test_deb: scripts/build-deb.sh, lintian clean)
#     2. the fuzz smoke run: libFuzzer with ASan and UBSan, 20 s per target
#     3. the benchmark harness and the churn soak, quick modes (bench/)
#     4. the sanitizer build (ASan + UBSan): unit tests and the whole native integration suite, on
#        this machine's kernel, in network namespaces; while it builds, the integration scripts
#        that the guests leave out run with Debian 13's build and tools, chrooted in its root,
#        then the network managers' tests (test_manager_*) with the release binary; beside the
#        suite, at the lowest priority, the guests' kernels and `netplan apply` in a qemu guest
#        booted with Debian 13's systemd and udev (test/vm/debian13.sh netplan)
#     5. the integration suite in two qemu guests side by side (test/vm/suite.sh; NDPSYNC_SKIP_VM=1
#        skips 5, 6 and the netplan guest): Debian 12's release binary on its 6.1 kernel, and
#        Debian 13's build in its own root on the 6.12 kernel (test/vm/debian13.sh suite); beside
#        them, the engines' recipes with Debian 13's Docker 26, Podman 5.4 and Incus 6, chrooted
#        in a root of their own (test/vm/debian13.sh engines; they mostly wait for the router's
#        advertisements), and, at the lowest priority, the packages for phase 6
#     6. the package under systemd in a qemu guest: installed, upgraded, removed and purged there;
#        beside it, the same for Debian 13's package under Debian 13's systemd (test/vm/debian13.sh,
#        whose build with -Werror, unit tests and dpkg-buildpackage run chrooted in a Debian 13
#        root in the background from phase 1 on), and Debian 12's network managers and networkd
#        with netplan (ctest -L manager -R "_debian12|_netplan")
#   scripts/test.sh --quick    the contributor's tier (6 minutes on 2 cores once built): the release
#                              build, unit tests, the native integration suite and the docs,
#                              sizes and format checks (no package, clang-tidy, fuzz, bench,
#                              sanitizers or guests)
#
# Root runs everything (the integration tests build network namespaces and never touch the
# machine's own); without root the packages are not installed and the integration tests skip.
set -euo pipefail
# Any failure says what failed (ctest and the fuzzers also print their own output).
trap 'echo "test.sh: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
# Under sudo, PATH is sudo's secure_path; with `sudo -E` or `su` it may lack the sbin directories.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

quick=0
t_start=$(date +%s)
phase() {   # phase TEXT: a heading with the time since the start (where the budget goes)
  local t=$(($(date +%s) - t_start))
  printf '== [%d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*"
}
[[ ${1:-} == --quick ]] && quick=1

if [[ $(id -u) -eq 0 ]]; then
  scripts/install-deps.sh
else
  echo "test.sh: not root: no packages installed, and the integration tests will be skipped" >&2
fi

jobs=$(nproc)
phase "release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNDPSYNC_WERROR=ON >/dev/null
if [[ $quick -eq 1 ]]; then
  # What the tests run, not the benchmarks' tools; ctest -j2: the checks that need no namespace
  # run beside the integration scripts, which take the netns lock one at a time.
  cmake --build build -j"$jobs" --target ndpsync unit_tests
  (cd build && ctest --output-on-failure -j2 -LE "package|tidy")
  phase "the quick tier passed"
  exit 0
fi
cmake --build build -j"$jobs"
# Debian 13 beside phases 1 to 4, at the lowest priority (its CPU comes mostly from the cores that
# the single-threaded checks of phase 1 and the integration suite leave idle): its root from
# Debian's registry, the build with -Werror and the unit tests, and the package with
# dpkg-buildpackage, all chrooted (test/vm/debian13.sh). Its package goes to a guest with Debian
# 13's systemd in phase 6.
phase "Debian 13 root, build, unit tests and package: started in the background ($PWD/build/debian13.log)"
mkdir -p build
# A session of its own, so that a failure elsewhere stops all of it (the build's compilers too).
setsid nice -n 19 ionice -c 3 test/vm/debian13.sh build package >build/debian13.log 2>&1 &
d13_pid=$!
np_pid=""   # the netplan guest's session (phase 4), killed with Debian 13's on any exit
trap 'for g in $d13_pid $np_pid; do kill -- -"$g" 2>/dev/null || true; done' EXIT
d13_wait() {   # the background Debian 13 steps' result, once
  [[ -n $d13_pid ]] || return 0
  phase "Debian 13: waiting for the background steps"
  if ! wait "$d13_pid"; then
    d13_pid=""
    echo "== Debian 13 FAILED; the last 60 lines of build/debian13.log:"
    tail -n 60 build/debian13.log
    return 1
  fi
  d13_pid=""
  grep -E '^(ok|not ok)' build/debian13.log || true
}

# The native integration suite runs once, in the sanitizer build (phase 4); the release binary
# runs it in the guests (phase 5).
phase "release build: unit tests, docs, sizes, style and the package"
(cd build && ctest --output-on-failure -LE integration)

phase "fuzz smoke run: libFuzzer, ASan and UBSan, 20 s per target"
CXX=clang++ cmake -S . -B build-fuzz -DNDPSYNC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_config fuzz_netlink fuzz_ns
# The three targets side by side (20 s each of wall time), each on a copy of its corpus.
fuzz_pids=()
for target in config netlink ns; do
  corpus=build-fuzz/corpus-$target
  rm -rf "$corpus" && mkdir -p "$corpus" && cp -r "test/fuzz/corpus/$target/." "$corpus/"
  build-fuzz/test/fuzz/fuzz_$target -max_total_time=20 -artifact_prefix=build-fuzz/ "$corpus" \
    2>build-fuzz/fuzz_$target.log &
  fuzz_pids+=($!)
done
fuzz_failed=0
for i in 0 1 2; do
  target=$(echo config netlink ns | cut -d' ' -f$((i + 1)))
  if ! wait "${fuzz_pids[$i]}"; then
    echo "== fuzz_$target FAILED; the end of build-fuzz/fuzz_$target.log:"
    tail -40 "build-fuzz/fuzz_$target.log"
    fuzz_failed=1
  fi
  grep -E "^#[0-9]+ +DONE" "build-fuzz/fuzz_$target.log" || true
  rm -rf "build-fuzz/corpus-$target"
done
[[ $fuzz_failed -eq 0 ]]

if [[ -x bench/run.sh ]]; then
  phase "benchmark harness, quick mode (figures only, no thresholds)"
  bench/run.sh --quick --out build/bench-quick
  phase "churn soak, quick mode (1 min; fails on a leak or a wrong proxy table)"
  bench/soak.sh --quick --out build/soak-quick
fi

# Beside the sanitizer build, which is niced so that the scripts keep their timing: Debian 13's
# build (from the background steps) with Debian 13's tools, chrooted in its root, on this
# machine's kernel, runs the integration scripts that the guests leave out (the rest of its suite
# runs in its guest in phase 5).
d13_wait
phase "sanitizer build (ASan + UBSan); beside it, Debian 13's scripts that the guests leave out and the network managers"
# Then the network managers (test_manager_*, label manager) with the release binary: each runs a
# manager from a Debian 13 root (built once, under build/roots) in its own namespaces.
(test/vm/debian13.sh lab && cd build && ctest --output-on-failure -L manager -E "_debian12|_netplan") \
  >build/beside-asan.log 2>&1 &
beside=$!
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNDPSYNC_SANITIZE=ON -DNDPSYNC_WERROR=ON >/dev/null
nice -n 10 cmake --build build-asan -j"$jobs"
phase "sanitizer build done; waiting for Debian 13's scripts and the network managers"
if ! wait "$beside"; then
  echo "== Debian 13's integration scripts or the network managers FAILED:"
  cat build/beside-asan.log
  exit 1
fi
cat build/beside-asan.log
# The suite leaves most of a core idle (its scripts mostly wait for the kernel and the router):
# beside it, at the lowest priority, the guests' kernels (download, unpack, depmod), then
# `netplan apply` in a qemu guest booted with Debian 13's own systemd and udev (test/vm/debian13.sh
# netplan, from a root of its own; about 4 minutes in all).
if [[ ${NDPSYNC_SKIP_VM:-0} != 1 ]]; then
  phase "beside the sanitizer suite: the guests' kernels, then netplan apply in a guest booted with Debian 13's systemd (build/netplan.log)"
  setsid nice -n 19 ionice -c 3 sh -c 'test/vm/run.sh --kernel 6.1 --prepare && test/vm/run.sh --kernel 6.12 --prepare &&
    exec test/vm/debian13.sh netplan' >build/netplan.log 2>&1 &
  np_pid=$!
fi
phase "sanitizer build: unit tests and the native integration suite"
(cd build-asan && ctest --output-on-failure -L "unit|integration" -LE manager)

# =============================================================================================
# Guest phase: the integration suite and the kernel facts (test/vm/kernel_facts.sh), each in a
# qemu guest (test/vm/run.sh, docs/testing.md): Debian 12's release build on its 6.1 kernel with
# this machine's root, and Debian 13's build on the 6.12 kernel with the Debian 13 root.
# No KVM here, so qemu emulates: the scripts run in their reduced mode (LAB_REDUCED=1) with
# stretched waits (LAB_TIME_SCALE, 10 by default in a guest). Both guests run side by side; each
# keeps about one core busy. Then the Debian package under systemd in a third guest on 6.1
# (test/vm/deb_systemd_test.sh: installed, upgraded, removed and purged there only, never on
# this machine, whose dpkg database is checked unchanged). NDPSYNC_SKIP_VM=1 skips this phase.
# =============================================================================================
phase "Debian 13's engines (Docker 26, Podman 5.4, Incus 6): started in the background (build/engines.log)"
test/vm/debian13.sh engines >build/engines.log 2>&1 &
engines_pid=$!
bg_wait() {   # bg_wait PID LOG WHAT: a background step's result, with its log; says WHAT failed
  local rc=0
  wait "$1" || rc=$?
  cat "$2"
  [[ $rc -eq 0 ]] || echo "== $3 FAILED (above)"
  return "$rc"
}
# Debian 12's network managers and networkd with netplan (mostly waiting for the router's
# advertisements): beside the package guests, whose second half leaves a core idle.
managers12=(ctest --output-on-failure -L manager -R "_debian12|_netplan")
if [[ ${NDPSYNC_SKIP_VM:-0} != 1 ]]; then
  phase "integration suite in qemu guests: Debian 12 on its 6.1 kernel, Debian 13 on 6.12"
  mkdir -p build/vm/logs
  # The package and its next version (for the upgrade) for phase 6, built beside the guests at
  # the lowest priority. build-deb/ndpsync is warm: test_deb built it in phase 1, and the version
  # is only in debian/changelog, so this is debhelper and lintian.
  rm -rf build/vm/debs build/vm/debs.txt
  build_deb() {   # build_deb [--version V]: the path of the .deb
    scripts/build-deb.sh --out build/vm/debs "$@" >build/vm/logs/build-deb.log 2>&1 ||
      { tail -n 40 build/vm/logs/build-deb.log >&2; return 1; }
    tail -n1 build/vm/logs/build-deb.log
  }
  (
    renice -n 19 -p "$BASHPID" >/dev/null
    deb=$(build_deb)
    next=$(build_deb --version "$(dpkg-deb -f "$deb" Version)+1")
    echo "$deb $next" >build/vm/debs.txt
  ) &
  debs_pid=$!
  # The netplan guest beside the sanitizer suite, waited for here (it has mostly ended); its
  # kernels are the guests' (run.sh prepares a kernel itself if that step failed before).
  np_failed=0
  bg_wait "$np_pid" build/netplan.log "netplan apply in its guest (or the guests' kernels)" || np_failed=1
  np_pid=""
  NDPSYNC=$PWD/build/ndpsync LAB_REDUCED=${LAB_REDUCED:-1} \
    test/vm/run.sh --kernel 6.1 --timeout 2700 -- test/vm/suite.sh >build/vm/logs/suite-6.1.log 2>&1 &
  vm_pids=($!)
  test/vm/debian13.sh suite >build/vm/logs/suite-debian13.log 2>&1 &
  vm_pids+=($!)
  vm_failed=()
  [[ $np_failed -eq 0 ]] || vm_failed+=("netplan apply in its guest")
  wait "${vm_pids[0]}" || vm_failed+=("6.1")
  wait "${vm_pids[1]}" || vm_failed+=("Debian 13 on 6.12")
  bg_wait "$engines_pid" build/engines.log "Debian 13's engines" || vm_failed+=("Debian 13's engines")
  sed -n '/^== summary/,/^# vm:/p' build/vm/logs/suite-6.1.log
  cat build/vm/logs/suite-debian13.log   # on a failure, with the end of its suite's log
  if [[ ${vm_failed[*]} == *6.1* ]]; then
    echo "== guest 6.1 FAILED; the last 100 lines of build/vm/logs/suite-6.1.log:"
    tail -n 100 build/vm/logs/suite-6.1.log
  fi

  phase "the Debian package under systemd in a qemu guest on 6.1; beside it, Debian 12's network managers and netplan (build/managers12.log)"
  if ! wait "$debs_pid"; then
    echo "== the package for the guest (scripts/build-deb.sh) FAILED: build/vm/logs/build-deb.log${vm_failed[*]:+; failed before it: ${vm_failed[*]}}"
    exit 1
  fi
  read -r deb next <build/vm/debs.txt
  (cd build && "${managers12[@]}") >build/managers12.log 2>&1 &
  m12_pid=$!
  deb_log=build/vm/logs/deb-systemd-6.1.log
  # What this machine's dpkg knows of ndpsync, before and after (the guest's root is this file
  # system read-only under a tmpfs overlay, so nothing it installs can land here).
  dpkg_ndpsync() {
    dpkg-query -W -f='${Status} ${Version}\n' ndpsync 2>/dev/null || true
    grep -c ' ndpsync[: ]' /var/log/dpkg.log 2>/dev/null || true
  }
  dpkg_before=$(dpkg_ndpsync)
  # The machine's other daemons are masked in the guest: ndppd and npd6 are NDP proxies themselves
  # (the benchmark's peers), and the rest only lengthen the boot.
  vm_masks=()
  for u in ndppd npd6 radvd lxc lxc-net lxc-monitord postgresql docker containerd; do
    vm_masks+=(--mask "$u.service")
  done
  # Beside it, the Debian 13 package in a guest booted from the Debian 13 root, with its systemd
  # 257, on the 6.12 kernel (test/vm/debian13.sh guest).
  test/vm/debian13.sh guest >build/vm/logs/deb-systemd-debian13.log 2>&1 &
  d13_guest=$!
  test/vm/run.sh --kernel 6.1 --systemd "${vm_masks[@]}" --timeout 900 -- \
    bash test/vm/deb_systemd_test.sh "$deb" "$next" >"$deb_log" 2>&1 || vm_failed+=("6.1 (the package under systemd)")
  grep -E '^(## |ok |not ok|# host|# startup|# upgrade|[0-9]+ passed|# vm:)' "$deb_log" || true
  if [[ -n $d13_guest ]]; then
    wait "$d13_guest" || vm_failed+=("Debian 13 (the package under its systemd)")
    echo "== the Debian 13 package under its own systemd, kernel 6.12:"
    cat build/vm/logs/deb-systemd-debian13.log
  fi
  if [[ $(dpkg_ndpsync) != "$dpkg_before" ]]; then
    echo "== the package test changed ndpsync in this machine's dpkg database: it must install only in the guest"
    vm_failed+=("the machine's dpkg database")
  fi
  if [[ ${vm_failed[*]} == *package* ]]; then
    echo "== the package guest FAILED; the last 100 lines of $deb_log:"
    tail -n 100 "$deb_log"
  fi
  bg_wait "$m12_pid" build/managers12.log "Debian 12's network managers or netplan" ||
    vm_failed+=("Debian 12's network managers or netplan")
  [[ ${#vm_failed[@]} -eq 0 ]]
else
  bg_wait "$engines_pid" build/engines.log "Debian 13's engines"
  (cd build && "${managers12[@]}")
fi
phase "every phase passed"
