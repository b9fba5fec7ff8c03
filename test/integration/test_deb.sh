#!/usr/bin/env bash
# The Debian package's contents, without installing it: control fields (shlibs dependencies,
# Recommends, a Maintainer with an email), conffiles, maintainer scripts, a stripped binary that
# runs, a gzipped man page, the bash completion, copyright and changelog, the docs with their tree
# (every link in them resolves in the package), the unit's paths, the shipped config valid,
# md5sums right, and lintian without errors or warnings (pedantic; overrides justified in
# debian/ndpsync.lintian-overrides). Installing it under a real systemd is
# test/vm/deb_systemd_test.sh's job.
#
# Builds the package with scripts/build-deb.sh (dpkg-buildpackage in build-deb/: minutes on a
# cold cache), or checks DEB=/path/to/ndpsync_*.deb. Needs no root.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for need in dpkg-deb dpkg-buildpackage dh cmake; do
  command -v $need >/dev/null || {
    echo "SKIP: $need not installed"
    exit 77
  }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=test/lab/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/checks.sh"

if [[ -z ${DEB:-} ]]; then
  "$repo/scripts/build-deb.sh" --out "$tmp/out" >"$tmp/build.log" 2>&1 ||
    fail "scripts/build-deb.sh failed:"$'\n'"$(tail -40 "$tmp/build.log")"
  DEB=$(tail -1 "$tmp/build.log")
  ok "scripts/build-deb.sh built $(basename "$DEB")"
fi
[[ -f $DEB ]] || fail "no package at '$DEB'"
root=$tmp/root
ctl=$tmp/ctl
dpkg-deb -x "$DEB" "$root"
dpkg-deb -e "$DEB" "$ctl"
field() { dpkg-deb -f "$DEB" "$1"; }

# Control fields.
[[ $(field Maintainer) =~ ^[^\<]+\ \<[^@\>]+@[^@\>]+\>$ ]] || fail "Maintainer without an email: $(field Maintainer)"
[[ $(field Recommends) == *iproute2* ]] || fail "no Recommends: iproute2"
for lib in libc6 libnl-3-200 libsystemd0 libcap2 libstdc++6; do
  [[ $(field Depends) == *"$lib"* ]] || fail "Depends lacks $lib (from dpkg-shlibdeps): $(field Depends)"
done
[[ $(field Installed-Size) =~ ^[0-9]+$ ]] || fail "no Installed-Size"
ok "control: Maintainer '$(field Maintainer)', Depends from shlibdeps, Recommends iproute2"

# Conffiles: every file under /etc, and nothing else.
want_conf=$(cd "$root" && find etc -type f | sed 's|^|/|' | sort)
[[ $(sort "$ctl/conffiles") == "$want_conf" ]] ||
  fail "conffiles '$(cat "$ctl/conffiles")' are not the files under /etc: $want_conf"
grep -qx /etc/ndpsync/ndpsync.json "$ctl/conffiles" || fail "/etc/ndpsync/ndpsync.json is no conffile"
ok "conffiles: $(tr '\n' ' ' <"$ctl/conffiles")"

# Maintainer scripts.
for s in postinst prerm postrm; do
  [[ -x $ctl/$s ]] || fail "no executable $s"
  sh -n "$ctl/$s" || fail "$s: syntax error"
done
grep -q "deb-systemd-helper enable 'ndpsync.service'" "$ctl/postinst" || fail "postinst does not enable"
grep -q "_dh_action=start" "$ctl/postinst" && grep -q "_dh_action=restart" "$ctl/postinst" ||
  fail "postinst does not start on install and restart on upgrade (dh_installsystemd)"
grep -q "deb-systemd-invoke stop 'ndpsync.service'" "$ctl/prerm" || fail "prerm does not stop"
# Our part after debhelper's: stopped first, then the entries go.
(($(grep -n "deb-systemd-invoke stop" "$ctl/prerm" | cut -d: -f1) <
  $(grep -n "/usr/sbin/ndpsync cleanup" "$ctl/prerm" | cut -d: -f1))) ||
  fail "prerm does not run 'ndpsync cleanup' after stopping the agent"
grep -q "deb-systemd-helper purge 'ndpsync.service'" "$ctl/postrm" || fail "postrm does not purge"
grep -q "restore_sysctls" "$ctl/postrm" && grep -q "/var/lib/ndpsync/sysctls-found" "$ctl/postrm" ||
  fail "postrm does not put the sysctls back on purge"
ok "maintainer scripts (debhelper): enable+start on install, restart on upgrade, stop and cleanup on remove, sysctls back on purge"

# The binary: stripped, and it runs.
bin=$root/usr/sbin/ndpsync
[[ -x $bin ]] || fail "no /usr/sbin/ndpsync"
sections=$(readelf -S -W "$bin")
! grep -qE '\.(symtab|debug_[a-z]+|comment) ' <<<"$sections" || fail "the binary is not stripped"
size_kb=$(du -k "$bin" | cut -f1)
((size_kb < 4096)) || fail "the binary is ${size_kb} KiB: not stripped?"
"$bin" --version >/dev/null || fail "the packaged binary does not run"
ok "binary: stripped (no .symtab, .debug_*, .comment), ${size_kb} KiB, runs"

