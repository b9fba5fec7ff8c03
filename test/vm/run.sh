#!/usr/bin/env bash
# test/vm/run.sh — run a command in a qemu guest booted from one of Debian's kernel packages.
#
#   test/vm/run.sh --kernel 6.1|6.12 [options] -- COMMAND [ARG]...
#
# The guest sees the machine's own root file system read-only (9p) under a tmpfs overlay, so every
# tool installed here exists there; the checkout (or --share DIR) is shared read-write at the same
# path; the unpacked kernel package's modules are bound to /lib/modules/<version>. There is no
# network device. COMMAND runs as root in the guest's root namespace, in the current directory,
# with NDPSYNC_VM=1 set; its exit status is this script's exit status (passed back through a
# shared file).
#
# Options:
#   --kernel 6.1|6.12   Debian 12's kernel (linux-image-6.1.0-N-amd64-unsigned) or bookworm's 6.12
#                       (linux-image-6.12.N+deb12-amd64-unsigned); the newest N apt-cache knows,
#                       else (Debian 13's apt lists neither) the newest in bookworm's archive.
#   --systemd           boot the machine's /lib/systemd/systemd as PID 1; COMMAND runs from a
#                       oneshot unit (vm-run.service) that powers the guest off when done.
#   --mask UNIT         with --systemd: mask UNIT in the guest (systemd.mask=), e.g. a daemon the
#                       machine enables that the command does not need. Repeatable.
#   --root DIR          the guest's root file system (default: the machine's own, /), e.g. a
#                       Debian 13 root made by mmdebstrap (test/lab/debian_root.sh), booted with
#                       its own systemd under --systemd.
#   --share DIR         the read-write share (default: the checkout). Refused: /, /tmp, any folder
#                       systemd-tmpfiles cleans or one holding it, folders in /run /dev /proc /sys.
#   --env NAME[=VALUE]  pass an environment variable to COMMAND (NDPSYNC*, LAB_TIME_SCALE and
#                       LAB_REDUCED are passed when set; LAB_TIME_SCALE defaults to 10). Repeatable.
#   --mem MIB           guest memory (default 3072)       --cpus N    vCPUs (default 2)
#   --tcg-threads single|multi
#                       one host thread runs every vCPU in turn (single, the default), or one
#                       thread each (multi). Multi-threaded TCG can run a stale translation of
#                       kernel text another vCPU just patched: a static key flipped by ping's
#                       SO_TIMESTAMP then ends in "Oops: int3" in __netif_receive_skb_core.
#   --timeout S         kill the guest after S seconds (default 3600)
#   --bzimage           boot the compressed bzImage instead of the extracted ELF kernel (PVH)
#   --prepare           only download and unpack the kernel package and build the initramfs
#
# Exit status: COMMAND's; 2 for a usage error; 125 when the harness itself failed (qemu or the
# kernel package missing, the guest did not boot, timeout).
#
# Kernels are cached in build/vm/<version>/ (the package unpacked, depmod run, the ELF kernel and
# the initramfs); `rm -rf build/vm` drops the cache. Needs root (9p passthrough of the root fs),
# qemu-system-x86_64, busybox-static, kmod, xz-utils and zstd (scripts/install-deps.sh).
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
CACHE=${VM_CACHE:-$REPO/build/vm}

die() {   # die CODE MSG...
    local code=$1
    shift
    echo "test/vm: $*" >&2
    exit "$code"
}
usage() {
    sed -n '3,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
say() { echo "# vm: $*" >&2; }
# /proc/uptime, not the wall clock: a virtual machine's clock may be stepped while the guest runs.
uptime_s() { local up _; read -r up _ </proc/uptime; echo "${up%.*}"; }

kernel="" mode=cmd root=/ share=$REPO mem=3072 cpus=2 tcg_threads=single timeout=3600 use_elf=1 prepare_only=0
envs=()
masks=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --kernel) kernel=${2:-}; shift 2 || usage ;;
    --systemd) mode=systemd; shift ;;
    --root) root=${2:-}; shift 2 || usage ;;
    --share) share=${2:-}; shift 2 || usage ;;
    --env) envs+=("${2:-}"); shift 2 || usage ;;
    --mask) masks+=("${2:-}"); shift 2 || usage ;;
    --mem) mem=${2:-}; shift 2 || usage ;;
    --cpus) cpus=${2:-}; shift 2 || usage ;;
    --tcg-threads) tcg_threads=${2:-}; shift 2 || usage ;;
    --timeout) timeout=${2:-}; shift 2 || usage ;;
    --bzimage) use_elf=0; shift ;;
    --prepare) prepare_only=1; shift ;;
    -h | --help) usage ;;
    --) shift; break ;;
    *) echo "test/vm: unknown option '$1'" >&2; usage ;;
    esac
