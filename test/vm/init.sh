#!/bin/busybox sh
# test/vm/init.sh — /init of the guest's initramfs (built by test/vm/run.sh; busybox only).
# Loads the modules in /modules/order, mounts the machine's root (9p tag "root", read-only) under
# a tmpfs overlay, a tmpfs on /tmp, the read-write share (tag "share") and the control folder
# (tag "ctl") at their machine paths, binds the kernel package's modules to
# /lib/modules/<version>, then hands over:
#   vm.mode=cmd      to the control folder's guest.sh as PID 1
#   vm.mode=systemd  to the machine's /lib/systemd/systemd, with a oneshot unit (vm-run.service)
#                    written into the overlay's upper layer
# Parameters come on the kernel command line: vm.ctl= vm.share= vm.mods= vm.kver= vm.mode=
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

halt_now() {
    echo "vm init: $*" >/dev/console
    sleep 1
    reboot -f
}

for p in $(cat /proc/cmdline); do
    case $p in
    vm.ctl=*) CTL=${p#vm.ctl=} ;;
    vm.share=*) SHARE=${p#vm.share=} ;;
    vm.mods=*) MODS=${p#vm.mods=} ;;
    vm.kver=*) KVER=${p#vm.kver=} ;;
    vm.mode=*) MODE=${p#vm.mode=} ;;
    esac
done

for m in $(cat /modules/order); do
    insmod "/modules/$m" || halt_now "insmod $m failed"
done

opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts,ro,cache=loose" root /lower || halt_now "cannot mount the machine's root (9p)"
mount -t tmpfs -o mode=0755 rw /rw || halt_now "cannot mount the overlay's tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
    halt_now "cannot mount the overlay"
# The guest's /tmp is a tmpfs of its own, mounted first: a share inside /tmp (a clone there) then
# lies on it, and nothing mounts over it later (guest.sh does not; run.sh masks tmp.mount).
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp || halt_now "cannot mount /tmp"
mkdir -p "/newroot$SHARE" "/newroot$CTL" "/newroot/lib/modules/$KVER"
mount -t 9p -o "$opts" share "/newroot$SHARE" || halt_now "cannot mount the share $SHARE"
mount -t 9p -o "$opts" ctl "/newroot$CTL" || halt_now "cannot mount the control folder $CTL"
mount --bind "/newroot$MODS" "/newroot/lib/modules/$KVER" || halt_now "cannot bind $MODS"
cut -d' ' -f1 /proc/uptime >"/newroot$CTL/boot_s"

if [ "$MODE" = systemd ]; then
    # A machine that is itself a Docker container has /.dockerenv, which makes systemd believe it
    # runs in a container (no udev, a console getty, units conditioned on virtualization).
    rm -f /newroot/.dockerenv
    # The machine's fstab describes the machine's disks, which the guest does not have.
    mkdir -p /newroot/etc/systemd/system/multi-user.target.wants
    : >/newroot/etc/fstab
    # tmpfiles.d files with the lines that would clean a folder holding a share commented out
    # (run.sh's tmpfiles_overrides); /etc/tmpfiles.d/NAME overrides /usr/lib/tmpfiles.d/NAME.
    mkdir -p /newroot/etc/tmpfiles.d
    for f in "/newroot$CTL"/tmpfiles.d/*.conf; do
        [ -f "$f" ] && cp "$f" /newroot/etc/tmpfiles.d/
    done
    cat >/newroot/etc/systemd/system/vm-run.service <<EOF
[Unit]
Description=test/vm: the command given to test/vm/run.sh
After=multi-user.target
SuccessAction=reboot-force
FailureAction=reboot-force
[Service]
Type=oneshot
ExecStart=/bin/bash $CTL/guest.sh $CTL systemd
StandardInput=null
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
TimeoutStartSec=infinity
[Install]
WantedBy=multi-user.target
EOF
    ln -sf ../vm-run.service /newroot/etc/systemd/system/multi-user.target.wants/vm-run.service
    # No login prompt on the console the command writes to.
    ln -sf /dev/null /newroot/etc/systemd/system/serial-getty@ttyS0.service
    for d in proc sys dev; do umount "/$d"; done
    exec switch_root /newroot /lib/systemd/systemd systemd.unit=multi-user.target
fi

for d in proc sys dev; do mount --move "/$d" "/newroot/$d"; done
exec switch_root /newroot /bin/bash "$CTL/guest.sh" "$CTL" cmd