# Man page, documentation.
man=$root/usr/share/man/man8/ndpsync.8.gz
[[ -f $man ]] && gzip -t "$man" || fail "no gzipped man page at usr/share/man/man8/ndpsync.8.gz"
[[ ! -e $root/usr/share/man/man8/ndpsync.8 ]] || fail "an uncompressed man page too"
copyright=$root/usr/share/doc/ndpsync/copyright
grep -q "^Copyright: 2026 The ndpsync authors" "$copyright" && grep -q "^License: Expat" "$copyright" ||
  fail "copyright file missing or without the notice"
gzip -t "$root/usr/share/doc/ndpsync/changelog.gz" || fail "no changelog.gz"
zgrep -q "^ndpsync ($(field Version))" "$root/usr/share/doc/ndpsync/changelog.gz" ||
  fail "changelog's version is not the package's"
ok "man page gzipped, copyright (Expat), changelog for $(field Version)"

# The documentation keeps its tree (README.md on top, docs/ below), so every relative link in
# its pages resolves to a file of the package; so does every /usr/share/doc/ndpsync/ path that
# the man page, the changelog, the shipped config and the pages name.
docdir=$root/usr/share/doc/ndpsync
for f in README.md docs/operations.md docs/recipes/README.md docs/benchmarks.md docs/testing.md; do
  [[ -f $docdir/$f ]] || fail "no /usr/share/doc/ndpsync/$f: the docs' tree is not installed"
done
real_root=$(realpath "$root")
links=0
broken=()
while IFS= read -r page; do
  while IFS= read -r target; do
    target=${target%%#*}
    [[ -z $target || $target =~ ^[a-z]+: ]] && continue
    links=$((links + 1))
    if [[ $target == /* ]]; then resolved=$root$target; else resolved=$(dirname "$page")/$target; fi
    resolved=$(realpath -m "$resolved")
    [[ $resolved == "$real_root"/* && -e $resolved ]] || broken+=("${page#"$docdir"/} -> $target")
  done < <(grep -oE '\]\([^) ]+' "$page" | cut -c3-)
done < <(find "$docdir" -name '*.md')
while IFS= read -r path; do
  links=$((links + 1))
  [[ -e $root${path%.} ]] || broken+=("names ${path%.}")
done < <({ zcat "$root/usr/share/man/man8/ndpsync.8.gz" | sed 's/\\-/-/g'
  zcat "$docdir/changelog.gz"; cat "$root/etc/ndpsync/ndpsync.json"; find "$docdir" -name '*.md' -exec cat {} +; } |
  grep -oE '/usr/share/doc/ndpsync/[A-Za-z0-9_./-]*' | sort -u)
[[ ${#broken[@]} -eq 0 ]] || fail "links that do not resolve in the package: ${broken[*]}"
((links >= 20)) || fail "only $links links found in the installed docs: is the check reading them?"
ok "docs installed with their tree: all $links relative links and /usr/share/doc/ndpsync paths resolve"

[[ -f $root/usr/share/bash-completion/completions/ndpsync ]] || fail "no bash completion"
ok "bash completion in /usr/share/bash-completion/completions"

# The unit names the packaged binary; the shipped config is valid.
unit=""
for dir in lib/systemd/system usr/lib/systemd/system; do   # Debian 12's systemd, Debian 13's
  [[ -f $root/$dir/ndpsync.service ]] && unit=$root/$dir/ndpsync.service
done
[[ -n $unit ]] || fail "no ndpsync.service in the package"
grep -qx "StateDirectory=ndpsync" "$unit" || fail "the unit has no StateDirectory=ndpsync (the sysctl record)"
grep -qx "ExecStart=/usr/sbin/ndpsync run" "$unit" || fail "the unit's ExecStart is not /usr/sbin/ndpsync"
"$bin" check-config --config "$root/etc/ndpsync/ndpsync.json" >/dev/null ||
  fail "the shipped /etc/ndpsync/ndpsync.json does not pass check-config"
ok "unit: ExecStart=/usr/sbin/ndpsync run; the shipped config passes check-config"

# md5sums match the files.
(cd "$root" && md5sum --quiet -c "$ctl/md5sums") || fail "md5sums do not match"
# dh_md5sums leaves the conffiles out: dpkg keeps their sums itself.
[[ $(wc -l <"$ctl/md5sums") -eq $(($(cd "$root" && find . -type f | wc -l) - $(wc -l <"$ctl/conffiles"))) ]] ||
  fail "md5sums do not list every file but the conffiles"
ok "md5sums list and match every file but the conffiles"

if command -v lintian >/dev/null; then
  report=$(lintian --info --pedantic "$DEB" 2>&1 | grep -v 'root privileges' || true)
  ! grep -q '^[EW]:' <<<"$report" || fail "lintian: $report"
  ok "lintian --pedantic: ${report:-clean}"
else
  echo "# note: lintian not installed (apt-get install lintian): not run"
fi
echo "# $(basename "$DEB"): $(du -k "$DEB" | cut -f1) KiB, Installed-Size $(field Installed-Size) KiB"
echo "$checks passed, 0 failed"