done
case $kernel in
6.1) pkg_re='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
6.12) pkg_re='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
"") echo "test/vm: --kernel 6.1|6.12 is required" >&2; usage ;;
*) die 2 "unknown kernel '$kernel' (known: 6.1, 6.12)" ;;
esac
[[ $prepare_only -eq 1 || $# -gt 0 ]] || { echo "test/vm: no COMMAND after --" >&2; usage; }
for m in "${masks[@]}"; do
    [[ $mode == systemd ]] || die 2 "--mask needs --systemd"
    [[ $m =~ ^[A-Za-z0-9@._:-]+$ ]] || die 2 "--mask '$m': not a unit name"
done
[[ $tcg_threads == single || $tcg_threads == multi ]] ||
    die 2 "--tcg-threads takes single or multi (got '$tcg_threads')"
for n in "$mem" "$cpus" "$timeout"; do
    [[ $n =~ ^[0-9]+$ ]] || die 2 "--mem, --cpus and --timeout take whole numbers (got '$n')"
done

# ---------------------------------------------------------------------------------------------
# Prerequisites

[[ $(id -u) -eq 0 ]] || die 125 "needs root (the guest reads the machine's root file system over 9p)"
need() {   # need COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 ||
        die 125 "$1 not found: install the Debian package $2 (scripts/install-deps.sh does)"
}
need qemu-system-x86_64 qemu-system-x86
need depmod kmod
need modprobe kmod
need xz xz-utils
need zstd zstd
# (grep without -q: under pipefail, -q's early exit would fail the pipeline with SIGPIPE)
[[ -x /bin/busybox ]] && /bin/busybox --list | grep -x cpio >/dev/null ||
    die 125 "/bin/busybox (static) not found: install the Debian package busybox-static"

# ---------------------------------------------------------------------------------------------
# The shares. A 9p share is read-write on the machine: whatever the guest deletes there is gone
# here. Under --systemd the guest's systemd-tmpfiles empties /tmp at boot and ages out other
# folders. A share that is such a folder, or holds one, is refused. A share inside one (a clone
# in /tmp or /var/tmp) is kept away from it: the guest's /tmp is a tmpfs of its own, mounted
# before the shares (test/vm/init.sh), and every tmpfiles line that would clean a folder holding
# a share is commented out in the guest (tmpfiles_overrides). The guest mounts its own /run,
# /dev, /proc and /sys, which would hide a share there: refused.

cleaned_paths() {
    printf '%s\n' /tmp /var/tmp /run /dev /dev/shm /proc /sys
    if command -v systemd-tmpfiles >/dev/null 2>&1; then
        # Lines that empty a folder at boot (D), remove it (R, r), or age out its contents.
        local root_opt=()
        [[ $root == / ]] || root_opt=(--root="$root")
        systemd-tmpfiles "${root_opt[@]}" --cat-config 2>/dev/null |
            awk '!/^[[:space:]]*(#|$)/ { t = substr($1, 1, 1)
                 if (t ~ /[DRr]/ || (t ~ /[dDevqQC]/ && $6 != "" && $6 != "-")) print $2 }' |
            grep '^/' | sed -E 's|/[^/]*[*?[%].*$||' | grep . || true
    fi
}

# check_share DIR: refuse /, a cleaned folder, a folder holding one, and a folder the guest
# mounts over.
check_share() {
    local dir=$1 p
    [[ $dir == / ]] && die 2 "refusing to share / read-write; share a dedicated folder"
    while read -r p; do
        if [[ $dir == "$p" ]]; then
            die 2 "refusing to share $dir read-write: the guest's systemd-tmpfiles cleans it; share a dedicated folder"
        elif [[ $p == "$dir"/* ]]; then
            die 2 "refusing to share $dir read-write: it holds $p, which the guest's systemd-tmpfiles cleans; share a dedicated folder"
        fi
    done < <(cleaned_paths | sort -u)
    for p in /run /dev /proc /sys; do
        [[ $dir == "$p"/* ]] && die 2 "refusing to share $dir: the guest mounts its own $p over it; share a folder elsewhere"
    done
    return 0
}

# tmpfiles_overrides OUT DIR...: for every tmpfiles.d file the guest reads with a line that cleans
# a folder holding one of DIR..., a copy in OUT with those lines commented out. The guest's
# /etc/tmpfiles.d/NAME overrides /usr/lib/tmpfiles.d/NAME; /run/tmpfiles.d is the guest's own.
tmpfiles_overrides() {
    local out=$1 f name seen=" "
    shift
    mkdir -p "$out"
    for f in "$root"/etc/tmpfiles.d/*.conf "$root"/usr/local/lib/tmpfiles.d/*.conf \
        "$root"/usr/lib/tmpfiles.d/*.conf "$root"/lib/tmpfiles.d/*.conf; do
        name=${f##*/}
        [[ -e $f && $seen != *" $name "* ]] || continue
        seen+="$name "
        [[ -f $f ]] || continue   # masked (a link to /dev/null)
        awk -v dirs="$*" 'BEGIN { n = split(dirs, d, " ") }
            !/^[[:space:]]*(#|$)/ { t = substr($1, 1, 1); base = $2
                if (match(base, /\/[^\/]*[*?[%]/)) base = substr(base, 1, RSTART - 1)
                if (base == "") base = "/"
                if (t ~ /[DRr]/ || (t ~ /[dDevqQC]/ && $6 != "" && $6 != "-"))
                    for (i = 1; i <= n; i++)
                        if (base == "/" || index(d[i], base "/") == 1) {
                            print "# test/vm: off in this guest, it would clean the share " d[i] ": " $0
                            hit = 1; next
                        } }
            { print } END { exit !hit }' "$f" >"$out/$name" || rm -f "$out/$name"
    done
}

[[ -d $root && -x $root/bin/bash ]] || die 2 "--root $root: no such directory, or no /bin/bash in it"
root=$(cd "$root" && pwd -P)
[[ $mode == cmd || -x $root/lib/systemd/systemd ]] || die 2 "--root $root: no /lib/systemd/systemd for --systemd"
[[ -d $share ]] || die 2 "--share $share: no such directory"
share=$(cd "$share" && pwd -P)
[[ $share =~ ^[A-Za-z0-9/._+-]+$ ]] || die 2 "share path '$share' has characters the kernel command line cannot carry"
[[ $CACHE =~ ^[A-Za-z0-9/._+-]+$ ]] || die 2 "cache path '$CACHE' has characters the kernel command line cannot carry"
check_share "$share"

# ---------------------------------------------------------------------------------------------
# The kernel package: newest N that apt-cache knows, unpacked and prepared once in the cache.

newest_package() {
    apt-cache search --names-only '^linux-image-6\.' 2>/dev/null | awk '{ print $1 }' |
        grep -E "$pkg_re" | sort -V | tail -n1 || true
}

# archive_package: where this machine's apt lists no such kernel (Debian 13 knows neither 6.1
# nor bookworm's 6.12), the newest one in bookworm's own archive and its security archive, as
# "NAME URL"; empty when neither answers.
archive_package() {
    local repo
    for repo in "http://deb.debian.org/debian bookworm" \
        "http://security.debian.org/debian-security bookworm-security"; do
        curl -fsSL "${repo% *}/dists/${repo#* }/main/binary-amd64/Packages.xz" 2>/dev/null |
            xz -dc 2>/dev/null | PKG_RE=$pkg_re BASE=${repo% *} awk '
                /^Package: / { p = $2 }
                /^Filename: / && p ~ ENVIRON["PKG_RE"] { print p, ENVIRON["BASE"] "/" $2 }'
    done | sort -V | tail -n1
}

# extract_elf BZIMAGE OUT: the uncompressed ELF kernel inside a bzImage (what scripts/extract-vmlinux
# does). qemu boots an ELF with a PVH note directly, which skips the decompressor (~5 s in TCG).
extract_elf() {
    local img=$1 out=$2 pat dec off
    for spec in 'xz:\xfd\x37\x7a\x58\x5a\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
        dec=${spec%%:*}
        pat=${spec#*:}
        for off in $(LC_ALL=C grep -obUaP "$pat" "$img" | cut -d: -f1 | head -n 5); do
            tail -c +$((off + 1)) "$img" | "$dec" -dc >"$out.tmp" 2>/dev/null || true
            if [[ $(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
                mv "$out.tmp" "$out"
                return 0
            fi
        done
    done
    rm -f "$out.tmp"
    return 1
}

# build_initramfs KDIR KVER: busybox, the init script and the modules the guest needs to mount its
# root (virtio_pci, 9pnet_virtio, 9p, overlay and their dependencies), decompressed, in load order.
build_initramfs() {
    local kdir=$1 kver=$2 stage=$1/initramfs.d m line path
    rm -rf "$stage"
    mkdir -p "$stage"/{bin,dev,proc,sys,modules,lower,rw,newroot}
    cp /bin/busybox "$stage/bin/busybox"
    cp "$VM_DIR/init.sh" "$stage/init"
    chmod 0755 "$stage/init"
    : >"$stage/modules/order"
    for m in virtio_pci 9pnet_virtio 9p overlay; do
        modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" || die 125 "modprobe cannot resolve $m in $kdir/root"
    done | while read -r line; do
        [[ $line == insmod\ * ]] || continue
        path=$(awk '{ print $2 }' <<<"$line")
        m=$(basename "$path")
        m=${m%.xz}
        m=${m%.zst}
        grep -qxF "$m" "$stage/modules/order" && continue
        case $path in
        *.xz) xz -dc "$path" >"$stage/modules/$m" ;;
        *.zst) zstd -qdc "$path" >"$stage/modules/$m" ;;
        *) cp "$path" "$stage/modules/$m" ;;
        esac
        echo "$m" >>"$stage/modules/order"
    done
    (cd "$stage" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$kdir/initramfs.img"
    rm -rf "$stage"
}

prepare_kernel() {   # prepare_kernel PACKAGE [URL]: from apt, or from URL
    local pkg=$1 url=${2:-} kdir deb kver
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock-$pkg"
    flock 9
    kdir=$CACHE/$pkg
    if [[ ! -f $kdir/.ready || $VM_DIR/init.sh -nt $kdir/initramfs.img ]]; then
        if [[ ! -d $kdir/root/boot ]]; then
            say "downloading and unpacking $pkg"
            rm -rf "$kdir"
            mkdir -p "$kdir/deb"
            if [[ -n $url ]]; then
                curl -fsSL -o "$kdir/deb/$pkg.deb" "$url" 2>"$kdir/download.log" ||
                    die 125 "downloading $url failed: $(tail -n 3 "$kdir/download.log")"
            else
                (cd "$kdir/deb" && apt-get download "$pkg" >/dev/null 2>"$kdir/download.log") ||
                    die 125 "apt-get download $pkg failed: $(tail -n 3 "$kdir/download.log")"
            fi
            deb=$(ls "$kdir"/deb/*.deb)
            dpkg-deb -x "$deb" "$kdir/root"
            rm -rf "$kdir/deb"
        fi
        kver=$(ls "$kdir/root/lib/modules")
        say "depmod -b for $kver (once per kernel; the 6.12 package's xz modules take ~1 min)"
        depmod -b "$kdir/root" "$kver"
        if [[ ! -f $kdir/vmlinux ]] && ! extract_elf "$kdir/root/boot/vmlinuz-$kver" "$kdir/vmlinux"; then
            say "no ELF kernel found in the bzImage; booting the bzImage"
        fi
        build_initramfs "$kdir" "$kver"
        touch "$kdir/.ready"
    fi
    flock -u 9
    exec 9>&-
}

pkg=$(newest_package) url=""
if [[ -z $pkg ]]; then
    # apt lists none (Debian 13, or no package lists): the newest one already in the cache, else
    # bookworm's archive.
    pkg=$(ls "$CACHE" 2>/dev/null | grep -E "$pkg_re" | sort -V | tail -n1 || true)
    if [[ -z $pkg ]]; then
        read -r pkg url < <(archive_package) || true
        [[ -n $pkg ]] || die 125 "no kernel package for $kernel: neither apt-cache nor bookworm's archive (deb.debian.org, security.debian.org) shows a name like $pkg_re"
    fi
fi
prepare_kernel "$pkg" "$url"
KDIR=$CACHE/$pkg
KVER=$(ls "$KDIR/root/lib/modules")
[[ $prepare_only -eq 1 ]] && { say "ready: $pkg ($KVER) in $KDIR"; exit 0; }

kernel_image=$KDIR/root/boot/vmlinuz-$KVER
boot=bzImage
if [[ $use_elf -eq 1 && -f $KDIR/vmlinux ]]; then
    kernel_image=$KDIR/vmlinux
    boot="ELF (PVH)"
fi

# ---------------------------------------------------------------------------------------------
# The run: a private control folder (its own 9p share) holding the command, its environment and
# working directory, the guest script, and the exit status the guest writes back.

mkdir -p "$CACHE/runs"
CTL=$(mktemp -d "$CACHE/runs/run.XXXXXX")
QEMU_PID=""
cleanup() {
    if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill -TERM "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    rm -rf "$CTL"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$VM_DIR/guest.sh" "$CTL/guest.sh"
{
    printf 'cd %q || exit 125\n' "$PWD"
    for v in $(compgen -e | grep -E '^(NDPSYNC.*|LAB_TIME_SCALE|LAB_REDUCED)$' || true); do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
    for e in "${envs[@]}"; do
        if [[ $e == *=* ]]; then
            printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
        else
            printf 'export %s=%q\n' "$e" "${!e:-}"
        fi
    done
    printf 'export VM_KERNEL=%q VM_KERNEL_RELEASE=%q\n' "$kernel" "$KVER"
    # Tests that change the machine itself (test/vm/deb_systemd_test.sh installs a package and
    # sets sysctls in the root namespace) run only where this says they are in a throw-away guest.
    printf 'export NDPSYNC_VM=1\n'
    # The guest runs 10-25x slower than the machine: test/lab's waits stretch by this factor.
    printf 'export LAB_TIME_SCALE=${LAB_TIME_SCALE:-10}\n'
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
} >"$CTL/cmd.sh"

# Under systemd, the guest's tmpfiles leave the shares alone (init.sh copies the overrides into
# its /etc/tmpfiles.d), and systemd's tmp.mount (Debian 13 has one) does not hide its own /tmp.
if [[ $mode == systemd ]]; then
    tmpfiles_overrides "$CTL/tmpfiles.d" "$share" "$CTL"
    masks+=(tmp.mount)
fi

append="console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off rdinit=/init"
append+=" vm.ctl=$CTL vm.share=$share vm.mods=$KDIR/root/lib/modules/$KVER vm.kver=$KVER vm.mode=$mode"
for m in "${masks[@]}"; do
    append+=" systemd.mask=$m"
done

say "$kernel: $pkg ($KVER), $boot, $cpus vCPUs ($tcg_threads-threaded TCG), $mem MiB, mode $mode, root $root, share $share"
for f in "$CTL"/tmpfiles.d/*.conf; do
    [[ -f $f ]] && say "tmpfiles.d/${f##*/} in the guest: $(grep -c '^# test/vm: off' "$f") line(s) that would clean the share off"
done
t0=$(uptime_s)
qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
    -machine pc -accel tcg,thread="$tcg_threads" -smp "$cpus" -m "$mem" \
    -kernel "$kernel_image" -initrd "$KDIR/initramfs.img" -append "$append" \
    -chardev stdio,id=con,signal=off -serial chardev:con \
    -fsdev local,id=root,path="$root",security_model=passthrough,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=root,mount_tag=root \
    -fsdev local,id=share,path="$share",security_model=passthrough,multidevs=remap \
    -device virtio-9p-pci,fsdev=share,mount_tag=share \
    -fsdev local,id=ctl,path="$CTL",security_model=passthrough \
    -device virtio-9p-pci,fsdev=ctl,mount_tag=ctl \
    </dev/null &
QEMU_PID=$!
deadline=$(($(uptime_s) + timeout))
while kill -0 "$QEMU_PID" 2>/dev/null; do
    if (($(uptime_s) >= deadline)); then
        kill -TERM "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
        QEMU_PID=""
        die 125 "timeout: the guest ran longer than $timeout s and was killed"
    fi
    sleep 1
done
qemu_rc=0
wait "$QEMU_PID" || qemu_rc=$?
QEMU_PID=""
secs=$(($(uptime_s) - t0))
if [[ ! -s $CTL/rc ]]; then
    die 125 "the guest reported no exit status (qemu exit $qemu_rc; boot failure or crash: see the console above)"
fi
rc=$(cat "$CTL/rc")
say "$kernel ($KVER): exit $rc after $secs s (boot $(cat "$CTL/boot_s" 2>/dev/null || echo '?') s)"
exit "$rc"
