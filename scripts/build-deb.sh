#!/usr/bin/env bash
# Builds the Debian package the Debian way: scripts/build-deb.sh [--out DIR] [--version VERSION]
#                                                                [--build-dir DIR]
#
# Copies the source tree (git's files, or everything but build folders outside git) into
# BUILD_DIR/ndpsync (default build-deb/), keeping the files' times so that a second build only
# compiles what changed, and runs `dpkg-buildpackage -b` there: debian/rules, with debhelper
# (dh_installsystemd's snippets, conffiles, shlibs, stripping, man-page compression). Then
# lintian --pedantic on the .deb: any error or warning fails the build. The .deb goes to OUT
# (default build-deb/out); the last line printed is its path. --version sets a version in the
# copy's debian/changelog (the VM test builds a "version+1" to upgrade to).
#
# Needs debhelper and the Build-Depends of debian/control (scripts/install-deps.sh installs
# them); no root. test/integration/test_deb.sh checks the result. A .deb built on Debian 12 is
# for Debian 12 (its library sonames), one built on Debian 13 for Debian 13.
set -euo pipefail
trap 'echo "build-deb: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/build-deb/out
work=$repo/build-deb
version=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --build-dir) work=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--version VERSION] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
for need in dpkg-buildpackage dh dpkg-checkbuilddeps; do
  command -v $need >/dev/null || {
    echo "build-deb: $need is missing: apt-get install debhelper dpkg-dev (scripts/install-deps.sh)" >&2
    exit 1
  }
done
(cd "$repo" && dpkg-checkbuilddeps) || {
  echo "build-deb: the Build-Depends of debian/control are not all installed (above)" >&2
  exit 1
}

# 1. The copy. Files keep their times; what debhelper left from the last build goes, except
#    the CMake build folder (obj-*), so that make rebuilds only what changed.
src=$work/ndpsync
mkdir -p "$src"
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$src"
else
  (cd "$repo" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -xf - -C "$src"
fi
rm -rf "$src"/debian/{.debhelper,ndpsync,debhelper-build-stamp,files,*.substvars,*.debhelper*}
if [[ -n $version ]]; then
  changelog=$src/debian/changelog
  {
    echo "ndpsync ($version) unstable; urgency=medium"
    echo
    echo "  * Build $version of $(sed -n '1s/^ndpsync (\([^)]*\)).*/\1/p' "$changelog")."
    echo
    echo " -- $(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$changelog" | head -1)  $(date -u -R)"
    echo
    cat "$changelog"
  } >"$changelog.new"
  mv "$changelog.new" "$changelog"
fi
version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)

# 2. dpkg-buildpackage: binary only, unsigned, without a pre-clean (the copy is fresh but for
#    obj-*). Every timestamp is the changelog's (reproducible).
echo "build-deb: building ndpsync $version in $src"
rm -f "$work"/ndpsync_*
(cd "$src" && dpkg-buildpackage -b -us -uc -nc) >"$work/dpkg-buildpackage.log" 2>&1 || {
  tail -n 60 "$work/dpkg-buildpackage.log" >&2
  echo "build-deb: dpkg-buildpackage failed (whole log: $work/dpkg-buildpackage.log)" >&2
  exit 1
}
deb=$work/ndpsync_${version}_${arch}.deb
[[ -f $deb ]] || { echo "build-deb: dpkg-buildpackage made no $deb" >&2; exit 1; }
mkdir -p "$out"
mv "$deb" "$out/"
deb=$out/$(basename "$deb")
echo "build-deb: $(du -k "$deb" | cut -f1) KiB, installed $(dpkg-deb -f "$deb" Installed-Size) KiB"

# 3. lintian.
if command -v lintian >/dev/null; then
  report=$(lintian --info --display-info --pedantic "$deb" 2>&1 | grep -v 'root privileges' || true)
  echo "build-deb: lintian (pedantic, overrides in debian/ndpsync.lintian-overrides):" \
    "${report:-clean}"
  if grep -q '^[EW]:' <<<"$report"; then
    echo "build-deb: lintian reports errors or warnings (above)" >&2
    exit 1
  fi
else
  echo "build-deb: lintian not installed: not checked"
fi
echo "$deb"
