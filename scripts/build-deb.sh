#!/usr/bin/env bash
# Builds the Debian package: scripts/build-deb.sh [--out DIR] [--version VERSION] [--build-dir DIR]
#
# Configures a build with the /usr prefix and Debian's hardening flags (dpkg-buildflags) in its
# own directory (default build-deb/), installs it into a staging tree, strips the binary the way
# dh_strip does, gzips the man page, adds the copyright file (from LICENSE), a changelog, the
# maintainer scripts (packaging/debian/), conffiles (everything under /etc) and md5sums, takes
# the dependencies from dpkg-shlibdeps, and runs dpkg-deb. Then lintian, when installed; its
# output is printed and any error or warning fails the build. The last line printed is the path
# of the .deb. --version replaces the project's version (the VM test builds a "version+1").
# Needs no root. test/integration/test_deb.sh checks the result.
set -euo pipefail
trap 'echo "build-deb: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/build-deb/out
build=$repo/build-deb/build
version=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--version VERSION] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
maintainer="ndpsync maintainers <ndpsync@example.org>"
[[ -n $version ]] ||
  version=$(sed -n 's/^project(ndpsync VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
arch=$(dpkg --print-architecture)
# Reproducible: every timestamp is the last commit's (or now, outside git).
SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH

# 1. Build with Debian's flags, install into a staging tree.
cd "$repo"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CXXFLAGS LDFLAGS
echo "build-deb: building ndpsync $version in $build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DNDPSYNC_BUILD_TESTS=OFF \
  -DCMAKE_CXX_FLAGS="$CXXFLAGS" -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" >/dev/null
cmake --build "$build" -j"$(nproc)" --target ndpsync >/dev/null
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/ndpsync
DESTDIR=$pkg cmake --install "$build" >/dev/null

# 2. Debian's shape: stripped binary, gzipped man page, copyright and changelog.
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$pkg/usr/sbin/ndpsync"
gzip -9n "$pkg/usr/share/man/man8/ndpsync.8"
doc=$pkg/usr/share/doc/ndpsync
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: ndpsync"
  echo "Upstream-Contact: $maintainer"
  echo
  echo "Files: *"
  echo "Copyright: 2026 The ndpsync authors"
  echo "License: Expat"
  echo
  echo "License: Expat"
  # The license text without its title and copyright line; empty lines become " ." (DEP-5).
  sed -n '/^Permission is hereby granted/,$p' "$repo/LICENSE" | sed 's/^$/./; s/^/ /'
} >"$doc/copyright"
{
  echo "ndpsync ($version) unstable; urgency=medium"
  echo
  echo "  * Release $version; see /usr/share/doc/ndpsync/README.md."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
install -d "$pkg/usr/share/lintian/overrides"
cp "$repo/packaging/debian/lintian-overrides" "$pkg/usr/share/lintian/overrides/ndpsync"

# 3. Control area.
install -d -m 0755 "$pkg/DEBIAN"
install -m 0755 "$repo"/packaging/debian/{postinst,prerm,postrm} "$pkg/DEBIAN/"
(cd "$pkg" && find etc -type f | sort | sed 's|^|/|') >"$pkg/DEBIAN/conffiles"
shlibs=$(cd "$stage" && mkdir -p debian && touch debian/control &&
  dpkg-shlibdeps -O -e"$pkg/usr/sbin/ndpsync" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $shlibs ]] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
rm -rf "$stage/debian"
installed_kb=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: ndpsync
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_kb
Depends: $shlibs
Recommends: iproute2
Section: net
Priority: optional
Description: keep kernel proxy-NDP entries for container addresses
 On a VM whose provider routes a whole IPv6 /64 to its link, containers with
 addresses from that /64 are unreachable until the host answers Neighbor
 Solicitations for them. ndpsync watches the container side (veths, bridges)
 through netlink and mirrors every active address as a kernel proxy-NDP entry
 on the uplink, sets proxy_ndp, forwarding and accept_ra in an order that keeps
 the host's SLAAC default route, and only ever touches entries it tagged.
 .
 The package enables and starts ndpsync.service, an unprivileged agent with
 CAP_NET_ADMIN, and CAP_NET_RAW only until its packet sockets are open. The
 config file is /etc/ndpsync/ndpsync.json.
EOF
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
find "$pkg" -type d -exec chmod 0755 {} +
find "$pkg" -type f -exec chmod 0644 {} +
chmod 0755 "$pkg/usr/sbin/ndpsync" "$pkg"/DEBIAN/{postinst,prerm,postrm}

# 4. The package, then lintian.
mkdir -p "$out"
deb=$out/ndpsync_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "build-deb: $(du -k "$deb" | cut -f1) KiB, installed $installed_kb KiB"
if command -v lintian >/dev/null; then
  report=$(lintian --info --display-info --pedantic "$deb" 2>&1 | grep -v 'root privileges' || true)
  echo "build-deb: lintian (pedantic, overrides in packaging/debian/lintian-overrides):" \
    "${report:-clean}"
  if grep -q '^[EW]:' <<<"$report"; then
    echo "build-deb: lintian reports errors or warnings (above)" >&2
    exit 1
  fi
else
  echo "build-deb: lintian not installed: not checked"
fi
echo "$deb"
